"""Options of the isoFLOP laws that would have no effect are refused, not recorded as used."""

from __future__ import annotations

import pytest

from bayeslaws.laws.isoflop import LAW, LAW_CUBIC, SKEW_SATURATION
from bayeslaws.runs import RunTableError, as_run_table, simulate


@pytest.fixture(scope="module")
def runs():
    return simulate.simulate_liang_isoflop(seed=1, n_per_budget=7)


def test_skew_saturation_on_the_parabola_law_is_refused():
    """The quadratic law has no skew, so its saturation changes nothing: refused, naming the
    option and the law that uses it; the cubic takes it, and the default passes both."""
    refused = r"skew_saturation=2\.0 would have no effect.*isoflop_cubic"
    with pytest.raises(ValueError, match=refused):
        LAW.configure(skew_saturation=2.0)
    assert LAW_CUBIC.configure(skew_saturation=2.0).skew_saturation == 2.0
    default = LAW.configure(skew_saturation=SKEW_SATURATION)
    assert default.options["skew_saturation"] == SKEW_SATURATION


# the simulator's smallest size at its smallest budget has D/N about 1e5 (a known trip of the
# plausibility check, not this test's subject)
@pytest.mark.filterwarnings("ignore:the tokens per parameter D/N")
def test_free_run_offsets_without_a_run_column_are_refused(runs):
    """run_offsets='free' shapes per-run offsets; a table without a 'run' column has none."""
    table = as_run_table(runs)
    assert "run" not in table.df
    refused = "run_offsets='free' would have no effect.*'run' column"
    with pytest.raises(RunTableError, match=refused):
        LAW.configure(run_offsets="free").prepare(table)
    LAW.prepare(table)  # the default needs no run column
    labelled = runs.assign(run=[f"r{i % 9}" for i in range(len(runs))])
    with_runs = as_run_table(labelled)
    assert LAW.configure(run_offsets="free").prepare(with_runs).state["run_offsets"] == "free"
