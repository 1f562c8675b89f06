"""TensorBoard as a sweep's user expects it: one run per model, scalars grouped, no bookkeeping.

Each model a trial trains writes its own run, ``<trial>/<model name>/``, so that
``tensorboard --logdir <experiment>`` lists one run per model and the Scalars tab overlays
seeds. Its scalars are grouped by what they are (``scalar_tag``; the groups are named in
``disentangle.result_names``): ``train/`` (the loss terms: one point per ``log_every`` steps,
their mean over those steps), ``kl_per_dim/`` (KL of each latent dimension), ``scores/`` (the
disentanglement scores) and ``speed/``; Tune's own bookkeeping (``done``, timings, iteration
counters) is not written (the sweep turns Tune's TensorBoard logger off). The image panels
(reconstructions, latent traversals) go into the same run. Every run carries the same
hyperparameter keys: the kind, the setting, the seed and every registered kind's
hyperparameter (NaN where it is not the model's), so the HParams table has one column per
hyperparameter whatever the kinds in the sweep.
Every scalar's horizontal axis is the training step, so runs with other epoch lengths line up.

Each epoch's events go to their own file, closed before ``write`` returns: tensorboardX writes
from a background queue that ``flush`` does not drain, and Tune copies the trial's artifacts to
storage right after the epoch, so an open file could be copied with its last event missing.
TensorBoard reads all files of a run's folder in order.
"""

from __future__ import annotations

import math
import os

from disentangle import kinds
from disentangle.metrics.registry import METRICS
from disentangle.result_names import (
    KL_GROUP,
    PAPER_PREFIX,
    SCORES_GROUP,
    SPEED_COLUMNS,
    SPEED_GROUP,
    TRAIN_GROUP,
    kl_dimension,
)

#: The results of the metrics whose headline is a score (BetaVAE, FactorVAE, MIG, SAP,
#: Modularity): their accuracies and active dimensions are grouped with the scores.
SCORE_RESULTS = frozenset(key for spec in METRICS.values() if "score" in spec.main_key
                          for key in spec.result_keys)


def scalar_tag(name: str) -> str:
    """The grouped tag of a reported per-model number: ``kl_per_dim/<d>``, ``speed/``,
    ``scores/`` (any number named a score, ``SCORE_RESULTS`` and every paper-preset number)
    or ``train/`` (the rest, DCI's and the large-sample TC's fast results among them)."""
    dimension = kl_dimension(name)
    if dimension is not None:
        return f"{KL_GROUP}/{dimension}"
    if name in SPEED_COLUMNS:
        return f"{SPEED_GROUP}/{name}"
    if "score" in name or name.startswith(PAPER_PREFIX) or name in SCORE_RESULTS:
        return f"{SCORES_GROUP}/{name}"
    return f"{TRAIN_GROUP}/{name}"


#: The HParams table's metric columns.
HPARAM_METRICS = tuple(scalar_tag(name) for name in (
    METRICS["factor_vae"].main_key, METRICS["beta_vae"].main_key, "reconstruction", "kl"))


def hyperparameters(member: dict) -> dict:
    """The same keys for every model: kind, setting, seed and every kind's hyperparameter."""
    values = {"kind": member["model"], "setting": member["setting"], "seed": member["seed"]}
    for key in kinds.hyperparameter_keys():
        values[key] = float(member[key]) if key in member else math.nan
    return values


class ModelLog:
    """Writes one model's run: scalars each epoch, hyperparameters once, image panels."""

    def __init__(self, logdir: str, member: dict):
        self.folder = os.path.join(logdir, member["name"])
        self.member = member

    def write(self, epoch: int, step: int, metrics: dict, panels: dict | None = None,
              curves: list[tuple[int, dict]] = ()) -> None:
        """Epoch ``epoch``'s events, on the training-step axis: ``curves`` (the training
        numbers' means over each interval, at the step that ends it), ``metrics`` (name ->
        value: the scores and speeds, at ``step``, the epoch's last; what ``curves`` holds is
        not written again) and ``panels`` (tag -> CHW image, at ``step``)."""
        from tensorboardX import SummaryWriter
        from tensorboardX.summary import hparams

        writer = SummaryWriter(self.folder, filename_suffix=f".epoch{epoch:06d}")
        try:
            if epoch == 1:
                for summary in hparams(hyperparameters(self.member),
                                       dict.fromkeys(HPARAM_METRICS, 0.0)):
                    writer.file_writer.add_summary(summary)
            curve_names = set()
            for at, numbers in curves:
                curve_names.update(numbers)
                _add_scalars(writer, numbers, at)
            _add_scalars(writer, {name: value for name, value in metrics.items()
                                  if name not in curve_names}, step)
            for tag, image in (panels or {}).items():
                writer.add_image(tag, image, step)
        finally:
            writer.close()


def _add_scalars(writer, numbers: dict, step: int) -> None:
    """Each number with a tag (``scalar_tag``) at ``step``; flags and texts are skipped."""
    for name, value in numbers.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            writer.add_scalar(scalar_tag(name), value, step)
