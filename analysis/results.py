"""Read a Ray Tune sweep from disk into tidy pandas tables, without a running Ray.

Tune writes one folder per trial holding ``params.json`` (the trial's config), ``result.json``
(one JSON object per reported epoch, appended as training goes) and ``progress.csv`` (the same
rows, flattened), plus ``checkpoint_NNNNNN/`` folders. Reading these files directly works on a
finished sweep, on a sweep that is still running (a half-written last line is skipped), on a
folder of several experiments, and on a single trial folder.

Tables:

A trial may train several models (a stack); every table has one row per *model*, whose
``trial_id`` is ``<Tune trial id>/<model name>``, and a stacked sweep gives the same tables as
an unstacked one. Each model's kind, hyperparameter, seed and setting come from its trial's
config (``disentangle.training.config.members_of``: written once by the sweep), never from a
guess.

- ``epochs``: one row per model and epoch: ids, model kind, every kind's hyperparameter
  (beta, gamma, ...), seed, setting, epoch (Tune's training_iteration), every reported metric.
- ``trials``: one row per model: identity, status (finished, incomplete, errored, diverged),
  epochs reported, its trial's newest checkpoint folder, trial folder and config.
- ``final``: the last reported epoch of each model (the end of training for finished ones),
  with its status; ``analysis.selection`` picks the models the verdicts use.
- ``summary``: per setting and metric, mean/std/median/min/max and the count of seeds over
  ``final``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from disentangle import kinds
from disentangle.errors import UserError
from disentangle.training.config import members_of

# Reported numbers that describe the trial, not one of its models.
TRIAL_COLUMNS = {"epoch_seconds", "metric_seconds", "images_per_second",
                 "model_steps_per_second", "device", "node_id", "models_training",
                 "models_diverged"}
# Tune's own bookkeeping in every result row: kept in the tables, never treated as a metric.
TUNE_COLUMNS = {
    "done", "training_iteration", "trial_id", "date", "timestamp", "time_this_iter_s",
    "time_total_s", "pid", "hostname", "node_ip", "time_since_restore",
    "iterations_since_restore", "checkpoint_dir_name", "should_checkpoint", "experiment_tag",
    "experiment_id", "timesteps_total", "episodes_total", "timesteps_since_restore",
    "warmup_time", "config",
}
# Reported numbers that describe the run's speed, not the model.
THROUGHPUT_COLUMNS = {"steps", "images_seen", "images_per_second", "model_steps_per_second",
                      "epoch_seconds",
                      "metric_seconds", "image_seconds", "seconds", "metric_images_drawn",
                      "metric_images_encoded"}
RESULT_FILE, PROGRESS_FILE, PARAMS_FILE = "result.json", "progress.csv", "params.json"
TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet")
RESULTS_TABLE = "results.csv.gz"


@dataclass
class SweepResults:
    """Everything read from one sweep folder (see the module docstring for the tables)."""

    root: Path
    epochs: pd.DataFrame
    trials: pd.DataFrame

    @property
    def final(self) -> pd.DataFrame:
        return final_epochs(self.epochs, self.trials)

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
            diverged = bool(member_rows) and member_rows[-1].get("diverged") == 1
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
    prefix = f"models/{name}/"
    if not any(key.startswith("models/") for key in row):
        return dict(row)
    own = {key[len(prefix):]: value for key, value in row.items() if key.startswith(prefix)}
    shared = {key: value for key, value in row.items()
              if key in TRIAL_COLUMNS or key in TUNE_COLUMNS}
    return {**shared, **own}


def identity_of(member: dict) -> dict:
    """model, every kind's hyperparameter, seed, setting, and the swept hyperparameter's name
    and value of one model, as its trial config states them."""
    kind = kinds.KINDS.get(member["model"])
    swept = kind.hyperparameter.key if kind and kind.hyperparameter else ""
    identity = {"model": member["model"], "seed": to_float(member.get("seed")),
                "setting": member["setting"], "hyperparameter": swept,
                "value": to_float(member.get(swept)) if swept else np.nan}
    identity.update({key: to_float(member.get(key)) for key in kinds.hyperparameter_keys()})
    return identity


def attach_identity(epochs: pd.DataFrame, trials: pd.DataFrame) -> pd.DataFrame:
    """Put each trial's identity columns in front of its reported rows."""
    identity = trials[identity_columns()[:-1]]
    epochs = epochs.drop(columns=[c for c in identity.columns[1:] if c in epochs.columns])
    epochs = identity.merge(epochs, on="trial_id", how="right")
    if "training_iteration" in epochs:
        epochs["epoch"] = pd.to_numeric(epochs["training_iteration"], errors="coerce")
    else:
        epochs["epoch"] = epochs.groupby("trial_id").cumcount() + 1
    front = [c for c in identity_columns() if c in epochs.columns]
    epochs = epochs[front + [c for c in epochs.columns if c not in front]]
    for column in epochs.columns:
        if column not in front and epochs[column].dtype == object:
            converted = pd.to_numeric(epochs[column], errors="coerce")
            if converted.notna().sum() == epochs[column].notna().sum():
                epochs[column] = converted
    return in_setting_order(epochs, ["seed", "trial_id", "epoch"])


def in_setting_order(table: pd.DataFrame, then: list[str]) -> pd.DataFrame:
    """Rows ordered by model kind as registered (unknown kinds last), by swept value, then
    ``then``."""
    keys = ["model", "value", "setting"] + then
    return table.sort_values(
        keys, key=lambda c: c.map(kinds.order) if c.name == "model" else c, ignore_index=True)


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


def identity_columns() -> list[str]:
    """The columns that identify a model row: ids, kind, every kind's hyperparameter, seed,
    setting, the swept hyperparameter and its value, and the epoch."""
    return (["trial_id", "tune_trial", "member", "experiment", "model"]
            + kinds.hyperparameter_keys()
            + ["seed", "setting", "hyperparameter", "value", "epoch"])


def model_name(key: str) -> str:
    """A kind's display name (its key when it is not registered)."""
    kind = kinds.KINDS.get(key)
    return kind.name if kind else key


def hyperparameter_symbol(key: str) -> str:
    """How reports write a hyperparameter (``β``), from the kind that sweeps it."""
    for kind in kinds.KINDS.values():
        if kind.hyperparameter is not None and kind.hyperparameter.key == key:
            return kind.hyperparameter.symbol
    return key


def metric_columns(epochs: pd.DataFrame) -> list[str]:
    """Numeric reported columns that describe the model or the run (no Tune bookkeeping)."""
    return [c for c in epochs.columns if c not in TUNE_COLUMNS and c not in identity_columns()
            and c != "diverged" and pd.api.types.is_numeric_dtype(epochs[c])
            and not pd.api.types.is_bool_dtype(epochs[c])]


def model_metrics(columns: list[str]) -> list[str]:
    """Metric columns about the model (no speed figures, no per-dimension KL), the
    disentanglement scores first."""
    about_model = [c for c in columns if c.removeprefix("paper_") not in THROUGHPUT_COLUMNS
                   and not c.startswith("kl_dim_")]
    return sorted(about_model, key=lambda c: ("score" not in c, "accuracy" not in c))


def final_epochs(epochs: pd.DataFrame, trials: pd.DataFrame | None = None) -> pd.DataFrame:
    """The last reported epoch of every model, with its ``status`` (finished, incomplete,
    errored, diverged) when ``trials`` is given. Which of these rows the verdicts and summaries
    use is decided by ``analysis.selection.select_models``."""
    if epochs.empty:
        return epochs
    last = epochs.sort_values("epoch").groupby("trial_id", sort=False).tail(1)
    if trials is not None and "status" in trials:
        last = last.merge(trials[["trial_id", "status"]], on="trial_id", how="left")
    return in_setting_order(last, ["seed", "trial_id"])


#: The scores whose presets decide which preset a table's verdicts use (``score_preset``).
HEADLINE_SCORES = ("beta_vae_score", "factor_vae_score")
PAPER_PREFIX = "paper_"


def score_preset(final: pd.DataFrame) -> str:
    """The metric preset whose numbers a table's comparisons use: ``"paper"`` when every
    finished model (every row, when the table has no ``status``) has its paper-preset
    BetaVAE and FactorVAE scores (those of the two reported at all), else ``"fast"``.

    One preset for every model, so fast and paper-sized scores are never compared; unfinished
    models do not count, so one model still training cannot switch a finished sweep to the
    fast scores. The report, the figures and the end-of-sweep summary all choose through this
    function.
    """
    rows = final[final["status"] == "finished"] if "status" in final else final
    reported = [key for key in HEADLINE_SCORES if key in rows or PAPER_PREFIX + key in rows]
    paper = [PAPER_PREFIX + key for key in reported]
    if len(rows) and paper and all(c in rows for c in paper) and rows[paper].notna().all().all():
        return "paper"
    return "fast"


def preset_column(final: pd.DataFrame, key: str) -> str:
    """The column of result key ``key`` (``factor_vae_active_dims``, ``tc_large_sample``, ...)
    in the preset ``score_preset`` chose for ``final``."""
    paper = PAPER_PREFIX + key
    return paper if score_preset(final) == "paper" and paper in final else key


def score_column(final: pd.DataFrame, metric: str) -> str:
    """``paper_<metric>_score`` or ``<metric>_score`` (``metric``: "beta_vae", "factor_vae",
    ...), as ``score_preset`` decides for ``final``."""
    return preset_column(final, f"{metric}_score")


def summarize(final: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Long table: per setting and metric, mean/std/median/min/max and count over seeds."""
    keys = ["model", "setting", "hyperparameter", "value"] + kinds.hyperparameter_keys()
    columns = keys + ["metric", "mean", "std", "median", "min", "max", "count"]
    if final.empty or not metrics:
        return pd.DataFrame(columns=columns)
    long = final.melt(id_vars=keys, value_vars=metrics, var_name="metric",
                      value_name="number").dropna(subset=["number"])
    grouped = long.groupby(keys + ["metric"], dropna=False, sort=False)["number"]
    table = grouped.agg(["mean", "std", "median", "min", "max", "count"]).reset_index()
    table["metric_rank"] = table["metric"].map({m: i for i, m in enumerate(metrics)})
    table = in_setting_order(table, [])
    table = table.sort_values("metric_rank", kind="stable", ignore_index=True)
    return table[columns]


def results_table(results: SweepResults) -> pd.DataFrame:
    """Every model's every epoch with its status: all the analysis needs, in one table."""
    status = results.trials.set_index("trial_id")["status"]
    return results.epochs.assign(status=results.epochs["trial_id"].map(status))


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


def save_tables(results: SweepResults, folder: str | Path) -> dict[str, Path]:
    """Write epochs/trials/final/summary as CSV and Parquet into ``folder``, and the results
    table (``results_table``, from which ``load_results`` redoes the analysis) as
    results.csv.gz; returns paths."""
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
    written["results"] = folder / RESULTS_TABLE
    results_table(results).to_csv(written["results"], index=False)
    return written
