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

from .candidates import positive_int

SPREAD_ATOL = 1e-12  # slack of the size-spread test in ln(max N / min N) (round-off in the logs)


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


KEY_COLUMNS = ("N", "D", "lr", "batch_size")  # logged in a key, then the run's group


def law_key_columns(law) -> tuple:
    """The :data:`KEY_COLUMNS` that tell a law's runs apart: N, D, and lr, batch_size when the
    law reads them (its ``run_columns`` or ``optional_inputs``). A column the law ignores (e.g. an
    lr column, NaN or not, in the candidates of a loss surface) never splits one design point
    into several for the repeat cap."""
    read = {"N", "D", *law.run_columns, *law.optional_inputs}
    return tuple(c for c in KEY_COLUMNS if c in read)


def run_keys(df: pd.DataFrame, group=None, columns=KEY_COLUMNS) -> list:
    """One key per run: rounded logs of N, D (and lr, batch_size when present), then its group
    label (the ``group`` column, else ``group``; None when neither is given). ``columns``: the
    key columns to use when present (:func:`law_key_columns`; default all of
    :data:`KEY_COLUMNS`). A missing value (NaN) keys as None, so two runs alike but for a
    missing lr share a key (``log(NaN) != log(NaN)`` made every such run a new design point)."""
    cols = [c for c in columns if c in df]
    with np.errstate(invalid="ignore", divide="ignore"):
        logs = np.round(np.log(df[cols].to_numpy(float)), 6)
    if "group" in df:
        groups = [str(g) for g in df["group"]]
    else:
        groups = [None if group is None else str(group)] * len(df)
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


def _count(counts: dict, keys) -> None:
    for key in keys:
        counts[key] = counts.get(key, 0) + 1


def allowed(g: Guardrails, picked, keys, ratio, sizes, remaining):
    """Boolean mask of units allowed as the next pick (``remaining``: picks left in the batch,
    counting this one; None when filling a budget)."""
    U = len(keys)
    ok = np.ones(U, bool)
    width = len(keys[0][0]) if U and keys[0] else 3
    grouped = bool(U and keys[0] and keys[0][0][-1] is not None)
    if g.max_repeats is not None or g.max_per_cell is not None:
        counts: dict = {}
        _count(counts, (as_candidate_key(k, width, grouped) for k in g.earlier))
        for p in picked:
            _count(counts, keys[p])
    if g.max_repeats is not None:
        ok &= np.array(
            [all(counts.get(k, 0) + n <= g.max_repeats for k, n in _tally(ks)) for ks in keys]
        )
    if g.max_per_cell is not None:
        cells: dict = {}
        for key, n in counts.items():
            cells[_cell(key)] = cells.get(_cell(key), 0) + n
        ok &= np.array(
            [
                all(cells.get(c, 0) + n <= g.max_per_cell for c, n in _tally(map(_cell, ks)))
                for ks in keys
            ]
        )
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
