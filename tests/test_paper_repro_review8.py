"""paper_repro scripts (review RE): porian's held-out rows carry the held-out fit's diagnostics
and a held-out N_opt row; make_readme.py parses its arguments (--help wrote the README), reads a
two-level header, prints numeric column names as numbers and marks our interval's level beside a
paper's "(95%)"; hyperparams.py's defaults are the committed tables' settings; yin.py prints no
range from fewer than 3 replicates and says how often a fixed-vs-optimal sign is settled;
epoch.py records its fits' diagnostics. Fast: no fits."""

from __future__ import annotations

import shutil
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, repo_script


def _script(name):
    return repo_script(f"paper_repro/{name}.py", f"paper_repro_{name}_review8")


# ---- porian.py ---------------------------------------------------------------------------------


def test_porian_held_out_note_carries_the_held_out_fits_diagnostics():
    """The held-out coverage rows (100%, 92.3%, 81.8%) came from fits run with warn=False whose
    R-hat reached 1.085 with up to 31 divergences, and their notes said nothing of it."""
    porian = _script("porian")
    note = porian.holdout_note(12, 0.0024, 1.085, 10)
    assert note.startswith("12 points; median |rel err| 0.24%")
    assert "max R-hat 1.08" in note and "(above 1.01" in note and "10 divergences" in note
    ok = porian.holdout_note(11, 0.0024, 1.004, 0)
    assert "max R-hat 1.00, 0 divergences" in ok and "above" not in ok


def test_porian_held_out_n_opt_row_counts_inside_and_says_where_the_misses_fall():
    porian = _script("porian")
    vertices = pd.DataFrame(
        {
            "configuration": ["a", "a", "b", "b", "c"],
            "C": [1e19, 2e19, 1e19, 2e19, 1e19],
            "N_opt_lower": [90.0, 190.0, 90.0, 190.0, 90.0],
            "N_opt_upper": [110.0, 210.0, 110.0, 210.0, 110.0],
            "N_opt_authors": [100.0, 200.0, 120.0, 180.0, np.nan],  # in, in, low, high, none
            "N_opt_authors_sd_log": [0.11, 0.12, 0.12, 0.13, np.nan],
        }
    )
    row = porian.n_opt_coverage_row(vertices, "all 3 configurations")
    assert row["quantity"] == "held-out 2 largest budgets, 90% N_opt coverage: all 3 configurations"
    assert row["paper_value"] == "(0.90 nominal)"
    assert row["median"] == pytest.approx(0.5)
    note = row["note"]
    assert note.startswith("2/4 inside 90%")
    assert "misses: 1 with our interval below the authors' optimum, 1 above" in note
    assert "per configuration: a 2/2, b 0/2" in note
    assert "n_star_std" in note and "0.11-0.13" in note
    assert "1 held-out budget(s) without an authors' optimum, not compared" in note  # not dropped


# ---- make_readme.py ----------------------------------------------------------------------------


def test_make_readme_help_writes_nothing(tmp_path):
    """make_readme.py had no argument parser: any argument, --help included, rewrote
    paper_repro/README.md."""
    shutil.copy(REPO / "paper_repro" / "make_readme.py", tmp_path / "make_readme.py")
    (tmp_path / "results").mkdir()
    done = subprocess.run(
        [sys.executable, str(tmp_path / "make_readme.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
    assert not (tmp_path / "README.md").exists()


def _coverage_like() -> pd.DataFrame:
    """A frame shaped as hyperparams.py's coverage table: two-level columns, a named index."""
    raw = pd.DataFrame(
        {
            "quantity": ["B_opt", "B_opt", "B_opt", "B_opt"],
            "parameter": ["c", "c", "exp_N", "exp_N"],
            "method": ["ours", "two_stage"] * 2,
            "coverage": [0.92, 0.86, 0.94, 0.82],
            "bias": [74.1, -751.8, 0.0014, 0.0017],
        }
    )
    table = raw.set_index(["quantity", "parameter", "method"]).unstack("method")
    table[("data", "")] = "simulated (50 sweeps)"
    return table


def test_make_readme_reads_a_two_level_header(tmp_path, monkeypatch):
    """hyperparams_coverage.csv rendered as columns coverage, coverage.1, ... with its second
    header row ("method, , ours, two_stage") and its index names as data rows."""
    make_readme = _script("make_readme")
    _coverage_like().to_csv(tmp_path / "hyperparams_coverage.csv")
    (tmp_path / "hyperparams_coverage.md").write_text("# Coverage title\n")
    monkeypatch.setattr(make_readme, "RESULTS", tmp_path)
    text = make_readme.other_tables()
    head = (
        "| quantity | parameter | coverage ours | coverage two_stage | bias ours | bias two_stage "
        "| data |"
    )
    assert head in text, text
    assert "| B_opt | c | 0.92 | 0.86 | 74.1 | -751.8 | simulated (50 sweeps) |" in text
    assert "coverage.1" not in text and "| method |" not in text and "Unnamed" not in text
    body = [line for line in text.splitlines() if line.startswith("| B_opt")]
    assert len(body) == 2  # the header rows are not read as data


def test_make_readme_prints_numeric_column_names_as_numbers(tmp_path, monkeypatch):
    """The 1.07B grid's columns read "4000000000.0 | 10000000000.0"."""
    make_readme = _script("make_readme")
    grid = pd.DataFrame({4e9: ["0.000173"], 1e10: ["0.000155"]}, index=["ours eta_opt [90%]"])
    grid.to_csv(tmp_path / "hyperparams_grid_1p07B.csv")
    monkeypatch.setattr(make_readme, "RESULTS", tmp_path)
    text = make_readme.other_tables()
    assert "|  | 4e+09 | 1e+10 |" in text, text
    assert "4000000000.0" not in text


def test_make_readme_marks_our_level_beside_a_papers_95_percent(tmp_path, monkeypatch):
    """Porian's paper cells say "(95%)" while ours are 90% (q05/q95) and said nothing."""
    make_readme = _script("make_readme")
    porian = pd.DataFrame(
        {
            "paper": "Porian et al. 2024",
            "quantity": ["a (N_opt ~ C^a): x", "held-out 2 largest budgets, 90% loss coverage: x"],
            "paper_value": ["0.835 [0.824, 0.846] (95%)", "(0.90 nominal)"],
            "median": [0.8556, 1.0],
            "lower": [0.8402, np.nan],
            "upper": [0.8749, np.nan],
            "data": "real",
            "note": "n",
        }
    )
    epoch = pd.DataFrame(
        {
            "quantity": ["Epoch Chinchilla E"],
            "paper_value": [1.817],
            "paper_lower": [1.769],
            "paper_upper": [1.871],
            "median": [1.83],
            "lower": [1.80],
            "upper": [1.86],
            "ci": [0.95],
            "data": ["real"],
        }
    )
    porian.to_csv(tmp_path / "porian.csv", index=False)
    epoch.to_csv(tmp_path / "epoch_fit.csv", index=False)
    monkeypatch.setattr(make_readme, "RESULTS", tmp_path)
    text = make_readme.table()
    assert "| 0.835 [0.824, 0.846] (95%) | 0.8556 [0.8402, 0.8749] (90%) |" in text, text
    assert "| 1.83 [1.8, 1.86] (95%) |" in text and "(95%) (95%)" not in text
    assert "| n/a | 100% (nominal 90%) |" in text  # no interval: no level mark


# ---- hyperparams.py ----------------------------------------------------------------------------


def test_hyperparams_defaults_are_the_committed_tables_settings(monkeypatch):
    """--chains 4 and --cov-iter 400 were the defaults while the committed tables say 2x500+500
    and 2x300+300 per coverage fit."""
    hyperparams = _script("hyperparams")
    seen = []
    monkeypatch.setattr(hyperparams, "PARTS", {"probe": seen.append})
    hyperparams.main(["--parts", "probe"])
    (args,) = seen
    assert (args.chains, args.warmup, args.draws) == (2, 500, 500)
    assert (args.cov_chains, args.cov_iter) == (2, 300)


def test_hyperparams_steplaw_title_counts_against_every_run():
    """The title read "Step Law dense (1225 runs, 181 diverged ... and 505 ... excluded)", as
    if 686 of the 1225 were excluded."""
    hyperparams = _script("hyperparams")
    words = hyperparams.steplaw_runs_words(
        1911, 1225, "181 diverged runs and 505 more than 3% above their cell's best excluded"
    )
    assert words.startswith("1225 of 1911 runs fitted; 181 diverged runs and 505 ")


# ---- yin.py ------------------------------------------------------------------------------------


def test_yin_summarise_gives_no_range_from_fewer_than_three_replicates():
    """The 0.03% near-optimal row at prob >= 0.9 showed -17.5% [-17.5%, -17.5%] from one
    replicate."""
    yin = _script("yin")
    med, lo, hi = yin.summarise([-0.175])
    assert med == pytest.approx(-0.175) and np.isnan(lo) and np.isnan(hi)
    assert np.isnan(yin.summarise([1.0, 2.0])[1])
    med, lo, hi = yin.summarise([1.0, 2.0, 3.0])
    assert med == 2.0 and lo < 2.0 < hi


def _budgets(yin) -> dict:
    c_mg = yin.budget_for("earlier (0.8705 C^0.4294)", yin.N_MOVIE_GEN)
    return {"1e22": yin.C_1E22, f"Movie Gen ({c_mg:.2g})": c_mg}


def _p3(yin, lowers, uppers):
    """Part 3's per-replicate rows at both budgets; the ratio's 90% intervals (lowers, uppers)."""
    lr, batch = yin.fixed_setting(yin.sim.VideoDiTTruth())
    rows = []
    for name in _budgets(yin):
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
    yin = _script("yin")
    truth = yin.sim.VideoDiTTruth()
    p3 = _p3(yin, [-0.86, -0.91, -0.70], [0.23, 0.22, -0.05])
    row, _ = yin.fixed_rows(p3, _budgets(yin), truth)
    assert "sign settled in 1/3" in row["note"]
    assert "range: 5-95% of the 3 replicate medians" in row["note"]
    assert not np.isnan(row["lower"])
    two, _ = yin.fixed_rows(_p3(yin, [-0.86, -0.91], [0.23, 0.22]), _budgets(yin), truth)
    assert np.isnan(two["lower"]) and np.isnan(two["upper"])
    assert "no range: 2 replicate(s)" in two["note"] and "sign settled in 0/2" in two["note"]


def _joint_p2(yin, replicates: int) -> pd.DataFrame:
    """Part 2's per-replicate rows of the joint model (every quantity joint_summary reads)."""
    names = [f"joint N_opt {name}" for name in _budgets(yin)]
    names += [f"joint fixed cut {name}" for name in _budgets(yin)]
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
    yin = _script("yin")
    one = yin.joint_summary(_joint_p2(yin, 1), _budgets(yin), 10)
    assert len(one) == 2 + 2 + 2 * len(yin.MARKED)
    for row in one:
        assert np.isnan(row["lower"]) and np.isnan(row["upper"]), row["quantity"]
        assert "5-95%" not in row["note"] and "no range: 1 replicate(s)" in row["note"]
        assert "2 x 10 + 10 draws" in row["data"]
    for row in yin.joint_summary(_joint_p2(yin, 3), _budgets(yin), None):
        assert "range: 5-95% of the 3 replicate medians" in row["note"], row["quantity"]
        assert row["lower"] < row["median"] < row["upper"] and "data" not in row


def test_yin_truth_only_rewrites_the_joint_rows_notes_and_keeps_their_data(tmp_path):
    """--truth-only recomputes the joint rows from yin_detail.csv (their draws are not there:
    the data cells stay as committed)."""
    yin = _script("yin")
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


# ---- epoch.py ----------------------------------------------------------------------------------


def test_epoch_fit_diagnostics_columns():
    """The extrapolation fit had a divergence in a rerun and the tables recorded no
    diagnostics; their rows now carry max R-hat and divergences (over the recovery fits: the
    largest, the sum and how many fits exceed R-hat 1.01)."""
    epoch = _script("epoch")

    def fake(r_hat, div):
        return SimpleNamespace(diagnostics=SimpleNamespace(max_r_hat=r_hat, divergences=div))

    assert epoch.fit_diagnostics([fake(1.004, 1)]) == {"max_r_hat": 1.004, "divergences": 1}
    many = epoch.fit_diagnostics([fake(1.004, 0), fake(1.03, 2), fake(1.02, 1)])
    assert many == {"max_r_hat": 1.03, "divergences": 3, "fits_above_r_hat_1.01": 2}
