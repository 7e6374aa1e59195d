"""What every loss-surface law L(N, D) shares: centring, priors, partial pooling across groups,
the likelihood, and the posterior methods of the contract. A law module supplies only its
math: parameters, default priors, ``log_loss`` and the natural-scale quantities it reports.

Centring: the model sees ``x = ln N - ln N_ref``, ``y = ln D - ln D_ref`` and
the normalised log loss ``z = ln L - ln L_ref``, with reference scales at the data's centre
(geometric means), so intercepts and exponents are nearly uncorrelated.

Pooling: with G > 1 groups, each pooled parameter theta has a population value theta (with the
law's prior) and group values ``theta_g = T(T^-1(theta) + tau * z_g)``, ``z_g ~ Normal(0, 1)``
(non-centred), ``T`` the bijection onto the prior's support (sigmoid for exponents in (0, 1),
exp for positive exponents, identity for log amplitudes). With one group the model is the plain
one.

Group-spread prior: every ``<p>_tau`` ~ ``GROUP_SD_PRIOR`` = HalfNormal(0.3) (prior name
``group_sd``), the sd of the group deviations in those unconstrained units: on an exponent's
logit (0.3 moves an exponent near 0.3 by ~0.06) or log, on a log amplitude directly (a factor
e^0.3 = 1.35). Override it for every pooled parameter with ``priors={"group_sd":
dist.HalfNormal(0.1)}``, for one with ``priors={"alpha_tau": ...}``. With few groups (two, say)
the spread is mostly this prior, and so is a new group's answer (``group=None``; its warning
says so, by its power-scaling prior sensitivity:
:func:`bayeslaws.posterior.draws.prior_sensitive_spreads`).

Units: N in parameters, D in tokens, C in FLOPs, L in the runs' loss units.
"""

from __future__ import annotations

import copy
import functools

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pandas as pd
from numpyro.distributions.transforms import biject_to

from ..runs.checks import ArgumentTypeError
from . import optimum
from .contract import (
    OBSERVED_SITE,
    Law,
    LawCapabilityError,
    Observations,
    Posterior,
    Prepared,
    Scales,
    check_allocation_method,
    law_key,
    require_converged_runs,
    resolve_group,
)
from .likelihoods import observation, sample_noise_params
from .priors import standardised_sample

GROUP_SD_PRIOR = dist.HalfNormal(0.3)  # sd of group deviations, in unconstrained units
# Typical posterior sd of a surface parameter in unconstrained units (an exponent's logit, a
# centred log amplitude) on a few hundred runs: the units NUTS samples it in
# (priors.standardised_sample). Only the order of magnitude matters: the mass matrix adapts the
# rest, and a law may set its own per parameter (``LossSurfaceLaw.sampling_scale``).
SAMPLING_SCALE = 0.05


def pooled_sample(name, prior, group_index, n_groups, tau_prior, scale=SAMPLING_SCALE):
    """Sample a parameter (standardised by ``scale``, :func:`~.priors.standardised_sample`),
    partially pooled over groups when ``n_groups > 1``.

    Returns (population value (scalar), value per run (scalar or shape (n_runs,))).
    """
    theta = standardised_sample(name, prior, scale)
    if n_groups <= 1:
        return theta, theta
    to_support = biject_to(prior.support)
    tau = numpyro.sample(f"{name}_tau", tau_prior)
    with numpyro.plate("groups", n_groups):
        z = numpyro.sample(f"{name}_z", dist.Normal(0.0, 1.0))
    theta_group = numpyro.deterministic(
        f"{name}_group", to_support(to_support.inv(theta) + tau * z)
    )
    return theta, theta_group[group_index]


# laws (equal by class and options) whose definition check_definition has passed: prepare runs
# for every fit, update and refit, and the check evaluates log_loss eagerly
_DEFINITIONS_CHECKED: set = set()


class _UnknownParameter(KeyError):
    """A log_loss read a name that is not among the law's parameters."""


class _ParameterValues(dict):
    """theta for a trial evaluation of log_loss: reading an absent name raises
    :class:`_UnknownParameter` (told apart from any other KeyError of the law's code)."""

    def __missing__(self, key):
        raise _UnknownParameter(key)


def _unknown_parameter_read(law) -> str | None:
    """The first name ``law.log_loss`` reads from theta that is not among its ``parameters``
    (None: none), from one evaluation at the reference point with every parameter 0.5. Any
    other failure of that evaluation is left for the fit itself to raise."""
    theta = _ParameterValues({p: jnp.asarray(0.5) for p in law.parameters})
    zero = jnp.asarray(0.0)
    try:
        law.log_loss(theta, zero, zero, Scales({"N": 0.0, "D": 0.0, "loss": 0.0}))
    except _UnknownParameter as err:
        return str(err.args[0])
    except Exception:  # noqa: BLE001 -- the fit raises it with its own context
        return None
    return None


class _KeyedLaw:
    """A law as a static argument of a compiled function, hashed and compared by its
    ``law_key`` (code, class attributes, globals read, options, state), not by class and
    options alone: a class attribute or module constant changed in place is another law."""

    __slots__ = ("law", "key")

    def __init__(self, law):
        self.law, self.key = law, law_key(law)

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other) -> bool:
        return isinstance(other, _KeyedLaw) and self.key == other.key


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _log_loss_draws(keyed, family, new_run, theta, x, y, scales, sigma, nu, key):
    """ln L draws (S, Q) at centred (x, y), compiled once per law (a :class:`_KeyedLaw`),
    family and shapes; plus the run noise of the family when ``new_run``."""
    law = keyed.law
    th = {k: v[:, None] for k, v in theta.items()}
    mu = law.log_loss(th, x[None, :], y[None, :], scales) + scales["loss"]
    if new_run:
        noise = observation(
            family, jnp.zeros_like(mu), sigma[:, None], None if nu is None else nu[:, None]
        )
        mu = mu + noise.sample(key)
    return mu


class LossSurfaceLaw(Law):
    """A loss surface L(N, D) fitted on centred logs. Subclasses define ``parameters``,
    ``pooled``, :meth:`default_priors`, :meth:`log_loss` and optionally :meth:`derived`; a law
    with an irreducible loss also names it in ``floor`` (a quantity :meth:`derived` returns, e.g.
    ``floor = "E"``): without it ``near_optimal`` takes the whole loss as reducible.
    :meth:`check_definition` names what a subclass lacks, at fit time."""

    parameters: tuple = ()  # sampled parameters, in model order
    pooled: tuple = ()  # the ones partially pooled across groups
    required_levels = {"N": 2, "D": 2}  # distinct values each input needs
    widened = True
    sampling_scale: dict = {}  # name -> unconstrained units it is sampled in (SAMPLING_SCALE)
    reference_scales: Scales | None = None  # fixed centring (with_reference_scales); None: data
    floor: str | None = None  # the derived quantity that is the irreducible loss (None: none)
    # decades beyond the fitted range of N that the isoFLOP search of the optimum covers
    # (:meth:`search_range`); None: the whole of optimum.search_range (10 params to 1e6 sqrt(C))
    search_decades: float | None = None

    def log_loss(self, theta: dict, x, y, scales: Scales):
        """Normalised log loss z = ln L - ln L_ref at centred logs (x, y); broadcasts."""
        raise NotImplementedError(
            f"law {self.name!r} ({type(self).__qualname__}) does not define log_loss(self, theta, "
            "x, y, scales)"
        )

    def check_definition(self) -> None:
        """Refuse (TypeError naming the law, the parameter and what to add) a subclass that the
        model below cannot fit: no ``parameters``, a parameter without a prior in
        :meth:`default_priors`, no :meth:`log_loss`, or a ``log_loss`` that reads a parameter
        not in ``parameters``. Called by :meth:`prepare` (so at fit time, before sampling) and
        by ``bl.register``. A law with a model of its own answers for its own parameters."""
        if type(self).model is not LossSurfaceLaw.model:
            return
        which = f"law {self.name!r} ({type(self).__qualname__})"
        if type(self).log_loss is LossSurfaceLaw.log_loss:
            raise ArgumentTypeError(
                f"{which} does not define log_loss(self, theta, x, y, scales): the normalised log "
                "loss ln L - ln L_ref at centred logs x = ln N - ln N_ref, y = ln D - ln D_ref "
                "(theta: a dict of its parameters, scales: the reference logs); add it"
            )
        if not self.parameters:
            raise ArgumentTypeError(
                f"{which} declares no parameters: set the class attribute `parameters` to the "
                "names log_loss reads from theta, in model order (e.g. parameters = ('alpha', "
                "'a', 'e')), each with a prior in default_priors()"
            )
        priors = self.default_priors()
        missing = [p for p in self.parameters if p not in priors]
        if missing:
            raise ArgumentTypeError(
                f"{which} has parameter(s) {missing} without a prior: add "
                f"{'it' if len(missing) == 1 else 'them'} to default_priors() (name -> numpyro "
                f"distribution), or drop {'it' if len(missing) == 1 else 'them'} from "
                f"`parameters`; its priors are {sorted(priors)}"
            )
        unknown = _unknown_parameter_read(self)
        if unknown is not None:
            raise ArgumentTypeError(
                f"{which}: log_loss reads theta[{unknown!r}], which is not among its "
                f"`parameters` {tuple(self.parameters)}: add it to `parameters` (with a prior in "
                "default_priors()) or correct the name in log_loss"
            )

    def derived(self, theta: dict, scales: Scales) -> dict:
        """Natural-scale quantities reported in summaries (e.g. E, A, B for Chinchilla)."""
        return {}

    # ---- the model ---------------------------------------------------------------------------
    def extra_prior_names(self) -> set:
        return {"group_sd"} | {f"{p}_tau" for p in self.pooled}

    def priors(self, likelihood: str, overrides: dict | None = None) -> dict:
        return {"group_sd": GROUP_SD_PRIOR, **super().priors(likelihood, overrides)}

    def prior_reference(self, key: str, priors: dict):
        """As the contract's, with ``GROUP_SD_PRIOR`` the reference of ``group_sd`` and of
        every ``<p>_tau`` (scales of group deviations: positive)."""
        return super().prior_reference(key, {"group_sd": GROUP_SD_PRIOR, **priors})

    def model(self, *, x, y, group_index, scales, n_groups, priors, likelihood, obs=None):
        """z ~ family(log_loss(theta, x, y), sigma), theta with the law's priors (pooled)."""
        population, per_run = {}, {}
        for name in self.parameters:
            if name in self.pooled:
                tau_prior = priors.get(f"{name}_tau", priors["group_sd"])
                population[name], per_run[name] = pooled_sample(
                    name, priors[name], group_index, n_groups, tau_prior,
                    self.sampling_scale.get(name, SAMPLING_SCALE),
                )
            else:
                population[name] = per_run[name] = standardised_sample(
                    name, priors[name], self.sampling_scale.get(name, SAMPLING_SCALE)
                )
        for name, value in self.derived(population, scales).items():
            numpyro.deterministic(name, value)
        mu = self.log_loss(per_run, x, y, scales)
        sigma, nu = sample_noise_params(likelihood, priors, standardised=True)
        with numpyro.plate("runs", x.shape[0]):
            numpyro.sample(OBSERVED_SITE, observation(likelihood, mu, sigma, nu), obs=obs)

    def recentred_parameters(self, theta: dict, old: Scales, new: Scales) -> dict | None:
        """The law's ``parameters`` centred on the reference scales ``new`` that give the same
        loss surface L(N, D) (and the same :meth:`derived` quantities) as ``theta`` centred on
        ``old``: name -> value. Values are float64 arrays that broadcast (a pooled parameter's
        group values, shape (G,), beside shared scalars), each result of the broadcast shape
        of what it is computed from. None: the law does not say how its parameters depend on
        the centring (this default, unless the scales are equal); a law module derives it
        from its own :meth:`log_loss`."""
        return dict(theta) if old == new else None

    def recentred(self, draw, old: Scales, new: Scales, priors) -> dict:
        """The contract's :meth:`~.contract.Law.recentred` for the surface model (:meth:`model`):

        * each parameter's sampled ``<p>_std`` at the value of :meth:`recentred_parameters` of
          the draw's population values (the derived E, A, B, ... are the old draw's);
        * with groups, each pooled parameter's ``<p>_z`` so that every group's value is
          :meth:`recentred_parameters` of that group's values, its ``<p>_tau`` kept (the spread
          of the group deviations in unconstrained units). Exact when the shared parameters do
          not move with the groups' (Chinchilla, its gamma form, Kaplan); a shared parameter
          whose recentred value depends on a pooled one (Farseer's ``m_c``, through ``beta0``)
          takes the population's, so a group's surface is then the old one only at the new
          reference size N_ref (its amplitude's slope in ln N differs);
        * the noise (``sigma_std``, ``nu_std``: of the centred log loss, whose spread the
          reference loss does not change) as it is.

        A value outside its prior's support (e.g. Farseer's ``beta0`` in (0, 1) moved past 1 by
        the new centre) is left out, with that parameter's group deviations, so they start as
        in a cold fit; so are the group deviations (``<p>_tau``, ``<p>_z``) alone when a group's
        value is outside it. A law whose :meth:`recentred_parameters` says nothing (None) gets the
        noise sites only; a law with a model of its own answers as the contract's default."""
        if type(self).model is not LossSurfaceLaw.model:
            return super().recentred(draw, old, new, priors)
        out = {f"{k}_std": draw[f"{k}_std"] for k in ("sigma", "nu") if f"{k}_std" in draw}
        grouped = [p for p in self.pooled if f"{p}_tau" in draw]  # a fit of several groups
        with jax.enable_x64(True):  # float64: the shifts of unmoved values are exactly 0
            theta = {p: np.asarray(draw[p], float) for p in self.parameters}
            moved = self.recentred_parameters(theta, old, new)
            if moved is None:
                return out
            per_group = {
                p: np.asarray(draw[f"{p}_group"], float) if p in grouped else theta[p]
                for p in self.parameters
            }
            moved_group = self.recentred_parameters(per_group, old, new) if grouped else {}
            for p in self.parameters:
                unconstrained = biject_to(priors[p].support).inv
                shift = np.asarray(unconstrained(moved[p]) - unconstrained(theta[p]), float)
                scale = self.sampling_scale.get(p, SAMPLING_SCALE)
                if f"{p}_std" in draw:  # the shift alone: an unmoved value is kept exactly
                    value = np.asarray(draw[f"{p}_std"], float) + shift / scale
                else:  # a fit saved before its sites were standardised: its values only
                    value = np.asarray(unconstrained(moved[p]), float) / scale
                if not np.all(np.isfinite(value)):
                    continue
                out[f"{p}_std"] = value
                if p not in grouped:
                    continue
                tau = np.asarray(draw[f"{p}_tau"], float)
                group_shift = unconstrained(moved_group[p]) - unconstrained(per_group[p])
                z = np.asarray(draw[f"{p}_z"], float) + np.asarray(group_shift - shift) / tau
                if np.all(np.isfinite(z)):
                    out[f"{p}_tau"], out[f"{p}_z"] = draw[f"{p}_tau"], z
        return out

    def with_reference_scales(self, scales: Scales) -> LossSurfaceLaw:
        law = copy.copy(self)
        law.reference_scales = scales
        return law

    def prepare(self, runs) -> Prepared:
        if self not in _DEFINITIONS_CHECKED:  # once per law (class and options) and process
            self.check_definition()
            _DEFINITIONS_CHECKED.add(self)
        for column, minimum in self.required_levels.items():
            runs.require_levels(column, minimum, self.name)
        require_converged_runs(runs, self.name)  # no NaN loss, no run flagged diverged
        df = runs.df
        scales = self.reference_scales or Scales.from_columns(
            N=df["N"], D=df["D"], loss=df["loss"]
        )
        groups = tuple(None if g is None else str(g) for g in runs.groups)
        if groups == (None,):
            group_index = np.zeros(len(df), dtype=np.int32)
        else:
            group_index = np.array([groups.index(str(g)) for g in df["group"]], dtype=np.int32)
        data = {
            "x": jnp.asarray(scales.centre("N", df["N"])),
            "y": jnp.asarray(scales.centre("D", df["D"])),
            "group_index": jnp.asarray(group_index),
            "scales": scales,
            "obs": jnp.asarray(scales.centre("loss", df["loss"])),
        }
        ranges = {c: [float(df[c].min()), float(df[c].max())] for c in ("N", "D", "C")}
        # the fitted sizes (params), for a law whose isoFLOP search they bound (search_range)
        state = {} if self.search_decades is None else {"N_range": ranges["N"]}
        return Prepared(data, {"n_groups": len(groups)}, scales, groups, ranges, state, runs)

    def derived_names(self) -> list[str]:
        """Names of the quantities :meth:`derived` reports."""
        dummy = {p: jnp.asarray(0.5) for p in self.parameters}
        return list(self.derived(dummy, Scales({"N": 0.0, "D": 0.0, "loss": 0.0})))

    @property
    def has_floor(self) -> bool:
        return self.floor is not None

    def report_names(self, summary_names) -> list[str]:
        """The sampled parameters and the natural-scale quantities (:meth:`derived_names`)
        among ``summary_names``; a sampled parameter also reported on the natural scale under
        its capitalised name (a centred log amplitude: e -> E, n_c -> N_c) only as the latter."""
        derived = self.derived_names()
        natural = {p[:1].upper() + p[1:] for p in self.parameters} & set(derived)
        names = [p for p in self.parameters if p[:1].upper() + p[1:] not in natural] + derived
        return [n for n in names if n in set(summary_names)]

    def summary_names(self, groups, likelihood: str) -> list[str]:
        names = list(self.parameters) + self.derived_names()
        names += ["sigma"] + (["nu"] if likelihood == "student_t" else [])
        if len(groups) > 1:
            names += [f"{p}_tau" for p in self.pooled] + [f"{p}_group" for p in self.pooled]
        return names

    def group_dims(self, groups) -> dict:
        if len(groups) <= 1:
            return {}
        return {f"{p}_group": ["group"] for p in self.pooled} | {
            f"{p}_z": ["group"] for p in self.pooled
        }

    # ---- posterior ---------------------------------------------------------------------------
    def theta_draws(self, post: Posterior, group, rng) -> dict:
        """Parameter draws, shape (S,), for a fitted group (its label, or None without groups),
        or for a new group of a grouped fit (group None: a fresh group deviation per draw, from
        the fitted tau)."""
        g = resolve_group(post.groups, group)
        theta = {}
        for name in self.parameters:
            group_key = f"{name}_group"
            if group_key not in post.draws:
                theta[name] = np.asarray(post.draws[name], float)
            elif g is not None:
                theta[name] = np.asarray(post.draws[group_key], float)[:, g]
            else:
                to_support = biject_to(post.priors[name].support)
                z = rng.standard_normal(np.shape(post.draws[name]))
                u = to_support.inv(post.draws[name]) + post.draws[f"{name}_tau"] * z
                theta[name] = np.asarray(to_support(u), float)
        return theta

    def irreducible_loss(self, post: Posterior, *, group=None, rng=None) -> np.ndarray | None:
        """Draws (S,) of the derived quantity named by ``floor`` (loss units), or None."""
        if self.floor is None:
            return None
        return self.derived_draws(post, self.floor, group=group, rng=rng)

    def derived_draws(self, post: Posterior, name: str, *, group=None, rng=None) -> np.ndarray:
        """Draws (S,) of one of :meth:`derived`'s quantities for ``group`` (natural units)."""
        rng = np.random.default_rng(0) if rng is None else rng
        theta = self.theta_draws(post, group, rng)
        return np.asarray(self.derived(theta, post.scales)[name], float)

    def log_loss_draws(self, post: Posterior, N, D, *, group, rng, new_run=False) -> np.ndarray:
        """ln L at (N params, D tokens) for every draw: (S, Q); with run noise if ``new_run``."""
        theta = self.theta_draws(post, group, rng)
        nu = post.draws.get("nu")
        key = jax.random.PRNGKey(int(rng.integers(0, 2**31 - 1)))
        mu = _log_loss_draws(
            _KeyedLaw(self),
            post.likelihood,
            bool(new_run),
            {k: jnp.asarray(v) for k, v in theta.items()},
            jnp.asarray(post.scales.centre("N", N)),
            jnp.asarray(post.scales.centre("D", D)),
            post.scales,
            jnp.asarray(post.draws["sigma"]),
            None if nu is None else jnp.asarray(nu),
            key,
        )
        return np.asarray(mu, float)

    def draws(self, post, query, *, kind, group, rng) -> dict:
        log_loss = self.log_loss_draws(
            post, query["N"], query["D"], group=group, rng=rng, new_run=kind == "new_run"
        )
        return {"loss": np.exp(log_loss)}

    def fitted_log_mean(self, post, runs: pd.DataFrame) -> np.ndarray:
        mean = np.empty(len(runs))
        labels = runs["group"].astype(str).to_numpy() if len(post.groups) > 1 else None
        rng = np.random.default_rng(0)
        for g in post.groups if labels is not None else [None]:
            sel = np.ones(len(runs), bool) if g is None else labels == str(g)
            z = self.log_loss_draws(
                post, runs["N"].to_numpy()[sel], runs["D"].to_numpy()[sel], group=g, rng=rng
            )
            mean[sel] = z.mean(0)
        return mean

    def observations(self, post, candidates, *, group, rng) -> Observations:
        F = self.log_loss_draws(post, candidates["N"], candidates["D"], group=group, rng=rng)
        unit = candidates["unit"].to_numpy() if "unit" in candidates else np.arange(len(F[0]))
        nu = post.draws.get("nu")
        return Observations(
            unit=unit,
            mean=F - post.scales["loss"],
            sigma=np.asarray(post.draws["sigma"], float),
            nu=None if nu is None else np.asarray(nu, float),
            family=post.likelihood,
            nuisance=np.zeros(F.shape[1]),
        )

    # ---- compute-optimal allocation ------------------------------------------------------------
    def isoflop_log_loss(self, theta: dict, scales: Scales, compute_model, C, u) -> np.ndarray:
        """ln L along isoFLOP lines: u = ln N of shape (S, Q, G), budgets C of shape (Q,).

        Evaluated in float64: near the optimum ln L is flat, and float32 rounding (~1e-7) would
        limit the located optimum to ~0.5% in N."""
        N = np.exp(np.asarray(u, float))
        D = compute_model.tokens(N, np.asarray(C, float)[None, :, None])
        with jax.enable_x64(True):
            x = jnp.asarray(np.log(N)) - scales["N"]
            y = jnp.asarray(np.log(D)) - scales["D"]
            th = {k: jnp.asarray(np.asarray(v, float))[:, None, None] for k, v in theta.items()}
            return np.asarray(self.log_loss(th, x, y, scales) + scales["loss"])

    def search_range(self, post, C) -> tuple[np.ndarray, np.ndarray]:
        """ln N bounds (lo, hi), each (Q,), of the isoFLOP search for the optimum at budgets C
        (FLOPs): :func:`.optimum.search_range`, narrowed to the fitted range of N (params, the
        fit's ``N_range`` state) widened by ``search_decades`` decades each way when the law
        sets it. A budget where the two do not overlap, and a fit that recorded no N_range
        (saved before the law set it), keep the whole range. A draw whose optimum lies at the
        narrowed edge is flagged ``at_boundary`` as at the whole range's edge."""
        lo, hi = optimum.search_range(C)
        fitted = post.state.get("N_range") if self.search_decades is not None else None
        if fitted is None:
            return lo, hi
        margin = self.search_decades * np.log(10.0)
        lo_n = np.maximum(lo, np.log(float(fitted[0])) - margin)
        hi_n = np.minimum(hi, np.log(float(fitted[1])) + margin)
        overlap = lo_n < hi_n
        return np.where(overlap, lo_n, lo), np.where(overlap, hi_n, hi)

    def closed_form_optimum(self, theta: dict, scales: Scales, compute_model, C):
        """ln N_opt (S, Q) in closed form, or None where the law has none (numerical search)."""
        return None

    def allocation(self, post, C, compute_model, *, group, rng, method="auto", extra=None) -> dict:
        """The contract's allocation (N_opt, D_opt, L_opt, at_boundary, method), plus
        ``search_lo``, ``search_hi`` (S, Q): the range of N (params) searched at each budget
        (:meth:`search_range`, the law's own), whose edge ``at_boundary`` flags."""
        check_allocation_method(method)
        C = np.asarray(C, float)
        theta = self.theta_draws(post, group, rng)
        S = post.n_draws

        def f(u):
            value = self.isoflop_log_loss(theta, post.scales, compute_model, C, u)
            return value if extra is None else value + extra(np.asarray(u, float), C)

        if method == "closed_form" and extra is not None:
            raise LawCapabilityError(
                "method='closed_form' ignores the extrapolation's model discrepancy, which "
                "moves the optimum: use method='auto' (numerical here) or extrapolation='none'"
            )
        closed = method != "numerical" and extra is None
        u = self.closed_form_optimum(theta, post.scales, compute_model, C) if closed else None
        if u is None and method == "closed_form":
            raise LawCapabilityError(
                f"method='closed_form' needs a law with a closed-form optimum under this compute "
                f"model; law {self.name!r} with compute model {compute_model.name!r} has none"
            )
        bounds = self.search_range(post, C)
        if u is not None:  # held to the numerical route's search range, flagged as it flags
            u, at_boundary = optimum.clip_to_search_range(u, C, bounds)
            log_L = np.asarray(f(u[..., None]))[..., 0]
            used = "closed_form"
        else:
            u, log_L, at_boundary = optimum.minimise(f, C, S, bounds)
            used = "numerical"
        N_opt = np.exp(u)
        return {
            "N_opt": N_opt,
            "D_opt": np.asarray(compute_model.tokens(N_opt, C[None, :])),
            "L_opt": np.exp(log_L),
            "at_boundary": at_boundary,
            # (S, Q) params: the range searched, whose edge at_boundary flags (a law may narrow it)
            "search_lo": np.broadcast_to(np.exp(bounds[0]), N_opt.shape),
            "search_hi": np.broadcast_to(np.exp(bounds[1]), N_opt.shape),
            "method": used,
        }

    def isoflop_profile(self, post, C, N, compute_model, *, group, rng, extra=None):
        theta = self.theta_draws(post, group, rng)
        u = np.broadcast_to(np.log(np.asarray(N, float))[None, None, :], (post.n_draws, 1, len(N)))
        C = np.array([C], float)
        value = self.isoflop_log_loss(theta, post.scales, compute_model, C, u)
        if extra is not None:
            value = value + extra(np.array(u), C)
        return value[:, 0, :]
