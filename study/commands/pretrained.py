"""``vae-study pretrained``: import or fetch the public disentangling-vae checkpoints."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "import or download the public pre-trained disentangling-vae models"

DESCRIPTION = """\
Use the public models of YannDubs/disentangling-vae (Burgess et al. 2018 network, 10 latents;
VAE, beta-VAE, FactorVAE and beta-TCVAE on dSprites and CelebA) as checkpoints of this project,
loadable with disentangle.models.load_model and scorable by the metrics.

  import PATH   convert a result folder (model.pt + specs.json) into a checkpoint
  fetch NAME    download one from GitHub into the cache, verify its SHA-256, import it"""

NAMES_HELP = ("VAE_dsprites, betaH_dsprites, factor_dsprites, btcvae_dsprites and the same four "
              "with _celeba")


def register(commands) -> None:
    parser = commands.add_parser(
        "pretrained", help=HELP, description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", title="actions")

    importer = actions.add_parser(
        "import", help="convert a disentangling-vae result folder into a checkpoint",
        description="Read model.pt (weights, loaded with weights_only=True) and specs.json "
                    "(loss, hyperparameters, image size) and write one checkpoint file of this "
                    "project recording architecture, latent layout, model kind, "
                    "hyperparameters and preprocessing.")
    importer.add_argument(
        "path", type=Path,
        help="the result folder holding model.pt and specs.json, e.g. "
             "disentangling-vae/results/betaH_dsprites")
    importer.add_argument(
        "--out", type=Path, default=None,
        help="checkpoint file to write (default: ./NAME.pt, NAME being the folder's name, "
             "e.g. ./betaH_dsprites.pt)")
    importer.set_defaults(run=run_import)

    fetcher = actions.add_parser(
        "fetch", help="download a public checkpoint, verify it and import it",
        description="Download model.pt and specs.json of NAME from the public repository into "
                    "$VAE_STUDY_CACHE/pretrained/NAME (default cache ~/.cache/vae-study), check "
                    "model.pt against its pinned SHA-256 and write checkpoint.pt next to them. "
                    "Offline, copy the two files into that folder by hand and run it again.")
    fetcher.add_argument("name", help=f"which model: {NAMES_HELP}")
    fetcher.add_argument(
        "--base-url", default=None,
        help="where the result folders live (default: the GitHub repository's results/; a "
             "file:// URL of a local copy works too)")
    fetcher.set_defaults(run=run_fetch)
    parser.set_defaults(run=lambda args: parser.print_help() or 2)


def run_import(args) -> int:
    # imported here, not at the top: `vae-study --help` stays fast
    from disentangle.models import load_model
    from disentangle.models.pretrained import import_to_file

    path = import_to_file(args.path, args.out)
    print(f"wrote {path}")
    _describe(load_model(path))
    return 0


def run_fetch(args) -> int:
    # imported here, not at the top: `vae-study --help` stays fast
    from disentangle.models import load_model
    from disentangle.models.pretrained import DEFAULT_BASE_URL, fetch_pretrained, import_to_file

    folder = fetch_pretrained(args.name, base_url=args.base_url or DEFAULT_BASE_URL)
    path = import_to_file(folder, folder / "checkpoint.pt")
    print(f"verified {folder / 'model.pt'}\nwrote {path}")
    _describe(load_model(path))
    return 0


def _describe(model) -> None:
    info = model.info
    settings = ", ".join(f"{k}={v}" for k, v in info["hyperparameters"].items())
    print(f"{info['model']} ({info['architecture']}, {model.latent_dim} latents) on "
          f"{info['data']['name']}: {settings}")
