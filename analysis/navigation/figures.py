"""The navigation study's figures (PNG and PDF, via ``analysis.figures.save``).

With labels, per edited attribute a strip of one face edited in each setting's first seed
(plain and with the other attributes held), the side effects along each edit, the verdict
figure (matched side effects with their intervals per setting) and the boundaries' cosines.
Without labels, samples, traversals and reconstructions of the reference grid.
"""

from __future__ import annotations

import math
import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.plotting import PAGE_WIDTH, FigureFile, new_figure, save
from disentangle.data.images import image_grid
from disentangle.navigation.model_study import STRIP_MULTIPLES, TRAVERSAL_VALUES

MODE_STYLES = {"unconditional": "-", "conditional": "--"}


def file_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def representatives(result) -> list:
    """One model per setting, its lowest seed (the figures' rows)."""
    chosen: dict[str, object] = {}
    for model in sorted(result.models, key=lambda m: (m.seed is None, m.seed or 0)):
        chosen.setdefault(model.setting, model)
    return [chosen[setting] for setting in dict.fromkeys(m.setting for m in result.models)]


def image_panel(axis, rows: list[np.ndarray], row_labels, column_labels, title: str) -> None:
    """Rows of images (each (S, C, H, W)) as one grid with labelled rows and columns."""
    columns = len(rows[0])
    grid = image_grid(np.concatenate(rows), nrow=columns)
    axis.imshow(grid.squeeze(-1) if grid.shape[-1] == 1 else grid, cmap="gray",
                interpolation="nearest")
    tile_h, tile_w = (grid.shape[0] - 2) / len(rows), (grid.shape[1] - 2) / columns
    axis.set_yticks([2 + tile_h * (i + 0.5) for i in range(len(rows))], row_labels,
                    fontsize=6)
    axis.set_xticks([2 + tile_w * (i + 0.5) for i in range(columns)], column_labels)
    axis.tick_params(length=0)
    axis.spines[:].set_visible(False)
    axis.set_title(title)


def strip_figures(result, edits: pd.DataFrame, folder: Path) -> list[FigureFile]:
    """Per attribute: one face edited in each setting's first seed at 0-2x its matched
    strength, plain and (when others are edited) with the others held."""
    figures = []
    columns = ["input"] + [f"{m:g}s*" for m in STRIP_MULTIPLES]
    for attribute in result.attributes:
        face = result.strip_faces[attribute][None]
        held = result.plan.held(attribute)
        rows, labels = [], []
        for model in representatives(result):
            for mode in ("unconditional", "conditional") if held else ("unconditional",):
                edit = edits[(edits["model"] == model.name) & (edits["attribute"] == attribute)
                             & (edits["mode"] == mode)].iloc[0]
                strength = (f"s*={edit['matched_strength']:.2f}" if edit["reached"]
                            else f"s* not reached, shown {result.plan.strengths[-1] / 2:g}")
                rows.append(np.concatenate([face, model.strips[(attribute, mode)]]))
                labels.append(f"{model.setting}{' held' if mode == 'conditional' else ''}\n"
                              f"{strength}")
        figure = new_figure(PAGE_WIDTH * 0.62, 0.7 + 0.62 * PAGE_WIDTH * len(rows) / 6.6)
        image_panel(figure.subplots(), rows, labels, columns,
                    "\n".join(textwrap.wrap(f"{attribute}: adding it at multiples of the "
                                            f"matched strength s*", 60)))
        caption = (f"{attribute}: one face without it, edited in each setting's first seed at "
                   f"0 to 2 times the strength s* at which that model's edits change "
                   f"P({attribute}) by {result.plan.target_change:g} on average; equal columns "
                   f"are equal changes of the target, so what else changes is the side effect.")
        if held:
            caption += f" 'held': the direction with {', '.join(held)} projected out."
        figures.append(save(figure, folder, f"strip_{file_name(attribute)}", caption))
    return figures


def side_effect_figure(result, curves: pd.DataFrame, folder: Path) -> FigureFile:
    """Per attribute: side effects against the target change along each setting's edits
    (mean over its seeds), plain and held, with the matched change marked."""
    import matplotlib

    count = len(result.attributes)
    columns = min(3, count)
    figure = new_figure(PAGE_WIDTH, 2.0 * math.ceil(count / columns) + 0.5)
    axes = figure.subplots(math.ceil(count / columns), columns, squeeze=False).ravel()
    colors = matplotlib.colormaps["tab10"]
    means = curves.groupby(["setting", "attribute", "mode", "strength"], sort=False)[
        ["target_change", "side_effects"]].mean().reset_index()
    settings = list(dict.fromkeys(m.setting for m in result.models))
    for axis, attribute in zip(axes, result.attributes):
        for index, setting in enumerate(settings):
            for mode, style in MODE_STYLES.items():
                part = means[(means["setting"] == setting) & (means["attribute"] == attribute)
                             & (means["mode"] == mode)]
                if len(part):
                    axis.plot(part["target_change"], part["side_effects"], style, marker="o",
                              markersize=2, color=colors(index % 10),
                              label=setting + (" (held)" if mode == "conditional" else ""))
        axis.axvline(result.plan.target_change, color="0.6", linewidth=0.7, linestyle=":")
        axis.set_title(attribute)
        axis.set_xlabel(f"change of P({attribute})")
        axis.set_ylabel("side effects")
    for axis in axes[count:]:
        axis.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncol=min(4, len(labels)),
                  fontsize=6.5)
    return save(figure, folder, "side_effects",
                "Side effects (mean |change| of the other recognised attributes) against the "
                "change of the target towards the other side, as the edit strength grows; mean "
                "over each setting's seeds; solid = plain boundary, dashed = others held. The "
                f"dotted line is the matched change {result.plan.target_change:g}: lower there "
                "is cleaner.")


def interval_figure(result, estimates: pd.DataFrame, folder: Path) -> FigureFile | None:
    """The verdicts' numbers: each setting's matched side effects with its 95% interval, per
    attribute and overall; settings not compared (too few seeds) in grey."""
    plain = estimates[(estimates["mode"] == "unconditional") & estimates["reached"]
                      & estimates["judged"]]
    panels = list(dict.fromkeys(plain["attribute"]))
    if not panels:
        return None
    columns = min(3, len(panels))
    settings = list(dict.fromkeys(estimates["setting"]))
    height = 0.5 + 0.16 * len(settings)
    figure = new_figure(PAGE_WIDTH, (height + 0.55) * math.ceil(len(panels) / columns) + 0.2)
    axes = figure.subplots(math.ceil(len(panels) / columns), columns, squeeze=False).ravel()
    for axis, panel in zip(axes, panels):
        rows = plain[plain["attribute"] == panel].set_index("setting")
        finite = rows[["estimate", "high"]].to_numpy()
        edge = 1.2 * finite[np.isfinite(finite)].max()  # where an unbounded interval ends
        for y, setting in enumerate(settings):
            if setting not in rows.index:
                continue
            row = rows.loc[setting]
            high = min(row["high"], edge)
            axis.errorbar(row["estimate"], y, xerr=[[row["estimate"] - row["low"]],
                                                    [high - row["estimate"]]],
                          fmt="o", color="C0" if row["compared"] else "0.6", markersize=3,
                          capsize=2, linewidth=1)
        axis.set_yticks(range(len(settings)), settings, fontsize=6)
        axis.set_ylim(len(settings) - 0.5, -0.5)
        axis.set_title(panel, fontsize=8)
    for axis in axes[len(panels):]:
        axis.set_visible(False)
    figure.supxlabel(f"side effects at the matched change {result.plan.target_change:g} of "
                     f"the target", fontsize=8)
    return save(figure, folder, "intervals",
                f"Side effects of each setting's edits at the matched target change "
                f"{result.plan.target_change:g} (lower is cleaner): mean over seeds with the "
                f"{result.settings.confidence:.0%} t interval over seeds. "
                f"Grey: fewer than {result.settings.min_seeds} seeds, not compared.")


def cosine_figure(result, folder: Path) -> FigureFile:
    """Heatmaps of the cosines between the attribute boundaries of each setting's first
    seed."""
    models = representatives(result)
    columns = min(3, len(models))
    ticks = range(len(result.attributes))
    width = min(PAGE_WIDTH, columns * (0.35 * len(result.attributes) + 1.0) + 0.8)
    panel = (width - 0.8) / columns
    figure = new_figure(width, math.ceil(len(models) / columns) * (panel + 0.2) + 0.3)
    axes = figure.subplots(math.ceil(len(models) / columns), columns, squeeze=False).ravel()
    image = None
    for axis, model in zip(axes, models):
        image = axis.imshow(model.cosine, vmin=-1, vmax=1, cmap="RdBu_r")
        axis.set_xticks(ticks, result.attributes, rotation=60, ha="right", fontsize=6)
        axis.set_yticks(ticks, result.attributes, fontsize=6)
        for i in ticks:
            for j in ticks:
                axis.text(j, i, f"{model.cosine[i, j]:.1f}", ha="center", va="center",
                          fontsize=5, color="white" if abs(model.cosine[i, j]) > 0.6 else "k")
        axis.set_title(model.setting, fontsize=8)
    for axis in axes[len(models):]:
        axis.set_visible(False)
    figure.colorbar(image, ax=axes[:len(models)].tolist(), shrink=0.6, label="cosine")
    return save(figure, folder, "cosine",
                "Cosine similarity between the attribute boundaries of each setting's first "
                "seed: near 0 off the diagonal means separate directions; large values mean "
                "editing one attribute moves the other.")


def unlabelled_figures(result, folder: Path) -> list[FigureFile]:
    """Samples, traversals and reconstructions of models studied without labels."""
    figures = []
    count = len(result.models)
    figure = new_figure(PAGE_WIDTH, 0.6 + PAGE_WIDTH / max(count, 1))
    for axis, model in zip(figure.subplots(1, count, squeeze=False).ravel(), result.models):
        image_panel(axis, [model.samples[i:i + 6] for i in range(0, 36, 6)], [""] * 6,
                    [""] * 6, model.name)
    figures.append(save(figure, folder, "samples",
                        "Faces decoded from random codes of the prior N(0, I), per model."))
    values = [f"{v:g}" for v in TRAVERSAL_VALUES]
    around = ("the first reference image's code (dimensions ordered by their spread over the "
              "reference images)" if result.reference is not None else "the prior mean")
    for model in result.models:
        dims = len(model.traversal_dims)
        rows = [model.traversals[i * len(values):(i + 1) * len(values)] for i in range(dims)]
        figure = new_figure(PAGE_WIDTH * 0.6, 0.6 + dims * PAGE_WIDTH * 0.6 / len(values))
        image_panel(figure.subplots(), rows, [f"z{d}" for d in model.traversal_dims], values,
                    f"{model.name}: latent traversals")
        figures.append(save(figure, folder, f"traversals_{file_name(model.name)}",
                            f"{model.name}: each row sets one latent dimension to {values[0]} "
                            f".. {values[-1]} around {around}."))
    if result.reference is not None:
        shown = result.reference[:10]
        rows = [shown] + [m.reconstructions[:10] for m in result.models]
        figure = new_figure(PAGE_WIDTH, 0.6 + len(rows) * PAGE_WIDTH / 10)
        image_panel(figure.subplots(), rows, ["reference"] + [m.name for m in result.models],
                    [""] * len(shown), "Reconstructions of the reference images")
        figures.append(save(figure, folder, "reconstructions",
                            "The first reference images (top) and each model's reconstruction "
                            "of them (encoder mean, decoded)."))
    return figures


def labelled_figures(result, frames: dict, estimates: pd.DataFrame,
                     folder: Path) -> list[FigureFile]:
    figures = [interval_figure(result, estimates, folder)]
    figures += strip_figures(result, frames["edits"], folder)
    figures += [side_effect_figure(result, frames["curves"], folder), cosine_figure(result,
                                                                                   folder)]
    return [figure for figure in figures if figure is not None]
