"""Locatello et al. 2019's claims on a sweep, each with its rule in one sentence.

1. "The random seed and the hyperparameters matter more than the objective" (paraphrasing
   their section on how much models and hyperparameters matter): a nested variance
   decomposition of every disentanglement metric over the models (objective > hyperparameter
   value > seed, ``analysis.locatello.statistics``); the objectives' share below one half means
   the seeds and hyperparameter values within an objective move the score more than the
   choice of objective.
2. "Well-disentangled models seemingly cannot be identified without supervision" (ICML
   abstract) and "good hyperparameters neither transfer across data sets nor across
   disentanglement metrics" (arXiv v1 abstract): does selecting, among the seeds of a
   setting, the model with the best score on one metric (or on an unsupervised score:
   reconstruction, KL, total correlation) pick a model that beats a random seed on the other
   metrics?

The models are those ``analysis.selection`` keeps; each model kind is an objective (β-VAE
β = 1 and β-TCVAE β = 1 train the same objective as the VAE but count as their kinds, as in
Locatello et al.'s grids). Claim 1's intervals resample the seeds within each setting, as
the report's other verdicts do: the objectives and hyperparameter values are the design, so an
interval says how much the seeds' luck moves the shares, not how other grids would score (a
resample of n seeds has on average (n - 1)/n of their spread, so the intervals lean a little
towards the between-setting components). Claim 2's intervals resample the settings, each one
selection experiment: resampling the seeds of a setting would put copies of the selected model
among the "others" it is compared with and pull every resample towards one half.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.evidence import Rule, Verdict, enough, groups_of, too_few
from analysis.locatello.scores import Score, absent_metrics, complete, reported
from analysis.locatello.statistics import COMPONENTS, beats_random, intervals, nested_shares
from analysis.results import model_name
from analysis.statistics import Interval, format_level
from disentangle import kinds

LOCATELLO = "Locatello et al. 2019"
#: "Matters more than the objective": the objectives hold less than this share of the variance.
OBJECTIVE_SHARE = 0.5
#: "Reliably selects": the selected model beats a random seed at least this often (3 in 4).
RELIABLE_SELECTION = 0.75
#: Settings (selection experiments) the selection claim's interval resamples, at least.
MIN_SETTINGS = 5


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

    def shares(self, samples: dict) -> np.ndarray:
        """(B, metrics, 3): the objective, hyperparameter and seed shares of each metric."""
        return nested_shares([[samples[s] for s in settings]
                              for settings in self.objectives.values()])

    def estimate(self) -> np.ndarray:
        """(metrics, 3) shares on the data."""
        return self.shares({s: v[None] for s, v in self.groups.items()})[0]


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
    if not interval.defined:
        return "undefined"
    return f"{interval.estimate:.2f} [{interval.low:.2f}, {interval.high:.2f}]"


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
             f"(nested variance components, method of moments: objective > hyperparameter "
             f"value > seed); confirmed when every metric's interval lies below "
             f"{OBJECTIVE_SHARE:g}, contradicted when some metric's interval lies above "
             f"{OBJECTIVE_SHARE:g}")
    found = decomposition(table, rule)
    verdict.count(found.groups)
    verdict.missing += found.missing
    if not found.possible:
        return verdict
    count = len(found.metrics)
    bounds = intervals(found.groups, lambda s: found.shares(s).reshape(-1, 3 * count), rule,
                       count)
    verdict.evidence.append(f"objectives: {describe_design(found)}; "
                            f"{sum(len(v) for v in found.groups.values())} models")
    objective = []
    for number, metric in enumerate(found.metrics):
        shares = dict(zip(COMPONENTS, bounds[3 * number:3 * number + 3]))
        objective.append(shares["objective"])
        verdict.evidence.append(f"{metric.name} ({metric.column}), shares of the variance "
                                f"({format_level(bounds[0].level)} intervals): " + ", ".join(
                                    f"{name} {brief(interval)}"
                                    for name, interval in shares.items()))
    return verdict.decide(all(i.below(OBJECTIVE_SHARE) for i in objective),
                          any(i.above(OBJECTIVE_SHARE) for i in objective))


@dataclass
class Transfer:
    """The pools of a selection-transfer analysis: ``groups`` (setting -> (n, selectors)) with
    the ``selectors`` as columns, the first ``len(targets)`` of them the target metrics."""

    targets: list[Score]
    selectors: list[Score]
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def pairs(self) -> list[tuple[int, int]]:
        """(selector, target) column pairs, a metric never selecting for itself."""
        return [(s, t) for s in range(len(self.selectors)) for t in range(len(self.targets))
                if s != t]

    @property
    def possible(self) -> bool:
        return bool(self.pairs) and len(self.groups) >= MIN_SETTINGS

    def selection_matrix(self, pool: np.ndarray) -> np.ndarray:
        """(selectors, targets) for one pool of models (n, selectors)."""
        return beats_random(pool[None], list(range(len(self.selectors))),
                            [s.sign for s in self.selectors], list(range(len(self.targets))))[0]

    def per_setting(self) -> np.ndarray:
        """(settings, selectors, targets): selecting among the seeds of each setting."""
        return np.stack([self.selection_matrix(pool) for pool in self.groups.values()])

    def pooled(self) -> np.ndarray:
        """(selectors, targets): selecting among every model at once."""
        return self.selection_matrix(np.concatenate(list(self.groups.values())))

    def shown(self) -> dict[str, np.ndarray]:
        """The two matrices the figure and the report show, by title, with a metric's
        selection for itself left blank."""
        matrices = {f"among the seeds of each of {len(self.groups)} settings (averaged)":
                    self.per_setting().mean(axis=0),
                    f"among all {sum(len(v) for v in self.groups.values())} models":
                    self.pooled()}
        for matrix in matrices.values():
            matrix[np.diag_indices(len(self.targets))] = np.nan
        return matrices


def transfer(table: pd.DataFrame, rule: Rule) -> Transfer:
    """The metrics and unsupervised scores every model reports and the settings with at least
    ``rule.min_seeds`` (and 2) models to select among."""
    targets, notes = complete(table, reported(table))
    unsupervised, more = complete(table, reported(table, unsupervised=True))
    found = Transfer(targets, targets + unsupervised, missing=notes + more)
    if not found.pairs:
        found.missing.append("need a disentanglement metric and another metric or an "
                             "unsupervised score (reconstruction, kl, tc_large_sample) reported "
                             "for every model")
        return found
    groups = groups_of(table, [s.column for s in found.selectors])
    pool_rule = Rule(min_seeds=max(2, rule.min_seeds))
    found.missing += too_few(groups, pool_rule)
    found.groups = enough(groups, pool_rule)
    if len(found.groups) < MIN_SETTINGS:
        found.missing.append(f"{len(found.groups)} setting(s) with {pool_rule.min_seeds} models "
                             f"to select among, need {MIN_SETTINGS}")
    return found


def no_metric_selects_for_the_others(table: pd.DataFrame, rule: Rule = Rule()) -> Verdict:
    """Locatello et al. 2019: no metric (or unsupervised score) reliably selects models for the
    other metrics (claim 2 of the module docstring)."""
    verdict = Verdict(
        "locatello_selection", f"{LOCATELLO} (model selection)",
        "No metric reliably selects models for the others: neither a disentanglement metric "
        "nor an unsupervised score (reconstruction, KL, total correlation) reliably picks, "
        "among a setting's seeds, the models that score well on the other metrics.",
        rule=f"P(s→t) is the probability that the seed with the best score s in a setting "
             f"beats another seed of that setting, drawn at random, on metric t (ties count "
             f"half; 0.5 is chance), averaged over the settings, its interval resampling the "
             f"settings; s reliably selects for t when P's interval lies above "
             f"{RELIABLE_SELECTION:g} and fails to when it lies below; confirmed when every "
             f"score fails for some other metric, contradicted when some score reliably "
             f"selects for every other metric")
    found = transfer(table, rule)
    verdict.count(found.groups)
    verdict.missing += found.missing
    if not found.possible:
        return verdict
    pairs = found.pairs
    per_setting = found.per_setting()
    columns = np.stack([per_setting[:, s, t] for s, t in pairs], axis=-1)
    bounds = intervals({"settings": columns}, lambda d: d["settings"].mean(axis=1), rule,
                       len(pairs))
    by_selector = {}
    for (s, t), interval in zip(pairs, bounds):
        by_selector.setdefault(s, []).append((found.targets[t], interval))
    reliable, failing = [], []
    for s, row in by_selector.items():
        reliable.append(all(i.above(RELIABLE_SELECTION) for _, i in row))
        failing.append(any(i.below(RELIABLE_SELECTION) for _, i in row))
        verdict.evidence.append(
            f"selecting by {found.selectors[s].arrow}, P on each metric "
            f"({format_level(bounds[0].level)} intervals): " + "; ".join(
                f"{target.name} {brief(interval)}" for target, interval in row)
            + f" — reliable for {sum(i.above(RELIABLE_SELECTION) for _, i in row)} of "
              f"{len(row)}")
    verdict.evidence.append(f"{len(found.groups)} settings, "
                            f"{sum(len(v) for v in found.groups.values())} models")
    return verdict.decide(all(failing), any(reliable))
