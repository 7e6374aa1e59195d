"""A campaign folder's files agree, or the folder is refused naming the file.

Campaign.save wrote fit.nc, then campaign.json, then the tables, each on its own: a record
whose runs.csv write failed (a full disk) left fit.nc and campaign.json at the new step and
runs.csv at the old one, so the runs just trained were missing after a reload (the guardrails
did not count them; the next proposal offered a trained point again). Load never checked that
the files agree (an older fit.nc loaded silently), and damaged files gave raw errors
(JSONDecodeError, KeyError 'target') or loaded a row cut short. All data SIMULATED."""

from __future__ import annotations

import json
import os
import shutil
import warnings

import pandas as pd
import pytest
from test_campaign_fit_table import REFIT, TARGET, _grid, _train

from bayeslaws import design
from bayeslaws.design import campaign
from bayeslaws.design.campaign import CampaignFolderError


def _load(folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tiny refit's sampler trouble, said again at load
        return design.Campaign.load(folder)


def _record(camp, trained) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        camp.record(trained, **REFIT)


@pytest.fixture(scope="module")
def saves(simulated_fit, tmp_path_factory):
    """(campaign at step 1, the folder of its step-0 save with a proposal of 2, the folder of
    its step-1 save, the trained runs recorded)."""
    root = tmp_path_factory.mktemp("integrity")
    camp = design.Campaign.start(
        simulated_fit, TARGET, folder=root / "camp", model="none", max_draws=100
    )
    plan = camp.propose(_grid(), k=2)
    shutil.copytree(root / "camp", root / "step0")
    trained = _train(plan, seed=11)
    _record(camp, trained)
    return camp, root / "step0", root / "camp", trained


def _copy(src, tmp_path, name="copy"):
    return shutil.copytree(src, tmp_path / name)


# ---- a save that fails or is cut short ----------------------------------------------------------
def test_a_failed_table_write_leaves_the_last_complete_save(saves, tmp_path, monkeypatch):
    """runs.csv cannot be written (a full disk) while a step is recorded: the folder keeps its
    step-0 save whole (before: fit.nc and campaign.json at step 1, runs.csv empty), and the
    campaign, kept in memory, is saved once the disk has room."""
    _, step0, _, trained = saves
    folder = _copy(step0, tmp_path)
    camp = _load(folder)
    before = {name: (folder / name).read_bytes() for name in campaign.SAVE_ORDER}
    write = pd.DataFrame.to_csv

    def full_disk(self, path, *args, **kwargs):
        if str(path).endswith(os.sep + campaign.RUNS_FILE):
            raise OSError(28, "No space left on device")
        return write(self, path, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(pd.DataFrame, "to_csv", full_disk)
        with pytest.raises(OSError, match="No space left"):
            _record(camp, trained)
    assert camp.step == 1 and len(camp.runs) == 2  # the recorded step is kept in memory
    again = _load(folder)
    assert again.step == 0 and again.runs.empty and len(again.fits) == 1
    assert again.fit.n_runs == camp.fit.n_runs - len(trained)  # the starting fit's runs
    assert len(again.proposed_runs()) == 2  # the step's proposal, to be recorded again
    assert {name: (folder / name).read_bytes() for name in campaign.SAVE_ORDER} == before
    assert not list(folder.glob(".saving-*"))  # nothing left behind
    camp.save()  # the disk has room again
    saved = _load(folder)
    assert saved.step == 1 and len(saved.runs) == 2 and len(saved.fits) == 2
    assert saved.fit.n_runs == camp.fit.n_runs


class _Killed(BaseException):
    """The process killed between two renames (nothing after it runs in the save)."""


@pytest.mark.parametrize("renamed", range(len(campaign.SAVE_ORDER)))
def test_a_save_cut_short_between_renames_is_refused_at_load(saves, tmp_path, renamed):
    """Killed after ``renamed`` of the files were renamed into place: with none, the folder
    holds its last complete save; with some, load refuses the folder naming the file that
    disagrees and the unfinished save, whose files complete it when moved into place."""
    camp, step0, _, _ = saves
    folder = _copy(step0, tmp_path)
    replace, done = os.replace, []

    def killed(src, dst):
        if os.path.dirname(dst) == str(folder):  # a rename into place (not fit.save's own)
            if len(done) == renamed:
                raise _Killed
            done.append(dst)
        replace(src, dst)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "replace", killed)
        with pytest.raises(_Killed):
            camp.save(folder)
    if renamed == 0:
        assert _load(folder).step == 0
        # a later complete save removes the cut one's staging folder: a load error would
        # otherwise tell the user to move its older files over the newer save
        camp.save(folder)
        assert not list(folder.glob(".saving-*"))
        assert _load(folder).step == 1
        return
    with pytest.raises(CampaignFolderError, match="unfinished save") as caught:
        _load(folder)
    assert str(folder) in str(caught.value) and campaign.FITS_FILE in str(caught.value)
    (left,) = folder.glob(".saving-*")
    for path in left.iterdir():  # completing the save by hand, as the message says
        shutil.move(path, folder / path.name)
    completed = _load(folder)
    assert completed.step == 1 and len(completed.runs) == 2 and len(completed.fits) == 2


# ---- files that disagree ------------------------------------------------------------------------
def test_an_older_fit_nc_is_refused_naming_it(saves, tmp_path):
    """fit.nc of step 0 in the step-1 folder loaded silently: the two runs recorded at step 0
    were not in the fit that proposed again. Refused, by its sampler (fits.csv) and, when
    that agrees, by the runs the fit lacks."""
    _, step0, step1, _ = saves
    folder = _copy(step1, tmp_path)
    shutil.copy(step0 / campaign.FIT_FILE, folder / campaign.FIT_FILE)
    with pytest.raises(CampaignFolderError, match=r"fit\.nc is not the fit fits\.csv records"):
        _load(folder)
    fits = pd.read_csv(folder / campaign.FITS_FILE, keep_default_na=False)
    columns = list(campaign.SAMPLER_COLUMNS)
    fits.loc[1, columns] = fits.loc[0, columns]  # the older fit's sampler settings, alike
    fits.to_csv(folder / campaign.FITS_FILE, index=False)
    with pytest.raises(CampaignFolderError, match=r"fit\.nc lacks runs.*runs\.csv: rows 0, 1"):
        _load(folder)


@pytest.mark.parametrize(
    "name, source, word",
    [
        (campaign.STATE_FILE, "step0", r"fits\.csv lists the fits of steps \[0, 1\].*step 0"),
        (campaign.FITS_FILE, "step0", r"fits\.csv lists the fits of steps \[0\].*step 1"),
    ],
)
def test_files_of_different_saves_are_refused_naming_the_file(
    saves, tmp_path, name, source, word
):
    """One file of the step-0 save in the step-1 folder: the fits listed disagree with the
    step."""
    _, step0, step1, _ = saves
    folder = _copy(step1, tmp_path)
    shutil.copy(step0 / name, folder / name)
    with pytest.raises(CampaignFolderError, match=word):
        _load(folder)


def test_runs_recorded_at_the_current_step_are_refused(saves, tmp_path):
    """runs.csv of step 1 in the step-0 folder: its runs were recorded at step 0, which the
    folder has not finished."""
    _, step0, step1, _ = saves
    folder = _copy(step0, tmp_path)
    shutil.copy(step1 / campaign.RUNS_FILE, folder / campaign.RUNS_FILE)
    with pytest.raises(CampaignFolderError, match=r"runs\.csv has rows 0, 1 .*of step 0"):
        _load(folder)


def test_a_folder_whose_files_agree_loads(saves):
    camp, step0, step1, _ = saves
    assert _load(step0).step == 0
    again = _load(step1)
    assert again.step == 1 and len(again.runs) == 2
    assert again.fit.n_runs == camp.fit.n_runs


# ---- damaged files ------------------------------------------------------------------------------
def _cut_last_row(path) -> None:
    """The file's last row cut after its first field (a write cut short)."""
    lines = path.read_text().rstrip("\n").split("\n")
    lines[-1] = lines[-1].split(",")[0]
    path.write_text("\n".join(lines))


def _edit_state(change):
    def edit(folder):
        path = folder / campaign.STATE_FILE
        path.write_text(json.dumps(change(json.loads(path.read_text()))))

    return edit


def _unknown_target(state):
    state["target"][0]["class"] = "NoSuchTarget"
    return state


DAMAGES = {
    "json_cut": (
        lambda f: (f / "campaign.json").write_text((f / "campaign.json").read_text()[:40]),
        CampaignFolderError, r"campaign\.json is not valid JSON",
    ),
    "json_empty": (
        lambda f: (f / "campaign.json").write_text(""),
        CampaignFolderError, r"campaign\.json is not valid JSON",
    ),
    "json_list": (
        lambda f: (f / "campaign.json").write_text("[1]"),
        CampaignFolderError, r"campaign\.json is not a JSON object",
    ),
    "json_no_target": (
        _edit_state(lambda s: {k: v for k, v in s.items() if k != "target"}),
        CampaignFolderError, r"campaign\.json lacks 'target'",
    ),
    "json_bad_step": (
        _edit_state(lambda s: {**s, "step": "one"}),
        CampaignFolderError, r"campaign\.json holds step 'one'",
    ),
    "json_unknown_target": (
        _edit_state(_unknown_target),
        CampaignFolderError, r"campaign\.json holds a bad value .*'NoSuchTarget'",
    ),
    "runs_missing": (
        lambda f: (f / "runs.csv").unlink(),
        FileNotFoundError, r"runs\.csv is missing",
    ),
    "proposals_missing": (
        lambda f: (f / "proposals.csv").unlink(),
        FileNotFoundError, r"proposals\.csv is missing",
    ),
    "runs_cut": (
        lambda f: _cut_last_row(f / "runs.csv"),
        CampaignFolderError, r"runs\.csv has rows 1 .*without a number in N, D, step",
    ),
    "fits_cut": (
        lambda f: _cut_last_row(f / "fits.csv"),
        CampaignFolderError, r"fits\.csv has rows 1 .*without a number",
    ),
    "runs_garbled": (
        lambda f: (f / "runs.csv").write_text('N,D,step\n1,2,"0\n'),
        CampaignFolderError, r"runs\.csv is not a readable table",
    ),
}  # fmt: skip


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_file_is_refused_naming_the_folder_file_and_problem(saves, tmp_path, damage):
    _, _, step1, _ = saves
    folder = _copy(step1, tmp_path)
    change, error, word = DAMAGES[damage]
    change(folder)
    with pytest.raises(error, match=word) as caught:
        _load(folder)
    assert str(folder) in str(caught.value)
