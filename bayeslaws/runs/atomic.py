"""Files written whole or not at all: a temporary file in the target's folder renamed over the
target, so that a reader, or a write killed part-way (Ctrl-C, a full disk), sees the earlier
file or the new one, never part of one. Used by the reports, tables and figures the later
layers write (:func:`write_atomically`) and by the saved traced programs
(:mod:`bayeslaws.inference.exported`); imports neither JAX nor anything else from bayeslaws."""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

TMP_PREFIX = ".tmp-"  # the name of a file being written starts with this


def replace_file(folder: Path, path: Path, write, mode: int | None = None) -> None:
    """Call ``write`` on a binary handle to a new temporary file in ``folder`` (0o666 less the
    umask, or ``mode``), then rename it over ``path``; the temporary file is removed if
    ``write`` or the rename fails."""
    tmp = folder / f"{TMP_PREFIX}{secrets.token_hex(8)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        if mode is not None:
            os.chmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    finally:
        try:
            tmp.unlink(missing_ok=True)  # renamed away: nothing left; failed: removed
        except OSError:
            pass


def write_atomically(path, contents) -> Path:
    """Write a report, table or figure file: ``contents`` (bytes, a str written as UTF-8, or a
    function writing to a binary handle) goes to a temporary file in ``path``'s folder that is
    renamed over ``path``, so that a write killed part-way (Ctrl-C, a full disk) leaves the
    earlier file whole and no temporary file. As a write in place would: a symbolic link's
    target is written, an existing file keeps its permissions and one that is not writable is
    refused (:class:`PermissionError` naming it). Returns ``path``."""
    path = Path(path)
    target = Path(os.path.realpath(path))
    mode = None
    if target.exists():
        if not os.access(target, os.W_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        mode = stat.S_IMODE(target.stat().st_mode)
    if isinstance(contents, str):
        contents = contents.encode("utf-8")
    write = contents if callable(contents) else (lambda handle: handle.write(contents))
    try:
        replace_file(target.parent, target, write, mode)
    except OSError as error:  # about the temporary file (no folder, no room): name ``path``
        if error.filename is None or not Path(error.filename).name.startswith(TMP_PREFIX):
            raise
        raise OSError(error.errno, error.strerror, str(path)) from error
    return path
