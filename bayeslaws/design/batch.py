"""Greedy batches of next runs and the ranking of single candidates, under the guardrails of
:mod:`.guardrails` and the costs of :mod:`.costs`.

Batches are chosen greedily, conditioning the joint Gaussian (:mod:`.gaussian`) on the runs
already picked. For a fixed number of units ``k`` without costs (``cost=None``) the Gaussian
information about all parameters is submodular and greedy is within 1 - 1/e of the best batch
of k; the information about a target is not always (two runs can be worth more together than
apart), so for targets greedy is a heuristic. With costs no such guarantee holds for the
per-cost rule alone.

Costs: ``cost="flops"`` uses the candidates' compute model (the one their generator recorded,
:func:`.candidates.candidates_model`, else the fit's; 6ND by default); a column name uses that
column (e.g. GPU-hours); ``cost=None`` ranks by information alone. Each pick maximises
value / cost**cost_power (1: per FLOP; the classical baselines of SL2 use 0.3). ``budget``
(FLOPs) keeps only the batches whose total compute fits (up to a relative ``BUDGET_RTOL``):
units that cost more are never offered, and the greedy batch stops when nothing affordable is
left. The per-cost rule alone can waste a budget (many cheap runs worth almost nothing before
the one costly run worth nats that no longer fits), so with a budget and costs the greedy is
also run by value alone (``cost_power=0``) and the batch with the larger total value
(``cumulative_info``) is returned, its ``greedy_rule`` column saying which: the standard
remedy of budgeted greedy (Leskovec et al. 2007, "Cost-effective outbreak detection"), which
for a submodular value (all parameters, ``cost="flops"``, ``cost_power=1``, no guardrails) is
within (1 - 1/e) / 2 of the best affordable batch. Otherwise it is a heuristic, and never
"the best affordable batch". ``flops_column`` names a column of the candidates holding each
run's FLOPs (e.g. a replay pool's nominal C where it differs from the compute model's): it then
replaces the compute model in the FLOPs, the budget and ``cost="flops"`` alike, so one measure
of compute is spent and reported.

Guardrails (:mod:`.guardrails`) hold across a campaign, not only within one batch:
:meth:`~.guardrails.Guardrails.after` adds the runs trained (or proposed) before, and the
repeat cap counts them with this batch's picks.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ..laws.contract import group_label
from ..posterior.draws import check_fit
from ..runs.checks import check_positive, check_probability
from ..runs.warn import user_stacklevel
from .bounds import LOW_ESS, MIN_ESS, SKIPPED_SHARE, JointReweighting, bounds
from .candidates import candidates_model, fill_units, group_text, positive_int
from .costs import unit_costs
from .gaussian import (
    CRITERIA,
    DesignWarning,
    Problem,
    WidthBasis,
    check_criterion,
    condition_rows,
    setup,
    unit_gains,
    unit_rows,
    width_basis,
    widths_after,
)
from .guardrails import (
    KEY_COLUMNS,
    Guardrails,
    GuardrailWarning,
    allowed,
    blocking_rules,
    design_keys,
    earlier_counts,
    law_key_columns,
    unmet_rules,
)
from .targets import HYPERPARAM_QUANTITIES, HyperparamOpt, as_targets

ESTIMATORS = ("gaussian", "reweighted")
SHORTLIST = 5  # units (by Gaussian value alone, besides the picks) the nonlinearity check values
DISAGREE = 1.5  # the factor between a pick's Gaussian and reweighted values that is flagged
BUDGET_RTOL = 1e-9  # relative slack of the budget (round-off in summed FLOPs)
UNSPENT_WARN = 0.5  # warn when the guardrails stop a fill with more than this share unspent
# the most picks a budget fill (k=None) makes, or one per candidate unit when there are more:
# with repeats allowed the cheapest unit could be picked budget / its FLOPs times (each pick
# costs a conditioning step and its rows in the conditioning matrix); k= asks for more
MAX_FILL_PICKS = 200
STOPS = ("done", "units", "budget", "guardrails", "cap", "unvalued")  # why a greedy batch ends
GREEDY_RULES = ("per_cost", "by_value")  # the greedy_rule column: value / cost**power, value
BOUND_ESTIMATORS = ("nmc", "pce", "reweighted")
CONFIRM_COLUMNS = (
    "gaussian_all",
    "nmc_all",
    "nmc_all_se",
    "pce_all",
    "pce_all_se",
    "gaussian",
    "reweighted",
    "reweighted_se",
    "ess_mean",
    "n_skipped",
)  # the bounds() columns next_runs(confirm=True) adds



def width_labels(table) -> list[str]:
    """The target components a design table's widths are of, in column order: the labels of
    its ``width_now[label]`` columns (e.g. "N_opt(C=1e+22)"); [] for a table without a target."""
    return [c[len("width_now[") : -1] for c in table.columns if str(c).startswith("width_now[")]


# ---- options, values and widths of the ranking and the batch -------------------------------
def _width_columns(
    rec: dict, p: Problem, basis: WidthBasis, post_var_u, left_u, cap=None
) -> np.ndarray:
    """width_now[label] (the draws' interval, natural scale) and width_after[label] (the
    interval expected after the unit and the earlier picks: :func:`.gaussian.widths_after`,
    on the same basis as width_now); returns the widths after (T,). ``post_var_u`` (T,): the
    target's Gaussian variances after (drift included); ``left_u`` (K, T): the drift
    coefficients left (``DP - MU[u]``); ``cap`` (T,): the widths after the earlier picks (one
    more run never widens the expected interval; the rebuilt draws' quantiles under a drift
    could, by Monte Carlo error), or None."""
    after = widths_after(basis, post_var_u, left_u)
    after = after if cap is None else np.minimum(after, cap)
    for j, lab in enumerate(p.tlabels):
        rec[f"width_now[{lab}]"] = basis.now[j]
        rec[f"width_after[{lab}]"] = after[j]
    return after


def _check_confirm(confirm) -> bool:
    """``confirm`` as a bool: True/False, or an integer >= 0 (> 0 counts as True)."""
    if isinstance(confirm, bool | np.bool_):
        return bool(confirm)
    return positive_int("confirm", confirm, 0) > 0


def _check_options(criterion, cost_power, budget, ci=0.9):
    check_probability("ci", ci)
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    if (
        isinstance(cost_power, bool)
        or not isinstance(cost_power, int | float)
        or not 0 <= cost_power <= 2
    ):
        raise ValueError(f"cost_power must be a number in [0, 2], got {cost_power!r}")
    return None if budget is None else check_positive("budget", budget, "FLOPs")


def _gains(p: Problem, W, DP, MU, criterion):
    """Values and posterior target variances of every unit (JAX, float64)."""
    gains, post_var = unit_gains(
        jnp.asarray(p.A),
        W,
        jnp.asarray(np.maximum(p.idx, 0)),
        jnp.asarray(p.noise_row),
        jnp.asarray(p.nuis),
        jnp.asarray(DP),
        jnp.asarray(MU),
        jnp.asarray(p.slope_var),
        n_target=p.n_target,
        criterion=criterion,
    )
    gains = np.asarray(gains)
    if not np.all(np.isfinite(gains)):
        raise ValueError(
            f"criterion={criterion!r}: the expected information is not finite for "
            f"{int((~np.isfinite(gains)).sum())} candidate unit(s) (a singular covariance of the "
            "target or the observations); nothing is ranked on it: use criterion='marginal'"
        )
    return gains, np.asarray(post_var)


def _score(gains, costs, cost_power):
    return gains if costs is None else gains / costs**cost_power


def _check_estimator(estimator, caller: str) -> None:
    if estimator not in ESTIMATORS:
        raise ValueError(
            f"estimator must be one of {ESTIMATORS} for {caller}, got {estimator!r}; use "
            f"bounds() for {BOUND_ESTIMATORS}"
        )


def _warn_low_ess(labels, ess, n_skipped, n_outer: int, p: Problem) -> None:
    """A :class:`DesignWarning` naming the units whose reweighted value rests on a mean ESS
    below ``LOW_ESS`` or skips more than ``SKIPPED_SHARE`` of the ``n_outer`` outer draws."""
    ess, n_skipped = np.asarray(ess, float), np.asarray(n_skipped, float)
    bad = np.flatnonzero((ess < LOW_ESS) | (n_skipped > SKIPPED_SHARE * n_outer))
    if not len(bad):
        return
    named = "; ".join(
        f"{labels[i]}: mean ESS {ess[i]:.1f}, {int(n_skipped[i])} of {n_outer} outcomes skipped"
        for i in bad[:5]
    )
    warnings.warn(
        f"the reweighted value of {len(bad)} unit(s) rests on few effective posterior draws "
        f"({named}; of {p.A.shape[0]} draws): outcomes whose weights' ESS is below {MIN_ESS:g} "
        "are skipped, which biases the value down and leaves it noisy (see info_se); use more "
        "posterior draws (a longer fit, or max_draws=None)",
        DesignWarning,
        stacklevel=user_stacklevel(),
    )


# ---- the ranking and the greedy batch ------------------------------------------------------------
def rank_candidates(
    fit,
    cands,
    target=None,
    *,
    cost="flops",
    cost_power: float = 1.0,
    criterion: str = "marginal",
    model: str | None = None,
    seed: int = 0,
    max_draws=None,
    ci: float = 0.9,
    group=None,
    flops_column: str | None = None,
    estimator: str = "gaussian",
) -> pd.DataFrame:
    """Every candidate's value alone, best first.

    Columns: the unit's columns (:func:`.gaussian.unit_rows`: N, D and C; a setting its runs
    differ in, such as a sweep's lr and batch_size, NaN with ``<col>_min``, ``<col>_max`` and
    ``<col>_values``; its runs: :func:`runs_of_plan`), ``group`` as in :func:`next_runs`, unit,
    n_runs, info (nats, or the variance reduction with ``criterion="v_optimal"``), flops, cost,
    info_per_flop, info_per_cost, ``width_now[label]`` and ``width_after[label]`` per target
    component (central ``ci`` interval on the natural scale: now, the draws'; after, the one
    expected once the unit is trained, :func:`.gaussian.widths_after`; without a drift
    ``ln(now / after)`` is the
    component's information in nats and, for the default criterion, the components' sum is
    ``info``; with a drift the draws' heavy tail makes a quantile width no Gaussian ratio of
    variances), sorted by info per cost (info alone with ``cost=None``). ``model``: the
    extrapolation method of the draws (:func:`.discrepancy.design_method`). ``estimator``:
    "gaussian" (default) or "reweighted" (importance reweighting of the draws, for a target:
    :class:`~.bounds.JointReweighting`; adds info_se, its Monte Carlo standard error, and
    info_ess, the mean effective sample size of its weights; a :class:`DesignWarning` when
    that is too low). The other arguments as in :func:`next_runs`. ``attrs["simulated_words"]``:
    the fit's SIMULATED words (:attr:`~bayeslaws.inference.Fit.simulated_words`), which
    ``bayeslaws.plot.design_ranking`` adds to its title.
    """
    _check_estimator(estimator, "rank_candidates")
    _check_options(criterion, cost_power, None, ci)
    p = setup(fit, cands, target, seed, max_draws, group, model)
    check_criterion(p, criterion)
    flops, costs, cost_name = unit_costs(fit, p, cost, flops_column)
    rw = None
    with jax.enable_x64(True):
        DP, MU = p.drift_terms([])
        if estimator == "reweighted":
            rw = JointReweighting(p, seed, criterion).values([], DP, MU)
            gains, post_var = rw["value"], rw["post_var"]
        else:
            gains, post_var = _gains(p, jnp.zeros((1, p.A.shape[1])), DP, MU, criterion)
    out = unit_rows(p)
    out["info"] = gains
    if rw is not None:
        out["info_se"] = rw["se"]
        out["info_ess"] = rw["ess"]
        _warn_low_ess(out["unit"].to_list(), rw["ess"], rw["n_skipped"], rw["n_outer"], p)
    out["flops"] = flops
    out["cost"] = flops if costs is None else costs
    out["info_per_flop"] = gains / flops
    if costs is not None and cost_name != "flops":
        out["info_per_cost"] = gains / costs
    basis = width_basis(p, ci)
    if basis is not None:
        extra = [{} for _ in range(len(out))]
        for u, rec in enumerate(extra):
            _width_columns(rec, p, basis, post_var[u], DP - MU[u])
        out = pd.concat([out, pd.DataFrame(extra)], axis=1)
    out["score"] = _score(gains, costs, cost_power)
    out = out.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
    return _labelled(with_group_label(out, fit, group), fit)


def with_group_label(table: pd.DataFrame, fit, group) -> pd.DataFrame:
    """``table`` (one row per unit) with a ``group`` column before ``unit``: the fit's own label
    (text, as an update matches runs by it) of ``group``, the fitted group the candidates were
    valued as, when the fit has group labels and the candidates gave no ``group`` column (e.g.
    :func:`~.candidates.isoflop_candidates`' lines): the picks and the runs to train
    (:func:`runs_of_plan`) then say which group they are for. A ``group`` column of the
    candidates' own is read as the fit reads it (:func:`.candidates.group_text`: 2.0 of its
    group "2" is "2", as the guardrails count it). As it is otherwise: for a new group
    (``group=None``: no label to give) and on a fit without groups."""
    if all(g is None for g in fit.posterior().groups):
        return table
    if "group" in table:
        return table.assign(group=[group_text(fit, g) for g in table["group"]])
    if group is None:
        return table
    label = group_label(fit.posterior().groups, group)
    out = table.copy()
    out.insert(out.columns.get_loc("unit") if "unit" in out else 0, "group", label)
    return out


def _labelled(table: pd.DataFrame, fit) -> pd.DataFrame:
    """``table`` with ``attrs["simulated_words"]``: the fit's :attr:`~bayeslaws.inference.Fit.
    simulated_words` (" (SIMULATED data)", " (partly SIMULATED data)" or ""), which a figure
    of the table (``bayeslaws.plot.design_ranking``) adds to its title."""
    table.attrs["simulated_words"] = fit.simulated_words
    return table


def _warn_short_batch(
    picked: list, k, n_units: int, budget, flops: np.ndarray, guardrails: Guardrails, stop: str
) -> None:
    """Say why the batch holds fewer units than asked (``k``), or none within ``budget``, by
    why the greedy stopped (``stop``, one of :data:`STOPS`): a budget that affords no (more)
    unit, every unit picked as often as the repeat cap allows, or else the guardrails (a unit
    the repeat cap allows again still fits the budget, so the budget did not stop the
    batch)."""
    n_picked = len(picked)
    if stop == "budget" and budget is not None and n_picked == 0:
        warnings.warn(
            f"the budget {budget:.3g} FLOPs affords no candidate unit (the cheapest costs "
            f"{float(np.min(flops)):.3g} FLOPs): the batch is empty",
            stacklevel=user_stacklevel(),
        )
    elif k is not None and n_picked < k:
        g = guardrails
        if stop == "budget":
            why = f"the budget {budget:.3g} FLOPs affords no more"
        elif stop == "units":
            why = (
                f"there are only {n_units} candidate unit(s), each picked at most "
                f"max_repeats={g.max_repeats} time(s) (Python: guardrails=Guardrails("
                "max_repeats=None) allows repeats; bayeslaws design keeps the defaults and "
                "counts the fit's own runs as earlier ones), or "
                "offer more candidates"
            )
        else:
            rules = f"max_repeats={g.max_repeats}, max_per_cell={g.max_per_cell}"
            units = _open_words(_open_units(budget, flops, picked, g.max_repeats), g)
            why = (
                f"the guardrails ({rules}) allow no more: the {units}"
                f"{' that fit the budget' if budget is not None else ''} repeat picked or "
                "earlier design points (or fill their cells); relax the guardrails (Python: "
                "guardrails=Guardrails(max_repeats=None); bayeslaws design keeps the "
                "defaults and counts the fit's own runs as earlier ones) "
                "or offer other candidates"
            )
        warnings.warn(
            f"asked for k={k} units, picked {n_picked}: {why}", stacklevel=user_stacklevel()
        )


def _below_cap(n_units: int, picked: list, max_repeats) -> np.ndarray:
    """Which of the ``n_units`` units were picked fewer than ``max_repeats`` times (None: no
    cap, all of them): those the repeat cap leaves open, their own design points aside (a
    boolean mask (U,)); with the default cap of 1, the unpicked units."""
    if max_repeats is None:
        return np.ones(n_units, bool)
    return np.bincount(np.asarray(picked, int), minlength=n_units) < max_repeats


def _open_units(budget, flops: np.ndarray, picked: list, max_repeats) -> np.ndarray:
    """The units (mask (U,)) the repeat cap leaves open (:func:`_below_cap`) that fit what
    ``budget`` leaves (:func:`_units_that_fit`)."""
    return _below_cap(len(flops), picked, max_repeats) & _units_that_fit(budget, flops, picked)


def _open_words(units: np.ndarray, guardrails: Guardrails) -> str:
    """``units`` (a mask) for a message: "3 unpicked unit(s)" under the default cap of one pick
    per unit, else "3 unit(s)"."""
    return f"{int(units.sum())} {'unpicked ' if guardrails.max_repeats == 1 else ''}unit(s)"


def _units_that_fit(budget, flops: np.ndarray, picked: list) -> np.ndarray:
    """Which units (``flops`` (U,)), picked or not, fit what ``budget`` (FLOPs; None: no limit)
    leaves after the ``picked`` ones: a boolean mask (U,)."""
    if budget is None:
        return np.ones(len(flops), bool)
    spent = float(flops[picked].sum()) if picked else 0.0
    return spent + flops <= _slack(budget)


def most_picks(flops: np.ndarray, k, budget, max_repeats) -> int:
    """The most picks a greedy batch can make (its steps, and the size of its conditioning
    matrix): ``k`` (None: a budget fill, at most :data:`MAX_FILL_PICKS` picks or one per
    candidate unit, whichever is more), at most ``max_repeats`` picks of each of the units
    (``flops`` (U,), FLOPs per unit; None: repeats without cap), and no more than ``budget``
    (FLOPs; None: no limit) affords, the cheapest units picked first."""
    U = len(flops)
    limit = max(MAX_FILL_PICKS, U) if k is None else k
    if max_repeats is not None:
        limit = min(limit, U * max_repeats)
    if budget is None:
        return int(limit)
    return min(int(limit), _affordable_picks(np.sort(flops), _slack(budget), max_repeats, limit))


def _affordable_picks(cheapest: np.ndarray, slack: float, max_repeats, limit: int) -> int:
    """How many picks of units costing ``cheapest`` (FLOPs, ascending) fit ``slack`` FLOPs,
    each unit at most ``max_repeats`` times (None: no cap), counted up to ``limit``."""
    if max_repeats is None:
        return int(min(limit, slack // cheapest[0]))
    full = np.cumsum(cheapest) * max_repeats  # the first j units, each max_repeats times
    j = int(np.searchsorted(full, slack, side="right"))
    if j == len(cheapest):
        return j * max_repeats
    left = slack - (full[j - 1] if j else 0.0)
    return j * max_repeats + int(left // cheapest[j])


def _at_an_optimum(target) -> bool:
    """Whether ``target`` holds a hyperparameter optimum (eta_opt or B_opt of a
    :class:`~.targets.HyperparamOpt`)."""
    if target is None:
        return False
    optima = {"eta_opt", "B_opt"}
    return any(
        isinstance(t, HyperparamOpt) and optima & set(HYPERPARAM_QUANTITIES[t.which])
        for t in as_targets(target)
    )


def _unreliable_units(rw: dict, units) -> list:
    """The ``units`` whose reweighted value (``rw``: :meth:`~.bounds.JointReweighting.values`)
    rests on too few effective posterior draws to compare: mean ESS below ``LOW_ESS``, more
    than ``SKIPPED_SHARE`` of the outer draws skipped, or no value at all (NaN)."""
    value, ess, skipped = (np.asarray(rw[k], float) for k in ("value", "ess", "n_skipped"))
    n_outer = rw["n_outer"]
    return [
        u
        for u in units
        if not (np.isfinite(value[u]) and ess[u] >= LOW_ESS)
        or skipped[u] > SKIPPED_SHARE * n_outer
    ]


def _unchecked_words(p, rw: dict, units: list) -> str:
    """Why the linearisation check could not be made for ``units`` (:func:`_unreliable_units`):
    each unit's mean ESS and skipped outcomes, and the remedy."""
    named = "; ".join(
        f"{p.labels[u]}: mean ESS {rw['ess'][u]:.1f}, {int(rw['n_skipped'][u])} of "
        f"{rw['n_outer']} outcomes skipped"
        for u in units[:5]
    )
    more = f" and {len(units) - 5} more" if len(units) > 5 else ""
    return (
        f"for {len(units)} unit(s) ({named}{more}; of {p.A.shape[0]} posterior draws) the "
        "check could not be made reliably: their reweighted values rest on a mean ESS below "
        f"{LOW_ESS:g} or skip more than {SKIPPED_SHARE:.0%} of the outcomes, too few effective "
        "draws to claim that the two values agree or disagree; a fit with more draws (draws=, "
        "--draws on the command line; in Python also max_draws=None) makes the check"
    )


def _check_linearisation(p, picked, costs, power, flops, budget, seed, criterion, law) -> None:
    """A :class:`DesignWarning` when the Gaussian values of a law whose runs depend on the
    target's optimum nonlinearly (``law.nonlinear_optima``) disagree with reweighting: the
    picks and the ``SHORTLIST`` units of largest Gaussian score alone (affordable ones, with a
    budget), each valued alone both ways (as ``confirm=True``), and flagged when a pick's two
    values differ by more than a factor ``DISAGREE``, or reweighting reorders the shortlist
    (each beyond 2 Monte Carlo standard errors). Units whose reweighted value rests on too few
    effective draws (:func:`_unreliable_units`) are left out of both comparisons, and the
    warning says the check could not be made reliably for them."""
    with jax.enable_x64(True):
        DP, MU = p.drift_terms([])
        gauss, _ = _gains(p, jnp.zeros((1, p.A.shape[1])), DP, MU, criterion)
        scale = np.ones(len(gauss)) if costs is None else np.asarray(costs, float) ** power
        g_score = gauss / scale
        fits = np.ones(len(gauss), bool) if budget is None else flops <= _slack(budget)
        order = [u for u in np.argsort(-g_score, kind="stable") if fits[u]]
        short = list(dict.fromkeys([*picked, *order[:SHORTLIST]]))
        rw = JointReweighting(p, seed, criterion).values([], DP, MU, units=short)
    value, se = rw["value"], rw["se"]
    unchecked = _unreliable_units(rw, short)
    checked = [u for u in short if u not in unchecked]
    problems = []
    for u in [u for u in picked[:3] if u in checked]:
        g, r = gauss[u], value[u]
        ratio = max(g, r) / max(min(g, r), 1e-12)
        if ratio > DISAGREE and abs(g - r) > 2 * se[u]:
            problems.append(
                f"{p.labels[u]} is worth {g:.3g} by the Gaussian value but {r:.3g} +- "
                f"{se[u]:.2g} by reweighting"
            )
    r_score, r_se = value / scale, se / scale
    by_gauss = sorted(checked, key=lambda u: -g_score[u])
    reordered = any(
        r_score[b] - r_score[a] > 2 * np.hypot(r_se[a], r_se[b])
        for i, a in enumerate(by_gauss)
        for b in by_gauss[i + 1 :]
    )
    if reordered:
        by_rw = sorted(checked, key=lambda u: -r_score[u])
        what = "info" if costs is None or power == 0 else f"info / cost**{power:g}"
        problems.append(
            f"by {what} reweighting ranks the shortlisted units "
            f"{' > '.join(f'{p.labels[u]} ({value[u]:.3g} nats)' for u in by_rw)}, the Gaussian "
            f"value {' > '.join(f'{p.labels[u]} ({gauss[u]:.3g})' for u in by_gauss)}"
        )
    if not problems and not unchecked:
        return
    why = (
        f"law {law.name!r} predicts its runs' losses nonlinearly in the hyperparameter optimum "
        "the target is (a bowl about it: a sweep centred on the optimum depends on it "
        "quadratically, so its linear correlation nearly vanishes)"
    )
    if problems:
        message = (
            f"{why}, and the Gaussian (linearised) values disagree with reweighting, each unit "
            f"alone: {'; '.join(problems)}; pick with estimator='reweighted' (command line: "
            "bayeslaws design FIT.nc ... --estimator reweighted)"
        )
        if unchecked:
            message += f"; {_unchecked_words(p, rw, unchecked)}"
    else:
        message = (
            f"{why}, so its Gaussian (linearised) values are checked against reweighting, each "
            f"unit alone, but {_unchecked_words(p, rw, unchecked)}"
        )
    warnings.warn(message, DesignWarning, stacklevel=user_stacklevel())


def next_runs(
    fit,
    cands,
    target=None,
    *,
    cost="flops",
    k: int | None = 3,
    budget: float | None = None,
    cost_power: float = 1.0,
    criterion: str = "marginal",
    model: str | None = None,
    estimator: str = "gaussian",
    guardrails: Guardrails | None = None,
    confirm: bool = False,
    seed: int = 0,
    max_draws=None,
    ci: float = 0.9,
    group=None,
    flops_column: str | None = None,
) -> pd.DataFrame:
    """The next runs (units) to train: a batch chosen greedily with conditioning (each pick the
    best value / cost**cost_power given the earlier picks), in pick order.

    Parameters
    ----------
    fit : a fit of any law (loss surface, isoFLOP, hyperparameter laws).
    cands : candidate runs (DataFrame with the law's run columns; ``unit`` groups rows).
    target : :class:`~.targets.Loss`, :class:`~.targets.NOpt`, :class:`~.targets.HyperparamOpt`,
        :class:`~.targets.AllParameters` (default) or a list of targets (joint information).
    cost : "flops" (the candidates' compute model: the one their generator recorded, else the
        fit's), a column of ``cands`` (e.g. GPU-hours), or None (rank by information alone).
        Each pick maximises value / cost**cost_power.
    k : number of units to pick (a unit picked twice, as ``guardrails`` may allow, counts
        twice); None (with ``budget``): as many as the budget allows, at most
        ``MAX_FILL_PICKS`` (200) picks or one per candidate unit, whichever is more (a warning
        says when that stops the fill; a larger ``k`` asks for more).
    budget : the compute the batch may spend, in FLOPs (as ``cost="flops"``; up to a relative
        ``BUDGET_RTOL``): no unit costing more is offered and the batch stops when nothing
        affordable is left. With costs the greedy is run twice, per cost and by value alone
        (``cost_power=0``), and the batch of larger total value (``cumulative_info``) is
        returned (``greedy_rule`` says which): per cost alone can spend a sliver of the budget
        on cheap runs worth almost nothing while the one costly run worth nats no longer fits.
        A heuristic, not the best affordable batch (for all parameters with ``cost="flops"``,
        ``cost_power=1`` and no guardrails within (1 - 1/e) / 2 of it). With ``k=None`` a
        warning says when the guardrails stop the fill with most of the budget unspent, or
        the fill stops at its most picks. None: no limit.
    cost_power : the exponent of the cost in the score (default 1: information per FLOP).
    criterion : "marginal" (default: the expected information about each target component,
        summed; D-optimal for all parameters), "info" (the joint information about the target
        components, log det; the same for a scalar target) or "v_optimal" (reduction of the
        summed variance of the target components). "info" needs a non-singular covariance of
        the target components (no duplicated components, fewer components than draws).
    model : the extrapolation method of the draws (:func:`.discrepancy.design_method`; None:
        "none" for a law that is not widened (sweep, hyperparams, isoflop: their new points
        carry their own scatter), else the package default if it carries the discrepancy of
        the true loss surface, else "drift"; "none": the fitted law alone, the classical
        design).
    estimator : "gaussian" (default: the linearised value, fast) or "reweighted" (for a
        target: importance reweighting of the posterior draws on outcomes simulated from them,
        each later pick valued jointly with the earlier picks' outcomes,
        :class:`~.bounds.JointReweighting`; adds info_se, the Monte Carlo standard error of
        info, and info_ess, the mean effective sample size of its weights, with a
        :class:`DesignWarning` when that is too low; costs ~k x U x S^2 x m likelihood terms,
        thin with ``max_draws``). Use it for LR x batch sweeps aimed at eta_opt or B_opt,
        where a run's loss depends on the optimum quadratically and the Gaussian value
        undervalues and misranks them: with "gaussian", a law whose runs depend on the target
        optimum nonlinearly (``Law.nonlinear_optima``) has its picks checked against each
        unit's reweighted value alone, and a :class:`DesignWarning` says when they disagree.
        See :func:`~.bounds.bounds` to confirm with nested Monte Carlo / PCE.
    guardrails : :class:`Guardrails` (default ``Guardrails()``: no repeats in a batch, never a
        batch along one tokens-per-parameter ratio); ``Guardrails().after(trained_runs)`` makes
        the caps campaign-wide. ``Guardrails(None, False)`` switches them off.
    confirm : True adds the columns of :func:`~.bounds.bounds` (same ``criterion``) for every
        pick, each alone (not conditioned on the batch): gaussian_all, nmc_all, pce_all (all
        parameters, with their Monte Carlo standard errors nmc_all_se, pce_all_se) and, with a
        target, gaussian (the outcome's information alone, without the drift term ``info``
        includes), reweighted (and reweighted_se), ess_mean and n_skipped. NMC / PCE bound the
        outcome's information, never the drift term: compare them with gaussian, not info. A
        switch (an integer > 0 counts as True).
    seed, max_draws : seeding and thinning of the posterior draws.
    ci : interval mass of the reported widths, in (0, 1).
    group : the group the candidate runs belong to (grouped fits; None: the one label of the
        candidates' ``group`` column when they carry one, else a new group). For a grouped fit
        a ``group`` column must hold one label, equal to ``group`` when both are given
        (ValueError otherwise): the values and the guardrails then count the same group. A
        column label the fit does not know (e.g. "Comma" for "comma") is valued as a NEW group,
        with a :class:`~.candidates.GroupWarning` naming it and the fit's groups (a ``group=``
        the fit does not know is refused, as by ``predict``). The guardrails tell groups apart
        by the candidates' ``group`` column, else this label. The target keeps its own group
        (``Loss(..., group=)`` etc.; its default None is a NEW group, as in ``predict``): when
        it differs from the candidates' (e.g. comma's candidates, ``NOpt(1e22)`` a new
        group's, whose interval is much wider), a ``GroupWarning`` says so and how to align
        them; the target is never re-grouped silently.
    flops_column : a column of ``cands`` with each run's FLOPs (e.g. a replay pool's nominal C),
        used for the FLOPs, the budget and ``cost="flops"`` instead of the compute model. None:
        the compute model.

    Returns
    -------
    DataFrame, one row per pick in pick order: the unit's columns (:func:`.gaussian.unit_rows`:
    N, D and C; a setting its runs differ in, such as a sweep's lr and batch_size, NaN with
    ``<col>_min``, ``<col>_max`` and ``<col>_values``, the count of distinct values; the runs
    to train, each with its setting: :func:`runs_of_plan`), on a grouped fit ``group`` (the
    candidates' own column, else the fit's label of ``group``: :func:`with_group_label`), unit,
    n_runs, rank, info (marginal value given the earlier picks; nats), info_se and info_ess
    (estimator "reweighted"), cumulative_info, flops, cost, info_per_flop (marginal),
    cumulative_flops, ``width_now[label]`` and ``width_after[label]`` per target
    component (expected width of the target interval after this and all earlier picks,
    :func:`.gaussian.widths_after`: without a drift, for a scalar target,
    ``ln(width_now / width_after)`` is cumulative_info), guardrail ("" for the best
    affordable unit; "restricted: <rules>" when guardrails refused a better one, naming each
    rule that did: max_repeats, max_per_cell (both count earlier runs too,
    :meth:`Guardrails.after`), ratio_diversity, min_size_spread; "relaxed" when the ratio/size
    rules were relaxed), greedy_rule ("per_cost": each pick maximised
    value / cost**cost_power; "by_value": value alone, chosen with a budget when its batch is
    worth more), and the confirm columns. Empty (no rows) when nothing is affordable.
    ``attrs["simulated_words"]``: as :func:`rank_candidates`'.
    """
    _check_estimator(estimator, "next_runs (the greedy batch)")
    budget = _check_options(criterion, cost_power, budget, ci)
    confirm = _check_confirm(confirm)
    if k is None and budget is None:
        raise ValueError("k=None (fill the budget) needs a budget in FLOPs")
    k = None if k is None else positive_int("k", k)
    guardrails = Guardrails() if guardrails is None else guardrails
    if not isinstance(guardrails, Guardrails):
        raise ValueError(f"guardrails must be a bayeslaws.design.Guardrails, got {guardrails!r}")
    p = setup(fit, cands, target, seed, max_draws, group, model)
    check_criterion(p, criterion)
    flops, costs, _ = unit_costs(fit, p, cost, flops_column)
    U = len(p.labels)
    n_picks = most_picks(flops, k, budget, guardrails.max_repeats)
    per_cost, by_value = GREEDY_RULES
    powers = {per_cost: cost_power}
    if budget is not None and costs is not None and cost_power > 0:
        powers[by_value] = 0.0  # the budgeted greedy's remedy: also by value alone
    keyed = law_key_columns(fit.law)
    reweighting = None
    if estimator == "reweighted":
        with jax.enable_x64(True):
            reweighting = JointReweighting(p, seed, criterion)
    setting = _Greedy(
        p, flops, costs, criterion, guardrails, k, budget, n_picks, group, ci, keyed, reweighting
    )
    batches = {rule: _greedy(setting, power) for rule, power in powers.items()}
    rule = max(batches, key=lambda r: batches[r][1])  # ties: the first, per cost
    records, total, caught, stop = batches[rule]
    for w in caught:  # the chosen batch's warnings only
        warnings.warn(w.message, w.category, stacklevel=user_stacklevel())
    picked = [rec.pop("_unit") for rec in records]
    if reweighting is not None and records:
        skipped = [rec.pop("_skipped") for rec in records]
        ess = [rec["info_ess"] for rec in records]
        n_outer = len(reweighting.outer)
        _warn_low_ess([p.labels[u] for u in picked], ess, skipped, n_outer, p)
    elif records and fit.law.nonlinear_optima and _at_an_optimum(target):
        power = 0.0 if rule == by_value else cost_power
        _check_linearisation(p, picked, costs, power, flops, budget, seed, criterion, fit.law)
    if stop != "unvalued":  # else the batch's DesignWarning already says why it is short
        _warn_short_batch(picked, k, U, budget, flops, guardrails, stop)
        if k is None:
            _warn_unspent(budget, flops, picked, guardrails, stop, n_picks)
    out = pd.DataFrame(records)
    if out.empty:
        rows = unit_rows(p)
        empty = pd.DataFrame(columns=list(rows.columns) + ["rank", "info", "flops", "cost"])
        return _labelled(with_group_label(empty, fit, group), fit)
    out["cumulative_flops"] = out["flops"].cumsum()
    out["greedy_rule"] = rule
    if confirm:
        chosen = p.cands[np.isin(p.row_unit, picked)]
        b = bounds(
            fit,
            chosen,
            target,
            seed=seed,
            max_draws=max_draws,
            group=group,
            model=model,
            criterion=criterion,
        )
        b = b.set_index("unit").loc[[p.labels[u] for u in picked]]
        for col in CONFIRM_COLUMNS:
            if col in b:
                out[col] = b[col].to_numpy()
    return _labelled(with_group_label(out, fit, group), fit)


def runs_of_plan(cands: pd.DataFrame, plan: pd.DataFrame, fit=None) -> pd.DataFrame:
    """The runs to train for ``plan`` (:func:`next_runs` of ``cands``, one row per pick): every
    row of ``cands`` in a unit the plan picked, once per pick (a unit picked twice, as
    :class:`Guardrails` may allow, gives its runs twice: each with that pick's rank and
    values), in the plan's order (a unit's runs in the candidates' order), with the
    candidates' own row labels (index; repeated for a repeated pick) and columns.

    Added columns: ``unit`` (the label :func:`next_runs` gave the unit: the candidates' own, a
    row without one ``"row i"`` and candidates without a ``unit`` column the row's position i,
    as :func:`.candidates.check_candidates` labels them), ``rank``, and the plan's values of the
    unit (n_runs, info, cumulative_info, flops, cost, guardrail, greedy_rule, widths ...: of
    the whole unit, repeated on each of its runs; a run's own FLOPs are its C). With ``fit``,
    N, D and C are numbers and a missing D or C is completed by the candidates' compute model
    (:func:`.candidates.candidates_model`), as :func:`next_runs` completes them. An empty plan
    gives no rows; a unit of the plan that ``cands`` does not hold is refused (ValueError
    naming it: the plan was made from other candidates)."""
    if fit is not None:
        check_fit(fit)
    labelled = cands.reset_index(drop=True)
    if "unit" in labelled:
        labelled = labelled[["unit"]].copy()
        fill_units(labelled)
        labels = labelled["unit"].to_numpy(object)
    else:
        labels = np.arange(len(cands))
    order = list(plan["unit"]) if "unit" in plan else []
    ranks = plan["rank"].to_numpy() if "rank" in plan else np.arange(1, len(plan) + 1)
    rows_of: dict = {}  # unit label -> its rows' positions in cands, in the candidates' order
    for r, unit in enumerate(labels):
        rows_of.setdefault(unit, []).append(r)
    missing = [unit for unit in order if unit not in rows_of]
    if missing:
        raise ValueError(
            f"plan['unit'] names unit(s) {missing[:10]} that cands does not hold: give the "
            "candidates the plan was made from"
        )
    rows, at = plan_rows(order, rows_of)
    out = cands.iloc[rows].copy()
    out["unit"] = labels[rows]
    out["rank"] = ranks[at] if len(rows) else np.array([], int)
    if fit is not None:
        out = _completed(fit, cands, out)
    own = set(cands.columns) | {"N", "D", "C", "unit", "rank"}
    for col in (c for c in plan.columns if c not in own):
        out[col] = plan[col].to_numpy()[at] if len(rows) else plan[col].iloc[:0].to_numpy()
    return out


def plan_rows(order: list, rows_of: dict) -> tuple[np.ndarray, np.ndarray]:
    """(positions in the candidates of every run to train, the plan row (pick) each belongs
    to), both (n_runs,) ints: per pick of ``order`` (the plan's units, in plan order; a unit
    picked twice is there twice) its unit's rows (``rows_of``: label -> positions), once per
    pick."""
    rows = [r for unit in order for r in rows_of[unit]]
    at = [i for i, unit in enumerate(order) for _ in rows_of[unit]]
    return np.asarray(rows, int), np.asarray(at, int)


def _completed(fit, cands: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` (rows of ``cands``) with N, D and C as numbers, a missing D or C from the
    candidates' compute model."""
    model = candidates_model(fit, cands)
    for col in (c for c in ("N", "D", "C") if c in runs):
        runs[col] = runs[col].astype(float)
    if "D" not in runs and "C" in runs:
        runs["D"] = np.asarray(model.tokens(runs["N"], runs["C"]), float)
    if "C" not in runs and "D" in runs:
        runs["C"] = np.asarray(model.flops(runs["N"], runs["D"]), float)
    return runs


def _slack(budget: float) -> float:
    """The most a batch may spend under ``budget`` (FLOPs): ``budget * (1 + BUDGET_RTOL)``,
    the one tolerance of every budget test (the pre-count and each pick)."""
    return budget * (1 + BUDGET_RTOL)


def _warn_unspent(
    budget: float, flops: np.ndarray, picked: list, guardrails: Guardrails, stop: str, n_picks: int
) -> None:
    """Warn when a batch filling ``budget`` (k=None) stopped (``stop``, one of :data:`STOPS`)
    before the budget did: the guardrails (repeat and per-cell caps) refused the units that
    still fit and the repeat cap leaves open (:func:`_open_units`), with most of the budget
    unspent, or the fill made its ``n_picks``, the most it makes (:func:`most_picks`). A fill
    that picked every unit as often as the repeat cap allows says nothing (as a batch of k
    says "there are only U candidate unit(s)")."""
    spent = float(flops[picked].sum()) if picked else 0.0
    fits = _units_that_fit(budget, flops, picked)
    spends = f"the batch spends {spent:.3g} of the budget {budget:.3g} FLOPs ({spent / budget:.1%})"
    if stop == "guardrails" and spent < UNSPENT_WARN * budget:
        g = guardrails
        units = _open_words(_open_units(budget, flops, picked, g.max_repeats), g)
        warnings.warn(
            f"{spends} although {units} still fit it: the "
            f"guardrails (max_repeats={g.max_repeats}, max_per_cell={g.max_per_cell}) allow no "
            "more picks; relax them to spend the budget (Python: guardrails=Guardrails("
            "max_repeats=None), or a larger max_per_cell)",
            stacklevel=user_stacklevel(),
        )
    elif stop == "cap":
        warnings.warn(
            f"{spends}: it stopped at {n_picks} picks, the most a budget fill (k=None) makes "
            f"({MAX_FILL_PICKS}, or one per candidate unit when there are more; each pick "
            f"conditions the next), although {int(fits.sum())} candidate unit(s) still fit; ask "
            "for more picks with k= (a number of units) to spend more of the budget",
            stacklevel=user_stacklevel(),
        )


def _warn_unvalued(
    p: Problem, units: np.ndarray, n_skipped: np.ndarray, n_outer: int, n_picked: int
) -> None:
    """DesignWarning that the batch stops: the allowed next ``units`` (indices) cannot be
    valued by reweighting given the ``n_picked`` earlier picks (``n_skipped`` (U,): simulated
    outcomes skipped per unit, of ``n_outer``)."""
    named = ", ".join(f"{p.labels[u]}: {int(n_skipped[u])} of {n_outer}" for u in units[:10])
    more = f" and {len(units) - 10} more" if len(units) > 10 else ""
    warnings.warn(
        f"the {len(units)} unit(s) allowed next (by the repeat and cell caps and the budget) "
        f"cannot be valued by reweighting given the {n_picked} earlier pick(s) (outcomes "
        f"skipped: {named}{more}; an outcome is skipped when its weights' ESS falls below "
        f"{MIN_ESS:g} of the {p.A.shape[0]} draws): the batch stops here, and allowing "
        "repeats would not help: use more posterior draws (a longer fit, or max_draws=None)",
        DesignWarning,
        stacklevel=user_stacklevel(),
    )


@dataclass(frozen=True)
class _Greedy:
    """What one greedy pass over the units needs (:func:`_greedy`): the problem, FLOPs and
    costs per unit (U,), criterion, guardrails, ``k``, ``budget`` (FLOPs or None), the number of
    picks that can fit, the candidates' group, the interval mass ``ci``, the columns that key
    a design point for the guardrails (:func:`law_key_columns`) and the reweighted values
    (estimator "reweighted"; None: the Gaussian)."""

    p: Problem
    flops: np.ndarray
    costs: np.ndarray | None
    criterion: str
    guardrails: Guardrails
    k: int | None
    budget: float | None
    n_picks: int
    group: object
    ci: float
    key_columns: tuple = KEY_COLUMNS
    reweighting: JointReweighting | None = None


def _greedy(g: _Greedy, cost_power: float) -> tuple[list, float, list, str]:
    """One greedy batch, each pick maximising value / cost**cost_power among the affordable
    units the guardrails allow, given the earlier picks: (records (one dict per pick, its unit
    index under ``_unit``), the batch's total value (the sum of the conditional gains; nats),
    the warnings it raised (recorded, for the caller to re-raise if it keeps this batch),
    why it stopped (:data:`STOPS`: "done", k picks; "budget", no unit fits what is left;
    "guardrails", the repeat and cell caps refuse every unit that fits; "cap", a budget fill
    made the most picks it makes (:func:`most_picks`); "unvalued", the units allowed next
    cannot be valued by reweighting, which a DesignWarning says))."""
    p, flops, costs, budget, k = g.p, g.flops, g.costs, g.budget, g.k
    U, m = p.idx.shape
    keys = design_keys(p.cands, p.row_unit, U, g.group, g.key_columns)
    rows = unit_rows(p)
    ratio = (rows["D"] / rows["N"]).to_numpy(float)
    sizes = rows["N"].to_numpy(float)
    obs_var = p.obs_var
    held = earlier_counts(g.guardrails, keys)  # the earlier runs near each unit: once a batch
    picked, records, total, spent = [], [], 0.0, 0.0
    stop = None
    basis, cap = width_basis(p, g.ci), None
    head = p.head
    n_outer = 0 if g.reweighting is None else len(g.reweighting.outer)
    with warnings.catch_warnings(record=True) as caught, jax.enable_x64(True):
        warnings.simplefilter("always")
        Aj = jnp.asarray(p.A)
        nuis_j = jnp.asarray(p.nuis)
        W = jnp.zeros((g.n_picks * m + 1, p.A.shape[1]))  # fixed shape: one compile per batch
        n_w = 0
        for step in range(g.n_picks):
            DP, MU = p.drift_terms(picked)
            rw = None
            if g.reweighting is None:
                gains, post_var = _gains(p, W, DP, MU, g.criterion)
            else:
                rw = g.reweighting.values(picked, DP, MU)
                gains, post_var = rw["value"], rw["post_var"]
            score = _score(gains, costs, cost_power)
            left = None if k is None else k - step
            ok = allowed(g.guardrails, picked, keys, ratio, sizes, left, held)
            valued = np.isfinite(gains)  # reweighted: NaN where no outcome kept ESS >= MIN_ESS
            score = np.where(valued, score, -np.inf)
            fits = np.ones(U, bool) if budget is None else spent + flops <= _slack(budget)
            # Gaussian: an unvalued unit is left out like an unaffordable one; reweighted:
            # the guardrails and budget choose first, valuedness is judged after
            affordable = fits & valued if rw is None else fits
            if budget is not None and not affordable.any():
                stop = _why_stopped(g, picked, keys, ratio, sizes)
                break
            ok_all = ok
            ok = ok & affordable
            note = ""
            relaxed = False
            if not ok.any():
                loose = replace(g.guardrails, ratio_diversity=False, min_size_spread=None)
                ok = affordable & allowed(loose, picked, keys, ratio, sizes, left, held)
                if not ok.any():
                    stop = _why_stopped(g, picked, keys, ratio, sizes)
                    break
                relaxed = True
            if rw is not None:
                fresh = ok.copy()
                fresh[picked] = False
                pool = fresh if fresh.any() else ok  # never fill up with repeats of a pick
                if not (pool & valued).any():
                    _warn_unvalued(p, np.flatnonzero(pool), rw["n_skipped"], n_outer, len(picked))
                    stop = "unvalued"
                    break
                ok, affordable = ok & valued, affordable & valued
            if relaxed:
                warnings.warn(
                    "no candidate satisfies the ratio/size guardrails for this pick; relaxing them",
                    GuardrailWarning,
                    stacklevel=user_stacklevel(),
                )
                note = "relaxed"
            elif not ok_all.all():
                best = int(np.argmax(np.where(affordable, score, -np.inf)))
                if np.argmax(np.where(ok, score, -np.inf)) != best:
                    rules = blocking_rules(
                        g.guardrails, best, picked, keys, ratio, sizes, left, held
                    )
                    note = f"restricted: {', '.join(rules)}"
            u = int(np.argmax(np.where(ok, score, -np.inf)))
            picked.append(u)
            total += gains[u]
            spent += flops[u]
            obs_rows = p.idx[u][p.idx[u] >= 0]
            newW = condition_rows(
                Aj, W, jnp.asarray(obs_rows + head), jnp.asarray(obs_var[obs_rows]), nuis_j[u]
            )
            W = W.at[n_w : n_w + len(obs_rows)].set(newW)
            n_w += len(obs_rows)
            rec = {c: rows[c].iloc[u] for c in rows.columns}  # each column's own dtype
            rec.update(
                rank=step + 1,
                info=gains[u],
                cumulative_info=total,
                flops=flops[u],
                cost=flops[u] if costs is None else costs[u],
                info_per_flop=gains[u] / flops[u],
                guardrail=note,
                _unit=u,
            )
            if rw is not None:
                rec.update(info_se=rw["se"][u], info_ess=rw["ess"][u], _skipped=rw["n_skipped"][u])
            if basis is not None:
                cap = _width_columns(rec, p, basis, post_var[u], DP - MU[u], cap)
            records.append(rec)
        _warn_ended_early(g.guardrails, picked, ratio, sizes, records)
    if stop is None:  # every step picked
        stop = _why_stopped(g, picked, keys, ratio, sizes)
    return records, float(total), list(caught), stop


def _warn_ended_early(
    guardrails: Guardrails, picked: list, ratio: np.ndarray, sizes: np.ndarray, records: list
) -> None:
    """The ratio and size rules for a batch that ended before the pick that applies them (the
    budget, the candidates or the caps allowed no more): when its >= 2 ``picked`` units break
    either (:func:`unmet_rules`; ``ratio``: D/N, ``sizes``: N, per unit (U,)), one
    :class:`GuardrailWarning` naming each and its last pick's ``guardrail`` set to "relaxed"
    in ``records`` (as a relaxed last pick is), unless a pick was relaxed already (it said
    so)."""
    if len(picked) < 2 or any(rec["guardrail"] == "relaxed" for rec in records):
        return
    unmet = unmet_rules(guardrails, ratio[picked], sizes[picked])
    if not unmet:
        return
    names = " and ".join(name for name, _, _ in unmet)
    shown = "; ".join(what for _, what, _ in unmet)
    offer = " or ".join(fix for _, _, fix in unmet)
    verb = "is" if len(unmet) == 1 else "are"
    warnings.warn(
        f"the batch ended after {len(picked)} picks (nothing more is affordable or allowed), "
        f"before its last pick could apply {names}: {shown}, so {names} {verb} relaxed for "
        f"this batch (its last pick's guardrail says 'relaxed'); offer {offer}, or a budget "
        "that affords one",
        GuardrailWarning,
        stacklevel=user_stacklevel(),
    )
    records[-1]["guardrail"] = "relaxed"


def _why_stopped(g: _Greedy, picked: list, keys, ratio, sizes) -> str:
    """Why a greedy pass ends after ``picked`` (:data:`STOPS`): "done" (k picks); "units" (every
    unit picked as often as the repeat cap allows); "budget" (none of the units the cap leaves
    open fits what is left); "guardrails" (the repeat and cell caps refuse the open units
    that fit: an earlier or shared design point, a full cell); else, after all of its
    ``g.n_picks`` picks (:func:`most_picks`), "cap" for a budget fill (k=None: it made the
    most picks it makes) and "budget" with k (the count of picks the budget affords bound
    it)."""
    if g.k is not None and len(picked) >= g.k:
        return "done"
    below = _below_cap(len(g.flops), picked, g.guardrails.max_repeats)
    fits = _units_that_fit(g.budget, g.flops, picked)
    if not below.any():
        return "units"
    if not (below & fits).any():
        return "budget"
    loose = replace(g.guardrails, ratio_diversity=False, min_size_spread=None)
    if not (fits & allowed(loose, picked, keys, ratio, sizes, None)).any():
        return "guardrails"
    if g.k is None:
        return "cap"
    return "budget" if g.budget is not None else "guardrails"
