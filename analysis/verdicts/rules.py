"""Each verdict's decision rule on arrays: the same function decides a sweep's claim (one
study) and thousands of simulated studies at once (``analysis.calibration``).

Settings' values come as (B, n) arrays: B studies, n seeds. A rule returns its intervals and,
per study, whether they confirm or contradict the claim. Intervals are two-sided at
1 − α/c (Bonferroni over the c comparisons that could each make the call on their own), so
each wrong call, confirmed or contradicted, happens at most α/2 of the time in a study where
the claim sits exactly on its threshold. A call that needs every one of several intervals
(an intersection–union test) needs no correction for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis import statistics
from analysis.statistics import Interval


@dataclass
class Decision:
    """Per study (B,): confirmed, contradicted; and the named intervals behind them."""

    confirmed: np.ndarray
    contradicted: np.ndarray
    intervals: dict[str, Interval] = field(default_factory=dict)
    comparisons: int = 1


def level(alpha: float, comparisons: int) -> float:
    return 1 - alpha / max(1, comparisons)


def stack(flags) -> np.ndarray:
    return np.stack([np.asarray(f, dtype=bool) for f in flags])


def some_beat(reference: np.ndarray, candidates: dict[str, np.ndarray], alpha: float
              ) -> Decision:
    """Some candidate's mean lies above the reference's: Welch intervals of each candidate
    minus the reference; confirmed when some lies above 0, contradicted when all lie below."""
    c = len(candidates)
    intervals = {name: statistics.welch(values, reference, level(alpha, c))
                 for name, values in candidates.items()}
    return Decision(stack(i.above(0) for i in intervals.values()).any(axis=0),
                    stack(i.below(0) for i in intervals.values()).all(axis=0), intervals, c)


def interior_maximum(ordered: dict[str, np.ndarray], alpha: float) -> Decision:
    """The mean peaks inside the range of settings (given in order, ≥ 3): Welch intervals of
    each inner setting minus each end. Confirmed when some inner setting lies above both ends;
    contradicted when an end lies above every inner setting (the maximum is at an end).
    Bonferroni over max(inner settings, 2 ends)."""
    names = list(ordered)
    first, last, inner = names[0], names[-1], names[1:-1]
    c = max(len(inner), 2)
    intervals = {f"{name} − {end}": statistics.welch(ordered[name], ordered[end], level(alpha, c))
                 for name in inner for end in (first, last)}
    peaks = stack(intervals[f"{n} − {first}"].above(0) & intervals[f"{n} − {last}"].above(0)
                  for n in inner).any(axis=0)
    at_end = stack(stack(intervals[f"{n} − {end}"].below(0) for n in inner).all(axis=0)
                   for end in (first, last)).any(axis=0)
    return Decision(peaks, at_end, intervals, c)


def monotone(ordered: list[np.ndarray], sign: int, alpha: float) -> Decision:
    """The mean rises (``sign`` +1) or falls (−1) along the ordered settings: the slope of the
    setting means over their order (``statistics.trend``); confirmed when its interval lies on
    the claimed side of 0, contradicted when on the other."""
    slope = statistics.trend(ordered, level(alpha, 1))
    rises, falls = slope.above(0), slope.below(0)
    return Decision(rises if sign > 0 else falls, falls if sign > 0 else rises, {"slope": slope})


def kept_and_lost(reference: np.ndarray, kept: dict[str, np.ndarray],
                  lost: dict[str, np.ndarray], margin: float, alpha: float) -> Decision:
    """Every ``kept`` setting's mean within ``margin`` (relative) of the reference's and some
    ``lost`` setting's beyond it: intervals of mean / reference mean − 1 (``log_ratio``);
    confirmed when every kept one lies below the margin and some lost one above it,
    contradicted when some kept one lies above it or every lost one below it."""
    c = len(kept) + len(lost)
    intervals = {name: statistics.log_ratio(values, reference, level(alpha, c)).map(np.expm1)
                 for name, values in {**kept, **lost}.items()}
    near = stack(intervals[n].below(margin) for n in kept).all(axis=0)
    far = stack(intervals[n].above(margin) for n in kept).any(axis=0)
    loses = stack(intervals[n].above(margin) for n in lost).any(axis=0)
    keeps = stack(intervals[n].below(margin) for n in lost).all(axis=0)
    return Decision(near & loses, far | keeps, intervals, c)


def curve_gap(curve: list[np.ndarray], point: np.ndarray, level_: float
              ) -> tuple[Interval, np.ndarray]:
    """The mean score of ``point`` minus the curve's score at its mean reconstruction: the
    curve joins the ``curve`` settings' (mean reconstruction, mean score) in order of
    reconstruction, held flat beyond its ends. Settings are (B, n, 2): reconstruction, score.
    Its interval linearises the curve (delta method; each setting's 2×2 covariance of seeds)
    with Welch–Satterthwaite's degrees of freedom. Returns it and where the point lies: −1
    below the curve's reconstruction range, 0 inside it, +1 beyond it."""
    means = np.stack([c.mean(axis=1) for c in curve], axis=1)                  # (B, m, 2)
    order = np.argsort(means[..., 0], axis=1)
    recon = np.take_along_axis(means[..., 0], order, 1)
    score = np.take_along_axis(means[..., 1], order, 1)
    at = point.mean(axis=1)                                                     # (B, 2)
    right = np.clip((recon < at[:, :1]).sum(axis=1), 1, len(curve) - 1)
    rows = np.arange(len(at))
    r0, r1 = recon[rows, right - 1], recon[rows, right]
    s0, s1 = score[rows, right - 1], score[rows, right]
    side = np.where(at[:, 0] < recon[:, 0], -1, np.where(at[:, 0] > recon[:, -1], 1, 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(np.where(r1 > r0, (at[:, 0] - r0) / (r1 - r0), 0.0), 0.0, 1.0)
        slope = np.where((side == 0) & (r1 > r0), (s1 - s0) / (r1 - r0), 0.0)
    gap = at[:, 1] - (s0 + t * (s1 - s0))
    # gradient of the gap in each setting's (mean reconstruction, mean score)
    weights = [(-slope, np.ones_like(slope))]
    for position, values in enumerate(curve):
        rank = np.argmax(order == position, axis=1)
        share = np.where(rank == right - 1, 1 - t, 0.0) + np.where(rank == right, t, 0.0)
        weights.append((slope * share, -share))
    variances, dfs = [], []
    for (wr, ws), values in zip(weights, [point] + curve):
        covariance = np.einsum("bni,bnj->bij", values - values.mean(axis=1, keepdims=True),
                               values - values.mean(axis=1, keepdims=True))
        covariance /= values.shape[1] - 1
        g = np.stack([wr, ws], axis=-1)
        variances.append(np.einsum("bi,bij,bj->b", g, covariance, g) / values.shape[1])
        dfs.append(values.shape[1] - 1)
    return statistics.t_interval(gap, variances, dfs, level_), side


def better_tradeoff(curve: list[np.ndarray], points: dict[str, np.ndarray], alpha: float
                    ) -> Decision:
    """Some point scores above the curve at its reconstruction: ``curve_gap`` of each point
    (Bonferroni over the points). A point below the curve's reconstruction range can confirm
    (it reconstructs better than every curve setting) but not contradict; one beyond it can
    contradict (it reconstructs worse than every curve setting) but not confirm. Confirmed
    when some point's gap lies above 0, contradicted when every point's lies below 0."""
    c = len(points)
    found = {name: curve_gap(curve, values, level(alpha, c)) for name, values in points.items()}
    intervals = {name: gap for name, (gap, _) in found.items()}
    better = stack(gap.above(0) & (side <= 0) for gap, side in found.values()).any(axis=0)
    worse = stack(gap.below(0) & (side >= 0) for gap, side in found.values()).all(axis=0)
    return Decision(better, worse, intervals, c)


def tracks(x: list[np.ndarray], y: list[np.ndarray], alpha: float) -> Decision:
    """x and y rise together within settings: ``within_spearman`` above 0 confirms, below
    0 contradicts."""
    rho = statistics.within_spearman(x, y, level(alpha, 1))
    return Decision(rho.above(0), rho.below(0), {"rho": rho})


def not_lower(a: np.ndarray, b: np.ndarray, margin: float, alpha: float) -> Decision:
    """mean(a) is at most ``margin`` below mean(b): the studentized permutation test of the
    difference at −margin, one-sided at α/2 each way (confirmed above, contradicted below);
    Welch's interval of the difference is the evidence shown."""
    above, below = statistics.shift_test(a, b, -margin)
    return Decision(above <= alpha / 2, below <= alpha / 2,
                    {"difference": statistics.welch(a, b, level(alpha, 1))})
