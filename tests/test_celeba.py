"""The CelebA loader on tiny CelebA trees built here: layout, attributes, splits,
preprocessing, the decoded cache, and clear errors for broken trees."""

import numpy as np
import pytest
from PIL import Image

from disentangle.data import celeba, get_dataset
from disentangle.data.celeba import load_celeba
from disentangle.data.faces import CELEBA_ATTRIBUTES
from disentangle.errors import UserError

NUM = 7
SPLITS = [0, 0, 0, 0, 1, 1, 2]


def write_tree(root, num=NUM, splits=SPLITS, seed=0):
    """A CelebA tree in torchvision's layout: 178x218 JPEGs with a distinct colour block each,
    random -1/1 attributes in CelebA's exact file format."""
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


def broken(tmp_path, change):
    folder, _ = write_tree(tmp_path)
    change(folder)
    return tmp_path


@pytest.mark.parametrize("change, message", [
    (lambda f: (f / "list_attr_celeba.txt").unlink(), "list_attr_celeba.txt is missing"),
    (lambda f: (f / "list_eval_partition.txt").unlink(), "list_eval_partition.txt is missing"),
    (lambda f: (f / "list_attr_celeba.txt").write_text(
        (f / "list_attr_celeba.txt").read_text().replace("7\n", "9\n", 1)),
     "declares 9 images on its first line but lists 7"),
    (lambda f: (f / "list_eval_partition.txt").write_text(
        "".join((f / "list_eval_partition.txt").read_text().splitlines(True)[:5])),
     "list_eval_partition.txt lists 5 images and list_attr_celeba.txt 7"),
    (lambda f: (f / "img_align_celeba" / "000004.jpg").unlink(),
     "1 of the 7 images listed in list_attr_celeba.txt are missing from .*first: 000004.jpg"),
    (lambda f: (f / "img_align_celeba" / "000005.jpg").write_bytes(b"not a jpeg"),
     "cannot read image .*000005.jpg"),
    (lambda f: (f / "list_attr_celeba.txt").write_text(
        (f / "list_attr_celeba.txt").read_text().replace("000002.jpg -1", "000002.jpg  0")
        .replace("000002.jpg  1", "000002.jpg  0")), "must be -1 or 1"),
])
def test_broken_trees_fail_clearly(tmp_path, change, message, monkeypatch):
    root = broken(tmp_path, change)
    monkeypatch.setattr(celeba, "_CHUNK", 3)  # a damaged image fails inside a worker
    with pytest.raises(UserError, match=message):
        load_celeba(root, split="all", cache_dir=tmp_path / "cache", workers=2)
    assert not list((tmp_path / "cache").rglob("*.npy"))  # nothing half-written


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


def test_command_caches_and_writes_a_grid(tree, tmp_path, capsys):
    from study.cli import main

    root, _, _ = tree
    out = tmp_path / "samples"
    code = main(["data", "celeba", "--root", str(root), "--out", str(out),
                 "--cache-dir", str(tmp_path / "cache"), "--preprocessing", "resize"])
    assert code == 0 and (out / "celeba_resize_samples.png").is_file()
    assert "train 4, valid 2, test 1" in capsys.readouterr().out
    assert main(["data", "celeba", "--root", str(tmp_path / "nowhere")]) == 2
