"""A user's own law, as the README's "Your own law" section has one written: recorded by import
path so that a saved fit loads in another process; a built-in's name not silently taken; a law
defined in a script (``__main__``) warned about at save, with the remedy at load; mistakes in
its definition named before sampling; and the PSIS-LOO reliability of stacked forms kept and
warned, not hidden."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from dataclasses import replace
from pathlib import Path

import arviz as az
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from conftest import TRUTH, chinchilla_design

import bayeslaws as bl
from bayeslaws.inference import nuts
from bayeslaws.inference.fit import Fit
from bayeslaws.laws import LAWS, law_ref, register, resolve_law
from bayeslaws.laws.surface import LossSurfaceLaw
from bayeslaws.posterior.extrapolation import forms, stacking
from bayeslaws.runs import simulate

REPO = Path(__file__).resolve().parents[1]
MODULE = "fe_user_laws"  # the user's own module (mylaws.py), written to a temporary folder
USER_LAWS = '''
    import jax.numpy as jnp
    import numpyro.distributions as dist

    from bayeslaws.laws.chinchilla import Chinchilla
    from bayeslaws.laws.surface import LossSurfaceLaw


    class SharedExponent(LossSurfaceLaw):
        """L = E + A/N^alpha + B/D^alpha (one exponent)."""

        name = "fe_shared_exponent"
        parameters = ("alpha", "a", "b", "e")

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


    class Scaled(SharedExponent):
        """k x the shared-exponent law: an option its __init__ requires (no default)."""

        name = "fe_scaled"

        def __init__(self, k):
            self.k = float(k)

        @property
        def options(self):
            return {"k": self.k}

        def log_loss(self, theta, x, y, scales):
            return super().log_loss(theta, x, y, scales) + jnp.log(self.k)


    class ShiftedChinchilla(Chinchilla):
        """1.5 x Chinchilla's loss, under the built-in's name."""

        name = "chinchilla"

        def log_loss(self, theta, x, y, scales):
            return super().log_loss(theta, x, y, scales) + jnp.log(1.5)
'''
TINY = {"chains": 1, "warmup": 100, "draws": 100, "seed": 0, "warn": False, "screen": "off"}
QUERY = {"N": [1e9, 7e10], "D": [2e10, 1.4e12]}


@pytest.fixture(scope="module")
def user_module(tmp_path_factory):
    """The user's module ``fe_user_laws`` (importable here; its folder returned)."""
    folder = tmp_path_factory.mktemp("user_laws")
    (folder / f"{MODULE}.py").write_text(textwrap.dedent(USER_LAWS))
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(folder))
        module = __import__(MODULE)
        yield module, folder


@pytest.fixture
def registry():
    """The law registry, restored after the test (a test may register or replace laws)."""
    kept = dict(LAWS)
    yield LAWS
    LAWS.clear()
    LAWS.update(kept)


@pytest.fixture(scope="module")
def runs():
    N, D = chinchilla_design(5, 4)
    df = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=2)
    return bl.load_runs(df)


@pytest.fixture(scope="module")
def user_fit(user_module, runs):
    """A tiny fit of the user's law, fitted by its registered name (the registry restored)."""
    module, _ = user_module
    kept = dict(LAWS)
    try:
        register(module.SharedExponent())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = bl.fit(runs, "fe_shared_exponent", **TINY)
    finally:
        LAWS.clear()
        LAWS.update(kept)
    return fit


# ---- item 1: recorded by import path; a built-in name not silently taken -----------------------
def test_a_registered_user_law_is_recorded_by_import_path(user_module, registry):
    """A registry name lives in one process: a registered user law is recorded as
    ``module:ClassName``; built-in laws keep their bare names (saved fits unchanged)."""
    module, _ = user_module
    law = register(module.SharedExponent())
    assert law_ref(law) == f"{MODULE}:SharedExponent"
    assert type(resolve_law(law_ref(law))) is module.SharedExponent
    for name, builtin in kept_builtins(registry).items():
        assert law_ref(builtin) == name


def test_a_user_law_whose_init_takes_options_is_rebuilt_from_them(user_module, runs, registry):
    """A registered user law whose __init__ requires an option fitted, then every use of the fit
    (fit.law, predict, loading) built the class with no arguments: TypeError. It is rebuilt
    from the options the fit records."""
    module, _ = user_module
    register(module.Scaled(k=2.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bl.fit(runs, "fe_scaled", **TINY)
    assert (fit.record.law, fit.record.law_options) == (f"{MODULE}:Scaled", {"k": 2.0})
    fit._law = None  # as a loaded fit: rebuilt from the record
    assert fit.law == module.Scaled(k=2.0)
    assert np.isfinite(bl.predict(fit, **QUERY)["median"]).all()
    with pytest.raises(TypeError, match=r"cannot build law .*Scaled' from options \{\}"):
        resolve_law(f"{MODULE}:Scaled")
    # fitted by its import path with the option it needs (as a FitTask in a worker does)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_path = bl.fit(runs, f"{MODULE}:Scaled", k=3.0, **TINY)
    assert by_path.law == module.Scaled(k=3.0)


def kept_builtins(laws: dict) -> dict:
    return {n: law for n, law in laws.items() if type(law).__module__.startswith("bayeslaws.")}


def test_a_saved_fit_of_a_registered_user_law_loads_in_a_new_process(
    user_fit, user_module, tmp_path
):
    """The reviewer's repro: a fit of a registered user law, saved, failed in a new process
    ("unknown law 'chinchilla_cross'"). Loaded there (the user's module importable, nothing
    registered), it predicts what it predicted here."""
    _, folder = user_module
    path = user_fit.save(tmp_path / "fit.nc")
    here = bl.predict(user_fit, **QUERY)["median"].to_numpy()
    script = (
        "import json, bayeslaws as bl\n"
        f"fit = bl.load_fit({str(path)!r})\n"
        f"print(json.dumps(bl.predict(fit, N={QUERY['N']}, D={QUERY['D']})['median'].tolist()))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(REPO)])}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    there = np.array(json.loads(done.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(there, here, rtol=1e-6)
    assert user_fit.record.law == f"{MODULE}:SharedExponent"


def test_register_refuses_a_built_in_name_unless_replace(user_module, registry):
    """A user law named "chinchilla" silently replaced the built-in, and its fits reloaded
    elsewhere as the built-in (1.5x off). Now refused; with ``replace=True`` its fits record
    the user's class, which another registry rebuilds as itself."""
    module, _ = user_module
    builtin = registry["chinchilla"]
    with pytest.raises(ValueError, match=r"'chinchilla' is taken by bayeslaws\.laws\.chinchilla"):
        register(module.ShiftedChinchilla())
    assert registry["chinchilla"] is builtin
    shifted = register(module.ShiftedChinchilla(), replace=True)
    ref = law_ref(shifted)
    assert ref == f"{MODULE}:ShiftedChinchilla"
    registry["chinchilla"] = builtin  # another process: the built-in under its name
    assert type(resolve_law(ref)) is module.ShiftedChinchilla
    assert law_ref(builtin) == "chinchilla"
    register(type(builtin)())  # the same class again: no refusal


def test_a_law_class_defined_in_a_function_resolves_through_the_registry(registry):
    """A registered law whose class cannot be imported (defined in a function) is still rebuilt
    in this process, from the registry, by its import path."""

    class Local(LossSurfaceLaw):
        name = "fe_local"
        parameters = ("alpha", "a", "e")

        def default_priors(self):
            return {"alpha": dist.Beta(2.0, 3.0), "a": dist.Normal(), "e": dist.Normal()}

        def log_loss(self, theta, x, y, scales):
            return jnp.logaddexp(theta["a"] - theta["alpha"] * x, theta["e"])

    law = register(Local())
    assert "<locals>" in law_ref(law)
    assert resolve_law(law_ref(law)) is law


# ---- item 2: a law defined in __main__ ---------------------------------------------------------
def test_saving_a_law_of_main_warns_and_loading_says_the_remedy(user_fit, tmp_path):
    """A law defined in a script or notebook (module __main__) saved silently and then failed
    elsewhere with "cannot import law '__main__:MyChin'". Saving now warns, and the load error
    says what to do."""
    from bayeslaws.inference.fit import UnportableLawWarning

    record = replace(user_fit.record, law="__main__:FeNotebookLaw")
    in_main = Fit(user_fit.idata, record, cache=json.loads(user_fit.cache.to_json()))
    with pytest.warns(UnportableLawWarning, match=r"'__main__:FeNotebookLaw'.*another process"):
        path = in_main.save(tmp_path / "main.nc")
    loaded = bl.load_fit(path)
    with pytest.raises(ValueError, match=r"define the class FeNotebookLaw .* before loading"):
        loaded.law  # noqa: B018 -- resolving the law is what fails


def test_saving_an_importable_user_law_does_not_warn(user_fit, tmp_path):
    from bayeslaws.inference.fit import UnportableLawWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", UnportableLawWarning)
        user_fit.save(tmp_path / "ok.nc")


# ---- item 4: mistakes in a law's definition ----------------------------------------------------
PRIORS = {"alpha": dist.Beta(2.0, 3.0), "a": dist.Normal(-2.0, 2.0), "e": dist.Normal(-0.5, 1.0)}


def _power(self, theta, x, y, scales):
    return jnp.logaddexp(theta["a"] - theta["alpha"] * x, theta["e"])


def _law(name, **attributes):
    body = {
        "name": name,
        "parameters": ("alpha", "a", "e"),
        "log_loss": _power,
        "default_priors": lambda self: PRIORS,
        **attributes,
    }
    return type(name.title(), (LossSurfaceLaw,), body)()


MISTAKES = {
    "a parameter without a prior": (
        _law("fe_miss_prior", parameters=("alpha", "a", "e", "g")),
        r"law 'fe_miss_prior' .*parameter\(s\) \['g'\] without a prior: add it to "
        r"default_priors\(\)",
    ),
    "no parameters": (
        _law("fe_no_params", parameters=()),
        r"law 'fe_no_params' .*declares no parameters: set the class attribute `parameters`",
    ),
    "no log_loss": (
        _law("fe_no_log_loss", log_loss=LossSurfaceLaw.log_loss),
        r"law 'fe_no_log_loss' .*does not define log_loss\(self, theta, x, y, scales\)",
    ),
    "log_loss reads an undeclared name": (
        _law("fe_bad_key", log_loss=lambda self, th, x, y, s: th["A"] - th["alpha"] * x),
        r"law 'fe_bad_key' .*log_loss reads theta\['A'\], which is not among its `parameters`",
    ),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_a_mistake_in_a_law_is_named_before_sampling(mistake, runs, monkeypatch, registry):
    """Each gave a bare KeyError ('g', or one inside log_loss) or an empty NotImplementedError
    while sampling; now a TypeError naming the law and what to add, before sampling, and at
    registration."""
    law, message = MISTAKES[mistake]

    def no_sampling(*args, **kwargs):
        raise AssertionError("sampled a law whose definition is incomplete")

    monkeypatch.setattr(nuts, "_cached_mcmc", no_sampling)
    with pytest.raises(TypeError, match=message):
        bl.fit(runs, law, chains=1, warmup=10, draws=10, warn=False, screen="off")
    with pytest.raises(TypeError, match=message):
        register(law)
    assert law.name not in registry


# ---- item 3: PSIS-LOO reliability of the stacked forms -------------------------------------------
def _idata(log_lik: np.ndarray):
    """InferenceData with pointwise log-likelihood (draws, runs) of one chain."""
    return az.from_dict(
        posterior={"mu": np.zeros((1, log_lik.shape[0]))},
        log_likelihood={"log_loss": log_lik[None]},
    )


def test_stacking_table_keeps_each_forms_pareto_k_and_warns_once_naming_them():
    """A form with one run its posterior leans on (heavy-tailed log-likelihood draws there) has
    a Pareto k far above 0.7: kept per form, warned once naming it; weights as az.compare's."""
    rng = np.random.default_rng(0)
    good = rng.normal(-1.0, 0.05, (400, 20))
    bad = good.copy()
    bad[:, 0] = -1.0 - rng.pareto(0.6, 400)  # one run: a tail that PSIS cannot smooth
    idatas = {"good": _idata(good), "bad": _idata(bad)}
    table, reliability = stacking.stacking_table(idatas)
    assert reliability["bad"]["max_pareto_k"] > 0.7 >= reliability["good"]["max_pareto_k"]
    assert reliability["bad"]["n_runs_above"] == 1 and reliability["good"]["n_runs_above"] == 0
    assert reliability["bad"]["arviz_warning"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = az.compare(idatas, ic="loo", method="stacking")
    for k in idatas:
        assert table.loc[k, "weight"] == pytest.approx(direct.loc[k, "weight"], abs=1e-12)
    weights = {k: float(table.loc[k, "weight"]) for k in idatas}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stacking.warn_unreliable_loo("stacking", reliability, weights)
    assert len(caught) == 1 and caught[0].category is stacking.UnreliableLooWarning
    assert "'bad' (max k" in str(caught[0].message) and "'good' (" not in str(caught[0].message)


def test_form_averaging_records_pareto_k_and_warns(user_fit, monkeypatch):
    """``forms.average`` hid ArviZ's Pareto-k warnings under simplefilter("ignore") and kept
    nothing of them. Now every form's max k is in the state, and (the bound lowered so that
    this tiny fit crosses it for sure) one warning names the forms; the weights sum to one."""
    monkeypatch.setattr(stacking, "PARETO_K_MAX", -1.0)
    monkeypatch.setattr(stacking, "MAX_R_HAT", np.inf)  # a tiny chain's R-hat: not the point here
    monkeypatch.setattr(stacking, "MAX_DIVERGENT", 1.0)
    fit = Fit(user_fit.idata, user_fit.record, cache={})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = forms.average(fit, forms=("chinchilla",), chains=1, warmup=100, draws=100)
    own = f"{MODULE}:SharedExponent"
    assert state["forms"] == [own, "chinchilla"]
    assert set(state["loo_reliability"]) == {own, "chinchilla"}
    assert all(np.isfinite(r["max_pareto_k"]) for r in state["loo_reliability"].values())
    loo = [w for w in caught if w.category is stacking.UnreliableLooWarning]
    assert len(loo) == 1 and f"'{own}' (max k" in str(loo[0].message)
    assert "'chinchilla' (max k" in str(loo[0].message)
    assert sum(state["weights"].values()) == pytest.approx(1.0)
    assert fit.cache[forms.CACHE_KEY]["loo_reliability"] == state["loo_reliability"]


def test_a_forms_state_keyed_by_the_old_registry_name_still_predicts(user_fit, monkeypatch):
    """A fit saved before user laws were recorded by import path keys its own form by its
    registry name ("shared_exponent"); ``law_ref`` now gives ``module:Class``, and
    ``predict(extrapolation="model")`` looked that up among the stored other forms: KeyError.
    The own form is the one with no stored posterior, whatever its key."""
    monkeypatch.setattr(stacking, "MAX_R_HAT", np.inf)
    monkeypatch.setattr(stacking, "MAX_DIVERGENT", 1.0)
    fit = Fit(user_fit.idata, user_fit.record, cache={})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state = forms.average(fit, forms=("chinchilla",), chains=1, warmup=100, draws=100)
        fresh = bl.predict(fit, N=2e9, D=4e10, kind="new_run", extrapolation="model")
    own = f"{MODULE}:SharedExponent"
    state["forms"] = ["shared_exponent" if k == own else k for k in state["forms"]]
    state["weights"] = {
        ("shared_exponent" if k == own else k): w for k, w in state["weights"].items()
    }
    old = Fit(user_fit.idata, user_fit.record, cache={forms.CACHE_KEY: state})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = bl.predict(old, N=2e9, D=4e10, kind="new_run", extrapolation="model")
    assert out["median"].iloc[0] == pytest.approx(fresh["median"].iloc[0], rel=1e-9)
    assert stacking.own_key(state, state["forms"]) == "shared_exponent"
