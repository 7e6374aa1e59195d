"""``fit.update`` reads new runs in the units they are given in (``units=``): a DataFrame beside a
fit whose runs were given in other units is refused until ``units=`` says which; a RunTable
read with other units than the fit's is refused, naming both (review 12). Small NUTS runs on
SIMULATED Chinchilla runs."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TRUTH, chinchilla_design, quiet

import bayeslaws as bl
from bayeslaws.inference.update import combined_table
from bayeslaws.runs import RunTableError, simulate

SMALL = {"chains": 1, "warmup": 240, "draws": 80, "likelihood": "gaussian"}


def _runs():
    """30 SIMULATED Chinchilla runs (6 sizes x 5 token counts), N in parameters."""
    N, D = chinchilla_design()
    runs = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=1)
    return runs.drop(columns=["C"])


# ---- F1: the units new runs are given in --------------------------------------------------------
@pytest.fixture(scope="module")
def millions():
    """(A fit of 24 runs given with N in millions, units={'N': 'millions'}; the 6 other runs
    with N in millions, as the fitted runs were given; the same 6 in parameters.)"""
    runs = _runs()
    in_millions = runs.assign(N=runs["N"] / 1e6)
    table = quiet(bl.load_runs, in_millions.iloc[:24], units={"N": "millions"})
    fit = quiet(bl.fit, table, law="chinchilla", seed=0, warn=False, **SMALL)
    return fit, in_millions.iloc[24:], runs.iloc[24:]


def test_a_dataframe_beside_a_fit_given_in_other_units_is_refused_until_units_says_which(
    millions,
):
    """Read as canonical, N in millions was 1e6x off (a new run of 60 parameters), and nothing
    said so; now the update asks which units the new runs are in, with a remedy update takes."""
    fit, new, _ = millions
    assert fit.units == {"N": 1e6}
    refused = r"fit\.units: \{'N': 1e\+06\}.*column\(s\) \['N'\]"
    with pytest.raises(RunTableError, match=refused) as err:
        fit.update(new, warn=False)
    assert "fit.update(new_runs, units=fit.units)" in str(err.value)
    assert "units={}" in str(err.value)


def test_units_reads_new_runs_as_given(millions):
    """``units=fit.units`` reads new runs given as the fitted runs were; ``units={}`` reads
    canonical ones: the combined table holds the same N (parameters) either way."""
    fit, new, canonical = millions
    as_fitted = combined_table(fit, new, units=fit.units)
    as_canonical = combined_table(fit, canonical, units={})
    for combined in (as_fitted, as_canonical):
        rows = [combined.renamed[r] for r in canonical.index]
        np.testing.assert_allclose(
            combined.runs.df.loc[rows, "N"].to_numpy(float), canonical["N"].to_numpy(float)
        )
    assert as_fitted.units == {"N": 1e6} and as_canonical.units == {}


def test_an_update_with_units_refits_the_new_runs_in_parameters(millions):
    """The refit of an update given ``units=fit.units`` stores the new runs' N in parameters,
    keeps the fit's units and says how the new runs were read."""
    fit, new, canonical = millions
    updated = quiet(fit.update, new, units=fit.units, seed=1, warn=False)
    stored = updated.training_runs().df
    np.testing.assert_allclose(
        np.sort(stored["N"].to_numpy(float))[-6:].max(), canonical["N"].max()
    )
    assert stored["N"].min() > 1e7  # no run of 60 parameters
    assert updated.units == fit.units
    assert "new runs read with units={'N': 1e+06}" in updated.record.notes[-1]


def test_a_run_table_is_taken_as_read_and_units_for_it_are_refused_unless_they_agree(millions):
    """A RunTable's values are canonical as its load read them (its own plausibility checks
    ran there), whatever units the fit's runs were given in: it is taken as read (a replay's
    or campaign's canonical runs beside a fit of sequences). ``units=`` is for a DataFrame: for
    a RunTable read with other units it is a ValueError naming both."""
    fit, new, canonical = millions
    with_unit = quiet(bl.load_runs, new, units={"N": "millions"})
    in_parameters = quiet(bl.load_runs, canonical)
    for table in (with_unit, in_parameters):
        taken = combined_table(fit, table)
        np.testing.assert_allclose(
            taken.runs.df["N"].iloc[-6:].to_numpy(float), canonical["N"].to_numpy(float)
        )
    with pytest.raises(ValueError, match=r"applies to a DataFrame.*read with units \{\}"):
        combined_table(fit, in_parameters, units={"N": "millions"})
    combined_table(fit, with_unit, units={"N": "millions"})  # agrees: taken
