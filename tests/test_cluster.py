"""The cluster: cluster.yaml passes Ray's own cluster-launcher validation and its provider's
launcher loads from the `cluster` extra; a sweep submitted with `ray job submit`, as a user
does, to a real two-node Ray cluster started with `ray start` (a CPU head and a GPU worker, as
in cluster.yaml) runs its driver on the head and its GPU trials on the GPU node, with all
results in one storage path."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
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
    # the project is copied to every node and installed there with its cluster extra (boto3
    # for the head's autoscaler, ray[default] for the job server)
    assert "." in config["file_mounts"].values()
    assert any("pip install" in command and "vae-study[cluster]" in command
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


def test_the_cluster_extra_loads_the_launcher_of_cluster_yamls_provider():
    from ray.autoscaler._private.providers import _get_node_provider_cls

    provider = yaml.safe_load(CLUSTER_YAML.read_text())["provider"]
    assert provider["type"] == "aws"
    _get_node_provider_cls(provider)  # imports boto3: what `ray up cluster.yaml` needs


# ---------------------------------------------------------------------------------------------
# The route of docs/sweeps.md: `ray start` on each node, then `ray job submit -- vae-study sweep`.

RAY = Path(sys.executable).parent / "ray"
# Measured with this machine's 2 cores shared by ~13 busy processes: both nodes up in 47 s,
# the job done in 125 s (rendering dSprites first, when not cached yet, adds ~30 s).
NODE_START_SECONDS = 120
CLUSTER_START_ATTEMPTS = 2
JOB_SECONDS = 300


def _free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports that are free now."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _node_ports() -> list[str]:
    """Ports of one node's own services, chosen free so that two nodes on one machine (and the
    shared in-process test cluster beside them) never collide on Ray's fixed defaults."""
    options = ("--node-manager-port", "--object-manager-port", "--dashboard-agent-listen-port",
               "--dashboard-agent-grpc-port", "--runtime-env-agent-port", "--metrics-export-port")
    return [f"{option}={port}" for option, port in zip(options, _free_ports(len(options)))]


def _alive_nodes(dashboard: str) -> list:
    from ray.util.state import list_nodes

    try:
        return [n for n in list_nodes(address=dashboard, timeout=5) if n.state == "ALIVE"]
    except Exception:  # the dashboard is not up yet
        return []


def _has_exited(process: subprocess.Popen) -> bool:
    """Whether ``process`` has exited, without reaping it (its id stays ours until then)."""
    return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _wait_for_nodes(dashboard: str, processes: list, logs: list[Path], last: bool) -> list | None:
    """The live nodes once there is one per `ray start` process. None when one of them exits
    early and this is not the ``last`` attempt; otherwise fails with their output when one
    exits or the nodes are not up in time."""
    deadline = time.monotonic() + NODE_START_SECONDS
    while time.monotonic() < deadline:
        if any(map(_has_exited, processes)):
            if not last:
                return None
            break
        nodes = _alive_nodes(dashboard)
        if len(nodes) == len(processes):
            return nodes
        time.sleep(1)
    tails = "\n".join(f"--- {log.name}:\n{log.read_text()[-2000:]}" for log in logs)
    pytest.fail(f"the Ray cluster did not reach {len(processes)} live nodes within "
                f"{NODE_START_SECONDS} s; `ray start` said:\n{tails}")


def _stop(process: subprocess.Popen) -> None:
    """Stop one `ray start --block` and every process of its node: SIGTERM makes it stop them
    gracefully; whatever is left of its process group is then killed. The leader is reaped
    only at the end, so the group id cannot have been reused by then."""
    os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 40  # Ray drains a node for up to 30 s
    while not _has_exited(process) and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextlib.contextmanager
def _nodes(env: dict, log_dir: Path, attempt: int):
    """The two `ray start --block` processes of cluster.yaml's nodes, on fresh ports and in
    their own temporary folder (which keeps them invisible to `ray.init()` elsewhere): the head
    (1 CPU, no GPU; the dashboard and job server) and a worker declaring 2 CPUs and one (fake)
    GPU. Yields (dashboard URL, processes, their logs); both nodes are always stopped."""
    temp_dir = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # Ray's socket paths must be short
    gcs_port, dashboard_port, client_port = _free_ports(3)
    dashboard = f"http://127.0.0.1:{dashboard_port}"
    common = [str(RAY), "start", "--block", "--node-ip-address=127.0.0.1",
              f"--temp-dir={temp_dir}", "--object-store-memory=1000000000",
              "--include-log-monitor=false", "--disable-usage-stats"]
    nodes = {"head": common + ["--head", "--num-cpus=1", "--num-gpus=0", f"--port={gcs_port}",
                               "--include-dashboard=true", "--dashboard-host=127.0.0.1",
                               f"--dashboard-port={dashboard_port}",
                               f"--ray-client-server-port={client_port}"] + _node_ports(),
             "worker": common + ["--num-cpus=2", "--num-gpus=1",
                                 f"--address=127.0.0.1:{gcs_port}"] + _node_ports()}
    processes, logs = [], []
    try:
        for name, command in nodes.items():  # the worker waits for the head's GCS by itself
            logs.append(log_dir / f"ray-start-{name}-{attempt}.log")
            with open(logs[-1], "w") as log:
                processes.append(subprocess.Popen(command, env=env, stdout=log,
                                                  stderr=subprocess.STDOUT,
                                                  start_new_session=True))
        yield dashboard, processes, logs
    finally:
        for process in reversed(processes):
            _stop(process)
        shutil.rmtree(temp_dir, ignore_errors=True)


@contextlib.contextmanager
def ray_start_cluster(storage: Path, log_dir: Path):
    """A two-node Ray cluster started as cluster.yaml starts its nodes (``_nodes``), with the
    project's virtualenv first on PATH and VAE_STUDY_STORAGE set. Ray gives a starting node 30 s
    (fixed in its code) to register with the GCS, then `ray start` exits; on two cores shared
    with a busy run that can pass, so a cluster whose node exits while starting is started
    again, as the cluster launcher would, up to ``CLUSTER_START_ATTEMPTS`` times. Yields
    (environment, dashboard URL, head node id, worker node id)."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(PATH=f"{RAY.parent}{os.pathsep}{env.get('PATH', '')}", RAY_AUTH_MODE="disabled",
               VAE_STUDY_STORAGE=str(storage))
    for attempt in range(1, CLUSTER_START_ATTEMPTS + 1):
        with _nodes(env, log_dir, attempt) as (dashboard, processes, logs):
            alive = _wait_for_nodes(dashboard, processes, logs,
                                    last=attempt == CLUSTER_START_ATTEMPTS)
            if alive is None:
                continue
            head = next(node.node_id for node in alive if node.is_head_node)
            worker = next(node.node_id for node in alive if not node.is_head_node)
            yield env, dashboard, head, worker
            return


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_sweep_submitted_with_ray_job_submit_runs_its_gpu_trials_on_the_gpu_node(
        tmp_path, tiny):
    from ray.job_submission import JobSubmissionClient

    storage = tmp_path / "shared"
    # two trials of half a GPU each: both fit on the GPU worker, none on the CPU head
    settings = tiny(epochs=1, seeds=(0, 1)) + ['variants=[{"model": "vae"}]',
                                               "resources.gpus_per_trial=0.5"]
    sweep = ["vae-study", "sweep", "--preset", "quick", "--name", "two-nodes",
             *sum((["--set", setting] for setting in settings), [])]
    with ray_start_cluster(storage, tmp_path) as (env, dashboard, head, worker):
        try:
            job = subprocess.run(
                [str(RAY), "job", "submit", "--address", dashboard, "--submission-id",
                 "two-nodes", "--", *sweep],
                env=env, capture_output=True, text=True, timeout=JOB_SECONDS)
        except subprocess.TimeoutExpired as timeout:
            output = timeout.stdout or b""  # bytes, even with text=True
            pytest.fail(f"the job did not finish within {JOB_SECONDS} s; its output ends:\n"
                        f"{output.decode(errors='replace')[-3000:]}")
        driver_node = JobSubmissionClient(dashboard).get_job_info("two-nodes").driver_node_id
    output = job.stdout + job.stderr
    assert job.returncode == 0 and "Job 'two-nodes' succeeded" in output, output[-3000:]
    assert driver_node == head  # the driver, Tune and the dataset stay on the CPU head

    experiment = storage / "two-nodes"  # VAE_STUDY_STORAGE reached the job, as on a cluster
    trial_dirs = sorted(p for p in experiment.iterdir() if p.is_dir())
    assert len(trial_dirs) == 2
    for trial_dir in trial_dirs:
        rows = [json.loads(line) for line in (trial_dir / "result.json").read_text().splitlines()]
        assert rows[-1]["done"] and rows[-1]["steps"] == 3
        assert rows[-1]["node_id"] == worker != head
        # a fake GPU has no CUDA behind it: the trial falls back to the CPU
        assert rows[-1]["device"] in ("cpu", "cuda")
        # the checkpoints, and each model's TensorBoard run in a folder named after it
        assert list(trial_dir.glob("checkpoint_*")) and list(trial_dir.glob("*/events.out.*"))
    assert (experiment / "summary.csv").is_file()
    assert list(experiment.glob("experiment_state-*.json"))  # Tune's state, beside the trials
