"""The dataset interfaces every model, metric and study works against.

``ImageDataset`` is a fixed collection of images addressed by integer index (real CelebA is
one). ``GroundTruthDataset`` adds disentanglement_lib's interface for data generated from
known discrete factors of variation (dSprites, the synthetic faces): every factor combination
is one image, whose index is the mixed-radix number of its factor classes with the last factor
varying fastest.

Observations are float32 arrays of shape (N, C, H, W) with values in [0, 1], produced for a
whole batch of indices in one vectorised step (no per-item Python loop, no collate), so a
batch of 64 costs microseconds and can go straight to ``torch.from_numpy``.
"""

from __future__ import annotations

import abc
from typing import Sequence

import numpy as np


class ImageDataset(abc.ABC):
    """A finite set of images, addressed by index."""

    #: Short name used in configs, checkpoints and file names ("dsprites", "faces", ...).
    name: str = "images"

    @property
    @abc.abstractmethod
    def observation_shape(self) -> tuple[int, int, int]:
        """Shape (channels, height, width) of one observation."""

    @abc.abstractmethod
    def __len__(self) -> int:
        """Number of distinct images."""

    @abc.abstractmethod
    def images(self, indices: np.ndarray) -> np.ndarray:
        """Images at ``indices`` as float32 (N, C, H, W) in [0, 1], in one vectorised step."""

    #: False when an observation is a random function of its index (disentanglement_lib's
    #: noisy and colour dSprites): then ``observations`` needs a random state, and the metrics
    #: must encode every draw instead of each distinct index once.
    deterministic_observations: bool = True

    def observations(self, indices: np.ndarray,
                     random_state: np.random.RandomState) -> np.ndarray:
        """The observations at ``indices`` as training and the metrics see them: ``images``
        for a deterministic dataset; datasets with random observations draw from
        ``random_state``."""
        del random_state  # every index maps to exactly one image
        return self.images(indices)

    def torch_images(self, indices):
        """``images`` as a float32 torch tensor on ``indices``' device (a LongTensor).

        The training hot path. This default renders on the host and copies over; datasets
        override it to produce the batch where it will be used (bits resident on the GPU,
        faces rendered by torch on the device)."""
        import torch

        host = self.images(indices.cpu().numpy())
        return torch.from_numpy(host).to(indices.device, non_blocking=True)

    @property
    def training_size(self) -> int:
        """How many images training draws its batches from (the range of
        ``training_images``' positions): all of them, unless a dataset trains on a pool."""
        return len(self)

    def training_images(self, positions):
        """The training batch at ``positions`` (a LongTensor in [0, ``training_size``)) as
        float32 on their device: ``torch_images`` unless a dataset trains on a pool."""
        return self.torch_images(positions)

    def sample_indices(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """``num`` indices drawn uniformly with replacement (the papers' minibatch sampling)."""
        return random_state.randint(0, len(self), size=num).astype(np.int64)

    def describe(self) -> dict:
        """What a checkpoint records about the data it was trained on (name and preprocessing)."""
        return {"name": self.name, "observation_shape": list(self.observation_shape)}


class GroundTruthDataset(ImageDataset):
    """Images generated from independent discrete factors (disentanglement_lib's interface)."""

    #: Human-readable name of each factor, in index order.
    factor_names: tuple[str, ...] = ()

    @property
    @abc.abstractmethod
    def factors_num_values(self) -> tuple[int, ...]:
        """Number of classes of each factor."""

    @property
    def num_factors(self) -> int:
        return len(self.factors_num_values)

    def __len__(self) -> int:
        return int(np.prod(self.factors_num_values, dtype=np.int64))

    @property
    def _strides(self) -> np.ndarray:
        sizes = np.asarray(self.factors_num_values, dtype=np.int64)
        return np.concatenate([np.cumprod(sizes[::-1])[::-1][1:], [1]]).astype(np.int64)

    def factors_to_index(self, factors: np.ndarray) -> np.ndarray:
        """Mixed-radix index of each row of factor classes (last factor fastest)."""
        factors = np.asarray(factors, dtype=np.int64)
        if factors.ndim != 2 or factors.shape[1] != self.num_factors:
            raise ValueError(
                f"factors must have shape (N, {self.num_factors}), got {factors.shape}")
        sizes = np.asarray(self.factors_num_values)
        if (factors < 0).any() or (factors >= sizes).any():
            raise ValueError(f"factor classes out of range: each column must lie in [0, {sizes})")
        return factors @ self._strides

    def index_to_factors(self, indices: np.ndarray) -> np.ndarray:
        """Factor classes (N, num_factors) of each mixed-radix index."""
        indices = np.asarray(indices, dtype=np.int64)
        if (indices < 0).any() or (indices >= len(self)).any():
            raise ValueError(f"indices out of range: must lie in [0, {len(self)})")
        return (indices[:, None] // self._strides) % np.asarray(self.factors_num_values)

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """``num`` factor rows, each factor drawn uniformly and independently."""
        return np.stack(
            [random_state.randint(n, size=num) for n in self.factors_num_values], axis=1
        ).astype(np.int64)

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Observations of the given factor rows. Deterministic: each combination is one image."""
        del random_state  # every factor combination maps to exactly one image
        return self.images(self.factors_to_index(factors))

    def sample(self, num: int, random_state: np.random.RandomState):
        """``num`` random (factors, observations) pairs."""
        factors = self.sample_factors(num, random_state)
        return factors, self.sample_observations_from_factors(factors, random_state)

    def describe(self) -> dict:
        return {**super().describe(), "factor_names": list(self.factor_names),
                "factors_num_values": list(self.factors_num_values)}


def check_indices(indices: Sequence[int] | np.ndarray, size: int) -> np.ndarray:
    """``indices`` as an int64 array, with a clear error for any outside [0, size)."""
    indices = np.asarray(indices, dtype=np.int64)
    if indices.size and (indices.min() < 0 or indices.max() >= size):
        raise IndexError(f"image indices must lie in [0, {size}), got "
                         f"[{indices.min()}, {indices.max()}]")
    return indices
