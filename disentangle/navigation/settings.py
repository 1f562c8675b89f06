"""The navigation study's defaults (no torch here, so the command line shows them instantly)."""

from __future__ import annotations

DATASETS = ("faces", "celeba")
SCORES = ("probability", "labels")
#: Edited by default: attributes that change large, easily seen regions of the face.
DEFAULT_ATTRIBUTES = ("Smiling", "Male", "Eyeglasses", "Blond_Hair", "Wearing_Hat",
                      "Heavy_Makeup")
#: Edit strengths: distances moved along a unit direction, in units of the latent prior's
#: standard deviation, each face towards the other side of the attribute. The matched
#: strength of an edit is found on this grid (``edits.matched``).
DEFAULT_STRENGTHS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0)
#: The change of the target attribute's classified probability, towards the other side, at
#: which every model's side effects are compared: edits are matched to the same change of the
#: target, not to the same latent distance (a model with a larger latent scale would otherwise
#: look stronger or cleaner just for that).
DEFAULT_TARGET_CHANGE = 0.4
#: InterfaceGAN's share of the most confident examples on each side of a boundary.
DEFAULT_FRACTION = 0.02
CLASSIFIER_STEPS = 3000
#: Seeds a setting needs before the study compares it with another.
MIN_SEEDS = 3
CONFIDENCE = 0.95
