"""Units of a run table's columns: the multipliers ``load_runs(units=...)`` takes (numbers,
or words such as "billions"), the hints naming the likely ``units=`` of a column whose magnitudes
look like other units (N and D both scaled: in pairs), and the error for N, D and C that disagree
with the compute model, with its likely cause (C in other units such as petaFLOP/s-days, a scaled
N or D, a nominal budget, another compute model)."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from .checks import ArgumentTypeError
from .columns import NUMERIC
from .magnitudes import PLAUSIBLE, QUANTITY, TOKENS_PER_PARAM, TYPICAL_TOKENS_PER_PARAM
from .messages import RunTableError, at_rows, format_value

UNIT_WORDS = {
    "ones": 1.0,
    "thousands": 1e3,
    "k": 1e3,
    "millions": 1e6,
    "m": 1e6,
    "billions": 1e9,
    "b": 1e9,
    "trillions": 1e12,
    "t": 1e12,
}


SCALE_WORDS = ("thousands", "millions", "billions", "trillions")  # units hints, by size


PF_DAY = 8.64e19  # FLOPs in one petaFLOP/s-day


def unit_factor(column: str, unit) -> float:
    """The multiplier of a ``units=`` value for ``column``: a positive number as it is, or a
    word ("thousands", "millions", "billions", ...); a RunTableError names a bad word or number,
    a TypeError any other value (None, True/False, a list: ``units[column]`` and what it takes).
    """
    allowed = f"a positive number (e.g. 1e6) or one of {sorted(UNIT_WORDS)}"
    if isinstance(unit, str):
        try:
            return UNIT_WORDS[unit.lower()]
        except KeyError:
            raise RunTableError(
                f"unknown unit {unit!r} for column {column!r} (units[{column!r}]); use {allowed}"
            ) from None
    if isinstance(unit, bool | np.bool_) or not isinstance(unit, numbers.Real):
        raise ArgumentTypeError(
            f"units[{column!r}] must be {allowed}; got {type(unit).__name__} {unit!r}"
        )
    factor = float(unit)
    if not np.isfinite(factor) or factor <= 0:
        raise RunTableError(
            f"unit for column {column!r} must be a positive number, got {format_value(unit)} "
            f"(units[{column!r}])"
        )
    return factor


def unit_factors(units) -> dict:
    """``units`` (as :func:`~.table.load_runs` takes it: column -> a number or a unit word;
    None: none) as multipliers, columns at factor 1 left out; an ArgumentTypeError for anything
    but a dict and a RunTableError for a column outside ``NUMERIC`` or a bad unit
    (:func:`unit_factor`)."""
    if units is None:
        return {}
    if not isinstance(units, dict):
        raise ArgumentTypeError(
            f"units must be a dict column -> unit (e.g. {{'N': 'billions'}}), got "
            f"{type(units).__name__}"
        )
    for key in units:
        if key not in NUMERIC:
            raise RunTableError(f"units given for {key!r}, which is not one of {NUMERIC}")
    factors = {column: unit_factor(column, unit) for column, unit in units.items()}
    return {column: factor for column, factor in factors.items() if factor != 1.0}


def read_units(units: dict, earlier: dict) -> dict:
    """The multiplier each column of a loaded table was read with (:attr:`RunTable.units`):
    ``units`` (``load_runs``' own, checked) as factors (:func:`unit_factors`), composed with
    ``earlier``, the units of the RunTable it was loaded from ({} for other input: a RunTable's
    values already carry its own); columns at factor 1 are left out."""
    factors = unit_factors(units)
    out = {}
    for column in NUMERIC:
        factor = earlier.get(column, 1.0) * factors.get(column, 1.0)
        if factor != 1.0:
            out[column] = float(factor)
    return out


# FLOPs in one unit of C that a constant C / (compute model) ratio points at, by name
C_UNITS = {
    1e3: "kiloFLOPs", 1e6: "megaFLOPs", 1e9: "gigaFLOPs", 1e12: "teraFLOPs",
    1e15: "petaFLOPs", 1e18: "exaFLOPs", 1e21: "zettaFLOPs", PF_DAY: "petaFLOP/s-days",
}  # fmt: skip


def _c_unit(ratio: float) -> float | None:
    """The unit (FLOPs) that C seems to be in when it is ``ratio`` x the compute model's C
    at every row: a power of 1e3 other than 1 or one petaFLOP/s-day (``PF_DAY``), within
    0.5%; None otherwise. Below 1 (C too small) the unit is larger than one FLOP."""
    factor = 1.0 / ratio
    if abs(np.log10(factor / PF_DAY)) < 0.002:
        return PF_DAY
    power = round(float(np.log10(factor)) / 3)
    if power != 0 and abs(np.log10(factor) - 3 * power) < 0.002:
        return 10.0 ** (3 * power)
    return None


def _unit_options(df: pd.DataFrame, unit: float, units: dict, model) -> list[tuple[str, float]]:
    """For N, D and C (all given, in ``df``) whose C / model(N, D) is one constant at every
    row, ``1 / unit`` (:func:`_c_unit`): the columns whose rescaling would explain it, each as
    (column, its ``units=`` multiplier, composed with any the call gave in ``units``): C by
    ``unit``, or (for a compute model linear in N and in D) N or D by ``1 / unit``; only those
    that leave every median of N, D and C in ``PLAUSIBLE`` and the median D/N in
    ``TOKENS_PER_PARAM``, the loader's plausibility tests (a column named in other units is
    one whose median is implausible now)."""
    median = {c: float(np.nanmedian(df[c])) for c in ("N", "D", "C")}
    ratio = float(np.nanmedian(df["D"] / df["N"]))
    scales = {"C": unit}
    if model.linear_k is not None and unit != PF_DAY:
        scales.update({"N": 1.0 / unit, "D": 1.0 / unit})
    options = []
    for column in ("N", "D", "C"):
        if column not in scales:
            continue
        scaled = {c: m * (scales[column] if c == column else 1.0) for c, m in median.items()}
        per_param = ratio * {"N": 1.0 / scales[column], "D": scales[column]}.get(column, 1.0)
        plausible = all(PLAUSIBLE[c][0] <= v <= PLAUSIBLE[c][1] for c, v in scaled.items())
        if plausible and TOKENS_PER_PARAM[0] <= per_param <= TOKENS_PER_PARAM[1]:
            options.append((column, unit_factor(column, units.get(column, 1.0)) * scales[column]))
    return options


def _unit_text(column: str, factor: float) -> str:
    """``units={'N': 1e+06}`` with the unit's name when it has one: " (millions)" for N or D,
    " (exaFLOPs)" for C."""
    names = (
        C_UNITS if column == "C" else {v: w for w, v in UNIT_WORDS.items() if len(w) > 1}
    )
    name = next((n for v, n in names.items() if np.isclose(v, factor, rtol=1e-9)), None)
    return f"units={{'{column}': {factor:g}}}" + (f" ({name})" if name else "")


def _option_text(column: str, factor: float) -> str:
    """One of :func:`_unit_options` in words: "N in thousands (units={'N': 1000})", or
    "C (units={'C': 0.001})" for a multiplier without a name."""
    text = _unit_text(column, factor)
    if text.endswith(")"):
        unit, name = text[:-1].split(" (", 1)
        return f"{column} in {name} ({unit})"
    return f"{column} ({text})"


def _scaled_columns_fix(df: pd.DataFrame, typical: float, model, options: list) -> str:
    """The fix when N or D (or both) have an implausible median (:func:`_looks_scaled`, the
    loader's check) and C / model(N, D) is off at every row: that column is in other units,
    named with its median and the multiplier that makes C agree (``options``:
    :func:`_unit_options`), else the loader's units hint for it."""
    scaled = [c for c in ("N", "D") if _looks_scaled(df, c)]
    if len(scaled) == 2:
        return f"C is {typical:.4g} x {model.name} at every row, and {pair_message(df)}"
    column = scaled[0]
    median = float(np.nanmedian(df[column]))
    mine = [factor for c, factor in options if c == column]
    if mine:
        hint = f"pass {_unit_text(column, mine[0])}, which also makes C agree with {model.name}"
    else:
        hint = f"pass {unit_hint(column, df[column], tokens_per_param_of(df, column, ['N', 'D']))}"
    return (
        f"C is {typical:.4g} x {model.name} at every row, and column {column!r} "
        f"({QUANTITY[column]}) has median {median:.3g}, below {PLAUSIBLE[column][0]:g}: "
        f"{column} looks like it is in larger units (not C): {hint}"
    )


def disagree_message(
    index,
    ratio,
    off,
    model,
    note: str,
    units: dict,
    df: pd.DataFrame | None = None,
) -> str:
    """The error for N, D and C (all given) that disagree with the compute model by more than
    1% at the rows ``off`` (boolean, row order of ``index``): a few of their C / model(N, D)
    ``ratio``s and, when the ratio is one constant, its likely cause (C in other units at
    every row or at those rows, or another compute model). For a RunTable whose C was derived
    at its load, the loader adds how to derive it again under another model.

    ``df``: the table checked (N, D, C): when N or D has an implausible median (the loader's
    :func:`_looks_scaled`), the error names that column, not C (N in millions made C look
    1e6 x 6ND, and its remedy units={'C': 1e-06} made both wrong); when the ratio is a unit
    that N, D or C could each be in, it names each that leaves the table plausible
    (:func:`_unit_options`).

    When the ratio is not one constant: most rows agreeing and a few off names those rows as
    likely mistyped; most rows off with ratios spread within a factor of
    :data:`NOMINAL_SPREAD` of 1 says C looks like a nominal budget (an isoFLOP line's label,
    as Marin's tables give it) and to leave out D or C. Every remedy that leaves out a column
    is given in both forms (:func:`_leave_out`)."""
    labels, values = index[off], ratio[off]
    shown = ", ".join(f"{values[i]:.4g} at row {labels[i]}" for i in range(min(3, len(values))))
    more = f", ... ({len(values)} rows)" if len(values) > 3 else ""
    text = (
        f"columns N, D and C disagree with the compute model {model.name} by more than 1% at "
        f"{at_rows(labels, note)}: C / {model.name} is {shown}{more}; "
    )
    constant = float(np.ptp(np.log(values))) <= np.log(1.01)
    typical = float(np.median(values))
    unit = _c_unit(typical) if constant else None
    given = df is not None and {"N", "D", "C"} <= set(df)
    options = _unit_options(df, unit, units, model) if given and unit is not None else []
    if given and constant and off.all() and (_looks_scaled(df, "N") or _looks_scaled(df, "D")):
        fix = _scaled_columns_fix(df, typical, model, options)
    elif unit is not None and off.all() and len(options) > 1:
        each = " or ".join(_option_text(column, factor) for column, factor in options)
        fix = (
            f"C is {typical:.4g} x {model.name} at every row, so N, D or C is in other units, "
            f"each plausible here: {each}; pass the units your columns are in"
        )
    elif unit is not None and off.all() and options and options[0][0] != "C":
        column, factor = options[0]
        fix = (
            f"C is {typical:.4g} x {model.name} at every row, so {column} looks like it is in "
            f"other units: pass {_unit_text(column, factor)}"
        )
    elif unit is not None and off.all():
        factor = unit_factor("C", units.get("C", 1.0)) * unit
        name = f" ({C_UNITS[unit]})" if "C" not in units and unit in C_UNITS else ""
        fix = (
            f"C is {typical:.4g} x {model.name} at every row, so C looks like it is in other "
            f"units: pass units={{'C': {factor:g}}}{name}, or give two of N, D, C "
            f"{_leave_out(['C'])}"
        )
    elif unit is not None:
        fix = (
            f"C of these rows is {typical:.4g} x {model.name}: are they in "
            f"{C_UNITS.get(unit, 'other units')} or mistyped? Fix their values (a unit scales "
            "the whole column), or leave these rows out of the table"
        )
    elif constant and off.all() and model.linear_k is not None:
        k = model.linear_k * typical
        fix = (
            f"C is {typical:.4g} x {model.name} at every row: if C counts {k:.4g} N D FLOPs, "
            f"pass compute_model={k:.4g}; else give two of N, D, C, e.g. leave out C (then "
            f"derived from N and D) {_leave_out(['C'])}"
        )
    elif 2 * off.sum() < len(off):  # most rows agree: these few look mistyped
        agree = len(off) - int(off.sum())
        fix = (
            f"the other {agree} rows agree with {model.name}, so these rows look mistyped (their "
            "N, D or C), not the compute model: fix their values, or leave these rows out of "
            "the table; if only their C is wrong, leave out C (then derived from N and D) "
            f"{_leave_out(['C'])}"
        )
    elif not constant and _nominal_spread(ratio):
        low, high = float(np.min(ratio)), float(np.max(ratio))
        budgets = pd.unique(np.asarray(df["C"], float)) if given else ()
        repeated = (
            f", and C holds {len(budgets)} distinct values over {len(ratio)} rows"
            if 0 < len(budgets) <= len(ratio) / 2
            else ""
        )
        fix = (
            f"C / {model.name} varies from {low:.3g} to {high:.3g} across the rows{repeated}: C "
            "looks like a nominal budget (e.g. an isoFLOP line's rounded label), not each run's "
            "compute, so N, D and C cannot all be kept: give two of them, leaving out D (then "
            "derived from N and the budget C: for an isoFLOP fit, whose lines are the budgets) "
            "or C (then derived from N and D: for a law of N and D, such as chinchilla) "
            f"{_leave_out(['D', 'C'])}"
        )
    else:
        fix = (
            "give two of them, or pass the right compute_model=; to give two, leave out C "
            f"(then derived from N and D) or D {_leave_out(['C', 'D'])}"
        )
    return text + fix


# C / model(N, D) of a table whose C is a nominal budget stays within this factor of 1 (an
# isoFLOP line's budget rounded to a half-decade grid, 1e18, 3e18, 1e19, is off by at most
# sqrt(10); Marin's tables: 0.75 to 1.07); ratios spread wider point at other mistakes
NOMINAL_SPREAD = 4.0


def _nominal_spread(ratio) -> bool:
    """Whether C / model(N, D) at every row (``ratio``) lies within a factor of
    :data:`NOMINAL_SPREAD` of 1, as a nominal budget's would."""
    ratio = np.asarray(ratio, float)
    return bool(np.all((ratio >= 1 / NOMINAL_SPREAD) & (ratio <= NOMINAL_SPREAD)))


def _leave_out(columns: list) -> str:
    """The remedy that leaves out one of ``columns`` (canonical names; each alternative), in
    both forms: "(Python: load_runs(..., ignore_columns=['D']) or ...; command line:
    --ignore-column D or ...)". Both take the canonical name, also for a column mapped to it
    (the mapping, given again with the rest of the call, is then left out with the column)."""
    python = " or ".join(f"load_runs(..., ignore_columns=[{c!r}])" for c in columns)
    cli = " or ".join(f"--ignore-column {c}" for c in columns)
    return f"(Python: {python}; command line: {cli})"


def absent_unit_message(key: str, given: list, columns: list) -> str:
    """Why ``units=`` names a column the table lacks (derived, or not there at all)."""
    if key in ("N", "D", "C"):
        return (
            f"units given for {key!r}, but the table has no {key} column: {key} is derived from "
            f"{given[0]} and {given[1]} through the compute model (in {QUANTITY[key]}); give "
            f"units for the columns read ({', '.join(given)}) instead"
        )
    return (
        f"units given for {key!r}, but the table has no {key} column (the columns read are "
        f"{columns}); drop the unit, or map your column (Python: load_runs(..., {key}='name'); "
        f"command line: --column {key}=NAME)"
    )


def tokens_per_param_of(df: pd.DataFrame, column: str, given) -> tuple[float, int] | None:
    """(median D/N now, p) such that scaling the given ``column`` (N or D) by m moves the median
    D/N to ``ratio / m**p`` (N) or ``ratio * m**p`` (D): p = 1 when N and D were both given, 2
    when the other one was derived from C (it moves by 1/m too); None when D/N is unknown, or
    when the other one was given and looks scaled too (:func:`_looks_scaled`: a D/N of a scaled
    and an unscaled column ranks neither one's units; :func:`unit_pairs` ranks both)."""
    if column not in ("N", "D") or column not in given or "N" not in df or "D" not in df:
        return None
    other = "D" if column == "N" else "N"
    if other in given and _looks_scaled(df, other):
        return None
    ratio = float(np.nanmedian(df["D"] / df["N"]))
    if not np.isfinite(ratio) or ratio <= 0:
        return None
    return ratio, 1 if {"N", "D"} <= set(given) else 2


def _looks_scaled(df: pd.DataFrame, column: str) -> bool:
    """True when the median of ``column`` (N parameters or D tokens) of ``df`` lies below its
    ``PLAUSIBLE`` range: the column is likely in larger units."""
    return column in df and float(np.nanmedian(df[column])) < PLAUSIBLE[column][0]


def both_scaled(df: pd.DataFrame, given) -> bool:
    """True when N and D were both read (``given``, not derived) and both look scaled
    (:func:`_looks_scaled`): their units are then hinted as pairs (:func:`pair_hint`)."""
    return {"N", "D"} <= set(given) and _looks_scaled(df, "N") and _looks_scaled(df, "D")


def unit_pairs(df: pd.DataFrame) -> list[tuple[float, list[tuple[str, str]]]]:
    """The (N word, D word) pairs of ``SCALE_WORDS`` that bring the median N (parameters) and
    the median D (tokens) of ``df`` into ``PLAUSIBLE`` and its median D/N into
    ``TOKENS_PER_PARAM``, grouped by the D/N they give: ``[(median D/N, [pairs]), ...]``, the
    group nearest ``TYPICAL_TOKENS_PER_PARAM`` (in decades) first. Pairs a step apart alike
    ({'N': 'thousands', 'D': 'millions'}, {'N': 'millions', 'D': 'billions'}) give one D/N,
    which cannot tell them apart; in a group, the pair whose medians lie nearest the middle of
    ``PLAUSIBLE`` (in decades) comes first."""
    median = {c: float(np.nanmedian(df[c])) for c in ("N", "D")}
    ratio = float(np.nanmedian(df["D"] / df["N"]))
    if not np.isfinite(ratio) or ratio <= 0:
        return []
    middle = {c: float(np.mean(np.log10(PLAUSIBLE[c]))) for c in ("N", "D")}
    groups: dict = {}  # decades between the two units -> (D/N, [(off the middle, pair)])
    for word_n in SCALE_WORDS:
        for word_d in SCALE_WORDS:
            scale = {"N": UNIT_WORDS[word_n], "D": UNIT_WORDS[word_d]}
            scaled = {c: median[c] * scale[c] for c in scale}
            if not all(PLAUSIBLE[c][0] <= scaled[c] <= PLAUSIBLE[c][1] for c in scaled):
                continue
            pair_ratio = ratio * scale["D"] / scale["N"]
            if not TOKENS_PER_PARAM[0] <= pair_ratio <= TOKENS_PER_PARAM[1]:
                continue
            off = sum(abs(np.log10(scaled[c]) - middle[c]) for c in scaled)
            step = round(np.log10(scale["D"] / scale["N"]))
            groups.setdefault(step, (pair_ratio, []))[1].append((off, (word_n, word_d)))
    ordered = sorted(groups.values(), key=lambda g: abs(np.log10(g[0] / TYPICAL_TOKENS_PER_PARAM)))
    return [(r, [pair for _, pair in sorted(pairs)]) for r, pairs in ordered]


def _pair_text(pair: tuple[str, str]) -> str:
    """``{'N': 'millions', 'D': 'billions'}``: a units pair as the ``units=`` dict."""
    return f"{{'N': '{pair[0]}', 'D': '{pair[1]}'}}"


def pair_hint(df: pd.DataFrame, short: bool = False) -> str:
    """The likely ``units=`` fix when N and D both look scaled (:func:`both_scaled`): the
    pairs of :func:`unit_pairs`, those of the most typical D/N first, saying when D/N cannot
    decide between them (pairs a step apart alike give one D/N), then the less likely ones;
    only the first pair, when ``short``."""
    groups = unit_pairs(df)
    if not groups:
        return (
            "units for both N and D (no pair of the words thousands to trillions brings both "
            "medians and the median D/N into plausible ranges: check what the columns hold)"
        )
    ratio, pairs = groups[0]
    first = f"units={_pair_text(pairs[0])}"
    if short:
        more = len(pairs) > 1 or len(groups) > 1
        return first + (" or another pair of units for N and D" if more else "")
    if len(pairs) == 1:
        hint = f"{first} (median tokens per parameter D/N then {ratio:.3g})"
    else:
        median_n = float(np.nanmedian(df["N"])) * UNIT_WORDS[pairs[0][0]]
        median_d = float(np.nanmedian(df["D"])) * UNIT_WORDS[pairs[0][1]]
        others = " or ".join(_pair_text(p) for p in pairs[1:])
        hint = (
            f"{first} or {others}: each gives the median tokens per parameter D/N {ratio:.3g}, "
            "so D/N cannot decide between them (it fixes only how far apart the two units "
            f"are); the first gives the most typical sizes (median N {median_n:.3g} "
            f"parameters, D {median_d:.3g} tokens)"
        )
    if len(groups) > 1:
        rest = "; ".join(
            f"D/N {r:.3g} with {' or '.join(_pair_text(p) for p in ps[:3])}"
            + (" or ..." if len(ps) > 3 else "")
            for r, ps in groups[1:3]
        )
        hint += (
            f"; less likely, their D/N lying farther from a typical "
            f"{TYPICAL_TOKENS_PER_PARAM:g}: {rest}"
        )
    return hint + ". Pass the units your columns are in"


def pair_message(df: pd.DataFrame) -> str:
    """The message that N and D (both given) both look scaled, with :func:`pair_hint`."""
    median_n, median_d = (float(np.nanmedian(df[c])) for c in ("N", "D"))
    return (
        f"columns 'N' (parameters) and 'D' (tokens) have medians {median_n:.3g} and "
        f"{median_d:.3g}, below {PLAUSIBLE['N'][0]:g} and {PLAUSIBLE['D'][0]:g}: both look "
        f"like they are in larger units; pass {pair_hint(df)}"
    )


def unit_hint(
    column: str, values, tokens_per_param: tuple[float, int] | None = None, short: bool = False
) -> str:
    """The likely ``units=`` fix for a column whose values are too small. For N or D: the
    multiplier words that bring the column's median into ``PLAUSIBLE`` and (when
    ``tokens_per_param`` = :func:`tokens_per_param_of` is known) the median D/N into
    ``TOKENS_PER_PARAM``, the one nearest ``TYPICAL_TOKENS_PER_PARAM`` first; the others that
    fit are listed (the range is wide, so more than one may), unless ``short``."""
    if column == "C":
        return f"units={{'C': {PF_DAY:g}}} for petaFLOP/s-days or units={{'C': 1e18}} for exaFLOPs"
    median = float(np.nanmedian(values))
    low, high = PLAUSIBLE.get(column, (0.0, np.inf))
    fits = []  # (distance in decades from the typical D/N, word, D/N after the unit)
    for word in SCALE_WORDS:
        m = UNIT_WORDS[word]
        if not low <= median * m <= high:
            continue
        if tokens_per_param is None:
            fits.append((0.0, word, None))
            continue
        ratio, power = tokens_per_param
        ratio = ratio / m**power if column == "N" else ratio * m**power
        if TOKENS_PER_PARAM[0] <= ratio <= TOKENS_PER_PARAM[1]:
            fits.append((abs(np.log10(ratio / TYPICAL_TOKENS_PER_PARAM)), word, ratio))
    if not fits:
        word = "billions" if float(np.nanmax(values)) < 1e3 else "millions"
        return f"units={{'{column}': '{word}'}} (or the right multiplier)"
    fits.sort(key=lambda f: f[0])
    _, word, ratio = fits[0]
    hint = f"units={{'{column}': '{word}'}}"
    if short:
        return hint + (" or another multiplier" if len(fits) > 1 else "")
    if ratio is not None:
        hint += f" (median tokens per parameter D/N then {ratio:.3g})"
    if len(fits) > 1:
        others = [f"'{w}'" + (f" (D/N {r:.3g})" if r is not None else "") for _, w, r in fits[1:]]
        hint += (
            f"; ambiguous: {' or '.join(others)} would also give plausible values, so pass the "
            "unit your column is in"
        )
    return hint
