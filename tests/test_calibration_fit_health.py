"""Fit health in backtest scores and one SamplerWarning naming troubled fits; screen="exclude"
skipped on too few runs warned about. Small fits (1 chain, <= 60 draws) or monkeypatched fits."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import repo_script

import bayeslaws as bl
from bayeslaws.inference import SamplerWarning
from bayeslaws.inference import screening as scr
from bayeslaws.inference.diagnostics import Diagnostics
from bayeslaws.inference.screening import OutlierWarning
from bayeslaws.posterior import calibration as cal

HEALTH = ["max_r_hat", "min_ess_bulk", "divergences", "diagnostics_ok", "n_flagged"]


TINY = dict(likelihood="gaussian", methods=("none",), chains=1, warmup=30, draws=30, seed=0)


def _split(seed: int):
    return cal.simulated_split(
        "correct", seed=seed, n_per_budget=5, fit_budgets=(1e18, 1e19, 1e20), test_budgets=(1e21,)
    )


def _sampler_messages(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, SamplerWarning)]


# ---- 1. fit health in the scores rows, one SamplerWarning naming the troubled fits ----
def test_backtest_scores_carry_the_fits_health_and_a_troubled_fit_warns():
    """backtest fitted with warn=False and its scores said nothing of a fit that had not
    converged (Epoch C split, 2 x 30 + 100: R-hat 2.37, 72 divergences, no warning)."""
    train, test = _split(1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores, _, fit = cal.backtest(train, test, name="sim 1", **TINY)
    assert list(scores.columns[-5:]) == HEALTH
    row = scores.iloc[0]
    diag = fit.diagnostics
    assert not diag.ok  # 30 draws: too few to judge convergence, at the least
    assert row["diagnostics_ok"] == diag.ok and row["divergences"] == diag.divergences
    assert row["min_ess_bulk"] == pytest.approx(diag.min_ess_bulk)
    assert np.isnan(row["max_r_hat"])  # one chain: no R-hat
    flagged = fit.record.data["screening"]["flagged"]
    assert row["n_flagged"] == len(flagged)
    messages = _sampler_messages(caught)
    assert len(messages) == 1, messages
    assert messages[0].startswith("backtest: 1 of 1 fits have problems")
    assert "'sim 1'" in messages[0]
    assert "too few to judge convergence" in messages[0]


def test_backtests_warn_once_naming_every_troubled_case():
    cases = [cal.BacktestCase(f"sim {seed}", *_split(seed)) for seed in (1, 2)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores, _, fits = cal.backtests(cases, **TINY)
    assert list(scores.columns[-5:]) == HEALTH
    assert (~scores["diagnostics_ok"].astype(bool)).all()
    assert scores["divergences"].tolist() == [f.diagnostics.divergences for f in fits]
    messages = _sampler_messages(caught)
    assert len(messages) == 1, messages  # one for the batch, not one per case as well
    assert messages[0].startswith("backtests: 2 of 2 fits have problems")
    assert "'sim 1'" in messages[0] and "'sim 2'" in messages[0]
    # the workers' fits did not warn in the workers either (map_tasks would summarise that)
    assert not any("warned in their workers" in str(w.message) for w in caught)


def _fake_fit(ok: bool, flagged=(), rounds=()):
    problems = [] if ok else ["R-hat > 1.1 for ['alpha']", "72 divergent transitions of 200"]
    diag = Diagnostics(2.37 if not ok else 1.0, 2.7 if not ok else 500.0, 5.6, 0 if ok else 72,
                       200, problems, n_chains=2)  # fmt: skip
    screening = {"flagged": [{"row": r, "z": 9.0} for r in flagged],
                 "rounds": [{"flagged": [{"row": r}]} for r in rounds]}  # fmt: skip
    return SimpleNamespace(diagnostics=diag, record=SimpleNamespace(data={"screening": screening}))


def test_fit_health_counts_screened_rows_and_the_warning_names_them():
    """A fit whose sampler checks pass but whose screening flagged runs (kept in the fit) is
    named too; a clean fit is not, and a batch of clean fits does not warn."""
    health = cal.fit_health(_fake_fit(True, flagged=[5, 10], rounds=[10, 7]))
    assert health == {"max_r_hat": 1.0, "min_ess_bulk": 500.0, "divergences": 0,
                      "diagnostics_ok": True, "n_flagged": 3}  # fmt: skip
    assert cal.fit_health(SimpleNamespace(diagnostics=_fake_fit(True).diagnostics,
                                          record=SimpleNamespace(data={})))["n_flagged"] == 0
    fits = [("clean", _fake_fit(True)), ("flagged", _fake_fit(True, flagged=["5", "10"])),
            ("diverged", _fake_fit(False))]  # fmt: skip
    with pytest.warns(SamplerWarning, match=r"^x: 2 of 3 fits have problems") as caught:
        cal.warn_fit_health(fits, "x")
    text = str(caught[0].message)
    assert "'flagged' (2 training run(s) flagged" in text and "rows 5, 10" in text
    assert "'diverged' (R-hat 2.370, min bulk ESS 2.7 of 200 draws, 72 divergences" in text
    assert "'clean'" not in text
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cal.warn_fit_health(fits[:1], "x")


def test_the_benchmark_scores_rows_carry_the_fits_health(tmp_path):
    """benchmarks/calibration.py: SCORE_COLUMNS ends with the health columns (appended: older
    files read as before) and score_split puts the fit's health on every row, naming a fit
    with problems in a SamplerWarning."""
    bench = repo_script("benchmarks/calibration.py", "calibration_bench_review7")
    assert bench.SCORE_COLUMNS[-5:] == HEALTH
    assert bench.SCORE_COLUMNS[:22] == [
        *("part", "dataset", "split", "method", "quantity", "n", "error", "cov50", "cov80"),
        *("cov90", "width90", "lpd", "cov50_lower", "cov50_upper", "cov80_lower", "cov80_upper"),
        *("cov90_lower", "cov90_upper", "seconds", "log_error", "cov90_bounded",
          "n_edge_bounded90"),
    ]  # fmt: skip
    train, test = _split(3)
    sampler = {"chains": 1, "warmup": 30, "draws": 30}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores, _, _ = bench.score_split("simulation", "sim correct", "seed 3", train, test, None,
                                         None, ["none"], sampler, 3, tmp_path,
                                         bench.POPULATION)  # fmt: skip
    assert set(HEALTH) <= set(scores.columns)
    assert not scores["diagnostics_ok"].any() and scores["n_flagged"].notna().all()
    messages = _sampler_messages(caught)
    assert len(messages) == 1 and "'sim correct seed 3'" in messages[0], messages


# ---- 4. screen="exclude" skipped on too few runs ----
def _seven_runs() -> pd.DataFrame:
    N = np.geomspace(1e7, 1e9, 7)
    D = 20 * N
    return pd.DataFrame({"N": N, "D": D, "loss": 1.7 + 400 / N**0.34 + 410 / D**0.28})


def test_exclude_on_too_few_runs_warns_once_with_the_reports_reason():
    """screen="exclude" on 7 runs excluded nothing, silently (the record said "skipped");
    now one OutlierWarning names the reason, in the report's words. The default ("warn") on
    the same table stays silent about the skip: small tables are common and there is nothing
    to exclude."""
    kw = dict(chains=1, warmup=30, draws=30, likelihood="gaussian", progress_bar=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = bl.fit(_seven_runs(), screen="exclude", **kw)
    skipped = fit.record.data["screening"]["skipped"]
    assert skipped.startswith("7 runs are too few")
    outlier = [str(w.message) for w in caught if issubclass(w.category, OutlierWarning)]
    assert outlier == [
        f"screening: not done ({skipped}). screen='exclude' excluded nothing: no run was "
        "screened (fit.record.data['screening']['skipped'])"
    ]
    from bayeslaws.app.report import screening_sentence

    assert outlier[0].startswith(screening_sentence(fit.record.data))  # the report's text
    for screen in ("warn", "off"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            bl.fit(_seven_runs(), screen=screen, **kw)
        assert not [w for w in caught if issubclass(w.category, OutlierWarning)], screen
    with warnings.catch_warnings(record=True) as caught:  # warn=False: silent, recorded
        warnings.simplefilter("always")
        quiet = bl.fit(_seven_runs(), screen="exclude", warn=False, **kw)
    assert not [w for w in caught if issubclass(w.category, OutlierWarning)]
    assert quiet.record.data["screening"]["skipped"] == skipped


def test_warn_skipped_only_for_exclude_and_a_skip():
    empty = np.zeros(0)
    skip = scr.Screening(scr.Screen("exclude"), [], empty, empty, [], [], "3 runs are too few")
    with pytest.warns(OutlierWarning, match=r"^screening: not done \(3 runs are too few\)\. "):
        scr.warn_skipped(skip)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scr.warn_skipped(scr.Screening(scr.Screen("warn"), [], empty, empty, [], [], "few"))
        scr.warn_skipped(scr.Screening(scr.Screen("exclude"), [1], empty, empty, [], []))
