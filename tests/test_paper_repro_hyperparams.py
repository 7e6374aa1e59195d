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
        self.diagnostics = SimpleNamespace(
            max_r_hat=1.0, min_ess_bulk=400.0, divergences=0, problems=[]
        )
        self.record = SimpleNamespace(
            data={"n_rows_used": 4},
            notes=["2 diverged runs excluded: rows 4, 5"],
            law_options={"bowl": "full"},
            sampler=SimpleNamespace(chains=2, warmup=5, draws=5, seed=0),
        )

    def law_table(self, units="ones", ci=0.9):
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


def _with_stand_ins(hyperparams, monkeypatch):
    """``hyperparams`` (the imported script) with stand-ins for bl.fit, bl.predict,
    bl.load_runs and the runs its parts load or simulate."""
    keys = list(hyperparams.TRUE_LAW)

    def predict(fit, N, D, **kwargs):
        optima = (("eta_opt", 1e-3), ("B_opt", 5e5))
        return pd.DataFrame(
            {f"{q}_{s}": [v] for q, v in optima for s in ("median", "lower", "upper")}
        )

    fake_bl = SimpleNamespace(
        fit=lambda runs, **kwargs: _HpFit(keys), predict=predict, load_runs=lambda df: _hp_runs()
    )
    monkeypatch.setattr(hyperparams, "bl", fake_bl)
    monkeypatch.setattr(hyperparams, "load_bundled", _hp_runs)
    monkeypatch.setattr(hyperparams, "steplaw_dense", _hp_runs)
    monkeypatch.setattr(hyperparams, "simulate_video_dit_sweep", lambda seed: None)
    return hyperparams


@pytest.fixture
def hyperparams_tables(tmp_path, monkeypatch):
    """hyperparams.py's recovery, steplaw and backtest parts with stand-in fits and runs: the
    tables they write, in ``tmp_path / "results"``."""
    hyperparams = _with_stand_ins(paper_repro_script("hyperparams"), monkeypatch)
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


# ---- the coverage study's raw rows: their settings and their fits' diagnostics ------------------


def _coverage_raw(**settings) -> pd.DataFrame:
    """Two replications' raw rows of one constant for both methods (four fits), with the columns
    ``settings`` (a value, or a list of four: one per row) added."""
    raw = pd.DataFrame(
        {
            "rep": [0, 0, 1, 1],
            "method": ["ours", "two_stage"] * 2,
            "quantity": "eta_opt",
            "parameter": "exp_T",
            "covered": [True, False, True, True],
            "width": [0.1, 0.5, 0.2, 0.4],
            "error": [0.01, -0.02, 0.0, 0.03],
            "data": "simulated (VideoDiTTruth, sweep seed 1000)",
        }
    )
    return raw.assign(**settings)


def _coverage_title(raw, tmp_path, *argv) -> str:
    """The title --parts coverage_table writes for the raw rows ``raw`` (with ``argv``)."""
    hyperparams = paper_repro_script("hyperparams")
    raw.to_csv(tmp_path / "hyperparams_coverage_raw.csv", index=False)
    hyperparams.main(["--parts", "coverage_table", "--out", str(tmp_path), *argv])
    return (tmp_path / "hyperparams_coverage.md").read_text().splitlines()[0]


def test_coverage_table_is_titled_from_the_raw_rows_not_the_command(tmp_path, capsys):
    """Re-summarising the committed raw rows titled the table "bowl default, 2x300+300 per fit"
    (this command's --bowl and --cov-iter) while the committed title says "bowl full": the raw
    rows now record their settings and the title is read from them; rows without them say so."""
    old = _coverage_title(_coverage_raw(), tmp_path, "--bowl", "quad", "--cov-iter", "50")
    assert "settings not recorded in the raw file" in old, old
    assert "sampler diagnostics not recorded in the raw file" in old, old
    assert "bowl quad" not in old and "2x50+50" not in old, old
    recorded = _coverage_raw(
        bowl="full", chains=2, warmup=7, draws=9, seed=[0, 0, 1, 1], commit="abc1234"
    )
    title = _coverage_title(recorded, tmp_path, "--bowl", "quad", "--cov-iter", "50")
    capsys.readouterr()
    assert "bowl full, 2x7+9 per fit, sampler seeds 0-1, code abc1234" in title, title
    assert "bowl quad" not in title and "settings not recorded" not in title, title


def test_coverage_table_counts_the_unhealthy_fits(tmp_path, capsys):
    """The title counts the fits (one per replication and method) with sampler problems."""
    raw = _coverage_raw(
        bowl="full", chains=2, warmup=7, draws=9, seed=[0, 0, 1, 1],
        max_r_hat=[1.002, 1.0, 1.31, 1.0], min_ess_bulk=[300.0, 600.0, 12.0, 600.0],
        divergences=[0, 0, 5, 0], sampler_problems=[0, 0, 2, 0],
    )  # fmt: skip
    title = _coverage_title(raw, tmp_path)
    capsys.readouterr()
    assert "1 of 4 fits with sampler problems (max R-hat 1.310, min ESS 12, " in title, title


def test_coverage_rows_record_settings_and_each_fits_diagnostics():
    """The raw rows kept no settings and no diagnostics (the fits ran with warn=False and
    main ignored every UserWarning): each row now carries the settings and the diagnostics of
    the fit behind it (ours or the two-stage baseline)."""
    hyperparams = paper_repro_script("hyperparams")
    keys = list(hyperparams.TRUE_LAW)
    ours, two = _HpFit(keys), _HpFit(keys)
    two.diagnostics = SimpleNamespace(
        max_r_hat=1.2, min_ess_bulk=15.0, divergences=3, problems=["R-hat", "ESS"]
    )
    rows = pd.DataFrame(hyperparams.coverage_rows(4, ours, two, commit="abc1234"))
    assert len(rows) == 2 * len(keys)
    assert (rows["data"] == "simulated (VideoDiTTruth, sweep seed 1004)").all()
    sampler = ours.record.sampler
    assert (rows["bowl"] == ours.record.law_options["bowl"]).all()
    assert (rows[["chains", "warmup", "draws", "seed"]] == [
        sampler.chains, sampler.warmup, sampler.draws, sampler.seed
    ]).all().all()  # fmt: skip
    assert (rows["commit"] == "abc1234").all()
    for method, fit in (("ours", ours), ("two_stage", two)):
        mine = rows[rows["method"] == method]
        d = fit.diagnostics
        assert (mine["max_r_hat"] == d.max_r_hat).all(), method
        assert (mine["min_ess_bulk"] == d.min_ess_bulk).all(), method
        assert (mine["divergences"] == d.divergences).all(), method
        assert (mine["sampler_problems"] == len(d.problems)).all(), method


def test_backtest_records_its_fits_diagnostics(hyperparams_tables, capsys):
    """The backtest table's title and rows said nothing of its two fits' sampler health."""
    capsys.readouterr()
    table = pd.read_csv(hyperparams_tables / "hyperparams_backtest.csv")
    published = table["method"] == "Step Law published (not held out)"
    fitted = table[~published]
    d = _HpFit([]).diagnostics  # the stand-in fits' diagnostics
    assert (fitted["max_r_hat"] == d.max_r_hat).all()
    assert (fitted["min_ess_bulk"] == d.min_ess_bulk).all()
    assert (fitted["divergences"] == d.divergences).all()
    assert table.loc[published, "max_r_hat"].isna().all()
    title = (hyperparams_tables / "hyperparams_backtest.md").read_text().splitlines()[0]
    words = paper_repro_script("hyperparams").health_words(_HpFit([]))
    assert f"ours: {words}; two-stage: {words}" in title, title


# ---- one way of saying a fit's health, one commit helper, fit_health from FIT_DIAGNOSTICS -------


def test_titles_and_progress_say_a_fits_health_one_way(tmp_path, monkeypatch, capsys):
    """The recovery and Step Law titles and the coverage progress line built "max R-hat ...,
    min ESS ..., ... divergences" by hand beside health_words: all now use health_words. The
    coverage raw rows record the checkout's commit as benchmarks/bench_provenance.commit says it
    (hyperparams.py had a git helper of its own, "+ uncommitted changes")."""
    hyperparams = _with_stand_ins(paper_repro_script("hyperparams"), monkeypatch)
    monkeypatch.setattr(hyperparams, "health_words", lambda fit: "HEALTH OF THE FIT")
    answers = {"rev-parse": "abc1234", "status": " M bayeslaws/x.py"}
    monkeypatch.setattr(
        hyperparams.bench_provenance, "git", lambda *args: answers.get(args[0], "")
    )
    results = tmp_path / "results"
    hyperparams.main(
        ["--parts", "recovery,steplaw,coverage", "--reps", "1", "--out", str(results)]
    )
    printed = capsys.readouterr().out
    for name in ("recovery", "steplaw"):
        title = (results / f"hyperparams_{name}.md").read_text().splitlines()[0]
        assert title.endswith(" s, HEALTH OF THE FIT)"), title
    assert "rep 0: HEALTH OF THE FIT\n" in printed, printed
    raw = pd.read_csv(results / "hyperparams_coverage_raw.csv")
    assert (raw["commit"] == hyperparams.bench_provenance.commit()).all()
    assert (raw["commit"] == "abc1234+changes").all()


def test_health_words_say_it_as_the_committed_titles_do():
    """health_words, fed the diagnostics a committed title prints, gives that title's words."""
    import re

    hyperparams = paper_repro_script("hyperparams")
    pattern = re.compile(r"max R-hat ([0-9.]+), min ESS ([0-9]+), ([0-9]+) divergences")
    results = REPO / "paper_repro" / "results"
    for name in ("recovery", "steplaw"):
        title = (results / f"hyperparams_{name}.md").read_text().splitlines()[0]
        found = pattern.search(title)
        assert found, title
        fit = SimpleNamespace(
            diagnostics=SimpleNamespace(
                max_r_hat=float(found[1]), min_ess_bulk=float(found[2]),
                divergences=int(found[3]),
            )
        )  # fmt: skip
        assert hyperparams.health_words(fit) == found[0], name


def test_fit_health_has_a_column_per_fit_diagnostic(monkeypatch):
    """fit_health listed FIT_DIAGNOSTICS's names again by hand: it now follows the tuple."""
    hyperparams = paper_repro_script("hyperparams")
    fit = _HpFit([])
    assert list(hyperparams.fit_health(fit)) == list(hyperparams.FIT_DIAGNOSTICS)
    monkeypatch.setattr(hyperparams, "FIT_DIAGNOSTICS", ("divergences", "max_r_hat"))
    assert hyperparams.fit_health(fit) == {
        "divergences": fit.diagnostics.divergences, "max_r_hat": fit.diagnostics.max_r_hat
    }


def test_hyperparams_loo_provenance_asks_bench_provenance_git(monkeypatch):
    """hyperparams_loo.py had its own git helper beside benchmarks/bench_provenance.git: its
    provenance line now asks bench_provenance's."""
    loo = paper_repro_script("hyperparams_loo")
    answers = {"rev-parse": "abc1234", "diff": "bayeslaws/x.py"}
    monkeypatch.setattr(loo.bench_provenance, "git", lambda *args: answers.get(args[0], ""))
    words = loo.provenance(["--out", "here"])
    assert "`python paper_repro/hyperparams_loo.py --out here`" in words, words
    assert "bayeslaws commit abc1234 (uncommitted changes under bayeslaws/: bayeslaws/x.py" in (
        words
    ), words


def test_main_shows_sampler_warnings_and_ignores_only_divergence_warnings(monkeypatch):
    """main() ignored every UserWarning, SamplerWarning among them; it now ignores only the
    Step Law fits' expected DivergenceWarning, and leaves the filters as it found them."""
    import warnings

    from bayeslaws.inference.diagnostics import SamplerWarning
    from bayeslaws.laws.hyperparams import DivergenceWarning

    hyperparams = paper_repro_script("hyperparams")

    def probe(args):
        warnings.warn("diverged runs excluded", DivergenceWarning, stacklevel=1)
        warnings.warn("max R-hat 1.3", SamplerWarning, stacklevel=1)

    monkeypatch.setattr(hyperparams, "PARTS", {"probe": probe})
    before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        hyperparams.main(["--parts", "probe"])
    assert [w.category for w in seen] == [SamplerWarning]
    assert warnings.filters == before
