"""Posterior predictions at query points, with credible intervals: ``bl.predict``.

``kind="mean"`` gives the uncertainty of the law itself; ``kind="new_run"`` adds the fitted
run-to-run noise (the likelihood family's own draws), i.e. what one new training run would
show, and a model discrepancy: by default a Gaussian process over (ln N, ln D) fitted to the
training runs' residuals (``extrapolation="gp"``; see :mod:`bayeslaws.posterior.extrapolation`),
which follows the residual pattern near the runs, reverts to mean 0 and sd eta far from them
(eta small, a fraction of the noise sd, where the form fits) and, on a grouped fit, is each
group's own (a new group: the GP's prior). Pass ``extrapolation="none"`` for the plain posterior
predictive.

Two properties of ``new_run`` intervals to read them by (:mod:`bayeslaws.posterior.extrapolation`
gives the numbers): inside the fitted range the default ``"gp"`` over-covers, since the law's
noise sigma, fitted without the GP, already holds part of the residual pattern the GP adds
again; and the bounds are quantiles of Monte Carlo draws made for the whole query at once (or,
for a query of more than ``PREDICT_BLOCK_ENTRIES`` draws x points, per block of rows, each block
its own noise seed), so a point's bounds move with the other points asked alongside it by Monte
Carlo error (more posterior draws shrink it).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..laws.contract import LawCapabilityError, summarise
from ..runs import decades_outside
from ..runs.checks import check_probability, rows_text
from ..runs.warn import user_stacklevel, warn_user
from .draws import (
    check_fit,
    check_seed,
    farthest_text,
    labelled,
    log_loss_draws,
    positive_array,
    quantity_draws,
    query_frame,
    shared_index,
    warn_new_group,
)
from .extrapolation import DEFAULT_METHOD
from .extrapolation.distance import fitted_label, group_ranges, range_words
from .model import ModelView
from .outside import (
    WARN_DECADES,
    ExtrapolationWarning,
    distance_text,
    extrapolation_sentence,
    fitted_text,
)

__all__ = [
    "NominalComputeWarning",
    "far_points_message",
    "log_loss_draws",
    "nearest_fitted_cells",
    "outside_decades",
    "predict",
    "query_frame",
    "summarise_draws",
]


class NominalComputeWarning(UserWarning):
    """The fit's budgets are nominal (its runs' C is not the compute model's FLOPs of their N and
    D): D_opt = C / flops_per_token(N_opt) is the compute model's token count, not the tokens
    the runs at that budget were trained on; and a query by (N, D) lands at the compute
    model's C, not at the nominal budget of a run with that N and D."""


NOMINAL_RTOL = 0.02  # runs' C off the compute model's FLOPs by more: the budgets are nominal


def nominal_flops_ratio(fit, compute_model) -> tuple[float, float] | None:
    """(lowest, highest) of the fitted runs' C / compute_model.flops(N, D) when the fit's law
    takes C as an input (its budgets, e.g. isoflop) and some run's C is off its FLOPs by more
    than ``NOMINAL_RTOL`` (a nominal budget, e.g. Marin's 0.74-1.07 x 6ND); else None (also
    when the fit records no runs with N, D and C)."""
    runs = fit.record.training_runs or {}
    if "C" not in fit.law.inputs or not {"N", "D", "C"} <= set(runs):
        return None
    N, D, C = (np.asarray(runs[k], float) for k in ("N", "D", "C"))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = C / np.asarray(compute_model.flops(N, D), float)
    ratio = ratio[np.isfinite(ratio)]
    if not ratio.size or np.all(np.abs(ratio - 1) <= NOMINAL_RTOL):
        return None
    return float(ratio.min()), float(ratio.max())


def nominal_query_message(fit, caller: str = "predict") -> str:
    """The sentence for a query given by D (tokens) to a fit whose budgets are nominal
    (:func:`nominal_flops_ratio` under the fit's compute model): the query's C is the compute
    model's FLOPs of its N and D, not the nominal budget a run with that N and D belongs to, so
    a fitted run asked by its N and D is answered as a new budget; '' otherwise."""
    ratio = nominal_flops_ratio(fit, fit.compute_model)
    if ratio is None:
        return ""
    name = getattr(fit.compute_model, "name", None) or "the compute model"
    prefix = f"{caller}: " if caller else ""
    return (
        f"{prefix}the fit's budgets are nominal (its runs' C is {ratio[0]:.3g}-{ratio[1]:.3g} x "
        f"the compute model's FLOPs of their N and D, {name}), and this query gives D: its C is "
        f"taken as the FLOPs of N and D under {name}, which misses the nominal budget of a run "
        "with that N and D, so even a fitted run is answered as a NEW budget (the trend plus "
        "fresh budget scatter, not its budget's fitted curve). Ask this fit by N and the "
        "nominal budget C (predict(fit, N=..., C=...)), not by N and D"
    )


# a NaN row's nearest fitted cell is named only when this close (|ln N ratio| + |ln D ratio|,
# about 1%): a rounded value of that cell, not a different question
NEAREST_LN_DISTANCE = 0.01


def nearest_fitted_cells(fit, table: pd.DataFrame, group=None) -> list[tuple[int, float, float]]:
    """For the rows of a prediction ``table`` (:func:`predict`'s) where a ``*median`` is NaN
    (a law that gives values only at its fitted (N, D) cells, asked elsewhere): (row position,
    N params, D tokens) of the nearest fitted cell (by distance in ln N, ln D) of each row
    within ``NEAREST_LN_DISTANCE`` of one, i.e. a rounded N or D of that cell (cells match
    within ``runs.cells.CELL_RTOL``, relative: 4.29e8 is not 429260800's cell); a farther
    row asks about another model. Empty when no row is so near, the table has no N and D, the
    fit stored no runs, or the query is for a new group of a grouped fit (``group=None``: it
    has no fitted cells); ``group``: a fitted group's label, its own cells."""
    if not {"N", "D"} <= set(table.columns) or (group is None and len(fit.groups) > 1):
        return []
    runs = fit.training_runs()
    if runs is None or not len(runs.df):
        return []
    df = runs.df
    if group is not None and "group" in df:  # 10.0 names the group "10", as the law has it
        df = df[df["group"].astype(str) == str(fitted_label(fit, group) or group)]
    cells = df[["N", "D"]].drop_duplicates().to_numpy(float)
    if not len(cells):
        return []
    medians = [c for c in table.columns if c.endswith("median")]
    found = []
    for i in np.flatnonzero(table[medians].isna().any(axis=1).to_numpy()):
        n, d = float(table["N"].iloc[i]), float(table["D"].iloc[i])
        if not (n > 0 and d > 0):
            continue
        far = np.abs(np.log(cells[:, 0] / n)) + np.abs(np.log(cells[:, 1] / d))
        if far.min() <= NEAREST_LN_DISTANCE:
            cn, cd = cells[int(np.argmin(far))]
            found.append((int(i), float(cn), float(cd)))
    return found


def outside_decades(values, low: float, high: float) -> np.ndarray:
    """Signed distance outside [low, high] in decades: 0 inside, > 0 above, < 0 below."""
    above, below = decades_outside(values, low, high)
    return above - below


NAMED_POINTS = 3  # an extrapolation warning of predict names this many points


def far_points_message(
    table: pd.DataFrame,
    ranges: dict,
    axes,
    caller: str = "predict",
    whose: str = "the fitted range",
    far: float = WARN_DECADES,
) -> str:
    """The sentence for the rows of a prediction ``table`` (:func:`predict`'s, Q rows) whose
    ``<axis>_outside_decades`` (signed decades) exceeds ``far`` in size for some axis of
    ``axes`` (e.g. N, D, C): up to ``NAMED_POINTS`` of them by position (0..Q-1) with their
    values and every nonzero distance, the others' positions and, when further out than the
    named, the farthest of them (:func:`farthest_unnamed_text`), and the ``ranges`` (axis ->
    [min, max], :func:`~.extrapolation.distance.group_ranges`) of ``whose``; '' when no row
    is that far out (or ``table`` has no such column)."""
    distances = {
        axis: table[f"{axis}_outside_decades"].to_numpy(float)
        for axis in axes
        if f"{axis}_outside_decades" in table and axis in ranges
    }
    if not distances:
        return ""
    hit = np.flatnonzero(np.any([np.abs(d) > far for d in distances.values()], axis=0))
    if not hit.size:
        return ""

    def where(i: int) -> str:
        parts = [
            f"{axis} = {float(table[axis].iloc[i]):.3g} ({distance_text(d[i])})"
            for axis, d in distances.items()
            if d[i] != 0
        ]
        return f"position {i}: {', '.join(parts)}"

    named, rest = hit[:NAMED_POINTS], hit[NAMED_POINTS:]
    shown = "; ".join(where(int(i)) for i in named)
    if rest.size:
        positions = rows_text(rest.tolist(), noun="positions")
        farthest = farthest_unnamed_text(table, distances, named, rest)
        shown += f"; and {rest.size} more points, at positions {positions}{farthest}"
    fitted = fitted_text(ranges, distances)
    columns = "columns " + ", ".join(f"{axis}_outside_decades" for axis in distances)
    return extrapolation_sentence(caller, far, whose, fitted, shown, columns)


def farthest_unnamed_text(table: pd.DataFrame, distances: dict, named, rest) -> str:
    """'' or ", the farthest <axis> = v at position j, d decades out"
    (:func:`~.draws.farthest_text`): of the far rows of ``table`` left unnamed (``rest``,
    positions), the one farthest out on the axis where one of them lies farthest
    (``distances``: axis -> (Q,) signed decades), when it lies further out on that axis than
    every ``named`` row (the warning's head, whose distances it shows)."""
    axis = max(distances, key=lambda a: np.abs(distances[a][rest]).max())
    size = np.abs(distances[axis])
    nearest = named[np.argmax(size[named])]  # the head's farthest on that axis
    far = np.concatenate([[nearest], rest])
    return farthest_text(axis, table[axis].to_numpy(float), size, far)


def warn_far_points(fit, table: pd.DataFrame, group=None, caller: str = "predict") -> None:
    """An :class:`~.outside.ExtrapolationWarning` (:func:`far_points_message`,
    at the user's line) when a point of the prediction ``table`` lies more than
    ``WARN_DECADES`` outside the fitted range (``group``'s own runs' for a fitted group, as
    the table's ``*_outside_decades`` measure it) in N, D or C (those the table has). Settings
    (lr, batch_size) are left to :func:`~.draws.check_range`, which warns at that distance."""
    message = far_points_message(
        table, group_ranges(fit, group), ("N", "D", "C"), caller, range_words(fit, group)
    )
    if message:
        warnings.warn(message, ExtrapolationWarning, stacklevel=user_stacklevel())


NAMED_NEAREST = 3  # a missing-values warning names the nearest fitted cell of this many rows


def missing_values_message(
    fit, table: pd.DataFrame, group=None, caller: str = "predict"
) -> str:
    """The sentence for a prediction ``table`` (:func:`predict`'s, Q rows, numbered by position
    0..Q-1) where some quantity's ``*median`` is NaN (a law that gives it only at its fitted
    (N, D) cells, e.g. law 'hyperparams' with ``loss_level='free'``, asked elsewhere): which
    quantities, at which positions, the law's remedy (its ``missing_values_hint``) and, for a
    row within ``NEAREST_LN_DISTANCE`` of a fitted cell (:func:`nearest_fitted_cells`), that
    cell in full; '' when every value is there."""
    medians = [c for c in table.columns if c.endswith("median")]
    gaps = [c for c in medians if table[c].isna().any()]
    if not gaps:
        return ""
    where = np.flatnonzero(table[gaps].isna().any(axis=1).to_numpy())
    names = ", ".join("median, mean, lower, upper" if c == "median" else f"{c[:-6]}*" for c in gaps)
    hint = fit.law.missing_values_hint
    nearest = [
        f"position {i} is nearly the fitted cell N = {n:.12g}, D = {d:.12g} (give it in full)"
        for i, n, d in nearest_fitted_cells(fit, table, group)[:NAMED_NEAREST]
    ]
    return (
        f"{caller}: {names} are NaN at positions {rows_text(where.tolist(), noun='positions')}: "
        "this fit's law gives no value there"
        + (f"; {hint}" if hint else "")
        + (f"; {'; '.join(nearest)}" if nearest else "")
    )


def check_ci(ci, name: str = "ci") -> float:
    """An interval mass (or probability) in (0, 1), as a float."""
    return check_probability(name, ci)


# a mean whose Monte Carlo standard error (sd / sqrt(draws)) exceeds this share of the draws'
# central 90% width rests on a few extreme draws (e.g. "drift" far out, whose ln-loss slope
# scale is log-normal): warned (:func:`unstable_means`). Draws of a light-tailed quantity give
# about 1 / (3.3 sqrt(S)): 1.3% at S = 600, 10% at S = 11
MEAN_MCSE_SHARE = 0.1
MEAN_SPREAD_MASS = 0.9  # the central mass whose width the standard error is compared with


def unstable_means(values: np.ndarray) -> np.ndarray:
    """Per query point (Q,) bool: whether the mean of ``values`` (S, Q) rests on a few extreme
    draws, i.e. its Monte Carlo standard error, sd / sqrt(S), exceeds ``MEAN_MCSE_SHARE`` of
    the width of the draws' central ``MEAN_SPREAD_MASS`` (whatever ``ci`` the caller asks);
    False where the draws are all NaN."""
    values = np.asarray(values, float)
    tail = (1 - MEAN_SPREAD_MASS) / 2
    ok = np.isfinite(values)
    if ok.all():  # the common case, without the NaN-aware functions' cost
        mcse = values.std(axis=0) / np.sqrt(len(values))
        lower, upper = np.quantile(values, [tail, 1 - tail], axis=0)
        return mcse > MEAN_MCSE_SHARE * (upper - lower)
    values = np.where(ok, values, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: NaN, then False
        finite = ok.sum(axis=0)
        mcse = np.nanstd(values, axis=0) / np.sqrt(np.maximum(finite, 1))
        lower, upper = np.nanquantile(values, [tail, 1 - tail], axis=0)
        return (finite > 0) & (mcse > MEAN_MCSE_SHARE * (upper - lower))


def unstable_mean_message(unstable: dict, index, caller: str = "predict") -> str:
    """The sentence for the quantities whose mean is unstable at some rows (``unstable``:
    quantity -> (Q,) bool, :func:`unstable_means`; ``index``: the answer's row labels);
    '' when none is."""
    said = [
        f"{name} at rows {rows_text(pd.Index(index)[flags])}"
        for name, flags in unstable.items()
        if np.any(flags)
    ]
    if not said:
        return ""
    return (
        f"{caller}: the mean of {'; '.join(said)} rests on a few extreme draws (its Monte Carlo "
        f"standard error is above {MEAN_MCSE_SHARE:.0%} of the draws' central "
        f"{MEAN_SPREAD_MASS:.0%} width), so "
        "it is not a usable estimate there: read the median and the interval"
    )


def summarise_draws(
    fit, query: pd.DataFrame, draws: dict, ci: float, kind: str, group=None
) -> tuple[pd.DataFrame, dict]:
    """``query`` plus, per quantity, median, mean, lower, upper of its draws (S, Q) (the law's
    primary quantity unprefixed, the others as ``<quantity>_median`` ...), and for each of the
    law's inputs (and C, FLOPs, for laws of N and D), and of its optional inputs in ``query``
    (lr, batch_size), its signed distance in decades outside the fitted range
    (``<input>_outside_decades``): of ``group``'s own runs for a fitted group, the pooled range
    for ``group=None`` or a fit without groups (:func:`~.extrapolation.distance.group_ranges`);
    and per quantity the query points (Q,) bool whose mean is unstable (:func:`unstable_means`)."""
    law = fit.law
    out = query.copy()
    unstable = {}
    for name, values in draws.items():
        prefix = "" if name == law.primary else f"{name}_"
        if np.isnan(values).all(axis=0).all():
            med = lo = hi = mean = np.full(len(query), np.nan)
        else:
            med, lo, hi = summarise(values, ci)
            mean = values.mean(axis=0)
            unstable[name] = unstable_means(values)
        out[f"{prefix}median"], out[f"{prefix}mean"] = med, mean
        out[f"{prefix}lower"], out[f"{prefix}upper"] = lo, hi
    out["ci"] = ci
    out["kind"] = kind
    ranges = group_ranges(fit, group)
    # compute too, for laws of (N, D): a point inside both ranges can lie far beyond the
    # largest fitted budget (a 10x larger model on 10x more tokens is 2 decades of C out)
    extra = ["C"] if "C" in query and "C" in ranges and "C" not in law.inputs else []
    # a setting (lr, batch_size) beyond the swept range: off any bowl the fit has seen
    extra += [a for a in law.optional_inputs if a in query and a in ranges]
    for axis in list(law.inputs) + extra:
        out[f"{axis}_outside_decades"] = outside_decades(query[axis], *ranges[axis])
    return out, unstable


# posterior draws x query rows that predict evaluates at once. Each quantity's draws are S x Q
# float64 (8 bytes a draw x row), and evaluating them (the law's internals, run noise, the
# discrepancy, the quantiles' sorted copies) peaked at about 18 (kind="mean") to 40
# (kind="new_run") bytes a draw x row (measured: 2,000 draws x 1e5 rows, 3.7 and 8.1 GB): a
# larger query is evaluated in blocks of this many entries, about 0.4-0.8 GB at the peak
PREDICT_BLOCK_ENTRIES = 20_000_000
BLOCK_STREAM = 7  # the stream that seeds the blocks of a chunked kind="new_run" query


def query_blocks(n_rows: int, n_draws: int) -> list[slice]:
    """Row slices (positions 0..n_rows-1, in order) in which :func:`predict` evaluates a query
    of ``n_rows`` points with ``n_draws`` posterior draws: one slice when n_draws x n_rows is
    at most ``PREDICT_BLOCK_ENTRIES``, else blocks of ``PREDICT_BLOCK_ENTRIES // n_draws``
    rows (at least one)."""
    if n_rows * n_draws <= PREDICT_BLOCK_ENTRIES:
        return [slice(0, n_rows)]
    size = max(1, PREDICT_BLOCK_ENTRIES // max(n_draws, 1))
    return [slice(start, min(start + size, n_rows)) for start in range(0, n_rows, size)]


def block_seed(seed: int, block: int) -> int:
    """The seed of block ``block`` (0, 1, ...) of a chunked ``kind="new_run"`` query asked with
    ``seed``: a fixed function of the two (stream ``BLOCK_STREAM``), so blocks draw independent
    noise and the answer is reproducible."""
    return int(np.random.SeedSequence([seed, BLOCK_STREAM, block]).generate_state(1)[0])


def block_draws(fit, query: pd.DataFrame, blocks: list, kind, group, seed, extrapolation):
    """Per row block of ``query`` (``blocks``: :func:`query_blocks`), its draws (name -> (S,
    rows)), one block at a time. One block: :func:`~.draws.quantity_draws` of the whole query,
    as always. Several: ``kind="mean"`` draws every block from one
    :class:`~.model.ModelView` of ``seed`` (each point's draws are those of the whole query,
    exactly: they depend on the point, the seed and no other point); ``"new_run"`` draws block
    b with seed :func:`block_seed` (seed, b), its noise (and, for a new group, its deviation)
    independent of the other blocks'. The cached GP and discrepancy states are fitted once."""
    if len(blocks) == 1:
        yield quantity_draws(
            fit, query, kind=kind, group=group, seed=seed, extrapolation=extrapolation
        )
        return
    seed = check_seed(seed)
    view = ModelView.of(fit, extrapolation, seed) if kind == "mean" else None
    for b, rows in enumerate(blocks):
        block = query.iloc[rows].reset_index(drop=True)
        if view is not None:
            yield view.draws(block, kind=kind, group=group)
        else:
            yield quantity_draws(
                fit, block, kind=kind, group=group, seed=block_seed(seed, b),
                extrapolation=extrapolation,
            )  # fmt: skip


def joined_summaries(summaries: list) -> tuple[pd.DataFrame, dict]:
    """The (table, unstable) pairs of :func:`summarise_draws` for consecutive row blocks of one
    query as one pair for the whole query: tables stacked in order, each quantity's unstable
    flags (Q,) concatenated (False in a block that had none for it)."""
    if len(summaries) == 1:
        return summaries[0]
    tables = [table for table, _ in summaries]
    names = list(dict.fromkeys(name for _, unstable in summaries for name in unstable))
    unstable = {
        name: np.concatenate(
            [flags.get(name, np.zeros(len(table), bool)) for table, flags in summaries]
        )
        for name in names
    }
    return pd.concat(tables), unstable


# the units of predict's columns (its answer's attrs["units"], :func:`units_text`)
INPUT_UNITS = {
    "N": "N in parameters",
    "D": "D in tokens",
    "C": "C in FLOPs",
    "lr": "lr as given (the fit's runs' units)",
    "batch_size": "batch_size in tokens",
}
QUANTITY_UNITS = {
    "loss": "in the fit's runs' loss units",
    "loss_opt": "in the runs' loss units (the loss at the optimal lr and batch size)",
    "eta_opt": "in lr's units (as the runs give lr)",
    "B_opt": "in tokens",
    "rel_penalty": "a fraction (L(lr, B) / L_opt - 1)",
    "penalty": "in the runs' loss units (L(lr, B) - L_opt)",
}
STATS = ("median", "mean", "lower", "upper")
SMOOTH_OPTIMA = ("eta_opt", "B_opt")  # quantities that are the bowl's smooth minimum
SMOOTH_OPTIMUM_NOTE = (
    "{names} are the smooth minimum of the fitted loss bowl over (lr, batch size), not the "
    "run of least measured loss on a grid (that run also moves with the grid's spacing, the "
    "run noise and the bowl's flatness, so these intervals need not hold a cell's measured "
    "best run): for the grid run to pick, or to check a measured best run, use "
    "bayeslaws.laws.sweep.best_run (a fit of law 'sweep')"
)


def table_quantities(columns, primary: str | None) -> list[str]:
    """The quantities summarised in a prediction table with ``columns`` (:func:`predict`'s):
    ``primary`` when the unprefixed ``median`` is there, and each ``<quantity>`` of a
    ``<quantity>_median`` column, in column order."""
    columns = list(columns)
    names = [primary] if primary is not None and "median" in columns else []
    return names + [c[: -len("_median")] for c in columns if c.endswith("_median")]


def units_text(columns, primary: str | None) -> str:
    """The units of a prediction table's ``columns`` (:func:`predict`'s or
    :func:`loss_penalty`'s; ``primary``: the law's quantity under unprefixed names), one
    sentence for its ``attrs["units"]``: the inputs (N parameters, D tokens, C FLOPs, lr as
    given, batch_size tokens), each quantity's median/mean/lower/upper, ci and the signed
    decades of ``*_outside_decades``."""
    columns = list(columns)
    parts = [words for name, words in INPUT_UNITS.items() if name in columns]
    for name in table_quantities(columns, primary):
        stats = "/".join(STATS) if name == primary else f"{name}_{{{','.join(STATS)}}}"
        unit = QUANTITY_UNITS.get(name, "in the law's natural units")
        parts.append(f"{stats} ({name}) {unit}" if name == primary else f"{stats} {unit}")
    if "ci" in columns:
        parts.append("ci the central interval mass of lower..upper")
    if any(c.endswith("_outside_decades") for c in columns):
        parts.append(
            "*_outside_decades signed decades outside the fitted range (0 inside, +1 ten "
            "times above its largest value, -1 ten times below its smallest)"
        )
    return "; ".join(parts)


def smooth_optimum_note(columns) -> str:
    """The note for a prediction table whose ``columns`` hold ``eta_opt`` or ``B_opt``
    (``<name>_median`` ...): they are the bowl's smooth optimum, not a grid's best run
    (:func:`bayeslaws.laws.sweep.best_run`); '' when they hold neither."""
    names = [name for name in SMOOTH_OPTIMA if f"{name}_median" in set(columns)]
    return SMOOTH_OPTIMUM_NOTE.format(names=" and ".join(names)) if names else ""


def with_units(table: pd.DataFrame, primary: str | None) -> pd.DataFrame:
    """``table`` (a prediction table, changed in place) with ``attrs["units"]``
    (:func:`units_text`) and, when it holds eta_opt or B_opt, ``attrs["notes"]``
    (:func:`smooth_optimum_note`; otherwise no such key)."""
    table.attrs["units"] = units_text(table.columns, primary)
    note = smooth_optimum_note(table.columns)
    if note:
        table.attrs["notes"] = note
    else:
        table.attrs.pop("notes", None)
    return table


def predict(
    fit,
    N=None,
    D=None,
    C=None,
    *,
    ci: float = 0.9,
    kind: str = "mean",
    group=None,
    seed: int = 0,
    extrapolation: str = DEFAULT_METHOD,
    _new_group_noted: bool = False,
    _range_noted: bool = False,
    _missing_noted: bool = False,
    **inputs,
) -> pd.DataFrame:
    """What the fitted law predicts at query points: one row per point, with intervals.

    Parameters
    ----------
    fit : a :class:`~bayeslaws.inference.Fit` of any law.
    N, D, C : any two of model size (params), training tokens and compute (FLOPs); scalars or
        1-d sequences (broadcast). pandas Series keep their row labels: the answer's index is
        their (one, shared) index, so ``table.assign(pred=predict(fit, N=table.N,
        D=table.D)["median"])`` puts each row's prediction on that row; Series with different
        indexes raise ValueError (pass ``.to_numpy()`` to pair values by position). A
        length-1 Series broadcast against a longer input has one label for several rows, so
        its label is dropped: the answer is then numbered 0..Q-1. N below one parameter or D
        below one token (given, or derived from C) is a ValueError naming it.
    ci : central credible-interval mass (0.9 -> 5% and 95% quantiles).
    kind : "mean" (the law's uncertainty) or "new_run" (plus run-to-run noise and the model
        discrepancy; under the default "gp" its intervals over-cover inside the fitted range,
        and its bounds are Monte Carlo quantiles that depend slightly on the other query points:
        see the module docstring).
    group : a fitted group's label; None with a grouped fit predicts for a new, unseen group
        (wider: its deviation is drawn from the groups' spread; warned once per fit).
    seed : seeds the noise and new-group draws. A query of more than ``PREDICT_BLOCK_ENTRIES``
        (2e7) posterior draws x points is evaluated in blocks of rows (memory below):
        ``kind="mean"`` answers are those of the whole query at once, exactly; ``"new_run"``
        block b draws its noise (and a new group's deviation) with seed ``block_seed(seed,
        b)``, so its rows' bounds differ from an unblocked query's by Monte Carlo error only.
    extrapolation : the model uncertainty added (:mod:`bayeslaws.posterior.model`). "gp"
        (default; fitted on first use and kept in ``fit.cache``; on a grouped fit one GP per
        group, the group's own), "none", and the alternatives
        compared in ``benchmarks/calibration.py`` ("gp_discrepancy", "stacking_discrepancy",
        "discrepancy", "discrepancy_t", "stacking") widen ``new_run`` loss draws only and leave
        ``kind="mean"`` as the fitted law's. "model" (forms averaged, GP pattern and drift
        beyond the range) and "drift" (the same without form averaging) model the true loss
        surface itself, so they change ``kind="mean"`` too.
    **inputs : the law's further inputs, e.g. ``lr=`` and ``batch_size=`` (tokens) for
        "sweep" and "hyperparams": the loss columns are then the loss of a run trained at that
        setting, ``loss_opt_*`` the loss at the optimal lr and batch size, and
        ``rel_penalty_*``, ``penalty_*`` the cost of the setting. ``eta_opt_*`` and
        ``B_opt_*`` are the SMOOTH minimum of the fitted bowl, not the run a grid would find
        best (that run also moves with the grid's spacing, the run noise and the bowl's
        flatness: at Step Law's training cells the 90% interval of eta_opt held the cell's
        measured best lr at 1 of 15 cells); for the grid run to pick use
        :func:`bayeslaws.laws.sweep.best_run` (a fit of law 'sweep').
    _new_group_noted : private: the caller tells its user itself that ``group=None`` answers
        for a new group (no warning).
    _range_noted : private: the caller warns of (or states) the points far outside the
        fitted range itself (no :class:`ExtrapolationWarning` from here).
    _missing_noted : private: the caller says itself which values are NaN and why (no
        warning from here).

    Returns
    -------
    DataFrame, one row per query point (indexed like pandas Series inputs, else 0..Q-1; a
    length-1 Series broadcast to more rows leaves the index 0..Q-1), with
    the query columns (N, D, C, ...), then for the law's primary quantity (the
    loss for loss surfaces) median, mean, lower, upper, and for its other quantities
    ``<quantity>_median`` etc. (e.g. eta_opt_median, B_opt_lower), ci, kind, and
    ``<input>_outside_decades``: how far each point lies outside the fitted range, in
    decades and signed (0 inside, +1 = ten times larger than the largest fitted value, -1 =
    ten times below the smallest fitted value): for a fitted group, that group's
    own runs' range; for a new group (``group=None``) or a fit without groups, the range of
    all the runs. Points more than ``WARN_DECADES`` (2, i.e. 100x) outside it in N, D or C
    issue one :class:`~bayeslaws.posterior.allocation.ExtrapolationWarning` per call, naming
    their positions, distances and the range (as the allocation warns; silenced within
    :func:`~bayeslaws.posterior.allocation.range_stated`). A query that gives D to a fit
    whose budgets are nominal (an isoFLOP law on runs whose C is not the compute model's
    FLOPs of N and D, e.g. Marin's) issues a
    :class:`NominalComputeWarning`: its C = flops(N, D) misses the fitted budgets, so ask such
    a fit by N and the nominal C. A ``mean`` that rests on a few extreme draws (its Monte Carlo
    standard error above ``MEAN_MCSE_SHARE`` of its draws' central 90% width, e.g. under "drift" far
    beyond the fitted range) is warned, naming the quantity and rows: read the median there.
    A quantity the law gives no value of at some points (NaN; e.g. the loss columns of law
    'hyperparams' fitted with ``loss_level='free'``, known only at its fitted (N, D) cells) is
    warned (UserWarning), naming the quantities, positions and the law's remedy
    (:func:`missing_values_message`).
    Each warning is issued once per call, with positions in the whole query.
    ``attrs["units"]`` states the columns' units (:func:`units_text`): N parameters, D
    tokens, C FLOPs, lr as given (the runs' units), batch_size tokens, the loss columns in
    the runs' loss units, eta_opt as lr, B_opt tokens, ``*_outside_decades`` signed decades;
    when eta_opt or B_opt columns are present, ``attrs["notes"]`` says they are the bowl's
    smooth optimum, not a grid's best run (:func:`smooth_optimum_note`).

    Memory: the draws are S posterior draws x Q points, float64 (8 bytes a draw x point per
    quantity), and evaluating them peaks at about 18 (``kind="mean"``) to 40 (``"new_run"``)
    bytes a draw x point per quantity; queries beyond ``PREDICT_BLOCK_ENTRIES`` draws x points
    are evaluated and summarised ``PREDICT_BLOCK_ENTRIES // S`` rows at a time, which bounds
    that peak (about 0.8 GB per quantity) whatever Q; the answer itself is a few dozen bytes a
    point.
    """
    check_fit(fit)
    ci = check_ci(ci)
    index = shared_index(N=N, D=D, C=C, **inputs)
    query = query_frame(fit, N, D, C, group=group, **inputs)
    blocks = query_blocks(len(query), fit.posterior().n_draws)
    summaries = []
    drawn = block_draws(fit, query, blocks, kind, group, seed, extrapolation)
    for rows, draws in zip(blocks, drawn, strict=True):
        summaries.append(summarise_draws(fit, query.iloc[rows], draws, ci, kind, group))
        del draws  # free a block's draws before the next is drawn
    out, unstable = joined_summaries(summaries)
    if not _range_noted:
        warn_far_points(fit, out, group)
    missing = "" if _missing_noted else missing_values_message(fit, out, group)
    if group is not None:  # the fit's label: 10.0 asks for group "10", as the law names it
        label = fitted_label(fit, group)
        out.insert(0, "group", group if label is None else label)
    out = labelled(out, index)
    if missing:
        warn_user(missing, UserWarning)
    message = unstable_mean_message(unstable, out.index)
    if message:
        warn_user(message, UserWarning)
    message = nominal_query_message(fit) if D is not None else ""
    if message:
        warn_user(message, NominalComputeWarning)
    # warn_new_group warns one frame below this one; at the user's line, as query_frame's
    warn_new_group(fit, group, "predict", noted=_new_group_noted)
    return with_units(out, fit.law.primary)


def loss_penalty(
    fit,
    N,
    D,
    lr,
    batch_size,
    *,
    ci=0.9,
    kind="new_run",
    group=None,
    seed=0,
    _new_group_noted: bool = False,
    _missing_noted: bool = False,
):
    """Expected loss cost of training at (lr, batch_size tokens) at (N params, D tokens) instead
    of at the optimum, with a central ``ci`` interval (laws that take lr and batch_size).

    Per query point: ``rel_penalty`` = L(lr, B) / L_opt - 1 and ``penalty`` = L(lr, B) - L_opt
    in loss units (NaN where the loss level is unknown): mean, median, lower, upper; and, as in
    :func:`predict`, ``<input>_outside_decades`` for N, D (and C) and the setting (lr,
    batch_size): a penalty priced beyond the swept range extrapolates the bowl.
    ``kind="new_run"`` (default) includes the scatter of a new cell's optimum around the law;
    at a fitted cell the bowl is about that cell's own fitted optimum (either kind), so the
    penalty of its fitted optimum is 0. Points more than ``WARN_DECADES`` outside the fitted
    range in N, D or C warn as :func:`predict`'s do (once per call).
    N and D are both required (not C). pandas Series inputs keep their shared index, as in
    :func:`predict`; ``group=None`` on a grouped fit prices a new group (warned once per fit).
    A penalty the law cannot price (NaN) is warned as :func:`predict` warns
    (:func:`missing_values_message`; ``_missing_noted``: private, the caller says it itself).
    Units in ``attrs["units"]`` (:func:`units_text`)."""
    check_fit(fit)
    missing = [f"{name} = None" for name, values in (("N", N), ("D", D)) if values is None]
    if missing:
        raise ValueError(
            f"loss_penalty(): N (params) and D (tokens) are both required (the model size and "
            f"token count to price the setting at); got {' and '.join(missing)}"
        )
    for name, values in (("lr", lr), ("batch_size", batch_size)):
        if values is None:
            raise ValueError(f"loss_penalty(): {name} is required (the setting to price)")
        positive_array(name, values)
    if not {"lr", "batch_size"} <= set(fit.law.optional_inputs):
        raise LawCapabilityError(
            f"loss_penalty(): law {fit.law.name!r} has no loss penalty off the optimal lr and "
            "batch size (fit law 'sweep' or 'hyperparams')"
        )
    table = predict(
        fit, N, D, ci=ci, kind=kind, group=group, seed=seed, lr=lr, batch_size=batch_size,
        _new_group_noted=True, _range_noted=True, _missing_noted=True,
    )  # fmt: skip
    if "rel_penalty_median" not in table:
        raise ValueError(f"law {fit.law.name!r} has no loss penalty off the optimal lr and batch")
    keep = ["N", "D", "lr", "batch_size"] + [
        f"{q}_{s}" for q in ("rel_penalty", "penalty") for s in ("mean", "median", "lower", "upper")
    ]
    keep += [c for c in table if c.endswith("_outside_decades")]  # N, D, C, lr, batch_size
    warn_far_points(fit, table, group, "loss_penalty")
    if not _missing_noted:
        priced = table[keep].reset_index(drop=True)  # by position, as predict's warnings
        message = missing_values_message(fit, priced, group, "loss_penalty")
        if message:
            warn_user(message, UserWarning)
    warn_new_group(fit, group, "loss_penalty", noted=_new_group_noted)
    return with_units(table[keep].assign(ci=ci, kind=kind), fit.law.primary)
