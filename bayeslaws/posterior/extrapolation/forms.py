"""Uncertainty over the functional form: the loss-surface forms ``FORMS`` (Chinchilla,
Chinchilla-gamma, Kaplan and Farseer) fitted to the same training runs and averaged with
Bayesian stacking weights (Yao et al. 2018; PSIS-LOO through :func:`arviz.compare`), part of the
full model (method ``"model"``, :mod:`bayeslaws.posterior.model`).

:func:`average` fits the forms other than the fit's own (same likelihood, default priors, short
chains), drops, with a warning that says which and why, any form that has no more runs than
parameters or whose fit fails (R-hat above ``MAX_R_HAT`` (with one chain: its two halves'
R-hat) or more than ``MAX_DIVERGENT`` divergent transitions: :mod:`.stacking`'s bars),
computes the weights of the rest and keeps, in ``fit.cache["forms"]``, the weights, the
exclusions, every form's PSIS-LOO reliability (warned when a Pareto k exceeds 0.7) and every
form's posterior draws (JSON), so that later predictions need no refits. Each draw of the
averaged law then comes from one form, chosen with the weights. The fitting and weighing is
stacking's (:func:`~.stacking.fit_forms`), with this module's forms and cache key.
"""

from __future__ import annotations

import numpy as np

from . import gp
from .stacking import fit_forms, form_posterior
from .stacking import unavailable as _unavailable

FORMS = ("chinchilla", "chinchilla_gamma", "kaplan", "farseer")
CACHE_KEY = "forms"


def unavailable(fit) -> str | None:
    """Why the forms cannot be averaged for this fit (None when they can):
    :func:`~.stacking.unavailable` under ``fit.cache["forms"]``."""
    return _unavailable(fit, CACHE_KEY, "form averaging")


def average(fit, runs=None, *, forms=FORMS, chains=2, warmup=300, draws=300, seed=None) -> dict:
    """Fit the other forms to the fit's training runs and weigh them by stacking
    (:func:`~.stacking.fit_forms`, the path of :func:`~.stacking.stack`: ``runs``, when given,
    must hold them; a form with no more runs than parameters or whose fit fails its checks is
    left out, with a warning; each form's PSIS-LOO reliability in ``"loo_reliability"``, one
    :class:`~.stacking.UnreliableLooWarning` naming the forms above ``PARETO_K_MAX``), and keep
    the state, with the forms under ``"forms"``, in ``fit.cache["forms"]``. Returns it."""
    state = fit_forms(
        fit, runs, forms, what="form averaging", names_key="forms", call="average",
        chains=chains, warmup=warmup, draws=draws, seed=seed,
    )
    fit.cache[CACHE_KEY] = state
    return state


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
