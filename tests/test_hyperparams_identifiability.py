"""The identifiability check on the hyperparameter laws: two token counts give law "hyperparams" a
caveat (its exponents are identified), not a "floor" it does not have; the check counts the
parameters the law's model samples and its observations, and whether the runs lie on one line in
(ln N, ln D) (SIMULATED sweeps and grids)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.inference import IdentifiabilityWarning, identifiability
from bayeslaws.laws.hyperparams import TWO_STAGE, HyperparamsLaw
from bayeslaws.laws.sweep import SweepLaw


# ---- 3. identifiability counts the model's own sites and observations ------------------------
def _on_one_line() -> pd.DataFrame:
    """4 cells on D = 50 N (N 1e8..8e8 params), 7 lr x 6 batch sizes each (168 runs): a bowl
    about an optimum that moves with N."""
    rows = []
    for N in (1e8, 2e8, 4e8, 8e8):
        eta, b_opt = 3e-3 * (N / 1e8) ** -0.5, 3e5 * (N / 1e8) ** 0.3
        for i in range(7):
            for j in range(6):
                lr, B = eta * 2.0 ** (i - 3), b_opt * 2.0 ** (j - 2.5)
                bowl = 0.01 * np.log(lr / eta) ** 2 + 0.005 * np.log(B / b_opt) ** 2
                loss = (1.7 + 400 / N**0.34 + 400 / (50 * N) ** 0.28) * np.exp(bowl)
                rows.append({"N": N, "D": 50 * N, "lr": lr, "batch_size": B, "loss": loss})
    return pd.DataFrame(rows)


def test_two_stage_counts_its_own_parameters_and_observations_and_the_line():
    runs = bl.load_runs(_on_one_line())
    prepared = TWO_STAGE.prepare(runs)
    n_cells = prepared.state["n_selected"]
    problems = identifiability.check(TWO_STAGE, prepared, "gaussian", warn=False)
    sites = TWO_STAGE.priors("gaussian")  # what its model samples: no shared sigma
    counted = [p for p in problems if "parameters (" in p]
    assert len(counted) == 1, problems
    assert counted[0].startswith(
        f"{2 * n_cells} observations of {n_cells} runs for law 'hyperparams_two_stage' with "
        f"{len(sites)} parameters ({', '.join(sites)})"
    ), counted[0]
    assert "sigma," not in counted[0] and "sigma)" not in counted[0]
    assert any("move together" in p and "50 tokens per parameter" in p for p in problems), problems


def test_sampled_sites_are_the_priors_the_model_samples(small_sweep):
    """Law 'hyperparams': its parameters without the pooling scale's prior (no groups) and
    without the per-cell deviations (no prior of their own); law 'sweep': sites standardised
    for the sampler under their own names, its shape scatters (held at 0) none."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the laws' notes on the runs
        law = HyperparamsLaw()
        sites = identifiability.sampled_sites(law, law.prepare(small_sweep), "gaussian")
        sweep_law = SweepLaw()
        sweep_sites = identifiability.sampled_sites(sweep_law, sweep_law.prepare(small_sweep),
                                                    "gaussian")
    assert set(sites) == set(law.priors("gaussian")) - {"group_sd"}
    assert {"level_centre", "lr_N", "k_lr", "sigma"} <= set(sweep_sites)
    assert not {"k_lr_scatter", "valley_scatter"} & set(sweep_sites)
    assert set(sweep_sites) < set(sweep_law.priors("gaussian"))


@pytest.fixture(scope="module")
def sweep(small_sweep):
    return small_sweep


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
