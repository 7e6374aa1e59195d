"""Where a benchmark's output came from: the first line of a file a script writes records the
command (its arguments as given), the date (UTC) and the checkout's commit, and for timings the
machine (:func:`machine`: cores, load average). Imported by the scripts beside it
(``sys.path`` holds ``benchmarks/`` when one runs as ``python benchmarks/NAME.py``)."""

from __future__ import annotations

import datetime
import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def git(*args) -> str:
    """Output of a read-only git command in the checkout ("" when git is unavailable)."""
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def commit() -> str:
    """The checkout's short commit, ``+changes`` when tracked files differ from it ("unknown"
    without git)."""
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def header(script: str, argv=None, details=()) -> str:
    """``# python <script> <argv>; <date> UTC; commit <commit>[; <detail>...]``, the first line
    of every text file a benchmark writes; ``script``: its path from the checkout (e.g.
    "benchmarks/design_replay.py"); ``argv``: the arguments given (None: this process's command
    line); ``details``: strings the run adds to the line (e.g. cores, versions, load)."""
    given = sys.argv[1:] if argv is None else [str(a) for a in argv]
    command = shlex.join(["python", script, *given])
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "; ".join([f"# {command}", now, f"commit {commit()}", *details])


def load() -> str:
    """``load average <1 min> <5 min> <15 min>`` (2 decimals, runnable processes): the load a
    timing ran under."""
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> list[str]:
    """``["<n> cores", load()]``: the machine a timing ran on, details for :func:`header`."""
    return [f"{os.cpu_count()} cores", load()]
