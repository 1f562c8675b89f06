"""``vae-study evaluate``: score checkpoints with the disentanglement metrics."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "score checkpoints (trained or imported) with the disentanglement metrics"

DESCRIPTION = """\
Score each checkpoint with the disentanglement metrics (disentangle.metrics.registry: the
preset's default set, or --metrics) and the large-sample total correlation, and print and save
a table.

A checkpoint is a .pt file written by training or by `vae-study pretrained import`, or a
disentangling-vae result folder (model.pt + specs.json), e.g.
../shared/pretrained/disentangling-vae/betaH_dsprites. Every model is scored with the same
random draws (--seed), so the differences between rows are the models' differences."""

#: Columns around the metrics' own result keys (``registry.result_columns``).
IDENTITY = ["checkpoint", "model", "architecture"]
RUN = ["preset", "seed", "precision", "seconds"]


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
        "--metrics", nargs="+", default=None, metavar="METRIC",
        help="the metrics to run (beta_vae, factor_vae, mig, dci, sap, modularity, tc; "
             "default: the preset's set: fast = beta_vae factor_vae mig, paper = all; with "
             "the large-sample TC either way). At the paper preset DCI's boosted trees take "
             "minutes per model on a CPU (--set dci_classifier=hist_gbt: about 20x faster)")
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
        help="override one metric setting of the preset, repeatable: the metric's name, an "
             "underscore and the setting (beta_vae_num_train, factor_vae_prune_threshold, "
             "mig_num_bins, dci_classifier=hist_gbt, tc_num_images, ...), or deduplicate "
             "(true/false) and encode_batch_size; e.g. --set factor_vae_prune_threshold=0.1 "
             "(default: none, the preset as it is)")
    parser.set_defaults(run=run)


def parse_settings(items: list[str]) -> dict:
    """``["name=value", ...]`` -> {name: value}, each value read as ``vae-study sweep --set``
    reads one (a number, true/false, or text such as hist_gbt); a malformed item raises
    UserError (the values are checked against the metrics' settings later)."""
    from disentangle.errors import UserError
    from study.config import parse_value

    settings = {}
    for item in items:
        name, separator, text = item.partition("=")
        if not separator or not name.strip():
            raise UserError(f"--set {item!r}: write NAME=VALUE, e.g. beta_vae_num_train=1000")
        settings[name.strip()] = parse_value(text.strip())
    return settings


def run(args) -> int:
    import numpy as np

    from disentangle.data import get_dataset
    from disentangle.errors import UserError
    from disentangle.metrics import evaluate
    from disentangle.metrics.registry import result_columns, select_metrics
    from disentangle.metrics.settings import resolve_overrides
    from disentangle.models import load_model
    from disentangle.representation import posterior_function, representation_function

    if args.out.suffix not in (".csv", ".json"):
        raise UserError(f"--out {args.out}: name a .csv or .json file")
    settings = parse_settings(args.settings)
    metrics = [spec.key for spec in select_metrics(args.preset, args.metrics, posterior=True)]
    if args.metrics is not None and "tc" not in metrics:
        metrics.append("tc")
    resolve_overrides(args.preset, settings)   # fail before any loading
    columns = IDENTITY + result_columns(metrics, args.preset, posterior=True) + RUN
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
        posterior = posterior_function(model, device=args.device, precision=args.precision)
        scores = evaluate(data, represent, np.random.RandomState(args.seed), preset=args.preset,
                          metrics=metrics, posterior_function=posterior, details=True,
                          **settings)
        info = getattr(model, "info", {})
        rows.append({"checkpoint": str(path), "model": info.get("model", "?"),
                     "architecture": info.get("architecture", "?"), "preset": args.preset,
                     "seed": args.seed, "precision": represent.precision,
                     **{k: v for k, v in scores.items() if k in columns}})
        details.append({**rows[-1], **{key: scores[key] for key in metrics}})
        print(format_row(rows[-1]), flush=True)
    write_results(rows, details, columns, args.out)
    print(f"table: {args.out}")
    return 0


def format_row(row: dict) -> str:
    """``CKPT: kind (architecture)  BetaVAE 0.870  FactorVAE 0.715  ...  12.3 s``: every
    metric's headline score in the row."""
    from disentangle.metrics.registry import METRICS

    scores = [f"{spec.name} {row[spec.main_key]:.3f}" for spec in METRICS.values()
              if spec.main_key in row]
    return (f"{row['checkpoint']}: {row['model']} ({row['architecture']})  "
            + "  ".join(scores) + f"  {row['seconds']:.1f} s")


def write_results(rows: list[dict], details: list[dict], columns: list[str], out: Path) -> None:
    """The table as CSV, or everything as JSON, written atomically."""
    import json

    import pandas as pd

    from disentangle.files import write_table, write_text

    if out.suffix == ".json":
        write_text(out, json.dumps(details, indent=1))
    else:
        write_table(pd.DataFrame(rows).reindex(columns=columns), out)
