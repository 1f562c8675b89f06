"""CelebA (Liu et al. 2015) from a folder in torchvision's layout, with a decoded-image cache.

The folder (``root``, or ``root``/celeba as torchvision downloads it) holds::

    img_align_celeba/000001.jpg ... 202599.jpg   aligned 178x218 faces
    list_attr_celeba.txt                          count, 40 attribute names, one -1/1 row per image
    list_eval_partition.txt                       "000001.jpg 0" per image: 0 train, 1 valid, 2 test

The synthetic faces of ``disentangle.data.faces`` are written in exactly this layout (plus a
``factors.csv`` with their ground truth), so this one loader reads both.

Before anything is decoded or cached, the files are checked against CelebA's format: the count
on line 1 equals the number of rows, line 2 names the 40 attributes, every row is a file name
and 40 values of -1 or 1, no image is listed twice, the partition lists exactly the attribute
file's images, and every listed image exists. A JPEG that does not decode (truncated, damaged)
stops the decoding. Each problem is one ``UserError`` line naming the file (and line) and the fix.

Preprocessing (recorded by ``describe()`` and so with every model trained on the data):

    crop148  centre crop 148x148 (the face), resized to 64x64: the usual choice for VAEs
    resize   the whole aligned image resized to 64x64 (a squeezed face with background and
             shoulders): what the pre-trained disentangling-vae CelebA checkpoints saw

Both resize with Lanczos filtering; images smaller than 148 pixels (the 64x64 synthetic faces)
are cropped to their shorter side, so both options leave the synthetic faces unchanged.

Decoding a JPEG costs far more than a training step on a 64x64 image, so the first load decodes
every image once (in one thread per core: PIL decodes and resizes without holding the GIL) into
a uint8 (N, 3, 64, 64) ``.npy`` under ``cache_dir()``, which later loads memory-map: one cache
per folder and preprocessing serves every split, and it is rebuilt when the attribute file
changes.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from disentangle.data.base import ImageDataset, check_indices
from disentangle.data.cache import cache_dir as default_cache_dir
from disentangle.errors import UserError
from disentangle.parallel import parallel_map

IMAGE_SIZE = 64
CROP = 148
PREPROCESSING = ("crop148", "resize")
SPLITS = {"train": 0, "valid": 1, "test": 2, "all": None}
ATTRIBUTE_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
IMAGE_FOLDER = "img_align_celeba"
FACTORS_FILE = "factors.csv"
# CelebA's 40 attribute columns, in the order of list_attr_celeba.txt.
CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs",
    "Big_Lips", "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair",
    "Bushy_Eyebrows", "Chubby", "Double_Chin", "Eyeglasses", "Goatee", "Gray_Hair",
    "Heavy_Makeup", "High_Cheekbones", "Male", "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes",
    "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline", "Rosy_Cheeks",
    "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat",
    "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young",
)
_CHUNK = 256  # images per decoding task


def find_celeba_folder(root: str | Path | None) -> Path:
    """The folder holding CelebA's files: ``root``/celeba when it exists, else ``root``;
    ``root`` defaults to $CELEBA_ROOT."""
    if root is None:
        root = os.environ.get("CELEBA_ROOT")
        if not root:
            raise UserError("no CelebA folder given: pass root, the folder holding "
                            "celeba/img_align_celeba, or set $CELEBA_ROOT")
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
    attribute and partition files, each checked against CelebA's format and both against each
    other; anything else is a one-line ``UserError`` naming the file, the line and the fix."""
    files, names, values = _read_attribute_file(folder / ATTRIBUTE_FILE)
    split = _read_partition_file(folder / PARTITION_FILE, files)
    return files, names, (values > 0).astype(np.uint8), split


def _read_attribute_file(path: Path):
    """list_attr_celeba.txt: line 1 the image count, line 2 the 40 attribute names, then one
    row per image: its file name and 40 values of -1 or 1 (right-aligned in two characters, so
    separated by one or two spaces)."""
    import pandas as pd

    with open(path, errors="replace") as file:
        count_line, header = file.readline(), file.readline()
    try:
        declared = int(count_line)
    except ValueError:
        raise UserError(f"{path}, line 1: expected the number of images, found "
                        f"{count_line.strip()[:40]!r}: use CelebA's own {ATTRIBUTE_FILE} (Anno "
                        "folder)") from None
    names = tuple(header.split())
    _check_attribute_names(path, names)
    table = _read_rows(path, skip=2, fields=1 + len(names),
                       row=f"a file name and {len(names)} attribute values")
    if len(table) != declared:
        raise UserError(f"{path} declares {declared} images on its first line but lists "
                        f"{len(table)}: the file is truncated or edited; download it again")
    files = _file_names(path, table)
    values = table.iloc[:, 1:].apply(pd.to_numeric, errors="coerce").to_numpy()
    wrong = np.abs(values) != 1  # also every value that is not a number (NaN)
    if wrong.any():
        row, column = np.argwhere(wrong)[0]
        raise UserError(f"{path}: {names[column]} of {files[row]} is "
                        f"'{table.iat[row, column + 1]}', but attribute values must be -1 or 1: "
                        "the file is damaged; download it again")
    return files, names, values.astype(np.int8)


def _check_attribute_names(path: Path, names: tuple) -> None:
    """The header must name CelebA's 40 attributes, each once (in any order)."""
    problems = [f"{label} {', '.join(found)}" for label, found in (
        ("missing", [name for name in CELEBA_ATTRIBUTES if name not in names]),
        ("unknown", [name for name in names if name not in CELEBA_ATTRIBUTES]),
        ("repeated", sorted({name for name in names if names.count(name) > 1}))) if found]
    if problems:
        raise UserError(f"{path}, line 2: expected CelebA's {len(CELEBA_ATTRIBUTES)} attribute "
                        f"names, found {len(names)} ({'; '.join(problems)}): use CelebA's own "
                        f"{ATTRIBUTE_FILE} (Anno folder)")


def _read_partition_file(path: Path, files: np.ndarray) -> np.ndarray:
    """list_eval_partition.txt: "000001.jpg 0" per image (0 train, 1 valid, 2 test); the split
    of each of ``files`` (the attribute file's images, which it must list exactly)."""
    import pandas as pd

    table = _read_rows(path, skip=0, fields=2, row="a file name and its split (0, 1 or 2)")
    listed = _file_names(path, table)
    known = set(files)
    foreign = [name for name in listed if name not in known]
    if foreign:
        raise UserError(f"{path} names {len(foreign)} image(s) that {ATTRIBUTE_FILE} does not "
                        f"list (first: {foreign[0]}): both files must come from the same CelebA "
                        "release")
    if len(listed) != len(files):
        unsplit = sorted(known - set(listed))
        raise UserError(f"{PARTITION_FILE} lists {len(listed)} images and {ATTRIBUTE_FILE} "
                        f"{len(files)}: {len(unsplit)} images have no split (first: "
                        f"{unsplit[0]}); both files must come from the same CelebA release (in "
                        f"{path.parent})")
    given = table.set_index(0)[1].reindex(files)
    split = pd.to_numeric(given, errors="coerce").to_numpy()
    wrong = ~np.isin(split, (0, 1, 2))
    if wrong.any():
        row = np.flatnonzero(wrong)[0]
        raise UserError(f"{path}: the split of {files[row]} is '{given.iat[row]}', but it must "
                        "be 0 (train), 1 (valid) or 2 (test)")
    return split.astype(np.int8)


def _read_rows(path: Path, skip: int, fields: int, row: str):
    """The whitespace-separated rows of a CelebA list file after its ``skip`` header lines, as
    a DataFrame of ``fields`` columns (file names as strings, nothing read as NaN); a row with
    another number of fields is a ``UserError`` naming its line. ``row`` says what a row
    should hold."""
    import csv

    import pandas as pd

    try:  # one spare column, so that a row with one field too many is seen, not dropped
        table = pd.read_csv(path, sep=r"\s+", skiprows=skip, header=None, dtype={0: str},
                            names=range(fields + 1), quoting=csv.QUOTE_NONE,
                            keep_default_na=False, na_values=[""],  # only absent fields
                            encoding_errors="replace")
    except pd.errors.ParserError:  # a row with two or more fields too many
        table = None
    if table is None or table[fields].notna().any() or table.iloc[:, :fields].isna().any(axis=None):
        raise _width_error(path, skip, fields, row)
    return table.drop(columns=fields)


def _width_error(path: Path, skip: int, fields: int, row: str) -> UserError:
    """The error for a list file whose rows are not all ``fields`` wide: names the first line
    (after ``skip``) of another width."""
    fix = "the file is damaged or not CelebA's; download it again"
    with open(path, errors="replace") as file:
        for number, line in enumerate(file, 1):
            found = len(line.split())
            if number > skip and found not in (0, fields):
                return UserError(f"{path}, line {number}: expected {row}, found {found} fields: "
                                 f"{fix}")
    return UserError(f"{path}: expected {row} on every line: {fix}")


def _file_names(path: Path, table) -> np.ndarray:
    """The first column of ``table`` as file names, each listed once."""
    files = table[0].to_numpy(dtype=str)
    repeated = table[0].duplicated()
    if repeated.any():
        raise UserError(f"{path} lists {files[repeated.to_numpy()][0]} twice: the file is "
                        "damaged or edited; download it again")
    return files


def _check_images_present(folder: Path, files: np.ndarray) -> None:
    """Every image the annotation files list exists in img_align_celeba."""
    images = _image_folder(folder)
    present = set(os.listdir(images))
    missing = [name for name in files if name not in present]
    if missing:
        raise UserError(f"{len(missing)} of the {len(files)} images listed in {ATTRIBUTE_FILE} "
                        f"are missing from {images} (first: {missing[0]}): extract "
                        "img_align_celeba completely")


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
    stamp = (folder / ATTRIBUTE_FILE).stat()
    key = json.dumps([str(folder.resolve()), preprocessing, num_images, stamp.st_size,
                      stamp.st_mtime_ns])
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    base = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return base / "celeba" / f"{preprocessing}-{digest}.npy"


def build_cache(folder: Path, files, preprocessing: str, path: Path,
                workers: int | None = None, progress: bool = False) -> None:
    """Decode every image of ``folder`` (all present: ``load_celeba`` checks) into the uint8
    memory-mappable ``path`` (in ``workers`` threads, default one per core; written under a
    temporary name and renamed when complete, so a damaged image leaves no cache behind)."""
    images = _image_folder(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.partial-{os.getpid()}.npy")
    tasks = [([str(images / name) for name in files[i:i + _CHUNK]], preprocessing)
             for i in range(0, len(files), _CHUNK)]
    try:
        array = np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8,
                                          shape=(len(files), 3, IMAGE_SIZE, IMAGE_SIZE))
        start = 0
        for chunk in parallel_map(_decode_chunk, tasks, workers, total=len(files),
                                  progress=f"decoding CelebA ({preprocessing})" if progress
                                  else None):
            array[start:start + len(chunk)] = chunk
            start += len(chunk)
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
    _check_images_present(folder, files)
    rows = (np.arange(len(files)) if SPLITS[split] is None
            else np.flatnonzero(partition == SPLITS[split]))
    pixels = None
    if cache:
        path = cache_path(folder, preprocessing, len(files), cache_dir)
        if not path.exists():
            build_cache(folder, files, preprocessing, path, workers=workers, progress=progress)
        pixels = np.load(path, mmap_mode="r")
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
