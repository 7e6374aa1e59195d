"""``load_runs(..., accepted_rows=...)``: rows vetted as real despite the plausibility checks are
not warned about, any other implausible row still is, and the RunTable remembers them (SIMULATED
Chinchilla runs; Porian's table when ../shared/data is present)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from conftest import TRUTH, chinchilla_design, shared_or_skip

import bayeslaws as bl
from bayeslaws.runs import PlausibilityWarning, RunTableError, load_runs, plausible, simulate

FEW_TOKENS = (5, 11)  # rows of few_tokens_table() at 0.005 tokens per parameter, vetted
OTHER = 17  # ... and one more there, not vetted


def few_tokens_table() -> pd.DataFrame:
    """30 SIMULATED runs; rows 5, 11 and 17 (6e9 parameters) at 3e7 tokens: 0.005 tokens per
    parameter, below the plausible 0.01 (their losses simulated at those tokens)."""
    N, D = chinchilla_design()
    for row in FEW_TOKENS + (OTHER,):
        D[row] = 0.005 * N[row]
    return simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=1)


def plausibility_messages(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, PlausibilityWarning)]


def test_accepted_rows_are_not_warned_about_and_another_row_still_is():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runs = load_runs(few_tokens_table(), accepted_rows=list(FEW_TOKENS))
    messages = plausibility_messages(caught)
    assert len(messages) == 1, messages
    assert "D/N of 1 run(s)" in messages[0] and f"at rows {OTHER} (" in messages[0]
    assert len(runs) == 30  # every row kept


def test_the_run_table_remembers_its_accepted_rows():
    """In the attribute and the provenance; through a re-load (silently) and an exclusion."""
    table = few_tokens_table().drop(index=OTHER)
    runs = load_runs(table, accepted_rows=[11, 5])
    assert runs.accepted_rows == FEW_TOKENS  # in table order
    assert runs.record()["accepted_rows"] == ["5", "11"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlausibilityWarning)
        again = load_runs(runs)
    assert again.accepted_rows == FEW_TOKENS
    kept = runs.exclude(runs.df.index == 5, "checked: a typo after all")
    assert kept.accepted_rows == (11,)
    assert (
        "accepted_rows"
        not in load_runs(few_tokens_table().drop(index=list(FEW_TOKENS) + [OTHER])).record()
    )


def test_accepted_labels_that_are_not_rows_are_errors_naming_them():
    with pytest.raises(RunTableError, match=r"not rows of the table: 99, x \("):
        load_runs(few_tokens_table(), accepted_rows=[5, 99, "x"])
    with pytest.raises(TypeError, match="accepted_rows must be a list of row labels"):
        load_runs(few_tokens_table(), accepted_rows="5")


def test_porians_two_rows_are_accepted_rows_of_the_loaded_table():
    bundled = shared_or_skip()
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlausibilityWarning)
        runs = bundled.porian_isoflop()
    assert runs.accepted_rows == bundled.PORIAN_FEW_TOKENS_ROWS == (21, 600)
    assert runs.record()["accepted_rows"] == ["21", "600"]
    assert bundled.porian_isoflop(dataset="rw").accepted_rows == (21,)  # owt2's row filtered
    # another row mistyped to 0.005 tokens per parameter still warns, naming it alone
    raw = pd.read_csv(bundled.shared_data_dir() / "porian_isoflop" / "isoflop_points.csv")
    row = int(raw["n_params"].idxmax())
    raw.loc[row, "flops"] = 6 * raw.loc[row, "n_params"] * 0.005 * raw.loc[row, "n_params"]
    with pytest.warns(PlausibilityWarning, match=rf"D/N of 1 run\(s\) .* at rows {row} \("):
        load_runs(raw, N="n_params", C="flops", accepted_rows=bundled.PORIAN_FEW_TOKENS_ROWS)


def test_porians_rows_stay_silent_whatever_the_warnings_wording(monkeypatch):
    """The loader must not depend on the text of the warning it would give (it once matched
    the message with a regular expression, so rewording it brought the warning back). The
    rewording is patched where check_plausible looks the message up, and must be called."""
    bundled = shared_or_skip()
    original = plausible.implausible_ratio_rows
    calls = []

    def reworded(*args, **kwargs):
        calls.append(args)
        return [f"REWORDED: {m}" for m in original(*args, **kwargs)]

    monkeypatch.setattr(plausible, "implausible_ratio_rows", reworded)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlausibilityWarning)
        runs = bundled.porian_isoflop()
    assert calls, "the reworded message was never asked for: the patch missed check_plausible"
    assert {21, 600} <= set(runs.df.index)


def test_a_fits_training_runs_keep_its_accepted_rows_silently():
    runs = load_runs(few_tokens_table().drop(index=OTHER), accepted_rows=list(FEW_TOKENS))
    fit = bl.fit(
        runs,
        likelihood="gaussian",
        seed=0,
        chains=1,
        warmup=150,
        draws=150,
        warn=False,
        screen="off",
    )
    assert fit.record.data["accepted_rows"] == ["5", "11"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no plausibility or duplicate-row warning either
        again = fit.training_runs()
    assert again.accepted_rows == FEW_TOKENS
    assert list(again.df.index) == [i for i in range(30) if i != OTHER]
