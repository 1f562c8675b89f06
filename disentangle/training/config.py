"""The training config: every setting stated once with its default and its rule, validated once.

A training config is flat: the shared settings below (architecture, optimiser, precision, ...),
plus what identifies one model: ``model`` (a registered kind, ``disentangle.kinds``), ``seed``
and the kind's own hyperparameter (``beta`` for β-VAE, ``gamma`` for FactorVAE, ...; the kind's
default when absent). ``validate_config`` is the one validator: the trainer, the study presets
and ``--set`` all go through it, and every mistake is one ``UserError`` line.

Defaults follow Higgins et al. (2017) and Kim & Mnih (2018) on dSprites: Adam lr 1e-4, betas
(0.9, 0.999), batch 64, 10 latents; the discriminator's Adam lr 1e-4, betas (0.5, 0.9).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from disentangle import kinds, runtime
from disentangle.errors import UserError
from disentangle.models import ARCHITECTURES
from disentangle.objectives import PERMUTATIONS, RECONSTRUCTIONS


@dataclass(frozen=True)
class Setting:
    """One shared training setting: its default and what values it allows."""

    default: object
    meaning: str
    choices: tuple = ()
    number: type | None = None      # int or float
    low: float | None = None        # the smallest allowed number
    low_allowed: bool = True        # whether ``low`` itself is allowed

    def check(self, key: str, value):
        if self.choices:
            if value not in self.choices:
                raise UserError(f"{key} = {value!r} is not allowed: choose one of "
                                f"{', '.join(map(str, self.choices))}")
            return value
        if self.number is None:
            return value
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if self.number is int:
            ok = ok and float(value).is_integer()
        if ok and self.low is not None:
            ok = value >= self.low if self.low_allowed else value > self.low
        if not ok:
            bound = "" if self.low is None else f" {'>=' if self.low_allowed else '>'} {self.low:g}"
            raise UserError(f"{key} = {value!r} is not allowed: it must be "
                            f"{'an integer' if self.number is int else 'a number'}{bound}")
        return self.number(value)


SETTINGS = {
    "lr": Setting(1e-4, "Adam learning rate of the VAE", number=float, low=0, low_allowed=False),
    "batch_size": Setting(64, "images per training step", number=int, low=2),
    "latent_dim": Setting(10, "latent dimensions", number=int, low=1),
    "architecture": Setting("standard", "encoder/decoder network (disentangle.models)",
                            choices=tuple(ARCHITECTURES)),
    "hidden_dim": Setting(256, "units of the fully connected layers", number=int, low=1),
    "precision": Setting("auto", "bf16 autocast where the hardware has fast bf16 (auto), or "
                                 "fp32/bf16", choices=runtime.PRECISIONS),
    "reconstruction": Setting("bernoulli", "likelihood of the decoder",
                              choices=RECONSTRUCTIONS),
    "discriminator_lr": Setting(1e-4, "Adam learning rate of a discriminator", number=float,
                                low=0, low_allowed=False),
    "discriminator_betas": Setting([0.5, 0.9], "Adam betas of a discriminator"),
    "tc_permutation": Setting("two_batch", "how a discriminator's permuted codes are drawn: "
                                           "from a second batch or the same one",
                              choices=PERMUTATIONS),
}

#: Every shared setting's default: the one place they are written.
DEFAULTS = {key: setting.default for key, setting in SETTINGS.items()}
#: What identifies one model besides its kind's hyperparameter.
MODEL_KEYS = ("model", "seed")
DEFAULT_MODEL = "beta_vae"


def validate_settings(settings: dict) -> dict:
    """The shared settings of ``settings`` (nothing else allowed), checked, defaults filled in."""
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise UserError(f"unknown training setting(s) {', '.join(map(repr, unknown))}: the "
                        f"settings are {', '.join(SETTINGS)}")
    full = {**DEFAULTS, **settings}
    for key, setting in SETTINGS.items():
        full[key] = setting.check(key, full[key])
    betas = full["discriminator_betas"]
    if (not isinstance(betas, (list, tuple)) or len(betas) != 2
            or not all(isinstance(b, numbers.Real) and not isinstance(b, bool) and 0 <= b < 1
                       for b in betas)):
        raise UserError(f"discriminator_betas = {betas!r} is not allowed: give two numbers in "
                        f"[0, 1), e.g. [0.5, 0.9]")
    full["discriminator_betas"] = [float(b) for b in betas]
    return full


def validate_model(model: dict) -> dict:
    """``model``, ``seed`` and the kind's hyperparameter (default filled in), checked; any
    other key, including another kind's hyperparameter, is an error."""
    kind = kinds.get_kind(model.get("model", DEFAULT_MODEL))
    own = kind.hyperparameter
    foreign = sorted(set(model) & set(kinds.hyperparameter_keys()) - {own.key if own else None})
    if foreign:
        allowed = f"its hyperparameter is {own.key}" if own else "it has no hyperparameter"
        raise UserError(f"{', '.join(foreign)} is not a hyperparameter of {kind.name} "
                        f"({allowed}): remove it or choose another model")
    seed = Setting(0, "", number=int, low=0).check("seed", model.get("seed", 0))
    if seed >= 2 ** 32:
        raise UserError(f"seed = {seed} is too large: use 0 <= seed < 2**32")
    resolved = {"model": kind.key, "seed": seed}
    if own is not None:
        resolved[own.key] = own.check(model.get(own.key, own.default), kind.name)
    return resolved


def validate_config(config: dict | None) -> dict:
    """A complete single-model training config (shared settings + model keys), checked."""
    config = dict(config or {})
    model_keys = set(MODEL_KEYS) | set(kinds.hyperparameter_keys())
    model = {key: value for key, value in config.items() if key in model_keys}
    shared = {key: value for key, value in config.items() if key not in model_keys}
    return {**validate_model(model), **validate_settings(shared)}


def model_value(config: dict) -> float | None:
    """The swept hyperparameter's value of a validated config (None for a kind without one)."""
    hyperparameter = kinds.get_kind(config["model"]).hyperparameter
    return None if hyperparameter is None else config[hyperparameter.key]


def training_keys() -> set[str]:
    """Every key a single-model training config may hold."""
    return set(SETTINGS) | set(MODEL_KEYS) | set(kinds.hyperparameter_keys())


def shared_settings(config: dict) -> dict:
    """The shared settings of a trial or training config, checked, defaults filled in."""
    return validate_settings({key: value for key, value in config.items() if key in SETTINGS})


def setting_label(member: dict, extra_keys=()) -> str:
    """``β-VAE β=4`` / ``FactorVAE γ=40 lr=0.001``: the kind, its swept value and the other
    keys in ``extra_keys`` that tell this setting apart from the study's others."""
    kind = kinds.get_kind(member["model"])
    parts = [kind.label(model_value(member))]
    parts += [f"{key}={_format(member[key])}" for key in extra_keys if key in member]
    return " ".join(parts)


def member_name(member: dict, extra_keys=()) -> str:
    """``beta_vae_beta=4_seed=0``: the setting and seed, safe in file and run names."""
    kind = kinds.get_kind(member["model"])
    parts = [kind.slug(model_value(member))]
    parts += [f"{key}={_format(member[key])}" for key in extra_keys if key in member]
    return "_".join(parts + [f"seed={member['seed']}"])


def members_of(config: dict) -> list[dict]:
    """The models one trial trains, each ``{model, seed, <hyperparameter>, setting, name}``.

    A sweep writes them resolved under ``models`` (with the setting's label and the model's
    name). A hand-written config names one model with flat keys (``model``, ``seed`` or
    ``seeds``, the hyperparameter), and ``setting_keys`` lists the other keys that belong to
    the setting (e.g. those an Optuna search samples); this resolves it the same way. Every
    reader of a trial (the trainable, the analysis, the navigation study) calls this, so a
    setting is worked out in one place."""
    if config.get("models"):
        return [dict(member) for member in config["models"]]
    extra_keys = [key for key in config.get("setting_keys", ()) if key in SETTINGS]
    kind = kinds.get_kind(config.get("model", DEFAULT_MODEL))
    own = [kind.hyperparameter.key] if kind.hyperparameter else []
    flat = {key: config[key] for key in [*MODEL_KEYS, *own] if key in config}
    seeds = config.get("seeds") or [config.get("seed", 0)]
    members = []
    for seed in seeds:
        member = validate_model({**flat, "seed": seed})
        member.update({key: config[key] for key in extra_keys if key in config})
        member.update(setting=setting_label(member, extra_keys),
                      name=member_name(member, extra_keys))
        members.append(member)
    return members


def member_config(config: dict, member: dict) -> dict:
    """The complete training config of one member of a trial: the trial's shared settings
    with the member's model keys (and any setting key it overrides)."""
    own = {key: value for key, value in member.items() if key in training_keys()}
    return validate_config({**{k: v for k, v in config.items() if k in SETTINGS}, **own})


def _format(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else str(value)
