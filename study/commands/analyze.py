"""``vae-study analyze``: a sweep's results -> tables, the papers' figures and report.md."""

from __future__ import annotations

import argparse
from pathlib import Path

from disentangle.errors import UserError

HELP = "turn a sweep's results into the papers' figures and a report with verdicts"

DESCRIPTION = """\
Read the results a sweep wrote (Ray Tune's trial folders: params.json, result.json,
progress.csv, checkpoints; nothing is re-trained and Ray need not run), or the results table
an earlier analysis wrote (tables/results.csv.gz: no trial folders or checkpoints needed), and
write:

  tables/    every model and epoch (epochs.csv/.parquet, results.csv.gz), each model's last
             epoch, the mean/std/median over seeds per setting, each model's status
  figures/   PNG + PDF: reconstruction vs disentanglement (Kim & Mnih), training curves,
             each metric against its kind's hyperparameter (Locatello et al.), BetaVAE vs
             FactorVAE score, rank correlations of all metrics, KL per latent dimension, latent
             traversals of the best and median model of each kind (from checkpoints)
  report.md  each claim of the papers, the evidence from this sweep, a verdict (confirmed /
             contradicted / inconclusive / not enough data) with its rule, confidence
             intervals, and the models left out and why, embedding the figures

Works on a finished sweep, on one still running (finished models only are judged), on a
single trial folder and on a results table. The same results give the same report.md.

examples:
  vae-study analyze results/quick-20260101-120000
  vae-study analyze results/paper --out paper-report --min-seeds 5
  vae-study analyze results/quick-20260101-120000 --sanity off --no-traversals"""


def register(commands) -> None:
    parser = commands.add_parser(
        "analyze", help=HELP, description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "sweep_dir", type=Path, metavar="DIR",
        help="the experiment folder a sweep printed (<storage>/<name>), a folder of several "
             "experiments, one trial folder, or a results table (results.csv.gz)")
    parser.add_argument(
        "--out", type=Path, default=None,
        help="where report.md, figures/ and tables/ go (default: DIR/analysis); an earlier "
             "analysis there is replaced, any other non-empty folder is refused")
    parser.add_argument(
        "--min-seeds", type=int, default=3,
        help="seeds each compared setting needs before a claim can be decided (default 3; "
             "raise it for a paper-sized sweep; 2 is the least a bootstrap over seeds allows)")
    parser.add_argument(
        "--alpha", type=float, default=0.05,
        help="one minus the confidence level of the verdicts' bootstrap intervals, divided "
             "by the number of settings a claim compares (Bonferroni; default 0.05)")
    parser.add_argument(
        "--sanity", default="fast", metavar="fast|paper|off|FILE",
        help="the metrics sanity suite behind Kim & Mnih's critique of the BetaVAE metric: "
             "run it now with the fast (default, ~15 s) or paper metric preset, skip it (off: "
             "the claim reads 'not enough data'), or read a saved CSV/JSON table")
    parser.add_argument(
        "--no-traversals", action="store_true",
        help="skip the latent traversal figure (it loads up to two checkpoints per model "
             "kind and one image of the dataset)")
    parser.set_defaults(run=run)


def run(args) -> int:
    # imported here, not at the top: `vae-study --help` stays fast
    from analysis.report import analyze
    from analysis.verdicts.framework import Rule

    if args.min_seeds < 2:
        raise UserError(f"--min-seeds {args.min_seeds}: a comparison over seeds needs at "
                        f"least 2 per setting; use 2 or more")
    if not 0 < args.alpha < 1:
        raise UserError(f"--alpha {args.alpha}: a significance level lies between 0 and 1, "
                        f"e.g. 0.05")
    analysis = analyze(args.sweep_dir, args.out, sanity=args.sanity,
                       rule=Rule(min_seeds=args.min_seeds, alpha=args.alpha),
                       traversals=not args.no_traversals)
    key_width = max(len(v.key) for v in analysis.verdicts)
    width = max(len(v.source) for v in analysis.verdicts)
    print("verdicts (numbered as in the report):")
    for number, verdict in enumerate(analysis.verdicts, 1):
        print(f"  {number:>2}  {verdict.key:<{key_width}}  {verdict.source:<{width}}  "
              f"{verdict.verdict}")
    print(f"figures: {len(analysis.figures)} in {analysis.out_dir / 'figures'} (PNG and PDF)")
    print(f"tables:  {analysis.out_dir / 'tables'}")
    print(f"report:  {analysis.report}")
    return 0
