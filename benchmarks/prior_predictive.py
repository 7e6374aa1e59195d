"""Prior predictive of the loss-surface laws' default priors on Epoch's Chinchilla points: what
losses the priors alone expect, before any data. A diagnostic of the priors, not a tuning.

The inputs are Epoch's 240 cleaned points (REAL N params and D tokens, from ../shared/data
through ``bayeslaws.runs.bundled.epoch_chinchilla``, centred as a fit centres them); the losses
are drawn from each law's model with its default priors and the likelihood's (Huber by default,
sigma ~ HalfNormal(0.1)), not read. Per law it prints, over all draws x runs, the median and the
99% quantile of a run's loss (nats per token, Epoch's unit), and the share of prior draws in
which at least one of the 240 runs has a loss above ln(50,000) = 10.8 nats (worse than a uniform
guess over a 50k-token vocabulary) or above 1,000 nats. Writes
benchmarks/output/prior_predictive.txt.

    python benchmarks/prior_predictive.py [--draws 4000] [--seed 0] [--likelihood huber]
        [--out FOLDER]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jax
import numpy as np

from bayeslaws.inference.nuts import prior_predictive
from bayeslaws.laws import LAWS
from bayeslaws.laws.contract import OBSERVED_SITE
from bayeslaws.runs import bundled

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header  # noqa: E402  (benchmarks/bench_provenance.py)

OUT = Path(__file__).resolve().parent / "output"
SURFACE_LAWS = ("chinchilla", "chinchilla_gamma", "kaplan", "farseer")
UNIFORM_50K = float(np.log(50_000))  # nats: a uniform guess over a 50k-token vocabulary
FAR = 1000.0  # nats


def law_row(name: str, runs, likelihood: str, draws: int, seed: int) -> tuple[str, int]:
    """One line of the table for law ``name`` (the prior-predictive loss at the runs' N params,
    D tokens: median and 99% quantile in nats, shares of the ``draws`` prior draws with a run
    above ``UNIFORM_50K`` and above ``FAR`` nats) and the number of runs drawn."""
    law = LAWS[name]
    prepared = law.prepare(runs)
    static = {**prepared.static, "priors": law.priors(likelihood), "likelihood": likelihood}
    data = {k: v for k, v in prepared.data.items() if k != "obs"}
    sites = prior_predictive(law, static, data, draws, jax.random.PRNGKey(seed))
    log_loss = np.asarray(sites[OBSERVED_SITE], float) + prepared.scales["loss"]  # (draws, runs)
    loss = np.exp(np.minimum(log_loss, 700.0))  # nats; ln L above 700 (far above FAR) capped
    median, q99 = np.quantile(loss, [0.5, 0.99])
    above_uniform = float((loss > UNIFORM_50K).any(axis=1).mean())
    above_far = float((loss > FAR).any(axis=1).mean())
    row = f"{name:17s} {median:10.3g} {q99:12.3g} {above_uniform:16.3f} {above_far:15.3f}"
    return row, len(prepared.runs)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=4000, help="prior draws per law")
    parser.add_argument("--seed", type=int, default=0, help="PRNG seed of the draws")
    parser.add_argument(
        "--likelihood", default="huber", choices=("gaussian", "student_t", "huber"),
        help="noise family of the drawn losses (with its default priors)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=OUT, help="folder of prior_predictive.txt")
    args = parser.parse_args(argv)
    runs = bundled.epoch_chinchilla()
    rows = [law_row(n, runs, args.likelihood, args.draws, args.seed) for n in SURFACE_LAWS]
    n_runs = rows[0][1]
    lines = [
        header("benchmarks/prior_predictive.py", argv),
        f"# likelihood {args.likelihood}: the default priors' predictive loss at Epoch's (REAL) "
        "N, D",
        f"# {n_runs} runs; loss in nats per token; quantiles over draws x runs; share of draws "
        f"with a run above ln(50k) = {UNIFORM_50K:.1f} nats and above {FAR:g} nats",
        f"{'law':17s} {'median':>10s} {'99% quantile':>12s} {'draws, run>10.8':>16s} "
        f"{'draws, run>1e3':>15s}",
    ]
    lines += [row for row, _ in rows]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "prior_predictive.txt").write_text(text)


if __name__ == "__main__":
    main()
