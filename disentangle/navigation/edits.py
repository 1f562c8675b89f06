"""Editing faces along a latent direction, and what the edit changed, at matched strength.

``edit_curves(model, classifier, codes, direction, strengths, target, scored)`` moves each code
z to z + σ s n for every strength s (0 first, in units of the latent prior's standard
deviation: the codes' prior is N(0, I)), where σ = +1 for a face whose reconstruction the
classifier finds without the target attribute and -1 for one with it, so every face is edited
towards the other side. It decodes and classifies every edited code and keeps, per face and
strength: the change of the target's probability towards the other side, the mean absolute
change of every other scored attribute's probability (side effects), whether the classified
target flipped, and the mean absolute pixel change.

Comparing models at one latent distance would reward a model just for the scale of its latent
space. ``matched`` finds instead the strength at which the *mean* change of the target reaches
a common value Δ (linear interpolation on the strength grid; the first crossing), and reads the
side effects, flip rate and pixel change there. An edit whose mean change never reaches Δ on
the grid is *unreached*: its matched side effects are +inf, worse than any reached edit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from disentangle.errors import UserError


def decode(model, codes: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Images (N, C, H, W) in [0, 1] decoded from ``codes`` (N, D), in inference mode."""
    out = []
    with torch.inference_mode():
        for start in range(0, len(codes), batch_size):
            batch = torch.as_tensor(codes[start:start + batch_size], dtype=torch.float32)
            out.append(model.decode(batch).float().clamp(0, 1).numpy())
    return np.concatenate(out)


def check_strengths(strengths) -> np.ndarray:
    """The strengths as an increasing array that starts at 0 and has a positive value."""
    values = np.asarray(sorted(set(float(s) for s in strengths)))
    if len(values) < 2 or values[0] != 0.0:
        listed = " ".join(f"{s:g}" for s in values)
        raise UserError(f"edit strengths must be 0 and at least one positive distance "
                        f"(e.g. 0 0.5 1 2 4), got {listed or 'none'}")
    return values


def check_target_change(delta: float) -> float:
    if not 0 < delta < 1:
        raise UserError(f"the matched target change is a change of a probability: it must lie "
                        f"in (0, 1), e.g. 0.4; got {delta:g}")
    return float(delta)


@dataclass
class EditCurves:
    """One edit of N faces at S strengths (see the module docstring); arrays are (N, S)."""

    strengths: np.ndarray
    target: np.ndarray    # change of the target's probability towards the other side
    side: np.ndarray      # mean |change| of the other scored attributes' probabilities
    flipped: np.ndarray   # the classified target is on the other side (0/1)
    pixels: np.ndarray    # mean |change| of the pixels
    has: np.ndarray       # (N,): the reconstruction has the target attribute


def edit_curves(model, classifier, codes: np.ndarray, direction: np.ndarray, strengths,
                target: int, scored: list[int]) -> EditCurves:
    """Edit ``codes`` (N, D) along the unit ``direction`` at each strength; ``target`` and
    ``scored`` (the attributes whose changes count as side effects) index the classifier's
    attributes."""
    strengths = check_strengths(strengths)
    start_images = decode(model, codes)
    start = classifier.probabilities(start_images)  # (N, K)
    has = start[:, target] > 0.5
    sign = np.where(has, -1.0, 1.0)
    moved = (codes[None] + strengths[1:, None, None] * sign[None, :, None]
             * np.asarray(direction)[None, None])
    images = decode(model, moved.reshape(-1, codes.shape[1]).astype(np.float32))
    probabilities = classifier.probabilities(images).reshape(len(strengths) - 1, len(codes), -1)
    probabilities = np.concatenate([start[None], probabilities])  # (S, N, K)
    images = images.reshape(len(strengths) - 1, len(codes), *images.shape[1:])
    change = probabilities - start[None]
    others = [k for k in scored if k != target]
    side = (np.abs(change[:, :, others]).mean(axis=2) if others
            else np.zeros(change.shape[:2]))
    final = probabilities[:, :, target] > 0.5
    pixels = np.abs(images - start_images[None]).mean(axis=(2, 3, 4))
    return EditCurves(strengths, (change[:, :, target] * sign).T, side.T,
                      (final != has[None]).T.astype(np.float64),
                      np.concatenate([np.zeros((1, len(codes))), pixels]).T, has)


def crossing(target_curve: np.ndarray, delta: float):
    """Where each mean target curve (..., S) first reaches ``delta``: (index k of the grid
    point at or after the crossing, fraction of the way from k-1 to k, reached)."""
    reached_at = target_curve >= delta
    reached = reached_at[..., 1:].any(axis=-1)
    k = np.where(reached, reached_at[..., 1:].argmax(axis=-1) + 1, 1)
    low = np.take_along_axis(target_curve, (k - 1)[..., None], -1)[..., 0]
    high = np.take_along_axis(target_curve, k[..., None], -1)[..., 0]
    step = np.where(high > low, high - low, 1.0)
    return k, np.clip((delta - low) / step, 0.0, 1.0), reached


def at_crossing(curve: np.ndarray, k, fraction, reached, unreached=np.inf) -> np.ndarray:
    """``curve`` (..., S) interpolated at the crossing; ``unreached`` where there is none."""
    low = np.take_along_axis(curve, (k - 1)[..., None], -1)[..., 0]
    high = np.take_along_axis(curve, k[..., None], -1)[..., 0]
    return np.where(reached, low + fraction * (high - low), unreached)


def matched(target_curve: np.ndarray, side_curve: np.ndarray, delta: float) -> np.ndarray:
    """Side effects (...,) where the mean target curves (..., S) reach ``delta``; +inf where
    they do not (see the module docstring)."""
    k, fraction, reached = crossing(target_curve, delta)
    return at_crossing(side_curve, k, fraction, reached)


def edit_summary(curves: EditCurves, delta: float, labels: np.ndarray | None = None) -> dict:
    """One edit in numbers: the matched strength (inf when unreached), side effects, flip rate
    and pixel change there, the largest mean target change on the grid and, with the faces'
    true ``labels`` of the target, how often the reconstruction keeps the attribute and the
    share of the faces that have it (the commoner label's share is the accuracy of always
    guessing it)."""
    target, side = curves.target.mean(axis=0), curves.side.mean(axis=0)
    k, fraction, reached = crossing(target, delta)
    strengths = curves.strengths
    summary = {
        "reached": bool(reached),
        "matched_strength": float(at_crossing(strengths, k, fraction, reached)),
        "side_effects": float(at_crossing(side, k, fraction, reached)),
        "flip_rate": float(at_crossing(curves.flipped.mean(axis=0), k, fraction, reached,
                                       np.nan)),
        "pixel_change": float(at_crossing(curves.pixels.mean(axis=0), k, fraction, reached,
                                          np.nan)),
        "max_target_change": float(target.max()),
        "faces": int(len(curves.has)), "faces_with_attribute": int(curves.has.sum())}
    if labels is not None:
        has = np.asarray(labels) > 0
        summary["reconstruction_accuracy"] = float((curves.has == has).mean())
        summary["label_share"] = float(has.mean())
    return summary
