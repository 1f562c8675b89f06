"""Benchmark: disentanglement_lib's metrics on dSprites, plain versus deduplicated, and what
each metric costs at the paper preset.

Prints, from one run on this machine:
  * the deduplicating cache's own bookkeeping (free encoder) now, and with the dense
    dataset-sized index table it used for every dataset before the faces needed 117 GiB of it;
  * the encoder's throughput (images/s) in fp32 and under bf16 autocast, channels-last;
  * the paper-preset BetaVAE + FactorVAE evaluation (one shared cache) with the plain
    per-batch algorithm in fp32 and the deduplicated one in fp32 and bf16: seconds, images
    encoded, scores, and the plain/deduplicated time ratio;
  * the fast preset (every-epoch use) with the default precision;
  * with --family: one deduplicated paper-preset evaluation of every registered metric (and
    the large-sample TC from the encoder's posterior), each metric's wall-clock and CPU
    seconds side by side, then DCI again with the histogram trees (``dci_classifier=hist_gbt``);
  * with --compare-dci: DCI with both tree classifiers on the same draws, for the sanity
    suite's hand-built representations of dSprites' factors and for the model (scores and CPU
    seconds side by side).

The encoder is the papers' ``standard`` network, freshly initialised unless --checkpoint names
a trained one. An untrained encoder's means barely vary (std ~1e-3), so its FactorVAE metric
would prune every dimension at the paper's 0.05 and skip the votes; for an untrained encoder
the threshold is therefore set to 0 (every other paper setting unchanged) so the timing
includes all votes, as it does for a trained model.

    python benchmarks/metrics.py            # the real paper preset (the plain run takes long)
    python benchmarks/metrics.py --quick    # a tenth of the paper preset's points
    python benchmarks/metrics.py --skip-pair --family        # every metric's cost
    python benchmarks/metrics.py --skip-pair --compare-dci --scale 0.2
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
    parser.add_argument("--skip-pair", action="store_true",
                        help="skip the BetaVAE + FactorVAE plain/deduplicated comparison and "
                             "the fast preset")
    parser.add_argument("--family", action="store_true",
                        help="time every registered metric in one deduplicated paper-preset "
                             "evaluation (DCI's boosted trees alone take minutes on 2 cores)")
    parser.add_argument("--compare-dci", action="store_true",
                        help="DCI with gbt and with hist_gbt on the same draws, for the "
                             "sanity suite's representations and the model (paper preset x "
                             "--scale)")
    return parser.parse_args()


def scaled_overrides(scale: float, metrics=("beta_vae", "factor_vae")) -> dict:
    from disentangle.metrics import PRESETS

    overrides = {}
    for metric in metrics:
        for name, value in PRESETS["paper"][metric].items():
            if name.startswith("num_"):
                overrides[f"{metric}_{name}"] = max(2, int(round(value * scale)))
    return overrides


def time_family(data, model, device: str, scale: float, extra: dict) -> None:
    """Every registered metric at the paper preset (x ``scale``), deduplicated, one run."""
    from disentangle.metrics import METRICS, default_metrics, evaluate
    from disentangle.representation import posterior_function, representation_function

    metrics = default_metrics("paper", posterior=True)
    overrides = {**scaled_overrides(scale, metrics), **extra}
    represent = representation_function(model, device=device)
    result = evaluate(data, represent, np.random.RandomState(0), preset="paper",
                      details=True,
                      posterior_function=posterior_function(model, device=device),
                      **overrides)
    print(f"\nevery metric, paper preset x {scale:g}, deduplicated {represent.precision} "
          f"({result['metric_images_drawn']:,} drawn, {result['metric_images_encoded']:,} "
          f"encoded), one run:")
    print(f"{'phase':<28} {'wall s':>8} {'CPU s':>8}  result")
    for phase, lap in result["timings"].items():
        spec = METRICS.get(phase)
        scores = "" if spec is None else "  ".join(
            f"{key} {result[key]:.3f}" for key in spec.result_keys
            if isinstance(result[key], float))
        name = spec.name if spec else phase
        print(f"{name:<28} {lap['seconds']:>8.1f} {lap['cpu_seconds']:>8.1f}  {scores}")
    print(f"{'total':<28} {result['seconds']:>8.1f}")
    hist = evaluate(data, represent, np.random.RandomState(0), preset="paper", metrics=["dci"],
                    details=True, dci_classifier="hist_gbt", **overrides)
    lap = hist["timings"]["dci"]
    print(f"{'DCI, hist_gbt (own draws)':<28} {lap['seconds']:>8.1f} {lap['cpu_seconds']:>8.1f}"
          f"  dci_disentanglement {hist['dci_disentanglement']:.3f}  dci_completeness "
          f"{hist['dci_completeness']:.3f}  dci_informativeness "
          f"{hist['dci_informativeness']:.3f}")


#: The sanity cases DCI's two classifiers are compared on (GBT takes minutes for each).
COMPARED_CASES = ("factors", "rotation", "all but one", "noise")


def compare_dci(scale: float, data, model, device: str, model_name: str) -> None:
    """DCI with both tree classifiers on the same draws: the sanity suite's representations of
    dSprites' factors, then the model's encoder means on dSprites."""
    from disentangle.metrics import dci_metric
    from disentangle.metrics.sanity import FactorObservations, sanity_cases
    from disentangle.representation import representation_function

    factors = FactorObservations()
    representations = [(case.name, factors, case.representation)
                       for case in sanity_cases(factors) if case.name in COMPARED_CASES]
    representations.append((model_name, data, representation_function(model, device=device)))
    sizes = {f"num_{part}": max(2, int(round(value * scale)))
             for part, value in (("train", 10_000), ("test", 5_000))}
    print(f"\nDCI, gbt vs hist_gbt on the same draws ({sizes['num_train']:,} training and "
          f"{sizes['num_test']:,} test points, seed 0):")
    print(f"{'representation':<16} {'D gbt':>7} {'D hist':>7} {'C gbt':>7} {'C hist':>7} "
          f"{'I gbt':>7} {'I hist':>7} {'CPU s gbt':>9} {'hist':>6}")
    for name, dataset, represent in representations:
        row = []
        for classifier in ("gbt", "hist_gbt"):
            started = time.process_time()
            result = dci_metric(dataset, represent, np.random.RandomState(0),
                                classifier=classifier, **sizes)
            row.append((result, time.process_time() - started))
        (gbt, gbt_cpu), (hist, hist_cpu) = row
        values = [gbt["disentanglement"], hist["disentanglement"], gbt["completeness"],
                  hist["completeness"], gbt["informativeness_test"],
                  hist["informativeness_test"]]
        print(f"{name[-16:]:<16} " + " ".join(f"{v:>7.3f}" for v in values)
              + f" {gbt_cpu:>9.1f} {hist_cpu:>6.1f}", flush=True)


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
    from disentangle.models import build_model, load_model
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

    time_cache(scale)
    if not args.skip_pair:
        time_pair(data, model, args, overrides, extra)
    if args.family:
        time_family(data, model, args.device, scale, extra)
    if args.compare_dci:
        compare_dci(scale, data, model, args.device, name)


def time_cache(scale: float, repeats: int = 5) -> None:
    """The deduplicating cache's own work (finding the distinct indices, encoding each once,
    every lookup) with an encoder that costs nothing (dSprites' factor rows as the code), on
    the paper preset's BetaVAE + FactorVAE draws: today's sorted distinct indices + binary
    search, whose memory grows with the draws, against the dense dataset-sized index table it
    replaced (issue #12), whose memory grows with the dataset. Best of ``repeats``."""
    from disentangle.metrics import METRICS
    from disentangle.metrics.encoding import EncodingCache, encode
    from disentangle.metrics.sanity import FactorObservations
    from disentangle.metrics.settings import resolve_overrides

    data, pair = FactorObservations(), ("beta_vae", "factor_vae")
    settings = resolve_overrides("paper", scaled_overrides(scale), list(pair))
    state = np.random.RandomState(0)
    arrays = [array for key in pair
              for array in METRICS[key].draw(data, settings[key], state).index_arrays]

    def code(observations):
        return observations.reshape(len(observations), -1)

    def cache_now(**options):
        cache = EncodingCache(data, code, **options)
        cache.add(arrays)
        return [cache(array) for array in arrays]

    def sorted_keys_only():   # what a dataset far larger than its draws gets (the faces)
        return cache_now(dense_table_max_ratio=0)

    def dense_table():
        wanted = np.unique(np.concatenate([array.ravel() for array in arrays]))
        table = np.full(len(data), -1, dtype=np.int64)
        table[wanted] = np.arange(len(wanted))
        values = np.concatenate([encode(data, code, wanted[start:start + 4096])
                                 for start in range(0, len(wanted), 4096)])
        return [values[table[array]] for array in arrays]

    seconds = {}
    for name, run in (("before (dense table)", dense_table), ("now", cache_now),
                      ("now, sorted keys only", sorted_keys_only)):
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            looked_up = run()
            best = min(best, time.perf_counter() - started)
        seconds[name] = (best, looked_up)
    (_, before), *others = seconds.values()
    assert all(np.array_equal(a, b) for _, now in others for a, b in zip(before, now))
    drawn = sum(array.size for array in arrays)
    print(f"cache bookkeeping, paper preset x {scale:g} BetaVAE + FactorVAE draws "
          f"({drawn:,} drawn), free encoder, best of {repeats} (all give the same values):")
    baseline = seconds["before (dense table)"][0]
    for name, (best, _) in seconds.items():
        print(f"  {name:<24} {best:6.2f} s  {best / baseline:5.2f} x before")
    print(f"  (a dense table needs 8 bytes per dataset image: {8 * len(data) / 2**20:.1f} MiB "
          "on dSprites, 117 GiB on the faces, which get the sorted keys)", flush=True)


def time_pair(data, model, args, overrides: dict, extra: dict) -> None:
    """BetaVAE + FactorVAE, plain vs deduplicated, fp32 vs bf16; then the fast preset."""
    from disentangle.metrics import evaluate
    from disentangle.representation import representation_function

    pair = ["beta_vae", "factor_vae"]
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
                          metrics=pair, deduplicate=deduplicate, **overrides)
        rows.append((f"{label} {precision}", result))
        print(f"{label} {precision}: {result['seconds']:.1f} s", flush=True)
    fast = evaluate(data, representation_function(model, device=args.device),
                    np.random.RandomState(0), preset="fast", metrics=pair, **extra)

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
