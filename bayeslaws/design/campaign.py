"""A design campaign: propose runs, train them, update the fit, propose again, with the state
saved between steps (a researcher's loop spans days)::

    camp = bl.design.Campaign.start(fit, target=bl.design.NOpt(C=1e22), folder="campaign")
    plan = camp.propose(cands, k=3)              # or budget=3e20 (FLOPs): a greedy batch that fits
    runs = camp.proposed_runs()                  # every run of the picked units (a sweep's all)
    ...train those runs...
    camp.record(trained)                         # fit.update(trained): the refit; saved
    camp.report()                                # the target's median and 90% interval now
    camp = bl.design.Campaign.load("campaign")   # next week: the same state
    plan = camp.propose(cands, budget=3e20)

The guardrails hold across the whole campaign: every proposal counts the runs the starting fit
was trained on and the runs recorded since (:meth:`~.guardrails.Guardrails.after`), so a design
point is not re-proposed batch after batch, nor is a run the campaign started from (a candidate
within :data:`MATCH_RTOL` of such a run in N and D is that design point). A new
proposal in the same step replaces the step's earlier one, which therefore does not count.
A proposal is kept as its runs (:func:`~.batch.runs_of_plan`): ``plan`` has one row per pick
(a unit picked twice, as guardrails with ``max_repeats`` > 1 allow, is proposed twice), and a
unit may be several runs (an LR x batch sweep at an unseen cell,
:func:`~.candidates.pool_units`), each of them matched and counted. A recorded run within
:data:`MATCH_RTOL` (1%) of a run of the step's proposal in N and D (and lr, batch_size; the
same group) counts under that proposed run's design point, so sizes rounded as logs print them
(9.13e7 for 91287093) do not free the proposed point again; the run is fitted as given, and
runs that match no proposed run are recorded with a :class:`RecordWarning` naming them. A run
that looks like one the fit already has (the same design point within that tolerance and its
loss within ``REPEAT_LOSS_RTOL``, 0.1%: :func:`~bayeslaws.runs.repeats.looks_repeated`, e.g.
the same log passed again with the loss rounded) is recorded with the warning
``fit.update`` gives for it, once (exact repeats of N, D and loss are refused by
``fit.update``).

What the campaign reports (:meth:`Campaign.report`) is what it designs for: the target's median
and central interval under the design's model discrepancy (:func:`.discrepancy.design_method`;
for a loss surface the GP pattern plus the drift beyond the training range), not the package
default's new-run interval, which widens only by what the training residuals show: once a few
large runs pin a mis-tilted form it is blind to the distance to the target (on Epoch's
replayed campaigns its 90% intervals missed 7-70% of the held-out runs by strategy and budget,
26-70% in ours' (mean over 2 seeds: ``coverage_gp`` in
``benchmarks/output/design_replay_summary.csv``). With ``calibrate_drift=True`` every fit of the
campaign (the start and each refit) has its drift rate updated by its own scale-out splits
(:func:`.discrepancy.calibrate`), so the drift is drawn at the rate the runs show rather than
the corpus's (the shipped rate alone gave intervals about ten times wider than the errors there).

Saved state (one folder): ``fit.nc`` (the current fit), ``campaign.json`` (target, guardrails,
design options, the step), ``start_runs.csv`` (the starting fit's training runs: N, D and, when
present, lr, batch_size, group) and ``runs.csv`` / ``proposals.csv`` (every run recorded and
every proposed run, with the step; a proposed run also holds its unit, rank and the unit's plan
values, a recorded run matched to a proposed run that run's ``proposed_N``, ``proposed_D``
...). A folder saved when a proposal was kept as one row per unit loads as saved (its sweeps
matched by their first run only). Group labels are saved and read back as text exactly as
written ("NA", "01", "None" stay labels). A folder saved without ``start_runs.csv`` (before it
was kept) loads with the saved fit's training runs less the recorded ones. ``fits.csv`` holds
one row per fit the campaign has had (:attr:`Campaign.fits`: the starting fit, step 0, and each
refit, with its sampler seed, chains, draws and its own diagnostics' R-hat, ESS, divergences and
verdict), so an earlier fit's health and seed outlive the fit itself (only the current fit is
saved, as ``fit.nc``). A folder saved without ``fits.csv`` (before it was kept) loads with one
row, the current fit's, read from ``fit.nc`` and noted so: the earlier fits' rows are not
known. A save writes every file first into a ``.saving-*`` folder inside the campaign's and
then renames each into place, campaign.json last (:meth:`Campaign.save`): a save that fails
(e.g. a full disk) leaves the last complete save, and one cut short between the renames is
refused at load. :meth:`Campaign.load` refuses, with :class:`CampaignFolderError` naming the
folder and the file, files that are damaged (campaign.json not valid JSON or lacking a key, a
table row cut short) or that disagree (fits.csv's steps and campaign.json's step, fits.csv's
last row and fit.nc's sampler, runs recorded at a step not yet finished, runs the campaign
holds that fit.nc lacks: an older fit.nc). :meth:`Campaign.start`
refuses a folder that already holds a campaign (:meth:`Campaign.load` resumes it;
``overwrite=True`` starts afresh). Units: N params, D tokens, C FLOPs, budget in FLOPs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..inference import load_fit
from ..inference.update import read_new_frame
from ..posterior.draws import check_fit
from ..runs import RunTable
from ..runs.checks import rows_text
from ..runs.messages import ROWS_NOTE, at_rows
from ..runs.repeats import MATCH_RTOL, group_key, group_keys, near_design
from ..runs.table import label_text
from ..runs.warn import user_stacklevel
from . import targets as target_module
from .batch import next_runs, runs_of_plan
from .discrepancy import calibrate, design_method
from .guardrails import KEY_COLUMNS, Guardrails, run_keys
from .targets import as_targets, target_draws

STATE_FILE = "campaign.json"
FIT_FILE = "fit.nc"
RUNS_FILE = "runs.csv"
PROPOSALS_FILE = "proposals.csv"
START_RUNS_FILE = "start_runs.csv"
FITS_FILE = "fits.csv"
FIT_COLUMNS = (
    "step", "seed", "chains", "warmup", "draws", "max_r_hat", "min_ess_bulk", "min_ess_tail",
    "divergences", "sampler_ok", "note",
)  # fmt: skip
UNSAVED_FITS_NOTE = (
    "rebuilt at load from fit.nc: the folder has no fits.csv (saved before it was kept), so "
    "the fits of earlier steps are not known"
)
OPTION_NAMES = (
    "cost", "cost_power", "criterion", "model", "max_draws", "seed", "ci", "group", "flops_column"
)  # fmt: skip
CAMPAIGN_FILES = (STATE_FILE, RUNS_FILE, PROPOSALS_FILE)  # a folder holding one holds a campaign
# the order Campaign.save renames its files into place: fits.csv first (every record adds a
# row, so once it is in place the old campaign.json's step disagrees with it) and campaign.json
# last (the save is complete when it is in place); a save cut short in between is refused at load
SAVE_ORDER = (FITS_FILE, RUNS_FILE, PROPOSALS_FILE, START_RUNS_FILE, FIT_FILE, STATE_FILE)
STAGING_PREFIX = ".saving-"  # the folder (inside the campaign's) a save writes its files to first
STATE_KEYS = ("target", "guardrails", "options", "step")  # what campaign.json must hold
# per saved table, the columns its rows must hold (a row cut short lacks them)
REQUIRED_COLUMNS = {
    RUNS_FILE: ("N", "D", "step"),
    PROPOSALS_FILE: ("step",),
    START_RUNS_FILE: ("N", "D"),
    FITS_FILE: ("step", "seed", "chains", "warmup", "draws"),
}
SAMPLER_COLUMNS = ("seed", "chains", "warmup", "draws")  # fits.csv's row of fit.nc holds its own
# saved tables' text, read as written: group labels, the proposals' guardrail and greedy_rule,
# the fits' note
TEXT_COLUMNS = ("group", "guardrail", "greedy_rule", "note")
# MATCH_RTOL (bayeslaws.runs.repeats, 1%): a recorded run within it of a proposed run's N, D
# (lr, batch_size) is that run, as the guardrails count a candidate near an earlier run as it
PROPOSED = "proposed_"  # prefix of a recorded run's columns holding its proposed run's values


class CampaignFolderError(ValueError):
    """:meth:`Campaign.load`: a campaign folder whose files are damaged (not valid JSON, a table
    cut short) or disagree with each other (a save cut short, fit.nc replaced by another fit);
    the message names the folder, the file and the problem."""


class RecordWarning(UserWarning):
    """:meth:`Campaign.record`: new runs that match no run of the step's proposal, or proposed
    runs of the step that were not recorded (see the module docstring); runs that look like
    runs the fit already has are said by ``fit.update``."""


def _plain_values(values: dict, what: str = "option") -> dict:
    """``values`` (design options, or guardrails: ``what``) with numpy scalars as Python values
    (e.g. a seed np.int64(3) -> 3), checked to be JSON-ready (ValueError naming the entry
    otherwise): the saved state must load."""
    out = {}
    for name, value in values.items():
        value = value.item() if isinstance(value, np.generic) else value
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"Campaign {what} {name}={value!r} cannot be saved (give a number, a string, "
                "None or a list of them)"
            ) from None
        out[name] = value
    return out


def _target_spec(target) -> list:
    """JSON-ready description of a target or a list of targets."""
    out = []
    for t in as_targets(target):
        fields = {}
        for f in dataclasses.fields(t):
            value = getattr(t, f.name)
            if isinstance(value, np.ndarray | list | tuple):
                value = np.asarray(value, float).tolist()
            elif isinstance(value, np.generic):
                value = value.item()
            if value is not None and not isinstance(value, str | int | float | list | bool):
                raise ValueError(
                    f"Campaign: target field {type(t).__name__}.{f.name}={value!r} cannot be "
                    "saved (give numbers, sequences or strings)"
                )
            fields[f.name] = value
        out.append({"class": type(t).__name__, "fields": fields})
    return out


def fitted_runs(fit) -> pd.DataFrame:
    """The runs the fit was given, as the guardrails key them: N, D and, when present, lr,
    batch_size and group (labels as strings): its training runs and those its law's own rules
    left out (e.g. a cell whose every run diverged: trained, and put back by an update); an
    empty frame when the fit holds none."""
    runs = fit.training_runs()
    if runs is None:
        return pd.DataFrame()
    cols = [c for c in (*KEY_COLUMNS, "group") if c in runs.df]
    left_out = fit.record.law_excluded_runs or {}
    extra = pd.DataFrame({c: left_out[c] for c in cols if c in left_out})
    out = runs.df[cols].reset_index(drop=True)
    if len(extra) and list(extra.columns) == cols:
        out = pd.concat([out, extra], ignore_index=True)
    if "group" in out:
        out["group"] = out["group"].astype(str)
    return out


def without(runs: pd.DataFrame, recorded: pd.DataFrame) -> pd.DataFrame:
    """``runs`` less one run per recorded run with the same key (:func:`~.guardrails.run_keys`; a
    multiset difference): a saved fit's training runs less those the campaign recorded."""
    if runs.empty or recorded.empty:
        return runs
    left: dict = {}
    for key in run_keys(recorded[[c for c in runs.columns if c in recorded]]):
        left[key] = left.get(key, 0) + 1
    keep = []
    for key in run_keys(runs):
        keep.append(left.get(key, 0) == 0)
        if not keep[-1]:
            left[key] -= 1
    return runs[np.array(keep, bool)].reset_index(drop=True)


def refuse_existing_campaign(folder: Path) -> None:
    """FileExistsError when ``folder`` holds a campaign's state (any of
    :data:`CAMPAIGN_FILES`): starting there would replace its fit and empty its runs."""
    held = [name for name in CAMPAIGN_FILES if (folder / name).exists()]
    if held:
        raise FileExistsError(
            f"folder {str(folder)!r} already holds a campaign ({', '.join(held)}): "
            f"Campaign.load({str(folder)!r}) resumes it; Campaign.start(..., overwrite=True) "
            "starts afresh and replaces its state (fit, recorded runs, proposals)"
        )


def text_groups(runs: pd.DataFrame, fitted_groups=()) -> pd.DataFrame:
    """``runs`` with its group labels (if any) as text without surrounding spaces, as the fit
    keeps them (e.g. 1 -> "1", " web" -> "web"), a label with the key of one of
    ``fitted_groups`` (:func:`~bayeslaws.runs.repeats.group_key`) written as that group (7.0
    as the fit's "7")."""
    if "group" not in runs:
        return runs
    by_key = {group_key(g): g for g in fitted_groups if g is not None}

    def text(label):
        plain = label_text(label)
        return by_key.get(group_key(label), None if plain is None else plain.strip())

    return runs.assign(group=[text(g) for g in runs["group"]])


def match_runs(runs: pd.DataFrame, proposal: pd.DataFrame, group=None, rtol=MATCH_RTOL):
    """Per run of ``runs`` the position of the nearest run of ``proposal`` within ``rtol``
    (relative) in N, D and, where both hold them, lr and batch_size, in the same group (a
    proposal without a group column: ``group``, the campaign's; None matches any), else -1.
    Shape (len(runs),)."""
    out = np.full(len(runs), -1)
    if runs.empty or proposal.empty or not {"N", "D"} <= set(runs) & set(proposal):
        return out
    close, distance = _matchable(runs, proposal, rtol, group)
    for i in np.flatnonzero(close.any(axis=1)):
        out[i] = int(np.argmin(np.where(close[i], distance[i], np.inf)))
    return out


def _matchable(runs: pd.DataFrame, other: pd.DataFrame, rtol: float, group=None) -> tuple:
    """(len(runs) x len(other) booleans: the same design point within ``rtol``
    (:func:`~bayeslaws.runs.repeats.near_design`) in the same group (``other`` without a group
    column: ``group``; None matches any); the summed |log ratios|), the pairs
    :func:`match_runs` and :func:`unmatched_runs` choose from."""
    close, distance = near_design(runs, other, rtol)
    mine, theirs = group_keys(runs), group_keys(other, group)
    same = np.array([[a is None or b is None or a == b for b in theirs] for a in mine], bool)
    return close & same.reshape(close.shape), distance


def with_proposed(runs: pd.DataFrame, proposal: pd.DataFrame, matched) -> pd.DataFrame:
    """``runs`` with, per :data:`~.guardrails.KEY_COLUMNS` column both hold, ``proposed_<column>``:
    the value of the proposed run each matched (``matched``: positions in ``proposal``, -1
    none: NaN)."""
    matched = np.asarray(matched, int)
    out = runs.copy()
    for c in (c for c in KEY_COLUMNS if c in runs and c in proposal):
        values = proposal[c].to_numpy(float)[np.maximum(matched, 0)] if len(proposal) else 0.0
        out[PROPOSED + c] = np.where(matched >= 0, values, np.nan)
    return out


def canonical_frame(fit, new_runs, units) -> pd.DataFrame:
    """The trained runs as ``fit.update`` reads them, in canonical units (N params, D tokens, C
    FLOPs, batch_size tokens), as the proposals give them: a RunTable's table (read at its
    load), else the DataFrame ``new_runs`` read by :func:`~bayeslaws.inference.update.
    read_new_frame` (with ``units``, in ``fit``'s compute model, so the one of N, D, C it lacks
    is completed as the fit completes it; its other columns as given). Its warnings are not
    said again (the update, reading the same runs, said them)."""
    if isinstance(new_runs, RunTable):
        return new_runs.df
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_new_frame(fit, pd.DataFrame(new_runs), units).df.copy()


def guardrail_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The recorded ``runs`` as the guardrails count them: a run matched to a proposed run at
    that run's design point (its ``proposed_<column>`` values), the others as given."""
    out = runs.copy()
    for c in KEY_COLUMNS:
        if PROPOSED + c in out and c in out:
            out[c] = out[PROPOSED + c].where(out[PROPOSED + c].notna(), out[c])
    return out.drop(columns=[c for c in out if str(c).startswith(PROPOSED)])


def fit_row(fit, step: int, note: str = "") -> dict:
    """One row of :attr:`Campaign.fits` for ``fit``, the campaign's fit at ``step``, as the
    fit recorded it: seed, chains, warmup and draws (per chain) of its sampler
    (``fit.record.sampler``); max_r_hat (NaN with one chain), min_ess_bulk, min_ess_tail,
    divergences and sampler_ok (no problem found) of its own diagnostics
    (``fit.diagnostics``); ``note`` (text, "" when none)."""
    sampler, diag = fit.record.sampler, fit.diagnostics
    return {
        "step": int(step),
        "seed": int(sampler.seed),
        "chains": int(sampler.chains),
        "warmup": int(sampler.warmup),
        "draws": int(sampler.draws),
        "max_r_hat": float(diag.max_r_hat),
        "min_ess_bulk": float(diag.min_ess_bulk),
        "min_ess_tail": float(diag.min_ess_tail),
        "divergences": int(diag.divergences),
        "sampler_ok": bool(diag.ok),
        "note": note,
    }


def _warn_unmatched(runs: pd.DataFrame, matched, step: int, has_proposal: bool) -> None:
    rows = [label for label, m in zip(runs.index, matched, strict=True) if m < 0]
    if rows:
        why = "" if has_proposal else " (the step has no proposal)"
        warnings.warn(
            f"Campaign.record: new_runs rows {rows_text(rows)} match no run proposed at step "
            f"{step}{why} (within {MATCH_RTOL:.0%} in N, D, lr and batch_size where given, the "
            "same group): recorded as given, and the guardrails count them at their own N and D, "
            "so a proposed point "
            "they were meant to train may be proposed again",
            RecordWarning,
            stacklevel=user_stacklevel(),
        )


def proposed_runs_words(proposal: pd.DataFrame, positions, limit: int = 10) -> str:
    """The runs of ``proposal`` at ``positions`` for a message, each by its design point: N
    (params), D (tokens), the lr and batch_size (tokens) and group it holds, e.g. ``(N 1e+08,
    D 2e+09, lr 0.001)``; the first ``limit``, then ``... and k more runs``."""
    words = []
    for i in list(positions)[:limit]:
        run = proposal.iloc[i]
        held = [c for c in KEY_COLUMNS if c in proposal and pd.notna(run[c])]
        parts = [f"{c} {float(run[c]):.4g}" for c in held]
        if "group" in proposal and label_text(run["group"]) is not None:
            parts.append(f"group {label_text(run['group'])}")
        words.append(f"({', '.join(parts)})")
    more = len(positions) - len(words)
    rest = f", ... and {more} more run{'s' if more != 1 else ''}" if more else ""
    return ", ".join(words) + rest


def _warn_unrecorded(proposal: pd.DataFrame, runs: pd.DataFrame, step: int) -> None:
    """A :class:`RecordWarning` naming the runs of the step's ``proposal`` that no recorded run
    (``runs``) matches (:func:`unmatched_runs`: each recorded run stands for one proposed run),
    e.g. a diverged run left out: the guardrails do not count them, so they stay proposable."""
    left = unmatched_runs(proposal, runs)
    if not left:
        return
    warnings.warn(
        f"Campaign.record: {len(left)} of the {len(proposal)} run(s) proposed at step {step} "
        f"were not recorded: {proposed_runs_words(proposal, left)} (matched within "
        f"{MATCH_RTOL:.0%} in N, D, lr and batch_size where given, the same group): the "
        "guardrails do not count them, so the next proposal may pick them again (e.g. a run "
        "that diverged); leave such a point out of the candidates to stop that",
        RecordWarning,
        stacklevel=user_stacklevel(),
    )


def _targets_from(spec: list):
    targets = []
    for item in spec:
        cls = getattr(target_module, item["class"], None)
        if not (isinstance(cls, type) and issubclass(cls, target_module.Target)):
            raise ValueError(f"campaign state names an unknown target {item['class']!r}")
        targets.append(cls(**item["fields"]))
    return targets[0] if len(targets) == 1 else targets


class Campaign:
    """The state of a design campaign (see the module docstring).

    Attributes: fit (the current :class:`~bayeslaws.inference.Fit`), target, guardrails
    (:class:`~.guardrails.Guardrails` without the earlier runs: they are added at every proposal),
    options (passed to :func:`~.batch.next_runs`), start_runs (the starting fit's training runs,
    :func:`fitted_runs`: the guardrails count them), runs (DataFrame of the runs recorded, with
    ``step``), proposals (DataFrame of every proposed run, :func:`~.batch.runs_of_plan`, with
    ``step``), fits (DataFrame, one row per fit the campaign has had: :attr:`fits`), step
    (batches recorded), folder (where the state is saved, or None), calibrate_drift (update
    every new fit's drift rate with its own scale-out splits, :func:`.discrepancy.calibrate`).
    """

    def __init__(
        self, fit, target, *, guardrails=None, options=None, folder=None, calibrate_drift=False
    ):
        check_fit(fit)
        self.fit = fit
        self.target = target
        as_targets(target)
        self.guardrails = Guardrails() if guardrails is None else guardrails
        if not isinstance(self.guardrails, Guardrails):
            raise ValueError(f"guardrails must be a Guardrails, got {self.guardrails!r}")
        self.options = dict(options or {})
        unknown = sorted(set(self.options) - set(OPTION_NAMES))
        if unknown:
            raise ValueError(f"Campaign options {unknown} unknown; allowed: {OPTION_NAMES}")
        self.options = _plain_values(self.options)
        self.start_runs = fitted_runs(fit)
        self.runs = pd.DataFrame()
        self.proposals = pd.DataFrame()
        self.step = 0
        self._fits = pd.DataFrame([fit_row(fit, 0)], columns=list(FIT_COLUMNS))
        self.folder = None if folder is None else Path(folder)
        self.calibrate_drift = bool(calibrate_drift)

    @property
    def fits(self) -> pd.DataFrame:
        """One row per fit the campaign has had, in order (a copy): the starting fit (step 0)
        and the refit of each :meth:`record` (step s: the fit after the runs of step s - 1,
        the one step s proposes with). Columns (:func:`fit_row`): step, seed (the sampler's
        PRNG seed), chains, warmup and draws (per chain), max_r_hat, min_ess_bulk,
        min_ess_tail, divergences, sampler_ok (the fit's own diagnostics: True when it found
        no problem) and note (text; a folder saved before fits.csv was kept loads with the
        current fit's row alone, noted so). Saved as ``fits.csv``."""
        return self._fits.copy()

    @classmethod
    def start(
        cls,
        fit,
        target,
        *,
        folder=None,
        guardrails=None,
        calibrate_drift=False,
        overwrite=False,
        **options,
    ) -> Campaign:
        """A new campaign from a fit (saved to ``folder`` when given); with
        ``calibrate_drift`` the fit's drift rate is updated by its own scale-out splits first
        (and every refit's after :meth:`record`). A ``folder`` that already holds a campaign is
        refused (FileExistsError: :meth:`load` resumes it) unless ``overwrite=True``, which
        replaces its state with the new campaign's."""
        if folder is not None and not overwrite:
            refuse_existing_campaign(Path(folder))
        camp = cls(
            fit, target, guardrails=guardrails, options=options, folder=folder,
            calibrate_drift=calibrate_drift,
        )  # fmt: skip
        if camp.calibrate_drift:
            calibrate(camp.fit, seed=camp.options.get("seed"))
        if camp.folder is not None:
            camp.save()
        return camp

    def report(self, ci: float | None = None) -> pd.DataFrame:
        """What the campaign designs for, as it stands: per target component its median and
        central ``ci`` interval (default the campaign's ``ci`` option, else 0.9) under the
        design's model (:func:`.discrepancy.design_method` of the ``model`` option), in natural
        units. Columns: target, median, lower, upper, half_width (ln(upper / lower) / 2),
        method."""
        ci = float(self.options.get("ci", 0.9) if ci is None else ci)
        if not 0 < ci < 1:
            raise ValueError(f"ci must be in (0, 1), got {ci}")
        method = design_method(self.options.get("model"), self.fit)
        draws, labels, _ = target_draws(
            self.fit, self.target, int(self.options.get("seed") or 0), method
        )
        if draws is None:
            raise ValueError("Campaign.report: AllParameters() has no interval to report")
        lo, med, hi = np.quantile(draws, [(1 - ci) / 2, 0.5, (1 + ci) / 2], axis=0)
        return pd.DataFrame(
            {
                "target": labels,
                "median": np.exp(med),
                "lower": np.exp(lo),
                "upper": np.exp(hi),
                "half_width": 0.5 * (hi - lo),
                "method": method,
            }
        )

    # ---- the loop ------------------------------------------------------------------------------
    def propose(self, cands, *, k: int | None = 3, budget: float | None = None) -> pd.DataFrame:
        """The next batch (:func:`~.batch.next_runs`: ``k`` units, or with ``budget`` FLOPs a
        greedy batch that fits it: the better of the per-cost and the by-value greedy, a
        heuristic, not the best affordable batch), with the campaign-wide guardrails (counting
        the starting fit's training runs and the recorded runs). Returns the plan, one row per
        picked unit; the runs to train, every run of each unit (all of a sweep's), are
        :meth:`proposed_runs`. Those runs are kept as the proposal of the current step (a new
        proposal in the same step replaces it, so the replaced one's picks are not counted as
        earlier runs)."""
        rails = self.guardrails
        for earlier in (self.start_runs, guardrail_runs(self.runs)):
            rails = rails.after(earlier) if len(earlier) else rails
        plan = next_runs(
            self.fit, cands, self.target, k=k, budget=budget, guardrails=rails, **self.options
        )
        runs = runs_of_plan(cands, plan, self.fit).reset_index(drop=True)
        kept = self.proposals
        if not kept.empty:
            kept = kept[kept["step"] != self.step]
        self.proposals = pd.concat([kept, runs.assign(step=self.step)], ignore_index=True)
        if self.folder is not None:
            self.save()
        return plan

    def proposed_runs(self) -> pd.DataFrame:
        """The runs to train: every run of the current step's proposal (each picked unit's
        candidate rows, in rank order, :func:`~.batch.runs_of_plan`), with ``unit`` and
        ``rank``; empty before a proposal in this step."""
        kept = self.proposals
        if kept.empty:
            return kept
        return kept[kept["step"] == self.step].drop(columns="step").reset_index(drop=True)

    def record(self, new_runs, **update_options):
        """Add the trained runs (canonical columns and ``loss``: a DataFrame is read in canonical
        units, as the proposals give them, whatever units the fit's runs were given in, unless
        ``units=`` says otherwise; the runs are matched, kept in :attr:`runs` and counted by the
        guardrails in canonical units, :func:`canonical_frame`), refit
        (:meth:`~bayeslaws.inference.Fit.update`: warm-started from the current posterior where
        the law can re-express it on the updated table's reference scales, the loss-surface
        laws and ``hyperparams``; otherwise a cold refit with the fit's own warm-up, e.g.
        ``sweep``), advance the step, add the new fit's row to :attr:`fits` (its seed and
        health) and save.
        Each new run within :data:`MATCH_RTOL` of a run of this step's proposal (every run of
        its units, :meth:`proposed_runs`; N, D, lr, batch_size; the same group) counts under
        that proposed run for the guardrails (the fit takes it as given); a
        :class:`RecordWarning` names the runs that match no proposed run and the proposed
        runs of this step that no new run matches (e.g. a diverged run left out): the
        guardrails do not count those, so they stay proposable. Runs that look like a run the
        fit already has (same design point, loss within 0.1%) are named by ``fit.update``'s
        warning (one warning: the update's). Returns the new fit."""
        if not isinstance(new_runs, RunTable):  # a DataFrame: canonical, as the proposals are
            update_options = {"units": {}, **update_options}
        fitted = self.fit  # the fit the update reads new_runs against
        self.fit = self.fit.update(new_runs, **update_options)
        if self.calibrate_drift:
            calibrate(self.fit, seed=update_options.get("seed"))
        frame = canonical_frame(fitted, new_runs, update_options.get("units"))
        frame = text_groups(frame, self.fit.groups)
        proposal = self.proposals
        if not proposal.empty:
            proposal = proposal[proposal["step"] == self.step].reset_index(drop=True)
        matched = match_runs(frame, proposal, self.options.get("group"))
        _warn_unmatched(frame, matched, self.step, has_proposal=not proposal.empty)
        if not proposal.empty:
            _warn_unrecorded(proposal, frame, self.step)
        frame = with_proposed(frame, proposal, matched)
        self.runs = pd.concat([self.runs, frame.assign(step=self.step)], ignore_index=True)
        self.step += 1
        row = pd.DataFrame([fit_row(self.fit, self.step)], columns=list(FIT_COLUMNS))
        self._fits = pd.concat([self._fits, row], ignore_index=True)
        if self.folder is not None:
            self.save()
        return self.fit

    # ---- persistence ---------------------------------------------------------------------------
    def save(self, folder=None) -> Path:
        """Write the state to ``folder`` (default: the campaign's own). Every file is written
        first into a new folder inside ``folder`` (``.saving-*``), so a state that cannot be
        serialised or written (e.g. a full disk) leaves ``folder`` as it was: its last complete
        save, which :meth:`load` reads (this campaign can be saved again). Then each file is
        renamed into place (:data:`SAVE_ORDER`: fits.csv first, campaign.json last), so a save
        cut short between the renames (a killed process) leaves files that disagree, which
        :meth:`load` refuses, naming them and the ``.saving-*`` folder that holds the rest.
        One process at a time may save a folder (a complete save removes every ``.saving-*``
        folder in it, a cut one's and so another's in progress)."""
        folder = Path(folder) if folder is not None else self.folder
        if folder is None:
            raise ValueError("Campaign.save needs a folder (none was given at start)")
        rails = dataclasses.asdict(self.guardrails)
        rails.pop("earlier")
        state = {
            "target": _target_spec(self.target),
            "guardrails": _plain_values(rails, "guardrail"),
            "options": _plain_values(self.options),
            "step": self.step,
            "calibrate_drift": self.calibrate_drift,
        }
        text = json.dumps(state, indent=1, sort_keys=True)
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder, prefix=STAGING_PREFIX))
        try:
            self._write_files(staging, text)
        except BaseException as err:
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(err, OSError):
                err.add_note(
                    f"Campaign.save: nothing in {str(folder)!r} was changed (it holds its last "
                    f"complete save); this campaign (step {self.step}) is kept in memory: save "
                    "it again with .save() once the cause is fixed"
                )
            raise
        for name in SAVE_ORDER:  # cut short here, the rest stays in staging (load names it)
            os.replace(staging / name, folder / name)
        # this one, and any a cut save left (older than this complete save). So one process
        # at a time saves a folder: a save of another in progress there would lose its files
        for left in folder.glob(f"{STAGING_PREFIX}*"):
            shutil.rmtree(left, ignore_errors=True)
        self.folder = folder
        return folder

    def _write_files(self, staging: Path, state_text: str) -> None:
        """Write every file of :data:`SAVE_ORDER` into ``staging`` (``state_text``: the JSON of
        campaign.json)."""
        self.fit.save(staging / FIT_FILE)
        (staging / STATE_FILE).write_text(state_text)
        self.start_runs.to_csv(staging / START_RUNS_FILE, index=False)
        self.runs.to_csv(staging / RUNS_FILE, index=False)
        self.proposals.to_csv(staging / PROPOSALS_FILE, index=False)
        self._fits.to_csv(staging / FITS_FILE, index=False)

    @classmethod
    def load(cls, folder) -> Campaign:
        """The campaign saved in ``folder`` (one saved without ``fits.csv``: :attr:`fits` holds
        the current fit's row alone, read from ``fit.nc``, with a note saying so). A folder
        whose files are damaged or disagree (:func:`check_agreement`: e.g. a save cut short,
        or fit.nc replaced by another fit) is refused with :class:`CampaignFolderError`, a
        missing file with FileNotFoundError, each naming the folder and the file."""
        folder = Path(folder)
        state = _read_state(folder)
        for name in (FIT_FILE, RUNS_FILE, PROPOSALS_FILE):
            if not (folder / name).is_file():
                raise FileNotFoundError(
                    f"campaign folder {str(folder)!r}: {name} is missing (the folder is "
                    f"incomplete; restore {name} from a copy of the folder){_unfinished(folder)}"
                )
        fit = load_fit(folder / FIT_FILE)
        try:
            camp = cls(
                fit,
                _targets_from(state["target"]),
                guardrails=Guardrails(**state["guardrails"]),
                options=state["options"],
                folder=folder,
                calibrate_drift=state.get("calibrate_drift", False),
            )
        except (TypeError, ValueError, KeyError) as err:
            raise _folder_error(folder, STATE_FILE, f"holds a bad value ({err})") from None
        camp.step = state["step"]
        camp.runs = _read_saved(folder, RUNS_FILE)
        camp.proposals = _read_saved(folder, PROPOSALS_FILE)
        if (folder / START_RUNS_FILE).is_file():
            camp.start_runs = _read_saved(folder, START_RUNS_FILE)
        else:  # saved before the starting runs were kept: the saved fit holds them
            camp.start_runs = without(camp.start_runs, camp.runs)
        if (folder / FITS_FILE).is_file():
            camp._fits = _read_fits(folder)
        else:  # saved before the fits were kept: only the current fit is known
            row = fit_row(camp.fit, camp.step, UNSAVED_FITS_NOTE)
            camp._fits = pd.DataFrame([row], columns=list(FIT_COLUMNS))
        check_agreement(camp, folder)
        return camp


def _unfinished(folder: Path) -> str:
    """A note naming the unfinished saves in ``folder`` (their ``.saving-*`` folders, left by a
    save cut short: they hold the files it had not yet renamed into place), or ""."""
    left = sorted(p.name for p in folder.glob(STAGING_PREFIX + "*") if p.is_dir())
    if not left:
        return ""
    return (
        f". The folder holds an unfinished save ({', '.join(left)}: the files it had not yet "
        "renamed into place): moving its files into the folder (the newest's, if several) "
        "completes it"
    )


def _folder_error(folder: Path, name: str, problem: str) -> CampaignFolderError:
    """The error of a campaign folder whose file ``name`` has ``problem``."""
    return CampaignFolderError(
        f"campaign folder {str(folder)!r}: {name} {problem}{_unfinished(folder)}"
    )


def _read_state(folder: Path) -> dict:
    """campaign.json of ``folder``: a JSON object holding :data:`STATE_KEYS`, its step a
    non-negative integer (FileNotFoundError without it; :class:`CampaignFolderError` when it is
    damaged)."""
    path = folder / STATE_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{folder} holds no campaign ({STATE_FILE} missing){_unfinished(folder)}"
        )
    try:
        state = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise _folder_error(folder, STATE_FILE, f"is not valid JSON ({err})") from None
    if not isinstance(state, dict):
        raise _folder_error(folder, STATE_FILE, "is not a JSON object")
    lacking = [key for key in STATE_KEYS if key not in state]
    if lacking:
        raise _folder_error(folder, STATE_FILE, f"lacks {', '.join(map(repr, lacking))}")
    step = state["step"]
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise _folder_error(folder, STATE_FILE, f"holds step {step!r}, not a count (0, 1, ...)")
    return state


def _read_saved(folder: Path, name: str) -> pd.DataFrame:
    """The saved table ``name`` of ``folder`` (:func:`_read_table`), its rows holding
    :data:`REQUIRED_COLUMNS` (an empty file: no rows); :class:`CampaignFolderError` naming the
    file and rows otherwise (e.g. a row cut short)."""
    try:
        df = _read_table(folder / name)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        problem = f"is not a readable table ({' '.join(str(err).split())})"
        raise _folder_error(folder, name, problem) from None
    if df.empty:
        return df
    required = REQUIRED_COLUMNS[name]
    lacking = [c for c in required if c not in df]
    if lacking:
        raise _folder_error(folder, name, f"lacks the column(s) {', '.join(lacking)}")
    values = df[list(required)].apply(pd.to_numeric, errors="coerce")
    bad = values.isna().any(axis=1).to_numpy()
    if bad.any():
        rows = at_rows(list(np.flatnonzero(bad)), ROWS_NOTE)
        problem = f"has {rows} without a number in {', '.join(required)} (cut short or edited)"
        raise _folder_error(folder, name, problem)
    if "step" in required:
        step = values["step"].to_numpy(float)
        bad = (step != np.round(step)) | (step < 0)
        if bad.any():
            rows = at_rows(list(np.flatnonzero(bad)), ROWS_NOTE)
            raise _folder_error(folder, name, f"has {rows} whose step is not a count")
        df["step"] = step.astype(int)
    return df


def _read_fits(folder: Path) -> pd.DataFrame:
    """A saved :attr:`Campaign.fits` table: its note read as text ("" when empty), the other
    columns as pandas reads them (a missing value NaN)."""
    df = _read_saved(folder, FITS_FILE)
    return pd.DataFrame(columns=list(FIT_COLUMNS)) if df.empty else df


def check_agreement(camp: Campaign, folder: Path) -> None:
    """Raise :class:`CampaignFolderError` when the files ``camp`` was loaded from (``folder``)
    disagree (a save cut short, files of different saves, fit.nc replaced by another fit):
    :func:`_check_fits`, :func:`_check_steps`, :func:`_check_fitted`."""
    _check_fits(camp, folder)
    _check_steps(camp, folder)
    _check_fitted(camp, folder)


def _check_fits(camp: Campaign, folder: Path) -> None:
    """fits.csv holds one row per step (from the starting fit's, step 0, or the first fit
    known) up to campaign.json's step, the last one with fit.nc's own sampler seed, chains,
    warmup and draws."""
    step, fits = camp.step, camp._fits
    steps = fits["step"].astype(int).tolist()
    if not steps or steps != list(range(step - len(steps) + 1, step + 1)):
        raise _folder_error(
            folder, FITS_FILE, f"lists the fits of steps {steps}, but {STATE_FILE} is at step "
            f"{step} (one row per step up to it): a save cut short, or files of different saves",
        )  # fmt: skip
    saved, own = fits.iloc[-1], fit_row(camp.fit, step)
    differ = [c for c in SAMPLER_COLUMNS if float(saved[c]) != float(own[c])]
    if differ:
        said = ", ".join(f"{c} {own[c]} where fits.csv has {float(saved[c]):g}" for c in differ)
        raise _folder_error(
            folder, FIT_FILE, f"is not the fit fits.csv records for step {step} (its sampler's "
            f"{said}): fit.nc was replaced by another fit, or a save was cut short",
        )  # fmt: skip


def _check_steps(camp: Campaign, folder: Path) -> None:
    """Every recorded run (runs.csv) is of a step before campaign.json's, every proposed run
    (proposals.csv) of a step up to it."""
    for name, table, last, which in (
        (RUNS_FILE, camp.runs, camp.step - 1, "runs are recorded at earlier steps"),
        (PROPOSALS_FILE, camp.proposals, camp.step, "runs are proposed up to it"),
    ):
        steps = table["step"].to_numpy(int) if len(table) else np.zeros(0, int)
        late = np.flatnonzero(steps > last)
        if len(late):
            raise _folder_error(
                folder, name, f"has {at_rows([int(r) for r in late])} of step "
                f"{', '.join(map(str, sorted(set(steps[late].tolist()))))}, but {STATE_FILE} "
                f"is at step {camp.step} ({which}): a save cut short, or files of different "
                "saves",
            )  # fmt: skip


def _check_fitted(camp: Campaign, folder: Path) -> None:
    """Every run the campaign counts (start_runs.csv, then runs.csv) is among fit.nc's runs
    (:func:`fitted_runs`, :func:`unmatched_runs`), but for as many as fit.nc's record says were
    left out when it was fitted (:func:`fit_time_exclusions`)."""
    fitted = fitted_runs(camp.fit)
    counted = pd.concat([camp.start_runs, camp.runs], ignore_index=True)
    missing = np.array(unmatched_runs(counted, fitted), int)
    if len(missing) <= fit_time_exclusions(camp.fit):
        return
    n_start = len(camp.start_runs)
    recorded = missing[missing >= n_start] - n_start
    name, rows = (RUNS_FILE, recorded) if len(recorded) else (START_RUNS_FILE, missing)
    shown = at_rows([int(r) for r in rows])
    raise _folder_error(
        folder, FIT_FILE, f"lacks runs the campaign holds ({name}: {shown} "
        f"are not among fit.nc's {len(fitted)} runs within {MATCH_RTOL:.0%} in N and D): "
        "fit.nc is an older or another fit, or a save was cut short",
    )  # fmt: skip


def unmatched_runs(runs: pd.DataFrame, fitted: pd.DataFrame, rtol=MATCH_RTOL) -> list:
    """Positions of the rows of ``runs`` that no run of ``fitted`` matches (each fitted run
    matching one run at most: the same design point within ``rtol``, :func:`match_runs`' rule,
    and the same group where both hold one), in order."""
    if runs.empty:
        return []
    if fitted.empty or not {"N", "D"} <= set(runs) & set(fitted):
        return list(range(len(runs)))
    close, distance = _matchable(runs, fitted, rtol)
    free = np.ones(len(fitted), bool)
    out = []
    for i in range(len(runs)):
        options = close[i] & free
        if not options.any():
            out.append(i)
            continue
        j = int(np.argmin(np.where(options, distance[i], np.inf)))
        free[j] = False
    return out


def fit_time_exclusions(fit) -> int:
    """How many runs ``fit``'s record says were left out when it was fitted, by screening
    (``screen="exclude"``) or by its law's rules when they were not kept with the fit: runs a
    campaign holds may be among them (runs the user excluded from a table never reach it;
    the law's kept exclusions are among :func:`fitted_runs`)."""
    entries = (fit.record.data or {}).get("exclusions") or []
    unkept = fit.record.law_excluded_runs is None  # a fit saved before they were kept
    return sum(
        int(e.get("count", len(e.get("rows", []))))
        for e in entries
        if str(e.get("reason", "")).startswith("screening:") or (unkept and e.get("by") == "law")
    )


def _read_table(path: Path, dtype=None) -> pd.DataFrame:
    """A saved table, or an empty frame. Its :data:`TEXT_COLUMNS` (group labels, the
    proposals' guardrail and greedy_rule, the fits' note) are read as text exactly as written
    ("NA", "01", "None" and "" stay so); the other columns as pandas reads them (``dtype``:
    column -> type), an empty cell a NaN."""
    try:
        df = pd.read_csv(path, dtype=dtype)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    text = [c for c in TEXT_COLUMNS if c in df]
    if text:
        raw = pd.read_csv(path, usecols=text, dtype=str, keep_default_na=False)
        for c in text:
            df[c] = raw[c].to_numpy(object)
    return df
