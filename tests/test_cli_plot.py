"""Figures and the files they go to: the fan's legends and the design ranking's labels clear of
the data, bowls of a table lacking some fitted cells, plot --out and design --plot files."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import cli_error_line, cli_run, quiet  # noqa: E402

from bayeslaws import plot  # noqa: E402
from bayeslaws.app.cli import EXIT_BAD_INPUT  # noqa: E402
from bayeslaws.app.cli.files import check_figure_format  # noqa: E402


# ---- 8. figures: the fan's legends off the data, the ranking's labels inside the axes ---------
def test_fan_legends_sit_above_their_panels(simulated_fit):
    """loc="best" put the B_opt panel's legend over the target marker and a curve: each
    panel's legend is drawn above its axes, clear of every curve and mark."""
    fig = plot.fan(simulated_fit, targets=[(3e9, 5e10)])
    fig.canvas.draw()
    panels = [ax for ax in fig.axes if ax.get_legend() is not None]
    assert panels
    for ax in panels:
        legend = ax.get_legend().get_window_extent()
        box = ax.get_window_extent()
        assert legend.y0 >= box.y1 - 0.5, (legend, box)
        assert legend.x0 >= box.x0 - 0.5  # over its own panel, not a neighbour's
        title = fig._suptitle.get_window_extent()
        assert legend.y1 <= title.y0 + 0.5  # and under the figure's title
    plt.close(fig)


def _ranking() -> pd.DataFrame:
    """A made-up ranked table of single runs (lr and batch size make long labels, a narrower
    axes) and a batch of 10, its last pick the best bar alone."""
    score = np.array([2.03, 0.83, 0.39, 0.24, 0.21, 0.12, 0.11, 0.1, 0.07, 0.06, 0.05, 0.04])
    plan = pd.DataFrame({
        "C": 3e19, "N": np.geomspace(2e7, 3e9, 12), "D": np.geomspace(5e11, 5e9, 12),
        "lr": np.geomspace(3.1e-4, 1.1e-3, 12), "batch_size": 1.6384e5,
        "info_per_flop": score * 1e-22, "info": score * 6.1e-6,
        "pick": [10, 3, 1, 2, 4, 5, 6, 7, 8, 9, 0, 0],
    })  # fmt: skip
    plan["width_now[N_opt(C=1e+21)]"] = 1.0
    return plan


def test_design_ranking_labels_end_inside_the_axes():
    """The top bar's "<- batch pick #1" reached or ran past the axes' right edge (the x limit
    was a fixed 1.45 x the longest bar, whatever the labels' width)."""
    fig = plot.design_ranking(_ranking(), picks="pick")
    fig.canvas.draw()
    ax = fig.axes[0]
    edge = ax.get_window_extent().x1
    labels = [t for t in ax.texts if "batch pick" in t.get_text()]
    assert len(labels) == 10
    for text in labels:
        assert text.get_window_extent().x1 < edge, text.get_text()
    plt.close(fig)


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


@pytest.mark.parametrize("suffix", ["png", "pdf", "svg", "eps"])
def test_an_image_matplotlib_did_not_write_is_not_overwritten(tmp_path, suffix):
    """Every real PDF or PNG begins with its format's signature, so ``--out thesis.pdf``
    replaced a thesis: only a file matplotlib signed is an earlier figure; another is refused
    and left as it was."""
    import matplotlib.pyplot as plt

    from bayeslaws.app.report import FIGURE_SIGNATURES, is_figure, refuse_non_figure

    start = FIGURE_SIGNATURES[suffix][0]
    theirs = tmp_path / f"thesis.{suffix}"
    theirs.write_bytes(start + b" made by another program " + b"x" * 200_000 + b" end")
    assert not is_figure(theirs)
    refused = f"not a {suffix.upper()} image written by matplotlib"
    with pytest.raises(FileExistsError, match=refused):
        refuse_non_figure(theirs)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    ours = tmp_path / f"fig.{suffix}"
    fig.savefig(ours)
    plt.close(fig)
    assert is_figure(ours)
    refuse_non_figure(ours)  # an earlier figure may be replaced


_run = cli_run  # conftest: bayeslaws argv in-process -> (code, stdout, stderr)


def test_plot_out_without_suffix_names_the_png_and_a_replaced_figure(grouped_fit_file, tmp_path,
                                                                     capsys):
    out = tmp_path / "fig"
    code, stdout, _ = _run(["plot", grouped_fit_file, "--kind", "pairs", "--out", out], capsys)
    assert code == 0
    written = tmp_path / "fig.png"
    assert written.is_file() and not out.exists()
    assert f"wrote {written}\n" in stdout  # the file written, nothing replaced
    code, stdout, _ = _run(["plot", grouped_fit_file, "--kind", "pairs", "--out", out], capsys)
    assert code == 0
    assert f"wrote {written} (replacing the earlier file)" in stdout


def test_plot_save_returns_the_path_written(tmp_path):
    from bayeslaws import plot
    from bayeslaws.plot.figures import pyplot

    fig = pyplot().figure()
    path = plot.save(fig, tmp_path / "figure")
    assert path == tmp_path / "figure.png" and path.is_file()


def test_design_plot_says_it_replaces_an_earlier_figure(grouped_fit_file, tmp_path, capsys):
    cands = tmp_path / "cands.csv"
    pd.DataFrame({"N": [5e7, 1e8], "D": [4e9, 2e9]}).to_csv(cands, index=False)
    figure = tmp_path / "ranking.png"
    import matplotlib.pyplot as plt

    fig, _ = plt.subplots()
    fig.savefig(figure)  # an earlier figure (matplotlib's)
    plt.close(fig)
    argv = ["design", grouped_fit_file, "--candidates", cands, "--group", "A", "--k", "1",
            "--model", "none", "--plot", figure]  # fmt: skip
    code, stdout, _ = _run(argv, capsys)
    assert code == 0
    assert f"wrote {figure} (each candidate alone; the batch marked) (replacing the earlier " \
           "file)" in stdout


# ---- F5: a figure format matplotlib cannot write ----------------------------------------------
def test_design_plot_in_a_format_matplotlib_cannot_write_is_refused_first(
    two_scales_files, monkeypatch, capsys, tmp_path
):
    """'design FIT --isoflop 1e20 --plot R2.csv' ran the whole design, printed the batch, then
    failed "Format 'csv' is not supported"; now it is refused before any work."""
    from bayeslaws import design

    monkeypatch.setattr(design, "next_runs", lambda *a, **k: pytest.fail("the design ran"))
    plot = tmp_path / "x.csv"
    argv = ["design", two_scales_files["plain"], "--isoflop", "1e20", "--plot", plot]
    code, out, err = _run(argv, capsys)
    assert code == EXIT_BAD_INPUT and not out
    line = cli_error_line(err)
    assert "--plot" in line and "'.csv'" in line and ".png" in line and ".pdf" in line
    assert not plot.exists()
    code, _, err = _run(["plot", two_scales_files["plain"], "--kind", "pairs", "--out", plot],
                        capsys)  # fmt: skip
    assert code == EXIT_BAD_INPUT and "--out" in cli_error_line(err)


@pytest.mark.parametrize("name", ["fig", "fig.PNG", "fig.pdf", "fig.svg", "a.b/fig.jpg"])
def test_figure_names_matplotlib_writes_pass(name):
    check_figure_format(name, "--plot")  # no error
