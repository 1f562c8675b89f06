"""``vae-study sweep``: run (or resume) a study preset as a Ray Tune sweep."""

from __future__ import annotations

import argparse
import json
import os
import time

from study.presets import PRESETS

HELP = "train a grid of VAE / beta-VAE / FactorVAE models with Ray Tune and score them"

DESCRIPTION_TEMPLATE = """\
Run a study preset as one Ray Tune experiment: every variant x seed is a model, and the
study's stack groups models into trials (one model each, or stacks trained as one batched
computation). Every model trains for some epochs, reports reconstruction, KL, total
correlation, ELBO, active dimensions and its disentanglement scores after every epoch, is
checkpointed, and writes its own TensorBoard run (grouped scalars, hyperparameters, image
panels of reconstructions and latent traversals).

presets (plain data in study/presets.py; print one with --show):
{presets}

examples:
  vae-study sweep --preset quick
  vae-study sweep --preset quick --set seeds=[0,1,2,3,4] --set training.lr=3e-4
  vae-study sweep --preset paper --gpus-per-trial 0.25 --storage /mnt/shared/results
  vae-study sweep --preset optuna --set 'search.objectives=[["reconstruction","min"],["factor_vae_score","max"]]'
  vae-study sweep --resume results/quick-20260101-120000

Inside a Ray cluster (ray job submit, or RAY_ADDRESS set) the sweep uses that cluster;
otherwise it starts Ray on this machine. --local trains a grid study in this process without
Ray, one trial (one stack of models) after another."""


def description() -> str:
    """The command's help, its preset list read from the presets themselves."""
    presets = "\n".join(f"  {name:<8} {preset['description']}" for name, preset in PRESETS.items())
    return DESCRIPTION_TEMPLATE.replace("{presets}", presets)


def register(commands) -> None:
    parser = commands.add_parser(
        "sweep", help=HELP, description=description(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--preset", default="quick",
        help="the study to run, one of the presets listed above (default: quick)")
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
        "--local", action="store_true",
        help="train the study in this process, one trial after another, without Ray (for one "
             "machine, e.g. a GPU box training the grid as one stack); writes the same folders "
             "as a Tune sweep; run again with the same --name to continue it")
    parser.add_argument(
        "--show", action="store_true",
        help="print the resolved study (preset + --set) as JSON and exit without running")
    parser.set_defaults(run=run)


def run(args) -> int:
    # imported here: `vae-study --help` stays fast, and --local runs without Ray installed
    from study.config import load_study

    if args.resume:
        from study.sweep import resume_sweep

        outcome = resume_sweep(args.resume)
    else:
        overrides = list(args.assignments)
        if args.cpus_per_trial is not None:
            overrides.append(f"resources.cpus_per_trial={args.cpus_per_trial}")
        if args.gpus_per_trial is not None:
            overrides.append(f"resources.gpus_per_trial={args.gpus_per_trial}")
        study = load_study(args.preset, overrides)
        if args.show:
            print(json.dumps(study.definition, indent=2))
            return 0
        name = args.name or f"{args.preset}-{time.strftime('%Y%m%d-%H%M%S')}"
        if args.local:
            from study.local import run_local

            outcome = run_local(study, args.storage, name)
        else:
            from study.sweep import run_sweep

            outcome = run_sweep(study, args.storage, name)
    print(outcome.format())
    if outcome.unfinished:
        return 130
    return 1 if len(outcome.errored()) else 0
