"""The value checks of a canonical run table: impossible values are errors (missing,
non-positive or infinite values; fewer than one parameter or token), implausible ones are
warnings (:func:`check_plausible`: magnitudes outside those of :mod:`.magnitudes`, losses that
look diverged, one size written with two roundings); each names the column, the rows and the
likely fix."""

from __future__ import annotations

import shlex
import warnings

import numpy as np
import pandas as pd

from .cells import CELL_RTOL, rounded_twins
from .checks import rows_text
from .magnitudes import (
    BATCH_TOKENS_LOW,
    IMPOSSIBLE_BELOW,
    LOSS_HIGH,
    LOSS_MAX,
    LOSS_OUTLIER_FACTOR,
    LR_HIGH,
    PLAUSIBLE,
    QUANTITY,
    TOKENS_PER_PARAM,
)
from .messages import (
    EXCLUDE_HINT,
    ROWS_NOTE,
    PlausibilityWarning,
    RunTableError,
    at_rows,
    column_label,
    format_value,
    format_values,
    row_note_of,
)
from .reading import diverged_flags
from .units import (
    both_scaled,
    pair_hint,
    pair_message,
    tokens_per_param_of,
    unit_factor,
    unit_hint,
)
from .warn import user_stacklevel


def all_positive_finite(values: pd.Series, allow_missing: bool) -> bool:
    """Whether every value (numbers) is finite and > 0, a missing one (NaN) allowed when
    ``allow_missing``: the fast path of :meth:`RunTable.check_values`."""
    x = values.to_numpy(float)
    ok = np.isfinite(x) & (x > 0)
    if allow_missing:
        ok |= np.isnan(x)
    return bool(ok.all())


def check_positive_finite(
    df: pd.DataFrame,
    column: str,
    allow_missing: bool,
    note: str = ROWS_NOTE,
    name=None,
    typed: pd.Series | None = None,
) -> None:
    """Every value of ``column`` finite and > 0 (missing ones too unless ``allow_missing``);
    messages name the user's column ``name`` and show the values as ``typed`` (before units)."""
    values = df[column]
    shown = values if typed is None else typed
    missing = values.isna()
    if missing.any() and not allow_missing and column == "loss":
        posinf = np.isposinf(pd.to_numeric(values, errors="coerce").to_numpy(float))
        kinds = "missing values (or +inf)" if posinf.any() else "missing values"
        raise RunTableError(no_loss_message(df.index[missing | posinf], name, note, kinds))
    if missing.any() and not allow_missing:
        raise RunTableError(
            f"column {column_label(column, name)} has missing values at "
            f"{at_rows(df.index[missing], note)}{_unread_remedy(column)}"
        )
    present = values[~missing]
    bad = (~np.isfinite(present) | (present <= 0)).to_numpy(bool)
    if bad.any():
        diverged = column == "loss" and not allow_missing and np.isposinf(present[bad]).any()
        remedy = f": {_diverged_loss_remedy('loss logged as +inf')}" if diverged else ""
        raise RunTableError(
            f"column {column_label(column, name)} must be finite and positive; bad values at "
            f"{at_rows(present.index[bad], note)} (e.g. "
            f"{format_values(shown[~missing][bad], 3)}){remedy}{_unread_remedy(column)}"
        )


def _unread_remedy(column: str) -> str:
    """For an optional column (lr, batch_size), which only the laws of a sweep read: the
    remedy that leaves it out of the table, in both forms (Python; command line); else ""."""
    if column not in ("lr", "batch_size"):
        return ""
    return (
        f"; fitting a law that does not read {column}? Leave the column out (Python: "
        f"load_runs(..., ignore_columns=[{column!r}]); command line: --ignore-column {column})"
    )


def no_loss_message(
    rows, name=None, note: str = ROWS_NOTE, kinds: str = "missing values (or +inf)", still=""
) -> str:
    """The message for runs with no loss (missing, or logged as +inf) at ``rows`` (labels):
    the user's loss column ``name``, what the values are (``kinds``), an optional clause
    ``still`` after the rows (e.g. the rows a caller already left out), and the remedy for
    runs that diverged."""
    logged = "no loss logged" if kinds == "missing values" else "no loss, or +inf, logged"
    return (
        f"column {column_label('loss', name)} has {kinds} at {at_rows(rows, note)}{still}: "
        f"{_diverged_loss_remedy(logged)}"
    )


def _diverged_loss_remedy(logged: str) -> str:
    """The remedy for runs whose loss is missing or +inf (``logged`` says which): diverged
    runs are read with ``allow_missing_loss=True`` (as a missing loss), then a hyperparameter
    or sweep law counts them as diverged and records them; other laws need them excluded.
    In both forms (Python; command line), which the command line reduces to its own."""
    return (
        f"runs that diverged ({logged})? A hyperparameter or sweep law counts them as diverged "
        "and records them; other laws need them left out (Python: load_runs(..., "
        "allow_missing_loss=True) reads them with a missing loss (NaN), which the "
        "hyperparameter and sweep laws count as diverged and record (a 'diverged' column marks "
        "runs that logged a loss), and runs.exclude(runs.df['loss'].isna(), reason=...) leaves "
        "them out; command line: keep them with --keep-diverged, or leave them out with "
        "--exclude-rows ROWS --exclude-reason TEXT)"
    )


def warn_rounded_twins(out: pd.DataFrame, note: str, accepted, given) -> None:
    """A :class:`PlausibilityWarning` when a given column N or D holds, within a group, two
    values that look like one size written with two roundings (:func:`.cells.rounded_twins`:
    2.15e8 and 214663680): further apart than ``CELL_RTOL``, their runs are separate (N, D)
    cells. It names the values and some of their rows, never an ``accepted`` one: a pair is
    said only while each of its values has rows not accepted (accepting either value's rows
    vets the pair)."""
    quiet = out.index.isin(list(accepted))
    groups = out["group"].to_numpy() if "group" in out else np.zeros(len(out), dtype=int)
    for column in [c for c in ("N", "D") if c in given]:
        found = []
        values = out[column].to_numpy(float)
        for label in pd.unique(groups):
            rows = groups == label
            unvetted = set(values[rows & ~quiet].tolist())  # values with a row not accepted
            for short, full in rounded_twins(values[rows]):
                if short in unvetted and full in unvetted:
                    where = "" if "group" not in out else f" in group {label!r}"
                    found.append((short, full, rows, where))
        if found:
            message = _twins_message(column, found, out.index, note, values, quiet)
            warnings.warn(message, PlausibilityWarning, stacklevel=user_stacklevel())


def _twins_message(
    column: str, found: list, index: pd.Index, note: str, values: np.ndarray, quiet: np.ndarray
) -> str:
    """The warning of :func:`warn_rounded_twins` for ``column`` (N or D) of the table
    ``values`` (its column, (n,)) whose rows ``quiet`` (bool (n,)) are accepted: ``found``
    holds (rounded value, full value, the group's rows (bool (n,)), where) for each pair; the
    rows of the first three pairs' values are named (masks built for those only: a table of
    many pairs would otherwise hold two masks of every row per pair)."""

    def at(value, rows) -> str:
        return rows_text(index[rows & (values == value) & ~quiet], 3)

    pairs = "; ".join(
        f"{short:.12g} at rows {at(short, rows)} and {full:.12g} at rows {at(full, rows)}{where}"
        for short, full, rows, where in found[:3]
    )
    more = f"; ... ({len(found)} pairs)" if len(found) > 3 else ""
    short, full = found[0][0], found[0][1]
    gap = abs(full / short - 1) * 100
    return (
        f"column {column!r} ({QUANTITY[column]}) holds values that look like one value written "
        f"with two roundings: {pairs}{more} ({note}). They are {gap:.2g}% apart, more "
        f"than the {CELL_RTOL:g} (relative) within which runs share an (N, D) cell, so their "
        "runs are SEPARATE cells (the best run per cell, the hyperparameter and sweep laws "
        "compare runs within a cell). If they are one value, write it alike in every row (e.g. "
        f"df[{column!r}] = df[{column!r}].replace({{{short:.12g}: {full:.12g}}})); if they are "
        "different values, keep them (accepted_rows= with their rows silences this)"
    )


def check_possible(
    out: pd.DataFrame,
    column: str,
    given: list,
    note: str = ROWS_NOTE,
    name=None,
    typed: pd.Series | None = None,
) -> None:
    """Fewer than one parameter or token is impossible: an error naming the rows (the user's
    column ``name``, values as ``typed``) and the fix: when the column's median is plausible,
    those rows are mistyped or in other units (fix or leave them out); else the units of the
    column, or of C when the column was derived from C."""
    if column not in IMPOSSIBLE_BELOW or column not in out:
        return
    values = out[column]
    bad = (values < IMPOSSIBLE_BELOW[column]).to_numpy(bool)
    if not bad.any():
        return
    shown = values if typed is None else typed
    what = {"N": "parameter", "D": "token"}[column]
    median = float(np.nanmedian(values))
    if median >= PLAUSIBLE[column][0]:  # the column is plausible: these rows are off
        fix = _impossible_rows_fix(column, given, median)
    elif column in given and both_scaled(out, given):
        fix = pair_message(out)
    elif column in given:
        hint = unit_hint(column, values, tokens_per_param_of(out, column, given))
        fix = f"if {column} is given in larger units, pass {hint}"
    else:
        fix = (
            f"{column} was derived from C, which must be in FLOPs (pass "
            f"{unit_hint('C', out['C'])})"
        )
    raise RunTableError(
        f"column {column_label(column, name)} has values below 1 {what} at "
        f"{at_rows(out.index[bad], note)} (e.g. {format_values(shown[bad], 3)}): {fix}"
    )


def _impossible_rows_fix(column: str, given: list, median: float) -> str:
    """The fix for rows of ``column`` (N or D) below one parameter or token in a column whose
    ``median`` is plausible: those rows (or, for a derived column, their C) are mistyped or in
    other units; a unit for the column would scale every row."""
    if column in given:
        cause = "are these rows in other units (e.g. billions) or mistyped?"
    else:
        cause = (
            f"{column} was derived from {' and '.join(given)}: are these rows' "
            f"{' or '.join(given[::-1])} in other units (C in FLOPs, not e.g. petaFLOP/s-days) "
            "or mistyped?"
        )
    return (
        f"far from the column's median {median:.3g}: {cause} Fix their values (a unit scales "
        "the whole column), or leave these rows out of the table"
    )


def check_plausible(
    df: pd.DataFrame,
    units: dict | None = None,
    row_note: str | None = None,
    given: list | None = None,
    accepted_rows=None,
    known_rows=None,
    leave_out=None,
) -> list[str]:
    """Warn (:class:`PlausibilityWarning`) about implausible magnitudes of a canonical table:
    N (parameters), D (tokens), C (FLOPs) outside ``PLAUSIBLE`` and tokens per parameter outside
    ``TOKENS_PER_PARAM`` (the column's median: other units; else the rows outside: a mistyped
    row), a median peak learning rate above ``LR_HIGH`` (a log of it, e.g. -log10 lr?), a
    median batch size below ``BATCH_TOKENS_LOW`` tokens (in sequences?), rows whose
    batch size exceeds their training tokens D (in tokens, given a ``units=`` multiplier for
    sequences?), a loss column that looks like a perplexity, and losses far above the table's
    median (diverged runs?).
    Returns the messages. ``row_note`` says what the row labels count (default: 0-based data
    rows for an integer index); ``given`` which of N, D, C were read rather than derived
    (default: all present), for the units hints. ``accepted_rows``: labels of rows vetted as
    real (:func:`~.table.load_runs`), never named; the whole-column checks (medians: units) read the
    other rows, and the per-row checks compare those with the whole table's medians.
    ``known_rows``: labels of rows checked before (a fit's runs, beside new ones in
    ``fit.update``): counted in every median like other rows but never named, and with them
    the whole-column messages, said when those rows were loaded, are not repeated.
    ``leave_out``: how a message says to leave its rows out, labels -> text (default: a run
    table's, :data:`~.messages.EXCLUDE_HINT`; ``fit.update`` gives ``new_runs.drop(...)``)."""
    units = units or {}
    leave_out = leave_out or (lambda _labels: EXCLUDE_HINT)  # a run table's, in both forms
    note = row_note or row_note_of(df.index)
    given = [c for c in ("N", "D", "C") if c in df] if given is None else list(given)
    accepted = df.index.isin(list(accepted_rows or ()))
    known = df.index.isin(list(known_rows or ()))
    quiet = accepted | known  # rows never named
    judged = not known.any()  # whole-column messages (else said at the known rows' load)
    checked = df.loc[~accepted]  # the rows whose columns are judged as a whole
    messages = []

    def say_column(message: str) -> None:  # a whole-column message
        if judged:
            messages.append(message)

    if checked.empty:
        return messages
    names = QUANTITY
    low_columns = []  # N or D with a median too small: likely in larger units
    flagged = quiet.copy()  # rows not to name for their D/N: quiet, or named for N or D
    pair = both_scaled(checked, given)  # N and D both scaled: one message, units in pairs
    for column, (low, high) in PLAUSIBLE.items():
        if column not in df:
            continue
        median = float(np.median(checked[column]))
        if median < low and pair and column in ("N", "D"):
            low_columns.append(column)
            if column == "N":
                say_column(pair_message(checked))
        elif median < low:
            if column in given:
                hint = unit_hint(
                    column, checked[column], tokens_per_param_of(checked, column, given)
                )
                fix = f"the values look like they are in larger units; pass {hint}"
                low_columns.append(column)
            else:
                fix = f"it was derived from {' and '.join(given)}: check their units="
            say_column(
                f"column {column!r} ({names[column]}) has median {median:.3g}, below {low:g}: {fix}"
            )
        elif median > high:
            say_column(
                f"column {column!r} ({names[column]}) has median {median:.3g}, above {high:g}: "
                f"is it in other units (or another quantity)? Check the column mapping and units="
            )
        elif column in given or column != "C":  # a derived C follows its N and D rows
            found, rows = _implausible_rows(df, column, given, note, quiet, leave_out)
            messages += found
            if column != "C":
                flagged |= rows
    if "N" in df and "D" in df:
        ratio = float(np.median(checked["D"] / checked["N"]))
        low, high = TOKENS_PER_PARAM
        if not low <= ratio <= high:
            fix = f"check the units= of {' and '.join(given)}"
            if pair:
                fix = f"likely {pair_hint(checked, short=True)}"
            for column in [c for c in ("N", "D") if c in low_columns and not pair][:1]:
                ratios = tokens_per_param_of(checked, column, given)
                fix = f"likely {unit_hint(column, checked[column], ratios, short=True)}"
            say_column(
                f"the median tokens per parameter D/N is {ratio:.3g}, outside [{low:g}, "
                f"{high:g}]: N or D is probably in other units ({fix})"
            )
        elif not pair:  # with N and D both scaled, a row's D/N waits for their units
            messages += implausible_ratio_rows(df, flagged, note, leave_out)
    if "lr" in df:
        median = float(np.nanmedian(checked["lr"]))
        if median > LR_HIGH:
            say_column(_lr_message(median))
    if "batch_size" in df:
        median = float(np.nanmedian(checked["batch_size"]))
        if median < BATCH_TOKENS_LOW:
            say_column(_batch_message(median))
        if "D" in df:
            messages += _batch_above_tokens_rows(
                df, quiet, note, units.get("batch_size"), leave_out
            )
    if "loss" in df:
        loss = df["loss"].to_numpy(float)
        finite = np.isfinite(loss)
        if (finite & ~accepted).any():
            median = float(np.median(loss[finite & ~accepted]))
            if median > LOSS_MAX:
                say_column(
                    f"column 'loss' has median {median:.3g}: losses in nats or bits per token "
                    f"rarely exceed {LOSS_MAX:g}; is it a perplexity? (pass its logarithm)"
                )
            else:
                if median > LOSS_HIGH:
                    say_column(
                        f"column 'loss' has median {median:.3g}, above {LOSS_HIGH:g} nats per "
                        "token: looks like a perplexity or a loss in bits? pass log(perplexity) "
                        "(or bits x ln 2), the loss in nats"
                    )
                overall = float(np.median(loss[finite]))  # of every run: the rows' yardstick
                far = finite & (loss > LOSS_OUTLIER_FACTOR * overall)
                far &= ~diverged_flags(df) & ~quiet
                if far.any():
                    messages.append(
                        f"{int(far.sum())} run(s) have a loss above {LOSS_OUTLIER_FACTOR:g}x the "
                        f"table's median ({overall:.3g}): {at_rows(df.index[far], note)} (e.g. "
                        f"{format_values(loss[far], 3)}). Diverged runs? They are kept; exclude "
                        f"them ({leave_out(df.index[far])}), or mark them in a 'diverged' column "
                        "for a hyperparameter law"
                    )
    for message in messages:
        warnings.warn(message, PlausibilityWarning, stacklevel=user_stacklevel())
    return messages


def _implausible_rows(
    df: pd.DataFrame, column: str, given: list, note: str, skip: np.ndarray, leave_out
) -> tuple[list[str], np.ndarray]:
    """Messages naming the rows (other than the ``skip`` ones: accepted) whose ``column`` (N
    parameters, D tokens, C FLOPs) lies outside ``PLAUSIBLE`` while the column's median does
    not (one row in other units, or mistyped), and the mask of those rows."""
    low, high = PLAUSIBLE[column]
    values = df[column].to_numpy(float)
    median = float(np.median(values))
    origin = "" if column in given else f", derived from {' and '.join(given)},"
    messages = []
    below, above = (values < low) & ~skip, (values > high) & ~skip
    for bad, side, bound in ((below, "below", low), (above, "above", high)):
        if bad.any():
            messages.append(
                f"column {column!r} ({QUANTITY[column]}){origin} is {side} {bound:g} at "
                f"{at_rows(df.index[bad], note)} (e.g. {format_values(values[bad], 3)}), far "
                f"from the column's median {median:.3g}: are these rows in other units (e.g. "
                f"millions) or mistyped? Fix their values (a unit scales the whole column), or "
                f"exclude them ({leave_out(df.index[bad])})"
            )
    return messages, below | above


def implausible_ratio_rows(
    df: pd.DataFrame, flagged: np.ndarray, note: str, leave_out
) -> list[str]:
    """A message naming the rows (other than the ``flagged`` ones) whose tokens per parameter
    D/N lie outside ``TOKENS_PER_PARAM`` while the table's median D/N does not."""
    low, high = TOKENS_PER_PARAM
    ratio = (df["D"] / df["N"]).to_numpy(float)
    median = float(np.median(ratio))
    bad = ((ratio < low) | (ratio > high)) & ~flagged
    if not bad.any():
        return []
    return [
        f"the tokens per parameter D/N of {int(bad.sum())} run(s) lie outside [{low:g}, "
        f"{high:g}] at {at_rows(df.index[bad], note)} (e.g. {format_values(ratio[bad], 3)}), "
        f"far from the table's median {median:.3g}: is N or D of these rows in other units, "
        f"or mistyped? Fix their values, or exclude them ({leave_out(df.index[bad])})"
    ]


def _batch_above_tokens_rows(
    df: pd.DataFrame, quiet: np.ndarray, note: str, unit, leave_out
) -> list[str]:
    """A message naming the rows (other than the ``quiet`` ones) whose batch_size (tokens)
    exceeds their training tokens D: a run of fewer than one optimizer step, most likely a
    batch already in tokens read with a ``units=`` multiplier (``unit``, as given; None
    without one) meant for sequences, or a mistyped row."""
    batch, tokens = df["batch_size"].to_numpy(float), df["D"].to_numpy(float)
    bad = (batch > tokens) & ~quiet
    if not bad.any():
        return []
    factor = 1.0 if unit is None else unit_factor("batch_size", unit)
    if factor > 1:
        text = unit if isinstance(unit, str) else format_value(unit)
        shown = repr(unit) if isinstance(unit, str) else text
        cause = (
            f"batch_size was multiplied by its unit, {shown}: if the column is already in "
            f"tokens, drop that unit (Python: no 'batch_size' in load_runs(..., units=...); "
            f"command line: no --units batch_size={text}); else fix these rows"
        )
    else:
        cause = "Is batch_size in other units than tokens, or are these rows mistyped? Fix them"
    return [
        f"column 'batch_size' (tokens) exceeds the training tokens D of {int(bad.sum())} "
        f"run(s) at {at_rows(df.index[bad], note)} (e.g. batch_size "
        f"{format_values(batch[bad], 3)} vs D {format_values(tokens[bad], 3)}): fewer than "
        f"one optimizer step per run. {cause}, or exclude them ({leave_out(df.index[bad])})"
    ]


def _lr_message(median: float) -> str:
    """The warning for an lr column whose ``median`` is above ``LR_HIGH``."""
    return (
        f"column 'lr' has median {median:.3g}, above {LR_HIGH:g}: lr is the peak learning "
        "rate, and peak learning rates above 1 are rare; is the column a log of it (e.g. "
        "-log10 lr, 3 for 1e-3)? Pass the learning rate itself (for -log10 lr: 10 ** -value)"
    )


def _batch_message(median: float) -> str:
    """The warning for a batch_size column whose ``median`` is below ``BATCH_TOKENS_LOW``."""
    return (
        f"column 'batch_size' has median {median:.3g}, below {BATCH_TOKENS_LOW:g} tokens: "
        "batch_size is in tokens, and this looks like a batch in sequences; pass "
        "units={'batch_size': <sequence length in tokens>} (Python: load_runs(..., "
        "units={'batch_size': 2048}); command line: --units batch_size=2048) for sequences of "
        "2048 tokens"
    )


# Repeated design points whose losses differ while a text column varies: a table that stacks
# several configurations (datasets, train and validation losses, N conventions, schedules).
# SAME_POINT_RTOL is repeats.MATCH_RTOL, the package's one "same design point" rule (1%; its
# module imports .table, which imports this one, so it is restated here and a test pins the
# two equal and the pairs of :func:`design_point_ids` to repeats.near_design's).
SAME_POINT_RTOL = 0.01
SAME_POINT_COLUMNS = ("N", "D", "lr", "batch_size")  # = repeats.DESIGN_COLUMNS
# runs at one design point whose losses differ by more than this (max / min - 1) differ by more
# than run-to-run noise explains: seed-to-seed noise of a final LM loss is ~0.1-0.5% (Porian et
# al.'s bootstrap sd of L*(C) is a median 0.02% of it, max 1.7%); Epoch's digitised Chinchilla
# points 1% apart in N and C differ by at most 0.75%
REPEAT_NOISE_RTOL = 0.01
NOT_CONFIGURATION = ("group", "diverged", "run")  # columns read for other things (labels, flags)
SHOWN_COLUMNS = 3  # the varying columns a message names
SHOWN_LEVELS = 5  # ... and the values of each


class StackedConfigurationsWarning(PlausibilityWarning):
    """Runs at one design point (N, D, lr, batch_size within 1%) whose losses differ by more
    than run-to-run noise while a text column (dataset, loss_type, ...) varies among them: a
    table that stacks several configurations, which one fit would treat as one family."""


def design_point_ids(df: pd.DataFrame, rtol: float = SAME_POINT_RTOL) -> np.ndarray:
    """Per row of ``df`` (columns N params, D tokens and, when present, lr, batch_size tokens
    and group) an integer id shared by the rows at one design point, (n_rows,) int64 from 0.
    Each column's sorted values are cut into stretches spanning at most ``rtol`` (relative)
    from a stretch's smallest value (missing values: one stretch of their own), so rows in the
    same stretch of every column and the same group are pairwise within ``rtol`` (the rule of
    :func:`~.repeats.same_design_value`); two such sets of rows whose values come within
    ``rtol`` of each other in every column (the gap between their ranges) are one point too,
    and so are sets linked through such pairs, unless that chain spans more than twice
    ``rtol`` in a column (a dense design, sizes 0.3% apart over a decade): its sets are then
    points of their own (:func:`_split_chains`). Every pair of rows the rule calls the same
    point shares an id, except across such a chain; O(n log n) for n rows."""
    columns = [c for c in SAME_POINT_COLUMNS if c in df]
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(df[columns].to_numpy(float))
    codes = pd.factorize(df["group"])[0] if "group" in df else np.zeros(len(df), int)
    stretches = np.column_stack([_stretch_ids(column, rtol) for column in logs.T] + [codes])
    keys, row_set = np.unique(stretches, axis=0, return_inverse=True)
    row_set = row_set.ravel()
    by_set = pd.DataFrame(logs).groupby(row_set)
    low, high = by_set.min().to_numpy(float), by_set.max().to_numpy(float)
    first, second = _touching_sets(low, high, keys[:, -1], rtol)
    point = _components(len(keys), first, second)[row_set]
    return _split_chains(point, row_set, logs, rtol)


def _split_chains(point: np.ndarray, row_set: np.ndarray, logs: np.ndarray, rtol: float):
    """``point`` (per row its linked design point, (n_rows,) int) with each point whose rows
    span more than twice ``rtol`` (relative) in some column of ``logs`` (n_rows x k natural
    logs, NaN for missing) replaced by its sets of rows ``row_set`` (per row; rows of one set
    are pairwise within ``rtol``): ids renumbered from 0, (n_rows,) int64."""
    by_point = pd.DataFrame(logs).groupby(point)
    span = (by_point.max() - by_point.min()).to_numpy(float)  # a column all missing: NaN
    chained = (np.nan_to_num(span, nan=0.0) > 2 * -np.log1p(-rtol)).any(axis=1)
    ids = np.where(chained[point], len(chained) + row_set, point)  # a set: past every point
    return np.unique(ids, return_inverse=True)[1].ravel().astype(np.int64)


def _stretch_ids(logs: np.ndarray, rtol: float) -> np.ndarray:
    """Per value of ``logs`` (natural logs, NaN for missing) the id of its stretch: sorted
    values cut into stretches spanning at most log(1 + ``rtol``) from each stretch's smallest
    value; missing values share id -1."""
    distinct = np.unique(logs[~np.isnan(logs)])
    ids = np.empty(len(distinct), dtype=np.int64)
    current, start = -1, -np.inf
    for i, value in enumerate(distinct):
        if value - start > np.log1p(rtol):
            current, start = current + 1, value
        ids[i] = current
    out = np.full(len(logs), -1, dtype=np.int64)
    present = ~np.isnan(logs)
    out[present] = ids[np.searchsorted(distinct, logs[present])]
    return out


def _touching_sets(low: np.ndarray, high: np.ndarray, codes: np.ndarray, rtol: float) -> tuple:
    """Index pairs (i < j) of sets of rows (their per-column ranges ``low``, ``high``: m x k
    natural logs, NaN for a set of missing values) with equal ``codes`` whose ranges come
    within ``rtol`` (relative) of each other in every column, or are both missing: candidates
    sought in the complete column that gives fewest, then every column checked."""
    width = -np.log1p(-rtol)  # the gap within which |a / b - 1| <= rtol one way or the other
    best, order, stop = None, None, None
    for c in np.flatnonzero(~np.isnan(low).any(axis=0)):
        by = np.argsort(low[:, c], kind="stable")
        ranked = low[by, c]
        # a set's range spans at most log(1 + rtol) < width: the next set starts within 2 width
        ends = np.searchsorted(ranked, ranked + 2 * width, side="right")
        count = int((ends - np.arange(len(ranked)) - 1).sum())
        if best is None or count < best:
            best, order, stop = count, by, ends
    if not best:
        return np.zeros(0, int), np.zeros(0, int)
    length = stop - np.arange(len(order)) - 1
    start = np.repeat(np.arange(len(order)), length)
    offset = np.arange(best) - np.repeat(np.cumsum(length) - length, length)
    a, b = order[start], order[start + 1 + offset]
    gap = np.maximum(np.maximum(low[b] - high[a], low[a] - high[b]), 0.0)
    near = (gap <= width) | (np.isnan(low[a]) & np.isnan(low[b]))  # NaN gap: one is missing
    keep = near.all(axis=1) & (codes[a] == codes[b])
    return a[keep], b[keep]


def _components(count: int, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Connected components of ``count`` nodes joined by the edges (first[k], second[k]): per
    node the id of its component, numbered from 0 in order of the nodes' first appearance."""
    ids = np.arange(count)
    while first.size:
        low = np.minimum(ids[first], ids[second])
        before = ids.copy()
        np.minimum.at(ids, first, low)
        np.minimum.at(ids, second, low)
        ids = ids[ids]  # follow each node's pointer to its component's current lowest node
        if np.array_equal(ids, before):
            break
    return np.unique(ids, return_inverse=True)[1].ravel()


def configuration_columns(df: pd.DataFrame) -> list:
    """The columns of ``df`` that can say which configuration a row belongs to: text,
    categorical or boolean columns (not the canonical ones, ``diverged`` or ``run``) with at
    most sqrt(rows) distinct values, so each value is shared by many rows; a run name or a
    value per run (a colour that codes the loss) has more."""
    numeric = ("N", "D", "C", "lr", "batch_size", "loss")
    limit = np.sqrt(len(df))
    return [
        c for c in df.columns
        if c not in numeric + NOT_CONFIGURATION and _holds_labels(df[c])
        and 2 <= df[c].nunique() <= limit
    ]  # fmt: skip


def _holds_labels(values: pd.Series) -> bool:
    """Whether a column holds labels (text, categories or booleans), not numbers."""
    return pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values)


def warn_stacked_configurations(df: pd.DataFrame, note: str = ROWS_NOTE, accepted=()) -> str:
    """A :class:`StackedConfigurationsWarning` when runs of ``df`` (a canonical table) at one
    design point (:func:`design_point_ids`) have losses further apart than
    :data:`REPEAT_NOISE_RTOL` (max / min - 1; diverged runs and missing losses aside) while a
    :func:`configuration_columns` column varies among them: it names the columns (those that
    vary at most such points first) and their values, and the fix. ``accepted`` rows (labels)
    are left out. Returns the message ("" when silent)."""
    rows = df.loc[~df.index.isin(list(accepted)) & ~diverged_flags(df) & df["loss"].notna()]
    columns = configuration_columns(rows)
    if len(rows) < 2 or not columns:
        return ""
    point = design_point_ids(rows)
    loss = rows["loss"].groupby(point)
    spread = (loss.transform("max") / loss.transform("min") - 1).to_numpy(float)
    far = spread > REPEAT_NOISE_RTOL
    if not far.any():
        return ""
    varying = {}
    for column in columns:
        levels = rows[column][far].groupby(point[far]).nunique()
        if (levels > 1).any():
            varying[column] = int((levels > 1).sum())
    if not varying:
        return ""
    message = _mixed_message(rows, point, far, spread, varying, note)
    warnings.warn(message, StackedConfigurationsWarning, stacklevel=user_stacklevel())
    return message


def _mixed_message(
    rows: pd.DataFrame, point: np.ndarray, far: np.ndarray, spread: np.ndarray, varying: dict,
    note: str,
) -> str:
    """The message of :func:`warn_stacked_configurations`: ``point`` per row its design point,
    ``far`` the rows at points whose losses differ by more than noise, ``spread`` per row its
    point's max / min - 1 of loss, ``varying`` {column: how many such points it varies at}."""
    ranked = sorted(varying, key=lambda c: -varying[c])
    shown = ", ".join(
        f"{c!r} (at {_points(varying[c])}: {_levels_text(rows[c][far])})"
        for c in ranked[:SHOWN_COLUMNS]
    )
    rest = ", ".join(repr(c) for c in ranked[SHOWN_COLUMNS:])
    more = f"; also {rest}" if rest else ""
    vary = "this column varies" if len(ranked) == 1 else "these columns vary"
    loss = rows["loss"].to_numpy(float)
    # the example: the point with the widest losses among those where the first column varies
    varies = rows[ranked[0]].groupby(point).transform("nunique").to_numpy() > 1
    widest = point == point[np.argmax(np.where(far & varies, spread, -np.inf))]
    low, high = np.flatnonzero(widest)[[np.argmin(loss[widest]), np.argmax(loss[widest])]]
    # the columns that vary at most points (at least half as many as the first), as one row
    # holds them: a configuration that exists
    major = [c for c in ranked if 2 * varying[c] >= varying[ranked[0]]][:SHOWN_COLUMNS]
    chosen = {c: _plain(rows[c].iloc[low]) for c in major}
    query = " and ".join(f"{_query_name(c)} == {v!r}" for c, v in chosen.items())
    where = " ".join(f"--where {shlex.quote(f'{c}={v}')}" for c, v in chosen.items())
    group = _group_advice(major)
    axes = ", ".join(c for c in SAME_POINT_COLUMNS if c in rows)
    return (
        f"{int(far.sum())} of {len(rows)} runs repeat a design point ({axes} within "
        f"{SAME_POINT_RTOL:.0%}) at {_points(len(np.unique(point[far])))} with losses up to "
        f"{spread.max():.1%} apart (e.g. {at_rows(rows.index[[low, high]], note)}: loss "
        f"{loss[low]:.4g} and {loss[high]:.4g}), more than run-to-run noise (about "
        f"{REPEAT_NOISE_RTOL:.0%}) explains, and among them {vary}: {shown}{more}. The "
        "table looks like several configurations stacked (datasets, losses, conventions), which "
        "one fit would treat as one family of runs. Fit one configuration, one value of each "
        f"such column (Python: df.query({query!r}) on the DataFrame before load_runs; command "
        f"line: {where}), or {group}; if these runs are replicates, accepted_rows= with their "
        "rows silences this"
    )


def _points(count: int) -> str:
    """``count`` design points in words: "1 point", "18 points"."""
    return f"{count} point{'s' * (count != 1)}"


def _group_advice(columns: list) -> str:
    """How to fit each configuration as its own group: by the one varying column (in both
    forms; on the command line ``--column group=COLUMN``, which every command that reads a
    table takes, whereas ``--group`` names a fitted group in most), or by a column that joins
    several (Python)."""
    if len(columns) == 1:
        column = columns[0]
        return (
            f"each as its own group (Python: load_runs(..., group={column!r}); command line: "
            f"--column {shlex.quote(f'group={column}')})"
        )
    names = ", ".join(repr(c) for c in columns)
    return (
        "each as its own group, in Python by a column that joins them: df.assign(config="
        f"df[[{names}]].astype(str).agg('/'.join, axis=1)) read with load_runs(..., "
        "group='config')"
    )


def _levels_text(values: pd.Series) -> str:
    """A column's distinct values for a message: text quoted, the first :data:`SHOWN_LEVELS`."""
    levels = [v for v in pd.unique(values) if not pd.isna(v)]
    shown = ", ".join(repr(str(v)) if isinstance(v, str) else format_value(v) for v in levels)
    if len(levels) > SHOWN_LEVELS:
        shown = ", ".join(shown.split(", ")[:SHOWN_LEVELS]) + ", ..."
    return shown


def _query_name(column) -> str:
    """A column's name as ``DataFrame.query`` reads it (backquoted unless an identifier)."""
    text = str(column)
    return text if text.isidentifier() else f"`{text}`"


def _plain(value):
    """A NumPy scalar as the Python value it holds (np.True_ as True), for a message."""
    return value.item() if isinstance(value, np.generic) else value
