"""Run the paper-reproduction scripts (``paper_repro/*.py`` in a checkout) with small draws.

The scripts write their results next to themselves, so :func:`run_repro` copies them into an
output folder and runs the copies there: the committed ``paper_repro/results`` stay untouched.
Scripts that read the third-party tables in ``../shared/data`` are skipped (with a message)
when those are absent.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from ..runs.bundled import CHECKOUT_ROOT, SharedDataMissing, shared_table

PAPER_REPRO = CHECKOUT_ROOT / "paper_repro"
# script -> (needs ../shared/data, arguments for a small run given draws per chain)
SCRIPTS = {
    "yin": (False, lambda d: ["--replicates", "1", "--draws", str(d), "--joint-draws", str(d)]),
    "liang": (False, lambda d: ["--draws", str(d)]),
    "porian": (True, lambda d: ["--draws", str(d), "--no-holdout"]),
    "epoch": (
        True,
        lambda d: (
            ["--draws", str(d), "--chains", "2", "--recovery-seeds", "2"]
            + ["--recovery-draws", str(d)]
        ),
    ),
    "hyperparams": (
        False,
        lambda d: (
            ["--parts", "recovery,grid", "--chains", "2", "--warmup", str(d)] + ["--draws", str(d)]
        ),
    ),
}
DEFAULT_SCRIPTS = ("yin", "liang", "porian")  # run when ``only`` is None
MIN_DRAWS = 10  # the fewest posterior draws a reproduction takes


def _shared_available() -> bool:
    """Whether the third-party tables the scripts that need them read (porian.py, epoch.py)
    are all there: ``shared_data_dir()`` holds each of their files (a folder without them, e.g.
    ``BAYESLAWS_SHARED_DATA`` naming shared/ rather than shared/data/, is absent: the scripts
    are skipped, not run to fail)."""
    tables = (
        ("porian_isoflop", "isoflop_points.csv"),
        ("porian_isoflop", "published_fits.csv"),
        ("porian_isoflop", "optimal_pairs.csv"),
        ("epoch_chinchilla", "svg_extracted_data.csv"),
    )
    try:
        for folder, name in tables:
            shared_table(folder, name)
    except SharedDataMissing:
        return False
    return True


def script_names(only) -> list[str]:
    """The scripts to run: ``only`` None -> :data:`DEFAULT_SCRIPTS`; one name ("yin") or a
    sequence of names, each a key of :data:`SCRIPTS` (ValueError naming ``only`` and listing
    the valid names otherwise)."""
    if only is None:
        return list(DEFAULT_SCRIPTS)
    names = [only] if isinstance(only, str) else list(only)
    unknown = [n for n in names if n not in SCRIPTS]
    if unknown or not names:
        what = f"unknown reproduction script(s) {unknown}" if unknown else "no script named"
        raise ValueError(f"only: {what}; choose one or more of {sorted(SCRIPTS)}")
    return names


def run_repro(
    out="repro_output",
    only=None,
    draws: int = 200,
    *,
    stream=None,
    source: Path | None = None,
) -> dict:
    """Run the reproduction scripts ``only`` (one name or a sequence of names, default yin,
    liang, porian: :func:`script_names`) with ``draws`` draws per chain (and as many warm-up
    iterations, except yin's Chinchilla surface fits, at least its SURFACE_MIN_WARMUP = 1000,
    and porian, its own default of 500) in copies under ``out/paper_repro``, then tabulate
    them with ``make_readme.py`` into ``out/paper_repro/README.md`` (whenever at least one
    script succeeded; its status under "make_readme"). Returns {script: status}, status being
    "ok", "failed (exit N)" or "skipped: reason". Progress goes to ``stream`` (stderr)."""
    names = script_names(only)
    stream = stream or sys.stderr
    source = Path(source) if source is not None else PAPER_REPRO
    if not source.is_dir():
        raise FileNotFoundError(
            f"no paper_repro folder at {str(source)!r}: 'repro' needs a checkout of the "
            "bayeslaws repository (the scripts are not installed with the package)"
        )
    if not isinstance(draws, int) or draws < MIN_DRAWS:
        raise ValueError(f"draws must be an integer >= {MIN_DRAWS}, got {draws!r}")
    out = Path(out).resolve()  # the scripts run with cwd=out: a relative path would resolve twice
    work = out / "paper_repro"
    (work / "results").mkdir(parents=True, exist_ok=True)
    for script in source.glob("*.py"):
        shutil.copy2(script, work / script.name)
    shared = _shared_available()
    status = {}
    t0 = time.perf_counter()
    for k, name in enumerate(names, 1):
        needs_shared, args = SCRIPTS[name]
        head = f"[{k}/{len(names)} +{time.perf_counter() - t0:5.0f}s] {name}.py"
        if needs_shared and not shared:
            status[name] = "skipped: ../shared/data is absent (set BAYESLAWS_SHARED_DATA)"
            print(f"{head}: {status[name]}", file=stream, flush=True)
            continue
        cmd = [sys.executable, str(work / f"{name}.py"), *args(draws)]
        print(f"{head}: {' '.join(cmd[1:])}", file=stream, flush=True)
        code = subprocess.call(cmd, cwd=str(Path(out)))
        status[name] = "ok" if code == 0 else f"failed (exit {code})"
    # make_readme.py tabulates every results file (the common-schema ones in the main table,
    # epoch_fit.csv mapped into it, every other CSV as its own table): run it after any success
    succeeded = [n for n in names if status[n] == "ok"]
    if succeeded and (work / "make_readme.py").exists():
        code = subprocess.call(
            [sys.executable, str(work / "make_readme.py")],
            cwd=str(Path(out)),
            stdout=subprocess.DEVNULL,
        )
        status["make_readme"] = "ok" if code == 0 else f"failed (exit {code})"
    print(f"done in {time.perf_counter() - t0:.0f}s: results in {work / 'results'}", file=stream)
    return status
