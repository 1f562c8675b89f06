"""One trial's training, epoch by epoch, without Ray: what the Tune Trainable wraps and what
``vae-study sweep --local`` runs in one process.

A trial trains the models its config lists (``disentangle.training.config.members_of``: one
model, or a stack of several that share their training settings) as one
``disentangle.training.StackTrainer``. One epoch is ``steps_per_epoch`` training steps (a full
pass over the dataset when unset), then each model's disentanglement scores with the metrics'
``fast`` preset, the ``paper`` preset every ``metrics.paper_every`` epochs and after the last one
(``paper_every`` None: never), and its TensorBoard run (``trainables.tensorboard``).

Each epoch's result holds every model's numbers under ``models`` (name -> metrics), which is
what the results tables read, and at the top level the mean over the trial's models that are
still training (what Optuna, ASHA and the live progress see: over the seeds of a setting it is a
better objective than one noisy seed). A model whose loss turns NaN/Inf is frozen, reported
``diverged`` with the step and the reason, and the others go on; when every model of the trial
has diverged the epoch raises ``DivergedError``.

The trial config holds the shared training settings flat and, besides the models:

  dataset, dataset_options   which data (``disentangle.data.get_dataset``)
  epochs                     epochs until the trial is done
  steps_per_epoch            training steps per epoch (None = one pass over the data)
  log_every                  TensorBoard's loss curves: one point (the mean) per this many steps
  metrics                    {"enabled", "fast": {...}, "paper": {...}, "paper_every"}:
                             overrides of ``disentangle.metrics.evaluate``
  images                     {"every", "count", "traversal_range", "traversal_steps"}
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch

from disentangle.data import GroundTruthDataset
from disentangle.metrics import evaluate
from disentangle.representation import stack_posterior_function, stack_representation_function
from disentangle.result_names import (
    DEVICE,
    DIVERGED,
    DIVERGED_STEP,
    EPOCH_SECONDS,
    EVALUATION_SECONDS,
    IMAGES_PER_SECOND,
    IMAGES_SEEN,
    MESSAGE,
    METRIC_SECONDS,
    MODEL_STEPS_PER_SECOND,
    MODELS,
    MODELS_DIVERGED,
    MODELS_TRAINING,
    PAPER_PREFIX,
    STEPS,
)
from disentangle.training import StackTrainer, model_file
from disentangle.training.config import member_config, members_of
from trainables.datasets import load_dataset
from trainables.panels import model_panels
from trainables.tensorboard import ModelLog

STACK_FILE = "stack.pt"


class DivergedError(FloatingPointError):
    """Every model of the trial diverged (its loss became NaN or infinite)."""


class TrialRunner:
    """Trains one trial's models epoch by epoch, writing their TensorBoard runs into
    ``logdir`` (see the module docstring)."""

    def __init__(self, config: dict, logdir: str | Path, device, dataset=None):
        self.members = members_of(config)
        self.dataset = dataset if dataset is not None else load_dataset(
            config["dataset"], config.get("dataset_options"))
        self.device = torch.device(device)
        self.trainer = StackTrainer([member_config(config, member) for member in self.members],
                                    self.dataset, self.device)
        self.batch_size = self.trainer.settings["batch_size"]
        self.steps_per_epoch = (config.get("steps_per_epoch")
                                or math.ceil(len(self.dataset) / self.batch_size))
        self.epochs = config["epochs"]
        self.metric_settings = config.get("metrics") or {"enabled": False}
        self.scores_enabled = (self.metric_settings.get("enabled", True)
                               and isinstance(self.dataset, GroundTruthDataset))
        self.log_every = config.get("log_every") or self.steps_per_epoch
        self.images = config.get("images") or {"every": 0}
        self.panel_images = None
        if self.images.get("every"):
            indices = self.dataset.sample_indices(
                self.images.get("count", 8), np.random.RandomState(self.members[0]["seed"]))
            self.panel_images = torch.from_numpy(self.dataset.images(indices))
        self.logs = [ModelLog(str(logdir), member) for member in self.members]

    def epoch(self, epoch: int) -> dict:
        """Train epoch ``epoch`` (1-based), score and log it; return its result."""
        start = time.perf_counter()
        curves = self._train_epoch()
        reports = _epoch_reports(curves)
        epoch_seconds = time.perf_counter() - start
        training = [index for index, report in enumerate(reports) if not report[DIVERGED]]
        if not training:
            raise DivergedError(" / ".join(self._diverged(index, reports[index])[MESSAGE]
                                           for index in range(len(reports))))
        images_seen = len(training) * self.steps_per_epoch * self.batch_size
        shared = {IMAGES_PER_SECOND: images_seen / epoch_seconds,
                  MODEL_STEPS_PER_SECOND: images_seen / self.batch_size / epoch_seconds,
                  EPOCH_SECONDS: epoch_seconds}
        start = time.perf_counter()
        for index in training:
            reports[index].update({STEPS: self.trainer.step,
                                   IMAGES_SEEN: self.trainer.step * self.batch_size})
        if self.scores_enabled:
            for index, scores in zip(training, self._scores(training, epoch)):
                reports[index].update(scores)
        shared[METRIC_SECONDS] = time.perf_counter() - start
        self._write_tensorboard(epoch, reports, training, shared, curves)
        models = {member["name"]: (report if index in training
                                   else self._diverged(index, report))
                  for index, (member, report) in enumerate(zip(self.members, reports))}
        return {MODELS: models, **_means([reports[index] for index in training]), **shared,
                STEPS: self.trainer.step, MODELS_TRAINING: len(training),
                MODELS_DIVERGED: len(reports) - len(training), DEVICE: str(self.device)}

    def _train_epoch(self) -> list[tuple[int, int, list[dict]]]:
        """Train one epoch in chunks of ``log_every`` steps: per chunk its length, the step
        it ends at and every model's mean metrics over it (``StackTrainer.train_steps``; the
        chunks change nothing in the training, only how often its numbers are read)."""
        curves, remaining = [], self.steps_per_epoch
        while remaining:
            steps = min(self.log_every, remaining)
            curves.append((steps, self.trainer.step + steps, self.trainer.train_steps(steps)))
            remaining -= steps
        return curves

    def _diverged(self, index: int, report: dict) -> dict:
        """What a diverged model reports: the step whose loss was not finite, and why."""
        member, step = self.members[index], report[DIVERGED_STEP]
        return {DIVERGED: 1, DIVERGED_STEP: step,
                MESSAGE: f"training diverged: the loss of {member['setting']} seed "
                         f"{member['seed']} became NaN or infinite at step {step} (lr="
                         f"{self.trainer.settings['lr']}); it is frozen there: lower the "
                         f"learning rate or use precision=fp32"}

    def _scores(self, training: list[int], epoch: int) -> list[dict]:
        """The scores of the models ``training``, all from one set of draws and one stacked
        encoding per preset (the draws depend on the epoch only, so every model of a sweep is
        scored on the same observations: score differences between models are not the
        metrics' sampling noise)."""
        settings = self.metric_settings
        precision = self.trainer.settings["precision"]
        represent = stack_representation_function(self.trainer, training, precision)
        posterior = stack_posterior_function(self.trainer, training, precision)
        scores = [{} for _ in training]
        presets = [("fast", "")]
        every = settings.get("paper_every", 0)
        if every is not None and (epoch >= self.epochs or (every and epoch % every == 0)):
            presets.append(("paper", PAPER_PREFIX))
        for preset, prefix in presets:
            names = _with_tc(settings.get("sets", {}).get(preset))
            values = evaluate(self.dataset, represent, np.random.RandomState(epoch),
                              preset=preset, metrics=names, posterior_function=posterior,
                              members=len(training), **settings.get(preset, {}))
            for own, value in zip(scores, values):
                value.pop(EVALUATION_SECONDS, None)
                own.update({prefix + name: number for name, number in value.items()})
        return scores

    def _write_tensorboard(self, epoch: int, reports: list[dict], training: list[int],
                           shared: dict, curves: list) -> None:
        every = self.images.get("every", 0)
        draw = self.panel_images is not None and (epoch % every == 0 or epoch >= self.epochs)
        for index in training:
            panels = None
            if draw:
                panels = model_panels(self.trainer.models[index],
                                      self.panel_images.to(self.device),
                                      self.images.get("traversal_range", 2.0),
                                      self.images.get("traversal_steps", 9))
            self.logs[index].write(epoch, self.trainer.step, {**reports[index], **shared},
                                   panels, [(step, chunk[index]) for _, step, chunk in curves])

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        """The stack's whole state (resumable), and each model's weights alone for
        ``evaluate``, ``navigate`` and the analysis (``disentangle.training.model_file``)."""
        self.trainer.save_checkpoint(Path(checkpoint_dir) / STACK_FILE)
        for index, member in enumerate(self.members):
            self.trainer.export(index, model_file(checkpoint_dir, member["name"]))

    def load_checkpoint(self, checkpoint_dir: str | Path) -> None:
        """Continue from ``save_checkpoint``'s folder, exactly."""
        self.trainer = StackTrainer.from_checkpoint(Path(checkpoint_dir) / STACK_FILE,
                                                    self.dataset, device=self.device)


def _epoch_reports(curves: list[tuple[int, int, list[dict]]]) -> list[dict]:
    """Each model's numbers over the whole epoch from its chunks: every metric's mean
    weighted by the chunks' lengths, whether (and where) it diverged from the last chunk."""
    reports = []
    for index, last in enumerate(curves[-1][2]):
        report = {}
        for name, value in last.items():
            if name in (DIVERGED, DIVERGED_STEP):
                report[name] = value
                continue
            weights = [(steps, chunk[index][name]) for steps, _, chunk in curves
                       if name in chunk[index]]
            report[name] = sum(steps * value for steps, value in weights) / sum(
                steps for steps, _ in weights)
        reports.append(report)
    return reports


def _with_tc(names):
    """A study's metric set with the large-sample total correlation (None: the default set,
    which includes it when a posterior is given)."""
    return None if names is None else list(dict.fromkeys([*names, "tc"]))


def _means(reports) -> dict:
    """Each number's mean over the models' reports."""
    reports = list(reports)
    names = [name for name, value in reports[0].items()
             if isinstance(value, (int, float)) and not isinstance(value, bool)] if reports else []
    return {name: float(np.mean([report[name] for report in reports if name in report]))
            for name in names}
