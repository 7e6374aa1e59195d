"""One size written with two roundings (2.15e8 and 214663680: two cells) warns; close values
that are no rounding of each other, and the bundled and shared tables, do not."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from conftest import shared_or_skip

import bayeslaws as bl
from bayeslaws.runs import PlausibilityWarning, cells


def no_warnings(call):
    """``call()`` with every warning an error: the table input is plausible."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return call()


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
    no_warnings(lambda: bl.load_runs(df, accepted_rows=[2, 3]))  # vetted: silent


def test_close_values_that_are_no_rounding_of_each_other_do_not_warn():
    """Digitised points and the tokens of different budgets lie close without being one
    size written twice: no warning."""
    no_warnings(lambda: bl.load_runs(sweep_frame([214663680.0, 215001234.5, 4.29e8])))
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
