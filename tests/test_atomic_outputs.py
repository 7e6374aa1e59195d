"""The command line's and the writers' output files (CSV tables, text and HTML reports,
figures) were written in place: a write killed part-way (Ctrl-C, SIGTERM, a full disk) left a
truncated next_runs.csv, report.txt or figure that looked complete. Each is now written to a
temporary file in its folder and renamed over the earlier file: a write that fails part-way
leaves the earlier file whole and no temporary file behind."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import cli_run  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from bayeslaws import plot  # noqa: E402
from bayeslaws.app import demo  # noqa: E402
from bayeslaws.app.report import Report, Section, write_html  # noqa: E402

TARGET = {"target_N": 5e8, "target_D": 2e10, "budget": 1e20}


def disk_full() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def write_half(target, data) -> None:
    """Write the first half of ``data`` (str or bytes) to ``target``: a path, or an open handle
    (text or binary), as a write cut short by a full disk would."""
    half = data[: len(data) // 2]
    if isinstance(target, (str, os.PathLike)):
        with open(target, "w" if isinstance(half, str) else "wb") as handle:
            handle.write(half)
        return
    if isinstance(target, io.TextIOBase):
        target.write(half if isinstance(half, str) else half.decode())
    else:
        target.write(half.encode() if isinstance(half, str) else half)
    target.flush()


class HalfWriter:
    """A file opened for writing whose writes of data starting with ``head`` write half of it
    and raise (a full disk); other writes pass through."""

    def __init__(self, handle, head: str):
        self.handle, self.head = handle, head

    def write(self, data):
        text = data if isinstance(data, str) else bytes(data).decode(errors="replace")
        if text.startswith(self.head):
            write_half(self.handle, data)
            raise disk_full()
        return self.handle.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()

    def __getattr__(self, name):
        return getattr(self.handle, name)


def fail_text_writes(monkeypatch, head: str) -> None:
    """Every file opened for writing through ``io.open`` (``Path.write_text``, ``os.fdopen``)
    fails part-way through a write of data starting with ``head``."""
    real = io.open

    def opened(file, mode="r", *args, **kwargs):
        handle = real(file, mode, *args, **kwargs)
        return HalfWriter(handle, head) if set(mode) & set("wax+") else handle

    monkeypatch.setattr(io, "open", opened)


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---- a CSV: 'bayeslaws candidates --out' -----------------------------------------------------
def test_a_candidates_csv_cut_short_leaves_the_earlier_file(
    grouped_fit_file, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "cands.csv"
    argv = ["candidates", grouped_fit_file, "--isoflop", "1e19", "--out", out]
    code, _, err = cli_run([*argv, "--n-per-budget", "3"], capsys)
    assert code == 0, err
    earlier, files = out.read_bytes(), listing(tmp_path)
    assert len(pd.read_csv(out)) == 3

    real = pd.DataFrame.to_csv

    def to_csv(self, path_or_buf=None, *args, **kwargs):
        write_half(path_or_buf, real(self, None, *args, **kwargs))
        raise disk_full()

    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv)
    code, _, _ = cli_run([*argv, "--n-per-budget", "5"], capsys)
    assert code != 0
    assert out.read_bytes() == earlier
    assert listing(tmp_path) == files  # no temporary file left


# ---- a text report: run_planning's report.txt (and next_runs.csv) ----------------------------
def test_a_planning_report_cut_short_leaves_the_earlier_report(
    small_sweep_sweep_fit, tmp_path, monkeypatch
):
    out = tmp_path / "plan"
    kwargs = {"figures": False, "progress": False, "quiet": True}
    text = demo.run_planning(out, fits=(small_sweep_sweep_fit,), **kwargs, **TARGET)
    report = out / "report.txt"
    assert report.read_text() == text  # the normal output, whole
    earlier, files = report.read_bytes(), listing(out)

    fail_text_writes(monkeypatch, text.splitlines()[0])  # the writes of the report (its title)
    with pytest.raises(OSError, match=os.strerror(errno.ENOSPC)):
        demo.run_planning(out, fits=(small_sweep_sweep_fit,), **kwargs, **TARGET)
    assert report.read_bytes() == earlier
    assert len(pd.read_csv(out / "next_runs.csv")) > 0  # written (whole) before the report
    assert listing(out) == files


# ---- an HTML report: write_html ---------------------------------------------------------------
def test_an_html_report_cut_short_leaves_the_earlier_page(tmp_path, monkeypatch):
    page = tmp_path / "report.html"
    write_html(Report("first", sections=[Section("numbers", notes=["one"])]), page)
    earlier, files = page.read_bytes(), listing(tmp_path)
    assert b"first" in earlier

    later = Report("second", sections=[Section("numbers", notes=["two " * 500])])
    fail_text_writes(monkeypatch, later.to_html()[:40])
    with pytest.raises(OSError, match=os.strerror(errno.ENOSPC)):
        write_html(later, page)
    assert page.read_bytes() == earlier
    assert listing(tmp_path) == files


# ---- a figure: plot.save (every figure of the package and of the command line) ----------------
def _figure(points):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot(points)
    return fig


@pytest.mark.parametrize("name", ["fan.png", "fan.pdf"])
def test_a_figure_cut_short_leaves_the_earlier_figure(name, tmp_path, monkeypatch):
    path = tmp_path / name
    assert plot.save(_figure([0, 1]), path) == path
    earlier, files = path.read_bytes(), listing(tmp_path)
    assert earlier.startswith(b"\x89PNG" if name.endswith("png") else b"%PDF")

    real = Figure.savefig

    def savefig(self, fname, *args, **kwargs):
        kwargs["format"] = kwargs.get("format") or Path(fname).suffix[1:]
        drawn = io.BytesIO()
        real(self, drawn, *args, **kwargs)
        write_half(fname, drawn.getvalue())
        raise disk_full()

    monkeypatch.setattr(Figure, "savefig", savefig)
    with pytest.raises(OSError, match=os.strerror(errno.ENOSPC)):
        plot.save(_figure([3, 2, 5, 1]), path)
    assert path.read_bytes() == earlier
    assert listing(tmp_path) == files


# ---- what a write in place kept --------------------------------------------------------------
def test_a_replaced_output_keeps_its_link_and_permissions(tmp_path):
    """A report reached through a symbolic link is written at the link's target (the link
    stays), and a replaced file keeps its permissions, as a write in place did."""
    real = tmp_path / "kept" / "report.html"
    real.parent.mkdir()
    write_html(Report("first"), real)
    real.chmod(0o640)
    link = tmp_path / "report.html"
    link.symlink_to(real)
    write_html(Report("second"), link)
    assert link.is_symlink() and "second" in real.read_text()
    assert real.stat().st_mode & 0o777 == 0o640
    assert listing(real.parent) == ["report.html"] and listing(tmp_path) == ["kept", "report.html"]
