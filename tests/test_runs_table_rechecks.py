"""A RunTable built directly, edited with ``dataclasses.replace`` or in place is checked as
load_runs checks a table, and a re-load derives again the one of N, D, C derived at load (a
given or nominal C is kept or checked). No sampling but one refused fit; the tables are
SIMULATED (plain grids of N and D with a Chinchilla-like loss)."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import noiseless_chinchilla_grid

import bayeslaws as bl
from bayeslaws.runs import PlausibilityWarning, RunTable, RunTableError


def no_warnings(call):
    """``call()`` with every warning an error: the table input is plausible."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return call()


# ---- 1. a RunTable built directly or by replace is checked ------------------------------------
@pytest.mark.parametrize(
    "column, value, message",
    [
        ("loss", -1.0, r"column 'loss' must be finite and positive; bad values at rows 4 "),
        ("N", -5.0, r"column 'N' must be finite and positive; bad values at rows 4 "),
        ("D", np.inf, r"column 'D' must be finite and positive; bad values at rows 4 "),
        ("N", np.nan, r"column 'N' has missing values at rows 4 "),
        ("C", 0.0, r"column 'C' must be finite and positive; bad values at rows 4 "),
        ("N", 0.5, r"column 'N' has values below 1 parameter at rows 4 "),
    ],
)
def test_a_table_edited_by_replace_or_built_directly_is_checked(column, value, message):
    """dataclasses.replace (porian_isoflop's docstring suggests it for edits) and RunTable(...)
    took a loss of -1 (a fit with NaN parameters) or a negative N (LinAlgError): unchecked."""
    runs = bl.load_runs(noiseless_chinchilla_grid())
    bad = runs.df.copy()
    bad.loc[4, column] = value
    with pytest.raises(RunTableError, match=message):
        replace(runs, df=bad)
    with pytest.raises(RunTableError, match=message):
        RunTable(bad, runs.compute_model)


def test_a_table_checks_text_values_and_allows_a_missing_loss():
    runs = bl.load_runs(noiseless_chinchilla_grid())
    text = runs.df.astype({"N": object})
    text.loc[2, "N"] = "abc"
    with pytest.raises(RunTableError, match=r"column 'N' has non-numeric values at rows 2 "):
        RunTable(text, runs.compute_model)
    text.loc[2, "N"] = "2e8"  # a number as text: read as a number
    assert RunTable(text, runs.compute_model).df["N"].dtype == float
    missing = runs.df.assign(loss=runs.df["loss"].where(runs.df.index != 3))
    table = no_warnings(lambda: replace(runs, df=missing))  # diverged runs: allow_missing_loss
    assert table.df["loss"].isna().sum() == 1


def test_a_table_edited_in_place_is_refused_by_fit_before_sampling():
    runs = bl.load_runs(noiseless_chinchilla_grid())
    runs.df.loc[3, "loss"] = -2.0  # the frozen table's frame is still mutable
    with pytest.raises(RunTableError, match=r"column 'loss' must be finite and positive; bad "
                       r"values at rows 3 "):  # fmt: skip
        bl.fit(runs, "chinchilla", chains=1, warmup=10, draws=10, warn=False)


def test_building_a_loaded_table_again_says_nothing():
    """No second warning: the checks raise; a plausible table builds silently."""
    runs = bl.load_runs(noiseless_chinchilla_grid())
    no_warnings(lambda: replace(runs, df=runs.df))
    no_warnings(lambda: runs.exclude(runs.df.index == 0, "first run"))


# ---- 2. a re-load derives the derived column again ---------------------------------------------
def test_reloading_with_units_for_n_derives_c_again():
    """N typed in millions, C derived at load: load_runs(runs, units={'N': 'millions'}) said
    N, D and C disagree (give two of them) though two were given."""
    df = noiseless_chinchilla_grid()
    with pytest.warns(PlausibilityWarning):
        runs = bl.load_runs(df.assign(N=df["N"] / 1e6))
    assert runs.derived == ("C",)
    fixed = no_warnings(lambda: bl.load_runs(runs, units={"N": "millions"}))
    np.testing.assert_allclose(fixed.df["N"], df["N"])
    np.testing.assert_allclose(fixed.df["C"], 6 * df["N"] * df["D"])
    assert fixed.derived == ("C",)


def test_reloading_a_table_whose_n_was_edited_derives_c_again():
    """replace(runs, df=... N fixed ...) then load_runs kept C 1e6 x off 6ND, silently."""
    df = noiseless_chinchilla_grid()
    with pytest.warns(PlausibilityWarning):
        runs = bl.load_runs(df.assign(N=df["N"] / 1e6))
    edited = replace(runs, df=runs.df.assign(N=runs.df["N"] * 1e6))
    assert edited.derived == ("C",)  # C is still the one derived: it follows N again
    again = no_warnings(lambda: bl.load_runs(edited))
    np.testing.assert_allclose(again.df["C"], 6 * again.df["N"] * again.df["D"])


def test_reloading_derives_d_again_and_an_exclusion_keeps_what_was_derived():
    df = noiseless_chinchilla_grid()
    budget = df.assign(C=6 * df["N"] * df["D"]).drop(columns="D")
    with pytest.warns(PlausibilityWarning):
        runs = bl.load_runs(budget.assign(N=budget["N"] / 1e6))  # D = C / 6N: 1e6 x too many
    assert runs.derived == ("D",)
    kept = runs.exclude(runs.df.index == 0, "first run")
    assert kept.derived == ("D",) and len(kept.derived_values) == len(kept)
    fixed = no_warnings(lambda: bl.load_runs(kept, units={"N": "millions"}))
    np.testing.assert_allclose(fixed.df["D"], df["D"].iloc[1:].to_numpy())
    assert fixed.exclusions == kept.exclusions


def test_a_given_c_is_kept_and_checked_like_a_fresh_table():
    """A C read from the table (N, D and C given) is no derived one: with units for N it is
    checked against the model, with the same message as the fresh DataFrame gets."""
    df = noiseless_chinchilla_grid()
    df = df.assign(C=6 * df["N"] * df["D"])
    runs = bl.load_runs(df)
    assert runs.derived == ()
    with pytest.raises(RunTableError) as fresh:
        bl.load_runs(df, units={"N": "thousands"})
    with pytest.raises(RunTableError) as again:
        bl.load_runs(runs, units={"N": "thousands"})
    assert str(again.value) == str(fresh.value)
    assert "disagree with the compute model 6ND by more than 1%" in str(again.value)


def test_a_c_set_after_the_load_is_given_and_kept_on_a_reload():
    """A nominal budget written over the derived C (as isoflop_compendium and
    Fit.training_runs do) is given from then on: a re-load keeps it."""
    runs = bl.load_runs(noiseless_chinchilla_grid())
    nominal = runs.df["C"] * np.linspace(0.8, 1.07, len(runs))
    table = replace(runs, df=runs.df.assign(C=nominal))
    assert table.derived == () and table.derived_values is None
    again = no_warnings(lambda: bl.load_runs(table))
    pd.testing.assert_frame_equal(again.df, table.df)


def test_a_derived_c_under_another_compute_model_is_checked_and_says_why():
    runs = bl.load_runs(noiseless_chinchilla_grid(), compute_model=8)
    with pytest.raises(RunTableError, match="disagree with the compute model 6ND") as err:
        bl.load_runs(runs, compute_model=6)
    message = str(err.value)
    assert "C / 6ND is 1.333 at row 0" in message
    assert "pass compute_model=8" in message
    assert "derived at its load under 8ND" in message
    # the table's own: derived again
    same = no_warnings(lambda: bl.load_runs(runs, compute_model=8))
    assert same.derived == ("C",)


def test_derived_names_only_n_d_or_c():
    runs = bl.load_runs(noiseless_chinchilla_grid())
    with pytest.raises(RunTableError, match=r"derived= names \['loss'\]"):
        RunTable(runs.df, runs.compute_model, derived=("loss",))
    with pytest.raises(TypeError, match=r"derived= takes a tuple"):
        RunTable(runs.df, runs.compute_model, derived="C")
