"""The design campaign's state: a folder holding a campaign is not silently restarted, the
starting runs are kept (never proposed again), group labels survive save/load as written,
recorded runs whose sizes are rounded count under the proposed design point, and a run passed
again with its loss rounded is flagged."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import TRUTH

from bayeslaws import design
from bayeslaws.design import campaign
from bayeslaws.design.campaign import RecordWarning
from bayeslaws.design.guardrails import run_keys
from bayeslaws.runs import simulate

TARGET = design.Loss(N=7e9, D=1.4e11)  # beyond the simulated fit's runs (<= 6e9, <= 1e11)


QUICK = {"warmup": 100, "draws": 100}  # a tiny warm-started refit


def _train(rows: pd.DataFrame, seed: int) -> pd.DataFrame:
    """SIMULATED training of planned runs (the truth of conftest's simulated fit)."""
    N, D = rows["N"].to_numpy(float), rows["D"].to_numpy(float)
    return simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=seed)


def _grid() -> pd.DataFrame:
    """4 x 3 candidate runs (123M-12B params x 2B-200B tokens) whose N have 4 significant
    figures, so a log's 3 figures differ from every one (by 4e-4 to 3e-3)."""
    N, D = np.meshgrid(np.geomspace(1.234e8, 1.234e10, 4), np.geomspace(2e9, 2e11, 3))
    return pd.DataFrame({"N": N.ravel(), "D": D.ravel()})


def test_start_refuses_a_folder_that_holds_a_campaign(simulated_fit, tmp_path):
    """Re-running a notebook's first cell replaced fit.nc and emptied runs.csv and
    proposals.csv of the campaign in the folder; it is refused, naming Campaign.load, and
    overwrite=True starts afresh."""
    folder = tmp_path / "camp"
    camp = design.Campaign.start(simulated_fit, TARGET, folder=folder, model="none", max_draws=100)
    camp.propose(_grid(), k=2)
    saved = (folder / "proposals.csv").read_text()
    with pytest.raises(FileExistsError, match=r"already holds a campaign.*Campaign\.load"):
        design.Campaign.start(simulated_fit, TARGET, folder=folder, model="none")
    assert (folder / "proposals.csv").read_text() == saved
    assert len(design.Campaign.load(folder).proposals) == 2
    fresh = design.Campaign.start(simulated_fit, TARGET, folder=folder, overwrite=True)
    assert fresh.step == 0 and design.Campaign.load(folder).proposals.empty


def test_group_labels_survive_save_and_load(simulated_fit, tmp_path, monkeypatch):
    """runs.csv / proposals.csv were read with pandas' NA words and type guessing: "NA" came
    back NaN ('nan'), "01" as 1.0 ('1.0'), so the guardrails' keys no longer matched and
    trained points were proposed again. Labels now load as written; numbers keep NaN."""
    labels = ["NA", "01", "None", "a b"]
    N = np.array([1e8, 2e8, 3e8, 4e8])
    camp = design.Campaign(simulated_fit, TARGET)
    camp.start_runs = pd.DataFrame({"N": N, "D": 20 * N, "group": labels})
    camp.runs = pd.DataFrame(
        {"N": N, "D": 20 * N, "loss": [3.0, np.nan, 2.9, 2.8], "group": labels, "step": 0}
    )
    camp.proposals = pd.DataFrame(
        {"N": N, "D": 20 * N, "group": labels, "guardrail": ["", "relaxed", "", ""], "step": 0}
    )
    camp.save(tmp_path / "camp")
    # a made-up state (runs the fit lacks, recorded at the current step): its files are read,
    # their agreement is not checked
    monkeypatch.setattr(campaign, "check_agreement", lambda camp, folder: None)
    again = design.Campaign.load(tmp_path / "camp")
    for name in ("start_runs", "runs", "proposals"):
        before, after = getattr(camp, name), getattr(again, name)
        assert after["group"].tolist() == labels, name
        assert run_keys(after) == run_keys(before), name
    assert again.proposals["guardrail"].tolist() == ["", "relaxed", "", ""]
    assert np.isnan(again.runs["loss"][1]) and again.runs["loss"].dtype == float


def test_record_counts_rounded_sizes_under_the_proposed_point(simulated_fit):
    """Sizes as training logs print them (3 significant figures, 1e-4..1e-3 off the proposed
    N) were keyed as other design points, so the next proposal offered the trained points
    again, silently. Within 1% they count as the proposed runs; a run matching no proposal is
    still recorded, with a RecordWarning naming it."""
    camp = design.Campaign.start(simulated_fit, TARGET, model="none", max_draws=100, seed=1)
    plan = camp.propose(_grid(), k=3)
    trained = _train(plan, seed=11)
    trained["N"] = [float(f"{n:.3g}") for n in trained["N"]]
    assert 1e-5 < np.max(np.abs(trained["N"] / plan["N"].to_numpy() - 1)) < 1e-2
    other = _train(pd.DataFrame({"N": [5e8], "D": [3e10]}), seed=12)  # proposed by no one
    new = pd.concat([trained, other], ignore_index=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        camp.record(new, seed=2, **QUICK)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = camp.propose(plan[["N", "D"]].reset_index(drop=True), k=1)
    assert again.empty  # the trained points are not offered again
    assert camp.fit.n_runs == simulated_fit.n_runs + 4  # fitted as given
    ours = [str(w.message) for w in caught if issubclass(w.category, RecordWarning)]
    assert len(ours) == 1 and "rows 3 match no run proposed at step 0" in ours[0]
    np.testing.assert_allclose(camp.runs["proposed_N"][:3], plan["N"], rtol=1e-12)
    assert np.isnan(camp.runs["proposed_N"][3])


def test_record_flags_a_run_passed_again_with_its_loss_rounded(simulated_fit, simulated_runs):
    """fit.update refuses only exact repeats of N, D and loss: the same runs with the loss
    rounded to 4 decimals were accepted silently as new runs. They are now flagged (not a run
    at the same point whose loss differs by 1%), once: by fit.update, which Campaign.record
    calls (the record's own RecordWarning said it a second time)."""
    camp = design.Campaign.start(simulated_fit, TARGET, model="none", max_draws=100)
    first = simulated_runs.df[["N", "D", "loss"]].iloc[:2].reset_index(drop=True)
    again = first.assign(loss=first["loss"].round(4))
    assert not (again["loss"] == first["loss"]).any()  # not an exact repeat: update takes it
    seed_twin = first.iloc[:1].assign(loss=first["loss"][0] * 1.01)  # another seed, say
    new = pd.concat([again, seed_twin], ignore_index=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        camp.record(new, seed=3, **QUICK)
    told = [str(w.message) for w in caught]
    repeated = [m for m in told if "look like runs this fit already has" in m]
    assert len(repeated) == 1 and not [m for m in told if "recorded before" in m]
    assert "0 ~ " in repeated[0] and "1 ~ " in repeated[0] and "2 ~ " not in repeated[0]
    assert "new_runs.drop(index=[0, 1])" in repeated[0]
    assert camp.fit.n_runs == simulated_fit.n_runs + 3  # recorded all the same


FAR = design.Loss(N=3e10, D=6e11)  # beyond the fitted range (60M-6B params, 1B-100B tokens)


OPTS = {"cost": None, "max_draws": 100, "seed": 0}


def _keys(df) -> set:
    return set(zip(np.round(np.log(df["N"]), 6), np.round(np.log(df["D"]), 6), strict=True))


def test_a_campaign_never_proposes_the_runs_its_fit_was_trained_on(simulated_fit, tmp_path):
    """Campaign.propose counted only the runs recorded during the campaign, so its first pick
    was the starting fit's largest run trained again (the simulator counts every run); the
    starting runs are kept with the state, and a folder saved before they were kept loads with
    the saved fit's training runs less the recorded ones."""
    trained = simulated_fit.training_runs().df[["N", "D"]]
    fresh = pd.DataFrame({"N": [3e9, 8e9], "D": [3e10, 4e10]})
    cands = pd.concat([trained, fresh], ignore_index=True)
    folder = tmp_path / "camp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        camp = design.Campaign.start(simulated_fit, FAR, folder=folder, model="none", **OPTS)
        plan = camp.propose(cands, k=3)
    assert len(plan) >= 1 and not (_keys(plan) & _keys(trained))
    assert len(design.Campaign.load(folder).start_runs) == len(trained)
    # a folder of the earlier format, two of the fit's runs recorded by the campaign
    camp.runs = trained.iloc[[0, 5]].assign(loss=3.0, step=0)
    camp.step = 1  # recorded at step 0
    camp.save()
    (folder / campaign.START_RUNS_FILE).unlink()
    (folder / campaign.FITS_FILE).unlink()  # nor was the fit table kept
    old = design.Campaign.load(folder)
    assert len(old.start_runs) == len(trained) - 2
    assert _keys(old.start_runs) == _keys(trained.drop(index=[0, 5]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = old.propose(cands, k=3)
    assert len(again) >= 1 and not (_keys(again) & _keys(trained))
