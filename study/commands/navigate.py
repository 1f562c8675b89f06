"""``vae-study navigate``: the face navigation study (InterfaceGAN-style edits) over models."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "edit face attributes along boundaries in each model's latent space; compare models"

DESCRIPTION = """\
Which latent space edits faces most cleanly? For each model (VAE, beta-VAE, FactorVAE, ...)
this fits a linear boundary per attribute in its latent space (InterfaceGAN: a linear SVM on
the encodings of the most confidently labelled faces), moves other faces' codes along it,
decodes them and asks an attribute classifier what changed: the target attribute (it should)
and every other one (it should not). Also edits with the other attributes held (their
boundaries projected out), and measures how aligned each boundary is with one latent axis.

Writes into --out: navigation/ (image strips, side-effect plot, cosine heatmaps, CSV tables,
boundaries.npz), navigation.md (tables and verdicts) and report.md (the same section, appended
to the report of `vae-study analyze` when --out is that report's folder).

The classifier is trained on first use for a dataset (a minute or two; cached under
<cache-dir>/classifiers/) and validated on held-out images; its accuracy is printed with
every verdict.

Without labelled images (--dataset celeba with no CelebA folder, e.g. for the public
disentangling-vae CelebA models) it writes decoded samples, latent traversals and, with
--reference, reconstructions of a reference grid instead.

examples:
  vae-study navigate --models runs/vae.pt runs/beta_vae.pt runs/factor_vae.pt --out nav
  vae-study navigate --models results/faces/*/checkpoint_*/trainer.pt --attributes Smiling Male
  vae-study navigate --models celeba-vae.pt --dataset celeba --root ~/data/celeba
  vae-study navigate --models ../shared/pretrained/disentangling-vae/*_celeba \\
      --dataset celeba --reference ../shared/reference/celeba_samples_10x10.png"""


def register(commands) -> None:
    from disentangle.navigation.settings import DEFAULT_ATTRIBUTES, DEFAULT_STEPS, Settings

    defaults = Settings()
    parser = commands.add_parser(
        "navigate", help=HELP, description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--models", nargs="+", required=True, metavar="CKPT",
        help="model checkpoints to compare: .pt files written by training or `vae-study "
             "pretrained import`, or disentangling-vae result folders; each must take 3x64x64 "
             "images")
    parser.add_argument(
        "--dataset", choices=("faces", "celeba"), default=defaults.dataset,
        help="faces (default): synthetic faces rendered now, labelled by their generator, "
             "attributes correlated as in CelebA; celeba: your CelebA folder (--root) with its "
             "labels")
    parser.add_argument(
        "--root", default=None, metavar="DIR",
        help="the CelebA folder for --dataset celeba (default $CELEBA_ROOT); the synthetic "
             "tree of `vae-study data faces` works too")
    parser.add_argument(
        "--preprocessing", choices=("auto", "crop148", "resize"), default="auto",
        help="CelebA images as the models saw them: auto (default) takes resize when every "
             "model says it was trained on whole resized images (the public checkpoints), "
             "else crop148")
    parser.add_argument(
        "--attributes", nargs="+", default=None, metavar="NAME",
        help=f"attributes to edit, CelebA names (default: those of {' '.join(DEFAULT_ATTRIBUTES)} "
             f"that the data has and the classifier recognises); every other attribute the "
             f"classifier recognises counts for side effects")
    parser.add_argument(
        "--steps", nargs="+", type=float, default=list(DEFAULT_STEPS), metavar="S",
        help="distances moved along each direction, in latent units (the prior's standard "
             "deviation); must include 0 and both signs (default -3 -2 -1 0 1 2 3)")
    parser.add_argument(
        "--classifier", default=None, metavar="CKPT",
        help="an attribute classifier file of this dataset (default: the cached one, trained "
             "on first use); one trained on other data is refused")
    parser.add_argument(
        "--classifier-steps", type=int, default=defaults.classifier_steps,
        help=f"training steps of a new classifier (default {defaults.classifier_steps}, batch "
             f"64; its held-out accuracy is in the report)")
    parser.add_argument(
        "--classifier-images", type=int, default=defaults.classifier_images,
        help=f"labelled images a new classifier trains on (default "
             f"{defaults.classifier_images:,}; a tenth as many are held out to validate it)")
    parser.add_argument(
        "--num-labelled", type=int, default=defaults.num_labelled,
        help=f"labelled images encoded per model to fit the boundaries (default "
             f"{defaults.num_labelled:,}; with --fraction 0.02, 200 per side train the SVM)")
    parser.add_argument(
        "--fraction", type=float, default=defaults.fraction,
        help="share of the most confident images on each side that train the SVM "
             "(InterfaceGAN's default 0.02); larger takes more but less clear-cut examples")
    parser.add_argument(
        "--score", choices=("probability", "labels"), default=defaults.score,
        help="what ranks images by confidence: the classifier's probability (default, as "
             "InterfaceGAN) or the dataset's 0/1 labels (a random choice within each class)")
    parser.add_argument(
        "--num-faces", type=int, default=defaults.num_faces,
        help=f"other faces edited per attribute to measure success and side effects "
             f"(default {defaults.num_faces})")
    parser.add_argument(
        "--reference", default=None, metavar="PNG",
        help="a 10x10 grid of 64x64 images with 2-pixel borders (e.g. ../shared/reference/"
             "celeba_samples_10x10.png): reconstructed and traversed when there are no labels")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the rendered faces, SVM splits and samples (default 0)")
    parser.add_argument(
        "--workers", type=int, default=None,
        help="processes rendering synthetic faces (default: one per CPU core)")
    parser.add_argument(
        "--out", type=Path, default=Path("navigation-study"), metavar="DIR",
        help="output folder (default ./navigation-study); an analysis folder of `vae-study "
             "analyze` gets the section appended to its report.md")
    parser.set_defaults(run=run)


def run(args) -> int:
    from analysis.navigation import write_navigation
    from disentangle.navigation.settings import Settings
    from disentangle.navigation.study import run_study

    settings = Settings(
        dataset=args.dataset, root=args.root, preprocessing=args.preprocessing,
        attributes=tuple(args.attributes) if args.attributes else None,
        steps=tuple(args.steps), num_labelled=args.num_labelled, num_faces=args.num_faces,
        fraction=args.fraction, score=args.score, classifier=args.classifier,
        classifier_steps=args.classifier_steps, classifier_images=args.classifier_images,
        reference=args.reference, seed=args.seed, workers=args.workers, progress=True)
    result = run_study(args.models, settings)
    written = write_navigation(result, args.out)
    if result.labelled:
        from analysis.navigation import tables

        models = tables(result)["models"]
        print(f"{'model':<24} {'success':>8} {'side-effect ratio':>18} {'held':>8}")
        for _, row in models.iterrows():
            print(f"{row['model']:<24} {row['success_rate']:8.2f} "
                  f"{row['side_effect_ratio']:18.3f} {row['conditional_side_effect_ratio']:8.3f}")
        if result.classifier.path:
            print(f"classifier: {result.classifier.path}")
    for note in result.notes:
        print(f"note: {note}")
    print(f"figures and tables: {written['folder']}")
    print(f"report: {written['report']} (section also in {written['navigation']})")
    return 0
