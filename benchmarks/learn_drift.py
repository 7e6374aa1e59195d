"""Learn the drift discrepancy's rate across the selection corpus
(bayeslaws.posterior.extrapolation.drift): per data set, inner scale-out refits of the
Chinchilla law (Huber likelihood, as the default fit) with the GP discrepancy on each split's
own residuals, then a population of ln tau across data sets by maximum marginal likelihood, and
the same leaving each data set out.

Selection data only (docs/calibration_protocol.md): Epoch's Chinchilla points, Porian et al.'s
configurations, Step Law's best cells; no confirmation data.

    python benchmarks/learn_drift.py            # ~15 min on 2 cores
    python benchmarks/learn_drift.py --quick    # a smoke run: 2 data sets, short chains

Writes benchmarks/output/learn_drift_points.csv (every held-out run of every inner split:
residual, predictive variance, distances per axis; ``--from-points`` relearns from it without
refitting), learn_drift.csv (per data set) and learn_drift_population.json (the population and
each leave-one-data-set-out population); the module constants LOG_TAU_MEAN and LOG_TAU_SD are
copied from the json (tests/test_drift.py checks they agree).
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
from bayeslaws.posterior import splits  # noqa: E402
from bayeslaws.posterior.extrapolation import distance, drift  # noqa: E402
from bayeslaws.runs import bundled  # noqa: E402

OUT = ROOT / "benchmarks" / "output"
FOLDS = drift.CV_FOLDS  # the same inner splits as drift.calibrate
PORIAN = {f"porian {name}": spec for name, spec in splits.SELECTION_PORIAN.items()}


def corpus(quick: bool) -> dict:
    """Selection data sets as RunTables (name -> runs)."""
    sets = {"epoch": bundled.epoch_chinchilla()}
    for name, config in PORIAN.items():
        sets[name] = bundled.porian_isoflop(**config)
    sets["steplaw best cells"] = cal.steplaw_best_cells()
    if quick:
        sets = dict(list(sets.items())[:2])
    return sets


DIST_COLUMNS = [f"d_{axis}" for axis in drift.AXES]


def collect_points(sets: dict, sampler: dict, seed: int) -> pd.DataFrame:
    """Every held-out run of every inner split of every data set: residual (ln loss), the
    predictive variance, and its distances (decades) along drift.AXES from its split's range."""
    frames = []
    for name, runs in sets.items():
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            inner = dataset_splits(runs, sampler, seed)
        for s in inner:
            h = s["held_out"]
            d = drift.axis_distances(h["N"], h["D"], h["C"], s["ranges"])
            frame = pd.DataFrame(d, columns=DIST_COLUMNS)
            frame.insert(0, "variance", s["variances"])
            frame.insert(0, "residual", s["residuals"])
            frame.insert(0, "loss", h["loss"].to_numpy())
            for col in ("C", "D", "N"):
                frame.insert(0, col, h[col].to_numpy())
            frame.insert(0, "split", s["name"])
            frame.insert(0, "n_runs", len(runs))
            frame.insert(0, "dataset", name)
            frames.append(frame)
        print(f"{name:45s} {len(inner)} splits, {time.perf_counter() - t0:.0f} s", flush=True)
    return pd.concat(frames, ignore_index=True)


def dataset_splits(runs, sampler: dict, seed: int) -> list[dict]:
    fit = bl.fit(runs, "chinchilla", warn=False, seed=seed, **sampler)
    return distance.scale_out_splits(
        runs, fit.law, fit.likelihood, fit.priors, folds=FOLDS, seed=seed, gp=True, **sampler
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 data sets, short chains")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--from-points", action="store_true", help="relearn from the saved learn_drift_points.csv"
    )
    args = parser.parse_args(argv)
    sampler = (
        {"chains": 2, "warmup": 150, "draws": 150}
        if args.quick
        else {"chains": 2, "warmup": 300, "draws": 300}
    )
    started = time.perf_counter()
    suffix = "_quick" if args.quick else ""
    points_path = OUT / f"learn_drift_points{suffix}.csv"
    if args.from_points:
        points = pd.read_csv(points_path)
    else:
        points = collect_points(corpus(args.quick), sampler, args.seed)
        OUT.mkdir(parents=True, exist_ok=True)
        points.to_csv(points_path, index=False)
    rows, logliks, names = [], [], []
    for name, frame in points.groupby("dataset", sort=False):
        triples = [
            (g["residual"].to_numpy(), g["variance"].to_numpy(), g[DIST_COLUMNS].to_numpy())
            for _, g in frame.groupby("split", sort=False)
        ]
        loglik = drift.dataset_log_likelihood(triples)
        logliks.append(loglik)
        names.append(name)
        tau_ml = float(drift.TAU_GRID[np.argmax(loglik)])
        rows.append(
            {
                "dataset": name,
                "n_runs": int(frame["n_runs"].iloc[0]),
                "n_splits": len(triples),
                "n_held_out": len(frame),
                "max_distance_decades": float(frame[DIST_COLUMNS].to_numpy().max()),
                "rms_residual": float(np.sqrt(np.mean(frame["residual"] ** 2))),
                "tau_max_likelihood": tau_ml,
            }
        )
    L = np.array(logliks)
    population = drift.population_fit(L)
    grouped = {}
    for name, frame in points.groupby("dataset", sort=False):
        triples = [
            (g["residual"].to_numpy(), g["variance"].to_numpy(), g[DIST_COLUMNS].to_numpy())
            for _, g in frame.groupby("split", sort=False)
        ]
        grouped[name] = drift.dataset_log_likelihood_groups(triples, "tilt_level")
    G = np.array([grouped[n] for n in names])
    two = drift.population_fit_groups(G, "tilt_level")
    two_lodo = {}
    for j, name in enumerate(names):
        keep = [i for i in range(len(names)) if i != j]
        two_lodo[name] = drift.population_fit_groups(G[keep], "tilt_level")["groups"]
    lodo = {}
    for j, name in enumerate(names):
        keep = [i for i in range(len(names)) if i != j]
        fitted = drift.population_fit(L[keep])
        lodo[name] = {"mean": fitted["mean"], "sd": fitted["sd"]}
    table = pd.DataFrame(rows)
    table["tau_median_population"] = population["tau_median"]
    table.to_csv(OUT / f"learn_drift{suffix}.csv", index=False)
    result = {
        "log_tau_mean": population["mean"],
        "log_tau_sd": population["sd"],
        "log_marginal": population["log_marginal"],
        "leave_one_out": lodo,
        "tilt_level": {
            "groups": two["groups"],
            "log_marginal": two["log_marginal"],
            "leave_one_out": two_lodo,
        },
        "folds": [list(f) for f in FOLDS],
        "sampler": sampler,
        "seed": args.seed,
        "datasets": names,
    }
    (OUT / f"learn_drift_population{suffix}.json").write_text(json.dumps(result, indent=2))
    print(table.to_string(index=False, float_format="{:.4g}".format))
    for g, p in two["groups"].items():
        print(f"tilt_level population, {g}: ln tau ~ Normal({p['mean']:.3f}, {p['sd']:.3f})")
    print(
        f"population: ln tau ~ Normal({population['mean']:.3f}, {population['sd']:.3f}) "
        f"(median tau {np.exp(population['mean']):.4f} ln-loss per decade); "
        f"{time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
