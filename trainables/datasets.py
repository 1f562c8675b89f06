"""One copy of each dataset per node, shared by every trial on it.

A sweep's driver builds the dataset once (``get_dataset``: rendered or loaded from the on-disk
cache) and hands it to the trials with ``tune.with_parameters``, which puts it into Ray's
object store. Ray stores numpy arrays out-of-band, so each node receives the arrays once and
every trial on that node maps the same shared-memory pages read-only: no trial renders,
reloads or copies the images. (A per-process cache alone would give each trial, which is its
own actor process, a private copy: 8 trials on a GPU node = 8 copies.)

A trial runner handed no dataset (``Tuner(StudyTrainable, ...)`` by hand, or ``vae-study sweep
--local``'s ``TrialRunner``) builds it itself, once per process, from the on-disk cache.
"""

from __future__ import annotations

import json

from disentangle.data import get_dataset

_LOADED: dict[str, object] = {}


def load_dataset(name: str, options: dict | None = None):
    """Dataset ``name`` built with ``options``, once per process."""
    key = json.dumps([name, options or {}], sort_keys=True)
    if key not in _LOADED:
        _LOADED[key] = get_dataset(name, **(options or {}))
    return _LOADED[key]
