"""Coverage of ``kind="new_run"`` intervals INSIDE the fitted range, by extrapolation method.

The default ``"gp"`` adds the GP discrepancy's draws (conditional mean and sd) to the law's
new-run draws, which already carry the law's run-to-run noise sigma. sigma is fitted without
the GP, so where the form is slightly wrong it also holds the residual pattern that the GP
models: inside the range that pattern is counted twice (once in sigma, once in the GP's sd
plus its mean's correction), so the intervals there over-cover. This script measures how much,
for runs inside the range only (the extrapolation coverage that chose the default is
benchmarks/calibration.py's). No method or constant is chosen here.

* SIMULATED: Chinchilla (E 1.8, A 480, B 2100, alpha 0.35, beta 0.37) times a 1.5% smooth
  pattern in ln(D/N) (a slightly wrong form), noise sd 0.005 in ln loss, 48 runs on an 8 x 6
  grid; 400 fresh runs at random (N, D) inside the grid; REPLICATIONS seeds.
* Epoch's Chinchilla points (real, ../shared/data): three random 75/25 splits of the 240
  points; the held-out quarter lies inside the training range.

For reference only (not a method of the package): "law mean + GP + GP noise", the new-run
draws a GP-corrected law would give (the law's mean draws, the GP's conditional draws and its
own white noise in place of sigma).

Usage: python benchmarks/gp_inrange.py   (under a minute on 2 cores; writes
benchmarks/output/gp_inrange.txt)
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import bayeslaws as bl
from bayeslaws.posterior.draws import log_loss_draws, query_frame
from bayeslaws.posterior.extrapolation import gp
from bayeslaws.runs import bundled

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header  # noqa: E402  (benchmarks/bench_provenance.py)

OUT = Path(__file__).resolve().parent / "output" / "gp_inrange.txt"
TRUTH = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}
NOISE_SD = 0.005  # ln loss
PATTERN = 0.015  # amplitude of the smooth misfit in ln loss
REPLICATIONS = 5
LEVELS = (0.5, 0.8, 0.9)
SAMPLER = {"chains": 1, "warmup": 300, "draws": 300}


def true_loss(N, D):
    """The SIMULATED truth: Chinchilla times exp(0.015 sin(1.3 ln(D / (20 N))))."""
    base = TRUTH["E"] + TRUTH["A"] / N ** TRUTH["alpha"] + TRUTH["B"] / D ** TRUTH["beta"]
    return base * np.exp(PATTERN * np.sin(1.3 * np.log(D / N / 20.0)))


def coverage(draws, y) -> list[float]:
    """Share of y (Q,) inside the central intervals of draws (S, Q) at LEVELS."""
    out = []
    for ci in LEVELS:
        lo, hi = np.quantile(draws, [(1 - ci) / 2, (1 + ci) / 2], axis=0)
        out.append(float(np.mean((y > lo) & (y < hi))))
    return out


def scored(fit, N, D, y, seed: int) -> dict:
    """Coverage at LEVELS (lists) of held-out ln losses y (Q,) at (N, D) per method."""
    query = query_frame(fit, N=N, D=D)
    out = {}
    for method in ("none", "gp"):
        out[method] = coverage(log_loss_draws(fit, query, kind="new_run", extrapolation=method,
                                              seed=seed), y)
    state = fit.cache["gp"]
    mean_draws = log_loss_draws(fit, query, kind="mean", extrapolation="none", seed=seed)
    gp_mean, gp_sd = gp.conditional(state, N, D)
    rng = np.random.default_rng(seed)
    noise = np.sqrt(gp_sd**2 + state["noise"] ** 2)
    own = mean_draws + gp_mean + noise * rng.standard_normal(mean_draws.shape)
    out["law mean + GP + GP noise (reference)"] = coverage(own, y)
    return out


def simulated(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    N, D = np.meshgrid(np.geomspace(6e7, 6e9, 8), np.geomspace(1e9, 1e11, 6))
    N, D = N.ravel(), D.ravel()
    loss = true_loss(N, D) * np.exp(NOISE_SD * rng.standard_normal(N.size))
    runs = bl.load_runs(pd.DataFrame({"N": N, "D": D, "loss": loss}))
    fit = bl.fit(runs, likelihood="gaussian", seed=seed, warn=False, **SAMPLER)
    Nq = np.exp(rng.uniform(np.log(6e7), np.log(6e9), 400))
    Dq = np.exp(rng.uniform(np.log(1e9), np.log(1e11), 400))
    y = np.log(true_loss(Nq, Dq)) + NOISE_SD * rng.standard_normal(400)
    return scored(fit, Nq, Dq, y, seed)


def epoch_split(seed: int) -> dict:
    table = bundled.epoch_chinchilla().df.reset_index(drop=True)
    held = np.random.default_rng(seed).random(len(table)) < 0.25
    train = table.loc[~held, ["N", "D", "loss"]].reset_index(drop=True)
    fit = bl.fit(bl.load_runs(train), seed=seed, warn=False, **SAMPLER)
    test = table[held]
    y = np.log(test["loss"].to_numpy(float))
    return scored(fit, test["N"].to_numpy(float), test["D"].to_numpy(float), y, seed)


def pooled(results: list[dict]) -> pd.DataFrame:
    """Mean coverage per method over the replications (each replication weighs the same)."""
    rows = {m: np.mean([r[m] for r in results], axis=0) for m in results[0]}
    return pd.DataFrame(rows, index=[f"cov{round(100 * c)}" for c in LEVELS]).T.round(3)


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    warnings.simplefilter("ignore")
    lines = [header("benchmarks/gp_inrange.py"), __doc__.split("\n\n")[0], ""]
    sim = [simulated(seed) for seed in range(REPLICATIONS)]
    lines += [f"SIMULATED, {REPLICATIONS} replications x 400 in-range new runs:",
              pooled(sim).to_string(), ""]
    try:
        real = [epoch_split(seed) for seed in (1, 2, 3)]
        lines += ["Epoch's points (real), 3 random 75/25 splits, held-out runs in range:",
                  pooled(real).to_string()]
    except bundled.SharedDataMissing as err:
        lines += [f"Epoch's points: skipped ({err})"]
    text = "\n".join(lines) + "\n"
    print(text)
    OUT.write_text(text)


if __name__ == "__main__":
    main()
