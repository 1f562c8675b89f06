"""Markdown tables for the reports, from pandas tables: one writer for every section."""

from __future__ import annotations

import math
import numbers

import pandas as pd


def markdown_table(frame: pd.DataFrame, formats: dict[str, str] | None = None) -> list[str]:
    """``frame`` as markdown lines. ``formats`` maps columns to format specs for their
    numbers; NaN is "–"; a ``|`` inside a cell (``KL(q(z|x) || p(z))``) is escaped."""
    formats = formats or {}

    def cell(column, value) -> str:
        if isinstance(value, float) and math.isnan(value):
            return "–"
        if column in formats and isinstance(value, numbers.Number):
            return format(value, formats[column])
        return str(value).replace("|", "\\|")

    def line(cells) -> str:
        return "| " + " | ".join(cells) + " |"

    header = line(cell(None, column) for column in frame.columns)
    rows = [line(cell(column, value) for column, value in zip(frame.columns, row))
            for row in frame.itertuples(index=False)]
    return [header, "|" + "---|" * frame.shape[1]] + rows


def rows_table(header: list[str], rows: list[list]) -> list[str]:
    """Rows of cells under ``header`` as markdown lines."""
    return markdown_table(pd.DataFrame(rows, columns=header))
