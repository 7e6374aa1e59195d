"""Post-hoc re-summary of the stored N_opt results of benchmarks/calibration.py (no refits, no
method re-chosen): per part, data set and method, the N_opt 90% hits counted as stored and
without intervals that end at the isoFLOP search edge, and the protocol's error.

    python benchmarks/calibration_rescore.py

Reads the committed points files benchmarks/output/calibration_points_{selection,confirmation,
simulation}.csv, written before the fixes of 2026-12 (edge-bounded intervals, bootstrap bounds
with few groups, the widths ray, the N_opt error column), and writes
benchmarks/output/calibration_rescore.txt.

- edge-bounded: an N_opt 90% interval with an end at the search range's edge, by
  ``bayeslaws.posterior.calibration.edge_bounded`` (the search range of
  ``bayeslaws.laws.optimum.search_range`` at the row's budget C, margin 2 coarse-grid steps);
- hits: ``in90`` as stored; bounded hits: ``in90`` and not edge-bounded;
- error: median |ln(median / truth)| over budgets (the protocol's N_opt error; the stored
  scores files hold median(exp(|ln|) - 1) under ``error`` instead).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_provenance import header  # noqa: E402  (benchmarks/bench_provenance.py)
from calibration import OUT, read_points  # noqa: E402  (benchmarks/calibration.py)

from bayeslaws.posterior import calibration as cal  # noqa: E402

PARTS = ("selection", "confirmation", "simulation")
HEADER = """\
Post-hoc re-summary of stored results (benchmarks/calibration_rescore.py): no method
re-chosen, no constant changed, no refit. The confirmation data stay spent; the choice of
model_cv (calibration_choice.txt) stands as recorded.
Source: the committed benchmarks/output/calibration_points_<part>.csv, produced before the
2026-12 fixes of bayeslaws.posterior.calibration (see docs/calibration_protocol.md).
N_opt rows only. n: held-out budgets with a truth; hits: truth inside the 90% interval (as
stored); edge: intervals with an end at the isoFLOP search edge (search range from
bayeslaws.laws.optimum.search_range at the budget C, 10 params .. 1e6 sqrt(C), margin
{steps} coarse-grid steps in ln N); bounded hits: hits whose interval is not edge-bounded;
log_err: median |ln(median / truth)| (the protocol's error).
"""


def n_opt_rows(points: pd.DataFrame) -> pd.DataFrame:
    """The N_opt rows of a points file with ``edge``, ``bounded_hit`` and ``abs_log_error``."""
    rows = points[points["quantity"] == "N_opt"].copy()
    rows["edge"] = cal.edge_bounded(rows["lower90"], rows["upper90"], rows["C"].to_numpy(float))
    rows["bounded_hit"] = rows["in90"].astype(bool) & ~rows["edge"]
    rows["abs_log_error"] = np.abs(np.log(rows["median"] / rows["truth"]))
    return rows


def summary(rows: pd.DataFrame, by) -> pd.DataFrame:
    """Counts per group ``by``: n, hits, edge, bounded hits, their shares and log_err."""
    out = rows.groupby(by, sort=False).agg(
        n=("in90", "size"),
        hits=("in90", "sum"),
        edge=("edge", "sum"),
        bounded_hits=("bounded_hit", "sum"),
        log_err=("abs_log_error", "median"),
    )
    out["cov90"] = out["hits"] / out["n"]
    out["cov90_bounded"] = out["bounded_hits"] / out["n"]
    return out.reset_index()


def report() -> str:
    """The text of calibration_rescore.txt."""
    lines = [HEADER.format(steps=cal.EDGE_STEPS)]
    fmt = {"log_err": "{:.3f}".format, "cov90": "{:.2f}".format, "cov90_bounded": "{:.2f}".format}
    for part in PARTS:
        rows = n_opt_rows(read_points(OUT / f"calibration_points_{part}.csv"))
        stored = rows["log_error"].to_numpy(float)
        same = np.allclose(stored, rows["abs_log_error"], rtol=1e-9, equal_nan=True)
        lines.append(f"== {part} ({len(rows)} N_opt rows; stored log_error agrees: {same})")
        lines.append("-- per data set and method")
        lines.append(summary(rows, ["dataset", "method"]).to_string(index=False, formatters=fmt))
        lines.append("-- pooled per method")
        lines.append(summary(rows, ["method"]).to_string(index=False, formatters=fmt))
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    text = header("benchmarks/calibration_rescore.py") + "\n" + report()
    (OUT / "calibration_rescore.txt").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
