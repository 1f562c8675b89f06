"""What the papers report, next to what this sweep measured (issue #16 point 4).

``REPORTED`` holds every number this project takes from a paper, each with its exact place in
the paper, whether it was read off a figure (approximate) and whether it has been checked
against the paper's text here (``verified``). Only numbers the papers print are entered;
a number not checked against the paper is marked unverified, and the report says so next to
it.

What is and is not here:
- Higgins et al. 2017 (β-VAE, ICLR), Fig. 6 (left): the BetaVAE metric's accuracy on their 2D
  shapes data (the data set released as dSprites), printed with each bar. Their own network and
  their metric protocol, not disentanglement_lib's re-implementation that this project runs.
- Kim & Mnih 2018 (FactorVAE, ICML) plot their dSprites results (reconstruction error and
  both metrics against β, γ and training steps, 10 seeds); their values have not been read off
  the figures for this module, so none is entered.
- Locatello et al. 2019 report distributions over 50 seeds per setting (violin plots), no
  per-setting values; none is entered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.results import preset_column, score_preset
from analysis.selection import training_configuration
from analysis.statistics import mean_interval
from analysis.verdicts.framework import Rule
from disentangle import kinds


@dataclass(frozen=True)
class ReportedValue:
    """One number a paper reports for one setting."""

    paper: str            # "Higgins et al. 2017"
    where: str            # the table or figure, exactly
    model: str            # the kind key
    value: float | None   # the kind's swept hyperparameter (None: a kind without one)
    quantity: str         # the result key it corresponds to (beta_vae_score, ...)
    number: float
    spread: float | None  # the paper's ± (its standard deviation over seeds), if printed
    approximate: bool     # read off a figure rather than printed
    verified: bool        # checked against the paper's text in this project
    protocol: str         # how the paper measured it, where that differs from this project


HIGGINS_PROTOCOL = ("Higgins et al.'s own network and metric protocol on their 2D shapes "
                    "data, not disentanglement_lib's re-implementation run here")

REPORTED = (
    ReportedValue("Higgins et al. 2017", "Fig. 6 (left), value printed with the bar", "vae",
                  None, "beta_vae_score", 0.6158, 0.005, approximate=False, verified=False,
                  protocol=HIGGINS_PROTOCOL),
    ReportedValue("Higgins et al. 2017", "Fig. 6 (left), value printed with the bar",
                  "beta_vae", 4.0, "beta_vae_score", 0.9923, 0.001, approximate=False,
                  verified=False, protocol=HIGGINS_PROTOCOL),
)


def setting_rows(table: pd.DataFrame, reported: ReportedValue) -> pd.DataFrame:
    """Our models of the setting ``reported`` describes."""
    rows = table[table["model"] == reported.model]
    kind = kinds.KINDS.get(reported.model)
    if reported.value is None or kind is None or kind.hyperparameter is None:
        return rows
    return rows[rows[kind.hyperparameter.key] == reported.value]


def why_different(rows: pd.DataFrame, trials: pd.DataFrame, reported: ReportedValue,
                  preset: str) -> list[str]:
    """What differs between how the paper and this sweep obtained the number."""
    reasons = [reported.protocol]
    if "steps" in rows and rows["steps"].notna().any():
        reasons.append(f"{rows['steps'].max():,.0f} training steps here")
    reasons.append(f"{len(rows)} seed(s) here")
    trial = trials.set_index("trial_id").loc[rows["trial_id"].iloc[0]] \
        if "trial_id" in rows and "trial_id" in trials else None
    configuration = training_configuration(trial) if trial is not None else None
    if configuration:
        if configuration.get("dataset") == "dsprites" and not any(
                key.endswith("/npz") for key in configuration):
            reasons.append("dSprites rendered offline here (no npz in the trial config), "
                           "unless $DSPRITES_NPZ named the original file")
        reasons.append(f"architecture {configuration.get('architecture')} with a "
                       f"{configuration.get('hidden_dim')}-unit layer here")
    if preset == "fast":
        reasons.append("the fast metric preset here (±5 points), not the paper-sized one")
    return reasons


def side_by_side(table: pd.DataFrame, trials: pd.DataFrame, rule: Rule = Rule()
                 ) -> pd.DataFrame:
    """One row per reported value: the paper's number, ours (mean, sd, models, the interval of
    the mean), whether the paper's number lies in our interval, and if not why it may differ."""
    preset = score_preset(table)
    rows = []
    for reported in REPORTED:
        mine = setting_rows(table, reported)
        column = preset_column(table, reported.quantity)
        values = mine[column].dropna().to_numpy(dtype=float) if column in mine else np.array([])
        row = {"paper": reported.paper, "where": reported.where,
               "setting": kinds.KINDS[reported.model].label(reported.value),
               "quantity": column, "reported": reported.number, "spread": reported.spread,
               "approximate": reported.approximate, "verified": reported.verified,
               "mean": np.nan, "sd": np.nan, "models": len(values), "interval": "",
               "agrees": None, "why": ""}
        if len(values) >= 2:
            interval = mean_interval(values[None], rule.level()).take(0)
            row.update(mean=values.mean(), sd=values.std(ddof=1),
                       interval=f"[{interval.low:.3f}, {interval.high:.3f}]",
                       agrees=bool(interval.low <= reported.number <= interval.high))
            if not row["agrees"]:
                row["why"] = "; ".join(why_different(mine.dropna(subset=[column]), trials,
                                                     reported, preset))
        rows.append(row)
    return pd.DataFrame(rows)
