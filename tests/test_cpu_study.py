"""The long CPU study (issue #23): its preset's two one-thread stacks, stack groups of kinds,
its launcher (a pinned, backgrounded, resumable run), and shipping a run that is still
training (``scripts/ship_cpu_study.py``): a snapshot at a common step whose table re-analyses
into the shipped report, every epoch for the curves, and bf16 weights that load as models. The
same replay runs on the shipped docs/results/cpu."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import ROOT, TINY_METRICS

from disentangle.errors import UserError

SHIPPED = ROOT / "docs" / "results" / "cpu"


def test_the_cpu_preset_is_two_stacks_of_about_equal_cost_one_thread_each():
    from study.config import load_study

    study = load_study("cpu")
    groups, definition = study.trials, study.definition
    kinds = [sorted({model["model"] for model in group["models"]}) for group in groups]
    assert kinds == [["beta_vae", "vae"], ["factor_vae"]]
    assert [len(group["models"]) for group in groups] == [6, 3]
    assert all(group["hidden_dim"] == 128 for group in groups)
    assert definition["resources"]["cpus_per_trial"] == 1
    assert definition["resources"]["max_concurrent_trials"] == 2
    # the paper-sized scores every 10k steps, a checkpoint every 2,000
    assert definition["metrics"]["paper_every"] * definition["steps_per_epoch"] == 10_000
    assert definition["epochs"] * definition["steps_per_epoch"] == 300_000


@pytest.mark.parametrize("stack, words", [
    ('[["vae"], ["factor_vae"]]', "exactly once"),              # beta_vae in no group
    ('[["vae", "beta_vae"], ["beta_vae", "factor_vae"]]', "exactly once"),
    ('[["vae", "beta_vae", "factor_vae"], []]', "non-empty"),
    ('"kinds"', "not allowed"),
])
def test_stack_groups_name_every_kind_once(stack, words):
    from study.config import load_study

    with pytest.raises(UserError, match=words):
        load_study("quick", [f"stack={stack}"])


def test_a_quick_study_stacked_in_groups_trains_one_trial_per_group():
    from study.config import load_study

    study = load_study("quick", ['stack=[["factor_vae", "vae"], ["beta_vae"]]'])
    assert [sorted({m["model"] for m in g["models"]}) for g in study.trials] == [
        ["factor_vae", "vae"], ["beta_vae"]]


def _truncate(trial: Path, epochs: int) -> None:
    """Make the trial look like one still training: only its first ``epochs`` rows."""
    file = trial / "result.json"
    file.write_text("".join(file.read_text().splitlines(keepends=True)[:epochs]))


def test_the_launcher_runs_a_pinned_study_that_resumes_and_ships_while_it_trains(tmp_path):
    """``scripts/cpu_study.sh RUN --set ...`` trains a tiny cpu-preset study (3 seeds, 3
    epochs of 2 steps, paper scores every 2 epochs) from a worktree of this commit, in the
    background, logging steps and model-steps/s each epoch; run again it resumes the same
    sweep (here finished) and counts the restart. Then, with the FactorVAE trial cut back to
    look one epoch behind, ``ship_cpu_study.py`` ships it: the snapshot is the latest step with
    paper scores every model reached (4), the curves keep every epoch, the report replays, and
    each shipped model loads with its weights equal to the trained ones rounded to bf16."""
    from analysis import long_run
    from analysis.bundle import snapshot
    from analysis.report import analyze
    from analysis.results import load_results
    from disentangle.models import load_model
    from disentangle.training import model_file

    run = tmp_path / "run"
    metrics = json.dumps(TINY_METRICS)
    tiny = ["epochs=3", "steps_per_epoch=2", "seeds=[0,1,2]", "metrics.paper_every=2",
            f"metrics.fast={metrics}", f"metrics.paper={metrics}", "images.every=0",
            "training.batch_size=16"]
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    try:
        _launch(run, *tiny)
        log = (run / "log").read_text()
        assert "epoch  factor_vae_gamma=40_seeds=0,1,2" in log and "model-steps/s" in log
        assert log.count("Summary over seeds") == 1
        record = json.loads((run / "run.json").read_text())
        assert record["commit"] == head and record["restarts"] == 0
        assert (run / "code" / "scripts" / "cpu_study.sh").is_file()
        study = json.loads((run / "study" / "study.json").read_text())
        assert study["steps_per_epoch"] == 2
        assert study["stack"] == [["vae", "beta_vae"], ["factor_vae"]]
        _launch(run)
        record = json.loads((run / "run.json").read_text())
        assert record["restarts"] == 1 and record["starts"][1]["resume"] is True
        assert (run / "log").read_text().count("Summary over seeds") == 2
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                        str(run / "code")], capture_output=True)

    _truncate(next((run / "study").glob("factor_vae*")), 2)
    out = tmp_path / "shipped"
    readme = (ROOT / "README.md").read_bytes()
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "ship_cpu_study.py"),
                           str(run), "--out", str(out), "--sanity", "off"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "snapshot at step 4" in done.stdout
    assert (ROOT / "README.md").read_bytes() == readme   # only a ship to docs/ rewrites it

    import pandas as pd

    table = pd.read_csv(out / "results.csv.gz")
    assert set(table["steps"]) == {2, 4} and (table["status"] == "finished").all()
    every = pd.read_csv(out / "all_epochs.csv.gz")
    assert every.groupby("model")["steps"].max().to_dict() == {
        "beta_vae": 6, "factor_vae": 4, "vae": 6}
    curves = pd.read_csv(out / "curves.csv")
    paper = curves[curves["quantity"] == "paper_factor_vae_score"]
    assert sorted(set(paper["steps"])) == [4, 6]
    assert (paper[paper["steps"] == 4]["seeds"] == 3).all()
    assert (out / "figures" / "learning_curves.png").is_file()
    record = json.loads((out / "run.json").read_text())
    assert record["snapshot_step"] == 4 and record["steps_reached"] == 4
    assert sorted(trial["steps"] for trial in record["trials"]) == [4, 6]
    page = (out / "README.md").read_text()
    assert "**in progress**" in page and "**At step 4** (the latest step with paper-sized" in page
    # the models are selected at the snapshot step and shipped as they were there (the
    # truncated trial's too), from the copies the ship kept of the checkpoints at scored steps
    assert {w["step"] for w in record["weights"].values()} == {4}
    assert "score at step 4, each as it was at that step." in page
    kept = run / "scored_weights"
    assert sorted(p.parent.name for p in kept.glob("*/*/*.pt")) == ["step_0000004"] * 9

    again = analyze(out / "results.csv.gz", tmp_path / "again", sanity="off", traversals=False)
    assert again.report.read_text() == (out / "report.md").read_text()

    weights = sorted(p.name for p in (out / "weights").iterdir())
    assert weights == [f"{kind}_{role}.pt" for kind in ("beta_vae", "factor_vae", "vae")
                       for role in ("best", "median")]
    for file in (out / "weights").iterdir():
        shipped = load_model(file)
        member = shipped.info["shipped"]["member"]
        trial = next(t for t in (run / "study").iterdir() if (t / member).is_dir())
        trained = load_model(model_file(sorted(trial.glob("checkpoint_*"))[-2], member))
        assert trained.info["step"] == 4
        for key, value in trained.state_dict().items():
            expected = value.to(torch.bfloat16).float() if value.is_floating_point() else value
            assert torch.equal(shipped.state_dict()[key], expected), (member, key)

    # once the run has dropped its step-4 checkpoints, the kept copies still stand for them;
    # where none was kept, each model's newest checkpoint does, and the page says so
    for trial in {folder.parent for folder in (run / "study").glob("*/checkpoint_*")}:
        shutil.rmtree(sorted(trial.glob("checkpoint_*"))[-2])
    results = load_results(run / "study")
    at_step = snapshot(results, 4, kept).trials["checkpoint"]
    assert {Path(folder).parent.parent for folder in at_step} == {kept}
    newest = snapshot(results, 4, tmp_path / "nothing kept").trials["checkpoint"]
    assert list(newest) == list(results.trials["checkpoint"])
    assert long_run.weights_source({"snapshot_step": 4, "weights": {
        "a": {"step": 4}, "b": {"step": 6}}}) == (
        "each as it was at that step where a ship kept it, else from its newest checkpoint "
        "(steps 4 and 6)")


def _launch(run: Path, *sets: str) -> None:
    """Run the launcher and wait for the background study it starts to end."""
    done = subprocess.run(["bash", str(ROOT / "scripts" / "cpu_study.sh"), str(run),
                           *sum((["--set", s] for s in sets), [])],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    pid, deadline = int((run / "pid").read_text()), time.monotonic() + 600
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(2)
    assert not _alive(pid), "the background study did not finish in 10 minutes"


def test_the_readme_and_the_status_page_show_the_shipped_record():
    import pandas as pd

    from analysis import long_run

    record = json.loads((SHIPPED / "run.json").read_text())
    curves = pd.read_csv(SHIPPED / "curves.csv")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = long_run.results_block(record, curves, "docs/results/cpu", "docs")
    assert long_run.with_block(readme, block) == readme
    assert (SHIPPED / "README.md").read_text(encoding="utf-8") == \
        long_run.status_page(record, curves)
    report = (SHIPPED / "report.md").read_text(encoding="utf-8")
    for verdict in record["verdicts"]:   # the verdicts are the shipped report's
        row = next(line for line in report.splitlines()
                   if f"| {verdict['claim']} | {verdict['source']} |" in line)
        assert f" {verdict['verdict']} |" in row
    with pytest.raises(ValueError, match="lacks the lines"):
        long_run.with_block("# a README without the block\n", block)


def test_keeping_scored_weights_skips_checkpoints_the_run_drops_or_is_still_writing(tmp_path):
    import pandas as pd

    from analysis.bundle import keep_scored_weights, scored_folder
    from analysis.results import SweepResults
    from disentangle.models import make_checkpoint, write_checkpoint

    trial = tmp_path / "trial"
    for number, step in enumerate((10, 15, 20)):   # scored every 10 steps
        write_checkpoint(make_checkpoint({"step": step}, {"w": torch.ones(2)}),
                         trial / f"checkpoint_{number:06d}" / "m.pt")
    (trial / "checkpoint_000002" / "m.pt").write_bytes(b"not whole yet")
    (trial / "checkpoint_000003").mkdir()          # being dropped: its file is gone
    results = SweepResults(tmp_path, pd.DataFrame(), pd.DataFrame(
        {"path": [str(trial)], "member": ["m"]}))
    kept = tmp_path / "kept"
    keep_scored_weights(results, 10, kept)
    assert [p.relative_to(kept) for p in kept.rglob("*") if p.is_file()] == [
        (scored_folder(kept, trial, 10) / "m.pt").relative_to(kept)]


def test_the_references_keep_the_decimals_they_were_given_with():
    from analysis import long_run

    rows = {row[0]: row[1:] for row in long_run.reference_rows()}   # BetaVAE, FactorVAE, MIG
    assert rows["pre-trained VAE (disentangling-vae)"] == ["0.869", "0.715", "0.100"]
    assert rows["Kim & Mnih 2018, FactorVAE (≈, read off their figure)"] == ["–", "0.82", "–"]
    rerun = next(cells for source, cells in rows.items() if source.startswith("published"))
    assert rerun == ["–", "0.82–0.83", "0.40–0.43"]


def test_the_shipped_cpu_report_is_what_its_table_gives(tmp_path):
    from analysis.report import analyze

    sanity = SHIPPED / "sanity.csv"
    again = analyze(SHIPPED / "results.csv.gz", tmp_path / "again", traversals=False,
                    sanity=sanity if sanity.is_file() else "off")
    assert again.report.read_text() == (SHIPPED / "report.md").read_text()


def test_the_shipped_weights_score_with_vae_study_evaluate(tmp_path):
    """The status page's command: ``vae-study evaluate docs/results/cpu/weights/...`` (small
    samples here) scores the shipped best FactorVAE as the trained model it is."""
    from study.cli import main

    out = tmp_path / "scores.json"
    sizes = {**TINY_METRICS, "factor_vae_num_train": 500, "factor_vae_batch_size": 16}
    assert main(["evaluate", str(SHIPPED / "weights" / "factor_vae_best.pt"), "--out", str(out),
                 "--preset", "fast", "--metrics", "factor_vae",
                 *sum((["--set", f"{key}={value}"] for key, value in sizes.items()), [])]) == 0
    (row,) = json.loads(out.read_text())
    assert row["model"] == "factor_vae"
    assert row["factor_vae_train_accuracy"] > 0.5    # chance is 1/5 (five factors)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False
