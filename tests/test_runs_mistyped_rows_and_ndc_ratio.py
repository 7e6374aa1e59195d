"""Rows below one parameter or token are named as mistyped rows (not a column in other units),
and N, D and C that disagree show C / 6ND and the unit it points at. The tables are SIMULATED."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import noiseless_chinchilla_grid

import bayeslaws as bl
from bayeslaws.runs import RunTableError


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
    df = noiseless_chinchilla_grid()
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
