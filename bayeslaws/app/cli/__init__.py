"""The ``bayeslaws`` command line. Every subcommand is a thin wrapper over the package API; bad
input ends with one line naming the problem and exit code 2, never a traceback (set
BAYESLAWS_DEBUG=1 to see one). Compiled kernels are kept on disk between runs
(:mod:`bayeslaws.inference.compilation`; ``BAYESLAWS_COMPILATION_CACHE=off`` disables it).

The modules, from the bottom up: :mod:`.errors` (exit codes, :class:`CLIError`),
:mod:`.values` (option values -> package arguments), :mod:`.hints` (package messages in the
command line's words, :func:`with_cli_hints`), :mod:`.files` (input files, fit loading, output
guards), :mod:`.output` (result tables and shared notes), :mod:`.run_tables` (reading a run
table); the subcommands in :mod:`.fit_commands` (fit, predict, allocate),
:mod:`.design_commands` (candidates, design), :mod:`.figure_commands` (plot, report) and
:mod:`.job_commands` (repro, demo, plan); :mod:`.parser` (the argparse parser, its option types
and help; its docstring holds the usage lines ``bayeslaws --help`` shows) and :mod:`.entry`
(:func:`main`, the console script ``bayeslaws``; ``python -m bayeslaws.app.cli`` runs it too).
"""

from __future__ import annotations

from .entry import main
from .errors import EXIT_BAD_INPUT, EXIT_BROKEN_PIPE, EXIT_FAILED, CLIError
from .fit_commands import NEAREST_SHOWN, PENALTY_NOTE
from .hints import with_cli_hints
from .parser import build_parser
from .run_tables import LOSS_MISSING

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_BROKEN_PIPE",
    "EXIT_FAILED",
    "LOSS_MISSING",
    "NEAREST_SHOWN",
    "PENALTY_NOTE",
    "CLIError",
    "build_parser",
    "main",
    "with_cli_hints",
]
