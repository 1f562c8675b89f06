"""Read a Ray Tune sweep from disk into tidy pandas tables, without a running Ray.

Tune writes one folder per trial holding ``params.json`` (the trial's config), ``result.json``
(one JSON object per reported epoch, appended as training goes) and ``progress.csv`` (the same
rows, flattened), plus ``checkpoint_NNNNNN/`` folders. Reading these files directly works on a
finished sweep, on a sweep that is still running (a half-written last line is skipped), on a
folder of several experiments, and on a single trial folder.

Tables:

- ``epochs``: one row per trial and epoch: trial_id, model, beta, gamma, seed, setting,
  epoch (Tune's training_iteration), every reported metric, and the config keys that vary.
- ``trials``: one row per trial: identity, status, epochs reported, newest checkpoint, folder.
- ``final``: the last reported epoch of each trial (the end of training for finished trials).
- ``summary``: per setting (model and hyperparameters) and metric, mean/std/median/min/max
  and the count of seeds over ``final``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from disentangle.errors import UserError

MODEL_NAMES = {"vae": "VAE", "beta_vae": "β-VAE", "factor_vae": "FactorVAE"}
MODEL_ORDER = ["vae", "beta_vae", "factor_vae"]
# The hyperparameter each model kind is swept over (Higgins et al.'s β, Kim & Mnih's γ).
SWEPT_PARAMETER = {"beta_vae": "beta", "factor_vae": "gamma"}
SYMBOLS = {"beta": "β", "gamma": "γ"}
IDENTITY_COLUMNS = ["trial_id", "experiment", "model", "beta", "gamma", "seed", "setting",
                    "hyperparameter", "value", "epoch"]
# Tune's own bookkeeping in every result row: kept in the tables, never treated as a metric.
TUNE_COLUMNS = {
    "done", "training_iteration", "trial_id", "date", "timestamp", "time_this_iter_s",
    "time_total_s", "pid", "hostname", "node_ip", "time_since_restore",
    "iterations_since_restore", "checkpoint_dir_name", "should_checkpoint", "experiment_tag",
    "experiment_id", "timesteps_total", "episodes_total", "timesteps_since_restore",
    "warmup_time", "config",
}
# Reported numbers that describe the run's speed, not the model.
THROUGHPUT_COLUMNS = {"steps", "images_seen", "images_per_second", "epoch_seconds",
                      "metric_seconds", "image_seconds", "seconds", "metric_images_drawn",
                      "metric_images_encoded"}
RESULT_FILE, PROGRESS_FILE, PARAMS_FILE = "result.json", "progress.csv", "params.json"


@dataclass
class SweepResults:
    """Everything read from one sweep folder (see the module docstring for the tables)."""

    root: Path
    epochs: pd.DataFrame
    trials: pd.DataFrame

    @property
    def final(self) -> pd.DataFrame:
        return final_epochs(self.epochs)

    @property
    def metrics(self) -> list[str]:
        return metric_columns(self.epochs)

    def summary(self) -> pd.DataFrame:
        return summarize(self.final, self.metrics)


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
    if (trial_dir / "error.txt").exists() or (trial_dir / "error.pkl").exists():
        return "errored"
    if rows and str(rows[-1].get("done", False)).lower() == "true":
        return "finished"
    return "incomplete"


def load_results(path: str | Path) -> SweepResults:
    """Read every trial under ``path`` (a sweep folder, several, or one trial folder).

    Raises UserError when ``path`` holds no Tune trial folder.
    """
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise UserError(f"{root} is not a folder; give the sweep folder that `vae-study "
                        f"sweep` printed (storage/experiment name) or one trial folder in it")
    trial_dirs = find_trial_dirs(root)
    if not trial_dirs:
        raise UserError(f"no Ray Tune trial folders (params.json with result.json or "
                        f"progress.csv) under {root}; give the sweep folder that `vae-study "
                        f"sweep` printed, or one trial folder in it")
    frames, trial_rows, configs = [], [], []
    for number, trial_dir in enumerate(trial_dirs):
        rows = read_result_rows(trial_dir)
        config = read_config(trial_dir)
        trial_id = str(rows[-1].get("trial_id")) if rows and rows[-1].get("trial_id") \
            else f"{trial_dir.name}#{number}"
        checkpoint = latest_checkpoint(trial_dir)
        trial_rows.append({
            "trial_id": trial_id, "experiment": trial_dir.parent.name,
            "status": trial_status(trial_dir, rows), "epochs": len(rows),
            "checkpoint": str(checkpoint) if checkpoint else "", "path": str(trial_dir),
            "config": json.dumps(config, sort_keys=True, default=str)})
        configs.append(config)
        frame = pd.DataFrame(rows)
        frame["trial_id"] = trial_id
        frames.append(frame)
    trials = pd.DataFrame(trial_rows)
    identity = trial_identity(configs)
    trials = pd.concat([trials, identity], axis=1)
    epochs = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(
        len(f) for f in frames) else pd.DataFrame({"trial_id": pd.Series(dtype=str)})
    epochs = attach_identity(epochs, trials)
    trials = in_setting_order(trials, ["seed", "trial_id"])
    return SweepResults(root=root, epochs=epochs, trials=trials)


def trial_identity(configs: list[dict]) -> pd.DataFrame:
    """model, beta, gamma, seed, setting label and swept value of each trial's config.

    A *setting* is one model kind with one choice of every config key that varies among that
    kind's trials, except the seed: its trials differ only by seed, so statistics over a
    setting's trials are statistics over seeds. Keys that only restate another (the sweep's
    ``variant/beta`` next to ``beta``) or the seed are left out of the label.
    """
    frame = pd.DataFrame([{k: canonical(v) for k, v in c.items()} for c in configs])
    for key in ("model", "beta", "gamma", "seed"):
        if key not in frame:
            frame[key] = np.nan
    frame["model"] = frame["model"].fillna("unknown").astype(str)
    text = frame.astype(str)
    labels, names, values = [None] * len(frame), [""] * len(frame), [np.nan] * len(frame)
    extra_keys = set()
    for model, kind in text.groupby("model", sort=False):
        swept = SWEPT_PARAMETER.get(model)
        keys = [swept] if swept else []
        for key in sorted(k for k in kind.columns if k not in ("model", "seed", swept)
                          and kind[k].nunique() > 1):
            if adds_setting(kind, keys, key):
                keys.append(key)
        extra_keys.update(k for k in keys if k != swept)
        for index in kind.index:
            row = frame.loc[index]
            parts = [f"{SYMBOLS.get(k, k)}={format_value(row[k])}" for k in keys]
            labels[index] = " ".join([MODEL_NAMES.get(model, model)] + parts)
            names[index] = swept or ""
            values[index] = to_float(row[swept]) if swept else np.nan
    identity = frame[["model"]].copy()
    for key in ("beta", "gamma", "seed"):
        identity[key] = frame[key].map(to_float)
    identity["setting"], identity["hyperparameter"], identity["value"] = labels, names, values
    for key in sorted(extra_keys):
        identity[f"config/{key}"] = frame[key]
    return identity


def adds_setting(kind: pd.DataFrame, keys: list[str], key: str) -> bool:
    """Does config ``key`` split the trials grouped by ``keys`` further, other than by seed?"""
    def groups(columns):
        return len(kind.groupby(columns)) if columns else 1

    split = groups(keys + [key])
    seed_like = split == groups(keys + ["seed"]) == groups(keys + [key, "seed"])
    return split > groups(keys) and not seed_like


def attach_identity(epochs: pd.DataFrame, trials: pd.DataFrame) -> pd.DataFrame:
    """Put each trial's identity columns in front of its reported rows."""
    identity = trials[["trial_id", "experiment", "model", "beta", "gamma", "seed", "setting",
                       "hyperparameter", "value"]]
    varied = [c for c in trials.columns if c.startswith("config/")]
    epochs = epochs.drop(columns=[c for c in identity.columns[1:] if c in epochs.columns])
    epochs = identity.join(trials[varied]).merge(epochs, on="trial_id", how="right")
    if "training_iteration" in epochs:
        epochs["epoch"] = pd.to_numeric(epochs["training_iteration"], errors="coerce")
    else:
        epochs["epoch"] = epochs.groupby("trial_id").cumcount() + 1
    front = [c for c in IDENTITY_COLUMNS if c in epochs.columns]
    epochs = epochs[front + [c for c in epochs.columns if c not in front]]
    for column in epochs.columns:
        if column not in front and epochs[column].dtype == object:
            converted = pd.to_numeric(epochs[column], errors="coerce")
            if converted.notna().sum() == epochs[column].notna().sum():
                epochs[column] = converted
    return in_setting_order(epochs, ["seed", "trial_id", "epoch"])


def in_setting_order(table: pd.DataFrame, then: list[str]) -> pd.DataFrame:
    """Rows ordered VAE, β-VAE, FactorVAE (others after), by swept value, then ``then``."""
    rank = {model: i for i, model in enumerate(MODEL_ORDER)}
    keys = ["model", "value", "setting"] + then
    return table.sort_values(
        keys, key=lambda c: c.map(lambda m: rank.get(m, len(rank))) if c.name == "model" else c,
        ignore_index=True)


def canonical(value):
    """Config values as hashable scalars (lists and dicts become their JSON text)."""
    return json.dumps(value, sort_keys=True) if isinstance(value, (list, dict)) else value


def to_float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def format_value(value) -> str:
    number = to_float(value)
    return f"{number:g}" if not math.isnan(number) else str(value)


def metric_columns(epochs: pd.DataFrame) -> list[str]:
    """Numeric reported columns that describe the model or the run (no Tune bookkeeping)."""
    return [c for c in epochs.columns if c not in TUNE_COLUMNS and c not in IDENTITY_COLUMNS
            and not c.startswith("config/") and pd.api.types.is_numeric_dtype(epochs[c])
            and not pd.api.types.is_bool_dtype(epochs[c])]


def model_metrics(columns: list[str]) -> list[str]:
    """Metric columns about the model (no speed figures, no per-dimension KL), the
    disentanglement scores first."""
    about_model = [c for c in columns if c.removeprefix("paper_") not in THROUGHPUT_COLUMNS
                   and not c.startswith("kl_dim_")]
    return sorted(about_model, key=lambda c: ("score" not in c, "accuracy" not in c))


def final_epochs(epochs: pd.DataFrame) -> pd.DataFrame:
    """The last reported epoch of every trial."""
    if epochs.empty:
        return epochs
    last = epochs.sort_values("epoch").groupby("trial_id", sort=False).tail(1)
    return in_setting_order(last, ["seed", "trial_id"])


def score_column(final: pd.DataFrame, metric: str) -> str:
    """``paper_<metric>_score`` when every trial has it at its last epoch, else the fast one.

    ``metric`` is "beta_vae" or "factor_vae". Mixing presets across trials would compare
    numbers measured differently, so the paper preset is used only when complete.
    """
    paper, fast = f"paper_{metric}_score", f"{metric}_score"
    if paper in final and len(final) and final[paper].notna().all():
        return paper
    return fast


def summarize(final: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Long table: per setting and metric, mean/std/median/min/max and count over seeds."""
    columns = ["model", "setting", "hyperparameter", "value", "beta", "gamma", "metric",
               "mean", "std", "median", "min", "max", "count"]
    if final.empty or not metrics:
        return pd.DataFrame(columns=columns)
    keys = ["model", "setting", "hyperparameter", "value", "beta", "gamma"]
    long = final.melt(id_vars=keys, value_vars=metrics, var_name="metric",
                      value_name="number").dropna(subset=["number"])
    grouped = long.groupby(keys + ["metric"], dropna=False, sort=False)["number"]
    table = grouped.agg(["mean", "std", "median", "min", "max", "count"]).reset_index()
    table["metric_rank"] = table["metric"].map({m: i for i, m in enumerate(metrics)})
    table = in_setting_order(table, [])
    table = table.sort_values("metric_rank", kind="stable", ignore_index=True)
    return table[columns]


def save_tables(results: SweepResults, folder: str | Path) -> dict[str, Path]:
    """Write epochs/trials/final/summary as CSV and Parquet into ``folder``; returns paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    tables = {"epochs": results.epochs, "trials": results.trials, "final": results.final,
              "summary": results.summary()}
    for name, table in tables.items():
        table.to_csv(folder / f"{name}.csv", index=False)
        parquet_ready = table.copy()
        for column in parquet_ready.columns:
            if parquet_ready[column].dtype == object:
                parquet_ready[column] = parquet_ready[column].map(
                    lambda v: None if v is None or (isinstance(v, float) and math.isnan(v))
                    else str(v))
        parquet_ready.to_parquet(folder / f"{name}.parquet", index=False)
        written[name] = folder / f"{name}.csv"
    return written
