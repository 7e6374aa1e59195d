"""Design messages a command-line user can meet give their remedy in both forms, "(Python: ...;
command line: ...)", so that the command line (bayeslaws.app.cli.with_cli_hints) says its own
options: a new group's isoFLOP centre, a candidates' group label the fit does not know, a target
of another group than the candidates, candidates of several groups or of another group than
--group, C in another compute model, a spread reaching below one parameter, and a sweep
without a hyperparameter fit (before: "pass group= ... the same group= to next_runs" and
other Python-only remedies reached the command line as they were). The fits are SIMULATED
(conftest: the bundled sweep's best runs as groups A and B)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import cli_error_line

from bayeslaws import design
from bayeslaws.app.cli import EXIT_BAD_INPUT, main, with_cli_hints
from bayeslaws.design.candidates import check_flops, warn_new_group_centre
from bayeslaws.design.gaussian import (
    candidate_group,
    target_group_message,
    unknown_label_message,
)
from bayeslaws.runs.compute import as_compute_model

BOTH = ("(Python: ", "; command line: ")


def _cell(fit) -> tuple[float, float]:
    train = fit.record.training_runs
    return float(np.median(train["N"])), float(np.median(train["D"]))


def _cands(fit, **columns) -> pd.DataFrame:
    N0, D0 = _cell(fit)
    return pd.DataFrame({"N": [N0, 3 * N0, 10 * N0], "D": [D0, 2 * D0, 10 * D0], **columns})


def _said(message: str, cli_words: str, python_words: str) -> str:
    """Check ``message`` gives both forms, the Python one holding ``python_words``, and that
    the command line keeps only ``cli_words``; return the command line's line."""
    assert all(part in message for part in BOTH), message
    assert python_words in message
    line = with_cli_hints(message, "design")
    assert cli_words in line, line
    assert "Python:" not in line and python_words not in line, line
    return line


def _error(call) -> str:
    with pytest.raises(ValueError) as err:
        call()
    return str(err.value)


# ---- 1. the messages give both forms -------------------------------------------------------------
def test_a_new_groups_centre_names_group_in_both_forms(grouped_fit):
    with pytest.warns(design.GroupWarning) as record:
        warn_new_group_centre(grouped_fit, None)
    (message,) = [str(w.message) for w in record]
    line = _said(message, "--group GROUP, one of ['A', 'B']", "the same group= to next_runs")
    assert "pass group=" not in line and "--column group" not in line  # not a column mapping


def test_a_target_of_another_group_names_group_in_both_forms(grouped_fit):
    N0, D0 = _cell(grouped_fit)
    of_b = target_group_message(grouped_fit, design.Loss(N=N0, D=D0, group="B"), None)
    line = _said(of_b, "--group GROUP, or a group column", "pass group=")
    assert "cands['group']" not in line
    new = target_group_message(grouped_fit, design.Loss(N=N0, D=D0), "B")
    line = _said(new, "--group B, which sets the target's group", "give it group='B'")
    assert "group=None" not in new  # said in words: a target given no group
    spaced = target_group_message(grouped_fit, design.Loss(N=N0, D=D0), "my data")
    assert "--group 'my data'" in with_cli_hints(spaced, "design")  # quoted for a shell


def test_an_unknown_label_is_said_without_python_words():
    message = unknown_label_message("a", ["A", "B"])
    assert "group=None" not in message and "as when no group is given" in message


def test_candidate_group_errors_give_both_forms(grouped_fit):
    mixed = _cands(grouped_fit, group=["A", "B", "A"])
    several = _error(lambda: candidate_group(grouped_fit, mixed, None))
    _said(several, "a candidates file per group, each with its --group", "next_runs(..., group=")
    other = _error(lambda: candidate_group(grouped_fit, _cands(grouped_fit, group="A"), "B"))
    _said(other, "on the command line: no --group", "group=None")


def test_generation_and_compute_model_errors_give_both_forms():
    spread = _error(lambda: design.isoflop_candidates([1e20], 3, spread_decades=12, center=1e9))
    _said(spread, "a smaller --spread-decades", "center=")
    grids = _error(lambda: design.hyperparameter_candidates(1e9, 2e10))
    _said(grids, "--lr-grid and --batch-grid", "lr= and batch_size=")
    df = pd.DataFrame({"N": [1e9], "D": [2e10], "C": [1e18]})
    flops = _error(lambda: check_flops(df, as_compute_model(6), own=False))
    _said(flops, "--compute-model K, for C = K N D FLOPs", "compute_model=")


# ---- 2. the command line says its own options ----------------------------------------------------
@pytest.fixture(scope="module")
def fit_file(grouped_fit, tmp_path_factory):
    """The SIMULATED grouped fit (groups A and B), saved."""
    path = tmp_path_factory.mktemp("design_messages") / "grouped.nc"
    grouped_fit.save(path)
    return path


def _design_error(argv: list, capsys) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["design", *map(str, argv)])
    line = cli_error_line(capsys.readouterr().err)
    assert code == EXIT_BAD_INPUT
    assert "Python:" not in line, line
    return line


def test_design_errors_show_the_command_line_form(grouped_fit, fit_file, tmp_path, capsys):
    mixed, labelled = tmp_path / "mixed.csv", tmp_path / "a.csv"
    _cands(grouped_fit, group=["A", "B", "A"]).to_csv(mixed, index=False)
    _cands(grouped_fit, group="A").to_csv(labelled, index=False)
    line = _design_error([fit_file, "--candidates", mixed], capsys)
    assert "in its own call; on the command line: a candidates file per group" in line
    assert "group=" not in line
    line = _design_error([fit_file, "--candidates", labelled, "--group", "B"], capsys)
    assert "but --group 'B'" in line and line.endswith("on the command line: no --group")
    assert "group=" not in line
    N0, D0 = _cell(grouped_fit)
    argv = [fit_file, "--isoflop", 6 * N0 * D0, "--group", "A", "--spread-decades", 30]
    line = _design_error(argv, capsys)
    assert line.endswith("on the command line: a smaller --spread-decades")
    assert "center=" not in line
    line = _design_error([fit_file, "--sweep", N0, D0], capsys)
    assert line.endswith("on the command line: --lr-grid and --batch-grid")
    off = tmp_path / "off.csv"
    _cands(grouped_fit).assign(C=1.0).to_csv(off, index=False)
    line = _design_error([fit_file, "--candidates", off], capsys)
    assert "--compute-model K, for C = K N D FLOPs" in line and "compute_model=" not in line


def test_python_m_design_says_group_and_spread_on_the_command_line(grouped_fit, fit_file):
    """`python -m bayeslaws.app.cli design FIT --isoflop C --spread-decades 30` (no --group):
    the new group's centre warning names --group (not the Python's group= and next_runs, nor a
    --column mapping), and the error line --spread-decades (not spread_decades= or center=)."""
    N0, D0 = _cell(grouped_fit)
    argv = ["design", str(fit_file), "--isoflop", str(6 * N0 * D0), "--spread-decades", "30"]
    done = subprocess.run(
        [sys.executable, "-m", "bayeslaws.app.cli", *argv],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == EXIT_BAD_INPUT, done.stderr[-2000:]
    (warned,) = [s for s in done.stderr.splitlines() if s.startswith("warning: isoflop_cand")]
    assert "on the command line: --group GROUP, one of ['A', 'B']" in warned
    assert "pass group=" not in warned and "next_runs" not in warned
    assert "Python:" not in warned and "--column" not in warned
    line = cli_error_line(done.stderr)
    assert line.startswith("bayeslaws design: error: spread_decades=30.0 around N=")
    assert line.endswith("narrow the spread or move the centre; on the command line: a smaller "
                         "--spread-decades")  # fmt: skip
    assert "Python:" not in line and "center=" not in line
