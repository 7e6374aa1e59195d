"""Comparisons by PSIS-LOO pair the fits' pointwise scores run by run: compare() and stacking
refuse (or align) fits whose scores are not of the same runs and observations, and accept those
that differ only in what no law reads. Tiny fits (1 chain x 100 + 100)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import TRUTH, chinchilla_design, small_sweep_grid

import bayeslaws as bl
from bayeslaws.posterior.extrapolation import forms, stacking
from bayeslaws.runs import simulate

TINY = {"chains": 1, "warmup": 100, "draws": 100, "seed": 0, "warn": False}
STACK = {"chains": 1, "warmup": 100, "draws": 100}
LEFT_OUT = 3  # the row label the user excluded before fitting


@pytest.fixture(scope="module")
def table():
    """16 SIMULATED Chinchilla runs (4 sizes x 4 token counts), labels 0-15."""
    N, D = chinchilla_design(4, 4)
    return simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=1)


@pytest.fixture(scope="module")
def own_fit(table):
    """Chinchilla fitted to ``table`` without row ``LEFT_OUT`` (excluded by the user): 15 runs."""
    runs = bl.load_runs(table).exclude(table.index == LEFT_OUT, "left out by the test")
    return bl.fit(runs, likelihood="gaussian", **TINY)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def test_stacking_with_the_whole_table_reordered_uses_the_fits_own_runs(table, own_fit):
    """stack(fit, runs) fitted the other forms to ``runs`` and weighed their pointwise LOO
    against the fit's, in the fit's row order: the table the fit came from (one row more, rows
    reversed) crashed in ArviZ ("number of observations should be the same"); reordered rows
    alone gave other weights. The other forms are now fitted to the fit's own training runs."""
    laws = ("chinchilla", "kaplan")
    own = _quiet(stacking.stack, own_fit, laws=laws, **STACK)
    given = _quiet(stacking.stack, own_fit, table.iloc[::-1], laws=laws, **STACK)
    assert given["weights"] == pytest.approx(own["weights"], abs=1e-9)
    assert given["elpd_loo"] == pytest.approx(own["elpd_loo"], abs=1e-9)
    assert given["others"]["kaplan"]["posterior"] == own["others"]["kaplan"]["posterior"]
    reordered = table[table.index != LEFT_OUT].sample(frac=1.0, random_state=0)  # same rows
    shuffled = _quiet(stacking.stack, own_fit, reordered, laws=laws, **STACK)
    assert shuffled["weights"] == pytest.approx(own["weights"], abs=1e-9)
    assert shuffled["others"]["kaplan"]["posterior"] == own["others"]["kaplan"]["posterior"]


def test_form_averaging_with_the_whole_table_uses_the_fits_own_runs(table, own_fit, monkeypatch):
    """forms.average(fit, runs): as stacking (the same table, one row more, crashed in ArviZ).
    The convergence bounds are lifted: 100 draws of one chain need not pass them."""
    monkeypatch.setattr(forms, "MAX_R_HAT", np.inf)
    monkeypatch.setattr(forms, "MAX_DIVERGENT", 1.0)
    pair = ("chinchilla", "kaplan")
    own = _quiet(forms.average, own_fit, forms=pair, **STACK)
    given = _quiet(forms.average, own_fit, table, forms=pair, **STACK)
    assert given["excluded"] == {} and set(given["weights"]) == set(pair)
    assert given["weights"] == pytest.approx(own["weights"], abs=1e-9)
    assert given["elpd_loo"] == pytest.approx(own["elpd_loo"], abs=1e-9)


def test_stacking_refuses_runs_that_are_not_the_fits(table, own_fit):
    """Runs lacking a training row, or with another loss at a row, are refused by name before
    any form is fitted (the old code fitted the forms to them and stacked or crashed)."""
    lacking = table.drop(index=[0, 7])
    with pytest.raises(ValueError, match=r"stacking: runs lack 2 of the fit's 15 .*0, 7"):
        stacking.stack(own_fit, lacking, laws=("chinchilla", "kaplan"), **STACK)
    other = table.assign(loss=np.where(table.index == 9, table["loss"] * 1.05, table["loss"]))
    with pytest.raises(ValueError, match=r"form averaging: runs have other loss .*row 9"):
        forms.average(own_fit, other, forms=("chinchilla", "kaplan"), **STACK)


def test_compare_accepts_fits_differing_only_in_a_column_no_law_reads(table, own_fit):
    """Chinchilla and Kaplan (both of N and D) of the same runs, Kaplan's C counted 10% higher
    (compute_model=6.6): compare() refused them over C ("other C values"), which neither reads;
    a column they read (N) still is refused."""
    other_c = table[table.index != LEFT_OUT].assign(C=lambda d: 1.1 * d["C"])
    kaplan = _quiet(
        bl.fit, bl.load_runs(other_c, compute_model=6.6), "kaplan", likelihood="gaussian", **TINY
    )
    assert not np.allclose(kaplan.record.training_runs["C"], own_fit.record.training_runs["C"])
    ranked = _quiet(bl.compare, {"chinchilla": own_fit, "kaplan": kaplan})
    assert set(ranked.index) == {"chinchilla", "kaplan"}
    assert np.isfinite(ranked["elpd_loo"]).all()
    from dataclasses import replace

    from bayeslaws.inference import Fit

    runs = dict(kaplan.record.training_runs)
    moved = Fit(kaplan.idata, replace(kaplan.record, training_runs={**runs, "N": runs["N"][::-1]}))
    with pytest.raises(ValueError, match="same runs: 'moved' has other N values"):
        bl.compare({"chinchilla": own_fit, "moved": moved})


def test_compare_refuses_a_run_censored_in_one_fit_only():
    """Two 'hyperparams' fits of one sweep, differing only in divergence_threshold: run 5 (twice
    the median loss) is censored (scored as a probability) in one fit, observed (a density) in
    the other, and the diverged run 20 (NaN) is censored at each fit's own threshold. compare()
    ranked them by those runs' scores; it now refuses, naming the runs."""
    df = small_sweep_grid()
    median = float(df["loss"].median())
    df.loc[5, "loss"] = 2.0 * median
    df.loc[20, "loss"] = np.nan  # censored in both fits: both share one compiled sampler
    runs = bl.load_runs(df, allow_missing_loss=True)
    fits = {
        name: _quiet(
            bl.fit,
            runs,
            "hyperparams",
            likelihood="gaussian",
            law_options={"divergence_threshold": k * median},
            **TINY,
        )
        for name, k in (("observed", 3.0), ("censored", 1.5))
    }
    n_censored = {k: f.record.law_state["divergence"]["n_censored"] for k, f in fits.items()}
    assert n_censored == {"observed": 1, "censored": 2}
    with pytest.raises(ValueError, match=r"same observations: 'censored' .* \(run\(s\) 5, 20\)"):
        bl.compare(fits)
