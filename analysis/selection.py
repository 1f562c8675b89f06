"""Which models the verdicts, the report's tables and figures use, and why the others are left
out: one rule, in one place.

1. **Finished models only.** A model still training, stopped early (ASHA, an interrupted
   sweep), errored or diverged is left out, with the reason.
2. **At a common step.** Each finished model's last report, when it ended at the step most
   finished models ended at (``steps``, else the epoch; a tie goes to the later step). A model
   that finished at another step is left out, so different stages of training are never
   compared.
3. **One score preset** for all of them, ``analysis.results.score_preset``: the paper preset
   when every model kept has its paper-sized scores, else the fast one.
4. **One model per objective and seed.** β-VAE with β = 1, FactorVAE with γ = 0 (every kind
   at its ``Hyperparameter.neutral`` value) train the VAE's objective, the baseline kind's
   (``disentangle.kinds``). When the sweep has VAE models, such a model counts as a VAE seed if
   its training configuration (every shared training setting, the dataset and its options) equals
   a VAE model's; if it also repeats that VAE model's seed it is the same model trained twice
   and is left out; if its configuration differs it is left out and the differing settings are
   named. Without VAE models they stay as they are, and the verdicts take β-VAE β = 1 as the
   VAE reference. Either way a claim over β counts β = 1 once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.results import final_epochs, identity_columns, score_preset, trial_members
from disentangle import kinds
from disentangle.errors import UserError
from disentangle.training.config import MODEL_KEYS, member_config

LEFT_OUT_COLUMNS = ["trial_id", "setting", "seed", "status", "reason"]


@dataclass
class Selection:
    """The models used (``table``: one row each, their reports at the common step), the ones
    left out and why, the score preset, the common step and notes on merged settings."""

    table: pd.DataFrame
    left_out: pd.DataFrame
    preset: str
    step_unit: str = "steps"
    step: float | None = None
    notes: list[str] = field(default_factory=list)

    def describe_step(self) -> str:
        """``the common step 300,000`` / ``the common epoch 4`` / ``no common step (no model
        has finished)``."""
        if self.step is None:
            return "no common step (no model has finished)"
        return f"the common {'step' if self.step_unit == 'steps' else 'epoch'} {self.step:,.0f}"


def select_models(epochs: pd.DataFrame, trials: pd.DataFrame) -> Selection:
    """Apply the module's rule to a sweep's ``epochs`` and ``trials`` tables."""
    last = final_epochs(epochs, trials)
    if last.empty:  # nothing reported yet: an empty table with the identity columns
        last = pd.DataFrame(columns=identity_columns() + ["status"])
    reported = set(last["trial_id"])
    left_out = [_left(trial, "no epoch reported yet") for trial in trials.itertuples(index=False)
                if trial.trial_id not in reported]
    finished = last[last["status"] == "finished"]
    for row in last[last["status"] != "finished"].itertuples(index=False):
        left_out.append(_left(row, _unfinished_reason(row)))
    unit = "steps" if "steps" in finished and finished["steps"].notna().all() else "epoch"
    step = _common_step(finished[unit]) if len(finished) else None
    if step is not None:
        word = "step" if unit == "steps" else "epoch"
        for row in finished[finished[unit] != step].itertuples(index=False):
            left_out.append(_left(row, f"finished at {word} {getattr(row, unit):,.0f}; the "
                                       f"common {word} is {step:,.0f}"))
        finished = finished[finished[unit] == step]
    table, merged_out, notes = merge_vae_objective(finished, trials)
    left_out += merged_out
    table = table.reset_index(drop=True)
    order = {trial_id: i for i, trial_id in enumerate(trials["trial_id"])}
    left = pd.DataFrame(left_out, columns=LEFT_OUT_COLUMNS)
    left = left.sort_values("trial_id", key=lambda c: c.map(order), kind="stable",
                            ignore_index=True)
    return Selection(table, left, score_preset(table), unit, step, notes)


def _left(row, reason: str) -> dict:
    return {"trial_id": row.trial_id, "setting": row.setting, "seed": row.seed,
            "status": getattr(row, "status", ""), "reason": reason}


def _unfinished_reason(row) -> str:
    if row.status == "diverged":
        step = getattr(row, "diverged_step", np.nan)
        return f"diverged at step {step:,.0f}" if pd.notna(step) else "diverged"
    if row.status == "errored":
        return "its trial errored (see error.txt in the trial folder)"
    steps = getattr(row, "steps", np.nan)
    where = f"step {steps:,.0f}" if pd.notna(steps) else f"epoch {row.epoch:,.0f}"
    return f"not finished: still training or stopped early, last report at {where}"


def _common_step(values: pd.Series) -> float:
    """The step most models ended at; the later one on a tie."""
    counts = values.value_counts()
    return float(max(counts[counts == counts.max()].index))


def training_configuration(trial: pd.Series) -> dict | None:
    """One model's training configuration without its kind, hyperparameter and seed: every
    shared training setting (defaults filled in), the dataset and its options; None when the
    trial's config cannot be read as a training config."""
    try:
        config = json.loads(trial["config"])
        member = next(m for m in trial_members(config) if m.get("name") == trial["member"])
        full = member_config(config, member)
    except (UserError, StopIteration, TypeError, ValueError, KeyError):
        return None
    identity = set(MODEL_KEYS) | set(kinds.hyperparameter_keys())
    shared = {key: value for key, value in full.items() if key not in identity}
    data = {key: value for key, value in config.items()
            if key == "dataset" or key.startswith("dataset_options/")}
    return {**shared, **data}


def merge_vae_objective(table: pd.DataFrame, trials: pd.DataFrame
                        ) -> tuple[pd.DataFrame, list[dict], list[str]]:
    """Rule 4 of the module docstring: (rows kept, rows left out, notes)."""
    equivalent = np.zeros(len(table), dtype=bool)
    for model, (key, value) in kinds.vae_objective().items():
        if key in table:
            equivalent |= ((table["model"] == model) & (table[key] == value)).to_numpy()
    baseline = kinds.baseline_kind().key
    vae = table[table["model"] == baseline] if equivalent.any() else table.iloc[:0]
    if vae.empty:
        return table, [], []
    by_id = trials.set_index("trial_id")
    configurations = {row.trial_id: training_configuration(by_id.loc[row.trial_id])
                      for row in table[(table["model"] == baseline) | equivalent]
                      .itertuples(index=False)}
    table = table.copy()
    left_out, notes, drop = [], [], []
    for index in np.flatnonzero(equivalent):
        row = table.iloc[index]
        mine = configurations[row["trial_id"]]
        twins = [v for v in vae.itertuples(index=False)
                 if mine is not None and configurations[v.trial_id] == mine]
        if not twins:
            left_out.append(_left(row, "the VAE's objective but "
                                  + _difference(mine, configurations[vae.iloc[0]["trial_id"]])
                                  + "; counted in no claim"))
            drop.append(table.index[index])
        elif row["seed"] in {v.seed for v in twins}:
            left_out.append(_left(row, f"the same model as {twins[0].setting} seed "
                                       f"{row['seed']:g} (same objective, configuration and "
                                       f"seed): counted once, as the VAE"))
            drop.append(table.index[index])
        else:
            notes.append(f"{row['setting']} seed {row['seed']:g} counts as a seed of "
                         f"{twins[0].setting} (the same objective and training configuration)")
            table.loc[table.index[index], ["model", "setting", "hyperparameter", "value"]] = [
                baseline, twins[0].setting, "", np.nan]
    return table.drop(index=drop), left_out, notes


def _difference(mine: dict | None, vae: dict | None) -> str:
    """"trained with lr=0.001 where the VAE has lr=0.0001" or why it cannot be compared."""
    if mine is None or vae is None:
        return "its training configuration could not be read to compare it with the VAE's"
    keys = sorted(key for key in set(mine) | set(vae) if mine.get(key) != vae.get(key))
    return ("trained with " + ", ".join(f"{k}={mine.get(k)}" for k in keys) + " where the VAE "
            "has " + ", ".join(f"{k}={vae.get(k)}" for k in keys))
