"""The design replay's failed campaigns, bad seeds and budgets, and each pool's scoring method.

The design replay (bayeslaws/app/replay/, benchmarks/design_replay.py):

F1. run_campaign built list(campaign_steps(...)): a step that raised threw away every step the
    campaign had scored, and replay_many kept only campaigns that finished, so the benchmark's
    summary never said a campaign was missing. Now the scored steps are kept, a failure row
    (strategy, seed, the step's budget, the error's first line; column ``failure``) records the
    failure, replay_many still raises (CampaignError, a RuntimeError) after checkpointing them,
    and the summary lists the failed campaigns.
F3. Empty or negative seeds and a fractional seed of Pool.start are refused, naming the
    argument, before any fit; empty budgets (the start alone) warn, naming ``budgets``.
F4. The benchmark said every pool was scored under the design's 'drift': each pool's line now
    names its own method.
F5. Bad --budgets / --seeds are refused by argparse before any pool is loaded.

All data SIMULATED (conftest.tiny_loss_pool); the campaigns' fits and scores are stubs (no
NUTS), the failures injected."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import repo_script, tiny_loss_pool

from bayeslaws.app import replay
from bayeslaws.app.replay import fits, many
from bayeslaws.app.replay import steps as replay_steps

BUDGETS = (0.3, 0.6, 0.9)
INJECTED = "injected failure at the second step"


class StubFit:
    """A fit whose update is another stub fit (no NUTS)."""

    def update(self, runs, **options):
        return StubFit()


@pytest.fixture
def stubbed(monkeypatch):
    """Campaigns without fits (stub fit and score); ``choose`` raises at the second step of
    seed 1's campaign (when more than the start's 3 runs are trained)."""
    monkeypatch.setattr(fits, "fit_runs", lambda *args: StubFit())  # the start fit (fit_start)
    monkeypatch.setattr(fits, "calibrated", lambda pool, fit, seed: fit)  # the start's
    monkeypatch.setattr(replay_steps, "calibrated", lambda pool, fit, seed: fit)  # a refit's

    def scored(pool, strategy, seed, budget, trained, fit, seconds):
        row = {
            "pool": pool.name, "strategy": strategy, "seed": seed, "budget": budget,
            "n_runs": len(trained), "spent": 0.0, "r2": 0.5, "error": 0.1, "coverage": 1.0,
            "seconds": 0.0,
        }  # fmt: skip
        return row, pd.DataFrame({"strategy": [strategy], "seed": [seed], "budget": [budget]})

    monkeypatch.setattr(replay_steps, "_scored", scored)
    real = replay.choose

    def choose(strategy, pool, fit, trained, budget, rng, **options):
        if options.get("seed") == 1 and len(trained) > pool.start_size:
            raise RuntimeError(f"{INJECTED}\nsecond line of the message")
        return real(strategy, pool, fit, trained, budget, rng, **options)

    monkeypatch.setattr(replay_steps, "choose", choose)  # campaign_steps' lookup


def _failure(history: pd.DataFrame) -> pd.DataFrame:
    return history[history.get("failure", pd.Series(np.nan, history.index)).notna()]


# ---- F1: a failed step keeps the campaign's scored steps and is recorded ---------------------
def test_run_campaign_keeps_the_steps_scored_before_a_failure(stubbed):
    task = replay.CampaignTask(tiny_loss_pool(), "random", 1, BUDGETS)
    history, components = replay.run_campaign(task)  # does not raise
    assert history["budget"].tolist() == [0.0, 0.3, 0.6]  # start, 30%, then the failed 60%
    failed = _failure(history)
    assert failed.index.tolist() == [2]
    row = failed.iloc[0]
    assert (row["strategy"], row["seed"], row["budget"]) == ("random", 1, 0.6)
    assert row["failure"] == f"RuntimeError: {INJECTED}"  # one line
    trace = row["failure_traceback"]  # and the whole traceback, which the worker caught
    assert trace.startswith("Traceback") and "in choose" in trace and "second line" in trace
    assert np.isnan(row["n_runs"])  # scores nothing
    assert components["budget"].tolist() == [0.0, 0.3]  # the scored steps' components


def test_a_failed_start_fit_is_the_campaigns_one_failure_row(stubbed, monkeypatch):
    """The start fit runs inside the campaign's steps: its failure is a row at budget 0.0 (the
    start), with nothing scored, in run_campaign and in replay alike."""
    def fit(pool, seed, options):
        raise ValueError("the start fit failed")

    monkeypatch.setattr(fits, "fit_start", fit)  # recorded_start's lookup
    history, components = replay.run_campaign(
        replay.CampaignTask(tiny_loss_pool(), "random", 0, BUDGETS)
    )
    assert len(history) == 1 and history["budget"].tolist() == [0.0]
    assert history["failure"].tolist() == ["ValueError: the start fit failed"]
    assert components.empty
    with pytest.raises(ValueError, match="the start fit failed") as raised:
        replay.replay(tiny_loss_pool(), ("random", "ours"), (0,), budgets=BUDGETS)
    assert raised.value.history["budget"].tolist() == [0.0]  # the first strategy's start


def test_replay_many_checkpoints_the_failed_campaigns_steps_and_still_raises(stubbed):
    pool = tiny_loss_pool()
    seen, lines = [], []
    with (
        warnings.catch_warnings(),
        pytest.raises(replay.CampaignError, match="1 of 2 campaigns failed") as raised,
    ):
        warnings.simplefilter("ignore")
        replay.replay_many(
            pool, ("random",), (0, 1), budgets=BUDGETS, show_progress=False,
            checkpoint=lambda h, c: seen.append(h), log=lines.append,
        )  # fmt: skip
    text = str(raised.value)
    assert f"tiny (SIMULATED) random seed 1 budget 60%: RuntimeError: {INJECTED}" in text
    assert isinstance(raised.value, RuntimeError)
    last = seen[-1]  # the checkpoint holds both campaigns, seed 1's scored steps included
    assert len(last) == 4 + 3
    assert last.loc[last["seed"] == 1, "budget"].tolist() == [0.0, 0.3, 0.6]
    assert _failure(last)[["seed", "budget"]].values.tolist() == [[1, 0.6]]
    pd.testing.assert_frame_equal(raised.value.history, last)
    assert raised.value.components["seed"].tolist() == [0] * 4 + [1] * 2
    assert any("seed 1 budget 60%: FAILED" in line for line in lines)


def test_replay_many_records_a_task_that_failed_outside_its_steps(stubbed, monkeypatch):
    real = replay.run_campaign

    def run_campaign(task):
        if task.seed == 1:
            raise MemoryError("the worker ran out of memory")
        return real(task)

    monkeypatch.setattr(many, "run_campaign", run_campaign)  # replay_many's lookup
    with warnings.catch_warnings(), pytest.raises(replay.CampaignError) as raised:
        warnings.simplefilter("ignore")
        replay.replay_many(
            tiny_loss_pool(), ("random",), (0, 1), budgets=BUDGETS, show_progress=False,
            retries=0,
        )  # fmt: skip
    failed = _failure(raised.value.history)
    assert len(failed) == 1 and failed["seed"].tolist() == [1]
    assert np.isnan(failed["budget"].iloc[0])
    assert failed["failure"].iloc[0] == "MemoryError: the worker ran out of memory"
    assert "random seed 1 at an unknown step: MemoryError" in str(raised.value)


def test_replay_records_the_failure_and_reraises_the_error(stubbed):
    seen = []
    with warnings.catch_warnings(), pytest.raises(RuntimeError, match=INJECTED) as raised:
        warnings.simplefilter("ignore")
        replay.replay(
            tiny_loss_pool(), ("random",), (0, 1), budgets=BUDGETS,
            checkpoint=lambda h, c: seen.append(h),
        )  # fmt: skip
    history = raised.value.history
    pd.testing.assert_frame_equal(seen[-1], history)
    assert _failure(history)[["seed", "budget"]].values.tolist() == [[1, 0.6]]
    assert any("random seed 1 budget 60%" in note for note in raised.value.__notes__)


# ---- F1: the benchmark summary lists failed campaigns ----------------------------------------
@pytest.fixture
def dr(tmp_path, monkeypatch):
    module = repo_script("benchmarks/design_replay.py", "bench_design_replay_review13")
    monkeypatch.setattr(module, "OUT", tmp_path)
    return module


def stored_rows(with_failure: bool) -> pd.DataFrame:
    """Rows of a toy pool as a replay stores them: ours and random, seeds 0 and 1, budgets
    0 and 0.05; with ``with_failure``, random seed 1 failed at 5% (a failure row)."""
    rows = []
    for strategy in ("ours", "random"):
        for seed in (0, 1):
            for budget in (0.0, 0.05):
                rows.append({
                    "pool": "toy", "simulated": True, "strategy": strategy, "seed": seed,
                    "budget": budget, "spent": budget, "n_runs": 10, "error": 0.1 + seed,
                    "r2": 0.5, "coverage": 1.0, "extrapolation": "gp", "divergences": 0,
                    "max_r_hat": 1.001, "sampler_ok": True,
                })  # fmt: skip
    history = pd.DataFrame(rows)
    if with_failure:
        history = history.iloc[:-1]
        failure = {
            "pool": "toy", "simulated": True, "strategy": "random", "seed": 1, "budget": 0.05,
            "failure": "RuntimeError: the design failed",
        }  # fmt: skip
        history = pd.concat([history, pd.DataFrame([failure])], ignore_index=True)
    return history


def test_summary_lists_failed_campaigns(dr, tmp_path):
    stored_rows(True).to_csv(tmp_path / "design_replay_toy.csv", index=False)
    dr.write_summary(lambda msg: None)
    text = (tmp_path / "design_replay_summary.txt").read_text()
    assert "Failed campaigns: 1" in text
    assert "toy random seed 1 budget 5%: RuntimeError: the design failed" in text
    summary = pd.read_csv(tmp_path / "design_replay_summary.csv").set_index("strategy")
    assert summary.loc["random", "seeds"] == 1 and summary.loc["ours", "seeds"] == 2


def test_summary_reads_rows_stored_without_the_failure_column(dr, tmp_path):
    stored_rows(False).to_csv(tmp_path / "design_replay_toy.csv", index=False)
    dr.write_summary(lambda msg: None)
    text = (tmp_path / "design_replay_summary.txt").read_text()
    assert "Failed campaigns: none recorded." in text


# ---- F3: bad seeds and budgets refused, naming the argument, before any fit ------------------
@pytest.mark.parametrize(
    "seeds, word", [([], "seeds must be a non-empty list"), ([-1], "-1"), ([0.5], "0.5")]
)
def test_bad_seeds_are_refused_before_any_fit(monkeypatch, seeds, word):
    def no_fit(*args, **kwargs):
        raise AssertionError("fitted before the seeds were checked")

    monkeypatch.setattr(fits, "fit_runs", no_fit)  # the start fit (fit_start)
    pool = tiny_loss_pool()
    for run, options in ((replay.replay, {}), (replay.replay_many, {"show_progress": False})):
        with pytest.raises(ValueError, match="seeds must") as raised:
            run(pool, ("random",), seeds, budgets=(0.5,), **options)
        assert word in str(raised.value)
    assert replay.check_seeds(3) == [3] and replay.check_seeds(np.arange(2)) == [0, 1]


def test_a_fractional_start_seed_is_refused_and_empty_budgets_warn(stubbed):
    """Empty budgets score only the start: said (a BudgetWarning naming ``budgets``), not
    refused, since a start-only replay is used on purpose (test_replay_warnings)."""
    pool = tiny_loss_pool()
    with pytest.raises(ValueError, match="seed must be an integer >= 0, got 1.7"):
        pool.start(1.7)
    for run, options in ((replay.replay, {}), (replay.replay_many, {"show_progress": False})):
        with pytest.warns(replay.BudgetWarning, match="budgets is empty"):
            history, _ = run(pool, ("random",), (0,), budgets=(), **options)
        assert history["budget"].tolist() == [0.0]


# ---- F4: each pool's own scoring method -------------------------------------------------------
def test_each_pool_line_names_its_own_scoring_method(dr, monkeypatch, capsys):
    gp = tiny_loss_pool()
    gp.extrapolation = "gp"  # an isoFLOP pool's
    assert "; scored under 'gp'" in dr.pool_line("porian", gp)
    drift = tiny_loss_pool()
    assert f"; scored under {drift.report_method!r} (and 'gp' beside it)" in dr.pool_line(
        "epoch", drift
    )
    monkeypatch.setattr(dr, "run_pools", lambda args, client, log: [])
    monkeypatch.setattr(dr, "write_summary", lambda log: None)
    monkeypatch.setattr(dr, "dask_client", lambda address: None)
    dr.main(["--pools", "porian", "--seeds", "0"])
    assert "scored under the design's" not in capsys.readouterr().err


# ---- F5: bad --budgets / --seeds refused before any pool is loaded ----------------------------
@pytest.mark.parametrize(
    "argv, word",
    [
        (["--budgets", "-0.1"], "--budgets"),
        (["--budgets", "0"], "--budgets"),
        (["--budgets", "0.05", "0.01"], "--budgets"),
        (["--seeds", "-1"], "--seeds"),
    ],
)
def test_bad_budgets_and_seeds_are_refused_before_any_pool(dr, monkeypatch, capsys, argv, word):
    def no_pool(name, log):
        raise AssertionError("loaded a pool before the arguments were checked")

    monkeypatch.setattr(dr, "load_pool", no_pool)
    monkeypatch.setattr(dr, "dask_client", lambda address: None)
    monkeypatch.setattr(dr, "write_summary", lambda log: None)
    with pytest.raises(SystemExit) as raised:
        dr.main(["--pools", "porian", *argv])
    assert raised.value.code == 2  # argparse's usage error, not a traceback
    assert word in capsys.readouterr().err
