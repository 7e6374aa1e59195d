"""ArviZ's "Shape validation failed" log is muted around the package's own diagnostics
(quiet_arviz, stacking's one-chain R-hat) only, and overlapping or failing quiet_arviz blocks
leave ArviZ's logger as they found it."""

from __future__ import annotations

import logging
import threading
import time
import types
import warnings

import numpy as np
import pytest

from bayeslaws.inference import diagnostics
from bayeslaws.inference.diagnostics import quiet_arviz
from bayeslaws.posterior.extrapolation.stacking import max_r_hat


# ---- 2. one-chain R-hat of stacking ---------------------------------------------------------
class _Kept(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_one_chain_r_hat_of_stacking_says_nothing_on_stderr(monkeypatch, capfd):
    """One chain of 6 draws: R-hat of its halves (2 x 3 draws) is NaN, and ArviZ's "Shape
    validation failed ... minimum_shape: (chains=2, draws=4)" is no longer logged."""
    import arviz

    monkeypatch.setattr(arviz._log, "cache", [])  # ArviZ says a message once per process
    kept = _Kept()
    arviz._log.addHandler(kept)
    try:
        rng = np.random.default_rng(0)
        idata = arviz.from_dict(posterior={"a": rng.normal(size=(1, 6))})
        r_hat = max_r_hat(types.SimpleNamespace(idata=idata))
    finally:
        arviz._log.removeHandler(kept)
    assert np.isnan(r_hat)
    assert not any("Shape validation failed" in m for m in kept.messages), kept.messages
    assert "Shape validation failed" not in capfd.readouterr().err


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


def test_overlapping_quiet_blocks_restore_arviz_s_logger():
    logger = logging.getLogger("arviz")
    level = logger.level
    try:
        logger.setLevel(logging.NOTSET)
        first, second = quiet_arviz(), quiet_arviz()
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)  # the first in leaves first
        assert logger.level >= logging.ERROR  # the second block is still muting
        second.__exit__(None, None, None)
        assert logger.level == logging.NOTSET

        barrier = threading.Barrier(2)

        def work(delay):
            with quiet_arviz():
                barrier.wait()
                time.sleep(delay)

        threads = [threading.Thread(target=work, args=(d,)) for d in (0.0, 0.2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert logger.level == logging.NOTSET
    finally:
        logger.setLevel(level)
