"""Priors as data: turn NumPyro distributions into JSON-ready specs and back, so that a saved
fit records exactly which priors it used; and sampling a prior in standardised coordinates."""

from __future__ import annotations

import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.distributions.transforms import AffineTransform, biject_to


def standardised_sample(name: str, prior: dist.Distribution, scale: float, loc=0.0):
    """Sample ``name`` ~ ``prior`` through the site ``name_std`` = (T^-1(value) - ``loc``) /
    ``scale`` (T the bijection onto the prior's support: identity, exp or sigmoid; ``loc`` a
    centre in those unconstrained units), recorded as the deterministic ``name``: an exact change
    of variables (the prior is transformed with it).

    Why: NUTS adapts its mass matrix in the sampled coordinates, and NumPyro's adaptation
    shrinks each variance towards 1e-3. A fitted exponent or log amplitude on a few hundred
    runs has a posterior sd near 0.01 (variance 1e-4), which that shrinkage swamps: the mass
    matrix stays wrong and trajectories long. In units of ``scale`` (a typical posterior sd)
    the variances are of order one and the shrinkage is negligible; on Epoch's 240 points this
    raised the min ESS of a 4 x 1000 Chinchilla fit from ~2,700 to ~4,000
    (benchmarks/speed.py)."""
    to_support = biject_to(prior.support)
    to_std = AffineTransform(-loc / scale, 1.0 / scale)
    z = numpyro.sample(f"{name}_std", dist.TransformedDistribution(prior, [to_support.inv, to_std]))
    return numpyro.deterministic(name, to_support(loc + scale * z))


def prior_to_spec(prior: dist.Distribution) -> dict:
    """``Normal(0, 2)`` -> ``{"dist": "Normal", "loc": 0.0, "scale": 2.0}``."""
    name = type(prior).__name__
    if not hasattr(dist, name) or not isinstance(prior, getattr(dist, name)):
        raise ValueError(
            f"prior {prior!r} cannot be saved: use a plain numpyro distribution (Normal, "
            "HalfNormal, Beta, Gamma, LogNormal, StudentT, Uniform, ...)"
        )
    params = {}
    for key in prior.arg_constraints:
        value = np.asarray(getattr(prior, key))
        params[key] = value.item() if value.ndim == 0 else value.tolist()
    return {"dist": name, **params}


def spec_to_prior(spec: dict) -> dist.Distribution:
    """Inverse of :func:`prior_to_spec`."""
    spec = dict(spec)
    name = spec.pop("dist")
    return getattr(dist, name)(**spec)


def priors_to_spec(priors: dict) -> dict:
    return {key: prior_to_spec(value) for key, value in priors.items()}


def spec_to_priors(spec: dict) -> dict:
    return {key: spec_to_prior(value) for key, value in spec.items()}
