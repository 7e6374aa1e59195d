"""``bayeslaws plan --group``: the run table's route reads the group as planning reads the saved
fits' (7.0 is the group '7', a misspelt group gets "did you mean"), and the group messages the
command line reaches keep its own words (--group, no Python remedy)."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import cli_error_line, cli_run, small_sweep_grid  # noqa: E402

from bayeslaws.app import demo, plan  # noqa: E402

PLAN = ["--target-N", "1e9", "--target-D", "2e10", "--budget", "1e21", "--no-figures"]


class Fitted(Exception):
    """Raised in place of the fit: the checks before it passed."""


def _grouped_table(tmp_path, labels) -> str:
    grid = small_sweep_grid()
    table = tmp_path / "runs.csv"
    pd.concat([grid.assign(group=label) for label in labels]).to_csv(table, index=False)
    return table


def _no_fit(monkeypatch):
    def fitted(*args, **kwargs):
        raise Fitted

    monkeypatch.setattr(demo, "fit_laws", fitted)


def test_plan_reads_a_tables_group_given_as_a_float_as_the_group(tmp_path, monkeypatch, capsys):
    _no_fit(monkeypatch)
    table = _grouped_table(tmp_path, [7, 8])
    argv = ["plan", table, *PLAN, "--route", "best-cell", "--group", "7.0"]
    _, _, err = cli_run([*argv, "--out", tmp_path / "plan"], capsys)
    assert "(Fitted" in err, err  # past the group check, to the fit (the CLI says any error)


def test_plan_names_the_tables_group_close_to_a_misspelt_one(tmp_path, monkeypatch, capsys):
    _no_fit(monkeypatch)
    table = _grouped_table(tmp_path, ["comma", "dclm"])
    code, _, err = cli_run(
        ["plan", table, *PLAN, "--group", "dclmm", "--out", tmp_path / "plan"], capsys
    )
    line = cli_error_line(err)
    assert code == 2, err
    assert "--group 'dclmm' is not one of the run table's groups" in line, line
    assert "did you mean 'dclm'?" in line, line


def _saved_fits(monkeypatch, hp_groups, surface_groups):
    """Two "fits" whose groups are all planning's group check reads; the other checks of
    saved fits are not this test's (``check_planning`` keeps the group check only)."""
    fits = iter([SimpleNamespace(groups=hp_groups), SimpleNamespace(groups=surface_groups)])
    monkeypatch.setattr("bayeslaws.app.cli.job_commands.load_fit", lambda path: next(fits))
    monkeypatch.setattr(demo, "route_of", lambda *fits: "best-cell")

    def group_only(hp_fit, surface_fit, target_N, target_D, budget, group=None):
        plan.check_planning_group(hp_fit, surface_fit, group)
        raise AssertionError("the group check passed")

    monkeypatch.setattr(plan, "check_planning", group_only)


@pytest.mark.parametrize(
    "surface_groups, group, said, not_said",
    [
        ([None], ["--group", "a"],
         "--group 'a': the fits were fitted without groups; on the command line: give no "
         "--group", "pass no group"),
        (["A", "B"], [],
         "no --group: surface_fit is a fit of 2 groups ['A', 'B'], and planning answers for one "
         "fitted group; on the command line: --group A", "fit.groups"),
        (["A", "B"], ["--group", "Z"], "--group 'Z' is not one of surface_fit's groups",
         "group='Z'"),
    ],
)  # fmt: skip
def test_plan_says_the_saved_fits_group_messages_in_command_line_words(
    surface_groups, group, said, not_said, tmp_path, monkeypatch, capsys
):
    _saved_fits(monkeypatch, [None], surface_groups)
    for name in ("hp.nc", "surface.nc"):
        (tmp_path / name).write_text("")
    argv = ["plan", tmp_path / "hp.nc", tmp_path / "surface.nc", *PLAN, *group]
    code, _, err = cli_run([*argv, "--out", tmp_path / "plan"], capsys)
    line = cli_error_line(err)
    assert code == 2, err
    assert said in line and not_said not in line and "Python" not in line, line
    assert "group=None" not in line, line
