"""``vae-study data``: prepare the offline datasets (render or load, cache) and write sample
grids."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "prepare a dataset (render or load it, cache it) and write a sample grid"

DESCRIPTION = """\
Prepare a dataset once so that training and metrics start instantly.

  dsprites   the dSprites shapes of Higgins et al. / Kim & Mnih: 737,280 binary 64x64 images
             of 3 shapes x 6 scales x 40 orientations x 32 x 32 positions. Rendered offline
             (well under a minute) unless you have the original
             dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz (--npz or $DSPRITES_NPZ).
  faces      synthetic 64x64 faces with 16 CelebA attributes (Smiling, Male, Eyeglasses, ...),
             written as JPEGs in CelebA's exact layout, so the celeba dataset reads them like
             the real thing (--set dataset.name=celeba --set dataset.root=DIR); the
             ground-truth version (dataset faces) renders on demand and needs no files.
  celeba     your copy of CelebA (torchvision's layout): checked, decoded once into a
             memory-mapped cache of 64x64 images.

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

    faces = datasets.add_parser(
        "faces", help="write synthetic faces in CelebA's layout; sample grid, attribute table",
        description="Render synthetic faces (under a minute for 50,000 on two free cores) and "
                    "write them as JPEGs in CelebA's layout (DIR/celeba/img_align_celeba, "
                    "list_attr_celeba.txt, list_eval_partition.txt, plus factors.csv with every "
                    "ground-truth factor), with a 10x10 sample grid, each attribute shown on "
                    "one face, and a table of attribute frequencies. Their attributes are "
                    "correlated as in CelebA (Male with Heavy_Makeup, Smiling with "
                    "Mouth_Slightly_Open, ...); see disentangle/data/faces/.")
    add_common_options(
        faces, out_default=None,
        out_help="where to write: DIR/celeba (the dataset), DIR/faces_samples.png, "
                 "DIR/faces_attributes.png and DIR/attribute_frequencies.csv "
                 "(default: <cache-dir>/faces)",
        seed_help="seed of the attributes, nuisance factors and sample grid; the same seed "
                  "writes the same files (default 0)")
    faces.add_argument(
        "--num", type=int, default=50_000,
        help="number of faces (default 50000; CelebA has 202599); 80 %% train, 10 %% valid, "
             "10 %% test")
    faces.add_argument(
        "--workers", type=int, default=None,
        help="threads rendering and encoding in parallel (default: one per CPU core)")
    faces.add_argument(
        "--force", action="store_true",
        help="write again even when DIR/celeba already holds this --num and --seed")
    faces.set_defaults(run=run_faces)

    celeba = datasets.add_parser(
        "celeba", help="check your CelebA copy, cache it decoded at 64x64, write a sample grid",
        description="Check a CelebA folder in torchvision's layout (DIR/celeba/"
                    "img_align_celeba/*.jpg, list_attr_celeba.txt, list_eval_partition.txt), "
                    "decode every image once into a memory-mapped 64x64 cache (about 2.5 GB for "
                    "the full 202,599 images) and write a 10x10 sample grid. Anything that "
                    "does not match CelebA's format (count line, the 40 attribute names, -1/1 "
                    "values, the partition, missing or damaged images) stops it with one line "
                    "naming the file and the fix, before anything is written. Also reads the "
                    "synthetic faces written by `vae-study data faces`.")
    add_common_options(celeba)
    celeba.add_argument(
        "--root", type=Path, default=None,
        help="the folder holding celeba/ (or the celeba folder itself); default $CELEBA_ROOT")
    celeba.add_argument(
        "--preprocessing", choices=("crop148", "resize"), default="crop148",
        help="crop148 (default): centre crop 148x148 then resize to 64, the face fills the "
             "frame, the usual choice for VAEs; resize: the whole aligned 178x218 image "
             "squeezed to 64x64, what the pre-trained disentangling-vae CelebA models saw")
    celeba.add_argument(
        "--workers", type=int, default=None,
        help="threads decoding JPEGs in parallel (default: one per CPU core)")
    celeba.set_defaults(run=run_celeba)
    parser.set_defaults(run=lambda args: parser.print_help() or 2)


def add_common_options(
        parser: argparse.ArgumentParser, out_default: Path | None = Path("data-samples"),
        out_help: str = "folder for the sample grid and summary files (default: ./data-samples)",
        seed_help: str = "seed of the sampled grid (default 0)") -> None:
    """Options every ``data`` subcommand shares (a command may say more about --out, --seed)."""
    parser.add_argument("--out", type=Path, default=out_default, metavar="DIR", help=out_help)
    parser.add_argument(
        "--cache-dir", type=Path, default=None,
        help="where the dataset is cached (default: $VAE_STUDY_CACHE or ~/.cache/vae-study)")
    parser.add_argument("--seed", type=int, default=0, help=seed_help)


def run_dsprites(args) -> int:
    # imported here, not at the top: `vae-study --help` stays fast
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


def run_faces(args) -> int:
    # imported here, not at the top: `vae-study --help` stays fast
    import numpy as np

    from disentangle.data.celeba import load_celeba
    from disentangle.data.faces import (
        ATTRIBUTES,
        attribute_examples,
        attribute_marginals,
        default_faces_root,
        write_faces,
    )
    from disentangle.data.images import save_image_grid

    out = (Path(args.out) if args.out else Path(args.cache_dir) / "faces" if args.cache_dir
           else default_faces_root())
    folder = write_faces(out, num=args.num, seed=args.seed, workers=args.workers,
                         progress=True, force=args.force)
    dataset = load_celeba(out, preprocessing="resize", split="all", cache=False)
    print(f"synthetic faces: {len(dataset):,} images in CelebA's layout in {folder}")
    indices = np.random.RandomState(args.seed).choice(len(dataset), min(100, len(dataset)),
                                                      replace=False)
    grid = save_image_grid(dataset.images(np.sort(indices)), out / "faces_samples.png", nrow=10)
    print(f"sample grid: {grid}")
    examples = save_image_grid(attribute_examples(), out / "faces_attributes.png", nrow=17)
    print(f"each attribute on one face (none, then {', '.join(ATTRIBUTES)}): {examples}")

    expected = attribute_marginals()
    observed = dataset.attributes.mean(axis=0)
    table = out / "attribute_frequencies.csv"
    lines = ["attribute,expected,observed"] + [
        f"{name},{expected[name]:.4f},{observed[dataset.attribute_names.index(name)]:.4f}"
        for name in ATTRIBUTES]
    table.write_text("\n".join(lines) + "\n")
    print(f"attribute frequencies: {table}")
    print(f"{'attribute':<20} {'expected':>8} {'observed':>8}")
    for line in lines[1:]:
        name, want, got = line.split(",")
        print(f"{name:<20} {want:>8} {got:>8}")
    print(f"use it as CelebA: --set dataset.name=celeba --set dataset.root={out} in a study, "
          f"or get_dataset('celeba', root='{out}'); both preprocessings leave these 64x64 "
          "images as they are")
    return 0


def run_celeba(args) -> int:
    # imported here, not at the top: `vae-study --help` stays fast
    import numpy as np

    from disentangle.data.celeba import load_celeba
    from disentangle.data.images import save_image_grid

    dataset = load_celeba(args.root, preprocessing=args.preprocessing, split="all",
                          cache_dir=args.cache_dir, workers=args.workers, progress=True)
    counts = np.bincount(dataset.partition, minlength=3)
    print(f"CelebA: {len(dataset):,} images (train {counts[0]:,}, valid {counts[1]:,}, test "
          f"{counts[2]:,}), {len(dataset.attribute_names)} attributes, from {dataset.folder}; "
          f"decoded ({args.preprocessing}) into the cache")
    indices = np.sort(np.random.RandomState(args.seed).choice(
        len(dataset), min(100, len(dataset)), replace=False))
    grid = save_image_grid(dataset.images(indices),
                           Path(args.out) / f"celeba_{args.preprocessing}_samples.png", nrow=10)
    print(f"sample grid: {grid}")
    return 0
