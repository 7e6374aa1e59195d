"""Fitting laws by NUTS (``numpyro.infer.MCMC``), on CPU or accelerator.

Chains run in parallel on CPU host devices (bayeslaws asks for 4 at import, before JAX starts),
are vectorised on a GPU/TPU, and fall back to sequential when neither applies. Everything about
the law comes through its contract (:class:`~bayeslaws.laws.contract.Law`).
"""

from __future__ import annotations

import functools
import sys
import time
from collections import OrderedDict

import arviz as az
import jax
import numpy as np
from numpyro.infer import MCMC, NUTS, Predictive

from .. import __version__
from ..laws import law_ref, resolve_law
from ..laws.contract import law_key, priors_key
from ..laws.likelihoods import check_family
from ..laws.priors import priors_to_spec
from ..runs import CANONICAL, as_run_table
from .diagnostics import check
from .fit import Fit
from .record import FitRecord, SamplerRecord

# Compiled NUTS kernels, reused by fits of the same law, shapes and settings (compilation takes
# seconds; a refit with new data of the same shape then skips it).
_MCMC_CACHE: OrderedDict = OrderedDict()
_MCMC_CACHE_SIZE = 8
EXTRA_RUN_COLUMNS = ("diverged", "run")  # non-canonical columns some laws read
FIT_ARGUMENTS = (
    "likelihood",
    "priors",
    "seed",
    "chains",
    "warmup",
    "draws",
    "target_accept",
    "dense_mass",
    "prior_draws",
    "progress_bar",
    "chain_method",
    "label",
    "warn",
    "law_options",
)


def choose_chain_method(chains: int) -> str:
    """'vectorized' on an accelerator, 'parallel' on CPU with enough host devices, else
    'sequential'."""
    if jax.default_backend() != "cpu":
        return "vectorized"
    if chains > 1 and jax.local_device_count() >= chains:
        return "parallel"
    return "sequential"


def _cached_mcmc(law, static: dict, data_shapes: tuple, settings: dict) -> MCMC:
    """An MCMC object for this law, static model arguments and settings (compiled once)."""
    key = (
        law_key(law),
        priors_key(static["priors"]),
        static["likelihood"],
        tuple(sorted((k, v) for k, v in static.items() if k not in ("priors", "likelihood"))),
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


def _positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _shapes(data: dict) -> tuple:
    return tuple((k, getattr(v, "shape", None)) for k, v in sorted(data.items()))


def training_columns(runs) -> dict:
    """JSON-ready copy of the fitted runs' canonical columns (column -> list)."""
    df = runs.df
    out = {}
    for column in CANONICAL + EXTRA_RUN_COLUMNS:
        if column in df:
            values = df[column]
            if column in ("group", "run"):
                out[column] = values.astype(str).tolist()
            elif column == "diverged":
                out[column] = values.fillna(False).astype(bool).tolist()
            else:
                out[column] = [float(v) if np.isfinite(v) else None for v in values.to_numpy(float)]
    return out


def fit(
    runs,
    law="chinchilla",
    *,
    likelihood: str | None = None,
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
    law_options: dict | None = None,
    **options,
) -> Fit:
    """Fit a law to a run table by NUTS.

    Parameters
    ----------
    runs : :class:`~bayeslaws.runs.RunTable` (or a DataFrame/path with canonical columns).
    law : a registered law name ("chinchilla", "kaplan", "hyperparams", ...; see
        ``bayeslaws.laws.LAWS``), a :class:`~bayeslaws.laws.contract.Law` object (your own law),
        or an import path "module:ClassName".
    likelihood : "gaussian", "student_t" or "huber" (on log loss); default: the law's own
        (huber for loss surfaces).
    priors : overrides of the default priors, name -> numpyro distribution.
    seed : PRNG seed; the same seed gives the same draws.
    chains, warmup, draws : NUTS chains and iterations per chain (defaults 4 x 1000 + 1000).
    target_accept : NUTS target acceptance probability.
    dense_mass : adapt a dense mass matrix; None: the law's default (dense for loss surfaces,
        whose log amplitudes are strongly correlated).
    prior_draws : if > 0, also store that many prior (predictive) draws in ``idata.prior``.
    progress_bar : default: shown when stderr is a terminal.
    chain_method : override the automatic choice (see :func:`choose_chain_method`).
    label : a name for the fit (used by :func:`compare`).
    warn : warn on R-hat > 1.01, low ESS or divergences (always recorded in ``fit.diagnostics``).
    law_options, **options : options of a configurable law, e.g. ``far_above=0.03`` or
        ``law_options={"divergence": "exclude"}`` for "hyperparams"; stored in the fit.
    """
    law_obj = resolve_law(law)
    unknown = set(options) - set(law_obj.options)
    if unknown:
        raise TypeError(
            f"bl.fit() got unknown argument(s) {sorted(unknown)}: neither fit arguments "
            f"{list(FIT_ARGUMENTS)} nor options of law {law_obj.name!r} "
            f"({sorted(law_obj.options) or 'it has none'})"
        )
    law_obj = resolve_law(law_obj, {**(law_options or {}), **options})
    likelihood = law_obj.default_likelihood if likelihood is None else likelihood
    check_family(likelihood)
    if likelihood not in law_obj.likelihoods:
        raise ValueError(
            f"law {law_obj.name!r} supports likelihood {law_obj.likelihoods}, got {likelihood!r}"
        )
    chains = _positive_int("chains", chains)
    warmup = _positive_int("warmup", warmup)
    draws = _positive_int("draws", draws)
    _positive_int("prior_draws", prior_draws, 0)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(target_accept, int | float) or not 0 < target_accept < 1:
        raise ValueError(f"target_accept must be in (0, 1), got {target_accept!r}")
    runs = as_run_table(runs)
    priors_used = law_obj.priors(likelihood, priors)
    prepared = law_obj.prepare(runs)
    static = {**prepared.static, "priors": priors_used, "likelihood": likelihood}
    if dense_mass is None:
        dense_mass = law_obj.default_dense_mass
    if progress_bar is None:
        progress_bar = sys.stderr.isatty()
    settings = {
        "chains": chains,
        "warmup": warmup,
        "draws": draws,
        "target_accept": float(target_accept),
        "dense_mass": bool(dense_mass),
        "chain_method": chain_method or choose_chain_method(chains),
        "progress_bar": bool(progress_bar),
    }
    mcmc = _cached_mcmc(law_obj, static, _shapes(prepared.data), settings)
    rng_mcmc, rng_prior = jax.random.split(jax.random.PRNGKey(int(seed)))
    started = time.perf_counter()
    mcmc.run(rng_mcmc, **prepared.data, extra_fields=("diverging",))
    jax.block_until_ready(mcmc.get_samples())
    sampling_seconds = time.perf_counter() - started

    prior = None
    if prior_draws:
        prior_model = functools.partial(law_obj.model, **static)
        prior = Predictive(prior_model, num_samples=prior_draws)(
            rng_prior, **{**prepared.data, "obs": None}
        )
    groups = list(prepared.groups)
    coords = {"group": [str(g) for g in groups]} if len(groups) > 1 else None
    dims = law_obj.group_dims(groups) or None
    idata = az.from_numpyro(mcmc, prior=prior, coords=coords, dims=dims)

    summary_names = [n for n in law_obj.summary_names(groups, likelihood) if n in idata.posterior]
    diagnostics = check(idata, summary_names, warn=warn)
    fitted = prepared.runs
    compute_model = fitted.compute_model
    record = FitRecord(
        law=law_ref(law_obj),
        law_options=law_obj.options,
        likelihood=likelihood,
        priors=priors_to_spec(priors_used),
        scales=prepared.scales.to_dict(),
        groups=groups,
        ranges=prepared.ranges,
        law_state=prepared.state,
        compute_model=compute_model.to_dict() if compute_model.params else None,
        compute_model_name=compute_model.name,
        data=fitted.record(),
        training_runs=training_columns(fitted),
        notes=list(prepared.notes),
        summary_names=summary_names,
        diagnostics=diagnostics.to_dict(),
        sampler=SamplerRecord(
            chains=chains,
            warmup=warmup,
            draws=draws,
            target_accept=float(target_accept),
            dense_mass=bool(dense_mass),
            chain_method=settings["chain_method"],
            seed=int(seed),
            backend=jax.default_backend(),
            sampling_seconds=sampling_seconds,
        ),
        label=label,
        bayeslaws_version=__version__,
    )
    return Fit(idata, record, compute_model=compute_model)


def compare(fits, ic: str = "loo") -> az.ELPDData:
    """Rank fits of the same runs by PSIS-LOO (ArviZ ``compare``); best first."""
    fits = list(fits)
    if len(fits) < 2:
        raise ValueError("compare() needs at least two fits")
    labels = [f.label for f in fits]
    if len(set(labels)) != len(labels):
        labels = [f"{label}#{i}" for i, label in enumerate(labels)]
    n_obs = {f.n_runs for f in fits}
    if len(n_obs) > 1:
        raise ValueError(f"compare() needs fits of the same runs; row counts differ: {n_obs}")
    return az.compare(dict(zip(labels, [f.idata for f in fits], strict=True)), ic=ic)
