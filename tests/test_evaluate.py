"""``vae-study evaluate``: scoring checkpoints (here the public pre-trained dSprites beta-TCVAE)."""

import csv
import json
from pathlib import Path

import pytest

from study.cli import main

PRETRAINED = Path(__file__).resolve().parents[2] / "shared/pretrained/disentangling-vae"
TINY = ["--set", "beta_vae_num_train=20", "--set", "beta_vae_num_eval=10",
        "--set", "factor_vae_num_train=20", "--set", "factor_vae_num_eval=10",
        "--set", "factor_vae_num_variance_estimate=300", "--preset", "fast"]


@pytest.fixture(scope="module")
def pretrained_folder():
    folder = PRETRAINED / "btcvae_dsprites"
    if not (folder / "model.pt").is_file():
        pytest.skip("the pre-trained checkpoints (../shared/pretrained) are absent")
    return folder


def test_scores_a_pretrained_checkpoint(pretrained_folder, tmp_path, capsys):
    out = tmp_path / "scores.json"
    assert main(["evaluate", str(pretrained_folder), "--out", str(out), "--device", "cpu",
                 *TINY]) == 0
    (row,) = json.loads(out.read_text())
    assert row["model"] == "beta_tcvae" and row["architecture"] == "burgess"
    for metric in ("beta_vae", "factor_vae"):  # 20 training and 10 evaluation points
        assert row[f"{metric}_train_accuracy"] > 0.4  # well above chance, 1/5
        assert round(row[f"{metric}_score"] * 10, 9) == round(row[f"{metric}_score"] * 10)
    assert row["factor_vae_active_dims"] == 5  # it switched 5 of its 10 dimensions off
    votes = row["factor_vae"]["eval_votes"]
    assert len(votes) == 5 and sum(map(sum, votes)) == 10
    assert "BetaVAE" in capsys.readouterr().out
    # the same draws as CSV
    table = tmp_path / "scores.csv"
    assert main(["evaluate", str(pretrained_folder), "--out", str(table), "--device", "cpu",
                 *TINY]) == 0
    (csv_row,) = csv.DictReader(table.open())
    assert float(csv_row["beta_vae_score"]) == row["beta_vae_score"]
    assert float(csv_row["factor_vae_score"]) == row["factor_vae_score"]


@pytest.mark.parametrize("arguments, message", [
    (["--set", "beta_vae_num_train=0"], "beta_vae_num_train"),
    (["--set", "factor_vae_batch_size=1"], "batch_size=1"),
    (["--set", "num_train=5"], "prefix it"),
    (["--set", "beta_vae_num_train"], "NAME=VALUE"),
    (["--out", "scores.txt"], ".csv or .json"),
])
def test_bad_input_exits_2_with_one_line(arguments, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", str(tmp_path / "missing.pt"), *arguments]) == 2
    error = capsys.readouterr().err
    assert message in error.replace("beta_vae setting num_train", "beta_vae_num_train")
    assert not list(tmp_path.iterdir())


def test_missing_checkpoint_exits_2(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing.pt")]) == 2
    assert "vae-study: error:" in capsys.readouterr().err
