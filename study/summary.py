"""The end-of-sweep summary: per model and hyperparameter, mean ± std and best over seeds of
the final reconstruction, KL and both disentanglement scores, and where everything is."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from study.config import expand_variants

# (column label, result key); the paper-preset score replaces the fast one when it exists.
QUANTITIES = (("reconstruction", "reconstruction"), ("kl", "kl"),
              ("beta_vae_score", "beta_vae_score"), ("factor_vae_score", "factor_vae_score"))
HIDDEN_BY_MODEL = {"vae": {"beta", "gamma"}, "beta_vae": {"gamma"}, "factor_vae": {"beta"}}


def setting_label(config: dict, keys: list[str]) -> str:
    """``beta=4`` / ``gamma=35, lr=0.0003`` / ``-``: the trial's own hyperparameters."""
    hidden = HIDDEN_BY_MODEL.get(config["model"], set())
    parts = [f"{key}={config[key]:g}" if isinstance(config[key], (int, float))
             else f"{key}={config[key]}" for key in keys if key not in hidden and key in config]
    return ", ".join(parts) or "-"


def _final_value(metrics: dict, key: str):
    value = metrics.get("paper_" + key, metrics.get(key))
    return value if isinstance(value, (int, float)) else math.nan


@dataclass
class SweepOutcome:
    """One row per trial (``trials``), the per-group table (``table``) and the paths."""

    path: Path
    trials: pd.DataFrame
    table: pd.DataFrame
    score_source: str
    unfinished: int = 0

    @classmethod
    def from_results(cls, study: dict, path: Path, results, unfinished: int = 0
                     ) -> "SweepOutcome":
        keys = sorted(({key for variant in expand_variants(study["variants"]) for key in variant}
                       | set((study["search"] or {}).get("space", {}))) - {"model"})
        rows = []
        paper = False
        for result in results:
            metrics, config = result.metrics or {}, result.config or {}
            paper |= any(key.startswith("paper_") for key in metrics)
            rows.append({"trial": Path(result.path).name, "model": config.get("model"),
                         "setting": setting_label(config, keys), "seed": config.get("seed"),
                         "status": "error" if result.error else "ok",
                         "epochs": metrics.get("training_iteration", 0),
                         "steps": metrics.get("steps", 0),
                         **{label: _final_value(metrics, key) for label, key in QUANTITIES}})
        trials = pd.DataFrame(rows)
        return cls(path=path, trials=trials, table=_group_table(trials),
                   score_source="paper preset, last epoch" if paper else "fast preset, last epoch",
                   unfinished=unfinished)

    def write_csv(self, file: Path) -> None:
        temporary = file.with_suffix(".tmp")
        self.table.to_csv(temporary, index=False)
        temporary.replace(file)

    def errored(self) -> pd.DataFrame:
        return self.trials[self.trials["status"] == "error"] if len(self.trials) else self.trials

    def format(self) -> str:
        """The table and the locations, as printed at the end of a sweep."""
        lines = [f"Summary over seeds (final values; scores: {self.score_source})", ""]
        header = (f"{'model':<11} {'setting':<16} {'trials':>6}  {'reconstruction':>17}  "
                  f"{'KL':>13}  {'BetaVAE score':>15} {'best':>6}  "
                  f"{'FactorVAE score':>15} {'best':>6}")
        lines += [header, "-" * len(header)]
        for row in self.table.itertuples(index=False):
            lines.append(
                f"{row.model:<11} {row.setting:<16} {row.trials:>6}  "
                f"{_pm(row.reconstruction_mean, row.reconstruction_std, 2):>17}  "
                f"{_pm(row.kl_mean, row.kl_std, 2):>13}  "
                f"{_pm(row.beta_vae_score_mean, row.beta_vae_score_std, 3):>15} "
                f"{_number(row.beta_vae_score_best, 3):>6}  "
                f"{_pm(row.factor_vae_score_mean, row.factor_vae_score_std, 3):>15} "
                f"{_number(row.factor_vae_score_best, 3):>6}")
        errored = self.errored()
        lines += ["", f"results:      {self.path}",
                  f"summary:      {self.path / 'summary.csv'}",
                  f"TensorBoard:  tensorboard --logdir {self.path}",
                  f"trial logs:   {self.path}/<trial>/stdout, stderr, result.json, progress.csv"]
        for row in errored.itertuples(index=False):
            lines.append(f"errored:      {row.trial} (see {self.path / row.trial / 'error.txt'})")
        if self.unfinished:
            lines.append(f"interrupted:  {self.unfinished} trial(s) unfinished; continue with "
                         f"vae-study sweep --resume {self.path}")
        return "\n".join(lines)


def _group_table(trials: pd.DataFrame) -> pd.DataFrame:
    if trials.empty:
        return pd.DataFrame(columns=["model", "setting", "trials"])
    rows = []
    for (model, setting), group in trials.groupby(["model", "setting"], sort=False):
        finished = group[group["status"] == "ok"]
        row = {"model": model, "setting": setting, "trials": f"{len(finished)}/{len(group)}"}
        for label, _ in QUANTITIES:
            values = finished[label].dropna()
            row[f"{label}_mean"] = values.mean() if len(values) else math.nan
            row[f"{label}_std"] = values.std(ddof=1) if len(values) > 1 else math.nan
            best = values.min() if label in ("reconstruction", "kl") else values.max()
            row[f"{label}_best"] = best if len(values) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _number(value: float, digits: int) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _pm(mean: float, std: float, digits: int) -> str:
    if math.isnan(mean):
        return "-"
    return f"{mean:.{digits}f}" + ("" if math.isnan(std) else f" ± {std:.{digits}f}")
