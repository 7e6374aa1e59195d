"""NUTS speed on Epoch's Chinchilla points (REAL data): 4 chains x (1000 warm-up + 1000 draws).

Prints the cold wall time (first fit in this process, compilation included), the warm wall time
(a second fit of the same shape, which reuses the compiled kernel), and the minimum bulk ESS per
second of the warm fit over the law's parameters. Targets (issue 2): >= 500 ESS/s warm, < 15 s
cold, on a 2-core CPU machine. Run it on an otherwise idle machine:

    python benchmarks/epoch_nuts.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

import bayeslaws as bl
from bayeslaws.runs import bundled


def timed_fit(runs, seed: int):
    start = time.perf_counter()
    fit = bl.fit(runs, law="chinchilla", likelihood="huber", seed=seed, progress_bar=False)
    return fit, time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="warm fits to time")
    args = parser.parse_args(argv)
    runs = bundled.epoch_chinchilla()
    fit, cold = timed_fit(runs, seed=0)
    warm_times, ess_rates, sampling_rates = [], [], []
    for seed in range(1, args.repeats + 1):
        fit, warm = timed_fit(runs, seed=seed)
        ess = fit.summary().loc[list(fit.law.parameters), "ess_bulk"].min()
        warm_times.append(warm)
        ess_rates.append(ess / warm)
        sampling_rates.append(ess / fit.record.sampler.sampling_seconds)
    print(
        f"machine: {jax.device_count()} host devices, "
        f"chain method {fit.record.sampler.chain_method}"
    )
    print(f"cold wall time (compile + sample):  {cold:6.2f} s   (target < 15 s)")
    print(f"warm wall time (median of {args.repeats}):     {np.median(warm_times):6.2f} s")
    print(f"min bulk ESS / s, warm (median):    {np.median(ess_rates):6.0f}     (target >= 500)")
    print(
        f"min bulk ESS / s of mcmc.run alone: {np.median(sampling_rates):6.0f}     "
        "(numpyro recompiles parallel chains on every run)"
    )
    print(f"divergences {fit.diagnostics.divergences}, max R-hat {fit.diagnostics.max_r_hat:.3f}")


if __name__ == "__main__":
    main()
