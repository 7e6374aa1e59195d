"""The design replay's warnings: fit and design warnings recorded and named; the runs bought.

The design replay (bayeslaws/app/replay/): what a replay's fits and designs
warn about reaches the user, and the history says which runs each step bought.

1. The fits (start, update or cold refit) ran with warn=False under a blanket "ignore": a fit
   that failed the sampler checks only set sampler_ok=False. Their warnings are now recorded
   (column ``fit_warnings``), the log line says "sampler FAILED", and replay / replay_many end
   with ONE SamplerWarning naming the rows (pool, strategy, seed, budget).
2. ``choose`` ignored every warning of ``next_runs`` (DesignWarning, GuardrailWarning, a budget
   left unspent): recorded as "Category: message" (column ``design_warnings``) and named once at
   the end as a DesignWarning.
3. The drift calibration's refit SamplerWarning named no pool, strategy, seed or budget, and the
   refits' health never reached the history: columns drift_refits, drift_refits_failed,
   drift_refit_max_r_hat, drift_refit_divergences, and the rows named in the end's warning.
4. Column ``picked``: the pool row labels each step bought.

All data SIMULATED. The stubbed tests run no NUTS; one test runs a tiny real replay whose fits
and drift refits are forced to fail (a few warm-up iterations and draws)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_loss_pool

from bayeslaws.app import replay
from bayeslaws.app.replay import fits, strategies
from bayeslaws.app.replay import steps as replay_steps
from bayeslaws.design import DesignWarning, GuardrailWarning
from bayeslaws.inference.diagnostics import SamplerWarning
from bayeslaws.inference.identifiability import IdentifiabilityWarning

OLD_TAIL = ["divergences", "max_r_hat", "seconds", "min_ess_bulk", "sampler_ok"]
NEW_COLUMNS = [
    "picked",
    "fit_warnings",
    "design_warnings",
    "drift_refits",
    "drift_refits_failed",
    "drift_refit_max_r_hat",
    "drift_refit_divergences",
]
FIT_TEXT = "6 runs for law 'chinchilla' with 6 parameters: the data cannot pin them down"
GUARD_TEXT = "no candidate satisfies the ratio/size guardrails for this pick; relaxing them"
UNSPENT_TEXT = "the batch spends 1e+18 of the budget 2e+18 FLOPs (50.0%); relax them"


# ---- stubbed campaigns (no NUTS) -----------------------------------------------------------------
@pytest.fixture
def stubbed(monkeypatch):
    """Campaigns whose fit warns (as an unidentifiable fit does), whose design (the real
    ``choose``, its ``pool_units`` and ``next_runs`` stubbed) warns twice and picks the first
    candidate unit, and whose scored rows say the refits failed the sampler checks."""

    class Fit:  # fit.update warns as the fit does
        def update(self, runs, **options):
            warnings.warn(FIT_TEXT, IdentifiabilityWarning, stacklevel=2)
            return Fit()

    def fit(pool, runs, options, seed):
        warnings.warn(FIT_TEXT, IdentifiabilityWarning, stacklevel=2)
        return Fit()

    def next_runs(fit, cands, target, **options):
        warnings.warn(GUARD_TEXT, GuardrailWarning, stacklevel=2)
        warnings.warn(UNSPENT_TEXT, stacklevel=2)
        return pd.DataFrame({"unit": [cands["unit"].iloc[0]], "rank": [1]})

    def scored(pool, strategy, seed, budget, trained, fit, seconds):
        flops = float(pool.runs.loc[trained, "C"].sum())
        row = {
            "pool": pool.name, "strategy": strategy, "seed": seed, "budget": budget,
            "flops": flops, "n_runs": len(trained), "sampler_ok": budget == 0,
        }  # fmt: skip
        return row, pd.DataFrame({"strategy": [strategy], "budget": [budget]})

    monkeypatch.setattr(fits, "fit_runs", fit)  # the start fit (fit_start)
    monkeypatch.setattr(replay_steps, "fit_runs", fit)  # a cold refit (campaign_steps)
    monkeypatch.setattr(replay_steps, "_scored", scored)
    monkeypatch.setattr(strategies.design, "pool_units", lambda fit, frame: frame.assign(
        unit=[f"run {i}" for i in frame.index]))  # fmt: skip
    monkeypatch.setattr(strategies.design, "next_runs", next_runs)


def _run(run, **options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history, _ = run(tiny_loss_pool(), ("ours",), (0,), budgets=(0.5,), **options)
    return history, caught


def _of(caught, category) -> list[str]:
    return [str(w.message) for w in caught if w.category is category]


@pytest.mark.parametrize("label, refit", [("replay", "cold"), ("replay_many", "update")])
def test_fit_and_design_warnings_are_recorded_and_named_once_at_the_end(stubbed, label, refit):
    """The design's GuardrailWarning and unspent-budget warning were dropped inside choose, and
    the fits' warnings (start, cold refit, fit.update) under a blanket ignore; now each step's
    are in the history and the replay ends with one warning per kind, naming the rows, at the
    caller's line."""
    options = {"show_progress": False} if label == "replay_many" else {}
    history, caught = _run(getattr(replay, label), refit=refit, **options)
    # nothing raw; one warning per kind at the end, naming the rows
    assert not [w for w in caught if w.category in (GuardrailWarning, IdentifiabilityWarning)]
    (designed,) = _of(caught, DesignWarning)
    assert designed.startswith(f"{label}: next_runs warned at 1 of 2 history rows")
    assert "tiny (SIMULATED) ours seed 0 budget 50% (GuardrailWarning, UserWarning)" in designed
    assert f"The first: GuardrailWarning: {GUARD_TEXT}" in designed
    (fitted,) = _of(caught, UserWarning)
    assert fitted.startswith(f"{label}: the fits (besides their sampler checks) warned at 2 of 2")
    assert "ours seed 0 budget 0% (IdentifiabilityWarning); tiny (SIMULATED) ours seed 0 " in fitted
    (sampler,) = _of(caught, SamplerWarning)
    assert sampler.startswith(f"{label}: 1 of 2 history rows score a fit that failed the sampler")
    assert "tiny (SIMULATED) ours seed 0 budget 50%: max R-hat n/a" in sampler
    assert "budget 0%" not in sampler
    summaries = [w for w in caught if w.category in (DesignWarning, UserWarning, SamplerWarning)]
    assert {w.filename for w in summaries} == {__file__}
    assert list(history.columns[-len(NEW_COLUMNS) :]) == NEW_COLUMNS
    assert history.columns[-len(NEW_COLUMNS) - 1] == "sampler_ok"  # appended after the older
    start, step = history.to_dict("records")
    # what each step bought: the start design, then the design's pick (pool row labels)
    pool = tiny_loss_pool()
    rest = pool.runs.drop(index=pool.start(0))
    left = 0.5 * pool.compute - pool.runs.loc[pool.start(0), "C"].sum()
    first = rest.index[rest["C"] <= left][0]  # the stubbed design picks the first unit
    assert start["picked"] == ";".join(pool.start(0)) and step["picked"] == first
    bought = [cell.split(";") for cell in history["picked"]]
    np.testing.assert_allclose(
        np.cumsum([pool.runs.loc[b, "C"].sum() for b in bought]), history["flops"]
    )
    # the fits' warnings (start and refit) and the design's, as "Category: message"
    assert start["fit_warnings"] == step["fit_warnings"] == f"IdentifiabilityWarning: {FIT_TEXT}"
    assert start["design_warnings"] == ""
    assert replay.split_warnings(step["design_warnings"]) == [
        f"GuardrailWarning: {GUARD_TEXT}",  # its own "; " does not split it
        f"UserWarning: {UNSPENT_TEXT}",
    ]
    assert history[NEW_COLUMNS[3:]].isna().all().all()  # the pool does not calibrate the drift


def test_a_step_that_fails_shows_the_warnings_it_had_recorded(stubbed, monkeypatch):
    """No history row keeps the warnings of a step that raised: they are shown as they came."""

    def failing(fit, cands, target, **options):
        warnings.warn(GUARD_TEXT, GuardrailWarning, stacklevel=2)
        raise RuntimeError("the design failed")

    monkeypatch.setattr(strategies.design, "next_runs", failing)
    with (
        warnings.catch_warnings(record=True) as caught,
        pytest.raises(RuntimeError, match="the design failed"),
    ):
        warnings.simplefilter("always")
        replay.replay(tiny_loss_pool(), ("ours",), (0,), budgets=(0.5,))
    assert _of(caught, GuardrailWarning) == [GUARD_TEXT]


def test_split_warnings_and_describe_of_a_row_without_trouble():
    assert replay.split_warnings("") == [] and replay.split_warnings(np.nan) == []
    cell = replay.joined(["SamplerWarning: a; b", "UserWarning: c"])
    assert replay.split_warnings(cell) == ["SamplerWarning: a; b", "UserWarning: c"]
    row = {
        "pool": "p", "strategy": "random", "seed": 0, "budget": 0.05, "n_runs": 4,
        "spent": 0.05, "r2": 0.5, "error": 0.1, "coverage": 1.0, "seconds": 3.0,
        "sampler_ok": np.True_, "fit_warnings": "", "design_warnings": "",
    }  # fmt: skip
    line = replay.describe(row)
    assert line.endswith("coverage 1.00 (3 s)")  # as before: no trouble, nothing added
    assert replay.describe({**row, "sampler_ok": np.False_, "max_r_hat": 1.5}).endswith(
        "(3 s); sampler FAILED (max R-hat 1.5, min bulk ESS nan, 0 divergences)"
    )


# ---- a real replay: unconverged fits and drift refits -------------------------------------------
def tiny_pool() -> replay.Pool:
    """A SIMULATED isoFLOP pool of 15 runs (3 budgets x 5 sizes) with one held-out budget; the
    start design: its 6 cheapest runs; the drift rate calibrated after every fit."""
    from bayeslaws.posterior import splits

    train, held = splits.simulated_split(
        "correct", seed=3, n_per_budget=5, fit_budgets=(1e18, 1e19, 1e20), test_budgets=(1e21,)
    )
    pool = replay.isoflop_pool("tiny (SIMULATED)", train, held.assign(C=1e21), simulated=True)
    pool.start_size = 6
    pool.calibrate_drift = True
    return pool


def test_an_unconverged_replay_ends_with_one_sampler_warning_naming_its_rows(monkeypatch):
    """A start fit with 10 warm-up iterations and 20 draws, and drift refits with 3 and 20, fail
    their checks: the old replay said nothing of its own fit and let the calibration's refit
    warning through without saying whose it was; now one SamplerWarning names the row and both
    problems, the history keeps the refits' health, what the step bought and the fit's
    warnings, and the log line says "sampler FAILED". (The start alone: the refits' warnings
    are recorded by the same code, tested above without NUTS.)"""
    monkeypatch.setattr(fits, "DRIFT_CALIBRATION", {"chains": 2, "warmup": 3, "draws": 20})
    pool = tiny_pool()
    lines = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history, _ = replay.replay(
            pool, ("random",), (0,), budgets=(), log=lines.append,
            sampler={"chains": 2, "warmup": 10, "draws": 20},
        )  # fmt: skip
    # one SamplerWarning: the fit's and the refits' trouble, the row named in both
    (message,) = _of(caught, SamplerWarning)
    assert message.startswith("replay: 1 of 1 history rows score a fit that failed the sampler")
    fit_part, drift_part = message.split("drift rate was calibrated on scale-out refits")
    assert "tiny (SIMULATED) random seed 0 budget 0%: max R-hat" in fit_part
    assert "tiny (SIMULATED) random seed 0 budget 0%: " in drift_part
    assert "refits failed, max R-hat" in drift_part
    assert len(history) == 1
    assert list(history.columns[-len(NEW_COLUMNS) - len(OLD_TAIL) :]) == OLD_TAIL + NEW_COLUMNS
    (row,) = history.to_dict("records")
    assert not row["sampler_ok"]
    # the drift refits' health, from fit.cache["drift"]["refit_diagnostics"]
    assert 1 <= row["drift_refits_failed"] <= row["drift_refits"]
    assert row["drift_refit_max_r_hat"] > 1.01 and row["drift_refit_divergences"] >= 0
    # what the start bought: pool rows whose C adds up to the spent FLOPs
    assert row["picked"].split(";") == list(pool.start(0))
    assert pool.runs.loc[row["picked"].split(";"), "C"].sum() == pytest.approx(row["flops"])
    # the fit's own warnings, the sampler checks' and the refits' among them
    texts = replay.split_warnings(row["fit_warnings"])
    assert sum(t.startswith("SamplerWarning: ") for t in texts) == 2
    assert any('the drift rate of methods "drift"' in t for t in texts)
    assert row["design_warnings"] == ""  # no design at the start
    (line,) = lines
    assert "; sampler FAILED (max R-hat" in line and "drift refits FAILED" in line
