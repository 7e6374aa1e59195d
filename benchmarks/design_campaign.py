"""Closed-loop experimental design against the video-DiT truth: strategies vs cumulative compute.

    python benchmarks/design_campaign.py                       # 2 seeds, batch 3, 6 steps
    python benchmarks/design_campaign.py --seeds 0 1 2 --steps 8
    python benchmarks/design_campaign.py --speed-only          # only the speed part

Truth: :class:`bayeslaws.runs.simulate.VideoDiTTruth` (Yin et al.'s laws; L*(N, D) for optimally
tuned runs, relative noise 7e-4). Every campaign (:func:`bayeslaws.app.campaign.simulate_campaign`)
starts from the paper grid's two smallest models at its two smallest token budgets, fits the
Chinchilla law (gaussian likelihood, NUTS), records the posterior of (a) the loss at 1.07B
params / 10B tokens and (b) N_opt at 1e22 FLOPs, picks ``--batch`` runs and refits, under the
paper grid's total compute (16 cells, 7.24e19 FLOPs). Strategies: ours (joint information
about (a) and (b) per FLOP), ours_no_cost, random (from the same 49-cell pool), grid (the
paper's cells, smallest model first).

Prints one table per target (median over seeds of the 90% width / truth and |error| / truth
at the end and at half the grid's compute; compute at which each strategy first reaches the
grid's final width) and the speed figures; writes benchmarks/output/design_campaign.csv and
design_campaign.png.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import bayeslaws as bl
from bayeslaws import design
from bayeslaws.app import campaign
from bayeslaws.runs import simulate

OUT = Path(__file__).parent / "output"


def speed(log):
    """Ranking 1,000 candidates (Gaussian), warm; bounds for the top 10."""
    N, D = np.meshgrid(np.geomspace(6e7, 6e9, 6), np.geomspace(1e9, 1e11, 5))
    truth = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}
    df = simulate.simulate_chinchilla_runs({**truth, "N": N.ravel(), "D": D.ravel()}, seed=1)
    t0 = time.perf_counter()
    fit = bl.fit(bl.load_runs(df), likelihood="gaussian", seed=0, progress_bar=False, warn=False)
    log(f"speed: fit 4 chains x 1000 draws in {time.perf_counter() - t0:.1f} s")
    C = np.geomspace(1e19, 1e23, 100)
    cands = design.isoflop_candidates(C=C, n_per_budget=10)
    target = design.Loss(N=7e9, D=1.4e11)
    times = []
    for _ in range(4):
        t0 = time.perf_counter()
        ranked = design.rank_candidates(fit, cands, target)
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    design.next_runs(fit, cands, target=target, k=3)
    t_batch_cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    design.next_runs(fit, cands, target=target, k=3)
    t_batch = time.perf_counter() - t0
    top = ranked.head(10)[["N", "D"]]
    t0 = time.perf_counter()
    b = design.bounds(fit, top, target)
    t_bounds = time.perf_counter() - t0
    rho = b[["gaussian_all", "nmc_all"]].corr(method="spearman").iloc[0, 1]
    rows = [
        ("draws S", len(fit.draws()["sigma"])),
        ("candidates", len(cands)),
        ("rank 1000, cold (s, incl. compile)", times[0]),
        ("rank 1000, warm (s, best of 3)", min(times[1:])),
        ("next_runs k=3, cold (s)", t_batch_cold),
        ("next_runs k=3, warm (s)", t_batch),
        ("bounds top 10, NMC+PCE+reweighted, 1000 outer x S inner (s)", t_bounds),
        ("Spearman gaussian_all vs nmc_all, top 10", rho),
        ("max pce_all - nmc_all, top 10", float((b.pce_all - b.nmc_all).max())),
    ]
    return pd.DataFrame(rows, columns=["speed", "value"]), b


def first_reach(hist, width):
    """Cumulative FLOPs at which the width first drops to ``width`` (NaN if never)."""
    ok = hist[hist.width_rel <= width]
    return float(ok.cumulative_flops.min()) if len(ok) else np.nan


def summarise(history, budget):
    rows = []
    for (target, strategy), h in history.groupby(["target", "strategy"], sort=False):
        per_seed = []
        for seed, hs in h.groupby("seed"):
            grid = history[
                (history.target == target) & (history.strategy == "grid") & (history.seed == seed)
            ]
            grid_width = grid.sort_values("step").width_rel.iloc[-1] if len(grid) else np.nan
            last = hs.sort_values("step").iloc[-1]
            half = hs[hs.cumulative_flops <= budget / 2].sort_values("step").iloc[-1]
            per_seed.append(
                {
                    "final_flops": last.cumulative_flops,
                    "final_width": last.width_rel,
                    "final_error": last.error_rel,
                    "half_width": half.width_rel,
                    "half_error": half.error_rel,
                    "reach_grid_width_flops": first_reach(hs, grid_width),
                }
            )
        p = pd.DataFrame(per_seed)
        rows.append(
            {
                "target": target,
                "strategy": strategy,
                "seeds": len(p),
                "final_flops": p.final_flops.median(),
                "final_width90/truth": p.final_width.median(),
                "final_|err|/truth": p.final_error.median(),
                "width@half_grid_flops": p.half_width.median(),
                "|err|@half_grid_flops": p.half_error.median(),
                "flops_to_grid_width": p.reach_grid_width_flops.median(),
                "seeds_reaching_grid_width": int(p.reach_grid_width_flops.notna().sum()),
            }
        )
    return pd.DataFrame(rows)


def figure(history, budget, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    targets = list(dict.fromkeys(history.target))
    fig, axes = plt.subplots(2, len(targets), figsize=(5.5 * len(targets), 7), squeeze=False)
    colours = {"ours": "C0", "ours_no_cost": "C1", "random": "C2", "grid": "C3"}
    for j, target in enumerate(targets):
        for strategy, h in history[history.target == target].groupby("strategy"):
            for k, (_, hs) in enumerate(h.groupby("seed")):
                hs = hs.sort_values("step")
                kw = {"color": colours.get(strategy), "alpha": 0.8, "marker": "o", "ms": 3}
                label = strategy if k == 0 else None
                axes[0, j].plot(hs.cumulative_flops, hs.width_rel, label=label, **kw)
                axes[1, j].plot(hs.cumulative_flops, hs.error_rel, **kw)
        for i, name in enumerate(("90% width / truth", "|median - truth| / truth")):
            ax = axes[i, j]
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.axvline(budget, color="grey", lw=0.8, ls="--")
            ax.axvline(budget / 2, color="grey", lw=0.8, ls=":")
            ax.set_ylabel(name)
            ax.set_xlabel("cumulative training FLOPs")
        axes[0, j].set_title(target)
    axes[0, 0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch", type=int, default=3)
    parser.add_argument("--draws", type=int, default=300, help="NUTS warmup = draws per chain")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    t_start = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - t_start:7.1f} s] {msg}", file=sys.stderr, flush=True)

    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    if not args.no_speed:
        table, b = speed(log)
        print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        print(b.drop(columns=["unit"]).to_string(float_format=lambda x: f"{x:.4g}"))
    if args.speed_only:
        return
    truth = simulate.VideoDiTTruth()
    grid = campaign.paper_grid()
    budget = float(truth.flops(grid.N, grid.D).sum())
    camp = campaign.simulate_campaign(
        seeds=args.seeds,
        batch=args.batch,
        max_steps=args.steps,
        fit_options={
            "warmup": args.draws,
            "draws": args.draws,
            "target_accept": 0.95,
        },
        log=log,
        checkpoint=lambda h: h.to_csv(OUT / "design_campaign.csv", index=False),
    )
    camp.history.to_csv(OUT / "design_campaign.csv", index=False)
    camp.runs.to_csv(OUT / "design_campaign_runs.csv", index=False)
    figure(camp.history, budget, OUT / "design_campaign.png")
    print(
        f"\nbudget (paper grid, 16 cells) = {budget:.3g} FLOPs; seeds {args.seeds}; "
        f"batch {args.batch}; up to {args.steps} batches"
    )
    summary = summarise(camp.history, budget)
    for target, s in summary.groupby("target", sort=False):
        print(f"\n{target}")
        print(s.drop(columns="target").to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    log("done")


if __name__ == "__main__":
    main()
