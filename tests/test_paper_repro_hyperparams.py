"""paper_repro's hyperparams.py: its defaults, its tables' labels, and make_readme rendering them.

hyperparams.py's defaults are the committed tables' settings; its tables name their index
columns and say their data (the Step Law tables' REAL titles and data column, counted against
every run), which make_readme.py renders as written, adding no label of its own. Fast: no fits
(stand-ins for bl.fit).
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest
from conftest import REPO, paper_repro_script


def _readme(results, tmp_path, monkeypatch) -> str:
    make_readme = paper_repro_script("make_readme")
    monkeypatch.setattr(make_readme, "RESULTS", results)
    out = tmp_path / "README.md"
    make_readme.main(["--out", str(out)])
    return out.read_text()


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
    hyperparams = paper_repro_script("hyperparams")
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


# ---- hyperparams.py ----------------------------------------------------------------------------


def test_hyperparams_defaults_are_the_committed_tables_settings(monkeypatch):
    """--chains 4 and --cov-iter 400 were the defaults while the committed tables say 2x500+500
    and 2x300+300 per coverage fit."""
    hyperparams = paper_repro_script("hyperparams")
    seen = []
    monkeypatch.setattr(hyperparams, "PARTS", {"probe": seen.append})
    hyperparams.main(["--parts", "probe"])
    (args,) = seen
    assert (args.chains, args.warmup, args.draws) == (2, 500, 500)
    assert (args.cov_chains, args.cov_iter) == (2, 300)


def test_hyperparams_steplaw_title_counts_against_every_run():
    """The title read "Step Law dense (1225 runs, 181 diverged ... and 505 ... excluded)", as
    if 686 of the 1225 were excluded."""
    hyperparams = paper_repro_script("hyperparams")
    words = hyperparams.steplaw_runs_words(
        1911, 1225, "181 diverged runs and 505 more than 3% above their cell's best excluded"
    )
    assert words.startswith("1225 of 1911 runs fitted; 181 diverged runs and 505 ")
