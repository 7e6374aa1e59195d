"""Draw the README's tour figure, docs/tour.png, from the tour's own code.

Fits the joint sweep model (law "sweep") to all 576 runs of the bundled SIMULATED video-DiT
sweep (4 chains x 500 + 500 draws, seed 0) and draws N_opt(C) with its 50% / 90% bands, the
fitted range of C, Yin et al.'s two published laws and the 1e22-FLOP budget's 90% interval.
Prints the fit, its allocation at 1e22 FLOPs beside the simulator's truth, the fixed-vs-optimal
answer and the best-cell baseline's N_opt (a Chinchilla surface on each cell's best run, same
draws); writes them to a numbers file as well, its first line the command, date (UTC) and
commit (:func:`provenance`): ``--numbers``, by default benchmarks/output/tour_numbers.txt (the
file the README's tour paragraph quotes) for the default ``--out`` and ``<stem>_numbers.txt``
beside any other ``--out`` (:func:`numbers_file`), so a quick look elsewhere leaves the
committed numbers alone.

    python benchmarks/make_readme_figure.py [--out docs/tour.png] [--draws 500] [--numbers PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import bayeslaws as bl  # noqa: E402
from bayeslaws import plot  # noqa: E402
from bayeslaws.runs import published, simulate  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header  # noqa: E402  (benchmarks/bench_provenance.py)

ROOT = Path(__file__).resolve().parents[1]
FIGURE = ROOT / "docs" / "tour.png"
NUMBERS = ROOT / "benchmarks" / "output" / "tour_numbers.txt"  # the default --out's numbers


def numbers_file(out, numbers=None) -> Path:
    """Where the numbers go: ``numbers`` when given; else :data:`NUMBERS` for the default
    figure (:data:`FIGURE`) and ``<out's stem>_numbers.txt`` beside any other ``out``."""
    if numbers is not None:
        return Path(numbers)
    out = Path(out)
    if out.resolve() == FIGURE.resolve():
        return NUMBERS
    return out.with_name(f"{out.stem}_numbers.txt")


def provenance(argv) -> str:
    """The numbers file's first line (:func:`bench_provenance.header`); ``argv``: the
    arguments given (None: this process's command line)."""
    return header("benchmarks/make_readme_figure.py", argv)


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(FIGURE))
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument(
        "--numbers",
        help="the numbers file (default: benchmarks/output/tour_numbers.txt for the default "
        "--out, else <stem of --out>_numbers.txt beside it)",
    )
    args = parser.parse_args(argv)
    numbers = numbers_file(args.out, args.numbers)
    first_line = provenance(argv)  # before the fits: the commit they ran on
    runs = bl.load_bundled()
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bl.fit(runs, law="sweep", chains=4, warmup=args.draws, draws=args.draws, seed=0)
    wall = time.perf_counter() - started
    allocation = bl.optimal_allocation(fit, C=published.YIN_BUDGET).iloc[0]
    truth = float(simulate.VideoDiTTruth().n_opt(published.YIN_BUDGET))
    answer = bl.fixed_vs_optimal(fit, published.YIN_BUDGET).iloc[0]
    with warnings.catch_warnings():  # the baseline the joint model replaces, for the caption
        warnings.simplefilter("ignore")
        surface = bl.fit(
            bl.runs.best_run_per_cell(runs), law="chinchilla", likelihood="gaussian", chains=4,
            warmup=args.draws, draws=args.draws, seed=0,
        )  # fmt: skip
    baseline = bl.optimal_allocation(surface, C=published.YIN_BUDGET).iloc[0]
    lines = [
        f"{fit} (fit {wall:.0f} s wall)",
        f"N_opt({published.YIN_BUDGET:.0e}) {allocation['N_opt']:.3g} "
        f"[{allocation['N_opt_lower']:.3g}, {allocation['N_opt_upper']:.3g}] (90%); the "
        f"simulator's truth {truth:.3g}, inside: "
        f"{allocation['N_opt_lower'] <= truth <= allocation['N_opt_upper']}",
        f"fixed vs optimal hyperparameters: {answer['verdict']}",
        f"baseline (Chinchilla on each cell's best run, {surface.n_runs} runs): N_opt "
        f"{baseline['N_opt']:.3g} [{baseline['N_opt_lower']:.3g}, "
        f"{baseline['N_opt_upper']:.3g}]; truth inside: "
        f"{baseline['N_opt_lower'] <= truth <= baseline['N_opt_upper']}; {surface}",
    ]
    print("\n".join(lines))
    numbers.parent.mkdir(parents=True, exist_ok=True)
    numbers.write_text("\n".join([first_line, *lines]) + "\n")
    print(f"wrote {numbers}")
    fig = plot.n_opt(
        fit,
        (1e17, 1e25),
        paper_laws=published.yin_n_opt_laws(),
        budgets=[published.YIN_BUDGET],
    )
    path = plot.save(fig, args.out, dpi=90)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")
    return path


if __name__ == "__main__":
    main()
