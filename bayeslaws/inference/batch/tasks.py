"""Tasks and results of a batch: a fit's task (:class:`FitTask`), how each task ended
(:class:`TaskResult`), every task's result in task order (:class:`BatchResult`), the errors
recorded per task rather than retried (:data:`NOT_RETRIED`, :class:`UnpicklableResultError`),
and the warnings the tasks emitted in their workers, summarised in one warning when the results
are collected (:func:`collect`, with the failed tasks) or raised again in the client
(:func:`warn_again`). These are what travels between the client and its workers and
what the caller keeps; nothing here imports the batch's other modules."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

# MAIN_MODULES: the main script's module, and its name in a worker
from ...laws import MAIN_MODULES
from ...runs.warn import user_stacklevel


class UnpicklableResultError(TypeError):
    """A task's return value does not pickle, so it cannot come back from a worker process (the
    task's own code to change, not an argument of the batch)."""


@dataclass(frozen=True)
class FitTask:
    """One fit of a batch: ``bl.fit(runs, law=law, **options)``, called ``name``."""

    runs: object
    law: object = "chinchilla"
    options: dict = field(default_factory=dict)
    name: str | None = None


@dataclass
class TaskResult:
    """How one task ended.

    ``value``: what the task's function returned (on success). For a fit (:func:`fit_many`)
    also ``fit`` (a :class:`~.fit.Fit`, when fits come back in memory) or ``path`` (the saved
    netCDF, with ``save_dir``). On failure ``error`` ("ExceptionType: message") and
    ``traceback`` of the last attempt. ``attempts`` counts its submissions by bayeslaws (not
    one cut short by another task's worker dying in the local pool, nor one that a
    ``ProcessPoolExecutor`` or ``ThreadPoolExecutor`` the caller gave never started because it
    broke: such a pool's tasks carry start marks, and one never run counts 0; any other broken
    executor of the caller's keeps no marks, so each task it had been sent, started or not,
    counts as run, an attempt, and carries its error (one never sent counts 0); a task refused
    in the client before submission, as bad input, counts 1); on a Dask cluster the scheduler's
    own retries of a task whose worker died (``distributed.scheduler.allowed-failures``) are
    not counted, since the client is not told of them. ``seconds`` is the wall time of the last
    attempt in its worker (``worker`` = host:pid; None for a task refused in the client),
    ``warnings`` the warnings the task emitted there (for fits: sampler, identifiability,
    outliers), as text ("Category: message"), and ``warning_categories`` each one's category
    class as its import path ``module:QualName`` (:func:`warn_again` raises them again in the
    client as those classes). ``retried_errors``: one record per earlier attempt that failed
    and was submitted again (its error lost otherwise when a retry succeeds), in attempt
    order, each a :class:`TaskResult` of that attempt alone, as a final failure is recorded:
    ``attempts`` its number (1-based), ``error``, ``traceback``, ``seconds``, ``worker``,
    ``warnings`` and ``warning_categories`` of that attempt (its warnings are not in this
    result's ``warnings``, which are the last attempt's); empty for a task that succeeded or
    failed at its first attempt. Not recorded: a run that was not an attempt (a chunk or a
    local pool failed by another task's worker dying, run again uncounted)."""

    index: int
    name: str
    value: object = None
    fit: object = None
    path: str | None = None
    error: str | None = None
    traceback: str | None = None
    attempts: int = 0
    seconds: float = float("nan")
    worker: str | None = None
    warnings: list = field(default_factory=list)
    warning_categories: list = field(default_factory=list)
    # a plain default (a class attribute): a result pickled before this field reads it as ()
    retried_errors: tuple = ()

    @property
    def ok(self) -> bool:
        return self.error is None

    def retried_text(self) -> str | None:
        """The earlier attempts' errors, "attempt 1: ExceptionType: message; attempt 2: ..."
        (with ", N warning(s)" for an attempt that warned), or None when there were none."""
        if not self.retried_errors:
            return None
        return "; ".join(
            f"attempt {r.attempts}: {r.error}"
            + (f", {len(r.warnings)} warning(s)" if r.warnings else "")
            for r in self.retried_errors
        )

    def warnings_text(self) -> str | None:
        """The last attempt's warnings, one entry each: its first line ("Category: message"),
        a text repeated shown once with "(xN)", joined by " | " in order; None when there were
        none (the full texts: ``warnings``)."""
        return _warnings_summary(self.warnings)

    def load(self):
        """The fit: in memory, or read from ``path``."""
        if self.error is not None:
            raise RuntimeError(f"task {self.name!r} failed: {self.error}")
        if self.fit is not None:
            return self.fit
        from ..fit import load_fit

        return load_fit(self.path)


def _warnings_summary(texts: Iterable[str]) -> str | None:
    """Warning texts ("Category: message", possibly several lines) as one line: each text's
    first line, in order of first appearance, one repeated shown once with " (xN)", joined by
    " | "; None for no texts."""
    counts: dict[str, int] = {}
    for text in texts:
        first = str(text).strip().partition("\n")[0].rstrip()
        counts[first] = counts.get(first, 0) + 1
    if not counts:
        return None
    return " | ".join(line + (f" (x{n})" if n > 1 else "") for line, n in counts.items())


class BatchResult(list):
    """The :class:`TaskResult` of every task, in task order; ``label`` names the batch in
    messages (``"fit_many"``, ``"backtests"``), ``noun`` its tasks (``"fits"``)."""

    def __init__(self, results=(), *, label: str = "map_tasks", noun: str = "tasks"):
        super().__init__(results)
        self.label = label
        self.noun = noun

    @property
    def failed(self) -> list:
        return [r for r in self if not r.ok]

    @property
    def values(self) -> list:
        """The tasks' return values in task order (None for a failed task)."""
        return [r.value if r.ok else None for r in self]

    @property
    def fits(self) -> list:
        """The fits in task order (None for a failed task); saved fits are loaded."""
        return [r.load() if r.ok else None for r in self]

    def table(self) -> pd.DataFrame:
        """One row per task: name, ok, attempts, seconds, worker, path, error, retried_errors
        (the earlier attempts' errors, :meth:`TaskResult.retried_text`; None when the task
        was not retried), warnings (the number of the last attempt's warnings) and
        warnings_text (which they were: :meth:`TaskResult.warnings_text`, each one's first
        line; None when the task did not warn)."""
        return pd.DataFrame(
            [
                {
                    "name": r.name,
                    "ok": r.ok,
                    "attempts": r.attempts,
                    "seconds": r.seconds,
                    "worker": r.worker,
                    "path": r.path,
                    "error": r.error,
                    "retried_errors": r.retried_text(),
                    "warnings": len(r.warnings),
                    "warnings_text": r.warnings_text(),
                }
                for r in self
            ]
        ).set_index("name")

    def raise_for_failures(self) -> None:
        """Raise one error naming every failed task and its error."""
        if self.failed:
            lines = "; ".join(f"{r.name!r}: {r.error}" for r in self.failed)
            raise RuntimeError(
                f"{self.label}: {len(self.failed)} of {len(self)} {self.noun} failed: {lines}"
            )


NOT_RETRIED = (ValueError, TypeError, KeyError)  # bad input fails the same way every time


def collect(
    results: Iterable, label: str, noun: str, about: str = "", *, summary: bool = True
) -> BatchResult:
    """The results in task order as a :class:`BatchResult`, with one warning (reported here,
    not lost in a worker's log) naming the tasks that failed and those that warned in their
    workers (the result holds their errors and warnings). ``summary`` False: no such warning,
    for a caller that does not return the result and so raises the tasks' warnings again
    itself (:func:`warn_again`) and its failures (:meth:`BatchResult.raise_for_failures`)."""
    batch = BatchResult(sorted(results, key=lambda r: r.index), label=label, noun=noun)
    if not summary:
        return batch
    parts, see = [], []
    failed = batch.failed
    if failed:
        parts.append(
            f"{len(failed)} of {len(batch)} {noun} failed: {_names(r.name for r in failed)} "
            f"(first error: {_first_line(failed[0].error)})"
        )
        see += ["result.failed", "result.raise_for_failures()"]
    warned = [r.name for r in batch if r.warnings]
    if warned:
        parts.append(
            f"{len(warned)} of {len(batch)} {noun} warned in their workers{about}: "
            f"{_names(warned)}"
        )
    if parts:
        see += ["result.table()"] + (["result[i].warnings"] if warned else [])
        shown = ", ".join(see[:-1]) + f" and {see[-1]}"
        warnings.warn(f"{label}: {'; '.join(parts)}; see {shown}", stacklevel=user_stacklevel())
    return batch


def _names(names: Iterable[str], most: int = 10) -> str:
    """Task names quoted and joined with ", ", the first ``most`` of them (then ", ...")."""
    names = list(names)
    return ", ".join(repr(n) for n in names[:most]) + (", ..." if len(names) > most else "")


def _first_line(error: str | None, most: int = 200) -> str:
    """An error's text ("ExceptionType: message") as its first line, cut to ``most``
    characters (the whole text: ``result.failed``)."""
    line = str(error).strip().partition("\n")[0].rstrip()
    return line if len(line) <= most else line[: most - 3] + "..."


def warn_again(results: Iterable[TaskResult], label: str) -> None:
    """Raise again in the client, at the user's line, every warning that the tasks of
    ``results`` emitted in their workers (:attr:`TaskResult.warnings`), in the order given:
    each as its own category (:attr:`TaskResult.warning_categories`; when that class is not
    imported in this process, nothing is imported for it: a ``UserWarning`` whose text keeps
    the category's name), its message prefixed with ``label`` and the task's name. For a
    batch whose caller returns tables, not the :class:`BatchResult` (``replay_many``):
    :func:`map_tasks` and :func:`fit_many` summarise them in one warning instead
    (:func:`collect`), as their result holds them."""
    for result in results:
        categories = list(result.warning_categories)
        for k, text in enumerate(result.warnings):
            category = _warning_category(categories[k]) if k < len(categories) else None
            prefix = "" if category is None else f"{category.__name__}: "
            if category is None or not text.startswith(prefix):
                category, message = UserWarning, text  # the category's name stays in the text
            else:
                message = text[len(prefix) :]
            warnings.warn(
                f"{label}: {result.name!r}: {message}", category, stacklevel=user_stacklevel()
            )


def _warning_category(ref: str) -> type[Warning] | None:
    """The warning class at import path ``module:QualName`` (a worker's ``__mp_main__`` read as
    ``__main__``) when its module is imported in this process; None otherwise (nothing is
    imported for it: a worker's module may not be importable, or safe to import, here)."""
    module, _, qualname = ref.partition(":")
    target = sys.modules.get("__main__" if module in MAIN_MODULES else module)
    for part in qualname.split("."):
        if target is None:
            return None
        target = getattr(target, part, None)
    return target if isinstance(target, type) and issubclass(target, Warning) else None
