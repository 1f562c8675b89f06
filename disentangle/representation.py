"""The representation a metric scores: a model's encoder means, as a numpy function.

``representation_function(model)`` returns ``f(observations (N, C, H, W)) -> means (N, D)``
that runs the encoder in inference mode, in batches, channels-last, under bf16 autocast when
``disentangle.runtime.use_bf16`` says the hardware has fast bf16 (or ``precision="bf16"``).
It encodes with a private copy of the model taken when it is created (so it never changes the
caller's model: its train/eval mode, device or memory format), so make a new one after more
training steps, as the training loop does for every evaluation.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from disentangle.runtime import autocast, default_device, use_bf16

DEFAULT_BATCH_SIZE = 2048


def representation_function(model: torch.nn.Module, device=None, precision: str = "auto",
                            batch_size: int = DEFAULT_BATCH_SIZE):
    """Encoder means of ``model`` as a numpy function (see the module docstring).

    ``device``: where to encode (default: the first CUDA device, else the CPU).
    ``precision``: "auto" (bf16 autocast where ``use_bf16`` finds fast bf16), "bf16" or "fp32".
    ``batch_size``: images per encoder call; large batches amortise per-call overhead.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    device = torch.device(device) if device is not None else default_device()
    bf16 = use_bf16(device, precision)
    encoder = copy.deepcopy(model).to(device).eval()
    encoder = encoder.to(memory_format=torch.channels_last)

    def represent(observations: np.ndarray) -> np.ndarray:
        observations = np.asarray(observations, dtype=np.float32)
        means = []
        with torch.inference_mode(), autocast(device, bf16):
            for start in range(0, len(observations), batch_size):
                batch = torch.from_numpy(observations[start:start + batch_size]).to(device)
                mean, _ = encoder.encode(batch.contiguous(memory_format=torch.channels_last))
                means.append(mean.float().cpu().numpy())
        if not means:
            return np.zeros((0, encoder.latent_dim), dtype=np.float32)
        return np.concatenate(means)

    represent.precision = "bf16" if bf16 else "fp32"
    represent.device = str(device)
    return represent
