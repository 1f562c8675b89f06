"""How a study's variants become models, and its models Ray Tune trials: every model resolved,
its setting named once, and the models grouped into trials by the study's ``stack``.

Each model of a grid study is one (variant, seed). Its *setting* is its kind, the kind's swept
value, and every training key that differs between the study's models (a variant with its own
learning rate is another setting, and says so); statistics over a setting's models are statistics
over seeds. The label (``β-VAE β=4``, ``FactorVAE γ=40 lr=0.001``) and the model's name
(``beta_vae_beta=4_seed=0``) are written into the trial's config here, and every later reader
(the trainable, the results tables, the summary, the report, the navigation study) takes them
from there through ``disentangle.training.config.members_of``.
"""

from __future__ import annotations

import itertools
import json
from typing import NamedTuple

from disentangle.errors import UserError
from disentangle.kinds import get_kind
from disentangle.training.config import (
    SETTINGS,
    member_name,
    setting_label,
    shared_settings,
    validate_config,
)

#: A variant's hyperparameter given as this word takes the kind's paper grid from the registry
#: (``disentangle.kinds``: ``{"model": "beta_tcvae", "beta": "paper"}`` = β in 1, 2, 4, 6, 8, 10).
PAPER_GRID = "paper"


class Model(NamedTuple):
    """One (variant, seed) of a study: its position among the expanded variants, its complete
    training config (validated), and its member entry (model keys, the setting keys that tell
    its setting apart, ``setting`` and ``name``) as its trial's ``models`` lists it."""

    variant: int
    config: dict
    member: dict


def expand_variants(variants: list[dict]) -> list[dict]:
    """Each variant with its list values expanded into a grid, in order (a hyperparameter
    given as ``"paper"``: the kind's paper grid)."""
    expanded = []
    for variant in variants:
        variant = {key: _paper_grid(variant, key) if value == PAPER_GRID else value
                   for key, value in variant.items()}
        keys = list(variant)
        values = [v if isinstance(v, list) else [v] for v in variant.values()]
        expanded += [dict(zip(keys, combo)) for combo in itertools.product(*values)]
    return expanded


def _paper_grid(variant: dict, key: str) -> list[float]:
    kind = get_kind(variant.get("model"))
    if kind.hyperparameter is None or kind.hyperparameter.key != key:
        raise UserError(f"{key}={PAPER_GRID!r}: {kind.name}'s hyperparameter is "
                        f"{kind.hyperparameter.key if kind.hyperparameter else 'none'}; "
                        f"'paper' names the paper grid of a kind's own hyperparameter")
    return list(kind.hyperparameter.paper_grid)


def trainer_config(definition: dict, variant: dict, seed: int) -> dict:
    """The ``disentangle.training.Trainer`` config of one model of study ``definition``."""
    return {**definition["training"], **variant, "seed": seed}


def resolved_models(definition: dict) -> list[Model]:
    """Every (variant, seed) of study ``definition``, variant by variant, each validated once."""
    variants = expand_variants(definition["variants"])
    configs = [(index, validate_config(trainer_config(definition, variant, seed)))
               for index, variant in enumerate(variants) for seed in definition["seeds"]]
    keys = setting_keys([config for _, config in configs])
    models = []
    for index, config in configs:
        member = {key: value for key, value in config.items() if key not in SETTINGS}
        member.update({key: config[key] for key in keys},
                      setting=setting_label(config, keys), name=member_name(config, keys))
        models.append(Model(index, config, member))
    return models


def setting_keys(configs: list[dict]) -> list[str]:
    """The shared training keys that take more than one value among the study's models."""
    return [key for key in SETTINGS if len({json.dumps(config[key]) for config in configs}) > 1]


def trial_groups(models: list[Model], stack) -> list[dict]:
    """The trials of a grid study: each the shared training settings of its models plus
    ``models``, the list of models it trains (see ``members_of``). Models share a trial only
    when their shared settings agree, and as far as the study's ``stack`` allows."""
    by_stack = _stack_key(stack)
    groups: dict[str, dict] = {}
    for position, (variant, config, member) in enumerate(models):
        shared = shared_settings(config)
        key = json.dumps([by_stack(position, variant, config), shared], sort_keys=True)
        groups.setdefault(key, {**shared, "models": []})["models"].append(member)
    for group in groups.values():
        names = [member["name"] for member in group["models"]]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise UserError(f"stack = {stack} would train {repeated[0]} twice in one "
                            f"trial: give distinct seeds, or stack = none")
    return list(groups.values())


def _stack_key(stack):
    """What models of one trial have in common under ``stack``: a function of (position,
    variant, config). Groups of kinds (a list of lists) stack each group's models together."""
    if isinstance(stack, list):
        group_of = {kind: number for number, group in enumerate(stack) for kind in group}
        return lambda position, variant, config: group_of[config["model"]]
    return {"none": lambda position, variant, config: position,
            "seeds": lambda position, variant, config: variant,
            "kind": lambda position, variant, config: config["model"],
            "all": lambda position, variant, config: None}[stack]


def trial_label(models: list[dict]) -> str:
    """A trial's name from its models: the model's own name when it trains one, else the
    shared part of the names and how many models it stacks."""
    if len(models) == 1:
        return models[0]["name"]
    settings = list(dict.fromkeys(model["setting"] for model in models))
    if len(settings) == 1:
        seeds = ",".join(str(model["seed"]) for model in models)
        return f"{models[0]['name'].rsplit('_seed=', 1)[0]}_seeds={seeds}"
    kinds = "+".join(dict.fromkeys(model["model"] for model in models))
    return f"{kinds}_x{len(models)}"
