"""Learn the drift discrepancy's rate across the selection corpus (bayeslaws.posterior.extrapolation
.drift): per data set, inner scale-out refits of the Chinchilla law (Huber likelihood, as the
default fit) with the GP discrepancy on each split's own residuals, then a population of
ln tau across data sets by maximum marginal likelihood, and the same leaving each data set out.

Selection data only (docs/calibration_protocol.md): Epoch's Chinchilla points, Porian et al.'s
configurations, Step Law's best cells; no confirmation data.

    python benchmarks/learn_drift.py            # ~15 min on 2 cores
    python benchmarks/learn_drift.py --quick    # a smoke run: 2 data sets, short chains

Writes benchmarks/output/learn_drift.csv (per data set) and learn_drift_population.json (the
population and each leave-one-data-set-out population); the module constants LOG_TAU_MEAN and
LOG_TAU_SD are copied from the json (tests/test_drift.py checks they agree).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bayeslaws as bl  # noqa: E402
from bayeslaws.posterior import calibration as cal  # noqa: E402
from bayeslaws.posterior.extrapolation import distance, drift  # noqa: E402
from bayeslaws.runs import bundled  # noqa: E402

OUT = ROOT / "benchmarks" / "output"
FOLDS = (("C", 0.15), ("C", 0.3), ("N", 0.15), ("N", 0.3), ("D", 0.15), ("D", 0.3))
PORIAN = {
    f"porian {ds}/{hp}/{wu}/{dc}": dict(
        dataset=ds, hparams=hp, warmup=wu, decay=dc, param_count="standard", loss_type="val"
    )
    for ds in ("rw", "owt2")
    for hp, wu, dc in (
        ("base", "long", "kaplan"),
        ("base", "short", "kaplan"),
        ("base", "short", "chinchilla"),
        ("tuned", "short", "const"),
    )
}
PORIAN["porian rw/tuned/long/const (kaplan, train)"] = dict(
    dataset="rw", hparams="tuned", warmup="long", decay="const", param_count="kaplan",
    loss_type="train",
)


def corpus(quick: bool) -> dict:
    """Selection data sets as RunTables (name -> runs)."""
    sets = {"epoch": bundled.epoch_chinchilla()}
    for name, config in PORIAN.items():
        sets[name] = bundled.porian_isoflop(**config)
    sets["steplaw best cells"] = cal.steplaw_best_cells()
    if quick:
        sets = dict(list(sets.items())[:2])
    return sets


def dataset_splits(runs, sampler: dict, seed: int) -> list[dict]:
    fit = bl.fit(runs, "chinchilla", warn=False, seed=seed, **sampler)
    return distance.scale_out_splits(
        runs, fit.law, fit.likelihood, fit.priors, folds=FOLDS, seed=seed, gp=True, **sampler
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 data sets, short chains")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sampler = (
        {"chains": 2, "warmup": 150, "draws": 150}
        if args.quick
        else {"chains": 2, "warmup": 300, "draws": 300}
    )
    started = time.perf_counter()
    rows, logliks, names = [], [], []
    for name, runs in corpus(args.quick).items():
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            splits = dataset_splits(runs, sampler, args.seed)
        triples = []
        for s in splits:
            h = s["held_out"]
            d = drift.axis_distances(h["N"], h["D"], h["C"], s["ranges"])
            triples.append((s["residuals"], s["variances"], d))
        loglik = drift.dataset_log_likelihood(triples)
        logliks.append(loglik)
        names.append(name)
        tau_ml = float(drift.TAU_GRID[np.argmax(loglik)])
        rows.append(
            {
                "dataset": name,
                "n_runs": len(runs),
                "n_splits": len(splits),
                "n_held_out": int(sum(len(t[0]) for t in triples)),
                "max_distance_decades": float(max((t[2].max() for t in triples), default=0)),
                "rms_residual": float(np.sqrt(np.mean(np.concatenate([t[0] for t in triples])**2)))
                if triples
                else float("nan"),
                "tau_max_likelihood": tau_ml,
                "seconds": time.perf_counter() - t0,
            }
        )
        print(f"{name:45s} {len(splits)} splits, tau_ML {tau_ml:.4f}", flush=True)
    L = np.array(logliks)
    population = drift.population_fit(L)
    lodo = {}
    for j, name in enumerate(names):
        keep = [i for i in range(len(names)) if i != j]
        fitted = drift.population_fit(L[keep])
        lodo[name] = {"mean": fitted["mean"], "sd": fitted["sd"]}
    table = pd.DataFrame(rows)
    table["tau_median_population"] = population["tau_median"]
    OUT.mkdir(parents=True, exist_ok=True)
    suffix = "_quick" if args.quick else ""
    table.to_csv(OUT / f"learn_drift{suffix}.csv", index=False)
    result = {
        "log_tau_mean": population["mean"],
        "log_tau_sd": population["sd"],
        "log_marginal": population["log_marginal"],
        "leave_one_out": lodo,
        "folds": [list(f) for f in FOLDS],
        "sampler": sampler,
        "seed": args.seed,
        "datasets": names,
    }
    (OUT / f"learn_drift_population{suffix}.json").write_text(json.dumps(result, indent=2))
    print(table.to_string(index=False, float_format="{:.4g}".format))
    print(
        f"population: ln tau ~ Normal({population['mean']:.3f}, {population['sd']:.3f}) "
        f"(median tau {np.exp(population['mean']):.4f} ln-loss per decade); "
        f"{time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
