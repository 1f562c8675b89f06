"""A study built once: a preset plus ``--set`` overrides, validated and resolved into its models
and trials before Ray starts.

``load_study(preset, overrides)`` (``vae-study sweep``) and ``read_study(folder)``
(``--resume``) build a frozen ``Study``: its definition checked once (``study.validation``),
every model resolved once, the models grouped into trials once (``study.trials``). Everything
after (``study.sweep``, ``study.local``) reads the ``Study`` and never validates or resolves
again; Tune's param dict is made from it only where Tune is called
(``study.sweep.param_space``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from disentangle.errors import UserError
from study.overrides import apply_assignment
from study.presets import DEFAULT_LOG_EVERY, PRESETS, get_preset
from study.trials import Model, trial_groups
from study.validation import validate_study

#: The study as run, in the experiment folder (``--resume`` reads it back).
STUDY_FILE = "study.json"


@dataclass(frozen=True)
class Study:
    """A validated study and what it resolves to. Nothing here is changed after it is built.

    ``definition``: the preset with the overrides applied (``preset`` included), exactly as
    ``study.json`` stores it. ``overrides``: the ``--set`` assignments made to the preset
    (none for a study read back from its folder, whose definition holds them). ``models``:
    every (variant, seed) with its training config and member entry. ``trials``: a grid
    study's trials, each its models' shared training settings and ``models``; none for an
    Optuna search, whose trials Optuna samples."""

    definition: dict
    overrides: tuple[str, ...]
    models: tuple[Model, ...]
    trials: tuple[dict, ...]

    @property
    def preset(self) -> str | None:
        return self.definition.get("preset")

    @property
    def search(self) -> dict | None:
        """The Optuna search (``search`` of the definition), or None for a grid study."""
        return self.definition["search"]

    @property
    def dataset_options(self) -> dict:
        return {k: v for k, v in self.definition["dataset"].items() if k != "name"}

    def trial_common(self) -> dict:
        """What every trial's config holds besides its models: the data, the epochs, the
        metrics, TensorBoard's loss interval and image panels."""
        definition = self.definition
        return {"dataset": definition["dataset"]["name"],
                "dataset_options": self.dataset_options,
                "epochs": definition["epochs"],
                "steps_per_epoch": definition["steps_per_epoch"],
                "log_every": definition.get("log_every", DEFAULT_LOG_EVERY),
                "metrics": definition["metrics"],
                "images": definition["images"]}

    def trial_configs(self) -> list[dict]:
        """Every trial's complete config, as a Tune sweep of this grid study resolves it."""
        common = self.trial_common()
        return [{**common, "group": index, **group} for index, group in enumerate(self.trials)]


def build_study(definition: dict, overrides: tuple[str, ...] = ()) -> Study:
    """The ``Study`` of ``definition``: ``UserError`` for the first thing that cannot run."""
    models = validate_study(definition)
    trials = trial_groups(models, definition["stack"]) if definition["search"] is None else []
    return Study(definition, tuple(overrides), tuple(models), tuple(trials))


def load_study(preset: str, overrides: list[str] = ()) -> Study:
    """Preset ``preset`` with every ``key=value`` of ``overrides`` applied, built."""
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r}: choose one of {', '.join(PRESETS)}")
    definition = get_preset(preset)
    definition["preset"] = preset
    for assignment in overrides:
        apply_assignment(definition, assignment)
    return build_study(definition, tuple(overrides))


def read_study(path: str | Path) -> Study:
    """The study stored with the experiment at ``path``, built."""
    file = Path(path) / STUDY_FILE
    if not file.is_file():
        raise UserError(f"{path} is not a sweep started by vae-study ({STUDY_FILE} missing): "
                        f"give the experiment folder, <storage>/<name>")
    return build_study(json.loads(file.read_text()))
