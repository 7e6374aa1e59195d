"""bayeslaws.design: a unit's row states no one run's setting as the unit's.

``next_runs`` and ``rank_candidates`` gave each unit its FIRST candidate row: a picked LR x
batch sweep of 15 runs read "lr 0.00008, batch_size 101551.99", its corner, while its runs
span lr 8.0e-5..4.03e-4 and batch 101552..406208 (the command line printed the range, the
DataFrame did not). Now a column whose runs differ within a unit is NaN in that unit's row,
with ``<col>_min``, ``<col>_max`` and ``<col>_values`` (:func:`.gaussian.unit_rows`); a unit of
one run keeps its value. The command line and the plan report format the range from these
columns (their text unchanged: ``test_cli_sweep_fits``, ``test_cli_plan``).
"""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
from conftest import quiet

from bayeslaws import design
from bayeslaws.app.plan_report import pick_settings

NEW = (5e7, 4e9)  # a cell the fixture's sweep has no runs at (N params, D tokens)
ONE_PER_PICK = design.Guardrails(1, False)  # no repeats, no ratio rule: every unit can be picked
LRS, BATCHES = (1e-4, 2e-4, 4e-4), (5e4, 1e5)


def _candidates() -> pd.DataFrame:
    """One 3 x 2 LR x batch sweep at ``NEW`` (unit "sweep", 6 runs, its first run the lowest
    lr and batch) and two single runs at other cells with their own settings."""
    grid = [(lr, b) for lr in LRS for b in BATCHES]
    sweep = pd.DataFrame(grid, columns=["lr", "batch_size"]).assign(N=NEW[0], D=NEW[1])
    sweep = sweep.assign(unit="sweep", note=[f"run {i}" for i in range(len(sweep))])
    single = pd.DataFrame(
        {"N": [3e8, 1e8], "D": [1.6e10, 6e9], "lr": [3e-4, 1.5e-4], "batch_size": [8e4, 2e5],
         "unit": ["one_a", "one_b"], "note": ["a", "b"]}
    )  # fmt: skip
    return pd.concat([sweep, single], ignore_index=True)


def _check_unit_rows(table: pd.DataFrame, cands: pd.DataFrame) -> None:
    by_unit = table.set_index("unit")
    sweep = by_unit.loc["sweep"]
    runs = cands[cands["unit"] == "sweep"]
    for col, n in (("lr", len(LRS)), ("batch_size", len(BATCHES))):
        assert np.isnan(sweep[col]), f"{col} of the sweep unit states one run's: {sweep[col]}"
        assert sweep[f"{col}_min"] == runs[col].min()
        assert sweep[f"{col}_max"] == runs[col].max()
        assert sweep[f"{col}_values"] == n == runs[col].nunique()
    assert sweep["n_runs"] == len(runs)
    assert pd.isna(sweep["note"]) and sweep["note_values"] == len(runs)
    assert "note_min" not in table  # a non-numeric column: its count of values only
    for unit in ("one_a", "one_b"):
        row, run = by_unit.loc[unit], cands[cands["unit"] == unit].iloc[0]
        for col in ("lr", "batch_size"):
            assert row[col] == run[col]
            assert row[f"{col}_min"] == row[f"{col}_max"] == run[col]
            assert row[f"{col}_values"] == 1
        assert row["note"] == run["note"] and row["note_values"] == 1
    for col in ("N", "D"):  # the unit's own size and tokens stay
        assert sweep[col] == runs[col].iloc[0]


def test_rank_candidates_gives_a_sweeps_ranges_not_its_first_run(small_sweep_hp_fit):
    cands = _candidates()
    ranked = quiet(design.rank_candidates, small_sweep_hp_fit, cands, cost=None)
    _check_unit_rows(ranked, cands)
    columns = list(ranked.columns)  # each range just after its column
    at = columns.index("lr")
    assert columns[at + 1 : at + 4] == ["lr_min", "lr_max", "lr_values"]


def test_next_runs_gives_a_sweeps_ranges_and_runs_of_plan_each_runs_setting(small_sweep_hp_fit):
    cands = _candidates()
    plan = quiet(
        design.next_runs, small_sweep_hp_fit, cands, k=3, cost=None, guardrails=ONE_PER_PICK
    )
    assert sorted(plan["unit"]) == ["one_a", "one_b", "sweep"]
    _check_unit_rows(plan, cands)
    runs = design.runs_of_plan(cands, plan)
    mine = runs[runs["unit"] == "sweep"]
    assert sorted(mine["lr"]) == sorted(cands.loc[cands["unit"] == "sweep", "lr"])


def test_units_of_one_setting_get_no_range_columns(small_sweep_hp_fit):
    cands = _candidates()
    singles = cands[cands["unit"] != "sweep"]
    ranked = quiet(design.rank_candidates, small_sweep_hp_fit, singles, cost=None)
    assert not [c for c in ranked.columns if c.endswith(("_min", "_max", "_values"))]
    assert sorted(ranked["lr"]) == sorted(singles["lr"])


def test_the_plan_reports_settings_come_from_the_range_columns():
    """``pick_settings`` formats a batch row's range as the report printed it, and converts
    the batch to the unit the fitted runs gave it in (sequences of 2048 tokens)."""
    row = pd.Series({"N": 5e7, "D": 4e9, "lr": np.nan, "lr_min": 8.94e-5, "lr_max": 4.53e-4,
                     "lr_values": 5, "batch_size": np.nan, "batch_size_min": 2048 * 50.0,
                     "batch_size_max": 2048 * 200.0, "batch_size_values": 3})  # fmt: skip
    fit = types.SimpleNamespace(units={"batch_size": 2048.0})
    assert pick_settings(row, fit) == {
        "lr": "8.94e-05..0.000453 (5 values)",
        "batch (tokens)": "102400..409600 (3 values)",
        "batch (as given)": "50..200 (3 values)",
    }
    one = pd.Series({"N": 5e7, "D": 4e9, "lr": 2e-4, "batch_size": 1e5})
    assert pick_settings(one, types.SimpleNamespace(units={})) == {
        "lr": "0.0002",
        "batch (tokens)": "100000",
    }
