"""The bowl constants and noise that the video-DiT truth's docstring, data/README.md and
benchmarks/output/yin_grid_bowl.txt quote are what the typed 1.07B grid gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bayeslaws.runs import simulate

REPO = Path(__file__).resolve().parents[1]


def _bowl_fit_and_roughness():
    """Least squares of the truth's bowl on the typed 1.07B grid (one loss offset per token
    budget, asymmetry fixed): (k_lr, k_batch, k_cross, residual rms) and the rms of the grid's
    second differences along LR (24 of them), all in loss units."""
    truth = simulate.VideoDiTTruth()
    grid = pd.read_csv(REPO / "data" / "yin2025_grid_1p07B.csv")
    N, D, lr, b, y = (grid[c].to_numpy(float) for c in ("N", "D", "lr", "batch_size", "loss"))
    u = np.log(lr / truth.eta_opt(N, D))
    v = np.log(b / truth.b_opt(N, D))
    curv_u = np.where(u > 0, 1 + truth.lr_asymmetry, 1.0) * u**2
    budgets = np.unique(D)
    X = np.column_stack([(D == d).astype(float) for d in budgets] + [curv_u, v**2, u * v])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = np.sqrt(np.mean((y - X @ coef) ** 2))
    rows = grid.groupby(["D", "batch_size"])
    second = np.concatenate([np.diff(g.sort_values("lr")["loss"].to_numpy(), 2) for _, g in rows])
    assert second.size == 24
    return (*coef[len(budgets) :], resid), np.sqrt(np.mean(second**2))


def test_bowl_and_noise_notes_quote_what_the_grid_gives():
    (k_lr, k_batch, k_cross, resid), rough = _bowl_fit_and_roughness()
    assert (round(k_lr, 5), round(k_batch, 4), round(k_cross, 5)) == (0.00046, 0.0016, -0.00126)
    assert round(resid, 5) == 0.00038 and round(rough, 5) == 0.00076
    assert round(rough / np.sqrt(6), 4) == 0.0003  # the noise those differences imply
    doc = " ".join(simulate.VideoDiTTruth.__doc__.split())
    assert "k_lr = 0.00046, k_batch = 0.0016, k_cross = -0.00126" in doc
    assert "residual rms 0.00038" in doc and "0.00076" in doc
    assert "second differences along LR: ~0.0003 absolute" not in doc  # the old wording
    readme = " ".join((REPO / "data" / "README.md").read_text().split())
    assert "rounded from a least-squares fit" in readme
    assert "0.00046, 0.0016 and -0.00126" in readme


def test_the_bowl_script_reproduces_its_committed_output(tmp_path):
    """The notes above quote benchmarks/output/yin_grid_bowl.txt: its script, rerun, writes
    that file byte for byte (the typed grid and the truth's constants unchanged)."""
    from conftest import repo_script

    script = repo_script("benchmarks/yin_grid_bowl.py", "yin_grid_bowl_review9")
    out = tmp_path / "bowl.txt"
    script.main(["--out", str(out)])
    assert out.read_text() == (REPO / "benchmarks" / "output" / "yin_grid_bowl.txt").read_text()
