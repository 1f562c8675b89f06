"""Autoencoder networks, building them by name, and loading any checkpoint of this project.

>>> model = build_model("standard", num_channels=1, latent_dim=10)
>>> mean, log_var = model.encode(images)      # images: float (N, C, 64, 64) in [0, 1]
>>> reconstructions = model.decode(mean)      # in [0, 1]
>>> model = load_model("run/checkpoint.pt")   # trained or imported; eval mode, with .info
"""

from __future__ import annotations

from pathlib import Path

from disentangle.models.architectures import ARCHITECTURES, DEFAULT_ARCHITECTURE, Autoencoder
from disentangle.models.checkpoint import make_checkpoint, read_checkpoint, write_checkpoint
from disentangle.models.loading import build_model, load_state, model_from_checkpoint
from disentangle.models.pretrained import import_disentangling_vae


def load_model(path: str | Path, device="cpu", member: int | None = None) -> Autoencoder:
    """Load a checkpoint of this project (trained, exported, or imported with ``pretrained
    import``; ``member``: which model of a stacked checkpoint), or a disentangling-vae result
    folder (model.pt + specs.json) directly. Returns the model in eval mode on ``device``, with
    ``.info`` (architecture, model kind, hyperparameters, data)."""
    path = Path(path)
    if path.is_dir():
        return model_from_checkpoint(import_disentangling_vae(path), device, str(path), member)
    return model_from_checkpoint(read_checkpoint(path), device, str(path), member)


__all__ = ["ARCHITECTURES", "DEFAULT_ARCHITECTURE", "Autoencoder", "build_model", "load_model",
           "load_state", "make_checkpoint", "model_from_checkpoint", "read_checkpoint",
           "write_checkpoint"]
