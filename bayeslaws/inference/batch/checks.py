"""What the client checks before it submits anything: a batch's arguments (its items, their
names, ``workers``, ``retries``, ``chunk_size``, a function that pickles), refused at once with
an error naming the argument, and whether each item can reach the local pool's ``spawn`` worker
processes (it pickles, and refers to nothing of a ``__main__`` they cannot import:
:func:`refusals`), so that an item that cannot is recorded as bad input rather than left to
fail or kill a worker; and whether those processes can start at all
(:func:`check_main_spawnable`: a main script that exists, and a batch not started from its top
level outside ``if __name__ == "__main__":``, which each of them would run again)."""

from __future__ import annotations

import ast
import io
import multiprocessing
import multiprocessing.reduction
import os
import pickle
import sys
import types
from collections.abc import Callable, Iterable

# MAIN_MODULES: the main script's module, and its name in a worker
from ...laws import MAIN_MODULES
from ...runs.checks import ArgumentTypeError, check_integer, is_integer


def check_unique(names: list, what: str) -> None:
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{what} must be unique; repeated: {repeated}")


def as_items(items) -> list:
    """``items`` as a non-empty list (a str, bytes or dict is refused: it iterates as
    characters or keys)."""
    if isinstance(items, str | bytes | dict) or not isinstance(items, Iterable):
        raise ArgumentTypeError(
            f"items must be a list of the tasks' inputs, got {type(items).__name__}"
        )
    items = list(items)
    if not items:
        raise ValueError("items is empty: nothing to run")
    return items


def task_names(names, n: int) -> list[str]:
    """``names`` checked (n unique non-empty strings), or ``task0`` ... ``task{n-1}``."""
    if names is None:
        return [f"task{i}" for i in range(n)]
    if isinstance(names, str) or not isinstance(names, Iterable):
        raise ArgumentTypeError(f"names must be a list of strings, got {type(names).__name__}")
    names = list(names)
    if len(names) != n:
        raise ValueError(f"names has {len(names)} entries for {n} items")
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name:
            raise ValueError(f"names[{i}] must be a non-empty string, got {name!r}")
    check_unique(names, "names")
    return names


def check_options(executor, workers, retries, chunk_size=1) -> tuple:
    """(workers, retries, chunk_size) checked, integers as ``int`` (a NumPy integer is one; a
    bool is not): ``workers`` None or >= 1, and only for the local processes (executor None);
    ``retries`` >= 0; ``chunk_size`` >= 1 or ``"auto"``."""
    if workers is not None and executor is not None:
        raise ValueError(
            f"workers applies to the local processes only (executor=None), got "
            f"workers={workers!r} with executor {type(executor).__name__}; size a Dask cluster "
            "with its own options"
        )
    if workers is not None:
        workers = check_integer("workers", workers, 1)
    retries = check_integer("retries", retries, 0)
    if not (isinstance(chunk_size, str) and chunk_size == "auto"):
        if not is_integer(chunk_size) or chunk_size < 1:
            raise ValueError(f"chunk_size must be an integer >= 1 or 'auto', got {chunk_size!r}")
        chunk_size = int(chunk_size)
    return workers, retries, chunk_size


def check_picklable(fn) -> None:
    """The local pool sends ``fn`` to its processes by pickle (by reference: a module-level
    function or a ``functools.partial`` of one); refuse early what would fail every task."""
    try:
        pickle.dumps(fn)
    except Exception as err:
        raise ArgumentTypeError(
            f"fn must pickle to reach the local worker processes (a module-level function, or a "
            f"functools.partial of one), got {fn!r}: {type(err).__name__}: {err}"
        ) from err


class _MainFinder(multiprocessing.reduction.ForkingPickler):
    """The pickler of ``multiprocessing`` (what a process pool sends its tasks with), noting
    (``found``) the first class or function of the main module that what it pickles refers
    to: pickle sends it by reference, so a worker must import it."""

    found = None

    def persistent_id(self, obj):  # called for every object pickled; None: pickled as usual
        if (
            self.found is None
            and isinstance(obj, type | types.FunctionType)
            and getattr(obj, "__module__", None) in MAIN_MODULES
        ):
            self.found = obj
        return None


def main_importable() -> bool:
    """Whether a ``spawn`` worker process can import this process's main module: it runs it
    again by its module name (``python -m``) or from its file (a script). A notebook's, or
    code given with ``-c``, has neither (nor one read from stdin, whose file ``<stdin>`` does
    not exist)."""
    main = sys.modules.get("__main__")
    if getattr(getattr(main, "__spec__", None), "name", None):
        return True
    path = getattr(main, "__file__", None)
    return isinstance(path, str) and os.path.isfile(path)


def _is_main_test(test: ast.expr) -> bool:
    """Whether an ``if`` test is ``__name__ == "__main__"`` (either order), alone or as one
    operand of an ``and``."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return any(_is_main_test(value) for value in test.values)
    if not (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
    ):
        return False
    left, right = test.left, test.comparators[0]
    return (_is_dunder_name(left) and _is_main_text(right)) or (
        _is_main_text(left) and _is_dunder_name(right)
    )


def _is_dunder_name(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "__name__"


def _is_main_text(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value == "__main__"


def under_main_guard(source: bytes | str, line: int) -> bool:
    """Whether ``line`` (1-based) of the Python ``source`` lies in the body of an
    ``if __name__ == "__main__":`` block (:func:`_is_main_test`)."""
    return any(
        isinstance(node, ast.If)
        and _is_main_test(node.test)
        and node.body[0].lineno <= line <= node.body[-1].end_lineno
        for node in ast.walk(ast.parse(source))
    )


def _main_top_frame(main: types.ModuleType, path: str) -> types.FrameType | None:
    """The frame on the call stack running the top level of the main module ``main`` (whose
    file is ``path``), or None (a call from a thread, or code exec'd from another file)."""
    frame = sys._getframe(1)
    while frame is not None:
        if (
            frame.f_code.co_name == "<module>"
            and frame.f_globals is vars(main)
            and os.path.realpath(frame.f_code.co_filename) == os.path.realpath(path)
        ):
            return frame
        frame = frame.f_back
    return None


def unguarded_main_line() -> int | None:
    """The line of the main script (``python script.py``, or ``python -m module``, which
    spawn also runs again) at whose top level, outside an ``if __name__ == "__main__":``
    block, this call comes from, directly or through functions; None when it does not, or when
    that cannot be told or does not matter (a package's ``__main__``, which spawn does not run
    again; a notebook; no file; a file that does not read or parse)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    spec_name = getattr(getattr(main, "__spec__", None), "name", None) or ""
    if spec_name.rpartition(".")[2] == "__main__" or not isinstance(path, str):
        return None
    frame = _main_top_frame(main, path)
    line = None if frame is None else frame.f_lineno
    if line is None:
        return None
    try:
        with open(path, "rb") as file:
            guarded = under_main_guard(file.read(), line)
    except (OSError, SyntaxError, ValueError):
        return None
    return None if guarded else line


def check_main_spawnable() -> None:
    """Refuse (RuntimeError) to start the local pool when its ``spawn`` processes would die at
    start-up: they run the main script again from ``__main__.__file__``, which for code read
    from stdin (``python - < script.py``) is ``<stdin>``, no file; and for a script that starts
    the batch at its top level outside ``if __name__ == "__main__":``
    (:func:`unguarded_main_line`), each process would reach that call again and die in
    ``multiprocessing``'s start-up check."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    if path is not None and not main_importable():
        raise RuntimeError(
            f"the local worker processes cannot start: they run the main script again from its "
            f"file, and this one's (__main__.__file__ = {path!r}) does not exist (code read "
            "from stdin?). Run the script from a file (python script.py), or pass an executor: "
            "a Dask client, or bayeslaws.inference.batch.InProcessExecutor() (in this process)"
        )
    line = unguarded_main_line()
    if line is not None:
        raise RuntimeError(
            f"the local worker processes cannot start: they are started by spawn, which runs "
            f"the main script ({path}) again in each of them, and this batch is started from "
            f"its top level (line {line}) outside an `if __name__ == \"__main__\":` block, so "
            "each process would start it again and die. Put the code that starts the batch "
            "under `if __name__ == \"__main__\":` (e.g. in a main() called there), or pass an "
            "executor that starts no processes: bayeslaws.inference.batch.InProcessExecutor() "
            "(in this process) or a Dask client"
        )


def _unsendable_reason(item) -> str | None:
    """Why the local pool's ``spawn`` worker processes cannot receive ``item`` (None: they
    can): it does not pickle, or it refers to a class or function of a main module that they
    cannot import (:func:`main_importable`: a notebook's, or code run with ``-c``), which
    would kill the worker that unpickles it."""
    finder = _MainFinder(io.BytesIO())
    try:
        finder.dump(item)
    except Exception as err:
        return (
            f"it cannot be pickled to reach the local worker processes ({type(err).__name__}: "
            f"{err}); what a task takes must be defined at module level in an importable module"
        )
    found = finder.found
    if found is None or main_importable():
        return None
    kind = "class" if isinstance(found, type) else "function"
    return (
        f"it refers to the {kind} {found.__qualname__} defined in __main__ (a notebook, or code "
        "run with -c), which the local worker processes (started by spawn) cannot import: "
        f"define {found.__qualname__} in a module of its own (e.g. mytasks.py, then `from "
        f"mytasks import {found.__qualname__}`), or run the tasks on a Dask cluster or in this "
        "process (executor=bayeslaws.inference.batch.InProcessExecutor())"
    )


def refusals(items: list, refuse: Callable | None, sendable: bool) -> dict[int, str]:
    """Item index -> why it is refused in the client before submission, as bad input:
    ``refuse(item)`` (None: accepted), then, when ``sendable`` (a ``spawn`` pool),
    :func:`_unsendable_reason`."""
    out = {}
    for i, item in enumerate(items):
        reason = refuse(item) if refuse is not None else None
        if reason is None and sendable:
            reason = _unsendable_reason(item)
        if reason is not None:
            out[i] = reason
    return out
