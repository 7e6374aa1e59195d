"""``Fit.training_runs()`` names where the fitted runs came from (the fit's recorded source:
the user's file), not "DataFrame" (the frame it is rebuilt from): `bayeslaws plan` on a saved
fit printed "runs fitted: RunTable(576 runs from DataFrame; ...)"."""

from __future__ import annotations

import copy


def test_training_runs_keep_the_recorded_source(simulated_fit):
    fit = copy.copy(simulated_fit)
    fit.record = copy.copy(simulated_fit.record)
    object.__setattr__(fit.record, "data", {**simulated_fit.record.data, "source": "my_runs.csv"})
    runs = fit.training_runs()
    assert runs.source == "my_runs.csv"
    assert "runs from my_runs.csv" in repr(runs)
    assert simulated_fit.training_runs().source == simulated_fit.record.data["source"]
