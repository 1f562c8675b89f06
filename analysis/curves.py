"""Learning curves of a long run: every quantity against training steps, per setting, with the
mean over seeds and its 95% t-interval, beside reference values of paper-scale models.

No paper or peer publishes dSprites learning curves of the disentanglement scores; these show
how far a given number of steps gets and whether the ordering of the kinds is settled. The
interval at each step is the t-interval of the mean over the setting's seeds (mean ± t₀.₉₇₅,ₙ₋₁ ·
sd/√n), a statement about the mean of seeds, not about one model; with 3 seeds it is wide.

``REFERENCES`` are horizontal lines: the public pre-trained disentangling-vae models scored
here at the paper preset (seed 0, README "The public pre-trained dSprites models": one model
each, ~300k steps of their own training), and published FactorVAE values. Each says where it
comes from and how exact it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import ticker

from analysis.plotting import COLORS, PAGE_WIDTH, FigureFile, kind_style, label, new_figure, save
from analysis.statistics import mean_interval
from disentangle.result_names import paper

#: The quantities drawn, one panel each: the fast scores every epoch (lines) and, for the
#: scores, the paper-sized ones where they were computed (points).
QUANTITIES = ("reconstruction", "kl", "beta_vae_score", "factor_vae_score", "mig_score")


@dataclass(frozen=True)
class Reference:
    """A horizontal reference line in a score's panel."""

    quantity: str        # the score it belongs to (the fast key; drawn in that panel)
    model: str | None    # the kind whose colour it takes (None: black)
    low: float
    high: float          # == low for a single value
    source: str          # the legend's words: who measured it, how
    digits: int = 3      # the decimals it was measured or published with


REFERENCES = (
    Reference("beta_vae_score", "vae", 0.869, 0.869, "pre-trained VAE (disentangling-vae)"),
    Reference("beta_vae_score", "beta_vae", 0.887, 0.887, "pre-trained β-VAE β=4"),
    Reference("beta_vae_score", "factor_vae", 0.862, 0.862, "pre-trained FactorVAE γ=6.4"),
    Reference("factor_vae_score", "vae", 0.715, 0.715, "pre-trained VAE (disentangling-vae)"),
    Reference("factor_vae_score", "beta_vae", 0.719, 0.719, "pre-trained β-VAE β=4"),
    Reference("factor_vae_score", "factor_vae", 0.765, 0.765, "pre-trained FactorVAE γ=6.4"),
    Reference("factor_vae_score", None, 0.82, 0.82,
              "Kim & Mnih 2018, FactorVAE (≈, read off their figure)", digits=2),
    Reference("factor_vae_score", None, 0.82, 0.83,
              "published 10-seed FactorVAE rerun, γ∈{10,20,40}, ≈311k steps (unverified)",
              digits=2),
    Reference("mig_score", "vae", 0.100, 0.100, "pre-trained VAE (disentangling-vae)"),
    Reference("mig_score", "beta_vae", 0.137, 0.137, "pre-trained β-VAE β=4"),
    Reference("mig_score", "factor_vae", 0.182, 0.182, "pre-trained FactorVAE γ=6.4"),
    Reference("mig_score", None, 0.40, 0.43,
              "published 10-seed FactorVAE rerun, γ∈{10,20,40}, ≈311k steps (unverified)",
              digits=2),
)


def seeds_interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% t-interval of the mean of the finite ``values`` (``mean_interval``): NaN
    bounds below 2 values, the mean itself for both where they do not spread."""
    values = values[np.isfinite(values)]
    mean = float(values.mean()) if len(values) else np.nan
    if len(values) < 2:
        return mean, np.nan, np.nan
    if values.var(ddof=1) == 0:
        return mean, mean, mean
    interval = mean_interval(values, 0.95)
    return mean, float(interval.low), float(interval.high)


def curve_table(epochs: pd.DataFrame) -> pd.DataFrame:
    """One row per setting, quantity and step: seeds, mean, 95% t-interval. Paper-sized
    scores are rows of their own (``paper_...``) at the steps they were computed."""
    columns = [c for q in QUANTITIES for c in (q, paper(q))
               if c in epochs and epochs[c].notna().any()]
    rows = []
    for (model, setting, steps), group in epochs.groupby(["model", "setting", "steps"],
                                                          sort=False):
        for column in columns:
            values = group[column].to_numpy(dtype=float)
            if not np.isfinite(values).any():
                continue
            mean, low, high = seeds_interval(values)
            rows.append({"model": model, "setting": setting, "steps": int(steps),
                         "quantity": column, "seeds": int(np.isfinite(values).sum()),
                         "mean": mean, "low": low, "high": high})
    return pd.DataFrame(rows, columns=["model", "setting", "steps", "quantity", "seeds", "mean",
                                       "low", "high"])


def learning_curves(epochs: pd.DataFrame, folder: Path, references=REFERENCES
                    ) -> FigureFile | None:
    """The learning-curve figure (see the module docstring), or None without a steps column."""
    if epochs.empty or "steps" not in epochs or not epochs["steps"].notna().any():
        return None
    table = curve_table(epochs)
    quantities = [q for q in QUANTITIES if (table["quantity"] == q).any()]
    if not quantities:
        return None
    columns = 2
    rows = -(-len(quantities) // columns)
    figure = new_figure(PAGE_WIDTH, 2.3 * rows + 0.4)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for axis, quantity in zip(axes, quantities):
        _draw_panel(axis, table, quantity, [r for r in references if r.quantity == quantity])
    handles = {}
    for axis in axes[:len(quantities)]:
        handles.update(zip(*reversed(axis.get_legend_handles_labels())))
    for axis in axes[len(quantities):]:
        axis.axis("off")
    spare = axes[len(quantities)] if len(axes) > len(quantities) else None
    if spare is not None:   # one legend for all panels, in the free slot
        spare.legend(handles.values(), handles.keys(), loc="center", frameon=False, fontsize=6)
    else:
        figure.legend(handles.values(), handles.keys(), loc="outside lower center", ncols=2,
                      frameon=False, fontsize=6)
    steps = int(epochs["steps"].max())
    return save(figure, folder, "learning_curves",
                f"Learning curves up to {steps:,} steps: the mean over seeds of each setting "
                f"(lines: the fast preset each epoch; points with bars: the paper-sized scores) "
                f"with its 95% t-interval (band, bars); horizontal lines are paper-scale "
                f"references (the pre-trained models scored here, dashed in the kind's colour; "
                f"published values, black).")


def _draw_panel(axis, table: pd.DataFrame, quantity: str, references: list[Reference]) -> None:
    for setting, group in table[table["quantity"] == quantity].groupby("setting", sort=False):
        color = kind_style(group["model"].iloc[0], COLORS)
        group = group.sort_values("steps")
        axis.plot(group["steps"], group["mean"], color=color, lw=1.2, marker=".",
                  markersize=3, label=setting)
        axis.fill_between(group["steps"], group["low"], group["high"], color=color, alpha=0.18,
                          lw=0)
        sized = table[(table["quantity"] == paper(quantity)) & (table["setting"] == setting)]
        if not sized.empty:
            axis.errorbar(sized["steps"], sized["mean"],
                          yerr=[sized["mean"] - sized["low"], sized["high"] - sized["mean"]],
                          fmt="o", color=color, markersize=3.5, capsize=2, lw=0.9)
    for reference in references:
        color = kind_style(reference.model, COLORS) if reference.model else "black"
        style = "--" if reference.model else ":"
        if reference.high > reference.low:
            axis.axhspan(reference.low, reference.high, color=color, alpha=0.12, lw=0,
                         label=reference.source)
        else:
            axis.axhline(reference.low, color=color, ls=style, lw=0.9, label=reference.source)
    axis.set_ylabel(label(quantity).replace(" (fast)", ""))
    axis.set_xlabel("training steps")
    axis.grid(alpha=0.25)
    if quantity in ("reconstruction", "kl"):
        axis.set_yscale("log")   # ticks as plain numbers (60, 100, 200), not 6×10¹
        axis.yaxis.set_major_formatter(ticker.ScalarFormatter())
        axis.yaxis.set_minor_formatter(ticker.ScalarFormatter())
    else:
        axis.set_ylim(0.0, 1.0)
