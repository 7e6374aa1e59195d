"""The command line, review 16: a progress line ended by Ctrl-C or an error says so (never
"done"), ``bayeslaws --version`` prints the package's version, and a mistyped input file is
refused before JAX, NumPyro and ArviZ load."""

from __future__ import annotations

import io
import re
import sys
import time
from contextlib import nullcontext

import pytest

import bayeslaws
from bayeslaws.app.cli import entry
from bayeslaws.app.cli.entry import main


def _wait_for(read, timeout: float = 10.0) -> str:
    """``read()`` once it is not empty (the announcement's timer thread wrote), else fail."""
    stop = time.monotonic() + timeout
    while not read():
        assert time.monotonic() < stop, "the step was never announced"
        time.sleep(0.01)
    return read()


@pytest.mark.parametrize(
    "error, words",
    [(KeyboardInterrupt, "interrupted after"), (RuntimeError, "stopped after"), (None, "done in")],
)
def test_a_progress_step_says_how_it_ended(error, words):
    from bayeslaws.inference import progress

    stream = io.StringIO()
    with pytest.raises(error) if error else nullcontext():
        with progress.step("sampling", after=0.0, stream=stream):
            _wait_for(stream.getvalue)
            if error:
                raise error
    first, last = stream.getvalue().splitlines()
    assert first == "bayeslaws: sampling ..."
    assert last.startswith(f"bayeslaws: sampling: {words} ") and last.endswith(" s"), last
    if error:
        assert "done" not in last, last


@pytest.mark.parametrize(
    "error, words",
    [(KeyboardInterrupt, "interrupted after"), (ImportError, "stopped after"), (None, "done in")],
)
def test_the_loading_notice_says_how_it_ended(monkeypatch, error, words):
    monkeypatch.delitem(sys.modules, "bayeslaws.posterior.extrapolation", raising=False)
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    with pytest.raises(error) if error else nullcontext():
        with entry._starting(after=0.0):
            _wait_for(stream.getvalue)
            if error:
                raise error
    last = stream.getvalue().splitlines()[-1]
    assert last.startswith(f"bayeslaws: loading JAX, NumPyro and ArviZ: {words} "), last
    if error:
        assert "done" not in last, last


def test_version_prints_the_packages_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"bayeslaws {bayeslaws.__version__}"


def test_version_loads_no_numerical_library():
    import subprocess

    code = (
        "import sys; from bayeslaws.app.cli.entry import main; main(['--version']); "
        "print(any(m in sys.modules for m in ('jax', 'numpyro', 'pandas')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["bayeslaws", bayeslaws.__version__, "False"]


@pytest.fixture
def no_numerics(monkeypatch):
    """The numerics loader replaced by one that records the call and fails (rc 1)."""
    calls = []

    def refuse():
        calls.append(True)
        raise RuntimeError("the numerical libraries were loaded")

    monkeypatch.setattr(entry, "_load_numerics", refuse)
    return calls


def _cases(d):
    fit, runs = d / "f.nc", d / "runs.csv"  # present: only existence is checked first
    fit.write_text("")
    runs.write_text("N,D,loss\n")
    nope_nc, nope_csv = d / "nope.nc", d / "nope.csv"
    return [
        (["fit", str(nope_csv), "--out", str(d / "x.nc")], f"run table {str(nope_csv)!r}"),
        (["fit", str(nope_nc), "--out", str(d / "x.nc")], f"run table {str(nope_nc)!r}"),
        (["predict", str(nope_nc), "--N", "1e9", "--D", "1e10"], f"fit file {str(nope_nc)!r}"),
        (["allocate", str(nope_nc), "--C", "1e21"], f"fit file {str(nope_nc)!r}"),
        (
            ["candidates", str(nope_nc), "--isoflop", "1e20", "--out", str(d / "c.csv")],
            f"fit file {str(nope_nc)!r}",
        ),
        (
            ["design", str(fit), "--candidates", str(nope_csv)],
            f"candidates file {str(nope_csv)!r}",
        ),
        (
            ["plot", str(fit), "--kind", "fan", "--out", str(d / "f.png"), "--runs",
             str(nope_csv)],
            f"run table {str(nope_csv)!r}",
        ),  # fmt: skip
        (["report", str(nope_nc), "--out", str(d / "r.html")], f"fit file {str(nope_nc)!r}"),
        (
            ["plan", str(nope_csv), "--target-N", "1e9", "--target-D", "1e10", "--budget",
             "1e21"],
            f"run table {str(nope_csv)!r}",
        ),  # fmt: skip
        (
            ["plan", str(fit), str(nope_nc), "--target-N", "1e9", "--target-D", "1e10",
             "--budget", "1e21"],
            f"fit file {str(nope_nc)!r}",
        ),  # fmt: skip
    ]


@pytest.mark.parametrize("case", range(10))
def test_a_missing_input_file_is_refused_before_the_numerics_load(
    tmp_path, capsys, no_numerics, case
):
    argv, named = _cases(tmp_path)[case]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"bayeslaws {argv[0]}: error: {named} does not exist", err
    assert not no_numerics


def test_a_folder_given_as_input_is_refused_before_the_numerics_load(
    tmp_path, capsys, no_numerics
):
    assert main(["predict", str(tmp_path), "--N", "1e9", "--D", "1e10"]) == 2
    assert "is a folder, not a file" in capsys.readouterr().err
    assert not no_numerics


def test_existing_input_files_go_on_to_the_numerics(tmp_path, capsys, no_numerics):
    fit = tmp_path / "f.nc"
    fit.write_text("")
    assert main(["predict", str(fit), "--N", "1e9", "--D", "1e10"]) == 1  # the stand-in's bug
    assert no_numerics == [True]


def test_the_early_message_is_the_one_the_command_gives(tmp_path):
    """The messages checked early are those the commands' own readers give."""
    from bayeslaws.app.cli.errors import CLIError
    from bayeslaws.app.cli.files import load_fit
    from bayeslaws.app.cli.run_tables import read_runs

    nope = str(tmp_path / "nope.csv")
    with pytest.raises(CLIError, match=f"^{re.escape(f'run table {nope!r} does not exist')}$"):
        read_runs(nope, None)
    with pytest.raises(CLIError, match=f"^{re.escape(f'fit file {nope!r} does not exist')}$"):
        load_fit(nope)
