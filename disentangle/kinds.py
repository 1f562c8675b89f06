"""The model kinds: one registered entry per VAE variant, which everything else reads.

A kind states its key (``"beta_vae"``), its display name and reference, the hyperparameter a
study sweeps (its config key, symbol, default and the paper's grid), whether it trains a
discriminator, the per-step metrics it adds, and its loss as a function of the terms the
trainer computes each step (``disentangle.objectives.Terms``). The trainer, the study presets and
their validation, the sweep's trial names, the results tables, the figures and the navigation
study all read these entries, so a new variant is one ``register(ModelKind(...))``:

>>> register(ModelKind(key="my_vae", name="MyVAE", reference="me 2026",
...                    loss=lambda terms, weight: terms.reconstruction + weight * terms.kl,
...                    hyperparameter=Hyperparameter("alpha", "α", default=2.0)))

The loss receives the kind's swept weight (a float, or a tensor with one value per model when
several models train as one stack) and returns the loss of each model; a kind without a
hyperparameter receives ``None``.

One kind is the ``baseline`` that every claim compares against (the VAE), and a kind's
hyperparameter may have a ``neutral`` value at which the kind trains the baseline's objective
(β-VAE at β = 1, FactorVAE at γ = 0): ``baseline_kind``, ``neutral_value`` and ``is_baseline``
answer from these entries, so no other module spells them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from disentangle.errors import UserError
from disentangle.objectives import (
    beta_vae_loss,
    capacity,
    dip_covariance,
    dip_regulariser,
    factor_vae_loss,
    total_correlation_mws,
)
from disentangle.registry import Registry

#: disentanglement_lib's fixed settings of the kinds below (Locatello et al. 2019, Table 7).
DIP_LAMBDA_D_FACTOR = {"i": 10.0, "ii": 1.0}   # lambda_d = factor * lambda_od
ANNEALED_GAMMA = 1000.0                          # weight of |KL - C|
ANNEALED_STEPS_TO_MAX = 100_000                  # C reaches C_max at this step


@dataclass(frozen=True)
class Hyperparameter:
    """The hyperparameter a study sweeps for one kind."""

    key: str                  # its key in a training config ("beta")
    symbol: str               # how figures and reports write it ("β")
    default: float            # when a config does not give it
    #: the values the kind's paper (or disentanglement_lib) sweeps
    paper_grid: tuple[float, ...] = ()
    minimum: float = 0.0      # the smallest allowed value (inclusive)
    meaning: str = ""         # one line for reports and --help
    #: the value at which the kind's objective is the baseline kind's (``is_baseline``)
    neutral: float | None = None

    def check(self, value, kind_name: str) -> float:
        """``value`` as a float, or a UserError naming the kind and the allowed range."""
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(value) or value < self.minimum):
            raise UserError(f"{self.key} = {value!r} is not allowed for {kind_name}: it must be a "
                            f"number >= {self.minimum:g}")
        return float(value)


@dataclass(frozen=True)
class ModelKind:
    """One VAE variant (see the module docstring)."""

    key: str
    name: str
    reference: str
    loss: Callable
    hyperparameter: Hyperparameter | None = None
    discriminator: bool = False
    step_metrics: tuple[str, ...] = ()
    description: str = ""
    #: the kind the others are compared against; each kind's ``Hyperparameter.neutral`` turns
    #: its objective into this one's
    baseline: bool = False

    def label(self, value: float | None) -> str:
        """``β-VAE β=4`` / ``VAE``: the kind with its swept value."""
        if self.hyperparameter is None or value is None:
            return self.name
        return f"{self.name} {self.hyperparameter.symbol}={value:g}"

    def slug(self, value: float | None) -> str:
        """``beta_vae_beta=4`` / ``vae``: the same, for file and trial names."""
        if self.hyperparameter is None or value is None:
            return self.key
        return f"{self.key}_{self.hyperparameter.key}={value:g}"


KINDS: Registry[ModelKind] = Registry(
    "model kind", unknown="unknown model {key!r}: choose one of {names}")


def register(kind: ModelKind, replace: bool = False) -> ModelKind:
    """Add ``kind`` to the registry (``replace`` lets a redefinition win, e.g. in a worker that
    receives the driver's kinds); returns it."""
    return KINDS.register(kind.key, kind, replace)


def get_kind(key: str) -> ModelKind:
    """The registered kind ``key``, or a UserError listing the kinds."""
    return KINDS.lookup(key)


def hyperparameter_keys() -> list[str]:
    """The config keys of every registered kind's hyperparameter, in registry order."""
    keys = []
    for kind in KINDS.values():
        if kind.hyperparameter is not None and kind.hyperparameter.key not in keys:
            keys.append(kind.hyperparameter.key)
    return keys


def baseline_kind() -> ModelKind:
    """The kind every other kind is compared against (the VAE): the registered one marked
    ``baseline``."""
    return next(kind for kind in KINDS.values() if kind.baseline)


def neutral_value(key: str) -> float | None:
    """The value of kind ``key``'s hyperparameter at which it trains the baseline kind's
    objective (β-VAE's β = 1, FactorVAE's γ = 0), or None where no value does."""
    hyperparameter = get_kind(key).hyperparameter
    return None if hyperparameter is None else hyperparameter.neutral


def is_baseline(key: str, value: float | None = None) -> bool:
    """Whether kind ``key`` at hyperparameter ``value`` trains the baseline kind's objective:
    the baseline kind itself, or another kind at its neutral value."""
    neutral = neutral_value(key)
    return get_kind(key).baseline or (neutral is not None and value == neutral)


def vae_objective() -> dict[str, tuple[str, float]]:
    """Kind -> (its hyperparameter, its neutral value), for every kind that has one."""
    return {key: (kind.hyperparameter.key, kind.hyperparameter.neutral)
            for key, kind in KINDS.items()
            if kind.hyperparameter is not None and kind.hyperparameter.neutral is not None}


def order(key: str) -> int:
    """Position of kind ``key`` in the registry (unknown kinds last), for sorting."""
    return list(KINDS).index(key) if key in KINDS else len(KINDS)


register(ModelKind(
    key="vae", name="VAE", reference="Kingma & Welling 2014",
    loss=lambda terms, weight: terms.reconstruction + terms.kl,
    description="reconstruction + KL: the negative ELBO", baseline=True))

register(ModelKind(
    key="beta_vae", name="β-VAE", reference="Higgins et al. 2017",
    loss=lambda terms, beta: beta_vae_loss(terms.reconstruction, terms.kl, beta),
    hyperparameter=Hyperparameter(
        "beta", "β", default=4.0, paper_grid=(1, 2, 4, 6, 8, 16),
        meaning="weight of the KL term (1 = the VAE)", neutral=1.0),
    description="reconstruction + β·KL"))

register(ModelKind(
    key="factor_vae", name="FactorVAE", reference="Kim & Mnih 2018",
    loss=lambda terms, gamma: factor_vae_loss(terms.reconstruction, terms.kl,
                                              terms.tc_discriminator, gamma),
    hyperparameter=Hyperparameter(
        "gamma", "γ", default=40.0, paper_grid=(10, 20, 30, 40, 50, 100),
        meaning="weight of the discriminator's total-correlation estimate (0 = the VAE)",
        neutral=0.0),
    discriminator=True,
    step_metrics=("tc_discriminator", "discriminator_accuracy", "discriminator_loss"),
    description="reconstruction + KL + γ·TC, TC estimated by a discriminator"))


def beta_tcvae_loss(terms, beta):
    """β-TCVAE (Chen et al. 2018) with α = γ = 1, as disentanglement_lib trains it:
    reconstruction + MI + β·TC + dimension-wise KL = reconstruction + KL + (β - 1)·TC, TC
    estimated by minibatch-weighted sampling on the batch (its constant offset does not move
    the gradients). Reports the TC estimate it penalises."""
    tc = total_correlation_mws(terms.z, terms.mean, terms.log_var)
    terms.report("tc_penalised", tc)
    return terms.reconstruction + terms.kl + (beta - 1) * tc


def dip_vae_loss(kind: str):
    """DIP-VAE-I or -II (Kumar et al. 2018): reconstruction + KL + the DIP penalty on the
    covariance of the means (I) or of the aggregate posterior (II), lambda_d set from lambda_od
    as disentanglement_lib does (``DIP_LAMBDA_D_FACTOR``)."""
    def loss(terms, lambda_od):
        matrix = dip_covariance(terms.mean, terms.log_var, kind)
        penalty = dip_regulariser(matrix, lambda_od, DIP_LAMBDA_D_FACTOR[kind] * lambda_od)
        terms.report("dip_penalty", penalty)
        return terms.reconstruction + terms.kl + penalty
    return loss


def dip_vae_kind(variant: str, covariance: str, penalised: str) -> ModelKind:
    """DIP-VAE-I or -II: the two differ only in the covariance they penalise (``covariance``
    for the hyperparameter's meaning, ``penalised`` for the description)."""
    return ModelKind(
        key=f"dip_vae_{variant}", name=f"DIP-VAE-{variant.upper()}",
        reference="Kumar et al. 2018", loss=dip_vae_loss(variant),
        hyperparameter=Hyperparameter(
            "lambda_od", "λ_od", default=10.0, paper_grid=(1, 2, 5, 10, 20, 50),
            meaning=f"weight of the off-diagonal covariance of {covariance}", neutral=0.0),
        step_metrics=("dip_penalty",),
        description=f"reconstruction + KL + DIP penalty on the covariance of {penalised}")


def annealed_vae_loss(terms, c_max):
    """AnnealedVAE (Burgess et al. 2018): reconstruction + γ·|KL - C|, the capacity C rising
    linearly to ``c_max`` over ``ANNEALED_STEPS_TO_MAX`` steps, γ = ``ANNEALED_GAMMA``."""
    target = capacity(terms.step, c_max, ANNEALED_STEPS_TO_MAX)
    terms.report("capacity", torch.zeros_like(terms.kl) + target)
    return terms.reconstruction + ANNEALED_GAMMA * (terms.kl - target).abs()


register(ModelKind(
    key="beta_tcvae", name="β-TCVAE", reference="Chen et al. 2018", loss=beta_tcvae_loss,
    hyperparameter=Hyperparameter(
        "beta", "β", default=6.0, paper_grid=(1, 2, 4, 6, 8, 10),
        meaning="weight of the total correlation (1 = the VAE)", neutral=1.0),
    step_metrics=("tc_penalised",),
    description="reconstruction + KL + (β-1)·TC, TC by minibatch-weighted sampling"))

register(dip_vae_kind("i", covariance="the means (lambda_d = 10 lambda_od)",
                      penalised="the encoder means"))
register(dip_vae_kind("ii", covariance="q(z) (lambda_d = lambda_od)",
                      penalised="the aggregate posterior"))

register(ModelKind(
    key="annealed_vae", name="AnnealedVAE", reference="Burgess et al. 2018",
    loss=annealed_vae_loss,
    hyperparameter=Hyperparameter(
        "c_max", "C_max", default=25.0, paper_grid=(5, 10, 25, 50, 75, 100),
        meaning="the KL capacity reached after 100k steps (nats)"),
    step_metrics=("capacity",),
    description="reconstruction + 1000·|KL - C(step)|, C rising to C_max over 100k steps"))
