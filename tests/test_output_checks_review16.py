"""Review 16: 'plan --out DIR' and 'demo --out DIR' (and run_planning / run_demo) fitted for
minutes and then failed "the folder 'DIR' is not writable" when DIR existed read-only (mkdir
with exist_ok succeeds on it): the output folder, or the folder above it where it will be
made, is now checked before any fit."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from conftest import cli_error_line, cli_run  # noqa: E402

from bayeslaws.app import demo  # noqa: E402

TARGET = {"target_N": 5e8, "target_D": 2e10, "budget": 1e20}
TARGET_FLAGS = ["--target-N", "5e8", "--target-D", "2e10", "--budget", "1e20"]
TINY = ["--chains", "1", "--warmup", "20", "--draws", "20", "--no-figures"]


@pytest.fixture
def no_fit(monkeypatch):
    """A fit is a test failure: each refusal below comes before it."""

    def fitted(*args, **kwargs):
        raise AssertionError("the run table was fitted before the folder was checked")

    monkeypatch.setattr(demo, "fit_laws", fitted)


def _read_only(monkeypatch, folder):
    """os.access says ``folder`` is not writable (as a read-only folder is, for a non-root
    user); every other path is asked of the real os.access."""
    real = os.access
    folder = os.path.realpath(folder)

    def access(path, mode, *args, **kwargs):
        if mode & os.W_OK and os.path.realpath(path) == folder:
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


def test_run_planning_refuses_an_existing_read_only_folder_before_the_fit(
    small_sweep, no_fit, monkeypatch, tmp_path
):
    out = tmp_path / "ro"
    out.mkdir()
    _read_only(monkeypatch, out)
    with pytest.raises(PermissionError, match=f"the folder {str(out)!r} is not writable"):
        demo.run_planning(out, small_sweep, figures=False, progress=False, quiet=True, **TARGET)
    assert list(out.iterdir()) == []


def test_a_missing_folder_is_checked_in_the_folder_it_will_be_made_in(
    small_sweep, no_fit, monkeypatch, tmp_path
):
    """``out`` does not exist: the nearest existing folder above it, where it will be made,
    must be writable; it is named, and nothing is made."""
    parent = tmp_path / "ro"
    parent.mkdir()
    _read_only(monkeypatch, parent)
    out = parent / "new" / "plan"
    with pytest.raises(PermissionError, match=f"the folder {str(parent)!r} is not writable"):
        demo.run_planning(out, small_sweep, figures=False, progress=False, quiet=True, **TARGET)
    assert not (parent / "new").exists()
    assert demo.check_writable_folder(tmp_path / "fine" / "new") == tmp_path  # writable: passes


@pytest.mark.parametrize("command", ["plan", "demo"])
def test_cli_refuses_a_read_only_out_folder_before_the_fit(
    command, small_sweep, no_fit, monkeypatch, tmp_path, capsys
):
    out = tmp_path / "planro"
    out.mkdir()
    _read_only(monkeypatch, out)
    if command == "plan":
        table = tmp_path / "my_sweep.csv"
        small_sweep.df.drop(columns=["source"], errors="ignore").to_csv(table, index=False)
        argv = ["plan", table, *TARGET_FLAGS, "--out", out, *TINY]
    else:
        argv = ["demo", "--out", out, *TINY]
    code, _, err = cli_run(argv, capsys)
    assert code == 2, err
    line = cli_error_line(err)
    assert f"the folder {str(out)!r} is not writable" in line, line
    assert "fitted before" not in err
    assert list(out.iterdir()) == []


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into read-only folders"
)
def test_a_chmod_read_only_folder_is_refused(small_sweep, no_fit, tmp_path):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        with pytest.raises(PermissionError, match="is not writable"):
            demo.run_planning(
                out, small_sweep, figures=False, progress=False, quiet=True, **TARGET
            )
    finally:
        out.chmod(0o755)
