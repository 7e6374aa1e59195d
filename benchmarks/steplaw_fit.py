"""Benchmark: the full Step Law dense fit (law "hyperparams", ~1,900 runs, 17 cells) by NUTS.

Usage::

    python benchmarks/steplaw_fit.py                      # default model, 4 chains x 1000 + 1000
    python benchmarks/steplaw_fit.py --compare            # PSIS-LOO over the bowl shapes
    python benchmarks/steplaw_fit.py --warmup 500 --draws 500

Prints wall time (including compilation), R-hat, ESS (bulk, tail; min over the law's parameters
and over every sampled site), ESS per second and divergences; ``--compare`` prints the LOO table.
Needs ../shared/data/steplaw_lr_bs (see bayeslaws.runs.bundled.steplaw_dense).
"""

from __future__ import annotations

import argparse
import time
import warnings

import arviz as az
import numpy as np

import bayeslaws as bl
from bayeslaws.laws.hyperparams import LAW
from bayeslaws.laws.hyperparams.law import BOWLS
from bayeslaws.runs.bundled import steplaw_dense


def loo_constant_safe(idata):
    """PSIS-LOO, exact for observations whose log-likelihood is the same in every draw.

    A censored run far inside the diverged region has ln P(loss >= threshold) = 0 in every draw;
    ArviZ's Pareto fit then returns NaN for it and the whole elpd becomes NaN. With equal weights
    its leave-one-out predictive density is exactly that constant, which is what we use.
    """
    loglik = idata.log_likelihood["log_loss"].stack(sample=("chain", "draw")).values  # (R, S)
    constant = np.ptp(loglik, axis=1) == 0
    if not constant.any():
        return az.loo(idata, pointwise=True)
    patched = idata.copy()
    values = patched.log_likelihood["log_loss"].values
    rng = np.random.default_rng(0)
    # a jitter at 1e-9 of a nat: the Pareto fit is defined and the elpd unchanged to 1e-6
    values[..., constant] += 1e-9 * rng.standard_normal(values[..., constant].shape)
    patched.log_likelihood["log_loss"].values = values
    return az.loo(patched, pointwise=True)


def run(bowl, args, runs):
    t0, c0 = time.perf_counter(), time.process_time()
    fit = bl.fit(
        runs,
        law="hyperparams",
        likelihood=args.likelihood,
        seed=args.seed,
        chains=args.chains,
        warmup=args.warmup,
        draws=args.draws,
        law_options={
            "bowl": bowl,
            "loss_level": args.loss_level,
            "divergence": args.divergence,
            "divergence_threshold": 4.0,
            "far_above": args.far_above,
        },
        label=bowl,
        warn=False,
    )
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0  # all threads: on an idle 2-core machine wall ~ cpu / 2
    full = az.summary(fit.idata, kind="diagnostics", round_to="none")
    d = fit.diagnostics
    print(
        f"bowl={bowl:10s} loss_level={args.loss_level} divergence={args.divergence} "
        f"likelihood={args.likelihood}: wall {wall:.1f} s (CPU {cpu:.1f} s); "
        f"max R-hat {d.max_r_hat:.2f} "
        f"(all sites {full['r_hat'].max():.4f}); min ESS bulk {d.min_ess_bulk:.0f} "
        f"(all {full['ess_bulk'].min():.0f}), tail {d.min_ess_tail:.0f}; "
        f"{d.min_ess_bulk / wall:.1f} min-ESS/s; divergences {d.divergences}; "
        f"{fit.record.notes[0]}",
        flush=True,
    )
    return fit, wall


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bowl", default=None, help=f"one of {BOWLS} (default: the law's)")
    parser.add_argument("--loss-level", default="free")
    parser.add_argument("--divergence", default="exclude")
    parser.add_argument("--far-above", type=float, default=0.03)
    parser.add_argument("--likelihood", default="huber")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compare", action="store_true", help="LOO over all bowl shapes")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", category=UserWarning)
    runs = steplaw_dense()
    print(runs)
    if args.compare:
        fits = [run(bowl, args, runs)[0] for bowl in BOWLS]
        table = az.compare({f.label: loo_constant_safe(f.idata) for f in fits})
        print(table.to_string())
        return table
    fit, _ = run(args.bowl or LAW.bowl, args, runs)
    print(fit.summary().round(4).to_string())
    print(fit.law_table(units="ones").to_string())
    return fit


if __name__ == "__main__":
    main()
