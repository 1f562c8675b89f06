"""The written dataset, in CelebA's layout: the face study's offline stand-in for CelebA.

The files are CelebA's (``celeba/img_align_celeba/000001.jpg``..., ``list_attr_celeba.txt``
with CelebA's 40 columns in CelebA's order, ``list_eval_partition.txt`` with the first 80 % of
images as train, the next 10 % valid, the last 10 % test), so ``disentangle.data.celeba`` reads
them exactly as it reads real CelebA. In the attribute file the 16 modelled attributes hold the
truth, ``No_Beard`` is 1 exactly when there is neither Goatee nor Mustache, ``Brown_Hair`` is 1
when the hair is neither blond nor black and the head is not bald, and the 22 attributes the
renderer does not model (Young, Attractive, ...) are -1 for every image: in CelebA's format -1
means "absent", so a model of those columns learns nothing from the synthetic set. Next to them
``factors.csv`` holds every ground-truth factor of every image (attributes 0/1, nuisance values).
Attributes follow the joint distribution of ``factors.JOINT_DISTRIBUTION``, nuisance factors
are uniform over their ranges.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from disentangle.data.cache import cache_dir
from disentangle.data.celeba import CELEBA_ATTRIBUTES
from disentangle.data.faces.factors import ATTRIBUTES, NUISANCES, sample_attributes, sample_nuisance
from disentangle.data.faces.render import CPU_RENDER_BATCH, render_faces
from disentangle.errors import UserError
from disentangle.parallel import parallel_map

#: Bump when the renderer or the file format changes, so old trees are regenerated.
FORMAT_VERSION = 1
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)  # train, valid, test (CelebA's are 0.803, 0.098, 0.099)
JPEG_QUALITY = 90
_CHUNK = 512  # images per task of a thread


def default_faces_root() -> Path:
    """Where ``vae-study data faces`` writes by default: <cache>/faces (holding celeba/)."""
    return cache_dir() / "faces"


def celeba_attribute_rows(attributes: np.ndarray) -> np.ndarray:
    """CelebA's 40 attribute columns (int8, -1/1) for rows of the 16 modelled ``ATTRIBUTES``:
    the modelled ones as they are, No_Beard and Brown_Hair derived, the rest -1."""
    a = {name: attributes[:, i].astype(bool) for i, name in enumerate(ATTRIBUTES)}
    a["No_Beard"] = ~(a["Goatee"] | a["Mustache"])
    a["Brown_Hair"] = ~(a["Blond_Hair"] | a["Black_Hair"] | a["Bald"])
    rows = -np.ones((len(attributes), len(CELEBA_ATTRIBUTES)), np.int8)
    for column, name in enumerate(CELEBA_ATTRIBUTES):
        if name in a:
            rows[:, column] = np.where(a[name], 1, -1)
    return rows


def image_names(num: int) -> list[str]:
    """CelebA's file names 000001.jpg, 000002.jpg, ... (wider when ``num`` needs it)."""
    width = max(6, len(str(num)))
    return [f"{i:0{width}d}.jpg" for i in range(1, num + 1)]


def _write_chunk(task) -> int:
    """Render and JPEG-encode one chunk of images into ``folder``."""
    from PIL import Image

    folder, names, attributes, nuisance = task
    for start in range(0, len(names), CPU_RENDER_BATCH):
        rows = slice(start, start + CPU_RENDER_BATCH)
        pixels = render_faces(attributes[rows], nuisance[rows])
        pixels = np.ascontiguousarray(
            (pixels * 255 + 0.5).astype(np.uint8).transpose(0, 2, 3, 1))
        for name, image in zip(names[rows], pixels):
            Image.fromarray(image).save(os.path.join(folder, name), quality=JPEG_QUALITY)
    return len(names)


def _manifest(num: int, seed: int) -> dict:
    return {"generator": "disentangle.data.faces", "format_version": FORMAT_VERSION,
            "num_images": num, "seed": seed}


def write_faces(out: str | Path | None = None, num: int = 50_000, seed: int = 0,
                workers: int | None = None, progress: bool = False, force: bool = False) -> Path:
    """Write ``num`` synthetic faces in CelebA's layout under ``out``/celeba and return that
    folder: img_align_celeba/*.jpg, list_attr_celeba.txt, list_eval_partition.txt, factors.csv
    (every ground-truth factor) and faces.json (what was generated). Attributes follow
    ``JOINT_DISTRIBUTION``, nuisance factors are uniform; ``seed`` makes the files exact.

    An existing tree written with the same ``num`` and ``seed`` is kept unless ``force``; one
    with other settings is replaced; a folder this generator did not write is never touched.
    The tree is built next to its destination and renamed into place when complete."""
    if num < 1:
        raise UserError(f"num (the number of faces) must be at least 1, got {num}")
    out = Path(out) if out is not None else default_faces_root()
    target = out / "celeba"
    manifest = _manifest(num, seed)
    if target.exists():
        try:
            existing = json.loads((target / "faces.json").read_text())
        except (OSError, ValueError):
            raise UserError(f"{target} exists and was not written by this generator (it has no "
                            "faces.json); choose another --out folder") from None
        if existing == manifest and not force:
            return target

    random_state = np.random.RandomState(seed)
    attributes = sample_attributes(num, random_state)
    nuisance = sample_nuisance(num, random_state)
    names = image_names(num)

    out.mkdir(parents=True, exist_ok=True)
    partial = out / f".celeba.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    images = partial / "img_align_celeba"
    images.mkdir(parents=True)
    try:
        tasks = [(str(images), names[i:i + _CHUNK], attributes[i:i + _CHUNK],
                  nuisance[i:i + _CHUNK]) for i in range(0, num, _CHUNK)]
        _run_tasks(tasks, workers, num, progress)
        _write_annotations(partial, names, attributes, nuisance)
        (partial / "faces.json").write_text(json.dumps(manifest, indent=1) + "\n")
        if target.exists():
            old = out / f".celeba.old-{os.getpid()}"
            target.rename(old)
            partial.rename(target)
            shutil.rmtree(old)
        else:
            partial.rename(target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target


def _run_tasks(tasks, workers, num, progress) -> None:
    """Run ``_write_chunk`` over ``tasks`` in ``workers`` threads (default: one per core):
    torch's operators and PIL's JPEG encoder release the GIL."""
    for _ in parallel_map(_write_chunk, tasks, workers, total=num, count=lambda n: n,
                          progress="rendering faces" if progress else None):
        pass


def _write_annotations(folder: Path, names, attributes, nuisance) -> None:
    """CelebA's attribute and partition files, and factors.csv, for the written images."""
    num = len(names)
    tokens = np.where(celeba_attribute_rows(attributes) > 0, " 1", "-1")
    lines = [str(num), " ".join(CELEBA_ATTRIBUTES) + " "]
    lines += [f"{name} {' '.join(row)}" for name, row in zip(names, tokens)]
    (folder / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")

    train, valid = (round(num * SPLIT_FRACTIONS[0]), round(num * SPLIT_FRACTIONS[1]))
    split = np.full(num, 2)
    split[:train + valid] = 1
    split[:train] = 0
    (folder / "list_eval_partition.txt").write_text(
        "".join(f"{name} {s}\n" for name, s in zip(names, split)))

    header = ",".join(("image_id",) + ATTRIBUTES + NUISANCES)
    rows = [f"{name}," + ",".join(map(str, a)) + "," + ",".join(f"{v:.6f}" for v in values)
            for name, a, values in zip(names, attributes.tolist(), nuisance.tolist())]
    (folder / "factors.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
