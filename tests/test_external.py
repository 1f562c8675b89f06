"""Scoring any encoder (``disentangle.external``, ``vae-study evaluate --encoder / --codes``):
this project's checkpoint through the README's three routes scores exactly as `vae-study
evaluate` scores it; the factor oracle and a noise code score what they must; a constant code
gets the metrics' own scores; every bad input is one line and exit code 2."""

import csv
import json
import re
import shlex
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from disentangle.data import DATASETS
from disentangle.data.base import GroundTruthDataset
from disentangle.data.dsprites import NUM_IMAGES
from disentangle.external import load_model_file, needed_indices, score_encoder
from disentangle.metrics.citation import format_report
from disentangle.metrics.registry import result_columns
from study.cli import main

ROOT = Path(__file__).resolve().parents[1]
# The fast preset shrunk to about 1,000 dSprites images to encode.
TINY = {"beta_vae_num_train": 20, "beta_vae_num_eval": 10, "beta_vae_batch_size": 8,
        "factor_vae_num_train": 20, "factor_vae_num_eval": 10, "factor_vae_batch_size": 8,
        "factor_vae_num_variance_estimate": 200, "mig_num_train": 60}
TINY_ARGS = ["--preset", "fast", "--device", "cpu", "--precision", "fp32",
             *[part for name, value in TINY.items() for part in ("--set", f"{name}={value}")]]
MY_MODEL = """\
from disentangle.models import load_model
from disentangle.representation import representation_function

_means = representation_function(load_model({path!r}), device="cpu", precision="fp32")


def encode(images):
    return _means(images)
"""


class FactorImages(GroundTruthDataset):
    """360 pictures of 4 factors (3, 4, 5 and 6 classes): pixel (0, k) of an image holds factor
    k's class / (classes - 1), every other pixel is 0. Small enough to encode whole."""

    name = "factor_images"
    factor_names = ("a", "b", "c", "d")
    factors_num_values = (3, 4, 5, 6)
    observation_shape = (1, 64, 64)

    def images(self, indices):
        factors = self.index_to_factors(np.asarray(indices))
        images = np.zeros((len(factors), 1, 64, 64), np.float32)
        images[:, 0, 0, :4] = factors / (np.asarray(self.factors_num_values) - 1)
        return images


def factor_oracle(images):
    """The perfect code: the factor classes, read back from the picture."""
    return np.asarray(images)[:, 0, 0, :4] * (np.asarray(FactorImages.factors_num_values) - 1)


NOISE = np.random.RandomState(1).normal(size=(360, 4))


def noise_code(images):
    """Gaussian noise, one fixed draw per image, unrelated to its factors."""
    factors = np.rint(factor_oracle(images)).astype(np.int64)
    return NOISE[FactorImages().factors_to_index(factors)]


def wrong_shape(images):
    return np.zeros(len(images))


def one_row_short(images):
    return np.zeros((len(images) - 1, 3))


def nan_codes(images):
    return np.full((len(images), 3), np.nan)


def wants_pixels_0_255(images):
    if images.max() <= 1:
        raise ValueError("this model expects pixel values in [0, 255]")
    return np.zeros((len(images), 3))


class ThreeChannels(torch.nn.Module):
    """An encoder of colour images."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 2, 4, stride=4)

    def forward(self, images):
        return self.conv(images).flatten(1)


class MeanAndLogVar(torch.nn.Module):
    def forward(self, images):
        flat = images.flatten(1)[:, :2]
        return flat, flat


class Means(torch.nn.Module):
    """A checkpoint's encoder means computed as the project computes them (channels-last): a
    plain export gives the same codes to within 1e-8, this one bit for bit."""

    def __init__(self, model):
        super().__init__()
        self.model = model.to(memory_format=torch.channels_last)

    def forward(self, images):
        return self.model.encode(images.contiguous(memory_format=torch.channels_last))[0]


def script(module, path):
    with warnings.catch_warnings():   # TorchScript is deprecated in recent torch
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(module.eval()), str(path))
    return path


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A checkpoint of this project: an untrained network whose encoder weights are scaled up
    (x3 per layer) so its codes spread (std ~0.5) as a trained model's do."""
    from disentangle.models import build_model, make_checkpoint, write_checkpoint

    torch.manual_seed(0)
    model = build_model("standard", latent_dim=4, hidden_dim=32)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.startswith("encoder"):
                parameter *= 3
    info = {"architecture": "standard", "build": model.build_options(), "model": "vae"}
    return write_checkpoint(make_checkpoint(info, model.state_dict()),
                            tmp_path_factory.mktemp("checkpoint") / "model.pt")


@pytest.fixture
def factor_images():
    """``--dataset factor_images`` names ``FactorImages`` for the command line."""
    DATASETS.register("factor_images", f"{__name__}:FactorImages")
    yield
    DATASETS.unregister("factor_images")


def readme_commands() -> list[list[str]]:
    """The README's example commands: the bash block after ``<!-- score-any-model -->``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- score-any-model -->\s*```bash\n(.*?)```", text, re.S)
    assert block, "README.md lost its score-any-model example"
    return [shlex.split(line, comments=True) for line in block.group(1).splitlines()
            if line.strip()]


def test_the_readme_routes_score_a_checkpoint_as_evaluate_does(checkpoint, tmp_path,
                                                               monkeypatch, capsys):
    from disentangle.data import get_dataset
    from disentangle.models import load_model
    from disentangle.representation import representation_function

    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "my_model", raising=False)
    assert main(["evaluate", str(checkpoint), "--out", "checkpoint.json", *TINY_ARGS]) == 0
    (expected,) = json.loads(Path("checkpoint.json").read_text())
    means = script(Means(load_model(checkpoint)), "encoder.pt")
    images = get_dataset("dsprites").images
    with torch.inference_mode():
        exported = load_model_file(Path(means), "cpu")(torch.from_numpy(images(np.arange(64))))
    assert np.array_equal(exported.numpy(), representation_function(
        load_model(checkpoint), "cpu", "fp32")(images(np.arange(64))))   # bit for bit
    Path("my_model.py").write_text(MY_MODEL.format(path=str(checkpoint)))
    commands = readme_commands()
    assert [command[:3] for command in commands] == [["vae-study", "evaluate", "--encoder"]] * 2 + [
        ["vae-study", "evaluate", "--needed-indices"]]
    reports = []
    for command in commands[:2]:
        assert main(command[1:] + TINY_ARGS) == 0
        reports.append(json.loads(Path("evaluation.json").read_text()))
    assert main(commands[2][1:] + TINY_ARGS) == 0
    indices = np.load("needed.npy")
    monkeypatch.syspath_prepend(str(tmp_path))
    from my_model import encode
    codes = np.concatenate([encode(images(indices[start:start + 4096]))
                            for start in range(0, len(indices), 4096)])
    np.savez("codes.npz", indices=indices, codes=codes)
    assert main(["evaluate", "--codes", "codes.npz", *TINY_ARGS]) == 0
    reports.append(json.loads(Path("evaluation.json").read_text()))

    keys = result_columns(["beta_vae", "factor_vae", "mig"])
    assert expected["factor_vae_active_dims"] == 4   # every dimension varies, and
    assert expected["factor_vae_score"] > 0 and expected["mig_score"] > 0   # carries something
    for report in reports:
        assert {key: report["scores"][key] for key in keys} == {key: expected[key] for key in keys}
        assert report["scores"]["metric_images_encoded"] == len(indices)
    assert [report["encoder"]["route"] for report in reports] == ["model file", "callable",
                                                                 "codes table"]
    # what a reader of the report needs to cite it
    report = reports[0]
    assert report["disentanglement_lib"]["beta_vae_sklearn"]["eval_accuracy"] == expected[
        "beta_vae_score"]
    assert report["disentanglement_lib"]["factor_vae_score"]["num_active_dims"] == 4
    assert report["disentanglement_lib"]["mig"]["discrete_mig"] == expected["mig_score"]
    assert report["preset"]["name"] == "fast" and not report["preset"]["disentanglement_lib"]
    assert report["settings"]["beta_vae"] == {"batch_size": 8, "num_train": 20, "num_eval": 10}
    assert report["seed"] == 0 and report["seconds"] > 0 and report["vae_study_version"]
    assert report["dataset"]["name"] == "dsprites" and "rendered" in report["dataset"]["images"]
    assert report["encoder"]["dims"] == 4 and report["encoder"]["precision"] == "fp32"
    assert reports[2]["dataset"]["images"] == "encoded elsewhere (the codes table)"
    output = capsys.readouterr().out
    assert "beta_vae_sklearn.eval_accuracy" in output and f"{len(indices):,} images" in output


def test_the_factor_oracle_scores_one_from_the_command_line(factor_images, tmp_path,
                                                             monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", "--encoder", f"{__name__}:factor_oracle", "--dataset",
                 "factor_images", "--preset", "fast", "--out", "oracle.csv"]) == 0
    rows = {(row["function"], row["key"]): float(row["value"])
            for row in csv.DictReader(open("oracle.csv"))}
    assert rows[("beta_vae_sklearn", "eval_accuracy")] == 1.0
    assert rows[("factor_vae_score", "eval_accuracy")] == 1.0
    assert rows[("factor_vae_score", "num_active_dims")] == 4
    assert rows[("mig", "discrete_mig")] > 0.95   # 1 but for the plug-in MI of unrelated dims
    assert "callable, 4 dimensions" in capsys.readouterr().out


def test_noise_scores_chance_and_a_table_of_its_codes_scores_the_same():
    settings = {"beta_vae_num_train": 500, "beta_vae_num_eval": 500,
                "factor_vae_num_train": 500, "factor_vae_num_eval": 500}
    data = FactorImages()
    record = score_encoder(noise_code, dataset=data, preset="fast", **settings)
    scores = record["disentanglement_lib"]
    assert scores["beta_vae_sklearn"]["eval_accuracy"] == pytest.approx(1 / 4, abs=0.07)
    assert scores["factor_vae_score"]["eval_accuracy"] == pytest.approx(1 / 4, abs=0.07)
    assert scores["mig"]["discrete_mig"] < 0.05
    json.dumps(record)   # the report is plain JSON
    indices = needed_indices(data, "fast", **settings)
    table = score_encoder(codes=(indices, noise_code(data.images(indices))), dataset=data,
                          preset="fast", **settings)
    assert table["disentanglement_lib"] == scores


def test_a_constant_code_gets_the_scores_the_metrics_define():
    settings = {"beta_vae_num_train": 50, "beta_vae_num_eval": 50, "factor_vae_num_train": 50,
                "factor_vae_num_eval": 50, "factor_vae_num_variance_estimate": 200,
                "dci_classifier": "hist_gbt"}
    settings.update({f"{metric}_{size}": 100 for metric in ("mig", "dci", "sap", "modularity")
                     for size in ("num_train", "num_test") if f"{metric}_{size}" != "mig_num_test"})
    record = score_encoder(lambda images: np.full((len(images), 3), 0.7), dataset=FactorImages(),
                           preset="paper", **settings)
    scores, details = record["disentanglement_lib"], record["details"]
    confusion = np.asarray(details["beta_vae"]["confusion"])   # one class predicted for all
    (predicted,) = np.flatnonzero(confusion.sum(axis=0))
    assert scores["beta_vae_sklearn"]["eval_accuracy"] == confusion[predicted, predicted] / 50
    assert scores["factor_vae_score"] == {"train_accuracy": 0.0, "eval_accuracy": 0.0,
                                          "num_active_dims": 0}
    assert any("collapsed" in note for note in record["warnings"])
    assert scores["mig"]["discrete_mig"] == 0.0 and scores["sap_score"]["SAP_score"] == 0.0
    assert scores["dci"]["disentanglement"] == pytest.approx(0, abs=1e-12)
    assert scores["dci"]["completeness"] == pytest.approx(0, abs=1e-12)
    assert scores["modularity_explicitness"]["modularity_score"] == 0.0
    assert scores["modularity_explicitness"]["explicitness_score_test"] == 0.5
    assert not record["preset"]["disentanglement_lib"]   # the sizes were overridden


def test_the_paper_preset_says_it_is_disentanglement_libs():
    record = score_encoder(factor_oracle, dataset=FactorImages(), metrics=["mig"])
    assert record["preset"]["disentanglement_lib"]
    assert record["settings"] == {"mig": {"num_train": 10_000, "batch_size": 16, "num_bins": 20}}
    assert "disentanglement_lib's settings" in format_report(record)
    changed = score_encoder(factor_oracle, dataset=FactorImages(), metrics=["mig"],
                            mig_num_bins=10)
    assert not changed["preset"]["disentanglement_lib"]
    assert "NOT disentanglement_lib's" in changed["preset"]["statement"]


def test_a_torch_export_program_scores_as_its_module(tmp_path):
    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64 * 64, 3))
    batch = torch.export.Dim("batch")
    program = torch.export.export(module, (torch.rand(2, 1, 64, 64),),
                                  dynamic_shapes=({0: batch},))
    torch.export.save(program, tmp_path / "encoder.pt2")
    settings = {"metrics": ["mig"], "preset": "fast", "precision": "fp32", "device": "cpu",
                "dataset": FactorImages()}
    from_file = score_encoder(str(tmp_path / "encoder.pt2"), **settings)
    assert from_file["encoder"]["route"] == "model file"
    assert from_file["scores"] == {**score_encoder(module, **settings)["scores"],
                                   "seconds": from_file["scores"]["seconds"]}


@pytest.fixture
def bad_files(tmp_path):
    """Encoders and tables that must be refused, in ``tmp_path``."""
    script(ThreeChannels(), tmp_path / "three_channels.pt")
    script(MeanAndLogVar(), tmp_path / "mean_and_log_var.pt")
    torch.save(ThreeChannels().state_dict(), tmp_path / "state_dict.pt")
    (tmp_path / "notes.pt").write_text("not a model")
    indices = np.arange(10)
    np.savez(tmp_path / "missing_rows.npz", indices=indices, codes=np.zeros((10, 3)))
    np.savez(tmp_path / "nan.npz", indices=np.arange(360), codes=np.full((360, 3), np.nan))
    np.savez(tmp_path / "wrong_keys.npz", index=indices, code=np.zeros((10, 3)))
    np.savez(tmp_path / "twice.npz", indices=np.zeros(2, int), codes=np.zeros((2, 3)))
    (tmp_path / "text.npz").write_text("not a table")
    return sorted(path.name for path in tmp_path.iterdir())


@pytest.mark.parametrize("arguments, message", [
    (["--encoder", f"{__name__}:wrong_shape"], "one row per observation"),
    (["--encoder", f"{__name__}:one_row_short"], "one row per observation"),
    (["--encoder", f"{__name__}:nan_codes"], "NaN"),
    (["--encoder", f"{__name__}:wants_pixels_0_255"], "expects pixel values in [0, 255]"),
    (["--encoder", "three_channels.pt"], "to have 3 channels, but got 1"),
    (["--encoder", "mean_and_log_var.pt"], "not a tensor"),
    (["--encoder", "state_dict.pt"], "not a TorchScript file"),
    (["--encoder", "notes.pt"], "not a TorchScript file"),
    (["--encoder", "absent.pt"], "neither a file nor an import path"),
    (["--encoder", "no_such_package.model:encode"], "cannot import 'no_such_package.model'"),
    (["--encoder", f"{__name__}:no_such_function"], "has no 'no_such_function'"),
    (["--encoder", f"{__name__}:NOISE"], "not callable"),
    (["--codes", "missing_rows.npz"], "has no codes for"),
    (["--codes", "nan.npz"], "NaN"),
    (["--codes", "wrong_keys.npz"], "not 'indices' and 'codes'"),
    (["--codes", "twice.npz"], "twice"),
    (["--codes", "text.npz"], "not a readable .npz"),
    (["--encoder", f"{__name__}:factor_oracle", "--metrics", "tc"], "needs a posterior"),
    (["--encoder", f"{__name__}:factor_oracle", "--dsprites-npz", "x.npz"], "serves the"),
    (["--encoder", f"{__name__}:factor_oracle", "model.pt"], "not both"),
    (["--needed-indices", "needed.txt"], "name a .npy file"),
    ([], "nothing to score"),
])
def test_bad_input_is_one_line_and_exit_code_2(arguments, message, bad_files, factor_images,
                                               tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", *arguments, "--dataset", "factor_images", *TINY_ARGS]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("vae-study: error:") and "\n" not in error
    assert message in error
    assert sorted(path.name for path in tmp_path.iterdir()) == bad_files   # nothing written


@pytest.mark.parametrize("shape, value, message", [
    ((NUM_IMAGES, 64, 64, 3), 0, "expected uint8 (737280, 64, 64)"),   # an RGB copy
    ((NUM_IMAGES, 64, 64), 255, "values other than 0 and 1"),           # pixels in 0..255
])
def test_a_wrong_dsprites_file_is_one_line_and_exit_code_2(shape, value, message, tmp_path,
                                                           capsys):
    import zipfile

    from disentangle.data.dsprites import latents_classes

    path = tmp_path / "dsprites.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("imgs.npy", "w", force_zip64=True) as stream:
            np.lib.format.write_array_header_1_0(
                stream, {"descr": "|u1", "fortran_order": False, "shape": shape})
            first = np.zeros(16384 * 64 * 64, np.uint8)
            first[0] = value
            stream.write(first.tobytes())
        with archive.open("latents_classes.npy", "w", force_zip64=True) as stream:
            np.lib.format.write_array(stream, latents_classes())
    assert main(["evaluate", "--encoder", f"{__name__}:factor_oracle", "--dsprites-npz",
                 str(path), "--out", str(tmp_path / "out.json"), *TINY_ARGS]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error and not (tmp_path / "out.json").exists()
