"""``fit.update``: new runs that only look like fitted runs (the fit's own rows exported with every
float rounded to 6 significant figures) are kept with a warning naming them and the fitted runs
they look like, with the remedy for ``new_runs``; exact repeats stay refused; the update's other
warnings about a DataFrame ``new_runs`` give its remedy (``new_runs.drop``), not a run table's;
a fit with prior draws keeps them. All data SIMULATED (Chinchilla's law, two groups of 12)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import TRUTH

import bayeslaws as bl
from bayeslaws.inference.update import combined_table
from bayeslaws.runs import simulate

TINY = {"chains": 1, "warmup": 150, "draws": 150}
PRIOR_DRAWS = 20
NEAR = "look like runs this fit already has"


def _grid(seed: int, group: str) -> pd.DataFrame:
    """12 SIMULATED runs of ``group``: 4 sizes x 3 token counts."""
    N, D = np.meshgrid([1e7, 3e7, 1e8, 3e8], [2e8, 1e9, 4e9])
    params = {**TRUTH, "N": N.ravel(), "D": D.ravel()}
    return simulate.simulate_chinchilla_runs(params, noise_sd=0.01, seed=seed).assign(group=group)


def _new_run(seed: int, group: str) -> pd.DataFrame:
    """One SIMULATED run of ``group`` at 6e8 parameters x 4e9 tokens (no fitted run there)."""
    params = {**TRUTH, "N": np.array([6e8]), "D": np.array([4e9])}
    run = simulate.simulate_chinchilla_runs(params, noise_sd=0.01, seed=seed)
    return run.drop(columns=["C"]).assign(group=group)


@pytest.fixture(scope="module")
def fit():
    """A grouped Chinchilla fit of 24 runs (groups a and b) with prior draws."""
    runs = pd.concat([_grid(1, "a"), _grid(2, "b")], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(
            runs, "chinchilla", seed=0, warn=False, prior_draws=PRIOR_DRAWS,
            progress_bar=False, **TINY,
        )  # fmt: skip


def rounded(df: pd.DataFrame, digits: int = 6) -> pd.DataFrame:
    """``df`` with every float column rounded to ``digits`` significant figures (a CSV export)."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = [float(f"{v:.{digits}g}") for v in out[c]]
    return out


def said(call, *args, **kwargs) -> tuple:
    """(What ``call`` returned, the messages of the UserWarnings it gave, by category name.)"""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = call(*args, **kwargs)
    return out, [(w.category.__name__, str(w.message)) for w in caught]


def fitted_rows(fit, rows: list, labels: list) -> pd.DataFrame:
    """The fit's training runs at positions ``rows``, relabelled ``labels``, without C."""
    df = fit.training_runs().df.iloc[rows].drop(columns=["C"])
    return df.set_index(pd.Index(labels))


def test_rounded_copies_of_fitted_runs_are_named_with_the_fitted_runs_they_look_like(fit):
    """Two of the fit's own runs rounded to 6 significant figures were taken as new runs
    without a word (exact copies are refused): now a warning names them by their labels in
    new_runs, the fitted runs they look like, and how to leave them out; a real new run (another
    point) is not named."""
    copies = rounded(fitted_rows(fit, [0, 13], ["r_a", "r_b"]))
    assert not (copies["loss"].to_numpy() == fit.training_runs().df["loss"].iloc[[0, 13]]).any()
    new = _new_run(7, "a").set_index(pd.Index(["r_new"]))
    combined, told = said(combined_table, fit, pd.concat([copies, new]))
    assert combined.n_new == 3  # kept, as new runs
    near = [m for kind, m in told if NEAR in m]
    assert len(near) == 1
    labels = fit.training_runs().df.index
    assert f"'r_a' ~ {labels[0]}, 'r_b' ~ {labels[13]}" in near[0]
    assert "new_runs.drop(index=['r_a', 'r_b'])" in near[0]
    assert "r_new" not in near[0] and "runs.exclude(mask" not in near[0]


def test_a_run_at_the_same_point_with_another_loss_or_group_is_not_named(fit):
    """A run at a fitted point whose loss differs by more than 0.1% (another seed), or in the
    other group, does not look like the fitted run."""
    from bayeslaws.runs.repeats import REPEAT_LOSS_RTOL  # (a module the old code lacks)

    base = fitted_rows(fit, [0], [0])
    other_seed = base.assign(loss=base["loss"] * (1 + 3 * REPEAT_LOSS_RTOL))
    other_group = base.assign(group="b").set_index(pd.Index([1]))
    _, told = said(combined_table, fit, pd.concat([other_seed, other_group]))
    assert not [m for _, m in told if NEAR in m]


def test_exact_repeats_stay_refused(fit):
    with pytest.raises(ValueError, match="new_runs repeat 1 run"):
        combined_table(fit, fitted_rows(fit, [0], [0]))


def test_a_run_table_of_near_copies_is_told_to_exclude_them(fit):
    """The remedy for a RunTable (it has no drop): exclude, which the updated fit records."""
    copies = bl.load_runs(rounded(fitted_rows(fit, [0, 1], [0, 1])), group="group")
    _, told = said(combined_table, fit, copies)
    (near,) = [m for _, m in told if NEAR in m]
    assert "new_runs.exclude(new_runs.df.index.isin([0, 1]), reason=...)" in near


def test_duplicates_within_new_runs_are_told_to_drop_them(fit):
    """Exact duplicates within a DataFrame new_runs were told "exclude them (Python:
    runs.exclude(mask, reason=...); command line: --exclude-rows ...)": a DataFrame has no
    exclude and there is no update command. Now: new_runs.drop(index=[...])."""
    one = _new_run(8, "a")
    twice = pd.concat([one, one]).set_index(pd.Index(["x", "y"]))
    _, told = said(combined_table, fit, twice)
    (dup,) = [m for _, m in told if "exact duplicates" in m]
    assert "new_runs.drop(index=['x', 'y'])" in dup
    assert "runs.exclude(mask" not in dup and "--exclude-rows" not in dup


def test_the_rule_reads_rounded_values_as_the_same_run():
    """The rule itself (bayeslaws.runs.repeats.looks_repeated), cheaply: 6 significant figures
    are within its tolerances, a loss 0.2% off is not."""
    from bayeslaws.runs.repeats import looks_repeated  # (a module the old code lacks)

    earlier = pd.DataFrame({"N": [123456789.0], "D": [2345678901.0], "loss": [3.14159265]})
    assert looks_repeated(rounded(earlier), earlier) == {0: 0}
    assert looks_repeated(earlier.assign(loss=3.14159265 * 1.002), earlier) == {}


def test_an_update_keeps_the_fits_prior_draws(fit):
    """A fit made with prior_draws=20 lost idata.prior on update (nuts.fit was called without
    prior_draws): the updated fit has as many, drawn for the updated table."""
    assert fit.idata.prior.sizes["draw"] == PRIOR_DRAWS
    new = _new_run(9, "b")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        updated = fit.update(new, warn=False, draws=100, warmup=100)
    assert "prior" in updated.idata.groups()
    assert updated.idata.prior.sizes["draw"] == PRIOR_DRAWS
    assert updated.idata.prior_predictive["log_loss"].shape[-1] == fit.n_runs + 1


def test_an_implausible_new_run_is_told_to_drop_it(fit):
    """The plausibility warning about a DataFrame new_runs (N in millions) said "exclude them
    (Python: runs.exclude(mask, reason=...); command line: --exclude-rows ...)": a DataFrame
    has no exclude and there is no update command."""
    millions = _new_run(10, "a").assign(N=600.0).set_index(pd.Index(["m"]))
    _, told = said(combined_table, fit, millions)
    (rows,) = [m for kind, m in told if kind == "PlausibilityWarning" and "'N'" in m]
    assert "rows m (row labels of new_runs)" in rows
    assert "new_runs.drop(index=['m'])" in rows and "runs.exclude(mask" not in rows


def test_group_label_warnings_name_rows_of_new_runs_as_the_update_does(fit):
    """A group label with surrounding spaces was named at "rows 0 (0-based data rows, header
    not counted)": new_runs is a DataFrame, its rows are named by their labels, as the
    update's other messages say."""
    spaced = _new_run(11, "a ")
    _, told = said(combined_table, fit, spaced)
    (label,) = [m for _, m in told if "surrounding spaces" in m]
    assert "rows 0 (row labels of new_runs)" in label
