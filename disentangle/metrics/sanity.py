"""What each metric measures: both metrics on hand-built representations of dSprites' factors.

The observations are the factor values themselves (``FactorObservations``, like
disentanglement_lib's IdentityObservationsData, with dSprites' factor sizes 3, 6, 40, 32, 32),
so no image is rendered and the metrics run exactly the code path they run on images. Each
case's representation is a known function of the factors. The factors are first standardised
(zero mean, unit variance under uniform sampling) so that no factor dominates a mixture merely
because it has more classes (posX spans 0..31, shape 0..2); the FactorVAE metric is invariant
to per-dimension scale anyway, the BetaVAE classifier is not quite. The suite's figure is
drawn in the analysis (``analysis.figures.metric_sanity``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from disentangle.data.base import GroundTruthDataset, check_indices
from disentangle.metrics.evaluation import evaluate

DSPRITES_FACTORS = {"shape": 3, "scale": 6, "orientation": 40, "posX": 32, "posY": 32}


class FactorObservations(GroundTruthDataset):
    """A ground-truth dataset whose observation of a factor row is that row: (N, K, 1, 1)
    float32, i.e. K channels of a 1x1 image."""

    name = "factor-observations"

    def __init__(self, factors: dict[str, int] | None = None):
        factors = dict(factors or DSPRITES_FACTORS)
        self.factor_names = tuple(factors)
        self._sizes = tuple(int(n) for n in factors.values())

    @property
    def factors_num_values(self) -> tuple[int, ...]:
        return self._sizes

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return (self.num_factors, 1, 1)

    def images(self, indices) -> np.ndarray:
        indices = check_indices(indices, len(self))
        return self.index_to_factors(indices).astype(np.float32)[:, :, None, None]


@dataclass
class SanityCase:
    name: str
    description: str
    expectation: str
    representation: Callable[[np.ndarray], np.ndarray]


def sanity_cases(data: FactorObservations, seed: int = 0) -> list[SanityCase]:
    """The hand-built representations, each a function of the observed factors."""
    sizes = np.asarray(data.factors_num_values, dtype=np.float64)
    num_factors = data.num_factors
    rng = np.random.RandomState(seed)
    rotation, _ = np.linalg.qr(rng.normal(size=(num_factors, num_factors)))
    noise_table = rng.normal(size=(len(data), num_factors)).astype(np.float32)
    orientation = data.factor_names.index("orientation") if (
        "orientation" in data.factor_names) else num_factors - 1
    chance, drop_one = 1 / num_factors, (num_factors - 1) / num_factors

    def standardised(observations: np.ndarray) -> np.ndarray:
        factors = observations.reshape(len(observations), num_factors).astype(np.float64)
        return (factors - (sizes - 1) / 2) / np.sqrt((sizes ** 2 - 1) / 12)

    def split(observations):
        s = standardised(observations)
        angle = 2 * np.pi * observations.reshape(len(s), -1)[:, orientation] / sizes[orientation]
        others = np.delete(s, orientation, axis=1)
        return np.column_stack([others, np.sqrt(2) * np.cos(angle), np.sqrt(2) * np.sin(angle)])

    warps = [np.tanh, lambda x: x ** 3, np.exp, lambda x: np.sign(x) * np.sqrt(np.abs(x)),
             np.arctan]

    def warp(observations):
        s = standardised(observations)
        return np.column_stack([warps[d % len(warps)](s[:, d]) for d in range(num_factors)])

    def noise(observations):
        factors = observations.reshape(len(observations), num_factors).astype(np.int64)
        return noise_table[data.factors_to_index(factors)]

    def collapsed(observations):
        s = standardised(observations)
        return np.column_stack([s, np.zeros_like(s)])

    return [
        SanityCase("factors", "the standardised factors, one per dimension",
                   "both ~1", standardised),
        SanityCase("rotation", "a random rotation of the factors (every dimension mixes all)",
                   "both below the factors'", lambda o: standardised(o) @ rotation.T),
        SanityCase("all but one", f"the factors without {data.factor_names[0]!r}",
                   f"BetaVAE ~1, FactorVAE ~(K-1)/K = {drop_one:.2f}",
                   lambda o: standardised(o)[:, 1:]),
        SanityCase("split factor", "orientation as (cos, sin) over two dimensions",
                   "both ~1 (neither penalises one factor in two dimensions)", split),
        SanityCase("warp", "a different monotone nonlinearity on each factor's dimension",
                   "both ~1 (axis-aligned warps stay disentangled)", warp),
        SanityCase("noise", "independent Gaussian noise per observation, unrelated to factors",
                   f"both at chance 1/K = {chance:.2f}", noise),
        SanityCase("collapsed dims", "the factors plus as many constant dimensions",
                   "both ~1; FactorVAE prunes the constant dimensions", collapsed),
        SanityCase("all collapsed", "every dimension constant",
                   f"FactorVAE 0 with a warning, BetaVAE at chance {chance:.2f}",
                   lambda o: np.zeros((len(o), num_factors))),
    ]


#: The two metrics whose disagreement the suite shows (Kim & Mnih's critique).
SANITY_METRICS = ("beta_vae", "factor_vae")


def run_sanity_suite(preset: str = "paper", seed: int = 0, **overrides) -> list[dict]:
    """Score every case with both metrics (one ``evaluate`` each, random state ``seed``)."""
    data = FactorObservations()
    rows = []
    for case in sanity_cases(data, seed):
        scores = evaluate(data, case.representation, np.random.RandomState(seed), preset=preset,
                          metrics=SANITY_METRICS, **overrides)
        rows.append({"case": case.name, "description": case.description,
                     "expectation": case.expectation, **scores})
    return rows


def format_table(rows: list[dict]) -> str:
    """The suite's results as an aligned text table."""
    lines = [f"{'case':<15} {'BetaVAE':>8} {'FactorVAE':>9} {'active':>6}  expectation"]
    for row in rows:
        lines.append(f"{row['case']:<15} {row['beta_vae_score']:>8.3f} "
                     f"{row['factor_vae_score']:>9.3f} {row['factor_vae_active_dims']:>6}  "
                     f"{row['expectation']}")
    return "\n".join(lines)
