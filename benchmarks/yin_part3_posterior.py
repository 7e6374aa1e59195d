"""Issue 11 check: paper_repro/yin.py part 3 (fixed vs optimal hyperparameters, SIMULATED) with
long chains, so that two versions of the package can be compared beyond Monte Carlo error.

    python benchmarks/yin_part3_posterior.py [--tree PATH] [--out FILE]

``--tree`` is a checkout of bayeslaws to import (default: this one), e.g. the commit before the
law-contract redesign::

    git worktree add /tmp/bl_e180f87 e180f87
    python benchmarks/yin_part3_posterior.py --tree /tmp/bl_e180f87 \
        --out benchmarks/output/yin_part3_e180f87.txt

For replicates 0 and 1 of part 3 (simulator seeds 7 and 8), the runs at each cell's optimal
(lr, batch) and at one fixed setting each get a Chinchilla fit (gaussian, dense mass, 4 chains
x 1000 warm-up + 2000 draws, seed = replicate); prints N_opt(1e22 FLOPs) 5/50/95% quantiles in
units of 1e9 parameters, max R-hat and divergences, under a first line that says the runs are
SIMULATED.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header  # noqa: E402  (benchmarks/bench_provenance.py)

HERE = Path(__file__).resolve().parent


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", default=str(HERE.parent), help="bayeslaws checkout to import")
    parser.add_argument("--out", default=None, help="also write the lines to this file")
    args = parser.parse_args(argv)
    root = Path(args.tree).resolve()
    sys.path.insert(0, str(root))
    spec = importlib.util.spec_from_file_location("yin", root / "paper_repro" / "yin.py")
    yin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(yin)
    import bayeslaws as bl

    try:  # the layered package
        from bayeslaws.posterior.allocation import allocation_draws
        from bayeslaws.runs import simulate as sim
    except ImportError:  # before the law-contract redesign
        from bayeslaws.allocation import allocation_draws

        from bayeslaws import simulate as sim

    commit = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    truth = sim.VideoDiTTruth()
    lines = [
        header("benchmarks/yin_part3_posterior.py", argv),
        "# SIMULATED data: the runs are simulate_grid draws of the default VideoDiTTruth on "
        "paper_repro/yin.py part 3's design (simulator seeds 7 and 8)",
        f"bayeslaws from {root} (commit {commit}), {bl.__file__}",
    ]
    print(*lines[:2], sep="\n", flush=True)
    N, D = (a.ravel() for a in np.meshgrid(yin.SIZES, yin.TOKENS, indexing="ij"))
    n_mid, d_mid = np.exp(np.mean(np.log(yin.SIZES))), np.exp(np.mean(np.log(yin.TOKENS)))
    lr_fix, b_fix = float(truth.eta_opt(n_mid, d_mid)), float(truth.b_opt(n_mid, d_mid))
    for r in range(2):
        seed = 7 + r
        optimal = sim.simulate_grid(
            truth, N, D, [[x] for x in truth.eta_opt(N, D)], [[x] for x in truth.b_opt(N, D)],
            seed=seed,
        )  # fmt: skip
        fixed = sim.simulate_grid(truth, N, D, [lr_fix], [b_fix], seed=seed)
        for name, points in (("optimal", optimal), ("fixed", fixed)):
            fit = bl.fit(
                points, law="chinchilla", seed=r, warmup=1000, draws=2000, chains=4,
                likelihood="gaussian", dense_mass=True, warn=False,
            )  # fmt: skip
            n_opt = allocation_draws(fit, [1e22])["N_opt"][:, 0]
            q = np.quantile(n_opt, [0.05, 0.5, 0.95]) / 1e9
            d = fit.diagnostics
            lines.append(
                f"replicate {r} {name:8s} N_opt(1e22) [1e9]: 5% {q[0]:.3f}  50% {q[1]:.3f}  "
                f"95% {q[2]:.3f}; max R-hat {d.max_r_hat:.2f}, divergences {d.divergences}"
            )
            print(lines[-1], flush=True)
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
