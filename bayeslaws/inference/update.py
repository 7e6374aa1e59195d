"""A fit updated with new runs: the refit of the campaign loop (propose runs, train them, update,
propose again), warm-started from the current posterior.

``fit.update(new_runs)`` (:func:`update_fit`) refits the same law, likelihood, priors and sampler
settings by NUTS to the runs the fit used plus ``new_runs``. The refit is a full NUTS fit of
all the runs (not an approximate sequential update: the posterior is exactly that of the
combined table), but its chains start where the current posterior is: each chain at one
posterior draw (sites whose shape is unchanged; new sites, e.g. a new cell's optimum, start as a
cold fit would), and the warm-up is shorter (default: half the fit's, at least 100 iterations),
since the chains begin near the typical set. The compiled kernel of a table of the same shape
is reused.

Mechanics: the warm-up runs here (``MCMC.warmup`` with the initial values, on the kernel that
:func:`~.nuts.fit` will use) and :func:`~.nuts.fit` then samples from the warmed-up state
(NumPyro's ``post_warmup_state``), which :func:`~.nuts.fit` clears after that one run, so no
later fit inherits it: not even the refit that ``screen="exclude"`` makes of the runs left
after screening (fewer runs padded to the same shapes share the kernel), which runs its own
warm-up from NumPyro's default start instead of starting at the state warmed up with the
excluded runs and skipping its warm-up.
Everything else (diagnostics, screening, the record) is :func:`~.nuts.fit`'s own. The record's
notes say that the fit was updated, from how many runs, and how long the warm-up took.

A warm start can leave a chain stuck where the new runs moved the posterior away from it (seen
in the Step Law design replay: R-hat 2.09, then 9.9e15, where a cold fit of the same runs gave
1.01). So when the warm refit's largest R-hat exceeds ``cold_above`` (default
:data:`COLD_ABOVE`), the refit is redone cold (the default initialisation; warm-up: the fit's
own or twice the update's, whichever is more, since a fit that was itself updated records the
update's shorter warm-up) and the record's notes say so, with both R-hats. The warm refits of
that replay that had not stuck reached R-hat 1.12 at most; 1.01 is the bar the diagnostics
report against. A one-chain fit has no R-hat and is never redone.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import pandas as pd
from numpyro.infer.initialization import init_to_value
from numpyro.infer.util import initialize_model

from ..runs import CANONICAL, PlausibilityWarning, RunTable, load_runs
from ..runs.checks import is_real
from ..runs.compute import same_compute_model
from ..runs.table import check_plausible
from . import memory, nuts, padding
from .fit import Fit
from .screening import as_screen

MIN_WARMUP = 100  # warm-up iterations of an update at the least
COLD_ABOVE = 1.2  # largest R-hat of a warm refit above which it is redone cold
EXTRA_COLUMNS = ("diverged", "run")


def combined_runs(fit: Fit, new_runs) -> tuple[RunTable, list]:
    """(The runs the fit used (after its law's own exclusions) followed by ``new_runs`` (a
    RunTable or a DataFrame with canonical columns), in the fit's compute model; the columns
    of the fitted runs that the new runs lack and the law does not read, left out).

    Plausibility warnings name new runs only, once, checked beside the fitted runs (their
    labels in the combined table): the fitted runs were checked when they were loaded. The
    combined table's ``accepted_rows`` are the fit's and those of ``new_runs`` (a RunTable)."""
    old = fit.training_runs()
    if old is None:
        raise ValueError("fit.update needs the fit's training runs; this fit holds none")
    if isinstance(new_runs, RunTable):
        if not same_compute_model(new_runs.compute_model, fit.compute_model):
            raise ValueError(
                f"new_runs were loaded with compute model {new_runs.compute_model.name!r} but "
                f"the fit uses {fit.compute_model.name!r}: their C would mix FLOP counts; load "
                "them with bl.load_runs(..., compute_model=fit.compute_model)"
            )
        new = new_runs.df
        new_accepted = new.index.isin(list(new_runs.accepted_rows))
    elif isinstance(new_runs, pd.DataFrame):
        # every row accepted here: checked once, below, beside the fitted runs
        new = load_runs(
            new_runs,
            compute_model=fit.compute_model,
            allow_missing_loss=True,
            accepted_rows=new_runs.index,
        ).df
        new_accepted = np.zeros(len(new), dtype=bool)
    else:
        raise TypeError(
            f"new_runs must be a RunTable or a DataFrame of runs, got {type(new_runs).__name__}"
        )
    if new.empty:
        raise ValueError("new_runs has no rows")
    needed = [c for c in fit.law.run_columns if c not in new]
    if needed:
        raise ValueError(
            f"new_runs lack column(s) {needed} that law {fit.law.name!r} needs for a run"
        )
    if "loss" not in new:
        raise ValueError("new_runs lack column 'loss' (the trained runs' losses)")
    if "group" in old.df and "group" not in new:
        raise ValueError(
            f"new_runs lack the 'group' column this fit is grouped by (its groups: "
            f"{sorted(map(str, old.df['group'].unique()))}): say which group each new run is in"
        )
    if "group" in new and "group" not in old.df:
        raise ValueError(
            "new_runs have a 'group' column but the fit is not grouped: drop the column to add "
            "them to the one pool, or fit the whole table with its groups (bl.fit)"
        )
    columns = [c for c in CANONICAL + EXTRA_COLUMNS if c in old.df]
    missing = [c for c in columns if c not in new and c not in ("diverged", "run", "group")]
    needed_cols = set(fit.law.run_columns) | {"N", "D", "C", "loss"}
    if [c for c in missing if c in needed_cols]:
        raise ValueError(f"new_runs lack column(s) {missing} that the fitted runs have")
    # columns the law does not read (e.g. lr and batch_size of best-per-cell runs under a loss
    # surface) that the new runs lack: left out of the combined table, and said so
    columns = [c for c in columns if c not in missing]
    repeated = repeated_runs(old.df, new)
    if repeated:
        raise ValueError(
            f"new_runs repeat {len(repeated)} run(s) this fit already has (rows "
            f"{', '.join(map(str, repeated[:10]))}{' ...' if len(repeated) > 10 else ''} of "
            "new_runs: same N, D, loss and, where present, group, lr and batch_size): pass only "
            "the runs trained since the fit, or refit the whole table with bl.fit"
        )
    frame = pd.concat(
        [old.df[columns], new.reindex(columns=columns)], ignore_index=True, sort=False
    )
    frame.index = combined_labels(old.df.index, len(new), excluded_labels(fit))
    new_labels = frame.index[len(old.df) :]
    accepted = list(old.accepted_rows) + new_labels[new_accepted].tolist()
    given = [c for c in ("N", "D") if c in frame]
    with warnings.catch_warnings():  # checked below: the new runs beside the fitted ones
        warnings.simplefilter("ignore", PlausibilityWarning)
        runs = load_runs(
            frame.drop(columns=["C"]),
            compute_model=fit.compute_model,
            allow_missing_loss=True,
            accepted_rows=list(old.df.index) + accepted,  # no duplicate warnings among them
            **{c: c for c in given},
        )
    # the fitted runs were checked at their load: they count in the medians, never named
    check_plausible(runs.df, given=given, accepted_rows=accepted, known_rows=list(old.df.index))
    df = runs.df.copy()
    df["C"] = frame["C"].to_numpy(float)  # as given (e.g. an isoFLOP budget column)
    return replace(runs, df=df, accepted_rows=tuple(accepted)), missing


def carried_provenance(old: dict, refit: dict, new_runs) -> dict:
    """The updated fit's run provenance (``record.data``): the refit's, with the old fit's
    exclusions (and those of ``new_runs`` when it is a RunTable) kept before the refit's own,
    both sources named and the input rows of both counted, so an update never forgets that
    runs were left out."""
    if isinstance(new_runs, RunTable):
        added = new_runs.record()
    else:
        added = {"source": "DataFrame", "n_input_rows": len(new_runs), "exclusions": []}
    return {
        **refit,
        "source": f"{old.get('source', 'unknown')} + update ({added['source']})",
        "n_input_rows": int(old.get("n_input_rows", 0)) + int(added["n_input_rows"]),
        "exclusions": list(old.get("exclusions", []))
        + list(added["exclusions"])
        + list(refit.get("exclusions", [])),
    }


def fitted_screen(fit: Fit) -> dict:
    """The screening rule ``fit`` was fitted under (its record's action and threshold), as a
    ``screen=`` value; ``{"action": "warn"}`` when it recorded none."""
    entry = (fit.record.data or {}).get("screening") or {}
    rule = {"action": entry.get("action", "warn")}
    if entry.get("threshold") is not None:
        rule["threshold"] = entry["threshold"]
    return rule


REPEAT_COLUMNS = ("N", "D", "loss", "group", "lr", "batch_size")  # a run's identity in update


def repeated_runs(old: pd.DataFrame, new: pd.DataFrame) -> list:
    """Labels of the rows of ``new`` equal to a run of ``old`` on :data:`REPEAT_COLUMNS` (those
    both have): a run passed again would be counted twice and narrow every interval."""
    keys = [c for c in REPEAT_COLUMNS if c in old and c in new]
    seen = set(old[keys].itertuples(index=False, name=None))
    rows = new[keys].itertuples(index=False, name=None)
    return [label for label, row in zip(new.index, rows, strict=True) if row in seen]


def excluded_labels(fit: Fit) -> list:
    """Row labels the fit's exclusions name (its record's provenance)."""
    data = fit.record.data or {}
    return [r for e in data.get("exclusions", []) for r in e.get("rows", [])]


def combined_labels(old: pd.Index, n_new: int, taken=()) -> pd.Index:
    """Row labels of the combined table: the fitted runs keep theirs (their rows in the user's
    table, which screening names); the new runs follow, numbered on after the largest integer
    label of the fitted runs and of ``taken`` (the excluded rows' labels, which the updated
    record still names; their own labels could repeat the fitted runs')."""
    numbers = [int(r) for r in old if isinstance(r, int | np.integer)]
    numbers += [int(r) for r in taken if str(r).lstrip("-").isdigit()]
    start = max(numbers, default=-1) + 1
    return pd.Index(list(old) + list(range(start, start + n_new)))


def initial_values(fit: Fit, model, data: dict, chains: int, seed: int) -> dict:
    """Per chain, unconstrained initial values of every latent site (leading axis: chains; none
    for one chain, as NumPyro's ``init_params`` takes them): one posterior draw of the fit for
    the sites of unchanged shape, NumPyro's default (uniform in [-2, 2], unconstrained) for the
    others."""
    draws = fit.draws()
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(next(iter(draws.values()))), size=chains, replace=False)
    keys = jax.random.split(jax.random.PRNGKey(seed), chains)
    shapes = _latent_shapes(model, data)
    per_chain = []
    for c, s in enumerate(picks):
        values = {
            name: jnp.asarray(draws[name][s])
            for name, shape in shapes.items()
            if name in draws and np.shape(draws[name][s]) == shape
        }
        info = initialize_model(
            keys[c], model, init_strategy=init_to_value(values=values), model_kwargs=data
        )[0]
        per_chain.append(info.z)
    if chains == 1:
        return per_chain[0]
    return jax.tree.map(lambda *z: jnp.stack(z), *per_chain)


def _latent_shapes(model, data: dict) -> dict:
    """Shapes of the model's latent (unobserved sample) sites."""
    seeded = numpyro.handlers.seed(model, jax.random.PRNGKey(0))
    trace = numpyro.handlers.trace(seeded).get_trace(**data)
    return {
        name: tuple(site["value"].shape)
        for name, site in trace.items()
        if site["type"] == "sample" and not site["is_observed"]
    }


def screened_out(fit: Fit) -> list:
    """Row labels (text) that ``screen="exclude"`` left out of ``fit`` (its record's
    screening entry); [] when none."""
    entry = (fit.record.data or {}).get("screening") or {}
    return [str(r) for r in entry.get("excluded") or []]


def update_fit(
    fit: Fit,
    new_runs,
    *,
    warmup: int | None = None,
    draws: int | None = None,
    seed: int | None = None,
    warn: bool = True,
    screen="fitted",
    cold_above: float | None = COLD_ABOVE,
) -> Fit:
    """The fit refitted to its runs plus ``new_runs``, warm-started from its posterior.

    Parameters
    ----------
    fit : the current fit (any law; it must hold its training runs, as every fit does).
    new_runs : the runs trained since (a RunTable or a DataFrame with canonical columns: the
        law's run columns and ``loss``).
    warmup : warm-up iterations per chain (default: half the fit's, at least 100).
    draws : draws per chain (default: the fit's).
    seed : PRNG seed (default: the fit's seed + 1).
    warn, screen : as in :func:`~.nuts.fit`; ``screen="fitted"`` (default): the fit's own rule
        (:func:`fitted_screen`), so a fit that excluded outliers goes on excluding them.
    cold_above : largest R-hat of the warm refit above which it is redone cold (a stuck chain);
        ``None``: never.

    Returns a new :class:`~.fit.Fit` (the old one is unchanged); its record's notes say it was
    updated, and whether it was redone cold.
    """
    if cold_above is not None and (not is_real(cold_above) or not cold_above > 0):
        raise ValueError(f"cold_above must be a positive R-hat or None, got {cold_above!r}")
    screen = fitted_screen(fit) if isinstance(screen, str) and screen == "fitted" else screen
    as_screen(screen)  # checked before the warm-up, not after it
    if not isinstance(warn, bool | np.bool_):
        raise TypeError(f"warn must be True or False, got {warn!r}")
    sampler = fit.record.sampler
    warmup = max(MIN_WARMUP, sampler.warmup // 2) if warmup is None else warmup
    draws = sampler.draws if draws is None else draws
    seed = nuts.derived_seed(sampler.seed, 1, stride=1) if seed is None else seed
    runs, dropped = combined_runs(fit, new_runs)
    law, priors = fit.law, fit.priors
    options = dict(
        chains=sampler.chains,
        warmup=warmup,
        draws=draws,
        seed=seed,
        target_accept=sampler.target_accept,
        dense_mass=sampler.dense_mass,
        chain_method=sampler.chain_method,
        progress_bar=False,
    )
    settings = nuts._settings(prior_draws=0, **options)
    prepared = law.prepare(runs)
    priors_used = law.priors(fit.likelihood, priors)
    static = {**prepared.static, "priors": priors_used, "likelihood": fit.likelihood}
    mcmc_settings = {k: v for k, v in settings.items() if k not in ("seed", "prior_draws")}
    data = padding.pad(law, prepared.data)  # as nuts.fit pads them: the same cached kernel
    mcmc = nuts._cached_mcmc(law, static, nuts._shapes(data), mcmc_settings)
    model = padding.sampler_model(law, static)
    init = initial_values(fit, model, data, settings["chains"], seed)
    started = time.perf_counter()
    mcmc.warmup(
        jax.random.PRNGKey(nuts.derived_seed(seed, 7919, stride=1)),
        init_params=init,
        extra_fields=("diverging",),
        **data,
    )
    warmup_seconds = time.perf_counter() - started

    def refit(warmup_iterations: int) -> Fit:
        return nuts.fit(
            runs,
            law,
            likelihood=fit.likelihood,
            priors=priors,
            warn=warn,
            screen=screen,
            label=fit.record.label,
            **{**options, "warmup": warmup_iterations},
        )

    try:
        with warnings.catch_warnings(record=True) as caught:  # held until the refit stands
            warnings.simplefilter("always")
            with memory.held():  # a release would drop the kernel warmed up above
                new = refit(warmup)
    finally:
        mcmc.post_warmup_state = None  # nuts.fit clears it after its run; here if it raised
    note = (
        f"updated: {fit.n_runs} runs + {len(runs) - fit.n_runs} new, warm-started at the "
        f"previous posterior ({warmup} warm-up iterations per chain, {warmup_seconds:.1f} s)"
    )
    warm_r_hat = new.diagnostics.max_r_hat
    if cold_above is not None and warm_r_hat > cold_above:  # NaN (one chain): never
        cold_warmup = max(sampler.warmup, 2 * warmup)  # an update's fit holds its half warm-up
        new = refit(cold_warmup)
        note += (
            f"; the warm refit's R-hat {warm_r_hat:.3g} exceeded {cold_above:g} (a stuck "
            f"chain), so it was redone cold ({cold_warmup} warm-up iterations): R-hat "
            f"{new.diagnostics.max_r_hat:.3g}"
        )
    else:
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        excluded = screened_out(new)
        if excluded:
            note += (
                f"; screen='exclude' left out rows {excluded}, and the refit of the other runs "
                f"started cold ({warmup} warm-up iterations), not at the previous posterior"
            )
    if dropped:
        note += f"; columns {dropped} (not read by the law, absent from the new runs) left out"
    data = carried_provenance(fit.record.data or {}, new.record.data or {}, new_runs)
    record = replace(new.record, notes=list(new.record.notes) + [note], data=data)
    return Fit(new.idata, record, compute_model=new._compute_model)
