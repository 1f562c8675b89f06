"""Bootstrap confidence intervals over seeds, and the statistics the verdicts bootstrap.

Every interval here is a **percentile bootstrap** interval (Efron & Tibshirani 1993, ch. 13):
the seeds of each setting are resampled with replacement, within their setting (a stratified
bootstrap: the settings are the design, the seeds are the sample), ``resamples`` times; the
statistic is computed on every resample; the interval is the central ``level`` share of those
values. The random generator is ``numpy.random.default_rng(seed)`` created afresh for every
interval, so an interval depends only on its data and the rule, never on what was computed
before it: the same results table gives the same report, byte for byte.

A percentile interval over as few as 3 seeds per setting is narrow (a setting of 3 seeds has
only 10 distinct resamples) and covers the true value less often than its level says; the
verdicts therefore also require ``min_seeds`` seeds per setting, and the report gives the seed
counts next to every interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
from scipy import stats

#: Resamples per interval: the percentiles of a 0.05/6 Bonferroni level then rest on ~17
#: resamples in each tail.
RESAMPLES = 4000


@dataclass(frozen=True)
class Interval:
    """A statistic's value on the data and its bootstrap interval at ``level``."""

    estimate: float
    low: float
    high: float
    level: float

    @property
    def defined(self) -> bool:
        return not (math.isnan(self.estimate) or math.isnan(self.low) or math.isnan(self.high))

    def above(self, threshold: float) -> bool:
        """The whole interval lies above ``threshold``."""
        return self.defined and self.low > threshold

    def below(self, threshold: float) -> bool:
        """The whole interval lies below ``threshold``."""
        return self.defined and self.high < threshold

    def describe(self, digits: int = 3) -> str:
        """``+0.120 [+0.050, +0.190] (95% CI)``, or ``undefined`` when the data cannot give it."""
        if not self.defined:
            return "undefined (no spread or too few values)"
        return (f"{self.estimate:+.{digits}f} [{self.low:+.{digits}f}, {self.high:+.{digits}f}] "
                f"({format_level(self.level)} CI)")


def format_level(level: float) -> str:
    """0.95 -> "95%", 0.991667 -> "99.2%"."""
    percent = 100 * level
    return f"{percent:.0f}%" if abs(percent - round(percent)) < 1e-9 else f"{percent:.1f}%"


def resample(groups: Mapping[str, np.ndarray], resamples: int,
             rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each group's rows drawn with replacement, ``resamples`` times: (n, ...) -> (B, n, ...)."""
    drawn = {}
    for name, values in groups.items():
        values = np.asarray(values, dtype=float)
        drawn[name] = values[rng.integers(0, len(values), size=(resamples, len(values)))]
    return drawn


def bootstrap(groups: Mapping[str, np.ndarray], statistic: Callable[[dict], np.ndarray],
              level: float = 0.95, resamples: int = RESAMPLES, seed: int = 0) -> Interval:
    """The percentile bootstrap interval of ``statistic`` (see the module docstring).

    ``groups``: setting -> its values, one row per seed ((n,) or (n, k) for paired numbers).
    ``statistic`` maps {setting: (B, n, ...)} to (B,) values and must work for B = 1 (the
    estimate). Resamples where the statistic is undefined (NaN, e.g. no spread to rank) are
    dropped; when more than half are, the interval is undefined.
    """
    data = {name: np.asarray(values, dtype=float)[None] for name, values in groups.items()}
    estimate = float(np.asarray(statistic(data))[0])
    values = np.asarray(statistic(resample(groups, resamples, np.random.default_rng(seed))),
                        dtype=float)
    finite = values[np.isfinite(values)]
    if math.isnan(estimate) or len(finite) < resamples / 2:
        return Interval(estimate, math.nan, math.nan, level)
    return Interval(estimate, *percentile_interval(finite, level), level)


def percentile_interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    """The percentile interval of bootstrap ``samples`` at confidence ``level`` (no
    interpolation between samples, so infinite samples stay usable)."""
    tail = (1 - level) / 2
    samples = np.asarray(samples, dtype=np.float64)
    return (float(np.quantile(samples, tail, method="inverted_cdf")),
            float(np.quantile(samples, 1 - tail, method="inverted_cdf")))


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rank correlation of each row of x with the same row of y ((B, n) -> (B,)):
    Pearson's correlation of the average ranks (ties share their mean rank, as in scipy);
    NaN for a row where either has no spread."""
    x = stats.rankdata(np.asarray(x, dtype=float), axis=-1)
    y = stats.rankdata(np.asarray(y, dtype=float), axis=-1)
    x -= x.mean(axis=-1, keepdims=True)
    y -= y.mean(axis=-1, keepdims=True)
    scale = np.sqrt((x * x).sum(axis=-1) * (y * y).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale > 0, (x * y).sum(axis=-1) / scale, np.nan)


def seed_share(groups: list[np.ndarray]) -> np.ndarray:
    """The share of the variance of a score that lies between seeds of one setting, from the
    variance components of a one-way random-effects analysis of variance (method of moments,
    unequal group sizes): sigma2_seed = MS_within, sigma2_setting = max(0, (MS_between -
    MS_within) / n0) with n0 = (N - sum n_i^2 / N) / (k - 1); the share is sigma2_seed /
    (sigma2_seed + sigma2_setting). ``groups``: k >= 2 arrays (B, n_i), one per setting, each
    n_i >= 2; returns (B,), NaN where every value is equal."""
    sizes = np.array([g.shape[-1] for g in groups], dtype=float)
    total, k = sizes.sum(), len(groups)
    means = np.stack([g.mean(axis=-1) for g in groups], axis=-1)               # (B, k)
    grand = (means * sizes).sum(axis=-1, keepdims=True) / total
    within = sum(((g - g.mean(axis=-1, keepdims=True)) ** 2).sum(axis=-1) for g in groups)
    between = (sizes * (means - grand) ** 2).sum(axis=-1)
    ms_within, ms_between = within / (total - k), between / (k - 1)
    n0 = (total - (sizes ** 2).sum() / total) / (k - 1)
    setting = np.maximum(0.0, (ms_between - ms_within) / n0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ms_within / (ms_within + setting)
