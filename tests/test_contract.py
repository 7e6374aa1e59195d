"""Every registered law, and a law defined here, through every stage: fit -> summary -> predict
-> optimal_allocation (where the law defines one) -> design.next_runs -> save -> load ->
identical predictions. The stages know laws only through their contract."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pandas as pd
import pytest
from conftest import TRUTH, chinchilla_design

import bayeslaws as bl
from bayeslaws.laws import LAWS, law_ref
from bayeslaws.laws.contract import LawCapabilityError
from bayeslaws.laws.surface import LossSurfaceLaw
from bayeslaws.runs import simulate

TINY = {"chains": 2, "warmup": 150, "draws": 150, "warn": False, "seed": 0}


class SharedExponent(LossSurfaceLaw):
    """A user's law, defined outside the package: L = E + A/N^alpha + B/D^alpha (one exponent)."""

    name = "shared_exponent"
    description = "L = E + A/N^alpha + B/D^alpha"
    parameters = ("alpha", "a", "b", "e")
    pooled = ("alpha", "a", "b", "e")

    def default_priors(self):
        return {
            "alpha": dist.Beta(2.0, 3.0),
            "a": dist.Normal(-2.0, 2.0),
            "b": dist.Normal(-2.0, 2.0),
            "e": dist.Normal(-0.5, 1.0),
        }

    def log_loss(self, theta, x, y, scales):
        size_term = theta["a"] - theta["alpha"] * x
        data_term = theta["b"] - theta["alpha"] * y
        return jnp.logaddexp(jnp.logaddexp(size_term, data_term), theta["e"])

    def derived(self, theta, scales):
        return {"E": jnp.exp(theta["e"] + scales["loss"])}


def surface_runs():
    N, D = chinchilla_design(5, 4)
    return bl.load_runs(simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, seed=2))


def sweep_runs():
    df = simulate.simulate_video_dit_sweep(
        seed=3, sizes=(0.017e9, 0.057e9, 0.13e9), tokens=(2e9, 4e9, 8e9)
    )
    return bl.load_runs(df)


def small_sweep_runs():
    """SIMULATED: 3 sizes x 2 token budgets (6 cells, one more than the surface's parameters),
    the middle 4 x 4 of each cell's LR x batch grid: 96 runs."""
    df = simulate.simulate_video_dit_sweep(
        seed=3, sizes=(0.017e9, 0.057e9, 0.13e9), tokens=(2e9, 8e9)
    )
    keep = []
    for _, cell in df.groupby(["N", "D"]):
        lrs, bs = np.sort(cell["lr"].unique())[1:5], np.sort(cell["batch_size"].unique())[1:5]
        keep.append(cell[cell["lr"].isin(lrs) & cell["batch_size"].isin(bs)])
    return bl.load_runs(pd.concat(keep, ignore_index=True))


def isoflop_runs():
    return bl.load_runs(simulate.simulate_liang_isoflop(seed=4))


CASES = {
    "chinchilla": (surface_runs, "isoflop"),
    "kaplan": (surface_runs, "isoflop"),
    "chinchilla_gamma": (surface_runs, "isoflop"),
    "farseer": (surface_runs, "isoflop"),
    "hyperparams": (sweep_runs, "sweep"),
    "hyperparams_two_stage": (sweep_runs, "sweep"),
    "isoflop": (isoflop_runs, "isoflop"),
    "isoflop_cubic": (isoflop_runs, "isoflop"),
    "sweep": (small_sweep_runs, "sweep"),
    "user law": (surface_runs, "isoflop"),
}


def test_every_registered_law_has_a_case():
    assert set(LAWS) <= set(CASES), sorted(set(LAWS) - set(CASES))


def _candidates(fit, kind):
    if kind == "sweep":
        N, D = fit.record.ranges["N"][1] * 2, fit.record.ranges["D"][1]
        return bl.design.hyperparameter_candidates([N, N / 2], [D, D], fit=fit)
    C = fit.record.ranges["C"][1]
    return bl.design.isoflop_candidates(C=[C, 3 * C], n_per_budget=5, fit=None)


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_law_works_at_every_stage(name, tmp_path):
    make_runs, cand_kind = CASES[name]
    law = SharedExponent() if name == "user law" else name
    fit = bl.fit(make_runs(), law, **TINY)
    summary = fit.summary()
    assert len(summary) > 0 and np.isfinite(summary["mean"]).all()

    query = dict(N=[1e8, 1e9], C=[1e19, 1e20])
    mean = bl.predict(fit, **query)
    new = bl.predict(fit, kind="new_run", seed=1, **query)
    primary = fit.law.primary
    first = "median" if primary else f"{fit.law.quantities[0]}_median"
    assert np.isfinite(mean[first]).all() and np.isfinite(new[first]).all()
    lo = "lower" if primary else f"{fit.law.quantities[0]}_lower"
    hi = "upper" if primary else f"{fit.law.quantities[0]}_upper"
    # a new run adds noise (and a law's scatter) to the mean: its interval is not narrower, up
    # to the Monte Carlo error of 90% quantiles from TINY's 300 draws (a few %: where the added
    # noise is small next to the law's own spread the two widths are nearly equal)
    assert (new[hi] - new[lo] >= 0.9 * (mean[hi] - mean[lo])).all()

    try:
        alloc = bl.optimal_allocation(fit, C=[1e21, 1e22])
    except LawCapabilityError:
        alloc = None  # a law without a compute-optimal allocation says so
    else:
        assert (alloc["N_opt_lower"] <= alloc["N_opt"]).all()
        assert (alloc["N_opt"] <= alloc["N_opt_upper"]).all()
    assert (alloc is None) == (name in ("hyperparams", "hyperparams_two_stage"))

    cands = _candidates(fit, cand_kind)
    picks = bl.design.next_runs(fit, cands, k=2, seed=0)
    assert len(picks) == 2 and (picks["info"] >= 0).all()

    path = fit.save(tmp_path / "fit.nc")
    same = bl.load_fit(path)
    assert same.record.law == law_ref(fit.law)
    pd.testing.assert_frame_equal(bl.predict(same, **query), mean)
    pd.testing.assert_frame_equal(bl.predict(same, kind="new_run", seed=1, **query), new)
    pd.testing.assert_frame_equal(bl.design.next_runs(same, cands, k=2, seed=0), picks)


# ---- priors a user gives ----------------------------------------------------------------------
def _truncated(loc):
    return dist.TruncatedNormal(loc, 0.005, low=0.0, high=1.0)


def _same_density(a, b):
    points = jnp.linspace(0.05, 0.95, 7)
    np.testing.assert_allclose(a.log_prob(points), b.log_prob(points), rtol=1e-6)


def test_truncated_priors_that_differ_get_different_keys_and_round_trip():
    from bayeslaws.laws.contract import model_key, priors_key
    from bayeslaws.laws.priors import priors_to_spec, spec_to_priors

    law = LAWS["chinchilla"]
    low, high = (law.priors("huber", {"alpha": _truncated(loc)}) for loc in (0.1, 0.9))
    assert priors_key(low) != priors_key(high)
    static = {"n_groups": 1, "likelihood": "huber"}
    assert model_key(law, {**static, "priors": low}) != model_key(law, {**static, "priors": high})
    for loc, priors in ((0.1, low), (0.9, high)):
        rebuilt = spec_to_priors(priors_to_spec(priors))["alpha"]
        _same_density(rebuilt, _truncated(loc))
    transformed = dist.TransformedDistribution(
        dist.Normal(0.0, 1.0), [dist.transforms.AffineTransform(-2.0, 0.5)]
    )
    rebuilt = spec_to_priors(priors_to_spec(law.priors("huber", {"e": transformed})))["e"]
    _same_density(rebuilt, transformed)


@pytest.mark.parametrize(
    "prior",
    [dist.Normal(-0.5, 1.0).mask(False), dist.Normal(-0.5, 1.0).expand([1])],
    ids=["masked", "expanded"],
)
def test_priors_that_cannot_be_recorded_or_are_not_scalar_are_refused(prior):
    with pytest.raises(ValueError, match="prior for 'e'"):
        LAWS["chinchilla"].priors("huber", {"e": prior})


def test_prior_with_a_batch_shape_is_refused():
    with pytest.raises(ValueError, match="prior for 'alpha' has batch shape \\(2,\\)"):
        LAWS["chinchilla"].priors("huber", {"alpha": dist.Beta(jnp.array([2.0, 2.0]), 3.0)})


@pytest.mark.parametrize("key", ["group_sd", "alpha_tau"])
def test_pooling_scales_keep_a_positive_support(key):
    law = LAWS["chinchilla"]
    with pytest.raises(ValueError, match=f"prior for '{key}' puts mass on every real number"):
        law.priors("huber", {key: dist.Normal(0.0, 0.3)})
    assert law.priors("huber", {key: dist.HalfNormal(0.1)})[key].scale == 0.1


def test_pooling_scales_need_a_run_table_with_groups():
    law = LAWS["chinchilla"]
    runs = surface_runs()
    overrides = {"group_sd": dist.HalfNormal(0.1), "e_tau": dist.HalfNormal(0.2)}
    with pytest.raises(ValueError, match="\\['e_tau', 'group_sd'\\].*has none"):
        law.check_priors(overrides, law.prepare(runs))
    two = pd.concat([runs.df.assign(group="a"), runs.df.assign(group="b")], ignore_index=True)
    law.check_priors(overrides, law.prepare(bl.load_runs(two)))  # used: no error
    law.check_priors({"alpha": dist.Beta(2.0, 3.0)}, law.prepare(runs))
    law.check_priors(law.priors("huber"), law.prepare(runs))  # defaults, as an update passes


def test_unknown_allocation_method_is_refused():
    with pytest.raises(ValueError, match="method must be one of"):
        LAWS["chinchilla"].allocation(
            None, [1e20], None, group=None, rng=None, method="closed form"
        )


@pytest.mark.parametrize("ci", [1.5, 0, "0.9"])
def test_summarise_checks_ci(ci):
    from bayeslaws.laws.contract import summarise

    with pytest.raises(ValueError, match="ci must be a number in \\(0, 1\\)"):
        summarise(np.zeros((10, 2)), ci)


def test_saved_fit_with_a_truncated_prior_loads_and_predicts(tmp_path):
    tiny = {"chains": 1, "warmup": 100, "draws": 100, "seed": 0, "warn": False, "screen": "off"}
    fit = bl.fit(surface_runs(), "chinchilla", priors={"alpha": _truncated(0.3)}, **tiny)
    same = bl.load_fit(fit.save(tmp_path / "fit.nc"))
    _same_density(same.priors["alpha"], _truncated(0.3))
    query = dict(N=[1e8, 1e9], D=[1e10, 1e11], extrapolation="none")
    pd.testing.assert_frame_equal(bl.predict(same, **query), bl.predict(fit, **query))


def test_fit_refuses_a_pooling_prior_its_table_would_ignore(monkeypatch):
    """bl.fit without groups used to ignore priors={'group_sd': ...} silently; it is refused
    after the table is prepared, before any sampling."""
    from bayeslaws.inference import nuts

    def no_sampling(*args, **kwargs):
        raise AssertionError("sampled")

    monkeypatch.setattr(nuts, "_cached_mcmc", no_sampling)
    N, D = chinchilla_design(3, 3)
    runs = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=0)
    with pytest.raises(ValueError, match="prior given for \\['group_sd'\\].*with groups"):
        bl.fit(runs, priors={"group_sd": dist.HalfNormal(0.2)}, chains=1, warmup=10, draws=10)


CELL = """
class MyLaw(Chinchilla):
    name = "mylaw"

    def log_loss(self, theta, x, y, scales):
        return super().log_loss(theta, x, y, scales) + {shift}
"""


def test_a_law_class_redefined_in_one_process_is_a_new_law(monkeypatch):
    """An edited notebook cell redefines a law class under the same module and name: the
    in-memory caches (keyed by law_key) handed the new class the old class's compiled model,
    so the second fit drew the first's posterior exactly."""
    from bayeslaws.laws.chinchilla import Chinchilla
    from bayeslaws.laws.contract import law_key

    def defined(shift: float):
        scope = {"Chinchilla": Chinchilla}
        exec(CELL.format(shift=shift), scope)
        return scope["MyLaw"]()

    assert law_key(defined(0.0)) != law_key(defined(1.0))
    assert law_key(defined(0.0)) == law_key(defined(0.0))  # the same code: the same law
    N, D = chinchilla_design(3, 3)
    runs = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=0)
    tiny = dict(chains=1, warmup=100, draws=100, warn=False, screen="off")
    E = [float(bl.fit(runs, defined(s), **tiny).idata.posterior["E"].median()) for s in (0, 1)]
    assert E[1] < E[0] - 0.5  # ln loss shifted by +1: the fitted E falls by far


def test_resolve_group_names_the_groups_of_a_fit_of_one_group():
    """A fit of one group (every run group='web') asked for group='code' said it was fitted
    without groups; it now names its groups, as a fit of several does. A fit without groups
    keeps its message; None and a fitted label resolve as before."""
    from bayeslaws.laws.contract import resolve_group

    with pytest.raises(ValueError, match=r"group='code' is not one of the fit's groups \['web'\]"):
        resolve_group(["web"], "code")
    assert resolve_group(["web"], "web") == 0 and resolve_group(["web"], None) == 0
    with pytest.raises(ValueError, match=r"group='code': this fit was fitted without groups"):
        resolve_group((None,), "code")
    assert resolve_group((None,), None) == 0
    with pytest.raises(ValueError, match=r"group='C' is not one of the fit's groups \['A', 'B'\]"):
        resolve_group(["A", "B"], "C")
    assert resolve_group(["A", "B"], "B") == 1 and resolve_group(["A", "B"], None) is None


def test_a_group_given_as_a_float_or_its_text_names_the_integer_group():
    """load_runs reads a group column of 1, 1.0 and "1" as the one group "1", but predict
    refused group=1.0 ("must be one group label (a string), got float") and the command line's
    --group 1.0 ("not one of the fit's groups")."""
    from bayeslaws.laws.contract import resolve_group

    groups = ("1", "2", "web")
    assert [resolve_group(groups, g) for g in (1, 1.0, np.float64(2.0), "1.0", "2", "web")] == [
        0, 0, 1, 0, 1, 2
    ]
    assert resolve_group(groups, None) is None  # a new group
    for bad in (2.5, float("nan"), "1.5", "Web"):
        with pytest.raises(ValueError, match="is not one of the fit's groups"):
            resolve_group(groups, bad)
    with pytest.raises(TypeError, match="one group label"):
        resolve_group(groups, [1])
