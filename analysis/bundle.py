"""What a shipped study carries besides its table: a snapshot of a run still training, and the
weights of its best and median model of each kind in bf16.

A run that is still training is shipped as a *snapshot*: every model's epochs up to one common
step, each model marked finished there, so that the report's verdicts compare models trained
equally long and re-analysing the shipped table gives the shipped report. The epochs after
that step are shipped beside it for the learning curves.

The snapshot's traversals and weights should be the models as they were scored at its step,
but a run keeps only its newest checkpoints (``checkpoints.keep``). So each ship first copies
every model's weights at each scored step its trial still holds (``keep_scored_weights``), and
the snapshot reads them from there; a model whose weights at that step were never seen by a
ship falls back to its newest checkpoint (the record names the step of each shipped model).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import torch

from analysis.results import SweepResults
from analysis.traversals import Selection
from disentangle.errors import UserError
from disentangle.models import make_checkpoint, read_checkpoint, write_checkpoint
from disentangle.training import model_file


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


def scored_folder(kept: str | Path, trial_path: str | Path, step: int) -> Path:
    """Where ``keep_scored_weights`` keeps a trial's models' weights at ``step``: a folder
    laid out like a checkpoint's (``model_file(folder, member)``)."""
    return Path(kept) / Path(trial_path).name / f"step_{step:07d}"


def keep_scored_weights(results: SweepResults, every: int, kept: str | Path) -> None:
    """Copy each model's weights from every checkpoint its trial still holds at a multiple of
    ``every`` steps (where the paper-sized scores were computed) to ``scored_folder``, unless
    already kept. The run goes on meanwhile: a checkpoint it drops or is still writing as this
    reads it is skipped (a later ship sees the new one), and each copy is renamed into place,
    so an interrupted ship leaves none half written."""
    for model in results.trials.itertuples():
        for folder in sorted(Path(model.path).glob("checkpoint_*")):
            file = model_file(folder, model.member)
            try:
                step = read_checkpoint(file)["info"]["step"]
                target = model_file(scored_folder(kept, model.path, step), model.member)
                if step % every or target.is_file():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_name(f".{target.name}.partial")
                shutil.copy2(file, partial)
            except (UserError, OSError):   # gone, or not whole yet
                continue
            partial.replace(target)


def snapshot(results: SweepResults, step: int, kept: str | Path | None = None) -> SweepResults:
    """``results`` as if every model had finished at ``step``: its epochs up to that step,
    each model's status "finished"; with ``kept``, each model's checkpoint is its weights at
    ``step`` kept there (``keep_scored_weights``) where they are, else its newest."""
    epochs = results.epochs[results.epochs["steps"] <= step].reset_index(drop=True)
    trials = results.trials.assign(status="finished", epochs=epochs.groupby(
        "trial_id")["epoch"].count().reindex(results.trials["trial_id"]).to_numpy())
    if kept is not None:
        at_step = [scored_folder(kept, path, step) for path in trials["path"]]
        trials["checkpoint"] = [
            str(folder) if model_file(folder, member).is_file() else newest
            for folder, member, newest in zip(at_step, trials["member"], trials["checkpoint"])]
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
