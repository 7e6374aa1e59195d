"""The guardrails of a greedy batch: the rules it obeys (:class:`Guardrails`: a cap on repeat
picks of one design point and on runs per (N, D) cell, counted over the campaign with
:meth:`Guardrails.after`; never a batch along one tokens-per-parameter ratio; optionally a
spread of model sizes), the keys that tell design points apart (:func:`run_keys`,
:func:`design_keys`, :func:`law_key_columns`), the mask of units a pick may take
(:func:`allowed`), the rules a batch breaks (:func:`unmet_rules`) and the
:class:`GuardrailWarning` when they are relaxed. The greedy loop that applies them is in
:mod:`.batch`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..runs.repeats import DESIGN_COLUMNS, MATCH_RTOL, group_keys, same_design_value
from .candidates import positive_int

SPREAD_ATOL = 1e-12  # slack of the size-spread test in ln(max N / min N) (round-off in the logs)
# MATCH_RTOL (bayeslaws.runs.repeats, 1%): a run within it of another's N, D (lr, batch_size)
# is the same design point, as fit.update and Campaign.record match runs
KEY_DECIMALS = 6  # the logs of a design key are rounded to this many decimals
KEY_SLACK = 2 * 10.0**-KEY_DECIMALS  # ... so their ratios are known to about this (relative)


class GuardrailWarning(UserWarning):
    """No candidate met the ratio/size guardrails for a pick, or a batch ended before the pick
    that applies them with its runs' D/N all within ``ratio_tol`` or its sizes spanning less
    than ``min_size_spread``, so they were relaxed (the pick's, or the last pick's,
    ``guardrail`` column says "relaxed")."""


@dataclass(frozen=True)
class Guardrails:
    """Rules a greedy batch obeys (each can be switched off).

    max_repeats : picks of one design point (same N, D and lr, batch_size if present and read
        by the fit's law, and the same group when the candidates carry one) per batch; None =
        no cap (a unit can then be picked again and again, each repeat worth less: a budget
        fill goes on until the budget or its most picks, :func:`.batch.most_picks`). Default 1.
    ratio_diversity : never a batch of >= 2 runs whose tokens per parameter D/N all lie within a
        factor ``ratio_tol`` of each other (an ill-conditioned design): the last pick is then
        restricted to other ratios; when none is left, or the batch ends sooner (the budget or
        the candidates allow no more picks), the rule is relaxed with a
        :class:`GuardrailWarning` and the last pick's ``guardrail`` says "relaxed". Default
        True.
    ratio_tol : the factor that counts as "one ratio" (default 1.5).
    min_size_spread : if set, the batch's model sizes must span at least this factor (max N /
        min N), enforced at the last pick; relaxed as the ratio rule is (when no candidate
        meets it, or the batch of >= 2 runs ends sooner, a :class:`GuardrailWarning` and the
        last pick's ``guardrail`` "relaxed"). Default None (off).
    earlier : design keys (see :func:`design_keys`) of runs trained or proposed before this
        batch, one per run: the repeat cap counts them too, so a design point is not re-picked
        batch after batch (campaign-wide). Set by :meth:`after`.
    max_per_cell : if set, at most this many runs per (N, D) cell (per group when the
        candidates carry one) over the campaign (earlier runs included); e.g. to keep a budget
        from piling into the cheapest cell of an LR x batch pool. Default None (off).

    Both caps count a run (earlier or picked) as a candidate's design point, or cell, when its
    N and D (and lr, batch_size) all lie within :data:`MATCH_RTOL` (1%) of the candidate's, in
    the same group: sizes rounded as logs print them (3.33e9 for 3333333333) are the same point.

    With ``next_runs(..., k=None, budget=...)`` (fill the budget) the ratio and size rules
    apply to the second pick.
    """

    max_repeats: int | None = 1
    ratio_diversity: bool = True
    ratio_tol: float = 1.5
    min_size_spread: float | None = None
    earlier: tuple = ()
    max_per_cell: int | None = None

    def after(self, runs) -> Guardrails:
        """These guardrails with ``runs`` (a DataFrame with N, D and, for LR x batch runs, lr and
        batch_size, and for grouped fits group: the runs trained or proposed so far) counted as
        earlier picks."""
        if not isinstance(runs, pd.DataFrame):
            raise ValueError(f"Guardrails.after(runs): runs must be a DataFrame, got {runs!r}")
        missing = [c for c in ("N", "D") if c not in runs]
        if missing:
            raise ValueError(f"Guardrails.after(runs): runs lack column(s) {missing}")
        keys = run_keys(runs)
        return replace(self, earlier=tuple(self.earlier) + tuple(keys))

    def __post_init__(self):
        if self.max_repeats is not None:
            positive_int("max_repeats", self.max_repeats)
        if not self.ratio_tol > 1:
            raise ValueError(f"ratio_tol must be > 1, got {self.ratio_tol!r}")
        if self.min_size_spread is not None and not self.min_size_spread >= 1:
            raise ValueError(f"min_size_spread must be >= 1 or None, got {self.min_size_spread!r}")
        if self.max_per_cell is not None:
            positive_int("max_per_cell", self.max_per_cell)


KEY_COLUMNS = DESIGN_COLUMNS  # N, D, lr, batch_size: logged in a key, then the run's group


def law_key_columns(law) -> tuple:
    """The :data:`KEY_COLUMNS` that tell a law's runs apart: N, D, and lr, batch_size when the
    law reads them (its ``run_columns`` or ``optional_inputs``). A column the law ignores (e.g. an
    lr column, NaN or not, in the candidates of a loss surface) never splits one design point
    into several for the repeat cap."""
    read = {"N", "D", *law.run_columns, *law.optional_inputs}
    return tuple(c for c in KEY_COLUMNS if c in read)


def run_keys(df: pd.DataFrame, group=None, columns=KEY_COLUMNS) -> list:
    """One key per run: rounded logs of N, D (and lr, batch_size when present), then its group
    label's key (:func:`~bayeslaws.runs.repeats.group_keys` of the ``group`` column, else of
    ``group``; None when neither is given): 2, 2.0 and "2" are one group, as the fit and
    ``Campaign.record`` read them. ``columns``: the key columns to use when present
    (:func:`law_key_columns`; default all of :data:`KEY_COLUMNS`). A missing value (NaN) keys
    as None, so two runs alike but for a missing lr share a key (``log(NaN) != log(NaN)`` made
    every such run a new design point)."""
    cols = [c for c in columns if c in df]
    with np.errstate(invalid="ignore", divide="ignore"):
        logs = np.round(np.log(df[cols].to_numpy(float)), KEY_DECIMALS)
    groups = group_keys(df, group)
    return [
        (*(v if np.isfinite(v) else None for v in r.tolist()), g)
        for r, g in zip(logs, groups, strict=True)
    ]


def design_keys(
    df: pd.DataFrame, row_unit: np.ndarray, n_units: int, group=None, columns=KEY_COLUMNS
) -> list:
    """Per unit, the keys of its runs (:func:`run_keys` of ``columns``; ``group``: the
    candidates' group when they have no ``group`` column), as a tuple."""
    keys = run_keys(df, group, columns)
    out: list = [[] for _ in range(n_units)]
    for r, u in enumerate(row_unit):
        out[u].append(keys[r])
    return [tuple(k) for k in out]


def as_candidate_key(key: tuple, width: int, grouped: bool) -> tuple:
    """An earlier run's key in the candidates' form: its first ``width - 1`` logged columns,
    then its group when the candidates carry one (None otherwise: groups are then ignored)."""
    return (*key[:-1][: width - 1], key[-1] if grouped else None)


def _cell(key: tuple) -> tuple:
    """The (N, D) cell of a key, with its group."""
    return (*key[:2], key[-1])


def _key_logs(keys: list, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(the first ``width`` logged values of each key, NaN where missing (len(keys), width);
    the keys' group labels (len(keys),), object)."""
    logs = np.full((len(keys), width), np.nan)
    for i, key in enumerate(keys):
        values = [np.nan if v is None else v for v in key[:-1][:width]]
        logs[i, : len(values)] = values
    return logs, np.array([key[-1] for key in keys] + [None], object)[:-1]


NEAR_BLOCK = 4_000_000  # key pairs near_counts compares at once (about 100 MB of work arrays)


def near_counts(keys: list, counted: list, width: int, rtol: float = MATCH_RTOL) -> np.ndarray:
    """Per key of ``keys`` (candidates' design keys), how many keys of ``counted`` (earlier and
    picked runs') are the same design point: the same group and each of the first ``width``
    logged values within ``rtol`` (relative, :func:`same_design_value`, with ``KEY_SLACK`` for the
    keys' rounding; both missing counts as equal). (len(keys),) ints;
    ``width`` 2 counts the (N, D) cell. Compared ``NEAR_BLOCK`` pairs at a time."""
    if not keys or not counted:
        return np.zeros(len(keys), int)
    a, ga = _key_logs(keys, width)
    b, gb = _key_logs(counted, width)
    codes = {label: i for i, label in enumerate(dict.fromkeys([*ga, *gb]))}  # ints compare fast
    ga, gb = (np.array([codes[label] for label in g]) for g in (ga, gb))
    step = max(1, NEAR_BLOCK // len(counted))
    out = np.empty(len(keys), int)
    for start in range(0, len(keys), step):
        rows = slice(start, start + step)
        close = same_design_value(a[rows, None, :], b[None, :, :], rtol + KEY_SLACK)
        out[rows] = (close.all(axis=2) & (ga[rows, None] == gb[None, :])).sum(axis=1)
    return out


def earlier_counts(g: Guardrails, keys) -> dict:
    """How many of ``g``'s earlier runs lie near each design point and each (N, D) cell of the
    units (``keys``: each unit's design keys; :func:`near_counts`): {"point": key -> count,
    "cell": cell -> count}. The same for every pick of a batch: :func:`allowed` takes it
    (``held``) so that a batch compares the candidates with the earlier runs once."""
    width = len(keys[0][0]) if keys and keys[0] else 3
    grouped = bool(keys and keys[0] and keys[0][0][-1] is not None)
    counted = [as_candidate_key(k, width, grouped) for k in g.earlier]
    points = list(dict.fromkeys(k for ks in keys for k in ks))
    cells = list(dict.fromkeys(_cell(k) for k in points))
    return {
        "point": dict(zip(points, near_counts(points, counted, width - 1).tolist(), strict=True)),
        "cell": dict(
            zip(cells, near_counts(cells, [_cell(k) for k in counted], 2).tolist(), strict=True)
        ),
    }


def _over_cap(keys, held: dict, picked_keys: list, width: int, cap: int) -> np.ndarray:
    """Per unit (``keys``: each unit's design keys, or cells) whether taking it would put one
    of its design points over ``cap`` runs: the earlier runs near it (``held``), the picks'
    runs near it (``picked_keys``; :func:`near_counts`) and the unit's own runs there. (U,)
    booleans."""
    unique = list(held)
    now = near_counts(unique, picked_keys, width) if picked_keys else np.zeros(len(unique), int)
    total = {k: held[k] + n for k, n in zip(unique, now.tolist(), strict=True)}
    return np.array([any(total[k] + n > cap for k, n in _tally(ks)) for ks in keys], bool)


def allowed(g: Guardrails, picked, keys, ratio, sizes, remaining, held: dict | None = None):
    """Boolean mask of units allowed as the next pick (``remaining``: picks left in the batch,
    counting this one; None when filling a budget). The caps count the earlier runs and the
    picks within :data:`MATCH_RTOL` of a unit's design point (:func:`near_counts`); ``held``:
    :func:`earlier_counts` of ``g`` and ``keys``, computed here when not given."""
    U = len(keys)
    ok = np.ones(U, bool)
    width = len(keys[0][0]) if U and keys[0] else 3
    if g.max_repeats is not None or g.max_per_cell is not None:
        held = earlier_counts(g, keys) if held is None else held
        picked_keys = [k for p in picked for k in keys[p]]
    if g.max_repeats is not None:
        ok &= ~_over_cap(keys, held["point"], picked_keys, width - 1, g.max_repeats)
    if g.max_per_cell is not None:
        cells = [tuple(_cell(k) for k in ks) for ks in keys]
        picked_cells = [_cell(k) for k in picked_keys]
        ok &= ~_over_cap(cells, held["cell"], picked_cells, 2, g.max_per_cell)
    last = (remaining == 1 or (remaining is None and len(picked) == 1)) and len(picked) >= 1
    if last and g.ratio_diversity and one_ratio(ratio[picked], g.ratio_tol):
        pr = np.log(ratio[picked])
        centre = 0.5 * (pr.max() + pr.min())
        ok &= np.abs(np.log(ratio) - centre) > np.log(g.ratio_tol)
    if last and g.min_size_spread is not None:
        ps = np.log(sizes[picked])
        lo = np.minimum(ps.min(), np.log(sizes))
        hi = np.maximum(ps.max(), np.log(sizes))
        ok &= spans(lo, hi, g.min_size_spread)
    return ok


RULES = ("max_repeats", "max_per_cell", "ratio_diversity", "min_size_spread")  # in that order
NO_RULES = {"max_repeats": None, "max_per_cell": None, "ratio_diversity": False,
            "min_size_spread": None}  # fmt: skip


def blocking_rules(
    g: Guardrails, unit: int, picked, keys, ratio, sizes, remaining, held: dict | None = None
) -> list[str]:
    """The rules of ``g`` (:data:`RULES`, by their field names) that each alone refuse ``unit``
    as the next pick (the other arguments as :func:`allowed`'s): [] when none does."""
    held = earlier_counts(g, keys) if held is None else held
    out = []
    for rule in RULES:
        if getattr(g, rule) == NO_RULES[rule]:
            continue
        alone = replace(g, **{**NO_RULES, rule: getattr(g, rule)})
        if not allowed(alone, picked, keys, ratio, sizes, remaining, held)[unit]:
            out.append(rule)
    return out


def one_ratio(ratios: np.ndarray, tol: float) -> bool:
    """Whether the tokens per parameter ``ratios`` (D/N of >= 1 runs, (n,)) all lie within a
    factor ``tol`` of each other: a batch the ratio rule (``Guardrails.ratio_diversity``)
    refuses (its last pick is then kept off their ratio)."""
    logs = np.log(ratios)
    return bool(logs.max() - logs.min() <= np.log(tol))


def spans(log_lo, log_hi, min_spread: float):
    """Whether model sizes from exp(``log_lo``) to exp(``log_hi``) params (numbers or arrays,
    broadcast) span at least a factor ``min_spread`` (``Guardrails.min_size_spread``), up to
    :data:`SPREAD_ATOL` of round-off in the logs."""
    return log_hi - log_lo >= np.log(min_spread) - SPREAD_ATOL


def _tally(keys) -> list:
    out: dict = {}
    for key in keys:
        out[key] = out.get(key, 0) + 1
    return list(out.items())


def unmet_rules(g: Guardrails, ratio: np.ndarray, sizes: np.ndarray) -> list[tuple]:
    """The rules of ``g`` that a last pick applies (the ratio rule, then the size rule) and
    that a batch of >= 2 runs (their D/N ``ratio`` and N ``sizes`` in params, (n,)) breaks:
    per rule (its name, what the runs show, what to offer instead); [] when it breaks none."""
    out = []
    if g.ratio_diversity and one_ratio(ratio, g.ratio_tol):
        out.append((
            "the ratio guardrail",
            f"their tokens per parameter D/N all lie within a factor ratio_tol={g.ratio_tol:g} "
            "of each other",
            "candidates at other ratios",
        ))  # fmt: skip
    logs = np.log(sizes)
    if g.min_size_spread is not None and not spans(logs.min(), logs.max(), g.min_size_spread):
        out.append((
            "the size guardrail",
            f"their model sizes span a factor {np.exp(logs.max() - logs.min()):.3g} (max N / "
            f"min N), less than min_size_spread={g.min_size_spread:g}",
            "candidates of other sizes",
        ))  # fmt: skip
    return out
