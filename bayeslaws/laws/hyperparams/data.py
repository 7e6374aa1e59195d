"""From an LR x batch sweep to the hyperparameter law's model arguments: (N, D) cells, centred
logs, and diverged runs censored or excluded (never silently dropped).

Units: N params, D tokens, lr the peak learning rate, batch_size in tokens, loss > 0.
"""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import numpy as np
import pandas as pd

from ...runs import PlausibilityWarning, RunTable, RunTableError
from ...runs.cells import CELL_RTOL, NEAR_RTOL, cell_table, near_split_values, run_cells
from ...runs.messages import format_values
from ...runs.reading import diverged_flags
from ...runs.warn import user_stacklevel, warn_user
from ..contract import Prepared, Scales

MIN_BOWL_VALUES = 3  # distinct lr (or batch size) values a cell needs to place its bowl along it
IMPLAUSIBLE_FACTOR = 3.0  # without a threshold, a loss above 3x the median loss has diverged
FENCE = 3.0  # Tukey's far-out fence, in IQRs of a cell's converged ln losses
# The fence applies only in cells with at least this many converged (finite-loss, not diverged)
# runs: the quartiles of a handful of runs are mostly noise, and a fence on them excludes valid
# runs (a 30% subsample of the bundled sweep, 6-14 runs per cell: a valid run fenced in a cell
# of 6). On the full bundled sweep (36 runs per cell) and Step Law (47-120 per cell) the fence
# excludes the same runs with or without this minimum.
FENCE_MIN_RUNS = 12
# Cells with fewer converged runs get the same fence pooled over the sweep (pooled_fence_mask):
# on each run's ln loss above its cell's best, with the quartiles of that excess over every
# converged run of every cell. Chosen (fence 3, as above) on SIMULATED selection sweeps: 3x3
# grids cut from a Yin-like sweep with a collapsed run (loss 1.0, ~1.9x its cell's best) in each
# cell -- it flags those 16 and no run of 4 clean sweeps (a reviewer's selection sweeps, measured
# once in review commit 86c8884, no committed script). Not applied in cells with enough runs
# for their own fence: sweep-wide it also cut genuine runs high up a cell's wall. Confirmed
# once on a fresh SIMULATED sweep (benchmarks/sweep_small_cell_fence.py: 9-run cells, other
# optima laws, collapses at 1.7-2.3x): 12 of 12 collapsed runs, no false flag. Its reference is
# the sweep's typical excess, so a small cell's run further up its wall than that can be cut:
# on random 6- and 9-run subsamples of Step Law's cells 0-3 runs 12-15% up the high-LR cliff
# that the full cells' own fence keeps (measured once in review commit 86c8884, no committed
# script).


class DivergenceWarning(UserWarning):
    """Diverged runs were found and censored or excluded (the message names their rows; the
    counts and the rows' labels are in the fit's law state)."""


def positive_option(name: str, value, unit: str = "") -> float | None:
    """A law option that is a positive finite number or None, as a float; a ValueError naming
    the option otherwise."""
    if value is None:
        return None
    what = f"a positive number{f' ({unit})' if unit else ''} or None"
    if isinstance(value, bool | str) or not isinstance(value, int | float | np.number):
        raise ValueError(f"law option {name!r} must be {what}, got {value!r}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"law option {name!r} must be {what}, got {value!r}")
    return float(value)


def diverged_kinds(law, df: pd.DataFrame) -> list[tuple[np.ndarray, str]]:
    """The diverged runs by kind, disjoint: (mask (n_runs,), reason in words) for each kind
    present, in this order -- a missing (NaN) loss (or +inf, read as NaN by load_runs); a loss
    above the law's threshold (without one, above ``IMPLAUSIBLE_FACTOR`` x the median loss);
    flagged in a true ``diverged`` column (and neither)."""
    loss = df["loss"].to_numpy(float)
    missing = np.isnan(loss)
    # load_runs(allow_missing_loss=True) reads a +inf loss (a diverged run's log) as NaN: the
    # two are one kind here
    n_missing = int(missing.sum())
    kinds = [(missing, f"{n_missing} with a missing (NaN) or +inf loss")] if missing.any() else []
    above, words = np.zeros(len(df), bool), ""
    if law.divergence_threshold is not None:
        above = ~missing & (loss > law.divergence_threshold)
        words = f"loss > {law.divergence_threshold:g}"
    elif (~missing).any():
        # without a threshold, a loss far above every cell's losses has not converged either
        # (e.g. 1e6): never fitted as converged, never the censoring bound of real divergences
        bound = IMPLAUSIBLE_FACTOR * float(np.median(loss[~missing]))
        above = ~missing & (loss > bound)
        words = (
            f"loss > {IMPLAUSIBLE_FACTOR:g}x the median loss ({bound:.4g}) (Python: "
            "divergence_threshold=LOSS; command line: --option divergence_threshold=LOSS)"
        )
    if above.any():
        kinds.append((above, f"{int(above.sum())} with {words}"))
    if "diverged" in df:
        # parsed, never astype(bool): bool("no") is True (load_runs makes the column boolean)
        flagged = diverged_flags(df) & ~missing & ~above
        if flagged.any():
            more = " more" if kinds else ""
            kinds.append((flagged, f"{int(flagged.sum())}{more} flagged in column 'diverged'"))
    return kinds


def diverged_mask(law, df: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Runs that diverged (NaN loss, loss above the law's threshold -- without one, above
    ``IMPLAUSIBLE_FACTOR`` x the median loss -- or a true ``diverged``
    column), and the reasons in words (:func:`diverged_kinds`, joined)."""
    return joined(diverged_kinds(law, df), len(df))


def joined(kinds: list, n_runs: int) -> tuple[np.ndarray, list[str]]:
    """(The union of the masks (n_runs,) of ``kinds`` ((mask, reason) pairs), their reasons)."""
    mask = np.zeros(n_runs, dtype=bool)
    for kind, _ in kinds:
        mask |= kind
    return mask, [reason for _, reason in kinds]


def row_labels(labels) -> list[str]:
    """Row labels JSON-ready, as :meth:`RunTable.record` stores them (text), in order."""
    return [str(label) for label in labels]


def named_rows(runs: RunTable, clauses) -> str:
    """``clauses`` ((words, row labels) pairs, one per kind of run) as "words at rows 3, 7
    (0-based data rows, header not counted); words at rows 9", joined by "; ": each names its
    rows (the first 10, then "...") as :meth:`RunTable.at_rows` says them, what the rows count
    said once, in the first clause with rows; words without labels stand alone."""
    out, counted = [], False
    for words, labels in clauses:
        if len(labels) == 0:
            out.append(words)
            continue
        rows = runs.at_rows(labels)
        if counted:
            rows = rows.removesuffix(f" ({runs.row_note})")
        counted = True
        out.append(f"{words} at {rows}")
    return "; ".join(out)


def kind_clauses(index: pd.Index, kinds) -> list[tuple[str, pd.Index]]:
    """``kinds`` ((mask in the row order of ``index``, reason) pairs) as (reason, row labels)
    pairs, for :func:`named_rows`."""
    return [(reason, index[np.asarray(mask, bool)]) for mask, reason in kinds]


# the far-above runs' clause in :func:`named_rows` (their count and bound are said before it)
FAR_WORDS = "the far-above runs"


def far_mask(law, df: pd.DataFrame, diverged: np.ndarray):
    """Runs more than ``far_above`` above their cell's best converged run, and the bound
    best * (1 + far_above) per run (NaN where no bound applies)."""
    loss = df["loss"].to_numpy(float)
    if law.far_above is None:
        return np.zeros(len(df), bool), np.full(len(df), np.nan)
    clean = pd.Series(np.where(diverged, np.nan, loss))
    best = clean.groupby(run_cells(df)).transform("min").to_numpy(float)
    bound = best * (1.0 + law.far_above)
    far = ~diverged & (loss > bound)
    return far, bound


def fence_mask(
    df: pd.DataFrame,
    diverged: np.ndarray,
    cell: np.ndarray,
    fence: float | None,
    min_runs: int = FENCE_MIN_RUNS,
) -> np.ndarray:
    """Converged runs beyond their cell's far-out fence (Tukey): ln loss > Q3 + ``fence`` x IQR
    of the cell's converged (not ``diverged``) ln losses, only in cells with at least
    ``min_runs`` converged runs (the quartiles of fewer are noise). ``cell``: each run's cell
    index (row order of ``df``); ``fence=None``: no fence. Returns the mask (n_runs,). The one
    fence of laws ``sweep`` and ``hyperparams``."""
    if fence is None:
        return np.zeros(len(df), bool)
    log_loss = np.log(np.where(diverged, np.nan, df["loss"].to_numpy(float)))
    s = pd.Series(log_loss)
    q1 = s.groupby(cell).transform(lambda v: v.quantile(0.25)).to_numpy()
    q3 = s.groupby(cell).transform(lambda v: v.quantile(0.75)).to_numpy()
    enough = s.groupby(cell).transform("count").to_numpy() >= min_runs
    return enough & ~diverged & (log_loss > q3 + fence * (q3 - q1))


def fence_reason(n_runs: int, fence: float, min_runs: int = FENCE_MIN_RUNS) -> str:
    """``n_runs`` fenced runs in words (:func:`fence_mask`)."""
    return (
        f"{n_runs} beyond their cell's far-out fence (ln loss > Q3 + {fence:g} IQR; cells "
        f"with >= {min_runs} converged runs)"
    )


def excess_log_loss(df: pd.DataFrame, diverged: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Each run's ln loss above its cell's best converged run, (n_runs,): >= 0, 0 at the best,
    NaN for the ``diverged`` runs. ``cell``: each run's cell index (row order of ``df``)."""
    log_loss = pd.Series(np.log(np.where(diverged, np.nan, df["loss"].to_numpy(float))))
    return (log_loss - log_loss.groupby(cell).transform("min")).to_numpy(float)


def converged_in_cell(diverged: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Per run, how many converged (not ``diverged``) runs its cell has, (n_runs,)."""
    return pd.Series(~np.asarray(diverged, bool)).groupby(cell).transform("sum").to_numpy(int)


def pooled_fence_bound(excess: np.ndarray, fence: float, min_runs: int) -> float | None:
    """The far-out fence Q3 + ``fence`` x IQR of the excess ln losses (:func:`excess_log_loss`)
    pooled over every cell's converged runs; None when the pool has fewer than ``min_runs``
    runs or no spread (IQR 0: most cells have a single run), whose quartiles mean nothing."""
    pool = excess[np.isfinite(excess)]
    if len(pool) < min_runs:
        return None
    q1, q3 = np.quantile(pool, [0.25, 0.75])
    return None if q3 <= q1 else float(q3 + fence * (q3 - q1))


def pooled_fence_mask(
    df: pd.DataFrame,
    diverged: np.ndarray,
    cell: np.ndarray,
    fence: float | None,
    min_runs: int = FENCE_MIN_RUNS,
) -> np.ndarray:
    """Converged runs of the cells too small for :func:`fence_mask` (fewer than ``min_runs``
    converged runs) whose ln loss above their cell's best lies beyond the far-out fence of that
    excess pooled over the sweep's cells (:func:`pooled_fence_bound`): a collapsed run (e.g. a
    diffusion run at ~2x its cell's best) that 3x the median loss misses. Returns the mask
    (n_runs,); ``fence=None``: no fence."""
    if fence is None:
        return np.zeros(len(df), bool)
    excess = excess_log_loss(df, diverged, cell)
    bound = pooled_fence_bound(excess, fence, min_runs)
    if bound is None:
        return np.zeros(len(df), bool)
    small = converged_in_cell(diverged, cell) < min_runs
    return small & ~np.asarray(diverged, bool) & (excess > bound)


def pooled_fence_reason(n_runs: int, fence: float, min_runs: int = FENCE_MIN_RUNS) -> str:
    """``n_runs`` runs beyond the pooled fence in words (:func:`pooled_fence_mask`)."""
    return (
        f"{n_runs} beyond the far-out fence pooled over the sweep's cells (ln loss above their "
        f"cell's best > Q3 + {fence:g} IQR of that excess over every converged run; cells with "
        f"< {min_runs} converged runs)"
    )


def fence_kinds(
    own: np.ndarray, pooled: np.ndarray, fence: float, min_runs: int = FENCE_MIN_RUNS
) -> list[tuple[np.ndarray, str]]:
    """The fenced runs by kind, (mask (n_runs,), reason in words) for each kind present, in
    this order: ``own``, beyond their own cell's fence (:func:`fence_mask`), then ``pooled``,
    beyond the fence pooled over the sweep's cells (:func:`pooled_fence_mask`)."""
    kinds = [(own, fence_reason), (pooled, pooled_fence_reason)]
    return [(m, words(int(m.sum()), fence, min_runs)) for m, words in kinds if m.any()]


HIGH_FACTOR = 2.0  # a run not marked as diverged more than this many times its cell's best
# converged loss is named at fit time (PlausibilityWarning, and the divergence note): a
# convention, not tuned -- a run at twice its cell's best loss has most likely diverged or
# collapsed rather than sat on the bowl's wall. Step Law's raw sweep (no divergence marks) has
# 175 such runs at 2.1-3.2x their cell's best (measured once in review 7, no committed script;
# its authors call smooth loss > 4 diverged), which
# neither 3x the median loss nor the far-out fence (wide in those cells) catches. It only names
# them: they stay fitted as converged. The bundled SIMULATED sweep has none.


def high_mask(df: pd.DataFrame, diverged: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Runs not ``diverged`` whose loss is more than ``HIGH_FACTOR`` x their cell's best
    converged (not ``diverged``) loss, (n_runs,); ``cell``: each run's cell index (row order of
    ``df``). The excess is :func:`excess_log_loss`'s (ln loss above the cell's best)."""
    excess = excess_log_loss(df, diverged, cell)
    with np.errstate(invalid="ignore"):
        return ~np.asarray(diverged, bool) & (excess > np.log(HIGH_FACTOR))


def marked_words(law) -> str:
    """What marks a run as diverged, in words (:func:`diverged_kinds`)."""
    above = (
        f"a loss > {law.divergence_threshold:g}"
        if law.divergence_threshold is not None
        else f"a loss > {IMPLAUSIBLE_FACTOR:g}x the median loss"
    )
    return f"a missing or +inf loss, {above}, or a true 'diverged' column"


def high_words(runs: RunTable, labels, limit: int = 10) -> str:
    """The runs ``labels`` (:func:`high_mask`) in words, naming their rows (the first
    ``limit``) and the remedy."""
    return (
        f"{len(labels)} runs not marked as diverged lie more than {HIGH_FACTOR:g}x their (N, D) "
        f"cell's best converged loss (a convention, not tuned) and are fitted as converged, at "
        f"{runs.at_rows(labels, limit)}: if they diverged, mark them (a 'diverged' column, true "
        "for those runs) or give the loss above which runs diverged (Python: "
        "divergence_threshold=LOSS; command line: --option divergence_threshold=LOSS)"
    )


def far_reason(law, n_runs: int) -> str:
    """``n_runs`` far-above runs in words (``law.far_above`` a fraction: 0.03 = 3%)."""
    return f"{n_runs} more than {100 * law.far_above:g}% above their cell's best"


def run_masks(law, df: pd.DataFrame) -> dict:
    """Each run's role, as disjoint boolean arrays (n_runs,) in the row order of ``df``:
    ``diverged`` (:func:`diverged_mask`), ``far`` (more than ``far_above`` above the cell's best
    converged run, :func:`far_mask`) and ``fenced`` (beyond a far-out fence, :func:`fence_kinds`:
    their cell's own, or in cells with fewer than ``FENCE_MIN_RUNS`` converged runs the one
    pooled over the sweep's cells; and not far above), of which ``fenced_pooled`` are the
    latter, and ``high`` (none of those, yet more than ``HIGH_FACTOR`` x the cell's best
    converged loss, :func:`high_mask`: fitted as converged, named only); with ``far_bound``
    (the loss bound per run, NaN where none), ``reasons`` (the
    diverged runs' in words) and ``named``: (words, row labels) per kind of diverged run, then
    the far-above runs (:func:`named_rows`; labels, so they outlive :func:`subset`)."""
    kinds = diverged_kinds(law, df)
    diverged, reasons = joined(kinds, len(df))
    far, far_bound = far_mask(law, df, diverged)
    cell = run_cells(df)
    fenced = fence_mask(df, diverged, cell, law.fence) & ~far
    pooled = pooled_fence_mask(df, diverged, cell, law.fence) & ~far
    return {
        "diverged": diverged,
        "far": far,
        "far_bound": far_bound,
        "fenced": fenced | pooled,
        "fenced_pooled": pooled,
        # fitted as converged, yet more than HIGH_FACTOR x their cell's best: named only
        "high": high_mask(df, diverged, cell) & ~far & ~(fenced | pooled),
        "reasons": reasons,
        "named": kind_clauses(df.index, kinds + ([(far, FAR_WORDS)] if far.any() else [])),
    }


def check_columns(runs: RunTable, law_name: str = "hyperparams") -> None:
    """A RunTableError naming law ``law_name`` and the remedy when ``lr`` or ``batch_size`` is
    missing (laws ``hyperparams`` and ``sweep``)."""
    for column in ("lr", "batch_size"):
        if column not in runs.df:
            raise RunTableError(
                f"law {law_name!r} needs column {column!r} "
                f"({'learning rate' if column == 'lr' else 'batch size in tokens'}), which "
                f"the run table lacks; its columns are {[str(c) for c in runs.df.columns]} "
                f"(Python: load_runs(..., {column}='name'); command line: --{column} NAME or "
                f"--column {column}=NAME)"
            )


def excluded_words(law, n_diverged: int, n_far: int) -> str:
    """"D diverged runs [and F more than x% above their cell's best] excluded"."""
    words = f"{n_diverged} diverged runs"
    if n_far:
        words += f" and {far_reason(law, n_far)}"
    return words + " excluded"


def censored_words(law, n_diverged: int, n_far: int, bound: float) -> str:
    """"D diverged runs censored at loss bound (what bound is: the law's divergence_threshold,
    else the highest converged loss; a censored run is fitted as a loss of at least its
    bound)[ and F more than x% above their cell's best, censored at (1 + x) x that best]"
    (either part alone when the other counts none); with ``far_above`` a diverged run is
    censored at the smaller of bound and (1 + x) x its cell's best, and the words say so. One
    number per role: the bound a run is censored at, never the rule that found it diverged
    (the reasons after the colon say that)."""
    what = (
        "the law's divergence_threshold"
        if law.divergence_threshold is not None
        else "the highest converged loss"
    )
    at = f"loss {bound:.4g}, {what}"
    if law.far_above is not None:
        at = f"the smaller of loss {bound:.4g} ({what}) and {1 + law.far_above:g}x its cell's best"
    at += " (fitted as a loss of at least that)"
    parts = [f"{n_diverged} diverged runs censored at {at}"] if n_diverged else []
    if n_far:
        far = f"{far_reason(law, n_far)}, censored at {1 + law.far_above:g}x that best"
        parts.append(far if n_diverged else far.replace(", censored at", " censored at"))
    return " and ".join(parts)


def exclude_diverged(law, runs: RunTable, masks: dict | None = None) -> RunTable:
    """Check the columns and apply ``divergence="exclude"`` to the diverged and far-above runs
    (recorded on the run table, with a DivergenceWarning counting each kind apart and naming
    its rows). ``masks``: :func:`run_masks` of ``runs`` (computed when None)."""
    check_columns(runs)
    if law.divergence != "exclude":
        return runs
    masks = run_masks(law, runs.df) if masks is None else masks
    diverged, far = masks["diverged"], masks["far"]
    reasons = list(masks["reasons"])
    if far.any():
        reasons.append(far_reason(law, int(far.sum())))
    mask = diverged | far
    if not mask.any():
        return runs
    words = excluded_words(law, int(diverged.sum()), int(far.sum()))
    warnings.warn(
        f"{words}: {named_rows(runs, masks['named'])}; divergence='exclude'",
        DivergenceWarning,
        stacklevel=user_stacklevel(),
    )
    return runs.exclude(mask, f"diverged runs ({'; '.join(reasons)}), divergence='exclude'")


def exclude_fenced(law, runs: RunTable, kinds: list[tuple[np.ndarray, str]]) -> RunTable:
    """Leave out the runs beyond a far-out fence (``kinds``: :func:`fence_kinds` in the row
    order of ``runs``), recorded on the run table one exclusion per kind, with a
    DivergenceWarning naming each kind's rows, as law ``sweep``."""
    if not kinds:
        return runs
    n_fenced = sum(int(mask.sum()) for mask, _ in kinds)
    why = named_rows(runs, kind_clauses(runs.df.index, kinds))
    warnings.warn(
        f"{n_fenced} of {len(runs)} runs excluded from the bowls: {why} (law option "
        "fence=None keeps them)",
        DivergenceWarning,
        stacklevel=user_stacklevel(),
    )
    labels = runs.df.index
    for mask, reason in kinds:  # matched by row label: each exclusion shortens the table
        left = pd.Series(mask, index=labels).reindex(runs.df.index).to_numpy(bool)
        runs = runs.exclude(left, f"not in the bowls: {reason} (law {law.name!r})")
    return runs


def describe_cells(cells: pd.DataFrame, limit: int = 5) -> str:
    """Cells as "(N=..., D=...)" (and their group when there are groups), at most ``limit``."""
    grouped = cells["g"].nunique() > 1 or not (cells["g"] == 0).all()
    words = [
        f"(N={n:.4g}, D={d:.4g}{f', group {g}' if grouped else ''})"
        for g, n, d in cells[["g", "N", "D"]].itertuples(index=False)
    ]
    more = f" and {len(words) - limit} more" if len(words) > limit else ""
    return ", ".join(words[:limit]) + more


def exclude_empty_cells(law, runs: RunTable) -> tuple[RunTable, dict]:
    """Leave out the (N, D) cells none of whose runs converged (each one diverged: NaN loss,
    above the threshold or flagged): such a cell has no level or bowl to fit (its mean bowl over
    converged runs is 0/0). Their runs are excluded, recorded on the run table, with a
    DivergenceWarning naming their rows. Returns the table and {"n_cells", "n_runs", "rows"
    (their row labels)} left out. A table in which no run converged is returned as it is
    (``prepare`` refuses it by name)."""
    df = runs.df
    diverged, _ = diverged_mask(law, df)
    index, cells = cell_table(df["N"], df["D"], df["group"] if "group" in df else None)
    converged = np.bincount(index, weights=(~diverged).astype(float), minlength=len(cells))
    empty = converged[index] == 0
    if not empty.any() or empty.all():
        return runs, {"n_cells": 0, "n_runs": 0, "rows": df.index[:0]}
    lost = cells[converged == 0]
    what = (
        f"{len(lost)} (N, D) cells with no converged run (every run diverged), "
        f"{int(empty.sum())} runs: {describe_cells(lost)}"
    )
    rows = df.index[empty]
    warnings.warn(
        f"{what} left out of law {law.name!r}; their runs at {runs.at_rows(rows)}",
        DivergenceWarning,
        stacklevel=user_stacklevel(),
    )
    out = runs.exclude(empty, f"cells with no converged run: {what}")
    return out, {"n_cells": int(len(lost)), "n_runs": int(empty.sum()), "rows": rows}


def subset(masks: dict, keep: np.ndarray) -> dict:
    """:func:`run_masks` restricted to the runs ``keep`` (boolean, row order)."""
    return {k: v[keep] if isinstance(v, np.ndarray) else v for k, v in masks.items()}


def values_per_cell(
    df: pd.DataFrame, cell_index, n_cells: int | None = None, columns=("lr", "batch_size")
) -> pd.DataFrame:
    """Per (N, D) cell, how many distinct values of each of ``columns`` its runs take (``df``:
    the runs counted; ``cell_index`` (R,) their cells; missing values not counted): one row a
    cell, 0 to ``n_cells`` - 1 (default: the highest index of ``cell_index`` + 1; a cell with
    no run counts 0), one int column a column. The count every "does a cell sweep it" rule
    reads (:func:`unswept`, :func:`swept_columns`, :func:`thin_cells`, law 'sweep''s
    ``thinly_swept``)."""
    index = np.asarray(cell_index, int)
    n = (int(index.max()) + 1 if len(index) else 0) if n_cells is None else n_cells
    counts = df[list(columns)].groupby(index).nunique().reindex(range(n), fill_value=0)
    return counts.astype(int).reset_index(drop=True)


def unswept(most: pd.Series) -> list[str]:
    """The columns (``lr``, ``batch_size``) that no cell sweeps: no (N, D) cell has 3 distinct
    values of it among its converged runs, so no cell's runs place the bowl's centre along it;
    ``most``: per column the most distinct values one cell's converged runs take (the max of
    :func:`values_per_cell`); as "column (at most k per cell)"."""
    return [
        f"{column!r} (at most {int(most[column])} values per cell)"
        for column in most.index
        if most[column] < MIN_BOWL_VALUES
    ]


def swept_columns(most: pd.Series) -> list[str]:
    """The columns (``lr``, ``batch_size``) that some (N, D) cell varies over at least
    ``MIN_BOWL_VALUES`` distinct values among its converged runs (``most``: as
    :func:`unswept` reads it): those :func:`unswept` does not name."""
    return [column for column in most.index if most[column] >= MIN_BOWL_VALUES]


def warn_unswept(columns: list[str], n_cells: int) -> str | None:
    """A PlausibilityWarning (and its text, None when every column is swept) naming the
    columns no cell sweeps (:func:`unswept`)."""
    if not columns:
        return None
    text = (
        f"no (N, D) cell of the {n_cells} varies {' or '.join(columns)} over at least 3 "
        "converged runs: within a cell the bowl's centre along it is not placed by its runs, so "
        "its optimum (eta_opt for 'lr', B_opt for 'batch_size') rests on the priors and the "
        "spread across cells. Sweep it within cells (at least 3 values at one (N, D))"
    )
    warnings.warn(f"law 'hyperparams': {text}", PlausibilityWarning, stacklevel=user_stacklevel())
    return text


def thin_cells(df: pd.DataFrame, cell_index, cells: pd.DataFrame, columns) -> pd.DataFrame:
    """The (N, D) cells (rows of ``cells``, a :func:`~bayeslaws.runs.cells.cell_table`) whose
    runs (``df``: those counted, law 'sweep' its runs in the bowls, law 'hyperparams' its
    converged runs; ``cell_index`` (R,) their cells) vary one of ``columns`` (``lr``,
    ``batch_size``) over fewer than ``MIN_BOWL_VALUES`` distinct values, with columns
    ``n_runs`` and, per column, its number of distinct values added."""
    index = np.asarray(cell_index)
    counts = values_per_cell(df, index, len(cells), columns)
    out = cells.assign(n_runs=np.bincount(index, minlength=len(cells)))
    for column in columns:
        out[column] = counts[column].to_numpy()
    return out[(counts < MIN_BOWL_VALUES).any(axis=1).to_numpy()]


def warn_thin_cells(
    thin: pd.DataFrame,
    n_cells: int,
    columns,
    law_name: str,
    runs_words: str = "runs in the bowls",
    limit: int = 5,
) -> str | None:
    """A PlausibilityWarning from law ``law_name`` (and its text; None when ``thin`` is empty)
    naming the cells of :func:`thin_cells` (at most ``limit``), of the ``n_cells``, and what
    their optima rest on; ``runs_words``: which of a cell's runs were counted."""
    if thin.empty:
        return None
    words = [
        f"(N={row['N']:.4g}, D={row['D']:.4g}: "
        + ", ".join(f"{row[c]} {c}" for c in columns)
        + f", {row['n_runs']} run{'s' if row['n_runs'] != 1 else ''})"
        for row in thin.to_dict("records")
    ]
    more = f" and {len(words) - limit} more" if len(words) > limit else ""
    short = [c for c in columns if (thin[c] < MIN_BOWL_VALUES).any()]
    named = " or ".join(repr(c) for c in short)
    optima = " and ".join({"lr": "eta_opt", "batch_size": "B_opt"}[c] for c in short)
    text = (
        f"{len(thin)} of {n_cells} (N, D) cells vary {named} over fewer than {MIN_BOWL_VALUES} "
        f"values among their {runs_words}: {', '.join(words[:limit])}{more}. A cell's "
        "own runs cannot place its bowl's minimum along such a column, so at these cells "
        f"{optima} come{'s' if len(short) == 1 else ''} from the optima's laws across cells "
        f"and their scatter, not from the cell's runs. Sweep at least {MIN_BOWL_VALUES} values "
        "of each in every cell, or read those cells' optima as the laws'"
    )
    warnings.warn(f"law {law_name!r}: {text}", PlausibilityWarning, stacklevel=user_stacklevel())
    return text


def warn_split_cells(cells: pd.DataFrame, law_name: str, limit: int = 3) -> str | None:
    """A PlausibilityWarning from law ``law_name`` (and its text; None when there are none)
    naming near-equal N (params) or D (tokens) values at one D (resp. N) that make separate
    cells (:func:`~bayeslaws.runs.cells.near_split_values`; ``cells``: a
    :func:`~bayeslaws.runs.cells.cell_table`): at most ``limit`` sets per axis, how many cells
    they make, and how to give a cell's runs one value."""
    parts, axes = [], []
    for axis, other in (("N", "D"), ("D", "N")):
        chains = near_split_values(cells, axis)
        if not chains:
            continue
        n_split = sum(len(values) for _, _, values in chains)
        shown = "; ".join(
            f"{axis} = {', '.join(f'{v:.8g}' for v in values[:4])}"
            f"{', ...' if len(values) > 4 else ''} at {other} = {at:.4g} ({len(values)} cells)"
            for _, at, values in chains[:limit]
        )
        more = f"; and {len(chains) - limit} more sets" if len(chains) > limit else ""
        what = "params" if axis == "N" else "tokens"
        parts.append(
            f"{axis} ({what}) values within {NEAR_RTOL:.0%} of each other at the same {other} "
            f"make separate cells: {len(chains)} sets of near-equal {axis} make {n_split} cells "
            f"(one per set would make {len(chains)}): {shown}{more}"
        )
        axes.append(axis)
    if not parts:
        return None
    column = axes[-1]
    text = (
        f"{'; and '.join(parts)}. Runs share an (N, D) cell only when N and D agree within "
        f"{CELL_RTOL:g} (relative), so each of these cells has its own level, bowl and optimum "
        "from a part of the runs (often one batch size). If they are one value (e.g. D "
        "computed per run as batch x steps x sequence length), give each cell's runs one "
        f"common {column}: round it to the digits it was meant to have (e.g. 3 significant: "
        f"df[{column!r}] = df[{column!r}].map(lambda v: float(f'{{v:.3g}}'))) or set it to "
        "the cell's nominal value; if they are different values, keep them"
    )
    warnings.warn(f"law {law_name!r}: {text}", PlausibilityWarning, stacklevel=user_stacklevel())
    return text


CLIFF_EXCESS = 0.03  # a run this far (relative) above its cell's best is off the bowl's floor
CLIFF_SHARE = 0.25  # ... a cell with more than this share of such runs ...
CLIFF_SIDE = 1.5  # ... at least this many times as many above the best run's lr as below
# is cliff-heavy: lopsided towards high learning rates, not merely steep. Chosen on the
# selection sweeps: Step Law (steplaw_dense, flags applied) has 11 of 17 such cells (measured
# once in commit f9b6a50, no committed script), where the default quadratic bowl puts eta_opt
# ~4x too high (measured once in commit 6d8a6a5, no committed script); the bundled SIMULATED
# sweep none, and a SIMULATED steep symmetric bowl (VideoDiTTruth(k_lr=0.03, lr_asymmetry=0),
# whose default fit is right; 2 sizes x 2 token counts, seeds 0-2) 2 of 4, not more than half:
# warned when more than half the cells are so.


def cliff_sides(df: pd.DataFrame, ok: np.ndarray, cell_index: np.ndarray) -> tuple:
    """Per run (n_runs,), boolean: (off the floor: a converged run (``ok``) more than
    ``CLIFF_EXCESS`` above its cell's best converged loss; of those, at a higher lr than the
    cell's best run; at a lower one). ``cell_index``: each run's cell (row order of ``df``)."""
    cell_index = np.asarray(cell_index)
    loss = pd.Series(np.where(ok, df["loss"].to_numpy(float), np.nan))
    best = loss.groupby(cell_index).transform("min").to_numpy()
    lr = df["lr"].to_numpy(float)
    at_best = ok & (loss.to_numpy() == best)
    best_lr = pd.Series(np.where(at_best, lr, np.nan)).groupby(cell_index).transform("max")
    off_floor = ok & (loss.to_numpy() / best - 1 > CLIFF_EXCESS)
    return off_floor, off_floor & (lr > best_lr.to_numpy()), off_floor & (lr < best_lr.to_numpy())


def cliff_heavy_cells(df: pd.DataFrame, ok: np.ndarray, cell_index: np.ndarray) -> tuple:
    """(cliff-heavy cells, cells): how many cells have more than ``CLIFF_SHARE`` of their
    converged runs (``ok``) more than ``CLIFF_EXCESS`` above the cell's best converged loss,
    at least ``CLIFF_SIDE`` times as many of them at a higher lr than the best run's as at a
    lower one (:func:`cliff_sides`)."""
    cell_index = np.asarray(cell_index)
    off_floor, high, low = cliff_sides(df, ok, cell_index)
    by_cell = pd.DataFrame({"off": off_floor[ok], "high": high[ok], "low": low[ok]}).groupby(
        cell_index[ok]
    )
    share, high, low = by_cell["off"].mean(), by_cell["high"].sum(), by_cell["low"].sum()
    heavy = (share > CLIFF_SHARE) & (high >= CLIFF_SIDE * low) & (high > 0)
    return int(heavy.sum()), int(len(share))


def cliff_warned(law, df: pd.DataFrame, ok: np.ndarray, cell_index: np.ndarray) -> tuple:
    """(whether the cliff warning applies: ``far_above`` not set and more than half the cells
    cliff-heavy, cliff-heavy cells, cells) (:func:`cliff_heavy_cells`)."""
    if law.far_above is not None:
        return False, 0, 0
    heavy, n_cells = cliff_heavy_cells(df, ok, cell_index)
    return 2 * heavy > n_cells, heavy, n_cells  # more than half the cells


# the cliff warning's remedy (said again by screening of the runs it concerns: cliff_misfits)
CLIFF_REMEDY = (
    "Fit only runs near each cell's best (law option far_above=0.03, as "
    "paper_repro/hyperparams.py does on Step Law) or the whole sweep with law 'sweep'"
)


def warn_cliff(law, df: pd.DataFrame, ok: np.ndarray, cell_index: np.ndarray) -> str | None:
    """A PlausibilityWarning (and its text; None when not so) when ``far_above`` is not set
    and more than half the cells are cliff-heavy (:func:`cliff_heavy_cells`): the quadratic
    bowl may then be fitted mostly to runs far from the optimum on a high-LR cliff, and
    misplace it. (A steep bowl swept on a grid far off its centre looks the same: the warning
    says "may".)"""
    warned, heavy, n_cells = cliff_warned(law, df, ok, cell_index)
    if not warned:
        return None
    text = (
        f"in {heavy} of {n_cells} (N, D) cells more than {100 * CLIFF_SHARE:g}% of the "
        f"converged runs lie over {100 * CLIFF_EXCESS:g}% above the cell's best, mostly at "
        "higher learning rates than its best run: the quadratic bowl may be fitted mostly to "
        "runs far from the optimum on a high-LR cliff, and can then misplace "
        f"it (on Step Law's sweeps eta_opt ~4x too high). {CLIFF_REMEDY}"
    )
    warnings.warn(f"law 'hyperparams': {text}", PlausibilityWarning, stacklevel=user_stacklevel())
    return text


def cliff_misfits(law, prepared: Prepared, rows: list) -> dict:
    """Of ``rows`` (labels of runs in ``prepared.runs`` that outlier screening flagged), those
    the cliff warning concerns (:func:`warn_cliff`: it applies to this table, and the run is
    converged, more than ``CLIFF_EXCESS`` above its cell's best converged run and at a higher
    lr than that run): label -> the reason in words, with the warning's remedy. Where the
    warning does not apply (``far_above`` set, at most half the cells cliff-heavy): none.

    On Step Law (steplaw_dense, defaults) screening flagged 42 runs, all of them such runs
    (4-18% above their cell's best at 2.8-11x its lr); excluding them moved lr_int from 1.12
    to 1.39, further from the far_above=0.03 fit's -0.09."""
    if not rows:
        return {}
    df = prepared.runs.df
    censored = prepared.data.get("censored")
    ok = np.ones(len(df), bool) if censored is None else ~np.asarray(censored, bool)
    cell_index = np.asarray(prepared.data["cell_index"])
    warned, heavy, n_cells = cliff_warned(law, df, ok, cell_index)
    if not warned:
        return {}
    _, high, _ = cliff_sides(df, ok, cell_index)
    on_cliff = set(df.index[high])
    reason = (
        "they lie on the high-LR cliff of their (N, D) cells (over "
        f"{100 * CLIFF_EXCESS:g}% above the cell's best converged run, at a higher learning "
        f"rate than it), which law 'hyperparams' warned about ({heavy} of {n_cells} cells "
        "cliff-heavy): its quadratic bowl misfits that cliff, so they are most likely genuine "
        "runs where the law is wrong rather than mis-typed ones, and excluding them leaves the "
        "bowl on the cliff's other runs (on Step Law the optimum moved further off). "
        f"{CLIFF_REMEDY}"
    )
    return {label: reason for label in rows if label in on_cliff}


def prepare(law, runs: RunTable) -> Prepared:
    """Model arguments (centred logs, cell indices, censoring) and the JSON-ready facts."""
    check_columns(runs)
    # runs the table already lost to exclude_diverged (called on it before) count as excluded
    earlier = sum(e.count for e in runs.exclusions if e.reason.startswith("diverged runs"))
    runs, empty = exclude_empty_cells(law, runs)
    masks = run_masks(law, runs.df)
    counts = {k: int(masks[k].sum()) for k in ("diverged", "far", "fenced")}
    pooled = masks["fenced_pooled"]
    kinds = fence_kinds(masks["fenced"] & ~pooled, pooled, law.fence)
    fenced_why, n_pooled = named_rows(runs, kind_clauses(runs.df.index, kinds)), int(pooled.sum())
    high_rows = runs.df.index[masks["high"]]
    if len(high_rows):
        warn_user(f"law 'hyperparams': {high_words(runs, high_rows, limit=5)}", PlausibilityWarning)
    rows = {  # labels of the runs each count counts (censored or excluded, as the mode says)
        "diverged_rows": row_labels(runs.df.index[masks["diverged"]]),
        "far_above_rows": row_labels(runs.df.index[masks["far"]]),
        "fenced_rows": row_labels(runs.df.index[masks["fenced"]]),
        # not marked as diverged, more than HIGH_FACTOR x their cell's best: fitted as converged
        "high_unmarked_rows": row_labels(high_rows),
    }
    n_before_fence = len(runs)  # the count exclude_fenced's warning gives, "k of n runs"
    runs = exclude_fenced(law, runs, kinds)
    masks = subset(masks, ~masks["fenced"])
    excluded = law.divergence == "exclude"
    runs = exclude_diverged(law, runs, masks)
    if excluded:
        masks = subset(masks, ~(masks["diverged"] | masks["far"]))
    df = runs.df
    far, far_bound = masks["far"], masks["far_bound"]
    reasons = list(masks["reasons"])
    if far.any():
        reasons.append(far_reason(law, int(far.sum())))
    mask = masks["diverged"] | far  # censored (none left when excluded)
    ok = ~mask
    if ok.sum() == 0:
        raise RunTableError("law 'hyperparams': every run diverged; nothing to fit")
    for column in ("lr", "batch_size"):
        levels = df.loc[ok, column].nunique()
        if levels < 3:
            raise RunTableError(
                f"law 'hyperparams' needs at least 3 distinct values of {column!r} to place a "
                f"bowl; the run table has {levels}"
            )
    groups = tuple(None if g is None else str(g) for g in runs.groups)
    group_of = (
        np.zeros(len(df), dtype=int)
        if groups == (None,)
        else np.array([groups.index(str(g)) for g in df["group"]])
    )
    cell_index, cells = cell_table(df["N"], df["D"], group_of)
    n_cells = len(cells)
    if n_cells < 3:
        raise RunTableError(
            f"law 'hyperparams' needs at least 3 (N, D) cells to fit power laws in N and D; "
            f"the run table has {n_cells} (columns 'N' and 'D' take the values "
            f"{format_values(sorted(set(df['N'])))} and {format_values(sorted(set(df['D'])))})"
        )
    for column in ("N", "D"):
        if cells[column].nunique() < 2:
            raise RunTableError(
                f"law 'hyperparams' needs at least 2 distinct values of {column!r} across its "
                f"(N, D) cells to fit an exponent in {column}; the run table has one "
                f"({cells[column].iloc[0]:g})"
            )
    index = np.asarray(cell_index)
    most = values_per_cell(df[ok], index[ok]).max()  # per column, most values in one cell
    unswept_note = warn_unswept(unswept(most), n_cells)
    split_note = warn_split_cells(cells, law.name)
    # a column no cell sweeps is named by warn_unswept, not again cell by cell
    columns = swept_columns(most)
    thin = thin_cells(df[ok], index[ok], cells, columns)
    thin_note = warn_thin_cells(thin, n_cells, columns, law.name, runs_words="converged runs")
    cliff_note = warn_cliff(law, df, ok, index)
    loss = df["loss"].to_numpy(float)
    scales = Scales.from_columns(
        N=cells["N"], D=cells["D"], loss=loss[ok], lr=df["lr"], batch_size=df["batch_size"]
    )
    n_cens = int(mask.sum())
    bound = None
    z = np.log(np.where(ok, loss, 1.0)) - scales["loss"]
    censored = None
    if n_cens:
        # divergence == "censor" (exclude already removed them)
        bound = (
            law.divergence_threshold
            if law.divergence_threshold is not None
            else float(np.max(loss[ok]))
        )
        # with far_above the bowl is trusted only near each cell's best: a diverged run says
        # no more than a far-above one there (at most bound). Censored at the table-wide bound,
        # a diverged run in a low cell claimed to lie 20%+ above its best, and the bowl
        # steepened to reach it (Step Law: eta_opt 2-4x above every cell's best run).
        diverged_bound = np.fmin(far_bound, bound) if law.far_above is not None else bound
        run_bound = np.where(far, far_bound, diverged_bound)
        z = np.where(ok, z, np.log(run_bound) - scales["loss"])
        censored = jnp.asarray(mask)
        warnings.warn(
            f"{censored_words(law, counts['diverged'], counts['far'], bound)}: "
            f"{named_rows(runs, masks['named'])}; divergence='censor'",
            DivergenceWarning,
            stacklevel=user_stacklevel(),
        )
    n_excluded = (counts["diverged"] + counts["far"]) * excluded + counts["fenced"] + earlier
    x_cell = np.log(cells["N"].to_numpy(float)) - scales["N"]
    y_cell = np.log(cells["D"].to_numpy(float)) - scales["D"]
    data = {
        "p": jnp.asarray(scales.centre("lr", df["lr"])),
        "q": jnp.asarray(scales.centre("batch_size", df["batch_size"])),
        "cell_index": jnp.asarray(cell_index),
        "x_cell": jnp.asarray(x_cell),
        "y_cell": jnp.asarray(y_cell),
        "cell_group": jnp.asarray(cells["g"].to_numpy().astype(np.int32)),
        "censored": censored,
        "obs": jnp.asarray(z),
    }
    divergence = {
        "mode": law.divergence,
        "threshold": law.divergence_threshold,
        "n_diverged": counts["diverged"],  # censored or excluded (divergence mode)
        "n_far_above": counts["far"],  # censored or excluded (divergence mode)
        "far_above": law.far_above,
        "n_fenced": counts["fenced"],  # excluded whatever the mode
        "n_fenced_pooled": n_pooled,  # of which beyond the fence pooled over the cells
        "fence": law.fence,
        "fence_min_runs": FENCE_MIN_RUNS,
        "n_censored": n_cens,
        # a diverged run's bound; with far_above, the smaller of it and (1 + far_above) x its
        # cell's best (far-above runs: that alone)
        "censored_at_loss": bound,
        "n_excluded": int(n_excluded),  # diverged + far above (mode "exclude") + fenced
        "n_high_unmarked": len(high_rows),  # named only, fitted as converged
        "high_factor": HIGH_FACTOR,
        "n_cells_without_converged_run": empty["n_cells"],
        "n_runs_in_those_cells": empty["n_runs"],
        **rows,  # censored (mode "censor": diverged and far above) are in no exclusion
        "row_note": runs.row_note,  # what the rows' labels count
    }
    if n_cens:
        note = f"{censored_words(law, counts['diverged'], counts['far'], bound)}: "
        note += named_rows(runs, masks["named"])
    elif excluded and (counts["diverged"] or counts["far"]):
        note = f"{excluded_words(law, counts['diverged'], counts['far'])}: "
        note += named_rows(runs, masks["named"])
    else:
        note = f"no runs marked as diverged ({marked_words(law)})"
        note += " in the fitted cells" if empty["n_cells"] else ""
    if len(high_rows):
        note += f"; but {high_words(runs, high_rows)}"
    notes = (note,)
    if counts["fenced"]:
        notes += (
            f"{counts['fenced']} of {n_before_fence} runs excluded from the bowls: {fenced_why}",
        )
    if empty["n_cells"]:
        notes += (
            f"{empty['n_cells']} (N, D) cells with no converged run left out "
            f"({empty['n_runs']} runs, every one diverged, at {runs.at_rows(empty['rows'])})",
        )
    notes += tuple(t for t in (unswept_note, cliff_note, split_note, thin_note) if t)
    state = {
        "cells": {
            "N": cells["N"].astype(float).tolist(),
            "D": cells["D"].astype(float).tolist(),
            "group": cells["g"].astype(int).tolist(),
        },
        "divergence": divergence,
    }
    ranges = {
        c: [float(df[c].min()), float(df[c].max())] for c in ("N", "D", "C", "lr", "batch_size")
    }
    return Prepared(data, {"n_groups": len(groups)}, scales, groups, ranges, state, runs, notes)
