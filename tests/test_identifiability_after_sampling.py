"""Checks after sampling: a one-chain fit's low ESS names the element (``alpha_group[math]``), as
two chains do, the screening record states the robust scale's floor and the scale used, and the
maximum-tree-depth advice of a fit whose mass matrix is already dense does not suggest one
(hand-made draws, SIMULATED runs)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import chinchilla_design

import bayeslaws as bl
from bayeslaws.inference import diagnostics as diag
from bayeslaws.inference.diagnostics import SamplerWarning
from bayeslaws.inference.diagnostics import check as diagnostics_check
from bayeslaws.inference.screening import Screen, screen_runs
from bayeslaws.runs import simulate

TRUTH = {"E": 1.7, "A": 400.0, "B": 410.0, "alpha": 0.34, "beta": 0.28}


# ---- 3. one chain: low ESS per element ---------------------------------------------------------
def sticky_math(chains: int):
    """Draws of alpha_group (groups code, math, web) whose 'math' element is a slow random
    walk, and of sigma."""
    import arviz as az

    rng = np.random.default_rng(0)
    x = rng.standard_normal((chains, 400, 3))
    x[..., 1] = np.cumsum(rng.standard_normal((chains, 400)) * 0.05, axis=1)
    return az.from_dict(
        posterior={"alpha_group": x, "sigma": rng.standard_normal((chains, 400))},
        sample_stats={"diverging": np.zeros((chains, 400), bool)},
        coords={"group": ["code", "math", "web"]},
        dims={"alpha_group": ["group"]},
    )


@pytest.mark.parametrize("chains", [1, 2])
def test_low_ess_names_the_element_with_one_chain_as_with_two(chains):
    diag = diagnostics_check(sticky_math(chains), ["alpha_group", "sigma"], warn=False)
    bar = diag.ess_bar
    assert f"ess_bulk < {bar:.0f} for ['alpha_group[math]']" in diag.problems


# ---- 4. the screening record ------------------------------------------------------------------
def test_the_screening_record_states_the_floor_and_the_scale_used():
    """Predictive draws far wider than the residuals' scatter: the scale is the floor (0.25 x
    the median per-run predictive sd), not 1.4826 MAD, and the record says so."""
    law = bl.laws.LAWS["chinchilla"]
    N, D = chinchilla_design()
    df = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=0)
    prepared = law.prepare(bl.load_runs(df))
    obs = np.asarray(prepared.data["obs"], float)
    rng = np.random.default_rng(0)
    predicted = obs + rng.normal(0.0, 0.04, (400, obs.size))  # sd 0.04 per run
    screening = screen_runs(law, prepared, predicted, Screen("warn"))
    q25, q75 = np.quantile(predicted, [0.25, 0.75], axis=0)
    floor = 0.25 * np.median((q75 - q25) / 1.349)
    residuals = obs - np.median(predicted, axis=0)
    mad = 1.4826 * np.median(np.abs(residuals - np.median(residuals)))
    assert mad < floor  # the floor binds
    record = screening.record()
    assert record["scale"] == [pytest.approx(floor)]
    assert "max(1.4826 MAD of the residuals, 0.25 x the median per-run" in record["rule"]


# ---- F2: tree-depth advice and the mass matrix -----------------------------------------------
NAMES = [f"p{k}" for k in range(4)]


def deep_idata(share=0.05, chains=2, draws=300, cap=10, seed=0):
    """Independent draws of 4 parameters; the first ``share`` of the draws at depth ``cap``."""
    import arviz as az

    rng = np.random.default_rng(seed)
    posterior = {name: rng.standard_normal((chains, draws)) for name in NAMES}
    steps = np.full(chains * draws, 15)
    steps[: int(round(share * steps.size))] = 2**cap - 1
    stats = {"diverging": np.zeros((chains, draws), bool), "n_steps": steps.reshape(chains, draws)}
    return az.from_dict(posterior=posterior, sample_stats=stats)


def depth_text(**kwargs) -> str:
    with pytest.warns(SamplerWarning, match="maximum tree depth"):
        d = diag.check(deep_idata(), NAMES, **kwargs)
    (text,) = d.problems
    return text


def test_a_dense_fit_is_not_told_to_use_a_dense_mass_matrix():
    dense = depth_text(dense_mass=True)
    assert "dense_mass=True" not in dense and "already dense" in dense
    assert "reparametrise" in dense and "warmup=" in dense
    assert "higher target_accept would lengthen" in dense
    for unknown_or_diagonal in (depth_text(dense_mass=False), depth_text()):
        assert "dense_mass=True" in unknown_or_diagonal
