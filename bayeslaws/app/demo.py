"""The main job (``bayeslaws demo``): fit the hyperparameter law and a loss surface to the
bundled SIMULATED video-DiT sweep, print a planning report and write the figures.

The report gives, each with a credible interval: eta_opt and B_opt at a target size (default
Yin et al.'s 1.07B model on 10B tokens), the predicted loss of that run, the compute-optimal
N_opt at a budget (default 1e22 FLOPs), the sizes within 1% of the optimal loss there, and the
next best runs (:mod:`bayeslaws.design`) with the expected interval widths after them. All
the logic lives in the package (:func:`run_demo`, :func:`planning`); the CLI only calls it.
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
from ..posterior import extrapolation, near_optimal, optimal_allocation, predict
from ..runs import RunTable, best_run_per_cell, published
from ..runs.bundled import DEFAULT_DATASET, load_bundled

TARGET_N, TARGET_D = 1.07e9, 1e10  # Yin et al.'s 1.07B check at 10B tokens
BUDGET = 1e22  # FLOPs: the budget Yin et al. quote N_opt = 2.43B at
ISOFLOP_BUDGETS = (1e19, 1e20, 1e21, 1e22)
TOLERANCE = 0.01  # near-optimal: within 1% of the optimal loss
HP_PAIRS = ["lr_N", "lr_D", "batch_N", "batch_D", "k_lr", "k_batch"]
DESIGN_BUDGETS = (3e19, 1e20)  # FLOPs: candidate isoFLOP runs just beyond the sweep's largest
DESIGN_K = 3


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


def _interval(median, lower, upper, fmt="{:.4g}") -> str:
    return f"{fmt.format(median)} [{fmt.format(lower)}, {fmt.format(upper)}]"


def planning(
    hp_fit,
    surface_fit,
    *,
    target_N: float = TARGET_N,
    target_D: float = TARGET_D,
    budget: float = BUDGET,
    ci: float = 0.9,
    tolerance: float = TOLERANCE,
    seed: int = 0,
    calibration: dict | None = None,
) -> dict:
    """The planning numbers, each with a central ``ci`` interval, as DataFrames / objects:

    ``hyperparams`` (eta_opt, B_opt at the target, kinds "mean" = the law and "new_run" = a
    new sweep's optimum), ``law_table`` (the fitted laws in Yin et al.'s notation), ``loss``
    (the target run's loss, kinds "mean" and "new_run"), ``allocation`` (N_opt, D_opt, L_opt
    at ``budget``) and ``near_optimal`` (:class:`~bayeslaws.allocation.NearOptimal`).

    ``calibration``: NUTS settings (chains, warmup, draws) of any scale-out refits the default
    widening needs (:func:`bayeslaws.posterior.extrapolation.prepare`; the default "gp" needs
    none), computed once and kept in the surface fit's cache."""
    extrapolation.prepare(
        surface_fit, extrapolation.DEFAULT_METHOD, seed=seed, refits=calibration
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
    plan = {
        "hyperparams": hyper,
        "law_table": hp_fit.law_table(ci=ci),
        "loss": loss,
        "allocation": optimal_allocation(surface_fit, C=budget, ci=ci, seed=seed),
        "near_optimal": near_optimal(surface_fit, budget, tolerance, ci=ci, seed=seed),
    }
    plan.update(next_runs_plan(hp_fit, surface_fit, target_N, target_D, budget, ci, seed))
    return plan


def next_runs_plan(hp_fit, surface_fit, target_N, target_D, budget, ci=0.9, seed=0) -> dict:
    """The next best runs (:mod:`bayeslaws.design`, Gaussian estimator, cost in FLOPs):

    ``design_nopt``: ``DESIGN_K`` isoFLOP runs at ``DESIGN_BUDGETS`` that most narrow N_opt at
    ``budget`` per FLOP; ``design_table``: every such candidate ranked alone (for the figure);
    ``design_hp``: the two LR x batch sweeps (at new cells around the target) that most
    narrow eta_opt and B_opt at the target."""
    cands = design.isoflop_candidates(C=list(DESIGN_BUDGETS), n_per_budget=7, fit=surface_fit)
    target = design.NOpt(C=budget)
    small_N = hp_fit.record.ranges["N"][1]  # the largest fitted size
    cells_N = [2 * small_N, 2 * small_N, target_N, target_N]
    cells_D = [target_D / 2.5, target_D, target_D / 2.5, target_D]
    sweeps = design.hyperparameter_candidates(cells_N, cells_D, fit=hp_fit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # guardrail relaxations are reported in the table
        return {
            "design_nopt": design.next_runs(
                surface_fit, cands, target, k=DESIGN_K, seed=seed, ci=ci
            ),
            "design_table": design.rank_candidates(surface_fit, cands, target, seed=seed, ci=ci),
            "design_hp": design.next_runs(
                hp_fit,
                sweeps,
                design.HyperparamOpt(N=target_N, D=target_D),
                k=2,
                seed=seed,
                ci=ci,
            ),
        }


def _design_lines(plan: dict, pct: str) -> list[str]:
    lines = ["", "== Next best runs (bayeslaws.design, Gaussian estimator, cost = FLOPs) =="]
    nopt = plan["design_nopt"]
    label = next(c[len("width_now[") : -1] for c in nopt if c.startswith("width_now["))
    now = nopt[f"width_now[{label}]"].iloc[0]
    lines.append(
        f"  to narrow {label} (now: {pct} interval {now:.3g} wide), isoFLOP candidates at "
        + ", ".join(f"{c:.0e}" for c in DESIGN_BUDGETS)
        + " FLOPs:"
    )
    for _, r in nopt.iterrows():
        after = r[f"width_after[{label}]"]
        lines.append(
            f"    {int(r['rank'])}. N {r['N']:.3g}, D {r['D']:.3g} tokens (C {r['C']:.2g}): "
            f"{r['info']:.3f} nats, {r['info_per_flop']:.3g} nats/FLOP; width after "
            f"{after:.3g} ({100 * (after / now - 1):+.0f}%)"
            + (f" [guardrail {r['guardrail']}]" if r.get("guardrail") else "")
        )
    hp = plan["design_hp"]
    comps = [c[len("width_now[") : -1] for c in hp if c.startswith("width_now[")]
    lines.append("  to narrow " + " and ".join(comps) + f" ({pct} interval widths):")
    for _, r in hp.iterrows():
        widths = "; ".join(
            f"{c.split('(')[0]} {r[f'width_now[{c}]']:.3g} -> {r[f'width_after[{c}]']:.3g}"
            for c in comps
        )
        lines.append(
            f"    {int(r['rank'])}. an LR x batch sweep of {int(r['n_runs'])} runs at N "
            f"{r['N']:.3g}, D {r['D']:.3g} (C {r['flops']:.2g} in all): {r['info']:.3f} nats; "
            f"widths {widths}" + (f" [guardrail {r['guardrail']}]" if r.get("guardrail") else "")
        )
    lines.append(
        "  (expected widths under the Gaussian approximation; confirm with bayeslaws.design.bounds)"
    )
    return lines


def format_report(plan: dict, hp_fit, surface_fit, runs: RunTable, ci: float = 0.9) -> str:
    """The planning report as text."""
    pct = f"{100 * ci:g}%"
    h = plan["hyperparams"]
    target_N, target_D = float(h["N"].iloc[0]), float(h["D"].iloc[0])
    where = (
        f"{target_N / 1e9:.3g}B parameters on {target_D / 1e9:.3g}B tokens "
        f"(N {h['N_outside_decades'].iloc[0]:+.2f} decades outside the fitted sizes)"
    )
    lines = [
        f"bayeslaws demo on the bundled data set '{DEFAULT_DATASET}' (SIMULATED: "
        "bayeslaws.runs.simulate, video-DiT design of Yin et al. 2025)",
        f"{runs}",
        "All intervals are central " + pct + " posterior credible intervals.",
        "",
        "== Fits ==",
        f"hyperparameter law (every run): {hp_fit!r}",
        f"loss surface (best run per (N, D) cell): {surface_fit!r}",
        "",
        f"== Optimal hyperparameters at {where} ==",
    ]
    for _, r in h.iterrows():
        what = "the law (median optimum)" if r["kind"] == "mean" else "a new sweep's optimum"
        eta = _interval(r.eta_opt_median, r.eta_opt_lower, r.eta_opt_upper, "{:.3g}")
        batch = _interval(r.B_opt_median, r.B_opt_lower, r.B_opt_upper, "{:.4g}")
        lines.append(f"  {what:26s} eta_opt {eta}   B_opt {batch} tokens")
    table = plan["law_table"]
    lines += [
        "  fitted laws (N, T in billions; B in tokens), posterior medians:",
        *(f"    {f}" for f in table.attrs.get("formulas", {}).values()),
        "  with intervals:",
        *("    " + line for line in table.to_string(float_format="{:.4g}".format).splitlines()),
        "",
        "== Loss surface L(N, D) = E + A/N^alpha + B/D^beta ==",
        *(
            "  " + line
            for line in surface_fit.summary(ci=ci)
            .to_string(float_format="{:.4g}".format)
            .splitlines()
        ),
        "",
        f"== Predicted loss at {where} ==",
    ]
    for _, r in plan["loss"].iterrows():
        what = "the law (mean)" if r["kind"] == "mean" else "one new run (new_run)"
        lines.append(f"  {what:22s} {_interval(r['median'], r['lower'], r['upper'], '{:.4f}')}")
    a = plan["allocation"].iloc[0]
    near = plan["near_optimal"]
    lines += [
        "",
        f"== Compute-optimal allocation at C = {a['C']:.3g} FLOPs (C = 6ND) ==",
        f"  N_opt  {_interval(a.N_opt, a.N_opt_lower, a.N_opt_upper, '{:.3g}')} parameters",
        f"  D_opt  {_interval(a.D_opt, a.D_opt_lower, a.D_opt_upper, '{:.3g}')} tokens",
        f"  L_opt  {_interval(a.L_opt, a.L_opt_lower, a.L_opt_upper, '{:.4f}')}",
        f"  tokens per parameter (median) {a.tokens_per_param:.0f}",
        "  Yin et al. quote N_opt = 2.43e9 at this budget (their earlier law 0.8705 C^0.4294).",
        f"  near-optimal (loss within {100 * near.tolerance:g}% of optimal with probability >= "
        f"{near.prob:g}):",
    ]
    if near.band is None:
        lines.append("    no size is near-optimal with that probability")
    else:
        s = near.smallest
        edge = np.isclose(s["N"], near.table["N"].iloc[0])
        lines += [
            f"    sizes {near.band[0]:.3g} to {near.band[1]:.3g} parameters",
            f"    smallest: {s['N']:.3g} ({100 * s['size_vs_optimal']:+.0f}% vs N_opt), "
            f"excess loss {100 * s['excess']:.2f}% [{100 * s['excess_lower']:.2f}, "
            f"{100 * s['excess_upper']:.2f}]"
            + ("  (at the edge of the searched sizes)" if edge else ""),
        ]
    lines += _design_lines(plan, pct)
    return "\n".join(lines) + "\n"


def write_figures(
    out: Path, runs: RunTable, hp_fit, surface_fit, plan: dict, progress=None, seed: int = 0
) -> list[Path]:
    """The demo's figures as PNGs in ``out``; returns their paths."""
    target_N = float(plan["hyperparams"]["N"].iloc[0])
    target_D = float(plan["hyperparams"]["D"].iloc[0])
    budget = float(plan["allocation"]["C"].iloc[0])
    jobs = {
        "fan_loss_surface.png": lambda: plot.fan(
            surface_fit, best_run_per_cell(runs), targets=[(target_N, target_D)], seed=seed
        ),
        "fan_hyperparams.png": lambda: plot.fan(
            hp_fit, runs, targets=[(target_N, target_D)], seed=seed
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
        "pairs_hyperparams.png": lambda: plot.pairs(hp_fit, HP_PAIRS),
        "pairs_loss_surface.png": lambda: plot.pairs(surface_fit),
    }
    jobs["design.png"] = lambda: plot.design_ranking(plan["design_table"])
    paths = []
    for name, make in jobs.items():
        if progress is not None:
            progress.note(f"figure {name}")
        paths.append(plot.save(make(), Path(out) / name))
    return paths


def run_demo(
    out: Path,
    chains: int = 4,
    warmup: int = 500,
    draws: int = 500,
    seed: int = 0,
    *,
    target_N: float = TARGET_N,
    target_D: float = TARGET_D,
    budget: float = BUDGET,
    ci: float = 0.9,
    figures: bool = True,
    progress: bool = True,
    quiet: bool = False,
) -> str:
    """Fit both laws, write ``out/report.txt``, the fits (``.nc``) and the figures; print the
    report (unless ``quiet``) and return its text. ``progress``: step messages on stderr
    (NumPyro's own progress bars appear when stderr is a terminal)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    step = Progress(5 if figures else 4, progress)
    sampler = {"chains": chains, "warmup": warmup, "draws": draws, "seed": seed}
    runs = load_bundled(DEFAULT_DATASET)
    step(
        f"fitting the hyperparameter law to {len(runs)} runs "
        f"({chains} chains x {warmup} warm-up + {draws} draws)"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hp_fit = fit(runs, law="hyperparams", likelihood="gaussian", **sampler)
        surface_runs = best_run_per_cell(runs)
        step(f"fitting the loss surface to the best run of each of {len(surface_runs)} cells")
        surface_fit = fit(surface_runs, law="chinchilla", likelihood="gaussian", **sampler)
    for w in caught:
        step.note(f"warning: {w.message}")
    step(
        "planning: optima, loss of the target run (fitting the model discrepancy on first use), "
        "allocation"
    )
    plan = planning(
        hp_fit,
        surface_fit,
        target_N=target_N,
        target_D=target_D,
        budget=budget,
        ci=ci,
        seed=seed,
        calibration={
            "chains": min(chains, 2),
            "warmup": min(warmup, 300),
            "draws": min(draws, 300),
        },
    )
    step("writing the report and the fits")
    report = format_report(plan, hp_fit, surface_fit, runs, ci)
    (out / "report.txt").write_text(report)
    hp_fit.save(out / "hyperparams_fit.nc")
    surface_fit.save(out / "loss_surface_fit.nc")
    written = [out / "report.txt", out / "hyperparams_fit.nc", out / "loss_surface_fit.nc"]
    if figures:
        step(f"drawing the figures into {out}/")
        written += write_figures(out, runs, hp_fit, surface_fit, plan, step, seed)
    if not quiet:
        print(report)
        print("wrote " + ", ".join(str(p) for p in written))
    return report
