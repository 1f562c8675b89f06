"""Each setting's matched side effects with bootstrap intervals over its seeds and faces.

A *setting* is what a study's seeds share (a model kind at one hyperparameter value; see
``study.navigation.models``). For each of its models (seeds) and each edit (attribute, mode)
the point value is the side effects at the matched target change
(``disentangle.navigation.edits.matched``); the setting's value is the mean over its seeds.
The interval is ``disentangle.navigation.uncertainty``'s two-level bootstrap: faces are drawn
once per model and resample and shared by all of that model's edits, so an average over
attributes, or the difference between the plain and the conditional edit, is resampled as one
statistic (paired), not as independent pieces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disentangle.navigation.edits import matched
from analysis.statistics import percentile_interval
from disentangle.navigation.uncertainty import face_weights, over_seeds


@dataclass
class SettingEdits:
    """One setting's models and, per edit (attribute, mode), each seed's matched side
    effects: ``points`` (M,) and ``resamples`` (M, B) over faces."""

    name: str
    models: list  # disentangle.navigation.model_study.ModelResult
    points: dict[tuple[str, str], np.ndarray]
    resamples: dict[tuple[str, str], np.ndarray]

    @property
    def seeds(self) -> int:
        return len(self.models)

    def reached(self, attribute: str, mode: str = "unconditional") -> bool:
        """Whether every seed's edit reaches the matched change (on all its faces)."""
        key = (attribute, mode)
        return key in self.points and bool(np.isfinite(self.points[key]).all())


def group_settings(result) -> dict[str, list]:
    """The study's models by setting, in the order they came."""
    groups: dict[str, list] = {}
    for model in result.models:
        groups.setdefault(model.setting, []).append(model)
    return groups


def setting_edits(result) -> list[SettingEdits]:
    """Every setting's points and face resamples (``result.settings.resamples`` each, drawn
    with ``result.settings.seed``)."""
    random_state = np.random.RandomState(result.settings.seed)
    delta = result.plan.target_change
    out = []
    for name, models in group_settings(result).items():
        points, resamples = {}, {}
        for model in models:
            faces = next(iter(model.curves.values())).target.shape[0]
            weights = face_weights(faces, result.settings.resamples, random_state)
            for key, curves in model.curves.items():
                points.setdefault(key, []).append(
                    matched(curves.target.mean(axis=0), curves.side.mean(axis=0), delta))
                resamples.setdefault(key, []).append(
                    matched(weights @ curves.target, weights @ curves.side, delta))
        out.append(SettingEdits(name, models,
                                {k: np.asarray(v, dtype=np.float64) for k, v in points.items()},
                                {k: np.stack(v) for k, v in resamples.items()}))
    return out


def estimate(edits: SettingEdits, attributes: list[str], mode: str, confidence: float,
             random_state: np.random.RandomState, minus: str | None = None
             ) -> tuple[float, float, float]:
    """(point, low, high) of the setting's mean over ``attributes`` of the matched side
    effects of ``mode`` edits, or of their difference from ``minus`` edits (paired)."""
    def per_seed(table):
        return np.mean([table[(a, mode)] - (table[(a, minus)] if minus else 0)
                        for a in attributes], axis=0)

    point = float(per_seed(edits.points).mean())
    resampled = over_seeds(list(per_seed(edits.resamples)), random_state)
    low, high = percentile_interval(resampled, confidence)
    return point, low, high
