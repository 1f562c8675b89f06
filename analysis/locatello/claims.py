"""Locatello et al. 2019's claims on a sweep, each with its rule in one sentence.

0. "The random seed matters as much as the hyperparameter": within each swept kind, the seeds'
   share of the FactorVAE score's variance over the values swept, with its exact noncentral F
   interval (``analysis.statistics.seed_share``).
1. "The random seed and the hyperparameters matter more than the objective" (paraphrasing
   their section on how much models and hyperparameters matter): a nested variance
   decomposition of every disentanglement metric over the models (objective > hyperparameter
   value > seed, ``analysis.locatello.statistics``); the objectives' share below one half means
   the seeds and hyperparameter values within an objective move the score more than the
   choice of objective. The objectives and values are the sweep's choice, so their effects are
   fixed: the shares describe the grid swept, with noncentral F intervals (exact with normal
   seed noise, whatever the effects' pattern).
2. "Well-disentangled models seemingly cannot be identified without supervision" (ICML
   abstract) and "good hyperparameters neither transfer across data sets nor across
   disentanglement metrics" (arXiv v1 abstract), tested as they test it: does the
   hyperparameter value that one metric (or an unsupervised score: reconstruction, KL, total
   correlation) picks on one seed beat a random value on another metric, on other seeds?
   Chance is one half. Each model kind is one selection experiment, and the interval is
   Student's over the kinds. Modularity is reported apart: Locatello et al. find it agrees
   with none of the other metrics, so a claim about transfer between the others is decided
   without it.

The models are those ``analysis.selection`` keeps; each model kind is an objective (β-VAE
β = 1 and β-TCVAE β = 1 train the same objective as the VAE but count as their kinds, as in
Locatello et al.'s grids).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.locatello import rules
from analysis.locatello.scores import Score, absent_metrics, complete, reported
from analysis.locatello.statistics import (
    COMPONENTS,
    beats_random,
    nested_shares,
    share_intervals,
    transfer,
)
from analysis.results import model_name, score_column
from analysis.statistics import Interval, format_level, mean_interval
from analysis.verdicts.framework import Rule, Verdict, enough, groups_of, one, too_few
from disentangle import kinds

LOCATELLO = "Locatello et al. 2019"
#: "Matters more than the objective": the objectives hold less than this share of the variance.
OBJECTIVE_SHARE = 0.5
#: Chance: a selected hyperparameter value beats a random one half the time.
CHANCE = 0.5
#: "Fails to select": P(s→t) below chance plus this (the chosen value wins at most 6 in 10).
CHANCE_MARGIN = 0.1
#: Kinds (selection experiments) the selection claim's interval needs.
MIN_KINDS = 2
#: The metric reported apart from the selection claim.
APART = "modularity_score"



def locatello_seed_vs_hyperparameter(table: pd.DataFrame, rule: Rule = Rule()) -> Verdict:
    """Locatello et al. 2019: the random seed matters as much as the hyperparameter."""
    score = score_column(table, "factor_vae")
    share = rule.seed_share
    verdict = Verdict(
        "locatello", "Locatello et al. 2019",
        "The random seed matters as much as the hyperparameter: within a model kind, the seeds "
        "account for at least as much of the disentanglement score's variance as the "
        "hyperparameter.",
        rule=f"the seeds' share of the {score} variance within each swept kind over the "
             f"settings swept (fixed effects: the variance of a model drawn at random from "
             f"the kind's grid), with its exact noncentral F interval (it assumes normal seed "
             f"noise, not normal settings); confirmed when every kind's interval lies above "
             f"{share:g}, contradicted when every kind's lies below {share:g} "
             f"(intersection–union tests: no correction)")
    if verdict.lacks(table, score):
        return verdict
    usable = {}
    for kind in kinds.KINDS.values():
        groups = groups_of(table, score, [kind.key]) if kind.hyperparameter else {}
        verdict.count(groups)
        if groups and len(enough(groups, rule)) < 2:
            verdict.missing.append(f"{kind.name}: {len(enough(groups, rule))} setting(s) with "
                                   f"enough models, need 2")
            verdict.missing += too_few(groups, rule)
        elif groups:
            usable[kind.name] = enough(groups, rule)
    if not usable:
        return verdict
    decision = rules.seed_shares({k: [one(v) for v in groups.values()]
                                  for k, groups in usable.items()}, share, rule.alpha)
    verdict.evidence += [f"{kind} over {len(usable[kind])} settings: seeds' share of the "
                         f"variance {interval.take(0).describe(2)}"
                         for kind, interval in decision.intervals.items()]
    return verdict.settle(decision)

@dataclass
class Decomposition:
    """The models a variance decomposition uses: ``groups`` (setting -> (n, metrics)) of the
    ``objectives`` (kind -> its settings), or what is ``missing`` for one."""

    metrics: list[Score]
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    objectives: dict[str, list[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def possible(self) -> bool:
        return bool(self.metrics) and len(self.objectives) >= 2 and any(
            len(settings) >= 2 for settings in self.objectives.values())

    def nested(self) -> list[list[np.ndarray]]:
        """The settings' values (1, n, metrics), nested in their objectives."""
        return [[one(self.groups[s]) for s in settings] for settings in self.objectives.values()]

    def estimate(self) -> np.ndarray:
        """(metrics, 3): the objective, hyperparameter and seed shares of each metric."""
        return nested_shares(self.nested())[0]


def decomposition(table: pd.DataFrame, rule: Rule) -> Decomposition:
    """The metrics every model reports and the settings with at least ``rule.min_seeds``
    models, by kind; ``missing`` names what the sweep lacks."""
    metrics, notes = complete(table, reported(table))
    found = Decomposition(metrics, missing=notes)
    absent = absent_metrics(table)
    if absent:
        found.missing.append(f"metrics not reported: {', '.join(absent)} (the paper metric "
                             f"preset computes every metric)")
    if not metrics:
        return found
    groups = groups_of(table, [m.column for m in metrics])
    found.missing += too_few(groups, rule)
    found.groups = enough(groups, rule)
    kind_of = table.groupby("setting", sort=False)["model"].first()
    for setting in found.groups:
        found.objectives.setdefault(kind_of[setting], []).append(setting)
    if not found.possible:
        trained = [model_name(k) for k in kinds.KINDS if k in set(table["model"])]
        untrained = [kind.name for key, kind in kinds.KINDS.items() if key not in
                     set(table["model"])]
        found.missing.append(
            "need 2 model kinds (objectives) with enough models, one of them at 2 "
            f"hyperparameter values; usable here: {describe_design(found) or 'none'}; trained: "
            f"{', '.join(trained) or 'none'}; not trained: {', '.join(untrained) or 'none'}")
    return found


def brief(interval: Interval) -> str:
    """``0.62 [0.55, 0.70]``: an interval whose level is stated once for its line."""
    if not bool(np.all(interval.defined)):
        return "undefined"
    return f"{float(interval.estimate):.2f} [{float(interval.low):.2f}, {float(interval.high):.2f}]"


def describe_design(found: Decomposition) -> str:
    return "; ".join(f"{model_name(kind)} {len(settings)} setting(s)"
                     for kind, settings in found.objectives.items())


def objective_matters_less(table: pd.DataFrame, rule: Rule = Rule()) -> Verdict:
    """Locatello et al. 2019: the random seed and the hyperparameters matter more than the
    objective (claim 1 of the module docstring)."""
    verdict = Verdict(
        "locatello_objective", f"{LOCATELLO} (seed and hyperparameter vs objective)",
        "The random seed and the hyperparameters matter more than the objective: the choice "
        "of model kind accounts for less of each disentanglement score's variance than the "
        "hyperparameter values and seeds within a kind.",
        rule=f"for each disentanglement metric, the share of its variance between objectives "
             f"(nested variance components of the grid swept, fixed effects, method of moments: "
             f"objective > hyperparameter value > seed) with its noncentral F interval "
             f"(normal seed noise; Bonferroni over the objectives' and values' F ratios), "
             f"Bonferroni over the metrics; confirmed when every metric's interval lies below "
             f"{OBJECTIVE_SHARE:g}, contradicted when some metric's interval lies above "
             f"{OBJECTIVE_SHARE:g}")
    found = decomposition(table, rule)
    verdict.count(found.groups)
    verdict.missing += found.missing
    if not found.possible:
        return verdict
    names = [metric.name for metric in found.metrics]
    decision = rules.objective_below(found.nested(), names, OBJECTIVE_SHARE, rule.alpha)
    shares = share_intervals(found.nested(), rule.level(decision.comparisons))
    verdict.evidence.append(f"objectives: {describe_design(found)}; "
                            f"{sum(len(v) for v in found.groups.values())} models")
    for number, metric in enumerate(found.metrics):
        parts = {name: Interval(*(np.asarray(v)[0, number] for v in (
            i.estimate, i.low, i.high)), i.level) for name, i in shares.items()}
        verdict.evidence.append(f"{metric.name} ({metric.column}), shares of the variance "
                                f"({format_level(decision.intervals[metric.name].level)} "
                                f"intervals): " + ", ".join(
                                    f"{name} {brief(parts[name])}" for name in COMPONENTS))
    return verdict.settle(decision)


@dataclass
class Selection:
    """The selection experiments: ``kinds`` (kind -> (settings, seeds, scores), the seeds
    every setting of the kind has) over the ``scores``: the ``targets`` (metrics judged),
    then the unsupervised scores, then Modularity (reported apart) when present."""

    targets: list[Score]
    scores: list[Score]
    kinds: dict[str, np.ndarray] = field(default_factory=dict)
    seeds: dict[str, int] = field(default_factory=dict)  # setting -> seeds used
    missing: list[str] = field(default_factory=list)

    @property
    def selectors(self) -> list[Score]:
        return [s for s in self.scores if s.key != APART]

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return rules.selection_pairs([s.name for s in self.selectors],
                                     [t.name for t in self.targets])

    @property
    def possible(self) -> bool:
        return bool(self.pairs) and len(self.kinds) >= MIN_KINDS

    @property
    def metrics(self) -> list[Score]:
        """Every metric a target (Modularity too), in ``scores`` order."""
        return [s for s in self.scores if s.sign > 0]

    def per_kind(self) -> np.ndarray:
        """(kinds, scores, metrics): P(s→t) in each kind."""
        columns = [self.scores.index(m) for m in self.metrics]
        signs = np.array([s.sign for s in self.scores])
        return np.stack([transfer(one(kind), signs, columns)[0]
                         for kind in self.kinds.values()])

    def shown(self) -> dict[str, np.ndarray]:
        """The two matrices the figure and the report show (scores × metrics), by title,
        with a metric's selection for itself left blank."""
        columns = [self.scores.index(m) for m in self.metrics]
        pool = np.concatenate([kind.reshape(-1, kind.shape[-1]) for kind in self.kinds.values()])
        matrices = {f"a hyperparameter value within each of {len(self.kinds)} kinds, judged on "
                    f"other seeds (averaged)": self.per_kind().mean(axis=0),
                    f"a model among all {len(pool)} models":
                    beats_random(pool[None], list(range(len(self.scores))),
                                 [s.sign for s in self.scores], columns)[0]}
        for matrix in matrices.values():
            for column, row in enumerate(columns):
                matrix[row, column] = np.nan
        return matrices


def selection_design(table: pd.DataFrame, rule: Rule) -> Selection:
    """The metrics and unsupervised scores every model reports, and the kinds with 2 settings
    of at least ``rule.min_seeds`` (and 2) models sharing at least 2 seeds."""
    metrics, notes = complete(table, reported(table))
    unsupervised, more = complete(table, reported(table, unsupervised=True))
    targets = [m for m in metrics if m.key != APART]
    found = Selection(targets, targets + unsupervised + [m for m in metrics if m.key == APART],
                      missing=notes + more)
    if not found.pairs:
        found.missing.append("need a disentanglement metric besides Modularity and another "
                             "metric or an unsupervised score (reconstruction, kl, "
                             "tc_large_sample) reported for every model")
        return found
    columns = [s.column for s in found.scores]
    pool_rule = Rule(min_seeds=max(2, rule.min_seeds))
    for key in dict.fromkeys(table["model"]):
        rows = table[table["model"] == key].dropna(subset=columns)
        groups = enough(groups_of(rows, "seed"), pool_rule)
        if len(groups) < 2:
            continue
        common = sorted(set.intersection(*(set(v) for v in groups.values())))
        if len(common) < 2:
            continue
        settings = [rows[(rows["setting"] == s) & rows["seed"].isin(common)]
                    .sort_values("seed")[columns].to_numpy(dtype=float) for s in groups]
        found.kinds[model_name(key)] = np.stack(settings)
        found.seeds.update({setting: len(common) for setting in groups})
    if len(found.kinds) < MIN_KINDS:
        found.missing.append(f"{len(found.kinds)} model kind(s) with 2 settings of "
                             f"{pool_rule.min_seeds} seeds in common, need {MIN_KINDS} (each "
                             f"kind is one selection experiment)")
    return found


def no_metric_selects_for_the_others(table: pd.DataFrame, rule: Rule = Rule()) -> Verdict:
    """Locatello et al. 2019: no metric (or unsupervised score) reliably selects models for the
    other metrics (claim 2 of the module docstring)."""
    verdict = Verdict(
        "locatello_selection", f"{LOCATELLO} (model selection)",
        "No metric reliably selects models for the others: the hyperparameter value that a "
        "disentanglement metric or an unsupervised score (reconstruction, KL, total "
        "correlation) picks does not reliably beat a random one on the other metrics.",
        rule=f"P(s→t): within a model kind, the value whose model of one seed scores best on "
             f"s, ranked on t among the other values' models of every other seed (ties half; "
             f"{CHANCE:g} is chance), one per kind, with Student's t interval over the kinds, "
             f"Bonferroni over the larger of the selectors' and the metrics' counts; s selects "
             f"for t when P's interval lies above {CHANCE:g}, fails to when it lies below "
             f"{CHANCE + CHANCE_MARGIN:g}; confirmed when every score fails for some other "
             f"metric, contradicted when some score selects for every other metric; "
             f"Modularity is reported apart")
    found = selection_design(table, rule)
    verdict.seeds.update(found.seeds)
    verdict.missing += found.missing
    if not found.possible:
        return verdict
    names = [s.name for s in found.scores]
    decision = rules.no_reliable_selection(
        [one(kind) for kind in found.kinds.values()], [s.sign for s in found.scores], names,
        [s.name for s in found.selectors], [t.name for t in found.targets], CHANCE_MARGIN,
        rule.alpha)
    level = format_level(rule.level(decision.comparisons))
    for selector in found.selectors:
        row = [(t.name, decision.intervals[f"{selector.name} → {t.name}"].take(0))
               for t in found.targets if t.name != selector.name]
        verdict.evidence.append(
            f"selecting by {selector.arrow}, P on each metric ({level} intervals): "
            + "; ".join(f"{name} {brief(interval)}" for name, interval in row)
            + f" — above chance for {sum(bool(i.above(CHANCE)) for _, i in row)} of {len(row)}")
    apart = [s for s in found.scores if s.key == APART]
    if apart:
        per_kind = found.per_kind()
        column = found.metrics.index(apart[0])
        values = [(s.arrow, mean_interval(per_kind[None, :, n, column],
                                          rule.level(decision.comparisons)).take(0))
                  for n, s in enumerate(found.selectors)]
        verdict.evidence.append(f"{apart[0].name}, reported apart: P on it ({level} "
                                f"intervals): " + "; ".join(f"{name} {brief(i)}"
                                                            for name, i in values))
    verdict.evidence.append(f"{len(found.kinds)} kinds ({', '.join(found.kinds)}), "
                            f"{sum(v.shape[0] * v.shape[1] for v in found.kinds.values())} "
                            f"models")
    return verdict.settle(decision)
