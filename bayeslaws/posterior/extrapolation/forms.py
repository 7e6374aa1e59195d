"""Uncertainty over the functional form: the loss-surface forms ``FORMS`` (Chinchilla,
Chinchilla-gamma, Kaplan and Farseer) fitted to the same training runs and averaged with
Bayesian stacking weights (Yao et al. 2018; PSIS-LOO through :func:`arviz.compare`), part of the
full model (method ``"model"``, :mod:`bayeslaws.posterior.model`).

:func:`average` fits the forms other than the fit's own (same likelihood, default priors, short
chains), drops any form whose fit fails (too few runs for its parameters, R-hat above
``MAX_R_HAT`` (with one chain: its two halves' R-hat) or more than ``MAX_DIVERGENT``
divergent transitions) with a warning that says which and why, computes the weights of the
rest and keeps, in ``fit.cache["forms"]``, the weights, the exclusions, every form's PSIS-LOO
reliability (warned when a Pareto k exceeds 0.7) and every form's posterior draws (JSON), so
that later predictions need no refits. Each draw of the averaged law then comes from one form,
chosen with the weights.
"""

from __future__ import annotations

import warnings

import numpy as np

from ...laws import law_ref, resolve_law
from ...laws.contract import Posterior, Scales
from ...laws.priors import spec_to_priors
from ...runs.warn import user_stacklevel
from . import gp
from .stacking import (
    MAX_DIVERGENT,
    MAX_R_HAT,
    check_forms_comparable,
    fit_form,
    form_failure,
    max_r_hat,  # noqa: F401 (forms.max_r_hat: the R-hat its bar reads)
    stacking_table,
    training_runs_for,
    warn_unreliable_loo,
)

FORMS = ("chinchilla", "chinchilla_gamma", "kaplan", "farseer")
CACHE_KEY = "forms"


def unavailable(fit) -> str | None:
    """Why the forms cannot be averaged for this fit (None when they can)."""
    if (fit.cache.get(CACHE_KEY) or {}).get("forms"):
        return None
    law = fit.law
    if tuple(law.inputs) != ("N", "D") or law.primary != "loss":
        return f"law {law.name!r} is not a loss surface L(N, D)"
    if len(fit.groups) > 1:
        return "the fit has several groups (form averaging is for single-group loss surfaces)"
    if not fit.record.training_runs:
        return "the fit holds no training runs"
    return None


def _failure(f, n_runs: int) -> str | None:
    """Why a form's fit is not used (None: it is): :func:`~.stacking.form_failure` with this
    module's bars ``MAX_R_HAT`` and ``MAX_DIVERGENT``."""
    return form_failure(f, MAX_R_HAT, MAX_DIVERGENT)


def _scalar_draws(fit) -> dict:
    return {k: np.asarray(v, float).tolist() for k, v in fit.draws().items() if np.ndim(v) == 1}


def average(fit, runs=None, *, forms=FORMS, chains=2, warmup=300, draws=300, seed=None) -> dict:
    """Fit the other forms to the fit's training runs (``runs``, when given, must hold them:
    :func:`~.stacking.training_runs_for`), weight them by stacking and
    keep the state in ``fit.cache["forms"]``, with each form's PSIS-LOO reliability
    (``"loo_reliability"``: max Pareto k, runs above ``PARETO_K_MAX``, ArviZ's flag; one
    :class:`~.stacking.UnreliableLooWarning` names the forms above it). Returns the state."""
    runs = training_runs_for(fit, runs, "form averaging")
    seed = fit.record.sampler.seed if seed is None else seed
    own = law_ref(fit.law)
    fits, excluded = {own: fit}, {}
    for name in forms:
        if name in fits:
            continue
        law = resolve_law(name)
        n_params = len(law.default_priors()) + 1
        if len(runs) <= n_params:
            excluded[name] = f"{len(runs)} runs for {n_params} parameters"
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            other = fit_form(fit, runs, law, chains=chains, warmup=warmup, draws=draws, seed=seed)
        reason = _failure(other, len(runs))
        if reason:
            excluded[name] = reason
        else:
            fits[name] = other
    for name, reason in excluded.items():
        warnings.warn(
            f"form averaging: form {name!r} left out ({reason})", UserWarning,
            stacklevel=user_stacklevel(),
        )
    if len(fits) > 1:
        table, reliability = stacking_table(check_forms_comparable(fits, "form averaging"))
        weights = {k: float(table.loc[k, "weight"]) for k in fits}
        elpd = {k: float(table.loc[k, "elpd_loo"]) for k in fits}
        warn_unreliable_loo("form averaging", reliability, weights)
    else:
        weights, elpd, reliability = {own: 1.0}, {}, {}
    state = {
        "forms": list(fits),
        "weights": weights,
        "elpd_loo": elpd,
        "loo_reliability": reliability,
        "excluded": excluded,
        "others": {
            k: {
                "law": f.record.law,
                "law_options": f.record.law_options,
                "likelihood": f.likelihood,
                "priors": f.record.priors,
                "scales": f.record.scales,
                "groups": f.record.groups,
                "law_state": f.record.law_state,
                "posterior": _scalar_draws(f),
            }
            for k, f in fits.items()
            if f is not fit
        },
    }
    fit.cache[CACHE_KEY] = state
    return state


def form_posterior(other: dict, rows: np.ndarray) -> tuple:
    """(law, Posterior) of a stored form, restricted to its draws ``rows``."""
    law = resolve_law(other["law"], other.get("law_options"))
    draws = {k: np.asarray(v, float)[rows] for k, v in other["posterior"].items()}
    post = Posterior(
        draws=draws,
        scales=Scales(other["scales"]),
        groups=tuple(other["groups"]),
        state=other.get("law_state", {}),
        likelihood=other["likelihood"],
        priors=spec_to_priors(other["priors"]),
    )
    return law, post


def form_gp(fit, name: str) -> dict | None:
    """The GP discrepancy of a stored form's training residuals (``fit.cache["gp:<form>"]``)."""
    other = fit.cache[CACHE_KEY]["others"][name]
    n_stored = len(next(iter(other["posterior"].values())))
    law, post = form_posterior(other, np.arange(n_stored))
    return gp.form_state(fit, law, post, f"gp:{name}")


def prepare(fit, runs=None, *, seed=None, **sampler) -> dict | None:
    """Average the forms (if not yet done and if they apply) and fit every form's GP state, so
    that later predictions need no refits. Returns the forms state (None: not applicable)."""
    if unavailable(fit):
        return None
    state = fit.cache.get(CACHE_KEY) or average(fit, runs, seed=seed, **sampler)
    for name in state["others"]:
        form_gp(fit, name)
    return state
