"""Score an encoder trained anywhere, as disentanglement_lib scores it: ``score_encoder``.

Three ways to give the representation (its codes, e.g. an encoder's means):

* a model file: TorchScript (``torch.jit.save``) or a ``torch.export`` program (``.pt2``),
  a module mapping a float tensor (N, C, 64, 64) in [0, 1] to codes (N, D);
* a Python callable, or its import path ``"package.module:function"`` (imported with the
  current folder first on the path, as ``python -m`` does): it gets a float32 numpy array
  (N, C, 64, 64) in [0, 1] and returns the codes (N, D), a numpy array or a torch tensor
  (a torch module, imported or passed, is run like a model file instead, on tensors);
* a table of codes made elsewhere, for models that cannot run here: ``needed_indices`` lists
  the dataset indices an evaluation (dataset, preset, seed, metrics, settings) will look up,
  sorted; the table is an ``.npz`` with ``indices`` (N,) and ``codes`` (N, D), or that pair.
  Index i is the image whose factor classes are the mixed-radix digits of i, last factor
  fastest: for dSprites, image i of the original ``dsprites_ndarray_...npz``.

The encoder sees the images the project's own checkpoints are scored on (``get_dataset``: the
rendered dSprites, or the real file with ``dsprites_npz``), drawn by ``evaluate`` with the same
random state, so a model scores the same through every route and as a checkpoint. Everything a
user can get wrong (a file that is not a model, an import that fails, an encoder that rejects
the images or returns the wrong shape, NaN codes, a table that lacks an index) is a
``UserError`` of one line; a constant code is scored as the metrics define (0 or chance, with
FactorVAE's warning).
"""

from __future__ import annotations

import importlib
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from disentangle.data import DATASETS, GroundTruthDataset, get_dataset
from disentangle.errors import UserError
from disentangle.metrics import evaluate
from disentangle.metrics.citation import report
from disentangle.metrics.encoding import check_dataset
from disentangle.metrics.evaluation import draw_metrics
from disentangle.metrics.registry import get_metric
from disentangle.metrics.settings import resolve_overrides

#: ``package.module:function`` (the attribute may be dotted: ``module:Class.method``).
IMPORT_PATH = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")

#: The datasets whose images can come from the user's real dSprites file.
DSPRITES_DATASETS = tuple(name for name, target in DATASETS.items()
                          if target.startswith("disentangle.data.dsprites"))


def score_encoder(encoder=None, codes=None, dataset="dsprites", preset: str = "paper",
                  seed: int = 0, metrics=None, device=None, precision: str = "auto",
                  dsprites_npz=None, **overrides) -> dict:
    """Every disentanglement metric of one representation, as a citable report.

    ``encoder``: a TorchScript or ``.pt2`` file, ``"package.module:function"``, a callable or
    a torch module; or ``codes``: a table (``.npz`` path or ``(indices, codes)``) covering
    ``needed_indices`` of the same arguments (see the module docstring). ``dataset``: a name
    from ``get_dataset`` or a ``GroundTruthDataset``; ``dsprites_npz``: the user's real
    dSprites file instead of the rendered one. ``preset``: ``paper`` (disentanglement_lib's
    settings) or ``fast``; ``metrics``: registry keys (default: the preset's set); ``seed``:
    the metrics' random draws; ``overrides``: flat settings as ``evaluate`` takes them
    (``beta_vae_num_train=...``). ``device`` and ``precision`` (auto, bf16, fp32) run a model
    file or module.

    Returns ``disentangle.metrics.citation.report``: disentanglement_lib's names and values
    of every score, the preset (and whether it is disentanglement_lib's) with each metric's
    settings, the seed, the dataset and its images' source, the encoder, the version and the
    seconds taken, plus this project's flat ``scores`` and each metric's ``details``.
    """
    started = time.perf_counter()
    if (encoder is None) == (codes is None):
        raise UserError("give an encoder or a table of codes, one of the two")
    _check_no_posterior(metrics)
    resolve_overrides(preset, overrides)   # a bad setting fails before anything loads
    data = load_dataset(dataset, dsprites_npz)
    if encoder is not None:
        represent, source = load_encoder(encoder, data, device, precision)
    else:
        represent, source = codes_table(codes, data)
        represent(_needed(data, preset, seed, metrics, overrides))   # every index is there
    scores = evaluate(data, represent, np.random.RandomState(seed), preset=preset,
                      metrics=metrics, details=True, **overrides)
    source["dims"] = represent.dims
    return report(scores, data, source, preset, seed, metrics, overrides,
                  time.perf_counter() - started)


def needed_indices(dataset="dsprites", preset: str = "paper", seed: int = 0, metrics=None,
                   dsprites_npz=None, **overrides) -> np.ndarray:
    """The sorted distinct dataset indices whose codes ``score_encoder`` with the same
    arguments looks up: the table of codes to make elsewhere (see the module docstring)."""
    _check_no_posterior(metrics)
    return _needed(load_dataset(dataset, dsprites_npz), preset, seed, metrics, overrides)


def _needed(data: GroundTruthDataset, preset, seed, metrics, overrides) -> np.ndarray:
    draws = draw_metrics(data, np.random.RandomState(seed), preset, metrics, False, overrides)
    return np.unique(np.concatenate([array.ravel() for array in draws.index_arrays]))


def _check_no_posterior(metrics) -> None:
    named = [metrics] if isinstance(metrics, str) else list(metrics or [])
    for key in named:
        if get_metric(key).needs_posterior:
            raise UserError(f"metric {key!r} needs a posterior (means and log-variances), "
                            "which an encoder's codes do not give: it scores this project's "
                            "checkpoints; leave it out")


def load_dataset(dataset, dsprites_npz=None) -> GroundTruthDataset:
    """``dataset`` (a name or a ``GroundTruthDataset``), with ``dsprites_npz`` as its images'
    file where it is a dSprites dataset."""
    if isinstance(dataset, GroundTruthDataset) and dsprites_npz is None:
        return dataset
    if dsprites_npz is not None and dataset not in DSPRITES_DATASETS:
        raise UserError(f"a dSprites file serves the datasets {', '.join(DSPRITES_DATASETS)}, "
                        f"not {getattr(dataset, 'name', dataset)!r}")
    options = {} if dsprites_npz is None else {"npz": dsprites_npz}
    data = get_dataset(dataset, **options)
    check_dataset(data)
    return data


def load_encoder(encoder, data: GroundTruthDataset, device=None, precision: str = "auto"):
    """(representation function, description) of ``encoder`` (see ``score_encoder``); the
    function turns whatever the encoder raises on ``data``'s images into one line."""
    # imported here, not at the top: a table of codes or a numpy callable is scored without torch
    import torch

    from disentangle.representation import module_representation_function

    route = source = None
    if isinstance(encoder, (str, Path)):
        path = Path(encoder)
        if path.is_file():
            route, source, encoder = "model file", str(path), load_model_file(path, device)
        elif IMPORT_PATH.fullmatch(str(encoder)):
            source, encoder = str(encoder), import_callable(str(encoder))
        else:
            raise UserError(f"encoder {str(encoder)!r} is neither a file nor an import path: "
                            "give a TorchScript or .pt2 file, or package.module:function")
    if isinstance(encoder, torch.nn.Module):
        function = module_representation_function(encoder, device, precision)
        represent = _guarded(function, data)
        represent.torch_device = function.torch_device   # images made where it runs
        return represent, {"route": route or "torch module",
                           "source": source or type(encoder).__name__,
                           "precision": function.precision, "device": function.device}
    if callable(encoder):
        return _guarded(encoder, data), {"route": "callable",
                                         "source": source or _qualified_name(encoder),
                                         "precision": "the encoder's own"}
    raise UserError(f"the encoder must be a model file, an import path, a callable or a torch "
                    f"module, not a {type(encoder).__name__}")


def load_model_file(path: Path, device=None):
    """The module in a TorchScript file, or in a ``torch.export`` program (``.pt2``)."""
    # imported here, not at the top: a table of codes or a numpy callable is scored without torch
    import torch

    from disentangle.runtime import default_device

    device = torch.device(device) if device is not None else default_device()
    try:
        if path.suffix == ".pt2":
            return torch.export.load(str(path)).module().to(device)
        with warnings.catch_warnings():   # TorchScript is deprecated in torch 2.10+, still loads
            warnings.simplefilter("ignore", FutureWarning)
            return torch.jit.load(str(path), map_location=device)
    except Exception as error:
        raise UserError(f"{path} is not a TorchScript file ({_first_line(error)}): save the "
                        "encoder with torch.jit.save(torch.jit.script(encoder), path), or "
                        "torch.export.save to a .pt2 file") from None


def import_callable(spec: str):
    """The object at ``"package.module:attribute"``, imported with the current folder first
    on the path (where a user's own module usually is)."""
    module_name, _, attribute = spec.partition(":")
    sys.path.insert(0, str(Path.cwd()))
    try:
        target = importlib.import_module(module_name)
    except Exception as error:
        raise UserError(f"cannot import {module_name!r} for the encoder {spec} "
                        f"({type(error).__name__}: {_first_line(error)}): install it or run "
                        "from its folder (or set PYTHONPATH)") from None
    finally:
        sys.path.remove(str(Path.cwd()))
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise UserError(f"{module_name} has no {attribute!r} for the encoder {spec}: name "
                            "a function it defines")
        target = getattr(target, part)
    if not callable(target):
        raise UserError(f"{spec} is not callable (it is a {type(target).__name__}): name a "
                        "function that maps images to codes")
    return target


def codes_table(codes, data: GroundTruthDataset):
    """(lookup function, description) of a table of codes: an ``.npz`` path with ``indices``
    and ``codes``, or the pair itself. The lookup maps indices to their codes and is marked
    ``takes_indices`` so that ``evaluate`` hands it indices instead of images; an index the
    table lacks raises ``UserError``."""
    if not data.deterministic_observations:
        raise UserError(f"{data.name} draws a new observation at every look-up, so codes made "
                        "per index cannot stand for it: give the encoder itself")
    if isinstance(codes, (str, Path)):
        indices, values = read_codes(Path(codes))
        description = {"route": "codes table", "source": str(codes)}
    else:
        indices, values = (np.asarray(array) for array in codes)
        description = {"route": "codes table", "source": "(indices, codes) arrays"}
    values = _check_codes(indices, values, len(data))
    order = np.argsort(indices)
    indices, values = indices[order], values[order]

    def lookup(wanted: np.ndarray) -> np.ndarray:
        wanted = np.asarray(wanted, dtype=np.int64)
        rows = np.searchsorted(indices, wanted).clip(max=len(indices) - 1)
        missing = wanted[indices[rows] != wanted]
        if missing.size:
            raise UserError(f"the codes table has no codes for {missing.size:,} of the "
                            f"{wanted.size:,} images this evaluation needs (e.g. index "
                            f"{missing[0]}): make it for the needed indices of the same "
                            "dataset, preset, seed, metrics and settings")
        return values[rows]

    lookup.takes_indices, lookup.dims = True, values.shape[1]
    description["precision"] = "the table's"
    return lookup, description


def read_codes(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``indices`` and ``codes`` of an ``.npz`` table."""
    fix = "save it with numpy.savez(path, indices=indices, codes=codes)"
    try:
        with np.load(path, allow_pickle=False) as table:
            if not {"indices", "codes"} <= set(table.files):
                raise UserError(f"{path} holds {', '.join(table.files) or 'nothing'}, not "
                                f"'indices' and 'codes': {fix}")
            return table["indices"], table["codes"]
    except (OSError, ValueError) as error:
        if isinstance(error, UserError):
            raise
        raise UserError(f"{path} is not a readable .npz table ({_first_line(error)}): "
                        f"{fix}") from None


def _check_codes(indices: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """``values`` as float codes, after checking the table's shape, indices and values."""
    if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer):
        raise UserError(f"the table's indices are {indices.dtype} {indices.shape}: they must be "
                        "one integer per row, (N,)")
    if values.ndim != 2 or len(values) != len(indices) or values.shape[1] == 0:
        raise UserError(f"the table's codes have shape {values.shape} for {len(indices)} "
                        "indices: they must be one row per index, (N, D)")
    if not np.issubdtype(values.dtype, np.number) or not np.isfinite(values).all():
        raise UserError("the table's codes hold NaN, infinite or non-numeric values: check the "
                        "model that made them")
    if indices.size and (indices.min() < 0 or indices.max() >= size):
        raise UserError(f"the table's indices must lie in [0, {size}), the dataset's images; "
                        f"found [{indices.min()}, {indices.max()}]")
    if np.unique(indices).size != indices.size:
        raise UserError("the table lists an index twice: give each image's codes once")
    return values.astype(np.float64 if values.dtype == np.float64 else np.float32)


def _guarded(function, data: GroundTruthDataset):
    """``function`` giving numpy codes, with anything it raises on ``data``'s images turned
    into a one-line ``UserError`` that says what it was given; records the codes' width."""
    channels, height, width = data.observation_shape

    def represent(observations):
        try:
            codes = function(observations)
        except UserError:
            raise
        except Exception as error:
            raise UserError(
                f"the encoder failed on the images of {data.name}, float32 "
                f"{tuple(observations.shape)} in [0, 1] ({type(error).__name__}: "
                f"{_first_line(error)}): it must take (N, {channels}, {height}, {width}) "
                "floats in [0, 1] and return codes (N, D)") from error
        codes = _as_numpy(codes)
        represent.dims = codes.shape[-1] if codes.ndim else 0
        return codes

    represent.dims = None
    return represent


def _as_numpy(codes) -> np.ndarray:
    """A callable's codes (numpy, a torch tensor on any device, a list) as a numpy array."""
    if hasattr(codes, "detach"):
        codes = codes.detach().float().cpu().numpy()
    codes = np.asarray(codes)
    if not np.issubdtype(codes.dtype, np.number):
        raise UserError(f"the encoder returned {codes.dtype} values: codes must be numbers")
    return codes


def _qualified_name(function) -> str:
    module = getattr(function, "__module__", None) or "?"
    return f"{module}:{getattr(function, '__qualname__', type(function).__name__)}"


def _first_line(error: BaseException) -> str:
    """The sentence of ``error``'s message that says what went wrong: the first of its first
    line, or where TorchScript put its own traceback first, of its last (less the exception's
    name)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    line = lines[0]
    if line.startswith("The following operation failed in the TorchScript interpreter"):
        line = re.sub(r"^\w+: ", "", lines[-1])
    return re.split(r"\.\s+(?=[A-Z])", line)[0][:200]   # its first sentence
