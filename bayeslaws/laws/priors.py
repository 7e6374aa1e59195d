"""Priors as data: turn NumPyro distributions into JSON-ready specs and back, so that a saved
fit records exactly which priors it used; and sampling a prior in standardised coordinates."""

from __future__ import annotations

import inspect

import jax
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import constraints, transforms
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


SUPPORTED = (
    "numpyro distributions built from numbers (Normal, HalfNormal, Beta, Gamma, LogNormal, "
    "StudentT, Uniform, LogUniform, ...), their truncations (TruncatedNormal) and "
    "TransformedDistribution with transforms such as AffineTransform or ExpTransform"
)
# constructor argument -> the attribute that holds it, where the two names differ
_ATTRIBUTE = {"base_distribution": "base_dist"}


def _init_arguments(cls) -> list:
    """Names of the constructor arguments of a distribution or transform class (not
    ``validate_args``); raises ValueError when they cannot be listed (``*args``, ``**kwargs``)."""
    if cls.__init__ is object.__init__:
        return []
    names = []
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        if name in ("self", "validate_args"):
            continue
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise ValueError(f"{cls.__name__} takes *args/**kwargs, which cannot be recorded")
        names.append(name)
    return names


def _value_to_spec(value):
    """One constructor argument as JSON-ready data: numbers and arrays as (nested) lists,
    distributions and transforms as specs, constraints by name."""
    if isinstance(value, dist.Distribution):
        return prior_to_spec(value)
    if isinstance(value, transforms.Transform):
        return _object_to_spec(value, "transform", transforms)
    if isinstance(value, constraints.Constraint):
        names = [n for n in dir(constraints) if getattr(constraints, n) is value]
        if not names:
            raise ValueError(f"constraint {value!r} is not one of numpyro's named constraints")
        return {"constraint": names[0]}
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, transforms.Transform) for v in value):
            return [_value_to_spec(v) for v in value]
        value = np.asarray(value)
    if value is None or isinstance(value, str | bool):
        return value
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"argument {value!r} is not a number")
    return array.item() if array.ndim == 0 else array.tolist()


def _object_to_spec(obj, tag: str, module) -> dict:
    """``{tag: class name, argument: value spec, ...}`` from the object's own attributes."""
    cls = type(obj)
    if getattr(module, cls.__name__, None) is not cls:
        raise ValueError(f"{cls.__name__} is not a class of {module.__name__}")
    spec = {tag: cls.__name__}
    for name in _init_arguments(cls):
        attribute = _ATTRIBUTE.get(name, name)
        if not hasattr(obj, attribute):
            raise ValueError(f"{cls.__name__} does not keep its argument {name!r}")
        spec[name] = _value_to_spec(getattr(obj, attribute))
    return spec


def _spec_to_value(value):
    """Inverse of :func:`_value_to_spec`."""
    if isinstance(value, dict) and "dist" in value:
        return spec_to_prior(value)
    if isinstance(value, dict) and "transform" in value:
        spec = dict(value)
        cls = getattr(transforms, spec.pop("transform"))
        return cls(**{k: _spec_to_value(v) for k, v in spec.items()})
    if isinstance(value, dict) and "constraint" in value:
        return getattr(constraints, value["constraint"])
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [_spec_to_value(v) for v in value]
    if isinstance(value, list):
        return np.asarray(value)
    return value


def prior_to_spec(prior: dist.Distribution) -> dict:
    """``Normal(0, 2)`` -> ``{"dist": "Normal", "loc": 0.0, "scale": 2.0}``; nested
    distributions (``base_dist`` of a truncation) and transforms are specs of their own.

    Every constructor argument is recorded, and the spec must rebuild to a distribution with
    the same spec (else ValueError): a spec, and so a fit's record and its sampler's cache key
    (``contract.priors_key``), never drops a parameter."""
    try:
        spec = _object_to_spec(prior, "dist", dist)
        rebuilt = _object_to_spec(spec_to_prior(spec), "dist", dist)
    except (TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"prior {prior!r} cannot be recorded ({error}); use {SUPPORTED}") from None
    if rebuilt != spec:
        raise ValueError(
            f"prior {prior!r} does not rebuild from its record {spec} (got {rebuilt}); use "
            f"{SUPPORTED}"
        )
    return spec


def spec_to_prior(spec: dict) -> dist.Distribution:
    """Inverse of :func:`prior_to_spec`."""
    spec = dict(spec)
    name = spec.pop("dist")
    return getattr(dist, name)(**{k: _spec_to_value(v) for k, v in spec.items()})


def log_prob_pairs(prior: dist.Distribution, other: dist.Distribution, n_points: int = 8):
    """log_prob of ``prior`` and of ``other`` at ``n_points`` points of ``prior``'s support: an
    even grid on (-3, 3) in its unconstrained coordinates (one compiled call: op by op, a
    Beta's log density took ~1.5 s to evaluate the first time, compiled ~0.1 s), or draws of
    ``prior`` for a support without a bijection (e.g. a discrete one)."""
    shape = prior.batch_shape + prior.event_shape
    grid = np.linspace(-3.0, 3.0, n_points).reshape((n_points,) + (1,) * len(shape))
    try:
        to_support = biject_to(prior.support)
    except NotImplementedError:
        points = prior.sample(jax.random.PRNGKey(0), (n_points,))
        return prior.log_prob(points), other.log_prob(points)

    def both(u):
        points = to_support(u)
        return prior.log_prob(points), other.log_prob(points)

    return jax.jit(both)(np.broadcast_to(grid, (n_points,) + shape))


def check_round_trip(prior: dist.Distribution) -> dict:
    """The spec of ``prior`` after checking that it rebuilds to the same density: equal
    log_prob at a few points of its support (ValueError otherwise)."""
    spec = prior_to_spec(prior)
    try:
        expected, got = (np.asarray(v, float) for v in log_prob_pairs(prior, spec_to_prior(spec)))
    except Exception as error:  # a distribution that cannot be evaluated
        raise ValueError(f"prior {prior!r} cannot be checked ({error}); use {SUPPORTED}") from None
    if not np.allclose(got, expected, rtol=1e-6, atol=1e-6, equal_nan=True):
        raise ValueError(
            f"prior {prior!r} does not rebuild from its record {spec}: its log density differs "
            f"({expected.tolist()} vs {got.tolist()}); use {SUPPORTED}"
        )
    return spec


def priors_to_spec(priors: dict) -> dict:
    return {key: prior_to_spec(value) for key, value in priors.items()}


def spec_to_priors(spec: dict) -> dict:
    return {key: spec_to_prior(value) for key, value in spec.items()}
