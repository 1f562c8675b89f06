"""Where rendered datasets and fetched checkpoints live (``cache_dir``): a module of its own so
the dataset modules and ``disentangle.data``'s own ``__init__`` share it without a circle."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Where rendered datasets and fetched checkpoints live: $VAE_STUDY_CACHE, else
    $XDG_CACHE_HOME/vae-study, else ~/.cache/vae-study."""
    explicit = os.environ.get("VAE_STUDY_CACHE")
    if explicit:
        return Path(explicit).expanduser().absolute()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser().absolute() / "vae-study"
