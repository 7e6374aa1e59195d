"""Stacking (``stack``) and form averaging (``forms.average``) fit and weigh the other forms by
one path (``stacking.fit_forms``). Their copies had drifted: only form averaging skipped a form
with no more runs than parameters (stacking fitted it, though its posterior is its prior), only
stacking explained an exclusion, and form averaging silenced every warning of a form's fit."""

from __future__ import annotations

import warnings

import pytest
from conftest import TRUTH, chinchilla_design

import bayeslaws as bl
from bayeslaws.laws import resolve_law
from bayeslaws.posterior.extrapolation import forms, stacking
from bayeslaws.runs import simulate

N_RUNS = 7


@pytest.fixture(scope="module")
def few_fit():
    """Chinchilla fitted to ``N_RUNS`` runs: no more than chinchilla_gamma's parameters."""
    N, D = chinchilla_design(4, 2)
    df = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=0)
    return bl.fit(df.iloc[:N_RUNS], "chinchilla", chains=1, warmup=50, draws=50, seed=0,
                  warn=False, screen="off")


def _no_fit(*args, **kwargs):
    pytest.fail("a form with no more runs than parameters was fitted")


def _left_out(call, *args, **kwargs):
    """(state, the 'left out' warnings' texts) of ``call``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = call(*args, **kwargs)
    return state, [str(w.message) for w in caught if "left out" in str(w.message)]


def test_both_paths_skip_a_form_with_too_few_runs_alike(few_fit, monkeypatch):
    monkeypatch.setattr(stacking, "fit_form", _no_fit)
    n_params = len(resolve_law("chinchilla_gamma").default_priors()) + 1
    assert N_RUNS <= n_params  # the premise: chinchilla_gamma has too few runs
    names = ("chinchilla", "chinchilla_gamma")
    stacked, said_stacked = _left_out(stacking.stack, few_fit, laws=names, chains=1)
    averaged, said_averaged = _left_out(forms.average, few_fit, forms=names, chains=1)
    reason = f"{N_RUNS} runs for {n_params} parameters"
    assert stacked["excluded"] == averaged["excluded"] == {"chinchilla_gamma": reason}
    assert stacked["laws"] == averaged["forms"] == ["chinchilla"]
    assert stacked["weights"] == averaged["weights"] == {"chinchilla": 1.0}
    assert len(said_stacked) == len(said_averaged) == 1
    assert said_stacked[0].startswith("stacking: form 'chinchilla_gamma' left out")
    assert said_averaged[0].startswith("form averaging: form 'chinchilla_gamma' left out")
    assert reason in said_stacked[0] and "posterior is its prior" in said_stacked[0]
    # the same explanation, but for the caller's name
    tail = said_stacked[0].removeprefix("stacking")
    assert said_averaged[0].removeprefix("form averaging") == tail


def test_form_averaging_keeps_a_form_fits_warnings_and_explains_its_exclusion(
    few_fit, monkeypatch
):
    """A form's fit is judged by form_failure (its sampler warnings off), and any other warning
    of that fit reaches the user under both paths: form averaging silenced them."""

    def warning_fit(*args, **kwargs):
        warnings.warn("a warning of the form's fit", UserWarning, stacklevel=2)
        return few_fit

    monkeypatch.setattr(stacking, "fit_form", warning_fit)
    monkeypatch.setattr(stacking, "form_failure", lambda f: "did not converge (stand-in)")
    monkeypatch.setattr(stacking, "form_figures", lambda f: "figures")
    said = {}
    for call, key in ((stacking.stack, "laws"), (forms.average, "forms")):
        names = {key: ("chinchilla", "kaplan")}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            state = call(few_fit, chains=1, warmup=20, draws=20, **names)
        texts = [str(w.message) for w in caught]
        assert "a warning of the form's fit" in texts, call.__name__
        assert state[key] == ["chinchilla"]
        assert state["excluded"] == {"kaplan": "did not converge (stand-in); figures"}
        said[key] = [t for t in texts if "left out" in t]
    assert len(said["forms"]) == 1 and "did not pass the convergence checks" in said["forms"][0]
    assert said["forms"][0].startswith("form averaging: form 'kaplan' left out")
