"""The navigation study over several models: ``run_study(model_paths, settings)``.

For the data (``--dataset faces``: synthetic faces rendered now, labelled by the generator;
``--dataset celeba``: a CelebA folder with its labels) it takes or trains the attribute
classifier (on the synthetic faces: faces whose attributes are independent, so it cannot read
one attribute off a correlated one; validated on held-out faces of the same kind), then for
each model:

1. encodes ``num_labelled`` labelled images (attributes correlated as in CelebA) to their
   encoder means and fits every selected attribute's boundary (``boundaries.fit_boundary``);
2. edits ``num_faces`` other faces along each boundary (unconditional) and along the boundary
   with the other selected attributes projected out (conditional), decodes and classifies
   (``edits.navigate``, ``edits.edit_measures``);
3. keeps one strip per attribute and mode (one face, the same for every model) for the figures.

Without labelled data (``--dataset celeba`` and no CelebA folder, e.g. for the public CelebA
checkpoints) no boundary can be fitted; the study then decodes samples from the prior,
traverses the most used latent dimensions and reconstructs a reference image grid.
The figures and the report are drawn by ``analysis.navigation`` from the returned
``StudyResult``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from disentangle.errors import UserError
from disentangle.navigation.boundaries import (
    Boundary, axis_alignment, conditional_direction, cosine_matrix, fit_boundary)
from disentangle.navigation.edits import check_steps, decode, edit_measures, navigate
from disentangle.navigation.settings import DATASETS, DEFAULT_ATTRIBUTES, SCORES, Settings

#: An attribute's changes count as side effects only when the classifier tells it apart.
MIN_SCORED_AUC = 0.75
TRAVERSAL_VALUES = np.linspace(-3.0, 3.0, 7)
TRAVERSAL_DIMS = 8


@dataclass
class ModelResult:
    """What the study found for one model."""

    name: str
    path: str
    description: str
    boundaries: dict[str, Boundary] = field(default_factory=dict)
    conditional: dict[str, np.ndarray] = field(default_factory=dict)
    steps: list[dict] = field(default_factory=list)  # per attribute, mode and step
    summary: list[dict] = field(default_factory=list)  # per attribute and mode
    cosine: np.ndarray | None = None
    strips: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # (S, C, H, W)
    samples: np.ndarray | None = None  # decoded from the prior
    traversals: np.ndarray | None = None  # (dims * values, C, H, W)
    traversal_dims: list[int] = field(default_factory=list)
    reconstructions: np.ndarray | None = None


@dataclass
class StudyResult:
    settings: Settings
    models: list[ModelResult]
    attributes: list[str]
    steps: list[float]
    labelled: bool  # whether boundaries were fitted (labelled data available)
    classifier: object = None  # navigation.classifier.Classifier
    scored: list[str] = field(default_factory=list)
    held: dict[str, list[str]] = field(default_factory=dict)  # attribute -> held fixed
    strip_faces: dict[str, np.ndarray] = field(default_factory=dict)  # attribute -> (C, H, W)
    reference: np.ndarray | None = None
    data: str = ""
    notes: list[str] = field(default_factory=list)


def _log(settings: Settings, message: str) -> None:
    if settings.progress:
        print(message, flush=True)


def info_name(model) -> str:
    """"beta_vae_b4_s0" from a checkpoint's info (kind, beta or gamma, seed)."""
    info = getattr(model, "info", {}) or {}
    hyper = info.get("hyperparameters", {})
    kind = info.get("model", "model")
    name = kind
    for key, letter in (("beta", "b"), ("gamma", "g")):
        if key in hyper and {"beta_vae": "beta", "factor_vae": "gamma"}.get(kind) == key:
            name += f"_{letter}{hyper[key]:g}"
    return name + (f"_s{hyper['seed']}" if "seed" in hyper else "")


def model_names(paths, models=None) -> list[str]:
    """Short unique names: the file's stem (the folder's name for a result folder); where
    stems repeat (Tune's checkpoint_*/trainer.pt), the models' kind, beta/gamma and seed;
    else the parent folder's name and the stem; else the whole path."""
    paths = [Path(p) for p in paths]
    candidates = [[p.name if p.is_dir() else p.stem for p in paths]]
    if models is not None:
        candidates.append([info_name(m) for m in models])
    candidates.append([f"{p.parent.name}/{p.name if p.is_dir() else p.stem}" for p in paths])
    for names in candidates:
        if len(set(names)) == len(names):
            return names
    return [str(p) for p in paths]


def describe_model(model) -> str:
    """"beta_vae beta=4, 32 latents" from a loaded model's info."""
    info = getattr(model, "info", {}) or {}
    kind = info.get("model", "model")
    hyper = info.get("hyperparameters", {})
    setting = {"beta_vae": "beta", "factor_vae": "gamma"}.get(kind)
    value = f" {setting}={hyper[setting]:g}" if setting in hyper else ""
    steps = info.get("step")
    trained = f", {steps:,} steps" if isinstance(steps, int) and steps else ""
    return f"{kind}{value}, {model.latent_dim} latents{trained}"


def load_models(paths) -> list[tuple[str, str, object]]:
    """(name, path, model) of each checkpoint (``load_model``: ours or disentangling-vae)."""
    from disentangle.models import load_model

    if not paths:
        raise UserError("no models given: pass --models CKPT [CKPT ...]")
    models = [load_model(path) for path in paths]
    return list(zip(model_names(paths, models), map(str, paths), models))


def check_model_fits(name: str, model, shape: tuple[int, int, int]) -> None:
    channels, height, _ = shape
    if model.num_channels != channels or model.image_size != height:
        raise UserError(f"model {name} takes {model.num_channels}x{model.image_size}x"
                        f"{model.image_size} images but the {channels}x{height}x{height} "
                        f"faces are what this study edits: give models trained on faces")


def choose_preprocessing(settings: Settings, models) -> str:
    """--preprocessing, or for "auto" the one the models were trained with (the public
    CelebA checkpoints saw whole resized images), else crop148."""
    if settings.preprocessing != "auto":
        return settings.preprocessing
    described = [str(m.info.get("data", {}).get("preprocessing", "")) for *_, m in models]
    if described and all(d == "resize" or "whole image resized" in d for d in described):
        return "resize"
    return "crop148"


def labelled_sets(settings: Settings, preprocessing: str):
    """(labelled images for the boundaries, faces to edit, a function returning the
    classifier's (train, held-out) images, made only when a classifier must be trained), or
    None when ``--dataset celeba`` has no folder (no labels)."""
    from disentangle.navigation.data import celeba_faces, synthetic_faces

    seed, workers = settings.seed, settings.workers
    held_out = max(500, settings.classifier_images // 10)
    if settings.dataset == "faces":
        return (synthetic_faces(settings.num_labelled, seed + 103, "joint", workers),
                synthetic_faces(settings.num_faces, seed + 104, "joint", workers),
                lambda: (synthetic_faces(settings.classifier_images, seed + 101, "independent",
                                         workers),
                         synthetic_faces(held_out, seed + 102, "independent", workers)))
    if settings.root is None and not os.environ.get("CELEBA_ROOT"):
        return None
    return (celeba_faces(settings.root, "train", preprocessing, settings.num_labelled,
                         seed + 103),
            celeba_faces(settings.root, "test", preprocessing, settings.num_faces, seed + 104),
            lambda: (celeba_faces(settings.root, "train", preprocessing,
                                  settings.classifier_images, seed + 101),
                     celeba_faces(settings.root, "valid", preprocessing, held_out, seed + 102)))


def choose_attributes(settings: Settings, names, classifier=None) -> list[str]:
    """--attributes (each checked against ``names``), else the defaults the data has and the
    ``classifier`` tells apart."""
    if settings.attributes:
        unknown = [a for a in settings.attributes if a not in names]
        if unknown:
            raise UserError(f"unknown attribute(s) {', '.join(unknown)} for {settings.dataset}: "
                            f"choose from {', '.join(names)}")
        return list(dict.fromkeys(settings.attributes))
    chosen = [a for a in DEFAULT_ATTRIBUTES if a in names
              and (classifier is None or classifier.auc(a) >= MIN_SCORED_AUC)]
    if not chosen:
        raise UserError("none of the default attributes is present and recognised by the "
                        "classifier: name some with --attributes")
    return chosen


def check_before_rendering(settings: Settings) -> None:
    """For the synthetic faces, whose attributes and identity are known before any image is
    rendered: fail on a bad --attributes or --classifier at once."""
    from disentangle.navigation.classifier import load_classifier
    from disentangle.navigation.data import faces_identity

    identity = faces_identity()
    choose_attributes(settings, identity["attributes"])
    if settings.classifier is not None:
        load_classifier(settings.classifier, identity)


def check_settings(settings: Settings) -> None:
    if settings.dataset not in DATASETS:
        raise UserError(f"unknown dataset {settings.dataset!r} for navigation: choose "
                        f"{' or '.join(DATASETS)}")
    if settings.score not in SCORES:
        raise UserError(f"unknown --score {settings.score!r}: choose {' or '.join(SCORES)}")
    check_steps(settings.steps)
    for name in ("num_labelled", "num_faces", "classifier_steps", "classifier_images"):
        if getattr(settings, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1")
    if settings.classifier is not None and not Path(settings.classifier).is_file():
        raise UserError(f"--classifier {settings.classifier}: no such file; give a classifier "
                        f"written by `vae-study navigate` or leave it out to train one")
    if settings.reference is not None and not Path(settings.reference).is_file():
        raise UserError(f"--reference {settings.reference}: no such image file")


def run_study(model_paths, settings: Settings | None = None) -> StudyResult:
    """The whole study (see the module docstring)."""
    from disentangle.navigation.classifier import classifier_for

    settings = settings or Settings()
    check_settings(settings)
    models = load_models(model_paths)
    preprocessing = choose_preprocessing(settings, models)
    shape = (3, 64, 64)
    for name, _, model in models:
        check_model_fits(name, model, shape)
    if settings.dataset == "faces":
        check_before_rendering(settings)
    reference = None
    if settings.reference is not None:
        from disentangle.data.images import load_image_grid

        reference = load_image_grid(settings.reference, channels=3)
    sets = labelled_sets(settings, preprocessing)
    steps = [float(s) for s in check_steps(settings.steps)]
    if sets is None:
        if settings.attributes or settings.classifier:
            raise UserError("--attributes and --classifier need labelled images: pass --root "
                            "DIR with your CelebA folder (or use --dataset faces)")
        result = StudyResult(settings, [], [], steps, False, reference=reference,
                             data="no labelled images (CelebA folder not given)")
        result.notes.append("no CelebA folder (--root or $CELEBA_ROOT): boundaries need "
                            "labelled images, so only samples, traversals and "
                            "reconstructions were made")
        for name, path, model in models:
            result.models.append(unlabelled_model(name, path, model, reference, settings))
        return result

    labelled, faces, classifier_sets = sets
    classifier = classifier_for(labelled.identity, classifier_sets,
                                steps=settings.classifier_steps, path=settings.classifier,
                                progress=settings.progress)
    attributes = choose_attributes(settings, labelled.attribute_names, classifier)
    scored = [a for a in classifier.attribute_names
              if not math.isnan(classifier.auc(a)) and classifier.auc(a) >= MIN_SCORED_AUC]
    scored = list(dict.fromkeys(scored + attributes))
    result = StudyResult(settings, [], attributes, steps, True, classifier, scored,
                         reference=reference,
                         data=f"{labelled.name} ({labelled.source}, {labelled.preprocessing})")
    result.held = {a: [b for b in attributes if b != a] for a in attributes}

    labelled_scores = (classifier.probabilities(labelled.images(np.arange(len(labelled))))
                       if settings.score == "probability" else labelled.labels)
    face_images = faces.images(np.arange(len(faces)))
    face_probabilities = classifier.probabilities(face_images)
    for attribute in attributes:
        k = classifier.attribute_names.index(attribute)
        without = np.flatnonzero(face_probabilities[:, k] < 0.5)
        result.strip_faces[attribute] = face_images[without[0] if len(without) else 0]
    for name, path, model in models:
        _log(settings, f"navigating {name}")
        result.models.append(labelled_model(name, path, model, labelled, labelled_scores,
                                            faces, result, settings))
    return result


def encode(model, images: np.ndarray) -> np.ndarray:
    from disentangle.representation import representation_function

    return representation_function(model, device="cpu", precision="fp32")(images)


def labelled_model(name, path, model, labelled, labelled_scores, faces, result: StudyResult,
                   settings: Settings) -> ModelResult:
    """Boundaries, conditional directions, edits and strips of one model."""
    classifier = result.classifier
    out = ModelResult(name, path, describe_model(model))
    codes = encode(model, labelled.images(np.arange(len(labelled))))
    for attribute in result.attributes:
        column = (classifier.attribute_names.index(attribute) if settings.score == "probability"
                  else labelled.column(attribute))
        out.boundaries[attribute] = fit_boundary(codes, labelled_scores[:, column], attribute,
                                                 fraction=settings.fraction, seed=settings.seed)
    out.cosine = cosine_matrix([out.boundaries[a].normal for a in result.attributes])
    face_codes = encode(model, faces.images(np.arange(len(faces))))
    strip_codes = encode(model, np.stack([result.strip_faces[a] for a in result.attributes]))
    scored = [classifier.attribute_names.index(a) for a in result.scored]
    for row, attribute in enumerate(result.attributes):
        target = classifier.attribute_names.index(attribute)
        boundary = out.boundaries[attribute]
        held = [out.boundaries[b].normal for b in result.held[attribute]]
        directions = {"unconditional": boundary.normal}
        if held:
            out.conditional[attribute] = conditional_direction(boundary.normal, held)
            directions["conditional"] = out.conditional[attribute]
        alignment, dim = axis_alignment(boundary.normal)
        for mode, direction in directions.items():
            images, probabilities = navigate(model, classifier, face_codes, direction,
                                             result.steps)
            rows, summary = edit_measures(images, probabilities, result.steps, target, scored,
                                          faces.labels[:, faces.column(attribute)])
            key = {"model": name, "attribute": attribute, "mode": mode}
            out.steps += [{**key, **r} for r in rows]
            out.summary.append({
                **key, **summary, "svm_validation_accuracy": boundary.validation_accuracy,
                "svm_remaining_accuracy": boundary.remaining_accuracy,
                "svm_per_side": boundary.num_per_side, "axis_alignment": alignment,
                "axis": dim, "direction_alignment": axis_alignment(direction)[0],
                "cosine_to_unconditional": float(direction @ boundary.normal),
                "classifier_accuracy": classifier.accuracy(attribute),
                "classifier_auc": classifier.auc(attribute)})
            moved = strip_codes[row][None] + np.asarray(result.steps)[:, None] * direction
            out.strips[(attribute, mode)] = decode(model, moved.astype(np.float32))
    return out


def unlabelled_model(name, path, model, reference, settings: Settings) -> ModelResult:
    """Samples from the prior, traversals of the most varied latent dimensions around the
    first reference image (or the prior mean), and reconstructions of the reference grid."""
    import torch

    from disentangle.traversal import traversal_codes

    out = ModelResult(name, path, describe_model(model))
    generator = torch.Generator().manual_seed(settings.seed)
    out.samples = decode(model, torch.randn(36, model.latent_dim, generator=generator).numpy())
    if reference is not None:
        codes = encode(model, reference)
        out.reconstructions = decode(model, codes)
        centre = codes[0]
        # The most used dimensions vary most across the reference images' means.
        order = np.argsort(-codes.std(axis=0))
    else:
        centre = np.zeros(model.latent_dim, np.float32)
        order = np.arange(model.latent_dim)
    out.traversal_dims = [int(d) for d in order[:TRAVERSAL_DIMS]]
    codes = traversal_codes(torch.as_tensor(centre, dtype=torch.float32), out.traversal_dims,
                            TRAVERSAL_VALUES)
    out.traversals = decode(model, codes.numpy())
    return out
