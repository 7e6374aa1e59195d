"""``fit --out`` must end in .nc and ``report --out`` in .html/.htm (a netCDF or HTML file is
not written under another suffix)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import cli_error_line

from bayeslaws.app.cli import EXIT_BAD_INPUT, main


def grid() -> pd.DataFrame:
    """SIMULATED: 6 sizes x 4 token counts, C = 6ND exactly, loss from a Chinchilla-like law."""
    N, D = np.meshgrid(np.geomspace(2e7, 5e8, 6), [4e8, 1e9, 3e9, 1e10])
    N, D = N.ravel(), D.ravel()
    loss = 1.8 + 400 / N**0.34 + 2000 / D**0.36
    return pd.DataFrame({"N": N, "D": D, "C": 6 * N * D, "loss": loss})


# ---- F5: output suffixes ------------------------------------------------------------------------
def test_fit_out_must_end_in_nc(tmp_path, capsys):
    runs = tmp_path / "runs.csv"
    grid().to_csv(runs, index=False)
    out = tmp_path / "fitout.csv"
    argv = ["fit", runs, "--out", out, "--chains", "1", "--warmup", "20", "--draws", "20"]
    assert main([str(a) for a in argv]) == EXIT_BAD_INPUT
    line = cli_error_line(capsys.readouterr().err)
    assert "a fit is saved as netCDF: give a file ending in .nc" in line
    assert repr(str(tmp_path / "fitout.nc")) in line and not out.exists()


def test_report_out_must_end_in_html(tmp_path, capsys, simulated_fit):
    fit = simulated_fit.save(tmp_path / "fit.nc")
    out = tmp_path / "rep.pdf"
    assert main(["report", str(fit), "--out", str(out)]) == EXIT_BAD_INPUT
    line = cli_error_line(capsys.readouterr().err)
    assert "--out" in line and "give a file ending in .html or .htm" in line
    assert not out.exists() and not (tmp_path / "rep_figures").exists()
