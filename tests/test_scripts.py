"""Plain scripts, as a user writes them: each run by ``python script.py`` in a fresh
interpreter, at top level, without an ``if __name__ == "__main__":`` guard.

* Every Python block of the README and of the docs pages runs, and prints what its ``# → ``
  lines say (in order; ``…`` stands for any text, such as a loss that varies by machine). The
  blocks share one cache that starts empty, as a reader running them in order on a fresh clone
  would: the first to need dSprites renders it.
* A script calling the library's work that runs in parallel (writing faces, decoding them as
  CelebA, a faces training pool, labelled faces) finishes: no worker re-runs the script (which
  a pool of spawned processes did, forever).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
OUTPUT = "# → "
#: Measured on a busy 2-core machine: the dSprites block, rendering it into the empty cache,
#: 9-16 s; the training block 27 s; the metrics block 33 s; the unguarded script 4 s. A script
#: still running at this limit has hung.
SECONDS = 600


def python_blocks() -> list:
    """(page, line of the opening fence, source) of every ```python block of ``PAGES``."""
    blocks = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M):
            line = text.count("\n", 0, match.start()) + 1
            blocks.append(pytest.param(page, match.group(1),
                                       id=f"{page.relative_to(ROOT)}:{line}"))
    return blocks


def run_script(source: str, folder: Path, cache: Path) -> str:
    """``source`` run as ``python script.py`` in ``folder`` with its cache at ``cache``; what
    it printed. A script still running after ``SECONDS`` is killed with every process it
    started, and fails the test."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "script.py").write_text(source, encoding="utf-8")
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("DSPRITES_NPZ", "CELEBA_ROOT")}
    environment["VAE_STUDY_CACHE"] = str(cache)
    with subprocess.Popen([sys.executable, "script.py"], cwd=folder, env=environment,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as process:
        try:
            out, err = process.communicate(timeout=SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            pytest.fail(f"the script did not finish in {SECONDS} s; its last output:\n"
                        f"{err[-3000:]}")
    assert process.returncode == 0, err[-3000:]
    return out


def assert_prints(out: str, expected: list[str]) -> None:
    """Each expected line matches a whole printed line, in order (``…``: any text)."""
    lines = iter(out.splitlines())
    for line in expected:
        pattern = ".*".join(map(re.escape, line.split("…")))
        assert any(re.fullmatch(pattern, printed) for printed in lines), \
            f"no printed line matches {line!r} (in order); it printed:\n{out}"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One empty cache for the module's scripts."""
    return tmp_path_factory.mktemp("cache")


@pytest.mark.parametrize("page, source", python_blocks())
def test_every_python_block_of_the_docs_runs_as_a_plain_script(page, source, cache, tmp_path):
    expected = [line.strip()[len(OUTPUT):] for line in source.splitlines()
                if line.strip().startswith(OUTPUT)]
    assert expected, f"a Python block of {page.name} says nothing it prints: add {OUTPUT!r} lines"
    assert_prints(run_script(source, tmp_path, cache), expected)


UNGUARDED = """
import numpy as np

import disentangle.data.celeba as celeba
import disentangle.data.faces.pool as pool
import disentangle.data.faces.writer as writer
import disentangle.navigation.data as labelled
from disentangle.data import get_dataset
from disentangle.data.celeba import load_celeba
from disentangle.data.faces import write_faces
from disentangle.navigation.data import synthetic_faces

# Small chunks: several tasks, so every call below runs them on two workers.
writer._CHUNK = celeba._CHUNK = pool._CHUNK = labelled._RENDER_CHUNK = 8
folder = write_faces("faces", num=24, seed=0, workers=2)
print("written", len(list((folder / "img_align_celeba").iterdir())))
print("decoded", load_celeba("faces", split="all", workers=2).images(np.arange(24)).shape)
print("pool", get_dataset("faces", pool=24).training_size)
print("labelled", len(synthetic_faces(24, workers=2)))
"""


def test_an_unguarded_script_calling_the_parallel_work_finishes(tmp_path):
    out = run_script(UNGUARDED, tmp_path / "run", tmp_path / "cache")
    assert_prints(out, ["written 24", "decoded (24, 3, 64, 64)", "pool 24", "labelled 24"])
