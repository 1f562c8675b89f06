"""Each verdict's rule on simulated studies: how often it calls a claim wrongly where the claim
sits exactly on its threshold, and how often it finds a true effect of one seed standard
deviation.

Every study is drawn at a preset's shape (``SHAPES``: quick, 3 kinds × 3 seeds; core, the VAE,
4 β and 4 γ × 3 seeds; locatello, 6 kinds × 6 values × 5 seeds) with seed noise of standard
deviation 1, ``normal`` or ``skewed`` (a lognormal, σ = 0.5, centred and scaled: skewness 1.75,
as a reconstruction error or a score bunched at one end of its range is), and decided by the
very function the report uses (``analysis.verdicts.rules``, ``analysis.locatello.rules``).
Three scenarios:

- **false confirmed**: the claim false but as near confirmation as it can be (every compared
  setting on the threshold, or, where the call needs every one of several intervals, one of
  them on it and the others far on the confirming side);
- **false contradicted**: the same, towards contradiction;
- **power**: the claim true by one seed standard deviation (``EFFECTS`` says what that means
  for each rule); the share of studies that confirm it.

A wrong call's nominal rate is α/2 = 2.5% (one side of every 95% interval, Bonferroni over
the comparisons that could make it); with S studies its Monte-Carlo standard error is
√(0.025 · 0.975 / S). A claim that a preset's shape cannot decide (too few settings, kinds or
seeds) is listed with what it needs instead of rates.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
from scipy import stats

from analysis.locatello import rules as locatello_rules
from analysis.locatello.statistics import transfer
from analysis.verdicts import rules

ALPHA = 0.05
#: Shapes of the presets: settings per role and seeds per setting.
#: ``kinds``: the swept kinds with ``values`` settings each; ``baseline``: the baseline kind
#: (the VAE) is trained.
SHAPES = {
    "quick": {"seeds": 3, "settings": 3, "baseline": True, "betas": 1, "gammas": 1, "kinds": 0,
              "values": 1, "metrics": 3},
    "core": {"seeds": 3, "settings": 9, "baseline": True, "betas": 4, "gammas": 4, "kinds": 2,
             "values": 4, "metrics": 6},
    "locatello": {"seeds": 5, "settings": 36, "baseline": False, "betas": 5, "gammas": 6,
                  "kinds": 6, "values": 6, "metrics": 6},
}
#: What "a true effect of one seed standard deviation" is for each claim.
EFFECTS = {
    "higgins": "every β > 1 1 sd above the VAE",
    "reconstruction_vs_beta": "means rising linearly by 1 sd from the VAE to the largest β",
    "disentanglement_vs_beta": "every inner β 1 sd above both ends",
    "reconstruction_kept": "every γ 1 sd below the margin, every β 1 sd above it",
    "better_tradeoff": "every γ 1 sd above the β-VAE curve",
    "tc_vs_gamma": "means falling linearly by 1 sd from the VAE to the largest γ",
    "tc_discriminator": "within settings y = x + noise of equal sd (ρ ≈ 0.7)",
    "critique_trained": "the difference 1 sd above −margin",
    "locatello": "setting sd 0.5 × seed sd (seed share 0.8)",
    "locatello_objective": "objective share 0.2 (objective sd 0.5, setting and seed sd √0.5)",
    "locatello_selection": "no score transfers (P = 0.5 everywhere): confirmed",
}
#: The selection claim's margin: "fails to select" is P below chance + this.
SELECTION_MARGIN = 0.1
#: The skewed noise: a lognormal of this σ, centred and scaled.
SKEW = 0.5
#: A setting this many sd away from the threshold: certainly on its side.
FAR = 10.0


@dataclass
class Row:
    """One claim at one preset's shape and one kind of noise."""

    claim: str
    preset: str
    data: str
    studies: int
    false_confirmed: float = np.nan
    false_contradicted: float = np.nan
    power: float = np.nan
    needs: str = ""


def noise(rng: np.random.Generator, data: str, size) -> np.ndarray:
    """Standardised seed noise: normal, or a centred and scaled lognormal of σ = ``SKEW``."""
    if data == "normal":
        return rng.standard_normal(size)
    variance = SKEW ** 2
    scale = np.sqrt((np.exp(variance) - 1) * np.exp(variance))
    return (rng.lognormal(0.0, SKEW, size) - np.exp(variance / 2)) / scale


class Draw:
    """Settings' values for ``studies`` simulated studies: ``(means)`` -> (B, seeds) arrays."""

    def __init__(self, rng, data: str, studies: int, seeds: int):
        self.rng, self.data, self.studies, self.seeds = rng, data, studies, seeds

    def __call__(self, *means: float, scale: float = 1.0, extra: tuple = ()) -> list[np.ndarray]:
        return [mean + scale * noise(self.rng, self.data, (self.studies, self.seeds) + extra)
                for mean in means]


def scenario_means(scenario: str, count: int, null: float, effect: float,
                   far: float | None = None) -> list[float]:
    """``count`` settings: all at ``null`` (or, with ``far``, the first at ``null`` and the
    others at ``far``), or all at ``effect``."""
    if scenario == "power":
        return [effect] * count
    return [null] + [null if far is None else far] * (count - 1)


# -- one function per claim: (draw, shape, scenario) -> rules.Decision, or a string of needs --
def higgins(draw, shape, scenario):
    far = -FAR if scenario == "contradict" else None
    reference, = draw(0.0)
    means = scenario_means(scenario, shape["betas"], 0.0, 1.0, far)
    return rules.some_beat(reference, dict(enumerate(draw(*means))), ALPHA)


def ordered(count: int, scenario: str, sign: int) -> list[float]:
    return list(np.linspace(0, sign, count)) if scenario == "power" else [0.0] * count


def reconstruction_vs_beta(draw, shape, scenario):
    return rules.monotone(draw(*ordered(shape["betas"] + 1, scenario, 1)), 1, ALPHA)


def tc_vs_gamma(draw, shape, scenario):
    count = shape["gammas"] + shape["baseline"]
    return rules.monotone(draw(*ordered(count, scenario, -1)), -1, ALPHA)


def disentanglement_vs_beta(draw, shape, scenario):
    count = shape["betas"] + 1
    if count < 3:
        return "3 values of β (the VAE and two β > 1)"
    inner = count - 2
    if scenario == "power":
        means = [0.0] + [1.0] * inner + [0.0]
    elif scenario == "confirm":      # inner settings tie the last end, the first far below
        means = [-FAR] + [0.0] * inner + [0.0]
    else:                            # the first end ties one inner setting, the rest far below
        means = [0.0, 0.0] + [-FAR] * (inner - 1) + [-FAR]
    values = draw(*means)
    return rules.interior_maximum(dict(enumerate(values)), ALPHA)


def reconstruction_kept(draw, shape, scenario):
    margin, level, sd = 0.10, 100.0, 5.0
    edge = level * (1 + margin)
    gammas = {"power": edge - sd, "confirm": edge - FAR * sd}.get(scenario, edge)
    betas = {"power": edge + sd}.get(scenario, edge)
    reference, = draw(level, scale=sd)
    kept = draw(*[gammas] * shape["gammas"], scale=sd)
    lost = draw(*[betas] * shape["betas"], scale=sd)
    return rules.kept_and_lost(reference, {f"γ{i}": v for i, v in enumerate(kept)},
                               {f"β{i}": v for i, v in enumerate(lost)}, margin, ALPHA)


def better_tradeoff(draw, shape, scenario):
    """The β-VAE curve: reconstruction 0, 3, 6, ... and score 0, 1, 2, ... (sd 1 each); each
    γ half-way between two curve settings (cycling), its score on the curve or off it."""
    points = shape["betas"] + 1
    curve = [np.stack([r, s], axis=-1) for r, s in zip(draw(*[3.0 * i for i in range(points)]),
                                                       draw(*[1.0 * i for i in range(points)]))]
    offsets = scenario_means(scenario, shape["gammas"], 0.0, 1.0,
                             -FAR if scenario == "contradict" else None)
    gammas = {}
    for index, offset in enumerate(offsets):
        between = index % (points - 1) + 0.5
        recon, score = draw(3.0 * between), draw(between + offset)
        gammas[index] = np.stack([recon[0], score[0]], axis=-1)
    return rules.better_tradeoff(curve, gammas, ALPHA)


def tc_discriminator(draw, shape, scenario):
    settings = shape["gammas"]
    if settings * shape["seeds"] - settings + 1 <= 3:
        return "4 FactorVAE models beyond one per setting"
    x = draw(*[5.0 * i for i in range(settings)])
    y = [3.0 * i + (x[i] - 5.0 * i if scenario == "power" else 0.0) + noise
         for i, noise in enumerate(draw(*[0.0] * settings))]
    return rules.tracks(x, y, ALPHA)


def critique_trained(draw, shape, scenario):
    """Models missing one factor vs missing none: a third vs two thirds of the preset's."""
    margin = 0.05
    models = shape["seeds"] * shape["settings"]
    one = Draw(draw.rng, draw.data, draw.studies, models // 3)
    none = Draw(draw.rng, draw.data, draw.studies, models - models // 3)
    sd = 0.05
    difference = -margin + (sd if scenario == "power" else 0.0)
    return rules.not_lower(one(difference, scale=sd)[0], none(0.0, scale=sd)[0], margin, ALPHA)


def grid(data: str, sizes: list[int], sd: float) -> np.ndarray:
    """Fixed effects of settings with ``sizes`` models each, whose variance over the models
    (each setting weighted by its models) is sd²: evenly spaced for ``normal`` data, a
    lognormal's quantiles (one setting far out) for ``skewed`` — the shares' noncentral F
    intervals depend on the pattern only through that variance."""
    count = len(sizes)
    if count == 1:
        return np.zeros(1)
    places = (np.arange(count) + 0.5) / count
    effects = places if data == "normal" else np.exp(SKEW * stats.norm.ppf(places))
    weights = np.asarray(sizes, dtype=float) / sum(sizes)
    effects = effects - weights @ effects
    return sd * effects / np.sqrt(weights @ effects ** 2)


def seed_share_groups(draw, values: int, setting_sd: float) -> list[np.ndarray]:
    effects = grid(draw.data, [draw.seeds] * values, setting_sd)
    return draw(*effects)


def locatello(draw, shape, scenario):
    if shape["kinds"] < 1:
        return "a swept kind at 2 values"
    near, far = {"confirm": (1.0, 0.0), "contradict": (1.0, FAR), "power": (0.5, 0.5)}[scenario]
    kinds = {k: seed_share_groups(draw, shape["values"], near if k == 0 else far)
             for k in range(shape["kinds"])}
    return locatello_rules.seed_shares(kinds, 0.5, ALPHA)


def nested(draw, shape, objective_sd: list[float], inner_sd: float) -> list[list[np.ndarray]]:
    """Objectives (the swept kinds, and the VAE at one setting where the preset trains it) ×
    values × seeds × metrics, the metrics' noise independent: fixed objective effects of
    standard deviation ``objective_sd`` over the models (one per metric), fixed value effects
    within objectives and seed noise of ``inner_sd``."""
    seeds = shape["seeds"]
    sizes = [shape["values"]] * shape["kinds"] + [1] * shape["baseline"]
    objectives = grid(draw.data, [values * seeds for values in sizes], 1.0)
    within = [grid(draw.data, [seeds] * values, 1.0) for values in sizes]
    spread = np.sqrt(sum((w ** 2).sum() for w in within) / sum(sizes))  # over the models
    return [[objective * np.asarray(objective_sd) + inner_sd * value / spread
             + inner_sd * noise(draw.rng, draw.data, (draw.studies, seeds, shape["metrics"]))
             for value in values] for objective, values in zip(objectives, within)]


def locatello_objective(draw, shape, scenario):
    if shape["kinds"] < 1:
        return "2 kinds, one at 2 values"
    metrics = shape["metrics"]
    # seed and setting variance 0.5 each: the objectives' share is 0.5 at objective sd 1
    boundary = [1.0] + ([0.0] * (metrics - 1) if scenario == "confirm" else [1.0] * (metrics - 1))
    sd = [0.5] * metrics if scenario == "power" else boundary
    objectives = nested(draw, shape, sd, np.sqrt(0.5))
    names = [f"m{i}" for i in range(metrics)]
    return locatello_rules.objective_below(objectives, names, 0.5, ALPHA)


def shared_kinds(draw, shape, loading: float) -> list[np.ndarray]:
    """Kinds (B, values, seeds, scores): every score = loading × the setting's effect + seed
    noise, the effect shared by all scores of a setting."""
    scores = shape["metrics"] - 1 + 3
    kinds = []
    for _ in range(shape["kinds"]):
        effect = noise(draw.rng, draw.data, (draw.studies, shape["values"], 1, 1))
        seeds = noise(draw.rng, draw.data, (draw.studies, shape["values"], shape["seeds"], scores))
        kinds.append(loading * effect + seeds)
    return kinds


@lru_cache
def loading_for(probability: float, preset: str, data: str) -> float:
    """The shared-effect loading at which P(s→t) is ``probability`` at a preset's shape
    (bisection on 10,000 simulated kinds with common random numbers)."""
    shape = SHAPES[preset]
    rng = np.random.default_rng(7)
    effect = noise(rng, data, (10_000, shape["values"], 1, 1))
    seeds = noise(rng, data, (10_000, shape["values"], shape["seeds"], 2))
    low, high = 0.0, 5.0
    for _ in range(20):
        middle = (low + high) / 2
        value = transfer(middle * effect + seeds, np.array([1, 1]), [1])[:, 0, 0].mean()
        low, high = (middle, high) if value < probability else (low, middle)
    return (low + high) / 2


def locatello_selection(draw, shape, scenario):
    if shape["kinds"] < 2:
        return "2 kinds at 2 values"
    loading = loading_for(0.5 + SELECTION_MARGIN, shape["name"], draw.data) \
        if scenario == "confirm" else 0.0
    kinds = shared_kinds(draw, shape, loading)
    names = [f"m{i}" for i in range(shape["metrics"] - 1)] + ["u0", "u1", "u2"]
    return locatello_rules.no_reliable_selection(kinds, [1] * len(names), names, names,
                                       names[:shape["metrics"] - 1], SELECTION_MARGIN, ALPHA)


CLAIMS: dict[str, Callable] = {
    "higgins": higgins, "reconstruction_vs_beta": reconstruction_vs_beta,
    "disentanglement_vs_beta": disentanglement_vs_beta,
    "reconstruction_kept": reconstruction_kept, "better_tradeoff": better_tradeoff,
    "tc_vs_gamma": tc_vs_gamma, "tc_discriminator": tc_discriminator,
    "critique_trained": critique_trained, "locatello": locatello,
    "locatello_objective": locatello_objective, "locatello_selection": locatello_selection}


def calibrate(claim: str, preset: str, data: str, studies: int = 1000, seed: int = 0) -> Row:
    """The three scenarios of one claim at one preset's shape (module docstring)."""
    shape = {**SHAPES[preset], "name": preset}
    row = Row(claim, preset, data, studies)
    rates = {}
    for number, scenario in enumerate(("confirm", "contradict", "power")):
        rng = np.random.default_rng([seed, number, list(SHAPES).index(preset)])
        decision = CLAIMS[claim](Draw(rng, data, studies, shape["seeds"]), shape, scenario)
        if isinstance(decision, str):
            row.needs = decision
            return row
        rates[scenario] = decision
    row.false_confirmed = float(np.mean(rates["confirm"].confirmed))
    row.false_contradicted = float(np.mean(rates["contradict"].contradicted))
    power = rates["power"]
    row.power = float(np.mean(power.confirmed))
    return row


def table(studies: int = 1000, seed: int = 0, data_kinds=("normal", "skewed")) -> list[Row]:
    """Every claim at every preset's shape and kind of noise."""
    return [calibrate(claim, preset, data, studies, seed) for claim in CLAIMS
            for preset in SHAPES for data in data_kinds]


def markdown(rows: list[Row]) -> list[str]:
    """The calibration table as markdown lines."""
    lines = ["| claim | preset | noise | false confirmed | false contradicted | power at 1 sd |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        if row.needs:
            lines.append(f"| {row.claim} | {row.preset} | {row.data} | needs {row.needs} | | |")
            continue
        lines.append(f"| {row.claim} | {row.preset} | {row.data} | "
                     f"{row.false_confirmed:.1%} | {row.false_contradicted:.1%} | "
                     f"{row.power:.0%} |")
    return lines
