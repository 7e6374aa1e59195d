"""Each loss surface's centred ``log_loss`` and the natural-unit constants its ``derived``
reports reproduce the paper form in the law's docstring, for random parameters (float64, no
sampling): kaplan, chinchilla_gamma, farseer (and its small-curvature branch), chinchilla."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayeslaws.laws import LAWS
from bayeslaws.laws.contract import Scales
from bayeslaws.laws.farseer import SMALL_K, h

RTOL = 1e-12
N_SETS = 20  # random parameter sets per law


def reference_scales(rng) -> Scales:
    """ln N_ref (params), ln D_ref (tokens), ln L_ref (loss units), as a fit's centre."""
    return Scales(
        {
            "N": float(rng.uniform(np.log(1e7), np.log(1e10))),
            "D": float(rng.uniform(np.log(1e9), np.log(1e12))),
            "loss": float(rng.uniform(np.log(1.5), np.log(4.0))),
        }
    )


def points(rng, scales: Scales, n: int = 40):
    """N (params), D (tokens) within ~2 decades of the centre, and their centred logs x, y."""
    x = rng.uniform(-4.5, 4.5, n)
    y = rng.uniform(-4.5, 4.5, n)
    return np.exp(x + scales["N"]), np.exp(y + scales["D"]), x, y


def natural(law: str, theta: dict, x, y, scales: Scales):
    """L (loss units) from the law's centred log_loss and the reference loss, and its derived
    constants, in float64."""
    with jax.enable_x64(True):
        th = {k: jnp.asarray(v, jnp.float64) for k, v in theta.items()}
        z = LAWS[law].log_loss(th, jnp.asarray(x), jnp.asarray(y), scales)
        loss = np.exp(np.asarray(z, float) + scales["loss"])
        derived = {k: float(v) for k, v in LAWS[law].derived(th, scales).items()}
    return loss, derived


def assert_close(got, want, what: str):
    err = np.max(np.abs(np.asarray(got) / np.asarray(want) - 1.0))
    assert err < RTOL, f"{what}: relative error {err:.3g} (>= {RTOL:g})"


def parameter_sets(seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(N_SETS):
        scales = reference_scales(rng)
        yield rng, scales, points(rng, scales)


def test_kaplan_paper_form():
    """L = ((N_c / N)^(alpha_N / alpha_D) + D_c / D)^alpha_D with the reported N_c, D_c."""
    for rng, scales, (N, D, x, y) in parameter_sets(1):
        theta = {
            "alpha_N": rng.uniform(0.03, 0.3),
            "alpha_D": rng.uniform(0.03, 0.3),
            "n_c": rng.uniform(2.0, 18.0),
            "d_c": rng.uniform(2.0, 18.0),
        }
        loss, d = natural("kaplan", theta, x, y, scales)
        paper = ((d["N_c"] / N) ** (theta["alpha_N"] / theta["alpha_D"]) + d["D_c"] / D) ** theta[
            "alpha_D"
        ]
        assert_close(loss, paper, "kaplan")


def chinchilla_theta(rng) -> dict:
    """Random Chinchilla parameters (centred): exponents alpha, beta; log-amplitudes a, b, e."""
    return {
        "alpha": rng.uniform(0.1, 0.7),
        "beta": rng.uniform(0.1, 0.7),
        "a": rng.uniform(-3.0, 0.0),
        "b": rng.uniform(-3.0, 0.0),
        "e": rng.uniform(-1.5, 0.0),
    }


def test_chinchilla_gamma_paper_form_and_effective_exponents():
    """L = E + (A / N^alpha + B / D^beta)^gamma, A and B by the docstring's formulas, E as
    reported; alpha_eff, beta_eff the slopes of ln(L - E) in ln N (ln D) where the size
    (data) term alone remains."""
    for rng, scales, (N, D, x, y) in parameter_sets(2):
        theta = {**chinchilla_theta(rng), "gamma": rng.uniform(0.7, 1.5)}
        loss, d = natural("chinchilla_gamma", theta, x, y, scales)
        g = theta["gamma"]
        A = np.exp(theta["a"] + theta["alpha"] * scales["N"] + scales["loss"] / g)
        B = np.exp(theta["b"] + theta["beta"] * scales["D"] + scales["loss"] / g)
        paper = d["E"] + (A / N ** theta["alpha"] + B / D ** theta["beta"]) ** g
        assert_close(loss, paper, "chinchilla_gamma")
        # one reducible term alone: the other's centred log and e 1e4 e-folds down (exactly 0
        # in float64), so that ln L is ln of that term to the power gamma
        far, steps = np.full(2, 1e4), np.array([-3.0, 3.0])
        alone = {**theta, "e": -1e4}
        for exponent, at in (("alpha_eff", (steps, far)), ("beta_eff", (far, steps))):
            L, _ = natural("chinchilla_gamma", alone, *at, scales)
            slope = -(np.log(L[1]) - np.log(L[0])) / (steps[1] - steps[0])
            assert_close(d[exponent], slope, f"chinchilla_gamma {exponent}")


def test_chinchilla_paper_form_and_optimum():
    """L = E + A / N^alpha + B / D^beta with the reported E, A, B; the closed-form optimum
    under C = 6 N D sets dL/dN = 0 on the isoFLOP line (alpha A N^-alpha = beta B D^-beta) and
    grows as C^a_opt."""
    from bayeslaws.runs.compute import as_compute_model

    model = as_compute_model(6.0)
    for rng, scales, (N, D, x, y) in parameter_sets(3):
        theta = chinchilla_theta(rng)
        loss, d = natural("chinchilla", theta, x, y, scales)
        paper = d["E"] + d["A"] / N ** theta["alpha"] + d["B"] / D ** theta["beta"]
        assert_close(loss, paper, "chinchilla")
        C = np.array([1e19, 1e23])
        th = {k: np.array([v]) for k, v in theta.items()}
        u = LAWS["chinchilla"].closed_form_optimum(th, scales, model, C)[0]
        N_opt, D_opt = np.exp(u), C / (6.0 * np.exp(u))
        assert_close(
            theta["alpha"] * d["A"] * N_opt ** -theta["alpha"],
            theta["beta"] * d["B"] * D_opt ** -theta["beta"],
            "chinchilla optimum",
        )
        assert_close((u[1] - u[0]) / np.log(C[1] / C[0]), d["a_opt"], "chinchilla a_opt")


def farseer_theta(rng, k_beta, k_amp) -> dict:
    return {
        "alpha": rng.uniform(0.2, 0.6),
        "a": rng.uniform(-2.5, -0.5),
        "e": rng.uniform(-1.0, 0.0),
        "beta0": rng.uniform(0.2, 0.6),
        "m_beta": rng.uniform(-0.15, 0.15),
        "k_beta": k_beta,
        "c0": rng.uniform(-3.0, -1.0),
        "m_c": rng.uniform(-0.5, 0.5),
        "k_amp": k_amp,
    }


def curvature(rng) -> float:
    """A curvature k well away from 0 (where Farseer's constants m / k are large)."""
    return float(rng.choice([-1.0, 1.0]) * rng.uniform(0.05, 0.5))


def test_farseer_paper_form():
    """L = exp(s N^q + S) + exp(B N^b + Q) D^-exp(A N^a + E) with the nine reported
    constants, and E_inf = exp(S)."""
    for rng, scales, (N, D, x, y) in parameter_sets(4):
        theta = farseer_theta(rng, curvature(rng), curvature(rng))
        loss, d = natural("farseer", theta, x, y, scales)
        f = {k.removeprefix("farseer_"): v for k, v in d.items()}
        paper = np.exp(f["s"] * N ** f["q"] + f["S"]) + np.exp(f["B"] * N ** f["b"] + f["Q"]) * (
            D ** -np.exp(f["A"] * N ** f["a"] + f["E"])
        )
        assert_close(loss, paper, "farseer")
        assert_close(d["E_inf"], np.exp(f["S"]), "farseer E_inf")


def test_farseer_zero_curvature_limit():
    """At k_beta = k_amp = 0 (the SMALL_K branch) the form is its k -> 0 limit: beta(N) =
    beta0 (N / N_ref)^m_beta and A(N) = L_ref e^c0 D_ref^beta0 (N / N_ref)^m_amp, m_amp =
    m_c + beta0 m_beta ln D_ref (Farseer's B N^b + Q with b -> 0)."""
    for rng, scales, (N, D, x, y) in parameter_sets(5):
        theta = farseer_theta(rng, 0.0, 0.0)
        loss, d = natural("farseer", theta, x, y, scales)
        rel_N = N / np.exp(scales["N"])
        m_amp = theta["m_c"] + theta["beta0"] * theta["m_beta"] * scales["D"]
        beta = theta["beta0"] * rel_N ** theta["m_beta"]
        amp = np.exp(scales["loss"] + theta["c0"]) * np.exp(scales["D"]) ** theta["beta0"]
        paper = np.exp(d["farseer_s"] * N ** d["farseer_q"] + d["farseer_S"]) + (
            amp * rel_N**m_amp * D**-beta
        )
        assert_close(loss, paper, "farseer at k = 0")


@pytest.mark.parametrize("k", [SMALL_K * 0.99, -SMALL_K * 0.99, 3e-5, -1e-6])
def test_farseer_small_curvature_series(k):
    """Below SMALL_K, h(k, x) = (e^(k x) - 1) / k by its second-order series: within the
    series' remainder |k|^2 |x|^3 / 6 (times e^|k x|) of the exact value; a first-order
    series (x) would be off by ~k x^2 / 2, far more."""
    x = np.linspace(-6.0, 6.0, 25)
    with jax.enable_x64(True):
        got = np.asarray(h(jnp.float64(k), jnp.asarray(x)), float)
    exact = np.expm1(k * x) / k
    bound = k**2 * np.abs(x) ** 3 / 6.0 * np.exp(abs(k * x)) + 1e-15 * (1 + np.abs(x))
    assert np.all(np.abs(got - exact) <= bound)
    assert np.abs(got - x).max() > 10 * bound.max()  # the series has its second-order term
