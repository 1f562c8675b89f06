"""Studies: presets, --set, validation before Ray starts, the grid, and `vae-study sweep` end to
end (live progress, summary table, TensorBoard hyperparameters, the Optuna preset)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from disentangle.errors import UserError
from study.cli import main
from study.config import apply_assignment, expand_variants, load_study
from study.presets import PRESETS


@pytest.mark.parametrize("arguments, message", [
    (["--set", "trainin.lr=1"], "unknown setting 'trainin'"),
    (["--set", "training.lrr=1"], "unknown training setting"),
    (["--set", "variants.1.beta=-1"], "beta = -1"),
    (["--set", "variants.0.model=ae"], "unknown model 'ae'"),
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
    assert study["training"]["lr"] == 3e-4
    assert study["variants"][1] == {"model": "beta_vae", "beta": [2, 8]}
    assert study["variants"][2]["lr"] == 1e-3
    assert study["seeds"] == [0, 1, 2] and study["steps_per_epoch"] is None
    assert study["asha"]["enabled"] is True
    with pytest.raises(UserError, match="not a position"):
        apply_assignment(study, "variants.7.beta=1")
    with pytest.raises(UserError, match="not key=value"):
        apply_assignment(study, "epochs")


def test_presets_are_plain_valid_data_and_paper_is_kim_and_mnih_grid():
    from ray.tune.search.variant_generator import generate_variants

    from study.sweep import param_space

    for name in ("quick", "paper", "faces", "optuna"):
        json.dumps(PRESETS[name])  # plain data: JSON round-trips
        load_study(name)
    assert PRESETS["quick"]["asha"]["enabled"] is False
    paper = load_study("paper")
    configs = [config for _, config in generate_variants(param_space(paper))]
    assert len(configs) == 130
    combos = {(c["model"], c["beta"] if c["model"] == "beta_vae" else None,
               c["gamma"] if c["model"] == "factor_vae" else None) for c in configs}
    assert combos == ({("vae", None, None)}
                      | {("beta_vae", b, None) for b in (1, 2, 4, 6, 8, 16)}
                      | {("factor_vae", None, g) for g in (10, 20, 30, 40, 50, 100)})
    assert {c["seed"] for c in configs} == set(range(10))
    assert all(c["batch_size"] == 64 and c["lr"] == 1e-4 for c in configs)
    assert all(c["epochs"] * c["steps_per_epoch"] == 300_000 for c in configs)
    assert 0 < paper["resources"]["gpus_per_trial"] < 1
    assert len(expand_variants(paper["variants"])) == 13


def test_asha_is_an_option_of_the_grid():
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    from study.sweep import _tune_config

    assert isinstance(_tune_config(load_study("quick")).scheduler or FIFOScheduler(),
                      FIFOScheduler)
    config = _tune_config(load_study("quick", ["asha.enabled=true", "epochs=9"]))
    assert isinstance(config.scheduler, ASHAScheduler)


def test_quick_sweep_end_to_end_prints_progress_and_a_summary_over_seeds(
        ray_cluster, tmp_path, tiny, capsys):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    code = main(["sweep", "--preset", "quick", *sum((["--set", a] for a in tiny(seeds=(0, 1))),
                                                    []),
                 "--storage", str(tmp_path), "--name", "e2e"])
    out = capsys.readouterr().out
    assert code == 0
    experiment = tmp_path / "e2e"
    assert out.count("done   ") == 6
    for row in ("vae         -", "beta_vae    beta=4", "factor_vae  gamma=40"):
        line = next(line for line in out.splitlines() if line.startswith(row))
        assert " 2/2 " in line and "±" in line
    assert f"tensorboard --logdir {experiment}" in out
    table = pd.read_csv(experiment / "summary.csv")
    assert list(table["model"]) == ["vae", "beta_vae", "factor_vae"]
    assert table["factor_vae_score_mean"].between(0, 1).all()
    assert table["reconstruction_std"].notna().all()

    trial_dirs = sorted(p for p in experiment.iterdir() if p.is_dir())
    assert len(trial_dirs) == 6
    configs = [json.loads((d / "params.json").read_text()) for d in trial_dirs]
    assert {(c["model"], c["seed"]) for c in configs} == {
        (m, s) for m in ("vae", "beta_vae", "factor_vae") for s in (0, 1)}
    assert all(c["dataset"] == "dsprites" for c in configs)
    events = EventAccumulator(str(trial_dirs[0]))
    events.Reload()
    assert events.PluginTagToContent("hparams"), "hyperparameters missing in TensorBoard"


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
