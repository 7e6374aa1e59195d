"""``bayeslaws plan`` on a run table takes the law options and the screening its own warnings
advise: on Step Law's sweep the hyperparams law said "on the command line: --option
far_above=0.03" and the screening "(or --screen exclude)", and plan refused both as
unrecognized arguments."""

from __future__ import annotations

import pytest
from conftest import cli_error_line, cli_run

from bayeslaws.app import demo

TARGET = ["--target-N", "5e8", "--target-D", "2e10", "--budget", "1e20", "--no-figures"]
TINY = ["--chains", "1", "--warmup", "10", "--draws", "10"]


def _table(small_sweep, tmp_path):
    path = tmp_path / "my_sweep.csv"
    small_sweep.df.drop(columns=["source"], errors="ignore").to_csv(path, index=False)
    return path


def _probe(monkeypatch) -> list:
    """The settings of each fit the plan starts (law, law_options, screen), the first fit
    stopped with a ValueError (read as bad input: exit 2) so that nothing is sampled."""
    seen = []

    def stop(runs, law="chinchilla", **kwargs):
        seen.append({"law": law, **kwargs})
        raise ValueError("probe: stopped at the first fit")

    monkeypatch.setattr(demo, "fit", stop)
    return seen


@pytest.mark.parametrize(
    "route, law, option, expected",
    [
        ("best-cell", "hyperparams", "far_above=0.03", {"far_above": 0.03}),
        ("joint", "sweep", "fence=None", {"fence": None}),
    ],
)
def test_plan_passes_option_and_screen_to_the_law_fitted_to_every_run(
    route, law, option, expected, small_sweep, tmp_path, monkeypatch, capsys
):
    seen = _probe(monkeypatch)
    argv = ["plan", _table(small_sweep, tmp_path), *TARGET, "--route", route, "--option", option,
            "--screen", "exclude", "--out", tmp_path / "plan", *TINY]  # fmt: skip
    code, _, err = cli_run(argv, capsys)
    assert code == 2 and "probe: stopped" in cli_error_line(err), err
    assert seen and seen[0]["law"] == law, seen
    assert seen[0]["law_options"] == expected and seen[0]["screen"] == "exclude", seen


def test_plan_refuses_an_unknown_law_option_before_the_fit(
    small_sweep, tmp_path, monkeypatch, capsys
):
    seen = _probe(monkeypatch)
    argv = ["plan", _table(small_sweep, tmp_path), *TARGET, "--route", "best-cell",
            "--option", "no_such_option=1", "--out", tmp_path / "plan", *TINY]  # fmt: skip
    code, _, err = cli_run(argv, capsys)
    line = cli_error_line(err)
    assert code == 2 and "no_such_option" in line and "for law 'hyperparams'" in line, err
    assert not seen and not (tmp_path / "plan").exists()


@pytest.mark.parametrize("given", [["--option", "far_above=0.03"], ["--screen", "exclude"]])
def test_plan_refuses_fit_settings_with_saved_fits(given, tmp_path, capsys):
    """Saved fits are fitted already: the settings are refused, naming the option and the way
    to apply it (refit with 'bayeslaws fit'), before the fit file is read."""
    saved = tmp_path / "sweep_fit.nc"
    saved.write_bytes(b"")  # never read: refused before
    code, _, err = cli_run(["plan", saved, *TARGET, *given], capsys)
    line = cli_error_line(err)
    assert code == 2, err
    assert f"{given[0]} configures the fits of a run table" in line, line
    assert f"bayeslaws fit ... {given[0]}" in line, line
