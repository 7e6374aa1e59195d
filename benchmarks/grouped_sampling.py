"""Sampling quality of grouped (partially pooled) Chinchilla fits at ``bl.fit``'s defaults.

    python benchmarks/grouped_sampling.py [--groups 2 4 8] [--variants ea alpha] [--seeds 0 1]
        [--out benchmarks/output/grouped_sampling.txt]

What it measures: for every (G, variant, seed) it simulates one table (SIMULATED data, the
generator of review R6): G groups, each a 5 x 5 grid of N (5e7..2e9 parameters) x D (1e9..4e10
tokens), 25 runs per group, Chinchilla truth E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28,
Gaussian noise sd 0.01 on ln L; groups differ in E (x exp(N(0, 0.1))) and A (x exp(N(0, 0.3))),
and with variant ``alpha`` also in alpha (+ N(0, 0.02)). It fits each table with ``bl.fit(df,
"chinchilla", seed=seed)`` at the defaults (4 chains x 1000 warm-up + 1000 draws, dense mass,
target_accept 0.8; groups pooled non-centred, laws/surface.py ``pooled_sample``) and reports:
wall seconds of the call (the first fit of a new table shape includes compilation, unless the
persistent compilation cache already holds it), divergent transitions, max R-hat and min bulk
ESS over the sites the package checks (``fit.record.summary_names``; ArviZ, unrounded) with the
site of the minimum, the min bulk ESS over the ``*_tau`` sites, the share of draws at the
maximum tree depth, and whether the package's own check (``fit.diagnostics``) flags the fit
(a ``SamplerWarning``), with its first problem.

Writes the table to ``--out`` (first line: the command, date, machine cores and load, versions)
and prints each row as it finishes. One fit at a time; a default run is 12 fits of ~30-80 s on
a 2-core machine.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import arviz as az
import jax
import numpy as np
import numpyro
import pandas as pd

import bayeslaws as bl
from bayeslaws.inference.diagnostics import SamplerWarning
from bayeslaws.runs.simulate import simulate_chinchilla_runs

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header, load, machine  # noqa: E402  (benchmarks/bench_provenance.py)

HERE = Path(__file__).resolve().parent
TRUTH = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
N_GRID_PARAMS = np.geomspace(5e7, 2e9, 5)  # model sizes, parameters
D_GRID_TOKENS = np.geomspace(1e9, 4e10, 5)  # training tokens
NOISE_SD_LOG_LOSS = 0.01  # Gaussian noise sd on ln L
E_SPREAD_LOG, A_SPREAD_LOG, ALPHA_SPREAD = 0.1, 0.3, 0.02  # between-group sds of ln E, ln A, alpha
HEADER = (
    f"{'G':>2} {'variant':>7} {'seed':>4} {'wall s':>7} {'div':>4} {'max R-hat':>9} "
    f"{'min bulk ESS (site)':>22} {'min tau ESS (site)':>22} {'at max depth':>12}  package check"
)


def simulate_table(n_groups: int, variant: str, seed: int) -> tuple[pd.DataFrame, list[dict]]:
    """SIMULATED table of ``n_groups`` x 25 runs (review R6's generator) and each group's truth.

    variant "ea": groups differ in E and A; "alpha": also in alpha. Columns as
    ``simulate_chinchilla_runs`` plus ``group`` ("g0", "g1", ...)."""
    if variant not in ("ea", "alpha"):
        raise ValueError(f"variant must be 'ea' or 'alpha', got {variant!r}")
    rng = np.random.default_rng(1000 + seed)
    n_params, d_tokens = (a.ravel() for a in np.meshgrid(N_GRID_PARAMS, D_GRID_TOKENS))
    frames, truths = [], []
    for g in range(n_groups):
        truth = dict(TRUTH)
        truth["E"] = TRUTH["E"] * np.exp(rng.normal(0, E_SPREAD_LOG))
        truth["A"] = TRUTH["A"] * np.exp(rng.normal(0, A_SPREAD_LOG))
        if variant == "alpha":
            truth["alpha"] = TRUTH["alpha"] + rng.normal(0, ALPHA_SPREAD)
        df = simulate_chinchilla_runs(
            dict(truth, N=n_params, D=d_tokens),
            noise_sd=NOISE_SD_LOG_LOSS,
            seed=int(rng.integers(1e9)),
        )
        df["group"] = f"g{g}"
        frames.append(df)
        truths.append(truth)
    return pd.concat(frames, ignore_index=True), truths


def max_depth_share(sample_stats) -> float:
    """Share of draws whose tree reached the maximum depth (1023 leapfrog steps, depth 10)."""
    if "n_steps" in sample_stats:
        return float((np.asarray(sample_stats["n_steps"]) >= 1023).mean())
    return float((np.asarray(sample_stats["tree_depth"]) >= 10).mean())


def fit_row(n_groups: int, variant: str, seed: int) -> dict:
    """Fit one simulated table at ``bl.fit``'s defaults; its sampling figures (one table row)."""
    df, _ = simulate_table(n_groups, variant, seed)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = bl.fit(df, "chinchilla", seed=seed, progress_bar=False)
    wall_s = time.perf_counter() - t0
    names = list(fit.record.summary_names)
    summary = az.summary(fit.idata, var_names=names, kind="diagnostics", round_to="none")
    taus = summary.loc[[n for n in summary.index if n.endswith("_tau")], "ess_bulk"]
    sampler_warned = any(issubclass(w.category, SamplerWarning) for w in caught)
    problems = fit.diagnostics.problems
    return dict(
        G=n_groups,
        variant=variant,
        seed=seed,
        wall_s=wall_s,
        divergences=int(np.asarray(fit.idata.sample_stats["diverging"]).sum()),
        max_r_hat=float(summary["r_hat"].max()),
        min_ess=float(summary["ess_bulk"].min()),
        min_ess_site=str(summary["ess_bulk"].idxmin()),
        min_tau_ess=float(taus.min()),
        min_tau_site=str(taus.idxmin()),
        depth_share=max_depth_share(fit.idata.sample_stats),
        warned=sampler_warned,
        problem=problems[0] if problems else "",
    )


def format_row(r: dict) -> str:
    ess = f"{r['min_ess']:.0f} ({r['min_ess_site']})"
    tau = f"{r['min_tau_ess']:.0f} ({r['min_tau_site']})"
    check = f"WARNS: {r['problem'][:90]}" if r["warned"] else "ok"
    return (
        f"{r['G']:>2} {r['variant']:>7} {r['seed']:>4} {r['wall_s']:>7.1f} {r['divergences']:>4} "
        f"{r['max_r_hat']:>9.3f} {ess:>22} {tau:>22} {100 * r['depth_share']:>11.1f}%  {check}"
    )


def summary_lines(rows: list[dict]) -> list[str]:
    """Counts over all fits: with divergences, min tau ESS < 400, R-hat > 1.01, warned."""
    n = len(rows)
    return [
        f"fits with divergences: {sum(r['divergences'] > 0 for r in rows)} of {n}; "
        f"min tau bulk ESS < 400: {sum(r['min_tau_ess'] < 400 for r in rows)} of {n}; "
        f"max R-hat > 1.01: {sum(r['max_r_hat'] > 1.01 for r in rows)} of {n}; "
        f"any draws at max depth: {sum(r['depth_share'] > 0 for r in rows)} of {n}; "
        f"package check warns: {sum(r['warned'] for r in rows)} of {n}",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--variants", nargs="+", default=["ea", "alpha"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--out", type=Path, default=HERE / "output" / "grouped_sampling.txt")
    args = parser.parse_args(argv)
    versions = f"JAX {jax.__version__}, NumPyro {numpyro.__version__}, ArviZ {az.__version__}"
    details = [*machine(), versions]
    lines = [
        header("benchmarks/grouped_sampling.py", argv, details),
        "SIMULATED tables (review R6's generator): G groups x 25 runs (5 x 5 N x D grid), groups "
        "differ in E and A ('ea') or also alpha ('alpha'); bl.fit defaults (4 chains x 1000 + "
        "1000, dense mass, target_accept 0.8, non-centred pooling)",
        "ESS and R-hat over the sites the package checks (fit.record.summary_names); wall s "
        "includes compilation where the cache did not hold the shape",
        HEADER,
    ]
    for line in lines:
        print(line, flush=True)
    rows = []
    for n_groups in args.groups:
        for variant in args.variants:
            for seed in args.seeds:
                row = fit_row(n_groups, variant, seed)
                rows.append(row)
                lines.append(format_row(row) + f"  [{load()}]")
                print(lines[-1], flush=True)
    for line in summary_lines(rows):
        lines.append(line)
        print(line, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
