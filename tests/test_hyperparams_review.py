"""Review fixes around the hyperparameter laws: a query batch size in sequences is flagged, a
new run's loss at the optimum carries the run-to-run noise, a fixed-vs-optimal answer whose
N_opt search hit its edge is not "settled", and two token counts give the hyperparameter law an
honest caveat (its exponents are identified), not a "floor" it does not have.

Two tiny NUTS fits (1 chain) of a simulated video-DiT sweep: law "hyperparams" (gaussian) and
law "sweep".
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.inference import IdentifiabilityWarning, identifiability
from bayeslaws.laws.hyperparams import HyperparamsLaw
from bayeslaws.posterior.draws import quantity_draws, query_frame
from bayeslaws.runs import PlausibilityWarning


@pytest.fixture(scope="module")
def sweep(small_sweep):
    return small_sweep


@pytest.fixture(scope="module")
def hp_fit(small_sweep_hp_fit):
    return small_sweep_hp_fit


@pytest.fixture(scope="module")
def sweep_fit(small_sweep_sweep_fit):
    return small_sweep_sweep_fit


# ---- 1. a batch size in sequences ------------------------------------------------------------
def test_a_query_batch_below_a_thousand_tokens_is_flagged_as_sequences(hp_fit):
    """512 (sequences) lies under 2 decades below the fitted batches (>= ~3e4 tokens), so the
    range check alone was silent; below BATCH_TOKENS_LOW it warns as the loader does."""
    low, _ = hp_fit.record.ranges["batch_size"]
    assert np.log10(low / 512) < 2.0  # the far-from-range check would not fire
    with pytest.warns(PlausibilityWarning, match=r"batch_size = 512 .*below 1000 tokens.*"
                      r"sequences.*sequences x sequence length"):  # fmt: skip
        bl.predict(hp_fit, N=5.7e7, D=4e9, lr=1e-3, batch_size=512)
    with pytest.warns(PlausibilityWarning, match=r"batch_size = 128 .*sequences"):
        bl.predict(hp_fit, N=[5.7e7, 5.7e7], D=4e9, lr=1e-3, batch_size=[65536, 128])
    with warnings.catch_warnings():  # a batch in tokens inside the fitted range: silent
        warnings.simplefilter("error", PlausibilityWarning)
        bl.predict(hp_fit, N=5.7e7, D=4e9, lr=1e-3, batch_size=65536)


def test_fixed_vs_optimal_flags_a_batch_in_sequences(sweep_fit):
    with pytest.warns(PlausibilityWarning, match=r"batch_size = 128 .*sequences"):
        bl.fixed_vs_optimal(sweep_fit, 1e21, lr=1e-3, batch_size=128, n_draws=10)


# ---- 2. new_run adds the run-to-run noise to loss_opt ------------------------------------------
def test_new_run_loss_at_the_optimum_carries_the_run_noise(hp_fit):
    """At fitted cells (loss_level="free") the level is the same in both kinds, so new_run minus
    mean ln loss_opt is the noise alone: sd ~ sigma (gaussian likelihood); eta_opt and B_opt keep
    the draws they had (the noise is drawn last)."""
    cells = hp_fit.training_runs().df[["N", "D"]].drop_duplicates()
    query = query_frame(hp_fit, N=cells["N"].to_numpy(), D=cells["D"].to_numpy())
    mean = quantity_draws(hp_fit, query, kind="mean", seed=3, extrapolation="none")
    new = quantity_draws(hp_fit, query, kind="new_run", seed=3, extrapolation="none")
    noise = np.log(new["loss_opt"]) - np.log(mean["loss_opt"])  # (S, cells)
    sigma = np.asarray(hp_fit.posterior().draws["sigma"], float)
    ratio = (noise / sigma[:, None]).std()  # ~ 1; 900 values: Monte Carlo sd ~ 0.025
    assert ratio == pytest.approx(1.0, abs=0.12)
    assert abs((noise / sigma[:, None]).mean()) < 0.15
    again = quantity_draws(hp_fit, query, kind="mean", seed=3, extrapolation="none")
    np.testing.assert_array_equal(again["loss_opt"], mean["loss_opt"])  # mean: no noise


# ---- 3. fixed_vs_optimal at the edge of its N_opt search ----------------------------------------
def test_fixed_vs_optimal_is_not_settled_when_the_search_hit_its_edge(sweep_fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlausibilityWarning)  # 1e30 is far beyond the runs
        with pytest.warns(UserWarning, match="edge of the searched sizes"):
            out = bl.fixed_vs_optimal(sweep_fit, 1e30, n_draws=10).iloc[0]
    assert out["at_boundary"] > 0.5
    assert not out["settled"]
    assert out["verdict"].startswith("not settled")
    assert "hit the edge of the searched sizes" in out["verdict"]


# ---- 4. two token counts: wording by what the law has -----------------------------------------
def two_token_counts(sweep):
    df = sweep.df
    tokens = np.sort(df["D"].unique())
    return bl.load_runs(df[df["D"].isin(tokens[::2])])  # the smallest and largest of three


def test_two_token_counts_give_the_hyperparams_law_a_caveat_not_a_cause(sweep):
    """The optima laws are linear in ln D with no floor: two D values identify the exponents
    (a line through two points). The check warns a caveat but returns no problem, so sampler
    trouble is not blamed on it."""
    law = HyperparamsLaw()
    prepared = law.prepare(two_token_counts(sweep))
    with pytest.warns(IdentifiabilityWarning) as caught:
        problems = identifiability.check(law, prepared, "gaussian")
    assert problems == []
    message = " ".join(str(w.message) for w in caught)
    assert "only 2 distinct token counts" in message
    assert "identified but rest on 2 points" in message
    assert "floor" not in message
    assert identifiability.caveats(law, prepared) == [str(caught[0].message)]


def test_two_token_counts_still_a_problem_for_laws_with_a_floor(sweep):
    """Chinchilla (floor E) and the hyperparams law tied to its surface keep the cause."""
    runs = two_token_counts(sweep)
    for law in (bl.laws.LAWS["chinchilla"], HyperparamsLaw(loss_level="surface")):
        problems = identifiability.check(law, law.prepare(runs), "gaussian", warn=False)
        assert any("not separable from its amplitude and floor" in p for p in problems)
