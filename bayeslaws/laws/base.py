"""What every loss-surface law shares: centring, priors, partial pooling across groups and the
likelihood. A law module supplies only its math: parameters, default priors, ``log_loss`` and
the natural-scale quantities it reports.

Centring (see MODELLING.md): the model sees ``x = ln N - ln N_ref``, ``y = ln D - ln D_ref`` and
the normalised log loss ``z = ln L - ln L_ref``, with reference scales at the data's centre
(geometric means), so intercepts and exponents are nearly uncorrelated.

Pooling: with G > 1 groups, each pooled parameter theta has a population value theta (with the
law's prior) and group values ``theta_g = T(T^-1(theta) + tau * z_g)``, ``z_g ~ Normal(0, 1)``
(non-centred), ``T`` the bijection onto the prior's support (sigmoid for exponents in (0, 1),
identity for log amplitudes). With one group the model is the plain one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.distributions.transforms import biject_to

from ..likelihoods import default_noise_priors, observation, sample_noise_params
from ..runs import RunTable, RunTableError

GROUP_SD_PRIOR = dist.HalfNormal(0.3)  # sd of group deviations, in unconstrained units


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class Scales:
    """Reference scales (natural logs): N_ref in params, D_ref in tokens, L_ref in loss units."""

    log_N_ref: float
    log_D_ref: float
    log_L_ref: float

    @classmethod
    def from_runs(cls, N, D, loss) -> Scales:
        return cls(
            float(np.mean(np.log(N))), float(np.mean(np.log(D))), float(np.mean(np.log(loss)))
        )

    def centre(self, N, D):
        """(x, y) = (ln N - ln N_ref, ln D - ln D_ref)."""
        return jnp.log(jnp.asarray(N)) - self.log_N_ref, jnp.log(jnp.asarray(D)) - self.log_D_ref

    def to_dict(self) -> dict:
        return asdict(self)


def with_overrides(priors: dict, overrides: dict | None, allowed, law_name: str) -> dict:
    """``priors`` with the user's overrides, each checked by name (must be in ``allowed``) and
    type (a numpyro distribution)."""
    priors = dict(priors)
    for key, value in (overrides or {}).items():
        if key not in allowed:
            raise ValueError(
                f"prior given for {key!r}, which law {law_name!r} with this likelihood "
                f"does not have; its parameters are {sorted(allowed)}"
            )
        if not isinstance(value, dist.Distribution):
            raise TypeError(f"prior for {key!r} must be a numpyro distribution, got {value!r}")
        priors[key] = value
    return priors


def pooled_sample(name, prior, group_index, n_groups, tau_prior):
    """Sample a parameter, partially pooled over groups when ``n_groups > 1``.

    Returns (population value (scalar), value per run (scalar or shape (n_runs,))).
    """
    theta = numpyro.sample(name, prior)
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


class LossSurfaceLaw:
    """A loss surface L(N, D) fitted on centred logs. Subclasses define the math below."""

    name: str = ""
    description: str = ""
    parameters: tuple = ()  # sampled parameters, in model order
    pooled: tuple = ()  # the ones partially pooled across groups
    required_levels = {"N": 2, "D": 2}  # distinct values each input needs

    def default_priors(self) -> dict:
        """Default priors on the law's parameters (documented in each law's docstring)."""
        raise NotImplementedError

    def log_loss(self, theta: dict, x, y, scales: Scales):
        """Normalised log loss z = ln L - ln L_ref at centred logs (x, y); broadcasts."""
        raise NotImplementedError

    def derived(self, theta: dict, scales: Scales) -> dict:
        """Natural-scale quantities reported in summaries (e.g. E, A, B for Chinchilla)."""
        return {}

    # ---- shared machinery -------------------------------------------------------------------
    def priors(self, likelihood: str, overrides: dict | None = None) -> dict:
        """Default priors of law and likelihood, with the user's overrides (checked by name)."""
        priors = {**self.default_priors(), **default_noise_priors(likelihood)}
        priors["group_sd"] = GROUP_SD_PRIOR
        allowed = set(priors) | {f"{p}_tau" for p in self.pooled}
        return with_overrides(priors, overrides, allowed, self.name)

    def model(self, x, y, group_index, n_groups, scales, priors, likelihood, z_obs=None):
        """z ~ family(log_loss(theta, x, y), sigma), theta with the law's priors (pooled)."""
        population, per_run = {}, {}
        for name in self.parameters:
            if name in self.pooled:
                tau_prior = priors.get(f"{name}_tau", priors["group_sd"])
                population[name], per_run[name] = pooled_sample(
                    name, priors[name], group_index, n_groups, tau_prior
                )
            else:
                population[name] = per_run[name] = numpyro.sample(name, priors[name])
        for name, value in self.derived(population, scales).items():
            numpyro.deterministic(name, value)
        mu = self.log_loss(per_run, x, y, scales)
        sigma, nu = sample_noise_params(likelihood, priors)
        with numpyro.plate("runs", x.shape[0]):
            numpyro.sample("log_loss", observation(likelihood, mu, sigma, nu), obs=z_obs)

    # ---- data in, draws out -------------------------------------------------------------------
    def prepare(self, runs: RunTable) -> tuple[dict, dict]:
        """Model arguments from a run table, and the JSON-ready facts a saved fit needs.

        Returns ``(model_args, info)``: ``model_args`` for :meth:`model` (x, y, group_index,
        n_groups, scales, z_obs) and ``info`` with scales, group labels and fitted ranges.
        """
        for column, minimum in self.required_levels.items():
            runs.require_levels(column, minimum, self.name)
        df = runs.df
        missing = df["loss"].isna()
        if missing.any():
            raise RunTableError(
                f"law {self.name!r} needs a loss for every run; column 'loss' is missing at rows "
                f"{df.index[missing].tolist()[:10]} (exclude them with RunTable.exclude())"
            )
        scales = Scales.from_runs(df["N"], df["D"], df["loss"])
        groups = runs.groups
        if groups == [None]:
            group_index = np.zeros(len(df), dtype=np.int32)
        else:
            group_index = np.array([groups.index(g) for g in df["group"]], dtype=np.int32)
        x, y = scales.centre(df["N"].to_numpy(float), df["D"].to_numpy(float))
        model_args = {
            "x": x,
            "y": y,
            "group_index": jnp.asarray(group_index),
            "n_groups": len(groups),
            "scales": scales,
            "z_obs": jnp.log(jnp.asarray(df["loss"].to_numpy(float))) - scales.log_L_ref,
        }
        info = {
            "scales": scales.to_dict(),
            "groups": [None if g is None else str(g) for g in groups],
            "ranges": {c: [float(df[c].min()), float(df[c].max())] for c in ("N", "D", "C")},
        }
        return model_args, info

    def summary_names(self, n_groups: int, likelihood: str) -> list[str]:
        """Sites reported by ``Fit.summary`` and checked for convergence."""
        names = list(self.parameters) + ["sigma"] + (["nu"] if likelihood == "student_t" else [])
        if n_groups > 1:
            names += [f"{p}_tau" for p in self.pooled] + [f"{p}_group" for p in self.pooled]
        return names

    def group_dims(self) -> dict:
        """ArviZ dims of the per-group sites."""
        return {f"{p}_group": ["group"] for p in self.pooled} | {
            f"{p}_z": ["group"] for p in self.pooled
        }

    def theta_draws(self, posterior: dict, priors: dict, group_index, rng) -> dict:
        """Parameter draws, shape (S,), for one group, or for a new group when ``group_index``
        is None (a fresh group deviation per draw, from the fitted tau)."""
        theta = {}
        for name in self.parameters:
            group_key = f"{name}_group"
            if group_key not in posterior:
                theta[name] = posterior[name]
            elif group_index is not None:
                theta[name] = posterior[group_key][:, group_index]
            else:
                to_support = biject_to(priors[name].support)
                z = rng.standard_normal(posterior[name].shape)
                u = to_support.inv(posterior[name]) + posterior[f"{name}_tau"] * z
                theta[name] = np.asarray(to_support(u))
        return theta

    def log_loss_draws(self, theta: dict, N, D, scales: Scales):
        """ln L(N, D) for every draw: shape (S, Q) for S draws and Q query points."""
        x, y = scales.centre(N, D)
        theta = {k: jnp.asarray(v)[:, None] for k, v in theta.items()}
        return self.log_loss(theta, x[None, :], y[None, :], scales) + scales.log_L_ref
