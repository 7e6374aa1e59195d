"""``fit.update``'s warm start re-expressed on the updated table's reference scales (review 8).

A law samples parameters centred on its table's reference scales (geometric means of N, D and
the loss); the refit centres on the combined table's. The warm start copied the old draws' raw
sampled values, which then stood for other amplitudes and floors: on a campaign step to larger
models, Chinchilla's ``e_std`` started ~13 posterior sd from the new posterior. ``Law.recentred``
maps each draw onto the new scales. All data SIMULATED.
"""

from __future__ import annotations

import functools

import jax
import numpy as np
import numpyro
import pandas as pd
import pytest
from numpyro.distributions.transforms import biject_to

import bayeslaws as bl
from bayeslaws.inference import update
from bayeslaws.laws import get_law
from bayeslaws.laws.contract import OBSERVED_SITE, Scales
from bayeslaws.laws.surface import SAMPLING_SCALE, LossSurfaceLaw
from bayeslaws.runs import simulate

# reference logs of RC's scenario: 20 runs (N 2e7..2e9), then with 8 runs at N = 2e10, 5e10
OLD = Scales({"N": 19.1138, "D": 22.1096, "loss": 1.4329})
NEW = Scales({"N": 20.5605, "D": 23.4702, "loss": 1.2606})
# a plausible point of each law (its parameters), near which the test draws are made
POINTS = {
    "chinchilla": {"alpha": 0.34, "beta": 0.3, "a": -1.0, "b": -1.5, "e": -0.4},
    "chinchilla_gamma": {"alpha": 0.34, "beta": 0.3, "a": -1.0, "b": -1.5, "e": -0.4,
                         "gamma": 1.1},
    "kaplan": {"alpha_N": 0.08, "alpha_D": 0.1, "n_c": 9.0, "d_c": 8.0},
    "farseer": {"alpha": 0.35, "a": -1.0, "e": -0.5, "beta0": 0.3, "m_beta": 0.05,
                "k_beta": 0.3, "c0": -2.0, "m_c": 0.1, "k_amp": -0.2},
}
GRID_N = np.geomspace(1e7, 1e11, 7)  # params
GRID_D = np.geomspace(1e8, 1e13, 6)  # tokens


def _data(scales: Scales, n_groups: int) -> dict:
    return {
        "x": np.zeros(n_groups), "y": np.zeros(n_groups),
        "group_index": np.arange(n_groups, dtype=np.int32), "scales": scales,
        "n_groups": n_groups,
    }


def _trace(law, priors, scales: Scales, n_groups: int, values: dict) -> dict:
    """Every site's value (sampled and deterministic) of the law's model on ``scales`` with
    the sampled sites at ``values`` (others drawn from the prior), in float64."""
    model = functools.partial(law.model, priors=priors, likelihood="gaussian")
    model = numpyro.handlers.substitute(numpyro.handlers.seed(model, 3), data=values)
    trace = numpyro.handlers.trace(model).get_trace(**_data(scales, n_groups))
    return {k: np.asarray(s["value"], float) for k, s in trace.items() if k != OBSERVED_SITE}


def _log_loss(law, theta: dict, scales: Scales, N, D) -> np.ndarray:
    """ln L (loss units) on the (N, D) grid (shape (len(N), len(D)))."""
    x = (np.log(N) - scales["N"])[:, None]
    y = (np.log(D) - scales["D"])[None, :]
    return np.asarray(law.log_loss(theta, x, y, scales), float) + scales["loss"]


def _group_theta(law, draw: dict, g: int) -> dict:
    return {p: draw[f"{p}_group"][g] if f"{p}_group" in draw else draw[p] for p in law.parameters}


@pytest.mark.parametrize("n_groups", [1, 3])
@pytest.mark.parametrize("name", ["chinchilla", "chinchilla_gamma", "kaplan", "farseer"])
def test_recentred_values_give_the_old_draws_natural_parameters(name, n_groups):
    """The sampled values recentred from OLD to NEW, run through the model on NEW, give the
    old draw's derived quantities (E, A, B, N_c, Farseer's constants), group values and loss
    surface, to float64 precision (Farseer's groups: at the new reference size, see
    LossSurfaceLaw.recentred)."""
    law = get_law(name)
    priors = law.priors("gaussian")
    rng = np.random.default_rng(0)
    start = {
        f"{p}_std": np.asarray(biject_to(priors[p].support).inv(v), float)
        / law.sampling_scale.get(p, SAMPLING_SCALE)
        + 0.2 * rng.standard_normal()
        for p, v in POINTS[name].items()
    }
    with jax.enable_x64(True):
        old = _trace(law, priors, OLD, n_groups, start)
        recentred = law.recentred(old, OLD, NEW, priors)
        sampled = {k for k in old if k.endswith(("_std", "_tau", "_z"))}
        assert sampled <= set(recentred), sampled - set(recentred)
        new = _trace(law, priors, NEW, n_groups, {k: recentred[k] for k in sampled})
        for q in law.derived_names():
            np.testing.assert_allclose(new[q], old[q], rtol=1e-9, atol=1e-12, err_msg=q)
        np.testing.assert_allclose(new["sigma"], old["sigma"], rtol=1e-12)
        before = _log_loss(law, {p: old[p] for p in law.parameters}, OLD, GRID_N, GRID_D)
        after = _log_loss(law, {p: new[p] for p in law.parameters}, NEW, GRID_N, GRID_D)
        np.testing.assert_allclose(after, before, rtol=0, atol=1e-9)
        assert np.ptp(before) > 0.1  # a surface, not a constant
        exact_groups = name != "farseer"
        sizes = GRID_N if exact_groups else np.exp([NEW["N"]])
        for g in range(n_groups if n_groups > 1 else 0):
            before = _log_loss(law, _group_theta(law, old, g), OLD, sizes, GRID_D)
            after = _log_loss(law, _group_theta(law, new, g), NEW, sizes, GRID_D)
            np.testing.assert_allclose(after, before, rtol=0, atol=1e-9, err_msg=f"group {g}")
            if exact_groups:
                for p in law.pooled:  # the group values themselves: the old draw's, mapped
                    mapped = law.recentred_parameters(_group_theta(law, old, g), OLD, NEW)[p]
                    np.testing.assert_allclose(new[f"{p}_group"][g], mapped, atol=1e-9)


def test_equal_scales_keep_the_draw_and_unknown_laws_keep_only_what_the_scales_leave():
    """The contract's default: the draw itself on equal scales, nothing on others; a surface
    law that does not say how its parameters move keeps only its noise sites."""

    class Bare(LossSurfaceLaw):
        name = "bare_review8"
        parameters = ("e",)

        def default_priors(self):
            return {"e": numpyro.distributions.Normal(0.0, 1.0)}

        def log_loss(self, theta, x, y, scales):
            return theta["e"] + 0.0 * x

    law = Bare()
    priors = law.priors("gaussian")
    draw = {"e_std": np.float32(1.5), "e": np.float32(0.075), "sigma_std": np.float32(-3.0)}
    assert law.recentred(draw, OLD, OLD, priors)["e_std"] == draw["e_std"]
    assert law.recentred(draw, OLD, NEW, priors) == {"sigma_std": draw["sigma_std"]}
    # a fit saved before its sites were standardised (no e_std): from its value, e / 0.05
    assert law.recentred({"e": 0.075}, OLD, OLD, priors)["e_std"] == pytest.approx(1.5)
    assert bl.laws.Law.recentred(law, draw, OLD, NEW, priors) == {}
    assert bl.laws.Law.recentred(law, draw, OLD, OLD, priors) == draw


# ---- RC's scenario: a campaign step to 10-25x larger models ------------------------------------
TRUTH = {"E": 1.8, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.30}
SMALL = {"chains": 1, "warmup": 300, "draws": 400, "likelihood": "gaussian", "warn": False}


def _runs(N, D, seed):
    params = {**TRUTH, "N": np.asarray(N, float), "D": np.asarray(D, float)}
    return simulate.simulate_chinchilla_runs(params, noise_sd=0.01, seed=seed)


class _Stop(Exception):
    """Raised by the spy once the update's warm-up has been handed its initial values."""


@pytest.fixture(scope="module")
def step():
    """(the fit of 20 runs, the 8 new runs, a cold fit of all 28)."""
    N, D = np.meshgrid(np.geomspace(2e7, 2e9, 5), np.geomspace(4e8, 4e10, 4))
    old = _runs(N.ravel(), D.ravel(), 1)
    new = _runs([2e10] * 4 + [5e10] * 4, [4e11, 1e12, 2e11, 6e11] * 2, 2)
    fit = bl.fit(old, seed=0, **SMALL)
    cold = bl.fit(pd.concat([old, new], ignore_index=True), seed=5, **SMALL)
    return fit, new, cold


def _update_start(fit, new, monkeypatch, seed: int) -> tuple[dict, int]:
    """(The initial values and warm-up length the update hands NUTS's warm-up; the update
    stops there.)"""
    seen = {}

    def spy(self, rng_key, *args, init_params=None, **kwargs):
        seen["init"], seen["warmup"] = init_params, self.num_warmup
        raise _Stop

    monkeypatch.setattr(numpyro.infer.MCMC, "warmup", spy)
    with pytest.raises(_Stop):
        fit.update(new, warn=False, seed=seed)
    return {k: float(np.asarray(v)) for k, v in seen["init"].items()}, seen["warmup"]


def test_the_warm_start_begins_near_the_new_posterior(step, monkeypatch):
    """Every sampled site starts within a few posterior sd of the cold fit of the combined
    table (the copied e_std started ~10 sd or more away); the warm-up is the fit's own."""
    fit, new, cold = step
    post = cold.draws()
    assert Scales(fit.record.scales) != Scales(cold.record.scales)  # the scales moved
    worst = {}
    for seed in (11, 12, 13):
        init, warmup = _update_start(fit, new, monkeypatch, seed)
        assert warmup == max(update.MIN_WARMUP, SMALL["warmup"])
        assert set(init) == {f"{p}_std" for p in fit.law.parameters} | {"sigma_std"}
        for site, value in init.items():
            distance = abs(value - post[site].mean()) / post[site].std()
            worst[site] = max(worst.get(site, 0.0), distance)
    print({k: round(v, 1) for k, v in worst.items()})
    assert max(worst.values()) < 5.0, worst


def test_parameters_a_law_does_not_carry_start_cold_with_the_fits_own_warmup(
    step, monkeypatch
):
    """A surface law that cannot re-express its parameters on the new scales starts them as a
    cold fit does (NumPyro's uniform in [-2, 2], not values standing for other amplitudes),
    its noise at the old draw, with the fit's own warm-up; the note says which started cold."""
    fit, new, _ = step
    monkeypatch.setattr(type(fit.law), "recentred_parameters", lambda self, t, o, n: None)
    init, warmup = _update_start(fit, new, monkeypatch, seed=11)
    assert warmup == SMALL["warmup"]
    assert all(abs(init[f"{p}_std"]) <= 2.0 for p in fit.law.parameters)
    assert init["sigma_std"] in fit.draws()["sigma_std"]
    words = update.start_words("chinchilla", ["sigma_std"], ["a_std", "e_std"])
    assert "except ['a_std', 'e_std']" in words and "'chinchilla' does not carry" in words
    assert update.start_words("x", [], ["a_std"]).startswith("started as a cold fit would")
    assert update.start_words("x", ["a_std"], []) == "warm-started at the previous posterior"
