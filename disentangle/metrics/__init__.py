"""disentanglement_lib's family of disentanglement metrics, computed with each distinct
observation encoded once: BetaVAE (Higgins et al. 2017), FactorVAE (Kim & Mnih 2018), MIG
(Chen et al. 2018), DCI (Eastwood & Williams 2018), SAP (Kumar et al. 2018), Modularity and
Explicitness (Ridgeway & Mozer 2018), plus a large-sample estimate of the aggregate posterior's
total correlation. ``evaluate`` runs any set of them with one shared encoding; ``METRICS``
(the registry) describes each one and ``PRESETS`` holds their ``paper`` and ``fast`` settings."""

from disentangle.metrics.beta_vae import beta_vae_metric
from disentangle.metrics.dci import dci_metric
from disentangle.metrics.evaluation import evaluate
from disentangle.metrics.factor_vae import factor_vae_metric
from disentangle.metrics.mig import mig_metric
from disentangle.metrics.modularity import modularity_explicitness_metric
from disentangle.metrics.registry import METRICS, default_metrics, result_columns
from disentangle.metrics.sap import sap_metric
from disentangle.metrics.settings import PRESETS
from disentangle.metrics.total_correlation import total_correlation_metric

__all__ = ["METRICS", "PRESETS", "beta_vae_metric", "dci_metric", "default_metrics",
           "evaluate", "factor_vae_metric", "mig_metric", "modularity_explicitness_metric",
           "result_columns", "sap_metric", "total_correlation_metric"]
