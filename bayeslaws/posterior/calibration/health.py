"""The health of a backtest's fit as scores columns (:data:`HEALTH_COLUMNS`: R-hat, bulk ESS,
divergences, sampler checks, runs flagged by the outlier screening; :func:`fit_health`) and the
one :class:`~bayeslaws.inference.SamplerWarning` naming the fits with problems
(:func:`warn_fit_health`)."""

from __future__ import annotations

from ...inference.diagnostics import SamplerWarning
from ...runs.checks import rows_text
from ...runs.warn import warn_user

HEALTH_COLUMNS = ("max_r_hat", "min_ess_bulk", "divergences", "diagnostics_ok", "n_flagged")


def flagged_rows(fit) -> list[str]:
    """The row labels (as text) of the training runs the fit's outlier screening flagged
    (``fit.record.data["screening"]``: its first round and, under ``screen="exclude"``, the
    refit's rounds), each once; empty when the fit was not screened or records none."""
    entry = (fit.record.data or {}).get("screening") or {}
    rows = [str(f["row"]) for f in entry.get("flagged") or []]
    for again in entry.get("rounds") or []:
        rows += [str(f["row"]) for f in again.get("flagged") or []]
    return list(dict.fromkeys(rows))


def fit_health(fit) -> dict:
    """The health of a fit as scores columns (HEALTH_COLUMNS): ``max_r_hat`` (largest R-hat;
    NaN with one chain), ``min_ess_bulk`` (smallest bulk ESS, draws), ``divergences`` (count),
    ``diagnostics_ok`` (``fit.diagnostics.ok``: no sampler problem, see
    :mod:`bayeslaws.inference.diagnostics`) and ``n_flagged`` (training runs flagged by the
    outlier screening, :func:`flagged_rows`; kept in the fit under the default
    ``screen="warn"``)."""
    diag = fit.diagnostics
    return {
        "max_r_hat": float(diag.max_r_hat),
        "min_ess_bulk": float(diag.min_ess_bulk),
        "divergences": int(diag.divergences),
        "diagnostics_ok": bool(diag.ok),
        "n_flagged": len(flagged_rows(fit)),
    }


def warn_fit_health(named_fits, what: str) -> None:
    """One :class:`~bayeslaws.inference.SamplerWarning` naming the fits of ``named_fits``
    ((name, fit) pairs) whose sampler checks failed (``fit.diagnostics.ok`` False) or whose
    outlier screening flagged runs, with their R-hat, bulk ESS, divergences, sampler problems
    and flagged rows (the first ten such fits; the rest counted); nothing when every fit is
    clean. ``what``: the caller, for the message ("backtest", "backtests")."""
    named_fits = list(named_fits)
    troubled = []
    for name, fit in named_fits:
        diag, flagged = fit.diagnostics, flagged_rows(fit)
        parts = []
        if not diag.ok:
            parts.append(
                f"R-hat {diag.r_hat_text}, min bulk ESS {diag.min_ess_bulk:.3g} of "
                f"{diag.n_draws} draws, {diag.divergences} divergences; "
                + "; ".join(diag.problems)
            )
        if flagged:
            parts.append(
                f"{len(flagged)} training run(s) flagged by the outlier screening and kept in "
                f"the fit: rows {rows_text(flagged)}"
            )
        if parts:
            troubled.append(f"{name!r} ({' | '.join(parts)})")
    if not troubled:
        return
    more = len(troubled) - 10
    shown = "; ".join(troubled[:10]) + (f"; and {more} more" if more > 0 else "")
    warn_user(
        f"{what}: {len(troubled)} of {len(named_fits)} fits have problems, so their scores "
        "may misstate what the intervals are worth (each scores row carries the fit's "
        f"{', '.join(HEALTH_COLUMNS)}): " + shown + ". Refit with more warm-up "
        "and draws (warmup=, draws=, chains=); check or exclude flagged runs",
        SamplerWarning,
    )
