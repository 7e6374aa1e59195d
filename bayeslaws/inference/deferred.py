"""ArviZ and what it loads on first use, imported while the sampler runs rather than after it.

Importing ArviZ takes 1-2 s in a fresh process (it pulls in matplotlib, scipy.stats and
xarray), yet a fit needs it only after sampling: for the InferenceData, the diagnostics and
the saved file. :func:`prefetch` starts those imports in a background thread just before NUTS
runs; XLA releases the GIL while it compiles and samples, so the import overlaps them instead
of delaying them. :func:`arviz` returns the module, waiting for the prefetch to finish first
(never two imports of one module at once). Measured by ``benchmarks/speed.py --only cache``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import sys
import tempfile
import threading
import warnings

from ..runs.warn import warn_user

# Modules a fit needs after sampling: ArviZ, h5netcdf (saving) and, when they are installed
# (the ``cluster`` extra), dask and distributed, which xarray imports on its first Dataset and
# its first netCDF write (about 0.5 s in a fresh process, otherwise spent after sampling).
PREFETCHED = ("arviz", "h5netcdf", "dask", "distributed")
_prefetching: threading.Thread | None = None
CACHE_ENV = "XDG_CACHE_HOME"  # where ArviZ (platformdirs) puts its cache folder on Linux
# the banner ArviZ shows once a day, dated by a stamp in its cache folder: a new temporary
# folder has no stamp, so the fallback import would show it at every run
ARVIZ_BANNER = r"\s*ArviZ is undergoing a major refactor"


def _import_quietly(names: tuple) -> None:
    for name in names:
        try:
            if importlib.util.find_spec(name) is not None:  # optional ones may be absent
                importlib.import_module(name)
        except Exception:  # the caller's own import raises the error where it is needed
            pass


def prefetch() -> None:
    """Start importing :data:`PREFETCHED` in a background thread (no-op once imported or
    started)."""
    global _prefetching
    if _prefetching is not None or "arviz" in sys.modules:
        return
    _prefetching = threading.Thread(
        target=_import_quietly, args=(PREFETCHED,), name="bayeslaws-prefetch", daemon=True
    )
    _prefetching.start()


def arviz():
    """The ``arviz`` module (after any prefetch has finished). ArviZ writes a daily stamp in
    its cache folder as it is imported: when that folder cannot be written (a read-only home),
    the import is retried with the cache folder in a temporary folder, warned once."""
    if _prefetching is not None:
        _prefetching.join()
    try:
        return importlib.import_module("arviz")
    except OSError as error:  # PermissionError, read-only file system: ArviZ's stamp file
        return _import_with_temporary_cache(error)


def _import_with_temporary_cache(error: OSError):
    """Import ``arviz`` with ``$XDG_CACHE_HOME`` pointed at a new temporary folder (removed,
    and the variable restored, afterwards), warning that ``error``'s folder is unwritable;
    ArviZ's daily banner (:data:`ARVIZ_BANNER`), which that new folder would show every time,
    is not shown."""
    folder = error.filename or os.environ.get(CACHE_ENV) or "~/.cache"
    warn_user(
        f"ArviZ cannot write its cache folder ({folder}: {error.strerror or error}); it was "
        f"imported with ${CACHE_ENV} set to a temporary folder. Set ${CACHE_ENV} to a writable "
        "folder to silence this warning",
        UserWarning,
    )
    previous = os.environ.get(CACHE_ENV)
    temporary = tempfile.mkdtemp(prefix="bayeslaws-arviz-")
    os.environ[CACHE_ENV] = temporary
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=ARVIZ_BANNER, category=FutureWarning)
            return importlib.import_module("arviz")
    finally:
        if previous is None:
            os.environ.pop(CACHE_ENV, None)
        else:
            os.environ[CACHE_ENV] = previous
        shutil.rmtree(temporary, ignore_errors=True)
