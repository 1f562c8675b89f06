"""The pages of a long run shipped while it trains (``scripts/ship_cpu_study.py``): its status
page and the results block the project README carries, both written from the shipped record
(``run.json``) and curves (``curves.csv``), so the README and the shipped folder cannot
disagree.

The block states what the models show at the snapshot step: per setting, the mean over seeds
with its 95% t-interval (``analysis.curves``); beside it, the same scores of paper-scale models
measured elsewhere (``analysis.curves.REFERENCES``, ``analysis.papers.REPORTED``: other
training, some another protocol); the learning curves and traversals; and each claim's verdict
with the calibrated rules of ``docs/analysis.md``.
"""

from __future__ import annotations

import pandas as pd

from analysis.curves import REFERENCES
from analysis.markdown import rows_table
from analysis.papers import REPORTED
from analysis.results import SweepResults
from analysis.verdicts.framework import NOT_ENOUGH_DATA
from disentangle import kinds
from disentangle.result_names import MODEL_STEPS_PER_SECOND, PAPER_PREFIX, without_preset

#: The README lines between which ``results_block`` is written.
BEGIN = "<!-- results of the CPU study: written by scripts/ship_cpu_study.py -->"
END = "<!-- end of the CPU study's results -->"

#: The table's quantities: (curve quantity, header, digits).
COLUMNS = (("reconstruction", "reconstruction", 1), ("kl", "KL", 1),
           (PAPER_PREFIX + "beta_vae_score", "BetaVAE", 3),
           (PAPER_PREFIX + "factor_vae_score", "FactorVAE", 3),
           (PAPER_PREFIX + "mig_score", "MIG", 3))


def throughput(results: SweepResults) -> list[dict]:
    """Per trial: its models, the steps reached, wall seconds of its epochs, and model-steps/s
    while training (median over epochs) and overall (scoring and checkpoints included)."""
    rows = []
    for tune_trial, epochs in results.epochs.groupby("tune_trial", sort=False):
        per_epoch = epochs.drop_duplicates("epoch")
        models = epochs["member"].nunique()
        steps = int(per_epoch["steps"].max())
        wall = float(per_epoch["time_this_iter_s"].sum())
        training = (per_epoch[MODEL_STEPS_PER_SECOND].median()
                    if MODEL_STEPS_PER_SECOND in per_epoch else float("nan"))
        rows.append({"trial": tune_trial, "models": models, "steps": steps,
                     "epochs": len(per_epoch), "wall_seconds": round(wall),
                     "model_steps_per_second_training": round(float(training), 2),
                     "model_steps_per_second_overall": round(models * steps / wall, 2)})
    return rows


def state(record: dict) -> str:
    """Finished, or how far every model has got."""
    target = record["study"]["epochs"] * record["study"]["steps_per_epoch"]
    if record["steps_reached"] >= target:
        return f"finished: every model has trained the preset's {target:,} steps"
    return (f"**in progress**: every model has trained {record['steps_reached']:,} of the "
            f"preset's {target:,} steps")


def setting_rows(curves: pd.DataFrame, step: int) -> list[list[str]]:
    """Per setting at ``step``: seeds and each of ``COLUMNS`` as mean [95% interval]; the
    fast score where no paper-sized one was computed."""
    rows = []
    at = curves[curves["steps"] == step]
    for setting, group in at.groupby("setting", sort=False):
        cells = [setting, f"{step:,}", str(int(group["seeds"].max()))]
        for quantity, _, digits in COLUMNS:
            row = group[group["quantity"] == quantity]
            if row.empty and quantity.startswith(PAPER_PREFIX):
                row = group[group["quantity"] == without_preset(quantity)]
            if row.empty:
                cells.append("–")
                continue
            row = row.iloc[0]
            interval = ("" if pd.isna(row["low"]) else
                        f" [{row['low']:.{digits}f}, {row['high']:.{digits}f}]")
            cells.append(f"{row['mean']:.{digits}f}{interval}")
        rows.append(cells)
    return rows


def reference_cell(reference) -> str:
    """A reference's value or range to the decimals it was given with (0.82, 0.100, 0.40–0.43)."""
    low, high = (f"{value:.{reference.digits}f}" for value in (reference.low, reference.high))
    return low if reference.low == reference.high else f"{low}–{high}"


def reference_rows() -> list[list[str]]:
    """The scores of paper-scale models from elsewhere, one row per source: the papers'
    printed values (``REPORTED``) and the curves' reference lines (``REFERENCES``)."""
    scores = [quantity for quantity, _, _ in COLUMNS if quantity.startswith(PAPER_PREFIX)]
    rows: dict[str, dict[str, str]] = {}
    for value in REPORTED:
        source = (f"{value.paper}, {kinds.KINDS[value.model].label(value.value)} "
                  f"({value.where}; their own protocol"
                  f"{'' if value.verified else ', unverified'})")
        rows.setdefault(source, {})[PAPER_PREFIX + value.quantity] = f"{value.number:.3f}"
    for reference in REFERENCES:
        rows.setdefault(reference.source, {})[PAPER_PREFIX + reference.quantity] = (
            reference_cell(reference))
    return [[source, *(cells.get(score, "–") for score in scores)]
            for source, cells in rows.items()]


def weights_source(record: dict) -> str:
    """Which checkpoints the shipped weights come from: the snapshot step's, or (where no ship
    saw those) the newest, with their steps ("steps 20,000 and 24,000")."""
    steps = sorted({weights["step"] for weights in record["weights"].values()})
    if steps == [record["snapshot_step"]]:
        return "each as it was at that step"
    words = [f"{step:,}" for step in steps]
    named = (f"step {words[0]}" if len(words) == 1 else
             f"steps {', '.join(words[:-1])} and {words[-1]}")
    return ("each as it was at that step where a ship kept it, else from its newest checkpoint "
            f"({named})")


def results_block(record: dict, curves: pd.DataFrame, shipped: str, docs: str) -> list[str]:
    """What the models show at the snapshot step (see the module docstring). ``shipped`` and
    ``docs`` are the paths of the shipped folder and of docs/ from the page it goes in."""
    step = record["snapshot_step"]
    paper = record["snapshot_preset"] == "paper"
    scores = [header for quantity, header, _ in COLUMNS if quantity.startswith(PAPER_PREFIX)]
    lines = [
        f"Status: {state(record)}.", "",
        f"**At step {step:,}** (the latest step "
        f"{'with paper-sized scores ' if paper else ''}that every model reached): the mean "
        f"over seeds [95% t-interval of the mean], scores at the "
        + ("paper preset (disentanglement_lib's sample sizes)." if paper else
           "fast preset (no paper-sized scores at a common step yet)."), ""]
    lines += rows_table(["setting", "steps", "seeds", *[h for _, h, _ in COLUMNS]],
                        setting_rows(curves, step))
    lines += ["", "The same scores of paper-scale models trained elsewhere (one model each, or "
              "as published; the pre-trained models scored here at the paper preset, seed 0):",
              ""]
    lines += rows_table(["source", *scores], reference_rows())
    lines += ["", f"![learning curves]({shipped}/figures/learning_curves.png)", "",
              f"![traversals of the best and median model of each kind]"
              f"({shipped}/figures/traversals.png)", "",
              f"The traversals and the shipped weights are the best and median model of each "
              f"kind by their FactorVAE score at step {step:,}, {weights_source(record)}.",
              "",
              f"**Verdicts at step {step:,}** (each rule and how often it errs, simulated: "
              f"[analysis]({docs}/analysis.md)):", ""]
    undecidable = [v for v in record["verdicts"] if v["verdict"] == NOT_ENOUGH_DATA]
    lines += [claim_line(verdict) for verdict in record["verdicts"]
              if verdict not in undecidable]
    if undecidable:
        lines += ["", f"*Not enough data* in this study for the other claims ([the report]"
                  f"({shipped}/report.md) says what each needs):", ""]
        lines += [claim_line(verdict) for verdict in undecidable]
    return lines


def claim_line(verdict: dict) -> str:
    return f"- **{verdict['verdict']}**: {verdict['claim']} ({verdict['source']})"


def status_page(record: dict, curves: pd.DataFrame) -> str:
    """docs/results/cpu/README.md: where the run stands, the results block, its throughput
    and the shipped files."""
    lines = [
        "# The CPU study (preset `cpu`)", "",
        f"VAE, β-VAE β=4 and FactorVAE γ=40 (Kim & Mnih's settings, FC 128), 3 seeds each, "
        f"trained in the background on a {record['machine']['cpus']}-core CPU by "
        f"`scripts/cpu_study.sh` from commit `{record['commit'][:7]}` "
        f"({record['restarts']} restart(s) so far, each resumed from its last checkpoint). "
        f"Shipped by `scripts/ship_cpu_study.py`.", ""]
    lines += results_block(record, curves, ".", "../..")
    lines += ["", "## Throughput", ""]
    lines += rows_table(
        ["trial", "models", "steps", "epochs", "wall s", "model-steps/s training",
         "model-steps/s overall"],
        [[t["trial"], t["models"], f"{t['steps']:,}", t["epochs"], f"{t['wall_seconds']:,}",
          t["model_steps_per_second_training"], t["model_steps_per_second_overall"]]
         for t in record["trials"]])
    lines += ["", "Training: the median over epochs of each epoch's training alone; overall: "
              "model-steps over the wall time of every epoch, scoring and checkpoints included. "
              "The run is niced under other work on the same machine, so both are below what "
              "an idle machine gives.", "",
              "The full analysis (verdicts with their evidence, every figure) of the snapshot: "
              "[report.md](report.md); every epoch so far: `all_epochs.csv.gz`, the curves' "
              "numbers: `curves.csv`; the best and median model of each kind: `weights/` "
              "(bf16, `vae-study evaluate docs/results/cpu/weights/factor_vae_best.pt`)."]
    return "\n".join(lines) + "\n"


def with_block(readme: str, block: list[str]) -> str:
    """``readme`` with the lines between ``BEGIN`` and ``END`` replaced by ``block``."""
    head, found, rest = readme.partition(BEGIN + "\n")
    _, ended, tail = rest.partition(END)
    if not found or not ended:
        raise ValueError(f"the README lacks the lines {BEGIN!r} and {END!r}")
    return head + found + "\n".join(block) + "\n" + ended + tail
