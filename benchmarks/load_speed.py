"""How long ``bl.load_runs`` takes on 1e3, 3e3 and 1e4 rows whose values crowd within 1% of
each other, and how much of it is the search for one value written with two roundings
(``bayeslaws.runs.cells.rounded_twins``, which compared every pair within 1% before: quadratic
in the values crowded that close).

Two SIMULATED tables per size (seeded):

* ``jittered D``: N one of four sizes, D = 20 N jittered by up to 0.5% per run (D computed per
  run around one budget), no twins;
* ``rich, twins``: N and D both jittered, lr, batch_size, two groups, a diverged column, every
  7th row accepted, and a third of the rows writing D rounded to 4 significant digits (many
  twin pairs, each warned of).

Per table: the median wall seconds of ``--repeats`` loads, and of ``rounded_twins`` on its N
and D columns alone. Timings on a shared machine are noisy: the load average is in the header.

    python benchmarks/load_speed.py [--repeats 3] [--out benchmarks/output/load_speed.txt]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import bayeslaws as bl
from bayeslaws.runs.cells import rounded_twins

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header, machine  # noqa: E402  (benchmarks/bench_provenance.py)

HERE = Path(__file__).resolve().parent
ROWS = (1_000, 3_000, 10_000)


def jittered_d(rows: int, seed: int = 0) -> pd.DataFrame:
    """SIMULATED: N one of four sizes (params), D = 20 N (tokens) jittered by up to 0.5%."""
    rng = np.random.default_rng(seed)
    N = rng.choice([1e8, 2e8, 4e8, 8e8], rows)
    D = 20 * N * (1 + rng.uniform(-0.005, 0.005, rows))
    loss = 2 + 400 / N**0.34 + 400 / D**0.28 + rng.normal(0, 0.01, rows)
    return pd.DataFrame({"N": N, "D": D, "loss": loss})


def rich_twins(rows: int, seed: int = 0) -> pd.DataFrame:
    """SIMULATED: N (params) and D (tokens) jittered by up to 0.5%, a third of the D values
    written rounded to 4 significant digits; lr, batch_size, group and diverged columns."""
    rng = np.random.default_rng(seed)
    N = rng.choice([1e8, 2e8, 4e8, 8e8], rows) * (1 + rng.uniform(-0.005, 0.005, rows))
    D = 20 * N * (1 + rng.uniform(-0.005, 0.005, rows))
    D[: rows // 3] = [float(f"{x:.4g}") for x in D[: rows // 3]]
    return pd.DataFrame({
        "N": N,
        "D": D,
        "lr": rng.choice([1e-3, 2e-3, 4e-3], rows),
        "batch_size": rng.choice([2**19, 2**20], rows),
        "loss": 2 + 400 / N**0.34 + 400 / D**0.28 + rng.normal(0, 0.01, rows),
        "group": rng.choice(["a", "b"], rows),
        "diverged": rng.random(rows) < 0.05,
    })  # fmt: skip


TABLES = {
    "jittered D": (jittered_d, {}),
    "rich, twins": (rich_twins, {"group": "group", "accepted_rows": "every 7th"}),
}


def median_seconds(call, repeats: int) -> float:
    """Median wall seconds of ``repeats`` calls of ``call()``."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def time_table(name: str, rows: int, repeats: int) -> str:
    """One line: the table, its rows, median seconds of load_runs and of rounded_twins."""
    make, options = TABLES[name]
    df = make(rows)
    kwargs = {k: v for k, v in options.items() if k != "accepted_rows"}
    if "accepted_rows" in options:
        kwargs["accepted_rows"] = list(range(0, rows, 7))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the twins' warning is expected
        load_s = median_seconds(lambda: bl.load_runs(df, **kwargs), repeats)
    twins_s = median_seconds(lambda: [rounded_twins(df[c]) for c in ("N", "D")], repeats)
    pairs = len(rounded_twins(df["D"]))
    return (
        f"{name:12s} {rows:6d} rows: load_runs {load_s:7.3f} s, rounded_twins (N and D) "
        f"{twins_s:7.3f} s, {pairs} twin pair(s) in D"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "output" / "load_speed.txt"))
    args = parser.parse_args(argv)
    bl.load_runs(jittered_d(10))  # imports and first-call costs outside the timings
    lines = [header("benchmarks/load_speed.py", argv, machine())]
    for name in TABLES:
        for rows in ROWS:
            lines.append(time_table(name, rows, args.repeats))
            print(lines[-1], flush=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
