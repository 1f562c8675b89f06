"""Training VAE, beta-VAE and FactorVAE from plain Python (no Ray): ``Trainer`` and ``fit``.

>>> trainer = Trainer({"model": "factor_vae", "gamma": 35, "seed": 1}, get_dataset("dsprites"))
>>> metrics = trainer.train_steps(1000)       # means of the step metrics over those steps
>>> trainer.save_checkpoint("run/checkpoint.pt")
>>> trainer = Trainer.from_checkpoint("run/checkpoint.pt", dataset)   # resumes bit-for-bit

Batches are drawn as in the papers, uniformly with replacement, straight from the in-memory
dataset (``sample_indices`` + ``images``: one vectorised call, no DataLoader). Every source of
randomness is owned by the trainer (model initialisation, a numpy RandomState per batch stream,
a torch Generator for the latent noise and one for the discriminator's permutations), so a run
is a function of its seed: on the CPU the same seed gives identical weights and losses, and a
checkpoint resumed mid-run continues exactly like the uninterrupted run. FactorVAE's second
batch and permutations use their own streams, so at gamma = 0 its VAE follows the very same
trajectory as the plain VAE.
"""

from __future__ import annotations

import json
import numbers
from pathlib import Path

import numpy as np
import torch

from disentangle import runtime
from disentangle.errors import UserError
from disentangle.models import ARCHITECTURES, build_model, load_state
from disentangle.models.checkpoint import make_checkpoint, read_checkpoint, write_checkpoint
from disentangle.objectives import (
    PERMUTATIONS, RECONSTRUCTIONS, Discriminator, beta_vae_loss, count_active_dimensions,
    discriminator_loss, discriminator_tc, factor_vae_loss, kl_per_dimension, permute_dims,
    reconstruction_loss, sample_latent, total_correlation_mws)

MODELS = ("vae", "beta_vae", "factor_vae")

#: Defaults follow Higgins et al. (2017) and Kim & Mnih (2018) on dSprites: Adam lr 1e-4 with
#: betas (0.9, 0.999) for the VAE, batch 64, 10 latents; discriminator Adam lr 1e-4, betas
#: (0.5, 0.9). ``beta`` is used by ``beta_vae`` only and ``gamma`` by ``factor_vae`` only
#: (``vae`` is beta = 1, gamma = 0 whatever they say).
DEFAULT_CONFIG = {
    "model": "beta_vae",
    "beta": 4.0,
    "gamma": 40.0,
    "lr": 1e-4,
    "batch_size": 64,
    "seed": 0,
    "latent_dim": 10,
    "architecture": "standard",
    "hidden_dim": 256,
    "precision": "auto",
    "reconstruction": "bernoulli",
    "discriminator_lr": 1e-4,
    "discriminator_betas": [0.5, 0.9],
    "tc_permutation": "two_batch",
}

VAE_ADAM_BETAS = (0.9, 0.999)

_CHOICES = {"model": MODELS, "architecture": ARCHITECTURES, "precision": runtime.PRECISIONS,
            "reconstruction": RECONSTRUCTIONS, "tc_permutation": PERMUTATIONS}
# name -> (type, smallest allowed value, whether the smallest value itself is allowed)
_NUMBERS = {"beta": (float, 0.0, True), "gamma": (float, 0.0, True), "lr": (float, 0.0, False),
            "discriminator_lr": (float, 0.0, False), "batch_size": (int, 2, True),
            "seed": (int, 0, True), "latent_dim": (int, 1, True), "hidden_dim": (int, 1, True)}


def validate_config(config: dict | None) -> dict:
    """The complete training config (``DEFAULT_CONFIG`` updated with ``config``), checked.
    Raises UserError naming the bad key or value and what is allowed."""
    config = dict(config or {})
    unknown = sorted(set(config) - set(DEFAULT_CONFIG))
    if unknown:
        raise UserError(f"unknown training setting(s) {', '.join(map(repr, unknown))}: the "
                        f"settings are {', '.join(DEFAULT_CONFIG)}")
    full = {**DEFAULT_CONFIG, **config}
    for key, choices in _CHOICES.items():
        if full[key] not in choices:
            raise UserError(f"{key} = {full[key]!r} is not allowed: choose one of "
                            f"{', '.join(choices)}")
    for key, (kind, low, inclusive) in _NUMBERS.items():
        value = full[key]
        is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if kind is int:
            is_number = is_number and float(value).is_integer()
        if not is_number or not (value >= low if inclusive else value > low):
            bound = f">= {low}" if inclusive else f"> {low}"
            raise UserError(f"{key} = {value!r} is not allowed: it must be "
                            f"{'an integer' if kind is int else 'a number'} {bound}")
        full[key] = kind(value)
    if full["seed"] >= 2 ** 32:
        raise UserError(f"seed = {full['seed']} is too large: use 0 <= seed < 2**32")
    betas = full["discriminator_betas"]
    if (not isinstance(betas, (list, tuple)) or len(betas) != 2
            or not all(isinstance(b, numbers.Real) and 0 <= b < 1 for b in betas)):
        raise UserError(f"discriminator_betas = {betas!r} is not allowed: give two numbers in "
                        f"[0, 1), e.g. [0.5, 0.9]")
    full["discriminator_betas"] = [float(b) for b in betas]
    return full


def _rng_state(random_state: np.random.RandomState) -> dict:
    kind, keys, position, has_gauss, cached = random_state.get_state()
    return {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)),
            "position": int(position), "has_gauss": int(has_gauss), "cached": float(cached)}


def _set_rng_state(random_state: np.random.RandomState, state: dict) -> None:
    random_state.set_state((state["kind"], state["keys"].numpy().astype(np.uint32),
                            state["position"], state["has_gauss"], state["cached"]))


class Trainer:
    """Trains one model on one dataset; see the module docstring."""

    def __init__(self, config: dict | None, dataset, device=None):
        runtime.configure_allocator()
        self.config = config = validate_config(config)
        self.dataset = dataset
        self.device = torch.device(device) if device is not None else runtime.default_device()
        self.bf16 = runtime.use_bf16(self.device, config["precision"])
        # Channels-last pays with bf16 on the CPU and in both precisions on a GPU (H200: 5.5 vs
        # 6.0 ms a step in fp32); see benchmarks/train_step.py.
        self.channels_last = self.bf16 or self.device.type == "cuda"
        channels, height, width = dataset.observation_shape
        if height != width:
            raise UserError(f"the models take square images, but {dataset.name} has "
                            f"{height}x{width}")
        self.factor_vae = config["model"] == "factor_vae"
        seed = config["seed"]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.model = build_model(config["architecture"], num_channels=channels,
                                     latent_dim=config["latent_dim"],
                                     hidden_dim=config["hidden_dim"], image_size=height)
            self.discriminator = Discriminator(config["latent_dim"]) if self.factor_vae else None
        memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        self.model.to(self.device, memory_format=memory_format)
        # Fused Adam saves a few kernel launches per step on a GPU (measured 4% there).
        fused = {"fused": True} if self.device.type == "cuda" else {}
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config["lr"],
                                          betas=VAE_ADAM_BETAS, **fused)
        self.discriminator_optimizer = None
        if self.factor_vae:
            self.discriminator.to(self.device)
            self.discriminator_optimizer = torch.optim.Adam(
                self.discriminator.parameters(), lr=config["discriminator_lr"],
                betas=tuple(config["discriminator_betas"]), **fused)
        self.noise_generator = torch.Generator(self.device).manual_seed(seed)
        self.permutation_generator = torch.Generator(self.device).manual_seed(seed + 2 ** 32)
        self.batch_random_state = np.random.RandomState(seed)
        self.second_batch_random_state = np.random.RandomState([seed, 1])
        self.step = 0
        self.metric_names = (["loss", "reconstruction", "kl", "active_dims", "tc_mws", "elbo"]
                             + (["tc_discriminator", "discriminator_accuracy",
                                 "discriminator_loss"] if self.factor_vae else [])
                             + [f"kl_dim_{d}" for d in range(config["latent_dim"])])

    # -- one step ---------------------------------------------------------------------------
    def _batch(self, random_state: np.random.RandomState) -> torch.Tensor:
        indices = self.dataset.sample_indices(self.config["batch_size"], random_state)
        images = torch.from_numpy(self.dataset.images(indices))
        if self.device.type == "cuda":
            # A pageable copy would wait for the GPU every step; a pinned one overlaps with it.
            images = images.pin_memory().to(self.device, non_blocking=True)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return images

    def _encode(self, images):
        with runtime.autocast(self.device, self.bf16):
            mean, log_var = self.model.encode(images)
        return mean.float(), log_var.float()

    def _discriminate(self, z):
        with runtime.autocast(self.device, self.bf16):
            return self.discriminator(z).float()

    def losses(self, images, second_images=None):
        """(VAE loss, discriminator loss or None, metric vector in ``metric_names`` order).

        The FactorVAE term gamma * TC flows into the encoder only: the discriminator's weights
        do not require gradients while it scores z for the VAE loss. The discriminator's loss
        sees only detached latents, so it never reaches the encoder."""
        config = self.config
        mean, log_var = self._encode(images)
        z = sample_latent(mean, log_var, self.noise_generator)
        with runtime.autocast(self.device, self.bf16):
            logits = self.model.decode_logits(z)
        reconstruction = reconstruction_loss(logits.float(), images, config["reconstruction"])
        kl_dims = kl_per_dimension(mean, log_var)
        kl = kl_dims.sum()
        terms = []
        discriminator_term = None
        if self.factor_vae:
            self.discriminator.requires_grad_(False)
            tc = discriminator_tc(self._discriminate(z))
            self.discriminator.requires_grad_(True)
            loss = factor_vae_loss(reconstruction, kl, tc, config["gamma"])
            with torch.no_grad():
                if config["tc_permutation"] == "two_batch":
                    other_mean, other_log_var = self._encode(second_images)
                    other = sample_latent(other_mean, other_log_var, self.permutation_generator)
                else:
                    other = z.detach()
                permuted = permute_dims(other, self.permutation_generator)
            both = self._discriminate(torch.cat([z.detach(), permuted]))
            discriminator_term, accuracy = discriminator_loss(*both.chunk(2))
            terms = [tc.detach(), accuracy, discriminator_term.detach()]
        else:
            beta = config["beta"] if config["model"] == "beta_vae" else 1.0
            loss = beta_vae_loss(reconstruction, kl, beta)
        with torch.no_grad():
            tc_mws = total_correlation_mws(z, mean, log_var)
            head = torch.stack([loss, reconstruction, kl, count_active_dimensions(kl_dims),
                                tc_mws, -(reconstruction + kl), *terms])
            metrics = torch.cat([head.detach(), kl_dims.detach()])
        return loss, discriminator_term, metrics

    def _train_step(self) -> torch.Tensor:
        images = self._batch(self.batch_random_state)
        second = (self._batch(self.second_batch_random_state)
                  if self.factor_vae and self.config["tc_permutation"] == "two_batch" else None)
        loss, discriminator_term, metrics = self.losses(images, second)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if discriminator_term is not None:
            self.discriminator_optimizer.zero_grad(set_to_none=True)
            discriminator_term.backward()
            self.discriminator_optimizer.step()
        self.step += 1
        return metrics

    def train_steps(self, n: int) -> dict[str, float]:
        """Run ``n`` optimisation steps; return each metric's mean over them. The metrics stay
        on the device until the end, so a GPU is not synchronised every step."""
        if n < 1:
            raise ValueError(f"train_steps needs n >= 1, got {n}")
        self.model.train()
        total = self._train_step()
        for _ in range(n - 1):
            total = total + self._train_step()
        return dict(zip(self.metric_names, (total / n).tolist()))

    # -- checkpoints ------------------------------------------------------------------------
    def info(self) -> dict:
        """What the checkpoint says about the model (JSON-able)."""
        data = json.loads(json.dumps(self.dataset.describe(), default=str))
        return {"architecture": self.config["architecture"],
                "build": self.model.build_options(), "model": self.config["model"],
                "hyperparameters": dict(self.config), "data": data, "step": self.step,
                "images_seen": self.step * self.config["batch_size"],
                "source": {"program": "vae-study", "trainer": "disentangle.training.Trainer"}}

    def save_checkpoint(self, path: str | Path) -> Path:
        """Write everything needed to resume exactly (weights, both optimisers, step, every RNG
        state, config, data description) to ``path``, atomically."""
        training = {
            "config": dict(self.config), "step": self.step, "device_type": self.device.type,
            "optimizer": self.optimizer.state_dict(),
            "discriminator": self.discriminator.state_dict() if self.factor_vae else None,
            "discriminator_optimizer": (self.discriminator_optimizer.state_dict()
                                        if self.factor_vae else None),
            "rng": {"noise": self.noise_generator.get_state(),
                    "permutation": self.permutation_generator.get_state(),
                    "batches": _rng_state(self.batch_random_state),
                    "second_batches": _rng_state(self.second_batch_random_state)}}
        checkpoint = make_checkpoint(self.info(), self.model.state_dict(), training)
        return write_checkpoint(checkpoint, path)

    @classmethod
    def from_checkpoint(cls, path: str | Path, dataset, device=None) -> "Trainer":
        """A trainer that continues the run saved at ``path`` on ``dataset``. On the device type
        it was saved from, the continuation is exact; elsewhere the torch noise streams are
        re-seeded from (seed, step)."""
        checkpoint = read_checkpoint(path)
        training = checkpoint.get("training")
        if not training:
            raise UserError(f"{path} holds only model weights (an imported or exported model): "
                            f"load it with disentangle.models.load_model; it cannot be resumed")
        saved_shape = checkpoint["info"].get("data", {}).get("observation_shape")
        if saved_shape and list(saved_shape) != list(dataset.observation_shape):
            raise UserError(f"{path} was trained on images of shape {saved_shape}, but "
                            f"{dataset.name} has {list(dataset.observation_shape)}: resume it "
                            f"on the dataset it was trained on")
        trainer = cls(training["config"], dataset, device)
        load_state(trainer.model, checkpoint["model"], str(path))
        trainer.optimizer.load_state_dict(training["optimizer"])
        if trainer.factor_vae:
            load_state(trainer.discriminator, training["discriminator"], str(path))
            trainer.discriminator_optimizer.load_state_dict(training["discriminator_optimizer"])
        trainer.step = int(training["step"])
        rng = training["rng"]
        if training["device_type"] == trainer.device.type:
            trainer.noise_generator.set_state(rng["noise"])
            trainer.permutation_generator.set_state(rng["permutation"])
        else:
            seed = trainer.config["seed"] * 1_000_003 + trainer.step
            trainer.noise_generator.manual_seed(seed)
            trainer.permutation_generator.manual_seed(seed + 2 ** 32)
        _set_rng_state(trainer.batch_random_state, rng["batches"])
        _set_rng_state(trainer.second_batch_random_state, rng["second_batches"])
        return trainer


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
