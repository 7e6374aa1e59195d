"""Sampler health after every fit: R-hat, bulk and tail ESS, divergences. Problems are
reported by a warning naming the parameters, and kept on the fit."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import arviz as az
import numpy as np

RHAT_MAX = 1.01
ESS_MIN_PER_CHAIN = 100


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

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {
            "max_r_hat": self.max_r_hat,
            "min_ess_bulk": self.min_ess_bulk,
            "min_ess_tail": self.min_ess_tail,
            "divergences": self.divergences,
            "n_draws": self.n_draws,
            "problems": list(self.problems),
        }


def check(idata: az.InferenceData, var_names: list[str], warn: bool = True) -> Diagnostics:
    """Compute R-hat, ESS and divergences for ``var_names``; warn naming bad parameters."""
    summary = az.summary(idata, var_names=var_names, kind="diagnostics")
    n_chains = idata.posterior.sizes["chain"]
    n_draws = n_chains * idata.posterior.sizes["draw"]
    divergences = int(np.asarray(idata.sample_stats["diverging"]).sum())
    problems = []
    if n_chains > 1:
        bad = summary.index[summary["r_hat"] > RHAT_MAX].tolist()
        if bad:
            problems.append(f"R-hat > {RHAT_MAX} for {bad}")
    ess_min = ESS_MIN_PER_CHAIN * n_chains
    for column in ("ess_bulk", "ess_tail"):
        bad = summary.index[summary[column] < ess_min].tolist()
        if bad:
            problems.append(f"{column} < {ess_min} for {bad}")
    if divergences:
        problems.append(
            f"{divergences} divergent transitions of {n_draws}: raise target_accept or "
            "reparametrise"
        )
    diag = Diagnostics(
        max_r_hat=float(summary["r_hat"].max()) if n_chains > 1 else float("nan"),
        min_ess_bulk=float(summary["ess_bulk"].min()),
        min_ess_tail=float(summary["ess_tail"].min()),
        divergences=divergences,
        n_draws=n_draws,
        problems=problems,
    )
    if warn and problems:
        warnings.warn("sampler trouble: " + "; ".join(problems), SamplerWarning, stacklevel=3)
    return diag
