"""Train VAE, beta-VAE and FactorVAE on the synthetic faces for the navigation study.

The faces preset of ``vae-study sweep`` trains the same models through Ray Tune; this script is
the short path without Ray (one process per model, all at once), for a GPU or a long CPU run:

    python benchmarks/train_faces_models.py --out runs/faces-models --steps 30000 --minutes 5

It renders a pool of ``--pool`` random factor combinations of ``get_dataset("faces")`` once
(uniform, independent factors: the preset's training distribution), trains each model with
``disentangle.training.Trainer`` on that pool until ``--steps`` or ``--minutes`` is reached, and
saves each as a weights-only checkpoint (``load_model`` reads it) named after the model, e.g.
``beta_vae_b16.pt``. Each process prints its loss every ``--report`` steps.

Measured on one H200 (16 CPU cores), all five models at once with the defaults and
``--minutes 5.5``: the 60,000-face pool rendered in 6.8 s; VAE and beta-VAE ran at ~110
steps/s each (37,500 steps), FactorVAE at ~56 steps/s (20,000 steps, two batches and a
discriminator per step). On a 2-core CPU expect about 1 step/s per model.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODELS = {
    "vae": {"model": "vae"},
    "beta_vae_b4": {"model": "beta_vae", "beta": 4.0},
    "beta_vae_b16": {"model": "beta_vae", "beta": 16.0},
    "factor_vae_g10": {"model": "factor_vae", "gamma": 10.0},
    "factor_vae_g40": {"model": "factor_vae", "gamma": 40.0},
}
POOL = []  # the rendered faces, set before the worker processes fork


def train_one(job) -> str:
    import torch

    from disentangle.models import make_checkpoint, write_checkpoint
    from disentangle.training import Trainer

    name, settings, args = job
    pool = POOL[0]  # inherited through fork, not pickled
    torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = True
    config = {**settings, "latent_dim": args.latent_dim, "seed": args.seed,
              "batch_size": args.batch_size, "lr": args.lr}
    trainer = Trainer(config, pool)
    deadline = time.monotonic() + 60 * args.minutes
    start = time.monotonic()
    while trainer.step < args.steps and time.monotonic() < deadline:
        metrics = trainer.train_steps(min(args.report, args.steps - trainer.step))
        print(f"{name:>15} step {trainer.step:6d}  recon {metrics['reconstruction']:8.1f}  "
              f"kl {metrics['kl']:6.1f}  active {metrics['active_dims']:4.1f}  "
              f"tc {metrics['tc_mws']:6.2f}  {trainer.step / (time.monotonic() - start):6.1f} "
              f"steps/s", flush=True)
    info = trainer.info()
    info["source"]["script"] = "benchmarks/train_faces_models.py"
    path = Path(args.out) / f"{name}.pt"
    write_checkpoint(make_checkpoint(info, {k: v.cpu() for k, v in
                                            trainer.model.state_dict().items()}), path)
    return f"{name}: {trainer.step} steps -> {path}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the checkpoints")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS),
                        help="which models to train (default: all five)")
    parser.add_argument("--steps", type=int, default=30000, help="steps per model at most")
    parser.add_argument("--minutes", type=float, default=5.0,
                        help="wall-clock limit per model; training stops there and saves")
    parser.add_argument("--pool", type=int, default=60000, help="faces rendered once")
    parser.add_argument("--latent-dim", type=int, default=32, help="latents (faces preset: 32)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", type=int, default=1000, help="steps between log lines")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per model")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes rendering the pool (default: one per core)")
    args = parser.parse_args()

    from disentangle.navigation.data import synthetic_faces

    args.out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    pool = synthetic_faces(args.pool, seed=args.seed + 1000, distribution="independent",
                           workers=args.workers)
    print(f"rendered {len(pool)} faces in {time.monotonic() - start:.1f} s", flush=True)
    POOL.append(pool)
    jobs = [(name, MODELS[name], args) for name in args.models]
    context = multiprocessing.get_context("fork")
    with context.Pool(len(jobs)) as workers:
        for line in workers.imap_unordered(train_one, jobs):
            print(line, flush=True)


if __name__ == "__main__":
    main()
