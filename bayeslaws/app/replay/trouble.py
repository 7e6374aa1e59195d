"""The warnings of a replay's fits and designs: recorded into the history during the steps
(:func:`recording_warnings`), then named once at the replay's end, one warning per kind
(:func:`warn_trouble`: failed sampler checks and drift refits, the designs' warnings, the fits'
other warnings).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd

from ...design import DesignWarning
from ...inference.diagnostics import SamplerWarning
from ...runs.warn import user_stacklevel
from .history import (
    WARNING_SEPARATOR,
    category_counts,
    count_cell,
    r_hat_text,
    sampler_failed,
    split_warnings,
    step_name,
)
from .pool import SHOWN_ROWS


@contextlib.contextmanager
def recording_warnings(into: list) -> Iterator[None]:
    """Record the warnings raised inside the block (under the caller's filters) into the list
    ``into`` as ``"Category: message"`` texts instead of showing them: a replay keeps them in
    its history and names them once at its end (:func:`warn_trouble`). When the block raises,
    no row will hold them: they are shown as they came (category and place), then the error
    propagates."""
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            yield
    except Exception:
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        raise
    into.extend(f"{w.category.__name__}: {w.message}" for w in caught)


def _listed(items: list[str]) -> tuple[str, str]:
    """(" (the first 10)" when ``items`` are more than :data:`SHOWN_ROWS`, else ""; the first
    :data:`SHOWN_ROWS` of them joined by "; ") for a message."""
    first = f" (the first {SHOWN_ROWS})" if len(items) > SHOWN_ROWS else ""
    return first, "; ".join(items[:SHOWN_ROWS])


def _sampler_trouble(history: pd.DataFrame, label: str) -> str | None:
    """The SamplerWarning text of a replay ``history``: the rows whose fit failed the sampler
    checks (``sampler_ok`` False) and those whose drift calibration rests on failed scale-out
    refits (``drift_refits_failed`` above 0), each named by pool, strategy, seed and budget;
    None when there are none."""
    sentences = []
    if "sampler_ok" in history:
        bad = history[history["sampler_ok"].map(sampler_failed)]
        if len(bad):
            first, items = _listed(
                [
                    f"{step_name(r)}: max R-hat {r_hat_text(r.get('max_r_hat', np.nan))}, min "
                    f"bulk ESS {r.get('min_ess_bulk', np.nan):.0f}, "
                    f"{count_cell(r.get('divergences'))} divergences"
                    for r in bad.to_dict("records")
                ]
            )
            sentences.append(
                f"{len(bad)} of {len(history)} history rows score a fit that failed the sampler "
                f"checks, so their scores rest on unreliable draws{first}: {items}. See the "
                "history columns sampler_ok, max_r_hat, min_ess_bulk, divergences and "
                "fit_warnings; more draws: sampler={'warmup': ..., 'draws': ...}."
            )
    if "drift_refits_failed" in history:
        failed = pd.to_numeric(history["drift_refits_failed"], errors="coerce")
        bad = history[failed > 0]
        if len(bad):
            first, items = _listed(
                [
                    f"{step_name(r)}: {count_cell(r['drift_refits_failed'])} of "
                    f"{count_cell(r.get('drift_refits'))} refits failed, max R-hat "
                    f"{r_hat_text(r.get('drift_refit_max_r_hat', np.nan))}, "
                    f"{count_cell(r.get('drift_refit_divergences'))} divergences"
                    for r in bad.to_dict("records")
                ]
            )
            sentences.append(
                f"{len(bad)} of {int(failed.notna().sum())} history rows score a fit whose drift "
                f"rate was calibrated on scale-out refits that failed their sampler checks, so "
                f"its drift intervals rest on unreliable refits{first}: {items}. See the history "
                "columns drift_refits_failed, drift_refit_max_r_hat, drift_refit_divergences and "
                "fit_warnings; more refit draws: replay.fits.DRIFT_CALIBRATION."
            )
    return f"{label}: {' '.join(sentences)}" if sentences else None


def warnings_trouble(
    history: pd.DataFrame, column: str, label: str, what: str, name=step_name
) -> str | None:
    """The text naming the rows of ``history`` whose ``column`` (``fit_warnings`` or
    ``design_warnings``) holds warnings (for ``fit_warnings``: other than the SamplerWarnings
    :func:`_sampler_trouble` covers), their categories, and the first text in full; None when
    there are none. ``what``: what raised them, for the message; ``name``: a row's step in
    words (a replay's: :func:`~.history.step_name`)."""
    if column not in history:
        return None
    rows, texts = [], []
    for r in history.to_dict("records"):
        found = split_warnings(r[column])
        if column == "fit_warnings":
            found = [t for t in found if not t.startswith(f"{SamplerWarning.__name__}: ")]
        if found:
            rows.append(f"{name(r)} ({category_counts(WARNING_SEPARATOR.join(found))})")
            texts.append(found[0])
    if not rows:
        return None
    first, items = _listed(rows)
    return (
        f"{label}: {what} warned at {len(rows)} of {len(history)} history rows (the texts in the "
        f"history column {column}){first}: {items}. The first: {texts[0]}"
    )


def warn_trouble(history: pd.DataFrame, label: str) -> None:
    """At the end of a replay (``label``: "replay" or "replay_many"), one warning per kind of
    trouble its ``history`` recorded, each naming the rows (pool, strategy, seed, budget):
    a :class:`~bayeslaws.inference.diagnostics.SamplerWarning` for fits that failed the
    sampler checks and drift calibrations resting on failed refits (:func:`_sampler_trouble`);
    a :class:`~bayeslaws.design.DesignWarning` for the steps whose design (``next_runs``)
    warned (column ``design_warnings``); a UserWarning for the fits' other warnings (column
    ``fit_warnings``). Nothing when all is well."""
    if history.empty:
        return
    found = [
        (SamplerWarning, _sampler_trouble(history, label)),
        (DesignWarning, warnings_trouble(history, "design_warnings", label, "next_runs")),
        (
            UserWarning,
            warnings_trouble(
                history, "fit_warnings", label, "the fits (besides their sampler checks)"
            ),
        ),
    ]
    for category, text in found:
        if text:
            warnings.warn(text, category, stacklevel=user_stacklevel())
