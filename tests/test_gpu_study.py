"""The shipped study's route (issue #16), at CPU size: ``scripts/gpu_study.py`` trains the
``core`` preset without Ray, analyses it and writes its bundle; re-running the analysis on the
bundle's results table alone gives the bundle's report, byte for byte. The same check runs on
the committed results in docs/results/core when they exist."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from conftest import ROOT, TINY_METRICS

SHIPPED = ROOT / "docs" / "results" / "core"


def reanalysed_report(bundle: Path, out: Path) -> str:
    from analysis.report import analyze

    analysis = analyze(bundle / "results.csv.gz", out, sanity=bundle / "sanity.csv",
                       traversals=False)
    return analysis.report.read_text(encoding="utf-8")


def test_the_gpu_study_route_at_cpu_size_bundles_a_reproducible_report(tmp_path):
    metrics = json.dumps(TINY_METRICS)
    bundle = tmp_path / "bundle"
    command = [sys.executable, str(ROOT / "scripts" / "gpu_study.py"), str(bundle),
               "--device", "cpu", "--steps", "3", "--epochs", "2",
               "--set", f"metrics.fast={metrics}", "--set", f"metrics.paper={metrics}",
               "--set", "training.batch_size=16", "--set", "images.every=0"]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert sorted(p.name for p in bundle.iterdir()) == [
        "figures.tar.gz", "gpu_study.log", "report.md", "results.csv.gz", "run.json",
        "sanity.csv", "weights.pt"]
    run = json.loads((bundle / "run.json").read_text())
    assert run["grid"] == "full" and run["steps_per_model"] == 6 and not run["sized"]
    with tarfile.open(bundle / "figures.tar.gz") as archive:
        names = archive.getnames()
    assert "figures/tradeoff.png" in names and "figures/traversals.png" in names

    import torch

    weights = torch.load(bundle / "weights.pt", weights_only=True)
    assert {key.split("/")[0] for key in weights} == {"vae", "beta_vae", "factor_vae"}
    assert all(t.dtype == torch.bfloat16 for entry in weights.values()
               for t in entry["state"].values())
    assert reanalysed_report(bundle, tmp_path / "again") == (bundle / "report.md").read_text(
        encoding="utf-8")


@pytest.mark.skipif(not (SHIPPED / "results.csv.gz").is_file(),
                    reason="docs/results/core holds no shipped GPU study yet")
def test_the_shipped_report_is_what_the_shipped_table_gives(tmp_path):
    assert reanalysed_report(SHIPPED, tmp_path / "again") == (
        SHIPPED / "report.md").read_text(encoding="utf-8")
