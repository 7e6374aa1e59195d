"""Decision quantities at held-out budgets: the empirical isoFLOP vertex of each budget
(:func:`empirical_vertices`), the fit's N_opt and L_opt scored against a truth
(:func:`decision_scores`), and whether an N_opt interval ends at the edge of the isoFLOP search
(:func:`edge_bounds`, :func:`edge_bounded`)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ...laws.optimum import COARSE_POINTS, search_range
from ...runs.checks import ArgumentTypeError, UnknownNameError, check_integer, check_probability
from ...runs.warn import user_stacklevel, warn_user
from ..draws import check_fit
from ..extrapolation import check_method
from .checks import positive_column
from .groups import by_group, held_out_group_note, held_out_groups
from .scoring import LEVELS, UnscoredWarning, checked_levels, level_key


def empirical_vertices(points: pd.DataFrame, n_boot: int = 2000, seed: int = 0, ci=0.9):
    """Per budget (column C) of held-out isoFLOP points: the vertex of a quadratic fit of ln loss
    on ln N (N_vertex params, L_vertex loss), its bootstrap ``ci`` interval over the budget's
    points (resampled with replacement; fits without a minimum are left out of the interval),
    the number of points and whether the vertex lies inside the budget's range of N. With a
    ``group`` column (runs of several groups, e.g. model families) each group's budget is its
    own curve: one row per (group, C), ``group`` first, so that :func:`decision_scores`
    answers each for its own group (rows without a group label, NaN, are a curve too).

    A curve without a minimum (the fitted parabola opens downward) has NaN N_vertex and
    L_vertex: :func:`decision_scores` leaves such a budget unscored.

    **The "90%" interval under-covers, most with few points.** On SIMULATED parabolas in ln N
    with noise sd 0.01 in ln loss and the defaults (n_boot 2000, ci 0.9) it held the true N*
    in 83-91% and the true L* in 74-86% of 300 curves per setting, the fewer the points the
    less (5, 9, 15 points per curve; ``benchmarks/vertex_bootstrap_coverage.py``,
    ``benchmarks/output/vertex_bootstrap_coverage.txt``; binomial standard errors about
    0.02), as percentile bootstrap intervals over few points tend to be too narrow. Its width
    understates the vertex's uncertainty: it is not a calibrated 90% interval (the method is
    kept: its intervals are in the stored benchmark outputs).

    ``points`` lacking a column (C FLOPs, N params, loss) is an UnknownNameError naming it;
    ``n_boot`` must be an integer >= 1 and ``ci`` in (0, 1)."""
    require_columns(points, "points", ("C", "N", "loss"))
    check_integer("n_boot", n_boot, 1)
    check_probability("ci", ci)
    rng = np.random.default_rng(seed)
    rows = []
    for label, C, curve in _curves(points):
        u = np.log(curve["N"].to_numpy(float))
        z = np.log(curve["loss"].to_numpy(float))
        centre = u.mean()
        vertex = _quadratic_vertex(u - centre, z)
        boot = []
        for _ in range(n_boot):
            i = rng.integers(0, len(u), len(u))
            if np.unique(u[i]).size >= 3:
                boot.append(_quadratic_vertex(u[i] - centre, z[i]))
        boot = np.array([b for b in boot if np.isfinite(b[0])])
        lo, hi = (
            np.quantile(boot, [(1 - ci) / 2, (1 + ci) / 2], axis=0)
            if len(boot)
            else np.full((2, 2), np.nan)
        )
        rows.append(
            {
                **label,
                "C": float(C),
                "n_points": len(curve),
                "N_vertex": float(np.exp(vertex[0] + centre)),
                "N_vertex_lower": float(np.exp(lo[0] + centre)),
                "N_vertex_upper": float(np.exp(hi[0] + centre)),
                "L_vertex": float(np.exp(vertex[1])),
                "L_vertex_lower": float(np.exp(lo[1])),
                "L_vertex_upper": float(np.exp(hi[1])),
                "vertex_inside_sizes": bool(u.min() <= vertex[0] + centre <= u.max()),
            }
        )
    return pd.DataFrame(rows)


def _curves(points: pd.DataFrame) -> list[tuple[dict, float, pd.DataFrame]]:
    """(label, C, rows) per isoFLOP curve of ``points``: per budget C (rows without a C left
    out), per (group, C) when ``points`` has a ``group`` column (label ``{"group": g}``, else
    ``{}``), sorted by group then C."""
    if "group" not in points:
        return [({}, C, rows) for C, rows in points.groupby("C")]
    curves = points[points["C"].notna()].groupby(["group", "C"], dropna=False)
    return [({"group": g}, C, rows) for (g, C), rows in curves]


def _quadratic_vertex(u, z) -> tuple[float, float]:
    """(u*, z*) of the least-squares parabola z = c0 + c1 u + c2 u^2 (NaN if c2 <= 0)."""
    c2, c1, c0 = np.polyfit(u, z, 2)
    if c2 <= 0:
        return float("nan"), float("nan")
    u_star = -c1 / (2 * c2)
    return float(u_star), float(c0 - c1**2 / (4 * c2))


EDGE_STEPS = 2  # coarse-grid steps (ln N) within which an interval end counts as the edge


def edge_bounds(C, searched=None) -> tuple[np.ndarray, np.ndarray]:
    """Per budget C (FLOPs): the sizes (params) at or below / at or above which an N_opt value
    is the isoFLOP search range's edge, not an interior optimum. ``searched``: (low, high)
    params per budget, the range the law searched (a law may narrow it:
    :func:`~..allocation.searched_range` of its draws); None: the whole
    :func:`~bayeslaws.laws.optimum.search_range`.

    A draw whose optimum is at the edge starts at an end of the coarse grid (step h = the
    range in ln N / (COARSE_POINTS - 1), 0.068 at 1e20 FLOPs) and the zoom rounds move it by
    at most about one h, either way (e.g. 9.37 params below the 10-parameter bound). The
    margin is EDGE_STEPS = 2 grid steps in ln N: ``exp(lo + 2 h)``, ``exp(hi - 2 h)``."""
    if searched is None:
        lo, hi = search_range(C)
    else:
        lo, hi = (np.log(np.asarray(b, float)) for b in searched)
    margin = EDGE_STEPS * (hi - lo) / (COARSE_POINTS - 1)
    return np.exp(lo + margin), np.exp(hi - margin)


def edge_bounded(lower, upper, C, searched=None) -> np.ndarray:
    """Whether an N_opt interval [lower, upper] (params) at budget C (FLOPs) has an end at the
    edge of the range searched (:func:`edge_bounds`; ``searched`` as there): such an interval
    is bounded by the search, not by the posterior, and its "hit" says nothing about the
    data."""
    bottom, top = edge_bounds(C, searched)
    return (np.asarray(lower, float) <= bottom) | (np.asarray(upper, float) >= top)


def decision_scores(fit, truth: pd.DataFrame, method: str, seed: int = 0, levels=LEVELS):
    """N_opt and L_opt at the budgets of ``truth`` (columns C, N_opt, L_opt: a simulator's
    optimum or a held-out budget's empirical vertex; optional ``N_opt_lower`` ... ``L_opt_upper``,
    the truth's own interval) against ``fit``'s posterior under the extrapolation ``method``.

    One row per budget and quantity (``truth``'s ``group`` column first, when it has one): the
    truth (and ``truth_lower``, ``truth_upper`` when given, else NaN), our median and interval
    per level (keyed as :func:`~.scoring.score` keys them, :func:`~.scoring.level_key`), a hit
    flag per level, ``log_error`` = |ln(median / truth)|, ``at_boundary_share`` (share of draws
    whose N_opt is at the search edge), ``edge_bounded90`` (the budget's N_opt 90% interval
    ends at the search edge, :func:`edge_bounded`; the L_opt row carries the same flag, its
    draws being those optima) and ``in90_bounded`` = in90 and not edge_bounded90.

    ``scored``: whether the row's truth is finite. A truth that is NaN or infinite (e.g. the
    empirical vertex of a budget whose isoFLOP curve has no minimum,
    :func:`empirical_vertices`) is neither a hit nor a miss, as a held-out run without a loss
    is in :func:`score`: its hit flags (``in50`` ... ``in90_bounded``, nullable booleans) are
    NA, which means and sums skip, and its ``log_error`` is NaN; one :class:`UnscoredWarning`
    names those budgets and quantities.

    **Groups.** On a fit of several groups each budget is answered for the fitted group in
    ``truth``'s ``group`` column (:func:`held_out_groups`); a group the fit lacks, or every
    budget when ``truth`` has no ``group`` column, is answered for a NEW, unseen group (wider
    intervals), with a UserWarning naming them (:func:`held_out_group_note`).

    ``truth`` lacking a column is an UnknownNameError naming it; ``levels`` must be masses in
    (0, 1)."""
    require_columns(truth, "truth", ("C", "N_opt", "L_opt"))
    levels = checked_levels(levels)
    method = check_method(method, "method")
    check_fit(fit)
    C = positive_column(truth, "C", "truth")
    groups, _ = held_out_groups(fit, truth)
    note = held_out_group_note(fit, truth, "decision_scores")
    if note:
        warn_user(note, UserWarning)
    draws = _decision_draws(fit, C, groups, seed, method)
    rows = []
    for q, (_, values) in enumerate(truth.iterrows()):
        for quantity in ("N_opt", "L_opt"):
            x = draws[quantity][:, q]
            true = float(values[quantity])
            scored = bool(np.isfinite(true))
            row = {
                **({"group": values["group"]} if "group" in truth else {}),
                "C": float(values["C"]),
                "quantity": quantity,
                "truth": true,
                "truth_lower": float(values.get(f"{quantity}_lower", np.nan)),
                "truth_upper": float(values.get(f"{quantity}_upper", np.nan)),
                "median": float(np.median(x)),
                "log_error": float(abs(np.log(np.median(x) / true))) if scored else np.nan,
            }
            for level in levels:
                lo, hi = np.quantile(x, [(1 - level) / 2, (1 + level) / 2])
                key = level_key(level)
                row[f"lower{key}"], row[f"upper{key}"] = float(lo), float(hi)
                row[f"in{key}"] = bool(lo <= true <= hi) if scored else pd.NA
            row["at_boundary_share"] = float(draws["edge_share"][q])
            row["edge_bounded90"] = bool(draws["edge90"][q])
            if "in90" in row:
                bounded = (row["in90"] and not row["edge_bounded90"]) if scored else pd.NA
                row["in90_bounded"] = bounded
            row["scored"] = scored
            rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:  # no budget asked
        return out
    hits = [f"in{level_key(v)}" for v in levels] + ["in90_bounded"] * ("in90" in out)
    out = out.astype({c: "boolean" for c in hits})  # NA where unscored
    _warn_unscored_budgets(out)
    return out


def _decision_draws(fit, C, groups, seed: int, method: str) -> dict:
    """:func:`decision_scores`' draws at budgets C (FLOPs, (Q,)), each for its entry of
    ``groups`` (:func:`held_out_groups`): ``N_opt`` (params) and ``L_opt`` (S, Q), the share
    of draws at the search edge ``edge_share`` (Q,) and ``edge90`` (Q,), whether the 90% N_opt
    interval ends at the edge of the range the law searched (:func:`edge_bounded`)."""
    from ..allocation import allocation_draws, searched_range

    out = {}
    for group, at in by_group(groups):
        draws = allocation_draws(fit, C[at], group=group, seed=seed, extrapolation=method)
        n_opt = np.asarray(draws["N_opt"], float)
        ends = np.quantile(n_opt, [0.05, 0.95], axis=0)
        part = {
            "N_opt": n_opt,
            "L_opt": np.asarray(draws["L_opt"], float),
            "edge_share": np.asarray(draws["at_boundary"], bool).mean(axis=0),
            "edge90": edge_bounded(*ends, C[at], searched_range(C[at], draws)),
        }
        for key, value in part.items():
            if key not in out:
                out[key] = np.empty((*value.shape[:-1], len(C)), value.dtype)
            out[key][..., at] = value
    return out


def require_columns(table, argument: str, columns) -> None:
    """Refuse ``table`` (the argument named ``argument``) unless it is a DataFrame holding
    ``columns``: ArgumentTypeError for another type, UnknownNameError naming the missing
    columns."""
    if not isinstance(table, pd.DataFrame):
        raise ArgumentTypeError(
            f"{argument} must be a DataFrame with columns {list(columns)}, got "
            f"{type(table).__name__}"
        )
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise UnknownNameError(
            f"{argument} lacks column(s) {missing} (needs {list(columns)}; has "
            f"{[str(c) for c in table.columns]})"
        )


def _warn_unscored_budgets(table: pd.DataFrame) -> None:
    """Warn (:class:`UnscoredWarning`) naming the budgets (C, FLOPs; and group, with a
    ``group`` column) and quantities of the :func:`decision_scores` rows ``table`` whose truth
    is not finite (``scored`` False)."""
    left = table.loc[~table["scored"].to_numpy(bool)]
    if left.empty:
        return
    groups = left["group"] if "group" in left else [None] * len(left)
    named = [
        ("" if g is None else "group (none) " if pd.isna(g) else f"group {g} ") + f"C={c:.3g} {q}"
        for g, c, q in zip(groups, left["C"], left["quantity"], strict=True)
    ]
    shown = f"{named[:10]}{' ...' if len(named) > 10 else ''}"
    warnings.warn(
        f"{len(named)} of {len(table)} decision rows have no finite truth (NaN or inf: e.g. a "
        "held-out budget whose isoFLOP curve has no minimum) and are neither hit nor miss "
        f"(hit flags NA, log_error NaN; {int(table['scored'].sum())} scored): {shown}",
        UnscoredWarning,
        stacklevel=user_stacklevel(),
    )
