"""The files the commands read and write: an input file that must exist, a saved fit loaded
with a one-line error, and the output-path guards checked before any work (an ``--out``
suffix that says what the file holds, figure formats matplotlib can write, never
overwriting a file that is not an earlier figure, candidates or picks CSV, output folders).
"""

from __future__ import annotations

from pathlib import Path

from .errors import CLIError


def is_fit_file(path: str) -> bool:
    """Whether a path the command line was given names a saved fit (``.nc``, any case) rather
    than a run table: how ``plan`` tells its sources apart."""
    return Path(path).suffix.lower() == ".nc"


def existing_file(path: str, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise CLIError(f"{what} {path!r} does not exist")
    if p.is_dir():
        raise CLIError(f"{what} {path!r} is a folder, not a file")
    return p


def load_fit(path: str):
    import bayeslaws as bl
    from bayeslaws.inference import IncompatibleFitFile

    p = existing_file(path, "fit file")
    try:
        return bl.load_fit(p)
    except IncompatibleFitFile:
        raise
    except (OSError, ValueError, KeyError) as err:
        raise CLIError(
            f"{path!r} is not a fit written by 'bayeslaws fit' ({type(err).__name__}: {err})"
        ) from None


def refuse_suffix(path: str, suffixes: tuple, what: str) -> None:
    """Refuse an ``--out`` file whose name does not end in one of ``suffixes`` (any case), so
    that a fit is never written into fitout.csv nor a report into rep.pdf; ``what``: what the
    file holds, for the message."""
    out = Path(path)
    if out.suffix.lower() in suffixes:
        return
    stem = out.with_suffix("") if out.suffix else out
    named = " or ".join(suffixes)
    raise CLIError(
        f"--out {path!r}: {what}: give a file ending in {named} (e.g. "
        f"{str(stem) + suffixes[0]!r}), so that its name says what it holds"
    )


def replacing_fit(path: Path) -> str:
    """What ``fit --out`` replaces, as words after "saved PATH": for a saved fit at ``path``
    " (replacing an earlier fit: 245 runs, law 'chinchilla')", for another existing file
    " (replacing the earlier file)", else ""."""
    from bayeslaws.inference.fit import saved_fit_summary

    if not path.is_file():
        return ""
    summary = saved_fit_summary(path)
    return f" (replacing an earlier fit: {summary})" if summary else " (replacing the earlier file)"


def _figure_path(path: str) -> Path:
    """The file a figure named ``path`` is written to: matplotlib adds its default format's
    suffix (.png) to a name without one, as :func:`bayeslaws.plot.save` reports."""
    import matplotlib

    out = Path(path)
    if out.suffix:
        return out
    return out.with_name(f"{out.name}.{matplotlib.rcParams['savefig.format']}")


def check_figure_format(path: str, option: str) -> None:
    """Refuse, before any work, a figure file whose suffix matplotlib cannot write (``--plot
    R2.csv``; a name without a suffix gets matplotlib's default format: :func:`_figure_path`),
    and an existing file there that is not an image of that format (``--out thesis.pdf`` over
    a thesis: :func:`~bayeslaws.app.report.refuse_non_figure`); an earlier figure may be
    replaced."""
    import matplotlib
    from matplotlib.backend_bases import FigureCanvasBase

    from ..report import refuse_non_figure

    suffix = Path(path).suffix
    formats = FigureCanvasBase.get_supported_filetypes()  # format -> description
    if suffix and suffix[1:].lower() not in formats:
        default = matplotlib.rcParams["savefig.format"]
        raise CLIError(
            f"{option} {path!r}: matplotlib cannot write {suffix!r} figures; give an image file "
            f"ending in one of {', '.join('.' + f for f in sorted(formats))} (a name without a "
            f"suffix gets .{default})"
        )
    refuse_non_figure(
        _figure_path(path),
        f"it was not overwritten: move it, or give {option} another path",
        "an earlier figure",
    )


def wrote_figure(fig, path: str, what: str = "") -> str:
    """Save ``fig`` to ``path`` (:func:`bayeslaws.plot.save`) and say so: "wrote FIG.png
    (replacing the earlier file)" when one was there; ``what``: words after the path."""
    from bayeslaws import plot

    out = _figure_path(path)
    replacing = " (replacing the earlier file)" if out.is_file() else ""
    return f"wrote {plot.save(fig, out)}{what}{replacing}"


CANDIDATE_COLUMNS = ("N", "D", "C", "lr", "batch_size")
# the columns 'bayeslaws candidates' writes (isoFLOP lines: N, D, C; sweeps add lr, batch_size
# and unit; --group adds group): a file whose header names only these may be replaced, as an
# earlier candidates CSV
CANDIDATES_FILE_COLUMNS = (*CANDIDATE_COLUMNS, "unit", "group")


def refuse_non_candidates(out: Path, fit_path: str) -> None:
    """Refuse ``--out`` when it is the fit file itself, or an existing file that is not an
    earlier candidates CSV (its header made of :data:`CANDIDATES_FILE_COLUMNS`, with N, D and
    C: not a run table, a picks CSV, a fit, anything else), so that nothing is overwritten but
    an earlier candidates file."""
    from ..report import refuse_foreign_csv

    if out.resolve() == Path(fit_path).resolve():
        raise CLIError(
            f"--out {str(out)!r} is the fit file itself: give the candidates their own .csv file"
        )
    refuse_foreign_csv(
        out, CANDIDATES_FILE_COLUMNS, "an earlier candidates CSV",
        "write the candidates to a new .csv file or over earlier candidates",
        required=CANDIDATE_COLUMNS[:3], unreadable="write the candidates to another path",
        error=CLIError,
    )  # fmt: skip


def refuse_non_picks(out: Path, args) -> None:
    """Refuse ``design --out`` when it is the fit or the candidates file, or an existing file
    that is not an earlier picks CSV (its header made of
    :data:`~bayeslaws.app.plan.PICKED_RUN_COLUMNS`, with ``pick``: a candidates CSV is not one),
    before any work: nothing is overwritten but an earlier list of picks."""
    from ...inference.fit import check_output_path
    from ..plan import PICKED_RUN_COLUMNS
    from ..report import refuse_foreign_csv

    check_output_path(out)
    for option, given in (("the fit file", args.fit), ("the --candidates file", args.candidates)):
        if given is not None and out.resolve() == Path(given).resolve():
            raise CLIError(f"--out {str(out)!r} is {option} itself: give the picks their own "
                           ".csv file")  # fmt: skip
    refuse_foreign_csv(
        out, PICKED_RUN_COLUMNS, "an earlier picks CSV",
        "write the picks to a new .csv file or over earlier picks",
        required=("pick",), unreadable="write the picks to another path", error=CLIError,
    )  # fmt: skip


def stale_files(paths: list, existed: list) -> list[str]:
    """The names of the files of ``existed`` (a report's figure folder before it was drawn)
    still there and not among the report's figures ``paths``: left from an earlier run."""
    shown = {Path(p).resolve() for p in paths}
    return sorted(
        Path(p).name for p in existed if Path(p).is_file() and Path(p).resolve() not in shown
    )


def output_folder(path: str, option: str = "--out") -> Path:
    """``path`` as a folder to write into: refused in one line when it, or a folder above it,
    is an existing file (mkdir would say only '[Errno 17] File exists')."""
    out = Path(path)
    for place in (out, *out.parents):
        if place.exists() and not place.is_dir():
            where = "" if place == out else f" ({str(place)!r}, above it)"
            raise CLIError(
                f"{option} {path!r} names a folder to write into, but{where or ' it'} is an "
                "existing file: give a new or existing folder"
            )
    return out
