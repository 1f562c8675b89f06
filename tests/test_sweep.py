"""Studies: presets, --set, validation before Ray starts, the grid, and `vae-study sweep` end to
end (live progress, summary table, TensorBoard hyperparameters, the Optuna preset)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from disentangle.errors import UserError
from study.cli import main
from study.config import load_study
from study.overrides import apply_assignment
from study.presets import PRESETS


@pytest.mark.parametrize("arguments, message", [
    (["--set", "trainin.lr=1"], "unknown setting 'trainin'"),
    (["--set", "training.lrr=1"], "unknown training setting"),
    (["--set", "variants.1.beta=-1"], "beta = -1"),
    (["--set", "variants.0.model=ae"], "unknown model 'ae'"),
    (["--set", "variants.0.beta=4"], "beta is not a hyperparameter of VAE"),
    (["--set", "stack=pile"], "stack = 'pile'"),
    (["--set", "stack=seeds", "--set", "seeds=[1, 1]"], "twice in one trial"),
    (["--set", "dataset.name=mnist"], "unknown dataset 'mnist'"),
    (["--preset", "celeba"], "CelebA needs its image folder"),
    (["--preset", "celeba", "--set", "dataset.root=/no/such/folder"], "is not a folder"),
    (["--preset", "nope"], "unknown preset"),
    (["--set", "metrics.fast.factor_vae_num_train=0"], "num_train=0"),
    (["--gpus-per-trial", "-1"], "gpus per trial"),
])
def test_bad_studies_fail_in_one_line_before_ray_starts(arguments, message, tmp_path,
                                                        monkeypatch, capsys):
    import study.sweep

    def no_ray():
        raise AssertionError("Ray was started for an invalid study")

    monkeypatch.setattr(study.sweep, "init_ray", no_ray)
    code = main(["sweep", *arguments, "--storage", str(tmp_path / "results"), "--name", "x"])
    error = capsys.readouterr().err.strip()
    assert code == 2
    assert error.startswith("vae-study: error: ") and "\n" not in error
    assert message in error
    assert not (tmp_path / "results").exists()


def test_set_edits_dotted_keys_list_positions_and_json_values():
    study = load_study("quick", ["training.lr=3e-4", "variants.1.beta=[2, 8]", "seeds=[0,1,2]",
                                 "steps_per_epoch=null", "variants.2.lr=1e-3",
                                 "asha.enabled=true"])
    definition = study.definition
    assert definition["training"]["lr"] == 3e-4
    assert definition["variants"][1] == {"model": "beta_vae", "beta": [2, 8]}
    assert definition["variants"][2]["lr"] == 1e-3
    assert definition["seeds"] == [0, 1, 2] and definition["steps_per_epoch"] is None
    assert definition["asha"]["enabled"] is True
    assert study.preset == "quick" and study.overrides[0] == "training.lr=3e-4"
    with pytest.raises(UserError, match="not a position"):
        apply_assignment(definition, "variants.7.beta=1")
    with pytest.raises(UserError, match="not key=value"):
        apply_assignment(definition, "epochs")


def test_presets_are_plain_valid_data_and_paper_is_kim_and_mnih_grid():
    from ray.tune.search.variant_generator import generate_variants

    from study.sweep import param_space

    for name in PRESETS:
        json.dumps(PRESETS[name])  # plain data: JSON round-trips
        if name != "celeba":
            load_study(name)
    assert PRESETS["quick"]["asha"]["enabled"] is False
    paper = load_study("paper")
    trials = [config for _, config in generate_variants(param_space(paper))]
    assert len(trials) == 12 and all(len(t["models"]) == 10 for t in trials)  # stacked by seeds
    models = [{**trial, **model} for trial in trials for model in trial["models"]]
    assert len(models) == 120
    combos = {(m["model"], m.get("beta"), m.get("gamma")) for m in models}
    # β = 1 is the VAE's objective: trained once, as the VAE
    assert combos == ({("vae", None, None)}
                      | {("beta_vae", b, None) for b in (2, 4, 6, 8, 16)}
                      | {("factor_vae", None, g) for g in (10, 20, 30, 40, 50, 100)})
    assert {m["seed"] for m in models} == set(range(10))
    assert all(m["batch_size"] == 64 and m["lr"] == 1e-4 and m["latent_dim"] == 10
               and m["hidden_dim"] == 128 for m in models)   # Kim & Mnih's Table 1
    assert all(t["epochs"] * t["steps_per_epoch"] == 300_000 for t in trials)
    assert 0 < paper.definition["resources"]["gpus_per_trial"] < 1
    assert len({model.variant for model in paper.models}) == 12
    core = [config for _, config in generate_variants(param_space(load_study("core")))]
    assert len(core) == 1 and len(core[0]["models"]) == 27


def test_asha_is_an_option_of_the_grid():
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    from study.sweep import _tune_config

    assert isinstance(_tune_config(load_study("quick")).scheduler or FIFOScheduler(),
                      FIFOScheduler)
    config = _tune_config(load_study("quick", ["asha.enabled=true", "epochs=9"]))
    assert isinstance(config.scheduler, ASHAScheduler)


def test_quick_sweep_end_to_end_prints_progress_and_a_summary_over_seeds(
        ray_cluster, tmp_path, tiny, capsys):
    code = main(["sweep", "--preset", "quick", *sum((["--set", a] for a in tiny(seeds=(0, 1))),
                                                    []),
                 "--storage", str(tmp_path), "--name", "e2e"])
    out = capsys.readouterr().out
    assert code == 0
    experiment = tmp_path / "e2e"
    assert out.count("done   ") == 6
    for setting in ("VAE", "β-VAE β=4", "FactorVAE γ=40"):
        line = next(line for line in out.splitlines() if line.startswith(setting + " "))
        assert " 2/2 " in line and "±" in line
    assert f"tensorboard --logdir {experiment}" in out
    table = pd.read_csv(experiment / "summary.csv")
    assert list(table["model"]) == ["vae", "beta_vae", "factor_vae"]
    assert list(table["setting"]) == ["VAE", "β-VAE β=4", "FactorVAE γ=40"]
    assert table["factor_vae_score_mean"].between(0, 1).all()
    assert table["reconstruction_std"].notna().all()

    trial_dirs = sorted(p for p in experiment.iterdir() if p.is_dir())
    assert len(trial_dirs) == 6
    configs = [json.loads((d / "params.json").read_text()) for d in trial_dirs]
    models = [model for config in configs for model in config["models"]]
    assert {(m["model"], m["seed"]) for m in models} == {
        (m, s) for m in ("vae", "beta_vae", "factor_vae") for s in (0, 1)}
    assert {m["setting"] for m in models} == {"VAE", "β-VAE β=4", "FactorVAE γ=40"}
    assert all(c["dataset"] == "dsprites" for c in configs)
    assert_one_tensorboard_run_per_model(experiment, {m["name"] for m in models})


def assert_one_tensorboard_run_per_model(experiment, names: set[str]) -> None:
    """TensorBoard on the experiment folder lists one run per model (named by the model),
    with grouped scalars and no Tune bookkeeping, and every run has the same hyperparameter
    keys (every registered kind's hyperparameter): FactorVAE's γ is a column of the HParams
    table even beside the VAE."""
    from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer
    from test_trainables import hyperparameters

    multiplexer = EventMultiplexer(size_guidance={"images": 0, "scalars": 0, "tensors": 0})
    multiplexer.AddRunsFromDirectory(str(experiment))
    multiplexer.Reload()
    runs = multiplexer.Runs()
    assert {run.split("/")[-1] for run in runs} == names and len(runs) == len(names)
    keys = set()
    for run in runs:
        accumulator = multiplexer.GetAccumulator(run)
        tags = accumulator.Tags()["scalars"]
        assert {tag.split("/")[0] for tag in tags} <= {"train", "scores", "kl_per_dim", "speed"}
        assert "scores/factor_vae_score" in tags and "train/reconstruction" in tags
        assert set(accumulator.Tags()["images"]) == {"reconstructions", "traversals"}
        keys.add(frozenset(hyperparameters(accumulator)))
    from disentangle.kinds import hyperparameter_keys

    assert keys == {frozenset({"kind", "setting", "seed", *hyperparameter_keys()})}


def test_a_stacked_sweep_gives_the_same_tables_as_an_unstacked_one(ray_cluster, tmp_path, tiny):
    """stack = seeds trains each setting's seeds in one trial; the summary, the results
    tables and the TensorBoard runs stay per model and per setting, as without stacking."""
    from analysis.results import load_results
    from study.sweep import run_sweep

    assignments = tiny(seeds=(0, 1), epochs=1) + [
        'variants=[{"model": "vae"}, {"model": "beta_vae", "beta": 4}]']
    unstacked = run_sweep(load_study("quick", assignments), tmp_path, "unstacked")
    stacked = run_sweep(load_study("quick", assignments + ["stack=seeds"]), tmp_path,
                        "stacked")
    assert len([p for p in (tmp_path / "stacked").iterdir() if p.is_dir()]) == 2
    assert stacked.table.shape == unstacked.table.shape
    assert list(stacked.table["setting"]) == list(unstacked.table["setting"])
    assert list(stacked.table["models"]) == ["2/2", "2/2"]
    one, other = load_results(tmp_path / "stacked"), load_results(tmp_path / "unstacked")
    assert one.final.shape == other.final.shape
    assert list(one.final["setting"]) == list(other.final["setting"])
    assert list(one.final["seed"]) == list(other.final["seed"])
    assert one.summary()[["setting", "metric", "count"]].equals(
        other.summary()[["setting", "metric", "count"]])
    assert_one_tensorboard_run_per_model(
        tmp_path / "stacked", set(one.trials["member"]))


def test_optuna_preset_searches_gamma_and_lr_for_two_objectives(ray_cluster, tmp_path, tiny):
    from study.sweep import run_sweep

    study = load_study("optuna", tiny(epochs=1) + [
        "search.num_samples=2",
        'search.objectives=[["reconstruction", "min"], ["factor_vae_score", "max"]]'])
    outcome = run_sweep(study, tmp_path, "optuna")
    assert len(outcome.trials) == 2 and not len(outcome.errored())
    configs = [json.loads(p.read_text()) for p in (tmp_path / "optuna").glob("*/params.json")]
    assert all(c["model"] == "factor_vae" for c in configs)
    assert all(5 <= c["gamma"] <= 200 and 1e-5 <= c["lr"] <= 1e-3 for c in configs)
    assert len({c["gamma"] for c in configs}) == 2
