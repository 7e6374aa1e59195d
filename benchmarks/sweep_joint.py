"""Benchmark: the joint sweep model (law "sweep") against the issue-13 bars.

Parts (``--parts``, comma-separated; each appends its rows to its CSV in benchmarks/output/):

* ``yin``: SIMULATED replications of Yin et al.'s design (bayeslaws.runs.simulate: 4 sizes x
  4 token budgets x 6 x 6 LR-batch grid, 576 runs, seeds 1000 + r). Per replicate: N_opt at
  1e22 FLOPs (median, 90% interval, truth 2.44e9), R-hat / ESS / divergences, wall time, and the
  fixed-vs-optimal question as a posterior quantity: N_opt at 1e22 when every run uses one
  fixed (lr, batch) -- the law's optimum at the design's middle cell -- against N_opt at each
  cell's optimal hyperparameters, as Yin et al. asked it: per posterior draw, the cells' losses
  at their optima and at the fixed setting (L* (1 + rel_penalty), same draw) each get a
  least-squares Chinchilla surface, extrapolated to N_opt(1e22); reported as the relative size
  change with its 90% interval over draws. -> sweep_yin.csv (replicate 0's first row used an
  earlier definition, the bowl extrapolated along the 1e22 isoFLOP line, marked in its
  ``fixed_method`` and left out of the fixed-vs-optimal summary)
* ``steplaw``: Step Law's dense sweep (../shared/data/steplaw_lr_bs) with the law's defaults:
  train on N < 1e9, predict the optima of the two N = 1.07e9 cells; the grid run nearest the
  predicted optimum against the cell's best (regret), and the grid run of least expected loss
  (least posterior-mean penalty for a new cell, ``bl.loss_penalty``: ``bayes_regret_pct``; the
  decision the joint model's bowl supports, added before its score was seen), eta_opt / B_opt
  with 90% intervals (mean and new_run), whether the best run's lr and batch lie inside the
  new_run intervals, the optima laws beside the authors' bootstrap; diagnostics and wall time.
  Beside those, a separate quantity (columns ``best_run_*``, added with the model unchanged,
  after the new_run check had failed): the 90% interval of where the model expects the
  cell's *empirical* best grid run (``bayeslaws.laws.sweep.best_run``: per draw a new cell's
  optimum, every grid run's loss with its run noise, the argmin), whether the measured best
  run lies inside it, and its predictive probability ``p_best_run_of_best``; the same check at
  the 15 training cells (in-sample) -> sweep_steplaw_best_run_train.csv. ``local_quad_*``: a
  model-free reference for the held-out cell's optimum, the minimum of a full quadratic in
  (ln lr, ln batch) fitted to the cell's runs within 1% of its best.
  -> sweep_steplaw.csv
* ``steplaw_batch_n``: B_opt's N term on trial (:func:`part_steplaw_batch_n`): the default
  law against Step Law's D-only B_opt form, on an inner backtest within the training cells
  (N < 5e8 -> the 5.37e8 cells) and on the 1.07e9 cells. -> sweep_steplaw_batch_n.csv
* ``bundled``: the bundled 576-run simulated sweep with the defaults: diagnostics and wall
  time. -> sweep_bundled.csv
``--summary``: summarise sweep_yin.csv -> sweep_yin_summary.txt (also written after ``yin``).
``--tag _x``: the yin part writes sweep_yin_x.csv and sweep_yin_x_summary.txt instead.
sweep_yin_sigma_lognormal*: the confirmation of the sweep law's log-normal run-noise prior
(chosen on replicate 12 of sweep_yin.csv, the one stuck chain there), on 20 NEW simulated
replicates (seeds 3000-3019, ``--start 2000 --replicates 20 --tag _sigma_lognormal``), scored
once.
(sweep_yin_shape_scatter*.{csv,txt}: the first 10 replicates with the per-cell bowl-shape
scatter that was the default until shape_scatter=False; R-hat 1.02-1.13 there.)

Run (the figures in the closing note):
    OPENBLAS_NUM_THREADS=1 nice python benchmarks/sweep_joint.py --parts yin --replicates 20
    OPENBLAS_NUM_THREADS=1 nice python benchmarks/sweep_joint.py --parts steplaw,bundled \
        --chains 4 --warmup 1000 --draws 1000
    OPENBLAS_NUM_THREADS=1 nice python benchmarks/sweep_joint.py --parts steplaw_batch_n
Options: --chains 2 --warmup 300 --draws 300 (modest: a shared 2-core machine), --start r0.
Every row records the load average (os.getloadavg) at its end: timings are under that load.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import bayeslaws as bl
from bayeslaws.app.demo import truth_size_change
from bayeslaws.laws.sweep import best_run
from bayeslaws.runs import published as pub
from bayeslaws.runs import simulate as sim

OUT = Path(__file__).resolve().parent / "output"
BUDGET = 1e22  # FLOPs


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _append(rows: list[dict], name: str) -> Path:
    path = OUT / name
    frame = pd.DataFrame(rows)
    if path.exists():  # earlier rows kept; a column added since is empty in them
        frame = pd.concat([pd.read_csv(path), frame], ignore_index=True)
    frame.to_csv(path, index=False)
    return path


def _fit(runs, args, **kw):
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bl.fit(
            runs,
            law="sweep",
            chains=args.chains,
            warmup=args.warmup,
            draws=args.draws,
            seed=args.seed,
            **kw,
        )
    return fit, time.perf_counter() - t0


def _diag(fit, wall) -> dict:
    d = fit.diagnostics
    return {
        "max_r_hat": d.max_r_hat,
        "min_ess_bulk": d.min_ess_bulk,
        "divergences": d.divergences,
        "n_draws": d.n_draws,
        "problems": "; ".join(d.problems),
        "wall_s": round(wall, 1),
        "load_1min": _load(),
    }


def _truth_fixed_change(truth, cells, C: float, n_mid: float, d_mid: float) -> float:
    """The simulator's own answer (bayeslaws.app.demo.truth_size_change): the same refit on
    its noiseless cell losses at optimal hyperparameters and at its true optimum of the middle
    cell (N, D)."""
    lr, batch = truth.eta_opt(n_mid, d_mid), truth.b_opt(n_mid, d_mid)
    return truth_size_change(truth, cells, C, lr, batch, bl.compute.linear(6.0))


def part_yin(args):
    truth = sim.VideoDiTTruth()
    n_true = float(truth.n_opt(BUDGET))
    for r in range(args.start, args.start + args.replicates):
        runs = bl.load_runs(sim.simulate_video_dit_sweep(seed=1000 + r))
        fit, wall = _fit(runs, args)
        a = bl.optimal_allocation(fit, C=[BUDGET], ci=0.9, extrapolation="none").iloc[0]
        cells = runs.df[["N", "D"]].drop_duplicates()
        n_mid = float(np.exp(np.log(cells["N"]).mean()))
        d_mid = float(np.exp(np.log(cells["D"]).mean()))
        answer = bl.fixed_vs_optimal(fit, BUDGET, cells=cells, ci=0.9, n_draws=200).iloc[0]
        lo, med, hi = (answer[f"size_change_{q}"] for q in ("lower", "median", "upper"))
        truth_change = _truth_fixed_change(truth, cells, BUDGET, n_mid, d_mid)
        row = {
            "replicate": r,
            "data": f"simulated (simulate_video_dit_sweep seed={1000 + r})",
            "N_opt_median": a["N_opt"],
            "N_opt_lower": a["N_opt_lower"],
            "N_opt_upper": a["N_opt_upper"],
            "N_opt_truth": n_true,
            "covered": bool(a["N_opt_lower"] <= n_true <= a["N_opt_upper"]),
            "fixed_change_median": med,
            "fixed_change_lower": lo,
            "fixed_change_upper": hi,
            "fixed_change_truth": truth_change,
            "fixed_lr": answer["lr"],
            "fixed_batch": answer["batch_size"],
            "fixed_method": "Chinchilla refitted at the design's cells per draw (200 draws)",
            **_diag(fit, wall),
            "setting": f"{args.chains}x{args.warmup}+{args.draws} seed {args.seed}",
            "law_options": str(fit.record.law_options),
        }
        path = _append([row], f"sweep_yin{args.tag}.csv")
        print(
            f"replicate {r}: N_opt(1e22) {a['N_opt']:.3g} [{a['N_opt_lower']:.3g}, "
            f"{a['N_opt_upper']:.3g}] truth {n_true:.3g}; fixed-vs-optimal {med:+.1%} "
            f"[{lo:+.1%}, {hi:+.1%}] (truth {truth_change:+.1%}); R-hat "
            f"{row['max_r_hat']:.3f}, {row['divergences']} div, "
            f"{wall:.0f} s (load {row['load_1min']}) -> {path.name}",
            flush=True,
        )
    summarise_yin(args.tag)


def summarise_yin(tag: str = ""):
    df = pd.read_csv(OUT / f"sweep_yin{tag}.csv").drop_duplicates("replicate", keep="last")
    ratio = df["N_opt_median"] / df["N_opt_truth"]
    clean = (df["max_r_hat"] <= 1.01) & (df["divergences"] == 0)
    fx = df[df["fixed_method"].str.startswith("Chinchilla refitted")]
    settled = int(((fx["fixed_change_lower"] > 0) | (fx["fixed_change_upper"] < 0)).sum())
    line = (
        f"yin ({len(df)} simulated replicates): N_opt(1e22) bias {np.median(ratio) - 1:+.1%} "
        f"(median of replicate medians / truth; mean {ratio.mean() - 1:+.1%}), 90% coverage "
        f"{df['covered'].mean():.0%} ({int(df['covered'].sum())}/{len(df)}); clean fits "
        f"(R-hat <= 1.01, no divergences) {int(clean.sum())}/{len(df)}; fixed-vs-optimal size "
        f"change ({len(fx)} replicates): median of medians "
        f"{fx['fixed_change_median'].median():+.1%} "
        f"(truth {fx['fixed_change_truth'].median():+.1%}), "
        f"replicates whose 90% interval excludes 0: {settled}/{len(fx)}; wall per fit median "
        f"{df['wall_s'].median():.0f} s"
    )
    print(line)
    (OUT / f"sweep_yin{tag}_summary.txt").write_text(line + "\n")


def part_steplaw(args):
    from bayeslaws.runs.bundled import steplaw_dense

    runs = steplaw_dense()
    held = runs.df["N"] > 1e9
    train = runs.exclude(held, "held out: the N = 1.07e9 cells (backtest)")
    test = runs.df[held & ~runs.df["diverged"]]
    fit, wall = _fit(train, args)
    diag = _diag(fit, wall)
    rows = []
    for (n, d), cell in test.groupby(["N", "D"]):
        best = cell.loc[cell["loss"].idxmin()]
        p = bl.predict(fit, N=n, D=d).iloc[0]
        pn = bl.predict(fit, N=n, D=d, kind="new_run", seed=0).iloc[0]
        dist2 = (np.log(cell["lr"]) - np.log(p["eta_opt_median"])) ** 2 + (
            np.log(cell["batch_size"]) - np.log(p["B_opt_median"])
        ) ** 2
        run = cell.loc[dist2.idxmin()]
        # the Bayes decision with the joint model: the grid run of least expected loss, i.e.
        # least posterior-mean penalty for a new cell (kind="new_run": its optimum scatters)
        penalty = bl.loss_penalty(
            fit,
            N=[n] * len(cell),
            D=[d] * len(cell),
            lr=cell["lr"],
            batch_size=cell["batch_size"],
            kind="new_run",
            seed=0,
        )
        run_bayes = cell.iloc[int(np.argmin(penalty["rel_penalty_mean"].to_numpy()))]
        c_lr, e_n, e_d = pub.STEPLAW["lr"]
        c_b, _, e_bd = pub.STEPLAW["batch_size"]
        lr_pub, b_pub = c_lr * n**e_n * d**e_d, c_b * d**e_bd
        dist_pub = (np.log(cell["lr"]) - np.log(lr_pub)) ** 2 + (
            np.log(cell["batch_size"]) - np.log(b_pub)
        ) ** 2
        run_pub = cell.loc[dist_pub.idxmin()]
        # where the model expects this grid's empirical best run (grid + run noise + bowl)
        where = best_run(fit, n, d, cell["lr"], cell["batch_size"], ci=0.9, seed=0)
        (lr_lo, lr_med, lr_hi), (b_lo, b_med, b_hi) = where["lr"], where["batch_size"]
        local_lr, local_b = _local_optimum(cell)
        rows.append(
            {
                "N": n,
                "D": d,
                "eta_opt": p["eta_opt_median"],
                "eta_opt_lower": p["eta_opt_lower"],
                "eta_opt_upper": p["eta_opt_upper"],
                "eta_opt_new_lower": pn["eta_opt_lower"],
                "eta_opt_new_upper": pn["eta_opt_upper"],
                "B_opt": p["B_opt_median"],
                "B_opt_lower": p["B_opt_lower"],
                "B_opt_upper": p["B_opt_upper"],
                "B_opt_new_lower": pn["B_opt_lower"],
                "B_opt_new_upper": pn["B_opt_upper"],
                "best_lr": best["lr"],
                "best_batch": best["batch_size"],
                "best_lr_inside_new": bool(
                    pn["eta_opt_lower"] <= best["lr"] <= pn["eta_opt_upper"]
                ),
                "best_batch_inside_new": bool(
                    pn["B_opt_lower"] <= best["batch_size"] <= pn["B_opt_upper"]
                ),
                "best_run_lr_lower": lr_lo,
                "best_run_lr_median": lr_med,
                "best_run_lr_upper": lr_hi,
                "best_run_batch_lower": b_lo,
                "best_run_batch_median": b_med,
                "best_run_batch_upper": b_hi,
                "best_lr_inside_best_run": bool(lr_lo <= best["lr"] <= lr_hi),
                "best_batch_inside_best_run": bool(b_lo <= best["batch_size"] <= b_hi),
                "p_best_run_of_best": float(where["p_best"][cell.index.get_loc(best.name)]),
                "local_quad_lr": local_lr,
                "local_quad_batch": local_b,
                "picked_lr": run["lr"],
                "picked_batch": run["batch_size"],
                "regret_pct": 100 * (run["loss"] / best["loss"] - 1),
                "bayes_lr": run_bayes["lr"],
                "bayes_batch": run_bayes["batch_size"],
                "bayes_regret_pct": 100 * (run_bayes["loss"] / best["loss"] - 1),
                "published_law_regret_pct": 100 * (run_pub["loss"] / best["loss"] - 1),
                "n_train_runs_used": fit.record.data["n_rows_used"],
                "notes": " | ".join(fit.record.notes),
                **diag,
                "setting": f"{args.chains}x{args.warmup}+{args.draws} seed {args.seed}",
            }
        )
    path = _append(rows, "sweep_steplaw.csv")
    _best_run_in_training_cells(fit, train.df, args)
    laws = fit.law_table().reset_index()
    laws["authors_bootstrap_95"] = [
        str(pub.STEPLAW_INTERVALS.get(_boot_key(q, p), ""))
        for q, p in zip(laws["quantity"], laws["parameter"], strict=True)
    ]
    laws.to_csv(OUT / "sweep_steplaw_laws.csv", index=False)
    print(pd.DataFrame(rows).T.to_string())
    print(laws.to_string())
    print(f"-> {path}")


def _local_optimum(cell, window: float = 0.01) -> tuple[float, float]:
    """Model-free reference for where a cell's optimum lies: the stationary point of a full
    quadratic in (ln lr, ln batch) fitted by least squares to the cell's ln losses within
    ``window`` (relative) of its best run; (lr, batch tokens), NaN if not a minimum."""
    near = cell[cell["loss"] <= cell["loss"].min() * (1 + window)]
    u, v = np.log(near["lr"].to_numpy()), np.log(near["batch_size"].to_numpy())
    X = np.column_stack([np.ones_like(u), u, v, u * u, v * v, u * v])
    if len(near) < 2 * X.shape[1]:
        return np.nan, np.nan
    b = np.linalg.lstsq(X, np.log(near["loss"].to_numpy()), rcond=None)[0]
    H = np.array([[2 * b[3], b[5]], [b[5], 2 * b[4]]])
    if np.linalg.eigvalsh(H).min() <= 0:
        return np.nan, np.nan
    m = np.linalg.solve(H, -b[1:3])
    return float(np.exp(m[0])), float(np.exp(m[1]))


def _best_run_in_training_cells(fit, df, args):
    """best_run's 90% intervals at the fitted cells (in-sample: a replicate of each cell's
    grid) against each cell's measured best run. -> sweep_steplaw_best_run_train.csv"""
    rows = []
    for (n, d), cell in df[~df["diverged"]].groupby(["N", "D"]):
        best = cell.loc[cell["loss"].idxmin()]
        where = best_run(fit, n, d, cell["lr"], cell["batch_size"], ci=0.9, seed=0)
        (lr_lo, _, lr_hi), (b_lo, _, b_hi) = where["lr"], where["batch_size"]
        rows.append(
            {
                "N": n,
                "D": d,
                "best_lr": best["lr"],
                "best_batch": best["batch_size"],
                "best_run_lr_lower": lr_lo,
                "best_run_lr_upper": lr_hi,
                "best_run_batch_lower": b_lo,
                "best_run_batch_upper": b_hi,
                "lr_inside": bool(lr_lo <= best["lr"] <= lr_hi),
                "batch_inside": bool(b_lo <= best["batch_size"] <= b_hi),
                "setting": f"{args.chains}x{args.warmup}+{args.draws} seed {args.seed}",
            }
        )
    frame = pd.DataFrame(rows)
    frame.to_csv(OUT / "sweep_steplaw_best_run_train.csv", index=False)
    print(
        f"best_run at the {len(frame)} training cells (in-sample): lr inside "
        f"{int(frame['lr_inside'].sum())}/{len(frame)}, batch inside "
        f"{int(frame['batch_inside'].sum())}/{len(frame)}"
    )


def part_steplaw_batch_n(args):
    """Is B_opt's N term (the default fit's -0.20) what misses the 1.07e9 cells? The default
    law against Step Law's own form (B_opt on D only: prior batch_N ~ Normal(0, 0.01)), first
    on an inner backtest inside the training data (train N < 5e8, predict the 3 cells at
    N = 5.37e8: the choice such data can make), then on the 1.07e9 cells (train N < 1e9;
    Step Law's form was fitted by its authors on all 17 cells, these included).
    -> sweep_steplaw_batch_n.csv"""
    import numpyro.distributions as dist

    from bayeslaws.runs.bundled import steplaw_dense

    runs = steplaw_dense()
    forms = {"default": None, "B_opt on D only": {"batch_N": dist.Normal(0.0, 0.01)}}
    rows = []
    for split, cut_train, cut_test in (("inner", 5e8, 1e9), ("backtest", 1e9, np.inf)):
        train = runs.exclude(runs.df["N"] > cut_train, f"held out: N > {cut_train:g}")
        keep = (runs.df["N"] > cut_train) & (runs.df["N"] < cut_test) & ~runs.df["diverged"]
        for form, priors in forms.items():
            fit, wall = _fit(train, args, priors=priors)
            diag = _diag(fit, wall)
            batch_n = float(np.median(fit.posterior().draws["batch_N"]))
            for (n, d), cell in runs.df[keep].groupby(["N", "D"]):
                best = cell.loc[cell["loss"].idxmin()]
                p = bl.predict(fit, N=n, D=d, kind="new_run", seed=0).iloc[0]
                dist2 = (np.log(cell["lr"]) - np.log(p["eta_opt_median"])) ** 2 + (
                    np.log(cell["batch_size"]) - np.log(p["B_opt_median"])
                ) ** 2
                run = cell.loc[dist2.idxmin()]
                penalty = bl.loss_penalty(
                    fit, N=[n] * len(cell), D=[d] * len(cell), lr=cell["lr"],
                    batch_size=cell["batch_size"], kind="new_run", seed=0,
                )
                run_bayes = cell.iloc[int(np.argmin(penalty["rel_penalty_mean"].to_numpy()))]
                local_lr, local_b = _local_optimum(cell)
                rows.append(
                    {
                        "split": split,
                        "form": form,
                        "batch_N_median": batch_n,
                        "N": n,
                        "D": d,
                        "B_opt": p["B_opt_median"],
                        "B_opt_new_lower": p["B_opt_lower"],
                        "B_opt_new_upper": p["B_opt_upper"],
                        "local_quad_batch": local_b,
                        "eta_opt": p["eta_opt_median"],
                        "local_quad_lr": local_lr,
                        "best_batch": best["batch_size"],
                        "best_lr": best["lr"],
                        "regret_pct": 100 * (run["loss"] / best["loss"] - 1),
                        "bayes_regret_pct": 100 * (run_bayes["loss"] / best["loss"] - 1),
                        **diag,
                        "setting": f"{args.chains}x{args.warmup}+{args.draws} seed {args.seed}",
                    }
                )
            print(pd.DataFrame(rows[-3 if split == "inner" else -2 :]).T.to_string(), flush=True)
    print(f"-> {_append(rows, 'sweep_steplaw_batch_n.csv')}")


def _boot_key(quantity, parameter):
    column = "lr" if quantity == "eta_opt" else "batch_size"
    return (column, {"exp_N": "N", "exp_T": "D"}.get(parameter, parameter))


def part_bundled(args):
    runs = bl.load_bundled()
    fit, wall = _fit(runs, args)
    a = bl.optimal_allocation(fit, C=[BUDGET], extrapolation="none").iloc[0]
    row = {
        "data": "bundled simulated video-DiT sweep (576 runs)",
        "N_opt_1e22": a["N_opt"],
        "N_opt_lower": a["N_opt_lower"],
        "N_opt_upper": a["N_opt_upper"],
        "notes": " | ".join(fit.record.notes),
        **_diag(fit, wall),
        "setting": f"{args.chains}x{args.warmup}+{args.draws} seed {args.seed}",
    }
    print(row)
    print(f"-> {_append([row], 'sweep_bundled.csv')}")


PARTS = {
    "yin": part_yin,
    "steplaw": part_steplaw,
    "steplaw_batch_n": part_steplaw_batch_n,
    "bundled": part_bundled,
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", default="yin")
    ap.add_argument("--replicates", type=int, default=20)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--draws", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--summary", action="store_true", help="only summarise sweep_yin.csv")
    ap.add_argument(
        "--tag", default="", help="suffix of the yin part's files: sweep_yin<tag>.csv, ..."
    )
    args = ap.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    if args.summary:
        summarise_yin(args.tag)
        return
    for part in args.parts.split(","):
        PARTS[part](args)


if __name__ == "__main__":
    main()
