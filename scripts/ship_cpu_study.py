"""Ship the long CPU study (``scripts/cpu_study.sh``) as it stands into docs/results/cpu.

    python3 scripts/ship_cpu_study.py [RUN_DIR] [--out docs/results/cpu]

Reads the run's sweep (RUN_DIR/study, default ~/vae-study-runs/cpu) while it trains and writes:

- ``results.csv.gz``: the snapshot the report analyses: every model's epochs up to the latest
  step all models reached where the paper-sized scores were computed (``analysis.bundle``),
  so ``vae-study analyze docs/results/cpu/results.csv.gz`` gives ``report.md`` again;
- ``all_epochs.csv.gz``: every epoch of every model so far, and ``curves.csv``: per setting
  and step the mean and 95% t-interval over seeds of each quantity (``analysis.curves``);
- ``report.md``, ``sanity.csv``, ``figures/*.png`` (the learning curves, the report's figures,
  the traversals of the best and median model of each kind);
- ``weights/<kind>_<role>.pt``: those models in bf16, loadable by ``vae-study evaluate`` and
  ``navigate``: as they were at the snapshot step (kept by the ships in RUN/scored_weights,
  since the run keeps only its newest checkpoints), else from their newest checkpoint;
- ``run.json``: the run's record (commit, machine, starts) with the steps reached, wall
  time and model-steps/s of each trial, and the CPU seconds its training processes had used
  when last seen by this script (each start's, and their sum);
- ``README.md``: the status page (in progress or finished, the table, throughput, figures).

Shipped to the default ``--out``, it also rewrites the project README's results block
(``analysis.long_run``: the table beside paper-scale models, the figures, the verdicts).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHIPPED = ROOT / "docs" / "results" / "cpu"
README = ROOT / "README.md"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", nargs="?", type=Path,
                        default=Path.home() / "vae-study-runs" / "cpu")
    parser.add_argument("--out", type=Path, default=SHIPPED)
    parser.add_argument("--sanity", default="fast",
                        help="the metric sanity suite: fast, paper, off, or a saved table")
    return parser.parse_args()


def trainer_cpu_seconds(run: Path) -> float | None:
    """CPU seconds (user + system) used so far by the run's training processes (the Ray
    workers started with the run's pinned code), or None when none is running."""
    import os

    total, found, tick = 0.0, False, os.sysconf("SC_CLK_TCK")
    for proc in Path("/proc").iterdir():
        try:
            if (b"ray::" not in (proc / "cmdline").read_bytes()
                    or f"PYTHONPATH={run / 'code'}".encode() not in
                    (proc / "environ").read_bytes().split(b"\0")):
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError):
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
        found = True
    return total if found else None


def record_cpu_time(run: Path) -> dict:
    """The run's record with this start's CPU seconds so far (kept in RUN/run.json, so each
    start keeps the last value seen before it stopped) and their sum over starts."""
    file = run / "run.json"
    record = json.loads(file.read_text())
    seconds = trainer_cpu_seconds(run)
    if seconds is not None:
        record["starts"][-1]["cpu_seconds_seen"] = round(seconds)
        file.write_text(json.dumps(record, indent=2) + "\n")
    record["cpu_seconds_seen"] = sum(start.get("cpu_seconds_seen", 0)
                                     for start in record["starts"])
    return record


def main() -> None:
    args = parse_args()
    import pandas as pd

    from analysis import long_run
    from analysis.bundle import bf16_weights, common_step, keep_scored_weights, snapshot
    from analysis.curves import curve_table, learning_curves
    from analysis.report import analyze, load_sanity, write_analysis
    from analysis.results import load_results, results_table
    from analysis.traversals import select_models
    from analysis.verdicts.framework import Rule

    run, out = args.run.expanduser().absolute(), args.out.absolute()
    results = load_results(run / "study")
    study = json.loads((run / "study" / "study.json").read_text())
    paper_step = study["metrics"]["paper_every"] * study["steps_per_epoch"]
    kept = run / "scored_weights"
    if paper_step:
        keep_scored_weights(results, paper_step, kept)
    step = common_step(results.epochs, paper_step) if paper_step else None
    paper = step is not None
    step = step or common_step(results.epochs)
    if step is None:
        sys.exit(f"error: no step of {run / 'study'} is reported by every model yet")
    shot = snapshot(results, step, kept)
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        # built beside OUT under OUT's own name (the report names its folder), then renamed
        staging = out.parent / f".{out.name}.partial" / out.name
        shutil.rmtree(staging.parent, ignore_errors=True)
        (staging / "figures").mkdir(parents=True)
        sanity, source = load_sanity(args.sanity)
        full = write_analysis(shot, work, sanity, source, Rule(), traversals=True)
        results_table(shot).to_csv(staging / "results.csv.gz", index=False)
        results_table(results).to_csv(staging / "all_epochs.csv.gz", index=False)
        curve_table(results.epochs).to_csv(staging / "curves.csv", index=False)
        if sanity is not None:
            shutil.copy(full.tables["sanity"], staging / "sanity.csv")
        shipped = analyze(staging / "results.csv.gz", work / "report", traversals=False,
                          sanity=staging / "sanity.csv" if sanity is not None else "off")
        shutil.copy(shipped.report, staging / "report.md")
        figures = [learning_curves(results.epochs, work / "curves")] + [
            f for f in full.figures if f.name != "metric_sanity"]
        for figure in figures:
            shutil.copy(figure.png, staging / "figures" / figure.png.name)
        selections, _ = select_models(shot.final, shot.trials)
        weights = bf16_weights(selections, staging / "weights")
        record = record_cpu_time(run)
        record.update(study=study, snapshot_step=step,
                      snapshot_preset="paper" if paper else "fast",
                      trials=long_run.throughput(results),
                      steps_reached=int(results.epochs.groupby("trial_id")["steps"].max().min()),
                      verdicts=[{"key": v.key, "source": v.source, "claim": v.claim,
                                 "verdict": v.verdict} for v in shipped.verdicts],
                      weights=weights)
        (staging / "run.json").write_text(json.dumps(record, indent=2) + "\n")
        curves = pd.read_csv(staging / "curves.csv")
        (staging / "README.md").write_text(long_run.status_page(record, curves),
                                           encoding="utf-8")
        if out == SHIPPED:
            block = long_run.results_block(record, curves, "docs/results/cpu", "docs")
            readme = long_run.with_block(README.read_text(encoding="utf-8"), block)
        shutil.rmtree(out, ignore_errors=True)
        staging.rename(out)
        staging.parent.rmdir()
        if out == SHIPPED:
            README.write_text(readme, encoding="utf-8")
    print(f"shipped {out}: snapshot at step {step:,}, every model at >= "
          f"{record['steps_reached']:,} steps")


if __name__ == "__main__":
    main()
