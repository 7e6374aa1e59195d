"""Reports a researcher can act on: every number with its credible interval, its distance from the
fitted data and, when a truth or a published value is known, whether that value lies inside the
interval; rendered as text (the terminal, ``report.txt``) or as one self-contained HTML page with
the figures inline (``report.html``, for sharing with a team).

* :class:`Number`, :class:`Reference`, :class:`Section`, :class:`Report` -- the structure, built
  by :mod:`bayeslaws.app.plan_report` (the planning report) or :func:`fit_report` (any saved fit,
  ``bayeslaws report FIT.nc``);
* :meth:`Report.to_text`, :meth:`Report.to_html` -- the two renderings of one structure;
* :func:`distance_phrase` -- "0.61 decades above the largest fitted N (2.6e8)";
* :func:`data_lines` -- a fit's runs used, its exclusions (by whom, why) and its screening;
* :func:`recorded_warnings`, :func:`warning_lines`, :func:`add_warnings_section` -- the warnings
  issued while a report's numbers are computed, kept in the report as well as on stderr.

Units: N in parameters, D in tokens, C in FLOPs, batch sizes (batch_size, B_opt) in tokens,
learning rates as in the run table, losses in the fit's loss units.
"""

from __future__ import annotations

import base64
import html
import os
import re
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..laws.contract import GROUPS_NAMED
from ..posterior.allocation import (
    WARN_DECADES,
    band_edge_message,
    beyond,
    edge_message,
    interval_note,
)
from ..posterior.draws import query_frame, spread_prior_note
from ..posterior.extrapolation import DEFAULT_METHOD, gp_component
from ..posterior.extrapolation.distance import group_ranges, own_group_rows, range_words
from ..posterior.predict import outside_decades
from ..runs import PlausibilityWarning
from ..runs.atomic import write_atomically
from ..runs.checks import number_array

AXIS_WORDS = {"N": "fitted size N", "D": "fitted tokens D", "C": "fitted budget C"}
# the report's predictions (its --extrapolation is the allocation's); under these methods a
# new_run prediction adds the GP's pattern of the training residuals, so it moves off the law's
# mean inside the fitted range too (bayeslaws.posterior.extrapolation.widen)
PREDICTION_METHOD = DEFAULT_METHOD
RESIDUAL_PATTERN_METHODS = ("gp", "gp_discrepancy")
# the unit said after a fitted range or a predicted quantity (learning rates have none)
UNITS = {"N": "parameters", "D": "tokens", "C": "FLOPs", "batch_size": "tokens",
         "B_opt": "tokens"}  # fmt: skip
# a summary row of a size or token count by its quantity: a critical scale (Kaplan's N_c, D_c)
# or an optimum at a budget (isoflop's N_opt[C], the budget C in FLOPs in the brackets)
SCALE_ROW = re.compile(r"^(?P<axis>[ND])_(c|opt)(\[[^\]]+\])?$")
BUDGET_ROW = re.compile(r"^(?P<quantity>[NDL]_opt)\[[^\]]+\]$")


# ---- the structure -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reference:
    """A value known from outside the fit: ``kind`` "truth" (the simulator's) or "published"."""

    label: str
    value: float
    kind: str = "published"

    def verdict(self, lower: float, upper: float) -> str:
        """'inside' or 'OUTSIDE (above)' / 'OUTSIDE (below)' the interval [lower, upper]."""
        if lower <= self.value <= upper:
            return "inside"
        return "OUTSIDE (above)" if self.value > upper else "OUTSIDE (below)"


@dataclass
class Number:
    """One reported quantity: median and central interval, where it sits relative to the data,
    and the known values it is compared with."""

    label: str
    median: float
    lower: float
    upper: float
    unit: str = ""
    fmt: str = "{:.3g}"
    distance: str = ""
    references: list = field(default_factory=list)

    def interval(self) -> str:
        f = self.fmt.format
        return f"{f(self.median)} [{f(self.lower)}, {f(self.upper)}]"

    def reference_lines(self) -> list[str]:
        out = []
        for r in self.references:
            word = "simulator truth" if r.kind == "truth" else "published"
            out.append(
                f"{word} ({r.label}) {self.fmt.format(r.value)}: "
                f"{r.verdict(self.lower, self.upper)} the interval"
            )
        return out


@dataclass
class Section:
    """A titled part of a report: numbers, explanatory notes, tables (caption, DataFrame) and
    figures (caption, PNG path)."""

    title: str
    numbers: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    figures: list = field(default_factory=list)


@dataclass
class Report:
    """A titled report: preamble lines, then sections. ``figure_root``: the folder the text and
    the captions give figure paths relative to (where the report itself is written, e.g.
    "report_figures/fan.png"); None: file names only (figures beside the report). ``ci``: the
    central mass of its numbers' intervals, which the HTML table's interval column names
    ("90% interval"); None: not named."""

    title: str
    preamble: list = field(default_factory=list)
    sections: list = field(default_factory=list)
    figure_root: Path | None = None
    ci: float | None = None  # the intervals' central mass (0.9), named in the HTML header

    def figure_name(self, path) -> str:
        """How the text and captions name the figure at ``path``: relative to
        ``figure_root`` (its file name when None or when it lies elsewhere)."""
        path = Path(path)
        if self.figure_root is None:
            return path.name
        try:
            return path.resolve().relative_to(Path(self.figure_root).resolve()).as_posix()
        except ValueError:
            return str(path)

    def figure_paths(self) -> list[Path]:
        """The paths of every figure of the report, in order."""
        return [Path(path) for s in self.sections for _, path in s.figures]

    # ---- text ------------------------------------------------------------------------------
    def to_text(self) -> str:
        lines = [self.title, *self.preamble]
        for s in self.sections:
            lines += ["", f"== {s.title} =="]
            width = max([len(n.label) for n in s.numbers] + [10])
            for n in s.numbers:
                unit = f" {n.unit}" if n.unit else ""
                lines.append(f"  {n.label:{width}s}  {n.interval()}{unit}")
                if n.distance:
                    lines.append(f"  {'':{width}s}    where: {n.distance}")
                for ref in n.reference_lines():
                    lines.append(f"  {'':{width}s}    {ref}")
            for note in s.notes:
                lines += _wrap(note, "  ")
            for caption, table in s.tables:
                lines.append(f"  {caption}:")
                with pd.option_context("display.width", 200, "display.max_columns", 40):
                    text = table.to_string(index=False, float_format="{:.4g}".format)
                lines += ["    " + line for line in text.splitlines()]
            for caption, path in s.figures:
                lines.append(f"  figure {self.figure_name(path)}: {caption}")
        return "\n".join(lines) + "\n"

    # ---- HTML ------------------------------------------------------------------------------
    def to_html(self) -> str:
        """One self-contained page: the figures are embedded as PNG data URIs, no scripts."""
        e = html.escape
        body = [f"<h1>{e(self.title)}</h1>"]
        body += [f"<p class='pre'>{e(p)}</p>" for p in self.preamble]
        toc = "".join(
            f"<li><a href='#s{i}'>{e(s.title)}</a></li>" for i, s in enumerate(self.sections)
        )
        body.append(f"<nav><ol>{toc}</ol></nav>")
        for i, s in enumerate(self.sections):
            body.append(f"<section id='s{i}'><h2>{e(s.title)}</h2>")
            if s.numbers:
                body.append(
                    "<table class='numbers'><thead><tr><th>quantity</th><th>median</th>"
                    f"<th>{e(interval_header(self.ci))}</th>"
                    "<th>where (distance from the fitted data)</th>"
                    "<th>known value</th></tr></thead><tbody>"
                )
                for n in s.numbers:
                    f = n.fmt.format
                    refs = "<br>".join(
                        f"<span class='{_badge(r.verdict(n.lower, n.upper))}'>{e(line)}</span>"
                        for r, line in zip(n.references, n.reference_lines(), strict=True)
                    )
                    unit = f" {e(n.unit)}" if n.unit else ""
                    body.append(
                        f"<tr><td>{e(n.label)}</td><td>{e(f(n.median))}{unit}</td>"
                        f"<td>[{e(f(n.lower))}, {e(f(n.upper))}]</td><td>{e(n.distance)}</td>"
                        f"<td>{refs or '&mdash;'}</td></tr>"
                    )
                body.append("</tbody></table>")
            body += [f"<p>{e(note)}</p>" for note in s.notes]
            for caption, table in s.tables:
                body.append(f"<h3>{e(caption)}</h3>")
                body.append(
                    table.to_html(index=False, float_format="{:.4g}".format, border=0,
                                  classes="data")
                )
            for caption, path in s.figures:
                data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
                body.append(
                    f"<figure><img alt='{e(caption)}' src='data:image/png;base64,{data}'>"
                    f"<figcaption>{e(self.figure_name(path))}: {e(caption)}</figcaption></figure>"
                )
            body.append("</section>")
        return (
            "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>{e(self.title)}</title><style>{CSS}</style></head>"
            f"<body>{''.join(body)}</body></html>\n"
        )


CSS = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
    "color:#222;line-height:1.4}h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;"
    "padding-bottom:.2em;margin-top:1.6em}table{border-collapse:collapse;margin:.6em 0;"
    "font-size:.88em}td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left;"
    "vertical-align:top}th{background:#f3f3f3}.inside{color:#1a7f37}.outside{color:#b00020;"
    "font-weight:bold}figure{margin:1em 0}img{max-width:100%;border:1px solid #eee}"
    "figcaption{font-size:.85em;color:#555}.pre{color:#444;margin:.2em 0}"
)


def interval_header(ci: float | None) -> str:
    """The HTML numbers table's interval column: "90% interval" for ``ci`` 0.9 (a central
    posterior credible interval), "interval" when ``ci`` is None."""
    return "interval" if ci is None else f"{100 * ci:g}% interval"


def _badge(verdict: str) -> str:
    return "inside" if verdict == "inside" else "outside"


def _wrap(text: str, indent: str, width: int = 96) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent) or [""]


# ---- distances -----------------------------------------------------------------------------------
def summary_unit(name: str) -> str:
    """The unit of a summary row ``name`` known from its quantity (:data:`SCALE_ROW`): N_c,
    N_opt[C] "parameters"; D_c, D_opt[C] "tokens"; '' for any other (exponents, amplitudes,
    log scales, losses)."""
    hit = SCALE_ROW.match(str(name))
    return UNITS[hit["axis"]] if hit else ""


GROUP_ROWS_MAX = 10  # a per-group site of more groups has its Parameters rows collapsed ...
GROUP_ROWS_SHOWN = 5  # ... to its first this many (and those of the report's group)


def listed_rows(names, groups, group=None, keep=()) -> tuple[list, list[str]]:
    """(the summary rows ``names`` the Parameters section lists, in order; a note per site it
    collapses). A per-group site (rows ``site[label]``, ``label`` one of the fit's ``groups``)
    of more than ``GROUP_ROWS_MAX`` groups is listed by its first ``GROUP_ROWS_SHOWN`` rows,
    the report's ``group``'s and any in ``keep`` (rows with a known value), and a note saying
    how many more there are (all of them: ``fit.summary()``)."""
    labels = {str(g) for g in groups if g is not None}
    per_site: dict = {}
    for name in map(str, names):
        site, _, rest = name.partition("[")
        if rest.endswith("]") and rest[:-1] in labels:
            per_site.setdefault(site, []).append(name)
    hidden, notes = set(), []
    for site, rows in per_site.items():
        if len(rows) <= GROUP_ROWS_MAX:
            continue
        wanted = {*keep, f"{site}[{group}]"}
        left = [r for i, r in enumerate(rows) if i >= GROUP_ROWS_SHOWN and r not in wanted]
        hidden.update(left)
        notes.append(
            f"... and {len(left)} more {site} rows (one per group, {len(rows)} in all): see "
            "fit.summary()"
        )
    return [name for name in names if str(name) not in hidden], notes


def budget_rows_note(names) -> str:
    """The Parameters section's note for summary rows of an optimum at a budget (``names``:
    the summary's rows; :data:`BUDGET_ROW`, e.g. isoflop's N_opt[1e+20]): the budget in the
    brackets is C in FLOPs; '' when there are none."""
    quantities = list(dict.fromkeys(
        hit["quantity"] for hit in map(BUDGET_ROW.match, map(str, names)) if hit
    ))  # fmt: skip
    if not quantities:
        return ""
    words = {"N_opt": "N_opt in parameters", "D_opt": "D_opt in tokens",
             "L_opt": "L_opt in the loss's units"}  # fmt: skip
    rows = ", ".join(f"{q}[C]" for q in quantities)
    return (
        f"{rows}: the optimum at the budget C in the brackets, C in FLOPs ("
        + ", ".join(words[q] for q in quantities)
        + ")."
    )


def distance_phrase(axis: str, value: float, ranges: dict) -> str:
    """Where ``value`` of ``axis`` (N, D or C) lies relative to the fit's range of it."""
    if axis not in ranges:
        return ""
    low, high = ranges[axis]
    d = float(outside_decades(np.array([value]), low, high)[0])
    word = AXIS_WORDS.get(axis, axis)
    if d == 0:
        return f"{axis} inside the {word} range [{low:.3g}, {high:.3g}]"
    side = f"above the largest {word} ({high:.3g})" if d > 0 else (
        f"below the smallest {word} ({low:.3g})"
    )
    return f"{axis} {abs(d):.2f} decades {side}"


def interval_reach(axis: str, lower: float, upper: float, ranges: dict) -> str:
    """'' when an interval [lower, upper] of ``axis`` (N or D) stays inside the fit's range,
    else '; its interval reaches ...' naming how far each outlying end lies outside."""
    if axis not in ranges:
        return ""
    ends = [(end, float(outside_decades(np.array([end]), *ranges[axis])[0]))
            for end in (lower, upper)]  # fmt: skip
    far = [f"{end:.3g} ({abs(d):.2f} decades {'above' if d > 0 else 'below'})"
           for end, d in ends if d != 0]  # fmt: skip
    return f"; its interval reaches {' and '.join(far)} the {axis} range" if far else ""


# an allocation row at a budget the (isoFLOP) law was fitted on
FITTED_BUDGET_NOTE = (
    "a fitted budget: its own fitted vertex (a budget not fitted on also carries the "
    "budget-to-budget scatter, so its interval is wider)"
)


def distances(ranges: dict, **values) -> str:
    """``distance_phrase`` for several axes, joined by '; '."""
    parts = [distance_phrase(k, v, ranges) for k, v in values.items() if v is not None]
    return "; ".join(p for p in parts if p)


# ---- a fit's runs: used, excluded (by whom, why), screened -------------------------------------
def exclusion_agent(entry: dict) -> str:
    """Who made one exclusion of ``fit.record.data["exclusions"]``: the law (``"by": "law"``:
    its own fences, e.g. diverged or NaN-loss runs left out of the bowls), the outlier screening
    at fit time (a reason starting "screening"), else the run table given to the fit (the
    user's exclusions, or a table such as each cell's best run)."""
    if entry.get("by") == "law":
        return "by the law"
    if str(entry.get("reason", "")).startswith("screening"):
        return "by the outlier screening"
    return "in the run table given to the fit"


def data_lines(fit) -> list[str]:
    """A fit's runs in words, one line each: its source and how many runs it used of how many
    rows it was given (``record.data``: ``n_rows_used`` of ``n_input_rows``), every exclusion
    (count, by whom: :func:`exclusion_agent`, reason) and the outlier screening done at fit
    time (:func:`screening_sentence`, when recorded). Shared by :func:`fit_report`'s preamble
    and the planning report's fits section."""
    data = fit.record.data or {}
    lines = [
        f"data: {data.get('source', '?')}; {data.get('n_rows_used', fit.n_runs)} runs used of "
        f"{data.get('n_input_rows', '?')}"
    ]
    lines += [
        f"excluded {exclusion_agent(x)}: {x['count']} rows, reason: {x['reason']}"
        for x in data.get("exclusions", [])
    ]
    screening = screening_sentence(data)
    return lines + ([screening] if screening else [])


# ---- warnings issued while a report is computed ----------------------------------------------
@contextmanager
def recorded_warnings():
    """Within it every warning is recorded (the list of ``warnings.WarningMessage`` yielded) and,
    on leaving, issued again under the caller's own filters: stderr shows what it would have
    shown (a filter ignoring a category still hides it there), and the report can list them
    all (:func:`warning_lines`). Warnings that code inside ignores itself stay ignored."""
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            caught = seen
            yield seen
    finally:
        registry: dict = {}  # a warning issued twice at one place is shown once, as before
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, registry=registry)


def warning_lines(caught) -> list[str]:
    """The distinct warnings of ``caught`` (``warnings.WarningMessage`` list) as
    "CategoryName: message", in the order first issued: the package's and the user's
    (``UserWarning`` categories); a library's ``RuntimeWarning``, ``DeprecationWarning``, ...
    is no statement about the report's numbers and stays on stderr only."""
    return list(
        dict.fromkeys(
            f"{w.category.__name__}: {w.message}"
            for w in caught
            if issubclass(w.category, UserWarning)
        )
    )


CALLER_PREFIX = re.compile(r"^\w+: ")  # "optimal_allocation: " before a warning's sentence
HEADLINE_MIN = 40  # characters: a shorter headline may be any note's words


def already_stated(line: str, report: Report) -> bool:
    """Whether the report already states a warning line ("CategoryName: [caller: ]headline:
    details", :func:`warning_lines`): its headline, the sentence without the category and the
    calling function's name up to its first ': ' (the budget and share, say; the remedy after
    it may be worded for the caller), is part of a note or of the preamble, e.g. a CAUTION."""
    sentence = CALLER_PREFIX.sub("", line.split(": ", 1)[-1], count=1)
    headline = sentence.split(": ", 1)[0]
    if len(headline) < HEADLINE_MIN:  # too short to be this warning's own: the whole sentence
        headline = sentence
    said = [*report.preamble, *(note for s in report.sections for note in s.notes)]
    return any(headline in text for text in said)


def add_warnings_section(report: Report, lines, after: int = 1) -> Report:
    """Insert a "Warnings" section into ``report`` (after its first ``after`` sections) listing
    ``lines`` (:func:`warning_lines`; repeats dropped) that the report does not already state
    (:func:`already_stated`); none: no section. Returns ``report``."""
    untold = [line for line in dict.fromkeys(lines) if not already_stated(line, report)]
    if untold:
        note = (
            "Issued while this report was made (fitting or loading the fit, computing its "
            "numbers; also shown on stderr); each qualifies what it names:"
        )
        report.sections.insert(after, Section("Warnings", notes=[note, *untold]))
    return report


SEARCHED_COLUMNS = ("N_searched_low", "N_searched_high")  # optimal_allocation's, params


def searched_columns(alloc) -> tuple | None:
    """(low, high) params, the range of N searched at each budget of an allocation (``alloc``:
    :func:`~bayeslaws.posterior.optimal_allocation`'s frame, or one row of it: its
    ``N_searched_low``, ``N_searched_high``); None when the law gives none (then the whole
    search range is meant, as the allocation's warning says)."""
    if not all(column in alloc for column in SEARCHED_COLUMNS):
        return None
    return tuple(np.asarray(alloc[column], float) for column in SEARCHED_COLUMNS)


def search_edge_caution(
    C, at_boundary, extrapolation: str = DEFAULT_METHOD, searched=None
) -> str:
    """'CAUTION: ...' when a share of N_opt draws sits at the isoFLOP search range's edge at
    budgets ``C`` (FLOPs; ``at_boundary``: each one's share, the allocation's column),
    :func:`~bayeslaws.posterior.allocation.edge_message` under ``extrapolation`` (the
    allocation's; default the package default), naming the range ``searched`` ((low, high)
    params per budget, :func:`searched_columns`; None: the whole search range), as the
    allocation's SearchEdgeWarning does; '' when none does."""
    message = edge_message(C, at_boundary, extrapolation, caller="", searched=searched)
    return f"CAUTION: {message}" if message else ""


def far_range_caution(
    fit, alloc: pd.DataFrame, group=None, extrapolation: str = DEFAULT_METHOD
) -> str:
    """'CAUTION: ...' when a budget of an allocation (``alloc``: :func:`optimal_allocation`'s
    frame, a row per budget C in FLOPs with its ``C_outside_decades``, ``N_outside_decades``,
    ``D_outside_decades``), or its median N_opt or D_opt, lies more than ``WARN_DECADES`` (100x)
    outside the fit's range (``group``'s own runs' for a fitted group, as the columns measure
    it): what the :class:`~bayeslaws.posterior.allocation.ExtrapolationWarning` says, which the
    report keeps off (its numbers state their distances), with what such an interval holds
    (:func:`~bayeslaws.posterior.allocation.interval_note` under ``extrapolation``, the one
    the report's allocation uses: default the package default); '' when none lies that far."""
    outside = {
        f"{axis}_outside_decades": alloc[f"{axis}_outside_decades"].to_numpy(float)
        for axis in ("C", "N", "D")
        if f"{axis}_outside_decades" in alloc
    }
    hit = np.flatnonzero(np.atleast_1d(beyond(outside)))
    if not hit.size:
        return ""
    budgets = ", ".join(f"{float(alloc['C'].iloc[i]):.3g}" for i in hit)
    note = interval_note(bool(fit.law.widened), extrapolation)
    return (
        f"CAUTION: at C = {budgets} FLOPs the budget, or its median N_opt or D_opt, lies more "
        f"than {WARN_DECADES:g} decades outside {range_words(fit, group)} (each number's "
        f"'where' above says how far): the answer rests on the law holding that far out; {note}."
    )


def band_edge_caution(near) -> str:
    """'CAUTION: ...' when a near-optimal band (``near``:
    :class:`~bayeslaws.posterior.allocation.NearOptimal`) reaches the edge of the sizes
    searched (:func:`~bayeslaws.posterior.allocation.band_edge_message`); '' otherwise."""
    message = band_edge_message(near)
    return f"CAUTION: {message}" if message else ""


# ---- a report of any saved fit (``bayeslaws report FIT.nc``) -------------------------------------
def _ordinal(k: int) -> str:
    """1 -> '1st', 2 -> '2nd', 11 -> '11th'."""
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def refuse_repeats(values: list, option: str, argument: str, shown=str) -> None:
    """ValueError when a value of ``values`` (a report's --C budgets or --target pairs, in the
    order typed) is given again: it would be reported twice in full. The message names the
    option (``option``, e.g. "--C"; ``argument``: its Python name, e.g. "budgets"), the value
    (``shown``: value -> text) and its positions, 1-based as typed."""
    seen: dict = {}
    for k, value in enumerate(values, 1):
        seen.setdefault(value, []).append(k)
    repeated = [(value, at) for value, at in seen.items() if len(at) > 1]
    if repeated:
        value, at = repeated[0]
        python = ", ".join(f"{argument}[{k - 1}]" for k in at)
        raise ValueError(
            f"{option} {shown(value)} is given {len(at)} times (positions "
            f"{', '.join(map(str, at))} of the {option} values as typed; {python} in Python): "
            f"the report would state it {len(at)} times; give each once"
        )


def check_targets(fit, targets, other: str = "D") -> list[tuple[float, float]]:
    """A report's targets, (N, value of ``other``: D in tokens, or C in FLOPs for an isoFLOP
    law) pairs, checked together before any is predicted, as ``fit``'s queries are
    (:func:`~bayeslaws.posterior.query_frame`: finite positive values, no size below one
    parameter or token, given or derived), as float pairs. A bad target or a repeated one
    (:func:`refuse_repeats`) is an error naming it as typed: "the 2nd --target"
    (``targets[1]`` in Python) and its values."""
    out = []
    for k, target in enumerate(targets, 1):
        which = f"the {_ordinal(k)} --target (targets[{k - 1}] in Python)"
        pair = number_array(f"{which}: N and {other}", target)
        if pair.shape != (2,):
            raise ValueError(f"{which} must be two numbers, N and {other}; got {target!r}")
        try:
            with warnings.catch_warnings():  # far values: each number's "where" states them
                warnings.simplefilter("ignore")
                query_frame(fit, N=pair[0], **{other: pair[1]})
        except ValueError as err:
            raise ValueError(f"{which}, N {pair[0]:g} {other} {pair[1]:g}: {err}") from None
        out.append((float(pair[0]), float(pair[1])))
    refuse_repeats(out, "--target", "targets", lambda t: f"{t[0]:g} {t[1]:g}")
    return out


def fit_report(
    fit,
    *,
    runs=None,
    budgets=None,
    targets=None,
    ci: float = 0.9,
    figure_dir=None,
    seed: int = 0,
    references: dict | None = None,
    group=None,
    warnings_before=(),
    extrapolation: str = DEFAULT_METHOD,
) -> Report:
    """A report of one fit: the data (runs used, exclusions and the outlier screening done at
    fit time: :func:`data_lines`) and the sampler's health, the parameters, predictions at
    ``targets`` ((N, D) pairs, or (N, C) for an isoFLOP law), the compute-optimal allocation at
    ``budgets`` (FLOPs) for laws that define one, and the figures (written to ``figure_dir`` when
    given). ``references``: known values of summary parameters, name -> (label, value, kind) to
    compare with their intervals. ``group``: a grouped fit's fitted group the predictions,
    allocations and figures are for (None: a new group, wider; the report says so).
    ``extrapolation``: the model uncertainty carried into the allocation (N_opt, D_opt, L_opt)
    and its near-optimal band, as :func:`~bayeslaws.posterior.optimal_allocation` takes it
    (default the package default); any other method is stated in the allocation section (the
    predictions and the figures stay under the default).

    The warnings issued while the report is computed (:func:`recorded_warnings`; still shown on
    stderr) and ``warnings_before`` (:func:`warning_lines` of those issued earlier, e.g. when
    the fit was loaded) are listed in its "Warnings" section, after the sampler's health."""
    with recorded_warnings() as caught:
        report = _fit_report(
            fit, runs=runs, budgets=budgets, targets=targets, ci=ci, figure_dir=figure_dir,
            seed=seed, references=references, group=group, extrapolation=extrapolation,
        )  # fmt: skip
    return add_warnings_section(report, [*warnings_before, *warning_lines(caught)])


def _fit_report(
    fit,
    *,
    runs,
    budgets,
    targets,
    ci: float,
    figure_dir,
    seed: int,
    references,
    group,
    extrapolation: str = DEFAULT_METHOD,
) -> Report:
    """:func:`fit_report` without its warnings section."""
    from .. import plot
    from ..laws.contract import LawCapabilityError, group_label
    from ..posterior import near_optimal, optimal_allocation, predict, range_stated
    from ..posterior.extrapolation import check_method

    group = group_label(fit.groups, group)  # 10.0 names the group "10", as the law has it
    extrapolation = check_method(extrapolation)  # an unknown method fails before any work
    other = next((c for c in fit.law.inputs if c != "N"), "D")
    # all targets and budgets checked before any is computed: an error names the one as typed
    targets = check_targets(fit, targets, other) if targets else targets
    if budgets:
        refuse_repeats(
            number_array("budgets", budgets).ravel().tolist(), "--C", "budgets", "{:g}".format
        )
    # distances from the group's own runs, as predict measures them (a new group: all runs)
    ranges = group_ranges(fit, group)
    own = own_group_rows(fit, group) is not None  # a fitted group with runs of its own
    pct = f"{100 * ci:g}%"
    which = group_words(fit, group)
    report = Report(
        f"bayeslaws report: law {fit.law.name!r} ({fit.law.description})",
        [
            *data_lines(fit),
            *([group_sentence(fit, group)] if which else []),
            *([drawn_runs_sentence(runs, figure_dir is not None, fit, group)]
              if runs is not None else []),
            "fitted ranges: " + ranges_words(group_ranges(fit)),  # as the distances measure
            *([nominal_c_sentence(fit)] if nominal_c_sentence(fit) else []),
            *([own_ranges_sentence(group, ranges)] if own else []),
            f"All intervals are central {pct} posterior credible intervals"
            + (" (the fan figure also shades the inner 50% band, labelled)."
               if ci > 0.5 and figure_dir is not None else "."),
        ],
        ci=ci,
    )
    diag = fit.diagnostics
    health = Section(
        "Sampler health",
        notes=[*diag.lines(), *fit.record.notes],
    )
    report.sections.append(health)
    summary = fit.summary(ci=ci)
    lo_col, hi_col = f"{50 * (1 - ci):g}%", f"{50 * (1 + ci):g}%"
    params = Section("Parameters")
    listed, collapsed = listed_rows(summary.index, fit.groups, group, references or {})
    for name, row in summary.loc[listed].iterrows():
        refs = []
        if references and name in references:
            label, value, kind = references[name]
            refs.append(Reference(label, float(value), kind))
        params.numbers.append(
            Number(str(name), row["50%"], row[lo_col], row[hi_col], summary_unit(name),
                   fmt="{:.4g}", references=refs)
        )
    params.notes += collapsed
    budget_note = budget_rows_note(summary.index)
    if budget_note:
        params.notes.append(budget_note)
    report.sections.append(params)
    beside = f" for {which}" if which else ""
    if targets:
        sec = Section(f"Predictions{beside}")
        missing = {}  # quantity -> the targets where the law gives no value, in order
        for N, value in targets:
            for kind in ("mean", "new_run"):
                t = predict(
                    fit, N=N, ci=ci, kind=kind, seed=seed, group=group, _new_group_noted=True,
                    _range_noted=True,  # each number's "where" states its distance
                    _missing_noted=True,  # no_value_sentence below states the NaN
                    extrapolation=PREDICTION_METHOD, **{other: value},
                ).iloc[0]
                where = {other: value}  # and the compute of (N, D), beyond its range too
                if other != "C" and "C" in t and "C" in ranges:
                    where["C"] = float(t["C"])
                for q in fit.law.quantities:
                    col = "" if q == fit.law.primary else f"{q}_"
                    if f"{col}median" not in t:
                        continue
                    if not np.isfinite(t[f"{col}median"]):
                        at = missing.setdefault(q, [])
                        if (N, value) not in at:
                            at.append((N, value))
                        continue
                    sec.numbers.append(
                        Number(
                            f"{q} at N {N:.3g}, {other} {value:.3g} ({kind})",
                            t[f"{col}median"], t[f"{col}lower"], t[f"{col}upper"],
                            UNITS.get(q, ""), "{:.4g}", distances(ranges, N=N, **where),
                        )
                    )
        sec.notes += [
            no_value_sentence(q, at, other, fit.law.missing_values_hint)
            for q, at in missing.items()
        ]
        pattern = residual_pattern_sentence(
            PREDICTION_METHOD, fit.law.widened, fit.cache.get("unavailable"), group
        )
        if pattern and sec.numbers:
            sec.notes.append(pattern)
        report.sections.append(sec)
    figures = []
    try:
        with range_stated():  # each number below says how far outside the range it lies
            alloc = (
                optimal_allocation(
                    fit, C=budgets, ci=ci, seed=seed, group=group, extrapolation=extrapolation,
                    _new_group_noted=True,
                )
                if budgets
                else None
            )
    except LawCapabilityError:
        alloc = None
        report.sections.append(
            Section("Compute-optimal allocation", notes=[f"law {fit.law.name!r} defines none"])
        )
    if alloc is not None:
        sec = Section(f"Compute-optimal allocation{beside}")
        if extrapolation != DEFAULT_METHOD:
            sec.notes.append(method_sentence(extrapolation, figure_dir is not None))
        for _, a in alloc.iterrows():
            C = float(a["C"])
            for q, unit, axis in (("N_opt", "parameters", "N"), ("D_opt", "tokens", "D"),
                                  ("L_opt", "", None)):
                where = distances(ranges, C=C, **({axis: a[q]} if axis else {}))
                if axis:  # the median inside, an end of the interval outside: say so
                    where += interval_reach(axis, a[f"{q}_lower"], a[f"{q}_upper"], ranges)
                if bool(a.get("fitted_budget", False)):
                    where += "; " + FITTED_BUDGET_NOTE
                sec.numbers.append(
                    Number(f"{q} at C {C:.3g}", a[q], a[f"{q}_lower"], a[f"{q}_upper"], unit,
                           "{:.4g}" if q == "L_opt" else "{:.3g}", where)
                )
            with range_stated(), warnings.catch_warnings():
                # its far-budget warning repeats the allocation's (which names the --C
                # position): the allocation asked the same budgets of the same fit first
                warnings.filterwarnings("ignore", r"C = \S+ lies ", PlausibilityWarning)
                near = near_optimal(
                    fit, C, ci=ci, seed=seed, group=group, extrapolation=extrapolation,
                    _new_group_noted=True,
                )
            sec.notes.append(near_optimal_sentence(near))
            band_edge = band_edge_caution(near)  # as the planning report cautions
            if band_edge:
                sec.notes.append(band_edge)
        far = far_range_caution(fit, alloc, group, extrapolation)  # what range_stated() kept off
        if far:
            sec.notes.append(far)
        at_edge = search_edge_caution(
            alloc["C"], alloc["at_boundary"], extrapolation, searched_columns(alloc)
        )
        if at_edge:
            sec.notes.append(at_edge)
        report.sections.append(sec)
    if figure_dir is not None:
        figure_dir = Path(figure_dir)
        report.figure_root = figure_dir.parent  # where bayeslaws report writes the page
        train = fit.training_runs() if runs is None else runs
        bands = (0.5, ci) if ci > 0.5 else (ci,)  # the stated ci and an inner 50% band
        jobs = [("fan.png", fan_caption(fit),
                 lambda: plot.fan(fit, train, targets=targets, ci=bands, seed=seed,
                                  group=group))]
        if alloc is not None:
            jobs.append(("isoflop.png", isoflop_caption(extrapolation),
                         lambda: plot.isoflop(fit, budgets, ci=ci, seed=seed, group=group)))
        jobs.append(("pairs.png", "posterior pairs (divergent transitions marked)",
                     lambda: plot.pairs(fit)))
        for name, _, _ in jobs:  # an earlier report's figure may be replaced, nothing else
            refuse_non_figure(figure_dir / name)
        for name, caption, make in jobs:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    figures.append((caption, plot.save(make(), figure_dir / name)))
            except LawCapabilityError:
                continue
        report.sections.append(Section("Figures", figures=figures))
    return report


def residual_pattern_sentence(
    method: str, widened: bool = True, unavailable=None, group=None
) -> str | None:
    """The predictions section's note on why its "new_run" rows can disagree with its "mean"
    rows inside the fitted range: under ``method`` (:data:`RESIDUAL_PATTERN_METHODS`) new_run
    adds the GP discrepancy's smoothed pattern of the training residuals, which ``mean`` (the
    law alone) does not. None under any other method, for a law whose new runs are not widened
    (``widened``, the law's flag) or when the GP of ``group`` fell back to a mean-0 widening
    (``unavailable``: ``fit.cache["unavailable"]``, component -> reason)."""
    fell_back = unavailable or {}
    if method not in RESIDUAL_PATTERN_METHODS or not widened:
        return None
    if "gp" in fell_back or gp_component(group) in fell_back:
        return None
    return (
        f"new_run follows the fitted runs' residual pattern (extrapolation {method!r}), so it "
        "can differ from mean, the law alone, even inside the fitted range."
    )


def method_sentence(extrapolation: str, figures: bool = True) -> str:
    """The allocation section's note for an allocation under ``extrapolation``, a method other
    than the package default: what it is computed under, and what is not (the predictions and,
    when drawn, the figures: the default's)."""
    rest = "the predictions and the figures" if figures else "the predictions"
    return (
        f"Computed under extrapolation {extrapolation!r}, not the default {DEFAULT_METHOD!r}: "
        "N_opt, D_opt, L_opt, the near-optimal band and the cautions below; "
        f"{rest} are under the default."
    )


def isoflop_caption(extrapolation: str = DEFAULT_METHOD) -> str:
    """The caption of ``bayeslaws report``'s isoFLOP figure: its N_opt markers are under the
    package default extrapolation, which it names when the allocation's ``extrapolation`` is
    another."""
    caption = "loss along the isoFLOP lines of the budgets"
    if extrapolation == DEFAULT_METHOD:
        return caption
    return (
        f"{caption} (N_opt marked under the default extrapolation {DEFAULT_METHOD!r}, not the "
        f"allocation's {extrapolation!r})"
    )


def fan_caption(fit) -> str:
    """The caption of ``bayeslaws report``'s fan figure, saying what its points are: for a law
    of the hyperparameter optima (eta_opt among its quantities: "hyperparams", "sweep") the
    figure draws each (N, D) cell's best run (its lr and batch size are the cell's observed
    optimum, :meth:`~bayeslaws.laws.contract.Law.empirical`), otherwise every run."""
    points = (
        "each (N, D) cell's best run (the lowest loss of its LR x batch sweep)"
        if "eta_opt" in fit.law.quantities
        else "the runs"
    )
    return f"the law against N with its bands, beyond the fitted range; points: {points}"


def drawn_runs_sentence(runs, drawn: bool = True, fit=None, group=None) -> str:
    """The preamble's line naming a run table drawn in the figures instead of the fit's own
    (``runs``: a RunTable or a DataFrame): its source with its SIMULATED note (by its source,
    or its own source column), its rows of the rows given, the points the fan draws of them
    when fewer (:func:`drawn_points_words`: rows without a finite loss, other groups' rows, a
    hyperparameter law's cells' best runs; ``fit`` and ``group`` as the fan is drawn, ``fit``
    None: every row counts as one point unless its loss is not finite), and every exclusion
    (count and reason). ``drawn``: False when no figures were made (the table is then named as
    not used)."""
    from ..runs import RunTable
    from ..runs.provenance import simulated_note

    source = runs.source if isinstance(runs, RunTable) else "a DataFrame"
    df = runs.df if isinstance(runs, RunTable) else pd.DataFrame(runs)
    named = f"{source}{simulated_note(df, source)}"
    if not drawn:
        return f"runs given: {named}, not drawn (no figures were made)."
    total = runs.n_input_rows if isinstance(runs, RunTable) and runs.n_input_rows else len(df)
    line = f"figures draw the runs of {named}, not the fit's own: {len(df)} rows of {total}"
    line += drawn_points_words(df, fit, group)
    exclusions = runs.exclusions if isinstance(runs, RunTable) else ()
    for x in exclusions:
        line += f"; excluded from that table: {x.count} rows, reason: {x.reason}"
    return line + "."


def _finite_loss(df: pd.DataFrame) -> np.ndarray:
    """(rows,) bool: a finite loss (a missing, non-numeric or infinite one is not)."""
    if "loss" not in df:
        return np.ones(len(df), bool)
    return np.isfinite(pd.to_numeric(df["loss"], errors="coerce").to_numpy(float, na_value=np.nan))


def drawn_points_words(df: pd.DataFrame, fit=None, group=None) -> str:
    """'' when the fan figure draws every row of a run table ``df`` as a point, else '; ...'
    saying how many it draws and why not the others, counted from the points
    :func:`bayeslaws.plot.fan_points` selects: the rows of other groups than a fitted ``group``
    (or, for ``group`` None, of groups the fit does not have) are not drawn; a law of the
    hyperparameter optima ("hyperparams", "sweep") draws each (N, D) cell's best run; a point
    without a finite loss is not drawn. ``fit`` None: each row with a finite loss is one
    point."""
    if fit is None:
        finite = _finite_loss(df)
        return _not_finite_words(finite)
    from ..plot import fan_points

    points = fan_points(fit, df, group)
    parts = []
    if len(points.left_out):
        if group is not None:
            parts.append(
                f"the {len(points.left_out)} rows of other groups are not drawn (the figures "
                f"are for group {group})"
            )
        else:
            others = sorted(set(points.left_out))
            named = ", ".join(others[:5]) + (f" and {len(others) - 5} more"
                                             if len(others) > 5 else "")
            parts.append(
                f"the {len(points.left_out)} rows of groups the fit does not have "
                f"({named}) are not drawn (the figures draw the fitted groups' runs)"
            )
    drawn = [p for _, p in points.sets]
    finite = np.concatenate([_finite_loss(p) for p in drawn]) if drawn else np.ones(0, bool)
    if "eta_opt" in fit.law.quantities:  # one point per cell: its best run (or none)
        from ..runs.cells import run_cells

        kept = points.kept
        cells = len(np.unique(run_cells(kept))) if len(kept) else 0
        shown, none = int(finite.sum()), cells - int(finite.sum())
        parts.append(
            f"drawn: each (N, D) cell's best run, {shown} point{'s' if shown != 1 else ''}"
            + (f" ({none} cell{'s' if none != 1 else ''} without a finite loss, none drawn)"
               if none > 0 else "")
        )
        return "".join(f"; {p}" for p in parts)
    return "".join(f"; {p}" for p in parts) + _not_finite_words(finite)


def _not_finite_words(finite: np.ndarray) -> str:
    """'; 7 drawn, the 2 without a finite loss are not' for the (rows,) bool ``finite``; ''
    when every row is finite."""
    if finite.all():
        return ""
    return f"; {int(finite.sum())} drawn, the {int((~finite).sum())} without a finite loss are not"


def no_value_sentence(quantity: str, at: list, other: str, hint: str = "") -> str:
    """A note that the law gives no value (NaN) of ``quantity`` at the targets ``at`` ((N,
    value of ``other``) pairs), with the law's remedy ``hint``."""
    where = ", ".join(f"N {N:.3g}, {other} {value:.3g}" for N, value in at)
    return (
        f"{quantity}: this fit's law gives no value at {where} (its prediction is NaN there)"
        + (f"; {hint}" if hint else "")
        + "."
    )


def ranges_words(ranges: dict) -> str:
    """``ranges`` (column -> [min, max]) as 'N [5e+07, 3e+08] parameters; D [...] tokens'."""
    return "; ".join(
        f"{k} [{v[0]:.3g}, {v[1]:.3g}]" + (f" {UNITS[k]}" if k in UNITS else "")
        for k, v in ranges.items()
    )


def nominal_c_sentence(fit) -> str | None:
    """The preamble's note for a fit whose runs' C (FLOPs) is nominal (e.g. Marin's budgets):
    the fitted ranges measure C as the distances do, the compute model's FLOPs of the runs' N
    and D (:func:`~bayeslaws.posterior.extrapolation.distance.group_ranges`); the runs' own C
    range beside it. None when the two C ranges agree (or there is no C)."""
    nominal = (fit.record.ranges or {}).get("C")
    measured = group_ranges(fit).get("C")
    if nominal is None or measured is None or np.allclose(nominal, measured, rtol=1e-9):
        return None
    return (
        "C in the fitted ranges is measured as the compute model's FLOPs "
        f"({fit.record.compute_model_name}) of the runs' N and D, as a query's C is and as the "
        "distances below are; the runs' own C are nominal budgets: C "
        f"[{nominal[0]:.3g}, {nominal[1]:.3g}] FLOPs"
    )


def own_ranges_sentence(group, ranges: dict) -> str:
    """The preamble's line giving a fitted group's own runs' ranges (``ranges``:
    :func:`~bayeslaws.posterior.extrapolation.distance.group_ranges`), which the report's
    distances are measured from."""
    return (
        f"group {group}'s own runs: {ranges_words(ranges)}; the distances below are measured "
        "from these, as predict's *_outside_decades are"
    )


def group_words(fit, group) -> str:
    """Which group a grouped fit's numbers are for: "group a", or "a new group (not one of: a,
    b)" when ``group`` is None (more than ``GROUPS_NAMED`` groups: the first of them and how
    many more); "" for a fit without groups."""
    if len(fit.groups) <= 1:
        return ""
    if group is not None:
        return f"group {group}"
    labels = [str(g) for g in fit.groups]
    more = len(labels) - GROUPS_NAMED
    listed = ", ".join(labels[:GROUPS_NAMED]) + (f" and {more} more" if more > 0 else "")
    return f"a new group (not one of: {listed})"


def group_sentence(fit, group) -> str:
    """The preamble's line saying which group of a grouped fit the report answers for."""
    words = group_words(fit, group)
    if group is not None:
        return f"Predictions, allocations and figures are for {words} of this grouped fit."
    note = spread_prior_note(fit)  # '' unless the groups' spread is mostly its prior
    return (
        f"Predictions, allocations and figures are for {words}: its offsets are drawn from the "
        f"groups' spread, so its intervals are wider than a fitted group's; {note}group= or "
        "--group NAME gives a fitted group's."
    )


SCREENING_LISTED = 10  # flagged rows named in the report's screening line


def _flagged_rows(flagged: list) -> str:
    """Flagged runs of a screening record as 'rows 1 (z +39), 0 (z +27)'."""
    named = [
        f"{r['row']} (z {r['z']:+.0f})" if r.get("z") is not None else str(r["row"])
        for r in flagged[:SCREENING_LISTED]
    ]
    more = len(flagged) - SCREENING_LISTED
    return "rows " + ", ".join(named) + (f" and {more} more" if more > 0 else "")


def screening_sentence(data: dict) -> str:
    """The outlier screening done at fit time (``fit.record.data["screening"]``,
    :mod:`bayeslaws.inference.screening`) in one line: how many runs lay beyond the threshold,
    whether they were kept or excluded, and which (those where the law is known to misfit
    apart, with the law's reason); why it was not done; '' for a fit that records none."""
    entry = (data or {}).get("screening")
    if not entry:
        return ""
    if entry.get("action") == "off":
        return "screening: off (screen='off'): runs far off the fitted law were not looked for."
    if entry.get("skipped"):
        return f"screening: not done ({entry['skipped']})."
    threshold = f"{entry['threshold']:g}" if entry.get("threshold") is not None else "?"
    flagged = entry.get("flagged") or []
    if not flagged:
        return (
            f"screening: no run > {threshold} robust sd off the fitted law "
            f"({entry.get('n_screened', '?')} screened)."
        )
    groups = entry.get("law_misfits") or []
    explained = {str(r) for group in groups for r in group.get("rows") or []}
    suspect = [f for f in flagged if str(f["row"]) not in explained]
    if entry.get("excluded"):
        done = "excluded and the law refitted without them"
    elif entry.get("not_excluded"):
        done = f"kept, {entry['not_excluded']}"
    else:
        done = "kept in the fit"
    parts = []
    if suspect:
        parts.append(
            f"{len(suspect)} run(s) > {threshold} robust sd off the fitted law, {done}: "
            + _flagged_rows(suspect)
        )
    kept = "kept, not excluded by screen='exclude'"
    kept = kept if entry.get("action") == "exclude" else "kept in the fit"
    for group in groups:
        rows = {str(r) for r in group.get("rows") or []}
        named = [f for f in flagged if str(f["row"]) in rows]
        parts.append(
            f"{len(named)} run(s) > {threshold} robust sd off the fitted law where the law is "
            f"known to misfit, {kept}: {_flagged_rows(named)} ({group.get('reason', '?')})"
        )
    line = "screening: " + "; ".join(parts)
    first = {str(f["row"]) for f in flagged}
    reasons = [group.get("reason") for group in groups]
    for again in entry.get("rounds") or []:
        misfit = {
            str(r): group.get("reason")
            for group in again.get("law_misfits") or []
            for r in group.get("rows") or []
        }
        more = [f for f in again.get("flagged") or [] if str(f["row"]) not in first]
        other = [f for f in more if str(f["row"]) not in misfit]
        if other:
            line += f"; after that refit {len(other)} more, kept: " + _flagged_rows(other)
        for reason in dict.fromkeys(misfit[str(f["row"])] for f in more if str(f["row"]) in misfit):
            named = [f for f in more if misfit.get(str(f["row"])) == reason]
            why = "as above" if reason in reasons else reason
            line += (
                f"; after that refit {len(named)} more where the law is known to misfit, kept: "
                f"{_flagged_rows(named)} ({why})"
            )
    return line + "."


def near_optimal_sentence(near) -> str:
    """The near-optimal band in words, with the tolerance on both scales and whether the upper
    end of an excess interval may cross the tolerance (only above the band's percentile)."""
    pct = f"{100 * near.ci:g}%"
    tol = (
        f"loss within {100 * near.tolerance:g}% of the {near.relative_to} loss above the "
        f"optimum ({tolerance_scales(near)})"
    )
    if near.band is None:
        return (
            f"Near-optimal at C {near.C:.3g} FLOPs ({tol}, with probability >= {near.prob:g}): "
            "no size qualifies: N_opt is too uncertain for any single size to be that close "
            "with that probability."
        )
    s = near.smallest
    return (
        f"Near-optimal at C {near.C:.3g} FLOPs ({tol}, with probability >= {near.prob:g}): sizes "
        f"{near.band[0]:.3g} to {near.band[1]:.3g} parameters. The smallest, {s['N']:.3g} "
        f"({100 * s['size_vs_optimal']:+.0f}% vs the median N_opt), costs "
        f"{100 * s['excess']:.3g}% more loss [{100 * s['excess_lower']:.3g}, "
        f"{100 * s['excess_upper']:.3g}] = {100 * s['excess_reducible']:.3g}% of the reducible "
        f"loss [{100 * s['excess_reducible_lower']:.3g}, "
        f"{100 * s['excess_reducible_upper']:.3g}] ({pct} intervals). The band asks for "
        f"probability {near.prob:g} of staying within the tolerance, i.e. the "
        f"{100 * near.prob:g}th percentile of the excess below it; "
        + _upper_end_words(near.ci, near.prob)
    )


def tolerance_scales(near) -> str:
    """A near-optimal tolerance (``near``: :class:`~bayeslaws.posterior.allocation.NearOptimal`)
    on the other scale, honestly: the band holds it per posterior draw on its own scale
    (``relative_to``), so on the other it is only "about" its value at the median reducible
    share, whose interval is given (it varies from draw to draw). A law without a floor: the
    two scales are one (its ``floorless_note``)."""
    if near.floorless_note:  # no E: "reducible" is the whole loss
        return f"= {100 * near.tolerance_total:.3g}% of the total loss; {near.floorless_note}"
    med, lo, hi = (100 * v for v in near.reducible_share)
    total, reducible = "the total loss", "the reducible loss L_opt - E"
    if near.relative_to == "total":
        other, own, other_scale = f"{100 * near.tolerance_reducible:.3g}%", total, reducible
    else:
        other, own, other_scale = f"{100 * near.tolerance_total:.3g}%", reducible, total
    return (
        f"about {other} of {other_scale} at the median reducible share: the reducible part is "
        f"{med:.3g}% of L_opt ({100 * near.ci:g}% interval [{lo:.3g}, {hi:.3g}]), and each "
        f"posterior draw applies the tolerance to its own {own.removeprefix('the ')}, so on "
        f"{other_scale} it varies with that share"
    )


def _upper_end_words(ci: float, prob: float) -> str:
    """How the upper end of a central ``ci`` interval (its (1 + ci)/2 percentile) compares with
    the band's ``prob`` percentile, which stays within the tolerance for a size in the band."""
    upper = 50 * (1 + ci)
    pct = f"{100 * ci:g}%"
    if np.isclose(upper, 100 * prob):
        return (
            f"the upper end of the {pct} interval is that same {upper:g}th percentile, so for "
            "a size in the band it is within the tolerance."
        )
    if upper > 100 * prob:
        return (
            f"the upper end of the {pct} interval is the {upper:g}th percentile, a higher "
            "percentile than the band's, and may cross it."
        )
    return (
        f"the upper end of the {pct} interval is the {upper:g}th percentile, a lower percentile "
        "than the band's, so for a size in the band it stays within the tolerance."
    )


HTML_STARTS = ("<!doctype html", "<html")  # how a page (an earlier report) begins


def file_head(path, n_bytes: int) -> str:
    """The first ``n_bytes`` of a file as text (undecodable bytes replaced, a BOM dropped), to
    tell what an existing file is before overwriting it; OSError when it cannot be read."""
    with open(path, "rb") as handle:
        return handle.read(n_bytes).decode("utf-8", "replace").lstrip("\ufeff")


def existing_head(path, what: str, remedy: str, n_bytes: int = 512) -> str | None:
    """The first ``n_bytes`` (characters) of the file at ``path``, leading blanks stripped, to
    check before overwriting it; None when there is no such file (or it is a folder). Raises
    FileExistsError when it cannot be read, saying it was checked to be ``what`` (e.g. "an
    earlier report") and the ``remedy``."""
    path = Path(path)
    if not path.exists() or path.is_dir():
        return None
    try:
        return file_head(path, n_bytes).lstrip(" \t\r\n")
    except OSError as err:
        raise FileExistsError(
            f"{str(path)!r} exists and cannot be read to check that it is {what} ({err}); it "
            f"was not overwritten: {remedy}"
        ) from None


def refuse_foreign_csv(
    path,
    columns,
    what: str,
    remedy: str,
    *,
    required=(),
    unreadable: str | None = None,
    outcome: str = "it was not overwritten",
    error: type[Exception] = FileExistsError,
) -> None:
    """Before overwriting the file at ``path`` with a CSV of ours: raise ``error`` (default
    FileExistsError; the command line passes its own) when it exists and is not ``what`` (e.g.
    "an earlier candidates CSV"), a CSV whose header (its first line after leading blanks)
    names only ``columns`` and every one of ``required`` (marker columns each of our own files
    has, e.g. ``pick``: a header that is merely a subset of ``columns``, like a candidates CSV
    or a user's N, D, C table, is not ours): the message says so, that ``outcome`` (default
    "it was not overwritten"), and ``remedy``. A file that cannot be read is refused too
    (:func:`existing_head`'s message, with the remedy ``unreadable``, default ``remedy``).
    Nothing raised when there is no such file (or a folder), or an empty one: nothing to lose.
    """
    try:
        head = existing_head(path, what, remedy if unreadable is None else unreadable, 4096)
    except FileExistsError as err:
        raise error(str(err)) from None
    if not head:
        return
    names = [name.strip().strip('"') for name in head.splitlines()[0].split(",")]
    if not set(names) <= set(columns) or not set(required) <= set(names):
        markers = f", with {', '.join(required)}" if required else ""
        raise error(
            f"{str(path)!r} exists and is not {what} (its header is not made of "
            f"{', '.join(columns)}{markers}), so {outcome}: {remedy}"
        )


def refuse_non_report(path) -> None:
    """Raise FileExistsError when ``path`` exists and is not an HTML page, so that a report
    never overwrites a fit, a run table or any other file; an earlier report may be replaced."""
    head = existing_head(path, "an earlier report", "write the report to another path")
    if head is not None and not head.lower().startswith(HTML_STARTS):
        raise FileExistsError(
            f"{str(path)!r} exists and is not an HTML page (an earlier report), so it was not "
            "overwritten: write the report to a new .html file or over an earlier report"
        )


PNG_START = b"\x89PNG\r\n\x1a\n"  # the signature every PNG file begins with

# the first bytes of an image of each format matplotlib writes, by suffix (lower case, no
# dot); an SVG's after a BOM and blanks. A format not named here (raw, rgba, pgf) has no
# signature known to tell an image by: an existing file of that suffix is always refused
FIGURE_SIGNATURES = {
    "png": (PNG_START,),
    "pdf": (b"%PDF",),
    "svg": (b"<?xml", b"<svg"),
    "svgz": (b"\x1f\x8b",),  # gzip
    "eps": (b"%!PS",),
    "ps": (b"%!PS",),
    "jpg": (b"\xff\xd8",),
    "jpeg": (b"\xff\xd8",),
    "tif": (b"II*\x00", b"MM\x00*"),
    "tiff": (b"II*\x00", b"MM\x00*"),
    "webp": (b"RIFF",),
    "gif": (b"GIF8",),
}
REPORT_FIGURE_OUTCOME = (
    "the report's figures were not drawn there: move it, or write the report elsewhere"
)
# formats whose files matplotlib signs (a PNG's Software text chunk near the start, a PDF's
# Creator/Producer near the end, an SVG's or PostScript file's header comment): an existing
# file of these is replaced only when signed so, since any PDF or PNG begins as one (a thesis)
MATPLOTLIB_SIGNED = ("png", "pdf", "svg", "eps", "ps")
MATPLOTLIB_MARK = b"matplotlib"  # sought, in any case, in the file's first and last bytes
MARK_SPAN = 65536  # bytes read at each end of a signed format's file for the mark


def is_figure(path) -> bool:
    """Whether the file at ``path`` begins as an image of its suffix's format
    (:data:`FIGURE_SIGNATURES`; no suffix: PNG) and, for a format matplotlib signs
    (:data:`MATPLOTLIB_SIGNED`), carries matplotlib's mark (:func:`matplotlib_signed`): an
    earlier figure, not any PDF or PNG. False for a folder, an unreadable file or a format with
    no known signature."""
    path = Path(path)
    kind = path.suffix[1:].lower() or "png"
    signatures = FIGURE_SIGNATURES.get(kind, ())
    try:
        if path.is_dir():
            head = b""
        else:
            with path.open("rb") as handle:
                head = handle.read(64)
    except OSError:
        return False
    if kind == "svg":
        head = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if not any(head.startswith(s) for s in signatures):
        return False
    return kind not in MATPLOTLIB_SIGNED or matplotlib_signed(path)


def matplotlib_signed(path: Path) -> bool:
    """Whether matplotlib's mark (:data:`MATPLOTLIB_MARK`, any case) lies in the first or last
    ``MARK_SPAN`` bytes of the file at ``path`` (False when it cannot be read)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(MARK_SPAN)
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(size - MARK_SPAN, 0))
            tail = handle.read(MARK_SPAN)
    except OSError:
        return False
    return MATPLOTLIB_MARK in head.lower() or MATPLOTLIB_MARK in tail.lower()


def refuse_non_figure(
    path, outcome: str = REPORT_FIGURE_OUTCOME, what: str = "an earlier report's figure"
) -> None:
    """Raise FileExistsError when ``path`` exists and is not an image of its suffix's format
    (:func:`is_figure`; ``what``: the earlier figure it may be, ``outcome``: what was not done
    and the remedy), so that drawing a figure never overwrites any other file."""
    path = Path(path)
    if not path.exists() or is_figure(path):
        return
    kind = (path.suffix[1:] or "png").upper()
    if kind.lower() not in FIGURE_SIGNATURES:
        raise FileExistsError(
            f"{str(path)!r} exists, and a {kind} file has no signature to tell {what} by, so "
            f"{outcome}"
        )
    signed = " written by matplotlib" if kind.lower() in MATPLOTLIB_SIGNED else ""
    raise FileExistsError(
        f"{str(path)!r} exists and is not a {kind} image{signed} ({what}), so {outcome}"
    )


def figures_line(paths: list, folder, existed=()) -> str:
    """The line saying where a report's figures were written: "wrote 3 figures to FOLDER"
    (its full path), naming those that replaced a file of the same name there (``existed``:
    the paths present before the report was drawn)."""
    folder = Path(folder).resolve()
    before = {Path(p).resolve() for p in existed}
    replaced = [Path(p).name for p in paths if Path(p).resolve() in before]
    line = f"wrote {len(paths)} figure{'s' if len(paths) != 1 else ''} to {folder}"
    if replaced:
        line += f" (replacing the earlier {', '.join(replaced)} there)"
    return line


def write_html(report: Report, path) -> Path:
    """Write ``report`` as one HTML page to ``path`` (a new file or an earlier page)."""
    path = Path(path)
    refuse_non_report(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomically(path, report.to_html())  # killed part-way: the earlier page whole
