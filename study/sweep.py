"""Launch, resume and summarise a study as one Ray Tune experiment.

``run_sweep(study, storage, name)`` turns a built ``Study`` (``study.config.load_study``) into
a ``Tuner``: a grid over the study's trials (variants x seeds, grouped by the study's
``stack``) or an Optuna search, each trial the ``StudyTrainable`` with the requested CPUs/GPUs,
every epoch checkpointed, worker failures retried from the last checkpoint. The ``Study`` turns
into Tune's param dict here and nowhere else (``param_space``). Everything lands in
``<storage>/<name>``:

  study.json            the study as run (``--resume`` reads it back)
  <trial>/              Tune's result.json, progress.csv, params.json (with the trial's
                        models), one TensorBoard run per model (<trial>/<model>/: scalars,
                        hyperparameters, image panels), checkpoint_*/, stdout/stderr,
                        error.txt when the trial failed
  summary.csv           per setting: mean, std and best over seeds

``resume_sweep(path)`` continues an interrupted experiment: finished trials are kept,
unfinished and errored ones continue from their last checkpoint.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import ray
from ray import tune
from ray.tune import ExperimentAnalysis
from ray.tune.schedulers import ASHAScheduler

from disentangle.errors import UserError
from disentangle.files import write_json
from disentangle.kinds import get_kind
from disentangle.training.config import members_of
from study.config import STUDY_FILE, Study, read_study
from study.progress import CompactProgress
from study.summary import SweepOutcome
from study.trials import expand_variants, trial_label
from study.tune_logging import ModelRunsOnly
from trainables.datasets import load_dataset
from trainables.vae import StudyTrainable


def init_ray() -> None:
    """Connect to the cluster in $RAY_ADDRESS (``ray job submit``), or start a local Ray."""
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


def param_space(study: Study) -> dict:
    """The Tune search space of ``study``. A grid study is a grid over its trials
    (``Study.trials``): each trial's config holds its shared training settings flat and its
    resolved models under ``models``. An Optuna study samples the search space's keys for one
    variant; each sampled trial trains every seed of the study and names its setting by the
    sampled keys (``setting_keys``)."""
    common = study.trial_common()
    definition, search = study.definition, study.search
    if search is not None:
        domains = {"uniform": tune.uniform, "loguniform": tune.loguniform,
                   "choice": lambda *values: tune.choice(list(values))}
        space = {**definition["training"], **expand_variants(definition["variants"])[0],
                 **common, "seeds": definition["seeds"], "setting_keys": sorted(search["space"])}
        space.update({key: domains[spec[0]](*spec[1:])
                      for key, spec in search["space"].items()})
        return space
    # A list, not the Study's tuple: Tune pickles these partials with the experiment, and
    # sweeps written before the Study existed hold lists there.
    groups = list(study.trials)
    space = {**common, "group": tune.grid_search(list(range(len(groups))))}
    for key in groups[0]:
        space[key] = tune.sample_from(functools.partial(_from_group, groups, key))
    return space


def _from_group(groups: list[dict], key: str, spec):
    # Referenced by name from the search state Tune pickles: keep name and signature, or
    # earlier sweeps no longer resume.
    return groups[spec.config["group"]][key]


def trial_name(groups: list[dict], trial) -> str:
    """The trial's models' shared name (``study.trials.trial_label``)."""
    config = trial.config
    if "group" in config:   # Tune may name a trial before it resolves sample_from values
        return trial_label(groups[config["group"]]["models"])
    return trial_label(members_of(config))


def trial_dirname(groups: list[dict], trial) -> str:
    return f"{trial_name(groups, trial)}_{trial.trial_id}"


def make_trainable(study: Study):
    """The study's Trainable (``StudyTrainable``: each trial's config lists its models) with
    the dataset shared through the object store, the registry entries of the study's model
    kinds (so a kind registered in this process trains in the workers too) and the requested
    resources."""
    resources = study.definition["resources"]
    dataset = json.dumps([study.definition["dataset"]["name"], study.dataset_options],
                         sort_keys=True)
    used = tuple(get_kind(key) for key in dict.fromkeys(
        model.config["model"] for model in study.models))
    return tune.with_resources(_with_shared_dataset(dataset, used),
                               {"cpu": resources["cpus_per_trial"],
                                "gpu": resources["gpus_per_trial"]})


@functools.lru_cache(maxsize=None)
def _with_shared_dataset(dataset: str, kinds_used: tuple):
    """``StudyTrainable`` receiving the dataset ``[name, options]`` and the kinds from the
    object store. Cached, so that several sweeps in one process put each dataset there only
    once."""
    name, options = json.loads(dataset)
    return tune.with_parameters(StudyTrainable, dataset=load_dataset(name, options),
                                kinds_used=kinds_used)


def _tune_config(study: Study):
    definition = study.definition
    resources = definition["resources"]
    # reuse_actors: a finished trial's process takes the next trial (StudyTrainable.
    # reset_config), which saves the seconds of importing torch & co. for every trial.
    groups = list(study.trials)   # a list, as the param space's (Tune pickles both)
    common = {"max_concurrent_trials": resources["max_concurrent_trials"], "reuse_actors": True,
              "trial_name_creator": functools.partial(trial_name, groups),
              "trial_dirname_creator": functools.partial(trial_dirname, groups)}
    search, asha = study.search, definition["asha"]
    if search is not None:
        from ray.tune.search.optuna import OptunaSearch  # loads optuna: searches only

        metrics = [objective[0] for objective in search["objectives"]]
        modes = [objective[1] for objective in search["objectives"]]
        single = len(metrics) == 1
        searcher = OptunaSearch(metric=metrics[0] if single else metrics,
                                mode=modes[0] if single else modes,
                                seed=definition["seeds"][0])
        return tune.TuneConfig(search_alg=searcher, num_samples=search["num_samples"], **common)
    if asha["enabled"]:
        scheduler = ASHAScheduler(
            time_attr="training_iteration", metric=asha["metric"], mode=asha["mode"],
            max_t=definition["epochs"], grace_period=asha["grace_period"],
            reduction_factor=asha["reduction_factor"])
        return tune.TuneConfig(scheduler=scheduler, **common)
    return tune.TuneConfig(**common)


def build_tuner(study: Study, storage: str | Path, name: str, callbacks=()):
    """A ``Tuner`` for ``study`` writing to ``<storage>/<name>``."""
    definition = study.definition
    run_config = tune.RunConfig(
        name=name,
        storage_path=str(Path(storage).expanduser().absolute()),
        checkpoint_config=tune.CheckpointConfig(
            num_to_keep=definition["checkpoints"]["keep"], checkpoint_frequency=1,
            checkpoint_at_end=True),
        failure_config=tune.FailureConfig(max_failures=definition["max_failures"]),
        # The trainables write each model's TensorBoard run into the trial's working
        # directory; syncing artifacts copies them into the trial directory at every checkpoint.
        sync_config=tune.SyncConfig(sync_artifacts=True),
        callbacks=[ModelRunsOnly(), CompactProgress(definition["epochs"]), *callbacks],
        log_to_file=True,
        verbose=0,
    )
    return tune.Tuner(make_trainable(study), param_space=param_space(study),
                      tune_config=_tune_config(study), run_config=run_config)


def run_sweep(study: Study, storage: str | Path, name: str, callbacks=()):
    """Run ``study`` as experiment ``<storage>/<name>`` (which must not hold a Tune experiment
    yet); return its ``SweepOutcome``."""
    path = experiment_dir(storage, name)
    if tune.Tuner.can_restore(str(path)):
        raise UserError(f"{path} already holds an experiment: continue it with --resume {path} "
                        f"or choose another --name")
    init_ray()
    path.mkdir(parents=True, exist_ok=True)
    write_json(path / STUDY_FILE, study.definition)
    tuner = build_tuner(study, path.parent, name, callbacks)
    tuner.fit()
    return _finish(path)


def resume_sweep(path: str | Path):
    """Continue the interrupted experiment at ``path``: finished trials stay as they are,
    unfinished and errored trials continue from their last checkpoint (a sweep interrupted
    before Tune saved its state starts afresh)."""
    path = Path(path).expanduser().absolute()
    study = read_study(path)
    if not tune.Tuner.can_restore(str(path)):
        # interrupted before Tune saved anything: nothing to keep, so start the stored study
        return run_sweep(study, path.parent, path.name)
    init_ray()
    # Tune keeps only the search space's keys: without the space itself the trials it has not
    # created yet would receive its placeholders instead of their models.
    tuner = tune.Tuner.restore(str(path), trainable=make_trainable(study),
                               param_space=param_space(study),
                               resume_unfinished=True, resume_errored=True)
    tuner.fit()
    return _finish(path)


def _finish(path: Path):
    # After an interrupt Tune stops the running trials in memory, so count the unfinished
    # ones in the saved experiment state, which is what --resume continues from.
    saved = ExperimentAnalysis(str(path)).trials
    unfinished = sum(trial.status not in ("TERMINATED", "ERROR") for trial in saved)
    outcome = SweepOutcome.from_sweep(path, unfinished)
    outcome.write_csv(path / "summary.csv")
    return outcome
