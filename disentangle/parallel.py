"""One way to spread work over processes: ``parallel_map``.

Rendering dSprites, decoding CelebA, writing synthetic faces and rendering labelled faces all
split their work into chunks that independent processes can do; this maps a function over
them in order, with an optional progress bar, in one process when one worker is asked for
(or there is one chunk), so tests and small jobs pay no start-up cost. Workers are started
fresh ("spawn"), each importing what its function needs (about a second with torch).
"""

from __future__ import annotations

import os
from typing import Callable, Iterable, Iterator


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # not Linux
        return os.cpu_count() or 1


def parallel_map(function: Callable, tasks: Iterable, workers: int | None = None,
                 progress: str | None = None, total: int | None = None,
                 count: Callable = len) -> Iterator:
    """``function(task)`` for each task, in order, computed by ``workers`` processes (default:
    one per available core). With ``progress``, a bar of that title advances by ``count(result)``
    (of ``total``) per result. An error in any task stops the others and is raised."""
    from tqdm import tqdm

    tasks = list(tasks)
    workers = min(workers or available_cores(), max(len(tasks), 1))
    with tqdm(total=total, desc=progress, unit="img", unit_scale=True,
              disable=progress is None) as bar:
        if workers <= 1:
            for task in tasks:
                result = function(task)
                bar.update(count(result))
                yield result
            return
        import multiprocessing

        # Fresh interpreters, not forks: a process forked after torch has run its thread pool
        # (or while another thread holds a lock) can wait forever on a copied lock.
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            for result in pool.imap(function, tasks):
                bar.update(count(result))
                yield result
