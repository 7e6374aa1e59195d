"""simulate_grid's cells: N and D of different lengths are a ValueError naming both and their
lengths (never numpy's broadcast error, never a silent broadcast of a length-1 list); a number
for N or D is still one value shared by every cell. SIMULATED data, no sampling."""

from __future__ import annotations

import pytest

from bayeslaws.runs import simulate as sim

TRUTH = sim.VideoDiTTruth()


@pytest.mark.parametrize(
    ("N", "D", "lengths"),
    [
        ([1e8, 2e8, 4e8], [4e9, 8e9], (3, 2)),
        ([1e8, 2e8], [4e9], (2, 1)),
        ([1e8], [4e9, 8e9, 1.6e10], (1, 3)),
    ],
)
def test_cells_of_different_lengths_name_N_and_D(N, D, lengths):
    n_len, d_len = lengths
    pattern = rf"N and D must have equal lengths.*N of length {n_len} and D of length {d_len}"
    with pytest.raises(ValueError, match=pattern):
        sim.simulate_grid(TRUTH, N, D, [1e-4], [1e5], seed=0)


def test_a_number_is_shared_by_every_cell():
    for N, D in (([1e8, 2e8], 4e9), (1e8, [4e9, 8e9])):
        df = sim.simulate_grid(TRUTH, N, D, [1e-4], [1e5], seed=0)
        assert len(df) == 2
        assert df[["N", "D"]].drop_duplicates().shape[0] == 2


def test_two_dimensional_cells_are_refused_by_name():
    """Shapes that do not broadcast are named too (not numpy's broadcast error)."""
    N, D = [[1e8, 2e8], [3e8, 4e8]], [4e9, 8e9, 1.6e10]
    with pytest.raises(ValueError, match=r"N and D must be scalars or 1-D arrays.*\(2, 2\)"):
        sim.simulate_grid(TRUTH, N, D, [1e-4], [1e5], seed=0)
