"""Study presets: plain data you can read, copy and edit.

A preset describes a whole sweep. ``vae-study sweep --preset NAME --set key=value`` starts
from one of these dicts and changes single entries (dotted keys, list positions as numbers:
``--set training.lr=3e-4``, ``--set variants.1.beta=[2,4]``, ``--set seeds=[0,1,2]``).

Keys (every preset has all of them; ``study.config`` rejects any other key):

  description      one line shown by ``vae-study sweep --help``.
  dataset          ``name`` (a ``disentangle.data.DATASETS`` entry) and its options
                   (``root`` for CelebA).
  variants         the models to train. Each entry is one model kind with its
                   hyperparameters; a list value is a grid (``"beta": [1, 4]`` = two variants).
  seeds            every variant is trained once per seed.
  training         ``disentangle.training.Trainer`` settings shared by all variants.
  epochs           how many epochs each trial runs (one Tune iteration = one epoch).
  steps_per_epoch  training steps per epoch; null = one full pass over the dataset.
  metrics          ``fast``/``paper``: overrides of ``disentangle.metrics.evaluate``'s
                   presets. The fast scores are computed after every epoch, the paper-sized
                   ones every ``paper_every`` epochs (0 = only after the last epoch, null =
                   never: they take minutes on a CPU).
                   ``enabled: false`` skips both (datasets without ground-truth factors).
  images           TensorBoard image panels every ``every`` epochs (0 = never):
                   ``count`` reconstructions, latent traversals over ``traversal_range``
                   in ``traversal_steps`` steps.
  resources        Ray resources of one trial (fractions share a GPU) and the most trials
                   at once (null = as many as fit).
  checkpoints      ``keep``: how many epoch checkpoints each trial keeps (the newest).
  max_failures     how often a trial whose worker died is resumed from its checkpoint.
  asha             ASHA early stopping (off: the scores are noisy in early epochs).
  search           null = grid over variants x seeds; ``optuna`` = Optuna search (below).
"""

from __future__ import annotations

import copy

# What every preset shares; each preset below states only what differs.
_COMMON = {
    "description": "",
    "dataset": {"name": "dsprites"},
    "variants": [],
    "seeds": [0],
    "training": {
        "batch_size": 64,
        "lr": 1e-4,
        "latent_dim": 10,
        "architecture": "standard",
        "precision": "auto",
    },
    "epochs": 1,
    "steps_per_epoch": None,
    "metrics": {"enabled": True, "fast": {}, "paper": {}, "paper_every": 0},
    "images": {"every": 1, "count": 8, "traversal_range": 2.0, "traversal_steps": 9},
    "resources": {"cpus_per_trial": 1, "gpus_per_trial": 0, "max_concurrent_trials": None},
    "checkpoints": {"keep": 2},
    "max_failures": 2,
    "asha": {"enabled": False, "metric": "factor_vae_score", "mode": "max",
             "grace_period": 2, "reduction_factor": 3},
    "search": None,
}


def _preset(**changes) -> dict:
    preset = copy.deepcopy(_COMMON)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(preset.get(key), dict):
            preset[key].update(value)
        else:
            preset[key] = value
    return preset


PRESETS = {
    # The offline default (the README's main job): all three variants on dSprites, three
    # seeds each (the fewest for which the analysis tests a difference against the spread
    # over seeds), 500 steps per model: about ten minutes on a 2-core machine, analysis
    # included. The scores are the fast preset's after each epoch (the paper-sized ones take
    # minutes per model on a CPU). The models are early in training: a demonstration of the
    # whole pipeline, not the papers' numbers (that is the paper preset, on GPUs).
    "quick": _preset(
        description="all three variants on dSprites, 3 seeds, 500 steps each: "
                    "the 10-minute offline study for a 2-core machine",
        variants=[
            {"model": "vae"},
            {"model": "beta_vae", "beta": 4},
            {"model": "factor_vae", "gamma": 40},
        ],
        seeds=[0, 1, 2],
        epochs=2,
        steps_per_epoch=250,
        metrics={"paper_every": None},
        images={"count": 8},
    ),
    # Kim & Mnih (2018) / disentanglement_lib's dSprites grid: 130 trials of 300k steps.
    "paper": _preset(
        description="Kim & Mnih's grid: VAE, beta-VAE beta in {1,2,4,6,8,16}, FactorVAE "
                    "gamma in {10,...,100}, 10 seeds, 300k steps, 1/4 GPU per trial",
        variants=[
            {"model": "vae"},
            {"model": "beta_vae", "beta": [1, 2, 4, 6, 8, 16]},
            {"model": "factor_vae", "gamma": [10, 20, 30, 40, 50, 100]},
        ],
        seeds=list(range(10)),
        epochs=30,
        steps_per_epoch=10_000,
        metrics={"paper_every": 10},
        resources={"cpus_per_trial": 2, "gpus_per_trial": 0.25},
        checkpoints={"keep": 2},
    ),
    # The synthetic faces: the three variants at the papers' strongest settings.
    "faces": _preset(
        description="the three variants on the synthetic faces, 3 seeds, 100k steps",
        dataset={"name": "faces"},
        variants=[
            {"model": "vae"},
            {"model": "beta_vae", "beta": [4, 16]},
            {"model": "factor_vae", "gamma": [10, 40]},
        ],
        seeds=[0, 1, 2],
        training={"latent_dim": 32},
        epochs=20,
        steps_per_epoch=5_000,
        metrics={"paper_every": 5},
        resources={"cpus_per_trial": 2, "gpus_per_trial": 0.25},
    ),
    # Real CelebA from a folder you provide: no ground-truth factors, so no scores; judge
    # the models by their reconstructions, KL/TC terms and the traversals in TensorBoard.
    "celeba": _preset(
        description="the three variants on your CelebA folder (--set dataset.root=DIR); "
                    "no ground truth, so no scores",
        dataset={"name": "celeba", "root": None},
        variants=[
            {"model": "vae"},
            {"model": "beta_vae", "beta": 16},
            {"model": "factor_vae", "gamma": 6.4},
        ],
        seeds=[0],
        training={"latent_dim": 32, "reconstruction": "gaussian"},
        epochs=20,
        steps_per_epoch=5_000,
        metrics={"enabled": False},
        resources={"cpus_per_trial": 2, "gpus_per_trial": 0.5},
    ),
    # Optuna searches FactorVAE's gamma and the learning rate for the best FactorVAE
    # score; set search.objectives to both entries for the reconstruction/score front.
    "optuna": _preset(
        description="Optuna search over FactorVAE's gamma and learning rate for the best "
                    "FactorVAE score (two-objective front optional)",
        variants=[{"model": "factor_vae"}],
        seeds=[0],
        epochs=3,
        steps_per_epoch=2_000,
        search={
            "algorithm": "optuna",
            "num_samples": 20,
            # one objective = single-objective TPE; both = NSGA-II Pareto front of
            # reconstruction (lower is better) against FactorVAE score (higher is better)
            "objectives": [["factor_vae_score", "max"]],
            "space": {"gamma": ["loguniform", 5.0, 200.0],
                      "lr": ["loguniform", 1e-5, 1e-3]},
        },
    ),
}


def get_preset(name: str) -> dict:
    """A fresh, editable copy of preset ``name`` (KeyError if there is none)."""
    return copy.deepcopy(PRESETS[name])
