"""Outlier screening and the hyperparams law's high-LR cliff: runs flagged where the law says it
misfits (the runs its own cliff warning concerns) are named as such, with the law's remedy,
and screen="exclude" keeps them, recording why; runs flagged elsewhere are excluded as before.

On Step Law (steplaw_dense, law "hyperparams" at defaults) screening flagged 42 genuine runs on
the cliff and advised screen="exclude", which dropped them and moved lr_int from 1.12 to 1.39,
further from the far_above=0.03 fit's -0.09. Here a small SIMULATED sweep has such a cliff."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.app.report import screening_sentence
from bayeslaws.inference.screening import OutlierWarning
from bayeslaws.laws import resolve_law
from bayeslaws.runs import simulate

CLIFF = 0.2  # the cliff's plateau: loss at most 20% above the cell's L*
FIT = {"chains": 2, "warmup": 150, "draws": 150, "seed": 0, "progress_bar": False}


def cliff_sweep(cap: float | None = CLIFF) -> pd.DataFrame:
    """A SIMULATED LR x batch sweep of 4 (N, D) cells, 15 lr values (x sqrt 2, 1/8x to 16x the
    optimum) x 3 batch sizes: a bowl 6x steeper above the optimal lr than below, cut off at
    ``cap`` above L* (a plateau on the high-LR side, which the law's quadratic bowl misfits;
    None: no plateau). 180 runs."""
    truth = simulate.VideoDiTTruth(k_lr=0.003, lr_asymmetry=5.0)
    sizes = (0.057e9, 0.26e9)
    steps = np.arange(-3, 4.01, 0.5)
    lr = {n: truth.eta_opt(n, 4e9) * 2.0**steps for n in sizes}
    df = simulate.simulate_video_dit_sweep(
        seed=0, sizes=sizes, tokens=(2e9, 8e9), truth=truth, lr_grid=lr, grid_points=(15, 3)
    )
    if cap is not None:
        df["loss"] = np.minimum(df["loss"], truth.loss_star(df["N"], df["D"]) * (1 + cap))
    return df


def mistyped_row(df: pd.DataFrame):
    """A run at the lowest lr of its cell (far from the cliff)."""
    return df.index[df["lr"] == df["lr"].min()][0]


def on_the_cliff(df: pd.DataFrame) -> pd.Series:
    """Runs more than 3% above their cell's best run at a higher lr than it."""
    cell = df.groupby(["N", "D"])
    best = cell["loss"].transform("min")
    best_lr = df["lr"].where(df["loss"] == best).groupby([df["N"], df["D"]]).transform("max")
    return (df["loss"] > 1.03 * best) & (df["lr"] > best_lr)


@pytest.fixture(scope="module")
def cliff_fit():
    """screen="exclude" on the cliff sweep with one mis-typed run (1.3x) at a low lr."""
    df = cliff_sweep()
    df.loc[mistyped_row(df), "loss"] *= 1.3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = bl.fit(df, law="hyperparams", screen="exclude", **FIT)
    return df, fit, [str(w.message) for w in caught if issubclass(w.category, OutlierWarning)]


def test_exclude_keeps_the_cliff_runs_and_records_why(cliff_fit):
    df, fit, _ = cliff_fit
    entry = fit.record.data["screening"]
    cliff = {str(r) for r in df.index[on_the_cliff(df)]}
    kept = [r for group in entry["law_misfits"] for r in group["rows"]]
    assert kept, entry  # the cliff's runs were flagged ...
    assert set(kept) <= cliff  # ... only runs on the cliff are said to be the law's misfit ...
    assert entry["excluded"] == [str(mistyped_row(df))]  # ... none of them excluded
    assert fit.n_runs == len(df) - 1
    flagged = {f["row"] for f in entry["flagged"]}
    assert flagged == set(kept) | {str(mistyped_row(df))}
    reason = entry["law_misfits"][0]["reason"]
    assert "high-LR cliff" in reason and "far_above=0.03" in reason and "law 'sweep'" in reason


def test_the_warning_says_the_law_misfits_the_cliff(cliff_fit):
    df, _, messages = cliff_fit
    cliff = [m for m in messages if "known to misfit" in m]
    assert cliff and all("high-LR cliff" in m and "far_above=0.03" in m for m in cliff)
    assert all("screen='exclude' does not exclude them" in m for m in cliff)
    assert not any("mis-typed or mis-unit" in m for m in cliff)
    # the mis-typed run keeps today's words
    (suspect,) = [m for m in messages if "known to misfit" not in m]
    assert f"rows {mistyped_row(df)} (" in suspect and "were excluded" in suspect


def test_the_report_says_the_cliff_runs_were_not_excluded(cliff_fit):
    df, fit, _ = cliff_fit
    line = screening_sentence(fit.record.data)
    assert "1 run(s) > 8 robust sd off the fitted law, excluded and the law refitted" in line
    assert "where the law is known to misfit, kept, not excluded by screen='exclude'" in line
    assert "high-LR cliff" in line


def test_the_law_names_only_flagged_runs_on_the_cliff():
    """The hook, without a fit: of the rows asked about, those on the high-LR side of their
    cell and off its floor when the cliff warning applies; none with far_above set or on a
    sweep without a cliff."""
    df = cliff_sweep()
    df.loc[mistyped_row(df), "loss"] *= 1.3
    law = resolve_law("hyperparams")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = law.prepare(bl.load_runs(df))
        cliff = list(df.index[on_the_cliff(df)])
        near = [df.index[(df["lr"] < df["lr"].max()) & ~on_the_cliff(df)][5]]
        asked = cliff[:3] + near + [mistyped_row(df)]
        assert set(law.known_misfits(prepared, asked)) == set(cliff[:3])
        far = resolve_law("hyperparams", {"far_above": 0.03})
        assert far.known_misfits(far.prepare(bl.load_runs(df)), asked) == {}
        # the default SIMULATED sweep has no cliff: its flagged runs would stay suspect ones
        plain = simulate.simulate_video_dit_sweep(seed=0)
        high = list(plain.index[plain["lr"] == plain["lr"].max()][:5])
        assert law.known_misfits(law.prepare(bl.load_runs(plain)), high) == {}


def test_other_laws_name_no_misfits():
    N, D = (a.ravel() for a in np.meshgrid(np.geomspace(1e7, 1e9, 4), [2e9, 2e10]))
    df = simulate.simulate_chinchilla_runs(
        {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37, "N": N, "D": D},
        noise_sd=0.01,
        seed=1,
    )
    law = resolve_law("chinchilla")
    prepared = law.prepare(bl.load_runs(df))
    assert law.known_misfits(prepared, list(prepared.runs.df.index[:3])) == {}


def test_report_line_of_a_warned_fit_and_of_a_later_round():
    """The record alone (no fit): under screen='warn' the cliff runs are 'kept in the fit' with
    the law's reason; runs the refit flags again are not counted as new ones, and new misfits
    of the refit are said to be misfits."""
    reason = "they lie on the high-LR cliff ... Fit only runs near each cell's best"
    warned = {
        "action": "warn",
        "threshold": 8.0,
        "n_screened": 100,
        "flagged": [{"row": "7", "z": -12.0}, {"row": "9", "z": 30.0}],
        "law_misfits": [{"rows": ["7"], "reason": reason}],
    }
    line = screening_sentence({"screening": warned})
    assert "1 run(s) > 8 robust sd off the fitted law, kept in the fit: rows 9 (z +30)" in line
    assert f"where the law is known to misfit, kept in the fit: rows 7 (z -12) ({reason})" in line
    excluded = {
        **warned,
        "action": "exclude",
        "excluded": ["9"],
        "rounds": [
            {
                "flagged": [{"row": "7", "z": -11.0}, {"row": "3", "z": -9.0}],
                "law_misfits": [{"rows": ["7", "3"], "reason": reason}],
            }
        ],
    }
    line = screening_sentence({"screening": excluded})
    assert "excluded and the law refitted without them: rows 9 (z +30)" in line
    assert "kept, not excluded by screen='exclude': rows 7 (z -12)" in line
    assert "after that refit 1 more where the law is known to misfit, kept: rows 3 (z -9) " in (
        line
    )
    assert "(as above)" in line
