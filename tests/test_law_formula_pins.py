"""Pins of law formulas: the new-run noise, the grouped joint log density, a new group's draws and
the documented default priors (review 7's mutations M02, M06, M07, M12 and M15 changed them with
every test passing before):

* the run noise that ``kind="new_run"`` adds to a loss surface's draws, per family (M12);
* the model's joint log density with partially pooled groups, against an independent scipy
  implementation, and a new group's draws T(T^-1(theta) + tau z) (M06, M07);
* the default priors of every registered law, and of the likelihoods, against the tables their
  docstrings document (M02, M15).
"""

from __future__ import annotations

import math
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from numpyro.infer.util import log_density
from scipy import integrate, special, stats

from bayeslaws.laws import LAWS
from bayeslaws.laws.contract import Posterior, Scales
from bayeslaws.laws.hyperparams.law import HyperparamsLaw
from bayeslaws.laws.isoflop import IsoFLOP
from bayeslaws.laws.likelihoods import (
    FAMILIES,
    HUBER_DELTA,
    NOISE_SAMPLING_SCALE,
    default_noise_priors,
)
from bayeslaws.laws.priors import prior_to_spec
from bayeslaws.laws.surface import SAMPLING_SCALE
from bayeslaws.posterior.draws import log_loss_draws, query_frame

# ---- the documented priors -----------------------------------------------------------------
# Written by hand from the docstrings (nothing is parsed): name -> (numpyro distribution, its
# arguments). Chinchilla, chinchilla_gamma, kaplan, farseer: their module docstrings; group_sd:
# bayeslaws/laws/surface.py ("every <p>_tau ~ GROUP_SD_PRIOR = HalfNormal(0.3)"); hyperparams:
# bayeslaws/laws/hyperparams/law.py ("with groups: lr_int_tau, batch_int_tau ~ HalfNormal(0.3)"
# is its group_sd); hyperparams_two_stage: hyperparams/two_stage.py (coefficients Normal(0, 10),
# sigma LogUniform(1e-4, 10), one per regression and no likelihood sigma); isoflop: isoflop.py;
# sweep: sweep.py (its run noise sigma ~ LogNormal(ln 0.002, 1.5) replaces the likelihood's);
# sigma and nu: likelihoods.default_noise_priors.
CHINCHILLA = {
    "alpha": ("Beta", 2, 3),
    "beta": ("Beta", 2, 3),
    "a": ("Normal", -2, 2),
    "b": ("Normal", -2, 2),
    "e": ("Normal", -0.5, 1),
}
GROUP_SD = {"group_sd": ("HalfNormal", 0.3)}
HYPERPARAMS = {
    "lr_int": ("Normal", 0, 2),
    "batch_int": ("Normal", 0, 2),
    "lr_N": ("Normal", 0, 1),
    "lr_D": ("Normal", 0, 1),
    "batch_N": ("Normal", 0, 1),
    "batch_D": ("Normal", 0, 1),
    "lr_scatter": ("HalfNormal", 0.3),
    "batch_scatter": ("HalfNormal", 0.3),
    "k_lr": ("LogNormal", math.log(0.003), 2),
    "k_batch": ("LogNormal", math.log(0.003), 2),
    "lr_asym": ("Normal", 0, 1),  # the default bowl "full" has the asymmetry and the cross term
    "rho": ("Uniform", -1, 1),
    "level_mean": ("Normal", 0, 1),
    **GROUP_SD,
}
ISOFLOP = {
    "a_opt": ("Beta", 2, 2),
    "n0": ("Normal", 0, 2),
    "vertex_sd": ("HalfNormal", 0.2),
    "l0": ("Normal", 0, 0.5),
    "a_L": ("Normal", 0, 0.2),
    "loss_sd": ("HalfNormal", 0.02),
    "log_h0": ("Normal", -3.5, 1.5),
    "log_h1": ("Normal", 0, 0.3),
    "h_sd": ("HalfNormal", 0.3),
    "run_sd": ("HalfNormal", 0.02),
}
DOCUMENTED = {
    "chinchilla": {**CHINCHILLA, **GROUP_SD},
    "chinchilla_gamma": {**CHINCHILLA, "gamma": ("LogNormal", 0, 0.2), **GROUP_SD},
    "kaplan": {
        "alpha_N": ("Gamma", 2, 20),
        "alpha_D": ("Gamma", 2, 20),
        "n_c": ("Normal", 10, 6),
        "d_c": ("Normal", 10, 6),
        **GROUP_SD,
    },
    "farseer": {
        "alpha": ("Beta", 2, 3),
        "beta0": ("Beta", 2, 3),
        "a": ("Normal", -2, 2),
        "c0": ("Normal", -2, 2),
        "e": ("Normal", -0.5, 1),
        "m_beta": ("Normal", 0, 0.2),
        "m_c": ("Normal", 0, 0.5),
        "k_beta": ("Normal", 0, 0.5),
        "k_amp": ("Normal", 0, 0.5),
        **GROUP_SD,
    },
    "hyperparams": HYPERPARAMS,
    "hyperparams_two_stage": {
        **{f"{p}_{t}": ("Normal", 0, 10) for p in ("lr", "batch") for t in ("int", "N", "D")},
        "sigma_lr": ("LogUniform", 1e-4, 10),
        "sigma_batch": ("LogUniform", 1e-4, 10),
    },
    "isoflop": ISOFLOP,
    "isoflop_cubic": {**ISOFLOP, "s0": ("Normal", 0, 0.3), "s_sd": ("HalfNormal", 0.1)},
    "sweep": {
        "level_centre": ("Normal", 0, 1),
        "log_elasticity_N": ("Normal", math.log(0.05), 2),
        "log_elasticity_D": ("Normal", math.log(0.05), 2),
        "alpha_raw": ("Beta", 2, 3),
        "beta_raw": ("Beta", 2, 3),
        "lr_int": ("Normal", 0, 2),
        "batch_int": ("Normal", 0, 2),
        "lr_N": ("Normal", 0, 1),
        "lr_D": ("Normal", 0, 1),
        "batch_N": ("Normal", 0, 1),
        "batch_D": ("Normal", 0, 1),
        "lr_scatter": ("HalfNormal", 0.3),
        "batch_scatter": ("HalfNormal", 0.3),
        "k_lr": ("LogNormal", math.log(0.003), 2),
        "k_batch": ("LogNormal", math.log(0.003), 2),
        "k_lr_N": ("Normal", 0, 0.5),
        "k_lr_D": ("Normal", 0, 0.5),
        "k_batch_N": ("Normal", 0, 0.5),
        "k_batch_D": ("Normal", 0, 0.5),
        "lr_asym": ("Normal", 0, 1),
        "batch_asym": ("Normal", 0, 1),
        "valley": ("Normal", 0, 1),
        "k_lr_scatter": ("HalfNormal", 0.3),  # used with shape_scatter, listed always
        "k_batch_scatter": ("HalfNormal", 0.3),
        "lr_asym_scatter": ("HalfNormal", 0.5),
        "valley_scatter": ("HalfNormal", 0.2),
        "level_scatter": ("HalfNormal", 0.02),
        "tau": ("HalfNormal", 0.5),
    },
}
NOISE = {"sigma": ("HalfNormal", 0.1), "nu": ("Gamma", 2, 0.1)}
NOISE_OVERRIDE = {  # a law's own documented noise priors (None: none)
    "sweep": {"sigma": ("LogNormal", math.log(0.002), 1.5)},
    "hyperparams_two_stage": {"sigma": None},
}
# law variants by option, with the priors their options add (same docstrings)
VARIANTS = {
    "hyperparams, loss_level='surface'": (
        HyperparamsLaw(loss_level="surface"),
        {**HYPERPARAMS, **CHINCHILLA, "level_scatter": ("HalfNormal", 0.02)},
    ),
    "isoflop, loss_floor=True": (
        IsoFLOP(loss_floor=True),
        {**ISOFLOP, "e_floor": ("Normal", -1, 1)},
    ),
}


def documented_spec(entry) -> dict:
    family, *args = entry
    return prior_to_spec(getattr(dist, family)(*(float(a) for a in args)))


def same_spec(got, want) -> bool:
    """Specs equal, numbers to 1e-12 relative."""
    if isinstance(want, dict):
        return isinstance(got, dict) and got.keys() == want.keys() and all(
            same_spec(got[k], want[k]) for k in want
        )
    if isinstance(want, float | int) and not isinstance(want, bool):
        return math.isclose(float(got), float(want), rel_tol=1e-12, abs_tol=1e-15)
    return got == want


def expected_priors(name: str, table: dict, family: str) -> dict:
    noise = {"sigma": NOISE["sigma"], **({"nu": NOISE["nu"]} if family == "student_t" else {})}
    noise.update(NOISE_OVERRIDE.get(name, {}))
    return {k: v for k, v in {**table, **noise}.items() if v is not None}


def assert_priors_match(label: str, law, table: dict) -> None:
    assert set(law.likelihoods) <= set(FAMILIES)
    for family in law.likelihoods:
        want = expected_priors(law.name, table, family)
        got = law.priors(family)
        assert set(got) == set(want), (
            f"{label}/{family}: prior names {sorted(got)} differ from the documented "
            f"{sorted(want)}"
        )
        wrong = {
            k: (prior_to_spec(got[k]), documented_spec(want[k]))
            for k in want
            if not same_spec(prior_to_spec(got[k]), documented_spec(want[k]))
        }
        assert not wrong, f"{label}/{family}: priors differ from the docstring's: {wrong}"


def test_every_registered_laws_default_priors_are_the_documented_ones():
    """Each registered law's priors (``law.priors(family)``: its ``default_priors()`` with the
    likelihood's, rendered by ``prior_to_spec``) for each family it takes equal the table its
    docstring documents (written in DOCUMENTED by hand from the docstrings, not parsed from
    them), and a law registered without a table here fails: a prior changed in the code and not
    in the docstring (review 7's M02: kaplan n_c Normal(10, 6) -> Normal(-10, 6); M15:
    gamma LogNormal(0, 0.2) -> LogNormal(0.5, 0.2)), or the other way round, fails."""
    assert set(LAWS) == set(DOCUMENTED), (
        f"registered laws {sorted(LAWS)} vs documented tables {sorted(DOCUMENTED)}: add the new "
        "law's documented priors to DOCUMENTED"
    )
    for name, law in LAWS.items():
        assert_priors_match(name, law, DOCUMENTED[name])
    for label, (law, table) in VARIANTS.items():
        assert_priors_match(label, law, table)


def test_likelihood_noise_priors_are_the_documented_ones():
    """sigma ~ HalfNormal(0.1) for every family and nu ~ Gamma(2, 0.1) for Student-t, as
    likelihoods.default_noise_priors' docstring says (nu's mean 20: Gamma's rate is 0.1)."""
    for family in FAMILIES:
        got = {k: prior_to_spec(v) for k, v in default_noise_priors(family).items()}
        names = ["sigma"] + (["nu"] if family == "student_t" else [])
        assert sorted(got) == sorted(names), family
        for k in names:
            assert same_spec(got[k], documented_spec(NOISE[k])), (family, k, got[k])
    assert float(default_noise_priors("student_t")["nu"].mean) == pytest.approx(20.0)


# ---- joint log density with groups (scipy reference) ----------------------------------------
SURFACES = ("chinchilla", "chinchilla_gamma", "kaplan", "farseer")


def central_quantile(rng, size=None):
    """Prior quantiles in [0.2, 0.4] or [0.6, 0.8]: central values, away from a zero-centred
    prior's 0 (Farseer's constants divide by its curvatures)."""
    q = rng.uniform(0.2, 0.4, size)
    return np.where(rng.uniform(size=size) < 0.5, q, 1.0 - q)


def scipy_prior(entry):
    family, *args = entry
    if family == "Normal":
        return stats.norm(args[0], args[1])
    if family == "Beta":
        return stats.beta(args[0], args[1])
    if family == "Gamma":  # numpyro's Gamma(concentration, rate)
        return stats.gamma(args[0], scale=1.0 / args[1])
    if family == "LogNormal":
        return stats.lognorm(s=args[1], scale=np.exp(args[0]))
    if family == "HalfNormal":
        return stats.halfnorm(scale=args[0])
    raise AssertionError(family)


# the bijection onto each prior family's support: (T, T^-1, ln T'(u))
BIJECTION = {
    "Beta": (special.expit, special.logit, lambda u: -np.logaddexp(0, u) - np.logaddexp(0, -u)),
    "Gamma": (np.exp, np.log, lambda u: u),
    "LogNormal": (np.exp, np.log, lambda u: u),
    "HalfNormal": (np.exp, np.log, lambda u: u),
    "Normal": (lambda u: u, lambda v: v, lambda u: 0.0 * u),
}


def paper_mean(law: str, th: dict, N, D, sc: dict):
    """ln L - ln L_ref (L_ref = exp(sc["loss"])) from the paper forms of the docstrings, with
    the natural constants each docstring defines from the centred parameters; th per run."""
    lN, lD, lL = sc["N"], sc["D"], sc["loss"]
    if law == "chinchilla":
        A = np.exp(th["a"] + th["alpha"] * lN + lL)
        B = np.exp(th["b"] + th["beta"] * lD + lL)
        loss = np.exp(th["e"] + lL) + A * N ** -th["alpha"] + B * D ** -th["beta"]
    elif law == "chinchilla_gamma":
        g = th["gamma"]
        A = np.exp(th["a"] + th["alpha"] * lN + lL / g)
        B = np.exp(th["b"] + th["beta"] * lD + lL / g)
        loss = np.exp(th["e"] + lL) + (A * N ** -th["alpha"] + B * D ** -th["beta"]) ** g
    elif law == "kaplan":
        Nc, Dc = np.exp(th["n_c"] + lN), np.exp(th["d_c"] + lD)
        loss = ((Nc / N) ** (th["alpha_N"] / th["alpha_D"]) + Dc / D) ** th["alpha_D"]
    else:  # farseer: L = exp(s N^q + S) + exp(B N^b + Q) D^-exp(A N^a + E)
        s, q, S = np.exp(th["a"] + th["alpha"] * lN), -th["alpha"], th["e"] + lL
        kb, ka = th["k_beta"], th["k_amp"]
        m_amp = th["m_c"] + th["beta0"] * th["m_beta"] * lD
        A_, a_ = th["m_beta"] / kb * np.exp(-kb * lN), kb
        E_ = np.log(th["beta0"]) - th["m_beta"] / kb
        B_, b_ = m_amp / ka * np.exp(-ka * lN), ka
        Q_ = th["c0"] + th["beta0"] * lD + lL - m_amp / ka
        loss = np.exp(s * N**q + S) + np.exp(B_ * N**b_ + Q_) * D ** -np.exp(A_ * N**a_ + E_)
    return np.log(loss) - lL


def scipy_loglik(family: str, z, mu, sigma, nu):
    if family == "gaussian":
        return stats.norm(mu, sigma).logpdf(z).sum()
    if family == "student_t":
        return stats.t(nu, mu, sigma).logpdf(z).sum()
    d = HUBER_DELTA
    u = np.abs((z - mu) / sigma)
    rho = np.where(u <= d, 0.5 * u**2, d * u - 0.5 * d**2)
    norm = np.sqrt(2 * np.pi) * (2 * stats.norm.cdf(d) - 1) + 2 * np.exp(-(d**2) / 2) / d
    return (-rho - np.log(sigma) - np.log(norm)).sum()


@pytest.mark.parametrize("name", SURFACES)
def test_grouped_joint_log_density_matches_scipy(name):
    """The NumPyro model's joint log density (in the sampled coordinates: ``<p>_std``,
    ``<p>_tau``, ``<p>_z``, ``sigma_std``, ``nu_std``) with 3 groups equals an independent
    scipy one: each parameter's documented prior (DOCUMENTED) with the Jacobian of
    theta = T(scale z), HalfNormal(0.3) on tau, Normal(0, 1) on z, group values
    T(T^-1(theta) + tau z_g) (review 7's M06 dropped T^-1 and T), the law's paper form at each
    run's group values and the family's likelihood; float64, 1e-9 relative; each family."""
    rng = np.random.default_rng(11 + SURFACES.index(name))
    G, n = 3, 45
    law = LAWS[name]
    for family in FAMILIES:
        N = np.exp(rng.uniform(np.log(5e7), np.log(1.6e10), n))
        D = np.exp(rng.uniform(np.log(3e8), np.log(3e11), n))
        group = rng.integers(0, G, n)
        loss = rng.uniform(2.0, 4.0, n)
        sc = {"N": np.log(N).mean(), "D": np.log(D).mean(), "loss": np.log(loss).mean()}
        table = {**DOCUMENTED[name], **NOISE}
        names = list(law.parameters) + ["sigma"] + (["nu"] if family == "student_t" else [])
        params, ref, population, per_run = {}, 0.0, {}, {}
        for p in names:
            prior = scipy_prior(table[p])
            T, T_inv, log_dT = BIJECTION[table[p][0]]
            value = float(prior.ppf(central_quantile(rng)))
            scale = NOISE_SAMPLING_SCALE.get(p) or law.sampling_scale.get(p, SAMPLING_SCALE)
            u = T_inv(value)
            params[f"{p}_std"] = u / scale
            ref += prior.logpdf(value) + np.log(scale) + log_dT(u)  # + ln |d theta / d z|
            population[p] = value
            if p in law.pooled:
                tau, z = rng.uniform(0.05, 0.5), rng.normal(size=G)
                params[f"{p}_tau"], params[f"{p}_z"] = tau, z
                ref += scipy_prior(GROUP_SD["group_sd"]).logpdf(tau) + stats.norm.logpdf(z).sum()
                per_run[p] = T(u + tau * z)[group]
            elif p not in ("sigma", "nu"):
                per_run[p] = value
        z_obs = np.log(loss) - sc["loss"]
        mu = paper_mean(name, per_run, N, D, sc)
        ref += scipy_loglik(family, z_obs, mu, population["sigma"], population.get("nu"))
        with jax.enable_x64(True):
            kwargs = dict(
                x=jnp.asarray(np.log(N) - sc["N"]),
                y=jnp.asarray(np.log(D) - sc["D"]),
                group_index=jnp.asarray(group),
                scales=Scales(sc),
                n_groups=G,
                priors=law.priors(family),
                likelihood=family,
                obs=jnp.asarray(z_obs),
            )
            values = {k: jnp.asarray(v, jnp.float64) for k, v in params.items()}
            got, _ = log_density(law.model, (), kwargs, values)
        assert np.isfinite(ref), (name, family)
        assert float(got) == pytest.approx(ref, rel=1e-9), (name, family, float(got), ref)


# ---- a new group's draws ----------------------------------------------------------------------
def grouped_posterior(name: str, S: int, rng) -> Posterior:
    """A Posterior of law ``name`` with 3 groups and S draws: population values at central
    prior quantiles, group spreads tau log-uniform in [0.02, 1] draw by draw."""
    law = LAWS[name]
    table = DOCUMENTED[name]
    draws = {"sigma": rng.uniform(0.005, 0.02, S)}
    for p in law.parameters:
        draws[p] = scipy_prior(table[p]).ppf(central_quantile(rng, S))
        if p in law.pooled:
            draws[f"{p}_tau"] = np.exp(rng.uniform(np.log(0.02), 0.0, S))
            draws[f"{p}_group"] = np.repeat(draws[p][:, None], 3, axis=1) + 0.01 * np.arange(3)
    return Posterior(
        draws=draws,
        scales=Scales({"N": 20.0, "D": 23.0, "loss": 1.0}),
        groups=("g0", "g1", "g2"),
        state={},
        likelihood="gaussian",
        priors=law.priors("gaussian"),
    )


@pytest.mark.parametrize("name", SURFACES)
def test_new_group_draws_are_the_population_moved_by_tau_z(name):
    """For a new group (group=None), each pooled parameter's draw is T(T^-1(theta) + tau z)
    with theta and tau the same posterior draw's and z ~ Normal(0, 1) fresh, independent
    across parameters: (T^-1(new) - T^-1(theta)) / tau, draw by draw (tau spans 0.02-1 across
    draws, so a wrong or shared tau shows), is standard normal (KS p > 1e-3, mean and sd within
    5 Monte Carlo sd over 4,000 draws, correlations across parameters below 5 sd). Review 7's
    M07 (tau z -> 0) fails it. Shared parameters are theta itself; a fitted group its own."""
    law = LAWS[name]
    S = 4000
    post = grouped_posterior(name, S, np.random.default_rng(3))
    new = law.theta_draws(post, None, np.random.default_rng(5))
    deviations = []
    for p in law.parameters:
        if p not in law.pooled:
            np.testing.assert_array_equal(new[p], post.draws[p], err_msg=p)
            continue
        _, T_inv, _ = BIJECTION[DOCUMENTED[name][p][0]]
        u = (T_inv(new[p]) - T_inv(post.draws[p])) / post.draws[f"{p}_tau"]
        assert np.isfinite(u).all(), p
        assert stats.kstest(u, "norm").pvalue > 1e-3, (p, u.mean(), u.std())
        assert abs(u.mean()) < 5 / np.sqrt(S), (p, u.mean())
        assert abs(u.std() - 1.0) < 5 / np.sqrt(2 * S), (p, u.std())
        deviations.append(u)
    corr = np.corrcoef(np.array(deviations)) - np.eye(len(deviations))
    assert np.abs(corr).max() < 5 / np.sqrt(S), corr
    fitted = law.theta_draws(post, "g1", np.random.default_rng(5))
    for p in law.pooled:
        np.testing.assert_array_equal(fitted[p], post.draws[f"{p}_group"][:, 1], err_msg=p)


# ---- the run noise of kind="new_run" ------------------------------------------------------------
def huber_variance() -> float:
    """Var of the normalised Huber density with scale 1 (delta = HUBER_DELTA), by quadrature."""
    d = HUBER_DELTA

    def integral(f):
        return 2 * (integrate.quad(f, 0, d)[0] + integrate.quad(f, d, np.inf)[0])

    def density(u):
        return np.exp(-np.where(u <= d, 0.5 * u**2, d * u - 0.5 * d**2))

    return integral(lambda u: u**2 * density(u)) / integral(density)


def added_variance(mean_draws, new_draws) -> float:
    """Var over draws of the new_run ln L draws minus that of the mean ones, averaged over the
    query points."""
    return float(np.mean(new_draws.var(axis=0) - mean_draws.var(axis=0)))


# Monte Carlo tolerance of added_variance / expected: with S = 600 draws x Q = 80 points
# (n = 48,000 noise draws) the relative sd of the noise variance estimate is
# sqrt((kurtosis - 1) / n): 0.65% Gaussian, 0.87% Huber (kurtosis 4.64), <= 0.85% Student-t
# with nu >= 8 (kurtosis <= 4.5); the cross term with the posterior spread of the mean is far
# smaller. 5% is over 5.7 sd.
NOISE_RTOL = 0.05
N_QUERY = 80


def test_new_run_adds_the_familys_run_noise(simulated_fit, simulated_runs):
    """kind="new_run" with extrapolation="none" on a loss surface: ln L draws whose variance is
    that of kind="mean" plus the family's noise variance, E[sigma^2] for the Gaussian fit
    (through bl's prediction path); for the same posterior as Huber, 1.215^2 E[sigma^2]
    (likelihoods.default_noise_priors: sd ~1.2 sigma; the exact factor by quadrature here),
    and as Student-t with nu draws in [8, 40], E[sigma^2 nu / (nu - 2)] (through the law's
    ``draws``, which bl's prediction path calls). Tolerance NOISE_RTOL (Monte Carlo, see
    above). Review 7's M12 (noise x 0) fails it."""
    rng = np.random.default_rng(7)
    df = simulated_runs.df
    N = np.exp(rng.uniform(np.log(df["N"].min()), np.log(df["N"].max()), N_QUERY))
    D = np.exp(rng.uniform(np.log(df["D"].min()), np.log(df["D"].max()), N_QUERY))
    query = query_frame(simulated_fit, N, D, None)
    assert simulated_fit.likelihood == "gaussian"
    post = simulated_fit.posterior()
    sigma2 = np.asarray(post.draws["sigma"], float) ** 2
    S = post.n_draws
    assert S * N_QUERY >= 48_000

    mean = log_loss_draws(simulated_fit, query, kind="mean", extrapolation="none")
    new = log_loss_draws(simulated_fit, query, kind="new_run", extrapolation="none")
    assert added_variance(mean, new) == pytest.approx(sigma2.mean(), rel=NOISE_RTOL)

    factor = huber_variance()
    assert np.sqrt(factor) == pytest.approx(1.215, abs=5e-4)
    nu = np.random.default_rng(8).uniform(8.0, 40.0, S)
    expected = {"huber": factor * sigma2.mean(), "student_t": np.mean(sigma2 * nu / (nu - 2))}
    law = simulated_fit.law
    for family, want in expected.items():
        draws = dict(post.draws, nu=nu) if family == "student_t" else post.draws
        other = replace(post, likelihood=family, draws=draws)

        def ln_loss(kind, other=other):
            rng = np.random.default_rng(9)
            return np.log(law.draws(other, query, kind=kind, group=None, rng=rng)["loss"])

        got = added_variance(ln_loss("mean"), ln_loss("new_run"))
        assert got == pytest.approx(want, rel=NOISE_RTOL), family
