"""Writing files and folders so that a crash never leaves half of one.

A file is written under a temporary name in its own folder and renamed over its real name
when complete (a rename within one file system is atomic); a folder of outputs is built in a
staging folder beside it and swapped in whole. Every writer of the project that must not
leave a truncated file (checkpoints, tables, configs, reports) goes through here.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary file beside ``path`` to write to; it becomes ``path`` when the block ends
    without an error and is removed when it fails. Parent folders are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> Path:
    """``text`` (UTF-8) at ``path``, atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | Path, data) -> Path:
    """``data`` as indented JSON at ``path``, atomically."""
    return write_text(path, json.dumps(data, indent=2))


def write_table(table, path: str | Path) -> Path:
    """A pandas table as CSV (gzipped for a ``.gz`` name) at ``path``, atomically."""
    compression = "gzip" if str(path).endswith(".gz") else None
    with atomic_path(path) as temporary:
        table.to_csv(temporary, index=False, compression=compression)
    return Path(path)


@contextlib.contextmanager
def exclusive_lock(path: str | Path) -> Iterator[None]:
    """Holds an exclusive lock on the file ``path`` (created if absent) for the block, waiting
    while another process (or another open of it) holds it: so that of several trials starting
    together on one machine, one builds a shared cache file and the others wait for it."""
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def staged_folder(folder: str | Path) -> Iterator[Path]:
    """A staging folder beside ``folder`` to build outputs in; when the block ends without an
    error it replaces ``folder`` (a previous one is removed only after the swap), and when it
    fails it is removed and ``folder`` stays as it was."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        folder.rename(old)
    staging.rename(folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
