"""What the registry knows about one metric (``MetricSpec``), its settings' validation, and
the runner behind every single-metric function (``beta_vae_metric``, ``mig_metric``, ...) and
the factory that makes each of those from its spec (``metric_function``).

Every metric is computed in two phases so that several metrics can share one encoding:
``draw`` consumes the evaluation's random state and returns the dataset indices it will need
(nothing is encoded yet); ``score`` looks their representations up and computes the result,
consuming no randomness. So the same random state gives the same draws whether a metric runs
alone or inside ``evaluate``, and whether representations are deduplicated or not.
"""

from __future__ import annotations

import inspect
import numbers
import textwrap
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from disentangle.errors import UserError
from disentangle.metrics.encoding import check_dataset, make_encoder

PRESET_NAMES = ("paper", "fast")

#: Settings shared by every metric: how representations are computed, not what is measured.
#: ``deduplicate``: encode each distinct observation once and gather (default), or encode every
#: drawn batch as it comes (the plain algorithm); ignored for datasets whose observations are
#: random given the factors, which are always encoded draw by draw. ``encode_batch_size``:
#: images per call of the representation function.
ENCODING_DEFAULTS = {"deduplicate": True, "encode_batch_size": 4096}


def check_preset(preset: str) -> None:
    if preset not in PRESET_NAMES:
        raise UserError(f"unknown metric preset {preset!r}: choose one of "
                        f"{', '.join(PRESET_NAMES)}")


@dataclass(frozen=True)
class MetricSpec:
    """One metric of the registry.

    ``draw(data, settings, random_state)`` returns an object whose ``index_arrays`` lists every
    dataset index the scorer will look up; ``score(drawn, source, data, settings)`` returns
    the metric's full result (diagnostics included), where ``source`` maps an index array of
    shape S to representations (*S, D) (or, for a metric that ``needs_posterior``, to the
    posterior's means and log-variances). ``summarise`` turns that result into the flat
    ``result_keys`` that ``evaluate`` reports; ``main_key`` is the headline score.
    """

    key: str
    name: str
    reference: str
    presets: Mapping[str, Mapping[str, Any]]
    draw: Callable
    score: Callable
    summarise: Callable[[dict], dict]
    result_keys: tuple[str, ...]
    main_key: str
    #: In the ``fast`` preset's default set (cheap enough to run after every epoch).
    per_epoch: bool
    #: Integer settings and the smallest valid value of each.
    minimums: Mapping[str, int] = field(default_factory=dict)
    #: Real-valued settings and the smallest valid value of each.
    real_minimums: Mapping[str, float] = field(default_factory=dict)
    #: Settings restricted to a few named values.
    choices: Mapping[str, tuple] = field(default_factory=dict)
    #: Scored from a posterior function x -> (mean, log_var) instead of the representation.
    needs_posterior: bool = False
    #: What the full result holds, for the docstring of the metric's function.
    returns: str = ""

    def resolve(self, preset: str = "paper", **overrides) -> dict:
        """The complete, validated settings: the preset's, then ``overrides``.

        Accepts the metric's own settings and ``ENCODING_DEFAULTS``; anything else, a
        non-integer count, a value below its minimum or outside its choices raises
        ``UserError`` naming the setting and what it accepts.
        """
        check_preset(preset)
        settings = {**self.presets[preset], **ENCODING_DEFAULTS}
        unknown = sorted(set(overrides) - set(settings))
        if unknown:
            raise UserError(f"unknown {self.key} metric setting(s) {', '.join(unknown)}: valid "
                            f"are {', '.join(sorted(settings))}")
        settings.update(overrides)
        for name, minimum in {**self.minimums, "encode_batch_size": 1}.items():
            value = settings[name]
            if (not isinstance(value, numbers.Integral) or isinstance(value, bool)
                    or value < minimum):
                raise UserError(f"{self.key} setting {name}={value!r} is invalid: it must be an "
                                f"integer >= {minimum}")
            settings[name] = int(value)
        for name, minimum in self.real_minimums.items():
            value = settings[name]
            if not isinstance(value, numbers.Real) or isinstance(value, bool) or not (
                    value >= minimum):
                raise UserError(f"{self.key} setting {name}={value!r} is invalid: it must be a "
                                f"number >= {minimum:g} (the paper uses "
                                f"{self.presets['paper'][name]:g})")
            settings[name] = float(value)
        for name, allowed in self.choices.items():
            if settings[name] not in allowed:
                raise UserError(f"{self.key} setting {name}={settings[name]!r} is invalid: "
                                f"choose one of {', '.join(map(str, allowed))}")
        if not isinstance(settings["deduplicate"], bool):
            raise UserError(f"setting deduplicate={settings['deduplicate']!r} must be True or "
                            "False")
        return settings


def run_metric(spec: MetricSpec, ground_truth_data, representation_function,
               random_state: np.random.RandomState, preset: str, overrides: dict) -> dict:
    """One metric on its own: validate, draw, encode (deduplicated unless the observations are
    random), score. Returns the full result plus ``num_drawn`` (observations drawn),
    ``num_encoded`` (observations actually encoded) and ``seconds``; a metric that
    ``needs_posterior`` is given the posterior function to encode its own draws, and adds only
    ``seconds``."""
    started = time.perf_counter()
    settings = spec.resolve(preset, **overrides)
    check_dataset(ground_truth_data)
    drawn = spec.draw(ground_truth_data, settings, random_state)
    if spec.needs_posterior:
        result = spec.score(drawn, representation_function, ground_truth_data, settings)
        return {**result, "seconds": time.perf_counter() - started}
    represent = make_encoder(ground_truth_data, representation_function, drawn.index_arrays,
                             settings["deduplicate"], settings["encode_batch_size"],
                             random_state)
    result = spec.score(drawn, represent, ground_truth_data, settings)
    return {**result, "num_drawn": sum(a.size for a in drawn.index_arrays),
            "num_encoded": represent.encoded, "seconds": time.perf_counter() - started}


def metric_function(spec: MetricSpec, name: str) -> Callable[..., dict]:
    """The metric's function on its own, ``name(ground_truth_data, representation_function,
    random_state, preset="paper", **settings)`` (``posterior_function`` in second place for a
    metric that ``needs_posterior``), running ``run_metric`` and documented from ``spec``."""
    source = "posterior_function" if spec.needs_posterior else "representation_function"
    given = inspect.Parameter.POSITIONAL_OR_KEYWORD
    signature = inspect.Signature([
        inspect.Parameter("ground_truth_data", given),
        inspect.Parameter(source, given),
        inspect.Parameter("random_state", given, annotation=np.random.RandomState),
        inspect.Parameter("preset", given, default="paper", annotation=str),
        inspect.Parameter("settings", inspect.Parameter.VAR_KEYWORD)],
        return_annotation=dict)

    def metric(*args, **kwargs) -> dict:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = bound.arguments
        return run_metric(spec, arguments["ground_truth_data"], arguments[source],
                          arguments["random_state"], arguments["preset"], arguments["settings"])

    metric.__name__ = metric.__qualname__ = name
    metric.__module__ = spec.summarise.__module__   # the metric's module, which binds ``name``
    metric.__signature__ = signature
    metric.__doc__ = metric_docstring(spec, source)
    return metric


def metric_docstring(spec: MetricSpec, source: str) -> str:
    """The docstring of ``spec``'s function: what it computes, from what, with which settings,
    and what it returns."""
    maps_to = ("(means, log-variances), each (N, D)" if spec.needs_posterior
               else "representations (N, D)")
    settings = [*spec.presets["paper"], *ENCODING_DEFAULTS]
    counts = "" if spec.needs_posterior else ", the number of drawn and encoded observations"
    details = (f"``{source}`` maps observations (N, C, H, W) to {maps_to}. Settings "
               f"(``preset``'s unless overridden): {', '.join(settings)}. Returns "
               f"{spec.returns}{counts} and the seconds taken.")
    return (f"The {spec.name} metric ({spec.reference}) of ``{source}`` on "
            f"``ground_truth_data``.\n\n{textwrap.fill(details, 92)}")
