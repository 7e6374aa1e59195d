"""Simulated data are labelled SIMULATED everywhere they appear: every results CSV of paper_repro
whose rows come from simulated data says so row by row in a ``data`` column, as epoch_recovery,
liang and yin did and the hyperparameter tables and yin_detail.csv did not. The first tests read
the committed files only (no fits); the others run the writers on stand-in rows."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import repo_script

PAPER_REPRO = Path(__file__).resolve().parents[1] / "paper_repro"
RESULTS = PAPER_REPRO / "results"
# results files that hold simulated rows (the check below must find at least these)
KNOWN_SIMULATED = {
    "epoch_recovery.csv",
    "liang.csv",
    "yin.csv",
    "yin_detail.csv",
    "hyperparams_recovery.csv",
    "hyperparams_coverage.csv",
    "hyperparams_coverage_raw.csv",
    "hyperparams_grid_1p07B.csv",
}
HEADER_LINES = {"hyperparams_coverage.csv": 3}  # two column levels and the index names
# files that mix simulated rows with published ones: which rows (first cell, header -> cell)
# are simulated; in every other simulated file all rows are
MIXED = {
    "yin.csv": lambda first, row: "replicate" in row["note"],  # the replicated simulations
    "hyperparams_grid_1p07B.csv": lambda first, row: first.startswith("ours "),  # fit to a sweep
}
SIMULATED_WORD = re.compile("simulat", re.IGNORECASE)


def holds_simulated_rows(path: Path) -> bool:
    """Whether a results CSV holds results on simulated data: a cell or its .md title says so,
    or it is the ``_raw`` / ``_detail`` dump of such a table."""
    if SIMULATED_WORD.search(path.read_text()):
        return True
    md = path.with_suffix(".md")
    if md.exists() and SIMULATED_WORD.search(md.read_text().split("\n", 1)[0]):
        return True
    parent = path.with_name(re.sub(r"_(raw|detail)$", "", path.stem) + ".csv")
    return parent != path and parent.exists() and holds_simulated_rows(parent)


def label_problems(path: Path) -> list[str]:
    """What is wrong with the ``data`` labels of a results CSV holding simulated rows: no
    ``data`` column (in its first header line), a row without a label, a simulated row whose
    label does not start with "simulated"."""
    text = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    names = list(text.iloc[0])
    if "data" not in names:
        return [f"{path.name}: no 'data' column (header {names})"]
    body = text.iloc[HEADER_LINES.get(path.name, 1) :]
    simulated = MIXED.get(path.name, lambda first, row: True)
    problems = []
    for i, values in body.iterrows():
        row = dict(zip(names, values, strict=True))
        label = row["data"].strip()
        if not label:
            problems.append(f"{path.name} line {i + 1}: empty 'data'")
        elif simulated(values.iloc[0], row) and not label.startswith("simulated"):
            problems.append(f"{path.name} line {i + 1}: simulated row labelled {label!r}")
    return problems


def simulated_files(results: Path) -> list[Path]:
    return [p for p in sorted(results.glob("*.csv")) if holds_simulated_rows(p)]


def test_the_check_finds_the_known_simulated_results():
    """Not vacuous: the detection finds every file known to hold simulated rows."""
    found = {p.name for p in simulated_files(RESULTS)}
    assert KNOWN_SIMULATED <= found, KNOWN_SIMULATED - found


def test_every_results_csv_from_simulated_data_labels_every_row():
    """hyperparams_recovery/coverage/coverage_raw/grid_1p07B.csv and yin_detail.csv had no
    ``data`` column; every simulated results file now labels each row."""
    problems = [msg for p in simulated_files(RESULTS) for msg in label_problems(p)]
    assert problems == []


def test_the_grid_labels_only_its_fitted_rows_as_simulated():
    """The 1.07B grid table mixes a fit to the simulated sweep with the paper's values."""
    grid = pd.read_csv(RESULTS / "hyperparams_grid_1p07B.csv", index_col=0)
    simulated = grid.index[grid["data"].str.startswith("simulated")]
    assert list(simulated) == ["ours eta_opt [90%]", "ours B_opt [90%]"]
    assert grid.loc["paper marked cell eta / B", "data"].startswith("published")
    assert grid.loc["Yin law eta / B", "data"] == "published constants (arithmetic)"


def _paper_repro(name):
    """paper_repro/<name>.py imported as a module (the scripts are not part of the package)."""
    return repo_script(f"paper_repro/{name}.py", f"paper_repro_{name}")


class _FakeFit:
    """Stands in for a hyperparams fit: intervals +-10% around the truth (no sampling)."""

    diagnostics = SimpleNamespace(max_r_hat=1.0, min_ess_bulk=100.0, divergences=0)
    record = SimpleNamespace(law_options={"bowl": "full"})

    def __init__(self, truth: dict):
        self.truth = pd.Series(truth)

    def law_table(self, units=None, ci=0.9):
        v = self.truth
        return pd.DataFrame({"median": v, "lower": v - 0.1 * v.abs(), "upper": v + 0.1 * v.abs()})


def test_hyperparams_coverage_writes_the_simulated_sweep_of_every_row(tmp_path, monkeypatch):
    """The coverage replications (raw rows and the summary) are written with a ``data`` column
    naming the simulator truth and each replication's sweep seed."""
    hp = _paper_repro("hyperparams")
    monkeypatch.setattr(hp, "RESULTS", tmp_path)
    monkeypatch.setattr(hp, "fit_hp", lambda runs, args, **kw: _FakeFit(hp.TRUE_LAW))
    monkeypatch.setattr(hp, "fit_two_stage", lambda runs, args, **kw: _FakeFit(hp.TRUE_LAW))
    args = SimpleNamespace(reps=2, cov_chains=1, cov_iter=1, bowl=None)
    hp.part_coverage(args)
    raw = pd.read_csv(tmp_path / "hyperparams_coverage_raw.csv")
    expected = [f"simulated (VideoDiTTruth, sweep seed {1000 + k})" for k in raw["rep"]]
    assert raw["data"].tolist() == expected and raw["rep"].nunique() == 2
    summary = pd.read_csv(tmp_path / "hyperparams_coverage.csv", header=[0, 1], index_col=[0, 1])
    data = summary[[c for c in summary.columns if c[0] == "data"]].iloc[:, 0]
    assert (data == "simulated (VideoDiTTruth, 2 sweeps, seeds 1000-1001)").all()
    assert len(data) == len(hp.TRUE_LAW)


def test_hyperparams_grid_and_recovery_labels(tmp_path, monkeypatch):
    """The grid table's rows are labelled by where they come from; a row without a label is an
    error naming it."""
    hp = _paper_repro("hyperparams")
    monkeypatch.setattr(hp, "RESULTS", tmp_path)
    runs = SimpleNamespace(df=pd.DataFrame({"N": np.ones(576)}))
    rows = ["ours eta_opt [90%]", "Yin law eta / B", "bowl rms resid"]
    table = pd.DataFrame({4e9: ["a", "b", "c"]}, index=rows)
    hp.write(table, "grid_1p07B", "title", data=hp.grid_data(rows, runs))
    out = pd.read_csv(tmp_path / "hyperparams_grid_1p07B.csv", index_col=0)
    assert out["data"].tolist() == [
        "simulated (VideoDiTTruth, bundled sweep video_dit_sweep_simulated, 576 runs)",
        "published constants (arithmetic)",
        "published (Yin et al. 1.07B grid, data/yin2025_grid_1p07B.csv)",
    ]
    assert "data" not in (tmp_path / "hyperparams_grid_1p07B.md").read_text()  # title says it
    with pytest.raises(ValueError, match="bowl rms resid"):
        hp.with_data(table, {"ours eta_opt [90%]": "x", "Yin law eta / B": "y"})


def test_yin_detail_labels_each_row_with_its_simulation(tmp_path):
    """yin_detail.csv (every row simulated) names each row's simulation and seed; read_detail
    returns the rows the writer was given (the label is derived, not read back)."""
    yin = _paper_repro("yin")
    p2 = pd.DataFrame({"replicate": [0, 1], "quantity": ["N_opt 1e22"] * 2, "median": [1.0, 2.0]})
    p3 = pd.DataFrame({"replicate": [0], "setting": ["fixed"], "median": [3.0]})
    path = tmp_path / "yin_detail.csv"
    yin.write_detail(p2, p3, path)
    table = pd.read_csv(path)
    assert table["data"].tolist() == [
        "simulated (VideoDiTTruth, paper-like design (assumed grids), seed 1000)",
        "simulated (VideoDiTTruth, paper-like design (assumed grids), seed 1001)",
        "simulated (VideoDiTTruth, 16 cells at optimal vs one fixed (lr, batch), seed 7)",
    ]
    a, b = yin.read_detail(path)
    pd.testing.assert_frame_equal(a, p2, check_dtype=False)
    assert "data" not in b
    pd.testing.assert_frame_equal(b[p3.columns], p3, check_dtype=False)  # the union's order
    assert label_problems(path) == []
