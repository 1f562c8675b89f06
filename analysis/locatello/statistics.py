"""The statistics of Locatello et al.'s analysis, vectorised over studies (B, the leading
axis: 1 for a sweep, thousands in ``analysis.calibration``).

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

**Intervals of the shares: generalized pivotal quantities** (Weerahandi 1993; Burdick, Borror
& Montgomery 2005, ch. 5). Each mean square with ν degrees of freedom is replaced by
ν MS / χ²_ν, drawn ``draws`` times (the same draws for every study and metric, from a fixed
generator seed); the components and shares are computed from each draw as from the mean
squares, and the interval is the central ``level`` share of those draws (inverted CDF, no
interpolation). Exact for the mean squares of a balanced design with normal effects; its
error rates on the presets' shapes are in ``analysis.calibration``.

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

from analysis.statistics import Interval

COMPONENTS = ("objective", "hyperparameter", "seed")
#: Draws of the generalized pivotal quantities, and their generator's seed.
DRAWS, DRAW_SEED = 4000, 0
#: Pivotal draws held in memory at once (studies × scores × draws, single precision: their
#: quantiles need no more), to bound memory.
CHUNK = 2_000_000


def mean_squares(objectives: list[list[np.ndarray]]) -> tuple[list, list, tuple]:
    """The nested analysis of variance (module docstring): the mean squares of objectives,
    settings and seeds, their degrees of freedom and (k1, k2, k3).

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
    inner = sum((s ** 2).sum() / s.sum() for s in sizes)
    k1 = (total - inner) / (b - a)
    k2 = (inner - sum((s ** 2).sum() for s in sizes) / total) / (a - 1)
    k3 = (total - (per_objective ** 2).sum() / total) / (a - 1)
    return squares, dfs, (k1, k2, k3)


def components_of(squares: list, coefficients: tuple) -> tuple:
    """The objective, hyperparameter and seed components from the mean squares."""
    ms_objective, ms_setting, ms_seed = squares
    k1, k2, k3 = coefficients
    hyperparameter = (ms_setting - ms_seed) / k1
    return (ms_objective - ms_seed - k2 * hyperparameter) / k3, hyperparameter, ms_seed


def shares_of(components: np.ndarray) -> np.ndarray:
    """Each component's share of their sum, negative components set to 0; NaN where there is
    no variance at all."""
    components = np.maximum(components, 0.0)
    total = components.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, components / total, np.nan)


def nested_components(objectives: list[list[np.ndarray]]) -> np.ndarray:
    """The method-of-moments variance components, not clipped at 0: (B, ..., 3) objective,
    hyperparameter, seed (arguments as ``mean_squares``)."""
    squares, _, coefficients = mean_squares(objectives)
    return np.stack(np.broadcast_arrays(*components_of(squares, coefficients)), axis=-1)


def nested_shares(objectives: list[list[np.ndarray]]) -> np.ndarray:
    """Each component's share of the variance (negative components set to 0); NaN where the
    scores do not vary at all. Same arguments and shape as ``nested_components``."""
    return shares_of(nested_components(objectives))


def share_intervals(objectives: list[list[np.ndarray]], level: float, draws: int = DRAWS,
                    seed: int = DRAW_SEED, components: tuple[str, ...] = COMPONENTS
                    ) -> dict[str, Interval]:
    """The generalized pivotal intervals (module docstring) of the shares named in
    ``components``, each of (B, ...) arrays."""
    squares, dfs, coefficients = mean_squares(objectives)
    chi2 = np.random.default_rng(seed).chisquare(dfs, size=(draws, 3)).astype(np.float32)
    estimate = shares_of(np.stack(components_of(squares, coefficients), axis=-1))
    wanted = [COMPONENTS.index(name) for name in components]
    tail = (1 - level) / 2
    step = max(1, CHUNK // (draws * max(1, squares[0][0].size)))
    bounds = []
    for start in range(0, len(squares[0]), step):
        pivots = [(df * ms[start:start + step]).astype(np.float32)[..., None] / chi2[:, c]
                  for c, (ms, df) in enumerate(zip(squares, dfs))]               # (b, ..., R)
        parts = [np.maximum(part, 0.0) for part in components_of(pivots, coefficients)]
        total = parts[0] + parts[1] + parts[2]                                   # (b, ..., R)
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = np.stack([parts[c] / total for c in wanted])              # (w, b, ..., R)
        bounds.append(np.quantile(shares, [tail, 1 - tail], axis=-1, method="inverted_cdf"))
    low, high = np.concatenate(bounds, axis=2)                                 # (w, B, ...)
    missing = np.isnan(estimate)
    return {name: Interval(estimate[..., c], np.where(missing[..., c], np.nan, low[w]),
                           np.where(missing[..., c], np.nan, high[w]), level)
            for w, (name, c) in enumerate(zip(components, wanted))}


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
