"""A law option the command line could not give: a pair of numbers (``--option
optima_drift=0.5,0.3`` for law sweep, read as text and refused). A dict (law
hyperparams_two_stage's ``terms``) is Python-only, as --option's help says."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from conftest import cli_error_line, cli_run  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws.app.cli import EXIT_BAD_INPUT  # noqa: E402
from bayeslaws.app.cli.errors import CLIError  # noqa: E402
from bayeslaws.app.cli.values import law_options, unit_multipliers  # noqa: E402
from bayeslaws.laws import resolve_law  # noqa: E402
from bayeslaws.runs.bundled import bundled_path  # noqa: E402


def test_comma_separated_numbers_are_read_as_a_tuple_of_floats():
    """A pair is a tuple of floats; one number stays a float, text (with commas too) text."""
    parsed = law_options(["optima_drift=0.5,0.3", "fence=2", "surface=chinchilla", "x=a,b"])
    assert parsed == {"optima_drift": (0.5, 0.3), "fence": 2.0, "surface": "chinchilla",
                      "x": "a,b"}  # fmt: skip
    assert law_options(["optima_drift=1e-1, 2"]) == {"optima_drift": (0.1, 2.0)}


def test_units_keep_reading_one_number_or_a_word():
    """--units takes no lists: '1,000' stays the text the package names as an unknown unit."""
    assert unit_multipliers(["N=1,000", "D=2"]) == {"N": "1,000", "D": 2.0}


def test_an_optima_drift_pair_configures_law_sweep():
    law = resolve_law("sweep", law_options(["optima_drift=0.5,0.3"]))
    assert law.options["optima_drift"] == [0.5, 0.3]


def test_the_cli_passes_the_pair_to_the_fit(monkeypatch, capsys, tmp_path):
    """``bayeslaws fit RUNS --law sweep --option optima_drift=0.5,0.3`` reaches bl.fit with the
    pair (the fit itself is stopped there: sampling is not what is tested)."""
    seen = {}

    def stopped_fit(runs, **kwargs):
        seen.update(kwargs)
        raise CLIError("stopped before sampling")

    monkeypatch.setattr(bl, "fit", stopped_fit)
    argv = ["fit", bundled_path("video_dit_sweep_simulated"), "--law", "sweep",
            "--option", "optima_drift=0.5,0.3", "--out", tmp_path / "fit.nc"]  # fmt: skip
    code, _, err = cli_run(argv, capsys)
    assert "stopped before sampling" in cli_error_line(err), err
    assert seen["law"] == "sweep"
    assert seen["law_options"] == {"optima_drift": (0.5, 0.3)}
    assert resolve_law("sweep", seen["law_options"]).options["optima_drift"] == [0.5, 0.3]


@pytest.mark.parametrize("value", ["0.5,x", "0.5,"])
def test_a_pair_with_an_item_not_a_number_names_the_option(value, capsys, tmp_path):
    argv = ["fit", bundled_path("video_dit_sweep_simulated"), "--law", "sweep",
            "--option", f"optima_drift={value}", "--out", tmp_path / "fit.nc"]  # fmt: skip
    code, _, err = cli_run(argv, capsys)
    line = cli_error_line(err)
    assert code == EXIT_BAD_INPUT
    assert f"--option optima_drift={value}" in line
    assert "comma-separated" in line
    assert not (tmp_path / "fit.nc").exists()
