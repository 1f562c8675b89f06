"""The whole navigation study over several models: ``run_study(models, settings)``.

The data: ``--dataset faces`` renders synthetic faces now, labelled by their generator, with
attributes correlated as in CelebA (``disentangle.navigation.data.synthetic_faces``);
``--dataset celeba`` reads a CelebA folder with its labels (train split: the classifier and the
boundaries; valid split: the classifier's held-out check; test split: the faces to edit).

The attribute classifier is read (``--classifier``), taken from the cache, or trained now (on
the synthetic faces: faces whose attributes are independent, so it cannot read one attribute
off a correlated one), and validated on held-out images. Every model then goes through
``disentangle.navigation.model_study`` with one shared ``EditPlan``. The counts actually used
(labelled images, faces edited, classifier images) are recorded for the method text.

Without labelled data (``--dataset celeba`` and no CelebA folder, e.g. for the public CelebA
checkpoints) no boundary can be fitted: each model gets samples, traversals and reconstructions
of the reference grid instead. ``analysis.navigation.report.write_navigation`` turns the
returned ``StudyResult`` into figures, tables, verdicts and the report section.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from disentangle.data.images import load_image_grid
from disentangle.errors import UserError
from disentangle.navigation.classifier import classifier_for, load_classifier
from disentangle.navigation.data import celeba_faces, faces_identity, synthetic_faces
from disentangle.navigation.edits import check_strengths
from disentangle.navigation.model_study import (
    EditPlan,
    ModelResult,
    study_labelled,
    study_unlabelled,
)
from disentangle.navigation.settings import DEFAULT_ATTRIBUTES
from study.navigation.models import StudyModel, describe
from study.navigation.settings import Settings, check_settings

#: Below this many training images the report says the classifier cannot be expected to work.
MIN_CLASSIFIER_IMAGES = 1000
SHAPE = (3, 64, 64)


@dataclass
class StudyResult:
    settings: Settings
    models: list[ModelResult]
    labelled: bool
    plan: EditPlan | None = None
    classifier: object = None  # disentangle.navigation.classifier.Classifier
    strip_faces: dict[str, np.ndarray] = field(default_factory=dict)  # attribute -> (C, H, W)
    reference: np.ndarray | None = None
    data: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)

    @property
    def attributes(self) -> list[str]:
        return self.plan.attributes if self.plan else []


def log(settings: Settings, message: str) -> None:
    if settings.progress:
        print(message, flush=True)


def check_model_fits(studied: StudyModel) -> None:
    channels, height, _ = SHAPE
    model = studied.model
    if model.num_channels != channels or model.image_size != height:
        raise UserError(f"model {studied.name} takes {model.num_channels}x{model.image_size}x"
                        f"{model.image_size} images but the {channels}x{height}x{height} "
                        f"faces are what this study edits: give models trained on faces")


def choose_preprocessing(settings: Settings, models: list[StudyModel]) -> str:
    """--preprocessing, or for "auto" the one the models were trained with (the public
    CelebA checkpoints saw whole resized images), else crop148."""
    if settings.preprocessing != "auto":
        return settings.preprocessing
    described = [str(m.model.info.get("data", {}).get("preprocessing", "")) for m in models]
    if described and all(d == "resize" or "whole image resized" in d for d in described):
        return "resize"
    return "crop148"


def labelled_sets(settings: Settings, preprocessing: str):
    """(labelled images for the boundaries, faces to edit, a function returning the
    classifier's (train, held-out) images, what decides those), or None when ``--dataset
    celeba`` has no folder (no labels)."""
    seed, workers = settings.seed, settings.workers
    held_out = max(500, settings.classifier_images // 10)
    training = {"images": settings.classifier_images, "held_out": held_out, "seed": seed}
    if settings.dataset == "faces":
        return (synthetic_faces(settings.num_labelled, seed + 103, "joint", workers),
                synthetic_faces(settings.num_faces, seed + 104, "joint", workers),
                lambda: (synthetic_faces(settings.classifier_images, seed + 101, "independent",
                                         workers),
                         synthetic_faces(held_out, seed + 102, "independent", workers)),
                training)
    root = settings.root or os.environ.get("CELEBA_ROOT")
    if not root:
        return None
    return (celeba_faces(root, "train", preprocessing, settings.num_labelled, seed + 103),
            celeba_faces(root, "test", preprocessing, settings.num_faces, seed + 104),
            lambda: (celeba_faces(root, "train", preprocessing, settings.classifier_images,
                                  seed + 101),
                     celeba_faces(root, "valid", preprocessing, held_out, seed + 102)),
            {**training, "root": os.path.realpath(root)})


def choose_attributes(settings: Settings, names, classifier=None) -> list[str]:
    """--attributes (each checked against ``names``), else the defaults the data has and the
    ``classifier`` recognises (all the defaults the data has when it recognises none: the
    study still runs, and the report withholds the verdicts)."""
    if settings.attributes:
        unknown = [a for a in settings.attributes if a not in names]
        if unknown:
            raise UserError(f"unknown attribute(s) {', '.join(unknown)} for {settings.dataset}: "
                            f"choose from {', '.join(names)}")
        return list(dict.fromkeys(settings.attributes))
    present = [a for a in DEFAULT_ATTRIBUTES if a in names]
    if not present:
        raise UserError(f"none of the default attributes ({', '.join(DEFAULT_ATTRIBUTES)}) is "
                        f"in {settings.dataset}: name some with --attributes")
    recognised = [a for a in present if classifier is None or classifier.recognised(a)]
    return recognised or present


def check_before_rendering(settings: Settings) -> None:
    """For the synthetic faces, whose attributes and identity are known before any image is
    rendered: fail on a bad --attributes or --classifier at once."""
    found = faces_identity()
    choose_attributes(settings, found["attributes"])
    if settings.classifier is not None:
        load_classifier(settings.classifier, found)


def run_study(models: list[StudyModel], settings: Settings | None = None,
              left_out=()) -> StudyResult:
    """The whole study (see the module docstring); ``left_out`` lists models not studied
    (one line each, for the report)."""
    settings = settings or Settings()
    check_settings(settings)
    for studied in models:
        check_model_fits(studied)
    if settings.dataset == "faces":
        check_before_rendering(settings)
    reference = None
    if settings.reference is not None:
        reference = load_image_grid(settings.reference, channels=3)
    sets = labelled_sets(settings, choose_preprocessing(settings, models))
    if sets is None:
        if settings.attributes or settings.classifier:
            raise UserError("--attributes and --classifier need labelled images: pass --root "
                            "DIR with your CelebA folder (or use --dataset faces)")
        return unlabelled_study(models, settings, reference, list(left_out))
    result = labelled_study(models, settings, sets)
    result.reference, result.left_out = reference, list(left_out)
    return result


def unlabelled_study(models, settings: Settings, reference, left_out) -> StudyResult:
    result = StudyResult(settings, [], False, reference=reference, left_out=left_out,
                         data="no labelled images (CelebA folder not given)")
    result.notes.append("no CelebA folder (--root or $CELEBA_ROOT): boundaries need labelled "
                        "images, so only samples, traversals and reconstructions were made")
    for studied in models:
        log(settings, f"sampling and traversing {studied.name}")
        result.models.append(study_unlabelled(
            ModelResult(studied.name, studied.path, describe(studied.model), studied.setting,
                        studied.seed), studied.model, reference, settings.seed))
    return result


def labelled_study(models, settings: Settings, sets) -> StudyResult:
    """Classifier, edit plan, strip faces, then every model (module docstring)."""
    labelled, faces, classifier_sets, training = sets
    classifier = classifier_for(labelled.identity, classifier_sets,
                                steps=settings.classifier_steps, path=settings.classifier,
                                progress=settings.progress, training=training)
    attributes = choose_attributes(settings, labelled.attribute_names, classifier)
    plan = EditPlan(attributes, [a for a in classifier.attribute_names
                                 if classifier.recognised(a)],
                    check_strengths(settings.strengths), settings.target_change,
                    settings.fraction, settings.score == "labels", settings.seed)
    result = StudyResult(settings, [], True, plan, classifier,
                         data=f"{labelled.name} ({labelled.source}, {labelled.preprocessing})")
    result.counts = {"labelled": len(labelled), "faces": len(faces),
                     "classifier_train": int(classifier.validation.get("train_images", 0))}
    if result.counts["classifier_train"] < MIN_CLASSIFIER_IMAGES:
        result.notes.append(f"the classifier trained on {result.counts['classifier_train']:,} "
                            f"images, too few to expect it to recognise attributes "
                            f"({MIN_CLASSIFIER_IMAGES:,} or more are needed); only its held-out "
                            f"check decides whether an attribute is judged")
    scores = (labelled.labels if plan.by_labels
              else classifier.probabilities(labelled.images(np.arange(len(labelled)))))
    face_images = faces.images(np.arange(len(faces)))
    probabilities = classifier.probabilities(face_images)
    for attribute in attributes:
        without = np.flatnonzero(probabilities[:, classifier.attribute_names.index(attribute)]
                                 < 0.5)
        result.strip_faces[attribute] = face_images[without[0] if len(without) else 0]
    for studied in models:
        log(settings, f"navigating {studied.name}")
        result.models.append(study_labelled(
            ModelResult(studied.name, studied.path, describe(studied.model), studied.setting,
                        studied.seed),
            studied.model, classifier, labelled, scores, faces, result.strip_faces, plan))
    return result
