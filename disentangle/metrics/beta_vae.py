"""The BetaVAE metric (Higgins et al. 2017), as disentanglement_lib computes it.

One point of the metric's data set is made like this:
  1. choose a factor k uniformly at random;
  2. sample two batches of ``batch_size`` factor rows, each factor uniform and independent;
  3. copy factor k of the first batch into the second, so each pair shares factor k;
  4. encode both batches (the representation is the encoder mean);
  5. the feature vector is the mean over the batch of |r1 - r2| (one value per dimension) and
     the label is k.
A linear classifier is fitted on ``num_train`` points; its accuracy on ``num_eval`` fresh
points is the score. A dimension that captures factor k alone has a feature of zero when k is
shared, which the classifier can spot.

The classifier is disentanglement_lib's, scikit-learn's LogisticRegression with default
settings (L2, C = 1, lbfgs) on the raw features, with one difference: lbfgs may take up to
5,000 iterations instead of 100. On real representations 100 are not enough: on the public
pre-trained VAE and beta-TCVAE (paper preset, seed 0) lbfgs stopped unconverged at 100 and
converged after 146 and 149 iterations, moving the score from 0.8678 to 0.8686 and from 0.9272
to 0.9284. Where disentanglement_lib's fit converged, the score is identical (same objective,
same iterates). Standardising the features first would also converge, in fewer iterations,
but it changes the objective (how the L2 penalty weighs each dimension) and with it the score:
0.9562 instead of 0.9284 for the beta-TCVAE. Every evaluation reports whether the fit converged
(``classifier_converged``; ``beta_vae_converged`` in ``evaluate``) so a report can flag it.

Random draws happen in disentanglement_lib's order (per point: k, batch 1, batch 2; training
points, then evaluation points), all before any encoding, so the deduplicated and the plain
computation consume the random state identically and give identical scores. The paper preset is
disentanglement_lib's (batches of 64, 10,000 training and 5,000 evaluation points).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from disentangle.data.base import GroundTruthDataset
from disentangle.errors import UserError
from disentangle.metrics.spec import MetricSpec, metric_function

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


@dataclass
class BetaVAEPoints:
    """The training and the evaluation points of one evaluation."""

    train: BetaVAEDraw
    evaluation: BetaVAEDraw

    @property
    def index_arrays(self) -> list[np.ndarray]:
        return self.train.index_arrays + self.evaluation.index_arrays


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


def make_classifier():
    """disentanglement_lib's logistic regression, allowed to converge (module docstring)."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=5000)


def fit_recording_convergence(model, features: np.ndarray, labels: np.ndarray) -> bool:
    """Fit ``model``; True unless scikit-learn warned that the optimiser did not converge."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(features, labels)
    return not any(issubclass(w.category, ConvergenceWarning) for w in caught)


def score(points: BetaVAEPoints, represent, data: GroundTruthDataset, settings: dict) -> dict:
    """Fit the classifier on the training points and score it; with diagnostics."""
    del settings  # everything the score needs was drawn
    train, evaluation, num_factors = points.train, points.evaluation, data.num_factors
    train_features = feature_vectors(train, represent)
    eval_features = feature_vectors(evaluation, represent)
    if np.unique(train.labels).size < 2:
        raise UserError("beta_vae num_train is too small: the training points cover only one "
                        "factor, so no classifier can be fitted; use more points")
    classifier = make_classifier()
    converged = fit_recording_convergence(classifier, train_features, train.labels)
    predicted = classifier.predict(eval_features)
    confusion = np.zeros((num_factors, num_factors), dtype=np.int64)
    np.add.at(confusion, (evaluation.labels, predicted), 1)
    per_factor = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    coefficients = np.zeros((num_factors, train_features.shape[1]))
    coefficients[classifier.classes_] = classifier.coef_ if len(classifier.classes_) > 2 else (
        np.vstack([-classifier.coef_[0], classifier.coef_[0]]) / 2)
    # Multinomial coefficients are defined up to a shift shared by all classes: centre them.
    relative = coefficients - coefficients.mean(axis=0, keepdims=True)
    return {
        "train_accuracy": float(classifier.score(train_features, train.labels)),
        "eval_accuracy": float(np.mean(predicted == evaluation.labels)),
        "per_factor_accuracy": per_factor.tolist(),
        "confusion": confusion.tolist(),
        "factor_to_dim": relative.argmin(axis=1).tolist(),
        "coefficients": coefficients.tolist(),
        "classifier_converged": converged,
        "classifier_iterations": int(np.max(classifier.n_iter_)),
    }


def draw(data: GroundTruthDataset, settings: dict, random_state) -> BetaVAEPoints:
    """Training then evaluation points, as disentanglement_lib draws them."""
    train = draw_points(data, settings["batch_size"], settings["num_train"], random_state)
    evaluation = draw_points(data, settings["batch_size"], settings["num_eval"], random_state)
    return BetaVAEPoints(train, evaluation)


def summarise(result: dict) -> dict:
    return {"beta_vae_score": result["eval_accuracy"],
            "beta_vae_train_accuracy": result["train_accuracy"],
            "beta_vae_converged": int(result["classifier_converged"])}


SPEC = MetricSpec(
    key="beta_vae", name="BetaVAE", reference="Higgins et al. 2017",
    presets={"paper": {"batch_size": 64, "num_train": 10_000, "num_eval": 5_000},
             # ~26,000 draws; accuracy on 100 evaluation points: +- 5 points (1 s.d.).
             "fast": {"batch_size": 64, "num_train": 200, "num_eval": 100}},
    minimums={"batch_size": 1, "num_train": 2, "num_eval": 1},
    draw=draw, score=score, summarise=summarise,
    result_keys=("beta_vae_score", "beta_vae_train_accuracy", "beta_vae_converged"),
    main_key="beta_vae_score", per_epoch=True,
    returns=("train_accuracy, eval_accuracy (the score), per_factor_accuracy, the evaluation "
             "confusion matrix (true factor x predicted), factor_to_dim (for each factor, the "
             "dimension whose small difference the classifier relies on most), the classifier's "
             "coefficients, whether it converged and its iterations"))


beta_vae_metric = metric_function(SPEC, "beta_vae_metric")
