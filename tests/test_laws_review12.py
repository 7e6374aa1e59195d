"""Review 12 fixes: isoFLOP run offsets that the detrending leaves nothing (or little) to
absorb, the maximum-tree-depth advice of a fit whose mass matrix is already dense, and user
priors with infinite (or otherwise unusable) parameters."""

from __future__ import annotations

import warnings

import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest

import bayeslaws as bl
from bayeslaws.inference import diagnostics as diag
from bayeslaws.inference.diagnostics import SamplerWarning
from bayeslaws.laws.chinchilla import LAW as CHINCHILLA
from bayeslaws.laws.isoflop import LAW as ISOFLOP
from bayeslaws.runs import PlausibilityWarning, as_run_table, simulate

INF = float("inf")


# ---- F1: detrended isoFLOP run offsets -------------------------------------------------------
@pytest.fixture(scope="module")
def liang():
    return simulate.simulate_liang_isoflop(seed=1, n_per_budget=7)


def with_runs(runs, n_labels: int):
    """The run table with ``n_labels`` run labels, assigned in turn (distinct mean sizes);
    the simulated table's own plausibility warning (one run's D/N) is not the subject here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlausibilityWarning)
        return as_run_table(runs.assign(run=[f"r{i % n_labels}" for i in range(len(runs))]))


def test_three_runs_drop_the_detrended_offsets_with_a_warning_and_a_note(liang):
    """With 3 runs the 1, x, x^2 detrending leaves every offset at 0 and run_sd at its prior:
    the offsets are not fitted, and the user is told (warning and the fit's note)."""
    table = with_runs(liang, 3)
    with pytest.warns(PlausibilityWarning, match="per-run offsets dropped") as caught:
        prepared = ISOFLOP.prepare(table)
    assert [w.filename for w in caught] == [__file__]  # one warning, at the user's line
    assert np.asarray(prepared.data["run_ids"]).shape == (0,)
    assert prepared.state["n_run_ids"] == 0 and prepared.state["run_offsets"] is None
    assert len(prepared.notes) == 1 and "3 runs (column 'run')" in prepared.notes[0]
    assert "'free'" in prepared.notes[0]


def test_few_remaining_degrees_of_freedom_are_noted_and_enough_are_not(liang):
    """5 runs keep 5 - 3 = 2 degrees of freedom (fewer than RUN_OFFSET_MIN_DOF): fitted, with
    a note naming how many; 9 runs keep 6: no note; free offsets: no note."""
    from bayeslaws.laws.isoflop import RUN_OFFSET_MIN_DOF

    tables = {n: with_runs(liang, n) for n in (3, 5, 9)}
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlausibilityWarning)
        few = ISOFLOP.prepare(tables[5])
        many = ISOFLOP.prepare(tables[9])
        free = ISOFLOP.configure(run_offsets="free").prepare(tables[3])
    dof = int(round(np.trace(np.asarray(few.data["run_proj"]))))
    assert dof == 2 < RUN_OFFSET_MIN_DOF
    assert np.asarray(few.data["run_ids"]).shape == (5,)
    assert len(few.notes) == 1 and f"keep {dof} degrees of freedom" in few.notes[0]
    assert many.notes == () and free.notes == ()
    assert np.asarray(free.data["run_ids"]).shape == (3,)


def test_a_fit_with_three_runs_neither_samples_nor_reports_run_sd(liang):
    runs = with_runs(liang, 3)
    with pytest.warns(PlausibilityWarning, match="per-run offsets dropped"):
        fit = bl.fit(
            runs, law="isoflop", likelihood="gaussian", seed=0, chains=1, warmup=150,
            draws=150, dense_mass=False, warn=False, progress_bar=False,
        )  # fmt: skip
    assert "run_sd" not in fit.summary().index
    assert any("per-run offsets dropped" in note for note in fit.record.notes)


# ---- F2: tree-depth advice and the mass matrix -----------------------------------------------
NAMES = [f"p{k}" for k in range(4)]


def deep_idata(share=0.05, chains=2, draws=300, cap=10, seed=0):
    """Independent draws of 4 parameters; the first ``share`` of the draws at depth ``cap``."""
    import arviz as az

    rng = np.random.default_rng(seed)
    posterior = {name: rng.standard_normal((chains, draws)) for name in NAMES}
    steps = np.full(chains * draws, 15)
    steps[: int(round(share * steps.size))] = 2**cap - 1
    stats = {"diverging": np.zeros((chains, draws), bool), "n_steps": steps.reshape(chains, draws)}
    return az.from_dict(posterior=posterior, sample_stats=stats)


def depth_text(**kwargs) -> str:
    with pytest.warns(SamplerWarning, match="maximum tree depth"):
        d = diag.check(deep_idata(), NAMES, **kwargs)
    (text,) = d.problems
    return text


def test_a_dense_fit_is_not_told_to_use_a_dense_mass_matrix():
    dense = depth_text(dense_mass=True)
    assert "dense_mass=True" not in dense and "already dense" in dense
    assert "reparametrise" in dense and "warmup=" in dense
    assert "higher target_accept would lengthen" in dense
    for unknown_or_diagonal in (depth_text(dense_mass=False), depth_text()):
        assert "dense_mass=True" in unknown_or_diagonal


# ---- F3: unusable user priors ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("site", "prior", "parameter"),
    [
        ("a", lambda: dist.Normal(0.0, INF), "scale is inf"),
        ("a", lambda: dist.LogNormal(0.0, INF), "scale is inf"),
        ("sigma", lambda: dist.HalfNormal(INF), "scale is inf"),
        ("sigma", lambda: dist.Gamma(INF, 1.0), "concentration is inf"),
        ("alpha", lambda: dist.Beta(2.0, INF), "concentration0 is inf"),
        ("alpha", lambda: dist.Uniform(0.0, INF), "high is inf"),
        ("sigma", lambda: dist.TruncatedNormal(0.1, INF, low=0.0), "base_dist.scale is inf"),
    ],
)
def test_a_prior_with_an_infinite_parameter_is_refused_naming_site_and_parameter(
    site, prior, parameter
):
    with pytest.raises(ValueError, match=rf"prior for '{site}'.*{parameter}.*finite"):
        CHINCHILLA.priors("huber", {site: prior()})


def test_a_prior_outside_its_constraints_is_refused_even_without_validation():
    with numpyro.validation_enabled(False):
        negative = dist.Normal(0.0, -1.0)
    with pytest.raises(ValueError, match=r"prior for 'a'.*scale is -1.*positive"):
        CHINCHILLA.priors("huber", {"a": negative})


def test_an_open_truncation_bound_is_accepted():
    """TruncatedNormal(..., low=0, high=inf) is a working one-sided prior."""
    prior = dist.TruncatedNormal(0.1, 0.05, low=0.0, high=INF)
    assert CHINCHILLA.priors("huber", {"sigma": prior})["sigma"] is prior
