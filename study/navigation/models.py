"""The models a navigation study compares, each with its setting and seed.

``from_paths(paths)``: checkpoints named on the command line. A checkpoint of this project says
its kind, hyperparameter and seed, so its setting is the kind at that value (``β-VAE β=4``); a
checkpoint that does not (e.g. a public disentangling-vae model) is a setting of its own.

``from_sweep(sweep_dir)``: **every finished model** of a sweep (``analysis.results``: one row
per model, its trial's newest checkpoint folder holding the model's own weights file,
``disentangle.training.model_file``), with the setting and seed the sweep wrote into the trial's
config. Every seed is studied, not the best or median one, because the verdicts need the spread
over seeds; models that errored, diverged or did not finish, or whose weights file is missing,
are left out and listed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from analysis.results import load_results
from disentangle.errors import UserError
from disentangle.models import load_model
from disentangle.navigation.settings import DATASETS
from disentangle.training import model_file
from disentangle.training.config import (
    SETTINGS,
    member_name,
    setting_label,
    training_keys,
    validate_model,
)


@dataclass
class StudyModel:
    name: str
    path: str
    model: object  # a loaded disentangle.models.Autoencoder
    setting: str   # what the seeds of one setting share, e.g. "β-VAE β=4"
    seed: int | None


@dataclass
class SweepModels:
    """A sweep's finished models, its dataset and the models left out (one line each)."""

    models: list[StudyModel]
    dataset: str
    root: str | None
    left_out: list[str] = field(default_factory=list)


def identity(model) -> dict | None:
    """The checkpoint's model keys (kind, its hyperparameter, seed), when it names a
    registered kind."""
    info = getattr(model, "info", {}) or {}
    hyper = {**info.get("hyperparameters", {}), "model": info.get("model")}
    try:
        return validate_model({key: value for key, value in hyper.items()
                               if key in training_keys() and key not in SETTINGS})
    except UserError:
        return None


def describe(model) -> str:
    """"β-VAE β=4, 32 latents, 5,000 steps" from a loaded model's info."""
    info = getattr(model, "info", {}) or {}
    found = identity(model)
    what = setting_label(found) if found else str(info.get("model", "model"))
    steps = info.get("step")
    trained = f", {steps:,} steps" if isinstance(steps, int) and steps else ""
    return f"{what}, {model.latent_dim} latents{trained}"


def unique_names(paths, models) -> list[str]:
    """Short unique names: the file's stem (the folder's name for a result folder); where
    stems repeat (every model file of a sweep sits in a checkpoint folder), the model's kind,
    hyperparameter and seed; else the parent folder's name and the stem; else the whole path."""
    paths = [Path(p) for p in paths]
    stems = [p.name if p.is_dir() else p.stem for p in paths]
    candidates = [stems]
    identities = [identity(m) for m in models]
    if all(identities):
        candidates.append([member_name(found) for found in identities])
    candidates.append([f"{p.parent.name}/{stem}" for p, stem in zip(paths, stems)])
    for names in candidates:
        if len(set(names)) == len(names):
            return names
    return [str(p) for p in paths]


def from_paths(paths) -> list[StudyModel]:
    """The checkpoints ``paths`` (ours, imported, or disentangling-vae result folders)."""
    if not paths:
        raise UserError("no models given: pass --models CKPT [CKPT ...] or --sweep DIR")
    models = [load_model(path) for path in paths]
    studied = []
    for name, path, model in zip(unique_names(paths, models), paths, models):
        found = identity(model)
        studied.append(StudyModel(name, str(path), model,
                                  setting_label(found) if found else name,
                                  found["seed"] if found else None))
    return studied


def sweep_dataset(trials) -> tuple[str, str | None]:
    """The one dataset (name, CelebA folder) that the sweep's trials trained on."""
    found = set()
    for config in trials["config"]:
        config = json.loads(config)
        found.add((config.get("dataset"), config.get("dataset_options/root")))
    if len(found) != 1:
        raise UserError(f"the sweep trained on {len(found)} datasets "
                        f"({', '.join(sorted(str(d) for d, _ in found))}): give one sweep")
    dataset, root = found.pop()
    if dataset not in DATASETS:
        raise UserError(f"the sweep trained on {dataset}, but the navigation study edits faces: "
                        f"give a sweep of the faces or celeba preset")
    return dataset, root


def from_sweep(sweep_dir) -> SweepModels:
    """Every finished model of the sweep at ``sweep_dir`` (see the module docstring)."""
    trials = load_results(sweep_dir).trials
    dataset, root = sweep_dataset(trials)
    models, left_out = [], []
    names = trials["member"].tolist()
    for row in trials.itertuples():
        name = row.member if names.count(row.member) == 1 else f"{row.tune_trial}/{row.member}"
        path = model_file(row.checkpoint, row.member) if row.checkpoint else None
        if row.status != "finished":
            left_out.append(f"{name}: {row.status}")
        elif path is None or not path.is_file():
            left_out.append(f"{name}: no model file in its newest checkpoint "
                            f"({row.checkpoint or 'none'})")
        else:
            seed = None if math.isnan(row.seed) else int(row.seed)
            models.append(StudyModel(name, str(path), load_model(path), row.setting, seed))
    if not models:
        raise UserError(f"no finished model with a model file in {sweep_dir} ("
                        f"{'; '.join(left_out) or 'no models'}): let the sweep finish, or "
                        f"resume it with `vae-study sweep`")
    return SweepModels(models, dataset, root, left_out)
