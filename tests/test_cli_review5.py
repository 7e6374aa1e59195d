"""The command line after review 5: a closed stdout (``| head``) loses no file and is not bad
input; ``demo --out`` overwrites no report it did not write and says what it replaced;
``candidates --out`` says what it replaced and writes the --group it was given; a candidates file
with a value that is not a number names its row; and ``design --plot R2.csv`` is refused before
any work. Fits are stubs or tiny (conftest's two-scales fits)."""

from __future__ import annotations

import io
import os
import sys
import warnings

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import cli_error_line, cli_run, two_scales_runs  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws.app import cli  # noqa: E402
from bayeslaws.app.cli import EXIT_BAD_INPUT, main  # noqa: E402

_run = cli_run  # conftest: bayeslaws argv in-process -> (code, stdout, stderr)


@pytest.fixture(scope="module")
def saved(two_scales_fits, tmp_path_factory):
    """The two-scales fits saved (a grouped one, groups 'small' and 'large'; one without
    groups) and the ungrouped fit's run table as CSV."""
    d = tmp_path_factory.mktemp("review5")
    grouped, plain = two_scales_fits
    runs = d / "runs.csv"
    two_scales_runs("small").to_csv(runs, index=False)
    return {
        "dir": d,
        "grouped": grouped.save(d / "grouped.nc"),
        "plain": plain.save(d / "plain.nc"),
        "plain_fit": plain,
        "runs": runs,
    }


class _ClosedPipe(io.TextIOBase):
    """A stdout whose reader is gone: every write raises BrokenPipeError (as with
    PYTHONUNBUFFERED=1 under ``| head -1``); it has no file descriptor."""

    def writable(self) -> bool:
        return True

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


# ---- F1: a closed pipe ---------------------------------------------------------------------------
def test_fit_into_a_closed_pipe_saves_the_fit_and_is_no_input_error(saved, monkeypatch, capsys):
    """'bayeslaws fit ... | head -1' printed the fit before saving it, so the closed pipe lost
    the finished fit, and the BrokenPipeError was reported as bad input (exit 2, 'error:
    [Errno 32] Broken pipe'). The fit is saved first now, and the closed pipe ends quietly."""
    monkeypatch.setattr(bl, "fit", lambda *args, **kwargs: saved["plain_fit"])  # a stub fit
    out = saved["dir"] / "piped.nc"
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    code = main(["fit", str(saved["runs"]), "--out", str(out), "--no-discrepancy"])
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert out.is_file()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tiny fit's sampler trouble
        assert bl.load_fit(out).law.name == saved["plain_fit"].law.name
    assert code == cli.EXIT_BROKEN_PIPE and code not in (EXIT_BAD_INPUT, cli.EXIT_FAILED)
    assert "error" not in err and "Broken pipe" not in err, err


def test_a_closed_pipe_with_a_file_descriptor_is_pointed_at_devnull(saved, monkeypatch, capsys):
    """A real pipe whose reading end is closed: the command ends with the broken-pipe code and
    stdout's descriptor is pointed at os.devnull, so the flush at exit cannot fail again."""
    read, write = os.pipe()
    os.close(read)
    stream = os.fdopen(write, "w", buffering=1)
    monkeypatch.setattr(bl, "fit", lambda *args, **kwargs: saved["plain_fit"])
    out = saved["dir"] / "piped_fd.nc"
    monkeypatch.setattr(sys, "stdout", stream)
    code = main(["fit", str(saved["runs"]), "--out", str(out), "--no-discrepancy"])
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


def test_a_closed_pipe_found_at_the_last_flush_ends_the_same_way(saved, monkeypatch, capsys):
    """Without PYTHONUNBUFFERED the output is written at the flush at exit, where the closed
    pipe gave Python's "Exception ignored ... BrokenPipeError" and exit code 120; main flushes
    stdout itself now, so it ends as any closed pipe does."""
    out = saved["dir"] / "flushed.csv"
    monkeypatch.setattr(sys, "stdout", _BufferedClosedPipe())
    argv = ["candidates", saved["plain"], "--isoflop", "1e19", "--n-per-budget", "3", "--out", out]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main([str(a) for a in argv])
    monkeypatch.undo()
    assert code == cli.EXIT_BROKEN_PIPE and out.is_file()
    assert "error" not in capsys.readouterr().err


def test_report_into_a_closed_pipe_writes_the_report_first(saved, monkeypatch, capsys, tmp_path):
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
        code = main(["report", str(saved["plain"]), "--out", str(out)])
    monkeypatch.undo()
    assert code == cli.EXIT_BROKEN_PIPE, capsys.readouterr().err
    assert out.is_file() and "a report" in out.read_text()


# ---- F2: demo --out ------------------------------------------------------------------------------
def _no_fit(*args, **kwargs):
    raise AssertionError("the demo fitted before checking its folder")


@pytest.mark.parametrize(
    "name, text, flags",
    [
        ("report.html", "<p>my dashboard</p>\n", ["--html"]),
        ("report.txt", "my own notes\n", []),
        ("fan.png", "not an image\n", []),
    ],
)
def test_demo_refuses_a_report_it_did_not_write(name, text, flags, monkeypatch, capsys, tmp_path):
    """'demo --out DIR' overwrote the user's report.txt and report.html silently; now a file
    the demo did not write is refused before any fit (one line, exit 2), and left as it was."""
    from bayeslaws.app import demo

    monkeypatch.setattr(demo, "fit_laws", _no_fit)
    (tmp_path / name).write_text(text)
    code, _, err = _run(["demo", "--out", tmp_path, *flags], capsys)
    assert code == EXIT_BAD_INPUT, err
    line = cli_error_line(err)
    assert name in line and "not" in line and "AssertionError" not in line
    assert (tmp_path / name).read_text() == text


def test_demo_replaces_its_own_earlier_files_and_says_so(monkeypatch, capsys, tmp_path):
    """An earlier demo's report.txt and report.html (and any *.nc fit file) may be replaced;
    the closing line names the files replaced."""
    from bayeslaws.app import demo

    (tmp_path / "report.txt").write_text("bayeslaws planning report on 'x' (joint route)\n")
    (tmp_path / "report.html").write_text("<!DOCTYPE html>\n<html></html>\n")
    (tmp_path / "sweep_fit.nc").write_text("an earlier fit")
    existed = demo.refuse_foreign_files(tmp_path, "joint", figures=False, html=True)
    assert sorted(p.name for p in existed) == ["report.html", "report.txt", "sweep_fit.nc"]
    written = [tmp_path / n for n in demo.output_files("joint", False, True)]
    line = demo.wrote_line(written, existed)
    assert line.startswith(f"wrote {tmp_path / 'report.txt'}")
    assert line.endswith("(replacing the earlier report.txt, sweep_fit.nc, report.html)")
    assert "replacing" not in demo.wrote_line(written, [])
    # the demo's own earlier report does not stop it (it reaches the fit)
    monkeypatch.setattr(demo, "fit_laws", _no_fit)
    code, _, err = _run(["demo", "--out", tmp_path, "--html", "--no-figures"], capsys)
    assert "the demo fitted before checking its folder" in err


# ---- F3: candidates --out ------------------------------------------------------------------------
def test_candidates_say_they_replace_an_earlier_file(saved, capsys, tmp_path):
    out = tmp_path / "cands.csv"
    argv = ["candidates", saved["plain"], "--isoflop", "1e19", "--n-per-budget", "3", "--out", out]
    code, first, err = _run(argv, capsys)
    assert code == 0, err
    assert "replacing" not in first
    code, again, err = _run(argv, capsys)
    assert code == 0, err
    assert f"wrote {out} (replacing the earlier file)" in again


def test_candidates_with_a_group_write_it_and_design_reads_it(saved, capsys, tmp_path):
    """'candidates --group small' wrote only N, D, C: 'design' on the file without --group
    valued the runs as a new group's. The group column is written now, and design reads it
    (and checks it against its own --group); the file may be replaced as earlier candidates."""
    out = tmp_path / "cands.csv"
    argv = ["candidates", saved["grouped"], "--isoflop", "1e19", "--n-per-budget", "3",
            "--group", "small", "--out", out]  # fmt: skip
    code, text, err = _run(argv, capsys)
    assert code == 0, err
    table = pd.read_csv(out)
    assert "group" in table and (table["group"] == "small").all() and len(table) == 3
    assert "group 'small'" in text
    code, _, err = _run(argv, capsys)  # an earlier candidates file with a group column
    assert code == 0, err
    design = ["design", saved["grouped"], "--candidates", out, "--k", "1"]
    code, _, err = _run([*design, "--group", "large"], capsys)
    assert code == EXIT_BAD_INPUT
    assert "'small' but --group 'large'" in cli_error_line(err)


# ---- F4: a candidates file with text for a number ----------------------------------------------
def test_a_non_numeric_candidate_value_names_its_row(saved, capsys, tmp_path):
    """'4.4B' in a candidates file gave "... must be a positive number or 1-d sequence, got
    array([... every value], dtype=object)"; now the row and value are named, as for run
    tables."""
    path = tmp_path / "cands.csv"
    path.write_text("N,D\n1e8,2e9\n2e8,2e9\n4.4B,2e9\n")
    code, _, err = _run(["design", saved["plain"], "--candidates", path], capsys)
    assert code == EXIT_BAD_INPUT
    line = cli_error_line(err)
    assert "column 'N'" in line and "rows 2" in line and "'4.4B'" in line, line
    assert "array(" not in line and str(path) in line
    mapped = tmp_path / "mapped.csv"  # under the user's own column name
    mapped.write_text("Model Size,D\n1e8,2e9\n4.4B,2e9\n")
    argv = ["design", saved["plain"], "--candidates", mapped, "--column", "N=Model Size"]
    code, _, err = _run(argv, capsys)
    assert code == EXIT_BAD_INPUT
    assert "column 'Model Size'" in cli_error_line(err) and "rows 1" in cli_error_line(err)


# ---- F5: a figure format matplotlib cannot write ----------------------------------------------
def test_design_plot_in_a_format_matplotlib_cannot_write_is_refused_first(
    saved, monkeypatch, capsys, tmp_path
):
    """'design FIT --isoflop 1e20 --plot R2.csv' ran the whole design, printed the batch, then
    failed "Format 'csv' is not supported"; now it is refused before any work."""
    from bayeslaws import design

    monkeypatch.setattr(design, "next_runs", lambda *a, **k: pytest.fail("the design ran"))
    plot = tmp_path / "x.csv"
    argv = ["design", saved["plain"], "--isoflop", "1e20", "--plot", plot]
    code, out, err = _run(argv, capsys)
    assert code == EXIT_BAD_INPUT and not out
    line = cli_error_line(err)
    assert "--plot" in line and "'.csv'" in line and ".png" in line and ".pdf" in line
    assert not plot.exists()
    code, _, err = _run(["plot", saved["plain"], "--kind", "pairs", "--out", plot], capsys)
    assert code == EXIT_BAD_INPUT and "--out" in cli_error_line(err)


@pytest.mark.parametrize("name", ["fig", "fig.PNG", "fig.pdf", "fig.svg", "a.b/fig.jpg"])
def test_figure_names_matplotlib_writes_pass(name):
    cli._check_figure_format(name, "--plot")  # no error
