"""How to use a 2-core CPU for a long study: one two-thread process training the whole stack,
or one single-thread process per stack group, side by side (the ``cpu`` preset's layout).

    python benchmarks/cpu_layout.py [--seconds 60] [--rounds 2]

Each round runs both layouts one after the other on the ``cpu`` preset's grid (VAE, β-VAE
β=4, FactorVAE γ=40 x 3 seeds, FC 128, batch 64, the default precision) and measures wall-clock
model-steps/s after a warm-up: the whole machine's throughput, which is what a background run
gets. Rows are per round, so drift on a busy machine shows. Needs an idle machine: pause a
running study first, its driver (``RUN/pid``) and every process under it (``pstree -p``):
``kill -STOP`` them, then ``kill -CONT``. Stopping one Ray worker alone gets it declared dead
after ~5 minutes and its trial restarted from the last checkpoint.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GRID = [{"model": "vae"}, {"model": "beta_vae", "beta": 4.0},
        {"model": "factor_vae", "gamma": 40.0}]
GROUPS = (("vae", "beta_vae"), ("factor_vae",))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="timed seconds per run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--stack", default=None, help=argparse.SUPPRESS)   # a worker's kinds
    parser.add_argument("--threads", type=int, default=None, help=argparse.SUPPRESS)
    return parser.parse_args()


def train(kinds: list[str], threads: int, seconds: float) -> dict:
    """Train the grid's models of ``kinds`` (3 seeds each) as one stack for ``seconds`` after
    a warm-up; their model-steps/s, wall clock."""
    import torch

    from disentangle import runtime
    from disentangle.data import get_dataset
    from disentangle.training import StackTrainer

    torch.set_num_threads(threads)
    runtime.configure_allocator()
    configs = [{**variant, "seed": seed, "hidden_dim": 128}
               for variant in GRID if variant["model"] in kinds for seed in range(3)]
    trainer = StackTrainer(configs, get_dataset("dsprites"), torch.device("cpu"))
    trainer.train_steps(5)
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        trainer.train_steps(10)
        steps += 10
    return {"models": len(configs),
            "model_steps_per_second": steps * len(configs) / (time.perf_counter() - start)}


def run_workers(groups, threads: int, seconds: float) -> list[dict]:
    """Each group in its own process at once; their results."""
    workers = [subprocess.Popen([sys.executable, __file__, "--stack", ",".join(group),
                                 "--threads", str(threads), "--seconds", str(seconds)],
                                stdout=subprocess.PIPE, text=True) for group in groups]
    results = []
    for worker in workers:
        out, _ = worker.communicate()
        if worker.returncode:
            sys.exit(f"error: a benchmark worker failed (exit {worker.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def main() -> None:
    args = parse_args()
    if args.stack:
        print(json.dumps(train(args.stack.split(","), args.threads, args.seconds)))
        return
    from disentangle.data import get_dataset

    get_dataset("dsprites")   # rendered once here, not inside the timed workers
    every = tuple(variant["model"] for variant in GRID)
    print("| round | one process, 2 threads, stack of 9 | two processes, 1 thread each "
          "(VAE+β-VAE 6 / FactorVAE 3) | ratio |")
    print("|---:|---:|---:|---:|")
    for round_ in range(1, args.rounds + 1):
        one = run_workers([every], 2, args.seconds)[0]["model_steps_per_second"]
        two = [r["model_steps_per_second"] for r in run_workers(GROUPS, 1, args.seconds)]
        print(f"| {round_} | {one:.1f} | {sum(two):.1f} ({two[0]:.1f} + {two[1]:.1f}) | "
              f"{sum(two) / one:.2f} |", flush=True)


if __name__ == "__main__":
    main()
