"""paper_repro's Liang reproduction records the sampler diagnostics of its fit, and
make_readme.py shows them: `bayeslaws repro --only liang --draws 100` wrote a README listing an
unconverged Liang fit (R-hat 1.2) with nothing saying so."""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import paper_repro_script


def _liang_rows(**columns) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "paper": "Liang et al. 2024",
            "quantity": ["N_opt exponent", "N_opt at 1.5e21 FLOPs (params)"],
            "paper_value": [0.5681, 958.3e6],
            "median": [0.569, 9.6e8],
            "lower": [0.56, 9.0e8],
            "upper": [0.58, 1.0e9],
            "data": "simulated (LiangTruth)",
            "note": ["", "extrapolation 2.4 decades beyond the largest budget"],
            **columns,
        }
    )


def _readme_rows(tmp_path, monkeypatch, liang: pd.DataFrame) -> list[str]:
    """The README table rows make_readme.py writes for a liang.csv holding ``liang``."""
    make_readme = paper_repro_script("make_readme")
    liang.to_csv(tmp_path / "liang.csv", index=False)
    monkeypatch.setattr(make_readme, "RESULTS", tmp_path)
    return [line for line in make_readme.table().splitlines() if "Liang et al." in line]


def test_readme_notes_the_diagnostics_of_liangs_fit(tmp_path, monkeypatch):
    rows = _readme_rows(tmp_path, monkeypatch, _liang_rows(max_r_hat=1.2, divergences=3))
    assert len(rows) == 2
    assert all(r.endswith("fit: max R-hat 1.200 (above 1.01), 3 divergences |") for r in rows)
    assert "extrapolation 2.4 decades beyond the largest budget; fit: max R-hat" in rows[1]
    healthy = _readme_rows(tmp_path, monkeypatch, _liang_rows(max_r_hat=1.004, divergences=0))
    assert all(r.endswith("fit: max R-hat 1.004, 0 divergences |") for r in healthy)
    assert not any("above" in r for r in healthy)


def test_readme_says_when_liangs_fit_diagnostics_were_not_recorded(tmp_path, monkeypatch):
    """A liang.csv written before the script recorded them: said, not left silent."""
    rows = _readme_rows(tmp_path, monkeypatch, _liang_rows())
    assert rows and all("fit diagnostics not recorded" in r for r in rows)


def test_liang_script_records_its_fits_diagnostics(tmp_path, monkeypatch):
    """liang.py at tiny draws: every row of liang.csv carries the fit's own largest R-hat and
    divergence count, and the README built from it shows them."""
    import bayeslaws as bl

    liang = paper_repro_script("liang")
    fits = []
    real_fit = bl.fit

    def recording_fit(*args, **kwargs):
        fits.append(real_fit(*args, **kwargs))
        return fits[-1]

    monkeypatch.setattr(liang.bl, "fit", recording_fit)
    monkeypatch.setattr(liang, "RESULTS", tmp_path)
    liang.main(["--draws", "20", "--seed", "1"])
    assert len(fits) == 1
    table = pd.read_csv(tmp_path / "liang.csv")
    d = fits[0].diagnostics
    np.testing.assert_allclose(table["max_r_hat"], d.max_r_hat)
    assert (table["divergences"] == d.divergences).all()
    rows = _readme_rows(tmp_path, monkeypatch, table)
    assert len(rows) == len(table)
    assert all(f"fit: max R-hat {d.max_r_hat:.3f}" in r for r in rows)
