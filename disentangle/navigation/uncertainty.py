"""Bootstrap intervals over seeds and faces, and the rule that calls a winner.

A setting (a model kind at one hyperparameter value) is trained with several seeds, and each
model edits the same N faces. Its matched side effects vary with both, so the interval is a
two-level bootstrap, as for hierarchical data (Davison & Hinkley 1997, chapter 3): each
resample draws the setting's seeds with replacement and, for every drawn seed, its N faces with
replacement; the statistic is recomputed from those faces' mean edit curves (the matched
strength is found again in every resample) and averaged over the drawn seeds. The interval is
the percentile interval of the resamples. An edit that does not reach the matched change in a
resample counts as +inf there, so a setting that only sometimes reaches it gets an unbounded
interval and is never called better.

``winner(estimates)``: the setting with the lowest point estimate wins only when its whole
interval lies below every other compared setting's interval (the intervals separate); else
there is no winner.
"""

from __future__ import annotations

import numpy as np


def face_weights(num_faces: int, resamples: int, random_state: np.random.RandomState
                 ) -> np.ndarray:
    """(resamples, num_faces) weights of faces drawn with replacement (counts / num_faces):
    ``weights @ per_face`` is the resampled mean."""
    counts = random_state.multinomial(num_faces, np.full(num_faces, 1 / num_faces), resamples)
    return counts / num_faces


def over_seeds(per_seed: list[np.ndarray], random_state: np.random.RandomState) -> np.ndarray:
    """Hierarchical resamples of a setting from each seed's face resamples (each (B, ...)):
    per resample, the seeds are drawn with replacement, each draw takes one of its seed's face
    resamples (a different one when a seed is drawn twice), and the mean over the draws is
    the statistic. Returns (B, ...)."""
    stacked = np.stack(per_seed)  # (M, B, ...)
    seeds, resamples = stacked.shape[:2]
    drawn = random_state.randint(seeds, size=(resamples, seeds))
    which = np.stack([random_state.permutation(resamples) for _ in range(seeds)], axis=1)
    return stacked[drawn, which].mean(axis=1)


def winner(estimates: dict[str, tuple[float, float, float]]) -> tuple[str | None, list[str]]:
    """(the winner or None, the settings whose intervals overlap the best one's) among
    ``estimates``: name -> (point estimate, low, high); lower is better."""
    finite = {name: e for name, e in estimates.items() if np.isfinite(e[0])}
    if len(finite) < 2:
        return None, []
    best = min(finite, key=lambda name: finite[name][0])
    overlapping = [name for name, (_, low, _) in estimates.items()
                   if name != best and not estimates[best][2] < low]
    return (best if not overlapping else None), overlapping
