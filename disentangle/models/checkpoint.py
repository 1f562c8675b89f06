"""This project's checkpoint files: one ``torch.save`` of plain tensors, numbers, strings, lists
and dicts, so that ``torch.load(..., weights_only=True)`` reads them without running any pickled
code.

Layout::

    {"format": "vae-study-checkpoint", "version": 1,
     "info": {...},          # JSON-able: architecture, build options, model kind,
                             # hyperparameters, data/preprocessing, provenance
     "model": state_dict,    # the autoencoder's weights
     "training": {...}}      # optional: everything a Trainer needs to resume exactly

A file is written to a temporary name and renamed, so a crash never leaves half a checkpoint.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Callable

import torch

from disentangle.errors import UserError
from disentangle.files import atomic_path

CHECKPOINT_FORMAT = "vae-study-checkpoint"
CHECKPOINT_VERSION = 1


def make_checkpoint(info: dict, model_state: dict, training: dict | None = None) -> dict:
    """The checkpoint dictionary (see the module docstring)."""
    checkpoint = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
                  "info": info, "model": model_state}
    if training is not None:
        checkpoint["training"] = training
    return checkpoint


def write_checkpoint(checkpoint: dict, path: str | Path) -> Path:
    """Save ``checkpoint`` atomically at ``path`` (parent folders are created)."""
    with atomic_path(path) as temporary:
        torch.save(checkpoint, temporary)
    return Path(path)


def load_weights_only(path: Path, refusal: Callable[[str], str]):
    """``torch.load`` of ``path`` onto the CPU with ``weights_only=True``; a file torch cannot
    read raises the one-line ``UserError`` ``refusal(the first line of torch's error)``."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, ValueError) as err:
        raise UserError(refusal(str(err).splitlines()[0])) from None


def read_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint of this project with ``weights_only=True``; clear errors otherwise."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no checkpoint file at {path}: give the path of a .pt file written by "
                        f"training or by `vae-study pretrained import`")
    checkpoint = load_weights_only(path, lambda reason: (
        f"{path} is not a checkpoint of this project (torch.load failed: {reason[:120]}); give "
        f"a .pt file written by training or by `vae-study pretrained import`"))
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        hint = (" (it looks like a bare state dict: if it is a disentangling-vae model.pt, run "
                "`vae-study pretrained import` on its folder)"
                if isinstance(checkpoint, dict) and checkpoint
                and all(isinstance(v, torch.Tensor) for v in checkpoint.values()) else "")
        raise UserError(f"{path} is not a checkpoint of this project{hint}")
    if checkpoint.get("version") != CHECKPOINT_VERSION:
        raise UserError(f"{path} has checkpoint version {checkpoint.get('version')!r}; this "
                        f"version of vae-study reads version {CHECKPOINT_VERSION}")
    return checkpoint
