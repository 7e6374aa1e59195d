"""The identifiability check per group of a grouped table: a group at one token count, two, a narrow
range or on a line is warned naming the group, as a caveat, not a cause of sampler trouble;
well-designed groups stay silent (SIMULATED Chinchilla runs, checked on prepared tables)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import IDENTIFIABILITY_TRUTH as TRUTH
from conftest import identifiability_problems, identifiability_runs_at

import bayeslaws as bl
from bayeslaws.inference import IdentifiabilityWarning, identifiability
from bayeslaws.runs import simulate


# ---- 2. per group -----------------------------------------------------------------------------
def grouped(math_tokens) -> pd.DataFrame:
    """Groups web and code on a 5 x 4 grid (N 5e7..2e9, D 1e9..1e11); math at ``math_tokens``
    (the reviewer's table: math at D = 1e10 alone fitted beta_group[math] 0.29 [0.21, 0.40]
    against a truth of 0.20)."""
    sizes, tokens = np.geomspace(5e7, 2e9, 5)[:, None], np.geomspace(1e9, 1e11, 4)
    parts = []
    for seed, (group, E, beta, D) in enumerate(
        [("web", 1.7, 0.28, tokens), ("code", 1.2, 0.28, tokens), ("math", 1.5, 0.20, math_tokens)]
    ):
        truth = {**TRUTH, "E": E, "beta": beta}
        runs = identifiability_runs_at(D, sizes=sizes, truth=truth, seed=seed)
        parts.append(runs.assign(group=group))
    return pd.concat(parts, ignore_index=True)


def test_a_group_at_one_token_count_is_warned_naming_the_group():
    problems = identifiability_problems(grouped([1e10]))
    (problem,) = problems
    assert problem.startswith("group 'math': one token count (D = 1e+10)")
    assert "beta_group" in problem and "other groups' pooled values" in problem
    assert "add 'math' runs at other D" in problem
    # warned by the fit, before sampling
    with warnings.catch_warnings():
        warnings.simplefilter("error", IdentifiabilityWarning)
        with pytest.raises(IdentifiabilityWarning, match="group 'math': one token count"):
            bl.fit(grouped([1e10]), law="chinchilla", chains=1, warmup=5, draws=5)


def test_a_group_with_a_narrow_range_or_two_token_counts_is_warned():
    (narrow,) = identifiability_problems(grouped([1e10, 1.05e10, 1.1e10]))
    assert narrow.startswith("group 'math': D covers only 1.1x (1e+10 to 1.1e+10 tokens")
    assert "add 'math' runs that widen it" in narrow
    (two,) = identifiability_problems(grouped([1e10, 3e10]))
    assert two.startswith("group 'math': only 2 distinct token counts (D = 1e+10, 3e+10)")


def test_well_designed_groups_stay_silent():
    """Every group on its own wide grid; and two groups far apart in scale (N 6x and 10x,
    D 10x each), as tests/conftest.py's two_scales runs."""
    assert identifiability_problems(grouped(np.geomspace(1e9, 1e11, 4))) == []
    small, large = np.geomspace(5e7, 3e8, 4)[:, None], np.geomspace(1e9, 1e10, 4)[:, None]
    two = pd.concat(
        [
            identifiability_runs_at(np.geomspace(1e9, 1e10, 3), sizes=small).assign(group="small"),
            identifiability_runs_at(np.geomspace(2e10, 2e11, 3), sizes=large, seed=1).assign(
                group="large"
            ),
        ],
        ignore_index=True,
    )
    assert identifiability_problems(two) == []


# ---- 5. per-group messages are caveats, not causes of sampler trouble -------------------------
def prepared_of(df, law="chinchilla"):
    """The law and its prepared table of ``df`` (the tables' own notes silenced)."""
    law_obj = bl.laws.LAWS[law]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return law_obj, law_obj.prepare(bl.load_runs(df))


def on_a_line(group: str) -> pd.DataFrame:
    """SIMULATED runs of ``group`` at 20 tokens per parameter (N 5e7..2e9, D = 20 N)."""
    N = np.geomspace(5e7, 2e9, 5)
    design = {**TRUTH, "E": 1.5, "N": N, "D": 20 * N}
    return simulate.simulate_chinchilla_runs(design, noise_sd=0.01, seed=3).assign(group=group)


@pytest.mark.parametrize(
    "math, said",
    [
        ("two", "group 'math': only 2 distinct token counts (D = 1e+10, 3e+10)"),
        ("narrow", "group 'math': D covers only 1.1x"),
        ("one", "group 'math': one token count (D = 1e+10)"),
        ("line", "group 'math': the runs' N and D move together"),
    ],
)
def test_a_thin_group_is_a_caveat_not_a_cause_of_sampler_trouble(math, said):
    """check()'s problems become the SamplerWarning's "likely cause" (inference/nuts.py): a
    thin group (its population parameters identified) named itself the cause of any trouble,
    replacing the usual remedy. Its message is warned and noted (caveats), not returned."""
    if math == "line":
        web = grouped(np.geomspace(1e9, 1e11, 4))
        df = pd.concat([web[web["group"] != "math"], on_a_line("math")], ignore_index=True)
    else:
        tokens = {"two": [1e10, 3e10], "narrow": [1e10, 1.05e10, 1.1e10], "one": [1e10]}
        df = grouped(tokens[math])
    law, prepared = prepared_of(df)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        problems = identifiability.check(law, prepared, "gaussian")
    assert problems == []
    warned = [str(w.message) for w in caught if issubclass(w.category, IdentifiabilityWarning)]
    (caveat,) = identifiability.caveats(law, prepared, "gaussian")
    assert warned == [caveat] and caveat.startswith(said)
    assert identifiability.caveats(law, prepared) == [caveat]  # the default likelihood's
    # the group's wording: its parameters follow the other groups, not the pooled text
    assert "by the other groups" in caveat and "follow the other groups" in caveat
    assert "beta_group" in caveat
    for pooled_text in ("sampler mixes badly", "not separable", "follow the priors"):
        assert pooled_text not in caveat, pooled_text
