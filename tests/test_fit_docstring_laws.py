"""``help(bl.fit)`` names every built-in law of ``bl.laws.LAWS`` and says where a law's options
are documented; that place (the law's module docstring) does document each option, and an
unknown option's error lists the law's options. No sampling."""

from __future__ import annotations

import sys

import pytest

import bayeslaws as bl
from bayeslaws.laws import LAWS, is_builtin
from bayeslaws.runs.checks import ArgumentTypeError

BUILTIN = {name: law for name, law in LAWS.items() if is_builtin(type(law))}


def test_fit_docstring_names_every_builtin_law():
    doc = bl.fit.__doc__
    missing = [name for name in BUILTIN if f'"{name}"' not in doc]
    assert not missing, f"bl.fit's docstring does not name the laws {missing}"
    assert "LAWS[name].options" in doc and "help(type(bl.laws.LAWS[name]).__module__)" in doc


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_each_option_is_documented_where_fit_says(name):
    law = BUILTIN[name]
    module_doc = sys.modules[type(law).__module__].__doc__ or ""
    undocumented = [option for option in law.options if option not in module_doc]
    assert not undocumented, f"law {name!r}: options {undocumented} not in its module docstring"


@pytest.mark.parametrize("name", sorted(n for n, law in BUILTIN.items() if law.options))
def test_an_unknown_option_lists_the_laws_options(name):
    with pytest.raises(ArgumentTypeError) as err:
        bl.fit("runs.csv", law=name, no_such_option=1)
    for option in BUILTIN[name].options:
        assert repr(option) in str(err.value)
