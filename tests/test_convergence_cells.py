"""The convergence checks cover the per-cell and per-group sites predictions read
(``Law.checked_names``), not only the sites ``Fit.summary`` reports: a stuck chain of law
'hyperparams'' ``z_lr[8]`` (R-hat 1.97) was not warned while the reported sites looked fine
(max R-hat 1.35). A problem line names at most ``NAMES_SHOWN`` parameters, the worst first."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import small_sweep_grid
from numpyro import handlers

import bayeslaws as bl
from bayeslaws.inference import nuts
from bayeslaws.inference.deferred import arviz
from bayeslaws.inference.diagnostics import NAMES_SHOWN, SamplerWarning, check, rhat_ess
from bayeslaws.laws.hyperparams import HyperparamsLaw

CHAINS, DRAWS, N_CELLS = 2, 400, 9


def _idata(stuck: dict, n_cells: int = N_CELLS, nan_site: str | None = None):
    """Posterior (CHAINS x DRAWS) of law 'hyperparams'' sites, every one independent standard
    normal draws (well mixed) except the cells of ``z_lr`` in ``stuck`` (cell -> offset of the
    second chain); ``nan_site``: a site with one NaN draw."""
    rng = np.random.default_rng(0)
    law = HyperparamsLaw()
    names = law.summary_names((None,), "gaussian")
    posterior = {n: rng.standard_normal((CHAINS, DRAWS)) for n in names}
    for name in ("z_lr", "z_batch", "level_mean", "level"):
        posterior[name] = rng.standard_normal((CHAINS, DRAWS, n_cells))
    for cell, offset in stuck.items():
        posterior["z_lr"][1, :, cell] += offset
    if nan_site is not None:
        posterior[nan_site][0, 0, ...] = np.nan
    stats = {"diverging": np.zeros((CHAINS, DRAWS), bool)}
    return arviz().from_dict(posterior=posterior, sample_stats=stats)


def _checked(idata) -> list[str]:
    return nuts.fitted_sites(HyperparamsLaw().checked_names((None,), "gaussian"), idata.posterior)


def test_a_stuck_cell_is_warned_though_the_reported_sites_look_fine():
    idata = _idata({8: 3.0})
    reported = HyperparamsLaw().summary_names((None,), "gaussian")
    assert "z_lr" not in reported
    assert not check(idata, reported, warn=False).problems  # what the fit checked before
    with pytest.warns(SamplerWarning, match=r"R-hat > [\d.]+ for \['z_lr\[8\]'\]"):
        diag = check(idata, _checked(idata))
    assert diag.max_r_hat > diag.rhat_bar


def _checked_sites(law, runs):
    """(the model's trace, ``law.checked_names``, those beyond ``summary_names``) on ``runs``
    under a Gaussian likelihood."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the law's notes on the runs
        prepared = law.prepare(runs)
    static = {**prepared.static, "priors": law.priors("gaussian"), "likelihood": "gaussian"}
    with handlers.seed(rng_seed=0):
        trace = handlers.trace(law.model).get_trace(**static, **prepared.data)
    checked = law.checked_names(prepared.groups, "gaussian")
    return trace, checked, set(checked) - set(law.summary_names(prepared.groups, "gaussian"))


def test_hyperparams_checks_its_cell_and_group_sites_which_the_model_has():
    law = HyperparamsLaw()
    plain = bl.load_runs(small_sweep_grid())
    df = plain.df.reset_index(drop=True)
    both = pd.concat([df.assign(group="a"), df.assign(group="b")], ignore_index=True)
    grouped = bl.load_runs(both)
    for runs, per_group in ((plain, False), (grouped, True)):
        trace, checked, extra = _checked_sites(law, runs)
        assert {"z_lr", "z_batch", "level_mean", "level"} <= extra
        assert ({"lr_int_z", "batch_int_z"} <= extra) is per_group
        assert set(checked) <= set(trace), set(checked) - set(trace)


def test_a_long_list_of_cells_names_the_worst_and_counts_the_rest():
    n = 20
    idata = _idata({cell: 1.0 + 0.1 * cell for cell in range(n)}, n_cells=n)
    diag = check(idata, list(idata.posterior.data_vars), warn=False)
    line = next(p for p in diag.problems if p.startswith("R-hat"))
    r_hat = np.asarray(rhat_ess(idata, ["z_lr"])[0]["z_lr"])
    assert (r_hat > diag.rhat_bar).all()
    worst = [f"z_lr[{cell}]" for cell in np.argsort(-r_hat)[:NAMES_SHOWN]]
    assert line.endswith(f"for {worst} and {n - NAMES_SHOWN} more"), line


def test_a_site_with_nan_draws_is_named_once_not_by_each_cell():
    idata = _idata({}, nan_site="z_lr")
    diag = check(idata, list(idata.posterior.data_vars), warn=False)
    assert "non-finite draws (NaN or inf) for ['z_lr']" in diag.problems
    assert not [p for p in diag.problems if "z_lr[" in p], diag.problems


def test_a_fits_diagnostics_cover_its_cell_sites(monkeypatch):
    """A tiny fit (2 chains x 20 + 20, unconverged): the sampler check gets the per-cell sites,
    its figures are theirs too, and ``Fit.summary`` still reports the law's own sites."""
    seen = []

    def spy(idata, var_names, **kwargs):
        seen.append(list(var_names))
        return check(idata, var_names, **kwargs)

    monkeypatch.setattr(nuts, "check", spy)
    runs = bl.load_runs(small_sweep_grid())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sampler trouble: 40 draws are too few
        fit = bl.fit(
            runs, law="hyperparams", likelihood="gaussian", seed=0, chains=2, warmup=20, draws=20
        )
    (names,) = seen
    assert {"z_lr", "z_batch", "level_mean", "level"} <= set(names)
    assert "z_lr" not in fit.record.summary_names
    with np.errstate(divide="ignore", invalid="ignore"):  # chains that never move: ArviZ's
        r_hat, ess_bulk, _ = rhat_ess(fit.idata, names)  # x/0, as in the fit's check
        reported = fit.summary().index
    worst = max(float(r_hat[n].max()) for n in names)
    assert fit.diagnostics.max_r_hat == pytest.approx(worst, rel=1e-4)
    assert fit.diagnostics.min_ess_bulk == pytest.approx(
        min(float(ess_bulk[n].min()) for n in names), rel=1e-4
    )
    assert "z_lr" not in set(reported.str.split("[").str[0])


@pytest.mark.parametrize("cubic", [False, True])
def test_isoflop_checks_each_fitted_budgets_own_curve(cubic):
    """Predictions at a fitted budget read its own vertex, level, curvature (and skew)
    (IsoflopLaw.budget_draws); the checks cover them, and each is a site of the model."""
    from bayeslaws.laws.isoflop import LAW, LAW_CUBIC
    from bayeslaws.runs import simulate

    law = LAW_CUBIC if cubic else LAW
    runs = bl.load_runs(simulate.simulate_liang_isoflop(seed=1, n_per_budget=7))
    trace, _, extra = _checked_sites(law, runs)
    assert {"v", "m", "log_h"} | ({"s"} if cubic else set()) == extra
    assert extra <= set(trace), extra - set(trace)  # (run_sd only with run ids)


class _FinishedRefit:
    """A finished refit's samples and extra fields (2 chains x 100 draws): every draw at the
    maximum tree depth (1023 leapfrog steps), after the refits' 300 warm-up draws."""

    num_warmup = 300

    def get_samples(self, group_by_chain=True):
        return {"alpha": np.random.default_rng(0).normal(size=(2, 100))}

    def get_extra_fields(self, group_by_chain=True):
        return {"diverging": np.zeros((2, 100), bool), "num_steps": np.full((2, 100), 1023)}


def test_a_dense_refit_is_not_told_to_use_a_dense_mass_matrix():
    """The extrapolation scale-out refits run NUTS with the law's mass matrix (dense for loss
    surfaces); their tree-depth advice said "use a dense mass matrix" whatever it was."""
    from bayeslaws.posterior.extrapolation.distance import refit_diagnostics

    dense = " ".join(refit_diagnostics(_FinishedRefit(), ["alpha"], True)["problems"])
    diagonal = " ".join(refit_diagnostics(_FinishedRefit(), ["alpha"], False)["problems"])
    assert "maximum tree depth" in dense and "already dense" in dense, dense
    assert "dense_mass=True" not in dense and "dense_mass=True" in diagonal, diagonal
