"""Interval width by distance: the relative 90% width of new-run loss predictions along a ray
of fixed tokens per parameter from the fit's top training budget, 1, 2, 3 decades of compute
beyond it (:func:`widths_by_distance`, :func:`ray_start`, :func:`ray_sizes`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...laws.contract import group_label
from ...runs import RunTable
from ...runs.checks import number_array
from ..draws import check_fit, log_loss_draws, query_frame, warn_new_group


def ray_start(runs: RunTable, compute_model, group=None) -> tuple[float, float, float]:
    """(N params, D tokens, C FLOPs) where :func:`widths_by_distance`'s ray starts: the
    lowest-loss run of the top budget (the runs whose stored C is within 0.1% of the largest;
    ties broken by N then D, so the row order does not matter), C from ``compute_model`` of
    (N, D), not the stored C (which may be a nominal budget). ``group``: a label of the runs'
    ``group`` column, whose own runs it starts from; None: every run."""
    df = runs.df
    if group is not None and "group" in df:
        df = df[df["group"].astype(str) == str(group)]
    top = df[np.isclose(df["C"], df["C"].max(), rtol=1e-3)]
    best = top.sort_values(["loss", "N", "D"], kind="mergesort").iloc[0]
    N, D = float(best["N"]), float(best["D"])
    return N, D, float(compute_model.flops(N, D))


def ray_sizes(compute_model, ratio: float, C) -> np.ndarray:
    """Sizes N (params) with flops(N, ratio * N) = C (FLOPs), at ``ratio`` tokens per param
    (closed form for C = k N D, else bisection in ln N over 1..1e18 params)."""
    C = np.asarray(C, float)
    k = compute_model.linear_k
    if k is not None:
        return np.sqrt(C / (k * ratio))
    lo, hi = np.zeros_like(C), np.full_like(C, np.log(1e18))
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        N = np.exp(mid)
        too_big = compute_model.flops(N, ratio * N) > C
        lo, hi = np.where(too_big, lo, mid), np.where(too_big, mid, hi)
    return np.exp(0.5 * (lo + hi))


def widths_by_distance(
    fit, method: str, decades=(1, 2, 3), seed: int = 0, group=None
) -> pd.DataFrame:
    """Relative 90% width of ``new_run`` loss predictions along a ray from the lowest-loss run
    of the fit's top training budget (:func:`ray_start`; its tokens per parameter held fixed),
    ``decades`` (numbers; default 1, 2, 3) decades of compute (the fit's compute model of N, D)
    beyond that run.

    ``group``: on a grouped fit, a fitted group's label: the ray starts from that group's own
    runs and is predicted for that group. None on a fit of several groups predicts a NEW,
    unseen group (wider intervals; UserWarning, once per fit: :func:`~..draws.warn_new_group`)
    from the pooled runs' start."""
    check_fit(fit)
    group = group_label(fit.groups, group)  # 10.0: group "10"; one the fit lacks: ValueError
    steps = number_array("decades", decades)
    if steps.ndim > 1 or steps.size == 0 or not np.isfinite(steps).all():
        raise ValueError(f"decades must be a 1-d sequence of finite numbers, got {decades!r}")
    steps = np.atleast_1d(steps)
    warn_new_group(fit, group, "widths_by_distance")
    N0, D0, C0 = ray_start(fit.training_runs(), fit.compute_model, group)
    ratio = D0 / N0
    C = C0 * 10.0**steps
    N = ray_sizes(fit.compute_model, ratio, C)
    query = query_frame(fit, N=N, D=ratio * N, group=group)
    loss = np.exp(np.asarray(log_loss_draws(fit, query, "new_run", group, seed, method)))
    lo, med, hi = np.quantile(loss, [0.05, 0.5, 0.95], axis=0)
    return pd.DataFrame(
        {"decades": steps, "N": N, "D": ratio * N, "width90": (hi - lo) / med}
    )
