"""Parquet run tables (``.parquet`` / ``.pq``): read as the same table as the CSV of the same
runs, through Python and the command line; without a Parquet engine the error names the file
and the remedy. (pyarrow is in the test extra; the round trips skip with the reason without it.)"""

from __future__ import annotations

import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.app.cli import main
from bayeslaws.runs import RunTableError


def _engine_or_skip():
    pytest.importorskip("pyarrow", reason="Parquet round trips need pyarrow (pip install pyarrow)")


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_parquet_reads_as_the_csv_of_the_same_runs(tmp_path, suffix):
    _engine_or_skip()
    runs = bl.load_bundled().df.reset_index(drop=True)
    csv, parquet = tmp_path / "runs.csv", tmp_path / f"runs{suffix}"
    runs.to_csv(csv, index=False)
    runs.to_parquet(parquet, index=False)
    from_csv, from_parquet = bl.load_runs(csv), bl.load_runs(parquet)
    pd.testing.assert_frame_equal(from_parquet.df, from_csv.df)
    assert from_parquet.source.startswith(str(parquet)) and "SIMULATED" in from_parquet.source


def test_parquet_column_mapping_and_units(tmp_path):
    """A user's own column names and N in millions, as in a CSV."""
    _engine_or_skip()
    runs = bl.load_bundled().df.reset_index(drop=True)
    mine = runs[["N", "D", "loss"]].rename(columns={"N": "params_M", "D": "tokens"})
    mine["params_M"] = mine["params_M"] / 1e6
    path = tmp_path / "mine.parquet"
    mine.to_parquet(path, index=False)
    table = bl.load_runs(path, N="params_M", D="tokens", units={"N": "millions"})
    pd.testing.assert_series_equal(table.df["N"], runs["N"], check_names=False, rtol=1e-12)
    assert len(table.df) == len(runs)


def test_parquet_through_the_command_line(tmp_path, capsys):
    _engine_or_skip()
    best = bl.runs.best_run_per_cell(bl.load_bundled()).df.reset_index(drop=True)
    path = tmp_path / "runs.parquet"
    best.to_parquet(path, index=False)
    out = tmp_path / "fit.nc"
    code = main(
        ["fit", str(path), "--law", "chinchilla", "--likelihood", "gaussian", "--out", str(out)]
        + ["--chains", "1", "--warmup", "50", "--draws", "50"]
    )
    assert code == 0, capsys.readouterr().err
    assert bl.load_fit(out).record.data["n_rows_used"] == len(best)


def test_parquet_without_an_engine_names_the_file_and_the_remedy(tmp_path, monkeypatch):
    path = tmp_path / "runs.parquet"
    path.write_bytes(b"PAR1 not read")

    def no_engine(*args, **kwargs):
        raise ImportError("Unable to find a usable engine")

    monkeypatch.setattr(pd, "read_parquet", no_engine)
    with pytest.raises(RunTableError, match=r"runs\.parquet.*needs pyarrow or fastparquet"):
        bl.load_runs(path)
