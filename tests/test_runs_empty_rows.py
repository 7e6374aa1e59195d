"""Entirely empty input rows, dropped when a run table is read, stay in its provenance: counted
in ``n_input_rows`` and recorded as an exclusion naming them by their row labels, which a fit's
record (:func:`bayeslaws.inference.nuts.provenance`) and its report carry. No sampling."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.app.report import data_lines
from bayeslaws.inference.nuts import provenance
from bayeslaws.runs import PlausibilityWarning


def runs_frame(n: int) -> pd.DataFrame:
    """n plausible, distinct runs (N params, D tokens, loss nats/token)."""
    N = np.geomspace(1e8, 1e9, n)
    return pd.DataFrame({"N": N, "D": 20 * N, "loss": np.linspace(3.0, 2.5, n)})


def csv_with_empty_line(tmp_path, n_runs: int, at: int):
    """A CSV of ``n_runs`` runs with one ',,' line inserted as data row ``at`` (0-based)."""
    path = tmp_path / "runs.csv"
    runs_frame(n_runs).to_csv(path, index=False)
    lines = path.read_text().splitlines()
    lines.insert(1 + at, ",,")  # after the header
    path.write_text("\n".join(lines) + "\n")
    return path


def empty_exclusions(record: dict) -> list:
    return [e for e in record["exclusions"] if "entirely empty" in e["reason"]]


def test_an_empty_row_is_counted_and_recorded_as_an_exclusion(tmp_path):
    path = csv_with_empty_line(tmp_path, 30, at=10)
    with pytest.warns(PlausibilityWarning, match=r"1 entirely empty row\(s\) dropped"):
        runs = bl.load_runs(path)
    assert len(runs) == 30
    assert runs.n_input_rows == 31  # the rows of the file as given
    record = runs.record()
    assert record["n_input_rows"] == 31 and record["n_rows_used"] == 30
    (entry,) = empty_exclusions(record)
    assert entry["count"] == 1 and entry["rows"] == ["10"]  # a file's 0-based data row
    assert record["n_input_rows"] - sum(e["count"] for e in record["exclusions"]) == len(runs)


def test_a_fits_record_and_report_carry_the_dropped_rows(tmp_path):
    path = csv_with_empty_line(tmp_path, 30, at=10)
    with pytest.warns(PlausibilityWarning):
        runs = bl.load_runs(path)
    data = provenance(runs, runs)  # what bl.fit stores as fit.record.data
    (entry,) = empty_exclusions(data)
    assert entry["rows"] == ["10"] and entry.get("by") != "law"
    fit = SimpleNamespace(record=SimpleNamespace(data=data), n_runs=len(runs))
    lines = data_lines(fit)
    assert "30 runs used of 31" in lines[0]
    assert any("1 rows" in line and "entirely empty" in line for line in lines[1:]), lines


def test_a_dataframes_empty_rows_are_named_by_its_labels():
    df = runs_frame(6)
    df.index = [f"run{i}" for i in range(6)]
    blank = pd.DataFrame({"N": [np.nan], "D": [np.nan], "loss": [np.nan]}, index=["gap"])
    df = pd.concat([df.iloc[:3], blank, df.iloc[3:]])
    with pytest.warns(PlausibilityWarning, match="entirely empty"):
        runs = bl.load_runs(df)
    assert runs.n_input_rows == len(df) and len(runs) == len(df) - 1
    (entry,) = empty_exclusions(runs.record())
    assert entry["rows"] == ["gap"]


def test_a_reloaded_table_keeps_the_record_and_a_full_table_records_nothing(tmp_path):
    path = csv_with_empty_line(tmp_path, 8, at=7)  # a trailing ',,' line
    with pytest.warns(PlausibilityWarning):
        runs = bl.load_runs(path)
    again = bl.load_runs(runs)
    assert again.n_input_rows == 9 and again.exclusions == runs.exclusions
    full = bl.load_runs(runs_frame(8))
    assert full.exclusions == () and full.n_input_rows == 8


def test_an_update_from_a_dataframe_keeps_its_empty_rows_in_the_provenance(simulated_fit):
    """fit.update(DataFrame) read the frame (dropping an empty row, recorded in the RunTable it
    read) but carried the DataFrame's count with no exclusion: the updated fit's provenance
    had an input row neither used nor excluded. Checked without the refit: the table the
    update builds (combined_table) and the provenance it carries (carried_provenance)."""
    from bayeslaws.inference.update import carried_provenance, combined_table

    runs = simulated_fit.training_runs().df
    new = runs.iloc[:2][["N", "D", "loss"]].assign(N=lambda d: d["N"] * 1.3).reset_index(drop=True)
    new.loc[len(new)] = np.nan  # an entirely empty row, e.g. a spreadsheet's trailing ',,'
    with pytest.warns(PlausibilityWarning, match="entirely empty"):
        combined = combined_table(simulated_fit, new)
    old = simulated_fit.record.data
    data = carried_provenance(old, old, combined.read, combined.renamed)
    assert data["n_input_rows"] == old["n_input_rows"] + 3
    (dropped,) = [e for e in data["exclusions"] if "entirely empty" in e["reason"]]
    assert dropped["rows_in_new_runs"] == ["2"] and dropped["count"] == 1
