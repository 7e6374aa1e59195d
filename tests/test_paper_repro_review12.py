"""paper_repro (review 12): epoch.py records its fits' NUTS settings (chains, warmup, draws) and
epoch_fit.csv its fit's diagnostics; make_readme.py quotes the settings from the files (it said
"4 chains x 1000 + 1000" for a 2 x 50 + 50 run) and flags a bad R-hat on the Epoch rows (they
read "inside the paper's interval" and nothing else); hyperparams.py's tables name their index
columns and say their data (the Step Law tables' REAL titles and data column), which
make_readme.py had patched in. Fast: no fits (stand-ins for bl.fit)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, repo_script


def _script(name):
    return repo_script(f"paper_repro/{name}.py", f"paper_repro_{name}_review12")


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
    epoch = _script("epoch")
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
    epoch = _script("epoch")
    same = [_FakeFit(2, 40, 40, 1.0, 0), _FakeFit(2, 40, 40, 1.0, 0)]
    assert epoch.sampler_columns(same) == {"chains": 2, "warmup": 40, "draws": 40}
    with pytest.raises(ValueError, match="one sampler setting"):
        epoch.sampler_columns([*same, _FakeFit(2, 40, 80, 1.0, 0)])


def _readme(results, tmp_path, monkeypatch) -> str:
    make_readme = _script("make_readme")
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


class _HpFit:
    """A stand-in for a law "hyperparams" fit: a law table over hyperparams.py's TRUE_LAW keys
    (unnamed index, as Fit.law_table gives it), fixed diagnostics and record."""

    def __init__(self, keys):
        self.keys = list(keys)
        self.diagnostics = SimpleNamespace(max_r_hat=1.0, min_ess_bulk=400.0, divergences=0)
        self.record = SimpleNamespace(
            data={"n_rows_used": 4},
            notes=["2 diverged runs excluded: rows 4, 5"],
            law_options={"bowl": "full"},
            sampler=SimpleNamespace(chains=2, warmup=5, draws=5, seed=0),
        )

    def law_table(self, units, ci):
        index = pd.MultiIndex.from_tuples(self.keys)
        return pd.DataFrame({"median": 1.0, "lower": 0.5, "upper": 2.0}, index=index)

    def summary(self):
        return pd.DataFrame({"mean": [1.0]})


def _hp_runs():
    """A stand-in RunTable with cells on both sides of the backtest's N = 1e9 split."""
    df = pd.DataFrame(
        {
            "N": [1e8, 1e8, 2e9, 2e9, 2e9, 2e9],
            "D": 2e10,
            "lr": [1e-3, 2e-3, 1e-3, 2e-3, 1e-3, 2e-3],
            "batch_size": [4e5, 8e5, 4e5, 8e5, 8e5, 4e5],
            "loss": [2.3, 2.2, 2.1, 2.0, 5.0, 5.0],
            "diverged": [False, False, False, False, True, True],
        }
    )
    return SimpleNamespace(df=df, exclude=lambda mask, reason: SimpleNamespace(df=df[~mask]))


@pytest.fixture
def hyperparams_tables(tmp_path, monkeypatch):
    """hyperparams.py's recovery, steplaw and backtest parts with stand-in fits and runs: the
    tables they write, in ``tmp_path / "results"``."""
    hyperparams = _script("hyperparams")
    keys = list(hyperparams.TRUE_LAW)

    def predict(fit, N, D, **kwargs):
        optima = (("eta_opt", 1e-3), ("B_opt", 5e5))
        return pd.DataFrame(
            {f"{q}_{s}": [v] for q, v in optima for s in ("median", "lower", "upper")}
        )

    fake_bl = SimpleNamespace(fit=lambda runs, **kwargs: _HpFit(keys), predict=predict)
    monkeypatch.setattr(hyperparams, "bl", fake_bl)
    monkeypatch.setattr(hyperparams, "load_bundled", _hp_runs)
    monkeypatch.setattr(hyperparams, "steplaw_dense", _hp_runs)
    results = tmp_path / "results"
    hyperparams.main(["--parts", "recovery,steplaw,backtest", "--out", str(results)])
    return results


def test_hyperparams_tables_name_their_index_and_say_their_data(hyperparams_tables, capsys):
    """hyperparams_recovery.csv's index columns were written unnamed (header ",,truth ...") and
    the Step Law tables said nowhere that their data are real: make_readme.py patched both in
    (INDEX_NAMES, DATA_LABELS). The script now writes them: named index columns, a REAL title
    and a ``data`` column."""
    capsys.readouterr()
    recovery = pd.read_csv(hyperparams_tables / "hyperparams_recovery.csv", nrows=0)
    assert list(recovery.columns[:2]) == ["quantity", "parameter"]
    md = (hyperparams_tables / "hyperparams_recovery.md").read_text()
    assert "| quantity | parameter |" in md
    for name in ("steplaw", "backtest"):
        table = pd.read_csv(hyperparams_tables / f"hyperparams_{name}.csv")
        assert table["data"].str.startswith("real (").all(), name
        title = (hyperparams_tables / f"hyperparams_{name}.md").read_text().splitlines()[0]
        assert " REAL " in title, title


def test_readme_renders_the_hyperparams_tables_as_written(
    hyperparams_tables, tmp_path, monkeypatch, capsys
):
    """The README's titles are the .md titles as hyperparams.py wrote them, and its headers the
    CSVs' columns: make_readme.py adds no label or name of its own."""
    text = _readme(hyperparams_tables, tmp_path, monkeypatch)
    capsys.readouterr()
    titles = {line[4:] for line in text.splitlines() if line.startswith("### ")}
    mds = sorted(hyperparams_tables.glob("hyperparams_*.md"))
    assert titles == {md.read_text().splitlines()[0][2:] for md in mds}
    assert "| quantity | parameter | truth (Yin et al.) |" in text
    backtest = text.split("From `results/hyperparams_backtest.csv`.")[1].split("###")[0]
    head = backtest.strip().splitlines()[0]
    assert head.startswith("| N | D | method |") and head.endswith("| data |"), head


def test_readme_adds_no_data_label_of_its_own(tmp_path, monkeypatch, capsys):
    """A title that says neither real nor simulated is the script's to fix: the README used to
    append "(REAL data: Step Law's dense runs)" to hyperparams_steplaw's."""
    results = tmp_path / "results"
    results.mkdir()
    steplaw = pd.DataFrame(
        {"ours median": [0.26]},
        index=pd.MultiIndex.from_tuples([("eta_opt", "exp_T")], names=["quantity", "parameter"]),
    )
    steplaw.to_csv(results / "hyperparams_steplaw.csv")
    (results / "hyperparams_steplaw.md").write_text("# Step Law dense (1225 runs)\n")
    text = _readme(results, tmp_path, monkeypatch)
    capsys.readouterr()
    titles = [line for line in text.splitlines() if line.startswith("### ")]
    assert titles == ["### Step Law dense (1225 runs)"]


def test_committed_hyperparams_tables_carry_their_labels():
    """The committed tables carry what the script now writes (named index columns, the data
    label in the title and the ``data`` column), and paper_repro/README.md quotes their titles
    as written."""
    results = REPO / "paper_repro" / "results"
    readme = (REPO / "paper_repro" / "README.md").read_text()
    recovery = pd.read_csv(results / "hyperparams_recovery.csv", nrows=0)
    assert list(recovery.columns[:2]) == ["quantity", "parameter"]
    for name in ("recovery", "steplaw", "backtest"):
        table = pd.read_csv(results / f"hyperparams_{name}.csv")
        kind = "simulated" if name == "recovery" else "real"
        assert table["data"].str.startswith(f"{kind} (").all(), name
        title = (results / f"hyperparams_{name}.md").read_text().splitlines()[0]
        assert f" {kind.upper()} " in title, title
        assert f"\n{title.replace('# ', '### ', 1)}\n" in readme, title
