"""What a shipped study carries besides its table: a snapshot of a run still training, and the
weights of its best and median model of each kind in bf16.

A run that is still training is shipped as a *snapshot*: every model's epochs up to one common
step, each model marked finished there, so that the report's verdicts compare models trained
equally long and re-analysing the shipped table gives the shipped report. The epochs after
that step are shipped beside it for the learning curves.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from analysis.results import SweepResults
from analysis.traversals import Selection
from disentangle.models import make_checkpoint, read_checkpoint, write_checkpoint


def common_step(epochs: pd.DataFrame, every: int | None = None) -> int | None:
    """The latest step every model has reported (a multiple of ``every`` when given, e.g.
    where the paper-sized scores were computed); None when there is none."""
    reached = epochs.groupby("trial_id")["steps"].apply(set)
    if reached.empty:
        return None
    shared = set.intersection(*reached)
    if every:
        shared = {step for step in shared if step % every == 0}
    return int(max(shared)) if shared else None


def snapshot(results: SweepResults, step: int) -> SweepResults:
    """``results`` as if every model had finished at ``step``: its epochs up to that step,
    each model's status "finished"."""
    epochs = results.epochs[results.epochs["steps"] <= step].reset_index(drop=True)
    trials = results.trials.assign(status="finished", epochs=epochs.groupby(
        "trial_id")["epoch"].count().reindex(results.trials["trial_id"]).to_numpy())
    return SweepResults(root=results.root, epochs=epochs, trials=trials)


def bf16_weights(selections: list[Selection], folder: str | Path) -> dict[str, dict]:
    """Each selected model as a checkpoint of its own (``<kind>_<role>.pt``, what
    ``load_model``, ``vae-study evaluate`` and ``navigate`` read) with its floating-point
    weights in bf16: half the size, and loading casts them back to the network's float32.
    Returns each file's stem -> the model's setting, seed and the step of its weights."""
    folder = Path(folder)
    written = {}
    for selection in selections:
        checkpoint = read_checkpoint(selection.checkpoint_file)
        state = {name: tensor.to(torch.bfloat16) if tensor.is_floating_point() else tensor
                 for name, tensor in checkpoint["model"].items()}
        info = {**checkpoint["info"], "shipped": {
            "role": selection.role, "member": selection.row["member"],
            "setting": selection.row["setting"],
            "seed": int(selection.row["seed"]), "weights": "bf16"}}
        name = f"{selection.row['model']}_{selection.role}"
        write_checkpoint(make_checkpoint(info, state), folder / f"{name}.pt")
        written[name] = {"setting": selection.row["setting"], "seed": int(selection.row["seed"]),
                         "step": checkpoint["info"]["step"]}
    return written
