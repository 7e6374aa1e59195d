"""Law 'sweep': its pointwise log-likelihood for LOO is the exact leave-one-run-out term.

The cell levels are integrated out, so the runs of a cell are not independent given theta: NUTS
sums the chain rule (:meth:`CellMarginal.log_prob`, exact joint), LOO needs ln p(z_i | z_-i,
theta) (:meth:`CellMarginal.loo_log_prob`, Buerkner, Gabry & Vehtari 2021).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from numpyro import handlers
from scipy import stats

from bayeslaws.laws.sweep import CellMarginal


def cell_arrays(cell_index):
    """(order, rank, cell_start) of CellMarginal for ``cell_index`` (R,)."""
    cell_index = np.asarray(cell_index)
    order = np.argsort(cell_index, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    start = np.searchsorted(cell_index[order], np.arange(cell_index.max() + 1))
    return order, rank, start


def cell_marginal(mean, var, level_var, cell_index):
    order, rank, start = cell_arrays(cell_index)
    return CellMarginal(jnp.asarray(mean), jnp.asarray(var), level_var, jnp.asarray(cell_index),
                        jnp.asarray(order), jnp.asarray(rank), jnp.asarray(start))


def dense_terms(z, mean, var, level_var, cell_index):
    """(joint ln density, (R,) ln p(z_i | z_-i)) of the dense Gaussian, covariance
    diag(var) + s^2 [same cell]."""
    cov = np.diag(var) + level_var * (cell_index[:, None] == cell_index[None, :])
    joint = stats.multivariate_normal(mean, cov).logpdf(z)
    loo = np.empty(len(z))
    for i in range(len(z)):
        rest = np.arange(len(z)) != i
        loo[i] = joint - stats.multivariate_normal(mean[rest], cov[np.ix_(rest, rest)]).logpdf(
            z[rest]
        )
    return joint, loo


@pytest.fixture(scope="module")
def random_cells():
    """Six cells of 1-5 runs (shuffled), unequal run variances, cell scatter 3x the noise."""
    rng = np.random.default_rng(3)
    cell_index = rng.permutation(np.repeat(np.arange(6), [1, 2, 3, 5, 4, 2]))
    R = len(cell_index)
    mean = rng.normal(0.0, 0.05, R)
    var = (0.01 * rng.uniform(0.5, 2.0, R)) ** 2
    level_var = 0.03**2
    z = mean + 0.03 * rng.standard_normal(6)[cell_index] + np.sqrt(var) * rng.standard_normal(R)
    return z, mean, var, level_var, cell_index


def test_loo_terms_equal_the_dense_gaussian_conditionals(random_cells):
    z, mean, var, level_var, cell_index = random_cells
    joint, loo = dense_terms(z, mean, var, level_var, cell_index)
    d = cell_marginal(mean, var, level_var, cell_index)
    # float32 (JAX's default): ln densities of order 3, run sds 0.01
    np.testing.assert_allclose(np.asarray(d.loo_log_prob(jnp.asarray(z))), loo, atol=2e-3)
    # the sampler's density is still the exact joint (chain rule)
    assert float(d.log_prob(jnp.asarray(z)).sum()) == pytest.approx(joint, abs=5e-3)


def observed_sites(fit, runs, n_draws: int = 12):
    """Per draw (the first ``n_draws``) the observed site's distribution and value, for the
    fit's law on ``runs`` (as :func:`bayeslaws.inference.screening.pointwise` traces it)."""
    law = fit.law
    prepared = law.prepare(runs)
    static = {**prepared.static, "priors": fit.priors, "likelihood": fit.likelihood}
    draws = fit.draws()
    out = []
    for k in range(n_draws):
        sample = {name: jnp.asarray(v[k]) for name, v in draws.items()}
        model = handlers.seed(handlers.substitute(law.model, data=sample), rng_seed=k)
        trace = handlers.trace(model).get_trace(**static, **prepared.data)
        site = trace[law.observed_site]
        out.append((site["fn"], site["value"]))
    return prepared.runs.df.index, out


def reversed_in_cells(runs):
    """``runs`` with the row order reversed inside each (N, D) cell (labels kept)."""
    import bayeslaws as bl

    df = runs.df
    parts = [g.iloc[::-1] for _, g in df.groupby(["N", "D"], sort=False)]
    return bl.load_runs(__import__("pandas").concat(parts))


@pytest.fixture(scope="module")
def sweep_terms(small_sweep_sweep_fit):
    """(LOO terms, chain-rule terms) (draws, runs) of the tiny sweep fit in the table's order
    and with the rows reversed inside each cell, columns aligned by row label."""
    fit = small_sweep_sweep_fit
    runs = fit.training_runs()
    out = {}
    for name, table in (("table", runs), ("reversed", reversed_in_cells(runs))):
        labels, sites = observed_sites(fit, table)
        loo = np.stack([np.asarray(fn.loo_log_prob(v)) for fn, v in sites])
        chain = np.stack([np.asarray(fn.log_prob(v)) for fn, v in sites])
        position = {label: i for i, label in enumerate(labels)}
        columns = [position[label] for label in runs.df.index]
        out[name] = (loo[:, columns], chain[:, columns])
    return out


def test_fit_loo_terms_do_not_depend_on_row_order(sweep_terms):
    """The same run and draw gets the same LOO term whatever the order of the rows in its cell
    (the chain-rule terms the sampler sums move, their total does not)."""
    loo, chain = sweep_terms["table"]
    loo_rev, chain_rev = sweep_terms["reversed"]
    assert np.isfinite(loo).all()
    np.testing.assert_allclose(loo_rev, loo, atol=1e-3)
    np.testing.assert_allclose(chain_rev.sum(1), chain.sum(1), rtol=1e-5, atol=1e-2)
    # the chain-rule terms of single runs do move with the order (what made them unfit for LOO)
    assert np.abs(chain_rev - chain).max() > 10 * np.abs(loo_rev - loo).max()


def test_fit_stores_the_loo_terms(small_sweep_sweep_fit, sweep_terms):
    """What az.loo and bl.compare read (idata.log_likelihood) is the exact LOO terms."""
    stored = np.asarray(small_sweep_sweep_fit.idata.log_likelihood["log_loss"])
    stored = stored.reshape((-1, stored.shape[-1]))
    loo, _ = sweep_terms["table"]
    np.testing.assert_allclose(stored[: len(loo)], loo, atol=1e-3)


# ---- fits whose stored terms are of another version ------------------------------------------
def stale_copy(fit, version: int):
    """``fit`` with a record that claims ``version`` of its law's pointwise terms."""
    import dataclasses

    import bayeslaws as bl

    record = dataclasses.replace(fit.record, loo_terms_version=version)
    return bl.Fit(fit.idata, record, compute_model=fit.compute_model)


def test_fits_of_the_current_version_compare_as_they_are(small_sweep_sweep_fit):
    """Fits recorded under the law's current version are scored on their stored terms, with no
    recomputation (older versions: tests/test_loo_terms_version.py)."""
    import warnings

    import bayeslaws as bl
    from bayeslaws.inference.nuts import LooTermsRecomputedWarning

    fit = small_sweep_sweep_fit
    assert fit.record.loo_terms_version == fit.law.loo_terms_version == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tiny fit's Pareto k
        warnings.simplefilter("error", LooTermsRecomputedWarning)
        table = bl.compare({"a": fit, "b": stale_copy(fit, 2)})
    assert table.loc["a", "elpd_loo"] == pytest.approx(table.loc["b", "elpd_loo"])


def load_quietly(path):
    import warnings

    import bayeslaws as bl

    with warnings.catch_warnings():  # the tiny fit's sampler trouble, told on loading
        warnings.simplefilter("ignore")
        return bl.load_fit(path)


def test_saved_fit_keeps_its_loo_terms_version(small_sweep_sweep_fit, tmp_path):
    path = small_sweep_sweep_fit.save(tmp_path / "sweep.nc")
    assert load_quietly(path).record.loo_terms_version == 2
    path = stale_copy(small_sweep_sweep_fit, 1).save(tmp_path / "stale.nc")
    assert load_quietly(path).record.loo_terms_version == 1
