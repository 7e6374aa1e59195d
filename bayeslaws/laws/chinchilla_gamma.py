"""Chinchilla form with an interaction term (a "gamma" form, used by extrapolation stacking):

    L(N, D) = E + (A / N^alpha + B / D^beta)^gamma          (N params, D tokens, L loss units)

gamma = 1 is the Chinchilla form; gamma != 1 adds cross terms between the size and data terms
(the binomial expansion), so the two reducible terms no longer add, and the effective exponents
far from the data (alpha * gamma, beta * gamma where one term dominates) differ from those
fitted where both matter. Fitted on centred logs as

    ln L - ln L_ref = logsumexp(gamma * logsumexp(a - alpha * x, b - beta * y),  e)

with x = ln N - ln N_ref, y = ln D - ln D_ref and the centred log amplitudes
a = ln A - alpha ln N_ref - ln L_ref / gamma, b = ln B - beta ln D_ref - ln L_ref / gamma
(Chinchilla's centring, :mod:`bayeslaws.laws.chinchilla`, with ln L_ref / gamma for ln L_ref:
the reference loss is taken out after the power gamma), so that
A = exp(a + alpha ln N_ref + ln L_ref / gamma) and B = exp(b + beta ln D_ref + ln L_ref / gamma).

Default priors: those of Chinchilla for alpha, beta, a, b, e; gamma ~ LogNormal(0, 0.2)
(95% in [0.68, 1.48]). With groups (column ``group``), alpha, beta, a, b, e are partially pooled
as in Chinchilla (gamma is shared): the sd of the group deviations ``<p>_tau`` ~ HalfNormal(0.3)
(``group_sd``, :mod:`.surface`), on the logit of alpha, beta and on a, b, e directly; override
with ``priors={"group_sd": ...}`` (all) or ``priors={"alpha_tau": ...}`` (one); with few groups
the spread is mostly this prior. Reported: E and the effective exponents alpha * gamma,
beta * gamma.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpyro.distributions as dist

from .chinchilla import Chinchilla
from .surface import LossSurfaceLaw


class ChinchillaGamma(LossSurfaceLaw):
    name = "chinchilla_gamma"
    pads_runs = True  # the surface model: x, y, group_index and obs, all per run
    floor = "E"  # the irreducible loss
    description = "L = E + (A/N^alpha + B/D^beta)^gamma"
    parameters = ("alpha", "beta", "a", "b", "e", "gamma")
    pooled = ("alpha", "beta", "a", "b", "e")

    def default_priors(self) -> dict:
        return {**Chinchilla().default_priors(), "gamma": dist.LogNormal(0.0, 0.2)}

    def log_loss(self, theta, x, y, scales):
        reducible = jnp.logaddexp(theta["a"] - theta["alpha"] * x, theta["b"] - theta["beta"] * y)
        return jnp.logaddexp(theta["gamma"] * reducible, theta["e"])

    def derived(self, theta, scales):
        return {
            "E": jnp.exp(theta["e"] + scales["loss"]),
            "alpha_eff": theta["alpha"] * theta["gamma"],
            "beta_eff": theta["beta"] * theta["gamma"],
        }

    def recentred_parameters(self, theta, old, new):
        """The centred log amplitudes on ``new``'s reference logs: E = exp(e + ln L_ref),
        A = exp(a + alpha ln N_ref + ln L_ref / gamma), B = exp(b + beta ln D_ref +
        ln L_ref / gamma) kept (module docstring); alpha, beta, gamma unchanged."""
        d_n, d_d, d_l = (old[c] - new[c] for c in ("N", "D", "loss"))
        return {
            **theta,
            "a": theta["a"] + theta["alpha"] * d_n + d_l / theta["gamma"],
            "b": theta["b"] + theta["beta"] * d_d + d_l / theta["gamma"],
            "e": theta["e"] + d_l,
        }


LAW = ChinchillaGamma()
