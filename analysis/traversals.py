"""Latent traversals of the best and the median trained model of each kind, from checkpoints.

For each model kind the trials are ranked by their end-of-training FactorVAE score; the best
and the median model that still have a checkpoint are loaded
(``disentangle.training.model_file`` in their trial's newest checkpoint folder). A seed image
from the trial's dataset is encoded; each latent dimension in turn is set to -2 .. 2 while the
others keep the encoder mean, and the decoded images form one row per dimension, rows sorted
by the dimension's KL (most used on top), measured on a batch of the dataset. Without the data
(not cached, not renderable) the traversal centres on the prior mean and sorts by the trial's
last reported ``kl_dim_i``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.plotting import PAGE_WIDTH, FigureFile, model_kinds, new_figure, save
from analysis.results import model_name, score_column
from disentangle.data import get_dataset
from disentangle.data.images import image_grid
from disentangle.models import load_model
from disentangle.objectives import kl_per_dimension
from disentangle.result_names import kl_dim
from disentangle.training import model_file
from disentangle.traversal import traversal_codes

TRAVERSAL_VALUES = np.linspace(-2.0, 2.0, 9)


@dataclass
class Selection:
    """One trial chosen for a traversal: why it was chosen and where its weights are."""

    role: str  # "best" or "median"
    row: pd.Series  # its end-of-training row (setting, seed, scores, kl_dim_i)
    checkpoint_file: Path


def select_models(final: pd.DataFrame, trials: pd.DataFrame) -> tuple[list[Selection], list[str]]:
    """The best and the median trial (by FactorVAE score) of each kind that has a checkpoint.

    The median only where a kind has 3 or more such trials: of two, the "median" would be the
    worse one, which says nothing about a typical model.

    Returns the selections and one line per model kind that could not be shown, saying why.
    """
    score = score_column(final, "factor_vae")
    files = {trial_id: model_file(folder, member) if folder else None
             for trial_id, folder, member in zip(trials["trial_id"], trials["checkpoint"],
                                                 trials["member"])}
    files = {trial_id: file if file and file.is_file() else None
             for trial_id, file in files.items()}
    selections, missing = [], []
    for model in model_kinds(final):
        rows = final[final["model"] == model]
        if score in rows:
            rows = rows.dropna(subset=[score]).sort_values(score, ascending=False)
        rows = rows[[files.get(t) is not None for t in rows["trial_id"]]]
        if rows.empty:
            missing.append(f"{model_name(model)}: no model with a checkpoint "
                           f"(checkpoint_NNNNNN/ of its trial)")
            continue
        chosen = [("best", rows.iloc[0])]
        if len(rows) > 2:
            chosen.append(("median", rows.iloc[len(rows) // 2]))
        selections += [Selection(role, row, files[row["trial_id"]]) for role, row in chosen]
    return selections, missing


def reported_kl(row: pd.Series, latent_dim: int) -> np.ndarray:
    """The trial's last reported per-dimension KL (NaN where not reported)."""
    return np.array([row.get(kl_dim(d), np.nan) for d in range(latent_dim)], dtype=float)


def measured_kl(model, images: np.ndarray) -> np.ndarray:
    """Mean KL(q(z_d|x) || N(0, 1)) of each latent dimension over ``images``."""
    import torch

    with torch.inference_mode():
        mean, log_var = model.encode(torch.as_tensor(images, dtype=torch.float32))
        return kl_per_dimension(mean.float(), log_var.float()).numpy()


def kl_order(kl) -> list[int]:
    """Latent dimensions sorted by KL, largest first (unknown KL last)."""
    kl = [-math.inf if value is None or math.isnan(value) else value for value in kl]
    return sorted(range(len(kl)), key=lambda d: -kl[d])


def traverse(model, image: np.ndarray | None, dims: list[int]) -> np.ndarray:
    """(len(dims) * 9, C, H, W) decoded images: one row per dimension in ``dims``, that
    coordinate set to each of -2 .. 2 around the encoder mean of ``image`` (or the prior mean
    0 when no image is given)."""
    import torch

    with torch.inference_mode():
        if image is None:
            center = torch.zeros(1, model.latent_dim)
        else:
            center, _ = model.encode(torch.as_tensor(image[None], dtype=torch.float32))
            center = center.float()
        codes = traversal_codes(center, dims, TRAVERSAL_VALUES)
        return model.decode(codes).float().clamp(0, 1).numpy()


def with_seed_column(traversal: np.ndarray, image: np.ndarray | None, rows: int
                     ) -> np.ndarray:
    """Prepend a column holding the seed image in the first row (blank below) to the
    traversal's rows; unchanged when there is no seed image."""
    if image is None:
        return traversal
    steps = len(traversal) // rows
    tiles = traversal.reshape(rows, steps, *traversal.shape[1:])
    first = np.ones((rows, 1, *traversal.shape[1:]), dtype=traversal.dtype)
    first[0, 0] = image
    return np.concatenate([first, tiles], axis=1).reshape(-1, *traversal.shape[1:])


def trial_images(config: dict, datasets: dict, count: int = 256, seed: int = 0
                 ) -> tuple[np.ndarray | None, str]:
    """``count`` images of the trial's dataset (from the on-disk cache), or None and the reason.

    ``datasets`` caches the loaded datasets (or the reason one failed) by name and options."""
    import json

    name = config.get("dataset")
    if not name:
        return None, "the prior mean (the trial's config names no dataset)"
    options = {key.split("/", 1)[1]: value for key, value in config.items()
               if key.startswith("dataset_options/")}
    key = json.dumps([name, options], sort_keys=True, default=str)
    if key not in datasets:
        try:
            datasets[key] = get_dataset(name, **options)
        except Exception as error:  # failing to load data only changes the traversal's centre
            datasets[key] = f"the prior mean ({name} could not be loaded: " \
                            f"{str(error).splitlines()[0][:100]})"
    if isinstance(datasets[key], str):
        return None, datasets[key]
    indices = datasets[key].sample_indices(count, np.random.RandomState(seed))
    return datasets[key].images(indices), f"a {name} image (input column)"


def traversal_figure(selections: list[Selection], trials: pd.DataFrame, folder: str | Path
                     ) -> tuple[FigureFile | None, list[str]]:
    """The traversal figure of ``selections`` (rows best/median, a column per model kind)."""
    import json

    import torch

    torch.set_num_threads(min(2, torch.get_num_threads()))
    notes, panels, datasets = [], [], {}
    configs = dict(zip(trials["trial_id"], trials["config"]))
    for selection in selections:
        try:
            model = load_model(selection.checkpoint_file)
        except Exception as error:  # a damaged checkpoint skips one panel, not the report
            notes.append(f"{selection.row['setting']} seed {selection.row['seed']:g}: "
                         f"{selection.checkpoint_file} could not be loaded ({error})")
            continue
        config = json.loads(configs.get(selection.row["trial_id"], "{}"))
        images, centre = trial_images(config, datasets)
        image = None if images is None else images[0]
        kl = measured_kl(model, images) if images is not None else reported_kl(
            selection.row, model.latent_dim)
        dims = kl_order(kl)
        grid = image_grid(with_seed_column(traverse(model, image, dims), image, len(dims)),
                          nrow=len(TRAVERSAL_VALUES) + (image is not None))
        panels.append((selection, grid, dims, centre, image is not None, kl))
    if not panels:
        return None, notes
    roles = [r for r in ("best", "median") if any(s.role == r for s, *_ in panels)]
    kinds = list(dict.fromkeys(s.row["model"] for s, *_ in panels))
    rows_per_panel = max(len(panel[2]) for panel in panels)
    panel_width = PAGE_WIDTH / max(len(kinds), 2)
    figure = new_figure(panel_width * len(kinds),
                        len(roles) * (panel_width * rows_per_panel / 10 + 0.45))
    axes = figure.subplots(len(roles), len(kinds), squeeze=False)
    for axis in axes.flat:
        axis.set_visible(False)
    score = score_column(pd.DataFrame([s.row for s, *_ in panels]), "factor_vae")
    for selection, grid, dims, centre, has_input, kl in panels:
        axis = axes[roles.index(selection.role), kinds.index(selection.row["model"])]
        axis.set_visible(True)
        axis.imshow(grid.squeeze(-1) if grid.shape[-1] == 1 else grid, cmap="gray",
                    vmin=0, vmax=255, interpolation="nearest")
        tile = (grid.shape[0] - 2) / len(dims)
        axis.set_yticks([2 + tile * (i + 0.5) for i in range(len(dims))],
                        [f"z{d}" + (f" {k:.1f}" if not pd.isna(k) else "")
                         for d, k in zip(dims, kl[dims])], fontsize=5.5)
        columns = ["input"] * has_input + [f"{v:g}" for v in TRAVERSAL_VALUES]
        width = (grid.shape[1] - 2) / len(columns)
        axis.set_xticks([2 + width * (i + 0.5) for i in range(len(columns))], columns,
                        fontsize=5.5)
        axis.tick_params(length=0)
        axis.spines[:].set_visible(False)
        value = selection.row.get(score, np.nan)
        axis.set_title(f"{selection.role}: {selection.row['setting']}, seed "
                       f"{selection.row['seed']:g}\nFactorVAE score {value:.2f}", fontsize=7)
        axis.set_xlabel("latent value", fontsize=6.5)
        if kinds.index(selection.row["model"]) == 0:
            axis.set_ylabel("dimension, KL (nats)", fontsize=6.5)
        notes.append(f"{selection.role} {selection.row['setting']} (seed "
                     f"{selection.row['seed']:g}): traversed around {centre}; "
                     f"{selection.checkpoint_file}")
    return save(figure, Path(folder), "traversals",
                "Latent traversals of the best and the median model of each kind (by FactorVAE "
                "score): each row sets one latent dimension to -2 .. 2 around the encoding of "
                "the input image, the others kept; rows sorted by the dimension's KL (label: "
                "dimension and KL in nats over 256 dataset images, or as last reported when the "
                "data is unavailable); the least used dimensions at the bottom should change "
                "nothing."), notes


def traversals(final: pd.DataFrame, trials: pd.DataFrame, folder: str | Path
               ) -> tuple[FigureFile | None, list[str]]:
    """Select, load and draw; returns the figure (or None) and notes for the report."""
    selections, missing = select_models(final, trials)
    if not selections:
        return None, missing
    figure, notes = traversal_figure(selections, trials, folder)
    return figure, missing + notes

