"""bayeslaws.runs.warn tells package code from the user's by path components: a user folder
beside the package (``bayeslaws_notebooks``) is the user's, and its warnings name its own line."""

from __future__ import annotations

import warnings

from bayeslaws.runs import simulate as sim
from bayeslaws.runs import warn


# -- warn: inside the package by path components, not by text prefix ---------------------------
def test_a_sibling_folder_of_the_package_is_not_package_code():
    sibling = str(warn.PACKAGE_PATH) + "_notebooks/analysis.py"
    assert not warn._inside_package(sibling)
    assert not warn._inside_package(str(warn.PACKAGE_PATH) + "2/x.py")
    assert warn._inside_package(sim.__file__)
    assert warn._inside_package(str(warn.PACKAGE_PATH / "runs" / "not_a_module_yet.py"))
    assert not warn._inside_package("<stdin>")


def _warn_from(filename: str) -> warnings.WarningMessage:
    """The warning of a ``warn_user`` call made by code whose frames name ``filename``."""
    code = compile("def cell():\n    warn_user('here', UserWarning)\n", filename, "exec")
    space = {"warn_user": warn.warn_user}
    exec(code, space)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        space["cell"]()
    assert len(caught) == 1
    return caught[0]


def test_a_warning_from_a_sibling_folder_points_at_its_own_line():
    """Code in ``.../bayeslaws_notebooks`` is the user's: the warning names its line (it named
    this test file, one frame further out)."""
    sibling = str(warn.PACKAGE_PATH) + "_notebooks/analysis.py"
    caught = _warn_from(sibling)
    assert (caught.filename, caught.lineno) == (sibling, 2)


def test_a_warning_from_package_code_still_points_past_it():
    inside = str(warn.PACKAGE_PATH / "runs" / "_stand_in.py")
    assert _warn_from(inside).filename == __file__
