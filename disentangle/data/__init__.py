"""Datasets: the ground-truth interface, the registry behind ``get_dataset`` and the cache."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from disentangle.data.base import GroundTruthDataset, ImageDataset
from disentangle.errors import UserError

# name -> "module:factory"; factories take keyword options and return an ImageDataset.
DATASETS = {
    "dsprites": "disentangle.data.dsprites:load_dsprites",
    "color_dsprites": "disentangle.data.dsprites_variants:load_color_dsprites",
    "noisy_dsprites": "disentangle.data.dsprites_variants:load_noisy_dsprites",
    "faces": "disentangle.data.faces:load_faces",
    "celeba": "disentangle.data.celeba:load_celeba",
}


def cache_dir() -> Path:
    """Where rendered datasets and fetched checkpoints live: $VAE_STUDY_CACHE, else
    $XDG_CACHE_HOME/vae-study, else ~/.cache/vae-study."""
    explicit = os.environ.get("VAE_STUDY_CACHE")
    if explicit:
        return Path(explicit).expanduser().absolute()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser().absolute() / "vae-study"


def get_dataset(name: str, **options) -> ImageDataset:
    """The dataset called ``name`` (one of ``DATASETS``), built with ``options``."""
    if name not in DATASETS:
        raise UserError(f"unknown dataset {name!r}: choose one of {', '.join(sorted(DATASETS))}")
    module_name, factory = DATASETS[name].split(":")
    return getattr(importlib.import_module(module_name), factory)(**options)


__all__ = ["DATASETS", "GroundTruthDataset", "ImageDataset", "cache_dir", "get_dataset"]
