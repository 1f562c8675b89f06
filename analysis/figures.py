"""The papers' figures from a sweep's tables, as PNG and PDF (matplotlib, no display needed).

Every function takes the tidy tables of ``analysis.results`` and a folder, and returns a
``FigureFile`` (name, the PNG and PDF written, a caption) or None when the sweep lacks the
numbers the figure needs. Their look (a paper page 7 inches wide, 8-9 pt text, each kind's
colour and marker) is ``analysis.plotting``'s.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from scipy import stats

from analysis.plotting import (
    COLORS,
    MARKERS,
    PAGE_WIDTH,
    FigureFile,
    kind_style,
    label,
    model_kinds,
    new_figure,
    place_labels,
    save,
    setting_colors,
    setting_short,
    swept_kinds,
)
from analysis.results import (
    hyperparameter_symbol,
    metric_columns,
    model_metrics,
    model_name,
    preset_column,
    score_column,
)
from disentangle import kinds as registry
from disentangle.result_names import kl_dimension


def per_setting(final: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Mean and std over seeds of ``columns`` per setting, in setting order."""
    grouped = final.groupby("setting", sort=False)
    table = grouped[["model", "value"]].first()
    for column in columns:
        table[f"{column}_mean"] = grouped[column].mean()
        table[f"{column}_std"] = grouped[column].std().fillna(0.0)
        table[f"{column}_n"] = grouped[column].count()
    return table.reset_index()


def tradeoff(final: pd.DataFrame, folder: Path) -> FigureFile | None:
    """Kim & Mnih's Fig. 4/7: reconstruction error vs each disentanglement score."""
    scores = [score_column(final, "factor_vae"), score_column(final, "beta_vae")]
    scores = [s for s in scores if s in final and final[s].notna().any()]
    if "reconstruction" not in final or not scores:
        return None
    table = per_setting(final, ["reconstruction"] + scores)
    figure = new_figure(PAGE_WIDTH, 2.9)
    axes = figure.subplots(1, len(scores), squeeze=False)[0]
    for axis, score in zip(axes, scores):
        for model in model_kinds(table):
            rows = table[table["model"] == model]
            axis.errorbar(rows["reconstruction_mean"], rows[f"{score}_mean"],
                          xerr=rows["reconstruction_std"], yerr=rows[f"{score}_std"],
                          fmt=kind_style(model, MARKERS), color=kind_style(model, COLORS),
                          ecolor=kind_style(model, COLORS), elinewidth=0.8, capsize=2,
                          markersize=5, label=model_name(model), alpha=0.9)
        place_labels(figure, axis, table["reconstruction_mean"], table[f"{score}_mean"],
                     [setting_short(row) for _, row in table.iterrows()],
                     [kind_style(m, COLORS) for m in table["model"]])
        axis.set_xlabel("reconstruction error (end of training; lower is better)")
        axis.set_ylabel(label(score))
        axis.set_title(f"{label(score)} vs reconstruction")
        axis.grid(alpha=0.25)
    axes[0].legend(loc="lower right", frameon=False)
    return save(figure, folder, "tradeoff",
                "Reconstruction error against disentanglement at the end of training (Kim & "
                "Mnih 2018, Fig. 7): one point per model and β/γ, mean over seeds, error bars "
                "±1 standard deviation over seeds. Up and to the left is better.")


def training_curves(epochs: pd.DataFrame, folder: Path) -> FigureFile | None:
    """Reconstruction and both scores against training steps, one curve per setting."""
    columns = [c for c in ("reconstruction", "beta_vae_score", "factor_vae_score")
               if c in epochs and epochs[c].notna().any()]
    if not columns or epochs.empty:
        return None
    x_column = "steps" if "steps" in epochs and epochs["steps"].notna().all() else "epoch"
    kinds = model_kinds(epochs)
    figure = new_figure(PAGE_WIDTH, 1.9 * len(kinds) + 0.3)
    axes = figure.subplots(len(kinds), len(columns), squeeze=False)
    for row_axes, model in zip(axes, kinds):
        rows = epochs[epochs["model"] == model]
        colors = setting_colors(epochs, model)
        for axis, column in zip(row_axes, columns):
            for setting, group in rows.groupby("setting", sort=False):
                curve = group.groupby("epoch").agg(x=(x_column, "mean"), mean=(column, "mean"),
                                                   std=(column, "std")).dropna(subset=["mean"])
                if curve.empty:
                    continue
                color = colors[setting]
                axis.plot(curve["x"], curve["mean"], color=color, lw=1.3, marker=".",
                          markersize=3, label=setting_short(group.iloc[0]))
                spread = curve["std"].fillna(0.0)
                axis.fill_between(curve["x"], curve["mean"] - spread, curve["mean"] + spread,
                                  color=color, alpha=0.2, lw=0)
            axis.set_ylabel(label(column))
            axis.grid(alpha=0.25)
        row_axes[-1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False,
                            title=model_name(model))
    for axis in axes[-1]:
        axis.set_xlabel("training steps" if x_column == "steps" else "epoch")
    return save(figure, folder, "training_curves",
                "Training curves: reconstruction error and both disentanglement scores (fast "
                "preset, each epoch) against training steps; one curve per β/γ, the line is the "
                "mean over seeds and the band ±1 standard deviation.")


def metrics_vs_hyperparameter(final: pd.DataFrame, folder: Path) -> FigureFile | None:
    """Locatello et al.'s layout: each metric against β and γ, boxes over seeds, VAE line."""
    candidates = [score_column(final, "factor_vae"), score_column(final, "beta_vae"),
                  "reconstruction", "kl", preset_column(final, "tc_large_sample"), "active_dims"]
    columns = [c for c in dict.fromkeys(candidates) if c in final and final[c].notna().any()]
    kinds = swept_kinds(final)
    if not columns or not kinds:
        return None
    baseline = registry.baseline_kind().key
    vae = final[final["model"] == baseline]
    figure = new_figure(PAGE_WIDTH if len(kinds) > 1 else PAGE_WIDTH / 2 + 0.5,
                        1.3 * len(columns) + 0.6)
    axes = figure.subplots(len(columns), len(kinds), squeeze=False, sharey="row")
    rng = np.random.default_rng(0)
    for column, row_axes in zip(columns, axes):
        for axis, model in zip(row_axes, kinds):
            rows = final[final["model"] == model].dropna(subset=[column])
            values = sorted(rows["value"].dropna().unique())
            groups = [rows.loc[rows["value"] == v, column].to_numpy() for v in values]
            color = kind_style(model, COLORS)
            if groups:
                axis.boxplot(groups, positions=range(len(values)), widths=0.55,
                             patch_artist=True, showfliers=False,
                             boxprops={"facecolor": color, "alpha": 0.25, "edgecolor": color},
                             medianprops={"color": color, "lw": 1.5},
                             whiskerprops={"color": color}, capprops={"color": color})
                for position, group in enumerate(groups):
                    axis.scatter(position + rng.uniform(-0.12, 0.12, len(group)), group, s=9,
                                 color=color, zorder=3, lw=0)
                axis.set_xticks(range(len(values)), [f"{v:g}" for v in values])
            if column in vae and vae[column].notna().any():
                mean, std = vae[column].mean(), vae[column].std()
                axis.axhline(mean, color=kind_style(baseline, COLORS), ls="--", lw=1)
                if not math.isnan(std):
                    axis.axhspan(mean - std, mean + std, color=kind_style(baseline, COLORS),
                                 alpha=0.08)
            axis.grid(alpha=0.25, axis="y")
        row_axes[0].set_ylabel(textwrap.fill(label(column), 20))
    for axis, model in zip(axes[-1], kinds):
        swept = registry.KINDS[model].hyperparameter.key
        axis.set_xlabel(f"{model_name(model)}: {hyperparameter_symbol(swept)}")
    handles = [Line2D([], [], color=kind_style(m, COLORS), marker="s", ls="", alpha=0.5,
                      label=model_name(m)) for m in kinds]
    if len(vae):
        handles.append(Line2D([], [], color=kind_style(baseline, COLORS), ls="--",
                              label="VAE (mean ± 1 sd)"))
    figure.legend(handles=handles, loc="outside upper center", ncol=len(handles), frameon=False)
    return save(figure, folder, "metrics_vs_hyperparameter",
                "Each metric at the end of training against β (β-VAE) and γ (FactorVAE), as in "
                "Locatello et al. 2019: boxes show the quartiles over seeds, dots the seeds; the "
                "dashed line and grey band are the VAE's mean ± 1 standard deviation.")


def score_agreement(final: pd.DataFrame, folder: Path) -> FigureFile | None:
    """BetaVAE score against FactorVAE score for every trial, with Spearman's rho."""
    beta, factor = score_column(final, "beta_vae"), score_column(final, "factor_vae")
    if beta not in final or factor not in final:
        return None
    table = final.dropna(subset=[beta, factor])
    if table.empty:
        return None
    figure = new_figure(3.5, 3.0)
    axis = figure.subplots()
    for model in model_kinds(table):
        rows = table[table["model"] == model]
        axis.scatter(rows[beta], rows[factor], s=16, color=kind_style(model, COLORS),
                     marker=kind_style(model, MARKERS), alpha=0.75,
                     label=model_name(model), lw=0)
    rho = spearman(table[beta], table[factor])
    axis.set_title(f"Spearman ρ = {rho:.2f} over {len(table)} trials" if not math.isnan(rho)
                   else f"Spearman ρ undefined ({len(table)} trials)")
    axis.set_xlabel(label(beta))
    axis.set_ylabel(label(factor))
    axis.grid(alpha=0.25)
    axis.legend(frameon=False, loc="best")
    return save(figure, folder, "score_agreement",
                "Agreement of the two definitions of disentanglement: BetaVAE score against "
                "FactorVAE score at the end of training, one dot per trial (every model, β/γ "
                "and seed), with Spearman's rank correlation.")


def spearman(x, y) -> float:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)


def metric_correlations(final: pd.DataFrame, folder: Path) -> FigureFile | None:
    """Spearman rank-correlation matrix of every reported model metric over all trials."""
    columns = [c for c in model_metrics(metric_columns(final))
               if final[c].notna().sum() >= 3 and final[c].nunique() > 1]
    if len(columns) < 2:
        return None
    matrix = final[columns].corr(method="spearman", min_periods=3)
    size = max(3.5, 0.36 * len(columns) + 1.6)
    figure = new_figure(min(size, PAGE_WIDTH), min(size, PAGE_WIDTH) * 0.92)
    axis = figure.subplots()
    image = axis.imshow(matrix.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    names = [textwrap.fill(label(c), 28) for c in columns]   # long labels would crush the map
    axis.set_xticks(range(len(columns)), names, rotation=60, ha="right", fontsize=6.5)
    axis.set_yticks(range(len(columns)), names, fontsize=6.5)
    for i in range(len(columns)):
        for j in range(len(columns)):
            value = matrix.iloc[i, j]
            if not math.isnan(value):
                axis.text(j, i, f"{value:.1f}".replace("0.", "."), ha="center", va="center",
                          fontsize=5.5, color="white" if abs(value) > 0.6 else "black")
    axis.spines[:].set_visible(False)
    figure.colorbar(image, ax=axis, shrink=0.7, label="Spearman ρ")
    axis.set_title(f"Rank correlation of the reported metrics ({len(final)} trials)")
    return save(figure, folder, "metric_correlations",
                "Spearman rank correlation between every reported metric at the end of "
                "training, over all trials (pairs with fewer than 3 trials in common are blank).")


def kl_per_dimension(final: pd.DataFrame, folder: Path, max_columns: int = 7
                     ) -> FigureFile | None:
    """Per-dimension KL at the end of training, dimensions sorted by KL within each trial.

    One row per model kind, one panel per setting (at most ``max_columns``, spread evenly over
    the swept values when a search tried more).
    """
    kl_columns = sorted((c for c in final.columns if kl_dimension(c) is not None),
                        key=kl_dimension)
    if not kl_columns or final[kl_columns].notna().sum().sum() == 0:
        return None
    kinds = model_kinds(final)
    shown = {}
    for model in kinds:
        settings = list(dict.fromkeys(final.loc[final["model"] == model, "setting"]))
        picks = np.unique(np.linspace(0, len(settings) - 1, min(len(settings), max_columns))
                          .round().astype(int))
        shown[model] = [settings[i] for i in picks]
    columns = max(len(v) for v in shown.values())
    figure = new_figure(PAGE_WIDTH, 1.35 * len(kinds) + 0.35)
    axes = figure.subplots(len(kinds), columns, squeeze=False, sharey=True)
    for row_axes, model in zip(axes, kinds):
        for axis in row_axes[len(shown[model]):]:
            axis.set_visible(False)
        for axis, setting in zip(row_axes, shown[model]):
            group = final[final["setting"] == setting]
            sorted_kl = -np.sort(-group[kl_columns].to_numpy(dtype=float), axis=1)
            sorted_kl = sorted_kl[:, ~np.isnan(sorted_kl).all(axis=0)]  # dims never reported
            mean = np.nanmean(sorted_kl, axis=0)
            std = np.nanstd(sorted_kl, axis=0, ddof=1) if len(sorted_kl) > 1 else None
            ranks = np.arange(1, len(mean) + 1)
            axis.bar(ranks, mean, yerr=std, capsize=1.2, width=0.75,
                     color=kind_style(model, COLORS), alpha=0.8, error_kw={"lw": 0.6})
            axis.set_title(f"{setting_short(group.iloc[0])} (n={len(group)})", fontsize=7.5)
            axis.set_xticks(ranks if len(ranks) <= 10 else ranks[::2])
            axis.tick_params(axis="x", labelsize=5.5)
            axis.grid(alpha=0.25, axis="y")
            axis.set_xlabel("dim (by KL)", fontsize=6.5)
        row_axes[0].set_ylabel(f"{model_name(model)}\nKL (nats)")
    return save(figure, folder, "kl_per_dimension",
                "Which latent dimensions are used: KL divergence of each latent dimension at "
                "the end of training, sorted from the most to the least used within each trial;"
                " bars are the mean over seeds, whiskers ±1 standard deviation.")


def metric_sanity(table: pd.DataFrame, folder: str | Path, num_factors: int = 5,
                  name: str = "metric_sanity") -> FigureFile:
    """Both metrics' scores on the sanity suite's hand-built representations (its table:
    ``case``, ``beta_vae_score``, ``factor_vae_score``; ``disentangle.metrics.sanity``), with
    chance 1/K and Kim & Mnih's (K-1)/K marked; written as ``name``.png and .pdf."""
    positions = np.arange(len(table))
    figure = new_figure(PAGE_WIDTH, 3.0)
    axis = figure.subplots()
    axis.bar(positions - 0.2, table["beta_vae_score"], 0.4, label="BetaVAE metric",
             color=COLORS[1])
    axis.bar(positions + 0.2, table["factor_vae_score"], 0.4, label="FactorVAE metric",
             color=COLORS[2])
    axis.axhline(1 / num_factors, color="grey", linestyle=":", label="chance 1/K")
    axis.axhline((num_factors - 1) / num_factors, color="grey", linestyle="--", label="(K-1)/K")
    axis.set_xticks(positions, table["case"], rotation=20)
    axis.set_ylim(0, 1.05)
    axis.set_ylabel("score (evaluation accuracy)")
    axis.set_title("What each metric measures: hand-built representations of dSprites' factors")
    figure.legend(loc="outside lower center", ncol=4, frameon=False)
    return save(figure, Path(folder), name,
                "Both metrics on hand-built representations of dSprites' five factors (the "
                "metrics sanity suite): the BetaVAE metric stays near 1 when one factor is "
                "missing, the FactorVAE metric drops to about (K-1)/K; noise scores chance, 1/K.")


def all_figures(epochs: pd.DataFrame, final: pd.DataFrame, folder: str | Path
                ) -> list[FigureFile]:
    """Every figure the tables allow (traversals are separate: they need checkpoints)."""
    folder = Path(folder)
    made = [tradeoff(final, folder), training_curves(epochs, folder),
            metrics_vs_hyperparameter(final, folder), score_agreement(final, folder),
            metric_correlations(final, folder), kl_per_dimension(final, folder)]
    return [figure for figure in made if figure is not None]
