"""How much of a sweep's wall time goes into training: Ray Tune's overhead, measured.

Runs a study (default: the quick preset) and prints

    efficiency = total training-step time of all trials / (wall time x parallel trials)

where the training-step time is the sum of every epoch's ``epoch_seconds`` (the time inside
``Trainer.train_steps``), the wall time is the whole ``run_sweep`` call (Ray start, dataset
load, trial start-up, metrics, checkpoints, TensorBoard panels, everything), and the parallel
trials are the slots the resources allow (min of trials, max_concurrent_trials and
CPUs / cpus_per_trial). The rest of the time is broken down: metric evaluation and image
panels (work the study asked for) versus what is left (Ray, Tune, start-up, checkpoints).

    python benchmarks/sweep_efficiency.py                       # the quick preset
    python benchmarks/sweep_efficiency.py --set epochs=1 --set steps_per_epoch=200
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path


def parallel_slots(study: dict, num_trials: int) -> int:
    """How many trials the study's resources let run at once on the connected Ray cluster."""
    import ray

    resources = study["resources"]
    total = ray.cluster_resources()
    limits = [num_trials, math.floor(total.get("CPU", 0) / resources["cpus_per_trial"])]
    if resources["gpus_per_trial"]:
        limits.append(math.floor(total.get("GPU", 0) / resources["gpus_per_trial"]))
    if resources["max_concurrent_trials"]:
        limits.append(resources["max_concurrent_trials"])
    return max(1, min(limits))


def epoch_rows(experiment: Path) -> list[dict]:
    rows = []
    for result_file in experiment.glob("*/result.json"):
        rows += [json.loads(line) for line in result_file.read_text().splitlines() if line]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="quick", help="study preset (default: quick)")
    parser.add_argument("--set", dest="assignments", action="append", default=[],
                        metavar="KEY=VALUE", help="preset changes, as for vae-study sweep")
    parser.add_argument("--storage", default=None,
                        help="where to write the experiment (default: a temporary folder)")
    args = parser.parse_args()

    from study.config import load_study
    from study.sweep import run_sweep

    study = load_study(args.preset, args.assignments)
    storage = Path(args.storage or tempfile.mkdtemp(prefix="sweep-efficiency-")).absolute()
    name = f"efficiency-{args.preset}-{time.strftime('%Y%m%d-%H%M%S')}"
    start = time.perf_counter()
    outcome = run_sweep(study, storage, name)
    wall = time.perf_counter() - start

    rows = epoch_rows(outcome.path)
    num_trials = len(outcome.trials)
    slots = parallel_slots(study.definition, num_trials)
    training = sum(row["epoch_seconds"] for row in rows)
    metrics = sum(row.get("metric_seconds", 0.0) for row in rows)
    images = sum(row.get("image_seconds", 0.0) for row in rows)
    capacity = wall * slots
    print(outcome.format())
    print()
    print(f"sweep efficiency ({args.preset}, {num_trials} trials, {len(rows)} epochs, "
          f"{os.cpu_count()} CPUs)")
    print(f"  wall time                     {wall:8.1f} s  x {slots} parallel trials "
          f"= {capacity:.1f} trial-seconds")
    print(f"  training steps (all trials)   {training:8.1f} s  {training / capacity:6.1%}"
          "   <- efficiency")
    print(f"  metric evaluation             {metrics:8.1f} s  {metrics / capacity:6.1%}")
    print(f"  TensorBoard image panels      {images:8.1f} s  {images / capacity:6.1%}")
    rest = capacity - training - metrics - images
    print(f"  everything else (Ray, Tune, start-up, checkpoints, idle slots)"
          f"  {rest:8.1f} s  {rest / capacity:6.1%}")


if __name__ == "__main__":
    main()
