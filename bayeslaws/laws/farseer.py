"""Farseer loss surface (Li et al. 2025, arXiv:2506.10972):

    L(N, D) = exp(s N^q + S) + exp(B N^b + Q) * D^(-exp(A N^a + E))     (N params, D tokens)

Chinchilla's form with its three constants made functions of N: the N-dependent floor
exp(s N^q + S) (for q < 0 it tends to exp(S), and to first order it is E + E s N^q, Chinchilla's
E + A/N^alpha), and a data term A(N) D^-beta(N) whose amplitude and exponent both move with
model size, so the law's tilt along tokens per parameter can change with scale.

Fitted on centred logs (x = ln N - ln N_ref, y = ln D - ln D_ref, loss in units of L_ref) with
the same nine degrees of freedom, reparametrised so that each parameter has a plain meaning at
the data's centre and the Chinchilla limit is at zero::

    ln term1 = e + exp(a - alpha x)                       (q = -alpha, s = e^a N_ref^alpha)
    ln beta(x) = ln beta0 + m_beta h(k_beta, x)            (beta(N) = exp(A N^a + E))
    ln A(x)    = c0 + beta0 y_D + m_amp h(k_amp, x)        (A(N) = exp(B N^b + Q))
    m_amp      = m_c + beta0 m_beta y_D
    ln term2 = ln A(x) - beta(x) (y + y_D),   y_D = ln D_ref
    ln L - ln L_ref = logaddexp(ln term1, ln term2)

with h(k, x) = (e^(k x) - 1) / k (x when k = 0): ``m_beta`` is the slope of ln beta per e-fold of
N at the centre and ``k`` a curvature; m_beta = m_c = 0 gives constants as in Chinchilla. The
amplitude's slope is sampled as ``m_c``, its slope at D = D_ref: with ``m_amp`` itself the
slopes of amplitude and exponent are nearly collinear (a change of beta moves the amplitude by
y_D ~ 23 times as much; on 30 simulated runs NUTS then mixed at ESS ~10), and m_c undoes that
to first order; the map is a bijection, so the form is Farseer's exactly. Farseer's constants
follow: a = k_beta, A = (m_beta / k_beta) N_ref^-k_beta, E = ln beta0 - m_beta / k_beta, and
likewise (b, B, Q) from (k_amp, m_amp, c0); they are reported (``farseer_*``). At k = 0 the
form is a pure power law in N, which Farseer's family reaches only as a limit (A -> +-inf): when
a curvature's interval spans 0, as on Epoch's Chinchilla points, the ratios m / k (A, E; B, Q)
have no stable posterior (their mean and sd mean nothing; read the sampled m, k and the
predictions, which are unaffected).

Default priors (centred, weakly informative; Chinchilla's where the parameter is Chinchilla's):

* alpha, beta0 ~ Beta(2, 3); a, c0 ~ Normal(-2, 2); e ~ Normal(-0.5, 1);
* m_beta ~ Normal(0, 0.2): ln beta moves by up to ~0.4 per e-fold of N (95%);
* m_c ~ Normal(0, 0.5); k_beta, k_amp ~ Normal(0, 0.5);
* with groups (column ``group``), alpha, a, e, beta0, c0 are partially pooled (the slopes and
  curvatures are shared): the sd of the group deviations ``<p>_tau`` ~ HalfNormal(0.3)
  (``group_sd``, :mod:`.surface`), on the logit of alpha, beta0 and on a, e, c0 (logs) directly.
  Override with ``priors={"group_sd": ...}`` (all) or ``priors={"alpha_tau": ...}`` (one); with
  few groups the spread is mostly this prior.

Weak one parameter at a time, these priors jointly put much weight on impossible losses: drawn
at Epoch's 240 (N, D) points with Huber noise (4,000 draws, benchmarks/prior_predictive.py,
benchmarks/output/prior_predictive.txt), 16.6% of the draws have a run above 1,000 nats per
token (Chinchilla's priors 0.1%, Kaplan's 0.8%) and the 99% quantile of a run's loss is 2.8e6
nats (Chinchilla's 90). Small tables leave Farseer's posterior close to this prior.

Nine parameters: it needs a wide design (many sizes and token counts) to be identified; on
narrow tables its posterior is wide, which is the point when it is averaged with simpler forms.

Compute-optimal search: the isoFLOP search covers only sizes within 2 decades
(``search_decades``) of the fitted range of N (inside every law's 10 params to 1e6 sqrt(C)).
beta(N) and A(N) bend exponentially in ln N, a curvature the data pin only over their own
sizes: a draw with k_beta or k_amp > 0 sends the data term to 0 far above them, and the loss
falls to the floor even with a few thousand tokens. On the SIMULATED Farseer split (seeds 0, 1;
fitted N 1.6e7-6.3e9 params; this paragraph's shares and sizes measured once in review commit
26300a3, no committed script) 5-11% of the draws put N_opt at 1e16 params (1,667 tokens at
C = 1e20 FLOPs) on the wider range; within 2 decades 0.3-1.7% reach the edge at 1e18-1e23
FLOPs, 3% at 1e25. The bound is on N, not on tokens per parameter: the loss fell below the
interior minimum at >= 7e11 params on every budget (1e18-1e25 FLOPs), and 2 decades leave an
optimum growing as C^0.5 room for 4 decades of C. Draws whose minimum within the range is at
its edge are flagged ``at_boundary`` (SearchEdgeWarning). A draw whose loss has a local minimum
inside the range and falls lower again far beyond it is not flagged: its N_opt is that interior
minimum, the optimum the restricted search defines, so the share flagged is not the share of
draws whose loss keeps falling beyond the range. A fit saved without ``N_range`` in its law state
searches the wider range.

NUTS target acceptance 0.95 by default: on the SIMULATED Farseer split (seeds 0, 1; 4 x 1000 +
1000) 0.8 gave 2 and 1 divergences (seed 1: R-hat > 1.01 on 8 parameters), 0.95 none (measured
once in review commit 26300a3, no committed script).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpyro.distributions as dist

from .surface import LossSurfaceLaw

SMALL_K = 1e-4  # below this |k|, h(k, x) uses its second-order series


def h(k, x):
    """(e^(k x) - 1) / k, continuous through k = 0 (where it is x)."""
    safe = jnp.where(jnp.abs(k) < SMALL_K, SMALL_K, k)
    series = x + 0.5 * k * x**2
    return jnp.where(jnp.abs(k) < SMALL_K, series, jnp.expm1(safe * x) / safe)


class Farseer(LossSurfaceLaw):
    name = "farseer"
    pads_runs = True  # the surface model: x, y, group_index and obs, all per run
    floor = "E_inf"  # the irreducible loss
    description = "L = exp(s N^q + S) + exp(B N^b + Q) D^-exp(A N^a + E)"
    parameters = ("alpha", "a", "e", "beta0", "m_beta", "k_beta", "c0", "m_c", "k_amp")
    pooled = ("alpha", "a", "e", "beta0", "c0")
    search_decades = 2.0  # isoFLOP search: fitted N range +- 2 decades (module docstring)
    default_target_accept = 0.95  # no divergences on the simulated split (module docstring)

    def default_priors(self) -> dict:
        return {
            "alpha": dist.Beta(2.0, 3.0),
            "a": dist.Normal(-2.0, 2.0),
            "e": dist.Normal(-0.5, 1.0),
            "beta0": dist.Beta(2.0, 3.0),
            "m_beta": dist.Normal(0.0, 0.2),
            "k_beta": dist.Normal(0.0, 0.5),
            "c0": dist.Normal(-2.0, 2.0),
            "m_c": dist.Normal(0.0, 0.5),
            "k_amp": dist.Normal(0.0, 0.5),
        }

    @staticmethod
    def exponent(theta, x):
        """beta(N) at centred ln N."""
        return theta["beta0"] * jnp.exp(theta["m_beta"] * h(theta["k_beta"], x))

    @staticmethod
    def amplitude_slope(theta, y_D):
        """m_amp, the slope of Farseer's ln A(N) per e-fold of N at the centre."""
        return theta["m_c"] + theta["beta0"] * theta["m_beta"] * y_D

    def log_loss(self, theta, x, y, scales):
        y_D = scales["D"]
        term1 = theta["e"] + jnp.exp(theta["a"] - theta["alpha"] * x)
        beta = self.exponent(theta, x)
        m_amp = self.amplitude_slope(theta, y_D)
        log_amp = theta["c0"] + theta["beta0"] * y_D + m_amp * h(theta["k_amp"], x)
        term2 = log_amp - beta * (y + y_D)
        return jnp.logaddexp(term1, term2)

    def derived(self, theta, scales):
        lN, lL = scales["N"], scales["loss"]
        k_b, k_a = theta["k_beta"], theta["k_amp"]
        ratio_b = theta["m_beta"] / k_b
        ratio_a = self.amplitude_slope(theta, scales["D"]) / k_a
        return {
            "E_inf": jnp.exp(theta["e"] + lL),
            "farseer_S": theta["e"] + lL,
            "farseer_s": jnp.exp(theta["a"] + theta["alpha"] * lN),
            "farseer_q": -theta["alpha"],
            "farseer_a": k_b,
            "farseer_A": ratio_b * jnp.exp(-k_b * lN),
            "farseer_E": jnp.log(theta["beta0"]) - ratio_b,
            "farseer_b": k_a,
            "farseer_B": ratio_a * jnp.exp(-k_a * lN),
            "farseer_Q": theta["c0"] + theta["beta0"] * scales["D"] + lL - ratio_a,
        }

    def recentred_parameters(self, theta, old, new):
        """Farseer's constants kept (:meth:`derived`) on ``new``'s reference logs. With
        u = ln N_ref(new) - ln N_ref(old), the new centre at x = u, and
        h(k, x + u) = e^(k u) h(k, x) + h(k, u):

        * term 1: e + ln L_ref and a + alpha ln N_ref kept, alpha unchanged;
        * exponent: beta0 -> beta(x = u) = beta0 exp(m_beta h(k_beta, u)) and
          m_beta -> m_beta e^(k_beta u) (its value and slope at the new centre), k_beta kept;
        * amplitude: ln A at the new centre, c0 + beta0 y_D + ln L_ref + m_amp h(k_amp, u),
          kept, its slope m_amp -> m_amp e^(k_amp u), and m_c = m_amp - beta0 m_beta y_D on the
          new y_D = ln D_ref; k_amp kept."""
        u = new["N"] - old["N"]
        d_l = old["loss"] - new["loss"]
        m_amp = self.amplitude_slope(theta, old["D"])
        beta0 = theta["beta0"] * jnp.exp(theta["m_beta"] * h(theta["k_beta"], u))
        m_beta = theta["m_beta"] * jnp.exp(theta["k_beta"] * u)
        c0 = (
            theta["c0"]
            + theta["beta0"] * old["D"]
            - beta0 * new["D"]
            + d_l
            + m_amp * h(theta["k_amp"], u)
        )
        return {
            **theta,
            "a": theta["a"] + theta["alpha"] * (old["N"] - new["N"]),
            "e": theta["e"] + d_l,
            "beta0": beta0,
            "m_beta": m_beta,
            "c0": c0,
            "m_c": m_amp * jnp.exp(theta["k_amp"] * u) - beta0 * m_beta * new["D"],
        }


LAW = Farseer()
