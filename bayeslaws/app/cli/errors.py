"""The command line's exit codes and :class:`CLIError`, the user's input problem that
:func:`~bayeslaws.app.cli.entry.main` reports as one line (exit code 2), never a traceback.
"""

from __future__ import annotations

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
# stdout closed by its reader (``bayeslaws fit ... | head -1``): the files are written by then;
# 141 = 128 + SIGPIPE, the code of a Unix tool ended by a closed pipe (``yes | head``), so that
# ``set -o pipefail`` sees the output cut short, and it is neither bad input (2) nor a bug (1)
EXIT_BROKEN_PIPE = 141


class CLIError(Exception):
    """A problem with the user's input, reported as one line; ``prog``: the command it is said
    under ("bayeslaws predict"), given by an argument error raised before the subcommand runs
    (None: the running command's)."""

    def __init__(self, *args, prog: str | None = None):
        super().__init__(*args)
        self.prog = prog
