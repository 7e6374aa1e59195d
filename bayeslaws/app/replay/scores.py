"""The scores of a replay's fits (:func:`score`): SL2's R^2 of the held-out runs' losses
(:func:`r_squared`, :func:`held_out_predictions`), and the decision quantity's error, 90%
coverage and half-width against the pool's truth (:func:`decision_table`, its components
labelled by :func:`component_label`), under the pool's ``report_method`` and beside it the
methods of :data:`ALSO_SCORED`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...posterior import optimal_allocation, predict, quantity_draws, query_frame, range_stated
from ...runs.reading import diverged_flags
from .pool import Pool

ALSO_SCORED = ("gp",)  # extrapolation methods scored beside the reported one (columns error_gp..)
SL2_STEPLAW_R2 = {0.01: -0.66, 0.05: 0.00, 0.10: 0.22}  # SL2's Step Law LR x batch pool


def component_label(quantity: str, N: float, D: float) -> str:
    return f"{quantity}(N={N:.3g}, D={D:.3g})"


def r_squared(actual, predicted) -> float:
    """SL2's R^2: 1 - SS_res / SS_tot, clipped to [-1, 1]."""
    y = np.asarray(actual, float)
    p = np.asarray(predicted, float)
    ss_res = np.sum((y - p) ** 2)
    ss_tot = np.sum((y - y.mean()) ** 2)
    return float(np.clip(1.0 - ss_res / max(ss_tot, 1e-300), -1.0, 1.0))


def held_out_predictions(
    pool: Pool, fit, seed: int = 0, method: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(observed, predicted median) losses of the held-out runs the R^2 is computed on: every
    run with a finite loss (for an LR x batch pool, the converged runs); ``method``: the
    extrapolation method (None: ``pool.report_method``)."""
    method = pool.report_method if method is None else method
    out = pool.held_out
    if pool.kind == "hyperparams":
        out = out[~diverged_flags(out) & np.isfinite(out["loss"])]
        query = query_frame(fit, N=out["N"], D=out["D"], lr=out["lr"], batch_size=out["batch_size"])
        draws = quantity_draws(fit, query, kind="new_run", seed=seed, extrapolation=method)
        level = draws["loss_opt"] if "loss_opt" in draws else draws["loss"]  # at the optimum
        pred = np.median(level * (1.0 + draws["rel_penalty"]), axis=0)
        return out["loss"].to_numpy(float), pred
    with range_stated():  # held-out runs beyond the fitted ones: the backtest's point
        table = predict(
            fit, N=out["N"].to_numpy(), D=out["D"].to_numpy(), kind="new_run", seed=seed,
            extrapolation=method,
        )  # fmt: skip
    return out["loss"].to_numpy(float), table["median"].to_numpy(float)


def decision_table(
    pool: Pool, fit, ci: float = 0.9, seed: int = 0, method: str | None = None
) -> pd.DataFrame:
    """The decision quantity's posterior (median, lower, upper of the central ``ci`` interval of
    what a realised value would be) per component, in the order of ``pool.truth``, under the
    extrapolation ``method`` (None: ``pool.report_method``, the prediction the design values)."""
    method = pool.report_method if method is None else method
    if pool.kind == "hyperparams":
        t = pool.targets[0]
        N, D = np.broadcast_arrays(np.atleast_1d(t.N), np.atleast_1d(t.D))
        with range_stated():  # the target beyond the fitted runs: the backtest's point
            table = predict(fit, N=N, D=D, kind="new_run", ci=ci, seed=seed, extrapolation=method)
        rows = []
        for q in ("eta_opt", "B_opt", "loss_opt"):
            # the sweep law's loss at the optimum is its primary quantity (columns median, ...)
            prefix = "" if q == "loss_opt" and "loss_opt_median" not in table else f"{q}_"
            for i in range(len(N)):
                rows.append(
                    {
                        "label": component_label(q, N[i], D[i]),
                        "median": table[f"{prefix}median"].iloc[i],
                        "lower": table[f"{prefix}lower"].iloc[i],
                        "upper": table[f"{prefix}upper"].iloc[i],
                    }
                )
        return pd.DataFrame(rows)
    if pool.kind == "loss":
        out = pool.held_out
        with range_stated():
            table = predict(
                fit, N=out["N"].to_numpy(), D=out["D"].to_numpy(), kind="new_run", ci=ci,
                seed=seed, extrapolation=method,
            )  # fmt: skip
        return pd.DataFrame(
            {
                "label": [
                    component_label("loss", n, d) for n, d in zip(out["N"], out["D"], strict=True)
                ],
                "median": table["median"].to_numpy(),
                "lower": table["lower"].to_numpy(),
                "upper": table["upper"].to_numpy(),
            }
        )
    C = np.sort(pool.held_out["C"].unique())
    table = optimal_allocation(fit, C=C, ci=ci, seed=seed, extrapolation=method)
    return pd.DataFrame(
        {
            "label": [f"N_opt(C={c:.3g})" for c in C],
            "median": table["N_opt"].to_numpy(),
            "lower": table["N_opt_lower"].to_numpy(),
            "upper": table["N_opt_upper"].to_numpy(),
        }
    )


def _scored_table(pool: Pool, fit, ci: float, method: str) -> tuple[dict, pd.DataFrame]:
    """(error, coverage, half_width; the per-component table) under one ``method``."""
    table = decision_table(pool, fit, ci, method=method).merge(
        pool.truth[["label", "truth"]], on="label"
    )
    if len(table) != len(pool.truth):
        raise RuntimeError(f"pool {pool.name}: decision components do not match the truth")
    table["log_error"] = np.abs(np.log(table["median"] / table["truth"]))
    table["hit"] = (table["lower"] <= table["truth"]) & (table["truth"] <= table["upper"])
    table["half_width"] = 0.5 * np.log(table["upper"] / table["lower"])
    table["extrapolation"] = method
    return {
        "error": float(table["log_error"].mean()),
        "coverage": float(table["hit"].mean()),
        "half_width": float(table["half_width"].median()),
    }, table


def scored_beside(pool: Pool, also=ALSO_SCORED) -> list[str]:
    """The extrapolation methods among ``also`` scored beside the pool's ``report_method``."""
    return [m for m in also if m != pool.report_method]


def score(pool: Pool, fit, ci: float = 0.9, also=ALSO_SCORED) -> tuple[dict, pd.DataFrame]:
    """(summary: r2, error (mean |ln(median / truth)|), coverage (share of truths inside the
    ``ci`` interval), half_width (median ln(upper / lower) / 2) under ``pool.report_method``,
    and ``error_<m>``, ``coverage_<m>``, ``half_width_<m>`` under each other method ``m`` in
    ``also``; per-component table with truth, median, lower, upper, log_error, hit, half_width,
    extrapolation: the reported method's rows first, then those of ``also``)."""
    method = pool.report_method
    y, pred = held_out_predictions(pool, fit, method=method)
    main, table = _scored_table(pool, fit, ci, method)
    summary = {
        "r2": r_squared(y, pred),
        "median_abs_rel_error_heldout": float(np.median(np.abs(pred / y - 1.0))),
        **main,
        "n_components": len(table),
        "extrapolation": method,
    }
    tables = [table]
    for other in scored_beside(pool, also):
        extra, t = _scored_table(pool, fit, ci, other)
        summary.update({f"{k}_{other}": v for k, v in extra.items()})
        tables.append(t)
    return summary, pd.concat(tables, ignore_index=True)
