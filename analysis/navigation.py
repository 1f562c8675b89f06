"""Figures, tables and the report section of the face navigation study.

``write_navigation(result, out)`` takes ``disentangle.navigation.study.run_study``'s result and
writes into ``out``:

  navigation/strip_<attribute>.png         rows = models, columns = the input, then each step
  navigation/conditional_<attribute>.png   per model: the plain edit, then the edit with the
                                           other attributes held (projected out)
  navigation/side_effects.png              target change against side effects over the steps
  navigation/cosine.png                    cosine similarity between each model's boundaries
  navigation/samples.png, traversals_<model>.png, reconstructions.png (without labels)
  navigation/*.csv, boundaries.npz         the numbers behind them, every direction
  navigation.md                            the section: tables and verdicts
  report.md                                the section appended to the report of ``vae-study
                                           analyze`` found there (an earlier navigation
                                           section is replaced), else a report of its own

Figures are PNG and PDF. Everything is written to temporary names and moved into place last.
"""

from __future__ import annotations

import math
import os
import textwrap
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.figures import PAGE_WIDTH, FigureFile, new_figure, save

SECTION_START = "<!-- navigation:start -->"
SECTION_END = "<!-- navigation:end -->"
MODE_STYLES = {"unconditional": "-", "conditional": "--"}
#: A model's edits count as working when at least this share of faces flips the attribute.
MIN_SUCCESS = 0.5
#: A model is called cleaner than the next only when its side-effect ratio is this much lower.
MIN_MARGIN = 0.1


def file_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


# -- tables ------------------------------------------------------------------------------------
def tables(result) -> dict[str, pd.DataFrame]:
    """steps, summary, per-model summary, classifier validation and cosines as DataFrames."""
    out = {}
    if result.labelled:
        out["steps"] = pd.DataFrame([r for m in result.models for r in m.steps])
        out["summary"] = pd.DataFrame([r for m in result.models for r in m.summary])
        out["models"] = model_table(result, out["summary"])
        validation = result.classifier.validation["attributes"]
        out["classifier"] = pd.DataFrame(
            [{"attribute": a, **validation[a], "edited": a in result.attributes,
              "scored": a in result.scored} for a in result.classifier.attribute_names])
        out["cosine"] = pd.DataFrame(
            [{"model": m.name, "attribute": a, "other": b, "cosine": m.cosine[i, j]}
             for m in result.models for i, a in enumerate(result.attributes)
             for j, b in enumerate(result.attributes)])
    return out


def pooled_ratio(rows: pd.DataFrame) -> float:
    """Side effects per unit of target change over several edits: mean side effects / mean
    target change (a failed edit adds its side effects and no target change, instead of an
    unbounded ratio of its own)."""
    if rows.empty or not rows["target_change"].mean() > 0:
        return math.nan
    return float(rows["side_effects"].mean() / rows["target_change"].mean())


def model_table(result, summary: pd.DataFrame) -> pd.DataFrame:
    """One row per model: means over the edited attributes of each mode (the side-effect
    ratio pooled, see ``pooled_ratio``), boundary numbers."""
    rows = []
    for model in result.models:
        mine = summary[summary["model"] == model.name]
        plain = mine[mine["mode"] == "unconditional"]
        held = mine[mine["mode"] == "conditional"]
        off_diagonal = np.abs(model.cosine[~np.eye(len(model.cosine), dtype=bool)])
        rows.append({
            "model": model.name, "description": model.description,
            "success_rate": plain["success_rate"].mean(),
            "side_effect_ratio": pooled_ratio(plain),
            "conditional_success_rate": held["success_rate"].mean() if len(held) else math.nan,
            "conditional_side_effect_ratio": pooled_ratio(held),
            "reconstruction_accuracy": (plain["reconstruction_accuracy"].mean()
                                        if "reconstruction_accuracy" in plain else math.nan),
            "target_change": plain["target_change"].mean(),
            "pixel_change": plain["pixel_change"].mean(),
            "mean_abs_cosine": off_diagonal.mean() if off_diagonal.size else math.nan,
            "axis_alignment": plain["axis_alignment"].mean(),
            "svm_validation_accuracy": plain["svm_validation_accuracy"].mean(),
            "svm_remaining_accuracy": plain["svm_remaining_accuracy"].mean()})
    return pd.DataFrame(rows)


# -- figures -----------------------------------------------------------------------------------
def image_panel(figure, axis, rows: list[np.ndarray], row_labels, column_labels, title):
    """Draw rows of images (each (S, C, H, W)) as one grid with labelled rows and columns."""
    from disentangle.data.images import image_grid

    columns = len(rows[0])
    grid = image_grid(np.concatenate(rows), nrow=columns)
    axis.imshow(grid.squeeze(-1) if grid.shape[-1] == 1 else grid, cmap="gray",
                interpolation="nearest")
    tile_h = (grid.shape[0] - 2) / len(rows)
    tile_w = (grid.shape[1] - 2) / columns
    axis.set_yticks([2 + tile_h * (i + 0.5) for i in range(len(rows))], row_labels)
    axis.set_xticks([2 + tile_w * (i + 0.5) for i in range(columns)], column_labels)
    axis.tick_params(length=0)
    axis.spines[:].set_visible(False)
    axis.set_title(title)


def strip_figures(result, folder: Path) -> list[FigureFile]:
    """Per attribute: the plain strip (rows = models) and the conditional comparison."""
    figures = []
    steps = [f"{s:+g}" if s else "0" for s in result.steps]
    columns = ["input"] + steps
    for attribute in result.attributes:
        face = result.strip_faces[attribute][None]
        rows = [np.concatenate([face, m.strips[(attribute, "unconditional")]])
                for m in result.models]
        figure = new_figure(PAGE_WIDTH * 0.8, 0.8 + 0.8 * len(rows) * 0.8 * 8 / len(columns))
        image_panel(figure, figure.subplots(), rows, [m.name for m in result.models], columns,
                    f"{attribute}: moving along its boundary (step = distance in latent units)")
        figures.append(save(figure, folder, f"strip_{file_name(attribute)}",
                            f"{attribute}: one face edited along each model's {attribute} "
                            f"boundary, steps {result.steps[0]:g} to {result.steps[-1]:g}; the "
                            f"face has no {attribute} by the classifier, so positive steps "
                            f"should add it and nothing else."))
        held = result.held.get(attribute, [])
        if not held:
            continue
        rows, labels = [], []
        for model in result.models:
            for mode in ("unconditional", "conditional"):
                rows.append(np.concatenate([face, model.strips[(attribute, mode)]]))
                labels.append(f"{model.name}\n{'plain' if mode == 'unconditional' else 'held'}")
        figure = new_figure(PAGE_WIDTH * 0.8, 0.8 + 0.8 * len(rows) * 0.8 * 8 / len(columns))
        image_panel(figure, figure.subplots(), rows, labels, columns,
                    "\n".join(textwrap.wrap(f"{attribute}: plain vs holding "
                                             f"{', '.join(held)}", 60)))
        figures.append(save(figure, folder, f"conditional_{file_name(attribute)}",
                            f"{attribute} edited along the plain boundary and along the "
                            f"conditional direction that holds {', '.join(held)} "
                            f"(their boundaries projected out)."))
    return figures


def side_effect_figure(result, steps: pd.DataFrame, folder: Path) -> FigureFile:
    """One panel per attribute: side effects against the target change, a curve per model and
    mode through the steps."""
    import matplotlib
    from matplotlib.ticker import MaxNLocator

    columns = min(3, len(result.attributes))
    rows = math.ceil(len(result.attributes) / columns)
    figure = new_figure(PAGE_WIDTH, 2.1 * rows + 0.4)
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    colors = matplotlib.colormaps["tab10"]
    for axis, attribute in zip(axes, result.attributes):
        for index, model in enumerate(result.models):
            for mode, style in MODE_STYLES.items():
                part = steps[(steps["model"] == model.name) & (steps["attribute"] == attribute)
                             & (steps["mode"] == mode)]
                if part.empty:
                    continue
                axis.plot(part["target_change"], part["side_effects"], style, marker="o",
                          markersize=2.5, color=colors(index % 10),
                          label=f"{model.name}" + (" (held)" if mode == "conditional" else ""))
        axis.set_title(attribute)
        axis.xaxis.set_major_locator(MaxNLocator(4))
        axis.set_xlabel(f"change of P({attribute})")
        axis.set_ylabel("mean |change| of the others")
        axis.axvline(0, color="0.8", linewidth=0.6)
    for axis in axes[len(result.attributes):]:
        axis.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncol=min(4, len(labels)),
                  fontsize=6.5)
    return save(figure, folder, "side_effects",
                "Target change against side effects: each curve walks one model's edit from "
                "the most negative step (left) to the most positive (right); solid = plain "
                "boundary, dashed = other attributes held. A clean edit moves far along x and stays "
                "low.")


def cosine_figure(result, folder: Path) -> FigureFile:
    """Heatmaps of the cosine similarities between each model's attribute boundaries."""
    count = len(result.models)
    columns = min(3, count)
    rows = math.ceil(count / columns)
    width = min(PAGE_WIDTH, columns * (0.35 * len(result.attributes) + 1.0) + 0.8)
    panel = (width - 0.8) / columns  # square heatmaps, plus room for the rotated labels
    figure = new_figure(width, rows * (panel + 0.2) + 0.3)
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    image = None
    for axis, model in zip(axes, result.models):
        image = axis.imshow(model.cosine, vmin=-1, vmax=1, cmap="RdBu_r")
        ticks = range(len(result.attributes))
        axis.set_xticks(ticks, result.attributes, rotation=60, ha="right", fontsize=6)
        axis.set_yticks(ticks, result.attributes, fontsize=6)
        for i in ticks:
            for j in ticks:
                axis.text(j, i, f"{model.cosine[i, j]:.1f}", ha="center", va="center",
                          fontsize=5, color="white" if abs(model.cosine[i, j]) > 0.6 else "k")
        axis.set_title(model.name, fontsize=8)
    for axis in axes[count:]:
        axis.set_visible(False)
    figure.colorbar(image, ax=axes[:count].tolist(), shrink=0.6, label="cosine similarity")
    return save(figure, folder, "cosine",
                "Cosine similarity between the attribute boundaries of each model: near 0 "
                "off the diagonal means the attributes are separate directions; large values "
                "mean editing one moves the other.")


def unlabelled_figures(result, folder: Path) -> list[FigureFile]:
    """Samples, traversals and reconstructions of models studied without labels."""
    from disentangle.navigation.study import TRAVERSAL_VALUES

    figures = []
    figure = new_figure(PAGE_WIDTH, 0.6 + PAGE_WIDTH / max(len(result.models), 1))
    axes = np.atleast_1d(figure.subplots(1, len(result.models), squeeze=False)).ravel()
    for axis, model in zip(axes, result.models):
        image_panel(figure, axis, [model.samples[i:i + 6] for i in range(0, 36, 6)],
                    [""] * 6, [""] * 6, model.name)
    figures.append(save(figure, folder, "samples", "Faces decoded from random codes of the "
                                                   "prior N(0, I), per model."))
    values = [f"{v:g}" for v in TRAVERSAL_VALUES]
    for model in result.models:
        count = len(model.traversal_dims)
        rows = [model.traversals[i * len(values):(i + 1) * len(values)] for i in range(count)]
        figure = new_figure(PAGE_WIDTH * 0.6, 0.6 + count * PAGE_WIDTH * 0.6 / len(values))
        image_panel(figure, figure.subplots(), rows, [f"z{d}" for d in model.traversal_dims],
                    values, f"{model.name}: latent traversals")
        figures.append(save(figure, folder, f"traversals_{file_name(model.name)}",
                            f"{model.name}: each row sets one latent dimension to "
                            f"{values[0]} .. {values[-1]} around "
                            + ("the first reference image's code (dimensions ordered by their "
                               "spread over the reference images)" if result.reference
                               is not None else "the prior mean")))
    if result.reference is not None:
        shown = result.reference[:10]
        rows = [shown] + [m.reconstructions[:10] for m in result.models]
        figure = new_figure(PAGE_WIDTH, 0.6 + len(rows) * PAGE_WIDTH / 10)
        image_panel(figure, figure.subplots(), rows,
                    ["reference"] + [m.name for m in result.models], [""] * len(shown),
                    "Reconstructions of the reference images")
        figures.append(save(figure, folder, "reconstructions",
                            "The first reference images (top) and each model's reconstruction "
                            "of them (encoder mean, decoded)."))
    return figures


# -- the report section ------------------------------------------------------------------------
def markdown_table(frame: pd.DataFrame, formats: dict[str, str]) -> list[str]:
    header = list(frame.columns)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in frame.iterrows():
        cells = []
        for column in header:
            value = row[column]
            if isinstance(value, float) and math.isnan(value):
                cells.append("–")
            elif column in formats and isinstance(value, (int, float, np.floating)):
                cells.append(format(value, formats[column]))
            else:
                cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def classifier_note(result, attributes) -> str:
    """"classifier on held-out images: accuracy 0.97-0.99, AUC 0.99-1.00 (Smiling ...)"."""
    accuracy = [result.classifier.accuracy(a) for a in attributes]
    auc = [result.classifier.auc(a) for a in attributes]
    worst = attributes[int(np.argmin(accuracy))]
    return (f"classifier on {result.classifier.validation['source']}: accuracy "
            f"{min(accuracy):.3f}–{max(accuracy):.3f}, AUC {np.nanmin(auc):.3f}–"
            f"{np.nanmax(auc):.3f} over {', '.join(attributes)} (least accurate: {worst})")


def verdicts(result, frames: dict[str, pd.DataFrame]) -> list[str]:
    """The section's verdicts, each with the numbers and the classifier validation it rests on.

    Cleanest latent space: among models whose edits flip the attribute for at least
    ``MIN_SUCCESS`` of the faces on average, the lowest pooled side-effect ratio; it is named only
    when it beats the next by ``MIN_MARGIN`` (relative), else the result is a tie. Per
    attribute, the same rule names a winner. Conditional editing helps a model when its mean
    pooled side-effect ratio falls by ``MIN_MARGIN`` with the other attributes held."""
    summary, models = frames["summary"], frames["models"]
    note = classifier_note(result, result.attributes)
    lines = []
    working = models[models["success_rate"] >= MIN_SUCCESS].sort_values("side_effect_ratio")
    if working.empty:
        lines.append(f"**No latent space edits reliably**: no model flips the attributes for "
                     f"{MIN_SUCCESS:.0%} of the faces on average (best success rate "
                     f"{models['success_rate'].max():.2f}). Train longer or edit with larger "
                     f"--steps. ({note})")
    else:
        best = working.iloc[0]
        if len(working) > 1:
            second = working.iloc[1]
            margin = 1 - best["side_effect_ratio"] / max(second["side_effect_ratio"], 1e-9)
            if margin >= MIN_MARGIN:
                lines.append(
                    f"**{best['model']} edits most cleanly**: pooled side-effect ratio "
                    f"{best['side_effect_ratio']:.3f} against {second['side_effect_ratio']:.3f} "
                    f"for the next ({second['model']}), at success rate "
                    f"{best['success_rate']:.2f}. ({note})")
            else:
                lines.append(
                    f"**Too close to call**: {best['model']} ({best['side_effect_ratio']:.3f}) "
                    f"and {second['model']} ({second['side_effect_ratio']:.3f}) differ by less "
                    f"than {MIN_MARGIN:.0%} in side-effect ratio. ({note})")
        else:
            lines.append(f"**{best['model']} is the only model whose edits work** (success "
                         f"rate {best['success_rate']:.2f}, side-effect ratio "
                         f"{best['side_effect_ratio']:.3f}). ({note})")
        failing = models[models["success_rate"] < MIN_SUCCESS]
        if len(failing):
            lines.append("Edits that mostly fail (success rate below "
                         f"{MIN_SUCCESS:.0%}): " + ", ".join(
                             f"{r['model']} ({r['success_rate']:.2f})"
                             for _, r in failing.iterrows()) + ".")
    plain = summary[summary["mode"] == "unconditional"]
    wins = []
    for attribute in result.attributes:
        rows = plain[(plain["attribute"] == attribute)
                     & (plain["success_rate"] >= MIN_SUCCESS)].sort_values("side_effect_ratio")
        accuracy = result.classifier.accuracy(attribute)
        if rows.empty:
            wins.append(f"{attribute}: no model's edit works (classifier accuracy "
                        f"{accuracy:.3f})")
        elif len(rows) == 1 or (1 - rows.iloc[0]["side_effect_ratio"]
                                / max(rows.iloc[1]["side_effect_ratio"], 1e-9)) >= MIN_MARGIN:
            wins.append(f"{attribute}: {rows.iloc[0]['model']} (ratio "
                        f"{rows.iloc[0]['side_effect_ratio']:.3f}; classifier accuracy "
                        f"{accuracy:.3f})")
        else:
            wins.append(f"{attribute}: tie between {rows.iloc[0]['model']} and "
                        f"{rows.iloc[1]['model']} (classifier accuracy {accuracy:.3f})")
    lines.append("Cleanest edit per attribute: " + "; ".join(wins) + ".")
    aligned = models.sort_values("axis_alignment", ascending=False).iloc[0]
    line = (f"Most axis-aligned boundaries: {aligned['model']} (mean share of a boundary on "
            f"one latent dimension {aligned['axis_alignment']:.2f})")
    if models["mean_abs_cosine"].notna().any():
        separate = models.sort_values("mean_abs_cosine").iloc[0]
        line += (f"; most separate attributes: {separate['model']} (mean |cosine| between "
                 f"boundaries {separate['mean_abs_cosine']:.2f})")
    lines.append(line + ".")
    if models["conditional_side_effect_ratio"].notna().any():
        helped = [f"{r['model']} ({r['side_effect_ratio']:.3f} → "
                  f"{r['conditional_side_effect_ratio']:.3f}, success "
                  f"{r['success_rate']:.2f} → {r['conditional_success_rate']:.2f})"
                  for _, r in models.iterrows()]
        better = int((models["conditional_side_effect_ratio"]
                      <= (1 - MIN_MARGIN) * models["side_effect_ratio"]).sum())
        lines.append(f"Holding the other edited attributes (conditional directions) lowers the "
                     f"side-effect ratio by at least {MIN_MARGIN:.0%} for {better} of "
                     f"{len(models)} models: " + "; ".join(helped) + ".")
    return lines


def section(result, frames: dict[str, pd.DataFrame], figures: list[FigureFile],
            prefix: str) -> list[str]:
    """The markdown section (figure links relative to the report's folder via ``prefix``)."""
    settings = result.settings
    lines = [SECTION_START, "## Face navigation: editing attributes in each latent space", ""]
    lines.append(f"Data: {result.data}. Models: " + "; ".join(
        f"`{m.name}` ({m.description})" for m in result.models) + ".")
    lines.append("")
    if not result.labelled:
        lines += [f"- {note}" for note in result.notes] + [""]
        for figure in figures:
            lines += [f"![{figure.name}]({prefix}{figure.png.name})", "",
                      f"*{figure.caption}*", ""]
        return lines + [SECTION_END]
    ranked_by = ("the classifier's probability" if settings.score == "probability"
                 else "the labels")
    lines += [
        f"Boundaries as InterfaceGAN: a linear SVM on the encoder means of "
        f"{settings.num_labelled:,} labelled faces, trained on the {settings.fraction:.0%} "
        f"most confident on each side by {ranked_by}; "
        f"{settings.num_faces} other faces edited by steps "
        f"{', '.join(f'{s:g}' for s in result.steps)} along each boundary (plain) and along "
        f"it with the other edited attributes projected out (held). Success rate: share of "
        f"faces whose classified attribute flips at the farthest step towards the other side. "
        f"Side-effect ratio: mean |change| of the other {len(result.scored) - 1} scored "
        f"attributes' probabilities / mean |change| of the target's (lower is cleaner; per "
        f"model pooled over the attributes: mean side effects / mean target change; – where "
        f"the target moved by less than 0.05). Axis "
        f"alignment: max_i w_i² / |w|² of the boundary normal w (1 = one latent dimension). "
        f"Kept in reconstruction: how often the classifier finds an edited face's true "
        f"attribute (the {'generator' if settings.dataset == 'faces' else 'dataset'}'s label) "
        f"in its reconstruction; an attribute the model loses cannot be edited. "
        f"Each row is one trained model: differences between rows include seed-to-seed "
        f"variation, which one model per setting cannot separate out.",
        "", "### Verdicts", ""]
    lines += [f"- {line}" for line in verdicts(result, frames)]
    models = frames["models"][["model", "success_rate", "side_effect_ratio",
                               "conditional_success_rate", "conditional_side_effect_ratio",
                               "reconstruction_accuracy", "pixel_change", "mean_abs_cosine",
                               "axis_alignment", "svm_validation_accuracy",
                               "svm_remaining_accuracy"]]
    models.columns = ["model", "success", "side-effect ratio", "success (held)",
                      "side-effect ratio (held)", "kept in reconstruction", "pixel change",
                      "mean abs cosine", "axis alignment", "SVM acc. (val)", "SVM acc. (rest)"]
    lines += ["", "### Per model (mean over the edited attributes)", ""]
    lines += markdown_table(models, {c: ".3f" for c in models.columns if c != "model"})
    plain = frames["summary"][frames["summary"]["mode"] == "unconditional"]
    success = plain.pivot(index="model", columns="attribute", values="success_rate")
    ratio = plain.pivot(index="model", columns="attribute", values="side_effect_ratio")
    cells = success.copy().astype(object)
    for model in success.index:
        for attribute in success.columns:
            value = ratio.loc[model, attribute]
            cells.loc[model, attribute] = (f"{success.loc[model, attribute]:.2f} / "
                                           + ("–" if math.isnan(value) else f"{value:.2f}"))
    cells = cells.reindex([m.name for m in result.models])[result.attributes].reset_index()
    lines += ["", "### Per attribute: success rate / side-effect ratio (plain edits)", ""]
    lines += markdown_table(cells, {})
    classifier = frames["classifier"]
    shown = classifier[classifier["edited"] | classifier["scored"]][
        ["attribute", "accuracy", "auc", "positives", "count", "edited"]]
    lines += ["", f"### The attribute classifier ({result.classifier.validation['source']})",
              ""]
    lines += markdown_table(shown, {"accuracy": ".3f", "auc": ".3f"})
    lines += ["", "### Figures", ""]
    for figure in figures:
        lines += [f"![{figure.name}]({prefix}{figure.png.name})", "", f"*{figure.caption}* "
                  f"([PDF]({prefix}{figure.pdf.name}))", ""]
    return lines + [SECTION_END]


# -- writing -----------------------------------------------------------------------------------
def write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.partial-{os.getpid()}")
    temporary.write_text(text)
    os.replace(temporary, path)


def merged_report(existing: str | None, section_lines: list[str]) -> str:
    """``existing`` report with its navigation section replaced (or the section appended); a
    report of its own when there is none."""
    block = "\n".join(section_lines)
    if existing is None:
        return "# Face navigation study\n\n" + block + "\n"
    if SECTION_START in existing and SECTION_END in existing:
        head, rest = existing.split(SECTION_START, 1)
        return head + block + rest.split(SECTION_END, 1)[1]
    return existing.rstrip("\n") + "\n\n" + block + "\n"


def write_navigation(result, out: str | Path) -> dict[str, Path]:
    """Write figures, tables, navigation.md and report.md into ``out`` (module docstring).
    Returns the paths of navigation.md, report.md and the navigation/ folder."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    staging = out / f".navigation.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        frames = tables(result)
        for name, frame in frames.items():
            frame.to_csv(staging / f"{name}.csv", index=False)
        if result.labelled:
            np.savez(staging / "boundaries.npz", **{
                f"{m.name}/{a}/{mode}": direction for m in result.models
                for a in result.attributes
                for mode, direction in (("unconditional", m.boundaries[a].normal),
                                        ("conditional", m.conditional.get(a)))
                if direction is not None})
            figures = strip_figures(result, staging)
            figures.append(side_effect_figure(result, frames["steps"], staging))
            figures.append(cosine_figure(result, staging))
        else:
            figures = unlabelled_figures(result, staging)
        lines = section(result, frames, figures, "navigation/")
        final = out / "navigation"
        old = out / f".navigation.old-{os.getpid()}"
        if final.exists():
            final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    navigation_md = out / "navigation.md"
    write_atomic(navigation_md, "# Face navigation study\n\n" + "\n".join(lines) + "\n")
    report = out / "report.md"
    write_atomic(report, merged_report(report.read_text() if report.exists() else None, lines))
    return {"navigation": navigation_md, "report": report, "folder": final}
