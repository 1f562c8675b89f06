"""The statistics of Locatello et al.'s analysis, each vectorised over bootstrap resamples.

**Nested variance components.** A score y of seed k of hyperparameter value j of objective i
is modelled as y = mu + a_i + b_ij + e_ijk (objective > hyperparameter value within objective
> seed within setting), three independent random effects with variances s2_objective,
s2_hyperparameter and s2_seed. They are estimated by the method of moments from the nested
analysis of variance with unequal group sizes (Searle 1971, ch. 10; Sokal & Rohlf, *Biometry*,
nested anova with unequal sample sizes): with N models, a objectives, b settings, n_ij models
in setting ij and n_i in objective i,

    E[MS_seed] = s2_seed
    E[MS_hyperparameter] = s2_seed + k1 s2_hyperparameter
    E[MS_objective] = s2_seed + k2 s2_hyperparameter + k3 s2_objective
    k1 = (N - sum_i sum_j n_ij^2 / n_i) / (b - a)
    k2 = (sum_i sum_j n_ij^2 / n_i - sum_ij n_ij^2 / N) / (a - 1)
    k3 = (N - sum_i n_i^2 / N) / (a - 1)

(balanced: k1 = k2 = n, k3 = n b / a). A negative estimate is set to 0, and each component's
share of their sum is reported. An objective trained at one setting only (the VAE) adds to the
seed component and to the objective's, not to the hyperparameter's.

**Selection beats random.** Within a pool of models (the seeds of one setting, or every
model), select the model with the best selection score; the probability that it beats a model
drawn at random from the rest of the pool on a target score is its target rank among the
others, ties counted half: (rank - 1) / (n - 1) with average ranks. 1 means the selected model
is always the best on the target, 0.5 that selecting by the score is no better than picking at
random. Ties on the selection score share the selection equally.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

import numpy as np
from scipy import stats

from analysis.evidence import Rule
from analysis.statistics import Interval, resample

COMPONENTS = ("objective", "hyperparameter", "seed")


def nested_components(objectives: list[list[np.ndarray]]) -> np.ndarray:
    """The method-of-moments variance components (module docstring), not clipped at 0.

    ``objectives[i][j]``: the values of setting j of objective i, shaped (B, n_ij, ...): B
    resamples, n_ij models, any trailing axes (several scores at once). Needs at least 2
    objectives, one of them with 2 settings, and a setting with 2 models. Returns
    (B, ..., 3): objective, hyperparameter, seed.
    """
    settings = [g for groups in objectives for g in groups]
    sizes = [np.array([g.shape[1] for g in groups], dtype=float) for groups in objectives]
    per_objective = np.array([s.sum() for s in sizes])
    total, a, b = per_objective.sum(), len(objectives), len(settings)
    if a < 2 or b <= a or total <= b:
        raise ValueError(f"a nested decomposition needs 2 objectives, more settings than "
                         f"objectives and more models than settings; got {a}, {b}, {total:g}")
    means = [[g.mean(axis=1) for g in groups] for groups in objectives]
    objective_means = [sum(n * m for n, m in zip(s, ms)) / s.sum()
                       for s, ms in zip(sizes, means)]
    grand = sum(n * m for n, m in zip(per_objective, objective_means)) / total
    within = sum(((g - g.mean(axis=1, keepdims=True)) ** 2).sum(axis=1) for g in settings)
    between_settings = sum(n * (m - om) ** 2 for s, ms, om in zip(sizes, means, objective_means)
                           for n, m in zip(s, ms))
    between_objectives = sum(n * (om - grand) ** 2
                             for n, om in zip(per_objective, objective_means))
    ms_seed = within / (total - b)
    ms_setting = between_settings / (b - a)
    ms_objective = between_objectives / (a - 1)
    inner = sum((s ** 2).sum() / s.sum() for s in sizes)
    k1 = (total - inner) / (b - a)
    k2 = (inner - sum((s ** 2).sum() for s in sizes) / total) / (a - 1)
    k3 = (total - (per_objective ** 2).sum() / total) / (a - 1)
    hyperparameter = (ms_setting - ms_seed) / k1
    objective = (ms_objective - ms_seed - k2 * hyperparameter) / k3
    return np.stack([objective, hyperparameter, ms_seed], axis=-1)


def nested_shares(objectives: list[list[np.ndarray]]) -> np.ndarray:
    """Each component's share of the variance (negative components set to 0); NaN where the
    scores do not vary at all. Same arguments and shape as ``nested_components``."""
    components = np.maximum(nested_components(objectives), 0.0)
    total = components.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, components / total, np.nan)


def beats_random(pool: np.ndarray, selectors: list[int], signs: list[int],
                 targets: list[int]) -> np.ndarray:
    """The probability that the model selected by each selector beats a random other model of
    the pool on each target (module docstring).

    ``pool``: (B, n, k) scores of n >= 2 models; ``selectors``/``targets``: columns of it,
    ``signs``: +1 where a higher selector is better, -1 where a lower one is. Returns (B, S, T).
    """
    chosen = pool[..., selectors] * np.asarray(signs, dtype=float)
    winners = (chosen == chosen.max(axis=1, keepdims=True)).astype(float)     # (B, n, S)
    ranks = stats.rankdata(pool[..., targets], axis=1)                         # (B, n, T)
    percentile = (ranks - 1) / (pool.shape[1] - 1)
    return (np.einsum("bns,bnt->bst", winners, percentile)
            / winners.sum(axis=1)[..., None])


def intervals(groups: Mapping[str, np.ndarray], statistic: Callable[[dict], np.ndarray],
              rule: Rule, comparisons: int = 1) -> list[Interval]:
    """Percentile bootstrap intervals of every output of ``statistic`` at once, exactly as
    ``analysis.statistics.bootstrap`` computes one (the seeds resampled within their setting,
    Bonferroni's level for ``comparisons``); every output sees the same resamples.
    ``statistic`` maps {setting: (B, n, ...)} to (B, m)."""
    level = rule.level(comparisons)
    data = {name: np.asarray(values, dtype=float)[None] for name, values in groups.items()}
    estimates = np.asarray(statistic(data), dtype=float)[0]
    drawn = resample(groups, rule.resamples, np.random.default_rng(rule.seed))
    values = np.asarray(statistic(drawn), dtype=float)
    tail = 100 * (1 - level) / 2
    found = []
    for estimate, column in zip(estimates, values.T):
        finite = column[np.isfinite(column)]
        if math.isnan(estimate) or len(finite) < rule.resamples / 2:
            found.append(Interval(float(estimate), math.nan, math.nan, level))
            continue
        low, high = np.percentile(finite, [tail, 100 - tail])
        found.append(Interval(float(estimate), float(low), float(high), level))
    return found
