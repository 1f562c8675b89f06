"""The shipped study on one GPU (issue #16): the ``core`` preset trained to paper scale in one
process, analysed, and packed into a compact bundle.

    python3 scripts/gpu_study.py OUT [--budget 330]        # on a GPU machine (no Ray needed)
    python3 scripts/gpu_study.py OUT --device cpu --steps 6 --epochs 2 --seeds 3   # CPU-sized

1. Sizing: the core stack (27 models: VAE, β-VAE β ∈ {2, 4, 8, 16}, FactorVAE
   γ ∈ {10, 20, 40, 100}, 3 seeds; Kim & Mnih's settings) is timed for a few hundred steps on
   the device, and the steps per model are the most that fit the training budget (the
   papers' 300k at most). Below the 100k floor the grid drops to VAE, β ∈ {4, 16},
   γ ∈ {10, 40} (seeds and steps are kept before settings), is timed again and sized again;
   if even that cannot reach 100k, it trains what fits and ``run.json`` and the report say so.
2. Training: ``vae-study sweep --local`` (``study.local.run_local``): one stack, 10 epochs,
   fast scores each epoch, paper-sized scores with the large-sample TC after the last.
3. Analysis: ``vae-study analyze`` on the trial folders (figures, traversals of the best and
   median model of each kind), then again on its results table alone, which gives the
   shipped report (the same table always gives the same report: a test re-runs it).
4. The bundle in OUT (the device returns at most 8 files): ``results.csv.gz`` (every model,
   every epoch, every metric), ``report.md``, ``sanity.csv``, ``figures.tar.gz`` (PNG),
   ``weights.pt`` (bf16 weights of the best and median model of each kind), ``run.json``
   (hardware, grid, steps, throughput, wall times) and ``gpu_study.log``.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tarfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
if TYPE_CHECKING:                 # the project is imported after the path is set, in main
    from study.config import Study

#: The preset's grid, then the one issue #16 falls back to (settings go before seeds or steps).
GRIDS = {"full": [{"model": "vae"}, {"model": "beta_vae", "beta": [2, 4, 8, 16]},
                  {"model": "factor_vae", "gamma": [10, 20, 40, 100]}],
         "reduced": [{"model": "vae"}, {"model": "beta_vae", "beta": [4, 16]},
                     {"model": "factor_vae", "gamma": [10, 40]}]}
TARGET_STEPS, FLOOR_STEPS, EPOCHS = 300_000, 100_000, 10


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="folder for the bundle (created)")
    parser.add_argument("--budget", type=float, default=330.0,
                        help="seconds of training the run may spend (default 330)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--work", type=Path, default=None,
                        help="where the experiment is trained (default: OUT/../gpu-study-work)")
    parser.add_argument("--steps", type=int, default=None,
                        help="steps per epoch, skipping the sizing (CPU-sized runs)")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--set", dest="assignments", action="append", default=[],
                        help="extra --set assignments for the preset (e.g. smaller metrics)")
    return parser.parse_args()


def stack_seconds_per_step(study: Study, device: str, steps: int = 200) -> float:
    """Seconds per step of the study's whole stack on ``device`` (after a warm-up)."""
    import torch

    from disentangle.data import get_dataset
    from disentangle.training import StackTrainer

    configs = [model.config for model in study.models]
    trainer = StackTrainer(configs, get_dataset(study.definition["dataset"]["name"]), device)
    trainer.train_steps(20)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    trainer.train_steps(steps)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def sized_study(args, log) -> tuple[Study, dict]:
    """The core study to run and what the sizing measured and decided."""
    from study.config import load_study

    base = [f"seeds={list(range(args.seeds))}", f"epochs={args.epochs}", *args.assignments]
    plan = {"budget_seconds": args.budget, "device": args.device, "target_steps": TARGET_STEPS,
            "floor_steps": FLOOR_STEPS}
    for name, grid in GRIDS.items():
        study = load_study("core", base + [f"variants={json.dumps(grid)}"])
        if args.steps:
            plan.update(grid=name, steps_per_epoch=args.steps, sized=False)
            break
        seconds = stack_seconds_per_step(study, args.device)
        models = len(study.definition["seeds"]) * sum(
            math.prod(len(v) if isinstance(v, list) else 1 for v in variant.values())
            for variant in grid)
        fits = int(args.budget / seconds)
        log(f"{name} grid: {models} models, {1000 * seconds:.2f} ms per stack step, "
            f"{models / seconds:,.0f} model-steps/s: {fits:,} steps fit in {args.budget:.0f} s")
        plan[f"{name}_grid"] = {"models": models, "ms_per_step": 1000 * seconds,
                                "model_steps_per_second": models / seconds, "steps_fit": fits}
        if fits >= FLOOR_STEPS or name == "reduced":
            steps = min(TARGET_STEPS, fits) // args.epochs // 1000 * 1000 or fits // args.epochs
            plan.update(grid=name, steps_per_epoch=steps, sized=True,
                        below_floor=steps * args.epochs < FLOOR_STEPS)
            break
    study = load_study("core", base + [f"variants={json.dumps(GRIDS[plan['grid']])}",
                                       f"steps_per_epoch={plan['steps_per_epoch']}"])
    plan["steps_per_model"] = study.definition["epochs"] * study.definition["steps_per_epoch"]
    return study, plan


def best_and_median_weights(results, out: Path) -> Path:
    """bf16 weights of the best and the median model of each kind among those the verdicts
    use (by the report's FactorVAE score: ``analysis.traversals.select_models``, which picks
    the traversals' models), with their identity, in one file."""
    import torch

    from analysis.results import score_column
    from analysis.selection import select_models as verdict_models
    from analysis.traversals import select_models as best_and_median
    from disentangle.models import load_model

    used = verdict_models(results.epochs, results.trials).table
    score = score_column(used, "factor_vae")
    bundle = {}
    for chosen in best_and_median(used, results.trials)[0]:
        model = load_model(chosen.checkpoint_file)
        bundle[f"{chosen.row['model']}/{chosen.role}"] = {
            "info": model.info, "score": float(chosen.row[score]),
            "setting": chosen.row["setting"], "seed": int(chosen.row["seed"]),
            "state": {k: v.to(torch.bfloat16) for k, v in model.state_dict().items()}}
    torch.save(bundle, out)
    return out


def main() -> None:
    args = parse_args()
    out = args.out.absolute()
    out.mkdir(parents=True, exist_ok=True)
    work = (args.work or out.parent / "gpu-study-work").absolute()
    log_file = open(out / "gpu_study.log", "a", encoding="utf-8")

    def log(line: str) -> None:
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    started = time.perf_counter()
    study, plan = sized_study(args, log)
    log(f"training the {plan['grid']} grid, {plan['steps_per_model']:,} steps per model")
    from analysis.report import analyze
    from analysis.results import load_results
    from study.local import run_local

    outcome = run_local(study, work, "core", device=args.device, progress=log)
    plan["train_seconds"] = time.perf_counter() - started
    log(outcome.format())
    analysis = analyze(work / "core", work / "analysis", sanity="fast")
    table = analysis.tables["results"]
    shutil.copy(table, out / "results.csv.gz")
    shutil.copy(analysis.tables["sanity"], out / "sanity.csv")
    shipped = analyze(out / "results.csv.gz", work / "report", sanity=out / "sanity.csv",
                      traversals=False)
    shutil.copy(shipped.report, out / "report.md")
    with tarfile.open(out / "figures.tar.gz", "w:gz") as archive:
        for figure in shipped.figures + [f for f in analysis.figures if f.name == "traversals"]:
            archive.add(figure.png, arcname=f"figures/{figure.png.name}")
    best_and_median_weights(load_results(work / "core"), out / "weights.pt")
    plan.update(total_seconds=time.perf_counter() - started, study=study.definition,
                hardware=hardware(args.device),
                verdicts={v.key: v.verdict for v in shipped.verdicts})
    (out / "run.json").write_text(json.dumps(plan, indent=2, default=str))
    log(f"bundle: {sorted(p.name for p in out.iterdir())} in {plan['total_seconds']:.0f} s")


def hardware(device: str) -> dict:
    import platform

    import torch

    info = {"torch": torch.__version__, "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine()}
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


if __name__ == "__main__":
    main()
