"""The strategies of a campaign (:data:`STRATEGIES`): which runs each buys within a step's
budget (:func:`choose`): ours (``bayeslaws.design.next_runs`` on the pool's targets), random
(:func:`random_fill`), the V-optimal baseline (:func:`vopt_target`) and the paper's grid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ... import design
from ...design.batch import runs_of_plan
from .checks import BUDGET_RTOL
from .pool import Pool

STRATEGIES = ("ours", "random", "vopt", "grid")
VOPT_COST_POWER = 0.3  # SL2's V-optimal baseline: score = variance reduction / cost^0.3
VOPT_MAX_POINTS = 40  # held-out runs whose predicted losses the V-optimal baseline targets
POOL_FLOPS = "pool_C"  # the candidates' column of the pool's C (FLOPs), what ours and vopt spend


def random_fill(costs, budget: float, rng, k: int | None = None) -> np.ndarray:
    """Positions (into ``costs``, FLOPs of each candidate, shape (n,)) of a random batch
    within ``budget`` FLOPs (up to :data:`BUDGET_RTOL`): the candidates in a random order
    (``rng.permutation``), each taken when it fits what is left. ``k=None``: as many as fit.
    ``k``: exactly ``k``, a candidate taken only when the ``k`` can still be completed by the
    cheapest of those after it, so a batch of ``k`` is found whenever one fits (not uniform
    over such batches); none (empty) when no ``k`` fit together."""
    costs = np.asarray(costs, float)
    limit = budget * (1 + BUDGET_RTOL)
    if k is not None and (len(costs) < k or np.sort(costs)[:k].sum() > limit):
        return np.array([], int)
    order = rng.permutation(len(costs))
    picked, spent = [], 0.0
    for at, i in enumerate(order):
        need = 0 if k is None else k - len(picked) - 1
        rest = np.sort(costs[order[at + 1 :]])[:need].sum() if need else 0.0
        if spent + costs[i] + rest <= limit:
            picked.append(i)
            spent += costs[i]
            if k is not None and len(picked) == k:
                break
    return np.array(picked, int)


def _rows_of(plan: pd.DataFrame, cands: pd.DataFrame) -> pd.Index:
    """Candidate row labels of every run of the units a plan picked
    (:func:`~bayeslaws.design.batch.runs_of_plan`), in the candidates' (the pool's) order."""
    picked = runs_of_plan(cands, plan).index
    return cands.index[cands.index.isin(picked)]


def vopt_target(pool: Pool, seed: int = 0):
    """The V-optimal baseline's target: the predicted losses at the settings (N params, D
    tokens; lr and batch size in tokens for an LR x batch pool) of up to ``VOPT_MAX_POINTS``
    held-out runs, sampled (``seed``) from all of them. Only settings are read: a held-out
    run's loss, and whether it diverged (which its loss tells), is outcome information from the
    target region that a baseline must not be given (only the R^2 scoring drops diverged runs,
    :func:`held_out_predictions`)."""
    out = pool.held_out
    if len(out) > VOPT_MAX_POINTS:
        out = out.sample(VOPT_MAX_POINTS, random_state=seed)
    if pool.kind == "hyperparams":
        return design.Loss(
            N=out["N"].to_numpy(),
            D=out["D"].to_numpy(),
            lr=out["lr"].to_numpy(),
            batch_size=out["batch_size"].to_numpy(),
        )
    return design.Loss(N=out["N"].to_numpy(), D=out["D"].to_numpy())


def choose(
    strategy: str,
    pool: Pool,
    fit,
    trained: pd.Index,
    budget: float,
    rng,
    *,
    seed: int = 0,
    max_draws: int | None = 400,
) -> pd.Index:
    """Row labels of the runs ``strategy`` adds within ``budget`` FLOPs (this batch), every
    strategy costing a run by the pool's C (its nominal compute, which may differ from 6ND);
    the guardrails of ours and vopt tell a run's group apart when the pool has groups. The
    design's warnings (``next_runs``: DesignWarning, GuardrailWarning, a budget left unspent)
    reach the caller; a replay records them in its history (column ``design_warnings``,
    :func:`campaign_steps`) and names the steps once at its end (:func:`warn_trouble`)."""
    remaining = pool.runs.drop(index=trained)
    remaining = remaining[remaining["C"] <= budget * (1 + BUDGET_RTOL)]
    if remaining.empty:
        return remaining.index
    if strategy == "random":
        return remaining.index[random_fill(remaining["C"].to_numpy(float), budget, rng)]
    if strategy == "grid":
        if pool.grid is None:
            raise ValueError(f"pool {pool.name!r} has no paper grid")
        order = [i for i in pool.grid if i not in set(trained)]
        picked, spent = [], 0.0
        for i in order:
            c = float(pool.runs.loc[i, "C"])
            if spent + c > budget * (1 + BUDGET_RTOL):
                break
            picked.append(i)
            spent += c
        return pd.Index(picked)
    # every strategy spends the pool's own C (Marin's differs from 6ND by up to 26%): the
    # design costs, budgets and reports its candidates by it (next_runs' flops_column)
    columns = [c for c in ("N", "D", "lr", "batch_size", "group") if c in remaining]
    cands = design.pool_units(fit, remaining[columns].assign(**{POOL_FLOPS: remaining["C"]}))
    done = pool.runs.loc[trained, columns]
    if strategy == "ours":
        plan = design.next_runs(
            fit,
            cands,
            pool.targets,
            k=None,
            budget=budget,
            guardrails=design.Guardrails().after(done),
            seed=seed,
            max_draws=max_draws,
            flops_column=POOL_FLOPS,
        )
    elif strategy == "vopt":
        plan = design.next_runs(
            fit,
            cands,
            vopt_target(pool, seed),
            k=None,
            budget=budget,
            criterion="v_optimal",
            model="none",
            cost_power=VOPT_COST_POWER,
            guardrails=design.Guardrails(ratio_diversity=False).after(done),
            seed=seed,
            max_draws=max_draws,
            flops_column=POOL_FLOPS,
        )
    else:
        raise ValueError(f"unknown strategy {strategy!r}; choose from {STRATEGIES}")
    return _rows_of(plan, cands)
