"""The metrics' settings: the ``paper`` and ``fast`` presets and their validation.

``paper`` is the papers' protocol as disentanglement_lib configures it (BetaVAE: batches of 64,
10,000 training and 5,000 evaluation points; FactorVAE: 10,000 observations for the global
variances, batches of 64, 10,000 training and 5,000 evaluation votes, dimensions with a
standard deviation under 0.05 pruned). ``fast`` keeps every definition (same batch size and
threshold) and only draws fewer points, so that both metrics together fit in a few seconds
for every-epoch use; its scores are noisier estimates of the same quantities.

Two settings are not part of either definition and only change how the representations are
computed: ``deduplicate`` (encode each distinct observation once and gather, the default; or
encode every drawn batch as it comes, the plain algorithm) and ``encode_batch_size`` (images
per call of the representation function when deduplicating).
"""

from __future__ import annotations

import numbers

from disentangle.errors import UserError

METRICS = ("beta_vae", "factor_vae")

PRESETS = {
    "paper": {
        "beta_vae": {"batch_size": 64, "num_train": 10_000, "num_eval": 5_000},
        "factor_vae": {"batch_size": 64, "num_train": 10_000, "num_eval": 5_000,
                       "num_variance_estimate": 10_000, "prune_threshold": 0.05},
    },
    # About 60,000 draws (56,000 distinct images): ~6 s at the standard encoder's ~10,000
    # images/s in fp32 on 2 cores. Accuracy on 100 evaluation points: +- 5 points (1 s.d.).
    "fast": {
        "beta_vae": {"batch_size": 64, "num_train": 200, "num_eval": 100},
        "factor_vae": {"batch_size": 64, "num_train": 200, "num_eval": 100,
                       "num_variance_estimate": 2_000, "prune_threshold": 0.05},
    },
}

#: Settings shared by both metrics (how representations are computed, not what is measured).
ENCODING_DEFAULTS = {"deduplicate": True, "encode_batch_size": 4096}

# The smallest valid value of each integer setting (a variance needs two samples).
_MINIMUM = {"beta_vae": {"batch_size": 1, "num_train": 2, "num_eval": 1},
            "factor_vae": {"batch_size": 2, "num_train": 1, "num_eval": 1,
                           "num_variance_estimate": 2}}


def check_preset(preset: str) -> None:
    if preset not in PRESETS:
        raise UserError(f"unknown metric preset {preset!r}: choose one of "
                        f"{', '.join(PRESETS)}")


def resolve_settings(metric: str, preset: str = "paper", **overrides) -> dict:
    """The complete, validated settings of ``metric``: the preset, then ``overrides``.

    Accepts the metric's own settings and the encoding settings (``ENCODING_DEFAULTS``);
    anything else, a non-integer count, a count below its minimum (e.g. a FactorVAE batch of 1,
    whose variance is undefined) or a negative threshold raises ``UserError``.
    """
    check_preset(preset)
    settings = {**PRESETS[preset][metric], **ENCODING_DEFAULTS}
    unknown = sorted(set(overrides) - set(settings))
    if unknown:
        raise UserError(f"unknown {metric} metric setting(s) {', '.join(unknown)}: valid are "
                        f"{', '.join(sorted(settings))}")
    settings.update(overrides)
    for name, minimum in {**_MINIMUM[metric], "encode_batch_size": 1}.items():
        value = settings[name]
        if (not isinstance(value, numbers.Integral) or isinstance(value, bool)
                or value < minimum):
            raise UserError(f"{metric} setting {name}={value!r} is invalid: it must be an "
                            f"integer >= {minimum}")
        settings[name] = int(value)
    if "prune_threshold" in settings:
        threshold = settings["prune_threshold"]
        if (not isinstance(threshold, numbers.Real) or isinstance(threshold, bool)
                or not threshold >= 0):
            raise UserError(f"{metric} setting prune_threshold={threshold!r} is invalid: it "
                            "must be a number >= 0 (the paper uses 0.05)")
        settings["prune_threshold"] = float(threshold)
    if not isinstance(settings["deduplicate"], bool):
        raise UserError(f"setting deduplicate={settings['deduplicate']!r} must be True or False")
    return settings


def split_overrides(overrides: dict) -> tuple[dict, dict]:
    """Split ``evaluate``'s flat overrides (``beta_vae_num_train=...``,
    ``factor_vae_prune_threshold=...``, ``deduplicate=...``) into each metric's settings."""
    per_metric = {metric: {} for metric in METRICS}
    for key, value in overrides.items():
        if key in ENCODING_DEFAULTS:
            for metric in METRICS:
                per_metric[metric][key] = value
            continue
        metric = next((m for m in METRICS if key.startswith(m + "_")), None)
        if metric is None:
            raise UserError(f"unknown metric setting {key!r}: prefix it with beta_vae_ or "
                            f"factor_vae_ (e.g. beta_vae_num_train), or use "
                            f"{' / '.join(ENCODING_DEFAULTS)}")
        per_metric[metric][key[len(metric) + 1:]] = value
    return per_metric["beta_vae"], per_metric["factor_vae"]
