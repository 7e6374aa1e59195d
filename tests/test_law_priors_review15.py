"""Review 15's prior and option findings: overrides a fit would ignore are refused (the sweep's
shape scatters without shape_scatter, isoflop's run_sd without run offsets, the two-stage law's
sigma), an override's support must lie within its default's (rho of law 'hyperparams' in
(-1, 1)), a law option given both as a keyword and in law_options must agree, and a two-stage
``terms`` entry that is no list of terms is refused by name. SIMULATED run tables; no sampling
(the sampler is replaced by one that raises)."""

from __future__ import annotations

import warnings

import numpyro.distributions as dist
import pytest
from conftest import small_sweep_grid

import bayeslaws as bl
from bayeslaws.inference import nuts
from bayeslaws.laws import LAWS
from bayeslaws.laws.hyperparams.law import HyperparamsLaw
from bayeslaws.laws.isoflop import LAW as ISOFLOP
from bayeslaws.laws.sweep import SHAPE_SCATTER
from bayeslaws.runs import PlausibilityWarning, as_run_table, simulate

SHAPE_SCATTERS = tuple(f"{name}_scatter" for name in SHAPE_SCATTER)


class Sampled(Exception):
    """Raised instead of sampling: the fit got past every check."""


@pytest.fixture
def no_sampling(monkeypatch):
    def refuse(*args, **kwargs):
        raise Sampled

    monkeypatch.setattr(nuts, "_cached_mcmc", refuse)


# ---- 1. overrides the fit would ignore --------------------------------------------------------
@pytest.mark.parametrize("name", SHAPE_SCATTERS)
def test_sweep_refuses_a_shape_scatter_prior_without_shape_scatter(name):
    law = LAWS["sweep"]
    assert not law.options["shape_scatter"]
    with pytest.raises(ValueError, match=f"\\['{name}'\\].*sampled only with shape_scatter=True"):
        law.priors("gaussian", {name: dist.HalfNormal(0.01)})
    chosen = law.configure(shape_scatter=True).priors("gaussian", {name: dist.HalfNormal(0.01)})
    assert chosen[name].scale == 0.01  # sampled there: taken


def test_sweep_takes_its_defaults_back_as_an_update_passes_them(small_sweep):
    law = LAWS["sweep"]
    full = law.priors("gaussian")  # a fit's full priors, unused scatter defaults among them
    assert law.priors("gaussian", full).keys() == full.keys()
    prepared = law.prepare(small_sweep)
    law.check_priors(full, prepared)
    with pytest.raises(ValueError, match="valley_scatter is sampled only with shape_scatter"):
        law.check_priors({**full, "valley_scatter": dist.HalfNormal(0.01)}, prepared)


def test_sweep_fit_with_an_unsampled_prior_never_samples(no_sampling, small_sweep):
    with pytest.raises(ValueError, match="k_lr_scatter is sampled only with shape_scatter"):
        bl.fit(small_sweep, law="sweep", priors={"k_lr_scatter": dist.HalfNormal(0.01)})


def isoflop_table(run_labels=None):
    """SIMULATED isoFLOP runs (Liang's truth), with ``run_labels`` run labels or no run column."""
    runs = simulate.simulate_liang_isoflop(seed=1, n_per_budget=7)
    if run_labels is not None:
        runs = runs.assign(run=[f"r{i % run_labels}" for i in range(len(runs))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlausibilityWarning)  # one far D/N row: not the point
        return as_run_table(runs)


def test_isoflop_refuses_run_sd_without_a_run_column(no_sampling):
    table = isoflop_table()
    priors = ISOFLOP.priors("gaussian", {"run_sd": dist.HalfNormal(0.05)})
    with pytest.raises(ValueError, match="run_sd is sampled only when the run table has a 'run'"):
        ISOFLOP.check_priors(priors, ISOFLOP.prepare(table))
    with pytest.raises(ValueError, match="\\['run_sd'\\]"):
        bl.fit(table, law="isoflop", priors={"run_sd": dist.HalfNormal(0.05)})
    ISOFLOP.check_priors(ISOFLOP.priors("gaussian"), ISOFLOP.prepare(table))  # the default
    with pytest.raises(Sampled):  # with run labels run_sd is sampled: taken
        bl.fit(isoflop_table(9), law="isoflop", priors={"run_sd": dist.HalfNormal(0.05)})


def test_isoflop_refuses_run_sd_when_the_offsets_are_dropped():
    with pytest.warns(PlausibilityWarning, match="per-run offsets dropped"):
        prepared = ISOFLOP.prepare(isoflop_table(3))  # 3 runs: detrending leaves nothing
    assert prepared.state["n_run_ids"] == 0
    with pytest.raises(ValueError, match="run_sd is sampled only with per-run offsets.*'free'"):
        ISOFLOP.check_priors({"run_sd": dist.HalfNormal(0.05)}, prepared)


def test_two_stage_refuses_sigma_and_names_its_own_noise_scales():
    law = LAWS["hyperparams_two_stage"]
    with pytest.raises(ValueError, match="\\['sigma'\\].*sigma_lr or sigma_batch"):
        law.priors("gaussian", {"sigma": dist.HalfNormal(0.3)})
    with pytest.raises(ValueError, match="its parameters are") as refused:
        law.priors("gaussian", {"nope": dist.HalfNormal(0.3)})
    listed = str(refused.value).split("its parameters are")[1]
    assert "'sigma_lr'" in listed and "'sigma'" not in listed
    assert law.priors("gaussian", {"sigma_lr": dist.LogUniform(1e-3, 1.0)})["sigma_lr"]


def test_a_noise_scale_takes_any_positive_prior_beyond_its_default_bounds():
    """sigma_lr's default LogUniform(1e-4, 10) bounds it by choice: a HalfNormal (all the
    positive numbers) is a fine override and was refused as if sigma_lr lived on (1e-4, 10);
    a prior on every real number still is refused."""
    law = LAWS["hyperparams_two_stage"]
    assert law.priors("gaussian", {"sigma_lr": dist.HalfNormal(0.5)})["sigma_lr"].scale == 0.5
    with pytest.raises(ValueError, match="prior for 'sigma_batch' puts mass on every real"):
        law.priors("gaussian", {"sigma_batch": dist.Normal(0.0, 1.0)})


# ---- 2. an override's support within its default's ---------------------------------------------
def test_rho_wider_than_minus_one_to_one_is_refused():
    law = HyperparamsLaw(bowl="full")
    assert "rho" in law.default_priors()
    with pytest.raises(ValueError, match="prior for 'rho' puts mass on \\(-1.5, 1.5\\)") as refused:
        law.priors("gaussian", {"rho": dist.Uniform(-1.5, 1.5)})
    assert "dist.Uniform(-1, 1)" in str(refused.value)
    inside = dist.TruncatedNormal(0.0, 0.5, low=-1.0, high=1.0)
    assert law.priors("gaussian", {"rho": inside})["rho"] is inside


def test_the_suggestion_follows_the_defaults_support():
    law = HyperparamsLaw(bowl="full")
    with pytest.raises(ValueError, match="every real number") as on_rho:
        law.priors("gaussian", {"rho": dist.Normal(0.0, 0.5)})
    assert "positive" not in str(on_rho.value) and "HalfNormal" not in str(on_rho.value)
    assert "low=-1, high=1" in str(on_rho.value)
    with pytest.raises(ValueError, match="the positive numbers.*dist.HalfNormal"):
        law.priors("gaussian", {"k_lr": dist.Normal(0.0, 0.5)})


def test_overrides_within_the_support_are_still_taken():
    chinchilla = LAWS["chinchilla"]
    assert chinchilla.priors("huber", {"alpha": dist.Beta(20.0, 80.0)})["alpha"].concentration1
    with pytest.raises(ValueError, match="prior for 'alpha' puts mass on \\(0, 2\\)"):
        chinchilla.priors("huber", {"alpha": dist.Uniform(0.0, 2.0)})
    assert chinchilla.priors("huber", {"sigma": dist.LogNormal(-3.0, 1.0)})["sigma"]


# ---- 3. an option given both ways ---------------------------------------------------------------
def test_an_option_given_both_ways_must_agree(no_sampling):
    runs = small_sweep_grid()
    with pytest.raises(ValueError, match="far_above.*0.03.*0.05"):
        bl.fit(runs, law="hyperparams", far_above=0.03, law_options={"far_above": 0.05})
    with pytest.raises(Sampled):  # the same value both ways is fine
        bl.fit(runs, law="hyperparams", far_above=0.05, law_options={"far_above": 0.05}, warn=False)


# ---- 4. two-stage terms that are no list of terms -----------------------------------------------
@pytest.mark.parametrize("use", [None, 3, [["N"]]])
def test_two_stage_terms_that_are_no_list_are_refused_by_name(use):
    with pytest.raises(TypeError, match="terms for 'lr' must be a list of terms among"):
        LAWS["hyperparams_two_stage"].configure(terms={"lr": use})
