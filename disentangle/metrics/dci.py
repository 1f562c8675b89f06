"""DCI: disentanglement, completeness and informativeness (Eastwood & Williams 2018, "A
Framework for the Quantitative Evaluation of Disentangled Representations"), as
disentanglement_lib computes it.

  1. Draw ``num_train`` and then ``num_test`` points (factors uniform and independent) and
     encode them.
  2. For each factor k, fit gradient-boosted trees predicting k's class from the whole code on
     the training points. Their impurity-based feature importances form column k of the
     (dims x factors) importance matrix R (each column sums to 1).
  3. Disentanglement: for each dimension d, 1 - H_K(R[d, :] / sum R[d, :]) (entropy with
     logarithm base K: 1 when d matters for one factor only, 0 when for all equally), averaged
     with weights sum R[d, :] / sum R. Completeness: for each factor k,
     1 - H_D(R[:, k] / sum R[:, k]) (1 when one dimension alone predicts k), averaged with
     weights sum R[:, k] / sum R. Both add 1e-11 to R before the entropies, as
     disentanglement_lib does.
  4. Informativeness: the trees' accuracy on the test points, averaged over factors (and on the
     training points, ``informativeness_train``). Eastwood & Williams define it as a
     prediction error; disentanglement_lib reports accuracy, and so does this module.

The trees (``classifier``):
  * ``gbt`` (the paper preset): scikit-learn's GradientBoostingClassifier with its default
    settings (100 rounds of depth-3 trees, learning rate 0.1), exactly disentanglement_lib's.
    Slow: every round fits one tree per class on exact sorted splits.
  * ``hist_gbt``: scikit-learn's HistGradientBoostingClassifier with the same model class
    (100 rounds, depth 3, learning rate 0.1, no L2 penalty, leaves of >= 1 point, no early
    stopping) on features binned into 255 quantiles, fitted on one OpenMP thread (its trees
    are small: on a busy 2-core machine one fit took 0.5 s of CPU on one thread and 43 s on
    two, whose OpenMP threads spin while waiting for each other).
    It has no ``feature_importances_``;
    the importance here is the same definition GradientBoostingClassifier uses, computed from
    the fitted trees: each tree's loss reduction summed per feature over its splits, averaged
    over the trees with at least one split, normalised to sum 1. Its loss reduction weighs
    points by the log-loss Hessian where GradientBoostingClassifier's regression trees weigh
    them equally. The README quotes both classifiers' scores on the same representations.
Both use ``random_state=0``: with every feature considered at every split, the random state
only breaks ties between equally good splits; disentanglement_lib leaves it unset (numpy's
global state).

The paper preset is disentanglement_lib's (10,000 training and 5,000 test points drawn in
batches of 16).
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from disentangle.data.base import GroundTruthDataset
from disentangle.errors import UserError
from disentangle.metrics.factor_codes import (
    TrainTestCodes,
    draw_train_test,
    require_classes,
    require_dimensions,
)
from disentangle.metrics.spec import MetricSpec, metric_function

CLASSIFIERS = ("gbt", "hist_gbt")


def make_classifier(name: str):
    """The gradient-boosted trees ``classifier`` names (see the module docstring)."""
    from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier

    if name == "gbt":
        return GradientBoostingClassifier(random_state=0)
    return HistGradientBoostingClassifier(
        learning_rate=0.1, max_iter=100, max_depth=3, max_leaf_nodes=None, min_samples_leaf=1,
        l2_regularization=0.0, early_stopping=False, random_state=0)


def feature_importances(model, num_features: int) -> np.ndarray:
    """Normalised impurity-based importance of each feature in fitted boosted trees."""
    if hasattr(model, "feature_importances_"):
        return np.abs(model.feature_importances_)
    per_tree = []
    # scikit-learn keeps the fitted trees in a private attribute, one list per round (the
    # oracle tests fail if that ever changes)
    for trees in model._predictors:
        for tree in trees:
            splits = tree.nodes[~tree.nodes["is_leaf"].astype(bool)]
            if splits.size:
                per_tree.append(np.bincount(splits["feature_idx"], weights=splits["gain"],
                                            minlength=num_features))
    if not per_tree:
        return np.zeros(num_features)
    mean = np.mean(per_tree, axis=0)
    return mean / mean.sum()


def entropy_scores(importance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension disentanglement and per-factor completeness of an importance matrix
    (dims x factors): one minus the normalised entropy of its rows / columns."""
    from scipy.stats import entropy

    num_dims, num_factors = importance.shape
    per_dim = 1.0 - entropy(importance.T + 1e-11, base=num_factors)
    per_factor = 1.0 - entropy(importance + 1e-11, base=num_dims)
    return per_dim, per_factor


def weighted_scores(importance: np.ndarray) -> tuple[float, float]:
    """Disentanglement and completeness: the per-dimension and per-factor scores weighted by
    each one's share of the total importance (uniform when nothing is important)."""
    per_dim, per_factor = entropy_scores(importance)
    weights = importance if importance.sum() > 0 else np.ones_like(importance)
    dim_weights = weights.sum(axis=1) / weights.sum()
    factor_weights = weights.sum(axis=0) / weights.sum()
    return float(np.sum(per_dim * dim_weights)), float(np.sum(per_factor * factor_weights))


def draw(data: GroundTruthDataset, settings: dict, random_state) -> TrainTestCodes:
    return draw_train_test(data, settings, random_state)


def score(codes: TrainTestCodes, represent, data: GroundTruthDataset, settings: dict) -> dict:
    """Steps 2-4 given the drawn points; with the importance matrix."""
    x_train, x_test = represent(codes.train.indices), represent(codes.test.indices)
    require_dimensions("dci", x_train)
    if data.num_factors < 2:
        raise UserError("dci needs a dataset with at least 2 factors (its disentanglement is "
                        "an entropy over factors)")
    importance = np.zeros((x_train.shape[1], data.num_factors))
    train_accuracy, test_accuracy = np.zeros(data.num_factors), np.zeros(data.num_factors)
    # Built (so scikit-learn's OpenMP library is loaded) before limiting it to one thread.
    models = [make_classifier(settings["classifier"]) for _ in range(data.num_factors)]
    with threadpool_limits(1, user_api="openmp"):
        for k, model in enumerate(models):
            y_train, y_test = codes.train.factors[:, k], codes.test.factors[:, k]
            require_classes("dci", "num_train", y_train, k)
            model.fit(x_train, y_train)
            importance[:, k] = feature_importances(model, x_train.shape[1])
            train_accuracy[k] = np.mean(model.predict(x_train) == y_train)
            test_accuracy[k] = np.mean(model.predict(x_test) == y_test)
    disentanglement, completeness = weighted_scores(importance)
    per_dim, per_factor = entropy_scores(importance)
    return {
        "disentanglement": disentanglement,
        "completeness": completeness,
        "informativeness_test": float(np.mean(test_accuracy)),
        "informativeness_train": float(np.mean(train_accuracy)),
        "per_dim_disentanglement": per_dim.tolist(),
        "per_factor_completeness": per_factor.tolist(),
        "per_factor_test_accuracy": test_accuracy.tolist(),
        "importance_matrix": importance.tolist(),
    }


def summarise(result: dict) -> dict:
    return {"dci_disentanglement": result["disentanglement"],
            "dci_completeness": result["completeness"],
            "dci_informativeness": result["informativeness_test"],
            "dci_informativeness_train": result["informativeness_train"]}


SPEC = MetricSpec(
    key="dci", name="DCI", reference="Eastwood & Williams 2018",
    presets={"paper": {"num_train": 10_000, "num_test": 5_000, "batch_size": 16,
                       "classifier": "gbt"},
             "fast": {"num_train": 2_000, "num_test": 1_000, "batch_size": 16,
                      "classifier": "hist_gbt"}},
    minimums={"num_train": 2, "num_test": 1, "batch_size": 1},
    choices={"classifier": CLASSIFIERS},
    draw=draw, score=score, summarise=summarise,
    result_keys=("dci_disentanglement", "dci_completeness", "dci_informativeness",
                 "dci_informativeness_train"),
    main_key="dci_disentanglement", per_epoch=False,
    returns=("disentanglement, completeness, informativeness_test (the informativeness), "
             "informativeness_train, the per-dimension and per-factor scores, per-factor test "
             "accuracy, the (dims x factors) importance matrix"))


dci_metric = metric_function(SPEC, "dci_metric")
