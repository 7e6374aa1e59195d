"""paper_repro scripts' command lines: every script writes into ``--out`` (default
paper_repro/results) and its --help says so; the quick-check examples write to a scratch folder;
--help gives the docstring's first paragraph and the main options' defaults; hyperparams.py
rejects an unknown part before running any; yin.py --truth-only without an earlier run says what
is missing; yin's baseline points come from bl.runs.best_run_per_cell (provenance kept); liang's
table is built by liang_table, which main() and notebooks/paper_repro.ipynb both call; the
notebook states the fixed-vs-optimal change as yin.py does (optimal / fixed - 1)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, paper_repro_script, shared_or_skip

import bayeslaws as bl
from bayeslaws.runs import simulate as sim

RESULTS = REPO / "paper_repro" / "results"
SCRIPTS = ("liang", "yin", "porian", "hyperparams", "hyperparams_loo")
# options whose --help must give the default (those each script has)
MAIN_OPTIONS = {
    "liang": ("--seed", "--draws", "--noise-sd", "--law", "--out"),
    "yin": ("--replicates", "--draws", "--joint-draws", "--hp-draws", "--out"),
    "porian": ("--draws", "--warmup", "--seed", "--law", "--window", "--out"),
    "hyperparams": ("--parts", "--reps", "--chains", "--warmup", "--draws", "--seed", "--out"),
    "hyperparams_loo": ("--chains", "--warmup", "--draws", "--seed", "--out"),
}


def _script(name, monkeypatch):
    """paper_repro/<name>.py imported as a module (hyperparams_loo.py puts paper_repro/ and
    benchmarks/ on sys.path: restored after the test)."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    return paper_repro_script(name)


def _snapshot(folder: Path, prefix: str = "") -> dict:
    """{file name: sha256} of ``folder``'s files whose names start with ``prefix`` (a script's
    own committed results, to show them untouched)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.iterdir()
        if p.name.startswith(prefix)
    }


def _help(module, capsys) -> str:
    with pytest.raises(SystemExit) as stop:
        module.main(["--help"])
    assert stop.value.code == 0
    return capsys.readouterr().out


def _option_entries(text: str) -> dict:
    """--help's option entries: {option: its text, joined over its wrapped lines}."""
    entries, current = {}, None
    for line in text.splitlines():
        found = re.match(r"^  (-{1,2}[\w-]+)", line)
        if found:
            current = found.group(1)
            entries[current] = line
        elif current and line.startswith("   "):
            entries[current] += " " + line.strip()
        else:
            current = None
    return {k: " ".join(v.split()) for k, v in entries.items()}


@pytest.mark.parametrize("name", SCRIPTS)
def test_help_gives_the_first_paragraph_the_defaults_and_where_results_go(
    name, monkeypatch, capsys
):
    """liang, porian, yin and hyperparams_loo described themselves by the docstring's first
    line, cut mid-sentence; no option said its default, and no script had --out or said that a
    run rewrites paper_repro/results."""
    module = _script(name, monkeypatch)
    text = _help(module, capsys)
    flat = " ".join(text.split())
    assert " ".join(module.__doc__.split("\n\n")[0].split()) in flat
    entries = _option_entries(text)
    for option in MAIN_OPTIONS[name]:
        assert option in entries, (name, option)
        assert "default" in entries[option], (name, entries[option])
    out = entries["--out"]
    assert str(RESULTS) in out and "replaces the committed" in out, out


def test_quick_check_examples_write_to_a_scratch_folder(monkeypatch):
    """yin.py's "Quick check of every code path" (1 replicate, 100 draws) and hyperparams.py's
    example with --reps 10 overwrote the committed 6-replicate / 50-replication tables."""
    yin = _script("yin", monkeypatch)
    quick = yin.__doc__[yin.__doc__.index("Quick check") : yin.__doc__.index("Writes yin.csv")]
    assert "--out /tmp/" in quick, quick
    hyperparams = _script("hyperparams", monkeypatch)
    example = hyperparams.__doc__[hyperparams.__doc__.index("--reps 10") :].split("\n\n")[0]
    assert "--out /tmp/" in example, example
    loo = _script("hyperparams_loo", monkeypatch)
    quicker = loo.__doc__[loo.__doc__.index("quicker") :].split("\n\n")[0]
    assert "--out /tmp/" in quicker, quicker


def test_liang_main_writes_liang_table_into_out_only(tmp_path, monkeypatch):
    """liang.py wrote paper_repro/results/liang.csv whatever it was asked; it now writes into
    --out, and the table it writes is liang_table's (the function the notebook calls)."""
    liang = _script("liang", monkeypatch)
    built = []
    real_table = liang.liang_table

    def recording_table(*args, **kwargs):
        built.append(real_table(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(liang, "liang_table", recording_table)
    before = _snapshot(RESULTS, "liang")
    out = liang.main(["--draws", "20", "--seed", "1", "--out", str(tmp_path / "scratch")])
    assert _snapshot(RESULTS, "liang") == before
    assert len(built) == 1 and out is built[0]
    written = pd.read_csv(tmp_path / "scratch" / "liang.csv")
    pd.testing.assert_frame_equal(written, pd.read_csv(io.StringIO(out.to_csv(index=False))))
    committed = pd.read_csv(RESULTS / "liang.csv")
    assert list(written.columns) == list(committed.columns)
    assert list(written["quantity"]) == list(committed["quantity"])
    assert written["data"].str.contains("seed 1").all()


def test_yin_main_writes_into_out_only(tmp_path, monkeypatch):
    """yin.py's runs (the quick check too) rewrote the committed yin.csv / yin_detail.csv; with
    --out they go there. Parts 2 and 3 stand in from the committed per-replicate rows (no
    fitting): the same rows come out as yin.csv's."""
    yin = _script("yin", monkeypatch)
    p2, p3 = yin.read_detail(RESULTS / "yin_detail.csv")
    monkeypatch.setattr(yin, "part2", lambda *args, **kwargs: p2)
    monkeypatch.setattr(yin, "part3", lambda *args, **kwargs: p3)
    before = _snapshot(RESULTS, "yin")
    yin.main(["--out", str(tmp_path)])
    assert _snapshot(RESULTS, "yin") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["yin.csv", "yin_detail.csv"]
    ours = pd.read_csv(tmp_path / "yin.csv")
    committed = pd.read_csv(RESULTS / "yin.csv")
    assert list(ours["quantity"]) == list(committed["quantity"])


def test_yin_truth_only_without_an_earlier_run_says_what_is_missing(tmp_path, monkeypatch, capsys):
    """``yin.py --truth-only`` from a clean state ended in a FileNotFoundError traceback on
    results/yin_detail.csv; it now stops with a message naming the folder and what to run."""
    yin = _script("yin", monkeypatch)
    with pytest.raises(SystemExit) as stop:
        yin.main(["--truth-only", "--out", str(tmp_path)])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert f"{tmp_path} has no yin_detail.csv or yin.csv" in err
    assert "without --truth-only first" in err
    shutil.copy(RESULTS / "yin_detail.csv", tmp_path)  # half of an earlier run
    with pytest.raises(FileNotFoundError, match=r"has no yin\.csv: run yin\.py without"):
        yin.truth_only(tmp_path)


def test_yin_truth_only_into_out_reproduces_the_committed_tables(tmp_path, monkeypatch):
    """--truth-only --out DIR rewrites DIR's copy of an earlier run (here the committed one,
    which it leaves byte for byte as it is) and not paper_repro/results."""
    yin = _script("yin", monkeypatch)
    for name in ("yin.csv", "yin_detail.csv"):
        shutil.copy(RESULTS / name, tmp_path / name)
    before = _snapshot(RESULTS, "yin")
    yin.main(["--truth-only", "--out", str(tmp_path)])
    assert _snapshot(RESULTS, "yin") == before
    assert _snapshot(tmp_path) == {k: before[k] for k in ("yin.csv", "yin_detail.csv")}


def test_hyperparams_rejects_an_unknown_part_before_running_any(monkeypatch, capsys):
    """``--parts grid,recovry`` ran the grid part, then ended in a bare KeyError; the parts are
    now checked first, and the error lists the valid ones."""
    hyperparams = _script("hyperparams", monkeypatch)
    ran = []
    monkeypatch.setattr(hyperparams, "part_grid", lambda *args: ran.append("grid"))
    with pytest.raises(SystemExit) as stop:
        hyperparams.main(["--parts", "grid,recovry"])
    assert stop.value.code == 2 and ran == []
    err = capsys.readouterr().err
    assert "unknown part(s) recovry" in err
    assert all(name in err for name in hyperparams.PARTS)


def test_hyperparams_coverage_table_reads_and_writes_out(tmp_path, monkeypatch):
    """hyperparams.py wrote (and --parts coverage_table read) paper_repro/results; with --out
    both are that folder: the committed raw rows copied there give the committed table."""
    hyperparams = _script("hyperparams", monkeypatch)
    shutil.copy(RESULTS / "hyperparams_coverage_raw.csv", tmp_path)
    before = _snapshot(RESULTS, "hyperparams")
    hyperparams.main(["--parts", "coverage_table", "--out", str(tmp_path)])
    assert _snapshot(RESULTS, "hyperparams") == before
    ours = pd.read_csv(tmp_path / "hyperparams_coverage.csv", header=[0, 1], index_col=[0, 1])
    committed = pd.read_csv(RESULTS / "hyperparams_coverage.csv", header=[0, 1], index_col=[0, 1])
    pd.testing.assert_frame_equal(ours, committed)
    assert (tmp_path / "hyperparams_coverage.md").exists()


def test_hyperparams_loo_writes_its_document_into_out(tmp_path, monkeypatch):
    """hyperparams_loo.py wrote paper_repro/results/hyperparams_loo.md after every section;
    with --out it writes there (stopped after its first section: no fits)."""
    loo = _script("hyperparams_loo", monkeypatch)

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(loo, "noiseless_table", lambda runs: pd.DataFrame({"bowl": ["x"]}))
    monkeypatch.setattr(loo, "shapes_and_scales", stop)
    before = _snapshot(RESULTS, "hyperparams")
    with pytest.raises(Stop):
        loo.main(["--out", str(tmp_path)])
    assert _snapshot(RESULTS, "hyperparams") == before
    text = (tmp_path / "hyperparams_loo.md").read_text()
    assert "--out" in text and "Noiseless least squares" in text  # the command, the section


def test_porian_plain_writes_into_out(tmp_path, monkeypatch):
    """porian.py --plain wrote paper_repro/results/porian_plain.*; with --out it writes there
    (the same table as the committed one: no sampling)."""
    shared_or_skip()
    porian = _script("porian", monkeypatch)
    before = _snapshot(RESULTS, "porian")
    porian.main(["--plain", "--out", str(tmp_path)])
    assert _snapshot(RESULTS, "porian") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["porian_plain.csv", "porian_plain.md"]
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "porian_plain.csv"), pd.read_csv(RESULTS / "porian_plain.csv")
    )


def test_yin_baseline_points_are_best_run_per_cell_with_provenance(monkeypatch):
    """yin.best_cells re-implemented bl.runs.best_run_per_cell as a bare DataFrame of N, D, C,
    loss: a fit to it lost the SIMULATED label and the record of the runs left out. It is now
    a RunTable of the same points (each cell's lowest-loss run), with both."""
    yin = _script("yin", monkeypatch)
    sweep = sim.simulate_video_dit_sweep(seed=yin.P2_SEED0)
    points = yin.best_cells(sweep)
    assert isinstance(points, bl.RunTable)
    assert points.simulated == "all"
    assert sum(e.count for e in points.exclusions) == len(sweep) - len(points.df)
    lowest = sweep.loc[sweep.groupby(["N", "D"])["loss"].idxmin()]
    cols = ["N", "D", "C", "loss"]
    pd.testing.assert_frame_equal(
        points.df[cols].reset_index(drop=True), lowest[cols].reset_index(drop=True)
    )


# ---- notebooks/paper_repro.ipynb -------------------------------------------------------------
def _cells():
    return json.loads((REPO / "notebooks" / "paper_repro.ipynb").read_text())["cells"]


def test_notebook_liang_section_calls_the_script():
    """Cells 11-12 re-implemented liang.py's main() (simulation, fit settings, checks) and
    differed from it (exponents only; the unrounded L_opt check); they now call
    liang_fit / liang_table, so the notebook shows the rows the script writes."""
    code = "\n".join("".join(c["source"]) for c in _cells() if c["cell_type"] == "code")
    assert "import liang as liang_repro" in code
    assert "liang_repro.liang_fit(" in code and "liang_repro.liang_table(" in code
    for gone in ("simulate_liang_isoflop(", 'law="isoflop"', "allocation_laws(", "LiangTruth("):
        assert gone not in code, gone


def test_notebook_states_fixed_vs_optimal_as_yin_does():
    """Cell 9 printed the paper's fixed-vs-optimal result as fixed / optimal - 1 (+66%) where
    yin.py, its README and the paper give optimal / fixed - 1 (-39.9%); it now converts with
    yin.cut, yin.py's own function, and prints the paper's number that way."""
    cells = _cells()
    cell = next(
        "".join(c["source"])
        for c in cells
        if c["cell_type"] == "code" and "fixed_vs_optimal_plan(joint" in "".join(c["source"])
    )
    assert cell.count("yin.cut(") == 4  # median, both ends, the truth
    assert "pub.YIN_N_OPT_AT_BUDGET / pub.YIN_N_OPT_FIXED_HP_AT_BUDGET - 1" in cell
    assert "pub.YIN_N_OPT_FIXED_HP_AT_BUDGET / pub.YIN_N_OPT_AT_BUDGET" not in cell
    assert '"N_opt(optimal) / N_opt(fixed) - 1"' in cell
