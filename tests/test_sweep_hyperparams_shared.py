"""What laws ``sweep`` and ``hyperparams`` share, from one place: the missing lr / batch size
error (:func:`bayeslaws.laws.hyperparams.data.check_columns`, naming the law) and the default
priors of the optima laws and the bowl curvatures
(:func:`bayeslaws.laws.hyperparams.optima.optimum_bowl_priors`). SIMULATED run tables; no
sampling."""

from __future__ import annotations

import numpy as np
import numpyro.distributions as dist
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.laws.hyperparams import optima
from bayeslaws.laws.hyperparams.law import HyperparamsLaw
from bayeslaws.laws.hyperparams.two_stage import TwoStageHyperparams
from bayeslaws.laws.sweep import SweepLaw
from bayeslaws.runs import RunTableError

# a copy of the priors both laws had before they were shared (centred logs)
TODAY = {
    "lr_int": ("Normal", {"loc": 0.0, "scale": 2.0}),
    "lr_N": ("Normal", {"loc": 0.0, "scale": 1.0}),
    "lr_D": ("Normal", {"loc": 0.0, "scale": 1.0}),
    "lr_scatter": ("HalfNormal", {"scale": 0.3}),
    "batch_int": ("Normal", {"loc": 0.0, "scale": 2.0}),
    "batch_N": ("Normal", {"loc": 0.0, "scale": 1.0}),
    "batch_D": ("Normal", {"loc": 0.0, "scale": 1.0}),
    "batch_scatter": ("HalfNormal", {"scale": 0.3}),
    "k_lr": ("LogNormal", {"loc": float(np.log(0.003)), "scale": 2.0}),
    "k_batch": ("LogNormal", {"loc": float(np.log(0.003)), "scale": 2.0}),
}


def described(prior) -> tuple[str, dict]:
    """(family, {argument: value}) of a numpyro distribution."""
    return type(prior).__name__, {k: float(getattr(prior, k)) for k in prior.arg_constraints}


def shared_part(law) -> dict:
    return {name: described(prior) for name, prior in law.default_priors().items() if name in TODAY}


@pytest.mark.parametrize("bowl", ["symmetric", "full"])
def test_optima_and_bowl_priors_are_todays_and_the_same_in_both_laws(bowl):
    hyper, sweep = shared_part(HyperparamsLaw(bowl=bowl)), shared_part(SweepLaw())
    assert hyper == TODAY
    assert sweep == TODAY
    assert hyper == sweep


def test_both_laws_read_the_optima_and_bowl_priors_from_one_place(monkeypatch):
    """A change to the shared priors reaches both laws (before, each law had its own copy)."""
    moved = dict(optima.optimum_bowl_priors(), k_lr=dist.LogNormal(0.0, 1.0))
    monkeypatch.setattr(optima, "optimum_bowl_priors", lambda: dict(moved))
    for law in (HyperparamsLaw(), SweepLaw()):
        assert described(law.default_priors()["k_lr"]) == ("LogNormal", {"loc": 0.0, "scale": 1.0})


def _sweep_table(**extra) -> pd.DataFrame:
    cells = [(1e8, 2e9), (1e8, 4e9), (2e8, 2e9), (2e8, 4e9)]
    frame = pd.DataFrame(
        [{"N": n, "D": d, "loss": 3.0 + 0.01 * i} for n, d in cells for i in range(3)]
    )
    return frame.assign(**extra)


def _error(law, frame: pd.DataFrame) -> str:
    with pytest.raises(RunTableError) as caught:
        law.prepare(bl.load_runs(frame))
    return str(caught.value)


@pytest.mark.parametrize(
    ("frame", "column"),
    [
        (_sweep_table(), "lr"),
        (_sweep_table(lr=1e-3), "batch_size"),
    ],
)
def test_missing_lr_or_batch_size_is_one_message_naming_each_law(frame, column):
    frame = frame.assign(**{"7": 1.0}).rename(columns={"7": 7})  # an integer column label
    hyper, sweep = _error(HyperparamsLaw(), frame), _error(SweepLaw(), frame)
    assert hyper.startswith(f"law 'hyperparams' needs column {column!r}")
    assert sweep.startswith(f"law 'sweep' needs column {column!r}")
    assert sweep.replace("law 'sweep'", "law 'hyperparams'", 1) == hyper
    assert "'7'" in sweep and f"--column {column}=NAME" in sweep
    two = _error(TwoStageHyperparams(), frame)  # it said only "needs column", with no remedy
    assert two.replace("law 'hyperparams_two_stage'", "law 'hyperparams'", 1) == hyper
