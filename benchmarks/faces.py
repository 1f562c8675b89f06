"""Speed of the synthetic faces: the renderer, training on them against dSprites, and (with
``--files``) the written CelebA-layout files and the CelebA loader.

    python benchmarks/faces.py                     # CPU, 2 torch threads
    python benchmarks/faces.py --device cuda       # the GPU rows as well
    python benchmarks/faces.py --files --num 10000 # also: JPEG writing and the CelebA loader

Renderer: faces per second (wall clock) and per CPU-second of ``FacesDataset.torch_images``
(rendering every batch): torch on the CPU, and on ``--device`` uncaptured and replayed as a
CUDA graph; next to it the training pool (``get_dataset("faces", pool=N)``: batches read from N
faces pre-rendered into a memory-mapped uint8 cache file).

Training: steps/s of the same network (``--architecture``, ``--latent-dim``, batch 64) on
dSprites, on the faces rendered per batch and on the faces from the pool, side by side in
interleaved rounds (so a busy machine's drift hits all alike), and each faces ratio per round
(target: faces >= 0.8 x dSprites). ``--via trainer`` (the default) is ``Trainer.train_steps``
(all the Trainer's bookkeeping, precision ``auto``); ``--via bare`` is forward + backward +
Adam on batches from ``dataset.training_images``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from disentangle import runtime  # noqa: E402
from disentangle.data import get_dataset  # noqa: E402
from disentangle.data.faces.render import render_batched  # noqa: E402
from disentangle.models import build_model  # noqa: E402
from disentangle.objectives import kl_per_dimension, reconstruction_loss  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--via", choices=("bare", "trainer"), default="trainer",
                        help="training loop to time (default trainer: the real Trainer, "
                             "whose batches come from dataset.training_images)")
    parser.add_argument("--pool", type=int, default=20_000,
                        help="faces in the training pool (rendered once into the cache)")
    parser.add_argument("--architecture", default="standard")
    parser.add_argument("--latent-dim", type=int, default=10)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps per round (default: 10 on the CPU, 100 on a GPU)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clock", choices=("wall", "process"), default="wall",
                        help="training rounds timed by the wall clock or by this process's CPU "
                             "time (robust to other load; use with --threads 1)")
    parser.add_argument("--files", action="store_true",
                        help="also time writing JPEG files and the CelebA loader")
    parser.add_argument("--num", type=int, default=20_000, help="--files: faces to write")
    parser.add_argument("--workers", type=int, default=None,
                        help="--files: threads for writing and decoding (default: one per core)")
    return parser.parse_args()


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(function, count: int, device=torch.device("cpu"), repeat: int = 3,
            warm_up: bool = True):
    """(items per wall-clock second, items per CPU-second): the best of ``repeat`` timed calls
    of ``function()``, which makes ``count`` items."""
    if warm_up:
        function()  # caches, allocator, CUDA graphs
    best = (0.0, 0.0)
    for _ in range(repeat):
        synchronize(device)
        wall, cpu = time.perf_counter(), cpu_seconds()
        function()
        synchronize(device)
        rates = (count / (time.perf_counter() - wall), count / max(cpu_seconds() - cpu, 1e-9))
        best = max(best, rates)
    return best


# -- the renderer ----------------------------------------------------------------------------
def renderer_rows(args, device: torch.device) -> list[tuple[str, float, float]]:
    faces = get_dataset("faces")
    draws = np.random.RandomState(1)

    def indices(batch, where):
        return torch.from_numpy(faces.sample_indices(batch, draws)).to(where)

    cpu = torch.device("cpu")
    rows = []
    for batch in (args.batch, 1024):
        batches = [indices(batch, cpu) for _ in range(max(1, 1024 // batch))]
        rows.append((f"torch, CPU (one thread, as it always renders), batch {batch}", *measure(
            lambda: [faces.torch_images(b) for b in batches], batch * len(batches))))
    if device.type == "cuda":
        for batch in (args.batch, 1024):
            batches = [indices(batch, device) for _ in range(20)]
            rows.append((f"torch, {device} uncaptured, batch {batch}", *measure(
                lambda: [render_batched(*faces.render_inputs(b)) for b in batches],
                batch * len(batches), device)))
            rows.append((f"torch, {device} CUDA graph, batch {batch}", *measure(
                lambda: [faces.torch_images(b) for b in batches], batch * len(batches), device)))
    pooled = get_dataset("faces", pool=args.pool)
    batches = [torch.from_numpy(draws.randint(0, args.pool, args.batch)).to(device)
               for _ in range(200)]
    pooled.training_images(batches[0])   # renders the pool into the cache the first time
    rows.append((f"training pool of {args.pool:,} faces (memory-mapped), batch {args.batch}",
                 *measure(lambda: [pooled.training_images(b) for b in batches],
                          args.batch * len(batches), device)))
    return rows


# -- training --------------------------------------------------------------------------------
class BareSteps:
    """Forward, backward and Adam step of ``build_model`` on batches drawn from ``dataset``
    and produced by ``dataset.training_images`` on ``device`` (what the Trainer's loop does)."""

    def __init__(self, dataset, device: torch.device, args):
        torch.manual_seed(0)
        self.model = build_model(args.architecture, num_channels=dataset.observation_shape[0],
                                 latent_dim=args.latent_dim).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-4)
        self.dataset, self.device, self.batch = dataset, device, args.batch
        self.random_state = np.random.RandomState(0)

    def __call__(self, steps: int) -> None:
        for _ in range(steps):
            positions = self.random_state.randint(0, self.dataset.training_size, self.batch)
            images = self.dataset.training_images(torch.from_numpy(positions).to(self.device))
            mean, log_var = self.model.encode(images)
            z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
            loss = (reconstruction_loss(self.model.decode_logits(z), images)
                    + kl_per_dimension(mean, log_var).sum(-1).mean())
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()


def trainer_steps(dataset, device: torch.device, args):
    """``Trainer.train_steps`` of a β-VAE with the same network, latent size and batch."""
    from disentangle.training import Trainer

    trainer = Trainer({"model": "beta_vae", "architecture": args.architecture,
                       "latent_dim": args.latent_dim, "batch_size": args.batch}, dataset, device)
    return trainer.train_steps


def training_rows(args, device: torch.device):
    """Median steps/s of each dataset over interleaved rounds, and the median per-round ratio."""
    make = BareSteps if args.via == "bare" else trainer_steps
    datasets = {"dsprites": get_dataset("dsprites"), "faces": get_dataset("faces"),
                "faces, pool": get_dataset("faces", pool=args.pool)}
    runners = {name: make(dataset, device, args) for name, dataset in datasets.items()}
    steps = args.steps or (100 if device.type == "cuda" else 10)
    clock = cpu_seconds if args.clock == "process" else time.perf_counter
    rates = {name: [] for name in runners}
    for run in runners.values():
        run(3)  # warm up
    for _ in range(args.rounds):
        for name, run in runners.items():
            synchronize(device)
            start = clock()
            run(steps)
            synchronize(device)
            rates[name].append(steps / (clock() - start))
    ratios = {name: [faces / dsprites for faces, dsprites in zip(rates[name], rates["dsprites"])]
              for name in rates if name != "dsprites"}
    return {name: statistics.median(values) for name, values in rates.items()}, ratios


# -- the written files and the CelebA loader ---------------------------------------------------
def files_rows(args) -> list[tuple[str, float, float]]:
    from PIL import Image

    from disentangle.data.celeba import load_celeba
    from disentangle.data.faces import write_faces

    workers = args.workers or len(os.sched_getaffinity(0))
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        rows.append((f"write faces: render + JPEG + files ({workers} threads)", *measure(
            lambda: write_faces(scratch, num=args.num, seed=0, workers=workers, force=True),
            args.num, repeat=1, warm_up=False)))
        batches = np.random.RandomState(1).randint(0, args.num, (2000 // args.batch, args.batch))
        decoded = load_celeba(scratch, preprocessing="resize", split="all", cache=False)
        rows.append((f"CelebA loader, decoding JPEGs (1 process, batch {args.batch})", *measure(
            lambda: [decoded.images(batch) for batch in batches], batches.size, repeat=1,
            warm_up=False)))
        rows.append((f"CelebA loader, building the cache ({workers} threads)", *measure(
            lambda: load_celeba(scratch, preprocessing="resize", split="all",
                                cache_dir=scratch / "cache", workers=workers), args.num,
            repeat=1, warm_up=False)))
        cached = load_celeba(scratch, preprocessing="resize", split="all",
                             cache_dir=scratch / "cache")
        rows.append((f"CelebA loader, memory-mapped cache (1 process, batch {args.batch})",
                     *measure(lambda: [cached.images(batch) for batch in batches],
                              batches.size)))

        full_size = min(args.num, 2000)
        tree = write_faces(scratch / "full-size", num=full_size, seed=0, workers=workers)
        for path in (tree / "img_align_celeba").iterdir():
            Image.open(path).resize((178, 218), Image.LANCZOS).save(path, quality=95)
        batches = batches % full_size
        for preprocessing in ("crop148", "resize"):
            decoded = load_celeba(tree, preprocessing=preprocessing, split="all", cache=False)
            rows.append((f"178x218 JPEGs, decoding, {preprocessing} (1 process)", *measure(
                lambda: [decoded.images(batch) for batch in batches[:8]], batches[:8].size,
                repeat=1, warm_up=False)))
    return rows


def print_rows(title: str, rows) -> None:
    print(f"\n{title}\n{'what':<64} {'images/s':>10} {'per CPU-s':>10}")
    for name, wall, cpu in rows:
        print(f"{name:<64} {wall:>10,.0f} {cpu:>10,.0f}")


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    runtime.configure_allocator()
    device = torch.device(args.device)
    print_rows("Rendering the ground-truth faces (FacesDataset.torch_images)",
               renderer_rows(args, device))
    rates, ratios = training_rows(args, device)
    print(f"\nTraining ({args.via}, {args.architecture}, {args.latent_dim} latents, batch "
          f"{args.batch}, {device}; median of {args.rounds} interleaved rounds, {args.clock} "
          "time)")
    for name, rate in rates.items():
        print(f"{name:<12} {rate:8.2f} steps/s")
    for name, values in ratios.items():
        print(f"{name} / dSprites: {statistics.median(values):.2f} (per round: "
              f"{', '.join(f'{r:.2f}' for r in values)}; target >= 0.80)")
    if args.files:
        print_rows(f"Written faces and the CelebA loader ({args.num:,} faces)", files_rows(args))
    print(f"\n({os.cpu_count()} CPU cores, {args.threads} torch threads, load average "
          f"{os.getloadavg()[0]:.1f} at the end)")


if __name__ == "__main__":
    main()
