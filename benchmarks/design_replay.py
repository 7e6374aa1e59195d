"""Replayed design campaigns on pools of really trained runs: strategies vs compute spent.

    python benchmarks/design_replay.py                         # steplaw porian epoch, 3 seeds
    python benchmarks/design_replay.py --pools porian --seeds 0 --budgets 0.01 0.05  # tiny
    python benchmarks/design_replay.py --timing                # one campaign step, cold / warm
    python benchmarks/design_replay.py --summary-only          # tables and figure from the CSVs
    python benchmarks/design_replay.py --all-data --pools porian epoch  # the law fitted to all runs
    python benchmarks/design_replay.py --diagnose --pools epoch steplaw   # ours' first batch
    python benchmarks/design_replay.py --pools porian --workers 2  # campaigns on 2 local processes
    python benchmarks/design_replay.py --scheduler tcp://scheduler:8786   # on a Dask cluster

Each campaign (:func:`bayeslaws.app.replay.replay`) starts from the pool's cheapest runs, then
spends 1%, 5%, 10% and 25% of the pool's compute (one batch per budget; running an experiment
reveals its real row), refits warm-started (``fit.update``) and scores the fit: SL2's R^2 on the
held-out runs, the decision quantity's error and the coverage and half-width of its 90%
intervals, every strategy under the prediction ours designs for (``replay.Pool.report_method``:
the GP pattern plus the drift beyond the training range for a loss surface) and, beside it,
under the package default ``"gp"`` (columns ``*_gp``). Strategies:
ours (design value about the decision quantity per FLOP under the default model uncertainty;
under a drift model that value counts the drift a run removes and is not a mutual information),
random, V-optimal (SL2's classical baseline) and the paper grid where one exists.

The campaigns of a pool run as a batch (:func:`bayeslaws.app.replay.replay_many`, one task per
strategy and seed): in this process by default, on ``--workers N`` local processes, or on a Dask
cluster (``--scheduler ADDRESS``); the tables are the same, in the same order, either way.

Pools (``../shared/data``; selection data): Step Law dense (the 1.07B cells held out; eta_opt,
B_opt and the loss at the optimum), Porian isoFLOP rw/tuned/short/const (N_opt at the two
held-out budgets), Epoch (the 23 runs above 1e21 FLOPs: their losses; the pool is the 217 runs
at or below it, after the data set's 5 highest-loss points, all at or below it, were removed as
Epoch AI did: the log line of a pool says so). Also SIMULATED pools of
the isoFLOP compendium's shapes (``simulated_llama_3``, ``simulated_marin``). The compendium's
Llama-3 and Marin pools are confirmation data (docs/calibration_protocol.md): they run only with
``--confirmation``, once, after the protocol's confirmation run.

Writes benchmarks/output/design_replay_<pool>.csv (one row per pool, strategy, seed, budget),
design_replay_<pool>_components.csv (every decision component), design_replay_summary.csv
(medians over seeds), design_replay_sl2.csv (Step Law R^2 beside SL2's published numbers),
design_replay_summary.txt (the printed tables, the issue's checks and each pool and strategy's
count of fits whose sampler checks failed, rows written before the ``sampler_ok`` column judged
from their recorded R-hat and divergences, :func:`judged_ok`; refused when a pool's start rows
disagree across strategies, :func:`check_starts`; and the failed campaigns, each with the
step it stopped at and its error, :func:`replay.failure_lines`: their earlier steps' rows and a
failure row are in the pool's CSV, and the run exits with an error after the summary),
design_replay_steplaw_truth.csv (the held-out cells' realised optima, computed once) and
design_replay.png (``bl.plot.design_replay``); ``--timing`` writes design_replay_timing.txt;
``--all-data`` writes design_replay_all_data.txt: each pool's law fitted to every candidate run
(all of the pool's compute) and scored as the campaigns are, the error no design can go below
when the law's form is wrong for the pool; ``--diagnose`` writes design_replay_diagnosis.txt:
ours' first batch (1% of compute, seed 0's start) under each criterion, where its compute goes,
and the costliest candidate's design value (nats; can be negative under a drift model, where it
is not a mutual information). Each text file's first line records the command that wrote it
(its arguments as given), the date (UTC) and the commit (:func:`provenance`). A run rewrites a
pool's CSVs with the rows it redoes replaced and every other row kept (:func:`_others`: other
strategies, seeds or budgets), so seeds and budgets can be run one invocation at a time.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from bayeslaws import design, plot
from bayeslaws.app import replay
from bayeslaws.app.replay.fits import campaign_fit_options, fit_runs
from bayeslaws.inference.batch import dask_client
from bayeslaws.inference.diagnostics import thresholds
from bayeslaws.posterior.extrapolation import DEFAULT_METHOD

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header, machine  # noqa: E402  (benchmarks/bench_provenance.py)

OUT = Path(__file__).parent / "output"
REAL_POOLS = ("steplaw", "porian", "epoch")
SIMULATED_POOLS = ("simulated_llama_3", "simulated_marin")
CONFIRMATION_POOLS = ("llama_3", "marin_comma", "marin_dclm", "marin_nemotron")
TRUTH_FILE = OUT / "design_replay_steplaw_truth.csv"
ARGV: list[str] | None = None  # main's arguments, for the files' headers (None: sys.argv[1:])


def load_pool(name: str, log) -> replay.Pool:
    if name == "steplaw":
        pool = replay.steplaw_pool()
        if not TRUTH_FILE.is_file():
            log("steplaw: fitting all 1,911 runs once for the held-out cells' realised optima")
            replay.steplaw_truth().to_csv(TRUTH_FILE, index=False)
        pool.truth = pd.read_csv(TRUTH_FILE)
        return pool
    if name == "porian":
        return replay.porian_pool()
    if name == "epoch":
        return replay.epoch_pool()
    if name.startswith("simulated_"):
        return replay.simulated_isoflop_pool(name[len("simulated_") :])
    if name == "llama_3":
        return replay.compendium_pool("llama_3")
    if name.startswith("marin_"):
        return replay.compendium_pool("marin_202603", name[len("marin_") :])
    raise ValueError(f"unknown pool {name!r}")


def strategies_for(pool: replay.Pool, wanted) -> list:
    return [s for s in wanted if s != "grid" or pool.grid is not None]


def machine_words() -> str:
    """``<n> cores, load average <1-min> <5-min> <15-min>`` (:func:`bench_provenance.machine`)."""
    return ", ".join(machine())


def provenance() -> str:
    """A written file's header (:func:`bench_provenance.header`), the command with the arguments
    :func:`main` was given (:data:`ARGV`; this process's own when not set)."""
    return header("benchmarks/design_replay.py", ARGV)


def timing(pools, log) -> str:
    """One campaign step: propose k=3 runs from the whole pool after the start design (the
    fit exists), cold (first call: compiles) and warm (best of 3)."""
    lines = [f"{provenance()} ({machine_words()} at start)"]
    for name in pools:
        pool = load_pool(name, log)
        start = pool.start(0)
        options = {"chains": 2, "warmup": 200, "draws": 200, **pool.fit_options}
        fit = fit_runs(pool, pool.runs.loc[start], options, 0)
        remaining = pool.runs.drop(index=start)
        columns = [c for c in ("N", "D", "lr", "batch_size") if c in remaining]  # as replay
        times = []
        for _ in range(4):
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cands = design.pool_units(fit, remaining[columns])
                plan = design.next_runs(fit, cands, pool.targets, k=3, max_draws=400)
            times.append(time.perf_counter() - t0)
        line = (
            f"{name}: propose k=3 from {len(remaining)} candidate runs ({cands['unit'].nunique()} "
            f"units), target T={plan.filter(like='width_now').shape[1]}: cold {times[0]:.2f} s, "
            f"warm {min(times[1:]):.2f} s (best of 3); {machine_words()}"
        )
        log(line)
        lines.append(line)
    return "\n".join(lines)


def all_data(pools, draws: int, log) -> str:
    """Per pool: its law fitted to every candidate run and scored (:func:`replay.score`)."""
    lines = [f"{provenance()} ({machine_words()} at start)"]
    for name in pools:
        pool = load_pool(name, log)
        options = campaign_fit_options(pool, {"warmup": draws, "draws": draws})
        fit = replay.calibrated(pool, fit_runs(pool, pool.runs, options, 0), 0)
        summary, table = replay.score(pool, fit)
        parts = ", ".join(
            f"{r.label} {r.median:.4g} [{r.lower:.4g}, {r.upper:.4g}] truth {r.truth:.4g}"
            for r in table[table["extrapolation"] == summary["extrapolation"]].itertuples()
        )
        also = "".join(
            f" (under {m!r}: error {summary[f'error_{m}']:.4f}, coverage "
            f"{summary[f'coverage_{m}']:.2f}, half-width {summary[f'half_width_{m}']:.3f})"
            for m in replay.ALSO_SCORED
            if f"error_{m}" in summary
        )
        line = (
            f"{name}: law {pool.law!r} on all {len(pool.runs)} candidate runs, scored under "
            f"{summary['extrapolation']!r}: error {summary['error']:.4f}, coverage "
            f"{summary['coverage']:.2f}, half-width {summary['half_width']:.3f}, R^2 "
            f"{summary['r2']:.3f}{also}, "
            f"{fit.diagnostics.divergences} divergences; {parts}"
        )
        log(line)
        lines.append(line)
    return "\n".join(lines)


DESIGN_VALUE = (
    "design value (nats; can be negative under a drift model, where it is not a mutual "
    "information)"
)  # what rank_candidates' "info" column holds: the criterion's value of a unit


def batch_profile(pool: replay.Pool, fit, start, cands, criterion: str) -> str:
    """One line: ours' 1% batch under ``criterion``: units, runs, log10 C quantiles (FLOPs),
    runs in the start's (N, D) cells, and the costliest candidate's own value under the
    criterion (:data:`DESIGN_VALUE`: under a drift model the value includes the drift a unit
    removes, so it can be negative and is then not a mutual information)."""
    budget = 0.01 * pool.compute - float(pool.runs.loc[start, "C"].sum())
    done = pool.runs.loc[start, [c for c in ("N", "D", "lr", "batch_size") if c in pool.runs]]
    options = {"criterion": criterion, "seed": 0, "max_draws": 400}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = design.next_runs(
            fit, cands, pool.targets, k=None, budget=budget,
            guardrails=design.Guardrails().after(done), **options,
        )  # fmt: skip
        ranked = design.rank_candidates(fit, cands, pool.targets, **options)
    rows = cands[cands["unit"].isin(set(plan["unit"]))]
    seen = set(zip(pool.runs.loc[start, "N"], pool.runs.loc[start, "D"], strict=True))
    in_seen = sum((n, d) in seen for n, d in zip(rows["N"], rows["D"], strict=True))
    q = np.quantile(np.log10(rows["C"]), [0, 0.5, 1])
    costliest = ranked.loc[ranked["flops"].idxmax()]
    return (
        f"{criterion}: {len(plan)} units, {len(rows)} runs, log10 C min/median/max "
        f"{q[0]:.2f} / {q[1]:.2f} / {q[2]:.2f}, {in_seen} runs in the start's cells; the costliest "
        f"candidate ({costliest['flops']:.3g} FLOPs) alone has {DESIGN_VALUE} "
        f"{costliest['info']:.3f}"
    )


def diagnose(pools, log) -> str:
    """Per pool: ours' first batch (1% of compute from seed 0's start) under each criterion."""
    lines = [f"{provenance()} ({machine_words()} at start)"]
    for name in pools:
        pool = load_pool(name, log)
        start, fit, _ = replay.fit_start(pool, 0, campaign_fit_options(pool, None))
        columns = [c for c in ("N", "D", "lr", "batch_size") if c in pool.runs]  # as replay
        cands = design.pool_units(fit, pool.runs.drop(index=start)[columns])
        for criterion in ("marginal", "info"):
            line = f"{name}: " + batch_profile(pool, fit, start, cands, criterion)
            log(line)
            lines.append(line)
    return "\n".join(lines)


def summarise(history: pd.DataFrame) -> pd.DataFrame:
    """Per pool, strategy and budget: medians over seeds, mean R^2, pooled coverage, the median
    interval half-width (ln units) and, where scored, the same under the package default
    ``"gp"`` (``*_gp``); ``extrapolation``: the method the row's scores are under. A failed
    campaign's failure row (``replay.failure_row``) scores nothing and is left out (``seeds``
    counts the scored ones; :func:`replay.failure_lines` names the failures)."""
    h = replay.scored_rows(history)
    h = h[h["budget"] > 0]
    for column in ("half_width", "error_gp", "coverage_gp", "half_width_gp"):
        if column not in h:
            h = h.assign(**{column: np.nan})
    return (
        h.groupby(["pool", "strategy", "budget"], sort=False)
        .agg(
            seeds=("seed", "nunique"),
            extrapolation=("extrapolation", "first"),
            spent=("spent", "median"),
            n_runs=("n_runs", "median"),
            error_median=("error", "median"),
            error_mean=("error", "mean"),
            r2_median=("r2", "median"),
            r2_mean=("r2", "mean"),
            coverage=("coverage", "mean"),
            half_width=("half_width", "median"),
            error_gp=("error_gp", "median"),
            coverage_gp=("coverage_gp", "mean"),
            half_width_gp=("half_width_gp", "median"),
            divergences=("divergences", "sum"),
        )
        .reset_index()
    )


START_COLUMNS = ("n_runs", "spent", "error", "coverage", "r2")  # scores of the start fit


def start_disagreements(history: pd.DataFrame) -> list[str]:
    """One line per pool, seed and ``START_COLUMNS`` column whose budget-0 rows (the start fit:
    the same runs, seed and fit for every strategy) differ across strategies (relative tolerance
    1e-6; NaN equals NaN), naming the strategies and their values; empty when all agree."""
    start = history[history["budget"] == 0]
    out = []
    for (pool, seed), rows in start.groupby(["pool", "seed"], sort=False):
        for column in (c for c in START_COLUMNS if c in rows):
            values = rows[column].to_numpy(dtype=float)
            if np.allclose(values, values[0], rtol=1e-6, atol=0.0, equal_nan=True):
                continue
            pairs = ", ".join(f"{s} {v:.6g}" for s, v in zip(rows["strategy"], values, strict=True))
            out.append(f"pool {pool!r} seed {seed}: start {column} differs: {pairs}")
    return out


def check_starts(history: pd.DataFrame) -> int:
    """Raise ``ValueError`` when any pool's start rows disagree across strategies
    (:func:`start_disagreements`): the strategies' rows then come from different code and are
    not comparable. Returns the number of (pool, seed) starts checked."""
    problems = start_disagreements(history)
    if problems:
        raise ValueError(
            "the budget-0 (start) rows of a pool are one fit shared by every strategy, but they "
            "disagree, so the strategies' rows come from different code; rerun these pools' "
            "campaigns (all strategies, or the ones that differ) with one version:\n  "
            + "\n  ".join(problems)
        )
    return history.loc[history["budget"] == 0, ["pool", "seed"]].drop_duplicates().shape[0]


# NUTS of every campaign fit: campaign_fit_options' chains, --draws's default per chain (warm-up
# as many); the committed CSVs were all written with it (their commits' commands pass no --draws)
CHAINS, DRAWS = 2, 200


def recorded_ok(history: pd.DataFrame) -> pd.Series:
    """Per row: its ``sampler_ok`` as bools (a CSV holds bools or the text "True" / "False");
    NaN where not recorded (no column, or a row written before it)."""
    ok = history["sampler_ok"] if "sampler_ok" in history else pd.Series(np.nan, history.index)
    return ok.map({True: True, False: False, "True": True, "False": False})


def judged_ok(history: pd.DataFrame, chains: int = CHAINS, draws: int = DRAWS) -> pd.Series:
    """Per row, from its recorded figures: did the fit pass the package's bars
    (``diagnostics.thresholds`` for ``chains`` x ``draws`` draws in all, as the campaigns
    fitted): ``max_r_hat`` at most the R-hat bar, no ``divergences`` and, where recorded,
    ``min_ess_bulk`` at least the ESS bar. NaN where the row records no R-hat or no divergence
    count. Tail ESS and tree depth are not in the rows and are not judged."""
    rhat_bar, ess_bar = thresholds(chains, chains * draws)
    nan = pd.Series(np.nan, history.index)
    rhat = pd.to_numeric(history.get("max_r_hat", nan))
    div = pd.to_numeric(history.get("divergences", nan))
    ess = pd.to_numeric(history.get("min_ess_bulk", nan))
    ok = (rhat <= rhat_bar) & (div == 0) & ~(ess < ess_bar)
    return ok.astype(object).where(rhat.notna() & div.notna())


def sampler_counts(history: pd.DataFrame) -> pd.DataFrame:
    """Per pool and strategy: ``fits`` (scored fits = history rows, each seed's start included),
    ``sampler_failed`` (the fit's sampler checks failed: ``sampler_ok`` False or, in a row
    without it, :func:`judged_ok` False), of those ``failed_at_start`` (budget 0),
    ``sampler_ok_missing`` (rows written before the column) and of those ``judged`` (judged from
    their recorded R-hat and divergences, :func:`judged_ok`; the rest are not counted)."""
    recorded = recorded_ok(history)
    judged = judged_ok(history).where(recorded.isna())
    ok = recorded.where(recorded.notna(), judged)
    frame = history[["pool", "strategy"]].assign(
        failed=ok.eq(False),
        start=ok.eq(False) & history["budget"].eq(0),
        missing=recorded.isna(),
        judged=judged.notna(),
    )
    return (
        frame.groupby(["pool", "strategy"], sort=False)
        .agg(
            fits=("failed", "size"),
            sampler_failed=("failed", "sum"),
            failed_at_start=("start", "sum"),
            sampler_ok_missing=("missing", "sum"),
            judged=("judged", "sum"),
        )
        .reset_index()
    )


def judged_note(history: pd.DataFrame, chains: int = CHAINS, draws: int = DRAWS) -> str:
    """The summary's line on the rows without ``sampler_ok``: per pool, how many of its rows
    :func:`judged_ok` judged, the bars, which figures were there to judge, and how many rows
    could not be judged."""
    recorded = recorded_ok(history)
    if recorded.notna().all():
        return "No row lacks sampler_ok: every count is the fits' own sampler_ok."
    judged = judged_ok(history, chains, draws).where(recorded.isna()).notna()
    unjudged = int((recorded.isna() & ~judged).sum())
    rest = (
        f"{unjudged} rows without sampler_ok record no R-hat or no divergence count and are not "
        "counted."
        if unjudged
        else ""
    )
    if not judged.any():
        return rest
    rhat_bar, ess_bar = thresholds(chains, chains * draws)
    rows = history[judged]
    per_pool = ", ".join(
        f"{pool} {n} of {(history['pool'] == pool).sum()}"
        for pool, n in rows.groupby("pool", sort=False).size().items()
    )
    has_ess = "min_ess_bulk" in rows and rows["min_ess_bulk"].notna().any()
    ess = (
        f"and min_ess_bulk at least {ess_bar:.0f} where recorded"
        if has_ess
        else f"(bulk ESS, bar {ess_bar:.0f}, is not recorded in them and not judged)"
    )
    return (
        f"Rows without sampler_ok, judged from their recorded figures (judged): {per_pool}. "
        f"Their fits ({chains} chains x {draws} draws, as the campaigns fit) count as failed "
        f"when max R-hat is above {rhat_bar:.4g} or there is any divergence, the bars of "
        f"bayeslaws.inference.diagnostics.thresholds({chains}, {chains * draws}) {ess}; tail ESS "
        f"and tree depth are not recorded in them.{' ' + rest if rest else ''}"
    )


def checks(summary: pd.DataFrame) -> list[str]:
    """The issue's must-show checks, each with its numbers."""
    out = []
    for pool, s in summary.groupby("pool", sort=False):
        table = s.pivot(index="budget", columns="strategy", values="error_median")
        for budget in (0.05, 0.10):
            if budget not in table.index or "ours" not in table:
                continue
            row = table.loc[budget]
            others = {k: row[k] for k in ("random", "vopt") if k in row and np.isfinite(row[k])}
            if not others:
                out.append(f"{pool} @ {budget:.0%}: ours {row['ours']:.4f}, no baseline run yet")
                continue
            ok = all(row["ours"] < v for v in others.values())
            text = ", ".join(f"{k} {v:.4f}" for k, v in others.items())
            out.append(
                f"{pool} @ {budget:.0%}: ours {row['ours']:.4f} vs {text} -> "
                f"{'lower' if ok else 'NOT lower'}"
            )
        if {"ours", "random"} <= set(table):
            worse = table.index[table["ours"] > table["random"]].tolist()
            out.append(
                f"{pool}: ours above random at budgets {[f'{b:.0%}' for b in worse]}"
                if worse
                else f"{pool}: ours never above random"
            )
        ours = s[s["strategy"] == "ours"]
        if len(ours):
            out.append(
                f"{pool}: ours coverage by budget {ours['coverage'].round(2).tolist()} "
                f"(median half-width ln(upper/lower)/2 {ours['half_width'].round(3).tolist()}; "
                f"scored under {ours['extrapolation'].iloc[0]!r})"
            )
    return out


def sl2_table(summary: pd.DataFrame) -> pd.DataFrame:
    s = summary[summary["pool"] == "steplaw"]
    if s.empty:
        return pd.DataFrame()
    table = s.pivot(index="budget", columns="strategy", values="r2_median")
    table.columns = [f"replay_{c}" for c in table.columns]  # this benchmark's replay
    table.insert(0, "SL2_published", [replay.SL2_STEPLAW_R2.get(b, np.nan) for b in table.index])
    return table.reset_index()


def stored_history() -> pd.DataFrame | None:
    """Every stored replay row (the per-pool design_replay_<pool>.csv files), or None."""
    files = sorted(OUT.glob("design_replay_*.csv"))
    parts = [
        pd.read_csv(f)
        for f in files
        if not f.stem.endswith(("_components", "_summary", "_sl2", "_truth"))
    ]
    return pd.concat(parts, ignore_index=True) if parts else None


def failed_text(history: pd.DataFrame) -> list[str]:
    """The summary's lines on failed campaigns (:func:`replay.failure_lines`)."""
    failed = replay.failure_lines(history)
    if not failed:
        return ["Failed campaigns: none recorded."]
    return [
        f"Failed campaigns: {len(failed)} (each stopped at the step named, its earlier steps "
        "scored above; the tables above leave the failed steps out, so their seeds count fewer):"
    ] + ["  " + line for line in failed]


def write_summary(log):
    stored = stored_history()
    if stored is None:
        log("no replay results yet")
        return
    history = replay.scored_rows(stored)  # failure rows score nothing: failed_text names them
    starts = check_starts(history)  # before anything is written
    summary = summarise(history)
    summary.to_csv(OUT / "design_replay_summary.csv", index=False)
    sl2 = sl2_table(summary)
    if len(sl2):
        sl2.to_csv(OUT / "design_replay_sl2.csv", index=False)
    pd.set_option("display.width", 200)
    text = [summary.to_string(index=False, float_format=lambda x: f"{x:.4g}")]
    if len(sl2):
        text += ["", "Step Law LR x batch pool, R^2 of the held-out runs (median over seeds):"]
        text.append(sl2.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    text += ["", "Checks (issue 14):"] + ["  " + line for line in checks(summary)]
    text += [
        "",
        f"Start fits: the budget-0 rows agree across strategies for all {starts} pool x seed "
        f"starts ({', '.join(START_COLUMNS)}).",
        "",
        "Sampler checks per pool and strategy (fits: scored fits, every seed's start included; "
        "sampler_failed: sampler_ok False, or judged failed; sampler_ok_missing: rows written "
        "before the column; judged: of those, judged from their recorded R-hat and divergences):",
        sampler_counts(history).to_string(index=False),
        judged_note(history),
        "",
        *failed_text(stored),
    ]
    print("\n".join(text))
    (OUT / "design_replay_summary.txt").write_text("\n".join([provenance(), *text]) + "\n")
    fig = plot.design_replay(history, metrics=("error", "r2", "coverage"))
    plot.save(fig, OUT / "design_replay.png")
    log(f"wrote {OUT / 'design_replay_summary.csv'} and {OUT / 'design_replay.png'}")


def redone(rows: pd.DataFrame, strategies, seeds, budgets) -> pd.Series:
    """Per row of a pool's stored CSV (history or components: columns strategy, seed, budget):
    whether a run of ``strategies`` x ``seeds`` at ``budgets`` (fractions of the pool's
    compute) writes it again: its strategy and seed are run and its budget is 0 (the start,
    every campaign's first row), one of ``budgets`` (relative tolerance
    ``replay.BUDGET_RTOL``) or NaN (a failure row of a task that failed outside its steps:
    the campaign is run again)."""
    budget = rows["budget"].to_numpy(dtype=float)
    steps = np.array([0.0, *budgets], dtype=float)
    at_step = np.isclose(budget[:, None], steps[None, :], rtol=replay.BUDGET_RTOL, atol=0.0)
    return (
        rows["strategy"].isin(list(strategies))
        & rows["seed"].isin(list(seeds))
        & pd.Series(at_step.any(axis=1) | np.isnan(budget), index=rows.index)
    )


def _others(path: Path, strategies, seeds, budgets) -> pd.DataFrame:
    """The rows of an earlier run's CSV at ``path`` (one pool's) that this run does not redo
    (:func:`redone`: other strategies, seeds or budgets), so seeds and budgets can be run one
    invocation at a time; empty when there is no such file."""
    if not path.is_file():
        return pd.DataFrame()
    old = pd.read_csv(path)
    return old[~redone(old, strategies, seeds, budgets)]


def main(argv=None):
    global OUT, TRUTH_FILE, ARGV
    ARGV = sys.argv[1:] if argv is None else [str(a) for a in argv]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pools", nargs="+", default=list(REAL_POOLS))
    parser.add_argument("--strategies", nargs="+", default=list(replay.STRATEGIES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budgets", type=float, nargs="+", default=list(replay.BUDGETS))
    parser.add_argument("--draws", type=int, default=DRAWS, help="NUTS warm-up = draws per chain")
    parser.add_argument("--refit", choices=("update", "cold"), default="update")
    parser.add_argument("--confirmation", action="store_true", help="allow the compendium pools")
    parser.add_argument("--timing", action="store_true")
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument("--all-data", action="store_true", help="fit each pool's law to all runs")
    parser.add_argument("--diagnose", action="store_true", help="ours' first batch per criterion")
    parser.add_argument("--out", type=Path, default=OUT, help="output folder")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="run the campaigns on N local processes")
    where.add_argument("--scheduler", help="run the campaigns on a Dask cluster (tcp://host:8786)")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    try:  # before any pool is loaded (Step Law's truth fits 1,911 runs first)
        args.budgets = list(replay.check_budgets(args.budgets))
    except ValueError as err:
        parser.error(f"--budgets: {err}")
    try:
        args.seeds = replay.check_seeds(args.seeds)
    except ValueError as err:
        parser.error(f"--seeds: {err}")
    if args.out != OUT:
        OUT, TRUTH_FILE = args.out, args.out / TRUTH_FILE.name
    OUT.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - t_start:7.1f} s] {msg}", file=sys.stderr, flush=True)

    confirmation = [p for p in args.pools if p in CONFIRMATION_POOLS]
    if confirmation and not args.confirmation:
        parser.error(
            f"pools {confirmation} are the calibration protocol's confirmation data: run them "
            "once, after the protocol's confirmation run, with --confirmation"
        )
    unknown = set(args.pools) - set(REAL_POOLS + SIMULATED_POOLS + CONFIRMATION_POOLS)
    if unknown:
        parser.error(f"unknown pools {sorted(unknown)}")
    log(
        f"default extrapolation method: {DEFAULT_METHOD!r}; each pool's line names the method "
        f"its campaigns are scored under (and {', '.join(map(repr, replay.ALSO_SCORED))} beside "
        f"it); {machine_words()}"
    )
    if args.timing:
        text = timing([p for p in args.pools if p in REAL_POOLS], log)
        (OUT / "design_replay_timing.txt").write_text(text + "\n")
        print(text)
        return
    if args.all_data:
        text = all_data([p for p in args.pools if p in REAL_POOLS], args.draws, log)
        (OUT / "design_replay_all_data.txt").write_text(text + "\n")
        print(text)
        return
    if args.diagnose:
        text = diagnose([p for p in args.pools if p in REAL_POOLS], log)
        (OUT / "design_replay_diagnosis.txt").write_text(text + "\n")
        print(text)
        return
    failures = []
    if not args.summary_only:
        client = dask_client(args.scheduler)
        try:
            failures = run_pools(args, client, log) or []
        finally:
            if client is not None:
                client.close()
    write_summary(log)
    if failures:  # after the summary, which names them ("Failed campaigns")
        raise SystemExit("design_replay: campaigns failed:\n" + "\n".join(failures))
    log("done")


def pool_line(name: str, pool: replay.Pool) -> str:
    """The log line of a pool before its campaigns: candidate runs, compute (FLOPs), held-out
    runs, the runs removed from its source before the split (``pool.exclusions``: Epoch's 5
    highest-loss points), its note and the extrapolation method its campaigns are scored under
    (``pool.report_method``, its own: isoFLOP pools "gp", Epoch "drift"), with those scored
    beside it (``replay.scored_beside``)."""
    removed = sum(e.count for e in pool.exclusions)
    before = f" ({removed} more removed before the split)" if removed else ""
    also = replay.scored_beside(pool)
    beside = f" (and {', '.join(map(repr, also))} beside it)" if also else ""
    return (
        f"{name}: {len(pool.runs)} candidate runs{before}, {pool.compute:.3g} FLOPs, "
        f"{len(pool.held_out)} held out; {pool.note}; scored under {pool.report_method!r}{beside}"
    )


def run_pools(args, client, log) -> list[str]:
    """Every pool's campaigns through ``client`` (a Dask Client), ``args.workers`` local
    processes, or (neither) this process; each pool's CSVs rewritten as its campaigns finish
    (a failed campaign's steps before the failure and its failure row too). Returns the
    failures (``replay.CampaignError`` texts, one per pool whose campaigns failed): the other
    pools still run."""
    failures = []
    for name in args.pools:
        pool = load_pool(name, log)
        log(pool_line(name, pool))

        files = tuple(OUT / f"design_replay_{name}{x}.csv" for x in ("", "_components"))
        kept = [_others(f, args.strategies, args.seeds, args.budgets) for f in files]

        def checkpoint(history, components, files=files, kept=kept):
            for frame, old, path in zip((history, components), kept, files, strict=True):
                pd.concat([old, frame], ignore_index=True).to_csv(path, index=False)

        try:
            replay.replay_many(
                pool,
                strategies_for(pool, args.strategies),
                args.seeds,
                budgets=args.budgets,
                sampler={"warmup": args.draws, "draws": args.draws},
                refit=args.refit,
                executor=client,
                workers=args.workers,
                log=log,
                checkpoint=checkpoint,
            )
        except replay.CampaignError as err:  # its rows are in the CSVs; the summary names it
            log(f"{name}: {err}")
            failures.append(str(err))
    return failures


if __name__ == "__main__":
    main()
