"""The verdict framework: the four outcomes, the rule's numbers, a verdict's record, and the
helpers every claim uses to gather per-seed values.

Outcomes. A claim is **confirmed** when its bootstrap intervals support it, **contradicted**
when they exclude it, **inconclusive** when they do neither, and **not enough data** when a
setting it needs has fewer than ``Rule.min_seeds`` seeds (or a number it needs was not
reported). Every interval is a percentile bootstrap over seeds (``analysis.statistics``) at
level 1 - alpha; a claim that compares k settings (e.g. "some β > 1 beats the VAE") uses
Bonferroni's level 1 - alpha / k for each of its k intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from analysis.statistics import RESAMPLES, Interval, bootstrap, format_level, spearman_rows

CONFIRMED, CONTRADICTED = "confirmed", "contradicted"
INCONCLUSIVE, NOT_ENOUGH_DATA = "inconclusive", "not enough data"


@dataclass(frozen=True)
class Rule:
    """The numbers behind every verdict.

    ``min_seeds``: seeds each compared setting needs. ``alpha``: one minus the intervals'
    level (before Bonferroni). ``resamples`` and ``seed``: of every bootstrap.
    ``reconstruction_margin``: "near the VAE's reconstruction" means a mean reconstruction
    error at most this share above the VAE's. ``metric_margin``: a score "not penalised" is at
    most this much lower. ``seed_share``: "the seed matters as much as the hyperparameter"
    means the seeds hold at least this share of a score's variance. ``dropped_information``: a
    trained model drops a factor when no latent dimension holds this share of the factor's
    entropy as mutual information.
    """

    min_seeds: int = 3
    alpha: float = 0.05
    resamples: int = RESAMPLES
    seed: int = 0
    reconstruction_margin: float = 0.10
    metric_margin: float = 0.05
    seed_share: float = 0.5
    dropped_information: float = 0.1

    def level(self, comparisons: int = 1) -> float:
        return 1 - self.alpha / max(1, comparisons)

    def interval(self, groups: dict, statistic: Callable, comparisons: int = 1) -> Interval:
        """The bootstrap interval of ``statistic`` over ``groups`` at Bonferroni's level for
        ``comparisons`` intervals."""
        return bootstrap(groups, statistic, self.level(comparisons), self.resamples, self.seed)

    def describe(self) -> str:
        """The part of every claim's rule that the report states once."""
        return (f"intervals are {format_level(self.level())} percentile bootstrap intervals "
                f"over seeds ({self.resamples:,} resamples of the seeds within each setting, "
                f"generator seed {self.seed}), Bonferroni-corrected to {self.alpha:g}/k when a "
                f"claim compares k settings; every compared setting needs at least "
                f"{self.min_seeds} seeds")


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

    def count(self, groups: dict) -> None:
        self.seeds.update({name: len(values) for name, values in groups.items()})

    def decide(self, confirmed: bool, contradicted: bool) -> "Verdict":
        """Confirmed, contradicted or (neither) inconclusive; both at once cannot happen for
        a well-posed rule and is reported as inconclusive."""
        self.verdict = (CONFIRMED if confirmed and not contradicted else
                        CONTRADICTED if contradicted and not confirmed else INCONCLUSIVE)
        return self


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


def too_few(groups: dict, rule: Rule) -> list[str]:
    return [f"{name}: {len(values)} model(s), need {rule.min_seeds}"
            for name, values in groups.items() if len(values) < rule.min_seeds]


def enough(groups: dict, rule: Rule) -> dict:
    return {name: values for name, values in groups.items() if len(values) >= rule.min_seeds}


def mean_sd(values, digits: int = 3) -> str:
    """``0.712 ± 0.021 (n=3)`` (mean ± standard deviation over seeds)."""
    values = np.asarray(values, dtype=float)
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
    spread = f" ± {sd:.{digits}f}" if not math.isnan(sd) else ""
    return f"{np.mean(values):.{digits}f}{spread} (n={len(values)})"


def reference(table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The VAE models, or β-VAE β = 1 (the same objective) when the sweep trained no VAE."""
    vae = table[table["model"] == "vae"]
    if len(vae):
        return vae, str(vae["setting"].iloc[0])
    if "beta" not in table:
        return vae, "VAE"
    beta_one = table[(table["model"] == "beta_vae") & (table["beta"] == 1)]
    return beta_one, str(beta_one["setting"].iloc[0]) if len(beta_one) else "VAE"


def beta_of(table: pd.DataFrame) -> pd.Series:
    """Each row's β, the VAE's being 1."""
    beta = table["beta"] if "beta" in table else pd.Series(np.nan, index=table.index)
    return beta.where(table["model"] != "vae", 1.0)


def mean_difference(a: str, b: str) -> Callable:
    """Statistic: mean of setting ``a`` minus mean of setting ``b``."""
    return lambda s: s[a].mean(axis=-1) - s[b].mean(axis=-1)


def trend(groups: dict[str, np.ndarray], positions: dict[str, float], rule: Rule) -> Interval:
    """The interval of Spearman's rank correlation between each model's setting position
    (``positions``: setting -> β, γ, ...) and its value (``groups``), over all the models."""
    names = list(groups)
    x = np.concatenate([np.full(len(groups[name]), positions[name]) for name in names])

    def statistic(samples):
        y = np.concatenate([samples[name] for name in names], axis=-1)
        return spearman_rows(np.broadcast_to(x, y.shape), y)

    return rule.interval(groups, statistic)


def trend_over(verdict, rows: pd.DataFrame, column: str, position: str, symbol: str,
               vae_value: float, rule: Rule, label: str) -> Interval | None:
    """The ``trend`` of ``column`` over the hyperparameter column ``position`` (written
    ``symbol``, the VAE's rows holding ``vae_value``), counting the models into ``verdict`` and
    adding its per-setting means as evidence; None (with the reason in ``verdict.missing``)
    when fewer than 2 distinct values have enough models."""
    groups = groups_of(rows, column)
    positions = rows.groupby("setting", sort=False)[position].first().to_dict()
    verdict.count(groups)
    verdict.missing += too_few(groups, rule)
    usable = enough(groups, rule)
    if len({positions[name] for name in usable}) < 2:
        verdict.missing.append(f"need at least 2 distinct {symbol} (the VAE counts as "
                               f"{symbol} = {vae_value:g}) with enough models")
        return None
    verdict.evidence.append(f"{label} by {symbol}: " + "; ".join(
        f"{symbol}={positions[name]:g} {mean_sd(values, 2)}" for name, values in usable.items()))
    return trend(usable, positions, rule)
