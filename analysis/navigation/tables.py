"""The navigation study's numbers as tables (pandas), and those tables as markdown.

``tables(result)`` gives, for a study with labels:

  curves      per model, attribute, mode and strength: mean change of the target towards the
              other side, side effects, flip rate and pixel change (the curves behind
              ``edits.matched``)
  edits       per model, attribute and mode: the edit at the matched target change
              (``edits.edit_summary``) and the boundary's numbers
  models      per model: means over the attributes its plain edits reach
  classifier  per attribute: held-out accuracy, AUC with its interval, whether it is
              recognised, edited
  cosine      per model: cosine between every two attribute boundaries

and for a study without labels only ``models`` (each model's reconstruction error on the
reference images).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def curves_frame(result) -> pd.DataFrame:
    rows = []
    for model in result.models:
        for (attribute, mode), curves in model.curves.items():
            for index, strength in enumerate(curves.strengths):
                rows.append({"model": model.name, "setting": model.setting,
                             "attribute": attribute, "mode": mode, "strength": strength,
                             "target_change": curves.target[:, index].mean(),
                             "side_effects": curves.side[:, index].mean(),
                             "flip_rate": curves.flipped[:, index].mean(),
                             "pixel_change": curves.pixels[:, index].mean()})
    return pd.DataFrame(rows)


def model_frame(result, edits: pd.DataFrame) -> pd.DataFrame:
    """Per model, over the attributes its plain edits reach: mean matched strength, side
    effects and flip rate; plus reconstruction, boundary and SVM numbers over all."""
    rows = []
    for model in result.models:
        plain = edits[(edits["model"] == model.name) & (edits["mode"] == "unconditional")]
        reached = plain[plain["reached"]]
        off_diagonal = np.abs(model.cosine[~np.eye(len(model.cosine), dtype=bool)])
        rows.append({
            "model": model.name, "setting": model.setting, "seed": model.seed,
            "reached": f"{len(reached)}/{len(plain)}",
            "matched_strength": reached["matched_strength"].mean(),
            "side_effects": reached["side_effects"].mean(),
            "flip_rate": reached["flip_rate"].mean(),
            "reconstruction_accuracy": plain["reconstruction_accuracy"].mean(),
            "mean_abs_cosine": off_diagonal.mean() if off_diagonal.size else math.nan,
            "axis_alignment": plain["axis_alignment"].mean(),
            "svm_validation_accuracy": plain["svm_validation_accuracy"].mean()})
    return pd.DataFrame(rows)


def classifier_frame(result) -> pd.DataFrame:
    classifier = result.classifier
    validation = classifier.validation["attributes"]
    return pd.DataFrame([{"attribute": a, **validation[a], "recognised": classifier.recognised(a),
                          "edited": a in result.attributes}
                         for a in classifier.attribute_names])


def cosine_frame(result) -> pd.DataFrame:
    return pd.DataFrame([{"model": m.name, "attribute": a, "other": b, "cosine": m.cosine[i, j]}
                         for m in result.models for i, a in enumerate(result.attributes)
                         for j, b in enumerate(result.attributes)])


def tables(result) -> dict[str, pd.DataFrame]:
    """The tables of the module docstring."""
    if not result.labelled:
        return {"models": pd.DataFrame([{"model": m.name, "description": m.description,
                                         "reconstruction_error": m.reconstruction_error}
                                        for m in result.models])}
    edits = pd.DataFrame([row for model in result.models for row in model.summary])
    return {"curves": curves_frame(result), "edits": edits,
            "models": model_frame(result, edits), "classifier": classifier_frame(result),
            "cosine": cosine_frame(result)}
