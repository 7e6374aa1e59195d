"""Review 15 of the calibration harness: backtests raise their cases' own warnings again (an
UnscoredWarning naming the case and row, not a summary pointing at a batch result the caller
never gets); empirical_vertices keeps a ``group`` column's curves apart (one vertex per group
and budget, which decision_scores answers per group); interval levels that are not whole
percents get their own columns (cov90.1), and levels whose columns would collide are refused.
SIMULATED data throughout; tiny fits."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from bayeslaws.posterior import allocation
from bayeslaws.posterior import calibration as cal

TINY = {"likelihood": "gaussian", "chains": 1, "warmup": 100, "draws": 100, "seed": 0}


# ---- 1. backtests: the cases' own warnings, raised again ----
def test_backtests_raise_the_unscored_warning_of_a_case_naming_it_and_its_row():
    """A held-out run without a loss gave only "1 of 1 tasks warned in their workers ...; see
    result.table()", a result backtests does not return. Now its UnscoredWarning is raised
    again, naming the case and the row, and no such summary is given."""
    train, test = cal.simulated_split(
        "correct", seed=3, n_per_budget=5, fit_budgets=(1e18, 3e18, 1e19, 3e19, 1e20),
        test_budgets=(1e21,),
    )  # fmt: skip
    test = test.reset_index(drop=True)
    test.loc[2, "loss"] = np.nan
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores, _, _ = cal.backtests([("simA", train, test)], methods=("none",), **TINY)
    unscored = [w for w in caught if issubclass(w.category, cal.UnscoredWarning)]
    assert len(unscored) == 1, [str(w.message) for w in caught]
    text = str(unscored[0].message)
    assert text.startswith("backtests: 'simA': 1 of 5 held-out runs have no loss")
    assert text.endswith("rows [2]")
    assert unscored[0].filename == __file__  # at the user's line
    assert not any("warned in their workers" in str(w.message) for w in caught)
    assert scores["n_unscored"].tolist() == [1]


# ---- 2. empirical vertices per group ----
def _isoflop_curve(group, n_star: float, l_star: float, C: float = 1e21) -> pd.DataFrame:
    """SIMULATED noiseless isoFLOP points at budget C: ln loss a parabola in ln N with its
    vertex at (n_star params, l_star loss)."""
    N = np.geomspace(n_star / 8, n_star * 8, 7)
    loss = l_star * np.exp(0.05 * np.log(N / n_star) ** 2)
    return pd.DataFrame({"group": group, "C": C, "N": N, "loss": loss})


def test_empirical_vertices_fit_each_groups_curve_at_a_budget_apart():
    """Two groups at one budget were one merged curve (a vertex of neither). Now each (group,
    C) is its own curve, the group column kept, and a table without the column is as before."""
    truth = {"small": (3e8, 2.55), "large": (2e9, 2.27)}
    curves = {g: _isoflop_curve(g, *v) for g, v in truth.items()}
    out = cal.empirical_vertices(pd.concat(curves.values(), ignore_index=True), n_boot=50)
    assert list(out.columns[:2]) == ["group", "C"]
    assert sorted(out["group"]) == ["large", "small"]
    for row in out.itertuples():
        n_star, l_star = truth[row.group]
        assert row.N_vertex == pytest.approx(n_star, rel=1e-6)
        assert row.L_vertex == pytest.approx(l_star, rel=1e-6)
        alone = cal.empirical_vertices(curves[row.group].drop(columns="group"), n_boot=50)
        assert "group" not in alone
        assert row.n_points == alone["n_points"].iloc[0]
        assert row.N_vertex == pytest.approx(alone["N_vertex"].iloc[0], rel=1e-9)
    # a run without a group label is a curve of its own, not dropped
    unlabelled = curves["small"].assign(group=np.nan)
    both = cal.empirical_vertices(pd.concat([curves["large"], unlabelled]), n_boot=50)
    assert len(both) == 2 and both["group"].isna().sum() == 1


def test_decision_scores_of_grouped_vertices_answer_each_group(two_scales_grouped):
    """The per-group vertices as a truth: decision_scores answers each row for its own group
    and keeps the group column, so two groups at one budget are told apart."""
    curves = [_isoflop_curve("small", 3e8, 2.55), _isoflop_curve("large", 2e9, 2.27)]
    v = cal.empirical_vertices(pd.concat(curves, ignore_index=True), n_boot=50)
    truth = v.rename(columns=lambda c: c.replace("_vertex", "_opt"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = cal.decision_scores(two_scales_grouped, truth, "none")
        rows = out[out["quantity"] == "N_opt"]
        assert list(out.columns[:2]) == ["group", "C"]
        assert sorted(rows["group"]) == ["large", "small"]
        for row in rows.itertuples():
            draws = allocation.allocation_draws(
                two_scales_grouped, [row.C], group=row.group, extrapolation="none"
            )
            assert row.median == pytest.approx(np.median(draws["N_opt"]), rel=1e-9)
            assert row.truth == pytest.approx(float(truth.set_index("group").N_opt[row.group]))


# ---- 3. interval levels that are not whole percents ----
def _draws_and_losses(q: int = 40):
    rng = np.random.default_rng(1)
    draws = np.log(3.0) + 0.02 * rng.standard_normal((500, q))
    actual = 3.0 * np.exp(0.02 * rng.standard_normal(q))
    return actual, draws


def test_levels_that_are_not_whole_percents_get_their_own_columns():
    """levels (0.9, 0.901) wrote one cov90 column (the 0.901 one's), and 0.905 was called
    cov90. Now a level that is not a whole percent is keyed by its percent (cov90.1,
    cov90.5), whole percents as before."""
    actual, draws = _draws_and_losses()
    levels = (0.5, 0.9, 0.901, 0.905)
    out = cal.score(actual, draws, levels=levels)
    table = cal.interval_table(actual, draws, levels=levels)
    for key, level in {"50": 0.5, "90": 0.9, "90.1": 0.901, "90.5": 0.905}.items():
        lo, hi = np.quantile(np.exp(draws), [(1 - level) / 2, (1 + level) / 2], axis=0)
        np.testing.assert_allclose(table[f"lower{key}"], lo, rtol=1e-12)
        np.testing.assert_allclose(table[f"upper{key}"], hi, rtol=1e-12)
        assert out[f"cov{key}"] == pytest.approx(np.mean((actual >= lo) & (actual <= hi)))
    assert "width90" in out
    plain = cal.score(actual, draws)
    assert [k for k in plain if k.startswith("cov")] == ["cov50", "cov80", "cov90"]


def test_levels_whose_columns_collide_are_refused_naming_both():
    actual, draws = _draws_and_losses(4)
    with pytest.raises(ValueError, match=r"levels 0\.9 and 0\.9000000000001 share"):
        cal.score(actual, draws, levels=(0.9, 0.9000000000001))
    same = cal.score(actual, draws, levels=(0.9, 0.9))  # one level twice: one column
    assert same["cov90"] == cal.score(actual, draws, levels=(0.9,))["cov90"]


def test_decision_scores_key_levels_as_score_does(two_scales_grouped):
    truth = pd.DataFrame({"C": [1e21], "N_opt": [1e9], "L_opt": [2.4], "group": ["small"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = cal.decision_scores(two_scales_grouped, truth, "none", levels=(0.9, 0.901))
    assert {"in90", "in90.1", "lower90.1", "upper90.1", "in90_bounded"} <= set(out.columns)
    assert out["lower90.1"].iloc[0] < out["lower90"].iloc[0]
    with pytest.raises(ValueError, match="levels 0.9 and"):
        cal.decision_scores(two_scales_grouped, truth, "none", levels=(0.9, 0.9000000000001))
