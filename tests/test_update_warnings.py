"""``fit.update``: plausibility warnings about the new runs only (the fitted runs were checked
when they were loaded), accepted rows carried on, and a refit after screening that warms up on
its own (SIMULATED Chinchilla runs)."""

from __future__ import annotations

import warnings

import numpy as np
import numpyro
import pandas as pd
import pytest
from conftest import TRUTH, chinchilla_design

import bayeslaws as bl
from bayeslaws.runs import PlausibilityWarning, load_runs, simulate

TINY = {"chains": 1, "warmup": 150, "draws": 150}
ACCEPTED, OTHER = (5, 11), 17  # rows at 0.005 tokens per parameter: vetted, and not


def _runs(N, D, seed: int) -> pd.DataFrame:
    params = {**TRUTH, "N": np.asarray(N, float), "D": np.asarray(D, float)}
    return simulate.simulate_chinchilla_runs(params, noise_sd=0.01, seed=seed)


def few_tokens_runs() -> pd.DataFrame:
    """30 runs, three of them (rows 5, 11, 17: 6e9 parameters) at 0.005 tokens per parameter,
    below the plausible 0.01 (their losses simulated at those tokens)."""
    N, D = chinchilla_design()
    for row in ACCEPTED + (OTHER,):
        D[row] = 0.005 * N[row]
    return _runs(N, D, seed=1)


@pytest.fixture(scope="module")
def warned_fit():
    """A fit of few_tokens_runs(), loaded as they are: warned about rows 5, 11 and 17."""
    with pytest.warns(PlausibilityWarning, match=r"at rows 5, 11, 17 \("):
        runs = load_runs(few_tokens_runs())
    return bl.fit(runs, likelihood="gaussian", seed=0, warn=False, screen="off", **TINY)


@pytest.fixture(scope="module")
def accepted_fit():
    """A fit of few_tokens_runs() with rows 5 and 11 accepted (row 17 warned about)."""
    with pytest.warns(PlausibilityWarning, match=rf"at rows {OTHER} \("):
        runs = load_runs(few_tokens_runs(), accepted_rows=list(ACCEPTED))
    return bl.fit(runs, likelihood="gaussian", seed=0, warn=False, screen="off", **TINY)


def _update(fit, new_runs, **options):
    """The updated fit and the plausibility warnings the update gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        updated = fit.update(new_runs, warn=False, **options)
    found = [str(w.message) for w in caught if issubclass(w.category, PlausibilityWarning)]
    return updated, found


def test_an_update_does_not_warn_again_about_the_fitted_runs(warned_fit):
    """The user was warned about rows 5, 11 and 17 when they were loaded: not at each update."""
    updated, found = _update(warned_fit, _runs([8e9, 1e10], [1.5e11, 2e11], seed=2))
    assert found == []
    assert updated.n_runs == 32


def test_an_update_does_not_warn_about_accepted_rows(accepted_fit):
    updated, found = _update(accepted_fit, _runs([8e9, 1e10], [1.5e11, 2e11], seed=2))
    assert found == []
    assert updated.n_runs == 32


def test_an_implausible_new_run_is_warned_about_once(warned_fit):
    new = _runs([8e9, 1e10], [0.004 * 8e9, 2e11], seed=3)  # the first at 0.004 D/N
    _, found = _update(warned_fit, new)
    assert len(found) == 1, found
    assert "D/N of 1 run(s)" in found[0] and "at rows 0 (row labels of new_runs)" in found[0]


def test_an_update_carries_the_accepted_rows_on(accepted_fit):
    """The fit's accepted rows, and those of new runs given as a RunTable (by their labels in
    the combined table), are the updated fit's."""
    new = load_runs(_runs([8e9, 1e10], [0.004 * 8e9, 2e11], seed=3), accepted_rows=[0])
    updated, found = _update(accepted_fit, new)
    assert found == []
    assert updated.record.data["accepted_rows"] == ["5", "11", "30"]
    assert updated.training_runs().accepted_rows == (5, 11, 30)


def test_the_refit_after_screening_in_an_update_warms_up_on_its_own(monkeypatch):
    """screen='exclude' refits the runs left after screening; padded to the same shapes, that
    refit shares the kernel the update warmed up with the excluded run in it, and started from
    that state with no warm-up of its own (a wrong posterior: sigma 3x too wide)."""
    N, D = np.meshgrid(np.geomspace(2e7, 2e9, 6), np.geomspace(4e8, 4e10, 4))
    fit = bl.fit(
        _runs(N.ravel(), D.ravel(), seed=1),
        likelihood="gaussian",
        seed=0,
        warn=False,
        screen={"action": "exclude"},
        **TINY,
    )
    new = _runs([3e9, 4e9], [6e10, 8e10], seed=2)
    new.loc[0, "loss"] *= 1.6  # far off the law: screened out
    calls = []
    run = numpyro.infer.MCMC.run

    def spy(self, *args, **kwargs):
        calls.append((int(np.sum(kwargs["mask"])), self.post_warmup_state is not None))
        return run(self, *args, **kwargs)

    monkeypatch.setattr(numpyro.infer.MCMC, "run", spy)
    updated = fit.update(new, warmup=100, warn=False)
    monkeypatch.undo()
    assert updated.record.data["screening"]["excluded"] == ["24"]
    # the warm-up of the 26 runs, their warm refit, then the refit of the 25 left: cold
    assert calls == [(26, False), (26, True), (25, False)]
    assert "the refit of the other runs started cold" in updated.record.notes[-1]
    assert float(updated.draws(["sigma"])["sigma"].mean()) < 0.015  # a cold fit: 0.007


def test_a_lone_implausible_new_run_is_named_beside_the_fitted_runs(warned_fit):
    """One new run at 0.004 tokens per parameter: named by its row in new_runs against the
    whole table's median, with no whole-column 'median ... other units' message (the medians
    of the new runs alone read that one run as the median and blamed the units)."""
    from bayeslaws.inference.update import combined_runs

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        combined_runs(warned_fit, _runs([8e9], [0.004 * 8e9], seed=4))
    found = [str(w.message) for w in caught if issubclass(w.category, PlausibilityWarning)]
    assert len(found) == 1, found
    assert "at rows 0 (row labels of new_runs)" in found[0], found
    assert "D/N of 1 run(s)" in found[0]
    assert "median tokens per parameter" not in found[0]


def test_training_runs_keep_what_the_row_labels_count(tmp_path):
    """A DataFrame with its own integer index (labels 100-129) is fitted: the fitted runs
    re-loaded (Fit.training_runs, also after save and load) still say the labels are the
    DataFrame's, not data rows counted from 0 (before: guessed from the integer labels)."""
    df = _runs(*chinchilla_design(), seed=2)
    df.index = pd.RangeIndex(100, 100 + len(df))
    runs = load_runs(df)
    assert runs.row_note == bl.runs.messages.LABELS_NOTE
    fit = bl.fit(runs, "chinchilla", seed=0, progress_bar=False, warn=False, **TINY)
    again = fit.training_runs()
    assert list(again.df.index[:2]) == [100, 101]
    assert again.row_note == bl.runs.messages.LABELS_NOTE
    assert "labels of the DataFrame's index" in again.at_rows([100])
    fit.save(tmp_path / "fit.nc")
    assert bl.load_fit(tmp_path / "fit.nc").training_runs().row_note == runs.row_note
