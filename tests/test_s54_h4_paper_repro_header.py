"""paper_repro/README.md's header said that only Epoch's rows carry their fit's NUTS settings
("(Epoch's with its NUTS settings too)"), while liang.csv records them too and make_readme.py
appends them to every Liang row's note. Fast: no fits."""

from __future__ import annotations

import re

import pandas as pd
from conftest import REPO, paper_repro_script


def test_the_header_says_which_fitted_rows_carry_their_nuts_settings(tmp_path):
    make_readme = paper_repro_script("make_readme")
    out = tmp_path / "README.md"
    make_readme.main(["--out", str(out)])
    text = out.read_text()
    header = " ".join(make_readme.header().split())
    clause = re.search(r"those of Liang et al\.'s and Epoch's rows with ([^.]*)\.", header)
    assert clause, "the header no longer says what Liang's and Epoch's notes end with"
    for name, paper in (("liang.csv", "Liang et al."), ("epoch_fit.csv", "Epoch AI")):
        results = pd.read_csv(REPO / "paper_repro" / "results" / name)
        settings = make_readme.sampler_settings(results)
        assert settings, f"{name} no longer records its NUTS settings"
        rows = [line for line in text.splitlines() if line.startswith(f"| {paper}")]
        assert rows and all(settings[0] in row for row in rows), (name, settings)
    # both tables' notes carry the settings: the header says so of both, not of Epoch alone
    assert "NUTS settings" in clause.group(1) and "Epoch's with its" not in clause.group(1)
