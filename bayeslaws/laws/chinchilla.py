"""Chinchilla loss surface (Hoffmann et al. 2022, approach 3):

    L(N, D) = E + A / N^alpha + B / D^beta          (N params, D tokens, L loss units)

fitted on centred logs as

    ln L - ln L_ref = logsumexp(a - alpha * x,  b - beta * y,  e)

with x = ln N - ln N_ref, y = ln D - ln D_ref, so that
a = ln A - alpha ln N_ref - ln L_ref, b = ln B - beta ln D_ref - ln L_ref, e = ln E - ln L_ref.

Default priors (weakly informative, on the centred scale):

* alpha, beta ~ Beta(2, 3): exponents in (0, 1), mean 0.4, 95% in [0.07, 0.81];
* a, b ~ Normal(-2, 2): each reducible term is ~ e^-2 = 14% of the typical loss, within a
  factor e^4 either way;
* e ~ Normal(-0.5, 1): the irreducible loss E is ~ 60% of the typical loss.

Reported: E, A, B, alpha, beta in natural units and the compute-optimal exponent
``a_opt = beta / (alpha + beta)`` (N_opt proportional to C^a_opt under C = k N D).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpyro.distributions as dist

from .base import LossSurfaceLaw


class Chinchilla(LossSurfaceLaw):
    name = "chinchilla"
    description = "L = E + A/N^alpha + B/D^beta"
    parameters = ("alpha", "beta", "a", "b", "e")
    pooled = ("alpha", "beta", "a", "b", "e")

    def default_priors(self) -> dict:
        return {
            "alpha": dist.Beta(2.0, 3.0),
            "beta": dist.Beta(2.0, 3.0),
            "a": dist.Normal(-2.0, 2.0),
            "b": dist.Normal(-2.0, 2.0),
            "e": dist.Normal(-0.5, 1.0),
        }

    def log_loss(self, theta, x, y, scales):
        data_term = theta["a"] - theta["alpha"] * x
        size_term = theta["b"] - theta["beta"] * y
        return jnp.logaddexp(jnp.logaddexp(data_term, size_term), theta["e"])

    def derived(self, theta, scales):
        alpha, beta = theta["alpha"], theta["beta"]
        return {
            "E": jnp.exp(theta["e"] + scales.log_L_ref),
            "A": jnp.exp(theta["a"] + alpha * scales.log_N_ref + scales.log_L_ref),
            "B": jnp.exp(theta["b"] + beta * scales.log_D_ref + scales.log_L_ref),
            "a_opt": beta / (alpha + beta),
        }


LAW = Chinchilla()
