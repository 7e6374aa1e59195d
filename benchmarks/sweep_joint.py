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
* ``yin_optima``: the optima's power laws on the same SIMULATED replicates as ``yin`` (seeds
  1000 + r, same settings). The sweep law's sites against the simulator's exponents
  (VideoDiTTruth; its N, T are in units of hp_unit, a factor in the coefficient only, and the
  model's x, y are natural-log offsets of N params and D tokens, its batch in tokens, so the
  exponents compare directly): lr_N <-> eta_exp_N (-0.162), lr_D <-> eta_exp_T (-0.045),
  batch_N <-> b_exp_N (0.19), batch_D <-> b_exp_T (0.81). Per replicate and exponent: posterior
  median, 5% and 95% quantiles, sd, truth, covered; eta_opt and B_opt of the law (one
  ``fit.law.optimum_draws`` kind "mean", summarised as ``bl.predict`` kind "mean", extrapolation
  "none" does: :func:`optima_at`) at the paper's big model, N = 1.07e9 params and D = 1e10
  tokens, against the truth there (median, 90% interval, sd of the ln draws, covered); the
  posterior medians of the bowl's valley, k_lr_N, k_lr_D, lr_asym, tau, lr_scatter,
  batch_scatter and lr_D's posterior correlation with valley, k_lr_D, lr_asym and tau;
  diagnostics as ``yin``. -> sweep_yin_optima<tag>.csv; summary (per exponent the median of
  median - truth, mean z = (median - truth) / posterior sd, 90% coverage k/n; for eta_opt and
  B_opt the median of median / truth - 1, mean z in ln units, coverage) ->
  sweep_yin_optima<tag>_summary.txt (also ``--summary-optima``). Seeds 1000-1019 (no tag) are
  those the law's defaults were chosen on (sigma's prior, shape_scatter: above); seeds
  3000-3019 (``--start 2000 --tag _seeds3000``) are new ones, scored once.
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
  (ln lr, ln batch) fitted to the cell's runs within 1% of its best. Column ``optima_drift``:
  the law's sd per decade of the optima laws' discrepancy beyond the fitted range (rows
  without it predate the term); the rows with [1.094, 0.6295] are the 1.07e9 cells scored
  ONCE with the constant frozen by ``steplaw_drift_select`` (the term widens the new_run
  intervals, ``best_run_*`` and moves the least-expected-loss decision; the nearest-run
  regret reads the law's median and does not change).
  -> sweep_steplaw.csv
* ``steplaw_batch_n``: B_opt's N term on trial (:func:`part_steplaw_batch_n`): the default
  law against Step Law's D-only B_opt form, on an inner backtest within the training cells
  (N < 5e8 -> the 5.37e8 cells) and on the 1.07e9 cells. -> sweep_steplaw_batch_n.csv
* ``steplaw_drift_select``: the choice of the sweep law's ``OPTIMA_DRIFT`` (the optima laws'
  discrepancy beyond the fitted cells' range, sd per decade of a random slope per axis, one
  for ln eta_opt and one for ln B_opt), on SELECTION splits inside Step Law's training cells
  only (N < 1e9; the 1.07e9 backtest cells are not read), each a default fit with the term
  off (``optima_drift=(0, 0)``):

  1. train N <= 2.68e8 (8 cells) -> the 7 cells at N = 4.29e8 and 5.37e8 (0.20, 0.30 decades);
  2. train N <= 4.29e8 (12 cells) -> the 3 cells at N = 5.37e8 (0.10 decades);
  3. train D <= 5e10 (13 cells) -> the 2 cells at D = 8e10 and 1e11 (0.20, 0.30 decades in D).

  THE RULE (written before any 1.07e9 cell was scored with the term). Two targets per
  held-out cell and optimum: its model-free optimum (``_local_optimum``: a full quadratic in
  (ln lr, ln batch) through the runs within 1% of the cell's best; dropped where not a
  minimum) and its best run. Neither is the model's optimum itself even where the law is
  right: so per split and target, the offset m_t and scatter s_t of (ln target - the fitted
  cell's posterior-mean optimum) over the split's own TRAINING cells (distance 0, in sample)
  are measured first. A split's held-out residuals r = ln target - mean of the ``new_run``
  draws without the term - m_t are MultivariateNormal(0, Sigma0 + s_t^2 I + tau^2 sum_k
  d_k d_k^T): Sigma0 the covariance over draws of those ``new_run`` draws (the laws'
  posterior and the cell scatter, correlated across the split's cells), d_k the cells'
  decades outside the training range on axis k (slopes shared within the split). tau per
  optimum = the argmax over ``DRIFT_GRID`` (0 and 0.005-5 per decade, log-spaced) of the log
  marginal likelihood summed over the three splits and the two targets; shipped as
  ``OPTIMA_DRIFT`` in bayeslaws/laws/sweep.py. Reported beside it: each target's own argmax
  and how many held-out targets lie inside the ``new_run`` 90% interval at tau = 0 and at the
  chosen tau.
  (An earlier draft of this rule used the model-free optimum only, without m_t and s_t; a
  smoke run of it (1 chain x 60 + 60 draws, not kept) put every held-out cell's model-free lr
  optimum 0.25-0.63 ln below the prediction, the 0.1-decade step included, and chose 2.1 per
  decade for lr: an offset between two definitions of the optimum rather than an error that
  grows with distance, which m_t now measures in sample. No 1.07e9 cell was read.)
  -> sweep_steplaw_drift_select.csv (per cell: held out, and the training cells in sample),
  sweep_steplaw_drift_select_loglik.csv (log marginal likelihood per tau),
  sweep_steplaw_drift_select_summary.txt
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
    OPENBLAS_NUM_THREADS=1 nice python benchmarks/sweep_joint.py --parts yin_optima --replicates 20
    OPENBLAS_NUM_THREADS=1 nice python benchmarks/sweep_joint.py --parts steplaw,bundled \
        --chains 4 --warmup 1000 --draws 1000
    OPENBLAS_NUM_THREADS=1 nice python benchmarks/sweep_joint.py --parts steplaw_batch_n
    OPENBLAS_NUM_THREADS=1 nice python benchmarks/sweep_joint.py --parts steplaw_drift_select \
        --chains 4 --warmup 1000 --draws 1000
Options: --chains 2 --warmup 300 --draws 300 (modest: a shared 2-core machine), --start r0.
Every row records the load average (os.getloadavg) at its end: timings are under that load.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import bayeslaws as bl
from bayeslaws.app.plan import truth_size_change
from bayeslaws.laws.contract import summarise
from bayeslaws.laws.sweep import best_run
from bayeslaws.runs import published as pub
from bayeslaws.runs import simulate as sim

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header  # noqa: E402  (benchmarks/bench_provenance.py)

OUT = Path(__file__).resolve().parent / "output"
BUDGET = 1e22  # FLOPs


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def provenance(argv=None) -> str:
    """The first line of a summary this script writes (:func:`bench_provenance.header`):
    ``argv`` the arguments :func:`main` was given (None: this process's own)."""
    return header("benchmarks/sweep_joint.py", argv)


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


def nearest_run(cell: pd.DataFrame, lr: float, batch_size: float) -> pd.Series:
    """The grid run of ``cell`` nearest (lr, batch_size) in (ln lr, ln batch) distance."""
    dist2 = (np.log(cell["lr"]) - np.log(lr)) ** 2 + (
        np.log(cell["batch_size"]) - np.log(batch_size)
    ) ** 2
    return cell.loc[dist2.idxmin()]


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
    """The simulator's own answer (bayeslaws.app.plan.truth_size_change): the same refit on
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
    summarise_yin(args.tag, args.argv)


def summarise_yin(tag: str = "", argv=None):
    """sweep_yin<tag>.csv's replicates in one line -> sweep_yin<tag>_summary.txt, under the
    provenance line (``argv``: :func:`provenance`)."""
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
    (OUT / f"sweep_yin{tag}_summary.txt").write_text(f"{provenance(argv)}\n{line}\n")


OPTIMA_EXPONENTS = {  # the sweep law's site -> the simulator's exponent (VideoDiTTruth field)
    "lr_N": "eta_exp_N",
    "lr_D": "eta_exp_T",
    "batch_N": "b_exp_N",
    "batch_D": "b_exp_T",
}
YIN_TARGET = (1.07e9, 1e10)  # (N params, D tokens): the paper's big model at 10B tokens
# further sites recorded (posterior median) beside the exponents, to read what moves with them
OPTIMA_SIDE_SITES = ("valley", "k_lr_N", "k_lr_D", "lr_asym", "tau", "lr_scatter",
                     "batch_scatter")


def part_yin_optima(args):
    """The optima's power laws on the simulated Yin design (module docstring, part
    ``yin_optima``) -> sweep_yin_optima<tag>.csv, sweep_yin_optima<tag>_summary.txt."""
    truth = sim.VideoDiTTruth()
    n_t, d_t = YIN_TARGET
    truth_at = {"eta_opt": float(truth.eta_opt(n_t, d_t)), "B_opt": float(truth.b_opt(n_t, d_t))}
    for r in range(args.start, args.start + args.replicates):
        runs = bl.load_runs(sim.simulate_video_dit_sweep(seed=1000 + r))
        fit, wall = _fit(runs, args)
        draws = fit.posterior().draws
        row = {"replicate": r,
               "data": f"simulated (simulate_video_dit_sweep seed={1000 + r})"}
        for site, field in OPTIMA_EXPONENTS.items():
            x = np.asarray(draws[site], float).ravel()
            row.update(interval_row(site, x, {"sd": x.std()}, float(getattr(truth, field))))
        row.update(optima_at(fit, n_t, d_t, truth_at))
        x_d = np.asarray(draws["lr_D"], float).ravel()
        for site in OPTIMA_SIDE_SITES:
            v = np.asarray(draws[site], float).ravel()
            row[f"{site}_median"] = float(np.median(v))
            if site in ("valley", "k_lr_D", "lr_asym", "tau") and v.std() > 0:
                row[f"corr_lr_D_{site}"] = float(np.corrcoef(x_d, v)[0, 1])
        row.update({
            "target": f"N={n_t:g} D={d_t:g} (kind mean)",
            **_diag(fit, wall),
            "setting": f"{args.chains}x{args.warmup}+{args.draws} seed {args.seed}",
            "law_options": str(fit.record.law_options),
        })
        path = _append([row], f"sweep_yin_optima{args.tag}.csv")
        print(
            f"replicate {r}: "
            + ", ".join(f"{s} {row[f'{s}_median']:+.3f} [{row[f'{s}_lower']:+.3f}, "
                        f"{row[f'{s}_upper']:+.3f}] (truth {row[f'{s}_truth']:+.3f})"
                        for s in OPTIMA_EXPONENTS)
            + f"; eta_opt {row['eta_opt_median']:.3g} (truth {truth_at['eta_opt']:.3g}), "
            f"B_opt {row['B_opt_median']:.3g} (truth {truth_at['B_opt']:.3g}); R-hat "
            f"{row['max_r_hat']:.3f}, {row['divergences']} div, {wall:.0f} s "
            f"(load {row['load_1min']}) -> {path.name}",
            flush=True,
        )
    summarise_yin_optima(args.tag, args.argv)


def optima_at(fit, n: float, d: float, truth: dict, ci: float = 0.9) -> dict:
    """eta_opt and B_opt of the law (kind "mean") at (``n`` params, ``d`` tokens) from one
    call of ``fit.law.optimum_draws``: per quantity q, ``q_median``, ``q_lower``, ``q_upper``
    (central ``ci`` of the draws, as ``bl.predict(kind="mean", extrapolation="none")``
    summarises them; lr units, tokens), ``q_sd_ln`` (sd of the ln draws), ``q_truth`` (from
    ``truth``: q -> value) and ``q_covered``."""
    ln_draws = fit.law.optimum_draws(
        fit.posterior(), np.array([n]), np.array([d]), kind="mean", rng=None
    )
    row = {}
    for q, ln in zip(("eta_opt", "B_opt"), ln_draws, strict=True):
        ln = np.asarray(ln, float)[:, 0]
        row.update(interval_row(q, np.exp(ln), {"sd_ln": float(np.std(ln))}, truth[q], ci))
    return row


def interval_row(name: str, draws: np.ndarray, spread: dict, truth: float, ci: float = 0.9) -> dict:
    """One quantity's columns of a sweep_yin_optima row, from its (S,) posterior ``draws``:
    ``name_median``, ``name_lower``, ``name_upper`` (the central ``ci`` interval, as
    :func:`~bayeslaws.laws.contract.summarise` gives it), ``name_<key>`` per item of
    ``spread`` (e.g. {"sd": ...}), ``name_truth`` (``truth``) and ``name_covered`` (truth in
    the interval); values in the draws' units."""
    med, lo, hi = (float(v) for v in summarise(np.asarray(draws, float), ci))
    return {f"{name}_median": med, f"{name}_lower": lo, f"{name}_upper": hi,
            **{f"{name}_{key}": value for key, value in spread.items()},
            f"{name}_truth": truth, f"{name}_covered": bool(lo <= truth <= hi)}


def summarise_yin_optima(tag: str = "", argv=None):
    """sweep_yin_optima<tag>.csv's replicates -> sweep_yin_optima<tag>_summary.txt, under the
    provenance line (``argv``: :func:`provenance`)."""
    df = pd.read_csv(OUT / f"sweep_yin_optima{tag}.csv").drop_duplicates("replicate", keep="last")
    n = len(df)
    clean = int(((df["max_r_hat"] <= 1.01) & (df["divergences"] == 0)).sum())
    lines = [f"yin_optima: {n} simulated replicates (seeds 1000 + r, r = "
             f"{int(df['replicate'].min())}..{int(df['replicate'].max())}; "
             f"{df['setting'].iloc[-1]}); clean fits (R-hat <= 1.01, no divergences) "
             f"{clean}/{n}; wall per fit median {df['wall_s'].median():.0f} s"]
    for site in OPTIMA_EXPONENTS:
        err = df[f"{site}_median"] - df[f"{site}_truth"]
        z = err / df[f"{site}_sd"]
        lines.append(
            f"{site} (truth {df[f'{site}_truth'].iloc[0]:+.3f}): median of (median - truth) "
            f"{err.median():+.4f} (mean {err.mean():+.4f}; {int((err < 0).sum())}/{n} below "
            f"truth), mean z {z.mean():+.2f}, posterior sd median {df[f'{site}_sd'].median():.4f}"
            f", 90% coverage {int(df[f'{site}_covered'].sum())}/{n}"
        )
    n_t, d_t = YIN_TARGET
    for q in ("eta_opt", "B_opt"):
        ratio = df[f"{q}_median"] / df[f"{q}_truth"]
        z = np.log(ratio) / df[f"{q}_sd_ln"]
        lines.append(
            f"{q} at N={n_t:g}, D={d_t:g} (kind mean; truth {df[f'{q}_truth'].iloc[0]:.4g}): "
            f"median of (median / truth - 1) {ratio.median() - 1:+.1%}, mean z (ln) "
            f"{z.mean():+.2f}, 90% coverage {int(df[f'{q}_covered'].sum())}/{n}"
        )
    text = "\n".join(lines)
    print(text)
    (OUT / f"sweep_yin_optima{tag}_summary.txt").write_text(f"{provenance(argv)}\n{text}\n")


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
        run = nearest_run(cell, p["eta_opt_median"], p["B_opt_median"])
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
                "optima_drift": str(list(fit.law.optima_drift)),
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
                run = nearest_run(cell, p["eta_opt_median"], p["B_opt_median"])
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


DRIFT_GRID = np.concatenate([[0.0], np.geomspace(0.005, 5.0, 301)])  # sd per decade, ln units
SELECT_SPLITS = (  # (name, training cells, held-out cells) over Step Law's N < 1e9 cells
    ("N<=2.68e8 -> N 4.29e8, 5.37e8", lambda n, d: n < 3e8, lambda n, d: n > 3e8),
    ("N<=4.29e8 -> N 5.37e8", lambda n, d: n < 5e8, lambda n, d: n > 5e8),
    ("D<=5e10 -> D 8e10, 1e11", lambda n, d: d <= 5e10, lambda n, d: d > 5e10),
)


def _split_loglik(r, cov0, dist, grid=DRIFT_GRID) -> np.ndarray:
    """ln MultivariateNormal(r; 0, cov0 + tau^2 dist dist^T) for each tau of ``grid``."""
    from scipy import stats

    dd = dist @ dist.T
    return np.array(
        [stats.multivariate_normal(np.zeros(len(r)), cov0 + t**2 * dd).logpdf(r) for t in grid]
    )


def _targets(cell) -> dict:
    """The two targets of a cell's optimum: model-free (local quadratic) and best run."""
    best = cell.loc[cell["loss"].idxmin()]
    local_lr, local_b = _local_optimum(cell)
    return {("lr", "model_free"): local_lr, ("batch", "model_free"): local_b,
            ("lr", "best_run"): best["lr"], ("batch", "best_run"): best["batch_size"]}


TARGETS = (("lr", "model_free"), ("lr", "best_run"), ("batch", "model_free"),
           ("batch", "best_run"))


def part_steplaw_drift_select(args):
    """The rule for OPTIMA_DRIFT (module docstring): selection splits inside N < 1e9 only."""
    from bayeslaws.laws.sweep import cell_distances
    from bayeslaws.runs.bundled import steplaw_dense

    runs = steplaw_dense()
    inside = runs.df["N"] < 1e9  # the 1.07e9 backtest cells are never read here
    ok_runs = runs.df[inside & ~runs.df["diverged"]]
    rows, ll = [], {}
    for name, train_of, test_of in SELECT_SPLITS:
        n, d = runs.df["N"], runs.df["D"]
        train_mask = inside & train_of(n, d)
        test_mask = inside & test_of(n, d) & ~train_mask
        train = runs.exclude(~train_mask, f"selection split {name}: not a training cell")
        fit, wall = _fit(train, args, law_options={"optima_drift": [0.0, 0.0]})
        diag = _diag(fit, wall)
        setting = f"{args.chains}x{args.warmup}+{args.draws} seed {args.seed}"
        post = fit.posterior()
        # in sample: each target against its training cell's fitted optimum (distance 0)
        fitted = fit.law.sweep_optima(post)
        offsets = {k: [] for k in TARGETS}
        for c, (n_c, d_c) in enumerate(zip(fitted["N"], fitted["D"], strict=True)):
            cell = ok_runs[(ok_runs["N"] == n_c) & (ok_runs["D"] == d_c)]
            target = _targets(cell)
            row = {"split": name, "role": "training (in sample)", "N": n_c, "D": d_c}
            for opt, kind in TARGETS:
                mean = fitted["log_eta" if opt == "lr" else "log_B"][:, c].mean()
                row[f"{opt}_pred_mean_ln"] = mean
                row[f"{opt}_{kind}"] = target[(opt, kind)]
                row[f"{opt}_{kind}_resid_ln"] = np.log(target[(opt, kind)]) - mean
                offsets[(opt, kind)].append(row[f"{opt}_{kind}_resid_ln"])
            rows.append({**row, **diag, "setting": setting})
        m_s = {k: (np.nanmean(v), np.nanstd(v, ddof=1)) for k, v in offsets.items()}
        # held out: the new_run predictive without the term
        test = runs.df[test_mask & ~runs.df["diverged"]]
        cells = test[["N", "D"]].drop_duplicates().sort_values(["N", "D"])
        N, D = cells["N"].to_numpy(float), cells["D"].to_numpy(float)
        rng = np.random.default_rng(args.seed)
        log_eta, log_b = fit.law.optimum_draws(post, N, D, kind="new_run", rng=rng)
        dist = cell_distances(N, D, post.state["cells"])
        held = []
        for j, (n_j, d_j) in enumerate(zip(N, D, strict=True)):
            target = _targets(test[(test["N"] == n_j) & (test["D"] == d_j)])
            row = {"split": name, "role": "held out", "N": n_j, "D": d_j,
                   **{f"d_{a}": dist[j, k] for k, a in enumerate(("N+", "N-", "D+", "D-"))}}
            for opt, kind in TARGETS:
                draws = (log_eta if opt == "lr" else log_b)[:, j]
                lo, hi = np.quantile(draws, [0.05, 0.95])
                row.update({
                    f"{opt}_pred_mean_ln": draws.mean(),
                    f"{opt}_pred_sd_ln": draws.std(),
                    f"{opt}_new_lower": np.exp(lo),
                    f"{opt}_new_upper": np.exp(hi),
                    f"{opt}_{kind}": target[(opt, kind)],
                    f"{opt}_{kind}_resid_ln": np.log(target[(opt, kind)]) - draws.mean(),
                    f"{opt}_{kind}_insample_offset_ln": m_s[(opt, kind)][0],
                    f"{opt}_{kind}_insample_sd_ln": m_s[(opt, kind)][1],
                })
            held.append({**row, **diag, "setting": setting})
        rows += held
        for opt, kind in TARGETS:
            draws = log_eta if opt == "lr" else log_b
            cov0 = np.cov(draws, rowvar=False).reshape(len(N), len(N))
            m, sd = m_s[(opt, kind)]
            r = np.array([x[f"{opt}_{kind}_resid_ln"] for x in held]) - m
            ok = np.isfinite(r)
            cov = cov0[np.ix_(ok, ok)] + sd**2 * np.eye(int(ok.sum()))
            ll[(opt, kind)] = ll.get((opt, kind), 0.0) + _split_loglik(r[ok], cov, dist[ok])
        print(f"{name}: {len(fitted['N'])} training, {len(N)} held-out cells; R-hat "
              f"{diag['max_r_hat']:.3f}, {diag['divergences']} div, {wall:.0f} s", flush=True)
    frame = pd.DataFrame(rows)
    frame.to_csv(OUT / "sweep_steplaw_drift_select.csv", index=False)
    curves = pd.DataFrame({"tau_per_decade": DRIFT_GRID,
                           **{f"loglik_{o}_{t}": v for (o, t), v in ll.items()}})
    curves.to_csv(OUT / "sweep_steplaw_drift_select_loglik.csv", index=False)
    lines = [f"selection splits: {'; '.join(s[0] for s in SELECT_SPLITS)} (Step Law N < 1e9 "
             f"only; {args.chains}x{args.warmup}+{args.draws} seed {args.seed})"]
    held = frame[frame["role"] == "held out"]
    dist2 = (held[["d_N+", "d_N-", "d_D+", "d_D-"]].to_numpy() ** 2).sum(axis=1)
    for o in ("lr", "batch"):
        total = ll[(o, "model_free")] + ll[(o, "best_run")]
        chosen = float(DRIFT_GRID[np.argmax(total)])
        each = {t: float(DRIFT_GRID[np.argmax(ll[(o, t)])]) for t in ("model_free", "best_run")}
        lines.append(
            f"{o}: CHOSEN tau = {chosen:.4g} per decade (max summed log marginal likelihood "
            f"{total.max():.2f}; at tau 0 {total[0]:.2f}); each target's own argmax: model-free "
            f"{each['model_free']:.4g}, best run {each['best_run']:.4g}"
        )
        sd0 = held[f"{o}_pred_sd_ln"].to_numpy()
        for label, tau in (("tau 0", 0.0), ("chosen tau", chosen)):
            half = 1.645 * np.sqrt(sd0**2 + tau**2 * dist2)
            for t in ("model_free", "best_run"):
                res = held[f"{o}_{t}_resid_ln"].to_numpy()
                ok = np.isfinite(res)
                lines.append(
                    f"  {label}: {t} inside the new_run 90% interval (normal approx., no "
                    f"offset) {int((np.abs(res[ok]) <= half[ok]).sum())}/{int(ok.sum())}; "
                    f"half-width median {np.median(half):.3f} ln"
                )
    for o, t in TARGETS:
        ins = frame[frame["role"] != "held out"][f"{o}_{t}_resid_ln"]
        lines.append(f"in-sample offset of {o} {t}: mean {ins.mean():+.3f} sd {ins.std():.3f} ln "
                     f"over {ins.notna().sum()} training cells (all splits)")
    text = "\n".join(lines)
    print(text)
    (OUT / "sweep_steplaw_drift_select_summary.txt").write_text(
        f"{provenance(args.argv)}\n{text}\n"
    )


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
        "optima_drift": str(list(fit.law.optima_drift)),
    }
    print(row)
    print(f"-> {_append([row], 'sweep_bundled.csv')}")


PARTS = {
    "yin": part_yin,
    "yin_optima": part_yin_optima,
    "steplaw": part_steplaw,
    "steplaw_batch_n": part_steplaw_batch_n,
    "steplaw_drift_select": part_steplaw_drift_select,
    "bundled": part_bundled,
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", default="yin")
    ap.add_argument("--replicates", type=int, default=20)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--draws", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--summary", action="store_true", help="only summarise sweep_yin.csv")
    ap.add_argument(
        "--summary-optima", action="store_true", help="only summarise sweep_yin_optima.csv"
    )
    ap.add_argument(
        "--tag", default="", help="suffix of the yin and yin_optima parts' files: "
        "sweep_yin<tag>.csv, sweep_yin_optima<tag>.csv, ..."
    )
    args = ap.parse_args(argv)
    args.argv = argv  # the summaries' first line records the command run
    OUT.mkdir(exist_ok=True)
    if args.summary:
        summarise_yin(args.tag, argv)
        return
    if args.summary_optima:
        summarise_yin_optima(args.tag, argv)
        return
    for part in args.parts.split(","):
        PARTS[part](args)


if __name__ == "__main__":
    main()
