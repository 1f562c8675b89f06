"""The ``vae-study`` command line: one subcommand per module in ``study.commands``.

Each command module defines ``register(subparsers)``, which adds its parser and sets
``run=function(args) -> int``. Heavy imports (torch, Ray) happen inside the commands, so
``vae-study --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from disentangle.errors import UserError

COMMAND_MODULES = [
    "study.commands.analyze",
    "study.commands.data",
    "study.commands.evaluate",
    "study.commands.metrics",
    "study.commands.navigate",
    "study.commands.pretrained",
    "study.commands.sweep",
]

DESCRIPTION = """\
Study disentanglement in VAEs: train VAE, beta-VAE, FactorVAE, beta-TCVAE, DIP-VAE and
AnnealedVAE as Ray Tune sweeps (many models stacked per process), score every model with the
BetaVAE, FactorVAE, MIG, DCI, SAP and Modularity metrics, and turn the results into the
papers' figures and verdicts on their claims.

Run `vae-study COMMAND --help` for the options of each command."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vae-study", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except UserError as error:
        print(f"vae-study: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vae-study: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
