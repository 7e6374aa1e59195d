"""The protocol's decision rule (docs/calibration_protocol.md, "Decision rule"), applied to the
selection outputs of benchmarks/calibration.py:

    python benchmarks/choose_default.py   # prints; writes output/calibration_choice.txt

By default only the selection part is pooled: the decision recorded in
output/calibration_choice.txt was taken on it alone (the simulation part was run later, after
the confirmation, and only for none, gp and model_cv). `--parts selection,simulation` adds other
parts; the report then says which parts it pooled and is written to
calibration_choice_<parts>.txt, never over the recorded decision.

Methods are compared on the same splits: a split that not every compared method (`--methods`,
default every method in the pooled files) was scored on is dropped, and the report says how
many splits were dropped and which methods lacked them.

Pooled 90% coverage = the fraction of held-out points inside their central 90% interval, over
every kept split: held-out losses (every held-out run with a loss) and N_opt (every held-out
budget with a truth). A candidate passes when both lie in [0.80, 0.95]; among those that pass,
the smallest pooled median relative error of the held-out losses wins (ties within 0.001
broken by the higher mean log predictive density). If none passes, the candidate whose two
coverages lie nearest the band (sum of distances) wins.
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
PARTS = ("selection", "simulation", "confirmation")
DEFAULT_PARTS = ("selection",)
SPLIT_KEY = ["part", "dataset", "split"]


def common_splits(points: pd.DataFrame, methods) -> tuple[pd.DataFrame, list[str]]:
    """Only the splits every one of `methods` was scored on, and a note per dropped split
    (which methods it lacks)."""
    methods = list(methods)
    have = points.groupby(SPLIT_KEY, sort=False)["method"].agg(lambda m: set(m))
    notes = []
    keep = []
    for key, present in have.items():
        missing = [m for m in methods if m not in present]
        if missing:
            notes.append(f"{'/'.join(map(str, key))} (no {', '.join(missing)})")
        else:
            keep.append(key)
    index = pd.MultiIndex.from_frame(points[SPLIT_KEY])
    kept = points[index.isin(keep) & points["method"].isin(methods)]
    return kept.reset_index(drop=True), notes


def pooled(points: pd.DataFrame) -> pd.DataFrame:
    """Per method: pooled coverage of losses and N_opt, median loss error, mean lpd, counts.

    Only scored points count (as in calibration.score): held-out runs with a finite loss
    (``actual``) and budgets with a finite N_opt truth. An unscored point (a run that diverged
    or was never logged, a budget without a truth) is neither hit nor miss; its in90 is False
    or NA in the points file and would lower the coverage."""
    rows = []
    for method, g in points.groupby("method", sort=False):
        loss = g[(g["quantity"] == "loss") & np.isfinite(g["actual"].to_numpy(float))]
        n_opt = g[(g["quantity"] == "N_opt") & np.isfinite(g["truth"].to_numpy(float))]
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
    parser = argparse.ArgumentParser(
        description=" ".join(__doc__.split("\n\n")[0].split()),
    )
    parser.add_argument("--out", default=str(OUT), help="folder of the points files and report")
    parser.add_argument(
        "--parts",
        default=",".join(DEFAULT_PARTS),
        help="comma-separated parts to pool (default: selection, the part the recorded "
        f"decision used; any of {', '.join(PARTS)})",
    )
    parser.add_argument(
        "--methods",
        default=None,
        help="comma-separated methods to compare (default: every method in the pooled files)",
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    bad = [p for p in parts if p not in PARTS]
    if bad or not parts:
        parser.error(f"--parts: unknown part(s) {bad}; choose from {', '.join(PARTS)}")
    missing = [p for p in parts if not (out / f"calibration_points_{p}.csv").exists()]
    if missing:
        print(
            f"no calibration points for part(s) {', '.join(missing)} in {out}: run "
            "benchmarks/calibration.py first",
            file=sys.stderr,
        )
        return 1
    points = pd.concat(
        [read_points(out / f"calibration_points_{p}.csv") for p in parts], ignore_index=True
    )
    points = points[points["part"].isin(parts)]
    methods = (
        [m.strip() for m in args.methods.split(",") if m.strip()]
        if args.methods
        else list(points["method"].drop_duplicates())
    )
    unknown = [m for m in methods if m not in set(points["method"])]
    if unknown:
        parser.error(f"--methods: {', '.join(unknown)} not in the pooled points")
    n_all = points[SPLIT_KEY].drop_duplicates().shape[0]
    points, dropped = common_splits(points, methods)
    if points.empty:
        print(f"no split was scored for every one of {', '.join(methods)}", file=sys.stderr)
        return 1
    pooled_parts = sorted(points["part"].unique())
    table = pooled(points)
    chosen, why = choose(table)
    text = (
        f"pooled over the {', '.join(pooled_parts)} splits "
        f"({points[SPLIT_KEY].drop_duplicates().shape[0]} splits)\n"
    )
    if tuple(parts) != DEFAULT_PARTS:
        text += (
            f"NOTE: parts {', '.join(parts)} requested (--parts); the recorded decision "
            "(calibration_choice.txt) pooled the selection part only\n"
        )
    if dropped:
        text += (
            f"dropped {len(dropped)} of {n_all} splits, not scored for every compared method "
            f"({', '.join(methods)}), so that all are compared on the same splits: "
            + "; ".join(dropped)
            + "\n"
        )
    text += table.to_string(float_format="{:.3f}".format) + f"\n\nchosen: {chosen} ({why})\n"
    print(text)
    name = "calibration_choice.txt"
    if tuple(parts) != DEFAULT_PARTS or args.methods:
        # a non-default pooling never overwrites the recorded decision
        name = "calibration_choice_" + "_".join(parts)
        name += f"_{'-'.join(methods)}.txt" if args.methods else ".txt"
    (out / name).write_text(text)
    print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
