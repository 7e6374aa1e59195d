"""paper_repro rows a review found saying more than they measure, and a script without --out.

yin.py's near-optimal rows ("smallest N within x% of optimal loss at 1e22 (vs N_opt)") had the
paper's -40.1% as their paper value, though the paper's number is the ratio of two laws' optima
(2.43e9 vs 4.04e9) and these rows measure how far below one law's N_opt a model stays within a
loss tolerance; yin_detail.csv called their (absent) intervals not covering (covered False);
epoch.py had no --out (every run replaced the committed tables); hyperparams.py's Step Law table
printed 0 for the batch law's N exponent, a term neither the published law nor the two-stage fit
has, and its backtest scored the published law beside held-out predictions without saying the
authors fitted it on every size. Fast: no fits (stand-ins for bl.fit).
"""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, paper_repro_script
from test_paper_repro_epoch import _fake_bl, _fake_runs, _readme
from test_paper_repro_hyperparams import _hp_runs, _HpFit

from bayeslaws.laws.hyperparams.two_stage import TwoStageHyperparams
from bayeslaws.runs import published

AS_TEXT = {"dtype": str, "keep_default_na": False}




# ---- yin.py: the near-optimal rows ------------------------------------------------------------


def _p2(yin, replicates: int = 3) -> pd.DataFrame:
    """Part 2's per-replicate baseline rows: N_opt at both budgets (with intervals) and the
    near-optimal band at every tolerance (no interval), as part2 writes them."""
    rows = []
    for r in range(replicates):
        for name, C in yin.headline_budgets().items():
            rows.append(
                {"replicate": r, "quantity": f"N_opt {name}", "C": C, "median": 2.5e9,
                 "lower": 2e9, "upper": 3e9, "truth": 2.44e9}
            )
        for tol in yin.TOLERANCES:
            for prob in yin.PROBS:
                rows.append(
                    {"replicate": r, "quantity": f"near-optimal {tol:g} prob {prob:g}",
                     "C": yin.C_1E22, "median": -0.4 - 0.01 * r, "excess": tol / 2,
                     "truth": -0.4}
                )
    return pd.DataFrame(rows).assign(r_hat=1.0, divergences=0)


def _near(rows) -> list[dict]:
    return [row for row in rows if row["quantity"].startswith("smallest N within")]


def test_near_optimal_rows_call_the_papers_number_a_different_quantity():
    """Their paper value was "-40.1% inference cost at comparable loss", as if the paper had
    measured the same quantity; now it says the paper's number is another quantity, and the
    note says what the row measures, without the paper value's numbers again or why the two
    agree near 0.03% (the module docstring says it once, not every row at 0.5% and 1%)."""
    yin = paper_repro_script("yin")
    p2 = _p2(yin)
    p2["covered"] = yin.interval_covers(p2)  # as part2 writes it
    near = _near(yin.part2_rows(p2, yin.headline_budgets(), yin.TOLERANCES, 3))
    assert len(near) == len(yin.TOLERANCES) * len(yin.PROBS)
    constants = yin.constant_paper_values(yin.headline_budgets())
    for row in near:
        assert row["paper_value"].startswith("paper: a different quantity"), row["paper_value"]
        assert "2.43e9 vs 4.04e9" in row["paper_value"]
        assert constants[row["quantity"]] == row["paper_value"]  # what --truth-only rewrites
        assert "not the paper's quantity" in row["note"]
        assert "how far below one law's N_opt" in row["note"]
        assert "2.43e9" not in row["note"] and "symmetric" not in row["note"], row["note"]
    assert "nearly symmetric in ln N" in yin.__doc__


def test_readme_near_optimal_rows_do_not_give_the_papers_number_as_their_paper_value(
    tmp_path, monkeypatch, capsys
):
    yin = paper_repro_script("yin")
    p2 = _p2(yin)
    p2["covered"] = yin.interval_covers(p2)  # as part2 writes it
    rows = pd.DataFrame(yin.part2_rows(p2, yin.headline_budgets(), yin.TOLERANCES, 3))
    rows.insert(0, "paper", "Yin et al. 2025")
    results = tmp_path / "results"
    results.mkdir()
    rows.to_csv(results / "yin.csv", index=False)
    text = _readme(results, tmp_path, monkeypatch)
    capsys.readouterr()
    cells = [line.split(" | ") for line in text.splitlines() if "smallest N within" in line]
    assert len(cells) == len(yin.TOLERANCES) * len(yin.PROBS)
    for c in cells:
        assert c[2].startswith("paper: a different quantity"), c[2]
        assert c[5].startswith("not the paper's quantity"), c[5]


# ---- yin.py: yin_detail.csv's covered -----------------------------------------------------------


def test_interval_covers_is_missing_without_an_interval():
    yin = paper_repro_script("yin")
    rows = pd.DataFrame(
        {"lower": [1.0, 1.0, np.nan, 1.0], "upper": [3.0, 3.0, np.nan, np.nan],
         "truth": [2.0, 4.0, 2.0, 2.0]}
    )
    covered = yin.interval_covers(rows)
    assert covered.iloc[0] == True  # noqa: E712 (a nullable boolean, not a bool)
    assert covered.iloc[1] == False  # noqa: E712
    assert covered.iloc[2:].isna().all()
    # a frame without interval columns (only near-optimal rows): every row missing
    assert yin.interval_covers(rows[["truth"]]).isna().all()


def test_truth_only_blanks_covered_where_a_detail_row_has_no_interval(tmp_path):
    """yin_detail.csv said covered False for the 60 near-optimal rows, which have no interval
    (part2 compared NaN bounds); --truth-only now writes them blank, and keeps True / False for
    the rows with an interval."""
    yin = paper_repro_script("yin")
    for name in ("yin.csv", "yin_detail.csv"):
        shutil.copy(REPO / "paper_repro" / "results" / name, tmp_path / name)
    detail = pd.read_csv(tmp_path / "yin_detail.csv", low_memory=False)
    near = detail["quantity"].astype(str).str.startswith("near-optimal")
    assert near.sum() > 0
    detail.loc[near & (detail["part"] == 2), "covered"] = False  # as the old part2 wrote them
    detail.to_csv(tmp_path / "yin_detail.csv", index=False)

    yin.truth_only(tmp_path)

    after = pd.read_csv(tmp_path / "yin_detail.csv", **AS_TEXT)
    near = after["quantity"].str.startswith("near-optimal")
    assert (after.loc[near, "covered"] == "").all()
    with_interval = (after["part"] == "2") & (after["lower"] != "") & (after["upper"] != "")
    assert with_interval.sum() > 0
    assert after.loc[with_interval, "covered"].isin(["True", "False"]).all()


# ---- epoch.py --out -----------------------------------------------------------------------------


def test_epoch_writes_its_tables_into_out_and_leaves_the_committed_ones(tmp_path, monkeypatch):
    """epoch.py had no --out: every run replaced paper_repro/results/epoch_*.csv."""
    epoch = paper_repro_script("epoch")
    monkeypatch.setattr(epoch, "bl", _fake_bl(1.0, 0))
    monkeypatch.setattr(epoch, "bundled", SimpleNamespace(epoch_chinchilla=_fake_runs))
    committed = tmp_path / "committed"
    committed.mkdir()
    monkeypatch.setattr(epoch, "RESULTS", committed)
    scratch = tmp_path / "scratch" / "epoch"
    argv = ["--draws", "20", "--chains", "2", "--recovery-seeds", "2", "--recovery-draws", "20"]
    epoch.main([*argv, "--out", str(scratch)])
    names = {"epoch_fit.csv", "epoch_extrapolation.csv", "epoch_recovery.csv"}
    assert {p.name for p in scratch.iterdir()} == names
    assert not any(committed.iterdir())


# ---- hyperparams.py: Step Law tables ------------------------------------------------------------


def _steplaw_tables(tmp_path, monkeypatch, honour_terms: bool = True):
    """hyperparams.py's steplaw and backtest parts with stand-in fits and runs: the folder of
    the tables they write. The two-stage stand-in's law table has no row for a term its
    ``terms`` leaves out (as TwoStageHyperparams.law_table), unless not ``honour_terms``."""
    hyperparams = paper_repro_script("hyperparams")
    keys = list(hyperparams.TRUE_LAW)

    def fit(runs, law_options=None, **kwargs):
        form = (law_options or {}).get("terms", {}) if honour_terms else {}
        absent = hyperparams.absent_terms(form)
        return _HpFit([k for k in keys if k not in absent])

    def predict(fit, N, D, **kwargs):
        optima = (("eta_opt", 1e-3), ("B_opt", 5e5))
        return pd.DataFrame(
            {f"{q}_{s}": [v] for q, v in optima for s in ("median", "lower", "upper")}
        )

    monkeypatch.setattr(hyperparams, "bl", SimpleNamespace(fit=fit, predict=predict))
    monkeypatch.setattr(hyperparams, "steplaw_dense", _hp_runs)
    results = tmp_path / "results"
    hyperparams.main(["--parts", "steplaw,backtest", "--out", str(results)])
    return results


@pytest.fixture
def steplaw_tables(tmp_path, monkeypatch):
    return _steplaw_tables(tmp_path, monkeypatch)


def test_steplaw_table_says_no_term_where_the_form_has_none(steplaw_tables, capsys):
    """The batch law has no N term: the published column showed 0 and the two-stage column
    "0 [0, 0]" (the stand-in fit gives 1 [0.5, 2] there), structural zeros read as
    estimates."""
    capsys.readouterr()
    table = pd.read_csv(steplaw_tables / "hyperparams_steplaw.csv", **AS_TEXT)
    table = table.set_index(["quantity", "parameter"])
    published_col, two = "Step Law published", "two-stage 0.25% (ours)"
    assert table.loc[("B_opt", "exp_N"), published_col] == "no term"
    assert table.loc[("B_opt", "exp_N"), two] == "no term"
    others = table.drop(index=[("B_opt", "exp_N")])
    assert (others[two] == "1 [0.5, 2]").all()
    # every other published cell is the published law's number
    hyperparams = paper_repro_script("hyperparams")
    law = {hyperparams.QUANTITY_OF[hp]: v for hp, v in published.STEPLAW.items()}
    for (quantity, param), value in others[published_col].items():
        expected = law[quantity][{"c": 0, "exp_N": 1, "exp_T": 2}[param]]
        assert float(value) == pytest.approx(expected), (quantity, param)
    md = (steplaw_tables / "hyperparams_steplaw.md").read_text()
    assert "| B_opt | exp_N |" in md and "| no term | no term |" in md


def test_backtest_says_the_published_row_is_not_held_out(
    steplaw_tables, tmp_path, monkeypatch, capsys
):
    """The backtest scored the published law in the held-out table though its authors fitted it
    on their dense runs (the held-out 1.07e9 cells presumably included)."""
    table = pd.read_csv(steplaw_tables / "hyperparams_backtest.csv", **AS_TEXT)
    published = table[table["method"].str.startswith("Step Law published")]
    assert len(published) == table[["N", "D"]].drop_duplicates().shape[0]
    assert (published["method"] == "Step Law published (not held out)").all()
    title = (steplaw_tables / "hyperparams_backtest.md").read_text().splitlines()[0]
    assert "not a held-out prediction" in title, title
    text = _readme(steplaw_tables, tmp_path, monkeypatch)
    capsys.readouterr()
    assert "not a held-out prediction" in text
    assert "| Step Law published (not held out) |" in text


def test_steplaw_two_stage_column_follows_the_two_stage_table(tmp_path, monkeypatch, capsys):
    """The two-stage column said "no term" by the published form, not by the fit's own table:
    a two-stage fit that has the batch law's N exponent shows it, while the published column
    still says the published law has no such term."""
    results = _steplaw_tables(tmp_path, monkeypatch, honour_terms=False)
    capsys.readouterr()
    table = pd.read_csv(results / "hyperparams_steplaw.csv", **AS_TEXT)
    table = table.set_index(["quantity", "parameter"])
    assert table.loc[("B_opt", "exp_N"), "two-stage 0.25% (ours)"] == "1 [0.5, 2]"
    assert table.loc[("B_opt", "exp_N"), "Step Law published"] == "no term"


def _two_stage_posterior(n_draws: int = 400, seed: int = 0) -> SimpleNamespace:
    """A posterior of law "hyperparams_two_stage" with ``terms={"batch_size": "D"}``: no
    batch_N draws (the term is not in the fit)."""
    rng = np.random.default_rng(seed)
    names = ("lr_int", "lr_N", "lr_D", "batch_int", "batch_D", "sigma_lr", "sigma_batch")
    draws = {name: rng.normal(0.3, 0.05, n_draws) for name in names}
    scales = {"lr": np.log(1e-3), "batch_size": np.log(4e5), "N": np.log(1e8), "D": np.log(2e10)}
    return SimpleNamespace(draws=draws, scales=scales, n_draws=n_draws)


def test_two_stage_law_table_has_no_row_for_a_term_the_fit_leaves_out():
    """TwoStageHyperparams.law_table filled the dropped batch N term with zeros: a row
    "0 [0, 0]" (and "N^0.000" in the formula) as if estimated. The row is now left out."""
    law = TwoStageHyperparams(terms={"batch_size": "D"})
    post = _two_stage_posterior()
    table = law.law_table(post, units="ones", ci=0.95)
    assert ("B_opt", "exp_N") not in table.index
    kept = {(q, p) for q in ("eta_opt", "B_opt") for p in ("c", "exp_T", "exp_N")}
    assert set(table.index) == kept - {("B_opt", "exp_N")}
    for (quantity, param), draws in (
        (("eta_opt", "exp_N"), post.draws["lr_N"]),
        (("B_opt", "exp_T"), post.draws["batch_D"]),
    ):
        assert table.loc[(quantity, param), "median"] == pytest.approx(np.median(draws))
    assert "N^" not in table.attrs["formulas"]["B_opt"]
    assert "N^" in table.attrs["formulas"]["eta_opt"]
    assert table.attrs["unit"] == 1.0
