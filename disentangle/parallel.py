"""One way to spread work over the cores: ``parallel_map``, on threads of the calling process.

Decoding CelebA, writing synthetic faces, rendering a faces training pool and labelled faces
split their work into chunks whose heavy parts release the GIL (PIL's JPEG decoder, encoder
and resize, torch's operators), so threads run them side by side. No process is started: a
pool of "spawn" processes re-imports the caller's ``__main__`` in every worker, so a script
that called the library at top level, without an ``if __name__ == "__main__":`` guard,
started itself again in each worker and never finished.
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
    """``function(task)`` for each task, in order, computed by ``workers`` threads (default:
    one per available core; with one, or one task, in the calling thread). With ``progress``,
    a bar of that title advances by ``count(result)`` (of ``total``) per result. An error in
    any task is raised once the running tasks end; the tasks not yet started never start."""
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    tasks = list(tasks)
    workers = min(workers or available_cores(), max(len(tasks), 1))
    executor = ThreadPoolExecutor(workers)
    try:
        with tqdm(total=total, desc=progress, unit="img", unit_scale=True,
                  disable=progress is None) as bar:
            results = map if workers <= 1 else executor.map
            for result in results(function, tasks):
                bar.update(count(result))
                yield result
    finally:   # an error, or a caller that stops early: start no more tasks, end the running
        executor.shutdown(cancel_futures=True)
