"""A candidates file (``bayeslaws design --candidates``) is read as a run table's text is
(runs.reading.read_text): a header narrower than its rows, a long row, a duplicated header name
are refused in the candidates file's name; one trailing comma per row is read as no column; the
group column is text. The candidates are SIMULATED sizes (no fit is read)."""

from __future__ import annotations

import pytest

from bayeslaws.app import cli
from bayeslaws.app.cli.design_commands import _read_candidates
from bayeslaws.app.cli.errors import CLIError

ROWS = [(2.87e7, 5.81e10, 1e19), (6.18e7, 2.69e10, 1e19), (1.33e8, 1.25e10, 1e19)]


def design_args(path, *extra):
    """The parsed arguments of 'bayeslaws design FIT --candidates PATH ...' (the fit unread)."""
    return cli.build_parser().parse_args(["design", "f.nc", "--candidates", str(path), *extra])


def written(tmp_path, header: str, lines: list[str], name: str = "cands.csv") -> str:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n")
    return str(path)


def refusal(path: str, *extra) -> str:
    with pytest.raises(CLIError) as caught:
        _read_candidates(path, design_args(path, *extra))
    return str(caught.value)


def test_rows_wider_than_the_header_are_refused_not_shifted(tmp_path):
    """Header N,D over rows N,D,C: pandas made N the index, so D's values were read as N and
    C's as D, and a batch was ranked from them."""
    path = written(tmp_path, "N,D", [f"{n},{d},{c}" for n, d, c in ROWS])
    message = refusal(path)
    assert message.startswith(f"candidates file {path!r}: ")
    assert "hold more values than the header has names (2: ['N', 'D'])" in message


def test_one_long_row_is_named_as_a_long_row(tmp_path):
    lines = [f"{n},{d},{c}" for n, d, c in ROWS]
    lines[0] += ",999"
    message = refusal(written(tmp_path, "N,D,C", lines))
    assert "hold more values than the header has names (3: ['N', 'D', 'C'])" in message
    assert "must be finite and positive" not in message


def test_a_short_row_is_named_with_its_row(tmp_path):
    lines = [f"{n},{d},{c}" for n, d, c in ROWS]
    lines[1] = lines[1].rsplit(",", 1)[0]
    message = refusal(written(tmp_path, "N,D,C", lines))
    assert "hold fewer values than the header has names" in message
    assert "rows 1 " in message


def test_a_duplicated_header_name_is_refused(tmp_path):
    """Header N,D,C,N: pandas renamed the second N to 'N.1' silently."""
    path = written(tmp_path, "N,D,C,N", [f"{n},{d},{c},{n / 1e6}" for n, d, c in ROWS])
    message = refusal(path)
    assert "more than one column named 'N'" in message


def test_one_trailing_comma_per_row_reads_as_the_columns_named(tmp_path):
    """Rows 'N,D,C,' (accepted by load_runs) failed with "column 'C' must be finite and
    positive": pandas made the first column the index."""
    path = written(tmp_path, "N,D,C", [f"{n},{d},{c}," for n, d, c in ROWS])
    cands = _read_candidates(path, design_args(path))
    assert list(cands.columns) == ["N", "D", "C"]
    for i, column in enumerate(("N", "D", "C")):
        assert cands[column].tolist() == pytest.approx([row[i] for row in ROWS])


def test_the_group_column_is_read_as_text(tmp_path):
    """A group labelled 'NA' (a label, as the run table reads it) was NaN."""
    path = written(tmp_path, "N,D,C,group", [f"{n},{d},{c},NA" for n, d, c in ROWS])
    cands = _read_candidates(path, design_args(path))
    assert cands["group"].tolist() == ["NA"] * len(ROWS)


def test_a_file_that_is_not_utf8_gets_the_remedy(tmp_path):
    path = tmp_path / "cands.csv"
    path.write_bytes(b"N,D,C,notes\n" + "1e8,2e9,1.2e18,µ\n".encode("cp1252"))
    message = refusal(str(path))
    assert "could not parse" in message and "not UTF-8 text" in message
    assert "pd.read_csv" not in message  # the command line re-saves the file


def test_the_mapping_and_units_still_apply(tmp_path):
    path = written(tmp_path, "Model Size,D,C", [f"{n / 1e6},{d},{c}" for n, d, c in ROWS])
    cands = _read_candidates(path, design_args(path, "--column", "N=Model Size",
                                               "--units", "N=millions"))  # fmt: skip
    assert cands["N"].tolist() == pytest.approx([r[0] for r in ROWS])
