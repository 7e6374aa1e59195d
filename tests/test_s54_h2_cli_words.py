"""Package messages in the command line's words: a --group the fit does not have was named in
Python's form ("group='DCLM' is not one of the fit's groups ..."), an argument the command line
user never typed."""

from __future__ import annotations

import pytest

from bayeslaws.app.cli.hints import with_cli_hints
from bayeslaws.laws.contract import resolve_group


@pytest.mark.parametrize("command", ["predict", "allocate", "report", "plot", "design"])
@pytest.mark.parametrize(
    "groups, said_after",
    [
        (["comma", "dclm", "nemotron"], " is not one of the fit's groups"),
        ([None], ": this fit was fitted without groups"),
    ],
)
def test_an_unknown_group_is_named_as_the_option_typed(command, groups, said_after):
    with pytest.raises(ValueError) as caught:
        resolve_group(groups, "DCLM")
    said = with_cli_hints(str(caught.value), command)
    assert f"--group 'DCLM'{said_after}" in said, said
    assert "group='DCLM'" not in said, said
