"""Warnings that point at the user's line: :func:`warn_user` gives :func:`warnings.warn` the
stacklevel of the first frame outside the bayeslaws package, however deep inside the package
the warning is raised (``bl.fit`` and ``fit.update`` reach the sampler check through different
call depths, so a fixed stacklevel named a package line on one of them)."""

from __future__ import annotations

import sys
import warnings
from functools import lru_cache
from pathlib import Path

PACKAGE_PATH = Path(__file__).resolve().parents[1]  # .../bayeslaws, resolved once at import


@lru_cache(maxsize=4096)
def _inside_package(filename: str) -> bool:
    """Whether a frame's ``filename`` is a module of the bayeslaws package: under the package
    folder, by path components (a sibling folder such as ``.../bayeslaws_notebooks`` is not;
    a plain prefix test of the text took it for the package). Cached per filename: it runs for
    every frame of every warning, and resolving a path is a system call per component."""
    try:
        return Path(filename).resolve().is_relative_to(PACKAGE_PATH)
    except (OSError, ValueError, RuntimeError):  # "<stdin>", a symlink loop and the like
        return False


def user_stacklevel(depth: int = 1) -> int:
    """The ``stacklevel`` for a :func:`warnings.warn` call made ``depth`` frames above this
    call (1: by the function that calls this one) that points at the first frame outside the
    package (the user's script, notebook cell or test); the outermost frame when every frame
    is inside it."""
    frame = sys._getframe(depth)  # the frame that calls warnings.warn: stacklevel 1 ...
    level = depth  # ... counted from here, where depth frames separate it from this call
    while frame.f_back is not None and _inside_package(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    return level


def warn_user(message: str, category: type[Warning]) -> None:
    """:func:`warnings.warn` of ``message`` as ``category``, located at the user's line
    (:func:`user_stacklevel`)."""
    warnings.warn(message, category, stacklevel=user_stacklevel(2))
