"""The Ray Tune Trainable of every model kind: a thin wrapper over ``trainables.runner``.

One trial trains the models its config lists (one, or a stack); one Tune iteration is one
epoch of ``TrialRunner``; Tune checkpoints after every epoch and a restored trial continues
exactly where the checkpoint left off. See ``trainables.runner`` for what each epoch reports.
"""

from __future__ import annotations

import ray
import torch
from ray import tune

from disentangle import kinds, runtime
from trainables.runner import TrialRunner


def trial_device() -> torch.device:
    """The GPU Ray assigned to this trial when it has one and CUDA works, else the CPU."""
    if ray.get_gpu_ids() and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


class StudyTrainable(tune.Trainable):
    """Trains the models of one trial (see the module docstring)."""

    def setup(self, config: dict, dataset=None, kinds_used=()):
        runtime.set_threads_from_env()
        runtime.configure_allocator()
        for kind in kinds_used:   # kinds the driver registered (e.g. a user's own) travel here
            kinds.register(kind, replace=True)
        self.runner = TrialRunner(config, self.logdir, trial_device(), dataset)

    def step(self) -> dict:
        epoch = self.iteration + 1
        result = self.runner.epoch(epoch)
        result["node_id"] = ray.get_runtime_context().get_node_id()
        if epoch >= self.runner.epochs:
            result[tune.result.DONE] = True
        return result

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        self.runner.save_checkpoint(checkpoint_dir)

    def load_checkpoint(self, checkpoint) -> None:
        self.runner.load_checkpoint(checkpoint)

    def reset_config(self, new_config: dict) -> bool:
        """Take the next trial in this same process (Tune's ``reuse_actors``): the imports,
        the torch thread pool and the shared dataset stay, everything else is rebuilt
        (``setup`` here is the one ``tune.with_parameters`` wraps: it passes the dataset and
        the kinds again)."""
        self.setup(new_config)
        return True
