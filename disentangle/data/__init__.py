"""Datasets: the ground-truth interface, the registry behind ``get_dataset`` and the cache."""

from __future__ import annotations

import importlib

from disentangle.data.base import GroundTruthDataset, ImageDataset
from disentangle.data.cache import cache_dir
from disentangle.registry import Registry

#: name -> "module:factory"; factories take keyword options and return an ImageDataset (imported
#: only when asked for, so listing the datasets stays cheap).
DATASETS: Registry[str] = Registry(
    "dataset", unknown="unknown dataset {key!r}: choose one of {sorted_names}")
DATASETS.register("dsprites", "disentangle.data.dsprites:load_dsprites")
DATASETS.register("color_dsprites", "disentangle.data.dsprites_variants:load_color_dsprites")
DATASETS.register("noisy_dsprites", "disentangle.data.dsprites_variants:load_noisy_dsprites")
DATASETS.register("faces", "disentangle.data.faces:load_faces")
DATASETS.register("celeba", "disentangle.data.celeba:load_celeba")


def dataset_factory(name: str):
    """The function that builds dataset ``name`` (one of ``DATASETS``)."""
    module_name, factory = DATASETS.lookup(name).split(":")
    return getattr(importlib.import_module(module_name), factory)


def get_dataset(name: str, **options) -> ImageDataset:
    """The dataset called ``name`` (one of ``DATASETS``), built with ``options``."""
    return dataset_factory(name)(**options)


__all__ = ["DATASETS", "GroundTruthDataset", "ImageDataset", "cache_dir", "dataset_factory",
           "get_dataset"]
