"""The face navigation study's science and verdict rules, on known inputs: boundaries,
projections, edits at matched strength, t intervals over seeds, the winner rule, the
reconstruction gate, the classifier's check against chance, and the method text's counts."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from analysis.navigation.measures import cleanest, keeps
from disentangle.errors import UserError
from disentangle.navigation.boundaries import (
    axis_alignment,
    conditional_direction,
    cosine_matrix,
    fit_boundary,
)
from disentangle.navigation.classifier import Classifier
from disentangle.navigation.edits import EditCurves, edit_curves, edit_summary, matched
from disentangle.navigation.model_study import EditPlan, ModelResult
from disentangle.navigation.validation import auc_interval, recognised

STRENGTHS = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0])


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


def test_boundary_needs_both_sides_and_says_so_without_flags():
    codes, _, _ = planted(num=200)
    for scores in (np.zeros(200), np.r_[np.ones(3), np.zeros(197)]):
        with pytest.raises(UserError, match="needs both sides") as error:
            fit_boundary(codes, scores, "Bald")
        assert "--" not in str(error.value)  # disentangle/ speaks of arguments, not flags


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
    from study.navigation.models import unique_names

    def trained(kind, seed, **hyper):
        return SimpleNamespace(info={"model": kind, "hyperparameters": {"seed": seed, **hyper}})

    plain = [SimpleNamespace(info={})] * 2
    assert unique_names(["a/vae.pt", "b/beta.pt"], plain) == ["vae", "beta"]
    sweep = ["t1/checkpoint_000002/m.pt", "t2/checkpoint_000002/m.pt"]
    models = [trained("beta_vae", 0, beta=4.0), trained("factor_vae", 1, gamma=10.0)]
    assert unique_names(sweep, models) == ["beta_vae_beta=4_seed=0", "factor_vae_gamma=10_seed=1"]
    assert unique_names(["x/m.pt", "y/m.pt"], [trained("vae", 0)] * 2) == ["x/m", "y/m"]


def curves(speed, side_rate, faces=40, noise=0.0, seed=0):
    """Edits whose target changes by ``speed`` per unit strength (up to 0.9) with side
    effects ``side_rate`` per unit strength, face to face varying by ``noise``."""
    random_state = np.random.RandomState(seed)
    speeds = speed * np.clip(1 + noise * random_state.randn(faces), 0.2, None)
    sides = side_rate * np.clip(1 + noise * random_state.randn(faces), 0, None)
    target = np.minimum(np.outer(speeds, STRENGTHS), 0.9)
    side = np.outer(sides, STRENGTHS)
    return EditCurves(STRENGTHS, target, side, (target > 0.5).astype(float), side / 10,
                      np.zeros(faces, bool))


def test_edits_are_compared_at_the_same_change_of_the_target():
    # The same edit in a latent space of twice the scale: at one latent distance it changes
    # the target twice as much, with twice the side effects; matched, the two are equal.
    small, large = curves(0.2, 0.05), curves(0.4, 0.1)
    at_one = [c.side[:, STRENGTHS == 1.0].mean() for c in (small, large)]
    assert at_one[1] == pytest.approx(2 * at_one[0])
    first, second = (edit_summary(c, 0.4) for c in (small, large))
    assert first["matched_strength"] == pytest.approx(2.0)
    assert second["matched_strength"] == pytest.approx(1.0)
    assert first["side_effects"] == pytest.approx(second["side_effects"]) == pytest.approx(0.1)
    # Interpolated between grid points: 0.5 is reached at 2.5 (between 2 and 3).
    assert edit_summary(small, 0.5)["matched_strength"] == pytest.approx(2.5)
    assert edit_summary(small, 0.5)["side_effects"] == pytest.approx(0.125)
    # An edit that never reaches the change is worse than any that does, and says so.
    weak = edit_summary(curves(0.05, 0.01), 0.4)
    assert not weak["reached"] and weak["side_effects"] == np.inf
    assert weak["max_target_change"] == pytest.approx(0.2)
    # Vectorised over resamples: each row is matched on its own.
    rows = np.stack([small.target.mean(0), large.target.mean(0)])
    sides = np.stack([small.side.mean(0), large.side.mean(0)])
    np.testing.assert_allclose(matched(rows, sides, 0.4), [0.1, 0.1])


class LinearFaces(torch.nn.Module):
    """A decoder whose two-pixel image is its code mapped linearly into [0, 1], and a
    classifier reading attribute 0 off the first code coordinate, attribute 1 off the second
    (sigmoid of twice the coordinate)."""

    def decode(self, codes):
        return ((codes + 2) / 4).reshape(len(codes), 1, 1, 2)

    @staticmethod
    def probabilities(images):
        codes = 4 * np.asarray(images).reshape(len(images), 2) - 2
        return 1 / (1 + np.exp(-2 * codes))


def test_edit_curves_move_every_face_towards_the_other_side():
    model = LinearFaces()
    codes = np.array([[-1.0, 0.0], [1.5, 0.0]], np.float32)  # without, with attribute 0
    direction = np.array([0.8, 0.6])  # the edit moves attribute 1 as well
    edits = edit_curves(model, model, codes, direction, [0, 1, 2], target=0, scored=[0, 1])
    assert list(edits.has) == [False, True]
    moved = np.array([[-1 + 0.8 * s, 0.6 * s] for s in (0, 1, 2)])  # the first face's codes
    probability = 1 / (1 + np.exp(-2 * moved))
    np.testing.assert_allclose(edits.target[0], probability[:, 0] - probability[0, 0], rtol=1e-5)
    assert (edits.target > -1e-9).all() and edits.target[1, 2] > 0.3  # the second went down
    side = np.abs(probability[:, 1] - 0.5)
    np.testing.assert_allclose(edits.side[0], side, rtol=1e-5)
    assert list(edits.flipped[0]) == [0, 0, 1] and list(edits.flipped[1]) == [0, 0, 1]
    np.testing.assert_allclose(edits.pixels[0], [0, 0.175, 0.35], rtol=1e-5)  # (0.8+0.6)s/2/4
    summary = edit_summary(edits, 0.2, labels=np.array([0, 0]))
    assert summary["reconstruction_accuracy"] == 0.5 and summary["reached"]
    assert summary["label_share"] == 0.0


def test_a_winner_only_when_welch_shows_it_lower():
    """Earlier rule: two-level bootstrap intervals (seeds, then faces within seeds) that had to
    separate; now Welch's interval of each other setting minus the lowest, over seeds."""
    low, high = np.array([1.0, 1.1, 0.9]), np.array([2.0, 2.1, 1.9])
    assert cleanest({"A": low, "B": high}, 0.95) == ("A", [])
    assert cleanest({"A": low, "B": high, "C": low + 0.05}, 0.95) == (None, ["C"])
    assert cleanest({"A": np.array([1.0, 1.8, 0.2]), "B": high}, 0.95) == (None, ["B"])
    assert cleanest({"A": low}, 0.95) == (None, [])
    # k equal settings, 3 seeds each: a false winner at most 2.5% of the time
    rng = np.random.default_rng(0)
    false = np.mean([cleanest({name: rng.normal(size=3) for name in "ABC"}, 0.95)[0] is not None
                     for _ in range(2000)])
    assert false <= 0.025 + 3 * np.sqrt(0.025 * 0.975 / 2000)


def test_the_reconstruction_gate_needs_reconstructions_better_than_the_commoner_label():
    def model(accuracy, share, faces=200):
        return SimpleNamespace(summary=[{"attribute": "Smiling", "reconstruction_accuracy":
                                         accuracy, "label_share": share, "faces": faces}])

    assert keeps(model(0.9, 0.5), "Smiling")
    assert not keeps(model(0.75, 0.25), "Smiling")   # always "not smiling" is right 75%
    assert not keeps(model(0.6, 0.5, faces=20), "Smiling")  # too few faces to tell
    assert not keeps(model(0.9, 0.5), "Male")        # never checked


def validation_entry(auc, count, positives, accuracy):
    low, high = auc_interval(auc, positives, count - positives)
    return {"auc": auc, "auc_low": low, "auc_high": high, "count": count,
            "positives": positives, "accuracy": accuracy}


def test_only_a_classifier_clearly_better_than_chance_is_trusted():
    assert recognised(validation_entry(0.95, 500, 250, 0.90))
    # The reported case: a 100-image folder with random labels, 10 held out, accuracy 0.40.
    assert not recognised(validation_entry(0.45, 10, 4, 0.40))
    assert not recognised(validation_entry(0.80, 10, 5, 0.80))  # good numbers, too few images
    assert not recognised(validation_entry(0.70, 2000, 1000, 0.65))  # below the AUC floor
    assert not recognised(validation_entry(0.90, 500, 250, 0.52))  # ranks, but never right
    assert not recognised(validation_entry(float("nan"), 10, 0, 1.0))  # one side only
    low, high = auc_interval(0.8, 100, 100)  # Hanley & McNeil's standard error: 0.0309
    assert (low, high) == pytest.approx((0.8 - 1.96 * 0.0309, 0.8 + 1.96 * 0.0309), abs=1e-3)


def study(side_rates: dict[str, list[float]], entries: dict | None = None, noise=0.3,
          attributes=("Smiling", "Male"), accuracy: dict | None = None):
    """A finished study of known edits: per setting, one model per seed whose edits of every
    attribute have side effects ``rate`` per unit strength (the target changes by 0.2), and
    whose reconstructions keep every attribute on 200 faces half of which have it with
    ``accuracy[setting]`` (0.9 where not given)."""
    accuracy = accuracy or {}
    from study.navigation.settings import Settings
    from study.navigation.workflow import StudyResult

    entries = entries or {a: validation_entry(0.95, 500, 250, 0.9) for a in attributes}
    classifier = Classifier(None, {"attributes": list(entries)},
                            {"source": "test", "attributes": entries})
    plan = EditPlan(list(attributes), list(attributes), STRENGTHS, 0.4, 0.02, False, 0)
    models = []
    for setting, rates in side_rates.items():
        for seed, rate in enumerate(rates):
            model = ModelResult(f"{setting}_seed={seed}", "", "", setting, seed)
            model.summary = [{"attribute": a, "reconstruction_accuracy": accuracy.get(setting, 0.9),
                              "label_share": 0.5, "faces": 200} for a in attributes]
            for number, attribute in enumerate(attributes):
                for mode in ("unconditional", "conditional"):
                    held = 0.5 if mode == "conditional" else 1.0
                    model.curves[(attribute, mode)] = curves(
                        0.2, rate * held, noise=noise, seed=100 * seed + number)
            models.append(model)
    return StudyResult(Settings(), models, True, plan, classifier)


def test_verdicts_call_a_winner_only_when_the_intervals_separate(tmp_path):
    from analysis.navigation.figures import interval_figure
    from analysis.navigation.verdicts import judge

    result = study({"A": [0.05, 0.052, 0.048], "B": [0.1, 0.11, 0.09]})
    clear = judge(result)
    assert any(line.startswith("**Overall (Smiling, Male): A edits most cleanly**")
               for line in clear.lines), clear.lines
    assert sum("edits most cleanly" in line for line in clear.lines) == 3
    row = clear.estimates.query("setting == 'A' and attribute == 'Smiling' and "
                                "mode == 'unconditional'").iloc[0]
    seeds = [edit_summary(m.curves[("Smiling", "unconditional")], 0.4)["side_effects"]
             for m in result.models if m.setting == "A"]
    assert row["estimate"] == pytest.approx(np.mean(seeds))  # the mean over seeds, matched
    assert row["low"] < row["estimate"] < row["high"] and 0.07 < row["estimate"] < 0.12
    conditional = [line for line in clear.lines if line.startswith("Holding")][0]
    assert "A -0.04" in conditional and conditional.count("(lowers them)") == 2  # halved
    figure = interval_figure(result, clear.estimates, tmp_path)  # the verdicts' figure
    assert figure.png.stat().st_size > 1000 and "t interval over seeds" in figure.caption
    # Seeds that disagree: the difference is not shown, and no winner is called.
    noisy = judge(study({"A": [0.03, 0.08, 0.05], "B": [0.04, 0.1, 0.07]}))
    assert not any("edits most cleanly" in line for line in noisy.lines)
    assert any(line.startswith("**Smiling: no winner**") for line in noisy.lines)
    # A setting whose reconstructions lose the attributes is not compared on them.
    gated = judge(study({"A": [0.05, 0.052, 0.048], "B": [0.1, 0.11, 0.09]},
                        accuracy={"A": 0.5}))
    assert not any("A edits most cleanly" in line for line in gated.lines)
    assert any(line.startswith("**Smiling: no comparison**") and "commoner label: A" in line
               for line in gated.lines), gated.lines


def test_too_few_seeds_or_a_classifier_at_chance_give_no_verdict():
    from analysis.navigation.verdicts import judge

    two = judge(study({"A": [0.05, 0.05], "B": [0.1, 0.1], "C": [0.2, 0.2, 0.2]}))
    assert two.lines[0].startswith("**No verdict**: fewer than two settings have 3 seeds")
    assert "A: not compared (2 seeds; a verdict needs 3)" in two.lines
    assert not any("most cleanly" in line for line in two.lines)
    chance = {"Smiling": validation_entry(0.45, 10, 4, 0.40),
              "Male": validation_entry(0.55, 10, 5, 0.5)}
    blind = judge(study({"A": [0.05] * 3, "B": [0.1] * 3}, chance))
    assert blind.lines[0].startswith("**No verdict at all**")
    assert any(line.startswith("Smiling: **no verdict**: the classifier is not clearly better "
                               "than chance") and "accuracy 0.40" in line
               for line in blind.lines)
    assert not any("most cleanly" in line or "tie" in line for line in blind.lines)
    # One attribute recognised: it alone is judged.
    half = judge(study({"A": [0.05] * 3, "B": [0.1] * 3},
                       {**chance, "Male": validation_entry(0.95, 500, 250, 0.9)}))
    assert half.judged == ["Male"] and half.overall == ["Male"]
    assert any(line.startswith("**Male: A edits most cleanly**") for line in half.lines)


def test_method_text_states_the_counts_actually_used():
    from analysis.navigation.report import method_lines
    from disentangle.navigation.boundaries import Boundary

    result = study({"A": [0.05] * 3})
    result.counts = {"labelled": 80, "faces": 10, "classifier_train": 80}
    result.classifier.validation.update(steps=20, source="10 held-out images (valid split)")
    for model in result.models:
        model.boundaries = {a: Boundary(a, np.ones(2), 0, 1, 1, 10) for a in result.attributes}
    text = "\n".join(method_lines(result))
    assert "encoder means of 80 labelled images" in text and "(10 per side)" in text
    assert "10 other faces" in text and "trained on 80 images for 20 steps" in text
    assert "checked on 10 held-out images" in text and "Student's t over each setting" in text
    assert "10,000" not in text


def test_an_analysis_rewrite_keeps_the_navigation_section(tmp_path):
    from analysis.navigation.report import SECTION_START, carry_navigation, merged_report

    previous, staging = tmp_path / "analysis", tmp_path / "staging"
    (previous / "navigation").mkdir(parents=True)
    (previous / "navigation" / "strip_Male.png").write_bytes(b"png")
    block = f"{SECTION_START}\n## Face navigation\n\nverdicts\n<!-- navigation:end -->"
    (previous / "navigation.md").write_text("# Face navigation study\n\n" + block + "\n")
    (previous / "report.md").write_text(merged_report("# Old analysis\n", block))
    staging.mkdir()
    (staging / "report.md").write_text("# New analysis\n\nnew text\n")
    assert carry_navigation(previous, staging)
    report = (staging / "report.md").read_text()
    assert report.startswith("# New analysis") and report.count(SECTION_START) == 1
    assert "verdicts" in report and (staging / "navigation" / "strip_Male.png").is_file()
    assert not carry_navigation(tmp_path / "nothing", staging)


def test_default_attributes_are_those_the_classifier_recognises():
    from disentangle.navigation.settings import DEFAULT_ATTRIBUTES
    from study.navigation.settings import Settings
    from study.navigation.workflow import choose_attributes

    names = ["Bald", "Male", "Smiling", "Eyeglasses"]
    knows = SimpleNamespace(recognised=lambda attribute: attribute == "Male")
    assert choose_attributes(Settings(), names, knows) == ["Male"]
    # A classifier that recognises none: the study still edits the defaults the data has (the
    # report then withholds every verdict).
    blind = SimpleNamespace(recognised=lambda attribute: False)
    assert choose_attributes(Settings(), names, blind) == [
        a for a in DEFAULT_ATTRIBUTES if a in names]
    assert choose_attributes(Settings(attributes=("Bald", "Bald")), names, blind) == ["Bald"]
    with pytest.raises(UserError, match="unknown attribute.*Wings"):
        choose_attributes(Settings(attributes=("Wings",)), names)

