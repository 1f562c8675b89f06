"""The verdicts a referee would accept (issue #15): constructed end-of-training tables where a
claim clearly holds (confirmed), clearly fails (contradicted) or cannot be decided
(inconclusive); the model selection (finished models, a common step, one preset, β = 1 once);
collapsed models; the metrics' fitting flags; the papers side by side; a deterministic report.
Each test names the earlier rule it would fail on."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_analysis import epoch_rows, final_numbers, write_trial

from analysis.claims import all_verdicts, collapsed
from analysis.locatello.claims import locatello_seed_vs_hyperparameter
from analysis.papers import side_by_side
from analysis.report_sections import collapsed_lines, fitting_lines
from analysis.results import load_results, score_column
from analysis.selection import select_models
from analysis.statistics import (
    PERMUTATIONS,
    fisher,
    log_ratio,
    mean_interval,
    seed_share,
    shift_test,
    spearman_rows,
    trend,
    welch,
)
from analysis.verdicts.framework import CONFIRMED, CONTRADICTED, INCONCLUSIVE, NOT_ENOUGH_DATA, Rule
from analysis.verdicts.metrics import (
    kim_mnih_critique_on_trained_models,
    kim_mnih_discriminator_tracks_tc,
    kim_mnih_metric_critique,
    kim_mnih_tc_falls_with_gamma,
)
from analysis.verdicts.training import (
    higgins_beta_beats_vae,
    kim_mnih_better_tradeoff,
    kim_mnih_disentanglement_peaks,
    kim_mnih_reconstruction_kept,
    kim_mnih_reconstruction_rises,
)
from disentangle import kinds


def models(model: str, value: float | None = None, **columns) -> list[dict]:
    """One row per seed of a setting; ``columns`` give each seed's numbers (a shorter list
    leaves the later seeds without that number)."""
    kind = kinds.KINDS[model]
    swept = kind.hyperparameter.key if kind.hyperparameter else None
    count = max(len(values) for values in columns.values())
    return [{"model": model, "setting": kind.label(value if swept else None), "seed": seed,
             "value": value if swept else np.nan,
             "beta": value if swept == "beta" else np.nan,
             "gamma": value if swept == "gamma" else np.nan,
             **{name: values[seed] if seed < len(values) else np.nan
                for name, values in columns.items()}}
            for seed in range(count)]


def table(*groups) -> pd.DataFrame:
    return pd.DataFrame([row for group in groups for row in group])


VAE = models("vae", reconstruction=[30.0, 30.5, 29.5], factor_vae_score=[0.60, 0.62, 0.61],
             beta_vae_score=[0.70, 0.72, 0.71])


# -- the statistics ------------------------------------------------------------------------------
def test_statistics_match_their_definitions():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(4, 12)), rng.normal(size=(4, 12))
    y[:, :3] = 1.0  # ties
    expected = [stats.spearmanr(a, b).statistic for a, b in zip(x, y)]
    assert spearman_rows(x, y) == pytest.approx(expected)
    assert math.isnan(spearman_rows(np.ones((1, 5)), x[:1, :5])[0])
    a, b = np.array([0.7, 0.75, 0.72, 0.8]), np.array([0.6, 0.62, 0.59])
    interval = welch(a[None], b[None], 0.95).take(0)   # scipy's Welch interval
    scipy_ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (interval.low, interval.high) == pytest.approx((scipy_ci.low, scipy_ci.high))
    assert interval.estimate == pytest.approx(0.7425 - 0.6033333)
    one = mean_interval(a[None], 0.9).take(0)
    assert (one.low, one.high) == pytest.approx(stats.t.interval(0.9, 3, a.mean(), stats.sem(a)))
    # two settings: the trend is their difference; the log ratio is the delta method's
    assert trend([b[None], a[None]], 0.95).take(0) == interval
    ratio = log_ratio(a[None], b[None], 0.95).take(0)
    assert ratio.estimate == pytest.approx(math.log(a.mean() / b.mean()))
    # Fisher's z with Bonett & Wright's standard error, n = 12
    r = fisher(np.array([0.5]), 12, 0.95).take(0)
    half = stats.norm.ppf(0.975) * math.sqrt(1.125 / 9)
    assert (r.low, r.high) == pytest.approx((math.tanh(math.atanh(0.5) - half),
                                             math.tanh(math.atanh(0.5) + half)))
    # fixed settings: 2 settings of 3, means 0 and 3, within variance 1 (MS_within 1,
    # MS_between 13.5, F 13.5 on (1, 4)): the settings' variance over the grid is 2.25 and its
    # estimate (F − 1) / N = 12.5 / 6; the bounds are the noncentralities at which F = 13.5 is
    # the F(1, 4, λ)'s 97.5% and 2.5% point, share 1 / (1 + λ / 6)
    groups = [np.array([[-1.0, 0.0, 1.0]]), np.array([[2.0, 3.0, 4.0]])]
    share = seed_share(groups, 0.95).take(0)
    assert share.estimate == pytest.approx(1 / (1 + 12.5 / 6))
    for bound, quantile in ((share.low, 0.025), (share.high, 0.975)):
        noncentrality = 6 * (1 / bound - 1)
        assert stats.ncf.cdf(13.5, 1, 4, noncentrality) == pytest.approx(quantile, abs=1e-9)


def test_the_shift_test_refers_welchs_t_to_every_reassignment():
    # 3 + 3 models: 20 reassignments; the data's own (a above every b) has the largest t, and
    # its mirror image the smallest, so P(above) = 1/20 and P(below) = 1
    a, b = np.array([[3.0, 4.0, 5.0]]), np.array([[0.0, 1.0, 2.0]])
    above, below = shift_test(a, b, 0.0)
    assert (above[0], below[0]) == (pytest.approx(1 / 20), pytest.approx(1.0))
    # shifting a down by 3 makes the groups equal: the test is symmetric about the data
    above, below = shift_test(a, b, 3.0)
    assert above[0] == pytest.approx(below[0]) and above[0] > 0.5
    # too many reassignments to list (C(40, 20)): the data's own and PERMUTATIONS drawn ones,
    # so the smallest p-value is 1 / (PERMUTATIONS + 1)
    far = shift_test(np.arange(20.0)[None] + 100, np.arange(20.0)[None], 0.0)[0]
    assert far[0] == pytest.approx(1 / (PERMUTATIONS + 1))


# -- point 2: Kim & Mnih's claims as the paper states them, Higgins' claim ------------------------
def test_higgins_confirmed_contradicted_inconclusive():
    def verdict(scores):
        return higgins_beta_beats_vae(table(VAE, models(
            "beta_vae", 4.0, reconstruction=[40, 41, 42], factor_vae_score=[0.7] * 3,
            beta_vae_score=scores))).verdict

    assert verdict([0.85, 0.86, 0.87]) == CONFIRMED
    assert verdict([0.50, 0.51, 0.52]) == CONTRADICTED  # earlier rule: "not confirmed"
    assert verdict([0.60, 0.85, 0.72]) == INCONCLUSIVE
    assert verdict([0.85, 0.86]) == NOT_ENOUGH_DATA


def test_disentanglement_has_an_optimum_in_beta_an_interior_maximum():
    """Earlier rules: Spearman over β of the score had to be positive (a peak at β = 4 with a
    fall at β = 16, as Kim & Mnih show, was 'not confirmed'); then "some β beats the VAE",
    which a monotone rise also passes. Now an inner β must beat both ends."""
    def rows(vae, beta4, beta16):
        return table(models("vae", factor_vae_score=vae),
                     models("beta_vae", 4.0, factor_vae_score=beta4),
                     models("beta_vae", 16.0, factor_vae_score=beta16))

    peaked = kim_mnih_disentanglement_peaks(rows([0.60, 0.62, 0.61], [0.80, 0.81, 0.82],
                                                 [0.50, 0.52, 0.51]))
    assert peaked.verdict == CONFIRMED and "best β by mean score: β-VAE β=4" in peaked.evidence
    assert "β-VAE β=4 − VAE" in peaked.evidence[1] and "Welch" in peaked.rule
    rising = rows([0.60, 0.62, 0.61], [0.70, 0.71, 0.72], [0.80, 0.81, 0.82])
    assert kim_mnih_higgins_like(rising) == CONFIRMED  # some β beats the VAE ...
    assert kim_mnih_disentanglement_peaks(rising).verdict == CONTRADICTED  # ... at an end
    falling = rows([0.90, 0.91, 0.89], [0.50, 0.51, 0.52], [0.50, 0.52, 0.51])
    assert kim_mnih_disentanglement_peaks(falling).verdict == CONTRADICTED
    two = kim_mnih_disentanglement_peaks(table(models("vae", factor_vae_score=[0.6, 0.61, 0.62]),
                                               models("beta_vae", 4.0,
                                                      factor_vae_score=[0.8, 0.81, 0.82])))
    assert two.verdict == NOT_ENOUGH_DATA and "3 values of β" in two.missing[-1]


def kim_mnih_higgins_like(rows: pd.DataFrame) -> str:
    """Higgins' rule (some β beats the VAE) on the FactorVAE score."""
    return higgins_beta_beats_vae(rows.rename(columns={"factor_vae_score": "beta_vae_score"}
                                              )).verdict


def test_reconstruction_rises_with_beta_on_its_own():
    """Earlier rule: one claim needed the reconstruction AND the score to rise; now the
    reconstruction claim stands alone (flat scores do not matter)."""
    def rows(*per_beta):
        return table(*[models("beta_vae" if beta > 1 else "vae", beta if beta > 1 else None,
                              reconstruction=values, factor_vae_score=[0.6] * 3)
                       for beta, values in zip((1, 2, 4, 8), per_beta)])

    def verdict(recon_of_beta):
        return kim_mnih_reconstruction_rises(rows(*[[recon_of_beta(b) + d for d in (-.1, 0, .1)]
                                                    for b in (1, 2, 4, 8)]))

    rising = verdict(lambda b: 30 + 3 * b)
    assert rising.verdict == CONFIRMED and "slope of the mean error per step in β" in \
        rising.evidence[-2] and rising.evidence[-1].startswith("power: with 3 seeds")
    assert verdict(lambda b: 60 - 3 * b).verdict == CONTRADICTED
    flat = rows([35, 45, 40], [44, 36, 41], [39, 46, 34], [42, 37, 43])
    assert kim_mnih_reconstruction_rises(flat).verdict == INCONCLUSIVE
    assert kim_mnih_reconstruction_rises(table(VAE)).verdict == NOT_ENOUGH_DATA


def test_factor_vae_keeps_reconstruction_with_a_stated_margin():
    beta16 = models("beta_vae", 16.0, reconstruction=[50, 51, 52], factor_vae_score=[0.7] * 3)

    def verdict(gamma_recon, beta=beta16):
        return kim_mnih_reconstruction_kept(table(VAE, beta, models(
            "factor_vae", 40.0, reconstruction=gamma_recon, factor_vae_score=[0.8] * 3)))

    near = verdict([31.0, 31.5, 30.5])  # +3.3% < the 10% margin
    assert near.verdict == CONFIRMED and "margin 10%" in near.rule
    assert verdict([40.0, 41.0, 39.0]).verdict == CONTRADICTED  # +33%: FactorVAE loses it too
    kept_by_beta = models("beta_vae", 2.0, reconstruction=[30.2, 30.6, 29.9])
    assert verdict([31.0, 31.5, 30.5], kept_by_beta).verdict == CONTRADICTED
    assert verdict([30.0, 36.0, 33.0]).verdict == INCONCLUSIVE  # +10% ± 3 nats


# -- point 3: the trade-off at matched reconstruction; Locatello as a variance decomposition ------
BETA_CURVE = [VAE, models("beta_vae", 4.0, reconstruction=[40.0, 40.5, 39.5],
                          factor_vae_score=[0.70, 0.71, 0.72]),
              models("beta_vae", 16.0, reconstruction=[50.0, 50.5, 49.5],
                     factor_vae_score=[0.80, 0.81, 0.79])]


def tradeoff(reconstruction, scores) -> str:
    return kim_mnih_better_tradeoff(table(*BETA_CURVE, models(
        "factor_vae", 40.0, reconstruction=reconstruction, factor_vae_score=scores))).verdict


def test_tradeoff_compared_at_matched_reconstruction():
    # at reconstruction 45 the β-VAE curve scores 0.755
    assert tradeoff([45.0, 45.5, 44.5], [0.85, 0.86, 0.87]) == CONFIRMED
    assert tradeoff([45.0, 45.5, 44.5], [0.60, 0.61, 0.62]) == CONTRADICTED
    assert tradeoff([44.0, 45.0, 46.0], [0.62, 0.75, 0.88]) == INCONCLUSIVE
    # better reconstruction than every β and a higher score than the VAE's: confirmed
    assert tradeoff([25.0, 25.5, 24.5], [0.70, 0.71, 0.72]) == CONFIRMED


def test_tradeoff_is_not_confirmed_by_absence_of_evidence():
    """Earlier rule: a higher score with reconstruction 'not significantly worse' (a noisy,
    much worse reconstruction) confirmed the claim; now it is compared where β-VAE reaches the
    same reconstruction, or not at all."""
    verdict = kim_mnih_better_tradeoff(table(*BETA_CURVE, models(
        "factor_vae", 40.0, reconstruction=[45.0, 70.0, 95.0], factor_vae_score=[0.85] * 3)))
    assert verdict.verdict == INCONCLUSIVE
    assert any("reconstructs worse than every β-VAE setting: can only contradict" in e
               for e in verdict.evidence)


def test_a_dominated_factor_vae_contradicts_the_tradeoff():
    """Earlier rule: a FactorVAE reconstructing worse than every β-VAE setting was not
    compared, so one worse on both counts left the claim inconclusive."""
    assert tradeoff([55.0, 56.0, 57.0], [0.50, 0.51, 0.52]) == CONTRADICTED
    assert tradeoff([48.0, 49.0, 50.0], [0.50, 0.51, 0.52]) == CONTRADICTED


def test_locatello_variance_decomposition_can_come_out_either_way():
    def verdict(*per_setting):
        return locatello_seed_vs_hyperparameter(table(*[models(
            "beta_vae", beta, factor_vae_score=scores)
            for beta, scores in zip((2.0, 4.0, 8.0), per_setting)]))

    seeds = verdict([0.5, 0.6, 0.7, 0.8, 0.9], [0.9, 0.52, 0.81, 0.6, 0.7],
                    [0.71, 0.79, 0.5, 0.88, 0.62])
    assert seeds.verdict == CONFIRMED and "seeds' share of the variance" in seeds.evidence[0]
    # Earlier rule ("some other setting's best seed beats the best setting's worst seed") said
    # confirmed here: the seeds overlap a little, but the settings hold most of the variance.
    settings = verdict([0.50, 0.52, 0.71], [0.70, 0.71, 0.72], [0.90, 0.91, 0.69])
    assert settings.verdict == INCONCLUSIVE
    assert verdict([0.50, 0.51, 0.52], [0.70, 0.71, 0.72], [0.90, 0.91, 0.89]).verdict \
        == CONTRADICTED
    assert verdict([0.5, 0.6, 0.7], [0.7, 0.8]).verdict == NOT_ENOUGH_DATA


def test_a_claim_without_its_columns_names_them_and_decides_nothing():
    scores_only = table(VAE, models("beta_vae", 4.0, factor_vae_score=[0.7] * 3,
                                    beta_vae_score=[0.85, 0.86, 0.87]),
                        models("factor_vae", 40.0, factor_vae_score=[0.8] * 3))
    for claim in (kim_mnih_reconstruction_rises, kim_mnih_reconstruction_kept,
                  kim_mnih_better_tradeoff):
        verdict = claim(scores_only.drop(columns="reconstruction"))
        assert verdict.verdict == NOT_ENOUGH_DATA
        assert verdict.missing == ["no reconstruction reported"], claim.__name__
    without_scores = scores_only.drop(columns=["beta_vae_score", "factor_vae_score"])
    assert higgins_beta_beats_vae(without_scores).missing == ["no beta_vae_score reported"]
    assert locatello_seed_vs_hyperparameter(without_scores).missing == [
        "no factor_vae_score reported"]


# -- point 5: the total correlation claims use the large-sample estimate --------------------------
def test_tc_claims_need_the_large_sample_estimate():
    def rows(tc_of_gamma, discriminator_sign=1.0):
        groups = []
        for gamma in (10.0, 20.0, 40.0):
            tc = [tc_of_gamma(gamma) + 0.05 * i for i in range(3)]
            groups.append(models("factor_vae", gamma, tc_large_sample=tc,
                                 tc_discriminator=[discriminator_sign * t for t in tc]))
        return table(*groups)

    falling = rows(lambda g: 4.0 - g / 20)
    assert kim_mnih_tc_falls_with_gamma(falling).verdict == CONFIRMED
    assert kim_mnih_tc_falls_with_gamma(rows(lambda g: g / 20)).verdict == CONTRADICTED
    assert kim_mnih_discriminator_tracks_tc(falling).verdict == CONFIRMED
    assert kim_mnih_discriminator_tracks_tc(rows(lambda g: g / 20, -1.0)).verdict \
        == CONTRADICTED
    old_sweep = falling.drop(columns="tc_large_sample").assign(tc_minibatch=1.0)
    for claim in (kim_mnih_tc_falls_with_gamma, kim_mnih_discriminator_tracks_tc):
        verdict = claim(old_sweep)
        assert verdict.verdict == NOT_ENOUGH_DATA and "tc_large_sample" in verdict.missing[0]


def test_the_discriminator_claim_is_decided_within_settings():
    """Earlier rule: Spearman's ρ over the FactorVAE models of every γ at once, so γ, which
    lowers both estimates, confirmed the claim alone; the within-setting ρ does not."""
    rng = np.random.default_rng(3)
    rows = table(*[models("factor_vae", gamma,
                          tc_large_sample=list(4.0 - gamma / 20 + rng.normal(0, 0.1, 4)),
                          tc_discriminator=list(2.0 - gamma / 40 + rng.normal(0, 0.1, 4)))
                   for gamma in (10.0, 20.0, 40.0)])
    pooled = stats.spearmanr(rows["tc_large_sample"], rows["tc_discriminator"]).statistic
    assert pooled > 0.75  # the pooled rule would confirm it
    verdict = kim_mnih_discriminator_tracks_tc(rows)
    assert verdict.verdict == INCONCLUSIVE and "within settings" in verdict.rule
    assert "Spearman ρ within settings over 12 models" in verdict.evidence[-1]
    few = kim_mnih_discriminator_tracks_tc(rows[rows["gamma"] == 10.0].iloc[:3])
    assert few.verdict == NOT_ENOUGH_DATA and "need 4" in few.missing[-1]


def test_the_minibatch_tc_measures_posterior_sharpness_so_no_verdict_uses_it():
    """Independent latents with sharp posteriors: the MWS estimate (tc_minibatch) sits near its
    ceiling (D - 1) log M although the true total correlation is 0."""
    import torch

    from disentangle.objectives import total_correlation_mws

    generator = torch.Generator().manual_seed(0)
    batch, dims = 64, 10
    mean = torch.randn(batch, dims, generator=generator)
    sharp = torch.full((batch, dims), -12.0)
    z = mean + torch.exp(0.5 * sharp) * torch.randn(batch, dims, generator=generator)
    ceiling = (dims - 1) * math.log(batch)
    assert 0.95 * ceiling < total_correlation_mws(z, mean, sharp).item() <= ceiling
    verdicts = all_verdicts(table(models("factor_vae", 10.0, tc_minibatch=[30.0, 31.0, 32.0],
                                         tc_discriminator=[1.0, 2.0, 3.0])))
    assert not any("tc_minibatch" in v.rule + " ".join(v.evidence) for v in verdicts)


# -- points 7, 9, 10: fitting flags, the K-1 critique on trained models, collapsed models --------
def information(dropped: int | None, count: int = 3) -> dict:
    """mig_factor_information_k columns of ``count`` models that drop factor ``dropped``."""
    return {f"mig_factor_information_{k}": [0.02 if k == dropped else 0.6] * count
            for k in range(5)}


def test_critique_on_trained_models():
    def verdict(missing_one_scores):
        count = len(missing_one_scores)
        return kim_mnih_critique_on_trained_models(table(
            models("beta_vae", 4.0, beta_vae_score=[0.90, 0.91, 0.89, 0.90],
                   factor_vae_score=[0.9] * 4, **information(None, 4)),
            models("beta_vae", 8.0, beta_vae_score=missing_one_scores,
                   factor_vae_score=[0.72] * count, **information(0, count))))

    holds = verdict([0.91, 0.90, 0.92, 0.91])
    assert holds.verdict == CONFIRMED and holds.seeds == {"missing one factor": 4,
                                                           "missing none": 4}
    assert "factor 0: 4" in holds.evidence[0] and "factor_vae_score difference" in \
        holds.evidence[-1]
    assert verdict([0.60, 0.62, 0.61, 0.60]).verdict == CONTRADICTED
    assert verdict([0.75, 0.95, 0.85, 0.80]).verdict == INCONCLUSIVE
    # 3 against 4 models: 35 reassignments, none of them rarer than 1/35 > 2.5%
    few = verdict([0.91, 0.90, 0.92])
    assert few.verdict == NOT_ENOUGH_DATA and "35 reassignments" in few.missing[-1]
    without = kim_mnih_critique_on_trained_models(table(VAE))
    assert without.verdict == NOT_ENOUGH_DATA and "mig_factor_information_0" in \
        without.missing[0]


def test_a_verdict_that_flips_with_collapsed_models_is_inconclusive():
    """Earlier rule: a collapsed model's FactorVAE score of 0 counted like any other; here three
    collapsed seeds at β = 16 alone let the claim be decided (the VAE beats the inner β = 4)."""
    vae = models("vae", factor_vae_score=[0.80, 0.81, 0.79], factor_vae_active_dims=[6, 6, 6])
    beta4 = models("beta_vae", 4.0, factor_vae_score=[0.50, 0.51, 0.49],
                   factor_vae_active_dims=[4, 4, 4])
    beta16 = models("beta_vae", 16.0, factor_vae_score=[0.0, 0.0, 0.0],
                    factor_vae_active_dims=[0, 0, 0])
    rows = table(vae, beta4, beta16)
    assert collapsed(rows).tolist() == [False] * 6 + [True] * 3
    assert kim_mnih_disentanglement_peaks(rows).verdict == CONTRADICTED
    assert kim_mnih_disentanglement_peaks(rows[~collapsed(rows)]).verdict == NOT_ENOUGH_DATA
    robust = {v.key: v for v in all_verdicts(rows)}["disentanglement_vs_beta"]
    assert robust.verdict == INCONCLUSIVE
    assert "would be not enough data, not contradicted" in robust.evidence[-1]
    lines = "\n".join(collapsed_lines(rows))
    assert "| β-VAE β=16 | 3 | 3 |" in lines and "1/K" in lines


def test_the_quick_study_is_inconclusive_where_its_seeds_cannot_decide():
    """Per-seed numbers like the quick study's (500 steps, 3 seeds; README): the earlier rule
    said 'not confirmed'; where the intervals neither support nor exclude a claim it is now
    inconclusive, and one β-VAE seed collapsed. One β > 1 cannot show an interior maximum."""
    quick = table(
        models("vae", reconstruction=[500.0, 570.0, 575.0], beta_vae_score=[0.88, 0.42, 0.79],
               factor_vae_score=[0.73, 0.31, 0.72], factor_vae_active_dims=[4, 2, 5]),
        models("beta_vae", 4.0, reconstruction=[420.0, 590.0, 518.0],
               beta_vae_score=[0.89, 0.22, 0.79], factor_vae_score=[0.71, 0.0, 0.67],
               factor_vae_active_dims=[3, 0, 3]),
        models("factor_vae", 40.0, reconstruction=[540.0, 604.0, 565.0],
               beta_vae_score=[0.77, 0.41, 0.65], factor_vae_score=[0.65, 0.26, 0.62],
               factor_vae_active_dims=[4, 3, 4]))
    verdicts = {v.key: v.verdict for v in all_verdicts(quick)}
    for key in ("higgins", "reconstruction_vs_beta", "reconstruction_kept", "better_tradeoff"):
        assert verdicts[key] == INCONCLUSIVE, key
    assert verdicts["disentanglement_vs_beta"] == NOT_ENOUGH_DATA
    assert verdicts["locatello"] == NOT_ENOUGH_DATA  # one setting per swept kind


def test_fitting_flags_name_unconverged_classifiers_and_metric_warnings():
    rows = table(models("beta_vae", 4.0, beta_vae_score=[0.8, 0.7, 0.2],
                        factor_vae_score=[0.7, 0.6, 0.0], beta_vae_converged=[1, 0, 1],
                        factor_vae_warning=[None, None, "all dimensions collapsed"]))
    text = "\n".join(fitting_lines(rows))
    assert "BetaVAE score: the classifier did not converge for 1 model(s) (β-VAE β=4 seed 1)" \
        in text
    assert "FactorVAE metric warning for 1 model(s) (β-VAE β=4 seed 2)" in text
    assert "every classifier converged (BetaVAE)" in "\n".join(
        fitting_lines(rows.assign(beta_vae_converged=1)))


def test_metric_critique_from_the_sanity_table():
    assert kim_mnih_metric_critique(None).verdict == NOT_ENOUGH_DATA
    sanity = pd.DataFrame({"case": ["factors", "all but one", "noise"],
                           "beta_vae_score": [1.0, 0.99, 0.2],
                           "factor_vae_score": [1.0, 0.80, 0.2]})
    assert kim_mnih_metric_critique(sanity).verdict == CONFIRMED
    sanity.loc[1, "factor_vae_score"] = 0.98
    assert kim_mnih_metric_critique(sanity).verdict == CONTRADICTED


# -- points 1 and 4: which models count -----------------------------------------------------------
def write_model(root, number: int, model: str, value: float | None, seed: int, *, epochs=3,
                done=True, paper=True, **config) -> None:
    """One trial folder of one model, finished (``done``) or stopped after ``epochs``."""
    swept = {"beta_vae": "beta", "factor_vae": "gamma"}.get(model)
    trial_config = {"model": model, "seed": seed, "dataset": "dsprites", "lr": 1e-4, **config}
    if swept:
        trial_config[swept] = value
    rows = epoch_rows(final_numbers(model, value or 1.0, seed), model, value or 1.0, epochs,
                      f"t{number:03d}", trial_config)
    rows[-1]["done"] = done
    if not paper:
        for row in rows:
            row.pop("paper_beta_vae_score", None)
            row.pop("paper_factor_vae_score", None)
    write_trial(root / f"trial_{number:03d}", trial_config, rows, formats=("json",))


def test_one_unfinished_model_does_not_switch_the_sweep_to_fast_scores(tmp_path):
    """Earlier rule: score_column chose the fast preset as soon as one model lacked the paper
    score (here the model still training), for the report and the end-of-sweep summary."""
    for number, seed in enumerate((0, 1, 2)):
        write_model(tmp_path, number, "beta_vae", 4.0, seed)
    write_model(tmp_path, 3, "beta_vae", 4.0, 3, epochs=2, done=False, paper=False)
    write_model(tmp_path, 4, "beta_vae", 4.0, 4, epochs=2, done=True)  # a shorter run
    results = load_results(tmp_path)
    selection = select_models(results.epochs, results.trials)
    assert selection.preset == "paper" and len(selection.table) == 3
    assert score_column(results.final, "factor_vae") == "paper_factor_vae_score"  # summary.py
    assert selection.describe_step() == "the common step 300"
    reasons = dict(zip(selection.left_out["seed"], selection.left_out["reason"]))
    assert reasons[3].startswith("not finished") and "step 200" in reasons[3]
    assert reasons[4] == "finished at step 200; the common step is 300"


def test_beta_one_is_the_vae_and_counts_once(tmp_path):
    """Earlier rule: VAE and β-VAE β = 1 were two settings of a claim over β."""
    number = 0
    for model, value, seeds, config in (("vae", None, (0, 1, 2), {}),
                                        ("beta_vae", 1.0, (0, 3), {}),
                                        ("beta_vae", 1.0, (4,), {"lr": 1e-3}),
                                        ("beta_vae", 4.0, (0, 1, 2), {})):
        for seed in seeds:
            write_model(tmp_path, number, model, value, seed, **config)
            number += 1
    results = load_results(tmp_path)
    selection = select_models(results.epochs, results.trials)
    assert sorted(selection.table.loc[selection.table["model"] == "vae", "seed"]) == [0, 1, 2, 3]
    assert set(selection.table["setting"]) == {"VAE", "β-VAE β=4"}
    reasons = dict(zip(selection.left_out["seed"], selection.left_out["reason"]))
    assert reasons[0].startswith("the same model as VAE seed 0")
    assert "lr=0.001 where the VAE has lr=0.0001" in reasons[4]
    assert selection.notes == ["β-VAE β=1 seed 3 counts as a seed of VAE (the same objective "
                               "and training configuration)"]
    verdict = kim_mnih_reconstruction_rises(selection.table)
    assert verdict.seeds == {"VAE": 4, "β-VAE β=4": 3}


# -- #16 point 4 and the report --------------------------------------------------------------------
def test_papers_side_by_side_says_why_a_value_differs(tmp_path):
    for number, seed in enumerate((0, 1, 2)):
        write_model(tmp_path, number, "beta_vae", 4.0, seed, hidden_dim=128)
    results = load_results(tmp_path)
    selection = select_models(results.epochs, results.trials)
    comparison = side_by_side(selection.table, results.trials).set_index("setting")
    row = comparison.loc["β-VAE β=4"]
    assert row["reported"] == pytest.approx(0.9923) and not row["verified"]
    assert row["models"] == 3 and row["agrees"] is False
    assert "300 training steps here" in row["why"] and "128-unit layer" in row["why"]
    assert "rendered offline" in row["why"]
    assert comparison.loc["VAE", "models"] == 0 and comparison.loc["VAE", "agrees"] is None


def test_the_report_is_the_same_for_the_same_results_wherever_they_lie(tmp_path):
    from analysis.report import render_report

    first = tmp_path / "a" / "noisy-study"
    for number, (model, value) in enumerate([("vae", None), ("beta_vae", 4.0),
                                            ("factor_vae", 40.0)]):
        for seed in (0, 1, 2):
            write_model(first, 3 * number + seed, model, value, seed)
    second = tmp_path / "b" / "noisy-study"
    shutil.copytree(first, second)
    texts = []
    for root in (first, second):
        results = load_results(root)
        selection = select_models(results.epochs, results.trials)
        verdicts = all_verdicts(selection.table)
        texts.append(render_report(results, selection, [], verdicts, Rule(), None,
                                   "not run (off)", [], side_by_side(selection.table,
                                                                     results.trials)))
    assert texts[0] == texts[1]
    assert str(tmp_path) not in texts[0] and "Sweep `noisy-study`" in texts[0]
    assert "not confirmed" not in texts[0] and "| ✅ confirmed |" in texts[0]
