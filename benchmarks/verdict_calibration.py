"""Benchmark: how often each verdict's rule calls a claim wrongly, and how often it finds a
true effect, on simulated studies of the presets' shapes (``analysis.calibration``).

Prints the calibration table (markdown, as the README shows it): per claim, preset shape
(quick: 3 kinds × 3 seeds; core: the VAE, 4 β and 4 γ × 3 seeds; locatello: 6 kinds × 6
values × 5 seeds) and seed noise (normal; skewed, a lognormal of σ = 0.5), the share of
studies wrongly confirmed and wrongly contradicted where the claim sits on its threshold
(nominal 2.5% each), and the share that confirm a true effect of one seed standard deviation;
then the power of one comparison of two settings against the seeds per setting.

    python benchmarks/verdict_calibration.py               # 1,000 studies per cell
    python benchmarks/verdict_calibration.py --studies 10000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from analysis import calibration
from analysis.statistics import power, seeds_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=1000, help="simulated studies per cell")
    parser.add_argument("--seed", type=int, default=0, help="the simulations' generator seed")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = calibration.table(args.studies, args.seed)
    error = np.sqrt(calibration.ALPHA / 2 * (1 - calibration.ALPHA / 2) / args.studies)
    print(f"{args.studies:,} simulated studies per cell; nominal wrong-call rate 2.5% each way, "
          f"Monte-Carlo standard error {error:.2%}")
    print("\n".join(calibration.markdown(rows)))
    print("\nWhat a true effect of one seed sd is, per claim:")
    for claim, effect in calibration.EFFECTS.items():
        print(f"  {claim}: {effect}")
    print("\nOne comparison of two settings (Welch, 95%, normal scores): power by seeds per "
          "setting and true difference (seed sds)")
    print("| seeds | 1 sd | 2 sd | 3 sd |\n|---|---|---|---|")
    for seeds in (3, 5, 10, 20):
        print(f"| {seeds} | " + " | ".join(f"{power(seeds, 0.95, effect):.0%}"
                                           for effect in (1, 2, 3)) + " |")
    effect = next(e for e in np.arange(1.0, 6.0, 0.1) if power(3, 0.95, round(e, 1)) >= 0.8)
    print(f"80% power at 1 sd needs {seeds_for(0.95)} seeds per setting; with 3 seeds, 80% "
          f"needs a difference of {effect:.1f} sd")
    print(f"\n{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
