"""The attribute classifier's check on held-out images, and whether to trust it.

``validate`` measures each attribute's accuracy (threshold 0.5) and ROC AUC (``sklearn``) on
images the classifier never saw. An attribute counts as *recognised* only when the classifier is
clearly better than chance there (``recognised``):

* ROC AUC at least ``MIN_AUC``, with the lower end of its 95% interval above 0.5 (the standard
  error of Hanley & McNeil 1982, from the held-out positives and negatives), and
* the lower end of the accuracy's 95% interval (Wilson 1927's score interval, sound for a handful
  of images too) above the share of the commoner class, which always guessing it scores: a
  ranking that never turns into right yes/no answers cannot say whether an edit flipped the
  attribute.

Only recognised attributes are scored for side effects or get a verdict: a classifier at chance
would turn noise into winners.
"""

from __future__ import annotations

import math

import numpy as np

#: The least held-out ROC AUC of an attribute the study scores and judges by.
MIN_AUC = 0.75
Z_95 = 1.959964


def auc_interval(auc: float, positives: int, negatives: int) -> tuple[float, float]:
    """The 95% interval of a ROC AUC from Hanley & McNeil (1982)'s standard error."""
    if math.isnan(auc) or not positives or not negatives:
        return math.nan, math.nan
    q1, q2 = auc / (2 - auc), 2 * auc ** 2 / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc ** 2)
                + (negatives - 1) * (q2 - auc ** 2)) / (positives * negatives)
    error = math.sqrt(max(variance, 0.0))
    return max(0.0, auc - Z_95 * error), min(1.0, auc + Z_95 * error)


def recognised(entry: dict) -> bool:
    """A validation entry's attribute is told apart clearly better than chance (see the
    module docstring)."""
    count, accuracy = entry["count"], entry["accuracy"]
    majority = max(entry["positives"], count - entry["positives"]) / count
    return (not math.isnan(entry["auc"]) and entry["auc"] >= MIN_AUC
            and entry["auc_low"] > 0.5 and wilson_low(accuracy, count) > majority)


def describe(entry: dict) -> str:
    """"AUC 0.93 (95% CI 0.90–0.96), accuracy 0.88 against 0.50 for always guessing the
    commoner class, on 500 held-out images (212 with it)"."""
    if math.isnan(entry["auc"]):
        auc = "no AUC (the held-out images are all on one side)"
    else:
        auc = f"AUC {entry['auc']:.2f} (95% CI {entry['auc_low']:.2f}–{entry['auc_high']:.2f})"
    majority = max(entry["positives"], entry["count"] - entry["positives"]) / entry["count"]
    return (f"{auc}, accuracy {entry['accuracy']:.2f} against {majority:.2f} for always "
            f"guessing the commoner class, on {entry['count']} held-out images "
            f"({entry['positives']} with it)")


def wilson_low(share: float, count: int) -> float:
    """The lower end of Wilson's 95% score interval of a proportion ``share`` of ``count``."""
    z2 = Z_95 ** 2
    centre = (share + z2 / (2 * count)) / (1 + z2 / count)
    half = Z_95 * math.sqrt(share * (1 - share) / count + z2 / (4 * count ** 2)) / (1 + z2 / count)
    return centre - half


def validate(network, images, labels: np.ndarray, attribute_names, source: str) -> dict:
    """Per-attribute accuracy (threshold 0.5), ROC AUC and its 95% interval on held-out
    ``images`` (``network.probabilities`` scores them). An attribute whose held-out labels
    are all equal has no AUC (NaN)."""
    from sklearn.metrics import roc_auc_score

    probabilities = network.probabilities(images)
    results = {}
    for k, name in enumerate(attribute_names):
        truth = labels[:, k]
        positives = int(truth.sum())
        auc = (float(roc_auc_score(truth, probabilities[:, k]))
               if 0 < positives < len(truth) else math.nan)
        low, high = auc_interval(auc, positives, len(truth) - positives)
        results[name] = {
            "accuracy": float(((probabilities[:, k] > 0.5) == truth).mean()),
            "auc": auc, "auc_low": low, "auc_high": high,
            "positives": positives, "count": int(len(truth))}
    return {"source": source, "attributes": results}
