"""The Huber density is a proper likelihood and its sampler draws from it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from bayeslaws.laws.likelihoods import Huber, observation


@pytest.mark.parametrize("delta", [0.5, 1.345, 3.0])
def test_huber_density_integrates_to_one(delta):
    d = Huber(0.3, 0.02, delta=delta)
    lo, hi = 0.3 - 60 * 0.02, 0.3 + 60 * 0.02
    total, _ = integrate.quad(
        lambda x: float(jnp.exp(d.log_prob(x))),
        lo,
        hi,
        points=[0.3 - 0.02 * delta, 0.3, 0.3 + 0.02 * delta],
    )
    assert total == pytest.approx(1.0, abs=1e-6)


def huber_cdf(u, delta):
    """Closed-form CDF of the standard Huber density (independent of the sampler)."""
    z = np.sqrt(2 * np.pi) * (2 * stats.norm.cdf(delta) - 1) + 2 * np.exp(-(delta**2) / 2) / delta
    left_tail = lambda v: np.exp(delta * v + delta**2 / 2) / (delta * z)  # noqa: E731
    core = (
        left_tail(-delta)
        + np.sqrt(2 * np.pi)
        * (stats.norm.cdf(np.clip(u, -delta, delta)) - stats.norm.cdf(-delta))
        / z
    )
    return np.where(
        u < -delta,
        left_tail(np.minimum(u, -delta)),
        np.where(u > delta, 1 - left_tail(-np.maximum(u, delta)), core),
    )


def test_huber_cdf_matches_density():
    d = Huber(0.0, 1.0)
    for t in (-3.0, -0.5, 0.7, 2.5):
        numeric, _ = integrate.quad(lambda u: float(jnp.exp(d.log_prob(u))), -40, t)
        assert huber_cdf(t, 1.345) == pytest.approx(numeric, abs=1e-6)


def test_huber_sampler_matches_density():
    d = Huber(0.0, 1.0)
    x = np.asarray(d.sample(jax.random.PRNGKey(0), (40_000,)))
    result = stats.kstest(x, lambda t: huber_cdf(t, 1.345))
    assert result.pvalue > 0.01
    assert x.mean() == pytest.approx(0.0, abs=4 * x.std() / np.sqrt(x.size))


def test_huber_is_quadratic_inside_linear_outside():
    d = Huber(0.0, 1.0, delta=1.0)
    lp = lambda v: float(d.log_prob(v))  # noqa: E731
    assert lp(0.0) - lp(0.5) == pytest.approx(0.125)
    assert lp(2.0) - lp(3.0) == pytest.approx(1.0)


def test_unknown_family_is_rejected():
    with pytest.raises(ValueError, match="unknown likelihood 'cauchy'"):
        observation("cauchy", 0.0, 1.0)
