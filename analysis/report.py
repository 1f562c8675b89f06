"""``report.md``: the papers' claims, this sweep's evidence and verdicts, figures and tables.

``analyze(sweep_dir, out_dir)`` is the whole analysis: read the sweep (``analysis.results``),
save the tables, draw the figures (``analysis.figures``, ``analysis.traversals``), decide the
verdicts (``analysis.verdicts``) and write the report. Everything is written into a temporary
folder next to ``out_dir`` and moved into place at the end, so an interrupted run leaves the
previous analysis untouched.
"""

from __future__ import annotations

import datetime
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.figures import FigureFile, all_figures, label
from analysis.results import SweepResults, load_results, save_tables, score_column
from analysis.verdicts import CONFIRMED, NOT_CONFIRMED, Rule, Verdict, all_verdicts
from disentangle.errors import UserError

REPORT_FILE = "report.md"
SUMMARY_METRICS = ["reconstruction", "kl", "tc_mws", "active_dims"]
VERDICT_MARKS = {CONFIRMED: "✅ confirmed", NOT_CONFIRMED: "❌ not confirmed"}


@dataclass
class Analysis:
    """What ``analyze`` wrote, and the verdicts it reached."""

    out_dir: Path
    report: Path
    figures: list[FigureFile]
    tables: dict[str, Path]
    verdicts: list[Verdict]
    notes: list[str] = field(default_factory=list)


def load_sanity(source: str | Path | None) -> tuple[pd.DataFrame | None, str]:
    """The sanity-suite table and where it came from.

    ``source``: None or "off" (not run), "fast" or "paper" (run the suite now with that metric
    preset: seconds, no images), or the path of a CSV/JSON table saved from the suite.
    """
    if source is None or str(source) == "off":
        return None, "not run (off)"
    if str(source) in ("fast", "paper"):
        try:
            from disentangle.metrics.sanity import run_sanity_suite
        except ImportError as error:
            return None, f"not run (the sanity suite is unavailable: {error})"
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
    return table, f"read from {path}"


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
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        analysis = write_analysis(results, staging, sanity_table, sanity_source, rule,
                                  traversals)
        replace_folder(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return relocate(analysis, staging, out_dir)


def write_analysis(results: SweepResults, folder: Path, sanity_table, sanity_source: str,
                   rule: Rule, traversals: bool) -> Analysis:
    final = results.final
    tables = save_tables(results, folder / "tables")
    if sanity_table is not None:
        sanity_table.to_csv(folder / "tables" / "sanity.csv", index=False)
        tables["sanity"] = folder / "tables" / "sanity.csv"
    figures = all_figures(results.epochs, final, folder / "figures") if len(final) else []
    notes = []
    if traversals and len(final):
        from analysis.traversals import traversals as draw_traversals

        figure, traversal_notes = draw_traversals(final, results.trials, folder / "figures")
        figures += [figure] if figure else []
        notes += traversal_notes if figure else [f"traversals skipped: {n}"
                                                 for n in traversal_notes or ["no checkpoint"]]
    elif not traversals:
        notes.append("traversals skipped (--no-traversals)")
    verdicts = all_verdicts(final, sanity_table, rule)
    report = folder / REPORT_FILE
    report.write_text(render_report(results, final, figures, verdicts, rule, sanity_table,
                                    sanity_source, notes), encoding="utf-8")
    return Analysis(folder, report, figures, tables, verdicts, notes)


def replace_folder(staging: Path, out_dir: Path) -> None:
    """Move ``staging`` to ``out_dir``, removing a previous analysis there last."""
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        out_dir.rename(old)
    staging.rename(out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def relocate(analysis: Analysis, staging: Path, out_dir: Path) -> Analysis:
    """The same Analysis with its paths moved from the staging folder to ``out_dir``."""
    def moved(path: Path) -> Path:
        return out_dir / path.relative_to(staging)

    figures = [FigureFile(f.name, moved(f.png), moved(f.pdf), f.caption)
               for f in analysis.figures]
    return Analysis(out_dir, moved(analysis.report), figures,
                    {k: moved(v) for k, v in analysis.tables.items()}, analysis.verdicts,
                    [n.replace(str(staging), str(out_dir)) for n in analysis.notes])


# -- the report's text -------------------------------------------------------------------------
FIGURE_FOR_CLAIM = {"higgins": "metrics_vs_hyperparameter", "kim_mnih_tradeoff": "tradeoff",
                    "beta_tradeoff": "tradeoff", "locatello": "metrics_vs_hyperparameter"}


def render_report(results: SweepResults, final: pd.DataFrame, figures: list[FigureFile],
                  verdicts: list[Verdict], rule: Rule, sanity_table, sanity_source: str,
                  notes: list[str]) -> str:
    trials = results.trials
    lines = [f"# Disentanglement study: {results.root.name}", ""]
    lines += overview(results, final)
    lines += ["", "## Verdicts on the papers' claims", "",
              "| # | claim | source | verdict | seeds counted |", "|---|---|---|---|---|"]
    for number, verdict in enumerate(verdicts, 1):
        lines.append(f"| {number} | {verdict.claim} | {verdict.source} | "
                     f"{VERDICT_MARKS.get(verdict.verdict, '⚪ ' + verdict.verdict)} | "
                     f"{seeds_counted(verdict)} |")
    lines += ["", f"**Rule.** A claim is *confirmed* only when every compared setting has at "
                  f"least {rule.min_seeds} seeds and the difference lies beyond the spread over "
                  f"seeds: Welch's one-sided t-test p < {rule.alpha} (Bonferroni-corrected when "
                  f"any of several settings may carry the claim), Spearman's one-sided p < "
                  f"{rule.alpha} for trends over β. With fewer seeds the verdict is *not enough "
                  f"data*; with enough seeds but no such difference, *not confirmed*. End-of-"
                  f"training numbers are each trial's last reported epoch; disentanglement "
                  f"scores use {score_source(final)}.", ""]
    figure_names = {f.name: f for f in figures}
    for number, verdict in enumerate(verdicts, 1):
        lines += [f"### {number}. {verdict.source}", "", f"> {verdict.claim}", "",
                  f"**Verdict: {verdict.verdict}.** Rule: {verdict.rule}.", ""]
        lines += [f"- {line}" for line in verdict.evidence]
        if verdict.key == "metric_critique":
            lines.append(f"- sanity suite: {sanity_source}")
        lines += [f"- missing: {line}" for line in verdict.missing]
        if verdict.key in FIGURE_FOR_CLAIM and FIGURE_FOR_CLAIM[verdict.key] in figure_names:
            lines.append(f"- figure: [{FIGURE_FOR_CLAIM[verdict.key]}]"
                         f"(figures/{FIGURE_FOR_CLAIM[verdict.key]}.png)")
        lines.append("")
    if sanity_table is not None:
        lines += ["### The metrics sanity suite", ""] + sanity_markdown(sanity_table) + [""]
    lines += ["## Figures", ""]
    for number, figure in enumerate(figures, 1):
        lines += [f"![{figure.name}](figures/{figure.png.name})", "",
                  f"*Figure {number}. {figure.caption}* ([PDF](figures/{figure.pdf.name}))", ""]
    traversed = [note for note in notes if "traversed around" in note]
    if traversed:
        lines += ["Traversed checkpoints:", ""] + [f"- {note}" for note in traversed] + [""]
    lines += ["## End-of-training results", "",
              "Mean ± standard deviation over seeds (median in brackets) of each trial's last "
              "reported epoch.", ""] + summary_markdown(final) + [""]
    missing = missing_lines(trials, final, verdicts, figures, notes)
    lines += ["## What is missing", ""] + [f"- {line}" for line in missing]
    lines += ["", "## Files", "",
              "- `tables/epochs.csv` (and `.parquet`): every trial and epoch, every metric",
              "- `tables/final.csv`: each trial's last epoch; `tables/summary.csv`: mean, std, "
              "median, min, max and seed count per setting and metric",
              "- `tables/trials.csv`: each trial's status, epochs, newest checkpoint and config",
              "- `figures/*.png` and `figures/*.pdf`: the figures above", ""]
    return "\n".join(lines)


def overview(results: SweepResults, final: pd.DataFrame) -> list[str]:
    trials = results.trials
    status = trials["status"].value_counts()
    per_setting = final.groupby("setting", sort=False)["trial_id"].count() if len(final) \
        else pd.Series(dtype=int)
    seeds = (f"{per_setting.min()}–{per_setting.max()}" if len(per_setting)
             and per_setting.min() != per_setting.max() else
             f"{per_setting.max()}" if len(per_setting) else "0")
    epochs = final["epoch"] if len(final) else pd.Series(dtype=float)
    return [f"Sweep `{results.root}`, read {datetime.datetime.now():%Y-%m-%d %H:%M}. "
            f"{len(trials)} trials ({status.get('finished', 0)} finished, "
            f"{status.get('incomplete', 0)} still running or stopped early, "
            f"{status.get('errored', 0)} errored) in {plural(len(per_setting), 'setting')}, "
            f"{seeds} seeds per setting, "
            f"{int(epochs.max()) if len(epochs) else 0} epochs at most"
            + (f" (steps up to {int(final['steps'].max()):,})" if "steps" in final
               and final["steps"].notna().any() else "") + "."]


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def score_source(final: pd.DataFrame) -> str:
    columns = {score_column(final, "beta_vae"), score_column(final, "factor_vae")}
    return ("the paper preset (run at the end of training)"
            if all(c.startswith("paper_") for c in columns)
            else "the fast preset (the paper preset did not run at every trial's last epoch)")


def seeds_counted(verdict: Verdict) -> str:
    """"3 per setting (5 settings)" or "2–5 per setting (7 settings)"; "–" for none."""
    counts = sorted(verdict.seeds.values())
    if not counts:
        return "–"
    spread = f"{counts[0]}" if counts[0] == counts[-1] else f"{counts[0]}–{counts[-1]}"
    return f"{spread} per setting ({plural(len(counts), 'setting')})"


def summary_markdown(final: pd.DataFrame) -> list[str]:
    if final.empty:
        return ["(no epoch reported yet)"]
    columns = [c for c in [score_column(final, "factor_vae"), score_column(final, "beta_vae")]
               + SUMMARY_METRICS if c in final and final[c].notna().any()]
    header = ["setting", "seeds"] + [label(c) for c in columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for setting, group in final.groupby("setting", sort=False):
        cells = [setting, str(len(group))]
        for column in columns:
            values = group[column].dropna()
            digits = 3 if "score" in column else 2
            if values.empty:
                cells.append("–")
            elif len(values) == 1:
                cells.append(f"{values.iloc[0]:.{digits}f}")
            else:
                cells.append(f"{values.mean():.{digits}f} ± {values.std():.{digits}f} "
                             f"({values.median():.{digits}f})")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def sanity_markdown(table: pd.DataFrame) -> list[str]:
    lines = ["| case | BetaVAE score | FactorVAE score | expectation |", "|---|---|---|---|"]
    for _, row in table.iterrows():
        lines.append(f"| {row['case']} | {row['beta_vae_score']:.3f} | "
                     f"{row['factor_vae_score']:.3f} | {row.get('expectation', '')} |")
    return lines


def missing_lines(trials: pd.DataFrame, final: pd.DataFrame, verdicts: list[Verdict],
                  figures: list[FigureFile], notes: list[str]) -> list[str]:
    lines = []
    incomplete = trials[trials["status"] != "finished"]
    if len(incomplete):
        lines.append(f"{len(incomplete)} trial(s) not finished ("
                     + ", ".join(f"{s}: {n}" for s, n in incomplete["status"].value_counts()
                                 .items())
                     + "); their last reported epoch is used")
    for verdict in verdicts:
        lines += [f"{verdict.source}: {line}" for line in verdict.missing]
    if "factor_vae_warning" in final:
        warned = final.dropna(subset=["factor_vae_warning"])
        for warning, group in warned.groupby("factor_vae_warning", sort=False):
            lines.append(f"FactorVAE metric warning at the last epoch of {len(group)} trial(s) "
                         f"({', '.join(dict.fromkeys(group['setting']))}): {warning}")
    drawn = {f.name for f in figures}
    expected = {"tradeoff": "reconstruction and a disentanglement score",
                "training_curves": "per-epoch reconstruction or scores",
                "metrics_vs_hyperparameter": "β-VAE or FactorVAE trials with metrics",
                "score_agreement": "both disentanglement scores",
                "metric_correlations": "at least 3 trials with 2 varying metrics",
                "kl_per_dimension": "kl_dim_i columns"}
    lines += [f"figure {name} not drawn: needs {need}" for name, need in expected.items()
              if name not in drawn]
    lines += [note for note in notes if "skipped" in note or "no trial" in note
              or "could not" in note]
    return lines or ["nothing: every claim had enough data and every figure was drawn"]
