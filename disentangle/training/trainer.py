"""The training engine: S models of one architecture trained as one batched computation.

>>> trainer = StackTrainer([{"model": "beta_vae", "beta": b, "seed": s}
...                         for b in (1, 4, 16) for s in range(3)], get_dataset("dsprites"))
>>> reports = trainer.train_steps(1000)     # one dict of step-metric means per model
>>> trainer.save_checkpoint("run/stack.pt")
>>> trainer = StackTrainer.from_checkpoint("run/stack.pt", dataset)   # resumes exactly
>>> trainer = Trainer({"model": "factor_vae", "gamma": 35, "seed": 1}, dataset)  # a stack of one

Models in a stack share the training settings (``disentangle.training.config.SETTINGS``) and
may differ in kind, seed and the kind's swept weight (β, γ, ... as one value per model), so a
β grid × seeds, VAE included, is one stack. The autoencoders run as grouped convolutions and
batched matrix products (``disentangle.models.stacked``); discriminators (FactorVAE) are
stacked too, for the models whose kind trains one. One Adam over the stacked parameters gives
each model exactly its own Adam (``disentangle.training.adam``).

Each model's randomness is its own (``disentangle.training.streams``: batches, latent noise,
permutations from generators seeded by its seed), so its trajectory does not depend on what
it is stacked with: stacked and alone it sees the same initial weights and batches and, up to
the arithmetic of batched kernels, takes the same steps (tested). A checkpoint holds every
stream and optimiser state; resuming continues exactly.

The losses are computed in the networks' dtype: float32 (bf16 autocast's outputs are cast back
to it), or float64 for networks built while torch's default dtype is float64, where a batched
kernel's rounding is 1e-16 and a stack's 50 steps can be compared with tight bounds (tested).

Faults stay per model: a model whose loss (or its discriminator's) turns NaN/Inf is frozen
from that step on (parameters, Adam moments and step count unchanged, not just its gradient
zeroed), reported diverged with the step, and the others go on as if it were absent. The check
runs on the device, so the training loop never waits for the GPU.

The reconstruction term is the negative log-likelihood of an image summed over its pixels, the
KL term summed over latent dimensions, both averaged over the batch (the papers' scale), and a
kind's loss combines them (``disentangle.kinds``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from disentangle import runtime
from disentangle.errors import UserError
from disentangle.kinds import get_kind
from disentangle.models import build_model
from disentangle.models.checkpoint import make_checkpoint, read_checkpoint, write_checkpoint
from disentangle.models.stacked import StackedAutoencoder, StackedMLP
from disentangle.objectives import (
    Discriminator,
    Terms,
    count_active_dimensions,
    discriminator_loss,
    discriminator_tc,
    kl_per_dimension,
    permute_dims,
    reparameterise,
    stacked_reconstruction,
    total_correlation_mws,
)
from disentangle.result_names import kl_dim, kl_dimension
from disentangle.training.adam import StackedAdam
from disentangle.training.config import model_value, shared_settings, validate_config
from disentangle.training.streams import (
    ModelStreams,
    StackStreams,
    random_state_dict,
    set_random_state,
)

VAE_ADAM_BETAS = (0.9, 0.999)
#: Every model reports these each step, then its kind's own (``ModelKind.step_metrics``), then
#: the KL of each latent dimension (``kl_dim_0`` ...).
COMMON_METRICS = ("loss", "reconstruction", "kl", "active_dims", "tc_minibatch", "elbo")
DISCRIMINATOR_METRICS = ("tc_discriminator", "discriminator_accuracy", "discriminator_loss")


class StackTrainer:
    """Trains the models ``configs`` describe on ``dataset`` (see the module docstring)."""

    def __init__(self, configs: list[dict], dataset, device=None):
        runtime.configure_allocator()
        if not configs:
            raise UserError("a stack needs at least one model config")
        self.configs = [validate_config(config) for config in configs]
        settings = [shared_settings(config) for config in self.configs]
        if any(s != settings[0] for s in settings):
            differ = sorted(k for k in settings[0] if any(s[k] != settings[0][k] for s in settings))
            raise UserError(f"models stacked together must share their training settings; "
                            f"{', '.join(differ)} differ: train them in separate stacks")
        self.settings = settings[0]
        self.size = len(self.configs)
        self.dataset = dataset
        self.device = torch.device(device) if device is not None else runtime.default_device()
        self.bf16 = runtime.use_bf16(self.device, self.settings["precision"])
        # Channels-last pays with bf16 on the CPU and in both precisions on a GPU (H200: 5.5 vs
        # 6.0 ms a step in fp32); see benchmarks/train_step.py.
        self.channels_last = self.bf16 or self.device.type == "cuda"
        channels, height, width = dataset.observation_shape
        if height != width:
            raise UserError(f"the models take square images, but {dataset.name} has "
                            f"{height}x{width}")
        self.kinds = [get_kind(config["model"]) for config in self.configs]
        self._build_networks(channels, height)
        self._build_optimisers()
        discriminated = set(self.discriminated.tolist()) if self.discriminator else set()
        self.streams = StackStreams([
            ModelStreams(config["seed"], dataset.training_size, self.settings["batch_size"],
                         self.settings["latent_dim"], index in discriminated,
                         self.settings["tc_permutation"] == "two_batch")
            for index, config in enumerate(self.configs)], self.device)
        self.observation_states = [np.random.RandomState([config["seed"], 2])
                                   for config in self.configs]
        self.step = 0
        self.active = torch.ones(self.size, dtype=torch.bool, device=self.device)
        self.diverged_step = torch.zeros(self.size, dtype=torch.long, device=self.device)
        present = list(dict.fromkeys(name for kind in self.kinds for name in kind.step_metrics))
        self.metric_names = (list(COMMON_METRICS) + present
                             + [kl_dim(d) for d in range(self.settings["latent_dim"])])

    # -- construction -----------------------------------------------------------------------
    def _build_networks(self, channels: int, image_size: int) -> None:
        settings = self.settings
        autoencoders, discriminators = [], []
        for config, kind in zip(self.configs, self.kinds):
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(config["seed"])
                autoencoders.append(build_model(
                    settings["architecture"], num_channels=channels,
                    latent_dim=settings["latent_dim"], hidden_dim=settings["hidden_dim"],
                    image_size=image_size))
                if kind.discriminator:
                    discriminators.append(Discriminator(settings["latent_dim"]))
        self.network = StackedAutoencoder(autoencoders, self.device, self.channels_last)
        self.models = self.network.members
        self.dtype = self.network.parameters()[0].dtype   # what the losses are computed in
        self.discriminated = torch.tensor(
            [index for index, kind in enumerate(self.kinds) if kind.discriminator],
            dtype=torch.long, device=self.device)
        self.discriminator = (StackedMLP(discriminators, self.device) if discriminators
                              else None)
        self.weights = torch.tensor([model_value(config) or 0.0 for config in self.configs],
                                    dtype=torch.float32, device=self.device)
        self.kind_groups = []   # (kind, indices of its models or None for all of them)
        for kind in dict.fromkeys(self.kinds):
            members = [index for index, other in enumerate(self.kinds) if other is kind]
            indices = None if len(members) == self.size else torch.tensor(
                members, dtype=torch.long, device=self.device)
            self.kind_groups.append((kind, indices))

    def _build_optimisers(self) -> None:
        self.optimizer = StackedAdam(self.network.parameters(), self.settings["lr"],
                                     VAE_ADAM_BETAS)
        self.discriminator_optimizer = None
        if self.discriminator is not None:
            self.discriminator_optimizer = StackedAdam(
                self.discriminator.parameters(), self.settings["discriminator_lr"],
                self.settings["discriminator_betas"])

    # -- one step ---------------------------------------------------------------------------
    def _images(self, indices: torch.Tensor) -> torch.Tensor:
        """The batches of every model, (B, S*C, H, W), for their indices (S, B)."""
        size, batch = indices.shape
        if self.dataset.deterministic_observations:
            images = self.dataset.training_images(indices.t().reshape(-1))
        else:   # a random observation per draw, from each model's own stream
            host = indices.cpu().numpy()
            images = torch.from_numpy(np.stack(
                [self.dataset.observations(host[s], self.observation_states[s])
                 for s in range(size)], axis=1)).to(self.device, non_blocking=True)
        return images.reshape(batch, -1, *images.shape[-2:]).to(self.dtype)

    def losses(self, inputs: dict[str, torch.Tensor]):
        """(each model's loss (S,), each discriminator's loss or None, metrics (S, M)) of one
        step whose random inputs are ``inputs`` (``StackStreams.step_inputs``).

        A kind's loss combines the terms (``disentangle.objectives.Terms``). A discriminator's
        TC estimate flows into its encoder only: the VAE loss sees it through detached
        discriminator weights, and the discriminator's own loss sees only detached latents."""
        images = self._images(inputs["indices"])
        with runtime.autocast(self.device, self.bf16):
            mean, log_var = self.network.encode(images)
        mean, log_var = mean.to(self.dtype), log_var.to(self.dtype)
        z = reparameterise(mean, log_var, inputs["noise"])
        with runtime.autocast(self.device, self.bf16):
            logits = self.network.decode_logits(z)
        reconstruction = stacked_reconstruction(logits.to(self.dtype), images, self.size,
                                                self.settings["reconstruction"])
        kl_dims = kl_per_dimension(mean, log_var)
        terms = Terms(reconstruction=reconstruction, kl=kl_dims.sum(-1), kl_dims=kl_dims,
                      mean=mean, log_var=log_var, z=z, step=self.step)
        discriminator_term = None
        if self.discriminator is not None:
            discriminator_term = self._discriminate(terms, inputs)
        loss = self._kind_losses(terms)
        with torch.no_grad():
            columns = [loss, reconstruction, terms.kl, count_active_dimensions(kl_dims),
                       total_correlation_mws(z, mean, log_var), -(reconstruction + terms.kl)]
            columns += [self._spread(terms.reported.get(name))
                        for name in self.metric_names[len(COMMON_METRICS):]
                        if kl_dimension(name) is None]
            metrics = torch.cat([torch.stack(columns, dim=1), kl_dims], dim=1)
        return loss, discriminator_term, metrics

    def _discriminate(self, terms: Terms, inputs: dict) -> torch.Tensor:
        """The discriminated models' TC estimates (into ``terms``) and discriminator losses."""
        chosen = self.discriminated
        z = terms.z.index_select(0, chosen)
        with runtime.autocast(self.device, self.bf16):
            tc = discriminator_tc(self.discriminator.detached()(z).to(self.dtype))
        terms.tc_discriminator = torch.zeros_like(terms.kl).index_copy(0, chosen, tc)
        with torch.no_grad():
            if self.settings["tc_permutation"] == "two_batch":
                indices = inputs["indices"].index_copy(0, chosen, inputs["second_indices"])
                with runtime.autocast(self.device, self.bf16):
                    other_mean, other_log_var = self.network.encode(self._images(indices))
                other = reparameterise(other_mean.to(self.dtype).index_select(0, chosen),
                                       other_log_var.to(self.dtype).index_select(0, chosen),
                                       inputs["second_noise"])
            else:
                other = z.detach()
            permuted = permute_dims(other, keys=inputs["permutation_keys"])
        with runtime.autocast(self.device, self.bf16):
            logits = self.discriminator(torch.cat([z.detach(), permuted], dim=1)).to(self.dtype)
        loss, accuracy = discriminator_loss(*logits.chunk(2, dim=1))
        for name, values in zip(DISCRIMINATOR_METRICS, (tc, accuracy, loss)):
            terms.reported.setdefault(name, []).append((values.detach(), chosen))
        return loss

    def _kind_losses(self, terms: Terms) -> torch.Tensor:
        """Each model's loss: its kind's combination of its terms and its weight."""
        loss = None
        for kind, indices in self.kind_groups:
            weight = None if kind.hyperparameter is None else self.weights
            if indices is None:
                return kind.loss(terms, weight)
            part = kind.loss(terms.select(indices),
                             None if weight is None else weight.index_select(0, indices))
            loss = (torch.zeros_like(terms.kl) if loss is None else loss).index_copy(
                0, indices, part)
        return loss

    def _spread(self, reported: list | None) -> torch.Tensor:
        """A metric reported for some models ([(values, indices)], indices None = all) as one
        value per model of the stack, NaN for the others."""
        full = torch.full((self.size,), float("nan"), dtype=torch.float32, device=self.device)
        for values, indices in reported or ():
            full = values.float() if indices is None else full.index_copy(0, indices,
                                                                          values.float())
        return full

    def _train_step(self) -> torch.Tensor:
        inputs = self.streams.step_inputs(self.step)
        loss, discriminator_term, metrics = self.losses(inputs)
        finite = torch.isfinite(loss)
        if discriminator_term is not None:
            finite = finite.index_put((self.discriminated,),
                                      finite[self.discriminated]
                                      & torch.isfinite(discriminator_term))
        alive = self.active & finite
        self.diverged_step = torch.where(self.active & ~finite, self.step + 1,
                                         self.diverged_step)
        total = torch.where(alive, loss, 0.0).sum()
        if discriminator_term is not None:
            total = total + torch.where(alive[self.discriminated], discriminator_term, 0.0).sum()
        self.optimizer.zero_grad()
        if self.discriminator_optimizer is not None:
            self.discriminator_optimizer.zero_grad()
        total.backward()
        self.optimizer.step(alive)
        if self.discriminator_optimizer is not None:
            self.discriminator_optimizer.step(alive[self.discriminated])
        self.active = alive
        self.step += 1
        return metrics

    def train_steps(self, n: int) -> list[dict[str, float]]:
        """Run ``n`` optimisation steps; return, per model, each of its metrics' mean over
        them (``diverged`` 1 and ``diverged_step`` for a model that diverged, its metrics
        then NaN). The metrics stay on the device until the end, so a GPU is not synchronised
        every step."""
        if n < 1:
            raise ValueError(f"train_steps needs n >= 1, got {n}")
        total = self._train_step()
        for _ in range(n - 1):
            total = total + self._train_step()
        means = (total / n).tolist()
        active, diverged_step = self.active.tolist(), self.diverged_step.tolist()
        reports = []
        for index, kind in enumerate(self.kinds):
            own = set(kind.step_metrics)
            report = {name: value for name, value in zip(self.metric_names, means[index])
                      if name in COMMON_METRICS or name in own or kl_dimension(name) is not None}
            report["diverged"] = 0 if active[index] else 1
            if not active[index]:
                report["diverged_step"] = diverged_step[index]
            reports.append(report)
        return reports

    # -- checkpoints ------------------------------------------------------------------------
    def info(self, index: int) -> dict:
        """What a checkpoint says about model ``index`` (JSON-able)."""
        config = self.configs[index]
        data = json.loads(json.dumps(self.dataset.describe(), default=str))
        return {"architecture": self.settings["architecture"],
                "build": self.models[index].build_options(), "model": config["model"],
                "hyperparameters": dict(config), "data": data, "step": self.step,
                "images_seen": self.step * self.settings["batch_size"],
                "source": {"program": "vae-study", "trainer": "disentangle.training"}}

    def export(self, index: int, path: str | Path) -> Path:
        """Model ``index``'s weights alone, as a checkpoint ``load_model`` reads, at ``path``."""
        state = {name: tensor.detach().cpu().clone()
                 for name, tensor in self.models[index].state_dict().items()}
        return write_checkpoint(make_checkpoint(self.info(index), state), path)

    def save_checkpoint(self, path: str | Path) -> Path:
        """Write everything needed to resume exactly (weights, optimisers, step, every random
        stream, configs, data description) to ``path``, atomically. ``load_model`` reads a
        model of it (``member=`` its position when the stack holds several)."""
        discriminator = self.discriminator
        training = {
            "configs": [dict(config) for config in self.configs], "step": self.step,
            "optimizer": self.optimizer.state_dict(),
            "discriminator": discriminator.state_dict() if discriminator else None,
            "discriminator_optimizer": (self.discriminator_optimizer.state_dict()
                                        if discriminator else None),
            "streams": self.streams.state_dict(self.step),
            "observations": [random_state_dict(state) for state in self.observation_states],
            "active": self.active.cpu(), "diverged_step": self.diverged_step.cpu()}
        info = {**self.info(0), "stack": [self.info(index) for index in range(self.size)]}
        checkpoint = make_checkpoint(info, self.network.state_dict(), training)
        return write_checkpoint(checkpoint, path)

    @classmethod
    def from_checkpoint(cls, path: str | Path, dataset, device=None):
        """A trainer that continues the run saved at ``path`` on ``dataset``, exactly."""
        checkpoint = read_checkpoint(path)
        training = checkpoint.get("training")
        if not training or "streams" not in training:
            raise UserError(f"{path} holds no resumable training state (an imported, exported "
                            f"or older model): load its weights with "
                            f"disentangle.models.load_model")
        saved_shape = checkpoint["info"].get("data", {}).get("observation_shape")
        if saved_shape and list(saved_shape) != list(dataset.observation_shape):
            raise UserError(f"{path} was trained on images of shape {saved_shape}, but "
                            f"{dataset.name} has {list(dataset.observation_shape)}: resume it "
                            f"on the dataset it was trained on")
        trainer = cls._restore(training["configs"], dataset, device)
        trainer.network.load_state_dict(checkpoint["model"])
        trainer.optimizer.load_state_dict(training["optimizer"])
        if trainer.discriminator is not None:
            trainer.discriminator.load_state_dict(training["discriminator"])
            trainer.discriminator_optimizer.load_state_dict(training["discriminator_optimizer"])
        trainer.step = int(training["step"])
        trainer.streams.load_state_dict(training["streams"])
        for state, saved in zip(trainer.observation_states, training["observations"]):
            set_random_state(state, saved)
        trainer.active = training["active"].to(trainer.device)
        trainer.diverged_step = training["diverged_step"].to(trainer.device)
        return trainer

    @classmethod
    def _restore(cls, configs: list[dict], dataset, device):
        return cls(configs, dataset, device)


class Trainer(StackTrainer):
    """One model: the stack of one, with a single model's interface (``config``, ``model``,
    ``train_steps`` returning one dict)."""

    def __init__(self, config: dict | None, dataset, device=None):
        super().__init__([config or {}], dataset, device)
        self.config = self.configs[0]
        self.model = self.models[0]

    def train_steps(self, n: int) -> dict[str, float]:
        return super().train_steps(n)[0]

    @classmethod
    def _restore(cls, configs: list[dict], dataset, device):
        if len(configs) != 1:
            raise UserError(f"the checkpoint holds a stack of {len(configs)} models: resume it "
                            f"with StackTrainer.from_checkpoint")
        return cls(configs[0], dataset, device)


def model_file(checkpoint_dir: str | Path, name: str) -> Path:
    """Where a trial's checkpoint folder holds the model called ``name``: its weights alone
    (``StackTrainer.export``), which ``disentangle.models.load_model`` loads."""
    return Path(checkpoint_dir) / f"{name}.pt"


def fit(config: dict | None, dataset, steps: int, device=None, report_every: int = 1000,
        on_report=None, checkpoint: str | Path | None = None) -> Trainer:
    """Train a new model for ``steps`` steps. Every ``report_every`` steps (and at the end),
    ``on_report(step, metrics)`` receives the mean metrics of those steps. With ``checkpoint``,
    the final state is saved there. Returns the trainer (``.model`` is the trained network)."""
    trainer = Trainer(config, dataset, device)
    while trainer.step < steps:
        metrics = trainer.train_steps(min(report_every, steps - trainer.step))
        if on_report is not None:
            on_report(trainer.step, metrics)
    if checkpoint is not None:
        trainer.save_checkpoint(checkpoint)
    return trainer
