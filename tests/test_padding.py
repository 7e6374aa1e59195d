"""Run counts padded to size buckets (bayeslaws.inference.padding): the padded, masked model has
the table's own log density, fits of nearby sizes share one compiled sampler, and every output
is cut back to the table's runs."""

import copy

import jax
import numpy as np
import pandas as pd
import pytest
from numpyro.infer import Predictive
from numpyro.infer.util import log_density

import bayeslaws as bl
from bayeslaws.inference import nuts, padding

pytestmark = pytest.mark.slow  # process and compiler machinery: .ci/run's slow step

SAMPLER = dict(chains=1, warmup=30, draws=30, warn=False, screen="off", progress_bar=False)


def _runs(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(n)
    N = 10 ** rng.uniform(7, 9, n)
    D = 10 ** rng.uniform(9, 11, n)
    loss = (1.8 + 400 * N**-0.34 + 400 * D**-0.28) * np.exp(rng.normal(0, 0.01, n))
    return pd.DataFrame({"N": N, "D": D, "loss": loss})


def test_buckets_hold_the_runs_with_at_most_a_quarter_more():
    sizes = np.arange(1, 2001)
    buckets = np.array([padding.bucket(int(n)) for n in sizes])
    assert np.all(buckets >= sizes) and np.all(np.diff(buckets) >= 0)
    big = sizes > padding.MIN_BUCKET
    assert np.all(buckets[big] <= 1.25 * sizes[big])
    assert len(np.unique(buckets)) <= 4 * np.log2(2000 / 8) + 2  # four per doubling


def test_the_padded_masked_model_has_the_tables_own_log_density():
    law = bl.laws.resolve_law("chinchilla")
    prepared = law.prepare(bl.load_runs(_runs(13)))
    static = {**prepared.static, "priors": law.priors("huber"), "likelihood": "huber"}
    padded = padding.pad(law, prepared.data)
    assert padded["x"].shape == (14,) and padded["mask"].sum() == 13

    def plain(**data):
        law.model(**static, **data)

    inputs = {k: v for k, v in prepared.data.items() if k != "obs"}
    draw = Predictive(plain, num_samples=1)(jax.random.PRNGKey(0), **inputs)
    point = {k: v[0] for k, v in draw.items() if k != law.observed_site}
    own, _ = log_density(plain, (), prepared.data, point)
    masked, _ = log_density(padding.sampler_model(law, static), (), padded, point)
    np.testing.assert_allclose(float(masked), float(own), rtol=1e-6)
    # the padded run, left in, would change it: the mask is what keeps the density the table's
    unmasked, _ = log_density(plain, (), {k: v for k, v in padded.items() if k != "mask"}, point)
    assert abs(float(unmasked) - float(own)) > 1e-3


def test_fits_of_nearby_sizes_share_one_sampler_and_report_their_own_runs(kernels_kept):
    nuts._MCMC_CACHE.clear()
    first = bl.fit(_runs(13), seed=0, **SAMPLER)
    second = bl.fit(_runs(14), seed=0, **SAMPLER)  # the same bucket (14)
    assert len(nuts._MCMC_CACHE) == 1
    assert first.idata.observed_data["log_loss"].shape == (13,)
    assert second.idata.log_likelihood["log_loss"].shape == (1, 30, 14)
    assert first.n_runs == 13 and second.n_runs == 14
    bl.fit(_runs(15), seed=0, **SAMPLER)  # the next bucket (16): a sampler of its own
    assert len(nuts._MCMC_CACHE) == 2


def test_padded_fit_matches_the_unpadded_posterior():
    """The same table with padding turned off: posterior means agree within Monte Carlo error."""
    runs = _runs(13)  # padded to 14
    options = {**SAMPLER, "chains": 2, "warmup": 300, "draws": 300}
    padded = bl.fit(runs, seed=1, **options)
    law = copy.copy(bl.laws.resolve_law("chinchilla"))
    law.pads_runs = False
    plain = bl.fit(runs, law=law, seed=1, **options)
    for name in ("alpha", "beta", "sigma"):
        a, b = (f.idata.posterior[name].values.ravel() for f in (padded, plain))
        standard_error = np.hypot(a.std(), b.std()) / np.sqrt(150)  # ESS ~ a quarter of draws
        assert abs(a.mean() - b.mean()) < 4 * standard_error, name


def test_a_law_that_pads_must_have_per_run_arrays():
    law = copy.copy(bl.laws.resolve_law("chinchilla"))
    data = {"x": np.zeros(5), "obs": np.zeros(5), "cells": np.zeros(3)}
    with pytest.raises(ValueError, match="'cells'"):
        padding.pad(law, data)
    law.pads_runs = False
    assert padding.pad(law, data) is data
