#!/usr/bin/env bash
# The long CPU study (preset `cpu`, docs/results/cpu): starts it, or resumes it exactly from its
# last checkpoints, in the background at the lowest priority, from a pinned copy of the code.
#
#   bash scripts/cpu_study.sh [RUN_DIR] [--set key=value ...]   # default ~/vae-study-runs/cpu
#
# --set changes the preset when the run starts (a resumed run keeps its study.json).
#
# RUN_DIR/code     a git worktree of the commit the run started with (run.json records it), so
#                  later changes to this checkout cannot change the run midway
# RUN_DIR/venv     the run's Python: a hard-linked copy of ./.venv (survives a new checkout)
# RUN_DIR/study    the Ray Tune sweep (results, checkpoints, TensorBoard runs)
# RUN_DIR/log      the sweep's output: one line per trial and epoch with the steps reached
#                  and model-steps/s
# RUN_DIR/run.json the commit, the machine, and one entry per start (restarts are counted)
RUN="$(realpath -m "${1:-$HOME/vae-study-runs/cpu}")"
shift $(( $# > 0 ? 1 : 0 ))
source "$(dirname "$0")/env.sh"
mkdir -p "$RUN"
# running = the process exists and is not a zombie awaiting its parent
if [ -f "$RUN/pid" ] && ps -o stat= -p "$(cat "$RUN/pid")" 2>/dev/null | grep -qv '^Z'; then
  echo "the study is already running (pid $(cat "$RUN/pid")); its log: $RUN/log"
  exit 0
fi
if [ ! -d "$RUN/code" ]; then
  git -C "$ROOT" worktree add --detach "$RUN/code" HEAD
fi
if [ ! -x "$RUN/venv/bin/python" ]; then
  # hard links: no copy of the gigabytes, and the run keeps its Python if ./.venv is replaced
  cp -al "$VENV" "$RUN/venv" 2>/dev/null || { rm -rf "$RUN/venv"; ln -s "$VENV" "$RUN/venv"; }
fi
# The commit is read once, when the run starts; a later checkout may not know the worktree.
if [ -f "$RUN/run.json" ]; then
  COMMIT="$("$RUN/venv/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["commit"])' "$RUN/run.json")"
else
  COMMIT="$(git -C "$RUN/code" rev-parse HEAD)"
fi
"$RUN/venv/bin/python" - "$RUN" "$COMMIT" <<'EOF'
import json, os, platform, sys, time
from pathlib import Path
run, commit = Path(sys.argv[1]), sys.argv[2]
file = run / "run.json"
record = json.loads(file.read_text()) if file.is_file() else {
    "preset": "cpu", "commit": commit, "machine": {
        "cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
        "python": platform.python_version()}, "starts": []}
record["starts"].append({"at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                         "resume": (run / "study" / "study.json").is_file()})
record["restarts"] = len(record["starts"]) - 1
file.write_text(json.dumps(record, indent=2) + "\n")
EOF
if [ -f "$RUN/study/study.json" ]; then
  ARGS=(sweep --resume "$RUN/study")
else
  ARGS=(sweep --preset cpu --storage "$RUN" --name study "$@")
fi
cd "$RUN/code"
# PYTHONPATH puts the pinned code before the editable install of this checkout (Ray's workers
# inherit it); nice 19 gives tests and builds the CPU first and the study every idle cycle.
PYTHONPATH="$RUN/code" nohup nice -n 19 "$RUN/venv/bin/python" -m study "${ARGS[@]}" \
  >> "$RUN/log" 2>&1 &
echo $! > "$RUN/pid"
echo "started (pid $!, commit $COMMIT): tail -f $RUN/log"
