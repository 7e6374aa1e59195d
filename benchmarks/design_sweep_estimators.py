"""The design value of four LR x batch sweeps for an eta_opt target, by both estimators.

A SIMULATED sweep (tests/conftest.py small_sweep_grid: 3 x 3 LR x batch at four cells of the
video-DiT simulator) is fitted by law 'hyperparams' (2 chains x 300 warm-up + 1500 draws, as the
reviewer's fit_hp_big.nc); the candidates are four sweeps centred on the predicted optima
(hyperparameter_candidates at 130M/8B, 400M/20B, 50M/5B, 1B/40B params/tokens) and the target is
HyperparamOpt(N=1e9, D=4e10, which="eta"). Each sweep alone is valued by the Gaussian
(linearised) estimator, by estimator="reweighted", and by bounds()["reweighted"], with a
brute-force reweighting from the raw predictions (all 3000 outcomes, no package design code)
and its null control (the target draws permuted: its bias). Then a greedy batch of 3 by each
estimator (cost=None). Writes benchmarks/output/design_sweep_estimators.txt.

    python benchmarks/design_sweep_estimators.py [--draws 1500] [--out PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import bayeslaws as bl  # noqa: E402
from bayeslaws import design  # noqa: E402
from bayeslaws.design.gaussian import setup  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header  # noqa: E402  (benchmarks/bench_provenance.py)

CELLS_N = [0.13e9, 0.4e9, 0.05e9, 1e9]
CELLS_D = [8e9, 2e10, 5e9, 4e10]


def brute(p, t, rng):
    """Brute-force reweighted information of each unit alone (nats) and its null (t permuted)."""
    S = len(t)
    tperm = rng.permutation(t)
    out = []
    for u in range(len(p.labels)):
        rows = p.idx[u][p.idx[u] >= 0]
        f, m = p.obs_mean[:, rows], len(rows)
        cov = np.diag(p.obs_var[rows]) + p.nuis[u][:m, :m]  # the unit's level covariance
        inv = np.linalg.inv(cov)
        Y = f + rng.multivariate_normal(np.zeros(m), cov, size=S)
        ll = np.empty((S, S))
        for i in range(0, S, 250):
            R = Y[i : i + 250, None, :] - f[None]
            ll[i : i + 250] = -0.5 * np.einsum("nsi,ij,nsj->ns", R, inv, R)
        w = np.exp(ll - ll.max(1, keepdims=True))
        w /= w.sum(1, keepdims=True)
        w2 = (w**2).sum(1)
        keep = 1 / w2 >= 10

        def info(tt, w=w, w2=w2, keep=keep):
            mean = w @ tt
            var = (w @ tt**2 - mean**2) / (1 - w2)
            terms = 0.5 * np.log(tt.var(ddof=1) / var[keep])
            return terms.mean(), terms.std() / np.sqrt(keep.sum())

        value, se = info(t)
        null, _ = info(tperm)
        out.append({"brute": value, "brute_se": se, "brute_null": null})
    return pd.DataFrame(out)


def sweep_problem(draws: int, warmup: int):
    """(fit, candidates, target, fit seconds): the SIMULATED small_sweep_grid fitted by law
    'hyperparams' (2 chains x ``warmup`` + ``draws``, seed 0), the four sweeps centred on the
    predicted optima at CELLS_N x CELLS_D (params, tokens) and the target eta_opt(1e9, 4e10)."""
    from conftest import small_sweep_grid

    t0 = time.time()
    runs = bl.load_runs(small_sweep_grid())
    fit = bl.fit(runs, law="hyperparams", seed=0, warn=False, chains=2, warmup=warmup,
                 draws=draws)  # fmt: skip
    fit_s = time.time() - t0
    cands = design.hyperparameter_candidates(CELLS_N, CELLS_D, fit=fit)
    return fit, cands, design.HyperparamOpt(N=1e9, D=4e10, which="eta"), fit_s


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--draws", type=int, default=1500, help="draws per chain (2 chains)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/output/design_sweep_estimators.txt"))
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    fit, cands, target, fit_s = sweep_problem(args.draws, warmup=300)
    kw = {"cost": None}
    t0 = time.time()
    gauss = design.rank_candidates(fit, cands, target, **kw).set_index("unit")
    g_s = time.time() - t0
    t0 = time.time()
    rw = design.rank_candidates(fit, cands, target, estimator="reweighted", **kw).set_index("unit")
    rw_s = time.time() - t0
    b = design.bounds(fit, cands, target).set_index("unit")
    p = setup(fit, cands, target, 0, None, None, None)
    bf = brute(p, p.tdraws[:, 0], np.random.default_rng(0)).set_index(pd.Index(p.labels))
    table = pd.DataFrame(
        {
            "gaussian": gauss["info"],
            "reweighted": rw["info"],
            "reweighted_se": rw["info_se"],
            "reweighted_ess": rw["info_ess"],
            "bounds_reweighted": b["reweighted"],
            "brute": bf["brute"],
            "brute_se": bf["brute_se"],
            "brute_null": bf["brute_null"],
        }
    ).loc[list(p.labels)]
    batches = {}
    for est in ("gaussian", "reweighted"):
        plan = design.next_runs(fit, cands, target, k=3, estimator=est, **kw)
        cols = ["unit", "info", "cumulative_info"] + (["info_se", "info_ess"] if est != "gaussian"
                                                       else [])  # fmt: skip
        batches[est] = plan[cols]
    lines = [
        header("benchmarks/design_sweep_estimators.py", argv),
        "Design value (nats) of four LR x batch sweeps, each alone, for the target "
        "eta_opt(N=1e9, D=4e10); SIMULATED small_sweep_grid fitted by law 'hyperparams' "
        f"(2 chains x 300 warm-up + {args.draws} draws = {2 * args.draws} draws; "
        f"fit {fit_s:.0f} s).",
        "gaussian: the linearised estimator; reweighted: estimator='reweighted' "
        f"(rank_candidates {rw_s:.1f} s, gaussian {g_s:.1f} s); bounds_reweighted: "
        "bounds()['reweighted']; brute: importance reweighting from the raw predictions on all "
        "outcomes, brute_null its value with the target draws permuted (the estimator's bias).",
        "",
        table.to_string(float_format=lambda x: f"{x:.4g}"),
        "",
        "ranking by gaussian:   " + " > ".join(str(u) for u in table["gaussian"].sort_values(
            ascending=False).index),  # fmt: skip
        "ranking by reweighted: " + " > ".join(str(u) for u in table["reweighted"].sort_values(
            ascending=False).index),  # fmt: skip
        "ranking by brute:      " + " > ".join(str(u) for u in table["brute"].sort_values(
            ascending=False).index),  # fmt: skip
        "",
    ]
    for est, plan in batches.items():
        lines += [f"greedy batch of 3 (cost=None), estimator={est!r}:",
                  plan.to_string(index=False, float_format=lambda x: f"{x:.4g}"), ""]  # fmt: skip
    text = "\n".join(lines)
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
