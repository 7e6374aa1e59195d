"""Fitting entry points and screening messages (s54 W2). No sampling: each check fails before a
fit, or builds the screening outcome itself.

* ``bl.fit(runs, law="Sweep")`` listed the known laws without naming the close one, as other
  label look-ups do (``near_label_hint``).
* ``bl.fit(df, group="g")`` (a column mapping; ``fit.update`` too) listed the arguments without
  saying that column mappings go to ``bl.load_runs``.
* Screening named a grouped fit's flagged run by row only; inside an update it named a fitted run
  as a bare label and offered ``--exclude-rows`` (fit.update has no command line) and
  ``runs.exclude`` of a table the update never had.
* ``fit.update``'s near-repeat warning listed pairs of rows and counted them as "(N rows)".
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.inference.screening import (
    OutlierWarning,
    Screen,
    Screening,
    named_rows,
    warn_flagged,
)
from bayeslaws.inference.update import (
    refuse_unknown_arguments,
    screening_names,
    warn_near_repeats,
)
from bayeslaws.laws import get_law
from bayeslaws.runs.checks import ArgumentTypeError


def _frame(n: int = 12) -> pd.DataFrame:
    """``n`` runs (N 1e8.., D 1e9..) in groups 'a' and 'b' alternately, losses 3.0 down."""
    return pd.DataFrame(
        {
            "N": np.geomspace(1e8, 1e10, n),
            "D": np.geomspace(1e9, 1e11, n),
            "loss": np.linspace(3.0, 2.4, n),
            "group": ["a", "b"] * (n // 2),
        }
    )


# ---- law names ----------------------------------------------------------------------------------
def test_a_law_name_in_another_case_is_named_as_the_registered_one():
    with pytest.raises(ValueError, match=r"unknown law 'Sweep' \(did you mean 'sweep'\?\)"):
        bl.fit(_frame(), law="Sweep")
    with pytest.raises(ValueError, match=r"'isoflop-cubic' \(did you mean 'isoflop_cubic'\?\)"):
        get_law("isoflop-cubic")


def test_a_law_name_close_to_none_gets_no_guess():
    with pytest.raises(ValueError) as caught:
        get_law("zzz")
    assert "did you mean" not in str(caught.value)
    with pytest.raises(ValueError, match="unknown law 3; known laws"):  # not text: no hint
        get_law(3)


# ---- column mappings given to fit ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "call"), [({"group": "g"}, "group='g'"), ({"N": "params"}, "N='params'")]
)
def test_a_column_mapping_given_to_fit_is_sent_to_load_runs(given, call):
    with pytest.raises(ArgumentTypeError) as caught:
        bl.fit(_frame(), **given)
    text = str(caught.value)
    assert f"bl.fit() got unknown argument(s) {sorted(given)}" in text
    assert f"runs = bl.load_runs(df, {call}), then bl.fit(runs, ...)" in text, text


def test_a_column_mapping_given_to_update_is_sent_to_load_runs():
    with pytest.raises(ArgumentTypeError) as caught:
        refuse_unknown_arguments({"group": "g"})
    text = str(caught.value)
    assert "new_runs = bl.load_runs(df, group='g'), then fit.update(new_runs, ...)" in text, text


def test_a_long_value_sent_to_load_runs_is_not_written_out():
    """accepted_rows=list(range(2000)) was written out whole: an 11,040-character message."""
    with pytest.raises(ArgumentTypeError) as caught:
        bl.fit(_frame(), accepted_rows=list(range(2000)), group="g")
    text = str(caught.value)
    assert "bl.load_runs(df, accepted_rows=<your list>, group='g'), then" in text, text
    assert len(text) < 1000, len(text)


def test_an_unknown_argument_that_load_runs_lacks_is_not_sent_there():
    with pytest.raises(ArgumentTypeError) as caught:
        bl.fit(_frame(), warmpu=10)
    assert "load_runs" not in str(caught.value)


# ---- screening messages -------------------------------------------------------------------------
def _flagged(df: pd.DataFrame, labels: list) -> Screening:
    """A screening of every row of ``df`` that flagged ``labels`` (z 40, 1.5x the fit)."""
    rows = list(df.index)
    z = np.array([40.0 if r in labels else 0.5 for r in rows])
    ratio = np.where(z > 8, 1.5, 1.0)
    return Screening(Screen("warn"), rows, z, ratio, list(labels), [0.01])


def _messages(action: str, df: pd.DataFrame, labels: list, names=None) -> list[str]:
    result = _flagged(df, labels)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if names is None:
            warn_flagged(result, df, action)
        else:
            with named_rows(names):
                warn_flagged(result, df, action)
    return [str(w.message) for w in caught if issubclass(w.category, OutlierWarning)]


def test_a_grouped_fits_flagged_run_is_named_with_its_group():
    df = _frame()
    (text,) = _messages("warn", df, [3])
    assert f"rows 3 (group 'b', loss {df.loc[3, 'loss']:.4g}, 1.5x the fit, z +40)" in text, text


def test_an_updates_flagged_fitted_run_is_named_as_such_without_a_command_line():
    """In an update (combined table: 12 fitted runs, then new runs 'r_a', 'r_b' as 12, 13),
    fitted run 3 is "3 of the fitted runs", left out by a fit of the runs the fit was given,
    then updated; no --exclude-rows (there is no update command)."""
    combined = _frame(14)
    names = screening_names(combined.iloc[12:].set_axis(["r_a", "r_b"]), {"r_a": 12, "r_b": 13})
    (text,) = _messages("warn", combined, [3, 13], names)
    assert "rows 3 of the fitted runs (group 'b', loss" in text, text
    assert "r_b of new_runs (group 'b', loss" in text, text
    assert "--exclude-rows" not in text and "--screen" not in text, text
    assert (
        "fit.update(new_runs, screen='exclude'), or a fit of the runs this fit was given without "
        "them, bl.fit(runs.exclude(runs.df.index.isin([3]), reason='...'), ...), updated with "
        "new_runs, or new_runs.drop(index=['r_b'])"
    ) in text, text
    (kept,) = _messages("kept", combined, [3], names)  # after a screen='exclude' refit
    assert "exclude them with a fit of the runs this fit was given without them" in kept, kept


def test_an_updates_remedies_after_an_exclude_refit_are_told_apart():
    """A fitted run and a new run flagged by the refit: their remedies were joined by " and ",
    which read as "updated with new_runs and new_runs.drop(...)"; they are joined as the
    first screening's are (", or ")."""
    combined = _frame(14)
    names = screening_names(combined.iloc[12:].set_axis(["r_a", "r_b"]), {"r_a": 12, "r_b": 13})
    (kept,) = _messages("kept", combined, [3, 13], names)
    assert "updated with new_runs, or new_runs.drop(index=['r_b'])." in kept, kept
    assert "new_runs and new_runs" not in kept, kept


def test_a_fits_own_remedy_is_unchanged_outside_an_update():
    (text,) = _messages("warn", _frame(), [3])
    assert "runs.exclude(runs.df.index.isin([3]), reason='...')" in text
    assert "--exclude-rows 3 --exclude-reason" in text


# ---- update: near repeats -----------------------------------------------------------------------
def test_near_repeats_are_counted_as_pairs():
    """12 new runs each 0.5% off a fitted run: the list of 'new ~ fitted' pairs is cut at 10
    and counted as 12 pairs, not 12 rows."""
    earlier = _frame().drop(columns="group")
    new = earlier.assign(N=earlier["N"] * 1.005, loss=earlier["loss"] * 1.0002)
    new.index = [f"n{k}" for k in range(12)]
    with pytest.warns(UserWarning, match="look like runs this fit already has") as caught:
        warn_near_repeats(earlier, new, new)
    text = str(caught[0].message)
    assert "'n0' ~ 0, 'n1' ~ 1" in text and ", ... (12 pairs)" in text, text


def test_a_grouped_table_given_to_fit_gets_load_runs_remedy():
    """``bl.fit(df.groupby(...))`` said only "got DataFrameGroupBy"; it now says what to pass,
    as ``bl.load_runs`` does (``runs.reading.frame_remedy``)."""
    df = pd.DataFrame({"N": [1e8, 2e8], "D": [1e9, 2e9], "loss": [3.0, 2.9], "g": ["a", "b"]})
    with pytest.raises(ArgumentTypeError, match="got DataFrameGroupBy, a grouped table: pass"):
        bl.fit(df.groupby("g"), law="chinchilla")
