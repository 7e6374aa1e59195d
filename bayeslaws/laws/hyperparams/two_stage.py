"""The published two-stage method for hyperparameter laws, as the law "hyperparams_two_stage".

Stage 1 (in :meth:`TwoStageHyperparams.prepare`): per (N, D) cell keep the run with the lowest
loss (Yin et al., DeepSeek) or, with ``tolerance``, every run whose loss is within that fraction
of the cell's best (Step Law: 0.25%, ``tolerance=0.0025``). Diverged runs (NaN loss, loss above
``divergence_threshold`` -- without one, above 3x the sweep's median loss -- or a true
``diverged`` column) never count as a best run; their number and rows are recorded (law state
``divergence``, the notes), and so is the number
of cells with no converged run (no optimum to select: they drop out of the regression, with a
``DivergenceWarning``). Runs whose N (or D) agree within ``runs.cells.CELL_RTOL`` are one
cell (:func:`~bayeslaws.runs.cells.cell_table`). A selected run at the edge of its cell's grid
(the cell's smallest or largest lr or batch size) is taken as the optimum although the optimum
may lie beyond the grid: their number is recorded (law state ``grid_edge``) and a
``PlausibilityWarning`` says it; thin cells (fewer than 3 lr or batch values,
:func:`.data.thin_cells`, which laws "sweep" and "hyperparams" warn about) get no warning of their
own, because with at most 2 values over a cell's runs every value is the cell's smallest or
largest, so its selected run is always one of those grid-edge runs, already counted, named and
warned. The method has no groups: a table with several groups is refused (law
``"hyperparams"`` fits group offsets).

Stage 2 (the model): a linear regression of ln lr and ln B (tokens) of the selected runs on
[1, ln N, ln D] (centred logs: N_ref, D_ref the geometric means of the cells with a selected
run, as the Bayesian law's; but lr_ref, B_ref the geometric means of the *selected* runs only,
where the Bayesian law takes every run it fits, so lr_int and batch_int are not comparable
between the two laws; the exponents and the law table's c do not depend on the references)::

    ln lr_i - ln lr_ref = lr_int + lr_N x_i + lr_D y_i + eps_i,   eps_i ~ Normal(0, sigma_lr)
    ln B_i - ln B_ref   = batch_int + batch_N x_i + batch_D y_i + e_i,  e_i ~ Normal(0, sigma_batch)

with flat priors on the coefficients (Normal(0, 10)) and ``p(sigma) ~ 1/sigma``
(LogUniform(1e-4, 10)). Under these priors the posterior of the coefficients is the OLS
estimate with its Student-t sampling distribution, so the credible intervals are the textbook
OLS t intervals (checked in ``tests/test_hyperparams.py``): the baseline, fitted by the same
NUTS machinery as every other law, so that it predicts, designs and saves like them. ``terms``
drops the N or D term (Step Law regresses B on D only: ``terms={"batch_size": ("D",)}``).
Its intervals treat the grid argmin as exact: that is the weakness the hierarchical law
addresses.
"""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pandas as pd

from ...runs import PlausibilityWarning, RunTableError, best_in_cell
from ...runs.cells import cell_table, run_cells
from ...runs.checks import ArgumentTypeError, is_real
from ...runs.messages import format_values
from ...runs.warn import user_stacklevel
from ..contract import Law, Observations, Posterior, Prepared, Scales, resolve_group, summarise
from . import data
from .optima import finish_law_table, units_factor

TERMS = ("N", "D")
TARGETS = {"lr": "lr", "batch_size": "batch"}  # run-table column -> parameter prefix
COEF_PRIOR = dist.Normal(0.0, 10.0)  # flat on centred log coefficients
SIGMA_BOUNDS = (1e-4, 10.0)  # LogUniform prior on sigma: p(sigma) ~ 1/sigma
# A tolerance selecting more than this share of a cell's converged runs (in cells with at least
# TOLERANCE_MIN_RUNS of them) no longer picks the runs near the optimum: warned (Step Law's
# 0.0025 selects at most a fifth of a cell; 0.25, i.e. 25% typed for 0.25%, nearly all of it)
TOLERANCE_MAX_SHARE = 0.5
TOLERANCE_MIN_RUNS = 5


def wide_tolerance_cells(df: pd.DataFrame, chosen: pd.DataFrame, diverged: np.ndarray) -> int:
    """The number of cells (with at least ``TOLERANCE_MIN_RUNS`` converged runs) in which the
    ``chosen`` runs are more than ``TOLERANCE_MAX_SHARE`` of the cell's converged runs."""
    cell = pd.Series(run_cells(df), index=df.index)
    n_ok = cell[~diverged].value_counts()
    n_chosen = cell.loc[chosen.index].value_counts().reindex(n_ok.index, fill_value=0)
    wide = (n_ok >= TOLERANCE_MIN_RUNS) & (n_chosen > TOLERANCE_MAX_SHARE * n_ok)
    return int(wide.sum())


def grid_edge(df: pd.DataFrame, run_cell, chosen: pd.DataFrame) -> dict:
    """The selected runs at the edge of their cell's grid: the cell's smallest or largest
    ``lr`` or ``batch_size`` (tokens) over all its runs, diverged ones included (a diverged run
    beyond the best one brackets the optimum). ``run_cell``: each run's cell (row order of
    ``df``). Returns the counts per column, of runs at either edge and their row labels."""
    at = {}
    for column in ("lr", "batch_size"):
        values = df[column].to_numpy(float)
        low = pd.Series(values).groupby(run_cell).transform("min").to_numpy()
        high = pd.Series(values).groupby(run_cell).transform("max").to_numpy()
        edge = pd.Series((values == low) | (values == high), index=df.index)
        at[column] = edge.loc[chosen.index].to_numpy()
    either = at["lr"] | at["batch_size"]
    return {
        "lr": int(at["lr"].sum()),
        "batch_size": int(at["batch_size"].sum()),
        "n_at_edge": int(either.sum()),
        "rows": [str(i) for i in chosen.index[either]],
    }


class TwoStageHyperparams(Law):
    """Best run per cell (or within ``tolerance`` of it), then log-log linear regression."""

    name = "hyperparams_two_stage"
    description = "best run per (N, D) cell, then ln eta*, ln B* linear in ln N, ln D (OLS)"
    run_columns = ("N", "D", "lr", "batch_size")
    quantities = ("eta_opt", "B_opt", "loss_opt")
    primary = None
    default_likelihood = "gaussian"
    likelihoods = ("gaussian",)
    observed_site = "log_optimum"
    accepts_missing_loss = True  # NaN-loss runs are diverged runs (data.diverged_mask)

    def __init__(
        self,
        tolerance: float | None = None,
        divergence_threshold: float | None = None,
        terms: dict | None = None,
    ):
        if tolerance is not None and not (is_real(tolerance) and 0 <= float(tolerance) < 1):
            raise ValueError(
                "tolerance must be a fraction of the cell's best loss in [0, 1) (0.0025 = 0.25%) "
                f"or None, got {tolerance!r}"
            )
        divergence_threshold = data.positive_option("divergence_threshold", divergence_threshold)
        full = {t: list(TERMS) for t in TARGETS}
        if terms is not None and not isinstance(terms, dict):
            raise ArgumentTypeError(f"terms must be a dict target -> terms or None, got {terms!r}")
        for target, use in (terms or {}).items():
            if target not in TARGETS:
                raise ValueError(f"terms: targets are {sorted(TARGETS)}, got {target!r}")
            use = (use,) if isinstance(use, str) else use  # "ND" is not two terms
            listed = isinstance(use, list | tuple | set | frozenset)
            if not (listed and all(isinstance(t, str) for t in use)):
                raise ArgumentTypeError(
                    f"terms for {target!r} must be a list of terms among {TERMS} (e.g. "
                    f"terms={{{target!r}: ['D']}}), got {use!r}"
                )
            if not set(use) <= set(TERMS):
                raise ValueError(f"terms for {target!r} must be among {TERMS}, got {use!r}")
            full[target] = [t for t in TERMS if t in use]
        self.tolerance = None if tolerance is None else float(tolerance)
        self.divergence_threshold = divergence_threshold
        self.terms = full

    @property
    def options(self) -> dict:
        return {
            "tolerance": self.tolerance,
            "divergence_threshold": self.divergence_threshold,
            "terms": {k: list(v) for k, v in self.terms.items()},
        }

    def default_priors(self) -> dict:
        priors = {}
        for target, prefix in TARGETS.items():
            priors[f"{prefix}_int"] = COEF_PRIOR
            for term in self.terms[target]:
                priors[f"{prefix}_{term}"] = COEF_PRIOR
            priors[f"sigma_{prefix}"] = dist.LogUniform(*SIGMA_BOUNDS)
        return priors

    def priors(self, likelihood: str, overrides: dict | None = None) -> dict:
        if likelihood not in self.likelihoods:
            raise ValueError(
                f"law {self.name!r} is ordinary least squares: likelihood must be 'gaussian', "
                f"got {likelihood!r}"
            )
        priors = super().priors(likelihood, overrides)
        priors.pop("sigma", None)  # one noise scale per regression instead
        return priors

    def prior_domain(self, key: str, reference):
        """As the contract's, but a noise scale (``sigma_lr``, ``sigma_batch``) takes any
        positive value: its LogUniform(1e-4, 10) default bounds it by choice, not by nature."""
        if key in {f"sigma_{prefix}" for prefix in TARGETS.values()}:
            return dist.constraints.positive
        return super().prior_domain(key, reference)

    def unsampled_priors(self, prepared=None) -> dict:
        """As the contract's, and the likelihood's ``sigma``: each regression has its own noise
        scale (``sigma_lr``, ``sigma_batch``)."""
        need = (
            "by the other laws; this one's two regressions have a noise scale each: give "
            "sigma_lr or sigma_batch instead"
        )
        return {**super().unsampled_priors(prepared), "sigma": need}

    # ---- stage 1: the selected optima ---------------------------------------------------------
    def select(self, df: pd.DataFrame) -> pd.DataFrame:
        """The runs stage 1 keeps: each cell's best converged run (:func:`~bayeslaws.runs.
        best_in_cell`: ties in loss to the smallest lr, then batch size, whatever the rows'
        order), or all within tolerance of it."""
        diverged, _ = data.diverged_mask(self, df)
        if self.tolerance is None:
            return df[best_in_cell(df.assign(diverged=diverged))]
        ok = df.loc[~diverged]
        cell = run_cells(df)[~diverged]
        best = ok.groupby(cell)["loss"].transform("min")
        return ok[ok["loss"] <= best * (1.0 + self.tolerance)]

    def prepare(self, runs) -> Prepared:
        df = runs.df
        data.check_columns(runs, self.name)
        if runs.has_groups:
            raise RunTableError(
                f"law {self.name!r} fits one sweep without groups; the table has groups "
                f"{runs.groups} in column 'group', which its regression would ignore (every "
                "group the same optima): fit each group on its own, or law 'hyperparams' for "
                "optima with group offsets (Python: bl.fit(runs, law='hyperparams'); command "
                "line: --law hyperparams)"
            )
        diverged, reasons = data.diverged_mask(self, df)
        if diverged.all():  # as laws 'sweep' and 'hyperparams' say it
            raise RunTableError(f"law {self.name!r}: every run diverged; nothing to fit")
        chosen = self.select(df)
        run_cell, all_cells = cell_table(df["N"], df["D"])
        chosen_cell = pd.Series(run_cell, index=df.index).loc[chosen.index].to_numpy()
        cells = all_cells.loc[np.unique(chosen_cell)]
        n_empty = len(all_cells) - len(cells)  # cells with no converged run: nothing selected
        if n_empty:  # said before any refusal below, which it may explain
            warnings.warn(
                f"{n_empty} of {len(all_cells)} (N, D) cells have no converged run (every run "
                f"diverged) and are left out of law {self.name!r}: "
                f"{data.describe_cells(all_cells.drop(index=cells.index))}",
                data.DivergenceWarning,
                stacklevel=user_stacklevel(),
            )
        for target in TARGETS:
            for term in self.terms[target]:
                values = sorted(set(cells[term]))
                if len(values) < 2:
                    raise RunTableError(
                        f"law {self.name!r} needs at least 2 distinct values of {term!r} across "
                        f"(N, D) cells to fit the {target} exponent in {term}; the table's "
                        f"cells with a converged run ({len(cells)} of {len(all_cells)}) have "
                        f"only {format_values(values)}"
                    )
            n_coef = 1 + len(self.terms[target])
            if len(chosen) <= n_coef:
                raise RunTableError(
                    f"law {self.name!r} needs more than {n_coef} selected optima for the {target} "
                    f"regression; it has {len(chosen)} (cells: {len(cells)})"
                )
        edge = grid_edge(df, run_cell, chosen)
        scales = Scales.from_columns(N=cells["N"], D=cells["D"])
        log_ref = {t: float(np.mean(np.log(chosen[t].to_numpy(float)))) for t in TARGETS}
        scales = Scales({**scales.to_dict(), **log_ref})
        data_args = {
            "x": jnp.asarray(scales.centre("N", chosen["N"])),
            "y": jnp.asarray(scales.centre("D", chosen["D"])),
            "obs": jnp.asarray(
                np.stack([scales.centre(t, chosen[t]) for t in TARGETS]), dtype=float
            ),
        }
        state = {
            "tolerance": self.tolerance,
            "n_cells": int(len(cells)),
            "n_selected": int(len(chosen)),
            "selected_rows": [str(i) for i in chosen.index],
            "n_cells_without_converged_run": int(n_empty),
            "divergence": {
                "n_diverged": int(diverged.sum()),
                "reasons": reasons,
                "diverged_rows": data.row_labels(df.index[diverged]),  # as the table records
                "row_note": runs.row_note,  # what those labels count
            },
            "grid_edge": edge,
        }
        groups = tuple(None if g is None else str(g) for g in runs.groups)
        ranges = {c: [float(df[c].min()), float(df[c].max())] for c in ("N", "D", "C")}
        named = f", at {runs.at_rows(df.index[diverged])}," if diverged.any() else ""
        note = (
            f"{len(chosen)} selected runs in {len(cells)} cells "
            f"(tolerance {self.tolerance}); {int(diverged.sum())} diverged runs{named} never "
            "selected; "
            f"{n_empty} cells with no converged run (no optimum, left out); "
            f"{edge['n_at_edge']} selected runs at the edge of their cell's lr or batch grid"
        )
        n_wide = 0 if self.tolerance is None else wide_tolerance_cells(df, chosen, diverged)
        if n_wide:
            warnings.warn(
                f"law {self.name!r}: tolerance={self.tolerance:g} selects more than "
                f"{TOLERANCE_MAX_SHARE:.0%} of the converged runs in {n_wide} of {len(cells)} "
                "cells, so stage 1 no longer picks the runs near each cell's optimum. tolerance "
                f"is a fraction of the cell's best loss (0.0025 = 0.25%, Step Law's); for "
                f"{self.tolerance:g}% give {self.tolerance / 100:g}",
                PlausibilityWarning,
                stacklevel=user_stacklevel(),
            )
        state["n_cells_tolerance_too_wide"] = n_wide
        if edge["n_at_edge"]:
            warnings.warn(
                f"law {self.name!r}: {edge['n_at_edge']} of {len(chosen)} selected runs lie at the "
                f"edge of their cell's grid ({edge['lr']} at the cell's smallest or largest 'lr', "
                f"{edge['batch_size']} at its smallest or largest 'batch_size'; rows "
                f"{edge['rows'][:10]}{' ...' if len(edge['rows']) > 10 else ''}): their optimum "
                "may lie beyond the grid, and the regression takes the edge as the optimum "
                "(extend the grid there; the count is in fit.record.law_state['grid_edge'])",
                PlausibilityWarning,
                stacklevel=user_stacklevel(),
            )
        split = data.warn_split_cells(all_cells, self.name)  # e.g. a D computed per run
        notes = (note,) if split is None else (note, split)
        return Prepared(data_args, {}, scales, groups, ranges, state, runs, notes)

    def observation_rows(self, prepared) -> list:
        """The selected runs (stage 1), one per regression observation."""
        return list(self.select(prepared.runs.df).index)

    # ---- stage 2: the regression ----------------------------------------------------------------
    def _line(self, coef: dict, prefix: str, target: str, x, y):
        """Centred ln optimum on the regression line (coefficients broadcast against x, y)."""
        value = coef[f"{prefix}_int"]
        if "N" in self.terms[target]:
            value = value + coef[f"{prefix}_N"] * x
        if "D" in self.terms[target]:
            value = value + coef[f"{prefix}_D"] * y
        return value

    def model(self, *, x, y, priors, likelihood, obs=None):
        coef = {name: numpyro.sample(name, p) for name, p in priors.items()}
        means, sds = [], []
        for target, prefix in TARGETS.items():
            means.append(self._line(coef, prefix, target, x, y))
            sds.append(coef[f"sigma_{prefix}"])
        mu = jnp.stack([jnp.broadcast_to(m, x.shape) for m in means])
        sd = jnp.stack(sds)[:, None]
        with numpyro.plate("targets", 2, dim=-2), numpyro.plate("runs", x.shape[0], dim=-1):
            numpyro.sample(self.observed_site, dist.Normal(mu, sd), obs=obs)

    def summary_names(self, groups, likelihood: str) -> list[str]:
        return list(self.default_priors())

    # ---- posterior ------------------------------------------------------------------------------
    def draws(self, post: Posterior, query, *, kind, group, rng) -> dict:
        """eta_opt and B_opt on the regression line (``kind="new_run"``: plus the residual scatter,
        the optimum of a new cell); no loss level (NaN)."""
        resolve_group(post.groups, group)
        x = post.scales.centre("N", query["N"])[None, :]
        y = post.scales.centre("D", query["D"])[None, :]
        coef = {k: np.asarray(v, float)[:, None] for k, v in post.draws.items()}
        out = {}
        for (target, prefix), name in zip(TARGETS.items(), ("eta_opt", "B_opt"), strict=True):
            line = self._line(coef, prefix, target, x, y) * np.ones_like(x)
            if kind == "new_run":
                line = line + coef[f"sigma_{prefix}"] * rng.standard_normal(line.shape)
            out[name] = np.exp(line + post.scales[target])
        out["loss_opt"] = np.full(out["eta_opt"].shape, np.nan)
        return out

    def observations(self, post, candidates, *, group, rng) -> Observations:
        """A candidate unit (a sweep at one cell) yields two observations, the cell's ln eta*
        and ln B*, each with its regression's residual scale."""
        resolve_group(post.groups, group)
        unit = candidates["unit"] if "unit" in candidates else pd.Series(range(len(candidates)))
        first = candidates.groupby(unit.to_numpy(), sort=False).head(1)
        labels = (unit.loc[first.index] if "unit" in candidates else first.index).to_numpy()
        x = post.scales.centre("N", first["N"])[None, :]
        y = post.scales.centre("D", first["D"])[None, :]
        coef = {k: np.asarray(v, float)[:, None] for k, v in post.draws.items()}
        means, sigmas = [], []
        for target, prefix in TARGETS.items():
            means.append(self._line(coef, prefix, target, x, y) * np.ones_like(x))
            sigmas.append(np.repeat(coef[f"sigma_{prefix}"], x.shape[1], axis=1))
        return Observations(
            unit=np.concatenate([labels, labels]),
            mean=np.concatenate(means, axis=1),
            sigma=np.concatenate(sigmas, axis=1),
            nu=None,
            family="gaussian",
            nuisance=np.zeros(2 * len(labels)),
        )

    def empirical(self, runs):
        from .optima import empirical

        return empirical(runs)

    def law_table(self, post, units="billions", ci: float = 0.9, compute_model=None):
        """Same layout as the Bayesian law's table: ``c`` is the line at N = T = 1 unit. An
        exponent of a term the fit leaves out (``terms``: Step Law's B_opt has no N term) has no
        row, and its factor is not in ``attrs["formulas"]``: it was not estimated."""
        unit = units_factor(units)
        d, sc = post.draws, post.scales
        exponent_of = {"N": "exp_N", "D": "exp_T"}  # a term -> its parameter (T = D, tokens)
        rows, absent = [], []
        for (target, prefix), quantity in zip(TARGETS.items(), ("eta_opt", "B_opt"), strict=True):
            zero = np.zeros(post.n_draws)  # an absent term: a structural zero in the line
            eN = np.asarray(d.get(f"{prefix}_N", zero))
            eD = np.asarray(d.get(f"{prefix}_D", zero))
            log_c = sc[target] + np.asarray(d[f"{prefix}_int"])
            log_c = log_c - eN * (sc["N"] - np.log(unit)) - eD * (sc["D"] - np.log(unit))
            absent += [(quantity, exponent_of[t]) for t in TERMS if t not in self.terms[target]]
            for param, values in (("c", np.exp(log_c)), ("exp_T", eD), ("exp_N", eN)):
                if (quantity, param) in absent:
                    continue
                med, lo, hi = summarise(values, ci)
                rows.append(
                    {
                        "quantity": quantity,
                        "parameter": param,
                        "median": med,
                        "lower": lo,
                        "upper": hi,
                    }
                )
        return finish_law_table(rows, unit, ci)


TWO_STAGE = TwoStageHyperparams()
