"""benchmarks/calibration.py's files: the committed points file and an old scores file.

The committed calibration_points_selection.csv reads with pd.read_csv as read_points reads it;
calibration.run_part refuses a file it could not append to before fitting anything.
"""

import re
import types

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, repo_script

OUT = REPO / "benchmarks" / "output"


# ---- 3: the selection points file reads with pandas ----
def test_selection_points_file_reads_with_pandas():
    path = OUT / "calibration_points_selection.csv"
    if not path.exists():
        pytest.skip("benchmarks/output/calibration_points_selection.csv is absent")
    calibration = repo_script("benchmarks/calibration.py", "bench_calibration_review11_points")
    plain = pd.read_csv(path)
    ours = calibration.read_points(path)
    assert list(plain.columns) == list(ours.columns) == calibration.POINT_COLUMNS
    for column in calibration.POINT_COLUMNS:
        a, b = plain[column], ours[column]
        if a.dtype.kind in "fc" or b.dtype.kind == "f":
            assert np.array_equal(a.to_numpy(float), b.to_numpy(float), equal_nan=True), column
        else:
            assert ((a == b) | (a.isna() & b.isna())).all(), column


# ---- 4: calibration refuses an old file before fitting ----
def test_run_part_refuses_an_old_file_before_any_fit(tmp_path, monkeypatch):
    calibration = repo_script("benchmarks/calibration.py", "bench_calibration_review11_fast")
    monkeypatch.setattr(calibration, "OUT", tmp_path)
    old = calibration.SCORE_COLUMNS[:19]  # a scores file written before the later columns
    pd.DataFrame(columns=old).to_csv(tmp_path / "calibration_selection.csv", index=False)
    job = types.SimpleNamespace(dataset="epoch", split="C>1e+21")
    monkeypatch.setattr(calibration, "split_jobs", lambda *args: [job])
    started = []

    def no_fits(*args, **kwargs):
        started.append(True)
        return iter(())

    monkeypatch.setattr(calibration, "iter_map_tasks", no_fits)
    with pytest.raises(ValueError, match="was written without columns .*fresh --out folder"):
        calibration.run_part("selection", ["gp"], {}, 1, "", 0)
    assert not started  # nothing fitted
    missing = calibration.SCORE_COLUMNS[19:]
    with pytest.raises(ValueError, match=re.escape(str(missing))):
        calibration.append_csv(
            tmp_path / "calibration_selection.csv", pd.DataFrame(columns=calibration.SCORE_COLUMNS)
        )
