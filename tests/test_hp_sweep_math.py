"""The bowls of laws ``hyperparams`` and ``sweep`` and their models' joint densities against
hand-written formulas from the modules' docstrings, at random parameter values (float64, no
sampling): every bowl variant, its cross term and which side of the optimal lr (or of the
valley line) is the steeper one, and the whole model's numpyro ``log_density`` against an
independent numpy / scipy implementation."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer.util import log_density
from scipy import integrate, stats

import bayeslaws as bl
from bayeslaws.laws import sweep
from bayeslaws.laws.hyperparams import law as hp
from bayeslaws.runs import simulate

RTOL_BOWL = 1e-12  # float64 bowl against the hand formula
RTOL_DENSITY = 1e-7  # float64 joint log density (sums of ~150 terms of size ~10-100)
N_SETS = 25  # random parameter sets per bowl


# ---- shared ------------------------------------------------------------------------------------
def offsets(rng, n: int = 60):
    """(u, v) = (ln lr/eta*, ln B/B*), (n,) each, on both sides of 0, and the axes themselves."""
    u = np.concatenate([rng.uniform(-3.0, 3.0, n), [1.0, -1.0, 0.0, 0.0, 0.0]])
    v = np.concatenate([rng.uniform(-3.0, 3.0, n), [0.0, 0.0, 1.0, -1.0, 0.0]])
    return u, v


def float64(theta: dict) -> dict:
    """Parameter values as float64 jax arrays (call inside ``jax.enable_x64(True)``)."""
    return {k: jnp.asarray(v, jnp.float64) for k, v in theta.items()}


def joint_log_density(model, priors, likelihood, data: dict, params: dict, **static):
    """numpyro's log_density of ``model`` (keyword arguments: the prepared arrays ``data``,
    ``priors``, ``likelihood`` and ``static``) at ``params``, traced once by jax.jit (one
    compilation instead of one per operation); call inside ``jax.enable_x64(True)``."""

    def joint(arrays, values):
        kwargs = dict(priors=priors, likelihood=likelihood, **static, **arrays)
        return log_density(model, (), kwargs, values)[0]

    return jax.jit(joint)(data, float64(params))


def assert_close(got, want, rtol: float, what: str):
    got, want = np.asarray(got, float), np.asarray(want, float)
    err = np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-300))
    assert err < rtol, f"{what}: relative error {err:.3g} (>= {rtol:g})"


def assert_convex_with_minimum_at_zero(bowl, rng, what: str):
    """``bowl(u, v)`` (float64 arrays) is 0 at (0, 0), > 0 elsewhere, has zero gradient there
    and is midpoint-convex on random segments (many crossing u = 0 and the valley line)."""
    u, v = offsets(rng)
    values = np.asarray(bowl(jnp.asarray(u), jnp.asarray(v)))
    at_zero = (u == 0) & (v == 0)
    assert np.all(values[at_zero] == 0.0), what
    assert np.all(values[~at_zero] > 0.0), f"{what}: not above its minimum {values.min():.3g}"
    grad = jax.grad(lambda uv: bowl(uv[0], uv[1]))(jnp.zeros(2))
    assert np.all(np.asarray(grad) == 0.0), f"{what}: gradient {grad} at the optimum"
    a, b = rng.uniform(-3.0, 3.0, (2, 2, 200))
    mid = np.asarray(bowl(jnp.asarray((a[0] + b[0]) / 2), jnp.asarray((a[1] + b[1]) / 2)))
    ends = (np.asarray(bowl(jnp.asarray(a[0]), jnp.asarray(a[1])))
            + np.asarray(bowl(jnp.asarray(b[0]), jnp.asarray(b[1])))) / 2
    assert np.all(mid <= ends * (1 + 1e-12)), f"{what}: not convex"


# ---- hyperparams: the bowl ---------------------------------------------------------------------
DOCUMENTED_BOWLS = {  # bowl -> (asymmetric in lr, cross term), as the module docstring says
    "symmetric": (False, False),
    "cross": (False, True),
    "asymmetric": (True, False),
    "full": (True, True),
}


def hp_theta(rng, extreme_rho: bool = False) -> dict:
    """Random bowl parameters of law hyperparams: curvatures k_lr, k_batch (ln-loss per squared
    ln unit), lr_asym (ln ratio), rho in (-1, 1)."""
    rho = rng.choice([-0.999, 0.999]) if extreme_rho else rng.uniform(-1.0, 1.0)
    return {
        "k_lr": float(np.exp(rng.normal(np.log(0.003), 1.5))),
        "k_batch": float(np.exp(rng.normal(np.log(0.003), 1.5))),
        "lr_asym": float(rng.normal(0.0, 1.5)),
        "rho": float(rho),
    }


def hp_bowl_by_hand(bowl: str, theta: dict, u, v):
    """ln L - l_c = k_lr(u) u^2 + k_batch v^2 + k_cross u v, with k_lr(u) = k_lr (u <= 0) or
    k_lr e^lr_asym (u > 0) for bowls "asymmetric"/"full", and k_cross = 2 rho
    sqrt(min(k_lr(-), k_lr(+)) k_batch) for bowls "cross"/"full" (0 otherwise)."""
    asym, cross = DOCUMENTED_BOWLS[bowl]
    k_below = theta["k_lr"]
    k_above = theta["k_lr"] * np.exp(theta["lr_asym"]) if asym else theta["k_lr"]
    k_cross = 2.0 * theta["rho"] * np.sqrt(min(k_below, k_above) * theta["k_batch"])
    k_cross = k_cross if cross else 0.0
    k_u = np.where(u > 0, k_above, k_below)
    return k_u * u**2 + theta["k_batch"] * v**2 + k_cross * u * v


def test_hyperparams_bowls_are_the_documented_ones():
    """BOWLS lists exactly the four bowls the module docstring defines (a new one needs its
    formula here)."""
    assert set(hp.BOWLS) == set(DOCUMENTED_BOWLS)


@pytest.mark.parametrize("bowl", hp.BOWLS)
def test_hyperparams_bowl_is_the_documented_formula(bowl):
    """bowl_value(u, v) = k_lr(u) u^2 + k_batch v^2 + k_cross u v, k_lr(u) = k_lr for u <= 0 and
    k_lr e^lr_asym for u > 0 ("asymmetric", "full"; else k_lr), k_cross = 2 rho
    sqrt(min(k_lr(-), k_lr(+)) k_batch) ("cross", "full"; else 0); so
    bowl(+1, 0) / bowl(-1, 0) = e^lr_asym, and bowl(1, 1) + bowl(-1, -1) - bowl(1, -1) -
    bowl(-1, 1) = 4 k_cross."""
    law = hp.HyperparamsLaw(bowl=bowl)
    asym, cross = DOCUMENTED_BOWLS[bowl]
    rng = np.random.default_rng(11)
    with jax.enable_x64(True):
        for i in range(N_SETS):
            theta = hp_theta(rng, extreme_rho=i % 5 == 0)
            u, v = offsets(rng)
            got = law.bowl_value(float64(theta), jnp.asarray(u), jnp.asarray(v))
            assert_close(got, hp_bowl_by_hand(bowl, theta, u, v), RTOL_BOWL, f"{bowl} {theta}")

            def at(uu, vv, th=theta):
                return float(law.bowl_value(float64(th), jnp.asarray(uu), jnp.asarray(vv)))

            ratio = at(1.0, 0.0) / at(-1.0, 0.0)
            assert ratio == pytest.approx(np.exp(theta["lr_asym"]) if asym else 1.0, rel=1e-12)
            assert at(-1.0, 0.0) == pytest.approx(theta["k_lr"], rel=1e-12)  # below: k_lr
            assert at(0.0, 1.0) == pytest.approx(theta["k_batch"], rel=1e-12)
            k_above = theta["k_lr"] * np.exp(theta["lr_asym"]) if asym else theta["k_lr"]
            k_min = min(theta["k_lr"], k_above)
            k_cross = 2 * theta["rho"] * np.sqrt(k_min * theta["k_batch"]) if cross else 0.0
            mixed = at(1.0, 1.0) + at(-1.0, -1.0) - at(1.0, -1.0) - at(-1.0, 1.0)
            assert mixed == pytest.approx(4 * k_cross, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("bowl", hp.BOWLS)
def test_hyperparams_bowl_is_convex_with_its_minimum_at_the_optimum(bowl):
    """For every |rho| < 1 (here up to 0.999): bowl(0, 0) = 0, bowl > 0 elsewhere, zero
    gradient at (0, 0), and bowl((a + b)/2) <= (bowl(a) + bowl(b))/2 (convex: the Hessian
    [[2 k_lr(u), k_cross], [k_cross, 2 k_batch]] is positive definite on either side of u = 0
    because k_cross^2 = 4 rho^2 min(k_lr(-), k_lr(+)) k_batch < 4 k_lr(u) k_batch)."""
    law = hp.HyperparamsLaw(bowl=bowl)
    rng = np.random.default_rng(12)
    with jax.enable_x64(True):
        for i in range(N_SETS):
            theta = float64(hp_theta(rng, extreme_rho=i % 2 == 0))
            assert_convex_with_minimum_at_zero(
                lambda u, v, th=theta: law.bowl_value(th, u, v), rng, f"{bowl} {theta}"
            )


# ---- hyperparams: the whole model's density ---------------------------------------------------
def hp_runs():
    """A simulated sweep (9 cells of unequal size, rows shuffled), 3 runs diverged (NaN loss:
    censored)."""
    df = simulate.simulate_video_dit_sweep(
        seed=3, sizes=(0.017e9, 0.057e9, 0.13e9), tokens=(2e9, 4e9, 8e9)
    )
    df = df.sample(frac=0.4, random_state=2).reset_index(drop=True)
    df.loc[[3, 17, 40], "loss"] = np.nan
    return bl.load_runs(df, allow_missing_loss=True)


def huber_log_normaliser(d: float = hp.HUBER_DELTA) -> float:
    """ln of the integral of exp(-rho_d(t)) dt, rho_d the Huber function (numerically)."""
    z, _ = integrate.quad(
        lambda t: np.exp(-(0.5 * t**2 if abs(t) <= d else d * abs(t) - 0.5 * d**2)),
        -np.inf, np.inf,
    )
    return float(np.log(z))


def huber_logpdf(x, mu, s, d: float = hp.HUBER_DELTA):
    """ln density of a Huber-shaped error: -rho_d((x - mu)/s) - ln s - ln Z."""
    t = np.abs((x - mu) / s)
    rho = np.where(t <= d, 0.5 * t**2, d * t - 0.5 * d**2)
    return -rho - np.log(s) - huber_log_normaliser(d)


def huber_logsf(x: float, mu, s, d: float = hp.HUBER_DELTA):
    """ln P(X >= x) of the Huber error above, by numerical integration of its density."""
    out = []
    for m in np.atleast_1d(mu):
        def f(y, m=m):
            return np.exp(huber_logpdf(y, m, s, d))
        near = integrate.quad(f, x, x + 60 * s, limit=200)[0]
        out.append(np.log(near + integrate.quad(f, x + 60 * s, np.inf)[0]))
    return np.array(out)


def hp_parameters(rng, law, family: str, n_cells: int) -> dict:
    """Random values of every sampled site of the hyperparams model."""
    optima = ("lr_int", "lr_N", "lr_D", "batch_int", "batch_N", "batch_D")
    p = {k: rng.normal(0, 0.5) for k in optima}
    p.update(
        k_lr=np.exp(rng.normal(np.log(0.003), 0.5)),
        k_batch=np.exp(rng.normal(np.log(0.003), 0.5)),
        lr_scatter=rng.uniform(0.05, 0.4),
        batch_scatter=rng.uniform(0.05, 0.4),
        z_lr=rng.normal(size=n_cells),
        z_batch=rng.normal(size=n_cells),
        level_mean=rng.normal(0, 0.03, n_cells),
        sigma=rng.uniform(5e-4, 3e-3),
    )
    if law.bowl in ("asymmetric", "full"):
        p["lr_asym"] = rng.normal()
    if law.bowl in ("cross", "full"):
        p["rho"] = rng.uniform(-0.9, 0.9)
    if family == "student_t":
        p["nu"] = rng.uniform(2, 30)
    if law.loss_level == "surface":
        p.update(alpha=rng.uniform(0.2, 0.6), beta=rng.uniform(0.2, 0.6), a=rng.normal(-2, 0.5),
                 b=rng.normal(-2, 0.5), e=rng.normal(-0.5, 0.2),
                 level_scatter=rng.uniform(0.002, 0.03))
    return p


def hp_log_density_by_hand(law, prep, p: dict, family: str) -> float:
    """The documented joint: priors (lr_int, batch_int ~ N(0, 2); exponents ~ N(0, 1);
    scatters ~ HalfNormal(0.3); k_lr, k_batch ~ LogNormal(ln 0.003, 2); lr_asym ~ N(0, 1); rho ~
    U(-1, 1); z ~ N(0, 1); level_mean ~ N(0, 1); sigma ~ HalfNormal(0.1); nu ~ Gamma(2, 0.1));
    u = ln lr - ln lr_ref - (lr_int + lr_N x + lr_D y + lr_scatter z_lr), v likewise;
    level = level_mean - the cell's mean bowl over its converged runs; with loss_level
    "surface" level ~ N(chinchilla(x, y), level_scatter); with bowl_scale "loss" the bowl is
    ln(1 + bowl e^-level_mean); z_i = ln L_i - ln L_ref ~ family(level + bowl, sigma), a
    diverged run contributing ln P(z >= ln(largest converged loss) - ln L_ref)."""
    df, scales = prep.runs.df, prep.scales
    ci = np.asarray(prep.data["cell_index"])
    n_cells = len(p["z_lr"])
    N_cell = np.array([df["N"].to_numpy()[ci == c][0] for c in range(n_cells)])
    D_cell = np.array([df["D"].to_numpy()[ci == c][0] for c in range(n_cells)])
    x, y = np.log(N_cell) - scales["N"], np.log(D_cell) - scales["D"]
    asym, cross = DOCUMENTED_BOWLS[law.bowl]
    lp = sum(stats.norm(0, 2).logpdf(p[k]) for k in ("lr_int", "batch_int"))
    lp += sum(stats.norm(0, 1).logpdf(p[k]) for k in ("lr_N", "lr_D", "batch_N", "batch_D"))
    lp += sum(stats.halfnorm(scale=0.3).logpdf(p[k]) for k in ("lr_scatter", "batch_scatter"))
    lp += sum(stats.lognorm(2, scale=0.003).logpdf(p[k]) for k in ("k_lr", "k_batch"))
    lp += stats.norm().logpdf(p["lr_asym"]) if asym else 0.0
    lp += np.log(0.5) if cross else 0.0
    lp += stats.norm().logpdf(p["z_lr"]).sum() + stats.norm().logpdf(p["z_batch"]).sum()
    lp += stats.norm(0, 1).logpdf(p["level_mean"]).sum()
    lp += stats.halfnorm(scale=0.1).logpdf(p["sigma"])
    lp += stats.gamma(2, scale=10).logpdf(p["nu"]) if family == "student_t" else 0.0
    m_lr = p["lr_int"] + p["lr_N"] * x + p["lr_D"] * y + p["lr_scatter"] * p["z_lr"]
    m_b = p["batch_int"] + p["batch_N"] * x + p["batch_D"] * y + p["batch_scatter"] * p["z_batch"]
    u = np.log(df["lr"].to_numpy()) - scales["lr"] - m_lr[ci]
    v = np.log(df["batch_size"].to_numpy()) - scales["batch_size"] - m_b[ci]
    bowl = hp_bowl_by_hand(law.bowl, {"lr_asym": 0.0, "rho": 0.0, **p}, u, v)
    if law.bowl_scale == "loss":
        bowl = np.log1p(bowl * np.exp(-p["level_mean"][ci]))
    loss = df["loss"].to_numpy()
    diverged = ~np.isfinite(loss)
    mean_bowl = np.array([bowl[(ci == c) & ~diverged].mean() for c in range(len(x))])
    level = p["level_mean"] - mean_bowl
    if law.loss_level == "surface":
        lp += stats.beta(2, 3).logpdf(p["alpha"]) + stats.beta(2, 3).logpdf(p["beta"])
        lp += stats.norm(-2, 2).logpdf(p["a"]) + stats.norm(-2, 2).logpdf(p["b"])
        lp += stats.norm(-0.5, 1).logpdf(p["e"])
        lp += stats.halfnorm(scale=0.02).logpdf(p["level_scatter"])
        terms = np.stack([p["a"] - p["alpha"] * x, p["b"] - p["beta"] * y, np.full_like(x, p["e"])])
        surface = np.logaddexp.reduce(terms, axis=0)
        lp += stats.norm(surface, p["level_scatter"]).logpdf(level).sum()
    mu = level[ci] + bowl
    z = np.log(loss[~diverged]) - scales["loss"]
    bound = np.log(np.nanmax(loss)) - scales["loss"]
    s = p["sigma"]
    if family == "gaussian":
        lp += stats.norm(mu[~diverged], s).logpdf(z).sum()
        lp += stats.norm(mu[diverged], s).logsf(bound).sum()
    elif family == "student_t":
        lp += stats.t(p["nu"], mu[~diverged], s).logpdf(z).sum()
        lp += stats.t(p["nu"], mu[diverged], s).logsf(bound).sum()
    else:
        lp += huber_logpdf(z, mu[~diverged], s).sum() + huber_logsf(bound, mu[diverged], s).sum()
    return float(lp)


@pytest.mark.parametrize(
    "bowl, loss_level, bowl_scale, family, seed",
    [
        ("full", "free", "log", "gaussian", 0),
        ("full", "surface", "loss", "student_t", 2),
        ("cross", "free", "loss", "gaussian", 3),
        ("asymmetric", "surface", "log", "student_t", 4),
        ("symmetric", "free", "log", "gaussian", 5),
        ("full", "free", "log", "huber", 6),
    ],
)
def test_hyperparams_log_density_is_the_documented_joint(
    bowl, loss_level, bowl_scale, family, seed
):
    """numpyro's log_density of HyperparamsLaw.model equals, to 1e-7 relative in float64, the
    documented joint (hp_log_density_by_hand): priors + sum_i ln family(z_i | level_c + bowl_i,
    sigma), bowl_i = k_lr(u) u^2 + k_batch v^2 + 2 rho sqrt(min(k_lr(-), k_lr(+)) k_batch) u v,
    level_c = level_mean_c - mean bowl of cell c's converged runs, censored runs
    ln P(z >= bound)."""
    law = hp.HyperparamsLaw(bowl=bowl, loss_level=loss_level, bowl_scale=bowl_scale)
    with warnings.catch_warnings(), jax.enable_x64(True):
        warnings.simplefilter("ignore")
        prep = law.prepare(hp_runs())
        data = {k: jnp.asarray(np.asarray(v)) for k, v in prep.data.items()}
        assert data["p"].dtype == jnp.float64
        rng = np.random.default_rng(seed)
        p = hp_parameters(rng, law, family, len(np.asarray(data["x_cell"])))
        priors = law.priors(family)
        lp_code = float(joint_log_density(law.model, priors, family, data, p, n_groups=1))
    assert np.asarray(prep.data["censored"]).sum() == 3
    lp_hand = hp_log_density_by_hand(law, prep, p, family)
    assert lp_code == pytest.approx(lp_hand, rel=RTOL_DENSITY), (lp_code, lp_hand)


# ---- sweep: the bowl ----------------------------------------------------------------------------
def sweep_theta(rng) -> dict:
    """Random bowl parameters of law sweep (one cell's): k_lr, k_batch, lr_asym, batch_asym,
    valley."""
    return {
        "k_lr": float(np.exp(rng.normal(np.log(0.003), 1.5))),
        "k_batch": float(np.exp(rng.normal(np.log(0.003), 1.5))),
        "lr_asym": float(rng.normal(0.0, 1.5)),
        "batch_asym": float(rng.normal(0.0, 1.5)),
        "valley": float(rng.normal(0.0, 1.0)),
    }


def sweep_bowl_by_hand(theta: dict, u, v):
    """k_u u^2 + k_w w^2, w = v - valley u; k_u = k_lr e^(-lr_asym/2) (u <= 0) or
    k_lr e^(lr_asym/2) (u > 0); k_w = k_batch e^(-batch_asym/2) (w <= 0) or
    k_batch e^(batch_asym/2) (w > 0)."""
    w = v - theta["valley"] * u
    k_u = theta["k_lr"] * np.exp(np.where(u > 0, 0.5, -0.5) * theta["lr_asym"])
    k_w = theta["k_batch"] * np.exp(np.where(w > 0, 0.5, -0.5) * theta["batch_asym"])
    return k_u * u**2 + k_w * w**2


def test_sweep_bowl_is_the_documented_formula():
    """SweepLaw.bowl_value(u, v) = k_u u^2 + k_w w^2 with w = v - valley u, k_u = k_lr
    e^(+-lr_asym/2) above / below u = 0 and k_w = k_batch e^(+-batch_asym/2) above / below the
    valley line; so bowl(0, +1) / bowl(0, -1) = e^batch_asym (off the valley line: w = v),
    bowl(0, +1) = k_batch e^(batch_asym/2), and on the valley line (w = 0)
    bowl(+1, valley) / bowl(-1, -valley) = e^lr_asym, bowl(+1, valley) = k_lr e^(lr_asym/2)."""
    rng = np.random.default_rng(21)
    with jax.enable_x64(True):
        for _ in range(N_SETS):
            theta = sweep_theta(rng)
            u, v = offsets(rng)
            got = sweep.SweepLaw.bowl_value(float64(theta), jnp.asarray(u), jnp.asarray(v))
            assert_close(got, sweep_bowl_by_hand(theta, u, v), RTOL_BOWL, f"sweep {theta}")

            def at(uu, vv, th=theta):
                uu, vv = jnp.asarray(uu), jnp.asarray(vv)
                return float(sweep.SweepLaw.bowl_value(float64(th), uu, vv))

            a, g = theta["batch_asym"], theta["valley"]
            assert at(0.0, 1.0) / at(0.0, -1.0) == pytest.approx(np.exp(a), rel=1e-12)
            assert at(0.0, 1.0) == pytest.approx(theta["k_batch"] * np.exp(a / 2), rel=1e-12)
            assert at(1.0, g) / at(-1.0, -g) == pytest.approx(np.exp(theta["lr_asym"]), rel=1e-12)
            k_above = theta["k_lr"] * np.exp(theta["lr_asym"] / 2)
            assert at(1.0, g) == pytest.approx(k_above, rel=1e-12)


def test_sweep_bowl_is_convex_with_its_minimum_at_the_optimum():
    """bowl(0, 0) = 0, bowl > 0 elsewhere, zero gradient at (0, 0) and midpoint-convex: a sum of
    two convex C1 piecewise quadratics (k u^2 with k switching at u = 0, and of w likewise)."""
    rng = np.random.default_rng(22)
    with jax.enable_x64(True):
        for _ in range(N_SETS):
            theta = float64(sweep_theta(rng))
            assert_convex_with_minimum_at_zero(
                lambda u, v, th=theta: sweep.SweepLaw.bowl_value(th, u, v), rng, f"sweep {theta}"
            )


# ---- sweep: the whole model's density ----------------------------------------------------------
def sweep_runs():
    """A simulated sweep (9 cells of unequal size, rows shuffled), every run converged."""
    df = simulate.simulate_video_dit_sweep(
        seed=3, sizes=(0.017e9, 0.057e9, 0.13e9), tokens=(2e9, 4e9, 8e9)
    )
    return bl.load_runs(df.sample(frac=0.5, random_state=1))


NORMAL_PRIORS = {  # site -> (mean, sd) of its Normal prior (module docstring)
    "level_centre": (0, 1), "log_elasticity_N": (np.log(0.05), 2),
    "log_elasticity_D": (np.log(0.05), 2), "lr_N": (0, 1), "lr_D": (0, 1), "batch_N": (0, 1),
    "batch_D": (0, 1), "valley": (0, 1), "k_lr_N": (0, 0.5), "k_lr_D": (0, 0.5),
    "k_batch_N": (0, 0.5), "k_batch_D": (0, 0.5),
}


def sweep_parameters(rng, n_cells: int, shape_scatter: bool) -> dict:
    """Random values of every sampled site of the sweep model (its standardised coordinates)."""
    p = {
        "level_centre_std": rng.normal(), "log_elasticity_N_std": rng.normal(),
        "log_elasticity_D_std": rng.normal(), "alpha_raw": rng.uniform(0.05, 0.95),
        "beta_raw": rng.uniform(0.05, 0.95), "lr_int": rng.normal(0, 0.5),
        "batch_int": rng.normal(0, 0.5), "lr_asym": rng.normal(), "batch_asym": rng.normal(),
        "lr_scatter": rng.uniform(0.05, 0.4), "batch_scatter": rng.uniform(0.05, 0.4),
        "level_scatter": rng.uniform(0.001, 0.03), "tau": rng.uniform(0.05, 0.5),
        "sigma": rng.uniform(5e-4, 3e-3), "z_lr": rng.normal(size=n_cells),
        "z_batch": rng.normal(size=n_cells),
    }
    for k in (*NORMAL_PRIORS, "k_lr", "k_batch"):
        if k not in ("level_centre", "log_elasticity_N", "log_elasticity_D"):
            p[k + "_std"] = rng.normal()
    if shape_scatter:
        for k in sweep.SHAPE_SCATTER:
            p[f"{k}_scatter"] = rng.uniform(0.05, 0.3)
            p[f"z_{k}"] = rng.normal(size=n_cells)
    return p


def sweep_log_density_by_hand(prep, p: dict, shape_scatter: bool) -> float:
    """The documented joint: priors (in the sampler's standardised coordinates value = loc +
    SAMPLING_SCALE z, with the Jacobian ln SAMPLING_SCALE); Chinchilla's surface from
    (level_centre, ln g_N/g_rest, ln g_D/g_rest, alpha_raw, beta_raw); per cell
    z ~ N(surface_c + bowl, diag(sigma^2 + (tau bowl)^2) + level_scatter^2 1 1^T), with
    bowl = k_u u^2 + k_w w^2 (w = v - valley u, k_w = k_batch e^(+-batch_asym/2) either side of
    the valley line) and k_lr,c = k_lr e^(k_lr_N x + k_lr_D y [+ k_lr_scatter z_k_lr])."""
    data, scales, df = prep.data, prep.scales, prep.runs.df
    scale = sweep.SAMPLING_SCALE
    loc = dict(zip(("level_centre", "log_elasticity_N", "log_elasticity_D"),
                   np.asarray(data["surface_loc"], float), strict=True))
    lp, val = 0.0, {}
    for k, (m, s) in NORMAL_PRIORS.items():
        val[k] = loc.get(k, 0.0) + scale[k] * p[k + "_std"]
        lp += stats.norm(m, s).logpdf(val[k]) + np.log(scale[k])
    for k in ("k_lr", "k_batch"):  # LogNormal(ln 0.003, 2), standardised in ln units
        val[k] = np.exp(np.log(0.003) + scale[k] * p[k + "_std"])
        lp += stats.lognorm(2.0, scale=0.003).logpdf(val[k]) + np.log(val[k] * scale[k])
    lp += stats.beta(2, 3).logpdf(p["alpha_raw"]) + stats.beta(2, 3).logpdf(p["beta_raw"])
    lp += sum(stats.norm(0, 2).logpdf(p[k]) for k in ("lr_int", "batch_int"))
    lp += sum(stats.norm(0, 1).logpdf(p[k]) for k in ("lr_asym", "batch_asym"))
    half_normal = {"lr_scatter": 0.3, "batch_scatter": 0.3, "level_scatter": 0.02, "tau": 0.5}
    lp += sum(stats.halfnorm(scale=s).logpdf(p[k]) for k, s in half_normal.items())
    lp += stats.lognorm(1.5, scale=0.002).logpdf(p["sigma"])
    lp += stats.norm().logpdf(p["z_lr"]).sum() + stats.norm().logpdf(p["z_batch"]).sum()
    if shape_scatter:
        for k, s in (("k_lr", 0.3), ("k_batch", 0.3), ("lr_asym", 0.5), ("valley", 0.2)):
            lp += stats.halfnorm(scale=s).logpdf(p[f"{k}_scatter"])
            lp += stats.norm().logpdf(p[f"z_{k}"]).sum()
    # the surface: elasticities g_N, g_D at the centre, alpha and beta in their allowed range
    l0, e_N, e_D = val["level_centre"], val["log_elasticity_N"], val["log_elasticity_D"]
    den = 1 + np.exp(e_N) + np.exp(e_D)
    g_N, g_D = np.exp(e_N) / den, np.exp(e_D) / den
    beta_lo = g_D / (1 - g_N)
    beta = beta_lo + (1 - beta_lo) * p["beta_raw"]
    alpha_lo = g_N / (1 - g_D / beta)
    alpha = alpha_lo + (1 - alpha_lo) * p["alpha_raw"]
    share_A, share_B = g_N / alpha, g_D / beta
    a, b, e = l0 + np.log(share_A), l0 + np.log(share_B), l0 + np.log(1 - share_A - share_B)
    ci = np.asarray(data["cell_index"])
    n_cells = len(p["z_lr"])
    N_cell = np.array([df["N"].to_numpy()[ci == c][0] for c in range(n_cells)])
    D_cell = np.array([df["D"].to_numpy()[ci == c][0] for c in range(n_cells)])
    x, y = np.log(N_cell) - scales["N"], np.log(D_cell) - scales["D"]
    surface = np.log(np.exp(a - alpha * x) + np.exp(b - beta * y) + np.exp(e))
    # the optima and each cell's bowl
    m_lr = p["lr_int"] + val["lr_N"] * x + val["lr_D"] * y + p["lr_scatter"] * p["z_lr"]
    m_b = p["batch_int"] + val["batch_N"] * x + val["batch_D"] * y
    m_b = m_b + p["batch_scatter"] * p["z_batch"]
    k_lr = val["k_lr"] * np.exp(val["k_lr_N"] * x + val["k_lr_D"] * y)
    k_b = val["k_batch"] * np.exp(val["k_batch_N"] * x + val["k_batch_D"] * y)
    lr_asym, valley = np.full(n_cells, p["lr_asym"]), np.full(n_cells, val["valley"])
    if shape_scatter:
        k_lr = k_lr * np.exp(p["k_lr_scatter"] * p["z_k_lr"])
        k_b = k_b * np.exp(p["k_batch_scatter"] * p["z_k_batch"])
        lr_asym = lr_asym + p["lr_asym_scatter"] * p["z_lr_asym"]
        valley = valley + p["valley_scatter"] * p["z_valley"]
    u = np.log(df["lr"].to_numpy()) - scales["lr"] - m_lr[ci]
    v = np.log(df["batch_size"].to_numpy()) - scales["batch_size"] - m_b[ci]
    bowl = sweep_bowl_by_hand(
        {"k_lr": k_lr[ci], "k_batch": k_b[ci], "lr_asym": lr_asym[ci],
         "batch_asym": p["batch_asym"], "valley": valley[ci]}, u, v,
    )
    z = np.log(df["loss"].to_numpy()) - scales["loss"]
    var = p["sigma"] ** 2 + (p["tau"] * bowl) ** 2
    mean = surface[ci] + bowl
    for c in range(n_cells):
        rows = ci == c
        cov = np.diag(var[rows]) + p["level_scatter"] ** 2
        lp += stats.multivariate_normal(mean[rows], cov).logpdf(z[rows])
    return float(lp)


@pytest.mark.parametrize("shape_scatter, seed", [(False, 0), (True, 3)])
def test_sweep_log_density_is_the_documented_joint(shape_scatter, seed):
    """numpyro's log_density of SweepLaw.model (cell levels integrated out analytically) equals,
    to 1e-7 relative in float64, priors + sum_c ln N(z_c | surface_c + bowl_c,
    diag(sigma^2 + (tau bowl)^2) + level_scatter^2 1 1^T) with the documented bowl
    k_u u^2 + k_w w^2, k_w = k_batch e^(+-batch_asym/2) either side of w = v - valley u = 0."""
    law = sweep.SweepLaw(shape_scatter=shape_scatter)
    with warnings.catch_warnings(), jax.enable_x64(True):
        warnings.simplefilter("ignore")
        prep = law.prepare(sweep_runs())
        data = {k: jnp.asarray(np.asarray(v)) for k, v in prep.data.items() if k != "scales"}
        assert data["p"].dtype == jnp.float64
        n_cells = len(np.asarray(data["x_cell"]))
        p = sweep_parameters(np.random.default_rng(seed), n_cells, shape_scatter)
        priors = law.priors("gaussian")
        lp_code = float(
            joint_log_density(law.model, priors, "gaussian", data, p, scales=prep.data["scales"])
        )
    lp_hand = sweep_log_density_by_hand(prep, p, shape_scatter)
    assert lp_code == pytest.approx(lp_hand, rel=RTOL_DENSITY), (lp_code, lp_hand)
