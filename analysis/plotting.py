"""How the analysis's figures look, shared by all of them: the page size and text style, each
model kind's colour, marker and colour map, axis labels of the reported numbers, the figure
setup and how figures are written (PNG and PDF, with a caption for the report), and the axes
helpers several figures use. The figures themselves are ``analysis.figures`` (the papers'),
``analysis.curves``, ``analysis.traversals``, ``analysis.locatello.figures`` and
``analysis.navigation.figures``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.results import model_name
from disentangle import kinds as registry
from disentangle.metrics.registry import METRICS
from disentangle.result_names import PAPER_PREFIX, without_preset

PAGE_WIDTH = 7.0  # inches, a two-column paper's text width
STYLE = {"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "legend.fontsize": 7,
         "xtick.labelsize": 7, "ytick.labelsize": 7, "axes.spines.top": False,
         "axes.spines.right": False}
# Each model kind's colour, marker and colour map, by its position in the registry (the VAE,
# registered first, is grey); kinds beyond the lists reuse them in turn.
COLORS = ("#555555", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
          "#e377c2", "#17becf")
MARKERS = ("s", "o", "^", "D", "v", "P", "X", "<", ">")
COLORMAPS = ("Greys", "Blues", "Reds", "Greens", "Purples", "Oranges", "YlOrBr", "RdPu",
             "GnBu")




def kind_style(model: str, palette: tuple):
    """The entry of ``palette`` for model kind ``model``."""
    return palette[registry.order(model) % len(palette)]


#: Axis labels of the reported numbers that need words (the rest: ``label``).
LABELS = {
    "reconstruction": "reconstruction error",
    "kl": "KL(q(z|x) || p(z))",
    "tc_minibatch": "minibatch TC estimate (MWS, batch; mostly posterior sharpness)",
    "tc_large_sample": "total correlation (large-sample estimate)",
    "tc_discriminator": "total correlation (discriminator)",
    "elbo": "ELBO",
    "loss": "training loss",
    "active_dims": "active latent dimensions",
    "beta_vae_score": "BetaVAE score (fast)",
    "factor_vae_score": "FactorVAE score (fast)",
    "beta_vae_train_accuracy": "BetaVAE train accuracy (fast)",
    "factor_vae_train_accuracy": "FactorVAE train accuracy (fast)",
    "factor_vae_active_dims": "FactorVAE metric: active dims (fast)",
    "discriminator_accuracy": "discriminator accuracy",
    "discriminator_loss": "discriminator loss",
}


@dataclass
class FigureFile:
    """One written figure: its name, files and a one-sentence caption for the report."""

    name: str
    png: Path
    pdf: Path
    caption: str


def label(column: str) -> str:
    """A readable axis label; paper-preset metrics say "(paper)", fast ones "(fast)"."""
    if column in LABELS:
        return LABELS[column]
    if column.startswith(PAPER_PREFIX):
        base = label(without_preset(column))
        return base.replace("(fast)", "(paper)") if "(fast)" in base else f"{base} (paper)"
    for spec in METRICS.values():   # another metric's result: named as the registry names it
        if column in spec.result_keys:
            words = column.removeprefix(f"{spec.key}_").replace("_", " ")
            prefix = spec.name.split()[0] + " " if column.startswith(f"{spec.key}_") else ""
            return f"{prefix}{words} (fast)"
    return column.replace("_", " ")


def model_kinds(table: pd.DataFrame) -> list[str]:
    """The kinds present in ``table``, in registry order (unknown kinds last)."""
    return sorted(dict.fromkeys(table["model"]), key=registry.order)


def swept_kinds(table: pd.DataFrame) -> list[str]:
    """The kinds present in ``table`` that sweep a hyperparameter."""
    return [model for model in model_kinds(table) if model in registry.KINDS
            and registry.KINDS[model].hyperparameter is not None]


def setting_short(row) -> str:
    """β=4, γ=30 or VAE: the point labels of the trade-off plot."""
    kind = registry.KINDS.get(row["model"])
    if kind is None or kind.hyperparameter is None or pd.isna(row.get("value")):
        return model_name(row["model"])
    return f"{kind.hyperparameter.symbol}={row['value']:g}"


def new_figure(width: float, height: float) -> Figure:
    """A blank figure of ``width`` x ``height`` inches in ``STYLE``, drawn off screen."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    matplotlib.rcParams.update(STYLE)
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save(figure: Figure, folder: Path, name: str, caption: str) -> FigureFile:
    """Write ``figure`` as ``folder/name``.png (200 dpi) and .pdf."""
    folder.mkdir(parents=True, exist_ok=True)
    png, pdf = folder / f"{name}.png", folder / f"{name}.pdf"
    figure.savefig(png, dpi=200)
    figure.savefig(pdf)
    return FigureFile(name, png, pdf, caption)


def setting_colors(table: pd.DataFrame, model: str) -> dict[str, tuple]:
    """One shade per setting of a model kind, light to dark as its swept value grows."""
    import matplotlib

    settings = list(dict.fromkeys(table.loc[table["model"] == model, "setting"]))
    colormap = matplotlib.colormaps[kind_style(model, COLORMAPS)]
    shades = np.linspace(0.45, 0.95, len(settings)) if len(settings) > 1 else [0.7]
    return {setting: colormap(shade) for setting, shade in zip(settings, shades)}


def place_labels(figure: Figure, axis, xs, ys, texts, colors, fontsize: float = 6.5) -> None:
    """Label points without overlaps where possible: each label takes the nearest position, on
    rings around its point, whose box clears the points and the labels placed before it; a
    thin leader line joins a label that had to move away."""
    figure.canvas.draw()
    pixels_per_point = figure.dpi / 72
    points = axis.transData.transform(np.column_stack([xs, ys]))
    marker = 4 * pixels_per_point
    taken = [(x - marker, y - marker, x + marker, y + marker) for x, y in points]
    height = fontsize * pixels_per_point
    directions = [(1, 0.4), (1, -1.2), (-1, 0.4), (-1, -1.2), (0, 1), (0, -1.8), (1, 1), (-1, 1),
                  (1, -2), (-1, -2)]
    offsets = [(dx * r, dy * r) for r in (5, 12, 20, 30) for dx, dy in directions]
    for (x, y), text, color in zip(points, texts, colors):
        width = 0.62 * height * len(text)
        choice = None
        for dx, dy in offsets:
            left = x + dx * pixels_per_point - (width if dx < 0 else width / 2 if dx == 0 else 0)
            bottom = y + dy * pixels_per_point
            box = (left, bottom, left + width, bottom + height)
            overlap = sum(max(0, min(box[2], b[2]) - max(box[0], b[0]))
                          * max(0, min(box[3], b[3]) - max(box[1], b[1])) for b in taken)
            if choice is None or overlap < choice[0]:
                choice = (overlap, (dx, dy), box)
            if overlap == 0:
                break
        _, (dx, dy), box = choice
        taken.append(box)
        far = math.hypot(dx, dy) > 8
        axis.annotate(text, axis.transData.inverted().transform((x, y)), xytext=(dx, dy),
                      textcoords="offset points", fontsize=fontsize, color=color,
                      ha="right" if dx < 0 else "center" if dx == 0 else "left", va="bottom",
                      arrowprops={"arrowstyle": "-", "color": color, "lw": 0.4, "alpha": 0.7,
                                  "shrinkA": 0, "shrinkB": 3} if far else None)
