"""The extrapolation widenings on a grouped fit: after-GP scale-out splits fit one GP per group, as
predictions do, and extrapolation="stacking" raises for in-range queries too. Tiny fits of
SIMULATED runs; the scale-out refits are replaced by the fit's own draws."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.posterior.extrapolation import distance, gp

MARK = {"small": 100.0, "large": 1000.0}  # a GP's fake conditional mean, by its group


class _FitDraws:
    """Stands in for the scale-out refits' MCMC: every split 'refits' to the fit's own draws
    (no NUTS; what is tested is the GP each split conditions its held-out runs on)."""

    draws: dict = {}

    def __init__(self, kernel, **settings):
        pass

    def run(self, key, **data):
        pass

    def get_samples(self, group_by_chain=False):
        return self.draws


def _group_of(N) -> str:
    """The two-scales group whose N range holds all of ``N`` ('pooled': both)."""
    N = np.asarray(N, float)
    return "small" if N.max() <= 3e8 else "large" if N.min() >= 1e9 else "pooled"


def test_grouped_after_gp_splits_fit_one_gp_per_group(two_scales_grouped, monkeypatch):
    """The reviewer's finding: with gp=True the splits fitted ONE GP on all groups' fitted
    runs (fit_gp called on 54, 48, 50, 40 runs for two groups of 30), while predictions use
    one per group. Now each group's own fitted runs set its GP (none below gp.MIN_RUNS), and a
    held-out run is shifted by its own group's GP only (the fake conditional mean MARK[g])."""
    fit = two_scales_grouped
    runs = fit.training_runs()
    _FitDraws.draws = dict(fit.posterior().draws)
    monkeypatch.setattr(distance, "MCMC", _FitDraws)
    healthy = {"problems": []}
    monkeypatch.setattr(distance, "refit_diagnostics", lambda mcmc, names, dense=None: healthy)
    fitted, queried = [], []

    def fake_fit_gp(N, D, residuals, *args, **kwargs):
        assert len(N) == len(residuals)
        fitted.append((_group_of(N), len(N)))
        return {"group": _group_of(N)}

    def fake_conditional(state, N, D):
        queried.append((state["group"], _group_of(N)))
        return np.full(len(N), MARK.get(state["group"], 1e4)), np.zeros(len(N))

    monkeypatch.setattr(gp, "fit_gp", fake_fit_gp)
    monkeypatch.setattr(gp, "conditional", fake_conditional)
    splits = distance.scale_out_splits(
        runs, fit.law, fit.likelihood, fit.priors, chains=1, warmup=1, draws=1, gp=True
    )
    assert splits
    labels = runs.df["group"].astype(str).to_numpy()
    kept = [{g: int((labels[s["keep"]] == g).sum()) for g in map(str, fit.groups)} for s in splits]
    expected = [(g, n) for counts in kept for g, n in counts.items() if n >= gp.MIN_RUNS]
    assert fitted == expected, fitted  # old: [("pooled", all kept runs), ...]
    assert all(state_group == query_group for state_group, query_group in queried), queried
    uncorrected = 0
    for split, counts in zip(splits, kept, strict=True):
        held = labels[~split["keep"]]
        for group, n_kept in counts.items():
            own = held == group
            shifted = -MARK[group] if n_kept >= gp.MIN_RUNS else 0.0  # no GP: uncorrected
            np.testing.assert_allclose(split["residuals"][own], shifted, atol=1.0)
            uncorrected += int(own.sum()) if n_kept < gp.MIN_RUNS else 0
    assert uncorrected > 0  # a split keeps too few of group 'large''s runs for its GP


def test_stacking_on_a_grouped_fit_raises_in_range_as_beyond(two_scales_grouped):
    """A grouped fit cannot stack: extrapolation="stacking" raised ValueError for a query beyond
    the range but returned the plain draws, silently, for one inside it."""
    fit = two_scales_grouped
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for N, D in ((1e8, 3e9), (1e11, 1e13)):  # group 'small''s range: inside, far beyond
            with pytest.raises(ValueError, match="'stacking' is unavailable.*several groups"):
                bl.predict(fit, N=N, D=D, kind="new_run", extrapolation="stacking", group="small")
