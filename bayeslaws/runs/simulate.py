"""Simulators for scaling-law experiments (pure NumPy; every function takes a seed).

No per-run data were released for either seed paper, so bayeslaws ships *simulated* sweeps whose
ground truth is built to agree with everything the papers did publish (see
``../shared/reference/PAPERS.md``). Every simulator returns a :class:`pandas.DataFrame` in the
canonical run-table columns of :mod:`bayeslaws.runs` plus a ``source`` string naming the
simulator and its seed, so ``load_runs(df)`` accepts it as is (for a truth whose
``flops_per_param_token`` k is not 6, ``load_runs(df, compute_model=k)``: the ``source`` then
ends in `` compute_model=k``, :func:`compute_label`). That string always starts with
"simulated: bayeslaws.runs.simulate." (a caller's own label is appended to it, never put in its
place), which is how a run table knows its rows are SIMULATED
(:attr:`bayeslaws.runs.RunTable.simulated`).

Units everywhere (inputs and outputs, unless a name says otherwise):

==============  =========================================================
``N``           model size, parameters
``D``           training tokens
``C``           training compute, FLOPs, ``C = k N D`` with ``k = truth.flops_per_param_token``
                (6 by default; Chinchilla runs: always 6)
``lr``          constant (peak) learning rate
``batch_size``  batch size in **tokens**
``loss``        validation loss (Yin et al.: an MSE-type DDPM loss, ~0.5)
==============  =========================================================

Contents
--------
* Yin et al. (arXiv 2411.17470, CVPR 2025), video DiT: the published hyperparameter laws
  (:func:`yin_b_opt`, :func:`yin_eta_opt`), a ground truth :class:`VideoDiTTruth` and the
  LR x batch x size x tokens sweep :func:`simulate_video_dit_sweep` built on :func:`simulate_grid`.
* Liang et al. (arXiv 2410.08184), text-to-image DiT: isoFLOP design :func:`simulate_liang_isoflop`
  around the published laws held in :class:`LiangTruth`.
* :func:`simulate_chinchilla_runs`: the Chinchilla form with multiplicative noise (recovery tests);
  its source records the truth, which :func:`chinchilla_truth_from_source` reads back.

Noise is multiplicative: ``loss = truth * exp(noise_sd * eps)`` with ``eps`` standard normal (or,
in :func:`simulate_chinchilla_runs` only, Student-t with ``df`` degrees of freedom), so the
*median* of the observed loss equals the noiseless truth. ``noise_sd`` is the *scale* of
``log(loss) - log(truth)`` (relative): for Gaussian noise (every default) it is its sd; for
Student-t the sd is ``noise_sd * sqrt(df / (df - 2))`` (1.41 ``noise_sd`` at df = 4), infinite
for df <= 2. The draws are not rescaled to make ``noise_sd`` the sd.

Seeds: an int >= 0, or a numpy Generator, used (and advanced) as is. The ``source`` column names
the seed: ``seed=<int>``, or ``seed=Generator(<12 hex digits>)``, the start of the SHA-256 of the
generator's ``bit_generator.state`` before the table was drawn, so tables drawn from different
generator states carry different labels and the same state always gives the same label.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd

from .checks import ArgumentTypeError, UnknownNameError, check_integer, is_integer, is_real
from .published import (  # noqa: F401  (re-exported: the truths below are built on them)
    LIANG_BUDGETS,
    LIANG_LOPT_COEF,
    LIANG_LOPT_EXP,
    LIANG_NOPT_COEF,
    LIANG_NOPT_EXP,
    YIN_ANCHOR_C_0P72B,
    YIN_ANCHOR_L_0P72B_C,
    YIN_ANCHOR_L_1P07B_4B,
    YIN_ANCHOR_L_1P07B_10B,
    YIN_B_COEF,
    YIN_B_EXP_N,
    YIN_B_EXP_T,
    YIN_ETA_COEF,
    YIN_ETA_EXP_N,
    YIN_ETA_EXP_T,
    YIN_NOPT_COEF,
    YIN_NOPT_EXP,
    YIN_UNIT,
    yin_b_opt,
    yin_eta_opt,
)

# The shared hyperparameter ladders of the default sweep (like the paper's 1.07B grid: LR x1.5
# steps through 1.7e-4, batch x2 steps through 81920 = 16 x 5120 tokens).
LR_LADDER_REF = 1.7e-4
LR_LADDER_STEP = 1.5
BATCH_LADDER_REF = 81920.0
BATCH_LADDER_STEP = 2.0


def _check_seed(seed):
    """``seed`` as an int >= 0, or a numpy Generator as is (None is refused: a simulation must
    be reproducible from its arguments)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if not is_integer(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or a numpy Generator, got {seed!r}")
    return int(seed)


def _rng(seed) -> np.random.Generator:
    seed = _check_seed(seed)
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _check_noise_sd(noise_sd) -> float | None:
    """``noise_sd`` (scale of log loss: the sd for Gaussian noise) as a finite float >= 0; None
    stays None (the default)."""
    if noise_sd is None:
        return None
    if not is_real(noise_sd) or not np.isfinite(noise_sd) or noise_sd < 0:
        raise ValueError(f"noise_sd must be a finite number >= 0, got {noise_sd!r}")
    return float(noise_sd)


def _check_nonnegative(name: str, value) -> float:
    """``value`` as a finite float >= 0."""
    if not is_real(value) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _positive_values(name: str, values, what: str) -> np.ndarray:
    """``values`` as a float array of finite values > 0 (``what``: their unit), at least one."""
    try:
        arr = np.asarray(values, float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers ({what}), got {values!r}") from None
    bad = ~np.isfinite(arr) | (arr <= 0)
    if arr.size == 0 or bad.any():
        shown = arr[bad][:3].tolist() if arr.size else "nothing"
        raise ValueError(f"{name} must be finite and positive ({what}); got {shown}")
    return arr


def _positive_list(name: str, values, what: str) -> list[float]:
    """``values`` (a number or a 1-D sequence, checked by :func:`_positive_values`) as a list of
    floats: a scalar is a one-value list; a 2-D or deeper array is a ValueError naming ``name``."""
    arr = np.atleast_1d(_positive_values(name, values, what))
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be a number or a 1-D sequence ({what}), got an array of shape "
            f"{arr.shape}"
        )
    return arr.tolist()


def _generator_digest(rng: np.random.Generator) -> str:
    """First 12 hex digits of the SHA-256 of ``rng.bit_generator.state`` (arrays as lists)."""
    state = json.dumps(rng.bit_generator.state, sort_keys=True, default=lambda x: x.tolist())
    return hashlib.sha256(state.encode()).hexdigest()[:12]


def _seed_label(seed) -> str:
    """``seed`` for the ``source`` column: the int, or ``Generator(<digest of its state>)``.

    Call it before drawing from a Generator: the label names the state the table starts from.
    """
    if isinstance(seed, np.random.Generator):
        return f"Generator({_generator_digest(seed)})"
    return str(seed)


def _check_fields(truth, names, minimum=None, strict=False, what="") -> None:
    """Each field in ``names`` of ``truth`` must be a finite number (> or >= ``minimum``)."""
    for name in names:
        value = getattr(truth, name)
        ok = is_real(value) and bool(np.isfinite(value))
        if ok and minimum is not None:
            ok = value > minimum if strict else value >= minimum
        if not ok:
            bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum:g}"
            meaning = f" ({what})" if what else ""
            raise ValueError(
                f"{type(truth).__name__}.{name} must be a finite number{bound}{meaning}, "
                f"got {value!r}"
            )


@dataclass(frozen=True)
class VideoDiTTruth:
    """Ground truth of the simulated video-DiT sweep (everything the simulator uses).

    Loss under optimal hyperparameters (Chinchilla form; N params, D tokens)::

        L*(N, D) = E + A / N**alpha + B / D**beta

    Hyperparameter optima: Yin et al.'s published laws (constants below; N, T in billions inside
    the laws, batch in tokens). Loss at any (lr, batch)::

        loss = L*(N, D) + k_lr(u) u**2 + k_batch v**2 + k_cross u v,
        u = ln(lr / eta_opt(N, D)),  v = ln(batch / B_opt(N, D)),
        k_lr(u) = k_lr for u <= 0 and k_lr * (1 + lr_asymmetry) for u > 0.

    The bowl is convex with its minimum exactly at (eta_opt, B_opt) (requires
    ``k_lr * k_batch > k_cross**2 / 4``, checked on construction). Also checked (ValueError naming
    the field): A, B, alpha, beta, hp_unit, the two law coefficients, k_lr, k_batch and
    flops_per_param_token finite and > 0; E and noise_sd finite and >= 0; the law exponents and
    k_cross finite; lr_asymmetry finite and > -1.

    How the surface constants were chosen (solved once with scipy, then hard-coded; the tests
    recompute every anchor from these numbers):

    (a) L*(1.07e9, 1e10) = 0.51266, Yin et al.'s predicted loss at 10B tokens;
    (b) L*(0.72e9, 5.85e20 / (6 * 0.72e9) = 1.354e11 tokens) = 0.50352;
    (c) under C = 6ND the compute-optimal size is N_opt = G (C/6)**(beta/(alpha+beta)) with
        G = (alpha A / (beta B))**(1/(alpha+beta)); we match the earlier-version law
        N_opt = 0.8705 C**0.4294 (beta/(alpha+beta) = 0.4294, G = 0.8705 * 6**0.4294), the one
        that reproduces the paper's annotations 0.72B at 5.85e20 and 2.43e9 at 1e22. The later
        law 1.5787 C**0.4146 is not what this truth implies;
    (e) the remaining degree of freedom: L*(1.07e9, 4e9) = 0.5185, the paper's annotated
        predicted optimum on its 4B-token grid.
    Check (d): the small models (0.017B-0.26B, 2B-12B tokens) then have L* in 0.516-0.547, and
    moving N by +-30% at fixed compute changes the loss by 0.01-0.04% (C from 1e19 to 1e21; the
    paper: "under 1%").

    Bowl and noise (``benchmarks/yin_grid_bowl.py`` -> ``benchmarks/output/yin_grid_bowl.txt``):
    least squares of the bowl on the paper's 1.07B grid (PAPERS.md; 36 cells,
    free loss offset per token budget, asymmetry fixed at 0.5) gives k_lr = 0.00046,
    k_batch = 0.0016, k_cross = -0.00126 with residual rms 0.00038 (0.07% relative); the
    constants above are these rounded (k_lr 0.0005, k_cross -0.0012). The cross term (optimal
    LR rises with batch size) halves the residual of an axis-aligned bowl (0.0008). The grid
    cannot resolve an LR asymmetry (its LR range is only about -0.9..+1.2 in u; a free fit finds
    none of the assumed kind, if anything a shallower side above); 0.5 (50% steeper above the
    optimum, as high LR eventually diverges) is an assumption, not a fit.
    ``noise_sd = 7e-4`` (relative; ~0.00036 absolute at loss 0.52) sits between the cell-to-cell
    noise the grid's LR second differences imply (their rms over the 24 of them is 0.00076
    absolute; independent noise of sd s gives second differences of rms sqrt(6) s, so s ~
    0.0003) and the bowl-fit residual (~0.0004).
    Measured grid losses at 4B tokens sit ~0.0009 above L* (the paper's own prediction was
    below all its 4B cells), which this truth does not reproduce.
    """

    # loss surface under optimal hyperparameters: N params, D tokens
    E: float = 0.48829951
    A: float = 19.736979
    B: float = 16.988118
    alpha: float = 0.39290020
    beta: float = 0.29567358
    # Yin et al. hyperparameter laws (N, T in units of ``hp_unit``; batch in tokens)
    hp_unit: float = YIN_UNIT
    b_coef: float = YIN_B_COEF
    b_exp_T: float = YIN_B_EXP_T
    b_exp_N: float = YIN_B_EXP_N
    eta_coef: float = YIN_ETA_COEF
    eta_exp_T: float = YIN_ETA_EXP_T
    eta_exp_N: float = YIN_ETA_EXP_N
    # bowl in (u, v) = (ln lr/eta_opt, ln batch/B_opt), in loss units
    k_lr: float = 0.0005
    k_batch: float = 0.0016
    k_cross: float = -0.0012
    lr_asymmetry: float = 0.5
    # multiplicative lognormal noise: sd of log(loss) around the truth (relative)
    noise_sd: float = 7e-4
    flops_per_param_token: float = 6.0

    def __post_init__(self):
        positive = ("A", "B", "alpha", "beta", "hp_unit", "b_coef", "eta_coef", "k_lr", "k_batch")
        _check_fields(self, positive + ("flops_per_param_token",), 0, strict=True)
        _check_fields(self, ("E", "noise_sd"), 0)
        exponents = ("b_exp_T", "b_exp_N", "eta_exp_T", "eta_exp_N")
        _check_fields(self, exponents + ("k_cross", "lr_asymmetry"))
        if self.lr_asymmetry <= -1:
            raise ValueError("lr_asymmetry must be > -1 (curvature above the optimum > 0)")
        k_low = self.k_lr * min(1.0, 1.0 + self.lr_asymmetry)
        if k_low * self.k_batch <= self.k_cross**2 / 4:
            raise ValueError("bowl is not convex: need k_lr * k_batch > k_cross**2 / 4")

    # -- loss surface ---------------------------------------------------------------------------
    def loss_star(self, N, D):
        """Loss under optimal hyperparameters, L*(N, D); N params, D tokens (broadcast)."""
        N = np.asarray(N, float)
        D = np.asarray(D, float)
        return self.E + self.A / N**self.alpha + self.B / D**self.beta

    @property
    def n_opt_exponent(self) -> float:
        """a = beta / (alpha + beta) in N_opt proportional to C**a."""
        return self.beta / (self.alpha + self.beta)

    @property
    def n_opt_G(self) -> float:
        """G in N_opt = G (C/k)**a, G = (alpha A / (beta B))**(1/(alpha+beta)) (k =
        ``flops_per_param_token``, FLOPs per parameter per token)."""
        return (self.alpha * self.A / (self.beta * self.B)) ** (1.0 / (self.alpha + self.beta))

    def n_opt(self, C):
        """Compute-optimal size (params) at C FLOPs under C = k N D (k =
        ``flops_per_param_token``, 6 by default), from the surface."""
        C = np.asarray(C, float)
        return self.n_opt_G * (C / self.flops_per_param_token) ** self.n_opt_exponent

    def d_opt(self, C):
        """Compute-optimal tokens at C FLOPs: C / (k N_opt)."""
        return np.asarray(C, float) / (self.flops_per_param_token * self.n_opt(C))

    def flops(self, N, D):
        """Training FLOPs, C = k N D (k = ``flops_per_param_token``, 6 by default)."""
        return self.flops_per_param_token * np.asarray(N, float) * np.asarray(D, float)

    # -- hyperparameter laws --------------------------------------------------------------------
    def b_opt(self, N, D):
        """Optimal batch size in tokens at N params, D tokens."""
        n = np.asarray(N, float) / self.hp_unit
        t = np.asarray(D, float) / self.hp_unit
        return self.b_coef * t**self.b_exp_T * n**self.b_exp_N

    def eta_opt(self, N, D):
        """Optimal constant learning rate at N params, D tokens."""
        n = np.asarray(N, float) / self.hp_unit
        t = np.asarray(D, float) / self.hp_unit
        return self.eta_coef * t**self.eta_exp_T * n**self.eta_exp_N

    def bowl(self, N, D, lr, batch_size):
        """Loss excess over L*(N, D) at (lr, batch_size in tokens); >= 0, 0 at the optimum."""
        u = np.log(np.asarray(lr, float) / self.eta_opt(N, D))
        v = np.log(np.asarray(batch_size, float) / self.b_opt(N, D))
        k_u = np.where(u > 0, self.k_lr * (1.0 + self.lr_asymmetry), self.k_lr)
        return k_u * u**2 + self.k_batch * v**2 + self.k_cross * u * v

    def loss(self, N, D, lr, batch_size):
        """Noiseless loss at N params, D tokens, learning rate lr, batch in tokens (broadcast)."""
        return self.loss_star(N, D) + self.bowl(N, D, lr, batch_size)


TRUTH_FIELD = re.compile(r"\btruth=VideoDiTTruth\(([^)]*)\)")
VIDEO_DIT_SIMULATORS = ("simulate_video_dit_sweep", "simulate_grid")
LABEL_FIELD = " label="  # a caller's label in a simulated ``source`` (:func:`with_label`)


def truth_label(truth) -> str:
    """The truth's part of a simulated table's ``source``: "" for the default truth (so the
    bundled sweep's label, written before truths were recorded, still reads as the default),
    else `` truth=VideoDiTTruth(alpha=0.3, eta_coef=0.0004)``: each field that differs from its
    default, as its exact float repr (:func:`truth_from_source` rebuilds a video-DiT truth from
    it). ``truth``: a :class:`VideoDiTTruth` or :class:`LiangTruth` (all fields floats)."""
    changed = [
        f"{f.name}={float(getattr(truth, f.name))!r}"
        for f in fields(truth)
        if float(getattr(truth, f.name)) != f.default
    ]
    name = type(truth).__name__
    return f" truth={name}({', '.join(changed)})" if changed else ""


def compute_label(flops_per_param_token: float) -> str:
    """The compute model's part of a simulated table's ``source``: "" for C = 6 N D (what
    ``load_runs`` assumes), else `` compute_model=6.75`` for C = 6.75 N D: the argument with
    which ``bl.load_runs(df, compute_model=6.75)`` accepts the table (without it, load_runs
    checks C against 6 N D and refuses the rows)."""
    k = float(flops_per_param_token)
    return "" if k == 6.0 else f" compute_model={k!r}"


def effective_truth(truth: VideoDiTTruth, noise_sd=None) -> VideoDiTTruth:
    """The truth that made a table: ``truth`` with its noise sd replaced by a ``noise_sd``
    given to the simulator (None: its own)."""
    return truth if noise_sd is None else replace(truth, noise_sd=float(noise_sd))


def truth_from_source(source: str) -> VideoDiTTruth | None:
    """The video-DiT truth a ``source`` text records (:func:`truth_label`): rebuilt from its
    ``truth=VideoDiTTruth(...)`` fields; the default truth when the text names a video-DiT
    simulator (:data:`VIDEO_DIT_SIMULATORS`) and no truth field; None when it names neither.
    A caller's label (:func:`with_label`, after :data:`LABEL_FIELD`) is not read."""
    source = str(source).split(LABEL_FIELD, 1)[0]
    found = TRUTH_FIELD.search(source)
    if found:
        known = {f.name for f in fields(VideoDiTTruth)}
        pairs = [item.split("=", 1) for item in found.group(1).split(",") if item.strip()]
        values = {k.strip(): float(v) for k, v in pairs if k.strip() in known}
        return VideoDiTTruth(**values)
    if any(f"bayeslaws.runs.simulate.{name} " in source for name in VIDEO_DIT_SIMULATORS):
        return VideoDiTTruth()
    return None


def with_label(source: str, label: str | None) -> str:
    """A simulator's ``source`` text (which starts "simulated: bayeslaws.runs.simulate.") with
    a caller's ``label`` appended as `` label='pilot sweep'`` (None: unchanged): the label is
    kept, but never replaces the text that marks the rows SIMULATED. A ``label`` that is not a
    string is an ArgumentTypeError naming ``source=``."""
    if label is None:
        return source
    if not isinstance(label, str):
        raise ArgumentTypeError(
            f"source= takes a label for the simulated rows (a string, appended to their "
            f"'simulated: ...' source), got {type(label).__name__} {label!r}"
        )
    return f"{source}{LABEL_FIELD}{label!r}"


def _per_cell(values, n_cells: int, name: str) -> list[np.ndarray]:
    """A number or 1-D grid shared by all cells, or one grid per cell (list or 2-D array)."""
    try:
        grids = _grids(values, n_cells)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a number, a 1-D grid or one grid per cell, got {values!r}"
        ) from None
    if len(grids) != n_cells:
        raise ValueError(f"{name}: got {len(grids)} grids for {n_cells} cells")
    for grid in grids:
        if grid.ndim != 1 or grid.size == 0 or np.any(~np.isfinite(grid)) or np.any(grid <= 0):
            raise ValueError(f"{name}: each grid must be a non-empty 1-D array of positive values")
    return grids


def _grids(values, n_cells: int) -> list[np.ndarray]:
    """The float grids of :func:`_per_cell`, unchecked (a scalar is a one-value grid)."""
    if isinstance(values, np.ndarray) or np.isscalar(values):
        values = np.atleast_1d(np.asarray(values, float))
        return [values] * n_cells if values.ndim == 1 else list(values)
    if all(np.isscalar(v) for v in values):
        return [np.asarray(values, float)] * n_cells
    return [np.atleast_1d(np.asarray(v, float)) for v in values]


def _cells(N, D) -> tuple[np.ndarray, np.ndarray]:
    """N (params) and D (tokens) of each cell, (n_cells,) each: a number is used for every cell;
    two sequences must have equal lengths (a length-1 sequence is not broadcast). Anything else
    is a ValueError naming N and D."""
    n_arr = _positive_values("N", N, "parameters")
    d_arr = _positive_values("D", D, "tokens")
    if n_arr.ndim > 1 or d_arr.ndim > 1:
        raise ValueError(
            f"N and D must be scalars or 1-D arrays of cells; got N of shape {n_arr.shape} and "
            f"D of shape {d_arr.shape}"
        )
    if n_arr.ndim == 1 and d_arr.ndim == 1 and len(n_arr) != len(d_arr):
        raise ValueError(
            f"N and D must have equal lengths (one entry per cell); got N of length "
            f"{len(n_arr)} and D of length {len(d_arr)} (a number, not a list, is used for "
            "every cell)"
        )
    n_arr, d_arr = np.broadcast_arrays(np.atleast_1d(n_arr), np.atleast_1d(d_arr))
    return n_arr, d_arr


def simulate_grid(
    truth: VideoDiTTruth,
    N,
    D,
    lr_values,
    batch_values,
    seed=0,
    noise_sd: float | None = None,
    source: str | None = None,
) -> pd.DataFrame:
    """Simulate an LR x batch grid at each (N, D) cell.

    Parameters
    ----------
    truth : the ground truth.
    N, D : cells, params and tokens: 1-D sequences of equal length n_cells, or a number (not
        a list) for a value shared by every cell (N=[1e8, 2e8], D=4e9: two cells). Lengths
        that differ (a length-1 list included) raise ValueError naming N and D.
    lr_values : a number or a 1-D grid shared by every cell, or a sequence of n_cells 1-D grids.
    batch_values : same for batch sizes, in tokens.
    seed : int seed >= 0 or a numpy Generator (labelled by a digest of its state; module doc).
    noise_sd : sd of log(loss) around the truth (>= 0, Gaussian); default ``truth.noise_sd``.
    source : a label of the table (e.g. "pilot sweep"), appended to its ``source`` column as
        `` label='pilot sweep'`` (:func:`with_label`). The column always names this function,
        the seed and a truth other than the default (:func:`truth_label`), starting
        "simulated: ", so the rows are SIMULATED wherever they are loaded.

    Bad arguments (sizes or tokens not finite and positive, grids that are not positive
    numbers, a negative or NaN noise_sd, a seed that is not an int >= 0) raise ValueError naming
    the argument.

    Returns
    -------
    DataFrame with one row per (cell, batch, lr), in that order: N, D, C (FLOPs, = k N D with
    k = ``truth.flops_per_param_token``, 6 by default), lr, batch_size (tokens), loss, source.
    ``bl.load_runs(df)`` loads it when k = 6; for another k, ``bl.load_runs(df,
    compute_model=k)`` (the ``source`` then names it: :func:`compute_label`).
    """
    noise_sd = _check_noise_sd(noise_sd)
    _check_seed(seed)
    text = (
        f"simulated: bayeslaws.runs.simulate.simulate_grid seed={_seed_label(seed)}"
        f"{truth_label(effective_truth(truth, noise_sd))}"
        f"{compute_label(truth.flops_per_param_token)}"
    )
    return _grid_runs(
        truth, N, D, lr_values, batch_values, seed, noise_sd, with_label(text, source)
    )


def _grid_runs(truth, N, D, lr_values, batch_values, seed, noise_sd, source: str) -> pd.DataFrame:
    """The table of :func:`simulate_grid` (arguments as there), its ``source`` column
    ``source`` (a simulator's full "simulated: bayeslaws.runs.simulate..." text)."""
    N, D = _cells(N, D)
    lr_grids = _per_cell(lr_values, len(N), "lr_values")
    batch_grids = _per_cell(batch_values, len(N), "batch_values")
    noise_sd = _check_noise_sd(noise_sd)
    sd = truth.noise_sd if noise_sd is None else noise_sd
    rng = _rng(seed)
    cols = {"N": [], "D": [], "lr": [], "batch_size": []}
    for n, d, lrs, bss in zip(N, D, lr_grids, batch_grids, strict=True):
        bb, ll = np.meshgrid(bss, lrs, indexing="ij")
        cols["N"].append(np.full(ll.size, n))
        cols["D"].append(np.full(ll.size, d))
        cols["lr"].append(ll.ravel())
        cols["batch_size"].append(bb.ravel())
    out = {k: np.concatenate(v) for k, v in cols.items()}
    clean = truth.loss(out["N"], out["D"], out["lr"], out["batch_size"])
    loss = clean * np.exp(sd * rng.standard_normal(clean.shape))
    return pd.DataFrame(
        {
            "N": out["N"],
            "D": out["D"],
            "C": truth.flops(out["N"], out["D"]),
            "lr": out["lr"],
            "batch_size": out["batch_size"],
            "loss": loss,
            "source": source,
        }
    )


def ladder_grid(centre: float, ref: float, step: float, n: int, sig: int | None = None):
    """``n`` values of the ladder ``ref * step**k`` whose middle is closest to ``centre``.

    The grid's geometric centre is within half a step of ``centre``. ``sig`` truncates the values
    to that many significant figures: with ref 1.7e-4, step 1.5 and sig 2 this gives the paper's
    LR grid 7.5e-5, 1.1e-4, 1.7e-4, 2.5e-4, 3.8e-4, 5.7e-4.
    """
    pos = np.log(centre / ref) / np.log(step)
    first = int(np.round(pos - (n - 1) / 2))
    values = ref * step ** (first + np.arange(n))
    if sig is not None:
        exponent = np.floor(np.log10(values)) - (sig - 1)
        mantissa = np.floor(values / 10.0**exponent * (1 + 1e-9))
        pairs = zip(mantissa, exponent, strict=True)
        values = np.array([float(f"{int(m)}e{int(e)}") for m, e in pairs])
    return values


def video_dit_grids(
    truth: VideoDiTTruth, N: float, tokens: Sequence[float], n_lr: int = 6, n_batch: int = 6
):
    """The default LR and batch grids for one model size.

    Centred on the size's optimum at the geometric-middle token budget of ``tokens`` and snapped
    to the shared ladders (LR: 1.7e-4 * 1.5**k to 2 significant figures; batch: 81920 * 2**k
    tokens), so sizes share levels. Returns (lr_grid, batch_grid).
    """
    t_mid = float(np.exp(np.mean(np.log(np.asarray(tokens, float)))))
    lr_grid = ladder_grid(truth.eta_opt(N, t_mid), LR_LADDER_REF, LR_LADDER_STEP, n_lr, sig=2)
    batch_grid = ladder_grid(truth.b_opt(N, t_mid), BATCH_LADDER_REF, BATCH_LADDER_STEP, n_batch)
    return lr_grid, batch_grid


def _grid_points(grid_points) -> tuple[int, int]:
    """``grid_points`` checked: two integers >= 1 (LR values, batch values)."""
    if isinstance(grid_points, str) or not isinstance(grid_points, Sequence) or len(
        grid_points
    ) != 2:
        raise ValueError(
            f"grid_points must be two integers (LR values, batch values); got {grid_points!r}"
        )
    n_lr, n_batch = grid_points
    return check_integer("grid_points[0]", n_lr, 1), check_integer("grid_points[1]", n_batch, 1)


def simulate_video_dit_sweep(
    seed=0,
    sizes: float | Sequence[float] = (0.017e9, 0.057e9, 0.13e9, 0.26e9),
    tokens: float | Sequence[float] = (2e9, 4e9, 8e9, 12e9),
    lr_grid=None,
    batch_grid=None,
    noise_sd: float | None = None,
    truth: VideoDiTTruth | None = None,
    grid_points: tuple[int, int] = (6, 6),
) -> pd.DataFrame:
    """A simulated Yin et al. fitting sweep: sizes x token budgets x LR x batch.

    Default: the paper's four small models (params) at 2, 4, 8 and 12 billion tokens (assumed:
    the paper gives a 2B-12B range, and its small-model grids are not public), each with
    a 6-value LR grid (x1.5 steps) and a 6-value batch grid (x2 steps, tokens), like the paper's
    1.07B grid. Grids are per size (see :func:`video_dit_grids`): centred on that size's optimum
    at the middle token budget and snapped to shared ladders. B_opt moves ~4x (2.1 steps)
    between 2B and 12B tokens; six batch values keep every (N, D) cell's optimum at least ~1
    step inside its grid (with five, snapping left the 0.26B model's 2B-token optimum half a
    step from the edge and its grid argmin on the edge). 4 x 4 x 6 x 6 = 576 rows.

    ``lr_grid`` / ``batch_grid``: override with one 1-D grid for all sizes, or a dict
    {size: grid}; a number is a one-value grid. ``grid_points``: (LR values, batch values) of
    the default per-size grids (e.g. (3, 3) for a thinly swept sweep of 9 runs per cell).
    ``noise_sd``: relative sd of the (Gaussian) log
    loss noise, >= 0 (default ``truth.noise_sd`` = 7e-4). ``seed``: an int >= 0 or a numpy
    Generator (labelled by a digest of its state; module doc); sizes (params) and tokens are each
    a number or a 1-D sequence of finite, positive values (else ValueError naming the argument).

    Returns a DataFrame: N, D, C (FLOPs, = k N D with k = ``truth.flops_per_param_token``, 6 by
    default), lr, batch_size (tokens), loss, source (the simulator, the seed and, for a truth
    other than the default, its changed fields: :func:`truth_label`). ``bl.load_runs(df)``
    loads it when k = 6; for another k, ``bl.load_runs(df, compute_model=k)`` (the source then
    ends in `` compute_model=k``: :func:`compute_label`). A ``lr_grid`` or ``batch_grid`` dict
    without one of ``sizes`` is a ValueError naming it.
    """
    truth = VideoDiTTruth() if truth is None else truth
    _check_seed(seed)
    _check_noise_sd(noise_sd)
    sizes = _positive_list("sizes", sizes, "parameters")
    tokens = _positive_list("tokens", tokens, "tokens")
    n_lr, n_batch = _grid_points(grid_points)
    Ns, Ds, lrs, bss = [], [], [], []
    for n in sizes:
        default_lr, default_b = video_dit_grids(truth, n, tokens, n_lr, n_batch)
        lr_n = default_lr if lr_grid is None else _pick("lr_grid", lr_grid, n)
        b_n = default_b if batch_grid is None else _pick("batch_grid", batch_grid, n)
        for d in tokens:
            Ns.append(n)
            Ds.append(d)
            lrs.append(lr_n)
            bss.append(b_n)
    source = (
        f"simulated: bayeslaws.runs.simulate.simulate_video_dit_sweep seed={_seed_label(seed)}"
        f"{truth_label(effective_truth(truth, noise_sd))}"
        f"{compute_label(truth.flops_per_param_token)}"
    )
    return _grid_runs(truth, Ns, Ds, lrs, bss, seed, noise_sd, source)


def _pick(name: str, grid, size: float) -> np.ndarray:
    """The grid for model ``size`` (params) from ``grid`` (argument ``name``): the dict's entry
    {size: grid}, or the one grid shared by all sizes. A dict without ``size`` is a ValueError
    naming the argument, the size and the sizes it has."""
    if not isinstance(grid, dict):
        return np.asarray(grid, float)
    if size not in grid:
        has = ", ".join(repr(k) for k in grid) or "none"
        raise ValueError(
            f"{name} has no grid for size {size!r} (params, one of sizes); the sizes it has are "
            f"{has}: give a grid for every size, or one grid for all sizes"
        )
    return np.asarray(grid[size], float)


# ---------------------------------------------------------------------------------------------
# Liang et al. isoFLOP design
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LiangTruth:
    """Ground truth for Liang et al.'s isoFLOP design (text-to-image DiT; C = k N D, k =
    ``flops_per_param_token``, 6 by default).

    N_opt(C) = n_coef * C**n_exp (params, C in FLOPs; n_coef ~ 8.94e-4, the unrounded value
    behind the paper's 958.3M at 1.5e21), D_opt = C / (k N_opt), L_opt(C) = l_coef * C**l_exp.
    Off the optimum: loss(C, N) = L_opt(C) * exp(k (ln N - ln N_opt(C))**2). ``k = 0.025`` puts a
    model 3x off the optimum 3.1% above L_opt (10x off: 14%); the isoFLOP curves are parabolas
    in log N for log loss, so the parabola fit is unbiased here by construction.
    ``noise_sd = 0.002`` (relative sd of the Gaussian log-loss noise) is an assumption: no per-run
    data were published.

    Checked on construction (ValueError naming the field): n_coef, l_coef and
    flops_per_param_token finite and > 0; n_exp, l_exp finite; k and noise_sd finite and >= 0
    (k < 0 would turn the isoFLOP curves upside down).
    """

    n_coef: float = LIANG_NOPT_COEF
    n_exp: float = LIANG_NOPT_EXP
    l_coef: float = LIANG_LOPT_COEF
    l_exp: float = LIANG_LOPT_EXP
    k: float = 0.025
    noise_sd: float = 0.002
    flops_per_param_token: float = 6.0

    def __post_init__(self):
        _check_fields(self, ("n_coef", "l_coef", "flops_per_param_token"), 0, strict=True)
        _check_fields(self, ("n_exp", "l_exp"))
        _check_fields(self, ("k",), 0, what="curvature; k < 0 turns the isoFLOP curves upside down")
        _check_fields(self, ("noise_sd",), 0)

    def n_opt(self, C):
        """Compute-optimal size (params) at C FLOPs."""
        return self.n_coef * np.asarray(C, float) ** self.n_exp

    def d_opt(self, C):
        """Compute-optimal tokens at C FLOPs, C / (k N_opt) (k = ``flops_per_param_token``)."""
        return np.asarray(C, float) / (self.flops_per_param_token * self.n_opt(C))

    def l_opt(self, C):
        """Loss at the compute-optimal size."""
        return self.l_coef * np.asarray(C, float) ** self.l_exp

    def loss(self, N, C):
        """Noiseless loss of an N-parameter model trained with C FLOPs (broadcast)."""
        x = np.log(np.asarray(N, float)) - np.log(self.n_opt(C))
        return self.l_opt(C) * np.exp(self.k * x**2)


def simulate_liang_isoflop(
    seed=0,
    budgets: Sequence[float] = LIANG_BUDGETS,
    n_per_budget: int = 9,
    spread_decades: float = 1.0,
    curvature: float | None = None,
    noise_sd: float | None = None,
    truth: LiangTruth | None = None,
) -> pd.DataFrame:
    """Simulated isoFLOP profiles like Liang et al.'s.

    At each budget C (FLOPs), ``n_per_budget`` sizes log-evenly spaced over
    N_opt(C) * 10**[-spread_decades, +spread_decades] (centred on the optimum; with
    ``n_per_budget=1`` the one size is N_opt(C) itself), D = C / (k N)
    (k = ``truth.flops_per_param_token``, 6 by default).
    ``curvature`` (>= 0) overrides ``truth.k``; ``noise_sd`` (>= 0) overrides ``truth.noise_sd``
    (relative sd, Gaussian). ``seed``: an int >= 0 or a numpy Generator (labelled by a digest of
    its state; module doc). Budgets must be finite and positive,
    ``n_per_budget`` an integer >= 1 and ``spread_decades`` >= 0 (else ValueError).

    Returns a DataFrame: N, D, C (FLOPs), loss, source (rows ordered by budget, then size). The
    source names the simulator, the seed and, for a truth other than the default (after
    ``curvature`` and ``noise_sd``), its changed fields (:func:`truth_label`).
    ``bl.load_runs(df)`` loads it when k = 6; for another k, ``bl.load_runs(df,
    compute_model=k)`` (the source then ends in `` compute_model=k``: :func:`compute_label`).

    The defaults' smallest point (row 0: N_opt(1e17) / 10 = 4.07e+05 params, below Liang et al.'s
    ~1M-parameter smallest model) has D/N = 1.0e+05 tokens per parameter, so
    ``bl.load_runs(df)`` gives a PlausibilityWarning on D/N at row 0. The defaults are kept
    because paper_repro/results/liang.csv is made from them: vet that row with
    ``bl.load_runs(df, accepted_rows=[0])``, or keep every size >= 1e6 params (the paper's
    grid) with ``spread_decades=0.6``.
    """
    truth = LiangTruth() if truth is None else truth
    budgets = np.atleast_1d(_positive_values("budgets", budgets, "FLOPs"))
    n_per_budget = check_integer("n_per_budget", n_per_budget, 1)
    spread_decades = _check_nonnegative("spread_decades", spread_decades)
    if curvature is not None:
        truth = replace(truth, k=_check_nonnegative("curvature", curvature))
    noise_sd = _check_noise_sd(noise_sd)
    sd = truth.noise_sd if noise_sd is None else noise_sd
    rng = _rng(seed)
    source = (
        f"simulated: bayeslaws.runs.simulate.simulate_liang_isoflop seed={_seed_label(seed)}"
        f"{truth_label(replace(truth, noise_sd=sd))}"
        f"{compute_label(truth.flops_per_param_token)}"
    )
    # n_per_budget = 1: the one size is the optimum (linspace(-s, s, 1) would give -s alone)
    span = spread_decades if n_per_budget > 1 else 0.0
    offsets = np.linspace(-span, span, n_per_budget) * np.log(10.0)
    C = np.repeat(budgets, n_per_budget)
    N = truth.n_opt(C) * np.exp(np.tile(offsets, len(budgets)))
    D = C / (truth.flops_per_param_token * N)
    loss = truth.loss(N, C) * np.exp(sd * rng.standard_normal(C.shape))
    return pd.DataFrame({"N": N, "D": D, "C": C, "loss": loss, "source": source})


# ---------------------------------------------------------------------------------------------
# Chinchilla form, for parameter-recovery tests
# ---------------------------------------------------------------------------------------------
def chinchilla_loss(E, A, B, alpha, beta, N, D):
    """E + A / N**alpha + B / D**beta (N params, D tokens; broadcast)."""
    N = np.asarray(N, float)
    D = np.asarray(D, float)
    return E + A / N**alpha + B / D**beta


CHINCHILLA_PARAMS = ("E", "A", "B", "alpha", "beta")  # the law's constants in ``params``


def _check_law_param(name: str, value) -> None:
    """``params[name]`` of the Chinchilla form: a finite number, >= 0 for E (the irreducible
    loss) and > 0 for A, B, alpha and beta (else ValueError naming it)."""
    strict = name != "E"
    ok = is_real(value) and bool(np.isfinite(value)) and (value > 0 if strict else value >= 0)
    if not ok:
        bound = "> 0" if strict else ">= 0"
        raise ValueError(f"params[{name!r}] must be a finite number {bound}, got {value!r}")


# the likelihood names simulate_chinchilla_runs takes -> the one its source records
CHINCHILLA_LIKELIHOODS = {"gaussian": "gaussian", "student_t": "student_t", "studentt": "student_t",
                          "t": "student_t"}  # fmt: skip


def _chinchilla_likelihood(likelihood) -> str:
    """``likelihood`` of :func:`simulate_chinchilla_runs` as its one name ("gaussian" or
    "student_t"; "studentt" and "t" are "student_t"), else a ValueError naming it."""
    name = CHINCHILLA_LIKELIHOODS.get(likelihood) if isinstance(likelihood, str) else None
    if name is None:
        raise ValueError(f"likelihood must be 'gaussian' or 'student_t', got {likelihood!r}")
    return name


def simulate_chinchilla_runs(
    params: dict,
    noise_sd: float | None = None,
    seed=None,
    likelihood: str | None = None,
    df: float | None = None,
) -> pd.DataFrame:
    """Runs from the Chinchilla form with multiplicative noise.

    Parameters
    ----------
    params : dict with E, A, B, alpha, beta (scalars) and N (params), D (tokens) arrays, which
        broadcast against each other (flattened to one row per element). ``noise_sd``, ``seed``,
        ``likelihood`` and ``df`` may also be given as keys; keyword arguments win, and ``None``
        (as a keyword or a key's value) means not given. :func:`chinchilla_truth_from_source`
        gives these keys back from a table's source.
    noise_sd : scale of log(loss) - log(truth), >= 0; default 0.01. For "gaussian" it is the
        sd; for "student_t" the sd is ``noise_sd * sqrt(df / (df - 2))`` (1.41 ``noise_sd`` at
        df = 4), infinite for df <= 2.
    seed : int >= 0 or numpy Generator (labelled by a digest of its state; module doc); default
        (``None``) the ``seed`` key, else 0.
    likelihood : "gaussian" (lognormal loss; the default) or "student_t" (also "studentt" or
        "t": log-loss error ``noise_sd * t_df``, heavy tails: a few runs far off the law).
    df : Student-t degrees of freedom, > 0 (default 4; <= 2 gives infinite variance).

    N or D not finite and positive, E not a finite number >= 0, A, B, alpha or beta not a
    finite number > 0, a negative or NaN noise_sd, a seed that is not an int >= 0, an unknown
    likelihood or a df <= 0 raise ValueError naming the argument.

    Returns a DataFrame: N, D, C (= 6ND), loss, source. The source names the simulator, the
    seed and the truth (:func:`chinchilla_label`: E, A, B, alpha, beta, noise_sd, the
    likelihood as "gaussian" or "student_t", and for "student_t" df), so that tables from
    different truths never share a label.
    """
    missing = [k for k in ("E", "A", "B", "alpha", "beta", "N", "D") if k not in params]
    if missing:
        raise UnknownNameError(f"params lacks {missing}")
    for name in CHINCHILLA_PARAMS:
        _check_law_param(name, params[name])
    sd = _check_noise_sd(_given(noise_sd, params, "noise_sd", 0.01))
    seed = _check_seed(_given(seed, params, "seed", 0))
    likelihood = _chinchilla_likelihood(_given(likelihood, params, "likelihood", "gaussian"))
    df = _given(df, params, "df", 4.0)
    if not is_real(df) or not np.isfinite(df) or df <= 0:
        raise ValueError(f"df (Student-t degrees of freedom) must be a number > 0, got {df!r}")
    N = _positive_values("N", params["N"], "parameters")
    D = _positive_values("D", params["D"], "tokens")
    N, D = np.broadcast_arrays(N, D)
    N, D = N.ravel(), D.ravel()
    clean = chinchilla_loss(
        params["E"], params["A"], params["B"], params["alpha"], params["beta"], N, D
    )
    rng = _rng(seed)
    label = _seed_label(seed)
    if likelihood == "gaussian":
        eps = rng.standard_normal(clean.shape)
    else:
        eps = rng.standard_t(df, clean.shape)
    loss = clean * np.exp(sd * eps)
    source = (
        f"simulated: bayeslaws.runs.simulate.simulate_chinchilla_runs seed={label}"
        f"{chinchilla_label(params, sd, likelihood, df)}"
    )
    return pd.DataFrame({"N": N, "D": D, "C": 6.0 * N * D, "loss": loss, "source": source})


CHINCHILLA_TRUTH = re.compile(
    r"bayeslaws\.runs\.simulate\.simulate_chinchilla_runs seed=(?P<seed>\d+|Generator\([0-9a-f]+\))"
    r" truth=chinchilla_loss\((?P<params>[^)]*)\) noise_sd=(?P<noise_sd>[^\s\]]+)"
    r" likelihood=(?P<likelihood>\w+)(?: df=(?P<df>[^\s\]]+))?"
)


def chinchilla_label(params: dict, noise_sd: float, likelihood: str, df: float) -> str:
    """The truth's part of a :func:`simulate_chinchilla_runs` table's ``source``:
    `` truth=chinchilla_loss(E=1.8, A=480.0, B=2000.0, alpha=0.35, beta=0.37) noise_sd=0.01
    likelihood=student_t df=4.0``: each constant of ``params`` and ``noise_sd`` (relative) as
    its exact float repr, the ``likelihood`` as its one name (:func:`_chinchilla_likelihood`)
    and, for "student_t" only (Gaussian draws do not use it), ``df``.
    :func:`chinchilla_truth_from_source` reads it back."""
    constants = ", ".join(f"{name}={float(params[name])!r}" for name in CHINCHILLA_PARAMS)
    likelihood = _chinchilla_likelihood(likelihood)
    tail = f" df={float(df)!r}" if likelihood == "student_t" else ""
    return (
        f" truth=chinchilla_loss({constants}) noise_sd={float(noise_sd)!r} "
        f"likelihood={likelihood}{tail}"
    )


def chinchilla_truth_from_source(source: str) -> dict | None:
    """The truth a :func:`simulate_chinchilla_runs` ``source`` text records
    (:func:`chinchilla_label`; also inside a loaded table's source), as the keys that function
    takes: E, A, B, alpha, beta, noise_sd, likelihood, df (for "student_t") and seed (when it
    was an int; a Generator's state is not recorded), so that
    ``simulate_chinchilla_runs({**truth, "N": N, "D": D})`` draws the table again. None when
    the text records no such truth (other simulators, or tables labelled before truths were
    recorded)."""
    found = CHINCHILLA_TRUTH.search(str(source).split(LABEL_FIELD, 1)[0])
    if found is None:
        return None
    pairs = [item.split("=", 1) for item in found["params"].split(",") if item.strip()]
    values = {k.strip(): float(v) for k, v in pairs}
    if set(values) != set(CHINCHILLA_PARAMS):
        return None
    truth = {name: values[name] for name in CHINCHILLA_PARAMS}
    truth["noise_sd"] = float(found["noise_sd"])
    truth["likelihood"] = found["likelihood"]
    if found["df"] is not None:
        truth["df"] = float(found["df"])
    if found["seed"].isdigit():
        truth["seed"] = int(found["seed"])
    return truth


def _given(value, params: dict, key: str, default):
    """``value`` unless None, else ``params[key]`` unless missing or None, else ``default``."""
    if value is not None:
        return value
    stored = params.get(key)
    return default if stored is None else stored
