"""The main job (``bayeslaws demo``): fit Yin et al.'s chain (an LR x batch sweep in each (N, D)
cell -> the loss under optimal hyperparameters L(N, D) -> the compute-optimal size N_opt(C)) to
the bundled SIMULATED video-DiT sweep, print a planning report and write the figures (and, with
``html=True``, one self-contained HTML page of the report with the figures inline).

Two routes (``route=``, CLI ``--route``):

* ``"joint"`` (default): one model, law ``"sweep"``, fitted to every run at once; the optimal
  hyperparameters, their laws, the loss surface, N_opt, the near-optimal sizes, the next runs
  and the fixed-vs-optimal answer (:func:`bayeslaws.posterior.fixed_vs_optimal`) all come from
  it. Saves ``sweep_fit.nc``.
* ``"best-cell"`` (the documented baseline, Yin et al.'s shortcut): law ``"hyperparams"`` on
  every run for eta_opt and B_opt, and a Chinchilla surface on each cell's best run for the loss
  and N_opt (the best grid run stands in for the cell's loss at optimal hyperparameters). Saves
  ``hyperparams_fit.nc`` and ``loss_surface_fit.nc``; cannot answer the fixed-vs-optimal question.

The functions below take ``(hp_fit, surface_fit)``: the fit that answers the hyperparameter
questions and the one that answers the loss-surface questions. On the joint route both are the
same fit (pass it once: ``surface_fit=None``).

This module holds the job itself: the routes, the fits, the figures and :func:`run_demo`. The
planning numbers live in :mod:`.plan` and the report built from them in :mod:`.plan_report`
(on the generic structures of :mod:`.report`); imports go only downward, demo -> plan_report ->
plan. :func:`run_planning` is the job on any LR x batch sweep (a run table, or saved fits);
:func:`run_demo` runs it on the bundled one. The CLI calls :func:`run_demo` (``bayeslaws demo``)
and :func:`run_planning` (``bayeslaws plan``). Units: N parameters, D tokens, C FLOPs.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .. import plot
from ..inference import fit
from ..laws import resolve_law
from ..laws.contract import group_label, near_label_hint
from ..posterior.extrapolation.distance import group_ranges
from ..posterior.fixed_hyperparams import MIN_DISTINCT
from ..posterior.fixed_hyperparams import START as REFIT_START
from ..runs import RunTable, best_run_per_cell, published
from ..runs.atomic import write_atomically
from ..runs.bundled import DEFAULT_DATASET, load_bundled
from ..runs.checks import check_integer, check_positive, check_probability, is_real
from ..runs.warn import user_stacklevel
from . import plan as _plan
from . import plan_report as _plan_report
from .plan import BUDGET, TARGET_D, TARGET_N, route_of
from .report import (
    existing_head,
    recorded_warnings,
    refuse_foreign_csv,
    refuse_non_figure,
    refuse_non_report,
    warning_lines,
)

ISOFLOP_CURVES = 4  # isoFLOP curves of the figure: from the fitted range's top decade to the budget
N_OPT_DECADES_UP = 6  # the N_opt(C) figure reaches this many decades above the largest fitted C
HP_PAIRS = ["lr_N", "lr_D", "batch_N", "batch_D", "k_lr", "k_batch"]
ROUTES = ("joint", "best-cell")
DEFAULT_ROUTE = "joint"
# route -> the law fitted to every run, which a run table's law options configure
ROUTE_LAWS = {"joint": "sweep", "best-cell": "hyperparams"}
FIT_FILES = {  # route -> the fit files it saves
    "joint": ("sweep_fit.nc",),
    "best-cell": ("hyperparams_fit.nc", "loss_surface_fit.nc"),
}


def check_route(route: str) -> str:
    if route not in ROUTES:
        raise ValueError(f"route must be one of {ROUTES}, got {route!r}")
    return route


def check_demo_inputs(
    target_N: float,
    target_D: float,
    budget: float,
    ci: float,
    tolerance: float | None,
    ranges: dict | None = None,
    whose: str = "the range of the runs the demo fits",
) -> dict:
    """The planning inputs of :func:`run_demo`, checked before any fit (a NUTS fit takes
    minutes): ``target_N`` (params), ``target_D`` (tokens) and ``budget`` (FLOPs) finite and
    positive and not far outside the runs' range (``ranges``: column -> [min, max] of N, D, C;
    None: the bundled runs the demo fits; ``whose``: those runs in the message), by the test
    planning applies after the fit
    (:func:`bayeslaws.app.plan.check_far_inputs`: more than 3 decades below or 6 above, most
    likely other units); ``ci`` in (0, 1), ``tolerance`` None or a fraction of the reducible
    loss in (0, 1] (as ``bayeslaws allocate --tolerance``). ValueError naming the argument and
    its command-line flag otherwise. Returns them as floats (a dict of run_demo's keywords)."""
    out = {
        "target_N": check_positive("target_N (--target-N)", target_N, "parameters"),
        "target_D": check_positive("target_D (--target-D)", target_D, "tokens"),
        "budget": check_positive("budget (--budget)", budget, "FLOPs, about 6 N D"),
        "ci": check_probability("ci", ci),
        "tolerance": tolerance,
    }
    if ranges is None:
        df = load_bundled(DEFAULT_DATASET).df
        ranges = {c: [float(df[c].min()), float(df[c].max())] for c in ("N", "D", "C")}
    flags = {"target_N": "--target-N", "target_D": "--target-D", "budget": "--budget"}
    _plan.check_far_inputs(
        {f"{name} ({flag})": (_plan.INPUT_AXES[name], out[name]) for name, flag in flags.items()},
        ranges,
        whose,
    )
    if tolerance is not None:
        if not is_real(tolerance) or not 0 < tolerance <= 1:
            raise ValueError(
                "tolerance (--tolerance) is a fraction of the reducible loss in (0, 1] (0.05 = "
                f"5%), got {tolerance!r}"
            )
        out["tolerance"] = float(tolerance)
    return out


class Progress:
    """Step messages with elapsed time on stderr (``enabled=False`` silences them)."""

    def __init__(self, steps: int, enabled: bool = True, stream=None):
        self.steps, self.enabled = steps, enabled
        self.stream = stream or sys.stderr
        self.k = 0
        self.t0 = time.perf_counter()

    def __call__(self, message: str) -> None:
        self.k += 1
        if self.enabled:
            elapsed = time.perf_counter() - self.t0
            print(f"[{self.k}/{self.steps} +{elapsed:5.0f}s] {message}", file=self.stream)
            self.stream.flush()

    def note(self, message: str) -> None:
        if self.enabled:
            print(f"      {message}", file=self.stream)
            self.stream.flush()


# ---- fitting ------------------------------------------------------------------------------------
def fit_laws(
    runs: RunTable,
    sampler: dict,
    route: str = DEFAULT_ROUTE,
    law_options: dict | None = None,
    screen: str = "warn",
) -> tuple:
    """(the fit answering eta_opt and B_opt, the fit answering L(N, D) and N_opt).

    ``route="joint"``: one fit of law "sweep" to every run, returned twice (the same object).
    ``route="best-cell"``: law "hyperparams" on every run and a Chinchilla surface on each
    cell's best run. ``law_options``: options of the law fitted to every run
    (:data:`ROUTE_LAWS`); ``screen``: every fit's screening (``bl.fit(screen=...)``)."""
    every_run = {"law": ROUTE_LAWS[check_route(route)], "law_options": law_options}
    if route == "joint":
        joint = fit(runs, **every_run, screen=screen, **sampler)
        return joint, joint
    hp_fit = fit(runs, **every_run, likelihood="gaussian", screen=screen, **sampler)
    best = best_run_per_cell(without_screened_out(runs, hp_fit))
    surface_fit = fit(best, law="chinchilla", likelihood="gaussian", screen=screen, **sampler)
    return hp_fit, surface_fit


def without_screened_out(runs: RunTable, hp_fit) -> RunTable:
    """``runs`` without the rows the screening of ``hp_fit`` excluded (``screen="exclude"``:
    ``fit.record.data["screening"]["excluded"]``, labels as text), so that no run the
    hyperparameter fit left out is a cell's best run for the loss surface; ``runs`` itself
    when it excluded none."""
    screening = (hp_fit.record.data or {}).get("screening") or {}
    excluded = set(screening.get("excluded") or [])
    mask = runs.df.index.astype(str).isin(excluded)
    if not mask.any():
        return runs
    return runs.exclude(mask, "excluded by the hyperparameter fit's screening (screen='exclude')")


def saved_fits(hp_fit, surface_fit=None) -> dict:
    """File name -> fit, as :func:`run_demo` saves them (:data:`FIT_FILES`)."""
    route = route_of(hp_fit, surface_fit)
    fits = (hp_fit,) if route == "joint" else (hp_fit, surface_fit)
    return dict(zip(FIT_FILES[route], fits, strict=True))


def save_fits(out: Path, hp_fit, surface_fit=None) -> list[Path]:
    """Save the fits (:func:`saved_fits`) into the folder ``out``; returns their paths."""
    return [f.save(Path(out) / name) for name, f in saved_fits(hp_fit, surface_fit).items()]


def _caches(hp_fit, surface_fit=None) -> list[str]:
    """The fits' caches as saved (JSON): planning may add extrapolation state to them."""
    return [f.cache.to_json() for f in saved_fits(hp_fit, surface_fit).values()]


# ---- figures -------------------------------------------------------------------------------
FIGURE_CAPTIONS = {
    "fan.png": "the loss under optimal hyperparameters, eta_opt and B_opt against N, one curve "
    "per token budget (the target's among them), bands widening beyond the fitted range; the "
    "target marked; points: each cell's best run",
    "fan_loss_surface.png": "the loss surface against N, one curve per token budget (the "
    "target's among them), bands widening beyond the fitted range; the target marked; points: "
    "each cell's best run (the runs the surface is fitted to)",
    "fan_hyperparams.png": "eta_opt(N) and B_opt(N) with their bands; the target marked; "
    "points: each cell's best run",
    "bowls.png": "each cell's LR x batch sweep, its posterior optimum and credible region",
    "isoflop.png": "loss along isoFLOP lines with N_opt per budget",
    "n_opt.png": "N_opt(C) with its bands against Yin et al.'s laws",
    "pairs_hyperparams.png": "posterior pairs of the optima's laws and the bowls' curvatures",
    "pairs_loss_surface.png": "posterior pairs of the loss surface",
    "design.png": "each candidate scored alone; the batch's picks marked",
}
FIGURES = {  # route -> the figure files it writes, in the report's order
    "joint": (
        "fan.png",
        "bowls.png",
        "isoflop.png",
        "n_opt.png",
        "pairs_hyperparams.png",
        "pairs_loss_surface.png",
        "design.png",
    ),
    "best-cell": (
        "fan_loss_surface.png",
        "fan_hyperparams.png",
        "bowls.png",
        "isoflop.png",
        "n_opt.png",
        "pairs_hyperparams.png",
        "pairs_loss_surface.png",
        "design.png",
    ),
}


def figure_levels(ci: float) -> tuple:
    """The band levels of the fan and N_opt(C) figures: a 50% band inside the report's central
    ``ci`` interval (the widest band, the one the targets' and budgets' error bars use);
    ``ci`` alone when it is 50% or less."""
    return (0.5, ci) if ci > 0.5 else (ci,)


def isoflop_budgets(C_range, budget: float, n: int = ISOFLOP_CURVES) -> list[float]:
    """The isoFLOP figure's budgets (FLOPs): ``n`` log-spaced from the decade of the largest
    fitted budget (``C_range`` = (low, high) FLOPs, the fitted range) to the plan's ``budget``,
    or from the smallest fitted budget when those two are less than a decade apart; always
    the plan's ``budget`` among them (the bundled sweep: 1e19, 1e20, 1e21, 1e22)."""
    low_fit, high_fit = (float(c) for c in C_range)
    start = 10.0 ** np.floor(np.log10(high_fit))
    low, high = sorted((start, float(budget)))
    if high / low < 10:
        low = min(low_fit, high / 10)
    budget = float(budget)
    points = {float(f"{c:.3g}") for c in np.geomspace(low, high, n) if not np.isclose(c, budget)}
    return sorted(points | {budget})


def n_opt_range(C_range, budget: float) -> tuple[float, float]:
    """The N_opt(C) figure's range of C (FLOPs): from half the smallest fitted budget to
    ``N_OPT_DECADES_UP`` decades above the largest, and ten times the plan's ``budget``."""
    low_fit, high_fit = (float(c) for c in C_range)
    return low_fit / 2, max(high_fit * 10.0**N_OPT_DECADES_UP, 10 * float(budget))


def write_figures(
    out: Path, runs: RunTable, hp_fit, surface_fit, plan: dict, progress=None, seed: int = 0
) -> list[Path]:
    """The demo's figures (:data:`FIGURES` of the route) as PNGs in ``out``; returns their
    paths. ``surface_fit`` None: the same fit as ``hp_fit`` (the joint route). Bands and
    credible regions at the plan's ``ci`` (``plan["ci"]``, default 0.9: the report's
    intervals), the fan and N_opt(C) figures with a 50% band inside it
    (:func:`figure_levels`)."""
    surface_fit = hp_fit if surface_fit is None else surface_fit
    route = route_of(hp_fit, surface_fit)
    ci = float(plan.get("ci", 0.9))
    levels = figure_levels(ci)
    target_N = float(plan["hyperparams"]["N"].iloc[0])
    target_D = float(plan["hyperparams"]["D"].iloc[0])
    budget = float(plan["allocation"]["C"].iloc[0])
    target = [(target_N, target_D)]
    group = plan.get("group")  # the fitted group planned for, on each fit that has groups
    hp_group = None if group is None else _plan.fit_group(hp_fit, group)
    s_group = None if group is None else _plan.fit_group(surface_fit, group)
    where = "joint sweep model" if route == "joint" else "best run per cell"

    def fitted_C():  # FLOPs, the fitted (group's) range; asked by the figures that need it
        return group_ranges(surface_fit, s_group)["C"]

    jobs = {
        "fan.png": lambda: plot.fan(
            hp_fit,
            runs,
            targets=target,
            ci=levels,
            seed=seed,
            group=hp_group,
            title="Loss under optimal hyperparameters, optimal learning rate and batch size vs "
            "model size, joint sweep model",
        ),
        "fan_loss_surface.png": lambda: plot.fan(
            surface_fit,
            best_run_per_cell(runs),
            targets=target,
            ci=levels,
            seed=seed,
            group=s_group,
            title="Loss under optimal hyperparameters vs model size",
        ),
        "fan_hyperparams.png": lambda: plot.fan(
            hp_fit,
            runs,
            targets=target,
            ci=levels,
            seed=seed,
            group=hp_group,
            title="Optimal learning rate and batch size vs model size",
        ),
        "bowls.png": lambda: plot.bowls(hp_fit, runs, ci=ci),
        "isoflop.png": lambda: plot.isoflop(
            surface_fit, isoflop_budgets(fitted_C(), budget), ci=ci, seed=seed, group=s_group
        ),
        "n_opt.png": lambda: plot.n_opt(
            surface_fit,
            n_opt_range(fitted_C(), budget),
            ci=levels,
            # Yin et al.'s laws beside a video-DiT simulation only (a user's own runs are not
            # theirs): the plan's known truth is that simulator's
            paper_laws=published.yin_n_opt_laws() if plan.get("truth") is not None else None,
            budgets=[budget],
            seed=seed,
            group=s_group,
        ),
        "pairs_hyperparams.png": lambda: plot.pairs(
            hp_fit,
            HP_PAIRS,
            title=(
                "Joint sweep model: posterior pairs of the optima's laws and curvatures"
                if route == "joint"
                else "Hyperparameter law: posterior pairs"
            ),
        ),
        "pairs_loss_surface.png": lambda: plot.pairs(
            surface_fit, title=f"Loss surface ({where}): posterior pairs"
        ),
        "design.png": lambda: plot.design_ranking(
            plan["design_table"], picks="batch_pick", simulated=surface_fit
        ),
    }
    paths = []
    for name in FIGURES[route]:
        if progress is not None:
            progress.note(f"figure {name}")
        paths.append(plot.save(jobs[name](), Path(out) / name))
    return paths


# ---- the output folder ---------------------------------------------------------------------------
REPORT_TEXT_START = "bayeslaws planning report"  # how the demo's report.txt begins
NEXT_RUNS_FILE = "next_runs.csv"  # every run of the picks (plan.next_runs_table), beside the report
FOLDER_REMEDY = "move it, or give the report another folder (command line: --out DIR)"


def refuse_non_report_text(path: Path) -> None:
    """Raise FileExistsError when ``path`` exists and is not an earlier planning report's
    report.txt (``bayeslaws demo`` or ``bayeslaws plan``: its first line begins
    :data:`REPORT_TEXT_START`; an empty file has nothing to lose), so that planning never
    overwrites the user's own notes."""
    head = existing_head(path, "an earlier planning report", FOLDER_REMEDY)
    if head and not head.startswith(REPORT_TEXT_START):
        raise FileExistsError(
            f"{str(path)!r} exists and is not an earlier planning report (its first line does "
            f"not begin {REPORT_TEXT_START!r}), so the planning did not run: {FOLDER_REMEDY}"
        )


def refuse_non_runs_file(path: Path) -> None:
    """Raise FileExistsError when ``path`` exists and is not an earlier :data:`NEXT_RUNS_FILE`
    (a CSV whose header names only :data:`~bayeslaws.app.plan.PICKED_RUN_COLUMNS`, ``pick``
    among them: a candidates CSV is not one; an empty file has nothing to lose)."""
    refuse_foreign_csv(
        path, _plan.PICKED_RUN_COLUMNS, "an earlier list of next runs", FOLDER_REMEDY,
        required=("pick",), outcome="the planning did not run",
    )  # fmt: skip


def output_files(route: str, figures: bool, html: bool, fits: bool = True) -> list[str]:
    """The names of the files :func:`run_demo` (and :func:`run_planning`) writes into its
    folder; ``fits=False``: planning from saved fits, which are not written again."""
    names = ["report.txt", *(FIT_FILES[route] if fits else ()), NEXT_RUNS_FILE]
    names += list(FIGURES[route] if figures else ())
    return names + (["report.html"] if html else [])


def refuse_foreign_files(
    out: Path, route: str, figures: bool, html: bool, fits: bool = True
) -> list[Path]:
    """Before any fit: raise FileExistsError when a file the demo writes into ``out`` exists and
    is not one an earlier demo wrote (report.txt: :func:`refuse_non_report_text`; next_runs.csv:
    :func:`refuse_non_runs_file`; report.html: not an HTML page; a figure: not a PNG image; a
    fit file ``*.nc`` may always be replaced). Returns the demo's files already there (to be
    replaced); ``fits``: as :func:`output_files`."""
    refuse_non_report_text(out / "report.txt")
    refuse_non_runs_file(out / NEXT_RUNS_FILE)
    if html:
        refuse_non_report(out / "report.html")
    for name in FIGURES[route] if figures else ():
        refuse_non_figure(out / name)
    names = output_files(route, figures, html, fits)
    return [out / name for name in names if (out / name).is_file()]


def check_writable_folder(out: Path) -> Path:
    """Before any fit: PermissionError ("the folder ... is not writable", as
    :func:`~bayeslaws.inference.fit.check_output_path` says of a file's folder) unless files
    can be written into ``out``, or, when it does not exist yet, made in the nearest existing
    folder above it, where ``out`` will be made. Returns that folder."""
    place = next(p for p in (out, *out.parents) if p.exists())  # "." or "/" at the latest
    if place.is_dir() and not os.access(place, os.W_OK | os.X_OK):
        raise PermissionError(f"the folder {str(place)!r} is not writable")
    return place


def wrote_line(written: list, existed: list) -> str:
    """The demo's closing line: "wrote A, B, ..." and the files among them that replaced an
    earlier one, "(replacing the earlier report.txt, sweep_fit.nc)"."""
    before = {Path(p).resolve() for p in existed}
    replaced = [Path(p).name for p in written if Path(p).resolve() in before]
    tail = f" (replacing the earlier {', '.join(replaced)})" if replaced else ""
    return "wrote " + ", ".join(str(p) for p in written) + tail


def check_sweep_table(runs: RunTable, group=None, route: str = DEFAULT_ROUTE) -> None:
    """Before fitting a user's run table for planning: ValueError unless it is an LR x batch
    sweep (columns lr and batch_size: both routes fit the hyperparameters' laws from them) and
    ``group`` suits it (a label of its group column, required when it has several groups, as
    :func:`bayeslaws.app.plan.planning` requires of the fits; refused without one); on the
    joint ``route`` without groups, unless its (N, D) cells can carry the fixed-vs-optimal
    refit (:func:`check_refit_cells`)."""
    missing = [c for c in ("lr", "batch_size") if c not in runs.df]
    if missing:
        raise ValueError(
            f"planning fits an LR x batch sweep, but the run table has no column "
            f"{' or '.join(repr(c) for c in missing)} (its columns: {list(runs.df.columns)}); "
            f"map yours (Python: load_runs(..., {', '.join(f'{c}=NAME' for c in missing)}); "
            f"command line: {' '.join(f'--column {c}=NAME' for c in missing)}); without an LR "
            "x batch sweep, fit a loss surface (e.g. law 'chinchilla') and ask its "
            "compute-optimal allocation instead"
        )
    labels = [str(g) for g in pd.unique(runs.df["group"])] if "group" in runs.df else []
    if group is None and len(labels) > 1:
        raise ValueError(
            f"the run table holds {len(labels)} groups {labels}, and planning answers for one "
            f"fitted group; pass one of them (Python: group={labels[0]!r}; command line: --group "
            f"{labels[0]})"
        )
    if group is not None and not labels:
        raise ValueError(
            f"group={group!r}: the run table has no group column (Python: pass no group; "
            "command line: give no --group)"
        )
    if group is not None:
        try:
            group_label(labels, group)  # as planning reads it: 7.0 names the group "7"
        except ValueError:
            raise ValueError(
                f"group={group!r} is not one of the run table's groups {labels}"
                f"{near_label_hint(str(group), labels)}"
            ) from None
    if route == "joint" and len(labels) <= 1:  # a grouped fit gets no fixed-vs-optimal answer
        check_refit_cells(runs)


# the fixed-vs-optimal answer's Chinchilla refit (bayeslaws.posterior.fixed_hyperparams): its
# parameters, each needing a distinct (N, D) cell
REFIT_CELLS = len(REFIT_START)
AXIS_UNITS = {"N": "params", "D": "tokens"}


def check_refit_cells(runs: RunTable) -> None:
    """Before the joint route's fit: ValueError unless the run table's (N, D) cells can carry
    the fixed-vs-optimal answer's refit of a Chinchilla surface
    (:func:`bayeslaws.posterior.fixed_vs_optimal`, which needs at least ``MIN_DISTINCT`` (3)
    distinct N and D values and ``REFIT_CELLS`` (5) cells and would otherwise fail after the
    fit), naming the values found and the best-cell route, which makes no such refit."""
    cells = runs.df[["N", "D"]].drop_duplicates()
    route = (
        "or take the best-cell route, which gives no fixed-vs-optimal answer (Python: "
        "route='best-cell'; command line: --route best-cell)"
    )
    for axis, term in (("N", "A N^-alpha"), ("D", "B D^-beta")):
        values = np.unique(cells[axis].to_numpy(float))
        if len(values) < MIN_DISTINCT:
            found = ", ".join(f"{v:.4g}" for v in values)
            raise ValueError(
                f"the joint route's fixed-vs-optimal answer refits a Chinchilla surface to the "
                f"run table's (N, D) cells, and its {term} term needs at least {MIN_DISTINCT} "
                f"distinct {axis} values; the table has {len(values)}: {axis} = {found} "
                f"{AXIS_UNITS[axis]}: add runs at another {axis}, {route}"
            )
    if len(cells) < REFIT_CELLS:
        raise ValueError(
            f"the joint route's fixed-vs-optimal answer refits a {REFIT_CELLS}-parameter "
            f"Chinchilla surface to the run table's (N, D) cells, which needs at least "
            f"{REFIT_CELLS}; the table has {len(cells)}: add runs at other cells, {route}"
        )


# ---- the whole job -------------------------------------------------------------------------------
def run_demo(
    out: Path,
    chains: int = 4,
    warmup: int = 500,
    draws: int = 500,
    seed: int = 0,
    *,
    route: str = DEFAULT_ROUTE,
    target_N: float = TARGET_N,
    target_D: float = TARGET_D,
    budget: float = BUDGET,
    ci: float = 0.9,
    tolerance: float | None = None,
    figures: bool = True,
    html: bool = False,
    target_accept: float | None = None,
    dense_mass: bool | None = None,
    progress: bool = True,
    quiet: bool = False,
) -> str:
    """Fit the bundled SIMULATED sweep by ``route`` ("joint", default: one law "sweep" fit;
    "best-cell": the baseline's two fits, :func:`fit_laws`), write ``out/report.txt`` (and
    ``out/report.html`` with ``html``), the fits (:data:`FIT_FILES`: ``sweep_fit.nc``, or
    ``hyperparams_fit.nc`` and ``loss_surface_fit.nc``), ``out/next_runs.csv`` (every run of
    the picks: :func:`~bayeslaws.app.plan.next_runs_table`) and the figures; print the report
    (unless ``quiet``) and return its text. ``target_accept``, ``dense_mass``: NUTS settings
    (None: the law's own). ``progress``: step messages on stderr (NumPyro's own
    progress bars appear when stderr is a terminal). ``tolerance``: near-optimal tolerance, a
    fraction of the reducible loss in (0, 1] (default: 5%). The planning inputs are checked
    before the fit (:func:`check_demo_inputs`), and so is ``out``: a report.txt, report.html,
    next_runs.csv or figure there that an earlier demo did not write is refused
    (FileExistsError, :func:`refuse_foreign_files`); the fits are saved as soon as they are
    done, so a failure in planning leaves them on disk (reload them with ``bl.load_fit``). The
    warnings the fits issue (e.g. a :class:`~bayeslaws.inference.SamplerWarning`) reach the
    caller, under its own filters, and are listed in the report's Warnings section; a fit with
    sampler problems gets a CAUTION at the report's top
    (:func:`~bayeslaws.app.plan_report.sampler_caution`). The progress steps are, in order:
    fit, planning, figures (unless ``figures=False``), report.

    The job is :func:`run_planning` on the bundled runs (``bayeslaws plan`` runs it on the
    user's own run table or saved fits)."""
    sampler = {
        "chains": chains,
        "warmup": warmup,
        "draws": draws,
        "target_accept": target_accept,
        **({} if dense_mass is None else {"dense_mass": dense_mass}),
    }
    return run_planning(
        out, load_bundled(DEFAULT_DATASET), sampler=sampler, seed=seed, route=route,
        target_N=target_N, target_D=target_D, budget=budget, ci=ci, tolerance=tolerance,
        figures=figures, html=html, progress=progress, quiet=quiet,
        whose="the range of the runs the demo fits",
    )  # fmt: skip


def run_planning(
    out: Path,
    runs: RunTable | None = None,
    fits: tuple | None = None,
    *,
    sampler: dict | None = None,
    seed: int = 0,
    route: str = DEFAULT_ROUTE,
    target_N: float = TARGET_N,
    target_D: float = TARGET_D,
    budget: float = BUDGET,
    ci: float = 0.9,
    tolerance: float | None = None,
    group=None,
    figures: bool = True,
    html: bool = False,
    progress: bool = True,
    quiet: bool = False,
    warnings_before=(),
    whose: str = "the range of the runs to fit",
    law_options: dict | None = None,
    screen: str | None = None,
) -> str:
    """The planning job of :func:`run_demo` on any LR x batch sweep: either ``runs`` (a
    RunTable with lr and batch_size, :func:`check_sweep_table`), fitted by ``route``
    (:func:`fit_laws`, NUTS settings ``sampler``: chains, warmup, draws, target_accept,
    dense_mass, and ``seed``) and the fits saved into ``out`` (:data:`FIT_FILES`), or ``fits``:
    saved fits, ``(sweep_fit,)`` (the joint route) or ``(hyperparams_fit, surface_fit)`` (the
    best-cell route), not written again (``route`` is then theirs; ``runs``, if given, the
    table the figures draw, else the fits' own runs). Then
    :func:`~bayeslaws.app.plan.planning` at the target run (``target_N`` params, ``target_D``
    tokens), ``budget`` (FLOPs), ``ci``, ``tolerance`` and ``group`` (a fitted group's label,
    required for grouped runs), the figures (unless ``figures=False``), ``out/next_runs.csv``
    (:func:`~bayeslaws.app.plan.next_runs_table`: every run of the picks, with its learning
    rate and batch size) and ``out/report.txt`` (and ``out/report.html`` with ``html``), which
    names that file; prints the report (unless ``quiet``) and returns its text.

    Checked before any fit, and before ``out`` is made: the inputs (:func:`check_demo_inputs`,
    against the range of ``runs``, described as ``whose``), saved fits as planning checks them
    (:func:`~bayeslaws.app.plan.check_planning`: their laws, in the right order, the inputs
    against their ranges and ``group``, two fits' runs, the loss-surface fit's drawn from the
    hyperparameter fit's), the table and ``group`` (:func:`check_sweep_table`) and the folder
    (:func:`refuse_foreign_files`; writable, or made in a writable folder:
    :func:`check_writable_folder`).
    ``warnings_before``: warning lines issued earlier (e.g. when the fits were loaded) for the
    report's Warnings section; the fits' own warnings are listed there too and reach the
    caller. ``sampler`` None: 4 chains x 500 + 500 draws; the
    calibration refits of the default model discrepancy use at most 2 x 300 + 300.
    ``law_options`` and ``screen`` (None: "warn") configure the fits of ``runs``
    (:func:`fit_laws`); with ``fits``, which are already fitted, they are refused."""
    sampler = {"chains": 4, "warmup": 500, "draws": 500, **(sampler or {})}
    if fits is not None:
        fits = tuple(fits)
        if len(fits) not in (1, 2):
            raise ValueError(
                f"fits takes (sweep_fit,) or (hyperparams_fit, surface_fit), got {len(fits)} fits"
            )
        hp_fit, surface_fit = fits[0], (fits[1] if len(fits) == 2 else None)
        route = route_of(hp_fit, surface_fit)
    elif runs is None:
        raise ValueError("run_planning needs runs (a RunTable of an LR x batch sweep) or fits")
    check_route(route)
    fit_options = {
        name: value
        for name, value in (("law_options", law_options), ("screen", screen))
        if value is not None
    }
    if fits is not None and fit_options:
        raise ValueError(
            f"{' and '.join(fit_options)} configure the fits of a run table; the saved fits are "
            "fitted already (refit them with these settings, or plan from the run table)"
        )
    if law_options:  # an unknown option fails before anything is fitted
        resolve_law(ROUTE_LAWS[route], law_options)
    ranges = {}
    if fits is None:
        check_sweep_table(runs, group, route)
        ranges = {c: [float(runs.df[c].min()), float(runs.df[c].max())] for c in ("N", "D", "C")}
    inputs = check_demo_inputs(target_N, target_D, budget, ci, tolerance, ranges, whose)
    if fits is not None:  # planning's own checks (the fits, their laws (in the wrong order:
        # said so), the inputs against the fitted ranges, the group, the runs), before the
        # folder is made
        _plan.check_planning(
            hp_fit, surface_fit, inputs["target_N"], inputs["target_D"], inputs["budget"], group
        )
    if fits is None:  # the sampler settings too, before the folder is made
        for name in ("chains", "warmup", "draws"):
            check_integer(f"{name} (--{name})", sampler[name], 1)
    out = Path(out)
    # before the minutes of fitting
    existed = refuse_foreign_files(out, route, figures, html, fits=fits is None)
    check_writable_folder(out)  # mkdir succeeds on an existing read-only folder
    out.mkdir(parents=True, exist_ok=True)
    step = Progress((4 if fits is None else 2) + bool(figures), progress)
    fit_warnings = list(warnings_before)
    written = [out / "report.txt"]
    if fits is None:
        setting = (
            f"{sampler['chains']} chains x {sampler['warmup']} warm-up + {sampler['draws']} draws"
        )
        if route == "joint":
            step(f"fitting the joint sweep model (law 'sweep') to all {len(runs)} runs ({setting})")
        else:
            step(
                f"best-cell route: fitting the hyperparameter law ({len(runs)} runs) and the loss "
                f"surface (each cell's best run) ({setting})"
            )
        with recorded_warnings() as caught:  # issued again on leaving, under the caller's
            # (the options passed only when given: fit_laws(runs, sampler, route) otherwise)
            hp_fit, surface_fit = fit_laws(runs, {**sampler, "seed": seed}, route, **fit_options)
        fit_warnings += warning_lines(caught)  # and listed in the report's Warnings section
        # saved before planning, so that a failure there does not lose the fits
        fit_paths = save_fits(out, hp_fit, surface_fit)
        written += fit_paths
        step(f"fits done, saved: {', '.join(str(p) for p in fit_paths)}")
        cached = _caches(hp_fit, surface_fit)
    step("planning: optima, loss of the target run, allocation, fixed vs optimal, next runs")
    calibration = {k: min(sampler[k], cap) for k, cap in CALIBRATION_CAPS.items()}
    plan = _plan.planning(
        hp_fit, surface_fit, **inputs, seed=seed, calibration=calibration, group=group
    )
    if fits is None and _caches(hp_fit, surface_fit) != cached:  # the state planning computed
        save_fits(out, hp_fit, surface_fit)
    next_runs = _plan.next_runs_table(plan)  # each file below is written whole or not at all
    write_atomically(out / NEXT_RUNS_FILE, lambda handle: next_runs.to_csv(handle, index=False))
    written.append(out / NEXT_RUNS_FILE)
    drawn = runs if runs is not None else hp_fit.training_runs()
    figure_list = []
    if figures:
        step(f"drawing the figures into {out}/")
        paths = write_figures(out, drawn, hp_fit, surface_fit, plan, step, seed)
        written += paths
        figure_list = [(FIGURE_CAPTIONS.get(p.name, p.stem), p) for p in paths]
    step("writing the report")
    report = _plan_report.build_report(
        plan, hp_fit, surface_fit, runs, figures=figure_list, warnings_before=fit_warnings,
        runs_file=NEXT_RUNS_FILE,
    )  # fmt: skip
    text = report.to_text()
    write_atomically(out / "report.txt", text)
    if html:
        write_atomically(out / "report.html", report.to_html())
        written.append(out / "report.html")
    if not quiet:
        print(text)
        print(wrote_line(written, existed))
    return text


CALIBRATION_CAPS = {"chains": 2, "warmup": 300, "draws": 300}  # refits of the discrepancy


def __getattr__(name: str):
    """Names that moved to :mod:`.plan` and :mod:`.plan_report` (``bl.demo.X`` before 0.2.1)
    still resolve here, with a ``FutureWarning`` giving their new place."""
    from . import plan, plan_report

    for module in (plan, plan_report):
        if not name.startswith("__") and hasattr(module, name):
            warnings.warn(
                f"bayeslaws.app.demo.{name} moved to {module.__name__}.{name}; the old name "
                "will be removed",
                FutureWarning,
                stacklevel=user_stacklevel(),
            )
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
