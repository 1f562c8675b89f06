"""The navigation study's settings and their defaults (no torch here, so the command line can
show them in its help instantly)."""

from __future__ import annotations

from dataclasses import dataclass

DATASETS = ("faces", "celeba")
SCORES = ("probability", "labels")
#: Edited by default: attributes that change large, easily seen regions of the face.
DEFAULT_ATTRIBUTES = ("Smiling", "Male", "Eyeglasses", "Blond_Hair", "Wearing_Hat",
                      "Heavy_Makeup")
#: Distances moved along a direction, in units of the latent prior's standard deviation.
DEFAULT_STEPS = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)
#: InterfaceGAN's share of the most confident examples on each side of a boundary.
DEFAULT_FRACTION = 0.02
CLASSIFIER_STEPS = 3000


@dataclass
class Settings:
    """Everything ``run_study`` needs besides the models (the CLI's options)."""

    dataset: str = "faces"
    root: str | None = None
    preprocessing: str = "auto"
    attributes: tuple[str, ...] | None = None
    steps: tuple[float, ...] = DEFAULT_STEPS
    num_labelled: int = 10_000
    num_faces: int = 200
    fraction: float = DEFAULT_FRACTION
    score: str = "probability"
    classifier: str | None = None
    classifier_steps: int = CLASSIFIER_STEPS
    classifier_images: int = 20_000
    reference: str | None = None
    seed: int = 0
    workers: int | None = None
    progress: bool = False
