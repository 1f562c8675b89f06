"""Each model's own random streams, drawn ahead in chunks of ``CHUNK_STEPS`` steps.

A model's batches, latent noise and (for a kind with a discriminator) second batch, second
noise and permutation keys come from generators seeded by its own seed only, so its
trajectory does not depend on which models it is stacked with, nor on the device: the streams
are drawn on the CPU (a CUDA generator would give other numbers than a CPU one) and copied to
the device once per chunk, so a training step only reads slices.

- batch indices: ``numpy.random.RandomState(seed)``, uniform with replacement (the papers'
  minibatch sampling);
- second-batch indices: ``RandomState([seed, 1])``;
- latent noise: a torch CPU generator seeded ``seed``;
- second-batch noise, then permutation keys: a torch CPU generator seeded ``seed + 2**32``.

A checkpoint holds every generator's state at the start of the current chunk; resuming draws
that chunk again and continues at the same step, exactly.
"""

from __future__ import annotations

import numpy as np
import torch

CHUNK_STEPS = 1000
TORCH_SEED_OFFSET = 2 ** 32


def random_state_dict(random_state: np.random.RandomState) -> dict:
    kind, keys, position, has_gauss, cached = random_state.get_state()
    return {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)),
            "position": int(position), "has_gauss": int(has_gauss), "cached": float(cached)}


def set_random_state(random_state: np.random.RandomState, state: dict) -> None:
    random_state.set_state((state["kind"], state["keys"].numpy().astype(np.uint32),
                            state["position"], state["has_gauss"], state["cached"]))


class ModelStreams:
    """The random streams of one model (see the module docstring)."""

    def __init__(self, seed: int, dataset_size: int, batch_size: int, latent_dim: int,
                 discriminator: bool, second_batch: bool):
        self.dataset_size, self.batch_size, self.latent_dim = dataset_size, batch_size, latent_dim
        self.discriminator, self.second_batch = discriminator, second_batch
        self.batches = np.random.RandomState(seed)
        self.second_batches = np.random.RandomState([seed, 1])
        self.noise = torch.Generator().manual_seed(seed)
        self.discriminator_noise = torch.Generator().manual_seed(seed + TORCH_SEED_OFFSET)
        self.chunk_start = None   # the generators' states before the current chunk

    def state_dict(self, at_chunk_start: bool) -> dict:
        """The generators' states at the start of the current chunk, or now."""
        return self.chunk_start if at_chunk_start else self._states()

    def load_state_dict(self, state: dict) -> None:
        set_random_state(self.batches, state["batches"])
        set_random_state(self.second_batches, state["second_batches"])
        self.noise.set_state(state["noise"])
        self.discriminator_noise.set_state(state["discriminator_noise"])
        self.chunk_start = None

    def _states(self) -> dict:
        return {"batches": random_state_dict(self.batches),
                "second_batches": random_state_dict(self.second_batches),
                "noise": self.noise.get_state(),
                "discriminator_noise": self.discriminator_noise.get_state()}

    def draw_chunk(self) -> dict[str, torch.Tensor]:
        """The next ``CHUNK_STEPS`` steps' random inputs, each with the step first."""
        self.chunk_start = self._states()
        steps, batch, dims = CHUNK_STEPS, self.batch_size, self.latent_dim
        chunk = {"indices": torch.from_numpy(
                     self.batches.randint(0, self.dataset_size, size=(steps, batch))),
                 "noise": torch.randn((steps, batch, dims), generator=self.noise)}
        if self.discriminator:
            if self.second_batch:
                chunk["second_indices"] = torch.from_numpy(
                    self.second_batches.randint(0, self.dataset_size, size=(steps, batch)))
                chunk["second_noise"] = torch.randn((steps, batch, dims),
                                                    generator=self.discriminator_noise)
            chunk["permutation_keys"] = torch.rand((steps, batch, dims),
                                                   generator=self.discriminator_noise)
        return chunk


class StackStreams:
    """The streams of every model of a stack, their current chunks stacked on the device."""

    def __init__(self, models: list[ModelStreams], device):
        self.models = models
        self.device = device
        self.chunk_index = None
        self.chunk: dict[str, torch.Tensor] = {}

    def step_inputs(self, step: int) -> dict[str, torch.Tensor]:
        """The random inputs of ``step``: (S, B) indices and (S, B, D) noise of every model;
        second indices, second noise and permutation keys of the models with a
        discriminator, in model order."""
        index, offset = divmod(step, CHUNK_STEPS)
        if index != self.chunk_index:
            if self.chunk_index is not None and index != self.chunk_index + 1:
                raise RuntimeError(f"streams are at chunk {self.chunk_index}, asked for {index}")
            chunks = [model.draw_chunk() for model in self.models]
            keys = dict.fromkeys(key for chunk in chunks for key in chunk)
            # a key only some models draw (a discriminator's) is stacked over those models
            self.chunk = {key: torch.stack([chunk[key] for chunk in chunks if key in chunk],
                                           dim=1).to(self.device, non_blocking=True)
                          for key in keys}
            self.chunk_index = index
        return {key: value[offset] for key, value in self.chunk.items()}

    def state_dict(self, step: int) -> list[dict]:
        """Each model's states at the start of the chunk that holds ``step`` (the next step to
        run): the current chunk's start, or now when the next step opens a new chunk."""
        current = self.chunk_index is not None and self.chunk_index == step // CHUNK_STEPS
        return [model.state_dict(at_chunk_start=current) for model in self.models]

    def load_state_dict(self, states: list[dict]) -> None:
        """Continue from ``state_dict(step)``: the next ``step_inputs(step)`` draws that
        chunk again."""
        for model, state in zip(self.models, states):
            model.load_state_dict(state)
        self.chunk_index = None
