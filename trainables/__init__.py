"""Ray Tune Trainable wrappers of the VAE variants, thin over ``disentangle``.

``VAETrainable``, ``BetaVAETrainable`` and ``FactorVAETrainable`` each train one model kind;
``StudyTrainable`` trains whichever kind ``config["model"]`` names; sweeps use it, so one
experiment can hold all three kinds.
"""

from trainables.vae import (
    TRAINABLES, BetaVAETrainable, DivergedError, FactorVAETrainable, StudyTrainable,
    VAETrainable)

__all__ = ["TRAINABLES", "BetaVAETrainable", "DivergedError", "FactorVAETrainable",
           "StudyTrainable", "VAETrainable"]
