"""``fit.update`` numbers its new runs past fitted row labels given as text ("0".."29"), not
from 0, and refuses a new label with a fitted label's text (review 6)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from bayeslaws.inference.fit import Fit
from bayeslaws.inference.update import (
    combined_table,
    label_number,
    next_label,
    refuse_label_clashes,
)


# ---- fit.update: row labels are text ------------------------------------------------------------
def test_new_runs_are_numbered_past_fitted_labels_given_as_text():
    assert next_label(pd.Index(["0", "1", "29"])) == 30
    assert next_label(pd.Index([0, "7", "a"]), taken=["-1", "12"]) == 13
    assert [label_number(r) for r in (7, np.int64(7), "7", "-2", "7.0", "a", "²")] == [
        7, 7, 7, -2, None, None, None
    ]  # fmt: skip


def test_a_new_label_with_a_fitted_labels_text_is_refused():
    with pytest.raises(ValueError, match=r"\['3'\] have the text of row labels the fit"):
        refuse_label_clashes(pd.Index(["2", "3"]), [3, 4])
    with pytest.raises(ValueError, match=r"\['5'\]"):
        refuse_label_clashes(pd.Index(["2"]), [5], taken=["5"])  # an excluded row's label
    refuse_label_clashes(pd.Index(["2", "3"]), [4, 5])  # no clash: nothing raised


def test_an_update_of_a_fit_with_text_row_labels_adds_no_second_label(simulated_fit):
    stored = simulated_fit.record.training_runs
    record = replace(
        simulated_fit.record, training_runs={**stored, "row": [str(r) for r in stored["row"]]}
    )
    fit = Fit(simulated_fit.idata, record, compute_model=simulated_fit.compute_model)
    new = pd.DataFrame({"N": [3e9, 4e9], "D": [6e10, 8e10], "loss": [2.0, 1.98]})
    labels = [str(r) for r in combined_table(fit, new).runs.df.index]
    n = len(stored["row"])
    assert len(set(labels)) == len(labels)
    assert labels[-2:] == [str(n), str(n + 1)]
