"""A sweep's results as tidy pandas tables, read without a running Ray.

``reading`` reads Tune's trial folders (or a results table written by ``vae-study analyze``),
``identity`` says which model each row is, ``tables`` builds and writes the tables and
chooses which preset's scores they compare. The names below are what the rest of the project
uses; ``PAPER_PREFIX`` is ``disentangle.result_names``'.
"""

from analysis.results.identity import (
    hyperparameter_symbol,
    identity_columns,
    in_setting_order,
    model_name,
)
from analysis.results.reading import load_results, trial_members
from analysis.results.tables import (
    SweepResults,
    final_epochs,
    metric_columns,
    model_metrics,
    preset_column,
    results_table,
    save_tables,
    score_column,
    score_preset,
    summarize,
)
from disentangle.result_names import PAPER_PREFIX

__all__ = ["PAPER_PREFIX", "SweepResults", "final_epochs", "hyperparameter_symbol",
           "identity_columns", "in_setting_order", "load_results", "metric_columns",
           "model_metrics", "model_name", "preset_column", "results_table", "save_tables",
           "score_column", "score_preset", "summarize", "trial_members"]
