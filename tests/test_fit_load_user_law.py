"""Loading a fit whose user law changed or is absent (review 10, the reviewer's reproductions in
RO/: v1/mylaw.py, v2/mylaw.py, fit_v1.py):

* a user law whose module was edited since the fit to rename a parameter ('e' -> 'e0') loaded
  with a LawChangedWarning, and its first prediction died with a bare KeyError: 'e0'; a record
  naming another law (kaplan on a Chinchilla-form fit's draws) did the same. ``load_fit`` now
  refuses such a file with IncompatibleFitFile naming the missing site(s), the law and the
  remedy; a changed law whose parameters the draws all hold still loads, with the warning;
* a fit of a user law loaded where its module cannot be imported: ``repr(fit)`` and
  ``fit.label`` raised ValueError "cannot import law"; they fall back to the recorded law
  reference now, while what needs the law still raises that clear error.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
import warnings
from dataclasses import replace

import numpy as np
import pytest
from conftest import TRUTH, chinchilla_design

import bayeslaws as bl
from bayeslaws.inference import IncompatibleFitFile, SamplerWarning
from bayeslaws.inference.fit import Fit, LawChangedWarning
from bayeslaws.runs import simulate

MODULE = "review10_user_law"  # a module name no other test uses
REF = f"{MODULE}:MyLaw"
SAMPLER = dict(chains=1, warmup=50, draws=50, warn=False, screen="off", seed=1)

V1 = """
    from bayeslaws.laws.chinchilla import Chinchilla


    class MyLaw(Chinchilla):
        name = "review10_mylaw"
"""

# v1 edited: the floor's parameter renamed 'e' -> 'e0' (the reviewer's v2/mylaw.py)
V2_RENAMED = """
    import jax.numpy as jnp

    from bayeslaws.laws.chinchilla import Chinchilla


    class MyLaw(Chinchilla):
        name = "review10_mylaw"
        parameters = ("alpha", "beta", "a", "b", "e0")
        pooled = ("alpha", "beta", "a", "b", "e0")

        def default_priors(self):
            priors = super().default_priors()
            priors["e0"] = priors.pop("e")
            return priors

        def log_loss(self, theta, x, y, scales):
            size_term = theta["a"] - theta["alpha"] * x
            data_term = theta["b"] - theta["beta"] * y
            return jnp.logaddexp(jnp.logaddexp(size_term, data_term), theta["e0"])

        def derived(self, theta, scales):
            return super().derived({**theta, "e": theta["e0"]}, scales)

        def recentred_parameters(self, theta, old, new):
            return None
"""

# v1 edited without touching its parameters (a description added)
V1_EDITED = """
    from bayeslaws.laws.chinchilla import Chinchilla


    class MyLaw(Chinchilla):
        name = "review10_mylaw"
        description = "Chinchilla's form, a user's copy (edited since the fit)"
"""


def _install(folder, source: str, monkeypatch) -> None:
    """``source`` as module MODULE in ``folder``, which goes first on sys.path, in place of any
    version of MODULE imported before (the next import reads this one)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{MODULE}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    importlib.invalidate_caches()


def _forget_module(monkeypatch) -> None:
    """MODULE no longer imported (the next use of it imports it again, if it can)."""
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    importlib.invalidate_caches()


@pytest.fixture(scope="module")
def saved_v1(tmp_path_factory):
    """A fit of MyLaw v1 (SIMULATED Chinchilla runs, 20 of them) saved to a file; MODULE is
    neither imported nor importable afterwards."""
    folder = tmp_path_factory.mktemp("review10_v1")
    (folder / f"{MODULE}.py").write_text(textwrap.dedent(V1))
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    try:
        module = importlib.import_module(MODULE)
        N, D = chinchilla_design(5, 4)
        df = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.02, seed=3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = bl.fit(df, module.MyLaw(), likelihood="gaussian", **SAMPLER)
        assert fit.record.law == REF
        path = fit.save(folder / "v1.nc")
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(MODULE, None)
        importlib.invalidate_caches()
    return path


def _load(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplerWarning)  # one chain of 50 draws
        return bl.load_fit(path)


def test_a_user_law_with_a_renamed_parameter_refuses_the_saved_fit(
    saved_v1, tmp_path, monkeypatch
):
    """The reviewer's case: loaded with a warning, then bl.predict raised KeyError: 'e0'."""
    _install(tmp_path / "v2", V2_RENAMED, monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LawChangedWarning)  # said too, before the refusal
        with pytest.raises(IncompatibleFitFile) as refused:
            _load(saved_v1)
    message = str(refused.value)
    assert "lack the law's parameter site(s) ['e0']" in message, message
    assert REF in message and "'review10_mylaw'" in message
    assert "Refit, or restore the law's code the fit was made with" in message


def test_a_record_naming_another_law_than_its_draws_is_refused(saved_v1, tmp_path):
    """A record edited to name kaplan on draws of Chinchilla's form (saved with a valid
    checksum): predictions died with a bare KeyError on kaplan's first parameter."""
    fit = Fit(  # the saved draws and record, without rebuilding the user law
        _load_idata(saved_v1),
        replace(_load_record(saved_v1), law="kaplan", law_options={}),
    )
    edited = fit.save(tmp_path / "edited.nc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LawChangedWarning)
        with pytest.raises(IncompatibleFitFile) as refused:
            _load(edited)
    message = str(refused.value)
    assert "law 'kaplan'" in message and "parameter site(s) ['alpha_N'" in message, message
    assert "the fit's record names another law" in message


def test_a_changed_user_law_with_the_same_parameters_loads_with_the_warning(
    saved_v1, tmp_path, monkeypatch
):
    """Only missing sites refuse a file: a law edited otherwise loads and predicts, warned."""
    _install(tmp_path / "edited", V1_EDITED, monkeypatch)
    with pytest.warns(LawChangedWarning, match="other code of law"):
        loaded = _load(saved_v1)
    predicted = bl.predict(loaded, N=[1e9], D=[2e10])
    assert np.isfinite(predicted["median"]).all()


def test_the_same_user_law_loads_silently(saved_v1, tmp_path, monkeypatch):
    _install(tmp_path / "same", V1, monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LawChangedWarning)
        loaded = _load(saved_v1)
    assert repr(loaded).startswith("<Fit review10_mylaw/gaussian (SIMULATED data): 20 runs")
    assert np.isfinite(bl.predict(loaded, N=[1e9], D=[2e10])["median"]).all()


def test_repr_and_label_of_a_fit_whose_user_law_cannot_be_imported(saved_v1, monkeypatch):
    """repr(fit) raised ValueError "cannot import law ..." (a notebook shows it on its own);
    it names the recorded reference now, and what needs the law still says why it cannot."""
    _forget_module(monkeypatch)
    loaded = _load(saved_v1)
    assert loaded.label == f"{REF}/gaussian"
    assert repr(loaded).startswith(f"<Fit {REF}/gaussian (SIMULATED data): 20 runs, 50 draws")
    with pytest.raises(ValueError, match=rf"cannot import law '{REF}'.*make module"):
        _ = loaded.law
    with pytest.raises(ValueError, match=rf"cannot import law '{REF}'"):
        bl.predict(loaded, N=[1e9], D=[2e10])


def _load_idata(path):
    """The file's InferenceData as saved (its record attributes dropped: Fit.save writes them)."""
    from bayeslaws.inference.deferred import arviz

    idata = arviz().from_netcdf(str(path), engine="h5netcdf")
    idata.load()
    for key in ("bayeslaws_record", "bayeslaws_cache", "bayeslaws_checksum"):
        idata.posterior.attrs.pop(key, None)
    return idata


def _load_record(path):
    """The file's FitRecord as saved."""
    from bayeslaws.inference.deferred import arviz
    from bayeslaws.inference.record import FitRecord

    idata = arviz().from_netcdf(str(path), engine="h5netcdf")
    return FitRecord.from_json(idata.posterior.attrs["bayeslaws_record"], repr(str(path)))
