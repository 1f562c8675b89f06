"""``vae-study metrics sanity``: what each disentanglement metric measures, on hand-built
representations of dSprites' factors."""

from __future__ import annotations

import argparse
from pathlib import Path

from disentangle.files import write_table

HELP = "check the BetaVAE and FactorVAE metrics on hand-built representations"

DESCRIPTION = """\
Score hand-built representations of dSprites' five factors with both metrics and show what
each definition rewards: the factors themselves (both ~1), a random rotation (entangled),
all factors but one (Kim & Mnih's critique: BetaVAE stays ~1, FactorVAE drops to ~(K-1)/K),
one factor over two dimensions, an axis-aligned nonlinear warp, pure noise (chance, 1/K) and
collapsed dimensions. The observations are the factor values themselves, so nothing is
rendered and the metrics run exactly their image code path. Prints a table and writes
sanity.csv and sanity.png."""


def register(commands) -> None:
    parser = commands.add_parser(
        "metrics", help=HELP, description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", title="actions")
    sanity = actions.add_parser(
        "sanity", help="score the hand-built representations; print a table, write a figure",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    sanity.add_argument(
        "--out", type=Path, default=Path("metrics-sanity"),
        help="folder for sanity.csv and sanity.png (default: ./metrics-sanity)")
    sanity.add_argument(
        "--preset", choices=("paper", "fast"), default="paper",
        help="metric settings: 'paper' is the papers' protocol (about 5 s per case here), "
             "'fast' the every-epoch settings (noisier; under a second per case). "
             "Default: paper")
    sanity.add_argument(
        "--seed", type=int, default=0,
        help="seed of the metrics' random draws and of the random rotation and noise "
             "(default 0); change it to see the sampling noise of the scores")
    sanity.set_defaults(run=run_sanity)
    parser.set_defaults(run=lambda args: parser.print_help() or 2)


def run_sanity(args) -> int:
    # imported here, not at the top: `vae-study --help` stays fast
    import pandas as pd

    from analysis.figures import metric_sanity
    from disentangle.metrics.sanity import format_table, run_sanity_suite

    rows = run_sanity_suite(preset=args.preset, seed=args.seed)
    print(format_table(rows))
    args.out.mkdir(parents=True, exist_ok=True)
    columns = ["case", "beta_vae_score", "beta_vae_train_accuracy", "factor_vae_score",
               "factor_vae_train_accuracy", "factor_vae_active_dims", "expectation",
               "description"]
    table = pd.DataFrame(rows)
    file = write_table(table.reindex(columns=columns), args.out / "sanity.csv")
    figure = metric_sanity(table, args.out, name="sanity").png
    print(f"table: {file}\nfigure: {figure}")
    return 0
