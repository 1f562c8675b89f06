"""The terms of the three objectives and the diagnostics every model reports.

Scale (as in the papers, so that beta and gamma mean what they mean there): the reconstruction
term is the negative log-likelihood of one image, *summed* over its pixels, and every term is
*averaged* over the images of the batch. The KL term is KL(q(z|x) || N(0, I)) summed over the
latent dimensions, per image.

- VAE:       reconstruction + KL                      (the negative ELBO)
- beta-VAE:  reconstruction + beta * KL               (beta > 1 squeezes the posterior)
- FactorVAE: reconstruction + KL + gamma * TC         (TC estimated by a discriminator)

Conventions: a discriminator outputs two logits, class 0 = "a sample of q(z)", class 1 = "a
sample of the product of its marginals". All functions take and return float tensors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

RECONSTRUCTIONS = ("bernoulli", "gaussian")
PERMUTATIONS = ("two_batch", "one_batch")

#: A latent dimension is active when its batch-mean KL exceeds this many nats. A dimension the
#: model ignores sits at the prior (KL ~ 1e-3 nats or less); one that encodes even a coarse
#: binary factor costs well above 0.1 nats.
ACTIVE_KL_THRESHOLD = 0.01

LOG_2PI = math.log(2 * math.pi)


def pixel_nll(logits: torch.Tensor, images: torch.Tensor,
              distribution: str = "bernoulli") -> torch.Tensor:
    """Negative log-likelihood of each pixel, elementwise.

    ``bernoulli``: sigmoid cross-entropy of the logits (the papers' choice, also used on
    continuous [0, 1] pixels, where it includes the pixels' own entropy). ``gaussian``: squared
    error of the sigmoid means, i.e. a Gaussian with variance 1/2 up to its constant
    (disentanglement_lib's ``l2`` loss), an option for RGB data.
    """
    if distribution == "bernoulli":
        return F.binary_cross_entropy_with_logits(logits, images, reduction="none")
    if distribution == "gaussian":
        return (torch.sigmoid(logits) - images).square()
    raise ValueError(f"unknown reconstruction {distribution!r}: use one of "
                     f"{', '.join(RECONSTRUCTIONS)}")


def reconstruction_per_image(logits: torch.Tensor, images: torch.Tensor,
                             distribution: str = "bernoulli") -> torch.Tensor:
    """Negative log-likelihood of each image, summed over its pixels: shape (N,)."""
    return pixel_nll(logits, images, distribution).flatten(1).sum(1)


def reconstruction_loss(logits, images, distribution: str = "bernoulli") -> torch.Tensor:
    """The reconstruction term: per-image negative log-likelihood averaged over the batch."""
    return reconstruction_per_image(logits, images, distribution).mean()


def stacked_reconstruction(logits: torch.Tensor, images: torch.Tensor, size: int,
                           distribution: str = "bernoulli") -> torch.Tensor:
    """The reconstruction term of ``size`` stacked models (``disentangle.models.stacked``:
    logits and images (N, S*C, H, W)): shape (S,)."""
    nll = pixel_nll(logits, images, distribution)
    return nll.reshape(nll.shape[0], size, -1).sum(-1).mean(0)


def kl_per_dimension(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(q(z_d|x) || N(0, 1)) of each latent dimension, averaged over the batch (the
    second-to-last axis): (N, D) -> (D,), (S, N, D) -> (S, D)."""
    return 0.5 * (mean.square() + log_var.exp() - log_var - 1).mean(-2)


def count_active_dimensions(kl_dims: torch.Tensor,
                            threshold: float = ACTIVE_KL_THRESHOLD) -> torch.Tensor:
    """How many dimensions carry more than ``threshold`` nats of KL (a float tensor; one per
    model for stacked (S, D))."""
    return (kl_dims > threshold).sum(-1).float()


def sample_latent(mean, log_var, generator: torch.Generator | None = None) -> torch.Tensor:
    """A reparameterised sample z = mean + sigma * eps of q(z|x)."""
    noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
    return reparameterise(mean, log_var, noise)


def reparameterise(mean, log_var, noise: torch.Tensor) -> torch.Tensor:
    """z = mean + sigma * noise, for standard normal ``noise`` drawn by the caller."""
    return mean + torch.exp(0.5 * log_var) * noise


def gaussian_log_density(z, mean, log_var) -> torch.Tensor:
    """Elementwise log N(z; mean, exp(log_var))."""
    return -0.5 * (LOG_2PI + log_var + (z - mean).square() * torch.exp(-log_var))


def total_correlation_mws(z, mean, log_var, dataset_size: int | None = None) -> torch.Tensor:
    """The minibatch-weighted-sampling (MWS) estimator of Chen et al. 2018 applied to one
    batch: samples ``z[i] ~ q(z|x_i)`` and the posteriors of the same batch (each (M, D), or
    (S, M, D) for stacked models, giving one estimate per model). Reported each step as
    ``tc_minibatch``; a training diagnostic, not the total correlation of the aggregate posterior.

    log q(z_i) ~ logsumexp_j log q(z_i|x_j) - log(M * dataset_size), and likewise per dimension.
    With ``dataset_size=None`` (the default, used for the reported metric) the batch is taken as
    the data (normaliser log M). Chen et al.'s normaliser log(M N) is right for gradients but
    shifts the value by (D - 1) log N, so a model whose latents are all at the prior would show
    D log N nats of "TC".

    What it measures. With normaliser log M this is the total correlation of the M-component
    mixture (1/M) sum_j q(z|x_j) of the batch's posteriors, evaluated at the batch's own
    samples, and it can never exceed (D - 1) log M (since sum_j prod_d a_jd <= prod_d sum_j
    a_jd): 37.4 nats for D = 10 at batch 64, whatever the latents' dependence. When the
    posteriors are narrow compared with the spread of the batch's means, each z_i sits on its
    own component in D dimensions while its one-dimensional marginals overlap with other
    components', and the estimate approaches that ceiling; at batch 64 it therefore measures
    how sharp the posteriors are more than how dependent the latents are. The total correlation
    of the aggregate posterior is estimated at evaluation time on a large sample
    (``disentangle.metrics.total_correlation``, reported as ``tc_large_sample``); the analysis
    uses that one.
    """
    log_q = gaussian_log_density(z[..., :, None, :], mean[..., None, :, :],
                                 log_var[..., None, :, :])  # (..., M, M, D)
    batch = z.shape[-2]
    normaliser = math.log(batch * (dataset_size or 1))
    log_joint = torch.logsumexp(log_q.sum(-1), dim=-1) - normaliser
    log_marginals = (torch.logsumexp(log_q, dim=-2) - normaliser).sum(-1)
    return (log_joint - log_marginals).mean(-1)


def permute_dims(z: torch.Tensor, generator: torch.Generator | None = None,
                 keys: torch.Tensor | None = None) -> torch.Tensor:
    """Shuffle each latent dimension independently across the batch (Kim & Mnih, Alg. 1): every
    marginal keeps its values, the dependence between dimensions is destroyed. The shuffle is
    the sort order of uniform ``keys`` (drawn from ``generator`` when not given), along the
    batch axis (the second-to-last)."""
    if keys is None:
        keys = torch.rand(z.shape, generator=generator, device=z.device)
    return torch.gather(z, -2, keys.argsort(dim=-2))


class Discriminator(nn.Module):
    """FactorVAE's TC discriminator: 6 hidden layers of 1000 leaky-ReLU units, 2 logits."""

    def __init__(self, latent_dim: int = 10, hidden: int = 1000, layers: int = 6):
        super().__init__()
        sizes = [latent_dim] + [hidden] * layers
        blocks = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            blocks += [nn.Linear(n_in, n_out), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*blocks, nn.Linear(hidden, 2))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def discriminator_tc(logits_joint: torch.Tensor) -> torch.Tensor:
    """The density-ratio estimate of TC: mean of log D(z) / (1 - D(z)) = logit_0 - logit_1
    over the batch (logits (M, 2), or (S, M, 2) giving one estimate per model)."""
    return (logits_joint[..., 0] - logits_joint[..., 1]).mean(-1)


def discriminator_loss(logits_joint, logits_permuted) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy for telling q(z) samples (class 0) from permuted ones (class 1), and the
    discriminator's accuracy over both halves (logits (M, 2), or (S, M, 2) per model)."""
    joint = -F.log_softmax(logits_joint, dim=-1)[..., 0].mean(-1)
    permuted = -F.log_softmax(logits_permuted, dim=-1)[..., 1].mean(-1)
    correct = ((logits_joint.argmax(-1) == 0).float().sum(-1)
               + (logits_permuted.argmax(-1) == 1).float().sum(-1))
    accuracy = correct / (logits_joint.shape[-2] + logits_permuted.shape[-2])
    return 0.5 * (joint + permuted), accuracy


def covariance(x: torch.Tensor) -> torch.Tensor:
    """Covariance over the batch (the second-to-last axis) of each model's vectors:
    (..., N, D) -> (..., D, D), E[x x^T] - E[x] E[x]^T (the population estimate, as
    disentanglement_lib computes it)."""
    centred = x - x.mean(-2, keepdim=True)
    return centred.transpose(-1, -2) @ centred / x.shape[-2]


def dip_regulariser(matrix: torch.Tensor, lambda_od, lambda_d) -> torch.Tensor:
    """DIP-VAE's penalty (Kumar et al. 2018, eqs. 6 and 7) on a covariance matrix (..., D, D):
    lambda_od times the sum of squared off-diagonal entries plus lambda_d times the sum of
    squared deviations of the diagonal from 1."""
    diagonal = matrix.diagonal(dim1=-2, dim2=-1)
    off_diagonal = matrix - torch.diag_embed(diagonal)
    return (lambda_od * off_diagonal.square().sum((-2, -1))
            + lambda_d * (diagonal - 1).square().sum(-1))


def dip_covariance(mean: torch.Tensor, log_var: torch.Tensor, kind: str) -> torch.Tensor:
    """The covariance DIP-VAE matches to the identity: of the encoder means (type ``i``), or
    of the aggregate posterior, the means' covariance plus the mean encoder variance (``ii``)."""
    of_means = covariance(mean)
    if kind == "i":
        return of_means
    return of_means + torch.diag_embed(log_var.exp().mean(-2))


def capacity(step: int, c_max, steps_to_max: int):
    """AnnealedVAE's target KL (Burgess et al. 2018): rises linearly from 0 to ``c_max`` nats
    over ``steps_to_max`` steps, then stays there (disentanglement_lib's schedule)."""
    return c_max * min(step / steps_to_max, 1.0)


def beta_vae_loss(reconstruction, kl, beta: float = 1.0) -> torch.Tensor:
    """reconstruction + beta * KL; beta = 1 is the VAE."""
    return reconstruction + beta * kl


def factor_vae_loss(reconstruction, kl, tc, gamma: float) -> torch.Tensor:
    """reconstruction + KL + gamma * TC; gamma = 0 is the VAE."""
    return reconstruction + kl + gamma * tc


@dataclass
class Terms:
    """What the trainer computes for one batch, for a kind's loss to combine
    (``disentangle.kinds``): per model, the batch means of the reconstruction term and of the KL
    (in total and per dimension), the posterior parameters and the sampled codes, the
    discriminator's TC estimate when the kind trains one, and the training step. Tensors have
    one leading entry per model of the stack: (S,), (S, D), (S, N, D).

    A kind's loss may ``report`` per-model numbers named in its ``step_metrics``; ``select``
    gives the terms of some of the models (sharing the reports)."""

    reconstruction: torch.Tensor
    kl: torch.Tensor
    kl_dims: torch.Tensor
    mean: torch.Tensor
    log_var: torch.Tensor
    z: torch.Tensor
    step: int
    tc_discriminator: torch.Tensor | None = None
    indices: torch.Tensor | None = None          # which models of the stack, None = all
    reported: dict = field(default_factory=dict)  # name -> [(values, indices), ...]

    def report(self, name: str, values: torch.Tensor) -> None:
        """Record a per-model number of these models for the step's metrics."""
        self.reported.setdefault(name, []).append((values.detach(), self.indices))

    def select(self, indices: torch.Tensor) -> "Terms":
        """The terms of models ``indices`` of the stack."""
        def pick(tensor):
            return None if tensor is None else tensor.index_select(0, indices)

        return Terms(reconstruction=pick(self.reconstruction), kl=pick(self.kl),
                     kl_dims=pick(self.kl_dims), mean=pick(self.mean),
                     log_var=pick(self.log_var), z=pick(self.z), step=self.step,
                     tc_discriminator=pick(self.tc_discriminator), indices=indices,
                     reported=self.reported)
