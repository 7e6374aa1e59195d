"""JAX's persistent compilation cache, so that a new process (a second ``bayeslaws fit``, a
batch worker) reads compiled NUTS kernels from disk instead of compiling them again -- and so
that a repeated fit in one process does too: NumPyro rebuilds its kernel at every run, so
without the cache each fit of the same law and shapes compiles again. ``bl.fit`` turns the
cache on (:func:`enable_compilation_cache`) unless the environment disables it.

The folder is ``$BAYESLAWS_COMPILATION_CACHE`` when it names an absolute folder (``~``
expanded; ``0``, ``false``, ``no``, ``off`` or ``none`` disables the cache; ``1``, ``true``,
``yes`` or ``on``, like unset or blank, means the default; a relative path is refused with a
warning: no cache), else ``$XDG_CACHE_HOME/bayeslaws/jax`` (``~/.cache/bayeslaws/jax``; no
cache, warned, when no home folder is known), unless the process named one
(``enable_compilation_cache(path)``): later fits keep that one.
Every program is written, the small ones too (``MIN_COMPILE_S = 0``): a fit compiles dozens of
them (55, a few MB, for a Chinchilla fit), and caching only the slow ones left a second process
noticeably slower (benchmarks/speed.py --only cache; benchmarks/output/speed.txt).
The cache is keyed by JAX on the program, the JAX version and the backend: a stale entry is
never used, and deleting the folder is always safe. JAX writes an entry in place (not through a
temporary file) and never rewrites one: an entry cut short (a process killed while writing it,
a full disk) makes every later process warn "Error reading persistent compilation cache entry
for 'jit_...': ... truncated stream" and compile that program again; delete the folder to end
it. The traced programs that spare a new process the tracing too live in its ``programs/``
subfolder (:mod:`.exported`).
"""

from __future__ import annotations

import os
from pathlib import Path

import jax

from ..runs.environment import OFF_WORDS, ON_WORDS
from ..runs.warn import warn_user

ENV = "BAYESLAWS_COMPILATION_CACHE"
OFF = (*OFF_WORDS, "none")
MIN_COMPILE_S = 0.0  # seconds; every program: the many small ones add up
_enabled: Path | None = None
_chosen = False  # whether _enabled is a folder a caller named (kept by calls without one)
_warned_unwritable = False  # whether an unwritable folder was warned (once per process)


def cache_dir() -> Path | None:
    """The cache folder this process would use: the absolute folder ``$BAYESLAWS_COMPILATION_CACHE``
    names, else the default (:func:`default_cache_dir`); None when the environment disables the
    cache, or names or leaves no usable folder (warned once: a relative path, ``~`` with no
    home folder)."""
    value = (os.environ.get(ENV) or "").strip()  # a blank value is unset
    if value.lower() in OFF:
        return None
    if not value or value.lower() in ON_WORDS:
        return default_cache_dir()
    try:
        folder = Path(value).expanduser()
    except RuntimeError as error:  # "~" or "~user" with no known home folder
        return _unwritable(f"{ENV}={value!r}", str(error))
    if not folder.is_absolute():
        return _unwritable(f"{ENV}={value!r}", "a relative path: name an absolute folder")
    return folder


def default_cache_dir() -> Path | None:
    """``$XDG_CACHE_HOME/bayeslaws/jax``, else ``~/.cache/bayeslaws/jax``; None when neither
    variable is set and the user has no home folder (warned once)."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = Path.home() / ".cache"
        except RuntimeError as error:  # HOME unset and no passwd entry (a container's uid)
            return _unwritable("~/.cache/bayeslaws/jax", f"{error} Set HOME or XDG_CACHE_HOME")
    return Path(base) / "bayeslaws" / "jax"


def enable_compilation_cache(path=None) -> Path | None:
    """Turn on JAX's persistent compilation cache in ``path`` (default :func:`cache_dir`);
    returns the folder, or None when disabled or the folder cannot be created (then JAX
    simply compiles in memory as before). Idempotent; a later call with another folder, or
    disabled, moves or stops JAX's cache too (it otherwise keeps the first folder). A call
    without ``path`` (each ``bl.fit``, each batch task) keeps a folder an earlier call named,
    unless the environment disables the cache."""
    global _enabled, _chosen
    try:
        folder = Path(path).expanduser() if path is not None else cache_dir()
    except RuntimeError as error:  # "~" or "~user" with no known home folder
        return _unwritable(path, str(error))
    if path is None and folder is not None and _enabled is not None and _chosen:
        return _enabled  # the caller's folder, not the default
    if folder is None:
        if _enabled is not None:
            jax.config.update("jax_enable_compilation_cache", False)
            _reset_jax_cache()
        _enabled = None  # and no traced programs saved from now on
        _chosen = False
        return None
    if _enabled == folder:
        _chosen = _chosen or path is not None
        return folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return _unwritable(folder, error.strerror or str(error))
    if not os.access(folder, os.W_OK):
        return _unwritable(folder, "not writable")
    jax.config.update("jax_enable_compilation_cache", True)
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_S)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    _reset_jax_cache()  # JAX opens its cache once: a new folder needs it reopened
    _enabled = folder
    _chosen = path is not None
    return folder


def _unwritable(folder, why: str) -> None:
    """Warn (once per process) that the cache folder ``folder`` (a path, or the setting that
    named it) cannot be used; returns None (the cache stays as it was: off, or an earlier
    folder)."""
    global _warned_unwritable
    if not _warned_unwritable:
        _warned_unwritable = True
        warn_user(
            f"the compilation cache folder {folder} cannot be used ({why}): compiled "
            f"programs are not cached, so every new process compiles them again. Set {ENV} to "
            f"an absolute, writable folder, or {ENV}=off to silence this warning",
            UserWarning,
        )
    return None


def _reset_jax_cache() -> None:
    """Make JAX reopen its persistent cache from the current settings at the next compile."""
    from jax.experimental.compilation_cache import compilation_cache

    compilation_cache.reset_cache()


def compilation_cache_enabled() -> Path | None:
    """The folder in use by this process, or None."""
    return _enabled


# JAX settings that change a traced program's draws: 64-bit floats (a kernel traced with
# 32-bit floats draws otherwise), the random-bit generator and its layout, matmul precision
CONFIG_FLAGS = (
    "jax_enable_x64",
    "jax_threefry_partitionable",
    "jax_default_prng_impl",
    "jax_default_matmul_precision",
)
_ABSENT = object()  # a flag this JAX does not have (left out of the key)


def jax_config_key() -> tuple:
    """The JAX settings that change a traced program (not its shapes), for the keys of the
    in-memory kernel caches and of the saved programs: ((flag, value as text), ...) for each
    of :data:`CONFIG_FLAGS` this JAX has."""
    values = ((name, getattr(jax.config, name, _ABSENT)) for name in CONFIG_FLAGS)
    return tuple((name, str(value)) for name, value in values if value is not _ABSENT)
