"""Messages of predictions and their neighbours (s54 W1): the far-points warning names the
farthest unnamed point, a NaN quantity says why, ``group`` is the fit's label, lists say what
they count, a bad value is shown, ``near_optimal`` checks before it warns, and
``fixed_vs_optimal(cells=...)`` reads numbers written as text as the design does."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import two_group_fit

import bayeslaws as bl
from bayeslaws.posterior.calibration.groups import held_out_group_note
from bayeslaws.posterior.draws import positive_array
from bayeslaws.posterior.predict import far_points_message
from bayeslaws.runs.checks import ArgumentTypeError


def recorded(call, *args, **kwargs):
    """(result, [(category, text)]) of ``call`` with every warning recorded."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = call(*args, **kwargs)
    return out, [(w.category, str(w.message)) for w in caught]


@pytest.fixture(scope="module")
def int_grouped_fit():
    """Groups 10 and 20 (integer labels, stored as "10" and "20"):
    :func:`conftest.two_group_fit`."""
    return two_group_fit(10, 20)


def far_table(decades) -> pd.DataFrame:
    """A prediction table whose N lies ``decades`` above a fitted range [1e8, 1e9]."""
    decades = np.asarray(decades, float)
    return pd.DataFrame({"N": 1e9 * 10**decades, "N_outside_decades": decades})


def test_far_points_name_the_farthest_unnamed_point():
    message = far_points_message(far_table([2.2, 2.5, 2.7, 3.0, 6.2]), {"N": [1e8, 1e9]}, ["N"])
    assert "at positions 3, 4, the farthest N = 1.58e+15 at position 4, 6.2 decades out" in message


def test_far_points_say_no_farthest_when_a_named_point_is_farther():
    message = far_points_message(far_table([6.2, 2.5, 2.7, 3.0, 3.1]), {"N": [1e8, 1e9]}, ["N"])
    assert "more points, at positions 3, 4." in message
    assert "farthest" not in message


def test_far_points_count_positions_not_rows():
    message = far_points_message(far_table(np.linspace(2.1, 3, 15)), {"N": [1e8, 1e9]}, ["N"])
    assert "(12 positions)" in message and "rows" not in message


def test_a_bad_query_value_is_shown():
    shown = r"bad at positions 1 \(counted from 0\) \(e\.g\. \[-2e\+08\]\)"
    with pytest.raises(ValueError, match=shown):
        positive_array("N", [1e8, -2e8])
    with pytest.raises(ValueError, match=r", \.\.\. \(12 positions\)"):
        positive_array("N", -np.ones(12))


def test_predict_names_the_group_by_the_fits_label(int_grouped_fit):
    out, _ = recorded(bl.predict, int_grouped_fit, N=1e8, D=2e9, group=10.0)
    assert out["group"].tolist() == ["10"]
    table, _ = recorded(bl.optimal_allocation, int_grouped_fit, C=1e19, group=10.0)
    assert table["group"].tolist() == ["10"]  # as predict names it (it echoed 10.0)


def test_held_out_groups_are_counted_as_groups(int_grouped_fit):
    table = pd.DataFrame({"group": [f"g{i}" for i in range(12)]})
    note = held_out_group_note(int_grouped_fit, table, "backtest")
    assert "(12 groups)" in note and "(12 rows)" in note  # the groups, then the rows


def test_near_optimal_refuses_prob_90_without_warning_first(int_grouped_fit):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="prob must be a number in"):
            bl.near_optimal(int_grouped_fit, 1e20, 0.01, prob=90, group=10)


def test_near_optimal_still_warns_of_a_bare_tolerance(int_grouped_fit):
    _, said = recorded(bl.near_optimal, int_grouped_fit, 1e20, 0.01, group=10)
    assert any("read as a fraction of the TOTAL loss" in text for _, text in said)


def test_predict_says_why_a_quantity_is_nan_at_a_new_cell(small_sweep_hp_fit):
    out, said = recorded(bl.predict, small_sweep_hp_fit, N=1e8, D=3e9)
    assert out["loss_opt_median"].isna().all()  # the numbers are unchanged: unknown there
    texts = [text for category, text in said if category is UserWarning]
    nan_said = [t for t in texts if "are NaN at positions 0" in t]
    assert len(nan_said) == 1, texts
    assert "loss_opt_*" in nan_said[0] and "loss_level=surface" in nan_said[0]


def test_predict_names_the_fitted_cell_a_rounded_query_means(small_sweep_hp_fit):
    cells = small_sweep_hp_fit.training_runs().df[["N", "D"]].drop_duplicates()
    n, d = (float(v) for v in cells.iloc[0])
    _, said = recorded(bl.predict, small_sweep_hp_fit, N=[1e8, n * 1.001], D=[3e9, d])
    text = next(t for _, t in said if "are NaN at positions" in t)
    assert f"position 1 is nearly the fitted cell N = {n:.12g}, D = {d:.12g}" in text


def test_predict_at_fitted_cells_says_nothing_of_nan(small_sweep_hp_fit):
    cells = small_sweep_hp_fit.training_runs().df[["N", "D"]].drop_duplicates()
    out, said = recorded(bl.predict, small_sweep_hp_fit, N=cells["N"], D=cells["D"])
    assert out["loss_opt_median"].notna().all()
    assert not [t for _, t in said if "are NaN at" in t]


def test_loss_penalty_says_why_the_penalty_is_nan(small_sweep_hp_fit):
    out, said = recorded(bl.loss_penalty, small_sweep_hp_fit, 1e8, 3e9, 2e-4, 1e5)
    assert out["penalty_median"].isna().all()
    texts = [t for _, t in said if "are NaN at positions 0" in t]
    assert len(texts) == 1 and texts[0].startswith("loss_penalty: penalty_*"), texts


def test_fixed_vs_optimal_reads_cells_written_as_text(small_sweep_sweep_fit):
    cells = small_sweep_sweep_fit.training_runs().df[["N", "D"]].drop_duplicates()
    as_text = cells.map(lambda v: f"{v:.17g}")
    kw = {"lr": 2e-4, "batch_size": 1e5, "n_draws": 10}
    plain, _ = recorded(bl.fixed_vs_optimal, small_sweep_sweep_fit, 1e19, cells=cells, **kw)
    spelt, _ = recorded(bl.fixed_vs_optimal, small_sweep_sweep_fit, 1e19, cells=as_text, **kw)
    pd.testing.assert_frame_equal(plain, spelt)


def test_fixed_vs_optimal_refuses_cells_that_are_no_numbers(small_sweep_sweep_fit):
    cells = small_sweep_sweep_fit.training_runs().df[["N", "D"]].drop_duplicates()
    words = cells.astype(object)
    words.iloc[1, 0] = "big"
    with pytest.raises(ValueError, match=r"cells=.*column 'N' has non-numeric values"):
        bl.fixed_vs_optimal(small_sweep_sweep_fit, 1e19, cells=words)
    flags = cells.astype(object)
    flags.iloc[1, 1] = True
    with pytest.raises(ArgumentTypeError, match=r"cells\['D'\] holds True/False"):
        bl.fixed_vs_optimal(small_sweep_sweep_fit, 1e19, cells=flags)
