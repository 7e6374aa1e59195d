"""Review 9 of the checks before and after sampling:

* a run table whose N or D covers too narrow a range (max / min < identifiability.MIN_RANGE) is
  warned, naming the range, with advice that widens it (two D values 1e10 and 1.2e10 were told
  "add runs at a third D (e.g. 1.44e+10)"); well-designed tables stay silent;
* a grouped fit is checked per group too: a group at one token count (its beta_group then comes
  from the other groups) is warned, naming the group;
* a one-chain fit's low ESS names the element (``alpha_group[math]``), as two chains do;
* the screening record states the robust scale's floor and records the scale used.

Runs SIMULATED (Chinchilla law, the video-DiT sweep) unless a test says otherwise; the checks
before sampling are called on prepared tables, without fitting.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import chinchilla_design, shared_or_skip

import bayeslaws as bl
from bayeslaws.inference import IdentifiabilityWarning, identifiability
from bayeslaws.inference.diagnostics import check as diagnostics_check
from bayeslaws.inference.screening import Screen, screen_runs
from bayeslaws.runs import simulate

TRUTH = {"E": 1.7, "A": 400.0, "B": 410.0, "alpha": 0.34, "beta": 0.28}
SIZES = np.geomspace(5e7, 2e9, 6)[:, None]  # 40x


def runs_at(tokens, sizes=SIZES, truth=TRUTH, seed=0) -> pd.DataFrame:
    """SIMULATED Chinchilla runs at every size x token count (noise sd 0.01)."""
    design = {**truth, "N": sizes, "D": np.asarray(tokens, float)[None, :]}
    return simulate.simulate_chinchilla_runs(design, noise_sd=0.01, seed=seed)


def problems_of(df, law="chinchilla") -> list[str]:
    """identifiability.check's problems and caveats for ``law`` on the table ``df``."""
    law_obj = bl.laws.LAWS[law]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tables' own notes (plausibility, divergence)
        runs = df if isinstance(df, bl.RunTable) else bl.load_runs(df)
        prepared = law_obj.prepare(runs)
    found = identifiability.check(law_obj, prepared, law_obj.default_likelihood, warn=False)
    return found + identifiability.caveats(law_obj, prepared)


# ---- 1. a narrow range of N or D --------------------------------------------------------------
@pytest.mark.parametrize(
    "tokens, said",
    [
        ([1e10, 1.05e10, 1.1e10], r"D covers only 1\.1x \(1e\+10 to 1\.1e\+10 tokens"),
        ([1e10, 1.5e10, 2.2e10], r"D covers only 2\.2x \(1e\+10 to 2\.2e\+10 tokens"),
    ],
)
def test_a_narrow_range_of_token_counts_is_warned_before_sampling(tokens, said):
    """The reviewer's tables (6 sizes x 3 close token counts; the 1.1x one fitted beta 0.39 sd
    0.21, its prior, and missed E): warned before sampling, naming the range, with advice
    that widens it to 10x."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", IdentifiabilityWarning)
        with pytest.raises(IdentifiabilityWarning, match=said) as caught:
            bl.fit(runs_at(tokens), law="chinchilla", chains=1, warmup=5, draws=5)
    message = str(caught.value)
    assert "exponent in D" in message and "prior" in message
    assert "D = 1e+11" in message  # 10x the smallest


def test_a_narrow_range_of_model_sizes_is_warned_too():
    sizes = np.array([2e8, 2.1e8, 2.2e8, 2.3e8])[:, None]
    problems = problems_of(runs_at(np.geomspace(1e9, 1e11, 5), sizes=sizes))
    assert any(p.startswith("N covers only 1.15x (2e+08 to 2.3e+08 params") for p in problems)


def test_the_sweep_law_on_a_narrow_range_of_token_counts_is_warned():
    tokens = [1e10, 1.5e10, 2.2e10]
    df = simulate.simulate_video_dit_sweep(seed=0, tokens=tokens, grid_points=(3, 3))
    assert any(p.startswith("D covers only 2.2x") for p in problems_of(df, "sweep"))
    # the hyperparams law (linear in ln D, no floor): a caveat, warned and noted
    assert any(p.startswith("D covers only 2.2x") for p in problems_of(df, "hyperparams"))


def test_two_close_token_counts_are_told_to_widen_the_range():
    """Two D values 1e10 and 1.2e10 were told to add a third at 1.44e10: still 1.44x."""
    (problem,) = problems_of(runs_at([1e10, 1.2e10]))
    assert "only 2 distinct token counts (D = 1e+10, 1.2e+10, covering only 1.2x)" in problem
    assert "add runs at a third D (e.g. 1e+11)" in problem
    assert "1.44e+10" not in problem


def test_wide_designs_stay_silent():
    """The simulated Chinchilla grid of the tests (60M-6B x 1B-100B), the bundled sweep under
    every law that fits it, the small sweep grids and a 3-budget isoFLOP design: no range (or
    other) problem."""
    N, D = chinchilla_design()
    grid = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=0)
    assert problems_of(grid) == []
    for law in ("chinchilla", "hyperparams", "sweep"):
        assert problems_of(bl.load_bundled(), law) == [], law
    small = simulate.simulate_video_dit_sweep(
        seed=1, sizes=(0.017e9, 0.057e9, 0.26e9), tokens=(2e9, 5e9, 12e9)
    )
    assert problems_of(small, "hyperparams") == []
    isoflop = simulate.simulate_liang_isoflop(seed=0, budgets=(1e17, 6e17, 3e18))
    for law in ("isoflop", "chinchilla"):
        assert problems_of(isoflop, law) == [], law


def test_real_designs_stay_silent():
    """Epoch's Chinchilla points, Step Law and isoFLOP compendium tables (../shared/data)."""
    bundled = shared_or_skip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tables' own notes
        tables = {
            ("epoch", "chinchilla"): bundled.epoch_chinchilla(),
            ("steplaw", "hyperparams"): bundled.steplaw_dense(),
            ("llama_3", "isoflop"): bundled.isoflop_compendium("llama_3"),
            ("marin comma", "isoflop"): bundled.isoflop_compendium("marin_202603", "comma"),
        }
    for (name, law), table in tables.items():
        assert problems_of(table, law) == [], name


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
        parts.append(runs_at(D, sizes=sizes, truth=truth, seed=seed).assign(group=group))
    return pd.concat(parts, ignore_index=True)


def test_a_group_at_one_token_count_is_warned_naming_the_group():
    problems = problems_of(grouped([1e10]))
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
    (narrow,) = problems_of(grouped([1e10, 1.05e10, 1.1e10]))
    assert narrow.startswith("group 'math': D covers only 1.1x (1e+10 to 1.1e+10 tokens")
    assert "add 'math' runs that widen it" in narrow
    (two,) = problems_of(grouped([1e10, 3e10]))
    assert two.startswith("group 'math': only 2 distinct token counts (D = 1e+10, 3e+10)")


def test_well_designed_groups_stay_silent():
    """Every group on its own wide grid; and two groups far apart in scale (N 6x and 10x,
    D 10x each), as tests/conftest.py's two_scales runs."""
    assert problems_of(grouped(np.geomspace(1e9, 1e11, 4))) == []
    small, large = np.geomspace(5e7, 3e8, 4)[:, None], np.geomspace(1e9, 1e10, 4)[:, None]
    two = pd.concat(
        [
            runs_at(np.geomspace(1e9, 1e10, 3), sizes=small).assign(group="small"),
            runs_at(np.geomspace(2e10, 2e11, 3), sizes=large, seed=1).assign(group="large"),
        ],
        ignore_index=True,
    )
    assert problems_of(two) == []


# ---- 3. one chain: low ESS per element ---------------------------------------------------------
def sticky_math(chains: int):
    """Draws of alpha_group (groups code, math, web) whose 'math' element is a slow random
    walk, and of sigma."""
    import arviz as az

    rng = np.random.default_rng(0)
    x = rng.standard_normal((chains, 400, 3))
    x[..., 1] = np.cumsum(rng.standard_normal((chains, 400)) * 0.05, axis=1)
    return az.from_dict(
        posterior={"alpha_group": x, "sigma": rng.standard_normal((chains, 400))},
        sample_stats={"diverging": np.zeros((chains, 400), bool)},
        coords={"group": ["code", "math", "web"]},
        dims={"alpha_group": ["group"]},
    )


@pytest.mark.parametrize("chains", [1, 2])
def test_low_ess_names_the_element_with_one_chain_as_with_two(chains):
    diag = diagnostics_check(sticky_math(chains), ["alpha_group", "sigma"], warn=False)
    bar = diag.ess_bar
    assert f"ess_bulk < {bar:.0f} for ['alpha_group[math]']" in diag.problems


# ---- 4. the screening record ------------------------------------------------------------------
def test_the_screening_record_states_the_floor_and_the_scale_used():
    """Predictive draws far wider than the residuals' scatter: the scale is the floor (0.25 x
    the median per-run predictive sd), not 1.4826 MAD, and the record says so."""
    law = bl.laws.LAWS["chinchilla"]
    N, D = chinchilla_design()
    df = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=0)
    prepared = law.prepare(bl.load_runs(df))
    obs = np.asarray(prepared.data["obs"], float)
    rng = np.random.default_rng(0)
    predicted = obs + rng.normal(0.0, 0.04, (400, obs.size))  # sd 0.04 per run
    screening = screen_runs(law, prepared, predicted, Screen("warn"))
    q25, q75 = np.quantile(predicted, [0.25, 0.75], axis=0)
    floor = 0.25 * np.median((q75 - q25) / 1.349)
    residuals = obs - np.median(predicted, axis=0)
    mad = 1.4826 * np.median(np.abs(residuals - np.median(residuals)))
    assert mad < floor  # the floor binds
    record = screening.record()
    assert record["scale"] == [pytest.approx(floor)]
    assert "max(1.4826 MAD of the residuals, 0.25 x the median per-run" in record["rule"]


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
