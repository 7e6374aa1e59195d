"""The replay pools built from the shipped data: Step Law's dense LR x batch sweep
(:func:`steplaw_pool`, its truth :func:`steplaw_truth`), Epoch AI's Chinchilla points
(:func:`epoch_pool`), isoFLOP pools (:func:`isoflop_pool`: Porian's, the compendium's
confirmation pools) and simulated pools of the compendium's shapes
(:func:`simulated_isoflop_pool`, :data:`COMPENDIUM_SHAPES`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ... import design
from ...inference import fit as fit_law
from ...posterior.calibration import empirical_vertices
from ...posterior.extrapolation import DEFAULT_METHOD
from ...posterior.splits import (
    compendium_split,
    epoch_split,
    porian_split,
    simulated_truth_loss,
)
from ...runs import bundled, load_runs
from .pool import Pool
from .scores import component_label

STEPLAW_HELD_N = 1.073741824e9  # the held-out model of Step Law's sweep (params)


def _frame(runs) -> pd.DataFrame:
    df = runs.df.copy()
    df.index = [f"r{i}" for i in range(len(df))]
    return df


def steplaw_pool() -> Pool:
    """Step Law's dense LR x batch sweep (1,911 real runs, ../shared/data): the 15 cells of the
    models up to 0.54B are the pool, the 1.07B model's two cells (165 runs) the target region.
    Decision quantity: eta_opt, B_opt and the loss at the optimum of the held-out cells; the law
    is the joint sweep law (law ``"sweep"``, default options: Chinchilla's surface under optimal
    hyperparameters, each cell's bowl, the optima's power laws, and beyond the fitted cells'
    range the optima's drift). It needs more cells than its surface's 5 parameters, so the
    start design's 24 runs are spread over the 6 cheapest cells (4 runs each; 0.35% of the
    pool's compute). The paper's grid: every cell's full sweep, cheapest cell first."""
    df = _frame(bundled.steplaw_dense())
    df["C"] = 6.0 * df["N"] * df["D"]
    held = np.isclose(df["N"], STEPLAW_HELD_N, rtol=0.01)
    pool, out = df[~held], df[held]
    cells = out[["N", "D"]].drop_duplicates().sort_values("D")
    grid_order = pool.sort_values(["C", "N", "D", "lr", "batch_size"]).index
    return Pool(
        name="steplaw",
        kind="hyperparams",
        runs=pool,
        held_out=out,
        law="sweep",
        fit_options={},
        targets=[
            design.HyperparamOpt(N=cells["N"].to_numpy(), D=cells["D"].to_numpy(), which="all")
        ],
        start_size=24,
        start_cells=6,
        grid=grid_order,
        note="Step Law dense sweep (real); held out N = 1.07e9 (2 cells)",
    )


def steplaw_truth(fit_options: dict | None = None, seed: int = 0) -> pd.DataFrame:
    """The held-out cells' realised optima (whatever law the campaigns fit): a
    hyperparameter-law fit (free level per cell) to all 1,911 runs; per held-out cell the
    posterior median of its own optimum (eta, B) and of its loss at the optimum. Columns:
    label, truth, N, D, quantity."""
    pool = steplaw_pool()
    runs = load_runs(pd.concat([pool.runs, pool.held_out]), allow_missing_loss=True)
    opts = {"chains": 2, "warmup": 500, "draws": 500, **(fit_options or {})}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_law(
            runs,
            "hyperparams",
            far_above=0.03,
            divergence="exclude",
            seed=seed,
            warn=False,
            progress_bar=False,
            **opts,
        )
    optima = fit.law.sweep_optima(fit.posterior())
    level = np.asarray(fit.draws()["level"]) + fit.record.scales["loss"]
    held = [
        c
        for c in np.argsort(optima["D"], kind="stable")
        if np.isclose(optima["N"][c], STEPLAW_HELD_N, rtol=0.01)
    ]
    rows = []
    for quantity, draws in (
        ("eta_opt", optima["log_eta"]),
        ("B_opt", optima["log_B"]),
        ("loss_opt", level),
    ):
        for c in held:
            n, d = float(optima["N"][c]), float(optima["D"][c])
            rows.append(
                {
                    "label": component_label(quantity, n, d),
                    "quantity": quantity,
                    "N": n,
                    "D": d,
                    "truth": float(np.exp(np.median(draws[:, c]))),
                }
            )
    return pd.DataFrame(rows)


def _removed_text(exclusions) -> str:
    """'; <n> runs removed before the split: <reason>' for a pool's note, or ''."""
    if not exclusions:
        return ""
    parts = "; ".join(f"{e.count} runs removed before the split: {e.reason}" for e in exclusions)
    return f"; {parts}"


def epoch_pool() -> Pool:
    """Epoch AI's digitised Chinchilla runs (real; ``bundled.epoch_chinchilla()``): C <= 1e21
    is the pool, 217 runs: 222 points lie there, of which the 5 highest-loss points of the data
    set (all at C <= 1e21) are removed as Epoch AI did (recorded in ``Pool.exclusions`` and the
    note). The 23 runs above 1e21 FLOPs are the target region and the decision quantity (their
    losses). No paper grid."""
    train, held = epoch_split()
    removed = tuple(train.exclusions[:-1])  # the last is the split's own (held-out runs)
    pool = _frame(train)
    out = held.copy()
    return Pool(
        name="epoch",
        kind="loss",
        runs=pool,
        held_out=out,
        law="chinchilla",
        fit_options={},
        targets=[design.Loss(N=out["N"].to_numpy(), D=out["D"].to_numpy())],
        truth=pd.DataFrame(
            {
                "label": [
                    component_label("loss", n, d) for n, d in zip(out["N"], out["D"], strict=True)
                ],
                "truth": out["loss"].to_numpy(float),
            }
        ),
        start_size=12,
        calibrate_drift=True,
        note="Epoch AI's Chinchilla points (real); held out C > 1e21 (23 runs)"
        + _removed_text(removed),
        exclusions=removed,
    )


def isoflop_pool(name, train, held, *, simulated=False, note="") -> Pool:
    """An isoFLOP pool: the fitted budgets' points are the pool, the held-out budgets the target
    region; decision quantity N_opt at each held-out budget against its empirical vertex (a
    quadratic in ln N); grid: the curves budget by budget, smallest first."""
    pool = _frame(train)
    out = held.copy()
    budgets = np.sort(out["C"].unique())
    vertices = empirical_vertices(out).sort_values("C")
    truth = pd.DataFrame(
        {
            "label": [f"N_opt(C={c:.3g})" for c in vertices["C"]],
            "truth": vertices["N_vertex"].to_numpy(float),
            "lower": vertices["N_vertex_lower"].to_numpy(float),
            "upper": vertices["N_vertex_upper"].to_numpy(float),
        }
    )
    return Pool(
        name=name,
        kind="nopt",
        runs=pool,
        held_out=out,
        law="chinchilla",
        targets=[design.NOpt(C=budgets)],
        truth=truth,
        start_size=12,
        grid=pool.sort_values(["C", "N"]).index,
        simulated=simulated,
        extrapolation=DEFAULT_METHOD,
        note=note,
    )


def porian_pool(config: str = "rw/tuned/short/const") -> Pool:
    """Porian et al.'s isoFLOP points for one configuration (real; selection data): the two
    largest budgets held out."""
    train, held = porian_split(config)
    return isoflop_pool(
        "porian", train, held, note=f"Porian isoFLOP {config} (real); held out 2 largest budgets"
    )


def compendium_pool(source: str, dataset: str | None = None) -> Pool:
    """CONFIRMATION DATA (docs/calibration_protocol.md): the isoFLOP compendium's Llama-3 or
    Marin pool, split as the protocol says. Scored once, after the protocol's confirmation run:
    ``benchmarks/design_replay.py`` runs these only with ``--confirmation``."""
    train, held = compendium_split(source, dataset)
    label = source if dataset is None else f"{source}_{dataset}"
    return isoflop_pool(label, train, held, note=f"isoFLOP compendium {label} (confirmation)")


COMPENDIUM_SHAPES = {
    # budgets (FLOPs), points per budget, held-out budgets: the shapes of the compendium's pools
    # as the calibration protocol describes them (Llama-3: 10 budgets 6e18-1e22, 133 points,
    # > 1e21 held out; Marin: largest budget 3e20 held out, 15 points there)
    "llama_3": (np.geomspace(6e18, 1e22, 10), 13, 2),
    "marin": (np.geomspace(1e18, 3e20, 6), 15, 1),
}


def simulated_isoflop_pool(shape: str = "llama_3", seed: int = 0, noise_sd: float = 0.005):
    """A SIMULATED pool of the compendium's shape (for testing the code path; its truth is
    known): isoFLOP curves of a Chinchilla truth whose exponents bend beyond 3e9 params / 5e10
    tokens (``posterior.splits.simulated_truth_loss``), sizes spread +-0.8 decades around the
    optimum, relative noise ``noise_sd``."""
    budgets, per_budget, n_held = COMPENDIUM_SHAPES[shape]
    rng = np.random.default_rng(seed)
    rows = []
    for C in budgets:
        centre = 0.1 * C**0.5
        for N in centre * np.logspace(-0.8, 0.8, per_budget):
            rows.append((N, C))
    N, C = (np.array(v) for v in zip(*rows, strict=True))
    truth = simulated_truth_loss(N, C / (6 * N), bend=0.1)
    loss = truth * np.exp(noise_sd * rng.standard_normal(truth.shape))
    # C given (D derived), so each curve's points share their budget exactly: C = 6 N D
    # recomputed from N and D differs in the last bits, and the vertices group points by C
    runs = load_runs(pd.DataFrame({"N": N, "C": C, "loss": loss}))
    held = runs.df["C"] >= np.sort(budgets)[-n_held] * (1 - 1e-9)
    train = runs.exclude(held.to_numpy(), "held-out budgets (simulated)")
    return isoflop_pool(
        f"simulated_{shape}",
        train,
        runs.df[held],
        simulated=True,
        note=f"SIMULATED isoFLOP pool of the {shape} compendium shape (bent Chinchilla truth)",
    )
