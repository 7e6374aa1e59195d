"""Wall time and peak memory of the main job, ``bayeslaws demo``, as a newcomer's first run:
a new process with an empty compilation cache (``BAYESLAWS_COMPILATION_CACHE`` set to a fresh
folder), on the bundled SIMULATED sweep, figures on. Then a second run on the now-filled cache.

    python benchmarks/demo_timing.py [--out benchmarks/output/demo_timing.txt]

Peak memory is the demo process's maximum resident set size (``os.wait4``'s resource usage, kB
on Linux). The machine's load average is printed beside each run: wall times under load are longer.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import commit  # noqa: E402  (benchmarks/bench_provenance.py)

OUT = Path(__file__).resolve().parent / "output" / "demo_timing.txt"


def cli() -> str:
    """The ``bayeslaws`` command the README runs: beside this Python, else on the PATH."""
    beside = Path(sys.executable).with_name("bayeslaws")
    found = str(beside) if beside.exists() else shutil.which("bayeslaws")
    if found is None:
        raise SystemExit("no 'bayeslaws' command: install the package (pip install -e .)")
    return found


def run_demo(cache: Path, out: Path) -> tuple[float, int, int]:
    """One ``bayeslaws demo`` process: (wall s, its peak resident memory kB, exit code)."""
    env = {**os.environ, "BAYESLAWS_COMPILATION_CACHE": str(cache)}
    started = time.perf_counter()
    child = subprocess.Popen(
        [cli(), "demo", "--out", str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(child.pid, 0)  # this child's own resource usage
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss, child.returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# python benchmarks/demo_timing.py (SIMULATED bundled sweep); {now}; commit {commit()}; "
        f"{os.cpu_count()} cores"
    ]
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        for label in ("first run (empty compilation cache)", "second run (cache filled)"):
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            wall, peak_kb, rc = run_demo(cache, Path(tmp) / "demo")
            lines.append(
                f"{label}: {wall:.1f} s wall, peak memory {peak_kb / 1e6:.2f} GB "
                f"({peak_kb} kB max RSS), exit code {rc}; load average before: {load}"
            )
            print(lines[-1], flush=True)
            if rc:
                break
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
