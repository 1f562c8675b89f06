"""The SAP score, Separated Attribute Predictability (Kumar et al. 2018, "Variational Inference
of Disentangled Latent Concepts from Unlabeled Observations", section 3), as
disentanglement_lib computes it for discrete factors (its ``continuous_factors=False``).

  1. Draw ``num_train`` and then ``num_test`` points (factors uniform and independent) and
     encode them.
  2. For every (dimension d, factor k): fit a linear classifier predicting k's class from d
     alone on the training points (scikit-learn's LinearSVC, C = 0.01, balanced class weights,
     one-vs-rest over classes); its accuracy on the test points is entry (d, k) of the score
     matrix.
  3. For each factor, the gap between the two best dimensions' accuracies; the score is the
     mean gap over factors.

A factor predictable from one dimension only has a large gap; one predictable from two
dimensions equally well, or from none, has a gap near 0. Even a perfect code's gap stays far
below 1: the second-best dimension still scores chance accuracy (at least 1/classes, 0.5 for a
binary factor), and a class in the middle of a dimension's range is not linearly separable
from the rest, so one-vs-rest linear classifiers on one dimension mostly predict the classes at
its ends (32 positions are far from 100% accuracy).

One difference from disentanglement_lib: scikit-learn now solves LinearSVC's problem in the
primal where there are more points than features (``dual="auto"``); disentanglement_lib's
scikit-learn solved the dual. Both minimise the same objective: on dSprites-sized codes of the
factors and of a rotation of them (5,000 points, 25 fits each) both converged and their
predictions agreed on at least 99.9% of the points, the primal in half the time.
``random_state=0`` (only the dual solver would use it; disentanglement_lib leaves numpy's
global state).

The paper preset is disentanglement_lib's (10,000 training and 5,000 test points drawn in
batches of 16).
"""

from __future__ import annotations

import numpy as np

from disentangle.data.base import GroundTruthDataset
from disentangle.metrics.factor_codes import (
    TrainTestCodes,
    draw_train_test,
    require_classes,
    require_dimensions,
)
from disentangle.metrics.spec import MetricSpec, metric_function


def score_matrix(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                 y_test: np.ndarray) -> np.ndarray:
    """Step 2: (dims x factors) test accuracy of a one-dimensional linear classifier."""
    from sklearn.svm import LinearSVC

    matrix = np.zeros((x_train.shape[1], y_train.shape[1]))
    for k in range(y_train.shape[1]):
        require_classes("sap", "num_train", y_train[:, k], k)
        for d in range(x_train.shape[1]):
            classifier = LinearSVC(C=0.01, class_weight="balanced", random_state=0)
            classifier.fit(x_train[:, d:d + 1], y_train[:, k])
            matrix[d, k] = np.mean(classifier.predict(x_test[:, d:d + 1]) == y_test[:, k])
    return matrix


def draw(data: GroundTruthDataset, settings: dict, random_state) -> TrainTestCodes:
    return draw_train_test(data, settings, random_state)


def score(codes: TrainTestCodes, represent, data: GroundTruthDataset, settings: dict) -> dict:
    """Steps 2-3 given the drawn points; with the score matrix."""
    del data, settings  # everything the score needs was drawn
    x_train, x_test = represent(codes.train.indices), represent(codes.test.indices)
    require_dimensions("sap", x_train)
    matrix = score_matrix(x_train, codes.train.factors, x_test, codes.test.factors)
    top_two = -np.sort(-matrix, axis=0)[:2]
    gaps = top_two[0] - top_two[1]
    return {"score": float(np.mean(gaps)), "per_factor_gap": gaps.tolist(),
            "factor_to_dim": matrix.argmax(axis=0).tolist(), "score_matrix": matrix.tolist()}


def summarise(result: dict) -> dict:
    return {"sap_score": result["score"]}


SPEC = MetricSpec(
    key="sap", name="SAP", reference="Kumar et al. 2018",
    presets={"paper": {"num_train": 10_000, "num_test": 5_000, "batch_size": 16},
             "fast": {"num_train": 2_000, "num_test": 1_000, "batch_size": 16}},
    minimums={"num_train": 2, "num_test": 1, "batch_size": 1},
    draw=draw, score=score, summarise=summarise,
    result_keys=("sap_score",), main_key="sap_score", per_epoch=False,
    returns=("score, per_factor_gap, factor_to_dim (each factor's most predictive dimension), "
             "the (dims x factors) score_matrix of test accuracies"))


sap_metric = metric_function(SPEC, "sap_metric")
