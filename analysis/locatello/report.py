"""The report's section on Locatello et al. 2019's study: which kinds, settings and metrics
the sweep has, and the numbers behind the figures (rank correlations, variance shares,
selection transfer) as tables. The verdicts, with their intervals, are in the report's list of
claims; this section gives the matrices they summarise."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.locatello.claims import decomposition, describe_design, selection_design
from analysis.locatello.figures import rank_correlations
from analysis.locatello.statistics import COMPONENTS
from analysis.markdown import rows_table
from analysis.verdicts.framework import Rule
from disentangle import kinds


def number(value: float) -> str:
    return "–" if not np.isfinite(value) else f"{value:.2f}"


def matrix_lines(matrix: np.ndarray, rows: list[str], columns: list[str], corner: str
                 ) -> list[str]:
    return rows_table([corner] + columns, [[row] + [number(v) for v in values]
                                               for row, values in zip(rows, matrix)])


def study_lines(table: pd.DataFrame, rule: Rule = Rule()) -> list[str]:
    """Markdown lines of the section (see the module docstring)."""
    if table.empty:
        return ["No finished model at a common step: nothing to compare.", ""]
    present = set(table["model"])
    trained = [f"{kind.name} ({table.loc[table['model'] == key, 'setting'].nunique()} "
               f"setting(s), {int((table['model'] == key).sum())} models)"
               for key, kind in kinds.KINDS.items() if key in present]
    untrained = [kind.name for key, kind in kinds.KINDS.items() if key not in present]
    lines = [f"Locatello et al. 2019 trained six objectives, each over six hyperparameter "
             f"values and many seeds, and scored every model with every metric. This sweep: "
             f"{', '.join(trained)}" + (f"; not trained: {', '.join(untrained)}."
                                        if untrained else "."), ""]
    correlations = rank_correlations(table)
    if len(correlations.columns) >= 2:
        lines += [f"**Rank correlations** (Spearman's ρ over the {len(table)} models; figure "
                  f"`locatello_rank_correlations`):", ""]
        lines += matrix_lines(correlations.to_numpy(), list(correlations.index),
                              list(correlations.columns), "ρ") + [""]
    found = decomposition(table, rule)
    if found.possible:
        shares = found.estimate()
        lines += [f"**Shares of each metric's variance** (point estimates; {describe_design(found)}"
                  f"; the intervals are under the verdict):", ""]
        lines += matrix_lines(shares, [m.name for m in found.metrics], list(COMPONENTS),
                              "metric") + [""]
    selection = selection_design(table, rule)
    if selection.pairs and selection.kinds:
        rows = [s.arrow for s in selection.scores]
        columns = [m.name for m in selection.metrics]
        for title, matrix in selection.shown().items():
            lines += [f"**Selection transfer, choosing {title}**: the probability that the one "
                      f"with the best score of the row (↓: the lowest) beats a random other one "
                      f"on the column's metric (0.5 is chance):", ""]
            lines += matrix_lines(matrix, rows, columns, "selected by") + [""]
    return lines
