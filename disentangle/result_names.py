"""The names of the numbers a trial reports, in one place.

The trainables write these names into each epoch's result, the results tables read them back,
TensorBoard groups them and the live progress prints them; each of those takes the names from
here, and a metric's own result keys (``beta_vae_score``, ``factor_vae_active_dims``, ...) from
``disentangle.metrics.registry``. The training numbers (the loss terms, ``kl``, ...) are named by
``disentangle.training``, one per-dimension KL each as ``kl_dim(d)``.
"""

from __future__ import annotations

#: A result computed with the metrics' ``paper`` preset is reported as ``paper_<key>``, beside
#: the ``fast`` preset's ``<key>`` of the same metric.
PAPER_PREFIX = "paper_"
#: Each model's numbers in a trial's result: ``models/<model name>/<number>`` once flattened.
MODELS = "models"
#: Per model: the training steps taken and the images they saw.
STEPS, IMAGES_SEEN = "steps", "images_seen"
PROGRESS_COLUMNS = (STEPS, IMAGES_SEEN)
#: Per trial, the speed of one epoch: images and model-steps (one model training one step) per
#: second of training, the seconds of training and of scoring.
IMAGES_PER_SECOND, MODEL_STEPS_PER_SECOND = "images_per_second", "model_steps_per_second"
EPOCH_SECONDS, METRIC_SECONDS = "epoch_seconds", "metric_seconds"
SPEED_COLUMNS = (IMAGES_PER_SECOND, MODEL_STEPS_PER_SECOND, EPOCH_SECONDS, METRIC_SECONDS)
#: Per trial: where it ran (the device; the Ray node) and how many of its models still train
#: and have diverged.
DEVICE, NODE_ID = "device", "node_id"
MODELS_TRAINING, MODELS_DIVERGED = "models_training", "models_diverged"
#: The numbers that describe the trial, not one of its models.
TRIAL_COLUMNS = SPEED_COLUMNS + (DEVICE, NODE_ID, MODELS_TRAINING, MODELS_DIVERGED)
#: What ``disentangle.metrics.evaluate`` reports about its own work besides the scores: its
#: seconds (the trial reports ``METRIC_SECONDS`` instead), the images it drew and encoded.
EVALUATION_SECONDS = "seconds"
IMAGES_DRAWN, IMAGES_ENCODED = "metric_images_drawn", "metric_images_encoded"
EVALUATION_COLUMNS = (EVALUATION_SECONDS, IMAGES_DRAWN, IMAGES_ENCODED)
#: Reported by sweeps before models were trained in stacks (the seconds spent on image
#: panels); their tables still read it as a speed figure.
LEGACY_COLUMNS = ("image_seconds",)
#: The numbers that describe the run's progress and speed, not the model.
THROUGHPUT_COLUMNS = PROGRESS_COLUMNS + SPEED_COLUMNS + EVALUATION_COLUMNS + LEGACY_COLUMNS
#: A model that diverged reports these (1, the step whose loss was not finite, why).
DIVERGED, DIVERGED_STEP, MESSAGE = "diverged", "diverged_step", "message"

#: TensorBoard's groups of scalars: the training numbers, the KL of each latent dimension, the
#: disentanglement scores and the speed.
TRAIN_GROUP, KL_GROUP, SCORES_GROUP, SPEED_GROUP = "train", "kl_per_dim", "scores", "speed"

_KL_DIM_PREFIX = "kl_dim_"


def paper(key: str) -> str:
    """The paper preset's name of result key ``key``."""
    return PAPER_PREFIX + key


def without_preset(name: str) -> str:
    """``name`` without the paper preset's prefix: the result key it reports."""
    return name.removeprefix(PAPER_PREFIX)


def kl_dim(dimension: int) -> str:
    """The name of the KL of latent dimension ``dimension``: ``kl_dim_<dimension>``."""
    return f"{_KL_DIM_PREFIX}{dimension}"


def kl_dimension(name: str) -> int | None:
    """The latent dimension whose KL ``name`` is (``kl_dim(d)`` -> d), else None."""
    suffix = name.removeprefix(_KL_DIM_PREFIX)
    return int(suffix) if suffix != name and suffix.isdecimal() else None
