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
* e ~ Normal(-0.5, 1): the irreducible loss E is ~ 60% of the typical loss;
* with groups (column ``group``), all five are partially pooled: the sd of the group deviations
  ``<p>_tau`` ~ HalfNormal(0.3) (``group_sd``, :mod:`.surface`), on the logit of alpha, beta and
  on a, b, e (log amplitudes: a factor e^0.3) directly. Override with ``priors={"group_sd": ...}``
  (all) or ``priors={"alpha_tau": ...}`` (one); with few groups the spread is mostly this prior.

Reported: E, A, B, alpha, beta in natural units and the compute-optimal exponent
``a_opt = beta / (alpha + beta)`` (N_opt proportional to C^a_opt under C = k N D).

Compute-optimal size under C = k N D, in closed form (setting dL/dN = 0 on the isoFLOP line)::

    ln N_opt = [ln(alpha A / (beta B)) + beta ln(C / k)] / (alpha + beta)
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from .surface import LossSurfaceLaw


class Chinchilla(LossSurfaceLaw):
    name = "chinchilla"
    pads_runs = True  # the surface model: x, y, group_index and obs, all per run
    floor = "E"  # the irreducible loss
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
        size_term = theta["a"] - theta["alpha"] * x
        data_term = theta["b"] - theta["beta"] * y
        return jnp.logaddexp(jnp.logaddexp(size_term, data_term), theta["e"])

    def derived(self, theta, scales):
        alpha, beta = theta["alpha"], theta["beta"]
        return {
            "E": jnp.exp(theta["e"] + scales["loss"]),
            "A": jnp.exp(theta["a"] + alpha * scales["N"] + scales["loss"]),
            "B": jnp.exp(theta["b"] + beta * scales["D"] + scales["loss"]),
            "a_opt": beta / (alpha + beta),
        }

    def recentred_parameters(self, theta, old, new):
        """The centred log amplitudes on ``new``'s reference logs: E = exp(e + ln L_ref),
        A = exp(a + alpha ln N_ref + ln L_ref), B = exp(b + beta ln D_ref + ln L_ref) kept
        (:meth:`derived`, as :meth:`log_loss` reads them); alpha, beta unchanged."""
        d_n, d_d, d_l = (old[c] - new[c] for c in ("N", "D", "loss"))
        return {
            **theta,
            "a": theta["a"] + theta["alpha"] * d_n + d_l,
            "b": theta["b"] + theta["beta"] * d_d + d_l,
            "e": theta["e"] + d_l,
        }

    def closed_form_optimum(self, theta, scales, compute_model, C):
        k = compute_model.linear_k
        if k is None:
            return None
        al, be = theta["alpha"][:, None], theta["beta"][:, None]
        log_c = np.log(np.asarray(C, float) / k)[None, :]
        return (
            np.log(al / be)
            + theta["a"][:, None]
            - theta["b"][:, None]
            + al * scales["N"]
            + be * (log_c - scales["D"])
        ) / (al + be)


LAW = Chinchilla()
