"""Memory regions mapped by one process that runs many fits: Step Law design campaigns
replayed in this process (ours, random and V-optimal, seed 0, to 25% of the pool's compute:
dozens of fits, designs and predictions of new shapes), with bayeslaws' release of compiled
kernels (default) or without it (--no-release).

Compiled XLA kernels stay mapped until JAX's caches are cleared; past Linux's per-process limit
(vm.max_map_count) LLVM aborts the process ("Cannot allocate memory": the in-process Step Law
replay died so after about 1,300 s). bayeslaws.inference.memory clears the compiled caches
when the regions pass half the limit. This prints the regions sampled every few seconds, their
peak (over the samples, the count at the end and the count just before each release), and each
release (regions before, after).

    python benchmarks/memory_regions.py              # -> benchmarks/output/memory_regions.txt
    python benchmarks/memory_regions.py --no-release # the same without the release
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import design_replay  # noqa: E402  (the benchmark's pool loader)
from bench_provenance import header  # noqa: E402  (benchmarks/bench_provenance.py)

from bayeslaws.app import replay  # noqa: E402
from bayeslaws.inference import memory  # noqa: E402


def watch(samples: list, stop: threading.Event, every_s: float) -> None:
    started = time.perf_counter()
    while not stop.wait(every_s):
        samples.append((time.perf_counter() - started, memory.mapped_regions()))


def peak_regions(samples: list, end: int, releases: list) -> int:
    """The most regions this run recorded: over the periodic samples, the count at the end and
    the count just before each release (a release drops the count between two samples, so the
    samples alone can miss the top)."""
    return max([r for _, r in samples] + [end] + [before for before, _ in releases])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-release", action="store_true")
    parser.add_argument("--budgets", nargs="+", type=float, default=[0.01, 0.05, 0.10, 0.25])
    parser.add_argument("--strategies", nargs="+", default=["ours", "random", "vopt"])
    parser.add_argument("--draws", type=int, default=200, help="as design_replay.py's")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if memory.mapped_regions() is None:
        print("no /proc/self/maps here: nothing to measure")
        return
    if args.no_release:
        memory.CROWDED_FRACTION = 1.0  # past the limit the process is gone anyway
    warnings.filterwarnings("ignore")
    pool = design_replay.load_pool("steplaw", lambda line: None)
    samples, stop = [], threading.Event()
    thread = threading.Thread(target=watch, args=(samples, stop, args.every), daemon=True)
    started = time.perf_counter()
    thread.start()
    history, _ = replay.replay_many(
        pool,
        tuple(args.strategies),
        (0,),
        budgets=args.budgets,
        sampler={"warmup": args.draws, "draws": args.draws},
        show_progress=False,
    )
    stop.set()
    thread.join()
    wall = time.perf_counter() - started
    end = memory.mapped_regions()
    peak = peak_regions(samples, end, memory.RELEASES)
    setting = "without release" if args.no_release else "with release (default)"
    lines = [
        header("benchmarks/memory_regions.py", argv),
        f"Step Law campaigns ({', '.join(args.strategies)}; seed 0; budgets {args.budgets}) "
        f"in one process, {setting}: "
        f"{len(history)} scored fits in {wall:.0f} s; mapped regions: limit "
        f"{memory.map_limit()}, peak {peak} (of the samples, the end and the counts before "
        f"each release), at the end {end}; releases "
        f"{len(memory.RELEASES)} {memory.RELEASES}",
        f"regions every ~{args.every:.0f} s: {[r for _, r in samples]}",
    ]
    text = "\n".join(lines)
    print(text)
    suffix = "_no_release" if args.no_release else ""
    out = Path(args.out) if args.out else HERE / "output" / f"memory_regions{suffix}.txt"
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
