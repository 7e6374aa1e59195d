"""Can the run table pin the law down? Checked before sampling, so that a fit of too few runs
says why its posterior is wide (or its sampler struggles) and what to add, instead of only
reporting low ESS afterwards.

Checks (through the law's contract only):

* runs against parameters: the observed runs must outnumber the law's parameters (its default
  priors plus the likelihood's noise parameters); with fewer, some parameters are set by their
  priors alone and NUTS mixes badly;
* distinct model sizes and token counts (for laws whose runs vary N and D): an exponent, its
  amplitude and a shared floor need at least ``MIN_LEVELS`` distinct values of each; with two,
  the exponent rests on two points and the floor is not separable from the amplitude.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..laws.likelihoods import default_noise_priors

MIN_LEVELS = 3  # distinct values of N (and of D) that separate exponent, amplitude and floor
WHAT = {"N": "model sizes", "D": "token counts"}


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
    for column in ("N", "D"):
        if column not in law.run_columns or column not in df:
            continue
        levels = int(df[column].nunique())
        if 1 < levels < MIN_LEVELS:
            values = ", ".join(f"{v:.3g}" for v in sorted(df[column].unique()))
            problems.append(
                f"only {levels} distinct {WHAT[column]} ({column} = {values}): the law's "
                f"exponent in {column} rests on {levels} points and is not separable from its "
                f"amplitude and floor; add runs at a third {column} (e.g. "
                f"{_suggest(df[column]):.3g}) before trusting the exponent"
            )
    if warn:
        for problem in problems:
            warnings.warn(problem, IdentifiabilityWarning, stacklevel=4)
    return problems


def _suggest(values) -> float:
    """A value one geometric step beyond the largest of ``values``."""
    levels = np.sort(np.unique(np.asarray(values, float)))
    ratio = levels[-1] / levels[0] if levels.size > 1 else 10.0
    return float(levels[-1] * ratio)
