"""The BetaVAE (Higgins et al. 2017) and FactorVAE (Kim & Mnih 2018) disentanglement metrics,
exactly as disentanglement_lib defines them, computed with each distinct observation encoded
once. ``evaluate`` runs both with one shared encoding cache; ``PRESETS`` holds the ``paper``
and ``fast`` settings."""

from disentangle.metrics.beta_vae import beta_vae_metric
from disentangle.metrics.evaluation import evaluate
from disentangle.metrics.factor_vae import factor_vae_metric
from disentangle.metrics.settings import PRESETS

__all__ = ["PRESETS", "beta_vae_metric", "evaluate", "factor_vae_metric"]
