"""How often the sampler checks warn, for healthy and troubled SIMULATED chains, at the draws
users ask for: the fixed bars (R-hat <= 1.01, ESS >= 100 per chain) against the bars that scale
with the draws (``bayeslaws.inference.diagnostics.thresholds``).

Chains are AR(1) series with a known ESS per draw (10 parameters per fit, like a loss surface);
"stuck" shifts one chain by 1 sd (a chain that has not found the bulk). A fit "warns" when any
parameter fails a bar. Writes benchmarks/output/diagnostics_thresholds.txt.

    python benchmarks/diagnostics_thresholds.py [--replications 200]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import arviz as az
import numpy as np

from bayeslaws.inference import diagnostics

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header  # noqa: E402  (benchmarks/bench_provenance.py)

OUT = Path(__file__).resolve().parent / "output"
SIZES = ((2, 150), (2, 300), (4, 150), (4, 500), (4, 1000))
CONDITIONS = {
    "healthy, ESS 1.0/draw": (1.0, 0.0),
    "healthy, ESS 0.3/draw": (0.3, 0.0),
    "sticky, ESS 0.02/draw": (0.02, 0.0),
    "stuck chain (1 sd off)": (0.3, 1.0),
}


def chains(rng, n_chains, n_draws, eff, offset, n_params=10):
    phi = (1 - eff) / (1 + eff)
    x = np.empty((n_chains, n_draws, n_params))
    x[:, 0] = rng.standard_normal((n_chains, n_params))
    noise = rng.standard_normal((n_chains, n_draws, n_params)) * np.sqrt(1 - phi**2)
    for t in range(1, n_draws):
        x[:, t] = phi * x[:, t - 1] + noise[:, t]
    x[0] += offset
    return x


def warns(x, bars) -> bool:
    data = az.convert_to_dataset({"t": x}, coords={"k": np.arange(x.shape[2])}, dims={"t": ["k"]})
    rhat_max, ess_min = bars
    r_hat = az.rhat(data)["t"].values
    ess = np.minimum(
        az.ess(data, method="bulk")["t"].values, az.ess(data, method="tail")["t"].values
    )
    return bool((x.shape[0] > 1 and (r_hat > rhat_max).any()) or (ess < ess_min).any())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replications", type=int, default=200)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    lines = [
        header("benchmarks/diagnostics_thresholds.py", argv),
        f"share of fits that warn, {args.replications} replications each (SIMULATED AR(1) "
        "chains, 10 parameters); fixed bars R-hat 1.01 / ESS 100 per chain vs scaled bars",
        f"{'chains x draws':15s} {'condition':24s} {'fixed':>7s} {'scaled':>7s}  scaled bars",
    ]
    warnings.simplefilter("ignore")
    for n_chains, n_draws in SIZES:
        fixed = (diagnostics.RHAT_MAX, diagnostics.ESS_MIN_PER_CHAIN * n_chains)
        scaled = diagnostics.thresholds(n_chains, n_chains * n_draws)
        for name, (eff, offset) in CONDITIONS.items():
            hits = np.zeros(2)
            for _ in range(args.replications):
                x = chains(rng, n_chains, n_draws, eff, offset)
                hits += [warns(x, fixed), warns(x, scaled)]
            share = hits / args.replications
            lines.append(
                f"{f'{n_chains} x {n_draws}':15s} {name:24s} {share[0]:7.0%} {share[1]:7.0%}  "
                f"R-hat {scaled[0]:.3f}, ESS {scaled[1]:.0f}"
            )
            print(lines[-1], flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "diagnostics_thresholds.txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
