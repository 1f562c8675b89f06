"""``vae-study evaluate``: score checkpoints with the BetaVAE and FactorVAE metrics."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "score checkpoints (trained or imported) with the BetaVAE and FactorVAE metrics"

DESCRIPTION = """\
Score each checkpoint with both disentanglement metrics and print and save a table.

A checkpoint is a .pt file written by training or by `vae-study pretrained import`, or a
disentangling-vae result folder (model.pt + specs.json), e.g.
../shared/pretrained/disentangling-vae/betaH_dsprites. Every model is scored with the same
random draws (--seed), so the differences between rows are the models' differences."""

COLUMNS = ["checkpoint", "model", "architecture", "beta_vae_score", "beta_vae_train_accuracy",
           "factor_vae_score", "factor_vae_train_accuracy", "factor_vae_active_dims",
           "preset", "seed", "precision", "seconds"]


def register(commands) -> None:
    parser = commands.add_parser(
        "evaluate", help=HELP, description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", type=Path, metavar="CKPT",
                        help="checkpoint files (.pt) or disentangling-vae result folders")
    parser.add_argument(
        "--dataset", default="dsprites",
        help="ground-truth dataset (one with known factors) to score on, as named by "
             "`vae-study data` (default: dsprites); it must be the data the models were "
             "trained on")
    parser.add_argument(
        "--preset", choices=("fast", "paper"), default="paper",
        help="metric settings: 'paper' is the papers' protocol (10,000 training and 5,000 "
             "evaluation points per metric; use it for reported numbers), 'fast' the noisier "
             "every-epoch settings (a few seconds). Default: paper")
    parser.add_argument(
        "--out", type=Path, default=Path("evaluation.csv"),
        help="where to save the table (default: ./evaluation.csv); a .json name saves every "
             "metric's diagnostics too (vote matrices, per-factor accuracy)")
    parser.add_argument(
        "--seed", type=int, default=0,
        help="seed of the metrics' random draws (default 0), shared by all checkpoints")
    parser.add_argument(
        "--device", default=None,
        help="where to run the encoder: cpu, cuda, cuda:1 ... (default: a GPU when present)")
    parser.add_argument(
        "--precision", choices=("auto", "bf16", "fp32"), default="auto",
        help="encoder arithmetic: auto (bf16 where the hardware has fast bf16), bf16 or fp32 "
             "(default: auto; scores agree within sampling noise)")
    parser.add_argument(
        "--set", dest="settings", action="append", default=[], metavar="NAME=VALUE",
        help="override one metric setting of the preset, repeatable: beta_vae_batch_size, "
             "beta_vae_num_train, beta_vae_num_eval, factor_vae_batch_size, "
             "factor_vae_num_train, factor_vae_num_eval, factor_vae_num_variance_estimate, "
             "factor_vae_prune_threshold, deduplicate (true/false), encode_batch_size; e.g. "
             "--set factor_vae_prune_threshold=0.1 (default: none, the preset as it is)")
    parser.set_defaults(run=run)


def parse_settings(items: list[str]) -> dict:
    """``["name=value", ...]`` -> {name: int, float or bool}; bad items raise UserError."""
    from disentangle.errors import UserError

    settings = {}
    for item in items:
        name, separator, text = item.partition("=")
        if not separator or not name:
            raise UserError(f"--set {item!r}: write NAME=VALUE, e.g. beta_vae_num_train=1000")
        lowered = text.strip().lower()
        if lowered in ("true", "false"):
            settings[name.strip()] = lowered == "true"
            continue
        try:
            settings[name.strip()] = int(text)
        except ValueError:
            try:
                settings[name.strip()] = float(text)
            except ValueError:
                raise UserError(f"--set {item!r}: the value must be a number, true or "
                                "false") from None
    return settings


def run(args) -> int:
    import numpy as np

    from disentangle.data import get_dataset
    from disentangle.errors import UserError
    from disentangle.metrics import evaluate
    from disentangle.metrics.settings import resolve_settings, split_overrides
    from disentangle.models import load_model
    from disentangle.representation import representation_function

    if args.out.suffix not in (".csv", ".json"):
        raise UserError(f"--out {args.out}: name a .csv or .json file")
    settings = parse_settings(args.settings)
    beta_settings, factor_settings = split_overrides(settings)  # fail before any loading
    resolve_settings("beta_vae", args.preset, **beta_settings)
    resolve_settings("factor_vae", args.preset, **factor_settings)
    models = [(path, load_model(path, device="cpu")) for path in args.checkpoints]
    data = get_dataset(args.dataset)
    rows, details = [], []
    for path, model in models:
        if model.num_channels != data.observation_shape[0]:
            raise UserError(f"{path} takes {model.num_channels}-channel images but "
                            f"{args.dataset} has {data.observation_shape[0]}: pick the dataset "
                            "it was trained on with --dataset")
        represent = representation_function(model, device=args.device,
                                            precision=args.precision)
        scores = evaluate(data, represent, np.random.RandomState(args.seed),
                          preset=args.preset, details=True, **settings)
        info = getattr(model, "info", {})
        rows.append({"checkpoint": str(path), "model": info.get("model", "?"),
                     "architecture": info.get("architecture", "?"), "preset": args.preset,
                     "seed": args.seed, "precision": represent.precision,
                     **{k: v for k, v in scores.items() if k in COLUMNS}})
        details.append({**rows[-1], "beta_vae": scores["beta_vae"],
                        "factor_vae": scores["factor_vae"]})
        print(format_row(rows[-1]), flush=True)
    write_table(rows, details, args.out)
    print(f"table: {args.out}")
    return 0


def format_row(row: dict) -> str:
    return (f"{row['checkpoint']}: {row['model']} ({row['architecture']})  "
            f"BetaVAE {row['beta_vae_score']:.3f} (train {row['beta_vae_train_accuracy']:.3f})"
            f"  FactorVAE {row['factor_vae_score']:.3f} "
            f"(train {row['factor_vae_train_accuracy']:.3f}, "
            f"{row['factor_vae_active_dims']} active dims)  {row['seconds']:.1f} s")


def write_table(rows: list[dict], details: list[dict], out: Path) -> None:
    """The table as CSV, or everything as JSON; written to a temporary name, then renamed."""
    import csv
    import json
    import os

    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp")
    with open(temporary, "w", newline="", encoding="utf-8") as handle:
        if out.suffix == ".json":
            json.dump(details, handle, indent=1)
        else:
            writer = csv.DictWriter(handle, COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    os.replace(temporary, out)
