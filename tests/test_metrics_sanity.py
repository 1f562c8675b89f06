"""The sanity suite: what each metric must show on hand-built representations of dSprites'
factors (the orderings Higgins et al. and Kim & Mnih argue, and chance levels)."""

import numpy as np
import pandas as pd
import pytest

from analysis.figures import metric_sanity
from disentangle.metrics.sanity import (
    DSPRITES_FACTORS,
    FactorObservations,
    format_table,
    run_sanity_suite,
)

K = len(DSPRITES_FACTORS)
SETTINGS = {"beta_vae_num_train": 1000, "beta_vae_num_eval": 1000,
            "factor_vae_num_train": 1000, "factor_vae_num_eval": 1000,
            "factor_vae_num_variance_estimate": 5000}


@pytest.fixture(scope="module")
def scores():
    rows = run_sanity_suite(preset="fast", seed=0, **SETTINGS)
    return {row["case"]: row for row in rows}


def test_factor_observations_are_the_factors():
    data = FactorObservations()
    assert data.factors_num_values == (3, 6, 40, 32, 32) and len(data) == 737_280
    factors, observations = data.sample(7, np.random.RandomState(0))
    assert observations.shape == (7, K, 1, 1)
    np.testing.assert_array_equal(observations[:, :, 0, 0], factors)


def test_the_factors_themselves_score_one(scores):
    for case in ("factors", "split factor", "warp", "collapsed dims"):
        assert scores[case]["beta_vae_score"] >= 0.99, case
        assert scores[case]["factor_vae_score"] >= 0.99, case


def test_a_rotation_is_entangled_for_both(scores):
    assert scores["rotation"]["beta_vae_score"] < scores["factors"]["beta_vae_score"] - 0.03
    assert scores["rotation"]["factor_vae_score"] < scores["factors"]["factor_vae_score"] - 0.1


def test_all_but_one_factor_fools_only_the_beta_vae_metric(scores):
    row = scores["all but one"]
    assert row["beta_vae_score"] >= 0.99
    assert row["factor_vae_score"] == pytest.approx((K - 1) / K, abs=0.04)
    assert row["factor_vae_active_dims"] == K - 1


def test_noise_scores_chance(scores):
    assert scores["noise"]["beta_vae_score"] == pytest.approx(1 / K, abs=0.04)
    assert scores["noise"]["factor_vae_score"] == pytest.approx(1 / K, abs=0.04)
    # the majority vote fits the noise of its own training votes, never the evaluation's
    assert scores["noise"]["factor_vae_train_accuracy"] > scores["noise"]["factor_vae_score"]


def test_collapsed_dimensions_are_pruned(scores):
    assert scores["collapsed dims"]["factor_vae_active_dims"] == K
    row = scores["all collapsed"]
    assert row["factor_vae_active_dims"] == 0 and row["factor_vae_score"] == 0.0
    assert "collapsed" in row["factor_vae_warning"]
    assert row["beta_vae_score"] == pytest.approx(1 / K, abs=0.04)


def test_table_and_figure(scores, tmp_path):
    table = format_table(list(scores.values()))
    assert table.splitlines()[0].startswith("case") and len(table.splitlines()) == 1 + 8
    figure = metric_sanity(pd.DataFrame(list(scores.values())), tmp_path, name="sanity").png
    assert figure.stat().st_size > 10_000 and not list(tmp_path.glob("*.tmp*"))


def test_cli_writes_table_and_figure(tmp_path, capsys):
    from study.cli import main

    assert main(["metrics", "sanity", "--preset", "fast", "--out", str(tmp_path)]) == 0
    output = capsys.readouterr().out
    assert "all but one" in output and (tmp_path / "sanity.png").is_file()
    lines = (tmp_path / "sanity.csv").read_text().splitlines()
    assert lines[0].startswith("case,beta_vae_score") and len(lines) == 9
