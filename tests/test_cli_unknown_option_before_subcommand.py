"""An unknown option given before the subcommand is reported as the top level's."""

from __future__ import annotations

from bayeslaws.app import cli


def test_an_unknown_option_before_the_subcommand_is_the_top_levels(capsys):
    code = cli.main(["--foo", "fit", "x.csv", "--out", "a.nc"])
    err = capsys.readouterr().err
    assert code != 0
    assert "--foo (given before the command 'fit'; see 'bayeslaws --help')" in err
    assert "bayeslaws fit --help" not in err
