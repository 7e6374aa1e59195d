"""The figures of ``bayeslaws report``: the --runs table they draw and the figure folder.

A table drawn with ``--runs`` is named in the preamble with its SIMULATED note and its
exclusions, and a fan drawing simulated runs beside a fit to other data says so; the sentence
naming the table counts the runs the fan draws (none without a finite loss, each cell's best run
for a law of the hyperparameter optima, only the fitted group's rows for a fitted group); the
text names each figure by its path beside the report and the command prints the figure folder
(saying which earlier figures it replaced, refusing any other file).
"""

from __future__ import annotations

import copy
import dataclasses
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from conftest import flat_text, quiet  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws import plot  # noqa: E402
from bayeslaws.app.cli import main  # noqa: E402
from bayeslaws.app.report import drawn_runs_sentence, fit_report  # noqa: E402


def _relabelled(fit, source: str):
    """The same fit, its record's data source replaced by ``source``."""
    out = copy.copy(fit)
    out.record = dataclasses.replace(fit.record, data={**fit.record.data, "source": source})
    return out


def _record_saves(monkeypatch) -> dict:
    """Replace plot.save by one that records each figure's titles by file name."""
    seen = {}
    real = plot.save

    def record(fig, path, **kwargs):
        texts = [fig._suptitle.get_text() if fig._suptitle else ""]
        texts += [ax.get_title() for ax in fig.axes]
        seen[Path(path).name] = " ".join(" ".join(texts).split())
        return real(fig, path, **kwargs)

    monkeypatch.setattr(plot, "save", record)
    return seen


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ---- 1. the --runs table ----------------------------------------------------------------------
def test_a_drawn_simulated_table_is_named_and_labelled(simulated_fit, simulated_runs, tmp_path,
                                                       monkeypatch):
    """report --runs TABLE drew simulated runs under a real fit's curves with no word of it: the
    preamble ignored the table and the fan's title took its SIMULATED label from the fit only."""
    assert "SIMULATED" in simulated_runs.source  # the fixture's source column says so
    real = _relabelled(simulated_fit, "measured runs.csv")
    seen = _record_saves(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = fit_report(real, runs=simulated_runs, figure_dir=tmp_path / "figs").to_text()
    preamble = _one_line(text.split("== ")[0])
    assert "figures draw the runs of DataFrame (SIMULATED: its source column says so)" in (
        preamble
    ), preamble
    assert f"{len(simulated_runs)} rows of {len(simulated_runs)}" in preamble
    assert "(drawn runs SIMULATED)" in seen["fan.png"], seen
    assert "SIMULATED" not in seen["pairs.png"]  # the posterior is the real fit's


def test_a_fan_says_when_its_drawn_runs_are_simulated(simulated_fit, simulated_runs):
    """plot.fan labelled only from the fit's source; a drawn table simulated to another extent
    than the fit's data now adds its own words (a table not labelled simulated adds none)."""
    real = _relabelled(simulated_fit, "measured runs.csv")
    unlabelled = simulated_runs.df.drop(columns=["source"])
    cases = [
        (real, simulated_runs, "(drawn runs SIMULATED)"),
        (simulated_fit, simulated_runs, "(SIMULATED data)"),  # the same extent: said once
        (real, unlabelled, None),
    ]
    for fit, runs, words in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig = plot.fan(fit, runs, n_points=8, relative_panel=False)
        title = _one_line(fig._suptitle.get_text())
        matplotlib.pyplot.close(fig)
        if words is None:
            assert "SIMULATED" not in title, title
        else:
            assert words in title and title.count("SIMULATED") == 1, title


def test_exclusions_from_the_drawn_table_are_recorded(simulated_fit, simulated_runs, tmp_path,
                                                      capsys):
    """--exclude-rows on report's --runs left no trace although --help says exclusions are
    recorded; the preamble now names the table, its SIMULATED note and each exclusion."""
    fit_path, table = tmp_path / "fit.nc", tmp_path / "sim_runs.csv"
    _relabelled(simulated_fit, "measured runs.csv").save(fit_path)
    simulated_runs.df.to_csv(table, index=False)
    argv = ["report", str(fit_path), "--out", str(tmp_path / "r.html"), "--runs", str(table),
            "--exclude-rows", "0", "1", "2", "--exclude-reason", "bad tokenizer"]
    assert main(argv) == 0, capsys.readouterr().err
    out = _one_line(capsys.readouterr().out)
    n = len(simulated_runs)
    assert f"figures draw the runs of {table}" in out and "SIMULATED: its source column" in out
    assert f"{n - 3} rows of {n}; excluded from that table: 3 rows, reason: bad tokenizer" in out
    page = (tmp_path / "r.html").read_text()
    assert "excluded from that table: 3 rows" in page


def test_drawn_runs_sentence_of_a_frame_and_of_no_figures():
    from bayeslaws.app.report import drawn_runs_sentence

    frame = pd.DataFrame({"N": [1e8, 2e8], "D": [1e9, 2e9], "loss": [3.0, 2.9],
                          "source": ["simulated: x", "measured"]})
    line = drawn_runs_sentence(frame)
    assert "a DataFrame (partly SIMULATED: 1 of 2 rows by its source column)" in line
    assert "2 rows of 2" in line
    assert "not drawn (no figures were made)" in drawn_runs_sentence(frame, drawn=False)


# ---- 2. where the figures are ------------------------------------------------------------------
def test_the_figure_folder_is_named_and_replacements_are_said(simulated_fit, tmp_path, capsys):
    """The text said "figure fan.png" while the files went to <stem>_figures/, which no output
    named, and earlier figures there were overwritten silently."""
    path = tmp_path / "fit.nc"
    simulated_fit.save(path)
    folder = (tmp_path / "r_figures").resolve()
    argv = ["report", str(path), "--out", str(tmp_path / "r.html")]
    assert main(argv) == 0, capsys.readouterr().err
    first = capsys.readouterr().out
    assert "figure r_figures/fan.png:" in first and "figure r_figures/pairs.png:" in first
    assert f"wrote 2 figures to {folder}\n" in first
    assert (folder / "fan.png").is_file()
    assert "r_figures/fan.png: " in (tmp_path / "r.html").read_text()  # the caption
    assert main(argv) == 0
    again = capsys.readouterr().out
    assert f"wrote 2 figures to {folder} (replacing the earlier fan.png, pairs.png there)" in again


def test_a_file_that_is_not_a_figure_is_not_overwritten(simulated_fit, tmp_path, capsys):
    path = tmp_path / "fit.nc"
    simulated_fit.save(path)
    mine = tmp_path / "r_figures" / "pairs.png"
    mine.parent.mkdir()
    mine.write_text("my notes")
    assert main(["report", str(path), "--out", str(tmp_path / "r.html")]) != 0
    assert "is not a PNG image" in capsys.readouterr().err
    assert mine.read_text() == "my notes"


# ---- 3b. the runs drawn -------------------------------------------------------------------------
def _with_nan_losses(runs, n: int = 3) -> pd.DataFrame:
    df = runs.df.drop(columns=["source"]).copy()
    df.loc[df.index[:n], "loss"] = np.nan
    return df


def test_the_drawn_runs_sentence_counts_the_runs_drawn(simulated_fit, simulated_runs, tmp_path):
    """`bayeslaws report --runs T --keep-diverged` said "16 rows of 16" while the fan drew 13:
    a run without a finite loss is no point."""
    df = _with_nan_losses(simulated_runs)
    table = quiet(lambda: bl.load_runs(df, allow_missing_loss=True))
    n = len(df)
    report = quiet(
        lambda: fit_report(simulated_fit, runs=table, figure_dir=tmp_path / "figs", ci=0.8)
    )
    said = f"{n} rows of {n}; {n - 3} drawn, the 3 without a finite loss are not."
    assert said in flat_text(report.to_text())
    assert said in report.to_html()
    assert said in drawn_runs_sentence(table, True, simulated_fit)
    # every row finite: the sentence as before
    assert drawn_runs_sentence(simulated_runs, True, simulated_fit).endswith(
        f"not the fit's own: {n} rows of {n}."
    )


def test_a_hyperparameter_law_draws_each_cells_best_run(small_sweep_hp_fit, small_sweep):
    """The fan of law 'hyperparams' draws one point per (N, D) cell, its best run; a cell whose
    runs have no finite loss has none."""
    from bayeslaws.runs.cells import run_cells

    df = small_sweep.df.drop(columns=["source"]).copy()
    n, cells = len(df), len(np.unique(run_cells(df)))
    line = drawn_runs_sentence(small_sweep, True, small_sweep_hp_fit)
    assert f"{n} rows of {n}; drawn: each (N, D) cell's best run, {cells} points." in line
    first = (df["N"] == df["N"].min()) & (df["D"] == df["D"].min())
    df.loc[first, "loss"] = np.nan
    table = quiet(lambda: bl.load_runs(df, allow_missing_loss=True))
    line = drawn_runs_sentence(table, True, small_sweep_hp_fit)
    assert f"{cells - 1} points (1 cell without a finite loss, none drawn)." in line


def test_a_fitted_groups_figures_draw_its_own_rows(grouped_fit):
    """For a fitted group the fan draws that group's rows of a table with a group column."""
    df = pd.DataFrame(grouped_fit.record.training_runs)
    own = int((df["group"].astype(str) == "B").sum())
    line = drawn_runs_sentence(df, True, grouped_fit, "B")
    assert (
        f"{len(df)} rows of {len(df)}; the {len(df) - own} rows of other groups are not drawn "
        "(the figures are for group B)."
    ) in line
    # a new group: the fan draws every group's runs
    assert drawn_runs_sentence(df, True, grouped_fit, None).endswith(
        f"{len(df)} rows of {len(df)}."
    )


def test_a_new_groups_figures_draw_only_the_fitted_groups_rows(grouped_fit):
    """For a new group (group None) the fan draws one set of runs per fitted group
    (plot.fan_points): the rows of a group the fit does not have are no point. The sentence said
    "32 rows of 32" while the fan drew 26 (review 8, RX)."""
    from bayeslaws import plot

    df = pd.DataFrame(grouped_fit.record.training_runs)
    df.loc[df.index[:6], "group"] = "C"  # 6 rows of a group the fit does not have
    drawn = sum(len(s) for _, s in plot.fan_points(grouped_fit, df, None).sets)
    assert drawn == len(df) - 6
    line = drawn_runs_sentence(df, True, grouped_fit, None)
    assert line.endswith(
        f"{len(df)} rows of {len(df)}; the 6 rows of groups the fit does not have (C) are not "
        "drawn (the figures draw the fitted groups' runs)."
    )
    # a fitted group's figures: the other groups' rows, the unfitted one's among them
    own = int((df["group"] == "B").sum())
    assert f"the {len(df) - own} rows of other groups are not drawn" in drawn_runs_sentence(
        df, True, grouped_fit, "B"
    )
