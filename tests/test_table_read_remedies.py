"""Run-table files and values load_runs cannot read, each named with its remedy: truncated CSV
rows, Excel's ``sep=`` line, whitespace separation, K/M/B suffixes, a failed run's loss text,
True/False values, thousands separators, UTF-16, a title line, a tab-separated .txt; and blank
lines between rows are warned about. The tables are SIMULATED."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import quiet

import bayeslaws as bl
from bayeslaws.app.cli import with_cli_hints
from bayeslaws.runs import RunTableError


def _load(data, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # plausibility notes of small tables: not under test
        return bl.load_runs(data, **kwargs)


def _csv(tmp_path, text: str, name: str = "runs.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _table(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {"N": [1e8, 3e8, 1e9, 3e9][:n], "D": [2e9, 6e9, 2e10, 6e10][:n],
         "loss": [3.2, 2.9, 2.6, 2.4][:n]}
    )  # fmt: skip


# ---- 3. rows with fewer fields than the header ----------------------------------------------
@pytest.mark.parametrize("allow", [False, True])
def test_truncated_csv_row_is_refused_naming_row_and_line(tmp_path, allow):
    path = _csv(tmp_path, "N,D,loss\n1e8,2e9,3.2\n3e8,6e9\n1e9,2e10,2.6\n3e9,6e10,2.4\n")
    with pytest.raises(RunTableError) as err:
        bl.load_runs(path, allow_missing_loss=allow)
    message = str(err.value)
    assert "fewer values than the header has names" in message
    assert "rows 1 (0-based data rows, header not counted)" in message
    assert "line(s) 3" in message and "hold 2 value(s)" in message


def test_empty_fields_and_trailing_commas_are_still_read(tmp_path):
    text = "N,D,loss\n1e8,2e9,3.2\n3e8,6e9,\n1e9,2e10,2.6\n\n3e9,6e10,2.4\n"
    runs = _load(_csv(tmp_path, text), allow_missing_loss=True)
    assert len(runs) == 4 and np.isnan(runs.df["loss"].iloc[1])
    # a trailing unnamed header field is not a name a row must fill
    runs = _load(_csv(tmp_path, "N,D,loss,\n1e8,2e9,3.2\n3e8,6e9,2.9\n", "trail.csv"))
    assert runs.df["loss"].tolist() == [3.2, 2.9]


# ---- 5. Excel's "sep=;" first line -------------------------------------------------------------
def test_excel_separator_line_is_read(tmp_path):
    text = "sep=;\nN;D;loss\n1e8;2e9;3.2\n3e8;6e9;2.9\n1e9;2e10;2.6\n"
    runs = _load(_csv(tmp_path, text))
    assert runs.df["N"].tolist() == [1e8, 3e8, 1e9]
    assert runs.df["loss"].tolist() == [3.2, 2.9, 2.6]
    short = "sep=;\nN;D;loss\n1e8;2e9;3.2\n3e8;6e9\n"
    with pytest.raises(RunTableError, match=r"rows 1 .*line\(s\) 4 of the file"):
        bl.load_runs(_csv(tmp_path, short, "short.csv"))


# ---- 6. remedies: whitespace-separated, size suffixes, a failed run's loss text ------------
def test_space_separated_file_gets_the_whitespace_remedy(tmp_path):
    path = _csv(tmp_path, "N D loss\n1e8 2e9 3.2\n3e8 6e9 2.9\n")
    with pytest.raises(RunTableError) as err:
        bl.load_runs(path)
    assert "whitespace-separated" in str(err.value)
    assert r'pd.read_csv(path, sep=r"\s+")' in str(err.value)
    assert "'\\\\s+'" not in str(err.value)


@pytest.mark.parametrize("as_file", [False, True])
def test_size_suffixes_get_a_remedy(tmp_path, as_file):
    df = _table(3).assign(N=["100M", "300M", "1.3B"])
    data = _csv(tmp_path, df.to_csv(index=False)) if as_file else df
    with pytest.raises(RunTableError, match="non-numeric values") as err:
        bl.load_runs(data)
    message = str(err.value)
    assert "suffixes such as K, M, B, T are not read" in message
    assert "100000000" in message and "units={'N': 'millions'}" in message


def test_size_suffix_remedy_names_the_mapped_column_by_its_canonical_key():
    df = _table(3).rename(columns={"D": "tokens"}).assign(tokens=["2B", "6B", "20B"])
    with pytest.raises(RunTableError, match=r"units=\{'D': 'billions'\}"):
        bl.load_runs(df, D="tokens")


@pytest.mark.parametrize("text", ["diverged", "nan", "NaN", "OOM"])
def test_failed_run_text_in_loss_gets_the_diverged_remedy(text):
    df = _table().astype({"loss": object})
    df.loc[2, "loss"] = text
    with pytest.raises(RunTableError) as err:
        bl.load_runs(df)
    message = str(err.value)
    assert "rows 2" in message and "blank the cell" in message
    assert "allow_missing_loss=True" in message and "'diverged' column" in message


def test_other_non_numeric_text_gets_no_failed_run_remedy():
    df = _table().astype({"loss": object})
    df.loc[2, "loss"] = "2.6 (eval)"
    with pytest.raises(RunTableError) as err:
        bl.load_runs(df)
    assert "blank the cell" not in str(err.value)


# ---- 7. True/False values are named by their rows --------------------------------------------
def test_boolean_column_names_its_rows():
    df = _table().assign(loss=[True, False, True, True])
    with pytest.raises(RunTableError, match=r"True/False values, not numbers, at rows 0, 1, 2, 3"):
        bl.load_runs(df)
    mixed = _table().astype({"loss": object})
    mixed.loc[1, "loss"] = True
    with pytest.raises(RunTableError, match=r"True/False values, not numbers, at rows 1 \("):
        bl.load_runs(mixed)
    labelled = _table().assign(loss=[True, False, True, True]).set_index(pd.Index(list("abcd")))
    with pytest.raises(RunTableError, match=r"rows a, b, c, d \(labels of the DataFrame's index\)"):
        bl.load_runs(labelled)


def grid() -> pd.DataFrame:
    """SIMULATED: 6 sizes x 4 token counts, C = 6ND exactly, loss from a Chinchilla-like law."""
    N, D = np.meshgrid(np.geomspace(2e7, 5e8, 6), [4e8, 1e9, 3e9, 1e10])
    N, D = N.ravel(), D.ravel()
    loss = 1.8 + 400 / N**0.34 + 2000 / D**0.36
    return pd.DataFrame({"N": N, "D": D, "C": 6 * N * D, "loss": loss})


def error_of(call) -> str:
    with pytest.raises(RunTableError) as err:
        quiet(call)
    return str(err.value)


# ---- F7: parse errors with their remedy ---------------------------------------------------------
def test_a_thousands_separator_is_named_with_its_remedy(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text('N,D,loss\n"20,000,000",4e8,4.6\n"50,000,000",1e9,4.2\n')
    message = error_of(lambda: bl.load_runs(path))
    assert "look written with ',' as the thousands separator" in message
    assert "plain numbers (e.g. 20000000)" in message
    assert "pd.read_csv(path, thousands=',')" in message
    line = with_cli_hints(message, "fit")
    assert "pd.read_csv" not in line and "plain numbers (e.g. 20000000)" in line
    runs = quiet(lambda: bl.load_runs(pd.read_csv(path, thousands=",")))  # the remedy works
    assert runs.df["N"].tolist() == [2e7, 5e7]


def test_a_utf16_file_is_to_be_resaved_as_utf8(tmp_path):
    path = tmp_path / "runs.csv"
    grid().to_csv(path, index=False, sep="\t", encoding="utf-16")  # Excel's 'Unicode Text'
    message = error_of(lambda: bl.load_runs(path))
    assert "the file is UTF-16 text" in message and "re-save it as UTF-8" in message
    assert "pd.read_csv(path, encoding='utf-16', sep='\\t')" in message
    runs = quiet(lambda: bl.load_runs(pd.read_csv(path, encoding="utf-16", sep="\t")))
    assert len(runs) == len(grid())


def test_a_title_line_above_the_header_is_suggested(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("My runs 2024\n" + grid().to_csv(index=False))
    message = error_of(lambda: bl.load_runs(path))
    assert "the header may be on line 2 ('N,D,C,loss')" in message
    assert "delete the line above it" in message and "skiprows=1" in message
    assert len(quiet(lambda: bl.load_runs(pd.read_csv(path, skiprows=1)))) == len(grid())


def test_a_tab_separated_txt_file_is_told_about_tsv(tmp_path):
    path = tmp_path / "runs.txt"
    grid().to_csv(path, index=False, sep="\t")
    message = error_of(lambda: bl.load_runs(path))
    assert "name it .tsv: a .tsv file is read tab-separated" in message
    line = with_cli_hints(message, "fit")
    assert "re-save the file with commas (or keep the tabs and name it .tsv" in line
    tsv = path.with_suffix(".tsv")
    path.rename(tsv)
    assert len(quiet(lambda: bl.load_runs(tsv))) == len(grid())  # as it says


# ---- F8: blank lines ----------------------------------------------------------------------------
def test_blank_lines_between_rows_are_warned_about(tmp_path):
    lines = grid().to_csv(index=False).splitlines()
    path = tmp_path / "runs.csv"
    path.write_text("\n".join(lines[:6] + [""] + lines[6:]) + "\n")  # a blank line 7
    with pytest.warns(UserWarning, match=r"has 1 blank line \(line 7\), skipped") as said:
        runs = bl.load_runs(path)
    text = str(said[0].message)
    assert "row 5 is on line 8, not 7" in text
    assert runs.df.index.tolist() == pd.read_csv(path).index.tolist()  # pandas' numbers
    trailing = tmp_path / "trailing.csv"
    trailing.write_text("\n".join(lines) + "\n\n\n")  # nothing shifted: nothing said
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(bl.load_runs(trailing)) == len(grid())
