"""``vae-study evaluate``: score checkpoints, or any encoder (``disentangle.external``), with
the disentanglement metrics."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from disentangle.errors import UserError
from disentangle.files import atomic_path, write_table, write_text
from study.overrides import parse_value

HELP = "score checkpoints, or any encoder, with the disentanglement metrics"

DESCRIPTION = """\
Score each checkpoint with the disentanglement metrics (disentangle.metrics.registry: the
preset's default set, or --metrics) and the large-sample total correlation, and print and save
a table.

A checkpoint is a .pt file written by training or by `vae-study pretrained import`, or a
disentangling-vae result folder (model.pt + specs.json), e.g.
../shared/pretrained/disentangling-vae/betaH_dsprites. Every model is scored with the same
random draws (--seed), so the differences between rows are the models' differences.

Any other model, trained anywhere, is scored on the same draws in one of three ways, and gets a
citable report (every score under disentanglement_lib's names, the preset and its settings,
the seed, the dataset and its images' source, the version and the time taken):

  --encoder encoder.pt          TorchScript (or torch.export .pt2): images -> codes
  --encoder my_model:encode     a Python function: float32 numpy (N, C, 64, 64) in [0, 1]
                                -> codes (N, D), numpy or torch
  --needed-indices needed.npy   the dataset indices an evaluation needs (same --dataset,
  then --codes codes.npz        --preset, --seed, --metrics, --set); codes.npz holds
                                `indices` and `codes` (N, D), made wherever the model runs

Python: disentangle.external.score_encoder (the same options)."""

#: Columns around the metrics' own result keys (``registry.result_columns``).
IDENTITY = ["checkpoint", "model", "architecture"]
RUN = ["preset", "seed", "precision", "seconds"]


def register(commands) -> None:
    parser = commands.add_parser(
        "evaluate", help=HELP, description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="*", type=Path, metavar="CKPT",
                        help="checkpoint files (.pt) or disentangling-vae result folders")
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--encoder", metavar="FILE|MODULE:FUNCTION",
        help="score any encoder instead of checkpoints: a TorchScript file (or a torch.export "
             ".pt2 program) mapping float images (N, C, 64, 64) in [0, 1] to codes (N, D), or "
             "an importable function doing the same on numpy arrays (package.module:function, "
             "imported with the current folder on the path)")
    source.add_argument(
        "--codes", type=Path, metavar="TABLE.npz",
        help="score codes made elsewhere: an .npz with `indices` (N,) and `codes` (N, D) "
             "covering the indices --needed-indices writes for the same options")
    source.add_argument(
        "--needed-indices", type=Path, metavar="OUT.npy",
        help="write the dataset indices this evaluation (--dataset, --preset, --seed, "
             "--metrics, --set) needs codes for, sorted, and stop; index i is the image with "
             "the mixed-radix factor classes of i, last factor fastest (dSprites: image i of "
             "the original npz)")
    parser.add_argument(
        "--dsprites-npz", type=Path, default=None, metavar="FILE",
        help="your copy of the original dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz, "
             "to score on its images instead of the rendered ones (default: $DSPRITES_NPZ, "
             "else rendered); the report says which")
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
        "--out", type=Path, default=None,
        help="where to save the results: for checkpoints the table (default: "
             "./evaluation.csv; a .json name adds every metric's diagnostics: vote matrices, "
             "per-factor accuracy), for --encoder and --codes the report (default: "
             "./evaluation.json; a .csv name saves its table)")
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
    settings = {}
    for item in items:
        name, separator, text = item.partition("=")
        if not separator or not name.strip():
            raise UserError(f"--set {item!r}: write NAME=VALUE, e.g. beta_vae_num_train=1000")
        settings[name.strip()] = parse_value(text.strip())
    return settings


def run(args) -> int:
    external = args.encoder is not None or args.codes is not None
    if args.needed_indices is not None or external:
        if args.checkpoints:
            raise UserError("give checkpoints, or --encoder, --codes or --needed-indices, not "
                            "both")
        if args.needed_indices is not None:
            return write_needed_indices(args, parse_settings(args.settings))
    elif not args.checkpoints:
        raise UserError("nothing to score: give checkpoints (CKPT ...), --encoder, --codes or "
                        "--needed-indices")
    if args.out is None:
        args.out = Path("evaluation.json" if external else "evaluation.csv")
    if args.out.suffix not in (".csv", ".json"):
        raise UserError(f"--out {args.out}: name a .csv or .json file")
    if external:
        return score_external(args, parse_settings(args.settings))
    return score_checkpoints(args)


def score_checkpoints(args) -> int:
    """Score every checkpoint of ``args`` on one set of draws; print and save the table."""
    # imported here, not at the top: `vae-study --help` stays fast
    import numpy as np

    from disentangle.external import load_dataset
    from disentangle.metrics import evaluate
    from disentangle.metrics.registry import result_columns, select_metrics
    from disentangle.metrics.settings import resolve_overrides
    from disentangle.models import load_model
    from disentangle.representation import posterior_function, representation_function

    settings = parse_settings(args.settings)
    metrics = [spec.key for spec in select_metrics(args.preset, args.metrics, posterior=True)]
    if args.metrics is not None and "tc" not in metrics:
        metrics.append("tc")
    resolve_overrides(args.preset, settings)   # fail before any loading
    columns = IDENTITY + result_columns(metrics, args.preset, posterior=True) + RUN
    models = [(path, load_model(path, device="cpu")) for path in args.checkpoints]
    data = load_dataset(args.dataset, args.dsprites_npz)
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


def write_needed_indices(args, settings: dict) -> int:
    """Save the indices the evaluation of ``args`` needs codes for (``--needed-indices``)."""
    # imported here, not at the top: `vae-study --help` stays fast
    import numpy as np

    from disentangle.external import needed_indices

    if args.needed_indices.suffix != ".npy":
        raise UserError(f"--needed-indices {args.needed_indices}: name a .npy file")
    indices = needed_indices(args.dataset, preset=args.preset, seed=args.seed,
                             metrics=args.metrics, dsprites_npz=args.dsprites_npz, **settings)
    with atomic_path(args.needed_indices) as temporary, temporary.open("wb") as stream:
        np.save(stream, indices)
    print(f"{args.needed_indices}: the {indices.size:,} images of {args.dataset} (preset "
          f"{args.preset}, seed {args.seed}) this evaluation encodes. Save their codes with "
          "numpy.savez('codes.npz', indices=indices, codes=codes), codes (N, D) in the same "
          "order, and score them with --codes codes.npz and the same options.")
    return 0


def score_external(args, settings: dict) -> int:
    """Score ``--encoder`` or ``--codes``: print the citable table, save the report."""
    # imported here, not at the top: `vae-study --help` stays fast
    import pandas as pd

    from disentangle.external import score_encoder
    from disentangle.metrics.citation import format_report, table_rows

    record = score_encoder(args.encoder, codes=args.codes, dataset=args.dataset,
                           preset=args.preset, seed=args.seed, metrics=args.metrics,
                           device=args.device, precision=args.precision,
                           dsprites_npz=args.dsprites_npz, **settings)
    print(format_report(record), flush=True)
    if args.out.suffix == ".json":
        write_text(args.out, json.dumps(record, indent=1))
    else:
        write_table(pd.DataFrame(table_rows(record)), args.out)
    print(f"report: {args.out}")
    return 0


def format_row(row: dict) -> str:
    """``CKPT: kind (architecture)  BetaVAE 0.870  FactorVAE 0.715  ...  12.3 s``: every
    metric's headline score in the row."""
    # imported here, not at the top: `vae-study --help` stays fast
    from disentangle.metrics.registry import METRICS

    scores = [f"{spec.name} {row[spec.main_key]:.3f}" for spec in METRICS.values()
              if spec.main_key in row]
    return (f"{row['checkpoint']}: {row['model']} ({row['architecture']})  "
            + "  ".join(scores) + f"  {row['seconds']:.1f} s")


def write_results(rows: list[dict], details: list[dict], columns: list[str], out: Path) -> None:
    """The table as CSV, or everything as JSON, written atomically."""
    # imported here, not at the top: `vae-study --help` stays fast
    import pandas as pd

    if out.suffix == ".json":
        write_text(out, json.dumps(details, indent=1))
    else:
        write_table(pd.DataFrame(rows).reindex(columns=columns), out)
