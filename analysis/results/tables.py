"""The tables of a sweep's results (``SweepResults``), which of their columns are metrics, which
preset's scores the comparisons use, and the tables written to disk.

A trial may train several models (a stack); every table has one row per *model*, whose
``trial_id`` is ``<Tune trial id>/<model name>``, and a stacked sweep gives the same tables as
an unstacked one.

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

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.results.identity import identity_columns, in_setting_order
from disentangle import kinds
from disentangle.metrics.registry import METRICS
from disentangle.result_names import (
    DIVERGED,
    PAPER_PREFIX,
    THROUGHPUT_COLUMNS,
    kl_dimension,
    without_preset,
)

# Tune's own bookkeeping in every result row: kept in the tables, never treated as a metric.
TUNE_COLUMNS = {
    "done", "training_iteration", "trial_id", "date", "timestamp", "time_this_iter_s",
    "time_total_s", "pid", "hostname", "node_ip", "time_since_restore",
    "iterations_since_restore", "checkpoint_dir_name", "should_checkpoint", "experiment_tag",
    "experiment_id", "timesteps_total", "episodes_total", "timesteps_since_restore",
    "warmup_time", "config",
}
RESULTS_TABLE = "results.csv.gz"
#: The scores whose presets decide which preset a table's verdicts use (``score_preset``).
HEADLINE_SCORES = (METRICS["beta_vae"].main_key, METRICS["factor_vae"].main_key)


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


def metric_columns(epochs: pd.DataFrame) -> list[str]:
    """Numeric reported columns that describe the model or the run (no Tune bookkeeping)."""
    return [c for c in epochs.columns if c not in TUNE_COLUMNS and c not in identity_columns()
            and c != DIVERGED and pd.api.types.is_numeric_dtype(epochs[c])
            and not pd.api.types.is_bool_dtype(epochs[c])]


def model_metrics(columns: list[str]) -> list[str]:
    """Metric columns about the model (no speed figures, no per-dimension KL), the
    disentanglement scores first."""
    about_model = [c for c in columns if without_preset(c) not in THROUGHPUT_COLUMNS
                   and kl_dimension(c) is None]
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
