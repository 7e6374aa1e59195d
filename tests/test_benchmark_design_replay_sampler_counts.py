"""benchmarks/design_replay.py's sampler counts of rows written before sampler_ok existed.

design_replay's sampler counts judge the rows written before ``sampler_ok`` (the confirmation
pools' CSVs) from their recorded R-hat and divergences against the package's bars, and the
summary says so. Toy tables are SIMULATED.
"""

import types

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, repo_script

from bayeslaws.app.replay.fits import campaign_fit_options
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
    options = campaign_fit_options(
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
