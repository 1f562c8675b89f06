"""The options of ``vae-study navigate`` as one dataclass, checked before anything is loaded
(no torch here, so ``--help`` shows the defaults instantly)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from disentangle.errors import UserError
from disentangle.navigation.settings import (
    CLASSIFIER_STEPS,
    CONFIDENCE,
    DATASETS,
    DEFAULT_FRACTION,
    DEFAULT_STRENGTHS,
    DEFAULT_TARGET_CHANGE,
    MIN_SEEDS,
    SCORES,
)


@dataclass
class Settings:
    """Everything ``run_study`` needs besides the models (the command's options)."""

    dataset: str = "faces"
    root: str | None = None
    preprocessing: str = "auto"
    attributes: tuple[str, ...] | None = None
    strengths: tuple[float, ...] = DEFAULT_STRENGTHS
    target_change: float = DEFAULT_TARGET_CHANGE
    num_labelled: int = 10_000
    num_faces: int = 200
    fraction: float = DEFAULT_FRACTION
    score: str = "probability"
    classifier: str | None = None
    classifier_steps: int = CLASSIFIER_STEPS
    classifier_images: int = 20_000
    reference: str | None = None
    min_seeds: int = MIN_SEEDS
    confidence: float = CONFIDENCE
    seed: int = 0
    workers: int | None = None
    progress: bool = False


def check_settings(settings: Settings) -> None:
    """One line naming the option and the fix for each bad value, before any work."""
    # imported here, not at the top: the CLI imports this module at start-up and edits loads torch
    from disentangle.navigation.edits import check_strengths, check_target_change

    if settings.dataset not in DATASETS:
        raise UserError(f"unknown dataset {settings.dataset!r} for navigation: choose "
                        f"{' or '.join(DATASETS)}")
    if settings.score not in SCORES:
        raise UserError(f"unknown --score {settings.score!r}: choose {' or '.join(SCORES)}")
    try:
        check_strengths(settings.strengths)
        check_target_change(settings.target_change)
    except UserError as error:
        option = "--strengths" if "strengths" in str(error) else "--target-change"
        raise UserError(f"{option}: {error}") from None
    for name in ("num_labelled", "num_faces", "classifier_steps", "classifier_images"):
        if getattr(settings, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1")
    if settings.min_seeds < 2:
        raise UserError(f"--min-seeds {settings.min_seeds}: an interval over seeds needs at "
                        f"least 2 per setting")
    if settings.classifier is not None and not Path(settings.classifier).is_file():
        raise UserError(f"--classifier {settings.classifier}: no such file; give a classifier "
                        f"written by `vae-study navigate` or leave it out to train one")
    if settings.reference is not None and not Path(settings.reference).is_file():
        raise UserError(f"--reference {settings.reference}: no such image file")
