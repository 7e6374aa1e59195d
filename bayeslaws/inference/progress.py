"""Progress messages for steps that can take more than a few seconds (a NUTS fit, the GP
hyperparameter search, a screening refit), so that nothing stalls silently.

A step announces itself on stderr only if it is still running after ``PROGRESS_AFTER_S``
seconds, and then says when it ends, with the elapsed time; quick steps print nothing. Set the
environment variable ``BAYESLAWS_QUIET=1`` (or true, yes, on) to silence every message.
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager

from ..runs.environment import flag

PROGRESS_AFTER_S = 3.0  # a step still running after this many seconds is announced
PREFIX = "bayeslaws: "


def quiet() -> bool:
    """True when the flag ``BAYESLAWS_QUIET`` is on (:func:`bayeslaws.runs.environment.flag`:
    1, true, yes, on; 0, false, no, off or unset is off)."""
    return flag("BAYESLAWS_QUIET")


def _write(text: str, stream=None) -> None:
    stream = stream or sys.stderr
    try:
        print(PREFIX + text, file=stream, flush=True)
    except (OSError, ValueError):  # a closed stream must never break the computation
        pass


def note(text: str, stream=None) -> None:
    """Print a one-line notice on stderr (unless ``BAYESLAWS_QUIET`` is set)."""
    if not quiet():
        _write(text, stream)


def ending(error: BaseException | None) -> str:
    """The words before the elapsed time (s) that end an announced step: "done in" when it
    ended normally (``error`` None), "interrupted after" on Ctrl-C (KeyboardInterrupt), else
    "stopped after" (an error went through it)."""
    if error is None:
        return "done in"
    return "interrupted after" if isinstance(error, KeyboardInterrupt) else "stopped after"


@contextmanager
def step(message: str, after: float = PROGRESS_AFTER_S, stream=None):
    """Run a block; if it is still running after ``after`` seconds, print ``message`` (what is
    being done and why it takes time), and print the elapsed time when it ends ("done in X s";
    "interrupted after X s" or "stopped after X s" when Ctrl-C or an error ends it)."""
    if quiet() or after == float("inf"):
        yield
        return
    started = time.perf_counter()
    announced = threading.Event()

    def announce():
        announced.set()
        _write(f"{message} ...", stream)

    timer = threading.Timer(after, announce)
    timer.daemon = True
    timer.start()
    error = None
    try:
        yield
    except BaseException as err:  # said as how the step ended, then raised on
        error = err
        raise
    finally:
        timer.cancel()
        timer.join()  # an announcement in flight finishes before the end is reported
        if announced.is_set():
            elapsed = time.perf_counter() - started
            _write(f"{message}: {ending(error)} {elapsed:.1f} s", stream)
