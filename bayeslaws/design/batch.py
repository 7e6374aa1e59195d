"""Greedy batches of next runs and the ranking of single candidates, with guardrails and costs.

Batches are chosen greedily, conditioning the joint Gaussian (:mod:`.gaussian`) on the runs
already picked. The Gaussian information about all parameters is submodular (greedy is within
1 - 1/e of the best batch); the information about a target is not always (two runs can be worth
more together than apart), so for targets greedy is a heuristic.

Costs: ``cost="flops"`` uses the fit's compute model (6ND by default); a column name uses that
column (e.g. GPU-hours); ``cost=None`` ranks by information alone.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from .bounds import bounds
from .candidates import positive_int
from .gaussian import Problem, condition_rows, setup, unit_gains, unit_rows, widths
from .targets import positive

ESTIMATORS = ("gaussian",)
BOUND_ESTIMATORS = ("nmc", "pce", "reweighted")


# ---- guardrails ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Guardrails:
    """Rules a greedy batch obeys (each can be switched off).

    max_repeats : picks of one design point (same N, D and lr, batch_size if present) per batch;
        None = no cap. Default 1.
    ratio_diversity : never a batch of >= 2 runs whose tokens per parameter D/N all lie within a
        factor ``ratio_tol`` of each other (an ill-conditioned design): the last pick is then
        restricted to other ratios. Default True.
    ratio_tol : the factor that counts as "one ratio" (default 1.5).
    min_size_spread : if set, the batch's model sizes must span at least this factor (max N /
        min N), enforced at the last pick. Default None (off).
    """

    max_repeats: int | None = 1
    ratio_diversity: bool = True
    ratio_tol: float = 1.5
    min_size_spread: float | None = None

    def __post_init__(self):
        if self.max_repeats is not None:
            positive_int("max_repeats", self.max_repeats)
        if not self.ratio_tol > 1:
            raise ValueError(f"ratio_tol must be > 1, got {self.ratio_tol!r}")
        if self.min_size_spread is not None and not self.min_size_spread >= 1:
            raise ValueError(f"min_size_spread must be >= 1 or None, got {self.min_size_spread!r}")


def design_keys(df: pd.DataFrame, row_unit: np.ndarray, n_units: int) -> list:
    """Per unit, a key of its design point(s): logs of N, D (and lr, batch_size) of its rows."""
    cols = [c for c in ("N", "D", "lr", "batch_size") if c in df]
    rows = np.round(np.log(df[cols].to_numpy(float)), 6)
    return [tuple(rows[row_unit == u].ravel().tolist()) for u in range(n_units)]


def allowed(g: Guardrails, picked, keys, ratio, sizes, remaining):
    """Boolean mask of units allowed as the next pick."""
    U = len(keys)
    ok = np.ones(U, bool)
    if g.max_repeats is not None:
        counts: dict = {}
        for p in picked:
            counts[keys[p]] = counts.get(keys[p], 0) + 1
        ok &= np.array([counts.get(k, 0) < g.max_repeats for k in keys])
    last = remaining == 1 and len(picked) >= 1
    if last and g.ratio_diversity:
        pr = np.log(ratio[picked])
        if pr.max() - pr.min() <= np.log(g.ratio_tol):
            centre = 0.5 * (pr.max() + pr.min())
            ok &= np.abs(np.log(ratio) - centre) > np.log(g.ratio_tol)
    if last and g.min_size_spread is not None:
        ps = np.log(sizes[picked])
        lo = np.minimum(ps.min(), np.log(sizes))
        hi = np.maximum(ps.max(), np.log(sizes))
        ok &= hi - lo >= np.log(g.min_size_spread) - 1e-12
    return ok


# ---- costs -------------------------------------------------------------------------------------
def unit_costs(fit, p: Problem, cost):
    """(FLOPs per unit (U,), cost per unit (U,) or None, cost name)."""
    df, U = p.cands, len(p.labels)
    flops_row = np.asarray(fit.compute_model.flops(df["N"], df["D"]), float)
    flops = np.bincount(p.row_unit, weights=flops_row, minlength=U)
    if cost is None:
        return flops, None, "none"
    if isinstance(cost, str) and cost == "flops":
        return flops, flops, "flops"
    if isinstance(cost, str):
        if cost not in df:
            raise ValueError(f"cost={cost!r} is neither 'flops' nor a column of cands {list(df)}")
        col = positive(f"cands[{cost!r}]", df[cost].to_numpy())
        return flops, np.bincount(p.row_unit, weights=col, minlength=U), cost
    raise ValueError(f"cost must be 'flops', a column name of cands, or None; got {cost!r}")


def _width_columns(rec: dict, p: Problem, now, post_var_u) -> None:
    prior_var = np.var(p.tdraws, axis=0, ddof=1)
    for j, lab in enumerate(p.tlabels):
        rec[f"width_now[{lab}]"] = now[j]
        rec[f"width_after[{lab}]"] = now[j] * np.sqrt(np.clip(post_var_u[j] / prior_var[j], 0, 1))


# ---- the ranking and the greedy batch ------------------------------------------------------------
def rank_candidates(
    fit,
    cands,
    target=None,
    *,
    cost="flops",
    seed: int = 0,
    max_draws=None,
    ci: float = 0.9,
    group=None,
) -> pd.DataFrame:
    """Every candidate's expected information alone (Gaussian estimator), best first.

    Columns: the candidate's columns (first row of a unit), unit, n_runs, info (nats), flops,
    cost, info_per_flop, info_per_cost, width_now_* and width_after_* per target component
    (central ``ci`` interval on the natural scale; after = expected under the Gaussian
    approximation), sorted by info per cost (info alone with ``cost=None``).
    """
    p = setup(fit, cands, target, seed, max_draws, group)
    flops, costs, cost_name = unit_costs(fit, p, cost)
    with jax.enable_x64(True):
        gains, post_var = unit_gains(
            jnp.asarray(p.A),
            jnp.zeros((1, p.A.shape[1])),
            jnp.asarray(np.maximum(p.idx, 0)),
            jnp.asarray(p.noise_row),
            jnp.asarray(p.nuis),
            p.n_target,
        )
        gains, post_var = np.asarray(gains), np.asarray(post_var)
    out = unit_rows(p)
    out["info"] = gains
    out["flops"] = flops
    out["cost"] = flops if costs is None else costs
    out["info_per_flop"] = gains / flops
    if costs is not None and cost_name != "flops":
        out["info_per_cost"] = gains / costs
    now = widths(p.tdraws, ci)
    if now is not None:
        extra = [{} for _ in range(len(out))]
        for u, rec in enumerate(extra):
            _width_columns(rec, p, now, post_var[u])
        out = pd.concat([out, pd.DataFrame(extra)], axis=1)
    key = (
        "info" if costs is None else ("info_per_flop" if cost_name == "flops" else "info_per_cost")
    )
    return out.sort_values(key, ascending=False, kind="stable").reset_index(drop=True)


def next_runs(
    fit,
    cands,
    target=None,
    *,
    cost="flops",
    k: int = 3,
    estimator: str = "gaussian",
    guardrails: Guardrails | None = None,
    confirm: int = 0,
    seed: int = 0,
    max_draws=None,
    ci: float = 0.9,
    group=None,
) -> pd.DataFrame:
    """The next ``k`` runs (units) to train, chosen greedily with conditioning, best first.

    Parameters
    ----------
    fit : a fit of any law (loss surface, isoFLOP, hyperparameter laws).
    cands : candidate runs (DataFrame with the law's run columns; ``unit`` groups rows).
    target : :class:`~.targets.Loss`, :class:`~.targets.NOpt`, :class:`~.targets.HyperparamOpt`,
        :class:`~.targets.AllParameters` (default) or a list of targets (joint information).
    cost : "flops" (the compute model), a column of ``cands`` (e.g. GPU-hours), or None (rank
        by information alone). Each pick maximises information gain / cost.
    k : number of units to pick.
    estimator : "gaussian" (the only one fast enough for the greedy batch; see
        :func:`~.bounds.bounds` to confirm with nested Monte Carlo / PCE).
    guardrails : :class:`Guardrails` (default ``Guardrails()``: no repeats in a batch, never a
        batch along one tokens-per-parameter ratio). ``Guardrails(None, False)`` switches off.
    confirm : if > 0, add NMC / PCE / reweighted columns (:func:`~.bounds.bounds`) for the
        picks (each alone, not conditioned on the batch).
    seed, max_draws : seeding and thinning of the posterior draws.
    ci : interval mass of the reported widths.
    group : the group the candidate runs belong to (grouped fits; None: a new group).

    Returns
    -------
    DataFrame, one row per pick in pick order: the candidate's columns, unit, n_runs, rank,
    info (marginal nats given the earlier picks), cumulative_info, flops, cost, info_per_flop
    (marginal), cumulative_flops, width_now_* and width_after_* (expected width of the target
    interval after this and all earlier picks, Gaussian), guardrail (which rule restricted this
    pick, if any).
    """
    if estimator not in ESTIMATORS:
        raise ValueError(
            f"estimator must be one of {ESTIMATORS} for next_runs (the greedy batch); "
            f"use bounds() for {BOUND_ESTIMATORS}"
        )
    k = positive_int("k", k)
    guardrails = Guardrails() if guardrails is None else guardrails
    if not isinstance(guardrails, Guardrails):
        raise ValueError(f"guardrails must be a bayeslaws.design.Guardrails, got {guardrails!r}")
    p = setup(fit, cands, target, seed, max_draws, group)
    flops, costs, _ = unit_costs(fit, p, cost)
    U, m = p.idx.shape
    T = p.n_target
    keys = design_keys(p.cands, p.row_unit, U)
    rows = unit_rows(p)
    ratio = (rows["D"] / rows["N"]).to_numpy(float)
    sizes = rows["N"].to_numpy(float)
    obs_var = p.obs_var
    picked, records, total = [], [], 0.0
    now = widths(p.tdraws, ci)
    with jax.enable_x64(True):
        Aj = jnp.asarray(p.A)
        idx_j = jnp.asarray(np.maximum(p.idx, 0))
        noise_j, nuis_j = jnp.asarray(p.noise_row), jnp.asarray(p.nuis)
        W = jnp.zeros((k * m + 1, p.A.shape[1]))  # fixed shape: one compile per problem size
        n_w = 0
        for step in range(min(k, U)):
            gains, post_var = unit_gains(Aj, W, idx_j, noise_j, nuis_j, T)
            gains, post_var = np.asarray(gains), np.asarray(post_var)
            score = gains if costs is None else gains / costs
            ok = allowed(guardrails, picked, keys, ratio, sizes, min(k, U) - step)
            note = ""
            if not ok.any():
                relaxed = Guardrails(guardrails.max_repeats, False)
                ok = allowed(relaxed, picked, keys, ratio, sizes, min(k, U) - step)
                warnings.warn(
                    "no candidate satisfies the ratio/size guardrails for the last pick; "
                    "relaxing them",
                    stacklevel=2,
                )
                note = "relaxed"
            elif not ok.all() and np.argmax(np.where(ok, score, -np.inf)) != np.argmax(score):
                note = "restricted"
            if not ok.any():
                break
            u = int(np.argmax(np.where(ok, score, -np.inf)))
            picked.append(u)
            total += gains[u]
            obs_rows = p.idx[u][p.idx[u] >= 0]
            newW = condition_rows(
                Aj, W, jnp.asarray(obs_rows + T), jnp.asarray(obs_var[obs_rows]), nuis_j[u]
            )
            W = W.at[n_w : n_w + len(obs_rows)].set(newW)
            n_w += len(obs_rows)
            rec = rows.iloc[u].to_dict()
            rec.update(
                rank=step + 1,
                info=gains[u],
                cumulative_info=total,
                flops=flops[u],
                cost=flops[u] if costs is None else costs[u],
                info_per_flop=gains[u] / flops[u],
                guardrail=note,
            )
            if now is not None:
                _width_columns(rec, p, now, post_var[u])
            records.append(rec)
    out = pd.DataFrame(records)
    out["cumulative_flops"] = out["flops"].cumsum()
    if confirm:
        positive_int("confirm", confirm)
        chosen = p.cands[np.isin(p.row_unit, picked)]
        b = bounds(fit, chosen, target, seed=seed, max_draws=max_draws, group=group)
        b = b.set_index("unit").loc[[p.labels[u] for u in picked]]
        for col in ("nmc_all", "pce_all", "reweighted"):
            if col in b:
                out[col] = b[col].to_numpy()
    return out
