"""A design target the law cannot value (at an unfitted cell) names its component and the law's
remedy. All data SIMULATED (conftest fits)."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from bayeslaws import design
from bayeslaws.design import targets


# ---- 4. a target the law cannot value ------------------------------------------------------------
def test_an_unvalued_target_names_its_component_and_the_remedy(small_sweep_hp_fit):
    """Law hyperparams (loss_level 'free') knows the loss only at its fitted cells: the target's
    loss components at an unfitted cell are named, with the law's remedy; its eta_opt is not."""
    fit = small_sweep_hp_fit
    hint = fit.law.missing_values_hint
    assert hint  # the law's own remedy, which the message must carry
    for target, label in [
        (design.HyperparamOpt(N=1e9, D=2e10, which="all"), "loss_opt(N=1e+09, D=2e+10)"),
        (
            design.Loss(N=1e9, D=2e10, lr=1e-3, batch_size=2e5),
            "L(N=1e+09, D=2e+10, lr=0.001, B=2e+05)",
        ),
    ]:
        with pytest.raises(ValueError) as err, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            targets.target_draws(fit, target, 0, None)
        said = str(err.value)
        assert label in said and hint in said
        assert "eta_opt(" not in said
    cands = pd.DataFrame({"N": [0.057e9], "D": [5e9], "lr": [2e-4], "batch_size": [1e5]})
    with pytest.raises(ValueError, match=r"loss_opt\(N=1e\+09, D=2e\+10\)"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            design.rank_candidates(fit, cands, design.HyperparamOpt(N=1e9, D=2e10, which="loss"))


def test_an_unvalued_target_of_a_law_without_a_remedy_says_why_in_general():
    """A law with no ``missing_values_hint``: the component and count are named, and that some
    laws predict no value away from their fitted points."""
    fit = SimpleNamespace(law=SimpleNamespace(name="mine", missing_values_hint=""))
    draws = np.array([[0.1, np.nan], [0.2, np.nan], [0.3, 0.4]])
    said = targets.unvalued_message(fit, draws, ["a", "b"])
    assert "b (2 of 3 draws)" in said and "a (" not in said
    assert "law 'mine'" in said and "loss_level='surface'" in said
