"""Locatello et al.'s decision rules on arrays, as ``analysis.verdicts.rules`` decides the other
claims': the same function decides a sweep's claim (one study) and thousands of simulated
studies at once (``analysis.calibration``)."""

from __future__ import annotations

import numpy as np

from analysis import statistics
from analysis.locatello.statistics import share_intervals, transfer
from analysis.statistics import Interval
from analysis.verdicts.rules import Decision, level, stack


def seed_shares(kinds: dict[str, list[np.ndarray]], threshold: float, alpha: float) -> Decision:
    """Every kind's seeds hold at least ``threshold`` of its score's variance: the exact
    noncentral F interval of each kind's seed share; confirmed when all lie above, contradicted
    when all lie below (both intersection–union tests: no correction)."""
    intervals = {name: statistics.seed_share(groups, level(alpha, 1))
                 for name, groups in kinds.items()}
    return Decision(stack(i.above(threshold) for i in intervals.values()).all(axis=0),
                    stack(i.below(threshold) for i in intervals.values()).all(axis=0),
                    intervals)


def objective_below(objectives: list[list[np.ndarray]], metrics: list[str], threshold: float,
                    alpha: float) -> Decision:
    """Every metric's objective share of the variance lies below ``threshold``: noncentral F
    intervals of the nested shares (settings (B, n, metrics)); confirmed when every
    metric's lies below (intersection–union), contradicted when some metric's lies above
    (Bonferroni over the metrics)."""
    c = len(metrics)
    share = share_intervals(objectives, level(alpha, c), components=("objective",))
    objective = share["objective"]
    intervals = {metric: Interval(*(v[..., m] for v in (
        objective.estimate, objective.low, objective.high)), objective.level)
        for m, metric in enumerate(metrics)}
    return Decision(stack(i.below(threshold) for i in intervals.values()).all(axis=0),
                    stack(i.above(threshold) for i in intervals.values()).any(axis=0),
                    intervals, c)


def selection_pairs(selectors: list[str], targets: list[str]) -> list[tuple[str, str]]:
    """(selector, target) pairs, a score never selecting for itself."""
    return [(s, t) for s in selectors for t in targets if s != t]


def no_reliable_selection(kinds: list[np.ndarray], signs: list[int], names: list[str],
                          selectors: list[str], targets: list[str], margin: float,
                          alpha: float) -> Decision:
    """No selection score reliably picks settings that beat random ones on the other metrics.

    ``kinds``: one (B, settings, seeds, scores) array per model kind, the scores ``names``
    with their ``signs``. P(s→t) is ``transfer``'s probability, one value per kind; its
    interval is Student's over the kinds (each kind an independent selection experiment).
    s selects for t when the interval lies above 0.5 (chance); it fails to when it lies below
    0.5 + ``margin``. Confirmed when every selector fails for some other target, contradicted
    when some selector selects for every other target; Bonferroni over max(selectors,
    targets), the larger union either call takes.
    """
    columns = [names.index(t) for t in targets]
    per_kind = np.stack([transfer(kind, np.asarray(signs), columns) for kind in kinds], -1)
    c = max(len(selectors), len(targets))
    intervals = {}
    for s, t in selection_pairs(selectors, targets):
        values = per_kind[:, names.index(s), targets.index(t)]
        intervals[f"{s} → {t}"] = statistics.mean_interval(values, level(alpha, c))
    fails = stack(stack(intervals[f"{s} → {t}"].below(0.5 + margin)
                        for t in targets if t != s).any(axis=0) for s in selectors).all(axis=0)
    selects = stack(stack(intervals[f"{s} → {t}"].above(0.5)
                          for t in targets if t != s).all(axis=0) for s in selectors).any(axis=0)
    return Decision(fails, selects, intervals, c)
