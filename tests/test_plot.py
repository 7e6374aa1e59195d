"""bayeslaws.plot: every function returns a figure with labelled (log) axes; bad input is a
clear error; importing bayeslaws does not import pyplot."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import shared_or_skip  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws import plot  # noqa: E402
from bayeslaws.laws.contract import LawCapabilityError  # noqa: E402
from bayeslaws.plot.words import sci  # noqa: E402
from bayeslaws.runs import best_run_per_cell  # noqa: E402

TINY = {"chains": 2, "warmup": 150, "draws": 150, "seed": 0}


@pytest.fixture(scope="module")
def sweep():
    """Two sizes x two token budgets of the bundled sweep (144 runs)."""
    runs = bl.load_bundled()
    df = runs.df
    keep = df["N"].isin(sorted(df["N"].unique())[:2]) & df["D"].isin(sorted(df["D"].unique())[:2])
    return runs.subset(keep, "test: two sizes x two token budgets")


@pytest.fixture(scope="module")
def hp_fit(sweep):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(sweep, law="hyperparams", likelihood="gaussian", **TINY)


@pytest.fixture(scope="module")
def surface_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = best_run_per_cell(bl.load_bundled())
        return bl.fit(runs, law="chinchilla", likelihood="gaussian", **TINY)


def _render(fig, tmp_path, name):
    assert isinstance(fig, Figure)
    path = plot.save(fig, tmp_path / f"{name}.png")
    assert path.stat().st_size > 5_000
    return path


def _suptitle(fig) -> str:
    return fig._suptitle.get_text() if fig._suptitle is not None else ""


def test_fan_surface(surface_fit, tmp_path):
    fig = plot.fan(surface_fit, targets=[(1.07e9, 1e10)], target_kind="mean")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert "parameters" in fig.axes[1].get_xlabel() and ax.get_ylabel() == "loss"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "fitted range of N" in labels
    # one curve per token budget of the data (4) plus one through the target's 10B tokens
    curves = [label for label in labels if label.startswith("D = ")]
    assert len(curves) == 5 and any(label.startswith("D = 10B") for label in curves)
    assert any(label.startswith("target N 1.07B") for label in labels)
    assert "runs (colour = D)" in labels  # every mark has a legend entry
    lo, hi = surface_fit.record.ranges["N"]
    assert ax.get_xlim()[1] > 5 * hi  # the fan extends beyond the fitted range
    # the relative panel shows the bands in % of the median, so narrow bands stay visible
    assert "band vs median (%)" in fig.axes[1].get_ylabel()
    assert "chinchilla/" not in _suptitle(fig) and "E + A/N^alpha" in _suptitle(fig)
    _render(fig, tmp_path, "fan")


def test_fan_colours_points_by_the_sliced_variable(surface_fit):
    fig = plot.fan(surface_fit, relative_panel=False)
    ax = fig.axes[0]
    (points,) = [c for c in ax.collections if c.get_array() is not None and len(c.get_offsets())]
    train = pd.DataFrame(surface_fit.record.training_runs)
    np.testing.assert_allclose(np.sort(points.get_array()), np.sort(train["D"]))
    assert any("training tokens D" in a.get_ylabel() for a in fig.axes[1:])  # the colour bar


def test_fan_issues_each_range_warning_once(hp_fit):
    """A target far outside the fitted range warns about its D once, not once per panel, curve
    and band, pointing at the caller; the caller's filters still apply."""
    import matplotlib.pyplot as plt

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = plot.fan(hp_fit, targets=[(1.07e9, 1e20)])
    plt.close(fig)
    far = [str(w.message) for w in caught if issubclass(w.category, bl.runs.PlausibilityWarning)]
    assert sum(m.startswith("D = ") for m in far) == 1, far  # curves and target alike
    assert len(far) == len(set(far)), far  # C differs along the curves: its first far value
    assert far[0].startswith("D = 1e+20 lies") and "positions" not in far[0], far
    assert all(w.filename == __file__ for w in caught if "decades outside" in str(w.message))
    with warnings.catch_warnings():
        warnings.simplefilter("error", bl.runs.PlausibilityWarning)
        with pytest.raises(bl.runs.PlausibilityWarning, match="D = 1e\\+20"):
            plot.fan(hp_fit, targets=[(1.07e9, 1e20)])
    plt.close("all")


def test_default_slices_come_from_the_data():
    rng = np.random.default_rng(0)
    D = np.exp(rng.uniform(np.log(1e9), np.log(1e12), 200))  # continuous, as in Epoch's table
    slices = plot.default_slices(D, targets=[3e10])
    assert len(slices) == 5
    assert np.isin(slices, np.append(D, 3e10)).all()  # observed values, and the target's
    assert slices.min() == D.min() and slices.max() == D.max()
    assert list(plot.default_slices([2e9, 4e9, 4e9])) == [2e9, 4e9]


def test_fan_hyperparams(hp_fit, sweep, tmp_path):
    fig = plot.fan(hp_fit, sweep, targets=[(1.07e9, 1e10)])
    main = [ax for ax in fig.axes if ax.get_legend() is not None]
    assert len(main) == 2
    assert all(ax.get_yscale() == "log" for ax in main)
    assert "learning rate" in main[0].get_ylabel()
    assert "tokens" in main[1].get_ylabel()
    assert "hyperparams/" not in _suptitle(fig)
    _render(fig, tmp_path, "hpfan")


def test_bowls(hp_fit, sweep, tmp_path):
    fig = plot.bowls(hp_fit, sweep)
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_title().startswith("N = ")]
    assert len(panels) == 4  # one heat map per (N, D) cell
    assert any("learning rate" in ax.get_xlabel() for ax in panels)
    assert all(ax.get_xscale() == "log" and ax.get_yscale() == "log" for ax in panels)
    (legend,) = fig.legends  # star, region and square are named
    texts = [t.get_text() for t in legend.get_texts()]
    assert len(texts) == 3 and any("optimum" in t for t in texts)
    _render(fig, tmp_path, "bowls")


def test_cell_optimum_draws(hp_fit):
    """The cell optima the bowls are drawn from (was plot.cell_optimum_draws)."""
    opt = hp_fit.law.sweep_optima(hp_fit.posterior())
    S = hp_fit.diagnostics.n_draws
    assert opt["log_eta"].shape == opt["log_B"].shape == (S, 4)
    assert len(opt["N"]) == len(opt["D"]) == 4
    lr = np.exp(np.median(opt["log_eta"], axis=0))
    assert np.all((lr > 1e-5) & (lr < 1e-2))


def test_bowls_rejects_other_laws(surface_fit, hp_fit, sweep):
    # the law says it fits no LR x batch sweep (a LawCapabilityError, a ValueError)
    with pytest.raises(LawCapabilityError, match="law 'chinchilla' fits no LR x batch sweep"):
        plot.bowls(surface_fit, sweep)
    with pytest.raises(ValueError, match="lr, batch_size"):
        plot.bowls(hp_fit, pd.DataFrame({"N": [1.0]}))


def test_isoflop(surface_fit, tmp_path):
    fig = plot.isoflop(surface_fit, [1e19, 1e20, 1e21])
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert sum("FLOPs" in t.get_text() for t in ax.get_legend().get_texts()) == 3
    _render(fig, tmp_path, "isoflop")


def test_n_opt_with_paper_laws(surface_fit, tmp_path):
    fig = plot.n_opt(surface_fit, (1e17, 1e24), paper_laws={"paper": (0.87, 0.43)}, budgets=[1e22])
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert "FLOPs" in ax.get_xlabel() and "parameters" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(label.startswith("paper") for label in labels)
    assert "fitted range of C" in labels
    _render(fig, tmp_path, "nopt")


def test_n_opt_default_range_holds_the_budgets_marked(surface_fit):
    """A budget beyond the fitted range + 2 decades widens the default range (the bands ended
    short of the budget marked and the marker floated alone)."""
    plot.n_opt(surface_fit, n_points=5)  # no budgets: the fitted range + 2 decades
    far = surface_fit.record.ranges["C"][1] * 1e4
    fig = plot.n_opt(surface_fit, budgets=[far], n_points=5)
    from matplotlib.collections import PolyCollection

    bands = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]
    assert bands and all(b.get_paths()[0].vertices[:, 0].max() >= far * (1 - 1e-9) for b in bands)


def test_design_ranking(tmp_path):
    plan = pd.DataFrame(
        {
            "N": [1e8, 3e8, 1e9],
            "D": [2e9, 4e9, 8e9],
            "info": [0.3, 0.5, 0.9],
            "info_per_flop": [3e-19, 1e-19, 2e-20],
        }
    )
    fig = plot.design_ranking(plan)
    ax = fig.axes[0]
    assert "per FLOP" in ax.get_xlabel()
    pairs = zip(ax.get_yticks(), ax.get_yticklabels(), strict=True)
    ticks = [t.get_text() for _, t in sorted(pairs, key=lambda p: p[0])]
    assert ticks[0].startswith("N=1B")  # lowest bar: the worst candidate
    assert ticks[-1].startswith("N=100M")  # top bar: the best
    assert "all parameters" in ax.get_title()
    _render(fig, tmp_path, "design")
    with pytest.raises(ValueError, match="score="):
        plot.design_ranking(plan.drop(columns="info_per_flop"))
    with pytest.raises(ValueError, match="not in the candidate table"):
        plot.design_ranking(plan, score="nope")


def test_design_ranking_of_next_runs(surface_fit, tmp_path):
    cands = bl.design.isoflop_candidates(C=[3e19, 1e20], n_per_budget=5, fit=surface_fit)
    ranked = bl.design.rank_candidates(surface_fit, cands, target=bl.design.NOpt(C=1e22))
    fig = plot.design_ranking(ranked, top=6)
    ax = fig.axes[0]
    assert len(ax.get_yticklabels()) == 6
    assert "N_opt" in ax.get_title()
    assert all(t.get_text().startswith("C=") for t in ax.get_yticklabels())
    _render(fig, tmp_path, "design_next")


def test_pairs(surface_fit, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = plot.pairs(surface_fit, ["alpha", "beta", "e"])
    assert not [w for w in caught if "alias_mapping" in str(w.message)]  # ArviZ's, not ours
    assert len([ax for ax in fig.axes if ax.has_data()]) >= 6
    (legend,) = fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    n_div = int(surface_fit.idata.sample_stats["diverging"].values.sum())
    assert f"divergent transition ({n_div})" in texts  # the orange dots are named
    fig.canvas.draw()
    for ax in fig.axes:  # readable ticks: at most 4 labels per axis, x labels rotated
        shown = [t for t in ax.get_xticklabels() if t.get_text()]
        assert len(shown) <= 4
        assert all(t.get_rotation() == 40 for t in shown)
    assert "chinchilla/" not in _suptitle(fig)
    _render(fig, tmp_path, "pairs")
    with pytest.raises(ValueError, match="no parameter"):
        plot.pairs(surface_fit, ["nope"])


def test_design_ranking_marks_the_batch(surface_fit, tmp_path):
    cands = bl.design.isoflop_candidates(C=[3e19, 1e20], n_per_budget=5, fit=surface_fit)
    target = bl.design.NOpt(C=1e22)
    ranked = bl.design.rank_candidates(surface_fit, cands, target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = bl.design.next_runs(surface_fit, cands, target, k=3)
    fig = plot.design_ranking(ranked, picks=batch)
    ax = fig.axes[0]
    notes = [t.get_text() for t in ax.texts if "batch pick" in t.get_text()]
    assert sorted(int(n.split("#")[1]) for n in notes) == [1, 2, 3]
    assert "alone" in ax.get_title() and "alone" in ax.get_xlabel()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("batch" in t for t in legend)
    _render(fig, tmp_path, "design_batch")
    with pytest.raises(ValueError, match="picks"):
        plot.design_ranking(ranked, picks="nope")


def test_titles_name_no_internal_labels(surface_fit):
    for fig in (plot.isoflop(surface_fit, [1e20]), plot.n_opt(surface_fit, (1e18, 1e22))):
        assert surface_fit.label not in fig.axes[0].get_title()
        assert "isoFLOP" in fig.axes[0].get_title() or "N_opt" in fig.axes[0].get_title()


def test_not_a_fit():
    with pytest.raises(TypeError, match="Fit"):
        plot.fan("fit.nc")


def test_plot_imports_matplotlib_lazily():
    """bayeslaws.plot imports matplotlib inside its functions, not at module level."""
    modules = sorted(Path(plot.__file__).parent.glob("*.py"))  # every module of the package
    assert {"__init__.py", "fan_chart.py", "figures.py"} <= {p.name for p in modules}
    for path in modules:
        tree = ast.parse(path.read_text())
        top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        names = [a.name for n in top for a in n.names] + [
            n.module for n in top if isinstance(n, ast.ImportFrom) and n.module
        ]
        assert not [n for n in names if n.startswith("matplotlib")], path.name


def test_fan_marks_targets_at_the_widest_band(surface_fit):
    """The target's interval is drawn at the widest of the ``ci`` levels, and labelled so."""
    import matplotlib.pyplot as plt

    fig = plot.fan(surface_fit, ci=(0.5, 0.8), targets=[(1.07e9, 1e10)], relative_panel=False)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    (target,) = [label for label in labels if label.startswith("target N")]
    assert "(80%, new_run)" in target, target
    assert "90%" not in " ".join(labels) + _suptitle(fig)
    plt.close(fig)


def test_design_ranking_of_information_alone_says_nats():
    """A score with no cost in it (``design --cost none`` ranks by "info") is labelled as
    information in nats, not per unit cost."""
    import matplotlib.pyplot as plt

    plan = pd.DataFrame({"N": [1e8, 3e8], "D": [2e9, 4e9], "info": [0.3, 0.5]})
    fig = plot.design_ranking(plan, score="info")
    ax = fig.axes[0]
    assert "(nats)" in ax.get_xlabel() and "per" not in ax.get_xlabel(), ax.get_xlabel()
    assert "per" not in ax.get_title() and "cost" not in ax.get_title(), ax.get_title()
    plt.close(fig)
    fig = plot.design_ranking(plan.assign(info_per_cost=[1.0, 2.0]))  # a cost column: per cost
    assert "per unit cost" in fig.axes[0].get_xlabel()
    plt.close(fig)


def _relabelled(fit, source: str):
    """The same fit, its record's data source replaced (as if the runs were another table)."""
    import copy
    import dataclasses

    out = copy.copy(fit)
    out.record = dataclasses.replace(fit.record, data={**fit.record.data, "source": source})
    return out


def _all_titles(fig) -> str:
    text = " ".join([_suptitle(fig)] + [ax.get_title() for ax in fig.axes])
    return " ".join(text.split())  # long titles are wrapped


def test_figures_of_simulated_fits_say_so(surface_fit, hp_fit, sweep):
    import matplotlib.pyplot as plt

    assert "SIMULATED" in surface_fit.record.data["source"]  # the bundled sweep is simulated
    figures = {
        "fan": lambda f: plot.fan(f),
        "isoflop": lambda f: plot.isoflop(f, [1e20]),
        "n_opt": lambda f: plot.n_opt(f, (1e18, 1e22)),
        "pairs": lambda f: plot.pairs(f),
    }
    real = _relabelled(surface_fit, "measured runs.csv")
    for name, draw in figures.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sim_fig, real_fig = draw(surface_fit), draw(real)
        assert "(SIMULATED data)" in _all_titles(sim_fig), name
        assert "SIMULATED" not in _all_titles(real_fig), name
        plt.close(sim_fig)
        plt.close(real_fig)
    fig = plot.bowls(hp_fit, sweep)
    assert "(SIMULATED data)" in _suptitle(fig)
    plt.close(fig)
    fig = plot.bowls(_relabelled(hp_fit, "measured sweep.csv"), sweep)
    # a real fit's bowls drawn with the SIMULATED sweep: the drawn runs are said to be simulated
    assert "(SIMULATED data)" not in _suptitle(fig)
    assert "(drawn runs SIMULATED)" in _suptitle(fig)
    plt.close(fig)
    real_sweep = bl.load_runs(sweep.df.drop(columns="source"))
    fig = plot.bowls(_relabelled(hp_fit, "measured sweep.csv"), real_sweep)
    assert "SIMULATED" not in _suptitle(fig)
    plt.close(fig)
    # a title that already says so is not repeated; partly simulated tables say partly
    fig = plot.pairs(surface_fit, title="Pairs (SIMULATED data)")
    assert _suptitle(fig).count("SIMULATED") == 1
    plt.close(fig)
    part = _relabelled(surface_fit, "x.csv (partly SIMULATED: 3 of 9 rows by its source column)")
    fig = plot.n_opt(part, (1e18, 1e22))
    assert "(partly SIMULATED data)" in _all_titles(fig)
    plt.close(fig)


# ---- grouped fits, ranges, labels ----------------------------------------------------------------
TINY1 = {"chains": 1, "warmup": 100, "draws": 100, "seed": 0}


@pytest.fixture(scope="module")
def grouped_fit():
    """Each cell's best run of the bundled sweep as two groups: A as is, B with 8% higher loss."""
    r = best_run_per_cell(bl.load_bundled()).df.drop(columns=["source"])
    both = pd.concat([r.assign(group="A"), r.assign(group="B", loss=r["loss"] * 1.08)])
    runs = bl.load_runs(both.reset_index(drop=True), group="group")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(runs, law="chinchilla", likelihood="gaussian", **TINY1)


@pytest.fixture(scope="module")
def grouped_sweep(sweep):
    """The two-by-two sweep as two groups: A as is, B with every learning rate doubled."""
    df = sweep.df.drop(columns=["source"], errors="ignore")
    both = pd.concat([df.assign(group="A"), df.assign(group="B", lr=df["lr"] * 2.0)])
    return bl.load_runs(both.reset_index(drop=True), group="group")


@pytest.fixture(scope="module")
def hp_grouped_fit(grouped_sweep):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(grouped_sweep, law="hyperparams", likelihood="gaussian", **TINY1)


def _points(ax):
    return [c for c in ax.collections if c.get_array() is not None and len(c.get_offsets())]


def test_fan_of_a_grouped_fit_draws_one_group_or_says_new_group(grouped_fit):
    """``group=`` draws that group's law through that group's runs; without it the figure says
    it draws a new group, and marks each group's runs with its own marker."""
    import matplotlib.pyplot as plt

    train = pd.DataFrame(grouped_fit.record.training_runs)
    fig = plot.fan(grouped_fit, slices=[4e9], n_points=10, relative_panel=False, group="B")
    ax = fig.axes[0]
    (line,) = [ln for ln in ax.lines if ln.get_label().startswith("D = ")]
    want = bl.predict(grouped_fit, N=line.get_xdata(), D=4e9, group="B", seed=0)
    np.testing.assert_allclose(line.get_ydata(), want["median"])
    (points,) = _points(ax)
    b = train[train["group"].astype(str) == "B"]
    np.testing.assert_allclose(np.sort(points.get_offsets()[:, 1]), np.sort(b["loss"]))
    assert "(group B)" in _suptitle(fig) and "new group" not in _suptitle(fig)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "runs of group B (colour = D)" in labels
    plt.close(fig)

    fig = plot.fan(grouped_fit, slices=[4e9], n_points=10, relative_panel=False)
    ax = fig.axes[0]
    assert "(a new group)" in _suptitle(fig)
    sets = _points(ax)
    assert sorted(len(s.get_offsets()) for s in sets) == [len(b), len(train) - len(b)]
    shapes = {tuple(np.round(s.get_paths()[0].vertices.ravel(), 3)) for s in sets}
    assert len(shapes) == 2  # one marker per group
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"runs of group A (colour = D)", "runs of group B (colour = D)"} <= set(labels)
    plt.close(fig)
    with pytest.raises(ValueError, match="not one of the fit's groups"):
        plot.fan(grouped_fit, group="Z")


def test_isoflop_and_n_opt_of_a_grouped_fit_draw_the_group(grouped_fit):
    import matplotlib.pyplot as plt

    fig = plot.n_opt(grouped_fit, (1e18, 1e22), budgets=[1e21], group="A")
    ax = fig.axes[0]
    (median,) = [ln for ln in ax.lines if ln.get_label() == "posterior median N_opt"]
    want = bl.optimal_allocation(grouped_fit, C=median.get_xdata(), ci=0.9, group="A", seed=0)
    np.testing.assert_allclose(median.get_ydata(), want["N_opt"])
    assert "(group A)" in ax.get_title().replace("\n", " ")
    plt.close(fig)
    fig = plot.n_opt(grouped_fit, (1e18, 1e22))
    assert "(a new group)" in fig.axes[0].get_title().replace("\n", " ")
    plt.close(fig)

    fig = plot.isoflop(grouped_fit, [1e20], group="B")
    ax = fig.axes[0]
    a = bl.optimal_allocation(grouped_fit, C=[1e20], ci=0.9, group="B", seed=0).iloc[0]
    (marker,) = [ln for ln in ax.lines if ln.get_marker() == "o" and len(ln.get_xdata())]
    # the marker sits on the median curve drawn: the median loss at the median N_opt
    on_curve = bl.predict(grouped_fit, N=[a["N_opt"]], C=1e20, group="B", seed=0)["median"]
    np.testing.assert_allclose([marker.get_xdata()[0], marker.get_ydata()[0]],
                               [a["N_opt"], on_curve.iloc[0]], rtol=1e-6)
    assert "(group B)" in ax.get_title().replace("\n", " ")
    plt.close(fig)
    fig = plot.isoflop(grouped_fit, [1e20])
    assert "(a new group)" in fig.axes[0].get_title().replace("\n", " ")
    plt.close(fig)


def _record_saves(monkeypatch) -> dict:
    """Replace plot.save by one that records each figure's texts by file name."""
    seen = {}
    real = plot.save

    def record(fig, path, **kwargs):
        texts = [_suptitle(fig)] + [ax.get_title() for ax in fig.axes]
        seen[Path(path).name] = " ".join(" ".join(texts).split())
        return real(fig, path, **kwargs)

    monkeypatch.setattr(plot, "save", record)
    return seen


def test_cli_plot_passes_the_group(grouped_fit, tmp_path, monkeypatch, capsys):
    from bayeslaws.app.cli import main

    path = tmp_path / "grouped.nc"
    grouped_fit.save(path)
    seen = _record_saves(monkeypatch)
    for kind, extra in (("fan", []), ("isoflop", ["--C", "1e20"]), ("n_opt", [])):
        argv = ["plot", str(path), "--kind", kind, "--out", str(tmp_path / f"{kind}.png")]
        assert main(argv + extra + ["--group", "B"]) == 0, capsys.readouterr().err
        assert "(group B)" in seen[f"{kind}.png"], seen[f"{kind}.png"]
    argv = ["plot", str(path), "--kind", "pairs", "--out", str(tmp_path / "p.png")]
    assert main(argv + ["--group", "B"]) != 0
    assert "--group applies to --kind" in capsys.readouterr().err


def test_bowls_of_a_grouped_fit_has_a_panel_per_group_and_cell(hp_grouped_fit, grouped_sweep):
    fig = plot.bowls(hp_grouped_fit, grouped_sweep)
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_title().startswith("N = ")]
    assert len(panels) == 8  # 2 groups x 2 sizes x 2 token budgets
    opt = hp_grouped_fit.law.sweep_optima(hp_grouped_fit.posterior())
    for c, (N, D, g) in enumerate(zip(opt["N"], opt["D"], opt["group"], strict=True)):
        title = f"N = {sci(N)}, D = {sci(D)}, group {g}"
        (ax,) = [ax for ax in panels if ax.get_title() == title]
        (star,) = [ln for ln in ax.lines if ln.get_marker() == "*"]
        assert star.get_xdata()[0] == pytest.approx(np.exp(np.median(opt["log_eta"][:, c])))
        assert len(ax.collections) == 1  # one heat map: this group's runs only
        df = grouped_sweep.df
        runs = df[(df["N"] == N) & (df["D"] == D) & (df["group"].astype(str) == str(g))]
        assert ax.collections[0].get_array().size == runs["lr"].nunique() * runs[
            "batch_size"
        ].nunique()
    assert "group" in _suptitle(fig)


def _first_panel(fig, N, D):
    title = f"N = {sci(N)}, D = {sci(D)}"
    (ax,) = [ax for ax in fig.axes if ax.get_visible() and ax.get_title() == title]
    return ax


def test_bowls_leaves_an_lr_whose_runs_all_diverged_blank(hp_fit, sweep):
    """Every run at the largest learning rate of one cell diverged (no loss): that column of the
    heat map is kept, blank, rather than dropped."""
    df = sweep.df.copy()
    N0, D0 = df["N"].min(), df["D"].min()
    cell = (df["N"] == N0) & (df["D"] == D0)
    top = cell & (df["lr"] == df.loc[cell, "lr"].max())
    df.loc[top, "loss"] = np.nan
    mesh = _first_panel(plot.bowls(hp_fit, df), N0, D0).collections[0]
    z = mesh.get_array()
    assert z.shape == (df.loc[cell, "batch_size"].nunique(), df.loc[cell, "lr"].nunique())
    assert np.ma.getmaskarray(z)[:, -1].all() and not np.ma.getmaskarray(z)[:, :-1].all()
    edges = mesh.get_coordinates()[0, :, 0]
    assert edges[-1] > df.loc[cell, "lr"].max()  # the blank column is drawn at its lr


def test_bowls_matches_runs_to_cells_as_the_package(hp_fit, sweep):
    """Runs whose N differs by 5e-6 (relative) are another cell (``CELL_RTOL`` 1e-6), so they
    are not drawn into the fitted cell's heat map."""
    df = sweep.df
    N0, D0 = df["N"].min(), df["D"].min()
    cell = df[(df["N"] == N0) & (df["D"] == D0)]
    near = cell.assign(N=N0 * (1 + 5e-6), lr=cell["lr"] * 1.37, loss=cell["loss"] * 0.9)
    shape = _first_panel(plot.bowls(hp_fit, df), N0, D0).collections[0].get_array().shape
    ax = _first_panel(plot.bowls(hp_fit, pd.concat([df, near])), N0, D0)
    assert ax.collections[0].get_array().shape == shape
    (square,) = [ln for ln in ax.lines if ln.get_marker() == "s"]
    best = cell.loc[cell["loss"].idxmin()]
    assert square.get_xdata()[0] == pytest.approx(best["lr"])


def test_fan_dashes_slices_outside_the_fitted_range(surface_fit):
    import matplotlib.pyplot as plt

    hi = surface_fit.record.ranges["D"][1]
    fig = plot.fan(surface_fit, slices=[4e9, 10 * hi], n_points=10)
    curves = {ln.get_label(): ln for ln in fig.axes[0].lines if ln.get_label().startswith("D =")}
    inside = curves["D = 4B: median and bands"]
    outside = curves[f"D = {sci(10 * hi)}: median and bands (outside fitted D range)"]
    assert inside.get_linestyle() == "-" and outside.get_linestyle() == "--"
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert sum("outside fitted D range" in t for t in legend) == 1
    rel = fig.axes[1].lines  # the relative panel's band edges: dashed for the far slice too
    assert sum(ln.get_linestyle() == "--" for ln in rel) == 2
    plt.close(fig)


def test_fan_states_the_band_levels_under_a_custom_title(surface_fit):
    import matplotlib.pyplot as plt

    fig = plot.fan(surface_fit, title="My loss curves", ci=(0.5, 0.8), n_points=10)
    assert _suptitle(fig).startswith("My loss curves")
    assert "bands: 50% and 80%" in _suptitle(fig), _suptitle(fig)
    plt.close(fig)


@pytest.fixture(scope="module")
def iso_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = shared_or_skip().isoflop_compendium("llama_3")
        return bl.fit(runs, law="isoflop", likelihood="gaussian", **TINY1)


def test_fan_of_an_isoflop_law_labels_budgets_in_flops(iso_fit):
    import matplotlib.pyplot as plt

    fig = plot.fan(iso_fit, targets=[(1e9, 3e21)], n_points=10, relative_panel=False)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    curves = [t for t in labels if t.startswith("C = ")]
    assert curves and all(t.split(":")[0].endswith(" FLOPs") for t in curves), curves
    assert "C = 6e+18 FLOPs: median and bands" in curves
    assert any(t.startswith("target N 1B, C 3e+21 FLOPs") for t in labels), labels
    assert not any("T:" in t or "e+06T" in t for t in labels), labels
    plt.close(fig)


def test_design_ranking_says_simulated(surface_fit, tmp_path, monkeypatch, capsys):
    """A ranking by a fit of SIMULATED data says so, like every figure of that fit: in the
    library, the CLI's design --plot and the demo."""
    import matplotlib.pyplot as plt

    plan = pd.DataFrame({"N": [1e8, 3e8], "D": [2e9, 4e9], "info": [0.3, 0.5],
                         "info_per_flop": [2e-19, 1e-19], "batch_pick": [1, 0]})
    title = plot.design_ranking(plan, simulated=surface_fit).axes[0].get_title()
    assert "(SIMULATED data)" in " ".join(title.split())
    real = _relabelled(surface_fit, "measured runs.csv")
    for simulated in (real, False):
        assert "SIMULATED" not in plot.design_ranking(plan, simulated=simulated).axes[0].get_title()
    assert "SIMULATED" in plot.design_ranking(plan, simulated=True).axes[0].get_title()
    plt.close("all")

    from bayeslaws.app.cli import main

    seen = _record_saves(monkeypatch)
    path = tmp_path / "fit.nc"
    surface_fit.save(path)
    argv = ["design", str(path), "--isoflop", "3e19", "1e20", "--n-per-budget", "3"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # N_opt(1e22) far beyond the data: the search's edge
        code = main(argv + ["--nopt", "1e22", "--k", "2", "--plot", str(tmp_path / "d.png")])
    assert code == 0
    assert "(SIMULATED data)" in seen["d.png"], seen
    capsys.readouterr()

    from bayeslaws.app import demo

    def blank(*args, **kwargs):
        return plt.figure()

    for name in ("fan", "bowls", "isoflop", "n_opt", "pairs"):
        monkeypatch.setattr(plot, name, blank)
    demo_plan = {"hyperparams": pd.DataFrame({"N": [1e9], "D": [1e10]}),
                 "allocation": pd.DataFrame({"C": [1e21]}), "design_table": plan}
    demo.write_figures(tmp_path / "demo", bl.load_bundled(), object(), surface_fit, demo_plan)
    assert "(SIMULATED data)" in seen["design.png"], seen["design.png"]
    plt.close("all")
