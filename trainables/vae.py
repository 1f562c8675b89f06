"""Ray Tune class Trainables of VAE, beta-VAE and FactorVAE, thin over
``disentangle.training.Trainer``.

One Tune iteration (``step``) is one epoch: ``steps_per_epoch`` training steps (a full pass
over the dataset when unset), then both disentanglement scores with the metrics' ``fast``
preset, the ``paper`` preset every ``metrics.paper_every`` epochs and after the last one
(``paper_every`` None: never), and the TensorBoard image panels. Tune checkpoints after every epoch; a restored trial continues
exactly where the checkpoint left off (the Trainer's checkpoints hold every RNG state).

The trial config holds the Trainer's keys (model, beta, gamma, seed, lr, ...) plus:

  dataset, dataset_options   which data (``disentangle.data.get_dataset``)
  epochs                     iterations until the trial is done
  steps_per_epoch            training steps per iteration (None = one pass over the data)
  metrics                    {"enabled", "fast": {...}, "paper": {...}, "paper_every"}:
                             overrides of ``disentangle.metrics.evaluate``
  images                     {"every", "count", "traversal_range", "traversal_steps"}
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import ray
import torch
from ray import tune

from disentangle import runtime
from disentangle.data import GroundTruthDataset
from disentangle.training import DEFAULT_CONFIG, Trainer
from trainables.datasets import load_dataset
from trainables.panels import PanelWriter

CHECKPOINT_FILE = "trainer.pt"
# The terms that must stay finite; any NaN/Inf among them means the run has diverged.
WATCHED_TERMS = ("loss", "reconstruction", "kl")


class DivergedError(FloatingPointError):
    """The training loss became NaN or infinite; the trial cannot continue."""


def trial_device() -> torch.device:
    """The GPU Ray assigned to this trial when it has one and CUDA works, else the CPU."""
    if ray.get_gpu_ids() and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


class StudyTrainable(tune.Trainable):
    """Trains the model kind named by ``config["model"]`` (sweeps that mix kinds use this)."""

    #: Subclasses pin one model kind; the config may then omit ``model``.
    model_kind: str | None = None

    def setup(self, config: dict, dataset=None):
        runtime.set_threads_from_env()
        runtime.configure_allocator()
        training = {key: config[key] for key in DEFAULT_CONFIG if key in config}
        if self.model_kind is not None:
            if config.get("model", self.model_kind) != self.model_kind:
                raise ValueError(f"{type(self).__name__} trains {self.model_kind}, but the "
                                 f"config asks for {config['model']!r}")
            training["model"] = self.model_kind
        self.dataset = dataset if dataset is not None else load_dataset(
            config["dataset"], config.get("dataset_options"))
        self.device = trial_device()
        self.trainer = Trainer(training, self.dataset, device=self.device)
        batch_size = self.trainer.config["batch_size"]
        self.steps_per_epoch = (config.get("steps_per_epoch")
                                or math.ceil(len(self.dataset) / batch_size))
        self.epochs = config["epochs"]
        self.metric_settings = config.get("metrics") or {"enabled": False}
        self.scores_enabled = (self.metric_settings.get("enabled", True)
                               and isinstance(self.dataset, GroundTruthDataset))
        images = config.get("images") or {"every": 0}
        self.image_every = images.get("every", 0)
        self.panels = None
        if self.image_every:
            indices = self.dataset.sample_indices(
                images.get("count", 8), np.random.RandomState(self.trainer.config["seed"]))
            self.panels = PanelWriter(os.path.join(self.logdir, "images"),
                                      self.dataset.images(indices),
                                      images.get("traversal_range", 2.0),
                                      images.get("traversal_steps", 9))

    def step(self) -> dict:
        epoch = self.iteration + 1
        start = time.perf_counter()
        result = self.trainer.train_steps(self.steps_per_epoch)
        epoch_seconds = time.perf_counter() - start
        self._check_finite(result, epoch)
        batch_size = self.trainer.config["batch_size"]
        result.update(
            steps=self.trainer.step,
            images_seen=self.trainer.step * batch_size,
            images_per_second=self.steps_per_epoch * batch_size / epoch_seconds,
            epoch_seconds=epoch_seconds,
        )
        start = time.perf_counter()
        if self.scores_enabled:
            result.update(self._scores(epoch))
        result["metric_seconds"] = time.perf_counter() - start
        if self.panels is not None and (epoch % self.image_every == 0 or epoch >= self.epochs):
            start = time.perf_counter()
            self.panels.write(self.trainer.model, epoch, self.device)
            result["image_seconds"] = time.perf_counter() - start
        result.update(device=str(self.device), node_id=ray.get_runtime_context().get_node_id())
        if epoch >= self.epochs:
            result[tune.result.DONE] = True
        return result

    def _check_finite(self, result: dict, epoch: int) -> None:
        bad = [name for name in WATCHED_TERMS if not math.isfinite(result[name])]
        if bad:
            config = self.trainer.config
            raise DivergedError(
                f"training diverged: {', '.join(bad)} became {result[bad[0]]} in epoch {epoch} "
                f"(steps up to {self.trainer.step}) of {config['model']} with beta="
                f"{config['beta']}, gamma={config['gamma']}, lr={config['lr']}, seed="
                f"{config['seed']}: lower the learning rate or use precision=fp32")

    def _scores(self, epoch: int) -> dict:
        from disentangle.metrics import evaluate
        from disentangle.representation import representation_function

        settings = self.metric_settings
        represent = representation_function(self.trainer.model, device=self.device,
                                            precision=self.trainer.config["precision"])
        seed = self.trainer.config["seed"]
        scores = {}
        presets = [("fast", "")]
        every = settings.get("paper_every", 0)
        if every is not None and (epoch >= self.epochs or (every and epoch % every == 0)):
            presets.append(("paper", "paper_"))
        for preset, prefix in presets:
            values = evaluate(self.dataset, represent, np.random.RandomState([seed, epoch]),
                              preset=preset, **settings.get(preset, {}))
            values.pop("seconds", None)
            scores.update({prefix + name: value for name, value in values.items()})
        self.trainer.model.train()
        return scores

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        self.trainer.save_checkpoint(Path(checkpoint_dir) / CHECKPOINT_FILE)

    def load_checkpoint(self, checkpoint) -> None:
        path = Path(checkpoint) / CHECKPOINT_FILE
        self.trainer = Trainer.from_checkpoint(path, self.dataset, device=self.device)

    def reset_config(self, new_config: dict) -> bool:
        """Take the next trial in this same process (Tune's ``reuse_actors``): the imports,
        the torch thread pool and the shared dataset stay, everything else is rebuilt."""
        self.setup(new_config)
        return True


class VAETrainable(StudyTrainable):
    """The plain VAE (Kingma & Welling): beta = 1."""

    model_kind = "vae"


class BetaVAETrainable(StudyTrainable):
    """beta-VAE (Higgins et al. 2017): the KL term weighted by ``beta``."""

    model_kind = "beta_vae"


class FactorVAETrainable(StudyTrainable):
    """FactorVAE (Kim & Mnih 2018): VAE plus ``gamma`` x the discriminator's TC estimate."""

    model_kind = "factor_vae"


TRAINABLES = {"vae": VAETrainable, "beta_vae": BetaVAETrainable,
              "factor_vae": FactorVAETrainable}
