"""Synthetic faces: the joint distribution, what each attribute draws, the torch renderer
against the numpy one it replaced, the ground-truth interface (``torch_images`` on the CPU and a
GPU, the last index), and the CelebA-layout files read back through the one CelebA loader."""

import pickle

import numpy as np
import pytest
import torch

from disentangle.data import get_dataset
from disentangle.data.celeba import load_celeba
from disentangle.data.faces import (
    ATTRIBUTES,
    CELEBA_ATTRIBUTES,
    JOINT_DISTRIBUTION,
    NUISANCE_FIXED,
    NUISANCE_GRID,
    NUISANCES,
    FacesDataset,
    attribute_examples,
    attribute_marginals,
    render,
    render_faces,
    sample_attributes,
    write_faces,
    writer,
)
from disentangle.errors import UserError


def column(name):
    return ATTRIBUTES.index(name)


@pytest.fixture(scope="module")
def attributes():
    return sample_attributes(60_000, np.random.RandomState(0))


def within_sampling_error(observed, expected, count, sigmas=4.5):
    return abs(observed - expected) <= sigmas * np.sqrt(expected * (1 - expected) / count) + 1e-9


def test_marginal_frequencies_match_the_documented_joint_distribution(attributes):
    expected = attribute_marginals()
    assert abs(expected["Male"] - 0.42) < 1e-9 and abs(expected["Wearing_Hat"] - 0.05) < 1e-9
    for name in ATTRIBUTES:
        observed = attributes[:, column(name)].mean()
        assert within_sampling_error(observed, expected[name], len(attributes)), name


def test_every_conditional_probability_holds_within_sampling_error(attributes):
    for name, parents, table in JOINT_DISTRIBUTION:
        for key, p in table.items():
            rows = np.ones(len(attributes), bool)
            for parent, value in zip(parents, key):
                rows &= attributes[:, column(parent)] == value
            if rows.sum() < 200:  # e.g. bald women: too few to test
                continue
            observed = attributes[rows, column(name)].mean()
            assert within_sampling_error(observed, p, rows.sum()), (name, parents, key)


def test_celeba_like_correlations(attributes):
    def p(name, given, value):
        rows = attributes[:, column(given)] == value
        return attributes[rows, column(name)].mean()

    assert p("Heavy_Makeup", "Male", 1) < 0.03 < 0.6 < p("Heavy_Makeup", "Male", 0)
    assert p("Mouth_Slightly_Open", "Smiling", 1) > p("Mouth_Slightly_Open", "Smiling", 0) + 0.4
    assert p("Bald", "Male", 1) > 20 * p("Bald", "Male", 0)
    assert p("Goatee", "Male", 0) == 0 and p("Mustache", "Male", 0) == 0
    blond_and_black = attributes[:, column("Blond_Hair")] & attributes[:, column("Black_Hair")]
    assert not blond_and_black.any()


def test_a_seed_makes_the_attributes_exact():
    first = sample_attributes(500, np.random.RandomState(7))
    assert np.array_equal(first, sample_attributes(500, np.random.RandomState(7)))
    assert not np.array_equal(first, sample_attributes(500, np.random.RandomState(8)))


# Pixel boxes (rows, columns; inclusive) of the face parts for the centred, upright face of
# NUISANCE_FIXED: centre (32, 30), 18 pixels per face unit; eyes on row 29 at columns 27 and 37,
# nose tip row 34, mouth row 39, chin row 48, hairline row 19, top of the head row 12.
PARTS = {
    "Eyeglasses": ((23, 33), (15, 49)),
    "Narrow_Eyes": ((24, 32), (21, 43)),
    "Heavy_Makeup": ((23, 38), (18, 46)),
    "Big_Nose": ((25, 38), (26, 38)),
    "Smiling": ((31, 44), (20, 44)),
    "Mouth_Slightly_Open": ((34, 44), (24, 40)),
    "Wearing_Lipstick": ((34, 44), (24, 40)),
    "Mustache": ((34, 41), (23, 41)),
    "Goatee": ((38, 50), (25, 39)),
    "Bangs": ((16, 29), (13, 51)),
    "Wearing_Hat": ((0, 25), (0, 63)),
    "Bald": ((0, 29), (10, 54)),
}


def render_toggled(name, base=None):
    """The face of NUISANCE_FIXED with attribute ``name`` off and on."""
    rows = np.zeros((2, len(ATTRIBUTES)), np.uint8) if base is None else np.stack([base, base])
    rows[0, column(name)], rows[1, column(name)] = 0, 1
    nuisance = np.tile([NUISANCE_FIXED[n] for n in NUISANCES], (2, 1))
    off, on = render_faces(rows, nuisance)
    return off, on, np.abs(on - off).max(axis=0) > 0.05


@pytest.mark.parametrize("name", sorted(PARTS))
def test_each_attribute_changes_the_pixels_of_its_part(name):
    _, _, changed = render_toggled(name)
    (r0, r1), (c0, c1) = PARTS[name]
    inside = changed[r0:r1 + 1, c0:c1 + 1].sum()
    assert changed.sum() >= 10, f"{name} barely changes the face"
    assert inside == changed.sum(), f"{name} changes pixels outside its part"


def test_hair_colours_change_the_hair_and_not_the_lower_face():
    for name, brighter in (("Blond_Hair", True), ("Black_Hair", False)):
        off, on, changed = render_toggled(name)
        assert changed.sum() > 300
        assert not changed[31:43, 26:39].any()  # nose and mouth keep their pixels
        hair = (slice(None), slice(9, 13), slice(28, 37))  # top of the head
        assert (on[hair].mean() > off[hair].mean() + 0.2) == brighter
        assert (on[hair].mean() < off[hair].mean() - 0.2) != brighter


def test_pale_skin_lightens_the_skin_only():
    off, on, changed = render_toggled("Pale_Skin")
    cheek = (slice(None), slice(32, 36), slice(22, 26))
    assert on[cheek].mean() > off[cheek].mean() + 0.08
    assert not changed[:8].any() and not changed[8:13, 28:37].any()  # backdrop, hair on top


def test_male_shortens_the_hair_and_broadens_the_jaw():
    off, on, changed = render_toggled("Male")
    assert changed[44:57, 6:20].sum() > 30 and changed[44:57, 44:58].sum() > 30  # long hair
    assert not changed[:6].any()  # the backdrop above the head


def render_nuisance(**values):
    nuisance = dict(NUISANCE_FIXED, **values)
    return render_faces(np.zeros((1, len(ATTRIBUTES)), np.uint8),
                        np.array([[nuisance[n] for n in NUISANCES]]))[0]


def figure(**values):
    """Where the face and body are: the pixels a change of backdrop leaves alone."""
    one, other = render_nuisance(**values), render_nuisance(**dict(values, background_hue=0.05))
    return np.abs(one - other).max(axis=0) < 0.02


def test_nuisance_factors_move_recolour_and_light_the_face():
    base = render_nuisance()

    def centre(mask):
        rows, cols = np.nonzero(mask)
        return rows.mean(), cols.mean()

    assert centre(figure(position_x=1.0))[1] > centre(figure())[1] + 3
    top = np.flatnonzero(figure().any(axis=1))[0]  # the top of the hair
    assert np.flatnonzero(figure(position_y=-1.0).any(axis=1))[0] <= top - 2
    assert figure(size=1.0).sum() > figure(size=-1.0).sum() + 200
    tilted = render_nuisance(rotation=1.0)
    assert np.abs(tilted - render_nuisance(rotation=-1.0))[:, 10:50].mean() > 0.02
    cheek = (slice(None), slice(32, 36), slice(22, 26))
    assert render_nuisance(skin_tone=1.0)[cheek].mean() < base[cheek].mean() - 0.2
    hair = (slice(None), slice(9, 13), slice(28, 37))
    assert np.abs(render_nuisance(hair_tone=1.0)[hair] - base[hair]).mean() > 0.1
    recoloured = ~figure()
    assert recoloured[:4].all() and not recoloured[28:40, 26:38].any()  # backdrop, not face
    lit_right = render_nuisance(lighting=1.0) - render_nuisance(lighting=-1.0)
    assert lit_right[:, 20:45, 38:46].mean() > 0.05 and lit_right[:, 20:45, 18:26].mean() < -0.05
    assert np.abs(lit_right[:, :5]).max() == 0  # the backdrop is not lit


def test_every_attribute_changes_every_face_of_the_ground_truth_data():
    dataset = FacesDataset()
    random_state = np.random.RandomState(1)
    factors = dataset.sample_factors(32, random_state)
    for index in range(len(ATTRIBUTES)):
        off, on = factors.copy(), factors.copy()
        off[:, index], on[:, index] = 0, 1
        difference = np.abs(dataset.sample_observations_from_factors(on, random_state)
                            - dataset.sample_observations_from_factors(off, random_state))
        assert ((difference.max(axis=1) > 0.05).sum(axis=(1, 2)) >= 3).all(), ATTRIBUTES[index]


def test_ground_truth_interface():
    dataset = get_dataset("faces")
    assert dataset.factor_names == ATTRIBUTES + NUISANCES
    assert dataset.factors_num_values == (2,) * 16 + (5, 5, 4, 5, 4, 4, 6, 5)
    assert len(dataset) == 2 ** 16 * 5 * 5 * 4 * 5 * 4 * 4 * 6 * 5
    random_state = np.random.RandomState(0)
    factors, images = dataset.sample(10, random_state)
    assert images.shape == (10, 3, 64, 64) and images.dtype == np.float32
    assert 0 <= images.min() and images.max() <= 1
    indices = dataset.factors_to_index(factors)
    assert np.array_equal(dataset.index_to_factors(indices), factors)
    assert np.array_equal(dataset.images(indices), images)  # one image per combination,
    assert np.array_equal(np.concatenate([dataset.images(indices[i:i + 1]) for i in range(10)]),
                          images)  # whatever batch renders it
    # The nuisance factors move the face: position_x shifts it sideways.
    moved = factors[:1].copy()
    moved[0, len(ATTRIBUTES)] = (moved[0, len(ATTRIBUTES)] + 2) % 5
    assert not np.array_equal(dataset.sample_observations_from_factors(moved, random_state),
                              images[:1])
    fixed = get_dataset("faces", vary_nuisance=False)
    assert fixed.factor_names == ATTRIBUTES and len(fixed) == 2 ** 16
    assert fixed.describe()["vary_nuisance"] is False


# Means of the top and bottom halves of each channel (R, G, B top; R, G, B bottom) of the faces
# of ``reference_faces``, from the numpy renderer the torch one replaced (which agreed with it
# within 6e-6 per pixel on 400 faces covering every attribute and nuisance extreme).
NUMPY_RENDERER_HALF_MEANS = np.array([
    (0.58825, 0.63394, 0.64333, 0.49465, 0.48793, 0.48368),
    (0.61326, 0.71479, 0.74811, 0.49465, 0.48793, 0.48368),
    (0.56664, 0.60653, 0.61545, 0.49465, 0.48793, 0.48368),
    (0.58801, 0.63374, 0.64316, 0.49355, 0.48706, 0.48296),
    (0.51497, 0.59972, 0.62850, 0.43293, 0.45912, 0.47119),
    (0.65066, 0.71941, 0.70174, 0.54722, 0.55992, 0.53288),
    (0.57098, 0.62183, 0.63542, 0.49465, 0.48793, 0.48368),
    (0.58825, 0.63394, 0.64333, 0.48802, 0.48172, 0.47809),
    (0.58395, 0.63022, 0.64093, 0.49495, 0.48560, 0.48280),
    (0.59050, 0.66520, 0.68822, 0.51087, 0.56913, 0.59421),
    (0.58825, 0.63394, 0.64333, 0.49276, 0.48616, 0.48267),
    (0.58825, 0.63394, 0.64333, 0.49102, 0.48474, 0.48081),
    (0.59045, 0.63521, 0.64394, 0.49465, 0.48793, 0.48368),
    (0.59453, 0.65297, 0.67179, 0.50347, 0.51442, 0.52328),
    (0.58833, 0.63405, 0.64342, 0.49505, 0.48817, 0.48387),
    (0.55650, 0.55854, 0.59401, 0.49465, 0.48793, 0.48368),
    (0.58825, 0.63394, 0.64333, 0.49482, 0.48650, 0.48319),
    (0.73115, 0.47836, 0.47282, 0.56888, 0.43876, 0.44734),
    (0.41283, 0.57282, 0.56881, 0.44773, 0.51022, 0.50312),
    (0.60782, 0.56138, 0.42012, 0.54855, 0.59188, 0.46566),
    (0.76812, 0.53119, 0.63258, 0.62351, 0.47070, 0.55664),
])


def reference_faces():
    """The 17 faces of ``attribute_examples`` (rows, nuisance), then 4 with every nuisance at
    an end of its range and attributes mixed."""
    rows = np.vstack([np.zeros(16, np.uint8), np.eye(16, dtype=np.uint8)])
    extra = np.array([[1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0],
                      [0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1],
                      [1] * 16,
                      [0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0]], np.uint8)
    nuisance = np.array([[-1, -1, -1, -1, 0, 0, 0, -1], [1, 1, 1, 1, 1, 1, 0.5, 1],
                         [1, -1, 1, -1, 0.5, 1, 0.25, 0.5], [-1, 1, -1, 1, 1, 0, 0.9, -0.5]])
    return (np.vstack([rows, extra]),
            np.vstack([np.tile([NUISANCE_FIXED[n] for n in NUISANCES], (17, 1)), nuisance]))


def test_the_torch_renderer_draws_what_the_numpy_renderer_drew():
    images = render_faces(*reference_faces())
    half_means = np.concatenate([images[:, :, :32].mean(axis=(2, 3)),
                                 images[:, :, 32:].mean(axis=(2, 3))], axis=1)
    assert np.abs(half_means - NUMPY_RENDERER_HALF_MEANS).max() < 2e-5
    assert np.array_equal(attribute_examples(), images[:17])


def test_torch_images_are_float32_in_the_unit_range_on_the_indices_device(monkeypatch):
    dataset = FacesDataset()
    indices = dataset.sample_indices(10, np.random.RandomState(4))
    images = dataset.torch_images(torch.from_numpy(indices))
    assert images.dtype == torch.float32 and images.device.type == "cpu"
    assert images.shape == (10, 3, 64, 64) and 0 <= images.min() and images.max() <= 1
    assert np.array_equal(images.numpy(), dataset.images(indices))
    monkeypatch.setattr(render, "CPU_RENDER_BATCH", 4)  # rendered in chunks: the same faces
    assert torch.equal(dataset.torch_images(torch.from_numpy(indices)), images)
    with pytest.raises(IndexError, match="must lie in"):
        dataset.torch_images(torch.tensor([len(dataset)]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_faces_rendered_on_the_gpu_are_the_cpu_faces():
    dataset = FacesDataset()
    random_state = np.random.RandomState(5)
    for size in (64, 64, 7):  # recorded, replayed with other indices, another batch size
        indices = dataset.sample_indices(size, random_state)
        images = dataset.torch_images(torch.from_numpy(indices).cuda())
        assert images.dtype == torch.float32 and images.device.type == "cuda"
        assert np.abs(images.cpu().numpy() - dataset.images(indices)).max() < 1e-3
    assert not dataset._render.capture_failed and len(dataset._render.graphs) == 2


def test_the_render_keeps_a_bounded_number_of_graphs_the_most_recently_used():
    """Every new batch shape records a graph (the metrics' last chunk differs each evaluation):
    beyond MAX_GRAPHS the least recently used is dropped, a shape in use is replayed, never
    recorded again, and every call returns its own render. The recording is stood in for
    (this runs without a GPU); the bookkeeping is the real one."""
    from disentangle.data.faces import cuda_graphs

    class Replay:
        def __init__(self, function, static_input, static_output):
            self.function, self.static_input, self.static_output = (
                function, static_input, static_output)

        def replay(self):
            self.static_output.copy_(self.function(self.static_input))

    class Recorded(cuda_graphs.GraphedRender):
        recorded = []

        def _capturable(self, indices):
            return True

        def _record(self, indices):
            self.recorded.append(len(indices))
            static_input = indices.clone()
            static_output = self.function(static_input)
            return Replay(self.function, static_input, static_output), static_input, \
                static_output

    render = Recorded(lambda indices: indices.float() * 2)
    steady, sizes = torch.arange(64), range(1, cuda_graphs.MAX_GRAPHS + 5)
    for size in sizes:
        assert torch.equal(render(steady), steady.float() * 2)   # the training batch
        assert torch.equal(render(torch.arange(size) + 1), (torch.arange(size) + 1) * 2.0)
    assert len(render.graphs) == cuda_graphs.MAX_GRAPHS
    assert Recorded.recorded.count(64) == 1   # used all along: never dropped
    kept = sorted(key[1][0] for key in render.graphs)
    assert kept == sorted([*sizes[-(cuda_graphs.MAX_GRAPHS - 1):], 64])


def test_every_image_up_to_the_last_index_renders():
    dataset = get_dataset("faces")
    assert len(dataset) == 2 ** 16 * 240_000
    last = np.array([len(dataset) - 1, len(dataset) - 2])
    factors = dataset.index_to_factors(last)
    assert (factors[0] == np.array(dataset.factors_num_values) - 1).all()
    nuisance = np.array([[NUISANCE_GRID[name][-1] for name in NUISANCES]] * 2)
    nuisance[1, -1] = NUISANCE_GRID["lighting"][-2]
    expected = render_faces(np.ones((2, len(ATTRIBUTES)), np.uint8), nuisance)
    assert np.abs(dataset.images(last) - expected).max() < 1e-5


def test_a_pickled_dataset_renders_the_same_faces():
    dataset = FacesDataset()
    indices = np.arange(3)
    images = dataset.images(indices)  # builds per-device tables, which are not pickled
    copy = pickle.loads(pickle.dumps(dataset))
    assert copy.factors_num_values == dataset.factors_num_values
    assert np.array_equal(copy.images(indices), images)


def test_a_training_pool_serves_its_pre_rendered_faces_and_the_trainer_draws_from_it(
        tmp_path, monkeypatch):
    """``pool``: training batches come from that many faces of the whole set, rendered once
    into the cache (to within the 1/255 of uint8) and read back by later datasets without
    rendering; the metrics' ``images`` still render any index; the Trainer draws only pool
    positions and trains on them."""
    from disentangle.data.faces.pool import pool_indices, pool_path
    from disentangle.training import Trainer

    monkeypatch.setenv("VAE_STUDY_CACHE", str(tmp_path))
    dataset = get_dataset("faces", pool=40, pool_seed=3)
    assert dataset.training_size == 40 and len(dataset) == 2 ** 16 * 240_000
    assert dataset.describe()["training_pool"] == {"size": 40, "seed": 3}
    positions = torch.tensor([0, 39, 7])
    batch = dataset.training_images(positions)
    rendered = dataset.images(pool_indices(len(dataset), 40, 3)[[0, 39, 7]])
    assert batch.dtype == torch.float32
    assert np.abs(batch.numpy() - rendered).max() <= 0.5 / 255 + 1e-6
    path = pool_path(tmp_path, 40, 3, True)
    written = path.stat().st_mtime_ns
    again = get_dataset("faces", pool=40, pool_seed=3).training_images(positions)
    assert torch.equal(again, batch) and path.stat().st_mtime_ns == written
    with pytest.raises(IndexError):
        dataset.training_images(torch.tensor([40]))

    trainer = Trainer({"model": "vae", "seed": 0, "batch_size": 8, "precision": "fp32"},
                      dataset, "cpu")
    drawn = trainer.streams.step_inputs(0)["indices"]
    assert drawn.max() < 40
    assert torch.equal(trainer._images(drawn), dataset.training_images(drawn[0]))
    assert trainer.train_steps(2)["diverged"] == 0
    with pytest.raises(UserError, match="pool=-1"):
        get_dataset("faces", pool=-1)


def test_a_pool_being_rendered_elsewhere_is_waited_for_not_rendered_again(tmp_path):
    """While another process holds the pool's lock (rendering it), a trial asking for the pool
    waits, then reads the file that process wrote instead of rendering its own (the stand-in
    file here is all zeros, which no rendered face is). A render that finds no file removes
    what a killed render left."""
    import threading

    from disentangle.data.faces.pool import load_pool, pool_path
    from disentangle.files import exclusive_lock

    render = FacesDataset(vary_nuisance=False).images
    path = pool_path(tmp_path, 4, 0, False)
    path.parent.mkdir(parents=True)
    killed = path.with_name(f".{path.name}.x1y2z3")   # what a render killed mid-way leaves
    killed.write_bytes(b"partial")
    loaded = []
    with exclusive_lock(path.with_name(path.name + ".lock")):
        waiting = threading.Thread(target=lambda: loaded.append(
            load_pool(path, np.arange(4), render, progress=False)))
        waiting.start()
        waiting.join(timeout=0.5)
        assert waiting.is_alive() and not path.exists()
        np.save(path, np.zeros((4, 3, 64, 64), np.uint8))
    waiting.join()
    assert loaded[0].shape == (4, 3, 64, 64) and not loaded[0].any()
    assert killed.exists()   # not this reader's to remove: the file it waited for was written
    path.unlink()
    assert load_pool(path, np.arange(4), render, progress=False).any()
    assert not killed.exists()


def test_threads_rendering_at_once_leave_torchs_thread_count_as_it_was():
    """Threads of ``parallel_map`` render on one torch thread each (``one_cpu_thread``); when
    the first to start leaves before a later one, the count that threads started afterwards
    get is still the one from before (restored by the last to leave, not by each)."""
    import threading

    from disentangle.data.faces.render import one_cpu_thread

    previous = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        first_in, second_in, first_out = (threading.Event() for _ in range(3))

        def first():
            with one_cpu_thread():
                first_in.set()
                second_in.wait(60)
            first_out.set()

        def second():
            first_in.wait(60)
            with one_cpu_thread():
                second_in.set()
                first_out.wait(60)

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seen = []
        later = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        later.start()
        later.join()
        assert seen == [3] and torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(previous)


def test_written_layout_round_trips_through_the_celeba_loader(tmp_path):
    folder = write_faces(tmp_path, num=50, seed=3, workers=1)
    assert folder == tmp_path / "celeba"
    lines = (folder / "list_attr_celeba.txt").read_text().splitlines()
    assert lines[0] == "50" and lines[1].split() == list(CELEBA_ATTRIBUTES)
    assert lines[2].startswith("000001.jpg ") and len(lines[2].split()) == 41
    assert (folder / "list_eval_partition.txt").read_text().splitlines()[-1] == "000050.jpg 2"

    expected = sample_attributes(50, np.random.RandomState(3))  # the seed makes it exact
    data = load_celeba(tmp_path, preprocessing="resize", split="all", cache_dir=tmp_path / "c")
    assert data.attributes.shape == (50, 40) and data.attribute_names == CELEBA_ATTRIBUTES
    for name in ATTRIBUTES:
        assert np.array_equal(data.attributes[:, CELEBA_ATTRIBUTES.index(name)],
                              expected[:, column(name)])
    no_beard = data.attributes[:, CELEBA_ATTRIBUTES.index("No_Beard")]
    assert np.array_equal(no_beard, 1 - (expected[:, column("Goatee")]
                                         | expected[:, column("Mustache")]))
    unmodelled = [i for i, n in enumerate(CELEBA_ATTRIBUTES)
                  if n not in ATTRIBUTES and n not in ("No_Beard", "Brown_Hair")]
    assert len(unmodelled) == 22 and not data.attributes[:, unmodelled].any()
    assert np.bincount(data.partition).tolist() == [40, 5, 5]

    # The images are the rendered faces (up to JPEG loss), and factors.csv their ground truth.
    factors = data.factors
    rendered = render_faces(factors[list(ATTRIBUTES)].to_numpy(),
                            factors[list(NUISANCES)].to_numpy())
    assert np.abs(data.images(np.arange(50)) - rendered).mean() < 0.03
    assert np.array_equal(factors[list(ATTRIBUTES)].to_numpy(), expected)

    test = get_dataset("celeba", root=tmp_path / "celeba", split="test",
                       preprocessing="crop148", cache_dir=tmp_path / "c")
    assert len(test) == 5 and list(test.files) == [f"{i:06d}.jpg" for i in range(46, 51)]
    assert np.abs(test.images(np.arange(5)) - rendered[45:]).mean() < 0.03  # crop148: as is


def test_writing_is_exact_kept_and_replaced_only_when_it_should(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "_CHUNK", 5)  # three tasks for two worker threads
    first = write_faces(tmp_path / "a", num=12, seed=5, workers=2)
    second = write_faces(tmp_path / "b", num=12, seed=5, workers=1)
    for name in ("list_attr_celeba.txt", "factors.csv", "img_align_celeba/000007.jpg"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    stamp = (first / "factors.csv").stat().st_mtime_ns
    assert write_faces(tmp_path / "a", num=12, seed=5) == first  # same settings: kept
    assert (first / "factors.csv").stat().st_mtime_ns == stamp
    write_faces(tmp_path / "a", num=8, seed=5, workers=1)  # other settings: replaced
    assert len(list((first / "img_align_celeba").iterdir())) == 8
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["celeba"]  # no leftovers

    (tmp_path / "real" / "celeba").mkdir(parents=True)  # a folder it did not write
    with pytest.raises(UserError, match="not written by this generator"):
        write_faces(tmp_path / "real", num=4)


def test_command_writes_dataset_grid_and_frequency_table(tmp_path, capsys):
    from study.cli import main

    assert main(["data", "faces", "--out", str(tmp_path), "--num", "30", "--seed", "2"]) == 0
    assert (tmp_path / "celeba" / "img_align_celeba" / "000030.jpg").is_file()
    assert (tmp_path / "faces_samples.png").is_file()
    assert (tmp_path / "faces_attributes.png").is_file()
    table = (tmp_path / "attribute_frequencies.csv").read_text().splitlines()
    assert table[0] == "attribute,expected,observed" and len(table) == 1 + len(ATTRIBUTES)
    assert str(tmp_path / "celeba") in capsys.readouterr().out
    assert main(["data", "faces", "--out", str(tmp_path), "--num", "0"]) == 2
