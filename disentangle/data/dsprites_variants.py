"""disentanglement_lib's colour-dSprites and noisy-dSprites (Locatello et al. 2019).

Locatello et al. ("Challenging Common Assumptions in the Unsupervised Learning of Disentangled
Representations", ICML 2019) add two variants of dSprites whose observations are *random given
the factors*: the same five factors (shape, scale, orientation, posX, posY), the same indices,
but each observation draws a nuisance that is not a factor of variation. Both follow
``disentanglement_lib/data/ground_truth/dsprites.py``:

* ``color_dsprites`` (``ColorDSprites``): the white-on-black sprite multiplied by one RGB
  colour per observation, each channel uniform in [0.5, 1]; the background stays black.
* ``noisy_dsprites`` (``NoisyDSprites``): the sprite in white on a background of uniform noise
  in [0, 1], drawn independently per pixel and channel (``min(sprite + noise, 1)``).

The random part is drawn from the caller's ``random_state`` with disentanglement_lib's calls
and shapes (colours ``uniform(0.5, 1, (N, 3))``; noise ``uniform(0, 1, (N, 64, 64, 3))``, its
channels-last layout transposed to ours), so the same random state gives the same values as
disentanglement_lib's ``sample_observations_from_factors``, in float32 and (N, 3, 64, 64).

``images(indices)`` is the deterministic view that panels, traversals and sample grids show:
the **mean observation given the factors**, E[x | index] (the sprite in grey 0.75 for colour;
the white sprite on a flat 0.5 background for noise), which is also the best any decoder can
reconstruct, since it cannot predict the nuisance. Training and the metrics must use
``observations(indices, random_state)`` (``deterministic_observations`` is False).

Both wrap a loaded ``DSprites``: same cache, same packed images (no copy), same factors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from disentangle.data.base import GroundTruthDataset
from disentangle.data.dsprites import IMAGE_SIZE, DSprites, load_dsprites

#: disentanglement_lib's colour range: each RGB channel uniform in [0.5, 1].
COLOR_LOW, COLOR_HIGH = 0.5, 1.0


class DSpritesVariant(GroundTruthDataset):
    """dSprites' factors and indices with random 3-channel observations drawn around each
    sprite. Subclasses define ``observations`` and the mean view ``images``."""

    deterministic_observations = False
    factor_names = DSprites.factor_names
    #: One line naming the variant and its observation model (recorded by ``describe``).
    variant: str = ""

    def __init__(self, dsprites: DSprites):
        self.dsprites = dsprites

    @property
    def factors_num_values(self) -> tuple[int, ...]:
        return self.dsprites.factors_num_values

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return (3, IMAGE_SIZE, IMAGE_SIZE)

    def sprites(self, indices: np.ndarray) -> np.ndarray:
        """dSprites' binary images at ``indices``: float32 (N, 1, 64, 64) in {0, 1}."""
        return self.dsprites.images(indices)

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Random observations of the given factor rows, drawn from ``random_state``."""
        return self.observations(self.factors_to_index(factors), random_state)

    def describe(self) -> dict:
        return {**super().describe(), "variant": self.variant, "source": self.dsprites.source}


class ColorDSprites(DSpritesVariant):
    """disentanglement_lib's ColorDSprites: the sprite times a random colour per observation."""

    name = "color_dsprites"
    variant = ("disentanglement_lib's ColorDSprites: the sprite times one RGB colour per "
               f"observation, each channel uniform in [{COLOR_LOW}, {COLOR_HIGH}]; images() is "
               "the mean colour")

    @staticmethod
    def _paint(sprites: np.ndarray, colors: np.ndarray) -> np.ndarray:
        """(N, 1, H, W) sprites times (N, 3) colours -> float32 (N, 3, H, W)."""
        return sprites * colors.astype(np.float32)[:, :, None, None]

    def observations(self, indices: np.ndarray,
                     random_state: np.random.RandomState) -> np.ndarray:
        sprites = self.sprites(indices)
        colors = random_state.uniform(COLOR_LOW, COLOR_HIGH, size=(len(sprites), 3))
        return self._paint(sprites, colors)

    def images(self, indices: np.ndarray) -> np.ndarray:
        """The mean observation: the sprite in grey (0.75, 0.75, 0.75), the mean colour."""
        sprites = self.sprites(indices)
        return self._paint(sprites, np.full((len(sprites), 3), (COLOR_LOW + COLOR_HIGH) / 2))


class NoisyDSprites(DSpritesVariant):
    """disentanglement_lib's NoisyDSprites: the white sprite on uniform per-pixel noise."""

    name = "noisy_dsprites"
    variant = ("disentanglement_lib's NoisyDSprites: the white sprite on a background of "
               "uniform noise in [0, 1] per pixel and channel; images() is the mean, a flat "
               "0.5 background")

    @staticmethod
    def _on_background(sprites: np.ndarray, background) -> np.ndarray:
        """White (N, 1, H, W) sprites over a background broadcastable to (N, 3, H, W):
        ``min(sprite + background, 1)``, which for binary sprites is their maximum."""
        out = np.empty((len(sprites), 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
        return np.maximum(sprites, background, out=out)

    def observations(self, indices: np.ndarray,
                     random_state: np.random.RandomState) -> np.ndarray:
        sprites = self.sprites(indices)
        noise = random_state.uniform(0, 1, size=(len(sprites), IMAGE_SIZE, IMAGE_SIZE, 3))
        return self._on_background(sprites, noise.transpose(0, 3, 1, 2))

    def images(self, indices: np.ndarray) -> np.ndarray:
        """The mean observation: the white sprite on a flat background of 0.5."""
        return self._on_background(self.sprites(indices), np.float32(0.5))


def load_color_dsprites(npz: str | Path | None = None, cache_dir: str | Path | None = None,
                        force: bool = False, progress: bool = False) -> ColorDSprites:
    """Colour-dSprites over dSprites loaded by ``load_dsprites`` (same options, same cache)."""
    return ColorDSprites(load_dsprites(npz, cache_dir, force, progress))


def load_noisy_dsprites(npz: str | Path | None = None, cache_dir: str | Path | None = None,
                        force: bool = False, progress: bool = False) -> NoisyDSprites:
    """Noisy-dSprites over dSprites loaded by ``load_dsprites`` (same options, same cache)."""
    return NoisyDSprites(load_dsprites(npz, cache_dir, force, progress))
