"""Fitting laws by NUTS (``numpyro.infer.MCMC``), on CPU or accelerator.

Chains run in parallel on CPU host devices (bayeslaws asks for 4 at import, before JAX starts),
are vectorised on a GPU/TPU, and fall back to sequential when neither applies.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections import OrderedDict

import arviz as az
import jax
import numpy as np
from numpyro.infer import MCMC, NUTS, Predictive

from . import __version__
from .diagnostics import check
from .extrapolation import training_data
from .laws import get_law
from .likelihoods import check_family
from .priors import priors_to_spec
from .results import FORMAT_VERSION, Fit
from .runs import as_run_table


def choose_chain_method(chains: int) -> str:
    """'vectorized' on an accelerator, 'parallel' on CPU with enough host devices, else
    'sequential'."""
    if jax.default_backend() != "cpu":
        return "vectorized"
    if chains > 1 and jax.local_device_count() >= chains:
        return "parallel"
    return "sequential"


# Compiled NUTS kernels, reused by fits of the same shape and settings (compilation takes
# seconds; a refit with new data of the same shape then skips it).
_MCMC_CACHE: OrderedDict = OrderedDict()
_MCMC_CACHE_SIZE = 8
STATIC_ARGS = ("n_groups", "priors", "likelihood")


def _cached_mcmc(law, static: dict, data_shapes: tuple, settings: dict) -> MCMC:
    """An MCMC object for this law, static model arguments and settings (compiled once)."""
    key = (
        law.name,
        json.dumps(getattr(law, "options", {}), sort_keys=True, default=str),
        json.dumps(priors_to_spec(static["priors"]), sort_keys=True),
        static["likelihood"],
        static["n_groups"],
        data_shapes,
        tuple(sorted(settings.items())),
    )
    if key in _MCMC_CACHE:
        _MCMC_CACHE.move_to_end(key)
        return _MCMC_CACHE[key]
    model = functools.partial(law.model, **static)
    kernel = NUTS(
        model, target_accept_prob=settings["target_accept"], dense_mass=settings["dense_mass"]
    )
    mcmc = MCMC(
        kernel,
        num_warmup=settings["warmup"],
        num_samples=settings["draws"],
        num_chains=settings["chains"],
        chain_method=settings["chain_method"],
        progress_bar=settings["progress_bar"],
        jit_model_args=True,
    )
    _MCMC_CACHE[key] = mcmc
    while len(_MCMC_CACHE) > _MCMC_CACHE_SIZE:
        _MCMC_CACHE.popitem(last=False)
    return mcmc


def _check_positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def fit(
    runs,
    law: str = "chinchilla",
    *,
    likelihood: str = "huber",
    priors: dict | None = None,
    seed: int = 0,
    chains: int = 4,
    warmup: int = 1000,
    draws: int = 1000,
    target_accept: float = 0.8,
    dense_mass: bool | None = None,
    prior_draws: int = 0,
    progress_bar: bool | None = None,
    chain_method: str | None = None,
    label: str | None = None,
    warn: bool = True,
    method: str = "bayes",
    law_options: dict | None = None,
    **method_options,
):
    """Fit a law to a run table by NUTS.

    Parameters
    ----------
    runs : :class:`~bayeslaws.runs.RunTable` (or a DataFrame/path with canonical columns).
    law : registered law name ("chinchilla", "kaplan", ...; see ``bayeslaws.laws.LAWS``).
    likelihood : "gaussian", "student_t" or "huber" (on log loss).
    priors : overrides of the default priors, name -> numpyro distribution.
    seed : PRNG seed; the same seed gives the same draws.
    chains, warmup, draws : NUTS chains and iterations per chain (defaults 4 x 1000 + 1000).
    target_accept : NUTS target acceptance probability.
    dense_mass : adapt a dense mass matrix (default; the Chinchilla form's log amplitudes are
        strongly correlated: a diagonal one took ~3x more leapfrog steps per draw). None: the
        law's ``default_dense_mass`` if it has one, else True.
    prior_draws : if > 0, also store that many prior (predictive) draws in ``idata.prior``.
    progress_bar : default: shown when stderr is a terminal.
    chain_method : override the automatic choice (see :func:`choose_chain_method`).
    label : a name for the fit (used by :func:`compare`).
    warn : warn on R-hat > 1.01, low ESS or divergences (always recorded in ``fit.diagnostics``).
    method : "bayes" (NUTS) or "two_stage" (the published best-cell + log-log OLS baseline of
        law "hyperparams"; ``method_options`` go to :func:`bayeslaws.two_stage.fit_two_stage`).
    law_options : options of a configurable law (e.g. ``{"divergence": "exclude"}`` for
        "hyperparams"); stored in the fit.
    """
    if method == "two_stage":
        from .two_stage import fit_two_stage

        return fit_two_stage(runs, law=law, label=label, **(law_options or {}), **method_options)
    if method != "bayes" or method_options:
        raise ValueError(
            f"method must be 'bayes' or 'two_stage' (got {method!r}); options "
            f"{sorted(method_options)} are for method='two_stage'"
        )
    runs = as_run_table(runs)
    law_obj = get_law(law)
    if law_options:
        law_obj = law_obj.configure(**law_options)
    if hasattr(law_obj, "preprocess"):  # e.g. recorded exclusions of diverged runs
        runs = law_obj.preprocess(runs)
    if dense_mass is None:
        dense_mass = getattr(law_obj, "default_dense_mass", True)
    check_family(likelihood)
    chains = _check_positive_int("chains", chains)
    warmup = _check_positive_int("warmup", warmup)
    draws = _check_positive_int("draws", draws)
    if not 0 < target_accept < 1:
        raise ValueError(f"target_accept must be in (0, 1), got {target_accept}")
    priors_used = law_obj.priors(likelihood, priors)
    model_args, info = law_obj.prepare(runs)
    static = {"priors": priors_used, "likelihood": likelihood}
    static["n_groups"] = model_args.pop("n_groups", 1)
    data_shapes = tuple((k, getattr(v, "shape", None)) for k, v in sorted(model_args.items()))

    method = chain_method or choose_chain_method(chains)
    if progress_bar is None:
        progress_bar = sys.stderr.isatty()
    settings = {
        "chains": chains,
        "warmup": warmup,
        "draws": draws,
        "target_accept": target_accept,
        "dense_mass": dense_mass,
        "chain_method": method,
        "progress_bar": bool(progress_bar),
    }
    mcmc = _cached_mcmc(law_obj, static, data_shapes, settings)
    rng = jax.random.PRNGKey(seed)
    rng_mcmc, rng_prior = jax.random.split(rng)
    started = time.perf_counter()
    mcmc.run(rng_mcmc, **model_args, extra_fields=("diverging",))
    jax.block_until_ready(mcmc.get_samples())
    sampling_seconds = time.perf_counter() - started

    prior = None
    if prior_draws:
        prior_args = dict(model_args, z_obs=None) if "z_obs" in model_args else model_args
        prior_model = functools.partial(law_obj.model, **static)
        prior = Predictive(prior_model, num_samples=prior_draws)(rng_prior, **prior_args)
    groups = info["groups"]
    coords = {"group": [str(g) for g in groups]} if len(groups) > 1 else None
    dims = law_obj.group_dims() if len(groups) > 1 else None
    idata = az.from_numpyro(mcmc, prior=prior, coords=coords, dims=dims)

    summary_names = law_obj.summary_names(len(groups), likelihood)
    diagnostics = check(idata, [n for n in summary_names if n in idata.posterior], warn=warn)
    spec = {
        "format_version": FORMAT_VERSION,
        "bayeslaws_version": __version__,
        "law": law_obj.name,
        "likelihood": likelihood,
        "priors": priors_to_spec(priors_used),
        **info,
        "summary_names": summary_names
        + [k for k in idata.posterior.data_vars if k[:1].isupper() or k == "a_opt"],
        "compute_model": runs.compute_model.params and runs.compute_model.to_dict(),
        "compute_model_name": runs.compute_model.name,
        "data": runs.record(),
        "sampler": {
            **{k: v for k, v in settings.items() if k != "progress_bar"},
            "seed": seed,
            "backend": jax.default_backend(),
            "sampling_seconds": sampling_seconds,  # mcmc.run wall time, compilation included
        },
        "label": label,
    }
    if "scales" in info:  # loss surfaces: kept for lazy extrapolation calibration
        spec["training_data"] = training_data(runs)
    return Fit(idata, spec, diagnostics, compute_model=runs.compute_model)


def compare(fits, ic: str = "loo") -> az.ELPDData:
    """Rank fits of the same runs by PSIS-LOO (ArviZ ``compare``); best first."""
    fits = list(fits)
    if len(fits) < 2:
        raise ValueError("compare() needs at least two fits")
    labels = [f.label for f in fits]
    if len(set(labels)) != len(labels):
        labels = [f"{label}#{i}" for i, label in enumerate(labels)]
    n_obs = {f.spec["data"]["n_rows_used"] for f in fits}
    if len(n_obs) > 1:
        raise ValueError(f"compare() needs fits of the same runs; row counts differ: {n_obs}")
    return az.compare(dict(zip(labels, [f.idata for f in fits], strict=True)), ic=ic)
