"""Review 11 of the benchmark scripts (benchmarks/*.py; toy tables are SIMULATED):

2. design_replay's sampler counts judge the rows written before ``sampler_ok`` (the confirmation
   pools' CSVs) from their recorded R-hat and divergences against the package's bars, and say so;
3. the committed calibration_points_selection.csv reads with pd.read_csv as read_points reads it;
4. calibration.run_part refuses a file it could not append to before fitting anything;
6. the scripts' --help gives the docstring's first paragraph, not its first line;
8. demo_timing's header line says the demo runs on the SIMULATED bundled sweep.
"""

import ast
import re
import types

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, repo_script

from bayeslaws.app import replay
from bayeslaws.inference.diagnostics import thresholds

OUT = REPO / "benchmarks" / "output"


@pytest.fixture
def dr(tmp_path, monkeypatch):
    module = repo_script("benchmarks/design_replay.py", "bench_design_replay_review11")
    monkeypatch.setattr(module, "OUT", tmp_path)
    return module


def old_history(bar):
    """Rows as the confirmation pools' CSVs hold them: no sampler_ok, no min_ess_bulk; per
    strategy, seeds 0 and 1 at budgets 0 and 0.05. ours: seed 0's start has R-hat just above
    ``bar``, seed 1 at 5% has one divergence; random: R-hat at the bar exactly (passes)."""
    rows = []
    for strategy in ("ours", "random"):
        for seed in (0, 1):
            for budget in (0.0, 0.05):
                r_hat, div = 1.001, 0
                if strategy == "ours" and (seed, budget) == (0, 0.0):
                    r_hat = bar + 0.01
                if strategy == "ours" and (seed, budget) == (1, 0.05):
                    div = 1
                if strategy == "random" and budget == 0.05:
                    r_hat = bar
                rows.append({
                    "pool": "toy", "simulated": True, "strategy": strategy, "seed": seed,
                    "budget": budget, "spent": budget, "n_runs": 10, "error": 0.1 + seed,
                    "r2": 0.5, "coverage": 1.0, "extrapolation": "gp", "divergences": div,
                    "max_r_hat": r_hat,
                })  # fmt: skip
    return pd.DataFrame(rows)


# ---- 2: rows without sampler_ok judged from their recorded figures ----
def test_sampler_counts_judge_rows_without_sampler_ok(dr):
    bar, _ = thresholds(dr.CHAINS, dr.CHAINS * dr.DRAWS)
    counts = dr.sampler_counts(old_history(bar)).set_index("strategy")
    assert counts.loc["ours", ["fits", "sampler_failed", "failed_at_start"]].tolist() == [4, 2, 1]
    assert counts.loc["random", "sampler_failed"] == 0  # R-hat at the bar passes
    assert counts["sampler_ok_missing"].tolist() == [4, 4]
    assert counts["judged"].tolist() == [4, 4]


def test_sampler_counts_judge_recorded_ess_and_keep_recorded_sampler_ok(dr):
    bar, ess_bar = thresholds(dr.CHAINS, dr.CHAINS * dr.DRAWS)
    h = old_history(bar).assign(min_ess_bulk=ess_bar + 1.0)
    h.loc[(h["strategy"] == "random") & (h["budget"] == 0), "min_ess_bulk"] = ess_bar - 1.0
    h["sampler_ok"] = np.where(h["strategy"] == "ours", True, None)  # recorded: wins
    counts = dr.sampler_counts(h).set_index("strategy")
    assert counts.loc["ours", ["sampler_failed", "sampler_ok_missing", "judged"]].tolist() == [
        0, 0, 0,
    ]  # fmt: skip
    assert counts.loc["random", ["sampler_failed", "failed_at_start", "judged"]].tolist() == [
        2, 2, 4,
    ]  # fmt: skip


def test_rows_without_any_figures_are_not_judged(dr):
    h = old_history(1.0).drop(columns="max_r_hat")
    counts = dr.sampler_counts(h)
    assert counts["sampler_failed"].sum() == 0 and counts["judged"].sum() == 0
    assert "not counted" in dr.judged_note(h)


def test_summary_says_which_rows_were_judged_and_by_which_bars(dr, tmp_path):
    bar, ess_bar = thresholds(dr.CHAINS, dr.CHAINS * dr.DRAWS)
    old_history(bar).to_csv(tmp_path / "design_replay_toy.csv", index=False)
    dr.write_summary(lambda msg: None)
    text = (tmp_path / "design_replay_summary.txt").read_text()
    assert "judged from their recorded figures (judged): toy 8 of 8" in text
    assert f"above {bar:.4g}" in text and f"thresholds({dr.CHAINS}, {dr.CHAINS * dr.DRAWS})" in text
    assert f"bar {ess_bar:.0f}, is not recorded" in text


def test_judged_settings_are_the_campaigns_own(dr):
    """CHAINS x DRAWS are what replay fits a pool without fit_options of its own with (the
    compendium pools) at design_replay's --draws default."""
    options = replay._fit_options(
        types.SimpleNamespace(fit_options={}), {"warmup": dr.DRAWS, "draws": dr.DRAWS}
    )
    assert (options["chains"], options["draws"]) == (dr.CHAINS, dr.DRAWS)
    parsed = {}
    dr.write_summary = lambda log: None  # main: parse the defaults only, fit nothing

    def capture(args, client, log):
        parsed["draws"] = args.draws

    dr.run_pools = capture
    dr.dask_client = lambda address: None
    dr.main(["--pools", "porian", "--seeds", "0"])
    assert parsed["draws"] == dr.DRAWS


def test_committed_summary_counts_are_the_scripts(dr, monkeypatch):
    """The committed design_replay_summary.txt's sampler table is what sampler_counts gives on
    the committed CSVs (the confirmation pools' rows judged from their figures)."""
    monkeypatch.setattr(dr, "OUT", OUT)  # the committed files (the fixture's is a tmp folder)
    history = dr.stored_history()
    if history is None:
        pytest.skip("no committed design replay CSVs")
    expected = dr.sampler_counts(history).to_string(index=False)
    text = (OUT / "design_replay_summary.txt").read_text()
    assert expected in text
    assert dr.judged_note(history) in text


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


# ---- 6: --help gives the first paragraph ----
def benchmark_scripts():
    return sorted(p for p in (REPO / "benchmarks").glob("*.py") if "__doc__" in p.read_text())


@pytest.mark.parametrize("path", benchmark_scripts(), ids=lambda p: p.name)
def test_no_script_cuts_its_description_at_the_first_line(path):
    source = path.read_text()
    assert not re.search(r"__doc__\.(split\(\"\\n\"\)|splitlines\(\))\[0\]", source)


def test_help_ends_at_the_first_paragraph(capsys):
    calibration = repo_script("benchmarks/calibration.py", "bench_calibration_review11_help")
    with pytest.raises(SystemExit):
        calibration.main(["--help"])
    shown = " ".join(capsys.readouterr().out.split())
    doc = ast.get_docstring(ast.parse((REPO / "benchmarks/calibration.py").read_text()))
    first = " ".join(doc.split("\n\n")[0].split())
    assert first in shown and first.endswith(".")


# ---- 8: demo_timing says the demo's data are simulated ----
def test_demo_timing_header_says_simulated(tmp_path, monkeypatch):
    timing = repo_script("benchmarks/demo_timing.py", "bench_demo_timing_review11")
    monkeypatch.setattr(timing, "run_demo", lambda cache, out: (1.0, 1000, 0))
    assert timing.main(["--out", str(tmp_path / "t.txt")]) == 0
    header = (tmp_path / "t.txt").read_text().splitlines()[0]
    assert header.startswith("# python benchmarks/demo_timing.py (SIMULATED bundled sweep); ")
    committed = (OUT / "demo_timing.txt").read_text().splitlines()[0]
    assert committed.split(";")[0] == header.split(";")[0]
