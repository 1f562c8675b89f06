"""Run a grid study in this process, without Ray: ``vae-study sweep --local``.

For one machine where Ray is not installed or not wanted, e.g. a single GPU box training the
whole grid as one stack. The study's trials (``Study.trials``) run one after another with
``trainables.runner.TrialRunner``, and everything is written in Ray Tune's layout, so
``vae-study analyze``, the summary, TensorBoard and ``navigate --sweep`` read a local
experiment exactly like a Tune one:

  <storage>/<name>/study.json                 the study as run
  <storage>/<name>/<trial>/params.json        the trial's config (its models)
  <storage>/<name>/<trial>/result.json        one JSON line per epoch (+ Tune's bookkeeping keys)
  <storage>/<name>/<trial>/checkpoint_NNNNNN/ stack.pt (resumable) and each model's weights
  <storage>/<name>/<trial>/<model>/           the model's TensorBoard run
  <storage>/<name>/<trial>/error.txt          when the trial failed

Running it again on the same folder continues: finished trials are kept, the others resume
from their newest checkpoint (the epochs after it are trained again, exactly as before).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import traceback
from pathlib import Path

from disentangle.errors import UserError
from disentangle.files import write_json, write_text
from disentangle.result_names import IMAGES_PER_SECOND, MODEL_STEPS_PER_SECOND, STEPS
from disentangle.runtime import default_device
from study.config import STUDY_FILE, Study
from study.summary import SweepOutcome
from study.trials import trial_label
from trainables.runner import TrialRunner

RESULT_FILE, PARAMS_FILE, ERROR_FILE = "result.json", "params.json", "error.txt"


def run_local(study: Study, storage: str | Path, name: str, device=None, progress=print):
    """Run (or continue) ``study`` as experiment ``<storage>/<name>`` in this process; return
    its ``SweepOutcome``."""
    if study.search is not None:
        raise UserError("--local runs grid studies; an Optuna search needs Ray (drop --local)")
    path = Path(storage).expanduser().absolute() / name
    stored = path / STUDY_FILE
    if stored.is_file() and json.loads(stored.read_text()) != study.definition:
        raise UserError(f"{path} holds another study: choose another --name (nothing there "
                        f"is overwritten)")
    path.mkdir(parents=True, exist_ok=True)
    write_json(stored, study.definition)
    device = device or default_device()
    for number, config in enumerate(study.trial_configs()):
        folder = path / f"{trial_label(config['models'])}_local_{number:05d}"
        try:
            _run_trial(config, folder, f"local_{number:05d}",
                       study.definition["checkpoints"]["keep"], device, progress)
        except (Exception, KeyboardInterrupt) as error:
            (folder / ERROR_FILE).write_text(traceback.format_exc())
            if isinstance(error, KeyboardInterrupt):
                raise
            progress(f"ERROR  {folder.name}: {type(error).__name__}: {error}")
    outcome = SweepOutcome.from_sweep(path)
    outcome.write_csv(path / "summary.csv")
    return outcome


def _run_trial(config: dict, folder: Path, trial_id: str, keep: int, device, progress) -> None:
    rows = _read_rows(folder)
    if rows and rows[-1].get("done"):
        progress(f"done   {folder.name} (finished before)")
        return
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / PARAMS_FILE, config)
    (folder / ERROR_FILE).unlink(missing_ok=True)
    runner = TrialRunner(config, folder, device)
    checkpoints = sorted(folder.glob("checkpoint_*"))
    start = 0
    if checkpoints:
        runner.load_checkpoint(checkpoints[-1])
        start = int(checkpoints[-1].name.split("_")[-1])
    rows = rows[:start]
    total = sum(row["time_this_iter_s"] for row in rows)
    for epoch in range(start + 1, runner.epochs + 1):
        began = time.perf_counter()
        result = runner.epoch(epoch)
        seconds = time.perf_counter() - began
        total += seconds
        result.update(training_iteration=epoch, trial_id=trial_id, done=epoch >= runner.epochs,
                      time_this_iter_s=seconds, time_total_s=total, timestamp=int(time.time()),
                      hostname=socket.gethostname(), pid=os.getpid())
        checkpoint = folder / f"checkpoint_{epoch:06d}"
        runner.save_checkpoint(checkpoint)
        rows.append(result)
        _write_rows(folder, rows)
        for old in sorted(folder.glob("checkpoint_*"))[:-keep]:
            shutil.rmtree(old)
        progress(f"{'done  ' if result['done'] else 'epoch '} {folder.name} {epoch}/"
                 f"{runner.epochs}: {runner.trainer.size} models, step {result[STEPS]}, "
                 f"{result[MODEL_STEPS_PER_SECOND]:,.1f} model-steps/s, "
                 f"{result[IMAGES_PER_SECOND]:,.0f} images/s")


def _read_rows(folder: Path) -> list[dict]:
    file = folder / RESULT_FILE
    if not file.is_file():
        return []
    return [json.loads(line) for line in file.read_text().splitlines() if line.strip()]


def _write_rows(folder: Path, rows: list[dict]) -> None:
    write_text(folder / RESULT_FILE, "".join(json.dumps(row) + "\n" for row in rows))
