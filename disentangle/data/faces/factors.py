"""The factors a synthetic face is drawn from, and the two distributions they follow.

16 binary attributes named as in CelebA (``ATTRIBUTES``, in CelebA's column order) and 8
continuous nuisance factors (``NUISANCE_RANGES``; what each draws is listed in the package
docstring).

Two distributions, on purpose
-----------------------------
* The ground-truth dataset (``FacesDataset``, ``get_dataset("faces")``) follows
  disentanglement_lib's interface: every factor is drawn uniformly and independently, and every
  combination of factor classes is one image (2^16 x 5*5*4*5*4*4*6*5 = 15.7 billion images,
  rendered on demand; the nuisance values are the grid ``NUISANCE_GRID``). Independence is what
  the BetaVAE and FactorVAE metrics assume.
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
"""

from __future__ import annotations

import numpy as np

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


def fixed_nuisance(num: int) -> np.ndarray:
    """``num`` rows of ``NUISANCE_FIXED`` (columns ``NUISANCES``)."""
    return np.tile([NUISANCE_FIXED[name] for name in NUISANCES], (num, 1))
