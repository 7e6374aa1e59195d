"""Files the command line and the demo write over: an earlier output of theirs is replaced,
and said so; a file they did not write (a run table, a user's report, another CSV) is refused."""

from __future__ import annotations

import shutil

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from conftest import cli_error_line, cli_run  # noqa: E402

from bayeslaws.app import demo  # noqa: E402
from bayeslaws.app.cli import EXIT_BAD_INPUT  # noqa: E402
from bayeslaws.app.cli.files import replacing_fit  # noqa: E402

TINY = ["--chains", "1", "--warmup", "50", "--draws", "50", "--no-discrepancy", "--screen", "off"]


_run = cli_run  # conftest: bayeslaws argv in-process -> (code, stdout, stderr)


# ---- 1. replaced outputs are said ----------------------------------------------------------
def test_fit_out_says_it_replaces_an_earlier_fit(grouped_fit, grouped_fit_file, simulated_runs_csv,
                                                 tmp_path, capsys):
    out = tmp_path / "fit.nc"
    shutil.copy(grouped_fit_file, out)
    code, stdout, _ = _run(["fit", simulated_runs_csv, "--out", out, *TINY], capsys)
    assert code == 0
    n_runs = grouped_fit.record.data["n_rows_used"]
    assert f"saved {out} (replacing an earlier fit: {n_runs} runs, law 'chinchilla')" in stdout


def test_replacing_fit_words(tmp_path):
    """Nothing for a new file; "the earlier file" for a .nc that is no readable fit."""
    assert replacing_fit(tmp_path / "new.nc") == ""
    cut = tmp_path / "cut.nc"
    cut.write_bytes(b"\x89HDF\r\n\x1a\n cut short")
    assert replacing_fit(cut) == " (replacing the earlier file)"


# ---- F3: candidates --out ------------------------------------------------------------------------
def test_candidates_say_they_replace_an_earlier_file(two_scales_files, capsys, tmp_path):
    out = tmp_path / "cands.csv"
    argv = ["candidates", two_scales_files["plain"], "--isoflop", "1e19", "--n-per-budget", "3",
            "--out", out]  # fmt: skip
    code, first, err = _run(argv, capsys)
    assert code == 0, err
    assert "replacing" not in first
    code, again, err = _run(argv, capsys)
    assert code == 0, err
    assert f"wrote {out} (replacing the earlier file)" in again


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


# ---- the guard against overwriting a CSV that is not ours: one function -----------------------
def test_next_runs_guard_refuses_a_foreign_csv_and_replaces_its_own(tmp_path):
    """The demo's next_runs.csv guard (the same function as the command line's candidates and
    picks guards, tested in test_cli.py and above): a run table is refused
    (FileExistsError, the planning did not run), an earlier list of next runs or an empty file
    is not."""
    path = tmp_path / demo.NEXT_RUNS_FILE
    path.write_text("N,D,loss\n1e8,2e9,3.0\n")
    with pytest.raises(FileExistsError, match="is not an earlier list of next runs .* so the "
                       "planning did not run"):  # fmt: skip
        demo.refuse_non_runs_file(path)
    path.write_text("\npick,unit,N,D,C,lr,batch_size\n1,1,1e8,2e9,1.2e18,1e-4,5e4\n")
    demo.refuse_non_runs_file(path)  # an earlier one (a blank line before its header)
    path.write_text("")
    demo.refuse_non_runs_file(path)


def test_csv_guards_need_their_own_marker_columns_not_a_mere_subset(
    simulated_fit_file, tmp_path, capsys
):
    """The guards took any header that was a SUBSET of their columns as ours: 'design --out'
    and the demo's next_runs.csv silently replaced a candidates CSV (N, D, C[, lr, batch_size,
    unit, group] are among the picks' columns) or a user's own N, D, C table. Now the header
    must also name the file's marker: pick for picks and next runs; N, D and C for candidates.
    An earlier picks CSV is still replaced, and a candidates CSV by 'candidates --out'."""
    cands = tmp_path / "cands.csv"
    base = ["candidates", simulated_fit_file, "--isoflop", "1e21", "--n-per-budget", "3", "--out"]
    code, _, _ = cli_run(base + [cands], capsys)
    assert code == 0
    written = cands.read_text()
    code, _, _ = cli_run(base + [cands], capsys)  # an earlier candidates CSV may be replaced
    assert code == 0 and cands.read_text() == written
    argv = ["design", simulated_fit_file, "--isoflop", "1e21", "--out", cands]
    code, _, err = cli_run(argv, capsys)
    assert code == 2
    line = cli_error_line(err)
    assert "is not an earlier picks CSV" in line and "with pick" in line
    assert cands.read_text() == written  # refused before any work: the candidates are kept
    swept = tmp_path / "swept.csv"  # a sweep's candidates: every column among the picks'
    swept.write_text("N,D,C,lr,batch_size,unit\n1e8,2e9,1.2e18,1e-4,5e4,a\n")
    with pytest.raises(FileExistsError, match="is not an earlier list of next runs"):
        demo.refuse_non_runs_file(swept)
    argv = ["design", simulated_fit_file, "--isoflop", "1e21", "--out", swept]
    code, _, err = cli_run(argv, capsys)
    assert code == 2 and "is not an earlier picks CSV" in cli_error_line(err)
    picks = tmp_path / "picks.csv"  # an earlier picks CSV, and an earlier next_runs.csv
    picks.write_text("pick,unit,N,D,C\n1,0,1e8,2e9,1.2e18\n")
    demo.refuse_non_runs_file(picks)
    code, _, err = cli_run(
        ["design", simulated_fit_file, "--isoflop", "1e21", "--n-per-budget", "3", "--k", "1",
         "--out", picks], capsys,
    )  # fmt: skip
    assert code == 0, err
    assert picks.read_text().startswith("pick,unit,")
    code, _, err = cli_run(base + [picks], capsys)  # and candidates never replace picks
    assert code == 2 and "is not an earlier candidates CSV" in cli_error_line(err)


SWEEPS = ["--sweep", "1e8", "3e9", "--sweep", "2e8", "8e9", "--sweep", "3e8", "1e10"]


def test_design_out_refuses_a_file_that_is_not_earlier_picks(sweep_fit_file, tmp_path, capsys):
    table = tmp_path / "runs.csv"
    table.write_text("N,D,loss\n1e8,2e9,3.0\n")
    code, out, err = cli_run(["design", sweep_fit_file, *SWEEPS, "--out", table], capsys)
    assert code == 2
    assert "is not an earlier picks CSV" in cli_error_line(err)
    assert table.read_text() == "N,D,loss\n1e8,2e9,3.0\n"
    code, out, err = cli_run(["design", sweep_fit_file, *SWEEPS, "--out", sweep_fit_file], capsys)
    assert code == 2 and "is the fit file itself" in cli_error_line(err)
