"""Law "hyperparams" at its defaults: the per-cell far-out fence it shares with law "sweep" (on
request), a sweep whose cells sit mostly on a high-LR cliff warned about, options given as
percentages refused or warned about, the diverged / far-above / fenced runs counted apart, and
cells that never sweep a column named.

Everything runs without sampling.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.laws import sweep as sweep_law
from bayeslaws.laws.hyperparams import DivergenceWarning, HyperparamsLaw, TwoStageHyperparams
from bayeslaws.laws.hyperparams import data as hp_data
from bayeslaws.runs import PlausibilityWarning
from bayeslaws.runs.simulate import VideoDiTTruth, simulate_video_dit_sweep

SIZES = (0.017e9, 0.057e9, 0.26e9)  # params
TOKENS = (2e9, 5e9, 12e9)


def simulated_sweep() -> pd.DataFrame:
    """SIMULATED video-DiT sweep: 3 sizes x 3 budgets x 6 lr x 6 batch = 324 runs, seed 1."""
    return simulate_video_dit_sweep(seed=1, sizes=SIZES, tokens=TOKENS)


def with_cliff(df: pd.DataFrame) -> tuple[pd.DataFrame, object]:
    """The sweep with one run of its first cell pushed up its cliff (loss x 1.5: far beyond
    the cell's fence, below 3x the median loss, so not "diverged"), and that run's label."""
    df = df.copy()
    cell = df[(df["N"] == df["N"].iloc[0]) & (df["D"] == df["D"].iloc[0])]
    label = cell["lr"].idxmax()
    df.loc[label, "loss"] = df.loc[label, "loss"] * 1.5
    return df, label


def prepare_quietly(law, runs):
    """``law.prepare(runs)`` and the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prepared = law.prepare(runs)
    return prepared, caught


# ---- 1. the fence, shared with law "sweep" ---------------------------------------------------
def test_the_fence_excludes_a_cliff_run_and_records_it():
    df, label = with_cliff(simulated_sweep())
    runs = bl.load_runs(df)
    prepared, caught = prepare_quietly(HyperparamsLaw(fence=sweep_law.FENCE), runs)
    div = prepared.state["divergence"]
    assert div["n_fenced"] == 1 and div["fence"] == sweep_law.FENCE
    assert div["n_diverged"] == 0 and div["n_excluded"] == 1
    assert label not in prepared.runs.df.index
    (exclusion,) = prepared.runs.exclusions
    assert exclusion.count == 1 and "far-out fence" in exclusion.reason
    assert any("beyond their cell's far-out fence" in note for note in prepared.notes)
    assert any(
        w.category is DivergenceWarning and "excluded from the bowls" in str(w.message)
        for w in caught
    )
    # the same runs as law "sweep" (one fence), and fence=None keeps the run
    assert np.array_equal(
        hp_data.run_masks(HyperparamsLaw(fence=sweep_law.FENCE), runs.df)["fenced"],
        sweep_law.LAW.excluded_mask(runs.df)[0],
    )
    kept, _ = prepare_quietly(HyperparamsLaw(), runs)  # no fence by default
    assert label in kept.runs.df.index and kept.state["divergence"]["n_fenced"] == 0
    assert HyperparamsLaw().options["fence"] is None


def cliff_heavy(df: pd.DataFrame, share: float) -> pd.DataFrame:
    """The sweep with the highest-lr ``share`` of each cell's runs pushed 10% up (a cliff)."""
    df = df.copy()
    for _, cell in df.groupby(["N", "D"]):
        top = cell["lr"].rank(method="first", ascending=False) <= share * len(cell)
        df.loc[cell.index[top], "loss"] *= 1.10
    return df


def test_a_sweep_whose_cells_sit_on_a_cliff_warns_and_names_far_above():
    """Step Law's cells hold 30% (median) of their runs over 3% above the cell's best, and the
    default quadratic bowl fitted to them put eta_opt ~4x too high with no word said. A sweep
    whose cells are mostly such warns, naming far_above=0.03 and law 'sweep'; the SIMULATED
    sweep as it is, or with far_above given, does not."""
    runs = bl.load_runs(cliff_heavy(simulated_sweep(), 0.4))
    prepared, caught = prepare_quietly(HyperparamsLaw(), runs)
    cliff = [w for w in caught if "high-LR cliff" in str(w.message)]
    assert len(cliff) == 1 and cliff[0].category is PlausibilityWarning
    assert "in 9 of 9 (N, D) cells" in str(cliff[0].message)
    assert "far_above=0.03" in str(cliff[0].message) and "law 'sweep'" in str(cliff[0].message)
    assert any("high-LR cliff" in note for note in prepared.notes)
    steep = simulate_video_dit_sweep(  # a steep SYMMETRIC bowl, which the default fits right
        seed=0,
        truth=VideoDiTTruth(k_lr=0.03, lr_asymmetry=0.0),
        sizes=(0.017e9, 0.13e9),
        tokens=(2e9, 8e9),
    )
    for law, table in (
        (HyperparamsLaw(), bl.load_runs(simulated_sweep())),
        (HyperparamsLaw(), bl.load_runs(steep)),
        (HyperparamsLaw(far_above=0.03), runs),
    ):
        _, caught = prepare_quietly(law, table)
        assert not [w for w in caught if "high-LR cliff" in str(w.message)]


# ---- 2. percentages given for fractions --------------------------------------------------------
@pytest.mark.parametrize("value", [3, 1, 1.0])
def test_far_above_given_as_a_percentage_is_refused(value):
    with pytest.raises(ValueError, match=r"'far_above' is a fraction .*0\.03 = 3%"):
        HyperparamsLaw(far_above=value)
    assert HyperparamsLaw(far_above=0.99).far_above == 0.99


def test_two_stage_tolerance_selecting_most_of_a_cell_warns():
    runs = bl.load_runs(simulated_sweep())
    with pytest.warns(PlausibilityWarning, match=r"tolerance=0\.25 selects more than 50%"):
        prepared = TwoStageHyperparams(tolerance=0.25).prepare(runs)
    assert prepared.state["n_cells_tolerance_too_wide"] == 9
    _, caught = prepare_quietly(TwoStageHyperparams(tolerance=0.0025), runs)
    assert not [w for w in caught if "selects more than" in str(w.message)]


# ---- 3. each kind counted and worded apart -----------------------------------------------------
def test_diverged_far_above_and_fenced_runs_are_counted_apart():
    df, label = with_cliff(simulated_sweep())
    df["diverged"] = False
    df.loc[df.index[-1], "diverged"] = True  # one flagged run
    runs = bl.load_runs(df)
    best = df[~df["diverged"]].groupby(["N", "D"])["loss"].transform("min")
    far = int((df.loc[best.index, "loss"] > best * 1.01).sum())
    assert far > 1
    law = HyperparamsLaw(far_above=0.01, divergence="exclude")
    prepared, caught = prepare_quietly(law, runs)
    div = prepared.state["divergence"]
    # the cliff run is also more than 1% above its cell's best: counted there, not fenced
    assert (div["n_diverged"], div["n_far_above"], div["n_fenced"]) == (1, far, 0)
    assert div["n_excluded"] == far + 1
    words = f"1 diverged runs and {far} more than 1% above their cell's best excluded"
    assert prepared.notes[0].startswith(f"{words}: ")  # then each kind's rows
    assert any(str(w.message).startswith(words) for w in caught)
    censored, caught = prepare_quietly(HyperparamsLaw(far_above=0.01), runs)
    div = censored.state["divergence"]
    assert (div["n_diverged"], div["n_far_above"], div["n_censored"]) == (1, far, far + 1)
    assert censored.notes[0].startswith("1 diverged runs censored")
    assert f"and {far} more than 1% above their cell's best" in censored.notes[0]


# ---- 4. a column no cell sweeps ---------------------------------------------------------------
def test_cells_that_never_sweep_batch_size_are_named():
    df = simulated_sweep()
    batches = np.sort(df["batch_size"].unique())
    cells = df.groupby(["N", "D"]).ngroup()
    one_batch = df[df["batch_size"] == batches[cells % len(batches)]]  # 3 batches overall
    assert one_batch["batch_size"].nunique() >= 3
    with pytest.warns(PlausibilityWarning, match=r"no \(N, D\) cell .* varies 'batch_size'"):
        prepared = HyperparamsLaw().prepare(bl.load_runs(one_batch))
    assert any("'batch_size' (at most 1 values per cell)" in n for n in prepared.notes)
    _, caught = prepare_quietly(HyperparamsLaw(), bl.load_runs(simulated_sweep()))
    assert not [w for w in caught if "varies" in str(w.message)]


def test_far_above_runs_censored_with_none_diverged_are_worded_alone():
    """With far_above and no diverged run the warning said "0 diverged runs censored (loss >=
    0.5609) and 72 more than 3% above ..., censored at 1.03x that best (72 more than 3% above
    ...)": a bound no run had and the count twice."""
    runs = bl.load_runs(simulated_sweep())
    prepared, caught = prepare_quietly(HyperparamsLaw(far_above=0.01), runs)
    (message,) = [str(w.message) for w in caught if w.category is DivergenceWarning]
    assert message.split(" ")[1:4] == ["more", "than", "1%"]
    assert "diverged" not in message.split(";")[0] and message.count("above their cell") == 1
    assert "above their cell's best censored at 1.01x that best: the far-above runs at rows " in (
        prepared.notes[0]
    )
