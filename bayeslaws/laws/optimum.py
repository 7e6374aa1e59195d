"""The compute-optimal size of a loss surface by numerical minimisation along isoFLOP lines.

For a surface L(N, D) and a compute model C = flops_per_token(N) * D, the optimum at budget C
minimises ln L(N, D(N, C)) over ln N. Vectorised over posterior draws and budgets: a coarse grid
over the search range, three zoomed grids around each draw's minimum, then parabolic
interpolation (~1e-5 in ln N). Draws whose optimum lies at the edge of the search range (a
law may narrow it, :meth:`~bayeslaws.laws.surface.LossSurfaceLaw.search_range`) are flagged
(``at_boundary``); a closed-form optimum is held to the same range by
:func:`clip_to_search_range`, so both routes report the same edge draws.
"""

from __future__ import annotations

import numpy as np

COARSE_POINTS = 512
ZOOM_POINTS = 33
ZOOM_ROUNDS = 3
# above this share of draws at the search edge an N_opt interval's tail is the edge's, not the
# data's: too much to settle a comparison or to trust a width (fixed_vs_optimal, NOpt targets)
EDGE_SHARE = 0.05


def search_range(C):
    """ln N search bounds per budget C (FLOPs): 10 parameters up to 1e6 * sqrt(C)."""
    C = np.asarray(C, float)
    lo = np.full_like(C, np.log(10.0))
    hi = 0.5 * np.log(C) + np.log(1e6)
    return lo, hi


def coarse_step(C, bounds=None):
    """The coarse grid's spacing in ln N per budget C (FLOPs): the search range / (points - 1).
    ``bounds``: (lo, hi) ln N per budget, a law's own range (None: :func:`search_range`)."""
    lo, hi = search_range(C) if bounds is None else bounds
    return (hi - lo) / (COARSE_POINTS - 1)


def clip_to_search_range(u, C, bounds=None):
    """A closed-form optimum u = ln N_opt (S, Q) at budgets C (Q,) held to the search range
    (``bounds``: (lo, hi) ln N per budget, a law's own; None: :func:`search_range`).

    Returns (u clipped to [lo, hi] (S, Q), at_boundary (S, Q) bool).
    Flagged as :func:`minimise` flags: where the coarse grid's minimum would be its first or
    last point, i.e. u within half a coarse step of an edge or beyond it. Such a draw's optimum
    is reported at the edge, as :func:`minimise` reports it (to within a coarse step), not at a
    size the search never considers (an exponent near 0 puts ln N_opt at e.g. 1e40 params)."""
    u = np.asarray(u, float)
    lo, hi = search_range(C) if bounds is None else bounds
    half = 0.5 * coarse_step(C, (lo, hi))
    at_boundary = (u < lo + half) | (u > hi - half)
    return np.clip(u, lo, hi), at_boundary


def minimise(f, C, S: int, bounds=None):
    """Minimise f(u) (u = ln N of shape (S, Q, G) -> values (S, Q, G)) over u per draw and
    budget C (Q,).

    Returns (u_opt (S, Q), f(u_opt) (S, Q), at_boundary (S, Q) bool). Every zoomed grid and
    u_opt are held to the search range [lo, hi] (``bounds``, ln N per budget, a law's own;
    None: :func:`search_range`): a draw whose minimum is at an edge comes back at that edge
    (as :func:`clip_to_search_range` puts a closed-form optimum), with the loss there, not a
    step beyond it.
    """
    C = np.asarray(C, float)
    Q = len(C)
    lo, hi = search_range(C) if bounds is None else (np.asarray(b, float) for b in bounds)
    lo_b, hi_b = lo[None, :, None], hi[None, :, None]  # (1, Q, 1): against (S, Q, G) grids
    grid = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, COARSE_POINTS)[None, :]
    u = np.broadcast_to(grid[None], (S, Q, COARSE_POINTS))
    vals = np.asarray(f(u))
    i = np.argmin(vals, axis=-1)
    at_boundary = (i == 0) | (i == COARSE_POINTS - 1)
    step = (hi - lo)[None, :] / (COARSE_POINTS - 1) * np.ones((S, 1))
    centre = np.take_along_axis(u, i[..., None], -1)[..., 0]
    offsets = np.linspace(-1.0, 1.0, ZOOM_POINTS)
    for _ in range(ZOOM_ROUNDS):
        u = np.clip(centre[..., None] + step[..., None] * offsets, lo_b, hi_b)
        vals = np.asarray(f(u))
        i = np.clip(np.argmin(vals, axis=-1), 1, ZOOM_POINTS - 2)
        centre = np.take_along_axis(u, i[..., None], -1)[..., 0]
        step = step * 2.0 / (ZOOM_POINTS - 1)
    # parabolic interpolation through the three points around the minimum
    h = step  # spacing of the last grid
    fm = np.take_along_axis(vals, (i - 1)[..., None], -1)[..., 0]
    f0 = np.take_along_axis(vals, i[..., None], -1)[..., 0]
    fp = np.take_along_axis(vals, (i + 1)[..., None], -1)[..., 0]
    denom = fm - 2 * f0 + fp
    shift = np.where(denom > 0, 0.5 * h * (fm - fp) / np.where(denom > 0, denom, 1.0), 0.0)
    u_opt = np.clip(centre + np.clip(shift, -h, h), lo_b[..., 0], hi_b[..., 0])
    f_opt = np.asarray(f(u_opt[..., None]))[..., 0]
    return u_opt, np.minimum(f_opt, f0), at_boundary
