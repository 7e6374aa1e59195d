"""Review 8 of the simulators, the third-party loaders and the data notes (SIMULATED data and
tiny stand-in tables in tmp folders; no ../shared data needed):

* ``simulate_liang_isoflop(n_per_budget=1)`` puts its one size at the optimum (it was 10x below);
* ``simulate_video_dit_sweep`` takes a scalar ``sizes`` / ``tokens`` (a raw TypeError before);
* ``porian_isoflop`` with a misspelt column lists the configuration columns;
* ``BAYESLAWS_SHARED_DATA`` naming a folder without the tables (shared/ rather than shared/data/)
  is SharedDataMissing with a hint, and ``bayeslaws repro`` skips the scripts that need them;
* the bowl constants and noise of the video-DiT truth are described as what the 1.07B grid gives.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import porian_stand_in

from bayeslaws.app import repro
from bayeslaws.runs import bundled, simulate
from bayeslaws.runs.checks import UnknownNameError

REPO = Path(__file__).resolve().parents[1]


def test_liang_one_size_per_budget_is_the_optimum():
    truth = simulate.LiangTruth()
    budgets = (1e17, 1e18)
    df = simulate.simulate_liang_isoflop(0, budgets=budgets, n_per_budget=1, noise_sd=0)
    assert len(df) == 2
    np.testing.assert_allclose(df["N"], truth.n_opt(np.array(budgets)), rtol=1e-12)
    np.testing.assert_allclose(df["loss"], truth.l_opt(np.array(budgets)), rtol=1e-12)
    # more than one size: still the symmetric spread (the ends 10x off at spread_decades=1)
    three = simulate.simulate_liang_isoflop(0, budgets=(1e18,), n_per_budget=3, noise_sd=0)
    np.testing.assert_allclose(three["N"] / truth.n_opt(1e18), [0.1, 1.0, 10.0], rtol=1e-12)


def test_video_dit_sweep_takes_scalar_sizes_and_tokens():
    one = simulate.simulate_video_dit_sweep(sizes=1e8, tokens=4e9, grid_points=(2, 2))
    same = simulate.simulate_video_dit_sweep(sizes=[1e8], tokens=[4e9], grid_points=(2, 2))
    pd.testing.assert_frame_equal(one, same)
    assert one["N"].unique().tolist() == [1e8] and one["D"].unique().tolist() == [4e9]
    sizes_only = simulate.simulate_video_dit_sweep(sizes=1e8, grid_points=(2, 2))
    assert len(sizes_only) == 4 * 2 * 2  # the four default token budgets
    with pytest.raises(ValueError, match=r"sizes must be a number or a 1-D sequence.*\(2, 1\)"):
        simulate.simulate_video_dit_sweep(sizes=[[1e8], [2e8]])
    with pytest.raises(ValueError, match="tokens must be finite and positive"):
        simulate.simulate_video_dit_sweep(tokens=-1.0)


def test_porian_unknown_column_lists_the_configuration_columns(tmp_path, monkeypatch):
    porian_stand_in(tmp_path / "porian_isoflop")
    monkeypatch.setenv("BAYESLAWS_SHARED_DATA", str(tmp_path))
    with pytest.raises(UnknownNameError) as err:
        bundled.porian_isoflop(datset="rw")
    text = str(err.value)
    assert "no column 'datset'" in text and "did you mean 'dataset'?" in text
    assert "source_file, dataset, hparams, param_count" in text


def test_shared_folder_without_the_tables_is_shared_data_missing(tmp_path, monkeypatch):
    """The variable naming shared/ (whose data/ holds the tables) is SharedDataMissing naming
    the folder to use, not a bare FileNotFoundError."""
    shared = tmp_path / "shared"
    porian_stand_in(shared / "data" / "porian_isoflop")
    monkeypatch.setenv("BAYESLAWS_SHARED_DATA", str(shared))
    for load in (bundled.porian_isoflop, bundled.epoch_chinchilla):
        with pytest.raises(bundled.SharedDataMissing) as err:
            load()
        text = str(err.value)
        assert "shared/ rather than shared/data/" in text
        assert f"the tables are in {shared / 'data'}" in text
    # a shared/data folder holding one source: another source's loader names its missing file
    monkeypatch.setenv("BAYESLAWS_SHARED_DATA", str(shared / "data"))
    assert len(bundled.porian_isoflop(dataset="rw")) == 2
    with pytest.raises(bundled.SharedDataMissing, match="epoch_chinchilla/svg_extracted_data"):
        bundled.epoch_chinchilla()
    with pytest.raises(bundled.SharedDataMissing, match="steplaw_lr_bs/dense_lr_bs_loss"):
        bundled.steplaw_dense()


def test_repro_skips_shared_scripts_when_the_folder_lacks_the_tables(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    data = shared / "data"
    for folder, name in (
        ("porian_isoflop", "isoflop_points.csv"),
        ("porian_isoflop", "published_fits.csv"),
        ("porian_isoflop", "optimal_pairs.csv"),
        ("epoch_chinchilla", "svg_extracted_data.csv"),
    ):
        (data / folder).mkdir(parents=True, exist_ok=True)
        (data / folder / name).write_text("x\n1\n")
    src = tmp_path / "src"
    src.mkdir()
    (src / "porian.py").write_text("raise SystemExit(3)\n")  # a stand-in: fails if it runs
    monkeypatch.setenv("BAYESLAWS_SHARED_DATA", str(shared))
    assert not repro._shared_available()
    status = repro.run_repro(
        tmp_path / "out", only="porian", draws=10, source=src, stream=io.StringIO()
    )
    assert status["porian"].startswith("skipped"), status
    monkeypatch.setenv("BAYESLAWS_SHARED_DATA", str(data))
    assert repro._shared_available()
    (data / "porian_isoflop" / "optimal_pairs.csv").unlink()  # porian.py reads it too
    assert not repro._shared_available()


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
