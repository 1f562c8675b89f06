"""The Ray Tune Trainables: what each epoch reports, checkpoints, TensorBoard files, and a
diverging trial erroring while the sweep goes on."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_METRICS

CONTRACT_METRICS = [
    "loss", "reconstruction", "kl", "active_dims", "tc_mws", "elbo",
    *[f"kl_dim_{d}" for d in range(10)],
    "beta_vae_score", "beta_vae_train_accuracy", "factor_vae_score",
    "factor_vae_train_accuracy", "factor_vae_active_dims",
    "steps", "images_seen", "images_per_second", "epoch_seconds", "metric_seconds",
    "training_iteration"]
FACTOR_VAE_METRICS = ["tc_discriminator", "discriminator_accuracy", "discriminator_loss"]


def _events(folder: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(folder), size_guidance={"images": 0, "scalars": 0,
                                                               "tensors": 0})
    accumulator.Reload()
    return accumulator


def test_factor_vae_trainable_reports_every_metric_checkpoints_and_writes_tensorboard(
        ray_cluster, tmp_path):
    """A FactorVAE trial run by Tune directly (not through the sweep, so the worker loads the
    dataset itself) reports the whole contract each epoch, the paper scores only after the last
    epoch, keeps one checkpoint that resumes at the right step, and leaves TensorBoard scalars,
    hyperparameters and both image panels that read back."""
    from ray import tune

    from disentangle.data import get_dataset
    from disentangle.training import Trainer
    from trainables import FactorVAETrainable

    # gamma is "searched" (a one-value grid) so that Tune logs it as a hyperparameter
    config = {"gamma": tune.grid_search([10.0]), "seed": 3, "batch_size": 16, "dataset": "dsprites",
              "epochs": 2, "steps_per_epoch": 3,
              "metrics": {"enabled": True, "fast": TINY_METRICS, "paper": TINY_METRICS,
                          "paper_every": 0},
              "images": {"every": 1, "count": 2, "traversal_range": 2.0, "traversal_steps": 3}}
    tuner = tune.Tuner(
        tune.with_resources(FactorVAETrainable, {"cpu": 1}), param_space=config,
        run_config=tune.RunConfig(
            name="direct", storage_path=str(tmp_path), verbose=0,
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1, checkpoint_frequency=1),
            sync_config=tune.SyncConfig(sync_artifacts=True)))
    result = tuner.fit()[0]
    assert result.error is None

    history = result.metrics_dataframe
    assert list(history["training_iteration"]) == [1, 2]
    for name in CONTRACT_METRICS + FACTOR_VAE_METRICS:
        assert history[name].notna().all(), name
    assert list(history["steps"]) == [3, 6]
    assert list(history["images_seen"]) == [48, 96]
    assert math.isnan(history["paper_factor_vae_score"].iloc[0])
    assert not math.isnan(history["paper_factor_vae_score"].iloc[1])
    assert (history["device"] == "cpu").all()

    trial_dir = Path(result.path)
    checkpoints = sorted(trial_dir.glob("checkpoint_*"))
    assert len(checkpoints) == 1
    resumed = Trainer.from_checkpoint(checkpoints[0] / "trainer.pt", get_dataset("dsprites"))
    assert resumed.step == 6 and resumed.config["model"] == "factor_vae"
    assert resumed.config["gamma"] == 10.0

    scalars = _events(trial_dir)
    tags = scalars.Tags()["scalars"]
    for name in ("loss", "factor_vae_score", "tc_discriminator", "images_per_second"):
        assert f"ray/tune/{name}" in tags
        assert [event.step for event in scalars.Scalars(f"ray/tune/{name}")] == [1, 2]
    assert scalars.PluginTagToContent("hparams"), "hyperparameters missing"

    panels = _events(trial_dir / "images")
    assert set(panels.Tags()["images"]) == {"reconstructions", "traversals"}
    traversals = panels.Images("traversals")
    assert [image.step for image in traversals] == [1, 2]
    # one 64-px row per latent dimension, one column per traversal step, 2-px padding
    assert (traversals[-1].height, traversals[-1].width) == (2 + 10 * 66, 2 + 3 * 66)
    reconstructions = panels.Images("reconstructions")[-1]
    assert (reconstructions.height, reconstructions.width) == (2 + 2 * 66, 2 + 2 * 66)


def test_diverging_trial_errors_with_a_clear_message_and_the_sweep_goes_on(
        ray_cluster, tmp_path, tiny):
    from study.config import load_study
    from study.sweep import run_sweep

    study = load_study("quick", tiny(epochs=2) + [
        'variants=[{"model": "vae", "lr": 1e30}, {"model": "vae"}]', "max_failures=0"])
    outcome = run_sweep(study, tmp_path, "nan")
    trials = outcome.trials.set_index("status")
    assert len(outcome.trials) == 2
    errored = outcome.errored()
    assert len(errored) == 1
    message = (tmp_path / "nan" / errored.iloc[0]["trial"] / "error.txt").read_text()
    assert "DivergedError" in message and "training diverged" in message
    assert "lower the learning rate" in message
    assert trials.loc["ok", "epochs"] == 2
    assert "errored:" in outcome.format()


def test_panels_show_one_traversal_row_per_latent_dimension():
    from disentangle.models import build_model
    from trainables.panels import reconstruction_panel, traversal_panel

    torch.manual_seed(0)
    model = build_model(latent_dim=4).eval()
    images = torch.from_numpy(np.random.RandomState(0).rand(3, 1, 64, 64).astype(np.float32))
    panel = traversal_panel(model, images[0], limit=2.0, steps=5)
    assert panel.shape == (3, 2 + 4 * 66, 2 + 5 * 66)
    assert 0 <= panel.min() and panel.max() <= 1
    # within a row only the traversed coordinate changes, so the columns differ
    row = panel[:, 2:66, :]
    assert not torch.equal(row[:, :, 2:66], row[:, :, 2 + 4 * 66:66 + 4 * 66])
    assert reconstruction_panel(model, images).shape == (3, 2 + 2 * 66, 2 + 3 * 66)


def test_each_model_kind_has_its_trainable():
    from trainables import TRAINABLES, StudyTrainable

    assert {kind: cls.model_kind for kind, cls in TRAINABLES.items()} == {
        "vae": "vae", "beta_vae": "beta_vae", "factor_vae": "factor_vae"}
    assert all(issubclass(cls, StudyTrainable) for cls in TRAINABLES.values())
