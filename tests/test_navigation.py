"""The face navigation study: boundaries, projections, edit measures, the whole command."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from disentangle.errors import UserError
from disentangle.navigation.boundaries import (axis_alignment, conditional_direction,
                                               cosine_matrix, fit_boundary)
from disentangle.navigation.edits import edit_measures
from study.cli import main

SHARED = Path(__file__).resolve().parents[2] / "shared"
ATTRIBUTES = ["Smiling", "Male"]
# Small enough for seconds: a handful of classifier steps, a few hundred labelled faces.
TINY = ["--num-labelled", "240", "--num-faces", "12", "--classifier-steps", "20",
        "--classifier-images", "200", "--fraction", "0.1", "--workers", "1"]


def planted(num=3000, dim=8, seed=0):
    random_state = np.random.RandomState(seed)
    direction = random_state.randn(dim)
    direction /= np.linalg.norm(direction)
    codes = random_state.randn(num, dim)
    logits = 4 * codes @ direction + 0.3 * random_state.randn(num)
    return codes, direction, logits


def test_svm_recovers_a_planted_direction_from_probabilities_and_labels():
    codes, direction, logits = planted()
    probabilities = 1 / (1 + np.exp(-logits))
    boundary = fit_boundary(codes, probabilities, "planted", fraction=0.05)
    assert boundary.normal @ direction > 0.95
    assert abs(np.linalg.norm(boundary.normal) - 1) < 1e-9
    assert boundary.validation_accuracy > 0.95 and boundary.remaining_accuracy > 0.9
    assert boundary.num_per_side == 150
    from_labels = fit_boundary(codes, (logits > 0).astype(float), "planted", fraction=0.3)
    assert from_labels.normal @ direction > 0.9
    # Flipping the scores flips the direction: it points towards the attribute.
    assert fit_boundary(codes, 1 - probabilities, fraction=0.05).normal @ direction < -0.95


def test_boundary_needs_both_sides():
    codes, _, _ = planted(num=200)
    with pytest.raises(UserError, match="needs both sides"):
        fit_boundary(codes, np.zeros(200), "Bald")
    with pytest.raises(UserError, match="needs both sides"):
        fit_boundary(codes, np.r_[np.ones(3), np.zeros(197)], "Bald")


def test_projection_makes_directions_orthogonal():
    random_state = np.random.RandomState(1)
    a, b, c = random_state.randn(3, 12)
    one = conditional_direction(a, [b])
    expected = a - (a @ b) / (b @ b) * b  # InterfaceGAN's formula (b normalised)
    np.testing.assert_allclose(one, expected / np.linalg.norm(expected), atol=1e-12)
    both = conditional_direction(a, [b, c])
    assert abs(both @ b) < 1e-10 and abs(both @ c) < 1e-10
    assert abs(np.linalg.norm(both) - 1) < 1e-12 and both @ a > 0
    with pytest.raises(UserError, match="nothing is left"):
        conditional_direction(b + 2 * c, [b, c])


def test_cosines_and_axis_alignment():
    axis = np.eye(6)[3]
    assert axis_alignment(axis) == (1.0, 3)
    assert axis_alignment(np.ones(6))[0] == pytest.approx(1 / 6)
    cosine = cosine_matrix([axis, -axis, np.eye(6)[0]])
    np.testing.assert_allclose(cosine, [[1, -1, 0], [-1, 1, 0], [0, 0, 1]])


def test_model_names_are_short_and_unique():
    from types import SimpleNamespace

    from disentangle.navigation.study import model_names

    def trained(kind, seed, **hyper):
        return SimpleNamespace(info={"model": kind, "hyperparameters": {"seed": seed, **hyper}})

    assert model_names(["a/vae.pt", "b/beta.pt"]) == ["vae", "beta"]
    tune = ["t1/checkpoint_000002/trainer.pt", "t2/checkpoint_000002/trainer.pt"]
    models = [trained("beta_vae", 0, beta=4.0, gamma=40), trained("factor_vae", 1, gamma=10.0)]
    assert model_names(tune, models) == ["beta_vae_b4_s0", "factor_vae_g10_s1"]
    assert model_names(["x/m.pt", "y/m.pt"], [trained("vae", 0)] * 2) == ["x/m", "y/m"]


def test_edit_measures_on_known_probabilities():
    steps = [-1.0, 0.0, 1.0]
    # 2 faces, 3 attributes (target 0). Face 0 lacks the target and gains it at +1 while
    # attribute 1 moves by 0.2; face 1 has it and keeps it at -1 (a failed edit).
    probabilities = np.array([
        [[0.1, 0.5, 0.5], [0.8, 0.5, 0.5]],   # step -1
        [[0.2, 0.5, 0.5], [0.9, 0.5, 0.5]],   # step 0
        [[0.9, 0.7, 0.5], [0.95, 0.5, 0.5]],  # step +1
    ])
    images = np.zeros((3, 2, 1, 2, 2))
    images[2, 0] = 0.5
    rows, summary = edit_measures(images, probabilities, steps, target=0, scored=[0, 1, 2])
    assert [r["step"] for r in rows] == steps
    assert rows[2]["target_change"] == pytest.approx((0.7 + 0.05) / 2)
    assert rows[2]["side_effects"] == pytest.approx(0.2 / 4)
    assert rows[2]["pixel_change"] == pytest.approx(0.25)
    assert summary["success_rate"] == 0.5
    assert summary["target_change"] == pytest.approx((0.7 + 0.1) / 2)
    assert summary["side_effects"] == pytest.approx(0.1 / 2)
    assert summary["side_effect_ratio"] == pytest.approx(0.05 / 0.4)
    # The classifier finds face 0 without and face 1 with the target; the truth is 1, 1.
    _, summary = edit_measures(images, probabilities, steps, 0, [0, 1, 2], np.array([1, 1]))
    assert summary["reconstruction_accuracy"] == 0.5
    # An edit that moves nothing has no side-effect ratio.
    _, summary = edit_measures(images, np.repeat(probabilities[1:2], 3, axis=0), steps, 0,
                               [0, 1, 2])
    assert summary["success_rate"] == 0 and np.isnan(summary["side_effect_ratio"])


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """Two checkpoints of a model trained a few dozen steps on a few synthetic faces."""
    from disentangle.navigation.data import synthetic_faces
    from disentangle.training import Trainer

    torch.set_num_threads(2)
    folder = tmp_path_factory.mktemp("models")
    faces = synthetic_faces(64, seed=3, distribution="independent")
    trainer = Trainer({"model": "beta_vae", "beta": 4, "batch_size": 8, "latent_dim": 6,
                       "hidden_dim": 64, "lr": 1e-3, "precision": "fp32"}, faces, device="cpu")
    trainer.train_steps(30)
    first = trainer.save_checkpoint(folder / "beta_vae.pt")
    second = folder / "other" / "beta_vae.pt"
    second.parent.mkdir()
    shutil.copy(first, second)
    return [str(first), str(second)]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_STUDY_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_pipeline_writes_every_output(tiny_models, cache, tmp_path, capsys):
    out = tmp_path / "nav"
    (out).mkdir()
    (out / "report.md").write_text("# An analysis report\n\nkept text\n")
    argv = ["navigate", "--models", *tiny_models, "--attributes", *ATTRIBUTES,
            "--steps", "-2", "0", "2", "--out", str(out), *TINY]
    assert main(argv) == 0
    folder = out / "navigation"
    expected = ["strip_Smiling", "strip_Male", "conditional_Smiling", "conditional_Male",
                "side_effects", "cosine"]
    for name in expected:
        for suffix in (".png", ".pdf"):
            assert (folder / f"{name}{suffix}").stat().st_size > 1000, name
    for table in ("steps", "summary", "models", "classifier", "cosine"):
        assert (folder / f"{table}.csv").stat().st_size > 0
    import pandas as pd

    steps = pd.read_csv(folder / "steps.csv")
    assert len(steps) == 2 * 2 * 2 * 3  # models x attributes x modes x steps
    assert (steps.loc[steps["step"] == 0, ["target_change", "pixel_change"]] == 0).all().all()
    models = pd.read_csv(folder / "models.csv")
    names = [f"{Path(path).parent.name}/beta_vae" for path in tiny_models]  # same info too
    assert list(models["model"]) == names
    directions = np.load(folder / "boundaries.npz")
    held = directions[f"{names[1]}/Smiling/conditional"]
    assert abs(held @ directions[f"{names[1]}/Male/unconditional"]) < 1e-8
    navigation = (out / "navigation.md").read_text()
    assert "Verdicts" in navigation and "classifier on" in navigation
    assert "navigation/strip_Smiling.png" in navigation
    report = (out / "report.md").read_text()
    assert report.startswith("# An analysis report") and "kept text" in report
    assert report.count("Face navigation") == 1
    cached = list((cache / "classifiers").glob("faces-*.pt"))
    assert len(cached) == 1

    # A second run (one model, one attribute) reuses the classifier given explicitly and
    # replaces the section.
    assert main(["navigate", "--models", tiny_models[0], "--attributes", "Male", "--steps", "-2",
                 "0", "2", "--out", str(out), *TINY, "--classifier", str(cached[0])]) == 0
    report = (out / "report.md").read_text()
    assert report.count("Face navigation") == 1 and "strip_Smiling" not in report
    assert f"classifier: {cached[0]}" in capsys.readouterr().out


def write_model(path, **build):
    from disentangle.models import build_model, make_checkpoint, write_checkpoint

    model = build_model("standard", **build)
    return str(write_checkpoint(make_checkpoint({"build": model.build_options()},
                                                model.state_dict()), path))


@pytest.mark.parametrize("build, message", [({"num_channels": 1}, "takes 1x64x64"),
                                            ({"num_channels": 3, "image_size": 32},
                                             "takes 3x32x32")])
def test_models_of_other_images_are_refused(tmp_path, cache, capsys, build, message):
    model = write_model(tmp_path / "model.pt", **build)
    assert main(["navigate", "--models", model, "--out", str(tmp_path / "o"), *TINY]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_bad_attribute_and_classifier_files_are_refused(tmp_path, cache, capsys):
    from disentangle.navigation.classifier import (AttributeClassifier, Classifier,
                                                   save_classifier)
    from disentangle.navigation.data import faces_identity

    model = write_model(tmp_path / "model.pt", num_channels=3)
    base = ["navigate", "--models", model, "--out", str(tmp_path / "o"), *TINY]
    assert main(base + ["--attributes", "Smiling", "Wings"]) == 2
    assert "unknown attribute(s) Wings" in capsys.readouterr().err
    assert main(base + ["--classifier", str(tmp_path / "missing.pt")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(base + ["--classifier", model]) == 2
    assert "not an attribute classifier" in capsys.readouterr().err
    other = {**faces_identity(), "name": "celeba", "source": "CelebA"}
    path = save_classifier(Classifier(AttributeClassifier(len(other["attributes"])), other,
                                      {"source": "test", "attributes": {}}),
                           tmp_path / "celeba.pt")
    assert main(base + ["--classifier", str(path)]) == 2
    assert "was trained on celeba" in capsys.readouterr().err
    assert main(base + ["--steps", "1", "2"]) == 2
    assert "--steps must include 0" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(not (SHARED / "pretrained").is_dir(), reason="../shared is absent")
def test_pretrained_celeba_models_without_celeba(tmp_path, cache, monkeypatch):
    """The public CelebA checkpoints have no labels to navigate by here: samples, traversals
    and reconstructions of the reference grid are written, and the reconstructions are good."""
    from analysis.navigation import write_navigation
    from disentangle.navigation.settings import Settings
    from disentangle.navigation.study import run_study

    monkeypatch.delenv("CELEBA_ROOT", raising=False)
    reference = SHARED / "reference" / "celeba_samples_10x10.png"
    models = [SHARED / "pretrained" / "disentangling-vae" / name
              for name in ("VAE_celeba", "factor_celeba")]
    result = run_study(models, Settings(dataset="celeba", reference=str(reference)))
    assert not result.labelled and "no CelebA folder" in result.notes[0]
    for model in result.models:
        error = ((model.reconstructions - result.reference) ** 2).mean()
        mismatched = ((np.roll(model.reconstructions, 1, axis=0) - result.reference) ** 2).mean()
        assert error < 0.03 and error < 0.5 * mismatched, (model.name, error, mismatched)
        assert model.samples.shape == (36, 3, 64, 64)
        assert model.traversals.shape == (8 * 7, 3, 64, 64)
    written = write_navigation(result, tmp_path / "out")
    for name in ("samples", "reconstructions", "traversals_VAE_celeba",
                 "traversals_factor_celeba"):
        assert (written["folder"] / f"{name}.png").stat().st_size > 1000
    assert "no CelebA folder" in written["report"].read_text()
