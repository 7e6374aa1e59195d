"""Coverage of the bootstrap 90% interval of :func:`bayeslaws.posterior.calibration.
empirical_vertices` (the vertex of a quadratic fit of ln loss on ln N, resampling a budget's
points with replacement), on SIMULATED isoFLOP curves whose true vertex is known.

* SIMULATED: ln L = ln 2.5 + 0.05 (ln N - ln 3e8)^2 (vertex N* = 3e8 params, L* = 2.5) plus
  Normal noise of sd NOISE_SD in ln loss, at NPTS sizes log-spaced over 5e7 .. 2e9 params;
  REPS curves per setting, each interval with the function's defaults (n_boot = 2000,
  ci = 0.9; bootstrap seed = the replicate's number).
* Reported per setting: the share of intervals holding N* and L*, with its binomial standard
  error, and how many intervals were NaN (no resample with a minimum; left out).

The method is not changed here (its intervals are reported beside the vertex in
benchmarks/calibration.py's decision rows, ``truth_lower``/``truth_upper``): this script
measures how far its "90%" falls short (percentile bootstrap intervals over few points tend
to be too narrow). Cited in empirical_vertices' docstring.

Usage: python benchmarks/vertex_bootstrap_coverage.py   (1.5-2 minutes on an idle core,
longer on a loaded machine; writes benchmarks/output/vertex_bootstrap_coverage.txt, the same
numbers on every run, under a first line of command, date and commit: every draw is seeded)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bayeslaws.posterior.calibration import empirical_vertices

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header  # noqa: E402  (benchmarks/bench_provenance.py)

OUT = Path(__file__).resolve().parent / "output" / "vertex_bootstrap_coverage.txt"
N_STAR, L_STAR, CURVATURE = 3e8, 2.5, 0.05  # true vertex (params, loss); ln-loss curvature
SIZES = (5e7, 2e9)  # params, the range of each curve's sizes
NOISE_SD = 0.01  # ln loss
NPTS = (5, 9, 15)  # points per curve
REPS = 300  # curves per setting


def curve(npts: int, rng) -> pd.DataFrame:
    """One simulated isoFLOP curve (columns C, N, loss) of ``npts`` points."""
    N = np.geomspace(*SIZES, npts)
    z = np.log(L_STAR) + CURVATURE * (np.log(N) - np.log(N_STAR)) ** 2
    z = z + NOISE_SD * rng.standard_normal(npts)
    return pd.DataFrame({"C": 1e20, "N": N, "loss": np.exp(z)})


def coverage(npts: int, reps: int = REPS, seed: int = 0) -> dict:
    """Share of ``reps`` bootstrap 90% intervals holding N* and L*, at ``npts`` points."""
    rng = np.random.default_rng([seed, npts])
    hit_n, hit_l, nan = [], [], 0
    for r in range(reps):
        v = empirical_vertices(curve(npts, rng), seed=r).iloc[0]
        if not np.isfinite(v["N_vertex_lower"]):
            nan += 1
            continue
        hit_n.append(v["N_vertex_lower"] <= N_STAR <= v["N_vertex_upper"])
        hit_l.append(v["L_vertex_lower"] <= L_STAR <= v["L_vertex_upper"])
    n = len(hit_n)
    cov_n, cov_l = float(np.mean(hit_n)), float(np.mean(hit_l))
    return {
        "points": npts,
        "curves": n,
        "cov90_N": cov_n,
        "se_N": float(np.sqrt(cov_n * (1 - cov_n) / n)),
        "cov90_L": cov_l,
        "se_L": float(np.sqrt(cov_l * (1 - cov_l) / n)),
        "nan_intervals": nan,
    }


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    start = time.perf_counter()
    table = pd.DataFrame([coverage(npts) for npts in NPTS])
    text = (
        header("benchmarks/vertex_bootstrap_coverage.py") + "\n"
        "Coverage of empirical_vertices' bootstrap 90% interval (n_boot 2000) of the true "
        "vertex.\n"
        f"SIMULATED parabolas in ln N: N* = {N_STAR:.0e}, L* = {L_STAR}, curvature "
        f"{CURVATURE} (ln loss per (ln N)^2),\nnoise sd {NOISE_SD} in ln loss, sizes "
        f"{SIZES[0]:.0e}..{SIZES[1]:.0e} log-spaced, {REPS} curves per row (se: binomial "
        "standard error):\n" + table.to_string(index=False, float_format="{:.3f}".format) + "\n"
    )
    print(text)
    OUT.write_text(text)  # seeded: the same numbers on every run
    print(f"wrote {OUT} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
