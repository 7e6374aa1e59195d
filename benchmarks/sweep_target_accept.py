"""Selection of the sweep law's default NUTS target acceptance probability, on SIMULATED
Yin-design sweeps (bayeslaws.runs.simulate.simulate_video_dit_sweep, seeds 4000-4004: not the
bundled sweep, not Step Law, which confirm it), at bl.fit's default 4 chains x 1000 + 1000.

Each seed is fitted at 0.8 (NumPyro's default) and 0.9; the seeds with divergences at 0.9 are
fitted again at 0.95. The default is the smallest level with no divergence on every seed tried.
Prints one line per fit; benchmarks/output/sweep_target_accept.txt (``--out``) holds the run's
lines, under a first line that says they are SIMULATED. A full run is 10-13 fits of about 1-2
minutes each.

    OPENBLAS_NUM_THREADS=1 BAYESLAWS_QUIET=1 python benchmarks/sweep_target_accept.py [--out FILE]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import bayeslaws as bl
from bayeslaws.runs import simulate as sim

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header, machine  # noqa: E402  (benchmarks/bench_provenance.py)

SEEDS = range(4000, 4005)
OUT = Path(__file__).resolve().parent / "output" / "sweep_target_accept.txt"


def fit_line(runs, seed: int, level: float) -> tuple[str, int]:
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bl.fit(runs, law="sweep", target_accept=level, seed=0)
    d = fit.diagnostics
    line = (
        f"seed {seed} target_accept {level}: divergences {d.divergences}, max R-hat "
        f"{d.max_r_hat}, min ESS {d.min_ess_bulk}, {time.perf_counter() - started:.0f} s"
    )
    print(line, flush=True)
    return line, d.divergences


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default=str(OUT), help=f"the run's lines (default {OUT})")
    args = parser.parse_args(argv)
    out = Path(args.out)
    first = header("benchmarks/sweep_target_accept.py", argv, machine())
    label = (
        "# SIMULATED data: every fit below is of a Yin-design sweep from "
        f"bayeslaws.runs.simulate.simulate_video_dit_sweep (seeds {SEEDS.start}-{SEEDS.stop - 1})"
    )
    print(first, label, sep="\n", flush=True)
    lines, retry = [first, label], []
    for seed in SEEDS:
        runs = bl.load_runs(sim.simulate_video_dit_sweep(seed=seed))
        for level in (0.8, 0.9):
            line, divergences = fit_line(runs, seed, level)
            lines.append(line)
        if divergences:
            retry.append((seed, runs))
    for seed, runs in retry:
        lines.append(fit_line(runs, seed, 0.95)[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
