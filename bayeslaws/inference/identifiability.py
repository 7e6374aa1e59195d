"""Can the run table pin the law down? Checked before sampling, so that a fit of too few runs
says why its posterior is wide (or its sampler struggles) and what to add, instead of only
reporting low ESS afterwards.

Checks (through the law's contract only):

* observations against parameters: the observed values must outnumber the law's parameters (those
  of its priors, the likelihood's noise among them, that its model samples on these runs:
  :func:`sampled_sites`); with fewer, some parameters are set by their priors alone and NUTS
  mixes badly;
* distinct model sizes and token counts (for laws whose runs vary N and D): an exponent, its
  amplitude and a shared floor need at least ``MIN_LEVELS`` distinct values of each; with two,
  the exponent rests on two points and the floor is not separable from the amplitude. A law
  whose N and D enter only through optima laws linear in ln N and ln D, with no floor (the
  hyperparameter laws with a free loss level per cell), has its exponents identified by two
  values (a line through two points): it gets a caveat (warned, not returned as a problem:
  it is no cause of sampler trouble), since the straight line cannot be checked;
* the range of N and of D: an exponent is the slope of ln loss in ln N (ln D); runs whose N (D)
  covers less than ``MIN_RANGE`` (max / min) leave it to its prior however many levels they
  hold (measured: the comment at ``MIN_RANGE``); the advice widens the range to ``WIDE_RANGE``;
* runs off one line in (ln N, ln D): runs at one tokens-per-parameter ratio (D = 20 N), or all
  at one compute budget, move N and D together, so the exponents in N and in D cannot be told
  apart; flagged when the design's spread across its main direction is below
  ``MIN_SPREAD_RATIO`` of its spread along it (far below the real sweeps in ../shared/data,
  which a test checks are not flagged);
* per group, for a law with parameters of each group (those of its per-group sites that a fit
  reports: :meth:`~bayeslaws.laws.contract.Law.group_dims` among its ``summary_names``, e.g.
  Chinchilla's ``beta_group``): the levels, range and one-line checks again on each group's
  runs (where the pooled table passes them). A group whose runs hold one D (or a narrow range
  of D) has its own parameters in D set by the other groups through the pooling, not by its
  runs: its predictions at other D follow the other groups. These are caveats (warned and
  noted in the fit, not returned as problems): the pooled parameters stay identified, so a
  thin group is no cause of sampler trouble elsewhere in the fit.
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from ..laws.priors import STANDARDISED
from ..runs.warn import warn_user
from .fit import model_trace

MIN_LEVELS = 3  # distinct values of N (and of D) that separate exponent, amplitude and floor
WHAT = {"N": "model sizes", "D": "token counts"}
UNIT = {"N": "params", "D": "tokens"}
MIN_SPREAD_RATIO = 0.02  # smallest / largest singular value of the centred (ln N, ln D) design
# The range (max / min) of N or D below which the runs do not inform the law's exponent in it.
# Measured by benchmarks/identifiability_range.py (its output:
# benchmarks/output/identifiability_range.txt, per fit: .csv) on SIMULATED Chinchilla tables
# (E 1.7, A 400, B 410, alpha 0.34, beta 0.28; the narrow column at 3 or 5 levels geometric
# over the range, from D = 1e10 or N = 2e8; the other column 6 sizes 5e7..2e9 (40x) or 5 token
# counts 1e9..1e11 (100x); noise sd 0.003 or 0.01 on ln loss; bl.fit, 2 chains x 300 + 300
# draws, seeds 0-7): the posterior sd of the exponent (beta for a narrow D, alpha for a narrow
# N) over its prior sd (Beta(2, 3): 0.2), by the narrow column's range (python
# benchmarks/identifiability_range.py, its defaults: 448 fits). 297 of the 448 fits fail the
# package's sampler checks (R-hat at most 1.05, bulk and tail ESS at least 60, no divergences;
# mostly low ESS and high R-hat: 52 of the 64 fits at 1.1x fail, 20 of the 64 at 30x), so the
# median is over the seeds whose fit passes them, their number in brackets (of 8; --: none):
#                            1.1x      1.5x      2x        3x        5x        10x       30x
#   D, 3 levels, noise 0.01  0.86 (1)   -- (0)  0.86 (2)  0.78 (5)  0.69 (3)  0.46 (4)  0.37 (4)
#   D, 5 levels, noise 0.01  0.96 (4)  0.90 (4)  0.79 (4)  0.76 (2)  0.65 (3)  0.43 (3)  0.32 (7)
#   D, 3 levels, noise 0.003  -- (0)  0.79 (1)   -- (0)  0.57 (1)  0.36 (3)  0.20 (2)  0.10 (3)
#   D, 5 levels, noise 0.003 0.82 (1)   -- (0)   -- (0)  0.45 (2)   -- (0)  0.16 (2)  0.09 (6)
#   N, 3 levels, noise 0.01  0.94 (2)  0.91 (3)  0.80 (3)  0.81 (4)  0.70 (4)  0.54 (5)  0.30 (6)
#   N, 5 levels, noise 0.01   -- (0)  0.89 (2)  0.83 (4)  0.84 (3)  0.69 (1)  0.53 (4)  0.30 (3)
#   N, 3 levels, noise 0.003 0.73 (1)  0.82 (1)  0.75 (1)  0.61 (1)  0.46 (2)  0.19 (2)  0.11 (7)
#   N, 5 levels, noise 0.003 0.79 (3)  0.71 (1)  0.67 (3)  0.39 (1)  0.32 (5)  0.20 (4)  0.10 (8)
# and the median over all 8 fits, failing ones included:
#                            1.1x  1.5x   2x    3x    5x   10x   30x
#   D, 3 levels, noise 0.01   0.92  0.88  0.86  0.77  0.69  0.55  0.34
#   D, 5 levels, noise 0.01   0.92  0.89  0.83  0.79  0.66  0.45  0.31
#   D, 3 levels, noise 0.003  0.82  0.79  0.69  0.47  0.35  0.21  0.12
#   D, 5 levels, noise 0.003  0.82  0.83  0.71  0.50  0.27  0.16  0.09
#   N, 3 levels, noise 0.01   0.99  0.84  0.83  0.76  0.66  0.46  0.35
#   N, 5 levels, noise 0.01   0.97  0.89  0.85  0.83  0.70  0.49  0.35
#   N, 3 levels, noise 0.003  0.85  0.79  0.62  0.48  0.29  0.20  0.13
#   N, 5 levels, noise 0.003  0.82  0.81  0.68  0.54  0.31  0.19  0.10
# So:
# below 3x the data barely move the exponent off its prior even at 0.3% noise (0.67-0.82 of its
# sd over the passing fits, 0.62-0.85 over all; the reviewer's 1.1x D table: beta 0.39 sd 0.21,
# its prior's, and E's interval missed the truth); from 3x low-noise runs start to inform it
# (0.39-0.61 passing, on 1-2 passing fits a cell, 0.47-0.54 all), and from 10x they pin it to
# 0.16-0.54 of the prior's sd (all: 0.16-0.55). At 3x and 5x a 1%-noise table of ~20 runs is
# still weak (0.65-0.84 passing, 0.66-0.83 all), but sweeps of many runs per cell lie there
# (Step Law's N 5x, the bundled sweep's D 6x), whose runs inform more: not warned. Epoch's
# table and the isoFLOP compendium cover >= 75x. The fall is gradual, not a step: 3x is where
# the low-noise medians over all fits first fall below 0.6 of the prior's sd (2x: 0.62-0.71).
MIN_RANGE = 3.0
WIDE_RANGE = 10.0  # the range the advice widens a narrow one to
GROUPS_WARNED = 5  # groups with caveats warned one by one; more: one warning naming these many


class IdentifiabilityWarning(UserWarning):
    """The run table cannot pin the law down: the message says what to add."""


def sampled_sites(law, prepared, likelihood: str) -> list[str]:
    """The law's parameters on the prepared runs: those of its priors (its own and the
    likelihood's noise, :meth:`~bayeslaws.laws.contract.Law.priors`) that its model samples
    there, in the order it samples them. From one abstract trace of the model (nothing is
    computed or fitted): a prior the model does not sample is no parameter (the two-stage
    law's shared ``sigma``, which it replaces by one per regression; a pooling scale's prior
    without groups; shape scatters held at 0). A site standardised for the sampler (``X_std``,
    recorded as ``X``: :func:`~bayeslaws.laws.priors.standardised_sample`) is ``X``. Sites
    without a prior of their own (per-cell or per-group deviations) are not counted, as
    before."""
    priors = law.priors(likelihood)
    static = {**prepared.static, "priors": priors, "likelihood": likelihood}
    kinds = {}  # site name -> (type, observed), filled while the model is traced

    def run(data):
        trace = model_trace(functools.partial(law.model, **static), data)
        kinds.update({k: (v["type"], bool(v.get("is_observed", False))) for k, v in trace.items()})
        return 0

    jax.eval_shape(run, prepared.data)  # traced abstractly: no values computed, nothing compiled
    names = []
    for name, (kind, observed) in kinds.items():
        if kind != "sample" or observed:
            continue
        plain = name.removesuffix(STANDARDISED)
        recorded = kinds.get(plain, ("", False))[0] == "deterministic"
        names.append(plain if name.endswith(STANDARDISED) and recorded else name)
    return [name for name in names if name in priors]


def n_observations(law, prepared) -> tuple[int, int]:
    """(observations, runs behind them) of the prepared runs: the values the likelihood reads
    (``prepared.data["obs"]``, every axis) and the runs they come from
    (:meth:`~bayeslaws.laws.contract.Law.observation_rows`); they differ where a run gives
    several (the two-stage baseline: ln lr and ln B of each selected run)."""
    n_runs = len(law.observation_rows(prepared))
    obs = prepared.data.get("obs")
    n_obs = int(np.size(obs)) if obs is not None and np.ndim(obs) else n_runs
    return n_obs, n_runs


def check(law, prepared, likelihood: str, warn: bool = True) -> list[str]:
    """Problems (plain language, with advice) of fitting ``law`` to the prepared runs (the
    checks of the module docstring: observations against the law's sampled parameters
    (:func:`sampled_sites`, :func:`n_observations`), levels and range of N params and D
    tokens, runs on one line); warned as :class:`IdentifiabilityWarning` when ``warn``, with
    the :func:`caveats` (the per-group checks among them; for more than ``GROUPS_WARNED``
    groups one warning: :func:`grouped_warning`). Returns the list of problems
    (empty when fine): the causes a fit names for its sampler's trouble."""
    df = prepared.runs.df
    n_obs, n_runs = n_observations(law, prepared)
    sites = sampled_sites(law, prepared, likelihood)
    k = len(sites)
    problems = []
    if n_obs <= k:
        counted = f"{n_obs} runs" if n_obs == n_runs else f"{n_obs} observations of {n_runs} runs"
        problems.append(
            f"{counted} for law {law.name!r} with {k} parameters ({', '.join(sites)}):"
            " the data cannot pin them down, so the posterior of some follows their priors and "
            f"the sampler mixes badly. Add runs (well over {k}; at least {MIN_LEVELS} distinct "
            "model sizes and token counts), fit a law with fewer parameters, or fix parameters "
            "with tight priors (priors={...})"
        )
    # warned, but no cause of trouble: not returned (the fit's notes keep each: caveats())
    noted = _pooled_caveats(law, df) + grouped_warning(_group_caveats(law, prepared, likelihood))
    line = []
    if all(c in law.run_columns and c in df for c in ("N", "D")):
        line = _one_line(df["N"].to_numpy(float), df["D"].to_numpy(float))
    if not _linear_in_logs(law):
        # a column that barely moves on one line is said by the line's message alone
        problems += few_levels(law, df) + ([] if line else narrow_ranges(law, df))
    problems += line
    if warn:
        for problem in problems + noted:
            warn_user(problem, IdentifiabilityWarning)
    return problems


def caveats(law, prepared, likelihood: str | None = None) -> list[str]:
    """Limits of the design that leave the law identified (so no cause of sampler trouble,
    and not returned by :func:`check`, which warns them): two distinct N or D values for a
    law linear in their logs (:func:`_linear_in_logs`), or a narrow range of them
    (:func:`narrow_ranges`); and a group whose own runs do not inform its parameters
    (:func:`group_caveats`: set by the other groups through the pooling, while the pooled
    parameters stay identified). ``likelihood``: the fit's (None: the law's default); it
    names the reported sites. Plain language, for the fit's notes."""
    likelihood = law.default_likelihood if likelihood is None else likelihood
    return _pooled_caveats(law, prepared.runs.df) + group_caveats(law, prepared, likelihood)


def _pooled_caveats(law, df) -> list[str]:
    """The caveats of the whole run table ``df``: few levels or a narrow range of N or D for a
    law linear in their logs (:func:`_linear_in_logs`); none for other laws."""
    return few_levels(law, df) + narrow_ranges(law, df) if _linear_in_logs(law) else []


def grouped_warning(by_group: dict) -> list[str]:
    """What :func:`check` warns of the groups' caveats ``by_group`` (group -> its messages,
    :func:`_group_caveats`): each message when at most ``GROUPS_WARNED`` groups have any;
    else one message naming the first ``GROUPS_WARNED`` groups, how many more, and the first
    group's caveat as an example (the fit's notes keep each: :func:`caveats`)."""
    named = [group for group, found in by_group.items() if found]
    if len(named) <= GROUPS_WARNED:
        return [message for group in named for message in by_group[group]]
    n_caveats = sum(len(by_group[group]) for group in named)
    shown = ", ".join(repr(group) for group in named[:GROUPS_WARNED])
    return [
        f"{n_caveats} caveats for {len(named)} of {len(by_group)} groups, whose own runs leave "
        "some of their own parameters to the other groups through the pooling: groups "
        f"{shown} and {len(named) - GROUPS_WARNED} more (each group's caveats are in the "
        f"fit's notes, fit.record.notes); the first: {by_group[named[0]][0]}"
    ]


def few_levels(law, df) -> list[str]:
    """Messages (:func:`_few_levels`) for N and D (of the run table ``df``) that the law's runs
    vary but that hold only 2 to ``MIN_LEVELS - 1`` distinct values."""
    return [
        _few_levels(law, column, df[column])
        for column in ("N", "D")
        if column in law.run_columns
        and column in df
        and 1 < int(df[column].nunique()) < MIN_LEVELS
    ]


def narrow_ranges(law, df) -> list[str]:
    """Messages (:func:`_narrow_range`) for N and D (of the run table ``df``) that the law's
    runs vary over at least ``MIN_LEVELS`` distinct values, but within a range (max / min)
    below ``MIN_RANGE`` (two values: said by :func:`few_levels`, which names the range)."""
    return [
        _narrow_range(law, column, df[column])
        for column in ("N", "D")
        if column in law.run_columns
        and column in df
        and int(df[column].nunique()) >= MIN_LEVELS
        and _range(df[column]) < MIN_RANGE
    ]


def group_caveats(law, prepared, likelihood: str) -> list[str]:
    """The levels, range and one-line checks on each group's runs, for a grouped fit of a law
    with parameters of each group (the per-group sites it reports: ``group_dims`` among
    ``summary_names``); each check only where the pooled table passes it (else it is said
    once, of the pooled table). Caveats, not problems: such a group's own parameters are set
    mostly by the other groups through the pooling, and the pooled parameters stay
    identified. Messages start with the group (``group 'math': ...``)."""
    return [m for found in _group_caveats(law, prepared, likelihood).values() for m in found]


def _group_caveats(law, prepared, likelihood: str) -> dict:
    """:func:`group_caveats` by group: each fitted group (its label, a string) -> its
    messages (empty when its runs pass); empty when the fit has no per-group checks."""
    groups = [str(g) for g in prepared.groups]
    df = prepared.runs.df
    if len(groups) < 2 or "group" not in df:
        return {}
    reported = set(law.summary_names(prepared.groups, likelihood))
    sites = [site for site in law.group_dims(prepared.groups) if site in reported]
    if not sites:  # e.g. groups that differ only in intercepts: the exponents are shared
        return {}
    columns = [
        c
        for c in ("N", "D")
        if c in law.run_columns
        and c in df
        and int(df[c].nunique()) >= MIN_LEVELS
        and _range(df[c]) >= MIN_RANGE
    ]
    both = all(c in law.run_columns and c in df for c in ("N", "D"))
    pooled_line = both and len(df) >= 3 and spread_ratio(df["N"], df["D"]) >= MIN_SPREAD_RATIO
    labels = df["group"].astype(str)
    problems = {}
    for group in groups:
        runs = df[labels == group]
        line = []
        if pooled_line and all(int(runs[c].nunique()) > 1 for c in ("N", "D")):
            line = _one_line(runs["N"].to_numpy(float), runs["D"].to_numpy(float), group, sites)
        found = []
        for column in columns:
            values = runs[column]
            n_levels = int(values.nunique())
            if n_levels == 1:
                found.append(_one_level(column, values, group, sites))
            elif n_levels < MIN_LEVELS:
                found.append(_few_levels(law, column, values, group, sites))
            elif _range(values) < MIN_RANGE and not line:  # else said by the line's message
                found.append(_narrow_range(law, column, values, group, sites))
        problems[group] = [f"group {group!r}: {p}" for p in found + line]
    return problems


def _range(values) -> float:
    """max / min of positive ``values`` (1 for one value)."""
    values = np.asarray(values, float)
    return float(values.max() / values.min())


def _runs_of(group) -> str:
    """How the advice names the runs to add: "runs", or "'math' runs" for group 'math'."""
    return "runs" if group is None else f"{group!r} runs"


def _pooled(columns: str, sites) -> str:
    """What a group's thin runs leave of its own parameters in ``columns`` ("D", or "N and D"),
    ``sites`` its per-group sites: set mostly by the other groups through the pooling."""
    return (
        f"the group's own parameters in {columns} (among {', '.join(sites)}) are set mostly by "
        f"the other groups through the pooling, not by its runs, so its predictions at other "
        f"{columns} follow the other groups"
    )


def _one_level(column: str, values, group, sites) -> str:
    """The message for a group whose runs hold one value of ``column`` (N or D) while the other
    groups vary it: its parameters in ``column`` come from the others through the pooling."""
    value = float(np.asarray(values, float)[0])
    shown = ", ".join(sites)
    return (
        f"one {WHAT[column][:-1]} ({column} = {value:.3g}): the group's own parameters in "
        f"{column} (its exponent and amplitude in {column}, among {shown}) are not informed by "
        f"its runs but set by the other groups' pooled values, so its predictions at other "
        f"{column} follow the other groups; add {_runs_of(group)} at other {column} (e.g. "
        f"{value / WIDE_RANGE:.3g} and {value * WIDE_RANGE:.3g}, a range of "
        f"{WIDE_RANGE * WIDE_RANGE:.0f}x; at least {MIN_RANGE:.0f}x)"
    )


def _narrow_range(law, column: str, values, group=None, sites=()) -> str:
    """The message for runs whose ``column`` (N or D) covers less than ``MIN_RANGE`` (max /
    min): the exponent in it is the slope of ln loss over that range, so it follows its prior
    (measured: the comment at ``MIN_RANGE``); for a group's runs (``group``, with per-group
    ``sites``), its own parameters in ``column`` follow the other groups through the pooling."""
    levels = np.sort(np.unique(np.asarray(values, float)))
    head = (
        f"{column} covers only {levels[-1] / levels[0]:.3g}x ({levels[0]:.3g} to "
        f"{levels[-1]:.3g} {UNIT[column]}, {levels.size} values): "
    )
    advice = (
        f"add {_runs_of(group)} that widen it to {WIDE_RANGE:.0f}x or more (e.g. {column} = "
        f"{_suggest(levels):.3g}; at least {MIN_RANGE:.0f}x)"
    )
    if group is not None:
        return head + f"{_pooled(column, sites)}; {advice}"
    if _linear_in_logs(law):
        return (
            head + f"the law's exponents in {column} (of the optimal learning rate and batch "
            f"size, slopes in ln {column}) rest on that narrow range, so they follow their "
            f"priors more than the runs and predictions beyond these {WHAT[column]} assume "
            f"them; {advice} before extrapolating in {column}"
        )
    return (
        head + f"too narrow to inform the law's exponent in {column} (below "
        f"{MIN_RANGE:.0f}x its posterior stays near its prior"
        + (" and trades off against the floor" if law.has_floor else "")
        + f"), so the exponent and predictions at other {column} follow the priors; "
        f"{advice} before trusting the exponent"
    )


def _linear_in_logs(law) -> bool:
    """Whether N and D enter the law only through optima laws linear in ln N and ln D (the
    hyperparameter laws: their runs carry lr and batch_size) with no floor: two distinct values
    then identify each exponent (a line through two points)."""
    return {"lr", "batch_size"} <= set(law.run_columns) and not law.has_floor


def _few_levels(law, column: str, values, group=None, sites=()) -> str:
    """The message for runs at only two distinct values of ``column`` (N or D), worded by what
    the law has: for a law linear in the logs (:func:`_linear_in_logs`) the exponent is
    identified but rests on two points; with a floor it is not separable from its amplitude
    and floor; otherwise two points are too few to test the law's form. For a group's runs
    (``group``, with per-group ``sites``): its own parameters in ``column`` rest on two points
    and follow the other groups through the pooling."""
    levels = np.sort(np.unique(np.asarray(values, float)))
    shown = ", ".join(f"{v:.3g}" for v in levels)
    narrow = (
        f", covering only {levels[-1] / levels[0]:.3g}x"
        if levels[-1] / levels[0] < MIN_RANGE
        else ""
    )
    head = f"only {levels.size} distinct {WHAT[column]} ({column} = {shown}{narrow}): "
    advice = f"add {_runs_of(group)} at a third {column} (e.g. {_suggest(levels):.3g})"
    if group is not None:
        return head + f"{_pooled(column, sites)}; {advice}"
    if _linear_in_logs(law):
        return (
            head + f"the law's exponents in {column} (of the optimal learning rate and batch "
            f"size, linear in ln {column}) are identified but rest on {levels.size} points: "
            f"whether the optima are straight in ln {column} cannot be checked, so predictions "
            f"beyond these {WHAT[column]} assume it; {advice} before extrapolating in {column}"
        )
    if law.has_floor:
        what = " and is not separable from its amplitude and floor"
    else:
        what = (
            f", too few to test the law's form in {column} (the exponent may trade off "
            f"against the law's other terms in {column})"
        )
    return (
        head + f"the law's exponent in {column} rests on {levels.size} points{what}; "
        f"{advice} before trusting the exponent"
    )


def spread_ratio(N, D) -> float:
    """Smallest over largest singular value of the centred (ln N, ln D) design: 0 when every
    run lies on one line (a fixed D/N ratio, or one compute budget), about 1 for a grid."""
    X = np.column_stack([np.log(N), np.log(D)])
    s = np.linalg.svd(X - X.mean(axis=0), compute_uv=False)
    return float(s[-1] / s[0]) if s[0] > 0 else 0.0


def _one_line(N, D, group=None, sites=()) -> list[str]:
    """The problem of runs whose (ln N params, ln D tokens) lie on one line, if they do
    (``group``: the group they are the runs of, with per-group ``sites``, named in the advice
    and worded as a caveat: its own parameters follow the other groups through the pooling;
    None: the whole table)."""
    if len(N) < 3 or spread_ratio(N, D) >= MIN_SPREAD_RATIO:
        return []
    d_ln_n, d_ln_d = _line_direction(N, D)
    if group is not None:
        if abs(d_ln_n) < 0.1 * abs(d_ln_d):
            how, columns, add = f"N stays near {np.median(N):.3g} parameters", "N", "at other sizes"
        elif abs(d_ln_d) < 0.1 * abs(d_ln_n):
            how, columns = f"D stays near {np.median(D):.3g} tokens", "D"
            add = "at other token counts"
        else:
            how, columns = f"ln D = {d_ln_d / d_ln_n:.2f} ln N + const", "N and D"
            add = "off that line (other token counts at the same sizes)"
        return [
            f"the runs' N and D move together ({how}): {_pooled(columns, sites)}; add "
            f"{_runs_of(group)} {add}"
        ]
    if abs(d_ln_n) < 0.1 * abs(d_ln_d):  # the line runs along D: N barely changes
        return [
            f"N stays near {np.median(N):.3g} parameters while D varies: the law's exponent in "
            "N (and its amplitude) rests on one size, so its posterior follows the priors and "
            f"the sampler mixes badly. Add {_runs_of(group)} at other sizes (e.g. 3-10x smaller "
            "and larger)"
        ]
    if abs(d_ln_d) < 0.1 * abs(d_ln_n):  # the line runs along N: D barely changes
        return [
            f"D stays near {np.median(D):.3g} tokens while N varies: the law's exponent in D "
            "(and its amplitude) rests on one token count, so its posterior follows the priors "
            f"and the sampler mixes badly. Add {_runs_of(group)} at other token counts (e.g. 3-10x "
            "fewer and more)"
        ]
    slope = d_ln_d / d_ln_n
    if abs(slope - 1) < 0.1:
        how = f"D/N stays near {np.median(D / N):.3g} tokens per parameter"
    elif abs(slope + 1) < 0.1:
        how = f"N D stays near {np.median(N * D):.3g} (one compute budget, one isoFLOP line)"
    else:
        how = "every run lies on one line"
    return [
        f"the runs' N and D move together (ln D = {slope:.2f} ln N + const; {how}): the law's "
        "exponents in N and in D cannot be told apart, so their posterior follows the priors "
        f"and the sampler mixes badly. Add {_runs_of(group)} off that line: other token counts "
        "at the same "
        "sizes (other tokens per parameter) or other sizes at the same token counts"
    ]


def _line_direction(N, D) -> tuple[float, float]:
    """The direction (d ln N, d ln D) of the line the runs' (ln N, ln D) lie along: the
    leading singular vector of the centred design (a regression of ln D on ln N reads a
    line at constant N as slope 0)."""
    X = np.column_stack([np.log(N), np.log(D)])
    _, _, vt = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    return float(vt[0, 0]), float(vt[0, 1])


def _suggest(values) -> float:
    """A value that widens the range of ``values`` enough to inform an exponent: one geometric
    step beyond the largest (its ratio to the smallest), and at least ``WIDE_RANGE`` times the
    smallest (a step of a narrow range, 1e10 and 1.2e10 -> 1.44e10, would not help)."""
    levels = np.sort(np.unique(np.asarray(values, float)))
    ratio = levels[-1] / levels[0]
    return float(max(levels[-1] * ratio, levels[0] * WIDE_RANGE))
