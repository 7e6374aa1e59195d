"""estimator="reweighted" for next_runs / rank_candidates (importance reweighting of the draws,
later picks valued jointly with the earlier picks' outcomes), the Gaussian path's check for laws
whose runs depend on a hyperparameter optimum nonlinearly, and the design command's units line.

The case is the reviewer's: a SIMULATED 3 x 3 LR x batch sweep at four cells fitted by law
'hyperparams', candidates four sweeps centred on the predicted optima, the target eta_opt at
the cell of the last one (1B params, 40B tokens). There the Gaussian (linear) value ranks that
sweep third (ln loss depends on eta_opt quadratically at the bowl's bottom); brute-force
reweighting ranks it first."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from conftest import quiet, small_sweep_grid

import bayeslaws as bl
from bayeslaws import design
from bayeslaws.app.cli import main
from bayeslaws.design.gaussian import DesignWarning
from bayeslaws.laws import get_law

CELLS_N = [0.13e9, 0.4e9, 0.05e9, 1e9]
CELLS_D = [8e9, 2e10, 5e9, 4e10]
ETA = design.HyperparamOpt(N=1e9, D=4e10, which="eta")
AT_TARGET = "sweep N=1e+09, D=4e+10"


@pytest.fixture(scope="module")
def hp_fit():
    """Law 'hyperparams' on the simulated sweep: 2 chains x 200 warm-up + 800 draws (1,600
    draws: at 400 the target cell's weights keep an ESS of ~6 and most of its outcomes are
    skipped, which biases its value down)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = bl.load_runs(small_sweep_grid())
        return bl.fit(runs, law="hyperparams", seed=0, warn=False, chains=2, warmup=200, draws=800)


@pytest.fixture(scope="module")
def sweeps(hp_fit):
    return design.hyperparameter_candidates(CELLS_N, CELLS_D, fit=hp_fit)


def test_reweighted_ranks_the_target_cell_first(hp_fit, sweeps):
    ranked = quiet(design.rank_candidates, hp_fit, sweeps, ETA, cost=None, estimator="reweighted")
    assert ranked["unit"].iloc[0] == AT_TARGET
    assert {"info_se", "info_ess"} <= set(ranked.columns)
    assert (ranked["info_se"] > 0).all() and (ranked["info_ess"] > 1).all()
    plan = quiet(design.next_runs, hp_fit, sweeps, ETA, cost=None, k=1, estimator="reweighted")
    assert plan["unit"].iloc[0] == AT_TARGET
    gauss = quiet(design.rank_candidates, hp_fit, sweeps, ETA, cost=None)
    assert gauss["unit"].iloc[0] != AT_TARGET  # the linearised value misranks it


def test_reweighted_value_agrees_with_bounds(hp_fit, sweeps):
    alone = sweeps[sweeps["unit"] == AT_TARGET]
    b = quiet(design.bounds, hp_fit, alone, ETA)
    plan = quiet(design.next_runs, hp_fit, alone, ETA, cost=None, k=1, estimator="reweighted")
    value, ref = float(plan["info"].iloc[0]), float(b["reweighted"].iloc[0])
    print(f"reweighted design value {value:.3f}, bounds()['reweighted'] {ref:.3f}")
    assert abs(value - ref) <= 0.3 * ref


def test_a_duplicate_of_a_pick_is_worth_much_less(hp_fit, sweeps):
    one = sweeps[sweeps["unit"] == AT_TARGET]
    twice = pd.concat([one, one.assign(unit="copy")], ignore_index=True)
    free = design.Guardrails(max_repeats=None, ratio_diversity=False)
    plan = quiet(
        design.next_runs, hp_fit, twice, ETA, cost=None, k=2, estimator="reweighted",
        guardrails=free,
    )  # fmt: skip
    first, second = plan["info"].to_numpy()
    print(f"first pick {first:.3f} nats, its duplicate given it {second:.3f}")
    assert second < 0.5 * first


def test_gaussian_warns_where_the_law_is_nonlinear_in_the_optimum(hp_fit, sweeps):
    assert hp_fit.law.nonlinear_optima and get_law("sweep").nonlinear_optima
    assert not get_law("chinchilla").nonlinear_optima
    with pytest.warns(DesignWarning, match="estimator='reweighted'"):
        design.next_runs(hp_fit, sweeps, ETA, cost=None, k=1)


def test_gaussian_silent_on_a_chinchilla_nopt_target(simulated_fit):
    """The linearisation check finds no disagreement (the drift credited at one point of the
    isoFLOP line is another DesignWarning, test_design_drift_values.py)."""
    cands = pd.DataFrame({"N": [2e9, 5e9, 1e9, 3e8], "D": [5e10, 5e10, 2e11, 1e10]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", DesignWarning)
        warnings.filterwarnings("ignore", "under model .* the design credits runs beyond")
        plan = design.next_runs(simulated_fit, cands, design.NOpt(C=3e21), k=2, max_draws=300)
    assert len(plan) == 2


def test_reweighted_needs_a_target_and_known_estimators(hp_fit, sweeps):
    with pytest.raises(ValueError, match="needs a target"):
        quiet(design.next_runs, hp_fit, sweeps, k=1, estimator="reweighted")
    with pytest.raises(ValueError, match="estimator must be one of"):
        design.rank_candidates(hp_fit, sweeps, ETA, estimator="nmc")


def test_design_command_estimator_and_units(hp_fit, tmp_path, capsys):
    path = tmp_path / "hp.nc"
    hp_fit.save(str(path))
    argv = ["design", str(path), "--sweep", "1e9", "4e10", "--sweep", "1.3e8", "8e9",
            "--hparams", "1e9", "4e10", "--k", "1", "--estimator", "reweighted"]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(argv) == 0
    out = capsys.readouterr().out
    assert "info_se" in out
    assert "units: info" in out and "in nats" in out and "nats/FLOP" in out
    assert "flops in FLOPs" in out
    assert "eta_opt in learning rate" in out and "B_opt in tokens" in out


def test_unvalued_units_stop_the_batch_without_blaming_the_guardrails(hp_fit, sweeps):
    """At 600 draws, given the first picks the other sweeps' weights collapse on every
    outcome (ESS < 10): the batch stops short with a DesignWarning saying they cannot be
    valued, not a warning blaming the guardrails; relaxed guardrails do not fill the batch
    by repeating a pick instead."""
    kwargs = dict(cost=None, k=3, estimator="reweighted", max_draws=600)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan = design.next_runs(hp_fit, sweeps, ETA, **kwargs)
    said = [str(w.message) for w in caught]
    assert len(plan) < 3
    assert any(
        issubclass(w.category, DesignWarning) and "cannot be valued" in str(w.message)
        for w in caught
    ), said
    blamed = [s for w, s in zip(caught, said, strict=True) if issubclass(w.category, UserWarning)]
    assert not any("guardrails" in s for s in blamed), said
    # repeats allowed (400 draws): the 0.4B sweep is picked twice; given those picks the
    # 0.13B and 0.05B sweeps cannot be valued, and the batch stops instead of repeating the
    # 0.4B sweep a third time
    mid = "sweep N=4e+08, D=2e+10"
    small = ["sweep N=1.3e+08, D=8e+09", mid, "sweep N=5e+07, D=5e+09"]
    free = design.Guardrails(max_repeats=None, ratio_diversity=False)
    with pytest.warns(DesignWarning, match="cannot be valued"):
        loose = design.next_runs(
            hp_fit, sweeps[sweeps["unit"].isin(small)], ETA, guardrails=free,
            **{**kwargs, "max_draws": 400},
        )  # fmt: skip
    assert list(loose["unit"]) == [mid, mid]


def test_reweighting_simulates_only_the_units_it_values(hp_fit, sweeps, monkeypatch):
    """The Gaussian path's linearisation check values a shortlist (the picks and SHORTLIST
    units), but JointReweighting simulated every unit's outcomes up front: 1,677 units of Step
    Law's pool took ~6 s of a 7 s design step. Now a unit is simulated when first valued (with
    the key it had: fold_in(key, its position)), and the check simulates only its shortlist."""
    import importlib

    design_batch = importlib.import_module("bayeslaws.design.batch")
    design_bounds = importlib.import_module("bayeslaws.design.bounds")  # not design.bounds()

    simulated = []
    real = design_bounds.simulate_outcomes

    def counted(key, *args, **kwargs):
        simulated.append(1)
        return real(key, *args, **kwargs)

    monkeypatch.setattr(design_bounds, "simulate_outcomes", counted)
    many = pd.concat(
        [sweeps.assign(unit=sweeps["unit"] + f" copy {i}") for i in range(3)], ignore_index=True
    )
    n_units = many["unit"].nunique()
    quiet(design.next_runs, hp_fit, many, ETA, cost=None, k=1)
    assert 0 < len(simulated) <= design_batch.SHORTLIST + 1 < n_units
