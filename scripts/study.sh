#!/usr/bin/env bash
# The README's main job: sets up ./.venv if needed, then runs the complete small offline study:
# dSprites (rendered once), the quick sweep (VAE, beta-VAE, FactorVAE x 3 seeds with Ray Tune),
# and its analysis (figures + report.md). Usage: bash scripts/study.sh [OUTPUT_DIR]
source "$(dirname "$0")/env.sh"
OUT="$(mkdir -p "${1:-$ROOT/results}" && cd "${1:-$ROOT/results}" && pwd)"
vae-study data dsprites --out "$OUT/data"
status=0
if [ -d "$OUT/quick" ]; then
  # A second run continues an interrupted sweep (finished trials are kept) instead of retraining.
  vae-study sweep --resume "$OUT/quick" || status=$?
else
  vae-study sweep --preset quick --storage "$OUT" --name quick || status=$?
fi
# Analyse whatever finished even when a trial errored (the report lists it); keep the exit code.
[ "$status" -eq 2 ] || [ "$status" -eq 130 ] || vae-study analyze "$OUT/quick" --out "$OUT/quick-analysis"
echo "Report: $OUT/quick-analysis/report.md   TensorBoard: tensorboard --logdir $OUT/quick"
exit "$status"
