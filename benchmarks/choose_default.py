"""The protocol's decision rule (docs/calibration_protocol.md, "Decision rule"), applied to the
selection and simulation outputs of benchmarks/calibration.py:

    python benchmarks/choose_default.py   # prints; writes output/calibration_choice.txt

Pooled 90% coverage = the fraction of held-out points inside their central 90% interval, over
every selection and simulation split: held-out losses (every held-out run) and N_opt (every
held-out budget with a truth). A candidate passes when both lie in [0.80, 0.95]; among those
that pass, the smallest pooled median relative error of the held-out losses wins (ties within
0.001 broken by the higher mean log predictive density). If none passes, the candidate whose
two coverages lie nearest the band (sum of distances) wins.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from calibration import read_points  # noqa: E402

OUT = ROOT / "benchmarks" / "output"
CANDIDATES = ("model", "model_tl", "model_cv")
BAND = (0.80, 0.95)
PARTS = ("selection", "simulation")


def pooled(points: pd.DataFrame) -> pd.DataFrame:
    """Per method: pooled coverage of losses and N_opt, median loss error, mean lpd, counts."""
    rows = []
    for method, g in points.groupby("method", sort=False):
        loss = g[g["quantity"] == "loss"]
        n_opt = g[g["quantity"] == "N_opt"]
        rows.append(
            {
                "method": method,
                "n_loss": len(loss),
                "cov90_loss": float(loss["in90"].mean()),
                "n_N_opt": len(n_opt),
                "cov90_N_opt": float(n_opt["in90"].mean()) if len(n_opt) else float("nan"),
                "error_loss": float(np.median(np.abs(loss["median"] / loss["actual"] - 1))),
                "error_N_opt": float(np.median(n_opt["log_error"])) if len(n_opt) else np.nan,
                "lpd_loss": float(loss["lpd"].mean()),
                "width90_loss": _median_width(loss),
                "width90_N_opt": _median_width(n_opt),
            }
        )
    return pd.DataFrame(rows).set_index("method")


def _median_width(g: pd.DataFrame) -> float:
    """Median relative width (upper - lower) / median of the central 90% intervals."""
    if not len(g):
        return float("nan")
    return float(np.median((g["upper90"] - g["lower90"]) / g["median"]))


def distance_from_band(x: float) -> float:
    return float(max(0.0, BAND[0] - x, x - BAND[1]))


def choose(table: pd.DataFrame, candidates=CANDIDATES) -> tuple[str, str]:
    """(the chosen method, why) by the protocol's rule."""
    cand = table.loc[[c for c in candidates if c in table.index]].copy()
    cols = ["cov90_loss", "cov90_N_opt"]
    cand["passes"] = cand[cols].apply(lambda r: all(BAND[0] <= v <= BAND[1] for v in r), axis=1)
    passing = cand[cand["passes"]]
    if len(passing):
        best = passing["error_loss"].min()
        tied = passing[passing["error_loss"] <= best + 0.001]
        chosen = tied["lpd_loss"].idxmax()
        return chosen, f"{len(passing)} candidate(s) pass the coverage band; smallest error"
    cand["distance"] = cand[cols].apply(lambda r: sum(distance_from_band(v) for v in r), axis=1)
    chosen = cand["distance"].idxmin()
    return chosen, "no candidate passes the band; nearest to it (sum of distances)"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    out = Path(args.out)
    frames = [
        read_points(out / f"calibration_points_{p}.csv")
        for p in PARTS
        if (out / f"calibration_points_{p}.csv").exists()
    ]
    if not frames:
        print("no calibration points yet: run benchmarks/calibration.py first", file=sys.stderr)
        return 1
    points = pd.concat(frames, ignore_index=True)
    parts = sorted(points["part"].unique())
    table = pooled(points)
    chosen, why = choose(table)
    text = (
        f"pooled over the {', '.join(parts)} splits "
        f"({points[['dataset', 'split']].drop_duplicates().shape[0]} splits)\n"
        + table.to_string(float_format="{:.3f}".format)
        + f"\n\nchosen: {chosen} ({why})\n"
    )
    print(text)
    (out / "calibration_choice.txt").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
