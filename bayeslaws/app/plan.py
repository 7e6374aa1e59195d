"""The planning numbers of the main job (``bayeslaws demo``, ``bayeslaws plan``), no report text:
from the fit answering eta_opt and B_opt (``hp_fit``) and the one answering the loss surface and
N_opt (``surface_fit``; None or the same fit on the joint route, one law "sweep" fit), the
optimal hyperparameters and loss at a target run, the compute-optimal allocation at a budget,
the near-optimal sizes, the fixed-vs-optimal answer (with the simulator's own answer when the
data are SIMULATED or a truth is given: :func:`known_truth`) and the next runs: the greedy
batches, each candidate ranked alone, the guardrails that bit, the design's cautions and what
each pick is worth.

Units: N parameters, D tokens, C FLOPs. :mod:`.plan_report` turns a plan into the
report; :mod:`.demo` runs the whole job.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd

from .. import design
from ..design.batch import width_labels
from ..laws.contract import LawCapabilityError, group_label, near_label_hint
from ..posterior import (
    allocation_draws,
    extrapolation,
    fixed_vs_optimal,
    loss_penalty,
    near_optimal,
    optimal_allocation,
    predict,
    range_stated,
)
from ..posterior.draws import FAR_ABOVE_DECADES, FAR_BELOW_DECADES, check_fit
from ..posterior.extrapolation.distance import group_ranges, range_words
from ..posterior.fixed_hyperparams import refit_sizes
from ..posterior.model import FULL_MODELS
from ..posterior.predict import outside_decades
from ..runs.checks import check_positive
from ..runs.simulate import VideoDiTTruth, truth_from_source
from .report import recorded_warnings, warning_lines

TARGET_N, TARGET_D = 1.07e9, 1e10  # Yin et al.'s 1.07B check at 10B tokens
BUDGET = 1e22  # FLOPs: the budget Yin et al. quote N_opt = 2.43B at
# The candidate isoFLOP lines of the N_opt design, as multiples of the largest fitted budget C
# (design_budgets): just beyond the fitted runs. The factors are the ratios of the demo's lines,
# 3e19 and 1e20 FLOPs, to its bundled sweep's largest budget, 1.872e19 FLOPs (260M params on 12B
# tokens, 6ND): about 1.6x and 5.3x, not round factors, so that the demo keeps its lines exactly
# (each line is rounded to two significant figures).
DEMO_LARGEST_C = 1.872e19  # FLOPs: the bundled sweep's largest budget
DESIGN_BUDGET_FACTORS = (3e19 / DEMO_LARGEST_C, 1e20 / DEMO_LARGEST_C)
DESIGN_PER_BUDGET = 7  # candidate sizes per isoFLOP line
# hp_candidates: sizes within this factor (0.1 decade) are one cell size, the target's. Two such
# sweeps share nearly one grid (an optimum law with a size exponent below 0.5 in magnitude moves
# their centres by under 12%, a third of the learning-rate step of 1.5) and give the design
# almost no leverage on the size exponents beside each other: near-duplicates, not two cells.
HP_CELL_MERGE_FACTOR = 1.25
DESIGN_K = 3
HP_K = 2


def simulated_data(fit) -> bool:
    """Whether every run ``fit`` was fitted to is SIMULATED by its record's data source, as the
    titles of its figures say (:func:`bayeslaws.runs.provenance.simulated_extent`)."""
    return fit.simulated_extent == "all"


TRUTH_MATCH_SDS = 3.0  # the default truth fits runs whose rms log residual is <= this x its noise


def known_truth(fit, truth=None, others=()):
    """The truth a plan of ``fit`` is checked against: ``truth`` when given; for SIMULATED data
    (:func:`simulated_data`) the video-DiT simulator's truth their source records
    (:func:`~bayeslaws.runs.simulate.truth_from_source`: rebuilt from its fields, or the
    default), else the default :class:`~bayeslaws.runs.simulate.VideoDiTTruth` only when the
    fitted runs are what it produces (:func:`runs_match_truth`: a sweep simulated with another
    truth, or by another simulator, is not scored against it); else None (real data, or a truth
    not known: pass ``truth=``; :func:`unknown_truth_note`). ``others``: the other fits whose
    numbers are checked against it (the loss-surface fit of the best-cell route): a truth not
    given applies only when their runs are all SIMULATED too (a fit of real data is never
    scored against the simulator)."""
    if truth is not None:
        return truth
    if not all(simulated_data(f) for f in (fit, *others)):
        return None
    recorded = truth_from_source((fit.record.data or {}).get("source", ""))
    if recorded is not None:
        return recorded
    default = VideoDiTTruth()
    return default if runs_match_truth(fit, default) else None


def runs_match_truth(fit, truth, sds: float = TRUTH_MATCH_SDS) -> bool:
    """Whether ``fit``'s fitted runs (N params, D tokens, lr, batch_size tokens, loss) are what
    ``truth`` simulates: the rms of ln(loss / truth.loss) over the runs with a finite loss is
    at most ``sds`` times the truth's noise sd (relative). False when the runs carry no lr or
    batch size (not an LR x batch sweep) or no finite loss."""
    runs = fit.training_runs()
    if runs is None or not {"lr", "batch_size", "loss"} <= set(runs.df):
        return False
    df = runs.df[np.isfinite(runs.df["loss"].to_numpy(float))]
    if df.empty:
        return False
    expected = truth.loss(df["N"], df["D"], df["lr"], df["batch_size"])
    residual = np.log(df["loss"].to_numpy(float) / np.asarray(expected, float))
    return bool(np.sqrt(np.mean(residual**2)) <= sds * truth.noise_sd)


def unknown_truth_note(fit, truth=None, others=()) -> str:
    """The sentence for a plan of SIMULATED data whose truth is not known
    (:func:`known_truth` None, with the same ``others``): why no number is checked, and how to
    give the truth; "" when a truth is known or the data are not simulated."""
    if not simulated_data(fit) or known_truth(fit, truth, others) is not None:
        return ""
    if not all(simulated_data(f) for f in others):
        return (
            "The hyperparameter fit's runs are SIMULATED, but not all of the loss-surface fit's "
            "are: no number is checked against the simulator's truth. Pass the truth "
            "(planning(..., truth=...), build_report(..., truth=...)) to check them."
        )
    return (
        "The runs are SIMULATED, but not by a truth the fit's data source records, and they are "
        "not what the default VideoDiTTruth() simulates (a sweep simulated with truth=..., or "
        "by another simulator): no number is checked against a truth. Pass the simulator's "
        "truth (planning(..., truth=...), build_report(..., truth=...)) to check them."
    )


def same_fit(a, b) -> bool:
    """Whether ``a`` and ``b`` are the same fit: the same object, or the same record (law,
    data, settings) and the same posterior draws (e.g. one file loaded twice)."""
    if a is b:
        return True
    try:
        records = a.record.to_json(), b.record.to_json()
    except AttributeError:  # not fits (e.g. a caller's stand-ins): the same only as one object
        return False
    return records[0] == records[1] and bool(a.idata.posterior.equals(b.idata.posterior))


CELL_RTOL = 1e-6  # relative: sizes and token counts this close are one (N, D) cell


def run_cells(fit) -> np.ndarray | None:
    """The distinct (N params, D tokens) cells of the runs ``fit`` was given: those it fitted
    (:meth:`~bayeslaws.inference.Fit.training_runs`) and those its law's own rules left out
    (``record.law_excluded_runs``, e.g. a cell without a converged run), shape (cells, 2);
    None for a fit that stores no training runs."""
    runs = fit.training_runs()
    if runs is None:
        return None
    left_out = pd.DataFrame(fit.record.law_excluded_runs or {})
    parts = [runs.df[["N", "D"]]]
    if {"N", "D"} <= set(left_out) and len(left_out):
        parts.append(left_out[["N", "D"]].astype(float))
    return pd.concat(parts, ignore_index=True).drop_duplicates().to_numpy(float)


def fit_words(fit) -> str:
    """A fit named for a message: its law and the data source it was fitted to."""
    source = (fit.record.data or {}).get("source", "?")
    return f"law {fit.law.name!r} on {source!r}"


def check_same_runs(hp_fit, surface_fit) -> None:
    """ValueError naming both fits unless the loss-surface fit's runs are drawn from the
    hyperparameter fit's (the best-cell route fits the surface to each cell's best run of the
    one sweep): every (N, D) cell of ``surface_fit``'s runs is one of ``hp_fit``'s
    (:func:`run_cells`, to a relative :data:`CELL_RTOL`). Fits of two unrelated data sets would
    plan the hyperparameters from one and the loss from the other. The same fit, or a fit that
    stores no training runs, passes."""
    if same_fit(hp_fit, surface_fit):
        return
    hp_cells, s_cells = run_cells(hp_fit), run_cells(surface_fit)
    if hp_cells is None or s_cells is None:
        return
    gap = np.abs(np.log(s_cells)[:, None, :] - np.log(hp_cells)[None, :, :])  # (s, hp, 2)
    foreign = s_cells[~np.all(gap <= CELL_RTOL, axis=2).any(axis=1)]
    if not len(foreign):
        return
    examples = "; ".join(f"N {n:.3g}, D {d:.3g}" for n, d in foreign[:3])
    raise ValueError(
        f"the loss-surface fit ({fit_words(surface_fit)}) was not fitted to the hyperparameter "
        f"fit's runs ({fit_words(hp_fit)}): {len(foreign)} of its {len(s_cells)} (N, D) cells "
        f"are none of the hyperparameter fit's {len(hp_cells)} (e.g. {examples}). The best-cell "
        "route fits the loss surface to each cell's best run of the same sweep "
        "(bl.best_run_per_cell); give two fits of one sweep (bayeslaws plan RUNS.csv --route "
        "best-cell fits both)"
    )


def route_of(hp_fit, surface_fit=None) -> str:
    """The route a pair of fits stands for: ``"joint"`` when one fit answers both
    (``surface_fit`` None or the same fit, :func:`same_fit`: also two loads of one fit file),
    else ``"best-cell"``."""
    return "joint" if surface_fit is None or same_fit(hp_fit, surface_fit) else "best-cell"


# ---- the planning numbers --------------------------------------------------------------------
def with_warnings(compute):
    """``compute`` (returning a plan dict) with the distinct warnings issued while it runs
    added to its plan as ``warnings`` (:func:`~bayeslaws.app.report.warning_lines`), for the
    report; stderr still shows them (:func:`~bayeslaws.app.report.recorded_warnings`)."""

    @functools.wraps(compute)
    def planned(*args, **kwargs) -> dict:
        with recorded_warnings() as caught:
            plan = compute(*args, **kwargs)
        return {**plan, "warnings": warning_lines(caught)}

    return planned


def check_planning(hp_fit, surface_fit, target_N, target_D, budget, group=None) -> tuple:
    """The checks :func:`planning` makes before any computation (and the demo before its folder
    is made): both fits are fits (:func:`~bayeslaws.posterior.draws.check_fit`), their laws
    answer their roles (:func:`check_planning_laws`), the inputs and ``group``
    (:func:`check_planning_inputs`) and the two fits' runs (:func:`check_same_runs`). Returns
    (the surface fit: ``hp_fit`` when ``surface_fit`` is None, ``target_N`` params,
    ``target_D`` tokens, ``budget`` FLOPs as floats)."""
    check_fit(hp_fit, "hp_fit")
    if surface_fit is not None:
        check_fit(surface_fit, "surface_fit")
    surface_fit = hp_fit if surface_fit is None else surface_fit
    check_planning_laws(hp_fit, surface_fit)
    inputs = check_planning_inputs(hp_fit, surface_fit, target_N, target_D, budget, group)
    check_same_runs(hp_fit, surface_fit)
    return surface_fit, inputs["target_N"], inputs["target_D"], inputs["budget"]


@with_warnings
def planning(
    hp_fit,
    surface_fit=None,
    *,
    target_N: float = TARGET_N,
    target_D: float = TARGET_D,
    budget: float = BUDGET,
    ci: float = 0.9,
    tolerance: float | None = None,
    seed: int = 0,
    calibration: dict | None = None,
    truth=None,
    group=None,
) -> dict:
    """The planning numbers, each with a central ``ci`` interval.

    ``hp_fit``: the fit answering eta_opt and B_opt; ``surface_fit``: the one answering the loss
    and N_opt (None: the same fit, the joint route: one law "sweep" fit).

    Inputs (:func:`check_planning`, before any computation): ``target_N`` (params),
    ``target_D`` (tokens) and ``budget`` (FLOPs) finite and positive and not so far outside the
    fitted range that they are most likely in other units (:func:`check_far_inputs`); ``group``:
    the fitted group planned for, required on a fit of several groups (every answer, the
    allocation, the near-optimal sizes, the design's candidates and targets and the values of
    its picks, is that group's; ValueError naming the fit's groups otherwise), refused on fits
    without groups. A fit without groups beside a grouped one answers from all its runs. On the
    best-cell route the loss-surface fit's runs must be drawn from the hyperparameter fit's
    (:func:`check_same_runs`: ValueError naming both fits otherwise).

    ``route`` ("joint" or "best-cell"), ``hyperparams`` (eta_opt, B_opt at the target, kinds
    "mean" = the law and "new_run" = a new sweep's optimum), ``law_table`` (the fitted laws in
    Yin et al.'s notation), ``loss`` (the target run's loss, kinds "mean" and "new_run"),
    ``allocation`` (N_opt, D_opt, L_opt at ``budget``), ``tokens_per_param`` ((median, lower,
    upper) of D_opt / N_opt), ``near_optimal``
    (:class:`~bayeslaws.posterior.allocation.NearOptimal`; ``tolerance`` None: its default,
    relative to the reducible loss),
    ``fixed_vs_optimal`` (the row of :func:`bayeslaws.posterior.fixed_vs_optimal` at ``budget``
    plus ``truth``, the simulator's own answer to the same question, when there is a truth;
    None on the best-cell route, whose fits know no loss off the optimal hyperparameters), the
    next runs (:func:`next_runs_plan`), ``truth``: the truth the report checks the numbers
    against (:func:`known_truth`: ``truth`` if given, else, when both fits' runs are SIMULATED,
    the one their source records or the default when the runs match it, else None; the report
    then says so, :func:`unknown_truth_note`).

    ``calibration``: NUTS settings (chains, warmup, draws) of any refits the default model
    discrepancy needs (:func:`bayeslaws.posterior.extrapolation.prepare`), computed once and
    kept in the surface fit's cache (a law that is not widened, such as "sweep", needs none).

    ``group`` (the group planned for, as the fits label it; None without groups) and
    ``design_nopt_model`` (the extrapolation method the N_opt design and its values use: the
    allocation's own, :func:`allocation_model`) are in the plan too, and ``warnings``: the
    distinct warnings issued while it was computed (:func:`with_warnings`; e.g. a near-optimal
    band that is not one interval), which the report lists; stderr shows them as before.

    ``hp_fit`` and ``surface_fit`` must be :class:`~bayeslaws.inference.Fit` objects (a path
    or a run table is an :class:`~bayeslaws.runs.checks.ArgumentTypeError` saying to load or
    fit it first: :func:`~bayeslaws.posterior.draws.check_fit`)."""
    surface_fit, target_N, target_D, budget = check_planning(
        hp_fit, surface_fit, target_N, target_D, budget, group
    )
    hp_group, s_group = fit_group(hp_fit, group), fit_group(surface_fit, group)
    truth = known_truth(hp_fit, truth, (surface_fit,))
    if surface_fit.law.widened:
        extrapolation.prepare(
            surface_fit,
            extrapolation.DEFAULT_METHOD,
            seed=seed,
            refits=calibration,
            stacking=calibration,
        )
    with range_stated():  # the report states the target's distances from each fit's range
        hyper = pd.concat(
            [
                predict(
                    hp_fit, N=target_N, D=target_D, ci=ci, kind=kind, seed=seed,
                    group=hp_group, _missing_noted=True,  # eta_opt and B_opt are read
                )
                for kind in ("mean", "new_run")
            ],
            ignore_index=True,
        )
        loss = pd.concat(
            [
                predict(
                    surface_fit, N=target_N, D=target_D, ci=ci, kind=kind, seed=seed, group=s_group
                )
                for kind in ("mean", "new_run")
            ],
            ignore_index=True,
        )
    # warns if far out
    allocation = optimal_allocation(surface_fit, C=budget, ci=ci, seed=seed, group=s_group)
    with range_stated():  # the same budget again: said once, above
        draws = allocation_draws(surface_fit, [budget], group=s_group, seed=seed)
        ratio = (draws["D_opt"] / draws["N_opt"])[:, 0]
        lo, med, hi = np.quantile(ratio, [(1 - ci) / 2, 0.5, (1 + ci) / 2])
        near = near_optimal(
            surface_fit, budget, tolerance, relative_to="reducible", ci=ci, seed=seed,
            group=s_group,
        )  # fmt: skip
        plan = {
            "route": route_of(hp_fit, surface_fit),
            "hyperparams": hyper,
            "law_table": hp_fit.law_table(ci=ci),
            "loss": loss,
            "allocation": allocation,
            "tokens_per_param": (float(med), float(lo), float(hi)),
            "near_optimal": near,
            "fixed_vs_optimal": fixed_vs_optimal_plan(
                surface_fit, budget, ci, truth, (hp_fit,)
            ),
            "ci": ci,
            "truth": truth,
            "group": s_group if s_group is not None else hp_group,  # the fit's own label
        }
        plan.update(
            next_runs_plan(hp_fit, surface_fit, target_N, target_D, budget, ci, seed, group=group)
        )
    return plan


# ---- the inputs ----------------------------------------------------------------------------------
COLUMN_UNITS = {"N": "parameters", "D": "tokens", "C": "FLOPs, about 6 N D"}
INPUT_AXES = {"target_N": "N", "target_D": "D", "budget": "C"}  # argument -> fitted column


def far_input_message(name: str, value: float, column: str, ranges: dict, whose: str) -> str:
    """The sentence for an input ``value`` of argument ``name`` more than
    ``FAR_BELOW_DECADES`` (3) below or ``FAR_ABOVE_DECADES`` (6) above the fitted range of
    ``column`` (``ranges``: column -> [min, max]), the package's threshold for a value most
    likely in other units (:func:`bayeslaws.posterior.draws.check_range`); '' when it is
    nearer, or ``ranges`` has no such column."""
    if column not in ranges:
        return ""
    low, high = (float(v) for v in ranges[column])
    below, above = np.log10(low / value), np.log10(value / high)
    if below <= FAR_BELOW_DECADES and above <= FAR_ABOVE_DECADES:
        return ""
    side = (
        f"{below:.1f} decades below" if below > FAR_BELOW_DECADES else f"{above:.1f} decades above"
    )
    unit = COLUMN_UNITS.get(column, "the runs' units")
    return (
        f"{name} = {value:.3g} lies {side} {whose} of {column} [{low:.3g}, {high:.3g}] (more than "
        f"{FAR_BELOW_DECADES:g} below or {FAR_ABOVE_DECADES:g} above): is it in other units? "
        f"({column} is in {unit}). A plan that far out would rest on the law alone, far beyond "
        "any run; to ask it anyway use bl.optimal_allocation or bl.predict, which answer with "
        "a warning"
    )


def check_far_inputs(values: dict, ranges: dict, whose: str = "the fitted range") -> None:
    """ValueError (:func:`far_input_message`) for the first of ``values`` (argument name, e.g.
    "budget" or "budget (--budget)" -> (fitted column, value)) far outside ``ranges``."""
    for name, (column, value) in values.items():
        message = far_input_message(name, float(value), column, ranges, whose)
        if message:
            raise ValueError(message)


def group_labels(fit) -> list[str]:
    """The fit's group labels as strings ([] for a fit without groups)."""
    return [str(g) for g in fit.groups if g is not None]


def fit_group(fit, group):
    """The ``group`` a fit answers for: the fit's own label of ``group`` on a fit with group
    labels (:func:`~bayeslaws.laws.contract.group_label`: 7, 7.0 and "7" name its group "7"),
    None on a fit without groups (it answers from all its runs) and for ``group=None``."""
    if group is None or not group_labels(fit):
        return None
    return group_label(fit.groups, group)


def check_planning_group(hp_fit, surface_fit, group) -> None:
    """ValueError unless ``group`` suits the fits: required (a fitted group's label) when
    either fit has several groups, as planning answers for one fitted group (the package's
    ``group=None``, a NEW group, would silently widen every answer); one of each labelled
    fit's groups when given; refused when neither fit has groups."""
    fits = (
        {"hp_fit": hp_fit}
        if surface_fit is hp_fit
        else {"hp_fit": hp_fit, "surface_fit": surface_fit}
    )
    labelled = {name: group_labels(f) for name, f in fits.items() if group_labels(f)}
    if group is None:
        for name, labels in labelled.items():
            if len(labels) > 1:
                raise ValueError(
                    f"group=None: {name} is a fit of {len(labels)} groups {labels}, and planning "
                    f"answers for one fitted group (Python: group={labels[0]!r} or another of "
                    f"fit.groups; command line: --group {labels[0]}). For a NEW, unseen group "
                    "ask the allocation or predictions with no group (Python: "
                    "bl.optimal_allocation or bl.predict with group=None; command line: "
                    "bayeslaws allocate or bayeslaws predict without --group)"
                )
        return
    if not labelled:
        raise ValueError(
            f"group={group!r}: the fits were fitted without groups (Python: pass no group; "
            "command line: give no --group)"
        )
    for name, labels in labelled.items():
        try:
            group_label(labels, group)  # the label in any spelling predict reads (7.0: "7")
        except ValueError:
            raise ValueError(
                f"group={group!r} is not one of {name}'s groups {labels}"
                f"{near_label_hint(str(group), labels)}"
            ) from None


def check_planning_inputs(hp_fit, surface_fit, target_N, target_D, budget, group=None) -> dict:
    """The planning inputs checked before any computation: ``target_N`` (params),
    ``target_D`` (tokens), ``budget`` (FLOPs) finite and positive (ValueError naming the
    argument); ``group`` (:func:`check_planning_group`); none of them far outside the range
    (``group``'s own runs' for a fitted group) of the fit that answers it (:func:`check_far_inputs`:
    the target against both fits, the budget against the surface fit). Returns the three as
    floats."""
    values = {
        name: check_positive(name, value, COLUMN_UNITS[INPUT_AXES[name]])
        for name, value in (("target_N", target_N), ("target_D", target_D), ("budget", budget))
    }
    check_planning_group(hp_fit, surface_fit, group)
    asked = (
        (hp_fit, ("target_N", "target_D")),
        (surface_fit, ("target_N", "target_D", "budget")),
    )
    for fit_, names in asked:
        g = fit_group(fit_, group)
        check_far_inputs(
            {name: (INPUT_AXES[name], values[name]) for name in names},
            group_ranges(fit_, g),
            range_words(fit_, g),
        )
    return values


def check_planning_laws(hp_fit, surface_fit) -> None:
    """A :class:`LawCapabilityError` saying which laws planning needs, unless ``hp_fit``
    predicts eta_opt and B_opt and ``surface_fit`` the loss; when the two fits swapped would
    pass, it says they are in the wrong order."""
    needs = (
        "planning needs a fit of law 'sweep' (one fit of an LR x batch sweep: the joint route) "
        "or of law 'hyperparams' plus a loss-surface fit (surface_fit=, e.g. law 'chinchilla' "
        "on each cell's best run: the best-cell route)"
    )
    if not laws_fit_roles(hp_fit, surface_fit) and laws_fit_roles(surface_fit, hp_fit):
        raise LawCapabilityError(
            f"the two fits are in the wrong order: law {hp_fit.law.name!r} predicts no optimal "
            f"learning rate and batch size, law {surface_fit.law.name!r} does; give the "
            f"hyperparameter fit (law {surface_fit.law.name!r}) first and the loss-surface fit "
            f"(law {hp_fit.law.name!r}) second (Python: planning(hp_fit, surface_fit); command "
            "line: bayeslaws plan hyperparams_fit.nc loss_surface_fit.nc)"
        )
    if not {"eta_opt", "B_opt"} <= set(hp_fit.law.quantities):
        raise LawCapabilityError(
            f"{needs}; law {hp_fit.law.name!r} predicts no optimal learning rate and batch size"
        )
    if "loss" not in surface_fit.law.quantities:
        raise LawCapabilityError(f"{needs}; law {surface_fit.law.name!r} predicts no loss")


def laws_fit_roles(hp_fit, surface_fit) -> bool:
    """Whether ``hp_fit``'s law predicts eta_opt and B_opt and ``surface_fit``'s the loss (the
    roles :func:`check_planning_laws` asks of them)."""
    return {"eta_opt", "B_opt"} <= set(hp_fit.law.quantities) and (
        "loss" in surface_fit.law.quantities
    )


def fixed_vs_optimal_plan(
    fit_, budget: float, ci: float = 0.9, truth=None, others=()
) -> dict | None:
    """The fixed-vs-optimal answer at ``budget`` (:func:`bayeslaws.posterior.fixed_vs_optimal`,
    its one row as a dict) with ``truth``: the simulator's own answer to the same question (same
    cells, same fixed setting, same refit on its noise-free losses), only when there is a truth
    (:func:`known_truth`: ``truth`` if given, the simulator's when ``fit_``'s and the
    ``others``' runs are all SIMULATED). None when the fit's law knows no loss off the optimal
    hyperparameters (the best-cell route), and for a fit of several groups
    (:func:`bayeslaws.posterior.fixed_vs_optimal` takes no group: it would answer for a new
    group, not the one planned for)."""
    if len(group_labels(fit_)) > 1:
        return None
    try:
        row = fixed_vs_optimal(fit_, budget, ci=ci).iloc[0].to_dict()
    except LawCapabilityError:
        return None
    truth = known_truth(fit_, truth, others)
    if truth is None:
        return row
    cells = fit_.training_runs().df[["N", "D"]].drop_duplicates()
    row["truth"] = truth_size_change(
        truth, cells, budget, row["lr"], row["batch_size"], fit_.compute_model
    )
    return row


def truth_size_change(truth, cells, C: float, lr: float, batch: float, compute_model) -> float:
    """The simulator's answer to the fixed-vs-optimal question: N_opt(fixed) / N_opt(optimal)
    - 1 from the same Chinchilla refit (:mod:`bayeslaws.posterior.fixed_hyperparams`) of its
    noise-free losses at the ``cells`` (N params, D tokens), at each cell's optimum and at the
    fixed (``lr``, ``batch`` tokens)."""
    N, D = cells["N"].to_numpy(float), cells["D"].to_numpy(float)
    loss_fixed = truth.loss(N, D, lr, batch)
    n_optimal, n_fixed = refit_sizes(N, D, truth.loss_star(N, D), loss_fixed, C, compute_model)
    return n_fixed / n_optimal - 1


def design_budgets(fit, group=None, budget=None) -> tuple[float, ...]:
    """The candidate isoFLOP lines (FLOPs, ascending) of the N_opt design: the largest fitted
    budget C (``group``'s own runs': :func:`group_ranges`) times each of
    :data:`DESIGN_BUDGET_FACTORS` (about 1.6x and 5.3x: just beyond the fitted runs), rounded
    to two significant figures (the bundled sweep's 1.872e19 gives the demo's 3e19 and 1e20),
    each at most ``budget`` (FLOPs; None: no cap): a run above the budget would cost more than
    the run planned, and narrow N_opt at another compute. Lines the cap makes equal are one."""
    largest = float(group_ranges(fit, group)["C"][1])
    lines = [float(f"{largest * factor:.2g}") for factor in DESIGN_BUDGET_FACTORS]
    if budget is not None:
        lines = [min(line, float(budget)) for line in lines]
    return tuple(sorted(set(lines)))


def nopt_candidates(surface_fit, group=None, budget=None) -> pd.DataFrame:
    """Candidates for narrowing N_opt: ``DESIGN_PER_BUDGET`` sizes on each isoFLOP line of
    :func:`design_budgets` (relative to the fit's largest fitted budget, at most ``budget``
    FLOPs; None: no cap) around the median N_opt (``group``'s, a fitted group's label, or None);
    for a fit that models the sweep (law "sweep") each such cell becomes a 5 x 3 LR x batch
    sweep around its predicted optimum (one unit, paid as a whole: a new cell's loss level is
    unknown until its sweep finds the optimum)."""
    cells = design.isoflop_candidates(
        C=list(design_budgets(surface_fit, group, budget)),
        n_per_budget=DESIGN_PER_BUDGET,
        fit=surface_fit,
        group=group,
    )
    if {"lr", "batch_size"} <= set(surface_fit.law.optional_inputs):
        return design.hyperparameter_candidates(
            cells["N"], cells["D"], fit=surface_fit, group=group
        )
    return cells


def hp_sizes(largest_N: float, target_N: float) -> list[float]:
    """The sizes (params) of the hyperparameter design's cells: twice ``largest_N`` (the largest
    fitted size) and ``target_N``, or ``target_N`` alone when the two are within
    :data:`HP_CELL_MERGE_FACTOR` of each other (near-duplicate sweeps: the target's is kept)."""
    between = 2 * largest_N
    if max(between, target_N) / min(between, target_N) < HP_CELL_MERGE_FACTOR:
        return [target_N]
    return [between, target_N]


def hp_candidates(hp_fit, target_N: float, target_D: float, group=None) -> pd.DataFrame:
    """Candidates for narrowing eta_opt and B_opt at the target run: a 5 x 3 LR x batch sweep
    (one unit, paid as a whole) at each of the cells N in (twice the largest fitted size of
    ``group``, a fitted group's label or None; ``target_N``) x D in (``target_D`` / 2.5,
    ``target_D``), each (N, D) cell once: sizes within :data:`HP_CELL_MERGE_FACTOR` of each
    other are the target's alone (:func:`hp_sizes`). N in parameters, D in tokens."""
    small_N = group_ranges(hp_fit, group)["N"][1]  # the largest fitted size
    cells = dict.fromkeys(
        (n, d) for n in hp_sizes(small_N, target_N) for d in (target_D / 2.5, target_D)
    )
    cells_N, cells_D = (list(axis) for axis in zip(*cells, strict=True))
    return design.hyperparameter_candidates(cells_N, cells_D, fit=hp_fit, group=group)


def allocation_model() -> str:
    """The extrapolation method (the design's ``model=``) whose N_opt draws are those of the
    plan's allocation: :func:`~bayeslaws.posterior.optimal_allocation` uses the package default
    (``DEFAULT_METHOD``), which carries form and drift uncertainty into N_opt only when it is a
    full model (``FULL_MODELS``: "model", "drift"); any other default ("gp") gives the fitted
    law's own optimum, the draws of "none". The N_opt design and the value of its picks
    (:func:`nopt_value`, whose regret is that allocation's) use it, so the widths, the regret
    and the interval the report shows are one posterior (the design's own default for a
    widened law, "drift", gave an N_opt interval ~1e17 wide beside the allocation's 4e8)."""
    method = extrapolation.DEFAULT_METHOD
    return method if method in FULL_MODELS else "none"


def next_runs_plan(
    hp_fit, surface_fit, target_N, target_D, budget, ci=0.9, seed=0, *, group=None
) -> dict:
    """The next best runs (:mod:`bayeslaws.design`, Gaussian estimator, cost in FLOPs):

    ``design_nopt``: the batch of ``DESIGN_K`` candidates (:func:`nopt_candidates`: isoFLOP
    runs on the lines ``design_budgets``, :func:`design_budgets`: just beyond the surface fit's
    largest fitted budget, never above ``budget``; whole LR x batch sweeps at those cells on the
    joint route) picked greedily (each conditioned on the earlier picks) to narrow N_opt at
    ``budget`` per FLOP. ``budget`` is that target's compute, not a cap on the batches' cost
    (the hyperparameter sweeps are sized by the target run): each pick's cost stands beside
    what it is worth; ``design_table``: every such candidate ranked alone, with the batch's
    picks marked (the figure); ``design_hp``: the batch of ``HP_K`` LR x batch sweeps (new
    cells around the target: :func:`hp_candidates`) that most narrow eta_opt and B_opt there;
    ``design_hp_table``: those ranked alone;
    ``value_nopt``, ``value_hp``: what each pick is worth (:func:`nopt_value`,
    :func:`hp_value`); ``new_run_reference``: a new run's penalty just inside the
    hyperparameter fit's range, at the plan's ``seed`` (:func:`new_run_reference`);
    ``design_nopt_cautions``, ``design_hp_cautions``: each design's warnings
    other than guardrail relaxations (:func:`design_cautions`; e.g. N_opt draws at the search
    edge), for the report; ``design_nopt_model``: the N_opt design's extrapolation method
    (:func:`allocation_model`, the allocation's); ``runs_nopt``, ``runs_hp``: every run of each
    batch's picks (:func:`picked_runs`: a picked sweep's 15 runs, each with its learning rate
    and batch size; a single N_opt run of the best-cell route gets ``hp_fit``'s median optimum,
    :func:`with_hp_settings`; :func:`next_runs_table` joins the two). ``surface_fit`` None: the
    same fit as ``hp_fit``; ``group``: the fitted group planned for (candidates, targets and
    values are that group's on each fit that has groups: :func:`fit_group`; required on a fit
    of several groups, :func:`check_planning_group`)."""
    surface_fit = hp_fit if surface_fit is None else surface_fit
    check_planning_group(hp_fit, surface_fit, group)
    hp_group, s_group = fit_group(hp_fit, group), fit_group(surface_fit, group)
    model = allocation_model()
    cands = nopt_candidates(surface_fit, s_group, budget)
    target = design.NOpt(C=budget, group=s_group)
    sweeps = hp_candidates(hp_fit, target_N, target_D, hp_group)
    hp_target = design.HyperparamOpt(N=target_N, D=target_D, group=hp_group)
    nopt_options = {"seed": seed, "ci": ci, "group": s_group, "model": model}
    hp_options = {"seed": seed, "ci": ci, "group": hp_group}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # guardrail relaxations are reported in the table
        batch = design.next_runs(surface_fit, cands, target, k=DESIGN_K, **nopt_options)
        alone = design.rank_candidates(surface_fit, cands, target, **nopt_options)
    cautions = design_cautions(caught)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hp_batch = design.next_runs(hp_fit, sweeps, hp_target, k=HP_K, **hp_options)
        hp_alone = design.rank_candidates(hp_fit, sweeps, hp_target, **hp_options)
    hp_cautions = design_cautions(caught)
    alone = mark_picks(alone, batch)
    hp_alone = mark_picks(hp_alone, hp_batch)
    return {
        "design_budgets": design_budgets(surface_fit, s_group, budget),
        "design_nopt": batch,
        "runs_nopt": with_hp_settings(
            picked_runs(surface_fit, cands, batch), hp_fit, seed=seed, group=hp_group
        ),
        "runs_hp": picked_runs(hp_fit, sweeps, hp_batch),
        "design_table": alone,
        "design_nopt_cautions": cautions,
        "design_hp": hp_batch,
        "design_hp_cautions": hp_cautions,
        "design_hp_table": hp_alone,
        "design_nopt_model": model,
        "guardrails_nopt": guardrail_reasons(surface_fit, cands, target, batch, **nopt_options),
        "guardrails_hp": guardrail_reasons(hp_fit, sweeps, hp_target, hp_batch, **hp_options),
        "value_nopt": nopt_value(surface_fit, batch, budget, seed=seed, group=s_group),
        "value_hp": hp_value(
            hp_fit, surface_fit, hp_batch, target_N, target_D, seed=seed, group=group
        ),
        "new_run_reference": new_run_reference(hp_fit, target_N, target_D, group, seed=seed),
    }


# the columns of a table of picked runs (picked_runs; "design" only in next_runs_table, "group"
# only for a grouped fit's picks of a fitted group, "lr" and "batch_size" only for LR x batch
# sweeps and for single runs given the hyperparameter fit's optimum (with_hp_settings, which
# adds "note"), "batch_size_as_given" only when the fitted runs gave their batch in another unit)
PICKED_RUN_COLUMNS = (
    "design", "pick", "unit", "N", "D", "C", "lr", "batch_size", "batch_size_as_given", "group",
    "note",
)  # fmt: skip
HP_SETTING_NOTE = (
    "one run at lr and batch_size = the hyperparameter fit's posterior median eta_opt and "
    "B_opt at its N and D; C is this one run's cost at those settings"
)


def with_hp_settings(runs: pd.DataFrame, hp_fit, seed: int = 0, group=None) -> pd.DataFrame:
    """Picked ``runs`` (:func:`picked_runs`) without a learning rate or batch size (the
    best-cell route's N_opt picks: single runs of a loss-surface law) given ``hp_fit``'s
    posterior median eta_opt (``lr``) and B_opt (``batch_size``, tokens) at each run's N
    (params) and D (tokens) (:func:`~bayeslaws.posterior.predict`, kind "mean"; ``group``: the
    fit's group or None), ``batch_size_as_given`` (:func:`batch_as_given`) when its runs gave
    the batch in another unit, and ``note`` (:data:`HP_SETTING_NOTE`: where they come from,
    and that C is the one run's cost). Runs with lr and batch_size, or none, are returned as
    they are."""
    if not len(runs) or {"lr", "batch_size"} <= set(runs):
        return runs
    N, D = runs["N"].to_numpy(float), runs["D"].to_numpy(float)
    with range_stated():  # the picks' own distances are the design's to state
        opt = predict(hp_fit, N=N, D=D, seed=seed, group=group, _missing_noted=True)
    out = runs.copy()
    out["lr"] = opt["eta_opt_median"].to_numpy(float)
    out["batch_size"] = opt["B_opt_median"].to_numpy(float)
    if (given := batch_as_given(out["batch_size"], hp_fit)) is not None:
        out["batch_size_as_given"] = given
    out["note"] = HP_SETTING_NOTE
    return out


def batch_as_given(batch_tokens, fit) -> np.ndarray | None:
    """Batch sizes (tokens) in the unit the fitted runs gave theirs in (``fit.units``, e.g.
    sequences of 2048 tokens for ``units={'batch_size': 2048}``), rounded to whole units (at
    least 1): what a user sets in their trainer. None when the runs gave it in tokens."""
    factor = fit.units.get("batch_size", 1.0)
    if factor == 1.0:
        return None
    return np.maximum(np.rint(np.asarray(batch_tokens, float) / factor), 1.0)


def picked_runs(fit, cands: pd.DataFrame, batch: pd.DataFrame) -> pd.DataFrame:
    """Every run of the units a greedy ``batch`` (:func:`bayeslaws.design.next_runs` of
    ``cands`` on ``fit``) picked, in pick order (:func:`bayeslaws.design.runs_of_plan`): one
    row per run to train, with ``pick`` (the unit's place in the batch, 1 first), ``unit``
    (its label) and N (params), D (tokens), C (FLOPs), lr and batch_size (tokens) as the
    candidates give them (a picked LR x batch sweep: each of its runs' setting),
    ``batch_size_as_given`` (:func:`batch_as_given`) when the fitted runs gave their batch in
    another unit, and ``group`` when the batch names the fitted group its runs are for
    (:func:`bayeslaws.design.next_runs` on a grouped fit)."""
    runs = design.runs_of_plan(cands, batch, fit)
    out = pd.DataFrame(
        {"pick": runs["rank"].to_numpy(int), "unit": runs["unit"].astype(str).to_numpy()}
    )
    for column in PICKED_RUN_COLUMNS[3:]:
        # batch_size_as_given is derived from batch_size below, never copied: candidates read
        # back from a file this package wrote carry it already
        if column in runs and column != "batch_size_as_given":
            out[column] = runs[column].to_numpy()
    if "batch_size" in out and (given := batch_as_given(out["batch_size"], fit)) is not None:
        out.insert(out.columns.get_loc("batch_size") + 1, "batch_size_as_given", given)
    return out


def next_runs_table(plan: dict) -> pd.DataFrame:
    """Every run the plan's two batches pick (``runs_nopt``, ``runs_hp``: :func:`picked_runs`),
    with ``design`` naming the target each batch narrows (N_opt's at the budget; eta_opt and
    B_opt at the target run): the file of runs to train (``next_runs.csv``). Columns
    :data:`PICKED_RUN_COLUMNS` that either batch has; N params, D tokens, C FLOPs, batch_size
    tokens. An empty table for a plan without them."""
    parts = []
    for key, batch_key in (("runs_nopt", "design_nopt"), ("runs_hp", "design_hp")):
        runs = plan.get(key)
        if runs is None or not len(runs):
            continue
        labels = width_labels(plan[batch_key])
        parts.append(runs.assign(design=" and ".join(labels) if labels else key))
    if not parts:
        return pd.DataFrame(columns=list(PICKED_RUN_COLUMNS[:6]))
    table = pd.concat(parts, ignore_index=True)
    return table[[c for c in PICKED_RUN_COLUMNS if c in table]]


def mark_picks(alone: pd.DataFrame, batch: pd.DataFrame) -> pd.DataFrame:
    """The ranking of each candidate alone with its rank there (``rank_alone``) and its place
    in the greedy batch (``batch_pick``, 0 = not picked)."""
    order = dict(zip(batch["unit"], batch["rank"].astype(int), strict=True))
    out = alone.copy()
    out.insert(0, "rank_alone", np.arange(1, len(out) + 1))
    out["batch_pick"] = [order.get(u, 0) for u in out["unit"]]
    return out


def design_cautions(caught) -> list[str]:
    """The distinct messages (sorted) of recorded design warnings (``warnings.WarningMessage``
    list) for the report: the package's own (``UserWarning`` categories) other than guardrail
    relaxations, which the report explains pick by pick instead. Any other warning (a library's
    ``RuntimeWarning``, ``FutureWarning``, ...) is not a caution about the plan: it is issued
    again where it was raised, under the caller's filters."""
    for w in caught:
        if not issubclass(w.category, UserWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return sorted(
        {
            str(w.message)
            for w in caught
            if issubclass(w.category, UserWarning)
            and not issubclass(w.category, design.GuardrailWarning)
        }
    )


def guardrail_reasons(
    fit, cands, target, batch: pd.DataFrame, seed: int, ci: float, group=None, model=None
) -> dict:
    """Why the guardrails restricted picks of a greedy batch: pick rank -> sentence. Each rule
    is switched off in turn (:class:`bayeslaws.design.Guardrails`) and the batch re-picked
    (with the batch's ``seed``, ``ci``, ``group`` and ``model``); the rule whose removal
    changes that pick is the one that bit."""
    out = {}
    restricted = batch.index[batch["guardrail"].astype(str) != ""]
    if not len(restricted):
        return out
    rules = {
        "max_repeats": design.Guardrails(max_repeats=None),
        "ratio_diversity": design.Guardrails(ratio_diversity=False),
        "both": design.Guardrails(max_repeats=None, ratio_diversity=False),
    }
    free = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rule, g in rules.items():
            free[rule] = design.next_runs(
                fit, cands, target, k=len(batch), guardrails=g, seed=seed, ci=ci, group=group,
                model=model,
            )  # fmt: skip
    ratio_tol = design.Guardrails().ratio_tol
    for i in restricted:
        r = batch.loc[i]
        rank = int(r["rank"])
        if r["guardrail"] == "relaxed":
            out[rank] = (
                "no candidate met the batch rules for this pick, so they were relaxed (a warning "
                "was raised)"
            )
            continue
        why = []
        for rule, alt in free.items():
            if len(alt) >= rank and alt["unit"].iloc[rank - 1] != r["unit"]:
                other = alt.iloc[rank - 1]
                run = f"N {other['N']:.3g}, D {other['D']:.3g}"
                if rule == "both":
                    if not why:
                        why.append(
                            f"the best-scoring candidate ({run}) both repeats a run already "
                            "chosen (Guardrails.max_repeats=1) and shares the earlier picks' "
                            "tokens-per-parameter ratio (Guardrails.ratio_diversity)"
                        )
                elif rule == "max_repeats":
                    why.append(
                        f"without the rule 'no run twice per batch' (Guardrails.max_repeats=1) "
                        f"this pick would repeat a run already chosen ({run})"
                    )
                else:
                    earlier = (batch["D"] / batch["N"]).iloc[: rank - 1]
                    why.append(
                        "the earlier picks all train at about "
                        f"{float(np.median(earlier)):.3g} tokens per parameter and a batch along "
                        "one ratio cannot separate the size and data terms, so the last pick "
                        f"must lie more than a factor {ratio_tol:g} away "
                        f"(Guardrails.ratio_diversity); it would otherwise be {run}"
                    )
        out[rank] = "; ".join(why) or "a batch rule set the best-scoring candidate aside"
    return out


# ---- what a pick is worth ----------------------------------------------------------------------
def _verdict(saved_flops: float, cost: float) -> str:
    ratio = saved_flops / cost
    word = "worth it" if ratio >= 1 else "NOT worth it"
    return f"{word} (gain / cost = {ratio:.2g})"


def pick_values(
    batch: pd.DataFrame, regret: float, shrink, flops: float, slope: float
) -> pd.DataFrame:
    """Per pick of a greedy batch (``rank``, ``flops``: its cost): the expected regret (loss
    units) before and after it, from the regret now and each pick's cumulative shrink factor
    ``shrink`` ((picks,): (width_after / width_now)^2, averaged over the target's components
    when it has several); the loss saved; its worth, the FLOPs
    that would buy that loss on a run of ``flops`` FLOPs whose loss falls by ``|slope|`` per
    unit of ln compute (``flops * (exp(saved / |slope|) - 1)``); its cost and the verdict. The
    loss saved is clipped at 0 (a pick that leaves the cumulative width where it was, or wider
    by Monte Carlo error, saves nothing; no "-0")."""
    regrets = regret * np.concatenate([[1.0], shrink])
    saved = np.maximum(-np.diff(regrets), 0.0) + 0.0  # + 0.0: no negative zero
    worth = flops * np.expm1(saved / abs(slope))
    cost = batch["flops"].to_numpy(float)
    return pd.DataFrame(
        {
            "rank": batch["rank"].astype(int),
            "regret_before": regrets[:-1],
            "regret_after": regrets[1:],
            "loss_saved": saved,
            "worth_flops": worth,
            "cost_flops": cost,
            "verdict": [_verdict(w, c) for w, c in zip(worth, cost, strict=True)],
        }
    )


def nopt_value(
    surface_fit, batch: pd.DataFrame, budget: float, seed: int = 0, group=None
) -> pd.DataFrame:
    """Per pick of an N_opt batch: the expected loss regret of training the budget's run at the
    posterior median N_opt, before and after the pick, and its worth in FLOPs (``group``: a
    fitted group's label, or None).

    The regret is that of :func:`~bayeslaws.posterior.optimal_allocation`'s posterior, so the
    batch must be valued on the same one (``next_runs(..., model=allocation_model())``, as
    :func:`next_runs_plan` does): a batch under another model (the design's default "drift" for
    a widened law) scales it by width ratios of another interval.

    Regret now: E[L(N_med) - L_opt] over the posterior (loss units) at ``budget``. Near the
    optimum the regret is quadratic in ln N - ln N_opt, so it scales with the variance of
    ln N_opt: after a pick it is regret_now * (width_after / width_now)^2 (the design's expected
    widths, cumulative over the batch). A loss saved at the budget is worth the compute that
    would buy it there: C * (exp(saved / |dL_opt/d ln C|) - 1) FLOPs. A pick is "worth it" when
    that exceeds its own cost (for ONE training run at the budget)."""
    label = width_labels(batch)[0]
    alloc = optimal_allocation(
        surface_fit, C=[budget / 1.1, budget, budget * 1.1], seed=seed, group=group
    )
    slope = (alloc["L_opt"].iloc[2] - alloc["L_opt"].iloc[0]) / (2 * np.log(1.1))
    n_med, l_opt = float(alloc["N_opt"].iloc[1]), float(alloc["L_opt"].iloc[1])
    near = near_optimal(surface_fit, budget, N=[n_med], seed=seed, group=group)
    regret = float(near.table["excess_mean"].iloc[0]) * l_opt
    now = batch[f"width_now[{label}]"].to_numpy(float)
    after = batch[f"width_after[{label}]"].to_numpy(float)
    table = pick_values(batch, regret, (after / now) ** 2, budget, slope)
    return table.assign(slope_dL_dlnC=slope, regret_now_relative=regret / l_opt)


def hp_value(
    hp_fit, surface_fit, batch, target_N, target_D, seed: int = 0, group=None
) -> pd.DataFrame:
    """Per pick of a hyperparameter batch: the expected loss penalty of training the target run
    at the posterior median (eta_opt, B_opt), before and after, and its worth in FLOPs
    (``group``: the fitted group planned for, on each fit that has groups: :func:`fit_group`).

    Penalty now: the posterior mean of L(eta_med, B_med) / L_opt - 1 at the target (the bowl of
    each draw) times the target's predicted loss. It is quadratic in the log-distances to the
    optimum, so after a pick it scales with the mean of (width_after / width_now)^2 over eta_opt
    and B_opt. A loss saved on the target run is worth the extra tokens that would buy it there:
    C_target * (exp(saved / |dL/d ln D|) - 1) FLOPs (C proportional to D at fixed N).

    That penalty is relative to the fitted LAW's optimum (predict's kind "mean"), the design
    target (:class:`~bayeslaws.design.HyperparamOpt`) that sweeps at other cells narrow. A new
    run at the target cell has its own optimum, scattered about the law's; against it the same
    setting costs more (:func:`~bayeslaws.posterior.loss_penalty`'s default, kind "new_run").
    The difference is the new cell's own scatter, which no sweep at other cells removes, plus,
    for a target beyond the fitted runs, whatever the law's new-run predictive adds there (law
    'sweep': its optima's drift, growing with the decades beyond the fitted range), which
    sweeps nearer the target do reduce; far out it can dominate (the report measures the
    scatter part just inside the range: :func:`new_run_reference`).
    Columns ``regret_new_run_relative`` (of the target's loss) and ``regret_new_run`` (loss
    units) give it, for the report; the design values do not use it."""
    comps = width_labels(batch)
    hp_group, s_group = fit_group(hp_fit, group), fit_group(surface_fit, group)
    with range_stated():  # the target's distances: stated by the report (planning's predict)
        opt = predict(
            hp_fit, N=target_N, D=target_D, seed=seed, group=hp_group, _missing_noted=True
        ).iloc[0]
        pen = predict(
            hp_fit,
            N=target_N,
            D=target_D,
            lr=opt["eta_opt_median"],
            batch_size=opt["B_opt_median"],
            seed=seed,
            group=hp_group,
            _missing_noted=True,  # rel_penalty is read
        ).iloc[0]
        loss = predict(
            surface_fit, N=target_N, D=target_D * np.array([1 / 1.1, 1.0, 1.1]), seed=seed,
            group=s_group,
        )  # fmt: skip
        new_run = loss_penalty(
            hp_fit, target_N, target_D, opt["eta_opt_median"], opt["B_opt_median"], seed=seed,
            group=hp_group, _missing_noted=True,
        ).iloc[0]  # fmt: skip
    slope = (loss["median"].iloc[2] - loss["median"].iloc[0]) / (2 * np.log(1.1))
    L_t = float(loss["median"].iloc[1])
    regret = float(pen["rel_penalty_mean"]) * L_t
    new_run_relative = float(new_run["rel_penalty_mean"])
    ratios = np.mean(
        [(batch[f"width_after[{c}]"] / batch[f"width_now[{c}]"]) ** 2 for c in comps], axis=0
    )
    C_t = float(hp_fit.compute_model.flops(target_N, target_D))
    table = pick_values(batch, regret, np.asarray(ratios, float), C_t, slope)
    return table.assign(
        slope_dL_dlnD=slope,
        regret_now_relative=regret / L_t,
        regret_new_run_relative=new_run_relative,
        regret_new_run=new_run_relative * L_t,
    )


def fit_ranges(fit, group=None) -> dict:
    """The range the report measures a number's distance from (column -> [min, max]): the
    planned ``group``'s own runs on a fit with groups, else the fit's pooled range."""
    return group_ranges(fit, fit_group(fit, group))


REFERENCE_INSET = 1.01  # the reference point lies 1% inside an edge of the fitted range


def new_run_reference(hp_fit, N: float, D: float, group=None, seed: int = 0) -> dict | None:
    """Where a new run's penalty has no part from beyond the fitted runs: the point nearest the
    target (``N`` params, ``D`` tokens) inside the hyperparameter fit's fitted range
    (:func:`fit_ranges`), :data:`REFERENCE_INSET` inside an edge it is moved to (off the fitted
    cells, where a law reads a cell's own posterior). There, the relative penalty of training at
    the law's median optimum against the law's optimum ("law", predict's kind "mean") and
    against a new run's own optimum ("new_run", bl.loss_penalty's default), fractions of the
    loss; and the point's "N", "D". None when the target lies inside that range (nothing to
    separate) or the law prices no penalty off its optimal lr and batch size. ``seed``: the
    plan's, as :func:`hp_value`'s gap it is compared with."""
    if not {"lr", "batch_size"} <= set(hp_fit.law.optional_inputs):
        return None
    ranges = fit_ranges(hp_fit, group)
    point = {}
    for axis, value in (("N", float(N)), ("D", float(D))):
        low, high = (float(v) for v in ranges[axis])
        if outside_decades(np.array([value]), low, high)[0] == 0:
            point[axis] = value
            continue
        inset = REFERENCE_INSET if high > low * REFERENCE_INSET**2 else 1.0
        point[axis] = float(np.clip(value, low * inset, high / inset))
    if point == {"N": float(N), "D": float(D)}:
        return None
    g = fit_group(hp_fit, group)
    opt = predict(
        hp_fit, N=point["N"], D=point["D"], seed=seed, group=g, _missing_noted=True
    ).iloc[0]
    setting = (opt["eta_opt_median"], opt["B_opt_median"])
    rel = {
        kind: float(
            loss_penalty(
                hp_fit, point["N"], point["D"], *setting, kind=kind, seed=seed, group=g,
                _missing_noted=True,
            )["rel_penalty_mean"].iloc[0]
        )
        for kind in ("mean", "new_run")
    }
    return {**point, "law": rel["mean"], "new_run": rel["new_run"]}


# ---- known values --------------------------------------------------------------------------------
TRUTH_GRID_PER_DECADE = 2000  # sizes per decade of the truth's near-optimal search
TRUTH_GRID_DECADES = (2, 20)  # decades below n_opt searched first, and at most


def truth_near_optimal(truth, C: float, tolerance: float, relative_to: str) -> float:
    """The smallest N (params) whose true excess loss at budget C (FLOPs, on the truth's own
    isoFLOP line C = k N D, k = ``truth.flops_per_param_token``) is within
    ``tolerance`` of the optimal loss (a fraction of the reducible loss, ``relative_to=
    "reducible"``, or of the total). The search below the true N_opt starts
    ``TRUTH_GRID_DECADES[0]`` decades down and widens (two decades at a time, to at most
    ``TRUTH_GRID_DECADES[1]``) while its smallest size is still within the tolerance, so a
    large tolerance is not cut off at the grid's edge (ValueError if even the widest is)."""
    n_opt = float(truth.n_opt(C))
    L_opt = float(truth.loss_star(n_opt, truth.d_opt(C)))
    base = L_opt - truth.E if relative_to == "reducible" else L_opt
    decades = TRUTH_GRID_DECADES[0]
    while True:
        N = np.geomspace(n_opt / 10.0**decades, n_opt, TRUTH_GRID_PER_DECADE * decades + 1)
        D = C / (truth.flops_per_param_token * N)  # tokens on the truth's isoFLOP line
        within = (truth.loss_star(N, D) - L_opt) <= tolerance * base
        if not within[0]:
            return float(N[np.argmax(within)])
        if decades >= TRUTH_GRID_DECADES[1]:
            raise ValueError(
                f"tolerance={tolerance!r} ({relative_to}): every size down to {N[0]:.3g} params "
                f"is within it at C = {C:.3g} FLOPs; no smallest size to compare with"
            )
        decades += 2
