"""Analysis of sweep results: tables, figures, verdicts and the report, on synthetic sweeps
written to disk in Ray Tune's trial-folder format (params.json, result.json, progress.csv)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.results import load_results, save_tables, score_column
from analysis.verdicts.framework import CONFIRMED, CONTRADICTED, INCONCLUSIVE, NOT_ENOUGH_DATA
from disentangle.errors import UserError

LATENT_DIM = 6


def final_numbers(model: str, value: float, seed: int) -> dict[str, float]:
    """The end-of-training numbers of a synthetic trial: β and γ buy disentanglement with
    reconstruction as the papers describe, FactorVAE at a better trade-off, small seed noise."""
    noise = np.random.default_rng(seed * 1000 + int(value * 10)).normal(0, 1, 4)
    if model == "factor_vae":
        reconstruction, factor, beta_score = 31 + value / 20, 0.85 + value / 2000, 0.90
    else:
        beta = 1.0 if model == "vae" else value
        reconstruction = 30 + 6 * math.log2(beta)
        factor, beta_score = 0.55 + 0.06 * math.log2(beta), 0.70 + 0.05 * math.log2(beta)
    return {"reconstruction": reconstruction + 0.5 * noise[0],
            "factor_vae_score": factor + 0.01 * noise[1],
            "beta_vae_score": beta_score + 0.01 * noise[2], "kl": 20 - 2 * math.log2(value + 1),
            "tc_minibatch": 5 / (1 + value) + 0.1 * abs(noise[3])}


def epoch_rows(final: dict[str, float], model: str, value: float, epochs: int, trial_id: str,
               config: dict) -> list[dict]:
    """Tune's rows for one trial: metrics approaching ``final``, plus Tune's bookkeeping."""
    rows = []
    for epoch in range(1, epochs + 1):
        fraction = epoch / epochs
        row = {key: (value * (0.7 + 0.3 * fraction) if "score" in key
                     else value * (1.3 - 0.3 * fraction)) for key, value in final.items()}
        used = 2 + int(value < 8) + int(model == "factor_vae")
        kl_dims = np.where(np.arange(LATENT_DIM) < used, 3.0 - 0.4 * np.arange(LATENT_DIM), 0.02)
        kl_dims = kl_dims * np.random.default_rng(epoch * 7 + int(value)).uniform(0.8, 1.2)
        row.update({f"kl_dim_{i}": float(v) for i, v in enumerate(kl_dims)})
        row.update({"active_dims": int((kl_dims > 0.5).sum()), "elbo": -row["reconstruction"]
                    - row["kl"], "loss": row["reconstruction"] + row["kl"], "steps": 100 * epoch,
                    "images_seen": 6400 * epoch, "images_per_second": 900.0,
                    "epoch_seconds": 7.0, "metric_seconds": 1.0})
        if model == "factor_vae":
            row.update({"tc_discriminator": row["tc_minibatch"] * 0.9,
                        "discriminator_accuracy": 0.6})
        if epoch == epochs:
            row.update({"paper_beta_vae_score": row["beta_vae_score"],
                        "paper_factor_vae_score": row["factor_vae_score"]})
        row.update({"done": epoch == epochs, "training_iteration": epoch, "trial_id": trial_id,
                    "date": "2026-11-28_18-52-57", "timestamp": 1795891977 + epoch,
                    "time_this_iter_s": 7.0, "time_total_s": 7.0 * epoch, "pid": 1,
                    "hostname": "vm", "node_ip": "127.0.0.1", "config": config})
        rows.append(row)
    return rows


def write_trial(folder: Path, config: dict, rows: list[dict], formats=("json", "csv")) -> Path:
    """One trial folder exactly as Tune writes it."""
    folder.mkdir(parents=True)
    (folder / "params.json").write_text(json.dumps(config, indent=2))
    if "json" in formats:
        (folder / "result.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if "csv" in formats and rows:
        flat = [{k: v for k, v in r.items() if k != "config"} for r in rows]
        columns = list(dict.fromkeys(k for r in flat for k in r))
        with open(folder / "progress.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(flat)
    return folder


def write_sweep(root: Path, settings, seeds=(0, 1, 2), epochs: int = 4) -> Path:
    """A finished synthetic sweep: ``settings`` are (model, β or γ) pairs."""
    number = 0
    for model, value in settings:
        for seed in seeds:
            config = {"model": model, "beta": value if model == "beta_vae" else 1.0,
                      "gamma": value if model == "factor_vae" else 10.0, "seed": seed,
                      "dataset": "no-such-dataset", "lr": 1e-4, "latent_dim": LATENT_DIM,
                      "discriminator_betas": [0.5, 0.9]}
            trial_id = f"abc12_{number:05d}"
            rows = epoch_rows(final_numbers(model, value, seed), model, value, epochs, trial_id,
                              config)
            write_trial(root / f"VaeTrainable_{trial_id}_{number}_model={model}", config, rows)
            number += 1
    return root


GRID = [("vae", 1.0), ("beta_vae", 1.0), ("beta_vae", 4.0), ("beta_vae", 16.0),
        ("factor_vae", 10.0), ("factor_vae", 40.0)]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    return write_sweep(tmp_path_factory.mktemp("sweep") / "quick", GRID)


@pytest.fixture(scope="module")
def loaded(sweep):
    return load_results(sweep)


# -- tables ----------------------------------------------------------------------------------
def test_tables_hold_every_trial_and_epoch_with_identity(loaded):
    assert len(loaded.trials) == len(GRID) * 3
    assert len(loaded.epochs) == len(GRID) * 3 * 4
    assert set(loaded.trials["status"]) == {"finished"}
    first = loaded.epochs.iloc[0]
    assert (first["model"], first["setting"], first["epoch"]) == ("vae", "VAE", 1)
    assert list(dict.fromkeys(loaded.final["setting"])) == [
        "VAE", "β-VAE β=1", "β-VAE β=4", "β-VAE β=16", "FactorVAE γ=10", "FactorVAE γ=40"]
    assert (loaded.final["epoch"] == 4).all()
    for column in ("reconstruction", "kl_dim_5", "paper_factor_vae_score", "images_per_second"):
        assert column in loaded.metrics
    assert "timestamp" not in loaded.metrics and "done" not in loaded.metrics


def test_summary_is_mean_std_median_over_seeds(loaded):
    summary = loaded.summary()
    row = summary[(summary["setting"] == "β-VAE β=4") & (summary["metric"] == "reconstruction")]
    expected = [final_numbers("beta_vae", 4.0, seed)["reconstruction"] for seed in (0, 1, 2)]
    assert row["count"].item() == 3
    assert row["mean"].item() == pytest.approx(np.mean(expected))
    assert row["std"].item() == pytest.approx(np.std(expected, ddof=1))
    assert row["median"].item() == pytest.approx(np.median(expected))
    assert score_column(loaded.final, "factor_vae") == "paper_factor_vae_score"


def test_tables_are_saved_as_csv_and_parquet(loaded, tmp_path):
    written = save_tables(loaded, tmp_path)
    assert set(written) == {"epochs", "trials", "final", "summary", "results"}
    for name in ("epochs", "trials", "final", "summary"):
        from_csv = pd.read_csv(tmp_path / f"{name}.csv")
        from_parquet = pd.read_parquet(tmp_path / f"{name}.parquet")
        assert from_csv.shape == from_parquet.shape and len(from_csv) > 0
    epochs = pd.read_parquet(tmp_path / "epochs.parquet")
    assert epochs["reconstruction"].tolist() == pytest.approx(
        loaded.epochs["reconstruction"].tolist())


def test_the_results_table_alone_gives_the_same_tables(loaded, tmp_path):
    """The analysis redone from results.csv.gz (no trial folders, no checkpoints) reads the
    same models, epochs, statuses and summary."""
    table = save_tables(loaded, tmp_path)["results"]
    again = load_results(table)
    assert again.trials.set_index("trial_id")["status"].equals(
        loaded.trials.set_index("trial_id")["status"])
    columns = ["trial_id", "setting", "seed", "epoch", "reconstruction", "paper_factor_vae_score"]
    pd.testing.assert_frame_equal(again.final[columns].reset_index(drop=True),
                                  loaded.final[columns].reset_index(drop=True))
    pd.testing.assert_frame_equal(again.summary(), loaded.summary())
    with pytest.raises(UserError, match="not a results table"):
        load_results(save_tables(loaded, tmp_path / "other")["summary"])


def test_progress_csv_alone_gives_the_same_numbers(tmp_path):
    config = {"model": "beta_vae", "beta": 4.0, "gamma": 10.0, "seed": 0}
    rows = epoch_rows(final_numbers("beta_vae", 4.0, 0), "beta_vae", 4.0, 3, "t1", config)
    write_trial(tmp_path / "json" / "trial", config, rows, formats=("json",))
    write_trial(tmp_path / "csv" / "trial", config, rows, formats=("csv",))
    from_json, from_csv = load_results(tmp_path / "json"), load_results(tmp_path / "csv")
    assert from_csv.epochs["factor_vae_score"].tolist() == pytest.approx(
        from_json.epochs["factor_vae_score"].tolist())
    assert from_csv.final["setting"].item() == "β-VAE β=4"


def test_partial_sweep_running_restored_and_just_started_trials(tmp_path):
    config = {"model": "factor_vae", "beta": 1.0, "gamma": 20.0, "seed": 0}
    rows = epoch_rows(final_numbers("factor_vae", 20.0, 0), "factor_vae", 20.0, 5, "run", config)
    running = write_trial(tmp_path / "running", config, rows[:3], formats=("json",))
    with open(running / "result.json", "a") as handle:  # Tune is writing epoch 4 right now
        handle.write(json.dumps(rows[3])[:40])
    restored_rows = rows[:3] + [dict(rows[1], reconstruction=1.5)] + rows[2:4]
    write_trial(tmp_path / "restored", dict(config, seed=1),
                [dict(r, trial_id="res") for r in restored_rows], formats=("json",))
    write_trial(tmp_path / "started", dict(config, seed=2), [], formats=("json",))
    (tmp_path / "started" / "result.json").write_text("")
    loaded = load_results(tmp_path)
    status = dict(zip(loaded.trials["tune_trial"], loaded.trials["status"]))
    assert status["run"] == "incomplete" and len(loaded.trials) == 3
    assert loaded.trials.set_index("tune_trial").loc["run", "epochs"] == 3
    restored = loaded.epochs[loaded.epochs["tune_trial"] == "res"]
    assert restored["epoch"].tolist() == [1, 2, 3, 4]  # repeated epochs: the last report wins
    assert restored.loc[restored["epoch"] == 2, "reconstruction"].item() == 1.5
    assert sorted(loaded.final["epoch"]) == [3, 4]  # the just-started trial has no epoch yet


def test_a_single_trial_folder(sweep):
    trial = sorted(sweep.iterdir())[0]
    loaded = load_results(trial)
    assert len(loaded.trials) == 1 and len(loaded.epochs) == 4
    assert loaded.trials["setting"].item() == "VAE"


def test_a_folder_without_trials_is_a_user_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no Ray Tune trial folders"):
        load_results(tmp_path / "empty")
    with pytest.raises(UserError, match="not a folder"):
        load_results(tmp_path / "missing")


def test_settings_and_models_come_from_the_trial_config(tmp_path):
    """A sweep writes each trial's models with their setting (here two learning rates of
    β = 2 are two settings); a stacked trial's row gives one row per model; a config with
    flat keys and ``setting_keys`` (an Optuna trial) is named by those keys."""
    def member(beta, lr, seed):
        setting = f"β-VAE β={beta} lr={lr:g}"
        return {"model": "beta_vae", "beta": beta, "seed": seed, "lr": lr, "setting": setting,
                "name": f"beta_vae_beta={beta}_lr={lr:g}_seed={seed}"}

    stacked = [member(2, 1e-4, 0), member(2, 1e-4, 1)]
    rows = []
    for epoch in (1, 2):
        row = {"training_iteration": epoch, "trial_id": "stack", "done": epoch == 2,
               "reconstruction": 99.0, "models": {}}
        for m in stacked:
            row["models"][m["name"]] = {"reconstruction": 10.0 * epoch + m["seed"], "kl": 1.0}
        rows.append(row)
    write_trial(tmp_path / "stack", {"models": stacked, "lr": 1e-4}, rows)
    single = member(2, 3e-4, 0)
    write_trial(tmp_path / "single", {"models": [single], "lr": 3e-4},
                [{"training_iteration": 1, "trial_id": "one", "done": True,
                  "models": {single["name"]: {"reconstruction": 5.0}}}])
    write_trial(tmp_path / "optuna", {"model": "beta_vae", "beta": 8.0, "lr": 2e-4,
                                      "seeds": [0], "setting_keys": ["beta", "lr"]},
                [{"training_iteration": 1, "trial_id": "opt", "done": True,
                  "models": {"beta_vae_beta=8_lr=0.0002_seed=0": {"reconstruction": 7.0}}}])
    loaded = load_results(tmp_path)
    final = loaded.final.set_index("trial_id")
    assert final.loc["stack/" + stacked[1]["name"], "reconstruction"] == 21.0
    assert final.loc["stack/" + stacked[0]["name"], "setting"] == "β-VAE β=2 lr=0.0001"
    assert final.loc["one/" + single["name"], "setting"] == "β-VAE β=2 lr=0.0003"
    assert final.loc["opt/beta_vae_beta=8_lr=0.0002_seed=0", "setting"] == "β-VAE β=8 lr=0.0002"
    assert final.loc["opt/beta_vae_beta=8_lr=0.0002_seed=0", "reconstruction"] == 7.0
    assert sorted(loaded.summary().query("metric == 'reconstruction'")["count"]) == [1, 1, 2]


# -- figures, traversals, the report and the command --------------------------------------------
PNG_MAGIC, PDF_MAGIC = b"\x89PNG", b"%PDF"
FIGURES = {"tradeoff", "training_curves", "metrics_vs_hyperparameter", "score_agreement",
           "metric_correlations", "kl_per_dimension", "locatello_rank_correlations",
           "locatello_score_distributions", "locatello_scores_by_hyperparameter",
           "locatello_variance_shares", "locatello_selection_transfer"}


def assert_figure_files(figure) -> None:
    assert figure.png.read_bytes()[:4] == PNG_MAGIC and figure.png.stat().st_size > 5000
    assert figure.pdf.read_bytes()[:4] == PDF_MAGIC and figure.pdf.stat().st_size > 1000


def test_figures_of_a_sweep_without_scores_are_skipped_not_crashed(tmp_path):
    from analysis.figures import all_figures

    config = {"model": "vae", "seed": 0}
    rows = [{"reconstruction": 40.0 - epoch, "training_iteration": epoch, "trial_id": "t"}
            for epoch in (1, 2)]
    write_trial(tmp_path / "sweep" / "trial", config, rows)
    loaded = load_results(tmp_path / "sweep")
    names = {f.name for f in all_figures(loaded.epochs, loaded.final, tmp_path / "figures")}
    assert names == {"training_curves"}


def write_checkpoint_for(trial_path: Path) -> Path:
    """A real checkpoint of an untrained network where the Trainable puts the model that the
    trial's params.json names."""
    import torch

    from disentangle.models import build_model, make_checkpoint, write_checkpoint
    from disentangle.training import model_file
    from disentangle.training.config import members_of

    member = members_of(json.loads((trial_path / "params.json").read_text()))[0]
    torch.manual_seed(member["seed"])
    model = build_model("standard", latent_dim=LATENT_DIM, hidden_dim=32)
    info = {"architecture": "standard", "build": model.build_options(), "model": member["model"]}
    return write_checkpoint(make_checkpoint(info, model.state_dict()),
                            model_file(trial_path / "checkpoint_000003", member["name"]))


def test_traversals_of_best_and_median_model_per_kind(tmp_path):
    from analysis.traversals import (
        TRAVERSAL_VALUES,
        kl_order,
        measured_kl,
        traversals,
        traverse,
        with_seed_column,
    )

    sweep = write_sweep(tmp_path / "sweep", [("beta_vae", 4.0)], seeds=(0, 1, 2), epochs=2)
    for number, trial in enumerate(sorted(sweep.iterdir())):
        (trial / "params.json").write_text(json.dumps(  # no data: traverse around z = 0
            {"model": "beta_vae", "beta": 4.0, "seed": number, "dataset": "no-such-dataset"}))
        write_checkpoint_for(trial)
    loaded = load_results(sweep)
    figure, notes = traversals(loaded.final, loaded.trials, tmp_path / "figures")
    assert_figure_files(figure)
    traversed = [note for note in notes if "traversed around the prior mean" in note]
    assert len(traversed) == 2 and "best" in traversed[0] and "median" in traversed[1]
    assert kl_order([0.1, 3.0, 0.0, 2.0, 0.5, 1.0]) == [1, 3, 5, 4, 0, 2]
    assert kl_order([math.nan, 0.5]) == [1, 0]
    from disentangle.models import load_model

    model = load_model(sorted(sweep.iterdir())[1] / "checkpoint_000003"
                       / "beta_vae_beta=4_seed=1.pt")
    images = traverse(model, np.zeros((1, 64, 64), np.float32), [1, 3])
    assert images.shape == (2 * len(TRAVERSAL_VALUES), 1, 64, 64)
    assert 0 <= images.min() and images.max() <= 1
    seed = np.full((1, 64, 64), 0.25, np.float32)
    framed = with_seed_column(images, seed, rows=2)  # the input image leads the first row
    assert framed.shape == (2 * (len(TRAVERSAL_VALUES) + 1), 1, 64, 64)
    assert (framed[0] == 0.25).all() and (framed[len(TRAVERSAL_VALUES) + 1] == 1).all()
    assert (framed[1] == images[0]).all()
    kl = measured_kl(model, np.random.default_rng(0).random((8, 1, 64, 64), np.float32))
    assert kl.shape == (LATENT_DIM,) and (kl >= 0).all()


@pytest.mark.parametrize("seeds, roles", [((0,), ["best"]), ((0, 1), ["best"]),
                                          ((0, 1, 2), ["best", "median"])])
def test_traversals_show_a_median_model_only_from_three_models_of_a_kind(tmp_path, seeds, roles):
    from analysis.traversals import select_models

    sweep = write_sweep(tmp_path / "sweep", [("beta_vae", 4.0)], seeds=seeds, epochs=2)
    for trial in sweep.iterdir():
        write_checkpoint_for(trial)
    loaded = load_results(sweep)
    selections, missing = select_models(loaded.final, loaded.trials)
    assert [chosen.role for chosen in selections] == roles and missing == []


@pytest.fixture(scope="module")
def analysis(sweep, tmp_path_factory):
    from analysis.report import analyze

    write_checkpoint_for(sorted(sweep.iterdir())[0])
    sanity = tmp_path_factory.mktemp("sanity") / "sanity.csv"
    pd.DataFrame({"case": ["factors", "all but one"], "beta_vae_score": [1.0, 1.0],
                  "factor_vae_score": [1.0, 0.82], "expectation": ["both ~1", "drop"]}
                 ).to_csv(sanity, index=False)
    return analyze(sweep, tmp_path_factory.mktemp("out") / "analysis", sanity=sanity)


def test_report_states_each_claim_with_verdict_evidence_and_figures(analysis):
    text = analysis.report.read_text(encoding="utf-8")
    verdicts = {v.key: v.verdict for v in analysis.verdicts}
    assert verdicts == {
        "higgins": CONFIRMED, "reconstruction_vs_beta": CONFIRMED,
        "disentanglement_vs_beta": CONTRADICTED,  # rises to β = 16: the maximum at an end
        "better_tradeoff": CONFIRMED,
        "reconstruction_kept": INCONCLUSIVE,  # γ = 40 costs 11% ± the seeds, margin 10%
        "tc_vs_gamma": NOT_ENOUGH_DATA, "tc_discriminator": NOT_ENOUGH_DATA,  # no large TC
        "metric_critique": CONFIRMED, "critique_trained": NOT_ENOUGH_DATA,
        "locatello": INCONCLUSIVE,
        "locatello_objective": INCONCLUSIVE,  # 3 objectives: 2 df for their variance
        "locatello_selection": INCONCLUSIVE}
    for claim in ("Higgins et al. 2017", "Kim & Mnih 2018 (FactorVAE)", "Locatello et al. 2019",
                  "critique of the BetaVAE metric", "reconstruction error rises with β"):
        assert claim in text
    assert "3 per setting (3 settings)" in text  # Higgins: VAE, β = 4, 16; β = 1 counted once
    assert "| β-VAE β=1 | 0 | finished | the same model as VAE seed 0" in text
    assert "paper_beta_vae_score" in text and "(97.5% CI)" in text
    assert "## Side by side with the papers" in text and "Higgins et al. 2017, Fig. 6" in text
    for figure in analysis.figures:  # every figure written as PNG and PDF, and embedded
        assert f"](figures/{figure.png.name})" in text and figure.caption in text
        assert_figure_files(figure)
    assert {f.name for f in analysis.figures} == FIGURES | {"traversals", "metric_sanity"}
    for table in ("epochs.parquet", "sanity.csv", "selected.csv", "left_out.csv", "papers.csv"):
        assert (analysis.out_dir / "tables" / table).is_file()
    assert len(pd.read_csv(analysis.out_dir / "tables" / "selected.csv")) == 15
    assert not list(analysis.out_dir.parent.glob(".analysis.*"))  # no staging left behind


def test_report_of_a_single_trial_says_what_is_missing(sweep, tmp_path):
    from analysis.report import analyze

    result = analyze(sorted(sweep.iterdir())[-1], tmp_path / "one", sanity="off")
    text = result.report.read_text(encoding="utf-8")
    assert {v.verdict for v in result.verdicts} == {NOT_ENOUGH_DATA}
    assert "## What is missing" in text and "sanity suite was not run" in text
    assert "traversals skipped" in text


def test_analyze_refuses_to_overwrite_a_foreign_folder_and_replaces_its_own(sweep, tmp_path):
    from analysis.report import analyze

    sweep = sorted(sweep.iterdir())[0]  # one trial keeps this test quick
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("keep me")
    with pytest.raises(UserError, match="not an earlier analysis"):
        analyze(sweep, foreign, sanity="off", traversals=False)
    assert (foreign / "thesis.tex").read_text() == "keep me"
    first = analyze(sweep, tmp_path / "mine", sanity="off", traversals=False)
    (first.out_dir / "stale.txt").write_text("from before")
    second = analyze(sweep, tmp_path / "mine", sanity="off", traversals=False)
    assert second.report.is_file() and not (second.out_dir / "stale.txt").exists()


def test_command_line(sweep, tmp_path, capsys):
    from study.cli import main

    out, sweep = tmp_path / "cli", sorted(sweep.iterdir())[0]
    assert main(["analyze", str(sweep), "--out", str(out), "--sanity", "off",
                 "--no-traversals", "--min-seeds", "4"]) == 0
    printed = capsys.readouterr().out
    assert f"report:  {out / 'report.md'}" in printed and "not enough data" in printed
    assert main(["analyze", str(tmp_path / "nothing-here")]) == 2
    assert "vae-study: error:" in capsys.readouterr().err
    assert main(["analyze", str(sweep), "--min-seeds", "1"]) == 2
