"""Fault tolerance with a real local Ray: a trial whose worker process is killed resumes from
its last checkpoint and ends exactly like an undisturbed twin; an interrupted sweep resumes
without re-running its finished trials and runs the ones Tune had not created yet."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from ray.tune import Callback

from disentangle.errors import UserError
from study.config import load_study
from study.sweep import resume_sweep, run_sweep

# Process-wide record of the interrupt test's one SIGINT: Tune pickles the run's callbacks
# with the experiment, and the resumed copy must not interrupt again.
SENT_INTERRUPTS: list[int] = []


def _rows(trial_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (trial_dir / "result.json").read_text().splitlines()]


class KillFirstWorkerAtEpoch(Callback):
    """SIGKILLs the process of the first trial that reports ``epoch``, once."""

    def __init__(self, epoch: int):
        self.epoch = epoch
        self.killed_trial = None

    def on_trial_result(self, iteration, trials, trial, result, **info):
        if self.killed_trial is None and result["training_iteration"] == self.epoch:
            self.killed_trial = trial.trial_id
            os.kill(result["pid"], signal.SIGKILL)


class InterruptOnceWhenOneTrialFinished(Callback):
    """Sends this driver process SIGINT (Ctrl+C) at the first result of a running trial
    once another trial has finished."""

    def on_trial_result(self, iteration, trials, trial, result, **info):
        if (not SENT_INTERRUPTS and trial.status == "RUNNING"
                and any(t.status == "TERMINATED" for t in trials)):
            SENT_INTERRUPTS.append(os.getpid())
            os.kill(os.getpid(), signal.SIGINT)


def test_killed_worker_resumes_from_its_checkpoint_and_matches_its_twin(
        ray_cluster, tmp_path, tiny):
    # two identical trials (the same seed twice); one of them loses its worker in epoch 2
    study = load_study("quick", tiny(epochs=2, steps=4, seeds=(5, 5)) + [
        'variants=[{"model": "beta_vae", "beta": 4}]', "max_failures=1"])
    killer = KillFirstWorkerAtEpoch(epoch=2)
    outcome = run_sweep(study, tmp_path, "kill", callbacks=[killer])
    assert killer.killed_trial is not None
    assert not len(outcome.errored())
    experiment = tmp_path / "kill"
    killed = next(experiment.glob(f"*{killer.killed_trial}"))
    twin = next(p for p in experiment.iterdir() if p.is_dir() and p != killed)

    assert "Failure # 1" in (killed / "error.txt").read_text()
    final, twin_final = _rows(killed)[-1], _rows(twin)[-1]
    assert final["training_iteration"] == twin_final["training_iteration"] == 2
    assert final["steps"] == twin_final["steps"] == 8
    # it continued from its epoch-1 checkpoint (a restart from scratch would run 2 epochs)
    assert final["iterations_since_restore"] == 1
    # exact resume: the same losses and scores as the twin that was never interrupted
    for name in ("loss", "reconstruction", "kl", "beta_vae_score", "factor_vae_score"):
        assert final[name] == twin_final[name], name


def test_interrupted_sweep_resumes_without_rerunning_finished_trials(ray_cluster, tmp_path,
                                                                     tiny):
    # one trial at a time: at the interrupt the first has finished, the second runs and the
    # third does not exist yet (Tune creates it from the search space only on --resume)
    study = load_study("quick", tiny(epochs=2, steps=3, seeds=(0, 1, 2)) + [
        'variants=[{"model": "vae"}]', "resources.max_concurrent_trials=1"])
    first = run_sweep(study, tmp_path, "interrupt",
                      callbacks=[InterruptOnceWhenOneTrialFinished()])
    assert SENT_INTERRUPTS == [os.getpid()]
    assert first.unfinished == 1 and len(first.trials) == 2
    assert "--resume" in first.format()
    experiment = tmp_path / "interrupt"
    finished = [d for d in experiment.iterdir() if d.is_dir()
                and _rows(d) and _rows(d)[-1]["training_iteration"] == 2]
    assert len(finished) == 1
    before = (finished[0] / "result.json").read_bytes()

    second = resume_sweep(experiment)
    assert second.unfinished == 0 and not len(second.errored())
    trial_dirs = [d for d in experiment.iterdir() if d.is_dir()]
    assert len(trial_dirs) == 3
    assert (finished[0] / "result.json").read_bytes() == before  # not run again
    for trial_dir in trial_dirs:
        rows = _rows(trial_dir)
        assert rows[-1]["training_iteration"] == 2 and rows[-1]["steps"] == 6
    assert sorted(second.trials["seed"]) == [0, 1, 2]
    with pytest.raises(UserError, match="--resume"):
        run_sweep(study, tmp_path, "interrupt")  # never overwrites an experiment


def test_resuming_a_sweep_stopped_before_tune_saved_anything_starts_it(ray_cluster, tmp_path,
                                                                       tiny):
    study = load_study("quick", tiny(epochs=1) + ['variants=[{"model": "vae"}]'])
    experiment = tmp_path / "early"
    experiment.mkdir()
    (experiment / "study.json").write_text(json.dumps(study.definition))  # a sweep writes it first
    outcome = resume_sweep(experiment)
    assert len(outcome.trials) == 1 and outcome.unfinished == 0
    assert _rows(next(p for p in experiment.iterdir() if p.is_dir()))[-1]["steps"] == 3
