"""The outlier-screening threshold on the selection data (docs/calibration_protocol.md), and the
Epoch table fitted without hand-editing.

For each selection table (REAL data from ../shared/data, and the bundled SIMULATED sweep) it
fits the default law with screening off, then prints the robust z-scores of the runs
(``bayeslaws.inference.screening.screen_fit``): the largest |z| of the table, and for Epoch's
245 points (no row dropped) the z of the 5 highest-loss points that Epoch dropped, the largest
|z| of the other 240 in that fit, and the largest |z| of those 240 fitted on their own (with the
count above the default threshold: the 5 outliers shape the 245-point fit, so the z of the 240
inside it are not their z in a fit of their own). Then it fits
Epoch's 245 points with ``screen="exclude"`` at the default threshold and prints beta,
N_opt(5.76e23 FLOPs) and tokens per parameter beside Epoch's own fit, and the same with
Epoch's 5 rows dropped by hand. Writes benchmarks/output/screening_study.txt.

    python benchmarks/screening_study.py [--draws 500] [--chains 2] [--out FOLDER]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import bayeslaws as bl
from bayeslaws.inference.screening import DEFAULT_THRESHOLD, screen_fit
from bayeslaws.posterior.splits import SELECTION_PORIAN, steplaw_best_cells
from bayeslaws.runs import best_run_per_cell, bundled, published

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header  # noqa: E402  (benchmarks/bench_provenance.py)

OUT = Path(__file__).resolve().parent / "output"


def tables():
    """(name, RunTable, law) of the selection tables, REAL unless labelled SIMULATED."""
    yield "epoch_chinchilla (245 points, none dropped)", bundled.epoch_chinchilla(0), "chinchilla"
    for name, config in SELECTION_PORIAN.items():
        yield f"porian {name}", bundled.porian_isoflop(**config), "chinchilla"
    yield "steplaw best run per cell", steplaw_best_cells(), "chinchilla"
    sweep = bl.load_bundled()
    yield "SIMULATED video-DiT sweep, best per cell", best_run_per_cell(sweep), "chinchilla"
    yield "SIMULATED video-DiT sweep, all runs", sweep, "hyperparams"


def robust_z(runs, law, sampler: dict) -> pd.Series:
    """|robust z| of each run (row label -> |z|) in a fit of ``runs`` alone, screening off."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bl.fit(runs, law=law, screen="off", **sampler)
        result = screen_fit(fit)
    return pd.Series(np.abs(result.z), index=[str(r) for r in result.rows])


def own_fit_line(label: str, z: pd.Series) -> str:
    """The largest |z| of a table fitted on its own, and how many exceed the threshold."""
    top = z.nlargest(2)
    above = z[z > DEFAULT_THRESHOLD].sort_values(ascending=False)
    return (
        f"  {label}: max |z| {top.iloc[0]:.2f} (row {top.index[0]}), next {top.iloc[-1]:.2f}; "
        f"{len(above)} above the default threshold {DEFAULT_THRESHOLD:g}"
        + (
            " (rows " + ", ".join(f"{r} {v:.1f}" for r, v in above.items()) + ")"
            if len(above)
            else ""
        )
    )


def study(sampler: dict, lines: list) -> None:
    dropped = bundled.epoch_chinchilla(0).df["loss"].nlargest(5).index
    lines.append(f"default threshold: {DEFAULT_THRESHOLD:g} robust sd")
    lines.append(f"{'table':58s} {'runs':>5s} {'max |z|':>8s} {'next |z|':>8s} {'> thr':>6s}")
    for name, runs, law in tables():
        z = robust_z(runs, law, sampler)
        if name.startswith("epoch"):
            z_drop = z.loc[[str(r) for r in dropped]]
            lines.append(
                "  Epoch's 5 dropped rows (labels, |z|): "
                + ", ".join(f"{r} {v:.1f}" for r, v in z_drop.items())
            )
            rest = z.drop(z_drop.index)
            lines.append(
                f"  the other 240 runs, z from the 245-point fit: max |z| {rest.max():.2f} "
                f"(row {rest.idxmax()}), next {rest.nlargest(2).iloc[-1]:.2f}"
            )
            # the clean table in a fit of its own (no outliers shaping the law or its scale)
            clean = robust_z(bundled.epoch_chinchilla(5), law, sampler)
            lines.append(own_fit_line("the same 240 runs fitted on their own", clean))
            print("\n".join(lines[-3:]), flush=True)
        top = z.nlargest(2)
        lines.append(
            f"{name:58s} {len(z):5d} {top.iloc[0]:8.2f} {top.iloc[-1]:8.2f} "
            f"{int((z > DEFAULT_THRESHOLD).sum()):6d}"
        )
        print(lines[-1], flush=True)


def allocation_line(tag: str, fit) -> str:
    beta = fit.summary().loc["beta"]
    alloc = bl.optimal_allocation(fit, C=published.CHINCHILLA_BUDGET, extrapolation="none")
    row = alloc.iloc[0]
    return (
        f"{tag:44s} beta {beta['50%']:.3f} [{beta['5%']:.3f}, {beta['95%']:.3f}]  N_opt "
        f"{row['N_opt']:.3g} [{row['N_opt_lower']:.3g}, {row['N_opt_upper']:.3g}]  "
        f"{row['tokens_per_param']:.1f} tokens/param"
    )


def epoch(sampler: dict, lines: list) -> None:
    e = published.EPOCH_CHINCHILLA["beta"]
    lines.append(f"Epoch's refit (5 rows dropped): beta {e[0]:.3f} [{e[1]:.3f}, {e[2]:.3f}]")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plain = bl.fit(bundled.epoch_chinchilla(0), **sampler)
    flagged = [str(w.message) for w in caught if "screening" in str(w.message)]
    lines.append(allocation_line("245 points, default (screen='warn')", plain))
    lines.append("  its warning: " + (flagged[0] if flagged else "NONE"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        excluded = bl.fit(bundled.epoch_chinchilla(0), screen="exclude", **sampler)
    screening = excluded.record.data["screening"]
    lines.append(
        allocation_line("245 points, screen='exclude'", excluded)
        + f"  (excluded rows {screening['excluded']})"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_hand = bl.fit(bundled.epoch_chinchilla(5), screen="off", **sampler)
    lines.append(allocation_line("Epoch's 5 rows dropped by hand", by_hand))
    for line in lines[-5:]:
        print(line, flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=500, help="warm-up and draws per chain")
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--only", choices=["study", "epoch"], default=None)
    parser.add_argument("--out", default=str(OUT), help="folder of screening_study*.txt")
    args = parser.parse_args(argv)
    sampler = {"chains": args.chains, "warmup": args.draws, "draws": args.draws, "seed": 0}
    lines = [
        header("benchmarks/screening_study.py", argv),
        f"NUTS {args.chains} chains x {args.draws} warm-up + {args.draws} draws, seed 0",
    ]
    if args.only in (None, "study"):
        study(sampler, lines)
    if args.only in (None, "epoch"):
        epoch(sampler, lines)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.only is None else f"_{args.only}"
    (out / f"screening_study{suffix}.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
