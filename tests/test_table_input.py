"""Run-table input handling found by a user audit: a text ``diverged`` column, the wording of
the exclusion note, the missing-column message, numpy reprs in messages, remedies for both the
Python API and the command line, what row numbers count, and entirely empty trailing rows.
No sampling: load_runs / RunTable and the laws' data preparation only."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.laws import sweep
from bayeslaws.laws.hyperparams import HyperparamsLaw
from bayeslaws.laws.hyperparams.data import diverged_mask, exclude_diverged
from bayeslaws.runs import PlausibilityWarning, RunTable, RunTableError
from bayeslaws.runs import simulate as sim

ROWS_NOTE = "(0-based data rows, header not counted)"


def runs_frame(n=6, **extra) -> pd.DataFrame:
    """n plausible runs (N params, D tokens, loss nats/token), distinct rows."""
    N = np.geomspace(1e8, 1e9, n)
    return pd.DataFrame(
        {"N": N, "D": 20 * N, "loss": np.linspace(3.0, 2.5, n), **extra}, index=range(n)
    )


def tiny_sweep() -> pd.DataFrame:
    """SIMULATED: 2 sizes x 2 budgets x the simulator's lr x batch grid."""
    return sim.simulate_video_dit_sweep(seed=3, sizes=(0.017e9, 0.057e9), tokens=(2e9, 4e9))


# ---- 1. the diverged column is parsed, never cast with astype(bool) ----------------------------
def test_diverged_text_column_is_parsed_to_bool():
    flags = ["no", "YES", "n", "Y", "t", "False", "", np.nan, "0", "1", " true ", None]
    df = runs_frame(len(flags), diverged=flags)
    runs = bl.load_runs(df)
    assert runs.df["diverged"].dtype == bool
    expected = [False, True, False, True, True, False, False, False, False, True, True, False]
    assert runs.df["diverged"].tolist() == expected


def test_diverged_numbers_and_bools_are_parsed():
    assert bl.load_runs(runs_frame(4, diverged=[0, 1, 0.0, 1.0])).df["diverged"].tolist() == [
        False,
        True,
        False,
        True,
    ]
    assert bl.load_runs(runs_frame(3, diverged=[True, np.nan, False])).df["diverged"].tolist() == [
        True,
        False,
        False,
    ]


def test_diverged_csv_with_blanks_and_yes_no(tmp_path):
    path = tmp_path / "runs.csv"
    runs_frame(4, diverged=["no", "", "yes", "No"]).to_csv(path, index=False)
    runs = bl.load_runs(path)
    assert runs.df["diverged"].dtype == bool
    assert runs.df["diverged"].tolist() == [False, False, True, False]


def test_unreadable_diverged_values_are_named():
    df = runs_frame(5, diverged=["no", "no", "maybe", 2, "yes"])
    with pytest.raises(RunTableError, match=r"'diverged'") as err:
        bl.load_runs(df)
    message = str(err.value)
    assert "row 2: 'maybe'" in message and "row 3: 2" in message
    assert ROWS_NOTE in message


def test_run_table_constructed_directly_parses_diverged():
    runs = bl.load_runs(runs_frame(3))
    df = runs.df.assign(diverged=["no", "yes", "no"])
    table = RunTable(df=df, compute_model=runs.compute_model)
    assert table.df["diverged"].tolist() == [False, True, False]
    assert df["diverged"].tolist() == ["no", "yes", "no"]  # the caller's frame is untouched


def test_sweep_with_no_yes_diverged_excludes_only_the_yes_runs():
    df = tiny_sweep()
    yes = np.zeros(len(df), bool)
    yes[[0, 5]] = True
    df["diverged"] = np.where(yes, "yes", "no")
    law = sweep.SweepLaw()
    base, _ = law.excluded_mask(bl.load_runs(df.drop(columns="diverged")).df)
    mask, reasons = law.excluded_mask(bl.load_runs(df).df)
    # only the 'yes' runs are added (bool('no') is True: astype(bool) flagged every run)
    np.testing.assert_array_equal(mask, base | yes)
    assert f"{int((yes & ~base).sum())}" in " ".join(reasons)
    # every run "no": nothing flagged, not "every run diverged"
    all_no = bl.load_runs(df.assign(diverged="no"))
    mask, reasons = diverged_mask(HyperparamsLaw(), all_no.df)
    assert not mask.any() and reasons == []


# ---- 2. "more" only after other reasons --------------------------------------------------------
def test_flagged_reason_says_more_only_after_other_reasons():
    df = tiny_sweep()
    df["diverged"] = False
    df.loc[[0, 1], "diverged"] = True
    law = HyperparamsLaw()
    _, reasons = diverged_mask(law, bl.load_runs(df).df)
    assert reasons == ["2 flagged in column 'diverged'"]
    df.loc[2, "loss"] = np.nan
    _, reasons = diverged_mask(law, bl.load_runs(df, allow_missing_loss=True).df)
    assert reasons[0] == "1 with a missing (NaN) or +inf loss"
    assert reasons[1] == "2 more flagged in column 'diverged'"


# ---- 3. a missing loss column: the columns read, and why ---------------------------------------
def test_tab_separated_file_is_diagnosed(tmp_path):
    path = tmp_path / "runs.csv"
    runs_frame(3).to_csv(path, index=False, sep="\t")
    with pytest.raises(RunTableError, match="no loss column") as err:
        bl.load_runs(path)
    message = str(err.value)
    assert "tab-separated" in message
    assert "['N\\tD\\tloss']" in message  # the columns read, a plain list of strings
    assert "loss='your column name'" in message and "--column loss=NAME" in message


def test_semicolon_file_is_diagnosed(tmp_path):
    path = tmp_path / "runs.csv"
    runs_frame(3).to_csv(path, index=False, sep=";")
    with pytest.raises(RunTableError, match="';'-separated"):
        bl.load_runs(path)


def test_column_names_differing_in_case_are_named():
    df = runs_frame(3).rename(columns={"loss": "Loss"})
    with pytest.raises(RunTableError, match="no loss column") as err:
        bl.load_runs(df)
    message = str(err.value)
    assert "column 'Loss' differs only in case from 'loss'" in message
    assert "['N', 'D', 'Loss']" in message
    df = runs_frame(3).rename(columns={"N": "n"})
    with pytest.raises(RunTableError, match="need two of") as err:
        bl.load_runs(df)
    assert "column 'n' differs only in case from 'N'" in str(err.value)
    assert "--column N=NAME" in str(err.value)


# ---- 4. no numpy reprs; all rows excluded --------------------------------------------------------
def test_levels_message_has_no_numpy_repr():
    runs = bl.load_runs(pd.DataFrame({"N": [7e7, 7e7], "D": [1e9, 2e9], "loss": [3.0, 2.9]}))
    with pytest.raises(RunTableError) as err:
        runs.require_levels("N", 2, "chinchilla")
    message = str(err.value)
    assert "np." not in message and "has 1 ([7e+07])" in message
    empty = runs.exclude(np.ones(2, bool), reason="test")
    with pytest.raises(RunTableError, match="all rows were excluded") as err:
        empty.require_levels("N", 2, "chinchilla")
    assert "[]" not in str(err.value)


def test_high_loss_and_below_one_messages_have_plain_numbers():
    df = runs_frame(6)
    df.loc[5, "loss"] = 100.0
    with pytest.warns(PlausibilityWarning) as record:
        bl.load_runs(df)
    text = " ".join(str(w.message) for w in record)
    assert "e.g. [100]" in text and "np." not in text
    with pytest.raises(RunTableError) as err:
        bl.load_runs(runs_frame(3).assign(N=[0.5, 1e8, 2e8]))
    assert "e.g. [0.5]" in str(err.value)


# ---- 5. remedies for Python and the command line -------------------------------------------------
def test_duplicate_and_high_loss_remedies_give_both_forms():
    df = pd.concat([runs_frame(5), runs_frame(5).iloc[[1]]], ignore_index=True)
    with pytest.warns(UserWarning, match="exact duplicates") as record:
        bl.load_runs(df)
    text = " ".join(str(w.message) for w in record)
    assert "runs.exclude(mask, reason=...)" in text
    assert "--exclude-rows ROWS --exclude-reason TEXT" in text
    df = runs_frame(6)
    df.loc[5, "loss"] = 100.0
    with pytest.warns(PlausibilityWarning, match="--exclude-rows ROWS --exclude-reason TEXT"):
        bl.load_runs(df)


def test_missing_lr_remedy_gives_both_forms():
    runs = bl.load_runs(runs_frame(3, batch_size=[1e6, 2e6, 4e6]))
    with pytest.raises(RunTableError) as err:
        exclude_diverged(HyperparamsLaw(), runs)
    message = str(err.value)
    assert "load_runs(..., lr='name')" in message
    assert "--lr NAME or --column lr=NAME" in message


# ---- 6. what row numbers count ----------------------------------------------------------------
def test_row_numbers_say_what_they_count():
    df = runs_frame(4)
    df.loc[1, "loss"] = np.nan
    with pytest.raises(RunTableError, match=r"missing values at rows 1 ") as err:
        bl.load_runs(df)
    assert str(err.value).count(ROWS_NOTE) == 1
    df.index = ["a", "b", "c", "d"]
    with pytest.raises(RunTableError, match=r"rows b \(labels of the DataFrame's index\)"):
        bl.load_runs(df)


def test_row_numbers_of_a_file_are_data_rows(tmp_path):
    path = tmp_path / "runs.csv"
    df = runs_frame(4).astype(object)
    df.loc[2, "N"] = "big"
    df.to_csv(path, index=False)
    with pytest.raises(RunTableError, match=re.escape(f"at rows 2 {ROWS_NOTE}")):
        bl.load_runs(path)


# ---- 7. entirely empty rows ------------------------------------------------------------------
def test_trailing_empty_rows_are_dropped_with_a_warning(tmp_path):
    path = tmp_path / "runs.csv"
    runs_frame(4).to_csv(path, index=False)
    with open(path, "a") as f:
        f.write(",,\n,,\n")
    with pytest.warns(PlausibilityWarning, match=r"2 entirely empty row\(s\) dropped") as record:
        runs = bl.load_runs(path)
    assert len(runs) == 4
    assert re.search(r"rows 4, 5 \(0-based data rows", str(record[0].message))


def test_partly_empty_rows_are_still_errors(tmp_path):
    path = tmp_path / "runs.csv"
    runs_frame(4).to_csv(path, index=False)
    with open(path, "a") as f:
        f.write("1e9,,\n,,\n")
    with warnings.catch_warnings(), pytest.raises(RunTableError, match="missing values at rows 4"):
        warnings.simplefilter("ignore", PlausibilityWarning)
        bl.load_runs(path)


def test_only_empty_rows_is_no_rows(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("N,D,loss\n,,\n,,\n")
    with pytest.warns(PlausibilityWarning), pytest.raises(RunTableError, match="has no rows"):
        bl.load_runs(path)


def test_tab_separated_files_are_read_by_their_suffix(tmp_path):
    table = "N\tD\tloss\n1e8\t2e9\t3.1\n2e8\t2e9\t3.0\n4e8\t4e9\t2.9\n"
    (tmp_path / "runs.tsv").write_text(table)
    runs = bl.load_runs(tmp_path / "runs.tsv")
    np.testing.assert_allclose(runs.df["N"], [1e8, 2e8, 4e8])
    np.testing.assert_allclose(runs.df["C"], 6 * runs.df["N"] * runs.df["D"])


# ---- 8. second audit: masks, file shapes, units, re-loading, groups ---------------------------
def test_exclude_matches_a_series_mask_by_label():
    runs = bl.load_runs(runs_frame(4))
    high = runs.df.sort_values("loss")["loss"] > 2.9  # labels in another order
    kept = runs.exclude(high, "high loss")
    assert kept.exclusions[-1].rows == (0,)
    assert kept.df.index.tolist() == [1, 2, 3]
    assert runs.subset(~high, "high loss").df.index.tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="labels differ from the table's row labels"):
        runs.exclude(pd.Series([True, False, False, False], index=[5, 6, 7, 8]), "x")


@pytest.mark.parametrize(
    "mask, message",
    [
        (pd.Series([np.nan, False, False, False]), r"missing values \(NaN/NA\) at positions 0"),
        (pd.Series([True, None, False, False], dtype="boolean"), r"missing values"),
        (np.array(["False", "False", "True", "False"]), r"True/False values.*'False'"),
        ([0, 1, 0, 0], r"True/False values"),
        ([True, False], r"mask has shape \(2,\), expected \(4,\)"),
    ],
)
def test_exclude_refuses_masks_that_are_not_one_flag_per_row(mask, message):
    runs = bl.load_runs(runs_frame(4))
    with pytest.raises(ValueError, match=message):
        runs.exclude(mask, "x")


def test_trailing_comma_on_data_rows_does_not_shift_columns(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("N,D,loss\n1e8,2e9,3.0,\n2e8,4e9,2.8,\n4e8,8e9,2.6,\n")
    runs = bl.load_runs(path)
    np.testing.assert_allclose(runs.df["N"], [1e8, 2e8, 4e8])
    np.testing.assert_allclose(runs.df["loss"], [3.0, 2.8, 2.6])
    assert runs.df.index.tolist() == [0, 1, 2]
    path.write_text("N,D,loss\n1e8,2e9,3.0,7\n2e8,4e9,2.8,\n4e8,8e9,2.6,\n")
    with pytest.raises(RunTableError, match=r"more values than the header has names.*field 4"):
        bl.load_runs(path)


def test_duplicate_header_names_in_a_file_are_refused(tmp_path):
    (tmp_path / "runs.csv").write_text("N,D,loss,loss\n1e8,2e9,3.0,9\n2e8,4e9,2.8,9\n")
    with pytest.raises(RunTableError, match="more than one column named 'loss'") as err:
        bl.load_runs(tmp_path / "runs.csv")
    assert "could not parse" not in str(err.value)
    (tmp_path / "runs.tsv").write_text("N\tD\tloss\tN\n1e8\t2e9\t3.0\t1\n")
    with pytest.raises(RunTableError, match="more than one column named 'N'"):
        bl.load_runs(tmp_path / "runs.tsv")


@pytest.mark.parametrize("name", ["group", "x", "N"])
def test_duplicate_column_names_in_a_dataframe_are_refused(name):
    df = runs_frame(4, group=["a", "a", "b", "b"], x=1.0)
    df = pd.concat([df, df[[name]]], axis=1)
    with pytest.raises(RunTableError, match=f"more than one column named '{name}'"):
        bl.load_runs(df)


def test_units_hint_picks_the_multiplier_with_plausible_tokens_per_parameter():
    """N in millions (70M .. 810M params, ~20 tokens each) must not be called billions."""
    df = pd.DataFrame(
        {"N": [70.0, 160.0, 410.0, 810.0], "D": [1.4e9, 3.2e9, 8.2e9, 1.6e10], "loss": [3.0] * 4}
    )
    with pytest.warns(PlausibilityWarning) as record:
        bl.load_runs(df.assign(loss=[3.0, 2.9, 2.8, 2.7]))
    messages = [str(w.message) for w in record]
    median = next(m for m in messages if "has median" in m)
    assert "pass units={'N': 'millions'}" in median
    assert "ambiguous" in median and "'billions' (D/N 0.0" in median
    ratio = next(m for m in messages if "tokens per parameter D/N is" in m)
    assert "units={'N': 'millions'}" in ratio and "units={'N': 'billions'}" not in ratio


def test_units_for_a_column_the_table_lacks_are_an_error():
    df = runs_frame(4)
    derived = df.assign(C=6 * df["N"] * df["D"]).drop(columns="N")
    with pytest.raises(RunTableError, match=r"units given for 'N'.*derived from D and C"):
        bl.load_runs(derived, units={"N": "billions"})
    with pytest.raises(RunTableError, match=r"units given for 'lr', but the table has no lr"):
        bl.load_runs(df, units={"lr": 1e-3})


def test_reloading_a_run_table_keeps_its_model_exclusions_and_row_count():
    runs = bl.load_runs(runs_frame(4), compute_model=8)
    runs = runs.exclude([True, False, False, False], "first run")
    again = bl.load_runs(runs)
    assert again.compute_model.name == "8ND"
    assert again.exclusions == runs.exclusions and again.n_input_rows == 4
    assert again.df.index.tolist() == [1, 2, 3]
    pd.testing.assert_frame_equal(again.df, runs.df)
    with pytest.raises(RunTableError, match="disagree with the compute model 6ND"):
        bl.load_runs(runs, compute_model=6)  # a different model for C: checked, not ignored


def test_best_in_cell_skips_cells_without_a_finite_loss():
    df = pd.DataFrame(
        {"N": [1e8, 1e8, 2e8, 2e8], "D": [2e9, 2e9, 4e9, 4e9], "lr": [1e-3, 2e-3, 1e-3, 2e-3]}
    )
    runs = bl.load_runs(df.assign(loss=[3.0, 2.9, np.nan, np.nan]), allow_missing_loss=True)
    assert bl.runs.best_in_cell(runs.df).tolist() == [False, True, False, False]
    assert len(bl.runs.best_run_per_cell(runs)) == 1


def test_best_run_per_cell_takes_values_equal_up_to_rounding_as_one_cell():
    """N written as 1e8 and 1e8 * (1 + 1e-12) is one cell (runs.cells.CELL_RTOL), as the laws
    group them: the baseline kept both as 'best' runs; per group, cells stay apart."""
    df = pd.DataFrame(
        {"N": [1e8, 1e8 * (1 + 1e-12), 2e8, 2e8 * 1.01], "D": 2e9, "loss": [3.0, 2.9, 2.8, 2.7]}
    )
    assert bl.runs.best_in_cell(df).tolist() == [False, True, True, True]
    grouped = df.assign(group=["a", "b", "a", "a"])
    assert bl.runs.best_in_cell(grouped).tolist() == [True, True, True, True]


def test_blank_group_labels_are_missing_and_na_words_are_labels(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("N,D,loss,group\n1e8,2e9,3.0,NA\n2e8,4e9,2.8,None\n4e8,8e9,2.6,EU\n")
    runs = bl.load_runs(path)
    assert runs.df["group"].tolist() == ["NA", "None", "EU"]
    assert runs.groups == ["EU", "NA", "None"]
    path.write_text("N,D,loss,group\n1e8,2e9,3.0,a\n2e8,4e9,2.8, \n4e8,8e9,2.6,\n")
    with pytest.raises(RunTableError, match=r"'group' \(group\) has missing values at rows 1, 2"):
        bl.load_runs(path)
    df = runs_frame(4, g=["a", "", " ", "a"])
    with pytest.raises(RunTableError, match=r"'g' \(group\) has missing values at rows 1, 2"):
        bl.load_runs(df, group="g")


def test_messages_name_the_users_column_and_the_value_as_typed(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("Model Size,D,loss\n100,1e9,3.0\n-200,2e9,2.8\n400,4e9,2.6\n")
    with pytest.raises(RunTableError, match=r"'Model Size' \(N\) must be finite.*e\.g\. \[-200\]"):
        bl.load_runs(path, N="Model Size", units={"N": "millions"})
    df = runs_frame(4).rename(columns={"loss": "Final Loss"})
    df.loc[1, "Final Loss"] = np.nan
    with pytest.raises(RunTableError, match=r"'Final Loss' \(loss\) has missing values at rows 1"):
        bl.load_runs(df, loss="Final Loss")
    tiny = runs_frame(4).assign(N=[0.5, 1.0, 2.0, 4.0]).rename(columns={"N": "size"})
    with pytest.raises(RunTableError, match=r"'size' \(N\) has values below 1.*\[0\.5, 1, 2"):
        bl.load_runs(tiny, N="size", units={"N": 1e-6})


def test_a_semicolon_file_with_decimal_commas_is_diagnosed_as_such(tmp_path):
    """A European CSV (';' between values, decimal commas) is named as ';'-separated, not as
    rows holding more values than the header has names."""
    path = tmp_path / "european.csv"
    path.write_text("N;D;loss\n1000000000,5;20000000000,25;2,75\n2000000000,5;4e10;2,5\n")
    with pytest.raises(RunTableError, match="looks ';'-separated with decimal commas") as err:
        bl.load_runs(path)
    assert "more values than the header" not in str(err.value)
    assert "sep=';', decimal=','" in str(err.value)
    tab = tmp_path / "european_tab.csv"
    tab.write_text("N\tD\tloss\n1000000000,5\t20000000000,25\t2,75\n")
    with pytest.raises(RunTableError, match="looks tab-separated with decimal commas"):
        bl.load_runs(tab)


def test_a_loss_column_of_perplexities_between_8_and_45_is_flagged():
    """Perplexities of 8-45 (median 13.5) stay below LOSS_MAX but are flagged as a perplexity
    or a loss in bits; usual losses in nats (median <= 6) are not."""
    ppl = runs_frame(n=7)
    ppl["loss"] = [8.0, 9.5, 11.0, 13.5, 20.0, 30.0, 45.0]
    with pytest.warns(PlausibilityWarning, match=r"median 13\.5.*looks like a perplexity"):
        bl.load_runs(ppl)
    for median_loss in (0.52, 2.6, 4.1, 5.9):
        with warnings.catch_warnings():
            warnings.simplefilter("error", PlausibilityWarning)
            bl.load_runs(runs_frame().assign(loss=median_loss))


# ---- 7. rows in other units, near-miss headers, spaced group labels, batches in sequences ------
def _no_plausibility_warning(load):
    """``load()`` with every PlausibilityWarning an error: the result."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlausibilityWarning)
        return load()


@pytest.mark.parametrize(
    "column, row, value, message",
    [
        ("N", 2, 400.0, r"column 'N' \(parameters\) is below 10000 at rows 2 "),
        ("D", 3, 8.0, r"column 'D' \(tokens\) is below 100000 at rows 3 "),
        ("N", 1, 1e15, r"column 'N' \(parameters\) is above 1e\+14 at rows 1 "),
        ("D", 4, 1e14, r"tokens per parameter D/N of 1 run\(s\) lie outside \[0\.01, 100000\] "
         r"at rows 4 "),
    ],
)  # fmt: skip
def test_one_row_in_other_units_warns_naming_the_row(column, row, value, message):
    """One mistyped row (N in millions, D in billions, ...) in a plausible table warns naming
    it, though the column's median is plausible; the plausible table does not warn."""
    _no_plausibility_warning(lambda: bl.load_runs(runs_frame(6)))
    df = runs_frame(6)
    df.loc[row, column] = value
    with pytest.warns(PlausibilityWarning, match=message) as record:
        runs = bl.load_runs(df)
    assert len(runs) == 6  # a warning, not a refusal: the value is possible
    text = " ".join(str(w.message) for w in record)
    assert f"e.g. [{value / df.loc[row, 'N'] if 'D/N' in message else value:g}]" in text
    assert "--exclude-rows ROWS --exclude-reason TEXT" in text
    assert text.count(f"rows {row} ") == 1  # named once (not again for its D/N)


def test_a_row_derived_from_c_in_other_units_is_named():
    df = runs_frame(6)
    df = df.assign(C=6 * df["N"] * df["D"]).drop(columns="D")
    df.loc[3, "C"] = 5e9  # this run's FLOPs typed in other units (D = 2 tokens)
    with pytest.warns(PlausibilityWarning) as record:
        bl.load_runs(df)
    text = " ".join(str(w.message) for w in record)
    assert "column 'D' (tokens), derived from N and C, is below 100000 at rows 3 " in text
    assert "column 'C' (FLOPs) is below 1e+10 at rows 3 " in text


@pytest.mark.parametrize(
    "name, canon, values",
    [
        ("Group", "group", ["a", "a", "b", "b"]),
        ("group ", "group", ["a", "a", "b", "b"]),
        ("GROUP", "group", ["a", "a", "b", "b"]),
        ("Diverged", "diverged", ["no", "yes", "no", "no"]),
        ("diverged ", "diverged", ["no", "yes", "no", "no"]),
        ("lr ", "lr", [1e-3] * 4),
        ("LR", "lr", [1e-3] * 4),
        ("Batch_Size", "batch_size", [1e6] * 4),
        ("batch size", "batch_size", [1e6] * 4),
        ("batch-size", "batch_size", [1e6] * 4),
    ],
)
def test_a_near_miss_optional_header_warns_and_is_not_used(tmp_path, name, canon, values):
    """An optional column whose header differs from the canonical name only in case, spaces,
    '-' or '_' is not mapped (explicit beats implicit) but named loudly, with the fix."""
    path = tmp_path / "runs.csv"
    runs_frame(4).assign(**{name: values}).to_csv(path, index=False)
    pattern = rf"column {re.escape(repr(name))} differs from '{canon}' only in case/spaces"
    with pytest.warns(PlausibilityWarning, match=pattern) as record:
        runs = bl.load_runs(path)
    assert canon not in runs.df and name in runs.df  # kept untouched, not read
    text = " ".join(str(w.message) for w in record)
    assert "it is NOT used" in text
    if canon != "diverged":
        assert f"load_runs(..., {canon}={name!r})" in text
        assert "--column " in text
    else:
        assert f"rename it to '{canon}'" in text


def test_ordinary_extra_columns_are_no_near_misses():
    """A 'Run' label column (only the isoFLOP law reads 'run') and a 'd' (d_model) column when
    N and C are given (D is derived on purpose) are kept quietly, not named as near misses."""
    runs = _no_plausibility_warning(
        lambda: bl.load_runs(runs_frame(4, Run=["r1", "r2", "r3", "r4"]))
    )
    assert "Run" in runs.df
    frame = runs_frame(4)
    with_c = frame.assign(C=6 * frame["N"] * frame["D"], d=[512, 768, 1024, 2048])
    runs = _no_plausibility_warning(lambda: bl.load_runs(with_c.drop(columns="D")))
    assert "d" in runs.df and np.allclose(runs.df["D"], frame["D"])


def test_reloading_a_run_table_with_new_units_for_n_checks_c():
    """units= for N (or D) on a RunTable rescales N: C, derived from N and D at the first load,
    is derived again from the rescaled N, not kept (it was kept as 1e-6 x 6ND, silently; then
    refused as disagreeing with the compute model though the user gave only N and D)."""
    first = bl.load_runs(runs_frame(4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 1e14 params: implausible, warned
        again = bl.load_runs(first, units={"N": "millions"})
    np.testing.assert_allclose(again.df["N"], 1e6 * first.df["N"])
    np.testing.assert_allclose(again.df["C"], 6 * again.df["N"] * again.df["D"], rtol=1e-12)


def test_a_mapped_or_exact_optional_header_does_not_warn():
    df = runs_frame(4, Group=["a", "a", "b", "b"], lr=[1e-3] * 4)
    runs = _no_plausibility_warning(lambda: bl.load_runs(df, group="Group"))
    assert runs.has_groups and runs.df["lr"].tolist() == [1e-3] * 4
    exact = runs_frame(4, group=["a", "a", "b", "b"], diverged=["no", "yes", "no", "no"])
    assert _no_plausibility_warning(lambda: bl.load_runs(exact)).df["diverged"].sum() == 1


def test_group_labels_with_surrounding_spaces_are_stripped_with_a_warning(tmp_path):
    path = tmp_path / "runs.csv"
    labels = ["web", "web ", " web", "code", "code", "code"]
    runs_frame(6).assign(group=labels).to_csv(path, index=False)
    with pytest.warns(PlausibilityWarning) as record:
        runs = bl.load_runs(path)
    assert runs.groups == ["code", "web"]
    text = " ".join(str(w.message) for w in record)
    assert f"labels 'web ', ' web' had surrounding spaces at rows 1, 2 {ROWS_NOTE}" in text
    assert "read as 'web'" in text
    clean = runs_frame(4, group=["web", "web", "code", "code"])
    assert _no_plausibility_warning(lambda: bl.load_runs(clean)).groups == ["code", "web"]


def test_group_labels_that_differ_only_in_case_warn_that_they_are_separate_groups():
    """'Comma' and 'comma' were two groups, silently (surrounding spaces already warned)."""
    df = runs_frame(6, group=["comma", "Comma", "comma", "dclm", "DCLM", "web"])
    with pytest.warns(PlausibilityWarning, match="differ only in case") as record:
        runs = bl.load_runs(df)
    assert runs.groups == sorted(["comma", "Comma", "dclm", "DCLM", "web"])  # kept as given
    text = " ".join(str(w.message) for w in record)
    assert "'comma' vs 'Comma'" in text and "'dclm' vs 'DCLM'" in text and "'web'" not in text


def test_a_batch_size_in_sequences_warns_with_the_units_fix():
    df = runs_frame(4, lr=[1e-3] * 4, batch_size=[64, 128, 256, 512])
    with pytest.warns(PlausibilityWarning, match=r"column 'batch_size' has median 192, below "
                      r"1000 tokens") as record:  # fmt: skip
        bl.load_runs(df)
    text = " ".join(str(w.message) for w in record)
    assert "units={'batch_size': <sequence length in tokens>}" in text
    assert "--units batch_size=2048" in text
    fixed = _no_plausibility_warning(lambda: bl.load_runs(df, units={"batch_size": 2048}))
    assert fixed.df["batch_size"].tolist() == [131072, 262144, 524288, 1048576]
    _no_plausibility_warning(lambda: bl.load_runs(tiny_sweep()))  # SIMULATED, in tokens


def test_reloading_a_run_table_keeps_its_nominal_c():
    """A RunTable whose C is a nominal budget (not the compute model's, as the isoFLOP
    compendium's Marin tables) is re-checked from N and D and keeps its C; with another
    compute model C is still checked against it."""
    runs = bl.load_runs(runs_frame(4))
    df = runs.df.copy()
    df["C"] = df["C"] * np.array([0.74, 1.0, 1.07, 0.9])
    nominal = RunTable(df, runs.compute_model, "nominal budgets", runs.exclusions, 4)
    again = bl.load_runs(nominal)
    pd.testing.assert_frame_equal(again.df, nominal.df)
    assert again.source == "nominal budgets" and again.compute_model.name == "6ND"
    with pytest.raises(RunTableError, match="disagree with the compute model 6ND"):
        bl.load_runs(nominal, compute_model=6)
    df.loc[2, "C"] = -1.0
    with pytest.raises(RunTableError, match=r"column 'C' must be finite and positive.*rows 2 "):
        bl.load_runs(RunTable(df, runs.compute_model))
