"""Fit files (review 16): a save removes the stale temporary files a killed save left, keeps a
symbolic link, expands '~' (so does load_fit), and names a file standing where a folder should;
a fit file cut short loads with its one-line error and nothing printed after it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.inference import IncompatibleFitFile
from bayeslaws.inference.exported import STALE_TMP_S
from bayeslaws.inference.fit import check_output_path


def _aged(path, seconds: float):
    """``path`` created (empty) and last written ``seconds`` ago."""
    path.write_bytes(b"")
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def test_a_save_removes_the_stale_temporaries_of_its_name_and_keeps_young_ones(
    simulated_fit, tmp_path
):
    """A save killed by SIGTERM/SIGKILL leaves ``.NAME.<random>.tmp``: the next save to NAME
    removes it once stale; a young one (another process's save in progress) and another
    name's are kept."""
    stale = _aged(tmp_path / ".fit.nc.k1ll3d_x.tmp", STALE_TMP_S + 60)
    young = _aged(tmp_path / ".fit.nc.inprogr.tmp", 0)
    other = _aged(tmp_path / ".other.nc.k1ll3d_x.tmp", STALE_TMP_S + 60)
    simulated_fit.save(tmp_path / "fit.nc")
    assert not stale.exists()
    assert young.exists() and other.exists()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [".fit.nc.inprogr.tmp", ".other.nc.k1ll3d_x.tmp", "fit.nc"]


def test_an_output_path_under_a_file_says_it_is_a_file_not_a_folder(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for path in (afile / "fit.nc", afile / "sub" / "fit.nc"):
        with pytest.raises(NotADirectoryError, match="is a file, not a folder") as caught:
            check_output_path(path)
        assert repr(str(afile)) in str(caught.value)
        assert "does not exist" not in str(caught.value)


def test_save_and_load_fit_expand_a_leading_tilde(simulated_fit, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "fits").mkdir()
    written = simulated_fit.save("~/fits/x.nc")
    assert written == tmp_path / "fits" / "x.nc"
    assert written.is_file() and not (tmp_path / "~").exists()
    loaded = bl.load_fit("~/fits/x.nc")
    np.testing.assert_array_equal(loaded.draws()["alpha"], simulated_fit.draws()["alpha"])


def test_a_missing_tilde_folder_says_tilde_was_not_expanded(tmp_path, monkeypatch):
    """check_output_path (the CLI's check of --out=~/...) takes '~' as written and says so."""
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="'~' was not expanded"):
        check_output_path("~/nowhere/x.nc")


def test_saving_over_a_symbolic_link_replaces_the_file_it_points_to(simulated_fit, tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "fit.nc"
    target.write_bytes(b"cut short")  # a *.nc file may be replaced whatever it holds
    link = tmp_path / "link.nc"
    link.symlink_to(target)
    assert simulated_fit.save(link) == link
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert bl.load_fit(target).draws()["alpha"].shape == simulated_fit.draws()["alpha"].shape
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.nc", "real"]
    assert [p.name for p in (tmp_path / "real").iterdir()] == ["fit.nc"]


HALF_WRITTEN = textwrap.dedent(
    """
    import sys
    import bayeslaws as bl
    from bayeslaws.inference import IncompatibleFitFile
    try:
        bl.load_fit(sys.argv[1])
    except IncompatibleFitFile as err:
        print(err)
    """
)


def _half_written(path) -> None:
    """A netCDF file whose root group's object header is damaged, as a save killed part-way
    leaves it: HDF5 opens it, h5netcdf's File fails while it is being built."""
    import xarray as xr

    xr.Dataset({"x": ("a", np.arange(5.0))}).to_netcdf(path, engine="h5netcdf")
    data = bytearray(path.read_bytes())
    data[data.index(b"OHDR")] ^= 0xFF  # the first object header: the root group's
    path.write_bytes(bytes(data))


@pytest.mark.slow  # a new process
def test_a_half_written_fit_file_loads_with_its_error_and_nothing_after_it(tmp_path):
    path = tmp_path / "trunc.nc"
    _half_written(path)
    with pytest.raises(IncompatibleFitFile, match="not a readable fit file"):
        bl.load_fit(path)
    env = {**os.environ, "BAYESLAWS_QUIET": "1"}
    done = subprocess.run(
        [sys.executable, "-c", HALF_WRITTEN, str(path)], env=env, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "is not a readable fit file" in done.stdout
    assert "Exception ignored" not in done.stderr, done.stderr[-2000:]
    assert "_writable" not in done.stderr
