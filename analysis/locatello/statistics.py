"""The statistics of Locatello et al.'s analysis, vectorised over studies (B, the leading
axis: 1 for a sweep, thousands in ``analysis.calibration``).

**Nested variance components.** A score y of seed k of hyperparameter value j of objective i
is y = mu + a_i + b_ij + e_ijk (objective > hyperparameter value within objective > seed within
setting). The objectives and values are the ones the sweep chose, so a_i and b_ij are fixed
effects and only the seed noise e (variance s2_seed) is random. The components describe a model
drawn at random from the sweep (each setting weighted by its models): s2_objective = Σ_i (n_i /
N) a_i², s2_hyperparameter = Σ_ij (n_ij / N) b_ij² (effects centred on their weighted means)
and s2_seed. From the nested analysis of variance with N models, a objectives and b settings,
E[SS_objective] = (a − 1) s2_seed + N s2_objective and E[SS_hyperparameter] = (b − a) s2_seed
+ N s2_hyperparameter, so the method of moments gives s2_objective = (SS_objective − (a − 1)
MS_seed) / N and s2_hyperparameter = (SS_hyperparameter − (b − a) MS_seed) / N, unbiased for any
group sizes; a negative estimate is set to 0, and each component's share of their sum is
reported. An objective trained at one setting only (the VAE) adds to the objective component,
not to the hyperparameter's.

**Intervals of the shares: noncentral F.** With normal seed noise, F_objective = MS_objective /
MS_seed and F_hyperparameter = MS_hyperparameter / MS_seed are noncentral F ratios of
noncentralities λ_o = N s2_objective / s2_seed and λ_h = N s2_hyperparameter / s2_seed, and
the shares are λ_o / (λ_o + λ_h + N), λ_h / (…) and N / (…). Each λ's exact interval
(``analysis.statistics.noncentrality_interval``) at level 1 − (1 − ``level``)/2 (Bonferroni over
the two), and each share's interval is its range over that rectangle: it holds at least
``level`` whatever the pattern of the effects. Its error rates on the presets' shapes are in
``analysis.calibration``.

**Selection transfer over settings** (Locatello et al. 2019, §5.4: does a hyperparameter value
chosen by one score beat a random one on another, judged on other seeds?). Within one model
kind, for each seed i the setting whose seed-i model scores best on the selection score is
chosen; on every other seed j, that setting's model is ranked on the target score among the
other settings' seed-j models, ties counted half: (rank − 1) / (settings − 1). P(s→t) is the
mean over i and j ≠ i; 0.5 is chance (the selection and the judgement share no model), 1 that
the chosen setting is always the best on the target. Ties on the selection score share the
choice equally. ``beats_random`` is the same rank for a pool of models with the selection made
in the pool itself (the report's matrix over all models, descriptive only).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from analysis.statistics import Interval, noncentrality_interval

COMPONENTS = ("objective", "hyperparameter", "seed")


def mean_squares(objectives: list[list[np.ndarray]]) -> tuple[list, list, int]:
    """The nested analysis of variance (module docstring): the mean squares of objectives,
    settings and seeds, their degrees of freedom and the number of models N.

    ``objectives[i][j]``: the values of setting j of objective i, shaped (B, n_ij, ...): B
    studies, n_ij models, any trailing axes (several scores at once). Needs at least 2
    objectives, more settings than objectives and more models than settings.
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
    dfs = [a - 1, b - a, int(total - b)]
    squares = [between_objectives / dfs[0], between_settings / dfs[1], within / dfs[2]]
    return squares, dfs, int(total)


def noncentralities(squares: list, dfs: list) -> tuple:
    """The method-of-moments λ_o and λ_h, not clipped at 0: (SS − df · MS_seed) / MS_seed."""
    ms_objective, ms_setting, ms_seed = squares
    with np.errstate(invalid="ignore", divide="ignore"):
        return tuple(df * (ms - ms_seed) / ms_seed
                     for ms, df in ((ms_objective, dfs[0]), (ms_setting, dfs[1])))


def shares_of(objective, hyperparameter, total: int) -> np.ndarray:
    """The objective, hyperparameter and seed shares (last axis) from λ_o and λ_h, negative
    ones set to 0."""
    objective, hyperparameter = np.maximum(objective, 0.0), np.maximum(hyperparameter, 0.0)
    whole = objective + hyperparameter + total
    return np.stack(np.broadcast_arrays(objective / whole, hyperparameter / whole,
                                        total / whole), axis=-1)


def nested_components(objectives: list[list[np.ndarray]]) -> np.ndarray:
    """The method-of-moments components s2_objective, s2_hyperparameter, s2_seed (module
    docstring), not clipped at 0: (B, ..., 3) (arguments as ``mean_squares``)."""
    squares, dfs, total = mean_squares(objectives)
    seed = squares[2]
    return np.stack(np.broadcast_arrays(*(n * seed / total for n in noncentralities(
        squares, dfs)), seed), axis=-1)


def nested_shares(objectives: list[list[np.ndarray]]) -> np.ndarray:
    """Each component's share of the variance (negative components set to 0); NaN where the
    seeds do not vary at all. Same arguments and shape as ``nested_components``."""
    squares, dfs, total = mean_squares(objectives)
    return shares_of(*noncentralities(squares, dfs), total)


def share_intervals(objectives: list[list[np.ndarray]], level: float,
                    components: tuple[str, ...] = COMPONENTS) -> dict[str, Interval]:
    """The noncentral F intervals (module docstring) of the shares named in ``components``,
    each of (B, ...) arrays."""
    squares, dfs, total = mean_squares(objectives)
    estimate = shares_of(*noncentralities(squares, dfs), total)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = [ms / squares[2] for ms in squares[:2]]
    (objective_low, objective_high), (setting_low, setting_high) = (
        noncentrality_interval(ratio, df, dfs[2], 1 - (1 - level) / 2)
        for ratio, df in zip(ratios, dfs))
    # each share's extremes over the rectangle: it rises with its own λ, falls with the other's
    low = shares_of(objective_low, setting_high, total)[..., 0], \
        shares_of(objective_high, setting_low, total)[..., 1], \
        shares_of(objective_high, setting_high, total)[..., 2]
    high = shares_of(objective_high, setting_low, total)[..., 0], \
        shares_of(objective_low, setting_high, total)[..., 1], \
        shares_of(objective_low, setting_low, total)[..., 2]
    return {name: Interval(estimate[..., c], low[c], high[c], level)
            for c, name in enumerate(COMPONENTS) if name in components}


def transfer(kind: np.ndarray, signs: np.ndarray, targets: list[int]) -> np.ndarray:
    """P(s→t) over the settings of one model kind (module docstring).

    ``kind``: (B, settings, seeds, scores), settings >= 2 and seeds >= 2; ``signs`` (scores,):
    +1 where a higher selection score is better, −1 where a lower one is; ``targets``: the
    score columns judged. Returns (B, scores, targets).
    """
    chosen = kind * np.asarray(signs, dtype=float)
    winners = (chosen == chosen.max(axis=1, keepdims=True)).astype(float)      # (B, C, I, S)
    winners /= winners.sum(axis=1, keepdims=True)
    settings, seeds = kind.shape[1:3]
    ranks = stats.rankdata(kind[..., targets], axis=1)                          # (B, C, J, T)
    percentile = (ranks - 1) / (settings - 1)
    paired = np.einsum("bcis,bcjt->bisjt", winners, percentile)
    other = ~np.eye(seeds, dtype=bool)[None, :, None, :, None]
    return (paired * other).sum(axis=(1, 3)) / (seeds * (seeds - 1))


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
