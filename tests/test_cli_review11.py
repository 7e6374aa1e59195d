"""The command line, the fit report and two figures after the eleventh review: an option of
several values (--units, --exclude-rows, --known, --C, ...) given twice keeps both uses' values
(it kept the last use only, silently); the report says why its new_run predictions can differ
from its mean ones inside the fitted range; the fan figure's legends sit above their panels
(inside, they covered a curve or the target); a design ranking's "<- batch pick #1" ends inside
the axes.

SIMULATED data throughout (the bundled simulator's Chinchilla runs; a made-up ranking table)."""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import report_section  # noqa: E402

from bayeslaws import plot  # noqa: E402
from bayeslaws.app.cli import build_parser  # noqa: E402


@pytest.fixture(scope="module")
def parser():
    return build_parser()


def _subcommands(parser) -> dict:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


# ---- 2. an option of several values, repeated, keeps every value ------------------------------
def test_every_option_of_several_values_accumulates_its_repeats(parser):
    """Each option taking several values (nargs "+" or "*") extends its list when repeated, from
    no default list (argparse would extend a default list in place)."""
    options = [
        (name, action)
        for name, sub in _subcommands(parser).items()
        for action in sub._actions
        if action.option_strings and action.nargs in ("+", "*")
    ]
    assert len(options) > 10  # --units, --exclude-rows, --C, --known, --isoflop, ...
    stored = [f"{name} {a.option_strings[0]}" for name, a in options
              if not isinstance(a, argparse._ExtendAction)]  # fmt: skip
    assert not stored, f"a repeat replaces the earlier values: {stored}"
    listed = [f"{name} {a.option_strings[0]}" for name, a in options if a.default is not None]
    assert not listed, listed


def test_units_repeated_keeps_both(parser):
    """``--units batch_size=2048 --units N=millions`` parsed to ['N=millions']: the fit then
    told the user to pass --units batch_size=2048, which they had."""
    args = parser.parse_args(["fit", "runs.csv", "--out", "fit.nc", "--units", "batch_size=2048",
                              "--units", "N=millions"])  # fmt: skip
    assert args.units == ["batch_size=2048", "N=millions"]
    again = parser.parse_args(["fit", "runs.csv", "--out", "fit.nc", "--units", "N=millions"])
    assert again.units == ["N=millions"]  # nothing left over from the parse before


def test_exclude_rows_repeated_keeps_both(parser):
    """``--exclude-rows 237 --exclude-rows 238`` fitted without row 238 only, row 237 kept."""
    for command in (["fit", "runs.csv", "--out", "fit.nc"], ["report", "fit.nc"],
                    ["plot", "fit.nc", "--kind", "fan", "--out", "fan.png"]):  # fmt: skip
        args = parser.parse_args([*command, "--exclude-rows", "237", "--exclude-rows", "238",
                                  "239", "--exclude-reason", "outliers"])  # fmt: skip
        assert args.exclude_rows == ["237", "238", "239"], command


def test_known_repeated_keeps_both(parser):
    args = parser.parse_args(["report", "fit.nc", "--known", "alpha=0.3", "--known", "beta=0.3"])
    assert args.known == ["alpha=0.3", "beta=0.3"]


def test_budgets_repeated_keep_both(parser):
    """--C of allocate (required), plot and report; design's --nopt and --isoflop."""
    for command in (["allocate", "fit.nc"], ["report", "fit.nc"],
                    ["plot", "fit.nc", "--kind", "isoflop", "--out", "iso.png"]):  # fmt: skip
        args = parser.parse_args([*command, "--C", "1e21", "--C", "1e22", "1e23"])
        assert args.C == ["1e21", "1e22", "1e23"], command
    args = parser.parse_args(["design", "fit.nc", "--isoflop", "3e19", "--isoflop", "1e20",
                              "--nopt", "1e22", "--nopt", "1e23"])  # fmt: skip
    assert args.isoflop == ["3e19", "1e20"] and args.nopt == ["1e22", "1e23"]
    args = parser.parse_args(["predict", "fit.nc", "--N", "7e9", "--N", "7e10", "--D", "1e12",
                              "--D", "2e12"])  # fmt: skip
    assert args.N == ["7e9", "7e10"] and args.D == ["1e12", "2e12"]


def test_a_run_table_after_repeated_units_is_still_the_positional(parser, tmp_path):
    """A run table swallowed by the last --units is still read as the run table."""
    runs = tmp_path / "runs.csv"
    runs.write_text("N,D,loss\n1,2,3\n")
    args = parser.parse_args(["fit", "--out", "fit.nc", "--units", "batch_size=2048", "--units",
                              "N=millions", str(runs)])  # fmt: skip
    assert args.runs == str(runs) and args.units == ["batch_size=2048", "N=millions"]


# ---- 4. the report says why new_run and mean differ inside the range --------------------------
PATTERN = "new_run follows the fitted runs' residual pattern (extrapolation 'gp')"


def test_report_says_new_run_follows_the_residual_pattern(simulated_fit):
    """Inside the fitted range the report's mean and new_run rows could disagree (disjoint
    intervals on Epoch's points) with nothing saying why."""
    from bayeslaws.app.report import fit_report

    lo, hi = (np.sqrt(np.prod(simulated_fit.record.ranges[c])) for c in ("N", "D"))
    text = fit_report(simulated_fit, targets=[(lo, hi)]).to_text()
    predictions = report_section(text, "Predictions")
    assert "(mean)" in predictions and "(new_run)" in predictions
    assert PATTERN in predictions
    assert "even inside the fitted range" in predictions
    assert PATTERN not in report_section(text, "Parameters")


def test_residual_pattern_sentence_only_where_new_run_leaves_the_law():
    """Not under a method that leaves new_run centred on the law (none, the mean-0
    discrepancies) or that moves mean too (model, drift), nor for a law not widened, nor when
    the GP of the group predicted for fell back to a mean-0 widening."""
    from bayeslaws.app.report import residual_pattern_sentence

    assert PATTERN in residual_pattern_sentence("gp")
    assert "'gp_discrepancy'" in residual_pattern_sentence("gp_discrepancy")
    for method in ("none", "discrepancy", "discrepancy_t", "model", "drift"):
        assert residual_pattern_sentence(method) is None, method
    assert residual_pattern_sentence("gp", widened=False) is None
    assert residual_pattern_sentence("gp", unavailable={"gp": "3 runs"}) is None
    new_group = {"gp[new group]": "no residuals of its own"}
    assert residual_pattern_sentence("gp", unavailable=new_group, group=None) is None
    assert PATTERN in residual_pattern_sentence("gp", unavailable=new_group, group="a")


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
