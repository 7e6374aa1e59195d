"""benchmarks/design_replay.py's summary checks: a pool whose start rows (budget 0, the same
fit for every strategy) disagree across strategies is refused, naming pool, seed, strategies and
values, before anything is written (the stored Porian and Epoch rows mixed two code versions),
and the sampler failures are counted per pool and strategy (toy history tables, SIMULATED)."""

import pandas as pd
import pytest
from conftest import repo_script


@pytest.fixture
def dr(tmp_path, monkeypatch):
    module = repo_script("benchmarks/design_replay.py", "bench_design_replay_checks")
    monkeypatch.setattr(module, "OUT", tmp_path)
    return module


def history(start_error_random=0.25, sampler=True):
    rows = []
    for strategy in ("ours", "random", "grid"):
        for seed in (0, 1):
            for i, budget in enumerate((0.0, 0.01, 0.05)):
                error = 0.25 + seed if budget == 0 else 0.1 * (i + 1)
                if strategy == "random" and budget == 0 and seed == 1:
                    error = start_error_random + seed
                row = {
                    "pool": "toy", "simulated": True, "strategy": strategy, "seed": seed,
                    "budget": budget, "spent": budget, "n_runs": 10 + i, "error": error,
                    "r2": 0.5, "coverage": 1.0, "divergences": 0, "extrapolation": "gp",
                }
                if sampler:
                    # ours fails at the start of seed 0 and at 5% of seed 1
                    row["sampler_ok"] = not (
                        strategy == "ours" and ((seed, budget) in ((0, 0.0), (1, 0.05)))
                    )
                rows.append(row)
    return pd.DataFrame(rows)


def write(tmp_path, frame):
    frame.to_csv(tmp_path / "design_replay_toy.csv", index=False)


def test_summary_refuses_disagreeing_starts(dr, tmp_path):
    write(tmp_path, history(start_error_random=0.135))
    with pytest.raises(ValueError) as info:
        dr.write_summary(lambda msg: None)
    text = str(info.value)
    assert "pool 'toy' seed 1: start error differs" in text
    assert "ours 1.25" in text and "random 1.135" in text and "grid 1.25" in text
    assert "seed 0" not in text  # seed 0's starts agree
    assert not (tmp_path / "design_replay_summary.txt").exists()  # nothing written


def test_summary_reports_sampler_failures_and_start_check(dr, tmp_path):
    write(tmp_path, history())
    dr.write_summary(lambda msg: None)
    text = (tmp_path / "design_replay_summary.txt").read_text()
    assert "agree across strategies for all 2 pool x seed starts" in text
    counts = dr.sampler_counts(history()).set_index("strategy")
    assert counts.loc["ours", ["fits", "sampler_failed", "failed_at_start"]].tolist() == [6, 2, 1]
    assert counts.loc["random", "sampler_failed"] == 0
    assert counts["sampler_ok_missing"].sum() == 0
    assert "sampler_failed" in text and "sampler_ok_missing" in text


def test_sampler_counts_missing_column_and_csv_roundtrip(dr, tmp_path):
    old = history(sampler=False)
    counts = dr.sampler_counts(old).set_index("strategy")
    assert counts["sampler_ok_missing"].tolist() == [6, 6, 6]
    assert counts["sampler_failed"].sum() == 0
    # a CSV mixing rows with and without sampler_ok (NaN) reads back as objects
    mixed = pd.concat([history().query("strategy == 'ours'"), old.query("strategy != 'ours'")])
    mixed.to_csv(tmp_path / "m.csv", index=False)
    counts = dr.sampler_counts(pd.read_csv(tmp_path / "m.csv")).set_index("strategy")
    assert counts.loc["ours", "sampler_failed"] == 2
    assert counts.loc["random", "sampler_ok_missing"] == 6
