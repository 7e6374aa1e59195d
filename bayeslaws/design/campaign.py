"""A design campaign: propose runs, train them, update the fit, propose again, with the state
saved between steps (a researcher's loop spans days)::

    camp = bl.design.Campaign.start(fit, target=bl.design.NOpt(C=1e22), folder="campaign")
    plan = camp.propose(cands, k=3)              # or budget=3e20 (FLOPs): a greedy batch that fits
    ...train the runs of ``plan``...
    camp.record(trained)                         # fit.update(trained): a warm-started refit; saved
    camp.report()                                # the target's median and 90% interval now
    camp = bl.design.Campaign.load("campaign")   # next week: the same state
    plan = camp.propose(cands, budget=3e20)

The guardrails hold across the whole campaign: every proposal counts the runs the starting fit
was trained on and the runs recorded since (:meth:`~.batch.Guardrails.after`), so a design
point is not re-proposed batch after batch, nor is a run the campaign started from. A new
proposal in the same step replaces the step's earlier one, which therefore does not count.

What the campaign reports (:meth:`Campaign.report`) is what it designs for: the target's median
and central interval under the design's model discrepancy (:func:`.discrepancy.design_method`;
for a loss surface the GP pattern plus the drift beyond the training range), not the package
default's new-run interval, which widens only by what the training residuals show: once a few
large runs pin a mis-tilted form it is blind to the distance to the target (on Epoch's
replayed campaigns its 90% intervals missed 9-57% of the held-out runs,
``benchmarks/output/design_replay_summary.txt``). With ``calibrate_drift=True`` every fit of
the campaign (the start and each refit) has its drift rate updated by its own scale-out splits
(:func:`.discrepancy.calibrate`), so the drift is drawn at the rate the runs show rather than
the corpus's (the shipped rate alone gave intervals about ten times wider than the errors there).

Saved state (one folder): ``fit.nc`` (the current fit), ``campaign.json`` (target, guardrails,
design options, the step), ``start_runs.csv`` (the starting fit's training runs: N, D and, when
present, lr, batch_size, group) and ``runs.csv`` / ``proposals.csv`` (every run recorded and
every proposal, with the step). A folder saved without ``start_runs.csv`` (before it was kept)
loads with the saved fit's training runs less the recorded ones. Units: N params, D tokens,
C FLOPs, budget in FLOPs.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..inference import load_fit
from . import targets as target_module
from .batch import KEY_COLUMNS, Guardrails, next_runs, run_keys
from .discrepancy import calibrate, design_method
from .targets import as_targets, target_draws

STATE_FILE = "campaign.json"
FIT_FILE = "fit.nc"
RUNS_FILE = "runs.csv"
PROPOSALS_FILE = "proposals.csv"
START_RUNS_FILE = "start_runs.csv"
OPTION_NAMES = (
    "cost", "cost_power", "criterion", "model", "max_draws", "seed", "ci", "group", "flops_column"
)  # fmt: skip


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
    """``runs`` less one run per recorded run with the same key (:func:`~.batch.run_keys`; a
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
    (:class:`~.batch.Guardrails` without the earlier runs: they are added at every proposal),
    options (passed to :func:`~.batch.next_runs`), start_runs (the starting fit's training runs,
    :func:`fitted_runs`: the guardrails count them), runs (DataFrame of the runs recorded, with
    ``step``), proposals (DataFrame of every proposal, with ``step``), step (batches recorded),
    folder (where the state is saved, or None), calibrate_drift (update every new fit's drift
    rate with its own scale-out splits, :func:`.discrepancy.calibrate`).
    """

    def __init__(
        self, fit, target, *, guardrails=None, options=None, folder=None, calibrate_drift=False
    ):
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
        self.folder = None if folder is None else Path(folder)
        self.calibrate_drift = bool(calibrate_drift)

    @classmethod
    def start(
        cls, fit, target, *, folder=None, guardrails=None, calibrate_drift=False, **options
    ) -> Campaign:
        """A new campaign from a fit (saved to ``folder`` when given); with
        ``calibrate_drift`` the fit's drift rate is updated by its own scale-out splits first
        (and every refit's after :meth:`record`)."""
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
        the starting fit's training runs and the recorded runs); kept as the proposal of the
        current step (a new proposal in the same step replaces it, so the replaced one's picks
        are not counted as earlier runs)."""
        rails = self.guardrails
        for earlier in (self.start_runs, self.runs):
            rails = rails.after(earlier) if len(earlier) else rails
        plan = next_runs(
            self.fit, cands, self.target, k=k, budget=budget, guardrails=rails, **self.options
        )
        kept = self.proposals
        if not kept.empty:
            kept = kept[kept["step"] != self.step]
        self.proposals = pd.concat([kept, plan.assign(step=self.step)], ignore_index=True)
        if self.folder is not None:
            self.save()
        return plan

    def record(self, new_runs, **update_options):
        """Add the trained runs (canonical columns and ``loss``), refit warm-started from the
        current posterior (:meth:`~bayeslaws.inference.Fit.update`), advance the step and save.
        Returns the new fit."""
        self.fit = self.fit.update(new_runs, **update_options)
        if self.calibrate_drift:
            calibrate(self.fit, seed=update_options.get("seed"))
        frame = new_runs.df if hasattr(new_runs, "df") else pd.DataFrame(new_runs)
        self.runs = pd.concat([self.runs, frame.assign(step=self.step)], ignore_index=True)
        self.step += 1
        if self.folder is not None:
            self.save()
        return self.fit

    # ---- persistence ---------------------------------------------------------------------------
    def save(self, folder=None) -> Path:
        """Write the state to ``folder`` (default: the campaign's own). The state is serialised
        before anything is written, so a state that cannot be saved leaves no partial folder."""
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
        self.fit.save(folder / FIT_FILE)
        (folder / STATE_FILE).write_text(text)
        self.start_runs.to_csv(folder / START_RUNS_FILE, index=False)
        self.runs.to_csv(folder / RUNS_FILE, index=False)
        self.proposals.to_csv(folder / PROPOSALS_FILE, index=False)
        self.folder = folder
        return folder

    @classmethod
    def load(cls, folder) -> Campaign:
        """The campaign saved in ``folder``."""
        folder = Path(folder)
        path = folder / STATE_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{folder} holds no campaign ({STATE_FILE} missing)")
        state = json.loads(path.read_text())
        camp = cls(
            load_fit(folder / FIT_FILE),
            _targets_from(state["target"]),
            guardrails=Guardrails(**state["guardrails"]),
            options=state["options"],
            folder=folder,
            calibrate_drift=state.get("calibrate_drift", False),
        )
        camp.step = int(state["step"])
        for name, attr in ((RUNS_FILE, "runs"), (PROPOSALS_FILE, "proposals")):
            setattr(camp, attr, _read_table(folder / name))
        if (folder / START_RUNS_FILE).is_file():
            camp.start_runs = _read_table(folder / START_RUNS_FILE, {"group": str})
        else:  # saved before the starting runs were kept: the saved fit holds them
            camp.start_runs = without(camp.start_runs, camp.runs)
        return camp


def _read_table(path: Path, dtype=None) -> pd.DataFrame:
    """A saved table (``dtype``: column -> type, e.g. group labels kept as strings), or an
    empty frame."""
    try:
        return pd.read_csv(path, dtype=dtype)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
