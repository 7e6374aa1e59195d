"""The command line's exit codes: deliberate TypeErrors and KeyErrors are bad input, others
unexpected errors; a closed stdout (``| head``) loses no file and ends with the broken-pipe code."""

from __future__ import annotations

import io
import os
import sys
import warnings

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
from conftest import cli_error_line, cli_run, flagged_runs  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws.app import cli  # noqa: E402
from bayeslaws.app.cli import EXIT_BAD_INPUT, EXIT_FAILED, main  # noqa: E402
from bayeslaws.app.cli import entry as cli_entry  # noqa: E402
from bayeslaws.app.cli import parser as cli_parser  # noqa: E402
from bayeslaws.runs.messages import format_values  # noqa: E402

_run = cli_run  # conftest: bayeslaws argv in-process -> (code, stdout, stderr)


# ---- 3. only deliberate TypeErrors and KeyErrors are bad input ---------------------------------
def _caught(call) -> BaseException:
    try:
        call()
    except Exception as err:  # noqa: BLE001 -- the error itself is what is tested
        return err
    raise AssertionError("no error")


def test_deliberate_type_and_key_errors_are_bad_input_others_are_not():
    deliberate = _caught(lambda: bl.load_runs(flagged_runs(), units=["N"]))  # a raise TypeError
    assert isinstance(deliberate, TypeError) and cli_entry._bad_input(deliberate)
    in_package = _caught(lambda: format_values(None))  # list(None) inside bayeslaws: a bug
    assert isinstance(in_package, TypeError) and not cli_entry._bad_input(in_package)
    in_pandas = _caught(lambda: pd.DataFrame({"a": [1]})["b"])
    assert isinstance(in_pandas, KeyError) and not cli_entry._bad_input(in_pandas)
    assert cli_entry._bad_input(ValueError("bad"))  # values stay the user's


def test_the_package_raises_no_plain_type_or_key_error():
    """The command line tells the user's input error from a bug by its type: every TypeError or
    KeyError the package raises on purpose is an ArgumentTypeError or UnknownNameError (a plain
    one raised on purpose would be reported as an unexpected error)."""
    import ast
    from pathlib import Path

    package = Path(bl.__file__).parent
    plain = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            exc = node.exc if isinstance(node, ast.Raise) else None
            called = exc.func if isinstance(exc, ast.Call) else exc
            if isinstance(called, ast.Name) and called.id in ("TypeError", "KeyError"):
                plain.append(f"{path.relative_to(package)}:{node.lineno}")
    assert not plain, plain
    scale = bl.laws.contract.Scales({"N": 1.0})
    unknown = _caught(lambda: scale["D"])  # a deliberate KeyError
    assert isinstance(unknown, KeyError) and cli_entry._bad_input(unknown)


def test_an_unexpected_type_error_says_so_with_the_debug_hint(two_scales_grouped_file, monkeypatch,
                                                              capsys):
    monkeypatch.setattr(cli_parser, "cmd_predict", lambda args: format_values(None))
    code, _, err = _run(["predict", two_scales_grouped_file, "--N", "1e9", "--D", "2e10"], capsys)
    line = cli_error_line(err)
    assert code == EXIT_FAILED
    assert "unexpected error (TypeError" in line and "BAYESLAWS_DEBUG=1" in line


def test_a_deliberate_type_error_stays_bad_input(two_scales_grouped_file, monkeypatch, capsys):
    monkeypatch.setattr(
        cli_parser, "cmd_predict", lambda args: bl.load_runs(flagged_runs(), units=[1])
    )
    code, _, err = _run(["predict", two_scales_grouped_file, "--N", "1e9", "--D", "2e10"], capsys)
    line = cli_error_line(err)
    assert code == EXIT_BAD_INPUT
    assert "error: units must be a dict" in line and "unexpected" not in line


class _ClosedPipe(io.TextIOBase):
    """A stdout whose reader is gone: every write raises BrokenPipeError (as with
    PYTHONUNBUFFERED=1 under ``| head -1``); it has no file descriptor."""

    def writable(self) -> bool:
        return True

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


# ---- F1: a closed pipe ---------------------------------------------------------------------------
def test_fit_into_a_closed_pipe_saves_the_fit_and_is_no_input_error(two_scales_files, monkeypatch,
                                                                    capsys):
    """'bayeslaws fit ... | head -1' printed the fit before saving it, so the closed pipe lost
    the finished fit, and the BrokenPipeError was reported as bad input (exit 2, 'error:
    [Errno 32] Broken pipe'). The fit is saved first now, and the closed pipe ends quietly."""
    # a stub fit
    monkeypatch.setattr(bl, "fit", lambda *args, **kwargs: two_scales_files["plain_fit"])
    out = two_scales_files["dir"] / "piped.nc"
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    code = main(["fit", str(two_scales_files["runs"]), "--out", str(out), "--no-discrepancy"])
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert out.is_file()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tiny fit's sampler trouble
        assert bl.load_fit(out).law.name == two_scales_files["plain_fit"].law.name
    assert code == cli.EXIT_BROKEN_PIPE and code not in (EXIT_BAD_INPUT, cli.EXIT_FAILED)
    assert "error" not in err and "Broken pipe" not in err, err


def test_a_closed_pipe_with_a_file_descriptor_is_pointed_at_devnull(two_scales_files, monkeypatch,
                                                                    capsys):
    """A real pipe whose reading end is closed: the command ends with the broken-pipe code and
    stdout's descriptor is pointed at os.devnull, so the flush at exit cannot fail again."""
    read, write = os.pipe()
    os.close(read)
    stream = os.fdopen(write, "w", buffering=1)
    monkeypatch.setattr(bl, "fit", lambda *args, **kwargs: two_scales_files["plain_fit"])
    out = two_scales_files["dir"] / "piped_fd.nc"
    monkeypatch.setattr(sys, "stdout", stream)
    code = main(["fit", str(two_scales_files["runs"]), "--out", str(out), "--no-discrepancy"])
    monkeypatch.undo()
    try:
        assert code == cli.EXIT_BROKEN_PIPE and out.is_file()
        stream.write("x" * 100_000 + "\n")  # to os.devnull now: no BrokenPipeError
    finally:
        stream.close()
    assert "error" not in capsys.readouterr().err


class _BufferedClosedPipe(io.TextIOBase):
    """A block-buffered stdout whose reader is gone: writes are kept, the flush fails."""

    def writable(self) -> bool:
        return True

    def write(self, text):
        return len(text)

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_found_at_the_last_flush_ends_the_same_way(two_scales_files, monkeypatch,
                                                                 capsys):
    """Without PYTHONUNBUFFERED the output is written at the flush at exit, where the closed
    pipe gave Python's "Exception ignored ... BrokenPipeError" and exit code 120; main flushes
    stdout itself now, so it ends as any closed pipe does."""
    out = two_scales_files["dir"] / "flushed.csv"
    monkeypatch.setattr(sys, "stdout", _BufferedClosedPipe())
    argv = ["candidates", two_scales_files["plain"], "--isoflop", "1e19", "--n-per-budget", "3",
            "--out", out]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main([str(a) for a in argv])
    monkeypatch.undo()
    assert code == cli.EXIT_BROKEN_PIPE and out.is_file()
    assert "error" not in capsys.readouterr().err


def test_report_into_a_closed_pipe_writes_the_report_first(two_scales_files, monkeypatch, capsys,
                                                            tmp_path):
    """'bayeslaws report FIT --out ex.html | head -2' printed the report before writing the
    HTML: the closed pipe lost it. It is written first now."""
    from bayeslaws.app import report

    class Stub:  # the report's text and page, no figures: the order is what is tested
        preamble: list = []

        def to_text(self):
            return "a report\n"

        def to_html(self):
            return "<!doctype html><html><body>a report</body></html>"

        def figure_paths(self):
            return []

    monkeypatch.setattr(report, "fit_report", lambda *args, **kwargs: Stub())
    out = tmp_path / "ex.html"
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tiny fit's sampler trouble
        code = main(["report", str(two_scales_files["plain"]), "--out", str(out)])
    monkeypatch.undo()
    assert code == cli.EXIT_BROKEN_PIPE, capsys.readouterr().err
    assert out.is_file() and "a report" in out.read_text()
