"""Several metrics in one evaluation, sharing one encoding of the drawn observations."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from disentangle.data.base import GroundTruthDataset
from disentangle.metrics.encoding import check_dataset, make_encoder
from disentangle.metrics.registry import select_metrics
from disentangle.metrics.settings import resolve_overrides
from disentangle.metrics.spec import MetricSpec
from disentangle.result_names import EVALUATION_SECONDS, IMAGES_DRAWN, IMAGES_ENCODED


def evaluate(ground_truth_data: GroundTruthDataset, representation_function,
             random_state: np.random.RandomState, preset: str = "fast", metrics=None,
             details: bool = False, posterior_function=None, members: int | None = None,
             **overrides) -> dict | list[dict]:
    """Disentanglement metrics of one representation, as a flat dict of numbers.

    ``metrics``: registry keys (``disentangle.metrics.registry.METRICS``: beta_vae,
    factor_vae, mig, dci, sap, modularity, tc); None = the preset's default set (``paper``:
    all; ``fast``: the per-epoch ones). ``posterior_function`` (observations -> (means,
    log-variances)) adds the large-sample TC estimate (``tc``) to the default set.

    Draws everything every metric needs first, in registry order (BetaVAE's points, then
    FactorVAE's variance sample and votes, then MIG's points, ...: the same draws, and on a
    dataset with deterministic observations the same scores, as calling each metric's function
    in that order with this random state), then encodes each distinct observation once (or,
    for a dataset with random observations, every draw) and scores each metric from that one
    encoding. ``overrides`` are flat: ``beta_vae_num_train=...``,
    ``mig_num_bins=...``, ``dci_classifier="hist_gbt"``, or the shared ``deduplicate`` /
    ``encode_batch_size``; an override of a metric not being run is still validated.

    ``members``: the representation (and posterior) functions are a stack's, returning the
    ``members`` models' values side by side ((N, members * D)): every model is scored from the
    one set of draws and the one encoding, and the result is a list with one dict per model.

    Returns each metric's result keys (``beta_vae_score``, ``factor_vae_score``,
    ``factor_vae_active_dims``, ``mig_score``, ``dci_disentanglement``, ...: see
    ``registry.result_columns``), ``metric_images_drawn`` and ``metric_images_encoded`` (by
    the representation function) and ``seconds``. With ``details=True`` it also holds each
    metric's full result (diagnostics) under its key, and ``timings``: wall-clock and CPU
    seconds spent drawing, encoding (all at once when deduplicating; the plain path encodes
    while scoring) and scoring each metric.
    """
    started = time.perf_counter()
    clock = Stopwatch()
    draws = draw_metrics(ground_truth_data, random_state, preset, metrics,
                         posterior_function is not None, overrides)
    specs, settings, drawn = draws.specs, draws.settings, draws.drawn
    clock.lap("draw")
    index_arrays = draws.index_arrays
    shared = settings[specs[0].key]  # the encoding settings are the same for every metric
    represent = make_encoder(ground_truth_data, representation_function, index_arrays,
                             shared["deduplicate"], shared["encode_batch_size"], random_state)
    represent.encode_pending()
    clock.lap("encode")
    if members is not None and posterior_function is not None:
        posterior_function = _LastCall(posterior_function)
    scored = []
    for member in range(members or 1):
        results, flat = {}, {}
        for spec in specs:
            source = posterior_function if spec.needs_posterior else represent
            if members is not None:
                source = _Member(source, member, members)
            results[spec.key] = spec.score(drawn[spec.key], source, ground_truth_data,
                                           settings[spec.key])
            clock.lap(spec.key)
            flat.update(spec.summarise(results[spec.key]))
        flat.update({IMAGES_DRAWN: sum(a.size for a in index_arrays),
                     IMAGES_ENCODED: represent.encoded,
                     EVALUATION_SECONDS: time.perf_counter() - started})
        if details:
            flat.update(results, timings=clock.laps)
        scored.append(flat)
    return scored if members is not None else scored[0]


@dataclass
class Draws:
    """What an evaluation draws before it encodes anything: the metrics' specs (registry
    order), their complete settings and each one's draws."""

    specs: list[MetricSpec]
    settings: dict[str, dict]
    drawn: dict[str, object]

    @property
    def index_arrays(self) -> list[np.ndarray]:
        """The dataset indices whose representations the metrics look up (a metric scored
        from the posterior encodes its own images)."""
        return [array for spec in self.specs if not spec.needs_posterior
                for array in self.drawn[spec.key].index_arrays]


def draw_metrics(ground_truth_data: GroundTruthDataset, random_state: np.random.RandomState,
                 preset: str = "fast", metrics=None, posterior: bool = False,
                 overrides: dict | None = None) -> Draws:
    """``evaluate``'s first phase: the metrics' settings, validated, and their draws from
    ``random_state`` in registry order (so the indices an evaluation will encode are known
    before any encoder runs)."""
    specs = select_metrics(preset, metrics, posterior=posterior)
    settings = resolve_overrides(preset, overrides or {}, [spec.key for spec in specs])
    check_dataset(ground_truth_data)
    drawn = {spec.key: spec.draw(ground_truth_data, settings[spec.key], random_state)
             for spec in specs}
    return Draws(specs, settings, drawn)


class _Member:
    """Model ``member``'s columns of a stack's representations (or posterior means and
    log-variances): the stack's functions return ``members`` blocks of D columns side by side."""

    def __init__(self, source, member: int, members: int):
        self.source, self.member, self.members = source, member, members

    def _columns(self, values: np.ndarray) -> np.ndarray:
        width = values.shape[-1] // self.members
        return values[..., self.member * width:(self.member + 1) * width]

    def __call__(self, inputs):
        values = self.source(inputs)
        if isinstance(values, tuple):
            return tuple(self._columns(v) for v in values)
        return self._columns(values)


class _LastCall:
    """A function that answers a call with the same inputs as the last one from memory, so a
    stack's models share one encoding of the large-sample TC's images."""

    def __init__(self, function):
        self.function, self.inputs, self.outputs = function, None, None

    def __call__(self, inputs):
        if self.inputs is None or not np.array_equal(self.inputs, inputs):
            self.inputs, self.outputs = np.array(inputs), self.function(inputs)
        return self.outputs


class Stopwatch:
    """Wall-clock and CPU (process, all threads) seconds of consecutive phases."""

    def __init__(self):
        self.laps: dict[str, dict[str, float]] = {}
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def lap(self, name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.laps[name] = {"seconds": wall - self._wall, "cpu_seconds": cpu - self._cpu}
        self._wall, self._cpu = wall, cpu
