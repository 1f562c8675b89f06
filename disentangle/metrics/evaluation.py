"""Both metrics in one evaluation, sharing one encoding cache."""

from __future__ import annotations

import time

import numpy as np

from disentangle.data.base import GroundTruthDataset
from disentangle.metrics import beta_vae, factor_vae
from disentangle.metrics.encoding import check_dataset, make_encoder
from disentangle.metrics.settings import resolve_settings, split_overrides


def evaluate(ground_truth_data: GroundTruthDataset, representation_function,
             random_state: np.random.RandomState, preset: str = "fast", details: bool = False,
             **overrides) -> dict:
    """The BetaVAE and FactorVAE metrics of one representation, as a flat dict of numbers.

    Draws everything both metrics need first (BetaVAE's points, then FactorVAE's variance
    sample and votes: the same draws as calling ``beta_vae_metric`` then ``factor_vae_metric``
    with this random state), then encodes each distinct observation once and scores both.
    ``overrides`` are flat: ``beta_vae_num_train=...``, ``factor_vae_prune_threshold=...``, or
    the shared ``deduplicate`` / ``encode_batch_size``. With ``details=True`` the result also
    holds each metric's full result (diagnostics) under "beta_vae" and "factor_vae".
    """
    started = time.perf_counter()
    beta_overrides, factor_overrides = split_overrides(overrides)
    beta_settings = resolve_settings("beta_vae", preset, **beta_overrides)
    factor_settings = resolve_settings("factor_vae", preset, **factor_overrides)
    check_dataset(ground_truth_data)
    beta_train, beta_eval = beta_vae.draw(ground_truth_data, beta_settings, random_state)
    variance_sample, factor_train, factor_eval = factor_vae.draw(
        ground_truth_data, factor_settings, random_state)
    index_arrays = [*beta_train.index_arrays, *beta_eval.index_arrays, variance_sample,
                    factor_train.indices, factor_eval.indices]
    represent = make_encoder(ground_truth_data, representation_function, index_arrays,
                             beta_settings["deduplicate"], beta_settings["encode_batch_size"])
    beta = beta_vae.score_points(beta_train, beta_eval, represent,
                                 ground_truth_data.num_factors, random_state)
    factor = factor_vae.score_votes(variance_sample, factor_train, factor_eval, represent,
                                    ground_truth_data.num_factors,
                                    factor_settings["prune_threshold"])
    result = {
        "beta_vae_score": beta["eval_accuracy"],
        "beta_vae_train_accuracy": beta["train_accuracy"],
        "factor_vae_score": factor["eval_accuracy"],
        "factor_vae_train_accuracy": factor["train_accuracy"],
        "factor_vae_active_dims": factor["num_active_dims"],
        "metric_images_drawn": sum(a.size for a in index_arrays),
        "metric_images_encoded": represent.encoded,
        "seconds": time.perf_counter() - started,
    }
    if "warning" in factor:
        result["factor_vae_warning"] = factor["warning"]
    if details:
        result.update(beta_vae=beta, factor_vae=factor)
    return result
