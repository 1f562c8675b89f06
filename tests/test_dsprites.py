"""dSprites: factor layout, the npz format, fidelity to the real dataset, and bad files."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from disentangle.data import get_dataset
from disentangle.data.dsprites import (
    FILE_NAME,
    LATENT_SIZES,
    NUM_IMAGES,
    latent_values,
    latents_classes,
    load_dsprites,
    pack_npz,
    render_packed,
    render_sprite_block,
)
from disentangle.data.images import load_image_grid
from disentangle.errors import UserError
from study.cli import main

REFERENCE = (Path(__file__).resolve().parents[2] / "shared" / "reference"
             / "dsprites_samples_10x10.png")
#: sha256 of the rendered set, bit-packed (uint8 (737280, 512)), as renderer v1 made it with a
#: pool of spawned processes before its render was vectorised: the bytes must never change.
RENDERED_SHA256 = "a0a97e7f9f272f885b959ade2f54de86c78ef716c1fa5cbd8ff8603b666e8be8"


@pytest.fixture(scope="module")
def dsprites():
    return get_dataset("dsprites")


def test_factors_are_the_originals_in_mixed_radix_order(dsprites):
    assert dsprites.num_factors == 5
    assert dsprites.factors_num_values == (3, 6, 40, 32, 32)
    assert len(dsprites) == NUM_IMAGES == 737_280
    classes = latents_classes()
    assert classes.shape == (NUM_IMAGES, 6)
    # posY varies fastest, then posX, orientation, scale, shape.
    assert classes[1].tolist() == [0, 0, 0, 0, 0, 1]
    assert classes[32].tolist() == [0, 0, 0, 0, 1, 0]
    assert classes[32 * 32 * 40 * 6].tolist() == [0, 1, 0, 0, 0, 0]
    np.testing.assert_array_equal(dsprites.factors_to_index(classes[:, 1:]), np.arange(NUM_IMAGES))
    rows = np.random.RandomState(0).randint(0, NUM_IMAGES, 1000)
    np.testing.assert_array_equal(dsprites.index_to_factors(rows), classes[rows, 1:])
    values = latent_values()
    np.testing.assert_allclose(values[2], [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    assert values[3][0] == 0 and values[3][-1] == pytest.approx(2 * np.pi)
    np.testing.assert_allclose(values[4], np.linspace(0, 1, 32))


def test_observations_are_binary_float_batches(dsprites):
    factors, images = dsprites.sample(64, np.random.RandomState(1))
    assert factors.shape == (64, 5) and images.shape == (64, 1, 64, 64)
    assert images.dtype == np.float32 and set(np.unique(images)) <= {0.0, 1.0}
    again = dsprites.sample_observations_from_factors(factors, np.random.RandomState(2))
    np.testing.assert_array_equal(images, again)
    assert (images.sum((1, 2, 3)) > 20).all()  # every image shows a sprite


def test_torch_batches_unpack_the_same_images_on_the_tensors_device(dsprites):
    """The training hot path (``torch_images``: bits gathered and unpacked by torch where the
    indices are, e.g. on the GPU) gives exactly the images of the numpy path."""
    import torch

    indices = np.random.RandomState(1).randint(0, len(dsprites), 300)
    batch = dsprites.torch_images(torch.from_numpy(indices))
    assert batch.dtype == torch.float32 and batch.device.type == "cpu"
    assert np.array_equal(batch.numpy(), dsprites.images(indices))


def test_factors_move_the_sprite_as_named(dsprites):
    base = np.array([[0, 5, 0, 10, 10]])
    def centroid(factors):
        image = dsprites.sample_observations_from_factors(factors, None)[0, 0]
        rows, cols = np.nonzero(image)
        return rows.mean(), cols.mean(), image.sum()
    row, col, area = centroid(base)
    assert (row, col) == pytest.approx((16 + 10 * 32 / 31 - 0.5,) * 2, abs=0.2)
    right = centroid(base + [0, 0, 0, 20, 0])
    assert right[1] - col == pytest.approx(20 * 32 / 31, abs=0.2) and right[0] == pytest.approx(row)
    down = centroid(base + [0, 0, 0, 0, 20])
    assert down[0] - row == pytest.approx(20 * 32 / 31, abs=0.2)
    smaller = centroid(base - [0, 5, 0, 0, 0])
    assert smaller[2] / area == pytest.approx(0.25, abs=0.03)  # scale 0.5 -> a quarter the area
    # Orientation 0 and 39 are both 0 and 2*pi: the same image.
    first = dsprites.sample_observations_from_factors(np.array([[2, 3, 0, 5, 9]]), None)
    last = dsprites.sample_observations_from_factors(np.array([[2, 3, 39, 5, 9]]), None)
    np.testing.assert_array_equal(first, last)


def test_rendered_sprites_match_real_dsprites(dsprites):
    """For each real tile, the best rendered image among those of similar centroid and area."""
    if not REFERENCE.is_file():
        pytest.skip("../shared/reference is absent")
    real = load_image_grid(REFERENCE, channels=1)[:, 0] > 0.5
    rows, cols = np.mgrid[:64, :64]
    weights = np.stack([np.ones(4096), rows.ravel(), cols.ravel()], 1).astype(np.float32)
    stats = np.concatenate([np.unpackbits(dsprites.packed[s:s + 65536], axis=1) @ weights
                            for s in range(0, NUM_IMAGES, 65536)])
    area, centre = stats[:, 0], stats[:, 1:] / np.maximum(stats[:, :1], 1)
    ious = []
    for tile in real:
        tile_area = tile.sum()
        tile_centre = np.array([(tile * rows).sum(), (tile * cols).sum()]) / tile_area
        candidates = np.nonzero((np.abs(centre - tile_centre) < 1.5).all(1)
                                & (np.abs(area - tile_area) < 0.2 * tile_area))[0]
        assert len(candidates), "no rendered image near a real tile's centroid and area"
        images = dsprites.images(candidates)[:, 0] > 0.5
        ious.append(((images & tile).sum((1, 2)) / (images | tile).sum((1, 2))).max())
    assert np.mean(ious) >= 0.90, f"mean IoU {np.mean(ious):.3f}"
    assert np.min(ious) >= 0.75


def test_cache_is_the_original_npz_layout_and_round_trips(dsprites):
    from disentangle.data import cache_dir

    path = cache_dir() / "dsprites" / FILE_NAME
    assert path.is_file()
    with np.load(path, allow_pickle=True) as npz:
        assert set(npz.files) == {"imgs", "latents_classes", "latents_values", "metadata"}
        metadata = npz["metadata"][()]
        assert tuple(metadata["latents_sizes"]) == LATENT_SIZES
        assert npz["latents_values"].shape == (NUM_IMAGES, 6)
        np.testing.assert_allclose(npz["latents_values"][32 * 32 * 40 * 6 + 33],
                                   [1, 2, 0.5, 0, 1 / 31, 1 / 31])


def test_real_npz_from_environment_variable_loads_the_same_images(dsprites, tmp_path,
                                                                   monkeypatch):
    """Our cached npz read back as if it were the user's real file: the very same images."""
    from disentangle.data import cache_dir

    copy = tmp_path / FILE_NAME
    copy.symlink_to(cache_dir() / "dsprites" / FILE_NAME)
    monkeypatch.setenv("DSPRITES_NPZ", str(copy))
    loaded = load_dsprites(cache_dir=tmp_path / "cache")
    assert loaded.source == str(copy)
    np.testing.assert_array_equal(loaded.packed, dsprites.packed)
    assert load_dsprites(cache_dir=tmp_path / "cache").source == str(copy)  # from the cache


def test_bad_npz_files_fail_clearly(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        pack_npz(tmp_path / "missing.npz")
    not_zip = tmp_path / "junk.npz"
    not_zip.write_bytes(b"not a zip file at all")
    with pytest.raises(UserError, match="not a readable npz"):
        pack_npz(not_zip)
    wrong_keys = tmp_path / "wrong_keys.npz"
    np.savez(wrong_keys, images=np.zeros((2, 64, 64), np.uint8))
    with pytest.raises(UserError, match="no 'imgs' array"):
        pack_npz(wrong_keys)
    wrong_shape = tmp_path / "wrong_shape.npz"
    np.savez(wrong_shape, imgs=np.zeros((10, 64, 64), np.uint8),
             latents_classes=np.zeros((10, 6), np.int64))
    with pytest.raises(UserError, match="not the full dSprites"):
        pack_npz(wrong_shape)


def test_truncated_npz_fails_clearly(tmp_path):
    # A full-size npz cut short: only the headers and the first part of the images survive.
    path = tmp_path / "truncated.npz"
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open("latents_classes.npy", "w", force_zip64=True) as stream:
            np.lib.format.write_array(stream, latents_classes())
        with archive.open("imgs.npy", "w", force_zip64=True) as stream:
            np.lib.format.write_array_header_1_0(
                stream, {"descr": "|u1", "fortran_order": False, "shape": (NUM_IMAGES, 64, 64)})
            stream.write(np.zeros(5 * 4096, np.uint8).tobytes())
    with pytest.raises(UserError, match="truncated"):
        pack_npz(path)


def test_the_render_is_byte_identical_to_renderer_v1():
    assert hashlib.sha256(render_packed()).hexdigest() == RENDERED_SHA256


def test_a_render_killed_midway_leaves_no_file(tmp_path):
    """The render runs in the calling process and writes nothing before it is complete: a
    process killed (SIGKILL) in the middle of it leaves the cache without any file."""
    script = ("import os, signal\n"
              "import disentangle.data.dsprites as dsprites\n"
              "draw, calls = dsprites.render_sprite_block, []\n"
              "def dying(*sprite):\n"
              "    calls.append(sprite)\n"
              "    if len(calls) == 100:\n"
              "        os.kill(os.getpid(), signal.SIGKILL)\n"
              "    return draw(*sprite)\n"
              "dsprites.render_sprite_block = dying\n"
              f"dsprites.load_dsprites(cache_dir={str(tmp_path)!r})\n")
    environment = {key: value for key, value in os.environ.items() if key != "DSPRITES_NPZ"}
    process = subprocess.run([sys.executable, "-c", script], env=environment, timeout=300)
    assert process.returncode == -9
    assert not [path for path in tmp_path.rglob("*") if path.is_file()]


def test_sprite_block_layout_puts_posy_fastest():
    block = np.unpackbits(render_sprite_block(0, 1.0, 0.0), axis=1).reshape(32, 32, 64, 64)
    rows = [np.nonzero(block[0, y].any(1))[0].mean() for y in (0, 31)]
    cols = [np.nonzero(block[x, 0].any(0))[0].mean() for x in (0, 31)]
    assert rows[1] - rows[0] == pytest.approx(32, abs=0.6)
    assert cols[1] - cols[0] == pytest.approx(32, abs=0.6)


def test_cli_writes_a_sample_grid(dsprites, tmp_path, capsys):
    assert main(["data", "dsprites", "--out", str(tmp_path)]) == 0
    grid = load_image_grid(tmp_path / "dsprites_samples.png", channels=1)
    assert grid.shape == (100, 1, 64, 64) and grid.max() == 1.0
    assert "737,280 images" in capsys.readouterr().out


def test_cli_rejects_a_bad_npz_with_one_line(tmp_path, capsys):
    assert main(["data", "dsprites", "--npz", str(tmp_path / "nope.npz"),
                 "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("vae-study: error:") and "\n" not in error and "nope.npz" in error
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["VAE_dsprites", "betaH_dsprites", "factor_dsprites",
                                  "btcvae_dsprites"])
def test_pretrained_models_reconstruct_rendered_images_as_well_as_real_ones(dsprites, name):
    """Models trained on the real dSprites see our rendering as the same data."""
    import torch

    from disentangle.models import load_model

    folder = REFERENCE.parents[1] / "pretrained" / "disentangling-vae" / name
    if not folder.is_dir() or not REFERENCE.is_file():
        pytest.skip("../shared is absent")
    model = load_model(folder)

    def loss(images):
        images = torch.from_numpy(images)
        with torch.no_grad():
            recon = model.decode(model.encode(images)[0]).clamp(1e-6, 1 - 1e-6)
        return torch.nn.functional.binary_cross_entropy(recon, images, reduction="none").sum(
            (1, 2, 3)).mean().item()

    real = loss(load_image_grid(REFERENCE, channels=1))
    rendered = loss(dsprites.sample(100, np.random.RandomState(0))[1])
    assert rendered < 1.25 * real and real < 1.25 * rendered, (real, rendered)
