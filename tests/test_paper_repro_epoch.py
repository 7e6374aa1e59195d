"""paper_repro's epoch.py records its fits' NUTS settings and diagnostics; make_readme quotes them.

epoch.py records its fits' NUTS settings (chains, warmup, draws) and epoch_fit.csv its fit's
diagnostics; make_readme.py quotes the settings from the files (it said "4 chains x 1000 + 1000"
for a 2 x 50 + 50 run) and flags a bad R-hat on the Epoch rows. Fast: no fits (stand-ins for
bl.fit).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import paper_repro_script


class _FakeFit:
    """A stand-in for a Fit: the sampler settings it was given, fixed diagnostics, and a
    summary with medians inside Epoch's intervals and wide quantiles."""

    def __init__(self, chains, warmup, draws, r_hat, divergences):
        self.record = SimpleNamespace(
            sampler=SimpleNamespace(chains=chains, warmup=warmup, draws=draws)
        )
        self.diagnostics = SimpleNamespace(max_r_hat=r_hat, divergences=divergences)

    def summary(self, ci):
        lo, hi = f"{50 * (1 - ci):g}%", f"{50 * (1 + ci):g}%"
        median = {"E": 1.8, "A": 500.0, "B": 2500.0, "alpha": 0.35, "beta": 0.37, "a_opt": 0.51}
        return pd.DataFrame({lo: 0.0, "50%": pd.Series(median), hi: 1e9})


def _fake_bl(r_hat, divergences):
    def fit(runs, chains, warmup, draws, **kwargs):
        return _FakeFit(chains, warmup, draws, r_hat, divergences)

    def predict(fit, N, D, ci, **kwargs):
        n = len(N)
        return pd.DataFrame(
            {"median": np.full(n, 2.0), "lower": 1.0, "upper": 3.0}
            | {f"{axis}_outside_decades": 0.0 for axis in ("N", "D")}
        )

    return SimpleNamespace(fit=fit, predict=predict, load_runs=lambda df: df)


def _fake_runs():
    N = np.array([1e8, 2e8, 4e8, 1e9, 2e9, 4e9])
    D = 20 * N
    df = pd.DataFrame({"N": N, "D": D, "C": 6 * N * D, "loss": 2.0})
    return SimpleNamespace(df=df, subset=lambda mask, reason: SimpleNamespace(df=df[mask]))


@pytest.fixture
def epoch_tables(tmp_path, monkeypatch):
    """epoch.py's main() with stand-in fits (R-hat 1.518, 3 divergences) at 3 chains x 50 +
    50 and 2 x 40 + 40 per recovery fit: its three tables, written to ``tmp_path``."""
    epoch = paper_repro_script("epoch")
    monkeypatch.setattr(epoch, "bl", _fake_bl(1.518, 3))
    monkeypatch.setattr(epoch, "bundled", SimpleNamespace(epoch_chinchilla=_fake_runs))
    monkeypatch.setattr(epoch, "RESULTS", tmp_path)
    argv = ["--draws", "50", "--chains", "3", "--recovery-seeds", "2", "--recovery-draws", "40"]
    epoch.main(argv)
    return tmp_path


def test_epoch_tables_record_their_sampler_settings_and_the_fits_diagnostics(epoch_tables):
    fit = pd.read_csv(epoch_tables / "epoch_fit.csv")
    extrap = pd.read_csv(epoch_tables / "epoch_extrapolation.csv")
    recovery = pd.read_csv(epoch_tables / "epoch_recovery.csv")
    for table in (fit, extrap):
        assert (table[["chains", "warmup", "draws"]] == [3, 50, 50]).all().all()
    assert (recovery[["chains", "warmup", "draws"]] == [2, 40, 40]).all().all()
    # epoch_fit.csv now carries its fit's diagnostics, as epoch_extrapolation.csv did
    assert (fit["max_r_hat"] == 1.518).all() and (fit["divergences"] == 3).all()


def test_sampler_columns_refuses_fits_sampled_differently():
    epoch = paper_repro_script("epoch")
    same = [_FakeFit(2, 40, 40, 1.0, 0), _FakeFit(2, 40, 40, 1.0, 0)]
    assert epoch.sampler_columns(same) == {"chains": 2, "warmup": 40, "draws": 40}
    with pytest.raises(ValueError, match="one sampler setting"):
        epoch.sampler_columns([*same, _FakeFit(2, 40, 80, 1.0, 0)])


def _readme(results, tmp_path, monkeypatch) -> str:
    make_readme = paper_repro_script("make_readme")
    monkeypatch.setattr(make_readme, "RESULTS", results)
    out = tmp_path / "README.md"
    make_readme.main(["--out", str(out)])
    return out.read_text()


def test_readme_quotes_the_epoch_settings_the_files_record(
    epoch_tables, tmp_path, monkeypatch, capsys
):
    """A 3 x 50 + 50 Epoch run: the README said "4 chains x 1000 + 1000" (and 2 x 500 + 500
    for the recovery) whatever ran."""
    text = _readme(epoch_tables, tmp_path, monkeypatch)
    capsys.readouterr()
    head = text.split("| paper |")[0]
    assert "Epoch's fit: 3 chains x 50 warm-up + 50 draws" in head
    assert "each of its recovery replications: 2 chains x 40 warm-up + 40 draws" in head
    assert "x 1000" not in text and "x 500 + 500" not in text
    titles = [line for line in text.splitlines() if line.startswith("### Epoch")]
    assert len(titles) == 2
    assert titles[0].endswith("(3 chains x 50 warm-up + 50 draws per fit)"), titles[0]
    assert titles[1].endswith("(2 chains x 40 warm-up + 40 draws per fit)"), titles[1]


def test_readme_flags_a_bad_r_hat_on_the_epoch_rows(epoch_tables, tmp_path, monkeypatch, capsys):
    """epoch_fit.csv had no diagnostics: an unconverged fit's rows read "inside the paper's
    interval" and nothing else."""
    text = _readme(epoch_tables, tmp_path, monkeypatch)
    capsys.readouterr()
    rows = [line for line in text.splitlines() if line.startswith("| Epoch AI (Besiroglu")]
    assert len(rows) == 6
    for row in rows:
        assert row.endswith(
            "inside the paper's interval; fit: max R-hat 1.518 (above 1.01), 3 divergences, "
            "3 chains x 50 warm-up + 50 draws |"
        ), row


def test_readme_says_when_the_epoch_files_record_no_settings(tmp_path, monkeypatch, capsys):
    """Files written before the columns existed: said, not filled in with a guess."""
    results = tmp_path / "results"
    results.mkdir()
    pd.DataFrame(
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
            "inside_paper_interval": [True],
        }
    ).to_csv(results / "epoch_fit.csv", index=False)
    pd.DataFrame({"parameter": ["E"], "coverage_90": [0.9], "data": "simulated"}).to_csv(
        results / "epoch_recovery.csv", index=False
    )
    text = _readme(results, tmp_path, monkeypatch)
    capsys.readouterr()
    head = text.split("| paper |")[0]
    assert "Epoch's fit: sampler settings not recorded" in head
    assert "each of its recovery replications: sampler settings not recorded" in head
    assert "x 1000" not in text
    (row,) = [line for line in text.splitlines() if line.startswith("| Epoch AI (Besiroglu")]
    assert row.endswith("inside the paper's interval; fit diagnostics not recorded |"), row
    (title,) = [line for line in text.splitlines() if line.startswith("### Epoch")]
    assert title.endswith("(sampler settings not recorded)"), title


# ---- epoch.py ----------------------------------------------------------------------------------


def test_epoch_fit_diagnostics_columns():
    """The extrapolation fit had a divergence in a rerun and the tables recorded no
    diagnostics; their rows now carry max R-hat and divergences (over the recovery fits: the
    largest, the sum and how many fits exceed R-hat 1.01)."""
    epoch = paper_repro_script("epoch")

    def fake(r_hat, div):
        return SimpleNamespace(diagnostics=SimpleNamespace(max_r_hat=r_hat, divergences=div))

    assert epoch.fit_diagnostics([fake(1.004, 1)]) == {"max_r_hat": 1.004, "divergences": 1}
    many = epoch.fit_diagnostics([fake(1.004, 0), fake(1.03, 2), fake(1.02, 1)])
    assert many == {"max_r_hat": 1.03, "divergences": 3, "fits_above_r_hat_1.01": 2}
