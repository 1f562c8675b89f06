"""disentanglement_lib's colour-dSprites and noisy-dSprites: dSprites' factors, random
observations drawn from the caller's random state, and the deterministic mean view."""

from __future__ import annotations

import numpy as np
import pytest

from disentangle.data import get_dataset
from disentangle.data.dsprites_variants import ColorDSprites, NoisyDSprites
from disentangle.errors import UserError
from study.config import load_study


@pytest.fixture(scope="module")
def dsprites():
    return get_dataset("dsprites")


@pytest.fixture(scope="module")
def color(dsprites):
    return ColorDSprites(dsprites)


@pytest.fixture(scope="module")
def noisy(dsprites):
    return NoisyDSprites(dsprites)


def some_indices(num: int, seed: int = 0) -> np.ndarray:
    return np.random.RandomState(seed).randint(0, 737_280, num)


def dl_color(no_color: np.ndarray, random_state) -> np.ndarray:
    """disentanglement_lib's ColorDSprites.sample_observations_from_factors after its
    ``sample_observations_from_factors_no_color`` (NHWC, float64), transcribed."""
    observations = np.repeat(no_color, 3, axis=3)
    color = random_state.uniform(0.5, 1, [observations.shape[0], 1, 1, 3])
    color = np.repeat(np.repeat(color, observations.shape[1], axis=1),
                      observations.shape[2], axis=2)
    return observations * color


def dl_noisy(no_color: np.ndarray, random_state) -> np.ndarray:
    """disentanglement_lib's NoisyDSprites.sample_observations_from_factors, transcribed."""
    observations = np.repeat(no_color, 3, axis=3)
    noise = random_state.uniform(0, 1, [observations.shape[0], 64, 64, 3])
    return np.minimum(observations + noise, 1.)


def test_registered_with_the_factors_and_indices_of_dsprites(dsprites):
    indices = some_indices(100)
    for name, variant in (("color_dsprites", "ColorDSprites"), ("noisy_dsprites", "NoisyDSprites")):
        data = get_dataset(name)
        assert data.name == name and not data.deterministic_observations
        assert data.observation_shape == (3, 64, 64)
        assert data.factors_num_values == dsprites.factors_num_values == (3, 6, 40, 32, 32)
        assert len(data) == len(dsprites) and data.factor_names == dsprites.factor_names
        np.testing.assert_array_equal(data.index_to_factors(indices),
                                      dsprites.index_to_factors(indices))
        # The same draws of factors as dSprites: only the observations differ.
        np.testing.assert_array_equal(data.sample(32, np.random.RandomState(4))[0],
                                      dsprites.sample(32, np.random.RandomState(4))[0])
        description = data.describe()
        assert description["name"] == name and variant in description["variant"]
        assert description["source"] == dsprites.source
        # Its only state is the loaded dSprites it wraps: no second copy of the images.
        assert list(vars(data)) == ["dsprites"] and isinstance(data.dsprites, type(dsprites))
        # A study accepts it through the generic registry, and its options are dSprites'.
        assert load_study("quick", [f"dataset.name={name}"]).definition["dataset"]["name"] == name
        with pytest.raises(UserError, match="no option"):
            load_study("quick", [f"dataset.name={name}", "dataset.colour=1"])


@pytest.mark.parametrize("which", ["color", "noisy"])
def test_observations_are_float_batches_in_the_unit_range(which, request):
    data = request.getfixturevalue(which)
    for batch in (data.observations(some_indices(64), np.random.RandomState(0)),
                  data.images(some_indices(64)),
                  data.sample(16, np.random.RandomState(1))[1]):
        assert batch.dtype == np.float32 and batch.shape[1:] == (3, 64, 64)
        assert batch.flags.c_contiguous and batch.min() >= 0 and batch.max() <= 1


@pytest.mark.parametrize("which", ["color", "noisy"])
def test_the_same_random_state_gives_the_same_observations(which, request):
    data = request.getfixturevalue(which)
    indices = some_indices(32)
    first = data.observations(indices, np.random.RandomState(7))
    np.testing.assert_array_equal(first, data.observations(indices, np.random.RandomState(7)))
    assert not np.array_equal(first, data.observations(indices, np.random.RandomState(8)))
    factors = data.index_to_factors(indices)
    np.testing.assert_array_equal(
        first, data.sample_observations_from_factors(factors, np.random.RandomState(7)))
    np.testing.assert_array_equal(data.sample(16, np.random.RandomState(3))[1],
                                  data.sample(16, np.random.RandomState(3))[1])


def test_color_paints_the_dsprites_sprite_in_one_random_color(dsprites, color):
    indices = some_indices(256)
    sprites = dsprites.images(indices)  # (N, 1, 64, 64) in {0, 1}
    random_state = np.random.RandomState(0)
    observations = color.observations(indices, random_state)
    np.testing.assert_array_equal(observations.max(axis=1, keepdims=True) > 0, sprites > 0)
    colors = observations.sum((2, 3)) / sprites.sum((2, 3))  # (N, 3): one colour each
    np.testing.assert_allclose(observations, sprites * colors[:, :, None, None], atol=1e-6)
    assert colors.min() >= 0.5 and colors.max() <= 1
    assert colors.min() < 0.52 and colors.max() > 0.98  # the whole range, uniformly
    assert abs(colors.mean() - 0.75) < 0.01 and abs(colors.std() - 0.5 / 12 ** 0.5) < 0.01
    assert abs(np.corrcoef(colors.T)[np.triu_indices(3, 1)]).max() < 0.2  # channels drawn apart
    again = color.observations(indices, random_state)  # the same indices, the next draw
    np.testing.assert_array_equal(again > 0, observations > 0)
    assert (np.abs(again.sum((2, 3)) / sprites.sum((2, 3)) - colors) > 1e-3).any(axis=1).all()


def test_noisy_puts_the_white_sprite_on_uniform_noise(dsprites, noisy):
    indices = some_indices(64)
    sprites = dsprites.images(indices)
    random_state = np.random.RandomState(0)
    observations = noisy.observations(indices, random_state)
    np.testing.assert_array_equal(observations.min(axis=1, keepdims=True) == 1, sprites == 1)
    background = observations[np.broadcast_to(sprites == 0, observations.shape)]
    assert background.size > 600_000
    assert abs(background.mean() - 0.5) < 0.003 and abs(background.std() - 12 ** -0.5) < 0.003
    np.testing.assert_allclose(np.histogram(background, bins=10, range=(0, 1))[0] / background.size,
                               0.1, atol=0.003)
    channels = observations.transpose(1, 0, 2, 3).reshape(3, -1)[:, sprites.ravel() == 0]
    assert abs(np.corrcoef(channels)[np.triu_indices(3, 1)]).max() < 0.01  # per channel
    again = noisy.observations(indices, random_state)
    np.testing.assert_array_equal(again == 1, observations == 1)
    assert np.abs(again - observations).mean() > 0.3  # fresh noise: E|u - v| = 1/3


def test_observations_are_disentanglement_libs(dsprites, color, noisy):
    """The same random state gives disentanglement_lib's values, in float32 and NCHW."""
    indices = some_indices(48)
    no_color = dsprites.images(indices).transpose(0, 2, 3, 1)  # dlib's (N, 64, 64, 1)
    for data, reference in ((color, dl_color), (noisy, dl_noisy)):
        expected = reference(no_color, np.random.RandomState(11)).transpose(0, 3, 1, 2)
        np.testing.assert_array_equal(data.observations(indices, np.random.RandomState(11)),
                                      expected.astype(np.float32))


def test_images_are_the_mean_observation(dsprites, color, noisy):
    index = some_indices(2)
    sprites = np.repeat(dsprites.images(index), 3, axis=1)
    np.testing.assert_array_equal(color.images(index), 0.75 * sprites)
    np.testing.assert_array_equal(noisy.images(index), np.maximum(sprites, 0.5))
    repeated = np.repeat(index[:1], 1000)
    for data in (color, noisy):
        mean = data.observations(repeated, np.random.RandomState(0)).mean(axis=0)
        assert np.abs(mean - data.images(index[:1])[0]).mean() < 0.01
