"""Modularity and explicitness (Ridgeway & Mozer 2018, "Learning Deep Disentangled Embeddings
With the F-Statistic Loss", section 3), as disentanglement_lib computes them.

  1. Draw ``num_train`` and then ``num_test`` points (factors uniform and independent) and
     encode them.
  2. Modularity, from the training points: the (dims x factors) mutual information m between
     each dimension, discretised into ``num_bins`` equal-width bins, and each factor (as MIG
     estimates it). A dimension is modular when it carries information about one factor only:
     with theta_d = max_k m[d, k], its deviation from that ideal is
     delta_d = (sum_k m[d, k]^2 - theta_d^2) / (theta_d^2 (K - 1)), its modularity 1 - delta_d
     (0 for a dimension with no information at all); the score is the mean over dimensions.
  3. Explicitness: standardise each dimension with the training points' mean and standard
     deviation; for each factor, fit a one-vs-rest logistic regression (one binary classifier
     per class, scikit-learn's liblinear solver, C = 1) on all dimensions of the training
     points, and take the ROC AUC of each class's predicted probability on the test points;
     a factor's explicitness is the mean AUC over its classes, the score the mean over factors
     (``explicitness_train``: the same on the training points).

Where this differs from disentanglement_lib, and why:
  * disentanglement_lib calls ``LogisticRegression()``; under the scikit-learn of its time
    that meant exactly the one-vs-rest liblinear fit above (Ridgeway & Mozer's classifier).
    Today's default would be a multinomial lbfgs fit, so the solver is stated explicitly.
  * A dimension that never varies (standard deviation 0, e.g. a collapsed latent) is left at 0
    after standardising instead of dividing by zero (disentanglement_lib would fail on NaN).
  * The AUC is taken for each class the classifier knows that occurs in the test points, and
    not for others; disentanglement_lib's binarised labels assume both sets are the same (as
    they are at the paper's sample sizes) and fail otherwise.

The paper preset is disentanglement_lib's (10,000 training and 5,000 test points drawn in
batches of 16, 20 bins).
"""

from __future__ import annotations

import numpy as np

from disentangle.data.base import GroundTruthDataset
from disentangle.errors import UserError
from disentangle.metrics.factor_codes import (
    TrainTestCodes,
    discrete_mutual_info,
    draw_train_test,
    histogram_discretize,
    require_classes,
)
from disentangle.metrics.spec import MetricSpec, metric_function


def modularity_per_dim(mutual_information: np.ndarray) -> np.ndarray:
    """Step 2's 1 - delta_d for each dimension of a (dims x factors) MI matrix."""
    squared = np.square(mutual_information)
    largest = squared.max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = (squared.sum(axis=1) - largest) / (largest * (squared.shape[1] - 1))
    return np.where(largest == 0, 0.0, 1.0 - delta)


def standardise(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both samples centred and scaled by the training sample's mean and standard deviation
    (a constant dimension is only centred)."""
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (x_train - mean) / std, (x_test - mean) / std


def mean_class_auc(classes: np.ndarray, probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean over ``classes`` present in ``labels`` (and absent from some) of the ROC AUC of
    that class's probability column for telling it from the others."""
    from sklearn.metrics import roc_auc_score

    aucs = [roc_auc_score(labels == value, probabilities[:, column])
            for column, value in enumerate(classes) if 0 < np.sum(labels == value) < len(labels)]
    if not aucs:
        raise UserError("modularity num_test is too small: no class of a factor occurs both in "
                        "the training points and (beside other classes) in the test points, so "
                        "no AUC can be computed; use more points")
    return float(np.mean(aucs))


def explicitness_per_factor(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                            y_test: np.ndarray) -> tuple[float, float]:
    """Step 3 for one factor: (training, test) mean class AUC."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    model = OneVsRestClassifier(LogisticRegression(solver="liblinear", random_state=0))
    model.fit(x_train, y_train)
    return (mean_class_auc(model.classes_, model.predict_proba(x_train), y_train),
            mean_class_auc(model.classes_, model.predict_proba(x_test), y_test))


def draw(data: GroundTruthDataset, settings: dict, random_state) -> TrainTestCodes:
    return draw_train_test(data, settings, random_state)


def score(codes: TrainTestCodes, represent, data: GroundTruthDataset, settings: dict) -> dict:
    """Steps 2-3 given the drawn points; with the per-dimension and per-factor scores."""
    if data.num_factors < 2:
        raise UserError("modularity needs a dataset with at least 2 factors")
    x_train, x_test = represent(codes.train.indices), represent(codes.test.indices)
    mutual_information = discrete_mutual_info(
        histogram_discretize(x_train, settings["num_bins"]), codes.train.factors)
    per_dim = modularity_per_dim(mutual_information)
    x_train, x_test = standardise(x_train.astype(np.float64), x_test.astype(np.float64))
    explicitness = np.zeros((data.num_factors, 2))
    for k in range(data.num_factors):
        require_classes("modularity", "num_train", codes.train.factors[:, k], k)
        explicitness[k] = explicitness_per_factor(x_train, codes.train.factors[:, k], x_test,
                                                  codes.test.factors[:, k])
    return {
        "modularity": float(np.mean(per_dim)),
        "explicitness_test": float(np.mean(explicitness[:, 1])),
        "explicitness_train": float(np.mean(explicitness[:, 0])),
        "per_dim_modularity": per_dim.tolist(),
        "per_factor_explicitness": explicitness[:, 1].tolist(),
        "mutual_information": mutual_information.tolist(),
    }


def summarise(result: dict) -> dict:
    return {"modularity_score": result["modularity"],
            "explicitness_score": result["explicitness_test"],
            "explicitness_train_score": result["explicitness_train"]}


SPEC = MetricSpec(
    key="modularity", name="Modularity & explicitness", reference="Ridgeway & Mozer 2018",
    presets={"paper": {"num_train": 10_000, "num_test": 5_000, "batch_size": 16,
                       "num_bins": 20},
             "fast": {"num_train": 2_000, "num_test": 1_000, "batch_size": 16,
                      "num_bins": 20}},
    minimums={"num_train": 2, "num_test": 1, "batch_size": 1, "num_bins": 2},
    draw=draw, score=score, summarise=summarise,
    result_keys=("modularity_score", "explicitness_score", "explicitness_train_score"),
    main_key="modularity_score", per_epoch=False,
    returns=("modularity, explicitness_test (the explicitness), explicitness_train, the "
             "per-dimension modularity, per-factor test explicitness, the (dims x factors) "
             "mutual information"))


modularity_explicitness_metric = metric_function(SPEC, "modularity_explicitness_metric")
