#!/usr/bin/env bash
# The README's test command: sets up ./.venv if needed, then runs the whole test suite.
source "$(dirname "$0")/env.sh"
# Datasets the tests render are cached inside the checkout (ignored by git), not in ~/.cache.
export VAE_STUDY_CACHE="${VAE_STUDY_CACHE:-$ROOT/.cache/vae-study}"
exec python -m pytest "$@"
