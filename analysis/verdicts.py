"""Verdicts on the papers' claims from a sweep's end-of-training table, by explicit rules.

The rule for "A beats B" on a number measured once per seed (``Rule``):

1. *Enough data*: both A and B have at least ``min_seeds`` seeds (default 3). Otherwise the
   verdict is **not enough data**, and the report says which settings need more seeds.
2. *Beyond the seed spread*: Welch's one-sided t-test of mean(A) > mean(B) (unequal
   variances) gives p < ``alpha`` (default 0.05). When a claim needs one of k comparisons to
   hold ("some β > 1 beats the VAE"), the threshold is Bonferroni's alpha / k. Two groups
   without any spread (every seed gave the same number) differ beyond it exactly when their
   means differ.

A claim with enough data is **confirmed** when its comparisons hold, else **not confirmed**
(which includes a significant difference the other way; the evidence shows it). Trends over β
use Spearman's rank correlation with the same alpha, one-sided in the claimed direction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.results import score_column

CONFIRMED, NOT_CONFIRMED, NOT_ENOUGH_DATA = "confirmed", "not confirmed", "not enough data"


@dataclass(frozen=True)
class Rule:
    """How much evidence a verdict needs: seeds per setting and the significance level."""

    min_seeds: int = 3
    alpha: float = 0.05


@dataclass
class Comparison:
    """One-sided Welch comparison: is mean(a) greater than mean(b)?"""

    label_a: str
    label_b: str
    a: np.ndarray
    b: np.ndarray
    p_value: float

    @property
    def difference(self) -> float:
        return float(np.mean(self.a) - np.mean(self.b))

    def describe(self, digits: int = 3) -> str:
        return (f"{self.label_a} {mean_sd(self.a, digits)} vs {self.label_b} "
                f"{mean_sd(self.b, digits)}: difference {self.difference:+.{digits}f}, "
                f"Welch one-sided p {format_p(self.p_value)}")


@dataclass
class Verdict:
    """A paper's claim, the verdict on it, and the numbers behind the verdict."""

    key: str
    source: str
    claim: str
    verdict: str
    evidence: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    rule: str = ""
    seeds: dict[str, int] = field(default_factory=dict)  # setting -> seeds counted

    def count(self, groups: dict[str, np.ndarray]) -> None:
        self.seeds.update({name: len(values) for name, values in groups.items()})


def mean_sd(values, digits: int = 3) -> str:
    values = np.asarray(values, dtype=float)
    sd = np.std(values, ddof=1) if len(values) > 1 else float("nan")
    spread = f" ± {sd:.{digits}f}" if not math.isnan(sd) else ""
    return f"{np.mean(values):.{digits}f}{spread} (n={len(values)})"


def format_p(p: float) -> str:
    """"= 0.012", "< 1e-4" or "n/a" (undefined: too few values or no spread)."""
    if p is None or math.isnan(p):
        return "n/a"
    return f"= {p:.2g}" if p >= 1e-4 else "< 1e-4"


def welch_greater(a, b) -> float:
    """One-sided p-value of Welch's t-test for mean(a) > mean(b) (see the module docstring)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    scale = 1e-12 * max(1.0, float(np.abs(np.concatenate([a, b])).max()))
    if np.ptp(a) <= scale and np.ptp(b) <= scale:  # no spread: only the means can differ
        return 0.0 if a.mean() > b.mean() + scale else 1.0
    return float(stats.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue)


def compare(a, b, label_a: str, label_b: str) -> Comparison:
    return Comparison(label_a, label_b, np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                      welch_greater(a, b))


def spearman_greater(x, y) -> tuple[float, float]:
    """Spearman's rho of (x, y) and its one-sided p-value for rho > 0 (nan-safe)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan")
    result = stats.spearmanr(x, y, alternative="greater")
    return float(result.statistic), float(result.pvalue)


def seeds_by_setting(final: pd.DataFrame, column: str, models=None) -> dict[str, np.ndarray]:
    """setting label -> that setting's per-seed values of ``column`` (NaNs dropped)."""
    table = final if models is None else final[final["model"].isin(models)]
    if column not in table:
        return {}
    return {setting: group[column].dropna().to_numpy(dtype=float)
            for setting, group in table.groupby("setting", sort=False)}


def too_few(groups: dict[str, np.ndarray], rule: Rule) -> list[str]:
    return [f"{name}: {len(values)} seed(s), need {rule.min_seeds}"
            for name, values in groups.items() if len(values) < rule.min_seeds]


def enough(groups: dict[str, np.ndarray], rule: Rule) -> dict[str, np.ndarray]:
    return {name: values for name, values in groups.items() if len(values) >= rule.min_seeds}


def vae_reference(final: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The VAE trials, or β-VAE with β = 1 (the same objective) when no VAE was trained."""
    vae = final[final["model"] == "vae"]
    if len(vae):
        return vae, "VAE"
    beta_one = final[(final["model"] == "beta_vae") & (final["beta"] == 1)]
    return beta_one, "β-VAE β=1 (the VAE objective)"


RULE_TEXT = ("confirmed when each compared setting has at least {min_seeds} seeds and the "
             "difference is beyond the seed spread (Welch one-sided p < {alpha}, Bonferroni-"
             "corrected over the settings tried)")


def higgins_beta_beats_vae(final: pd.DataFrame, rule: Rule = Rule()) -> Verdict:
    """Higgins et al. 2017: β-VAE with β > 1 scores higher than the VAE on the BetaVAE metric."""
    verdict = Verdict("higgins", "Higgins et al. 2017 (β-VAE)",
                      "β-VAE with β > 1 scores higher than the VAE on the BetaVAE metric.",
                      NOT_ENOUGH_DATA, rule=RULE_TEXT.format(**rule.__dict__))
    score = score_column(final, "beta_vae")
    if score not in final:
        verdict.missing.append(f"no {score} reported")
        return verdict
    reference, reference_name = vae_reference(final)
    vae_scores = reference[score].dropna().to_numpy(dtype=float)
    candidates = seeds_by_setting(final[(final["model"] == "beta_vae") & (final["beta"] > 1)],
                                  score)
    verdict.evidence.append(f"score: {score}; reference: {reference_name}")
    verdict.count({reference_name: vae_scores, **candidates})
    if not candidates:
        verdict.missing.append("no β-VAE trials with β > 1")
    if len(vae_scores) < rule.min_seeds:
        verdict.missing.append(f"{reference_name}: {len(vae_scores)} seed(s), need "
                               f"{rule.min_seeds}")
    verdict.missing += too_few(candidates, rule)
    usable = enough(candidates, rule)
    if not usable or len(vae_scores) < rule.min_seeds:
        verdict.evidence += [compare(v, vae_scores, k, reference_name).describe()
                             for k, v in candidates.items() if len(v) and len(vae_scores)]
        return verdict
    threshold = rule.alpha / len(usable)
    comparisons = [compare(v, vae_scores, k, reference_name) for k, v in usable.items()]
    verdict.evidence += [c.describe() for c in comparisons]
    verdict.evidence.append(f"threshold p < {threshold:.3g} ({rule.alpha} / {len(usable)})")
    wins = [c.label_a for c in comparisons if c.p_value < threshold]
    verdict.verdict = CONFIRMED if wins else NOT_CONFIRMED
    verdict.evidence.append(f"beyond the seed spread: {', '.join(wins) if wins else 'none'}")
    return verdict


def kim_mnih_better_tradeoff(final: pd.DataFrame, rule: Rule = Rule()) -> Verdict:
    """Kim & Mnih 2018: FactorVAE reaches a better reconstruction/disentanglement trade-off.

    Rule: take the β-VAE setting with the highest mean FactorVAE score (among settings with
    enough seeds). Confirmed when some FactorVAE setting scores higher beyond the seed spread
    (Bonferroni over the FactorVAE settings) while its reconstruction error is not higher
    beyond the seed spread (Welch p >= alpha for "FactorVAE's error is higher").
    """
    verdict = Verdict(
        "kim_mnih_tradeoff", "Kim & Mnih 2018 (FactorVAE)",
        "FactorVAE reaches a better reconstruction/disentanglement trade-off than β-VAE: a "
        "higher FactorVAE score at no worse reconstruction.", NOT_ENOUGH_DATA,
        rule=f"the best β-VAE setting (by mean FactorVAE score) is beaten by a FactorVAE setting "
             f"whose score is higher (Welch one-sided p < {rule.alpha}, Bonferroni over the "
             f"FactorVAE settings) and whose reconstruction error is not higher beyond the "
             f"seed spread (p >= {rule.alpha}); at least {rule.min_seeds} seeds per setting")
    score = score_column(final, "factor_vae")
    if score not in final or "reconstruction" not in final:
        verdict.missing.append(f"{score} or reconstruction not reported")
        return verdict
    complete = final.dropna(subset=[score, "reconstruction"])
    betas = seeds_by_setting(complete, score, ["beta_vae"])
    factors = seeds_by_setting(complete, score, ["factor_vae"])
    verdict.evidence.append(f"score: {score}")
    verdict.count({**betas, **factors})
    for name, groups in (("β-VAE", betas), ("FactorVAE", factors)):
        if not groups:
            verdict.missing.append(f"no {name} trials")
    verdict.missing += too_few(betas, rule) + too_few(factors, rule)
    betas, factors = enough(betas, rule), enough(factors, rule)
    if not betas or not factors:
        return verdict
    best_beta = max(betas, key=lambda name: np.mean(betas[name]))
    recon = seeds_by_setting(complete, "reconstruction")
    verdict.evidence.append(f"best β-VAE setting: {best_beta}, score {mean_sd(betas[best_beta])}"
                            f", reconstruction {mean_sd(recon[best_beta], 2)}")
    threshold = rule.alpha / len(factors)
    winners = []
    for name, scores in factors.items():
        higher = compare(scores, betas[best_beta], name, best_beta)
        worse = compare(recon[name], recon[best_beta], name, best_beta)
        score_wins, recon_holds = higher.p_value < threshold, not worse.p_value < rule.alpha
        verdict.evidence.append(
            f"{name}: score {mean_sd(scores)} (p {format_p(higher.p_value)} for higher), "
            f"reconstruction {mean_sd(recon[name], 2)} (p {format_p(worse.p_value)} for "
            f"worse) -> {'dominates' if score_wins and recon_holds else 'does not dominate'}")
        if score_wins and recon_holds:
            winners.append(name)
    verdict.evidence.append(f"score threshold p < {threshold:.3g}")
    verdict.verdict = CONFIRMED if winners else NOT_CONFIRMED
    return verdict


def kim_mnih_beta_tradeoff(final: pd.DataFrame, rule: Rule = Rule()) -> Verdict:
    """Kim & Mnih 2018 (and Higgins et al.): higher β trades reconstruction for disentanglement.

    Rule: over the trials of β-VAE settings with enough seeds (the VAE counted as β = 1), with
    at least two distinct β, Spearman's rank correlation of β with the reconstruction error
    and of β with the FactorVAE score are both positive with one-sided p < alpha.
    """
    verdict = Verdict(
        "beta_tradeoff", "Kim & Mnih 2018; Higgins et al. 2017",
        "Higher β trades reconstruction for disentanglement: as β grows, the reconstruction "
        "error and the disentanglement score both rise.", NOT_ENOUGH_DATA,
        rule=f"Spearman rho(β, reconstruction error) > 0 and rho(β, FactorVAE score) > 0, each "
             f"one-sided p < {rule.alpha}, over settings with at least {rule.min_seeds} seeds "
             f"and at least 2 distinct β (the VAE counted as β = 1)")
    score = score_column(final, "factor_vae")
    if score not in final or "reconstruction" not in final:
        verdict.missing.append(f"{score} or reconstruction not reported")
        return verdict
    table = final[final["model"].isin(["vae", "beta_vae"])].dropna(
        subset=[score, "reconstruction"]).copy()
    table.loc[table["model"] == "vae", "beta"] = 1.0
    counts = table.groupby("setting")["beta"].count()
    verdict.seeds.update(counts.to_dict())
    verdict.missing += [f"{name}: {n} seed(s), need {rule.min_seeds}"
                        for name, n in counts.items() if n < rule.min_seeds]
    table = table[table["setting"].isin(counts[counts >= rule.min_seeds].index)]
    if table["beta"].nunique() < 2:
        verdict.missing.append("need at least 2 distinct β values with enough seeds")
        return verdict
    verdict.evidence.append(f"score: {score}; {len(table)} trials, β ∈ "
                            f"{{{', '.join(f'{b:g}' for b in sorted(table['beta'].unique()))}}}")
    holds = True
    for column, what in (("reconstruction", "reconstruction error"), (score, "FactorVAE score")):
        rho, p = spearman_greater(table["beta"], table[column])
        verdict.evidence.append(f"Spearman rho(β, {what}) = {rho:+.2f}, one-sided p "
                                f"{format_p(p)}")
        holds = holds and not math.isnan(p) and p < rule.alpha
    means = table.groupby("beta")[[score, "reconstruction"]].mean()
    verdict.evidence.append("means by β: " + "; ".join(
        f"β={b:g}: reconstruction {row['reconstruction']:.2f}, score {row[score]:.3f}"
        for b, row in means.iterrows()))
    verdict.verdict = CONFIRMED if holds else NOT_CONFIRMED
    return verdict


def locatello_seed_vs_hyperparameter(final: pd.DataFrame, rule: Rule = Rule()) -> Verdict:
    """Locatello et al. 2019: the random seed matters about as much as the hyperparameter.

    Their sentence: "a good run with a bad hyperparameter can beat a bad run with a good
    hyperparameter". Rule, for each model kind with at least 2 settings of ``min_seeds`` seeds:
    the best seed of some other setting scores above the worst seed of the setting with the
    best mean FactorVAE score. Confirmed when that holds in every such model kind. The evidence
    also gives the share of the score's variance that lies between seeds of one setting
    (pooled within-setting variance / total variance).
    """
    verdict = Verdict(
        "locatello", "Locatello et al. 2019",
        "The random seed matters about as much as the hyperparameter: a good seed of a worse "
        "setting beats a bad seed of the best setting.", NOT_ENOUGH_DATA,
        rule=f"in every model kind with at least 2 settings of at least {rule.min_seeds} seeds,"
             f" some other setting's best seed beats the best setting's worst seed (FactorVAE "
             f"score)")
    score = score_column(final, "factor_vae")
    if score not in final:
        verdict.missing.append(f"no {score} reported")
        return verdict
    results = []
    for model in ("beta_vae", "factor_vae"):
        groups = seeds_by_setting(final, score, [model])
        verdict.count(groups)
        usable = enough(groups, rule)
        if len(usable) < 2:
            if groups:
                verdict.missing.append(f"{model}: {len(usable)} setting(s) with enough seeds, "
                                       f"need 2")
                verdict.missing += too_few(groups, rule)
            continue
        best = max(usable, key=lambda name: np.mean(usable[name]))
        floor = usable[best].min()
        beaten_by = [name for name, values in usable.items()
                     if name != best and values.max() > floor]
        everything = np.concatenate(list(usable.values()))
        within = sum(((v - v.mean()) ** 2).sum() for v in usable.values())
        total = ((everything - everything.mean()) ** 2).sum()
        share = within / total if total > 0 else float("nan")
        verdict.evidence.append(
            f"{model}: best setting {best} (worst seed {floor:.3f}); settings with a seed above "
            f"it: {', '.join(beaten_by) if beaten_by else 'none'} ({len(beaten_by)} of "
            f"{len(usable) - 1}); variance between seeds = {share:.0%} of the total")
        results.append(bool(beaten_by))
    if results:
        verdict.verdict = CONFIRMED if all(results) else NOT_CONFIRMED
    elif not verdict.missing:
        verdict.missing.append("no β-VAE or FactorVAE trials")
    return verdict


def kim_mnih_metric_critique(sanity: pd.DataFrame | None, num_factors: int = 5,
                             tolerance: float = 0.05) -> Verdict:
    """Kim & Mnih 2018's critique of the BetaVAE metric, from the metrics sanity suite.

    ``sanity`` has one row per hand-built representation, a ``case`` column and the
    ``beta_vae_score`` and ``factor_vae_score`` columns (the sanity suite's table). Rule: on the
    representation that keeps all factors but one, the BetaVAE score stays within
    ``tolerance`` of its ground-truth score, while the FactorVAE score drops by more than half
    the 1/K that Kim & Mnih predict ((K-1)/K of the ground truth's, K = ``num_factors``).
    """
    verdict = Verdict(
        "metric_critique", "Kim & Mnih 2018 (critique of the BetaVAE metric)",
        "The BetaVAE metric stays near 1 for a representation that misses one factor, while "
        "the FactorVAE metric drops to about (K-1)/K.", NOT_ENOUGH_DATA,
        rule=f"on 'all factors but one': BetaVAE score within {tolerance} of the ground truth's "
             f"and FactorVAE score lower by more than 1/(2K) = {1 / (2 * num_factors):.2f}")
    if sanity is None or len(sanity) == 0:
        verdict.missing.append("the metrics sanity suite was not run (analyze with --sanity "
                               "fast, or --sanity metrics-sanity/sanity.csv as written by "
                               "`vae-study metrics sanity`)")
        return verdict
    names = sanity["case"].astype(str).str.lower().str.replace(r"[^a-z]", "", regex=True)
    truth = sanity[names.isin(["groundtruth", "factors", "groundtruthfactors"])]
    missing_one = sanity[names.str.contains("butone|missingone|dropone|onemissing")]
    if truth.empty or missing_one.empty:
        verdict.missing.append("the sanity table lacks the 'ground truth' or the 'all factors "
                               "but one' case")
        return verdict
    truth_row, case_row = truth.mean(numeric_only=True), missing_one.mean(numeric_only=True)
    beta_drop = truth_row["beta_vae_score"] - case_row["beta_vae_score"]
    factor_drop = truth_row["factor_vae_score"] - case_row["factor_vae_score"]
    verdict.evidence += [
        f"ground truth: BetaVAE {truth_row['beta_vae_score']:.3f}, FactorVAE "
        f"{truth_row['factor_vae_score']:.3f}",
        f"all factors but one: BetaVAE {case_row['beta_vae_score']:.3f} (drop {beta_drop:+.3f}),"
        f" FactorVAE {case_row['factor_vae_score']:.3f} (drop {factor_drop:+.3f}; predicted "
        f"{truth_row['factor_vae_score'] * (num_factors - 1) / num_factors:.3f})"]
    holds = beta_drop <= tolerance and factor_drop > 1 / (2 * num_factors)
    verdict.verdict = CONFIRMED if holds else NOT_CONFIRMED
    return verdict


def all_verdicts(final: pd.DataFrame, sanity: pd.DataFrame | None = None,
                 rule: Rule = Rule()) -> list[Verdict]:
    """Every claim of the report, in the report's order."""
    return [higgins_beta_beats_vae(final, rule), kim_mnih_better_tradeoff(final, rule),
            kim_mnih_beta_tradeoff(final, rule), kim_mnih_metric_critique(sanity),
            locatello_seed_vs_hyperparameter(final, rule)]
