"""The cluster: cluster.yaml passes Ray's own cluster-launcher validation, and a sweep on a
two-node local Ray cluster places GPU trials on the GPU node with all results in one place."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

CLUSTER_YAML = Path(__file__).resolve().parents[1] / "cluster.yaml"


def _prepared(config: dict) -> dict:
    """What `ray up` does before launching anything: fill in the provider's defaults, then
    validate against Ray's schema and rules."""
    from ray.autoscaler._private.util import prepare_config, validate_config

    prepared = prepare_config(copy.deepcopy(config))
    validate_config(prepared)
    return prepared


def test_cluster_yaml_is_a_valid_ray_cluster_with_cpu_head_and_gpu_workers():
    config = _prepared(yaml.safe_load(CLUSTER_YAML.read_text()))
    nodes = config["available_node_types"]
    head = nodes[config["head_node_type"]]
    assert head["resources"].get("GPU", 0) == 0 and head["resources"]["CPU"] > 0
    gpu_types = [node for node in nodes.values() if node["resources"].get("GPU", 0) >= 1]
    assert len(gpu_types) == 1
    workers = gpu_types[0]
    assert 0 <= workers["min_workers"] <= workers["max_workers"] <= config["max_workers"]
    assert workers["max_workers"] >= 1
    # the project is copied to every node and installed there
    assert "." in config["file_mounts"].values()
    assert any("pip install" in command and "vae-study" in command
               for command in config["setup_commands"])
    # one storage path on shared storage: exported by the head, mounted by the workers,
    # and the default storage of `vae-study sweep` wherever Ray starts
    assert any("/mnt/shared" in command and "exports" in command
               for command in config["head_setup_commands"])
    assert any("mount" in command and "$RAY_HEAD_IP:/mnt/shared" in command
               for command in config["worker_setup_commands"])
    for commands in (config["head_start_ray_commands"], config["worker_start_ray_commands"]):
        assert any("VAE_STUDY_STORAGE=/mnt/shared/vae-study" in command for command in commands)


def test_ray_validation_rejects_a_broken_copy_of_cluster_yaml():
    config = yaml.safe_load(CLUSTER_YAML.read_text())
    config["available_node_types"]["gpu_worker"]["min_wokers"] = 1  # misspelt key
    with pytest.raises(jsonschema.ValidationError, match="min_wokers"):
        _prepared(config)


def test_gpu_trials_run_on_the_gpu_node_and_all_results_land_in_one_storage_path(
        ray_cluster, tmp_path, tiny):
    from study.config import load_study
    from study.sweep import run_sweep

    # two trials of half a GPU each: both fit on the one GPU node, none on the CPU head
    study = load_study("quick", tiny(epochs=1, seeds=(0, 1)) + [
        'variants=[{"model": "vae"}]', "resources.gpus_per_trial=0.5"])
    outcome = run_sweep(study, tmp_path, "two-nodes")
    assert not len(outcome.errored())
    experiment = tmp_path / "two-nodes"
    trial_dirs = sorted(p for p in experiment.iterdir() if p.is_dir())
    assert len(trial_dirs) == 2
    for trial_dir in trial_dirs:
        rows = [json.loads(line) for line in (trial_dir / "result.json").read_text().splitlines()]
        assert rows[-1]["node_id"] == ray_cluster.gpu_node_id != ray_cluster.head_node_id
        # a fake GPU has no CUDA behind it: the trial falls back to the CPU
        assert rows[-1]["device"] in ("cpu", "cuda")
        assert list(trial_dir.glob("checkpoint_*")) and list(trial_dir.glob("events.out.*"))
        assert list((trial_dir / "images").glob("events.out.*"))
