"""Porian's isoFLOP table stacks many configurations (N conventions, schedules, train/val
losses): a selection that keeps several of them says so (the docstring's own example mixed
three, and an isoFLOP exponent fitted to it was 0.735 where each configuration gives ~0.5)."""

from __future__ import annotations

import warnings

import pytest
from conftest import shared_or_skip

from bayeslaws.runs import bundled

ONE = {
    "dataset": "rw", "hparams": "tuned", "warmup": "short", "decay": "const",
    "param_count": "standard", "loss_type": "val",
}  # fmt: skip


def test_a_selection_of_several_configurations_warns_naming_the_columns_that_vary():
    shared_or_skip()
    with pytest.warns(bundled.MixedConfigurationsWarning, match=r"holds 3 configurations") as w:
        bundled.porian_isoflop(dataset="rw", hparams="tuned", decay="const")
    text = str(w[0].message)
    assert "param_count: ['attention', 'kaplan', 'standard']" in text
    assert "loss_type: ['train', 'val']" in text


def test_one_configuration_loads_silently():
    shared_or_skip()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runs = bundled.porian_isoflop(**ONE)
    assert len(runs.df[list(bundled.PORIAN_CONFIG_COLUMNS)].drop_duplicates()) == 1
