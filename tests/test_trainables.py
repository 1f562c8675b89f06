"""The Ray Tune Trainable: what each epoch reports per model, checkpoints, each model's
TensorBoard run, a model diverging inside a stack while the others go on, and a diverging
trial erroring while the sweep goes on."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_METRICS

from disentangle import kinds

#: What each model reports every epoch (under ``models/<name>/``).
CONTRACT_METRICS = [
    "loss", "reconstruction", "kl", "active_dims", "tc_minibatch", "elbo",
    *[f"kl_dim_{d}" for d in range(10)],
    "beta_vae_score", "beta_vae_train_accuracy", "factor_vae_score",
    "factor_vae_train_accuracy", "factor_vae_active_dims", "mig_score", "tc_large_sample",
    "steps", "images_seen"]
#: What only the paper preset scores (after the last epoch here): the slow metrics.
PAPER_ONLY_METRICS = ["sap_score", "dci_disentanglement", "modularity_score"]
FACTOR_VAE_METRICS = ["tc_discriminator", "discriminator_accuracy", "discriminator_loss"]
#: What the trial reports every epoch (at the top level).
TRIAL_METRICS = ["images_per_second", "model_steps_per_second", "epoch_seconds",
                 "metric_seconds", "training_iteration"]


def _events(folder: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(folder), size_guidance={"images": 0, "scalars": 0,
                                                               "tensors": 0})
    accumulator.Reload()
    return accumulator


def test_trainable_reports_every_metric_per_model_checkpoints_and_writes_its_run(
        ray_cluster, tmp_path):
    """A FactorVAE trial run by Tune directly (not through the sweep, so the worker loads the
    dataset itself and the config names its model with flat keys) reports the whole contract
    each epoch under its model's name, the paper scores only after the last epoch, keeps one
    checkpoint that resumes at the right step, and writes the model's TensorBoard run:
    grouped scalars, hyperparameters and both image panels."""
    from ray import tune

    from disentangle.data import get_dataset
    from disentangle.models import load_model
    from disentangle.training import StackTrainer, model_file
    from trainables.vae import StudyTrainable

    config = {"model": "factor_vae", "gamma": 10.0, "seed": 3, "batch_size": 16,
              "dataset": "dsprites", "epochs": 2, "steps_per_epoch": 3, "log_every": 2,
              "metrics": {"enabled": True, "fast": TINY_METRICS, "paper": TINY_METRICS,
                          "paper_every": 0},
              "images": {"every": 1, "count": 2, "traversal_range": 2.0, "traversal_steps": 3}}
    tuner = tune.Tuner(
        tune.with_resources(StudyTrainable, {"cpu": 1}), param_space=config,
        run_config=tune.RunConfig(
            name="direct", storage_path=str(tmp_path), verbose=0,
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1, checkpoint_frequency=1),
            sync_config=tune.SyncConfig(sync_artifacts=True)))
    result = tuner.fit()[0]
    assert result.error is None

    name = "factor_vae_gamma=10_seed=3"
    history = result.metrics_dataframe
    assert list(history["training_iteration"]) == [1, 2]
    for metric in CONTRACT_METRICS + FACTOR_VAE_METRICS:
        assert history[f"models/{name}/{metric}"].notna().all(), metric
    for metric in TRIAL_METRICS:
        assert history[metric].notna().all(), metric
    assert list(history[f"models/{name}/steps"]) == [3, 6]
    assert list(history[f"models/{name}/images_seen"]) == [48, 96]
    assert list(history[f"models/{name}/diverged"]) == [0, 0]
    assert math.isnan(history[f"models/{name}/paper_factor_vae_score"].iloc[0])
    assert not math.isnan(history[f"models/{name}/paper_factor_vae_score"].iloc[1])
    for metric in PAPER_ONLY_METRICS:
        assert f"models/{name}/{metric}" not in history, metric
        assert list(history[f"models/{name}/paper_{metric}"].notna()) == [False, True], metric
    # the top level is the mean over the trial's models: here its one model
    assert history["factor_vae_score"].tolist() == history[
        f"models/{name}/factor_vae_score"].tolist()
    assert (history["device"] == "cpu").all()

    trial_dir = Path(result.path)
    checkpoints = sorted(trial_dir.glob("checkpoint_*"))
    assert len(checkpoints) == 1
    resumed = StackTrainer.from_checkpoint(checkpoints[0] / "stack.pt", get_dataset("dsprites"))
    assert resumed.step == 6 and resumed.configs[0]["model"] == "factor_vae"
    assert resumed.configs[0]["gamma"] == 10.0
    exported = load_model(model_file(checkpoints[0], name))   # the model's weights alone
    assert exported.info["step"] == 6 and exported.info["hyperparameters"]["gamma"] == 10.0

    run = _events(trial_dir / name)
    tags = run.Tags()["scalars"]
    # the horizontal axis is the training step; the loss terms are means over each
    # log_every (2) steps of an epoch, the scores and speeds come once per epoch (3 steps)
    for tag in ("train/loss", "train/tc_discriminator", "kl_per_dim/0"):
        assert [event.step for event in run.Scalars(tag)] == [2, 3, 5, 6], tag
    for tag in ("scores/factor_vae_score", "speed/images_per_second",
                "speed/model_steps_per_second"):
        assert [event.step for event in run.Scalars(tag)] == [3, 6], tag
    assert history["model_steps_per_second"].gt(0).all()
    # the epoch's reported loss is the step-weighted mean of its two logged points
    losses = [event.value for event in run.Scalars("train/loss")]
    assert history[f"models/{name}/loss"].tolist() == pytest.approx(
        [(2 * losses[0] + losses[1]) / 3, (2 * losses[2] + losses[3]) / 3], rel=1e-5)
    assert not any(tag.startswith("ray/") or tag.endswith("/done") for tag in tags)
    assert set(run.Tags()["images"]) == {"reconstructions", "traversals"}
    traversals = run.Images("traversals")
    assert [image.step for image in traversals] == [3, 6]
    # one 64-px row per latent dimension, one column per traversal step, 2-px padding
    assert (traversals[-1].height, traversals[-1].width) == (2 + 10 * 66, 2 + 3 * 66)
    reconstructions = run.Images("reconstructions")[-1]
    assert (reconstructions.height, reconstructions.width) == (2 + 2 * 66, 2 + 2 * 66)
    assert set(hyperparameters(run)) == {"kind", "setting", "seed", *kinds.hyperparameter_keys()}
    assert hyperparameters(run)["gamma"] == 10.0 and hyperparameters(run)["kind"] == "factor_vae"


def hyperparameters(run) -> dict:
    """The hparams plugin's hyperparameter values of one TensorBoard run."""
    from tensorboard.plugins.hparams import plugin_data_pb2

    content = run.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    info = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    return {key: (value.string_value if value.HasField("string_value") else value.number_value)
            for key, value in info.hparams.items()}


def test_a_stacked_trial_reports_each_model_and_goes_on_when_one_diverges(
        ray_cluster, tmp_path, tiny):
    """Two β-VAE settings in one trial (stack = kind); β = 1e39 (infinite in float32) makes
    one model's loss infinite: it is reported diverged, with the step and the reason, and the
    other trains on to the end; the tables give one row per model, as for separate trials."""
    from analysis.results import load_results
    from study.config import load_study
    from study.sweep import run_sweep

    study = load_study("quick", tiny(epochs=2) + [
        'variants=[{"model": "beta_vae", "beta": [4, 1e39]}]', "stack=kind",
        "max_failures=0"])
    outcome = run_sweep(study, tmp_path, "stack")
    trial_dirs = [p for p in (tmp_path / "stack").iterdir() if p.is_dir()]
    assert len(trial_dirs) == 1
    last = json.loads((trial_dirs[0] / "result.json").read_text().splitlines()[-1])
    models = last["models"]
    assert set(models) == {"beta_vae_beta=4_seed=0", "beta_vae_beta=1e+39_seed=0"}
    diverged = models["beta_vae_beta=1e+39_seed=0"]
    assert diverged["diverged"] == 1 and diverged["diverged_step"] == 1
    assert "training diverged" in diverged["message"]
    healthy = models["beta_vae_beta=4_seed=0"]
    assert healthy["diverged"] == 0 and healthy["steps"] == 6
    assert last["models_training"] == 1 and last["models_diverged"] == 1
    results = load_results(tmp_path / "stack")
    status = dict(zip(results.trials["setting"], results.trials["status"]))
    assert status == {"β-VAE β=4": "finished", "β-VAE β=1e+39": "diverged"}
    assert "diverged:     β-VAE β=1e+39 seed 0" in outcome.format()


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
    message = (Path(errored.iloc[0]["path"]) / "error.txt").read_text()
    assert "DivergedError" in message and "training diverged" in message
    assert "lower the learning rate" in message
    assert trials.loc["finished", "epochs"] == 2
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
