"""Read a Ray Tune sweep from disk into tidy pandas tables, without a running Ray.

Tune writes one folder per trial holding ``params.json`` (the trial's config), ``result.json``
(one JSON object per reported epoch, appended as training goes) and ``progress.csv`` (the same
rows, flattened), plus ``checkpoint_NNNNNN/`` folders. Reading these files directly works on a
finished sweep, on a sweep that is still running (a half-written last line is skipped), on a
folder of several experiments, and on a single trial folder.

Every model of a trial (a stack trains several) is a row of its own, with the identity its
trial's config states (``analysis.results.identity``), in the tables of
``analysis.results.tables``. A results table written by ``vae-study analyze`` reads back into
the same tables without the trial folders.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analysis.results.identity import (
    attach_identity,
    identity_columns,
    identity_of,
    in_setting_order,
)
from analysis.results.tables import TUNE_COLUMNS, SweepResults
from disentangle.errors import UserError
from disentangle.result_names import DIVERGED, MODELS, TRIAL_COLUMNS
from disentangle.training.config import members_of

RESULT_FILE, PROGRESS_FILE, PARAMS_FILE = "result.json", "progress.csv", "params.json"
TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet")


def is_trial_dir(path: Path) -> bool:
    """A Tune trial folder: its config and at least one kind of result file."""
    return (path / PARAMS_FILE).is_file() and (
        (path / RESULT_FILE).is_file() or (path / PROGRESS_FILE).is_file())


def find_trial_dirs(root: str | Path, max_depth: int = 3) -> list[Path]:
    """Trial folders at ``root`` itself or up to ``max_depth`` levels below it, sorted."""
    root = Path(root)
    if is_trial_dir(root):
        return [root]
    found, level = [], [root]
    for _ in range(max_depth):
        level = [child for folder in level for child in sorted(folder.iterdir())
                 if child.is_dir() and not child.name.startswith((".", "checkpoint_"))]
        found += [folder for folder in level if is_trial_dir(folder)]
        level = [folder for folder in level if not is_trial_dir(folder)]
    return sorted(found)


def read_result_rows(trial_dir: Path) -> list[dict]:
    """The trial's reported rows: ``result.json`` lines, else ``progress.csv``.

    A line that does not parse (the one Tune is writing right now) is skipped. When a trial
    was restored from a checkpoint, epochs it reports again replace the earlier rows.
    """
    rows = []
    result_file = trial_dir / RESULT_FILE
    if result_file.is_file():
        for line in result_file.read_text(errors="replace").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict):
                row.pop("config", None)
                rows.append(flatten(row))
    if not rows and (trial_dir / PROGRESS_FILE).is_file():
        try:
            progress = pd.read_csv(trial_dir / PROGRESS_FILE, on_bad_lines="skip")
        except (pd.errors.EmptyDataError, pd.errors.ParserError):
            progress = pd.DataFrame()
        progress = progress.loc[:, [c for c in progress.columns if not c.startswith("config/")]]
        rows = progress.to_dict("records")
    by_epoch = {}
    for index, row in enumerate(rows):
        by_epoch[row.get("training_iteration", index + 1)] = row
    return [by_epoch[epoch] for epoch in sorted(by_epoch, key=float)]


def flatten(mapping: dict, prefix: str = "") -> dict:
    """Nested dicts -> one level with ``outer/inner`` keys (Tune's own convention)."""
    flat = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}/"))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def read_config(trial_dir: Path) -> dict:
    try:
        config = json.loads((trial_dir / PARAMS_FILE).read_text())
    except (json.JSONDecodeError, OSError):
        config = {}
    return flatten(config) if isinstance(config, dict) else {}


def latest_checkpoint(trial_dir: Path) -> Path | None:
    """The newest ``checkpoint_NNNNNN`` folder of a trial that holds a file, or None."""
    checkpoints = sorted(p for p in trial_dir.glob("checkpoint_*") if p.is_dir()
                         and any(f.is_file() for f in p.iterdir()))
    return checkpoints[-1] if checkpoints else None


def trial_status(trial_dir: Path, rows: list[dict]) -> str:
    if rows and str(rows[-1].get("done", False)).lower() == "true":
        return "finished"   # also after a failure Tune recovered from (error.txt says so)
    if (trial_dir / "error.txt").exists() or (trial_dir / "error.pkl").exists():
        return "errored"
    return "incomplete"


def load_results(path: str | Path) -> SweepResults:
    """Read every model of every trial under ``path`` (a sweep folder, several, or one trial
    folder). A trial that trains several models (a stack) gives one row per model and epoch,
    exactly as if each had been its own trial.

    ``path`` may also be a results table (``results_table``: every model's every epoch with
    its status, as ``analyze`` writes it to results.csv.gz): then the analysis needs neither
    the trial folders nor the checkpoints. Raises UserError when ``path`` holds no Tune trial
    folder.
    """
    root = Path(path).expanduser().resolve()
    if root.is_file() and root.name.endswith(TABLE_SUFFIXES):
        return results_from_table(root)
    if not root.is_dir():
        raise UserError(f"{root} is not a folder; give the sweep folder that `vae-study "
                        f"sweep` printed (storage/experiment name), one trial folder in it, or "
                        f"a results table (results.csv.gz) written by `vae-study analyze`")
    trial_dirs = find_trial_dirs(root)
    if not trial_dirs:
        raise UserError(f"no Ray Tune trial folders (params.json with result.json or "
                        f"progress.csv) under {root}; give the sweep folder that `vae-study "
                        f"sweep` printed, or one trial folder in it")
    frames, model_rows = [], []
    for number, trial_dir in enumerate(trial_dirs):
        rows = read_result_rows(trial_dir)
        config = read_config(trial_dir)
        tune_trial = str(rows[-1].get("trial_id")) if rows and rows[-1].get("trial_id") \
            else f"{trial_dir.name}#{number}"
        checkpoint = latest_checkpoint(trial_dir)
        status = trial_status(trial_dir, rows)
        for member in trial_members(config):
            model_id = f"{tune_trial}/{member['name']}"
            member_rows = [model_row(row, member["name"]) for row in rows]
            diverged = bool(member_rows) and member_rows[-1].get(DIVERGED) == 1
            model_rows.append({
                "trial_id": model_id, "tune_trial": tune_trial, "member": member["name"],
                "experiment": trial_dir.parent.name,
                "status": "diverged" if diverged else status, "epochs": len(member_rows),
                "checkpoint": str(checkpoint) if checkpoint else "", "path": str(trial_dir),
                "config": json.dumps(config, sort_keys=True, default=str),
                **identity_of(member)})
            frame = pd.DataFrame(member_rows)
            frame["trial_id"] = model_id
            frames.append(frame)
    trials = pd.DataFrame(model_rows)
    epochs = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(
        len(f) for f in frames) else pd.DataFrame({"trial_id": pd.Series(dtype=str)})
    epochs = attach_identity(epochs, trials)
    trials = in_setting_order(trials, ["seed", "trial_id"])
    return SweepResults(root=root, epochs=epochs, trials=trials)


def trial_members(config: dict) -> list[dict]:
    """The models a trial trained, as its config names them (``members_of``); a config that
    names no registered kind (a trial of some other Trainable) is one unnamed model."""
    try:
        return members_of(config)
    except UserError:
        return [{"model": str(config.get("model", "unknown")), "seed": config.get("seed"),
                 "setting": str(config.get("model", "unknown")), "name": "model"}]


def model_row(row: dict, name: str) -> dict:
    """One model's numbers in a trial's reported row (flattened ``models/<name>/...``), with
    the trial-level bookkeeping; a row without per-model numbers is the model's own."""
    prefix = f"{MODELS}/{name}/"
    if not any(key.startswith(f"{MODELS}/") for key in row):
        return dict(row)
    own = {key[len(prefix):]: value for key, value in row.items() if key.startswith(prefix)}
    shared = {key: value for key, value in row.items()
              if key in TRIAL_COLUMNS or key in TUNE_COLUMNS}
    return {**shared, **own}


def results_from_table(file: Path) -> SweepResults:
    """The results held by a ``results_table`` written to ``file`` (CSV, gzipped CSV or
    Parquet)."""
    try:
        table = pd.read_parquet(file) if file.name.endswith(".parquet") else pd.read_csv(file)
    except (ValueError, OSError) as error:
        raise UserError(f"{file} is not a results table ({error})") from None
    needed = {"trial_id", "model", "setting", "seed", "epoch", "status"}
    if not needed <= set(table.columns):
        raise UserError(f"{file} is not a results table: it lacks "
                        f"{', '.join(sorted(needed - set(table.columns)))}; give the "
                        f"results.csv.gz that `vae-study analyze` wrote")
    if "hyperparameter" in table:   # "" (a kind without one) reads back from CSV as NaN
        table["hyperparameter"] = table["hyperparameter"].fillna("")
    epochs = table.drop(columns=["status"])
    identity = [c for c in identity_columns() if c in table.columns and c != "epoch"]
    trials = table.groupby("trial_id", sort=False).agg(
        {**{c: "first" for c in identity if c != "trial_id"}, "status": "first",
         "epoch": "count"}).rename(columns={"epoch": "epochs"}).reset_index()
    trials["checkpoint"] = ""
    return SweepResults(root=file.parent, epochs=epochs,
                        trials=in_setting_order(trials, ["seed", "trial_id"]))
