"""Synthetic faces: an offline stand-in for CelebA, with known ground truth.

A procedural renderer draws 64x64 RGB faces (hair, head, ears, eyebrows, eyes, nose, mouth,
neck and shoulders), framed like CelebA's aligned images, from 16 binary attributes named as
in CelebA and 8 continuous nuisance factors. It is vectorised over the batch: every part is an
anti-aliased signed-distance shape evaluated with numpy on all images at once, inside the
pixel box that part can reach (about 1,500 faces per CPU-second; JPEG files about 1,000).

Attributes (CelebA names, in CelebA's column order) and what each one draws:

    Bald                 no hair on the crown (hair stays at the sides and back)
    Bangs                a fringe over the forehead
    Big_Nose             a longer, wider nose
    Black_Hair           black hair (with Blond_Hair as well: dark blond)
    Blond_Hair           blond hair
    Eyeglasses           dark frames, bridge, temples and tinted lenses
    Goatee               a beard patch on the chin
    Heavy_Makeup         eye shadow, thick eyeliner and blush
    Male                 short hair (else down to the shoulders), broader jaw and neck, thicker
                         eyebrows
    Mouth_Slightly_Open  parted lips showing the mouth and teeth
    Mustache             hair above the upper lip
    Narrow_Eyes          eyes less than half as open
    Pale_Skin            a pale, desaturated skin tone
    Smiling              a wider mouth with its corners up, raised cheeks
    Wearing_Hat          a hat with a brim covering the crown
    Wearing_Lipstick     red lips

Nuisance factors, continuous (the ground-truth dataset uses the grid in ``NUISANCE_GRID``):

    position_x, position_y   head position, up to +-4 and +-3 pixels   (range [-1, 1])
    size                     head size, +-10 %                           (range [-1, 1])
    rotation                 in-plane head rotation, up to +-12 degrees  (range [-1, 1])
    skin_tone                light to dark skin                          (range [0, 1])
    hair_tone                light brown, auburn, chestnut, dark brown   (range [0, 1])
    background_hue           hue of the backdrop                         (range [0, 1))
    lighting                 light from the left (-1) to the right (+1)  (range [-1, 1])

Every attribute changes every face, whatever the other factors (the tests check it), so no
factor of the ground-truth dataset is ever invisible.

Two distributions, on purpose
-----------------------------
* The ground-truth dataset (``FacesDataset``, ``get_dataset("faces")``) follows
  disentanglement_lib's interface: every factor is drawn uniformly and independently, and every
  combination of factor classes is one image (2^16 x 5*5*4*5*4*4*6*5 = 15.7 billion images,
  rendered on demand). Independence is what the BetaVAE and FactorVAE metrics assume.
* The written dataset (``write_faces``, ``vae-study data faces``) is the face study's stand-in
  for CelebA: its attributes follow the correlated joint distribution below, and its nuisance
  factors are drawn uniformly and independently over their continuous ranges. With a seed,
  the files are exactly reproducible.

The joint distribution of the written dataset (a Bayesian network sampled in this order;
P(attribute = 1 | parents), with CelebA-like marginals given by ``attribute_marginals()``):

    Male                 0.42
    Smiling              0.48
    Mouth_Slightly_Open  Smiling: 0.74, else 0.22
    Narrow_Eyes          Smiling: 0.16, else 0.07
    Heavy_Makeup         Male: 0.01, else 0.66
    Wearing_Lipstick     Male: 0.005; female with Heavy_Makeup: 0.95, without: 0.55
    Bald                 Male: 0.05, else 0.001
    Bangs                Bald: 0; else Male: 0.08, female: 0.21
    Blond_Hair           Bald: 0; else Male: 0.04, female: 0.25
    Black_Hair           Blond_Hair: 0; else Male: 0.33, female: 0.27
    Goatee               Male: 0.15, else 0
    Mustache             Male with Goatee: 0.45, Male without: 0.03, female: 0
    Eyeglasses           Male: 0.12, else 0.03
    Big_Nose             Male: 0.42, else 0.08
    Pale_Skin            Male: 0.02, else 0.06
    Wearing_Hat          0.05

The written files are CelebA's (``celeba/img_align_celeba/000001.jpg``..., ``list_attr_celeba.txt``
with CelebA's 40 columns in CelebA's order, ``list_eval_partition.txt`` with the first 80 % of
images as train, the next 10 % valid, the last 10 % test), so ``disentangle.data.celeba`` reads
them exactly as it reads real CelebA. In the attribute file the 16 modelled attributes hold the
truth, ``No_Beard`` is 1 exactly when there is neither Goatee nor Mustache, ``Brown_Hair`` is 1
when the hair is neither blond nor black and the head is not bald, and the 22 attributes the
renderer does not model (Young, Attractive, ...) are -1 for every image: in CelebA's format -1
means "absent", so a model of those columns learns nothing from the synthetic set. Next to them
``factors.csv`` holds every ground-truth factor of every image (attributes 0/1, nuisance values).
"""

from __future__ import annotations

import colorsys
import json
import os
import shutil
from pathlib import Path

import numpy as np

from disentangle.data.base import GroundTruthDataset, check_indices
from disentangle.errors import UserError

IMAGE_SIZE = 64

ATTRIBUTES = (
    "Bald", "Bangs", "Big_Nose", "Black_Hair", "Blond_Hair", "Eyeglasses", "Goatee",
    "Heavy_Makeup", "Male", "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "Pale_Skin",
    "Smiling", "Wearing_Hat", "Wearing_Lipstick",
)

#: name -> (low, high, number of grid values of the ground-truth dataset).
NUISANCE_RANGES = {
    "position_x": (-1.0, 1.0, 5),
    "position_y": (-1.0, 1.0, 5),
    "size": (-1.0, 1.0, 4),
    "rotation": (-1.0, 1.0, 5),
    "skin_tone": (0.0, 1.0, 4),
    "hair_tone": (0.0, 1.0, 4),
    "background_hue": (0.0, 1.0, 6),
    "lighting": (-1.0, 1.0, 5),
}
NUISANCES = tuple(NUISANCE_RANGES)


def _grid(low: float, high: float, count: int, periodic: bool) -> np.ndarray:
    values = np.linspace(low, high, count + 1 if periodic else count)
    return values[:-1] if periodic else values


#: The grid of values each nuisance factor takes in the ground-truth dataset.
NUISANCE_GRID = {name: _grid(lo, hi, n, periodic=name == "background_hue")
                 for name, (lo, hi, n) in NUISANCE_RANGES.items()}
#: Nuisance values of the ground-truth dataset when only the attributes vary.
NUISANCE_FIXED = {"position_x": 0.0, "position_y": 0.0, "size": 0.0, "rotation": 0.0,
                  "skin_tone": 0.3, "hair_tone": 0.4, "background_hue": 0.55, "lighting": 0.0}

#: The written dataset's joint distribution: (attribute, parents, {parent values: P(1)}).
JOINT_DISTRIBUTION = (
    ("Male", (), {(): 0.42}),
    ("Smiling", (), {(): 0.48}),
    ("Mouth_Slightly_Open", ("Smiling",), {(0,): 0.22, (1,): 0.74}),
    ("Narrow_Eyes", ("Smiling",), {(0,): 0.07, (1,): 0.16}),
    ("Heavy_Makeup", ("Male",), {(0,): 0.66, (1,): 0.01}),
    ("Wearing_Lipstick", ("Male", "Heavy_Makeup"),
     {(0, 0): 0.55, (0, 1): 0.95, (1, 0): 0.005, (1, 1): 0.005}),
    ("Bald", ("Male",), {(0,): 0.001, (1,): 0.05}),
    ("Bangs", ("Male", "Bald"), {(0, 0): 0.21, (1, 0): 0.08, (0, 1): 0.0, (1, 1): 0.0}),
    ("Blond_Hair", ("Male", "Bald"), {(0, 0): 0.25, (1, 0): 0.04, (0, 1): 0.0, (1, 1): 0.0}),
    ("Black_Hair", ("Male", "Blond_Hair"),
     {(0, 0): 0.27, (1, 0): 0.33, (0, 1): 0.0, (1, 1): 0.0}),
    ("Goatee", ("Male",), {(0,): 0.0, (1,): 0.15}),
    ("Mustache", ("Male", "Goatee"), {(0, 0): 0.0, (0, 1): 0.0, (1, 0): 0.03, (1, 1): 0.45}),
    ("Eyeglasses", ("Male",), {(0,): 0.03, (1,): 0.12}),
    ("Big_Nose", ("Male",), {(0,): 0.08, (1,): 0.42}),
    ("Pale_Skin", ("Male",), {(0,): 0.06, (1,): 0.02}),
    ("Wearing_Hat", (), {(): 0.05}),
)

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

# ---------------------------------------------------------------------------------------------
# The joint distribution of the written dataset


def _conditional(rows: np.ndarray, parents: tuple, table: dict) -> np.ndarray:
    """P(attribute = 1) for each attribute row, given its parents' values in that row."""
    parent_values = rows[:, [ATTRIBUTES.index(parent) for parent in parents]]
    probability = np.zeros(len(rows))
    for key, p in table.items():
        probability[(parent_values == np.asarray(key)).all(axis=1)] = p
    return probability


def sample_attributes(num: int, random_state: np.random.RandomState) -> np.ndarray:
    """``num`` attribute rows (uint8, columns ``ATTRIBUTES``) from ``JOINT_DISTRIBUTION``."""
    attributes = np.zeros((num, len(ATTRIBUTES)), dtype=np.uint8)
    for name, parents, table in JOINT_DISTRIBUTION:
        probability = _conditional(attributes, parents, table)
        attributes[:, ATTRIBUTES.index(name)] = random_state.random_sample(num) < probability
    return attributes


def attribute_marginals() -> dict[str, float]:
    """Exact P(attribute = 1) under ``JOINT_DISTRIBUTION`` (enumerating all 2^16 rows)."""
    rows = (np.arange(2 ** len(ATTRIBUTES))[:, None] >> np.arange(len(ATTRIBUTES))) & 1
    joint = np.ones(len(rows))
    for name, parents, table in JOINT_DISTRIBUTION:
        probability = _conditional(rows, parents, table)
        joint *= np.where(rows[:, ATTRIBUTES.index(name)] == 1, probability, 1 - probability)
    return {name: float(joint @ rows[:, i]) for i, name in enumerate(ATTRIBUTES)}


def sample_nuisance(num: int, random_state: np.random.RandomState) -> np.ndarray:
    """``num`` rows of nuisance values (columns ``NUISANCES``), uniform over their ranges."""
    return np.stack([random_state.uniform(lo, hi, num) for lo, hi, _ in NUISANCE_RANGES.values()],
                    axis=1)


# ---------------------------------------------------------------------------------------------
# The renderer

# Colours (RGB in [0, 1]); the skin and hair palettes are ramps that skin_tone and hair_tone
# walk along.
_SKIN = np.float32([[0.98, 0.86, 0.76], [0.94, 0.76, 0.63], [0.80, 0.58, 0.44],
                    [0.58, 0.40, 0.29], [0.40, 0.27, 0.20]])
_HAIR = np.float32([[0.62, 0.45, 0.28], [0.58, 0.28, 0.14], [0.40, 0.25, 0.14],
                    [0.22, 0.14, 0.08]])
_PALE = np.float32([0.98, 0.93, 0.90])
_BLOND = np.float32([0.95, 0.83, 0.52])
_HAT = np.float32([0.50, 0.10, 0.12])
_CLOTHES = np.float32([0.20, 0.22, 0.28])
_LIPSTICK = np.float32([0.78, 0.08, 0.20])
_EYESHADOW = np.float32([0.50, 0.30, 0.52])
_BLUSH = np.float32([0.96, 0.42, 0.48])
_LIP_TINT = np.float32([0.82, 0.5, 0.5])
_EYE_WHITE = np.float32([0.95, 0.95, 0.95])
_IRIS = np.float32([0.32, 0.2, 0.12])
_PUPIL = np.float32([0.05, 0.05, 0.05])
_LINE = np.float32([0.12, 0.12, 0.12])
_MOUTH = np.float32([0.3, 0.06, 0.08])
_LENS = np.float32([0.75, 0.85, 0.95])
_FRAME = np.float32([0.08, 0.08, 0.1])


def _ramp(palette: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Colours (N, 3) at positions ``t`` in [0, 1] along a piecewise-linear palette."""
    position = np.clip(t, 0, 1) * (len(palette) - 1)
    low = np.minimum(position.astype(int), len(palette) - 2)
    weight = (position - low)[:, None]
    return (palette[low] * (1 - weight) + palette[low + 1] * weight).astype(np.float32)


def _mix(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Per-image blend of colours (N, 3) towards ``b`` by ``weight`` (N,)."""
    return (a + (b - a) * np.asarray(weight, np.float32)[:, None]).astype(np.float32)


def _ellipse(x, y, cx, cy, rx, ry):
    """Approximate signed distance (face units) to an axis-aligned ellipse."""
    u = (x - cx) * np.float32(1 / rx) if np.isscalar(rx) else (x - cx) / rx
    v = (y - cy) * np.float32(1 / ry) if np.isscalar(ry) else (y - cy) / ry
    k = np.sqrt(u * u + v * v)
    k += np.float32(1e-6)
    u /= rx
    v /= ry
    gradient = np.sqrt(u * u + v * v)
    gradient += np.float32(1e-6) * k
    k -= 1
    k *= k + 1
    return np.divide(k, gradient, out=k)


def _band(x, y, cx, cy, half_width, bend, thickness):
    """A lens-shaped stroke along the parabola y = cy - bend * u^2 (u = (x - cx) / half_width),
    thickest (``thickness``) in the middle and tapering to points at both ends."""
    u = (x - cx) / half_width
    taper = np.sqrt(np.clip(1 - u * u, 0, None))
    beyond_ends = np.clip(np.abs(u) - 1, 0, None) * half_width
    return np.abs(y - (cy - bend * u * u)) - thickness * taper + beyond_ends


def _box(x, y, x0, x1, y0, y1):
    """Signed distance (exact inside, a lower bound outside) to the box [x0, x1] x [y0, y1]."""
    return np.maximum(np.maximum(x0 - x, x - x1), np.maximum(y0 - y, y - y1))


class _Canvas:
    """A batch of images with per-image face coordinates; ``paint`` composites one shape."""

    def __init__(self, nuisance: dict, background: np.ndarray):
        n = len(background)
        size = IMAGE_SIZE
        # The head's centre (pixels), its size (pixels per face unit; the face is about 1.5
        # units wide) and its tilt.
        self.scale = (18.0 * (1 + 0.1 * nuisance["size"])).astype(np.float32)
        self.cx = 32 + 4 * nuisance["position_x"]
        self.cy = 30 + 3 * nuisance["position_y"]
        angle = np.deg2rad(12.0 * nuisance["rotation"])
        self.cos, self.sin = np.cos(angle), np.sin(angle)
        pixels = np.arange(size, dtype=np.float32) + 0.5
        dx = (pixels[None, None, :] - self.cx[:, None, None].astype(np.float32))
        dy = (pixels[None, :, None] - self.cy[:, None, None].astype(np.float32))
        c = self.cos[:, None, None].astype(np.float32)
        s = self.sin[:, None, None].astype(np.float32)
        inverse = 1 / self.scale[:, None, None]
        self.x = (dx * c + dy * s) * inverse
        self.y = (dy * c - dx * s) * inverse
        fade = np.linspace(1.08, 0.86, size, dtype=np.float32)[None, None, :, None]
        self.image = np.empty((n, 3, size, size), np.float32)
        self.image[:] = background[:, :, None, None] * fade  # a backdrop darker at the bottom
        self.coverage = np.zeros((n, size, size), np.float32)
        self._pixels_per_unit = self.scale[:, None, None]

    def region(self, box, images=None):
        """Pixel slices covering the face-units ``box`` (x0, x1, y0, y1) in every image (or
        in the ``images`` listed)."""
        x0, x1, y0, y1 = box
        corners = np.array([[x0, y0], [x0, y1], [x1, y0], [x1, y1]], dtype=float)
        pick = slice(None) if images is None else images
        cx, cy, scale = self.cx[pick, None], self.cy[pick, None], self.scale[pick, None]
        cos, sin = self.cos[pick, None], self.sin[pick, None]
        px = cx + scale * (corners[:, 0] * cos - corners[:, 1] * sin)
        py = cy + scale * (corners[:, 0] * sin + corners[:, 1] * cos)
        size = IMAGE_SIZE
        rows = slice(max(0, int(py.min()) - 2), min(size, int(np.ceil(py.max())) + 2))
        cols = slice(max(0, int(px.min()) - 2), min(size, int(np.ceil(px.max())) + 2))
        return rows, cols

    def coordinates(self, box, images=None):
        """Face coordinates (x, y) of the pixels around ``box`` in every image (or in the
        ``images`` listed, for parts only some faces have), and where to ``paint`` them."""
        rows, cols = self.region(box, images)
        if images is None:
            return self.x[:, rows, cols], self.y[:, rows, cols], (None, rows, cols)
        return self.x[images, rows, cols], self.y[images, rows, cols], (images, rows, cols)

    def upright(self, where):
        """Face coordinates without the head's rotation at the pixels of ``where``."""
        _, rows, cols = where
        pixels = np.arange(IMAGE_SIZE, dtype=np.float32) + 0.5
        inverse = 1 / self.scale[:, None, None]
        x = (pixels[None, None, cols] - self.cx[:, None, None].astype(np.float32)) * inverse
        y = (pixels[None, rows, None] - self.cy[:, None, None].astype(np.float32)) * inverse
        return x, y

    def paint(self, distance, colour, where, opacity=None, softness=1.0, silhouette=False):
        """Composite ``colour`` ((3,), (N, 3) or (N, 3, h, w)) inside ``distance`` < 0,
        anti-aliased over ``softness`` pixels, with an ``opacity`` (per image, or for all).
        Silhouette shapes (hair, head, body, hat) mark where the light falls."""
        images, rows, cols = where
        pixels_per_unit = self._pixels_per_unit if images is None else (
            self._pixels_per_unit[images])
        alpha = distance * (pixels_per_unit * np.float32(-1 / softness))
        alpha += np.float32(0.5)
        np.clip(alpha, 0, 1, out=alpha)
        if opacity is not None:  # one for all images, or one per image
            alpha *= np.asarray(opacity, np.float32).reshape(-1, 1, 1)
        colour = np.asarray(colour, np.float32)
        if colour.ndim < 4:
            colour = colour.reshape(-1, 3, 1, 1)
        pick = slice(None) if images is None else images
        target = self.image[pick, :, rows, cols]  # a view, or a copy written back below
        change = colour - target
        change *= alpha[:, None]
        target += change
        if images is not None:
            self.image[images, :, rows, cols] = target
        if silhouette:
            covered = self.coverage[pick, rows, cols]
            covered += alpha * (1 - covered)
            if images is not None:
                self.coverage[images, rows, cols] = covered


def render_faces(attributes: np.ndarray, nuisance: np.ndarray) -> np.ndarray:
    """Faces for attribute rows (N, 16; 0/1 in ``ATTRIBUTES`` order) and nuisance rows
    (N, 8; ``NUISANCES`` order) as float32 (N, 3, 64, 64) in [0, 1]."""
    attributes = np.asarray(attributes)
    nuisance = np.asarray(nuisance, dtype=np.float64)
    a = {name: attributes[:, i].astype(np.float32) for i, name in enumerate(ATTRIBUTES)}
    f = {name: nuisance[:, i] for i, name in enumerate(NUISANCES)}
    male, female, bald, smiling = a["Male"], 1 - a["Male"], a["Bald"], a["Smiling"]

    def m(values):  # one value per image, broadcast over pixels
        return np.asarray(values, np.float32)[:, None, None]

    def c(colours):  # one colour per image, broadcast over pixels
        return np.asarray(colours, np.float32)[:, :, None, None]

    background = np.float32([colorsys.hsv_to_rgb(h % 1.0, 0.32, 0.78)
                             for h in f["background_hue"]])
    skin = _mix(_ramp(_SKIN, f["skin_tone"]), _PALE, 0.7 * a["Pale_Skin"])
    hair = _ramp(_HAIR, f["hair_tone"])
    blond, black = a["Blond_Hair"], a["Black_Hair"]
    hair = _mix(hair, _BLOND, 0.85 * blond)
    hair = _mix(hair, hair * 0.2 + 0.03, black * (1 - blond))  # both: a dark blond
    hair = hair * (1 - 0.5 * black * blond)[:, None]
    brows = hair * 0.55 + 0.02
    canvas = _Canvas(f, background)

    # Hair behind the head: short (male) or down to the shoulders (female); bald keeps the sides.
    x, y, where = canvas.coordinates((-1.02, 1.02, -1.26, 1.47))
    upper = _ellipse(x, y, 0, m(-0.12 - 0.02 * female), m(0.84 + 0.12 * female),
                     m(0.98 + 0.12 * female))
    lower = _ellipse(x, y, 0, m(0.7 - 0.82 * male), m(1.0 - 0.16 * male), m(1.0 - 0.02 * male))
    back = np.maximum(np.minimum(upper, lower), y - m(1.45 - 1.33 * male))
    back = np.maximum(back, np.where(m(bald) > 0, -0.1 - y, -9.0))
    strands = 1 + 0.07 * np.sin(38 * x + 4 * y)
    canvas.paint(back, c(hair * 0.82) * strands[:, None], where, silhouette=True)

    # Shoulders (upright: only the head tilts) and neck.
    x, y, where = canvas.coordinates((-2.2, 2.2, 1.25, 3.4))
    upright_x, upright_y = canvas.upright(where)
    canvas.paint(_ellipse(upright_x, upright_y, 0, 2.3, 1.8, 1.0), _CLOTHES, where,
                 silhouette=True)
    x, y, where = canvas.coordinates((-0.4, 0.4, 0.4, 1.6))
    neck_shade = c(skin) * (0.78 + 0.1 * np.clip(1.4 - y, 0, 1))[:, None]
    neck = _box(x / m(0.88 + 0.22 * male), y, -0.32, 0.32, 0.4, 1.6)
    canvas.paint(neck, neck_shade, where, silhouette=True)

    # Ears, then the head (a jaw that narrows more for women), shaded towards its rim.
    for side in (-1, 1):
        x, y, where = canvas.coordinates((side * 0.6, side * 0.88, -0.2, 0.24))
        canvas.paint(_ellipse(x, y, side * 0.74, 0.02, 0.12, 0.2), skin * 0.88, where,
                     silhouette=True)
        canvas.paint(_ellipse(x, y, side * 0.76, 0.02, 0.055, 0.11), skin * 0.7, where)
    x, y, where = canvas.coordinates((-0.78, 0.78, -1.02, 1.02))
    taper = 1 - m(0.3 - 0.14 * male) * np.clip(y, 0, None) ** 2
    head = _ellipse(x / taper, y, 0, 0, 0.74, 0.98)
    rim = np.clip((x / 0.74) ** 2 + (y / 0.98) ** 2, 0, 1)
    canvas.paint(head, c(skin) * (1.04 - 0.16 * rim * rim)[:, None], where, silhouette=True)

    # Make-up (eye shadow, blush) and the cheeks a smile raises, under the eyes.
    makeup = np.flatnonzero(a["Heavy_Makeup"])
    for side in (-1, 1):
        if len(makeup):
            x, y, where = canvas.coordinates((side * 0.1, side * 0.6, -0.25, 0.4), makeup)
            canvas.paint(_ellipse(x, y, side * 0.3, -0.13, 0.17, 0.08), _EYESHADOW, where,
                         opacity=0.6, softness=2)
            canvas.paint(_ellipse(x, y, side * 0.42, 0.26, 0.14, 0.09), _BLUSH, where,
                         opacity=0.5, softness=3)
        x, y, where = canvas.coordinates((side * 0.18, side * 0.58, 0.05, 0.35))
        canvas.paint(_ellipse(x, y, side * 0.38, 0.2, 0.15, 0.1), np.minimum(skin * 1.15, 1),
                     where, opacity=0.7 * smiling, softness=3)

    # Eyes: white, iris, pupil and an upper lid line that make-up thickens.
    eye_height = m(0.078 - 0.045 * a["Narrow_Eyes"])
    liner = m(0.014 + 0.02 * a["Heavy_Makeup"])
    for side in (-1, 1):
        x, y, where = canvas.coordinates((side * 0.14, side * 0.46, -0.2, 0.04))
        eye = _ellipse(x, y, side * 0.3, -0.08, 0.135, eye_height)
        canvas.paint(eye, _EYE_WHITE, where)
        canvas.paint(np.maximum(_ellipse(x, y, side * 0.3, -0.08, 0.068, 0.068), eye), _IRIS,
                     where)
        canvas.paint(np.maximum(_ellipse(x, y, side * 0.3, -0.08, 0.032, 0.032), eye), _PUPIL,
                     where)
        canvas.paint(np.maximum(np.abs(eye) - liner, y + 0.085), _LINE, where)

    # Eyebrows, thicker for men.
    x, y, where = canvas.coordinates((-0.55, 0.55, -0.4, -0.15))
    for side in (-1, 1):
        canvas.paint(_band(x, y, side * 0.31, -0.27, 0.17, -0.045, m(0.026 + 0.02 * male)),
                     brows, where)

    # Nose: a shaded side, a tip and two nostrils; Big_Nose makes it longer and wider.
    x, y, where = canvas.coordinates((-0.25, 0.25, -0.2, 0.42))
    grow = m(1 + 0.6 * a["Big_Nose"])
    canvas.paint(_band(y, x, 0.1, 0.07 * grow, 0.15 * grow, 0.0, 0.025 * grow), skin * 0.8,
                 where, softness=2)
    canvas.paint(_ellipse(x, y, 0, 0.22 + 0.05 * (grow - 1), 0.075 * grow, 0.055 * grow),
                 skin * 0.86, where, softness=1.5)
    for side in (-1, 1):
        canvas.paint(_ellipse(x, y, side * 0.055 * grow, 0.27 + 0.06 * (grow - 1),
                              0.03 * grow, 0.018 * grow), skin * 0.4, where)

    # Mouth: lips around a centre line whose corners rise when smiling; an open mouth parts the
    # lips around a dark inside with teeth.
    x, y, where = canvas.coordinates((-0.42, 0.42, 0.3, 0.75))
    half_width = m(0.2 + 0.07 * smiling)
    bend = m(0.11 * smiling - 0.01)
    centre = 0.52 + m(0.04 * smiling)
    opening = m(0.06 * a["Mouth_Slightly_Open"])
    lips = _mix(skin * _LIP_TINT, _LIPSTICK, a["Wearing_Lipstick"])
    upper = _band(x, y, 0, centre - opening - 0.03, half_width, bend, 0.035)
    lower = _band(x, y, 0, centre + opening + 0.035, half_width * 0.85, bend, 0.045)
    canvas.paint(np.minimum(upper, lower), lips, where)
    inside = _band(x, y, 0, centre, half_width * 0.92, bend, opening + 0.012)
    canvas.paint(inside, _MOUTH, where)
    teeth = np.maximum(_band(x, y, 0, centre - opening * 0.45, half_width * 0.7, bend,
                             opening * 0.5), inside)
    canvas.paint(teeth, _EYE_WHITE, where, opacity=a["Mouth_Slightly_Open"])

    # Mustache above the mouth.
    mustache = np.flatnonzero(a["Mustache"])
    if len(mustache):
        x, y, where = canvas.coordinates((-0.32, 0.32, 0.3, 0.5), mustache)
        canvas.paint(_band(x, y, 0, 0.42, 0.27, -0.04, 0.045), brows[mustache], where)

    # Goatee on the chin.
    goatee = np.flatnonzero(a["Goatee"])
    if len(goatee):
        x, y, where = canvas.coordinates((-0.2, 0.2, 0.58, 1.0), goatee)
        shape = np.minimum(_ellipse(x, y, 0, 0.84, 0.15, 0.13), _box(x, y, -0.06, 0.06, 0.6, 0.8))
        canvas.paint(shape, brows[goatee], where)

    # Hair over the forehead: a cap above the hairline (a lower, jagged one with bangs); bald
    # heads keep only the fringe.
    x, y, where = canvas.coordinates((-0.9, 0.9, -1.26, 0.0))
    outer = _ellipse(x, y, 0, -0.12 - 0.04 * m(female), 0.8 + 0.04 * m(female),
                     1.0 + 0.06 * m(female))
    hairline = -0.6 + 0.5 * (x + 0.12 * m(female)) ** 2
    fringe = -0.3 + 0.3 * x * x + 0.035 * np.abs(np.sin(22 * x))
    cap = np.maximum(outer, y - np.where(m(a["Bangs"]) > 0, fringe, hairline))
    cap = np.maximum(cap, np.where(m(bald) > 0, hairline + 0.1 - y, -9.0))
    strands = 1 + 0.08 * np.sin(40 * x + 6 * y)
    canvas.paint(cap, c(hair) * strands[:, None], where, silhouette=True)

    # Hat: a crown with a band over the top of the head, and a brim.
    hat = np.flatnonzero(a["Wearing_Hat"])
    if len(hat):
        x, y, where = canvas.coordinates((-1.2, 1.2, -1.36, -0.34), hat)
        crown = np.maximum(_ellipse(x, y, 0, -0.62, 0.86, 0.72), y + 0.48)
        canvas.paint(crown, _HAT, where, silhouette=True)
        canvas.paint(np.maximum(crown, np.abs(y + 0.6) - 0.05), _HAT * 0.55, where)
        canvas.paint(_ellipse(x, y, 0, -0.47, 1.18, 0.11), _HAT * 0.8, where, silhouette=True)

    # Eyeglasses: tinted lenses, frames, bridge and temples.
    glasses = np.flatnonzero(a["Eyeglasses"])
    if len(glasses):
        for side in (-1, 1):
            x, y, where = canvas.coordinates((side * 0.08, side * 0.78, -0.24, 0.1), glasses)
            lens = _ellipse(x, y, side * 0.3, -0.07, 0.2, 0.15)
            canvas.paint(lens, _LENS, where, opacity=0.25)
            canvas.paint(np.abs(lens) - 0.025, _FRAME, where)
            canvas.paint(_box(side * x, y, 0.5, 0.76, -0.12, -0.08), _FRAME, where)
        x, y, where = canvas.coordinates((-0.12, 0.12, -0.14, -0.06), glasses)
        canvas.paint(_band(x, y, 0, -0.08, 0.11, 0.02, 0.022), _FRAME, where)

    # Light from one side over everything but the backdrop.
    light = np.clip(canvas.x, -1.5, 1.5)
    light *= m(0.22 * f["lighting"])
    light *= canvas.coverage
    light += 1
    image = canvas.image
    image *= light[:, None]
    return np.clip(image, 0, 1, out=image)


def attribute_examples() -> np.ndarray:
    """17 faces (float32 (17, 3, 64, 64)): one with every attribute off (at ``NUISANCE_FIXED``),
    then the same face with each of ``ATTRIBUTES`` on in turn, to see what each one draws."""
    rows = np.vstack([np.zeros(len(ATTRIBUTES), np.uint8), np.eye(len(ATTRIBUTES), dtype=np.uint8)])
    nuisance = np.tile([NUISANCE_FIXED[name] for name in NUISANCES], (len(rows), 1))
    return render_faces(rows, nuisance)


# ---------------------------------------------------------------------------------------------
# The ground-truth dataset: every factor combination rendered on demand


class FacesDataset(GroundTruthDataset):
    """Synthetic faces with independent ground-truth factors: the 16 binary ``ATTRIBUTES``,
    followed (unless ``vary_nuisance`` is False, which holds them at ``NUISANCE_FIXED``) by the
    8 nuisance factors on the grid ``NUISANCE_GRID``. Images are rendered when asked for."""

    name = "faces"
    render_batch = 128  # images rendered at once: large enough to vectorise, small enough for L2

    def __init__(self, vary_nuisance: bool = True):
        self.vary_nuisance = bool(vary_nuisance)
        self.factor_names = ATTRIBUTES + (NUISANCES if self.vary_nuisance else ())
        nuisance_sizes = tuple(len(NUISANCE_GRID[name]) for name in NUISANCES)
        self._num_values = (2,) * len(ATTRIBUTES) + (nuisance_sizes if self.vary_nuisance else ())

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return (3, IMAGE_SIZE, IMAGE_SIZE)

    @property
    def factors_num_values(self) -> tuple[int, ...]:
        return self._num_values

    def render_inputs(self, factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The renderer's (attributes, nuisance values) for rows of factor classes."""
        factors = np.asarray(factors, dtype=np.int64)
        attributes = factors[:, :len(ATTRIBUTES)].astype(np.uint8)
        if self.vary_nuisance:
            nuisance = np.stack([NUISANCE_GRID[name][factors[:, len(ATTRIBUTES) + i]]
                                 for i, name in enumerate(NUISANCES)], axis=1)
        else:
            nuisance = np.tile([NUISANCE_FIXED[name] for name in NUISANCES], (len(factors), 1))
        return attributes, nuisance

    def images(self, indices: np.ndarray) -> np.ndarray:
        indices = check_indices(indices, len(self))
        factors = self.index_to_factors(indices)
        images = np.empty((len(indices), *self.observation_shape), np.float32)
        for start in range(0, len(indices), self.render_batch):
            rows = slice(start, start + self.render_batch)
            images[rows] = render_faces(*self.render_inputs(factors[rows]))
        return images

    def describe(self) -> dict:
        return {**super().describe(), "vary_nuisance": self.vary_nuisance,
                "nuisance_grid": {name: NUISANCE_GRID[name].tolist() for name in NUISANCES}
                if self.vary_nuisance else NUISANCE_FIXED}


def load_faces(vary_nuisance: bool = True) -> FacesDataset:
    """``get_dataset("faces")``: the ground-truth synthetic faces (see ``FacesDataset``)."""
    return FacesDataset(vary_nuisance=vary_nuisance)


# ---------------------------------------------------------------------------------------------
# The written dataset, in CelebA's layout

#: Bump when the renderer or the file format changes, so old trees are regenerated.
FORMAT_VERSION = 1
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)  # train, valid, test (CelebA's are 0.803, 0.098, 0.099)
JPEG_QUALITY = 90
_CHUNK = 512  # images per worker task


def default_faces_root() -> Path:
    """Where ``vae-study data faces`` writes by default: <cache>/faces (holding celeba/)."""
    from disentangle.data import cache_dir

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
    """Worker: render and JPEG-encode one chunk of images into ``folder``."""
    from PIL import Image

    folder, names, attributes, nuisance = task
    for start in range(0, len(names), FacesDataset.render_batch):
        rows = slice(start, start + FacesDataset.render_batch)
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
        raise UserError(f"--num must be at least 1, got {num}")
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
    """Run ``_write_chunk`` over ``tasks`` in ``workers`` processes (default: one per core)."""
    from tqdm import tqdm

    workers = workers or len(os.sched_getaffinity(0))
    with tqdm(total=num, unit="img", desc="rendering faces", disable=not progress) as bar:
        if workers <= 1 or len(tasks) <= 1:
            for task in tasks:
                bar.update(_write_chunk(task))
            return
        import multiprocessing

        with multiprocessing.get_context().Pool(min(workers, len(tasks))) as pool:
            for count in pool.imap_unordered(_write_chunk, tasks):
                bar.update(count)


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
