"""How much a narrow range of D tokens (or N params) tells the Chinchilla law's exponent in it:
the measurement behind ``bayeslaws.inference.identifiability.MIN_RANGE``.

SIMULATED Chinchilla tables (``simulate_chinchilla_runs``: E 1.7, A 400, B 410, alpha 0.34,
beta 0.28). The narrow column holds ``--levels`` values geometric over the range (max / min),
from D = 1e10 tokens or N = 2e8 params; the other column is 6 sizes 5e7..2e9 params (40x) or 5
token counts 1e9..1e11 tokens (100x). Gaussian noise of sd ``--noise`` on ln loss. Each table
is fitted by ``bl.fit`` (1 chain x 300 warm-up + 300 draws, seed = the table's seed). Reported:
the posterior sd of the exponent (beta for a narrow D, alpha for a narrow N) over its prior sd
(Beta(2, 3): 0.2), the median over the seeds, by the narrow column's range; and how many
seeds' 90% intervals cover the truth. Writes benchmarks/output/identifiability_range.txt.

    python benchmarks/identifiability_range.py [--columns D N] [--levels 3 5]
        [--noise 0.01 0.003] [--seeds 4] [--ranges 1.1 1.5 2 3 5 10 30] [--earlier CSV]

The defaults are the committed study (D and N, 3 and 5 levels, two noise levels, seeds 0-3,
7 ranges: 224 fits, 3.5 min on 2 cores). ``--earlier`` appends, labelled as such, the table
of an earlier run of the full study from its per-fit CSV (columns col, noise, levels, range,
seed, ratio, covered), without refitting.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import bayeslaws as bl
from bayeslaws.runs.simulate import simulate_chinchilla_runs

OUT = Path(__file__).resolve().parent / "output"
TRUTH = {"E": 1.7, "A": 400.0, "B": 410.0, "alpha": 0.34, "beta": 0.28}
PRIOR_SD = 0.2  # sd of Beta(2, 3), the default prior of alpha and beta
EXPONENT = {"D": "beta", "N": "alpha"}


def table(column: str, levels: int, span: float, noise: float, seed: int) -> pd.DataFrame:
    """SIMULATED runs whose ``column`` (N or D) holds ``levels`` values geometric over
    ``span`` (max / min), the other column wide (N 40x or D 100x); noise sd on ln loss."""
    narrow = np.geomspace(1.0, span, levels)
    if column == "D":
        N, D = np.geomspace(5e7, 2e9, 6)[:, None], (1e10 * narrow)[None, :]
    else:
        N, D = (2e8 * narrow)[:, None], np.geomspace(1e9, 1e11, 5)[None, :]
    return simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=noise, seed=seed)


def measure(args) -> pd.DataFrame:
    """One row per fit: the exponent's posterior sd over its prior sd, and coverage."""
    rows = []
    for column in args.columns:
        name = EXPONENT[column]
        for noise in args.noise:
            for levels in args.levels:
                for span in args.ranges:
                    for seed in range(args.seeds):
                        df = table(column, levels, span, noise, seed)
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")  # the narrow tables are warned
                            fit = bl.fit(
                                df,
                                law="chinchilla",
                                chains=1,
                                warmup=300,
                                draws=300,
                                seed=seed,
                                progress_bar=False,
                            )
                        s = fit.summary().loc[name]
                        rows.append(
                            {
                                "column": column,
                                "noise": noise,
                                "levels": levels,
                                "range": span,
                                "seed": seed,
                                "sd_over_prior": float(s["sd"]) / PRIOR_SD,
                                "covered": bool(s["5%"] <= TRUTH[name] <= s["95%"]),
                            }
                        )
                    last = [r["sd_over_prior"] for r in rows[-args.seeds :]]
                    print(column, noise, levels, span, np.round(last, 2), flush=True)
    return pd.DataFrame(rows)


def render(results: pd.DataFrame) -> str:
    """The table: median sd ratio (and seeds covering the truth) per row, by range."""
    lines = []
    keys = ["column", "noise", "levels"]
    spans = sorted(results["range"].unique())
    lines.append(
        f"{'':27s}" + "".join(f"{f'{s:g}x':>12s}" for s in spans)
    )
    for (column, noise, levels), part in results.groupby(keys, sort=False):
        cells = []
        for span in spans:
            at = part[part["range"] == span]
            cells.append(
                f"{at['sd_over_prior'].median():.2f} ({int(at['covered'].sum())}/{len(at)})"
            )
        label = f"{column}, {levels} levels, noise {noise:g}"
        lines.append(f"  {label:25s}" + "".join(f"{c:>12s}" for c in cells))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", nargs="+", choices=("D", "N"), default=["D", "N"])
    parser.add_argument("--levels", nargs="+", type=int, default=[3, 5])
    parser.add_argument("--noise", nargs="+", type=float, default=[0.01, 0.003])
    parser.add_argument("--seeds", type=int, default=4, help="seeds 0 .. SEEDS-1")
    parser.add_argument(
        "--ranges", nargs="+", type=float, default=[1.1, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0]
    )
    parser.add_argument("--out", type=Path, default=OUT / "identifiability_range.txt")
    parser.add_argument(
        "--earlier", type=Path, help="per-fit CSV of an earlier run, appended as its own table"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    results = measure(args)
    minutes = (time.perf_counter() - started) / 60
    header = (
        "SIMULATED Chinchilla tables (benchmarks/identifiability_range.py): posterior sd of the "
        "exponent\n(beta for a narrow D, alpha for a narrow N) over its prior sd (Beta(2, 3): "
        "0.2), median over\nseeds (in brackets: seeds whose 90% interval covers the truth), by "
        "the narrow column's range\n(max / min). Narrow column geometric from D = 1e10 or "
        "N = 2e8; other column N 5e7..2e9 (40x)\nor D 1e9..1e11 (100x); bl.fit, 1 chain x 300 "
        "+ 300 draws.\n"
        f"columns {' '.join(args.columns)}; levels {' '.join(map(str, args.levels))}; noise "
        f"{' '.join(f'{n:g}' for n in args.noise)}; seeds 0-{args.seeds - 1}; "
        f"{len(results)} fits, {minutes:.1f} min\n"
    )
    text = header + "\n" + render(results) + "\n"
    if args.earlier is not None:
        earlier = pd.read_csv(args.earlier).rename(
            columns={"col": "column", "ratio": "sd_over_prior"}
        )
        text += (
            f"\nEARLIER MEASUREMENT, SIMULATED (not rerun here): the full study by the scripts "
            f"that preceded this one\n(same tables, priors and fit settings; {len(earlier)} fits "
            f"read from {args.earlier.name}, seeds 0-{earlier['seed'].max()}).\n\n"
            + render(earlier)
            + "\n"
        )
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
