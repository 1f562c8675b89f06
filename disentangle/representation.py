"""The representation a metric scores: a model's encoder means, as a numpy function.

``representation_function(model)`` returns ``f(observations (N, C, H, W)) -> means (N, D)``
(observations as a numpy array, or as a float tensor on any device: the metrics give it images
the dataset made on its ``torch_device``, see ``disentangle.metrics.encoding.observations_for``)
that runs the encoder in inference mode, in batches, channels-last, under bf16 autocast when
``disentangle.runtime.use_bf16`` says the hardware has fast bf16 (or ``precision="bf16"``).
It encodes with a private copy of the model taken when it is created (so it never changes the
caller's model: its train/eval mode, device or memory format), so make a new one after more
training steps, as the training loop does for every evaluation. ``posterior_function(model)``
is the same with the log-variances too (``f(observations) -> (means, log_vars)``), for the
large-sample total correlation. ``module_representation_function(module)`` does the same for
any module mapping images to codes (a TorchScript file's, another project's encoder).
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from disentangle.errors import UserError
from disentangle.runtime import autocast, default_device, use_bf16

DEFAULT_BATCH_SIZE = 2048


def representation_function(model: torch.nn.Module, device=None, precision: str = "auto",
                            batch_size: int = DEFAULT_BATCH_SIZE):
    """Encoder means of ``model`` as a numpy function (see the module docstring).

    ``device``: where to encode (default: the first CUDA device, else the CPU).
    ``precision``: "auto" (bf16 autocast where ``use_bf16`` finds fast bf16), "bf16" or "fp32".
    ``batch_size``: images per encoder call; large batches amortise per-call overhead.
    """
    return _first(_encoder(model, device, precision, batch_size))


def posterior_function(model: torch.nn.Module, device=None, precision: str = "auto",
                       batch_size: int = DEFAULT_BATCH_SIZE):
    """``f(observations) -> (means, log_vars)``, each (N, D): ``model``'s posterior."""
    return _encoder(model, device, precision, batch_size)


def _private_copy(model: torch.nn.Module, device, batch_size: int):
    """A copy of ``model`` in eval mode on ``device`` (default: ``default_device()``), and that
    device; checks ``batch_size``."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    device = torch.device(device) if device is not None else default_device()
    with torch.no_grad():   # else a TorchScript module's copied parameters are not leaves
        return copy.deepcopy(model).to(device).eval(), device


def _encoder(model: torch.nn.Module, device, precision: str, batch_size: int):
    encoder, device = _private_copy(model, device, batch_size)
    encoder = encoder.to(memory_format=torch.channels_last)

    def encode_batch(batch: torch.Tensor):
        mean, log_var = encoder.encode(batch.contiguous(memory_format=torch.channels_last))
        return mean.float(), log_var.float()

    empty = np.zeros((0, encoder.latent_dim), np.float32)
    return _batched(encode_batch, (empty, empty), device, precision, batch_size)


def module_representation_function(module: torch.nn.Module, device=None,
                                   precision: str = "auto",
                                   batch_size: int = DEFAULT_BATCH_SIZE):
    """``f(observations) -> codes (N, D)`` of a module whose ``module(images)`` returns the
    codes, a float tensor (N, D): a loaded TorchScript file, or another project's encoder. Runs
    like ``representation_function`` (a private copy, in inference mode, batched, bf16 autocast
    as ``precision`` says) but in the module's own memory format: channels-last would break the
    many encoders that ``view`` their activations. An output that is not a tensor raises
    ``UserError``."""
    encoder, device = _private_copy(module, device, batch_size)

    def encode_batch(batch: torch.Tensor):
        codes = encoder(batch)
        if not isinstance(codes, torch.Tensor):
            raise UserError(f"the encoder returned a {type(codes).__name__}, not a tensor of "
                            "codes (N, D): return the codes alone (e.g. the means, not "
                            "(mean, log_var))")
        return (codes.float(),)

    return _first(_batched(encode_batch, (np.zeros((0, 0), np.float32),), device, precision,
                           batch_size))


def _first(encode):
    """``encode``'s first output alone (the means, or the codes), with its precision and
    device."""
    def represent(observations) -> np.ndarray:
        return encode(observations)[0]

    represent.precision, represent.device = encode.precision, encode.device
    represent.torch_device = encode.torch_device
    return represent


def _batched(encode_batch, empty: tuple[np.ndarray, ...], device: torch.device, precision: str,
             batch_size: int):
    """``f(observations) -> (values, ...)``, each float32 numpy with one row per observation,
    that feeds ``encode_batch`` (a batch -> a tuple of tensors) ``batch_size`` images at a time
    in inference mode, under bf16 autocast where ``precision`` asks for it; no observations
    give ``empty``."""
    bf16 = use_bf16(device, precision)

    def encode(observations) -> tuple[np.ndarray, ...]:
        if not isinstance(observations, torch.Tensor):
            observations = torch.from_numpy(np.asarray(observations, dtype=np.float32))
        parts = []
        with torch.inference_mode(), autocast(device, bf16):
            for start in range(0, len(observations), batch_size):
                batch = observations[start:start + batch_size].to(device, torch.float32)
                parts.append([values.cpu().numpy() for values in encode_batch(batch)])
        if not parts:
            return empty
        return tuple(np.concatenate(values) for values in zip(*parts))

    encode.precision = "bf16" if bf16 else "fp32"
    encode.device, encode.torch_device = str(device), device
    return encode


def stack_posterior_function(trainer, members: list[int], precision: str = "auto",
                             batch_size: int = DEFAULT_BATCH_SIZE):
    """``f(observations) -> (means, log_vars)``, each (N, len(members) * D): the posteriors of
    models ``members`` of a ``disentangle.training.StackTrainer``, side by side, computed by
    one stacked encoder pass per batch (every model sees the same images). For
    ``disentangle.metrics.evaluate(..., members=len(members))``; make a new one after more
    training steps."""
    chosen = torch.as_tensor(members, dtype=torch.long, device=trainer.device)

    def encode_batch(batch: torch.Tensor):
        mean, log_var = trainer.network.encode(batch, shared=True)   # (S, N, D)
        return tuple(values.float().index_select(0, chosen).transpose(0, 1)
                     .reshape(len(batch), -1) for values in (mean, log_var))

    empty = np.zeros((0, len(members) * trainer.network.latent_dim), np.float32)
    # Every model of the stack encodes each batch, so the batch is split between them.
    return _batched(encode_batch, (empty, empty), trainer.device, precision,
                    max(1, batch_size // trainer.size))


def stack_representation_function(trainer, members: list[int], precision: str = "auto",
                                  batch_size: int = DEFAULT_BATCH_SIZE):
    """The encoder means of models ``members`` of a stack, side by side (N, len(members) * D)
    (see ``stack_posterior_function``)."""
    return _first(stack_posterior_function(trainer, members, precision, batch_size))
