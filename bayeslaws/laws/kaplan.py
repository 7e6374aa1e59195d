"""Kaplan et al. (2020) loss surface, eq. 1.5:

    L(N, D) = ((N_c / N)^(alpha_N / alpha_D) + D_c / D)^alpha_D     (N params, D tokens)

a pure power law with no irreducible term, fitted on centred logs as

    ln L - ln L_ref = alpha_D * logsumexp((alpha_N / alpha_D) * (n_c - x),  d_c - y) - ln L_ref

with x = ln N - ln N_ref, y = ln D - ln D_ref, n_c = ln N_c - ln N_ref, d_c = ln D_c - ln D_ref.

Default priors (weakly informative):

* alpha_N, alpha_D ~ Gamma(2, 20): mean 0.1, 95% in [0.012, 0.28] (Kaplan et al.'s
  single-variable laws L(N), L(D), their eqs. 1.1-1.2: 0.076, 0.095);
* n_c, d_c ~ Normal(10, 6): the critical scales lie e^10 ~ 2e4 times the data's centre,
  within a factor e^12 either way (those laws: N_c = 8.8e13, D_c = 5.4e13);
* with groups (column ``group``), all four are partially pooled: the sd of the group deviations
  ``<p>_tau`` ~ HalfNormal(0.3) (``group_sd``, :mod:`.surface`), on the log of alpha_N, alpha_D
  and on n_c, d_c (log critical scales) directly. Override with ``priors={"group_sd": ...}``
  (all) or ``priors={"alpha_N_tau": ...}`` (one); with few groups the spread is mostly this prior.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpyro.distributions as dist

from .surface import LossSurfaceLaw


class Kaplan(LossSurfaceLaw):
    name = "kaplan"
    pads_runs = True  # the surface model: x, y, group_index and obs, all per run
    description = "L = ((N_c/N)^(alpha_N/alpha_D) + D_c/D)^alpha_D"
    parameters = ("alpha_N", "alpha_D", "n_c", "d_c")
    pooled = ("alpha_N", "alpha_D", "n_c", "d_c")

    def default_priors(self) -> dict:
        return {
            "alpha_N": dist.Gamma(2.0, 20.0),
            "alpha_D": dist.Gamma(2.0, 20.0),
            "n_c": dist.Normal(10.0, 6.0),
            "d_c": dist.Normal(10.0, 6.0),
        }

    def log_loss(self, theta, x, y, scales):
        ratio = theta["alpha_N"] / theta["alpha_D"]
        inner = jnp.logaddexp(ratio * (theta["n_c"] - x), theta["d_c"] - y)
        return theta["alpha_D"] * inner - scales["loss"]

    def derived(self, theta, scales):
        return {
            "N_c": jnp.exp(theta["n_c"] + scales["N"]),
            "D_c": jnp.exp(theta["d_c"] + scales["D"]),
        }

    def recentred_parameters(self, theta, old, new):
        """The log critical scales on ``new``'s reference logs: N_c = exp(n_c + ln N_ref) and
        D_c = exp(d_c + ln D_ref) kept (:meth:`derived`); the exponents unchanged (the
        reference loss enters :meth:`log_loss` only as the offset of the centred loss)."""
        return {
            **theta,
            "n_c": theta["n_c"] + old["N"] - new["N"],
            "d_c": theta["d_c"] + old["D"] - new["D"],
        }


LAW = Kaplan()
