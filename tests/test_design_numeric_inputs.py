"""The design's targets and candidate generators take numbers only, as ``predict`` does
(posterior.draws.positive_array): True was read as 1 (``Loss(N=True)`` meant one parameter) and
text as the number it spells; both are an ArgumentTypeError naming the argument. Valid numbers
still work, and a candidates table's text cells that spell numbers are still read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayeslaws import design
from bayeslaws.design.candidates import number_column
from bayeslaws.runs.checks import ArgumentTypeError

TARGETS = [
    (lambda: design.Loss(N=True, D=1.4e11), r"Loss\(N=\)"),
    (lambda: design.Loss(N=7e9, D="1.4e11"), r"Loss\(D=\)"),
    (lambda: design.Loss(N=["7e9", "8e9"], D=1.4e11), r"Loss\(N=\)"),
    (lambda: design.Loss(N=7e9, D=1.4e11, lr=np.bool_(True), batch_size=2**20), r"Loss\(lr=\)"),
    (lambda: design.Loss(N=7e9, D=1.4e11, lr=1e-3, batch_size="1M"), r"Loss\(batch_size=\)"),
    (lambda: design.NOpt(C="1e22"), r"NOpt\(C=\)"),
    (lambda: design.NOpt(C=[1e22, True]), r"NOpt\(C=\)"),
    (lambda: design.HyperparamOpt(N=np.array([True, False]), D=2e10), r"HyperparamOpt\(N=\)"),
    (lambda: design.HyperparamOpt(N=1e9, D=b"2e10"), r"HyperparamOpt\(D=\)"),
]


@pytest.mark.parametrize(("make", "name"), TARGETS)
def test_targets_refuse_bools_and_text_naming_the_argument(make, name):
    with pytest.raises(ArgumentTypeError, match=rf"^{name} must (be a number|hold numbers)"):
        make()


GENERATORS = [
    (lambda: design.isoflop_candidates(C=True), "C"),
    (lambda: design.isoflop_candidates(C="1e22"), "C"),
    (lambda: design.isoflop_candidates(C=["1e21", "1e22"]), "C"),
    (lambda: design.isoflop_candidates(C=1e22, center=True), "center"),
    (lambda: design.isoflop_candidates(C=1e22, center="3e9"), "center"),
    (lambda: design.hyperparameter_candidates(True, 2e9, lr=[1e-3], batch_size=[2**20]), "N"),
    (lambda: design.hyperparameter_candidates(1e8, "2e9", lr=[1e-3], batch_size=[2**20]), "D"),
    (lambda: design.hyperparameter_candidates(1e8, 2e9, lr=["1e-3"], batch_size=[2**20]), "lr"),
    (
        lambda: design.hyperparameter_candidates(1e8, 2e9, lr=[1e-3], batch_size=[True, 2**20]),
        "batch_size",
    ),
    (lambda: design.hyperparameter_candidates(1e8, 2e9, lr_step="1.5"), "lr_step"),
    (lambda: design.hyperparameter_candidates(1e8, 2e9, batch_step=True), "batch_step"),
]


@pytest.mark.parametrize(("make", "name"), GENERATORS)
def test_candidate_generators_refuse_bools_and_text_naming_the_argument(make, name):
    with pytest.raises(ArgumentTypeError, match=rf"^{name} must (be a number|hold numbers)"):
        make()


def test_valid_numbers_still_work():
    """Scalars, lists, NumPy arrays and integers are read as before."""
    loss = design.Loss(N=[7e9, 8e9], D=np.array([1.4e11, 1.6e11]))
    assert loss.labels() == ["L(N=7e+09, D=1.4e+11)", "L(N=8e+09, D=1.6e+11)"]
    assert design.NOpt(C=np.float32(1e22)).labels() == ["N_opt(C=1e+22)"]
    assert len(design.HyperparamOpt(N=10**9, D=[2e10, 4e10]).labels()) == 4
    lines = design.isoflop_candidates(C=[1e21, 1e22], n_per_budget=3, center=np.array([1e9, 3e9]))
    np.testing.assert_allclose(lines["C"], np.repeat([1e21, 1e22], 3))
    np.testing.assert_allclose(lines["N"].iloc[[1, 4]], [1e9, 3e9])
    sweeps = design.hyperparameter_candidates(
        [1e8, 2e8], 2e9, lr=[1e-3, 2e-3], batch_size=np.array([2**19]), lr_step=2, per_cell=False
    )
    assert len(sweeps) == 4 and sweeps["lr"].tolist()[:2] == [1e-3, 2e-3]


def test_required_and_out_of_range_values_keep_their_value_errors():
    with pytest.raises(ValueError, match=r"^NOpt\(C=\) is required"):
        design.NOpt(C=None)
    with pytest.raises(ValueError, match=r"^Loss\(N=\) must be finite and positive; bad at .* 1 "):
        design.Loss(N=[7e9, -1.0], D=1.4e11)
    with pytest.raises(ValueError, match=r"^C is empty"):
        design.isoflop_candidates(C=[])
    with pytest.raises(ValueError, match=r"^lr_step must be a finite number > 1"):
        design.hyperparameter_candidates(1e8, 2e9, lr_step=1.0)


def test_a_candidates_table_still_reads_numbers_given_as_text():
    """A table's text cells that spell numbers (as read from a file) are read; other text is
    refused naming the column and rows, and True/False stays refused."""
    cands = pd.DataFrame({"N": ["1e8", 2e8, np.int64(3)], "bad": ["1e8", "4.4B", "x"]})
    np.testing.assert_array_equal(number_column(cands, "N"), [1e8, 2e8, 3.0])
    unread = r"^column 'bad' has non-numeric values at rows 1, 2 .*'4.4B'"
    with pytest.raises(ValueError, match=unread):
        number_column(cands, "bad")
    flags = pd.DataFrame({"N": pd.Series([1e8, True], dtype=object)})
    with pytest.raises(ArgumentTypeError, match=r"cands\['N'\] holds True/False .* rows 1 "):
        number_column(flags, "N")
