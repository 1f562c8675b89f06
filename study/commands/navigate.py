"""``vae-study navigate``: the face navigation study (InterfaceGAN-style edits) over models."""

from __future__ import annotations

import argparse
from pathlib import Path

from disentangle.errors import UserError
from disentangle.navigation.settings import DEFAULT_ATTRIBUTES, DEFAULT_STRENGTHS
from study.navigation.settings import Settings

HELP = "edit face attributes along boundaries in each model's latent space; compare settings"

DESCRIPTION = """\
Which latent space edits faces most cleanly? For each model (VAE, beta-VAE, FactorVAE, ...)
this fits a linear boundary per attribute in its latent space (InterfaceGAN: a linear SVM on
the encodings of the most confidently labelled faces), moves other faces' codes along it
towards the other side of the attribute, decodes them and asks an attribute classifier what
changed: the target attribute (it should) and every other one (it should not). Models are
compared at the strength where the target changes by the same amount (--target-change), by
their side effects there, with bootstrap intervals over each setting's seeds and faces; a
setting is called cleanest only when its interval separates from every other's, only for
attributes the classifier recognises clearly better than chance on held-out images, and only
between settings with --min-seeds seeds.

--sweep DIR studies every finished model of a sweep (`vae-study sweep --preset faces`; each
seed, since the verdicts need the spread over seeds) on the data it trained on, and appends
its section to the sweep's analysis report (DIR/analysis/report.md: run `vae-study analyze
DIR` first). --models studies checkpoints; --out then gets a report of its own, or the
section appended to the report.md found there.

The classifier is trained on first use (cached under <cache-dir>/classifiers/) and checked on
held-out images; the report states the counts actually used.

Without labelled images (--dataset celeba with no CelebA folder, e.g. for the public
disentangling-vae CelebA models) it writes decoded samples, latent traversals and, with
--reference, reconstructions of a reference grid instead.

examples:
  vae-study navigate --sweep results/faces
  vae-study navigate --models runs/vae.pt runs/beta_vae.pt runs/factor_vae.pt --out nav
  vae-study navigate --models celeba-vae.pt --dataset celeba --root ~/data/celeba
  vae-study navigate --models ../shared/pretrained/disentangling-vae/*_celeba \\
      --dataset celeba --reference ../shared/reference/celeba_samples_10x10.png"""


def register(commands) -> None:
    parser = commands.add_parser(
        "navigate", help=HELP, description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = Settings()
    add_source_options(parser)
    add_edit_options(parser, defaults)
    add_classifier_options(parser, defaults)
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the rendered faces, SVM splits, samples and bootstrap "
                             "(default 0)")
    parser.add_argument(
        "--workers", type=int, default=None,
        help="threads rendering synthetic faces (default: one per CPU core)")
    parser.add_argument(
        "--out", type=Path, default=None, metavar="DIR",
        help="output folder (default: DIR/analysis for --sweep, else ./navigation-study); a "
             "report.md there gets the section")
    parser.set_defaults(run=run)


def add_source_options(parser) -> None:
    """Which models, which data."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--sweep", type=Path, metavar="DIR",
        help="a sweep folder (as `vae-study sweep` printed it): every finished model, on the "
             "sweep's data; the section goes into DIR/analysis/report.md")
    source.add_argument(
        "--models", nargs="+", metavar="CKPT",
        help="model checkpoints to compare: .pt files written by training or `vae-study "
             "pretrained import`, or disentangling-vae result folders; each must take 3x64x64 "
             "images; seeds of one kind and hyperparameter form one setting")
    parser.add_argument(
        "--dataset", choices=("faces", "celeba"), default=None,
        help="faces (default for --models): synthetic faces rendered now, labelled by their "
             "generator, attributes correlated as in CelebA; celeba: your CelebA folder "
             "(--root) with its labels. Default for --sweep: the sweep's data")
    parser.add_argument(
        "--root", default=None, metavar="DIR",
        help="the CelebA folder for --dataset celeba (default: the sweep's, else "
             "$CELEBA_ROOT); the synthetic tree of `vae-study data faces` works too")
    parser.add_argument(
        "--preprocessing", choices=("auto", "crop148", "resize"), default="auto",
        help="CelebA images as the models saw them: auto (default) takes resize when every "
             "model says it was trained on whole resized images (the public checkpoints), "
             "else crop148")
    parser.add_argument(
        "--reference", default=None, metavar="PNG",
        help="a 10x10 grid of 64x64 images with 2-pixel borders (e.g. ../shared/reference/"
             "celeba_samples_10x10.png): reconstructed and traversed when there are no labels")


def add_edit_options(parser, defaults) -> None:
    """What is edited, how, and how it is judged."""
    parser.add_argument(
        "--attributes", nargs="+", default=None, metavar="NAME",
        help=f"attributes to edit, CelebA names (default: those of "
             f"{' '.join(DEFAULT_ATTRIBUTES)} that the data has and the classifier "
             f"recognises); every attribute the classifier recognises counts for side effects")
    parser.add_argument(
        "--strengths", nargs="+", type=float, default=list(DEFAULT_STRENGTHS), metavar="S",
        help="edit strengths tried, in latent units (the prior's standard deviation), each "
             "face towards the other side; 0 and positive values (default "
             f"{' '.join(f'{s:g}' for s in DEFAULT_STRENGTHS)})")
    parser.add_argument(
        "--target-change", type=float, default=defaults.target_change, metavar="D",
        help=f"the change of the target's probability at which models are compared (default "
             f"{defaults.target_change:g})")
    parser.add_argument(
        "--min-seeds", type=int, default=defaults.min_seeds,
        help=f"seeds a setting needs to be compared (default {defaults.min_seeds})")
    parser.add_argument(
        "--num-labelled", type=int, default=defaults.num_labelled,
        help=f"labelled images encoded per model to fit the boundaries, at most (default "
             f"{defaults.num_labelled:,}; with --fraction 0.02, 200 per side train the SVM)")
    parser.add_argument(
        "--fraction", type=float, default=defaults.fraction,
        help="share of the most confident images on each side that train the SVM "
             "(InterfaceGAN's default 0.02)")
    parser.add_argument(
        "--score", choices=("probability", "labels"), default=defaults.score,
        help="what ranks images by confidence: the classifier's probability (default, as "
             "InterfaceGAN) or the dataset's 0/1 labels (a random choice within each class)")
    parser.add_argument(
        "--num-faces", type=int, default=defaults.num_faces,
        help=f"other faces edited per attribute, at most (default {defaults.num_faces})")


def add_classifier_options(parser, defaults) -> None:
    parser.add_argument(
        "--classifier", default=None, metavar="CKPT",
        help="an attribute classifier file of this dataset (default: the cached one, trained "
             "on first use); one trained on other data is refused")
    parser.add_argument(
        "--classifier-steps", type=int, default=defaults.classifier_steps,
        help=f"training steps of a new classifier (default {defaults.classifier_steps}, batch "
             f"64)")
    parser.add_argument(
        "--classifier-images", type=int, default=defaults.classifier_images,
        help=f"labelled images a new classifier trains on, at most (default "
             f"{defaults.classifier_images:,}; a tenth as many, at least 500, are held out)")


def run(args) -> int:
    # imported here, not at the top: `vae-study --help` stays fast
    from analysis.navigation.report import write_navigation
    from study.navigation.models import from_paths, from_sweep
    from study.navigation.workflow import run_study

    dataset, root, left_out = args.dataset or "faces", args.root, []
    out = args.out or Path("navigation-study")
    if args.sweep is not None:
        found = from_sweep(args.sweep)
        out = args.out or args.sweep.expanduser().resolve() / "analysis"
        if args.out is None and not (out / "report.md").is_file():
            raise UserError(f"no analysis report at {out / 'report.md'}: run `vae-study analyze "
                            f"{args.sweep}` first, or give --out FOLDER for a report of its own")
        models, left_out = found.models, found.left_out
        dataset, root = args.dataset or found.dataset, args.root or found.root
    else:
        models = from_paths(args.models)
    settings = Settings(
        dataset=dataset, root=root, preprocessing=args.preprocessing,
        attributes=tuple(args.attributes) if args.attributes else None,
        strengths=tuple(args.strengths), target_change=args.target_change,
        num_labelled=args.num_labelled, num_faces=args.num_faces, fraction=args.fraction,
        score=args.score, classifier=args.classifier, classifier_steps=args.classifier_steps,
        classifier_images=args.classifier_images, reference=args.reference,
        min_seeds=args.min_seeds, seed=args.seed,
        workers=args.workers, progress=True)
    result = run_study(models, settings, left_out)
    written = write_navigation(result, out)
    for line in written["verdicts"]:
        print(f"verdict: {line.replace('**', '')}")
    if result.classifier is not None and result.classifier.path:
        print(f"classifier: {result.classifier.path}")
    for note in result.notes:
        print(f"note: {note}")
    print(f"figures and tables: {written['folder']}")
    print(f"report: {written['report']} (section also in {written['navigation']})")
    return 0
