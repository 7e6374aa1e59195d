"""A new group's answer on a fit of few groups: its deviation comes from the groups' spread
(``<p>_tau``), which two groups leave mostly to the ``group_sd`` prior (review R5: the same
two-group table gave a new group's N_opt upper end 3.1e9 / 4.2e9 / 4.0e10 under HalfNormal(0.1)
/ (0.3) / (1.0), and the new-group warning said the spread was "fitted", naming no prior)."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import jax
import numpy as np
import numpyro.distributions as dist

import bayeslaws as bl
from bayeslaws.posterior import draws as post_draws

DEFAULT = {"group_sd": dist.HalfNormal(0.3)}  # the surface laws' default (surface.GROUP_SD_PRIOR)


def _half_normal_draws(scale: float, n: int = 400, seed: int = 0) -> np.ndarray:
    """n draws of HalfNormal(scale), as a spread the data leave to that prior gives."""
    return np.abs(np.random.default_rng(seed).normal(0.0, scale, n))


def _stub_fit(n_groups: int, tau_draws: dict, priors: dict):
    """What new_group_message reads of a fit: its groups and its posterior's draws and priors."""
    post = SimpleNamespace(draws=tau_draws, priors=priors)
    return SimpleNamespace(groups=[f"g{i}" for i in range(n_groups)], posterior=lambda: post)


def test_two_group_new_group_warning_names_the_group_sd_prior(grouped_fit):
    """Two groups (conftest's grouped_fit): the new-group warning says the spread depends on
    the group_sd prior, HalfNormal(0.3), with its sensitivity, and names the override key."""
    post_draws._NEW_GROUP_ANNOUNCED.discard(grouped_fit)  # the warning is once per fit
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bl.predict(grouped_fit, N=1e9, D=2e10, extrapolation="none")
    [message] = [str(w.message) for w in caught if "NEW, unseen group" in str(w.message)]
    assert "depends on the 'group_sd' prior, HalfNormal(0.3)" in message
    assert "power-scaling prior sensitivity" in message
    assert "unconstrained units" in message and "priors={'group_sd': ...}" in message
    assert "pass group='A'" in message and "fitted spread" not in message
    post = grouped_fit.posterior()
    assert post_draws.prior_sensitive_spreads(post.draws, post.priors)  # two groups: the prior's


def test_spread_pinned_by_the_data_is_not_flagged():
    """Spreads the data pin are not flagged, however large: 0.37 +- 0.07 under HalfNormal(1.0)
    (as 12 groups gave; the first rule, a 95% point past half the prior's, called such a spread
    "mostly set by the prior, not by the 12 groups" under HalfNormal(0.3)), nor a small one;
    draws from the prior itself are (sensitivity ~0.26). Monte Carlo: 400 draws."""
    rng = np.random.default_rng(1)
    pinned = {"alpha_tau": np.abs(rng.normal(0.05, 0.01, 400))}
    assert post_draws.prior_sensitive_spreads(pinned, DEFAULT) == {}
    large = {"e_tau": np.abs(rng.normal(0.37, 0.07, 400))}
    assert post_draws.prior_sensitive_spreads(large, {"group_sd": dist.HalfNormal(1.0)}) == {}
    tight = {"e_tau": np.abs(rng.normal(0.37, 0.05, 400))}  # past the first rule's 0.294
    assert post_draws.prior_sensitive_spreads(tight, DEFAULT) == {}
    message = post_draws.new_group_message(_stub_fit(12, tight, DEFAULT), None, "predict")
    assert "prior" not in message and "fitted spread" in message
    from_prior = {**pinned, "e_tau": _half_normal_draws(0.3)}
    flagged = post_draws.prior_sensitive_spreads(from_prior, DEFAULT)
    assert list(flagged) == ["e_tau"] and flagged["e_tau"][0] > 0.15


def test_a_spread_is_judged_against_its_own_prior():
    """A per-parameter override (``alpha_tau``) is the prior of that spread, group_sd of the
    rest; any numpyro prior with a log density serves (Gamma here)."""
    tau = {"alpha_tau": _half_normal_draws(0.05, seed=2), "e_tau": _half_normal_draws(0.05)}
    priors = {**DEFAULT, "alpha_tau": dist.HalfNormal(0.05)}
    assert list(post_draws.prior_sensitive_spreads(tau, priors)) == ["alpha_tau"]
    gamma = {"group_sd": dist.Gamma(2.0, 40.0)}
    from_gamma = np.asarray(dist.Gamma(2.0, 40.0).sample(jax.random.PRNGKey(0), (400,)))
    assert list(post_draws.prior_sensitive_spreads({"e_tau": from_gamma}, gamma)) == ["e_tau"]
    assert post_draws.prior_sensitive_spreads(tau, {}) == {}  # no prior recorded


def test_new_group_message_without_prior_note_when_the_data_set_the_spread():
    """Many groups whose spreads the data pin: the plain new-group sentence, no prior named;
    the note names the first flagged spread's own prior key when it has one."""
    rng = np.random.default_rng(3)
    pinned = {
        "alpha_tau": np.abs(rng.normal(0.05, 0.005, 400)),
        "e_tau": np.abs(rng.normal(0.08, 0.01, 400)),
    }
    message = post_draws.new_group_message(_stub_fit(12, pinned, DEFAULT), None, "predict")
    assert "NEW, unseen group" in message and "prior" not in message
    assert "drawn from the groups' fitted spread" in message
    assert "(2 more)" in message  # 12 groups, 10 named
    loose = {**pinned, "alpha_tau": _half_normal_draws(0.05)}
    own = {**DEFAULT, "alpha_tau": dist.HalfNormal(0.05)}
    message = post_draws.new_group_message(_stub_fit(12, loose, own), None, "predict")
    assert "depends on the 'alpha_tau' prior, HalfNormal(0.05)" in message
    assert "alpha_tau: power-scaling prior sensitivity 0." in message
    assert "priors={'alpha_tau': ...}" in message
    assert post_draws.new_group_message(_stub_fit(12, loose, own), "g0", "predict") == ""


def test_the_reports_new_group_line_names_the_prior_too(grouped_fit):
    """The report answers for a new group without the predict warning (it says so once in its
    preamble): that line names the group_sd prior as the warning does."""
    from bayeslaws.app.report import group_sentence

    line = group_sentence(grouped_fit, None)
    assert "depends on the 'group_sd' prior, HalfNormal(0.3)" in line, line
    assert "group_sd" not in group_sentence(grouped_fit, "A")


def test_a_spread_at_a_flat_priors_bound_is_flagged():
    """A flat prior (Uniform(0, 3)) has the same log density at every draw, so power-scaling
    sees nothing (psens exactly 0): such a spread is judged by its 95% point against the
    prior's (review R8: 95% points of 1.5-2.9 under Uniform(0, 3) were called "fitted")."""
    flat = {"group_sd": dist.Uniform(0.0, 3.0)}
    rng = np.random.default_rng(4)
    near_bound = {"a_tau": rng.uniform(0.5, 3.0, 400), "e_tau": np.abs(rng.normal(0.2, 0.03, 400))}
    flagged = post_draws.prior_sensitive_spreads(near_bound, flat)
    assert list(flagged) == ["a_tau"] and "flat prior" in flagged["a_tau"][1]
    message = post_draws.new_group_message(_stub_fit(2, near_bound, flat), None, "predict")
    assert "depends on the 'group_sd' prior, Uniform(0, 3)" in message, message


def test_each_spread_is_credited_to_its_own_prior():
    """Spreads under different priors are named with their own prior, the most sensitive
    first (the note named the first spread's prior, group_sd, for alpha_tau's own)."""
    tau = {"a_tau": _half_normal_draws(0.3, seed=5), "alpha_tau": _half_normal_draws(0.05)}
    priors = {**DEFAULT, "alpha_tau": dist.HalfNormal(0.05)}
    message = post_draws.new_group_message(_stub_fit(2, tau, priors), None, "predict")
    assert "on the 'group_sd' prior, HalfNormal(0.3) (a_tau: " in message, message
    assert "on the 'alpha_tau' prior, HalfNormal(0.05) (alpha_tau: " in message
    assert "priors={'group_sd': ..., 'alpha_tau': ...}" in message or (
        "priors={'alpha_tau': ..., 'group_sd': ...}" in message
    )
