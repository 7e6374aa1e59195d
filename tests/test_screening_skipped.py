"""The report's screening line when screening did not run: with 7 runs (fewer than MIN_RUNS)
it said "no run > 8 robust sd off the fitted law (0 screened)", as if the runs had been
screened and found clean."""

from __future__ import annotations

from bayeslaws.app.report import screening_sentence
from bayeslaws.inference.screening import MIN_RUNS

TOO_FEW = (
    f"7 runs are too few to tell an outlier from the law (screening needs >= {MIN_RUNS})"
)
# the record a 7-run chinchilla fit stores (screen='warn', the default)
SKIPPED = {
    "action": "warn",
    "threshold": 8.0,
    "rule": "|observation - posterior predictive median| / (1.4826 MAD of the residuals) > "
    "threshold",
    "n_screened": 0,
    "flagged": [],
    "max_abs_z": None,
    "skipped": TOO_FEW,
}


def test_a_skipped_screening_says_not_done_and_why():
    line = screening_sentence({"screening": SKIPPED})
    assert line == f"screening: not done ({TOO_FEW})."
    assert "no run >" not in line and "0 screened" not in line


def test_skipped_under_exclude_too():
    line = screening_sentence({"screening": {**SKIPPED, "action": "exclude"}})
    assert line.startswith("screening: not done (7 runs are too few")


def test_off_and_screened_lines_are_unchanged():
    off = {**SKIPPED, "action": "off", "skipped": "screen='off'"}
    assert screening_sentence({"screening": off}).startswith("screening: off (screen='off')")
    clean = {**SKIPPED, "n_screened": 30, "skipped": None}
    assert screening_sentence({"screening": clean}) == (
        "screening: no run > 8 robust sd off the fitted law (30 screened)."
    )
