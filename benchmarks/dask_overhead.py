"""Where a batch of small fits loses time on Dask (issue 16's SBC speed-up): the same SBC of
SIMULATED prior-draw tables as ``speed.py --only batch`` with two workers, through four Dask
set-ups and a plain process pool.

The set-ups:

* a Dask ``LocalCluster`` (two worker processes, ``bl.worker_env()``), Dask's defaults, the
  fits sent as sbc sends them by default (``chunk_size="auto"``: four chunks per worker, 5
  fits each for 40);
* the same with one fit per Dask task (``chunk_size=1``, sbc's behaviour before it chunked);
* the same with each worker process, all its threads included, pinned to its own core
  (``speed.pin_one_core_each``: XLA runs a fit on a thread pool that ``bl.worker_env()``'s
  flags do not confine to one core);
* the same with Dask's statistical profiler off (``distributed.worker.profile.enabled``: each
  worker samples its threads' stacks every 10 ms by default);
* a plain ``concurrent.futures`` process pool of two ``spawn`` processes (no Dask), sbc's
  default chunks,

The set-ups are interleaved over ``--repeats`` repeats in an order that rotates, each warmed
first (every Dask worker runs one fit). Per batch it prints the wall time, the CPU seconds of
the worker processes and of this process (the client, and the LocalCluster's scheduler, which
runs in it), so that the cost of Dask's scheduler, client and worker threads shows as CPU beside
the fits' own.

    python benchmarks/dask_overhead.py [--repeats 4] [--sbc-fits 40]
        [--out benchmarks/output/dask_overhead.txt]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from speed import cpu_seconds, sbc_batch_options  # benchmarks/speed.py, beside this

import bayeslaws as bl
from bayeslaws.inference.batch import local_executor
from bayeslaws.posterior.calibration import sbc, sbc_items

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header, load, machine  # noqa: E402  (benchmarks/bench_provenance.py)

HERE = Path(__file__).resolve().parent
SETUPS = (
    "dask",
    "dask, one fit per task",
    "dask, workers pinned",
    "dask, profiler off",
    "process pool",
)


def timed_batch(
    executor, worker_pids, options: dict, chunk_size="auto"
) -> tuple[float, float, float]:
    """(wall s, workers' CPU s, this process's CPU s) of one SBC through ``executor``, its
    fits ``chunk_size`` per submission."""
    sbc_items("chinchilla", "gaussian", **options)  # the prior draw, compiled outside the timing
    me = [os.getpid()]
    workers0, client0 = cpu_seconds(worker_pids), cpu_seconds(me)
    started = time.perf_counter()
    sbc("chinchilla", "gaussian", **options, executor=executor, chunk_size=chunk_size)
    wall = time.perf_counter() - started
    return wall, cpu_seconds(worker_pids) - workers0, cpu_seconds(me) - client0


def dask_batch(
    options: dict, profiler: bool, chunk_size, pinned: bool
) -> tuple[float, float, float]:
    import dask
    import distributed  # noqa: F401  (its config defaults load before the override below)
    from speed import dask_cluster, pin_one_core_each, warm_every_worker

    with (
        dask.config.set({"distributed.worker.profile.enabled": profiler}),
        dask_cluster(2) as client,
    ):
        if pinned:
            pin_one_core_each(client)
        sbc("chinchilla", "gaussian", **{**options, "n_sims": 2}, executor=client)  # warm
        warm_every_worker(client, options)
        pids = list(client.run(os.getpid).values())
        return timed_batch(client, pids, options, chunk_size)


def pool_batch(options: dict) -> tuple[float, float, float]:
    saved = dict(os.environ)
    os.environ.update(bl.worker_env())  # the spawned processes copy it
    try:
        with local_executor(2) as pool:
            sbc("chinchilla", "gaussian", **{**options, "n_sims": 4}, executor=pool)  # warm
            return timed_batch(pool, list(pool._processes), options)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_setup(name: str, options: dict) -> tuple[float, float, float]:
    if name == "process pool":
        return pool_batch(options)
    chunk_size = 1 if name == "dask, one fit per task" else "auto"
    return dask_batch(
        options,
        profiler=name != "dask, profiler off",
        chunk_size=chunk_size,
        pinned=name == "dask, workers pinned",
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--sbc-fits", type=int, default=40)
    parser.add_argument("--out", default=str(HERE / "output" / "dask_overhead.txt"))
    args = parser.parse_args(argv)
    options = sbc_batch_options(args.sbc_fits)
    lines = [
        header("benchmarks/dask_overhead.py", argv, machine()),
        f"SBC of {args.sbc_fits} SIMULATED tables (1 chain x 200 + 200 each), two workers",
    ]
    print(lines[0], flush=True)
    results: dict = {name: [] for name in SETUPS}
    for repeat in range(args.repeats):  # the order rotates, so drift does not favour one
        turn = repeat % len(SETUPS)
        for name in SETUPS[turn:] + SETUPS[:turn]:
            results[name].append(run_setup(name, options))
            wall, workers, client = results[name][-1]
            lines.append(
                f"  repeat {repeat}, {name}: wall {wall:.2f} s, workers' CPU {workers:.2f} s, "
                f"client + scheduler CPU {client:.2f} s; {load()}"
            )
            print(lines[-1], flush=True)
    lines.append("medians:")
    for name in SETUPS:
        wall, workers, client = np.median(np.array(results[name]), axis=0)
        lo, hi = min(r[0] for r in results[name]), max(r[0] for r in results[name])
        lines.append(
            f"  {name}: wall {wall:.2f} s (range {lo:.2f}-{hi:.2f}), workers' CPU {workers:.2f} s, "
            f"client + scheduler CPU {client:.2f} s"
        )
    print("\n".join(lines[-1 - len(SETUPS) :]))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
