"""Both prior messages that say what a parameter must be word its constraint alike:
check_parameters (a prior built with numpyro's validation off) and parse_prior's refusal."""

from __future__ import annotations

import numpyro.distributions as dist
import pytest

from bayeslaws.laws import priors


def test_check_parameters_and_parse_prior_word_a_bad_scale_alike():
    bad = dist.Normal(0.0, -1.0, validate_args=False)
    with pytest.raises(ValueError, match=r"Normal's scale is -1: it must be positive \(> 0\)"):
        priors.check_parameters(bad)
    with pytest.raises(ValueError, match=r"scale=-1 is invalid: it must be positive \(> 0\)"):
        priors.parse_prior("alpha=Normal(0, -1)")
