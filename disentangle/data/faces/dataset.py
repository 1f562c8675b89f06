"""The ground-truth faces: every combination of factor classes is one image, rendered when
asked for (2^16 x 240,000 = 1.6e10 images; far too many to store, and the metrics draw from
all of them), by torch on the device the indices live on. Training may instead draw from a
pre-rendered pool of them (``pool``; see ``disentangle.data.faces.pool``)."""

from __future__ import annotations

import numpy as np
import torch

from disentangle.data.base import GroundTruthDataset, check_indices
from disentangle.data.cache import cache_dir
from disentangle.data.faces.canvas import IMAGE_SIZE
from disentangle.data.faces.cuda_graphs import GraphedRender
from disentangle.data.faces.factors import (
    ATTRIBUTES,
    NUISANCE_FIXED,
    NUISANCE_GRID,
    NUISANCES,
    fixed_nuisance,
)
from disentangle.data.faces.pool import load_pool, pool_indices, pool_path
from disentangle.data.faces.render import render_batched
from disentangle.errors import UserError


class FacesDataset(GroundTruthDataset):
    """Synthetic faces with independent ground-truth factors: the 16 binary ``ATTRIBUTES``,
    followed (unless ``vary_nuisance`` is False, which holds them at ``NUISANCE_FIXED``) by the
    8 nuisance factors on the grid ``NUISANCE_GRID``. Images are rendered when asked for.

    ``pool`` > 0: training draws its batches from that many faces drawn once from the whole set
    (seed ``pool_seed``), pre-rendered into a memory-mapped cache file, instead of rendering
    every batch; the metrics and ``images`` still render any index."""

    name = "faces"

    def __init__(self, vary_nuisance: bool = True, pool: int = 0, pool_seed: int = 0):
        self.vary_nuisance = bool(vary_nuisance)
        self.pool, self.pool_seed = int(pool), int(pool_seed)
        self.factor_names = ATTRIBUTES + (NUISANCES if self.vary_nuisance else ())
        nuisance_sizes = tuple(len(NUISANCE_GRID[name]) for name in NUISANCES)
        self._num_values = (2,) * len(ATTRIBUTES) + (nuisance_sizes if self.vary_nuisance else ())
        self._start_device_state()

    def _start_device_state(self) -> None:
        """Per-device lookup tables, recorded CUDA graphs and pool copies, built on first use."""
        self._tables: dict[torch.device, tuple[torch.Tensor, ...]] = {}
        self._render = GraphedRender(self._render_indices)
        self._pools: dict[torch.device, torch.Tensor] = {}

    def __getstate__(self) -> dict:
        # Sent to other processes (Ray's object store) without device state.
        return {key: value for key, value in self.__dict__.items()
                if key not in ("_tables", "_render", "_pools")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._start_device_state()

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return (3, IMAGE_SIZE, IMAGE_SIZE)

    @property
    def factors_num_values(self) -> tuple[int, ...]:
        return self._num_values

    def _tables_on(self, device: torch.device) -> tuple[torch.Tensor, ...]:
        """The index -> factors -> renderer-input tables, copied to ``device`` once: strides
        and sizes of the mixed-radix index, and the nuisance grid (one row per nuisance,
        padded) or the fixed nuisance row."""
        if device not in self._tables:
            longest = max(len(values) for values in NUISANCE_GRID.values())
            grid = np.zeros((len(NUISANCES), longest), np.float32)
            for row, name in enumerate(NUISANCES):
                grid[row, :len(NUISANCE_GRID[name])] = NUISANCE_GRID[name]
            source = grid if self.vary_nuisance else fixed_nuisance(1)[0]
            self._tables[device] = tuple(torch.as_tensor(array, device=device) for array in (
                self._strides, np.asarray(self.factors_num_values, np.int64),
                source.astype(np.float32)))
        return self._tables[device]

    def render_inputs(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The renderer's (attributes, nuisance values) for dataset indices, on their device."""
        strides, sizes, nuisance_table = self._tables_on(indices.device)
        factors = (indices[:, None] // strides) % sizes
        attributes = factors[:, :len(ATTRIBUTES)]
        if not self.vary_nuisance:
            return attributes, nuisance_table.expand(len(indices), -1)
        rows = torch.arange(len(NUISANCES), device=indices.device)
        return attributes, nuisance_table[rows, factors[:, len(ATTRIBUTES):]]

    def _render_indices(self, indices: torch.Tensor) -> torch.Tensor:
        return render_batched(*self.render_inputs(indices))

    def torch_images(self, indices: torch.Tensor) -> torch.Tensor:
        """The faces at ``indices`` (a LongTensor) as float32 (N, 3, 64, 64) in [0, 1], rendered
        on ``indices``' device (on a GPU, replayed as a CUDA graph per batch size). Indices on
        the CPU are checked; on an accelerator they are trusted (checking would wait for the
        device every batch)."""
        if indices.device.type == "cpu":
            check_indices(indices.numpy(), len(self))
        return self._render(indices)

    def images(self, indices: np.ndarray) -> np.ndarray:
        indices = check_indices(indices, len(self))
        return self.torch_images(torch.from_numpy(indices)).numpy()

    @property
    def training_size(self) -> int:
        return self.pool or len(self)

    def training_images(self, positions: torch.Tensor) -> torch.Tensor:
        """Training batches: the pool's faces at ``positions`` when there is a pool (its
        uint8 images, memory-mapped on the CPU, copied once to an accelerator), else the
        rendered faces at those indices."""
        if not self.pool:
            return self.torch_images(positions)
        device = positions.device
        if device not in self._pools:
            path = pool_path(cache_dir(), self.pool, self.pool_seed, self.vary_nuisance)
            indices = pool_indices(len(self), self.pool, self.pool_seed)
            # rendered (once per machine) by this dataset's threads: the device tables
            # they share are built idempotently
            images = torch.from_numpy(load_pool(path, indices, self.images))
            self._pools[device] = images if device.type == "cpu" else images.to(device)
        if device.type == "cpu":
            check_indices(positions.numpy(), self.pool)
        return self._pools[device].index_select(0, positions).float().div_(255)

    def describe(self) -> dict:
        return {**super().describe(), "vary_nuisance": self.vary_nuisance,
                "training_pool": {"size": self.pool, "seed": self.pool_seed} if self.pool
                else None,
                "nuisance_grid": {name: NUISANCE_GRID[name].tolist() for name in NUISANCES}
                if self.vary_nuisance else NUISANCE_FIXED}


def load_faces(vary_nuisance: bool = True, pool: int = 0, pool_seed: int = 0) -> FacesDataset:
    """``get_dataset("faces")``: the ground-truth synthetic faces (see ``FacesDataset``)."""
    if not isinstance(pool, int) or isinstance(pool, bool) or pool < 0:
        raise UserError(f"faces pool={pool!r}: give the number of faces to pre-render for "
                        f"training (e.g. 200000), or 0 to render every batch")
    return FacesDataset(vary_nuisance=vary_nuisance, pool=pool, pool_seed=pool_seed)
