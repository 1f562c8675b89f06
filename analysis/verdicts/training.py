"""The papers' claims about training, each stated as its paper states it, with its rule.

Higgins et al. 2017: β > 1 beats the VAE on the BetaVAE metric. Kim & Mnih 2018, split as the
paper states them: (a) β-VAE's reconstruction error rises with β; (b) its disentanglement has
an optimum in β (it rises from β = 1 to a best β and falls beyond it: an interior maximum, not
a monotone rise); (c) FactorVAE keeps its reconstruction near the VAE's across γ while β-VAE
loses it; and FactorVAE's headline, a better trade-off: a higher disentanglement score at
matched reconstruction. (Locatello et al.'s claims are in ``analysis.locatello.claims``.)

Every function takes the selected models (``analysis.selection``: one row per finished model at
the common step, β = 1 counted once) and a ``Rule``, and returns a ``Verdict``; the decision is
``analysis.verdicts.rules``' function of the same name's family, on this one study.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.results import score_column
from analysis.verdicts import rules
from analysis.verdicts.framework import (
    Rule,
    Verdict,
    enough,
    groups_of,
    mean_sd,
    one,
    ordered_groups,
    reference,
    too_few,
    with_baseline,
)
from disentangle import kinds

KIM_MNIH = "Kim & Mnih 2018 (FactorVAE)"


def beta_above_one(table: pd.DataFrame) -> pd.DataFrame:
    """The β-VAE models above its neutral β (1, where it trains the VAE's objective)."""
    if "beta" not in table:
        return table.iloc[:0]
    return table[(table["model"] == "beta_vae")
                 & (table["beta"] > kinds.neutral_value("beta_vae"))]


def settle_with_best_beta(verdict: Verdict, groups: dict[str, np.ndarray], decision,
                          rule: Rule) -> Verdict:
    """The β with the best mean score and the power line as evidence, then the verdict
    ``decision`` gives."""
    best = max(groups, key=lambda setting: np.mean(groups[setting]))
    verdict.evidence.append(f"best β by mean score: {best}")
    verdict.evidence.append(rule.power_line(min(len(v) for v in groups.values()),
                                            decision.comparisons))
    return verdict.settle(decision)


def higgins_beta_beats_vae(table: pd.DataFrame, rule: Rule = Rule()) -> Verdict:
    """Higgins et al. 2017: β-VAE with β > 1 scores higher than the VAE on the BetaVAE metric."""
    score = score_column(table, "beta_vae")
    verdict = Verdict("higgins", "Higgins et al. 2017 (β-VAE)",
                      "β-VAE with some β > 1 scores higher than the VAE on the BetaVAE metric.",
                      rule=f"for each β > 1, Welch's t interval of its mean {score} minus the "
                           f"VAE's, Bonferroni over the β tried; confirmed when some β's "
                           f"interval lies above 0, contradicted when every β's lies below 0")
    if verdict.lacks(table, score):
        return verdict
    rows, name = reference(table)
    vae = rows[score].dropna().to_numpy(dtype=float)
    candidates = groups_of(beta_above_one(table), score)
    verdict.count({name: vae, **candidates})
    if not candidates:
        verdict.missing.append("no β-VAE models with β > 1")
    verdict.missing += too_few({name: vae, **candidates}, rule, max(1, len(candidates)))
    usable = enough(candidates, rule)
    if not usable or len(vae) < rule.min_seeds:
        return verdict
    decision = rules.some_beat(one(vae), {s: one(v) for s, v in usable.items()}, rule.alpha)
    verdict.evidence.append(f"score: {score}; {name} {mean_sd(vae)}")
    verdict.evidence += [f"{setting} {mean_sd(usable[setting])}: difference "
                         f"{interval.take(0).describe()}"
                         for setting, interval in decision.intervals.items()]
    return settle_with_best_beta(verdict, usable, decision, rule)


def kim_mnih_disentanglement_peaks(table: pd.DataFrame, rule: Rule = Rule()) -> Verdict:
    """Kim & Mnih 2018 (b): disentanglement has an optimum in β, an interior maximum."""
    score = score_column(table, "factor_vae")
    verdict = Verdict(
        "disentanglement_vs_beta", KIM_MNIH,
        "β-VAE's disentanglement (FactorVAE metric) has an optimum in β: it rises from β = 1 "
        "(the VAE) to a best β and falls beyond it (an interior maximum, not a monotone rise).",
        rule=f"Welch's t intervals of each inner β's mean {score} minus each end's (the VAE "
             f"and the largest β), Bonferroni over the larger of the inner β's count and 2; "
             f"confirmed when some inner β lies above both ends, contradicted when an end lies "
             f"above every inner β (the maximum at an end)")
    if verdict.lacks(table, score):
        return verdict
    rows = with_baseline(table, "beta_vae")
    ordered = ordered_groups(verdict, rows, score, "beta_vae", rule, "score")
    if ordered is None:
        return verdict
    if len(ordered) < 3:
        verdict.missing.append("an interior maximum needs 3 values of β (the VAE and two "
                               "β > 1) with enough models")
        return verdict
    decision = rules.interior_maximum({s: one(v) for s, v in ordered.items()}, rule.alpha)
    verdict.evidence += [f"{pair} {interval.take(0).describe()}"
                         for pair, interval in decision.intervals.items()]
    return settle_with_best_beta(verdict, ordered, decision, rule)


def kim_mnih_reconstruction_rises(table: pd.DataFrame, rule: Rule = Rule()) -> Verdict:
    """Kim & Mnih 2018 (a): β-VAE's reconstruction error rises with β (the VAE as β = 1)."""
    verdict = Verdict("reconstruction_vs_beta", KIM_MNIH,
                      "β-VAE's reconstruction error rises with β (the VAE being β = 1).",
                      rule="the least-squares slope of the settings' mean reconstruction error "
                           "over their order in β (the VAE as β = 1; with two settings, their "
                           "difference), with its Welch–Satterthwaite t interval; confirmed "
                           "when it lies above 0, contradicted when it lies below 0")
    if verdict.lacks(table, "reconstruction"):
        return verdict
    rows = with_baseline(table, "beta_vae")
    ordered = ordered_groups(verdict, rows, "reconstruction", "beta_vae", rule,
                             "reconstruction error")
    if ordered is None:
        return verdict
    decision = rules.monotone([one(v) for v in ordered.values()], 1, rule.alpha)
    verdict.evidence.append(f"slope of the mean error per step in β "
                            f"{decision.intervals['slope'].take(0).describe(2)}")
    verdict.evidence.append(rule.power_line(min(len(v) for v in ordered.values())))
    return verdict.settle(decision)


def kim_mnih_reconstruction_kept(table: pd.DataFrame, rule: Rule = Rule()) -> Verdict:
    """Kim & Mnih 2018 (c): FactorVAE keeps reconstruction near the VAE's across γ while β-VAE
    loses it, with a stated non-inferiority margin."""
    margin = rule.reconstruction_margin
    verdict = Verdict(
        "reconstruction_kept", KIM_MNIH,
        "FactorVAE keeps its reconstruction near the VAE's across γ, while β-VAE loses it.",
        rule=f"for each setting, its mean reconstruction error relative to the VAE's (mean / "
             f"VAE mean − 1), with the non-inferiority margin {margin:.0%}; intervals are "
             f"Welch's t on the log of the ratio (delta method), Bonferroni over the settings; "
             f"confirmed when every γ's interval lies below +{margin:.0%} and some β > 1's "
             f"above it, contradicted when some γ's lies above it or every β > 1's below it")
    if verdict.lacks(table, "reconstruction"):
        return verdict
    rows, name = reference(table)
    vae = rows["reconstruction"].dropna().to_numpy(dtype=float)
    gammas = groups_of(table, "reconstruction", ["factor_vae"])
    betas = groups_of(beta_above_one(table), "reconstruction")
    verdict.count({name: vae, **betas, **gammas})
    for what, groups in (("FactorVAE", gammas), ("β-VAE with β > 1", betas)):
        if not groups:
            verdict.missing.append(f"no {what} models")
    verdict.missing += too_few({name: vae, **gammas, **betas}, rule,
                               max(1, len(gammas) + len(betas)))
    gammas, betas = enough(gammas, rule), enough(betas, rule)
    if not gammas or not betas or len(vae) < rule.min_seeds:
        return verdict
    decision = rules.kept_and_lost(one(vae), {s: one(v) for s, v in gammas.items()},
                                   {s: one(v) for s, v in betas.items()}, margin, rule.alpha)
    verdict.evidence.append(f"{name} reconstruction error {mean_sd(vae, 2)}")
    verdict.evidence += [f"{setting} {mean_sd(values, 2)}: relative to the VAE "
                         f"{decision.intervals[setting].take(0).describe(3)}"
                         for setting, values in {**gammas, **betas}.items()]
    verdict.evidence.append(rule.power_line(min(len(v) for v in {**gammas, **betas}.values()),
                                            decision.comparisons))
    return verdict.settle(decision)


def kim_mnih_better_tradeoff(table: pd.DataFrame, rule: Rule = Rule()) -> Verdict:
    """Kim & Mnih 2018: FactorVAE reaches a higher disentanglement score than β-VAE at the same
    reconstruction error, compared at matched reconstruction."""
    score = score_column(table, "factor_vae")
    verdict = Verdict(
        "better_tradeoff", KIM_MNIH,
        "FactorVAE gives a better reconstruction/disentanglement trade-off than β-VAE: a higher "
        "FactorVAE score at the same reconstruction error.",
        rule="for each γ, FactorVAE's mean score minus β-VAE's at the same mean reconstruction "
             "error (linear between the β-VAE settings' means, the VAE as β = 1, held flat "
             "beyond them), with a Welch–Satterthwaite t interval of the linearised gap (delta "
             "method), Bonferroni over the γ; a γ that reconstructs better than every β "
             "setting can only confirm, one that reconstructs worse than every β setting "
             "(compared with the worst-reconstructing one) can only contradict; confirmed when "
             "some γ's interval lies above 0, contradicted when every γ's lies below 0")
    if verdict.lacks(table, score, "reconstruction"):
        return verdict
    columns = ["reconstruction", score]
    rows, name = reference(table)
    curve = {**groups_of(rows, columns), **groups_of(beta_above_one(table), columns)}
    gammas = groups_of(table, columns, ["factor_vae"])
    verdict.count({**curve, **gammas})
    verdict.missing += too_few({**curve, **gammas}, rule, max(1, len(gammas)))
    curve, gammas = enough(curve, rule), enough(gammas, rule)
    if len(curve) < 2 or not gammas:
        verdict.missing.append("need the VAE or a β-VAE setting and another β-VAE setting, and "
                               "a FactorVAE setting, each with enough models")
        return verdict
    decision = rules.better_tradeoff([one(v) for v in curve.values()],
                                     {s: one(v) for s, v in gammas.items()}, rule.alpha)
    verdict.evidence.append(f"score: {score}; β-VAE curve: " + "; ".join(
        f"{c} reconstruction {mean_sd(v[:, 0], 2)}, score {mean_sd(v[:, 1])}"
        for c, v in curve.items()))
    lowest = min(v[:, 0].mean() for v in curve.values())
    highest = max(v[:, 0].mean() for v in curve.values())
    for setting, values in gammas.items():
        where = ("; reconstructs better than every β-VAE setting: can only confirm"
                 if values[:, 0].mean() < lowest else
                 "; reconstructs worse than every β-VAE setting: can only contradict"
                 if values[:, 0].mean() > highest else "")
        verdict.evidence.append(
            f"{setting}: reconstruction {mean_sd(values[:, 0], 2)}, score "
            f"{mean_sd(values[:, 1])}; score above β-VAE's at the same reconstruction "
            f"{decision.intervals[setting].take(0).describe()}{where}")
    verdict.evidence.append(rule.power_line(min(len(v) for v in {**curve, **gammas}.values()),
                                            decision.comparisons))
    return verdict.settle(decision)
