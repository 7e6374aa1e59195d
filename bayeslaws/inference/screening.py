"""Outlier and divergence screening after every fit: runs far off the fitted law are flagged by
their row labels, never silently absorbed.

The rule (the same for every law, through its contract): for each observed run, the residual
is its observation (centred ln loss for most laws) minus the median of the posterior predictive
draws there; the residuals are standardised by a robust scale, 1.4826 x their median absolute
deviation (a few gross outliers cannot inflate it, as they inflate a fitted sigma), floored at
a quarter of the typical predictive spread (per run IQR / 1.349 of the predictive draws: the sd
for a Gaussian, and finite for a Student-t whose fitted nu <= 2 has no sd). A run whose |z|
exceeds ``threshold`` is flagged.
Runs the law already treats (censored diverged runs) are not screened
(:meth:`~bayeslaws.laws.contract.Law.observation_rows`).

What happens to flagged runs is a recorded, switchable rule, ``bl.fit(..., screen=...)``:

* ``"warn"`` (default): an :class:`OutlierWarning` names the rows, their losses and how far off
  they lie, and says how to exclude them; the fit keeps them;
* ``"exclude"``: the flagged rows are excluded (``RunTable.exclude``, with the rule as the
  reason) and the law is refitted once; the refit is screened again and warns about any run
  that only then stands out;
* ``"off"``: no screening.

Screening needs ``MIN_RUNS`` (8) observed runs; with fewer it is skipped and the record says
why (``skipped``, which ``bayeslaws report`` prints as "screening: not done (...)"). Under
``"exclude"`` the fit then excludes nothing, and one :class:`OutlierWarning` says so with
that reason (:func:`warn_skipped`); under the default ``"warn"`` a skip is only recorded (a
warning there would fire on every small table, and there is nothing to exclude).

Flagged runs that lie where the law itself is known to misfit
(:meth:`~bayeslaws.laws.contract.Law.known_misfits`; e.g. the hyperparams law's high-LR cliff)
are warned about with the law's reason and remedy instead of as suspect runs, and
``"exclude"`` keeps them: dropping genuine runs where the law is wrong fits it further off
(Step Law, hyperparams at defaults: 42 such runs excluded moved lr_int from 1.12 to 1.39, away
from the far_above=0.03 fit's -0.09). They are recorded under ``"law_misfits"``.

``screen={"action": "exclude", "threshold": 8}`` changes the threshold. Every fit records the
rule, the flagged rows and what was done in ``fit.record.data["screening"]``.

Threshold: ``DEFAULT_THRESHOLD`` = 8 robust sd, chosen on the selection data of
docs/calibration_protocol.md (``python benchmarks/screening_study.py --draws 300`` prints the
|z| of every table, in benchmarks/output/screening_study.txt): on the runs that no one drops,
each table fitted whole, the largest |z| is 6.3 (Porian's nine configurations; Step Law's best
runs 2.3; Epoch's 240 kept points 6.2 inside the fit of all 245), while 4 of the 5
highest-loss points of Epoch's Chinchilla table, which Epoch dropped, lie 10-38 robust sd above
the fit (the fifth is in line with the law). The 240 kept points' 6.2 was read inside a fit
the 4 gross points widen: fitted on their own, two of them (rows 5 and 10 of the 240) lie 9.6
and 8.5 robust sd off, so the default names them on Epoch's cleaned table (a warning; the fit
keeps them). The same happens after ``"exclude"`` drops the 4 (benchmarks/output/faults.txt):
it does one round and then only warns.
"""

from __future__ import annotations

import contextlib
import functools
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field, replace

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from numpyro import handlers

from ..laws.contract import model_key
from ..laws.likelihoods import pointwise_log_prob
from ..runs.checks import ArgumentTypeError
from ..runs.table import label_text
from ..runs.warn import warn_user
from . import exported, memory, padding
from .compilation import compilation_cache_enabled, jax_config_key

ACTIONS = ("warn", "exclude", "off")
DEFAULT_THRESHOLD = 8.0  # robust sd; see the module docstring
# fewer screened runs cannot tell an outlier from the law. A convention, not tuned on data:
# with a loss surface's 5 parameters fitted, fewer than 8 runs leave the MAD of the residuals
# resting on a handful of values that the fit itself has pulled towards zero
MIN_RUNS = 8
# the robust scale's floor, as a fraction of the median per-run predictive sd. A convention,
# not tuned on data: it acts only when the residuals' MAD is far below the predictive spread
# (a fit that interpolates its runs), where it keeps ordinary scatter from reading as huge z
SCALE_FLOOR = 0.25
MAD_TO_SD = 1.4826
IQR_TO_SD = 1.349  # the interquartile range of a normal distribution, in sds
_POINTWISE_CACHE: OrderedDict = memory.register(OrderedDict())


class OutlierWarning(UserWarning):
    """Runs lie far off the fitted law: the message names their rows and how to exclude them."""


@dataclass(frozen=True)
class RowNames:
    """Rows of a screened table that the user knows by other labels, for the warnings of a fit
    made inside :func:`named_rows`: the new runs of ``fit.update``, which the combined table
    labels on from the fitted runs' labels.

    shown : a row label's text -> its name in a message (e.g. "r_b of new_runs").
    exclude : those labels (a list, as screened) -> the Python that leaves them out (e.g.
        "new_runs.drop(index=['r_b'])").
    refit : the call that refits without the flagged rows (in place of
        ``bl.fit(..., screen='exclude')``).
    others : how the other rows (not in ``shown``) are named after their label, e.g. "of the
        fitted runs".
    exclude_others : labels of other rows (a list) -> how to refit without them (in place of
        ``runs.exclude(...)`` and the command line's ``--exclude-rows``).
    """

    shown: dict
    exclude: Callable[[list], str]
    refit: str
    others: str
    exclude_others: Callable[[list], str]


_ROW_NAMES: ContextVar[RowNames | None] = ContextVar("bayeslaws_screening_rows", default=None)


@contextlib.contextmanager
def named_rows(names: RowNames) -> Iterator[None]:
    """Screening's warnings inside the block name the rows of ``names`` as it says
    (:func:`describe`, :func:`warn_flagged`); other rows by their labels."""
    token = _ROW_NAMES.set(names)
    try:
        yield
    finally:
        _ROW_NAMES.reset(token)


def shown_label(label) -> str:
    """A row label in a screening message: its name under :func:`named_rows` (a renamed row's,
    or the label and what the other rows are), else its text."""
    names = _ROW_NAMES.get()
    if names is None:
        return str(label)
    return names.shown.get(str(label), f"{label} {names.others}")


def split_named(labels: list) -> tuple[list, list, RowNames | None]:
    """(``labels`` the user's table knows as they are; those :func:`named_rows` renames; the
    :class:`RowNames` in force, or None)."""
    names = _ROW_NAMES.get()
    if names is None:
        return list(labels), [], None
    return (
        [r for r in labels if str(r) not in names.shown],
        [r for r in labels if str(r) in names.shown],
        names,
    )


@dataclass(frozen=True)
class Screen:
    """The screening rule: ``action`` ("warn", "exclude" or "off") for runs whose robust |z|
    exceeds ``threshold``."""

    action: str = "warn"
    threshold: float = DEFAULT_THRESHOLD

    def to_dict(self) -> dict:
        return asdict(self)


def as_screen(value) -> Screen:
    """A :class:`Screen` from ``screen=``: an action string, a dict with ``action`` and/or
    ``threshold``, a Screen, or None (off)."""
    if value is None:
        return Screen("off")
    if isinstance(value, Screen):
        screen = value
    elif isinstance(value, str):
        screen = Screen(value)
    elif isinstance(value, dict):
        unknown = sorted(set(value) - {"action", "threshold"})
        if unknown:
            raise ValueError(f"screen= got unknown key(s) {unknown}; use 'action', 'threshold'")
        screen = Screen(**value)
    else:
        raise ArgumentTypeError(
            f"screen must be one of {ACTIONS} or a dict {{'action': ..., 'threshold': ...}}, "
            f"got {type(value).__name__}"
        )
    if screen.action not in ACTIONS:
        raise ValueError(f"screen must be one of {ACTIONS}, got {screen.action!r}")
    t = screen.threshold
    if isinstance(t, bool) or not isinstance(t, int | float) or not np.isfinite(t) or t <= 0:
        raise ValueError(f"screen threshold must be a positive number of robust sd, got {t!r}")
    return Screen(screen.action, float(t))


@dataclass(frozen=True)
class Screening:
    """The outcome of screening one fit.

    rows : row labels of the screened runs (n,); z : their robust z-scores (n,);
    ratio : observed / fitted (natural units) per run (n,); flagged : labels with |z| >
    threshold; scale : the robust scale used; skipped : why screening did not run (or None);
    misfits : flagged labels that lie where the law is known to misfit -> the law's reason
    (:meth:`~bayeslaws.laws.contract.Law.known_misfits`), never excluded.
    """

    rule: Screen
    rows: list
    z: np.ndarray
    ratio: np.ndarray
    flagged: list
    scale: list
    skipped: str | None = None
    misfits: dict = field(default_factory=dict)

    @property
    def excludable(self) -> list:
        """The flagged labels that ``screen="exclude"`` excludes: all but the law's misfits."""
        return [r for r in self.flagged if r not in self.misfits]

    def misfit_groups(self, labels=None) -> list[tuple[str, list]]:
        """The law's misfits among ``labels`` (default: the flagged), as (reason, labels)
        pairs, in the order of the flagged (largest |z| first)."""
        labels = self.flagged if labels is None else labels
        groups: dict = {}
        for label in labels:
            if label in self.misfits:
                groups.setdefault(self.misfits[label], []).append(label)
        return list(groups.items())

    def record(self, excluded=None, rounds=None) -> dict:
        """JSON-ready: the rule, the flagged rows with z and ratio, what was done; the flagged
        runs where the law is known to misfit under ``"law_misfits"`` (kept whatever the
        action): a list of {"rows": labels as text, "reason": the law's words}."""
        by_row = dict(zip(map(str, self.rows), zip(self.z, self.ratio, strict=True), strict=True))
        out = {
            **self.rule.to_dict(),
            "rule": (
                "|observation - posterior predictive median| / scale > threshold, scale = "
                f"max({MAD_TO_SD} MAD of the residuals, {SCALE_FLOOR} x the median per-run "
                f"posterior predictive sd (IQR / {IQR_TO_SD}))"
            ),
            # the scale each target was divided by (the observation's units: ln loss for most
            # laws), one per observed target; empty when screening was skipped
            "scale": [_num(s) for s in self.scale],
            "n_screened": len(self.rows),
            "flagged": [
                {"row": str(r), "z": _num(by_row[str(r)][0]), "ratio": _num(by_row[str(r)][1])}
                for r in self.flagged
            ],
            "max_abs_z": _num(np.max(np.abs(self.z))) if len(self.z) else None,
            "skipped": self.skipped,
        }
        if self.misfits:
            out["law_misfits"] = [
                {"rows": [str(r) for r in labels], "reason": reason}
                for reason, labels in self.misfit_groups()
            ]
        if excluded is not None:
            out["excluded"] = [str(r) for r in excluded]
        if rounds is not None:
            out["rounds"] = rounds
        return out


def _num(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def is_observation(site) -> bool:
    """Whether a trace site is observed data: an observed sample site, not a
    ``numpyro.factor`` (an auxiliary site: a prior or penalty term, no run's likelihood)."""
    return (
        site["type"] == "sample"
        and site["is_observed"]
        and not (site.get("infer") or {}).get("is_auxiliary", False)
    )


def _pointwise_fn(law, static: dict):
    """A compiled function (samples, keys, data) -> (log-likelihood of every observed site,
    predicted observation site) per draw, kept per law and static arguments (compiling takes
    seconds; it replaces the log-likelihood pass ArviZ would otherwise compile)."""
    key = model_key(law, static) + jax_config_key()  # a 32-bit program is not a 64-bit one
    if key in _POINTWISE_CACHE:
        _POINTWISE_CACHE.move_to_end(key)
        return _POINTWISE_CACHE[key]
    # a new process loads the traced program instead of tracing it again (:mod:`.exported`)
    store = exported.programs(
        compilation_cache_enabled(), exported.program_key(law, ("pointwise",) + key)
    )
    model = padding.sampler_model(law, static)
    site_name = law.observed_site

    def one(sample, rng_key, data):
        seeded = handlers.seed(handlers.substitute(model, data=sample), rng_seed=rng_key)
        trace = handlers.trace(seeded).get_trace(**data)
        sites = {n: s for n, s in trace.items() if is_observation(s)}
        log_lik = {name: pointwise_log_prob(s["fn"], s["value"]) for name, s in sites.items()}
        observed = {name: site["value"] for name, site in sites.items()}
        site = trace[site_name]
        return log_lik, site["fn"].sample(jax.random.fold_in(rng_key, 1)), observed

    # the observed values are data, the same for every draw: not mapped
    mapped = jax.jit(jax.vmap(one, in_axes=(0, 0, None), out_axes=(0, 0, None)))
    fn = mapped if store is None else functools.partial(_through, store, mapped)
    _POINTWISE_CACHE[key] = fn
    while len(_POINTWISE_CACHE) > 8:
        _POINTWISE_CACHE.popitem(last=False)
    return fn


def _through(store, fn, *args):
    return store.call(fn, args)


def pointwise(law, prepared, static: dict, samples: dict, seed: int = 0):
    """Per posterior draw: the log-likelihood of every observed site (name -> (S, ...), as
    ``numpyro.infer.log_likelihood``) and a predictive draw of the observation site (S, ...),
    in one compiled pass; and the observed values (name -> array)."""
    samples = {k: jnp.asarray(v) for k, v in samples.items()}
    n = len(next(iter(samples.values())))
    keys = jax.random.split(jax.random.PRNGKey(seed), n)
    data = padding.pad(law, prepared.data)  # the sampler's size bucket: one compiled pass
    log_lik, predicted, observed = _pointwise_fn(law, static)(samples, keys, data)
    n = padding.n_runs(prepared.data)
    return (
        {k: np.asarray(padding.cut(v, n)) for k, v in log_lik.items()},
        np.asarray(padding.cut(predicted, n), float),
        {k: np.asarray(padding.cut(v, n)) for k, v in observed.items()},
    )


def screen_runs(law, prepared, predicted: np.ndarray, rule: Screen) -> Screening:
    """Robust z-scores of every exactly observed run against the fitted law, and the runs
    beyond ``rule.threshold`` (see the module docstring). ``predicted``: posterior predictive
    draws of the observation site, (S, *obs shape) (:func:`pointwise`)."""
    empty = np.zeros(0)
    labels = law.observation_rows(prepared)
    obs = np.asarray(prepared.data["obs"], float)
    if rule.action == "off":
        return Screening(rule, [], empty, empty, [], [], "screen='off'")
    if obs.shape[-1] != len(labels):
        return Screening(rule, [], empty, empty, [], [], "the law's observations are not runs")
    eligible = np.array([label is not None for label in labels])
    if eligible.sum() < MIN_RUNS:
        reason = (
            f"{int(eligible.sum())} runs are too few to tell an outlier from the law "
            f"(screening needs >= {MIN_RUNS})"
        )
        return Screening(rule, [], empty, empty, [], [], reason)
    q25, median, q75 = np.quantile(predicted, [0.25, 0.5, 0.75], axis=0)
    sd = (q75 - q25) / IQR_TO_SD  # robust: heavy-tailed draws cannot blow it up
    resid = (obs - median).reshape(-1, obs.shape[-1])[:, eligible]  # (targets, n)
    sd = sd.reshape(-1, obs.shape[-1])[:, eligible]
    centre = np.median(resid, axis=1, keepdims=True)
    mad = MAD_TO_SD * np.median(np.abs(resid - centre), axis=1, keepdims=True)
    floor = SCALE_FLOOR * np.median(sd, axis=1, keepdims=True)
    scale = np.maximum(np.maximum(mad, floor), 1e-12)
    z_all = resid / scale
    worst = np.argmax(np.abs(z_all), axis=0)
    cols = np.arange(z_all.shape[1])
    z = z_all[worst, cols]
    ratio = np.exp(resid[worst, cols])
    rows = [label for label in labels if label is not None]
    flagged = [rows[i] for i in np.flatnonzero(np.abs(z) > rule.threshold)]
    flagged.sort(key=lambda r: -abs(z[rows.index(r)]))
    misfits = law.known_misfits(prepared, list(flagged)) if flagged else {}
    misfits = {r: str(why) for r, why in misfits.items() if r in flagged}
    return Screening(rule, rows, z, ratio, flagged, scale.ravel().tolist(), misfits=misfits)


def describe(result: Screening, runs_df, limit: int = 10, labels=None) -> str:
    """The flagged rows (or ``labels`` among them) in words: label, group (a table with a
    group column), loss, observed / fitted, z."""
    labels = result.flagged if labels is None else labels
    parts = []
    index = {str(r): i for i, r in enumerate(result.rows)}
    for label in labels[:limit]:
        i = index[str(label)]
        where = ""
        if label in runs_df.index and "group" in runs_df:
            group = label_text(runs_df.loc[label, "group"])
            where = "" if group is None else f"group {group!r}, "
        if label in runs_df.index and "loss" in runs_df:
            where += f"loss {float(runs_df.loc[label, 'loss']):.4g}, "
        shown = shown_label(label)
        parts.append(f"{shown} ({where}{result.ratio[i]:.3g}x the fit, z {result.z[i]:+.0f})")
    more = len(labels) - limit
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def warn_flagged(result: Screening, runs_df, action: str, known=()) -> None:
    """Warn about the flagged rows, saying what was done and how to exclude them (at the
    user's line: :func:`~bayeslaws.runs.warn.warn_user`); those where the law is known to
    misfit (``result.misfits``) in a warning of their own, with the law's reason. ``action``:
    "warn" (kept), "exclude" (excluded and refitted) or "kept" (flagged by that refit);
    ``known``: labels warned about before (by the first fit's screening), left out."""
    known = {str(r) for r in known}
    labels = [r for r in result.excludable if str(r) not in known]
    if labels:
        _warn_suspect(result, runs_df, action, labels)
    fitted = "refitted" if action == "kept" else "fitted"
    for reason, rows in result.misfit_groups():
        rows = [r for r in rows if str(r) not in known]
        if not rows:
            continue
        kept = (
            "screen='exclude' does not exclude them: fit.record.data['screening']['law_misfits']"
            if result.rule.action == "exclude"
            else "screen='off' silences this"
        )
        warn_user(
            f"screening: {len(rows)} run(s) lie more than {result.rule.threshold:g} robust sd "
            f"off the {fitted} law where the law is known to misfit: rows "
            f"{describe(result, runs_df, labels=rows)}. They are kept in this fit ({kept}): "
            f"{reason}.",
            OutlierWarning,
        )


def skipped_text(result: Screening) -> str:
    """The report's line for a screening that did not run (as ``bayeslaws report`` prints
    it, :func:`bayeslaws.app.report.screening_sentence`): "screening: not done (reason).";
    '' when it ran."""
    return f"screening: not done ({result.skipped})." if result.skipped else ""


def warn_skipped(result: Screening) -> None:
    """Warn (:class:`OutlierWarning`, at the user's line) that screening asked to exclude
    (``result.rule.action == "exclude"``) was skipped, naming the reason
    (:func:`skipped_text`): no run was screened, so none was excluded. Nothing for another
    action or a screening that ran."""
    if result.rule.action != "exclude" or not result.skipped:
        return
    warn_user(
        f"{skipped_text(result)} screen='exclude' excluded nothing: no run was screened "
        "(fit.record.data['screening']['skipped'])",
        OutlierWarning,
    )


def _warn_suspect(result: Screening, runs_df, action: str, labels: list) -> None:
    """:func:`warn_flagged`'s warning of the flagged ``labels`` the law does not explain, with
    the ways to exclude them: rows renamed by :func:`named_rows` (an update's new runs) by
    their own remedy, the others by ``runs.exclude`` and the command line (under
    :func:`named_rows`: by its ``exclude_others``)."""
    own, renamed, names = split_named(labels)
    listed = " ".join(str(r) for r in own)
    off = (
        f"{len(labels)} run(s) lie more than {result.rule.threshold:g} robust sd off the "
        f"{'refitted' if action == 'kept' else 'fitted'} law: rows "
        f"{describe(result, runs_df, labels=labels)}. "
    )
    head = f"screening: {off}"
    if action == "exclude":
        tail = "They were excluded and the law refitted (screen='exclude'; see fit.record.data)."
    elif action == "kept":
        head = (
            "screening: after the runs flagged by screen='exclude' were excluded and the law "
            f"refitted without them, {off.replace(' run(s)', ' other run(s)', 1)}"
        )
        ways = [_exclude_own(own, names, "reason=...")] if own else []
        ways += [names.exclude(renamed)] if renamed else []
        tail = (
            "These were not excluded (screen='exclude' does one round): check them, and "
            f"exclude them with {', or '.join(ways)}."
        )
    else:
        ways = ["bl.fit(..., screen='exclude')" if names is None else names.refit]
        ways += [_exclude_own(own, names, "reason='...'")] if own else []
        ways += [names.exclude(renamed)] if renamed else []
        command_line = (
            f", or on the command line --exclude-rows {listed} --exclude-reason '...' (or "
            "--screen exclude)"
            if own and names is None  # an update's rows: fit.update has no command
            else ""
        )
        tail = (
            "They are kept in this fit: check them (diverged, mis-typed or mis-unit runs?). To "
            f"refit without them: {', or '.join(ways)}{command_line}; screen='off' silences "
            "this."
        )
    warn_user(head + tail, OutlierWarning)


def _exclude_own(labels: list, names: RowNames | None, reason: str) -> str:
    """How to refit without the rows ``labels`` that :func:`named_rows` does not rename:
    ``runs.exclude(...)`` (``reason``: its reason argument as written), or under
    :func:`named_rows` its ``exclude_others``."""
    if names is not None:
        return names.exclude_others(labels)
    listed = ", ".join(repr(r) for r in labels)
    return f"runs.exclude(runs.df.index.isin([{listed}]), {reason})"


def screen_fit(fit, screen="warn", seed: int = 0) -> Screening:
    """Screen a fit's own training runs after the fact (a loaded fit, another threshold): the
    :class:`Screening`, nothing warned. (The posterior is in the fit's reference scales, so
    only the runs it was fitted to can be screened against it.)"""
    rule = as_screen(screen)
    runs = fit.training_runs()
    if runs is None:
        raise ValueError("screen_fit() needs the fit's training runs, and this fit stores none")
    runs = _with_row_labels(fit, runs)
    prepared = fit.law.prepare(runs)
    static = {**prepared.static, "priors": fit.priors, "likelihood": fit.likelihood}
    if rule.action == "off":
        return screen_runs(fit.law, prepared, np.zeros(0), rule)
    _, predicted, _ = pointwise(fit.law, prepared, static, fit.draws(), seed)
    return screen_runs(fit.law, prepared, predicted, rule)


def _with_row_labels(fit, runs):
    """The fit's training runs labelled by the user's rows, as the fit's own screening named
    them. ``fit.training_runs()`` restores the labels the fit stored
    (``training_runs["row"]``); a fit saved before they were stored numbers its runs 0..n-1,
    which are the user's labels only when no row was excluded before the fit. After an
    exclusion the positions shift (position 9 is the run at row 10 once row 9 is excluded, so
    an excluded row's label would name a run that was fitted): such runs are named by their
    place in the fit ("fitted run 9"), never by a label the user may have excluded."""
    if "row" in (fit.record.training_runs or {}):
        return runs
    data = fit.record.data or {}
    excluded = sum(int(e.get("count", 0)) for e in data.get("exclusions") or [])
    if not excluded:
        return runs
    names = [f"fitted run {i}" for i in range(len(runs.df))]
    return replace(runs, df=runs.df.set_axis(pd.Index(names)))
