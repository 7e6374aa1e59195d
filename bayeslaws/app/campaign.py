"""A simulated design campaign (fit -> choose -> simulate) against a known truth, and Yin et
al.'s fixed fitting grid: the closed loop ``benchmarks/design_campaign.py`` runs. All data here
are SIMULATED (:class:`~bayeslaws.runs.simulate.VideoDiTTruth`).

Units: N params, D tokens, C FLOPs.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..design import DesignWarning, Guardrails, Loss, NOpt, next_runs
from ..design.candidates import positive_int
from ..inference import fit as fit_law
from ..inference.diagnostics import SamplerWarning
from ..inference.nuts import derived_seed
from ..runs import load_runs
from ..runs.checks import is_real
from ..runs.compute import linear
from ..runs.simulate import VideoDiTTruth
from ..runs.warn import user_stacklevel
from .replay import BUDGET_RTOL, cells_of, joined, r_hat_text, random_fill
from .replay.trouble import recording_warnings, warnings_trouble

STRATEGIES = ("ours", "ours_no_cost", "random", "grid")
PAPER_SIZES = (0.017e9, 0.057e9, 0.13e9, 0.26e9)  # Yin et al.'s four small models (params)
PAPER_TOKENS = (2e9, 4e9, 8e9, 12e9)  # training tokens per size in the simulated sweep


def paper_grid() -> pd.DataFrame:
    """Yin et al.'s fitting design as (N, D) cells, smallest model first: 4 sizes x 4 budgets."""
    N, D = np.meshgrid(PAPER_SIZES, PAPER_TOKENS, indexing="ij")
    return pd.DataFrame({"N": N.ravel(), "D": D.ravel()})


PAPER_START = ((0, 0), (0, 1), (1, 0), (1, 1))  # (size, token) indices: the paper's start
START_CELLS = 4  # cells of the default start design


def paper_start() -> pd.DataFrame:
    """The default start design on the paper grid: its two smallest models at its two smallest
    token budgets (N params, D tokens), the four cells every campaign began from before
    :func:`default_start` took any grid."""
    N = [PAPER_SIZES[i] for i, _ in PAPER_START]
    D = [PAPER_TOKENS[j] for _, j in PAPER_START]
    return pd.DataFrame({"N": N, "D": D})


def _cell_keys(frame: pd.DataFrame) -> list:
    """The (N, D) cell of each row of a design, rounded in log space (one key per cell)."""
    return list(zip(np.round(np.log(frame.N), 6), np.round(np.log(frame.D), 6), strict=True))


def untrained(cells: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``cells`` (N params, D tokens) at a cell no run of ``runs`` trained, each
    cell once (its first row), in order: what a campaign may still train."""
    done = set(_cell_keys(runs))
    keys = _cell_keys(cells)
    first = ~pd.Series(keys).duplicated().to_numpy(bool)
    keep = np.array([k not in done for k in keys], bool) & first
    return cells[keep].reset_index(drop=True)


def check_budget(budget, start_flops: float) -> float:
    """``budget`` (FLOPs) as a float, refused (ValueError naming ``budget``) unless it is a
    finite number at least ``start_flops``, what the start design spends: a campaign below
    it could buy nothing and would report the start alone."""
    if not is_real(budget) or not np.isfinite(budget):
        raise ValueError(f"budget must be a finite number of FLOPs, got {budget!r}")
    if budget < start_flops * (1 - BUDGET_RTOL):
        raise ValueError(
            f"budget={float(budget):.4g} FLOPs is below what the start design spends "
            f"({start_flops:.4g} FLOPs): no campaign could buy a run; give a larger budget "
            "(None: the grid's total compute)"
        )
    return float(budget)


def default_start(grid: pd.DataFrame, truth) -> pd.DataFrame:
    """The start design for a fixed ``grid`` of (N params, D tokens) cells: on the paper grid
    (the same cells, in any order) :func:`paper_start`, as always; on any other grid its
    :data:`START_CELLS` cheapest cells by training FLOPs (``truth.flops``; ties by grid order).
    A grid of fewer cells is refused (ValueError naming ``grid``)."""
    if len(grid) < START_CELLS:
        raise ValueError(
            f"grid must hold at least {START_CELLS} (N, D) cells, the default start design "
            f"(its {START_CELLS} cheapest cells), got {len(grid)}; or pass start="
        )
    if set(_cell_keys(grid)) == set(_cell_keys(paper_grid())):
        return paper_start()
    flops = np.asarray(truth.flops(grid["N"], grid["D"]), float)
    cheapest = np.argsort(flops, kind="stable")[:START_CELLS]
    return grid.iloc[np.sort(cheapest)][["N", "D"]]


def campaign_pool() -> pd.DataFrame:
    """The candidate pool of the campaign: 7 sizes (0.017B-0.26B) x 7 token budgets (1B-12B),
    the paper's grid included (the same ranges as the paper: the question is which cells)."""
    sizes = np.unique(np.concatenate([PAPER_SIZES, [0.03e9, 0.09e9, 0.18e9]]))
    tokens = np.unique(np.concatenate([PAPER_TOKENS, [1e9, 3e9, 6e9]]))
    N, D = np.meshgrid(sizes, tokens, indexing="ij")
    return pd.DataFrame({"N": N.ravel(), "D": D.ravel()})


@dataclass
class Campaign:
    """Result of :func:`simulate_campaign`. Its data are SIMULATED: both tables say so
    (columns ``simulated``, always True, and ``truth_model``, :func:`truth_model` of the truth).

    history : one row per (strategy, seed, step, target): n_runs, cumulative_flops,
        divergences, truth, median, lower, upper (central ``ci`` interval, natural units),
        width_rel (interval width / truth), error_rel (|median / truth - 1|), simulated,
        truth_model, failure (missing, or the error that stopped the campaign at this step:
        its fit failed, values NaN, or choosing its next runs failed), design_warnings (the
        ``"Category: message"`` texts the choice of the next runs after this step's fit raised,
        ";"-joined as a replay's column of that name; "" when none, or no choice was made) and
        the fit's sampler health (:func:`sampler_columns`): max_r_hat, min_ess_bulk, sampler_ok
        (NaN without a fit).
    runs : every run trained, per (strategy, seed): N, D, loss, step (0 = start design), C,
        simulated, truth_model.
    truth : the truth the losses were simulated from.
    """

    history: pd.DataFrame
    runs: pd.DataFrame
    truth: object = None


def truth_model(truth) -> str:
    """A short description of a simulation ``truth`` for the tables: a dataclass as its class
    and the fields that differ from the class defaults (``VideoDiTTruth()``,
    ``VideoDiTTruth(noise_sd=0.001)``), anything else as its repr."""
    if not dataclasses.is_dataclass(truth) or isinstance(truth, type):
        return repr(truth)
    changed = []
    for f in dataclasses.fields(truth):
        value = getattr(truth, f.name)
        if f.default is dataclasses.MISSING or not _same(value, f.default):
            changed.append(f"{f.name}={value!r}")
    return f"{type(truth).__name__}({', '.join(changed)})"


def _same(value, default) -> bool:
    """Whether a field's ``value`` equals its ``default`` (False when they do not compare)."""
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False


def _failure_text(stage: str, error: Exception) -> str:
    """The history's failure entry: what failed (``stage``) and the error."""
    return f"{stage} failed: {type(error).__name__}: {error}"


def failure_note(failures: list, campaigns: int) -> str:
    """The note added to the error :func:`simulate_campaign` re-raises: every failed campaign
    (``failures``: (strategy, seed, step, text) each) of ``campaigns``, and where the finished
    steps are."""
    parts = [
        f"{strategy} seed {seed} step {step}: {text}" for strategy, seed, step, text in failures
    ]
    others = " (the others ran on)" if len(failures) < campaigns else ""
    return (
        f"simulate_campaign: {len(failures)} of {campaigns} campaigns failed and stopped"
        f"{others}: {'; '.join(parts)}. What finished is this error's .campaign (a Campaign; "
        "history column failure marks the failed steps)."
    )


def sampler_columns(diagnostics) -> dict:
    """History columns of a fit's sampler health (a :class:`~.diagnostics.Diagnostics`):
    max_r_hat (NaN with one chain), min_ess_bulk (draws) and sampler_ok (False when R-hat,
    ESS, divergences or tree depth failed :func:`~.diagnostics.check`'s bars)."""
    return {
        "max_r_hat": diagnostics.max_r_hat,
        "min_ess_bulk": diagnostics.min_ess_bulk,
        "sampler_ok": diagnostics.ok,
    }


def sampler_trouble(history: pd.DataFrame, shown: int = 5) -> str | None:
    """The warning text when fits of a campaign ``history`` (one or more rows per fit, keyed
    by strategy, seed and step, with :func:`sampler_columns`) failed the sampler checks,
    naming the first ``shown`` of them; None when all passed."""
    if history.empty:
        return None
    history = history[history["sampler_ok"].notna()]  # a failed fit has no sampler health
    if history.empty:
        return None
    history = history.assign(sampler_ok=history["sampler_ok"].astype(bool))
    fits = history.groupby(["strategy", "seed", "step"], sort=False).agg(
        ok=("sampler_ok", "all"), r_hat=("max_r_hat", "max"), ess=("min_ess_bulk", "min")
    )
    bad = fits[~fits["ok"]]
    if bad.empty:
        return None
    parts = [
        f"{strategy} seed {seed} step {step}: max R-hat {r_hat_text(r_hat)}, min bulk ESS "
        f"{ess:.0f}"
        for (strategy, seed, step), r_hat, ess in zip(bad.index, bad.r_hat, bad.ess, strict=True)
    ]
    first = f" (the first {shown})" if len(parts) > shown else ""
    return (
        f"simulate_campaign: {len(bad)} of {len(fits)} fits failed the sampler checks; "
        f"their target intervals may be unreliable{first}: {'; '.join(parts[:shown])}. See the "
        "history columns sampler_ok, max_r_hat, min_ess_bulk and divergences; more draws: "
        "fit_options={'warmup': ..., 'draws': ...}"
    )


def design_trouble(history: pd.DataFrame) -> str | None:
    """The DesignWarning text when choosing the next runs warned at steps of a campaign
    ``history`` (column ``design_warnings``, one cell per (strategy, seed, step), repeated on
    its target rows): the replay's (:func:`~.replay.trouble.warnings_trouble`) over one row per
    step; None when no choice warned."""
    if history.empty or "design_warnings" not in history:
        return None
    steps = history.drop_duplicates(["strategy", "seed", "step"])
    return warnings_trouble(
        steps, "design_warnings", "simulate_campaign", "choosing the next runs",
        name=lambda r: f"{r['strategy']} seed {r['seed']} step {r['step']}",
    )  # fmt: skip


def _record(fit, targets, truth_values, ci, seed):
    """One history entry per target of a fit: its posterior (natural units) against the truth."""
    rows = []
    for target, true in zip(targets, truth_values, strict=True):
        draws = np.exp(target.draws(fit, seed))[:, 0]
        lo, med, hi = np.quantile(draws, [(1 - ci) / 2, 0.5, (1 + ci) / 2])
        rows.append(
            {
                "target": target.labels()[0],
                "truth": true,
                "median": med,
                "lower": lo,
                "upper": hi,
                "width_rel": (hi - lo) / true,
                "error_rel": abs(med / true - 1.0),
            }
        )
    return rows


def _failed_fit(targets, truth_values) -> list[dict]:
    """The history entries of a fit that failed: each target and its truth, the rest NaN."""
    return [
        {
            "target": target.labels()[0],
            "truth": true,
            **dict.fromkeys(("median", "lower", "upper", "width_rel", "error_rel"), np.nan),
        }
        for target, true in zip(targets, truth_values, strict=True)
    ]


def simulate_campaign(
    strategies=STRATEGIES,
    seeds=(0,),
    *,
    truth=None,
    targets=None,
    start=None,
    pool=None,
    grid=None,
    budget=None,
    batch: int = 2,
    max_steps: int = 12,
    fit_options: dict | None = None,
    max_draws=None,
    ci: float = 0.9,
    log=None,
    checkpoint=None,
) -> Campaign:
    """Closed-loop experimental design against a known truth: fit -> choose -> simulate.

    Every campaign starts from the same small design (``start``, default
    :func:`default_start`: on the paper grid its two smallest models at its two smallest token
    budgets, on another ``grid`` its four cheapest cells by FLOPs), fits the Chinchilla law by
    NUTS, records each target's posterior, picks ``batch`` runs by its strategy within the
    ``budget`` FLOPs left (default: the grid's total compute; refused below what the start
    spends), simulates their losses from ``truth`` and refits, for ``max_steps`` batches or
    until the strategy has nothing left to buy: the pool's strategies stop only when no
    ``batch`` of untrained pool cells fits the budget left together (ours may buy fewer than
    ``batch`` when its budgeted greedy picks leave no room for more), grid when its next
    ``batch`` cells do not fit.

    Strategies: "ours" (greedy information about the joint targets per FLOP, with the default
    guardrails counting the runs already trained), "ours_no_cost" (information alone, the same
    guardrails), "random" (a random batch of the pool's cells that fits the budget left) and
    "grid" (the paper's fixed grid, cells in order, smallest model first). No strategy trains
    a cell (N, D) twice: the pool's and the grid's trained cells are dropped before every pick.

    The fit loads the runs under the truth's compute model (C = k N D, k =
    ``truth.flops_per_param_token``), so its N_opt, ours' FLOPs per candidate and the budget
    are all counted as the truth counts them.

    Parameters
    ----------
    truth : :class:`~bayeslaws.simulate.VideoDiTTruth` (default): losses are
        ``loss_star(N, D) * exp(noise_sd * eps)`` (optimally tuned runs).
    targets : list of targets (default ``[Loss(N=1.07e9, D=1e10), NOpt(C=1e22)]``); each must
        be scalar. The truth's values: ``truth.loss_star`` and ``truth.n_opt``.
    start, pool, grid : DataFrames with columns N, D (others ignored): start design (default
        :func:`default_start` of the grid, which then needs at least 4 cells), candidates
        (default :func:`campaign_pool`), the fixed grid (default :func:`paper_grid`).
    fit_options : passed to :func:`bayeslaws.fit` (default gaussian likelihood, 2 chains x
        300 + 300).
    log : a callable taking a message string (progress), or None.
    checkpoint : a callable taking the history DataFrame so far, called after every step.

    Campaigns run in lock step (every campaign has the same number of runs at a step), so the
    compiled NUTS kernel of each data size is reused across strategies and seeds.

    Every table of the result labels its data SIMULATED (columns ``simulated`` and
    ``truth_model``; the truth itself is ``Campaign.truth``).

    A campaign whose fit or choice of runs raises stops there; the others run on. Its step's
    history rows hold the error (column ``failure``; a failed fit's values are NaN). At the
    end the first such error is re-raised, with a note naming every failed campaign and step
    and what finished attached as its ``campaign`` attribute (a :class:`Campaign`).

    The fits' warnings are not shown (a SamplerWarning names the fits that failed the sampler
    checks). The warnings of choosing the next runs (``next_runs``' DesignWarning,
    GuardrailWarning, a batch smaller than ``batch``, ...) are recorded, not shown, in the
    history column ``design_warnings``; at the end one DesignWarning names the steps that warned
    (:func:`design_trouble`).
    """
    strategies = [strategies] if isinstance(strategies, str) else list(strategies)
    for s in strategies:
        if s not in STRATEGIES:
            raise ValueError(f"strategies: unknown strategy {s!r}; choose from {STRATEGIES}")
    seeds = [seeds] if isinstance(seeds, int | np.integer) else list(seeds)
    if not seeds:
        raise ValueError("seeds must be a non-empty list of integers")
    batch = positive_int("batch", batch)
    max_steps = positive_int("max_steps", max_steps, 0)
    truth = VideoDiTTruth() if truth is None else truth
    targets = [Loss(N=1.07e9, D=1e10), NOpt(C=1e22)] if targets is None else list(targets)
    truth_values = []
    for t in targets:
        if isinstance(t, Loss):
            truth_values.append(float(truth.loss_star(t.N, t.D)))
        elif isinstance(t, NOpt):
            truth_values.append(float(truth.n_opt(t.C)))
        else:
            raise ValueError(f"targets: only scalar Loss and NOpt targets are supported, got {t!r}")
    grid = paper_grid() if grid is None else cells_of("grid", grid)
    start = default_start(grid, truth) if start is None else start
    start = cells_of("start", start)
    pool = campaign_pool() if pool is None else cells_of("pool", pool)
    if budget is None:
        budget = float(truth.flops(grid["N"], grid["D"]).sum())
    budget = check_budget(budget, float(truth.flops(start["N"], start["D"]).sum()))
    opts = {"likelihood": "gaussian", "chains": 2, "warmup": 300, "draws": 300}
    opts.update(fit_options or {})
    opts.setdefault("progress_bar", False)
    opts.setdefault("warn", False)

    def simulate_loss(N, D, rng):
        return truth.loss_star(N, D) * np.exp(truth.noise_sd * rng.standard_normal(len(N)))

    compute_model = linear(truth.flops_per_param_token)
    labels = {"simulated": True, "truth_model": truth_model(truth)}
    grid_rest = untrained(grid, start)
    camps = []
    for seed in seeds:
        for s in strategies:
            rng = np.random.default_rng([int(seed), 0])  # same start outcomes for every strategy
            runs = start.assign(loss=simulate_loss(start.N, start.D, rng), step=0)
            camps.append(
                {
                    "strategy": s,
                    "seed": int(seed),
                    "runs": runs,
                    "rng": np.random.default_rng([int(seed), 1 + STRATEGIES.index(s)]),
                    "live": True,
                    "grid_next": 0,
                }
            )
    history, failures = [], []
    for step in range(max_steps + 1):
        for c in camps:
            if not c["live"]:
                continue
            runs = c["runs"]
            spent = float(truth.flops(runs.N, runs.D).sum())
            key = {
                "strategy": c["strategy"],
                "seed": c["seed"],
                "step": step,
                "n_runs": len(runs),
                "cumulative_flops": spent,
            }
            try:
                table = load_runs(
                    runs[["N", "D", "loss"]].reset_index(drop=True), compute_model=compute_model
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fit = fit_law(table, seed=derived_seed(c["seed"], step), **opts)
                rows = [
                    {
                        **key,
                        "divergences": fit.diagnostics.divergences,
                        **row,
                        **labels,
                        "failure": None,
                        "design_warnings": "",
                        **sampler_columns(fit.diagnostics),
                    }
                    for row in _record(fit, targets, truth_values, ci, seed=0)
                ]
            except Exception as error:  # recorded; re-raised once the others finished
                text = _failure_text("the fit", error)
                rows = [
                    {
                        **key,
                        "divergences": np.nan,
                        **row,
                        **labels,
                        "failure": text,
                        "design_warnings": "",
                        **dict.fromkeys(("max_r_hat", "min_ess_bulk", "sampler_ok"), np.nan),
                    }
                    for row in _failed_fit(targets, truth_values)
                ]
                history.extend(rows)
                failures.append((c["strategy"], c["seed"], step, text, error))
                c["live"] = False
                continue
            history.extend(rows)
            if step == max_steps:
                continue
            remaining = budget - spent
            design_warnings: list[str] = []
            try:
                with recording_warnings(design_warnings):  # shown as they came if it raises
                    picks = _pick(
                        c, fit, runs, remaining, grid_rest, pool, truth, targets, batch, max_draws
                    )
            except Exception as error:  # recorded; re-raised once the others finished
                text = _failure_text("choosing the next runs", error)
                for row in rows:
                    row["failure"] = text
                failures.append((c["strategy"], c["seed"], step, text, error))
                c["live"] = False
                continue
            for row in rows:
                row["design_warnings"] = joined(design_warnings)
            cost = float(truth.flops(picks.N, picks.D).sum()) if len(picks) else np.inf
            if cost > remaining * (1 + BUDGET_RTOL):  # nothing picked, or (never) over budget
                c["live"] = False
                continue
            new = picks[["N", "D"]].assign(
                loss=simulate_loss(picks.N.to_numpy(), picks.D.to_numpy(), c["rng"]), step=step + 1
            )
            c["runs"] = pd.concat([runs, new], ignore_index=True)
        if log is not None:
            live = sum(c["live"] for c in camps)
            log(f"step {step}: {live}/{len(camps)} campaigns live")
        if checkpoint is not None:
            checkpoint(pd.DataFrame(history))
        if not any(c["live"] for c in camps):
            break
    all_runs = pd.concat(
        [c["runs"].assign(strategy=c["strategy"], seed=c["seed"]) for c in camps], ignore_index=True
    )
    all_runs["C"] = truth.flops(all_runs.N, all_runs.D)
    result = Campaign(pd.DataFrame(history), all_runs.assign(**labels), truth)
    trouble = sampler_trouble(result.history)
    if trouble:
        warnings.warn(trouble, SamplerWarning, stacklevel=user_stacklevel())
    trouble = design_trouble(result.history)
    if trouble:
        warnings.warn(trouble, DesignWarning, stacklevel=user_stacklevel())
    if failures:
        error = failures[0][-1]
        error.add_note(failure_note([f[:4] for f in failures], len(camps)))
        error.campaign = result
        raise error
    return result


def _pick(c, fit, runs, remaining, grid_rest, pool, truth, targets, batch, max_draws):
    """The next runs (N, D) of campaign ``c`` (its strategy, grid position and rng) after
    ``runs``, within ``remaining`` FLOPs; none when the campaign is done. Grid: its next
    ``batch`` cells (none when fewer are left). The pool's strategies draw from its untrained
    cells, and only while some ``batch`` of them fits ``remaining`` together (none otherwise):
    random a random such batch (:func:`~bayeslaws.app.replay.random_fill`), ours and
    ours_no_cost :func:`~bayeslaws.design.next_runs` with ``budget=remaining`` (``batch``
    runs, or fewer when its greedy picks leave no room for more)."""
    s = c["strategy"]
    if s == "grid":
        picks = grid_rest.iloc[c["grid_next"] : c["grid_next"] + batch]
        c["grid_next"] += batch
        return picks if len(picks) == batch else picks.iloc[:0]
    fresh = untrained(pool, runs)
    costs = np.asarray(truth.flops(fresh.N, fresh.D), float)
    fits = costs <= remaining * (1 + BUDGET_RTOL)
    afford, costs = fresh[fits].reset_index(drop=True), costs[fits]
    if len(afford) < batch or np.sort(costs)[:batch].sum() > remaining * (1 + BUDGET_RTOL):
        return afford.iloc[:0]  # no batch of untrained cells fits the budget left
    if s == "random":
        return afford.iloc[random_fill(costs, remaining, c["rng"], k=batch)]
    plan = next_runs(
        fit,
        afford,
        target=targets,
        cost="flops" if s == "ours" else None,
        k=batch,
        budget=remaining,
        max_draws=max_draws,
        guardrails=Guardrails().after(runs),
    )
    return plan[["N", "D"]]
