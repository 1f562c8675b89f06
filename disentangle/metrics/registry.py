"""The metric registry: one ``MetricSpec`` per metric, in the order ``evaluate`` draws them.

Everything that handles metrics generically (``evaluate``, the settings validation, the
command line's tables, the analysis) reads the keys, names, presets and result keys from here,
so a new metric is one module with a ``SPEC`` and one line below.

Default sets: the ``paper`` preset runs every metric; the ``fast`` preset (after every training
epoch) runs those marked ``per_epoch``: BetaVAE, FactorVAE and MIG. Measured on 2 cores at the
fast preset's sizes, scoring MIG costs ~0.3 s of CPU (its 2,000 images mostly add to an
encoding that is already the bulk of the evaluation); SAP would add ~0.5 s more,
Modularity/Explicitness ~2 s, DCI (100 rounds of boosted trees per factor, histogram trees)
~12 s, so those run with the paper preset or when asked for by name. The large-sample TC joins
either set when ``evaluate`` is given a posterior function.
"""

from __future__ import annotations

from disentangle.errors import UserError
from disentangle.metrics import beta_vae, dci, factor_vae, mig, modularity, sap, total_correlation
from disentangle.metrics.spec import MetricSpec, check_preset
from disentangle.registry import Registry

METRICS: Registry[MetricSpec] = Registry(
    "metric", unknown="unknown metric {key!r}: choose among {names}")
for _spec in (beta_vae.SPEC, factor_vae.SPEC, mig.SPEC, dci.SPEC, sap.SPEC, modularity.SPEC,
              total_correlation.SPEC):
    METRICS.register(_spec.key, _spec)


def get_metric(key: str) -> MetricSpec:
    """The registered metric ``key``, or a UserError listing the metrics."""
    return METRICS.lookup(key)


def default_metrics(preset: str, posterior: bool = False) -> list[str]:
    """The metrics ``evaluate`` runs when none are named: all for ``paper``, the per-epoch
    ones for ``fast``; those needing a posterior function only when there is one."""
    check_preset(preset)
    return [key for key, spec in METRICS.items()
            if (preset == "paper" or spec.per_epoch) and (posterior or not spec.needs_posterior)]


def select_metrics(preset: str, metrics=None, posterior: bool = False) -> list[MetricSpec]:
    """The specs of ``metrics`` (names, in registry order; None = ``default_metrics``)."""
    if metrics is None:
        return [METRICS[key] for key in default_metrics(preset, posterior)]
    if isinstance(metrics, str):
        metrics = [metrics]
    wanted = {get_metric(key).key for key in metrics}
    if not wanted:
        raise UserError("no metric named: give at least one of " + ", ".join(METRICS))
    specs = [spec for key, spec in METRICS.items() if key in wanted]
    missing = [spec.key for spec in specs if spec.needs_posterior and not posterior]
    if missing:
        raise UserError(f"metric {missing[0]!r} needs the model's posterior: pass "
                        "posterior_function (x -> (mean, log_var)) to evaluate")
    return specs


def result_columns(metrics=None, preset: str = "paper", posterior: bool = False) -> list[str]:
    """The flat result keys ``evaluate`` reports for ``metrics``, in registry order (for tables
    and analyses)."""
    return [key for spec in select_metrics(preset, metrics, posterior)
            for key in spec.result_keys]


def main_scores() -> dict[str, str]:
    """Each metric's headline result key -> its display name."""
    return {spec.main_key: spec.name for spec in METRICS.values()}
