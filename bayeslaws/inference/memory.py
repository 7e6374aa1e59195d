"""Releasing compiled kernels before the process runs out of memory mappings.

On CPU, XLA's LLVM JIT maps each compiled executable into the process as memory regions, and
JAX keeps every executable it compiled until its caches are cleared. A process that fits many
tables of new shapes (a design replay, a backtest, a user's loop over data sets) therefore
gains regions with every new kernel until Linux's per-process limit (``vm.max_map_count``,
65,530 by default) is reached and LLVM aborts the process with "Cannot allocate memory" (the
Step Law design replay died so after about 1,300 s of fits in one process). Dropping our own
kernel cache is not enough, since JAX's caches still hold the executables;
``jax.clear_caches()`` frees them (benchmarks/memory_regions.py: three Step Law campaigns in
one process reach 39,403 regions without a release; with it, one release takes 33,592 to
1,820).

:func:`release_if_crowded` is called at the start of every fit and of every design step
(:func:`bayeslaws.design.next_runs` and friends compile their linear algebra for each new
number of candidates, about 80 regions apiece, so a design replay crowds the limit between
two new NUTS kernels: the Marin confirmation replay died so after about 700 s with no release,
when the check ran only before a new kernel). When the regions exceed ``fraction`` of the
limit it clears the caches of compiled objects registered with :func:`register` and JAX's
compiled caches (the release clears every JAX-compiled function, not only samplers; later fits
reload their kernels from the persistent compilation cache, or compile again) and says so.
Reading the count costs a few milliseconds. On systems without ``/proc`` it does nothing.
"""

from __future__ import annotations

import contextlib
import gc
from pathlib import Path

import jax

from . import progress

MAPS = Path("/proc/self/maps")
MAX_MAP_COUNT = Path("/proc/sys/vm/max_map_count")
CROWDED_FRACTION = 0.5  # share of the process's mapping limit at which compiled kernels go
RELEASES: list = []  # (regions before, regions after) of each release in this process
_REGISTERED: list = []  # caches of compiled objects cleared by every release (:func:`register`)
_HELD = [0]  # > 0 inside :func:`held`: no release


@contextlib.contextmanager
def held():
    """No release inside the block: a kernel warmed up before it (``Fit.update``'s warm start)
    must survive until it samples."""
    _HELD[0] += 1
    try:
        yield
    finally:
        _HELD[0] -= 1


def register(cache):
    """Add ``cache`` (a dict of compiled objects) to those every release clears; returns it."""
    _REGISTERED.append(cache)
    return cache


def mapped_regions() -> int | None:
    """Memory regions this process has mapped (None where ``/proc`` is absent)."""
    try:
        with MAPS.open() as handle:
            return sum(1 for _ in handle)
    except OSError:
        return None


def map_limit() -> int | None:
    """The per-process limit on mapped regions (``vm.max_map_count``; None if unknown)."""
    try:
        return int(MAX_MAP_COUNT.read_text().strip())
    except (OSError, ValueError):
        return None


def crowded(regions: int | None, limit: int | None, fraction: float) -> bool:
    """True when ``regions`` exceed ``fraction`` of ``limit`` (False when either is unknown)."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be in [0, 1], got {fraction!r}")
    return regions is not None and bool(limit) and regions > fraction * limit


def release_if_crowded(caches: list = (), fraction: float | None = None) -> bool:
    """Clear ``caches`` and the registered ones (dicts of compiled objects) and JAX's compiled
    caches if this process's mapped regions exceed ``fraction`` (default
    :data:`CROWDED_FRACTION`) of its limit; returns whether it did (each release is appended to
    :data:`RELEASES`)."""
    fraction = CROWDED_FRACTION if fraction is None else fraction
    if _HELD[0]:
        return False
    regions, limit = mapped_regions(), map_limit()
    if not crowded(regions, limit, fraction):
        return False
    for cache in [*caches, *_REGISTERED]:
        cache.clear()
    jax.clear_caches()
    gc.collect()
    after = mapped_regions()
    RELEASES.append((regions, after))
    progress.note(
        f"{regions} memory regions mapped of this process's limit {limit} (compiled kernels "
        f"accumulate): compiled caches cleared, {after} regions now; later fits reload or "
        "recompile their kernels"
    )
    return True
