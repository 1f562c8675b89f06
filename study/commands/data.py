"""``vae-study data``: prepare the offline datasets (render or load, cache) and write sample grids."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "prepare a dataset (render or load it, cache it) and write a sample grid"

DESCRIPTION = """\
Prepare a dataset once so that training and metrics start instantly.

  dsprites   the dSprites shapes of Higgins et al. / Kim & Mnih: 737,280 binary 64x64 images
             of 3 shapes x 6 scales x 40 orientations x 32 x 32 positions. Rendered offline
             (about a minute) unless you have the original
             dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz (--npz or $DSPRITES_NPZ).

The rendered or loaded data is cached under $VAE_STUDY_CACHE (default ~/.cache/vae-study)."""


def register(commands) -> None:
    parser = commands.add_parser(
        "data", help=HELP, description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    datasets = parser.add_subparsers(dest="dataset", metavar="DATASET", title="datasets")
    dsprites = datasets.add_parser(
        "dsprites", help="render (or load your real npz) and cache dSprites; write a sample grid",
        description="Render dSprites offline, or load and validate your real copy, cache it "
                    "bit-packed (360 MiB) and write a 10x10 sample grid PNG.")
    add_common_options(dsprites)
    dsprites.add_argument(
        "--npz", type=Path, default=None,
        help="your copy of the original dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz "
             "(default: $DSPRITES_NPZ when set, else render offline)")
    dsprites.add_argument(
        "--force", action="store_true", help="render again even when a cached copy exists")
    dsprites.set_defaults(run=run_dsprites)
    parser.set_defaults(run=lambda args: parser.print_help() or 2)


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Options every ``data`` subcommand shares."""
    parser.add_argument(
        "--out", type=Path, default=Path("data-samples"),
        help="folder for the sample grid and summary files (default: ./data-samples)")
    parser.add_argument(
        "--cache-dir", type=Path, default=None,
        help="where the dataset is cached (default: $VAE_STUDY_CACHE or ~/.cache/vae-study)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampled grid (default 0)")


def run_dsprites(args) -> int:
    import numpy as np

    from disentangle.data.dsprites import load_dsprites
    from disentangle.data.images import save_image_grid

    dataset = load_dsprites(npz=args.npz, cache_dir=args.cache_dir, force=args.force,
                            progress=True)
    print(f"dSprites: {len(dataset):,} images from {dataset.source}")
    _, images = dataset.sample(100, np.random.RandomState(args.seed))
    grid = save_image_grid(images, Path(args.out) / "dsprites_samples.png", nrow=10)
    print(f"sample grid: {grid}")
    return 0
