"""The citable record of one evaluation: every score under disentanglement_lib's names, with
everything needed to reproduce it (preset and settings, seed, dataset and its images' source,
encoder, version, time), as a dict (for JSON) and as a text table.

disentanglement_lib names a result by its evaluation function (the gin name its configs bind:
``evaluation.evaluation_fn = @beta_vae_sklearn``) and the key in that function's result dict;
``DISENTANGLEMENT_LIB`` maps this project's full results onto those names.
"""

from __future__ import annotations

from disentangle import __version__
from disentangle.metrics.registry import METRICS, select_metrics
from disentangle.metrics.settings import resolve_overrides
from disentangle.metrics.spec import ENCODING_DEFAULTS

#: registry key -> (disentanglement_lib's evaluation function, {its result key: ours}).
DISENTANGLEMENT_LIB = {
    "beta_vae": ("beta_vae_sklearn", {"train_accuracy": "train_accuracy",
                                      "eval_accuracy": "eval_accuracy"}),
    "factor_vae": ("factor_vae_score", {"train_accuracy": "train_accuracy",
                                        "eval_accuracy": "eval_accuracy",
                                        "num_active_dims": "num_active_dims"}),
    "mig": ("mig", {"discrete_mig": "score"}),
    "dci": ("dci", {"informativeness_train": "informativeness_train",
                    "informativeness_test": "informativeness_test",
                    "disentanglement": "disentanglement", "completeness": "completeness"}),
    "sap": ("sap_score", {"SAP_score": "score"}),
    "modularity": ("modularity_explicitness", {"modularity_score": "modularity",
                                               "explicitness_score_train": "explicitness_train",
                                               "explicitness_score_test": "explicitness_test"}),
}

PAPER = ("disentanglement_lib's settings (Locatello et al. 2019) for every metric here: the "
         "sample sizes, batches, bins and classifiers below; where a computation differs, its "
         "module in disentangle/metrics says how and why")
NOT_PAPER = ("the paper preset with overrides: NOT disentanglement_lib's settings (see "
             "settings)")
FAST = ("fewer points than disentanglement_lib's (the per-epoch preset): noisier scores, not "
        "for citing; use the paper preset")
DRAWS = ("one random stream seeded with the seed draws every metric's points, metric after "
         "metric in registry order, before anything is encoded (disentanglement_lib seeds each "
         "metric anew, so its points differ; the estimates do not)")


def report(scores: dict, data, encoder: dict, preset: str, seed: int, metrics, overrides: dict,
           seconds: float) -> dict:
    """The record of ``scores`` (``evaluate(..., details=True)``'s result) of the encoder
    ``encoder`` describes, on ``data``, with the arguments that ``evaluate`` was given."""
    keys = [spec.key for spec in select_metrics(preset, metrics)]
    resolved = resolve_overrides(preset, overrides, keys)
    settings = {key: {name: value for name, value in resolved[key].items()
                      if name not in ENCODING_DEFAULTS} for key in keys}
    paper = preset == "paper" and all(settings[key] == dict(METRICS[key].presets["paper"])
                                      for key in keys)
    named = {}
    for key in keys:
        function, names = DISENTANGLEMENT_LIB.get(key, (key, {}))
        named[function] = {theirs: scores[key][ours] for theirs, ours in names.items()}
    flat = {name: value for name, value in scores.items() if name not in keys + ["timings"]}
    images = ("encoded elsewhere (the codes table)" if encoder["route"] == "codes table"
              else data.describe().get("source", "the dataset's own"))
    return {
        "vae_study_version": __version__,
        "encoder": encoder,
        "dataset": {"name": data.name, "images": images,
                    "factors": dict(zip(data.factor_names, data.factors_num_values))},
        "preset": {"name": preset, "disentanglement_lib": paper,
                   "statement": PAPER if paper else NOT_PAPER if preset == "paper" else FAST},
        "seed": seed,
        "draws": DRAWS,
        "settings": settings,
        "disentanglement_lib": named,
        "warnings": warnings_of(flat),
        "seconds": seconds,
        "scores": flat,
        "timings": scores["timings"],
        "details": {key: scores[key] for key in keys},
    }


def warnings_of(flat: dict) -> list[str]:
    """What a reader of the scores must know: a metric's warning, a classifier that did not
    converge."""
    notes = [f"{name}: {value}" for name, value in flat.items() if name.endswith("_warning")]
    notes += [f"{name} = 0: the classifier stopped before it converged"
              for name, value in flat.items() if name.endswith("_converged") and not value]
    return notes


def table_rows(record: dict) -> list[dict]:
    """One row per disentanglement_lib result key: metric, function, key, value, and the
    metric's settings on its first row."""
    names = {DISENTANGLEMENT_LIB.get(key, (key,))[0]: (METRICS[key].name, key)
             for key in record["settings"]}
    rows = []
    for function, results in record["disentanglement_lib"].items():
        name, key = names[function]
        settings = " ".join(f"{setting}={value}"
                            for setting, value in record["settings"][key].items())
        for number, (result, value) in enumerate(results.items()):
            rows.append({"metric": name, "function": function, "key": result, "value": value,
                         "settings": settings if number == 0 else ""})
    return rows


def format_report(record: dict) -> str:
    """The record as a text table under a header naming what was scored, on what, and how."""
    encoder, dataset, preset = record["encoder"], record["dataset"], record["preset"]
    images = record["scores"]["metric_images_encoded"]
    lines = [
        f"vae-study {record['vae_study_version']}: {encoder['source']} ({encoder['route']}, "
        f"{encoder['dims']} dimensions, precision: {encoder['precision']})",
        f"dataset  {dataset['name']}, images: {dataset['images']}",
        f"preset   {preset['name']}: {preset['statement']}",
        f"seed     {record['seed']}; {images:,} images encoded; {record['seconds']:.1f} s",
        "",
        f"{'metric':<26} {'disentanglement_lib key':<42} {'value':>8}  settings",
    ]
    previous = None
    for row in table_rows(record):
        value = row["value"]
        text = f"{value:.4f}" if isinstance(value, float) else str(value)
        metric, previous = ("" if row["metric"] == previous else row["metric"]), row["metric"]
        lines.append(f"{metric:<26} {row['function'] + '.' + row['key']:<42} {text:>8}  "
                     f"{row['settings']}")
    lines += [f"warning: {note}" for note in record["warnings"]]
    return "\n".join(lines)
