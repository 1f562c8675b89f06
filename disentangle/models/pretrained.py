"""The public disentangling-vae checkpoints (YannDubs/disentangling-vae, MIT licence): import a
result folder (``model.pt`` + ``specs.json``) as a checkpoint of this project, and fetch one from
its public address into the cache, verified against a pinned SHA-256.

Those models are Burgess et al. (2018) networks (``burgess`` architecture) trained with
``loss`` = VAE, betaH (beta-VAE), factor (FactorVAE) or btcvae (beta-TCVAE); their specs.json
holds the hyperparameters, which the import records in the checkpoint's ``info``.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import torch

from disentangle.data import cache_dir
from disentangle.errors import UserError
from disentangle.files import atomic_path
from disentangle.models.checkpoint import make_checkpoint, write_checkpoint
from disentangle.models.loading import build_model, load_state

DEFAULT_BASE_URL = "https://github.com/YannDubs/disentangling-vae/raw/master/results"

#: SHA-256 of each public ``model.pt`` (from the checkpoints' SHA256SUMS).
PRETRAINED_SHA256 = {
    "VAE_celeba": "a9e1e6cd8f6d26680b9252dd30168b47b7ace801dcd3b60e2cb91ffa57768b56",
    "VAE_dsprites": "d59cf8691ecf38e99784beabfd664c92543bec2232135da8dda07b7d8fb69154",
    "betaH_celeba": "39f29f54a3287219fe30e676e0bc8ba8dbf024b3e648d5be633177814bdb0ab7",
    "betaH_dsprites": "44ba28f86d772e428b592c3131fc690d8ea28f415a842673dfd9b7637bef5203",
    "btcvae_celeba": "61c1e59fc3e66c56bffefe2ce90e1da24a8969d2e0148a8a1db45544ed5d6d44",
    "btcvae_dsprites": "ea86d65dbbcfe0534d92a7b152187c8056f1841b0e5e57512937b53b5bb3ed72",
    "factor_celeba": "6baabb72ad2d43ae2872cbd73130aa11f749dd6891517d4c5c818e6fdb124a96",
    "factor_dsprites": "363af41ccc1ea4000b40659cc325db26c0839b789a9461977403298646cc9e5f",
}
PRETRAINED_NAMES = tuple(PRETRAINED_SHA256)

# specs.json "loss" -> (model kind, {our hyperparameter name: specs.json field}).
_LOSSES = {
    "VAE": ("vae", {}),
    "betaH": ("beta_vae", {"beta": "betaH_B"}),
    "factor": ("factor_vae", {"gamma": "factor_G", "discriminator_lr": "lr_disc"}),
    "btcvae": ("beta_tcvae", {"alpha": "btcvae_A", "beta": "btcvae_B", "gamma": "btcvae_G"}),
    "betaB": ("beta_vae_capacity", {"capacity_gamma": "betaB_G",
                                    "capacity_start": "betaB_initC",
                                    "capacity_end": "betaB_finC"}),
}
_COMMON = {"lr": "lr", "batch_size": "batch_size", "epochs": "epochs", "seed": "seed",
           "reconstruction": "rec_dist", "regulariser_anneal_steps": "reg_anneal"}
_PREPROCESSING = {
    "celeba": "aligned CelebA image, whole image resized to 64x64, RGB scaled to [0, 1]",
    "dsprites": "dSprites 64x64 binary images in {0, 1}",
}


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_specs(directory: Path) -> dict:
    """The folder's specs.json, checked for the fields the import needs."""
    path = directory / "specs.json"
    try:
        specs = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{directory} has no specs.json: give a disentangling-vae result folder "
                        f"(model.pt + specs.json)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path} is not valid JSON ({err}); fetch it again") from None
    missing = [k for k in ("loss", "img_size", "latent_dim", "model_type") if k not in specs]
    if missing:
        raise UserError(f"{path} lacks {', '.join(missing)}: it is not a disentangling-vae "
                        f"specs.json")
    return specs


def import_disentangling_vae(directory: str | Path) -> dict:
    """A checkpoint dictionary of this project from a disentangling-vae result folder."""
    directory = Path(directory)
    specs = read_specs(directory)
    if specs["model_type"] != "Burgess":
        raise UserError(f"{directory}: unknown architecture model_type={specs['model_type']!r};"
                        f" only the Burgess network of disentangling-vae can be imported")
    if specs["loss"] not in _LOSSES:
        raise UserError(f"{directory}: unknown loss {specs['loss']!r} in specs.json; known: "
                        f"{', '.join(_LOSSES)}")
    weights = directory / "model.pt"
    if not weights.is_file():
        raise UserError(f"{directory} has no model.pt: give a disentangling-vae result folder")
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError) as err:
        raise UserError(f"{weights} is not a torch state dict ({str(err).splitlines()[0][:100]})"
                        f"; fetch it again") from None
    if not isinstance(state, dict):
        raise UserError(f"{weights} is not a state dict of weights")
    channels, height, width = (int(v) for v in specs["img_size"])
    build = {"architecture": "burgess", "num_channels": channels,
             "latent_dim": int(specs["latent_dim"]), "hidden_dim": 256, "image_size": height}
    model = build_model(**build)
    load_state(model, state, str(weights))
    kind, fields = _LOSSES[specs["loss"]]
    hyper = {name: specs[field] for name, field in {**_COMMON, **fields}.items()
             if field in specs}
    dataset = specs.get("dataset", "unknown")
    info = {"architecture": "burgess", "build": build, "model": kind,
            "hyperparameters": hyper,
            "data": {"name": dataset, "observation_shape": [channels, height, width],
                     "preprocessing": _PREPROCESSING.get(dataset, "see the source project")},
            "latent_layout": "mean and log-variance interleaved in mu_logvar_gen",
            "source": {"project": "YannDubs/disentangling-vae", "licence": "MIT",
                       "name": specs.get("name", directory.name),
                       "model_sha256": sha256_of(weights)}}
    return make_checkpoint(info, model.state_dict())


def import_to_file(directory: str | Path, out: str | Path | None = None) -> Path:
    """Import ``directory`` and write the checkpoint to ``out`` (default: ``<folder name>.pt``
    in the current directory, never inside the source folder); returns the path written."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"{directory} is not a folder: give a disentangling-vae result folder "
                        f"holding model.pt and specs.json")
    checkpoint = import_disentangling_vae(directory)
    target = Path(out) if out else Path(f"{directory.resolve().name}.pt")
    return write_checkpoint(checkpoint, target)


def pretrained_dir(name: str) -> Path:
    """Where ``fetch_pretrained`` keeps ``name``: <cache>/pretrained/<name>."""
    return cache_dir() / "pretrained" / name


def _download(url: str, destination: Path, opener) -> None:
    with atomic_path(destination) as temporary, open(temporary, "wb") as out, \
            opener(url, timeout=60) as response:
        for block in iter(lambda: response.read(1 << 20), b""):
            out.write(block)


def fetch_pretrained(name: str, base_url: str = DEFAULT_BASE_URL,
                     directory: str | Path | None = None,
                     opener=urllib.request.urlopen) -> Path:
    """Download ``name``'s model.pt and specs.json (from ``<base_url>/<name>/``) into
    ``directory`` (default ``pretrained_dir(name)``), verify model.pt's SHA-256, and return the
    folder. Files already there and intact are not downloaded again, so copying them there by
    hand works offline."""
    if name not in PRETRAINED_SHA256:
        raise UserError(f"unknown pretrained model {name!r}: choose one of "
                        f"{', '.join(PRETRAINED_NAMES)}")
    folder = Path(directory) if directory else pretrained_dir(name)
    folder.mkdir(parents=True, exist_ok=True)
    expected = PRETRAINED_SHA256[name]
    weights = folder / "model.pt"
    for file_name in ("model.pt", "specs.json"):
        target = folder / file_name
        if target.is_file() and (file_name != "model.pt" or sha256_of(target) == expected):
            continue
        url = f"{base_url.rstrip('/')}/{name}/{file_name}"
        try:
            _download(url, target, opener)
        except (urllib.error.URLError, OSError, TimeoutError) as err:
            reason = getattr(err, "reason", err)
            raise UserError(f"could not download {url} ({reason}); without network, copy "
                            f"model.pt and specs.json from {base_url}/{name}/ into {folder} "
                            f"by hand and run this again") from None
    actual = sha256_of(weights)
    if actual != expected:
        weights.unlink()
        raise UserError(f"{name}/model.pt has SHA-256 {actual}, expected {expected}: the "
                        f"download is corrupt or the file changed upstream; it was deleted, "
                        f"run this again")
    read_specs(folder)
    return folder
