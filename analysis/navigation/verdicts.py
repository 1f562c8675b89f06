"""The navigation study's verdicts: which setting's latent space edits faces most cleanly.

The rules, in the order they apply (each is stated next to its verdict in the report):

1. **Only attributes the classifier recognises are judged**: held-out ROC AUC at least
   ``classifier.MIN_AUC`` and the lower end of its 95% interval above 0.5. A classifier at
   chance gives no verdict, whatever the edits did.
2. **Only settings with at least ``min_seeds`` seeds are compared**; fewer are listed, not
   judged.
3. **Only settings whose reconstructions keep the attribute are compared on it**: every seed's
   reconstructions of the edited faces classified better than always guessing the commoner
   true label (``analysis.navigation.measures``); the edits are judged on decoded faces.
4. **Edits are compared at the same change of the target attribute** (the matched change Δ),
   by their side effects there (mean |change| of the other recognised attributes); a setting
   whose edit does not reach Δ for every seed is listed as such, not compared on it.
5. **A winner is called only when it is shown lower**: Welch's interval of every other
   setting's mean over seeds minus the lowest one's lies above 0, at Bonferroni's level over
   the k compared settings (so k equal settings give a false winner at most 2.5% of the
   time); else the verdict names the settings not shown above it and calls no winner.

Per attribute, and overall over the judged attributes that every compared setting reaches and
keeps (each seed's mean over those attributes). Conditional editing is judged per setting by
the paired difference (conditional − plain) over the same attributes, Student's t over its
seeds: it helps when the whole interval is below 0, hurts when above, else is inconclusive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.navigation.measures import SettingEdits, cleanest, estimate, setting_edits

ALL = "all judged attributes"


@dataclass
class Judgement:
    """What the verdicts rest on: the estimates table and the verdict lines."""

    estimates: pd.DataFrame  # setting, seeds, compared, attribute, mode, estimate, low, high
    lines: list[str]
    judged: list[str]        # attributes the classifier recognises
    overall: list[str]       # attributes of the overall verdict
    compared: list[str]      # settings with enough seeds


def cell(point: float, low: float, high: float) -> str:
    """"0.031 [0.024, 0.040]"; "not reached" for an edit that never reaches Δ."""
    if not np.isfinite(point):
        return "not reached"
    return f"{point:.3f} [{low:.3f}, {high:.3f}]"


def estimates_table(result, edits: list[SettingEdits], judged: list[str], overall: list[str],
                    compared: list[str]) -> pd.DataFrame:
    """One row per setting, edited attribute (and ``ALL``) and mode."""
    rows = []
    for setting in edits:
        modes = sorted({mode for _, mode in setting.points}, key=["unconditional",
                                                                   "conditional"].index)
        for mode in modes:
            groups = [(a, [a]) for a in result.attributes]
            groups += [(ALL, overall)] if overall else []
            for name, attributes in groups:
                reached = all(setting.reached(a, mode) for a in attributes)
                point, low, high = (estimate(setting.per_seed(attributes, mode),
                                             result.settings.confidence) if reached
                                    else (np.inf, np.inf, np.inf))
                rows.append({"setting": setting.name, "seeds": setting.seeds,
                             "compared": setting.name in compared, "attribute": name,
                             "judged": name == ALL or name in judged, "mode": mode,
                             "reached": reached,
                             "kept": all(a in setting.kept for a in attributes),
                             "estimate": point, "low": low, "high": high})
    return pd.DataFrame(rows)


def comparison_line(what: str, attributes: list[str], edits: list[SettingEdits],
                    table: pd.DataFrame, delta: float, confidence: float, label: str = "") -> str:
    """The verdict of one attribute (or ``ALL``, shown as ``label``) over the compared
    settings' plain edits (``edits``)."""
    rows = table[(table["attribute"] == what) & (table["mode"] == "unconditional")
                 & table["compared"]]
    unreached = rows[~rows["reached"]]["setting"].tolist()
    lost = rows[rows["reached"] & ~rows["kept"]]["setting"].tolist()
    judged = rows[rows["reached"] & rows["kept"]]
    estimates = {r.setting: (r.estimate, r.low, r.high) for r in judged.itertuples()}
    values = {s.name: s.per_seed(attributes, "unconditional") for s in edits
              if s.name in estimates}
    best, overlapping = cleanest(values, confidence)
    note = (f" Not reaching a change of {delta:g}: {', '.join(unreached)}." if unreached
            else "")
    note += (f" Reconstructions not classified better than the commoner label: "
             f"{', '.join(lost)}." if lost else "")
    what = label or what
    if len(estimates) < 2:
        return (f"**{what}: no comparison**: fewer than two compared settings reach a change "
                f"of {delta:g} with reconstructions that keep the attribute.{note}")
    ranked = sorted(estimates, key=lambda name: estimates[name][0])
    numbers = "; ".join(f"{name} {cell(*estimates[name])}" for name in ranked)
    if best is not None:
        return (f"**{what}: {best} edits most cleanly** (lower than every other, Welch): "
                f"{numbers}.{note}")
    return (f"**{what}: no winner**: {ranked[0]} is not shown lower than "
            f"{', '.join(overlapping)}: {numbers}.{note}")


def conditional_lines(edits: list[SettingEdits], overall: list[str], compared: list[str],
                      confidence: float) -> list[str]:
    """Per compared setting: does holding the other attributes lower the side effects?"""
    if not overall:
        return []
    parts = []
    for setting in edits:
        if setting.name not in compared or not all(
                setting.reached(a, mode) for a in overall
                for mode in ("unconditional", "conditional")):
            continue
        point, low, high = estimate(setting.per_seed(overall, "conditional",
                                                     minus="unconditional"), confidence)
        word = "lowers them" if high < 0 else "raises them" if low > 0 else "inconclusive"
        parts.append(f"{setting.name} {point:+.3f} [{low:+.3f}, {high:+.3f}] ({word})")
    if not parts:
        return []
    return ["Holding the other edited attributes (conditional directions), change of the "
            "matched side effects over " + ", ".join(overall) + ": " + "; ".join(parts) + "."]


def judge(result) -> Judgement:
    """Every verdict of the study (see the module docstring)."""
    settings, classifier = result.settings, result.classifier
    edits = setting_edits(result)
    judged = [a for a in result.attributes if classifier.recognised(a)]
    compared = [s.name for s in edits if s.seeds >= settings.min_seeds]
    lines = [f"{a}: **no verdict**: the classifier is not clearly better than chance on "
             f"held-out images ({classifier.describe(a)})"
             for a in result.attributes if a not in judged]
    lines += [f"{s.name}: not compared ({s.seeds} seed{'s' * (s.seeds != 1)}; a verdict "
              f"needs {settings.min_seeds})" for s in edits if s.name not in compared]
    comparable = [s for s in edits if s.name in compared] or edits
    overall = [a for a in judged if all(s.judged(a) for s in comparable)]
    table = estimates_table(result, edits, judged, overall, compared)
    if not judged:
        lines.insert(0, "**No verdict at all**: the classifier recognises none of the edited "
                        "attributes on held-out images, so no edit can be judged.")
    elif len(compared) < 2:
        lines.insert(0, f"**No verdict**: fewer than two settings have {settings.min_seeds} "
                        f"seeds; train more seeds (e.g. `--set 'seeds=[0,1,2]'`).")
    else:
        delta, confidence = result.plan.target_change, settings.confidence
        if overall:
            lines.append(comparison_line(ALL, overall, edits, table, delta, confidence,
                                         f"Overall ({', '.join(overall)})"))
        else:
            lines.append("**No overall verdict**: no judged attribute's edit reaches the "
                         f"matched change {delta:g}, with reconstructions that keep it, in "
                         f"every compared setting.")
        lines += [comparison_line(a, [a], edits, table, delta, confidence) for a in judged]
        lines += conditional_lines(edits, overall, compared, confidence)
    return Judgement(table, lines, judged, overall, compared)
