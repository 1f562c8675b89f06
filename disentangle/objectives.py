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


def reconstruction_per_image(logits: torch.Tensor, images: torch.Tensor,
                             distribution: str = "bernoulli") -> torch.Tensor:
    """Negative log-likelihood of each image, summed over its pixels: shape (N,).

    ``bernoulli``: sigmoid cross-entropy of the logits (the papers' choice, also used on
    continuous [0, 1] pixels, where it includes the pixels' own entropy). ``gaussian``: squared
    error of the sigmoid means, i.e. a Gaussian with variance 1/2 up to its constant
    (disentanglement_lib's ``l2`` loss), an option for RGB data.
    """
    if distribution == "bernoulli":
        nll = F.binary_cross_entropy_with_logits(logits, images, reduction="none")
    elif distribution == "gaussian":
        nll = (torch.sigmoid(logits) - images).square()
    else:
        raise ValueError(f"unknown reconstruction {distribution!r}: use one of "
                         f"{', '.join(RECONSTRUCTIONS)}")
    return nll.flatten(1).sum(1)


def reconstruction_loss(logits, images, distribution: str = "bernoulli") -> torch.Tensor:
    """The reconstruction term: per-image negative log-likelihood averaged over the batch."""
    return reconstruction_per_image(logits, images, distribution).mean()


def kl_per_dimension(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(q(z_d|x) || N(0, 1)) of each latent dimension, averaged over the batch: shape (D,)."""
    return 0.5 * (mean.square() + log_var.exp() - log_var - 1).mean(0)


def count_active_dimensions(kl_dims: torch.Tensor,
                            threshold: float = ACTIVE_KL_THRESHOLD) -> torch.Tensor:
    """How many dimensions carry more than ``threshold`` nats of KL (a float tensor)."""
    return (kl_dims > threshold).sum().float()


def sample_latent(mean, log_var, generator: torch.Generator | None = None) -> torch.Tensor:
    """A reparameterised sample z = mean + sigma * eps of q(z|x)."""
    noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
    return mean + torch.exp(0.5 * log_var) * noise


def gaussian_log_density(z, mean, log_var) -> torch.Tensor:
    """Elementwise log N(z; mean, exp(log_var))."""
    return -0.5 * (LOG_2PI + log_var + (z - mean).square() * torch.exp(-log_var))


def total_correlation_mws(z, mean, log_var, dataset_size: int | None = None) -> torch.Tensor:
    """Minibatch-weighted-sampling estimate of TC(z) = KL(q(z) || prod_d q(z_d)) (Chen et al.
    2018), from a batch of samples ``z[i] ~ q(z|x_i)`` and the posteriors of the same batch.

    log q(z_i) ~ logsumexp_j log q(z_i|x_j) - log(M * dataset_size), and likewise per dimension.
    With ``dataset_size=None`` (the default, used for the reported metric) the batch is taken as
    the data (normaliser log M): then the estimate is ~0 for independent latents. Chen et al.'s
    normaliser log(M N) is right for gradients but shifts the value by (D - 1) log N, so a
    model whose latents are all at the prior would show D log N nats of "TC".
    """
    log_q = gaussian_log_density(z[:, None, :], mean[None, :, :], log_var[None, :, :])  # (M, M, D)
    batch = z.shape[0]
    normaliser = math.log(batch * (dataset_size or 1))
    log_joint = torch.logsumexp(log_q.sum(2), dim=1) - normaliser
    log_marginals = (torch.logsumexp(log_q, dim=1) - normaliser).sum(1)
    return (log_joint - log_marginals).mean()


def permute_dims(z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shuffle each latent dimension independently across the batch (Kim & Mnih, Alg. 1): every
    marginal keeps its values, the dependence between dimensions is destroyed."""
    keys = torch.rand(z.shape, generator=generator, device=z.device)
    return torch.gather(z, 0, keys.argsort(dim=0))


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
    """The density-ratio estimate of TC: mean of log D(z) / (1 - D(z)) = logit_0 - logit_1."""
    return (logits_joint[:, 0] - logits_joint[:, 1]).mean()


def discriminator_loss(logits_joint, logits_permuted) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy for telling q(z) samples (class 0) from permuted ones (class 1), and the
    discriminator's accuracy over both halves."""
    zeros = torch.zeros(logits_joint.shape[0], dtype=torch.long, device=logits_joint.device)
    ones = torch.ones(logits_permuted.shape[0], dtype=torch.long, device=logits_permuted.device)
    loss = 0.5 * (F.cross_entropy(logits_joint, zeros) + F.cross_entropy(logits_permuted, ones))
    correct = ((logits_joint.argmax(1) == 0).sum() + (logits_permuted.argmax(1) == 1).sum())
    accuracy = correct.float() / (logits_joint.shape[0] + logits_permuted.shape[0])
    return loss, accuracy


def beta_vae_loss(reconstruction, kl, beta: float = 1.0) -> torch.Tensor:
    """reconstruction + beta * KL; beta = 1 is the VAE."""
    return reconstruction + beta * kl


def factor_vae_loss(reconstruction, kl, tc, gamma: float) -> torch.Tensor:
    """reconstruction + KL + gamma * TC; gamma = 0 is the VAE."""
    return reconstruction + kl + gamma * tc
