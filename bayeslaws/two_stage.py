"""The published two-stage method for hyperparameter laws (``bl.fit(..., method="two_stage")``).

Stage 1: per (N, D) cell (and group) keep the grid cell with the lowest loss (Yin et al.,
DeepSeek) or, with ``tolerance``, every run whose loss is within that fraction of the cell's best
(Step Law: 0.25%, ``tolerance=0.0025``). Diverged runs (NaN loss, loss above
``divergence_threshold`` or a true ``diverged`` column) never count as a best run; their number
is reported.

Stage 2: ordinary least squares of ln lr and ln B (tokens) on [1, ln N, ln D] (centred logs,
the same reference scales as the Bayesian law), with t-based confidence intervals for the
coefficients and for the regression line at a query point. ``terms`` drops the N or D term
(Step Law regresses B on D only: ``terms={"batch_size": ("D",)}``).

It returns a :class:`TwoStageFit` that ``bl.predict`` and ``fit.law_table()`` understand, so the
baseline and the Bayesian fit can be put side by side. Its intervals treat the grid argmin as
exact: that is the weakness the hierarchical model addresses.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .laws.hyperparams import HyperparamsLaw, units_factor
from .runs import RunTableError, as_run_table

TERMS = ("N", "D")


class TwoStageFit:
    """Result of the two-stage baseline: the selected optima and the two OLS fits.

    Attributes
    ----------
    optima : DataFrame of the runs selected in stage 1 (one per cell without tolerance).
    coefs : {"lr": ..., "batch_size": ...} each a dict with ``beta`` (coefficients on
        [1, x, y]), ``cov`` (their covariance), ``dof``, ``terms``, ``log_ref``.
    spec : JSON-ready description (method, tolerance, scales, counts, ranges).
    """

    def __init__(self, optima, coefs, spec, compute_model):
        self.optima = optima
        self.coefs = coefs
        self.spec = spec
        self.compute_model = compute_model

    @property
    def law(self):
        return _TWO_STAGE

    @property
    def label(self) -> str:
        return self.spec.get("label") or "hyperparams/two_stage"

    @property
    def groups(self) -> list:
        return self.spec["groups"]

    def __repr__(self) -> str:
        return (
            f"<TwoStageFit {self.label}: {self.spec['n_cells']} cells, "
            f"{len(self.optima)} selected runs (tolerance {self.spec['tolerance']}), "
            f"{self.spec['divergence']['n_diverged']} diverged runs ignored>"
        )

    def law_table(self, units="billions", ci=0.9) -> pd.DataFrame:
        return _TWO_STAGE.law_table(self, units=units, ci=ci)

    def summary(self, ci=0.9) -> pd.DataFrame:
        return self.law_table(units="ones", ci=ci)


def _select(df: pd.DataFrame, tolerance: float | None) -> pd.DataFrame:
    keys = ["group", "N", "D"] if "group" in df else ["N", "D"]
    picked = []
    for _, cell in df.groupby(keys, sort=True):
        best = cell["loss"].min()
        if tolerance is None:
            picked.append(cell.loc[[cell["loss"].idxmin()]])
        else:
            picked.append(cell[cell["loss"] <= best * (1.0 + tolerance)])
    return pd.concat(picked)


def _ols(X: np.ndarray, target: np.ndarray) -> dict:
    beta, *_ = np.linalg.lstsq(X, target, rcond=None)
    resid = target - X @ beta
    dof = X.shape[0] - X.shape[1]
    s2 = float(resid @ resid / dof) if dof > 0 else np.nan
    cov = s2 * np.linalg.inv(X.T @ X)
    return {"beta": beta, "cov": cov, "dof": dof, "resid_sd": np.sqrt(s2)}


def fit_two_stage(
    runs,
    law: str = "hyperparams",
    *,
    tolerance: float | None = None,
    divergence_threshold: float | None = None,
    terms: dict | None = None,
    label: str | None = None,
    **ignored,
) -> TwoStageFit:
    """Best cell (or runs within ``tolerance`` of it) per (N, D), then log-log OLS.

    Parameters
    ----------
    runs : RunTable (or DataFrame / path) with lr and batch_size columns.
    law : must be "hyperparams".
    tolerance : None (argmin only, Yin et al.) or a fraction (Step Law: 0.0025).
    divergence_threshold : losses above it are diverged and never selected.
    terms : per target ("lr", "batch_size") the regressors among ("N", "D"); default both.
    ``ignored`` : Bayesian-only options (divergence=, bowl=, loss_level=) have no effect here.
    """
    if law != "hyperparams":
        raise ValueError(f"method='two_stage' fits law 'hyperparams' only, not {law!r}")
    unknown = set(ignored) - {"divergence", "bowl", "loss_level"}
    if unknown:
        raise ValueError(f"unknown option(s) {sorted(unknown)} for method='two_stage'")
    if tolerance is not None and not (0 <= float(tolerance) < 1):
        raise ValueError(f"tolerance must be a fraction in [0, 1), got {tolerance!r}")
    runs = as_run_table(runs)
    law_obj = HyperparamsLaw(divergence_threshold=divergence_threshold)
    law_obj.preprocess(runs)  # checks the lr / batch_size columns
    df = runs.df
    mask, reasons = law_obj._diverged_mask(df)
    ok = df.loc[~mask]
    terms = {"lr": TERMS, "batch_size": TERMS, **(terms or {})}
    optima = _select(ok, tolerance)
    cells = optima.drop_duplicates(subset=[c for c in ("group", "N", "D") if c in optima])
    n_cells = len(cells)
    log_N_ref = float(np.mean(np.log(cells["N"])))
    log_D_ref = float(np.mean(np.log(cells["D"])))
    coefs = {}
    for target in ("lr", "batch_size"):
        use = tuple(terms[target])
        for term in use:
            if term not in TERMS:
                raise ValueError(f"terms for {target!r} must be among {TERMS}, got {use}")
            if cells[term].nunique() < 2:
                raise RunTableError(
                    f"method='two_stage' needs at least 2 distinct values of {term!r} across "
                    f"(N, D) cells to fit the {target} exponent in {term}; the run table has one"
                )
        columns = [np.ones(len(optima))]
        if "N" in use:
            columns.append(np.log(optima["N"].to_numpy(float)) - log_N_ref)
        if "D" in use:
            columns.append(np.log(optima["D"].to_numpy(float)) - log_D_ref)
        X = np.column_stack(columns)
        if X.shape[0] <= X.shape[1]:
            raise RunTableError(
                f"method='two_stage' needs more than {X.shape[1]} selected optima for the "
                f"{target} regression; it has {X.shape[0]} (cells: {n_cells})"
            )
        y = np.log(optima[target].to_numpy(float))
        log_ref = float(np.mean(y))
        res = _ols(X, y - log_ref)
        res.update(terms=use, log_ref=log_ref)
        coefs[target] = res
    spec = {
        "law": "hyperparams",
        "method": "two_stage",
        "tolerance": tolerance,
        "label": label,
        "groups": [None] if "group" not in df else sorted(df["group"].unique(), key=str),
        "scales": {"log_N_ref": log_N_ref, "log_D_ref": log_D_ref},
        "n_cells": n_cells,
        "ranges": {c: [float(df[c].min()), float(df[c].max())] for c in ("N", "D", "C")},
        "divergence": {"n_diverged": int(mask.sum()), "reasons": reasons},
        "data": runs.record(),
    }
    return TwoStageFit(optima, coefs, spec, runs.compute_model)


class _TwoStageLaw:
    """What ``bl.predict`` and ``law_table`` call on a :class:`TwoStageFit`."""

    name = "hyperparams/two_stage"

    @staticmethod
    def _design(fit, N, D, use):
        sc = fit.spec["scales"]
        cols = [np.ones(len(N))]
        if "N" in use:
            cols.append(np.log(N) - sc["log_N_ref"])
        if "D" in use:
            cols.append(np.log(D) - sc["log_D_ref"])
        return np.column_stack(cols)

    def predict(self, fit, N=None, D=None, C=None, *, ci=0.9, kind="mean", group=None, seed=0):
        """eta_opt and B_opt (median = OLS line, interval = t interval of the line; with
        ``kind="new_run"`` the prediction interval of a new cell's optimum). No loss level."""
        from .predict import outside_decades, query_points

        if kind not in ("mean", "new_run"):
            raise ValueError(f"kind must be 'mean' or 'new_run', got {kind!r}")
        points = query_points(fit, N, D, C)
        out = points.copy()
        N_, D_ = points["N"].to_numpy(float), points["D"].to_numpy(float)
        for name, target in (("eta_opt", "lr"), ("B_opt", "batch_size")):
            c = fit.coefs[target]
            X = self._design(fit, N_, D_, c["terms"])
            mean = X @ c["beta"] + c["log_ref"]
            var = np.einsum("qi,ij,qj->q", X, c["cov"], X)
            if kind == "new_run":
                var = var + c["resid_sd"] ** 2
            t = stats.t.ppf((1 + ci) / 2, c["dof"])
            out[f"{name}_median"] = np.exp(mean)
            out[f"{name}_lower"] = np.exp(mean - t * np.sqrt(var))
            out[f"{name}_upper"] = np.exp(mean + t * np.sqrt(var))
        for suffix in ("median", "lower", "upper"):
            out[f"loss_opt_{suffix}"] = np.nan
        ranges = fit.spec["ranges"]
        out["ci"] = ci
        out["kind"] = kind
        out["N_outside_decades"] = outside_decades(points["N"], *ranges["N"])
        out["D_outside_decades"] = outside_decades(points["D"], *ranges["D"])
        return out

    def law_table(self, fit, units="billions", ci=0.9) -> pd.DataFrame:
        """Same layout as :meth:`HyperparamsLaw.law_table`, with OLS t intervals (the interval
        of c is the line's interval at N = T = 1 unit)."""
        unit = units_factor(units)
        sc = fit.spec["scales"]
        rows = []
        for quantity, target in (("eta_opt", "lr"), ("B_opt", "batch_size")):
            c = fit.coefs[target]
            t = stats.t.ppf((1 + ci) / 2, c["dof"])
            names = ["c"] + [{"N": "exp_N", "D": "exp_T"}[k] for k in c["terms"]]
            # c: the line at N = D = unit
            x0 = [1.0]
            if "N" in c["terms"]:
                x0.append(np.log(unit) - sc["log_N_ref"])
            if "D" in c["terms"]:
                x0.append(np.log(unit) - sc["log_D_ref"])
            x0 = np.array(x0)
            mean_c = x0 @ c["beta"] + c["log_ref"]
            sd_c = np.sqrt(x0 @ c["cov"] @ x0)
            values = {"c": (np.exp(mean_c), np.exp(mean_c - t * sd_c), np.exp(mean_c + t * sd_c))}
            for i, name in enumerate(names[1:], start=1):
                b, s = c["beta"][i], np.sqrt(c["cov"][i, i])
                values[name] = (b, b - t * s, b + t * s)
            for name in ("c", "exp_T", "exp_N"):
                med, lo, hi = values.get(name, (0.0, 0.0, 0.0))
                rows.append(
                    {
                        "quantity": quantity,
                        "parameter": name,
                        "median": med,
                        "lower": lo,
                        "upper": hi,
                    }
                )
        table = pd.DataFrame(rows).set_index(["quantity", "parameter"])
        table["ci"] = ci
        table.attrs["units"] = f"N, T in units of {unit:g} (parameters, tokens); B in tokens"
        return table


_TWO_STAGE = _TwoStageLaw()
