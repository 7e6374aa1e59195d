"""Under extrapolation="drift" the GP mean along an isoFLOP line is a table read back smoothly
(a cubic spline): N_opt draws do not pile up on the table's knots. With a linear
interpolation, whose kinks the optimiser found, 8-10% of the interior draws of this fit sat
within 1e-4 (ln N) of a knot, against about 1.2% for draws spread evenly (on Epoch's points
about 2/3 did, review 9)."""

import warnings

import numpy as np
import pytest

from bayeslaws.posterior import model as model_view
from bayeslaws.posterior.allocation import allocation_draws


@pytest.mark.parametrize("C", [1e19, 1e21])
def test_drift_n_opt_draws_do_not_sit_on_the_tables_knots(simulated_fit, C):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        draws = allocation_draws(simulated_fit, [C], extrapolation="drift")
    ln_n = np.log(np.asarray(draws["N_opt"], float)[:, 0])
    interior = ~np.asarray(draws["at_boundary"], bool)[:, 0]  # the search edge is a knot
    lo, hi = (float(b[0]) for b in model_view.search_bounds(np.array([C])))
    step = (hi - lo) / (model_view.LINE_GRID - 1)
    position = (ln_n[interior] - lo) / step
    off_knot = np.abs(position - np.round(position)) * step  # ln N to the nearest knot
    share, expected = np.mean(off_knot < 1e-4), 2e-4 / step
    n = interior.sum()
    # binomial: the even share plus 4 sd (about 3.5 of ~580 draws expected, sd 1.9)
    assert share < expected + 4 * np.sqrt(expected * (1 - expected) / n), (share, expected)
