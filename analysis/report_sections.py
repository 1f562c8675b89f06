"""The sections of ``report.md`` beside the verdicts: which models were used and which were left
out, collapsed models, how the metrics' classifiers fitted, the papers side by side, and the
end-of-training table. Each function returns markdown lines; none prints a time or an absolute
path, so the same results table always gives the same text."""

from __future__ import annotations

import math

import pandas as pd

from analysis.claims import collapsed
from analysis.markdown import rows_table
from analysis.plotting import label
from analysis.results import PAPER_PREFIX, preset_column, score_preset
from analysis.selection import Selection
from disentangle.metrics.registry import METRICS

#: Model numbers shown after the registry's headline scores in the end-of-training table.
SUMMARY_METRICS = ["reconstruction", "kl", "active_dims", "tc_minibatch"]


def selection_lines(selection: Selection) -> list[str]:
    """The models used and those left out, with the reason for each."""
    lines = [f"The verdicts, the end-of-training table and the figures use the "
             f"{len(selection.table)} finished model(s) at {selection.describe_step()}, with "
             f"the {selection.preset} metric preset's scores for all of them. A model still "
             "training, stopped early, errored, diverged or finished at another step is left "
             "out; β-VAE β = 1 (and FactorVAE γ = 0) train the VAE's objective and count once, "
             "as the VAE, when their training configuration equals the VAE's.", ""]
    lines += [f"- {note}" for note in selection.notes]
    if selection.left_out.empty:
        return lines + ["No model was left out."]
    rows = [[row.setting, f"{row.seed:g}" if not pd.isna(row.seed) else "–", str(row.status),
             row.reason] for row in selection.left_out.itertuples(index=False)]
    return lines + [f"{len(rows)} model(s) left out:", ""] + rows_table(
        ["setting", "seed", "status", "why left out"], rows)


def collapsed_lines(table: pd.DataFrame) -> list[str]:
    """Collapsed models per setting and how the verdicts treat them."""
    mask = collapsed(table)
    if not mask.any():
        return ["No model collapsed (every model kept at least one latent dimension above the "
                "FactorVAE metric's pruning threshold)."]
    counts = table.assign(collapsed=mask).groupby("setting", sort=False)["collapsed"]
    rows = [[setting, str(int(group.sum())), str(len(group))] for setting, group in counts
            if group.any()]
    return (rows_table(["setting", "collapsed", "models"], rows)
            + ["", "A collapsed model (no latent dimension above the FactorVAE metric's pruning "
                   "threshold) scores 0 on the FactorVAE metric by its convention, while a "
                   "representation without information is at chance, 1/K, on any classifier. "
                   "The claims decided on the FactorVAE score count these models at 0 and are "
                   "decided again without them; a verdict that changes is *inconclusive*, as "
                   "its evidence says."])


def fitting_lines(table: pd.DataFrame) -> list[str]:
    """Scores whose classifier did not converge, and the metrics' warnings, per setting."""
    prefix = PAPER_PREFIX if score_preset(table) == "paper" else ""
    lines, checked = [], []
    for spec in METRICS.values():
        for key in (k for k in spec.result_keys if k.endswith("_converged")):
            column = prefix + key
            if column not in table:
                continue
            checked.append(spec.name)
            failed = table[table[column] == 0]
            if len(failed):
                lines.append(f"{spec.name} score: the classifier did not converge for "
                             f"{len(failed)} model(s) ({models_of(failed)}); read those scores "
                             f"with care")
        warning = f"{prefix}{spec.key}_warning"
        if warning in table:
            for text, group in table.dropna(subset=[warning]).groupby(warning, sort=False):
                lines.append(f"{spec.name} metric warning for {len(group)} model(s) "
                             f"({models_of(group)}): {text}")
    if not checked:
        lines.append("the sweep did not report whether the metrics' classifiers converged")
    elif not any("did not converge" in line for line in lines):
        lines.append(f"every classifier converged ({', '.join(checked)})")
    return [f"- {line}" for line in lines]


def models_of(rows: pd.DataFrame) -> str:
    """``β-VAE β=4 seeds 0, 2; VAE seed 1``."""
    parts = []
    for setting, group in rows.groupby("setting", sort=False):
        seeds = ", ".join(f"{s:g}" for s in group["seed"])
        parts.append(f"{setting} seed{'s' if len(group) > 1 else ''} {seeds}")
    return "; ".join(parts)


def papers_lines(comparison: pd.DataFrame) -> list[str]:
    """Our mean ± sd next to each value a paper reports (``analysis.papers``)."""
    if comparison.empty:
        return ["No paper value is recorded (`analysis/papers.py`)."]
    rows = []
    for row in comparison.itertuples(index=False):
        reported = f"{row.reported:.3f}" + (f" ± {row.spread:.3f}" if row.spread else "")
        reported += (" ≈" if row.approximate else "") + ("" if row.verified else " †")
        ours = (f"{row.mean:.3f} ± {row.sd:.3f} (n={row.models})" if not math.isnan(row.mean)
                else f"– (n={row.models})")
        agreement = ("–" if row.agrees is None else "yes" if row.agrees
                     else f"no: {row.why}")
        rows.append([f"{row.paper}, {row.where}", row.setting, label(row.quantity), reported,
                     ours, row.interval or "–", agreement])
    return rows_table(["paper", "setting", "quantity", "reported", "here: mean ± sd",
                           "here: 95% t interval of the mean", "paper's value in the interval?"],
                          rows) + [
        "", "≈ read off a figure. † not yet checked against the paper's text in this project "
            "(recorded from memory of the paper): treat as approximate. Why a value may differ "
            "lists what differs between the paper's setup and this sweep."]


def summary_lines(table: pd.DataFrame) -> list[str]:
    """Mean ± sd (median) over the models used, per setting."""
    if table.empty:
        return ["(no finished model at a common step)"]
    keys = [spec.main_key for spec in METRICS.values()] + SUMMARY_METRICS
    columns = [c for c in dict.fromkeys(preset_column(table, key) for key in keys)
               if c in table and table[c].notna().any()]
    rows = []
    for setting, group in table.groupby("setting", sort=False):
        cells = [setting, str(len(group))]
        for column in columns:
            values = group[column].dropna()
            digits = 2 if column in SUMMARY_METRICS else 3
            cells.append("–" if values.empty else f"{values.iloc[0]:.{digits}f}"
                         if len(values) == 1 else
                         f"{values.mean():.{digits}f} ± {values.std():.{digits}f} "
                         f"({values.median():.{digits}f})")
        rows.append(cells)
    return rows_table(["setting", "models"] + [label(c) for c in columns], rows)
