"""Porian's isoFLOP table stacks many configurations (N conventions, schedules, train/val
losses): a selection that keeps several of them says so (the docstring's own example mixed
three, and an isoFLOP exponent fitted to it was 0.735 where each configuration gives ~0.5)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from conftest import shared_or_skip

from bayeslaws.runs import bundled
from bayeslaws.runs.bundled import porian_run_labels

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


def test_run_labels_of_one_shared_run_configuration():
    """pandas 3 reads text as its 'str' dtype, backed by pyarrow when that is installed (the
    test extra installs it); there adding an empty float-mapped selection to the labels raised
    (a const- or kaplan-decay configuration alone: no row is its own run), which broke
    porian_isoflop and porian_split."""
    df = pd.DataFrame({"N": [1e7, 1e7, 2e7], "C": [1e17, 3e17, 1e17], "decay": ["const"] * 3})
    labels = porian_run_labels(df)
    assert list(labels) == ["N=10000000", "N=10000000", "N=20000000"]
