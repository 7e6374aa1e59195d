"""Where a lone worker's CPU goes (issue 16): per-thread CPU of SBC fits in one plain process.

Runs ``--fits`` SBC fits (SIMULATED prior-draw tables, 1 chain x 200 + 200 each, as
``speed.py --only batch``) one after another in a fresh Python process, after two warm-up
fits, with no executor, Dask or pool around them, and reads each thread's CPU seconds from
``/proc/self/task`` (Linux). Twice: with ``bl.worker_env()`` (XLA's single-thread flag,
single-threaded BLAS) and with no XLA flags. Prints the wall time, the process's CPU seconds
per wall second and the CPU of each named thread: the Python main thread against XLA's own
threads (``tf_XLAEigen``...), which run the compiled sampler whatever the flags.

    python benchmarks/xla_threads.py [--fits 20] [--out benchmarks/output/xla_threads.txt]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header, machine  # noqa: E402  (benchmarks/bench_provenance.py)

HERE = Path(__file__).resolve().parent


def thread_cpu() -> dict:
    """(thread id, name) -> user + system CPU seconds of every thread of this process."""
    out, tick = {}, os.sysconf("SC_CLK_TCK")
    for tid in os.listdir("/proc/self/task"):
        try:
            name = Path(f"/proc/self/task/{tid}/comm").read_text().strip()
            fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # the thread ended
            continue
        out[(tid, name)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def child(fits: int) -> None:
    """In the fresh process: time ``fits`` SBC fits, print a JSON line."""
    from bayeslaws.posterior.calibration import sbc_items, sbc_rank

    items = sbc_items("chinchilla", "gaussian", n_sims=fits + 2, warmup=200, draws=200, thin=1)
    for item in items[:2]:
        sbc_rank(item)  # compile / load, outside the timing
    before, cpu0, started = thread_cpu(), time.process_time(), time.perf_counter()
    for item in items[2:]:
        sbc_rank(item)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
    by_name: dict = defaultdict(float)
    for key, seconds in thread_cpu().items():
        by_name[key[1]] += seconds - before.get(key, 0.0)
    print(json.dumps({"wall": wall, "cpu": cpu, "threads": by_name}))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fits", type=int, default=20)
    parser.add_argument("--out", default=str(HERE / "output" / "xla_threads.txt"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.fits)
        return
    import bayeslaws as bl

    lines = [
        header("benchmarks/xla_threads.py", argv, machine()),
        f"{args.fits} SBC fits of SIMULATED tables (1 chain x 200 + 200 each), one after another "
        "in one fresh process, no executor",
    ]
    base = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    setups = {
        "bl.worker_env()": {**base, **bl.worker_env(base)},
        "no XLA flags": {**base, "BAYESLAWS_QUIET": "1"},
    }
    for label, env in setups.items():
        run = subprocess.run(
            [sys.executable, __file__, "--child", "--fits", str(args.fits)],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        out = json.loads(run.stdout.strip().splitlines()[-1])
        shown = sorted(out["threads"].items(), key=lambda kv: -kv[1])
        threads = ", ".join(f"{name} {sec:.2f} s" for name, sec in shown if sec >= 0.01)
        lines.append(
            f"  {label} (XLA_FLAGS={env.get('XLA_FLAGS', '')!r}): wall {out['wall']:.2f} s, "
            f"CPU {out['cpu']:.2f} s, {out['cpu'] / out['wall']:.2f} CPU seconds per wall "
            f"second; by thread name: {threads}"
        )
        print(lines[-1], flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
