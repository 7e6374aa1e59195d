"""Simulation-based calibration (Talts et al. 2018): draw parameters and runs from a law's prior
predictive (:func:`sbc_items`), refit each simulated table and rank the true values among the
posterior draws (:func:`sbc_rank`), as a batch through ``map_tasks`` (:func:`sbc`); the ranks
of a calibrated sampler are uniform (:func:`rank_uniformity`), and troubled fits are named in
one :class:`~bayeslaws.inference.SamplerWarning`."""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass

import jax
import numpy as np
import pandas as pd
from scipy import stats

from ...inference import fit as fit_law
from ...inference.batch import InProcessExecutor, map_tasks, warn_again
from ...inference.diagnostics import SamplerWarning
from ...inference.nuts import derived_seed, prior_predictive
from ...laws import resolve_law
from ...runs import PlausibilityWarning, load_runs
from ...runs.checks import ArgumentTypeError, check_integer
from ...runs.warn import warn_user

RANK_BINS = 5  # bins of sbc's uniformity test


def rank_uniformity(ranks, n_draws: int, bins: int = RANK_BINS) -> float:
    """Chi-square p-value that integer ranks in 0..n_draws are uniform, over ``bins``
    equal-width bins; each bin's expected count is in proportion to the rank values it holds
    (equal counts are right only when ``bins`` divides ``n_draws + 1``)."""
    ranks = np.asarray(ranks)
    check_integer("n_draws", n_draws, 1)
    check_integer("bins", bins, 2)
    if bins > n_draws + 1:
        raise ValueError(f"bins={bins} is more than the {n_draws + 1} rank values 0..{n_draws}")
    outside = (ranks < 0) | (ranks > n_draws) | (ranks != np.round(ranks))
    if outside.any():
        raise ValueError(
            f"ranks must be integers in 0..{n_draws}; got {ranks[outside][:5].tolist()} "
            f"at positions {np.flatnonzero(outside)[:5].tolist()}"
        )
    edges = np.linspace(-0.5, n_draws + 0.5, bins + 1)
    counts = np.histogram(ranks, bins=edges)[0]
    values_per_bin = np.histogram(np.arange(n_draws + 1), bins=edges)[0]
    expected = ranks.size * values_per_bin / (n_draws + 1)
    return float(stats.chisquare(counts, expected).pvalue)


@dataclass(frozen=True)
class SBCItem:
    """One simulation of :func:`sbc`: its design (columns N, D), simulated losses (runs,), the
    law and fit options of its refit, the true parameter values it was simulated from, and the
    thinning of the draws it is ranked among. The worker builds the run table (validation is
    part of each task, not of the calling process)."""

    name: str
    design: pd.DataFrame
    loss: np.ndarray
    law: object
    options: dict
    truth: dict
    thin: int


def sbc_rank(item: SBCItem) -> dict:
    """Fit one simulated table and rank each true parameter among the thinned draws (what an
    SBC worker runs; only this row travels back, not the fit): ``{parameter: rank,
    "divergences", "min_ess"}``."""
    from ...inference import deferred

    with warnings.catch_warnings():  # prior draws are implausible tables by design
        warnings.simplefilter("ignore", PlausibilityWarning)
        runs = load_runs(item.design.assign(loss=item.loss))
    fitted = fit_law(runs, law=item.law, **item.options)
    post = {p: np.asarray(fitted.idata.posterior[p]) for p in item.truth}  # (chains, draws)
    row = {p: int(np.sum(post[p].reshape(-1)[:: item.thin] < v)) for p, v in item.truth.items()}
    row["divergences"] = fitted.diagnostics.divergences
    ess = deferred.arviz().ess(fitted.idata, var_names=list(item.truth), method="bulk")
    row["min_ess"] = float(min(np.min(ess[p].values) for p in item.truth))  # as fits report it
    return row


def sbc_items(
    law: str = "chinchilla",
    likelihood: str = "gaussian",
    *,
    n_sims: int = 20,
    design: pd.DataFrame | None = None,
    chains: int = 1,
    warmup: int = 200,
    draws: int = 200,
    thin: int = 4,
    seed: int = 0,
    params=None,
) -> list[SBCItem]:
    """The simulations of :func:`sbc` (same arguments), one :class:`SBCItem` each: parameters
    and ln-loss observations drawn from the law's prior predictive on ``design`` (columns N,
    D; default a 5 x 5 grid), each refit centred on the design's reference scales
    (``law.with_reference_scales``), so that its prior is the one simulated from."""
    check_integer("n_sims", n_sims, 1)
    check_integer("chains", chains, 1)
    check_integer("draws", draws, 1)
    check_integer("thin", thin, 1)
    if thin > chains * draws:
        raise ValueError(f"thin={thin} keeps no draw of chains x draws = {chains * draws}")
    kept = len(range(0, chains * draws, thin))
    if kept + 1 < RANK_BINS:  # refused before any fit, not after all of them
        raise ValueError(
            f"thin={thin} keeps {kept} of chains x draws = {chains * draws} draws: ranks take "
            f"{kept + 1} values, fewer than the uniformity test's {RANK_BINS} bins; thin less "
            "or draw more"
        )
    law_obj = resolve_law(law)
    if design is None:
        N, D = np.meshgrid(np.logspace(7.5, 9.5, 5), np.logspace(9, 11, 5))
        design = pd.DataFrame({"N": N.ravel(), "D": D.ravel()})
    if not isinstance(design, pd.DataFrame) or not {"N", "D"} <= set(design.columns):
        raise ValueError(
            "design must be a DataFrame with columns N and D (its losses are simulated)"
        )
    runs = load_runs(design[["N", "D"]].assign(loss=3.0))  # a placeholder: only N, D matter
    prepared = law_obj.prepare(runs)
    known = list(law_obj.default_priors())
    unknown = [p for p in params or [] if p not in known]
    if unknown:
        raise ValueError(f"params: {unknown} are not parameters of law {law!r}; it has {known}")
    fixed = law_obj.with_reference_scales(prepared.scales)
    priors = law_obj.priors(likelihood)
    static = {**prepared.static, "priors": priors, "likelihood": likelihood}
    arrays = {k: v for k, v in prepared.data.items() if k != "obs"}
    params = list(params or law_obj.default_priors()) + ["sigma"]
    # the prior draw runs in the calling process before any task starts: a saved program
    # after the first SBC of this law and size, as bl.fit's samplers are
    prior = prior_predictive(law_obj, static, arrays, n_sims, jax.random.PRNGKey(seed))
    z = np.asarray(prior[law_obj.observed_site], float)  # (n_sims, runs), centred ln loss
    options = {
        "likelihood": likelihood, "chains": chains, "warmup": warmup, "draws": draws,
        "dense_mass": True, "warn": False, "screen": "off",
    }  # fmt: skip
    losses = np.exp(z + prepared.scales["loss"])  # (n_sims, runs)
    truths = {p: np.asarray(prior[p], float) for p in params}  # parameter -> (n_sims,)
    points = design[["N", "D"]].reset_index(drop=True)
    return [
        SBCItem(
            f"sbc{i}",
            points,
            losses[i],
            fixed,
            {**options, "seed": derived_seed(seed, 1 + i, stride=1)},
            {p: float(truths[p][i]) for p in params},
            thin,
        )
        for i in range(n_sims)
    ]


def sbc(
    law: str = "chinchilla",
    likelihood: str = "gaussian",
    *,
    executor=None,
    workers: int | None = None,
    retries: int = 1,
    chunk_size: int | str = "auto",
    show_progress: bool = False,
    **simulation,
):
    """Simulation-based calibration of a law's NUTS fit, as a batch of fits.

    Draw parameters and ln-loss observations from the law's prior predictive
    (:func:`sbc_items`, whose keyword arguments ``simulation`` are: ``n_sims``, ``design``,
    ``chains``, ``warmup``, ``draws``, ``thin``, ``seed``, ``params``), refit each simulated
    table with ``bl.fit`` and rank each true parameter among its ``ceil(chains * draws /
    thin)`` draws (every chain's draws, thinned together; ranks 0 .. that count), one
    :func:`sbc_rank` call per simulation
    through :func:`~bayeslaws.inference.batch.map_tasks` (``executor``: None runs them in this
    process one by one, or, with ``workers=n``, on n local worker processes; a Dask ``Client``
    or any ``concurrent.futures`` executor spreads them; only the simulated losses travel out
    and the rank rows back, not the fits; ``retries``: how many times a failed simulation's
    fit is resubmitted, as for :func:`backtests`; ``chunk_size``: the simulations per
    submission, default ``"auto"``, four chunks per worker, since each fit takes a fraction of
    a second and a scheduler's per-task cost would show). Any other keyword is refused, naming
    the simulation options. Returns ``(ranks
    DataFrame (sim x parameter, plus per-simulation sampler diagnostics ``divergences`` and
    ``min_ess``, the smallest bulk ESS over ``params``), p-values of uniformity per
    parameter)``: a non-uniform rank with troubled fits points at the sampler, with clean fits
    at the model. A simulation whose fit failed raises (``raise_for_failures``).

    **Troubled fits are warned about.** After the batch one
    :class:`~bayeslaws.inference.SamplerWarning` says how many simulations' fits diverged and
    how many have ``min_ess`` below the number of draws ranked: ranks among divergent or
    autocorrelated draws are not uniform even for a calibrated model (too few effective draws
    pile the ranks up at the ends). At the defaults (1 chain x 200 warm-up + 200 draws, thin 4:
    50 ranked draws) the Chinchilla law's fits often do both. Remedies: more warm-up and draws
    (``warmup=``, ``draws=``), and thinning by the effective sample size, ``thin`` about
    ``chains * draws / min_ess`` so that the ranked draws are close to independent (Talts et
    al. 2018).

    **Several p-values.** Each parameter's p-value is a separate test: with k parameters each
    tested at 0.05, the chance that some p-value falls below 0.05 under exact uniformity is
    about 1 - 0.95**k (0.26 for six, the Chinchilla law's five and sigma; "about", as the
    parameters' ranks are not independent). Compare the smallest p-value with 0.05 / k
    (Bonferroni), not with 0.05."""
    unknown = sorted(set(simulation) - set(_SBC_OPTIONS))
    if unknown:  # refused before the simulations, naming sbc (not the internal sbc_items)
        raise ArgumentTypeError(
            f"sbc: unknown option(s) {unknown}; its simulation options are {list(_SBC_OPTIONS)}, "
            "and its batch options executor, workers, retries, chunk_size, show_progress"
        )
    items = sbc_items(law, likelihood, **simulation)
    if executor is None and workers is None:
        executor = InProcessExecutor()
    result = map_tasks(
        sbc_rank,
        items,
        executor,
        names=[item.name for item in items],
        workers=workers,
        retries=retries,
        chunk_size=chunk_size,
        show_progress=show_progress,
        label="sbc",
        summary=False,
    )
    warn_again(result, "sbc")  # the simulations' own warnings, at the user's line
    result.raise_for_failures()
    rows = result.values
    ranks = pd.DataFrame(rows)
    first = items[0]
    n_kept = len(range(0, first.options["draws"] * first.options["chains"], first.thin))
    pvalues = {p: rank_uniformity(ranks[p], n_kept) for p in items[0].truth}
    _warn_sbc_trouble(ranks, n_kept)
    return ranks, pvalues


# sbc's simulation options: sbc_items' keywords (law and likelihood are sbc's own arguments)
_SBC_OPTIONS = tuple(
    name
    for name, p in inspect.signature(sbc_items).parameters.items()
    if p.kind is p.KEYWORD_ONLY
)


def _warn_sbc_trouble(ranks: pd.DataFrame, n_kept: int) -> None:
    """:func:`sbc`'s :class:`~bayeslaws.inference.SamplerWarning`: how many of the simulations
    (rows of ``ranks``, with columns ``divergences`` and ``min_ess``) diverged and how many have
    a smallest bulk ESS below ``n_kept``, the draws each truth is ranked among; nothing when
    none does."""
    n = len(ranks)
    divergent = ranks["divergences"].to_numpy(float) > 0
    ess = ranks["min_ess"].to_numpy(float)
    few = (ess < n_kept) | np.isnan(ess)  # an undefined ESS (NaN) counts as too few
    if not divergent.any() and not few.any():
        return
    warn_user(
        f"sbc: {int(divergent.sum())} of {n} simulations' fits diverged "
        f"({int(ranks['divergences'].sum())} divergent transitions in all) and "
        f"{int(few.sum())} of {n} have a smallest bulk ESS (min_ess) below the {n_kept} draws "
        "ranked (or undefined): their ranks are not uniform even for a calibrated model, so a "
        "small p-value may be the sampler's. Raise warmup= and draws=, and thin by the "
        "effective sample size (thin about chains * draws / min_ess); the ranks table's "
        "divergences and min_ess columns name the simulations",
        SamplerWarning,
    )
