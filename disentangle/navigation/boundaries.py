"""Attribute boundaries in a latent space, as InterfaceGAN (Shen et al. 2020) fits them.

``fit_boundary(codes, scores)``: rank the codes by an attribute score, keep the most confident
``fraction`` on each side (InterfaceGAN: 2 % each), split them into training and validation
parts, fit a linear SVM (``sklearn.svm.LinearSVC``) and return the unit normal of its
hyperplane, pointing towards the attribute, as the editing direction. Its accuracy is measured
on the held-out confident codes (validation) and on all the remaining codes, labelled by
whether their score is above the middle (``threshold``).

The score is the attribute classifier's probability (what InterfaceGAN does with its attribute
predictors), or the dataset's 0/1 label, whose "most confident" codes are then a random choice
among each class.

``conditional_direction(n, others)``: InterfaceGAN's conditional manipulation edits attribute A
while holding B by moving along n_A - (n_A . n_B) n_B; for several attributes this projects
n_A onto the orthogonal complement of their span (least squares: n - B (B^T B)^+ B^T n),
which is the same thing for one, and is normalised again.

Summaries: ``cosine_matrix`` between boundaries (entanglement between attributes) and
``axis_alignment`` of a direction: the largest share of its squared length on one latent
dimension, max_i w_i^2 / sum_i w_i^2 (1 = the attribute is one latent axis, 1/D = spread evenly
over D dimensions), with the dimension that holds it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disentangle.errors import UserError
from disentangle.navigation.settings import DEFAULT_FRACTION

DEFAULT_VALIDATION = 0.3
MIN_PER_SIDE = 10


@dataclass
class Boundary:
    """A unit normal in latent space and how well its hyperplane separates the attribute."""

    attribute: str
    normal: np.ndarray  # (D,), unit length, pointing towards the attribute
    offset: float  # the hyperplane is normal . z + offset = 0
    validation_accuracy: float  # on the held-out confident codes
    remaining_accuracy: float  # on every code not used to fit (NaN if none)
    num_per_side: int

    @property
    def axis_alignment(self) -> tuple[float, int]:
        return axis_alignment(self.normal)


def _confident(scores: np.ndarray, fraction: float, random_state: np.random.RandomState):
    """Indices of the ``fraction`` highest and lowest scores (at least ``MIN_PER_SIDE`` each,
    as InterfaceGAN ranks by attribute score); for 0/1 labels, as many drawn at random from
    each class (at most the whole class)."""
    count = max(MIN_PER_SIDE, int(round(fraction * len(scores))))
    if np.isin(scores, (0.0, 1.0)).all():
        ones, zeros = np.flatnonzero(scores == 1), np.flatnonzero(scores == 0)
        return (random_state.permutation(ones)[:count],
                random_state.permutation(zeros)[:count])
    count = min(count, len(scores) // 2)
    order = np.argsort(scores, kind="stable")
    return order[::-1][:count], order[:count]


def fit_boundary(codes: np.ndarray, scores: np.ndarray, attribute: str = "attribute",
                 fraction: float = DEFAULT_FRACTION, validation: float = DEFAULT_VALIDATION,
                 threshold: float = 0.5, seed: int = 0, C: float = 1.0) -> Boundary:
    """The InterfaceGAN boundary of ``attribute`` from ``codes`` (N, D) and their ``scores``
    (N,): probabilities or 0/1 labels (see the module docstring). ``threshold`` splits the
    remaining codes into with and without the attribute to measure the accuracy there."""
    from sklearn.svm import LinearSVC

    codes = np.asarray(codes, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if not 0 < fraction <= 0.5:
        raise UserError(f"the confident fraction must lie in (0, 0.5], got {fraction}")
    random_state = np.random.RandomState(seed)
    positive, negative = _confident(scores, fraction, random_state)
    if (min(len(positive), len(negative)) < MIN_PER_SIDE // 2
            or scores[positive].min() <= scores[negative].max()):
        raise UserError(f"{attribute}: too few images with and without it ({len(positive)} "
                        f"and {len(negative)} of {len(scores)}, or no difference in score); a "
                        f"boundary needs both sides: use more labelled images or another "
                        f"attribute")
    chosen = np.concatenate([positive, negative])
    labels = np.concatenate([np.ones(len(positive)), np.zeros(len(negative))])
    shuffled = random_state.permutation(len(chosen))
    cut = int(round(len(chosen) * (1 - validation)))
    train, held = shuffled[:cut], shuffled[cut:]
    # Raw codes, as InterfaceGAN: standardising would blow up collapsed dimensions (tiny
    # spread, ignored by the decoder) into directions that edit nothing.
    svm = LinearSVC(C=C, dual="auto", max_iter=20000, random_state=seed)
    svm.fit(codes[chosen[train]], labels[train])
    norm = np.linalg.norm(svm.coef_[0])
    if not norm > 0:
        raise UserError(f"{attribute}: the SVM found no direction (all weights zero): the "
                        f"codes do not separate this attribute")
    normal, offset = svm.coef_[0] / norm, svm.intercept_[0] / norm

    def accuracy(rows, truth):
        if len(rows) == 0:
            return float("nan")
        return float((((codes[rows] @ normal + offset) > 0) == truth).mean())

    rest = np.setdiff1d(np.arange(len(codes)), chosen)
    return Boundary(attribute, normal, float(offset),
                    accuracy(chosen[held], labels[held] > 0),
                    accuracy(rest, scores[rest] > threshold),
                    int(min(len(positive), len(negative))))


def conditional_direction(direction: np.ndarray, others) -> np.ndarray:
    """``direction`` with the span of the ``others`` (each (D,)) projected out, unit length
    (see the module docstring). Raises UserError when nothing is left."""
    direction = np.asarray(direction, dtype=np.float64)
    others = [np.asarray(o, dtype=np.float64) for o in others]
    if not others:
        return direction / np.linalg.norm(direction)
    basis = np.stack(others, axis=1)  # (D, M)
    coefficients, *_ = np.linalg.lstsq(basis, direction, rcond=None)
    residual = direction - basis @ coefficients
    norm = np.linalg.norm(residual)
    if norm < 1e-8 * max(np.linalg.norm(direction), 1e-12):
        raise UserError("the direction lies in the span of the attributes held fixed, so "
                        "nothing is left to edit: hold fewer attributes")
    return residual / norm


def cosine_matrix(normals) -> np.ndarray:
    """(K, K) cosine similarities between unit ``normals``."""
    stacked = np.stack([np.asarray(n, dtype=np.float64) for n in normals])
    stacked = stacked / np.linalg.norm(stacked, axis=1, keepdims=True)
    return stacked @ stacked.T


def axis_alignment(direction: np.ndarray) -> tuple[float, int]:
    """(max_i w_i^2 / |w|^2, argmax): how much of ``direction`` lies on one latent axis."""
    squared = np.asarray(direction, dtype=np.float64) ** 2
    return float(squared.max() / squared.sum()), int(squared.argmax())
