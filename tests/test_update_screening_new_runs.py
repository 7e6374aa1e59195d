"""``fit.update``'s default warm-up is the fit's own (a warm start carries no adapted step size
or mass matrix); screening after an update names new runs by their row labels in ``new_runs``,
and a screening exclusion records them (``rows_in_new_runs``) (review 12). Small NUTS runs on
SIMULATED Chinchilla runs."""

from __future__ import annotations

import warnings

import pytest
from conftest import TRUTH, chinchilla_design, quiet

import bayeslaws as bl
from bayeslaws.inference.screening import OutlierWarning
from bayeslaws.runs import simulate

SMALL = {"chains": 1, "warmup": 240, "draws": 80, "likelihood": "gaussian"}
NEW_LABELS = ["r_a", "r_b", "r_c", "r_d", "r_e", "r_f"]


def _runs():
    """30 SIMULATED Chinchilla runs (6 sizes x 5 token counts), N in parameters."""
    N, D = chinchilla_design()
    runs = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=1)
    return runs.drop(columns=["C"])


# ---- F2, F3: warm-up and screening after an update ----------------------------------------------
@pytest.fixture(scope="module")
def outliers():
    """(A fit of 24 runs, run 5's loss 1.3x its simulated one; 6 new runs labelled r_a..r_f,
    r_b's loss 1.3x.)"""
    runs = _runs()
    old = runs.iloc[:24].copy()
    old.loc[5, "loss"] *= 1.3
    new = runs.iloc[24:].copy()
    new.index = NEW_LABELS
    new.loc["r_b", "loss"] *= 1.3
    fit = quiet(bl.fit, quiet(bl.load_runs, old), law="chinchilla", seed=0, **SMALL)
    return fit, new


def _outlier_messages(fit, new, **options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        updated = fit.update(new, seed=1, **options)
    return updated, [str(w.message) for w in caught if issubclass(w.category, OutlierWarning)]


def test_the_default_warm_up_is_the_fits_own(outliers):
    """A warm start carries the posterior's position, not NUTS's adapted step size and mass
    matrix: the update warms up as long as the fit did (it had halved it)."""
    fit, new = outliers
    updated = quiet(fit.update, new, seed=1, warn=False)
    assert updated.record.sampler.warmup == fit.record.sampler.warmup == SMALL["warmup"]
    assert f"({SMALL['warmup']} warm-up iterations per chain" in updated.record.notes[-1]


def test_screening_after_an_update_names_new_runs_by_their_labels_in_new_runs(outliers):
    """The outlier warning names new run r_b as r_b of new_runs (not by its label in the
    combined table, which the user never saw) and the fitted run 5 as 5 of the fitted runs,
    with a remedy for each: new_runs.drop for r_b; for 5, a fit of the runs the fit was given
    without it, updated (fit.update has no command line: no --exclude-rows, s54 W2)."""
    fit, new = outliers
    updated, messages = _outlier_messages(fit, new)
    combined = [str(r) for r in updated.training_runs().df.index[24:]]
    assert len(messages) == 1, messages
    text = messages[0]
    assert "r_b of new_runs (loss" in text and "5 of the fitted runs (loss" in text, text
    assert "new_runs.drop(index=['r_b'])" in text, text
    assert "bl.fit(runs.exclude(runs.df.index.isin([5])" in text, text
    assert "updated with new_runs" in text and "--exclude-rows" not in text, text
    assert "fit.update(new_runs, screen='exclude')" in text, text
    flagged = [e["row"] for e in updated.record.data["screening"]["flagged"]]
    label_of_r_b = combined[NEW_LABELS.index("r_b")]
    assert sorted(flagged) == sorted(["5", label_of_r_b])
    assert f"isin([{label_of_r_b}" not in text and f"{label_of_r_b} (loss" not in text, text


def test_a_screening_exclusion_of_an_update_records_rows_in_new_runs(outliers):
    """screen='exclude' in an update: its warning names r_b of new_runs, the record's
    screening exclusion lists r_b under rows_in_new_runs (as a RunTable's own exclusions of
    new runs are recorded), and the note names it."""
    fit, new = outliers
    updated, messages = _outlier_messages(fit, new, screen="exclude")
    assert any("r_b of new_runs (loss" in m for m in messages), messages
    screening = [
        e for e in updated.record.data["exclusions"] if e["reason"].startswith("screening:")
    ]
    assert len(screening) == 1, updated.record.data["exclusions"]
    assert screening[0]["rows_in_new_runs"] == ["r_b"], screening
    assert "5" in screening[0]["rows"] and len(screening[0]["rows"]) == 2, screening
    assert "(new runs 'r_b' of new_runs)" in updated.record.notes[-1]


def test_screening_names_give_a_run_tables_remedy():
    """For a RunTable of new runs the remedy excludes them from it (recorded), by their
    labels in new_runs."""
    from bayeslaws.inference.update import screening_names

    table = quiet(bl.load_runs, _runs().iloc[24:].set_axis(NEW_LABELS))
    renamed = {row: 24 + k for k, row in enumerate(NEW_LABELS)}
    names = screening_names(table, renamed)
    assert names.shown["25"] == "r_b of new_runs"
    assert names.exclude([25, 27]) == (
        "new_runs.exclude(new_runs.df.index.isin(['r_b', 'r_d']), reason='...')"
    )
