"""The metrics' settings: the ``paper`` and ``fast`` presets of every registered metric and the
validation of flat, prefixed overrides (``beta_vae_num_train=...``, ``mig_num_bins=...``).

``paper`` is each metric's protocol as disentanglement_lib configures it (each metric module's
docstring states it). ``fast`` keeps every definition (batch sizes, bins, thresholds) and only
draws fewer points, so that the per-epoch metrics fit in a few seconds; its scores are noisier
estimates of the same quantities.

Two settings are shared by every metric and only change how representations are computed:
``deduplicate`` and ``encode_batch_size`` (``spec.ENCODING_DEFAULTS``).
"""

from __future__ import annotations

from disentangle.errors import UserError
from disentangle.metrics.registry import METRICS, get_metric
from disentangle.metrics.spec import ENCODING_DEFAULTS, PRESET_NAMES, check_preset

__all__ = ["ENCODING_DEFAULTS", "PRESETS", "check_preset", "overrides_per_metric",
           "resolve_overrides", "resolve_settings"]

#: preset -> metric -> its settings (read from the registry).
PRESETS = {preset: {key: dict(spec.presets[preset]) for key, spec in METRICS.items()}
           for preset in PRESET_NAMES}


def resolve_settings(metric: str, preset: str = "paper", **overrides) -> dict:
    """The complete, validated settings of ``metric``: the preset, then ``overrides`` (the
    metric's own names, unprefixed). Bad names or values raise ``UserError``."""
    return get_metric(metric).resolve(preset, **overrides)


def overrides_per_metric(overrides: dict) -> dict[str, dict]:
    """Split ``evaluate``'s flat overrides into each registered metric's own settings:
    ``mig_num_train=...`` -> {"mig": {"num_train": ...}}; the shared ``deduplicate`` and
    ``encode_batch_size`` go to every metric."""
    per_metric = {key: {} for key in METRICS}
    for name, value in overrides.items():
        if name in ENCODING_DEFAULTS:
            for settings in per_metric.values():
                settings[name] = value
            continue
        metric = max((key for key in METRICS if name.startswith(key + "_")), key=len,
                     default=None)
        if metric is None:
            raise UserError(f"unknown metric setting {name!r}: prefix it with a metric's name "
                            f"({', '.join(key + '_' for key in METRICS)}; e.g. "
                            f"beta_vae_num_train), or use {' / '.join(ENCODING_DEFAULTS)}")
        per_metric[metric][name[len(metric) + 1:]] = value
    return per_metric


def resolve_overrides(preset: str, overrides: dict, metrics=None) -> dict[str, dict]:
    """Every named metric's complete settings (all registered metrics when ``metrics`` is
    None) after the flat ``overrides``; any invalid override raises ``UserError``, including
    one for a metric not in ``metrics``, so a typo never passes silently."""
    check_preset(preset)
    per_metric = overrides_per_metric(overrides)
    resolved = {key: get_metric(key).resolve(preset, **settings)
                for key, settings in per_metric.items()}
    return resolved if metrics is None else {key: resolved[key] for key in metrics}
