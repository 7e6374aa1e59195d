"""Benchmark outputs say how they were made and keep what a run does not redo (review 15).

1. benchmarks/make_readme_figure.py writes its numbers beside ``--out`` (the committed
   benchmarks/output/tour_numbers.txt only for the default figure), the first line the command,
   date (UTC) and commit.
2. benchmarks/design_replay.py's text files record the command actually run (not a fixed one),
   the date and the commit.
3. A design_replay run keeps every stored row it does not redo: other strategies, seeds or
   budgets (a rerun at 1-10% kept seed 0's 25% rows out).
4. tests/test_faults.py's classify() judges a stall on CPU time, not wall time.

Every table here is hand-made (SIMULATED); nothing is sampled.
"""

from __future__ import annotations

import re
import shlex
import sys
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, repo_script

from bayeslaws.inference import progress

HEADER = r"^# python benchmarks/{script} {args}; \d{{4}}-\d\d-\d\d \d\d:\d\d UTC; commit \S+"


def header_pattern(script: str, args: list[str]) -> str:
    """The regex of a written file's first line: the script, ``args`` as given, date, commit."""
    return HEADER.format(script=re.escape(script), args=re.escape(shlex.join(args)))


# ---- 1. the tour figure's numbers file -----------------------------------------------------------
class _FakeFit:
    n_runs = 96

    def __init__(self, law):
        self.law = law

    def __str__(self):
        return f"<Fit {self.law}: max R-hat 1.001, 0 divergences>"


def _fake_package():
    """Stand-ins for the fits, allocations and figure make_readme_figure.main draws (no NUTS)."""
    allocation = pd.DataFrame({"N_opt": [2e9], "N_opt_lower": [1e9], "N_opt_upper": [3e9]})

    def save(fig, out, dpi):
        Path(out).write_bytes(b"png")
        return Path(out)

    bl = types.SimpleNamespace(
        load_bundled=lambda: "runs",
        fit=lambda runs, law, **options: _FakeFit(law),
        optimal_allocation=lambda fit, C: allocation,
        fixed_vs_optimal=lambda fit, C: pd.DataFrame({"verdict": ["settled"]}),
        runs=types.SimpleNamespace(best_run_per_cell=lambda runs: runs),
    )
    plot = types.SimpleNamespace(n_opt=lambda *args, **kwargs: "figure", save=save)
    return bl, plot


@pytest.fixture
def figure_script(tmp_path, monkeypatch):
    module = repo_script("benchmarks/make_readme_figure.py", "bench_make_readme_figure_review15")
    bl, plot = _fake_package()
    monkeypatch.setattr(module, "bl", bl)
    monkeypatch.setattr(module, "plot", plot)
    # the committed numbers file's stand-in: a quick look must not write it
    monkeypatch.setattr(module, "NUMBERS", tmp_path / "committed" / "tour_numbers.txt")
    module.NUMBERS.parent.mkdir()
    return module


def test_a_quick_look_writes_its_numbers_beside_its_figure(figure_script, tmp_path):
    args = ["--out", str(tmp_path / "look.png"), "--draws", "20"]
    figure_script.main(args)
    assert not figure_script.NUMBERS.exists(), "a quick look overwrote the committed numbers"
    numbers = tmp_path / "look_numbers.txt"
    assert numbers.is_file()
    lines = numbers.read_text().splitlines()
    assert re.match(header_pattern("make_readme_figure.py", args), lines[0]), lines[0]
    assert lines[1].startswith("<Fit sweep")  # the numbers follow the header


def test_the_default_figure_keeps_the_committed_numbers_path(figure_script, tmp_path):
    committed = REPO / "benchmarks" / "output" / "tour_numbers.txt"
    fresh = repo_script("benchmarks/make_readme_figure.py", "bench_make_readme_figure_review15b")
    assert fresh.numbers_file(fresh.FIGURE) == committed
    assert fresh.numbers_file(REPO / "docs" / "tour.png") == committed
    assert fresh.numbers_file(tmp_path / "x.png", tmp_path / "n.txt") == tmp_path / "n.txt"
    figure_script.main(["--numbers", str(tmp_path / "n.txt"), "--out", str(tmp_path / "x.png")])
    assert (tmp_path / "n.txt").read_text().startswith("# python benchmarks/make_readme_figure")


# ---- 2. design_replay's headers ------------------------------------------------------------------
@pytest.fixture
def dr(tmp_path, monkeypatch):
    module = repo_script("benchmarks/design_replay.py", "bench_design_replay_review15")
    monkeypatch.setattr(module, "OUT", tmp_path)
    monkeypatch.setattr(module, "TRUTH_FILE", tmp_path / "design_replay_steplaw_truth.csv")
    return module


@pytest.mark.parametrize(
    ("flag", "written"),
    [
        ("--all-data", "design_replay_all_data.txt"),
        ("--timing", "design_replay_timing.txt"),
        ("--diagnose", "design_replay_diagnosis.txt"),
    ],
)
def test_design_replay_headers_record_the_command_run(dr, tmp_path, flag, written):
    """A simulated pool is not among those these modes run: only the header is written."""
    args = [flag, "--pools", "simulated_marin", "--draws", "50", "--out", str(tmp_path)]
    dr.main(args)
    first = (tmp_path / written).read_text().splitlines()[0]
    assert re.match(header_pattern("design_replay.py", args), first), first
    assert first.endswith("at start)")  # the load average, as before


def _history(strategies=("ours", "random"), seeds=(0, 1), budgets=(0.0, 0.01, 0.05, 0.1, 0.25),
             tag="old") -> pd.DataFrame:  # fmt: skip
    """A pool's stored history (or component) rows, hand-made: one per strategy, seed, budget."""
    return pd.DataFrame(
        [
            {"pool": "toy", "strategy": s, "seed": seed, "budget": b, "run": tag, "error": 0.1}
            for s in strategies
            for seed in seeds
            for b in budgets
        ]
    )


def test_summary_header_records_the_command_run(dr, tmp_path):
    rows = _history(tag="x").assign(
        simulated=True, spent=lambda f: f["budget"], n_runs=10, r2=0.5, coverage=1.0,
        divergences=0, extrapolation="gp", sampler_ok=True,
    )  # fmt: skip
    rows["error"] = 0.1 + rows["seed"]  # the start rows agree across strategies
    rows.to_csv(tmp_path / "design_replay_toy.csv", index=False)
    args = ["--summary-only", "--out", str(tmp_path)]
    dr.main(args)
    first = (tmp_path / "design_replay_summary.txt").read_text().splitlines()[0]
    assert re.match(header_pattern("design_replay.py", args) + "$", first), first


# ---- 3. a rerun keeps the rows it does not redo --------------------------------------------------
def test_redone_rows_are_those_of_the_run_strategies_seeds_and_budgets(dr):
    stored = _history(strategies=("ours", "random", "grid"))
    extra = pd.DataFrame(  # a failure outside the steps (NaN budget); 10% summed in floats
        {"pool": "toy", "strategy": "ours", "seed": 0, "budget": [np.nan, 0.01 + 0.09],
         "run": "old", "error": np.nan}
    )  # fmt: skip
    assert extra["budget"].iloc[1] != 0.1
    rows = pd.concat([stored, extra], ignore_index=True)
    redo = dr.redone(rows, ["ours", "random"], [0], [0.01, 0.05, 0.10])
    run = rows["strategy"].isin(["ours", "random"]) & (rows["seed"] == 0)
    # the run's strategies and seed at the start, 1%, 5% and 10% (and the two extra rows)
    assert redo[run & (rows["budget"] < 0.2)].all() and redo[run & rows["budget"].isna()].all()
    assert not redo[~run].any()  # other seeds, and grid (not run), stay
    assert not redo[run & (rows["budget"] == 0.25)].any()  # seed 0's 25% rows stay
    assert redo.sum() == 2 * 4 + 2


def test_a_rerun_at_fewer_budgets_keeps_the_stored_rows_of_the_others(dr, tmp_path, monkeypatch):
    """README's example (--pools steplaw --seeds 0 --budgets 0.01 0.05 0.10) on a stored pool:
    seed 0's rows at 0-10% are replaced, its 25% rows and seed 1's are kept (both files)."""
    for suffix in ("", "_components"):
        _history().to_csv(tmp_path / f"design_replay_toy{suffix}.csv", index=False)
    args = types.SimpleNamespace(
        pools=["toy"], strategies=["ours", "random"], seeds=[0], budgets=[0.01, 0.05, 0.10],
        draws=10, refit="update", workers=None,
    )  # fmt: skip

    def replay_many(pool, strategies, seeds, *, budgets, checkpoint, **options):
        new = _history(strategies, seeds, (0.0, *budgets), tag="new")
        checkpoint(new, new.copy())

    monkeypatch.setattr(dr, "load_pool", lambda name, log: types.SimpleNamespace(name=name))
    monkeypatch.setattr(dr, "pool_line", lambda name, pool: name)
    monkeypatch.setattr(dr, "strategies_for", lambda pool, wanted: list(wanted))
    monkeypatch.setattr(dr.replay, "replay_many", replay_many)
    assert dr.run_pools(args, None, lambda msg: None) == []
    for suffix in ("", "_components"):
        rows = pd.read_csv(tmp_path / f"design_replay_toy{suffix}.csv")
        assert len(rows) == len(_history()), suffix  # nothing lost, nothing twice
        assert not rows.duplicated(["strategy", "seed", "budget"]).any()
        seed0 = rows[rows["seed"] == 0].set_index(["strategy", "budget"])["run"]
        for strategy in ("ours", "random"):
            assert seed0[(strategy, 0.25)] == "old", f"{suffix}: seed 0's 25% row dropped"
            assert (seed0[strategy].drop(0.25) == "new").all()
        assert (rows.loc[rows["seed"] == 1, "run"] == "old").all()


# ---- 4. the fault suite's stall check is on CPU time ---------------------------------------------
@pytest.fixture
def suite(monkeypatch):
    module = repo_script("tests/test_faults.py", "faults_suite_review15")
    monkeypatch.setattr(module, "STALL_S", 0.3)  # the bar, scaled down for a quick test
    return module


def _burn(cpu_seconds: float):
    def act(ctx):
        t0 = time.process_time()
        while time.process_time() - t0 < cpu_seconds:
            pass
        return "done"

    return act


def test_waiting_is_not_a_stall(suite):
    """A case that waits (a loaded machine, a sleep) uses no CPU: not a stall."""
    idle = suite.Case("idle", lambda ctx: time.sleep(3 * suite.STALL_S), "ok")
    outcome = suite.classify(idle, {})
    assert outcome.result == "ok", f"{outcome.result}: {outcome.detail}"


def test_silent_work_is_a_stall_and_a_message_clears_it(suite):
    outcome = suite.classify(suite.Case("busy", _burn(2 * suite.STALL_S), "ok"), {})
    assert outcome.result == "stall without a message"
    assert "CPU seconds" in outcome.detail

    def said(ctx):
        print(f"{progress.PREFIX}working ...", file=sys.stderr)
        return _burn(2 * suite.STALL_S)(ctx)

    assert suite.classify(suite.Case("busy, said", said, "ok"), {}).result == "ok"
