"""The verdict framework: the four outcomes, the rule's numbers, a verdict's record, and the
helpers every claim uses to gather per-seed values.

Outcomes. A claim is **confirmed** when its intervals support it, **contradicted** when they
exclude it, **inconclusive** when they do neither, and **not enough data** when a setting it
needs has fewer than ``Rule.min_seeds`` seeds, its design is too small for its interval, or a
number it needs was not reported. Every interval is two-sided at level 1 − α, Bonferroni's
1 − α/k where k comparisons could each make the call; each rule names its interval
(``analysis.statistics``) and decides through ``analysis.verdicts.rules``, whose error rates
and power on simulated studies ``analysis.calibration`` measures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.statistics import format_level, power, seeds_for
from analysis.verdicts.rules import Decision
from disentangle import kinds

CONFIRMED, CONTRADICTED = "confirmed", "contradicted"
INCONCLUSIVE, NOT_ENOUGH_DATA = "inconclusive", "not enough data"
#: The power the "not enough data" and power lines state seeds for.
WANTED_POWER = 0.8


@dataclass(frozen=True)
class Rule:
    """The numbers behind every verdict.

    ``min_seeds``: seeds each compared setting needs (a t interval needs 2; 3 is the fewest the
    calibration simulates, ``analysis.calibration``). ``alpha``: one minus the intervals' level
    before Bonferroni; each wrong call is then made at most α/2 of the time.
    ``reconstruction_margin``: "near the VAE's reconstruction" means a mean reconstruction
    error at most this share above the VAE's. ``metric_margin``: a score "not penalised" is at
    most this much lower. ``seed_share``: "the seed matters as much as the hyperparameter"
    means the seeds hold at least this share of a score's variance. ``dropped_information``: a
    trained model drops a factor when no latent dimension holds this share of the factor's
    entropy as mutual information.
    """

    min_seeds: int = 3
    alpha: float = 0.05
    reconstruction_margin: float = 0.10
    metric_margin: float = 0.05
    seed_share: float = 0.5
    dropped_information: float = 0.1

    def level(self, comparisons: int = 1) -> float:
        return 1 - self.alpha / max(1, comparisons)

    def describe(self) -> str:
        """The part of every claim's rule that the report states once."""
        return (f"every interval is two-sided at {format_level(self.level())}, computed from "
                f"the seeds by the method its rule names (deterministic: the same results give "
                f"the same calls), and Bonferroni-"
                f"corrected to {self.alpha:g}/k where k comparisons could each make the call, "
                f"so each claim is wrongly confirmed at most {self.alpha / 2:.1%} and wrongly "
                f"contradicted at most {self.alpha / 2:.1%} of the time where its rule's "
                f"assumptions hold (docs/analysis.md's calibration table gives the simulated "
                f"rates); "
                f"every compared setting needs at least {self.min_seeds} seeds")

    def seeds_note(self, comparisons: int = 1) -> str:
        """How many seeds per setting find a difference of 1 seed-sd with ``WANTED_POWER``."""
        return (f"{WANTED_POWER:.0%} power for a difference of 1 seed-sd at this level needs "
                f"{seeds_for(self.level(comparisons), wanted=WANTED_POWER)} seeds per setting")

    def power_line(self, seeds: int, comparisons: int = 1) -> str:
        """The evidence line on the power of a comparison with ``seeds`` seeds per setting."""
        return (f"power: with {seeds} seeds per setting a true difference of 1 seed-sd between "
                f"two settings is found {power(seeds, self.level(comparisons)):.0%} of the time "
                f"at {format_level(self.level(comparisons))}; {self.seeds_note(comparisons)}")


@dataclass
class Verdict:
    """A paper's claim, the verdict on it, the rule in one sentence and the numbers behind it."""

    key: str
    source: str
    claim: str
    verdict: str = NOT_ENOUGH_DATA
    rule: str = ""
    evidence: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    seeds: dict[str, int] = field(default_factory=dict)  # setting -> models counted

    def lacks(self, table: pd.DataFrame, *columns: str) -> bool:
        """Whether ``table`` lacks any of ``columns``; if so, says which under ``missing``
        (the claim then stays "not enough data")."""
        absent = [column for column in columns if column not in table]
        if absent:
            self.missing.append(f"no {' or '.join(absent)} reported")
        return bool(absent)

    def count(self, groups: dict) -> None:
        self.seeds.update({name: len(values) for name, values in groups.items()})

    def decide(self, confirmed: bool, contradicted: bool) -> "Verdict":
        """Confirmed, contradicted or (neither) inconclusive; both at once cannot happen for
        a well-posed rule and is reported as inconclusive."""
        self.verdict = (CONFIRMED if confirmed and not contradicted else
                        CONTRADICTED if contradicted and not confirmed else INCONCLUSIVE)
        return self

    def settle(self, decision: Decision) -> "Verdict":
        """``decide`` on a rule's decision for one study."""
        return self.decide(bool(decision.confirmed[0]), bool(decision.contradicted[0]))


def groups_of(table: pd.DataFrame, columns, models=None) -> dict[str, np.ndarray]:
    """Setting label -> its models' values of ``columns`` (one column: (n,); several: (n, k)),
    rows with any of them missing dropped, settings in table order."""
    single = isinstance(columns, str)
    columns = [columns] if single else list(columns)
    rows = table if models is None else table[table["model"].isin(models)]
    if any(column not in rows for column in columns):
        return {}
    rows = rows.dropna(subset=columns)
    return {setting: (group[columns[0]] if single else group[columns]).to_numpy(dtype=float)
            for setting, group in rows.groupby("setting", sort=False)}


def too_few(groups: dict, rule: Rule, comparisons: int = 1) -> list[str]:
    """A line for each setting with fewer than ``rule.min_seeds`` models."""
    return [f"{name}: {len(values)} model(s), need {rule.min_seeds} "
            f"({rule.seeds_note(comparisons)})"
            for name, values in groups.items() if len(values) < rule.min_seeds]


def enough(groups: dict, rule: Rule) -> dict:
    return {name: values for name, values in groups.items() if len(values) >= rule.min_seeds}


def one(values: np.ndarray) -> np.ndarray:
    """One study's values as the rules take them: (1, n, ...)."""
    return np.asarray(values, dtype=float)[None]


def mean_sd(values, digits: int = 3) -> str:
    """``0.712 ± 0.021 (n=3)`` (mean ± standard deviation over seeds)."""
    values = np.asarray(values, dtype=float)
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
    spread = f" ± {sd:.{digits}f}" if not math.isnan(sd) else ""
    return f"{np.mean(values):.{digits}f}{spread} (n={len(values)})"


def reference(table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The baseline kind's models (the VAE), or, when the sweep trained none, the first kind's
    at its neutral value (β-VAE at β = 1: the same objective)."""
    baseline = kinds.baseline_kind()
    rows = table[table["model"] == baseline.key]
    for key, (parameter, neutral) in kinds.vae_objective().items():
        if not len(rows) and parameter in table:
            rows = table[(table["model"] == key) & (table[parameter] == neutral)]
    return rows, str(rows["setting"].iloc[0]) if len(rows) else baseline.name


def with_baseline(table: pd.DataFrame, key: str) -> pd.DataFrame:
    """The models of kind ``key`` and of the baseline kind, the baseline's at the kind's
    neutral value of its hyperparameter (the VAE as β-VAE's β = 1 or FactorVAE's γ = 0): one
    family of settings ordered by that hyperparameter."""
    parameter = kinds.get_kind(key).hyperparameter.key
    baseline = table["model"] == kinds.baseline_kind().key
    rows = table[baseline | (table["model"] == key)]
    values = rows[parameter] if parameter in rows else pd.Series(np.nan, index=rows.index)
    return rows.assign(**{parameter: values.where(~baseline[rows.index],
                                                  kinds.neutral_value(key))})


def ordered_groups(verdict: Verdict, rows: pd.DataFrame, column: str, key: str, rule: Rule,
                   label: str) -> dict[str, np.ndarray] | None:
    """The settings of ``rows`` (``with_baseline(table, key)``) with enough models, in order
    of kind ``key``'s hyperparameter: setting -> values of ``column``. Counts the models into
    ``verdict`` and adds the settings' means as evidence; None (with the reason in
    ``verdict.missing``) when fewer than 2 distinct values have enough models."""
    hyperparameter = kinds.get_kind(key).hyperparameter
    position, symbol = hyperparameter.key, hyperparameter.symbol
    groups = groups_of(rows, column)
    positions = rows.groupby("setting", sort=False)[position].first().to_dict()
    verdict.count(groups)
    verdict.missing += too_few(groups, rule)
    usable = enough(groups, rule)
    if len({positions[name] for name in usable}) < 2:
        verdict.missing.append(f"need at least 2 distinct {symbol} (the "
                               f"{kinds.baseline_kind().name} counts as {symbol} = "
                               f"{hyperparameter.neutral:g}) with enough models")
        return None
    usable = dict(sorted(usable.items(), key=lambda item: positions[item[0]]))
    verdict.evidence.append(f"{label} by {symbol}: " + "; ".join(
        f"{symbol}={positions[name]:g} {mean_sd(values, 2)}" for name, values in usable.items()))
    return usable
