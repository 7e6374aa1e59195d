"""Can the run table pin the law down? Checked before sampling, so that a fit of too few runs
says why its posterior is wide (or its sampler struggles) and what to add, instead of only
reporting low ESS afterwards.

Checks (through the law's contract only):

* runs against parameters: the observed runs must outnumber the law's parameters (its default
  priors plus the likelihood's noise parameters); with fewer, some parameters are set by their
  priors alone and NUTS mixes badly;
* distinct model sizes and token counts (for laws whose runs vary N and D): an exponent, its
  amplitude and a shared floor need at least ``MIN_LEVELS`` distinct values of each; with two,
  the exponent rests on two points and the floor is not separable from the amplitude. A law
  whose N and D enter only through optima laws linear in ln N and ln D, with no floor (the
  hyperparameter laws with a free loss level per cell), has its exponents identified by two
  values (a line through two points): it gets a caveat (warned, not returned as a problem:
  it is no cause of sampler trouble), since the straight line cannot be checked;
* runs off one line in (ln N, ln D): runs at one tokens-per-parameter ratio (D = 20 N), or all
  at one compute budget, move N and D together, so the exponents in N and in D cannot be told
  apart; flagged when the design's spread across its main direction is below
  ``MIN_SPREAD_RATIO`` of its spread along it (far below the real sweeps in ../shared/data,
  which a test checks are not flagged).
"""

from __future__ import annotations

import numpy as np

from ..laws.likelihoods import default_noise_priors
from ..runs.warn import warn_user

MIN_LEVELS = 3  # distinct values of N (and of D) that separate exponent, amplitude and floor
WHAT = {"N": "model sizes", "D": "token counts"}
MIN_SPREAD_RATIO = 0.02  # smallest / largest singular value of the centred (ln N, ln D) design


class IdentifiabilityWarning(UserWarning):
    """The run table cannot pin the law down: the message says what to add."""


def n_parameters(law, likelihood: str) -> int:
    """The law's own parameters (its default priors) plus the likelihood's noise parameters."""
    return len(law.default_priors()) + len(default_noise_priors(likelihood))


def check(law, prepared, likelihood: str, warn: bool = True) -> list[str]:
    """Problems (plain language, with advice) of fitting ``law`` to the prepared runs; warned
    as :class:`IdentifiabilityWarning` when ``warn``. Returns the list (empty when fine)."""
    obs = np.asarray(prepared.data.get("obs")) if "obs" in prepared.data else None
    df = prepared.runs.df
    n_obs = int(obs.size) if obs is not None and obs.ndim else len(df)
    k = n_parameters(law, likelihood)
    problems = []
    if n_obs <= k:
        problems.append(
            f"{n_obs} runs for law {law.name!r} with {k} parameters "
            f"({', '.join(list(law.default_priors()) + list(default_noise_priors(likelihood)))}):"
            " the data cannot pin them down, so the posterior of some follows their priors and "
            f"the sampler mixes badly. Add runs (well over {k}; at least {MIN_LEVELS} distinct "
            "model sizes and token counts), fit a law with fewer parameters, or fix parameters "
            "with tight priors (priors={...})"
        )
    noted = caveats(law, prepared)  # warned, but no cause of trouble: not returned
    if not noted:
        problems += few_levels(law, df)
    if n_obs > k and all(c in law.run_columns and c in df for c in ("N", "D")):
        problems += _one_line(df["N"].to_numpy(float), df["D"].to_numpy(float))
    if warn:
        for problem in problems + noted:
            warn_user(problem, IdentifiabilityWarning)
    return problems


def caveats(law, prepared) -> list[str]:
    """Limits of the design that leave the law identified (so no cause of sampler trouble,
    and not returned by :func:`check`, which warns them): two distinct N or D values for a
    law linear in their logs (:func:`_linear_in_logs`). Plain language, for the fit's notes."""
    return few_levels(law, prepared.runs.df) if _linear_in_logs(law) else []


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


def _linear_in_logs(law) -> bool:
    """Whether N and D enter the law only through optima laws linear in ln N and ln D (the
    hyperparameter laws: their runs carry lr and batch_size) with no floor: two distinct values
    then identify each exponent (a line through two points)."""
    return {"lr", "batch_size"} <= set(law.run_columns) and not law.has_floor


def _few_levels(law, column: str, values) -> str:
    """The message for runs at only two distinct values of ``column`` (N or D), worded by what
    the law has: for a law linear in the logs (:func:`_linear_in_logs`) the exponent is
    identified but rests on two points; with a floor it is not separable from its amplitude
    and floor; otherwise two points are too few to test the law's form."""
    levels = np.sort(np.unique(np.asarray(values, float)))
    shown = ", ".join(f"{v:.3g}" for v in levels)
    head = f"only {levels.size} distinct {WHAT[column]} ({column} = {shown}): "
    advice = f"add runs at a third {column} (e.g. {_suggest(levels):.3g})"
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


def _one_line(N, D) -> list[str]:
    """The problem of runs whose (ln N params, ln D tokens) lie on one line, if they do."""
    if len(N) < 3 or spread_ratio(N, D) >= MIN_SPREAD_RATIO:
        return []
    d_ln_n, d_ln_d = _line_direction(N, D)
    if abs(d_ln_n) < 0.1 * abs(d_ln_d):  # the line runs along D: N barely changes
        return [
            f"N stays near {np.median(N):.3g} parameters while D varies: the law's exponent in "
            "N (and its amplitude) rests on one size, so its posterior follows the priors and "
            "the sampler mixes badly. Add runs at other sizes (e.g. 3-10x smaller and larger)"
        ]
    if abs(d_ln_d) < 0.1 * abs(d_ln_n):  # the line runs along N: D barely changes
        return [
            f"D stays near {np.median(D):.3g} tokens while N varies: the law's exponent in D "
            "(and its amplitude) rests on one token count, so its posterior follows the priors "
            "and the sampler mixes badly. Add runs at other token counts (e.g. 3-10x fewer and "
            "more)"
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
        "and the sampler mixes badly. Add runs off that line: other token counts at the same "
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
    """A value one geometric step beyond the largest of ``values``."""
    levels = np.sort(np.unique(np.asarray(values, float)))
    ratio = levels[-1] / levels[0] if levels.size > 1 else 10.0
    return float(levels[-1] * ratio)
