"""What MIG, DCI, SAP and Modularity/Explicitness share: i.i.d. samples of (factors, code),
and the discrete mutual information between a discretised code and the factors.

disentanglement_lib draws these samples with ``generate_batch_factor_code``: ``num_points``
points in batches of ``batch_size`` (16 by default), each batch a call of
``ground_truth_data.sample``. The batching decides the order in which the random state is
consumed (each batch draws every factor column in turn), so ``draw_codes`` reproduces it
exactly, and keeps the result as dataset indices to encode later (with the other metrics'
draws, each distinct image once).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disentangle.data.base import GroundTruthDataset
from disentangle.errors import UserError


@dataclass
class FactorCodes:
    """``N`` points drawn with every factor uniform and independent."""

    factors: np.ndarray  # (N, num_factors) factor classes
    indices: np.ndarray  # (N,) their dataset indices

    @property
    def index_arrays(self) -> list[np.ndarray]:
        return [self.indices]


@dataclass
class TrainTestCodes:
    """A training and a test sample, drawn in that order."""

    train: FactorCodes
    test: FactorCodes

    @property
    def index_arrays(self) -> list[np.ndarray]:
        return self.train.index_arrays + self.test.index_arrays


def draw_codes(data: GroundTruthDataset, num_points: int, batch_size: int,
               random_state: np.random.RandomState) -> FactorCodes:
    """``num_points`` factor rows drawn ``batch_size`` at a time, as disentanglement_lib does."""
    factors = np.concatenate([
        data.sample_factors(min(batch_size, num_points - start), random_state)
        for start in range(0, num_points, batch_size)])
    return FactorCodes(factors, data.factors_to_index(factors))


def draw_train_test(data: GroundTruthDataset, settings: dict,
                    random_state: np.random.RandomState) -> TrainTestCodes:
    """``num_train`` then ``num_test`` points (disentanglement_lib's DCI, SAP and
    Modularity/Explicitness draw exactly this)."""
    train = draw_codes(data, settings["num_train"], settings["batch_size"], random_state)
    test = draw_codes(data, settings["num_test"], settings["batch_size"], random_state)
    return TrainTestCodes(train, test)


def histogram_discretize(codes: np.ndarray, num_bins: int) -> np.ndarray:
    """Each dimension of ``codes`` (N, D) cut into ``num_bins`` equal-width bins spanning its
    observed range; bin numbers 1..num_bins (disentanglement_lib's histogram discretiser:
    ``np.digitize`` against the left bin edges)."""
    discretized = np.empty(codes.shape, dtype=np.int64)
    for dim in range(codes.shape[1]):
        left_edges = np.histogram(codes[:, dim], num_bins)[1][:-1]
        discretized[:, dim] = np.digitize(codes[:, dim], left_edges)
    return discretized


def discrete_mutual_info(discretized: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """(D, K) plug-in mutual information, in nats, between each discretised code dimension
    and each factor (scikit-learn's ``mutual_info_score``, as disentanglement_lib)."""
    from sklearn.metrics import mutual_info_score

    return np.array([[mutual_info_score(factors[:, k], discretized[:, d])
                      for k in range(factors.shape[1])] for d in range(discretized.shape[1])])


def discrete_entropy(factors: np.ndarray) -> np.ndarray:
    """(K,) plug-in entropy of each factor in the sample, in nats (= its MI with itself)."""
    from sklearn.metrics import mutual_info_score

    return np.array([mutual_info_score(factors[:, k], factors[:, k])
                     for k in range(factors.shape[1])])


def require_classes(metric: str, setting: str, labels: np.ndarray, factor: int) -> None:
    """A classifier needs two classes of a factor among its training points."""
    if np.unique(labels).size < 2:
        raise UserError(f"{metric} {setting} is too small: factor {factor} takes a single value "
                        f"among the training points, so no classifier can be fitted; use more "
                        "points")


def require_dimensions(metric: str, codes: np.ndarray, minimum: int = 2) -> None:
    """Gap-based metrics compare the best dimension with the second best."""
    if codes.shape[1] < minimum:
        raise UserError(f"{metric} needs a representation with at least {minimum} dimensions, "
                        f"got {codes.shape[1]}")
