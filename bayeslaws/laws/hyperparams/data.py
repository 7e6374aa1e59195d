"""From an LR x batch sweep to the hyperparameter law's model arguments: (N, D) cells, centred
logs, and diverged runs censored or excluded (never silently dropped).

Units: N params, D tokens, lr the peak learning rate, batch_size in tokens, loss > 0.
"""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import numpy as np
import pandas as pd

from ...runs import RunTable, RunTableError
from ...runs.cells import cell_table, run_cells
from ...runs.table import diverged_flags, format_values
from ..contract import Prepared, Scales

IMPLAUSIBLE_FACTOR = 3.0  # without a threshold, a loss above 3x the median loss has diverged


class DivergenceWarning(UserWarning):
    """Diverged runs were found and censored or excluded (the count is in the fit's law state)."""


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


def diverged_mask(law, df: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Runs that diverged (NaN loss, loss above the law's threshold -- without one, above
    ``IMPLAUSIBLE_FACTOR`` x the median loss -- or a true ``diverged``
    column), and the reasons in words."""
    loss = df["loss"].to_numpy(float)
    reasons = []
    mask = np.isnan(loss)
    if mask.any():
        reasons.append(f"{int(mask.sum())} with a missing (NaN) loss")
    if law.divergence_threshold is not None:
        above = ~np.isnan(loss) & (loss > law.divergence_threshold)
        if above.any():
            reasons.append(f"{int(above.sum())} with loss > {law.divergence_threshold:g}")
        mask |= above
    elif (~mask).any():
        # without a threshold, a loss far above every cell's losses has not converged either
        # (e.g. 1e6): never fitted as converged, never the censoring bound of real divergences
        bound = IMPLAUSIBLE_FACTOR * float(np.median(loss[~mask]))
        above = ~mask & (loss > bound)
        if above.any():
            reasons.append(
                f"{int(above.sum())} with loss > {IMPLAUSIBLE_FACTOR:g}x the median loss "
                f"({bound:.4g}) (Python: divergence_threshold=LOSS; command line: --option "
                "divergence_threshold=LOSS)"
            )
        mask |= above
    if "diverged" in df:
        # parsed, never astype(bool): bool("no") is True (load_runs makes the column boolean)
        flag = diverged_flags(df)
        if (flag & ~mask).any():
            more = " more" if reasons else ""
            reasons.append(f"{int((flag & ~mask).sum())}{more} flagged in column 'diverged'")
        mask |= flag
    return mask, reasons


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


def exclude_diverged(law, runs: RunTable) -> RunTable:
    """Check the columns and apply ``divergence="exclude"`` (recorded on the run table)."""
    for column in ("lr", "batch_size"):
        if column not in runs.df:
            raise RunTableError(
                f"law 'hyperparams' needs column {column!r} "
                f"({'learning rate' if column == 'lr' else 'batch size in tokens'}), which "
                f"the run table lacks; its columns are {[str(c) for c in runs.df.columns]} "
                f"(Python: load_runs(..., {column}='name'); command line: --{column} NAME or "
                f"--column {column}=NAME)"
            )
    if law.divergence != "exclude":
        return runs
    mask, reasons = diverged_mask(law, runs.df)
    far, _ = far_mask(law, runs.df, mask)
    if far.any():
        reasons.append(f"{int(far.sum())} more than {law.far_above:g} above the cell's best")
        mask = mask | far
    if not mask.any():
        return runs
    warnings.warn(
        f"{int(mask.sum())} diverged runs excluded ({'; '.join(reasons)}); divergence='exclude'",
        DivergenceWarning,
        stacklevel=3,
    )
    return runs.exclude(mask, f"diverged runs ({'; '.join(reasons)}), divergence='exclude'")


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
    DivergenceWarning. Returns the table and {"n_cells", "n_runs"} left out. A table in which
    no run converged is returned as it is (``prepare`` refuses it by name)."""
    df = runs.df
    diverged, _ = diverged_mask(law, df)
    index, cells = cell_table(df["N"], df["D"], df["group"] if "group" in df else None)
    converged = np.bincount(index, weights=(~diverged).astype(float), minlength=len(cells))
    empty = converged[index] == 0
    if not empty.any() or empty.all():
        return runs, {"n_cells": 0, "n_runs": 0}
    lost = cells[converged == 0]
    what = (
        f"{len(lost)} (N, D) cells with no converged run (every run diverged), "
        f"{int(empty.sum())} runs: {describe_cells(lost)}"
    )
    warnings.warn(f"{what} left out of law {law.name!r}", DivergenceWarning, stacklevel=4)
    runs = runs.exclude(empty, f"cells with no converged run: {what}")
    return runs, {"n_cells": int(len(lost)), "n_runs": int(empty.sum())}


def prepare(law, runs: RunTable) -> Prepared:
    """Model arguments (centred logs, cell indices, censoring) and the JSON-ready facts."""
    runs, empty = exclude_empty_cells(law, runs)
    before = runs.df
    runs = exclude_diverged(law, runs)
    n_far_excluded = 0  # of the runs excluded as diverged: those only far above the best
    if law.divergence == "exclude" and len(runs.df) < len(before):
        far_before, _ = far_mask(law, before, diverged_mask(law, before)[0])
        n_far_excluded = int(far_before.sum())
    df = runs.df
    mask, reasons = diverged_mask(law, df)
    far, far_bound = far_mask(law, df, mask)
    if far.any():
        reasons.append(f"{int(far.sum())} more than {law.far_above:g} above the cell's best")
    mask = mask | far
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
    loss = df["loss"].to_numpy(float)
    scales = Scales.from_columns(
        N=cells["N"], D=cells["D"], loss=loss[ok], lr=df["lr"], batch_size=df["batch_size"]
    )
    n_div = int(mask.sum())
    bound = None
    z = np.log(np.where(ok, loss, 1.0)) - scales["loss"]
    censored = None
    if n_div:
        # divergence == "censor" (exclude already removed them)
        bound = (
            law.divergence_threshold
            if law.divergence_threshold is not None
            else float(np.max(loss[ok]))
        )
        run_bound = np.where(far, far_bound, bound)
        z = np.where(ok, z, np.log(run_bound) - scales["loss"])
        censored = jnp.asarray(mask)
        warnings.warn(
            f"{n_div} diverged runs censored: loss >= {bound:.4g} ({'; '.join(reasons)}); "
            "divergence='censor'",
            DivergenceWarning,
            stacklevel=3,
        )
    n_excluded = sum(e.count for e in runs.exclusions if e.reason.startswith("diverged runs"))
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
        "n_censored": n_div,
        "n_far_above": int(far.sum()),
        "censored_at_loss": bound,
        "n_excluded": int(n_excluded),
        "n_cells_without_converged_run": empty["n_cells"],
        "n_runs_in_those_cells": empty["n_runs"],
    }
    if n_div:
        note = f"{n_div} diverged runs censored (loss >= {bound:.4g})"
        if far.any():
            note += f", of which {int(far.sum())} far above the bowl (> {law.far_above:g})"
    elif n_excluded and n_far_excluded:
        note = (
            f"{n_excluded - n_far_excluded} diverged runs and {n_far_excluded} more than "
            f"{100 * law.far_above:g}% above their cell's best excluded"
        )
    elif n_excluded:
        note = f"{n_excluded} diverged runs excluded"
    else:
        note = "no diverged runs" + (" in the fitted cells" if empty["n_cells"] else "")
    notes = (note,)
    if empty["n_cells"]:
        notes += (
            f"{empty['n_cells']} (N, D) cells with no converged run left out "
            f"({empty['n_runs']} runs, every one diverged)",
        )
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
