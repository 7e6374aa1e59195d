"""Messages built by the shared checks of bayeslaws.runs.checks: the sampler's integer settings
(check_integer, which replaced nuts' own copy; same text) and the campaign's warnings naming
many rows (rows_text, which says how many were left out; the campaign's copy said " ...")."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.design import campaign
from bayeslaws.design.campaign import RecordWarning


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("chains", True, "chains must be an integer >= 1, got True"),
        ("chains", np.bool_(True), "chains must be an integer >= 1, got "),
        ("warmup", 2.0, "warmup must be an integer >= 1, got 2.0"),
        ("draws", np.int64(0), "draws must be an integer >= 1, got "),
        ("prior_draws", -1, "prior_draws must be an integer >= 0, got -1"),
    ],
)
def test_a_bad_sampler_count_is_refused_by_name(simulated_runs, option, value, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        bl.fit(simulated_runs, **{option: value})


def _recorded(call) -> str:
    """The one RecordWarning ``call()`` gives."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    (message,) = [str(w.message) for w in caught if issubclass(w.category, RecordWarning)]
    return message


def test_many_unmatched_new_runs_are_named_with_their_count():
    n = 12
    runs = pd.DataFrame({"N": np.geomspace(1e8, 1e9, n), "D": np.geomspace(2e9, 2e10, n)})
    message = _recorded(lambda: campaign._warn_unmatched(runs, [-1] * n, 0, has_proposal=True))
    first = ", ".join(map(str, range(10)))
    assert f"new_runs rows {first}, ... ({n} rows) match no run proposed at step 0" in message


def test_many_unrecorded_proposed_runs_are_named_with_their_count():
    n = 12
    proposal = pd.DataFrame({"N": np.geomspace(1e8, 1e9, n), "D": np.geomspace(2e9, 2e10, n)})
    message = _recorded(lambda: campaign._warn_unrecorded(proposal, proposal.iloc[:0], 0))
    assert f"{n} of the {n} run(s) proposed at step 0 were not recorded: " in message
    assert f", ... and {n - 10} more runs (matched within" in message  # runs, not rows
