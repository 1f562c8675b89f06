"""``report.md``: the papers' claims, this sweep's evidence and verdicts, figures and tables.

``analyze(sweep_dir, out_dir)`` is the whole analysis: read the sweep (``analysis.results``),
choose the models the verdicts use (``analysis.selection``), save the tables, draw the figures
(``analysis.figures``, ``analysis.traversals``, ``analysis.locatello``), decide the verdicts
(``analysis.claims``), set the papers' numbers beside ours (``analysis.papers``) and write the
report. Everything is written into a temporary folder next to ``out_dir`` and moved into
place at the end, so an interrupted run leaves the previous analysis untouched.

The report's text depends only on the results it reads: no time stamp, no absolute path (the
sweep is named by its folder name, checkpoints and files relative to it), and every interval
is computed without resampling, so the same results give the same ``report.md`` byte for
byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.claims import all_verdicts, multiplicity
from analysis.figures import all_figures, metric_sanity
from analysis.locatello.figures import locatello_figures
from analysis.locatello.report import study_lines
from analysis.navigation.report import carry_navigation
from analysis.papers import side_by_side
from analysis.plotting import FigureFile
from analysis.report_sections import (
    collapsed_lines,
    fitting_lines,
    papers_lines,
    selection_lines,
    summary_lines,
)
from analysis.results import SweepResults, load_results, save_tables
from analysis.selection import Selection, select_models
from analysis.traversals import traversals as draw_traversals
from analysis.verdicts.framework import (
    CONFIRMED,
    CONTRADICTED,
    INCONCLUSIVE,
    NOT_ENOUGH_DATA,
    Rule,
    Verdict,
)
from disentangle.errors import UserError
from disentangle.files import staged_folder
from disentangle.metrics.sanity import run_sanity_suite

REPORT_FILE = "report.md"
VERDICT_MARKS = {CONFIRMED: "✅ confirmed", CONTRADICTED: "❌ contradicted",
                 INCONCLUSIVE: "⚪ inconclusive", NOT_ENOUGH_DATA: "⚪ not enough data"}


@dataclass
class Analysis:
    """What ``analyze`` wrote, the models it used, and the verdicts it reached."""

    out_dir: Path
    report: Path
    figures: list[FigureFile]
    tables: dict[str, Path]
    verdicts: list[Verdict]
    selection: Selection
    notes: list[str] = field(default_factory=list)


def load_sanity(source: str | Path | None) -> tuple[pd.DataFrame | None, str]:
    """The sanity-suite table and where it came from.

    ``source``: None or "off" (not run), "fast" or "paper" (run the suite now with that metric
    preset: seconds, no images), or the path of a CSV/JSON table saved from the suite.
    """
    if source is None or str(source) == "off":
        return None, "not run (off)"
    if str(source) in ("fast", "paper"):
        return pd.DataFrame(run_sanity_suite(preset=str(source))), \
            f"run now with the {source} metric preset"
    path = Path(source)
    if not path.is_file():
        raise UserError(f"--sanity {source}: no such file; give fast, paper, off, or the "
                        f"sanity.csv that `vae-study metrics sanity` wrote")
    try:
        table = pd.read_json(path) if path.suffix == ".json" else pd.read_csv(path)
    except ValueError as error:
        raise UserError(f"--sanity {path}: not a CSV/JSON table ({error})") from None
    needed = {"case", "beta_vae_score", "factor_vae_score"}
    if not needed <= set(table.columns):
        raise UserError(f"--sanity {path}: needs the columns {', '.join(sorted(needed))} of "
                        f"the sanity suite's table")
    return table, f"read from {path.name}"


def analyze(sweep_dir: str | Path, out_dir: str | Path | None = None, *,
            sanity: str | Path | None = "fast", rule: Rule = Rule(),
            traversals: bool = True) -> Analysis:
    """Read ``sweep_dir``, write tables, figures and report.md into ``out_dir``.

    ``out_dir`` defaults to ``<sweep_dir>/analysis``; an existing folder there is replaced
    only when it holds a previous report (or nothing).
    """
    results = load_results(sweep_dir)
    out_dir = Path(out_dir) if out_dir else results.root / "analysis"
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / REPORT_FILE).exists():
        raise UserError(f"{out_dir} exists and is not an earlier analysis (no {REPORT_FILE}); "
                        f"choose an empty or new folder with --out")
    sanity_table, sanity_source = load_sanity(sanity)
    with staged_folder(out_dir) as staging:
        analysis = write_analysis(results, staging, sanity_table, sanity_source, rule,
                                  traversals)
        carry_navigation(out_dir, staging)   # a navigation study run on the sweep stays
    return relocate(analysis, staging, out_dir)


def write_analysis(results: SweepResults, folder: Path, sanity_table, sanity_source: str,
                   rule: Rule, traversals: bool) -> Analysis:
    selection = select_models(results.epochs, results.trials)
    tables = save_tables(results, folder / "tables")
    comparison = side_by_side(selection.table, results.trials, rule)
    extra = {"selected": selection.table, "left_out": selection.left_out, "papers": comparison}
    if sanity_table is not None:
        extra["sanity"] = sanity_table
    for name, table in extra.items():
        table.to_csv(folder / "tables" / f"{name}.csv", index=False)
        tables[name] = folder / "tables" / f"{name}.csv"
    # Figures show the models the verdicts use; before any model finished, each one's latest.
    end = selection.table if len(selection.table) else results.final
    notes = [] if len(selection.table) or end.empty else [
        "no model has finished at a common step yet: the figures show each model's latest "
        "report, and no verdict uses them"]
    figures = all_figures(results.epochs, end, folder / "figures") if len(end) else []
    figures += locatello_figures(end, folder / "figures", rule) if len(end) else []
    if sanity_table is not None:
        figures.append(metric_sanity(sanity_table, folder / "figures"))
    if traversals and len(end):
        figure, traversal_notes = draw_traversals(end, results.trials, folder / "figures")
        figures += [figure] if figure else []
        notes += traversal_notes if figure else [f"traversals skipped: {n}"
                                                 for n in traversal_notes or ["no checkpoint"]]
    elif not traversals:
        notes.append("traversals skipped (--no-traversals)")
    notes = [note.replace(f"{results.root}/", "") for note in notes]
    verdicts = all_verdicts(selection.table, sanity_table, rule)
    report = folder / REPORT_FILE
    report.write_text(render_report(results, selection, figures, verdicts, rule, sanity_table,
                                    sanity_source, notes, comparison), encoding="utf-8")
    return Analysis(folder, report, figures, tables, verdicts, selection, notes)


def relocate(analysis: Analysis, staging: Path, out_dir: Path) -> Analysis:
    """The same Analysis with its paths moved from the staging folder to ``out_dir``."""
    def moved(path: Path) -> Path:
        return out_dir / path.relative_to(staging)

    figures = [FigureFile(f.name, moved(f.png), moved(f.pdf), f.caption)
               for f in analysis.figures]
    return Analysis(out_dir, moved(analysis.report), figures,
                    {k: moved(v) for k, v in analysis.tables.items()}, analysis.verdicts,
                    analysis.selection,
                    [n.replace(str(staging), str(out_dir)) for n in analysis.notes])


# -- the report's text -------------------------------------------------------------------------
FIGURE_FOR_CLAIM = {"higgins": "metrics_vs_hyperparameter",
                    "reconstruction_vs_beta": "metrics_vs_hyperparameter",
                    "disentanglement_vs_beta": "metrics_vs_hyperparameter",
                    "reconstruction_kept": "metrics_vs_hyperparameter",
                    "better_tradeoff": "tradeoff", "tc_vs_gamma": "metrics_vs_hyperparameter",
                    "metric_critique": "metric_sanity", "locatello": "metrics_vs_hyperparameter",
                    "locatello_objective": "locatello_variance_shares",
                    "locatello_selection": "locatello_selection_transfer"}


def render_report(results: SweepResults, selection: Selection, figures: list[FigureFile],
                  verdicts: list[Verdict], rule: Rule, sanity_table, sanity_source: str,
                  notes: list[str], comparison: pd.DataFrame) -> str:
    lines = [f"# Disentanglement study: {results.root.name}", ""]
    lines += overview(results, selection)
    lines += ["", "## Verdicts on the papers' claims", "",
              "| # | claim | source | verdict | models counted |", "|---|---|---|---|---|"]
    for number, verdict in enumerate(verdicts, 1):
        lines.append(f"| {number} | {verdict.claim} | {verdict.source} | "
                     f"{VERDICT_MARKS.get(verdict.verdict, verdict.verdict)} | "
                     f"{seeds_counted(verdict)} |")
    lines += ["", f"**How the verdicts are decided.** A claim is *confirmed* when its intervals "
                  f"support it, *contradicted* when they exclude it, *inconclusive* when they do "
                  f"neither, and *not enough data* when a setting it needs has too few models or "
                  f"a number it needs was not reported; {rule.describe()}. Each claim's own rule "
                  f"is stated in one sentence beside its verdict. The models are those listed "
                  f"under [Models used](#models-used-and-models-left-out).", "",
              multiplicity(verdicts, rule), ""]
    figure_names = {f.name for f in figures}
    for number, verdict in enumerate(verdicts, 1):
        lines += [f"### {number}. {verdict.source}", "", f"> {verdict.claim}", "",
                  f"**Verdict: {verdict.verdict}.** Rule: {verdict.rule}.", ""]
        lines += [f"- {line}" for line in verdict.evidence]
        if verdict.key == "metric_critique":
            lines.append(f"- sanity suite: {sanity_source}")
        lines += [f"- missing: {line}" for line in verdict.missing]
        if FIGURE_FOR_CLAIM.get(verdict.key) in figure_names:
            lines.append(f"- figure: [{FIGURE_FOR_CLAIM[verdict.key]}]"
                         f"(figures/{FIGURE_FOR_CLAIM[verdict.key]}.png)")
        lines.append("")
    if sanity_table is not None:
        lines += ["### The metrics sanity suite", ""] + sanity_markdown(sanity_table) + [""]
    lines += ["## Locatello et al. 2019: metrics, objectives and model selection", ""]
    lines += study_lines(selection.table, rule)
    lines += ["## Collapsed models", ""] + collapsed_lines(selection.table) + [""]
    lines += ["## How the metrics' classifiers fitted", ""] + fitting_lines(selection.table)
    lines += ["", "## Models used and models left out", ""] + selection_lines(selection)
    lines += ["", "## Side by side with the papers", ""] + papers_lines(comparison)
    lines += ["", "## Figures", ""]
    for number, figure in enumerate(figures, 1):
        lines += [f"![{figure.name}](figures/{figure.png.name})", "",
                  f"*Figure {number}. {figure.caption}* ([PDF](figures/{figure.pdf.name}))", ""]
    traversed = [note for note in notes if "traversed around" in note]
    if traversed:
        lines += ["Traversed checkpoints:", ""] + [f"- {note}" for note in traversed] + [""]
    lines += ["## End-of-training results", "",
              "Mean ± standard deviation over seeds (median in brackets) of the models used, "
              f"at {selection.describe_step()}.", ""]
    lines += summary_lines(selection.table) + [""]
    missing = missing_lines(results.trials, verdicts, figures, notes)
    lines += ["## What is missing", ""] + [f"- {line}" for line in missing]
    lines += ["", "## Files", "",
              "- `tables/epochs.csv` (and `.parquet`): every model and epoch, every metric",
              "- `tables/final.csv`: each model's last report and status; `tables/summary.csv`: "
              "mean, std, median, min, max and model count per setting and metric over them",
              "- `tables/selected.csv`: the models the verdicts use; `tables/left_out.csv`: the "
              "others and why; `tables/papers.csv`: the papers' values beside ours",
              "- `tables/trials.csv`: each model's status, epochs, newest checkpoint and config",
              "- `figures/*.png` and `figures/*.pdf`: the figures above", ""]
    return "\n".join(lines)


def overview(results: SweepResults, selection: Selection) -> list[str]:
    trials = results.trials
    status = trials["status"].value_counts()
    settings = trials["setting"].nunique() if len(trials) else 0
    return [f"Sweep `{results.root.name}`: {plural(len(trials), 'model')} "
            f"({status.get('finished', 0)} finished, {status.get('incomplete', 0)} still "
            f"training or stopped early, {status.get('errored', 0)} errored, "
            f"{status.get('diverged', 0)} diverged) in {plural(settings, 'setting')}. The "
            f"verdicts use {plural(len(selection.table), 'finished model')} at "
            f"{selection.describe_step()} with the {selection.preset} metric preset's scores; "
            f"{len(selection.left_out)} left out (listed below)."]


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def seeds_counted(verdict: Verdict) -> str:
    """"3 per setting (5 settings)" or "2–5 per setting (7 settings)"; "–" for none."""
    counts = sorted(verdict.seeds.values())
    if not counts:
        return "–"
    spread = f"{counts[0]}" if counts[0] == counts[-1] else f"{counts[0]}–{counts[-1]}"
    return f"{spread} per setting ({plural(len(counts), 'setting')})"


def sanity_markdown(table: pd.DataFrame) -> list[str]:
    lines = ["| case | BetaVAE score | FactorVAE score | expectation |", "|---|---|---|---|"]
    for _, row in table.iterrows():
        lines.append(f"| {row['case']} | {row['beta_vae_score']:.3f} | "
                     f"{row['factor_vae_score']:.3f} | {row.get('expectation', '')} |")
    return lines


def missing_lines(trials: pd.DataFrame, verdicts: list[Verdict], figures: list[FigureFile],
                  notes: list[str]) -> list[str]:
    lines = []
    unfinished = trials[trials["status"] != "finished"]
    if len(unfinished):
        lines.append(f"{len(unfinished)} model(s) not finished ("
                     + ", ".join(f"{s}: {n}" for s, n in unfinished["status"].value_counts()
                                 .items())
                     + "): left out of the verdicts, see Models used and models left out")
    for verdict in verdicts:
        lines += [f"{verdict.source}: {line}" for line in verdict.missing]
    drawn = {f.name for f in figures}
    expected = {"tradeoff": "reconstruction and a disentanglement score",
                "training_curves": "per-epoch reconstruction or scores",
                "metrics_vs_hyperparameter": "β-VAE or FactorVAE models with metrics",
                "score_agreement": "both disentanglement scores",
                "metric_correlations": "at least 3 models with 2 varying metrics",
                "kl_per_dimension": "kl_dim_i columns",
                "locatello_rank_correlations": "2 disentanglement metrics over 3 models",
                "locatello_score_distributions": "a disentanglement metric",
                "locatello_scores_by_hyperparameter": "a disentanglement metric and a swept "
                                                      "hyperparameter",
                "locatello_variance_shares": "2 model kinds, one at 2 hyperparameter values, "
                                             "with enough seeds",
                "locatello_selection_transfer": "a disentanglement metric, a second score and 2 "
                                                "model kinds at 2 hyperparameter values with "
                                                "enough seeds"}
    lines += [f"figure {name} not drawn: needs {need}" for name, need in expected.items()
              if name not in drawn]
    lines += [note for note in notes if "skipped" in note or "no trial" in note
              or "could not" in note or "no model" in note]
    return lines or ["nothing: every claim had enough data and every figure was drawn"]
