"""Comparisons by PSIS-LOO pair the fits' pointwise scores run by run: compare() and stacking
refuse (or align) fits whose scores are not of the same runs and observations, and accept those
that differ only in what no law reads. Tiny fits (1 chain x 100 + 100)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import TRUTH, chinchilla_design, quiet, small_sweep_grid

import bayeslaws as bl
from bayeslaws.inference import Fit
from bayeslaws.posterior.extrapolation import forms, stacking
from bayeslaws.runs import simulate

TINY = {"chains": 1, "warmup": 100, "draws": 100, "seed": 0, "warn": False}
STACK = {"chains": 1, "warmup": 100, "draws": 100}
PAIR = ("chinchilla", "kaplan")  # the forms stacked here
LEFT_OUT = 3  # the row label the user excluded before fitting


@pytest.fixture(scope="module", autouse=True)
def _bars_lifted():
    """100 draws of one chain need not pass the forms' convergence bars (stack() leaves out a
    form that fails them): lifted here, where the forms' weights are compared, not judged."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stacking, "MAX_R_HAT", np.inf)
        patch.setattr(stacking, "MAX_DIVERGENT", 1.0)
        yield


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


@pytest.fixture(scope="module")
def own_stacked(own_fit):
    """stack(own_fit) of ``PAIR`` on the fit's own training runs (no runs given)."""
    return quiet(stacking.stack, own_fit, laws=PAIR, **STACK)


def test_stacking_with_the_whole_table_reordered_uses_the_fits_own_runs(
    table, own_fit, own_stacked
):
    """stack(fit, runs) fitted the other forms to ``runs`` and weighed their pointwise LOO
    against the fit's, in the fit's row order: the table the fit came from (one row more, rows
    reversed) crashed in ArviZ ("number of observations should be the same"); reordered rows
    alone gave other weights. The other forms are now fitted to the fit's own training runs."""
    laws = PAIR
    own = own_stacked
    given = quiet(stacking.stack, own_fit, table.iloc[::-1], laws=laws, **STACK)
    assert given["weights"] == pytest.approx(own["weights"], abs=1e-9)
    assert given["elpd_loo"] == pytest.approx(own["elpd_loo"], abs=1e-9)
    assert given["others"]["kaplan"]["posterior"] == own["others"]["kaplan"]["posterior"]
    reordered = table[table.index != LEFT_OUT].sample(frac=1.0, random_state=0)  # same rows
    shuffled = quiet(stacking.stack, own_fit, reordered, laws=laws, **STACK)
    assert shuffled["weights"] == pytest.approx(own["weights"], abs=1e-9)
    assert shuffled["others"]["kaplan"]["posterior"] == own["others"]["kaplan"]["posterior"]


def test_form_averaging_with_the_whole_table_uses_the_fits_own_runs(table, own_fit, monkeypatch):
    """forms.average(fit, runs): as stacking (the same table, one row more, crashed in ArviZ).
    The convergence bounds are lifted: 100 draws of one chain need not pass them."""
    monkeypatch.setattr(stacking, "MAX_R_HAT", np.inf)
    monkeypatch.setattr(stacking, "MAX_DIVERGENT", 1.0)
    pair = ("chinchilla", "kaplan")
    own = quiet(forms.average, own_fit, forms=pair, **STACK)
    given = quiet(forms.average, own_fit, table, forms=pair, **STACK)
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


def test_stacking_matches_a_fit_saved_without_row_labels_by_values(table, own_fit, own_stacked):
    """A fit saved before row labels were recorded (its training_runs has no "row") numbers its
    runs 0..14, which row ``LEFT_OUT``'s exclusion makes differ from the table's labels:
    stack(fit, runs) refused the very RunTable it was fitted to ("runs lack 1 of the fit's 15
    training runs (row labels 3)"). Such a fit's runs are now matched by N, D and loss."""
    stripped = {k: v for k, v in own_fit.record.training_runs.items() if k != "row"}
    old = Fit(own_fit.idata, replace(own_fit.record, training_runs=stripped))
    assert list(old.training_runs().df.index) == list(range(15))  # positions, not labels
    runs = bl.load_runs(table).exclude(table.index == LEFT_OUT, "left out by the test")
    given = quiet(stacking.stack, old, runs, laws=PAIR, **STACK)
    assert given["weights"] == pytest.approx(own_stacked["weights"], abs=1e-9)
    assert given["others"]["kaplan"]["posterior"] == own_stacked["others"]["kaplan"]["posterior"]
    columns = list(stacking.CHECKED_COLUMNS)
    for whole in (table, table.drop(index=LEFT_OUT).iloc[::-1]):  # more rows; other order
        used = stacking.training_runs_for(old, whole, "stacking").df[columns]
        assert used.equals(old.training_runs().df[columns])
    with pytest.raises(ValueError, match=r"no row with the N, D and loss of 1 of the fit's 15"):
        stacking.training_runs_for(old, table.drop(index=0), "stacking")
    other = table.assign(loss=np.where(table.index == 9, table["loss"] * 1.05, table["loss"]))
    with pytest.raises(ValueError, match=r"form averaging: runs hold no row .* recorded no row"):
        forms.average(old, other, forms=PAIR, **STACK)


def test_stacking_compares_float_row_labels_as_the_fit_records_them(table):
    """A table with a float index: the fit records its labels as text ('0.0', ...) and
    stack(fit, runs) compared them with the table's floats, refusing the very table ("runs lack
    16 of the fit's 16 training runs"). Labels are now compared as the fit records them."""
    floats = table.set_axis(table.index.astype(float), axis=0)
    fitted = floats[floats.index != float(LEFT_OUT)]  # 15 runs: the shape own_fit compiled
    fit = quiet(bl.fit, bl.load_runs(fitted), likelihood="gaussian", **TINY)
    assert fit.record.training_runs["row"][:2] == ["0.0", "1.0"]
    state = quiet(stacking.stack, fit, floats.iloc[::-1], laws=PAIR, **STACK)
    assert state["laws"] == list(PAIR) and sum(state["weights"].values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"runs lack 1 of the fit's 15 .*'7\.0'"):
        stacking.training_runs_for(fit, floats.drop(index=7.0), "stacking")
    moved = floats.assign(N=np.where(floats.index == 9.0, 2 * floats["N"], floats["N"]))
    with pytest.raises(ValueError, match=r"other N values .* row '9\.0'"):
        stacking.training_runs_for(fit, moved, "stacking")


def test_compare_accepts_fits_differing_only_in_a_column_no_law_reads(table, own_fit):
    """Chinchilla and Kaplan (both of N and D) of the same runs, Kaplan's C counted 10% higher
    (compute_model=6.6): compare() refused them over C ("other C values"), which neither reads;
    a column they read (N) still is refused."""
    other_c = table[table.index != LEFT_OUT].assign(C=lambda d: 1.1 * d["C"])
    kaplan = quiet(
        bl.fit, bl.load_runs(other_c, compute_model=6.6), "kaplan", likelihood="gaussian", **TINY
    )
    assert not np.allclose(kaplan.record.training_runs["C"], own_fit.record.training_runs["C"])
    ranked = quiet(bl.compare, {"chinchilla": own_fit, "kaplan": kaplan})
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
        name: quiet(
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
