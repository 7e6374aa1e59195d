"""design.isoflop_candidates checks its arguments: a spread_decades or tokens_per_param that
is no number (ArgumentTypeError naming it), and spread_decades=0 with more than one size per
budget (also as one line on the command line)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import cli_error_line

import bayeslaws as bl
from bayeslaws import design
from bayeslaws.runs.checks import ArgumentTypeError


# ---- 3. isoflop_candidates' numeric arguments --------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"spread_decades": "1.0"}, "spread_decades"),
        ({"spread_decades": [0.5, 1.0]}, "spread_decades"),
        ({"spread_decades": None}, "spread_decades"),
        ({"tokens_per_param": [20.0]}, "tokens_per_param"),
        ({"tokens_per_param": "many"}, "tokens_per_param"),
    ],
)
def test_isoflop_candidates_refuses_a_non_number_naming_it(kwargs, name):
    with pytest.raises(ArgumentTypeError, match=f"^{name} must be a number"):
        design.isoflop_candidates([1e20], 3, **kwargs)


def test_isoflop_candidates_keeps_its_value_checks():
    with pytest.raises(ValueError, match="spread_decades must be >= 0"):
        design.isoflop_candidates([1e20], 3, spread_decades=float("nan"))
    with pytest.raises(ValueError, match="tokens_per_param"):
        design.isoflop_candidates([1e20], 3, tokens_per_param=-1.0)
    ok = design.isoflop_candidates([1e20], 3, spread_decades=np.float64(0.5), tokens_per_param=20)
    assert len(ok) == 3


def test_isoflop_zero_spread_refused_unless_one_size():
    """spread_decades=0 lists one size per budget: refused (naming spread_decades) when more
    than one is asked for; fine with n_per_budget=1."""
    with pytest.raises(ValueError, match="spread_decades=0 with n_per_budget=3"):
        bl.design.isoflop_candidates(1e22, 3, spread_decades=0)
    one = bl.design.isoflop_candidates(1e22, 1, spread_decades=0)
    assert len(one) == 1
    assert len(bl.design.isoflop_candidates(1e22, 3, spread_decades=0.5)) == 3


def test_isoflop_zero_spread_one_line_cli_error(simulated_runs, tmp_path, capsys):
    """The command line says the refusal in one line."""
    from bayeslaws.app.cli import main

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bl.fit(simulated_runs, seed=0, chains=1, warmup=50, draws=50)
    path = fit.save(tmp_path / "fit.nc")
    capsys.readouterr()
    argv = ["candidates", str(path), "--isoflop", "1e22", "--spread-decades", "0",
            "--n-per-budget", "3", "--out", str(tmp_path / "c.csv")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(argv)
    err = capsys.readouterr().err
    assert code != 0 and not (tmp_path / "c.csv").exists()
    assert "spread_decades=0 with n_per_budget=3" in cli_error_line(err)
