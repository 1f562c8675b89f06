"""Every check of a study's definition, before Ray starts: ``validate_study``.

Every mistake a user can make in a study (an unknown key, a negative beta, an unknown model or
dataset, a CelebA folder that is not there) is found here and reported as one ``UserError``
line, so a sweep either starts completely or not at all. Checking the variants resolves the
study's models (``study.trials.resolved_models``: every model's training config validated), so
the checks hand those models back rather than have them resolved a second time.
"""

from __future__ import annotations

import inspect
import numbers
from pathlib import Path

from disentangle.data import DATASETS, dataset_factory
from disentangle.errors import UserError
from disentangle.metrics.registry import select_metrics
from disentangle.metrics.settings import resolve_overrides
from disentangle.training import validate_config
from study.presets import PRESETS
from study.trials import Model, expand_variants, resolved_models, trainer_config

STACKS = ("none", "seeds", "kind", "all")
SEARCH_KINDS = ("uniform", "loguniform", "choice")
STUDY_KEYS = tuple(PRESETS["quick"])


def validate_study(definition: dict) -> list[Model]:
    """Raise ``UserError`` for the first thing in ``definition`` that cannot run; return its
    models (every variant x seed, validated)."""
    unknown = sorted(set(definition) - set(STUDY_KEYS) - {"preset"})
    if unknown:
        raise UserError(f"unknown study keys {unknown}: known keys are {', '.join(STUDY_KEYS)}")
    _validate_dataset(definition["dataset"])
    _validate_counts(definition)
    models = _validated_models(definition)
    _validate_stack(definition["stack"], [variant["model"] for variant in definition["variants"]])
    _validate_metrics(definition["metrics"])
    _validate_resources(definition["resources"])
    _validate_asha(definition["asha"])
    if definition["search"] is not None:
        _validate_search(definition)
    return models


def _validate_dataset(dataset: dict) -> None:
    name = dataset.get("name")
    options = {k: v for k, v in dataset.items() if k != "name"}
    if name == "celeba":
        root = options.get("root")
        if not root or not Path(str(root)).expanduser().is_dir():
            shown = "not set" if not root else f"{root} is not a folder"
            raise UserError(f"CelebA needs its image folder ({shown}): add "
                            "--set dataset.root=/path/to/celeba")
    if name not in DATASETS:
        raise UserError(f"unknown dataset {name!r}: choose one of {', '.join(sorted(DATASETS))} "
                        "(--set dataset.name=...)")
    factory = dataset_factory(name)
    accepted = inspect.signature(factory).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        wrong = sorted(set(options) - set(accepted))
        if wrong:
            raise UserError(f"dataset {name!r} has no option(s) {wrong}: it accepts "
                            f"{', '.join(accepted) or 'none'}")


def _positive_int(value, what: str, allow_none: bool = False) -> None:
    if allow_none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(f"{what} must be a positive whole number, got {value!r}")


def _validate_counts(definition: dict) -> None:
    _positive_int(definition["epochs"], "epochs")
    _positive_int(definition["steps_per_epoch"], "steps_per_epoch", allow_none=True)
    _positive_int(definition.get("log_every", 1), "log_every")
    _positive_int(definition["checkpoints"].get("keep"), "checkpoints.keep")
    failures = definition["max_failures"]
    if isinstance(failures, bool) or not isinstance(failures, int) or failures < -1:
        raise UserError(f"max_failures must be a whole number >= 0 (-1 = retry forever), "
                        f"got {failures!r}")
    seeds = definition["seeds"]
    if (not isinstance(seeds, list) or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)):
        raise UserError(f"seeds must be a non-empty list of whole numbers >= 0, got {seeds!r}")
    images = definition["images"]
    if not isinstance(images.get("every"), int) or images["every"] < 0:
        raise UserError(f"images.every must be a whole number >= 0 (0 = no images), "
                        f"got {images.get('every')!r}")
    _positive_int(images.get("count"), "images.count")
    _positive_int(images.get("traversal_steps"), "images.traversal_steps")


def _validated_models(definition: dict) -> list[Model]:
    """The study's models, every one's training config validated (``resolved_models``), once
    the variants are a list of models."""
    variants = definition["variants"]
    if not isinstance(variants, list) or not variants:
        raise UserError("variants must be a non-empty list such as [{\"model\": \"vae\"}]")
    for variant in variants:
        if not isinstance(variant, dict) or "model" not in variant:
            raise UserError(f"each variant needs a model, got {variant!r}")
    return resolved_models(definition)


def _validate_stack(stack, models: list[str]) -> None:
    """``stack`` is one of ``STACKS``, or groups of model kinds: a list of lists that names
    every kind of the study's variants exactly once."""
    if isinstance(stack, list):
        named = [kind for group in stack if isinstance(group, list) for kind in group]
        if (not stack or not all(isinstance(group, list) and group for group in stack)
                or sorted(named) != sorted(set(models))):
            raise UserError(f"stack = {stack!r} must list every model kind of the variants "
                            f"({', '.join(dict.fromkeys(models))}) exactly once, in non-empty "
                            f"groups, e.g. [[\"vae\", \"beta_vae\"], [\"factor_vae\"]]")
    elif stack not in STACKS:
        raise UserError(f"stack = {stack!r} is not allowed: choose one of {', '.join(STACKS)}, "
                        f"or groups of model kinds such as [[\"vae\", \"beta_vae\"], "
                        f"[\"factor_vae\"]]")


def _validate_metrics(metrics: dict) -> None:
    if not isinstance(metrics.get("enabled"), bool):
        raise UserError("metrics.enabled must be true or false")
    every = metrics.get("paper_every")
    if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 0):
        raise UserError(f"metrics.paper_every must be a whole number >= 0 (0 = only after the "
                        f"last epoch) or null (never), got {every!r}")
    for preset in ("fast", "paper"):
        overrides = metrics.get(preset)
        if not isinstance(overrides, dict):
            raise UserError(f"metrics.{preset} must be a dict of metric settings, e.g. "
                            "{\"factor_vae_num_train\": 100}")
        resolve_overrides(preset, overrides)
        names = metrics["sets"].get(preset)
        if names is not None:
            if not isinstance(names, list) or not names:
                raise UserError(f"metrics.sets.{preset} must be null (the preset's default set) "
                                f"or a list of metrics, e.g. [\"beta_vae\", \"factor_vae\"]")
            select_metrics(preset, names, posterior=True)


def _validate_resources(resources: dict) -> None:
    cpus, gpus = resources.get("cpus_per_trial"), resources.get("gpus_per_trial")
    if not isinstance(cpus, numbers.Real) or cpus <= 0:
        raise UserError(f"cpus per trial must be a number > 0, got {cpus!r}")
    if not isinstance(gpus, numbers.Real) or gpus < 0:
        raise UserError(f"gpus per trial must be a number >= 0 (fractions share a GPU), "
                        f"got {gpus!r}")
    if gpus > 1 and gpus != int(gpus):
        raise UserError(f"gpus per trial above 1 must be whole, got {gpus}")
    _positive_int(resources.get("max_concurrent_trials"), "resources.max_concurrent_trials",
                  allow_none=True)


def _validate_asha(asha: dict) -> None:
    if not isinstance(asha.get("enabled"), bool):
        raise UserError("asha.enabled must be true or false")
    if asha.get("mode") not in ("min", "max"):
        raise UserError(f"asha.mode must be min or max, got {asha.get('mode')!r}")
    _positive_int(asha.get("grace_period"), "asha.grace_period")
    if not isinstance(asha.get("reduction_factor"), numbers.Real) or asha["reduction_factor"] <= 1:
        raise UserError("asha.reduction_factor must be a number > 1")


def _validate_search(definition: dict) -> None:
    search = definition["search"]
    if search.get("algorithm") != "optuna":
        raise UserError(f"search.algorithm must be optuna (or search=null for a grid), "
                        f"got {search.get('algorithm')!r}")
    if len(expand_variants(definition["variants"])) != 1:
        raise UserError("an Optuna search tunes one model: give exactly one variant without "
                        "lists, e.g. --set 'variants=[{\"model\": \"factor_vae\"}]'")
    if definition["asha"]["enabled"]:
        raise UserError("use ASHA with the grid search only (asha.enabled=false with Optuna)")
    _positive_int(search.get("num_samples"), "search.num_samples")
    objectives = search.get("objectives")
    if (not isinstance(objectives, list) or not 1 <= len(objectives) <= 2
            or not all(isinstance(o, list) and len(o) == 2 and o[1] in ("min", "max")
                       for o in objectives)):
        raise UserError("search.objectives must be one or two [metric, min|max] pairs, e.g. "
                        "[[\"reconstruction\", \"min\"], [\"factor_vae_score\", \"max\"]]")
    space = search.get("space")
    if not isinstance(space, dict) or not space:
        raise UserError("search.space must map settings to [kind, ...], e.g. "
                        "{\"gamma\": [\"loguniform\", 5, 200]}")
    for key, spec in space.items():
        if not isinstance(spec, list) or not spec or spec[0] not in SEARCH_KINDS:
            raise UserError(f"search.space.{key} must be [kind, ...] with kind one of "
                            f"{', '.join(SEARCH_KINDS)}, got {spec!r}")
        if spec[0] != "choice" and (len(spec) != 3 or not 0 <= spec[1] < spec[2]
                                    or (spec[0] == "loguniform" and spec[1] <= 0)):
            raise UserError(f"search.space.{key}: {spec[0]} needs 0 <= low < high "
                            f"(low > 0 for loguniform), got {spec!r}")
    variant = expand_variants(definition["variants"])[0]
    sample = {key: (spec[1] if spec[0] == "choice" else spec[2]) for key, spec in space.items()}
    validate_config(trainer_config(definition, {**variant, **sample}, definition["seeds"][0]))
