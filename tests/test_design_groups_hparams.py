"""LR x batch candidates of a grouped hyperparameter fit: ``hyperparameter_candidates`` and
``pool_units`` centred their grids (sweeps) on a NEW group's eta_opt and B_opt whatever group
the runs were for, and ``pool_units`` took a cell one group had fitted as seen for every group.
``group=`` (or the pool's ``group`` column) now picks the fitted group, and a GroupWarning says
when the centre is a new group's (as ``isoflop_candidates`` does)."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws import design
from bayeslaws.posterior import quantity_draws, query_frame
from bayeslaws.runs import simulate

CELLS_N = [0.017e9, 0.017e9, 0.13e9, 0.13e9]  # params
CELLS_D = [2e9, 8e9, 2e9, 8e9]  # tokens
ONLY_A = (0.13e9, 8e9)  # the cell group B has no runs at
NEW_CELL = (0.05e9, 4e9)  # a cell neither group has runs at


@pytest.fixture(scope="module")
def hp_groups_fit():
    """A hyperparameter-law fit of two SIMULATED sweeps: A (the video-DiT truth) at four cells,
    B (eta_opt twice A's, its LR grid shifted with it) at three (not ``ONLY_A``); one chain."""
    base = simulate.VideoDiTTruth()
    shifted = dataclasses.replace(base, eta_coef=2.0 * base.eta_coef)
    batches = [5e4, 1e5, 2e5]
    a = simulate.simulate_grid(base, CELLS_N, CELLS_D, [1e-4, 1.9e-4, 3.6e-4], batches, seed=0)
    b = simulate.simulate_grid(
        shifted, CELLS_N[:3], CELLS_D[:3], [2e-4, 3.8e-4, 7.2e-4], batches, seed=1
    )
    both = pd.concat([a.assign(group="A"), b.assign(group="B")], ignore_index=True)
    runs = bl.load_runs(both.drop(columns=["source"]), group="group")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(runs, law="hyperparams", chains=1, warmup=100, draws=100, seed=0)


def _optimum(fit, group, N, D) -> tuple[float, float]:
    """The posterior medians of eta_opt and B_opt (tokens) at (N, D) for ``group``."""
    opt = quantity_draws(fit, query_frame(fit, N=[N], D=[D]), group=group)
    return float(np.median(opt["eta_opt"])), float(np.median(opt["B_opt"]))


def _centre(cands) -> tuple[float, float]:
    """The middle lr and batch size of a 3 x 3 grid."""
    return sorted(set(cands["lr"]))[1], sorted(set(cands["batch_size"]))[1]


def _group_warnings(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, design.GroupWarning)]


def _pool(N, D) -> pd.DataFrame:
    """A 21 x 2 LR x batch pool at one cell (N params, D tokens): LR steps of 12%, finer than
    the fitted groups' eta_opt differ."""
    lrs, batches = np.geomspace(2e-4, 2e-3, 21), [4e4, 6e4]
    grid = [(lr, b) for lr in lrs for b in batches]
    return pd.DataFrame(grid, columns=["lr", "batch_size"]).assign(N=N, D=D)


def _nearest(pool, centre, k) -> set:
    """The ``k`` rows of ``pool`` nearest ``centre`` (lr, batch) in ln lr and ln batch size."""
    dist = np.hypot(np.log(pool["lr"] / centre[0]), np.log(pool["batch_size"] / centre[1]))
    return set(pool.index[np.argsort(dist.to_numpy(), kind="stable")[:k]])


def _swept(units) -> dict:
    """Unit label -> the set of pool rows in it, for the sweeps."""
    sweeps = units[units["unit"].str.startswith("sweep")]
    return {label: set(rows.index) for label, rows in sweeps.groupby("unit")}


def test_sweep_grids_centre_on_the_groups_optima(hp_groups_fit):
    """hyperparameter_candidates(fit=grouped_fit) centred on a NEW group's eta_opt and B_opt
    silently; group= centres them on that fitted group's, and without it a GroupWarning says
    the centre is a new group's."""
    fit, (N, D) = hp_groups_fit, NEW_CELL
    of_a, of_b = _optimum(fit, "A", N, D), _optimum(fit, "B", N, D)
    assert of_b[0] > 1.15 * of_a[0]  # the fit tells B's higher eta_opt apart
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        cands_b = design.hyperparameter_candidates(N, D, fit=fit, n_lr=3, n_batch=3, group="B")
        cands_a = design.hyperparameter_candidates(N, D, fit=fit, n_lr=3, n_batch=3, group="A")
    assert _group_warnings(record) == []
    np.testing.assert_allclose(_centre(cands_b), of_b, rtol=1e-12)
    np.testing.assert_allclose(_centre(cands_a), of_a, rtol=1e-12)
    assert "group" not in cands_b  # as isoflop_candidates: the design is given the group
    with pytest.warns(
        design.GroupWarning,
        match=r"hyperparameter_candidates: the fit has groups \['A', 'B'\] and group=None, so "
        r"the LR x batch grids centre on a NEW group's median eta_opt and B_opt .* pass group=",
    ):
        cands_new = design.hyperparameter_candidates(N, D, fit=fit, n_lr=3, n_batch=3)
    np.testing.assert_allclose(_centre(cands_new), _optimum(fit, None, N, D), rtol=1e-12)
    # one grid given: the other still centres on the group's optimum
    lr_given = design.hyperparameter_candidates(N, D, fit=fit, lr=[1e-3], n_batch=3, group="B")
    np.testing.assert_allclose(sorted(set(lr_given["batch_size"]))[1], of_b[1], rtol=1e-12)


def test_group_without_a_grid_to_centre_or_an_unknown_label_is_refused(hp_groups_fit):
    fit, (N, D) = hp_groups_fit, NEW_CELL
    grids = {"lr": [1e-3], "batch_size": [1e5]}
    with pytest.raises(ValueError, match=r"group='B' chooses the fitted group .* give fit="):
        design.hyperparameter_candidates(N, D, group="B", **grids)
    with pytest.raises(ValueError, match=r"group='B' chooses .*both given: no grid is centred"):
        design.hyperparameter_candidates(N, D, fit=fit, group="B", **grids)
    with pytest.raises(ValueError, match=r"group='b' is not one of the fit's groups \['A', 'B'\]"):
        design.hyperparameter_candidates(N, D, fit=fit, group="b")
    with pytest.raises(ValueError, match=r"group='b' is not one of the fit's groups"):
        design.pool_units(fit, _pool(N, D), group="b")
    with pytest.raises(ValueError, match=r"pool\['group'\] holds \['A'\] but group='B'"):
        design.pool_units(fit, _pool(N, D).assign(group="A"), group="B")
    with warnings.catch_warnings(record=True) as record:  # both grids, no group: nothing to say
        warnings.simplefilter("always")
        design.hyperparameter_candidates(N, D, fit=fit, **grids)
    assert _group_warnings(record) == []


def test_pool_sweeps_centre_on_the_groups_optimum(hp_groups_fit):
    """pool_units' sweep at an unseen cell was the runs nearest a NEW group's optimum; group=
    (or the pool's group column) takes that group's, and without either a GroupWarning says the
    sweeps are a new group's."""
    fit, (N, D) = hp_groups_fit, NEW_CELL
    pool = _pool(N, D)
    expected = {g: _nearest(pool, _optimum(fit, g, N, D), 4) for g in ("A", "B", None)}
    assert expected["A"] != expected["B"]  # the groups' optima pick different runs
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        labelled = design.pool_units(fit, pool.assign(group="B"), sweep_size=4)
        of_a = design.pool_units(fit, pool.assign(group="A"), sweep_size=4)
    assert list(_swept(labelled).values()) == [expected["B"]]
    assert list(_swept(of_a).values()) == [expected["A"]]
    with warnings.catch_warnings(record=True) as also:
        warnings.simplefilter("always")
        of_b = design.pool_units(fit, pool, sweep_size=4, group="B")
    assert _group_warnings(record + also) == []
    assert of_b["unit"].tolist() == labelled["unit"].tolist()
    with pytest.warns(
        design.GroupWarning,
        match=r"pool_units: the fit has groups \['A', 'B'\] and group=None, so the sweeps "
        r"centre on a NEW group's median eta_opt and B_opt",
    ):
        new = design.pool_units(fit, pool, sweep_size=4)
    assert list(_swept(new).values()) == [expected[None]]


def test_pool_cells_are_seen_per_group(hp_groups_fit):
    """A cell only group A was fitted at was taken as seen for B's runs too (single runs, worth
    nothing while B's loss level there is unknown); it is unseen for B (a sweep), seen for A. A
    pool of both groups gets one sweep per group, labelled with it."""
    fit = hp_groups_fit
    pool = _pool(*ONLY_A)
    for_b = design.pool_units(fit, pool.assign(group="B"), sweep_size=4)
    assert [len(rows) for rows in _swept(for_b).values()] == [4]
    for_a = design.pool_units(fit, pool.assign(group="A"), sweep_size=4)
    assert _swept(for_a) == {}  # A's runs there are fitted: single runs
    assert _swept(design.pool_units(fit, pool, sweep_size=4, group="A")) == {}
    both = pd.concat([pool.assign(group="A"), _pool(*NEW_CELL).assign(group="B")])
    both = pd.concat([both, _pool(*NEW_CELL).assign(group="A")], ignore_index=True)
    units = design.pool_units(fit, both, sweep_size=4)
    swept = _swept(units)
    assert sorted(label.split(", group=")[1] for label in swept) == ["'A'", "'B'"]
    assert all(len(rows) == 4 for rows in swept.values())
    assert all(both.loc[list(rows), "group"].nunique() == 1 for rows in swept.values())
