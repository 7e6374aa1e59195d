"""Backtest splits: fit on part of a run table, hold out the rest (the larger runs), on the
selection data, the confirmation data and simulated truths (``docs/calibration_protocol.md``).

Every split returns ``(training RunTable, held-out DataFrame)``; the held-out rows keep their
canonical columns (N params, D tokens, C FLOPs, loss). Real tables are read from
``../shared/data`` (:mod:`bayeslaws.runs.bundled`); simulated ones are labelled simulated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..runs import RunTable, bundled, load_runs
from ..runs.cells import best_in_cell
from ..runs.checks import UnknownNameError, check_integer, check_positive, is_integer, is_real
from .draws import positive_array

EPOCH_CUTS = {"C": 1e21, "N": 2e9, "D": 5e10}
SELECTION_PORIAN = {
    f"{ds}/{hp}/{wu}/{dc}": dict(
        dataset=ds, hparams=hp, warmup=wu, decay=dc, param_count="standard", loss_type="val"
    )
    for ds in ("rw", "owt2")
    for hp, wu, dc in (
        ("base", "long", "kaplan"),
        ("base", "short", "kaplan"),
        ("base", "short", "chinchilla"),
        ("tuned", "short", "const"),
    )
}
SELECTION_PORIAN["rw/tuned/long/const (kaplan, train)"] = dict(
    dataset="rw",
    hparams="tuned",
    warmup="long",
    decay="const",
    param_count="kaplan",
    loss_type="train",
)


def split_by(runs: RunTable, holdout_mask, reason: str) -> tuple[RunTable, pd.DataFrame]:
    """(training table without the held-out rows, held-out rows)."""
    mask = np.asarray(holdout_mask, bool)
    return runs.exclude(mask, reason), runs.df[mask]


def _values_text(values, unit: str, most: int = 20) -> str:
    """The distinct values of a column for a message: '2.1466e+08, 2.683e+08 (params)', or
    their range when there are more than ``most``."""
    distinct = np.unique(np.asarray(values, float))
    if distinct.size > most:
        first, last = distinct[0], distinct[-1]
        return f"{distinct.size} distinct values from {first:.5g} to {last:.5g} ({unit})"
    return ", ".join(f"{v:.5g}" for v in distinct) + f" ({unit})"


def _number(value) -> str:
    """A value for a message: a number as ``1e+09``, anything else as its repr."""
    return f"{value:g}" if is_real(value) else repr(value)


def checked_split(
    runs: RunTable, holdout_mask, reason: str, argument: str, available: str
) -> tuple[RunTable, pd.DataFrame]:
    """:func:`split_by`, refusing a split that holds out no run or every run (ValueError naming
    ``argument``, the option that chose the held-out set, and listing ``available``: the
    values it could pick, with units)."""
    mask = np.asarray(holdout_mask, bool)
    if not mask.any() or mask.all():
        what = "no run" if not mask.any() else f"every run ({mask.size}), leaving none to fit"
        raise ValueError(f"{argument} holds out {what}; the table's values are {available}")
    return split_by(runs, mask, reason)


def epoch_split(c_max: float | None = None, axis: str = "C", cut: float | None = None):
    """Epoch AI's Chinchilla points: fit the runs with ``axis`` <= ``cut`` (default: C <= 1e21,
    23 runs held out), hold out the rest. ``axis`` "N" (cut 2e9 params) or "D" (cut 5e10
    tokens) extrapolate in size or in tokens instead of compute. ``c_max`` (FLOPs; default
    1e21) is the cut on axis "C" only: given with another axis or with ``cut`` (which
    overrides it) it is refused (ValueError naming ``c_max``), never silently ignored. The cut
    must be a finite number > 0 (else ValueError naming ``cut`` or ``c_max``)."""
    if axis not in EPOCH_CUTS:
        raise ValueError(f"axis must be one of {sorted(EPOCH_CUTS)}, got {axis!r}")
    if c_max is not None and axis != "C":
        raise ValueError(
            f"c_max={_number(c_max)} is the compute cut (FLOPs) of axis 'C' only, but "
            f"axis={axis!r}: pass cut= for the cut on axis {axis!r} "
            f"({'params' if axis == 'N' else 'tokens'}), not c_max"
        )
    if c_max is not None and cut is not None:
        raise ValueError(
            f"c_max={_number(c_max)} and cut={_number(cut)} both set the cut on axis 'C' "
            "(cut would override c_max): pass one of them"
        )
    argument = "c_max" if cut is None and axis == "C" else "cut"
    if cut is None:  # c_max is None unless axis is "C"
        cut = EPOCH_CUTS[axis] if c_max is None else c_max
    unit = {"C": "FLOPs", "N": "params", "D": "tokens"}[axis]
    cut = check_positive(argument, cut, f"the cut on axis {axis!r}, {unit}")
    runs = bundled.epoch_chinchilla()
    return checked_split(
        runs,
        runs.df[axis] > cut,
        f"backtest: held out {axis} > {cut:g}",
        f"{argument}={cut:g} on axis {axis!r}",
        _values_text(runs.df[axis], unit),
    )


PORIAN_CONFIGS = {
    "rw/tuned/short/const": dict(
        dataset="rw",
        hparams="tuned",
        warmup="short",
        decay="const",
        param_count="standard",
        loss_type="val",
    ),
    "rw/base/short/chinchilla": dict(
        dataset="rw",
        hparams="base",
        warmup="short",
        decay="chinchilla",
        param_count="standard",
        loss_type="val",
    ),
}


def porian_split(config: str = "rw/tuned/short/const", n_budgets: int = 2):
    """Porian et al.'s isoFLOP points for one configuration: hold out the ``n_budgets`` largest
    budgets (C here is the budget column, FLOPs); ``n_budgets`` is an integer from 1 to the
    number of budgets less one (at least one budget is fitted). With constant-LR (and
    Kaplan-decay) configurations several budgets are read off the same runs, so held-out and
    fitted points are not independent runs."""
    configs = {**PORIAN_CONFIGS, **SELECTION_PORIAN}
    if config not in configs:
        raise ValueError(f"unknown Porian configuration {config!r}; known: {sorted(configs)}")
    runs = bundled.porian_isoflop(**configs[config])
    budgets = np.sort(runs.df["C"].unique())
    if not is_integer(n_budgets) or not 1 <= n_budgets < budgets.size:
        raise ValueError(
            f"n_budgets must be an integer from 1 to {budgets.size - 1} (configuration "
            f"{config!r} has {budgets.size} budgets: {_values_text(budgets, 'FLOPs')}; at least "
            f"one is fitted), got {n_budgets!r}"
        )
    held = runs.df["C"] >= budgets[-n_budgets]
    return split_by(runs, held, f"backtest: held out the {n_budgets} largest budgets")


def steplaw_best_cells() -> RunTable:
    """Step Law's dense sweep reduced to one run per (N, D) cell: its best run
    (:func:`~bayeslaws.runs.cells.best_in_cell`: the lowest loss of its converged runs; a run
    flagged diverged never is a cell's best), as the loss under (grid-)optimal
    hyperparameters; columns N (params), D (tokens), loss (nats)."""
    df = bundled.steplaw_dense().df
    best = df.loc[best_in_cell(df), ["N", "D", "loss"]]
    return load_runs(best.reset_index(drop=True))


STEPLAW_N_HOLDOUT = 1.07e9  # params: steplaw_split's default held-out model size


def steplaw_split(n_holdout: float | None = None, d_holdout: float | None = None):
    """Step Law best-cell losses: hold out the cells of the N ~ ``n_holdout`` model (params,
    within 1%: one of the table's sizes; default ``STEPLAW_N_HOLDOUT`` = 1.07e9), or with
    ``d_holdout`` the cells with D >= ``d_holdout`` tokens (an extrapolation in tokens). Give
    at most one of the two (both: ValueError naming them, since ``d_holdout`` would override
    ``n_holdout``); each must be a finite number > 0 (else ValueError naming it). A choice that
    holds out no cell, or every cell, is refused (ValueError listing the table's sizes or token
    counts)."""
    if n_holdout is not None and d_holdout is not None:
        raise ValueError(
            f"n_holdout={_number(n_holdout)} and d_holdout={_number(d_holdout)} choose two "
            "different held-out sets (a model size, params; or a token count, tokens) and "
            "d_holdout would override n_holdout: pass one of them"
        )
    if d_holdout is not None:
        d_holdout = check_positive("d_holdout", d_holdout, "tokens")
    n_holdout = check_positive(
        "n_holdout", STEPLAW_N_HOLDOUT if n_holdout is None else n_holdout, "params"
    )
    runs = steplaw_best_cells()
    if d_holdout is not None:
        held = runs.df["D"] >= d_holdout * (1 - 1e-9)
        column, reason = "D", f"D >= {d_holdout:g}"
        argument = f"d_holdout={_number(d_holdout)}"
    else:
        held = np.isclose(runs.df["N"], n_holdout, rtol=0.01)
        column, reason = "N", f"N ~ {n_holdout:g}"
        argument = f"n_holdout={_number(n_holdout)} (matched within 1%)"
    unit = {"N": "params", "D": "tokens"}[column]
    return checked_split(
        runs, held, f"backtest: held out {reason}", argument, _values_text(runs.df[column], unit)
    )


def compendium_split(source: str, dataset: str | None = None):
    """Confirmation data (isoFLOP compendium): Llama-3 (``source="llama_3"``, raw loss) fits the
    budgets <= 1e21 and holds out the larger ones (3e21, 1e22); Marin (``"marin_202603"``, one
    corpus) holds out its largest budget (3e20)."""
    runs = bundled.isoflop_compendium(source, dataset)
    budgets = np.sort(runs.df["C"].unique())
    if source == "llama_3":
        held = runs.df["C"] > 1e21 * 1.01
        reason = "backtest: held out budgets > 1e21"
    else:
        held = runs.df["C"] >= budgets[-1] * (1 - 1e-9)
        reason = f"backtest: held out the largest budget {budgets[-1]:g}"
    return split_by(runs, held, reason)


# ---- simulated designs ----
SIM_TRUTH = dict(E=1.82, A=480.0, B=2100.0, alpha=0.35, beta=0.37)


# A Farseer truth (laws/farseer.py's form, natural constants): Chinchilla-like in the fitted
# range, but the data exponent falls with model size, beta(N) = exp(-1.2 + 4.1 N^-0.15):
# 0.39 at N = 1e8, 0.36 at 1e9, 0.33 at 1e11 (a constant-beta Chinchilla fit cannot follow it).
FARSEER_TRUTH = dict(
    S=float(np.log(1.82)),
    s=480.0 / 1.82,
    q=-0.35,
    Q=float(np.log(2100.0)),
    B=0.0,
    b=0.0,
    E=-1.2,
    A=4.1,
    a=-0.15,
)
SIM_KINDS = ("correct", "bend", "farseer")


def farseer_loss(N, D, t=FARSEER_TRUTH):
    """exp(s N^q + S) + exp(B N^b + Q) D^(-exp(A N^a + E)) (N params, D tokens)."""
    N = np.asarray(N, float)
    D = np.asarray(D, float)
    beta = np.exp(t["A"] * N ** t["a"] + t["E"])
    return np.exp(t["s"] * N ** t["q"] + t["S"]) + np.exp(t["B"] * N ** t["b"] + t["Q"]) * D**-beta


def simulated_truth_loss(
    N, D, bend: float = 0.0, n_bend: float = 3e9, d_bend: float = 5e10, truth=None, kind=None
):
    """Chinchilla truth (Epoch's published fit by default); with ``bend`` > 0 both exponents
    fall by ``bend`` beyond ``n_bend`` parameters and ``d_bend`` tokens (alpha -> alpha - bend
    for N > n_bend, beta -> beta - bend for D > d_bend: the law flattens at large scale);
    ``kind="farseer"``: the Farseer truth ``FARSEER_TRUTH`` instead."""
    if kind == "farseer":
        return farseer_loss(N, D)
    t = dict(SIM_TRUTH, **(truth or {}))
    N = np.asarray(N, float)
    D = np.asarray(D, float)
    size_term = t["A"] / N ** t["alpha"]
    data_term = t["B"] / D ** t["beta"]
    if bend:
        size_term = size_term * np.maximum(N / n_bend, 1.0) ** bend
        data_term = data_term * np.maximum(D / d_bend, 1.0) ** bend
    return t["E"] + size_term + data_term


SIM_OPTIMUM_MIN_C = 6e12  # FLOPs: the optimum's grid runs from 1e6 params to 1e6 tokens


def simulated_optimum(kind: str, C, bend: float = 0.1) -> pd.DataFrame:
    """The truth's compute-optimal N_opt (params) and L_opt at budgets C (FLOPs, C = 6ND), by a
    fine grid search in ln N (0.0005 e-folds) from 1e6 params to 1e6 tokens. ``kind``: one of
    ``SIM_KINDS`` (as :func:`simulated_split`; else UnknownNameError naming them); ``C``: a
    number or 1-d sequence, each finite and above ``SIM_OPTIMUM_MIN_C`` = 6e12 FLOPs (else
    ValueError naming ``C``)."""
    if not isinstance(kind, str) or kind not in SIM_KINDS:
        raise UnknownNameError(f"kind must be one of {SIM_KINDS}, got {kind!r}")
    budgets = positive_array("C", C)
    small = budgets <= SIM_OPTIMUM_MIN_C
    if small.any():
        raise ValueError(
            f"C must be above {SIM_OPTIMUM_MIN_C:g} FLOPs (the search runs from 1e6 params to "
            f"1e6 tokens, C = 6ND), got {budgets[small][:3].tolist()} at positions "
            f"{np.flatnonzero(small)[:10].tolist()}"
        )
    rows = []
    for c in budgets:
        N = np.exp(np.arange(np.log(1e6), np.log(c / 6 / 1e6), 0.0005))
        loss = simulated_truth_loss(N, c / (6 * N), bend=bend if kind == "bend" else 0.0, kind=kind)
        i = int(np.argmin(loss))
        rows.append({"C": c, "N_opt": N[i], "L_opt": loss[i]})
    return pd.DataFrame(rows)


def simulated_split(
    kind: str = "correct",
    seed: int = 0,
    noise_sd: float = 0.01,
    n_per_budget: int = 7,
    fit_budgets=(1e18, 3e18, 1e19, 3e19, 1e20),
    test_budgets=(1e21, 1e22),
    bend: float = 0.1,
):
    """A SIMULATED isoFLOP design from a known truth: fit ``fit_budgets``, hold out
    ``test_budgets`` (FLOPs; 10-100x beyond by default; each must lie above every fit budget,
    else ValueError naming ``test_budgets``). ``kind`` "correct" uses the Chinchilla form itself;
    "bend" lowers both exponents by ``bend`` beyond N = 3e9 and D = 5e10 (the top third of a
    decade of the fitted N and D ranges, which reach 6.3e9 and 1.05e11): the fit barely sees the
    bend, the held-out runs (N to 6.3e10, D to 1.05e12) are up to 1.3 decades into it (with the
    defaults the truth there lies 0.1-1.8%, median 1.1%, above the unbent law, against 1% run
    noise); "farseer" draws from ``FARSEER_TRUTH``, whose data exponent falls with N.
    ``seed``: an integer >= 0 (the table is labelled with it, and the same seed gives the same
    table); ``n_per_budget``: runs per budget, an integer >= 1; ``noise_sd``: the sd of the
    runs' log-loss noise, >= 0. Other values raise ValueError naming the argument."""
    if kind not in SIM_KINDS:
        raise ValueError(f"kind must be one of {SIM_KINDS}, got {kind!r}")
    seed = check_integer("seed", seed, 0)  # None would draw a different table every call
    n_per_budget = check_integer("n_per_budget", n_per_budget, 1)
    if not is_real(noise_sd) or not np.isfinite(noise_sd) or noise_sd < 0:
        raise ValueError(
            f"noise_sd must be a finite number >= 0 (the runs' log-loss noise), got {noise_sd!r}"
        )
    fit_budgets, test_budgets = check_sim_budgets(fit_budgets, test_budgets)
    rng = np.random.default_rng(seed)
    rows = []
    for C in list(fit_budgets) + list(test_budgets):
        n_opt = 0.1 * C**0.5  # near the compute-optimal size of the default truth
        for N in n_opt * np.logspace(-0.8, 0.8, n_per_budget):
            rows.append((N, C / (6 * N), C))
    N, D, C = (np.array(v) for v in zip(*rows, strict=True))
    truth = simulated_truth_loss(N, D, bend=bend if kind == "bend" else 0.0, kind=kind)
    loss = truth * np.exp(noise_sd * rng.standard_normal(truth.shape))
    frame = pd.DataFrame(
        {"N": N, "D": D, "loss": loss, "source": f"simulated ({kind}, seed {seed})"}
    )
    runs = load_runs(frame)
    held = runs.df["C"] > max(fit_budgets) * SIM_BUDGET_RTOL
    return split_by(runs, held, f"backtest: held out C > {max(fit_budgets):g} (simulated)")


SIM_BUDGET_RTOL = 1.01  # a held-out budget lies above this factor times the largest fit budget


def check_sim_budgets(fit_budgets, test_budgets) -> tuple[list[float], list[float]]:
    """The budgets (FLOPs) of :func:`simulated_split`: both non-empty and positive, and every
    held-out budget above every fit budget (by more than 1%: the split holds out by C), so
    that no test budget is fitted and no run is both fitted and held out."""
    fit_b = positive_array("fit_budgets", fit_budgets).tolist()
    test_b = positive_array("test_budgets", test_budgets).tolist()
    inside = [c for c in test_b if c <= max(fit_b) * SIM_BUDGET_RTOL]
    if inside:
        raise ValueError(
            f"test_budgets must all lie above the largest fit budget ({max(fit_b):g} FLOPs; "
            f"fit_budgets {', '.join(f'{c:g}' for c in fit_b)}): the split holds out the "
            f"budgets beyond the fitted ones, got {', '.join(f'{c:g}' for c in inside)} "
            "inside or at the fitted range"
        )
    return fit_b, test_b
