"""The command line's paths (review 16): a leading ``~`` is expanded in every input file and
output path (a shell leaves ``--out=~/fits/fit.nc`` as typed), and ``candidates --out`` and
``design --out`` (CSV files) refuse another suffix, as ``fit --out`` and ``report --out`` do.
The fits and run tables are SIMULATED (conftest)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import cli_error_line, cli_run

from bayeslaws.app.cli import EXIT_BAD_INPUT


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home folder of the test's own (``HOME``), the compilation cache and matplotlib's
    folders kept where they were (a new home would move them)."""
    import matplotlib

    from bayeslaws.inference import compilation

    matplotlib.get_configdir(), matplotlib.get_cachedir()  # settled before HOME moves
    folder = compilation.cache_dir()
    monkeypatch.setenv(compilation.ENV, str(folder) if folder is not None else "off")
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("HOME", str(path))
    assert Path("~").expanduser() == path
    return path


def test_fit_expands_a_tilde_in_the_run_table_and_after_out_equals(
    home, simulated_runs_csv, capsys
):
    (home / "data").mkdir()
    (home / "fits").mkdir()
    shutil.copy(simulated_runs_csv, home / "data" / "runs.csv")
    argv = ["fit", "~/data/runs.csv", "--out=~/fits/x.nc", "--no-discrepancy", "--screen", "off",
            "--chains", "1", "--warmup", "30", "--draws", "30"]  # fmt: skip
    code, out, err = cli_run(argv, capsys)
    assert code == 0, err
    saved = home / "fits" / "x.nc"
    assert saved.is_file() and f"saved {saved}" in out
    assert not Path("~").exists()  # no folder named '~' in the working folder


def test_candidates_design_and_plot_expand_a_tilde_in_every_path(
    home, simulated_fit_file, capsys
):
    shutil.copy(simulated_fit_file, home / "fit.nc")
    argv = ["candidates", "~/fit.nc", "--isoflop", "1e21", "--n-per-budget", "3",
            "--out=~/cands.csv"]  # fmt: skip
    code, out, err = cli_run(argv, capsys)
    assert code == 0, err
    assert (home / "cands.csv").is_file() and f"wrote {home / 'cands.csv'}" in out
    argv = ["design", "~/fit.nc", "--candidates=~/cands.csv", "--k", "1", "--out=~/picks.csv",
            "--plot=~/ranking.png"]  # fmt: skip
    code, out, err = cli_run(argv, capsys)
    assert code == 0, err
    assert (home / "picks.csv").is_file() and (home / "ranking.png").is_file()
    assert f"wrote {home / 'picks.csv'}" in out
    code, out, err = cli_run(["plot", "~/fit.nc", "--kind", "fan", "--out=~/fan.png"], capsys)
    assert code == 0, err
    assert (home / "fan.png").is_file()
    assert not Path("~").exists()


@pytest.mark.parametrize(
    "argv, named",
    [
        (["predict", "~/missing.nc", "--N", "1e9", "--D", "2e10"], "missing.nc"),
        (["candidates", "{fit}", "--isoflop", "1e21", "--out=~/nowhere/c.csv"], "nowhere"),
    ],
)
def test_messages_name_the_expanded_path(home, simulated_fit_file, capsys, argv, named):
    """A missing input file or output folder is named as expanded, not as '~/...' (nor said to
    be unexpanded)."""
    argv = [a.format(fit=simulated_fit_file) for a in argv]
    code, _, err = cli_run(argv, capsys)
    assert code == EXIT_BAD_INPUT
    line = cli_error_line(err)
    assert str(home) in line and named in line, line
    assert "'~" not in line and "was not expanded" not in line, line


@pytest.mark.parametrize(
    "command, extra, what",
    [
        ("candidates", ["--isoflop", "1e21"], "the candidates are written as CSV"),
        ("design", ["--isoflop", "1e21"], "the picks are written as CSV"),
    ],
)
@pytest.mark.parametrize("name", ["c.txt", "c.nc", "c"])
def test_csv_outputs_refuse_another_suffix_before_reading_the_fit(
    tmp_path, capsys, command, extra, what, name
):
    """``candidates --out c.txt`` wrote a CSV under any name; now refused as ``fit --out`` and
    ``report --out`` are, before the fit is read (a file that is no fit is never opened)."""
    fit = tmp_path / "fit.nc"
    fit.write_text("not a fit\n")
    out = tmp_path / name
    code, _, err = cli_run([command, fit, *extra, "--out", out], capsys)
    assert code == EXIT_BAD_INPUT
    line = cli_error_line(err)
    assert f"--out {str(out)!r}: {what}: give a file ending in .csv" in line, line
    assert repr(str(tmp_path / "c.csv")) in line and not out.exists()


def test_csv_outputs_take_any_case_of_csv(simulated_fit_file, tmp_path, capsys):
    out = tmp_path / "c.CSV"
    argv = ["candidates", simulated_fit_file, "--isoflop", "1e21", "--n-per-budget", "3",
            "--out", out]  # fmt: skip
    code, _, err = cli_run(argv, capsys)
    assert code == 0, err
    assert out.is_file()


@pytest.mark.parametrize("command", ["candidates", "design"])
def test_a_real_fit_writes_no_csv_under_another_suffix(
    simulated_fit_file, tmp_path, capsys, command
):
    out = tmp_path / "runs.txt"
    argv = [command, simulated_fit_file, "--isoflop", "1e21", "--n-per-budget", "3", "--out", out]
    code, _, err = cli_run(argv, capsys)
    assert code == EXIT_BAD_INPUT, err
    assert "give a file ending in .csv" in cli_error_line(err) and not out.exists()
