"""CelebA (Liu et al. 2015) from a folder in torchvision's layout, with a decoded-image cache.

The folder (``root``, or ``root``/celeba as torchvision downloads it) holds::

    img_align_celeba/000001.jpg ... 202599.jpg   aligned 178x218 faces
    list_attr_celeba.txt                          count, 40 attribute names, one -1/1 row per image
    list_eval_partition.txt                       "000001.jpg 0" per image: 0 train, 1 valid, 2 test

The synthetic faces of ``disentangle.data.faces`` are written in exactly this layout (plus a
``factors.csv`` with their ground truth), so this one loader reads both.

Preprocessing (recorded by ``describe()`` and so with every model trained on the data):

    crop148  centre crop 148x148 (the face), resized to 64x64: the usual choice for VAEs
    resize   the whole aligned image resized to 64x64 (a squeezed face with background and
             shoulders): what the pre-trained disentangling-vae CelebA checkpoints saw

Both resize with Lanczos filtering; images smaller than 148 pixels (the 64x64 synthetic faces)
are cropped to their shorter side, so both options leave the synthetic faces unchanged.

Decoding a JPEG costs far more than a training step on a 64x64 image, so the first load decodes
every image once (in parallel) into a uint8 (N, 3, 64, 64) ``.npy`` under ``cache_dir()``, which
later loads memory-map: one cache per folder and preprocessing serves every split, and it is
rebuilt when the attribute file changes.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from disentangle.data.base import ImageDataset, check_indices
from disentangle.errors import UserError

IMAGE_SIZE = 64
CROP = 148
PREPROCESSING = ("crop148", "resize")
SPLITS = {"train": 0, "valid": 1, "test": 2, "all": None}
ATTRIBUTE_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
IMAGE_FOLDER = "img_align_celeba"
FACTORS_FILE = "factors.csv"
_CHUNK = 256  # images per decoding task


def find_celeba_folder(root: str | Path | None) -> Path:
    """The folder holding CelebA's files: ``root``/celeba when it exists, else ``root``;
    ``root`` defaults to $CELEBA_ROOT."""
    if root is None:
        root = os.environ.get("CELEBA_ROOT")
        if not root:
            raise UserError("no CelebA folder given: pass --root DIR (the folder holding "
                            "celeba/img_align_celeba) or set $CELEBA_ROOT")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise UserError(f"CelebA root {root} does not exist or is not a folder: pass the folder "
                        "that holds celeba/img_align_celeba (torchvision's layout)")
    folder = root / "celeba" if (root / "celeba").is_dir() else root
    if not any((folder / name).exists() for name in (IMAGE_FOLDER, ATTRIBUTE_FILE,
                                                     PARTITION_FILE)):
        raise UserError(f"no CelebA in {root}: expected {root}/celeba/{IMAGE_FOLDER}, "
                        f"{ATTRIBUTE_FILE} and {PARTITION_FILE} (torchvision's layout)")
    for name, where in ((ATTRIBUTE_FILE, "Anno"), (PARTITION_FILE, "Eval")):
        if not (folder / name).is_file():
            raise UserError(f"{folder / name} is missing: copy it from CelebA's {where} "
                            "folder next to img_align_celeba")
    return folder


def _image_folder(folder: Path) -> Path:
    """img_align_celeba, or the img_align_celeba/img_align_celeba some downloads unpack to."""
    images = folder / IMAGE_FOLDER
    if (images / IMAGE_FOLDER).is_dir():
        images = images / IMAGE_FOLDER
    if not images.is_dir():
        raise UserError(f"{folder / IMAGE_FOLDER} is missing: unpack img_align_celeba.zip "
                        f"into {folder}")
    return images


def read_annotations(folder: Path):
    """(file names, attribute names, attributes uint8 0/1 (N, K), partition (N,)) from the
    attribute and partition files, checked against each other."""
    import pandas as pd

    path = folder / ATTRIBUTE_FILE
    with open(path) as file:
        try:
            declared = int(file.readline())
        except ValueError:
            raise UserError(f"{path}: the first line must be the number of images") from None
        names = tuple(file.readline().split())
    if not names:
        raise UserError(f"{path}: the second line must list the attribute names")
    try:
        table = pd.read_csv(path, sep=r"\s+", skiprows=2, header=None,
                            names=("file",) + names, dtype={"file": str})
    except (pd.errors.ParserError, ValueError) as error:
        raise UserError(f"{path} is malformed ({str(error).splitlines()[0]}): each row must be "
                        f"a file name and {len(names)} values of -1 or 1") from None
    values = table[list(names)].to_numpy()
    if len(table) != declared:
        raise UserError(f"{path} declares {declared} images on its first line but lists "
                        f"{len(table)}: the file is truncated or edited; download it again")
    if not np.isin(values, (-1, 1)).all():
        raise UserError(f"{path}: attribute values must be -1 or 1 (each row needs "
                        f"{len(names)} of them)")
    files = table["file"].to_numpy(dtype=str)

    path = folder / PARTITION_FILE
    try:
        partition = pd.read_csv(path, sep=r"\s+", header=None, names=("file", "split"),
                                dtype={"file": str})
    except (pd.errors.ParserError, ValueError) as error:
        raise UserError(f"{path} is malformed ({str(error).splitlines()[0]}): each row must be "
                        "a file name and 0, 1 or 2") from None
    if len(partition) != len(files) or set(partition["file"]) != set(files):
        raise UserError(f"{PARTITION_FILE} lists {len(partition)} images and {ATTRIBUTE_FILE} "
                        f"{len(files)}, not the same files: both must come from the same "
                        f"CelebA release (in {folder})")
    split = partition.set_index("file")["split"].reindex(files).to_numpy()
    if not np.isin(split, (0, 1, 2)).all():
        raise UserError(f"{path}: the split of each image must be 0 (train), 1 (valid) or 2 "
                        "(test)")
    return files, names, (values > 0).astype(np.uint8), split.astype(np.int8)


def preprocess_image(path: str | Path, preprocessing: str) -> np.ndarray:
    """One image file as uint8 (3, 64, 64) after ``preprocessing`` (see the module docstring)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
    except (OSError, ValueError, SyntaxError) as error:
        raise UserError(f"cannot read image {path} ({error}): the file is damaged or not an "
                        "image; extract img_align_celeba again") from None
    if preprocessing == "crop148":
        side = min(CROP, image.width, image.height)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side))
    if image.size != (IMAGE_SIZE, IMAGE_SIZE):
        image = image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.LANCZOS)
    return np.asarray(image).transpose(2, 0, 1)


def _decode_chunk(task) -> np.ndarray:
    paths, preprocessing = task
    return np.stack([preprocess_image(path, preprocessing) for path in paths])


class CelebADataset(ImageDataset):
    """One split of a CelebA folder: 64x64 RGB images with their binary attributes.

    ``attributes`` is uint8 (N, 40): CelebA's -1/1 as 0/1, columns in the order of
    ``attribute_names``; ``files`` are the image names; ``partition`` is each image's official
    split (0 train, 1 valid, 2 test); ``factors`` is the ground truth of a synthetic tree (a
    pandas DataFrame from factors.csv, one row per image) or None."""

    name = "celeba"

    def __init__(self, folder: Path, preprocessing: str, split: str, files, attribute_names,
                 attributes, partition, rows, pixels=None, factors=None):
        self.folder, self.preprocessing, self.split = folder, preprocessing, split
        self.files, self.attribute_names, self.attributes = files, attribute_names, attributes
        self.partition = partition
        self.factors = factors
        self._rows, self._pixels = rows, pixels
        self._image_folder = _image_folder(folder)

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return (3, IMAGE_SIZE, IMAGE_SIZE)

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def cached(self) -> bool:
        """Whether images come from the decoded memory-mapped cache (else from the JPEGs)."""
        return self._pixels is not None

    def images(self, indices: np.ndarray) -> np.ndarray:
        indices = check_indices(indices, len(self))
        if self._pixels is not None:
            pixels = self._pixels[self._rows[indices]]
        else:
            pixels = np.array([preprocess_image(self._image_folder / self.files[i],
                                                self.preprocessing) for i in indices],
                              dtype=np.uint8).reshape(len(indices), *self.observation_shape)
        return pixels.astype(np.float32) * np.float32(1 / 255)

    def describe(self) -> dict:
        return {**super().describe(), "root": str(self.folder), "split": self.split,
                "preprocessing": self.preprocessing, "num_images": len(self),
                "synthetic": self.factors is not None}


def cache_path(folder: Path, preprocessing: str, num_images: int, cache_dir=None) -> Path:
    """The decoded-image cache of ``folder``: keyed by its absolute path, the preprocessing and
    the attribute file's size and modification time (so a regenerated tree is decoded again)."""
    from disentangle.data import cache_dir as default_cache_dir

    stamp = (folder / ATTRIBUTE_FILE).stat()
    key = json.dumps([str(folder.resolve()), preprocessing, num_images, stamp.st_size,
                      stamp.st_mtime_ns])
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    base = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return base / "celeba" / f"{preprocessing}-{digest}.npy"


def build_cache(folder: Path, files, preprocessing: str, path: Path,
                workers: int | None = None, progress: bool = False) -> None:
    """Decode every image of ``folder`` into the uint8 memory-mappable ``path`` (in parallel;
    written under a temporary name and renamed when complete)."""
    import multiprocessing

    from tqdm import tqdm

    images = _image_folder(folder)
    present = set(os.listdir(images))
    missing = [name for name in files if name not in present]
    if missing:
        raise UserError(f"{len(missing)} of the {len(files)} images listed in {ATTRIBUTE_FILE} "
                        f"are missing from {images} (first: {missing[0]}): extract "
                        "img_align_celeba completely")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.partial-{os.getpid()}.npy")
    tasks = [([str(images / name) for name in files[i:i + _CHUNK]], preprocessing)
             for i in range(0, len(files), _CHUNK)]
    workers = min(workers or len(os.sched_getaffinity(0)), len(tasks))
    try:
        array = np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8,
                                          shape=(len(files), 3, IMAGE_SIZE, IMAGE_SIZE))
        with tqdm(total=len(files), unit="img", desc=f"decoding CelebA ({preprocessing})",
                  disable=not progress) as bar:
            if workers <= 1:
                chunks = map(_decode_chunk, tasks)
                pool = None
            else:
                pool = multiprocessing.get_context().Pool(workers)
                chunks = pool.imap(_decode_chunk, tasks)
            try:
                start = 0
                for chunk in chunks:
                    array[start:start + len(chunk)] = chunk
                    start += len(chunk)
                    bar.update(len(chunk))
            finally:
                if pool is not None:
                    pool.terminate()
        array.flush()
        del array
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def load_celeba(root: str | Path | None = None, preprocessing: str = "crop148",
                split: str = "train", cache: bool = True, cache_dir: str | Path | None = None,
                workers: int | None = None, progress: bool = False) -> CelebADataset:
    """``get_dataset("celeba", root=...)``: the ``split`` ("train", "valid", "test" or "all")
    of the CelebA folder at ``root`` (default $CELEBA_ROOT), preprocessed as ``preprocessing``.

    With ``cache`` (the default) images come from the decoded memory-mapped cache, built on
    first use; without it every batch decodes its JPEGs."""
    if preprocessing not in PREPROCESSING:
        raise UserError(f"unknown CelebA preprocessing {preprocessing!r}: choose "
                        f"{' or '.join(PREPROCESSING)}")
    if split not in SPLITS:
        raise UserError(f"unknown CelebA split {split!r}: choose one of {', '.join(SPLITS)}")
    folder = find_celeba_folder(root)
    files, names, attributes, partition = read_annotations(folder)
    rows = (np.arange(len(files)) if SPLITS[split] is None
            else np.flatnonzero(partition == SPLITS[split]))
    pixels = None
    if cache:
        path = cache_path(folder, preprocessing, len(files), cache_dir)
        if not path.exists():
            build_cache(folder, files, preprocessing, path, workers=workers, progress=progress)
        pixels = np.load(path, mmap_mode="r")
    else:
        _image_folder(folder)
    factors = None
    if (folder / FACTORS_FILE).is_file():
        import pandas as pd

        factors = pd.read_csv(folder / FACTORS_FILE, dtype={"image_id": str})
        if len(factors) != len(files) or (factors["image_id"].to_numpy(str) != files).any():
            raise UserError(f"{folder / FACTORS_FILE} does not list the images of "
                            f"{ATTRIBUTE_FILE} in the same order: regenerate the synthetic set")
        factors = factors.iloc[rows].reset_index(drop=True)
    return CelebADataset(folder, preprocessing, split, files[rows], names, attributes[rows],
                         partition[rows], rows, pixels, factors)
