"""Representations of the observations a metric draws: deduplicated (encode each distinct one
once, in large batches, then gather) or plain (encode each drawn batch as it comes).

For most ground-truth datasets an observation is a function of its factors, i.e. of its
dataset index, so an evaluation only ever needs the representation of each distinct index once.
With the paper settings on dSprites the metrics draw about 2.9 million observations but at
most the 737,280 distinct images exist. Both sources take the same (already drawn) index arrays
and return the same values, so the random state is consumed identically by both paths: the
metrics draw every factor first and encode afterwards.

Datasets whose observations are random given the factors (``deterministic_observations`` is
False: disentanglement_lib's colour and noisy dSprites) are never deduplicated: every draw is a
fresh observation from ``data.observations(indices, random_state)``, encoded by the plain path,
with a random state seeded from the evaluation's one after all its draws (so the draws of the
factors stay those of a deterministic dataset, and the whole evaluation stays reproducible).
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

from disentangle.data.base import GroundTruthDataset
from disentangle.errors import UserError

RepresentationFunction = Callable[[np.ndarray], np.ndarray]


def observations_for(data: GroundTruthDataset, function, indices: np.ndarray,
                     random_state: np.random.RandomState | None = None):
    """The observations at ``indices`` in the form ``function`` takes them best: a float
    tensor made by the dataset on the function's ``torch_device`` (this project's encoders,
    ``disentangle.representation``: on a GPU the faces are rendered there and dSprites is
    gathered from its copy there, not on one CPU thread), else host arrays. Random observations
    (``random_state``) always come from ``data.observations``. A function marked
    ``takes_indices`` (a table of codes made elsewhere, ``disentangle.external``) gets the
    indices themselves."""
    if getattr(function, "takes_indices", False):
        return np.asarray(indices, dtype=np.int64)
    device = getattr(function, "torch_device", None)
    if device is None or not data.deterministic_observations:
        return data.observations(indices, random_state)
    import torch

    return data.torch_images(torch.from_numpy(np.asarray(indices, dtype=np.int64)).to(device))


def encode(data: GroundTruthDataset, representation_function: RepresentationFunction,
           indices: np.ndarray, random_state: np.random.RandomState | None = None) -> np.ndarray:
    """Representations (len(indices), D) of the observations at ``indices``, checked.

    ``random_state`` draws the observations of a dataset whose observations are random given
    the factors; deterministic datasets ignore it."""
    representations = np.asarray(representation_function(
        observations_for(data, representation_function, indices, random_state)))
    if (representations.ndim != 2 or representations.shape[0] != len(indices)
            or representations.shape[1] == 0):
        raise UserError(
            f"the representation function returned shape {representations.shape} for "
            f"{len(indices)} observations: it must return one row per observation, (N, D) "
            "with D >= 1")
    if not np.isfinite(representations).all():
        raise UserError("the representation function returned NaN or infinite values: check "
                        "the model (a diverged training run?)")
    return representations


class PlainEncoder:
    """The per-batch algorithm of disentanglement_lib: one representation-function call per
    drawn batch, every draw encoded even when the same observation was drawn before.

    A 2-D index array is a stack of batches (one call per row); a 1-D array (a sample of single
    points) is encoded ``encode_batch_size`` points per call. ``observation_random_state``
    draws the observations of a dataset whose observations are random (None otherwise)."""

    def __init__(self, data: GroundTruthDataset, representation_function: RepresentationFunction,
                 encode_batch_size: int = 4096,
                 observation_random_state: np.random.RandomState | None = None):
        self.data = data
        self.representation_function = representation_function
        self.encode_batch_size = encode_batch_size
        self.observation_random_state = observation_random_state
        self.encoded = 0

    def __call__(self, indices: np.ndarray) -> np.ndarray:
        """(P, B) batches of indices -> (P, B, D); (N,) points -> (N, D)."""
        indices = np.asarray(indices, dtype=np.int64)
        if indices.ndim == 1:
            step = self.encode_batch_size
            batches = [indices[start:start + step] for start in range(0, indices.size, step)]
        else:
            batches = list(indices.reshape(-1, indices.shape[-1]))
        result = np.concatenate([encode(self.data, self.representation_function, batch,
                                        self.observation_random_state) for batch in batches])
        self.encoded += indices.size
        return result.reshape(*indices.shape, -1)

    def encode_pending(self) -> None:
        """Nothing is ever pending: the plain path encodes on each lookup."""


#: The sorted keys (16 bytes per encoded image) give way to a dense index -> row table (8 bytes
#: per dataset image, one gather per lookup: 1.3-2.5x faster on the paper preset's dSprites
#: draws) when the table is at most this many times their size, so memory still grows with the
#: draws.
DENSE_TABLE_MAX_RATIO = 2


class EncodingCache:
    """Each distinct index among those an evaluation will ask for, encoded once.

    ``add`` collects the index arrays before any encoding; the first lookup encodes the
    distinct indices in increasing order, ``encode_batch_size`` images per
    representation-function call, and every lookup afterwards is a binary search in the sorted
    distinct indices followed by a gather. Memory grows with the images drawn, never with the
    dataset: the ground-truth faces have 1.6e10 images, of which an evaluation draws a few
    million at most. Where a table with a row for every image of the dataset would be about as
    small (``DENSE_TABLE_MAX_RATIO``: dSprites at the paper preset), lookups go through that
    table instead. Indices not added before a lookup are encoded on demand the same way.
    """

    def __init__(self, data: GroundTruthDataset, representation_function: RepresentationFunction,
                 encode_batch_size: int = 4096,
                 dense_table_max_ratio: float = DENSE_TABLE_MAX_RATIO):
        self.data = data
        self.representation_function = representation_function
        self.encode_batch_size = encode_batch_size
        self.dense_table_max_ratio = dense_table_max_ratio
        # Until the table exists: the encoded indices, sorted, and the row of ``values`` of each.
        self.keys = np.empty(0, dtype=np.int64)
        self.rows = np.empty(0, dtype=np.int64)
        self.table: np.ndarray | None = None      # row of each dataset index, -1 if none
        self.values: np.ndarray | None = None
        self._pending: list[np.ndarray] = []
        self.encoded = 0

    def add(self, index_arrays: Iterable[np.ndarray]) -> None:
        """Register indices that will be looked up (encoding waits for the first lookup)."""
        self._pending.extend(np.asarray(indices, dtype=np.int64) for indices in index_arrays)

    def _find(self, indices: np.ndarray) -> np.ndarray:
        """Row of ``values`` of each index (any shape), -1 where it is not encoded yet."""
        if self.table is not None:
            return self.table[indices]
        if not len(self.keys):
            return np.full(indices.shape, -1, dtype=np.int64)
        positions = np.searchsorted(self.keys, indices).clip(max=len(self.keys) - 1)
        return np.where(self.keys[positions] == indices, self.rows[positions], -1)

    def _encode_missing(self, extra: np.ndarray) -> None:
        wanted = np.unique(np.concatenate([a.ravel() for a in [*self._pending, extra]]))
        self._pending = []
        missing = wanted[self._find(wanted) < 0]
        if missing.size == 0:
            return
        step = self.encode_batch_size
        new_values = np.concatenate([
            encode(self.data, self.representation_function, missing[start:start + step])
            for start in range(0, missing.size, step)])
        if self.values is not None and new_values.shape[1] != self.values.shape[1]:
            raise UserError("the representation function changed its number of dimensions "
                            "between calls")
        first_row = 0 if self.values is None else len(self.values)
        self.values = new_values if self.values is None else np.concatenate(
            [self.values, new_values])
        new_rows = np.arange(first_row, first_row + missing.size)
        self.encoded += missing.size
        if self.table is None and (
                len(self.data) <= 2 * self.dense_table_max_ratio * self.encoded):
            self.table = np.full(len(self.data), -1, dtype=np.int64)
            self.table[self.keys] = self.rows   # those encoded before there was a table
        if self.table is not None:
            self.table[missing] = new_rows
            return
        keys = np.concatenate([self.keys, missing])   # each part sorted (``np.unique``)
        rows = np.concatenate([self.rows, new_rows])
        order = np.argsort(keys, kind="stable") if len(self.keys) else slice(None)
        self.keys, self.rows = keys[order], rows[order]

    def encode_pending(self) -> None:
        """Encode every index added so far now (instead of at the first lookup)."""
        if self._pending:
            self._encode_missing(np.empty(0, dtype=np.int64))

    def __call__(self, indices: np.ndarray) -> np.ndarray:
        """Representations of ``indices`` (any shape S) as an array of shape (*S, D)."""
        indices = np.asarray(indices, dtype=np.int64)
        rows = None if self._pending else self._find(indices)
        if rows is None or (rows < 0).any():
            self._encode_missing(indices)
            rows = self._find(indices)
        return self.values[rows]


def check_dataset(data) -> None:
    """The metrics need factors of variation: reject any other dataset with a clear error."""
    if not isinstance(data, GroundTruthDataset):
        raise UserError(f"the metrics need a ground-truth dataset (with factors of variation); "
                        f"{type(data).__name__} has none")


def make_encoder(data: GroundTruthDataset, representation_function: RepresentationFunction,
                 index_arrays: list[np.ndarray], deduplicate: bool, encode_batch_size: int,
                 random_state: np.random.RandomState):
    """The representation source for a set of drawn index arrays: an ``EncodingCache`` holding
    them (deduplicate=True) or a ``PlainEncoder``. Datasets whose observations are random get
    a ``PlainEncoder`` whatever ``deduplicate`` says, with its own random state seeded by one
    draw from ``random_state`` (deterministic datasets consume nothing here)."""
    if not data.deterministic_observations:
        observation_random_state = np.random.RandomState(random_state.randint(2**31 - 1))
        return PlainEncoder(data, representation_function, encode_batch_size,
                            observation_random_state)
    if not deduplicate:
        return PlainEncoder(data, representation_function, encode_batch_size)
    cache = EncodingCache(data, representation_function, encode_batch_size)
    cache.add(index_arrays)
    return cache
