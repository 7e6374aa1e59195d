"""The command line and run tables after review RA (4): a diverged-runs column under another
name can be mapped (``load_runs(..., diverged=NAME)``, ``--column diverged=NAME``) and an
unmapped one that looks like it is named; errors raised inside the package reach the command
line in its own words; only the TypeErrors and KeyErrors the package raises on purpose are
bad input (others are unexpected errors); and a grouped fit's answers say which runs their
distances are measured from (allocate prints the group, as predict does)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import cli_error_line, cli_run, own_cache, two_scales_runs

import bayeslaws as bl
from bayeslaws.app import cli
from bayeslaws.app.cli import EXIT_BAD_INPUT, EXIT_FAILED, with_cli_hints
from bayeslaws.posterior.allocation import kink_warning
from bayeslaws.runs.table import PlausibilityWarning, RunTableError, format_values

_run = cli_run  # conftest: bayeslaws argv in-process -> (code, stdout, stderr)


def _flagged_runs(column: str = "is_diverged") -> pd.DataFrame:
    """SIMULATED Chinchilla runs (12) with a flags column ``column``: row 3 flagged 'yes', row 7
    'TRUE', the others empty (not diverged)."""
    df = two_scales_runs("small").drop(columns="source").reset_index(drop=True)
    flags = pd.Series([None] * len(df), dtype=object)
    flags[3], flags[7] = "yes", "TRUE"
    return df.assign(**{column: flags})


def _quiet_load(data, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.load_runs(data, **kwargs)


# ---- 1. a diverged-runs column under another name --------------------------------------------
def test_a_flags_column_under_another_name_is_read_when_mapped():
    runs = _quiet_load(_flagged_runs(), diverged="is_diverged")
    assert "is_diverged" not in runs.df
    assert runs.df["diverged"].dtype == bool
    assert runs.df.index[runs.df["diverged"]].tolist() == [3, 7]


def test_an_unmapped_flags_like_column_is_named_with_the_fix_in_both_forms():
    with pytest.warns(PlausibilityWarning, match="'is_diverged' looks like diverged-run flags"):
        runs = bl.load_runs(_flagged_runs())
    assert "diverged" not in runs.df  # kept as an extra, as before, but said
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bl.load_runs(_flagged_runs())
    text = " ".join(str(w.message) for w in caught if "diverg" in str(w.message))
    assert "load_runs(..., diverged='is_diverged')" in text
    assert "--column diverged=is_diverged" in text
    line = with_cli_hints(text, "fit")
    assert "Python:" not in line and "on the command line: --column diverged=is_diverged" in line


def test_a_flags_like_column_beside_a_read_flags_column_names_the_one_read():
    df = _flagged_runs("Is Diverged").assign(diverged=False)
    with pytest.warns(PlausibilityWarning, match="the flags are read from column 'diverged'"):
        bl.load_runs(df)


def test_no_flags_warning_for_a_table_without_such_a_column():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bl.load_runs(_flagged_runs("diverged"))
    assert not [w for w in caught if "looks like diverged-run flags" in str(w.message)]


@pytest.mark.parametrize(
    "kwargs, df_change, match",
    [
        ({"diverged": "nope"}, {}, r"column 'nope' \(given for diverged\) is not in the table"),
        ({"diverged": "loss"}, {}, "column 'loss' is used for both loss and diverged"),
        ({"diverged": "is_diverged"}, {"diverged": False}, "a column 'diverged' besides"),
        (
            {"diverged": "is_diverged"},
            {"is_diverged": "maybe"},
            r"column 'is_diverged' \(diverged\) must hold true/false flags",
        ),
    ],
)
def test_a_bad_flags_mapping_is_an_error_naming_the_column(kwargs, df_change, match):
    df = _flagged_runs().assign(**df_change)
    with pytest.raises(RunTableError, match=match):
        _quiet_load(df, **kwargs)


def test_diverged_takes_a_column_name():
    with pytest.raises(TypeError, match="diverged= takes the name"):
        _quiet_load(_flagged_runs(), diverged=3)


def test_column_diverged_maps_the_flags_on_the_command_line(tmp_path, capsys):
    """--column diverged=NAME is read (it was refused: 'diverged' is not one of ...), so a law
    that fits every run as converged refuses the flagged runs, in command-line words."""
    path = tmp_path / "runs.csv"
    _flagged_runs().to_csv(path, index=False)
    argv = [
        "fit",
        path,
        "--out",
        tmp_path / "f.nc",
        "--column",
        "diverged=is_diverged",
        "--chains",
        "1",
        "--warmup",
        "10",
        "--draws",
        "10",
        "--no-discrepancy",
    ]
    code, _, err = _run(argv, capsys)
    line = cli_error_line(err)
    assert code == EXIT_BAD_INPUT
    assert "flags 2 of 12 runs (rows 3, 7)" in line
    assert "on the command line: --exclude-rows ROWS --exclude-reason TEXT" in line
    assert "Python:" not in line and "runs.exclude(" not in line


# ---- 2. package errors in the command line's words ---------------------------------------------
def test_an_error_raised_inside_fit_gets_the_command_line_form(tmp_path, capsys):
    path = tmp_path / "runs.csv"
    _flagged_runs().drop(columns="is_diverged").to_csv(path, index=False)
    code, _, err = _run(["fit", path, "--law", "sweep", "--out", tmp_path / "f.nc"], capsys)
    line = cli_error_line(err)
    assert code == EXIT_BAD_INPUT
    assert "needs column 'lr'" in line
    assert "on the command line: --lr NAME or --column lr=NAME" in line
    assert "Python:" not in line and "load_runs(" not in line


@pytest.mark.parametrize(
    "message, said, gone",
    [
        (
            "cands['group'] is 'Z' but group='A': ...; make them agree",
            "but --group 'A'",
            "group=",
        ),
        (
            "isoflop_candidates: fit has groups ['A', 'B'] and group=None, so the lines centre "
            "on a NEW group's N_opt",
            "and no --group, so",
            "group=None",
        ),
    ],
)
def test_python_only_phrases_get_the_command_line_words(message, said, gone):
    line = with_cli_hints(message, "design")
    assert said in line and gone not in line


# ---- 3. only deliberate TypeErrors and KeyErrors are bad input ---------------------------------
def _caught(call) -> BaseException:
    try:
        call()
    except Exception as err:  # noqa: BLE001 -- the error itself is what is tested
        return err
    raise AssertionError("no error")


def test_deliberate_type_and_key_errors_are_bad_input_others_are_not():
    deliberate = _caught(lambda: bl.load_runs(_flagged_runs(), units=["N"]))  # a raise TypeError
    assert isinstance(deliberate, TypeError) and cli._bad_input(deliberate)
    in_package = _caught(lambda: format_values(None))  # list(None) inside bayeslaws: a bug
    assert isinstance(in_package, TypeError) and not cli._bad_input(in_package)
    in_pandas = _caught(lambda: pd.DataFrame({"a": [1]})["b"])
    assert isinstance(in_pandas, KeyError) and not cli._bad_input(in_pandas)
    assert cli._bad_input(ValueError("bad"))  # values stay the user's


def test_the_package_raises_no_plain_type_or_key_error():
    """The command line tells the user's input error from a bug by its type: every TypeError or
    KeyError the package raises on purpose is an ArgumentTypeError or UnknownNameError (a plain
    one raised on purpose would be reported as an unexpected error)."""
    import ast
    from pathlib import Path

    package = Path(bl.__file__).parent
    plain = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            exc = node.exc if isinstance(node, ast.Raise) else None
            called = exc.func if isinstance(exc, ast.Call) else exc
            if isinstance(called, ast.Name) and called.id in ("TypeError", "KeyError"):
                plain.append(f"{path.relative_to(package)}:{node.lineno}")
    assert not plain, plain
    scale = bl.laws.contract.Scales({"N": 1.0})
    unknown = _caught(lambda: scale["D"])  # a deliberate KeyError
    assert isinstance(unknown, KeyError) and cli._bad_input(unknown)


def test_an_unexpected_type_error_says_so_with_the_debug_hint(grouped_file, monkeypatch, capsys):
    monkeypatch.setattr(cli, "cmd_predict", lambda args: format_values(None))
    code, _, err = _run(["predict", grouped_file, "--N", "1e9", "--D", "2e10"], capsys)
    line = cli_error_line(err)
    assert code == EXIT_FAILED
    assert "unexpected error (TypeError" in line and "BAYESLAWS_DEBUG=1" in line


def test_a_deliberate_type_error_stays_bad_input(grouped_file, monkeypatch, capsys):
    monkeypatch.setattr(cli, "cmd_predict", lambda args: bl.load_runs(_flagged_runs(), units=[1]))
    code, _, err = _run(["predict", grouped_file, "--N", "1e9", "--D", "2e10"], capsys)
    line = cli_error_line(err)
    assert code == EXIT_BAD_INPUT
    assert "error: units must be a dict" in line and "unexpected" not in line


# ---- 4. a grouped fit's distances: which group's range -----------------------------------------
@pytest.fixture(scope="module")
def grouped_file(two_scales_fits, tmp_path_factory):
    """The fit of groups 'small' and 'large' (conftest TWO_SCALES), saved."""
    path = tmp_path_factory.mktemp("review4") / "two_scales.nc"
    own_cache(two_scales_fits[0]).save(path)
    return path


def test_allocate_prints_the_group_and_whose_range_the_distances_are_from(grouped_file, capsys):
    code, out, err = _run(["allocate", grouped_file, "--C", "1e19", "--group", "small"], capsys)
    assert code == 0
    header = out.splitlines()[0].split()
    assert header[0] == "group" and out.splitlines()[1].split()[0] == "small"
    assert "from group 'small''s fitted range (its own runs only)" in err


def test_predict_says_whose_range_the_distances_are_from(grouped_file, capsys):
    argv = ["predict", grouped_file, "--N", "1e9", "--D", "2e10", "--extrapolation", "none"]
    code, _, err = _run([*argv, "--group", "large"], capsys)
    assert code == 0 and "from group 'large''s fitted range (its own runs only)" in err
    code, _, err = _run(argv, capsys)  # a new group: every group's runs
    assert code == 0 and "from the fitted range (pooled over every group's runs)" in err


def test_no_range_note_for_a_fit_without_groups(two_scales_fits, tmp_path, capsys):
    path = tmp_path / "small.nc"
    own_cache(two_scales_fits[1]).save(path)
    code, _, err = _run(["allocate", path, "--C", "1e19"], capsys)
    assert code == 0 and "distances in decades" not in err


def test_optimal_allocation_has_the_group_column_only_with_a_group(two_scales_fits):
    fit = own_cache(two_scales_fits[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        own = bl.optimal_allocation(fit, C=[1e19, 1e20], group="small")
        new = bl.optimal_allocation(fit, C=[1e19])
    assert own.columns[0] == "group" and own["group"].tolist() == ["small", "small"]
    assert "group" not in new


def test_the_drift_kink_warning_names_the_groups_own_range(two_scales_fits):
    """N_opt draws at group 'small''s largest N, on a budget past its corner, sit at the kink
    of the drift measured from 'small''s own runs: the warning says so (it said 'the fitted
    range', the pooled one, which is 30x larger in N)."""
    fit = own_cache(two_scales_fits[0])
    n_hi, d_hi = 3e8, 1e10  # group 'small''s largest N and D (conftest TWO_SCALES)
    C = np.array([6 * n_hi * d_hi * 4.0])
    at_kink = np.full((10, 1), n_hi)
    model = fit.compute_model
    message = kink_warning(fit, C, at_kink, model, "drift", "optimal_allocation", "small")
    assert "leaves group 'small''s fitted range of N or D" in message
    pooled = kink_warning(fit, C, np.full((10, 1), 1e10), model, "drift", "optimal_allocation")
    assert "leaves the fitted range of N or D" in pooled
