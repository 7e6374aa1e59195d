"""Draw the README's tour figure, docs/tour.png, from the tour's own code.

Fits the Chinchilla surface to each (N, D) cell's best run of the bundled SIMULATED video-DiT
sweep (4 chains x 500 + 500 draws, seed 0) and draws N_opt(C) with its 50% / 90% bands, the
fitted range of C, Yin et al.'s two published laws and the 1e22-FLOP budget's 90% interval.

    python benchmarks/make_readme_figure.py [--out docs/tour.png] [--draws 500]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import bayeslaws as bl  # noqa: E402
from bayeslaws import plot  # noqa: E402
from bayeslaws.runs import published  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "tour.png"))
    parser.add_argument("--draws", type=int, default=500)
    args = parser.parse_args(argv)
    runs = bl.load_bundled()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        surface = bl.fit(
            bl.runs.best_run_per_cell(runs),
            law="chinchilla",
            likelihood="gaussian",
            chains=4,
            warmup=args.draws,
            draws=args.draws,
            seed=0,
        )
    print(surface)
    print(bl.optimal_allocation(surface, C=published.YIN_BUDGET).T)
    fig = plot.n_opt(
        surface,
        (1e17, 1e25),
        paper_laws=published.yin_n_opt_laws(),
        budgets=[published.YIN_BUDGET],
    )
    path = plot.save(fig, args.out, dpi=90)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")
    return path


if __name__ == "__main__":
    main()
