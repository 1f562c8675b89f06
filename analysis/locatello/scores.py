"""The scores Locatello et al. 2019 compare: the disentanglement metrics (every registered
metric's headline score: BetaVAE, FactorVAE, MIG, DCI disentanglement, SAP, Modularity) and the
unsupervised scores a practitioner could select models by without labels (reconstruction
error, KL, the large-sample total correlation), each read in the score preset that
``analysis.selection`` chose for the table (``analysis.results.preset_column``)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.results import preset_column
from disentangle.metrics.registry import main_scores

#: Unsupervised scores and how a model is selected by them: all three lower-is-better (the
#: reconstruction error; the KL that every objective's regulariser pushes down; the total
#: correlation that the disentangling objectives penalise).
UNSUPERVISED = {"reconstruction": "reconstruction error", "kl": "KL",
                "tc_large_sample": "total correlation"}
#: Shorter names than the registry's where a headline score is one of several a metric gives.
SHORT_NAMES = {"dci_disentanglement": "DCI disentanglement", "modularity_score": "Modularity"}


@dataclass(frozen=True)
class Score:
    """One score: its result key, its column in the table, its name, and +1 when higher is
    better (the metrics) or -1 when lower is (the unsupervised scores)."""

    key: str
    column: str
    name: str
    sign: int

    @property
    def arrow(self) -> str:
        """``MIG`` / ``reconstruction error ↓``: the name with its selection direction."""
        return self.name if self.sign > 0 else f"{self.name} ↓"


def metric_keys() -> dict[str, str]:
    """Each disentanglement metric's headline result key -> its name, in registry order."""
    return {key: SHORT_NAMES.get(key, name) for key, name in main_scores().items()
            if key not in UNSUPERVISED}


def reported(table: pd.DataFrame, unsupervised: bool = False) -> list[Score]:
    """The metrics (or, with ``unsupervised``, the unsupervised scores) that some model of
    ``table`` reports."""
    names = UNSUPERVISED if unsupervised else metric_keys()
    scores = [Score(key, preset_column(table, key), name, -1 if unsupervised else 1)
              for key, name in names.items()]
    return [s for s in scores if s.column in table and table[s.column].notna().any()]


def complete(table: pd.DataFrame, scores: list[Score]) -> tuple[list[Score], list[str]]:
    """The scores every model of ``table`` reports, and a line for each one left out."""
    kept, notes = [], []
    for score in scores:
        count = int(table[score.column].notna().sum())
        if count == len(table):
            kept.append(score)
        else:
            notes.append(f"{score.name} ({score.column}) reported for {count} of {len(table)} "
                         f"models: left out")
    return kept, notes


def absent_metrics(table: pd.DataFrame) -> list[str]:
    """The registered metrics no model of ``table`` reports."""
    present = {score.key for score in reported(table)}
    return [name for key, name in metric_keys().items() if key not in present]
