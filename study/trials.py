"""How a study becomes Ray Tune trials: every model resolved, its setting named once, and the
models grouped into trials by the study's ``stack``.

Each model of a grid study is one (variant, seed). Its *setting* is its kind, the kind's swept
value, and every training key that differs between the study's models (a variant with its own
learning rate is another setting, and says so); statistics over a setting's models are statistics
over seeds. The label (``β-VAE β=4``, ``FactorVAE γ=40 lr=0.001``) and the model's name
(``beta_vae_beta=4_seed=0``) are written into the trial's config here, and every later reader
(the trainable, the results tables, the summary, the report, the navigation study) takes them
from there through ``disentangle.training.config.members_of``.
"""

from __future__ import annotations

import json

from disentangle.errors import UserError
from disentangle.training.config import (
    SETTINGS, member_name, setting_label, shared_settings, validate_config)
from study.config import expand_variants, trainer_config


def resolved_models(study: dict) -> list[tuple[int, dict, dict]]:
    """Every (variant, seed) of a grid study: its position among the expanded variants, its
    complete training config, and its member entry (model keys, the setting keys that tell
    its setting apart, ``setting`` and ``name``)."""
    variants = expand_variants(study["variants"])
    configs = [(index, validate_config(trainer_config(study, variant, seed)))
               for index, variant in enumerate(variants) for seed in study["seeds"]]
    keys = setting_keys([config for _, config in configs])
    models = []
    for index, config in configs:
        member = {key: value for key, value in config.items() if key not in SETTINGS}
        member.update({key: config[key] for key in keys},
                      setting=setting_label(config, keys), name=member_name(config, keys))
        models.append((index, config, member))
    return models


def setting_keys(configs: list[dict]) -> list[str]:
    """The shared training keys that take more than one value among the study's models."""
    return [key for key in SETTINGS if len({json.dumps(config[key]) for config in configs}) > 1]


def trial_groups(study: dict) -> list[dict]:
    """The trials of a grid study: each the shared training settings of its models plus
    ``models``, the list of models it trains (see ``members_of``). Models share a trial only
    when their shared settings agree, and as far as ``study["stack"]`` allows."""
    by_stack = _stack_key(study["stack"])
    groups: dict[str, dict] = {}
    for position, (variant, config, member) in enumerate(resolved_models(study)):
        shared = shared_settings(config)
        key = json.dumps([by_stack(position, variant, config), shared], sort_keys=True)
        groups.setdefault(key, {**shared, "models": []})["models"].append(member)
    for group in groups.values():
        names = [member["name"] for member in group["models"]]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise UserError(f"stack = {study['stack']} would train {repeated[0]} twice in one "
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
