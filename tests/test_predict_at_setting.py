"""A prediction at a given (lr, batch_size): the loss columns are the loss of a run trained
THERE, and the loss at the optimum keeps its own name (``loss_opt``).

Before, law "sweep" reported the loss at the optimum in the unprefixed columns of a row
labelled with the queried lr and batch size (the penalty only in ``rel_penalty_*``); law
"hyperparams" gave no loss at the setting at all. Checked per posterior draw (the loss at the
setting is L_opt (1 + rel_penalty); a new run's adds the run noise the model gives there) and
in ``bl.predict``'s table and the CLI's wording.

Two tiny NUTS fits (1 chain) of the SIMULATED video-DiT sweep (conftest ``small_sweep``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.posterior.draws import quantity_draws, query_frame

CELL = {"N": 0.057e9, "D": 5e9}  # a fitted cell of small_sweep (params, tokens)
RTOL = 1e-6  # identities per draw on the same draws (the bowls are float32 JAX values)


@pytest.fixture(scope="module")
def sweep_fit(small_sweep_sweep_fit):
    return small_sweep_sweep_fit


@pytest.fixture(scope="module")
def hp_fit(small_sweep_hp_fit):
    return small_sweep_hp_fit


def _settings(fit, factors=(1.0, 8.0, 1 / 8)) -> dict:
    """The cell's median optimal lr times ``factors``, at its median optimal batch (tokens)."""
    opt = bl.predict(fit, **CELL).iloc[0]
    lr = [opt["eta_opt_median"] * f for f in factors]
    return {"N": [CELL["N"]] * len(lr), "D": [CELL["D"]] * len(lr), "lr": lr,
            "batch_size": [opt["B_opt_median"]] * len(lr)}  # fmt: skip


def _draws(fit, kind, **inputs) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantity_draws(fit, query_frame(fit, **inputs), kind=kind, seed=3,
                              extrapolation="none")  # fmt: skip


# ---- law "sweep" --------------------------------------------------------------------------------
def test_sweep_loss_at_a_setting_is_the_optimum_times_the_penalty(sweep_fit):
    """kind="mean": per draw loss = loss_opt (1 + rel_penalty), loss_opt the loss a query
    without lr gives (same draws), penalty = loss - loss_opt."""
    at = _settings(sweep_fit)
    d = _draws(sweep_fit, "mean", **at)
    opt = _draws(sweep_fit, "mean", N=at["N"], D=at["D"])
    np.testing.assert_array_equal(d["loss_opt"], opt["loss"])
    np.testing.assert_allclose(d["loss"], d["loss_opt"] * (1 + d["rel_penalty"]), rtol=RTOL)
    np.testing.assert_allclose(d["penalty"], d["loss"] - d["loss_opt"], rtol=1e-6, atol=1e-12)
    assert (d["rel_penalty"][:, 1:] > 0).all()  # 8x off the optimal lr costs in every draw


def test_sweep_predict_labels_the_loss_at_the_setting(sweep_fit):
    """The reviewer's repro: a row at 8x (and 1/8x) the optimal lr printed the loss at the
    optimum in median/lower/upper. Now those columns are the loss there (above the optimum's
    whole interval), and the optimum's loss is loss_opt_* (the query without lr's columns)."""
    at = _settings(sweep_fit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = bl.predict(sweep_fit, seed=3, **at)
        plain = bl.predict(sweep_fit, N=at["N"], D=at["D"], seed=3)
    for s in ("median", "mean", "lower", "upper"):
        np.testing.assert_allclose(table[f"loss_opt_{s}"], plain[s], rtol=RTOL)
    off = table.iloc[1:]
    assert (off["median"] > off["loss_opt_upper"]).all(), table.to_string()
    expected = off["loss_opt_median"] * (1 + off["rel_penalty_median"])
    np.testing.assert_allclose(off["median"], expected, rtol=2e-3)  # medians of products
    assert "loss_median" not in table  # the primary quantity stays unprefixed


def test_sweep_new_run_at_a_setting_carries_that_runs_noise(sweep_fit):
    """kind="new_run": loss_opt is a new run's loss at the optimum of the row's new cell (the
    cell's optimum and level are the query without lr's, draw for draw; the sigma noise is
    this run's own, so the two ln losses differ by two runs' noise, sd sqrt(2) sigma); a run
    at the setting has ln-loss sd sqrt(sigma^2 + (tau bowl)^2), so beyond loss_opt
    (1 + rel_penalty), which carries sigma's part, its ln loss scatters by tau bowl: the
    standardised difference is Normal(0, 1)."""
    at = _settings(sweep_fit, factors=(8.0, 1 / 8, 6.0, 1 / 6))
    d = _draws(sweep_fit, "new_run", **at)
    opt = _draws(sweep_fit, "new_run", N=at["N"], D=at["D"])
    np.testing.assert_array_equal(d["eta_opt"], opt["eta_opt"])
    np.testing.assert_array_equal(d["B_opt"], opt["B_opt"])
    two_runs = np.log(d["loss_opt"]) - np.log(opt["loss"])  # one level, two runs' noise
    sigma = np.asarray(sweep_fit.posterior().draws["sigma"], float)[:, None]
    assert abs(np.std(two_runs / (np.sqrt(2) * sigma)) - 1) < 4 / np.sqrt(2 * two_runs.size)
    bowl = np.log1p(d["rel_penalty"])
    tau = np.asarray(sweep_fit.posterior().draws["tau"], float)[:, None]
    z = (np.log(d["loss"]) - np.log(d["loss_opt"]) - bowl) / (tau * bowl)
    n = z.size  # 600: the sd of the mean ~0.04, of the sd ~0.03
    assert abs(z.mean()) < 4 / np.sqrt(n), z.mean()
    assert abs(z.std() - 1) < 4 / np.sqrt(2 * n), z.std()


# ---- law "hyperparams" --------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["mean", "new_run"])
def test_hyperparams_reports_the_loss_at_the_setting_too(hp_fit, kind):
    """Its loss at the optimum was already named loss_opt; given lr and batch_size it now also
    gives ``loss`` = loss_opt (1 + rel_penalty) per draw (new_run: loss_opt carries the run's
    noise, homoscedastic in this law, its own run's: then only the optimum is the query
    without lr's, draw for draw), loss_opt unchanged."""
    at = _settings(hp_fit)
    d = _draws(hp_fit, kind, **at)
    opt = _draws(hp_fit, kind, N=at["N"], D=at["D"])
    if kind == "mean":
        np.testing.assert_array_equal(d["loss_opt"], opt["loss_opt"])
    np.testing.assert_array_equal(d["eta_opt"], opt["eta_opt"])
    assert "loss" not in opt  # without a setting there is no run to price
    np.testing.assert_allclose(d["loss"], d["loss_opt"] * (1 + d["rel_penalty"]), rtol=RTOL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = bl.predict(hp_fit, kind=kind, seed=3, **at)
    off = table.iloc[1:]
    assert (off["loss_median"] > off["loss_opt_upper"]).all(), table.to_string()


def test_hyperparams_loss_at_a_setting_is_nan_where_the_level_is_unknown(hp_fit):
    """loss_level="free": a new cell has no loss level, so no loss at a setting either."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = bl.predict(hp_fit, N=0.1e9, D=7e9, lr=3e-4, batch_size=1e5)
    assert table[["loss_median", "loss_opt_median", "penalty_median"]].isna().all(axis=None)
    assert np.isfinite(table["rel_penalty_median"]).all()


# ---- the command line ---------------------------------------------------------------------------
def test_cli_says_the_loss_columns_are_at_the_given_setting():
    """predict --lr's help and the note under its table name what each column holds now."""
    from bayeslaws.app.cli import PENALTY_NOTE, build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    lr_help = next(a.help for a in sub.choices["predict"]._actions if a.dest == "lr")
    for text in (lr_help, PENALTY_NOTE):
        assert "loss of a run trained at the given" in text, text
        assert "loss_opt_*" in text and "OPTIMAL lr and batch size" in text, text
        assert "stays the loss at the OPTIMAL" not in text, text
    assert "loss columns (median, lower, upper, or loss_opt_*) are the loss at the OPTIMAL" \
        not in PENALTY_NOTE
