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
from matplotlib.figure import Figure  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws import plot  # noqa: E402
from bayeslaws.laws.contract import LawCapabilityError  # noqa: E402
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
    tree = ast.parse(Path(plot.__file__).read_text())
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    names = [a.name for n in top for a in n.names] + [
        n.module for n in top if isinstance(n, ast.ImportFrom) and n.module
    ]
    assert not [n for n in names if n.startswith("matplotlib")]


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
