"""A compact live view of a sweep: a short status table every ``interval`` seconds and one
line whenever a trial finishes, fails or is retried.

Tune's own reporter prints every config key and metric of every trial; with 130 trials and
dozens of metrics that scrolls faster than anyone can read. This prints what a person follows:
how many trials are in which state, and for the running ones the epoch, the loss terms, both
scores, the steps reached and the throughput; and one such line per trial whenever it finishes
an epoch.
"""

from __future__ import annotations

import sys
import time

from ray.tune import Callback

from disentangle.metrics.registry import METRICS
from disentangle.result_names import IMAGES_PER_SECOND, MODEL_STEPS_PER_SECOND, STEPS

#: Each printed number: its label, result key and format.
COLUMNS = (("recon", "reconstruction", "{:8.2f}"), ("kl", "kl", "{:6.2f}"),
           ("BetaVAE", METRICS["beta_vae"].main_key, "{:7.3f}"),
           ("FactorVAE", METRICS["factor_vae"].main_key, "{:9.3f}"),
           ("steps", STEPS, "{:7.0f}"), ("model-steps/s", MODEL_STEPS_PER_SECOND, "{:6.1f}"),
           ("img/s", IMAGES_PER_SECOND, "{:6.0f}"))


def trial_line(trial, result: dict, epochs: int) -> str:
    """``name  epoch e/E  recon ...  kl ...  BetaVAE ...  FactorVAE ...  img/s ...``."""
    epoch = result.get("training_iteration")
    progress = f"epoch {epoch}/{epochs}" if epoch else "epoch 1 running"
    parts = [f"{str(trial):<40}", f"{progress:<15}"]
    for label, key, form in COLUMNS:
        value = result.get(key)
        parts.append(f"{label} " + (form.format(value) if isinstance(value, (int, float))
                                    else "-".rjust(len(form.format(0.0)))))
    return "  ".join(parts)


def error_line(trial) -> str:
    """The last ``...Error: message`` line of the trial's error file."""
    try:
        with open(trial.error_file, encoding="utf-8") as file:
            lines = [line.strip() for line in file if "Error" in line and ":" in line]
    except (OSError, TypeError):
        return "(no error file)"
    return lines[-1] if lines else "(see the error file)"


class CompactProgress(Callback):
    """Prints the sweep's progress to stdout (see the module docstring)."""

    def __init__(self, epochs: int, interval: float = 30.0, stream=None):
        self.epochs = epochs
        self.interval = interval
        self.stream = stream
        self._start = None
        self._last_table = 0.0

    def _print(self, text: str) -> None:
        print(text, file=self.stream or sys.stdout, flush=True)

    def _elapsed(self) -> str:
        seconds = int(time.monotonic() - (self._start or time.monotonic()))
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"

    def on_step_end(self, iteration, trials, **info):
        now = time.monotonic()
        if self._start is None:
            self._start = now
        if now - self._last_table < self.interval:
            return
        self._last_table = now
        counts = {}
        for trial in trials:
            counts[trial.status] = counts.get(trial.status, 0) + 1
        states = ", ".join(f"{count} {status.lower()}" for status, count in sorted(counts.items()))
        self._print(f"[sweep {self._elapsed()}] {len(trials)} trials: {states}")
        for trial in trials:
            if trial.status == "RUNNING" and trial.last_result:
                self._print("  " + trial_line(trial, trial.last_result, self.epochs))

    def on_trial_result(self, iteration, trials, trial, result, **info):
        """One line per finished epoch: a long run's log says how far each trial got and
        how fast, epoch by epoch."""
        self._print(f"epoch  {trial_line(trial, result, self.epochs)}")

    def on_trial_complete(self, iteration, trials, trial, **info):
        self._print(f"done   {trial_line(trial, trial.last_result or {}, self.epochs)}")

    def on_trial_error(self, iteration, trials, trial, **info):
        self._print(f"ERROR  {trial}: {error_line(trial)}  ({trial.error_file})")

    def on_trial_recover(self, iteration, trials, trial, **info):
        failures = trial.run_metadata.num_failures
        self._print(f"retry  {trial} from its last checkpoint after failure {failures} "
                    f"({error_line(trial)})")
