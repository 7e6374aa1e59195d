"""A grouped fit's answers say which runs their distances are measured from: allocate and
predict name the group's own fitted range, as do optimal_allocation and the drift kink warning."""

from __future__ import annotations

import warnings

import numpy as np
from conftest import cli_run, own_cache

import bayeslaws as bl
from bayeslaws.posterior.allocation import kink_warning

_run = cli_run  # conftest: bayeslaws argv in-process -> (code, stdout, stderr)


# ---- 4. a grouped fit's distances: which group's range -----------------------------------------
def test_allocate_prints_the_group_and_whose_range_the_distances_are_from(two_scales_grouped_file,
                                                                          capsys):
    code, out, err = _run(["allocate", two_scales_grouped_file, "--C", "1e19", "--group", "small"],
                          capsys)  # fmt: skip
    assert code == 0
    header = out.splitlines()[0].split()
    assert header[0] == "group" and out.splitlines()[1].split()[0] == "small"
    assert "from group 'small''s fitted range (its own runs only)" in err


def test_predict_says_whose_range_the_distances_are_from(two_scales_grouped_file, capsys):
    argv = ["predict", two_scales_grouped_file, "--N", "1e9", "--D", "2e10", "--extrapolation",
            "none"]  # fmt: skip
    code, _, err = _run([*argv, "--group", "large"], capsys)
    assert code == 0 and "from group 'large''s fitted range (its own runs only)" in err
    code, _, err = _run(argv, capsys)  # a new group: every group's runs
    assert code == 0 and "from the fitted range (pooled over every group's runs)" in err


def test_no_range_note_for_a_fit_without_groups(two_scales_fits, tmp_path, capsys):
    path = tmp_path / "small.nc"
    own_cache(two_scales_fits[1]).save(path)
    code, _, err = _run(["allocate", path, "--C", "1e19"], capsys)
    assert code == 0 and "distances in decades" not in err


def test_optimal_allocation_has_the_group_column_only_with_a_group(two_scales_fits):
    fit = own_cache(two_scales_fits[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        own = bl.optimal_allocation(fit, C=[1e19, 1e20], group="small")
        new = bl.optimal_allocation(fit, C=[1e19])
    assert own.columns[0] == "group" and own["group"].tolist() == ["small", "small"]
    assert "group" not in new


def test_the_drift_kink_warning_names_the_groups_own_range(two_scales_fits):
    """N_opt draws at group 'small''s largest N, on a budget past its corner, sit at the kink
    of the drift measured from 'small''s own runs: the warning says so (it said 'the fitted
    range', the pooled one, which is 30x larger in N)."""
    fit = own_cache(two_scales_fits[0])
    n_hi, d_hi = 3e8, 1e10  # group 'small''s largest N and D (conftest TWO_SCALES)
    C = np.array([6 * n_hi * d_hi * 4.0])
    at_kink = np.full((10, 1), n_hi)
    model = fit.compute_model
    message = kink_warning(fit, C, at_kink, model, "drift", "optimal_allocation", "small")
    assert "leaves group 'small''s fitted range of N or D" in message
    pooled = kink_warning(fit, C, np.full((10, 1), 1e10), model, "drift", "optimal_allocation")
    assert "leaves the fitted range of N or D" in pooled
