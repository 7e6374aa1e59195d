"""bayeslaws.plot's N_opt and isoFLOP figures, and the CLI's plot --target for isoflop fits.

plot.n_opt of an isoFLOP fit draws the fitted law N_opt = k C^a (no kink where the grid meets a
fitted budget) with the budgets' own vertices marked; plot.isoflop marks N_opt on the median
curve it draws and draws a budget outside the fitted range of C dashed, its legend entry saying
so (a fitted group's range from its own runs'); isoflop and n_opt warn about the caller's
budgets once, by position and value, and name a bad ``budgets``; n_opt checks C_range; the CLI's
``plot --target`` says an isoflop fit takes N and C. Runs SIMULATED.
"""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws import plot  # noqa: E402
from bayeslaws.posterior import allocation_draws  # noqa: E402
from bayeslaws.posterior.extrapolation.distance import group_ranges  # noqa: E402
from bayeslaws.runs import PlausibilityWarning, simulate  # noqa: E402

BUDGETS = (1e17, 3e17, 1e18, 3e18)  # FLOPs


@pytest.fixture(scope="module")
def iso_fit():
    """A SIMULATED isoFLOP fit: 4 budgets x 5 sizes, one chain of 150 + 150."""
    runs = simulate.simulate_liang_isoflop(seed=2, budgets=BUDGETS, n_per_budget=5,
                                           spread_decades=0.8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(runs, law="isoflop", likelihood="gaussian", chains=1, warmup=150,
                      draws=150, seed=0)


def _median_line(ax):
    (line,) = [ln for ln in ax.lines if ln.get_label().startswith("posterior median")]
    return line


def _bands(ax) -> list[np.ndarray]:
    """Each band's outline vertices (x, y), in the order drawn (widest level first)."""
    return [c.get_paths()[0].vertices for c in ax.collections if isinstance(c, PolyCollection)]


def _band_edges(vertices: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lower and upper edge of a fill_between outline at the grid x."""
    lo = np.array([vertices[np.isclose(vertices[:, 0], v, rtol=1e-12), 1].min() for v in x])
    hi = np.array([vertices[np.isclose(vertices[:, 0], v, rtol=1e-12), 1].max() for v in x])
    return lo, hi


def test_n_opt_of_an_isoflop_fit_draws_the_fitted_law(iso_fit):
    """The curve and bands are k C^a per draw (N_opt_trend); the old curve took a fitted
    budget's own vertex where a grid point hit one (the default grid starts on the smallest
    budget: a kink) and fresh budget scatter elsewhere."""
    fig = plot.n_opt(iso_fit, n_points=12)
    ax = fig.axes[0]
    line = _median_line(ax)
    C = line.get_xdata()
    assert C[0] == pytest.approx(BUDGETS[0])  # the default range starts on a fitted budget
    trend = allocation_draws(iso_fit, C, seed=0)["N_opt_trend"]
    np.testing.assert_allclose(line.get_ydata(), np.median(trend, axis=0), rtol=1e-9)
    assert "k C^a" in line.get_label()
    slopes = np.diff(np.log(line.get_ydata())) / np.diff(np.log(C))
    a_opt = np.asarray(iso_fit.posterior().draws["a_opt"])
    assert np.all((slopes >= a_opt.min()) & (slopes <= a_opt.max())), slopes
    widest, narrow = _bands(ax)[-2:]  # after the fitted-range span: 90% then 50%
    lo, hi = _band_edges(widest, C)
    np.testing.assert_allclose(lo, np.quantile(trend, 0.05, axis=0), rtol=1e-9)
    np.testing.assert_allclose(hi, np.quantile(trend, 0.95, axis=0), rtol=1e-9)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "90% band of the fitted law N_opt = k C^a" in labels, labels
    plt.close(fig)


def test_n_opt_of_an_isoflop_fit_marks_the_fitted_budgets_own_vertices(iso_fit):
    fig = plot.n_opt(iso_fit, (BUDGETS[0], BUDGETS[-1]), n_points=6, budgets=[1e19])
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "fitted budgets' own vertices (90%)" in labels, labels
    (own,) = [c for c in ax.containers if c.get_label().startswith("fitted budgets' own")]
    x, y = (np.asarray(v, float) for v in own.lines[0].get_data())
    np.testing.assert_allclose(x, BUDGETS, rtol=1e-9)
    want = bl.optimal_allocation(iso_fit, C=list(BUDGETS), ci=0.9, seed=0)
    np.testing.assert_allclose(y, want["N_opt"], rtol=1e-9)
    (marked,) = [c for c in ax.containers if c.get_label().startswith("budgets")]
    want = bl.optimal_allocation(iso_fit, C=[1e19], ci=0.9, seed=0)
    y = np.asarray(marked.lines[0].get_ydata(), float)
    np.testing.assert_allclose(y, want["N_opt"], rtol=1e-9)
    # a range ending on a budget no longer turns the curve down at its end
    line = _median_line(ax)
    assert np.all(np.diff(np.log(line.get_ydata())) > 0)
    plt.close(fig)


def test_n_opt_of_a_law_without_a_trend_is_its_allocation(grouped_fit):
    """A loss surface gives no N_opt_trend: the curve and bands are optimal_allocation's, one
    call of the draws for every band (numbers as before)."""
    fig = plot.n_opt(grouped_fit, (1e18, 1e22), n_points=6, group="A")
    ax = fig.axes[0]
    line = _median_line(ax)
    assert line.get_label() == "posterior median N_opt"
    C = line.get_xdata()
    for vertices, ci in zip(_bands(ax)[-2:], (0.9, 0.5), strict=True):
        want = bl.optimal_allocation(grouped_fit, C=C, ci=ci, group="A", seed=0)
        lo, hi = _band_edges(vertices, C)
        np.testing.assert_allclose(lo, want["N_opt_lower"], rtol=1e-9)
        np.testing.assert_allclose(hi, want["N_opt_upper"], rtol=1e-9)
        np.testing.assert_allclose(line.get_ydata(), want["N_opt"], rtol=1e-9)
    assert not any(c.get_label().startswith("fitted budgets") for c in ax.containers)
    plt.close(fig)


@pytest.mark.parametrize("C_range", [[1e19], (1e22, 1e19), (0, 1e22), (1e18, 1e20, 1e22), "1e19"])
def test_n_opt_names_a_C_range_that_is_not_a_low_high_pair(grouped_fit, C_range):
    with pytest.raises(ValueError, match=r"C_range must be a \(low, high\) pair"):
        plot.n_opt(grouped_fit, C_range)


@pytest.mark.parametrize("group", [None, "A"])
def test_isoflop_marks_N_opt_on_the_median_curve_it_draws(grouped_fit, group):
    """The curve is the posterior median loss and the marker sits on it (the old curve was the
    mean, and the marker, the median of each draw's minimum, lay below a new group's curve)."""
    C = [1e19, 1e21]
    fig = plot.isoflop(grouped_fit, C, group=group, n_points=20)
    ax = fig.axes[0]
    curves = [ln for ln in ax.lines if ln.get_label().startswith("C = ")]
    marks = [ln for ln in ax.lines if ln.get_marker() == "o" and len(ln.get_xdata()) == 1]
    alloc = bl.optimal_allocation(grouped_fit, C=C, ci=0.9, group=group, seed=0,
                                  _new_group_noted=True)
    assert len(curves) == len(marks) == 2
    for curve, mark, budget, N_opt in zip(curves, marks, C, alloc["N_opt"], strict=True):
        N, loss = curve.get_data()
        p = bl.predict(grouped_fit, N=N, C=budget, ci=0.9, kind="mean", seed=0, group=group,
                       _new_group_noted=True)
        np.testing.assert_allclose(loss, p["median"], rtol=1e-9)
        x, y = mark.get_xdata()[0], mark.get_ydata()[0]
        assert x == pytest.approx(N_opt, rel=1e-12)
        on_curve = np.interp(np.log(x), np.log(N), loss)
        assert y == pytest.approx(on_curve, rel=1e-9)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "N_opt (median, 90% interval) on the median curve" in labels, labels
    assert "median and 90% band" in ax.get_title().replace("\n", " ")
    plt.close(fig)


def _plot(argv, tmp_path, capsys) -> tuple[int, str]:
    from bayeslaws.app.cli import main

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["plot", *argv, "--out", str(tmp_path / "fig.png")])
    return code, " ".join(capsys.readouterr().err.split())


def test_cli_plot_target_says_an_isoflop_fit_takes_N_and_C(iso_fit, grouped_fit, tmp_path,
                                                           capsys):
    iso = tmp_path / "iso.nc"
    iso_fit.save(iso)
    code, err = _plot([str(iso), "--kind", "fan", "--target", "1e8", "x"], tmp_path, capsys)
    assert code != 0 and "--target takes two numbers" in err, err
    assert "N (parameters) and C (FLOPs) for isoflop fits" in err, err
    # D (tokens) given where C (FLOPs) is meant: the fan's error says what --target takes
    code, err = _plot([str(iso), "--kind", "fan", "--target", "1e8", "2e9"], tmp_path, capsys)
    assert code != 0 and "below one token" in err, err
    assert "N (parameters) and C (FLOPs) for isoflop fits" in err, err
    surface = tmp_path / "surface.nc"
    grouped_fit.save(surface)
    code, err = _plot([str(surface), "--kind", "fan", "--target", "1e8", "x"], tmp_path, capsys)
    assert code != 0 and "N (parameters) and D (tokens)" in err and "isoflop" not in err, err


def test_cli_plot_help_says_target_is_N_and_C_for_isoflop_fits(capsys):
    from bayeslaws.app.cli import main

    assert main(["plot", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "N and C (FLOPs) for isoflop fits" in text, text


def _budget_lines(ax) -> dict[str, str]:
    """The isoFLOP figure's median curves: legend label -> line style."""
    return {ln.get_label(): ln.get_linestyle() for ln in ax.lines
            if ln.get_label().startswith("C = ")}  # fmt: skip


def _isoflop(fit, C, **kw):
    with warnings.catch_warnings():  # budgets beyond the range warn; the figure is the subject
        warnings.simplefilter("ignore")
        return plot.isoflop(fit, C, n_points=12, **kw)


def test_isoflop_dashes_a_budget_outside_the_fitted_range(simulated_fit):
    low, high = group_ranges(simulated_fit)["C"]  # 3.6e17 .. 3.6e21 FLOPs
    inside, beyond = 1e19, 100 * high
    assert low < inside < high
    fig = _isoflop(simulated_fit, [inside, beyond])
    lines = _budget_lines(fig.axes[0])
    assert lines == {
        f"C = {inside:.1e} FLOPs": "-",
        f"C = {beyond:.1e} FLOPs (outside fitted C range)": "--",
    }, lines
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert f"C = {beyond:.1e} FLOPs (outside fitted C range)" in legend, legend
    plt.close(fig)


def test_isoflop_measures_a_fitted_group_from_its_own_runs(two_scales_grouped):
    """1e21 FLOPs lies beyond group 'small''s runs (C up to 1.8e19) but inside the pooled
    range (up to 1.2e22): dashed for group 'small', solid for a new group, as the N_opt figure
    shades the one range or the other."""
    fit = two_scales_grouped
    assert group_ranges(fit, "small")["C"][1] < 1e21 < group_ranges(fit)["C"][1]
    fig = _isoflop(fit, [1e18, 1e21], group="small")
    assert _budget_lines(fig.axes[0]) == {
        "C = 1.0e+18 FLOPs": "-",
        "C = 1.0e+21 FLOPs (outside group 'small''s fitted range of C)": "--",
    }
    plt.close(fig)
    fig = _isoflop(fit, [1e18, 1e21])
    assert _budget_lines(fig.axes[0]) == {"C = 1.0e+18 FLOPs": "-", "C = 1.0e+21 FLOPs": "-"}
    plt.close(fig)


def _plausibility(call) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = call()
    plt.close(fig)
    return [str(w.message) for w in caught if issubclass(w.category, PlausibilityWarning)]


def test_isoflop_checks_the_callers_budgets_once(simulated_fit):
    """simulated_fit's budgets: 3.6e17 .. 3.6e21 FLOPs; 1e12 lies 5.6 decades below, 1e28 6.4
    above. The figure's grid (D = C / 6N of its sizes) is its own: not named."""
    messages = _plausibility(lambda: plot.isoflop(simulated_fit, [1e12, 1e28], n_points=5))
    assert len(messages) == 2, messages  # one per side of the range
    assert messages[0].startswith("C = 1e+12 (positions [0]) lies"), messages
    assert messages[1].startswith("C = 1e+28 (positions [1]) lies"), messages
    assert not any("D =" in m for m in messages)
    # positions in the caller's list, not the sorted one
    messages = _plausibility(lambda: plot.isoflop(simulated_fit, [1e20, 1e12], n_points=5))
    assert len(messages) == 1 and messages[0].startswith("C = 1e+12 (positions [1]) lies")
    assert _plausibility(lambda: plot.isoflop(simulated_fit, [1e19, 1e20], n_points=5)) == []


def test_n_opt_names_each_far_end_and_each_far_budget_once(simulated_fit):
    messages = _plausibility(lambda: plot.n_opt(simulated_fit, (1e10, 1e30), n_points=5))
    assert len(messages) == 2, messages
    assert messages[0].startswith("C = 1e+10 lies") and messages[1].startswith("C = 1e+30 lies")
    # a far budget makes the default range's high end: named once, as the budget
    messages = _plausibility(lambda: plot.n_opt(simulated_fit, budgets=[1e30], n_points=5))
    assert len(messages) == 1 and messages[0].startswith("C = 1e+30 (positions [0]) lies")


@pytest.mark.parametrize("budgets", [[-1e20], [0.0], [np.nan]])
def test_n_opt_names_bad_budgets(simulated_fit, budgets):
    with pytest.raises(ValueError, match=r"^budgets must be finite and positive"):
        plot.n_opt(simulated_fit, budgets=budgets)
