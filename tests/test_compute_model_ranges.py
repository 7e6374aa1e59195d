"""The drift measures distances along C in the fit's compute model, whatever model a budget or
a target is counted in (a 12ND budget read against a 6ND range moved runs 'outside' in C)."""

from __future__ import annotations

import types

import numpy as np

from bayeslaws.design.targets import NOpt
from bayeslaws.posterior.extrapolation import drift
from bayeslaws.runs import compute

SIX, TWELVE = compute.linear(6.0), compute.linear(12.0)
RANGES = {"N": [1e8, 1e10], "D": [1e9, 1e11], "C": [6e17, 6e21]}  # the fit's, in 6ND


def test_line_term_reads_c_in_the_fits_compute_model():
    """A run inside the range of N, D and (in 6ND) C has no drift, though its 12ND budget lies
    above the range's C: only a slope along C is set, so any C distance would show."""
    slopes = np.array([[0.0, 0.0, 0.0, 0.0, 1.0]])  # (S=1, 5): the C-above axis only
    N, D = 9e9, 1e11  # 6ND = 5.4e21 inside [6e17, 6e21]; 12ND = 1.08e22 above it
    C12 = np.array([12.0 * N * D])
    u = np.full((1, 1, 1), np.log(N))
    inside = drift.line_term(slopes, RANGES, TWELVE, C12, u, range_model=SIX)
    assert np.allclose(inside, 0.0), inside
    counted_in_12 = drift.line_term(slopes, RANGES, TWELVE, C12, u)  # no range model given
    assert counted_in_12[0, 0, 0] > 0.2  # log10(1.08e22 / 6e21) = 0.255 decades
    same = drift.line_term(slopes, RANGES, SIX, np.array([6.0 * N * D]), u, range_model=SIX)
    assert np.array_equal(same, drift.line_term(slopes, RANGES, SIX, np.array([6.0 * N * D]), u))


def test_nopt_target_points_carry_c_as_the_fit_counts_it():
    """NOpt(C, compute_model=12ND) on a 6ND fit: the point's C is 6 N D (half the budget), the
    unit of the fit's range; with the fit's own model it is the budget itself."""
    fit = types.SimpleNamespace(compute_model=SIX)
    draws = np.log(np.full((4, 1), 2e9))  # N_opt draws (S, Q), ln params
    point = NOpt(C=1e22, compute_model=TWELVE).points(fit, draws)
    N, D = point["N"].iloc[0], point["D"].iloc[0]
    assert np.isclose(N, 2e9) and np.isclose(D, 1e22 / (12.0 * 2e9))
    assert np.isclose(point["C"].iloc[0], 6.0 * N * D) and np.isclose(point["C"].iloc[0], 5e21)
    own = NOpt(C=1e22).points(fit, draws)
    assert own["C"].iloc[0] == 1e22
