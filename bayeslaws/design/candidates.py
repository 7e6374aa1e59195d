"""Candidate runs for design: isoFLOP lines, LR x batch sweeps, or any table of runs, checked and
grouped into units (rows sharing a ``unit`` label are chosen and paid for together).

The generators record the compute model they derived C (or D) with in the table's
``attrs["compute_model"]``; :func:`check_candidates` completes and checks N, D, C with it (else
with the fit's), and the design costs the runs by it.

Units: N params, D tokens, C FLOPs, lr the learning rate, batch_size in tokens.
"""

from __future__ import annotations

import math
import shlex
import warnings

import numpy as np
import pandas as pd

from ..laws.contract import resolve_group
from ..posterior import allocation_draws, quantity_draws, query_frame
from ..posterior.draws import check_fit, check_range
from ..posterior.extrapolation.distance import fitted_label
from ..runs.checks import ArgumentTypeError, check_integer, is_real, rows_text
from ..runs.columns import near_misses
from ..runs.compute import ComputeModel, as_compute_model
from ..runs.reading import number_cells
from ..runs.warn import user_stacklevel
from .targets import positive

MODEL_ATTR = "compute_model"  # attrs key: the compute model the candidates' C was derived with
C_TOLERANCE = 0.01  # C given with N and D may differ from the compute model's by this fraction


class GroupWarning(UserWarning):
    """The groups of a design do not line up with a grouped fit's: a candidates' group label the
    fit does not know (valued as a new group), a target for another group than the candidates'
    (e.g. a new group's, the target's default), or isoFLOP lines (LR x batch sweeps) centred on
    a new group's N_opt (eta_opt and B_opt)."""


def fit_groups(fit) -> list:
    """The fit's group labels as strings ([] when it was fitted without groups)."""
    groups = [g for g in fit.posterior().groups if g is not None]
    return [str(g) for g in groups] if len(groups) > 1 else []


def group_text(fit, label) -> str:
    """A group ``label`` as the fit reads it: the fit's own label when it has that group (2,
    2.0 and "2" name its group "2", as ``predict`` reads them:
    :func:`~bayeslaws.posterior.extrapolation.distance.fitted_label`), else the label as text
    (a label the fit does not know, or any label of a fit without groups)."""
    return fitted_label(fit, label) or str(label)


def group_option(label) -> str:
    """The command-line option choosing the group ``label``: ``--group LABEL`` (quoted for a
    shell when it needs to be, e.g. ``--group 'my data'``)."""
    return f"--group {shlex.quote(str(label))}"


def positive_int(name: str, value, minimum: int = 1) -> int:
    return check_integer(name, value, minimum)


def real_number(name: str, value, what: str) -> None:
    """Refuse (:class:`~bayeslaws.runs.checks.ArgumentTypeError`, naming ``name``) a ``value``
    that is not a real number (a string, a sequence, None, a bool); ``what``: its meaning and
    unit, for the message. Its range is the caller's to check."""
    if not is_real(value):
        raise ArgumentTypeError(
            f"{name} must be a number ({what}), got {value!r} of type {type(value).__name__}"
        )


def step_factor(name: str, value) -> float:
    """A grid's step: a finite number > 1 (the factor between neighbouring values); anything
    but a real number (text, a bool, a sequence) is an
    :class:`~bayeslaws.runs.checks.ArgumentTypeError` naming ``name``."""
    real_number(name, value, "the factor between neighbouring values, > 1")
    if not math.isfinite(value) or value <= 1:
        raise ValueError(
            f"{name} must be a finite number > 1 (the factor between neighbouring values), "
            f"got {value!r}"
        )
    return float(value)


LABEL_DIGITS = 4  # significant digits of the numbers in a unit label ("sweep N=5.2e+08, ...")


def label_digits(points, least: int = LABEL_DIGITS) -> int:
    """The fewest significant digits, at least ``least`` (at most 17: exact), at which the
    distinct ``points`` (tuples of floats: (N, D) cells, or runs) print distinctly, so that
    the labels of one table never merge two cells into one unit."""
    distinct = {tuple(float(v) for v in point) for point in points}
    for digits in range(least, 17):
        if len({tuple(f"{v:.{digits}g}" for v in point) for point in distinct}) == len(distinct):
            return digits
    return 17


def cell_label(prefix: str, n, d, digits: int = LABEL_DIGITS) -> str:
    """A unit label naming its (N params, D tokens) cell with ``digits`` significant digits
    (:func:`label_digits` of the table's cells: distinct cells never share a label)."""
    return f"{prefix} N={float(n):.{digits}g}, D={float(d):.{digits}g}"


def repeated(keys) -> list:
    """The keys (hashable: budgets, (N, D) cells) given more than once, in first-seen order."""
    seen, twice = set(), []
    for key in keys:
        if key in seen and key not in twice:
            twice.append(key)
        seen.add(key)
    return twice


def unique_grid(name: str, values, unit: str, option: str) -> np.ndarray:
    """A given sweep grid ``values`` (``name``: lr or batch_size; ``unit``: its unit and
    ``option``: its command-line option, for the message) as a 1-d array of finite positive
    floats, each value once: a value given twice would list every run at it twice (its cost
    doubled; with ``per_cell=False`` two runs under one unit label), so it is refused
    (ValueError naming ``name`` and the value)."""
    grid = positive(name, values)
    twice = repeated(grid.tolist())
    if twice:
        raise ValueError(
            f"{name} repeats the value(s) {twice} ({unit}): every run at a repeated value would "
            f"be listed twice (its cost doubled); give each {name} value once (command line: "
            f"{option})"
        )
    return grid


def with_model(df: pd.DataFrame, model: ComputeModel) -> pd.DataFrame:
    """``df`` recording the compute model its C was derived with (``attrs``)."""
    df.attrs[MODEL_ATTR] = model
    return df


def candidates_model(fit, cands: pd.DataFrame) -> ComputeModel:
    """The compute model of the candidates: the one recorded in their ``attrs`` (a generator's,
    or the command line's ``--compute-model``), else the fit's."""
    model = cands.attrs.get(MODEL_ATTR)
    return fit.compute_model if model is None else as_compute_model(model)


def isoflop_candidates(
    C,
    n_per_budget: int = 9,
    *,
    center=None,
    spread_decades: float = 1.0,
    tokens_per_param: float = 20.0,
    fit=None,
    compute_model=None,
    group=None,
) -> pd.DataFrame:
    """Candidate runs on isoFLOP lines: ``n_per_budget`` sizes per budget C (FLOPs; a repeated
    budget is refused).

    Sizes are log-spaced over ``center * 10**[-spread_decades, +spread_decades]``
    (``spread_decades`` > 0 unless ``n_per_budget`` is 1: else one size, listed repeatedly, is
    refused); ``center`` (params: one value for every budget, or one per budget; another
    length is refused) per budget defaults to the fit's posterior median N_opt(C) when ``fit``
    is given, else the size with ``tokens_per_param`` tokens per parameter (20: Chinchilla's
    rule). D from the
    compute model (``compute_model``, else the fit's, else 6ND), which the table records (see
    the module docstring): the design costs these runs by it.
    ``spread_decades`` (decades) and ``tokens_per_param`` are single numbers: anything else (a
    string, a sequence) is an :class:`~bayeslaws.runs.checks.ArgumentTypeError` naming it; C
    and ``center`` take numbers only (True or text is one too).

    ``group``: for a grouped fit, the fitted group whose median N_opt(C) centres the lines (a
    label the fit does not know is refused, as by ``predict``). Without it a grouped fit's lines
    centre on a NEW group's N_opt (the population's; a :class:`GroupWarning` says so). The table
    gets no ``group`` column: give the design the same group (``next_runs(..., group=)``).
    ``group`` needs ``fit`` and no ``center`` (it only chooses the fit's centre).
    """
    if fit is not None:
        check_fit(fit)
    C = positive("C", C)
    twice = repeated(C.tolist())
    if twice:
        raise ValueError(
            f"C repeats budget(s) {twice} (FLOPs): each budget's isoFLOP line would be listed "
            "twice (duplicate candidates); give each budget once"
        )
    n = positive_int("n_per_budget", n_per_budget, 1)
    real_number("spread_decades", spread_decades, "decades each side of the centre, >= 0")
    real_number("tokens_per_param", tokens_per_param, "tokens per parameter, > 0")
    if not np.isfinite(spread_decades) or spread_decades < 0:
        raise ValueError(
            f"spread_decades must be >= 0 (the decades each side of the centre), got "
            f"{spread_decades!r}: give spread_decades >= 0 (Python: isoflop_candidates(..., "
            "spread_decades=); command line: --spread-decades)"
        )
    if spread_decades == 0 and n > 1:
        raise ValueError(
            f"spread_decades=0 with n_per_budget={n} would list the same (N, D, C) run {n} "
            "times per budget (duplicate candidates): give spread_decades > 0 (the decades "
            "each side of the centre the sizes span; command line: --spread-decades) or "
            "n_per_budget=1 (--n-per-budget 1)"
        )
    positive("tokens_per_param", tokens_per_param)
    if compute_model is None and fit is not None:
        model = fit.compute_model
    else:
        model = as_compute_model(compute_model)
    if group is not None and (fit is None or center is not None):
        raise ValueError(
            f"group={group!r} chooses the fitted group whose N_opt centres the lines: give fit= "
            "(a grouped fit) and no center="
        )
    if center is not None:
        given = positive("center", center)
        if given.size not in (1, C.size):
            raise ValueError(
                f"center must be one value or one per budget ({C.size}), got {given.size} "
                "(params: each budget's isoFLOP line centres on its own size)"
            )
        centre = np.broadcast_to(given, C.shape).astype(float)
    elif fit is not None:
        warn_new_group_centre(fit, group)
        centre = np.median(allocation_draws(fit, C, model, group)["N_opt"], axis=0)
    else:
        centre = size_at_ratio(model, C, float(tokens_per_param))
    offsets = np.linspace(-spread_decades, spread_decades, n) if n > 1 else np.zeros(1)
    N = (centre[:, None] * 10.0 ** offsets[None, :]).ravel()
    Cs = np.repeat(C, n)
    D = np.asarray(model.tokens(N, Cs), float)
    short = ~((N >= 1) & (D >= 1))
    if short.any():
        raise ValueError(
            f"spread_decades={spread_decades!r} around N={centre[short.reshape(C.size, n).any(1)]}"
            f" reaches sizes with fewer than one parameter or token at C={np.unique(Cs[short])}"
            " (FLOPs): narrow the spread or move the centre (Python: a smaller spread_decades= "
            "or another center=; command line: a smaller --spread-decades)"
        )
    return with_model(pd.DataFrame({"N": N, "D": D, "C": Cs}), model)


# what a generator centres on its fit's optimum: (caller, what is centred, the optimum, its name)
LINES_CENTRE = ("isoflop_candidates", "the lines centre", "median N_opt(C)", "N_opt")


def warn_new_group_centre(
    fit, group, about: tuple = LINES_CENTRE
) -> None:
    """A :class:`GroupWarning` when a generator's grid for a grouped fit centres on a new
    group's optimum (``group=None``); ``about``: see ``LINES_CENTRE``. Located at the user's
    line (:func:`~bayeslaws.runs.warn.user_stacklevel`)."""
    groups = fit_groups(fit)
    if group is None and groups:
        caller, centred, optimum, name = about
        warnings.warn(
            f"{caller}: the fit has groups {groups} and group=None, so {centred} on a NEW "
            f"group's {optimum} (the population's, not any fitted group's); to centre them on "
            f"a fitted group's {name}, name the group (Python: pass group= (one of {groups}) "
            f"here and the same group= to next_runs; command line: --group GROUP, one of "
            f"{groups}, for the candidates and the design alike)",
            GroupWarning,
            stacklevel=user_stacklevel(),
        )


def size_at_ratio(model, C, tokens_per_param):
    """N with flops(N, tokens_per_param * N) = C (bisection in ln N)."""
    lo, hi = np.zeros_like(C), np.full_like(C, np.log(1e18))
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        big = model.flops(np.exp(mid), tokens_per_param * np.exp(mid)) > C
        hi, lo = np.where(big, mid, hi), np.where(big, lo, mid)
    return np.exp(0.5 * (lo + hi))


SWEEPS_CENTRE = (
    "hyperparameter_candidates",
    "the LR x batch grids centre",
    "median eta_opt and B_opt",
    "eta_opt and B_opt",
)


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
    compute_model=None,
    group=None,
) -> pd.DataFrame:
    """LR x batch sweeps at (N, D) cells (pairs, broadcast; a repeated cell is refused), as
    candidates.

    Grids are ``lr`` / ``batch_size`` if given (shared 1-d grids, each value once: a repeated
    value is refused, as a repeated cell is), else ``n_lr`` (``n_batch``)
    values stepped by ``lr_step`` (``batch_step``, each a finite factor > 1) around the fit's
    predicted eta_opt (B_opt) at each cell (a ``fit`` whose law predicts them is required then).
    ``per_cell=True`` (default) makes each cell's sweep one candidate (column ``unit``, labelled
    ``"sweep N=..., D=..."`` with the cell's N and D to 4 significant digits, more where two of
    the call's cells would otherwise share a label: :func:`label_digits`): a single run in an
    unseen cell carries no information while the cell's loss level is unknown.
    ``per_cell=False``: every run its own (``"run N=..., D=..., lr=..., B=..."``, as many
    digits). C from ``compute_model`` (else the fit's, else 6ND), recorded with the table.

    ``group``: for a grouped fit, the fitted group whose median eta_opt (B_opt) centres the
    grids (a label the fit does not know is refused, as by ``predict``). Without it a grouped
    fit's grids centre on a NEW group's optima (the population's; a :class:`GroupWarning` says
    so). The table gets no ``group`` column: give the design the same group
    (``next_runs(..., group=)``). ``group`` needs ``fit`` and a grid to centre (not both ``lr``
    and ``batch_size``).
    """
    if fit is not None:
        check_fit(fit)
    step_factor("lr_step", lr_step)
    step_factor("batch_step", batch_step)
    if not isinstance(per_cell, bool | np.bool_):  # "no" would be true
        raise ArgumentTypeError(f"per_cell must be True or False, got {per_cell!r}")
    N, D = positive("N", N), positive("D", D)
    if N.size != D.size and 1 not in (N.size, D.size):
        raise ValueError(
            f"N and D pair up as cells: give them the same length, or one of them a single "
            f"value; got {N.size} sizes and {D.size} token counts"
        )
    Ns, Ds = np.broadcast_arrays(N, D)
    twice = repeated(zip(Ns.tolist(), Ds.tolist(), strict=True))
    if twice:
        cells = ", ".join(f"(N={n!r}, D={d!r})" for n, d in twice)
        raise ValueError(
            f"N and D repeat the cell(s) {cells}: a repeated cell's sweep would be one unit "
            "with every run twice (its cost doubled); give each (N, D) cell once"
        )
    lr_grid = batch_grid = None  # the given grids, checked before any centring
    if lr is not None:
        lr_grid = unique_grid("lr", lr, "learning rate", "--lr-grid")
    if batch_size is not None:
        batch_grid = unique_grid("batch_size", batch_size, "tokens", "--batch-grid")
    centred = lr is None or batch_size is None
    if group is not None and (fit is None or not centred):
        raise ValueError(
            f"group={group!r} chooses the fitted group whose eta_opt and B_opt centre the grids: "
            "give fit= (a grouped fit of a hyperparameter law) and leave lr or batch_size unset "
            "(both given: no grid is centred)"
        )
    if centred and (fit is None or not {"eta_opt", "B_opt"} <= set(fit.law.quantities)):
        raise ValueError(
            "a fit of a hyperparameter law (one that predicts eta_opt and B_opt) is required "
            "unless both grids are given (Python: lr= and batch_size=; command line: "
            "--lr-grid and --batch-grid)"
        )
    if centred:
        warn_new_group_centre(fit, group, SWEEPS_CENTRE)
        opt = quantity_draws(fit, query_frame(fit, N=Ns, D=Ds), group=group)
        eta_c = np.median(opt["eta_opt"], axis=0)
        b_c = np.median(opt["B_opt"], axis=0)
    rows = []
    digits = label_digits(zip(Ns.tolist(), Ds.tolist(), strict=True))
    for i, (n, d) in enumerate(zip(Ns, Ds, strict=True)):
        if lr_grid is not None:
            lrs = lr_grid
        else:
            lrs = eta_c[i] * lr_step ** (np.arange(positive_int("n_lr", n_lr)) - (n_lr - 1) / 2)
        if batch_grid is not None:
            bss = batch_grid
        else:
            steps = np.arange(positive_int("n_batch", n_batch)) - (n_batch - 1) / 2
            bss = b_c[i] * batch_step**steps
        label = cell_label("sweep", n, d, digits)
        for b in bss:
            for r in lrs:
                rows.append({"N": n, "D": d, "lr": r, "batch_size": b, "unit": label})
    out = pd.DataFrame(rows)
    if compute_model is None and fit is not None:
        model = fit.compute_model
    else:
        model = as_compute_model(compute_model)
    out["C"] = model.flops(out["N"], out["D"])
    if not per_cell:
        runs = list(zip(out["N"], out["D"], out["lr"], out["batch_size"], strict=True))
        p = label_digits(runs)
        out["unit"] = [
            f"{cell_label('run', n, d, p)}, lr={float(r):.{p}g}, B={float(b):.{p}g}"
            for n, d, r, b in runs
        ]
    return with_model(out[["N", "D", "C", "lr", "batch_size", "unit"]], model)


def check_candidates(fit, cands, group=None) -> pd.DataFrame:
    """The candidates as a fresh DataFrame with N, D and C completed by their compute model
    (:func:`candidates_model`; recorded in the result's ``attrs``), a C given with N and D
    checked against it (to 1%, as ``load_runs`` does), the law's run columns checked, and a
    ``unit`` column (one unit per row when absent). Numbers given as text (``"1e9"``) are read
    as numbers; True/False values are refused (:func:`number_column`), as are fewer than one
    parameter or token (:func:`check_sizes`). Values far outside the fitted range warn
    (:func:`check_far`: a row of a fitted group, by its ``group`` column or else ``group``,
    against that group's own runs). First of all ``fit`` must be a
    :class:`~bayeslaws.inference.Fit` (:func:`~bayeslaws.posterior.draws.check_fit`: a path or
    a run table is an :class:`~bayeslaws.runs.checks.ArgumentTypeError` giving the remedy),
    which is how ``next_runs``, ``rank_candidates`` and ``bounds`` check their ``fit``."""
    check_fit(fit)
    if not isinstance(cands, pd.DataFrame):
        raise ArgumentTypeError(
            "cands must be a pandas DataFrame of candidate runs (e.g. from isoflop_candidates, "
            f"or pd.read_csv), got {type(cands).__name__}"
        )
    if cands.empty:
        raise ValueError("cands has no rows")
    df = cands.reset_index(drop=True).copy()
    given = [c for c in ("N", "D", "C") if c in df]
    if "N" not in df or len(given) < 2:
        missing = [c for c in ("N", "D", "C") if c not in df]
        renames = "".join(
            f"; rename column {name!r} to {canon!r}"
            for name, canon in near_misses(list(cands.columns), missing)
        )  # 'n', 'Batch Size', 'N [params]': read only by their canonical names
        raise ValueError(
            f"cands needs column N and one of D, C; it has {list(cands.columns)}{renames}"
        )
    for col in given:
        number_column(df, col)
        df[col] = df[col].astype(float)
    model = candidates_model(fit, cands)
    if "D" not in df:
        df["D"] = model.tokens(df["N"], df["C"])
    elif "C" not in df:
        df["C"] = model.flops(df["N"], df["D"])
    else:
        check_flops(df, model, own=MODEL_ATTR in cands.attrs)
    check_sizes(df, given)
    with_model(df, model)
    for col in fit.law.run_columns:
        if col not in df:
            raise ValueError(
                f"cands needs column {col!r} for a fit of law {fit.law.name!r} (its runs are "
                f"described by {list(fit.law.run_columns)})"
            )
        number_column(df, col)
        df[col] = df[col].astype(float)
    check_far(fit, df, group)  # candidates in other units? (as predictions are)
    if "unit" not in df:
        df["unit"] = np.arange(len(df))
    else:
        fill_units(df)
    return df


def number_column(df: pd.DataFrame, col: str) -> np.ndarray:
    """Column ``col`` of the candidates ``df`` as finite positive floats (``positive``). A
    table's cells given as text that spell a number (``"1e9"``, e.g. read from a file) are read
    as that number; other text is a ValueError and True/False values an
    :class:`~bayeslaws.runs.checks.ArgumentTypeError`, each naming the column and rows (counted
    from 0: :func:`~bayeslaws.runs.reading.number_cells`, as ``fixed_vs_optimal`` reads its
    cells)."""
    values = number_cells(df.reset_index(drop=True), col, f"cands[{col!r}]")
    return positive(f"cands[{col!r}]", values.to_numpy(dtype=float, na_value=np.nan))


def check_sizes(df: pd.DataFrame, given: list) -> None:
    """Fewer than one parameter (N < 1) or token (D < 1, given or derived from C: the column
    names among ``given``) is impossible: a ValueError naming the column and rows, as for a
    run table and for ``predict``."""
    for col, what in (("N", "parameter"), ("D", "token")):
        bad = np.flatnonzero(df[col].to_numpy(float) < 1)
        if not len(bad):
            continue
        source = "" if col in given else " (derived from C, which must be in FLOPs)"
        examples = ", ".join(f"{v:.3g}" for v in df[col].to_numpy(float)[bad[:3]])
        raise ValueError(
            f"cands column {col!r}{source} has values below 1 {what} at rows {rows_text(bad)} "
            f"(counted from 0) (e.g. {examples}): N is in parameters, D in tokens, C in FLOPs "
            "(about 6 N D); are these rows in other units (e.g. billions) or mistyped?"
        )


def check_far(fit, df: pd.DataFrame, group=None) -> None:
    """:func:`~bayeslaws.posterior.draws.check_range` of the candidate rows ``df``, each against
    its group's range (:func:`~bayeslaws.posterior.extrapolation.distance.group_ranges`): the
    label in its ``group`` column, else ``group`` (None: a new group, the pooled range; a fit
    without groups: the pooled range for every row). Positions named are ``df``'s rows. The
    warnings are located at the user's line (:func:`~bayeslaws.runs.warn.user_stacklevel`),
    however deep the call (``next_runs``, ``pool_units``, ...)."""
    if fit_groups(fit) and "group" in df:
        labels = [group_text(fit, g) for g in df["group"]]
    else:
        label = None if group is None or not fit_groups(fit) else group_text(fit, group)
        labels = [label] * len(df)
    for label in dict.fromkeys(labels):
        mine = np.array([g == label for g in labels])
        query = df.select_dtypes("number").where(pd.Series(mine, index=df.index), axis=0)
        check_range(fit, query, group=label)


def fill_units(df: pd.DataFrame) -> None:
    """Rows with a missing ``unit`` label (e.g. isoFLOP runs concatenated with sweeps) become
    units of their own, labelled ``"row i"`` (i: the row's position)."""
    blank = df["unit"].isna().to_numpy(bool)
    if not blank.any():
        return
    labels = [f"row {i}" for i in np.flatnonzero(blank)]
    taken = set(df["unit"][~blank]) & set(labels)
    if taken:
        raise ValueError(
            f"cands['unit'] is missing at some rows and already uses their labels {sorted(taken)}"
            ": give every row a unit label"
        )
    df["unit"] = df["unit"].astype(object)
    df.loc[blank, "unit"] = labels


def check_flops(df: pd.DataFrame, model: ComputeModel, own: bool) -> None:
    """Raise when C disagrees with N, D under the compute model (the candidates' ``own``, else
    the fit's) by more than 1%."""
    implied = np.asarray(model.flops(df["N"], df["D"]), float)
    off = np.abs(implied / df["C"].to_numpy(float) - 1) > C_TOLERANCE
    if off.any():
        shown = rows_text(np.flatnonzero(off))
        whose = "the candidates' own" if own else "the fit's"
        raise ValueError(
            f"cands: columns N, D and C disagree with {whose} compute model {model.name} by more "
            f"than 1% at rows {shown} (counted from 0); give two of N, D, C, or candidates built "
            "with the compute model their C is in (Python: isoflop_candidates(..., "
            "compute_model=); command line: --compute-model K, for C = K N D FLOPs)"
        )


def unit_codes(df: pd.DataFrame):
    """(unit labels in order of first appearance, each row's unit index (R,))."""
    codes, labels = pd.factorize(df["unit"], sort=False)
    return np.asarray(labels), codes


POOL_CENTRE = ("pool_units", "the sweeps centre", "median eta_opt and B_opt", "eta_opt and B_opt")


def pool_units(fit, pool: pd.DataFrame, sweep_size: int = 6, *, group=None) -> pd.DataFrame:
    """Candidate units from a pool of runs that could be trained (e.g. a sweep's untried runs),
    for :func:`~.batch.next_runs`.

    Every run is its own unit, except for laws whose runs have hyperparameters (run columns lr
    and batch_size): at an (N, D) cell the fit has not seen, a single run says nothing while
    the cell's loss level is unknown, so the ``sweep_size`` runs of that cell nearest the fit's
    predicted optimum (in ln lr and ln batch size) form one unit (a small sweep, chosen and paid
    for together); the cell's other runs stay single units (worth something once the cell is
    fitted). Returns a copy of ``pool`` with a ``unit`` column (``"run LABEL"`` with the row's
    label for single runs, so the pool's index must not repeat; ``"sweep N=..., D=..."`` with
    the cell's N and D to 4 significant digits, :func:`label_digits`, for a sweep).

    Groups (a grouped fit): a run is of the group its ``group`` column names, else of ``group``
    (a label the fit does not know is refused; None: a NEW group). A cell is unseen when the fit
    has no run of that group there (a new group, or a column label the fit does not know, has
    seen none), and its sweep centres on that group's median eta_opt and B_opt. With neither a
    column nor ``group=`` a :class:`GroupWarning` says the sweeps are a new group's. ``group``
    given with a ``group`` column must equal its labels (ValueError). When the pool holds
    several groups, a sweep's label ends with its group (``", group='A'"``).
    """
    check_fit(fit)
    if not isinstance(pool, pd.DataFrame):
        raise ValueError(f"pool must be a pandas DataFrame of runs, got {type(pool)}")
    if pool.index.has_duplicates:
        dup = list(dict.fromkeys(pool.index[pool.index.duplicated()]))[:5]
        raise ValueError(
            f"pool's row labels (its index) repeat, e.g. {dup}: each run's unit is named by its "
            "label; pass pool.reset_index(drop=True) (or pd.concat(..., ignore_index=True))"
        )
    labels = pool_groups(fit, pool, group)
    df = check_candidates(fit, pool.drop(columns=["unit"], errors="ignore"), group)
    df.index = pool.index
    df["unit"] = [f"run {i}" for i in pool.index]
    if not {"lr", "batch_size"} <= set(fit.law.run_columns):
        return df
    positive_int("sweep_size", sweep_size)
    trained = fit.record.training_runs or {}
    n_trained = len(trained.get("N", []))
    trained_groups = trained.get("group", [None] * n_trained) if fit_groups(fit) else None
    seen = set(cell_keys(trained.get("N", []), trained.get("D", []), trained_groups))
    cell = cell_keys(df["N"], df["D"], labels)
    new = np.array([c not in seen for c in cell])
    if not new.any():
        return df
    if fit_groups(fit) and "group" not in pool and group is None:
        warn_new_group_centre(fit, None, POOL_CENTRE)
    fresh = dict.fromkeys(c for c, is_new in zip(cell, new, strict=True) if is_new)
    centre = sweep_centres(fit, df, cell, list(fresh))
    several = len({key[2] for key in fresh}) > 1
    rows_of = {key: df[[c == key for c in cell]] for key in fresh}
    digits = label_digits((r["N"].iloc[0], r["D"].iloc[0]) for r in rows_of.values())
    for key, rows in rows_of.items():
        e, b = centre[key]
        dist = np.hypot(np.log(rows["lr"]) - e, np.log(rows["batch_size"]) - b)
        near = rows.index[np.argsort(dist.to_numpy(), kind="stable")[:sweep_size]]
        label = cell_label("sweep", rows["N"].iloc[0], rows["D"].iloc[0], digits)
        df.loc[near, "unit"] = f"{label}, group={key[2]!r}" if several else label
    return df


def pool_groups(fit, pool: pd.DataFrame, group) -> list:
    """Each pool row's group label as the fit reads it (:func:`group_text`: 2.0 of its group
    "2" is "2"), or None (a new group, without a label); all None for a fit without groups.
    ``group`` is checked against the fit (a label it does not know is refused) and, when the
    pool has a ``group`` column, against its labels."""
    if group is not None:
        resolve_group(fit.posterior().groups, group)  # ValueError naming the fit's groups
    if not fit_groups(fit):
        return [None] * len(pool)
    mine = None if group is None else group_text(fit, group)
    if "group" not in pool:
        return [mine] * len(pool)
    labels = [group_text(fit, g) for g in pool["group"]]
    other = sorted(set(labels) - {mine})
    if group is not None and other:
        raise ValueError(
            f"pool['group'] holds {other} but group={group!r}: the sweeps would centre on group "
            f"{mine!r}'s optima for runs labelled otherwise; make them agree (or leave "
            "group=None to use the column's labels)"
        )
    return labels


def cell_keys(N, D, groups=None) -> list:
    """One key per run: (ln N, ln D) rounded to 6 decimals, then its group label (None without
    ``groups``)."""
    ln_n = np.round(np.log(np.asarray(N, float)), 6).tolist()
    ln_d = np.round(np.log(np.asarray(D, float)), 6).tolist()
    groups = [None] * len(ln_n) if groups is None else list(groups)
    return list(zip(ln_n, ln_d, groups, strict=True))


def sweep_centres(fit, df: pd.DataFrame, cell: list, keys: list) -> dict:
    """(ln eta_opt, ln B_opt), the fit's posterior medians, per cell key (:func:`cell_keys`) of
    ``keys``; each key's group's (a label the fit does not know, or None: a new group's)."""
    known = set(fit_groups(fit))
    first = {key: i for i, key in reversed(list(enumerate(cell)))}
    centre = {}
    for label in dict.fromkeys(key[2] for key in keys):
        mine = [key for key in keys if key[2] == label]
        rows = df.iloc[[first[key] for key in mine]]
        query = query_frame(fit, N=rows["N"].to_numpy(), D=rows["D"].to_numpy())
        opt = quantity_draws(fit, query, group=label if label in known else None)
        eta, batch = np.median(opt["eta_opt"], axis=0), np.median(opt["B_opt"], axis=0)
        centre.update(zip(mine, zip(np.log(eta), np.log(batch), strict=True), strict=True))
    return centre
