"""How the reweighted design value depends on the number of posterior draws S.

``estimator="reweighted"`` skips the simulated outcomes whose importance weights keep fewer than
MIN_ESS effective draws; those are the most informative outcomes, so a value that skips many is
biased down, and more so for a unit valued jointly with earlier picks (sharper joint weights).
This script measures it: the SIMULATED small_sweep_grid (tests/conftest.py) is fitted by law
'hyperparams' with 2 chains x 500 warm-up + ``--draws`` draws; the four LR x batch sweeps of
benchmarks/design_sweep_estimators.py are valued for the target eta_opt(N=1e9, D=4e10), each
alone and each given one earlier pick, by :class:`bayeslaws.design.bounds.JointReweighting`
(1000 outer draws) on the first S of the thinned draws, for S = 1000, 3000 and all of them, with
the Gaussian (linearised) value beside. Writes benchmarks/output/design_reweighted_draws.txt.

    python benchmarks/design_reweighted_draws.py [--draws 15000] [--out PATH]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from design_sweep_estimators import sweep_problem  # noqa: E402

from bayeslaws.design.batch import _gains  # noqa: E402
from bayeslaws.design.bounds import MIN_ESS, JointReweighting  # noqa: E402
from bayeslaws.design.gaussian import condition_rows, setup  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header  # noqa: E402  (benchmarks/bench_provenance.py)


def gaussian_given(p, picks: list) -> np.ndarray:
    """Each unit's Gaussian (linearised) value given the ``picks`` (nats, (U,))."""
    with jax.enable_x64(True):
        A = jnp.asarray(p.A)
        W = jnp.zeros((len(picks) * p.idx.shape[1] + 1, p.A.shape[1]))
        n_w = 0
        for u in picks:
            rows = p.idx[u][p.idx[u] >= 0]
            new = condition_rows(A, W, jnp.asarray(rows + p.head), jnp.asarray(p.obs_var[rows]),
                                 jnp.asarray(p.nuis)[u])  # fmt: skip
            W = W.at[n_w : n_w + len(rows)].set(new)
            n_w += len(rows)
        DP, MU = p.drift_terms(list(picks))
        return _gains(p, W, DP, MU, "marginal")[0]


def values_table(fit, cands, target, max_draws) -> pd.DataFrame:
    """One row per (earlier pick or none, unit): Gaussian and reweighted values, the reweighted
    value's se, mean ESS and share of outer draws skipped, on ``max_draws`` draws (None: all)."""
    p = setup(fit, cands, target, 0, max_draws, None, None)
    rw = JointReweighting(p, 0)
    rows = []
    for first in [None, *range(len(p.labels))]:
        picks = [] if first is None else [first]
        DP, MU = p.drift_terms(picks)
        r = rw.values(picks, DP, MU)
        g = gaussian_given(p, picks)
        for u, label in enumerate(p.labels):
            rows.append({
                "S": p.A.shape[0], "given": "-" if first is None else p.labels[first],
                "unit": label, "gaussian": g[u], "reweighted": r["value"][u], "se": r["se"][u],
                "ess": r["ess"][u], "skipped": r["n_skipped"][u] / r["n_outer"],
            })  # fmt: skip
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--draws", type=int, default=15000, help="draws per chain (2 chains)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/output/design_reweighted_draws.txt"))
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    fit, cands, target, fit_s = sweep_problem(args.draws, warmup=500)
    sizes = [s for s in (1000, 3000) if s < 2 * args.draws] + [None]
    table = pd.concat([values_table(fit, cands, target, s) for s in sizes])
    d = fit.diagnostics
    wide = table.pivot_table(index=["given", "unit"], columns="S",
                             values=["reweighted", "skipped"], sort=False)  # fmt: skip
    lines = [
        header("benchmarks/design_reweighted_draws.py", argv),
        "Reweighted design values (nats) for the target eta_opt(N=1e9, D=4e10) against the "
        "number of posterior draws S; SIMULATED small_sweep_grid fitted by law 'hyperparams' "
        f"(2 chains x 500 warm-up + {args.draws} draws; fit {fit_s:.0f} s, max R-hat "
        f"{d.max_r_hat:.3f}, min ESS {d.min_ess_bulk:.0f}, {d.divergences} divergences).",
        f"1000 outer draws; outcomes whose weights keep fewer than {MIN_ESS:g} effective draws "
        "are skipped (column skipped: their share). given: the earlier pick the unit is valued "
        "with ('-': alone).",
        "",
        wide.to_string(float_format=lambda x: f"{x:.3f}"),
        "",
        "Every row:",
        table.to_string(index=False, float_format=lambda x: f"{x:.4g}"),
    ]
    text = "\n".join(lines)
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
