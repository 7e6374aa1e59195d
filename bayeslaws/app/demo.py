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

Every number in the report comes with its credible interval, where it lies relative to the
fitted data, and, because the data are simulated, whether the simulator's truth
(:class:`bayeslaws.runs.simulate.VideoDiTTruth`) and Yin et al.'s published values
(:mod:`bayeslaws.runs.published`) lie inside that interval. The next-runs section gives the
greedy batch (picked together) and the ranking of each candidate alone (the figure), explains the
guardrails where they bite, flags picks outside the fitted range and says per pick whether the
expected gain is worth its compute. All the logic lives here and in :mod:`.report`; the CLI only
calls :func:`run_demo`.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .. import design, plot
from ..inference import fit
from ..laws.contract import LawCapabilityError
from ..posterior import (
    allocation_draws,
    extrapolation,
    fixed_vs_optimal,
    near_optimal,
    optimal_allocation,
    predict,
)
from ..posterior.fixed_hyperparams import refit_sizes
from ..posterior.predict import outside_decades
from ..runs import RunTable, best_run_per_cell, published
from ..runs.bundled import DEFAULT_DATASET, load_bundled
from ..runs.simulate import VideoDiTTruth
from .report import Number, Reference, Report, Section, distances, near_optimal_sentence

TARGET_N, TARGET_D = 1.07e9, 1e10  # Yin et al.'s 1.07B check at 10B tokens
BUDGET = 1e22  # FLOPs: the budget Yin et al. quote N_opt = 2.43B at
ISOFLOP_BUDGETS = (1e19, 1e20, 1e21, 1e22)
HP_PAIRS = ["lr_N", "lr_D", "batch_N", "batch_D", "k_lr", "k_batch"]
DESIGN_BUDGETS = (3e19, 1e20)  # FLOPs: candidate isoFLOP runs just beyond the sweep's largest
DESIGN_PER_BUDGET = 7  # candidate sizes per isoFLOP line
DESIGN_K = 3
HP_K = 2
TRUTH_LABEL = "VideoDiTTruth"
YIN_LABEL = "Yin et al. 2025"
ROUTES = ("joint", "best-cell")
DEFAULT_ROUTE = "joint"
FIT_FILES = {  # route -> the fit files it saves
    "joint": ("sweep_fit.nc",),
    "best-cell": ("hyperparams_fit.nc", "loss_surface_fit.nc"),
}
ROUTE_WORDS = {
    "joint": (
        "Route: joint (the default). One model, law 'sweep', fitted to every run at once: each "
        "(N, D) cell's LR x batch bowl, the power laws of its optimum (eta_opt, B_opt) and the "
        "loss surface under optimal hyperparameters L(N, D), hence N_opt(C). Every number below "
        "comes from that one fit."
    ),
    "best-cell": (
        "Route: best-cell (the baseline, 'bayeslaws demo --route best-cell'). Two fits: law "
        "'hyperparams' on every run (eta_opt, B_opt) and a Chinchilla surface on each (N, D) "
        "cell's best run (the loss and N_opt): Yin et al.'s shortcut, in which a cell's best "
        "grid run stands in for its loss at optimal hyperparameters. The default joint route "
        "fits the whole sweep as one model instead."
    ),
}


def check_route(route: str) -> str:
    if route not in ROUTES:
        raise ValueError(f"route must be one of {ROUTES}, got {route!r}")
    return route


def route_of(hp_fit, surface_fit=None) -> str:
    """The route a pair of fits stands for: ``"joint"`` when one fit answers both
    (``surface_fit`` None or the same fit), else ``"best-cell"``."""
    return "joint" if surface_fit is None or surface_fit is hp_fit else "best-cell"


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
def fit_laws(runs: RunTable, sampler: dict, route: str = DEFAULT_ROUTE) -> tuple:
    """(the fit answering eta_opt and B_opt, the fit answering L(N, D) and N_opt).

    ``route="joint"``: one fit of law "sweep" to every run, returned twice (the same object).
    ``route="best-cell"``: law "hyperparams" on every run and a Chinchilla surface on each
    cell's best run."""
    if check_route(route) == "joint":
        joint = fit(runs, law="sweep", **sampler)
        return joint, joint
    hp_fit = fit(runs, law="hyperparams", likelihood="gaussian", **sampler)
    surface_fit = fit(best_run_per_cell(runs), law="chinchilla", likelihood="gaussian", **sampler)
    return hp_fit, surface_fit


def saved_fits(hp_fit, surface_fit=None) -> dict:
    """File name -> fit, as :func:`run_demo` saves them (:data:`FIT_FILES`)."""
    route = route_of(hp_fit, surface_fit)
    fits = (hp_fit,) if route == "joint" else (hp_fit, surface_fit)
    return dict(zip(FIT_FILES[route], fits, strict=True))


# ---- the planning numbers --------------------------------------------------------------------
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
) -> dict:
    """The planning numbers, each with a central ``ci`` interval.

    ``hp_fit``: the fit answering eta_opt and B_opt; ``surface_fit``: the one answering the loss
    and N_opt (None: the same fit, the joint route: one law "sweep" fit).

    ``route`` ("joint" or "best-cell"), ``hyperparams`` (eta_opt, B_opt at the target, kinds
    "mean" = the law and "new_run" = a new sweep's optimum), ``law_table`` (the fitted laws in
    Yin et al.'s notation), ``loss`` (the target run's loss, kinds "mean" and "new_run"),
    ``allocation`` (N_opt, D_opt, L_opt at ``budget``), ``tokens_per_param`` ((median, lower,
    upper) of D_opt / N_opt), ``near_optimal``
    (:class:`~bayeslaws.posterior.allocation.NearOptimal`; ``tolerance`` None: its default,
    relative to the reducible loss),
    ``fixed_vs_optimal`` (the row of :func:`bayeslaws.posterior.fixed_vs_optimal` at ``budget``
    plus ``truth``, the simulator's own answer to the same question; None on the best-cell
    route, whose fits know no loss off the optimal hyperparameters) and the next runs
    (:func:`next_runs_plan`).

    ``calibration``: NUTS settings (chains, warmup, draws) of any refits the default model
    discrepancy needs (:func:`bayeslaws.posterior.extrapolation.prepare`), computed once and
    kept in the surface fit's cache (a law that is not widened, such as "sweep", needs none)."""
    surface_fit = hp_fit if surface_fit is None else surface_fit
    if surface_fit.law.widened:
        extrapolation.prepare(
            surface_fit,
            extrapolation.DEFAULT_METHOD,
            seed=seed,
            refits=calibration,
            stacking=calibration,
        )
    hyper = pd.concat(
        [
            predict(hp_fit, N=target_N, D=target_D, ci=ci, kind=kind, seed=seed)
            for kind in ("mean", "new_run")
        ],
        ignore_index=True,
    )
    loss = pd.concat(
        [
            predict(surface_fit, N=target_N, D=target_D, ci=ci, kind=kind, seed=seed)
            for kind in ("mean", "new_run")
        ],
        ignore_index=True,
    )
    draws = allocation_draws(surface_fit, [budget], seed=seed)
    ratio = (draws["D_opt"] / draws["N_opt"])[:, 0]
    lo, med, hi = np.quantile(ratio, [(1 - ci) / 2, 0.5, (1 + ci) / 2])
    near = near_optimal(surface_fit, budget, tolerance, relative_to="reducible", ci=ci, seed=seed)
    plan = {
        "route": route_of(hp_fit, surface_fit),
        "hyperparams": hyper,
        "law_table": hp_fit.law_table(ci=ci),
        "loss": loss,
        "allocation": optimal_allocation(surface_fit, C=budget, ci=ci, seed=seed),
        "tokens_per_param": (float(med), float(lo), float(hi)),
        "near_optimal": near,
        "fixed_vs_optimal": fixed_vs_optimal_plan(surface_fit, budget, ci),
        "ci": ci,
    }
    plan.update(next_runs_plan(hp_fit, surface_fit, target_N, target_D, budget, ci, seed))
    return plan


def fixed_vs_optimal_plan(fit_, budget: float, ci: float = 0.9, truth=None) -> dict | None:
    """The fixed-vs-optimal answer at ``budget`` (:func:`bayeslaws.posterior.fixed_vs_optimal`,
    its one row as a dict) with ``truth``: the simulator's own answer to the same question (same
    cells, same fixed setting, same refit on its noise-free losses). None when the fit's law
    knows no loss off the optimal hyperparameters (the best-cell route)."""
    try:
        row = fixed_vs_optimal(fit_, budget, ci=ci).iloc[0].to_dict()
    except LawCapabilityError:
        return None
    cells = fit_.training_runs().df[["N", "D"]].drop_duplicates()
    truth = VideoDiTTruth() if truth is None else truth
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


def nopt_candidates(surface_fit) -> pd.DataFrame:
    """Candidates for narrowing N_opt: ``DESIGN_PER_BUDGET`` sizes on each isoFLOP line at
    ``DESIGN_BUDGETS`` around the median N_opt; for a fit that models the sweep (law "sweep")
    each such cell becomes a 5 x 3 LR x batch sweep around its predicted optimum (one unit,
    paid as a whole: a new cell's loss level is unknown until its sweep finds the optimum)."""
    cells = design.isoflop_candidates(
        C=list(DESIGN_BUDGETS), n_per_budget=DESIGN_PER_BUDGET, fit=surface_fit
    )
    if {"lr", "batch_size"} <= set(surface_fit.law.optional_inputs):
        return design.hyperparameter_candidates(cells["N"], cells["D"], fit=surface_fit)
    return cells


def next_runs_plan(hp_fit, surface_fit, target_N, target_D, budget, ci=0.9, seed=0) -> dict:
    """The next best runs (:mod:`bayeslaws.design`, Gaussian estimator, cost in FLOPs):

    ``design_nopt``: the batch of ``DESIGN_K`` candidates (:func:`nopt_candidates`: isoFLOP
    runs at ``DESIGN_BUDGETS``, whole LR x batch sweeps at those cells on the joint route)
    picked greedily (each conditioned on the earlier picks) to narrow N_opt at ``budget`` per
    FLOP; ``design_table``: every such candidate ranked alone, with the batch's picks marked
    (the figure); ``design_hp``: the batch of ``HP_K`` LR x batch sweeps (new cells around the
    target) that most narrow eta_opt and B_opt there; ``design_hp_table``: those ranked alone;
    ``value_nopt``, ``value_hp``: what each pick is worth (:func:`nopt_value`,
    :func:`hp_value`); ``design_nopt_cautions``, ``design_hp_cautions``: each design's warnings
    other than guardrail relaxations (:func:`design_cautions`; e.g. N_opt draws at the search
    edge), for the report. ``surface_fit`` None: the same fit as ``hp_fit``."""
    surface_fit = hp_fit if surface_fit is None else surface_fit
    cands = nopt_candidates(surface_fit)
    target = design.NOpt(C=budget)
    small_N = hp_fit.record.ranges["N"][1]  # the largest fitted size
    cells_N = [2 * small_N, 2 * small_N, target_N, target_N]
    cells_D = [target_D / 2.5, target_D, target_D / 2.5, target_D]
    sweeps = design.hyperparameter_candidates(cells_N, cells_D, fit=hp_fit)
    hp_target = design.HyperparamOpt(N=target_N, D=target_D)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # guardrail relaxations are reported in the table
        batch = design.next_runs(surface_fit, cands, target, k=DESIGN_K, seed=seed, ci=ci)
        alone = design.rank_candidates(surface_fit, cands, target, seed=seed, ci=ci)
    cautions = design_cautions(caught)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hp_batch = design.next_runs(hp_fit, sweeps, hp_target, k=HP_K, seed=seed, ci=ci)
        hp_alone = design.rank_candidates(hp_fit, sweeps, hp_target, seed=seed, ci=ci)
    hp_cautions = design_cautions(caught)
    alone = mark_picks(alone, batch)
    hp_alone = mark_picks(hp_alone, hp_batch)
    return {
        "design_nopt": batch,
        "design_table": alone,
        "design_nopt_cautions": cautions,
        "design_hp": hp_batch,
        "design_hp_cautions": hp_cautions,
        "design_hp_table": hp_alone,
        "guardrails_nopt": guardrail_reasons(surface_fit, cands, target, batch, seed, ci),
        "guardrails_hp": guardrail_reasons(hp_fit, sweeps, hp_target, hp_batch, seed, ci),
        "value_nopt": nopt_value(surface_fit, batch, budget, seed=seed),
        "value_hp": hp_value(hp_fit, surface_fit, hp_batch, target_N, target_D, seed=seed),
    }


def mark_picks(alone: pd.DataFrame, batch: pd.DataFrame) -> pd.DataFrame:
    """The ranking of each candidate alone with its rank there (``rank_alone``) and its place
    in the greedy batch (``batch_pick``, 0 = not picked)."""
    order = dict(zip(batch["unit"], batch["rank"].astype(int), strict=True))
    out = alone.copy()
    out.insert(0, "rank_alone", np.arange(1, len(out) + 1))
    out["batch_pick"] = [order.get(u, 0) for u in out["unit"]]
    return out


# ---- what a pick is worth ----------------------------------------------------------------------
def _verdict(saved_flops: float, cost: float) -> str:
    ratio = saved_flops / cost
    word = "worth it" if ratio >= 1 else "NOT worth it"
    return f"{word} (gain / cost = {ratio:.2g})"


def nopt_value(surface_fit, batch: pd.DataFrame, budget: float, seed: int = 0) -> pd.DataFrame:
    """Per pick of an N_opt batch: the expected loss regret of training the budget's run at the
    posterior median N_opt, before and after the pick, and its worth in FLOPs.

    Regret now: E[L(N_med) - L_opt] over the posterior (loss units) at ``budget``. Near the
    optimum the regret is quadratic in ln N - ln N_opt, so it scales with the variance of
    ln N_opt: after a pick it is regret_now * (width_after / width_now)^2 (the design's expected
    widths, cumulative over the batch). A loss saved at the budget is worth the compute that
    would buy it there: C * (exp(saved / |dL_opt/d ln C|) - 1) FLOPs. A pick is "worth it" when
    that exceeds its own cost (for ONE training run at the budget)."""
    label = next(c[len("width_now[") : -1] for c in batch if c.startswith("width_now["))
    alloc = optimal_allocation(surface_fit, C=[budget / 1.1, budget, budget * 1.1], seed=seed)
    slope = (alloc["L_opt"].iloc[2] - alloc["L_opt"].iloc[0]) / (2 * np.log(1.1))
    n_med, l_opt = float(alloc["N_opt"].iloc[1]), float(alloc["L_opt"].iloc[1])
    near = near_optimal(surface_fit, budget, N=[n_med], seed=seed)
    regret = float(near.table["excess_mean"].iloc[0]) * l_opt
    now = batch[f"width_now[{label}]"].to_numpy(float)
    after = batch[f"width_after[{label}]"].to_numpy(float)
    shrink = np.concatenate([[1.0], (after / now) ** 2])
    regrets = regret * shrink
    saved = -np.diff(regrets)
    worth = budget * np.expm1(saved / abs(slope))
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
            "slope_dL_dlnC": slope,
            "regret_now_relative": regret / l_opt,
        }
    )


def hp_value(hp_fit, surface_fit, batch, target_N, target_D, seed: int = 0) -> pd.DataFrame:
    """Per pick of a hyperparameter batch: the expected loss penalty of training the target run
    at the posterior median (eta_opt, B_opt), before and after, and its worth in FLOPs.

    Penalty now: the posterior mean of L(eta_med, B_med) / L_opt - 1 at the target (the bowl of
    each draw) times the target's predicted loss. It is quadratic in the log-distances to the
    optimum, so after a pick it scales with the mean of (width_after / width_now)^2 over eta_opt
    and B_opt. A loss saved on the target run is worth the extra tokens that would buy it there:
    C_target * (exp(saved / |dL/d ln D|) - 1) FLOPs (C proportional to D at fixed N)."""
    comps = [c[len("width_now[") : -1] for c in batch if c.startswith("width_now[")]
    opt = predict(hp_fit, N=target_N, D=target_D, seed=seed).iloc[0]
    pen = predict(
        hp_fit,
        N=target_N,
        D=target_D,
        lr=opt["eta_opt_median"],
        batch_size=opt["B_opt_median"],
        seed=seed,
    ).iloc[0]
    loss = predict(surface_fit, N=target_N, D=target_D * np.array([1 / 1.1, 1.0, 1.1]), seed=seed)
    slope = (loss["median"].iloc[2] - loss["median"].iloc[0]) / (2 * np.log(1.1))
    L_t = float(loss["median"].iloc[1])
    regret = float(pen["rel_penalty_mean"]) * L_t
    ratios = np.mean(
        [(batch[f"width_after[{c}]"] / batch[f"width_now[{c}]"]) ** 2 for c in comps], axis=0
    )
    regrets = regret * np.concatenate([[1.0], np.asarray(ratios, float)])
    saved = -np.diff(regrets)
    C_t = float(hp_fit.compute_model.flops(target_N, target_D))
    worth = C_t * np.expm1(saved / abs(slope))
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
            "slope_dL_dlnD": slope,
            "regret_now_relative": regret / L_t,
        }
    )


# ---- known values --------------------------------------------------------------------------------
def truth_refs(value: float, published_value: float | None = None, label: str = YIN_LABEL):
    """The simulator's truth and, if given, a published value as references."""
    refs = [Reference(TRUTH_LABEL, float(value), "truth")]
    if published_value is not None:
        refs.append(Reference(label, float(published_value), "published"))
    return refs


LAW_TRUTH = {  # law-table row -> the simulator's constant (= Yin et al.'s published law)
    ("eta_opt", "c"): "eta_coef",
    ("eta_opt", "exp_T"): "eta_exp_T",
    ("eta_opt", "exp_N"): "eta_exp_N",
    ("B_opt", "c"): "b_coef",
    ("B_opt", "exp_T"): "b_exp_T",
    ("B_opt", "exp_N"): "b_exp_N",
}
SURFACE_TRUTH = ("E", "A", "B", "alpha", "beta")


# ---- the report ----------------------------------------------------------------------------------
def build_report(
    plan: dict,
    hp_fit,
    surface_fit=None,
    runs: RunTable | None = None,
    truth: VideoDiTTruth | None = None,
    figures: list | None = None,
) -> Report:
    """The planning report (:class:`~bayeslaws.app.report.Report`); ``surface_fit`` None: the
    same fit as ``hp_fit`` (the joint route); ``runs``: the fitted runs (default the bundled
    sweep); ``figures``: (caption, path) pairs shown in its last section."""
    truth = VideoDiTTruth() if truth is None else truth
    surface_fit = hp_fit if surface_fit is None else surface_fit
    runs = load_bundled(DEFAULT_DATASET) if runs is None else runs
    route = plan.get("route") or route_of(hp_fit, surface_fit)
    ci = plan.get("ci", 0.9)
    pct = f"{100 * ci:g}%"
    h = plan["hyperparams"]
    tN, tD = float(h["N"].iloc[0]), float(h["D"].iloc[0])
    hp_ranges, s_ranges = hp_fit.record.ranges, surface_fit.record.ranges
    report = Report(
        f"bayeslaws demo: planning report on '{DEFAULT_DATASET}' (SIMULATED data, {route} route)",
        [
            "The runs are SIMULATED (bayeslaws.runs.simulate, video-DiT design of Yin et al. "
            "2025), so every number can be checked against the simulator's truth "
            f"({TRUTH_LABEL}); Yin et al.'s published values are shown where they exist.",
            ROUTE_WORDS[route],
            f"{runs}",
            f"All intervals are central {pct} posterior credible intervals. 'where' gives the "
            "distance from the fitted data in decades; 'inside' / 'OUTSIDE' says whether a "
            "known value lies in the interval.",
            "fitted ranges: "
            + "; ".join(f"{k} [{v[0]:.3g}, {v[1]:.3g}]" for k, v in s_ranges.items()),
        ],
    )
    if route == "joint":
        named = (("joint sweep model", hp_fit),)
        described = [
            "joint sweep model (every run: the bowls, the optima's laws and the loss surface "
            f"at once): {hp_fit!r}"
        ]
    else:
        named = (("hyperparameter law", hp_fit), ("loss surface", surface_fit))
        described = [
            f"hyperparameter law (every run): {hp_fit!r}",
            f"loss surface (best run per (N, D) cell): {surface_fit!r}",
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
        ],
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
                truth_refs(truth.eta_opt(tN, tD)),
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
                truth_refs(truth.b_opt(tN, tD)),
            )
        )
    table = plan["law_table"]
    for (q, param), r in table.iterrows():
        value = getattr(truth, LAW_TRUTH[(q, param)])
        hp.numbers.append(
            Number(
                f"{q} law: {param}",
                r["median"],
                r["lower"],
                r["upper"],
                "",
                "{:.4g}",
                "",
                truth_refs(value, value),
            )
        )
    hp.notes.append(
        "The simulator's hyperparameter laws ARE Yin et al.'s published laws, so the two "
        "references coincide. Posterior median laws: "
        + "; ".join(table.attrs.get("formulas", {}).values())
    )
    report.sections.append(hp)

    summary = surface_fit.summary(ci=ci)
    lo_col, hi_col = f"{50 * (1 - ci):g}%", f"{50 * (1 + ci):g}%"
    source = (
        "under optimal hyperparameters, joint sweep model"
        if route == "joint"
        else "best run per cell"
    )
    surf = Section(f"Loss surface L(N, D) = E + A/N^alpha + B/D^beta ({source})")
    for name in (*SURFACE_TRUTH, "a_opt"):
        r = summary.loc[name]
        value = truth.n_opt_exponent if name == "a_opt" else getattr(truth, name)
        surf.numbers.append(
            Number(name, r["50%"], r[lo_col], r[hi_col], "", "{:.4g}", "", truth_refs(value))
        )
    report.sections.append(surf)

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
                truth_refs(truth.loss_star(tN, tD), published.YIN_ANCHOR_L_1P07B_10B),
            )
        )
    lossec.notes.append(
        "The truth is the noise-free loss L*(N, D); one new run scatters around it by the "
        f"simulator's noise ({100 * truth.noise_sd:.2g}% sd), which the new_run interval includes."
    )
    report.sections.append(lossec)

    report.sections.append(_allocation_section(plan, surface_fit, truth))
    report.sections.append(_fixed_vs_optimal_section(plan, surface_fit))
    report.sections += _design_sections(plan, surface_fit, hp_fit, pct)
    if figures:
        report.sections.append(Section("Figures", figures=list(figures)))
    return report


def _allocation_section(plan: dict, surface_fit, truth) -> Section:
    a = plan["allocation"].iloc[0]
    C = float(a["C"])
    ranges = surface_fit.record.ranges
    n_t, d_t = float(truth.n_opt(C)), float(truth.d_opt(C))
    yin = published.YIN_N_OPT_AT_BUDGET if np.isclose(C, published.YIN_BUDGET) else None
    sec = Section(f"Compute-optimal allocation at C = {C:.3g} FLOPs (C = 6ND)")
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
            truth_refs(truth.loss_star(n_t, d_t)),
        ),
        Number(
            "tokens per parameter",
            *plan["tokens_per_param"],
            "",
            "{:.3g}",
            distances(ranges, C=C),
            truth_refs(d_t / n_t),
        ),
    ]
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
    if near.band is not None:
        # the truth at the tolerance the band was actually computed with
        tolerance, relative_to = near.tolerance, near.relative_to
        if floor_missing:
            tolerance, relative_to = near.tolerance_total, "total"
        t_lo = truth_near_optimal(truth, C, tolerance, relative_to)
        if near.band[0] > 1.01 * t_lo:
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
        sec.notes.append(
            f"Simulator truth: the smallest size within that tolerance is {t_lo:.3g}; the band's "
            f"smallest, {near.band[0]:.3g}, is {where}"
        )
    return sec


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


def _fixed_vs_optimal_section(plan: dict, surface_fit) -> Section:
    """Yin et al.'s question: how much does one fixed (lr, batch) for every cell, instead of
    each cell's optimum, move the compute-optimal size?"""
    C = float(plan["allocation"]["C"].iloc[0])
    sec = Section(f"Fixed vs optimal hyperparameters at C = {C:.3g} FLOPs")
    answer = plan.get("fixed_vs_optimal")
    if answer is None:
        sec.notes.append(
            "Not answered on this route: its loss surface is fitted to each cell's best run and "
            "knows no loss off the optimal hyperparameters. The joint route (the default, "
            "'bayeslaws demo') answers it with bl.fixed_vs_optimal."
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
            distances(surface_fit.record.ranges, C=C),
            truth_refs(1 + answer["truth"]) if "truth" in answer else [],
        )
    )
    sec.notes += [
        f"Size change: with every cell trained at one fixed setting (lr {answer['lr']:.3g}, "
        f"batch {answer['batch_size']:.3g} tokens: the posterior-median optimum of the design's "
        "middle cell) instead of at its own optimum, the compute-optimal size changes by "
        f"{med:+.0%} ({pct} interval [{lo:+.0%}, {hi:+.0%}]): N_opt {answer['n_opt_fixed']:.3g} "
        f"instead of {answer['n_opt_optimal']:.3g} (posterior medians of the refits).",
        f"Verdict: {answer['verdict']}.",
        "How: per posterior draw (" + f"{int(answer['n_draws'])} draws) the joint model gives "
        "every fitted cell's loss at its optimum and at the fixed setting; a Chinchilla surface "
        "is least-squares fitted to each set, as Yin et al. do with their grid, and its N_opt "
        "at the budget compared.",
    ]
    if "truth" in answer:
        sec.notes.append(
            f"Simulator truth: the same refit of its noise-free losses gives "
            f"{answer['truth']:+.0%}."
        )
    if np.isclose(C, published.YIN_BUDGET):
        fixed_n, opt_n = published.YIN_N_OPT_FIXED_HP_AT_BUDGET, published.YIN_N_OPT_AT_BUDGET
        sec.notes.append(
            f"Yin et al. report N_opt {fixed_n:.3g} with fixed against {opt_n:.3g} with optimal "
            f"hyperparameters at this budget ({fixed_n / opt_n - 1:+.0%}) on their own runs and "
            "fixed setting: the same question on another design, so it is not scored against "
            "this interval."
        )
    return sec


def truth_near_optimal(truth, C: float, tolerance: float, relative_to: str) -> float:
    """The smallest N whose true excess loss at budget C is within the tolerance."""
    N = np.geomspace(truth.n_opt(C) / 100, truth.n_opt(C), 4001)
    L = truth.loss_star(N, C / (6 * N))
    L_opt = float(truth.loss_star(truth.n_opt(C), truth.d_opt(C)))
    base = L_opt - truth.E if relative_to == "reducible" else L_opt
    return float(N[np.argmax((L - L_opt) <= tolerance * base)])


def design_cautions(caught) -> list[str]:
    """The distinct messages (sorted) of recorded design warnings (``warnings.WarningMessage``
    list) other than guardrail relaxations, which the report explains pick by pick instead."""
    return sorted(
        {str(w.message) for w in caught if not issubclass(w.category, design.GuardrailWarning)}
    )


def guardrail_reasons(fit, cands, target, batch: pd.DataFrame, seed: int, ci: float) -> dict:
    """Why the guardrails restricted picks of a greedy batch: pick rank -> sentence. Each rule
    is switched off in turn (:class:`bayeslaws.design.Guardrails`) and the batch re-picked;
    the rule whose removal changes that pick is the one that bit."""
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
                fit, cands, target, k=len(batch), guardrails=g, seed=seed, ci=ci
            )
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


def _outside(fit, N: float, D: float) -> str:
    """'inside' or 'OUTSIDE: D 1.08 decades above the fitted max (1.2e+10)' (outside axes)."""
    parts = []
    for axis, value in (("N", N), ("D", D)):
        low, high = fit.record.ranges[axis]
        d = float(outside_decades(np.array([value]), low, high)[0])
        if d:
            side = f"above the fitted max ({high:.3g})"
            if d < 0:
                side = f"below the fitted min ({low:.3g})"
            parts.append(f"{axis} {abs(d):.2f} decades {side}")
    return "OUTSIDE: " + "; ".join(parts) if parts else "inside the fitted range"


def _design_sections(plan: dict, surface_fit, hp_fit, pct: str) -> list:
    batch, alone, value = plan["design_nopt"], plan["design_table"], plan["value_nopt"]
    label = next(c[len("width_now[") : -1] for c in batch if c.startswith("width_now["))
    now = float(batch[f"width_now[{label}]"].iloc[0])
    v0 = value.iloc[0]
    sweeps = "n_runs" in batch and bool((batch["n_runs"] > 1).any())
    kind = "LR x batch sweeps on isoFLOP lines" if sweeps else "isoFLOP candidates"
    sec = Section(f"Next runs to narrow {label} ({kind})")
    lines = ", ".join(f"{c:.0e}" for c in DESIGN_BUDGETS)
    if sweeps:
        what = (
            f"Candidates: {DESIGN_PER_BUDGET} cells on each isoFLOP line at {lines} FLOPs around "
            f"the median N_opt, each a {int(batch['n_runs'].iloc[0])}-run LR x batch sweep "
            "around the cell's predicted optimum (one unit, paid as a whole: the joint model "
            "learns a new cell's loss under optimal hyperparameters from its whole sweep)"
        )
    else:
        what = (
            f"Candidates: {DESIGN_PER_BUDGET} sizes on each isoFLOP line at {lines} FLOPs "
            "around the median N_opt"
        )
    sec.notes += [
        what + f"; scored by the expected information about {label} per FLOP (Gaussian "
        f"approximation). {label}'s {pct} interval is now {now:.3g} wide.",
        "THE BATCH (what to run): picked greedily and together: each pick is the best given "
        "the earlier ones, so its widths are cumulative (after this pick and all before it). "
        "THE RANKING (the figure design.png): each candidate scored alone, as if it were the "
        "only new run; the batch's picks are marked there. The two orders differ because "
        "runs that carry the same information lose value once one of them is picked.",
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
            "line)."
        )
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
                "info (nats)": r["info"],
                f"width after (now {now:.3g})": after,
                "change vs now": f"{100 * (after / now - 1):+.0f}%",
                "loss saved": v.loss_saved,
                "worth (FLOPs)": v.worth_flops,
                "verdict": v.verdict,
                "where": _outside(surface_fit, r["N"], r["D"]),
            }
        )
        if r.get("guardrail"):
            why = plan["guardrails_nopt"].get(int(r["rank"]), "")
            sec.notes.append(f"Batch pick {int(r['rank'])}: guardrail: {why}.")
    caption = "The batch (run these, in this order; widths cumulative)"
    sec.tables.append((caption, pd.DataFrame(rows)))
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
                        _outside(surface_fit, n, d) for n, d in zip(top["N"], top["D"], strict=True)
                    ],
                }
            ),
        )
    )
    hp_batch, hp_value_ = plan["design_hp"], plan["value_hp"]
    comps = [c[len("width_now[") : -1] for c in hp_batch if c.startswith("width_now[")]
    hsec = Section("Next runs to narrow " + " and ".join(comps) + " (LR x batch sweeps)")
    h0 = hp_value_.iloc[0]
    hsec.notes.append(
        "Candidates: a 5 x 3 LR x batch sweep (one unit, paid as a whole) at each of four new "
        "cells around the target. Batch and widths as above. Value: training the target run at "
        f"the median (eta_opt, B_opt) now costs an expected {100 * h0.regret_now_relative:.2g}% "
        f"loss ({h0.regret_before:.2g}); the saving is converted into the extra tokens that "
        f"would buy it on the target run (dL/d ln D = {h0.slope_dL_dlnD:.3g})."
    )
    rows = []
    for i, (_, r) in enumerate(hp_batch.iterrows()):
        v = hp_value_.iloc[i]
        rec = {
            "batch pick": int(r["rank"]),
            "N": r["N"],
            "D": r["D"],
            "runs": int(r["n_runs"]),
            "C (FLOPs, all runs)": r["flops"],
            "info (nats)": r["info"],
        }
        for c in comps:
            rec[f"{c.split('(')[0]} width now -> after"] = (
                f"{r[f'width_now[{c}]']:.3g} -> {r[f'width_after[{c}]']:.3g}"
            )
        rec.update(
            {
                "loss saved": v.loss_saved,
                "worth (FLOPs)": v.worth_flops,
                "verdict": v.verdict,
                "where": _outside(hp_fit, r["N"], r["D"]),
            }
        )
        rows.append(rec)
        if r.get("guardrail"):
            why = plan["guardrails_hp"].get(int(r["rank"]), "")
            hsec.notes.append(f"Batch pick {int(r['rank'])}: guardrail: {why}.")
    hsec.tables.append(("The batch of sweeps (widths cumulative)", pd.DataFrame(rows)))
    hsec.notes += [f"CAUTION: {c}" for c in plan.get("design_hp_cautions", [])]
    hsec.notes.append(
        "Expected widths are under the Gaussian approximation; confirm a pick with "
        "bayeslaws.design.bounds before spending the compute."
    )
    return [sec, hsec]


def format_report(
    plan: dict, hp_fit, surface_fit=None, runs: RunTable | None = None, ci: float = 0.9
) -> str:
    """The planning report as text (arguments as :func:`build_report`)."""
    plan = {**plan, "ci": plan.get("ci", ci)}
    return build_report(plan, hp_fit, surface_fit, runs).to_text()


def comparison_table(report: Report) -> pd.DataFrame:
    """Every number of a report that has a known value, one row per (number, reference):
    section, quantity, median, lower, upper, reference, value, verdict (a full table for
    notebooks)."""
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
                        "reference": ("truth: " if r.kind == "truth" else "published: ") + r.label,
                        "value": r.value,
                        "verdict": r.verdict(n.lower, n.upper),
                    }
                )
    return pd.DataFrame(rows)


# ---- figures -------------------------------------------------------------------------------
FIGURE_CAPTIONS = {
    "fan.png": "the loss under optimal hyperparameters, eta_opt and B_opt against N, one curve "
    "per token budget (the target's among them), bands widening beyond the fitted range; the "
    "target marked; points: each cell's best run",
    "fan_loss_surface.png": "the loss surface against N, one curve per token budget (the "
    "target's among them), bands widening beyond the fitted range; the target marked",
    "fan_hyperparams.png": "eta_opt(N) and B_opt(N) with their bands; the target marked",
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


def write_figures(
    out: Path, runs: RunTable, hp_fit, surface_fit, plan: dict, progress=None, seed: int = 0
) -> list[Path]:
    """The demo's figures (:data:`FIGURES` of the route) as PNGs in ``out``; returns their
    paths. ``surface_fit`` None: the same fit as ``hp_fit`` (the joint route)."""
    surface_fit = hp_fit if surface_fit is None else surface_fit
    route = route_of(hp_fit, surface_fit)
    target_N = float(plan["hyperparams"]["N"].iloc[0])
    target_D = float(plan["hyperparams"]["D"].iloc[0])
    budget = float(plan["allocation"]["C"].iloc[0])
    target = [(target_N, target_D)]
    where = "joint sweep model" if route == "joint" else "best run per cell"
    jobs = {
        "fan.png": lambda: plot.fan(
            hp_fit,
            runs,
            targets=target,
            seed=seed,
            title="Loss under optimal hyperparameters, optimal learning rate and batch size vs "
            "model size (joint sweep model, SIMULATED data)",
        ),
        "fan_loss_surface.png": lambda: plot.fan(
            surface_fit,
            best_run_per_cell(runs),
            targets=target,
            seed=seed,
            title="Loss under optimal hyperparameters vs model size (SIMULATED data)",
        ),
        "fan_hyperparams.png": lambda: plot.fan(
            hp_fit,
            runs,
            targets=target,
            seed=seed,
            title="Optimal learning rate and batch size vs model size (SIMULATED data)",
        ),
        "bowls.png": lambda: plot.bowls(hp_fit, runs),
        "isoflop.png": lambda: plot.isoflop(
            surface_fit, sorted(set(ISOFLOP_BUDGETS) | {budget}), seed=seed
        ),
        "n_opt.png": lambda: plot.n_opt(
            surface_fit,
            (1e17, max(1e25, 10 * budget)),
            paper_laws=published.yin_n_opt_laws(),
            budgets=[budget],
            seed=seed,
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
        "design.png": lambda: plot.design_ranking(plan["design_table"], picks="batch_pick"),
    }
    paths = []
    for name in FIGURES[route]:
        if progress is not None:
            progress.note(f"figure {name}")
        paths.append(plot.save(jobs[name](), Path(out) / name))
    return paths


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
    progress: bool = True,
    quiet: bool = False,
) -> str:
    """Fit the bundled SIMULATED sweep by ``route`` ("joint", default: one law "sweep" fit;
    "best-cell": the baseline's two fits, :func:`fit_laws`), write ``out/report.txt`` (and
    ``out/report.html`` with ``html``), the fits (:data:`FIT_FILES`: ``sweep_fit.nc``, or
    ``hyperparams_fit.nc`` and ``loss_surface_fit.nc``) and the figures; print the report
    (unless ``quiet``) and return its text. ``progress``: step messages on stderr (NumPyro's own
    progress bars appear when stderr is a terminal). ``tolerance``: near-optimal tolerance
    (default: 5% of the reducible loss)."""
    check_route(route)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    step = Progress(5 if figures else 4, progress)
    sampler = {
        "chains": chains,
        "warmup": warmup,
        "draws": draws,
        "seed": seed,
        "target_accept": target_accept,
    }
    runs = load_bundled(DEFAULT_DATASET)
    setting = f"{chains} chains x {warmup} warm-up + {draws} draws"
    if route == "joint":
        step(f"fitting the joint sweep model (law 'sweep') to all {len(runs)} runs ({setting})")
    else:
        step(
            f"best-cell route: fitting the hyperparameter law ({len(runs)} runs) and the loss "
            f"surface (each cell's best run) ({setting})"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hp_fit, surface_fit = fit_laws(runs, sampler, route)
    step("fits done")
    for w in caught:
        step.note(f"warning: {w.message}")
    step("planning: optima, loss of the target run, allocation, fixed vs optimal, next runs")
    calibration = {"chains": min(chains, 2), "warmup": min(warmup, 300), "draws": min(draws, 300)}
    plan = planning(
        hp_fit,
        surface_fit,
        target_N=target_N,
        target_D=target_D,
        budget=budget,
        ci=ci,
        tolerance=tolerance,
        seed=seed,
        calibration=calibration,
    )
    step("writing the report and the fits")
    written = [out / "report.txt"]
    for name, f in saved_fits(hp_fit, surface_fit).items():
        f.save(out / name)
        written.append(out / name)
    figure_list = []
    if figures:
        step(f"drawing the figures into {out}/")
        paths = write_figures(out, runs, hp_fit, surface_fit, plan, step, seed)
        written += paths
        figure_list = [(FIGURE_CAPTIONS.get(p.name, p.stem), p) for p in paths]
    report = build_report(plan, hp_fit, surface_fit, runs, figures=figure_list)
    text = report.to_text()
    (out / "report.txt").write_text(text)
    if html:
        (out / "report.html").write_text(report.to_html())
        written.append(out / "report.html")
    if not quiet:
        print(text)
        print("wrote " + ", ".join(str(p) for p in written))
    return text
