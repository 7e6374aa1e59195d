"""Priors as data: turn NumPyro distributions into JSON-ready specs and back, so that a saved
fit records exactly which priors it used."""

from __future__ import annotations

import numpy as np
import numpyro.distributions as dist


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
