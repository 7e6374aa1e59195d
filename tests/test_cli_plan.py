"""``bayeslaws plan`` and the demo's planning: on a run table or saved fits, bad input refused
before any fit, and next_runs.csv listing every run of the picks."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import cli_error_line, cli_run, small_sweep_grid  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws.app import demo  # noqa: E402

TINY = ["--chains", "1", "--warmup", "100", "--draws", "100"]


# ---- 2. bayeslaws plan ----------------------------------------------------------------------
def test_plan_on_a_run_table_and_on_its_saved_fit(small_sweep, tmp_path, capsys):
    """A user with their own sweep had no command-line route to the planning report (only the
    demo on bundled data): 'bayeslaws plan' runs the demo's planning on a run table (fitted
    and saved) or on saved fits."""
    table = tmp_path / "my_sweep.csv"
    small_sweep.df.drop(columns=["source"], errors="ignore").to_csv(table, index=False)
    out = tmp_path / "planned"
    target = ["--target-N", "5e8", "--target-D", "2e10", "--budget", "1e20"]
    code, stdout, err = cli_run(["plan", table, *target, "--out", out, *TINY, "--no-figures"],
                                capsys)  # fmt: skip
    assert code == 0, err
    text = (out / "report.txt").read_text()
    assert text.startswith("bayeslaws planning report") and "== Next runs" in text
    assert (out / "sweep_fit.nc").is_file()
    runs = pd.read_csv(out / "next_runs.csv")
    assert {"lr", "batch_size"} <= set(runs.columns) and len(runs) > 0
    assert "next_runs.csv" in " ".join(text.split())
    # from the saved fit: nothing fitted, nothing written over it
    again = tmp_path / "again"
    code, stdout, err = cli_run(
        ["plan", out / "sweep_fit.nc", *target, "--out", again, "--no-figures"], capsys
    )
    assert code == 0, err
    assert sorted(p.name for p in again.iterdir()) == ["next_runs.csv", "report.txt"]


def test_plan_bad_input_is_one_line_with_exit_2(small_sweep, sweep_fit_file, tmp_path, capsys):
    table = tmp_path / "no_lr.csv"
    small_sweep.df.drop(columns=["source", "lr"], errors="ignore").to_csv(table, index=False)
    target = ["--target-N", "5e8", "--target-D", "2e10", "--budget", "1e20"]
    code, out, err = cli_run(["plan", table, *target, "--out", tmp_path / "p"], capsys)
    assert code == 2
    line = cli_error_line(err)
    assert "has no column 'lr'" in line and "--column lr=NAME" in line, line
    assert not (tmp_path / "p").exists()  # refused before any fit
    code, out, err = cli_run(["plan", table, sweep_fit_file, *target], capsys)
    assert code == 2 and "not both" in cli_error_line(err)
    code, out, err = cli_run(["plan", sweep_fit_file, *target, "--route", "joint"], capsys)
    assert code == 2 and "--route applies to a run table" in cli_error_line(err)


def test_demo_writes_every_run_of_the_picks_and_the_report_names_the_file(
    small_sweep_sweep_fit, monkeypatch, tmp_path
):
    """The demo's report gave each picked sweep as N, D, C and 'runs 15' only, and no file of
    the runs; now next_runs.csv lists them, the report names it and gives each pick's ranges."""
    monkeypatch.setattr(
        demo, "fit_laws", lambda runs, sampler, route: (small_sweep_sweep_fit,) * 2
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = demo.run_demo(tmp_path, figures=False, progress=False, quiet=True)
    runs = pd.read_csv(tmp_path / "next_runs.csv")
    assert {"design", "pick", "unit", "N", "D", "C", "lr", "batch_size"} <= set(runs.columns)
    assert runs["design"].str.startswith("N_opt(C=").any()
    assert runs["design"].str.startswith("eta_opt(").any()
    for _, one in runs.groupby(["design", "pick"]):
        assert len(one) == 15 and one["lr"].nunique() == 5 and one["batch_size"].nunique() == 3
    flat = " ".join(text.split())
    assert "is listed in next_runs.csv beside this report" in flat
    assert "(5 values)" in text and "(3 values)" in text


# ---- 4. plan refuses, before the fit, cells the fixed-vs-optimal refit cannot use -------------
def _no_fit(monkeypatch):
    """A fit is a test failure: each refusal below comes before it."""

    def fitted(*args, **kwargs):
        raise AssertionError("the run table was fitted")

    monkeypatch.setattr(demo, "fit_laws", fitted)


PLAN = ["--target-N", "1e9", "--target-D", "2e10", "--budget", "1e21", "--no-figures"]


def test_plan_refuses_two_sizes_before_the_fit(tmp_path, monkeypatch, capsys):
    """A sweep at 2 sizes x 2 token counts: the joint route's fixed-vs-optimal refit needs 3
    distinct N (and D) and 5 cells, and failed only after the minutes of fitting. Now refused
    before, naming the values found and the best-cell route in the command line's words."""
    _no_fit(monkeypatch)
    table = tmp_path / "runs.csv"
    small_sweep_grid().to_csv(table, index=False)  # N: 17M, 130M; D: 2B, 8B
    code, _, err = cli_run(["plan", table, *PLAN, "--out", tmp_path / "plan"], capsys)
    line = cli_error_line(err)
    assert code == 2, err
    assert "needs at least 3 distinct N values; the table has 2: N = 1.7e+07, 1.3e+08" in line
    assert "on the command line: --route best-cell" in line and "Python" not in line, line
    assert not (tmp_path / "plan" / "sweep_fit.nc").exists()


def test_plan_refuses_a_grouped_table_without_group_in_one_clean_sentence(
    tmp_path, monkeypatch, capsys
):
    """A table of two groups and no --group: refused before the fit; the command line read
    "...for one fitted group:; on the command line: --group y or another of them"."""
    _no_fit(monkeypatch)
    table = tmp_path / "runs.csv"
    grid = small_sweep_grid()
    pd.concat([grid.assign(group="x"), grid.assign(group="y")]).to_csv(table, index=False)
    code, _, err = cli_run(["plan", table, *PLAN, "--out", tmp_path / "plan"], capsys)
    line = cli_error_line(err)
    assert code == 2, err
    assert "planning answers for one fitted group; on the command line: --group " in line, line
    assert ":;" not in line and "Python" not in line and "another of them" not in line, line


def test_plan_refuses_four_cells_and_keeps_other_routes(monkeypatch, tmp_path):
    """3 distinct N and D but 4 (N, D) cells: fewer than the refit's 5 parameters, refused
    before the fit; the best-cell route, which makes no such refit, is not refused for it."""
    from bayeslaws.runs import simulate

    _no_fit(monkeypatch)
    runs = bl.load_runs(
        simulate.simulate_grid(
            simulate.VideoDiTTruth(), N=[1.7e7, 5.7e7, 1.3e8, 1.7e7], D=[2e9, 5e9, 8e9, 8e9],
            lr_values=[1e-4, 3.6e-4], batch_values=[5e4, 2e5], seed=0,
        )
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"5-parameter Chinchilla surface .* the table has 4"):
        demo.run_planning(tmp_path / "joint", runs, target_N=1e9, target_D=2e10, budget=1e21,
                          figures=False, progress=False, quiet=True)  # fmt: skip
    demo.check_sweep_table(runs, None, "best-cell")  # no refit on that route: nothing said
