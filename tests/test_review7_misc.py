"""Review 7, small fixes: runs far above their cell's best that no mark calls diverged are named
(law 'hyperparams'); a +inf loss is said as such; isoFLOP lines of one size listed repeatedly
are refused; ArviZ's shape warnings are muted around the package's own diagnostics."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import cli_error_line

import bayeslaws as bl
from bayeslaws.inference import diagnostics
from bayeslaws.laws import resolve_law
from bayeslaws.laws.hyperparams import data as hp_data
from bayeslaws.runs import PlausibilityWarning
from bayeslaws.runs.bundled import load_bundled


def _prepare(runs, **options):
    """law 'hyperparams' prepared on ``runs``, with the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prepared = resolve_law("hyperparams", options).prepare(runs)
    named = [w for w in caught if "not marked as diverged" in str(w.message)]
    assert all(issubclass(w.category, PlausibilityWarning) for w in named)
    return prepared, [str(w.message) for w in caught]


def _sweep_with_high_runs(rows=(5, 40, 77), factor=2.5):
    """The bundled SIMULATED sweep with the runs at ``rows`` (labels) set to ``factor`` x their
    (N, D) cell's best loss (below 3x the median loss: no mark calls them diverged)."""
    runs = load_bundled()
    df = runs.df.copy()
    best = df.groupby(["N", "D"])["loss"].transform("min")
    df.loc[list(rows), "loss"] = factor * best.loc[list(rows)]
    assert (df.loc[list(rows), "loss"] < 3 * df["loss"].median()).all()
    return bl.load_runs(df[["N", "D", "lr", "batch_size", "loss"]])


def test_unmarked_high_runs_named_at_fit_time_and_in_the_note():
    """Runs more than 2x their cell's best, not marked diverged, are named (count, rows, the
    remedy) in one warning and in the divergence note, which no longer says "no diverged
    runs"; the clean bundled sweep gets neither."""
    prepared, caught = _prepare(_sweep_with_high_runs())
    high = [m for m in caught if "not marked as diverged lie more than 2x" in m]
    assert len(high) == 1, caught
    assert high[0].startswith("law 'hyperparams': 3 runs not marked as diverged")
    assert "rows 5, 40, 77" in high[0] and "divergence_threshold=" in high[0]
    assert "'diverged' column" in high[0]
    note = prepared.notes[0]
    assert note.startswith("no runs marked as diverged (a missing or +inf loss, a loss > 3x")
    assert "no diverged runs" not in note
    assert "; but 3 runs not marked as diverged lie more than 2x" in note
    div = prepared.state["divergence"]
    assert div["n_high_unmarked"] == 3 and div["high_unmarked_rows"] == ["5", "40", "77"]
    assert div["high_factor"] == hp_data.HIGH_FACTOR == 2.0

    clean, caught = _prepare(load_bundled())
    assert not [m for m in caught if "not marked as diverged" in m], caught
    assert "not marked as diverged lie" not in clean.notes[0]
    assert clean.state["divergence"]["n_high_unmarked"] == 0


def test_high_runs_marked_by_a_threshold_are_not_named_again():
    """The remedy works: with divergence_threshold below them the runs are diverged (censored),
    and no longer named as unmarked."""
    runs = _sweep_with_high_runs()
    threshold = 0.5 * (runs.df["loss"].nlargest(3).min() + runs.df["loss"].nlargest(4).min())
    prepared, caught = _prepare(runs, divergence_threshold=float(threshold))
    assert not [m for m in caught if "not marked as diverged" in m], caught
    assert prepared.state["divergence"]["n_diverged"] == 3
    assert prepared.state["divergence"]["n_high_unmarked"] == 0


def test_high_mask_counts_against_the_cells_converged_best():
    """2x the best converged run of the run's own cell, diverged runs neither counted nor the
    best."""
    df = pd.DataFrame({"N": [1, 1, 1, 2, 2], "D": [1, 1, 1, 1, 1],
                       "loss": [1.0, 2.1, 0.1, 3.0, 5.0]})
    diverged = np.array([False, False, True, False, False])
    mask = hp_data.high_mask(df, diverged, np.array([0, 0, 0, 1, 1]))
    assert mask.tolist() == [False, True, False, False, False]


def test_inf_loss_said_as_missing_or_inf():
    """A +inf loss read with allow_missing_loss=True (as NaN) is said as "missing (NaN) or +inf
    loss", not as a missing loss alone."""
    runs = load_bundled()
    df = runs.df[["N", "D", "lr", "batch_size", "loss"]].copy()
    df.loc[[3, 9], "loss"] = np.inf
    table = bl.load_runs(df, allow_missing_loss=True)
    kinds = hp_data.diverged_kinds(resolve_law("hyperparams"), table.df)
    assert kinds[0][1] == "2 with a missing (NaN) or +inf loss"


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


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def arviz_records():
    """What ArviZ's loggers let through during the test (its own ``arviz._log``, outside the
    logging registry, and the registry's 'arviz')."""
    import arviz as az

    handler = _Records()
    loggers = [az._log, logging.getLogger("arviz")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler.records
    for logger in loggers:
        logger.removeHandler(handler)


def _idata(chains, draws):
    import arviz as az

    rng = np.random.default_rng(0)
    posterior = {"a": rng.normal(size=(chains, draws)), "b": rng.normal(size=(chains, draws))}
    stats = {"diverging": np.zeros((chains, draws), bool)}
    return az.from_dict(posterior=posterior, sample_stats=stats)


def test_arviz_shape_warnings_muted_around_own_calls_only(arviz_records):
    """The package's diagnostics (few draws per chain) and its R-hat/ESS helper (one chain) log
    nothing through ArviZ; the logger's level is restored after, so ArviZ's own calls outside
    still log."""
    import arviz as az

    # ArviZ logs each message once per process: shapes no other test uses
    levels = [az._log.level, logging.getLogger("arviz").level]
    assert not az._log.filters
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diag = diagnostics.check(_idata(3, 2), ["a", "b"])
    assert diag.n_chains == 3 and diag.problems  # the package's own "too few" note
    r_hat, ess_bulk, _ = diagnostics.rhat_ess(_idata(1, 211), ["a", "b"])
    assert np.isnan(float(r_hat["a"])) and float(ess_bulk["a"]) > 0
    assert not [r for r in arviz_records if "Shape validation" in r.getMessage()]
    assert [az._log.level, logging.getLogger("arviz").level] == levels
    with diagnostics.quiet_arviz():
        az.rhat(_idata(1, 213))
    assert not [r for r in arviz_records if "Shape validation" in r.getMessage()]
    assert not az._log.filters
    az.rhat(_idata(1, 213))  # outside the package's calls ArviZ logs as it does
    assert [r for r in arviz_records if "Shape validation" in r.getMessage()]


def test_quiet_arviz_restores_the_level_on_error():
    import arviz as az

    level, filters = logging.getLogger("arviz").level, list(az._log.filters)
    with pytest.raises(RuntimeError), diagnostics.quiet_arviz():
        assert az._log.filters != filters
        raise RuntimeError("boom")
    assert (logging.getLogger("arviz").level, az._log.filters) == (level, filters)
