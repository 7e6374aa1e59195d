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
import sys
import threading

# Modules a fit needs after sampling: ArviZ, h5netcdf (saving) and, when they are installed
# (the ``cluster`` extra), dask and distributed, which xarray imports on its first Dataset and
# its first netCDF write (about 0.5 s in a fresh process, otherwise spent after sampling).
PREFETCHED = ("arviz", "h5netcdf", "dask", "distributed")
_prefetching: threading.Thread | None = None


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
    """The ``arviz`` module (after any prefetch has finished)."""
    if _prefetching is not None:
        _prefetching.join()
    import arviz as az

    return az
