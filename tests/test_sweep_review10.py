"""Review 10 of the sweep laws: law 'sweep''s ``new_run`` draws carry a new cell's bowl-shape
scatter (as its observations do); ``best_run`` refuses a fit of another law; a sweep cell left
with no converged run is named; law 'hyperparams_two_stage' on a table with every run (or every
cell but one) diverged says so; law 'hyperparams''s fence note counts its runs; a log-space lr
column is flagged at load.

Fits are the shared tiny fixtures (conftest); everything else runs without sampling. Every
table is SIMULATED except Step Law (skipped when ../shared/data is absent).
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import quiet, shared_or_skip, small_sweep_grid

import bayeslaws as bl
from bayeslaws.laws import sweep
from bayeslaws.laws.contract import LawCapabilityError
from bayeslaws.laws.hyperparams import HyperparamsLaw
from bayeslaws.laws.hyperparams.data import DivergenceWarning
from bayeslaws.laws.hyperparams.two_stage import TwoStageHyperparams
from bayeslaws.runs import PlausibilityWarning, RunTableError
from bayeslaws.runs import simulate as sim

SIZES, TOKENS = (0.017e9, 0.057e9, 0.13e9), (2e9, 4e9, 8e9)  # params, tokens


# ---- 1. a new cell's bowl shape in draws(kind="new_run") -----------------------------------
def _with_shape_scatter(post, scatter: float):
    """``post`` with every bowl-shape scatter draw set to ``scatter`` (a copy)."""
    draws = dict(post.draws)
    for name in sweep.SHAPE_SCATTER:
        draws[f"{name}_scatter"] = np.full(post.n_draws, scatter)
    return dataclasses.replace(post, draws=draws)


def test_new_run_draws_carry_a_new_cells_shape_scatter(small_sweep_sweep_fit):
    """draws(kind="new_run") at a new cell built its bowl from the law's shape only, while
    observations() (and so best_run) moved it by the cell's shape deviations: with shape
    scatter the penalties' spread was understated. Now both give the same bowl, draw by draw:
    the difference between two runs of the new cell (its level cancels) agrees."""
    law = sweep.SweepLaw(shape_scatter=True)
    q = pd.DataFrame({"N": [3e7, 3e7, 3e7], "D": [3e9, 3e9, 3e9],  # a new cell, inside the range
                      "lr": [1e-4, 4e-4, 1.5e-3], "batch_size": [1e5, 4e5, 1e6]})  # fmt: skip
    post = small_sweep_sweep_fit.posterior()
    assert law.fitted_cell(post, 3e7, 3e9) is None
    spread = {}
    for scatter in (0.0, 0.8):
        p = _with_shape_scatter(post, scatter)
        d = law.draws(p, q, kind="new_run", group=None, rng=np.random.default_rng(0))
        o = law.observations(p, q, group=None, rng=np.random.default_rng(0))
        bowl = np.log1p(d["rel_penalty"])  # (S, Q) ln L(lr, B) - ln L_opt
        np.testing.assert_allclose(bowl[:, 1:] - bowl[:, :1], o.mean[:, 1:] - o.mean[:, :1],
                                   rtol=1e-6, atol=1e-9)  # fmt: skip
        spread[scatter] = np.std(bowl[:, 2])
    assert spread[0.8] > 1.5 * spread[0.0]  # the scatter widens the penalty far up the wall


def test_new_run_draws_without_shape_scatter_are_the_laws_bowl(small_sweep_sweep_fit):
    """With the scatters 0 (a fit without shape_scatter) the new cell's bowl is the law's shape
    at the cell's own optimum: unchanged by the fix."""
    post = small_sweep_sweep_fit.posterior()
    law = small_sweep_sweep_fit.law
    q = pd.DataFrame({"N": [3e7], "D": [3e9], "lr": [4e-4], "batch_size": [4e5]})
    d = law.draws(post, q, kind="new_run", group=None, rng=np.random.default_rng(1))
    th = {k: v[:, None] for k, v in law.theta_draws(post, None, None).items()}
    sc = post.scales
    shape = law.cell_shape(th, sc.centre("N", q["N"])[None, :], sc.centre("D", q["D"])[None, :])
    u = np.log(q["lr"].to_numpy())[None, :] - np.log(d["eta_opt"])
    v = np.log(q["batch_size"].to_numpy())[None, :] - np.log(d["B_opt"])
    bowl = np.asarray(law.bowl_value(shape, u, v), float)
    np.testing.assert_allclose(np.log1p(d["rel_penalty"]), bowl, rtol=1e-6, atol=1e-12)


# ---- 2. best_run on another law's fit; the empty sweep cell named --------------------------
def test_best_run_refuses_a_fit_of_law_hyperparams(small_sweep_hp_fit, small_sweep):
    """Law 'hyperparams' gives one sigma per draw, (S,): best_run failed with a broadcast error
    or, on a grid of exactly S runs, silently gave run j draw j's noise. It is refused by name,
    whatever the grid's size."""
    df = small_sweep.df
    n, d = df["N"].min(), df["D"].min()
    cell = df[(df["N"] == n) & (df["D"] == d)]
    S = small_sweep_hp_fit.posterior().n_draws
    for size in (S, len(cell)):  # S: the old code said nothing
        lr, batch = np.resize(cell["lr"].to_numpy(), size), np.resize(cell["batch_size"], size)
        with pytest.raises(LawCapabilityError, match="best_run needs a fit of law 'sweep'.*"
                           "this fit is of law 'hyperparams'"):  # fmt: skip
            sweep.best_run(small_sweep_hp_fit, n, d, lr, batch)


def test_best_run_still_reads_a_sweep_fit(small_sweep_sweep_fit, small_sweep):
    df = small_sweep.df
    n, d = df["N"].min(), df["D"].min()
    cell = df[(df["N"] == n) & (df["D"] == d)]
    r = sweep.best_run(small_sweep_sweep_fit, n, d, cell["lr"], cell["batch_size"])
    assert r["p_best"].shape == (len(cell),) and np.isclose(r["p_best"].sum(), 1.0)


def test_a_sweep_cell_with_no_converged_run_is_named():
    """The warning and the note named how many cells were left out but not which: now as law
    'hyperparams' does, (N=..., D=...)."""
    df = sim.simulate_video_dit_sweep(seed=3, sizes=SIZES, tokens=TOKENS, grid_points=(3, 3))
    df = df.reset_index(drop=True)
    lost = (df["N"] == SIZES[0]) & (df["D"] == TOKENS[2])
    df.loc[lost, "loss"] = np.nan
    runs = quiet(lambda: bl.load_runs(df, allow_missing_loss=True))
    with pytest.warns(DivergenceWarning) as told:
        prepared = sweep.SweepLaw().prepare(runs)
    named = "1 (N, D) cells left with no converged run, so left out entirely: (N=1.7e+07, D=8e+09)"
    assert any(named in str(w.message) for w in told)
    assert named in prepared.notes[0]
    assert prepared.state["divergence"]["n_cells_without_converged_run"] == 1


# ---- 3. hyperparams_two_stage with every run (or cell but one) diverged --------------------
def _diverged_table(keep_first_cell: bool):
    df = sim.simulate_video_dit_sweep(seed=3, sizes=SIZES, tokens=TOKENS, grid_points=(3, 3))
    df = df.reset_index(drop=True)
    first = (df["N"] == SIZES[0]) & (df["D"] == TOKENS[0])
    df.loc[~first if keep_first_cell else df.index, "loss"] = np.nan
    return quiet(lambda: bl.load_runs(df, allow_missing_loss=True))


def test_two_stage_with_every_run_diverged_says_so():
    """It said "needs at least 2 distinct values of 'N' ... the table has one" (there were
    none) after a RuntimeWarning 'Mean of empty slice'; now the words of laws 'sweep' and
    'hyperparams', and nothing else."""
    runs = _diverged_table(keep_first_cell=False)
    with warnings.catch_warnings(record=True) as told:
        warnings.simplefilter("always")
        with pytest.raises(RunTableError, match=r"^law 'hyperparams_two_stage': every run "
                           r"diverged; nothing to fit$"):  # fmt: skip
            TwoStageHyperparams().prepare(runs)
    assert not [w for w in told if issubclass(w.category, RuntimeWarning)], told
    for law in (sweep.SweepLaw(), HyperparamsLaw()):  # the same words
        with pytest.raises(RunTableError, match="every run diverged; nothing to fit"):
            quiet(lambda law=law: law.prepare(runs))


def test_two_stage_with_one_cell_left_warns_first_and_counts_its_values():
    """With every cell but one diverged: the DivergenceWarning naming the empty cells comes
    before the refusal (it came after the raise, so never), which gives the real count and
    value rather than a hard-coded "one"."""
    runs = _diverged_table(keep_first_cell=True)
    with warnings.catch_warnings(record=True) as told:
        warnings.simplefilter("always")
        with pytest.raises(RunTableError) as refused:
            TwoStageHyperparams().prepare(runs)
    text = str(refused.value)
    assert "needs at least 2 distinct values of 'N'" in text
    assert "cells with a converged run (1 of 9) have only [1.7e+07]" in text
    assert "the table has one" not in text
    empty = [str(w.message) for w in told if issubclass(w.category, DivergenceWarning)]
    assert any("8 of 9 (N, D) cells have no converged run" in m and "(N=5.7e+07, D=2e+09)" in m
               for m in empty), empty  # fmt: skip


# ---- 4. law 'hyperparams': the pooled fence documented, its note counted --------------------
def test_hyperparams_fence_note_counts_its_runs_and_the_pooled_fence_is_documented():
    """A collapsed run in a 9-run cell is fenced by the fence pooled over the sweep: the note
    said "1 runs excluded"; now "1 of 144 runs", as law 'sweep' and the warning say it. The
    law's docstring said the fence applies only in cells of >= 12 converged runs."""
    df = sim.simulate_video_dit_sweep(seed=3, grid_points=(3, 3)).reset_index(drop=True)
    df.loc[10, "loss"] *= 1.9
    prepared = quiet(lambda: HyperparamsLaw(fence=3.0).prepare(bl.load_runs(df)))
    (note,) = [n for n in prepared.notes if "fence" in n]
    assert note.startswith(
        f"1 of {len(df)} runs excluded from the bowls: 1 beyond the far-out fence pooled over "
        "the sweep's cells"
    )
    assert prepared.state["divergence"]["n_fenced_pooled"] == 1
    doc = " ".join(HyperparamsLaw.__doc__.split())
    assert "quartiles pooled over the sweep's converged runs" in doc
    assert "pooled_fence_mask" in doc


# ---- 5. a log-space lr column --------------------------------------------------------------
def _lr_warnings(load) -> list[str]:
    with warnings.catch_warnings(record=True) as told:
        warnings.simplefilter("always")
        load()
    return [str(w.message) for w in told
            if issubclass(w.category, PlausibilityWarning) and "column 'lr'" in str(w.message)]


def test_a_log_space_lr_column_warns_as_a_batch_in_sequences_does():
    """-log10 lr (3.3-4.0 here) loaded silently while a batch in sequences warned."""
    df = small_sweep_grid()
    assert _lr_warnings(lambda: bl.load_runs(df)) == []
    logged = df.assign(lr=-np.log10(df["lr"]))
    with pytest.warns(PlausibilityWarning, match=r"column 'lr' has median 3\.72, above 1: "):
        bl.load_runs(logged)
    (message,) = _lr_warnings(lambda: bl.load_runs(logged))
    assert "peak learning rates above 1 are rare" in message and "-log10 lr" in message
    assert "10 ** -value" in message


def test_the_bundled_and_shared_sweeps_lr_pass():
    """The new check says nothing on the bundled tables nor on Step Law's sweep."""
    from bayeslaws.runs import bundled

    for name in bundled.bundled_names():
        assert _lr_warnings(lambda name=name: bundled.load_bundled(name)) == [], name
    shared = shared_or_skip()
    assert _lr_warnings(shared.steplaw_dense) == []
