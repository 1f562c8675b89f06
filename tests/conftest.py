"""Shared test fixtures.

Ray takes seconds to start, so every test that needs Ray shares ONE session: a two-node local
cluster (Ray's own ``ray.cluster_utils.Cluster``) with a CPU head and a second node declaring
one (fake) GPU. Trials that ask for no GPU may run on either node; trials that ask for a GPU
fraction can only run on the GPU node, which is what the cluster test checks. The fake GPU has
no CUDA behind it, so the trainables fall back to the CPU there, as documented.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Datasets the tests render are cached inside the checkout (as scripts/test.sh does).
os.environ.setdefault("VAE_STUDY_CACHE", str(ROOT / ".cache" / "vae-study"))
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

# Metric settings small enough that every metric takes well under a second per epoch.
TINY_METRICS = {"beta_vae_num_train": 20, "beta_vae_num_eval": 10, "beta_vae_batch_size": 8,
                "factor_vae_num_train": 20, "factor_vae_num_eval": 10,
                "factor_vae_batch_size": 8, "factor_vae_num_variance_estimate": 200,
                "mig_num_train": 60, "sap_num_train": 60, "sap_num_test": 30,
                "dci_num_train": 60, "dci_num_test": 30, "modularity_num_train": 60,
                "modularity_num_test": 30, "tc_num_images": 100, "dci_classifier": "hist_gbt"}


@pytest.fixture(scope="session")
def ray_cluster():
    """The one Ray session of the test run: a head node with 2 CPUs and a node with 2 CPUs
    and 1 GPU. Yields the cluster and both node ids."""
    import ray
    from ray.cluster_utils import Cluster

    common = {"object_store_memory": 1_500_000_000, "include_dashboard": False}
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, **common})
    gpu_node = cluster.add_node(num_cpus=2, num_gpus=1, **common)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    yield SimpleNamespace(cluster=cluster, head_node_id=cluster.head_node.node_id,
                          gpu_node_id=gpu_node.node_id)
    ray.shutdown()
    cluster.shutdown()


def tiny_assignments(epochs: int = 2, steps: int = 3, seeds=(0,)) -> list[str]:
    """``--set`` assignments shrinking any preset to seconds: few steps, tiny metrics,
    small image panels, one CPU per trial, two trials at a time."""
    metrics = json.dumps(TINY_METRICS)
    return [f"epochs={epochs}", f"steps_per_epoch={steps}", f"seeds={list(seeds)}",
            f"metrics.fast={metrics}", f"metrics.paper={metrics}", "images.count=2",
            "images.traversal_steps=3", "training.batch_size=16",
            "resources.cpus_per_trial=1", "resources.max_concurrent_trials=2"]


@pytest.fixture
def tiny():
    """``tiny(epochs, steps, seeds)`` -> the assignments of ``tiny_assignments``."""
    return tiny_assignments
