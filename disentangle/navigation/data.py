"""Labelled face images for the navigation study, held in memory as uint8.

The study needs images *with attribute labels*: to train the attribute classifier, and to fit
each attribute's boundary in a model's latent space. ``LabelledImages`` is such a set, an
``ImageDataset`` (so a ``Trainer`` can train on it too) with ``labels`` (N, K) in {0, 1} named
by ``attribute_names`` and an ``identity`` that says which data it is (name, attribute names,
preprocessing): a classifier records it and is refused on data of another identity.

Two sources:

* ``synthetic_faces(num, seed)``: the synthetic faces of ``disentangle.data.faces`` rendered
  on the fly. ``distribution="joint"`` (the default) draws the attributes from the written
  dataset's correlated joint distribution (Male with Heavy_Makeup, Smiling with
  Mouth_Slightly_Open, ...: CelebA's stand-in, where conditional editing matters) with
  continuous nuisance factors; ``"independent"`` draws uniform random factor combinations of
  ``FacesDataset`` (what ``get_dataset("faces")`` trains on). The labels are the generator's
  ground truth.
* ``celeba_faces(root, split, preprocessing)``: a split of a CelebA folder (real, or the
  synthetic tree written by ``vae-study data faces``) with CelebA's labels.
"""

from __future__ import annotations

import os

import numpy as np

from disentangle.data.base import ImageDataset, check_indices
from disentangle.data.celeba import load_celeba
from disentangle.data.faces import (
    ATTRIBUTES,
    FORMAT_VERSION,
    FacesDataset,
    render_faces,
    sample_attributes,
    sample_nuisance,
)
from disentangle.errors import UserError
from disentangle.parallel import parallel_map

DISTRIBUTIONS = ("joint", "independent")
_RENDER_CHUNK = 256  # images per rendering task


class LabelledImages(ImageDataset):
    """Images (uint8 (N, C, H, W)) with binary ``labels`` (uint8 (N, K)) named by
    ``attribute_names``; ``identity`` = {"name", "attributes", "preprocessing"}."""

    def __init__(self, name: str, pixels: np.ndarray, labels: np.ndarray,
                 attribute_names, preprocessing: str, source: str, details: dict | None = None):
        if len(pixels) != len(labels):
            raise ValueError(f"{len(pixels)} images but {len(labels)} label rows")
        self.name = name
        self.pixels = pixels
        self.labels = np.asarray(labels, dtype=np.uint8)
        self.attribute_names = tuple(attribute_names)
        self.preprocessing = preprocessing
        self.source = source
        self.details = dict(details or {})

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.pixels.shape[1:])

    def __len__(self) -> int:
        return len(self.pixels)

    def images(self, indices: np.ndarray) -> np.ndarray:
        indices = check_indices(indices, len(self))
        return self.pixels[indices].astype(np.float32) * np.float32(1 / 255)

    @property
    def identity(self) -> dict:
        """What a classifier trained on this data must match: dataset, where its images come
        from (real or synthetic), attributes, preprocessing."""
        return {"name": self.name, "source": self.source,
                "attributes": list(self.attribute_names), "preprocessing": self.preprocessing}

    def describe(self) -> dict:
        return {**super().describe(), **self.identity, "num_images": len(self), **self.details}

    def subset(self, indices: np.ndarray) -> "LabelledImages":
        """The images at ``indices`` (a view where numpy allows), same identity."""
        indices = check_indices(indices, len(self))
        return LabelledImages(self.name, self.pixels[indices], self.labels[indices],
                              self.attribute_names, self.preprocessing, self.source,
                              self.details)

    def column(self, attribute: str) -> int:
        """Index of ``attribute`` in the labels, with a clear error for an unknown name."""
        if attribute not in self.attribute_names:
            raise UserError(f"unknown attribute {attribute!r} for {self.name}: choose from "
                            f"{', '.join(self.attribute_names)}")
        return self.attribute_names.index(attribute)


def _to_uint8(images: np.ndarray) -> np.ndarray:
    return (images * 255 + 0.5).astype(np.uint8)


def _render_joint(task) -> np.ndarray:
    attributes, nuisance = task
    return _to_uint8(render_faces(attributes, nuisance))


def _render_indices(indices) -> np.ndarray:
    return _to_uint8(FacesDataset().images(indices))


def _map(function, tasks, workers: int | None) -> list:
    """``function`` over ``tasks``, in ``workers`` threads when more than one."""
    return list(parallel_map(function, tasks, workers or 1))


def faces_identity() -> dict:
    """The identity of every ``synthetic_faces`` set (known without rendering any)."""
    return {"name": "faces", "source": "disentangle.data.faces", "attributes": list(ATTRIBUTES),
            "preprocessing": f"rendered 64x64 RGB (faces format {FORMAT_VERSION})"}


def synthetic_faces(num: int, seed: int = 0, distribution: str = "joint",
                    workers: int | None = 1) -> LabelledImages:
    """``num`` synthetic faces rendered now, labelled by the generator (see the module
    docstring); ``workers`` threads render in parallel (None: one per CPU core)."""
    if distribution not in DISTRIBUTIONS:
        raise UserError(f"unknown face distribution {distribution!r}: choose "
                        f"{' or '.join(DISTRIBUTIONS)}")
    if num < 1:
        raise UserError(f"the number of labelled faces must be at least 1, got {num}")
    workers = len(os.sched_getaffinity(0)) if workers is None else workers
    random_state = np.random.RandomState(seed)
    chunks = range(0, num, _RENDER_CHUNK)
    if distribution == "joint":
        labels = sample_attributes(num, random_state)
        nuisance = sample_nuisance(num, random_state)
        tasks = [(labels[i:i + _RENDER_CHUNK], nuisance[i:i + _RENDER_CHUNK]) for i in chunks]
        pixels = np.concatenate(_map(_render_joint, tasks, workers))
    else:
        faces = FacesDataset()
        indices = faces.sample_indices(num, random_state)
        labels = faces.index_to_factors(indices)[:, :len(ATTRIBUTES)].astype(np.uint8)
        pixels = np.concatenate(_map(_render_indices,
                                     [indices[i:i + _RENDER_CHUNK] for i in chunks], workers))
    identity = faces_identity()
    return LabelledImages("faces", pixels, labels, ATTRIBUTES, identity["preprocessing"],
                          identity["source"], {"distribution": distribution, "seed": seed})


def celeba_faces(root, split: str = "train", preprocessing: str = "crop148",
                 num: int | None = None, seed: int = 0) -> LabelledImages:
    """A split of the CelebA folder ``root`` (at most ``num`` images, drawn with ``seed``),
    read through the decoded cache, with CelebA's 40 labels."""
    celeba = load_celeba(root, preprocessing=preprocessing, split=split, progress=True)
    rows = np.arange(len(celeba))
    if num is not None and num < len(celeba):
        rows = np.sort(np.random.RandomState(seed).choice(len(celeba), num, replace=False))
    pixels = np.concatenate([_to_uint8(celeba.images(rows[i:i + _RENDER_CHUNK]))
                             for i in range(0, len(rows), _RENDER_CHUNK)])
    kind = "synthetic faces in CelebA's layout" if celeba.factors is not None else "CelebA"
    return LabelledImages("celeba", pixels, celeba.attributes[rows], celeba.attribute_names,
                          preprocessing, kind, {"root": str(celeba.folder), "split": split})
