"""The words figures share: the axis labels of N (parameters), D (tokens) and C (FLOPs),
numbers as labels read them ('20B'), and the words a title adds: "(SIMULATED data)" for a fit
of simulated runs (and "(drawn runs SIMULATED)" for a drawn table simulated to another extent),
and which group of a grouped fit a figure draws."""

from __future__ import annotations

from ..inference import Fit
from ..runs import RunTable
from ..runs.provenance import frame_extent
from .figures import runs_frame

N_LABEL = "model size N (parameters)"
D_LABEL = "training tokens D"
C_LABEL = "training compute C (FLOPs)"


def sci(x: float) -> str:
    """1.07e9 -> '1.07B', 2e10 -> '20B', 5e7 -> '50M'."""
    for unit, word in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= unit:
            return f"{x / unit:.3g}{word}"
    return f"{x:.3g}"


def _simulated_words(fit) -> str:
    """The words to add to the title of a figure that draws a fit's data or posterior:
    " (SIMULATED data)" when the fit's data are simulated (as its run table recorded at load,
    from the table's source column: :attr:`Fit.simulated_extent`), " (partly SIMULATED data)"
    when only some rows are, else "" (:attr:`Fit.simulated_words`)."""
    return fit.simulated_words


def _group_words(fit, group) -> str:
    """The words naming the group a figure of a grouped fit draws: " (group A)" for a fitted
    group, " (a new group)" for ``group=None`` (an unseen group: wider), "" without groups."""
    if len(fit.groups) <= 1:
        return ""
    return " (a new group)" if group is None else f" (group {group})"


def drawn_words(fit, runs) -> str:
    """The SIMULATED words of a figure that draws the table ``runs`` (a RunTable or a frame;
    None: the fit's own runs) beside the fit: :func:`_simulated_words` of the fit, followed by
    " (drawn runs SIMULATED)" or " (drawn runs partly SIMULATED)" when the drawn table is
    simulated to another extent than the fit's data (a RunTable's extent as recorded at load,
    :attr:`~bayeslaws.runs.RunTable.simulated`; a frame's by its own source column,
    :func:`bayeslaws.runs.provenance.frame_extent`; never by a file name). A table not labelled
    simulated adds nothing: that does not make its runs real."""
    words = _simulated_words(fit)
    if runs is None:
        return words
    drawn = runs.simulated if isinstance(runs, RunTable) else frame_extent(runs_frame(runs))
    fitted = fit.simulated_extent
    if drawn == "none" or drawn == fitted:
        return words
    return words + f" (drawn runs {'SIMULATED' if drawn == 'all' else 'partly SIMULATED'})"


def titled(title: str, fit, words: str | None = None) -> str:
    """``title`` with ``words`` (default: :func:`_simulated_words` of the fit) appended, unless
    it already says SIMULATED."""
    words = _simulated_words(fit) if words is None else words
    return title if "SIMULATED" in title else title + words


def group_titled(title: str, fit, group, words: str | None = None) -> str:
    """:func:`titled` of ``title`` with :func:`_group_words` appended (unless it holds them):
    the title of a figure of one group's (or a new group's) law."""
    group_words = _group_words(fit, group)
    return titled(title if group_words in title else title + group_words, fit, words)


def simulated_label(simulated) -> str:
    """The words a figure's title adds for ``simulated``: a fit's :func:`_simulated_words`,
    " (SIMULATED data)" for True, "" for False or None."""
    if isinstance(simulated, Fit):
        return _simulated_words(simulated)
    return " (SIMULATED data)" if simulated else ""
