#!/usr/bin/env bash
# All GPU work of issues #14 and #16 in one prepared run (about 8 minutes on one H200):
#   1. benchmarks/stacked_training.py on the GPU (Trainer, stacks of 1-64, vmap, packed trials)
#   2. scripts/gpu_study.py: the core preset sized to the GPU, trained, analysed, bundled.
# Runs from a copy of the source tree with the machine's own Python and PyTorch; needs no Ray.
# Usage: bash scripts/gpu_study.sh [OUT] [TRAIN_SECONDS]   (OUT default: ./gpu-bundle)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(mkdir -p "${1:-$ROOT/gpu-bundle}" && cd "${1:-$ROOT/gpu-bundle}" && pwd)"
PYTHON="${PYTHON:-python3}"
# Wheels of what the machine lacks (tensorboardX), carried in .whl/ (see README, Results).
if ls "$ROOT"/.whl/*.whl >/dev/null 2>&1; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site "$ROOT"/.whl/*.whl
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export VAE_STUDY_CACHE="${VAE_STUDY_CACHE:-/tmp/vae-study-cache}"
cd "$ROOT"
"$PYTHON" -m study data dsprites --out /tmp/vae-study-data > /dev/null
"$PYTHON" benchmarks/stacked_training.py --device cuda 2>&1 | tee "$OUT/stacked_training.md"
"$PYTHON" scripts/gpu_study.py "$OUT" --budget "${2:-300}"
