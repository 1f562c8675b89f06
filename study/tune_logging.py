"""What Tune itself logs for a sweep: its CSV and JSON result files, but not its TensorBoard run.

Tune adds a TensorBoard logger to every experiment unless one is given. Ours writes nothing:
each model of a trial writes its own run (``trainables.tensorboard``), and Tune's would put every
trial's bookkeeping and the stack's nested numbers into one more run per trial. Passing this one
(rather than setting $TUNE_DISABLE_AUTO_CALLBACK_LOGGERS) leaves the process's other Tune runs
as they were.
"""

from __future__ import annotations

from ray.tune.logger import TBXLoggerCallback


class ModelRunsOnly(TBXLoggerCallback):
    """Tune's TensorBoard logger slot, filled by one that writes nothing."""

    def log_trial_start(self, trial) -> None:
        pass

    def log_trial_result(self, iteration: int, trial, result: dict) -> None:
        pass

    def log_trial_end(self, trial, failed: bool = False) -> None:
        pass
