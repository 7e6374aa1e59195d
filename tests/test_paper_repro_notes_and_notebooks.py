"""paper_repro notes and notebooks: Porian's notes say it is our median (not our interval)
that lies inside or outside the published interval; paper_repro.ipynb's best-cell baseline is
yin.py's surface fit; every citation of the coverage study states the commit it was fitted at.
Fast: no fits."""

from __future__ import annotations

import json

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
    source = (REPO / "paper_repro" / "porian.py").read_text()
    assert "'OUTSIDE'} the published 95% interval" not in source


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
def test_notebooks_say_when_the_coverage_study_was_fitted(name):
    """The coverage study was fitted at f0b5f84; later changes to law hyperparams are not in
    it, and every markdown cell citing it says so."""
    cited = [
        " ".join("".join(c["source"]).split())
        for c in _cells(name)
        if c["cell_type"] == "markdown" and "hyperparams_coverage" in "".join(c["source"])
    ]
    assert cited
    for words in cited:
        assert "fitted at commit f0b5f84 (2026-11-22" in words, words
        assert "later changes to the law `hyperparams` are not in it" in words, words


def test_readme_says_when_the_coverage_table_was_fitted(tmp_path, monkeypatch, capsys):
    """paper_repro/README.md's coverage table says the commit it was fitted at while its raw
    rows do not record one, and not once they do (the title then says it)."""
    import shutil

    import pandas as pd

    make_readme = paper_repro_script("make_readme")
    results = REPO / "paper_repro" / "results"
    for name in ("hyperparams_coverage.csv", "hyperparams_coverage.md",
                 "hyperparams_coverage_raw.csv"):  # fmt: skip
        shutil.copy(results / name, tmp_path)
    monkeypatch.setattr(make_readme, "RESULTS", tmp_path)
    text = make_readme.other_tables()
    assert "Fitted at commit f0b5f84 (2026-11-22)" in text
    assert "Later changes to law `hyperparams`" in text
    readme = (REPO / "paper_repro" / "README.md").read_text()
    assert "Fitted at commit f0b5f84 (2026-11-22)" in readme
    raw = pd.read_csv(tmp_path / "hyperparams_coverage_raw.csv").assign(commit="abc1234")
    raw.to_csv(tmp_path / "hyperparams_coverage_raw.csv", index=False)
    assert "Fitted at commit f0b5f84" not in make_readme.other_tables()
    capsys.readouterr()
