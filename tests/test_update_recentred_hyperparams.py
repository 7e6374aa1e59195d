"""``fit.update`` of laws whose posterior is or is not re-expressed on the updated table's
reference scales (review 8, finding of reviewer RX).

``Law.recentred`` maps a draw centred on one table's reference logs onto another's; a law
without it (the contract's default) gives nothing when the scales moved, and its update is a
cold refit. Here: law ``hyperparams`` carries its draws (the optima's intercepts, the cells' mean
log losses, the curvatures in loss units, the Chinchilla surface of ``loss_level="surface"``),
and the note of a refit redone for its R-hat says "the refit", not "the warm refit", when
nothing started at the previous posterior. All data SIMULATED.
"""

from __future__ import annotations

import functools

import jax
import numpy as np
import numpyro
import pytest

import bayeslaws as bl
from bayeslaws.laws.contract import OBSERVED_SITE, Scales
from bayeslaws.laws.hyperparams import HyperparamsLaw
from bayeslaws.runs import simulate

# reference logs (N params, D tokens, loss, lr, batch size in tokens) before and after an update
OLD = Scales({"N": 19.1, "D": 22.1, "loss": 1.43, "lr": -6.9, "batch_size": 13.8})
NEW = Scales({"N": 20.6, "D": 23.5, "loss": 1.26, "lr": -7.4, "batch_size": 14.6})


def _sweep(n_groups: int) -> dict:
    """A small sweep in natural units: 4 cells (of ``n_groups`` groups), 5 runs each."""
    rng = np.random.default_rng(4)
    N = np.array([5e7, 2e8, 8e8, 3e9])
    D = np.array([1e9, 4e9, 2e10, 6e10])
    cell_index = np.repeat(np.arange(4), 5).astype(np.int32)
    lr = np.exp(-7.0 + rng.normal(0.0, 1.0, 20))
    batch = np.exp(14.0 + rng.normal(0.0, 1.0, 20))
    loss = np.exp(1.3 + rng.normal(0.0, 0.1, 20))
    cell_group = (np.arange(4) % n_groups).astype(np.int32)
    return {"N": N, "D": D, "cell_index": cell_index, "lr": lr, "batch_size": batch,
            "loss": loss, "cell_group": cell_group, "n_groups": n_groups}


def _data(sweep: dict, scales: Scales) -> dict:
    return {
        "p": np.log(sweep["lr"]) - scales["lr"],
        "q": np.log(sweep["batch_size"]) - scales["batch_size"],
        "cell_index": sweep["cell_index"],
        "x_cell": np.log(sweep["N"]) - scales["N"],
        "y_cell": np.log(sweep["D"]) - scales["D"],
        "cell_group": sweep["cell_group"],
        "censored": None,
        "n_groups": sweep["n_groups"],
        "obs": np.log(sweep["loss"]) - scales["loss"],
    }


def _trace(law, priors, scales: Scales, sweep: dict, values: dict | None) -> dict:
    """The model's trace on ``scales`` (float64), the sampled sites at ``values`` (None: drawn
    from the prior)."""
    model = functools.partial(law.model, priors=priors, likelihood="gaussian")
    model = numpyro.handlers.seed(model, 3)
    if values is not None:
        model = numpyro.handlers.substitute(model, data=values)
    return numpyro.handlers.trace(model).get_trace(**_data(sweep, scales))


def _natural(law, trace, scales: Scales, sweep: dict) -> dict:
    """What a draw says in natural units: every run's predicted ln L, each cell's level at its
    optimum (ln L*), ln eta* and ln B* (lr, batch size in tokens), the noise; with a surface,
    the tie of the levels to it (its log density)."""
    v = {k: np.asarray(s["value"], float) for k, s in trace.items() if k != OBSERVED_SITE}
    data = _data(sweep, scales)
    m_lr, m_b = law.centre_law(v, data["x_cell"], data["y_cell"])
    m_lr, m_b = m_lr + v["lr_scatter"] * v["z_lr"], m_b + v["batch_scatter"] * v["z_batch"]
    if sweep["n_groups"] > 1:
        m_lr = m_lr + v["lr_int_tau"] * v["lr_int_z"][data["cell_group"]]
        m_b = m_b + v["batch_int_tau"] * v["batch_int_z"][data["cell_group"]]
    out = {
        "ln_loss": np.asarray(trace[OBSERVED_SITE]["fn"].loc, float) + scales["loss"],
        "level": v["level"] + scales["loss"],
        "ln_eta_opt": np.asarray(m_lr, float) + scales["lr"],
        "ln_B_opt": np.asarray(m_b, float) + scales["batch_size"],
        "sigma": v["sigma"],
    }
    if "level_tie" in trace:
        out["level_tie"] = np.asarray(trace["level_tie"]["fn"].log_factor, float)
    return out


@pytest.mark.parametrize("n_groups", [1, 2])
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"bowl": "symmetric"},
        {"bowl_scale": "loss"},
        {"loss_level": "surface"},
        {"bowl": "cross", "bowl_scale": "loss", "loss_level": "surface"},
    ],
)
def test_hyperparams_recentred_draw_says_the_same_in_natural_units(options, n_groups):
    """A draw of law ``hyperparams`` centred on OLD, recentred to NEW and run through the model
    on NEW, predicts every run's ln L, each cell's level, ln eta* and ln B* as the old draw did,
    to float64 precision (and the surface's tie of the levels, with ``loss_level="surface"``)."""
    law = HyperparamsLaw(**options)
    priors = law.priors("gaussian")
    sweep = _sweep(n_groups)
    with jax.enable_x64(True):
        old = _trace(law, priors, OLD, sweep, None)
        sampled = {
            k for k, s in old.items()
            if s["type"] == "sample" and not s.get("is_observed", False)
        }
        draw = {k: np.asarray(s["value"], float) for k, s in old.items() if k != OBSERVED_SITE}
        recentred = law.recentred(draw, OLD, NEW, priors)
        assert sampled <= set(recentred), sampled - set(recentred)
        new = _trace(law, priors, NEW, sweep, {k: recentred[k] for k in sampled})
        before = _natural(law, old, OLD, sweep)
        after = _natural(law, new, NEW, sweep)
    assert set(before) == set(after)
    assert np.ptp(before["ln_loss"]) > 0.01  # bowls, not a constant
    for name in before:
        np.testing.assert_allclose(after[name], before[name], rtol=0, atol=1e-9, err_msg=name)
    assert law.recentred(draw, OLD, OLD, priors) == draw
    moved = {k for k in sampled if not np.array_equal(recentred[k], draw[k])}
    assert {"lr_int", "batch_int", "level_mean"} <= moved  # the scales did move them


def test_hyperparams_recentred_leaves_out_a_value_outside_its_prior():
    """A recentred value outside a user's prior (a truncated intercept) is left out, so that
    site starts as in a cold fit; scales without lr or batch_size give the default (nothing)."""
    law = HyperparamsLaw()
    priors = law.priors(
        "gaussian", {"lr_int": numpyro.distributions.TruncatedNormal(0.0, 2.0, low=-0.5)}
    )
    draw = {"lr_int": -0.4, "lr_N": 0.0, "lr_D": 0.0, "batch_int": 0.0, "batch_N": 0.0,
            "batch_D": 0.0, "sigma": 0.01}
    shifted = Scales({**OLD.to_dict(), "lr": OLD["lr"] + 1.0})
    out = law.recentred(draw, OLD, shifted, priors)
    assert "lr_int" not in out and out["sigma"] == 0.01  # -0.4 - 1 is below -0.5
    no_lr = Scales({k: OLD[k] for k in ("N", "D", "loss")})
    assert law.recentred(draw, no_lr, Scales({**no_lr.to_dict(), "N": 20.0}), priors) == {}


# ---- the note of a refit redone for its R-hat ---------------------------------------------------
TRUTH = {"E": 1.8, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.30}


def _runs(N, D, seed):
    params = {**TRUTH, "N": np.asarray(N, float), "D": np.asarray(D, float)}
    return simulate.simulate_chinchilla_runs(params, noise_sd=0.01, seed=seed)


def test_a_cold_refit_redone_for_its_r_hat_is_not_called_warm(monkeypatch):
    """When no site started at the previous posterior (a law that does not carry its draws to
    the moved scales), the note of the refit redone above ``cold_above`` says "the refit",
    not "the warm refit"."""
    N, D = np.meshgrid(np.geomspace(2e7, 2e9, 4), np.geomspace(4e8, 4e10, 3))
    old = _runs(N.ravel(), D.ravel(), 1)
    new = _runs([1e10, 2e10], [2e11, 4e11], 2)
    fit = bl.fit(old, law="chinchilla", likelihood="gaussian", chains=2, warmup=60, draws=40,
                 seed=0, warn=False)
    monkeypatch.setattr(type(fit.law), "recentred", lambda self, draw, old, new, priors: {})
    updated = fit.update(new, seed=1, warn=False, cold_above=1e-9)  # no R-hat meets it
    note = updated.record.notes[-1]
    assert "started as a cold fit would, not at the previous posterior" in note
    assert "; the refit's R-hat" in note and "warm refit" not in note, note
    assert "so it was redone cold (100 warm-up iterations)" in note, note  # the update's 100
