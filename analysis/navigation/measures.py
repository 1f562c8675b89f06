"""Each setting's matched side effects over its seeds, which models' reconstructions keep an
attribute, and the t intervals the navigation verdicts compare.

A *setting* is what a study's seeds share (a model kind at one hyperparameter value; see
``study.navigation.models``). For each of its models (seeds) and each edit (attribute, mode)
the value is the side effects at the matched target change over all of that model's faces
(``disentangle.navigation.edits.matched``); the seeds are the sample. Intervals are Student's t
over the seeds (``analysis.statistics``): the faces are the same for every model, so their
sampling is not a second level of the seeds' variation, and the seeds' spread already holds
whatever the faces add to a model's value. An average over attributes, or the difference
between the conditional and the plain edit, is taken per seed first (paired).

**The reconstruction gate.** Every edit is judged on decoded faces, so a model whose
reconstructions of the edited faces are not classified better than always guessing the
commoner true label (the lower end of Wilson's 95% interval of its reconstruction accuracy
above the commoner label's share) cannot show what its edits do to that attribute: its
setting is not compared on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.statistics import mean_interval, welch
from disentangle.navigation.edits import matched
from disentangle.navigation.validation import wilson_low


@dataclass
class SettingEdits:
    """One setting's models and, per edit (attribute, mode), each seed's matched side effects
    ``points`` (M,); ``kept``: the attributes whose reconstructions every seed keeps."""

    name: str
    models: list  # disentangle.navigation.model_study.ModelResult
    points: dict[tuple[str, str], np.ndarray]
    kept: set[str]

    @property
    def seeds(self) -> int:
        return len(self.models)

    def reached(self, attribute: str, mode: str = "unconditional") -> bool:
        """Whether every seed's edit reaches the matched change (on all its faces)."""
        key = (attribute, mode)
        return key in self.points and bool(np.isfinite(self.points[key]).all())

    def judged(self, attribute: str, mode: str = "unconditional") -> bool:
        """Reached by every seed, whose reconstructions keep the attribute."""
        return attribute in self.kept and self.reached(attribute, mode)

    def per_seed(self, attributes: list[str], mode: str, minus: str | None = None
                 ) -> np.ndarray:
        """(M,): each seed's mean over ``attributes`` of its ``mode`` edits' side effects, or
        of their difference from its ``minus`` edits."""
        return np.mean([self.points[(a, mode)] - (self.points[(a, minus)] if minus else 0)
                        for a in attributes], axis=0)


def keeps(model, attribute: str) -> bool:
    """The model's reconstructions of the edited faces are classified better than always
    guessing the commoner true label (module docstring)."""
    for row in model.summary:
        if row["attribute"] == attribute and "reconstruction_accuracy" in row:
            majority = max(row["label_share"], 1 - row["label_share"])
            return wilson_low(row["reconstruction_accuracy"], row["faces"]) > majority
    return False


def group_settings(result) -> dict[str, list]:
    """The study's models by setting, in the order they came."""
    groups: dict[str, list] = {}
    for model in result.models:
        groups.setdefault(model.setting, []).append(model)
    return groups


def setting_edits(result) -> list[SettingEdits]:
    """Every setting's per-seed matched side effects and the attributes it keeps."""
    delta = result.plan.target_change
    out = []
    for name, models in group_settings(result).items():
        points = {}
        for model in models:
            for key, curves in model.curves.items():
                points.setdefault(key, []).append(
                    matched(curves.target.mean(axis=0), curves.side.mean(axis=0), delta))
        kept = {a for a in result.attributes if all(keeps(m, a) for m in models)}
        out.append(SettingEdits(name, models,
                                {k: np.asarray(v, dtype=np.float64) for k, v in points.items()},
                                kept))
    return out


def estimate(values: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """(mean, low, high): Student's interval of the mean of per-seed ``values``."""
    interval = mean_interval(np.asarray(values, dtype=float)[None], confidence).take(0)
    return interval.estimate, interval.low, interval.high


def cleanest(values: dict[str, np.ndarray], confidence: float) -> tuple[str | None, list[str]]:
    """(the setting with the lowest mean side effects when Welch's interval of every other
    setting minus it lies above 0, else None; the settings not shown to be above it), from
    per-seed ``values``. The intervals are at Bonferroni's 1 − (1 − confidence)/k for k
    settings, so that no setting of k equal ones is called cleanest more than
    (1 − confidence)/2 of the time."""
    if len(values) < 2:
        return None, []
    best = min(values, key=lambda name: values[name].mean())
    level = 1 - (1 - confidence) / len(values)
    overlapping = [name for name, seeds in values.items() if name != best and not bool(
        welch(seeds[None], values[best][None], level).above(0)[0])]
    return (best if not overlapping else None), overlapping
