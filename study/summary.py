"""The end-of-sweep summary: per setting, mean ± std and best over seeds of the final
reconstruction, KL and both disentanglement scores, and where everything is.

It reads the sweep's files with ``analysis.results`` and picks the models and scores with
``analysis.selection.select_models`` (finished models at the common step, one score preset,
β = 1 counted once: the report's rule), so the table printed at the end of a sweep and the
report's never disagree. Models left out count in the ``models`` column (used/all).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.results import load_results, score_column
from analysis.selection import select_models
from disentangle.files import write_table

# (column label, result key or score metric); scores use the report's choice of preset.
QUANTITIES = (("reconstruction", "reconstruction"), ("kl", "kl"),
              ("beta_vae_score", "beta_vae"), ("factor_vae_score", "factor_vae"))
LOWER_IS_BETTER = ("reconstruction", "kl")


@dataclass
class SweepOutcome:
    """One row per model (``trials``), the per-setting table (``table``) and the paths."""

    path: Path
    trials: pd.DataFrame
    table: pd.DataFrame
    score_source: str
    unfinished: int = 0

    @classmethod
    def from_sweep(cls, path: Path, unfinished: int = 0) -> "SweepOutcome":
        results = load_results(path)
        selection = select_models(results.epochs, results.trials)
        used = selection.table
        columns = {label: (score_column(used, key) if label.endswith("_score") else key)
                   for label, key in QUANTITIES}
        rows = results.trials[["trial_id", "path", "model", "setting", "seed", "status",
                               "epochs"]]
        values = used.set_index("trial_id").reindex(rows["trial_id"])
        rows = rows.assign(used=rows["trial_id"].isin(used["trial_id"]).to_numpy(),
                           **{label: values[column].to_numpy() if column in values
                              else math.nan for label, column in columns.items()})
        source = f"{selection.preset} preset, {selection.describe_step()}"
        return cls(path=path, trials=rows.reset_index(drop=True), table=_group_table(rows),
                   score_source=source, unfinished=unfinished)

    def write_csv(self, file: Path) -> None:
        write_table(self.table, file)

    def errored(self) -> pd.DataFrame:
        """One row per errored trial (all its models failed with it)."""
        if not len(self.trials):
            return self.trials
        return self.trials[self.trials["status"] == "errored"].drop_duplicates("path")

    def format(self) -> str:
        """The table and the locations, as printed at the end of a sweep."""
        lines = [f"Summary over seeds (final values; scores: {self.score_source})", ""]
        width = max([len("setting")] + [len(s) for s in self.table.get("setting", [])])
        header = (f"{'setting':<{width}} {'models':>6}  {'reconstruction':>17}  "
                  f"{'KL':>13}  {'BetaVAE score':>15} {'best':>6}  "
                  f"{'FactorVAE score':>15} {'best':>6}")
        lines += [header, "-" * len(header)]
        for row in self.table.itertuples(index=False):
            lines.append(
                f"{row.setting:<{width}} {row.models:>6}  "
                f"{_pm(row.reconstruction_mean, row.reconstruction_std, 2):>17}  "
                f"{_pm(row.kl_mean, row.kl_std, 2):>13}  "
                f"{_pm(row.beta_vae_score_mean, row.beta_vae_score_std, 3):>15} "
                f"{_number(row.beta_vae_score_best, 3):>6}  "
                f"{_pm(row.factor_vae_score_mean, row.factor_vae_score_std, 3):>15} "
                f"{_number(row.factor_vae_score_best, 3):>6}")
        lines += ["", f"results:      {self.path}",
                  f"summary:      {self.path / 'summary.csv'}",
                  f"TensorBoard:  tensorboard --logdir {self.path}",
                  f"trial logs:   {self.path}/<trial>/stdout, stderr, result.json, progress.csv"]
        diverged = self.trials[self.trials["status"] == "diverged"] if len(self.trials) \
            else self.trials
        for row in diverged.itertuples(index=False):
            lines.append(f"diverged:     {row.setting} seed {row.seed:g} (see "
                         f"{Path(row.path) / 'result.json'})")
        for row in self.errored().itertuples(index=False):
            lines.append(f"errored:      {Path(row.path).name} (see "
                         f"{Path(row.path) / 'error.txt'})")
        if self.unfinished:
            lines.append(f"interrupted:  {self.unfinished} trial(s) unfinished; continue with "
                         f"vae-study sweep --resume {self.path}")
        return "\n".join(lines)


def _group_table(models: pd.DataFrame) -> pd.DataFrame:
    if models.empty:
        return pd.DataFrame(columns=["model", "setting", "models"])
    rows = []
    for (model, setting), group in models.groupby(["model", "setting"], sort=False):
        used = group[group["used"]]
        row = {"model": model, "setting": setting, "models": f"{len(used)}/{len(group)}"}
        for label, _ in QUANTITIES:
            values = used[label].dropna()
            row[f"{label}_mean"] = values.mean() if len(values) else math.nan
            row[f"{label}_std"] = values.std(ddof=1) if len(values) > 1 else math.nan
            best = values.min() if label in LOWER_IS_BETTER else values.max()
            row[f"{label}_best"] = best if len(values) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _number(value: float, digits: int) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _pm(mean: float, std: float, digits: int) -> str:
    if math.isnan(mean):
        return "-"
    return f"{mean:.{digits}f}" + ("" if math.isnan(std) else f" ± {std:.{digits}f}")
