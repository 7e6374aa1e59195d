"""``fit.update``: what an updated fit remembers of the runs left out, and new runs in another
compute model refused (SIMULATED Chinchilla runs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.inference.update import combined_runs
from bayeslaws.runs import simulate

TRUTH = {"E": 1.8, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.30}
TINY = {"chains": 1, "warmup": 150, "draws": 150}


def _runs(N, D, seed):
    params = {**TRUTH, "N": np.asarray(N, float), "D": np.asarray(D, float)}
    return simulate.simulate_chinchilla_runs(params, noise_sd=0.01, seed=seed)


@pytest.fixture(scope="module")
def excluded_fit():
    """A fit of 24 runs after two were excluded by the user ('typo')."""
    N, D = np.meshgrid(np.geomspace(2e7, 2e9, 6), np.geomspace(4e8, 4e10, 4))
    runs = bl.load_runs(_runs(N.ravel(), D.ravel(), seed=1))
    runs = runs.exclude(runs.df.index.isin([0, 5]), "typo")
    return bl.fit(runs, likelihood="gaussian", seed=0, warn=False, **TINY)


def test_an_update_keeps_the_exclusions_and_counts_every_input_row(excluded_fit):
    new = _runs([3e9, 4e9], [6e10, 8e10], seed=2)
    updated = excluded_fit.update(new, warn=False)
    data = updated.record.data
    reasons = [e["reason"] for e in data["exclusions"]]
    assert "typo" in reasons
    assert data["n_input_rows"] == excluded_fit.record.data["n_input_rows"] + len(new)
    assert data["source"].startswith(excluded_fit.record.data["source"])
    assert updated.n_runs == excluded_fit.n_runs + len(new)


def test_new_runs_in_another_compute_model_are_refused(excluded_fit):
    new = pd.DataFrame({"N": [3e9], "D": [6e10], "loss": [2.0]})
    with pytest.raises(ValueError, match="compute model '7ND' but the fit uses '6ND'"):
        combined_runs(excluded_fit, bl.load_runs(new, compute_model=7))
    runs, _ = combined_runs(excluded_fit, bl.load_runs(new))  # the fit's own model: fine
    assert runs.df["C"].iloc[-1] == pytest.approx(6 * 3e9 * 6e10)


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"cold_above": True}, ValueError, "cold_above must be a positive R-hat"),
        ({"screen": "drop"}, ValueError, "screen"),
        ({"warn": "no"}, TypeError, "warn must be True or False"),
    ],
)
def test_update_options_are_checked_before_any_sampling(excluded_fit, options, error, message):
    new = pd.DataFrame({"N": [3e9], "D": [6e10], "loss": [2.0]})
    with pytest.raises(error, match=message):
        excluded_fit.update(new, **options)


def test_a_crowded_process_keeps_the_warmed_kernel_until_the_update_samples(
    excluded_fit, monkeypatch
):
    """The mapped-regions check runs at every fit; inside an update's refit it must not
    release, or the kernel warmed at the old posterior is dropped and the update samples cold
    with half the warm-up while saying it was warm-started. One release, before the warm-up."""
    from bayeslaws.inference import memory

    monkeypatch.setattr(memory, "map_limit", lambda: 1)  # every check finds the process crowded
    before = len(memory.RELEASES)
    excluded_fit.update(_runs([3e9, 4e9], [6e10, 8e10], seed=2), warn=False)
    assert len(memory.RELEASES) - before == 1


def test_new_runs_are_labelled_after_the_excluded_rows_too():
    """The updated record still names the excluded rows: new runs numbered after the largest
    *fitted* label took the labels of excluded rows 22 and 23."""
    N, D = np.meshgrid(np.geomspace(2e7, 2e9, 6), np.geomspace(4e8, 4e10, 4))
    runs = bl.load_runs(_runs(N.ravel(), D.ravel(), seed=1))
    runs = runs.exclude(runs.df.index.isin([22, 23]), "typo")
    fit = bl.fit(runs, likelihood="gaussian", seed=0, warn=False, **TINY)
    updated = fit.update(_runs([3e9, 4e9], [6e10, 8e10], seed=2), warn=False)
    labels = [int(r) for r in updated.training_runs().df.index]
    assert not {22, 23} & set(labels)
    assert labels[-2:] == [24, 25]


def test_an_update_screens_by_the_fits_own_rule():
    """A fit made with screen={'action': 'exclude', 'threshold': 6} is updated under the same
    rule (the update fell back to 'warn' at 8 and kept a new outlier)."""
    N, D = np.meshgrid(np.geomspace(2e7, 2e9, 6), np.geomspace(4e8, 4e10, 4))
    rule = {"action": "exclude", "threshold": 6.0}
    fit = bl.fit(_runs(N.ravel(), D.ravel(), seed=1), likelihood="gaussian", seed=0,
                 warn=False, screen=rule, **TINY)
    updated = fit.update(_runs([3e9, 4e9], [6e10, 8e10], seed=2), warn=False)
    entry = updated.record.data["screening"]
    assert (entry["action"], entry["threshold"]) == ("exclude", 6.0)


def test_an_update_of_a_fit_with_the_largest_seed_draws_a_valid_seed():
    """The default seed of an update is the fit's seed + 1, kept in [0, 2**32) (a fit seeded
    2**32 - 1 could not be updated: 2**32 was refused); step seeds stay in range too."""
    from bayeslaws.inference.nuts import SEEDS, derived_seed

    assert derived_seed(3, 5) == 3005 and derived_seed(7, 1, stride=1) == 8  # as before
    assert derived_seed(5_000_000, 2) == (5_000_000 * 1000 + 2) % SEEDS
    N, D = np.meshgrid(np.geomspace(2e7, 2e9, 5), np.geomspace(4e8, 4e10, 4))
    fit = bl.fit(_runs(N.ravel(), D.ravel(), seed=3), likelihood="gaussian", seed=SEEDS - 1,
                 warn=False, **TINY)
    updated = fit.update(_runs([3e9], [6e10], seed=4), warn=False)
    assert updated.record.sampler.seed == 0
