"""Priors as data: turn NumPyro distributions into JSON-ready specs and back, so that a saved
fit records exactly which priors it used; read a prior from text (``alpha=Beta(2, 3)``, as the
command line takes it: :func:`parse_prior`); and sample a prior in standardised coordinates."""

from __future__ import annotations

import ast
import difflib
import inspect
import re

import jax
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import constraints, transforms
from numpyro.distributions.transforms import AffineTransform, biject_to

from ..runs.checks import ArgumentTypeError

STANDARDISED = "_std"  # the suffix of a site sampled standardised (standardised_sample)


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
    raised the min ESS of a 4 x 1000 Chinchilla fit from 2,740 to 4,066 (benchmarks/speed.py:
    benchmarks/output/speed.txt at commit 9a30191, before the change, and at e070563, a run at
    6bb1f46, the change; 3,947 in the current file)."""
    to_support = biject_to(prior.support)
    to_std = AffineTransform(-loc / scale, 1.0 / scale)
    standard = dist.TransformedDistribution(prior, [to_support.inv, to_std])
    z = numpyro.sample(f"{name}{STANDARDISED}", standard)
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


# a truncation's open side: TruncatedNormal(..., low=0, high=inf) is a working one-sided prior
_TRUNCATIONS = (
    "LeftTruncatedDistribution",
    "RightTruncatedDistribution",
    "TwoSidedTruncatedDistribution",
)
_OPEN_BOUND = {"low": -np.inf, "high": np.inf}


def _numeric_arguments(spec: dict, where: str = ""):
    """(path, name, owner, values) of every numeric constructor argument in ``spec``
    (:func:`prior_to_spec`), nested distributions and transforms included: path as
    ``base_dist.scale`` or ``transforms[0].scale``, owner the class name, values a float
    array."""
    owner = spec.get("dist") or spec.get("transform")
    for name, value in spec.items():
        if name in ("dist", "transform") or value is None or isinstance(value, str | bool):
            continue
        path = f"{where}{name}"
        if isinstance(value, dict) and ("dist" in value or "transform" in value):
            yield from _numeric_arguments(value, f"{path}.")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for i, item in enumerate(value):
                yield from _numeric_arguments(item, f"{path}[{i}].")
        elif not isinstance(value, dict):  # a constraint's spec is a dict: no number
            yield path, name, owner, np.asarray(value, float)


def _nested_distributions(prior: dist.Distribution):
    """``prior`` and, through ``base_dist``, the distributions it is built on."""
    yield prior
    base = getattr(prior, "base_dist", None)
    if isinstance(base, dist.Distribution):
        yield from _nested_distributions(base)


def _shown(values: np.ndarray) -> str:
    return f"{values.item():g}" if values.ndim == 0 else str(values.tolist())


def check_parameters(prior: dist.Distribution) -> dict:
    """The spec of ``prior`` (:func:`prior_to_spec`) after checking its parameters; ValueError
    naming the parameter of ``prior`` (or of a distribution or transform it is built on) that
    is outside its distribution's constraint (e.g. a scale <= 0, possible when numpyro's
    validation is off) or NaN or infinite (a truncation's ``low`` may be -inf and its ``high``
    +inf). Such a prior has no usable density: Normal(0, inf) is -inf everywhere, and a fit
    under it diverges at every draw."""
    for part in _nested_distributions(prior):
        for name, constraint in part.arg_constraints.items():
            value = getattr(part, name, None)
            if value is None or isinstance(constraint, type(constraints.dependent)):
                continue
            if not np.all(np.asarray(constraint(value))):
                raise ValueError(
                    f"{type(part).__name__}'s {name} is {_shown(np.asarray(value, float))}: "
                    f"it must be {_constraint_words(constraint)}"
                )
    spec = prior_to_spec(prior)
    for path, name, owner, values in _numeric_arguments(spec):
        open_side = owner in _TRUNCATIONS and values == _OPEN_BOUND.get(name, np.nan)
        if not np.all(np.isfinite(values) | open_side):
            raise ValueError(
                f"{spec['dist']}'s {path} is {_shown(values)}: the parameters of a prior must "
                "be finite numbers"
            )
    return spec


def check_round_trip(prior: dist.Distribution) -> dict:
    """The spec of ``prior`` after checking that its parameters are usable
    (:func:`check_parameters`: finite, within their constraints) and that it rebuilds to the
    same density: equal log_prob at a few points of its support (ValueError otherwise)."""
    spec = check_parameters(prior)
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


# ---- supports: where a prior puts its mass ----------------------------------------------------
def support_bounds(support) -> tuple[float, float] | None:
    """(lower, upper) of a numpyro support on the real line (``-inf`` / ``inf`` for an open
    side): real, positive, greater_than(a), less_than(b), interval(a, b), unit_interval, ...
    (whether a bound itself belongs to it is not told apart). None for a support that is not
    one interval of the real line (integers, vectors, simplex, ...) or has non-scalar bounds."""
    while isinstance(support, constraints._IndependentConstraint):
        if support.reinterpreted_batch_ndims:
            return None
        support = support.base_constraint
    if isinstance(support, constraints._Real):
        return -np.inf, np.inf
    if isinstance(support, constraints._Interval):
        bounds = (support.lower_bound, support.upper_bound)
    elif isinstance(support, constraints._GreaterThan):
        bounds = (support.lower_bound, np.inf)
    elif isinstance(support, constraints._LessThan):
        bounds = (-np.inf, support.upper_bound)
    else:
        return None
    values = [np.asarray(b, float) for b in bounds]
    if any(v.ndim for v in values):
        return None
    return float(values[0]), float(values[1])


def support_within(inner, outer) -> bool:
    """Whether the support ``inner`` lies within ``outer`` (numpyro constraints), by their
    bounds (:func:`support_bounds`). When either is not an interval of the real line (nothing
    to compare), only the whole real line inside a narrower ``outer`` is refused."""
    have, allowed = support_bounds(inner), support_bounds(outer)
    if have is None or allowed is None:
        return not (inner is constraints.real and outer is not constraints.real)
    return allowed[0] <= have[0] and have[1] <= allowed[1]


def support_text(support) -> str:
    """A support in words: "the positive numbers", "(0, 1)", "(-1, 1)", "> 2", ... (numpyro's
    own text for one that is not an interval of the real line)."""
    bounds = support_bounds(support)
    if bounds is None:
        return str(support)
    low, high = bounds
    if np.isinf(low) and np.isinf(high):
        return "every real number"
    if low == 0 and np.isinf(high):
        return "the positive numbers"
    if np.isinf(high):
        return f"the numbers above {low:g}"
    if np.isinf(low):
        return f"the numbers below {high:g}"
    return f"({low:g}, {high:g})"


def support_examples(support) -> str:
    """Priors on ``support`` to suggest, in words (e.g. "dist.HalfNormal or dist.LogNormal");
    empty for a support that is not an interval of the real line or is all of it."""
    bounds = support_bounds(support)
    if bounds is None or (np.isinf(bounds[0]) and np.isinf(bounds[1])):
        return ""
    low, high = bounds
    if low == 0 and np.isinf(high):
        return "dist.HalfNormal(scale) or dist.LogNormal(loc, scale)"
    if np.isinf(high):
        return f"dist.TruncatedNormal(loc, scale, low={low:g})"
    if np.isinf(low):
        return f"dist.TruncatedNormal(loc, scale, high={high:g})"
    beta = "dist.Beta(a, b), " if (low, high) == (0.0, 1.0) else ""
    return (
        f"{beta}dist.Uniform({low:g}, {high:g}) or "
        f"dist.TruncatedNormal(loc, scale, low={low:g}, high={high:g})"
    )


def priors_to_spec(priors: dict) -> dict:
    return {key: prior_to_spec(value) for key, value in priors.items()}


def spec_to_priors(spec: dict) -> dict:
    return {key: spec_to_prior(value) for key, value in spec.items()}


# ---- priors from text (the command line's --prior NAME=DIST) ---------------------------------
PRIOR_FORM = "NAME=DISTRIBUTION(NUMBERS), e.g. alpha=Beta(2, 3) or e=Normal(-0.5, 0.2)"
_NAMED = re.compile(r"^\s*([A-Za-z_]\w*)\s*=(?!=)(.*)$", re.DOTALL)
_MODULE_PREFIXES = ("dist", "numpyro.distributions")  # dist.Normal(0, 1) is read as Normal(0, 1)


def distribution_names() -> list[str]:
    """The names :func:`parse_prior` accepts: numpyro.distributions' Distribution classes and
    its capitalised constructors (TruncatedNormal, TruncatedCauchy, ...), sorted."""
    names = []
    for name in dir(dist):
        obj = getattr(dist, name)
        if name.startswith("_") or not callable(obj):
            continue
        if inspect.isclass(obj):
            if issubclass(obj, dist.Distribution) and obj is not dist.Distribution:
                names.append(name)
        elif inspect.isfunction(obj) and name[0].isupper():
            names.append(name)
    return sorted(names)


def _callee(text: str, node: ast.expr) -> str:
    """The distribution's name in the call ``node`` (``Normal``, or ``dist.Normal``)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        name, prefix = parts[0], ".".join(reversed(parts[1:]))
        if not prefix or prefix in _MODULE_PREFIXES:
            return name
    raise ValueError(
        f"prior {text!r}: {ast.unparse(node)!r} is not a distribution name; write the name alone, "
        "e.g. Normal(0, 1)"
    )


def _check_known(text: str, name: str) -> None:
    """ValueError naming ``name`` and the closest distribution names when it is not one."""
    known = distribution_names()
    if name in known:
        return
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=4, cutoff=0.6)
    suggestion = [by_lower[c] for c in close] or ["Normal", "HalfNormal", "LogNormal", "Beta"]
    raise ValueError(
        f"prior {text!r}: {name!r} is not a distribution of numpyro.distributions; "
        f"{'did you mean' if close else 'e.g.'} {', '.join(suggestion)}"
    )


def _number(text: str, what: str, node: ast.expr) -> float:
    """A numeric literal (with an optional sign) as a float; ValueError naming ``what``."""
    sign = 1.0
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    value = node.value if isinstance(node, ast.Constant) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(
            f"prior {text!r}: {what} is {ast.unparse(node)!r}, not a number (the arguments "
            "of a prior are numbers such as 0.3, -2 or 1e-3)"
        )
    return sign * float(value)


_INVALID = re.compile(r"got invalid (\w+) parameter")
_CONSTRAINT_WORDS = {
    "positive": "positive (> 0)",
    "nonnegative": "zero or more",
    "real": "a finite number",
    "unit_interval": "in [0, 1]",
}


def _constraint_words(constraint) -> str:
    """What a value under numpyro's ``constraint`` must be, in words (e.g. "positive (> 0)"):
    its name in numpyro.distributions.constraints worded by ``_CONSTRAINT_WORDS`` (the name
    itself when unlisted), else the constraint's own text."""
    names = [n for n in dir(constraints) if getattr(constraints, n) is constraint]
    return _CONSTRAINT_WORDS.get(names[0], names[0]) if names else str(constraint)


def _refusal(cls_name: str, args: list, kwargs: dict, error: Exception) -> str:
    """Why a distribution refused its arguments: for numpyro's "got invalid scale parameter",
    the value given for it and what it must be (e.g. "scale=-1 is invalid: it must be
    positive (> 0)"); else the constructor's own message."""
    match = _INVALID.search(str(error))
    if match is None:
        return str(error)
    parameter = match.group(1)
    constructor = getattr(dist, cls_name)
    try:
        given = inspect.signature(constructor).bind_partial(*args, **kwargs).arguments
    except TypeError:
        given = {}
    if parameter not in given:
        return str(error)
    constraint = getattr(constructor, "arg_constraints", {}).get(parameter)
    must = f": it must be {_constraint_words(constraint)}" if constraint is not None else ""
    return f"{parameter}={given[parameter]:g} is invalid{must}"


def parse_prior(text: str) -> tuple[str, dist.Distribution]:
    """A prior from text: ``"NAME=DISTRIBUTION(ARGS)"`` -> (NAME, the numpyro distribution).

    ``DISTRIBUTION`` is a class (or capitalised constructor) of numpyro.distributions, with
    numbers as positional or keyword arguments, in the parameter's own units::

        parse_prior("alpha=Beta(20, 80)")            # ('alpha', Beta(20.0, 80.0))
        parse_prior("group_sd=HalfNormal(0.1)")
        parse_prior("e=Normal(-0.5, 0.2)")
        parse_prior("alpha=TruncatedNormal(0.3, 0.1, low=0, high=1)")

    Nothing is evaluated: the text is parsed (:mod:`ast`) and only such a call is accepted.
    Which names a law samples is not checked here: ``bl.fit(priors=...)`` checks that (and the
    support, e.g. a Beta's (0, 1) for alpha). Raises ValueError naming ``text`` and the problem
    (no ``NAME=``, not a distribution, an argument that is not a number, or the distribution's
    own refusal, e.g. a negative scale)."""
    if not isinstance(text, str):
        raise ArgumentTypeError(f"a prior is text of the form {PRIOR_FORM}, got {text!r}")
    match = _NAMED.match(text)
    if match is None:
        raise ValueError(f"prior {text!r} does not start with NAME=: give {PRIOR_FORM}")
    name, body = match.group(1), match.group(2).strip()
    if not body:
        raise ValueError(f"prior {text!r} has no distribution after '=': give {PRIOR_FORM}")
    try:
        tree = ast.parse(body, mode="eval").body
    except SyntaxError:
        raise ValueError(
            f"prior {text!r}: {body!r} cannot be read as a distribution call; give {PRIOR_FORM}"
        ) from None
    if not isinstance(tree, ast.Call):
        raise ValueError(
            f"prior {text!r}: {body!r} is not a distribution call; give {PRIOR_FORM}"
        )
    cls_name = _callee(text, tree.func)
    _check_known(text, cls_name)
    args, kwargs = [], {}
    for i, node in enumerate(tree.args):
        if isinstance(node, ast.Starred):
            raise ValueError(f"prior {text!r}: *{ast.unparse(node.value)} is not a number")
        args.append(_number(text, f"argument {i + 1} of {cls_name}", node))
    for keyword in tree.keywords:
        if keyword.arg is None:
            raise ValueError(f"prior {text!r}: **{ast.unparse(keyword.value)} is not a number")
        kwargs[keyword.arg] = _number(text, f"{keyword.arg}= of {cls_name}", keyword.value)
    try:
        with numpyro.validation_enabled():
            prior = getattr(dist, cls_name)(*args, **kwargs)
    except (TypeError, ValueError) as error:
        why = _refusal(cls_name, args, kwargs, error)
        raise ValueError(f"prior {text!r}: {cls_name} refused its arguments ({why})") from None
    if not isinstance(prior, dist.Distribution):
        raise ValueError(f"prior {text!r}: {cls_name}(...) is not a distribution")
    return name, prior
