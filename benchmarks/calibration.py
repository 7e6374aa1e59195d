"""Scale-out backtests of predictive intervals: data set x method x (error, coverage, width).

    python benchmarks/calibration.py            # all backtests (~15-20 min on 2 idle cores)
    python benchmarks/calibration.py --quick    # fewer draws and simulated designs only
    python benchmarks/calibration.py --parts sim   # one part; the table merges saved parts
    python benchmarks/calibration.py --parts sim --sbc 40   # plus SBC of the Chinchilla law
    python benchmarks/calibration.py --parts sim --kinds correct --seeds 8 --n-per-budget 21

Prints ONE table and writes benchmarks/output/calibration.csv, calibration_points.csv and
calibration_epoch.png (predicted vs actual loss with 50%/90% intervals, Epoch backtest).

Backtests (fit on the smaller runs, predict the larger ones as new runs, Chinchilla form, Huber
likelihood):

* epoch: Epoch AI's Chinchilla points, fit C <= 1e21, predict the 23 larger runs.
* porian <config>: Porian et al. isoFLOP points of one configuration, hold out the two largest
  budgets (C = the budget). With constant LR, several budgets are read off the same runs.
* steplaw: Step Law's dense sweep reduced to each (N, D) cell's best run ("loss under grid-optimal
  hyperparameters"), hold out the N = 1.07e9 cells.
* sim-correct / sim-bend: simulated isoFLOP designs (1e18-1e20 fitted, 1e21 and 1e22 held out)
  from the Chinchilla form itself, and from a truth whose exponents flatten by 0.1 beyond
  N = 3e9 and D = 5e10 (``calibration.simulated_split``); ``--seeds`` designs each, pooled;
  fitted with the Gaussian likelihood on ln L, which is how the noise was simulated.

Methods (:mod:`bayeslaws.posterior.extrapolation`): "none" = the plain posterior predictive;
"discrepancy" = a Normal discrepancy on ln L whose scale grows with the distance outside the
fitted range (scales learned by scale-out CV on the training runs only); "discrepancy_t" = the
same with a Student-t (3 d.o.f.) discrepancy, learned from the same CV residuals; "stacking" =
Bayesian stacking of the Chinchilla, Chinchilla-with-interaction (``chinchilla_gamma``) and
Kaplan forms with PSIS-LOO weights (``w_gamma``, ``w_kaplan``; Chinchilla has the rest);
"stacking_discrepancy" = that mixture plus the Normal discrepancy.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pandas as pd

from bayeslaws.posterior import calibration as cal
from bayeslaws.runs.bundled import SharedDataMissing

OUT = Path(__file__).resolve().parent / "output"


def real_splits():
    yield "epoch C<=1e21", cal.epoch_split
    for config in cal.PORIAN_CONFIGS:
        yield f"porian {config}", lambda c=config: cal.porian_split(c)
    yield "steplaw best-cell N=1.07e9", cal.steplaw_split


def run(name, train, test, settings, seed=0):
    t0 = time.time()
    scores, points, fit = cal.backtest(train, test, name=name, seed=seed, **settings)
    state = fit.cache.get("distance", {})
    scores["tau0"] = state.get("tau0_mean", np.nan)
    scores["tau1"] = state.get("tau1_mean", np.nan)
    stacking = fit.cache.get("stacking", {})
    for law in ("gamma", "kaplan"):
        key = "chinchilla_gamma" if law == "gamma" else law
        scores[f"w_{law}"] = stacking.get("weights", {}).get(key, np.nan)
    gp = fit.cache.get("gp", {})
    scores["gp_eta"] = gp.get("eta", np.nan)
    scores["seconds"] = time.time() - t0
    # every fit compiles new kernels; without this a long run exhausts the process's memory
    # maps ("LLVM compilation error: Cannot allocate memory", then a segfault)
    jax.clear_caches()
    points.insert(0, "dataset", name)
    print(
        f"  {name}: {len(train)} fitted, {len(test)} held out, {time.time() - t0:.0f} s",
        file=sys.stderr,
    )
    return scores, points


def pooled(name, parts):
    """Pool several simulated backtests: scores recomputed over all their held-out points."""
    points = pd.concat([p for _, p in parts], ignore_index=True)
    points["dataset"] = name
    rows = []
    for method, g in points.groupby("method", sort=False):
        rows.append(
            {
                "dataset": name,
                "method": method,
                "n": len(g),
                "error": float(np.median(np.abs(g["median"] / g["actual"] - 1))),
                "cov50": float(g["in50"].mean()),
                "cov80": float(g["in80"].mean()),
                "cov90": float(g["in90"].mean()),
                "width90": float(np.mean((g["upper90"] - g["lower90"]) / g["median"])),
                "lpd": float(g["lpd"].mean()),
                "tau0": float(np.mean([s["tau0"].iloc[0] for s, _ in parts])),
                "tau1": float(np.mean([s["tau1"].iloc[0] for s, _ in parts])),
                "w_gamma": float(np.mean([s["w_gamma"].iloc[0] for s, _ in parts])),
                "w_kaplan": float(np.mean([s["w_kaplan"].iloc[0] for s, _ in parts])),
                "gp_eta": float(np.mean([s["gp_eta"].iloc[0] for s, _ in parts])),
                "seconds": float(sum(s["seconds"].iloc[0] for s, _ in parts)),
            }
        )
    return pd.DataFrame(rows), points


def figure(points, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(points.groupby("method", sort=False))
    ncol = 2
    nrow = -(-len(groups) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(11, 4.2 * nrow), sharey=True, squeeze=False)
    axes = axes.ravel()
    for ax in axes[len(groups) :]:
        ax.set_visible(False)
    for ax, (method, g) in zip(axes, groups, strict=False):
        g = g.sort_values("C")
        x = np.arange(len(g))
        ax.vlines(x, g["lower90"], g["upper90"], color="tab:blue", alpha=0.35, lw=6, label="90%")
        ax.vlines(x, g["lower50"], g["upper50"], color="tab:blue", alpha=0.8, lw=6, label="50%")
        ax.plot(x, g["median"], "_", color="k", ms=12, label="predictive median")
        hit = g["in90"].to_numpy()
        ax.plot(x[hit], g["actual"][hit], "o", color="tab:green", label="actual (in 90%)")
        ax.plot(x[~hit], g["actual"][~hit], "o", color="tab:red", label="actual (outside 90%)")
        ax.set_title(
            f"{method}: 90% covers {g['in90'].mean():.0%}, 50% covers {g['in50'].mean():.0%}"
        )
        ax.set_xlabel("held-out run (sorted by compute, 1e21 to 1.3e22 FLOPs)")
    axes[0].set_ylabel("loss")
    axes[0].legend(fontsize=8)
    fig.suptitle("Epoch Chinchilla points: fit C <= 1e21, predict the 23 larger runs (new run)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


COLUMNS = [
    "dataset",
    "method",
    "n",
    "error",
    "cov50",
    "cov80",
    "cov90",
    "width90",
    "lpd",
    "tau0",
    "tau1",
    "w_gamma",
    "w_kaplan",
    "gp_eta",
]


def run_part(part, settings, seeds, only="", kinds=("correct", "bend"), n_per_budget=7):
    """Backtests of one part ("real" or "sim"): (table, points). ``only``: run only the real
    data sets whose name contains it."""
    tables, all_points = [], []
    if part == "real":
        for name, make in real_splits():
            if only not in name:
                continue
            try:
                train, test = make()
            except SharedDataMissing as err:
                print(f"  {name}: skipped ({err})", file=sys.stderr)
                continue
            scores, points = run(name, train, test, settings)
            tables.append(scores)
            all_points.append(points)
    else:
        # the simulated noise is log-normal, so the correct likelihood is "gaussian" (on ln L)
        sim_settings = dict(settings, likelihood="gaussian")
        for kind in kinds:
            parts = []
            for seed in range(seeds):
                train, test = cal.simulated_split(kind, seed=seed, n_per_budget=n_per_budget)
                parts.append(run(f"sim-{kind} seed {seed}", train, test, sim_settings, seed=seed))
            size = "" if n_per_budget == 7 else f", {n_per_budget} runs/budget"
            scores, points = pooled(f"sim-{kind} (x{seeds}{size})", parts)
            tables.append(scores)
            all_points.append(points)
    return pd.concat(tables, ignore_index=True), pd.concat(all_points, ignore_index=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short chains, simulated only")
    parser.add_argument("--seeds", type=int, default=2, help="simulated designs per kind")
    parser.add_argument(
        "--parts",
        default="real,sim",
        help="comma list of parts to run (real, sim); each is saved as calibration_<part>.csv "
        "and the table shows every part saved so far (so parts can run in separate processes)",
    )
    parser.add_argument("--only", default="", help="run only real data sets named like this")
    parser.add_argument(
        "--kinds", default="correct,bend", help="simulated truths to run (correct and/or bend)"
    )
    parser.add_argument(
        "--n-per-budget",
        type=int,
        default=7,
        help="simulated runs per fitted budget (default 7: 35 training runs)",
    )
    parser.add_argument(
        "--sbc",
        type=int,
        default=0,
        help="also run simulation-based calibration of the Chinchilla law with this many "
        "replications (p-values to stderr, ranks to output/sbc_chinchilla.csv; ~10 s each)",
    )
    args = parser.parse_args(argv)
    settings = dict(chains=2, warmup=300, draws=300)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if args.quick:
        settings = dict(chains=2, warmup=200, draws=200)
        parts = ["sim"]
    if set(parts) - {"real", "sim"}:
        parser.error("--parts takes real and/or sim")
    OUT.mkdir(parents=True, exist_ok=True)

    for part in parts:
        kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
        tag = f"{part}_{args.only.split()[0]}" if part == "real" and args.only else part
        if part == "sim" and (kinds != ("correct", "bend") or args.n_per_budget != 7):
            tag = f"sim_{'_'.join(kinds)}_n{args.n_per_budget}"
        if tag == "real":  # a full real run replaces any partial (--only) ones
            for stale in OUT.glob("calibration*_real_*.csv"):
                stale.unlink()
        table, points = run_part(part, settings, args.seeds, args.only, kinds, args.n_per_budget)
        table.to_csv(OUT / f"calibration_{tag}.csv", index=False)
        points.to_csv(OUT / f"calibration_points_{tag}.csv", index=False)
    saved = sorted(OUT.glob("calibration_real*.csv")) + sorted(OUT.glob("calibration_sim*.csv"))
    table = pd.concat([pd.read_csv(p) for p in saved])
    points = pd.concat(
        [pd.read_csv(OUT / p.name.replace("calibration_", "calibration_points_")) for p in saved]
    )
    table.to_csv(OUT / "calibration.csv", index=False)
    points.to_csv(OUT / "calibration_points.csv", index=False)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table[COLUMNS].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if args.sbc:
        ranks, pvalues = cal.sbc("chinchilla", "gaussian", n_sims=args.sbc, warmup=150, draws=200)
        ranks.to_csv(OUT / "sbc_chinchilla.csv", index=False)
        text = ", ".join(f"{k} {v:.3f}" for k, v in pvalues.items())
        print(f"SBC chinchilla ({args.sbc} sims), rank-uniformity p: {text}", file=sys.stderr)
        print(
            f"SBC sampler: {int((ranks['divergences'] > 0).sum())} sims with divergences, "
            f"min ESS median {ranks['min_ess'].median():.0f} (lowest {ranks['min_ess'].min():.0f})",
            file=sys.stderr,
        )
    epoch = points[points["dataset"] == "epoch C<=1e21"]
    plain = epoch[epoch["method"] == "none"]
    if len(plain):  # what the plain fit gets wrong: a tilt along tokens per parameter
        error = plain["median"] / plain["actual"] - 1
        r = np.corrcoef(error, np.log(plain["D"] / plain["N"]))[0, 1]
        print(f"epoch, plain fit: corr(relative error, ln D/N) = {r:.2f}", file=sys.stderr)
    if len(epoch):
        figure(epoch, OUT / "calibration_epoch.png")
        print(f"figure: {OUT / 'calibration_epoch.png'}", file=sys.stderr)


if __name__ == "__main__":
    main()
