"""The FactorVAE metric (Kim & Mnih 2018), as disentanglement_lib computes it.

  1. Encode ``num_variance_estimate`` random observations; the global variance of each
     dimension is their sample variance (ddof=1).
  2. Prune: a dimension is active when its global standard deviation is at least
     ``prune_threshold`` (0.05 in the paper); collapsed dimensions carry no information and
     would otherwise divide by zero. No active dimension -> the score is 0, with a warning.
  3. One vote: choose a factor k uniformly, sample ``batch_size`` factor rows, give all of them
     the first row's value of factor k, encode them, divide each active dimension's sample
     variance over the batch by its global variance (i.e. normalise by the global standard
     deviation) and take the argmin: the vote is (that dimension, k). A dimension that
     captures factor k alone has zero variance when k is fixed.
  4. The classifier is a majority vote: each dimension predicts the factor that gave it the
     most training votes (ties and dimensions without votes -> the lowest factor index, as
     numpy's argmax and disentanglement_lib do). Accuracy = share of votes whose dimension
     predicts their factor, over ``num_train`` training votes and ``num_eval`` fresh votes
     (the score).

Random draws happen in disentanglement_lib's order (variance sample, then per vote: k, the
batch; training votes, then evaluation votes), all before any encoding, so the deduplicated and
the plain computation consume the random state identically and give identical scores. One
difference from disentanglement_lib: its num_active_dims is the length of the boolean mask
(always the number of dimensions); here it is the number of active dimensions. The paper preset
is disentanglement_lib's (10,000 observations for the variances, batches of 64, 10,000 training
and 5,000 evaluation votes, threshold 0.05).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disentangle.data.base import GroundTruthDataset
from disentangle.metrics.spec import MetricSpec, metric_function

#: Votes whose batches are gathered at once (bounds memory for large batches).
_CHUNK = 2048

COLLAPSED_WARNING = ("all dimensions collapsed: no dimension has a global standard deviation "
                     "of at least prune_threshold, so the score is 0")


@dataclass
class FactorVAEDraw:
    """The drawn factors of ``P`` votes, as dataset indices."""

    labels: np.ndarray   # (P,) the fixed factor of each vote
    indices: np.ndarray  # (P, batch_size) the batch of each vote


def draw_votes(data: GroundTruthDataset, batch_size: int, num_votes: int,
               random_state: np.random.RandomState) -> FactorVAEDraw:
    """Step 3's draws for ``num_votes`` votes, in disentanglement_lib's order."""
    labels = np.empty(num_votes, dtype=np.int64)
    factors = np.empty((num_votes, batch_size, data.num_factors), dtype=np.int64)
    for vote in range(num_votes):
        labels[vote] = random_state.randint(data.num_factors)
        factors[vote] = data.sample_factors(batch_size, random_state)
        factors[vote, :, labels[vote]] = factors[vote, 0, labels[vote]]
    indices = data.factors_to_index(factors.reshape(-1, data.num_factors))
    return FactorVAEDraw(labels, indices.reshape(num_votes, batch_size))


@dataclass
class FactorVAEVotes:
    """The variance sample's indices, then the training and evaluation votes."""

    variance_sample: np.ndarray  # (num_variance_estimate,)
    train: FactorVAEDraw
    evaluation: FactorVAEDraw

    @property
    def index_arrays(self) -> list[np.ndarray]:
        return [self.variance_sample, self.train.indices, self.evaluation.indices]


def draw(data: GroundTruthDataset, settings: dict, random_state) -> FactorVAEVotes:
    """The variance sample's indices, then the training and evaluation votes."""
    variance_sample = data.factors_to_index(
        data.sample_factors(settings["num_variance_estimate"], random_state))
    train = draw_votes(data, settings["batch_size"], settings["num_train"], random_state)
    evaluation = draw_votes(data, settings["batch_size"], settings["num_eval"], random_state)
    return FactorVAEVotes(variance_sample, train, evaluation)


def count_votes(votes: FactorVAEDraw, represent, num_factors: int, global_variances: np.ndarray,
                active: np.ndarray) -> np.ndarray:
    """Step 3 for every drawn vote: the (num_factors, num_dims) matrix of vote counts."""
    active_dims = np.flatnonzero(active)
    counts = np.zeros((num_factors, global_variances.size), dtype=np.int64)
    for start in range(0, len(votes.labels), _CHUNK):
        part = slice(start, start + _CHUNK)
        representations = represent(votes.indices[part]).astype(np.float64)
        local_variances = np.var(representations, axis=1, ddof=1)
        normalised = local_variances[:, active_dims] / global_variances[active_dims]
        np.add.at(counts, (votes.labels[part], active_dims[normalised.argmin(axis=1)]), 1)
    return counts


def accuracy(votes: np.ndarray, classifier: np.ndarray) -> float:
    """Share of ``votes`` (factors x dims) whose dimension's predicted factor is their factor."""
    return float(votes[classifier, np.arange(votes.shape[1])].sum() / votes.sum())


def score(votes: FactorVAEVotes, represent, data: GroundTruthDataset, settings: dict) -> dict:
    """Steps 1-4 given the drawn indices; with diagnostics."""
    variance_sample, train, evaluation = votes.variance_sample, votes.train, votes.evaluation
    num_factors, prune_threshold = data.num_factors, settings["prune_threshold"]
    global_variances = np.var(represent(variance_sample).astype(np.float64), axis=0, ddof=1)
    active = np.sqrt(global_variances) >= prune_threshold
    base = {"num_active_dims": int(active.sum()), "active_dims": active.tolist(),
            "global_std": np.sqrt(global_variances).tolist()}
    if not active.any():
        return {**base, "train_accuracy": 0.0, "eval_accuracy": 0.0,
                "warning": COLLAPSED_WARNING}
    train_votes = count_votes(train, represent, num_factors, global_variances, active)
    eval_votes = count_votes(evaluation, represent, num_factors, global_variances, active)
    classifier = train_votes.argmax(axis=0)
    correct = eval_votes[classifier, np.arange(classifier.size)]
    per_factor = np.bincount(classifier, weights=correct, minlength=num_factors) / np.maximum(
        eval_votes.sum(axis=1), 1)
    voted = active & (train_votes.sum(axis=0) > 0)
    return {
        **base,
        "train_accuracy": accuracy(train_votes, classifier),
        "eval_accuracy": accuracy(eval_votes, classifier),
        "per_factor_accuracy": per_factor.tolist(),
        "train_votes": train_votes.tolist(),
        "eval_votes": eval_votes.tolist(),
        "dim_to_factor": np.where(voted, classifier, -1).tolist(),
        "factor_to_dims": [np.flatnonzero(voted & (classifier == k)).tolist()
                           for k in range(num_factors)],
    }


def summarise(result: dict) -> dict:
    flat = {"factor_vae_score": result["eval_accuracy"],
            "factor_vae_train_accuracy": result["train_accuracy"],
            "factor_vae_active_dims": result["num_active_dims"]}
    if "warning" in result:
        flat["factor_vae_warning"] = result["warning"]
    return flat


SPEC = MetricSpec(
    key="factor_vae", name="FactorVAE", reference="Kim & Mnih 2018",
    presets={"paper": {"batch_size": 64, "num_train": 10_000, "num_eval": 5_000,
                       "num_variance_estimate": 10_000, "prune_threshold": 0.05},
             # ~21,000 draws; accuracy on 100 evaluation votes: +- 5 points (1 s.d.).
             "fast": {"batch_size": 64, "num_train": 200, "num_eval": 100,
                      "num_variance_estimate": 2_000, "prune_threshold": 0.05}},
    minimums={"batch_size": 2, "num_train": 1, "num_eval": 1, "num_variance_estimate": 2},
    real_minimums={"prune_threshold": 0.0},
    draw=draw, score=score, summarise=summarise,
    result_keys=("factor_vae_score", "factor_vae_train_accuracy", "factor_vae_active_dims"),
    main_key="factor_vae_score", per_epoch=True,
    returns=("train_accuracy, eval_accuracy (the score), num_active_dims, active_dims, "
             "global_std, per_factor_accuracy, the training and evaluation vote matrices (factor "
             "x dimension), dim_to_factor (the majority-vote classifier; -1 for pruned "
             "dimensions and dimensions without training votes), factor_to_dims, a ``warning`` "
             "when every dimension collapsed"))


factor_vae_metric = metric_function(SPEC, "factor_vae_metric")
