"""``cells.rounded_twins`` looks each value's shorter roundings up among the values instead of
comparing every pair within NEAR_RTOL (quadratic in the values crowded that close, e.g. D
computed per run and jittered by <= 0.5%: load_runs took seconds on 3,000 rows). Its answer is
the old function's (kept here as the reference) on randomised SIMULATED values and on the edge
cases: exact duplicates, values exactly NEAR_RTOL or CELL_RTOL apart, NaN, a single value, one
crowded cluster. The work per value no longer grows with how many values sit close to it
(counted calls, no timing). Nothing is sampled."""

from __future__ import annotations

import numpy as np
import pytest

from bayeslaws.runs import cells


# ---- the reference: rounded_twins as it was (commit f59c310), pair by pair --------------------
def reference_rounding_of(a: float, b: float) -> tuple[float, float] | None:
    """(rounded, full) when one of two values is the other rounded to its own significant
    digits, else None (the old ``cells._rounding_of``)."""
    digits_a, digits_b = cells.significant_digits(a), cells.significant_digits(b)
    if digits_a == digits_b:
        return None
    short, full, digits = (a, b, digits_a) if digits_a < digits_b else (b, a, digits_b)
    return (short, full) if float(f"{full:.{digits}g}") == short else None


def reference_rounded_twins(values) -> list[tuple[float, float]]:
    """The old ``cells.rounded_twins``: every pair of sorted distinct values within NEAR_RTOL."""
    v = np.unique(cells.positive_values("values", values))
    if len(v) < 2:
        return []
    ids = cells.same_value_ids(v)
    pairs = []
    for i in np.flatnonzero(v[1:] <= v[:-1] * (1 + cells.NEAR_RTOL)):
        j = i + 1
        while j < len(v) and v[j] <= v[i] * (1 + cells.NEAR_RTOL):
            pair = reference_rounding_of(v[i], v[j]) if ids[j] != ids[i] else None
            if pair is not None:
                pairs.append(pair)
            j += 1
    return sorted(pairs)


# ---- randomised values ---------------------------------------------------------------------------
def crowded_values(rng: np.random.Generator, n: int) -> np.ndarray:
    """SIMULATED: ``n`` values (params or tokens) around a few sizes, jittered by up to 1.5%
    (so many lie within NEAR_RTOL of each other), a third of them also written rounded to 1-6
    significant digits, some exact repeats, some nudged by less than CELL_RTOL."""
    sizes = rng.choice([1e8, 2.15e8, 4.3e8, 1e9, 7e10], n)
    values = sizes * (1 + rng.uniform(-0.015, 0.015, n))
    values[: n // 4] = np.round(values[: n // 4])  # whole counts (integers, up to 11 digits)
    picked = rng.choice(values, n // 3)
    digits = rng.integers(1, 7, n // 3)
    rounded = np.array([float(f"{x:.{d}g}") for x, d in zip(picked, digits, strict=True)])
    nudged = rng.choice(values, n // 10) * (1 + rng.uniform(-0.9e-6, 0.9e-6, n // 10))
    return rng.permutation(np.r_[values, rounded, nudged, rng.choice(values, n // 10)])


@pytest.mark.parametrize("seed", range(8))
def test_same_twins_as_the_pairwise_reference_on_randomised_values(seed):
    values = crowded_values(np.random.default_rng(seed), 300)
    expected = reference_rounded_twins(values)
    assert expected, "the randomised values hold no twins: the comparison would say nothing"
    assert cells.rounded_twins(values) == expected


def test_same_twins_on_many_values_in_one_cluster():
    """600 values within 1% of one size (D computed per run around one budget), some rounded."""
    rng = np.random.default_rng(11)
    values = 4.3e8 * (1 + rng.uniform(0, 0.01, 600))
    values = np.r_[np.round(values[:300]), values[300:]]
    digits = np.arange(60) % 6 + 1  # 1 to 6 significant digits
    rounded = [float(f"{x:.{d}g}") for x, d in zip(values[:60], digits, strict=True)]
    values = np.r_[values, rounded]
    expected = reference_rounded_twins(values)
    assert len(expected) >= 5
    assert cells.rounded_twins(values) == expected


# ---- edge cases ----------------------------------------------------------------------------------
EDGES = {
    "empty": [],
    "single value": [2.15e8],
    "single value repeated": [2.15e8, 2.15e8, 2.15e8],
    "exact duplicates of a twin pair": [2.15e8, 214663680.0, 2.15e8, 214663680.0, 214663680.0],
    "rounding exactly NEAR_RTOL above": [1e8, 1e8 * (1 + cells.NEAR_RTOL)],
    "rounding just beyond NEAR_RTOL": [1e8, 1.0100001e8],
    "whole count exactly NEAR_RTOL above": [1e8, 101000000.0],
    "rounding CELL_RTOL apart": [1e9, 1e9 * (1 + cells.CELL_RTOL)],
    "rounding within CELL_RTOL (one cell)": [1e9, 1e9 * (1 + 0.5e-6)],
    "full value below its rounding": [2.15e8, 214963680.0],
    "rounding that writes shorter": [2.1e8, 210000001.0, 210004000.0],
    "chain of roundings": [2e8, 2.0e8 + 1e5, 2.001e8 + 2e3, 200102002.0, 2.01e8],
    "twins far from the others": [1e3, 1.5e3, 2.15e8, 214663680.0, 1e12],
    "subnormal and tiny": [5e-324, 1e-300, 1.004e-300],
}


@pytest.mark.parametrize("name", list(EDGES))
def test_same_twins_as_the_reference_on_edge_cases(name):
    values = EDGES[name]
    assert cells.rounded_twins(values) == reference_rounded_twins(values)


def test_the_edge_cases_include_found_and_refused_twins():
    """The edge cases are not all empty answers: the boundaries fall on both sides."""
    found = {name: reference_rounded_twins(values) for name, values in EDGES.items()}
    assert found["exact duplicates of a twin pair"] == [(2.15e8, 214663680.0)]
    assert found["rounding CELL_RTOL apart"] == [(1e9, 1e9 * (1 + cells.CELL_RTOL))]
    assert found["rounding within CELL_RTOL (one cell)"] == []
    assert found["rounding just beyond NEAR_RTOL"] == []
    assert found["full value below its rounding"] == [(2.15e8, 214963680.0)]
    assert len(found["chain of roundings"]) >= 3


@pytest.mark.parametrize("bad", [np.nan, np.inf, 0.0, -2.15e8])
def test_bad_values_raise_the_same_error(bad):
    values = [2.15e8, bad, 214663680.0]
    with pytest.raises(ValueError) as old:
        reference_rounded_twins(values)
    with pytest.raises(ValueError) as new:
        cells.rounded_twins(values)
    assert str(new.value) == str(old.value)
    assert "positions [1]" in str(new.value)


# ---- the work grows with the values, not with the close pairs ----------------------------------
def digit_counts(monkeypatch, values) -> int:
    """How many times ``rounded_twins(values)`` asks a value's significant digits."""
    calls = []
    real = cells.significant_digits

    def counted(value):
        calls.append(value)
        return real(value)

    monkeypatch.setattr(cells, "significant_digits", counted)
    cells.rounded_twins(values)
    monkeypatch.setattr(cells, "significant_digits", real)
    return len(calls)


def test_work_per_value_does_not_grow_with_a_crowded_cluster(monkeypatch):
    """4x the values in one cluster (all within NEAR_RTOL of each other): the old function
    compared every pair (16x the digit counts); now each value is looked at a bounded number
    of times (about 4x)."""
    rng = np.random.default_rng(3)
    cluster = 1e9 * (1 + rng.uniform(0, 0.005, 800))
    few, many = digit_counts(monkeypatch, cluster[:200]), digit_counts(monkeypatch, cluster)
    assert many <= 5 * few, (few, many)
