"""The ground-truth faces: every combination of factor classes is one image, rendered when
asked for (2^16 x 240,000 = 1.6e10 images; far too many to store, and the metrics draw from
all of them), by torch on the device the indices live on."""

from __future__ import annotations

import numpy as np
import torch

from disentangle.data.base import GroundTruthDataset, check_indices
from disentangle.data.faces.canvas import IMAGE_SIZE
from disentangle.data.faces.cuda_graphs import GraphedRender
from disentangle.data.faces.factors import (
    ATTRIBUTES, NUISANCE_FIXED, NUISANCE_GRID, NUISANCES, fixed_nuisance)
from disentangle.data.faces.render import render_batched


class FacesDataset(GroundTruthDataset):
    """Synthetic faces with independent ground-truth factors: the 16 binary ``ATTRIBUTES``,
    followed (unless ``vary_nuisance`` is False, which holds them at ``NUISANCE_FIXED``) by the
    8 nuisance factors on the grid ``NUISANCE_GRID``. Images are rendered when asked for."""

    name = "faces"

    def __init__(self, vary_nuisance: bool = True):
        self.vary_nuisance = bool(vary_nuisance)
        self.factor_names = ATTRIBUTES + (NUISANCES if self.vary_nuisance else ())
        nuisance_sizes = tuple(len(NUISANCE_GRID[name]) for name in NUISANCES)
        self._num_values = (2,) * len(ATTRIBUTES) + (nuisance_sizes if self.vary_nuisance else ())
        self._start_device_state()

    def _start_device_state(self) -> None:
        """Per-device lookup tables and recorded CUDA graphs, built on first use."""
        self._tables: dict[torch.device, tuple[torch.Tensor, ...]] = {}
        self._render = GraphedRender(self._render_indices)

    def __getstate__(self) -> dict:
        # Sent to other processes (Ray's object store) without device state.
        return {key: value for key, value in self.__dict__.items()
                if key not in ("_tables", "_render")}

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

    def describe(self) -> dict:
        return {**super().describe(), "vary_nuisance": self.vary_nuisance,
                "nuisance_grid": {name: NUISANCE_GRID[name].tolist() for name in NUISANCES}
                if self.vary_nuisance else NUISANCE_FIXED}


def load_faces(vary_nuisance: bool = True) -> FacesDataset:
    """``get_dataset("faces")``: the ground-truth synthetic faces (see ``FacesDataset``)."""
    return FacesDataset(vary_nuisance=vary_nuisance)
