"""Replaying a batch render as one CUDA graph.

On a GPU the render is bound by kernel launches, not arithmetic: about a thousand small
elementwise kernels whose cost hardly depends on the batch size. Recorded once per batch shape
as a CUDA graph and replayed, they cost one launch from Python. The render has no host round
trip and no data-dependent shape (``disentangle.data.faces.canvas``), which is what makes it
recordable; a shape seen before is replayed, never recorded again. The graphs of the shapes
used least recently are dropped beyond ``MAX_GRAPHS`` (the metrics render chunks whose last
size differs each evaluation; a graph holds its own memory).
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from typing import Callable

import torch

#: Graphs kept at once: the training batch, a stack's batch, the metrics' full chunk, and a
#: few of the metrics' last chunks.
MAX_GRAPHS = 8


class GraphedRender:
    """``function(indices) -> images`` replayed as a CUDA graph, one per (device, shape).

    Each call copies ``indices`` into the graph's input, replays it and returns a copy of its
    output (the next replay overwrites the graph's own). Indices on the CPU are passed straight
    to ``function``. If recording fails (a driver or library that cannot capture), the render
    runs uncaptured from then on, with one warning."""

    def __init__(self, function: Callable[[torch.Tensor], torch.Tensor]):
        self.function = function
        self.graphs: OrderedDict[tuple, tuple] = OrderedDict()   # least recently used first
        self.capture_failed = False

    def __call__(self, indices: torch.Tensor) -> torch.Tensor:
        if not self._capturable(indices):
            return self.function(indices)
        key = (indices.device, tuple(indices.shape), indices.dtype)
        if key not in self.graphs:
            while len(self.graphs) >= MAX_GRAPHS:
                self.graphs.popitem(last=False)
            try:
                self.graphs[key] = self._record(indices)
            except RuntimeError as error:
                self.capture_failed = True
                warnings.warn(f"rendering without a CUDA graph (recording failed: {error})",
                              RuntimeWarning, stacklevel=2)
                return self.function(indices)
        self.graphs.move_to_end(key)
        graph, static_input, static_output = self.graphs[key]
        static_input.copy_(indices)
        graph.replay()
        return static_output.clone()

    def _capturable(self, indices: torch.Tensor) -> bool:
        return indices.device.type == "cuda" and not self.capture_failed

    def _record(self, indices: torch.Tensor):
        """Warm up on a side stream (allocations, per-device tables), then record."""
        device = indices.device
        static_input = indices.clone()
        with torch.cuda.device(device), torch.no_grad():
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(2):
                    self.function(static_input)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                static_output = self.function(static_input)
        return graph, static_input, static_output
