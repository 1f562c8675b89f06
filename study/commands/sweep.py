"""``vae-study sweep``: run (or resume) a study preset as a Ray Tune sweep."""

from __future__ import annotations

import argparse
import os
import time

HELP = "train a grid of VAE / beta-VAE / FactorVAE models with Ray Tune and score them"

DESCRIPTION = """\
Run a study preset as one Ray Tune experiment: every variant x seed is a trial that trains
for some epochs, reports reconstruction, KL, total correlation, ELBO, active dimensions and
both disentanglement scores after every epoch, checkpoints, and writes TensorBoard scalars,
hyperparameters and image panels (reconstructions, latent traversals).

presets (plain data in study/presets.py; print one with --show):
  quick    all three variants on dSprites, 3 seeds: ~10 minutes on a 2-core machine
  paper    Kim & Mnih's grid: beta in {1,2,4,6,8,16}, gamma in {10,...,100}, 10 seeds,
           300k steps each (130 trials: a GPU cluster, see cluster.yaml)
  faces    the three variants on the synthetic faces
  celeba   the three variants on your CelebA folder (--set dataset.root=DIR); no scores
  optuna   Optuna search over FactorVAE's gamma and the learning rate

examples:
  vae-study sweep --preset quick
  vae-study sweep --preset quick --set seeds=[0,1,2,3,4] --set training.lr=3e-4
  vae-study sweep --preset paper --gpus-per-trial 0.25 --storage /mnt/shared/results
  vae-study sweep --preset optuna --set 'search.objectives=[["reconstruction","min"],["factor_vae_score","max"]]'
  vae-study sweep --resume results/quick-20260101-120000

Inside a Ray cluster (ray job submit, or RAY_ADDRESS set) the sweep uses that cluster;
otherwise it starts Ray on this machine."""


def register(commands) -> None:
    parser = commands.add_parser(
        "sweep", help=HELP, description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--preset", default="quick",
        help="the study to run: quick, paper, faces, celeba or optuna (default: quick)")
    parser.add_argument(
        "--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
        help="change one preset entry, repeatable: dotted keys, list positions as numbers, "
             "JSON values (e.g. --set epochs=5 --set variants.1.beta=[2,8] --set "
             "metrics.fast.factor_vae_num_train=100); see --show for the keys")
    parser.add_argument(
        "--storage", default=os.environ.get("VAE_STUDY_STORAGE", "results"),
        help="folder where experiments are written, made absolute; on a cluster a shared "
             "folder every node mounts (default: $VAE_STUDY_STORAGE, which cluster.yaml sets, "
             "else ./results)")
    parser.add_argument(
        "--name", default=None,
        help="experiment name, the subfolder of --storage (default: PRESET-YYYYmmdd-HHMMSS)")
    parser.add_argument(
        "--resume", default=None, metavar="DIR",
        help="continue the interrupted experiment in DIR (<storage>/<name>): finished trials "
             "are kept, the others continue from their last checkpoint; other options are "
             "ignored")
    parser.add_argument(
        "--cpus-per-trial", type=float, default=None,
        help="CPU cores Ray reserves for each trial; also its torch threads (default: the "
             "preset's, 1 for quick)")
    parser.add_argument(
        "--gpus-per-trial", type=float, default=None,
        help="GPUs per trial; a fraction lets several small trials share one GPU, e.g. 0.25 "
             "= 4 per GPU (default: the preset's; 0 = CPU only)")
    parser.add_argument(
        "--show", action="store_true",
        help="print the resolved study (preset + --set) as JSON and exit without running")
    parser.set_defaults(run=run)


def run(args) -> int:
    import json

    from study.config import load_study

    if args.resume:
        from study.sweep import resume_sweep

        outcome = resume_sweep(args.resume)
    else:
        assignments = list(args.assignments)
        if args.cpus_per_trial is not None:
            assignments.append(f"resources.cpus_per_trial={args.cpus_per_trial}")
        if args.gpus_per_trial is not None:
            assignments.append(f"resources.gpus_per_trial={args.gpus_per_trial}")
        study = load_study(args.preset, assignments)
        if args.show:
            print(json.dumps(study, indent=2))
            return 0
        from study.sweep import run_sweep

        name = args.name or f"{args.preset}-{time.strftime('%Y%m%d-%H%M%S')}"
        outcome = run_sweep(study, args.storage, name)
    print(outcome.format())
    if outcome.unfinished:
        return 130
    return 1 if len(outcome.errored()) else 0
