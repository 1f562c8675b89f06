"""The Mutual Information Gap (Chen et al. 2018, "Isolating Sources of Disentanglement in
VAEs"), as disentanglement_lib computes it.

  1. Draw ``num_train`` points (factors uniform and independent) and encode them.
  2. Discretise each code dimension into ``num_bins`` equal-width bins over its observed range.
  3. Estimate the mutual information I(z_d; v_k) between each discretised dimension d and each
     factor k (plug-in estimate from the joint histogram, in nats) and each factor's entropy
     H(v_k) (plug-in, from the same sample).
  4. For each factor, the gap between the two dimensions with the largest mutual information,
     divided by H(v_k); the score is the mean gap over factors.

A factor captured by exactly one dimension has a gap near 1 (less where the bins merge its
values: 20 bins cannot separate 32 positions); a factor spread over two dimensions, or captured
by none, has a gap near 0. Chen et al. estimate I(z_d; v_k) from the encoder's full posterior;
disentanglement_lib (and so this module) bins the means instead. The plug-in estimate is biased
upwards by about (bins - 1)(classes - 1) / (2 N) nats for independent variables, so with few
points even an uninformative dimension shows some mutual information.

Besides ``mig_score`` it reports, for each factor k, ``mig_factor_information_k`` = max_d
I(z_d; v_k) / H(v_k): the share of the factor's entropy held by its most informative dimension
(one key per factor, so their number is the dataset's, beyond the fixed ``result_keys``). A
model with no dimension informative about a factor has dropped it; Kim & Mnih's critique of
the BetaVAE metric on trained models (``analysis.verdicts.metrics``) reads these.

The paper preset is disentanglement_lib's (10,000 points drawn in batches of 16, 20 bins).
"""

from __future__ import annotations

import numpy as np

from disentangle.data.base import GroundTruthDataset
from disentangle.errors import UserError
from disentangle.metrics.factor_codes import (
    FactorCodes,
    discrete_entropy,
    discrete_mutual_info,
    draw_codes,
    histogram_discretize,
    require_dimensions,
)
from disentangle.metrics.spec import MetricSpec, metric_function


def draw(data: GroundTruthDataset, settings: dict, random_state) -> FactorCodes:
    return draw_codes(data, settings["num_train"], settings["batch_size"], random_state)


def score(codes: FactorCodes, represent, data: GroundTruthDataset, settings: dict) -> dict:
    """Steps 2-4 given the drawn points; with the mutual-information matrix."""
    representations = represent(codes.indices)
    require_dimensions("mig", representations)
    entropy = discrete_entropy(codes.factors)
    if not (entropy > 0).all():
        raise UserError(f"mig num_train is too small: factor {int(np.argmin(entropy))} takes a "
                        "single value among the points, so its entropy is 0; use more points")
    mutual_information = discrete_mutual_info(
        histogram_discretize(representations, settings["num_bins"]), codes.factors)
    top_two = -np.sort(-mutual_information, axis=0)[:2]
    gaps = (top_two[0] - top_two[1]) / entropy
    return {
        "score": float(np.mean(gaps)),
        "per_factor_gap": gaps.tolist(),
        "factor_information": (top_two[0] / entropy).tolist(),
        "factor_to_dim": mutual_information.argmax(axis=0).tolist(),
        "mutual_information": mutual_information.tolist(),
        "factor_entropy": entropy.tolist(),
    }


def summarise(result: dict) -> dict:
    return {"mig_score": result["score"],
            **{f"mig_factor_information_{k}": value
               for k, value in enumerate(result["factor_information"])}}


SPEC = MetricSpec(
    key="mig", name="MIG", reference="Chen et al. 2018",
    presets={"paper": {"num_train": 10_000, "batch_size": 16, "num_bins": 20},
             "fast": {"num_train": 2_000, "batch_size": 16, "num_bins": 20}},
    minimums={"num_train": 2, "batch_size": 1, "num_bins": 2},
    draw=draw, score=score, summarise=summarise,
    result_keys=("mig_score",), main_key="mig_score", per_epoch=True,
    returns=("score, per_factor_gap, factor_information (each factor's normalised information in "
             "its most informative dimension), factor_to_dim (the most informative dimension of "
             "each factor), the (dims x factors) mutual_information and factor_entropy in nats"))


mig_metric = metric_function(SPEC, "mig_metric")
