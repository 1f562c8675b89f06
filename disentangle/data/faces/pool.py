"""A pre-rendered training pool of ground-truth faces, memory-mapped from the cache.

Rendering a batch of 64 faces costs about as much as a third of a CPU training step (20 ms of
one core against 63 ms), so on a CPU training on faces rendered per batch runs at about 0.7 of
dSprites' steps per second. A pool of ``size`` faces, drawn once uniformly from the whole
ground-truth set (seeded) and stored as uint8, is read at memory speed instead: training then
samples its batches from the pool, as it samples CelebA's 200k images, while the metrics still
render any factor combination they ask for. The stored images are the rendered ones rounded to
1/255 (as any image file is).

The pool lives in ``cache_dir()/faces/`` under a name holding everything that fixes it (size,
seed, nuisance grid or not, renderer version), is rendered once per machine by a thread per
core (torch's operators release the GIL; no process is started), and written under a temporary
name and renamed, so a run interrupted while rendering leaves none. Trials starting together on
one machine take turns at a lock file beside it: one renders, the others wait and read its file
(rather than each rendering on every core); the one that renders first removes what a killed
render left.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from disentangle.data.faces.canvas import IMAGE_SIZE
from disentangle.data.faces.writer import FORMAT_VERSION
from disentangle.files import atomic_path, exclusive_lock
from disentangle.parallel import parallel_map

_CHUNK = 2048  # faces per rendering task


def pool_indices(dataset_size: int, size: int, seed: int) -> np.ndarray:
    """The ground-truth indices of a pool: ``size`` draws, uniform with replacement."""
    return np.random.RandomState(seed).randint(0, dataset_size, size=size).astype(np.int64)


def pool_path(cache: Path, size: int, seed: int, vary_nuisance: bool) -> Path:
    variant = "nuisance" if vary_nuisance else "fixed"
    return cache / "faces" / f"pool-{variant}-{size}-seed{seed}-v{FORMAT_VERSION}.npy"


def load_pool(path: Path, indices: np.ndarray, render: Callable[[np.ndarray], np.ndarray],
              progress: bool = True) -> np.ndarray:
    """The pool's images (N, 3, H, W) uint8, memory-mapped read-only from ``path``; rendered
    into it first when it does not exist yet, by ``render``: the dataset's float images in
    [0, 1] of an index array, called from a thread per core."""
    with exclusive_lock(path.with_name(path.name + ".lock")):
        if not path.exists():
            for stale in path.parent.glob(f".{path.name}.*"):   # a killed render's (GBs)
                stale.unlink()
            _render_pool(path, indices, render, progress)
    return np.load(path, mmap_mode="c")   # copy-on-write: never changes the file


def _render_pool(path: Path, indices: np.ndarray, render: Callable[[np.ndarray], np.ndarray],
                 progress: bool) -> None:
    """The faces at ``indices`` rendered by a thread per core into a new file at ``path``."""
    chunks = [indices[start:start + _CHUNK] for start in range(0, len(indices), _CHUNK)]

    def render_chunk(chunk: np.ndarray) -> np.ndarray:
        return np.rint(render(chunk) * 255).astype(np.uint8)

    with atomic_path(path) as temporary:
        images = np.lib.format.open_memmap(temporary, mode="w+", dtype=np.uint8,
                                           shape=(len(indices), 3, IMAGE_SIZE, IMAGE_SIZE))
        start = 0
        for rendered in parallel_map(render_chunk, chunks, total=len(indices),
                                     progress="faces pool" if progress else None):
            images[start:start + len(rendered)] = rendered
            start += len(rendered)
        images.flush()
        del images
