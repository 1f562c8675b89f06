"""One model in the navigation study.

With labelled images (``study_labelled``):

1. encode the labelled images to their encoder means and fit every edited attribute's boundary
   (``boundaries.fit_boundary``, InterfaceGAN);
2. edit the faces to edit along each boundary (``unconditional``) and along it with the other
   edited attributes' boundaries projected out (``conditional``, InterfaceGAN's conditional
   manipulation), at every strength of the plan, and keep the per-face curves
   (``edits.edit_curves``) and their summary at the matched target change
   (``edits.edit_summary``);
3. decode one strip per attribute and mode: the same face for every model, at 0, ½, 1, 1½ and 2
   times the model's matched strength (the grid's largest strength stands in for an edit that
   never reaches the matched change), so equal columns show equal changes of the target.

Without labels (``study_unlabelled``): samples from the prior, traversals of the most used
latent dimensions and reconstructions of a reference image grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from disentangle.navigation.boundaries import (
    Boundary,
    axis_alignment,
    conditional_direction,
    cosine_matrix,
    fit_boundary,
)
from disentangle.navigation.edits import EditCurves, decode, edit_curves, edit_summary
from disentangle.representation import representation_function
from disentangle.traversal import traversal_codes

MODES = ("unconditional", "conditional")
#: Strip columns, as multiples of the model's matched strength.
STRIP_MULTIPLES = (0.0, 0.5, 1.0, 1.5, 2.0)
TRAVERSAL_VALUES = np.linspace(-3.0, 3.0, 7)
TRAVERSAL_DIMS = 8
NUM_SAMPLES = 36


@dataclass
class EditPlan:
    """What every model's edits share."""

    attributes: list[str]   # edited
    scored: list[str]       # whose probability changes count as side effects
    strengths: np.ndarray   # increasing, from 0
    target_change: float    # the matched change of the target (edits.matched)
    fraction: float         # InterfaceGAN's confident share on each side
    by_labels: bool         # rank images for the SVM by their 0/1 labels, not probabilities
    seed: int

    def held(self, attribute: str) -> list[str]:
        """The attributes a conditional edit of ``attribute`` holds fixed."""
        return [other for other in self.attributes if other != attribute]


@dataclass
class ModelResult:
    """What the study found for one model (``setting``: what its seeds share)."""

    name: str
    path: str
    description: str
    setting: str
    seed: int | None = None
    boundaries: dict[str, Boundary] = field(default_factory=dict)
    conditional: dict[str, np.ndarray] = field(default_factory=dict)
    curves: dict[tuple[str, str], EditCurves] = field(default_factory=dict)
    summary: list[dict] = field(default_factory=list)  # per attribute and mode
    cosine: np.ndarray | None = None
    strips: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # (5, C, H, W)
    samples: np.ndarray | None = None
    traversals: np.ndarray | None = None  # (dims * values, C, H, W)
    traversal_dims: list[int] = field(default_factory=list)
    reconstructions: np.ndarray | None = None
    reconstruction_error: float = float("nan")  # mean squared error per pixel


def encode(model, images: np.ndarray) -> np.ndarray:
    return representation_function(model, device="cpu", precision="fp32")(images)


def fit_boundaries(result: ModelResult, model, labelled, scores: np.ndarray, classifier,
                   plan: EditPlan) -> None:
    """Every edited attribute's boundary from the labelled images ranked by ``scores``
    (classifier probabilities (N, K), or the labels with ``plan.by_labels``)."""
    codes = encode(model, labelled.images(np.arange(len(labelled))))
    for attribute in plan.attributes:
        column = (labelled.column(attribute) if plan.by_labels
                  else classifier.attribute_names.index(attribute))
        result.boundaries[attribute] = fit_boundary(codes, scores[:, column], attribute,
                                                    fraction=plan.fraction, seed=plan.seed)
    result.cosine = cosine_matrix([result.boundaries[a].normal for a in plan.attributes])


def directions(result: ModelResult, attribute: str, plan: EditPlan) -> dict[str, np.ndarray]:
    """The unconditional direction and, when other attributes are edited, the conditional."""
    normal = result.boundaries[attribute].normal
    found = {"unconditional": normal}
    held = [result.boundaries[other].normal for other in plan.held(attribute)]
    if held:
        result.conditional[attribute] = conditional_direction(normal, held)
        found["conditional"] = result.conditional[attribute]
    return found


def study_labelled(result: ModelResult, model, classifier, labelled, scores: np.ndarray,
                   faces, strip_faces: dict[str, np.ndarray], plan: EditPlan) -> ModelResult:
    """Boundaries, edits at every strength, their summaries and strips (module docstring)."""
    fit_boundaries(result, model, labelled, scores, classifier, plan)
    face_codes = encode(model, faces.images(np.arange(len(faces))))
    strip_codes = encode(model, np.stack([strip_faces[a] for a in plan.attributes]))
    scored = [classifier.attribute_names.index(a) for a in plan.scored]
    for row, attribute in enumerate(plan.attributes):
        target = classifier.attribute_names.index(attribute)
        boundary = result.boundaries[attribute]
        for mode, direction in directions(result, attribute, plan).items():
            curves = edit_curves(model, classifier, face_codes, direction, plan.strengths,
                                 target, scored)
            result.curves[(attribute, mode)] = curves
            summary = edit_summary(curves, plan.target_change,
                                   faces.labels[:, faces.column(attribute)])
            result.summary.append({
                "model": result.name, "setting": result.setting, "seed": result.seed,
                "attribute": attribute, "mode": mode, **summary,
                "svm_validation_accuracy": boundary.validation_accuracy,
                "svm_remaining_accuracy": boundary.remaining_accuracy,
                "svm_per_side": boundary.num_per_side,
                "axis_alignment": axis_alignment(boundary.normal)[0],
                "direction_alignment": axis_alignment(direction)[0],
                "cosine_to_unconditional": float(direction @ boundary.normal)})
            reference = (summary["matched_strength"] if summary["reached"]
                         else plan.strengths[-1] / 2)
            moved = (strip_codes[row][None]
                     + reference * np.asarray(STRIP_MULTIPLES)[:, None] * direction[None])
            result.strips[(attribute, mode)] = decode(model, moved.astype(np.float32))
    return result


def study_unlabelled(result: ModelResult, model, reference: np.ndarray | None,
                     seed: int) -> ModelResult:
    """Samples from the prior, traversals of the most varied latent dimensions around the
    first reference image (or the prior mean), and reconstructions of the reference grid."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    result.samples = decode(model, torch.randn(NUM_SAMPLES, model.latent_dim,
                                               generator=generator).numpy())
    if reference is not None:
        codes = encode(model, reference)
        result.reconstructions = decode(model, codes)
        result.reconstruction_error = float(((result.reconstructions - reference) ** 2).mean())
        centre = codes[0]
        # The most used dimensions vary most across the reference images' means.
        order = np.argsort(-codes.std(axis=0))
    else:
        centre = np.zeros(model.latent_dim, np.float32)
        order = np.arange(model.latent_dim)
    result.traversal_dims = [int(d) for d in order[:TRAVERSAL_DIMS]]
    codes = traversal_codes(torch.as_tensor(centre, dtype=torch.float32),
                            result.traversal_dims, TRAVERSAL_VALUES)
    result.traversals = decode(model, codes.numpy())
    return result
