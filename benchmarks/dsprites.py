"""dSprites speed and memory: cold render, cached load, resident memory, batch sampling.

Run: .venv/bin/python benchmarks/dsprites.py   (renders into a temporary cache; about 20 s)
Targets of the foundation issue: memory <= 400 MB, cold render <= 60 s, cached load <= 3 s,
a batch of 64 observations from factors well under 1 ms.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time

import numpy as np


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    from disentangle.data.dsprites import load_dsprites

    rows = []
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        load_dsprites(cache_dir=cache)
        rows.append(("cold render + cache write (s)", time.perf_counter() - start, "<= 60"))
        before = rss_mb()
        start = time.perf_counter()
        dataset = load_dsprites(cache_dir=cache)
        rows.append(("cached load (s)", time.perf_counter() - start, "<= 3"))
        rows.append(("resident memory of the dataset (MB)", rss_mb() - before, "<= 400"))
        random_state = np.random.RandomState(0)
        factors = [dataset.sample_factors(64, random_state) for _ in range(2000)]
        start = time.perf_counter()
        for batch in factors:
            dataset.sample_observations_from_factors(batch, random_state)
        rows.append(("64 observations from factors (ms)",
                     (time.perf_counter() - start) / len(factors) * 1e3, "<< 1"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"dSprites on {os.cpu_count()} CPUs (peak RSS of this process {peak:.0f} MB)\n")
    print("| measure | value | target |\n|---|---:|---:|")
    for name, value, target in rows:
        print(f"| {name} | {value:.3f} | {target} |")


if __name__ == "__main__":
    main()
