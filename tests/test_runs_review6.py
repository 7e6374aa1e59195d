"""Run-table fixes from a sixth review: a RunTable built directly or edited with
``dataclasses.replace`` (or in place, before a fit) is checked as load_runs checks a table; a
re-load derives again the one of N, D, C that was derived at load (a unit or an edit of N
reaches C), while a given or nominal C is kept or checked as before; rows below one
parameter or token in a plausible column are named as mistyped rows, not as a column in other
units; the N-D-C disagreement shows C / 6ND and the unit it points at; integer column labels
(``pd.DataFrame(array)``, ``read_csv(header=None)``); one size written with two roundings
(2.15e8 and 214663680: two cells) warns.
No sampling but one refused fit. The tables are SIMULATED (plain grids of N and D with a
Chinchilla-like loss) unless a test loads the shared data."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import shared_or_skip

import bayeslaws as bl
from bayeslaws.runs import PlausibilityWarning, RunTable, RunTableError, cells


def grid(n_sizes: int = 5, n_tokens: int = 3) -> pd.DataFrame:
    """SIMULATED: N 1e8 .. 1e9 params x D 20 .. 80 tokens per param, loss from a
    Chinchilla-like law (no noise), canonical columns N, D, loss."""
    N, ratio = np.meshgrid(np.geomspace(1e8, 1e9, n_sizes), [20.0, 40.0, 80.0][:n_tokens])
    N, D = N.ravel(), (N * ratio).ravel()
    loss = 1.8 + 400 / N**0.34 + 2000 / D**0.36
    return pd.DataFrame({"N": N, "D": D, "loss": loss})


def quiet(call):
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
    runs = bl.load_runs(grid())
    bad = runs.df.copy()
    bad.loc[4, column] = value
    with pytest.raises(RunTableError, match=message):
        replace(runs, df=bad)
    with pytest.raises(RunTableError, match=message):
        RunTable(bad, runs.compute_model)


def test_a_table_checks_text_values_and_allows_a_missing_loss():
    runs = bl.load_runs(grid())
    text = runs.df.astype({"N": object})
    text.loc[2, "N"] = "abc"
    with pytest.raises(RunTableError, match=r"column 'N' has non-numeric values at rows 2 "):
        RunTable(text, runs.compute_model)
    text.loc[2, "N"] = "2e8"  # a number as text: read as a number
    assert RunTable(text, runs.compute_model).df["N"].dtype == float
    missing = runs.df.assign(loss=runs.df["loss"].where(runs.df.index != 3))
    table = quiet(lambda: replace(runs, df=missing))  # diverged runs: allow_missing_loss
    assert table.df["loss"].isna().sum() == 1


def test_a_table_edited_in_place_is_refused_by_fit_before_sampling():
    runs = bl.load_runs(grid())
    runs.df.loc[3, "loss"] = -2.0  # the frozen table's frame is still mutable
    with pytest.raises(RunTableError, match=r"column 'loss' must be finite and positive; bad "
                       r"values at rows 3 "):  # fmt: skip
        bl.fit(runs, "chinchilla", chains=1, warmup=10, draws=10, warn=False)


def test_building_a_loaded_table_again_says_nothing():
    """No second warning: the checks raise; a plausible table builds silently."""
    runs = bl.load_runs(grid())
    quiet(lambda: replace(runs, df=runs.df))
    quiet(lambda: runs.exclude(runs.df.index == 0, "first run"))


# ---- 2. a re-load derives the derived column again ---------------------------------------------
def test_reloading_with_units_for_n_derives_c_again():
    """N typed in millions, C derived at load: load_runs(runs, units={'N': 'millions'}) said
    N, D and C disagree (give two of them) though two were given."""
    df = grid()
    with pytest.warns(PlausibilityWarning):
        runs = bl.load_runs(df.assign(N=df["N"] / 1e6))
    assert runs.derived == ("C",)
    fixed = quiet(lambda: bl.load_runs(runs, units={"N": "millions"}))
    np.testing.assert_allclose(fixed.df["N"], df["N"])
    np.testing.assert_allclose(fixed.df["C"], 6 * df["N"] * df["D"])
    assert fixed.derived == ("C",)


def test_reloading_a_table_whose_n_was_edited_derives_c_again():
    """replace(runs, df=... N fixed ...) then load_runs kept C 1e6 x off 6ND, silently."""
    df = grid()
    with pytest.warns(PlausibilityWarning):
        runs = bl.load_runs(df.assign(N=df["N"] / 1e6))
    edited = replace(runs, df=runs.df.assign(N=runs.df["N"] * 1e6))
    assert edited.derived == ("C",)  # C is still the one derived: it follows N again
    again = quiet(lambda: bl.load_runs(edited))
    np.testing.assert_allclose(again.df["C"], 6 * again.df["N"] * again.df["D"])


def test_reloading_derives_d_again_and_an_exclusion_keeps_what_was_derived():
    df = grid()
    budget = df.assign(C=6 * df["N"] * df["D"]).drop(columns="D")
    with pytest.warns(PlausibilityWarning):
        runs = bl.load_runs(budget.assign(N=budget["N"] / 1e6))  # D = C / 6N: 1e6 x too many
    assert runs.derived == ("D",)
    kept = runs.exclude(runs.df.index == 0, "first run")
    assert kept.derived == ("D",) and len(kept.derived_values) == len(kept)
    fixed = quiet(lambda: bl.load_runs(kept, units={"N": "millions"}))
    np.testing.assert_allclose(fixed.df["D"], df["D"].iloc[1:].to_numpy())
    assert fixed.exclusions == kept.exclusions


def test_a_given_c_is_kept_and_checked_like_a_fresh_table():
    """A C read from the table (N, D and C given) is no derived one: with units for N it is
    checked against the model, with the same message as the fresh DataFrame gets."""
    df = grid()
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
    runs = bl.load_runs(grid())
    nominal = runs.df["C"] * np.linspace(0.8, 1.07, len(runs))
    table = replace(runs, df=runs.df.assign(C=nominal))
    assert table.derived == () and table.derived_values is None
    again = quiet(lambda: bl.load_runs(table))
    pd.testing.assert_frame_equal(again.df, table.df)


def test_a_derived_c_under_another_compute_model_is_checked_and_says_why():
    runs = bl.load_runs(grid(), compute_model=8)
    with pytest.raises(RunTableError, match="disagree with the compute model 6ND") as err:
        bl.load_runs(runs, compute_model=6)
    message = str(err.value)
    assert "C / 6ND is 1.333 at row 0" in message
    assert "pass compute_model=8" in message
    assert "derived at its load under 8ND" in message
    same = quiet(lambda: bl.load_runs(runs, compute_model=8))  # the table's own: derived again
    assert same.derived == ("C",)


def test_derived_names_only_n_d_or_c():
    runs = bl.load_runs(grid())
    with pytest.raises(RunTableError, match=r"derived= names \['loss'\]"):
        RunTable(runs.df, runs.compute_model, derived=("loss",))
    with pytest.raises(TypeError, match=r"derived= takes a tuple"):
        RunTable(runs.df, runs.compute_model, derived="C")


# ---- 3. rows below one parameter or token in a plausible column ---------------------------------
def test_one_row_below_one_parameter_is_named_as_a_mistyped_row():
    df = pd.DataFrame({"N": [1.25e8, 2.5e8, 0.4, 7.6e8, 1.0e9],
                       "D": [2.5e9, 5e9, 8e9, 1.5e10, 2e10],
                       "loss": [3.1, 2.9, 2.8, 2.7, 2.6]})  # fmt: skip
    with pytest.raises(RunTableError, match=r"below 1 parameter at rows 2 ") as err:
        bl.load_runs(df)
    message = str(err.value)
    assert "far from the column's median 2.5e+08" in message
    assert "are these rows in other units (e.g. billions) or mistyped?" in message
    assert "units={'N'" not in message
    with pytest.raises(RunTableError, match=r"pass units=\{'N': 'billions'\}"):
        bl.load_runs(df.assign(N=df["N"] / 1e9))  # the whole column: its units


def test_one_row_with_c_in_pf_days_is_named_as_a_row():
    N = np.array([70, 160, 410, 1100, 2800]) * 1e6
    C = 6 * N * 20 * N
    C[4] /= 8.64e19
    frame = pd.DataFrame({"N": N, "C": C, "loss": [3.2, 3.0, 2.8, 2.6, 2.4]})
    with pytest.raises(RunTableError, match=r"below 1 token at rows 4 ") as err:
        bl.load_runs(frame)
    message = str(err.value)
    assert "D was derived from N and C: are these rows' C or N in other units" in message
    assert "pass units={'C'" not in message


# ---- 4. N, D and C that disagree: the ratio and its unit -------------------------------------
def test_the_disagreement_shows_c_over_6nd_and_the_unit_it_points_at():
    df = grid()
    C = 6 * df["N"] * df["D"]
    with pytest.raises(RunTableError, match=r"C / 6ND is 1e-18 at row 0, 1e-18 at row 1") as e:
        bl.load_runs(df.assign(C=C / 1e18))
    assert "pass units={'C': 1e+18} (exaFLOPs)" in str(e.value)
    with pytest.raises(RunTableError, match=r"pass units=\{'C': 8\.64e\+19\} \(petaFLOP/s-days"):
        bl.load_runs(df.assign(C=C / 8.64e19))
    one = C.copy()
    one[2] /= 8.64e19
    with pytest.raises(RunTableError, match=r"at rows 2 .*C of these rows is 1\.157e-20 x 6ND: "
                       r"are they in petaFLOP/s-days or mistyped\?"):  # fmt: skip
        bl.load_runs(df.assign(C=one))
    with pytest.raises(RunTableError, match=r"if C counts 6\.75 N D FLOPs, pass "
                       r"compute_model=6\.75"):  # fmt: skip
        bl.load_runs(df.assign(C=C * 1.125))
    scattered = C * np.where(df.index % 2 == 0, 1.5, 1.0)
    with pytest.raises(RunTableError, match=r"give two of them, or pass the right compute_model="):
        bl.load_runs(df.assign(C=scattered))


# ---- 5. integer column labels -------------------------------------------------------------------
def test_integer_column_labels_map_by_label_or_text():
    array = np.array([[1e8, 2e9, 3.0], [2e8, 4e9, 2.9], [4e8, 8e9, 2.8]])
    frame = pd.DataFrame(array)  # columns 0, 1, 2: pd.read_csv(path, header=None)
    by_label = bl.load_runs(frame, N=0, D=1, loss=2)
    by_text = bl.load_runs(frame, N="0", D="1", loss="2")
    assert by_label.df["N"].tolist() == by_text.df["N"].tolist() == [1e8, 2e8, 4e8]
    with pytest.raises(TypeError, match=r"got int 5, which is no column of the table \(its "
                       r"columns: \[0, 1, 2\]\)"):  # fmt: skip
        bl.load_runs(frame, N=5, D=1, loss=2)
    with pytest.raises(RunTableError, match=r"column '5' \(given for N\) is not in the table; "
                       r"the columns read are \[0, 1, 2\]"):  # fmt: skip
        bl.load_runs(frame, N="5", D=1, loss=2)
    bad = frame.copy()
    bad.loc[0, 0] = -1.0
    with pytest.raises(RunTableError, match=r"column 0 \(N\) must be finite and positive"):
        bl.load_runs(bad, N=0, D=1, loss=2)
    named = frame.set_axis(["0", "1", "2"], axis=1)  # text labels, mapped by integers
    assert bl.load_runs(named, N=0, D=1, loss=2).df["D"].tolist() == [2e9, 4e9, 8e9]
    with pytest.raises(TypeError, match=r"N= takes the name of your N column, or another label"):
        bl.load_runs(frame, N=[0], D=1, loss=2)
    with pytest.raises(TypeError, match=r"N= takes the name of your N column, or another label"):
        bl.load_runs(frame, N=True, D=1, loss=2)


# ---- 6. one size written with two roundings -----------------------------------------------------
def sweep_frame(sizes) -> pd.DataFrame:
    """SIMULATED: two learning rates at each (N, D) cell, N as given in ``sizes`` (one per
    row pair), D = 20 N (of the first size written)."""
    rows = []
    for i, n in enumerate(sizes):
        for lr in (1e-3, 2e-3):
            rows.append({"N": n, "D": 20 * sizes[0] if i < 2 else 20 * n, "lr": lr,
                         "loss": 3.0 - 0.1 * i + lr})  # fmt: skip
    return pd.DataFrame(rows)


def test_one_size_written_with_two_roundings_warns_naming_values_and_rows():
    """2.15e8 and 214663680 (0.16% apart, beyond CELL_RTOL) were two cells, silently."""
    df = sweep_frame([214663680.0, 2.15e8, 4.29e8])
    with pytest.warns(PlausibilityWarning, match="two roundings") as record:
        runs = bl.load_runs(df)
    (text,) = [str(w.message) for w in record if "two roundings" in str(w.message)]
    assert "215000000 at rows 2, 3 and 214663680 at rows 0, 1" in text
    assert "SEPARATE cells" in text and "replace({215000000: 214663680})" in text
    assert len(bl.runs.best_run_per_cell(runs)) == 3  # the split the warning names
    assert cells.CELL_RTOL == 1e-6  # unchanged
    quiet(lambda: bl.load_runs(df, accepted_rows=[2, 3]))  # vetted: silent


def test_close_values_that_are_no_rounding_of_each_other_do_not_warn():
    """Digitised points and the tokens of different budgets lie close without being one
    size written twice: no warning."""
    quiet(lambda: bl.load_runs(sweep_frame([214663680.0, 215001234.5, 4.29e8])))
    assert cells.rounded_twins([2.15e8, 214663680.0, 2.15e8 * (1 + 1e-9)]) == [
        (2.15e8, 214663680.0)
    ]
    assert cells.rounded_twins([1.0e9, 1.0e9 * (1 + 2e-7)]) == []  # one cell already
    assert cells.significant_digits(214663680.0) == 8 and cells.significant_digits(2.15e8) == 3


def test_no_bundled_or_shared_table_warns_of_two_roundings():
    def no_twins(call, *args, **kwargs):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            runs = call(*args, **kwargs)
        assert not [w for w in record if "two roundings" in str(w.message)]
        return runs

    no_twins(bl.load_bundled)
    no_twins(bl.load_bundled, "yin2025_grid_1p07B")
    bundled = shared_or_skip()
    no_twins(bundled.epoch_chinchilla)
    no_twins(bundled.steplaw_dense)
    no_twins(bundled.porian_isoflop)
    for param_count in ("standard", "kaplan", "attention"):
        no_twins(bundled.porian_isoflop, param_count=param_count)
    for source, corpora in bundled.COMPENDIUM_SOURCES.items():
        for corpus in corpora:
            table = no_twins(bundled.isoflop_compendium, source, corpus)
            no_twins(bl.load_runs, table)
