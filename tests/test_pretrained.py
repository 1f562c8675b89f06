"""Importing and fetching the public disentangling-vae checkpoints, checked on real images:
the imported models must reconstruct the reference samples about as well as their training
logs say they reconstructed their training data."""

import json
import shutil
import urllib.error
from pathlib import Path

import pytest
import torch

from disentangle.data.images import load_image_grid
from disentangle.errors import UserError
from disentangle.models import load_model
from disentangle.models.pretrained import (
    PRETRAINED_NAMES,
    fetch_pretrained,
    import_disentangling_vae,
    import_to_file,
)
from disentangle.objectives import reconstruction_per_image, sample_latent
from study.cli import main

torch.set_num_threads(2)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PRETRAINED = SHARED / "pretrained" / "disentangling-vae"
REFERENCE = SHARED / "reference"

needs_shared = pytest.mark.skipif(not (PRETRAINED / "VAE_dsprites" / "model.pt").is_file(),
                                  reason="../shared/pretrained is not present")


def final_logged_reconstruction(folder: Path) -> float:
    lines = [line for line in (folder / "train_losses.log").read_text().splitlines()
             if ",recon_loss," in line]
    return float(lines[-1].rsplit(",", 1)[1])


def reference_images(dataset: str, channels: int) -> torch.Tensor:
    grid = load_image_grid(REFERENCE / f"{dataset}_samples_10x10.png")
    return torch.from_numpy(grid[:, :channels]).contiguous()  # dSprites PNG is grey as RGB


@needs_shared
@pytest.mark.parametrize("name", PRETRAINED_NAMES)
def test_imported_models_reconstruct_the_reference_samples_as_logged(name):
    model = load_model(PRETRAINED / name)
    dataset = model.info["data"]["name"]
    images = reference_images(dataset, model.num_channels)
    assert images.shape == (100, model.num_channels, 64, 64)
    with torch.no_grad():
        mean, log_var = model.encode(images)
        # Training logged the loss of a sampled z, so sample as training did.
        z = sample_latent(mean, log_var, torch.Generator().manual_seed(0))
        sampled = reconstruction_per_image(model.decode_logits(z), images).mean().item()
        at_mean = reconstruction_per_image(model.decode_logits(mean), images).mean().item()
    logged = final_logged_reconstruction(PRETRAINED / name)
    if dataset == "celeba":
        assert sampled == pytest.approx(logged, rel=0.03)
    else:
        assert 0.5 < sampled / logged < 2.0
    assert at_mean <= sampled * 1.01  # the posterior mean reconstructs at least as well


@needs_shared
def test_import_records_kind_hyperparameters_and_preprocessing(tmp_path):
    expected = {"VAE_dsprites": ("vae", {}), "betaH_dsprites": ("beta_vae", {"beta": 4}),
                "betaH_celeba": ("beta_vae", {"beta": 10}),
                "factor_dsprites": ("factor_vae", {"gamma": 6.4}),
                "btcvae_celeba": ("beta_tcvae", {"alpha": 1, "beta": 6.4, "gamma": 1})}
    for name, (kind, hyper) in expected.items():
        info = import_disentangling_vae(PRETRAINED / name)["info"]
        assert info["model"] == kind and info["architecture"] == "burgess"
        assert hyper.items() <= info["hyperparameters"].items()
        assert info["hyperparameters"]["reconstruction"] == "bernoulli"
    info = import_disentangling_vae(PRETRAINED / "betaH_celeba")["info"]
    assert "resized to 64x64" in info["data"]["preprocessing"]
    assert info["build"]["num_channels"] == 3
    path = import_to_file(PRETRAINED / "factor_celeba", tmp_path / "f.pt")
    assert load_model(path).info["source"]["name"] == "factor_celeba"


@needs_shared
def test_cli_import_and_fetch_from_local_files(tmp_path, monkeypatch, capsys):
    out = tmp_path / "beta.pt"
    assert main(["pretrained", "import", str(PRETRAINED / "betaH_dsprites"), "--out",
                 str(out)]) == 0
    assert load_model(out).info["model"] == "beta_vae"
    monkeypatch.setenv("VAE_STUDY_CACHE", str(tmp_path / "cache"))
    assert main(["pretrained", "fetch", "VAE_dsprites", "--base-url",
                 PRETRAINED.as_uri()]) == 0
    fetched = tmp_path / "cache" / "pretrained" / "VAE_dsprites"
    assert load_model(fetched / "checkpoint.pt").info["model"] == "vae"
    assert main(["pretrained", "fetch", "nonsense"]) == 2
    assert "unknown pretrained model" in capsys.readouterr().err


@needs_shared
def test_fetch_verifies_and_reuses_and_explains_offline_use(tmp_path):
    folder = fetch_pretrained("factor_dsprites", PRETRAINED.as_uri(), tmp_path / "f")
    assert sorted(p.name for p in folder.iterdir()) == ["model.pt", "specs.json"]

    def offline(url, timeout):
        raise urllib.error.URLError("no network")

    # Intact files already there: nothing is downloaded (this is the manual, offline route).
    assert fetch_pretrained("factor_dsprites", directory=folder, opener=offline) == folder
    with pytest.raises(UserError, match=f"into {tmp_path / 'g'} by hand"):
        fetch_pretrained("factor_dsprites", directory=tmp_path / "g", opener=offline)
    # A file that does not match the pinned SHA-256 is rejected and removed.
    remote = tmp_path / "remote" / "factor_dsprites"
    remote.mkdir(parents=True)
    shutil.copy(PRETRAINED / "factor_dsprites" / "specs.json", remote)
    shutil.copy(PRETRAINED / "VAE_dsprites" / "model.pt", remote)
    with pytest.raises(UserError, match="SHA-256"):
        fetch_pretrained("factor_dsprites", remote.parent.as_uri(), tmp_path / "h")
    assert not (tmp_path / "h" / "model.pt").exists()


@needs_shared
def test_bad_folders_give_clear_errors(tmp_path):
    with pytest.raises(UserError, match="no specs.json"):
        import_disentangling_vae(tmp_path)
    folder = tmp_path / "copy"
    shutil.copytree(PRETRAINED / "VAE_dsprites", folder)
    specs = json.loads((folder / "specs.json").read_text())
    (folder / "specs.json").write_text(json.dumps({**specs, "model_type": "Higgins"}))
    with pytest.raises(UserError, match="unknown architecture"):
        import_disentangling_vae(folder)
    (folder / "specs.json").write_text(json.dumps({**specs, "latent_dim": 12}))
    with pytest.raises(UserError, match="wrong shape: decoder.lin1.weight"):
        import_disentangling_vae(folder)
    (folder / "specs.json").write_text(json.dumps(specs))
    (folder / "model.pt").write_text("not weights")
    with pytest.raises(UserError, match="not a torch state dict"):
        import_disentangling_vae(folder)
    with pytest.raises(UserError, match="not a folder"):
        import_to_file(folder / "specs.json")
