"""Chinchilla on Epoch AI's digitised points (REAL data, ../shared/data/epoch_chinchilla).

1. Full fit (Huber likelihood on log loss, 240 points after dropping the 5 highest losses, as
   Epoch did): posterior medians and 95% intervals of E, A, B, alpha, beta and
   a = beta / (alpha + beta), beside Epoch's estimates and 4000-bootstrap 95% intervals
   (Besiroglu et al. 2024, arXiv:2404.10102); for a the paper gives 0.513 with SE 0.020 only,
   and the interval beside it is derived here (+-1.96 SE), as its row says; with the fit's
   sampler diagnostics (columns max_r_hat, divergences).
2. Extrapolation: fit on runs with C <= 1e21 FLOPs, predict the larger ones (new-run
   intervals), report median absolute relative error and the share inside 50% / 90% intervals,
   and the fit's sampler diagnostics (columns max_r_hat, divergences: the one fit behind every
   row).
3. Recovery (SIMULATED data on the same (N, D) design): simulate from known parameters with
   several seeds, fit, and count how often the 90% intervals contain the truth; with the
   replications' sampler diagnostics (max_r_hat: the largest over the fits, divergences: their
   sum, fits_above_r_hat_1.01: how many fits exceed R-hat 1.01).

Every row of the three tables also records the NUTS settings of the fits behind it (columns
chains, warmup, draws: per chain), which make_readme.py quotes.

Writes epoch_fit.csv, epoch_extrapolation.csv and epoch_recovery.csv into ``--out`` (default
paper_repro/results: a run replaces the committed tables; give a scratch folder to try settings,
e.g. ``--out /tmp/paper_repro_quick``) and prints the tables.

    python paper_repro/epoch.py [--draws 1000] [--recovery-seeds 20] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

import bayeslaws as bl
from bayeslaws.runs import bundled, published, simulate

RESULTS = Path(__file__).resolve().parent / "results"
_A, _A_SE = published.EPOCH_A_OPT
EPOCH = {  # estimate, 95% bootstrap interval (PAPERS.md section 3)
    **published.EPOCH_CHINCHILLA,
    # the paper gives a_opt with its SE only: this interval is ours (normal, +-1.96 SE)
    "a_opt": (_A, _A - 1.96 * _A_SE, _A + 1.96 * _A_SE),
}
PARAMS = list(EPOCH)
QUANTITY = {  # the row's words, where the paper interval is not the paper's own
    "a_opt": f"Epoch Chinchilla a_opt (paper gives SE {_A_SE:.3f}; interval = +-1.96 SE)",
}


def full_fit(runs, sampler: dict):
    """The full fit: law chinchilla, Huber likelihood on log loss, seed 0, ``sampler`` (chains,
    warmup, draws) -- the fit behind :func:`full_fit_table`, for other answers from it (e.g.
    N_opt at a budget) without a second fit."""
    return bl.fit(runs, law="chinchilla", likelihood="huber", seed=0, **sampler)


def full_fit_table(fit) -> pd.DataFrame:
    """Epoch's refit beside ours (:func:`full_fit`): one row per parameter of ``EPOCH``, our
    posterior median and central 95% interval, Epoch's estimate and 95% interval, and whether
    our median lies inside Epoch's interval, with the fit's diagnostics and NUTS settings
    (:func:`fit_diagnostics`, :func:`sampler_columns`; what results/epoch_fit.csv holds)."""
    summary = fit.summary(ci=0.95)
    rows = []
    for name, (est, lo, hi) in EPOCH.items():
        row = summary.loc[name]
        rows.append(
            {
                "quantity": QUANTITY.get(name, f"Epoch Chinchilla {name}"),
                "paper_value": est,
                "paper_lower": lo,
                "paper_upper": hi,
                "median": row["50%"],
                "lower": row["2.5%"],
                "upper": row["97.5%"],
                "ci": 0.95,
                "data": "real",
                "inside_paper_interval": lo <= row["50%"] <= hi,
                **fit_diagnostics([fit]),
                **sampler_columns([fit]),
            }
        )
    return pd.DataFrame(rows)


R_HAT_OK = 1.01


def fit_diagnostics(fits) -> dict:
    """The sampler diagnostics of ``fits`` (one or more fits) as table columns: max_r_hat (the
    largest R-hat over the fits' parameters), divergences (summed over the fits) and, for more
    than one fit, fits_above_r_hat_1.01 (how many fits exceed R-hat :data:`R_HAT_OK`)."""
    r_hat = [float(f.diagnostics.max_r_hat) for f in fits]
    out = {
        "max_r_hat": max(r_hat),
        "divergences": int(sum(int(f.diagnostics.divergences) for f in fits)),
    }
    if len(fits) > 1:
        out[f"fits_above_r_hat_{R_HAT_OK}"] = int(sum(r > R_HAT_OK for r in r_hat))
    return out


def sampler_columns(fits) -> dict:
    """The NUTS settings the ``fits`` share, as table columns: chains, warmup and draws (per
    chain), read from each fit's record; ValueError when the fits were sampled differently (one
    row cannot then say how)."""
    samplers = [f.record.sampler for f in fits]
    settings = {(s.chains, s.warmup, s.draws) for s in samplers}
    if len(settings) != 1:
        raise ValueError(f"fits: expected one sampler setting, got {sorted(settings)}")
    ((chains, warmup, draws),) = settings
    return {"chains": chains, "warmup": warmup, "draws": draws}


def extrapolation_table(runs, sampler: dict, max_flops: float = 1e21) -> pd.DataFrame:
    train = runs.subset(runs.df["C"] <= max_flops, f"fit on C <= {max_flops:g} FLOPs")
    test = runs.df[runs.df["C"] > max_flops]
    fit = bl.fit(train, law="chinchilla", likelihood="huber", seed=0, **sampler)
    rows = []
    # the default (GP discrepancy), two alternatives, and none
    for method in ("gp", "stacking_discrepancy", "discrepancy", "none"):
        for ci in (0.5, 0.9):
            pred = bl.predict(
                fit, N=test["N"], D=test["D"], ci=ci, kind="new_run", extrapolation=method
            )
            actual = test["loss"].to_numpy()
            outside = {  # held-out runs beyond the fitted range (1e-3 decades: float noise)
                f"held_out_outside_{axis}": int((pred[f"{axis}_outside_decades"] > 1e-3).sum())
                for axis in ("N", "D")
            }
            inside = (pred["lower"].to_numpy() <= actual) & (actual <= pred["upper"].to_numpy())
            rows.append(
                {
                    "extrapolation": method,
                    "held_out_runs": len(test),
                    **outside,
                    "ci": ci,
                    "coverage": inside.mean(),
                    "median_abs_rel_error": np.median(np.abs(pred["median"] / actual - 1)),
                    "mean_rel_width": np.mean((pred["upper"] - pred["lower"]) / pred["median"]),
                    **fit_diagnostics([fit]),
                    **sampler_columns([fit]),
                    "data": "real",
                }
            )
    return pd.DataFrame(rows)


def recovery_table(runs, sampler: dict, seeds: int) -> pd.DataFrame:
    truth = {"E": 1.82, "A": 500.0, "B": 2500.0, "alpha": 0.35, "beta": 0.37}
    truth["a_opt"] = truth["beta"] / (truth["alpha"] + truth["beta"])
    hits = {name: [] for name in PARAMS}
    fits = []
    for seed in range(seeds):
        df = simulate.simulate_chinchilla_runs(
            {**truth, "N": runs.df["N"], "D": runs.df["D"]}, noise_sd=0.01, seed=seed
        )
        fit = bl.fit(bl.load_runs(df), likelihood="gaussian", seed=seed, warn=False, **sampler)
        fits.append(fit)
        summary = fit.summary(ci=0.9)
        for name in PARAMS:
            hits[name].append(summary.loc[name, "5%"] <= truth[name] <= summary.loc[name, "95%"])
    rows = []
    for name in PARAMS:
        rate = float(np.mean(hits[name]))
        rows.append(
            {
                "parameter": name,
                "truth": truth[name],
                "replications": seeds,
                "coverage_90": rate,
                "binomial_se": np.sqrt(0.9 * 0.1 / seeds),
                **fit_diagnostics(fits),
                **sampler_columns(fits),
                "data": "simulated",
            }
        )
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--draws", type=int, default=1000, help="draws (and warm-up) per chain")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--recovery-seeds", type=int, default=20)
    parser.add_argument("--recovery-draws", type=int, default=500)
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS,
        metavar="DIR",
        help="folder the epoch_*.csv tables are written to (default %(default)s, where a run "
        "replaces the committed tables; use a scratch folder to try settings)",
    )
    args = parser.parse_args(argv)
    sampler = {"chains": args.chains, "warmup": args.draws, "draws": args.draws}
    args.out.mkdir(parents=True, exist_ok=True)
    runs = bundled.epoch_chinchilla()
    pd.set_option("display.width", 160)

    fit = full_fit(runs, sampler)
    print(fit)
    table = full_fit_table(fit)
    table.to_csv(args.out / "epoch_fit.csv", index=False)
    print("\n== Epoch Chinchilla points (real), Huber likelihood: ours vs Epoch's refit ==")
    print(table.round(4).to_string(index=False))

    extrap = extrapolation_table(runs, sampler)
    extrap.to_csv(args.out / "epoch_extrapolation.csv", index=False)
    print("\n== Extrapolation: fit C <= 1e21, predict the larger runs (real) ==")
    print(extrap.round(4).to_string(index=False))

    rec_sampler = {"chains": 2, "warmup": args.recovery_draws, "draws": args.recovery_draws}
    recovery = recovery_table(runs, rec_sampler, args.recovery_seeds)
    recovery.to_csv(args.out / "epoch_recovery.csv", index=False)
    print("\n== Recovery on the Epoch design (simulated), 90% interval coverage ==")
    print(recovery.round(4).to_string(index=False))


if __name__ == "__main__":
    main()
