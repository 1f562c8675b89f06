"""Intervals that hold their level at 3–10 seeds per setting, vectorised over studies.

Every verdict is decided by an interval made here. Each function takes per-setting values
shaped (B, n): B studies (1 for a sweep; thousands in ``analysis.calibration``'s simulations)
of n seeds, and returns an ``Interval`` of (B,) arrays. Nothing is resampled, so an interval
depends only on its data: the same results give the same report, byte for byte.

- **t intervals** (``t_interval``) for every estimate that is a combination of setting means:
  estimate ± t_ν(1 − α/2) · se with se² = Σ_g v_g, v_g setting g's share of the variance of
  the estimate (its seed variance / n_g, times the squared weight of its mean) and
  Welch–Satterthwaite's ν = (Σ_g v_g)² / Σ_g v_g² / (n_g − 1) (Welch 1947). A difference of two
  means (``welch``) and the least-squares slope of setting means over their order
  (``trend``) are linear; a ratio of means is taken on the log scale (``log_ratio``) and a
  curve's value between two settings linearised (delta method). A percentile bootstrap of the
  same estimates over 3 seeds excluded 0 on the wrong side 9.8% of the time at a nominal 2.5%
  (issue #25): it shrinks each setting's variance by (n − 1)/n and uses normal tails.
- **Fisher's z** for correlations (``fisher``): tanh(atanh r ± z(1 − α/2) · se), with Bonett &
  Wright's (2000) se² = (1 + r²/2) / (n − 3) for Spearman's ρ.
- **Noncentral F intervals** for shares of variance (``seed_share``, and the nested shares of
  ``analysis.locatello.statistics``). A sweep's settings are chosen, not drawn, so their
  effects are fixed: the share describes the grid that was swept (the variance of a model drawn
  at random from it), not a population of settings. With normal seed noise the between-setting
  F ratio follows a noncentral F whose noncentrality λ = Σ n_g (μ_g − μ)² / σ² is all the share
  depends on, so inverting it in λ (``noncentrality_interval``; Steiger 2004) gives an exact
  interval whatever the pattern of the settings' means, for equal or unequal seeds. A random-
  effects interval (the intraclass correlation's exact F interval) assumes normal setting
  effects and, with 6 skewed ones, called "contradicted" 7–15% of the time at a nominal 2.5%.

``analysis.calibration`` checks each verdict's rule built from these on simulated studies of
the presets' shapes, normal and skewed, and reports their error rates and power.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Interval:
    """A statistic's value on the data and its interval at ``level``; each a float, or (B,)
    arrays for B studies at once."""

    estimate: np.ndarray | float
    low: np.ndarray | float
    high: np.ndarray | float
    level: float

    @property
    def defined(self):
        return ~(np.isnan(self.estimate) | np.isnan(self.low) | np.isnan(self.high))

    def above(self, threshold: float):
        """The whole interval lies above ``threshold``."""
        return self.defined & (self.low > threshold)

    def below(self, threshold: float):
        """The whole interval lies below ``threshold``."""
        return self.defined & (self.high < threshold)

    def take(self, index: int) -> "Interval":
        """Study ``index``'s interval, as floats."""
        return Interval(*(float(np.asarray(v).reshape(-1)[index])
                          for v in (self.estimate, self.low, self.high)), self.level)

    def map(self, increasing: Callable) -> "Interval":
        """The interval of ``increasing(statistic)``."""
        return Interval(increasing(self.estimate), increasing(self.low), increasing(self.high),
                        self.level)

    def describe(self, digits: int = 3) -> str:
        """``+0.120 [+0.050, +0.190] (95% CI)``, or ``undefined`` when the data cannot give it."""
        if not bool(np.all(self.defined)):
            return "undefined (no spread or too few values)"
        return (f"{float(self.estimate):+.{digits}f} [{float(self.low):+.{digits}f}, "
                f"{float(self.high):+.{digits}f}] ({format_level(self.level)} CI)")


def format_level(level: float) -> str:
    """0.95 -> "95%", 0.991667 -> "99.2%"."""
    percent = 100 * level
    return f"{percent:.0f}%" if abs(percent - round(percent)) < 1e-9 else f"{percent:.1f}%"


def moments(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Mean (B,), variance of the mean (B,) and its degrees of freedom, of (B, n) values."""
    values = np.asarray(values, dtype=float)
    n = values.shape[-1]
    return values.mean(axis=-1), values.var(axis=-1, ddof=1) / n, n - 1


def t_interval(estimate, variances: list, dfs: list[int], level: float) -> Interval:
    """The Welch–Satterthwaite t interval (module docstring) of ``estimate`` whose variance is
    the sum of ``variances``, each with its degrees of freedom; undefined where the variance
    is 0 (no spread) or a setting has a single value."""
    total = sum(variances)
    with np.errstate(invalid="ignore", divide="ignore"):
        df = total ** 2 / sum(v ** 2 / d if d > 0 else np.nan * v for v, d in zip(variances, dfs))
        df = np.where(total > 0, df, np.nan)
        half = stats.t.ppf(0.5 + level / 2, df) * np.sqrt(total)
    return Interval(estimate, estimate - half, estimate + half, level)


def welch(a: np.ndarray, b: np.ndarray, level: float) -> Interval:
    """Welch's interval of mean(a) − mean(b)."""
    (mean_a, var_a, df_a), (mean_b, var_b, df_b) = moments(a), moments(b)
    return t_interval(mean_a - mean_b, [var_a, var_b], [df_a, df_b], level)


#: Reassignments a permutation test draws when there are more than this many (plus the data's
#: own assignment), from a generator of fixed seed: its p-values stay valid (Phipson & Smyth
#: 2010) and the same data give the same call.
PERMUTATIONS = 4000


def assignments(total: int, first: int) -> np.ndarray:
    """(P, total) 0/1 rows: which of ``total`` pooled values form the first group; every way
    when there are at most ``PERMUTATIONS``, else the data's own (row 0) and ``PERMUTATIONS``
    drawn ones."""
    if math.comb(total, first) <= PERMUTATIONS:
        rows = [np.isin(np.arange(total), chosen)
                for chosen in itertools.combinations(range(total), first)]
    else:
        rng = np.random.default_rng(0)
        rows = [np.arange(total) < first,
                *(np.argsort(rng.random((PERMUTATIONS, total)), axis=1) < first)]
    return np.array(rows, dtype=float)


def reachable(first: int, second: int, alpha: float) -> bool:
    """Whether a permutation test of groups of ``first`` and ``second`` models can reach a
    one-sided p-value of ``alpha``: its smallest is 1 / C(first + second, first) (or one over
    the drawn reassignments plus one)."""
    return 1 / min(math.comb(first + second, first), PERMUTATIONS + 1) <= alpha


def shift_test(a: np.ndarray, b: np.ndarray, shift: float) -> tuple[np.ndarray, np.ndarray]:
    """The studentized permutation test of mean(a) − mean(b) = ``shift`` (Janssen 1997):
    Welch's t of a − shift against b, referred to its values over reassignments of the pooled
    models to groups of the same sizes. Exact where the two groups differ by the shift alone,
    whatever their distribution (skewed scores, unequal groups), and Welch's test for large
    groups otherwise. ``a`` (B, n_a), ``b`` (B, n_b); returns the one-sided p-values that the
    difference lies above and below ``shift`` ((B,) each), NaN where the data do not vary."""
    a, b = np.atleast_2d(a).astype(float) - shift, np.atleast_2d(b).astype(float)
    first, second = a.shape[-1], b.shape[-1]
    pooled = np.concatenate([a, b], axis=-1)
    pooled -= pooled.mean(axis=-1, keepdims=True)            # sums of squares without cancelling
    chosen = assignments(first + second, first)
    sums, squares = pooled @ chosen.T, (pooled ** 2) @ chosen.T                  # (B, P)
    rest, rest_squares = pooled.sum(-1, keepdims=True) - sums, \
        (pooled ** 2).sum(-1, keepdims=True) - squares
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = ((squares - sums ** 2 / first) / (first - 1) / first
                    + (rest_squares - rest ** 2 / second) / (second - 1) / second)
        t = (sums / first - rest / second) / np.sqrt(np.maximum(variance, 0.0))
        own = welch_t(a, b)[:, None]
        tolerance = 1e-9 * np.abs(own) + 1e-12                # ties count for the data
        above = np.mean(t >= own - tolerance, axis=-1)
        below = np.mean(t <= own + tolerance, axis=-1)
    undefined = np.isnan(own[:, 0])
    return np.where(undefined, np.nan, above), np.where(undefined, np.nan, below)


def welch_t(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Welch's t of mean(a) − mean(b) over the last axis; NaN where neither group varies."""
    (mean_a, var_a, _), (mean_b, var_b, _) = moments(a), moments(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (mean_a - mean_b) / np.sqrt(var_a + var_b)


def mean_interval(values: np.ndarray, level: float) -> Interval:
    """Student's interval of the mean of each row of ``values``."""
    mean, variance, df = moments(values)
    return t_interval(mean, [variance], [df], level)


def log_ratio(a: np.ndarray, b: np.ndarray, level: float) -> Interval:
    """The interval of log(mean(a) / mean(b)) for positive values (delta method: each mean's
    relative variance, Welch–Satterthwaite's degrees of freedom)."""
    (mean_a, var_a, df_a), (mean_b, var_b, df_b) = moments(a), moments(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return t_interval(np.log(mean_a / mean_b), [var_a / mean_a ** 2, var_b / mean_b ** 2],
                          [df_a, df_b], level)


def trend(groups: list[np.ndarray], level: float) -> Interval:
    """The least-squares slope of the setting means over their order (0, 1, ..., k − 1):
    Σ c_j mean_j / Σ c_j² with c_j = j − (k − 1)/2, the change of the mean per step along the
    settings; for two settings, the difference of their means."""
    weights = np.arange(len(groups)) - (len(groups) - 1) / 2
    weights = weights / (weights ** 2).sum()
    parts = [moments(g) for g in groups]
    return t_interval(sum(w * mean for w, (mean, _, _) in zip(weights, parts)),
                      [w ** 2 * var for w, (_, var, _) in zip(weights, parts)],
                      [df for _, _, df in parts], level)


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


def fisher(r: np.ndarray, n: int, level: float) -> Interval:
    """Fisher's z interval of a Spearman correlation ``r`` from ``n`` effective pairs (module
    docstring); undefined for n <= 3."""
    r = np.asarray(r, dtype=float)
    if n <= 3:
        return Interval(r, np.nan * r, np.nan * r, level)
    z = np.arctanh(np.clip(r, -1 + 1e-12, 1 - 1e-12))
    half = stats.norm.ppf(0.5 + level / 2) * np.sqrt((1 + r ** 2 / 2) / (n - 3))
    return Interval(r, np.tanh(z - half), np.tanh(z + half), level)


def within_spearman(x: list[np.ndarray], y: list[np.ndarray], level: float) -> Interval:
    """The within-setting rank correlation of x and y: each value minus its setting's mean,
    then Spearman's ρ over every model; its Fisher interval counts N − G + 1 effective pairs
    for N models in G settings (a partial correlation given the G setting means). ``x`` and
    ``y``: one (B, n_g) array per setting."""
    def centred(groups):
        return np.concatenate([g - g.mean(axis=-1, keepdims=True) for g in groups], axis=-1)

    total = sum(g.shape[-1] for g in x)
    return fisher(spearman_rows(centred(x), centred(y)), total - len(x) + 1, level)


def one_way(groups: list[np.ndarray]) -> tuple:
    """One-way analysis of variance of k >= 2 settings ((B, n_i) each): MS_between,
    MS_within, their degrees of freedom and the number of models N."""
    sizes = np.array([g.shape[-1] for g in groups], dtype=float)
    total, k = sizes.sum(), len(groups)
    means = np.stack([g.mean(axis=-1) for g in groups], axis=-1)
    grand = (means * sizes).sum(axis=-1) / total
    within = sum(((g - g.mean(axis=-1, keepdims=True)) ** 2).sum(axis=-1) for g in groups)
    between = (sizes * (means - grand[..., None]) ** 2).sum(axis=-1)
    return between / (k - 1), within / (total - k), k - 1, int(total - k), int(total)


#: Bisection steps of ``noncentrality_interval``: the bounds to ~1e-12 of their bracket.
BISECTIONS = 48


def noncentrality_interval(ratio, df1: int, df2: int, level: float) -> tuple:
    """The central ``level`` interval of the noncentrality λ of an F(df1, df2, λ) ratio observed
    as ``ratio`` (any shape): the λ at which the observed ratio is the upper and the lower
    (1 − level)/2 quantile, 0 where even λ = 0 puts it beyond (the test inversion; the F's
    distribution function falls as λ grows). An infinite or NaN ratio is its own bounds."""
    ratio = np.asarray(ratio, dtype=float)
    observed = np.where(np.isfinite(ratio), ratio, 0.0)
    tail = (1 - level) / 2
    at_zero = stats.f.cdf(observed, df1, df2)
    bounds = []
    for wanted in (1 - tail, tail):
        low, high = np.zeros_like(observed), 2.0 * df1 * observed + 50.0
        short = stats.ncf.cdf(observed, df1, df2, high) > wanted    # λ = high not yet enough
        while short.any():
            high = np.where(short, 2 * high, high)
            short = stats.ncf.cdf(observed, df1, df2, high) > wanted
        for _ in range(BISECTIONS):
            middle = (low + high) / 2
            above = stats.ncf.cdf(observed, df1, df2, middle) > wanted
            low, high = np.where(above, middle, low), np.where(above, high, middle)
        bound = np.where(at_zero <= wanted, 0.0, (low + high) / 2)
        bounds.append(np.where(np.isfinite(ratio), bound, ratio))
    return tuple(bounds)


def seed_share(groups: list[np.ndarray], level: float) -> Interval:
    """The seeds' share of a score's variance over the settings of one model kind, σ² / (σ² +
    S²), S² the variance of the settings' means over the grid (each weighted by its share of the
    models): 1 / (1 + λ / N) with its exact noncentral F interval (module docstring). The
    estimate is the method of moments' λ = max(0, df_between · (F − 1)); NaN where every value
    is equal."""
    between, within, df_b, df_w, total = one_way(groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(within > 0, between / within, np.where(between > 0, np.inf, np.nan))
    low, high = noncentrality_interval(ratio, df_b, df_w, level)

    def share(noncentrality):
        return 1.0 / (1.0 + noncentrality / total)

    return Interval(share(np.maximum(0.0, df_b * (ratio - 1))), share(high), share(low), level)


#: Simulated pairs of settings behind ``power`` (its Monte-Carlo error is at most 0.004).
POWER_STUDIES = 16_000


@lru_cache
def power(seeds: int, level: float, effect: float = 1.0) -> float:
    """The chance that Welch's interval at ``level`` finds a difference of two settings' means
    of ``effect`` seed standard deviations (lies above 0), with ``seeds`` seeds each and normal
    scores of equal spread: simulated on ``POWER_STUDIES`` pairs from a fixed generator seed,
    since Welch's estimated degrees of freedom make it lower than the pooled t test's."""
    values = np.random.default_rng(0).standard_normal((2, POWER_STUDIES, seeds))
    return float(np.mean(welch(values[0] + effect, values[1], level).above(0)))


@lru_cache
def seeds_for(level: float, effect: float = 1.0, wanted: float = 0.8) -> int:
    """The fewest seeds per setting at which ``power`` reaches ``wanted``."""
    seeds = 2
    while power(seeds, level, effect) < wanted:
        seeds += 1
    return seeds
