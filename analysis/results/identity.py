"""Which model a result row belongs to: its kind, every kind's hyperparameter, seed and
setting, as its trial's config states them (``disentangle.training.config.members_of``), and
how the tables order and name them (the model kinds as registered in ``disentangle.kinds``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from disentangle import kinds


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


def to_float(value) -> float:
    """``value`` as a float; NaN when it is none."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


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
