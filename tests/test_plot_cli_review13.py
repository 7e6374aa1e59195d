"""Review 13 of the figures and the command line: the bowls of a run table without runs at some
fitted cells leave those panels blank (and refuse a table with none at any); ``bayeslaws plot
--out`` refuses an existing file that is not an image of its suffix's format; the nearest
fitted cell of a NaN prediction is found by the package (the command line only words it)."""

from __future__ import annotations

import types

import matplotlib
import matplotlib.pyplot

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import cli_error_line, cli_run, quiet  # noqa: E402

from bayeslaws import plot  # noqa: E402
from bayeslaws.app import cli  # noqa: E402

BLANK = "no runs in the table"


def _blank_panels(fig) -> int:
    """The panels of ``fig`` drawn blank: their text says the cell has no runs in the table."""
    return sum(
        any(t.get_text() == BLANK for t in ax.texts) and ax.get_visible() for ax in fig.axes
    )


@pytest.fixture(scope="module")
def saved_fit(small_sweep_hp_fit, tmp_path_factory):
    """``small_sweep_hp_fit`` saved (for the command line) and its runs as a DataFrame."""
    path = tmp_path_factory.mktemp("review13") / "fit.nc"
    small_sweep_hp_fit.save(path)
    return path, small_sweep_hp_fit.training_runs().df.reset_index(drop=True)


# ---- F1: bowls of a table without runs at some fitted cells ------------------------------------
def test_bowls_leave_a_blank_panel_for_a_fitted_cell_without_runs(small_sweep_hp_fit, saved_fit):
    runs = saved_fit[1]
    largest = runs["N"].max()
    sub = runs[runs["N"] < largest]  # the runs of every fitted cell but the largest model's
    missing = len(runs.loc[runs["N"] == largest, ["N", "D"]].drop_duplicates())
    n_cells = len(runs[["N", "D"]].drop_duplicates())
    fig = quiet(plot.bowls, small_sweep_hp_fit, sub)
    assert _blank_panels(fig) == missing
    assert f"{missing} of the {n_cells} fitted cells have no runs in the table" in (
        fig._suptitle.get_text()
    )
    drawn = [ax for ax in fig.axes if ax.collections and ax.get_title()]  # heat maps, no bar
    assert len(drawn) == n_cells - missing
    matplotlib.pyplot.close(fig)


def test_bowls_of_a_table_without_runs_at_any_fitted_cell_is_a_value_error(small_sweep_hp_fit,
                                                                           saved_fit):
    runs = saved_fit[1].assign(N=lambda t: t["N"] * 10)  # no fitted cell's size
    with pytest.raises(ValueError, match="runs has no run in any of the fit's"):
        quiet(plot.bowls, small_sweep_hp_fit, runs)


def test_cli_bowls_of_a_table_without_the_largest_model(saved_fit, tmp_path, capsys):
    path, runs = saved_fit
    table = tmp_path / "sub.csv"
    runs[runs["N"] < runs["N"].max()].to_csv(table, index=False)
    out = tmp_path / "bowls.png"
    code, stdout, err = cli_run(
        ["plot", path, "--kind", "bowls", "--runs", table, "--out", out], capsys
    )
    assert code == 0, err
    assert out.read_bytes().startswith(b"\x89PNG")


# ---- F2: plot --out over a file that is not a figure -------------------------------------------
@pytest.mark.parametrize("name", ["thesis.pdf", "thesis.svg", "thesis.png", "thesis.jpg", "thesis"])
def test_plot_refuses_to_overwrite_a_file_that_is_not_a_figure(saved_fit, tmp_path, capsys, name):
    written = tmp_path / (name if "." in name else f"{name}.png")  # no suffix: matplotlib's .png
    written.write_text("Chapter 1. Scaling laws\n")
    code, stdout, err = cli_run(
        ["plot", saved_fit[0], "--kind", "pairs", "--out", tmp_path / name], capsys
    )
    assert code == 2, err
    line = cli_error_line(err)
    assert str(written) in line and "not overwritten" in line, line
    assert written.read_text() == "Chapter 1. Scaling laws\n"


@pytest.mark.parametrize("suffix", ["pdf", "svg", "png", "eps"])
def test_plot_replaces_an_earlier_figure(saved_fit, tmp_path, capsys, suffix):
    out = tmp_path / f"fig.{suffix}"
    code, stdout, err = cli_run(["plot", saved_fit[0], "--kind", "pairs", "--out", out], capsys)
    assert code == 0 and "replacing" not in stdout, err
    code, stdout, err = cli_run(["plot", saved_fit[0], "--kind", "pairs", "--out", out], capsys)
    assert code == 0 and "replacing the earlier file" in stdout, err


def test_every_signature_matches_what_matplotlib_writes(tmp_path):
    """Each format with a known signature: a figure matplotlib wrote there is recognised."""
    import matplotlib.pyplot as plt
    from matplotlib.backend_bases import FigureCanvasBase

    from bayeslaws.app.report import FIGURE_SIGNATURES, is_figure

    writable = FigureCanvasBase.get_supported_filetypes()
    checked = 0
    for suffix in FIGURE_SIGNATURES:
        if suffix not in writable:
            continue
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        path = tmp_path / f"f.{suffix}"
        try:
            fig.savefig(path)
        except (ImportError, ValueError, RuntimeError):  # e.g. no Pillow plug-in for it
            continue
        finally:
            plt.close(fig)
        assert is_figure(path), suffix
        checked += 1
    assert checked >= 4  # png, pdf, svg, eps at least


# ---- F3: the nearest fitted cell of a NaN prediction, in the package ---------------------------
def _fit_with_cells(cells):
    """A stand-in fit whose stored training runs sit at the (N, D) ``cells``."""
    df = pd.DataFrame(cells, columns=["N", "D"])
    return types.SimpleNamespace(groups=["all"], training_runs=lambda: types.SimpleNamespace(df=df))


def test_package_finds_the_nearest_fitted_cell_of_a_nan_row():
    from bayeslaws.posterior.predict import NEAREST_LN_DISTANCE, nearest_fitted_cells

    cells = [(429260800.0, 8e9), (2.6e8, 4e9)]
    fit = _fit_with_cells(cells)
    near = cells[0][0] * np.exp(NEAREST_LN_DISTANCE / 2)  # a rounding of the first cell's N
    table = pd.DataFrame(
        {"N": [near, 1e9, cells[1][0]], "D": [8e9, 4e9, 4e9],
         "loss_median": [np.nan, np.nan, 3.0]}
    )  # fmt: skip
    assert nearest_fitted_cells(fit, table) == [(0, *cells[0])]
    # the command line's note is the package's answer in words, in full precision
    note = cli._nearest_cells_note(fit, None, table)
    assert f"row 0: nearest fitted cell N {cli._exact(cells[0][0])}" in note
    assert "row 1" not in note and "row 2" not in note


def test_cli_note_names_at_most_three_rows_from_the_package():
    from bayeslaws.posterior.predict import nearest_fitted_cells

    fit = _fit_with_cells([(429260800.0, 8e9)])
    table = pd.DataFrame({"N": [4.29e8] * 5, "D": [8e9] * 5, "median": [np.nan] * 5})
    found = nearest_fitted_cells(fit, table)
    assert [row for row, *_ in found] == list(range(len(table)))
    note = cli._nearest_cells_note(fit, None, table)
    assert note.count("nearest fitted cell") == cli.NEAREST_SHOWN and note.endswith("; ...")
