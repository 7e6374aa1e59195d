"""Review 16: what bl.predict's answer says about itself, and three messages' positions.

1. ``bl.predict`` (and ``loss_penalty``) give their units in ``attrs["units"]`` (before: attrs
   was {}), also after the answer takes a Series' row labels and for a query evaluated in row
   blocks.
2. When the answer holds eta_opt / B_opt columns, ``attrs["notes"]`` says they are the bowl's
   smooth optimum, not a grid's best run, and names ``bayeslaws.laws.sweep.best_run``.
3. "must be finite and positive; bad at positions ..." (predict's inputs, the design's
   arguments and candidate columns) says the positions are counted from 0; a negative
   spread_decades names --spread-decades on the command line.

Session fits of tests/conftest.py (SIMULATED Chinchilla runs and the small SIMULATED sweep); no
new NUTS fit here."""

from __future__ import annotations

import importlib
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import cli_error_line

import bayeslaws as bl
from bayeslaws import design
from bayeslaws.app.cli import EXIT_BAD_INPUT, main, with_cli_hints
from bayeslaws.design.candidates import check_candidates

predict_module = importlib.import_module("bayeslaws.posterior.predict")  # not bl.predict


def _quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(*args, **kwargs)


def _cell(fit) -> tuple[float, float]:
    """A fitted cell's (N params, D tokens): the median run's."""
    train = fit.record.training_runs
    return float(np.median(train["N"])), float(np.median(train["D"]))


# ---- 1. units ------------------------------------------------------------------------------------
def _says_units(table: pd.DataFrame) -> str:
    units = table.attrs.get("units", "")
    for words in ("N in parameters", "D in tokens", "C in FLOPs", "loss units", "decades"):
        assert words in units, (words, units)
    return units


def test_predict_states_its_units(simulated_fit):
    N0, D0 = _cell(simulated_fit)
    table = _quiet(bl.predict, simulated_fit, N=[N0, 2 * N0], D=[D0, 3 * D0])
    units = _says_units(table)
    assert "median/mean/lower/upper (loss)" in units, units
    assert "notes" not in table.attrs  # a loss surface has no eta_opt or B_opt


def test_units_survive_row_labels_and_row_blocks(simulated_fit, monkeypatch):
    N0, D0 = _cell(simulated_fit)
    index = pd.Index(["a", "b", "c", "d", "e"], name="run")
    N = pd.Series(np.geomspace(N0, 10 * N0, 5), index=index)
    D = pd.Series(np.geomspace(D0, 5 * D0, 5), index=index)
    whole = _quiet(bl.predict, simulated_fit, N=N, D=D)
    assert list(whole.index) == list(index)
    _says_units(whole)
    entries = 2 * simulated_fit.posterior().n_draws  # blocks of 2 rows: 3 blocks
    monkeypatch.setattr(predict_module, "PREDICT_BLOCK_ENTRIES", entries)
    blocked = _quiet(bl.predict, simulated_fit, N=N, D=D)
    assert list(blocked.index) == list(index)
    assert blocked.attrs == whole.attrs
    new_run = _quiet(bl.predict, simulated_fit, N=N.to_numpy(), D=D.to_numpy(), kind="new_run")
    assert new_run.attrs == whole.attrs


def test_units_text_follows_the_columns():
    """Pure: every input and quantity present is given a unit; absent ones are not named."""
    columns = ["N", "D", "C", "lr", "batch_size", "eta_opt_median", "B_opt_median",
               "loss_opt_median", "rel_penalty_median", "ci", "kind", "N_outside_decades"]
    units = predict_module.units_text(columns, primary=None)
    for words in ("lr as given", "batch_size in tokens", "eta_opt_{median,mean,lower,upper} in "
                  "lr's units", "B_opt_{median,mean,lower,upper} in tokens",
                  "loss_opt_{median,mean,lower,upper} in the runs' loss units",
                  "rel_penalty_{median,mean,lower,upper} a fraction"):
        assert words in units, (words, units)
    assert "penalty_{" not in units.replace("rel_penalty_{", "")
    bare = predict_module.units_text(["N", "C", "median", "ci"], primary="loss")
    assert "D in" not in bare and "outside_decades" not in bare and "(loss)" in bare


# ---- 2. eta_opt / B_opt are the bowl's smooth optimum --------------------------------------------
def _named_function(note: str):
    """The function the note names as bayeslaws.<...>.<name>, imported."""
    (path,) = re.findall(r"bayeslaws(?:\.\w+)+", note)
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("setting", [False, True])
def test_hyperparams_answer_says_eta_opt_is_the_smooth_optimum(small_sweep_hp_fit, setting):
    N0, D0 = _cell(small_sweep_hp_fit)
    at = {"lr": 2e-4, "batch_size": 1e5} if setting else {}
    table = _quiet(bl.predict, small_sweep_hp_fit, N=N0, D=D0, **at)
    units = table.attrs["units"]
    assert "eta_opt_{median,mean,lower,upper} in lr's units" in units, units
    assert "B_opt_{median,mean,lower,upper} in tokens" in units, units
    if setting:
        assert "lr as given" in units and "batch_size in tokens" in units, units
    note = table.attrs["notes"]
    assert "eta_opt and B_opt" in note and "smooth minimum" in note, note
    assert _named_function(note) is bl.laws.sweep.best_run
    assert "best_run" in (bl.predict.__doc__ or "")


def test_sweep_answer_says_it_too_and_penalty_says_its_units(small_sweep_sweep_fit):
    N0, D0 = _cell(small_sweep_sweep_fit)
    table = _quiet(bl.predict, small_sweep_sweep_fit, N=N0, D=D0, lr=2e-4, batch_size=1e5)
    assert "median/mean/lower/upper (loss)" in table.attrs["units"]
    assert "smooth minimum" in table.attrs["notes"]
    priced = _quiet(bl.loss_penalty, small_sweep_sweep_fit, N0, D0, 2e-4, 1e5)
    units = priced.attrs["units"]
    assert "rel_penalty_{median,mean,lower,upper} a fraction" in units, units
    assert "penalty_{median,mean,lower,upper} in the runs' loss units" in units, units
    assert "eta_opt" not in units and "notes" not in priced.attrs


# ---- 3. positions counted from 0 -----------------------------------------------------------------
def test_predict_says_bad_positions_are_counted_from_0(simulated_fit):
    N0, D0 = _cell(simulated_fit)
    with pytest.raises(ValueError, match=r"^N must be finite and positive; bad at positions 2 "
                                         r"\(counted from 0\)"):
        bl.predict(simulated_fit, N=[N0, N0, -N0], D=D0)


def test_design_says_bad_positions_are_counted_from_0():
    with pytest.raises(ValueError, match=r"^C must be finite and positive; bad at positions 1, 2 "
                                         r"\(counted from 0\)"):
        design.isoflop_candidates([1e20, -1e20, np.nan], 3)


def test_candidate_column_says_bad_positions_are_counted_from_0(simulated_fit):
    N0, D0 = _cell(simulated_fit)
    cands = pd.DataFrame({"N": [N0, 2 * N0, -N0], "D": [D0, D0, D0]}, index=[10, 11, 12])
    with pytest.raises(ValueError, match=r"cands\['N'\] must be finite and positive; bad at "
                                         r"positions 2 \(counted from 0\)"):
        _quiet(check_candidates, simulated_fit, cands)


def test_a_negative_spread_names_the_command_line_option(simulated_fit_file, simulated_fit,
                                                         capsys):
    with pytest.raises(ValueError) as err:
        design.isoflop_candidates([1e20], 3, spread_decades=-1.0)
    message = str(err.value)
    assert message.startswith("spread_decades must be >= 0") and "got -1.0" in message
    assert "--spread-decades" in with_cli_hints(message, "design")
    N0, D0 = _cell(simulated_fit)
    argv = ["design", str(simulated_fit_file), "--isoflop", str(6 * N0 * D0),
            "--spread-decades", "-1"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(argv)
    line = cli_error_line(capsys.readouterr().err)
    assert code == EXIT_BAD_INPUT
    assert "--spread-decades" in line and "Python:" not in line, line
