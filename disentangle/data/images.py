"""Image grids in the layout of the reference samples: tiles separated by 2-pixel white borders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchvision.utils


def image_grid(images, nrow: int = 10, padding: int = 2) -> np.ndarray:
    """(N, C, H, W) floats in [0, 1] -> one uint8 (H', W', C) grid with white borders."""
    tensor = torch.as_tensor(np.asarray(images, dtype=np.float32))
    grid = torchvision.utils.make_grid(tensor, nrow=nrow, padding=padding, pad_value=1.0)
    array = (grid.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return array[..., :1] if tensor.shape[1] == 1 else array


def save_image_grid(images, path: str | Path, nrow: int = 10, padding: int = 2) -> Path:
    """Write ``images`` as a PNG grid (see ``image_grid``); returns the path written."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid = image_grid(images, nrow=nrow, padding=padding)
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(path)
    return path


def load_image_grid(path: str | Path, channels: int = 3, tile: int = 64,
                    padding: int = 2) -> np.ndarray:
    """Split a grid PNG (as written by ``save_image_grid``, or the reference samples) back into
    float (N, channels, tile, tile); ``channels=1`` converts to grey (dSprites)."""
    from PIL import Image

    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    array = np.asarray(Image.open(path).convert("L" if channels == 1 else "RGB"))
    if array.ndim == 2:
        array = array[..., None]
    step = tile + padding
    rows, cols = (array.shape[0] - padding) // step, (array.shape[1] - padding) // step
    tiles = [array[padding + step * i: padding + step * i + tile,
                   padding + step * j: padding + step * j + tile]
             for i in range(rows) for j in range(cols)]
    return np.stack(tiles).transpose(0, 3, 1, 2).astype(np.float32) / 255.0
