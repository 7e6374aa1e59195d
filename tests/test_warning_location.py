"""Warnings raised deep inside the package point at the user's line (bayeslaws.runs.warn): the
sampler check's SamplerWarning named a package line (inference/nuts.py) from bl.fit, since its
fixed stacklevel was one frame short of bl.fit and other paths sit at other depths."""

from __future__ import annotations

import warnings

from conftest import two_scales_runs

import bayeslaws as bl
from bayeslaws.inference.diagnostics import SamplerWarning
from bayeslaws.runs.warn import user_stacklevel, warn_user


def _located(category, caught) -> list:
    return [w.filename for w in caught if issubclass(w.category, category)]


def test_sampler_warning_of_fit_points_at_the_callers_line():
    """Too few draws for the sampler check (1 chain x 30 + 30): its SamplerWarning from bl.fit
    is located in this file (it named inference/nuts.py)."""
    runs = two_scales_runs("small")
    tiny = {"likelihood": "gaussian", "seed": 0, "chains": 1, "warmup": 30, "draws": 30}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bl.fit(runs, law="chinchilla", **tiny)
    assert _located(SamplerWarning, caught), [str(w.message) for w in caught]
    assert set(_located(SamplerWarning, caught)) == {__file__}


def _package_function_that_warns():
    """Stands in for a package function: this test module is outside the package, so the
    warning is located at the line that called this function."""
    warn_user("from inside", UserWarning)


def test_warn_user_outside_the_package_is_its_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _package_function_that_warns()
    assert caught[0].filename == __file__
    assert caught[0].lineno == _package_function_that_warns.__code__.co_firstlineno + 3
    assert user_stacklevel() == 1  # this test is outside the package: its own line
