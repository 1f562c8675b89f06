"""Representations of the observations a metric draws: deduplicated (encode each distinct one
once, in large batches, then gather) or plain (encode each drawn batch as it comes).

Each observation of a ground-truth dataset is a function of its factors, i.e. of its dataset
index, so an evaluation only ever needs the representation of each distinct index once. With
the paper settings on dSprites the metrics draw about 2.9 million observations but at most the
737,280 distinct images exist. Both sources take the same (already drawn) index arrays and
return the same values, so the random state is consumed identically by both paths: the metrics
draw every factor first and encode afterwards. Both read observations through
``data.images(indices)``, which is what ``GroundTruthDataset.sample_observations_from_factors``
returns; a dataset that added random noise to its observations would need the plain path's
per-draw sampling and is not supported.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

from disentangle.data.base import GroundTruthDataset
from disentangle.errors import UserError

RepresentationFunction = Callable[[np.ndarray], np.ndarray]


def encode(data: GroundTruthDataset, representation_function: RepresentationFunction,
           indices: np.ndarray) -> np.ndarray:
    """Representations (len(indices), D) of the observations at ``indices``, checked."""
    representations = np.asarray(representation_function(data.images(indices)))
    if representations.ndim != 2 or representations.shape[0] != len(indices):
        raise UserError(
            f"the representation function returned shape {representations.shape} for "
            f"{len(indices)} observations: it must return one row per observation, (N, D)")
    if not np.isfinite(representations).all():
        raise UserError("the representation function returned NaN or infinite values: check "
                        "the model (a diverged training run?)")
    return representations


class PlainEncoder:
    """The per-batch algorithm of disentanglement_lib: one representation-function call per
    drawn batch, every draw encoded even when the same observation was drawn before."""

    def __init__(self, data: GroundTruthDataset, representation_function: RepresentationFunction):
        self.data = data
        self.representation_function = representation_function
        self.encoded = 0

    def __call__(self, indices: np.ndarray) -> np.ndarray:
        """(P, B) batches of indices -> (P, B, D); a 1-D array is one batch."""
        batches = np.atleast_2d(indices)
        result = np.stack([encode(self.data, self.representation_function, batch)
                           for batch in batches])
        self.encoded += batches.size
        return result.reshape(*indices.shape, -1)


class EncodingCache:
    """Each distinct index among those an evaluation will ask for, encoded once.

    ``add`` collects the index arrays before any encoding; the first lookup encodes the
    distinct indices in increasing order, ``encode_batch_size`` images per
    representation-function call, and every lookup afterwards is a gather through a dense
    index -> row table (one int64 per dataset index: 6 MB for dSprites). Indices not added
    before a lookup are encoded on demand the same way.
    """

    def __init__(self, data: GroundTruthDataset, representation_function: RepresentationFunction,
                 encode_batch_size: int = 4096):
        self.data = data
        self.representation_function = representation_function
        self.encode_batch_size = encode_batch_size
        self.row_of_index = np.full(len(data), -1, dtype=np.int64)
        self.values: np.ndarray | None = None
        self._pending: list[np.ndarray] = []
        self.encoded = 0

    def add(self, index_arrays: Iterable[np.ndarray]) -> None:
        """Register indices that will be looked up (encoding waits for the first lookup)."""
        self._pending.extend(np.asarray(indices, dtype=np.int64) for indices in index_arrays)

    def _encode_missing(self, extra: np.ndarray) -> None:
        wanted = np.zeros(len(self.data), dtype=bool)
        for indices in [*self._pending, extra]:
            wanted[indices.ravel()] = True
        self._pending = []
        missing = np.flatnonzero(wanted & (self.row_of_index < 0))
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
        self.row_of_index[missing] = np.arange(first_row, first_row + missing.size)
        self.encoded += missing.size

    def __call__(self, indices: np.ndarray) -> np.ndarray:
        """Representations of ``indices`` (any shape S) as an array of shape (*S, D)."""
        indices = np.asarray(indices, dtype=np.int64)
        rows = self.row_of_index[indices]
        if self._pending or (rows < 0).any():
            self._encode_missing(indices)
            rows = self.row_of_index[indices]
        return self.values[rows]


def check_dataset(data) -> None:
    """The metrics need factors of variation: reject any other dataset with a clear error."""
    if not isinstance(data, GroundTruthDataset):
        raise UserError(f"the metrics need a ground-truth dataset (with factors of variation); "
                        f"{type(data).__name__} has none")


def make_encoder(data: GroundTruthDataset, representation_function: RepresentationFunction,
                 index_arrays: list[np.ndarray], deduplicate: bool, encode_batch_size: int):
    """The representation source for a set of drawn index arrays: an ``EncodingCache`` holding
    them (deduplicate=True) or a ``PlainEncoder``."""
    if not deduplicate:
        return PlainEncoder(data, representation_function)
    cache = EncodingCache(data, representation_function, encode_batch_size)
    cache.add(index_arrays)
    return cache
