"""Launch, resume and summarise a study as one Ray Tune experiment.

``run_sweep(study, storage, name)`` turns a validated study (``study.config.load_study``) into
a ``Tuner``: a grid over variants x seeds (or an Optuna search), one trial per model, each a
Trainable from ``trainables`` with the requested CPUs/GPUs, every epoch checkpointed, worker
failures retried from the last checkpoint. Everything lands in ``<storage>/<name>``:

  study.json            the study as run (``--resume`` reads it back)
  <trial>/              Tune's result.json, progress.csv, params.json, TensorBoard events
                        (scalars + hparams), images/ (panels), checkpoint_*/, stdout/stderr,
                        error.txt when the trial failed
  summary.csv           per model and hyperparameter: mean, std and best over seeds

``resume_sweep(path)`` continues an interrupted experiment: finished trials are kept,
unfinished and errored ones continue from their last checkpoint.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from disentangle.errors import UserError
from study.config import expand_variants, validate_study

STUDY_FILE = "study.json"
# beta and gamma where neither the variant nor the training settings give them (the plain
# VAE is beta = 1, gamma = 0), so every trial's config states both, flat.
VARIANT_DEFAULTS = {"beta": 1.0, "gamma": 0.0}


def init_ray() -> None:
    """Connect to the cluster in $RAY_ADDRESS (``ray job submit``), or start a local Ray."""
    import ray

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    # Tune's own console output (its config box, a TensorBoard hint pointing at a temporary
    # folder, a warning about our deliberate per-epoch checkpoints) gives way to
    # study.progress.CompactProgress.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    if ray.is_initialized():
        return
    if os.environ.get("RAY_ADDRESS"):
        ray.init(log_to_driver=False)
    else:
        ray.init(include_dashboard=False, log_to_driver=False)


def experiment_dir(storage: str | Path, name: str) -> Path:
    return Path(storage).expanduser().absolute() / name


def _from_variant(key: str, default, config: dict):
    return config["variant"].get(key, default)


def param_space(study: dict) -> dict:
    """The Tune search space of ``study``: a grid over its variants and seeds (every trial's
    config has flat model, beta, gamma, seed and training keys), or Optuna's domains."""
    from ray import tune

    space = {**study["training"],
             "dataset": study["dataset"]["name"],
             "dataset_options": _dataset_options(study),
             "epochs": study["epochs"],
             "steps_per_epoch": study["steps_per_epoch"],
             "metrics": study["metrics"],
             "images": study["images"]}
    variants = expand_variants(study["variants"])
    search = study["search"]
    if search is not None:
        domains = {"uniform": tune.uniform, "loguniform": tune.loguniform,
                   "choice": lambda *values: tune.choice(list(values))}
        for key, value in VARIANT_DEFAULTS.items():
            space.setdefault(key, value)
        space.update(variants[0], seed=study["seeds"][0])
        space.update({key: domains[spec[0]](*spec[1:])
                      for key, spec in search["space"].items()})
        return space
    keys = {key for variant in variants for key in variant}
    space["variant"] = tune.grid_search(variants)
    for key in sorted(keys | set(VARIANT_DEFAULTS)):
        default = study["training"].get(key, VARIANT_DEFAULTS.get(key))
        space[key] = tune.sample_from(functools.partial(_from_variant, key, default))
    space["seed"] = tune.grid_search(study["seeds"])
    return space


def trial_name(trial) -> str:
    """``beta_vae_beta=4_seed=0``: the model, its own hyperparameter and the seed."""
    # Tune names a trial before it resolves sample_from values, so read the grid's variant.
    config = {**trial.config, **trial.config.get("variant", {})}
    name = config["model"]
    if config["model"] == "beta_vae":
        name += f"_beta={config['beta']:g}"
    elif config["model"] == "factor_vae":
        name += f"_gamma={config['gamma']:g}"
    return f"{name}_seed={config['seed']}"


def trial_dirname(trial) -> str:
    return f"{trial_name(trial)}_{trial.trial_id}"


def make_trainable(study: dict):
    """The study's Trainable (``StudyTrainable``: each trial's config names its model) with
    the dataset shared through the object store and the requested resources."""
    from ray import tune

    resources = study["resources"]
    dataset = json.dumps([study["dataset"]["name"], _dataset_options(study)], sort_keys=True)
    return tune.with_resources(_with_shared_dataset(dataset),
                               {"cpu": resources["cpus_per_trial"],
                                "gpu": resources["gpus_per_trial"]})


@functools.lru_cache(maxsize=None)
def _with_shared_dataset(dataset: str):
    """``StudyTrainable`` receiving the dataset ``[name, options]`` from the object store.
    Cached, so that several sweeps in one process put each dataset there only once."""
    from ray import tune

    from trainables import StudyTrainable
    from trainables.datasets import load_dataset

    name, options = json.loads(dataset)
    return tune.with_parameters(StudyTrainable, dataset=load_dataset(name, options))


def _dataset_options(study: dict) -> dict:
    return {k: v for k, v in study["dataset"].items() if k != "name"}


def _tune_config(study: dict):
    from ray import tune

    resources = study["resources"]
    # reuse_actors: a finished trial's process takes the next trial (StudyTrainable.
    # reset_config), which saves the seconds of importing torch & co. for every trial.
    common = {"max_concurrent_trials": resources["max_concurrent_trials"], "reuse_actors": True,
              "trial_name_creator": trial_name, "trial_dirname_creator": trial_dirname}
    search, asha = study["search"], study["asha"]
    if search is not None:
        from ray.tune.search.optuna import OptunaSearch

        metrics = [objective[0] for objective in search["objectives"]]
        modes = [objective[1] for objective in search["objectives"]]
        single = len(metrics) == 1
        searcher = OptunaSearch(metric=metrics[0] if single else metrics,
                                mode=modes[0] if single else modes, seed=study["seeds"][0])
        return tune.TuneConfig(search_alg=searcher, num_samples=search["num_samples"], **common)
    if asha["enabled"]:
        from ray.tune.schedulers import ASHAScheduler

        scheduler = ASHAScheduler(
            time_attr="training_iteration", metric=asha["metric"], mode=asha["mode"],
            max_t=study["epochs"], grace_period=asha["grace_period"],
            reduction_factor=asha["reduction_factor"])
        return tune.TuneConfig(scheduler=scheduler, **common)
    return tune.TuneConfig(**common)


def build_tuner(study: dict, storage: str | Path, name: str, callbacks=()):
    """A ``Tuner`` for ``study`` writing to ``<storage>/<name>``."""
    from ray import tune

    from study.progress import CompactProgress

    run_config = tune.RunConfig(
        name=name,
        storage_path=str(Path(storage).expanduser().absolute()),
        checkpoint_config=tune.CheckpointConfig(
            num_to_keep=study["checkpoints"]["keep"], checkpoint_frequency=1,
            checkpoint_at_end=True),
        failure_config=tune.FailureConfig(max_failures=study["max_failures"]),
        # The trainables write their image panels into the trial's working directory;
        # syncing artifacts copies them into the trial directory at every checkpoint.
        sync_config=tune.SyncConfig(sync_artifacts=True),
        callbacks=[CompactProgress(study["epochs"]), *callbacks],
        log_to_file=True,
        verbose=0,
    )
    return tune.Tuner(make_trainable(study), param_space=param_space(study),
                      tune_config=_tune_config(study), run_config=run_config)


def run_sweep(study: dict, storage: str | Path, name: str, callbacks=()):
    """Run ``study`` as experiment ``<storage>/<name>`` (which must not hold a Tune experiment
    yet); return its ``SweepOutcome``."""
    from ray import tune

    validate_study(study)
    path = experiment_dir(storage, name)
    if tune.Tuner.can_restore(str(path)):
        raise UserError(f"{path} already holds an experiment: continue it with --resume {path} "
                        f"or choose another --name")
    init_ray()
    path.mkdir(parents=True, exist_ok=True)
    _write_json(path / STUDY_FILE, study)
    tuner = build_tuner(study, path.parent, name, callbacks)
    return _finish(study, path, tuner.fit())


def read_study(path: str | Path) -> dict:
    """The study stored with the experiment at ``path``."""
    file = Path(path) / STUDY_FILE
    if not file.is_file():
        raise UserError(f"{path} is not a sweep started by vae-study ({STUDY_FILE} missing): "
                        f"give the experiment folder, <storage>/<name>")
    return json.loads(file.read_text())


def resume_sweep(path: str | Path):
    """Continue the interrupted experiment at ``path``: finished trials stay as they are,
    unfinished and errored trials continue from their last checkpoint (a sweep interrupted
    before Tune saved its state starts afresh)."""
    from ray import tune

    path = Path(path).expanduser().absolute()
    study = read_study(path)
    validate_study(study)
    if not tune.Tuner.can_restore(str(path)):
        # interrupted before Tune saved anything: nothing to keep, so start the stored study
        return run_sweep(study, path.parent, path.name)
    init_ray()
    tuner = tune.Tuner.restore(str(path), trainable=make_trainable(study),
                               resume_unfinished=True, resume_errored=True)
    return _finish(study, path, tuner.fit())


def _finish(study: dict, path: Path, results):
    from ray.tune import ExperimentAnalysis

    from study.summary import SweepOutcome

    # After an interrupt Tune stops the running trials in memory, so count the unfinished
    # ones in the saved experiment state, which is what --resume continues from.
    saved = ExperimentAnalysis(str(path)).trials
    unfinished = sum(trial.status not in ("TERMINATED", "ERROR") for trial in saved)
    outcome = SweepOutcome.from_results(study, path, results, unfinished)
    outcome.write_csv(path / "summary.csv")
    return outcome


def _write_json(file: Path, data: dict) -> None:
    temporary = file.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=2))
    temporary.replace(file)
