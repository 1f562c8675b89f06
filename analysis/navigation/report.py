"""The navigation study written out: figures, tables, its report section, and report.md.

``write_navigation(result, out)`` takes ``study.navigation.workflow.run_study``'s result and
writes into ``out``:

  navigation/      figures (PNG and PDF), the tables as CSV, boundaries.npz (every direction)
  navigation.md    the section: method with the counts actually used, verdicts, tables
  report.md        the section appended to the report found there (an earlier navigation
                   section is replaced), else a report of its own

``navigation/`` is built in a staging folder and swapped in whole. ``carry_navigation`` keeps
a navigation study when ``vae-study analyze`` rewrites the analysis folder it was added to.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.markdown import markdown_table
from analysis.navigation.figures import labelled_figures, unlabelled_figures
from analysis.navigation.measures import group_settings
from analysis.navigation.tables import tables
from analysis.navigation.verdicts import ALL, cell, judge
from disentangle.files import staged_folder, write_text
from disentangle.navigation.validation import MIN_AUC

SECTION_START = "<!-- navigation:start -->"
SECTION_END = "<!-- navigation:end -->"
TITLE = "## Face navigation: which latent space edits faces most cleanly?"
SECTION_FILE = "navigation.md"
FOLDER = "navigation"


def method_lines(result) -> list[str]:
    """How the study was run, with the counts it actually used."""
    settings, plan, counts = result.settings, result.plan, result.counts
    validation = result.classifier.validation
    per_side = [b.num_per_side for m in result.models for b in m.boundaries.values()]
    seeds = [len(models) for models in group_settings(result).values()]
    ranked_by = "their 0/1 labels" if plan.by_labels else "the classifier's probability"
    return [
        f"- **Boundaries** as InterfaceGAN (Shen et al. 2020): per model and attribute, a "
        f"linear SVM on the encoder means of {counts['labelled']:,} labelled images, trained "
        f"on the {plan.fraction:.0%} most confident on each side by {ranked_by} "
        f"({span(per_side)} per side).",
        f"- **Edits**: {counts['faces']:,} other faces, each moved towards the other side of "
        f"the attribute at strengths {', '.join(f'{s:g}' for s in plan.strengths)} (units of "
        f"the prior's standard deviation) along the boundary (plain) and along it with the "
        f"other edited attributes projected out (held).",
        f"- **Matched strength**: every model's edit is read where the mean change of the "
        f"target's probability reaches {plan.target_change:g} (interpolated on the strength "
        f"grid), not at one latent distance. **Side effects** there: mean |change| of the "
        f"probabilities of the other attributes the classifier recognises ({len(plan.scored)} "
        f"recognised in all; lower is cleaner).",
        f"- **Classifier**: trained on {counts['classifier_train']:,} images for "
        f"{validation.get('steps', '?')} steps, checked on {validation['source']}.",
        f"- **Intervals**: Student's t over each setting's seeds ({settings.confidence:.0%}), "
        f"each seed's value taken over all its faces; settings are compared by Welch's "
        f"interval of their difference. Settings here have {span(seeds)} seeds; a verdict "
        f"needs {settings.min_seeds}."]


def span(values) -> str:
    """"24" or "18–24"."""
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low}–{high}"


def estimates_markdown(estimates: pd.DataFrame) -> list[str]:
    """Settings x attributes: matched side effects [interval] of the plain edits."""
    plain = estimates[estimates["mode"] == "unconditional"]
    columns = list(dict.fromkeys(plain["attribute"]))
    rows = []
    for setting, part in plain.groupby("setting", sort=False):
        values = part.set_index("attribute")
        rows.append({"setting": setting, "seeds": int(part["seeds"].iloc[0]),
                     **{("overall" if c == ALL else c):
                        cell(*values.loc[c, ["estimate", "low", "high"]]) for c in columns}})
    return markdown_table(pd.DataFrame(rows), {})


def labelled_section(result, frames, judgement, figures, prefix: str) -> list[str]:
    lines = ["### Method", ""] + method_lines(result) + ["", "### Verdicts", "",
             f"Rule: an attribute is judged only where the classifier is clearly better than "
             f"chance on held-out images (AUC at least {MIN_AUC:g} with its 95% interval above "
             f"0.5, and accuracy with its 95% interval above always guessing the commoner "
             f"class); settings are compared only with {result.settings.min_seeds} seeds or "
             f"more, at the matched change, and on an attribute only when every seed's "
             f"reconstructions of the edited faces are classified better than always guessing "
             f"the commoner true label (Wilson's 95% interval); a setting is called cleanest "
             f"only when Welch's interval of every other compared setting's mean minus its own "
             f"lies above 0, Bonferroni over the compared settings.", ""]
    lines += [f"- {line}" for line in judgement.lines]
    lines += ["", "### Matched side effects per setting [95% interval] (plain edits)", ""]
    lines += estimates_markdown(judgement.estimates)
    models = frames["models"].drop(columns=["setting"])
    lines += ["", "### Per model (plain edits; means over the attributes each reaches)", ""]
    lines += markdown_table(models, {c: ".3f" for c in models.columns
                                     if c not in ("model", "seed", "reached")})
    classifier = frames["classifier"]
    shown = classifier[classifier["edited"] | classifier["recognised"]][
        ["attribute", "accuracy", "auc", "auc_low", "auc_high", "positives", "count",
         "recognised", "edited"]]
    lines += ["", "### The attribute classifier on held-out images", ""]
    lines += markdown_table(shown, {c: ".3f" for c in ("accuracy", "auc", "auc_low",
                                                        "auc_high")})
    return lines + figure_lines(figures, prefix)


def figure_lines(figures, prefix: str) -> list[str]:
    lines = ["", "### Figures", ""]
    for figure in figures:
        lines += [f"![{figure.name}]({prefix}{figure.png.name})", "",
                  f"*{figure.caption}* ([PDF]({prefix}{figure.pdf.name}))", ""]
    return lines


def section(result, frames, judgement, figures, prefix: str) -> list[str]:
    """The markdown section (figure links relative to the report's folder via ``prefix``)."""
    groups = group_settings(result)
    models = f"{len(result.models)}: " + ", ".join(f"`{m.name}` ({m.description})"
                                                  for m in result.models)
    if result.labelled:
        models = (f"{len(result.models)} in {len(groups)} setting{'s' * (len(groups) != 1)} ("
                  + "; ".join(f"{name}: {len(members)} seed{'s' * (len(members) != 1)}"
                              for name, members in groups.items()) + ")")
    lines = [SECTION_START, TITLE, "", f"Data: {result.data}. Models: {models}."]
    if result.left_out:
        lines.append("Left out: " + "; ".join(result.left_out) + ".")
    lines += [""] + [f"- Note: {note}." for note in result.notes] + [""] * bool(result.notes)
    if result.labelled:
        lines += labelled_section(result, frames, judgement, figures, prefix)
    else:
        if result.reference is not None:
            table = frames["models"][["model", "reconstruction_error"]].rename(
                columns={"reconstruction_error": "mean squared error on the reference images"})
            lines += markdown_table(table, {table.columns[1]: ".4f"})
        lines += figure_lines(figures, prefix)
    return lines + [SECTION_END]


def merged_report(existing: str | None, block: str) -> str:
    """``existing`` report with its navigation section replaced (or ``block`` appended); a
    report of its own when there is none."""
    if existing is None:
        return "# Face navigation study\n\n" + block + "\n"
    if SECTION_START in existing and SECTION_END in existing:
        head, rest = existing.split(SECTION_START, 1)
        return head + block + rest.split(SECTION_END, 1)[1]
    return existing.rstrip("\n") + "\n\n" + block + "\n"


def write_outputs(result, staging: Path):
    """Tables, directions, figures and the judgement into ``staging``."""
    frames = tables(result)
    for name, frame in frames.items():
        frame.to_csv(staging / f"{name}.csv", index=False)
    if not result.labelled:
        return frames, None, unlabelled_figures(result, staging)
    judgement = judge(result)
    judgement.estimates.to_csv(staging / "settings.csv", index=False)
    np.savez(staging / "boundaries.npz", **{
        f"{m.name}/{a}/{mode}": direction for m in result.models for a in result.attributes
        for mode, direction in (("unconditional", m.boundaries[a].normal),
                                ("conditional", m.conditional.get(a)))
        if direction is not None})
    return frames, judgement, labelled_figures(result, frames, judgement.estimates, staging)


def write_navigation(result, out: str | Path) -> dict[str, Path]:
    """Write everything of the module docstring into ``out``; returns the paths of
    navigation.md, report.md and the navigation/ folder, and the verdict lines."""
    out = Path(out)
    with staged_folder(out / FOLDER) as staging:
        frames, judgement, figures = write_outputs(result, staging)
        lines = section(result, frames, judgement, figures, f"{FOLDER}/")
    block = "\n".join(lines)
    write_text(out / SECTION_FILE, "# Face navigation study\n\n" + block + "\n")
    report = out / "report.md"
    write_text(report, merged_report(report.read_text(encoding="utf-8")
                                       if report.exists() else None, block))
    return {"navigation": out / SECTION_FILE, "report": report, "folder": out / FOLDER,
            "verdicts": judgement.lines if judgement else []}


def carry_navigation(previous: str | Path, staging: str | Path) -> bool:
    """Keep the navigation study of the analysis folder ``previous`` in its replacement
    ``staging`` (before the swap): copy ``navigation/`` and ``navigation.md`` over and append
    the section to ``staging``'s report.md. Returns whether there was one."""
    previous, staging = Path(previous), Path(staging)
    section_file = previous / SECTION_FILE
    if not section_file.is_file() or not (previous / FOLDER).is_dir():
        return False
    text = section_file.read_text(encoding="utf-8")
    if SECTION_START not in text or SECTION_END not in text:
        return False
    block = SECTION_START + text.split(SECTION_START, 1)[1].split(SECTION_END, 1)[0] + SECTION_END
    shutil.copytree(previous / FOLDER, staging / FOLDER)
    shutil.copy2(section_file, staging / SECTION_FILE)
    report = staging / "report.md"
    write_text(report, merged_report(report.read_text(encoding="utf-8")
                                       if report.exists() else None, block))
    return True
