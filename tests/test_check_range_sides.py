"""check_range names a far value on each side of the fitted range: a query with sizes both far
below and far above (two unit slips, or a slip and a real far extrapolation) warns about each,
where it named only the first far value before."""

import warnings

import numpy as np

import bayeslaws as bl
from bayeslaws.runs import PlausibilityWarning


def _plausibility(call) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(w.message) for w in caught if issubclass(w.category, PlausibilityWarning)]


def test_far_values_on_both_sides_are_each_named(simulated_fit):
    low, high = (float(v) for v in simulated_fit.record.ranges["N"])
    sizes = [low * 2, high * 1e7, low * 1e-5, high * 1e8]  # limits: 3 below, 6 above
    messages = _plausibility(lambda: bl.predict(simulated_fit, N=sizes, D=1e10))
    on_n = [m for m in messages if m.startswith("N = ")]
    assert len(on_n) == 2, messages
    below, above = on_n
    assert below.startswith(f"N = {low * 1e-5:.3g} (positions [2]) lies") and "(below)" in below
    assert above.startswith(f"N = {high * 1e7:.3g} (positions [1, 3]) lies") and "(above)" in above


def test_one_side_gives_one_message(simulated_fit):
    high = float(simulated_fit.record.ranges["N"][1])
    sizes = [high * 1e7, high * 1e8]
    on_n = [m for m in _plausibility(lambda: bl.predict(simulated_fit, N=sizes, D=1e10))
            if m.startswith("N = ")]  # fmt: skip
    assert len(on_n) == 1 and "(positions [0, 1])" in on_n[0], on_n


def test_the_decades_are_the_sides_own(simulated_fit):
    low, decades = float(simulated_fit.record.ranges["N"][0]), 3.5
    size = low / 10**decades
    (message,) = [m for m in _plausibility(lambda: bl.predict(simulated_fit, N=size, D=1e10))
                  if m.startswith("N = ")]  # fmt: skip
    assert f"lies {decades:.1f} decades outside" in message, message
    assert np.isclose(float(message.split("lies ")[1].split(" ")[0]), decades)
