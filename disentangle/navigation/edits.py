"""Editing faces by moving their codes along a direction, and measuring what changed.

``navigate(model, classifier, codes, direction, steps)`` moves every code z to z + s * n for
each step s (default -3 .. 3, in units of the latent prior's standard deviation, as the codes'
prior is N(0, I)), decodes and classifies the images. ``edit_measures`` turns that into:

* per step: the mean change of the target attribute's probability against step 0 (the
  reconstruction), the mean absolute change of every other scored attribute (side effects),
  and the mean absolute pixel change;
* per edit (the summary): each face is edited towards the opposite side of the target
  (the largest positive step for faces the classifier finds without it, the largest negative
  step for those with it). ``success_rate``: share of faces whose classified attribute flips.
  ``target_change``: mean |change| of the target probability. ``side_effects``: mean |change|
  of the other attributes. ``side_effect_ratio``: side_effects / target_change (lower is a
  cleaner edit; NaN when the target moves by less than ``MIN_TARGET_CHANGE``, as there is no
  edit to compare the side effects with). ``pixel_change``: mean |change| of the pixels.
"""

from __future__ import annotations

import numpy as np
import torch

from disentangle.navigation.settings import DEFAULT_STEPS

#: Below this mean change of the target probability an edit did nothing: no side-effect ratio.
MIN_TARGET_CHANGE = 0.05


def decode(model, codes: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Images (N, C, H, W) in [0, 1] decoded from ``codes`` (N, D), in inference mode."""
    out = []
    with torch.inference_mode():
        for start in range(0, len(codes), batch_size):
            batch = torch.as_tensor(codes[start:start + batch_size], dtype=torch.float32)
            out.append(model.decode(batch).float().clamp(0, 1).numpy())
    return np.concatenate(out)


def check_steps(steps) -> np.ndarray:
    """The steps as a sorted array that contains 0 and reaches both sides."""
    from disentangle.errors import UserError

    steps = np.asarray(sorted(set(float(s) for s in steps)))
    if 0.0 not in steps or steps.min() >= 0 or steps.max() <= 0:
        raise UserError(f"--steps must include 0 and at least one negative and one positive "
                        f"step (e.g. -3 -2 -1 0 1 2 3), got {' '.join(f'{s:g}' for s in steps)}")
    return steps


def navigate(model, classifier, codes: np.ndarray, direction: np.ndarray, steps=DEFAULT_STEPS):
    """(images (S, N, C, H, W), probabilities (S, N, K)) of ``codes`` moved by each step."""
    steps = check_steps(steps)
    moved = codes[None] + steps[:, None, None] * np.asarray(direction)[None, None]
    flat = moved.reshape(-1, codes.shape[1]).astype(np.float32)
    images = decode(model, flat)
    probabilities = classifier.probabilities(images)
    return (images.reshape(len(steps), len(codes), *images.shape[1:]),
            probabilities.reshape(len(steps), len(codes), -1))


def edit_measures(images: np.ndarray, probabilities: np.ndarray, steps, target: int,
                  scored: list[int], labels: np.ndarray | None = None
                  ) -> tuple[list[dict], dict]:
    """(one row per step, the summary) as in the module docstring; ``target`` and ``scored``
    (the attributes whose changes count) index the classifier's attributes. With the faces'
    true ``labels`` of the target (N,), the summary adds ``reconstruction_accuracy``: how often
    the classifier finds the true attribute in the reconstruction (step 0), i.e. whether the
    attribute survives encoding and decoding at all."""
    steps = check_steps(steps)
    zero = int(np.flatnonzero(steps == 0)[0])
    others = [k for k in scored if k != target]
    change = probabilities - probabilities[zero][None]
    pixels = np.abs(images - images[zero][None]).mean(axis=(2, 3, 4))  # (S, N)
    rows = [{"step": float(step),
             "target_change": float(change[i, :, target].mean()),
             "target_probability": float(probabilities[i, :, target].mean()),
             "side_effects": float(np.abs(change[i][:, others]).mean()) if others else 0.0,
             "pixel_change": float(pixels[i].mean())} for i, step in enumerate(steps)]

    start = probabilities[zero, :, target]
    has = start > 0.5
    # Faces without the attribute move up to the last step, faces with it down to the first.
    edited = np.where(has, 0, len(steps) - 1)
    faces = np.arange(probabilities.shape[1])
    final = probabilities[edited, faces]  # (N, K)
    flipped = np.where(has, final[:, target] <= 0.5, final[:, target] > 0.5)
    target_change = np.abs(final[:, target] - start)
    side = (np.abs(final[:, others] - probabilities[zero][:, others]).mean(axis=1)
            if others else np.zeros(len(faces)))
    summary = {"success_rate": float(flipped.mean()),
               "target_change": float(target_change.mean()),
               "side_effects": float(side.mean()),
               "side_effect_ratio": (float(side.mean() / target_change.mean())
                                     if target_change.mean() >= MIN_TARGET_CHANGE
                                     else float("nan")),
               "pixel_change": float(pixels[edited, faces].mean()),
               "faces": int(len(faces)), "faces_with_attribute": int(has.sum())}
    if labels is not None:
        summary["reconstruction_accuracy"] = float((has == (np.asarray(labels) > 0)).mean())
    return rows, summary
