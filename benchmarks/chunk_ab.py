"""Does sending SBC fits in chunks help on Dask? A paired comparison (issue 16).

On one Dask ``LocalCluster`` of two worker processes (``bl.worker_env()``, warmed first), the
same SBC of ``--sbc-fits`` SIMULATED prior-draw tables (1 chain x 200 + 200 each, as
``speed.py --only batch``) is run ``--pairs`` times with ``chunk_size="auto"`` (sbc's default:
four chunks per worker) and with ``chunk_size=1`` (one fit per Dask task), the order alternating
within each pair. The same cluster serves both arms, so start-up and drift of this shared host
cancel in the paired differences. Prints per run the wall time, the workers' CPU seconds and
this process's (the client's and the LocalCluster scheduler's), then the medians and the paired
differences.

    python benchmarks/chunk_ab.py [--pairs 12] [--sbc-fits 40] [--seed 0]
        [--out benchmarks/output/chunk_ab.txt]

``--seed`` draws other simulated tables: the run that kept sbc's default used seed 0; seed 1 is
its confirmation, run once after that choice, with the rule fixed beforehand that a positive
median paired difference would set the default back to one fit per task.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from bayeslaws.posterior.calibration import sbc, sbc_items

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header, load, machine  # noqa: E402  (benchmarks/bench_provenance.py)

HERE = Path(__file__).resolve().parent
ARMS = ("auto", 1)


def main(argv=None) -> None:
    from speed import (  # benchmarks/speed.py, beside this script
        cpu_seconds,
        dask_cluster,
        sbc_batch_options,
        warm_every_worker,
    )

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=12)
    parser.add_argument("--sbc-fits", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0, help="the simulated tables' seed")
    parser.add_argument("--out", default=str(HERE / "output" / "chunk_ab.txt"))
    args = parser.parse_args(argv)
    options = sbc_batch_options(args.sbc_fits, args.seed)
    lines = [
        header("benchmarks/chunk_ab.py", argv, machine()),
        f"SBC of {args.sbc_fits} SIMULATED tables (1 chain x 200 + 200 each), one LocalCluster of "
        "two worker processes, chunk_size 'auto' against 1, order alternating per pair",
    ]
    print(lines[0], flush=True)
    runs: dict = {arm: [] for arm in ARMS}  # arm -> [(wall s, workers' CPU s, client CPU s)]
    with dask_cluster(2) as client:
        sbc("chinchilla", "gaussian", **{**options, "n_sims": 2}, executor=client)
        warm_every_worker(client, options)
        sbc_items("chinchilla", "gaussian", **options)  # the prior draw, outside the timing
        workers, me = list(client.run(os.getpid).values()), [os.getpid()]
        for pair in range(args.pairs):
            for arm in ARMS if pair % 2 == 0 else ARMS[::-1]:
                cpu0, mine0 = cpu_seconds(workers), cpu_seconds(me)
                started = time.perf_counter()
                sbc("chinchilla", "gaussian", **options, executor=client, chunk_size=arm)
                wall = time.perf_counter() - started
                runs[arm].append((wall, cpu_seconds(workers) - cpu0, cpu_seconds(me) - mine0))
                lines.append(
                    f"  pair {pair}, chunk_size={arm!r}: wall {wall:.2f} s, workers' CPU "
                    f"{runs[arm][-1][1]:.2f} s, client + scheduler CPU {runs[arm][-1][2]:.2f} s; "
                    + load()
                )
                print(lines[-1], flush=True)
    chunked, single = np.array(runs["auto"]), np.array(runs[1])
    for arm, values in (("'auto'", chunked), ("1", single)):
        wall, cpu, client_cpu = np.median(values, axis=0)
        lines.append(
            f"chunk_size={arm}: median wall {wall:.2f} s (range {values[:, 0].min():.2f}-"
            f"{values[:, 0].max():.2f}), workers' CPU {cpu:.2f} s, client + scheduler CPU "
            f"{client_cpu:.2f} s"
        )
    diff = chunked[:, 0] - single[:, 0]
    lines.append(
        f"paired wall difference ('auto' - 1): median {np.median(diff):+.2f} s, 'auto' faster in "
        f"{int(np.sum(diff < 0))} of {len(diff)} pairs; client + scheduler CPU difference median "
        f"{np.median(chunked[:, 2] - single[:, 2]):+.2f} s"
    )
    print("\n".join(lines[-3:]))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
