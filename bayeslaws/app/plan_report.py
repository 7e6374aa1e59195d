"""The planning report of the main job (``bayeslaws demo``, ``bayeslaws plan``), built from a plan
(:func:`bayeslaws.app.plan.planning`) with the generic structures of :mod:`.report`.

Every number in the report comes with its credible interval, where it lies relative to the
fitted data, and, when the data are SIMULATED (or a truth is given:
:func:`bayeslaws.app.plan.known_truth`), whether the simulator's truth
(:class:`bayeslaws.runs.simulate.VideoDiTTruth`) and Yin et al.'s published values
(:mod:`bayeslaws.runs.published`) lie inside that interval; a report on real data names its
source and compares with no truth. The next-runs section gives the
greedy batch (picked together) and the ranking of each candidate alone (the figure), explains the
guardrails where they bite, flags picks outside the fitted range and says per pick whether the
expected gain is worth its compute.

Units: N parameters, D tokens, C FLOPs.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..design.batch import width_labels
from ..laws import resolve_law
from ..posterior.extrapolation.distance import group_ranges
from ..posterior.fixed_hyperparams import N_GRID, sampler_trouble
from ..posterior.predict import outside_decades
from ..runs import RunTable, published
from ..runs.simulate import VideoDiTTruth
from .plan import (
    DESIGN_PER_BUDGET,
    batch_as_given,
    design_budgets,
    fit_group,
    fit_ranges,
    group_labels,
    known_truth,
    route_of,
    simulated_data,
    truth_near_optimal,
    unknown_truth_note,
)
from .report import (
    UNITS,
    Number,
    Reference,
    Report,
    Section,
    add_warnings_section,
    band_edge_caution,
    data_lines,
    distances,
    near_optimal_sentence,
    recorded_warnings,
    search_edge_caution,
    searched_columns,
    summary_unit,
    warning_lines,
)

TRUTH_LABEL = "VideoDiTTruth"
YIN_LABEL = "Yin et al. 2025"
ROUTE_WORDS = {
    "joint": (
        "Route: joint (the default). One model, law 'sweep', fitted to every run at once: each "
        "(N, D) cell's LR x batch bowl, the power laws of its optimum (eta_opt, B_opt) and the "
        "loss surface under optimal hyperparameters L(N, D), hence N_opt(C). Every number below "
        "comes from that one fit."
    ),
    "best-cell": (
        "Route: best-cell (the baseline). Two fits: one answers eta_opt and B_opt, the other "
        "the loss and N_opt ('bayeslaws demo --route best-cell' fits law 'hyperparams' to every "
        "run and a Chinchilla surface to each (N, D) cell's best run: Yin et al.'s shortcut, in "
        "which a cell's best grid run stands in for its loss at optimal hyperparameters). The "
        "default joint route fits the whole sweep as one model instead."
    ),
}


# ---- known values --------------------------------------------------------------------------------
def truth_refs(value: float, published_value: float | None = None, label: str = YIN_LABEL):
    """The simulator's truth and, if given, a published value as references; none when
    ``value`` is None (no truth: real data)."""
    if value is None:
        return []
    refs = [Reference(TRUTH_LABEL, float(value), "truth")]
    if published_value is not None:
        refs.append(Reference(label, float(published_value), "published"))
    return refs


# (N params, D tokens) -> Yin et al.'s predicted loss L*(N, D) there (the paper's annotations)
YIN_LOSS_ANCHORS = {
    (1.07e9, 1e10): published.YIN_ANCHOR_L_1P07B_10B,
    (1.07e9, 4e9): published.YIN_ANCHOR_L_1P07B_4B,
}
ANCHOR_RTOL = 1e-2  # a target within 1% of an anchor's N and D is that anchor


def published_loss(N: float, D: float) -> float | None:
    """Yin et al.'s published loss at a target of N params on D tokens when the target is one
    of the points they annotate (:data:`YIN_LOSS_ANCHORS`, within :data:`ANCHOR_RTOL` on both
    N and D); None anywhere else (a published value at another point is no reference)."""
    for (n, d), loss in YIN_LOSS_ANCHORS.items():
        if np.isclose(N, n, rtol=ANCHOR_RTOL) and np.isclose(D, d, rtol=ANCHOR_RTOL):
            return loss
    return None


LAW_TRUTH = {  # law-table row -> the truth's constant (the simulator's default: Yin et al.'s)
    ("eta_opt", "c"): "eta_coef",
    ("eta_opt", "exp_T"): "eta_exp_T",
    ("eta_opt", "exp_N"): "eta_exp_N",
    ("B_opt", "c"): "b_coef",
    ("B_opt", "exp_T"): "b_exp_T",
    ("B_opt", "exp_N"): "b_exp_N",
}
LAW_PUBLISHED = {  # law-table row -> Yin et al.'s published constant (N, T in YIN_UNIT)
    ("eta_opt", "c"): published.YIN_ETA_COEF,
    ("eta_opt", "exp_T"): published.YIN_ETA_EXP_T,
    ("eta_opt", "exp_N"): published.YIN_ETA_EXP_N,
    ("B_opt", "c"): published.YIN_B_COEF,
    ("B_opt", "exp_T"): published.YIN_B_EXP_T,
    ("B_opt", "exp_N"): published.YIN_B_EXP_N,
}


def coef_in_units(coef: float, exp_T: float, exp_N: float, from_unit: float, to_unit: float):
    """The coefficient c of a law c (T/u)^exp_T (N/u)^exp_N written for N, T in ``from_unit``,
    re-expressed for N, T in ``to_unit`` (the same law): c (to_unit / from_unit)^(exp_T +
    exp_N)."""
    return coef * (to_unit / from_unit) ** (exp_T + exp_N)


def law_row_value(constants: dict, row: tuple, from_unit: float, to_unit: float) -> float:
    """A law-table ``row`` ((quantity, parameter)) of the laws ``constants`` (row -> value, N
    and T of the coefficients in ``from_unit``) in the table's units ``to_unit``."""
    q, param = row
    if param != "c":
        return constants[row]
    return coef_in_units(
        constants[row], constants[(q, "exp_T")], constants[(q, "exp_N")], from_unit, to_unit
    )


def truth_law_constants(truth) -> dict:
    """The truth's hyperparameter laws as law-table rows -> value (N, T in ``truth.hp_unit``)."""
    return {row: float(getattr(truth, name)) for row, name in LAW_TRUTH.items()}


def truth_is_published(truth) -> bool:
    """Whether the truth's hyperparameter laws are Yin et al.'s published ones (same constants
    in the same units)."""
    constants = truth_law_constants(truth)
    return np.isclose(truth.hp_unit, published.YIN_UNIT) and all(
        np.isclose(constants[row], LAW_PUBLISHED[row]) for row in LAW_TRUTH
    )


SURFACE_TRUTH = ("E", "A", "B", "alpha", "beta")


# ---- the report ----------------------------------------------------------------------------------
def build_report(
    plan: dict,
    hp_fit,
    surface_fit=None,
    runs: RunTable | None = None,
    truth: VideoDiTTruth | None = None,
    figures: list | None = None,
    warnings_before=(),
    runs_file: str | None = None,
) -> Report:
    """The planning report (:class:`~bayeslaws.app.report.Report`); ``surface_fit`` None: the
    same fit as ``hp_fit`` (the joint route); ``runs``: the fitted runs (default the fit's
    own); ``truth``: the truth the numbers are checked against (default the plan's, else
    :func:`~bayeslaws.app.plan.known_truth`: the simulator's for SIMULATED data, none for real
    data); ``figures``: (caption, path) pairs shown in its last section; ``runs_file``: the
    name of the file beside the report that lists every run of the picks
    (:func:`~bayeslaws.app.plan.next_runs_table`, as :func:`bayeslaws.app.demo.run_planning`
    writes it), named in the next-runs sections (None: no such file).

    ``warnings_before`` (:func:`~bayeslaws.app.report.warning_lines` of the warnings issued
    earlier, e.g. a fit's SamplerWarning, as :func:`bayeslaws.app.demo.run_demo` passes them),
    the warnings issued while the plan was computed (``plan["warnings"]``,
    :func:`~bayeslaws.app.plan.planning`) and those issued while the report is built (still
    shown on stderr: :func:`~bayeslaws.app.report.recorded_warnings`) are listed in its
    "Warnings" section, after the fits' health. A fit whose sampler reported problems
    (``fit.diagnostics.problems``) gets a CAUTION at the top of the report
    (:func:`sampler_caution`), and the verdicts that rest on it say so."""
    with recorded_warnings() as caught:
        report = _build_report(plan, hp_fit, surface_fit, runs, truth, figures, runs_file)
    lines = [*warnings_before, *plan.get("warnings", ()), *warning_lines(caught)]
    return add_warnings_section(report, lines)


def _build_report(
    plan: dict, hp_fit, surface_fit, runs, truth, figures, runs_file=None
) -> Report:
    """:func:`build_report` without its warnings section."""
    surface_fit = hp_fit if surface_fit is None else surface_fit
    truth = known_truth(hp_fit, plan.get("truth") if truth is None else truth, (surface_fit,))
    runs_line = f"runs given: {runs}"
    if runs is None:  # the runs the fit used: its exclusions are not in this table's count
        runs = hp_fit.training_runs()
        runs_line = (
            f"runs fitted: {runs} (the runs the fit used; what it excluded, and why, is under "
            "'Fits and sampler health')"
        )
    route = plan.get("route") or route_of(hp_fit, surface_fit)
    ci = plan.get("ci", 0.9)
    pct = f"{100 * ci:g}%"
    h = plan["hyperparams"]
    tN, tD = float(h["N"].iloc[0]), float(h["D"].iloc[0])
    group = plan.get("group")
    hp_ranges, s_ranges = fit_ranges(hp_fit, group), fit_ranges(surface_fit, group)
    source = (hp_fit.record.data or {}).get("source", "?")
    hp_name, s_name = FIT_NAMES[route]
    unsettled_hp = [hp_name] if hp_fit.diagnostics.problems else []
    unsettled_s = [s_name] if surface_fit.diagnostics.problems else []
    named = ((hp_name, hp_fit),) if route == "joint" else ((hp_name, hp_fit), (s_name, surface_fit))
    report = Report(
        f"bayeslaws planning report on {source!r} ({route} route)",
        [
            *[sampler_caution(name, f.diagnostics) for name, f in named if f.diagnostics.problems],
            *_known_values_words(hp_fit, truth, (surface_fit,)),
            ROUTE_WORDS[route],
            *options_lines(named),
            runs_line,
            *([group_sentence(hp_fit, surface_fit, group)] if group is not None else []),
            f"All intervals are central {pct} posterior credible intervals. 'where' gives the "
            "distance from the fitted data in decades"
            + (
                "; 'inside' / 'OUTSIDE' says whether a known value lies in the interval."
                if truth is not None
                else "."
            ),
            ("fitted ranges: " if group is None else f"fitted ranges of group {group!r}'s runs: ")
            + "; ".join(
                f"{k} [{v[0]:.3g}, {v[1]:.3g}]" + (f" {UNITS[k]}" if k in UNITS else "")
                for k, v in s_ranges.items()
            ),
        ],
        ci=ci,
    )
    if route == "joint":
        described = [
            "joint sweep model (every run: the bowls, the optima's laws and the loss surface "
            f"at once): {hp_fit!r}"
        ]
    else:
        described = [
            f"hyperparameter fit (eta_opt, B_opt): {hp_fit!r}",
            f"loss-surface fit (the loss, N_opt): {surface_fit!r}",
        ]
    fits = Section(
        "Fits and sampler health",
        notes=described
        + [
            f"{name}: {f.diagnostics.n_draws} draws, max R-hat {f.diagnostics.r_hat_text}, "
            f"min ESS {f.diagnostics.min_ess_bulk:.0f}, {f.diagnostics.divergences} divergent; "
            + (
                "problems: " + "; ".join(f.diagnostics.problems)
                if f.diagnostics.problems
                else "no problems"
            )
            for name, f in named
        ]
        + [f"{name}: {line}" for name, f in named for line in fit_record_lines(f)],
    )
    report.sections.append(fits)

    where_t = distances(hp_ranges, N=tN, D=tD)
    hp = Section(f"Optimal hyperparameters at {tN / 1e9:.3g}B parameters on {tD / 1e9:.3g}B tokens")
    for _, r in h.iterrows():
        what = "the law" if r["kind"] == "mean" else "a new sweep's optimum"
        hp.numbers.append(
            Number(
                f"eta_opt ({what})",
                r.eta_opt_median,
                r.eta_opt_lower,
                r.eta_opt_upper,
                "",
                "{:.3g}",
                where_t,
                truth_refs(_known(truth, "eta_opt", tN, tD), published.yin_eta_opt(tN, tD)),
            )
        )
        hp.numbers.append(
            Number(
                f"B_opt ({what})",
                r.B_opt_median,
                r.B_opt_lower,
                r.B_opt_upper,
                "tokens",
                "{:.4g}",
                where_t,
                truth_refs(_known(truth, "b_opt", tN, tD), published.yin_b_opt(tN, tD)),
            )
        )
    table = plan["law_table"]
    units = law_units(table)
    unit = table.attrs.get("unit", published.YIN_UNIT)
    for (q, param), r in table.iterrows():
        value = paper = None
        if truth is not None:  # both in the table's units (a truth may state its own)
            value = law_row_value(truth_law_constants(truth), (q, param), truth.hp_unit, unit)
            paper = law_row_value(LAW_PUBLISHED, (q, param), published.YIN_UNIT, unit)
        hp.numbers.append(
            Number(
                f"{q} law: {param}" + (f" ({units})" if param == "c" else ""),
                r["median"],
                r["lower"],
                r["upper"],
                "tokens" if (q, param) == ("B_opt", "c") else "",
                "{:.4g}",
                "",
                truth_refs(value, paper),
            )
        )
    law_note = (
        "The simulator's hyperparameter laws ARE Yin et al.'s published laws, so the two "
        "references coincide. "
        if truth is not None and truth_is_published(truth)
        else ""
    ) + law_formulas_sentence(table)
    if law_note:
        hp.notes.append(law_note)
    report.sections.append(hp)

    report.sections.append(_surface_section(surface_fit, truth, ci, route))

    lossec = Section(f"Predicted loss at {tN / 1e9:.3g}B parameters on {tD / 1e9:.3g}B tokens")
    for _, r in plan["loss"].iterrows():
        what = "the law (mean)" if r["kind"] == "mean" else "one new run (new_run)"
        lossec.numbers.append(
            Number(
                what,
                r["median"],
                r["lower"],
                r["upper"],
                "",
                "{:.4f}",
                distances(s_ranges, N=tN, D=tD),
                truth_refs(_known(truth, "loss_star", tN, tD), published_loss(tN, tD)),
            )
        )
    if truth is not None:
        lossec.notes.append(
            "The truth is the noise-free loss L*(N, D); one new run scatters around it by the "
            f"simulator's noise ({100 * truth.noise_sd:.2g}% sd), which the new_run interval "
            "includes."
        )
    report.sections.append(lossec)

    report.sections.append(_allocation_section(plan, surface_fit, truth))
    report.sections.append(
        _fixed_vs_optimal_section(plan, surface_fit, truth, unsettled=unsettled_s)
    )
    report.sections += _design_sections(
        plan, surface_fit, hp_fit, pct, unsettled=(unsettled_s, unsettled_hp, unsettled_s),
        runs_file=runs_file, target=(tN, tD), new_run_reference=plan.get("new_run_reference"),
    )
    if figures:
        report.sections.append(Section("Figures", figures=list(figures)))
    return report


FIT_NAMES = {  # route -> what the report calls (the hyperparameter fit, the loss-surface fit)
    "joint": ("joint sweep model", "joint sweep model"),
    "best-cell": ("hyperparameter law", "loss surface"),
}


def changed_law_options(fit_) -> dict:
    """The law options ``fit_`` was fitted with (its record) that differ from its law's
    defaults (the law rebuilt from the record's law reference alone), by option name."""
    defaults = resolve_law(fit_.record.law).options
    return {
        name: value
        for name, value in (fit_.record.law_options or {}).items()
        if name not in defaults or defaults[name] != value
    }


def options_lines(named) -> list[str]:
    """One line per fit of ``named`` ((report name, fit) pairs) fitted with law options other
    than its law's defaults (:func:`changed_law_options`), e.g. "law options of the
    hyperparameter law: far_above=0.03 (the law's default: 0.1)"; [] when none is."""
    lines = []
    for name, fit_ in named:
        changed = changed_law_options(fit_)
        if changed:
            defaults = resolve_law(fit_.record.law).options
            said = ", ".join(
                f"{key}={value!r}" + (f" (default {defaults[key]!r})" if key in defaults else "")
                for key, value in changed.items()
            )
            lines.append(f"law options of the {name} (other than the law's defaults): {said}")
    return lines


def sampler_caution(name: str, diag) -> str:
    """The CAUTION at the top of a planning report when the fit called ``name`` has sampler
    problems (``diag``: its :class:`~bayeslaws.inference.Diagnostics`): its largest R-hat,
    smallest bulk ESS and divergences (:func:`sampler_trouble`, as the fixed-vs-optimal verdict
    gives them), and that everything below inherits them."""
    return (
        f"CAUTION: the sampler did not converge cleanly for the {name} ({sampler_trouble(diag)}; "
        "its problems are under 'Fits and sampler health'): every interval and verdict below "
        "inherits it. Refit with more draws (and chains) before acting on it."
    )


def unsettled_note(names: list, what: str) -> str:
    """A section's CAUTION that its ``what`` (e.g. "verdict") rests on the fits ``names`` whose
    sampler did not converge cleanly (:func:`sampler_caution`); '' when there are none."""
    if not names:
        return ""
    fits = " and the ".join(dict.fromkeys(names))
    return (
        f"CAUTION: the {what} below rest on the {fits}, whose sampler did not converge cleanly "
        "(see the CAUTION at the top): they are not reliable until it is refitted."
    )


UNRELIABLE_TAG = " [unreliable fit]"  # after a verdict that rests on a fit with sampler problems


def fit_record_lines(fit) -> list[str]:
    """What a fit recorded of its runs, line by line: the runs used of those given, each
    exclusion with its count, who made it and why, the outlier screening
    (:func:`~bayeslaws.app.report.data_lines`), then the fit's notes (``record.notes``: e.g.
    the law's own account of runs it left out, identifiability notes)."""
    return [*data_lines(fit), *fit.record.notes]


def group_sentence(hp_fit, surface_fit, group) -> str:
    """The preamble's sentence on the group planned for (``planning(..., group=)``): every
    answer is that fitted group's; a fit without groups answers from all its runs."""
    labels = group_labels(surface_fit) or group_labels(hp_fit)
    pooled = [
        name
        for name, f in (("hyperparameter fit", hp_fit), ("loss-surface fit", surface_fit))
        if not group_labels(f)
    ]
    return (
        f"Group: every answer below is for fitted group {group!r} (of {labels}), with 'where' "
        "measured from that group's own runs; the law table is the population's."
        + (
            f" The {' and '.join(pooled)} has no groups: it answers from all its runs."
            if pooled
            else ""
        )
    )


def law_units(table: pd.DataFrame) -> str:
    """The units of N and T in a law table's coefficients c, short: ``table.attrs["units"]``
    ("N, T in units of 1e+09 (parameters, tokens); B in tokens") up to its first ';', without
    parentheses ("N, T in units of 1e+09"); a warning phrase when the table records none."""
    units = table.attrs.get("units")
    if not units:
        return "units of N, T not recorded in the law table"
    return re.sub(r"\s*\([^)]*\)", "", str(units).split(";")[0]).strip()


def law_formulas_sentence(table: pd.DataFrame) -> str:
    """The posterior median laws of a law table (``attrs["formulas"]``) with the units their
    coefficients assume (``attrs["units"]``: N and T are in those units, not in parameters
    and tokens); '' for a table without formulas."""
    formulas = table.attrs.get("formulas", {})
    if not formulas:
        return ""
    units = table.attrs.get("units") or law_units(table)
    return f"Posterior median laws [{units}]: " + "; ".join(formulas.values())


def _known_values_words(fit, truth, others=()) -> list:
    """The preamble's words on the data and the known values: SIMULATED data are checked
    against the simulator's truth; a truth given for real data is named; none otherwise
    (``others``: the other fits planned from, :func:`~bayeslaws.app.plan.known_truth`)."""
    if simulated_data(fit) and truth is None:  # simulated, by no truth the fit can name
        return [unknown_truth_note(fit, None, others)]
    if simulated_data(fit):
        return [
            "The runs are SIMULATED (bayeslaws.runs.simulate, video-DiT design of Yin et al. "
            "2025), so every number can be checked against the simulator's truth "
            f"({TRUTH_LABEL}); Yin et al.'s published values are shown where they exist."
        ]
    if truth is not None:
        return [
            f"Every number is checked against the truth given ({TRUTH_LABEL}); Yin et al.'s "
            "published values are shown where they exist."
        ]
    return []


def surface_names(fit) -> list[str]:
    """The loss-surface quantities the report lists for ``fit``: its law's
    :meth:`~bayeslaws.laws.contract.Law.report_names` among the fit's
    ``record.summary_names``, Chinchilla's (:data:`SURFACE_TRUTH`, then a_opt) first in that
    order."""
    names = fit.law.report_names(list(fit.record.summary_names))
    first = [n for n in (*SURFACE_TRUTH, "a_opt") if n in names]
    return first + [n for n in names if n not in first]


def _surface_title(fit) -> str:
    """'Loss surface L(N, D) = <form>' from the law's ``form_description`` (a joint law's:
    its surface's); 'Loss surface: <description>' for a description that is no formula
    'L = ...'."""
    words = fit.law.form_description or f"law {fit.law.name!r}"
    if words.startswith("L = "):
        return "Loss surface L(N, D) = " + words[len("L = ") :]
    return f"Loss surface: {words}"


def _surface_section(surface_fit, truth, ci: float, route: str) -> Section:
    """The loss surface's quantities (:func:`surface_names`) with central ``ci`` intervals; the
    truth's value beside those named as the simulator's Chinchilla surface (E, A, B, alpha,
    beta; a_opt as its N_opt exponent)."""
    summary = surface_fit.summary(ci=ci)
    lo_col, hi_col = f"{50 * (1 - ci):g}%", f"{50 * (1 + ci):g}%"
    source = (
        "under optimal hyperparameters, joint sweep model"
        if route == "joint"
        else "best run per cell"
    )
    sec = Section(f"{_surface_title(surface_fit)} ({source})")
    for name in surface_names(surface_fit):
        r = summary.loc[name]
        known = {**{k: k for k in SURFACE_TRUTH}, "a_opt": "n_opt_exponent"}.get(name)
        value = _known(truth, known) if known else None
        sec.numbers.append(
            Number(name, r["50%"], r[lo_col], r[hi_col], summary_unit(name), "{:.4g}", "",
                   truth_refs(value))
        )
    return sec


def _known(truth, name: str, *args):
    """The truth's value ``name`` (an attribute, or a method called with ``args``); None
    without a truth."""
    if truth is None:
        return None
    value = getattr(truth, name)
    return value(*args) if args else value


def _allocation_section(plan: dict, surface_fit, truth) -> Section:
    a = plan["allocation"].iloc[0]
    C = float(a["C"])
    ranges = fit_ranges(surface_fit, plan.get("group"))
    model = surface_fit.compute_model
    given_truth = truth
    if not same_flops_as_truth(model, truth):
        truth = None  # its N_opt(C) counts C another way: a different size at the same C
    n_t, d_t = _known(truth, "n_opt", C), _known(truth, "d_opt", C)
    yin = None
    if truth is not None and np.isclose(C, published.YIN_BUDGET) and model.linear_k == 6.0:
        yin = published.YIN_N_OPT_AT_BUDGET
    sec = Section(
        f"Compute-optimal allocation at C = {C:.3g} FLOPs (C = {model.name}: the fit's compute "
        "model)"
    )
    if given_truth is not None and truth is None:
        skipped = "the simulator's truth"
        if np.isclose(C, published.YIN_BUDGET):
            skipped += " or Yin et al.'s N_opt at this budget"
        sec.notes.append(
            f"Not compared with {skipped}: the truth counts C = "
            f"{given_truth.flops_per_param_token:g}ND, this fit C = {model.name}, so the same "
            "C stands for another model size and token count."
        )
    sec.numbers += [
        Number(
            "N_opt",
            a.N_opt,
            a.N_opt_lower,
            a.N_opt_upper,
            "parameters",
            "{:.3g}",
            distances(ranges, C=C, N=a.N_opt),
            truth_refs(n_t, yin),
        ),
        Number(
            "D_opt",
            a.D_opt,
            a.D_opt_lower,
            a.D_opt_upper,
            "tokens",
            "{:.3g}",
            distances(ranges, C=C, D=a.D_opt),
            truth_refs(d_t),
        ),
        Number(
            "L_opt",
            a.L_opt,
            a.L_opt_lower,
            a.L_opt_upper,
            "",
            "{:.4f}",
            distances(ranges, C=C),
            truth_refs(_known(truth, "loss_star", n_t, d_t)),
        ),
        Number(
            "tokens per parameter",
            *plan["tokens_per_param"],
            "",
            "{:.3g}",
            distances(ranges, C=C),
            truth_refs(None if truth is None else d_t / n_t),
        ),
    ]
    at_edge = search_edge_caution(C, a.get("at_boundary", 0.0), searched=searched_columns(a))
    if at_edge:
        sec.notes.append(at_edge)
    if yin is not None:
        sec.notes.append(
            f"Yin et al. quote N_opt = {yin:.3g} at this budget (their earlier law "
            f"{published.YIN_NOPT_COEF} C^{published.YIN_NOPT_EXP}); the simulator was built to "
            f"reproduce it and gives {n_t:.3g}."
        )
    near = plan["near_optimal"]
    sec.notes.append(near_optimal_sentence(near))
    floor_missing = _floor_missing(near, surface_fit)
    if floor_missing:
        sec.notes.append(floor_missing)
    band_edge = band_edge_caution(near)
    if band_edge:
        sec.notes.append(band_edge)
    if near.band is not None and truth is not None:
        sec.notes.append(_near_optimal_truth(near, C, truth, floor_missing))
    return sec


def same_flops_as_truth(compute_model, truth) -> bool:
    """Whether ``compute_model`` counts C as the truth does (C = k N D with the truth's k,
    ``truth.flops_per_param_token``); True without a truth (nothing to compare)."""
    if truth is None:
        return True
    k = compute_model.linear_k
    return k is not None and bool(np.isclose(k, truth.flops_per_param_token))


def _near_optimal_truth(near, C: float, truth, floor_missing: str) -> str:
    """Where the band's smallest size lies against the truth's smallest size within the same
    tolerance (the one the band was actually computed with)."""
    tolerance, relative_to = near.tolerance, near.relative_to
    if floor_missing:
        tolerance, relative_to = near.tolerance_total, "total"
    t_lo = truth_near_optimal(truth, C, tolerance, relative_to)
    if near.band_at_edge[0]:
        where = (
            "the smallest size searched: the band extends below it, so it is no estimate "
            "of the smallest size within the tolerance."
        )
    elif near.band[0] > 1.01 * t_lo:
        where = (
            "ABOVE it: the band is conservative on the small side (it leaves out sizes the "
            "truth puts within the tolerance)."
        )
    elif near.band[0] < t_lo / 1.01:
        where = (
            "BELOW it: the band is too generous on the small side (it admits sizes the "
            "truth puts outside the tolerance)."
        )
    else:
        where = "at it (within 1%)."
    return (
        f"Simulator truth: the smallest size within that tolerance is {t_lo:.3g}; the band's "
        f"smallest, {near.band[0]:.3g}, is {where}"
    )


def _floor_missing(near, surface_fit) -> str:
    """A caution when a tolerance meant relative to the reducible loss met a law that passed no
    irreducible loss to near_optimal although its surface has a floor E (then 'reducible' is the
    whole loss and the band is far wider than intended); '' otherwise."""
    if near.relative_to != "reducible" or near.reducible_share[0] < 1 - 1e-9:
        return ""
    if "E" not in surface_fit.record.summary_names:
        return ""
    E = float(surface_fit.summary().loc["E", "50%"])
    return (
        f"CAUTION: law {surface_fit.law.name!r} passed near_optimal no irreducible loss although "
        f"its surface has one (E, median {E:.4g}), so the tolerance above is relative to the "
        "whole loss, not to the reducible part, and the band is far wider than 5% of the "
        "reducible loss would give (the law's irreducible_loss hook is missing)."
    )


def _fixed_vs_optimal_section(plan: dict, surface_fit, truth=None, unsettled=()) -> Section:
    """Yin et al.'s question: how much does one fixed (lr, batch) for every cell, instead of
    each cell's optimum, move the compute-optimal size? Yin et al.'s own answer is quoted only
    beside a ``truth`` (the simulator of their design). ``unsettled``: the names of the fits
    it rests on whose sampler did not converge cleanly (the verdict then says so)."""
    C = float(plan["allocation"]["C"].iloc[0])
    sec = Section(f"Fixed vs optimal hyperparameters at C = {C:.3g} FLOPs")
    answer = plan.get("fixed_vs_optimal")
    if answer is None and len(group_labels(surface_fit)) > 1:
        sec.notes.append(
            f"Not answered for group {plan.get('group')!r}: bl.fixed_vs_optimal takes no group "
            "and on a fit of several groups would answer for a new, unseen group."
        )
        return sec
    if answer is None:
        sec.notes.append(
            "Not answered on this route: its loss surface is fitted to each cell's best run and "
            "knows no loss off the optimal hyperparameters. The joint route answers it with "
            "bl.fixed_vs_optimal: 'bayeslaws plan RUNS --route joint' (the default) on the same "
            "run table makes that plan of your runs ('bayeslaws demo' does it on the bundled "
            "data)."
        )
        return sec
    pct = f"{100 * answer['ci']:g}%"
    med, lo, hi = (answer[f"size_change_{q}"] for q in ("median", "lower", "upper"))
    sec.numbers.append(
        Number(
            "N_opt(fixed) / N_opt(optimal)",
            1 + med,
            1 + lo,
            1 + hi,
            "",
            "{:.2f}",
            fixed_where(answer, surface_fit, C, plan.get("group")),
            truth_refs(1 + answer["truth"]) if "truth" in answer else [],
        )
    )
    caution = unsettled_note(list(unsettled), "size change and its verdict")
    sec.notes += [
        *([caution] if caution else []),
        f"Size change: with every cell trained at one fixed setting (lr {answer['lr']:.3g}, "
        f"batch {answer['batch_size']:.3g} tokens: the posterior-median optimum of the design's "
        "middle cell) instead of at its own optimum, the compute-optimal size changes by "
        f"{med:+.0%} ({pct} interval [{lo:+.0%}, {hi:+.0%}]): N_opt {answer['n_opt_fixed']:.3g} "
        f"instead of {answer['n_opt_optimal']:.3g} (posterior medians of the refits).",
        f"Verdict: {answer['verdict']}"
        + (
            f"; but it rests on the unreliable {' and '.join(unsettled)} (see the CAUTION at "
            "the top)."
            if unsettled and answer.get("sampler_ok", True)  # else the verdict says so itself
            else "."
        ),
        "How: per posterior draw (" + f"{int(answer['n_draws'])} draws) the joint model gives "
        "every fitted cell's loss at its optimum and at the fixed setting; a Chinchilla surface "
        "is least-squares fitted to each set, as Yin et al. do with their grid, and its N_opt "
        "at the budget compared.",
    ]
    at_edge = _refit_edge_caution(answer.get("at_boundary", 0.0))
    if at_edge:
        sec.notes.append(at_edge)
    if "truth" in answer:
        sec.notes.append(
            f"Simulator truth: the same refit of its noise-free losses gives "
            f"{answer['truth']:+.0%}."
        )
    if truth is not None and np.isclose(C, published.YIN_BUDGET):
        fixed_n, opt_n = published.YIN_N_OPT_FIXED_HP_AT_BUDGET, published.YIN_N_OPT_AT_BUDGET
        sec.notes.append(
            f"Yin et al. report N_opt {fixed_n:.3g} with fixed against {opt_n:.3g} with optimal "
            f"hyperparameters at this budget ({fixed_n / opt_n - 1:+.0%}) on their own runs and "
            "fixed setting: the same question on another design, so it is not scored against "
            "this interval."
        )
    return sec


def fixed_where(answer: dict, surface_fit, C: float, group=None) -> str:
    """The 'where' of the fixed-vs-optimal ratio at budget ``C`` (FLOPs): the budget's distance
    from the fitted range and that of the refit's median N_opt at the fixed setting
    (``answer["n_opt_fixed"]``, params) and its tokens D (the fit's compute model at the
    budget), the farther of the two sizes (columns N_fixed_outside_decades,
    D_fixed_outside_decades)."""
    ranges = fit_ranges(surface_fit, group)
    n_fixed = float(answer["n_opt_fixed"])
    d_fixed = float(surface_fit.compute_model.tokens(n_fixed, C))
    sizes = distances(ranges, N=n_fixed, D=d_fixed)
    if sizes:
        sizes = f"at N_opt(fixed) {n_fixed:.3g} params on {d_fixed:.3g} tokens: {sizes}"
    return "; ".join(part for part in (distances(ranges, C=C), sizes) if part)


def _refit_edge_caution(share: float) -> str:
    """A caution when a share of the draws' refitted N_opt lies at the edge of the sizes
    searched (fixed_vs_optimal's ``at_boundary``); '' when none does."""
    if not share > 0:
        return ""
    return (
        f"CAUTION: in {share:.1%} of draws the refitted N_opt is at the search edge (sizes "
        f"{N_GRID[0]:.0e} to {N_GRID[-1]:.0e} params); the interval is cut off there: a budget "
        "far from the fitted cells, or cells that barely constrain the refit (column "
        "at_boundary)."
    )


def _outside(fit, N: float, D: float, group=None) -> str:
    """'inside' or 'OUTSIDE: D 1.08 decades above the fitted max (1.2e+10)' (outside axes;
    from ``group``'s own runs on a fit with groups: :func:`fit_ranges`)."""
    parts = []
    ranges = fit_ranges(fit, group)
    for axis, value in (("N", N), ("D", D)):
        low, high = ranges[axis]
        d = float(outside_decades(np.array([value]), low, high)[0])
        if d:
            side = f"above the fitted max ({high:.3g})"
            if d < 0:
                side = f"below the fitted min ({low:.3g})"
            parts.append(f"{axis} {abs(d):.2f} decades {side}")
    return "OUTSIDE: " + "; ".join(parts) if parts else "inside the fitted range"


def setting_words(low, high, n_values: int, unit: str = "") -> str:
    """A setting of one unit's runs (``low``, ``high``: its lowest and highest value, of
    ``n_values`` distinct values; learning rates, or batch sizes with ``unit`` "tokens" or
    "whole units") as the report and ``bayeslaws design`` print it: one value as it is; several
    as "lowest..highest (n values)", e.g. "8.94e-05..0.000453 (5 values)" (batch sizes to the
    token: "29291..117165 (3 values)"), never one run's value standing for the whole sweep."""

    def text(v: float) -> str:
        whole = unit in ("tokens", "whole units") and v >= 1
        return f"{v:.0f}" if whole else f"{v:.3g}"

    if n_values <= 1 or low == high:
        return text(low)
    return f"{text(low)}..{text(high)} ({n_values} values)"


def unit_setting(row, column: str, unit: str = "", convert=None) -> str:
    """The text (:func:`setting_words`) of setting ``column`` of one unit's row of
    :func:`bayeslaws.design.next_runs` or ``rank_candidates`` (``row``: a Series): the range
    of its runs the package gives (``<column>_min``, ``<column>_max``, ``<column>_values``:
    :func:`bayeslaws.design.gaussian.unit_rows`) when its runs differ, else its value; ""
    when it has none. ``convert``: a function of an array of the values (e.g.
    :func:`~bayeslaws.app.plan.batch_as_given`) applied to the value or range ends."""
    values = row.get(f"{column}_values", 1)
    if pd.notna(values) and int(values) > 1:
        ends = np.array([row[f"{column}_min"], row[f"{column}_max"]], float)
        n = int(values)
    else:
        ends = np.full(2, pd.to_numeric(row.get(column, np.nan), errors="coerce"), float)
        n = 1
    if not np.isfinite(ends).all():
        return ""
    ends = ends if convert is None else np.asarray(convert(ends), float)
    return setting_words(ends[0], ends[1], n, unit)


def pick_settings(row, fit) -> dict:
    """The "lr" and "batch (tokens)" columns of a batch table's row for one pick (``row``: its
    row of :func:`bayeslaws.design.next_runs` on ``fit``), with "batch (as given)" when the
    fitted runs gave their batch in another unit (:func:`~bayeslaws.app.plan.batch_as_given`):
    the ranges of its runs' settings as the package gives them (:func:`unit_setting`); {}
    when the pick has no such setting."""
    if "lr" not in row or "batch_size" not in row:
        return {}
    out = {
        "lr": unit_setting(row, "lr"),
        "batch (tokens)": unit_setting(row, "batch_size", "tokens"),
    }
    if fit.units.get("batch_size", 1.0) != 1.0:  # given in another unit (batch_as_given's rule)
        given = unit_setting(row, "batch_size", "whole units", lambda b: batch_as_given(b, fit))
        out["batch (as given)"] = given
    return out


def runs_file_words(runs_file: str | None, runs: pd.DataFrame | None) -> str:
    """The sentence naming the file that lists every run of the picks (``runs_file``, beside
    the report), or "" when there is none."""
    if runs_file is None or runs is None or not len(runs):
        return ""
    settings = ", learning rate and batch size" if {"lr", "batch_size"} <= set(runs) else ""
    most = int(runs.groupby("pick").size().max())
    each = f" (a picked sweep's {most} runs, one row each)" if most > 1 else ""
    given = (
        " Column batch_size_as_given is the batch in the unit your runs gave theirs in "
        "(load_runs units=, --units), rounded to a whole number."
        if "batch_size_as_given" in runs
        else ""
    )
    return (
        f"Every run of these picks, each with its N, D, C{settings}{each}, is listed in "
        f"{runs_file} beside this report: the runs to train.{given}"
    )


def _design_sections(
    plan: dict, surface_fit, hp_fit, pct: str, unsettled=((), (), ()), runs_file=None,
    target=None, new_run_reference=None,
) -> list:
    """The two next-runs sections (N_opt's design, the hyperparameters'). ``unsettled``: the
    names of the fits whose sampler did not converge cleanly among those N_opt's design rests
    on, those the hyperparameter widths rest on (the hyperparameter fit) and those only the
    hyperparameter values rest on (the loss surface, which converts a penalty into loss and
    FLOPs): a CAUTION heads the section (:func:`hp_unsettled_notes`) and its verdicts are
    tagged :data:`UNRELIABLE_TAG`. A picked sweep's row gives the ranges of its runs' learning
    rates and batch sizes (:func:`pick_settings`, from the batch's own ranges of them:
    :func:`bayeslaws.design.gaussian.unit_rows`); ``runs_file``: the file listing each of
    those runs, named in each section.
    ``target`` ((N params, D tokens) of the target run; None: not known here) and
    ``new_run_reference`` (the plan's: :func:`~bayeslaws.app.plan.new_run_reference`) feed
    :func:`hp_value_words`."""
    batch, alone, value = plan["design_nopt"], plan["design_table"], plan["value_nopt"]
    nopt_unsettled, hp_unsettled, value_unsettled = (list(n) for n in unsettled)
    nopt_tag = UNRELIABLE_TAG if nopt_unsettled else ""
    hp_tag = UNRELIABLE_TAG if hp_unsettled or value_unsettled else ""
    group = plan.get("group")
    label = width_labels(batch)[0]
    now = float(batch[f"width_now[{label}]"].iloc[0])
    v0 = value.iloc[0]
    sweeps = "n_runs" in batch and bool((batch["n_runs"] > 1).any())
    kind = "LR x batch sweeps on isoFLOP lines" if sweeps else "isoFLOP candidates"
    sec = Section(f"Next runs to narrow {label} ({kind})")
    caution = unsettled_note(nopt_unsettled, "widths, values and verdicts")
    if caution:
        sec.notes.append(caution)
    lines = design_lines_words(plan, alone, surface_fit)
    if sweeps:
        what = (
            f"Candidates: {DESIGN_PER_BUDGET} cells on each isoFLOP line at {lines} around "
            f"the median N_opt, each a {int(batch['n_runs'].iloc[0])}-run LR x batch sweep "
            "around the cell's predicted optimum (one unit, paid as a whole: the joint model "
            "learns a new cell's loss under optimal hyperparameters from its whole sweep)"
        )
    else:
        what = (
            f"Candidates: {DESIGN_PER_BUDGET} sizes on each isoFLOP line at {lines} around "
            "the median N_opt"
        )
    sec.notes += [
        what + f"; scored by the expected information about {label} per FLOP (Gaussian "
        f"approximation). {label}'s {pct} interval is now {now:.3g} wide"
        + nopt_model_words(plan.get("design_nopt_model")),
        "THE BATCH (what to run): picked greedily and together: each pick is the best given "
        "the earlier ones, so its widths are cumulative (after this pick and all before it). "
        "THE RANKING (the figure design.png): each candidate scored alone, as if it were the "
        "only new run; the batch's picks are marked there. "
        + pick_order_words(batch, alone),
        f"Value: training the {plan['allocation']['C'].iloc[0]:.3g}-FLOP run at the median "
        f"N_opt now costs an expected {v0.regret_before:.2g} loss "
        f"({100 * v0.regret_now_relative:.2g}% of L_opt) against the unknown true optimum. "
        "Each pick shrinks that regret (it is "
        f"quadratic in the error of ln N_opt, so it scales with the squared width ratio); the "
        f"loss saved is converted into the compute that would buy it at the budget "
        f"(dL_opt/d ln C = {v0.slope_dL_dlnC:.3g}) and set against the pick's cost. 'NOT worth "
        "it' means the run costs more compute than it is expected to save on one run at the "
        "budget.",
    ]
    if sweeps:
        sec.notes.append(
            "A pick's cost is its whole sweep's; 'C (FLOPs)' is one run's budget (its isoFLOP "
            "line); 'lr' and 'batch (tokens)' give the range of its runs' settings (the sweep "
            "trains each combination)."
        )
    nopt_runs = plan.get("runs_nopt")
    if runs_file_words(runs_file, nopt_runs):
        sec.notes.append(runs_file_words(runs_file, nopt_runs))
    sec.notes += [f"CAUTION: {c}" for c in plan.get("design_nopt_cautions", [])]
    rows = []
    for i, (_, r) in enumerate(batch.iterrows()):
        v = value.iloc[i]
        after = r[f"width_after[{label}]"]
        rank_alone = int(alone.loc[alone["unit"] == r["unit"], "rank_alone"].iloc[0])
        rows.append(
            {
                "batch pick": int(r["rank"]),
                "rank alone": rank_alone,
                "N": r["N"],
                "D": r["D"],
                "C (FLOPs)": r["C"],
                **({"runs": int(r["n_runs"]), "FLOPs (all runs)": r["flops"]} if sweeps else {}),
                **(pick_settings(r, surface_fit) if sweeps else {}),
                "info (nats)": r["info"],
                f"width after (now {f'{now:.3g} {width_unit(label)}'.strip()})": after,
                "change vs now": f"{100 * (after / now - 1):+.0f}%",
                "loss saved": v.loss_saved,
                "worth (FLOPs)": v.worth_flops,
                "verdict": v.verdict + nopt_tag,
                "where": _outside(surface_fit, r["N"], r["D"], group),
            }
        )
        if r.get("guardrail"):
            why = plan["guardrails_nopt"].get(int(r["rank"]), "")
            sec.notes.append(f"Batch pick {int(r['rank'])}: guardrail: {why}.")
    budget = float(plan["allocation"]["C"].iloc[0])
    sec.tables.append(
        (batch_caption(value, f"at the budget ({budget:.3g} FLOPs)"), pd.DataFrame(rows))
    )
    top = alone.head(8)
    sec.tables.append(
        (
            "Each candidate alone (the figure; top 8)",
            pd.DataFrame(
                {
                    "rank alone": top["rank_alone"],
                    "N": top["N"],
                    "D": top["D"],
                    "C (FLOPs)": top["C"],
                    **({"FLOPs (all runs)": top["flops"]} if sweeps else {}),
                    "info (nats)": top["info"],
                    "info per FLOP": top["info_per_flop"],
                    "width after alone": top[f"width_after[{label}]"],
                    "batch pick": [str(p) if p else "-" for p in top["batch_pick"]],
                    "where": [
                        _outside(surface_fit, n, d, group)
                        for n, d in zip(top["N"], top["D"], strict=True)
                    ],
                }
            ),
        )
    )
    hp_batch, hp_value_ = plan["design_hp"], plan["value_hp"]
    comps = [c[len("width_now[") : -1] for c in hp_batch if c.startswith("width_now[")]
    hsec = Section("Next runs to narrow " + " and ".join(comps) + " (LR x batch sweeps)")
    hsec.notes += hp_unsettled_notes(hp_unsettled, value_unsettled)
    hp_alone = plan.get("design_hp_table")
    hsec.notes.append(
        hp_candidates_sentence(hp_alone, hp_batch)
        + " Batch and widths as above"
        + ("; the ranking, each sweep scored alone, is the table 'Each sweep alone'. "
           f"{pick_order_words(hp_batch, hp_alone)}" if hp_alone is not None else ".")  # fmt: skip
    )
    hsec.notes.append(
        hp_value_words(hp_value_.iloc[0], new_run_reference, _target_where(hp_fit, target, group))
    )
    hsec.notes.append(budget_not_a_cap_words(plan))
    hp_runs = plan.get("runs_hp")
    if runs_file_words(runs_file, hp_runs):
        hsec.notes.append(runs_file_words(runs_file, hp_runs))
    rows = []
    for i, (_, r) in enumerate(hp_batch.iterrows()):
        v = hp_value_.iloc[i]
        rec = {
            "batch pick": int(r["rank"]),
            "N": r["N"],
            "D": r["D"],
            "runs": int(r["n_runs"]),
            **pick_settings(r, hp_fit),
            "C (FLOPs, all runs)": r["flops"],
            "info (nats)": r["info"],
        }
        for c in comps:
            unit = f" ({width_unit(c)})" if width_unit(c) else ""
            rec[f"{c.split('(')[0]} width now -> after{unit}"] = (
                f"{r[f'width_now[{c}]']:.3g} -> {r[f'width_after[{c}]']:.3g}"
            )
        rec.update(
            {
                "loss saved": v.loss_saved,
                "worth (FLOPs)": v.worth_flops,
                "verdict": v.verdict + hp_tag,
                "where": _outside(hp_fit, r["N"], r["D"], group),
            }
        )
        rows.append(rec)
        if r.get("guardrail"):
            why = plan["guardrails_hp"].get(int(r["rank"]), "")
            hsec.notes.append(f"Batch pick {int(r['rank'])}: guardrail: {why}.")
    hsec.tables.append(
        (batch_caption(hp_value_, "on the target run", "of sweeps"), pd.DataFrame(rows))
    )
    if hp_alone is not None and len(hp_alone):
        hsec.tables.append(("Each sweep alone (the ranking)", alone_sweeps_table(hp_alone)))
    hsec.notes += [f"CAUTION: {c}" for c in plan.get("design_hp_cautions", [])]
    hsec.notes.append(
        "Expected widths are under the Gaussian approximation; confirm a pick with "
        "bayeslaws.design.bounds before spending the compute."
    )
    return [sec, hsec]


def alone_sweeps_table(alone: pd.DataFrame) -> pd.DataFrame:
    """The hyperparameter design's ranking (``alone``: ``design_hp_table``, one row per sweep
    scored as if it were the only new one) as the report prints it: rank alone, N params, D
    tokens, runs, FLOPs of all its runs, info (nats), info per FLOP and its batch pick (-: not
    picked), each where the ranking has it."""
    columns = {
        "rank_alone": "rank alone", "N": "N", "D": "D", "n_runs": "runs",
        "flops": "FLOPs (all runs)", "info": "info (nats)", "info_per_flop": "info per FLOP",
    }  # fmt: skip
    out = pd.DataFrame({label: alone[c] for c, label in columns.items() if c in alone})
    if "batch_pick" in alone:
        picks = alone["batch_pick"]
        out["batch pick"] = [str(int(p)) if pd.notna(p) and p > 0 else "-" for p in picks]
    return out.reset_index(drop=True)


PICK_VALUE_RTOL = 0.05  # a pick's value given the earlier ones within 5% of its value alone: same


def pick_order_words(batch: pd.DataFrame, alone: pd.DataFrame) -> str:
    """Why a greedy batch and the ranking of each candidate alone differ, from the tables: each
    later pick's information given the earlier picks (the batch's ``info``, nats) against its
    information alone (the ranking's ``info`` of the same ``unit``). A pick's value can fall
    (a run that carries the same information as an earlier pick) or rise (runs that
    complement each other); the sentence says which happened here, pick by pick."""
    later = []
    for _, r in batch.iloc[1:].iterrows():
        solo = alone.loc[alone["unit"] == r["unit"], "info"]
        if len(solo):
            later.append((int(r["rank"]), float(r["info"]), float(solo.iloc[0])))
    general = (
        "A pick's value given the earlier picks is not its value alone: it falls for a run that "
        "carries the same information as an earlier pick (redundant) and rises for runs that "
        "complement each other (together they separate what neither does alone)"
    )
    if not later:
        return general + "."
    moves = []
    for rank, given, solo in later:
        if given > solo * (1 + PICK_VALUE_RTOL):
            word = "more: it complements them"
        elif given < solo * (1 - PICK_VALUE_RTOL):
            word = "less: it repeats what they tell"
        else:
            word = "about the same"
        moves.append(f"pick {rank} is worth {given:.3g} nats given the earlier picks against "
                     f"{solo:.3g} alone ({word})")  # fmt: skip
    alone_rank = dict(zip(alone["unit"], range(1, len(alone) + 1), strict=False))
    same_order = all(
        alone_rank.get(u) == int(k) for u, k in zip(batch["unit"], batch["rank"], strict=True)
    )
    ending = "and the two orders agree" if same_order else "so the two orders differ"
    return f"{general}. Here {'; '.join(moves)}; {ending}."


def design_lines_words(plan: dict, table: pd.DataFrame, surface_fit) -> str:
    """Where the N_opt design's candidate isoFLOP lines lie and why: "3e+19, 1e+20 FLOPs (1.6x
    and 5.3x the largest fitted budget, 1.87e+19 FLOPs: just beyond the fitted runs)", and when
    the budget capped them, that it did (the plan's ``design_budgets``,
    :func:`~bayeslaws.app.plan.design_budgets`; a plan without them: the lines of the
    candidates ``table``'s C, without the why). C in FLOPs."""
    lines = plan.get("design_budgets")
    if lines is None:
        return ", ".join(f"{c:.3g}" for c in sorted({float(c) for c in table["C"]})) + " FLOPs"
    listed = ", ".join(f"{c:.3g}" for c in lines) + " FLOPs"
    group = fit_group(surface_fit, plan.get("group"))
    largest = float(group_ranges(surface_fit, group)["C"][1])
    budget = float(plan["allocation"]["C"].iloc[0])
    placed = design_budgets(surface_fit, group)
    times = " and ".join(f"{c / largest:.2g}x" for c in placed)
    whose = f"the largest fitted budget{'' if group is None else f' of group {group!r}'}"
    above = [c for c in placed if c > budget]
    if not above:
        return f"{listed} ({times} {whose}, {largest:.3g} FLOPs: just beyond the fitted runs)"
    lines_above = " and ".join(f"{c:.3g}" for c in above)
    return (
        f"{listed} (the lines lie at {times} {whose}, {largest:.3g} FLOPs, just beyond the "
        f"fitted runs, but never above the budget: {lines_above} FLOPs would exceed the "
        f"budget, {budget:.3g} FLOPs, and cost more than the run planned, so "
        f"{'that line stops' if len(above) == 1 else 'those lines stop'} at the budget)"
    )


def budget_not_a_cap_words(plan: dict) -> str:
    """The sentence saying the budget (FLOPs) is the compute N_opt is planned at, not a cap on
    the next runs' cost: the hyperparameter sweeps are sized by the target run."""
    budget = float(plan["allocation"]["C"].iloc[0])
    return (
        f"These sweeps are sized by the target run, not by the budget: the budget ({budget:.3g} "
        "FLOPs, --budget) is the compute N_opt is planned at, not a cap on the next runs' cost. "
        "Each sweep's cost (all its runs) stands beside what it is worth."
    )


# design target quantity -> the unit of its widths (the CLI's design table extends it)
WIDTH_UNITS = {"N_opt": "params", "B_opt": "tokens"}


def width_unit(label: str) -> str:
    """The unit of the widths of design target ``label`` (e.g. "N_opt(C=1e+22)": "params";
    "B_opt(N=..., D=...)": "tokens"); '' for a unitless quantity (eta_opt, a loss)."""
    return WIDTH_UNITS.get(label.split("(")[0], "")


def batch_caption(value: pd.DataFrame, where: str, what: str = "") -> str:
    """The caption over a greedy batch's table with its one-line summary, from the batch's
    values (``value``: :func:`~bayeslaws.app.plan.pick_values`' table, ``worth_flops`` and
    ``cost_flops`` per pick): how many picks pay for themselves (worth >= cost) ``where`` (e.g.
    "at the budget (1e+22 FLOPs)") and the batch's total cost (FLOPs). It says "run these"
    only when every pick pays for itself."""
    worth = value["worth_flops"].to_numpy(float) >= value["cost_flops"].to_numpy(float)
    n, k = len(worth), int(worth.sum())
    total = float(value["cost_flops"].sum())
    title = f"The batch{' ' + what if what else ''}"
    if n and k == n:
        head = f"{title} (run these, in this order; widths cumulative)"
        pays = f"all {n} picks pay for themselves {where}"
    else:
        head = f"{title} (the best picks, in pick order; widths cumulative)"
        pays = (
            f"none of its {n} picks pays for itself {where}: every verdict is 'NOT worth it'"
            if k == 0
            else f"{k} of its {n} picks {'pays for itself' if k == 1 else 'pay for themselves'} "
            f"{where}: those whose verdict is 'worth it'"
        )
    return f"{head}. {pays[0].upper()}{pays[1:]}; the batch costs {total:.3g} FLOPs in all"


def hp_unsettled_notes(hp_names: list, value_names: list) -> list[str]:
    """The hyperparameter design section's CAUTIONs: its widths, values and verdicts rest on the
    hyperparameter fits ``hp_names`` whose sampler did not converge cleanly; its values and
    verdicts alone rest on ``value_names`` (the loss-surface fit of the best-cell route: it
    converts the penalty into loss and tokens, the widths do not use it). [] when both are
    empty (a joint fit is one name: said once)."""
    notes = [unsettled_note(list(hp_names), "widths, values and verdicts")] if hp_names else []
    only_values = [n for n in dict.fromkeys(value_names) if n not in hp_names]
    if only_values:
        fits = " and the ".join(only_values)
        notes.append(
            f"CAUTION: the values and verdicts below rest on the {fits}, whose sampler did not "
            "converge cleanly (see the CAUTION at the top): they are not reliable until it is "
            f"refitted. The widths do not rest on the {fits}: they come from the hyperparameter "
            f"fit alone; the {fits} only converts their penalty into loss and extra tokens at "
            "the target."
        )
    return notes


def _target_where(hp_fit, target, group=None) -> str | None:
    """Where the target ((N params, D tokens)) lies against the hyperparameter fit's runs:
    '' inside their range, else "N 0.61 decades above the fitted max (2.6e+08)"; None when the
    target is not known."""
    if target is None:
        return None
    where = _outside(hp_fit, *target, group)
    return where[len("OUTSIDE: ") :] if where.startswith("OUTSIDE: ") else ""


SCATTER_ONLY = (
    "the new cell's own scatter about the law, which no sweep at other cells removes: only a "
    "sweep at the target cell itself measures it"
)


def hp_value_words(h0, reference: dict | None = None, where: str | None = None) -> str:
    """The hyperparameter design's value sentence (``h0``: the first row of
    :func:`bayeslaws.app.plan.hp_value`): its regret is against the fitted law's optimum (the
    design target, which sweeps at other cells narrow), beside the penalty against a new run's
    own optimum (``regret_new_run_relative``, bl.loss_penalty's default kind "new_run") when
    the plan has it, and what their difference is.

    The difference is a new cell's scatter about the law (what a point inside the fitted range
    shows: ``reference``, :func:`~bayeslaws.app.plan.new_run_reference`) plus, for a target
    beyond the fitted runs (``where``: how far, :func:`_target_where`; '' inside; None not
    known), what the law's new-run predictive adds out there (e.g. a drift of its optima,
    growing with the distance), which sweeps nearer the target reduce: measured, the sentence
    says which part dominates; without ``reference`` it names both parts."""
    law = (
        "The design target is the fitted law's optimum (the 'the law' rows of eta_opt and B_opt "
        "above), which sweeps at other cells narrow: the widths and values here are relative "
        "to it, not to a new sweep's optimum. Value: against the law's optimum, training the "
        f"target run at the median (eta_opt, B_opt) now costs an expected "
        f"{100 * h0.regret_now_relative:.2g}% loss ({h0.regret_before:.2g}); the saving is "
        "converted into the extra tokens that would buy it on the target run (dL/d ln D = "
        f"{h0.slope_dL_dlnD:.3g})."
    )
    if "regret_new_run_relative" not in h0.index:
        return law
    new_run = (
        " A new run at the target has its own optimum, which scatters about the law's (the 'a "
        "new sweep's optimum' rows above): against it the same setting costs an expected "
        f"{100 * h0.regret_new_run_relative:.2g}% loss ({h0.regret_new_run:.2g}; "
        "bl.loss_penalty's default, kind='new_run')."
    )
    return law + new_run + " " + new_run_gap_words(h0, reference, where)


def new_run_gap_words(h0, reference: dict | None, where: str | None) -> str:
    """What the difference between a new run's penalty and the law's at the target is (see
    :func:`hp_value_words`; percentages of the loss)."""
    if where == "":
        return (
            f"The target lies inside the fitted runs' range, so the difference is {SCATTER_ONLY}."
        )
    reduce = (
        "which grows with the distance from them and which sweeps nearer the target, such as "
        "the candidates here, reduce (the values here, against the law's optimum, do not count "
        "it)"
    )
    if reference is None:
        return (
            f"The difference is {SCATTER_ONLY}; and, for a target beyond the fitted runs, any "
            f"drift the law allows its optima there, {reduce}."
        )
    gap = float(h0.regret_new_run_relative - h0.regret_now_relative)
    scatter = max(reference["new_run"] - reference["law"], 0.0)
    at = (
        f"at {reference['N']:.3g} params on {reference['D']:.3g} tokens, the nearest point "
        "inside the fitted range, a new run's penalty exceeds the law's by "
        f"{100 * scatter:.2g}% ({100 * reference['new_run']:.2g}% against "
        f"{100 * reference['law']:.2g}%)"
    )
    target = f"the target lies {where}" if where else "the target lies beyond them"
    if gap - scatter > scatter:
        return (
            f"The difference ({100 * gap:.2g}%) is mostly the drift the law allows its optima "
            f"beyond the fitted runs ({target}), {reduce}: {at.replace(' by ', ' by only ')}, "
            f"and only that part is {SCATTER_ONLY}."
        )
    return (
        f"The difference ({100 * gap:.2g}%) is mostly {SCATTER_ONLY}. Although {target}, "
        f"{at}, against {100 * gap:.2g}% at the target."
    )


def nopt_model_words(model: str | None) -> str:
    """The end of the sentence giving N_opt's interval in the design section: which posterior
    the widths, the regret and the values are on (``model``: the plan's ``design_nopt_model``,
    :func:`bayeslaws.app.plan.allocation_model`; None: a plan that does not record it)."""
    if model is None:
        return "."
    if model == "none":
        return (
            " (the allocation's interval above: the fitted law's own N_opt posterior, design "
            "model 'none', without the drift beyond the fitted range; the widths below and the "
            "value of each pick are on that one posterior)."
        )
    return (
        f" (under extrapolation {model!r}, as the allocation above; the widths below and the "
        "value of each pick are on that one posterior)."
    )


def hp_candidates_sentence(table: pd.DataFrame | None, batch: pd.DataFrame) -> str:
    """'Candidates: ...' of the hyperparameter design, from its candidates (``table``, one row
    per sweep: N params, D tokens, n_runs; None: only the ``batch`` picked is known): how many
    runs a sweep has and at how many distinct (N, D) cells."""
    known = table if table is not None and len(table) else batch
    cells = known[["N", "D"]].drop_duplicates()
    runs = sorted({int(n) for n in known["n_runs"]}) if "n_runs" in known else []
    size = f"{runs[0]}-run " if len(runs) == 1 else ""
    where = "; ".join(f"{n:.3g} params on {d:.3g} tokens" for n, d in cells.itertuples(index=False))
    count = len(cells)
    at = (
        f"at each of {count} new cell{'s' if count != 1 else ''} around the target ({where})"
        if known is table
        else f"at new cells around the target (the picks: {where})"
    )
    return f"Candidates: a {size}LR x batch sweep (one unit, paid as a whole) {at}."


def format_report(
    plan: dict,
    hp_fit,
    surface_fit=None,
    runs: RunTable | None = None,
    ci: float = 0.9,
    truth: VideoDiTTruth | None = None,
) -> str:
    """The planning report as text (arguments as :func:`build_report`)."""
    plan = {**plan, "ci": plan.get("ci", ci)}
    return build_report(plan, hp_fit, surface_fit, runs, truth).to_text()


def comparison_table(report: Report) -> pd.DataFrame:
    """Every number of a report that has a known value, one row per (number, reference):
    section, quantity, median, lower, upper, kind (the reference's: "truth" or "published"),
    reference, value, verdict (a full table for notebooks)."""
    rows = []
    for s in report.sections:
        for n in s.numbers:
            for r in n.references:
                rows.append(
                    {
                        "section": s.title,
                        "quantity": n.label,
                        "median": n.median,
                        "lower": n.lower,
                        "upper": n.upper,
                        "kind": "truth" if r.kind == "truth" else "published",
                        "reference": ("truth: " if r.kind == "truth" else "published: ") + r.label,
                        "value": r.value,
                        "verdict": r.verdict(n.lower, n.upper),
                    }
                )
    return pd.DataFrame(rows)
