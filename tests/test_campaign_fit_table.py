"""The design campaign's fit table (Campaign.fits, fits.csv): every fit's seed and health.

Only the current fit was saved (fit.nc), so once a
step was recorded the earlier fit's seed, R-hat and divergences were gone from the campaign's
folder. Every fit's sampler seed and health are now kept (Campaign.fits, fits.csv) and read back
by Campaign.load; a folder saved before it was kept loads with the current fit's row, noted.
All data SIMULATED."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import TRUTH

from bayeslaws import design
from bayeslaws.runs import simulate

TARGET = design.Loss(N=7e9, D=1.4e11)  # beyond the simulated fit's runs (<= 6e9, <= 1e11)
REFIT = {"seed": 77, "warmup": 30, "draws": 30}  # a tiny refit: too few draws to be judged ok


def _train(rows: pd.DataFrame, seed: int) -> pd.DataFrame:
    """SIMULATED training of planned runs (the truth of conftest's simulated fit)."""
    N, D = rows["N"].to_numpy(float), rows["D"].to_numpy(float)
    return simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=seed)


def _grid() -> pd.DataFrame:
    """4 x 3 candidate runs, 123M-12B params x 2B-200B tokens."""
    N, D = np.meshgrid(np.geomspace(1.234e8, 1.234e10, 4), np.geomspace(2e9, 2e11, 3))
    return pd.DataFrame({"N": N.ravel(), "D": D.ravel()})


@pytest.fixture(scope="module")
def recorded(simulated_fit, tmp_path_factory):
    """(campaign, its folder): started from the simulated fit, one batch of 2 recorded with a
    tiny refit (seed 77)."""
    folder = tmp_path_factory.mktemp("fits") / "camp"
    camp = design.Campaign.start(simulated_fit, TARGET, folder=folder, model="none", max_draws=100)
    plan = camp.propose(_grid(), k=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tiny refit's SamplerWarning
        camp.record(_train(plan, seed=11), **REFIT)
    return camp, folder


def test_the_starting_fits_seed_and_health_survive_a_record(simulated_fit, recorded):
    camp, _ = recorded
    start, refit = simulated_fit.record.sampler, camp.fit.record.sampler
    assert start.seed != REFIT["seed"]  # the two fits are told apart by their seeds
    fits = camp.fits
    assert fits["step"].tolist() == [0, 1]
    assert fits["seed"].tolist() == [start.seed, refit.seed] == [start.seed, REFIT["seed"]]
    assert fits["chains"].tolist() == [start.chains, refit.chains]
    assert fits["draws"].tolist() == [start.draws, REFIT["draws"]]
    for i, fit in enumerate((simulated_fit, camp.fit)):  # as the fit's own diagnostics say
        diag = fit.diagnostics
        np.testing.assert_equal(fits["max_r_hat"][i], diag.max_r_hat)
        np.testing.assert_equal(fits["min_ess_bulk"][i], diag.min_ess_bulk)
        assert fits["divergences"][i] == diag.divergences
        assert fits["sampler_ok"][i] == diag.ok
    assert bool(fits["sampler_ok"][0]) and not bool(fits["sampler_ok"][1])  # 2 x 30 draws
    assert fits["note"].tolist() == ["", ""]
    fits.loc[0, "seed"] = -1  # the property is a copy: the campaign's table is untouched
    assert camp.fits["seed"][0] == start.seed


def test_the_fit_table_is_saved_and_loaded(recorded):
    camp, folder = recorded
    assert (folder / "fits.csv").is_file()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # load warns again about the current fit's sampler
        again = design.Campaign.load(folder)
    pd.testing.assert_frame_equal(again.fits, camp.fits)
    assert again.fits["seed"].tolist() == camp.fits["seed"].tolist()


def test_a_folder_saved_without_the_fit_table_loads_the_current_fits_row_noted(
    recorded, tmp_path
):
    camp, folder = recorded
    old = tmp_path / "old"
    shutil.copytree(folder, old)
    (old / "fits.csv").unlink()  # as code before the table saved it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = design.Campaign.load(old)
    fits = again.fits
    assert len(fits) == 1 and fits["step"][0] == camp.step == 1
    assert fits["seed"][0] == camp.fit.record.sampler.seed == REFIT["seed"]
    np.testing.assert_equal(fits["max_r_hat"][0], camp.fit.diagnostics.max_r_hat)
    assert "no fits.csv" in fits["note"][0] and "earlier steps are not known" in fits["note"][0]
    again.save()  # and the table is kept from then on
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert design.Campaign.load(old).fits["note"].tolist() == fits["note"].tolist()


def test_a_new_campaign_holds_its_starting_fits_row(simulated_fit):
    fits = design.Campaign(simulated_fit, TARGET).fits
    assert fits["step"].tolist() == [0]
    assert fits["seed"][0] == simulated_fit.record.sampler.seed
    assert fits["divergences"][0] == simulated_fit.diagnostics.divergences
