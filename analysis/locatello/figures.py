"""Locatello et al. 2019's figures from a sweep's selected models (PNG and PDF, as
``analysis.figures`` draws them): the metrics' rank correlations with one another and with the
unsupervised scores, every metric's distribution per model kind and per hyperparameter value
(violins), the variance shares of objective, hyperparameter and seed, and the selection-
transfer heatmaps. Each returns a ``FigureFile``, or None when the sweep lacks what it needs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.locatello.claims import (
    CHANCE,
    CHANCE_MARGIN,
    decomposition,
    describe_design,
    selection_design,
)
from analysis.locatello.scores import reported
from analysis.locatello.statistics import COMPONENTS
from analysis.plotting import (
    COLORS,
    PAGE_WIDTH,
    FigureFile,
    kind_style,
    model_kinds,
    new_figure,
    save,
    swept_kinds,
)
from analysis.results import hyperparameter_symbol, model_name
from analysis.verdicts.framework import Rule
from disentangle import kinds as registry

MIN_MODELS = 3   # models a rank correlation needs


def rank_correlations(table: pd.DataFrame) -> pd.DataFrame:
    """Spearman's ρ over the models between every metric (columns) and every metric and
    unsupervised score (rows), named by the scores; pairs with fewer than 3 models are NaN."""
    metrics, unsupervised = reported(table), reported(table, unsupervised=True)
    rows = metrics + unsupervised
    matrix = table[[s.column for s in rows]].corr(method="spearman", min_periods=MIN_MODELS)
    matrix = matrix.loc[[s.column for s in rows], [s.column for s in metrics]]
    matrix.index, matrix.columns = [s.name for s in rows], [s.name for s in metrics]
    return matrix


def heatmap(axis, matrix: np.ndarray, rows: list[str], columns: list[str], vmin: float,
            vmax: float, cmap: str, digits: int = 2):
    """A matrix with its values written in the cells (blank where NaN)."""
    image = axis.imshow(matrix, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    axis.set_xticks(range(len(columns)), columns, rotation=40, ha="right")
    axis.set_yticks(range(len(rows)), rows)
    middle = (vmin + vmax) / 2
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            if np.isfinite(matrix[i, j]):
                far = abs(matrix[i, j] - middle) > 0.3 * (vmax - vmin)
                axis.text(j, i, f"{matrix[i, j]:.{digits}f}", ha="center", va="center",
                          fontsize=6.5, color="white" if far else "black")
    axis.spines[:].set_visible(False)
    return image


def metric_rank_correlations(final: pd.DataFrame, folder: Path) -> FigureFile | None:
    """Locatello et al.'s rank correlations of the metrics (their Fig. 2, left), and of the
    unsupervised scores with the metrics beside them."""
    matrix = rank_correlations(final)
    metrics = len(matrix.columns)
    if metrics < 2 or matrix.iloc[:metrics].isna().all().all():
        return None
    unsupervised = len(matrix) - metrics
    figure = new_figure(PAGE_WIDTH, 0.32 * metrics + 1.9)
    axes = figure.subplots(1, 2 if unsupervised else 1, squeeze=False,
                           width_ratios=[1, 1] if unsupervised else [1])[0]
    image = heatmap(axes[0], matrix.iloc[:metrics].to_numpy(), list(matrix.index[:metrics]),
                    list(matrix.columns), -1, 1, "RdBu_r")
    axes[0].set_title("metric vs metric")
    if unsupervised:
        heatmap(axes[1], matrix.iloc[metrics:].to_numpy(), list(matrix.index[metrics:]),
                list(matrix.columns), -1, 1, "RdBu_r")
        axes[1].set_title("unsupervised score vs metric")
    figure.colorbar(image, ax=list(axes), shrink=0.8, label="Spearman ρ")
    return save(figure, folder, "locatello_rank_correlations",
                f"Rank correlations of the disentanglement metrics with one another (left, "
                f"Locatello et al. 2019, Fig. 2 left) and with the unsupervised scores (right): "
                f"Spearman's ρ over all {len(final)} models at the end of training.")


def violins(axis, groups: list[np.ndarray], colors: list, rng: np.random.Generator) -> None:
    """A violin per group (where its values vary) with its median, every model a dot."""
    for position, (values, color) in enumerate(zip(groups, colors)):
        if len(np.unique(values)) > 1:
            parts = axis.violinplot([values], positions=[position], widths=0.8,
                                    showextrema=False, showmedians=True)
            for body in parts["bodies"]:
                body.set_facecolor(color)
                body.set_edgecolor(color)
                body.set_alpha(0.3)
            parts["cmedians"].set_color(color)
        axis.scatter(position + rng.uniform(-0.1, 0.1, len(values)), values, s=6, lw=0,
                     color=color, alpha=0.8, zorder=3)


def score_distributions(final: pd.DataFrame, folder: Path) -> FigureFile | None:
    """Every metric's distribution over the models of each kind (their Fig. 7)."""
    metrics, present = reported(final), model_kinds(final)
    if not metrics or len(final) < 2:
        return None
    columns = min(3, len(metrics))
    rows = -(-len(metrics) // columns)
    figure = new_figure(PAGE_WIDTH, 1.9 * rows + 0.4)
    axes = figure.subplots(rows, columns, squeeze=False)
    rng = np.random.default_rng(0)
    for axis, metric in zip(axes.flat, metrics):
        violins(axis, [final.loc[final["model"] == kind, metric.column].dropna().to_numpy()
                       for kind in present], [kind_style(kind, COLORS) for kind in present], rng)
        axis.set_xticks(range(len(present)), [model_name(k) for k in present], rotation=30,
                        ha="right")
        axis.set_title(metric.name)
        axis.grid(alpha=0.25, axis="y")
    for axis in list(axes.flat)[len(metrics):]:
        axis.set_visible(False)
    return save(figure, folder, "locatello_score_distributions",
                "Each disentanglement metric's distribution over the models of each kind, "
                "every hyperparameter value and seed together (Locatello et al. 2019, Fig. 7): "
                "violins with their median, dots the models.")


def scores_by_hyperparameter(final: pd.DataFrame, folder: Path) -> FigureFile | None:
    """Every metric's distribution over the seeds of each hyperparameter value, per kind."""
    metrics, swept = reported(final), swept_kinds(final)
    if not metrics or not swept:
        return None
    figure = new_figure(PAGE_WIDTH, 1.25 * len(metrics) + 0.5)
    axes = figure.subplots(len(metrics), len(swept), squeeze=False, sharey="row")
    rng = np.random.default_rng(0)
    for metric, row in zip(metrics, axes):
        for axis, kind in zip(row, swept):
            rows = final[final["model"] == kind].dropna(subset=[metric.column])
            values = sorted(rows["value"].dropna().unique())
            violins(axis, [rows.loc[rows["value"] == v, metric.column].to_numpy()
                           for v in values], [kind_style(kind, COLORS)] * len(values), rng)
            axis.set_xticks(range(len(values)), [f"{v:g}" for v in values], fontsize=6)
            axis.grid(alpha=0.25, axis="y")
        row[0].set_ylabel(metric.name)
    for axis, kind in zip(axes[0], swept):
        axis.set_title(model_name(kind))
    for axis, kind in zip(axes[-1], swept):
        axis.set_xlabel(hyperparameter_symbol(registry.KINDS[kind].hyperparameter.key))
    return save(figure, folder, "locatello_scores_by_hyperparameter",
                "Each disentanglement metric over the seeds of each hyperparameter value, one "
                "column per model kind (as Locatello et al. 2019 show per regularisation "
                "strength): violins with their median, dots the seeds.")


def variance_shares(final: pd.DataFrame, folder: Path, rule: Rule = Rule()
                    ) -> FigureFile | None:
    """The share of each metric's variance between objectives, between hyperparameter values
    within an objective, and between seeds (the nested decomposition's point estimates)."""
    found = decomposition(final, rule)
    if not found.possible:
        return None
    shares = found.estimate()
    figure = new_figure(PAGE_WIDTH / 2 + 0.8, 0.3 * len(found.metrics) + 1.3)
    axis = figure.subplots()
    left = np.zeros(len(found.metrics))
    positions = np.arange(len(found.metrics))
    for component, color in zip(COMPONENTS, ("#d62728", "#1f77b4", "#bbbbbb")):
        column = shares[:, COMPONENTS.index(component)]
        axis.barh(positions, column, left=left, color=color, label=component, height=0.7)
        left += np.nan_to_num(column)
    axis.axvline(0.5, color="black", ls=":", lw=0.8)
    axis.set_yticks(positions, [m.name for m in found.metrics])
    axis.invert_yaxis()
    axis.set_xlim(0, 1)
    axis.set_xlabel("share of the metric's variance")
    figure.legend(loc="outside upper center", ncol=3, frameon=False)
    return save(figure, folder, "locatello_variance_shares",
                f"How much of each metric's variance lies between objectives, between "
                f"hyperparameter values within an objective and between seeds (nested variance "
                f"components, point estimates; intervals in the report); {describe_design(found)}"
                f". The claim that the seed and hyperparameters matter more than the objective "
                f"needs the red share below the dotted line.")


def selection_transfer(final: pd.DataFrame, folder: Path, rule: Rule = Rule()
                       ) -> FigureFile | None:
    """P(selected by the row's score beats a random one on the column's metric), choosing a
    hyperparameter value within each kind and a model among all."""
    found = selection_design(final, rule)
    if not found.pairs or not found.kinds:
        return None
    rows = [s.arrow for s in found.scores]
    columns = [m.name for m in found.metrics]
    figure = new_figure(PAGE_WIDTH, 0.3 * len(rows) + 1.9)
    axes = figure.subplots(1, 2)
    for axis, (title, matrix) in zip(axes, found.shown().items()):
        image = heatmap(axis, matrix, rows, columns, 0, 1, "PuOr_r")
        axis.set_title(title)
    axes[1].set_yticks([])
    figure.colorbar(image, ax=list(axes), shrink=0.8,
                    label="P(selected beats a random one)")
    return save(figure, folder, "locatello_selection_transfer",
                f"Unsupervised model selection transfer: the probability that the "
                f"hyperparameter value whose model of one seed has the best score of a row (↓: "
                f"lowest) beats a random other value on the column's metric, judged on the "
                f"other seeds (left, averaged over the kinds), and that the model with the best "
                f"score among all models beats a random other one (right); {CHANCE:g} is "
                f"chance, and the report's verdict calls a score failing below "
                f"{CHANCE + CHANCE_MARGIN:g} and selecting above {CHANCE:g}.")


def locatello_figures(final: pd.DataFrame, folder: str | Path, rule: Rule = Rule()
                      ) -> list[FigureFile]:
    """Every figure of this module the selected models allow."""
    folder = Path(folder)
    made = [metric_rank_correlations(final, folder), score_distributions(final, folder),
            scores_by_hyperparameter(final, folder), variance_shares(final, folder, rule),
            selection_transfer(final, folder, rule)]
    return [figure for figure in made if figure is not None]
