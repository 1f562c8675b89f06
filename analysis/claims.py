"""Verdicts on the papers' claims: every claim of the report, in order, and how collapsed models
count.

Each claim is stated as its paper states it and decided by a rule written in one sentence next
to its verdict, naming its interval (``analysis.verdicts.training``,
``analysis.verdicts.metrics``, ``analysis.locatello.claims``): **confirmed** when the intervals
support it, **contradicted** when they exclude it, **inconclusive** when they do neither, **not
enough data** when a setting has fewer than ``Rule.min_seeds`` models, the design is too small
for the rule's interval or a number was not reported (``analysis.verdicts.framework``).
``multiplicity`` states what testing several claims at once does to the chance of a wrong call.
The models are those ``analysis.selection`` keeps: finished, at a common step, one score
preset, β = 1 once.

Collapsed models. A model none of whose latent dimensions varies (every one below the FactorVAE
metric's pruning threshold) scores 0 on the FactorVAE metric by its convention, although a
representation without information is at chance, 1/K, on any classifier. The claims that use
the FactorVAE score count such models as scored (0); each is decided again with them left out,
and a verdict that changes with that choice is **inconclusive**.
"""

from __future__ import annotations

import pandas as pd

from analysis.locatello.claims import (
    locatello_seed_vs_hyperparameter,
    no_metric_selects_for_the_others,
    objective_matters_less,
)
from analysis.results import PAPER_PREFIX, score_preset
from analysis.verdicts.framework import (
    INCONCLUSIVE,
    NOT_ENOUGH_DATA,
    Rule,
    Verdict,
)
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

#: The claims decided on the FactorVAE score, where collapsed models' 0 matters.
ON_FACTOR_VAE_SCORE = (kim_mnih_disentanglement_peaks, kim_mnih_better_tradeoff,
                       locatello_seed_vs_hyperparameter, objective_matters_less,
                       no_metric_selects_for_the_others)


def collapsed(table: pd.DataFrame) -> pd.Series:
    """Which models collapsed: no active dimension for the FactorVAE metric (its
    ``factor_vae_active_dims`` is 0, or, when that was not reported, it warned), in the score
    preset of ``table``."""
    prefix = PAPER_PREFIX if score_preset(table) == "paper" else ""
    active, warning = f"{prefix}factor_vae_active_dims", f"{prefix}factor_vae_warning"
    if active in table:
        return (table[active] == 0).fillna(False).astype(bool)
    if warning in table:
        return table[warning].notna()
    return pd.Series(False, index=table.index)


def robust_to_collapse(claim, table: pd.DataFrame, rule: Rule) -> Verdict:
    """``claim`` on ``table``, inconclusive when leaving the collapsed models out changes it."""
    verdict = claim(table, rule)
    mask = collapsed(table)
    if not mask.any():
        return verdict
    without = claim(table[~mask], rule)
    count = int(mask.sum())
    if without.verdict == verdict.verdict:
        verdict.evidence.append(f"the same verdict with the {count} collapsed model(s) left out "
                                f"instead of scored 0")
        return verdict
    if verdict.verdict == INCONCLUSIVE:
        verdict.evidence.append(f"with the {count} collapsed model(s) left out instead of scored "
                                f"0: {without.verdict}")
        return verdict
    verdict.evidence.append(f"with the {count} collapsed model(s) left out instead of scored 0 "
                            f"the verdict would be {without.verdict}, not {verdict.verdict}: it "
                            f"depends on how collapsed models count, so it is inconclusive")
    verdict.verdict = INCONCLUSIVE
    return verdict


def all_verdicts(table: pd.DataFrame, sanity: pd.DataFrame | None = None,
                 rule: Rule = Rule()) -> list[Verdict]:
    """Every claim of the report, in the report's order, on the selected models ``table``."""
    def decide(claim):
        return robust_to_collapse(claim, table, rule) if claim in ON_FACTOR_VAE_SCORE \
            else claim(table, rule)

    return [decide(higgins_beta_beats_vae), decide(kim_mnih_reconstruction_rises),
            decide(kim_mnih_disentanglement_peaks), decide(kim_mnih_reconstruction_kept),
            decide(kim_mnih_better_tradeoff), decide(kim_mnih_tc_falls_with_gamma),
            decide(kim_mnih_discriminator_tracks_tc), kim_mnih_metric_critique(sanity),
            decide(kim_mnih_critique_on_trained_models),
            decide(locatello_seed_vs_hyperparameter), decide(objective_matters_less),
            decide(no_metric_selects_for_the_others)]


def multiplicity(verdicts: list[Verdict], rule: Rule = Rule()) -> str:
    """The family-wise error of the verdicts that were decided (every outcome but not enough
    data, the sanity suite's exact evaluation aside): each is a wrong call at most α of the
    time (α/2 each way), so at least one of k is at most min(1, k α) (Bonferroni's union
    bound), whatever their dependence."""
    tested = [v for v in verdicts if v.verdict != NOT_ENOUGH_DATA and v.key != "metric_critique"]
    bound = min(1.0, len(tested) * rule.alpha)
    return (f"**Several claims at once.** {len(tested)} claim(s) were tested on seeds here "
            f"(those not *not enough data*, the sanity suite's exact evaluation aside). Each "
            f"makes a wrong call (confirmed or contradicted when the truth is at its threshold) "
            f"at most {rule.alpha:.0%} of the time, so the chance that at least one of them is "
            f"wrong is at most {bound:.0%} (Bonferroni's union bound); "
            f"`--alpha {rule.alpha / max(1, len(tested)):.3g}` would hold it at "
            f"{rule.alpha:.0%}, at the cost of power.")
