"""Training from plain Python (no Ray): the config schema and the stacked training engine.

>>> trainer = Trainer({"model": "factor_vae", "gamma": 35, "seed": 1}, get_dataset("dsprites"))
>>> metrics = trainer.train_steps(1000)
>>> stack = StackTrainer([{"model": "beta_vae", "beta": b, "seed": s}
...                       for b in (2, 8) for s in range(3)], get_dataset("dsprites"))
"""

from disentangle.training.config import DEFAULTS, SETTINGS, validate_config
from disentangle.training.trainer import StackTrainer, Trainer, fit, model_file

__all__ = ["DEFAULTS", "SETTINGS", "StackTrainer", "Trainer", "fit", "model_file",
           "validate_config"]
