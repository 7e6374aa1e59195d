"""Clear errors for the extrapolation states' arguments: population_state(groups=),
calibrate(folds=) and fit_gp of unequal lengths."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import own_cache

from bayeslaws.posterior.extrapolation import distance, drift, gp
from bayeslaws.runs.checks import UnknownNameError


def test_population_state_names_groups_that_form_no_grouping():
    with pytest.raises(ValueError, match=r"groups must name every group.*tilt_level.*'tilt'"):
        drift.population_state(groups={"tilt": {"mean": -2.5, "sd": 1.0}})
    with pytest.raises(ValueError, match=r"groups\['level'\] must be a dict with 'mean' and 'sd'"):
        drift.population_state(groups={"tilt": {"mean": -2.5, "sd": 1.0}, "level": {"m": 0}})
    state = drift.population_state(groups={"tilt": {"mean": -2.5, "sd": 1.0},
                                           "level": {"mean": -3.0, "sd": 0.5}})
    assert state["grouping"] == "tilt_level"


def test_calibrate_names_a_fold_column_the_runs_lack(two_scales_grouped):
    fit = own_cache(two_scales_grouped)
    with pytest.raises(UnknownNameError, match=r"folds: column 'lr' is not a column of the runs"):
        distance.calibrate(fit, folds=(("lr", 0.2),))
    with pytest.raises(ValueError, match=r"folds: each entry must be a \(column, fraction\)"):
        distance.calibrate(fit, folds=("C",))


def test_fit_gp_names_inputs_of_unequal_lengths():
    N, D = np.geomspace(1e8, 1e10, 10), np.geomspace(1e9, 1e11, 10)
    with pytest.raises(ValueError, match=r"N, D and residuals must hold one value per run.*\(8,\)"):
        gp.fit_gp(N, D, np.zeros(8))
