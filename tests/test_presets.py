"""Every preset and every dataset size the docs offer runs end to end (issue #12: the
``faces`` preset crashed at its first epoch because no test ran it).

- A ground-truth dataset of over 10^10 images is scored by every per-epoch metric in bounded
  memory (the encoding cache grows with the images drawn, not with the dataset).
- Each preset that trains (paper, core, locatello, faces; quick, optuna and celeba have their
  own tests) runs through a real sweep at tiny size, and every model reports both
  disentanglement scores.
- ``vae-study evaluate --dataset faces`` scores a faces model.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from disentangle.data.base import GroundTruthDataset


class HugeFactors(GroundTruthDataset):
    """4 factors of 400 classes each, 2.56e10 images; an observation is its factors."""

    name = "huge_factors"

    @property
    def factors_num_values(self):
        return (400, 400, 400, 400)

    @property
    def observation_shape(self):
        return (4, 1, 1)

    def images(self, indices):
        return self.index_to_factors(indices).astype(np.float32).reshape(-1, 4, 1, 1)


def test_a_dataset_of_over_ten_billion_images_is_scored_in_bounded_memory():
    from disentangle.metrics import evaluate

    data = HugeFactors()
    assert len(data) > 10 ** 10
    tracemalloc.start()
    try:
        scores = evaluate(data, lambda x: x.reshape(len(x), -1) / 400.0,
                          np.random.RandomState(0), preset="fast")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200e6, f"{peak / 1e6:.0f} MB"      # a dense table would need 205 GB
    assert scores["beta_vae_score"] > 0.9 and scores["factor_vae_score"] > 0.9
    assert scores["metric_images_encoded"] <= scores["metric_images_drawn"]


@pytest.mark.parametrize("preset", ["paper", "core", "locatello", "faces"])
def test_each_training_preset_runs_through_a_sweep(preset, ray_cluster, tmp_path, tiny):
    from analysis.results import load_results
    from study.config import load_study
    from study.sweep import run_sweep

    pool = ["dataset.pool=64"] if preset == "faces" else []   # a tiny pool to render
    # Locatello's 36 models score the papers' metrics only: DCI's boosted trees alone would
    # cost a minute here, and the paper preset's sweep scores every metric.
    cheap = (['metrics.sets={"fast": null, "paper": ["beta_vae", "factor_vae", "mig"]}']
             if preset == "locatello" else [])
    study = load_study(preset, tiny(epochs=1, steps=2) + [
        "resources.gpus_per_trial=0", "images.every=0", *pool, *cheap])
    outcome = run_sweep(study, tmp_path, preset)
    assert not len(outcome.errored())
    final = load_results(tmp_path / preset).final
    assert len(final) == len(study.models)
    assert (final["status"] == "finished").all()
    for score in ("beta_vae_score", "factor_vae_score", "paper_beta_vae_score",
                  "paper_factor_vae_score"):
        assert final[score].between(0, 1).all(), score


def test_evaluate_scores_a_faces_model_on_the_faces(tmp_path, capsys):
    import pandas as pd
    import torch
    from conftest import TINY_METRICS

    from disentangle.models import build_model, make_checkpoint, write_checkpoint
    from study.cli import main

    torch.manual_seed(0)
    model = build_model("standard", num_channels=3, latent_dim=32)
    checkpoint = write_checkpoint(make_checkpoint(
        {"architecture": "standard", "build": model.build_options(), "model": "vae"},
        model.state_dict()), tmp_path / "faces_vae.pt")
    settings = [f"{key}={value}" for key, value in TINY_METRICS.items()]
    code = main(["evaluate", str(checkpoint), "--dataset", "faces", "--preset", "fast",
                 "--out", str(tmp_path / "scores.csv"), "--device", "cpu",
                 *sum((["--set", item] for item in settings), [])])
    assert code == 0, capsys.readouterr().err
    row = pd.read_csv(tmp_path / "scores.csv").iloc[0]
    for key in ("beta_vae_score", "factor_vae_score", "mig_score", "tc_large_sample"):
        assert 0 <= row[key] and (key == "tc_large_sample" or row[key] <= 1), key
