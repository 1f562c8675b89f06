"""Stacked training speed: model-steps/s of one model per process versus many in one stack.

    python benchmarks/stacked_training.py                  # CPU, 2 threads, S = 1, 3, 4
    python benchmarks/stacked_training.py --device cuda    # GPU: S = 1, 4, 16, 64, packed trials

Rows, each the median of interleaved rounds (so a busy machine's drift hits all rows alike),
batch 64 on dSprites with the standard network, the device's default precision:

- ``Trainer``: one model, ``Trainer.train_steps`` (the stack of one);
- ``stack S``: ``StackTrainer`` with S models (seeds 0..S-1, a spread of β or γ);
- ``vmap S`` (β-VAE): the alternative the stack was chosen over, torch.func's
  ``functional_call`` + ``vmap`` over ``stack_module_state`` of S standard networks, each on its
  own batch (forward, backward, one Adam), without the Trainer's bookkeeping;
- ``packed trials`` (GPU only): ``--packed`` processes each training one model with a Trainer
  on the same GPU at once, the best packing of one-model Ray trials.

For each: ms per step (of the whole stack), model-steps/s, the ratio to the Trainer's
model-steps/s, and memory per model (GPU: peak allocated / S; CPU: parameters and Adam state).
CPU times are process time (CPU seconds of this process), robust to other load.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from disentangle import runtime  # noqa: E402
from disentangle.data import get_dataset  # noqa: E402
from disentangle.models import build_model  # noqa: E402
from disentangle.objectives import kl_per_dimension, reconstruction_loss  # noqa: E402
from disentangle.training import StackTrainer, Trainer  # noqa: E402

WEIGHTS = {"beta_vae": ("beta", (1, 2, 4, 6, 8, 16)),
           "factor_vae": ("gamma", (10, 20, 30, 40, 50, 100))}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", type=int, nargs="+", default=None,
                        help="stack sizes (default: 1 3 4 on the CPU, 1 4 16 64 on a GPU)")
    parser.add_argument("--kinds", nargs="+", default=list(WEIGHTS), choices=list(WEIGHTS))
    parser.add_argument("--steps", type=int, default=None,
                        help="steps per round (default: 5 on the CPU, 50 on a GPU)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--packed", type=int, default=8, help="GPU: trials sharing the GPU")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--no-vmap", action="store_true", help="skip the torch.func rows")
    return parser.parse_args()


def model_configs(kind: str, size: int, precision: str) -> list[dict]:
    key, grid = WEIGHTS[kind]
    return [{"model": kind, key: grid[seed % len(grid)], "seed": seed, "precision": precision}
            for seed in range(size)]


def elapsed(device):
    """A clock: GPU wall time after synchronising, CPU process time."""
    if device.type == "cuda":
        def now():
            torch.cuda.synchronize()
            return time.perf_counter()
        return now
    return time.process_time


class _Loss(nn.Module):
    """β-VAE loss of one network on its batch, for torch.func."""

    def __init__(self, network):
        super().__init__()
        self.network = network

    def forward(self, images, noise):
        mean, log_var = self.network.encode(images)
        mean, log_var = mean.float(), log_var.float()
        logits = self.network.decode_logits(mean + torch.exp(0.5 * log_var) * noise)
        return reconstruction_loss(logits.float(), images) + 4 * kl_per_dimension(
            mean, log_var).sum()


class VmapStack:
    """forward + backward + Adam of S standard networks with torch.func's vmap."""

    def __init__(self, size: int, dataset, device, bf16: bool):
        from torch.func import functional_call, stack_module_state, vmap

        losses = []
        for seed in range(size):
            torch.manual_seed(seed)
            losses.append(_Loss(build_model()).to(device))
        params, _ = stack_module_state(losses)
        self.params = {name: value.detach().requires_grad_() for name, value in params.items()}
        self.optimizer = torch.optim.Adam(self.params.values(), lr=1e-4)
        base = _Loss(build_model()).to("meta")
        indices = torch.randint(0, len(dataset), (size * 64,), device=device)
        self.images = dataset.torch_images(indices).view(size, 64, 1, 64, 64)
        self.noise = torch.randn(size, 64, 10, device=device)
        self.losses = vmap(lambda p, images, noise: functional_call(base, p, (images, noise)))
        self.device, self.bf16 = device, bf16

    def train_steps(self, steps: int) -> None:
        for _ in range(steps):
            with runtime.autocast(self.device, self.bf16):
                total = self.losses(self.params, self.images, self.noise).sum()
            self.optimizer.zero_grad(set_to_none=True)
            total.backward()
            self.optimizer.step()


def state_megabytes(trainer: StackTrainer) -> float:
    """Parameters and both Adam moments of one model (and its discriminator), in MB."""
    tensors = trainer.network.parameters()
    if trainer.discriminator is not None:
        tensors += trainer.discriminator.parameters()
    numbers = sum(t.numel() for t in tensors) // trainer.size
    return 3 * 4 * numbers / 1e6


def peak_megabytes(runners: dict, device) -> dict[str, float]:
    """GPU: each runner's peak allocated memory over two steps (after a warm-up), in MB."""
    peaks = {}
    for name, run in runners.items():
        run(2)
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        run(2)
        peaks[name] = torch.cuda.max_memory_allocated(device) / 1e6
    return peaks


def measure(runners: dict, steps: int, rounds: int, device) -> dict[str, float]:
    """Median seconds per step of each runner over interleaved rounds."""
    now = elapsed(device)
    for run in runners.values():
        run(2)
    samples = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            start = now()
            run(steps)
            samples[name].append((now() - start) / steps)
    return {name: statistics.median(values) for name, values in samples.items()}


def _packed_worker(kind: str, seconds: float, counts, slot: int, precision: str):
    dataset = get_dataset("dsprites")
    trainer = Trainer(model_configs(kind, 1, precision)[0], dataset, "cuda")
    trainer.train_steps(20)
    torch.cuda.synchronize()
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        trainer.train_steps(10)
        steps += 10
    torch.cuda.synchronize()
    counts[slot] = steps / (time.perf_counter() - start)


def packed_trials(kind: str, processes: int, precision: str, seconds: float = 20.0) -> float:
    """Total model-steps/s of ``processes`` one-model Trainers sharing the GPU."""
    context = multiprocessing.get_context("spawn")
    counts = context.Array("d", processes)
    workers = [context.Process(target=_packed_worker,
                               args=(kind, seconds, counts, slot, precision))
               for slot in range(processes)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts)


def main() -> None:
    args = parse_args()
    device = torch.device(args.device)
    gpu = device.type == "cuda"
    torch.set_num_threads(args.threads)
    runtime.configure_allocator()
    sizes = args.sizes or ([1, 4, 16, 64] if gpu else [1, 3, 4])
    steps = args.steps or (50 if gpu else 5)
    dataset = get_dataset("dsprites")
    where = torch.cuda.get_device_name(device) if gpu else f"CPU, {args.threads} threads"
    print(f"{where}, batch 64, {steps} steps x {args.rounds} rounds per row (median)\n")
    for kind in args.kinds:
        trainers = {"Trainer": StackTrainer(model_configs(kind, 1, args.precision), dataset,
                                            device)}
        trainers.update({f"stack {size}": StackTrainer(
            model_configs(kind, size, args.precision), dataset, device) for size in sizes})
        runners = {name: trainer.train_steps for name, trainer in trainers.items()}
        models = {name: trainer.size for name, trainer in trainers.items()}
        if kind == "beta_vae" and not args.no_vmap:
            bf16 = trainers["Trainer"].bf16
            for size in sizes[1:]:
                runners[f"vmap {size}"] = VmapStack(size, dataset, device, bf16).train_steps
                models[f"vmap {size}"] = size
        memory = {name: state_megabytes(trainer) for name, trainer in trainers.items()}
        if gpu:
            memory = {name: peak / models[name]
                      for name, peak in peak_megabytes(runners, device).items()}
        seconds = measure(runners, steps, args.rounds, device)
        rates = {name: models[name] / value for name, value in seconds.items()}
        if gpu:
            rates["packed trials"] = packed_trials(kind, args.packed, args.precision)
            models["packed trials"] = args.packed
        base = rates["Trainer"]
        trainer = trainers["Trainer"]
        print(f"### {kind} ({'bf16' if trainer.bf16 else 'fp32'}"
              f"{', channels-last' if trainer.channels_last else ''})\n")
        print("| run | models | ms / step | model-steps / s | vs Trainer | MB / model |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, rate in rates.items():
            milliseconds = f"{1000 * seconds[name]:.1f}" if name in seconds else ""
            megabytes = f"{memory[name]:.1f}" if name in memory else ""
            print(f"| {name} | {models[name]} | {milliseconds} | {rate:,.1f} | "
                  f"{rate / base:.2f} | {megabytes} |")
        print()


if __name__ == "__main__":
    main()
