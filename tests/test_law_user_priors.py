"""User priors with infinite (or otherwise unusable) parameters are refused naming the site and the
parameter; an open truncation bound is accepted."""

from __future__ import annotations

import numpyro
import numpyro.distributions as dist
import pytest

from bayeslaws.laws.chinchilla import LAW as CHINCHILLA

INF = float("inf")


# ---- F3: unusable user priors ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("site", "prior", "parameter"),
    [
        ("a", lambda: dist.Normal(0.0, INF), "scale is inf"),
        ("a", lambda: dist.LogNormal(0.0, INF), "scale is inf"),
        ("sigma", lambda: dist.HalfNormal(INF), "scale is inf"),
        ("sigma", lambda: dist.Gamma(INF, 1.0), "concentration is inf"),
        ("alpha", lambda: dist.Beta(2.0, INF), "concentration0 is inf"),
        ("alpha", lambda: dist.Uniform(0.0, INF), "high is inf"),
        ("sigma", lambda: dist.TruncatedNormal(0.1, INF, low=0.0), "base_dist.scale is inf"),
    ],
)
def test_a_prior_with_an_infinite_parameter_is_refused_naming_site_and_parameter(
    site, prior, parameter
):
    with pytest.raises(ValueError, match=rf"prior for '{site}'.*{parameter}.*finite"):
        CHINCHILLA.priors("huber", {site: prior()})


def test_a_prior_outside_its_constraints_is_refused_even_without_validation():
    with numpyro.validation_enabled(False):
        negative = dist.Normal(0.0, -1.0)
    with pytest.raises(ValueError, match=r"prior for 'a'.*scale is -1.*positive"):
        CHINCHILLA.priors("huber", {"a": negative})


def test_an_open_truncation_bound_is_accepted():
    """TruncatedNormal(..., low=0, high=inf) is a working one-sided prior."""
    prior = dist.TruncatedNormal(0.1, 0.05, low=0.0, high=INF)
    assert CHINCHILLA.priors("huber", {"sigma": prior})["sigma"] is prior
