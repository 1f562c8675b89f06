"""The face navigation study as a user runs it: `vae-study navigate` on checkpoints, on a CelebA
folder in its exact layout, on the public CelebA models without labels, and after a sweep and
its analysis (sweep -> analyze -> navigate -> report), with every refusal in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from test_celeba import write_tree

from study.cli import main

SHARED = Path(__file__).resolve().parents[2] / "shared"
# Small enough for seconds: a few classifier steps, a few hundred labelled faces, 12 edited.
TINY = ["--num-labelled", "240", "--num-faces", "12", "--classifier-steps", "10",
        "--classifier-images", "200", "--fraction", "0.1", "--workers", "1"]
SETTINGS = [("vae", {}), ("beta_vae", {"beta": 4.0})]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Batches of a dozen images gain nothing from a second thread (and lose much on a busy
    machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_STUDY_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def write_model(path, kind=None, seed=0, **build):
    """A freshly initialised faces model whose checkpoint names its kind and seed, as a
    trained one does (the study's numbers need no training; its route does not either)."""
    from disentangle.models import build_model, make_checkpoint, write_checkpoint

    torch.manual_seed(seed)
    model = build_model("standard", **{"num_channels": 3, "latent_dim": 6, "hidden_dim": 32,
                                       **build})
    info = {"build": model.build_options()}
    if kind is not None:
        hyper = dict(SETTINGS)[kind]
        info.update(model=kind, hyperparameters={"model": kind, "seed": seed, **hyper})
    return str(write_checkpoint(make_checkpoint(info, model.state_dict()), path))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Three seeds of two settings."""
    folder = tmp_path_factory.mktemp("models")
    return [write_model(folder / f"{kind}_{seed}" / "model.pt", kind, seed)
            for kind, _ in SETTINGS for seed in range(3)]


@pytest.fixture(scope="module")
def faces_classifier(tmp_path_factory):
    """A classifier file of the synthetic faces, trained briefly."""
    from disentangle.navigation.classifier import save_classifier, train_classifier
    from disentangle.navigation.data import synthetic_faces

    train = synthetic_faces(100, 1, "independent", workers=1)
    held_out = synthetic_faces(100, 2, "independent", workers=1)
    classifier = train_classifier(train, held_out, steps=10, device="cpu")
    return str(save_classifier(classifier, tmp_path_factory.mktemp("c") / "faces.pt"))


def test_checkpoints_to_report(models, cache, tmp_path, capsys):
    out = tmp_path / "nav"
    out.mkdir()
    (out / "report.md").write_text("# An analysis report\n\nkept text\n")
    assert main(["navigate", "--models", *models, "--attributes", "Smiling", "Male",
                 "--out", str(out), *TINY]) == 0
    assert "training the attribute classifier" in capsys.readouterr().out
    folder = out / "navigation"
    for name in ("strip_Smiling", "strip_Male", "side_effects", "cosine"):
        for suffix in (".png", ".pdf"):
            assert (folder / f"{name}{suffix}").stat().st_size > 1000, name
    edits = pd.read_csv(folder / "edits.csv")
    assert len(edits) == 6 * 2 * 2  # models x attributes x modes
    assert set(edits["setting"]) == {"VAE", "β-VAE β=4"} and set(edits["seed"]) == {0, 1, 2}
    assert (edits["faces"] == 12).all()
    curves = pd.read_csv(folder / "curves.csv")
    assert len(curves) == 6 * 2 * 2 * 10  # ... x the ten default strengths
    assert (curves.loc[curves["strength"] == 0, ["target_change", "pixel_change"]] == 0).all().all()
    estimates = pd.read_csv(folder / "settings.csv")
    assert set(estimates["seeds"]) == {3} and estimates["compared"].all()
    directions = np.load(folder / "boundaries.npz")
    name = "beta_vae_beta=4_seed=1"
    assert abs(directions[f"{name}/Smiling/conditional"]
               @ directions[f"{name}/Male/unconditional"]) < 1e-8
    report = (out / "report.md").read_text()
    assert report.startswith("# An analysis report") and "kept text" in report
    assert report.count("## Face navigation") == 1
    assert "encoder means of 240 labelled images" in report and "12 other faces" in report
    assert "trained on 200 images for 10 steps, checked on 500 held-out synthetic" in report
    assert "VAE: 3 seeds; β-VAE β=4: 3 seeds" in report
    cached = list((cache / "classifiers").glob("faces-*.pt"))
    assert len(cached) == 1

    # Again with one model and one attribute: the cached classifier, the section replaced,
    # and one seed is too few for any verdict.
    assert main(["navigate", "--models", models[0], "--attributes", "Male", "--out", str(out),
                 *TINY]) == 0
    printed = capsys.readouterr().out
    assert "training the attribute classifier" not in printed
    report = (out / "report.md").read_text()
    assert report.count("## Face navigation") == 1 and "strip_Smiling" not in report
    assert "VAE: not compared (1 seed; a verdict needs 3)" in report
    assert "edits most cleanly" not in report


def test_celeba_folder_with_random_labels_gets_no_verdict(models, cache, tmp_path, capsys):
    """A 100-image folder in CelebA's exact layout whose labels are random: the classifier is
    trained on its attribute file, the boundaries are fitted and the edits made, but the
    classifier is at chance on the held-out images, so nothing is judged; the method states
    the counts used."""
    root = tmp_path / "data"
    write_tree(root, num=100, splits=[0] * 80 + [1] * 10 + [2] * 10)
    out = tmp_path / "nav"
    assert main(["navigate", "--models", *models[:3], "--dataset", "celeba", "--root",
                 str(root), "--attributes", "Male", "Smiling", "--out", str(out), *TINY]) == 0
    printed = capsys.readouterr().out
    assert "verdict: No verdict at all" in printed
    report = (out / "report.md").read_text()
    assert "Data: celeba (CelebA, crop148)" in report
    assert "encoder means of 80 labelled images" in report and "10 other faces" in report
    assert "trained on 80 images for 10 steps, checked on 10 held-out images" in report
    assert "too few to expect it to recognise attributes" in report
    assert "**No verdict at all**" in report and "Male: **no verdict**" in report
    assert "edits most cleanly" not in report and "no winner" not in report
    assert "tie between" not in report and "10,000" not in report
    directions = np.load(out / "navigation" / "boundaries.npz")
    assert any(key.endswith("/Male/unconditional") for key in directions.files)
    classifier = pd.read_csv(out / "navigation" / "classifier.csv").set_index("attribute")
    assert (classifier["count"] == 10).all() and not classifier["recognised"].any()


@pytest.mark.parametrize("build, message", [({"num_channels": 1}, "takes 1x64x64"),
                                            ({"image_size": 32}, "takes 3x32x32")])
def test_models_of_other_images_are_refused(tmp_path, cache, capsys, build, message):
    model = write_model(tmp_path / "model.pt", **build)
    assert main(["navigate", "--models", model, "--out", str(tmp_path / "o"), *TINY]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_bad_options_and_files_are_refused_in_one_line(tmp_path, cache, capsys, models):
    from disentangle.navigation.classifier import AttributeClassifier, Classifier, save_classifier
    from disentangle.navigation.data import faces_identity

    base = ["navigate", "--models", models[0], "--out", str(tmp_path / "o"), *TINY]
    other = {**faces_identity(), "name": "celeba", "source": "CelebA"}
    celeba = save_classifier(Classifier(AttributeClassifier(len(other["attributes"])), other,
                                        {"source": "test", "attributes": {}}),
                             tmp_path / "celeba.pt")
    for extra, message in (
            (["--attributes", "Smiling", "Wings"], "unknown attribute(s) Wings"),
            (["--classifier", str(tmp_path / "missing.pt")], "no such file"),
            (["--classifier", models[0]], "not an attribute classifier"),
            (["--classifier", str(celeba)], "was trained on celeba"),
            (["--strengths", "1", "2"], "--strengths: edit strengths must be 0 and"),
            (["--target-change", "1.5"], "--target-change: the matched target change"),
            (["--min-seeds", "1"], "--min-seeds 1: an interval over seeds needs")):
        assert main(base + extra) == 2, extra
        errors = capsys.readouterr().err.strip().splitlines()
        assert len(errors) == 1 and message in errors[0], (extra, errors)
    assert main(["navigate", "--sweep", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "no Ray Tune trial folders" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_sweep_of_other_data_is_refused():
    from disentangle.errors import UserError
    from study.navigation.models import sweep_dataset

    trials = pd.DataFrame({"config": [json.dumps({"dataset": "dsprites"})]})
    with pytest.raises(UserError, match="trained on dsprites, but the navigation study edits"):
        sweep_dataset(trials)


@pytest.mark.skipif(not (SHARED / "pretrained").is_dir(), reason="../shared is absent")
def test_public_celeba_models_without_labels(tmp_path, cache, monkeypatch):
    """The public CelebA checkpoints have no labels to navigate by here: the same route writes
    samples, traversals and reconstructions of the reference grid, and they are good."""
    from analysis.navigation.report import write_navigation
    from study.navigation.models import from_paths
    from study.navigation.settings import Settings
    from study.navigation.workflow import run_study

    monkeypatch.delenv("CELEBA_ROOT", raising=False)
    reference = SHARED / "reference" / "celeba_samples_10x10.png"
    paths = [SHARED / "pretrained" / "disentangling-vae" / name
             for name in ("VAE_celeba", "factor_celeba")]
    result = run_study(from_paths(paths), Settings(dataset="celeba", reference=str(reference)))
    assert not result.labelled and "no CelebA folder" in result.notes[0]
    for model in result.models:
        mismatched = ((np.roll(model.reconstructions, 1, axis=0) - result.reference) ** 2).mean()
        assert model.reconstruction_error < 0.03 and model.reconstruction_error < 0.5 * mismatched
        assert model.samples.shape == (36, 3, 64, 64)
        assert model.traversals.shape == (8 * 7, 3, 64, 64)
    written = write_navigation(result, tmp_path / "out")
    for name in ("samples", "reconstructions", "traversals_VAE_celeba",
                 "traversals_factor_celeba"):
        assert (written["folder"] / f"{name}.png").stat().st_size > 1000
    report = written["report"].read_text()
    assert "no CelebA folder" in report and "| VAE_celeba |" in report


def test_sweep_then_analyze_then_navigate(ray_cluster, tmp_path, tiny, faces_classifier, cache,
                                          capsys):
    """The route of docs/navigation.md's face study at tiny scale: a faces sweep of two settings
    with three seeds each (stacked by setting; no disentanglement scores or image panels, which
    the navigation study does not read), its analysis, then the navigation study of every
    finished model appended to the analysis report."""
    storage, sweep = tmp_path / "results", tmp_path / "results" / "faces"
    assignments = tiny(epochs=1, steps=3, seeds=(0, 1, 2)) + [
        'variants=[{"model": "vae"}, {"model": "beta_vae", "beta": 4}]', "stack=seeds",
        "metrics.enabled=false", "images.every=0", "dataset.pool=96"]
    assert main(["sweep", "--preset", "faces", *sum((["--set", a] for a in assignments), []),
                 "--storage", str(storage), "--name", "faces"]) == 0
    navigate = ["navigate", "--sweep", str(sweep), "--classifier", faces_classifier, *TINY,
                "--attributes", "Smiling", "Male"]
    assert main(navigate) == 2
    assert f"run `vae-study analyze {sweep}` first" in capsys.readouterr().err
    assert main(["analyze", str(sweep), "--sanity", "off", "--no-traversals"]) == 0
    capsys.readouterr()
    assert main(navigate) == 0
    printed = capsys.readouterr().out
    assert f"report: {sweep / 'analysis' / 'report.md'}" in printed
    report = (sweep / "analysis" / "report.md").read_text()
    assert report.startswith("# Disentanglement study") and report.count("## Face navigation") == 1
    assert "Models: 6 in 2 settings (VAE: 3 seeds; β-VAE β=4: 3 seeds)" in report
    assert "Left out" not in report
    edits = pd.read_csv(sweep / "analysis" / "navigation" / "edits.csv")
    assert set(edits["model"]) == {f"{kind}_seed={seed}" for kind in ("vae", "beta_vae_beta=4")
                                   for seed in range(3)}
    assert (sweep / "analysis" / "navigation" / "strip_Male.png").is_file()
