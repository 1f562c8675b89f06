"""Benchmark: the BetaVAE + FactorVAE evaluation, plain versus deduplicated, on dSprites.

Prints, from one run on this machine:
  * the encoder's throughput (images/s) in fp32 and under bf16 autocast, channels-last;
  * the paper-preset evaluation (both metrics, one shared cache) with the plain per-batch
    algorithm in fp32 and the deduplicated one in fp32 and bf16: seconds, images encoded,
    scores, and the plain/deduplicated time ratio;
  * the fast preset (every-epoch use) with the default precision.

The encoder is the papers' ``standard`` network, freshly initialised unless --checkpoint names
a trained one. An untrained encoder's means barely vary (std ~1e-3), so its FactorVAE metric
would prune every dimension at the paper's 0.05 and skip the votes; for an untrained encoder
the threshold is therefore set to 0 (every other paper setting unchanged) so the timing
includes all votes, as it does for a trained model.

    python benchmarks/metrics.py            # the real paper preset (the plain run takes long)
    python benchmarks/metrics.py --quick    # a tenth of the paper preset's points
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="scale the paper preset's point counts by 0.1 (same as --scale 0.1)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the paper preset's training/evaluation/variance "
                             "point counts to draw (default 1: the real paper preset)")
    parser.add_argument("--device", default="cpu", help="where to encode (default cpu)")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch CPU threads (default 2, this project's machine)")
    parser.add_argument("--checkpoint", default=None,
                        help="a trained checkpoint to encode with instead of an untrained "
                             "standard encoder (then the paper's prune threshold is kept)")
    parser.add_argument("--skip-plain", action="store_true",
                        help="skip the plain per-batch run (it takes ~4x longer)")
    return parser.parse_args()


def scaled_overrides(scale: float) -> dict:
    from disentangle.metrics import PRESETS

    overrides = {}
    for metric, settings in PRESETS["paper"].items():
        for name, value in settings.items():
            if name.startswith("num_"):
                overrides[f"{metric}_{name}"] = max(2, int(round(value * scale)))
    return overrides


def throughput(model, images: np.ndarray, precision: str, device: str) -> float:
    from disentangle.representation import representation_function

    represent = representation_function(model, device=device, precision=precision)
    represent(images[:2048])  # warm-up: primitive creation
    started = time.perf_counter()
    represent(images)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return len(images) / (time.perf_counter() - started)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    from disentangle.data import get_dataset
    from disentangle.metrics import evaluate
    from disentangle.models import build_model, load_model
    from disentangle.representation import representation_function
    from disentangle.runtime import configure_allocator

    configure_allocator()
    scale = 0.1 if args.quick else args.scale
    data = get_dataset("dsprites")
    if args.checkpoint:
        model, extra, name = load_model(args.checkpoint), {}, args.checkpoint
    else:
        torch.manual_seed(0)
        model = build_model("standard").eval()
        extra, name = {"factor_vae_prune_threshold": 0.0}, "untrained standard encoder"
    overrides = {**scaled_overrides(scale), **extra}
    print(f"model: {name}; device {args.device}, {torch.get_num_threads()} threads; "
          f"paper preset x {scale:g}; overrides {extra or 'none'}")

    images = data.images(np.random.RandomState(0).randint(0, len(data), 16_384))
    for precision in ("fp32", "bf16"):
        rate = throughput(model, images, precision, args.device)
        print(f"encode {precision:>4}: {rate:>9,.0f} images/s", flush=True)

    runs = [("plain", "fp32", False), ("dedup", "fp32", True), ("dedup", "bf16", True)]
    if args.skip_plain:
        runs = runs[1:]
    rows = []
    for label, precision, deduplicate in runs:
        represent = representation_function(model, device=args.device, precision=precision)
        result = evaluate(data, represent, np.random.RandomState(0), preset="paper",
                          deduplicate=deduplicate, **overrides)
        rows.append((f"{label} {precision}", result))
        print(f"{label} {precision}: {result['seconds']:.1f} s", flush=True)
    fast = evaluate(data, representation_function(model, device=args.device),
                    np.random.RandomState(0), preset="fast", **extra)

    print(f"\n{'evaluation':<12} {'seconds':>8} {'drawn':>10} {'encoded':>9} "
          f"{'BetaVAE':>8} {'FactorVAE':>9}")
    for label, result in rows + [("fast auto", fast)]:
        print(f"{label:<12} {result['seconds']:>8.1f} {result['metric_images_drawn']:>10,} "
              f"{result['metric_images_encoded']:>9,} {result['beta_vae_score']:>8.3f} "
              f"{result['factor_vae_score']:>9.3f}")
    if not args.skip_plain:
        plain = rows[0][1]["seconds"]
        for label, result in rows[1:]:
            print(f"plain fp32 / {label}: {plain / result['seconds']:.1f}x faster")


if __name__ == "__main__":
    main()
