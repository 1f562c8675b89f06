"""Study presets: plain data you can read, copy and edit.

A preset describes a whole sweep. ``vae-study sweep --preset NAME --set key=value`` starts
from one of these dicts and changes single entries (dotted keys, list positions as numbers:
``--set training.lr=3e-4``, ``--set variants.1.beta=[2,4]``, ``--set seeds=[0,1,2]``).

Keys (every preset has all of them; ``study.validation`` rejects any other key):

  description      one line shown by ``vae-study sweep --help``.
  dataset          ``name`` (a ``disentangle.data.DATASETS`` entry) and its options
                   (``root`` for CelebA).
  variants         the models to train. Each entry is one model kind with its
                   hyperparameters; a list value is a grid (``"beta": [1, 4]`` = two variants).
  seeds            every variant is trained once per seed.
  stack            what one Ray Tune trial trains: ``none`` (one model), ``seeds`` (every
                   seed of one variant), ``kind`` (every variant and seed of one model kind)
                   or ``all`` (every model of the study that shares its training settings);
                   or groups of model kinds, ``[["vae", "beta_vae"], ["factor_vae"]]``: one
                   trial per group (e.g. two stacks of equal cost, one per CPU core).
                   Results, TensorBoard and the analysis stay per model whatever it is.
  training         settings shared by all variants (``disentangle.training.SETTINGS``; the
                   defaults are written there once, a preset states only what differs).
  epochs           how many epochs each trial runs (one Tune iteration = one epoch).
  steps_per_epoch  training steps per epoch; null = one full pass over the dataset.
  log_every        TensorBoard's loss curves: one point per ``log_every`` training steps,
                   the mean of the loss terms over them (the scores come each epoch).
  metrics          ``fast``/``paper``: overrides of ``disentangle.metrics.evaluate``'s
                   presets. The fast scores are computed after every epoch, the paper-sized
                   ones every ``paper_every`` epochs (0 = only after the last epoch, null =
                   never: they take minutes on a CPU). ``sets``: which metrics each preset
                   runs (null = the registry's default set: fast = BetaVAE, FactorVAE, MIG;
                   paper = all), each with the large-sample total correlation.
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

#: TensorBoard's loss interval when a study does not say (studies stored before it existed).
DEFAULT_LOG_EVERY = 100

# What every preset shares; each preset below states only what differs.
_COMMON = {
    "description": "",
    "dataset": {"name": "dsprites"},
    "variants": [],
    "seeds": [0],
    "stack": "none",
    "training": {},
    "epochs": 1,
    "steps_per_epoch": None,
    "log_every": DEFAULT_LOG_EVERY,
    "metrics": {"enabled": True, "fast": {}, "paper": {}, "paper_every": 0,
                "sets": {"fast": None, "paper": None}},
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
    # The study a 2-core CPU trains in the background across sessions (docs/results/cpu):
    # the quick grid (Higgins' β = 4 and Kim & Mnih's γ = 40, the headline settings, and the
    # VAE) at Kim & Mnih's training settings (FC 128), 3 seeds, towards the papers' 300k
    # steps (shipped from 50k on). Two stacks of about equal cost, one per core: VAE + β-VAE
    # (6 models) and FactorVAE (3 models: its discriminator makes each step about twice as
    # dear). Epochs of 2,000 steps keep a checkpoint under ~20 minutes old; the paper-sized
    # BetaVAE, FactorVAE and MIG scores (with the large-sample TC) every 10k steps.
    "cpu": _preset(
        description="VAE, beta-VAE beta=4, FactorVAE gamma=40, 3 seeds, towards 300k steps: "
                    "the background study for a 2-core CPU, two one-thread stacks",
        variants=[
            {"model": "vae"},
            {"model": "beta_vae", "beta": 4},
            {"model": "factor_vae", "gamma": 40},
        ],
        seeds=[0, 1, 2],
        stack=[["vae", "beta_vae"], ["factor_vae"]],
        training={"hidden_dim": 128},
        epochs=150,
        steps_per_epoch=2_000,
        metrics={"paper_every": 5,
                 "sets": {"fast": None, "paper": ["beta_vae", "factor_vae", "mig"]}},
        images={"every": 5},
        resources={"cpus_per_trial": 1, "gpus_per_trial": 0, "max_concurrent_trials": 2},
        checkpoints={"keep": 2},
        max_failures=3,
    ),
    # Kim & Mnih (2018)'s dSprites grid, as their paper states it: the conv encoder of their
    # Table 1 with a 128-unit fully connected layer, Adam 1e-4 (discriminator 1e-4, betas
    # 0.5/0.9), batch 64, 10 latents, 300k steps; β-VAE β in {2, 4, 6, 8, 16} and the VAE (their
    # β = 1: the same objective, trained once), FactorVAE γ in {10, ..., 100}, 10 seeds:
    # 120 models. Stacked by setting (10 seeds per trial, a quarter GPU each).
    "paper": _preset(
        description="Kim & Mnih's grid: VAE (beta = 1), beta-VAE beta in {2,4,6,8,16}, "
                    "FactorVAE gamma in {10,...,100}, 10 seeds, 300k steps, stacked by setting",
        variants=[
            {"model": "vae"},
            {"model": "beta_vae", "beta": [2, 4, 6, 8, 16]},
            {"model": "factor_vae", "gamma": [10, 20, 30, 40, 50, 100]},
        ],
        seeds=list(range(10)),
        stack="seeds",
        training={"hidden_dim": 128},
        epochs=30,
        steps_per_epoch=10_000,
        metrics={"paper_every": 10},
        resources={"cpus_per_trial": 2, "gpus_per_trial": 0.25},
        checkpoints={"keep": 2},
    ),
    # The core grid of the shipped study (docs/results/core, scripts/gpu_study.sh): Kim &
    # Mnih's settings, VAE, β-VAE β in {2, 4, 8, 16}, FactorVAE γ in {10, 20, 40, 100}, 3 seeds:
    # 27 models in one stack on one GPU, fast scores each epoch and the paper-sized scores
    # (with the large-sample TC) after the last. 10 epochs of 10k steps = 100k steps, the
    # floor of the papers' 300k; the GPU script sizes steps_per_epoch (and, if the measured
    # speed cannot reach 100k in its time, the grid) to the GPU it runs on.
    "core": _preset(
        description="the shipped study: VAE, beta in {2,4,8,16}, gamma in {10,20,40,100}, "
                    "3 seeds, 100k+ steps, one stack on one GPU",
        variants=[
            {"model": "vae"},
            {"model": "beta_vae", "beta": [2, 4, 8, 16]},
            {"model": "factor_vae", "gamma": [10, 20, 40, 100]},
        ],
        seeds=[0, 1, 2],
        stack="all",
        training={"hidden_dim": 128},
        epochs=10,
        steps_per_epoch=10_000,
        # the papers' two scores and MIG at paper size (the others take minutes per model)
        metrics={"paper_every": 0,
                 "sets": {"fast": None, "paper": ["beta_vae", "factor_vae", "mig"]}},
        images={"every": 5},
        resources={"cpus_per_trial": 8, "gpus_per_trial": 1},
        checkpoints={"keep": 1},
        max_failures=1,
    ),
    # Locatello et al. (2019)'s study on dSprites: disentanglement_lib's six models, each over
    # its six values (the registry's paper grids: "paper"), its architecture (2x2 kernels in
    # the last two convs, FC 256), 300k steps, every metric at the paper preset after the last
    # epoch. They trained 50 seeds of each setting; this preset trains 5 (--set seeds=...).
    # Stacked by kind: six trials of 30 models.
    "locatello": _preset(
        description="Locatello et al.'s study: beta-VAE, FactorVAE, beta-TCVAE, DIP-VAE-I/II, "
                    "AnnealedVAE x their six values, 5 seeds, 300k steps, stacked by kind",
        variants=[
            {"model": "beta_vae", "beta": "paper"},
            {"model": "factor_vae", "gamma": "paper"},
            {"model": "beta_tcvae", "beta": "paper"},
            {"model": "dip_vae_i", "lambda_od": "paper"},
            {"model": "dip_vae_ii", "lambda_od": "paper"},
            {"model": "annealed_vae", "c_max": "paper"},
        ],
        seeds=list(range(5)),
        stack="kind",
        training={"architecture": "standard_dl"},
        epochs=30,
        steps_per_epoch=10_000,
        metrics={"paper_every": 10},
        resources={"cpus_per_trial": 4, "gpus_per_trial": 1},
    ),
    # The synthetic faces: the three variants at the papers' strongest settings. Training
    # draws from a CelebA-sized pool of pre-rendered faces (rendering every batch costs a CPU
    # trial a quarter of its speed); the metrics render any of the 1.6e10 faces.
    "faces": _preset(
        description="the three variants on the synthetic faces, 3 seeds, 100k steps",
        dataset={"name": "faces", "pool": 200_000},
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
