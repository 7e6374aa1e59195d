"""paper_repro notes and notebooks: Porian's notes say it is our median (not our interval)
that lies inside or outside the published interval; paper_repro.ipynb's best-cell baseline is
yin.py's surface fit; the README states the commit the coverage study was fitted at, read from
`git log`, and every notebook citation of the study points there. Fast: no fits."""

from __future__ import annotations

import json
import re

import pytest
from conftest import REPO, paper_repro_script

NOTEBOOKS = REPO / "notebooks"


def _cells(name: str) -> list[dict]:
    return json.loads((NOTEBOOKS / name).read_text())["cells"]


def test_porian_notes_say_our_median_is_checked():
    """The notes read "inside/OUTSIDE the published 95% interval" of a check on our median
    only (porian_variants.csv names its column "median inside published 95%")."""
    porian = paper_repro_script("porian")
    assert porian.median_verdict(0.5, 0.4, 0.6) == "our median inside the published 95% interval"
    assert porian.median_verdict(0.7, 0.4, 0.6) == "our median OUTSIDE the published 95% interval"


def test_paper_repro_notebook_baseline_is_yins_surface_fit():
    """Cell 7 fitted the best-cell baseline with the notebook's 2 x 300 + 300 draws (R-hat 1.22,
    23 divergences); yin.surface_fit (>= 1000 warm-up, target_accept 0.95) exists for that fit."""
    (cell,) = [
        c
        for c in _cells("paper_repro.ipynb")
        if c["cell_type"] == "code" and "best-cell baseline" in "".join(c["source"])
    ]
    source = "".join(cell["source"])
    assert "surface = yin.surface_fit(" in source
    assert 'law="chinchilla"' not in source and "**SAMPLER" not in source


@pytest.mark.parametrize("name", ["paper_repro.ipynb", "planning.ipynb"])
def test_notebooks_point_to_the_readme_for_when_the_coverage_study_was_fitted(name):
    """Every markdown cell citing the coverage study says later changes to law hyperparams are
    not in it and points to paper_repro/README.md for the commit it was fitted at, rather than
    repeating a commit that the README reads from `git log`."""
    cited = [
        " ".join("".join(c["source"]).split())
        for c in _cells(name)
        if c["cell_type"] == "markdown" and "hyperparams_coverage" in "".join(c["source"])
    ]
    assert cited
    for words in cited:
        assert "fitted at is said below its table in `paper_repro/README.md`" in words, words
        assert "later changes to the law `hyperparams` are not in it" in words, words
        assert not re.search(r"commit [0-9a-f]{7}", words), words


def _coverage_results(tmp_path, monkeypatch):
    """make_readme with its RESULTS a copy of the committed coverage files in ``tmp_path``."""
    import shutil

    make_readme = paper_repro_script("make_readme")
    results = REPO / "paper_repro" / "results"
    for name in ("hyperparams_coverage.csv", "hyperparams_coverage.md",
                 "hyperparams_coverage_raw.csv"):  # fmt: skip
        shutil.copy(results / name, tmp_path)
    monkeypatch.setattr(make_readme, "RESULTS", tmp_path)
    return make_readme


def test_readme_says_when_the_coverage_table_was_fitted(tmp_path, monkeypatch, capsys):
    """paper_repro/README.md's coverage table says the commit it was fitted at while its raw
    rows do not record one, and not once they do (the title then says it)."""
    import pandas as pd

    make_readme = _coverage_results(tmp_path, monkeypatch)
    said = f"Fitted at {make_readme.added_at('hyperparams_coverage_raw.csv')}"
    text = make_readme.other_tables()
    assert said in text
    assert "Later changes to law `hyperparams`" in text
    readme = (REPO / "paper_repro" / "README.md").read_text()
    assert "Fitted at commit f0b5f84 (2026-11-22)" in readme
    raw = pd.read_csv(tmp_path / "hyperparams_coverage_raw.csv").assign(commit="abc1234")
    raw.to_csv(tmp_path / "hyperparams_coverage_raw.csv", index=False)
    assert "Fitted at " not in make_readme.other_tables()
    capsys.readouterr()


def test_readme_reads_the_fitted_commit_from_git_log(tmp_path, monkeypatch, capsys):
    """FITTED_AT hard-coded "f0b5f84 (2026-11-22)" while its comment said it was read from
    `git log`: the sentence now takes the commit that added the committed raw file (the oldest
    line of `git log --diff-filter=A`) and its date, and says when git is unavailable."""
    make_readme = _coverage_results(tmp_path, monkeypatch)
    provenance = make_readme.bench_provenance
    asked = []

    def fake_git(*args):
        asked.append(args)
        return "9e8d7c6 2031-02-03\n1a2b3c4 2030-01-02"  # newest first, as git log

    monkeypatch.setattr(provenance, "git", fake_git)
    text = make_readme.other_tables()
    assert "Fitted at commit 1a2b3c4 (2030-01-02), as `git log` of" in text
    assert "9e8d7c6" not in text
    (args,) = asked
    assert args[0] == "log" and "--diff-filter=A" in args
    assert args[-1] == "paper_repro/results/hyperparams_coverage_raw.csv"
    monkeypatch.setattr(provenance, "git", lambda *args: "")
    assert "Fitted at commit unknown (no git), as `git log` of" in make_readme.other_tables()
    capsys.readouterr()
