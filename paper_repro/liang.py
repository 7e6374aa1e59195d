"""Liang et al. (arXiv 2410.08184), "Scaling Laws For Diffusion Transformers": the six-budget
isoFLOP design, simulated from the published laws, fitted with bayeslaws' isoFLOP law.

No per-run data were released, so the runs are SIMULATED: bayeslaws.runs.simulate.LiangTruth (the
published N_opt = 8.94e-4 C^0.5681 -- the unrounded coefficient behind 958.3M at 1.5e21 --,
D_opt = C / (6 N_opt), L_opt = 2.3943 C^-0.0273; log loss a parabola in ln N with curvature
k = 0.025) with multiplicative noise sd 0.002 (an assumption), budgets 1e17 ... 6e18 FLOPs, nine
sizes per budget spanning +-1 decade around the optimum.

Run:  python paper_repro/liang.py [--seed 0] [--draws 500] [--out DIR]
Writes liang.csv into ``--out`` (default paper_repro/results: the committed table is replaced;
give a scratch folder to try settings, e.g. ``--out /tmp/paper_repro_quick``) and prints the
table. :func:`liang_fit` makes the one fit and :func:`liang_table` the table (the notebook
notebooks/paper_repro.ipynb calls both). Every row carries the sampler diagnostics of that fit
(columns ``max_r_hat`` and ``divergences``) and its NUTS settings (``chains``, ``warmup``,
``draws``), which make_readme.py appends to the row's note in
paper_repro/README.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

import bayeslaws as bl
from bayeslaws.posterior.allocation import allocation_laws, optimal_allocation
from bayeslaws.runs import published, simulate

RESULTS = Path(__file__).resolve().parent / "results"
C_CHECK, N_CHECK = published.LIANG_NOPT_CHECK  # 958.3M params at 1.5e21 FLOPs
# the published L_opt law's value at the check budget, as the paper's reference quotes it
L_CHECK = round(published.LIANG_LOPT_COEF * C_CHECK**published.LIANG_LOPT_EXP, 4)  # 0.6325
NOISE_SD = 0.002  # relative sd of the simulated losses (an assumption: the paper gives none)


def diagnostics_columns(diagnostics) -> dict:
    """The fit's sampler diagnostics as liang.csv columns: ``max_r_hat`` (the largest R-hat
    over the fitted parameters; NaN with one chain) and ``divergences`` (a count), from a
    :class:`bayeslaws.inference.diagnostics.Diagnostics`."""
    return {
        "max_r_hat": float(diagnostics.max_r_hat),
        "divergences": int(diagnostics.divergences),
    }


def liang_fit(draws: int = 500, seed: int = 0, noise_sd: float = NOISE_SD, law: str = "isoflop"):
    """The fit behind liang.csv: law ``law`` ("isoflop" or "isoflop_cubic"), Gaussian
    likelihood, 2 chains x ``draws`` draws after as many warm-up iterations, diagonal mass
    matrix, on simulate_liang_isoflop(seed=``seed``, noise_sd=``noise_sd``) (54 SIMULATED
    runs; ``noise_sd``: relative sd of the loss)."""
    runs = simulate.simulate_liang_isoflop(seed=seed, noise_sd=noise_sd)
    return bl.fit(
        runs,
        law=law,
        likelihood="gaussian",
        seed=seed,
        chains=2,
        warmup=draws,
        draws=draws,
        dense_mass=False,
    )


def liang_table(fit, seed: int = 0, noise_sd: float = NOISE_SD) -> pd.DataFrame:
    """liang.csv from ``fit`` (:func:`liang_fit`'s, whose ``seed`` and ``noise_sd`` the rows'
    ``data`` cell names): one row per quantity (the N_opt, D_opt and L_opt exponents and
    coefficients, N_opt and L_opt at 1.5e21 FLOPs; 90% intervals) beside the paper's value
    and the simulator's truth (LiangTruth), whether the interval covers it, the fit's
    diagnostics (:func:`diagnostics_columns`) and its NUTS settings (chains, warmup, draws per
    chain, from the fit's record; make_readme.py quotes them)."""
    truth = simulate.LiangTruth()
    laws = allocation_laws(fit, ci=0.9)
    alloc = optimal_allocation(fit, C=C_CHECK, ci=0.9)
    data = f"simulated (LiangTruth, 6 budgets x 9 sizes, noise sd {noise_sd:g}, seed {seed})"
    rows = []

    def row(quantity, paper, med, lo, hi, note=""):
        rows.append(
            {
                "paper": "Liang et al. 2024",
                "quantity": quantity,
                "paper_value": paper,
                "median": med,
                "lower": lo,
                "upper": hi,
                "truth": None,
                "data": data,
                "note": note,
            }
        )

    for name, paper_k, paper_a in (
        ("N_opt", str(published.LIANG_NOPT_COEF_PRINTED), published.LIANG_NOPT_EXP),
        ("D_opt", str(published.LIANG_DOPT[0]), published.LIANG_DOPT[1]),
        ("L_opt", str(published.LIANG_LOPT_COEF), published.LIANG_LOPT_EXP),
    ):
        r = laws.loc[name]
        row(f"{name} exponent", paper_a, r["exponent"], r["exponent_lower"], r["exponent_upper"])
        row(
            f"{name} coefficient",
            paper_k,
            r["coef"],
            r["coef_lower"],
            r["coef_upper"],
            "coefficient = value at C = 1 FLOP: far outside the data, so wide",
        )
    a = alloc.iloc[0]
    row(
        "N_opt at 1.5e21 FLOPs (params)",
        N_CHECK,
        a["N_opt"],
        a["N_opt_lower"],
        a["N_opt_upper"],
        "extrapolation 2.4 decades beyond the largest budget",
    )
    row(
        "L_opt at 1.5e21 FLOPs",
        L_CHECK,
        a["L_opt"],
        a["L_opt_lower"],
        a["L_opt_upper"],
        "published law's value; measured loss not public",
    )
    out = pd.DataFrame(rows)
    truths = {
        "N_opt exponent": truth.n_exp,
        "D_opt exponent": 1 - truth.n_exp,
        "L_opt exponent": truth.l_exp,
        "N_opt coefficient": truth.n_coef,
        "D_opt coefficient": 1 / (6 * truth.n_coef),
        "L_opt coefficient": truth.l_coef,
        "N_opt at 1.5e21 FLOPs (params)": float(truth.n_opt(C_CHECK)),
        "L_opt at 1.5e21 FLOPs": float(truth.l_opt(C_CHECK)),
    }
    out["truth"] = out["quantity"].map(truths)
    out["covered"] = (out["lower"] <= out["truth"]) & (out["truth"] <= out["upper"])
    sampler = fit.record.sampler
    settings = {"chains": sampler.chains, "warmup": sampler.warmup, "draws": sampler.draws}
    for column, value in {**diagnostics_columns(fit.diagnostics), **settings}.items():
        out[column] = value  # one fit behind every row
    return out


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seed", type=int, default=0, help="simulation and sampler seed (default %(default)s)"
    )
    parser.add_argument(
        "--draws",
        type=int,
        default=500,
        help="draws per chain (2 chains), and as many warm-up iterations (default %(default)s)",
    )
    parser.add_argument(
        "--noise-sd",
        type=float,
        default=NOISE_SD,
        help="relative sd of the simulated losses (default %(default)s)",
    )
    parser.add_argument(
        "--law",
        default="isoflop",
        choices=["isoflop", "isoflop_cubic"],
        help="the fitted law (default %(default)s)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS,
        metavar="DIR",
        help="folder liang.csv is written to (default %(default)s, where a run replaces the "
        "committed table; use a scratch folder to try settings)",
    )
    args = parser.parse_args(argv)

    fit = liang_fit(args.draws, args.seed, args.noise_sd, args.law)
    print(fit)
    out = liang_table(fit, args.seed, args.noise_sd)
    args.out.mkdir(parents=True, exist_ok=True)
    out.to_csv(args.out / "liang.csv", index=False)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(out[["quantity", "paper_value", "median", "lower", "upper", "truth", "covered"]])
    d = fit.diagnostics
    print(f"fit: {d.n_draws} draws, max R-hat {d.r_hat_text}, {d.divergences} divergences")
    print(f"a_opt posterior sd {np.std(fit.draws(['a_opt'])['a_opt']):.4f}")
    print(f"-> {args.out / 'liang.csv'}")
    return out


if __name__ == "__main__":
    main()
