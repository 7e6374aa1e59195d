"""How far the Marin replay's N_opt scoring is offset by the budgets' nominal C (no fit).

The design replay (``benchmarks/design_replay.py``) scores N_opt on a Marin corpus by comparing
the empirical vertex of the held-out budget's curve (a quadratic in ln N through its runs, at
the NOMINAL budget C = 3e20 FLOPs) with ``optimal_allocation(fit, C=3e20)``, the law's N_opt
where 6ND = 3e20. The runs near the vertex have C / (6 N D) above 1 (their 6ND is below the
nominal budget), so the law is asked about more compute than those runs had, and its
predicted ln N_opt sits higher by ``a * ln(C / 6ND)`` whatever the strategy, ``a`` being
d ln N_opt / d ln C (a Chinchilla law's beta / (alpha + beta)).

Per corpus (comma, DCLM, Nemotron; REAL runs from ../shared/data, confirmation data read for
its compute ratio only): the held-out budget's empirical vertex (``empirical_vertices``, the
replay's truth), the ratio C / 6ND at it (linear in ln N between the two runs around it, and
at the ends of its bootstrap interval), ``a`` measured as the slope of ln N_vertex on ln(6ND
at the vertex) over the corpus's other budgets (the fitted ones), and the offset
``a * ln(ratio)`` under that ``a`` and under a = 0.5 (alpha = beta). Writes
benchmarks/output/marin_nopt_offset.txt.

    python benchmarks/marin_nopt_offset.py [--out FOLDER]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

from bayeslaws.posterior.calibration import empirical_vertices
from bayeslaws.runs import bundled

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header  # noqa: E402  (benchmarks/bench_provenance.py)

OUT = Path(__file__).resolve().parent / "output"
CORPORA = ("comma", "dclm", "nemotron")
SOURCE = "marin_202603"


def ratio_at(runs, n) -> float:
    """C / (6 N D) of a budget's ``runs`` at N = ``n`` params, linear in ln N between the runs
    around it (the nearest end beyond them)."""
    runs = runs.sort_values("N")
    ratio = (runs["C"] / (6.0 * runs["N"] * runs["D"])).to_numpy(float)
    return float(np.interp(np.log(n), np.log(runs["N"].to_numpy(float)), ratio))


def corpus_lines(dataset: str) -> list[str]:
    """The lines of one corpus: the held-out vertex, its ratio, the exponent and the offset."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = bundled.isoflop_compendium(SOURCE, dataset).df
    budgets = np.sort(df["C"].unique())
    held = df[df["C"] >= budgets[-1] * (1 - 1e-9)]  # as posterior.splits.compendium_split
    vertex = empirical_vertices(held).iloc[0]
    n, lo, hi = (float(vertex[k]) for k in ("N_vertex", "N_vertex_lower", "N_vertex_upper"))
    r, r_lo, r_hi = ratio_at(held, n), ratio_at(held, lo), ratio_at(held, hi)
    fitted = empirical_vertices(df[df["C"] < budgets[-1] * (1 - 1e-9)])
    fitted = fitted[fitted["vertex_inside_sizes"] & np.isfinite(fitted["N_vertex"])]
    six_nd = [
        float(c) / ratio_at(df[df["C"] == c], nv)
        for c, nv in zip(fitted["C"], fitted["N_vertex"], strict=True)
    ]
    a = float(np.polyfit(np.log(six_nd), np.log(fitted["N_vertex"].to_numpy(float)), 1)[0])
    near = held.assign(ratio=held["C"] / (6.0 * held["N"] * held["D"])).sort_values("N")
    below = near[near["N"] <= n].tail(1)
    above = near[near["N"] > n].head(1)
    around = ", ".join(
        f"N {row.N:.3g}: {row.ratio:.4f}" for row in (*below.itertuples(), *above.itertuples())
    )
    return [
        f"{dataset}: held-out budget C = {budgets[-1]:.3g} FLOPs, empirical vertex N "
        f"{n:.4g} [{lo:.4g}, {hi:.4g}] params; C / 6ND of the runs around it {around}; at the "
        f"vertex {r:.4f} ({r_lo:.4f} .. {r_hi:.4f} over its interval), ln {np.log(r):.4f}",
        f"{dataset}: a = d ln N_vertex / d ln 6ND over the {len(fitted)} fitted budgets "
        f"{a:.3f}; offset of the predicted ln N_opt a * ln(C / 6ND) = {a * np.log(r):+.4f} "
        f"(a = 0.5: {0.5 * np.log(r):+.4f}; over the vertex interval {a * np.log(r_lo):+.4f} .. "
        f"{a * np.log(r_hi):+.4f})",
    ]


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="output folder")
    args = parser.parse_args(argv)
    lines = [
        header("benchmarks/marin_nopt_offset.py", argv),
        "# no fit; REAL Marin runs, ../shared/data",
    ]
    for dataset in CORPORA:
        lines += corpus_lines(dataset)
    text = "\n".join(lines)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "marin_nopt_offset.txt").write_text(text + "\n")
    print(text)
    return text


if __name__ == "__main__":
    main()
