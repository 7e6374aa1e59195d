"""Observation models for log loss: ``log L_obs ~ family(mu, scale)``.

* ``gaussian``  -- Normal(mu, sigma).
* ``student_t`` -- StudentT(nu, mu, sigma) with nu fitted (heavy tails for odd runs).
* ``huber``     -- a normalised Huber density with fitted scale: quadratic within ``delta``
  scales of mu, linear beyond, integrating to one, so it is a real likelihood (unlike the Huber
  *loss* that point fits minimise).

Each family has default priors on its nuisance parameters (``sigma``, ``nu``) and a sampler, so
that predictive draws for a new run use the same family.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jax.scipy.special import ndtr
from numpyro.distributions import constraints
from numpyro.distributions.util import promote_shapes

from .priors import standardised_sample

FAMILIES = ("gaussian", "student_t", "huber")
HUBER_DELTA = 1.345  # in units of the scale: the classical 95%-efficiency choice


class NonFactorised:
    """Mixin of an observation distribution whose runs are not independent given the
    parameters (law ``sweep``: a cell's runs share its integrated-out level). ``log_prob``,
    what the sampler sums, may split the joint density any way (e.g. by the chain rule, whose
    single terms depend on the runs' order); ``loo_log_prob(value)``, (R,), is each run's
    exact ln p(z_i | the other runs, theta), what the fit's pointwise log-likelihood (LOO,
    ``bl.compare``) holds instead (Buerkner, Gabry & Vehtari 2021)."""

    def loo_log_prob(self, value):
        raise NotImplementedError


def pointwise_log_prob(fn, value):
    """An observed site's pointwise log-likelihood for LOO: ``fn.loo_log_prob`` for a
    :class:`NonFactorised` distribution, else ``fn.log_prob`` (runs independent given the
    parameters)."""
    return fn.loo_log_prob(value) if isinstance(fn, NonFactorised) else fn.log_prob(value)


class Huber(dist.Distribution):
    """Normalised Huber density on the real line.

    p(x) = exp(-rho((x - loc) / scale)) / (scale * Z(delta)), with rho(u) = u^2/2 for |u| <= delta
    and delta*|u| - delta^2/2 beyond, and Z(delta) = sqrt(2 pi) (2 Phi(delta) - 1)
    + 2 exp(-delta^2/2) / delta.
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    reparametrized_params = ["loc", "scale"]

    def __init__(self, loc=0.0, scale=1.0, delta=HUBER_DELTA, *, validate_args=None):
        self.loc, self.scale = promote_shapes(loc, scale)
        self.delta = float(delta)
        batch_shape = jax.lax.broadcast_shapes(jnp.shape(loc), jnp.shape(scale))
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    def _log_norm(self):
        d = self.delta
        return jnp.log(jnp.sqrt(2 * jnp.pi) * (2 * ndtr(d) - 1) + 2 * jnp.exp(-0.5 * d**2) / d)

    def log_prob(self, value):
        u = jnp.abs((value - self.loc) / self.scale)
        d = self.delta
        rho = jnp.where(u <= d, 0.5 * u**2, d * u - 0.5 * d**2)
        return -rho - jnp.log(self.scale) - self._log_norm()

    def sample(self, key, sample_shape=()):
        """Exact draws: a truncated-normal core or an exponential tail, by their masses."""
        shape = sample_shape + self.batch_shape
        d = self.delta
        core_mass = jnp.sqrt(2 * jnp.pi) * (2 * ndtr(d) - 1)
        tail_mass = 2 * jnp.exp(-0.5 * d**2) / d
        k_pick, k_core, k_tail, k_sign = jax.random.split(key, 4)
        in_core = jax.random.uniform(k_pick, shape) < core_mass / (core_mass + tail_mass)
        core = jax.random.truncated_normal(k_core, -d, d, shape)
        tail = d + jax.random.exponential(k_tail, shape) / d
        sign = jnp.where(jax.random.bernoulli(k_sign, 0.5, shape), 1.0, -1.0)
        u = jnp.where(in_core, core, sign * tail)
        return self.loc + self.scale * u

    @property
    def mean(self):
        return jnp.broadcast_to(self.loc, self.batch_shape)


def default_noise_priors(family: str) -> dict:
    """Default priors on the likelihood's nuisance parameters (log-loss units).

    sigma ~ HalfNormal(0.1): the family's scale of log loss, i.e. up to ~20% scatter a priori.
    It is the residual sd only for "gaussian"; for "huber" the sd is ~1.2 sigma (delta =
    1.345) and for "student_t" sigma sqrt(nu / (nu - 2)) (nu > 2; infinite for nu <= 2).
    nu ~ Gamma(2, 0.1) for Student-t (mean 20, allows tails down to nu ~ 1).
    """
    check_family(family)
    priors = {"sigma": dist.HalfNormal(0.1)}
    if family == "student_t":
        priors["nu"] = dist.Gamma(2.0, 0.1)
    return priors


def check_family(family: str) -> str:
    if family not in FAMILIES:
        raise ValueError(f"unknown likelihood {family!r}; choose one of {FAMILIES}")
    return family


def observation(family: str, mu, sigma, nu=None):
    """The observation distribution of log loss for a family."""
    if family == "gaussian":
        return dist.Normal(mu, sigma)
    if family == "student_t":
        return dist.StudentT(nu, mu, sigma)
    if family == "huber":
        return Huber(mu, sigma)
    raise ValueError(f"unknown likelihood {family!r}; choose one of {FAMILIES}")


def noise_draws(family: str, sigma, nu, shape: tuple, rng):
    """Draws ``shape`` (S, Q) of one run's noise in log loss: the ``family``'s observation
    distribution at 0 with scale ``sigma`` (S,) (and ``nu`` (S,) or None) per draw, seeded from
    the numpy Generator ``rng`` (one integer taken from it)."""
    sigma = jnp.asarray(sigma)[:, None]
    nu = None if nu is None else jnp.asarray(nu)[:, None]
    key = jax.random.PRNGKey(int(rng.integers(0, 2**31 - 1)))
    return np.asarray(observation(family, jnp.zeros(shape), sigma, nu).sample(key), float)


# Typical posterior sds of ln sigma and ln nu: the units they are sampled in when a law asks for
# standardised sampling (see priors.standardised_sample).
NOISE_SAMPLING_SCALE = {"sigma": 0.1, "nu": 0.5}


def sample_noise_params(family: str, priors: dict, standardised: bool = False):
    """Sample the nuisance parameters inside a NumPyro model; returns (sigma, nu or None).
    ``standardised``: through :func:`~.priors.standardised_sample` (sites ``sigma_std``,
    ``nu_std``; ``sigma`` and ``nu`` recorded as deterministic)."""

    def draw(name):
        if standardised:
            return standardised_sample(name, priors[name], NOISE_SAMPLING_SCALE[name])
        return numpyro.sample(name, priors[name])

    sigma = draw("sigma")
    nu = draw("nu") if family == "student_t" else None
    return sigma, nu
