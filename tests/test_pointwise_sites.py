"""The pointwise log-likelihood (LOO, bl.compare) holds the runs' observation sites only: a
``numpyro.factor`` is a prior or penalty term, not a run's likelihood. Law hyperparams'
``loss_level="surface"`` ties its cell levels to a surface with one (``level_tie``); the fit
crashed collecting it ("cannot reshape array of size 36 into shape (1,100)")."""

from __future__ import annotations

import warnings

import numpy as np
from conftest import small_sweep_grid

import bayeslaws as bl


def test_a_factor_is_not_stored_as_a_runs_log_likelihood():
    runs = bl.load_runs(small_sweep_grid())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bl.fit(
            runs, law="hyperparams", law_options={"loss_level": "surface"}, chains=1,
            warmup=60, draws=60, seed=0,
        )  # fmt: skip
    assert list(fit.idata.log_likelihood.data_vars) == ["log_loss"]
    assert fit.idata.log_likelihood["log_loss"].shape == (1, 60, len(runs.df))
    assert np.isfinite(fit.idata.log_likelihood["log_loss"]).all()
