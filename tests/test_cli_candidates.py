"""Candidates for the design on the command line: files with the user's column names or text
for a number, --group written and read back, isoFLOP lines refused for a law needing lr."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
from conftest import cli_error_line, cli_run  # noqa: E402

from bayeslaws.app.cli import EXIT_BAD_INPUT  # noqa: E402

_run = cli_run  # conftest: bayeslaws argv in-process -> (code, stdout, stderr)


# ---- 5. a candidates file with the user's column names -----------------------------------
def test_design_candidates_with_unmapped_columns_get_the_column_remedy(grouped_fit_file, tmp_path,
                                                                       capsys):
    cands = tmp_path / "mine.csv"
    pd.DataFrame({"Model Size": [1e9, 3e9], "Tokens": [2e10, 2e10]}).to_csv(cands, index=False)
    argv = ["design", grouped_fit_file, "--candidates", cands, "--nopt", "1e22", "--k", "1"]
    code, _, err = _run(argv, capsys)
    assert code == EXIT_BAD_INPUT
    line = cli_error_line(err)
    assert f"the candidates file {str(cands)!r} needs column N" in line
    assert "cands" not in line.replace(str(cands), "")
    assert "--column N=NAME" in line


def test_candidates_with_a_group_write_it_and_design_reads_it(two_scales_files, capsys, tmp_path):
    """'candidates --group small' wrote only N, D, C: 'design' on the file without --group
    valued the runs as a new group's. The group column is written now, and design reads it
    (and checks it against its own --group); the file may be replaced as earlier candidates."""
    out = tmp_path / "cands.csv"
    argv = ["candidates", two_scales_files["grouped"], "--isoflop", "1e19", "--n-per-budget", "3",
            "--group", "small", "--out", out]  # fmt: skip
    code, text, err = _run(argv, capsys)
    assert code == 0, err
    table = pd.read_csv(out)
    assert "group" in table and (table["group"] == "small").all() and len(table) == 3
    assert "group 'small'" in text
    code, _, err = _run(argv, capsys)  # an earlier candidates file with a group column
    assert code == 0, err
    design = ["design", two_scales_files["grouped"], "--candidates", out, "--k", "1"]
    code, _, err = _run([*design, "--group", "large"], capsys)
    assert code == EXIT_BAD_INPUT
    assert "'small' but --group 'large'" in cli_error_line(err)


# ---- F4: a candidates file with text for a number ----------------------------------------------
def test_a_non_numeric_candidate_value_names_its_row(two_scales_files, capsys, tmp_path):
    """'4.4B' in a candidates file gave "... must be a positive number or 1-d sequence, got
    array([... every value], dtype=object)"; now the row and value are named, as for run
    tables."""
    path = tmp_path / "cands.csv"
    path.write_text("N,D\n1e8,2e9\n2e8,2e9\n4.4B,2e9\n")
    code, _, err = _run(["design", two_scales_files["plain"], "--candidates", path], capsys)
    assert code == EXIT_BAD_INPUT
    line = cli_error_line(err)
    assert "column 'N'" in line and "rows 2" in line and "'4.4B'" in line, line
    assert "array(" not in line and str(path) in line
    mapped = tmp_path / "mapped.csv"  # under the user's own column name
    mapped.write_text("Model Size,D\n1e8,2e9\n4.4B,2e9\n")
    argv = ["design", two_scales_files["plain"], "--candidates", mapped, "--column", "N=Model Size"]
    code, _, err = _run(argv, capsys)
    assert code == EXIT_BAD_INPUT
    assert "column 'Model Size'" in cli_error_line(err) and "rows 1" in cli_error_line(err)


# ---- 5. design --isoflop on a law whose runs need lr and batch_size ---------------------------
def test_design_isoflop_on_a_sweep_fit_is_one_line_naming_sweep_and_candidates(
    sweep_fit_file, capsys
):
    """An isoFLOP line gives sizes and tokens only; law 'sweep' values a run at its lr and
    batch size: the design failed with "cands needs column 'lr'". Now one line naming the
    candidate options that suit the law."""
    code, _, err = cli_run(["design", sweep_fit_file, "--isoflop", "1e19"], capsys)
    line = cli_error_line(err)
    assert code == 2
    assert "--isoflop: law 'sweep' values a run at its lr and batch_size" in line
    assert "--sweep N D" in line and "--candidates CANDS.csv with columns lr, batch_size" in line
    assert "cands" not in line.replace("CANDS", "")


def test_candidates_isoflop_on_a_sweep_fit_is_refused_before_writing(
    sweep_fit_file, tmp_path, capsys
):
    """'candidates --isoflop' on a sweep fit wrote a CSV of N, D, C points that the law could not
    value ('design --candidates' then failed on the missing lr): now the same one line as
    'design --isoflop', and no file is written."""
    out = tmp_path / "cands.csv"
    argv = ["candidates", sweep_fit_file, "--isoflop", "1e19", "--out", out]
    code, _, err = cli_run(argv, capsys)
    line = cli_error_line(err)
    assert code == 2
    assert "--isoflop: law 'sweep' values a run at its lr and batch_size" in line
    assert line.endswith(
        "and an isoFLOP line gives sizes and tokens only: give --sweep N D (an LR x batch sweep "
        "at that cell, around the fit's eta_opt and B_opt; repeatable), or write a CSV with "
        "columns N, D, lr, batch_size and pass it to `bayeslaws design --candidates`"
    )
    assert "--candidates CANDS.csv" not in line  # 'candidates' has no such option
    assert not out.exists()
