"""paper_repro's yin.py summaries: ranges from replicates and the settled signs.

yin.py prints no range from fewer than 3 replicates, says how often a fixed-vs-optimal sign is
settled and when the joint rows have no range, and --truth-only rewrites the joint rows' notes
keeping their data. Fast: no fits.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, paper_repro_script

# ---- yin.py ------------------------------------------------------------------------------------


def test_yin_summarise_gives_no_range_from_fewer_than_three_replicates():
    """The 0.03% near-optimal row at prob >= 0.9 showed -17.5% [-17.5%, -17.5%] from one
    replicate."""
    yin = paper_repro_script("yin")
    med, lo, hi = yin.summarise([-0.175])
    assert med == pytest.approx(-0.175) and np.isnan(lo) and np.isnan(hi)
    assert np.isnan(yin.summarise([1.0, 2.0])[1])
    med, lo, hi = yin.summarise([1.0, 2.0, 3.0])
    assert med == 2.0 and lo < 2.0 < hi


def _p3(yin, lowers, uppers):
    """Part 3's per-replicate rows at both budgets; the ratio's 90% intervals (lowers, uppers)."""
    lr, batch = yin.fixed_setting(yin.sim.VideoDiTTruth())
    rows = []
    for name in yin.headline_budgets():
        for r, (lo, hi) in enumerate(zip(lowers, uppers, strict=True)):
            for s, m, a, b in (
                ("optimal", 2e9, 1e9, 4e9),
                ("fixed", 5e9, 2e9, 9e9),
                ("optimal/fixed - 1", -0.58 - 0.01 * r, lo, hi),
            ):
                rows.append(
                    {"replicate": r, "setting": s, "budget": name, "median": m, "lower": a,
                     "upper": b, "lr_fixed": lr, "batch_fixed": batch}
                )
    return pd.DataFrame(rows)


def test_yin_fixed_rows_say_how_often_the_sign_is_settled():
    """The fixed-vs-optimal baseline row showed -58.0% [-64.5%, -56.4%] (a range of 3
    replicate medians) while each replicate's own 90% interval spanned zero; the note now says
    "sign settled in k/n" as the joint rows do, and no range comes from fewer than 3."""
    yin = paper_repro_script("yin")
    truth = yin.sim.VideoDiTTruth()
    p3 = _p3(yin, [-0.86, -0.91, -0.70], [0.23, 0.22, -0.05])
    row, _ = yin.fixed_rows(p3, yin.headline_budgets(), truth)
    assert "sign settled in 1/3" in row["note"]
    assert "range: 5-95% of the 3 replicate medians" in row["note"]
    assert not np.isnan(row["lower"])
    two, _ = yin.fixed_rows(_p3(yin, [-0.86, -0.91], [0.23, 0.22]), yin.headline_budgets(), truth)
    assert np.isnan(two["lower"]) and np.isnan(two["upper"])
    assert "no range: 2 replicate(s)" in two["note"] and "sign settled in 0/2" in two["note"]


def _joint_p2(yin, replicates: int) -> pd.DataFrame:
    """Part 2's per-replicate rows of the joint model (every quantity joint_summary reads)."""
    names = [f"joint N_opt {name}" for name in yin.headline_budgets()]
    names += [f"joint fixed cut {name}" for name in yin.headline_budgets()]
    names += [
        f"joint {k} 1.07B {T / 1e9:g}B" for T, _, _ in yin.MARKED for k in ("B_opt", "eta_opt")
    ]
    return pd.DataFrame(
        [
            {"quantity": q, "replicate": r, "median": 1e-4 * (1 + 0.1 * r), "lower": 5e-5,
             "upper": 2e-4, "truth": 1e-4, "covered": True, "settled": False}
            for q in names
            for r in range(replicates)
        ]
    )


def test_yin_joint_rows_say_when_they_have_no_range():
    """`bayeslaws repro` runs yin.py --replicates 1: the joint rows' notes said "median and
    5-95% range of the replicates' posterior medians" (or "replicate medians") beside a NaN
    range; they now say how the range was formed, as the baseline rows do."""
    yin = paper_repro_script("yin")
    one = yin.joint_summary(_joint_p2(yin, 1), yin.headline_budgets(), 10)
    assert len(one) == 2 + 2 + 2 * len(yin.MARKED)
    for row in one:
        assert np.isnan(row["lower"]) and np.isnan(row["upper"]), row["quantity"]
        assert "5-95%" not in row["note"] and "no range: 1 replicate(s)" in row["note"]
        assert "2 x 10 + 10 draws" in row["data"]
    for row in yin.joint_summary(_joint_p2(yin, 3), yin.headline_budgets(), None):
        assert "range: 5-95% of the 3 replicate medians" in row["note"], row["quantity"]
        assert row["lower"] < row["median"] < row["upper"] and "data" not in row


def test_yin_truth_only_rewrites_the_joint_rows_notes_and_keeps_their_data(tmp_path):
    """--truth-only recomputes the joint rows from yin_detail.csv (their draws are not there:
    the data cells stay as committed)."""
    yin = paper_repro_script("yin")
    for name in ("yin.csv", "yin_detail.csv"):
        shutil.copy(REPO / "paper_repro" / "results" / name, tmp_path / name)
    before = pd.read_csv(tmp_path / "yin.csv", dtype=str, keep_default_na=False)
    out = yin.truth_only(tmp_path)
    joint = out["quantity"].str.contains(yin.JOINT, regex=False)
    assert joint.sum() == 8
    assert (out.loc[joint, "data"] == before.loc[joint, "data"]).all()
    assert (out.loc[joint, "median"] == before.loc[joint, "median"]).all()
    for note in out.loc[joint, "note"]:
        assert "5-95% range of the replicates' posterior medians" not in note
        assert "range: 5-95% of the 6 replicate medians" in note
