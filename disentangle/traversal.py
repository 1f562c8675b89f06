"""Latent traversals: codes that sweep one latent coordinate at a time around a centre code.

The TensorBoard panels of a training run, the analysis's traversal figure and the navigation
study all show the same picture (a row per latent dimension, a column per value); they build
its codes here.
"""

from __future__ import annotations

from typing import Sequence

import torch


def traversal_codes(centre: torch.Tensor, dims: Sequence[int], values) -> torch.Tensor:
    """(len(dims) * len(values), D) codes: row block ``i`` is ``centre`` (a (D,) code) with
    coordinate ``dims[i]`` set to each of ``values`` in turn."""
    centre = centre.reshape(-1)
    values = torch.as_tensor(values, dtype=centre.dtype, device=centre.device)
    codes = centre.repeat(len(dims) * len(values), 1)
    rows = torch.as_tensor(list(dims), device=centre.device).repeat_interleave(len(values))
    codes[torch.arange(len(codes), device=centre.device), rows] = values.repeat(len(dims))
    return codes
