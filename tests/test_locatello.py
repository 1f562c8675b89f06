"""Locatello et al. 2019's study on constructed results tables (one row per model, as
``analysis.selection`` gives them): the nested variance decomposition and the selection-transfer
probability against their definitions, both claims coming out confirmed, contradicted,
inconclusive or not enough data as their rules say, the figures, and the report's section."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from test_analysis import assert_figure_files

from analysis.claims import all_verdicts
from analysis.locatello.claims import no_metric_selects_for_the_others, objective_matters_less
from analysis.locatello.figures import (
    locatello_figures,
    metric_rank_correlations,
    rank_correlations,
    selection_transfer,
    variance_shares,
)
from analysis.locatello.report import study_lines
from analysis.locatello.statistics import beats_random, nested_components, nested_shares
from analysis.verdicts.framework import CONFIRMED, CONTRADICTED, INCONCLUSIVE, NOT_ENOUGH_DATA
from disentangle import kinds

KINDS = ("beta_vae", "factor_vae", "beta_tcvae")
ALL_SWEPT = KINDS + ("dip_vae_i", "dip_vae_ii", "annealed_vae")


def synthetic(scores, kinds_used=KINDS, values: int = 3, seeds: int = 3,
              seed: int = 0) -> pd.DataFrame:
    """One row per model: every kind at its first ``values`` paper-grid values, ``seeds`` seeds.
    ``scores(kind, value, seed, rng)`` (kind, value and seed as indices) gives each model's
    numbers."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, key in enumerate(kinds_used):
        kind = kinds.KINDS[key]
        for v, value in enumerate(kind.hyperparameter.paper_grid[:values]):
            for s in range(seeds):
                identity = {name: np.nan for name in kinds.hyperparameter_keys()}
                identity.update({"model": key, "setting": kind.label(value), "seed": s,
                                 "hyperparameter": kind.hyperparameter.key, "value": value,
                                 kind.hyperparameter.key: value})
                rows.append({**identity, **scores(k, v, s, rng)})
    return pd.DataFrame(rows)


# -- the statistics against their definitions -----------------------------------------------------
def test_nested_components_match_the_hand_computation_and_are_unbiased_unbalanced():
    # balanced by hand: setting means 1, 4 | 11, 14 (N 12); MS_seed 1; SS_objective 300 on 1
    # df, SS_hyperparameter 27 on 2 df: s2_o = (300 - 1) / 12, s2_h = (27 - 2) / 12 (the grid's
    # 25 and 2.25, less the seeds' share of the sums of squares)
    data = [[np.array([[0.0, 1, 2]]), np.array([[3.0, 4, 5]])],
            [np.array([[10.0, 11, 12]]), np.array([[13.0, 14, 15]])]]
    components = np.array([299 / 12, 25 / 12, 1.0])
    assert nested_components(data)[0] == pytest.approx(components)
    assert nested_shares(data)[0] == pytest.approx(components / components.sum())
    # unequal sizes, one objective at a single setting (the VAE), fixed effects: the
    # method-of-moments estimates average to the grid's weighted variances over 20,000 studies
    rng = np.random.default_rng(0)
    design, count = [[3, 5], [4, 2, 6], [5]], 20_000
    means = [[0.0, 1.0], [2.0, 0.5, 3.0], [-1.0]]
    sizes = np.concatenate([np.array(s, float) for s in design])
    flat = np.concatenate([np.array(m) for m in means])
    objective_means = [np.average(m, weights=s) for m, s in zip(means, design)]
    grand = np.average(flat, weights=sizes)
    truth = (sum(sum(s) * (o - grand) ** 2 for s, o in zip(design, objective_means)) / sizes.sum(),
             sum(n * (m - o) ** 2 for ms, s, o in zip(means, design, objective_means)
                 for m, n in zip(ms, s)) / sizes.sum(), 0.25)
    studies = [[m + rng.normal(0, 0.5, (count, n)) for m, n in zip(ms, s)]
               for ms, s in zip(means, design)]
    assert nested_components(studies).mean(axis=0) == pytest.approx(truth, rel=0.03)
    with pytest.raises(ValueError, match="2 objectives"):
        nested_components([[np.ones((1, 3)), np.zeros((1, 3))]])


def test_beats_random_is_the_selected_models_target_rank_among_the_others():
    # columns: selector (higher better), target; the selected model (0.9) is 3rd of 4 on the
    # target: it beats 2 of the 3 others
    pool = np.array([[[0.1, 4.0], [0.9, 3.0], [0.5, 1.0], [0.2, 2.0]]])
    assert beats_random(pool, [0], [1], [1])[0, 0, 0] == pytest.approx(2 / 3)
    assert beats_random(pool, [0], [-1], [1])[0, 0, 0] == pytest.approx(1.0)  # lower: 0.1
    assert beats_random(pool, [1], [1], [1])[0, 0, 0] == pytest.approx(1.0)   # itself
    tied = np.array([[[1.0, 4.0], [1.0, 1.0], [0.0, 2.0]]])   # two selected share: (1 + 0) / 2
    assert beats_random(tied, [0], [1], [1])[0, 0, 0] == pytest.approx(0.5)
    ties = np.array([[[1.0, 2.0], [0.0, 2.0], [0.5, 1.0]]])   # a tie on the target counts half
    assert beats_random(ties, [0], [1], [1])[0, 0, 0] == pytest.approx(0.75)


# -- claim 1: the seed and hyperparameter matter more than the objective --------------------------
def metrics_of(level):
    """Two metrics that move together with ``level(kind, value, seed, rng)``."""
    def scores(k, v, s, rng):
        base = level(k, v, s, rng)
        return {"beta_vae_score": base + rng.normal(0, 0.005),
                "mig_score": 0.5 * base + rng.normal(0, 0.005)}
    return scores


def test_objective_claim_confirmed_when_seeds_dominate():
    """Six objectives, and three: the shares describe the grid swept (fixed effects), so three
    objectives decide it as well as six (a random-effects interval, with two degrees of freedom
    for a population of objectives, reached past one half whatever the data)."""
    table = synthetic(metrics_of(lambda k, v, s, rng: 0.5 + 0.01 * k + 0.02 * v
                                 + rng.normal(0, 0.15)), kinds_used=ALL_SWEPT, seeds=5)
    verdict = objective_matters_less(table)
    assert verdict.verdict == CONFIRMED, verdict.evidence
    assert "objectives: β-VAE 3 setting(s); FactorVAE 3 setting(s); β-TCVAE 3 setting(s)" \
        in verdict.evidence[0]
    three = objective_matters_less(synthetic(metrics_of(
        lambda k, v, s, rng: 0.5 + 0.01 * k + 0.02 * v + rng.normal(0, 0.15)), seeds=5))
    assert three.verdict == CONFIRMED, three.evidence
    assert all("shares of the variance" in line for line in verdict.evidence[1:])
    assert any("MIG (mig_score)" in line for line in verdict.evidence)
    assert "metrics not reported: FactorVAE, DCI disentanglement" in verdict.missing[0]


def test_objective_claim_contradicted_when_the_objective_dominates():
    table = synthetic(metrics_of(lambda k, v, s, rng: 0.2 + 0.3 * k + 0.01 * v
                                 + rng.normal(0, 0.01)))
    verdict = objective_matters_less(table)
    assert verdict.verdict == CONTRADICTED, verdict.evidence
    assert "objective 0.99 [0.97, 1.00]" in verdict.evidence[1]


def test_objective_claim_inconclusive_when_noisy():
    """Objectives about as far apart as the seeds spread, three seeds: the seeds' luck moves
    the objectives' share across one half."""
    table = synthetic(metrics_of(lambda k, v, s, rng: 0.5 + 0.15 * k + rng.normal(0, 0.2)),
                      seed=2)
    verdict = objective_matters_less(table)
    assert verdict.verdict == INCONCLUSIVE, verdict.evidence
    for line in verdict.evidence[1:]:
        low, high = map(float, re.search(r"objective [\d.]+ \[([\d.]+), ([\d.]+)\]",
                                         line).groups())
        assert low < 0.5 < high


def test_objective_claim_says_what_is_missing():
    one_kind = synthetic(metrics_of(lambda k, v, s, rng: rng.normal()), kinds_used=("beta_vae",))
    verdict = objective_matters_less(one_kind)
    assert verdict.verdict == NOT_ENOUGH_DATA
    assert "need 2 model kinds" in verdict.missing[-1] and "not trained: VAE, FactorVAE" in \
        verdict.missing[-1]
    two_seeds = synthetic(metrics_of(lambda k, v, s, rng: rng.normal()), seeds=2)
    verdict = objective_matters_less(two_seeds)
    assert verdict.verdict == NOT_ENOUGH_DATA
    assert any(line.startswith("β-VAE β=1: 2 model(s), need 3 (80% power for a difference of "
                               "1 seed-sd") for line in verdict.missing)
    partial = synthetic(metrics_of(lambda k, v, s, rng: rng.normal()))
    partial.loc[0, "mig_score"] = np.nan
    verdict = objective_matters_less(partial)
    assert "MIG (mig_score) reported for 26 of 27 models: left out" in verdict.missing
    assert not any("MIG" in line for line in verdict.evidence)


# -- claim 2: no metric reliably selects for the others -------------------------------------------
def quality_scores(shared: float, unsupervised_tracks: bool = False):
    """Two metrics that share ``shared`` of a model's quality, each with its own noise; the
    reconstruction error falls with the quality when ``unsupervised_tracks``, else is noise."""
    def scores(k, v, s, rng):
        quality = rng.normal()
        own = rng.normal(size=3)
        return {"beta_vae_score": shared * quality + own[0],
                "factor_vae_score": shared * quality + own[1],
                "reconstruction": -quality if unsupervised_tracks else 30 + own[2]}
    return scores


def test_selection_claim_confirmed_when_the_metrics_disagree():
    """The metrics rank the hyperparameter values in opposite orders: each score picks values
    that lose to random ones on some other metric."""
    def scores(k, v, s, rng):
        quality = (v - 2.5) * 2
        return {"beta_vae_score": quality + rng.normal(), "factor_vae_score": -quality
                + rng.normal(), "reconstruction": 30 + quality + rng.normal()}

    verdict = no_metric_selects_for_the_others(synthetic(scores, values=6, seeds=5))
    assert verdict.verdict == CONFIRMED, verdict.evidence
    assert verdict.evidence[0].startswith("selecting by BetaVAE, P on each metric")
    assert "selecting by reconstruction error ↓" in verdict.evidence[2]
    assert verdict.evidence[-1] == "3 kinds (β-VAE, FactorVAE, β-TCVAE), 90 models"


def test_selection_claim_contradicted_when_the_scores_agree():
    """Both metrics and the reconstruction error (its lowest selected) follow one quality of
    the hyperparameter value."""
    def scores(k, v, s, rng):
        quality = v + 0.5 * rng.normal()
        return {"beta_vae_score": quality + 0.5 * rng.normal(),
                "factor_vae_score": quality + 0.5 * rng.normal(), "reconstruction": -quality}

    verdict = no_metric_selects_for_the_others(synthetic(scores, values=6, seeds=5))
    assert verdict.verdict == CONTRADICTED, verdict.evidence
    assert "above chance for 1 of 1" in verdict.evidence[0]
    assert "selecting by reconstruction error ↓" in verdict.evidence[2] and \
        "above chance for 2 of 2" in verdict.evidence[2]


def test_selection_claim_reports_modularity_apart():
    def scores(k, v, s, rng):
        quality = v + 0.5 * rng.normal()
        return {"beta_vae_score": quality + 0.5 * rng.normal(),
                "factor_vae_score": quality + 0.5 * rng.normal(),
                "modularity_score": -quality + 0.5 * rng.normal()}

    verdict = no_metric_selects_for_the_others(synthetic(scores, values=6, seeds=5))
    assert verdict.verdict == CONTRADICTED, verdict.evidence  # Modularity would confirm it
    assert verdict.evidence[-2].startswith("Modularity, reported apart: P on it")
    assert not any("Modularity" in line for line in verdict.evidence[:-2])


def test_selection_claim_needs_kinds_and_scores():
    few = synthetic(lambda k, v, s, rng: {"beta_vae_score": rng.normal(),
                                          "factor_vae_score": rng.normal()}, values=1, seeds=5)
    verdict = no_metric_selects_for_the_others(few)
    assert verdict.verdict == NOT_ENOUGH_DATA
    assert "0 model kind(s) with 2 settings of 3 seeds in common, need 2 (each kind is one " \
        "selection experiment)" in verdict.missing
    alone = few.drop(columns=["factor_vae_score"])
    assert "need a disentanglement metric besides Modularity and another" in \
        no_metric_selects_for_the_others(alone).missing[-1]


# -- figures and the report -----------------------------------------------------------------------
def figure_scores(k, v, s, rng):
    quality = 0.4 + 0.1 * k + 0.05 * v + rng.normal(0, 0.08)
    return {"beta_vae_score": quality + rng.normal(0, 0.05),
            "factor_vae_score": quality + rng.normal(0, 0.05),
            "mig_score": 0.5 * quality + rng.normal(0, 0.05),
            "reconstruction": 30 - 10 * quality + rng.normal(), "kl": 10 + rng.normal()}


@pytest.fixture(scope="module")
def study():
    return synthetic(figure_scores, values=2)


def test_every_figure_is_written_and_each_degrades_to_what_is_present(study, tmp_path):
    figures = locatello_figures(study, tmp_path)
    assert [f.name for f in figures] == [
        "locatello_rank_correlations", "locatello_score_distributions",
        "locatello_scores_by_hyperparameter", "locatello_variance_shares",
        "locatello_selection_transfer"]
    for figure in figures:
        assert_figure_files(figure)
    one_kind_one_metric = study[study["model"] == "beta_vae"][
        ["model", "setting", "seed", "value", "beta", "beta_vae_score"]]
    for needs_more in (metric_rank_correlations, variance_shares, selection_transfer):
        assert needs_more(one_kind_one_metric, tmp_path / "one") is None
    assert not (tmp_path / "one").exists()


def test_rank_correlations_are_spearmans_rho_over_the_models(study):
    matrix = rank_correlations(study)
    assert list(matrix.columns) == ["BetaVAE", "FactorVAE", "MIG"]
    assert list(matrix.index) == ["BetaVAE", "FactorVAE", "MIG", "reconstruction error", "KL"]
    expected = study["beta_vae_score"].corr(study["reconstruction"], method="spearman")
    assert matrix.loc["reconstruction error", "BetaVAE"] == pytest.approx(expected)
    assert expected < -0.5  # the construction: quality lowers the error


def test_the_report_states_both_claims_and_the_matrices(study):
    verdicts = {v.key: v for v in all_verdicts(study)}
    assert {"locatello_objective", "locatello_selection"} <= set(verdicts)
    assert verdicts["locatello_selection"].seeds == {setting: 3 for setting in study["setting"]}
    assert verdicts["locatello_objective"].rule.startswith("for each disentanglement metric")
    text = "\n".join(study_lines(study))
    assert "not trained: VAE, DIP-VAE-I, DIP-VAE-II, AnnealedVAE" in text
    assert "| ρ | BetaVAE | FactorVAE | MIG |" in text
    assert "| metric | objective | hyperparameter | seed |" in text
    assert "a hyperparameter value within each of 3 kinds, judged on other seeds " \
        "(averaged)" in text
    assert "a model among all 18 models" in text
    assert "| KL ↓ |" in text
    assert study_lines(study.iloc[:0]) == ["No finished model at a common step: nothing to "
                                           "compare.", ""]
