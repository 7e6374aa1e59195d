"""paper_repro's make_readme.py: its arguments, two-level headers, column names and interval levels.

make_readme.py parses its arguments (--help wrote the README), reads a two-level header, prints
numeric column names as numbers and marks our interval's level beside a paper's "(95%)". Fast:
no fits.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
from conftest import REPO, paper_repro_script

# ---- make_readme.py ----------------------------------------------------------------------------


def test_make_readme_help_writes_nothing(tmp_path):
    """make_readme.py had no argument parser: any argument, --help included, rewrote
    paper_repro/README.md."""
    shutil.copy(REPO / "paper_repro" / "make_readme.py", tmp_path / "make_readme.py")
    (tmp_path / "results").mkdir()
    done = subprocess.run(
        [sys.executable, str(tmp_path / "make_readme.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
    assert not (tmp_path / "README.md").exists()


def _coverage_like() -> pd.DataFrame:
    """A frame shaped as hyperparams.py's coverage table: two-level columns, a named index."""
    raw = pd.DataFrame(
        {
            "quantity": ["B_opt", "B_opt", "B_opt", "B_opt"],
            "parameter": ["c", "c", "exp_N", "exp_N"],
            "method": ["ours", "two_stage"] * 2,
            "coverage": [0.92, 0.86, 0.94, 0.82],
            "bias": [74.1, -751.8, 0.0014, 0.0017],
        }
    )
    table = raw.set_index(["quantity", "parameter", "method"]).unstack("method")
    table[("data", "")] = "simulated (50 sweeps)"
    return table


def test_make_readme_reads_a_two_level_header(tmp_path, monkeypatch):
    """hyperparams_coverage.csv rendered as columns coverage, coverage.1, ... with its second
    header row ("method, , ours, two_stage") and its index names as data rows."""
    make_readme = paper_repro_script("make_readme")
    _coverage_like().to_csv(tmp_path / "hyperparams_coverage.csv")
    (tmp_path / "hyperparams_coverage.md").write_text("# Coverage title\n")
    monkeypatch.setattr(make_readme, "RESULTS", tmp_path)
    text = make_readme.other_tables()
    head = (
        "| quantity | parameter | coverage ours | coverage two_stage | bias ours | bias two_stage "
        "| data |"
    )
    assert head in text, text
    assert "| B_opt | c | 0.92 | 0.86 | 74.1 | -751.8 | simulated (50 sweeps) |" in text
    assert "coverage.1" not in text and "| method |" not in text and "Unnamed" not in text
    body = [line for line in text.splitlines() if line.startswith("| B_opt")]
    assert len(body) == 2  # the header rows are not read as data


def test_make_readme_prints_numeric_column_names_as_numbers(tmp_path, monkeypatch):
    """The 1.07B grid's columns read "4000000000.0 | 10000000000.0"."""
    make_readme = paper_repro_script("make_readme")
    grid = pd.DataFrame({4e9: ["0.000173"], 1e10: ["0.000155"]}, index=["ours eta_opt [90%]"])
    grid.to_csv(tmp_path / "hyperparams_grid_1p07B.csv")
    monkeypatch.setattr(make_readme, "RESULTS", tmp_path)
    text = make_readme.other_tables()
    assert "|  | 4e+09 | 1e+10 |" in text, text
    assert "4000000000.0" not in text


def test_make_readme_marks_our_level_beside_a_papers_95_percent(tmp_path, monkeypatch):
    """Porian's paper cells say "(95%)" while ours are 90% (q05/q95) and said nothing."""
    make_readme = paper_repro_script("make_readme")
    porian = pd.DataFrame(
        {
            "paper": "Porian et al. 2024",
            "quantity": ["a (N_opt ~ C^a): x", "held-out 2 largest budgets, 90% loss coverage: x"],
            "paper_value": ["0.835 [0.824, 0.846] (95%)", "(0.90 nominal)"],
            "median": [0.8556, 1.0],
            "lower": [0.8402, np.nan],
            "upper": [0.8749, np.nan],
            "data": "real",
            "note": "n",
        }
    )
    epoch = pd.DataFrame(
        {
            "quantity": ["Epoch Chinchilla E"],
            "paper_value": [1.817],
            "paper_lower": [1.769],
            "paper_upper": [1.871],
            "median": [1.83],
            "lower": [1.80],
            "upper": [1.86],
            "ci": [0.95],
            "data": ["real"],
        }
    )
    porian.to_csv(tmp_path / "porian.csv", index=False)
    epoch.to_csv(tmp_path / "epoch_fit.csv", index=False)
    monkeypatch.setattr(make_readme, "RESULTS", tmp_path)
    text = make_readme.table()
    assert "| 0.835 [0.824, 0.846] (95%) | 0.8556 [0.8402, 0.8749] (90%) |" in text, text
    assert "| 1.83 [1.8, 1.86] (95%) |" in text and "(95%) (95%)" not in text
    assert "| n/a | 100% (nominal 90%) |" in text  # no interval: no level mark
