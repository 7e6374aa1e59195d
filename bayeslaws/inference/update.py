"""A fit updated with new runs: the refit of the campaign loop (propose runs, train them, update,
propose again), warm-started from the current posterior where the law can re-express that
posterior on the updated table's reference scales (the loss-surface laws and ``hyperparams``:
:meth:`~bayeslaws.laws.contract.Law.recentred`); otherwise a cold refit with the fit's own
warm-up.

``fit.update(new_runs)`` (:func:`update_fit`) refits the same law, likelihood, priors and sampler
settings by NUTS to the runs the fit used plus ``new_runs`` (a fit with prior draws gets as many,
drawn anew for the updated table). The runs the law's own rules left out
of the fit (``record.law_excluded_runs``: e.g. cells with no converged run, runs beyond a cell's
fence), which depend on the whole table, are put back, so the law applies its rules to the updated
table as a fresh fit of it would; runs excluded by the user or by screening stay out. (A fit saved
before law-excluded runs were kept warns, :class:`LawExclusionsWarning`, that they stay out.) The
refit is a full NUTS fit of all the runs (not an approximate sequential update: the posterior is
exactly that of the combined table). Where the law carries its posterior over (below), its
chains start where the current posterior is: each chain at one posterior draw. The warm-up is
the fit's own (default; at least 100 iterations), as long as a cold fit's: a warm start carries
the posterior's position, not the step size and mass matrix NUTS adapted (a halved warm-up,
the earlier default, left small ``hyperparams`` updates at the maximum tree depth with R-hat
above 1.01, which ``cold_above`` does not catch). The compiled kernel of a table of the same
shape is reused.

New runs are read in the units they are given in (``units=``, as ``load_runs`` takes it): a
fit whose runs were given in other units (:attr:`~.fit.Fit.units`, e.g. a batch in sequences
of 2048 tokens) does not guess whether a DataFrame of new runs is given the same way or in
canonical units (a batch read in the wrong one is 2048x off, and a few such runs beside many
do not move the table's plausibility checks): ``units=`` must say which
(:func:`frame_units`). A RunTable is taken as read: its values are canonical, read with the
units its load was given (and checked for plausibility there).

The draw is re-expressed for the refit's centring (:func:`initial_state`). A law samples
parameters centred on its table's reference scales (``Scales``: the geometric means of N, D and
the loss), and the refit centres on the combined table's, as a fresh fit of it would (the priors
are on the centred parameters: the posterior stays that of the combined table). A sampled value
copied as it is would stand for another E, A, B: in the scenario of
tests/test_update_recentred_warm_start.py (20 Chinchilla runs, then 8 at 10-25x the largest size)
the copied ``e_std`` lay about 12 posterior sd from the new posterior (``a_std``, ``b_std``
4-5), though E, A, B were within about one sd of it; re-expressed, every site started within
3.5 sd (at one draw of the old posterior, the wider). So the law maps each draw onto the new scales
(:meth:`~bayeslaws.laws.contract.Law.recentred`): the loss-surface laws keep every natural-unit
quantity of the draw (:meth:`~bayeslaws.laws.surface.LossSurfaceLaw.recentred`), law
``hyperparams`` its optima's laws, levels and bowls
(:meth:`~bayeslaws.laws.hyperparams.law.HyperparamsLaw.recentred`); a law that does not say how
its sites depend on the scales (the contract's default) gives none when the scales moved. Laws
``sweep``, ``hyperparams_two_stage`` and ``isoflop`` do not say it, and their reference scales
move with almost every new run (a new cell, a new loss level), so their update is in practice a
cold refit of the combined table with the fit's own warm-up. Sites not carried over, and sites
whose shape changed (a new cell's optimum, the deviations of a new group), start as a cold fit
would, and the record's note names the fit's sites that could not be carried (or says that the
refit started cold).

Mechanics: the warm-up runs here (``MCMC.warmup`` with the initial values, on the kernel that
:func:`~.nuts.fit` will use) and :func:`~.nuts.fit` then samples from the warmed-up state
(NumPyro's ``post_warmup_state``), which :func:`~.nuts.fit` clears after that one run, so no
later fit inherits it: not even the refit that ``screen="exclude"`` makes of the runs left
after screening (fewer runs padded to the same shapes share the kernel), which runs its own
warm-up from NumPyro's default start instead of starting at the state warmed up with the
excluded runs and skipping its warm-up.
Everything else (diagnostics, screening, the record) is :func:`~.nuts.fit`'s own, but that
screening's warnings name the new runs by their row labels in ``new_runs``, with the remedies
for ``new_runs`` (:func:`screening_names`), and its exclusions list them under
``rows_in_new_runs`` (:func:`screening_exclusions`). The record's notes say that the fit was
updated, from how many runs, and how long the warm-up took.

A warm start can leave a chain stuck where the new runs moved the posterior away from it (seen
in the Step Law design replay: R-hat 2.09, then 9.9e15, where a cold fit of the same runs gave
1.01). So when the refit's largest R-hat exceeds ``cold_above`` (default
:data:`COLD_ABOVE`), the refit is redone cold (the default initialisation, as a fresh fit of
the combined table; warm-up: the fit's own or the update's, whichever is more) and the
record's notes say so, with both R-hats (of "the warm refit", or of "the refit" when no site
started at the previous posterior). The warm refits of that replay that had not stuck reached
R-hat 1.12 at most; 1.01 is the bar the diagnostics report against. A one-chain fit has no
R-hat and is never redone.
"""

from __future__ import annotations

import inspect
import re
import time
import warnings
from dataclasses import dataclass, field, replace

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import pandas as pd
from numpyro.infer.initialization import init_to_value
from numpyro.infer.util import initialize_model

from ..laws.contract import Scales, near_label_hint
from ..runs import CANONICAL, PlausibilityWarning, RunTable, RunTableError, load_runs
from ..runs.checks import ArgumentTypeError, is_real, rows_text
from ..runs.columns import OPTIONAL_EXTRA
from ..runs.compute import same_compute_model
from ..runs.messages import format_value
from ..runs.plausible import check_plausible
from ..runs.provenance import frame_extent, recorded_extent
from ..runs.reading import diverged_flags
from ..runs.repeats import MATCH_RTOL, REPEAT_LOSS_RTOL, looks_repeated
from ..runs.table import label_key, label_text
from ..runs.units import unit_factors
from ..runs.warn import user_stacklevel
from . import memory, nuts, padding
from .fit import Fit
from .nuts import load_runs_remedy
from .record import current_precision
from .screening import RowNames, as_screen, named_rows

MIN_WARMUP = 100  # warm-up iterations of an update at the least (default: the fit's own)
COLD_ABOVE = 1.2  # largest R-hat of a warm refit above which it is redone cold
EXTRA_COLUMNS = ("diverged", "run")
LABEL_COLUMNS = ("group", "run")  # labels, stored as text (label_text), compared by label_key
NEW_RUNS_NOTE = "row labels of new_runs"  # what the rows of an update's warnings count


class NewGroupsWarning(UserWarning):
    """New runs in a group the fit does not have: the update adds it as a new group (a
    mistyped label, e.g. 'A' for 'a', would be one too)."""


@dataclass(frozen=True)
class FittedRow:
    """The label of a fitted run beside the new runs in their checks (:func:`check_new_runs`):
    equal to no label of ``new_runs``, never named."""

    position: int


class LawExclusionsWarning(UserWarning):
    """An update of a fit saved before fits kept the runs their law left out: those runs stay
    out of the update, not re-examined under the law's rules on the updated table."""


@dataclass(frozen=True)
class Combined:
    """The table an update refits, and how it was put together.

    runs : the fitted runs, the runs the law had left out (put back) and the new runs.
    dropped : columns of the fitted runs left out (the new runs lack them; the law ignores them).
    renamed : label of each row of ``new_runs`` (its kept and its excluded rows) -> its label
        in the updated fit.
    n_put_back : runs the fit's law had left out, put back for it to decide again.
    n_new : rows of ``new_runs`` in ``runs``.
    units : the multiplier each column of ``new_runs`` was read with (as
        :attr:`~bayeslaws.runs.RunTable.units`; {}: canonical).
    read : ``new_runs`` as a RunTable (itself, or the DataFrame as read: its entirely empty
        rows recorded as an exclusion and counted in its input rows), whose record the updated
        fit's provenance carries.
    """

    runs: RunTable
    dropped: list
    renamed: dict
    n_put_back: int
    n_new: int
    units: dict = field(default_factory=dict)
    read: RunTable | None = None


def law_excluded_frame(fit: Fit) -> tuple[pd.DataFrame | None, list]:
    """(The runs the fit's law left out (``record.law_excluded_runs``) in canonical columns,
    indexed by their row labels; None for a fit saved before they were kept. Their accepted
    row labels.)"""
    stored = fit.record.law_excluded_runs
    if stored is None:
        return None, []
    columns = {k: v for k, v in stored.items() if k not in ("row", "accepted_rows")}
    frame = pd.DataFrame(columns, index=pd.Index(list(stored.get("row", [])), dtype=object))
    for column in frame:
        if column not in ("group", "run", "diverged"):
            frame[column] = frame[column].astype(float)  # a column of None (NaN losses)
    accepted = {str(r) for r in stored.get("accepted_rows", [])}
    return frame, [r for r in frame.index if str(r) in accepted]


def earlier_runs(fitted: pd.DataFrame, put_back: pd.DataFrame | None) -> pd.DataFrame:
    """The fitted runs and the runs the law left out, in the order of their row labels when
    all are integers (the user's table's order), else fitted first."""
    if put_back is None or put_back.empty:
        return fitted
    both = pd.concat([fitted, put_back.reindex(columns=fitted.columns)], sort=False)
    both.index = pd.Index(list(fitted.index) + list(put_back.index))
    if all(isinstance(r, int | np.integer) for r in both.index):
        both = both.sort_index(kind="stable")
    return both


def with_new_extra_columns(earlier: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``earlier`` (the fitted and put-back runs) with each of :data:`EXTRA_COLUMNS` that only
    ``new`` has, so the refit reads it for the new runs: ``diverged`` as the earlier runs' own
    flags (False: the fit had no such column), ``run`` missing (unknown)."""
    out = earlier.copy()
    for column in EXTRA_COLUMNS:
        if column in new and column not in out:
            out[column] = diverged_flags(out) if column == "diverged" else np.nan
    return out


def warn_uncarried(new: pd.DataFrame, columns: list) -> None:
    """A UserWarning naming the run-table columns (``CANONICAL``, ``diverged``, ``run``) of the
    new runs left out of the updated fit's table (``columns``: those it keeps), e.g. a group
    column for a fit without groups: the fit's law does not read them. Other columns (a
    ``source``, the user's own notes) are not run-table columns and pass silently, as in a fit."""
    readable = (*CANONICAL, *OPTIONAL_EXTRA, "run")
    left = [str(c) for c in new.columns if c not in columns and c in readable]
    if left:
        warnings.warn(
            f"new_runs column(s) {left} are not carried into the updated fit (its law does "
            f"not read them; it keeps {[str(c) for c in columns]})",
            UserWarning,
            stacklevel=user_stacklevel(),  # the caller of fit.update
        )


def new_run_labels(new_runs, new: pd.DataFrame, start: int) -> dict:
    """Label in the updated fit of each row of ``new_runs``: its rows in the table (``new``)
    and, for a RunTable, the rows its own exclusions removed, numbered on from ``start`` in the
    order of their labels when all are integers (``start + k`` for row k of a default index),
    else kept rows first."""
    removed = [r for e in getattr(new_runs, "exclusions", ()) for r in e.rows]
    labels = list(new.index) + removed
    if all(isinstance(r, int | np.integer) for r in labels):
        labels = sorted(labels)
    return {r: start + k for k, r in enumerate(labels)}


def with_labels_as(df: pd.DataFrame, convert=label_text) -> pd.DataFrame:
    """``df`` with its :data:`LABEL_COLUMNS` as ``convert`` gives them: :func:`label_text`
    (stored text) or :func:`label_key` (the key they are compared by); missing: None."""
    out = df.copy()
    for column in (c for c in LABEL_COLUMNS if c in out):
        out[column] = pd.Series([convert(v) for v in out[column].tolist()], out.index, object)
    return out


def fitted_label_of_key(fitted) -> dict:
    """:func:`label_key` -> the fitted label (``fitted``: a column's labels) with that key, as
    the fit stores it (:func:`label_text`), for the keys of exactly one fitted label (a table
    whose text column held both "7" and "7.0" was fitted with two groups: neither is chosen);
    missing labels have no entry."""
    texts: dict = {}
    for text in dict.fromkeys(label_text(v) for v in fitted):
        texts.setdefault(label_key(text), []).append(text)
    return {key: found[0] for key, found in texts.items() if key is not None and len(found) == 1}


def with_fitted_labels(new: pd.DataFrame, earlier: pd.DataFrame) -> pd.DataFrame:
    """``new`` (the new runs) with each group and run label that is not a label of ``earlier``
    (the runs the fit was given) but has the :func:`label_key` of one written as that fitted
    label, exactly as the fit stores it: a group column of 7.0 (loaded as "7.0") joins the
    fit's group "7", and run 0.0 the run "0.0" of a fit saved before labels were stored by
    :func:`label_text`, so the update adds no group or run the fit has under another spelling.
    Other labels (new ones, missing ones) are kept."""
    out = new.copy()
    for column in (c for c in LABEL_COLUMNS if c in out and c in earlier):
        fitted = earlier[column].tolist()
        stored = {label_text(v) for v in fitted}
        by_key = fitted_label_of_key(fitted)
        out[column] = pd.Series(
            [
                v if label_text(v) in stored else by_key.get(label_key(v), v)
                for v in out[column].tolist()
            ],
            out.index,
            object,
        )
    return out


def rows_of_new_runs(labels, limit: int = 10) -> str:
    """``rows 0, 1 (row labels of new_runs)``: rows of ``new_runs`` in a message."""
    return f"rows {rows_text(labels, limit)} ({NEW_RUNS_NOTE})"


def labels_in_new_runs(renamed: dict) -> dict:
    """A new run's label in the combined table (as text) -> its label in ``new_runs``
    (``renamed``: label in ``new_runs`` -> label in the combined table)."""
    return {str(updated): row for row, updated in renamed.items()}


def python_labels(labels) -> str:
    """``'r_a', 3``: row labels as Python literals (a numpy integer as a plain int)."""
    return ", ".join(repr(r.item() if isinstance(r, np.generic) else r) for r in labels)


def leave_out_code(new_runs, labels) -> str:
    """The Python that leaves the rows ``labels`` (labels in ``new_runs``) out of ``new_runs``:
    ``new_runs.drop(index=[...])`` for a DataFrame, ``new_runs.exclude(...)`` for a RunTable
    (which the updated fit records). There is no ``bayeslaws update`` command: Python only."""
    shown = python_labels(labels)
    if isinstance(new_runs, RunTable):
        return f"new_runs.exclude(new_runs.df.index.isin([{shown}]), reason=...)"
    return f"new_runs.drop(index=[{shown}])"


def screening_names(new_runs, renamed: dict) -> RowNames:
    """How the screening of an update's refit names the new runs (:func:`~.screening.named_rows`):
    by their row labels in ``new_runs`` (``renamed``: label in ``new_runs`` -> label in the
    combined table), left out of ``new_runs`` (a DataFrame: dropped; a RunTable: excluded,
    which the updated fit records) and refitted by ``fit.update(..., screen='exclude')``; the
    other rows as rows of the fitted runs (the fit's row labels), left out by a fit of the
    runs it was given without them."""
    label_of = labels_in_new_runs(renamed)

    def exclude(labels: list) -> str:
        shown = python_labels(label_of[str(r)] for r in labels)
        if isinstance(new_runs, RunTable):
            return f"new_runs.exclude(new_runs.df.index.isin([{shown}]), reason='...')"
        return f"new_runs.drop(index=[{shown}])"

    def exclude_fitted(labels: list) -> str:
        return (
            "a fit of the runs this fit was given without them, bl.fit(runs.exclude("
            f"runs.df.index.isin([{python_labels(labels)}]), reason='...'), ...), updated with "
            "new_runs"
        )

    return RowNames(
        shown={key: f"{row} of new_runs" for key, row in label_of.items()},
        exclude=exclude,
        refit="fit.update(new_runs, screen='exclude')",
        others="of the fitted runs",
        exclude_others=exclude_fitted,
    )


def in_new_runs(labels: list, renamed: dict) -> str:
    """`` (new runs 'r_b', 'r_c' of new_runs)``: the labels in ``new_runs`` of those of
    ``labels`` (labels in the combined table, as text) that are new runs; '' when none is."""
    label_of = labels_in_new_runs(renamed)
    rows = [label_of[str(r)] for r in labels if str(r) in label_of]
    return f" (new runs {python_labels(rows)} of new_runs)" if rows else ""


def check_new_runs(
    df: pd.DataFrame,
    n_earlier: int,
    new_labels: pd.Index,
    new_accepted,
    given: list,
    new_runs,
) -> None:
    """The plausibility warnings (:func:`~bayeslaws.runs.plausible.check_plausible`) and the
    duplicate-rows warning about the new runs, the last ``len(new_labels)`` rows of ``df`` (the
    combined table), naming them by their row labels in ``new_runs`` (``new_labels``), with
    the remedy for ``new_runs`` (:func:`leave_out_code`). The
    earlier runs (the first ``n_earlier`` rows, checked at their load) and the new runs
    vetted as real (``new_accepted``: mask of ``new_labels``) count in the medians and as
    duplicates, never named."""
    checked = df.copy()
    earlier = [FittedRow(k) for k in range(n_earlier)]
    checked.index = pd.Index(earlier + list(new_labels), dtype=object)
    accepted = list(pd.Index(new_labels)[np.asarray(new_accepted, bool)])
    check_plausible(
        checked,
        row_note=NEW_RUNS_NOTE,
        given=given,
        accepted_rows=accepted,
        known_rows=earlier,
        leave_out=lambda labels: leave_out_code(new_runs, labels),
    )
    key = [c for c in CANONICAL if c in checked]
    quiet = checked.index.isin(earlier + accepted)
    dup = checked.duplicated(subset=key, keep=False).to_numpy(bool) & ~quiet
    if dup.any():
        remedy = leave_out_code(new_runs, checked.index[dup])
        warnings.warn(
            f"{int(dup.sum())} new run(s) are exact duplicates of another run (of the fit or of "
            f"new_runs) in columns {key}: {rows_of_new_runs(checked.index[dup])}. They are "
            f"kept; if they are copies rather than replicates, leave them out ({remedy}).",
            UserWarning,
            stacklevel=user_stacklevel(),  # the caller of fit.update
        )


def unconverged_new_runs(combined: Combined, new_runs) -> dict:
    """The new runs that a law fitting every run as a converged one refuses, by their row
    labels in ``new_runs`` (lists): ``"missing"`` (a missing loss), ``"posinf"`` (a loss
    of +inf in a DataFrame ``new_runs``, which the update reads as missing: a RunTable has read
    it so at its load, where it is ``"missing"``) and ``"flagged"`` (a true ``diverged`` flag);
    ``"rows"``, the labels of all of them in their order in ``new_runs``; and ``"n_new"``, the
    new runs in the combined table (``combined.runs``)."""
    df = combined.runs.df
    label_of = {updated: row for row, updated in combined.renamed.items()}
    new = df[[r in label_of for r in df.index]]
    labels = [label_of[r] for r in new.index]
    no_loss = new["loss"].isna().to_numpy(bool)
    posinf = set()
    if isinstance(new_runs, pd.DataFrame) and "loss" in new_runs:
        logged = pd.to_numeric(new_runs["loss"], errors="coerce").to_numpy(float)
        posinf = set(new_runs.index[np.isposinf(logged)])
    flagged = diverged_flags(new)
    return {
        "missing": [r for r, m in zip(labels, no_loss, strict=True) if m and r not in posinf],
        "posinf": [r for r, m in zip(labels, no_loss, strict=True) if m and r in posinf],
        "flagged": [r for r, f in zip(labels, flagged, strict=True) if f],
        "rows": [r for r, m in zip(labels, no_loss | flagged, strict=True) if m],
        "n_new": len(labels),
    }


def refuse_unconverged_new_runs(law_name: str, combined: Combined, new_runs) -> None:
    """Refuse (RunTableError) new runs that a law fitting every run as a converged one (its
    ``accepts_missing_loss`` False: its ``prepare`` refuses them,
    :func:`~bayeslaws.laws.contract.require_converged_runs`) cannot take: a missing or +inf
    loss, or a true ``diverged`` flag (:func:`unconverged_new_runs`). Said as the law's own
    refusal would say it, but naming the rows by their labels in ``new_runs`` and counting the
    new runs only (the law's refusal names rows of the combined table, which the user lacks),
    with the remedy for ``new_runs`` (a DataFrame: drop them; a RunTable: exclude them, which
    the updated fit records) in both forms. Returns None when every new run is converged."""
    bad = unconverged_new_runs(combined, new_runs)
    n_new = bad["n_new"]

    def rows(labels: list) -> str:
        return f"{len(labels)} of {n_new} new runs, at {rows_of_new_runs(labels)}"

    kinds = []
    if bad["missing"]:
        kinds.append(f"column 'loss' is missing in {rows(bad['missing'])}")
    if bad["posinf"]:
        kinds.append(f"column 'loss' is +inf (not finite) in {rows(bad['posinf'])}")
    if bad["flagged"]:
        kinds.append(f"column 'diverged' flags {rows(bad['flagged'])} as diverged")
    if not kinds:
        return
    needs = [
        "needs a finite loss for every run" if bad["missing"] or bad["posinf"] else "",
        "fits every run as a converged one (it counts no diverged run)" if bad["flagged"] else "",
    ]
    python = leave_out_code(new_runs, bad["rows"])
    others = (
        "; the hyperparams and sweep laws count the diverged runs of an LR x batch sweep"
        if bad["flagged"]
        else ""
    )
    raise RunTableError(
        f"law {law_name!r} {' and '.join(n for n in needs if n)}; {'; '.join(kinds)}: leave "
        f"them out of new_runs (Python: {python}; command line: bayeslaws fit of the whole "
        "table with --exclude-rows ROWS --exclude-reason TEXT)" + others
    )


def warn_near_repeats(earlier: pd.DataFrame, new: pd.DataFrame, new_runs) -> None:
    """A UserWarning naming the rows of ``new`` (the new runs, by their labels in ``new_runs``)
    that look like a run of ``earlier`` (the fitted and put-back runs, by the fit's row
    labels) without repeating it exactly (exact repeats are refused): the same design point
    within :data:`MATCH_RTOL`, the same group and run, the loss within
    :data:`REPEAT_LOSS_RTOL` (:func:`~bayeslaws.runs.repeats.looks_repeated`), e.g. the fit's
    own runs exported with their values rounded. They are kept, as new runs."""
    like = looks_repeated(new, earlier)
    if not like:
        return
    pairs = [f"{python_labels([row])} ~ {python_labels([fitted])}" for row, fitted in like.items()]
    warnings.warn(
        f"{len(like)} new run(s) look like runs this fit already has (row label in new_runs ~ "
        f"row label of the fitted run: {rows_text(pairs, noun='pairs')}; the same "
        f"design point within {MATCH_RTOL:.0%} in N, D, lr and batch_size where given, the "
        f"same group and run, the loss within {REPEAT_LOSS_RTOL:.1%}, e.g. runs exported with "
        "their values rounded): taken as new runs. If they are the same runs they now count "
        "twice and every interval is too narrow: leave them out "
        f"({leave_out_code(new_runs, list(like))}); a `run` column (e.g. the seed) tells real "
        "repeats apart",
        UserWarning,
        stacklevel=user_stacklevel(),  # the caller of fit.update (or Campaign.record)
    )


def warn_new_groups(earlier: pd.DataFrame, new: pd.DataFrame) -> None:
    """:class:`NewGroupsWarning` naming the groups of ``new`` (the new runs) that ``earlier``
    (the runs the fit was given) lacks, their rows in ``new_runs`` and the fit's groups: the
    update adds each as a new group, as a mistyped label would be (the fit's group that a
    label differs from only in case, or is close to, is named: :func:`near_group_note`).
    Groups are compared by :func:`label_key` (7.0 is the fit's group "7")."""
    if "group" not in new or "group" not in earlier:
        return
    fitted = sorted({label_text(g) for g in earlier["group"].tolist()}, key=str)
    known = {label_key(g) for g in fitted}
    labels = [label_text(g) for g in new["group"].tolist()]
    added = [g for g in dict.fromkeys(labels) if label_key(g) not in known]
    if not added:
        return
    rows = [r for r, g in zip(new.index, labels, strict=True) if g in added]
    near = [note for g in added if (note := near_group_note(g, fitted))]
    warnings.warn(
        f"the new runs at {rows_of_new_runs(rows)} are in group(s) {added} that the fit does not "
        f"have (its groups: {fitted}): the update adds each as a new group. If a label is "
        f"mistyped{' (' + '; '.join(near) + ')' if near else ''}, write it as the fit's "
        "group in new_runs",
        NewGroupsWarning,
        stacklevel=user_stacklevel(),  # the caller of fit.update
    )


def near_group_note(label: str, fitted: list) -> str:
    """How a new group's ``label`` is close to one of the ``fitted`` groups (text labels):
    "'Comma' differs from the fit's 'comma' only in case", "'dclmm': did you mean 'dclm'?"
    (:func:`~bayeslaws.laws.contract.near_label_hint`), or "" when no fitted label is close."""
    cased = [f for f in fitted if str(label).casefold() == str(f).casefold()]
    if cased:
        return f"{label!r} differs from the fit's {cased[0]!r} only in case"
    hint = near_label_hint(str(label), [str(f) for f in fitted])  # " (did you mean 'x'?)"
    return f"{label!r}: {hint.strip()[1:-1]}" if hint else ""


def units_text(units: dict) -> str:
    """``{'batch_size': 2048}``: a column -> multiplier dict in a message; ``{}`` for none."""
    return "{" + ", ".join(f"{c!r}: {format_value(f)}" for c, f in units.items()) + "}"


CANONICAL_WORDS = (
    "N in parameters, D in tokens, C in FLOPs, batch_size in tokens, lr and loss as they are"
)


def frame_units(fit: Fit, new: pd.DataFrame, units) -> dict:
    """The ``units=`` a DataFrame ``new_runs`` (``new``) is read with: ``units`` when given
    (:func:`unit_factors`), for the columns ``new`` has (``units=fit.units`` may name a column
    the new runs lack); else {} (canonical), unless the fit's runs were given in other units
    (:attr:`~.fit.Fit.units`, e.g. a batch in sequences of 2048 tokens) in a column ``new``
    has: whether the new runs are given as the fitted runs were or in canonical units is then
    unknown (a batch read in the wrong one is 2048x off), so RunTableError asks for
    ``units=``."""
    if units is not None:
        return {c: f for c, f in unit_factors(units).items() if c in new.columns}
    shared = [c for c in fit.units if c in new.columns]
    if shared:
        raise RunTableError(
            f"the fit's runs were given in other units (fit.units: {units_text(fit.units)}) "
            f"and new_runs has column(s) {shared}: say which units new_runs are in, "
            "fit.update(new_runs, units=fit.units) if as the fitted runs were given, or "
            f"units={{}} if in canonical units ({CANONICAL_WORDS})"
        )
    return {}


def read_new_frame(fit: Fit, new_runs: pd.DataFrame, units=None) -> RunTable:
    """A DataFrame of new runs read as :func:`combined_table` reads it: with ``units``
    (:func:`frame_units`), in the fit's compute model, missing losses allowed and every row
    accepted (the plausibility checks run once, beside the fitted runs:
    :func:`check_new_runs`)."""
    return load_runs(
        new_runs,
        units=frame_units(fit, new_runs, units),
        compute_model=fit.compute_model,
        allow_missing_loss=True,
        accepted_rows=new_runs.index,
        row_note=NEW_RUNS_NOTE,  # its messages name rows as the update's others do
    )


def combined_runs(fit: Fit, new_runs, units=None) -> tuple[RunTable, list]:
    """(``combined_table(fit, new_runs, units)``'s runs, and the columns it left out)."""
    combined = combined_table(fit, new_runs, units)
    return combined.runs, combined.dropped


def combined_table(fit: Fit, new_runs, units=None) -> Combined:
    """The runs the fit used, those its law's own rules left out (put back, for the law to
    apply its rules to the whole table) and ``new_runs`` (a RunTable or a DataFrame with
    canonical columns), in the fit's compute model. A DataFrame is read with ``units``
    (:func:`frame_units`: required when the fit's runs were given in other units in a column
    it has); a RunTable is taken as read (canonical values; ``units`` is not applied to it).
    The columns of the fitted runs that the
    new runs lack and the law does not read are left out. Runs excluded by the user or by
    screening stay out. The new runs' ``diverged`` and ``run`` columns are carried when the fit
    lacks them (:func:`with_new_extra_columns`); their other columns, which the law does not
    read, are left out with a warning naming them (:func:`warn_uncarried`).

    Plausibility and duplicate-row warnings name new runs only, once, by their row labels in
    ``new_runs``, checked beside the earlier runs (:func:`check_new_runs`): the earlier runs
    were checked when they were loaded. New runs in a group the fit does not have warn
    (:func:`warn_new_groups`). Group and run labels are kept as text, a missing one missing
    (:func:`label_text`), as the fit stores them, and compared by :func:`label_key` (7.0 and
    "7.0" are the fit's "7"); a new run's label with the key of a fitted one is written as
    the fitted one (:func:`with_fitted_labels`), so no group or run is added twice. The
    combined table's ``accepted_rows`` are the fit's and those of ``new_runs`` (a RunTable)."""
    old = fit.training_runs()
    if old is None:
        raise ValueError("fit.update needs the fit's training runs; this fit holds none")
    put_back, put_back_accepted = law_excluded_frame(fit)
    if isinstance(new_runs, RunTable):
        if not same_compute_model(new_runs.compute_model, fit.compute_model):
            raise ValueError(
                "new_runs were loaded with compute model "
                f"{new_runs.compute_model.description} but the fit uses "
                f"{fit.compute_model.description}: their C would mix FLOP counts; load "
                "them with bl.load_runs(..., compute_model=fit.compute_model)"
            )
        if units is not None and unit_factors(units) != dict(new_runs.units):
            raise ValueError(
                f"units={units_text(unit_factors(units))} applies to a DataFrame of new runs; "
                f"new_runs is a RunTable, read with units {units_text(dict(new_runs.units))} "
                "at its load: to read its file in other units, load it again with "
                "bl.load_runs(..., units=...)"
            )
        new = new_runs.df
        new_accepted = new.index.isin(list(new_runs.accepted_rows))
        read_with, loaded = dict(new_runs.units), new_runs
    elif isinstance(new_runs, pd.DataFrame):
        loaded = read_new_frame(fit, new_runs, units)
        new, read_with = loaded.df, dict(loaded.units)
        new_accepted = np.zeros(len(new), dtype=bool)
    else:
        raise ArgumentTypeError(
            f"new_runs must be a RunTable or a DataFrame of runs, got {type(new_runs).__name__}"
        )
    if new.empty:
        raise ValueError("new_runs has no rows")
    needed = [c for c in fit.law.run_columns if c not in new]
    if needed:
        raise ValueError(
            f"new_runs lack column(s) {needed} that law {fit.law.name!r} needs for a run"
        )
    if "loss" not in new:
        raise ValueError("new_runs lack column 'loss' (the trained runs' losses)")
    if "group" in old.df and "group" not in new:
        raise ValueError(
            f"new_runs lack the 'group' column this fit is grouped by (its groups: "
            f"{sorted(map(str, old.df['group'].unique()))}): say which group each new run is in"
        )
    if "group" in new and "group" not in old.df:
        raise ValueError(
            "new_runs have a 'group' column but the fit is not grouped: drop the column to add "
            "them to the one pool, or fit the whole table with its groups (bl.fit)"
        )
    columns = [c for c in CANONICAL + EXTRA_COLUMNS if c in old.df]
    missing = [c for c in columns if c not in new and c not in ("diverged", "run", "group")]
    needed_cols = set(fit.law.run_columns) | {"N", "D", "C", "loss"}
    if [c for c in missing if c in needed_cols]:
        raise ValueError(f"new_runs lack column(s) {missing} that the fitted runs have")
    # columns the law does not read (e.g. lr and batch_size of best-per-cell runs under a loss
    # surface) that the new runs lack: left out of the combined table, and said so
    columns = [c for c in columns if c not in missing]
    earlier = earlier_runs(old.df[columns], put_back)
    new = with_fitted_labels(new, earlier)  # group 7.0 as the fit's "7": no second group
    repeated, retried = split_repeats(earlier, new)  # on the columns both have (not a new run)
    if repeated:
        raise ValueError(
            f"new_runs repeat {len(repeated)} run(s) this fit already has (rows "
            f"{', '.join(map(str, repeated[:10]))}{' ...' if len(repeated) > 10 else ''} of "
            "new_runs: same N, D, loss and, where present, group, lr, batch_size and run): pass "
            "only the runs trained since the fit, or refit the whole table with bl.fit"
        )
    if retried:
        warnings.warn(
            f"new_runs rows {', '.join(map(str, retried[:10]))}"
            f"{' ...' if len(retried) > 10 else ''} diverged (missing loss) at the settings of a "
            "diverged run this fit already has: taken as retries (new runs); if one is the same "
            "run passed again it is counted twice. A `run` column (e.g. the seed) tells them "
            "apart",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    warn_near_repeats(earlier, new, new_runs)
    warn_new_groups(earlier, new)
    earlier = with_new_extra_columns(earlier, new)  # e.g. the new runs' `diverged` flags
    columns += [c for c in earlier if c not in columns]
    warn_uncarried(new, columns)
    frame = pd.concat([earlier, new.reindex(columns=columns)], ignore_index=True, sort=False)
    frame = with_labels_as(frame)  # the run labels alike: 7 (new) and "7" (fitted) are one
    start = next_label(earlier.index, excluded_labels(fit))
    renamed = new_run_labels(loaded, new, start)  # the rows its exclusions removed too
    refuse_label_clashes(earlier.index, renamed.values(), excluded_labels(fit))
    frame.index = pd.Index(list(earlier.index) + [renamed[r] for r in new.index])
    new_labels = frame.index[len(earlier) :]
    accepted = (
        list(old.accepted_rows) + list(put_back_accepted) + new_labels[new_accepted].tolist()
    )
    given = [c for c in ("N", "D") if c in frame]
    with warnings.catch_warnings():  # checked below: the new runs beside the earlier ones
        warnings.simplefilter("ignore", PlausibilityWarning)
        runs = load_runs(
            frame.drop(columns=["C"]),
            compute_model=fit.compute_model,
            allow_missing_loss=True,
            accepted_rows=frame.index,  # duplicates too: check_new_runs names them in new_runs
            **{c: c for c in given},
        )
    # the earlier runs were checked at their load: they count in the medians, never named
    check_new_runs(runs.df, len(earlier), new.index, new_accepted, given, new_runs)
    df = runs.df.copy()
    df["C"] = frame["C"].to_numpy(float)  # as given (e.g. an isoFLOP budget column)
    runs = replace(runs, df=df, accepted_rows=tuple(accepted))
    n_put_back = len(earlier) - len(old.df)
    return Combined(runs, missing, renamed, n_put_back, len(new), read_with, loaded)


def carried_exclusions(old: dict, put_back: bool) -> list:
    """The old fit's exclusions an update keeps: all of them, but the law's own (marked
    ``"by": "law"``) when its law-excluded runs were put back (the refit's law decides again)."""
    return [e for e in old.get("exclusions", []) if not (put_back and e.get("by") == "law")]


def new_runs_exclusions(new_runs, renamed: dict) -> list:
    """The exclusions of ``new_runs`` (a RunTable) as record entries naming their rows by
    their labels in the updated fit (``rows``), and in ``new_runs`` (``rows_in_new_runs``)."""
    return [
        {
            "reason": e.reason,
            "count": e.count,
            "rows": [str(renamed[r]) for r in e.rows],
            "rows_in_new_runs": [str(r) for r in e.rows],
        }
        for e in getattr(new_runs, "exclusions", ())
    ]


def screening_exclusions(exclusions: list, renamed: dict) -> list:
    """The refit's own exclusions (screening's, under ``screen="exclude"``), each naming new
    runs with ``rows_in_new_runs`` as :func:`new_runs_exclusions` records them: the labels in
    ``new_runs`` of its rows that are new runs (``renamed``: label in ``new_runs`` -> label in
    the updated fit); an entry of fitted runs only is kept as it is."""
    label_of = labels_in_new_runs(renamed)
    out = []
    for entry in exclusions:
        rows = [str(label_of[str(r)]) for r in entry.get("rows", []) if str(r) in label_of]
        out.append({**entry, "rows_in_new_runs": rows} if rows else dict(entry))
    return out


def carried_provenance(
    old: dict, refit: dict, new_runs, renamed: dict, put_back: bool = True
) -> dict:
    """The updated fit's run provenance (``record.data``): the refit's, with the old fit's
    exclusions (:func:`carried_exclusions`) and those of ``new_runs`` when it is a RunTable
    (:func:`new_runs_exclusions`, rows by their labels in the updated fit) kept before the
    refit's own (screening's: :func:`screening_exclusions`), both sources named and the input
    rows of both counted, so an update never forgets that runs were left out."""
    if isinstance(new_runs, RunTable):
        added, added_extent = new_runs.record(), new_runs.simulated
    else:
        added = {"source": "DataFrame", "n_input_rows": len(new_runs), "exclusions": []}
        added_extent = frame_extent(new_runs)  # by its source column, if any
    source = f"{old.get('source', 'unknown')} + update ({added['source']})"
    return {
        **refit,
        "source": source,
        "simulated": combined_extent(recorded_extent(old), added_extent),
        "simulated_source": source,
        **({"units": old["units"]} if old.get("units") else {}),  # the fit's, as first read
        "n_input_rows": int(old.get("n_input_rows", 0)) + int(added["n_input_rows"]),
        "exclusions": carried_exclusions(old, put_back)
        + new_runs_exclusions(new_runs, renamed)
        + screening_exclusions(refit.get("exclusions", []), renamed),
    }


def combined_extent(old: str, added: str) -> str:
    """How much of two tables together is SIMULATED from each one's extent ("all", "partly" or
    "none"): "all" or "none" when both are, else "partly"."""
    return old if old == added and old != "partly" else "partly"


def warn_unkept_law_exclusions(fit: Fit) -> None:
    """LawExclusionsWarning when ``fit`` was saved before fits kept the runs their law left
    out and its record lists exclusions other than screening's: those runs stay out."""
    if fit.record.law_excluded_runs is not None:
        return
    entries = [
        e
        for e in (fit.record.data or {}).get("exclusions", [])
        if not str(e.get("reason", "")).startswith("screening:")
    ]
    if not entries:
        return
    n_rows = sum(int(e.get("count", len(e.get("rows", [])))) for e in entries)
    reasons = "; ".join(str(e.get("reason", "?")) for e in entries)
    warnings.warn(
        f"this fit was saved before fits kept the runs their law leaves out: the {n_rows} "
        f"run(s) its record lists as excluded ({reasons}) stay out of the update; any of them "
        "that the law's own rules left out are not re-examined on the updated table; refit "
        "all the runs with bl.fit to re-examine them",
        LawExclusionsWarning,
        stacklevel=user_stacklevel(),
    )


def fitted_screen(fit: Fit) -> dict:
    """The screening rule ``fit`` was fitted under (its record's action and threshold), as a
    ``screen=`` value; ``{"action": "warn"}`` when it recorded none."""
    entry = (fit.record.data or {}).get("screening") or {}
    rule = {"action": entry.get("action", "warn")}
    if entry.get("threshold") is not None:
        rule["threshold"] = entry["threshold"]
    return rule


# a run's identity in update (``run``: e.g. a seed, which tells a retry from a repeat)
REPEAT_COLUMNS = ("N", "D", "loss", "group", "lr", "batch_size", "run")


def split_repeats(old: pd.DataFrame, new: pd.DataFrame) -> tuple[list, list]:
    """(labels of ``new``'s rows that repeat a run of ``old`` with a finite loss: refused;
    labels of its diverged rows, missing loss, at the settings of a diverged run of ``old``: a
    missing loss identifies no run, so these may be retries, e.g. another seed that diverged
    again, and are only warned about) (:func:`repeated_runs`)."""
    repeated = repeated_runs(old, new)
    diverged = [r for r in repeated if "loss" in new and is_missing(new.at[r, "loss"])]
    return [r for r in repeated if r not in diverged], diverged


def repeated_runs(old: pd.DataFrame, new: pd.DataFrame) -> list:
    """Labels of the rows of ``new`` equal to a run of ``old`` on :data:`REPEAT_COLUMNS` (those
    both have; group and run labels by :func:`label_key`: a fit stores its run 7 as "7", and
    one saved before labels were stored by :func:`label_text` its run 7.0 as "7.0" and a
    missing run as "nan"): a run passed again would be counted twice and narrow every
    interval."""
    keys = [c for c in REPEAT_COLUMNS if c in old and c in new]
    old, new = with_labels_as(old[keys], label_key), with_labels_as(new[keys], label_key)
    seen = {run_key(row) for row in old.itertuples(index=False, name=None)}
    rows = new.itertuples(index=False, name=None)
    return [label for label, row in zip(new.index, rows, strict=True) if run_key(row) in seen]


def run_key(row: tuple) -> tuple:
    """``row`` with every missing value (NaN, None) as one marker: a NaN loss (a diverged
    run) equals a NaN loss, which ``NaN != NaN`` would not."""
    return tuple(MISSING if is_missing(v) else v for v in row)


MISSING = ("missing",)  # a missing value in a run's key (run_key)


def is_missing(value) -> bool:
    """True for None, a float NaN and pandas' NA."""
    return bool(pd.api.types.is_scalar(value) and pd.isna(value))


def excluded_labels(fit: Fit) -> list:
    """Row labels the fit's exclusions name (its record's provenance)."""
    data = fit.record.data or {}
    return [r for e in data.get("exclusions", []) for r in e.get("rows", [])]


def next_label(earlier: pd.Index, taken=()) -> int:
    """The first label of the new runs in the combined table: one past the largest label, read
    as text (:func:`label_number`: 7 and "7" alike, as the record stores row labels), of the
    earlier runs (which keep theirs: their rows in the user's table, which screening names)
    and of ``taken`` (the excluded rows' labels, which the updated record still names)."""
    numbers = [label_number(r) for r in [*earlier, *taken]]
    return max((n for n in numbers if n is not None), default=-1) + 1


def label_number(label) -> int | None:
    """The integer a row label's text is (7, np.int64(7), "7", "-2"); None for other labels
    ("a", "7.0", "07x", "²")."""
    text = str(label)
    return int(text) if INTEGER_TEXT.fullmatch(text) else None


INTEGER_TEXT = re.compile(r"-?[0-9]+")  # an integer row label's text (ASCII digits)


def refuse_label_clashes(earlier: pd.Index, new_labels, taken=()) -> None:
    """Refuse (ValueError, naming them) new runs' labels whose text is that of a label of the
    earlier runs or of ``taken`` (the excluded rows'): row labels are stored and compared as
    text, so fitted run "3" and new run 3 would be one row in the record and in screening."""
    fitted = {str(r) for r in [*earlier, *taken]}
    clashes = [r for r in new_labels if str(r) in fitted]
    if clashes:
        raise ValueError(
            f"new runs' row label(s) {[str(r) for r in clashes[:10]]}"
            f"{' ...' if len(clashes) > 10 else ''} have the text of row labels the fit "
            "already has (row labels are stored and compared as text): give the new runs "
            "labels the fit does not use, or refit the whole table with bl.fit"
        )


def initial_values(
    fit: Fit, model, data: dict, chains: int, seed: int, scales: Scales | None = None
) -> dict:
    """Per chain, unconstrained initial values of every latent site (leading axis: chains; none
    for one chain, as NumPyro's ``init_params`` takes them): :func:`initial_state`'s."""
    return initial_state(fit, model, data, chains, seed, scales)[0]


def initial_state(
    fit: Fit, model, data: dict, chains: int, seed: int, scales: Scales | None = None
) -> tuple[dict, list, list]:
    """(Per chain, unconstrained initial values of every latent site (leading axis: chains;
    none for one chain, as NumPyro's ``init_params`` takes them); the latent sites started at
    the fit's posterior in every chain; the sites the fit's posterior has with the same shape
    that started as in a cold fit in some chain, sorted.)

    Each chain starts at one posterior draw of the fit, re-expressed by its law for the
    model's reference scales (``scales``: those ``data`` was prepared on; None: the fit's own)
    through :meth:`~bayeslaws.laws.contract.Law.recentred`, so that each sampled value stands
    for the natural-unit quantities (E, A, B, ...) of that draw: the raw values are centred on
    the fit's own scales (``record.scales``), and an update's table has others. Sites the
    law does not carry over, and sites whose shape changed (a new group's), start where
    NumPyro's default puts them (uniform in [-2, 2], unconstrained), as in a cold fit. Every
    start value is in the process's float precision (:func:`start_value`), whatever the fit's."""
    draws = fit.draws()
    law = fit.law
    old = Scales(fit.record.scales)
    new = old if scales is None else scales
    priors = law.priors(fit.likelihood, fit.priors)
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(next(iter(draws.values()))), size=chains, replace=False)
    keys = jax.random.split(jax.random.PRNGKey(seed), chains)
    shapes = _latent_shapes(model, data)
    carried = {
        name for name, shape in shapes.items()
        if name in draws and np.shape(draws[name])[1:] == shape
    }
    per_chain, started = [], set(carried)
    for c, s in enumerate(picks):
        recentred = law.recentred({k: v[s] for k, v in draws.items()}, old, new, priors)
        values = {
            name: start_value(recentred[name])
            for name, shape in shapes.items()
            if name in recentred and np.shape(recentred[name]) == shape
        }
        started &= set(values)
        info = initialize_model(
            keys[c], model, init_strategy=init_to_value(values=values), model_kwargs=data
        )[0]
        per_chain.append(info.z)
    init = per_chain[0] if chains == 1 else jax.tree.map(lambda *z: jnp.stack(z), *per_chain)
    return init, sorted(started), sorted(carried - started)


def start_value(value) -> jax.Array:
    """``value`` (a site's start value, any shape) in the process's float precision: float32,
    or float64 under ``jax_enable_x64``. A fit's draws keep the precision they were sampled in
    (a fit loaded or updated after the setting changed), while recentred values are computed
    anew, and NUTS's warm-up fails on a chain whose sites mix the two."""
    return jnp.asarray(value, dtype=current_precision())


def _latent_shapes(model, data: dict) -> dict:
    """Shapes of the model's latent (unobserved sample) sites."""
    seeded = numpyro.handlers.seed(model, jax.random.PRNGKey(0))
    trace = numpyro.handlers.trace(seeded).get_trace(**data)
    return {
        name: tuple(site["value"].shape)
        for name, site in trace.items()
        if site["type"] == "sample" and not site["is_observed"]
    }


def start_words(law_name: str, warm_sites: list, cold_sites: list) -> str:
    """How an update's chains started, for its record's note (:func:`initial_state`'s
    ``warm_sites`` and ``cold_sites``: the fit's sites started at its posterior, and those it
    has that started as in a cold fit)."""
    if not cold_sites:
        return "warm-started at the previous posterior"
    if not warm_sites:
        return (
            "started as a cold fit would, not at the previous posterior (law "
            f"{law_name!r} does not carry its posterior to the updated table's reference "
            "scales)"
        )
    return (
        f"warm-started at the previous posterior except {cold_sites}, which started as in a "
        f"cold fit (law {law_name!r} does not carry them to the updated table's reference "
        "scales, or a carried value fell outside its prior's support)"
    )


def prior_draws_of(fit: Fit) -> int:
    """The prior (predictive) draws ``fit`` holds (``idata.prior``, one chain; 0 when it has
    none): ``bl.fit(..., prior_draws=)``, which an update redraws for the updated table."""
    if "prior" not in fit.idata.groups():
        return 0
    return int(fit.idata.prior.sizes["draw"])


def update_arguments() -> list[str]:
    """The arguments ``fit.update`` takes after the new runs (:func:`update_fit`'s own)."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    parameters = list(inspect.signature(update_fit).parameters.values())[2:]  # fit, new_runs
    return [p.name for p in parameters if p.kind in kinds]


def refuse_unknown_arguments(unknown: dict) -> None:
    """Refuse (ArgumentTypeError naming them and :func:`update_arguments`) arguments that
    ``fit.update`` does not take, ``unknown`` (name -> value); a column mapping is sent to
    ``bl.load_runs`` (:func:`~.nuts.load_runs_remedy`)."""
    if unknown:
        remedy = load_runs_remedy(unknown, "new_runs", "fit.update(new_runs, ...)")
        raise ArgumentTypeError(
            f"fit.update() got unknown argument(s) {sorted(unknown)}: its arguments are "
            f"{update_arguments()} (the chains and the other sampler settings are the "
            f"fit's own; refit with bl.fit to change them){remedy}"
        )


def screened_out(fit: Fit) -> list:
    """Row labels (text) that ``screen="exclude"`` left out of ``fit`` (its record's
    screening entry); [] when none."""
    entry = (fit.record.data or {}).get("screening") or {}
    return [str(r) for r in entry.get("excluded") or []]


def update_fit(
    fit: Fit,
    new_runs,
    *,
    warmup: int | None = None,
    draws: int | None = None,
    seed: int | None = None,
    warn: bool = True,
    screen="fitted",
    cold_above: float | None = COLD_ABOVE,
    units: dict | None = None,
    **unknown,
) -> Fit:
    """The fit refitted to its runs plus ``new_runs``: warm-started from its posterior where
    the law can re-express that posterior on the updated table's reference scales (the
    loss-surface laws, ``hyperparams``; :meth:`~bayeslaws.laws.contract.Law.recentred`);
    otherwise a cold refit with the fit's own warm-up (:func:`initial_state`).

    Parameters
    ----------
    fit : the current fit (any law; it must hold its training runs, as every fit does).
    new_runs : the runs trained since (a RunTable or a DataFrame with canonical columns: the
        law's run columns and ``loss``).
    warmup : warm-up iterations per chain (default: the fit's own, at least 100: a warm start
        carries the posterior's position, not the adapted step size and mass matrix).
    draws : draws per chain (default: the fit's).
    seed : PRNG seed (default: the fit's seed + 1).
    warn, screen : as in :func:`~.nuts.fit`; ``screen="fitted"`` (default): the fit's own rule
        (:func:`fitted_screen`), so a fit that excluded outliers goes on excluding them.
    cold_above : largest R-hat of the refit (warm-started or not) above which it is redone cold
        (a stuck chain); ``None``: never.
    units : the units the columns of ``new_runs`` are given in, as ``load_runs(units=...)``
        takes them: ``units=fit.units`` for new runs given as the fitted runs were (e.g. a
        batch in sequences of 2048 tokens), ``{}`` for canonical ones (batch_size in tokens).
        A DataFrame is read with them; default (None): canonical, but when the fit's runs were
        given in other units (:attr:`~.fit.Fit.units`) in a column ``new_runs`` has, the update
        is refused (RunTableError) until ``units=`` says which. A RunTable was read at its
        load and is taken as read (its values are canonical); a ``units=`` given with it must
        be the units it was read with (:attr:`~bayeslaws.runs.RunTable.units`), else a
        ValueError naming both. The updated fit's
        :attr:`~.fit.Fit.units` stay the fit's (how its first runs were given).

    The runs the fit's law left out by its own rules (``record.law_excluded_runs``) are put
    back, so the law decides on the whole updated table; the user's and screening's exclusions
    stay, and those of ``new_runs`` are recorded with their rows' labels in the updated fit.
    Under a law that fits every run as a converged one (not ``hyperparams``, ``sweep``), new
    runs with a missing or +inf loss or flagged ``diverged`` are refused (RunTableError), named
    by their row labels in ``new_runs`` (:func:`refuse_unconverged_new_runs`).

    New runs that repeat a fitted run exactly (N, D, loss and, where present, group, lr,
    batch_size and run) are refused (ValueError); those that only look like one (the same
    design point within 1%, the same group and run, the loss within 0.1%: e.g. the fit's runs
    exported with rounded values) are kept with a UserWarning naming them and the fitted runs
    they look like (:func:`warn_near_repeats`). A fit with prior draws (``bl.fit(...,
    prior_draws=)``) has as many redrawn for the updated table (:func:`prior_draws_of`).

    Returns a new :class:`~.fit.Fit` (the old one is unchanged); its record's notes say it was
    updated, how many runs were put back, whether it started warm (and which sites did not),
    and whether it was redone cold. Screening's warnings name the new runs by their row labels
    in ``new_runs``, and a screening exclusion records them (``rows_in_new_runs``). Any other
    argument is refused (ArgumentTypeError naming it and the valid ones): the chains and the
    other sampler settings are the fit's own.
    """
    refuse_unknown_arguments(unknown)
    if cold_above is not None and (not is_real(cold_above) or not cold_above > 0):
        raise ValueError(f"cold_above must be a positive R-hat or None, got {cold_above!r}")
    screen = fitted_screen(fit) if isinstance(screen, str) and screen == "fitted" else screen
    as_screen(screen)  # checked before the warm-up, not after it
    if not isinstance(warn, bool | np.bool_):
        raise ArgumentTypeError(f"warn must be True or False, got {warn!r}")
    sampler = fit.record.sampler
    warmup = max(MIN_WARMUP, sampler.warmup) if warmup is None else warmup
    draws = sampler.draws if draws is None else draws
    seed = nuts.derived_seed(sampler.seed, 1, stride=1) if seed is None else seed
    warn_unkept_law_exclusions(fit)
    combined = combined_table(fit, new_runs, units)
    runs, dropped = combined.runs, combined.dropped
    law, priors = fit.law, fit.priors
    if not law.accepts_missing_loss:  # its prepare would name the combined table's rows
        refuse_unconverged_new_runs(law.name, combined, new_runs)
    options = dict(
        chains=sampler.chains,
        warmup=warmup,
        draws=draws,
        seed=seed,
        target_accept=sampler.target_accept,
        dense_mass=sampler.dense_mass,
        chain_method=sampler.chain_method,
        progress_bar=False,
    )
    prior = prior_draws_of(fit)  # redrawn for the updated table, as many as the fit had
    settings = nuts._settings(prior_draws=prior, **options)  # checked before the law prepares
    with warnings.catch_warnings():  # the refit prepares them again, and warns then
        warnings.simplefilter("ignore")
        prepared = law.prepare(runs)
    priors_used = law.priors(fit.likelihood, priors)
    static = {**prepared.static, "priors": priors_used, "likelihood": fit.likelihood}
    data = padding.pad(law, prepared.data)  # as nuts.fit pads them: the same cached kernel
    model = padding.sampler_model(law, static)
    init, warm_sites, cold_sites = initial_state(
        fit, model, data, settings["chains"], seed, prepared.scales
    )
    mcmc_settings = {k: v for k, v in settings.items() if k not in ("seed", "prior_draws")}
    mcmc = nuts._cached_mcmc(law, static, nuts._shapes(data), mcmc_settings)
    started = time.perf_counter()
    mcmc.warmup(
        jax.random.PRNGKey(nuts.derived_seed(seed, 7919, stride=1)),
        init_params=init,
        extra_fields=("diverging",),
        **data,
    )
    warmup_seconds = time.perf_counter() - started

    names = screening_names(new_runs, combined.renamed)

    def refit(warmup_iterations: int) -> Fit:
        with named_rows(names):  # screening names the new runs by their labels in new_runs
            return nuts.fit(
                runs,
                law,
                likelihood=fit.likelihood,
                priors=priors,
                warn=warn,
                screen=screen,
                label=fit.record.label,
                prior_draws=prior,
                **{**options, "warmup": warmup_iterations},
            )

    try:
        with warnings.catch_warnings(record=True) as caught:  # held until the refit stands
            warnings.simplefilter("always")
            with memory.held():  # a release would drop the kernel warmed up above
                new = refit(warmup)
    finally:
        mcmc.post_warmup_state = None  # nuts.fit clears it after its run; here if it raised
    back = combined.n_put_back
    note = (
        f"updated: {fit.n_runs} runs + {combined.n_new} new"
        + (f" + {back} the law had left out (put back for it to decide again)" if back else "")
        + f", {start_words(law.name, warm_sites, cold_sites)} ({warmup} warm-up iterations "
        f"per chain, {warmup_seconds:.1f} s)"
    )
    warm_r_hat = new.diagnostics.max_r_hat
    if cold_above is not None and warm_r_hat > cold_above:  # NaN (one chain): never
        cold_warmup = max(sampler.warmup, warmup)  # a fresh fit's, from NumPyro's start
        new = refit(cold_warmup)
        first = "the warm refit" if warm_sites else "the refit"  # nothing began warm
        note += (
            f"; {first}'s R-hat {warm_r_hat:.3g} exceeded {cold_above:g} (a stuck "
            f"chain), so it was redone cold ({cold_warmup} warm-up iterations): R-hat "
            f"{new.diagnostics.max_r_hat:.3g}"
        )
    else:
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        excluded = screened_out(new)
        if excluded:
            note += (
                f"; screen='exclude' left out rows {excluded}"
                f"{in_new_runs(excluded, combined.renamed)}, and the refit of the other runs "
                f"started cold ({warmup} warm-up iterations), not at the previous posterior"
            )
    if dropped:
        note += f"; columns {dropped} (not read by the law, absent from the new runs) left out"
    if combined.units:
        note += f"; new runs read with units={units_text(combined.units)}"
    data = carried_provenance(
        fit.record.data or {},
        new.record.data or {},
        combined.read,  # a DataFrame as read: its dropped empty rows recorded
        combined.renamed,
        put_back=fit.record.law_excluded_runs is not None,
    )
    record = replace(new.record, notes=list(new.record.notes) + [note], data=data)
    return Fit(new.idata, record, compute_model=new._compute_model)
