"""Units hints of load_runs when N and D are both in scaled units (one message naming the pair,
ranked by the typical D/N), and units= values that are no number or word. The tables are
SIMULATED (a Chinchilla-like law on a 5 x 4 grid)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import noisy_chinchilla_grid, warning_messages

import bayeslaws as bl
from bayeslaws.runs import RunTableError
from bayeslaws.runs.units import unit_pairs

MILLIONS_BILLIONS = "units={'N': 'millions', 'D': 'billions'}"


# ---- 1. units hints when N and D are both scaled -----------------------------------------------
def test_n_in_millions_and_d_in_billions_error_names_the_pair_and_following_it_loads_right():
    """D in billions has values below 1 token (an error); N in millions looks scaled too. The
    hint was units={'D': 'millions'} (ranked by D/N with N still in millions): 1000x off."""
    true = noisy_chinchilla_grid()
    df = true.assign(N=true["N"] / 1e6, D=true["D"] / 1e9)
    with pytest.raises(RunTableError) as err:
        bl.load_runs(df)
    text = str(err.value)
    assert "below 1 token" in text
    assert "both look like they are in larger units" in text
    assert f"pass {MILLIONS_BILLIONS}" in text  # the most typical sizes come first
    assert "cannot decide" in text  # thousands/millions and billions/trillions: same D/N
    assert "units={'D': 'millions'}" not in text
    runs = bl.load_runs(df, units={"N": "millions", "D": "billions"})
    np.testing.assert_allclose(runs.df["N"], true["N"], rtol=1e-12)
    np.testing.assert_allclose(runs.df["D"], true["D"], rtol=1e-12)


def test_n_and_d_both_in_millions_warn_once_with_pairs_not_thousands_each():
    """Both in millions: the two hints were 'thousands' each (loads 1000x too small)."""
    true = noisy_chinchilla_grid()
    df = true.assign(N=true["N"] / 1e6, D=true["D"] / 1e6)
    said, runs = warning_messages(lambda: bl.load_runs(df))
    scaled = [m for m in said if "larger units" in m]
    assert len(scaled) == 1  # one message for the two columns
    (text,) = scaled
    assert "columns 'N' (parameters) and 'D' (tokens)" in text
    assert "pass units={'N': 'millions', 'D': 'millions'}" in text
    assert "cannot decide" in text
    assert "units={'N': 'thousands'}" not in text and "units={'D': 'thousands'}" not in text
    assert not any("tokens per parameter D/N of" in m for m in said)  # no rows named by D/N
    assert len(runs) == len(df)  # warned, never dropped


def test_pairs_a_step_apart_share_one_d_over_n_and_the_typical_ratio_comes_first():
    true = noisy_chinchilla_grid()
    df = true.assign(N=true["N"] / 1e6, D=true["D"] / 1e9)
    groups = unit_pairs(df)
    ratio, pairs = groups[0]
    assert ratio == pytest.approx(15.0)  # median D/N of the true table
    assert pairs[0] == ("millions", "billions")
    assert set(pairs) == {("thousands", "millions"), ("millions", "billions"),
                          ("billions", "trillions")}  # fmt: skip
    assert all(r != pytest.approx(15.0) for r, _ in groups[1:])


def test_one_scaled_column_is_still_ranked_by_d_over_n():
    """Only N in millions (D in tokens): D/N ranks N's units as before."""
    true = noisy_chinchilla_grid()
    said, _ = warning_messages(lambda: bl.load_runs(true.assign(N=true["N"] / 1e6)))
    (text,) = [m for m in said if "larger units" in m]
    assert "pass units={'N': 'millions'} (median tokens per parameter D/N then 15)" in text


# ---- 3. units= values --------------------------------------------------------------------------
@pytest.mark.parametrize("unit", [None, [1e6], True, np.bool_(True)])
def test_a_unit_that_is_no_number_or_word_is_an_error_naming_units_column(unit):
    df = noisy_chinchilla_grid().assign(N=lambda d: d["N"] / 1e6)
    with pytest.raises(TypeError, match=r"units\['N'\] must be a positive number .*'millions'"):
        bl.load_runs(df, units={"N": unit})


def test_numbers_and_words_are_still_units():
    df = noisy_chinchilla_grid().assign(N=lambda d: d["N"] / 1e6)
    for unit in ("millions", "M", 1e6, np.float64(1e6), 1_000_000):
        assert bl.load_runs(df, units={"N": unit}).df["N"].median() == pytest.approx(1e8)
    with pytest.raises(RunTableError, match=r"must be a positive number, got 0 \(units\['N'\]\)"):
        bl.load_runs(df, units={"N": 0})
