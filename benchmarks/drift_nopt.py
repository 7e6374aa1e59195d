"""Where the N_opt draws sit under each extrapolation method: a diagnostic of the "drift" and
"model" methods (the design's default model is "drift"), not a tuning of anything.

Fits Chinchilla to Epoch's cleaned points (REAL data from ../shared/data; the README's
defaults) and, at budgets inside and beyond the fitted range of C, prints per extrapolation
method the N_opt median, its 5/25/75/95% quantiles, the share of draws at the isoFLOP search
edge and the share at a kink of the drift (``bayeslaws.posterior.allocation.drift_kink_share``).
For "drift" it repeats the allocation with the GP pattern tabulated on a 100x finer grid along
each isoFLOP line (``bayeslaws.posterior.model.LINE_GRID``), to separate the table's
resolution from the GP pattern itself (the table is read back by a cubic spline; a linear
interpolation's kinks had held most draws). Writes benchmarks/output/drift_nopt.txt.

    python benchmarks/drift_nopt.py [--chains 4] [--draws 1000] [--out FOLDER]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

import bayeslaws as bl
from bayeslaws.posterior import model as model_view
from bayeslaws.posterior.allocation import allocation_draws, drift_kink_share
from bayeslaws.runs import bundled

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header  # noqa: E402  (benchmarks/bench_provenance.py)

OUT = Path(__file__).resolve().parent / "output"
BUDGETS = (1e20, 1e22, 1e24)  # FLOPs: Epoch's runs reach 1.3e22
METHODS = ("none", "gp", "drift", "model")
FINE_GRID = 100  # times LINE_GRID for the finer tabulation


def rows(fit, method: str) -> list[str]:
    """One line per budget: N_opt quantiles (params) and the shares at the edge and at a kink."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        draws = allocation_draws(fit, list(BUDGETS), extrapolation=method)
    n_opt = np.asarray(draws["N_opt"], float)
    edge = np.asarray(draws["at_boundary"], bool).mean(axis=0)
    kink = drift_kink_share(fit, np.array(BUDGETS), n_opt, fit.compute_model)
    out = []
    for q, C in enumerate(BUDGETS):
        p5, p25, p50, p75, p95 = np.quantile(n_opt[:, q], [0.05, 0.25, 0.5, 0.75, 0.95])
        out.append(
            f"  {method:<14} C {C:.0e}: median {p50:.3g}  50% [{p25:.4g}, {p75:.4g}]  "
            f"90% [{p5:.3g}, {p95:.3g}]  IQR/median {(p75 - p25) / p50:.3g}  "
            f"at edge {edge[q]:.1%}  at a drift kink {kink[q]:.1%}"
        )
    return out


def form_weights(fit) -> list[str]:
    """The weights of the forms the 'model' rows average (each state in ``fit.cache`` with
    weights, e.g. the form average's), and the forms it left out, as computed for those rows."""
    out = []
    for key in list(fit.cache.keys()):
        state = fit.cache[key]
        if isinstance(state, dict) and isinstance(state.get("weights"), dict):
            shares = ", ".join(f"{k} {w:.3f}" for k, w in state["weights"].items())
            left = list(state.get("excluded") or {}) or "none"
            out.append(f"  weights of fit.cache[{key!r}]: {shares}; left out: {left}")
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    runs = bundled.epoch_chinchilla()
    fit = bl.fit(
        runs, law="chinchilla", chains=args.chains, warmup=args.draws, draws=args.draws, seed=0
    )
    lines = [
        header("benchmarks/drift_nopt.py", argv),
        "# N_opt draws per extrapolation method; Epoch's points (REAL), Chinchilla",
        f"fit: {fit!r}; fitted C range {fit.record.ranges['C'][0]:.3g} to "
        f"{fit.record.ranges['C'][1]:.3g} FLOPs",
    ]
    for method in METHODS:
        lines += rows(fit, method)
    lines += form_weights(fit)
    coarse = model_view.LINE_GRID
    model_view.LINE_GRID = coarse * FINE_GRID
    try:
        lines += [
            f"drift with the GP pattern on {model_view.LINE_GRID} points per line "
            f"(default {coarse}):"
        ]
        lines += rows(fit, "drift")
    finally:
        model_view.LINE_GRID = coarse
    text = "\n".join(lines) + "\n"
    print(text, end="")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "drift_nopt.txt").write_text(text)


if __name__ == "__main__":
    main()
