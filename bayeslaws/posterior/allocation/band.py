"""The near-optimal band: the model sizes within a tolerance of the optimal loss at one budget,
with the posterior probability of each (:func:`near_optimal`), the result
(:class:`NearOptimal`) and the sentence for a band that reaches the edge of the sizes searched
(:func:`band_edge_message`)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...runs.checks import check_integer, check_positive
from ...runs.warn import user_stacklevel
from ..draws import check_fit, check_seed, warn_new_group
from ..extrapolation import DEFAULT_METHOD
from ..extrapolation.distance import range_words
from ..model import ModelView
from ..predict import check_ci
from .categories import SearchEdgeWarning
from .checks import budget_array, check_isoflop_sizes, compute_model_of
from .distance import RANGE_AXES, outside_columns, warn_outside_range
from .edges import warn_at_edge
from .far import far_draws, far_share, warn_far_draws
from .kinks import warn_at_kink
from .nominal import warn_nominal
from .optimum_draws import allocation_draws, floor_draws
from .tables import median_interval
from .unbracketed import warn_unbracketed

DEFAULT_TOLERANCE = 0.05  # of the reducible loss (relative_to="reducible"), when none is given
RELATIVE_TO = ("reducible", "total")


@dataclass
class NearOptimal:
    """Which model sizes stay within ``tolerance`` of the optimal loss at budget C.

    Attributes
    ----------
    C, tolerance, prob : the budget (FLOPs), the relative loss tolerance and the probability
        threshold that defines the band.
    relative_to : what the tolerance is a fraction of: "reducible" (L_opt minus the law's
        irreducible loss, per draw; the whole L_opt for a law without a floor) or "total"
        (L_opt).
    table : DataFrame per candidate N: N, D, prob_within (posterior probability that the
        excess loss is within the tolerance), excess (median relative excess loss L(N)/L_opt -
        1), excess_lower, excess_upper, excess_mean, excess_reducible (median (L(N) - L_opt) /
        (L_opt - floor)) with _lower, _upper, loss, loss_lower, loss_upper.
    N_opt : posterior median of the optimal size; N_opt_lower, N_opt_upper its interval.
    band : (N_low, N_high), the range of N with prob_within >= prob (None if empty; a warning
        says when sizes inside it fall short, i.e. the sizes that pass are not one interval;
        :attr:`band_at_edge` says when it reaches the first or last size searched, beyond which
        it extends by an unknown amount).
    smallest : dict for the smallest N in the band: N, D, size_vs_optimal (N / median N_opt
        - 1, e.g. -0.4 = a 40% smaller model), loss and both excesses with intervals (None if
        empty).
    floor : (median, lower, upper) of the irreducible loss, or None (the law has no floor: its
        reducible loss is the whole loss, so "reducible" and "total" coincide,
        :attr:`floorless_note`).
    reducible_share : (median, lower, upper) of (L_opt - floor) / L_opt, the reducible share of
        the optimal loss (1 without a floor).
    outside_decades : {"C": ..., "N_opt": ..., "D_opt": ...}: how far the budget and the
        median N_opt and D_opt lie outside the fitted range (signed decades, 0 inside; the
        axes with a recorded range; for a fitted group of a grouped fit, that group's own
        runs' range); :attr:`range_note` and the repr name any that are not 0.
    range_of : what ``outside_decades`` is measured from, in words
        (:func:`range_words`: "the fitted range", or "group 'a''s fitted range").
    far_outside : the share of the draws of N_opt more than ``WARN_DECADES`` outside the
        fitted range of N, or whose L_opt lies below the law's floor (:func:`far_draws`; at a
        budget whose median lies within ``WARN_DECADES`` of that range, a share above
        ``FAR_SHARE``, 1%, warns, :class:`ExtrapolationWarning`).
    """

    C: float
    tolerance: float
    prob: float
    ci: float
    table: pd.DataFrame
    N_opt: float
    N_opt_lower: float
    N_opt_upper: float
    band: tuple | None
    smallest: dict | None
    relative_to: str = "total"
    floor: tuple | None = None
    reducible_share: tuple = (1.0, 1.0, 1.0)
    outside_decades: dict = field(default_factory=dict)
    range_of: str = "the fitted range"
    far_outside: float = 0.0

    @property
    def range_note(self) -> str:
        """'' when C and the median N_opt and D_opt lie inside the fitted range (``range_of``;
        or no range is known); else how far outside it each lies, in signed decades."""
        far = {k: v for k, v in self.outside_decades.items() if v != 0}
        if not far:
            return ""
        parts = ", ".join(f"{k} {v:+.2g}" for k, v in far.items())
        return f"outside {self.range_of} by {parts} decades"

    @property
    def short_inside(self) -> pd.DataFrame:
        """The rows of ``table`` inside ``band`` whose prob_within falls short of ``prob``: the
        sizes that make the band not one interval (empty when it is one, or there is none)."""
        t = self.table
        if self.band is None or t.empty:
            return t.iloc[:0]
        inside = (t["N"] >= self.band[0]) & (t["N"] <= self.band[1])
        return t[inside & (t["prob_within"] < self.prob)]

    @property
    def gap_note(self) -> str:
        """'' when the sizes within tolerance are one interval (``band``); else the sentence
        naming the first size inside the band that falls short (:attr:`short_inside`)."""
        short = self.short_inside
        if short.empty:
            return ""
        first = short.iloc[0]
        others = f" (and {len(short) - 1} more size(s))" if len(short) > 1 else ""
        return (
            f"the sizes within tolerance at C = {self.C:.3g} are not one interval: N = "
            f"{first['N']:.4g}, inside the band [{self.band[0]:.4g}, {self.band[1]:.4g}], has "
            f"prob_within {first['prob_within']:.2f} < {self.prob:g}{others} (see .table for "
            "every size)"
        )

    @property
    def band_at_edge(self) -> tuple[bool, bool]:
        """(low, high): whether the band reaches the smallest / largest size of ``table`` (the
        sizes searched); on that side the band extends beyond them by an unknown amount, so its
        end there is the search's edge, not the tolerance's."""
        if self.band is None or self.table.empty:
            return (False, False)
        N = self.table["N"].to_numpy(float)
        return (bool(self.band[0] <= N[0]), bool(self.band[1] >= N[-1]))

    @property
    def tolerance_total(self) -> float:
        """The tolerance as a fraction of the total optimal loss (median reducible share)."""
        if self.relative_to == "total":
            return self.tolerance
        return self.tolerance * self.reducible_share[0]

    @property
    def tolerance_reducible(self) -> float:
        """The tolerance as a fraction of the reducible loss (median reducible share)."""
        if self.relative_to == "reducible":
            return self.tolerance
        return self.tolerance / self.reducible_share[0]

    @property
    def floorless_note(self) -> str:
        """'' for a law with a floor; else the sentence that its reducible loss is the whole
        loss, so a tolerance of the reducible loss is one of the total (near_optimal)."""
        if self.floor is not None:
            return ""
        return (
            "the law declares no floor (irreducible loss; floor=None), so its reducible loss is "
            "the whole loss: a tolerance of the reducible loss is one of the total, far looser "
            "than the same tolerance on a law with a floor"
        )

    def __repr__(self) -> str:
        note = f"; {self.floorless_note}" if self.floorless_note else ""
        where = f", {self.range_note}" if self.range_note else ""
        head = (
            f"NearOptimal(C={self.C:.3g} FLOPs{where}, tolerance={self.tolerance:.3g} of the "
            f"{self.relative_to} loss (= {100 * self.tolerance_total:.3g}% of the total, "
            f"{100 * self.tolerance_reducible:.3g}% of the reducible{note}), "
            f"prob>={self.prob:g}): "
            f"N_opt {self.N_opt:.4g} [{self.N_opt_lower:.4g}, {self.N_opt_upper:.4g}]"
        )
        if self.band is None:
            return head + "; no N is within tolerance with that probability"
        s = self.smallest
        return (
            f"{head}; band N in [{self.band[0]:.4g}, {self.band[1]:.4g}]; smallest N "
            f"{s['N']:.4g} ({100 * s['size_vs_optimal']:+.1f}% vs N_opt) costs "
            f"{100 * s['excess']:.3g}% loss [{100 * s['excess_lower']:.3g}, "
            f"{100 * s['excess_upper']:.3g}] = {100 * s['excess_reducible']:.3g}% of the "
            f"reducible loss [{100 * s['excess_reducible_lower']:.3g}, "
            f"{100 * s['excess_reducible_upper']:.3g}]"
        )


def _profile_log_loss(fit, C, N, model, group, seed, extrapolation):
    """ln L along one isoFLOP line for every draw: (S, G)."""
    view = ModelView.of(fit, extrapolation, check_seed(seed))
    return view.isoflop_profile(C, N, model, group=group)


def near_optimal(
    fit,
    C,
    tolerance: float | None = None,
    *,
    relative_to: str | None = None,
    prob: float = 0.9,
    N=None,
    n_grid: int = 241,
    span_decades: float = 1.5,
    ci: float = 0.9,
    compute_model=None,
    group=None,
    seed: int = 0,
    extrapolation: str = DEFAULT_METHOD,
    _new_group_noted: bool = False,
) -> NearOptimal:
    """The sizes within ``tolerance`` of the optimal loss at budget C, and the smallest of them.

    For each candidate N on the isoFLOP line of budget C (D from the compute model) and each
    posterior draw, the model is near-optimal if its excess loss L(N) - L_opt is at most
    ``tolerance`` times the reducible loss L_opt - E (``relative_to="reducible"``; E the law's
    irreducible loss in that draw, :meth:`~bayeslaws.laws.contract.Law.irreducible_loss`, 0
    for a law without a floor) or times the total L_opt (``"total"``). The posterior
    probability of that, per N, defines the band (prob >= ``prob``); its smallest N is the
    cheapest model to serve at (nearly) the optimal loss.

    A tolerance of the total loss misleads when the floor dominates: with L_opt = 0.4945 and
    E = 0.488, 1% of the total is 75% of what can still be gained. Hence the default.

    A law without a floor (kaplan; isoflop without ``loss_floor``) calls its whole loss
    reducible, so there "reducible" IS "total": the default 5% is 5% of the whole L_opt, a far
    wider band than 5% of the reducible part gives a law with a floor on the same runs (often
    10-30% of L_opt). The result says so (``floor`` None; its repr names it).

    Parameters
    ----------
    fit : loss-surface or isoflop fit.
    C : one budget in FLOPs.
    tolerance : relative loss tolerance, a fraction in (0, 1] (0.05 = 5%); default
        ``DEFAULT_TOLERANCE`` (5%) of the reducible loss.
    relative_to : "reducible" or "total"; default "reducible" when ``tolerance`` is not given
        and "total" when it is (the meaning a bare number had before).
    prob : probability threshold for the band.
    N : candidate sizes (params); default ``n_grid`` log-spaced sizes within ``span_decades``
        of the posterior median N_opt. A band that reaches that default grid's edge warns
        (:class:`SearchEdgeWarning`: the band extends beyond it; a wider ``span_decades`` or a
        smaller ``tolerance``); with ``N`` given the band is the sizes given that pass.
    ci : interval mass for the reported intervals.
    compute_model, group, seed, extrapolation : as in :func:`optimal_allocation`
        (``group=None`` on a grouped fit: a new, unseen group, whose floor and optimum are
        drawn together; wider; warned once per fit). A budget, or its median N_opt or D_opt,
        more than ``WARN_DECADES`` outside the fitted range warns
        (:class:`ExtrapolationWarning`; the result's
        ``outside_decades`` says how far), and draws of N_opt far outside the data at a budget
        near it (the result's ``far_outside``), nominal budgets, and a fitted budget whose runs
        do not bracket its vertex (:class:`UnbracketedVertexWarning`), warn as there.
    _new_group_noted : private: the caller tells its user itself that ``group=None`` answers
        for a new group (no warning).
    """
    C_arr = budget_array(C)
    if C_arr.size != 1:
        raise ValueError(f"C must be a single budget for near_optimal, got {C_arr.size} values")
    C = float(C_arr[0])
    if tolerance is not None:
        tolerance = check_positive("tolerance", tolerance, "a relative loss")
        if tolerance > 1:  # 5 meant as 5% would be 500%: a band over the whole search range
            raise ValueError(
                f"near_optimal: tolerance is a fraction of the loss in (0, 1] (0.05 = 5%), got "
                f"{tolerance:g}"
            )
    if relative_to is not None and relative_to not in RELATIVE_TO:
        raise ValueError(f"relative_to must be one of {RELATIVE_TO}, got {relative_to!r}")
    prob = check_ci(prob, "prob")
    ci = check_ci(ci)
    # the fit after the scalar arguments (a tolerance of 5 is refused whatever the fit), and
    # before its first use
    check_fit(fit)
    # every argument checked (the fit too) before the tolerance's reading is warned: prob=90
    # is refused without a warning first
    if relative_to is None and tolerance is not None:
        warnings.warn(
            f"near_optimal: tolerance={tolerance!r} without relative_to is read as a fraction "
            "of the TOTAL loss (its meaning before relative_to existed), while the default "
            "tolerance is 5% of the REDUCIBLE loss; pass relative_to='total' or 'reducible' to "
            "say which (the result states the tolerance on both scales)",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    if relative_to is None:
        relative_to = "reducible" if tolerance is None else "total"
    if tolerance is None:
        tolerance = DEFAULT_TOLERANCE
    model = compute_model_of(fit, compute_model)
    # one budget: a far-budget warning has no position to name
    alloc = allocation_draws(
        fit, C_arr, model, group, seed, extrapolation=extrapolation, positions=False
    )
    warn_at_edge(C_arr, alloc, extrapolation, "near_optimal")
    warn_unbracketed(C_arr, alloc, "near_optimal")
    warn_at_kink(fit, C_arr, alloc["N_opt"], model, extrapolation, "near_optimal", group=group)
    medians = [np.median(alloc[name], axis=0) for name in ("N_opt", "D_opt")]
    outside = outside_columns(fit, group, C_arr, *medians, model)
    warn_outside_range(fit, C_arr, outside, extrapolation, "near_optimal", group=group)
    floor = floor_draws(fit, group, seed, extrapolation)
    far = far_draws(fit, alloc, floor, group)
    warn_far_draws(fit, C_arr, far, outside, extrapolation, "near_optimal", group=group)
    warn_nominal(fit, model, "near_optimal")
    searched = N is None  # the default grid around N_opt, whose edge the band may reach
    n_opt = alloc["N_opt"][:, 0]
    log_L_opt = np.log(alloc["L_opt"][:, 0])
    N_med, N_lo, N_hi = median_interval(n_opt, ci)
    if N is None:
        n_grid = check_integer("n_grid", n_grid, 3)
        span_decades = check_positive("span_decades", span_decades, "decades each side of N_opt")
        N = np.geomspace(N_med * 10**-span_decades, N_med * 10**span_decades, n_grid)
    else:
        N = np.sort(budget_array(N, "N"))
        check_isoflop_sizes(fit, N, C, model, group)
    log_L = _profile_log_loss(fit, C, N, model, group, seed, extrapolation)
    # the grid may straddle the optimum: never count a draw's L below its own optimum
    log_L_opt = np.minimum(log_L_opt, log_L.min(axis=1))
    excess = np.exp(log_L - log_L_opt[:, None]) - 1.0
    L_opt = np.exp(log_L_opt)
    # a draw whose optimum sits at (or, with the discrepancy, below) its floor has nothing
    # left to gain: any excess is then outside every tolerance of the reducible loss
    reducible = np.maximum(L_opt - (0.0 if floor is None else floor), 1e-12 * L_opt)
    excess_red = excess * (L_opt / reducible)[:, None]
    within = (excess_red if relative_to == "reducible" else excess) <= tolerance
    p = within.mean(axis=0)
    e_med, e_lo, e_hi = median_interval(excess, ci)
    r_med, r_lo, r_hi = median_interval(excess_red, ci)
    loss = np.exp(log_L)
    l_med, l_lo, l_hi = median_interval(loss, ci)
    D = np.asarray(model.tokens(N, C))
    table = pd.DataFrame(
        {
            "N": N,
            "D": D,
            "prob_within": p,
            "excess": e_med,
            "excess_lower": e_lo,
            "excess_upper": e_hi,
            "excess_mean": excess.mean(axis=0),
            "excess_reducible": r_med,
            "excess_reducible_lower": r_lo,
            "excess_reducible_upper": r_hi,
            "loss": l_med,
            "loss_lower": l_lo,
            "loss_upper": l_hi,
        }
    )
    ok = np.where(p >= prob)[0]
    band = smallest = None
    if ok.size:
        band = (float(N[ok[0]]), float(N[ok[-1]]))
        j = ok[0]
        smallest = {
            "N": float(N[j]),
            "D": float(D[j]),
            "prob_within": float(p[j]),
            "size_vs_optimal": float(N[j] / N_med - 1.0),
            "loss": float(l_med[j]),
            "loss_lower": float(l_lo[j]),
            "loss_upper": float(l_hi[j]),
            "excess": float(e_med[j]),
            "excess_lower": float(e_lo[j]),
            "excess_upper": float(e_hi[j]),
            "excess_reducible": float(r_med[j]),
            "excess_reducible_lower": float(r_lo[j]),
            "excess_reducible_upper": float(r_hi[j]),
        }
    floor_ci = None if floor is None else tuple(float(v) for v in median_interval(floor, ci))
    share = tuple(float(v) for v in median_interval(reducible / L_opt, ci))
    result = NearOptimal(
        C,
        float(tolerance),
        prob,
        ci,
        table,
        float(N_med),
        float(N_lo),
        float(N_hi),
        band,
        smallest,
        relative_to,
        floor_ci,
        share,
        {
            name: float(outside[f"{axis}_outside_decades"][0])
            for axis, name in RANGE_AXES
            if f"{axis}_outside_decades" in outside
        },
        range_words(fit, group),
        float(far_share(far)[0]),
    )
    if result.gap_note:
        warnings.warn(f"near_optimal: {result.gap_note}", UserWarning, stacklevel=user_stacklevel())
    message = band_edge_message(result, span_decades) if searched else ""
    if message:
        warnings.warn(message, SearchEdgeWarning, stacklevel=user_stacklevel())
    warn_new_group(
        fit, group, "near_optimal", noted=_new_group_noted
    )
    return result


def band_edge_message(near: NearOptimal, span_decades: float | None = None) -> str:
    """The sentence for a near-optimal band that reaches the edge of the sizes searched
    (:attr:`NearOptimal.band_at_edge`): the band extends beyond it, by an unknown amount;
    ``span_decades``: the default grid's half-width in decades, for the remedy. '' otherwise."""
    low, high = near.band_at_edge
    if not (low or high):
        return ""
    N = near.table["N"].to_numpy(float)
    ends = (("lower", "smallest", N[0]), ("upper", "largest", N[-1]))
    sides = [
        f"its {side} end, N = {n:.4g} params, is the {edge} size searched"
        for hit, (side, edge, n) in zip((low, high), ends, strict=True)
        if hit
    ]
    wider = f"a span_decades above {span_decades:g}" if span_decades is not None else "more sizes"
    return (
        f"near_optimal: the band at C = {near.C:.3g} FLOPs reaches the edge of the sizes searched "
        f"({'; '.join(sides)}): the band extends beyond the search by an unknown amount, so "
        f"{'those ends are' if low and high else 'that end is'} the search's edge, not the "
        f"tolerance's ({near.tolerance:g} of the {near.relative_to} loss; search {wider} or use "
        "a smaller tolerance)"
    )
