"""A user's law changed between fits in one process (a notebook): a module constant its code
reads, a class attribute, a class redefined under the same name or two classes made by one
factory are other laws to the compiled-code caches and to ``Fit.law``, never silently the old
one (the reviewer's reproductions, RF_cache)."""

from __future__ import annotations

import importlib
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.inference.fit import Fit, LawChangedWarning
from bayeslaws.inference.record import IncompatibleFitFile
from bayeslaws.laws import LAWS, register
from bayeslaws.laws.contract import law_key

SAMPLER = dict(chains=1, warmup=100, draws=100, warn=False, screen="off", progress_bar=False)
USER_MODULE = "f13_user_law"
USER_LAW = '''
    import jax.numpy as jnp
    import numpyro.distributions as dist

    from bayeslaws.laws.surface import LossSurfaceLaw

    BETA = 0.28  # a module constant (a notebook's constants cell)


    def _priors():
        return {"alpha": dist.Beta(2.0, 3.0), "a": dist.Normal(-2.0, 2.0),
                "b": dist.Normal(-2.0, 2.0), "e": dist.Normal(-0.5, 1.0)}


    def _chinchilla(theta, x, y, beta):
        """ln(E + A/N^alpha + B/D^beta) at centred ln N (x), ln D (y)."""
        data_term = theta["b"] - beta * y
        return jnp.logaddexp(jnp.logaddexp(theta["a"] - theta["alpha"] * x, data_term), theta["e"])


    class GlobalBeta(LossSurfaceLaw):
        """L = E + A/N^alpha + B/D^BETA, BETA a module constant."""

        name = "f13_global_beta"
        parameters = ("alpha", "a", "b", "e")

        def default_priors(self):
            return _priors()

        def log_loss(self, theta, x, y, scales):
            return _chinchilla(theta, x, y, BETA)


    class AttributeBeta(LossSurfaceLaw):
        """L = E + A/N^alpha + B/D^beta_fixed, beta_fixed a class attribute."""

        name = "f13_attribute_beta"
        parameters = ("alpha", "a", "b", "e")
        beta_fixed = 0.28

        def default_priors(self):
            return _priors()

        def log_loss(self, theta, x, y, scales):
            return _chinchilla(theta, x, y, self.beta_fixed)


    def make_law(beta, name):
        """Laws of one factory: every class is make_law.<locals>.Fixed."""

        class Fixed(LossSurfaceLaw):
            parameters = ("alpha", "a", "b", "e")

            def default_priors(self):
                return _priors()

            def log_loss(self, theta, x, y, scales):
                return _chinchilla(theta, x, y, beta)

        Fixed.name = name
        return Fixed()
'''
# the same class name, another form (no data term): a notebook cell edited and run again
REDEFINED = """
class GlobalBeta(LossSurfaceLaw):
    name = "f13_global_beta"
    parameters = ("alpha", "a", "b", "e")

    def default_priors(self):
        return _priors()

    def log_loss(self, theta, x, y, scales):
        return jnp.logaddexp(theta["a"] - theta["alpha"] * x, theta["e"]) + 0.0 * theta["b"]
"""

# the same class with its exponent renamed: the fit's draws hold no "gamma"
RENAMED = REDEFINED.replace('("alpha", ', '("gamma", ').replace('theta["alpha"]', 'theta["gamma"]')
RENAMED = RENAMED.replace("return _priors()", 'return {"gamma" if k == "alpha" else k: v '
                          "for k, v in _priors().items()}")


@pytest.fixture
def user(tmp_path, monkeypatch):
    """The user's law module, imported afresh from a temporary folder (its constants reset)."""
    (tmp_path / f"{USER_MODULE}.py").write_text(textwrap.dedent(USER_LAW))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, USER_MODULE, raising=False)
    module = importlib.import_module(USER_MODULE)
    yield module
    sys.modules.pop(USER_MODULE, None)


def simulated_runs(n: int = 16) -> pd.DataFrame:
    """SIMULATED runs: a Chinchilla-like surface with 1% noise."""
    rng = np.random.default_rng(0)
    N, D = 10 ** rng.uniform(7, 9, n), 10 ** rng.uniform(9, 11, n)
    loss = (1.8 + 400 * N**-0.34 + 400 * D**-0.28) * np.exp(rng.normal(0, 0.01, n))
    return pd.DataFrame({"N": N, "D": D, "loss": loss})


def predicted_median(fit) -> float:
    return float(bl.predict(fit, N=1e10, D=1e12, kind="mean")["median"].iloc[0])


def test_a_module_constant_changed_in_place_is_another_law(user):
    """Refit after ``BETA`` changed: a new kernel, not the one compiled with the old BETA (it
    gave the same draws and log-likelihood as the first fit)."""
    runs = simulated_runs()
    key_before = law_key(user.GlobalBeta())
    first = bl.fit(runs, law=user.GlobalBeta(), seed=3, **SAMPLER)
    user.BETA = 0.1
    second = bl.fit(runs, law=user.GlobalBeta(), seed=3, **SAMPLER)
    first_ll = first.idata.log_likelihood["log_loss"].values
    second_ll = second.idata.log_likelihood["log_loss"].values
    assert not np.allclose(first_ll, second_ll)
    assert not np.allclose(first.idata.posterior["b"].values, second.idata.posterior["b"].values)
    assert law_key(user.GlobalBeta()) != key_before


def test_predictions_follow_a_class_attribute_changed_in_place(user):
    """The compiled prediction of a law is keyed by its code and attributes, not by its class
    and options: the same draws predict another loss once ``beta_fixed`` changed."""
    fit = bl.fit(simulated_runs(), law=user.AttributeBeta(), seed=3, **SAMPLER)
    before = predicted_median(fit)
    user.AttributeBeta.beta_fixed = 0.1
    after = predicted_median(fit)
    # D = 1e12 is 1e2.5 above the runs' centre: B/D^beta moves by orders of magnitude
    assert abs(after - before) > 0.01 * before


def test_a_class_redefined_after_the_fit_is_not_used_silently(user):
    """A later cell redefines the class under the same name: the fit's law then warns (naming
    the law and the remedy) instead of predicting with the new form."""
    made = bl.fit(simulated_runs(), law=user.GlobalBeta(), seed=3, **SAMPLER)
    fit = Fit(made.idata, made.record)  # not yet asked for its law
    exec(REDEFINED, vars(user))
    with pytest.warns(LawChangedWarning, match=r"GlobalBeta.*Refit .*or restore the class"):
        assert type(fit.law) is user.GlobalBeta


def test_a_redefined_class_that_renames_a_parameter_is_refused_by_name(user):
    """A later cell renames alpha to gamma: the fit made before refuses to predict, naming the
    missing site (it died with a bare KeyError: 'gamma' at its first prediction), as a loaded
    file does."""
    made = bl.fit(simulated_runs(), law=user.GlobalBeta(), seed=3, **SAMPLER)
    exec(RENAMED, vars(user))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LawChangedWarning)  # said too, before the refusal
        missing = r"this fit .*lack the law's parameter site\(s\) \['gamma'\]"
        with pytest.raises(IncompatibleFitFile, match=missing):
            bl.predict(made, N=1e10, D=1e12)


def test_two_laws_of_one_factory_are_told_apart(user):
    """Both classes have the import path make_law.<locals>.Fixed: the fit of the second uses
    the second, not the first registered."""
    first = register(user.make_law(0.28, "f13_fixed_028"))
    second = register(user.make_law(0.10, "f13_fixed_010"))
    try:
        made = bl.fit(simulated_runs(), law="f13_fixed_010", seed=3, **SAMPLER)
        fit = Fit(made.idata, made.record)  # its law resolved from the record
        with warnings.catch_warnings():
            warnings.simplefilter("error", LawChangedWarning)
            assert type(fit.law) is type(second)
        assert type(fit.law) is not type(first)
    finally:
        LAWS.pop("f13_fixed_028", None)
        LAWS.pop("f13_fixed_010", None)
