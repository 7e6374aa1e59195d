"""The entry point :func:`main`: parse, expand a leading ``~`` in the paths given, check that
the input files exist, load the numerical libraries (announced when slow), check the output
files before any work, run the subcommand, and end every error in one line with its exit code
(bad input 2, a bug 1, a closed pipe 141, interrupted 130).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import warnings
from contextlib import contextmanager

from .errors import EXIT_BAD_INPUT, EXIT_BROKEN_PIPE, EXIT_FAILED, CLIError
from .files import check_figure_format, existing_file
from .hints import COMMAND, one_line_warning, with_cli_hints
from .parser import INPUT_FILES, build_parser, input_files

STARTUP_NOTE_S = 3.0  # loading JAX, NumPyro and ArviZ longer than this is announced


def _bad_input(err: BaseException) -> bool:
    """Whether ``err`` (caught by :func:`main` as bad input) is the user's input error: any but
    a TypeError or KeyError (a ValueError, a missing file, a CLIError), and those two only when
    the package raised them on purpose (:class:`~bayeslaws.runs.checks.ArgumentTypeError`,
    :class:`~bayeslaws.runs.checks.UnknownNameError`). Any other TypeError or KeyError, e.g.
    from inside pandas, is a bug: not the user's to fix."""
    from ...runs.checks import ArgumentTypeError, UnknownNameError

    if not isinstance(err, TypeError | KeyError):
        return True
    return isinstance(err, ArgumentTypeError | UnknownNameError)


def _flag(name: str) -> bool:
    """The environment flag ``name`` (:func:`bayeslaws.runs.environment.flag`), imported when
    read: the runs layer loads pandas, which --help never waits for."""
    from ...runs.environment import flag

    return flag(name)


def _unexpected(command: str, err: BaseException) -> None:
    """One line on stderr for an error that is no input error: a bug, said to be unexpected,
    with how to see its traceback."""
    print(
        f"{command}: unexpected error ({type(err).__name__}: {err}); rerun with "
        "BAYESLAWS_DEBUG=1 for the traceback",
        file=sys.stderr,
    )


@contextmanager
def _starting(after: float = STARTUP_NOTE_S):
    """Loading the numerical libraries (JAX, NumPyro, ArviZ) takes seconds on a busy machine:
    if it is still going after ``after`` seconds, say so on stderr (the same prefix and
    ``BAYESLAWS_QUIET`` rule as :mod:`bayeslaws.inference.progress`, which cannot be imported
    before those libraries), and how it ended: "done in X s", or "interrupted after X s" /
    "stopped after X s" when Ctrl-C or an error ended it."""
    loaded = "bayeslaws.posterior.extrapolation" in sys.modules  # main() called in-process
    started = time.perf_counter()
    if loaded or _flag("BAYESLAWS_QUIET"):  # (its import loads pandas: timed from here)
        yield
        return

    announced = threading.Event()

    def say(text):
        try:
            print(f"bayeslaws: loading JAX, NumPyro and ArviZ{text}", file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass

    def announce():
        announced.set()
        say(" ...")

    timer = threading.Timer(max(0.0, after - (time.perf_counter() - started)), announce)
    timer.daemon = True
    timer.start()
    ended = "stopped after"  # an error while loading; the words of progress.ending
    try:
        yield
        ended = "done in"
    except KeyboardInterrupt:
        ended = "interrupted after"
        raise
    finally:
        timer.cancel()
        timer.join()
        if announced.is_set():
            say(f": {ended} {time.perf_counter() - started:.1f} s")


# the output options (files and folders; --plot is design's figure), '~' expanded with the inputs
OUTPUT_DESTS = ("out", "plot")


def _expand_home(args) -> None:
    """Expand a leading ``~`` or ``~user`` in every file and folder the parsed command line
    ``args`` names (its inputs, :data:`~.parser.INPUT_FILES`, and :data:`OUTPUT_DESTS`), in
    place: a shell does not expand it after ``=`` (``--out=~/fits/fit.nc``), and the checks,
    the messages and the writes all use the expanded path. A path without one, or whose home
    folder is unknown, is left as given."""
    dests = [dest for dest, _ in INPUT_FILES.get(args.command, ())] + list(OUTPUT_DESTS)
    for dest in dict.fromkeys(dests):
        given = getattr(args, dest, None)
        if isinstance(given, str):
            setattr(args, dest, os.path.expanduser(given))
        elif isinstance(given, list):
            setattr(args, dest, [os.path.expanduser(p) for p in given])


# the figure file options, checked before any work: command -> (dest, option)
FIGURE_OPTIONS = {"plot": ("out", "--out"), "design": ("plot", "--plot")}


def _silence_stdout() -> None:
    """After a BrokenPipeError on stdout: point its file descriptor at os.devnull, so that
    Python's flush at exit writes nowhere instead of failing again ("Exception ignored ...
    BrokenPipeError"; the Python docs' note on SIGPIPE). A stdout without a descriptor (a test's
    stand-in) is left as it is."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _unrecognized(parser, command: str, unknown: list, argv=None) -> str:
    """The message for arguments the subcommand ``command`` does not take (``unknown``), with
    the closest option it does take for each unknown option, and its help; tokens given before
    the subcommand's name (in ``argv``, default ``sys.argv[1:]``) are the top level's, named
    with ``bayeslaws --help``."""
    import difflib

    argv = list(sys.argv[1:] if argv is None else argv)
    at = argv.index(command) if command in argv else 0
    before = [t for t in unknown if t in argv[:at]]
    if before:
        return (
            f"unrecognized arguments: {' '.join(before)} (given before the command "
            f"{command!r}; see 'bayeslaws --help')"
        )

    subcommands = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    ).choices
    options = [o for o in subcommands[command]._option_string_actions if o.startswith("--")]
    near = []
    for token in unknown:
        name = token.split("=", 1)[0]
        close = (
            difflib.get_close_matches(name, options, n=1, cutoff=0.8)
            if name.startswith("-") else []
        )
        if close:
            near.append(f"{name}: did you mean {close[0]}?")
    hint = f"; {'; '.join(near)}" if near else ""
    return (
        f"unrecognized arguments: {' '.join(unknown)}{hint} (see 'bayeslaws {command} --help')"
    )


def _load_numerics() -> None:
    """Load JAX, NumPyro and the layers built on them (what every command uses), after the
    arguments are parsed: --help and usage errors never wait for them."""
    from ...inference import fit, screening  # noqa: F401
    from ...posterior import extrapolation  # noqa: F401  (the loaded mark of _starting)


def main(argv=None) -> int:
    parser = build_parser()
    command = "bayeslaws"
    original = warnings.formatwarning
    warnings.formatwarning = one_line_warning
    try:
        args, unknown = parser.parse_known_args(argv)
        command = f"bayeslaws {args.command}"
        COMMAND[0] = args.command
        if unknown:  # named with the subcommand and its own help, as its other errors are
            raise CLIError(_unrecognized(parser, args.command, unknown, argv))
        _expand_home(args)  # before any check: '~/fits' is checked, and written, as the home's
        for path, what in input_files(args):  # a mistyped input file: said before JAX loads
            existing_file(path, what)
        with _starting():
            _load_numerics()
        # output files are checked before any work, so a long fit never ends unsaved
        option = {"fit": "out", "candidates": "out", "plot": "out", "report": "out"}.get(
            args.command, "plot" if args.command == "design" else None
        )
        if option and getattr(args, option, None):
            from ...inference.fit import check_output_path

            check_output_path(getattr(args, option))
        figure = FIGURE_OPTIONS.get(args.command)  # a format matplotlib cannot write: refused now
        if figure and getattr(args, figure[0], None):
            check_figure_format(getattr(args, figure[0]), figure[1])
        # compiled NUTS kernels on disk: a second process on data of the same shape skips
        # compilation (BAYESLAWS_COMPILATION_CACHE=off disables, or names another folder)
        from ...inference.compilation import enable_compilation_cache

        enable_compilation_cache()
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe is found here, not in Python's flush at exit
        return code
    except SystemExit as exc:  # --help
        try:
            sys.stdout.flush()  # the help cut short by its reader (--help | head)
        except BrokenPipeError:
            _silence_stdout()
            return EXIT_BROKEN_PIPE
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # stdout's reader is gone (| head): not the user's input, no line
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except (FileNotFoundError, ValueError, TypeError, KeyError, OSError, CLIError) as err:
        if _flag("BAYESLAWS_DEBUG"):  # read here: --help never loads the runs layer
            raise
        if not _bad_input(err):
            _unexpected(command, err)
            return EXIT_FAILED
        message = err.args[0] if err.args and isinstance(err.args[0], str) else str(err)
        if not isinstance(err, CLIError):  # a package message: its remedy as options
            message = with_cli_hints(str(message), COMMAND[0])
        elif err.prog:  # an argument error of a subcommand, raised while parsing
            command = err.prog
        print(f"{command}: error: {' '.join(str(message).split())}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as err:  # anything else: still one line, but say it is unexpected
        if _flag("BAYESLAWS_DEBUG"):  # read here: --help never loads the runs layer
            raise
        _unexpected(command, err)
        return EXIT_FAILED
    finally:
        warnings.formatwarning = original
        COMMAND[0] = None
