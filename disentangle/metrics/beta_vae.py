"""The BetaVAE metric (Higgins et al. 2017), as disentanglement_lib computes it.

One point of the metric's data set is made like this:
  1. choose a factor k uniformly at random;
  2. sample two batches of ``batch_size`` factor rows, each factor uniform and independent;
  3. copy factor k of the first batch into the second, so each pair shares factor k;
  4. encode both batches (the representation is the encoder mean);
  5. the feature vector is the mean over the batch of |r1 - r2| (one value per dimension) and
     the label is k.
A linear classifier (scikit-learn's LogisticRegression with default settings) is fitted on
``num_train`` points; its accuracy on ``num_eval`` fresh points is the score. A dimension that
captures factor k alone has a feature of zero when k is shared, which the classifier can spot.

Random draws happen in disentanglement_lib's order (per point: k, batch 1, batch 2; training
points, then evaluation points), all before any encoding, so the deduplicated and the plain
computation consume the random state identically and give identical scores.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from disentangle.data.base import GroundTruthDataset
from disentangle.errors import UserError
from disentangle.metrics.encoding import check_dataset, make_encoder
from disentangle.metrics.settings import resolve_settings

#: Points whose feature vectors are gathered at once (bounds memory for large batches).
_CHUNK = 1024


@dataclass
class BetaVAEDraw:
    """The drawn factors of ``P`` points, as dataset indices."""

    labels: np.ndarray    # (P,) the shared factor of each point
    indices1: np.ndarray  # (P, batch_size) the first batch of each point
    indices2: np.ndarray  # (P, batch_size) the second batch, sharing factor ``labels[p]``

    @property
    def index_arrays(self) -> list[np.ndarray]:
        return [self.indices1, self.indices2]


def draw_points(data: GroundTruthDataset, batch_size: int, num_points: int,
                random_state: np.random.RandomState) -> BetaVAEDraw:
    """Steps 1-3 for ``num_points`` points, in disentanglement_lib's order of random draws."""
    labels = np.empty(num_points, dtype=np.int64)
    factors1 = np.empty((num_points, batch_size, data.num_factors), dtype=np.int64)
    factors2 = np.empty_like(factors1)
    for point in range(num_points):
        labels[point] = random_state.randint(data.num_factors)
        factors1[point] = data.sample_factors(batch_size, random_state)
        factors2[point] = data.sample_factors(batch_size, random_state)
        factors2[point, :, labels[point]] = factors1[point, :, labels[point]]
    shape = (num_points, batch_size)
    return BetaVAEDraw(labels,
                       data.factors_to_index(factors1.reshape(-1, data.num_factors)).reshape(shape),
                       data.factors_to_index(factors2.reshape(-1, data.num_factors)).reshape(shape))


def feature_vectors(points: BetaVAEDraw, represent) -> np.ndarray:
    """Steps 4-5: mean over each batch of |r1 - r2|, as float64 (P, D)."""
    chunks = []
    for start in range(0, len(points.labels), _CHUNK):
        part = slice(start, start + _CHUNK)
        first = represent(points.indices1[part]).astype(np.float64)
        second = represent(points.indices2[part]).astype(np.float64)
        chunks.append(np.mean(np.abs(first - second), axis=1))
    return np.concatenate(chunks)


def score_points(train: BetaVAEDraw, evaluation: BetaVAEDraw, represent, num_factors: int,
                 random_state: np.random.RandomState) -> dict:
    """Fit the classifier on the training points and score it; with diagnostics."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    train_features = feature_vectors(train, represent)
    eval_features = feature_vectors(evaluation, represent)
    if np.unique(train.labels).size < 2:
        raise UserError("beta_vae num_train is too small: the training points cover only one "
                        "factor, so no classifier can be fitted; use more points")
    model = LogisticRegression(random_state=random_state)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(train_features, train.labels)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    predicted = model.predict(eval_features)
    confusion = np.zeros((num_factors, num_factors), dtype=np.int64)
    np.add.at(confusion, (evaluation.labels, predicted), 1)
    per_factor = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    coefficients = np.zeros((num_factors, train_features.shape[1]))
    coefficients[model.classes_] = model.coef_ if len(model.classes_) > 2 else np.vstack(
        [-model.coef_[0], model.coef_[0]]) / 2
    # Multinomial coefficients are defined up to a shift shared by all classes: centre them.
    relative = coefficients - coefficients.mean(axis=0, keepdims=True)
    return {
        "train_accuracy": float(np.mean(model.predict(train_features) == train.labels)),
        "eval_accuracy": float(np.mean(predicted == evaluation.labels)),
        "per_factor_accuracy": per_factor.tolist(),
        "confusion": confusion.tolist(),
        "factor_to_dim": relative.argmin(axis=1).tolist(),
        "coefficients": coefficients.tolist(),
        "classifier_converged": converged,
    }


def draw(data: GroundTruthDataset, settings: dict, random_state) -> tuple[BetaVAEDraw, BetaVAEDraw]:
    """Training then evaluation points, as disentanglement_lib draws them."""
    train = draw_points(data, settings["batch_size"], settings["num_train"], random_state)
    evaluation = draw_points(data, settings["batch_size"], settings["num_eval"], random_state)
    return train, evaluation


def beta_vae_metric(ground_truth_data: GroundTruthDataset, representation_function,
                    random_state: np.random.RandomState, preset: str = "paper",
                    **settings) -> dict:
    """The BetaVAE metric of ``representation_function`` on ``ground_truth_data``.

    ``representation_function`` maps observations (N, C, H, W) to representations (N, D).
    Settings (``preset``'s unless overridden): batch_size, num_train, num_eval, deduplicate,
    encode_batch_size. Returns train_accuracy, eval_accuracy (the score), per_factor_accuracy,
    the evaluation confusion matrix (true factor x predicted), factor_to_dim (for each factor,
    the dimension whose small difference the classifier relies on most), the classifier's
    coefficients and whether it converged, the number of drawn and encoded observations and
    the seconds taken.
    """
    started = time.perf_counter()
    settings = resolve_settings("beta_vae", preset, **settings)
    check_dataset(ground_truth_data)
    train, evaluation = draw(ground_truth_data, settings, random_state)
    represent = make_encoder(ground_truth_data, representation_function,
                             train.index_arrays + evaluation.index_arrays,
                             settings["deduplicate"], settings["encode_batch_size"])
    result = score_points(train, evaluation, represent, ground_truth_data.num_factors,
                          random_state)
    drawn = sum(a.size for a in train.index_arrays + evaluation.index_arrays)
    return {**result, "num_drawn": drawn, "num_encoded": represent.encoded,
            "seconds": time.perf_counter() - started}
