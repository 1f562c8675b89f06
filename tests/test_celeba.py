"""CelebA on tiny trees in its exact layout built here: the loader (attributes, splits,
preprocessing, the decoded cache), `vae-study data celeba` (its sample grid, and one clear line
and exit code 2 with nothing written for every kind of broken tree), and the celeba preset
training through a real sweep."""

import json
import math
import re

import numpy as np
import pytest
from PIL import Image

from disentangle.data import celeba, get_dataset
from disentangle.data.celeba import CELEBA_ATTRIBUTES, load_celeba
from disentangle.data.images import load_image_grid
from disentangle.errors import UserError
from study.cli import main

NUM = 7
SPLITS = [0, 0, 0, 0, 1, 1, 2]


def write_tree(root, num=NUM, splits=SPLITS, seed=0):
    """A CelebA tree in torchvision's layout: 178x218 JPEGs with a distinct colour block each,
    random -1/1 attributes in CelebA's exact file format (line 1 the count, line 2 the 40 names
    with a trailing space, then the file name and the values right-aligned in two characters:
    one space before -1, two before 1)."""
    folder = root / "celeba"
    images = folder / "img_align_celeba"
    images.mkdir(parents=True)
    random_state = np.random.RandomState(seed)
    names = [f"{i:06d}.jpg" for i in range(1, num + 1)]
    for i, name in enumerate(names):
        pixels = np.full((218, 178, 3), 40 * i % 256, np.uint8)
        pixels[35:183, 15:163] = [200, 30 * i % 256, 90]  # the centre 148x148 crop
        Image.fromarray(pixels).save(images / name, quality=95)
    values = random_state.choice([-1, 1], size=(num, 40))
    lines = [str(num), " ".join(CELEBA_ATTRIBUTES) + " "]
    lines += [name + " " + " ".join(f"{v:2d}" for v in row) for name, row in zip(names, values)]
    (folder / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    (folder / "list_eval_partition.txt").write_text(
        "".join(f"{name} {s}\n" for name, s in zip(names, splits)))
    return folder, (values > 0).astype(np.uint8)


@pytest.fixture
def tree(tmp_path):
    folder, attributes = write_tree(tmp_path)
    return tmp_path, folder, attributes


def test_attributes_splits_and_both_roots(tree, tmp_path):
    root, folder, attributes = tree
    for given in (root, folder):  # the folder holding celeba/, or celeba/ itself
        data = load_celeba(given, split="all", cache_dir=tmp_path / "cache")
        assert data.attribute_names == CELEBA_ATTRIBUTES
        assert data.attributes.dtype == np.uint8 and np.array_equal(data.attributes, attributes)
    for split, rows in (("train", [0, 1, 2, 3]), ("valid", [4, 5]), ("test", [6])):
        data = get_dataset("celeba", root=root, split=split, cache_dir=tmp_path / "cache")
        assert len(data) == len(rows) and np.array_equal(data.attributes, attributes[rows])
        assert list(data.files) == [f"{i + 1:06d}.jpg" for i in rows]
        assert data.factors is None  # real CelebA has no ground-truth factors
        assert data.describe()["split"] == split


def test_preprocessing_crops_the_face_or_resizes_the_whole_image(tree, tmp_path):
    root, folder, _ = tree
    crop = load_celeba(root, preprocessing="crop148", split="all", cache_dir=tmp_path / "c")
    whole = load_celeba(root, preprocessing="resize", split="all", cache_dir=tmp_path / "c")
    assert crop.describe()["preprocessing"] == "crop148"
    assert whole.describe()["preprocessing"] == "resize"
    for data in (crop, whole):
        images = data.images(np.arange(NUM))
        assert images.shape == (NUM, 3, 64, 64) and images.dtype == np.float32
    face = crop.images([2])[0]  # the crop is all colour block: red 200
    assert abs(face[0].mean() - 200 / 255) < 0.03 and face[0].std() < 0.03
    framed = whole.images([2])[0]  # the whole image shows the grey border above and below
    assert abs(framed[0, :5].mean() - 80 / 255) < 0.03 and abs(framed[0, 32, 32] - 200 / 255) < 0.03
    reference = Image.open(folder / "img_align_celeba" / "000003.jpg").resize((64, 64),
                                                                            Image.LANCZOS)
    assert np.abs(framed - np.asarray(reference).transpose(2, 0, 1) / 255).max() < 1e-6


def test_cache_is_memory_mapped_built_once_and_equal_to_decoding(tree, tmp_path, monkeypatch):
    root, folder, _ = tree
    cache = tmp_path / "cache"
    decoded = load_celeba(root, split="all", cache=False)
    assert not decoded.cached
    monkeypatch.setattr(celeba, "_CHUNK", 3)  # three tasks for two worker processes
    cached = load_celeba(root, split="all", cache_dir=cache, workers=2)
    files = list((cache / "celeba").glob("*.npy"))
    assert cached.cached and len(files) == 1 and isinstance(cached._pixels, np.memmap)
    indices = np.array([6, 0, 3, 3])
    assert np.array_equal(cached.images(indices), decoded.images(indices))
    stamp = files[0].stat().st_mtime_ns
    test = load_celeba(root, split="test", cache_dir=cache)  # every split shares the cache
    assert files[0].stat().st_mtime_ns == stamp
    assert np.array_equal(test.images([0]), decoded.images([6]))
    # A changed attribute file (a regenerated tree) gets a fresh cache.
    path = folder / "list_attr_celeba.txt"
    path.write_text(path.read_text() + "\n")
    load_celeba(root, split="all", cache_dir=cache)
    assert len(list((cache / "celeba").glob("*.npy"))) == 2


def test_crlf_line_endings_read_like_the_original(tree, tmp_path):
    root, folder, attributes = tree
    before = load_celeba(root, split="all", cache=False)
    for name in ("list_attr_celeba.txt", "list_eval_partition.txt"):
        path = folder / name
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    after = load_celeba(root, split="all", cache=False)
    assert after.attribute_names == CELEBA_ATTRIBUTES
    assert np.array_equal(after.attributes, attributes)
    assert np.array_equal(after.partition, before.partition)
    assert list(after.files) == list(before.files)


def test_missing_or_wrong_roots_and_options(tmp_path, monkeypatch):
    monkeypatch.delenv("CELEBA_ROOT", raising=False)
    with pytest.raises(UserError, match="no CelebA folder given"):
        load_celeba(None)
    with pytest.raises(UserError, match="does not exist"):
        load_celeba(tmp_path / "nowhere")
    with pytest.raises(UserError, match="no CelebA in"):
        load_celeba(tmp_path)
    with pytest.raises(UserError, match="preprocessing"):
        load_celeba(tmp_path, preprocessing="centre")
    with pytest.raises(UserError, match="split"):
        load_celeba(tmp_path, split="validation")
    write_tree(tmp_path)
    monkeypatch.setenv("CELEBA_ROOT", str(tmp_path))
    assert len(load_celeba(split="valid", cache=False)) == 2


def test_command_checks_caches_and_writes_a_grid_of_the_images(tmp_path, capsys):
    root, cache, out = tmp_path / "data", tmp_path / "cache", tmp_path / "samples"
    write_tree(root, num=12, splits=[0] * 8 + [1] * 2 + [2] * 2)
    code = main(["data", "celeba", "--root", str(root), "--out", str(out),
                 "--cache-dir", str(cache), "--preprocessing", "resize", "--workers", "1"])
    assert code == 0
    assert "12 images (train 8, valid 2, test 2), 40 attributes" in capsys.readouterr().out
    assert len(list(cache.rglob("*.npy"))) == 1
    grid = Image.open(out / "celeba_resize_samples.png")
    assert grid.mode == "RGB" and grid.size == (2 + 10 * 66, 2 + 2 * 66)  # 12 tiles, 10 a row
    pixels = np.asarray(grid, dtype=np.float32) / 255
    assert pixels.std() > 0.1  # not blank
    tiles = load_image_grid(out / "celeba_resize_samples.png")
    assert tiles.shape == (20, 3, 64, 64)
    # all 12 images (the grid shows up to 100), in file order, as decoded from the JPEGs
    decoded = load_celeba(root, preprocessing="resize", split="all", cache=False)
    assert np.abs(tiles[:12] - decoded.images(np.arange(12))).max() <= 0.5 / 255 + 1e-6
    assert (tiles[12:] == 1).all()  # the rest of the last row is the white background
    distances = np.abs(tiles[:12, None] - tiles[None, :12]).mean(axis=(2, 3, 4))
    assert (distances + np.eye(12) > 0.02).all()  # twelve different images


def _replace(folder, name, old, new):
    path = folder / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _keep_lines(folder, name, keep):
    path = folder / name
    path.write_text("".join(keep(path.read_text().splitlines(True))))


def _truncate(path):
    path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])


ATTRIBUTES, PARTITION = "list_attr_celeba.txt", "list_eval_partition.txt"
BROKEN_TREES = {
    "missing attribute file": (lambda f: (f / ATTRIBUTES).unlink(),
                               "list_attr_celeba.txt is missing: copy it from CelebA's Anno"),
    "missing partition file": (lambda f: (f / PARTITION).unlink(),
                               "list_eval_partition.txt is missing"),
    "count line not a number": (lambda f: _replace(f, ATTRIBUTES, "7\n", "seven\n"),
                                "line 1: expected the number of images, found 'seven'"),
    "count line disagrees": (lambda f: _replace(f, ATTRIBUTES, "7\n", "9\n"),
                             "declares 9 images on its first line but lists 7"),
    "header lacks a name": (lambda f: _replace(f, ATTRIBUTES, " Young", ""),
                            r"line 2: expected CelebA's 40 attribute names, found 39 "
                            r"\(missing Young\)"),
    "header has an unknown name": (lambda f: _replace(f, ATTRIBUTES, "Smiling", "Smile"),
                                   r"found 40 \(missing Smiling; unknown Smile\)"),
    "header repeats a name": (lambda f: _replace(f, ATTRIBUTES, "Young", "Male"),
                              r"\(missing Young; repeated Male\)"),
    "row with a value too many": (lambda f: _replace(f, ATTRIBUTES, "000003.jpg", "000003.jpg  1"),
                                  "list_attr_celeba.txt, line 5: expected a file name and 40 "
                                  "attribute values, found 42 fields"),
    "row with a value missing": (lambda f: _keep_lines(f, ATTRIBUTES, lambda lines: lines[:5] + [
        lines[5].rstrip()[:-2] + "\n"] + lines[6:]),
        "line 6: expected a file name and 40 attribute values, found 40 fields"),
    "value 0": (lambda f: _keep_lines(f, ATTRIBUTES, lambda lines: lines[:3] + [
        "000002.jpg  0" + lines[3][len("000002.jpg -1"):]] + lines[4:]),
        "5_o_Clock_Shadow of 000002.jpg is '0', but attribute values must be -1 or 1"),
    "value not a number": (lambda f: _keep_lines(f, ATTRIBUTES, lambda lines: lines[:8] + [
        lines[8].rstrip()[:-2] + "NA\n"]),
        "Young of 000007.jpg is 'NA', but attribute values must be -1 or 1"),
    "image listed twice": (lambda f: _replace(f, ATTRIBUTES, "000003.jpg", "000002.jpg"),
                           "list_attr_celeba.txt lists 000002.jpg twice"),
    "partition names an unlisted image": (
        lambda f: _keep_lines(f, PARTITION, lambda lines: lines + ["000008.jpg 0\n"]),
        r"names 1 image\(s\) that list_attr_celeba.txt does not list \(first: 000008.jpg\)"),
    "partition lacks images": (
        lambda f: _keep_lines(f, PARTITION, lambda lines: lines[:5]),
        r"lists 5 images and list_attr_celeba.txt 7: 2 images have no split \(first: "
        r"000006.jpg\)"),
    "partition with an unknown split": (lambda f: _replace(f, PARTITION, "000002.jpg 0",
                                                           "000002.jpg 3"),
                                        "the split of 000002.jpg is '3', but it must be 0"),
    "partition names a missing image": (
        lambda f: (f / "img_align_celeba" / "000004.jpg").unlink(),
        "1 of the 7 images listed in list_attr_celeba.txt are missing from .*first: 000004.jpg"),
    "truncated JPEG": (lambda f: _truncate(f / "img_align_celeba" / "000005.jpg"),
                       r"cannot read image .*000005.jpg \(image file is truncated"),
    "not a JPEG": (lambda f: (f / "img_align_celeba" / "000006.jpg").write_bytes(b"not a jpeg"),
                   "cannot read image .*000006.jpg .*extract img_align_celeba again"),
}


@pytest.mark.parametrize("change, message", BROKEN_TREES.values(), ids=BROKEN_TREES.keys())
def test_broken_trees_fail_in_one_line_with_exit_2_and_nothing_written(
        tmp_path, change, message, monkeypatch, capsys):
    root, cache, out = tmp_path / "data", tmp_path / "cache", tmp_path / "samples"
    folder, _ = write_tree(root)
    change(folder)
    monkeypatch.setattr(celeba, "_CHUNK", 3)  # a damaged image fails inside a worker thread
    code = main(["data", "celeba", "--root", str(root), "--out", str(out), "--cache-dir",
                 str(cache), "--workers", "2"])
    errors = [line for line in capsys.readouterr().err.splitlines()
              if line.startswith("vae-study: error: ")]
    assert code == 2 and len(errors) == 1
    assert re.search(message, errors[0]), errors[0]
    with pytest.raises(UserError, match=message):  # the same from Python, decoding in-process
        load_celeba(root, split="all", cache_dir=cache, workers=1)
    assert not out.exists()
    assert not [path for path in cache.rglob("*") if path.is_file()]  # no cache, not even partial


def test_celeba_preset_trains_one_epoch_through_a_sweep(ray_cluster, tmp_path, tiny, capsys):
    root, storage = tmp_path / "data", tmp_path / "results"
    write_tree(root)
    settings = tiny(epochs=1) + [f"dataset.root={root}", f"dataset.cache_dir={tmp_path / 'c'}"]
    code = main(["sweep", "--preset", "celeba", *sum((["--set", s] for s in settings), []),
                 "--storage", str(storage), "--name", "celeba"])
    assert code == 0
    trial_dirs = sorted(p for p in (storage / "celeba").iterdir() if p.is_dir())
    assert len(trial_dirs) == 3
    configs = [json.loads((d / "params.json").read_text()) for d in trial_dirs]
    assert sorted(m["model"] for c in configs for m in c["models"]) == [
        "beta_vae", "factor_vae", "vae"]
    assert all(c["dataset"] == "celeba" and c["dataset_options"]["root"] == str(root)
               for c in configs)
    for trial_dir in trial_dirs:
        rows = [json.loads(line) for line in (trial_dir / "result.json").read_text().splitlines()]
        assert len(rows) == 1 and rows[0]["training_iteration"] == 1 and rows[0]["done"]
        assert rows[0]["steps"] == 3
        assert math.isfinite(rows[0]["reconstruction"]) and rows[0]["reconstruction"] > 0
        assert math.isfinite(rows[0]["kl"]) and rows[0]["kl"] >= 0
        assert not [key for key in rows[0] if key.endswith("_score")]  # no ground truth, no scores
    assert f"{storage / 'celeba'}" in capsys.readouterr().out
