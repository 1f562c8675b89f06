#!/usr/bin/env bash
# The README's main job: sets up ./.venv if needed, then runs the complete small offline study.
source "$(dirname "$0")/env.sh"
OUT="${1:-$ROOT/results}"
vae-study data dsprites --out "$OUT/data"
