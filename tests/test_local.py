"""`vae-study sweep --local`: a grid study trained in this process without Ray, written in
Tune's layout (so the analysis reads it as a sweep), continued exactly when run again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from study.cli import main


def test_a_local_sweep_writes_tunes_layout_is_analysed_and_continues_exactly(tmp_path, tiny,
                                                                            capsys):
    arguments = ["sweep", "--local", "--preset", "quick", "--storage", str(tmp_path),
                 "--name", "local", *sum((["--set", a] for a in tiny(epochs=2, seeds=(0, 1))
                                          + ['variants=[{"model": "vae"}, '
                                             '{"model": "factor_vae", "gamma": 10}]',
                                             "stack=kind", "checkpoints.keep=2"]), [])]
    # the first run in a process where Ray cannot be imported (a GPU box without it)
    without_ray = ("import sys; sys.modules['ray'] = None; from study.cli import main; "
                   f"sys.exit(main({arguments!r}))")
    done = subprocess.run([sys.executable, "-c", without_ray], capture_output=True, text=True,
                          env={**os.environ, "VAE_STUDY_CACHE": os.environ["VAE_STUDY_CACHE"]})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "FactorVAE γ=10" in done.stdout and " 2/2 " in done.stdout
    experiment = tmp_path / "local"
    trials = sorted(p for p in experiment.iterdir() if p.is_dir())
    assert [len(json.loads((t / "params.json").read_text())["models"]) for t in trials] == [2, 2]
    factor = next(t for t in trials if "factor_vae" in t.name)
    rows = [json.loads(line) for line in (factor / "result.json").read_text().splitlines()]
    assert [row["training_iteration"] for row in rows] == [1, 2] and rows[-1]["done"]
    assert set(rows[-1]["models"]) == {"factor_vae_gamma=10_seed=0",
                                       "factor_vae_gamma=10_seed=1"}
    assert sorted(p.name for p in factor.glob("checkpoint_*")) == [
        "checkpoint_000001", "checkpoint_000002"]
    assert (factor / "factor_vae_gamma=10_seed=1").is_dir()   # the model's TensorBoard run

    from analysis.results import load_results

    results = load_results(experiment)
    assert len(results.final) == 4 and set(results.trials["status"]) == {"finished"}

    # continue after losing the last epoch: it is trained again from epoch 1's checkpoint,
    # exactly as the first time
    shutil.rmtree(factor / "checkpoint_000002")
    (factor / "result.json").write_text(json.dumps(rows[0]) + "\n")
    assert main(arguments) == 0
    again = [json.loads(line) for line in (factor / "result.json").read_text().splitlines()]
    for name, report in rows[-1]["models"].items():
        for metric in ("loss", "reconstruction", "kl", "factor_vae_score"):
            assert again[-1]["models"][name][metric] == report[metric], (name, metric)
    assert "finished before" in capsys.readouterr().out   # the VAE trial was not rerun

    assert main(arguments[:-2] + ["--set", "epochs=3"]) == 2   # another study: refused
    assert "holds another study" in capsys.readouterr().err
