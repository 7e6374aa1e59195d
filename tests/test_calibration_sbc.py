"""Simulation-based calibration (sbc, sbc_items): refits centred on the design's reference
scales, a small SBC not rejected, and troubled simulations' fits warned about."""

from __future__ import annotations

import warnings

import pytest

from bayeslaws.inference import SamplerWarning
from bayeslaws.laws import resolve_law
from bayeslaws.posterior import calibration as cal
from bayeslaws.posterior.calibration import simulation
from bayeslaws.runs import PlausibilityWarning, load_runs


# ---- 1. SBC refits use the prior that was simulated from ----
def test_sbc_items_refit_on_the_designs_reference_scales_not_their_own():
    """Each refit law is centred on the design's reference scales (those the prior draws were
    simulated on), whatever its simulated losses: a refit centred on its own table has a
    different loss scale, so a different prior, and its SBC ranks are not uniform."""
    items = cal.sbc_items("chinchilla", n_sims=3, warmup=10, draws=10, thin=1, seed=3)
    law = resolve_law("chinchilla")
    design = load_runs(items[0].design.assign(loss=3.0))
    reference = law.prepare(design).scales  # the centring of sbc_items' prior draw
    for item in items:
        with warnings.catch_warnings():  # prior draws are implausible tables by design
            warnings.simplefilter("ignore", PlausibilityWarning)
            runs = load_runs(item.design.assign(loss=item.loss))
        assert item.law.reference_scales == reference, item.name
        assert item.law.prepare(runs).scales == reference, item.name
        # the check has teeth: the table's own centring differs (in its loss scale)
        assert law.prepare(runs).scales["loss"] != pytest.approx(reference["loss"], abs=1e-6)


def test_a_small_sbc_of_the_chinchilla_law_is_not_rejected():
    """20 simulations (40 draws, thinned by 2: ranks 0..20) of the Gaussian Chinchilla fit:
    no parameter's ranks are rejected as non-uniform at p < 0.001 (the smallest p-value is
    0.18 at this seed). Refits centred on their own tables instead of the design's scales
    give p(e) < 1e-5 here (their ranks of e pile up at 0 and 20)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ranks, p = cal.sbc("chinchilla", n_sims=20, chains=1, warmup=40, draws=40, thin=2,
                           seed=3)  # fmt: skip
    assert len(ranks) == 20 and set(p) == {"alpha", "beta", "a", "b", "e", "sigma"}
    assert min(p.values()) > 1e-3, p


def _sampler_messages(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, SamplerWarning)]


# ---- 2. SBC: troubled fits warned about ----
def _fake_rank(rows):
    rows = iter(rows)

    def rank(item):
        return {**{p: 25 for p in item.truth}, **next(rows)}

    return rank


def test_sbc_warns_about_divergent_and_low_ess_simulations(monkeypatch):
    """sbc ranked among divergent, autocorrelated draws without a word (chinchilla, seed 0, the
    defaults: 15 of 20 fits diverged, 15 of 20 had a bulk ESS below the 50 draws ranked)."""
    rows = [{"divergences": 0, "min_ess": 120.0}, {"divergences": 5, "min_ess": 3.0},
            {"divergences": 0, "min_ess": 10.0}]  # fmt: skip
    monkeypatch.setattr(simulation, "sbc_rank", _fake_rank(rows))
    with pytest.warns(SamplerWarning, match=r"^sbc: 1 of 3 simulations' fits diverged") as caught:
        ranks, pvalues = cal.sbc("chinchilla", n_sims=3, params=["alpha"])  # thin 4: 50 ranked
    assert "2 of 3 have a smallest bulk ESS (min_ess) below the 50 draws ranked" in str(
        caught[0].message
    )
    assert len(ranks) == 3 and set(pvalues) == {"alpha", "sigma"}
    clean = [{"divergences": 0, "min_ess": 120.0}] * 3
    monkeypatch.setattr(simulation, "sbc_rank", _fake_rank(clean))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SamplerWarning)
        cal.sbc("chinchilla", n_sims=3, params=["alpha"])


def test_sbc_docstring_states_the_multiple_testing_chance_and_the_remedy():
    doc = cal.sbc.__doc__
    assert "1 - 0.95**k" in doc and "0.26 for six" in doc
    assert "thin" in doc and "min_ess" in doc and "warmup=" in doc


def test_a_small_real_sbc_reports_its_troubled_fits():
    """Two real fits of 30 draws each: whatever they give, the warning counts them as the
    ranks table does."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ranks, _ = cal.sbc("chinchilla", n_sims=2, chains=1, warmup=30, draws=30, thin=1,
                           seed=3, params=["alpha"])  # fmt: skip
    diverged = int((ranks["divergences"] > 0).sum())
    few = int((ranks["min_ess"] < 30).sum())
    messages = [m for m in _sampler_messages(caught) if m.startswith("sbc:")]
    if diverged or few:
        assert len(messages) == 1
        assert messages[0].startswith(f"sbc: {diverged} of 2 simulations' fits diverged")
        assert f"{few} of 2 have a smallest bulk ESS" in messages[0]
    else:
        assert not messages
