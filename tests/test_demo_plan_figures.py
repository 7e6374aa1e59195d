"""The plan's figures on a user's own runs, and the demo's sampler settings checked first.

The plan's figures on a user's own runs: ``bayeslaws plan`` drew the isoFLOP
curves at the demo's fixed budgets (1e19 ... 1e22 FLOPs) and N_opt(C) from 1e17 FLOPs whatever
the fitted range, and overlaid Yin et al.'s video-DiT laws on any data. Now the budgets and the
range follow the fitted range and the plan's budget, and the published laws are drawn beside a
video-DiT simulation only. Runs SIMULATED (Chinchilla; the bundled sweep's range for the
demo's own budgets)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from bayeslaws import plot  # noqa: E402
from bayeslaws.app import demo  # noqa: E402
from bayeslaws.app.plan import BUDGET  # noqa: E402
from bayeslaws.runs.bundled import DEFAULT_DATASET, load_bundled  # noqa: E402
from bayeslaws.runs.simulate import VideoDiTTruth  # noqa: E402


def test_the_bundled_sweeps_budgets_are_the_demos_own():
    """The bundled sweep's C range and the demo's budget give the curves the demo drew before
    (its fixed 1e19 ... 1e22 FLOPs; N_opt(C) from about 1e17 to at least 1e25)."""
    C = load_bundled(DEFAULT_DATASET).df["C"]
    C_range = (C.min(), C.max())
    assert demo.isoflop_budgets(C_range, BUDGET) == [1e19, 1e20, 1e21, 1e22]
    low, high = demo.n_opt_range(C_range, BUDGET)
    assert low == pytest.approx(C.min() / 2) and 1e17 <= low < 2e17 and high >= 1e25


@pytest.mark.parametrize(
    ("C_range", "budget"),
    [((1e14, 3e16), 1e20), ((1e18, 1e21), 3e20), ((1e18, 1e21), 2e21), ((2e17, 2e19), 1.2345e22)],
)
def test_budgets_follow_the_fitted_range_and_hold_the_plans(C_range, budget):
    budgets = demo.isoflop_budgets(C_range, budget)
    assert budget in budgets and len(budgets) >= demo.ISOFLOP_CURVES
    assert np.diff(np.log10(budgets)).min() > 0.1  # no two curves at nearly one budget
    assert min(budgets) <= max(C_range) and min(budgets) >= min(C_range) / 10
    low, high = demo.n_opt_range(C_range, budget)
    assert low < min(C_range) and high >= 10 * budget


def _drawn(monkeypatch):
    seen = {}

    def recorder(name):
        def draw(*args, **kwargs):
            seen[name] = (args, kwargs)
            return plt.figure()

        return draw

    for name in ("fan", "bowls", "isoflop", "n_opt", "pairs", "design_ranking"):
        monkeypatch.setattr(plot, name, recorder(name))
    return seen


@pytest.mark.parametrize("truth", [None, VideoDiTTruth()])
def test_plan_figures_of_a_users_runs(monkeypatch, tmp_path, simulated_fit, truth):
    """simulated_fit's runs span C = 3.6e17 ... 3.6e21 FLOPs: the isoFLOP curves start in that
    range, not at 1e19, and Yin et al.'s laws are drawn only with the video-DiT truth."""
    seen = _drawn(monkeypatch)
    plan = {
        "hyperparams": pd.DataFrame({"N": [1e9], "D": [1e10]}),
        "allocation": pd.DataFrame({"C": [1e23]}),
        "design_table": pd.DataFrame(),
        "truth": truth,
    }
    runs = simulated_fit.training_runs()
    demo.write_figures(tmp_path, runs, object(), simulated_fit, plan)
    budgets = seen["isoflop"][0][1]
    assert budgets == demo.isoflop_budgets(simulated_fit.record.ranges["C"], 1e23)
    low_fit, high_fit = simulated_fit.record.ranges["C"]
    assert budgets[0] == pytest.approx(10 ** np.floor(np.log10(high_fit))) and 1e23 in budgets
    C_range = seen["n_opt"][0][1]
    assert C_range[0] == pytest.approx(low_fit / 2) and np.isfinite(C_range[1])
    laws = seen["n_opt"][1]["paper_laws"]
    assert (laws is None) is (truth is None)
    plt.close("all")


@pytest.mark.parametrize("flag", ["--chains", "--warmup", "--draws"])
def test_demo_refuses_bad_sampler_settings_before_making_its_folder(tmp_path, capsys, flag):
    """``demo --chains 0`` was refused only after the folder was made (and the first step
    printed); now nothing is written."""
    from conftest import cli_run

    out = tmp_path / "d"
    code, _, err = cli_run(["demo", flag, "0", "--out", str(out)], capsys)
    assert code == 2 and f"argument {flag}: takes a positive integer, got '0'" in err, err
    assert not out.exists()
