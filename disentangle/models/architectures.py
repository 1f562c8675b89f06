"""The convolutional encoder/decoder pairs: the papers' dSprites network, disentanglement_lib's
variant of it, and the Burgess et al. (2018) network of the public disentangling-vae weights.

Every model maps images (N, C, H, W) in [0, 1] to a diagonal Gaussian posterior
``encode(x) -> (mean, log_var)`` and latents back to pixel logits ``decode_logits(z)``;
``decode(z)`` is their sigmoid (the Bernoulli means, i.e. images in [0, 1]). The encoder's mean
is the representation the metrics score.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from disentangle.registry import Registry

DEFAULT_ARCHITECTURE = "standard"


@dataclass(frozen=True)
class LayerPlan:
    """An autoencoder as a sequence of layers, by their names in its state dict, so that many
    copies can run as one stacked computation (``disentangle.models.stacked``): convs with a
    ReLU after each, then linear layers with a ReLU after each but the last, whose output
    holds the mean and log-variance (``split``: ``halves`` = all means then all log-variances,
    ``pairs`` = interleaved); the decoder's linear layers, each followed by a ReLU, reshaped to
    ``feature_shape``, then transposed convs with a ReLU after each but the last."""

    encoder_convs: tuple[str, ...]
    encoder_linears: tuple[str, ...]
    split: str
    decoder_linears: tuple[str, ...]
    feature_shape: tuple[int, int, int]
    decoder_convs: tuple[str, ...]


class Autoencoder(nn.Module):
    """Shared interface: ``encode``, ``decode_logits``, ``decode``, ``forward`` and
    ``layer_plan``."""

    architecture = ""

    def __init__(self, num_channels: int, latent_dim: int, hidden_dim: int, image_size: int):
        super().__init__()
        self.num_channels = num_channels
        self.latent_dim = latent_dim
        self.hidden_dim = hidden_dim
        self.image_size = image_size

    def build_options(self) -> dict:
        """The keyword arguments of ``build_model`` that rebuild this network."""
        return {"architecture": self.architecture, "num_channels": self.num_channels,
                "latent_dim": self.latent_dim, "hidden_dim": self.hidden_dim,
                "image_size": self.image_size}

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def layer_plan(self) -> LayerPlan:
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1]: the sigmoid of the pixel logits."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction logits of ``x`` through the posterior mean (no sampling)."""
        return self.decode_logits(self.encode(x)[0])


def _check_size(image_size: int, divisor: int, architecture: str) -> None:
    if image_size % divisor or image_size < divisor:
        raise ValueError(f"architecture {architecture!r} needs an image size that is a multiple "
                         f"of {divisor}, got {image_size}")


class StandardVAE(Autoencoder):
    """The dSprites network of Higgins et al. (2017) and Kim & Mnih (2018), Table 1 / A.

    Encoder: conv 32, 32, 64, 64 channels, all stride 2, ReLU; FC ``hidden_dim``; FC to
    2 x latent (mean, then log-variance). Decoder mirrors it: FC ``hidden_dim``, FC 64x4x4,
    transposed convs 64, 32, 32, C, stride 2, ReLU between, logits out. The papers use 4x4
    kernels throughout (``standard``, the default); disentanglement_lib's released code uses 2x2
    kernels in the last two encoder convs (``standard_dl``).
    """

    architecture = "standard"
    last_kernel = 4

    def __init__(self, num_channels=1, latent_dim=10, hidden_dim=256, image_size=64):
        super().__init__(num_channels, latent_dim, hidden_dim, image_size)
        _check_size(image_size, 16, self.architecture)
        self.feature_size = image_size // 16
        k, pad = self.last_kernel, (self.last_kernel - 2) // 2
        self.encoder_convs = nn.Sequential(
            nn.Conv2d(num_channels, 32, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(32, 32, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(32, 64, k, 2, pad), nn.ReLU(),
            nn.Conv2d(64, 64, k, 2, pad), nn.ReLU())
        flat = 64 * self.feature_size ** 2
        self.encoder_fc = nn.Sequential(
            nn.Linear(flat, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, 2 * latent_dim))
        self.decoder_fc = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, flat), nn.ReLU())
        self.decoder_convs = nn.Sequential(
            nn.ConvTranspose2d(64, 64, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(32, 32, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(32, num_channels, 4, 2, 1))

    def encode(self, x):
        mean, log_var = self.encoder_fc(self.encoder_convs(x).flatten(1)).chunk(2, dim=1)
        return mean, log_var

    def decode_logits(self, z):
        features = self.decoder_fc(z).view(-1, 64, self.feature_size, self.feature_size)
        return self.decoder_convs(features)

    def layer_plan(self) -> LayerPlan:
        return LayerPlan(
            encoder_convs=tuple(f"encoder_convs.{i}" for i in (0, 2, 4, 6)),
            encoder_linears=("encoder_fc.0", "encoder_fc.2"), split="halves",
            decoder_linears=("decoder_fc.0", "decoder_fc.2"),
            feature_shape=(64, self.feature_size, self.feature_size),
            decoder_convs=tuple(f"decoder_convs.{i}" for i in (0, 2, 4, 6)))


class StandardDlVAE(StandardVAE):
    """``standard`` with disentanglement_lib's 2x2 kernels in the last two encoder convs."""

    architecture = "standard_dl"
    last_kernel = 2


class _BurgessEncoder(nn.Module):
    def __init__(self, num_channels, latent_dim, hidden_dim, image_size):
        super().__init__()
        self.latent_dim = latent_dim
        self.conv1 = nn.Conv2d(num_channels, 32, 4, 2, 1)
        self.conv2 = nn.Conv2d(32, 32, 4, 2, 1)
        self.conv3 = nn.Conv2d(32, 32, 4, 2, 1)
        if image_size == 64:
            self.conv_64 = nn.Conv2d(32, 32, 4, 2, 1)
        self.lin1 = nn.Linear(32 * 4 * 4, hidden_dim)
        self.lin2 = nn.Linear(hidden_dim, hidden_dim)
        self.mu_logvar_gen = nn.Linear(hidden_dim, 2 * latent_dim)

    def forward(self, x):
        for conv in (self.conv1, self.conv2, self.conv3, getattr(self, "conv_64", None)):
            if conv is not None:
                x = torch.relu(conv(x))
        x = torch.relu(self.lin2(torch.relu(self.lin1(x.flatten(1)))))
        # Mean and log-variance alternate in the last layer's outputs.
        mean, log_var = self.mu_logvar_gen(x).view(-1, self.latent_dim, 2).unbind(-1)
        return mean, log_var


class _BurgessDecoder(nn.Module):
    def __init__(self, num_channels, latent_dim, hidden_dim, image_size):
        super().__init__()
        self.lin1 = nn.Linear(latent_dim, hidden_dim)
        self.lin2 = nn.Linear(hidden_dim, hidden_dim)
        self.lin3 = nn.Linear(hidden_dim, 32 * 4 * 4)
        if image_size == 64:
            self.convT_64 = nn.ConvTranspose2d(32, 32, 4, 2, 1)
        self.convT1 = nn.ConvTranspose2d(32, 32, 4, 2, 1)
        self.convT2 = nn.ConvTranspose2d(32, 32, 4, 2, 1)
        self.convT3 = nn.ConvTranspose2d(32, num_channels, 4, 2, 1)

    def forward(self, z):
        x = torch.relu(self.lin3(torch.relu(self.lin2(torch.relu(self.lin1(z))))))
        x = x.view(-1, 32, 4, 4)
        for conv in (getattr(self, "convT_64", None), self.convT1, self.convT2):
            if conv is not None:
                x = torch.relu(conv(x))
        return self.convT3(x)  # logits; the original applies the sigmoid here


class BurgessVAE(Autoencoder):
    """Burgess et al. (2018), as in YannDubs/disentangling-vae: four 4x4 stride-2 convs of 32
    channels (three for 32x32 images), two FC layers of 256, mean and log-variance interleaved in
    the encoder's last layer, sigmoid output. Parameter names match that code's state dict, so
    its ``model.pt`` files load unchanged."""

    architecture = "burgess"

    def __init__(self, num_channels=1, latent_dim=10, hidden_dim=256, image_size=64):
        super().__init__(num_channels, latent_dim, hidden_dim, image_size)
        if image_size not in (32, 64):
            raise ValueError(f"architecture 'burgess' takes 32x32 or 64x64 images, "
                             f"got {image_size}")
        self.encoder = _BurgessEncoder(num_channels, latent_dim, hidden_dim, image_size)
        self.decoder = _BurgessDecoder(num_channels, latent_dim, hidden_dim, image_size)

    def encode(self, x):
        return self.encoder(x)

    def decode_logits(self, z):
        return self.decoder(z)

    def layer_plan(self) -> LayerPlan:
        big = self.image_size == 64
        return LayerPlan(
            encoder_convs=("encoder.conv1", "encoder.conv2", "encoder.conv3")
            + (("encoder.conv_64",) if big else ()),
            encoder_linears=("encoder.lin1", "encoder.lin2", "encoder.mu_logvar_gen"),
            split="pairs",
            decoder_linears=("decoder.lin1", "decoder.lin2", "decoder.lin3"),
            feature_shape=(32, 4, 4),
            decoder_convs=(("decoder.convT_64",) if big else ())
            + ("decoder.convT1", "decoder.convT2", "decoder.convT3"))


#: architecture name -> its network class, in the order errors and --help list them.
ARCHITECTURES: Registry[type[Autoencoder]] = Registry(
    "architecture", unknown="unknown architecture {key!r}: choose one of {names}")
for _network in (StandardVAE, StandardDlVAE, BurgessVAE):
    ARCHITECTURES.register(_network.architecture, _network)
