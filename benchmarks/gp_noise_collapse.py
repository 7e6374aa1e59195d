"""How often the GP discrepancy's MAP noise sd collapses on pure-noise residuals.

``bayeslaws.posterior.extrapolation.gp.fit_gp`` fits (eta, ell_N, ell_D, noise sd) at their
maximum a posteriori values. On residuals that are pure run-to-run noise (no pattern) the
noise sd should come out near the true sd; sometimes the search instead puts it near 0 and
lets the GP interpolate the noise (the GP's docstring and ``NOISE_FLOOR`` quote this script).
For each run count, SEEDS seeds: SIMULATED residuals ~ Normal(0, SD) in ln loss at runs
(N params, D tokens) drawn log-uniformly in 5e7..5e9 x 1e9..1e11 (per seed), and, as a last
row, the 8 x 6 grid of the same box (48 runs, the design of
tests/test_extrapolation_degenerate_states.py). Counted: seeds whose fitted noise sd is below
THRESHOLD ("collapsed"), and seeds the package warns about (``gp.noise_note``: noise sd below
``NOISE_FLOOR`` x the residuals' robust sd, or an unconverged search). No constant is chosen
here.

Usage: python benchmarks/gp_noise_collapse.py   (a minute or two on one core; writes
benchmarks/output/gp_noise_collapse.txt)
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

from bayeslaws.posterior.extrapolation import gp

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header  # noqa: E402  (benchmarks/bench_provenance.py)

OUT = Path(__file__).resolve().parent / "output" / "gp_noise_collapse.txt"
RUN_COUNTS = (10, 20, 40, 150)
SEEDS = 40
SD = 0.01  # true noise sd of the residuals, ln loss
THRESHOLD = 1e-3  # a fitted noise sd below this is "collapsed" (a tenth of the true sd)
N_BOX, D_BOX = (5e7, 5e9), (1e9, 1e11)


def random_design(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """``n`` runs (N params, D tokens), log-uniform in the box."""
    N = np.exp(rng.uniform(*np.log(N_BOX), n))
    D = np.exp(rng.uniform(*np.log(D_BOX), n))
    return N, D


def grid_design() -> tuple[np.ndarray, np.ndarray]:
    """The 8 x 6 grid (48 runs) of the box."""
    N, D = np.meshgrid(np.geomspace(*N_BOX, 8), np.geomspace(*D_BOX, 6))
    return N.ravel(), D.ravel()


def one_row(label: str, design, seeds: int, sd: float, threshold: float) -> str:
    """Fit the GP to pure-noise residuals for each seed: one line of counts."""
    noise, flagged = [], 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        N, D = design(rng)
        state = gp.fit_gp(N, D, sd * rng.standard_normal(N.size))
        noise.append(state["noise"])
        flagged += gp.noise_note(state) is not None
    noise = np.asarray(noise)
    collapsed = int((noise < threshold).sum())
    return (
        f"{label:<22} {collapsed:>3}/{seeds:<3}   {flagged:>3}/{seeds:<3}   "
        f"{np.median(noise):.2e}   {noise.min():.2e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, nargs="+", default=list(RUN_COUNTS))
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--sd", type=float, default=SD, help="true noise sd (ln loss)")
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    parser.add_argument("--no-grid", action="store_true", help="skip the 8 x 6 grid row")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    lines = [
        header("benchmarks/gp_noise_collapse.py"),
        __doc__.split("\n\n")[0],
        "Written by: python benchmarks/gp_noise_collapse.py (seed s: numpy default_rng(s) draws",
        "the random design's N and D, then the residuals)",
        "",
        f"SIMULATED pure-noise residuals, sd {args.sd:g} (ln loss); {args.seeds} seeds per row.",
        f"collapsed: fitted noise sd < {args.threshold:g}; warned: gp.noise_note (noise sd < "
        f"{gp.NOISE_FLOOR:g} x the residuals' robust sd, or an unconverged search)",
        "",
        f"{'design':<22} {'collapsed':>9}   {'warned':>7}   {'median sd':>9}   {'min sd':>8}",
    ]
    for n in args.runs:
        design = lambda rng, n=n: random_design(n, rng)  # noqa: E731
        lines.append(one_row(f"{n} runs, random", design, args.seeds, args.sd, args.threshold))
        print(lines[-1], flush=True)
    if not args.no_grid:
        design = lambda rng: grid_design()  # noqa: E731
        lines.append(one_row("48 runs, 8 x 6 grid", design, args.seeds, args.sd, args.threshold))
        print(lines[-1], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
