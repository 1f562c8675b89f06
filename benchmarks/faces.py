"""Throughput of the face data: synthetic-face generation, and the CelebA loader decoding JPEGs
against its memory-mapped cache, on a synthetic tree in CelebA's layout (64x64 JPEGs) and on
one whose JPEGs are blown up to CelebA's 178x218 (what decoding real CelebA costs).

    python benchmarks/faces.py [--num 20000] [--workers N] [--batch 64]

Prints one table. "images/s" is wall-clock; "per CPU-s" divides by the CPU time of the process
and its workers, which stays meaningful when other jobs share the machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(function, count: int) -> tuple[float, float]:
    """(images per wall-clock second, images per CPU-second) of ``function()`` making ``count``."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    function()
    return count / (time.perf_counter() - wall), count / max(cpu_seconds() - cpu, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num", type=int, default=20_000, help="faces to write (default 20000)")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes for writing and decoding (default: one per core)")
    parser.add_argument("--batch", type=int, default=64, help="loader batch size (default 64)")
    args = parser.parse_args()

    from disentangle.data.celeba import load_celeba
    from disentangle.data.faces import FacesDataset, write_faces

    workers = args.workers or len(os.sched_getaffinity(0))
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        dataset = FacesDataset()
        random_state = np.random.RandomState(0)
        factors = dataset.sample_factors(4096, random_state)
        rows.append(("ground-truth faces: render (1 process, batches of 128)", *measure(
            lambda: dataset.sample_observations_from_factors(factors, random_state), 4096)))
        rows.append((f"write faces: render + JPEG + files ({workers} processes)", *measure(
            lambda: write_faces(scratch, num=args.num, seed=0, workers=workers), args.num)))

        batches = np.random.RandomState(1).randint(0, args.num, (2000 // args.batch, args.batch))
        decoded = load_celeba(scratch, preprocessing="resize", split="all", cache=False)
        rows.append((f"CelebA loader, decoding JPEGs (1 process, batch {args.batch})", *measure(
            lambda: [decoded.images(batch) for batch in batches], batches.size)))
        rows.append((f"CelebA loader, building the cache ({workers} processes)", *measure(
            lambda: load_celeba(scratch, preprocessing="resize", split="all",
                                cache_dir=scratch / "cache", workers=workers), args.num)))
        cached = load_celeba(scratch, preprocessing="resize", split="all",
                             cache_dir=scratch / "cache")
        cached.images(np.arange(args.num))  # warm the page cache, as after the first epoch
        rows.append((f"CelebA loader, memory-mapped cache (1 process, batch {args.batch})",
                     *measure(lambda: [cached.images(batch) for batch in batches],
                              batches.size)))

        full_size = min(args.num, 2000)
        tree = write_faces(scratch / "full-size", num=full_size, seed=0, workers=workers)
        for path in (tree / "img_align_celeba").iterdir():
            Image.open(path).resize((178, 218), Image.LANCZOS).save(path, quality=95)
        batches = batches % full_size
        for preprocessing in ("crop148", "resize"):
            decoded = load_celeba(tree, preprocessing=preprocessing, split="all", cache=False)
            rows.append((f"178x218 JPEGs, decoding, {preprocessing} (1 process)", *measure(
                lambda: [decoded.images(batch) for batch in batches[:8]], batches[:8].size)))
        rows.append((f"178x218 JPEGs, building the cache, crop148 ({workers} processes)",
                     *measure(lambda: load_celeba(tree, split="all", workers=workers,
                                                  cache_dir=scratch / "cache"), full_size)))

    print(f"{'what':<64} {'images/s':>10} {'per CPU-s':>10}")
    for name, wall, cpu in rows:
        print(f"{name:<64} {wall:>10,.0f} {cpu:>10,.0f}")
    print(f"({args.num:,} synthetic 64x64 faces; {os.cpu_count()} CPU cores, load average "
          f"{os.getloadavg()[0]:.1f} at the end)")


if __name__ == "__main__":
    main()
