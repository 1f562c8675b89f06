"""A study is built once: each ``vae-study sweep`` (a Tune sweep, ``--local``, ``--resume``)
checks and resolves its study one time, and Tune receives exactly the dict the code before
the ``Study`` (issue #26) gave it, so sweeps written by that code resume and analyse unchanged.

Tune itself is replaced by a recorder here: what matters is what it is handed.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from study.cli import main

# The trial configs Tune resolved for the quick and cpu presets before the Study existed,
# key order included (params.json holds them so).
TRIAL_KEYS = ["dataset", "dataset_options", "epochs", "steps_per_epoch", "log_every", "metrics",
              "images", "group", "lr", "batch_size", "latent_dim", "architecture", "hidden_dim",
              "precision", "reconstruction", "discriminator_lr", "discriminator_betas",
              "tc_permutation", "models"]
TRAINING = {"lr": 1e-4, "batch_size": 64, "latent_dim": 10, "architecture": "standard",
            "hidden_dim": 256, "precision": "auto", "reconstruction": "bernoulli",
            "discriminator_lr": 1e-4, "discriminator_betas": [0.5, 0.9],
            "tc_permutation": "two_batch"}
QUICK = {"dataset": "dsprites", "dataset_options": {}, "epochs": 2, "steps_per_epoch": 250,
         "log_every": 100,
         "metrics": {"enabled": True, "fast": {}, "paper": {}, "paper_every": None,
                     "sets": {"fast": None, "paper": None}},
         "images": {"every": 1, "count": 8, "traversal_range": 2.0, "traversal_steps": 9},
         **TRAINING}
CPU = {**QUICK, "epochs": 150, "steps_per_epoch": 2000, "hidden_dim": 128,
       "metrics": {"enabled": True, "fast": {}, "paper": {}, "paper_every": 5,
                   "sets": {"fast": None, "paper": ["beta_vae", "factor_vae", "mig"]}},
       "images": {"every": 5, "count": 8, "traversal_range": 2.0, "traversal_steps": 9}}


def vae(seed):
    return {"model": "vae", "seed": seed, "setting": "VAE", "name": f"vae_seed={seed}"}


def beta_vae(seed):
    return {"model": "beta_vae", "seed": seed, "beta": 4.0, "setting": "β-VAE β=4",
            "name": f"beta_vae_beta=4_seed={seed}"}


def factor_vae(seed):
    return {"model": "factor_vae", "seed": seed, "gamma": 40.0, "setting": "FactorVAE γ=40",
            "name": f"factor_vae_gamma=40_seed={seed}"}


SEEDS = (0, 1, 2)
EXPECTED = {
    "quick": [{**QUICK, "group": number, "models": [kind(seed)]} for number, (kind, seed) in
              enumerate((kind, seed) for kind in (vae, beta_vae, factor_vae) for seed in SEEDS)],
    "cpu": [{**CPU, "group": 0, "models": [vae(s) for s in SEEDS] + [beta_vae(s) for s in SEEDS]},
            {**CPU, "group": 1, "models": [factor_vae(s) for s in SEEDS]}],
}


def with_keys(configs: list[dict]) -> list[tuple]:
    """Each config with its keys' order and its models' keys' order."""
    return [(config, list(config), [list(model) for model in config["models"]])
            for config in configs]


def expected_with_keys(preset: str) -> list[tuple]:
    return [({key: config[key] for key in TRIAL_KEYS}, TRIAL_KEYS,
             [list(model) for model in config["models"]]) for config in EXPECTED[preset]]


@pytest.fixture
def counted(monkeypatch):
    """Counts of study checks, model resolutions and trial groupings, and the stand-ins'
    records: the Tuner's arguments, the --local runner's trial configs."""
    from ray import tune

    import study.config
    import study.local
    import study.sweep
    import study.trials

    counts = {"validate_study": 0, "validate_config": 0, "trial_groups": 0}
    records = SimpleNamespace(tuners=[], local=[])

    def counting(module, name):
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            counts[name] += 1
            return original(*args, **kwargs)
        monkeypatch.setattr(module, name, wrapper)

    counting(study.config, "validate_study")
    counting(study.config, "trial_groups")
    counting(study.trials, "validate_config")

    class RecordingTuner:
        restorable = False

        def __init__(self, trainable, **arguments):
            records.tuners.append(arguments)

        @classmethod
        def can_restore(cls, path):
            return cls.restorable

        def fit(self):
            return None

    outcome = SimpleNamespace(format=lambda: "summary", unfinished=0, errored=lambda: [],
                              write_csv=lambda file: None)
    monkeypatch.setattr(tune, "Tuner", RecordingTuner)
    monkeypatch.setattr(study.sweep, "init_ray", lambda: None)
    monkeypatch.setattr(study.sweep, "make_trainable", lambda built: "trainable")
    monkeypatch.setattr(study.sweep, "_finish", lambda path: outcome)
    monkeypatch.setattr(study.local, "_run_trial",
                        lambda config, *rest: records.local.append(config))
    monkeypatch.setattr(study.local, "SweepOutcome",
                        SimpleNamespace(from_sweep=lambda path: outcome))
    return counts, records


def resolved(param_space: dict) -> list[dict]:
    from ray.tune.search.variant_generator import generate_variants

    return [config for _, config in generate_variants(param_space)]


@pytest.mark.parametrize("preset", ["quick", "cpu"])
def test_a_sweep_builds_its_study_once_and_hands_tune_the_dict_it_always_did(
        preset, counted, tmp_path):
    counts, records = counted
    assert main(["sweep", "--preset", preset, "--storage", str(tmp_path), "--name", "x"]) == 0
    assert counts == {"validate_study": 1, "validate_config": 9, "trial_groups": 1}
    [tuner] = records.tuners
    assert with_keys(resolved(tuner["param_space"])) == expected_with_keys(preset)
    stored = json.loads((tmp_path / "x" / "study.json").read_text())
    assert stored["preset"] == preset and stored["seeds"] == [0, 1, 2]


@pytest.mark.parametrize("preset", ["quick", "cpu"])
def test_a_local_sweep_builds_its_study_once_and_runs_the_same_trial_configs(
        preset, counted, tmp_path):
    counts, records = counted
    assert main(["sweep", "--preset", preset, "--local", "--storage", str(tmp_path),
                 "--name", "x"]) == 0
    assert counts == {"validate_study": 1, "validate_config": 9, "trial_groups": 1}
    assert with_keys(records.local) == expected_with_keys(preset)


def test_resuming_builds_the_stored_study_once(counted, tmp_path):
    from study.config import load_study

    counts, records = counted
    folder = tmp_path / "early"
    folder.mkdir()
    (folder / "study.json").write_text(json.dumps(load_study("cpu").definition))
    counts.update(dict.fromkeys(counts, 0))   # count the resume alone
    assert main(["sweep", "--resume", str(folder)]) == 0   # Tune saved nothing: starts it
    assert counts == {"validate_study": 1, "validate_config": 9, "trial_groups": 1}
    assert with_keys(resolved(records.tuners[-1]["param_space"])) == expected_with_keys("cpu")


def test_a_study_cannot_be_changed_after_it_is_built():
    from dataclasses import FrozenInstanceError

    from study.config import load_study

    study = load_study("quick", ["seeds=[0]"])
    assert study.preset == "quick" and study.overrides == ("seeds=[0]",)
    assert len(study.models) == 3 and len(study.trials) == 3
    with pytest.raises(FrozenInstanceError):
        study.trials = ()
