"""Fit.save never overwrites a file that is not a saved fit, and writes normal permissions;
outlier screening names only runs that are in the fit, and says consistently what it did."""

from __future__ import annotations

import os
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import TRUTH, chinchilla_design

import bayeslaws as bl
from bayeslaws.inference.screening import (
    OutlierWarning,
    Screen,
    Screening,
    screen_fit,
    warn_flagged,
)
from bayeslaws.runs import PlausibilityWarning, simulate

SMALL = {"chains": 1, "warmup": 100, "draws": 300, "seed": 0, "likelihood": "gaussian"}


def runs_with_outlier(row: int = 10, factor: float = 1.3):
    N, D = chinchilla_design()
    df = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=1)
    df.loc[row, "loss"] *= factor
    return bl.load_runs(df)


@pytest.fixture(scope="module")
def small_fit(simulated_runs):
    return bl.fit(simulated_runs, warn=False, screen="off", **SMALL)


def test_save_refuses_to_overwrite_a_csv(small_fit, tmp_path):
    target = tmp_path / "runs.csv"
    content = b"N,D,loss\n1e8,2e9,3.1\n2e8,4e9,2.9\n"
    target.write_bytes(content)
    with pytest.raises(FileExistsError, match="not a saved fit") as err:
        small_fit.save(target)
    assert "runs.nc" in str(err.value)  # another path is suggested
    assert target.read_bytes() == content
    assert [p.name for p in tmp_path.iterdir()] == ["runs.csv"]  # no temporary file left


def test_save_overwrites_a_saved_fit(small_fit, tmp_path):
    target = tmp_path / "fit.nc"
    small_fit.save(target)
    first = target.stat().st_mtime_ns
    small_fit.save(target)
    assert target.stat().st_mtime_ns >= first
    assert bl.load_fit(target).n_runs == small_fit.n_runs


def test_saved_fit_has_the_permissions_of_a_new_file(small_fit, tmp_path):
    old = os.umask(0o027)
    try:
        path = small_fit.save(tmp_path / "fit.nc")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o666 & ~0o027


def test_screening_never_names_a_row_excluded_before_the_fit():
    runs = runs_with_outlier(row=10)
    kept = runs.exclude(runs.df.index == 9, "mis-typed")
    fit = bl.fit(kept, warn=False, **SMALL)
    assert [f["row"] for f in fit.record.data["screening"]["flagged"]] == ["10"]
    # screening the fit after the fact: the stored training runs keep the user's row labels
    # (position 9 is the outlier at row 10 once row 9 is excluded), in memory and once saved
    again = screen_fit(fit)
    assert 9 not in again.rows and again.flagged == [10]
    assert list(fit.training_runs().df.index) == [i for i in range(30) if i != 9]


def test_the_fitted_runs_are_not_warned_about_a_second_time():
    """A plausibility warning is given once, when the table is loaded: fit.training_runs()
    (read by the GP, drift, plans and reports) re-reads the runs without repeating it."""
    N, D = chinchilla_design()
    df = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=1)
    df.loc[3, "D"] = df.loc[3, "N"] * 0.005  # a row at 0.005 tokens per parameter
    df.loc[3, "loss"] = 6.0
    df = df.drop(columns=[c for c in ("C",) if c in df])  # C follows from the new D
    with pytest.warns(PlausibilityWarning, match="tokens per parameter D/N of 1 run"):
        runs = bl.load_runs(df)
    fit = bl.fit(runs, warn=False, screen="off", **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlausibilityWarning)
        assert len(fit.training_runs().df) == 30


def test_a_fit_stored_without_row_labels_names_runs_by_position():
    """Fits saved before the labels were stored: after an exclusion, positions are not the
    user's rows, so screening names runs by their place in the fit, never by a label."""
    runs = runs_with_outlier(row=10)
    fit = bl.fit(runs.exclude(runs.df.index == 9, "mis-typed"), warn=False, **SMALL)
    del fit.record.training_runs["row"]
    assert screen_fit(fit).flagged == ["fitted run 9"]


def test_screen_exclude_reports_the_excluded_rows_once():
    runs = runs_with_outlier(row=9)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = bl.fit(runs, screen="exclude", **SMALL)
    messages = [str(w.message) for w in caught if issubclass(w.category, OutlierWarning)]
    assert len(messages) == 1, messages
    assert "rows 9 " in messages[0] and "were excluded" in messages[0]
    assert "kept" not in messages[0]
    assert fit.record.data["screening"]["excluded"] == ["9"]
    assert fit.n_runs == 29


def test_runs_flagged_after_the_exclusion_are_not_called_the_excluded_ones():
    result = Screening(
        Screen("exclude"), [4, 5], np.array([9.0, -9.5]), np.array([1.1, 0.9]), [5, 4], [0.01]
    )
    runs_df = runs_with_outlier(row=9).df
    with pytest.warns(OutlierWarning) as caught:
        warn_flagged(result, runs_df, "kept")
    message = str(caught[0].message)
    assert "excluded and the law refitted" in message
    assert "other run(s)" in message and "were not excluded" in message
    assert "They are kept" not in message


def test_a_student_t_fit_flags_gross_outliers_its_heavy_tail_would_hide():
    """The scale's floor was a quarter of the predictive draws' plain sd: with an outlier the
    fitted nu falls to about 1 (no finite variance), a few extreme draws blew the floor up,
    and a run 1.5x the law (tens of fitted sigmas) went unflagged. The floor is now robust."""
    N, D = (a.ravel() for a in np.meshgrid(np.geomspace(1e7, 1e9, 5), np.geomspace(2e8, 2e10, 5)))
    rng = np.random.default_rng(0)
    loss = (1.7 + 400 / N**0.34 + 410 / D**0.28) * np.exp(rng.normal(0, 0.01, N.size))
    loss[7] *= 1.8
    loss[13] *= 1.5
    df = pd.DataFrame({"N": N, "D": D, "loss": loss}, index=[f"run{i}" for i in range(25)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bl.fit(df, likelihood="student_t", chains=1, warmup=200, draws=200, seed=0)
    flagged = [f["row"] for f in fit.record.data["screening"]["flagged"]]
    assert set(flagged) == {"run7", "run13"}, flagged


def test_screen_exclude_keeps_the_fit_when_the_runs_left_cannot_be_fitted(monkeypatch):
    """When the flagged runs are a whole level (here every run at the larger D), the refit
    without them raised RunTableError and the first fit was lost: now it is returned, the rows
    kept, with a warning and a record that says why."""
    from bayeslaws.inference import nuts
    from bayeslaws.inference.screening import OutlierWarning

    N, D = (a.ravel() for a in np.meshgrid(np.geomspace(1e7, 1e9, 4), [2e9, 2e10]))
    df = pd.DataFrame({"N": N, "D": D, "loss": 1.7 + 400 / N**0.34 + 410 / D**0.28})
    real = nuts.screen_runs

    def level_flagged(law, prepared, predicted, rule):
        out = real(law, prepared, predicted, rule)
        level = prepared.runs.df.index[prepared.runs.df["D"] == 2e10].tolist()
        return replace(out, flagged=level) if len(prepared.runs.df) == 8 else out

    monkeypatch.setattr(nuts, "screen_runs", level_flagged)
    with pytest.warns(OutlierWarning, match="are kept, since without them"):
        fit = bl.fit(df, chains=1, warmup=50, draws=50, screen="exclude", likelihood="gaussian")
    assert fit.n_runs == 8
    assert fit.record.data["screening"]["not_excluded"].startswith("not excluded")


def test_a_fit_file_damaged_anywhere_is_refused_with_one_clear_error(small_fit, tmp_path):
    """One byte flipped at 25 places through a saved fit: each load succeeds unchanged (the
    byte was unused) or raises IncompatibleFitFile naming the file. The arrays are read lazily,
    so a damaged data chunk raised a bare OSError at the checksum, outside the file checks."""
    from bayeslaws.inference.record import IncompatibleFitFile

    good = tmp_path / "good.nc"
    small_fit.save(good)
    data = good.read_bytes()
    for k, offset in enumerate(np.linspace(len(data) // 10, len(data) - 1, 25).astype(int)):
        bad = tmp_path / f"bad{k}.nc"
        bad.write_bytes(data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1 :])
        try:
            loaded = bl.load_fit(bad)
        except IncompatibleFitFile as err:
            assert str(bad) in str(err)
        else:
            assert loaded.record.to_json() == small_fit.record.to_json()


def test_update_refuses_runs_it_already_has(small_fit):
    """Passing the whole table again (old runs plus new) counted every run twice: every
    posterior sd shrank by ~0.6-0.7."""
    again = small_fit.training_runs().df[["N", "D", "loss"]]
    with pytest.raises(ValueError, match=r"new_runs repeat \d+ run\(s\) this fit already has"):
        small_fit.update(again, warn=False)


def test_loading_a_fit_made_with_other_law_code_warns(small_fit, tmp_path, monkeypatch):
    """A fit records the digest of its law's source files; loading it where they differ warns
    (it loaded silently and predicted with the new code and the old parameters)."""
    from bayeslaws.inference import exported
    from bayeslaws.inference.fit import LawChangedWarning

    path = tmp_path / "fit.nc"
    small_fit.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LawChangedWarning)
        bl.load_fit(path)  # the same code: silent
    monkeypatch.setattr(exported, "law_source_digest", lambda law: "0" * 16)
    with pytest.warns(LawChangedWarning, match="other code of law"):
        bl.load_fit(path)


def test_loading_a_fit_after_an_upgrade_warns_once(small_fit, tmp_path, monkeypatch):
    """After an upgrade both the law's files and its class differ from the fit's: the load
    said so twice (the class check at fit.law, then the files check); once now, and the
    class check alone still warns when only the class differs."""
    import sys

    from bayeslaws.inference import exported
    from bayeslaws.inference.fit import LawChangedWarning

    fit_module = sys.modules["bayeslaws.inference.fit"]  # the package's fit() hides the module

    path = tmp_path / "fit.nc"
    small_fit.save(path)
    monkeypatch.setattr(fit_module, "code_digest", lambda cls: "1" * 16)  # the class differs
    with pytest.warns(LawChangedWarning) as only_class:
        bl.load_fit(path)
    assert len(only_class) == 1 and "another class than" in str(only_class[0].message)
    assert only_class[0].filename == __file__  # points at the load, not inside the package
    monkeypatch.setattr(exported, "law_source_digest", lambda law: "0" * 16)  # and its files
    with pytest.warns(LawChangedWarning) as upgraded:
        bl.load_fit(path)
    assert [str(w.message).count("other code of law") for w in upgraded] == [1]


def test_a_loaded_fit_without_its_user_compute_model_says_what_needs_it(simulated_runs, tmp_path):
    """The message said '... before predicting from C' also to a user predicting from N and D."""
    runs = bl.load_runs(simulated_runs.df[["N", "D", "loss"]], compute_model=bl.compute.custom(
        lambda n: 6.0 * n))
    fit = bl.fit(runs, warn=False, screen="off", **SMALL)
    # the save says so at once (it was silent: the first answer from the file found out)
    with pytest.warns(UserWarning, match=r"compute model .* is a user callable, not saved"):
        fit.save(tmp_path / "fit.nc")
    loaded = bl.load_fit(tmp_path / "fit.nc")
    with pytest.raises(ValueError, match=r"C = f\(N, D\) is needed here .*whether given N and D"):
        bl.predict(loaded, N=[1e9], D=[2e10])


def test_loading_a_fit_with_sampler_trouble_says_so(small_fit, tmp_path):
    """A saved fit whose diagnostics found trouble warns when loaded (predict and allocate from
    the file were silent: only the fit itself had warned, in another process perhaps)."""
    from bayeslaws.inference import SamplerWarning
    from bayeslaws.inference.fit import Fit

    healthy = tmp_path / "healthy.nc"
    small_fit.save(healthy)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SamplerWarning)
        bl.load_fit(healthy)  # no trouble: silent
    problems = ["R-hat > 1.5 for ['alpha']", "ess_bulk < 10 for ['beta']"]
    diagnostics = {**small_fit.record.diagnostics, "problems": problems}
    troubled = Fit(small_fit.idata, replace(small_fit.record, diagnostics=diagnostics))
    path = tmp_path / "troubled.nc"
    troubled.save(path)
    with pytest.warns(SamplerWarning, match=r"sampler trouble .*R-hat > 1\.5 for \['alpha'\]"):
        bl.load_fit(path)
