"""Ray Tune Trainable wrappers of the VAE variants, thin over ``disentangle``.

``VAETrainable``, ``BetaVAETrainable`` and ``FactorVAETrainable`` each train one model kind;
``StudyTrainable`` trains whichever kind ``config["model"]`` names (sweeps mixing kinds).
"""

from trainables.vae import (
    TRAINABLES, BetaVAETrainable, DivergedError, FactorVAETrainable, StudyTrainable,
    VAETrainable, trainable_for)

__all__ = ["TRAINABLES", "BetaVAETrainable", "DivergedError", "FactorVAETrainable",
           "StudyTrainable", "VAETrainable", "trainable_for"]
