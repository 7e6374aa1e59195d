"""Fitting laws by NUTS (``numpyro.infer.MCMC``), on CPU or accelerator.

Chains run in parallel on CPU host devices (bayeslaws asks for 4 at import, before JAX starts),
are vectorised on a GPU/TPU, and fall back to sequential when neither applies. Everything about
the law comes through its contract (:class:`~bayeslaws.laws.contract.Law`).
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import time
import warnings
from collections import OrderedDict
from dataclasses import replace

import jax
import numpy as np
import numpyro
import pandas as pd
from numpyro.infer import MCMC, NUTS, Predictive

from .. import __version__
from ..laws import law_ref, resolve_law
from ..laws.contract import (
    code_digest,
    instance_state,
    law_key_is_portable,
    model_key,
    unrecorded_attributes,
)
from ..laws.likelihoods import check_family
from ..laws.priors import priors_to_spec
from ..runs import CANONICAL, RunTable, RunTableError, as_run_table
from ..runs.checks import ArgumentTypeError, check_integer, short_repr
from ..runs.reading import frame_remedy
from ..runs.table import label_text, load_runs
from ..runs.warn import user_stacklevel
from . import deferred, exported, identifiability, memory, padding, progress
from .compilation import enable_compilation_cache, jax_config_key
from .diagnostics import check
from .fit import Fit, model_trace
from .record import FitRecord, SamplerRecord, current_precision
from .screening import (
    OutlierWarning,
    as_screen,
    pointwise,
    screen_runs,
    warn_flagged,
    warn_skipped,
)

# Compiled NUTS kernels, reused by fits of the same law, shapes and settings (compilation takes
# seconds; a refit with new data of the same shape then skips it).
_MCMC_CACHE: OrderedDict = memory.register(OrderedDict())
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
    "screen",
)
CHAIN_METHODS = ("parallel", "sequential", "vectorized")
SEEDS = 2**32  # seeds are in [0, SEEDS): jax.random.PRNGKey's range


def derived_seed(seed: int, *steps: int, stride: int = 1000) -> int:
    """A fit's seed made from a user's ``seed`` and step numbers (seed * stride + step, ...),
    kept in [0, SEEDS): the same values as before for ordinary seeds, and a valid seed (not an
    error) for a large user seed."""
    value = int(seed)
    for step in steps:
        value = value * stride + int(step)
    return value % SEEDS


def choose_chain_method(chains: int) -> str:
    """'vectorized' on an accelerator, 'parallel' on CPU with enough host devices, else
    'sequential'."""
    if jax.default_backend() != "cpu":
        return "vectorized"
    if chains > 1 and jax.local_device_count() >= chains:
        return "parallel"
    return "sequential"


# the automatic choice's fallback to sequential chains is warned once per process (every fit of
# a notebook whose JAX started first would otherwise repeat it)
_WARNED_SEQUENTIAL: set = set()


def _few_devices_advice(chains: int) -> str:
    """How to get a CPU host device per chain: bayeslaws asks for 4 at import unless the
    user's XLA_FLAGS set a count; the command line has only the variable."""
    return (
        f"On CPU, ask for a host device per chain before JAX starts: set XLA_FLAGS="
        f"--xla_force_host_platform_device_count={chains} before Python starts (the command "
        f"line too; bayeslaws asks for 4 unless XLA_FLAGS set a count), or in Python call "
        f"numpyro.set_host_device_count({chains}) first, or import bayeslaws before JAX starts"
    )


def _chain_method(requested: str | None, chains: int) -> str:
    """The chain method that runs (and is recorded): ``requested``, or the automatic choice
    (warned once per process when, on CPU, too few host devices make it 'sequential');
    "parallel" with more chains than devices runs "sequential" on CPU (as NumPyro would,
    warned) and the automatic choice ('vectorized') on an accelerator, warned."""
    devices = jax.local_device_count()
    backend = jax.default_backend()
    if requested is None:
        method = choose_chain_method(chains)
        if method == "sequential" and chains > 1 and "auto" not in _WARNED_SEQUENTIAL:
            _WARNED_SEQUENTIAL.add("auto")
            warnings.warn(
                f"chain_method=None chose 'sequential': parallel chains need a device per "
                f"chain: {chains} chains, {devices} devices; the chains run sequentially "
                "(recorded as 'sequential': slower, and other draws for the seed than parallel "
                f"chains). {_few_devices_advice(chains)}; or pass chain_method='sequential' "
                "(warned once per process)",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        return method
    if requested == "parallel" and chains > devices:
        if backend == "cpu":
            runs, how, advice = "sequential", "sequentially", f". {_few_devices_advice(chains)}"
        else:  # one accelerator: the automatic choice there (vectorized), not one by one
            runs = choose_chain_method(chains)
            how, advice = f"{runs} on the {backend}, bayeslaws' automatic choice there", ""
        warnings.warn(
            f"chain_method='parallel' needs a device per chain: {chains} chains, {devices} "
            f"devices; the chains run {how} (recorded as {runs!r}){advice}",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
        return runs
    return requested


def numpyro_bar(settings: dict) -> bool:
    """Whether NumPyro's own progress bar may run: asked for (``settings["progress_bar"]``) and
    parallel chains, one device each (:func:`_parallel_chains`). That bar counts the iterations
    by host callbacks beside the unchanged arithmetic of the program without it (the data as
    arguments, :mod:`.exported`), so the same draws (tests/test_progress_bar_same_draws.py).
    Elsewhere NumPyro's bar would run another
    program (one chain, sequential or vectorized chains: a Python loop of one-step programs,
    not one compiled loop; other rounding, other draws for the seed): there bayeslaws prints
    its own start and end lines instead (:func:`_fit_once`)."""
    return bool(settings["progress_bar"]) and settings["chains"] > 1 and _parallel_chains(settings)


def _parallel_chains(settings: dict) -> bool:
    """True when the chains run in parallel, one device each (by :mod:`.exported`'s map)."""
    return (
        settings["chain_method"] == "parallel"
        and settings["chains"] <= jax.local_device_count()
    )


def _cached_mcmc(law, static: dict, data_shapes: tuple, settings: dict) -> MCMC:
    """An MCMC object for this law, static model arguments and settings (compiled once).
    ``settings["progress_bar"]`` enters only as :func:`numpyro_bar`: the kernel and program of
    a fit with or without a bar are the same wherever NumPyro's bar is not shown."""
    bar = numpyro_bar(settings)
    sampler = {**settings, "progress_bar": bar}
    key = model_key(law, static) + (
        data_shapes,
        tuple(sorted(sampler.items())),
        jax_config_key(),
    )
    memory.release_if_crowded()  # every fit: other compiles crowd the mappings between kernels
    if key in _MCMC_CACHE:
        _MCMC_CACHE.move_to_end(key)
        return _MCMC_CACHE[key]
    model = padding.sampler_model(law, static)
    kernel = NUTS(
        model, target_accept_prob=settings["target_accept"], dense_mass=settings["dense_mass"]
    )
    one_chain = settings["chains"] == 1
    mcmc = MCMC(
        kernel,
        num_warmup=settings["warmup"],
        num_samples=settings["draws"],
        num_chains=settings["chains"],
        chain_method=settings["chain_method"],
        # NumPyro's bar where it runs the program without it (numpyro_bar; NumPyro itself
        # turns it off in CI and pytest-xdist workers)
        progress_bar=bar,
        jit_model_args=True,
    )
    if _parallel_chains(settings):
        # the data as arguments, whatever the bar: the traced program on disk beside the
        # compiled kernels (:mod:`.exported`), or with a bar, whose host callbacks cannot be
        # saved, the same program by jax.pmap; set after NumPyro's checks, which turn the bar
        # off for a callable chain_method
        folder = None if bar else enable_compilation_cache()
        mcmc.chain_method = exported.chain_method(folder, exported.program_key(law, key))
    if one_chain:
        # NumPyro runs one chain outside its chain_method: mapped over one chain, as parallel
        # chains are, whatever the cache setting (the same program: the same draws)
        exported.route_one_chain(mcmc, enable_compilation_cache(), exported.program_key(law, key))
    _MCMC_CACHE[key] = mcmc
    while len(_MCMC_CACHE) > _MCMC_CACHE_SIZE:
        _MCMC_CACHE.popitem(last=False)
    return mcmc


def prior_predictive(law, static: dict, data: dict, n_draws: int, rng_key) -> dict:
    """``n_draws`` draws of every site of ``law``'s model (static arguments ``static``, data
    ``data`` without observations) from its prior predictive: site -> array (n_draws, ...).
    Through a saved program when programs can be saved (:mod:`.exported`: a new process, or an
    SBC of another size's simulations, skips tracing)."""
    key = ("prior_predictive", n_draws) + model_key(law, static)
    store = exported.programs(enable_compilation_cache(), exported.program_key(law, key))
    model = functools.partial(law.model, **static)

    def draw(rng, arrays):
        return Predictive(model, num_samples=n_draws)(rng, **arrays)

    if store is None:  # compiled as the saved program is: the same draws with or without it
        return jax.jit(draw)(rng_key, data)
    return store.call(jax.jit(draw), (rng_key, data))


def check_law_rebuilds(law_obj) -> None:
    """Refuse (ValueError naming the attributes) a law object whose instance state its options
    do not capture: a fit records the law by reference and options, and ``Fit.law`` (every
    prediction, a saved fit) rebuilds it from them, so that state would be silently lost. The
    law is rebuilt as ``Fit.law`` does (or, when its reference cannot be imported here, as
    ``type(law)(**options)``); a law that cannot be rebuilt at all is left to ``Fit.law`` to
    report."""
    try:
        rebuilt = resolve_law(law_ref(law_obj), law_obj.options)
    except Exception:  # not importable by reference (a class defined in a function, ...)
        try:
            rebuilt = type(law_obj)(**law_obj.options)
        except Exception:
            return
    if type(rebuilt) is not type(law_obj):
        return  # another class under that reference: the loaded fit's law-code check says so
    names = unrecorded_attributes(law_obj, rebuilt)
    if not names:
        return
    mine, theirs = instance_state(law_obj), instance_state(rebuilt)

    def shown(state: dict) -> str:
        return ", ".join(f"{n}={_short_repr(state[n]) if n in state else '(unset)'}" for n in names)

    raise ValueError(
        f"law {law_obj.name!r} ({type(law_obj).__qualname__}) holds state that its options do "
        f"not record: attribute(s) {names} ({shown(mine)} here, {shown(theirs)} in the law "
        f"rebuilt from its options {law_obj.options}). A fit records its law as "
        f"{law_ref(law_obj)!r} with its options and rebuilds it from them (fit.law, predictions, "
        "saved fits), so this state would be lost. Declare each as an option: accept it as a "
        "keyword argument of __init__ and return it from the law's `options` property "
        "(JSON-ready values), so that `configure` (type(law)(**options)) rebuilds it; or make "
        "it a class attribute of a subclass"
    )


def _short_repr(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shapes(data: dict) -> tuple:
    """The model data's (name, shape, dtype) in name order: part of the kernel cache's key
    (a scalar without a dtype gives its type's name)."""
    return tuple(
        (k, getattr(v, "shape", None), str(getattr(v, "dtype", type(v).__name__)))
        for k, v in sorted(data.items())
    )


def stored_label(label):
    """A row label as a fit records it (``training_runs["row"]``): an int, else its text (a
    float label ``1.0`` is kept as ``"1.0"``)."""
    return int(label) if isinstance(label, int | np.integer) else str(label)


def training_columns(runs) -> dict:
    """JSON-ready copy of the fitted runs' canonical columns (column -> list), and their row
    labels in the user's table (``"row"``: :func:`stored_label`), which an exclusion makes
    differ from their positions. Group and run labels are stored as text (a float with an
    integer value as that integer: 7.0 as "7", like 7), a missing one as None (not "nan"):
    :func:`~bayeslaws.runs.table.label_text`, by which an update compares its new runs."""
    df = runs.df
    out = {"row": [stored_label(r) for r in df.index]}
    for column in CANONICAL + EXTRA_RUN_COLUMNS:
        if column in df:
            values = df[column]
            if column in ("group", "run"):
                out[column] = [label_text(v) for v in values.tolist()]
            elif column == "diverged":
                out[column] = values.fillna(False).astype(bool).tolist()
            else:
                out[column] = [float(v) if np.isfinite(v) else None for v in values.to_numpy(float)]
    return out


def law_exclusions(runs, fitted) -> tuple:
    """The exclusions the law's ``prepare`` made: those of ``fitted`` (its ``Prepared.runs``)
    after the ones ``runs`` (the table given to it) already had."""
    return tuple(fitted.exclusions[len(runs.exclusions) :])


def provenance(runs, fitted) -> dict:
    """``fitted.record()`` with the law's own exclusions marked ``"by": "law"`` (the others:
    the user's, and screening's)."""
    out = fitted.record()
    n_before = len(runs.exclusions)
    out["exclusions"] = [
        {**e, "by": "law"} if i >= n_before else e for i, e in enumerate(out["exclusions"])
    ]
    return out


def law_excluded_columns(runs, fitted) -> dict:
    """:func:`training_columns` of the rows of ``runs`` that the law's own exclusions left out
    of ``fitted`` (none: empty lists), with their ``"accepted_rows"`` (labels as text): kept so
    that an update puts them back and the law decides again on the whole table."""
    labels = {r for e in law_exclusions(runs, fitted) for r in e.rows}
    mask = runs.df.index.isin(list(labels))
    accepted = tuple(r for r in runs.accepted_rows if r in labels)
    out = training_columns(replace(runs, df=runs.df.loc[mask], accepted_rows=accepted))
    out["accepted_rows"] = [str(r) for r in accepted]
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
    target_accept: float | None = None,
    dense_mass: bool | None = None,
    prior_draws: int = 0,
    progress_bar: bool | None = None,
    chain_method: str | None = None,
    label: str | None = None,
    warn: bool = True,
    law_options: dict | None = None,
    screen="warn",
    **options,
) -> Fit:
    """Fit a law to a run table by NUTS.

    Parameters
    ----------
    runs : :class:`~bayeslaws.runs.RunTable` (or a DataFrame/path with canonical columns).
    law : a registered law name (a key of ``bl.laws.LAWS``), a
        :class:`~bayeslaws.laws.contract.Law` object (your own law), or an import path
        "module:ClassName". The built-in laws: loss surfaces "chinchilla" (the default),
        "chinchilla_gamma", "kaplan", "farseer"; LR x batch sweeps "sweep" (loss surface, bowls
        and optima fitted jointly: the README tour's), "hyperparams" (bowls, optima power laws
        in N, D), "hyperparams_two_stage" (best run per cell, then a regression); isoFLOP
        profiles "isoflop" (a parabola in ln N per budget), "isoflop_cubic" (cubics).
        ``bl.laws.LAWS[name].description`` gives a law's form in one line.
    likelihood : "gaussian", "student_t" or "huber" (on log loss); default: the law's own
        (huber for loss surfaces).
    priors : overrides of the default priors, name -> numpyro distribution.
    seed : PRNG seed, an integer in [0, 2**32); the same seed, chains and chain method give the
        same draws whatever ``progress_bar`` and the compilation cache settings (with the cache
        off, or a progress bar, the saved program's twin runs, the data as arguments:
        :func:`.exported.chain_method`).
    chains, warmup, draws : NUTS chains and iterations per chain (defaults 4 x 1000 + 1000).
    target_accept : NUTS target acceptance probability; None: the law's default
        (``Law.default_target_accept``: 0.8; the sweep and farseer laws 0.95).
    dense_mass : adapt a dense mass matrix; None: the law's default (dense for loss surfaces,
        whose log amplitudes are strongly correlated).
    prior_draws : if > 0, also store that many prior (predictive) draws in ``idata.prior``.
    progress_bar : True or False; default (None): True when stderr is a terminal. It changes
        what is printed, never the draws (see ``seed``). True: parallel chains (one device
        each) show NumPyro's bar per chain (iterations, warm-up then sampling), whose host
        callbacks count iterations beside the program that runs without it (that program is
        then traced and compiled in each process, never loaded from the cache folder; NumPyro
        hides its bar in CI and pytest-xdist workers); one chain, sequential or vectorized
        chains, whose NumPyro bar would run another program (other rounding, other draws),
        print a line on stderr when the sampling starts and one with its time when it ends.
        False: a fit still running after 3 s says so on stderr and reports its time when done.
        ``BAYESLAWS_QUIET=1`` silences bayeslaws' lines, not NumPyro's bar.
    chain_method : override the automatic choice (see :func:`choose_chain_method`; when it
        falls back to "sequential" for want of CPU host devices, warned once per process);
        "parallel" with more chains than devices runs (and is recorded as) "sequential" on
        CPU, the automatic choice ("vectorized") on an accelerator.
    label : a name for the fit (used by :func:`compare`).
    warn : warn on R-hat, low ESS or divergences (always recorded in ``fit.diagnostics``), on
        too few runs for the law (:mod:`.identifiability`) and on outlying runs.
    law_options, **options : options of a configurable law, e.g. ``far_above=0.03`` or
        ``law_options={"divergence": "exclude"}`` for "hyperparams"; stored in the fit. A law's
        options and their defaults: ``bl.laws.LAWS[name].options``; what each means: the
        docstring of the law's module, ``help(type(bl.laws.LAWS[name]).__module__)`` (e.g.
        ``help("bayeslaws.laws.sweep")``, which also shows the law's class). An option the law
        does not have is an error listing the law's options.
    screen : what to do with runs far off the fitted law (:mod:`.screening`): "warn"
        (default: name their rows), "exclude" (exclude them, recorded, and refit once), "off";
        or ``{"action": ..., "threshold": robust sd}``. Recorded in
        ``fit.record.data["screening"]``. With fewer than 8 runs screening is skipped
        (recorded; under "exclude", with ``warn``, an OutlierWarning names the reason).
    """
    given = law_options_given(law_options, options)
    try:
        law_obj = resolve_law(law)
    except TypeError:  # an import path whose class needs the options given here to be built
        if not (isinstance(law, str) and given):
            raise
        law_obj = resolve_law(law, given)
    unknown = set(options) - set(law_obj.options)
    if unknown:
        remedy = load_runs_remedy({name: options[name] for name in unknown})
        raise ArgumentTypeError(
            f"bl.fit() got unknown argument(s) {sorted(unknown)}: neither fit arguments "
            f"{list(FIT_ARGUMENTS)} nor options of law {law_obj.name!r} "
            f"({sorted(law_obj.options) or 'it has none'}){remedy}"
        )
    law_obj = resolve_law(law_obj, given)
    check_law_rebuilds(law_obj)
    if likelihood is not None and not isinstance(likelihood, str):
        raise ArgumentTypeError(f"likelihood must be a string, got {type(likelihood).__name__}")
    likelihood = law_obj.default_likelihood if likelihood is None else likelihood
    check_family(likelihood)
    if likelihood not in law_obj.likelihoods:
        raise ValueError(
            f"law {law_obj.name!r} supports likelihood {law_obj.likelihoods}, got {likelihood!r}"
        )
    settings = _settings(
        chains=chains,
        warmup=warmup,
        draws=draws,
        seed=seed,
        target_accept=law_obj.default_target_accept if target_accept is None else target_accept,
        dense_mass=law_obj.default_dense_mass if dense_mass is None else dense_mass,
        progress_bar=sys.stderr.isatty() if progress_bar is None else progress_bar,
        chain_method=chain_method,
        prior_draws=prior_draws,
    )
    if label is not None and not isinstance(label, str):
        raise ArgumentTypeError(f"label must be a string, got {type(label).__name__}")
    # NumPyro rebuilds its kernel at every run, so a second fit of the same law and shapes in
    # this process compiles again unless XLA finds the program on disk (Epoch, 4 x 300 + 300:
    # 4.96 s per repeat fit without the cache, 0.34 s with it; benchmarks/output/speed.txt)
    enable_compilation_cache()
    if not isinstance(warn, bool | np.bool_):
        raise ArgumentTypeError(f"warn must be True or False, got {warn!r}")
    rule = as_screen(screen)
    runs = _run_table(runs)
    priors_used = law_obj.priors(likelihood, priors)
    fitted, screening, held = _first_fit(
        runs, law_obj, likelihood, priors_used, settings, label, warn, rule
    )
    # runs where the law is known to misfit (screening.misfits) are kept: not excludable
    if rule.action == "exclude" and screening.excludable:
        labels = set(screening.excludable)
        reason = (
            f"screening: more than {rule.threshold:g} robust sd off the fitted law "
            "(screen='exclude')"
        )
        kept = runs.exclude(runs.df.index.isin(list(labels)), reason)
        try:
            refit, again = _fit_once(
                kept, law_obj, likelihood, priors_used, settings, label, warn, rule
            )
        except RunTableError as error:  # without the flagged runs the law cannot be fitted
            why = f"not excluded: the runs left cannot be fitted ({error})"
            warnings.warn(
                f"screen='exclude': the flagged rows {sorted(map(str, labels))} are kept, since "
                f"without them law {law_obj.name!r} cannot be fitted ({error}); the fit returned "
                "is the one with them (fit.record.data['screening']['not_excluded'])",
                OutlierWarning,
                stacklevel=user_stacklevel(),
            )
            _emit(held)
            return _with_screening(fitted, {**screening.record(), "not_excluded": why})
        if warn:
            warn_flagged(screening, runs.df, "exclude")
        if warn and again.flagged:
            warn_flagged(again, kept.df, "kept", known=screening.misfits)
        entry = screening.record(excluded=screening.excludable, rounds=[again.record()])
        return _with_screening(refit, entry)
    _emit(held)
    if warn and screening.flagged:
        warn_flagged(screening, runs.df, "warn")
    if warn:  # screen="exclude" on too few runs: skipped, nothing excluded; said once
        warn_skipped(screening)
    return _with_screening(fitted, screening.record())


def law_options_given(law_options, options: dict) -> dict:
    """The law options of a ``bl.fit`` call: ``law_options`` (a dict or None) and the keyword
    ``options``, merged. An option given both ways must have the same value in both
    (ValueError naming it and both values); ``law_options`` not a dict is an
    ArgumentTypeError."""
    if law_options is not None and not isinstance(law_options, dict):
        raise ArgumentTypeError(f"law_options must be a dict, got {type(law_options).__name__}")
    law_options = law_options or {}
    clash = [k for k in options if k in law_options and not _same_value(options[k], law_options[k])]
    if clash:
        both = "; ".join(
            f"{k}={options[k]!r} as a keyword, {law_options[k]!r} in law_options" for k in clash
        )
        raise ValueError(
            f"bl.fit() got law option(s) {clash} both as a keyword and in law_options, with "
            f"different values ({both}): give each option once"
        )
    return {**law_options, **options}


def _same_value(a, b) -> bool:
    """Whether two option values are equal (False when they cannot be compared as one)."""
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. arrays of several values
        return a is b


def load_runs_remedy(given: dict, table: str = "runs", then: str = "bl.fit(runs, ...)") -> str:
    """Where the arguments ``given`` (name -> value, unknown to bl.fit or fit.update) go when
    some are arguments of :func:`~bayeslaws.runs.table.load_runs` (column mappings such as
    ``group='x'``, units): "; [...] go to bl.load_runs" with the call that takes them, read
    into ``table`` (a variable name) and passed on as ``then`` says; "" when none is."""
    loader = inspect.signature(load_runs).parameters
    mapped = {n: v for n, v in sorted(given.items()) if n != "data" and n in loader}
    if not mapped:
        return ""
    call = ", ".join(f"{n}={_call_value(v)}" for n, v in mapped.items())
    return (
        f"; {sorted(mapped)} go to bl.load_runs (column mappings, units): load the table "
        f"first, {table} = bl.load_runs(df, {call}), then {then}"
    )


def _call_value(value) -> str:
    """``value`` as a call in a message writes it: its repr when short (:func:`short_repr`),
    else a place-holder naming its type, "<your list>" (2,000 row labels are not written out)."""
    text = short_repr(value)
    return f"<your {text}>" if text == type(value).__name__ else text


def _first_fit(runs, law_obj, likelihood, priors_used, settings, label, warn, rule):
    """:func:`_fit_once` and the warnings it gave: held (not shown) under screen="exclude",
    whose refit may replace that fit, for :func:`_emit` once it is the fit returned; else
    shown as they come (none held)."""
    args = (runs, law_obj, likelihood, priors_used, settings, label, warn, rule)
    if rule.action != "exclude":
        return *_fit_once(*args), []
    with warnings.catch_warnings(record=True) as held:
        warnings.simplefilter("always")  # the caller's filters apply when they are shown
        fitted, screening = _fit_once(*args)
    return fitted, screening, held


def _emit(held) -> None:
    """Show warnings held by :func:`_first_fit`, where they were first raised."""
    for w in held:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _with_screening(fitted: Fit, entry: dict) -> Fit:
    record = replace(fitted.record, data={**fitted.record.data, "screening": entry})
    return Fit(fitted.idata, record, compute_model=fitted._compute_model)


def _run_table(runs) -> RunTable:
    """``runs`` as a RunTable: a RunTable with its values checked again
    (:meth:`RunTable.check_values`: its ``df`` may have been edited in place since it was
    built), else loaded (:func:`as_run_table`)."""
    if isinstance(runs, RunTable):
        runs.check_values()
        return runs
    if runs is None or not isinstance(runs, pd.DataFrame | str | os.PathLike):
        raise ArgumentTypeError(
            "runs must be a RunTable (bl.load_runs(...)), a DataFrame with canonical columns or "
            f"a path to a CSV/Parquet file; got {type(runs).__name__}{frame_remedy(runs)}"
        )
    return as_run_table(runs)


def _settings(
    *,
    chains,
    warmup,
    draws,
    seed,
    target_accept,
    dense_mass,
    progress_bar,
    chain_method,
    prior_draws,
) -> dict:
    """The sampler settings, each checked by name."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if seed >= SEEDS:  # jax.random.PRNGKey keeps the low 32 bits (and overflows at 2**63)
        raise ValueError(
            f"seed must be a non-negative integer in [0, 2**32), got {seed!r}: a larger seed "
            f"would draw as seed {int(seed) % SEEDS} does"
        )
    if (
        isinstance(target_accept, bool)
        or not isinstance(target_accept, int | float | np.floating)
        or not 0 < target_accept < 1
    ):
        raise ValueError(f"target_accept must be a number in (0, 1), got {target_accept!r}")
    for name, value in (("dense_mass", dense_mass), ("progress_bar", progress_bar)):
        if not isinstance(value, bool | np.bool_):
            raise ArgumentTypeError(f"{name} must be True or False, got {value!r}")
    if chain_method is not None and chain_method not in CHAIN_METHODS:
        raise ValueError(
            f"chain_method must be one of {CHAIN_METHODS} or None, got {chain_method!r}"
        )
    chains = check_integer("chains", chains, 1)
    return {
        "chains": chains,
        "warmup": check_integer("warmup", warmup, 1),
        "draws": check_integer("draws", draws, 1),
        "seed": int(seed),
        "prior_draws": check_integer("prior_draws", prior_draws, 0),
        "target_accept": float(target_accept),
        "dense_mass": bool(dense_mass),
        "chain_method": _chain_method(chain_method, chains),
        # asked for: NumPyro's bar where it draws as without it (numpyro_bar), else
        # bayeslaws' own start and end lines (_fit_once); the kernel's key reads numpyro_bar
        "progress_bar": bool(progress_bar),
    }


def inference_data(mcmc: MCMC, observed: dict, prior: dict | None, coords, dims):
    """ArviZ InferenceData of a finished run: posterior (every sampled and deterministic site,
    (chains, draws, ...)), sample_stats (diverging, n_steps: leapfrog steps per draw,
    tree_depth), observed_data, and prior / prior_predictive when ``prior`` draws are given;
    ``az.from_numpyro``'s layout, without its second trace of the model (in a fresh process
    that trace, op by op, cost about a second)."""
    posterior = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
    extra = mcmc.get_extra_fields(group_by_chain=True)
    n_steps = np.asarray(extra["num_steps"])
    stats = {
        "diverging": np.asarray(extra["diverging"]),
        "n_steps": n_steps,
        "tree_depth": np.log2(n_steps).astype(int) + 1,  # as az.from_numpyro
    }
    groups = {"posterior": posterior, "sample_stats": stats, "observed_data": observed}
    if prior is not None:
        draws = {k: np.asarray(v)[None] for k, v in prior.items()}  # one chain
        groups["prior"] = {k: v for k, v in draws.items() if k not in observed}
        groups["prior_predictive"] = {k: v for k, v in draws.items() if k in observed}
    return deferred.arviz().from_dict(**groups, coords=coords, dims=dims)


def fitted_sites(names, sampled) -> list[str]:
    """``names`` (site names, a law's reported or checked sites) that ``sampled`` holds (a
    fit's ``idata.posterior``, or a dict of samples), in their order, each once."""
    return [n for n in dict.fromkeys(names) if n in sampled]


def site_layout(law_obj, prepared) -> tuple:
    """(coords, dims) of a fit's sites in its idata: the ``group`` coordinate of a grouped fit
    and the law's own site dimensions (:meth:`site_dims`, :meth:`group_dims`); each None when
    empty."""
    groups = list(prepared.groups)
    site_dims, site_coords = law_obj.site_dims(prepared.state)
    coords = ({"group": [str(g) for g in groups]} if len(groups) > 1 else {}) | site_coords
    dims = (law_obj.group_dims(groups) | site_dims) or None
    return coords or None, dims


def log_likelihood_group(log_lik: dict, shape: tuple, coords, dims):
    """The idata ``log_likelihood`` group of the pointwise terms ``log_lik`` (site -> (S, ...),
    S = chains x draws, as :func:`.screening.pointwise` gives them), laid out (chains, draws,
    ...) by ``shape`` = (chains, draws)."""
    return deferred.arviz().data.base.dict_to_dataset(
        {k: v.reshape(shape + v.shape[1:]) for k, v in log_lik.items()},
        library=numpyro,
        dims=dims,
        coords=coords,
        skip_event_dims=True,
    )


def _fit_once(runs, law_obj, likelihood, priors_used, settings, label, warn, rule):
    """One NUTS fit of ``law_obj`` to ``runs`` and its screening: (Fit, Screening)."""
    prepared = law_obj.prepare(runs)
    law_obj.check_priors(priors_used, prepared)  # none the table would leave unused
    cause = identifiability.check(law_obj, prepared, likelihood, warn=warn)
    static = {**prepared.static, "priors": priors_used, "likelihood": likelihood}
    mcmc_settings = {k: v for k, v in settings.items() if k not in ("seed", "prior_draws")}
    data = padding.pad(law_obj, prepared.data)  # one compiled sampler per size bucket
    mcmc = _cached_mcmc(law_obj, static, _shapes(data), mcmc_settings)
    rng_mcmc, rng_prior = jax.random.split(jax.random.PRNGKey(settings["seed"]))
    n_runs = len(prepared.runs)
    message = (
        f"fitting law {law_obj.name!r} to {n_runs} runs by NUTS ({settings['chains']} chains x "
        f"{settings['warmup']} warm-up + {settings['draws']} draws; the first fit of a shape "
        "also compiles)"
    )
    deferred.prefetch()  # ArviZ imports while NUTS compiles and samples
    # a progress bar asked for where NumPyro shows none (numpyro_bar; NumPyro's own rule in CI):
    # bayeslaws' start and end lines, at once (the program, and so the draws, are unchanged)
    lines = settings["progress_bar"] and not mcmc.progress_bar
    if lines:
        progress.note(f"{message} ...")
    started = time.perf_counter()
    with progress.step(
        message, after=float("inf") if settings["progress_bar"] else progress.PROGRESS_AFTER_S
    ):
        # num_steps: leapfrog steps per draw (idata.sample_stats n_steps, tree_depth), the
        # sampler's cost independent of the machine's load
        mcmc.run(rng_mcmc, **data, extra_fields=("diverging", "num_steps"))
        jax.block_until_ready(mcmc.get_samples())
    # a warm-up state set on the cached kernel (fit.update) serves this run alone: NumPyro keeps
    # it for every later run, which would skip its warm-up (the refit that screen="exclude"
    # makes of fewer runs padded to the same shapes shares this kernel)
    mcmc.post_warmup_state = None
    sampling_seconds = time.perf_counter() - started
    if lines:
        progress.note(f"{message}: done in {sampling_seconds:.1f} s")

    prior = None
    if settings["prior_draws"]:
        data = {k: v for k, v in prepared.data.items() if k != "obs"}
        prior = prior_predictive(law_obj, static, data, settings["prior_draws"], rng_prior)
    groups = list(prepared.groups)
    coords, dims = site_layout(law_obj, prepared)
    with progress.step(f"collecting the draws and diagnostics of the {law_obj.name!r} fit"):
        # one compiled pass gives the pointwise log-likelihood (for LOO) and the predictive
        # draws that outlier screening reads
        log_lik, predicted, observed = pointwise(
            law_obj, prepared, static, mcmc.get_samples(), settings["seed"]
        )
        idata = inference_data(mcmc, observed, prior, coords, dims)
        shape = (settings["chains"], settings["draws"])
        idata.add_groups(log_likelihood=log_likelihood_group(log_lik, shape, coords, dims))
        summary_names = fitted_sites(law_obj.summary_names(groups, likelihood), idata.posterior)
        advice = "; ".join(cause) if cause else None
        diagnostics = check(
            idata,
            fitted_sites(law_obj.checked_names(groups, likelihood), idata.posterior),
            warn=warn,
            cause=advice,
            dense_mass=settings["dense_mass"],
            warmup=settings["warmup"],
        )
        screening = screen_runs(law_obj, prepared, predicted, rule)
    fitted = prepared.runs
    compute_model = fitted.compute_model
    limits = cause + identifiability.caveats(law_obj, prepared)  # caveats: warned, not causes
    notes = list(prepared.notes) + [f"identifiability: {c}" for c in limits]
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
        data=provenance(runs, fitted),
        training_runs=training_columns(fitted),
        law_excluded_runs=law_excluded_columns(runs, fitted),
        notes=notes,
        summary_names=summary_names,
        diagnostics=diagnostics.to_dict(),
        sampler=SamplerRecord(
            chains=settings["chains"],
            warmup=settings["warmup"],
            draws=settings["draws"],
            target_accept=settings["target_accept"],
            dense_mass=settings["dense_mass"],
            chain_method=settings["chain_method"],
            seed=settings["seed"],
            backend=jax.default_backend(),
            precision=current_precision(),
            sampling_seconds=sampling_seconds,
        ),
        label=label,
        bayeslaws_version=__version__,
        extra=law_source_extra(law_obj),
        loo_terms_version=law_obj.loo_terms_version,
    )
    return Fit(idata, record, compute_model=compute_model), screening


def law_source_extra(law) -> dict:
    """``{"law_source": digest}`` of the files defining the law's class
    (:func:`.exported.law_source_digest`), for :func:`.fit.load_fit` to tell a fit made with
    other code of its law (left out when the files cannot be read), and ``{"law_code": ...}``,
    the class's :func:`~bayeslaws.laws.contract.code_digest`, for ``Fit.law`` to tell a class
    redefined or changed in place since (left out when the law has no stable description)."""
    digest = exported.law_source_digest(law)
    out = {"law_code": code_digest(type(law))} if law_key_is_portable(law) else {}
    return out if digest is None else {**out, "law_source": digest}


def compare(fits, ic: str = "loo"):
    """Rank fits of the same runs by PSIS-LOO: ArviZ's ``compare`` table (a DataFrame, one
    row per fit, best first). ``fits``: a list of fits, or a dict name -> fit (the names label
    the rows). Refused (ValueError), since their LOO is not comparable: fits whose runs differ in
    the loss, the group or a column one of the laws reads (its ``inputs``, ``optional_inputs``
    and ``run_columns``; a column no law reads, e.g. C of two (N, D) laws, may differ), and fits
    that score other observations (another site or shape, or other observed values beyond the
    common shift of each fit's centring: e.g. a run censored, scored as a probability, in one
    fit and observed, scored as a density, in the other). A fit whose stored pointwise
    log-likelihood is of another version of its law's terms than this bayeslaws computes (the
    law's ``loo_terms_version``: e.g. a sweep fit saved before its terms became exact
    leave-one-run-out terms) is scored on terms recomputed from its stored draws and training
    runs (:func:`current_loo_terms`, a :class:`LooTermsRecomputedWarning`; the fit is
    unchanged), and refused only when they cannot be recomputed."""
    names = None
    if isinstance(fits, dict):
        names, fits = [str(k) for k in fits], list(fits.values())
    if isinstance(fits, str | Fit) or not hasattr(fits, "__iter__"):
        raise ArgumentTypeError(f"compare() takes a list of fits, got {type(fits).__name__}")
    fits = list(fits)
    if len(fits) < 2:
        raise ValueError("compare() needs at least two fits")
    wrong = [type(f).__name__ for f in fits if not isinstance(f, Fit)]
    if wrong:
        raise ArgumentTypeError(
            f"compare() takes Fit objects (from bl.fit / bl.load_fit), got {wrong}"
        )
    if ic not in ("loo", "waic"):
        raise ValueError(f"ic must be 'loo' or 'waic', got {ic!r}")
    labels = names or [f.label for f in fits]
    if len(set(labels)) != len(labels):
        labels = [f"{label}#{i}" for i, label in enumerate(labels)]
    scored = comparable_fits(fits, labels)  # the fits with their current pointwise terms
    if len({id(f) for f in fits}) < len(fits):
        warnings.warn(
            "compare(): the same fit object appears more than once", stacklevel=user_stacklevel()
        )
    az = deferred.arviz()
    with warnings.catch_warnings():  # ArviZ 0.23's own call that pandas deprecates (PDEP-8)
        warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame.sort_values")
        return az.compare(dict(zip(labels, [f.idata for f in scored], strict=True)), ic=ic)


def comparable_fits(fits, labels, what: str = "compare()") -> list:
    """The fits to score against each other, observation by observation: each with pointwise
    terms of its law's current version (:func:`current_loo_terms`: recomputed from its stored
    draws when its file holds an older version's; ValueError when they cannot be), checked
    comparable by :func:`_check_comparable`. ``labels``: the fits' names and ``what`` the
    caller, for the messages. The given fits are unchanged."""
    current = [
        current_loo_terms(fit, label, what)
        for fit, label in zip(fits, labels, strict=True)
    ]
    _check_comparable(current, labels, what)
    return current


def _check_comparable(fits, labels, what: str) -> None:
    """ValueError unless fits with current pointwise terms score the same observations: the
    same number of runs, the same runs in the same order (:func:`_check_same_runs`) and the
    same observations (:func:`_check_same_observations`)."""
    n_obs = {f.n_runs for f in fits}
    if len(n_obs) > 1:
        raise ValueError(f"{what} needs fits of the same runs; row counts differ: {n_obs}")
    _check_same_runs(fits, labels, what)
    _check_same_observations(fits, labels, what)


class LooTermsRecomputedWarning(UserWarning):
    """A fit's pointwise log-likelihood was recomputed from its stored posterior draws: it
    stores the terms of an older version of its law's (``loo_terms_version``)."""


class _NotRecomputable(Exception):
    """Why a fit's pointwise log-likelihood cannot be recomputed from what it stores."""


def current_loo_terms(fit: Fit, label: str = "fit", what: str = "compare()"):
    """``fit`` itself when its stored pointwise log-likelihood (``idata.log_likelihood``) is of
    its law's current ``loo_terms_version``; else a copy whose log-likelihood is recomputed
    from its stored posterior draws and training runs by this bayeslaws' law (the pass that
    collects the terms after sampling, :func:`.screening.pointwise`) and whose record says the
    current version, with a :class:`LooTermsRecomputedWarning`. ``fit`` is unchanged.

    ValueError (naming ``label`` and ``what``, the caller) when the terms cannot be recomputed:
    the fit stores no training runs, its law no longer turns them into the runs, reference
    scales and observations it fitted, or its draws lack a site the law's model samples."""
    recorded, current = fit.record.loo_terms_version, fit.law.loo_terms_version
    if recorded == current:
        return fit
    try:
        idata = _recomputed_idata(fit)
    except _NotRecomputable as err:
        why = f"its terms cannot be recomputed from its stored draws: {err}"
        raise ValueError(_stale_terms_message(fit, label, what, why)) from None
    warnings.warn(
        f"{what}: fit {label!r} (law {fit.record.law!r}, fitted by bayeslaws "
        f"{fit.record.bayeslaws_version or '?'}) stores version {recorded} of its law's "
        f"pointwise log-likelihood terms; version {current}'s, which this bayeslaws computes, "
        "were recomputed from its stored posterior draws and training runs (the fit and its "
        "file are unchanged: refit or fit.update to store them)",
        LooTermsRecomputedWarning,
        stacklevel=user_stacklevel(),
    )
    record = replace(fit.record, loo_terms_version=current)
    cache = {k: fit.cache[k] for k in fit.cache.keys()}
    return Fit(idata, record, compute_model=fit._compute_model, cache=cache)


def _recomputed_idata(fit: Fit):
    """``fit.idata`` with its ``log_likelihood`` group recomputed from its posterior draws and
    training runs by its law (:func:`current_loo_terms`); the other groups are shared, not
    copied. _NotRecomputable says why it cannot be."""
    law = fit.law
    prepared = _prepared_as_fitted(fit)
    static = {
        **prepared.static,
        "priors": law.priors(fit.likelihood, fit.priors),
        "likelihood": fit.likelihood,
    }
    model, data = padding.sampler_model(law, static), padding.pad(law, prepared.data)
    missing = _missing_sites(fit, model, data)
    if missing:
        raise _NotRecomputable(f"its posterior draws lack site(s) {missing} of its law's model")
    log_lik, _, observed = pointwise(law, prepared, static, fit.draws(), fit.record.sampler.seed)
    stored = _observed_values(fit)
    for site, values in observed.items():
        if site in stored and observed_mismatch(stored[site], np.atleast_1d(values)).any():
            raise _NotRecomputable(
                f"its law observes other {site!r} values in its stored training runs than the "
                "fit holds"
            )
    post = fit.idata.posterior
    shape = (post.sizes["chain"], post.sizes["draw"])
    coords, dims = site_layout(law, prepared)
    groups = {g: fit.idata[g] for g in fit.idata.groups() if g != "log_likelihood"}
    return deferred.arviz().InferenceData(
        **groups, log_likelihood=log_likelihood_group(log_lik, shape, coords, dims)
    )


def _prepared_as_fitted(fit: Fit):
    """The fit's stored training runs prepared by its law (its own warnings held), checked to be
    the runs and reference scales it fitted; _NotRecomputable says how they differ."""
    if not fit.record.training_runs:
        raise _NotRecomputable("it stores no training runs")
    try:
        with warnings.catch_warnings():  # told when the fit was made
            warnings.simplefilter("ignore")
            prepared = fit.law.prepare(fit.training_runs())
    except ValueError as err:  # e.g. RunTableError, an unsaved user compute model
        raise _NotRecomputable(f"its stored training runs cannot be prepared: {err}") from None
    if len(prepared.runs) != fit.n_runs:
        raise _NotRecomputable(
            f"its law keeps {len(prepared.runs)} of the {fit.n_runs} stored training runs"
        )
    scales, fitted = prepared.scales.to_dict(), fit.record.scales
    if set(scales) != set(fitted) or not all(
        np.isclose(scales[k], fitted[k], rtol=1e-9, atol=1e-12) for k in scales
    ):
        raise _NotRecomputable(
            f"its law centres its stored training runs on other reference scales ({scales}) "
            f"than it fitted ({fitted})"
        )
    return prepared


def _missing_sites(fit: Fit, model, data: dict) -> list:
    """The latent sample sites of ``model`` (run on ``data``) whose draws the fit's posterior
    lacks or holds in another shape (per draw)."""
    trace = model_trace(model, data)
    post = fit.idata.posterior
    return sorted(
        name
        for name, site in trace.items()
        if site["type"] == "sample"
        and not site["is_observed"]
        and (name not in post or tuple(post[name].shape[2:]) != tuple(site["value"].shape))
    )


def _stale_terms_message(fit: Fit, label: str, what: str, why: str) -> str:
    """Why ``fit``'s LOO is not comparable: its stored terms are of another version of its law's
    than this bayeslaws computes, and ``why`` (a clause) they are not recomputed."""
    recorded, current = fit.record.loo_terms_version, fit.law.loo_terms_version
    return (
        f"{what}: fit {label!r} (law {fit.record.law!r}, fitted by bayeslaws "
        f"{fit.record.bayeslaws_version or '?'}) stores version {recorded} of its law's "
        f"pointwise log-likelihood terms, and this bayeslaws computes version {current}: "
        "its LOO scores another quantity per run and is not comparable with a fit of this "
        f"version, and {why}. Refit its runs with this bayeslaws (bl.fit), or update it with "
        "new runs (fit.update recomputes the terms)"
    )


# observed values (natural-log units, float32 in the idata) that differ by more than this after
# the common shift of the centring are other observations
OBSERVED_ATOL = 1e-5
OBSERVED_RTOL = 1e-6


def _observations(fit) -> dict:
    """The pointwise log-likelihood sites LOO reads: name -> shape per draw."""
    data = fit.idata.log_likelihood
    return {k: tuple(v.shape[2:]) for k, v in data.data_vars.items()}


def _observed_values(fit) -> dict:
    """The observed values of the fit's idata (``observed_data``), site -> float array; {} when
    the idata holds none."""
    if "observed_data" not in fit.idata.groups():
        return {}
    data = fit.idata.observed_data.data_vars
    return {k: np.atleast_1d(np.asarray(v, float)) for k, v in data.items()}


def observed_mismatch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Boolean mask (shape of ``a``) of the observations where ``b`` differs from ``a`` beyond
    one shift per leading index (the median difference along the last axis, the observation
    axis): a fit's centring (e.g. ln L - ln L_ref) moves every observation of a site by one
    constant, which leaves the log densities, and LOO, unchanged."""
    if a.shape != b.shape:
        return np.ones(a.shape, bool)
    both_nan = np.isnan(a) & np.isnan(b)
    diff = np.where(both_nan, 0.0, b - a)
    if diff.size == 0:
        return np.zeros(a.shape, bool)
    finite = np.where(np.isfinite(diff), diff, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row: every value differs
        shift = np.nanmedian(finite, axis=-1, keepdims=True)
    tol = OBSERVED_ATOL + OBSERVED_RTOL * np.abs(a)
    return ~(np.abs(diff - shift) <= tol)


def _run_labels(fit, where: np.ndarray, limit: int = 5) -> str:
    """The runs at observation positions ``where`` (last axis), by their row labels in the
    user's table when the fit stored them, else by position."""
    rows = (fit.record.training_runs or {}).get("row")
    named = [repr(rows[i]) if rows and i < len(rows) else f"position {i}" for i in where[:limit]]
    more = f" and {len(where) - limit} more" if len(where) > limit else ""
    return ", ".join(named) + more


def _check_same_observations(fits, labels, what: str = "compare()") -> None:
    """ValueError naming the first fit whose log-likelihood is of other observations: another
    site or shape (e.g. one law observes each run's loss, another each cell's optimum), or other
    observed values beyond the centring's shift (:func:`observed_mismatch`; e.g. a run that one
    fit censors, at a threshold its law options set, and the other observes exactly)."""
    first = _observations(fits[0])
    first_values = _observed_values(fits[0])
    for fit, label in zip(fits[1:], labels[1:], strict=True):
        other = _observations(fit)
        if other != first:
            raise ValueError(
                f"{what} needs fits of the same observations: {labels[0]!r} scores {first}, "
                f"{label!r} scores {other} (site: shape); LOO of different observations is "
                "not comparable"
            )
        values = _observed_values(fit)
        for site in sorted(set(first_values) & set(values)):
            differ = observed_mismatch(first_values[site], values[site])
            if not differ.any():
                continue
            where = np.flatnonzero(differ.reshape(-1, differ.shape[-1]).any(axis=0))
            raise ValueError(
                f"{what} needs fits that score the same observations: {label!r} observes "
                f"other {site!r} values than {labels[0]!r} at {len(where)} of "
                f"{differ.shape[-1]} observations (run(s) {_run_labels(fits[0], where)}), with "
                "the same loss in the runs: e.g. a run censored (scored as the probability of "
                "a loss at least its threshold) in one fit and observed exactly (scored as a "
                "density) in the other, as law options such as divergence_threshold or "
                "far_above decide. Fit both with the same such options; LOO of different "
                "observations is not comparable"
            )


RUN_COLUMNS_CHECKED = ("N", "D", "C", "loss", "lr", "batch_size", "group")


def _columns_read(fits) -> list:
    """The run columns whose values enter some fit's likelihood: the loss, the group and every
    column a law reads (its ``inputs``, ``optional_inputs`` and ``run_columns``), in
    ``RUN_COLUMNS_CHECKED`` order, then any others by name."""
    read = {"loss", "group"}
    for fit in fits:
        law = fit.law
        read |= set(law.inputs) | set(law.optional_inputs) | set(law.run_columns)
    return [c for c in RUN_COLUMNS_CHECKED if c in read] + sorted(read - set(RUN_COLUMNS_CHECKED))


def _check_same_runs(fits, labels, what: str = "compare()") -> None:
    """ValueError naming the first fit whose stored runs differ from the first's in a column
    that some fit's law reads, the loss or the group (:func:`_columns_read`); other columns
    (e.g. C counted another way for two laws of N and D) may differ."""
    first = fits[0].record.training_runs or {}
    columns = _columns_read(fits)
    for fit, label in zip(fits[1:], labels[1:], strict=True):
        other = fit.record.training_runs or {}
        for column in columns:
            if column not in first or column not in other:
                continue
            if column == "group":
                a, b = (np.asarray(x[column]).astype(str) for x in (first, other))
                differ = a != b
            else:
                a, b = (np.asarray(x[column], float) for x in (first, other))
                differ = ~np.isclose(a, b, rtol=1e-9, equal_nan=True)
            if differ.any():
                raise ValueError(
                    f"{what} needs fits of the same runs: {label!r} has other {column} values "
                    f"than {labels[0]!r} at {int(differ.sum())} of {len(a)} runs (first at "
                    f"position {int(np.flatnonzero(differ)[0])}); LOO of different data is not "
                    "comparable"
                )
