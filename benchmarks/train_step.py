"""Training-step speed: how close the Trainer gets to the bare network step, and what bf16,
channels-last, torch.compile / CUDA graphs and several trials per GPU buy.

    python benchmarks/train_step.py              # CPU table (2 threads by default)
    python benchmarks/train_step.py --gpu        # GPU table, one invocation, < 6 min on an H200

"bare" is forward + backward + Adam step of the same network on one fixed batch already in
memory; "Trainer" is the real ``Trainer.train_steps`` (batch sampling from dSprites, the
objective, every reported metric). Each row is the median of interleaved rounds, so slow drift of
a shared machine hits all rows alike. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from disentangle import runtime  # noqa: E402
from disentangle.data import get_dataset  # noqa: E402
from disentangle.models import build_model  # noqa: E402
from disentangle.objectives import kl_per_dimension, reconstruction_loss  # noqa: E402
from disentangle.training import Trainer  # noqa: E402


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


class BareStep:
    """Forward, backward and Adam step of the standard network on one resident batch."""

    def __init__(self, batch, device, bf16=False, channels_last=False, compile_mode=None,
                 fused=False):
        torch.manual_seed(0)
        memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model = build_model().to(device, memory_format=memory_format)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-4,
                                          **({"fused": True} if fused else {}))
        self.images = (torch.rand(batch, 1, 64, 64, device=device) > 0.5).float()
        self.images = self.images.contiguous(memory_format=memory_format)
        self.device, self.bf16 = device, bf16
        self.loss = (torch.compile(self._loss, mode=compile_mode) if compile_mode
                     else self._loss)

    def _loss(self, images):
        with runtime.autocast(self.device, self.bf16):
            mean, log_var = self.model.encode(images)
            mean, log_var = mean.float(), log_var.float()
            z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
            logits = self.model.decode_logits(z)
        return reconstruction_loss(logits.float(), images) + kl_per_dimension(mean, log_var).sum()

    def __call__(self, steps):
        for _ in range(steps):
            loss = self.loss(self.images)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()


def trainer_runner(dataset, device, precision, model="beta_vae", channels_last=None, batch=64):
    trainer = Trainer({"model": model, "precision": precision, "batch_size": batch},
                      dataset, device)
    if channels_last is not None and channels_last != trainer.channels_last:
        trainer.channels_last = channels_last
        trainer.network.memory_format = (torch.channels_last if channels_last
                                         else torch.contiguous_format)
    return trainer.train_steps


def seconds_per_step(run, steps, device, clock=time.perf_counter):
    synchronize(device)
    start = clock()
    run(steps)
    synchronize(device)
    return (clock() - start) / steps


def measure(runners: dict, device, steps: int, rounds: int, warmup: int,
            clock=time.perf_counter) -> dict:
    """Median seconds per step of each runner over interleaved rounds."""
    for run in runners.values():
        run(warmup)
    samples = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            samples[name].append(seconds_per_step(run, steps, device, clock))
    return {name: statistics.median(values) for name, values in samples.items()}


def cpu_table(args):
    torch.set_num_threads(args.threads)
    runtime.configure_allocator()
    device = torch.device("cpu")
    dataset = get_dataset(args.dataset)
    runners = {
        "bare fp32": BareStep(args.batch, device),
        "Trainer fp32": trainer_runner(dataset, device, "fp32", batch=args.batch),
        "bare bf16 + channels-last": BareStep(args.batch, device, bf16=True, channels_last=True),
        "Trainer bf16 + channels-last": trainer_runner(dataset, device, "bf16", batch=args.batch),
        "Trainer bf16, contiguous": trainer_runner(dataset, device, "bf16", channels_last=False,
                                                   batch=args.batch),
        "Trainer FactorVAE fp32": trainer_runner(dataset, device, "fp32", "factor_vae",
                                                 batch=args.batch),
    }
    clock = time.process_time if args.clock == "process" else time.perf_counter
    times = measure(runners, device, args.steps, args.rounds, warmup=3, clock=clock)
    print(f"\nCPU training step ({args.clock} time), batch {args.batch}, {args.threads} torch "
          f"threads, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, "
          f"{torch.backends.cpu.get_cpu_capability()}, AMX/fast-bf16 detected: "
          f"{runtime.cpu_has_fast_bf16()}\n")
    print("| step | ms / step | steps / s | Trainer vs bare throughput |")
    print("| --- | ---: | ---: | ---: |")
    for name, seconds in times.items():
        bare = {"Trainer fp32": "bare fp32",
                "Trainer bf16 + channels-last": "bare bf16 + channels-last"}.get(name)
        ratio = f"{times[bare] / seconds:.3f}" if bare else ""
        print(f"| {name} | {1000 * seconds:.1f} | {1 / seconds:.1f} | {ratio} |")
    speedup = times["Trainer fp32"] / times["Trainer bf16 + channels-last"]
    print(f"\nbf16 + channels-last vs fp32 (Trainer): {speedup:.2f}x")


def gpu_table(args):
    device = torch.device("cuda")
    runtime.configure_allocator()
    torch.backends.cudnn.benchmark = True
    started = time.time()
    dataset = get_dataset(args.dataset)
    print(f"dataset ready in {time.time() - started:.0f} s", flush=True)
    runners = {
        "Trainer fp32": trainer_runner(dataset, device, "fp32", channels_last=False),
        "Trainer fp32 + channels-last": trainer_runner(dataset, device, "fp32",
                                                       channels_last=True),
        "Trainer bf16 autocast": trainer_runner(dataset, device, "bf16", channels_last=False),
        "Trainer bf16 + channels-last": trainer_runner(dataset, device, "bf16"),
        "Trainer FactorVAE fp32": trainer_runner(dataset, device, "fp32", "factor_vae",
                                                 channels_last=False),
        "Trainer FactorVAE bf16 + channels-last": trainer_runner(dataset, device, "bf16",
                                                                 "factor_vae"),
        "bare fp32": BareStep(64, device),
        "bare fp32, fused Adam": BareStep(64, device, fused=True),
        "bare bf16 + channels-last": BareStep(64, device, bf16=True, channels_last=True),
    }
    for name, mode in (("bare torch.compile fp32, fused Adam", "default"),
                       ("bare torch.compile + CUDA graphs fp32, fused Adam", "reduce-overhead")):
        try:
            step = BareStep(64, device, compile_mode=mode, fused=True)
            compile_start = time.time()
            step(3)
            synchronize(device)
            print(f"{name}: compiled in {time.time() - compile_start:.0f} s", flush=True)
            runners[name] = step
        except Exception as error:  # report, keep measuring the rest
            print(f"{name}: failed ({type(error).__name__}: {error})", flush=True)
    times = measure(runners, device, args.gpu_steps, args.rounds, warmup=20)
    print(f"\nGPU: {torch.cuda.get_device_name()}, batch 64, torch {torch.__version__}\n")
    print("| one trial | ms / step | steps / s |")
    print("| --- | ---: | ---: |")
    for name, seconds in times.items():
        print(f"| {name} | {1000 * seconds:.2f} | {1 / seconds:.0f} |")
    print(f"\nTrainer fp32 vs bare fp32 throughput: "
          f"{times['bare fp32'] / times['Trainer fp32']:.3f}", flush=True)
    print("\n| trials sharing the GPU | steps / s per trial | steps / s total |")
    print("| ---: | ---: | ---: |")
    for trials in args.trials:
        rates = concurrent_trials(trials, args)
        print(f"| {trials} | {statistics.mean(rates):.0f} | {sum(rates):.0f} |", flush=True)
    print(f"\ntotal benchmark time {time.time() - started:.0f} s")


def concurrent_trials(trials: int, args) -> list[float]:
    """Steps/s of each of ``trials`` processes training at once on the one GPU."""
    start_at = time.time() + args.worker_startup
    command = [sys.executable, __file__, "--worker", "--start-at", str(start_at),
               "--seconds", str(args.seconds), "--dataset", args.dataset,
               "--precision", args.precision]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=environment)
               for _ in range(trials)]
    rates = []
    for worker in workers:
        output, _ = worker.communicate(timeout=args.worker_startup + args.seconds + 120)
        result = json.loads(output.strip().splitlines()[-1])
        if result.get("late"):
            print(f"warning: a worker started {result['late']:.1f} s late", flush=True)
        rates.append(result["steps_per_second"])
    return rates


def worker(args):
    """One trial: warm up, wait for the common start, train for ``--seconds``."""
    runtime.set_threads_from_env()
    device = torch.device("cuda")
    torch.backends.cudnn.benchmark = True
    run = trainer_runner(get_dataset(args.dataset), device, args.precision, channels_last=True)
    run(20)
    synchronize(device)
    late = max(0.0, time.time() - args.start_at)
    time.sleep(max(0.0, args.start_at - time.time()))
    steps, deadline = 0, args.start_at + args.seconds
    started = time.time()
    while time.time() < deadline:
        run(25)
        steps += 25
    synchronize(device)
    print(json.dumps({"steps_per_second": steps / (time.time() - started), "late": late}))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpu", action="store_true", help="run the GPU table instead of CPU")
    parser.add_argument("--dataset", default="dsprites", help="dataset to sample batches from")
    parser.add_argument("--batch", type=int, default=64, help="CPU batch size (default 64)")
    parser.add_argument("--threads", type=int, default=2, help="CPU torch threads (default 2)")
    parser.add_argument(
        "--clock", choices=("wall", "process"), default="wall",
        help="CPU timing: wall clock (default), or this process's CPU time, which stays "
             "meaningful on a machine other jobs keep busy (use it with --threads 1)")
    parser.add_argument("--steps", type=int, default=10, help="CPU steps per round (default 10)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--gpu-steps", type=int, default=300,
                        help="GPU steps per round (default 300)")
    parser.add_argument("--trials", type=int, nargs="+", default=[1, 4, 8],
                        help="numbers of concurrent trial processes on the GPU (default 1 4 8)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="measured seconds of each concurrent-trials run (default 10)")
    parser.add_argument("--worker-startup", type=float, default=30.0,
                        help="seconds allowed for trial processes to start (default 30)")
    parser.add_argument("--precision", default="fp32",
                        help="precision of the concurrent trials, which use channels-last "
                             "(default fp32: on an H200 bf16 autocast made this small network "
                             "slower, 101 vs 182 steps/s)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
    elif args.gpu:
        if not torch.cuda.is_available():
            sys.exit("no CUDA device: run without --gpu for the CPU table")
        gpu_table(args)
    else:
        cpu_table(args)


if __name__ == "__main__":
    main()
