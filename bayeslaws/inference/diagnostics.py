"""Sampler health after every fit: R-hat, bulk and tail ESS, divergences. Problems are
reported by a warning naming the parameters, and kept on the fit.

The bars scale with the draws asked for (:func:`thresholds`): with 4 x 1000 draws they are the
usual R-hat <= 1.01 and ESS >= 100 per chain (Vehtari et al. 2021); with fewer draws R-hat is
noisier and ESS smaller even for a healthy sampler, so the bars are R-hat <= 1 +
max(0.01, ``RHAT_NOISE`` / draws) and ESS >= min(100 per chain, ``ESS_MIN_FRACTION`` x draws),
draws counted over all chains. Checked on simulated chains (AR(1), 10 parameters, 200
replications per setting, 2 x 150 to 4 x 1000 draws; ``python
benchmarks/diagnostics_thresholds.py``, benchmarks/output/diagnostics_thresholds.txt): chains
with an ESS of 1 per draw never warn (the fixed bars warned in 87% of 2 x 150-draw fits), chains
with an ESS of 0.3 per draw warn in 3-14% of fits (fixed bars: 60-100% below 4 x 1000 draws),
and a chain stuck 1 sd away from the others or an ESS of 0.02 per draw warns in every
replication at every size studied. At 4 x 1000 draws the bars are the usual ones.

Below the smallest size studied (``MIN_STUDIED_DRAWS`` = 300 draws in all, 2 x 150) the bars
loosen no further: they stay at their values there (R-hat <= 1.10, ESS >= 30), and the fit gets
a problem saying its draws are too few to judge convergence (unchecked, the loosening grew
without bound: an R-hat bar of 4.0 at 2 x 5 draws passed a fit with R-hat 3.7). Divergences are
always reported.

Transitions whose trajectory ran to the maximum tree depth (``MAX_TREE_DEPTH`` = 10, NumPyro's
default, which :mod:`.nuts` uses: 2**10 - 1 = 1023 leapfrog steps) are reported when they are
more than ``DEPTH_SHARE_MAX`` (1%) of the draws: the sampler then takes the longest trajectories
it may and still explores slowly (a badly scaled or ridge-shaped posterior). Its advice is to
reparametrise, warm up longer or use a dense mass matrix, never a higher target_accept, whose
smaller steps would lengthen the trajectories further; with more parameters than a dense matrix
can be estimated for from the warm-up (``DENSE_WARMUP_PER_PARAMETER`` draws each), a dense fit
is told to use a diagonal one and a diagonal fit that a dense one needs a longer warm-up. Read
from ``sample_stats`` ``n_steps`` (leapfrog steps per draw) or ``tree_depth``; an InferenceData
holding neither is not checked (``Diagnostics.depth_share`` NaN, as in fits saved before it was
recorded).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..runs.warn import warn_user
from .deferred import arviz

if TYPE_CHECKING:
    import arviz as az

RHAT_MAX = 1.01
ESS_MIN_PER_CHAIN = 100
RHAT_NOISE = 30.0  # R-hat bar 1 + max(0.01, RHAT_NOISE / total draws)
ESS_MIN_FRACTION = 0.1  # ESS bar at most this share of the total draws
MIN_STUDIED_DRAWS = 300  # total draws of the smallest size the bars were studied at (2 x 150)
MAX_TREE_DEPTH = 10  # NumPyro NUTS's default max_tree_depth (the one .nuts uses)
DEPTH_SHARE_MAX = 0.01  # share of draws at the maximum tree depth above which it is a problem
NAMES_SHOWN = 5  # parameters a problem line names before "and N more" (a fit's per-cell sites)
# Warm-up draws per sampled parameter below which a dense mass matrix is poorly estimated. NumPyro
# estimates it from the last slow window of the warm-up, about half of it (500 of the default
# 1000 draws; 75 of 100), shrunk towards 1e-3 times the identity by 5 / (draws + 5). A sample
# covariance of d parameters from n draws has eigenvalues spread over (1 +- sqrt(d / n))**2
# times the true ones (Marchenko-Pastur): a condition number near 20 at d / n = 0.4 for a
# posterior of condition number 1, and rank d - n at d > n, its missing directions left at the
# shrinkage's tiny variance. d / n = 0.4 of half the warm-up: 5 warm-up draws per parameter,
# 200 parameters at the default warm-up.
DENSE_WARMUP_PER_PARAMETER = 5
DEFAULT_WARMUP = 1000  # nuts.fit's warm-up, assumed when a check is not told the fit's


def thresholds(n_chains: int, n_draws: int) -> tuple[float, float]:
    """(R-hat bar, ESS bar) for ``n_chains`` chains and ``n_draws`` draws in total. Below
    ``MIN_STUDIED_DRAWS`` they are those at ``MIN_STUDIED_DRAWS``: R-hat at most 1.10, ESS at
    least 30 (the loosest bars studied)."""
    studied = max(n_draws, MIN_STUDIED_DRAWS)
    rhat_max = 1.0 + max(RHAT_MAX - 1.0, RHAT_NOISE / studied)
    ess_min = min(ESS_MIN_PER_CHAIN * n_chains, ESS_MIN_FRACTION * studied)
    return rhat_max, ess_min


ARVIZ_LOGGER = "arviz"  # ArviZ logs through this logger and its children (arviz.stats, ...)


class _Below(logging.Filter):
    """Drops the records below ``level``."""

    def __init__(self, level: int):
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level


@contextmanager
def quiet_arviz(level: int = logging.ERROR) -> Iterator[None]:
    """ArviZ's log records below ``level`` (ERROR: its warnings) muted for the duration of the
    ``with`` block, restored after it (also on an error): around the package's own summary and
    diagnostic calls, whose findings the package says itself (e.g. R-hat of one chain: ArviZ
    logs "Shape validation failed ... minimum_shape: (chains=2, draws=4)", which the fit's own
    "one chain" note already says). ArviZ's stats functions log through ``arviz._log``, a Logger
    it makes outside :mod:`logging`'s registry (whose cached levels ``setLevel`` would leave
    stale): it gets a filter, and its list of messages already said (``cache``: it says each
    message once per process) is put back as it was, so a message muted here is still said by
    a later call outside; the registry's ``ARVIZ_LOGGER``, the parent of its modules'
    ``getLogger(__name__)`` loggers, gets its level raised. Handlers are never touched, and
    outside the block ArviZ's messages are as ArviZ logs them."""
    own = vars(arviz()).get("_log")
    registered = logging.getLogger(ARVIZ_LOGGER)
    own = own if isinstance(own, logging.Logger) and own is not registered else None
    said = vars(own).get("cache") if own is not None else None
    said = said if isinstance(said, list) else None
    below = _Below(level)
    with _QUIET_LOCK:  # nested or overlapping blocks (fits in threads): the first one in saves
        if not _QUIET["depth"]:  # the state, the last one out restores it
            _QUIET["level"] = registered.level
            _QUIET["n_said"] = len(said) if said is not None else 0
            registered.setLevel(max(level, registered.getEffectiveLevel()))
        _QUIET["depth"] += 1
    if own is not None:
        own.addFilter(below)
    try:
        yield
    finally:
        if own is not None:
            own.removeFilter(below)
        with _QUIET_LOCK:
            _QUIET["depth"] -= 1
            if not _QUIET["depth"]:
                registered.setLevel(_QUIET["level"])
                if said is not None:
                    del said[_QUIET["n_said"] :]


# quiet_arviz's blocks in progress (threads may overlap them) and the state they restore
_QUIET_LOCK = threading.Lock()
_QUIET = {"depth": 0, "level": logging.NOTSET, "n_said": 0}


def rhat_ess(idata: az.InferenceData, var_names: list[str]) -> tuple:
    """(R-hat, bulk ESS, tail ESS) of ``var_names`` as ArviZ computes them (Datasets, one value
    per parameter element; R-hat NaN with one chain), with ArviZ's own shape warnings muted
    (:func:`quiet_arviz`): for ``Fit.summary`` and the like."""
    az = arviz()
    with quiet_arviz():
        return (
            az.rhat(idata, var_names=var_names),
            az.ess(idata, var_names=var_names, method="bulk"),
            az.ess(idata, var_names=var_names, method="tail"),
        )


class SamplerWarning(UserWarning):
    """NUTS did not converge cleanly: see the message and ``fit.diagnostics``."""


@dataclass
class Diagnostics:
    """Convergence figures of one fit. ``problems`` is empty when all checks pass."""

    max_r_hat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    n_draws: int
    problems: list = field(default_factory=list)
    rhat_bar: float = RHAT_MAX
    ess_bar: float = float("nan")
    depth_share: float = float("nan")  # share of draws at the maximum tree depth; NaN: unknown
    n_chains: int = 0  # chains sampled; 0: unknown (records saved before it was kept)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def r_hat_text(self) -> str:
        """The largest R-hat for display: three decimals, or why there is none (one chain, or
        undefined with several: e.g. one draw per chain)."""
        if not np.isnan(self.max_r_hat):
            return f"{self.max_r_hat:.3f}"
        if self.n_chains == 1:
            return "n/a (one chain: mixing across chains unchecked)"
        if self.n_chains > 1:
            return f"undefined ({self.n_chains} chains: too few draws or draws that never move)"
        return "n/a (one chain, or undefined)"

    def lines(self) -> list[str]:
        """The figures beside the bars they were held to, one line each, as a report prints
        them: draws and chains, max R-hat (bar ``rhat_bar``), min bulk and tail ESS (bar
        ``ess_bar``), divergences and the share of draws at the maximum tree depth, then each
        problem (or "problems: none")."""
        chains = f" ({self.n_chains} chains)" if self.n_chains else ""
        depth = (
            "share of draws at the maximum tree depth unknown"
            if np.isnan(self.depth_share)
            else f"{self.depth_share:.1%} of draws at the maximum tree depth"
        )
        ess_bar = "" if np.isnan(self.ess_bar) else f" (bar: at least {self.ess_bar:.0f})"
        return [
            f"{self.n_draws} draws{chains}; max R-hat {self.r_hat_text} "
            f"(bar: at most {self.rhat_bar:.3g})",
            f"min ESS bulk {self.min_ess_bulk:.0f}, tail {self.min_ess_tail:.0f}{ess_bar}",
            f"{self.divergences} divergent transitions; {depth}",
            *(["problems: none"] if not self.problems else
              [f"problem: {problem}" for problem in self.problems]),
        ]  # fmt: skip

    def to_dict(self) -> dict:
        return {
            "max_r_hat": self.max_r_hat,
            "min_ess_bulk": self.min_ess_bulk,
            "min_ess_tail": self.min_ess_tail,
            "divergences": self.divergences,
            "n_draws": self.n_draws,
            "problems": list(self.problems),
            "rhat_bar": self.rhat_bar,
            "ess_bar": self.ess_bar,
            "depth_share": self.depth_share,
            "n_chains": self.n_chains,
        }


def check(
    idata: az.InferenceData,
    var_names: list[str],
    warn: bool = True,
    cause: str | None = None,
    max_tree_depth: int = MAX_TREE_DEPTH,
    dense_mass: bool | None = None,
    warmup: int | None = None,
) -> Diagnostics:
    """Compute R-hat, ESS, divergences and the share of draws at the maximum tree depth
    (``max_tree_depth``, the sampler's) for ``var_names`` (a fit's: its law's
    :meth:`~bayeslaws.laws.contract.Law.checked_names`); warn naming bad parameters, as ArviZ
    labels them (``z_lr[8]``; more than ``NAMES_SHOWN``: the worst of them and how many more).
    ``cause``: a known reason for trouble found before sampling (e.g. too few runs for the
    law's parameters), given as the advice instead of the sampler settings. ``dense_mass``:
    the mass matrix the fit adapted (True dense, False diagonal, None unknown), and ``warmup``
    its warm-up draws per chain (None: ``DEFAULT_WARMUP``), for the tree-depth advice
    (:func:`depth_problem`, with the number of parameters checked)."""
    n_chains = idata.posterior.sizes["chain"]
    if n_chains > 1:
        # unrounded: ArviZ's default 2-decimal rounding would let R-hat up to 1.0149 pass 1.01;
        # in float64: squares of float32 draws near 1e14 (Kaplan's N_c) overflowed inside ArviZ
        # (NaN mcse_sd and overflow warnings on a healthy fit)
        posterior = idata.posterior[var_names].astype("float64")
        with quiet_arviz():  # e.g. fewer than 4 draws per chain: said by too_few_problem
            summary = arviz().summary(posterior, kind="diagnostics", round_to="none")
    else:
        summary = _one_chain_summary(idata, var_names)
    n_draws = n_chains * idata.posterior.sizes["draw"]
    divergences = int(np.asarray(idata.sample_stats["diverging"]).sum())
    rhat_max, ess_min = thresholds(n_chains, n_draws)
    problems = []
    broken = _non_finite(idata, var_names)
    if broken:
        problems.append(f"non-finite draws (NaN or inf) for {named(broken)}")
    undefined = [
        v
        for v in summary.index[_undefined(summary, n_chains)].tolist()
        if _site(v) not in broken
    ]
    if undefined:
        problems.append(f"R-hat or ESS undefined (draws that never move?) for {named(undefined)}")
    if n_chains > 1:
        bad = summary["r_hat"] > rhat_max
        if bad.any():
            rhat = summary["r_hat"][bad]
            problems.append(f"R-hat > {rhat_max:.3g} for {named(rhat.index, rhat)}")
    for column in ("ess_bulk", "ess_tail"):
        bad = summary[column] < ess_min
        if bad.any():
            ess = summary[column][bad]
            problems.append(f"{column} < {ess_min:.0f} for {named(ess.index, -ess)}")
    at_cap = depth_saturated(idata.sample_stats, max_tree_depth)
    depth_share = float(np.mean(at_cap)) if at_cap is not None else float("nan")
    deep = depth_share > DEPTH_SHARE_MAX
    if divergences:
        advice = cause
        if cause is None:
            advice = (
                "reparametrise (a higher target_accept would lengthen the trees further)"
                if deep
                else "raise target_accept or reparametrise"
            )
        problems.append(f"{divergences} divergent transitions of {n_draws}: {advice}")
    elif (problems or deep) and cause is not None:
        problems.append(f"likely cause: {cause}")
    elif problems:
        problems.append(
            "more draws (draws=, warmup=) may help"
            if deep
            else "more draws (draws=, warmup=) or a higher target_accept may help"
        )
    if deep:
        problems.append(
            depth_problem(
                int(np.sum(at_cap)),
                n_draws,
                max_tree_depth,
                dense_mass,
                n_parameters(idata, var_names),
                warmup,
            )
        )
    if n_draws < MIN_STUDIED_DRAWS:  # first: it qualifies every other line
        problems.insert(0, too_few_problem(n_chains, n_draws))
    diag = Diagnostics(
        max_r_hat=float(summary["r_hat"].max()) if n_chains > 1 else float("nan"),
        min_ess_bulk=float(summary["ess_bulk"].min()),
        min_ess_tail=float(summary["ess_tail"].min()),
        divergences=divergences,
        n_draws=n_draws,
        problems=problems,
        rhat_bar=rhat_max,
        ess_bar=ess_min,
        depth_share=depth_share,
        n_chains=n_chains,
    )
    if warn and problems:
        warn_user("sampler trouble: " + "; ".join(problems), SamplerWarning)
    return diag


def depth_saturated(sample_stats, max_tree_depth: int = MAX_TREE_DEPTH) -> np.ndarray | None:
    """Per draw (chains, draws): did the trajectory run to the maximum tree depth? Read from
    ``n_steps`` (leapfrog steps: 2**max_tree_depth - 1 at the cap), else ``tree_depth``; None
    when ``sample_stats`` holds neither (fits saved before they were recorded)."""
    if "n_steps" in sample_stats:
        return np.asarray(sample_stats["n_steps"]) >= 2**max_tree_depth - 1
    if "tree_depth" in sample_stats:
        return np.asarray(sample_stats["tree_depth"]) >= max_tree_depth
    return None


def depth_problem(
    n_at_cap: int,
    n_draws: int,
    max_tree_depth: int,
    dense_mass: bool | None = None,
    n_params: int | None = None,
    warmup: int | None = None,
) -> str:
    """The problem line for ``n_at_cap`` of ``n_draws`` draws at the maximum tree depth.
    A dense mass matrix is advised only when the fit's was diagonal (``dense_mass`` False) or
    is not known (None); a dense fit is told what is left: warm-up, reparametrisation, fewer
    parameters (e.g. fewer groups or a simpler law). With ``n_params`` parameters too many for
    the warm-up (``warmup`` draws, None: ``DEFAULT_WARMUP``; :func:`dense_too_big`) a dense
    fit is told to use a diagonal matrix, and a diagonal one that a dense matrix needs a
    warm-up of ``DENSE_WARMUP_PER_PARAMETER`` draws per parameter."""
    too_big = n_params is not None and dense_too_big(n_params, warmup)
    needed = f"{DENSE_WARMUP_PER_PARAMETER * n_params} draws" if too_big else ""
    if dense_mass and too_big:
        remedy = (
            f"the dense mass matrix of {n_params} parameters is poorly estimated from a "
            f"warm-up of fewer than {needed}: use a diagonal one (dense_mass=False), warm up "
            f"longer (warmup={DENSE_WARMUP_PER_PARAMETER * n_params} or more), reparametrise "
            "or fit fewer parameters (fewer groups, a simpler law)"
        )
    elif dense_mass:
        remedy = (
            "the mass matrix is already dense; reparametrise, warm up longer (warmup=) or fit "
            "fewer parameters (fewer groups, a simpler law)"
        )
    elif too_big:
        remedy = (
            "reparametrise, warm up longer (warmup=) or fit fewer parameters (fewer groups, a "
            f"simpler law); a dense mass matrix (dense_mass=True) of {n_params} parameters "
            f"needs a warm-up of {needed} or more"
        )
    else:
        remedy = (
            "reparametrise, warm up longer (warmup=) or use a dense mass matrix (dense_mass=True)"
        )
    return (
        f"{n_at_cap} of {n_draws} draws ({n_at_cap / n_draws:.1%}, more than "
        f"{DEPTH_SHARE_MAX:.0%}) reached the maximum tree depth {max_tree_depth} "
        f"({2**max_tree_depth - 1} leapfrog steps): the sampler explores slowly; {remedy} -- a "
        "higher target_accept would lengthen the trees further"
    )


def dense_too_big(n_params: int, warmup: int | None = None) -> bool:
    """Whether ``n_params`` parameters are too many for a dense mass matrix estimated from
    ``warmup`` warm-up draws per chain (None: ``DEFAULT_WARMUP``): fewer than
    ``DENSE_WARMUP_PER_PARAMETER`` draws per parameter (200 parameters at 1000 draws)."""
    warmup = DEFAULT_WARMUP if warmup is None else warmup
    return n_params * DENSE_WARMUP_PER_PARAMETER > warmup


def n_parameters(idata: az.InferenceData, var_names: list[str]) -> int:
    """Elements of the sites ``var_names`` of ``idata.posterior`` (one per ArviZ label; a
    per-group site: one per group): about the size of the mass matrix (a fit's checked sites
    stand for its sampled ones: e.g. ``alpha_group`` for ``alpha_z``)."""
    posterior = idata.posterior
    return sum(int(np.prod(posterior[v].shape[2:], dtype=int)) for v in var_names)


def too_few_problem(n_chains: int, n_draws: int) -> str:
    """The problem line for a fit of ``n_draws`` draws in all (``n_chains`` chains), fewer than
    ``MIN_STUDIED_DRAWS``."""
    chains = f"{n_chains} chain" + ("s" if n_chains != 1 else "")
    return (
        f"{n_draws} draws in all ({chains} x {n_draws // max(n_chains, 1)}) are too few to "
        f"judge convergence: the R-hat and ESS bars were studied at {MIN_STUDIED_DRAWS} draws "
        "in all (2 x 150) and more; draw more (draws=, chains=)"
    )


def named(labels, badness=None) -> str:
    """``labels`` (parameters as ArviZ labels them, e.g. ``z_lr[8]``) as a problem line names
    them: the list itself, or with more than ``NAMES_SHOWN`` the first ``NAMES_SHOWN`` (the
    largest ``badness`` first when given, one figure per label) and how many more."""
    labels = [str(label) for label in labels]
    if len(labels) <= NAMES_SHOWN:
        return str(labels)
    if badness is not None:
        order = np.argsort(-np.asarray(badness, float), kind="stable")
        labels = [labels[i] for i in order]
    return f"{labels[:NAMES_SHOWN]} and {len(labels) - NAMES_SHOWN} more"


def _site(label: str) -> str:
    """The site of an ArviZ parameter label (``z_lr[8]`` -> ``z_lr``)."""
    return label.split("[", 1)[0]


def _non_finite(idata: az.InferenceData, var_names: list[str]) -> list[str]:
    """The sites among ``var_names`` with any NaN or infinite draw."""
    return [v for v in var_names if not np.isfinite(np.asarray(idata.posterior[v])).all()]


def _undefined(summary: pd.DataFrame, n_chains: int) -> np.ndarray:
    """Rows whose ESS (or, with several chains, R-hat) is NaN: a comparison with the bars
    would pass them silently."""
    columns = ["ess_bulk", "ess_tail"] + (["r_hat"] if n_chains > 1 else [])
    return summary[columns].isna().any(axis=1).to_numpy(bool)


def _one_chain_summary(idata: az.InferenceData, var_names: list[str]) -> pd.DataFrame:
    """Bulk and tail ESS per element of each site (rows labelled as ``az.summary`` labels them:
    ``alpha_group[math]``) of a one-chain fit, with R-hat NaN: ArviZ's summary would log a shape
    warning for the undefined R-hat at every call."""
    az_module = arviz()
    labeller = az_module.labels.BaseLabeller()  # az.summary's labels
    columns: dict = {}
    with quiet_arviz():
        for method in ("bulk", "tail"):
            ess = az_module.ess(idata, var_names=var_names, method=method)
            columns[f"ess_{method}"] = {
                labeller.make_label_flat(name, sel, isel): float(values)
                for name, sel, isel, values in az_module.sel_utils.xarray_var_iter(
                    ess, var_names=var_names
                )
            }
    labels = list(columns["ess_bulk"])
    return pd.DataFrame(
        {
            "ess_bulk": [columns["ess_bulk"][k] for k in labels],
            "ess_tail": [columns["ess_tail"][k] for k in labels],
            "r_hat": np.nan,
        },
        index=labels,
    )
