"""dSprites (Matthey et al. 2017), the shapes dataset of the beta-VAE and FactorVAE papers.

737,280 binary 64x64 images, one per combination of five factors (plus a constant colour):

=========== ======= ==================================================
factor      classes values
=========== ======= ==================================================
shape       3       square, ellipse, heart (stored as 1., 2., 3.)
scale       6       ``linspace(0.5, 1, 6)``
orientation 40      ``linspace(0, 2*pi, 40)``: both ends, so 0 == 39
posX, posY  32 each ``linspace(0, 1, 32)``
=========== ======= ==================================================

The original file cannot be downloaded everywhere, so it is rendered here with the geometry
measured on real samples (``../shared/reference/dsprites_samples_10x10.png``):

* a sprite's centre (its rotation centre) lies at ``64 * (0.25 + 0.5 * pos)`` pixels, i.e. it
  moves from 16 to 48 in steps of 32/31 of a pixel (pixel ``i`` covers ``[i, i + 1)``);
* at scale 1 the square's side is 19.2 px, the ellipse's semi-axes are 12.8 x 7.25 px (major
  axis horizontal at orientation 0), and the heart is the curve
  ``x = 16 sin^3 t, y = 13 cos t - 5 cos 2t - 2 cos 3t - cos 4t`` scaled by 0.63 px per unit,
  rotated about the centre of its bounding box;
* orientation turns the sprite counter-clockwise as displayed;
* a pixel is on when its centre lies inside the shape (no anti-aliasing).

Because the position step is 32/31 px, every sub-pixel offset is a multiple of 1/31 px: each
(shape, scale, orientation) sprite is drawn once on a canvas supersampled 31 times, and all
1,024 positions are two vectorised gathers of it (the pixel columns of every posX, packed eight
to a byte, then the pixel rows of every posY), which renders the whole set in a few seconds in
the calling process: no worker process is started.

Images are held bit-packed (8 pixels a byte: 360 MiB for the whole set) and unpacked per batch.
The cache is the original's npz layout (``imgs``, ``latents_classes``, ``latents_values``,
``metadata``) so a real copy and a rendered one are interchangeable, plus a packed sidecar that
loads in about a second.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from disentangle.data.base import GroundTruthDataset, check_indices
from disentangle.data.cache import cache_dir as default_cache_dir
from disentangle.errors import UserError

FILE_NAME = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
ENV_VAR = "DSPRITES_NPZ"
RENDERER_VERSION = 1
LATENT_NAMES = ("color", "shape", "scale", "orientation", "posX", "posY")
LATENT_SIZES = (1, 3, 6, 40, 32, 32)
NUM_IMAGES = int(np.prod(LATENT_SIZES))
IMAGE_SIZE = 64
ROW_BYTES = IMAGE_SIZE * IMAGE_SIZE // 8

# Geometry measured on real samples (see the module docstring).
SQUARE_SIDE = 19.2
ELLIPSE_SEMI_AXES = (12.8, 7.25)
HEART_PIXELS_PER_UNIT = 0.63
POSITION_START, POSITION_RANGE = 16.0, 32.0
SUPERSAMPLE = 31  # position step 32/31 px: all sub-pixel offsets are multiples of 1/31
CANVAS_RADIUS = 15.0  # px; every sprite fits in a disc of this radius around its centre


def latent_values() -> list[np.ndarray]:
    """The value of each class of each latent, in the original's order."""
    return [np.array([1.0]), np.array([1.0, 2.0, 3.0]), np.linspace(0.5, 1, 6),
            np.linspace(0, 2 * np.pi, 40), np.linspace(0, 1, 32), np.linspace(0, 1, 32)]


def metadata() -> dict:
    """The original file's metadata dictionary (same keys, same meaning)."""
    values = latent_values()
    return {
        "date": "April 2017",
        "description": "Disentanglement test Sprites dataset. Procedurally generated 2D shapes, "
                       "from 6 disentangled latent factors. This dataset uses 6 latents, "
                       "controlling the color, shape, scale, rotation and position of a sprite. "
                       "All possible variations of the latents are present. Ordering along "
                       "dimension 1 is fixed and can be mapped back to the exact latent values "
                       "that generated that image. Rendered offline by vae-study.",
        "version": 1,
        "latents_names": LATENT_NAMES,
        "latents_possible_values": dict(zip(LATENT_NAMES, values)),
        "latents_sizes": np.array(LATENT_SIZES),
        "author": "lmatthey@google.com (original); rendered by vae-study renderer "
                  f"v{RENDERER_VERSION}",
        "title": "dSprites dataset",
    }


def _outline(shape: int, scale: float, orientation: float) -> np.ndarray:
    """Vertices (V, 2) of a sprite in pixels (x right, y down) around its rotation centre."""
    if shape == 0:
        half = SQUARE_SIDE * scale / 2
        points = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
    elif shape == 1:
        t = np.linspace(0, 2 * np.pi, 720, endpoint=False)
        points = np.stack([ELLIPSE_SEMI_AXES[0] * np.cos(t),
                           ELLIPSE_SEMI_AXES[1] * np.sin(t)], axis=1) * scale
    else:
        t = np.linspace(0, 2 * np.pi, 720, endpoint=False)
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        y -= (y.max() + y.min()) / 2  # rotate about the bounding box's centre
        points = np.stack([x, y], axis=1) * HEART_PIXELS_PER_UNIT * scale
    # Counter-clockwise as displayed (y points down).
    cos, sin = np.cos(orientation), np.sin(orientation)
    return points @ np.array([[cos, -sin], [sin, cos]])


def _sample_offsets() -> np.ndarray:
    """Canvas index of every (position class, pixel) pair: (32, 64) ints."""
    # Pixel j's centre relative to the sprite centre, in 1/31 px: 31 j + 15.5 - 31*16 - 32 k.
    k = np.arange(LATENT_SIZES[4])[:, None]
    j = np.arange(IMAGE_SIZE)[None, :]
    return SUPERSAMPLE * j - 32 * k - SUPERSAMPLE * int(POSITION_START) + SUPERSAMPLE // 2


def render_sprite_block(shape: int, scale: float, orientation: float) -> np.ndarray:
    """All 32x32 positions of one sprite, bit-packed: uint8 (1024, 512), posY fastest."""
    from PIL import Image, ImageDraw

    radius = int(np.ceil(CANVAS_RADIUS * SUPERSAMPLE))
    size = 2 * radius + 2  # the last row and column stay empty: out-of-canvas reads land there
    canvas = Image.new("1", (size, size), 0)
    # Canvas pixel X samples the point (X - radius + 0.5) / 31 px from the centre, and PIL
    # treats pixel X as the point X, so shift the outline by radius - 0.5 canvas pixels.
    vertices = _outline(shape, scale, orientation) * SUPERSAMPLE + radius - 0.5
    ImageDraw.Draw(canvas).polygon([tuple(v) for v in vertices], fill=1)
    canvas = np.asarray(canvas, dtype=bool)
    index = _sample_offsets() + radius
    index = np.where((index >= 0) & (index < size - 1), index, size - 1)
    # columns[canvas row, x, byte]: the 64 pixel columns of posX x, packed 8 to a byte.
    columns = np.packbits(canvas.take(index.ravel(), axis=1).reshape(size, *index.shape),
                          axis=-1)
    # block[x, y, row, byte] = columns[row index of y, x, byte]
    return columns[index].transpose(2, 0, 1, 3).reshape(-1, ROW_BYTES)


def render_packed(progress: bool = False) -> np.ndarray:
    """Render all 737,280 images, bit-packed: uint8 (737280, 512) in the original's order."""
    from tqdm import tqdm

    scales, orientations = latent_values()[2], latent_values()[3]
    sprites = [(shape, scale, angle) for shape in range(3) for scale in scales
               for angle in orientations]
    packed = np.empty((NUM_IMAGES, ROW_BYTES), dtype=np.uint8)
    per_sprite = NUM_IMAGES // len(sprites)
    for number, sprite in enumerate(tqdm(sprites, desc="rendering dSprites", unit="sprite",
                                         disable=not progress)):
        packed[number * per_sprite:(number + 1) * per_sprite] = render_sprite_block(*sprite)
    return packed


def latents_classes() -> np.ndarray:
    """(737280, 6) int64 classes of every image, posY fastest (the original's order)."""
    grids = np.meshgrid(*[np.arange(n) for n in LATENT_SIZES], indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)


class DSprites(GroundTruthDataset):
    """dSprites as a ground-truth dataset of 5 factors (the constant colour is left out,
    as in disentanglement_lib). Observations are float32 (N, 1, 64, 64) in {0, 1}."""

    name = "dsprites"
    factor_names = ("shape", "scale", "orientation", "posX", "posY")

    def __init__(self, packed: np.ndarray, source: str):
        if packed.shape != (NUM_IMAGES, ROW_BYTES) or packed.dtype != np.uint8:
            raise UserError(f"packed dSprites must be uint8 {(NUM_IMAGES, ROW_BYTES)}, got "
                            f"{packed.dtype} {packed.shape}: delete the cache and run "
                            "`vae-study data dsprites --force`")
        self.packed = packed
        self.source = source
        self._device_copies = {}   # torch device -> the packed images there

    @property
    def factors_num_values(self) -> tuple[int, ...]:
        return LATENT_SIZES[1:]

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return (1, IMAGE_SIZE, IMAGE_SIZE)

    def images(self, indices: np.ndarray) -> np.ndarray:
        indices = check_indices(indices, NUM_IMAGES)
        bits = np.unpackbits(self.packed[indices], axis=1)
        return bits.reshape(len(indices), 1, IMAGE_SIZE, IMAGE_SIZE).astype(np.float32)

    def torch_images(self, indices):
        """``images`` as a torch tensor on ``indices``' device: the bit-packed images (377 MB)
        are put there once (on the CPU without a copy) and each batch is gathered and unpacked
        there, so on a GPU the host does not feed the training steps."""
        import torch

        packed = self._device_copies.get(indices.device)
        if packed is None:
            packed = torch.from_numpy(self.packed).to(indices.device)
            self._device_copies[indices.device] = packed
        shifts = torch.arange(7, -1, -1, device=indices.device, dtype=torch.uint8)
        bits = (packed[indices].unsqueeze(-1) >> shifts) & 1
        return bits.reshape(len(indices), 1, IMAGE_SIZE, IMAGE_SIZE).float()

    def describe(self) -> dict:
        return {**super().describe(), "source": self.source}


# --------------------------------------------------------------------------- files and cache


def _read_npy_member(archive: zipfile.ZipFile, key: str):
    """Open ``key``.npy inside an npz; returns (stream, shape, dtype) without reading data."""
    name = f"{key}.npy"
    if name not in archive.namelist():
        raise UserError(f"{archive.filename} has no '{key}' array (keys: "
                        f"{', '.join(n[:-4] for n in archive.namelist())}): it is not the "
                        f"dSprites file {FILE_NAME}")
    stream = archive.open(name)
    version = np.lib.format.read_magic(stream)
    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                   else np.lib.format.read_array_header_2_0)
    shape, fortran, dtype = read_header(stream)
    if fortran:
        raise UserError(f"'{key}' in {archive.filename} is Fortran-ordered; re-save it in C order")
    return stream, shape, dtype


def _read_exact(stream, size: int, path: Path, key: str) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise UserError(f"{path} is truncated inside '{key}': download {FILE_NAME} again")
    return data


def pack_npz(path: Path, progress: bool = False) -> np.ndarray:
    """Validate a dSprites npz (real or ours) and bit-pack its images chunk by chunk, so the
    3 GB of uint8 images never sit in memory at once."""
    from tqdm import tqdm

    path = Path(path)
    if not path.is_file():
        raise UserError(f"dSprites file {path} does not exist: pass the path of {FILE_NAME} "
                        f"as npz or in ${ENV_VAR}, or give neither to render it offline")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise UserError(f"{path} is not a readable npz file ({error}): download {FILE_NAME} "
                        "again") from None
    with archive:
        expected = {"imgs": ((NUM_IMAGES, IMAGE_SIZE, IMAGE_SIZE), np.uint8),
                    "latents_classes": ((NUM_IMAGES, 6), np.int64)}
        for key, (shape, dtype) in expected.items():
            _, found_shape, found_dtype = _read_npy_member(archive, key)
            if tuple(found_shape) != shape or np.dtype(found_dtype) != dtype:
                raise UserError(f"'{key}' in {path} is {found_dtype} {found_shape}, expected "
                                f"{np.dtype(dtype)} {shape}: this is not the full dSprites file")
        stream, _, _ = _read_npy_member(archive, "latents_classes")
        classes = np.frombuffer(_read_exact(stream, NUM_IMAGES * 6 * 8, path, "latents_classes"),
                                dtype=np.int64).reshape(NUM_IMAGES, 6)
        if not np.array_equal(classes, latents_classes()):
            raise UserError(f"latents_classes in {path} are not in dSprites' order (posY fastest)"
                            ": the file is not the original dSprites")
        stream, _, _ = _read_npy_member(archive, "imgs")
        packed = np.empty((NUM_IMAGES, ROW_BYTES), dtype=np.uint8)
        chunk = 16384
        for start in tqdm(range(0, NUM_IMAGES, chunk), desc="packing dSprites", unit="chunk",
                          disable=not progress):
            count = min(chunk, NUM_IMAGES - start)
            raw = _read_exact(stream, count * IMAGE_SIZE * IMAGE_SIZE, path, "imgs")
            block = np.frombuffer(raw, dtype=np.uint8).reshape(count, -1)
            if block.max(initial=0) > 1:
                raise UserError(f"'imgs' in {path} holds values other than 0 and 1: not dSprites")
            packed[start:start + count] = np.packbits(block, axis=1)
    return packed


def write_npz(path: Path, packed: np.ndarray) -> None:
    """Write images in the original npz layout (same keys, dtypes and shapes), streaming the
    unpacked images through the zip so memory stays small. Atomic: temp file, then rename."""
    path = Path(path)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.partial")
    arrays = {"latents_classes": latents_classes(),
              "latents_values": np.stack([values[classes] for values, classes in
                                          zip(latent_values(), latents_classes().T)], axis=1),
              "metadata": np.array(metadata(), dtype=object)}
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED,
                         compresslevel=1) as archive:
        with archive.open("imgs.npy", "w", force_zip64=True) as stream:
            header = {"descr": "|u1", "fortran_order": False,
                      "shape": (NUM_IMAGES, IMAGE_SIZE, IMAGE_SIZE)}
            np.lib.format.write_array_header_1_0(stream, header)
            for start in range(0, NUM_IMAGES, 16384):
                stream.write(np.unpackbits(packed[start:start + 16384], axis=1).tobytes())
        for key, array in arrays.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as stream:
                np.lib.format.write_array(stream, array, allow_pickle=True)
    os.replace(temporary, path)


def _save_atomic(path: Path, array: np.ndarray) -> None:
    temporary = path.with_name(f"{path.name}.{os.getpid()}.partial.npy")
    np.save(temporary, array)
    os.replace(temporary, path)


def load_dsprites(npz: str | Path | None = None, cache_dir: str | Path | None = None,
                  force: bool = False, progress: bool = False) -> DSprites:
    """dSprites from the cache, else from the user's npz (``npz`` or $DSPRITES_NPZ), else
    rendered offline. The first call caches a packed copy (and, when rendered, an npz in the
    original layout); later calls load the packed copy in about a second."""
    folder = Path(cache_dir or default_cache_dir()) / "dsprites"
    npz = npz or os.environ.get(ENV_VAR) or None
    if npz is not None:
        npz = Path(npz).expanduser().absolute()
        stat = npz.stat() if npz.is_file() else None
        key = f"user-{stat.st_size}-{int(stat.st_mtime)}" if stat else "missing"
        source = str(npz)
    else:
        key = f"rendered-v{RENDERER_VERSION}"
        source = f"rendered offline (renderer v{RENDERER_VERSION})"
    packed_path = folder / f"imgs_packed_{key}.npy"
    if packed_path.is_file() and not force:
        return DSprites(np.load(packed_path), source=source)
    folder.mkdir(parents=True, exist_ok=True)
    if npz is not None:
        packed = pack_npz(npz, progress=progress)
    else:
        packed = render_packed(progress=progress)
        write_npz(folder / FILE_NAME, packed)
    _save_atomic(packed_path, packed)
    (folder / "source.json").write_text(json.dumps({"source": source, "packed": packed_path.name}))
    return DSprites(packed, source=source)
