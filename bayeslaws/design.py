"""Choosing the next runs: expected information about the quantity you will act on, per FLOP.

A fitted posterior (NUTS draws) is the current belief. For each candidate run ``d`` the law
predicts an observation ``y_d = f(theta, d) + noise`` (log loss, the fit's noise family). The
value of running ``d`` is the expected information (nats) the outcome carries about a target::

    plan = bl.design.next_runs(fit, bl.design.isoflop_candidates(C=[1e19, 3e19]),
                               target=bl.design.Loss(N=7e9, D=1.4e11), cost="flops", k=3)

Targets (:class:`Loss`, :class:`NOpt`, :class:`HyperparamOpt`, :class:`AllParameters`, or a
list of them, treated jointly) give draws of the target on the log scale, shape (S, T).

Estimators
----------
``"gaussian"`` (default, fast): the draws of the target ``t`` and of the predictions ``f`` are
treated as jointly Gaussian (their sample covariance), the noise as Gaussian with the posterior
mean variance of the fit's family. Then for a target
``I(t; y_d) = -0.5 log(1 - rho^2(t, y_d))`` (scalar t; ``0.5 log det Sigma_t / Sigma_t|y`` in
general) and for all parameters ``I(theta; y_d) = 0.5 log(1 + Var_post[f(theta, d)] / sigma^2)``.
Batches are chosen greedily, conditioning the joint Gaussian on the runs already picked. The
Gaussian information about all parameters is submodular (greedy is within 1 - 1/e of the best
batch); the information about a target is not always (two runs can be worth more together than
apart, e.g. one pinning a nuisance the other needs), so for targets greedy is a heuristic.
Vectorised in JAX over draws and candidates, in float64.

Confirmation (:func:`bounds`, or ``next_runs(..., confirm=10)``): from one matrix of
log-likelihoods ``log p(y_n | theta_m)`` (outer draws n with simulated outcomes y_n from the fit's
own noise family, all S draws as inner samples):

* ``nmc``: nested Monte Carlo of ``I(theta; y_d)``, the inner sum excluding the outer draw: an
  **upper bound** in expectation (Rainforth et al. 2018). By data processing it also bounds the
  information about any target from above.
* ``pce``: prior contrastive estimation (Foster et al. 2020), inner sum including the outer draw:
  a **lower bound** on ``I(theta; y_d)`` (not on a target's information).
* ``reweighted``: the target's information with the exact (nonlinear) predictions and noise
  family: ``E_y[0.5 log det Sigma_t / Sigma_t|y]``, the posterior covariance of ``t`` given each
  simulated outcome by importance weights ``p(y_n | theta_m)`` over the draws. Not a bound (a
  Gaussian-entropy approximation of the target), but it checks the linearisation.

Costs: ``cost="flops"`` uses the fit's compute model (6ND by default); a column name uses that
column (e.g. GPU-hours); ``cost=None`` ranks by information alone.

Guardrails of the greedy batch (each switchable, see :func:`next_runs`): ``max_repeats`` (a cap
on picks of one design point per batch), ``ratio_diversity`` (never a batch whose runs all share
one tokens-per-parameter ratio), ``min_size_spread`` (optional: the batch's sizes span at least
this factor).

Candidates (:func:`isoflop_candidates`, :func:`hyperparameter_candidates`, or any DataFrame of
runs with columns N, D (or C) and, for a hyperparameter fit, lr and batch_size). Rows sharing a
``unit`` label are one candidate (chosen and costed together): a hyperparameter sweep at a new
(N, D) cell is such a unit, because a single run in an unseen cell says nothing while the
cell's loss level is unknown (the level is integrated out as a nuisance with its prior variance).

Units: N params, D tokens, C FLOPs; information in nats; target draws on the natural-log scale
(interval widths reported on the natural scale).
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

ESTIMATORS = ("gaussian",)
BOUND_ESTIMATORS = ("nmc", "pce", "reweighted")
PAD_NOISE = 1e12  # noise variance of padded rows in multi-run units: they carry no information
NEW_CELL_LEVEL_VAR = 1.0  # prior variance of a new hyperparameter cell's log-loss level


# ---- input checks ------------------------------------------------------------------------------
def _positive(name: str, value) -> np.ndarray:
    if value is None:
        raise ValueError(f"{name} is required")
    try:
        arr = np.atleast_1d(np.asarray(value, dtype=float))
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a positive number or 1-d sequence, got {value!r}"
        ) from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a positive number or non-empty 1-d sequence")
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        raise ValueError(f"{name} must be finite and positive; bad at positions {np.where(bad)[0]}")
    return arr


def _pos_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _is_hyperparams(fit) -> bool:
    return fit.spec.get("law") == "hyperparams"


# ---- targets -----------------------------------------------------------------------------------
class Target:
    """A quantity the user will act on; ``draws(fit, seed)`` gives (S, T) log-scale draws."""

    def draws(self, fit, seed: int = 0) -> np.ndarray:
        raise NotImplementedError

    def labels(self) -> list[str]:
        raise NotImplementedError


@dataclass(frozen=True)
class Loss(Target):
    """The (law's mean) loss at a planned run: N params, D tokens (scalars or equal-length)."""

    N: float
    D: float
    group: object = None

    def __post_init__(self):
        n, d = _positive("Loss(N=)", self.N), _positive("Loss(D=)", self.D)
        if n.size != d.size and 1 not in (n.size, d.size):
            raise ValueError(f"Loss(N=, D=) have incompatible lengths {n.size} and {d.size}")

    def _points(self):
        n, d = np.broadcast_arrays(_positive("N", self.N), _positive("D", self.D))
        return n, d

    def draws(self, fit, seed=0):
        from .predict import log_loss_draws

        if (
            _is_hyperparams(fit)
            or "scales" not in fit.spec
            or "log_L_ref" not in str(fit.spec.get("scales"))
        ):
            raise ValueError(
                f"target Loss needs a loss-surface fit (chinchilla, kaplan, ...); this fit's law "
                f"is {fit.spec.get('law')!r}"
            )
        n, d = self._points()
        points = pd.DataFrame({"N": n, "D": d})
        return np.asarray(log_loss_draws(fit, points, "mean", self.group, seed), float)

    def labels(self):
        n, d = self._points()
        return [f"L(N={a:.3g}, D={b:.3g})" for a, b in zip(n, d, strict=True)]


@dataclass(frozen=True)
class NOpt(Target):
    """The compute-optimal size N_opt (params) at budget(s) C (FLOPs)."""

    C: float
    compute_model: object = None
    group: object = None

    def __post_init__(self):
        _positive("NOpt(C=)", self.C)

    def draws(self, fit, seed=0):
        from .allocation import allocation_draws

        if _is_hyperparams(fit):
            raise ValueError("target NOpt needs a loss-surface or isoflop fit, not 'hyperparams'")
        out = allocation_draws(fit, _positive("C", self.C), self.compute_model, self.group, seed)
        return np.log(np.asarray(out["N_opt"], float))

    def labels(self):
        return [f"N_opt(C={c:.3g})" for c in _positive("C", self.C)]


@dataclass(frozen=True)
class HyperparamOpt(Target):
    """eta_opt and/or B_opt (tokens) of the hyperparameter law at N params, D tokens.

    ``which``: "both" (default, a two-dimensional target), "eta" or "B".
    """

    N: float
    D: float
    which: str = "both"

    def __post_init__(self):
        _positive("HyperparamOpt(N=)", self.N)
        _positive("HyperparamOpt(D=)", self.D)
        if self.which not in ("both", "eta", "B"):
            raise ValueError(
                f"HyperparamOpt(which=) must be 'both', 'eta' or 'B', got {self.which!r}"
            )

    def draws(self, fit, seed=0):
        if not _is_hyperparams(fit):
            raise ValueError(
                "target HyperparamOpt needs a fit of law 'hyperparams', got "
                f"{fit.spec.get('law')!r}"
            )
        from .laws.hyperparams import HyperparamsLaw

        law = HyperparamsLaw.from_fit(fit)
        n, d = np.broadcast_arrays(_positive("N", self.N), _positive("D", self.D))
        out = law.optimum_draws(fit, n, d, kind="mean", seed=seed)
        parts = []
        if self.which in ("both", "eta"):
            parts.append(out["log_eta"])
        if self.which in ("both", "B"):
            parts.append(out["log_B"])
        return np.concatenate([np.asarray(p, float) for p in parts], axis=1)

    def labels(self):
        n, d = np.broadcast_arrays(_positive("N", self.N), _positive("D", self.D))
        names = {"both": ("eta_opt", "B_opt"), "eta": ("eta_opt",), "B": ("B_opt",)}[self.which]
        return [f"{q}(N={a:.3g}, D={b:.3g})" for q in names for a, b in zip(n, d, strict=True)]


@dataclass(frozen=True)
class AllParameters(Target):
    """All of the law's parameters: information about theta itself (no interval widths)."""

    def draws(self, fit, seed=0):
        return None

    def labels(self):
        return []


def _target_draws(fit, target, seed):
    """(draws (S, T) or None for all parameters, labels)."""
    if isinstance(target, Target):
        targets = [target]
    elif isinstance(target, list | tuple) and target and all(isinstance(t, Target) for t in target):
        targets = list(target)
    else:
        raise ValueError(
            "target must be a bayeslaws.design target (Loss, NOpt, HyperparamOpt, AllParameters) "
            f"or a non-empty list of them, got {target!r}"
        )
    if any(isinstance(t, AllParameters) for t in targets):
        if len(targets) > 1:
            raise ValueError("target: AllParameters() cannot be combined with other targets")
        return None, []
    draws = [t.draws(fit, seed) for t in targets]
    labels = [lab for t in targets for lab in t.labels()]
    out = np.concatenate(draws, axis=1)
    if not np.all(np.isfinite(out)):
        raise ValueError("target draws are not finite (is the target inside the law's domain?)")
    return out, labels


# ---- candidates --------------------------------------------------------------------------------
def isoflop_candidates(
    C,
    n_per_budget: int = 9,
    *,
    center=None,
    spread_decades: float = 1.0,
    tokens_per_param: float = 20.0,
    fit=None,
    compute_model=None,
) -> pd.DataFrame:
    """Candidate runs on isoFLOP lines: ``n_per_budget`` sizes per budget C (FLOPs).

    Sizes are log-spaced over ``center * 10**[-spread_decades, +spread_decades]``; ``center``
    per budget defaults to the fit's posterior median N_opt(C) when ``fit`` is given, else the
    size with ``tokens_per_param`` tokens per parameter (20: Chinchilla's rule). D from the
    compute model (``compute_model``, else the fit's, else 6ND).
    """
    from .compute import as_compute_model

    C = _positive("C", C)
    n = _pos_int("n_per_budget", n_per_budget, 1)
    if not np.isfinite(spread_decades) or spread_decades < 0:
        raise ValueError(f"spread_decades must be >= 0, got {spread_decades!r}")
    _positive("tokens_per_param", tokens_per_param)
    if compute_model is None and fit is not None:
        model = fit.compute_model
    else:
        model = as_compute_model(compute_model)
    if center is not None:
        centre = np.broadcast_to(_positive("center", center), C.shape).astype(float)
    elif fit is not None:
        from .allocation import allocation_draws

        centre = np.median(allocation_draws(fit, C, model)["N_opt"], axis=0)
    else:
        centre = _size_at_ratio(model, C, float(tokens_per_param))
    offsets = np.linspace(-spread_decades, spread_decades, n) if n > 1 else np.zeros(1)
    N = (centre[:, None] * 10.0 ** offsets[None, :]).ravel()
    Cs = np.repeat(C, n)
    D = np.asarray(model.tokens(N, Cs), float)
    return pd.DataFrame({"N": N, "D": D, "C": Cs})


def _size_at_ratio(model, C, tokens_per_param):
    """N with flops(N, tokens_per_param * N) = C (bisection in ln N)."""
    lo, hi = np.zeros_like(C), np.full_like(C, np.log(1e18))
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        big = model.flops(np.exp(mid), tokens_per_param * np.exp(mid)) > C
        hi, lo = np.where(big, mid, hi), np.where(big, lo, mid)
    return np.exp(0.5 * (lo + hi))


def hyperparameter_candidates(
    N,
    D,
    *,
    fit=None,
    lr=None,
    batch_size=None,
    n_lr: int = 5,
    n_batch: int = 3,
    lr_step: float = 1.5,
    batch_step: float = 2.0,
    per_cell: bool = True,
) -> pd.DataFrame:
    """LR x batch sweeps at (N, D) cells (pairs, broadcast), as candidates.

    Grids are ``lr`` / ``batch_size`` if given (shared 1-d grids), else ``n_lr`` (``n_batch``)
    values stepped by ``lr_step`` (``batch_step``) around the fit's predicted eta_opt (B_opt) at
    each cell (``fit`` of law "hyperparams" required then). ``per_cell=True`` (default) makes each
    cell's sweep one candidate (column ``unit``): a single run in an unseen cell carries no
    information while the cell's loss level is unknown. ``per_cell=False``: every run its own.
    """
    Ns, Ds = np.broadcast_arrays(_positive("N", N), _positive("D", D))
    if (lr is None or batch_size is None) and (fit is None or not _is_hyperparams(fit)):
        raise ValueError(
            "fit (of law 'hyperparams') is required unless lr and batch_size are given"
        )
    rows = []
    for i, (n, d) in enumerate(zip(Ns, Ds, strict=True)):
        if lr is None or batch_size is None:
            from .laws.hyperparams import HyperparamsLaw

            opt = HyperparamsLaw.from_fit(fit).optimum_draws(fit, [n], [d])
            eta_c = float(np.exp(np.median(opt["log_eta"])))
            b_c = float(np.exp(np.median(opt["log_B"])))
        lrs = (
            _positive("lr", lr)
            if lr is not None
            else eta_c * lr_step ** (np.arange(_pos_int("n_lr", n_lr)) - (n_lr - 1) / 2)
        )
        bss = (
            _positive("batch_size", batch_size)
            if batch_size is not None
            else b_c * batch_step ** (np.arange(_pos_int("n_batch", n_batch)) - (n_batch - 1) / 2)
        )
        for b in bss:
            for r in lrs:
                rows.append({"N": n, "D": d, "lr": r, "batch_size": b, "unit": i})
    out = pd.DataFrame(rows)
    out["C"] = (
        6.0 * out["N"] * out["D"] if fit is None else fit.compute_model.flops(out["N"], out["D"])
    )
    if not per_cell:
        out["unit"] = np.arange(len(out))
    return out[["N", "D", "C", "lr", "batch_size", "unit"]]


def _check_candidates(fit, cands) -> pd.DataFrame:
    if not isinstance(cands, pd.DataFrame):
        raise ValueError(f"cands must be a pandas DataFrame of candidate runs, got {type(cands)}")
    if cands.empty:
        raise ValueError("cands has no rows")
    df = cands.reset_index(drop=True).copy()
    given = [c for c in ("N", "D", "C") if c in df]
    if "N" not in df or len(given) < 2:
        raise ValueError(f"cands needs column N and one of D, C; it has {list(cands.columns)}")
    for col in given:
        _positive(f"cands[{col!r}]", df[col].to_numpy())
    model = fit.compute_model
    if "D" not in df:
        df["D"] = model.tokens(df["N"], df["C"])
    if "C" not in df:
        df["C"] = model.flops(df["N"], df["D"])
    if _is_hyperparams(fit):
        for col in ("lr", "batch_size"):
            if col not in df:
                raise ValueError(f"cands needs column {col!r} for a fit of law 'hyperparams'")
            _positive(f"cands[{col!r}]", df[col].to_numpy())
    return df


def _units(df: pd.DataFrame):
    """(unit labels in order of first appearance, index matrix (U, m) padded with -1)."""
    if "unit" not in df:
        return np.arange(len(df)), np.arange(len(df))[:, None]
    codes, labels = pd.factorize(df["unit"], sort=False)
    U = len(labels)
    sizes = np.bincount(codes, minlength=U)
    m = int(sizes.max())
    idx = -np.ones((U, m), dtype=np.int64)
    fill = np.zeros(U, dtype=np.int64)
    for row, u in enumerate(codes):
        idx[u, fill[u]] = row
        fill[u] += 1
    return np.asarray(labels), idx


# ---- predictions of candidate outcomes --------------------------------------------------------
@dataclass
class Predictions:
    """Posterior draws of candidate outcomes (log loss, the fit's centring) and noise."""

    F: np.ndarray  # (S, R) mean log loss per draw and candidate row
    sigma: np.ndarray  # (S,) noise scale per draw
    nu: np.ndarray | None  # (S,) Student-t dof or None
    family: str
    noise_var: float  # posterior mean noise variance (Gaussian estimator)
    nuisance: np.ndarray  # (R,) nuisance level variance of the row's cell (0: known level)


def _family_var_factor(family: str, nu=None):
    """Variance of the family's unit-scale noise (per draw for Student-t)."""
    if family == "gaussian":
        return 1.0
    if family == "student_t":
        nu = np.asarray(nu, float)
        return np.where(nu > 2.0, nu / np.maximum(nu - 2.0, 1e-9), 1e3)
    return _huber_var()


@functools.lru_cache(maxsize=1)
def _huber_var() -> float:
    from jax.scipy.special import ndtr

    from .likelihoods import HUBER_DELTA

    d = HUBER_DELTA
    u = np.linspace(-60, 60, 240001)
    dens = np.exp(-np.where(np.abs(u) <= d, 0.5 * u**2, d * np.abs(u) - 0.5 * d**2))
    dens /= float(np.sqrt(2 * np.pi) * (2 * ndtr(d) - 1) + 2 * np.exp(-0.5 * d**2) / d)
    return float(np.trapezoid(u**2 * dens, u))


def _predictions(fit, df: pd.DataFrame, seed: int, group=None) -> Predictions:
    post = fit.draws()
    sigma = np.asarray(post["sigma"], float)
    nu = np.asarray(post["nu"], float) if "nu" in post else None
    family = fit.likelihood
    noise_var = float(np.mean(sigma**2 * _family_var_factor(family, nu)))
    if _is_hyperparams(fit):
        F, nuisance = _hp_predictions(fit, df, post, seed)
    else:
        from .predict import log_loss_draws

        points = df[["N", "D"]].astype(float)
        F = np.asarray(log_loss_draws(fit, points, "mean", group, seed), float)
        if "scales" in fit.spec and "log_L_ref" in fit.spec["scales"]:
            F = F - fit.spec["scales"]["log_L_ref"]  # observations are on the centred scale
        nuisance = np.zeros(len(df))
    return Predictions(F, sigma, nu, family, noise_var, nuisance)


def _hp_predictions(fit, df, post, seed):
    from .laws.hyperparams import HPScales, HyperparamsLaw

    if len(fit.spec.get("groups", [None])) > 1:
        raise NotImplementedError("design for grouped hyperparameter fits is not implemented")
    law = HyperparamsLaw.from_fit(fit)
    sc = HPScales(**fit.spec["scales"])
    rng = np.random.default_rng(seed)
    theta = {k: np.asarray(v, float)[:, None] for k, v in post.items() if np.ndim(v) == 1}
    S = len(post["sigma"])
    N, D = df["N"].to_numpy(float), df["D"].to_numpy(float)
    x, y = np.log(N) - sc.log_N_ref, np.log(D) - sc.log_D_ref
    m_lr, m_b = (np.asarray(a) for a in law.centre_law(theta, x[None, :], y[None, :]))
    cells = fit.spec["cells"]
    cN, cD = np.asarray(cells["N"]), np.asarray(cells["D"])
    level = np.zeros((S, len(df)))
    nuisance = np.zeros(len(df))
    new_cells: dict = {}
    z_lr, z_b = np.asarray(post["z_lr"]), np.asarray(post["z_batch"])
    for j in range(len(df)):
        hit = np.where(np.isclose(cN, N[j], rtol=1e-6) & np.isclose(cD, D[j], rtol=1e-6))[0]
        if hit.size:
            c = hit[0]
            m_lr[:, j] += post["lr_scatter"] * z_lr[:, c]
            m_b[:, j] += post["batch_scatter"] * z_b[:, c]
            level[:, j] = post["level"][:, c]
        else:
            key = (round(float(np.log(N[j])), 9), round(float(np.log(D[j])), 9))
            if key not in new_cells:
                new_cells[key] = rng.standard_normal((2, S))
            z = new_cells[key]
            m_lr[:, j] += post["lr_scatter"] * z[0]
            m_b[:, j] += post["batch_scatter"] * z[1]
            nuisance[j] = NEW_CELL_LEVEL_VAR
    u = np.log(df["lr"].to_numpy(float))[None, :] - sc.log_lr_ref - m_lr
    v = np.log(df["batch_size"].to_numpy(float))[None, :] - sc.log_B_ref - m_b
    bowl = np.asarray(law.bowl_value(theta, u, v), float)
    return level + bowl, nuisance


# ---- Gaussian estimator (JAX, float64) ---------------------------------------------------------
def _logdet(a):
    return 2.0 * jnp.sum(jnp.log(jnp.diagonal(jnp.linalg.cholesky(a), axis1=-2, axis2=-1)), -1)


@functools.partial(jax.jit, static_argnums=(5,))
def _unit_gains(A, W, idx, noise_row, nuis, n_target):
    """Gaussian information of every unit given the conditioning rows W.

    A (S, T + R): centred draws / sqrt(S - 1) of [target | predictions]; W (K, T + R) low-rank
    conditioning; idx (U, m) row indices (into R; padded rows point to row 0 with huge noise);
    noise_row (U, m); nuis (U,) nuisance level variance. n_target: T (0 -> all parameters).
    Returns (gains (U,), posterior target variances after each unit alone (U, T) or zeros).
    """
    Fa = A[:, n_target:][:, idx]  # (S, U, m)
    Fw = W[:, n_target:][:, idx]  # (K, U, m)
    m = idx.shape[1]
    B = jnp.einsum("sui,suj->uij", Fa, Fa) - jnp.einsum("kui,kuj->uij", Fw, Fw)
    noise = jax.vmap(jnp.diag)(noise_row) + nuis[:, None, None] * jnp.ones((m, m))
    B = B + noise
    if n_target == 0:
        gains = 0.5 * (_logdet(B) - _logdet(noise))
        return gains, jnp.zeros((idx.shape[0], 1))
    Ta, Tw = A[:, :n_target], W[:, :n_target]
    St = Ta.T @ Ta - Tw.T @ Tw  # (T, T)
    Cx = jnp.einsum("st,sui->uti", Ta, Fa) - jnp.einsum("kt,kui->uti", Tw, Fw)  # (U, T, m)
    L = jnp.linalg.cholesky(B)
    Z = jax.scipy.linalg.solve_triangular(L, jnp.swapaxes(Cx, 1, 2), lower=True)  # (U, m, T)
    post = St[None] - jnp.einsum("umt,ums->uts", Z, Z)
    gains = 0.5 * (_logdet(St) - _logdet(post))
    return gains, jnp.diagonal(post, axis1=1, axis2=2)


@jax.jit
def _condition_rows(A, W, rows, noise, nuis):
    """New low-rank rows (m, T + R) after observing candidate rows at columns ``rows`` of A
    (row index + T)."""
    Ar, Wr = A[:, rows], W[:, rows]  # (S, m), (K, m)
    G = A.T @ Ar - W.T @ Wr  # (T + R, m): Cov(everything, f_rows)
    m = rows.shape[0]
    B = Ar.T @ Ar - Wr.T @ Wr + jnp.diag(noise) + nuis * jnp.ones((m, m))
    L = jnp.linalg.cholesky(B)
    return jax.scipy.linalg.solve_triangular(L, G.T, lower=True)  # (m, T + R)


def _centred(x):
    x = np.asarray(x, float)
    return (x - x.mean(axis=0)) / np.sqrt(max(len(x) - 1, 1))


# ---- guardrails ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Guardrails:
    """Rules a greedy batch obeys (each can be switched off).

    max_repeats : picks of one design point (same N, D and lr, batch_size if present) per batch;
        None = no cap. Default 1.
    ratio_diversity : never a batch of >= 2 runs whose tokens per parameter D/N all lie within a
        factor ``ratio_tol`` of each other (an ill-conditioned design): the last pick is then
        restricted to other ratios. Default True.
    ratio_tol : the factor that counts as "one ratio" (default 1.5).
    min_size_spread : if set, the batch's model sizes must span at least this factor (max N /
        min N), enforced at the last pick. Default None (off).
    """

    max_repeats: int | None = 1
    ratio_diversity: bool = True
    ratio_tol: float = 1.5
    min_size_spread: float | None = None

    def __post_init__(self):
        if self.max_repeats is not None:
            _pos_int("max_repeats", self.max_repeats)
        if not self.ratio_tol > 1:
            raise ValueError(f"ratio_tol must be > 1, got {self.ratio_tol!r}")
        if self.min_size_spread is not None and not self.min_size_spread >= 1:
            raise ValueError(f"min_size_spread must be >= 1 or None, got {self.min_size_spread!r}")


def _design_keys(df, idx):
    cols = [c for c in ("N", "D", "lr", "batch_size") if c in df]
    rows = df[cols].to_numpy(float)
    keys = []
    for r in idx:
        r = r[r >= 0]
        keys.append(tuple(np.round(np.log(rows[r]), 6).ravel().tolist()))
    return keys


def _allowed(g: Guardrails, picked, keys, ratio, sizes, remaining):
    """Boolean mask of units allowed as the next pick."""
    U = len(keys)
    ok = np.ones(U, bool)
    if g.max_repeats is not None:
        counts: dict = {}
        for p in picked:
            counts[keys[p]] = counts.get(keys[p], 0) + 1
        ok &= np.array([counts.get(k, 0) < g.max_repeats for k in keys])
    last = remaining == 1 and len(picked) >= 1
    if last and g.ratio_diversity:
        pr = np.log(ratio[picked])
        if pr.max() - pr.min() <= np.log(g.ratio_tol):
            centre = 0.5 * (pr.max() + pr.min())
            ok &= np.abs(np.log(ratio) - centre) > np.log(g.ratio_tol)
    if last and g.min_size_spread is not None:
        ps = np.log(sizes[picked])
        lo = np.minimum(ps.min(), np.log(sizes))
        hi = np.maximum(ps.max(), np.log(sizes))
        ok &= hi - lo >= np.log(g.min_size_spread) - 1e-12
    return ok


# ---- costs -------------------------------------------------------------------------------------
def _costs(fit, df, idx, cost):
    valid = idx >= 0
    flops_row = np.asarray(fit.compute_model.flops(df["N"], df["D"]), float)
    flops = np.where(valid, flops_row[np.maximum(idx, 0)], 0.0).sum(axis=1)
    if cost is None:
        return flops, None, "none"
    if isinstance(cost, str) and cost == "flops":
        return flops, flops, "flops"
    if isinstance(cost, str):
        if cost not in df:
            raise ValueError(f"cost={cost!r} is neither 'flops' nor a column of cands {list(df)}")
        col = _positive(f"cands[{cost!r}]", df[cost].to_numpy())
        return flops, np.where(valid, col[np.maximum(idx, 0)], 0.0).sum(axis=1), cost
    raise ValueError(f"cost must be 'flops', a column name of cands, or None; got {cost!r}")


# ---- the ranking and the greedy batch ------------------------------------------------------------
def _setup(fit, cands, target, seed, max_draws):
    df = _check_candidates(fit, cands)
    labels, idx = _units(df)
    tdraws, tlabels = _target_draws(fit, target, seed)
    pred = _predictions(fit, df, seed)
    F = pred.F
    S = F.shape[0]
    if max_draws is not None:
        _pos_int("max_draws", max_draws, 2)
        if S > max_draws:
            sel = np.random.default_rng(seed).choice(S, max_draws, replace=False)
            F = F[sel]
            tdraws = None if tdraws is None else tdraws[sel]
            pred = Predictions(
                F,
                pred.sigma[sel],
                None if pred.nu is None else pred.nu[sel],
                pred.family,
                pred.noise_var,
                pred.nuisance,
            )
    n_target = 0 if tdraws is None else tdraws.shape[1]
    A = _centred(F if tdraws is None else np.concatenate([tdraws, F], axis=1))
    noise_row = np.where(idx >= 0, pred.noise_var, PAD_NOISE)
    nuis = np.array([pred.nuisance[r[r >= 0]].max() for r in idx])
    return df, labels, idx, tdraws, tlabels, pred, A, n_target, noise_row, nuis


def _widths(tdraws, ci):
    if tdraws is None:
        return None
    lo, hi = np.quantile(np.exp(tdraws), [(1 - ci) / 2, (1 + ci) / 2], axis=0)
    return hi - lo


def rank_candidates(
    fit, cands, target=None, *, cost="flops", seed: int = 0, max_draws=None, ci: float = 0.9
) -> pd.DataFrame:
    """Every candidate's expected information alone (Gaussian estimator), best first.

    Columns: the candidate's columns (first row of a unit), unit, n_runs, info (nats), flops,
    cost, info_per_flop, info_per_cost, width_now_* and width_after_* per target component
    (central ``ci`` interval on the natural scale; after = expected under the Gaussian
    approximation), sorted by info per cost (info alone with ``cost=None``).
    """
    target = AllParameters() if target is None else target
    df, labels, idx, tdraws, tlabels, pred, A, T, noise_row, nuis = _setup(
        fit, cands, target, seed, max_draws
    )
    flops, costs, cost_name = _costs(fit, df, idx, cost)
    with jax.enable_x64(True):
        W = jnp.zeros((1, A.shape[1]))
        gains, post_var = _unit_gains(
            jnp.asarray(A),
            W,
            jnp.asarray(np.maximum(idx, 0)),
            jnp.asarray(noise_row),
            jnp.asarray(nuis),
            T,
        )
        gains, post_var = np.asarray(gains), np.asarray(post_var)
    out = df.iloc[idx[:, 0]].reset_index(drop=True)
    out["unit"] = labels
    out["n_runs"] = (idx >= 0).sum(axis=1)
    out["info"] = gains
    out["flops"] = flops
    out["cost"] = flops if costs is None else costs
    out["info_per_flop"] = gains / flops
    if costs is not None and cost_name != "flops":
        out["info_per_cost"] = gains / costs
    widths = _widths(tdraws, ci)
    if widths is not None:
        prior_var = np.var(tdraws, axis=0, ddof=1)
        for j, lab in enumerate(tlabels):
            out[f"width_now[{lab}]"] = widths[j]
            out[f"width_after[{lab}]"] = widths[j] * np.sqrt(
                np.clip(post_var[:, j] / prior_var[j], 0, 1)
            )
    key = (
        "info" if costs is None else ("info_per_flop" if cost_name == "flops" else "info_per_cost")
    )
    return out.sort_values(key, ascending=False, kind="stable").reset_index(drop=True)


def next_runs(
    fit,
    cands,
    target=None,
    *,
    cost="flops",
    k: int = 3,
    estimator: str = "gaussian",
    guardrails: Guardrails | None = None,
    confirm: int = 0,
    seed: int = 0,
    max_draws=None,
    ci: float = 0.9,
) -> pd.DataFrame:
    """The next ``k`` runs (units) to train, chosen greedily with conditioning, best first.

    Parameters
    ----------
    fit : a fitted law (loss surface, isoflop or hyperparams).
    cands : candidate runs (DataFrame; see the module docstring; ``unit`` groups rows).
    target : :class:`Loss`, :class:`NOpt`, :class:`HyperparamOpt`, :class:`AllParameters`
        (default) or a list of targets (joint information).
    cost : "flops" (the compute model), a column of ``cands`` (e.g. GPU-hours), or None (rank
        by information alone). Each pick maximises information gain / cost.
    k : number of units to pick.
    estimator : "gaussian" (the only one fast enough for the greedy batch; see :func:`bounds`
        to confirm with nested Monte Carlo / PCE).
    guardrails : :class:`Guardrails` (default ``Guardrails()``: no repeats in a batch, never a
        batch along one tokens-per-parameter ratio). ``Guardrails(None, False)`` switches off.
    confirm : if > 0, add NMC / PCE / reweighted columns (:func:`bounds`) for the picks (each
        alone, not conditioned on the batch) when ``confirm >= k``.
    seed, max_draws : seeding and thinning of the posterior draws.
    ci : interval mass of the reported widths.

    Returns
    -------
    DataFrame, one row per pick in pick order: the candidate's columns, unit, n_runs, rank,
    info (marginal nats given the earlier picks), cumulative_info, flops, cost, info_per_flop
    (marginal), cumulative_flops, width_now_* and width_after_* (expected width of the target
    interval after this and all earlier picks, Gaussian), guardrail (which rule restricted this
    pick, if any).
    """
    if estimator not in ESTIMATORS:
        raise ValueError(
            f"estimator must be one of {ESTIMATORS} for next_runs (the greedy batch); "
            f"use bounds() for {BOUND_ESTIMATORS}"
        )
    k = _pos_int("k", k)
    guardrails = Guardrails() if guardrails is None else guardrails
    if not isinstance(guardrails, Guardrails):
        raise ValueError(f"guardrails must be a bayeslaws.design.Guardrails, got {guardrails!r}")
    target = AllParameters() if target is None else target
    df, labels, idx, tdraws, tlabels, pred, A, T, noise_row, nuis = _setup(
        fit, cands, target, seed, max_draws
    )
    flops, costs, cost_name = _costs(fit, df, idx, cost)
    U, m = idx.shape
    keys = _design_keys(df, idx)
    ratio = (df["D"] / df["N"]).to_numpy(float)[idx[:, 0]]
    sizes = df["N"].to_numpy(float)[idx[:, 0]]
    picked, rows_out, total = [], [], 0.0
    widths = _widths(tdraws, ci)
    prior_var = None if tdraws is None else np.var(tdraws, axis=0, ddof=1)
    with jax.enable_x64(True):
        Aj = jnp.asarray(A)
        idx_j = jnp.asarray(np.maximum(idx, 0))
        noise_j, nuis_j = jnp.asarray(noise_row), jnp.asarray(nuis)
        W = jnp.zeros((k * m + 1, A.shape[1]))  # fixed shape: one compile per problem size
        n_w = 0
        for step in range(min(k, U)):
            gains, post_var = _unit_gains(Aj, W, idx_j, noise_j, nuis_j, T)
            gains, post_var = np.asarray(gains), np.asarray(post_var)
            score = gains if costs is None else gains / costs
            ok = _allowed(guardrails, picked, keys, ratio, sizes, min(k, U) - step)
            note = ""
            if not ok.any():
                base = _allowed(
                    Guardrails(guardrails.max_repeats, False),
                    picked,
                    keys,
                    ratio,
                    sizes,
                    min(k, U) - step,
                )
                warnings.warn(
                    "no candidate satisfies the ratio/size guardrails for the last pick; "
                    "relaxing them",
                    stacklevel=2,
                )
                ok, note = base, "relaxed"
            elif not ok.all() and np.argmax(np.where(ok, score, -np.inf)) != np.argmax(score):
                note = "restricted"
            if not ok.any():
                break
            u = int(np.argmax(np.where(ok, score, -np.inf)))
            picked.append(u)
            total += gains[u]
            rows = idx[u][idx[u] >= 0]
            newW = _condition_rows(
                Aj, W, jnp.asarray(rows + T), jnp.full(len(rows), pred.noise_var), nuis_j[u]
            )
            W = W.at[n_w : n_w + len(rows)].set(newW)
            n_w += len(rows)
            rec = df.iloc[idx[u, 0]].to_dict()
            rec.update(
                unit=labels[u],
                n_runs=len(rows),
                rank=step + 1,
                info=gains[u],
                cumulative_info=total,
                flops=flops[u],
                cost=flops[u] if costs is None else costs[u],
                info_per_flop=gains[u] / flops[u],
                guardrail=note,
            )
            if widths is not None:
                for j, lab in enumerate(tlabels):
                    rec[f"width_now[{lab}]"] = widths[j]
                    rec[f"width_after[{lab}]"] = widths[j] * np.sqrt(
                        np.clip(post_var[u, j] / prior_var[j], 0, 1)
                    )
            rows_out.append(rec)
    out = pd.DataFrame(rows_out)
    out["cumulative_flops"] = out["flops"].cumsum()
    if confirm:
        _pos_int("confirm", confirm)
        sub = pd.concat([df.iloc[idx[u][idx[u] >= 0]].assign(unit=labels[u]) for u in picked])
        b = bounds(fit, sub, target, seed=seed, max_draws=max_draws)
        for col in ("nmc_all", "pce_all", "reweighted"):
            if col in b:
                out[col] = b[col].to_numpy()
    return out


# ---- nested Monte Carlo / PCE / reweighted -------------------------------------------------------
def _loglik_matrix(key, F, sigma, nu, family, nuis_u, valid, outer, has_nuisance):
    """log p(y_n | theta_m): (n_out, S) for one unit, y_n simulated from outer draw ``outer[n]``.

    F (S, m) predictions of the unit's rows; valid (m,) mask; nuis_u nuisance variance (> 0:
    Gaussian with the shared cell level integrated out, using the family's variance).
    """
    from .likelihoods import observation

    S, m = F.shape
    k1, k2 = jax.random.split(key)
    Fo = F[outer]
    if has_nuisance:
        if family == "student_t":
            factor = jnp.where(nu > 2.0, nu / jnp.maximum(nu - 2.0, 1e-9), 1e3)
        else:
            factor = _family_var_factor(family)
        var = sigma**2 * factor  # (S,)
        level = jnp.sqrt(nuis_u) * jax.random.normal(k1, (len(outer), 1))
        Y = Fo + level + jnp.sqrt(var[outer])[:, None] * jax.random.normal(k2, Fo.shape)
        v = valid.astype(F.dtype)
        mv = v.sum()
        R = (Y[:, None, :] - F[None, :, :]) * v  # (n, S, m)
        vm = var[None, :]
        q = (jnp.sum(R**2, -1) - nuis_u * jnp.sum(R, -1) ** 2 / (vm + mv * nuis_u)) / vm
        logdet = (mv - 1) * jnp.log(vm) + jnp.log(vm + mv * nuis_u)
        return -0.5 * (q + logdet + mv * jnp.log(2 * jnp.pi))
    nu_o = None if nu is None else nu[outer][:, None]
    noise = observation(family, jnp.zeros_like(Fo), sigma[outer][:, None], nu_o)
    Y = Fo + noise.sample(k2)
    nu_i = None if nu is None else nu[None, :, None]
    lp = observation(family, F[None, :, :], sigma[None, :, None], nu_i).log_prob(Y[:, None, :])
    return jnp.sum(jnp.where(valid, lp, 0.0), -1)


@functools.partial(jax.jit, static_argnames=("family", "has_nuisance"))
def _unit_bounds(key, F, sigma, nu, nuis_u, valid, outer, t, *, family, has_nuisance):
    """(NMC, PCE of I(theta; y), reweighted target information or NaN) for one unit."""
    S = F.shape[0]
    ll = _loglik_matrix(key, F, sigma, nu, family, nuis_u, valid, outer, has_nuisance)
    mask = jnp.arange(S)[None, :] == outer[:, None]
    own = jnp.sum(jnp.where(mask, ll, 0.0), axis=1)
    lse_all = jax.scipy.special.logsumexp(ll, axis=1)
    lse_other = jax.scipy.special.logsumexp(jnp.where(mask, -jnp.inf, ll), axis=1)
    nmc = jnp.mean(own - (lse_other - jnp.log(S - 1)))
    pce = jnp.mean(own - (lse_all - jnp.log(S)))
    if t is None:
        return nmc, pce, jnp.nan
    T = t.shape[1]
    w = jax.nn.softmax(ll, axis=1)  # (n, S) posterior weights of the draws given y_n
    mean = w @ t
    cov = jnp.einsum("ns,st,su->ntu", w, t, t) - jnp.einsum("nt,nu->ntu", mean, mean)
    prior = (t.T @ t / (S - 1)).reshape(T, T)
    jitter = 1e-12 * jnp.trace(prior) * jnp.eye(T)
    ld_post = jnp.linalg.slogdet(cov + jitter)[1]
    return nmc, pce, 0.5 * (jnp.linalg.slogdet(prior)[1] - jnp.mean(ld_post))


def bounds(
    fit,
    cands,
    target=None,
    *,
    seed: int = 0,
    max_draws=None,
    n_outer=None,
) -> pd.DataFrame:
    """Nested Monte Carlo (upper bound), PCE (lower bound) of the information about all
    parameters, and the reweighted target estimate, for each candidate unit (alone).

    Uses one log-likelihood matrix per unit: outer draws (``n_outer``, default min(S, 1000))
    with outcomes simulated from the fit's noise family, and every draw as an inner sample.
    Columns: the candidate's columns, unit, gaussian_all (linear-Gaussian, all parameters), nmc_all,
    pce_all, and with a target: gaussian (target) and reweighted (target).
    """
    target = AllParameters() if target is None else target
    df, labels, idx, tdraws, tlabels, pred, A, T, noise_row, nuis = _setup(
        fit, cands, target, seed, max_draws
    )
    F, sigma, nu = pred.F, pred.sigma, pred.nu
    S = F.shape[0]
    n_out = min(S, 1000) if n_outer is None else min(_pos_int("n_outer", n_outer, 2), S)
    outer = np.sort(np.random.default_rng(seed + 1).choice(S, n_out, replace=False))
    out = df.iloc[idx[:, 0]].reset_index(drop=True)
    out["unit"] = labels
    out["n_runs"] = (idx >= 0).sum(axis=1)
    key = jax.random.PRNGKey(seed)
    nmc, pce, rew = [], [], []
    with jax.enable_x64(True):
        t = None if tdraws is None else jnp.asarray(tdraws - tdraws.mean(axis=0))
        for u in range(len(labels)):
            key, sub = jax.random.split(key)
            rows = np.maximum(idx[u], 0)
            stats = _unit_bounds(
                sub,
                jnp.asarray(F[:, rows]),
                jnp.asarray(sigma),
                None if nu is None else jnp.asarray(nu),
                jnp.asarray(float(nuis[u])),
                jnp.asarray(idx[u] >= 0),
                jnp.asarray(outer),
                t,
                family=pred.family,
                has_nuisance=bool(nuis[u] > 0),
            )
            nmc.append(float(stats[0]))
            pce.append(float(stats[1]))
            rew.append(float(stats[2]))
        gaussian_all = np.asarray(
            _unit_gains(
                jnp.asarray(A[:, T:]),
                jnp.zeros((1, A.shape[1] - T)),
                jnp.asarray(np.maximum(idx, 0)),
                jnp.asarray(noise_row),
                jnp.asarray(nuis),
                0,
            )[0]
        )
        if tdraws is not None:
            gaussian_t = np.asarray(
                _unit_gains(
                    jnp.asarray(A),
                    jnp.zeros((1, A.shape[1])),
                    jnp.asarray(np.maximum(idx, 0)),
                    jnp.asarray(noise_row),
                    jnp.asarray(nuis),
                    T,
                )[0]
            )
    out["gaussian_all"] = gaussian_all
    out["nmc_all"] = nmc
    out["pce_all"] = pce
    if tdraws is not None:
        out["gaussian"] = gaussian_t
        out["reweighted"] = rew
    return out


# ---- closed loop: fit -> choose -> simulate ------------------------------------------------
STRATEGIES = ("ours", "ours_no_cost", "random", "grid")
PAPER_SIZES = (0.017e9, 0.057e9, 0.13e9, 0.26e9)  # Yin et al.'s four small models (params)
PAPER_TOKENS = (2e9, 4e9, 8e9, 12e9)  # training tokens per size in the simulated sweep


def paper_grid() -> pd.DataFrame:
    """Yin et al.'s fitting design as (N, D) cells, smallest model first: 4 sizes x 4 budgets."""
    N, D = np.meshgrid(PAPER_SIZES, PAPER_TOKENS, indexing="ij")
    return pd.DataFrame({"N": N.ravel(), "D": D.ravel()})


def campaign_pool() -> pd.DataFrame:
    """The candidate pool of the campaign: 7 sizes (0.017B-0.26B) x 7 token budgets (1B-12B),
    the paper's grid included (the same ranges as the paper: the question is which cells)."""
    sizes = np.unique(np.concatenate([PAPER_SIZES, [0.03e9, 0.09e9, 0.18e9]]))
    tokens = np.unique(np.concatenate([PAPER_TOKENS, [1e9, 3e9, 6e9]]))
    N, D = np.meshgrid(sizes, tokens, indexing="ij")
    return pd.DataFrame({"N": N.ravel(), "D": D.ravel()})


@dataclass
class Campaign:
    """Result of :func:`simulate_campaign`.

    history : one row per (strategy, seed, step, target): n_runs, cumulative_flops, truth,
        median, lower, upper (central ``ci`` interval, natural units), width_rel (interval width
        / truth), error_rel (|median / truth - 1|).
    runs : every run trained, per (strategy, seed): N, D, C, loss, step (0 = start design).
    """

    history: pd.DataFrame
    runs: pd.DataFrame


def _record(fit, targets, truth_values, ci, seed):
    rows = []
    for target, true in zip(targets, truth_values, strict=True):
        draws = np.exp(target.draws(fit, seed))[:, 0]
        lo, med, hi = np.quantile(draws, [(1 - ci) / 2, 0.5, (1 + ci) / 2])
        rows.append(
            {
                "target": target.labels()[0],
                "truth": true,
                "median": med,
                "lower": lo,
                "upper": hi,
                "width_rel": (hi - lo) / true,
                "error_rel": abs(med / true - 1.0),
            }
        )
    return rows


def simulate_campaign(
    strategies=STRATEGIES,
    seeds=(0,),
    *,
    truth=None,
    targets=None,
    start=None,
    pool=None,
    grid=None,
    budget=None,
    batch: int = 2,
    max_steps: int = 12,
    fit_options: dict | None = None,
    max_draws=None,
    ci: float = 0.9,
    log=None,
    checkpoint=None,
) -> Campaign:
    """Closed-loop experimental design against a known truth: fit -> choose -> simulate.

    Every campaign starts from the same small design (``start``, default the paper grid's four
    cheapest cells), fits the Chinchilla law by NUTS, records each target's posterior, picks
    ``batch`` runs by its strategy, simulates their losses from ``truth`` and refits, until the
    next batch would exceed ``budget`` FLOPs (default: the paper grid's total compute) or
    ``max_steps`` batches.

    Strategies: "ours" (greedy information about the joint targets per FLOP, with the default
    guardrails), "ours_no_cost" (information alone), "random" (uniform from the pool) and "grid"
    (the paper's fixed grid, cells in order, smallest model first).

    Parameters
    ----------
    truth : :class:`~bayeslaws.simulate.VideoDiTTruth` (default): losses are
        ``loss_star(N, D) * exp(noise_sd * eps)`` (optimally tuned runs).
    targets : list of targets (default ``[Loss(N=1.07e9, D=1e10), NOpt(C=1e22)]``); each must
        be scalar. The truth's values: ``truth.loss_star`` and ``truth.n_opt``.
    start, pool, grid : DataFrames of (N, D): start design, candidates (default
        :func:`campaign_pool`), the fixed grid (default :func:`paper_grid`).
    fit_options : passed to :func:`bayeslaws.fit` (default gaussian likelihood, 2 chains x
        300 + 300).
    log : a callable taking a message string (progress), or None.
    checkpoint : a callable taking the history DataFrame so far, called after every step.

    Campaigns run in lock step (every campaign has the same number of runs at a step), so the
    compiled NUTS kernel of each data size is reused across strategies and seeds.
    """
    from .inference import fit as fit_law
    from .runs import load_runs
    from .simulate import VideoDiTTruth

    strategies = [strategies] if isinstance(strategies, str) else list(strategies)
    for s in strategies:
        if s not in STRATEGIES:
            raise ValueError(f"strategies: unknown strategy {s!r}; choose from {STRATEGIES}")
    seeds = [seeds] if isinstance(seeds, int | np.integer) else list(seeds)
    if not seeds:
        raise ValueError("seeds must be a non-empty list of integers")
    batch = _pos_int("batch", batch)
    max_steps = _pos_int("max_steps", max_steps, 0)
    truth = VideoDiTTruth() if truth is None else truth
    targets = [Loss(N=1.07e9, D=1e10), NOpt(C=1e22)] if targets is None else list(targets)
    truth_values = []
    for t in targets:
        if isinstance(t, Loss):
            truth_values.append(float(truth.loss_star(t.N, t.D)))
        elif isinstance(t, NOpt):
            truth_values.append(float(truth.n_opt(t.C)))
        else:
            raise ValueError(f"targets: only scalar Loss and NOpt targets are supported, got {t!r}")
    grid = paper_grid() if grid is None else grid[["N", "D"]].reset_index(drop=True)
    start = grid.iloc[[0, 1, 4, 5]] if start is None else start[["N", "D"]]
    start = start.reset_index(drop=True)
    pool = campaign_pool() if pool is None else pool[["N", "D"]].reset_index(drop=True)
    budget = float(truth.flops(grid["N"], grid["D"]).sum()) if budget is None else float(budget)
    opts = {"likelihood": "gaussian", "chains": 2, "warmup": 300, "draws": 300}
    opts.update(fit_options or {})
    opts.setdefault("progress_bar", False)
    opts.setdefault("warn", False)

    def simulate_loss(N, D, rng):
        return truth.loss_star(N, D) * np.exp(truth.noise_sd * rng.standard_normal(len(N)))

    def cell_keys(frame):
        return list(zip(np.round(np.log(frame.N), 6), np.round(np.log(frame.D), 6), strict=True))

    started = set(cell_keys(start))
    grid_rest = grid[[k not in started for k in cell_keys(grid)]].reset_index(drop=True)
    camps = []
    for seed in seeds:
        for s in strategies:
            rng = np.random.default_rng([int(seed), 0])  # same start outcomes for every strategy
            runs = start.assign(loss=simulate_loss(start.N, start.D, rng), step=0)
            camps.append(
                {
                    "strategy": s,
                    "seed": int(seed),
                    "runs": runs,
                    "rng": np.random.default_rng([int(seed), 1 + STRATEGIES.index(s)]),
                    "live": True,
                    "grid_next": 0,
                }
            )
    history = []
    for step in range(max_steps + 1):
        for c in camps:
            if not c["live"]:
                continue
            runs = c["runs"]
            spent = float(truth.flops(runs.N, runs.D).sum())
            table = load_runs(runs[["N", "D", "loss"]].reset_index(drop=True))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = fit_law(table, seed=int(c["seed"]) * 1000 + step, **opts)
            for row in _record(fit, targets, truth_values, ci, seed=0):
                history.append(
                    {
                        "strategy": c["strategy"],
                        "seed": c["seed"],
                        "step": step,
                        "n_runs": len(runs),
                        "cumulative_flops": spent,
                        "divergences": fit.diagnostics.divergences,
                        **row,
                    }
                )
            if step == max_steps:
                continue
            remaining = budget - spent
            s = c["strategy"]
            if s == "grid":
                picks = grid_rest.iloc[c["grid_next"] : c["grid_next"] + batch]
                c["grid_next"] += batch
                if len(picks) < batch:
                    picks = picks.iloc[:0]
            else:
                afford = pool[truth.flops(pool.N, pool.D) <= remaining].reset_index(drop=True)
                if len(afford) < batch:
                    picks = afford.iloc[:0]
                elif s == "random":
                    picks = afford.iloc[c["rng"].choice(len(afford), batch, replace=False)]
                else:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        plan = next_runs(
                            fit,
                            afford,
                            target=targets,
                            cost="flops" if s == "ours" else None,
                            k=batch,
                            max_draws=max_draws,
                        )
                    picks = plan[["N", "D"]]
            cost = float(truth.flops(picks.N, picks.D).sum()) if len(picks) else np.inf
            if len(picks) < batch or cost > remaining * (1 + 1e-9):
                c["live"] = False
                continue
            new = picks[["N", "D"]].assign(
                loss=simulate_loss(picks.N.to_numpy(), picks.D.to_numpy(), c["rng"]), step=step + 1
            )
            c["runs"] = pd.concat([runs, new], ignore_index=True)
        if log is not None:
            live = sum(c["live"] for c in camps)
            log(f"step {step}: {live}/{len(camps)} campaigns live")
        if checkpoint is not None:
            checkpoint(pd.DataFrame(history))
        if not any(c["live"] for c in camps):
            break
    all_runs = pd.concat(
        [c["runs"].assign(strategy=c["strategy"], seed=c["seed"]) for c in camps], ignore_index=True
    )
    all_runs["C"] = truth.flops(all_runs.N, all_runs.D)
    return Campaign(pd.DataFrame(history), all_runs)
