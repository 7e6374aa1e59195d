"""Hyperparameter laws: recovery, coverage, the 1.07B grid and the Step Law checks.

Usage::

    python paper_repro/hyperparams.py                     # everything, 50 replications
    python paper_repro/hyperparams.py --parts steplaw,backtest
    # fewer replications: into a scratch folder, so the committed 50-replication tables stay
    python paper_repro/hyperparams.py --reps 10 --parts recovery,coverage \
        --out /tmp/paper_repro_quick

Defaults: 2 chains x 500 warm-up + 500 draws per fit (``--chains``, ``--warmup``, ``--draws``)
and 2 x 300 + 300 per coverage fit (``--cov-chains``, ``--cov-iter``): the settings the committed
tables in results/ were written with (their titles say so).

Parts (``--parts``, comma-separated; default all):

* ``recovery``: law "hyperparams" on the bundled simulated video-DiT sweep; the posterior law in
  Yin et al.'s notation beside the truth (their published laws), and the two-stage baseline.
* ``coverage``: ``--reps`` simulated replications of the sweep (seeds 1000 + k); how often the
  90% intervals of c, exp_T, exp_N (eta_opt and B_opt) contain the truth, ours vs two-stage.
  Its raw rows (``hyperparams_coverage_raw.csv``) record the fits' settings, the code's commit
  and each fit's max R-hat, min bulk ESS, divergences and failed checks; ``coverage_table``
  re-summarises them, titled from those columns (rows without them say so).
* ``grid``: predicted optima at (1.07B, 4B) and (1.07B, 10B) tokens beside the paper's marked cells,
  and a least-squares bowl fitted to the paper's 1.07B grid (``data/yin2025_grid_1p07B.csv``).
* ``steplaw``: the full Step Law dense fit: exponents (95% intervals) beside the authors'
  bootstrap intervals; "no term" where the published form (and the two-stage fit, which follows
  it) has no such exponent (B_opt's exp_N).
* ``backtest``: hold out the N = 1.07e9 cells, fit the rest, predict their optimum, and report
  the loss of the grid run nearest the prediction against the cell's best run, for our model,
  two-stage (Step Law's 0.25% tolerance) and the published Step Law (not a held-out prediction:
  its authors fitted it to their dense runs, presumably these cells included; its row and the
  table's title say so).

Tables are printed and written to ``hyperparams_<part>.csv`` / ``.md`` in ``--out`` (default
``paper_repro/results``: a run replaces the committed tables of the parts it runs).
Every table says what its data are: its .md title (SIMULATED or REAL), and its CSV by a ``data``
column saying what each row comes from (the simulator truth and sweep, the paper's published
values, or Step Law's real runs: Li et al. 2025, ../shared/data). A table indexed by (quantity,
parameter) names those index columns in its CSV.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

import bayeslaws as bl
from bayeslaws.laws.hyperparams import DivergenceWarning
from bayeslaws.runs import published
from bayeslaws.runs.bundled import (
    DEFAULT_DATASET,
    SharedDataMissing,
    bundled_path,
    load_bundled,
    steplaw_dense,
)
from bayeslaws.runs.simulate import VideoDiTTruth, simulate_video_dit_sweep

HERE = Path(__file__).resolve().parent
# benchmarks/bench_provenance.py (the checkout's commit, recorded in the coverage raw rows), also
# when this file is imported from elsewhere
if str(HERE.parent / "benchmarks") not in sys.path:
    sys.path.append(str(HERE.parent / "benchmarks"))
import bench_provenance  # noqa: E402

RESULTS = HERE / "results"
TRUTH = VideoDiTTruth()
COVERAGE_SEED0 = 1000  # coverage replication k simulates the sweep with seed COVERAGE_SEED0 + k
# ``data`` labels of rows that are not simulated (the grid table): Yin et al.'s published values
PUBLISHED_LAW_DATA = "published constants (arithmetic)"
PUBLISHED_GRID_DATA = "published (Yin et al. 1.07B grid, data/yin2025_grid_1p07B.csv)"
# ``data`` label of the Step Law tables (steplaw, backtest): fits to the real dense runs
STEPLAW_DATA = "real (Step Law dense runs, Li et al. 2025)"
LAW_INDEX = ("quantity", "parameter")  # the index names of a law table's rows (eta_opt, c)
# the columns of a coverage raw row that record how it was fitted (the law's bowl, the sampler's
# chains x warmup + draws per chain and seed) and from which code (``commit``), so that a
# re-summary titles the table from the file, not from its own command line
COVERAGE_SETTINGS = ("bowl", "chains", "warmup", "draws", "seed")
# the sampler diagnostics of the fit behind a row (coverage raw rows, backtest rows):
# ``sampler_problems`` counts the package's failed checks (fit.diagnostics.problems)
FIT_DIAGNOSTICS = ("max_r_hat", "min_ess_bulk", "divergences")
NOT_RECORDED = "settings not recorded in the raw file"
DIAGNOSTICS_NOT_RECORDED = "sampler diagnostics not recorded in the raw file"
TRUE_LAW = {
    ("eta_opt", "c"): TRUTH.eta_coef,
    ("eta_opt", "exp_T"): TRUTH.eta_exp_T,
    ("eta_opt", "exp_N"): TRUTH.eta_exp_N,
    ("B_opt", "c"): TRUTH.b_coef,
    ("B_opt", "exp_T"): TRUTH.b_exp_T,
    ("B_opt", "exp_N"): TRUTH.b_exp_N,
}
# Step Law (Li et al. 2025): eta = 1.79 N^-0.713 D^0.307, B = 0.58 D^0.571 (tokens, N non-emb.)
STEPLAW = published.STEPLAW
# The bowl is a local model: on Step Law the loss blows up towards high lr / small batch, and a
# quadratic fitted to every run (or with those runs censored) misplaces the optimum (huber scale
# 6% of the loss). We fit the runs within 3% of each cell's best and exclude the rest, recorded.
STEPLAW_OPTIONS = {"divergence_threshold": 4.0, "far_above": 0.03, "divergence": "exclude"}
# the law tables' (quantity, exponent) keys <-> the hyperparameter and axis of a law's terms
QUANTITY_OF = {"lr": "eta_opt", "batch_size": "B_opt"}
HYPERPARAM_OF = {quantity: hp for hp, quantity in QUANTITY_OF.items()}
EXPONENT_OF = {"N": "exp_N", "D": "exp_T"}
# the authors' 1000-bootstrap 95% intervals, keyed as in our law tables
STEPLAW_BOOT = {
    (QUANTITY_OF[hp], EXPONENT_OF[axis]): interval
    for (hp, axis), interval in published.STEPLAW_INTERVALS.items()
}
# the published two-stage baseline of Step Law: runs within 0.25% of each cell's best, B on D only
STEPLAW_TWO_STAGE = {
    "tolerance": published.STEPLAW_SELECTION_TOLERANCE,
    "divergence_threshold": 4.0,
    "terms": {"batch_size": published.STEPLAW_FORM["batch_size"]},
}
NO_TERM = "no term"  # a law table's cell for an exponent the law's form leaves out
# the backtest's row of the published law, and why it is not a held-out prediction
STEPLAW_PUBLISHED_ROW = "Step Law published (not held out)"
STEPLAW_NOT_HELD_OUT = (
    "the published law's row is not a held-out prediction: its authors fitted it to their dense "
    "runs, presumably the held-out N = 1.07e9 cells included"
)


def markdown(table: pd.DataFrame) -> str:
    """A GitHub table (pandas' to_markdown needs the optional 'tabulate')."""
    flat = table.reset_index()
    flat.columns = [" ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in flat.columns]

    def cell(x):
        return f"{x:.4g}" if isinstance(x, float) else str(x)

    lines = ["| " + " | ".join(flat.columns) + " |", "|" + "---|" * len(flat.columns)]
    lines += ["| " + " | ".join(cell(x) for x in row) + " |" for row in flat.itertuples(False)]
    return "\n".join(lines)


def sweep_data(what: str) -> str:
    """The ``data`` label of rows from a simulated video-DiT sweep (simulator truth
    VideoDiTTruth), e.g. ``simulated (VideoDiTTruth, sweep seed 1000)`` for ``what`` =
    "sweep seed 1000"."""
    return f"simulated (VideoDiTTruth, {what})"


def bundled_sweep_data(runs) -> str:
    """The ``data`` label of fits to the bundled simulated sweep (``runs``: its RunTable)."""
    return sweep_data(f"bundled sweep {DEFAULT_DATASET}, {len(runs.df)} runs")


def replication_data(seeds) -> str:
    """The ``data`` label of a summary over coverage replications simulated with ``seeds``."""
    seeds = sorted({int(s) for s in seeds})
    span = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    return sweep_data(f"{len(seeds)} sweeps, {span}")


def with_data(table: pd.DataFrame, data) -> pd.DataFrame:
    """``table`` with a last column ``data`` (on a two-level header: ``("data", "")``): what its
    rows come from. ``data``: one label for every row, or a mapping row label -> label covering
    every row (ValueError naming the rows without one)."""
    out = table.copy()
    key = "data" if out.columns.nlevels == 1 else ("data", *[""] * (out.columns.nlevels - 1))
    if isinstance(data, str):
        out[key] = data
        return out
    labels = pd.Series(dict(data), dtype=object).reindex(out.index)
    missing = list(out.index[labels.isna()])
    if missing:
        raise ValueError(f"with_data: no 'data' label for rows {missing}")
    out[key] = labels.to_numpy()
    return out


def write(
    table: pd.DataFrame, name: str, title: str, data=None, notes=(), results: Path | None = None
) -> None:
    """Write ``table`` to hyperparams_<name>.csv and .md (titled ``title``) in the folder
    ``results`` (default :data:`RESULTS`) and print it. ``data`` (see :func:`with_data`): the
    CSV's ``data`` column, what each row comes from (None: no column; the .md states it in its
    title). ``notes``: lines written below the .md's table (e.g. the fit's notes in full: which
    rows were excluded)."""
    results = RESULTS if results is None else Path(results)
    results.mkdir(parents=True, exist_ok=True)
    (table if data is None else with_data(table, data)).to_csv(results / f"hyperparams_{name}.csv")
    below = "".join(f"\n{line}\n" for line in notes)
    (results / f"hyperparams_{name}.md").write_text(f"# {title}\n\n{markdown(table)}\n{below}")
    print(f"\n== {title} ==\n{table.to_string()}\n-> {results / f'hyperparams_{name}.md'}")


def fit_hp(runs, args, **law_options):
    """Law "hyperparams" on ``runs`` with ``args``' sampler settings (and ``--bowl``); its
    screening and sampler warnings show (:func:`main` ignores only DivergenceWarning)."""
    if getattr(args, "bowl", None) and "bowl" not in law_options:
        law_options["bowl"] = args.bowl
    return bl.fit(
        runs,
        law="hyperparams",
        seed=args.seed,
        chains=args.chains,
        warmup=args.warmup,
        draws=args.draws,
        law_options=law_options or None,
    )


def fit_two_stage(runs, args, **law_options):
    """The two-stage baseline (best cell per (N, D), then log-log OLS), as the law
    "hyperparams_two_stage": its posterior gives the OLS t intervals; same sampler settings."""
    return bl.fit(
        runs,
        law="hyperparams_two_stage",
        seed=args.seed,
        chains=args.chains,
        warmup=args.warmup,
        draws=args.draws,
        law_options=law_options or None,
    )


def part_recovery(args):
    runs = load_bundled()
    t0 = time.perf_counter()
    fit = fit_hp(runs, args)
    wall = time.perf_counter() - t0
    ours = fit.law_table(units="billions", ci=0.9)
    two = fit_two_stage(runs, args).law_table(units="billions", ci=0.9)
    table = pd.DataFrame(
        {
            "truth (Yin et al.)": pd.Series(TRUE_LAW),
            "ours median": ours["median"],
            "ours 5%": ours["lower"],
            "ours 95%": ours["upper"],
            "two-stage": two["median"],
            "two-stage 5%": two["lower"],
            "two-stage 95%": two["upper"],
        }
    )
    table.index.names = list(LAW_INDEX)
    title = (
        f"Recovery on the bundled SIMULATED video-DiT sweep (576 runs; N, T in billions; "
        f"{args.chains}x{args.warmup}+{args.draws}, {wall:.0f} s, {health_words(fit)})"
    )
    write(table, "recovery", title, data=bundled_sweep_data(runs), results=args.out)
    return fit


def fit_health(fit) -> dict:
    """The sampler diagnostics of ``fit`` as row columns, one per name in
    :data:`FIT_DIAGNOSTICS` (max R-hat, min bulk ESS, divergent transitions)."""
    return {name: getattr(fit.diagnostics, name) for name in FIT_DIAGNOSTICS}


def coverage_rows(k: int, ours_fit, two_fit, commit: str = "") -> list[dict]:
    """The raw rows of coverage replication ``k`` (sweep seed COVERAGE_SEED0 + k): per law
    constant and method, whether its 90% interval covers the truth, its width and the median's
    error (the law table's units), with the settings of the fits (:data:`COVERAGE_SETTINGS`:
    law "hyperparams"'s bowl; the sampler's, shared by both fits), the diagnostics of the fit
    behind the row (:data:`FIT_DIAGNOSTICS`, and ``sampler_problems``: the count of the
    package's failed checks) and ``commit`` (the checkout's: ``bench_provenance.commit``)."""
    ours = ours_fit.law_table(units="billions", ci=0.9)
    two = two_fit.law_table(ci=0.9)
    sampler = ours_fit.record.sampler
    settings = {
        "bowl": ours_fit.record.law_options["bowl"],
        "chains": sampler.chains,
        "warmup": sampler.warmup,
        "draws": sampler.draws,
        "seed": sampler.seed,
        "commit": commit,
    }
    health = {
        method: {**fit_health(fit), "sampler_problems": len(fit.diagnostics.problems)}
        for method, fit in (("ours", ours_fit), ("two_stage", two_fit))
    }
    rows = []
    for key, value in TRUE_LAW.items():
        for method, table in (("ours", ours), ("two_stage", two)):
            row = table.loc[key]
            rows.append(
                {
                    "rep": k,
                    "method": method,
                    "quantity": key[0],
                    "parameter": key[1],
                    "covered": bool(row["lower"] <= value <= row["upper"]),
                    "width": row["upper"] - row["lower"],
                    "error": row["median"] - value,
                    "data": sweep_data(f"sweep seed {COVERAGE_SEED0 + k}"),
                    **settings,
                    **health[method],
                }
            )
    return rows


def part_coverage(args):
    rows = []
    commit = bench_provenance.commit()
    for k in range(args.reps):
        runs = bl.load_runs(simulate_video_dit_sweep(seed=COVERAGE_SEED0 + k))
        small = argparse.Namespace(
            seed=k,
            chains=args.cov_chains,
            warmup=args.cov_iter,
            draws=args.cov_iter,
            bowl=args.bowl,
        )
        fit = fit_hp(runs, small)
        rows += coverage_rows(k, fit, fit_two_stage(runs, small), commit)
        print(f"rep {k}: {health_words(fit)}", flush=True)
        raw = pd.DataFrame(rows)  # written after every replication: partial runs keep results
        args.out.mkdir(parents=True, exist_ok=True)
        raw.to_csv(args.out / "hyperparams_coverage_raw.csv", index=False)
    summarise_coverage(raw, results=args.out)


def _span(values) -> str:
    """Integers as "0" or "0-49" (their smallest and largest)."""
    values = sorted({int(v) for v in values})
    return f"{values[0]}" if len(values) == 1 else f"{values[0]}-{values[-1]}"


def coverage_settings_words(raw: pd.DataFrame) -> str:
    """How the coverage raw rows ``raw`` were fitted, from their own columns (one run of
    ``--parts coverage`` writes the whole file, with one setting): "bowl full, 2x300+300 per
    fit, sampler seeds 0-49, code f0b5f84"; :data:`NOT_RECORDED` for rows written before the
    columns were recorded, never the current command's settings."""
    if any(c not in raw for c in (*COVERAGE_SETTINGS, "commit")):
        return NOT_RECORDED
    r = raw.iloc[0]
    return (
        f"bowl {r.bowl}, {int(r.chains)}x{int(r.warmup)}+{int(r.draws)} per fit, sampler seeds "
        f"{_span(raw['seed'])}, code {r.commit}"
    )


def coverage_health_words(raw: pd.DataFrame) -> str:
    """The count of unhealthy fits among the coverage raw rows ``raw``: fits (one per
    replication and method) with a failed sampler check (``sampler_problems`` > 0), with the
    largest R-hat, smallest bulk ESS and most divergences of any fit; or
    :data:`DIAGNOSTICS_NOT_RECORDED` for rows written before the columns were recorded."""
    if any(c not in raw for c in (*FIT_DIAGNOSTICS, "sampler_problems")):
        return DIAGNOSTICS_NOT_RECORDED
    fits = raw.drop_duplicates(["rep", "method"])
    bad = int((fits["sampler_problems"] > 0).sum())
    return (
        f"{bad} of {len(fits)} fits with sampler problems (max R-hat "
        f"{fits['max_r_hat'].max():.3f}, min ESS {fits['min_ess_bulk'].min():.0f}, at most "
        f"{int(fits['divergences'].max())} divergences per fit)"
    )


def summarise_coverage(raw: pd.DataFrame | None = None, results: Path | None = None) -> None:
    """The coverage table from the raw per-replication rows (default: the raw CSV saved in the
    folder ``results``, default :data:`RESULTS`, so an interrupted run can be summarised with
    ``--parts coverage_table``), written to that folder; titled with the settings and sampler
    health the rows record (:func:`coverage_settings_words`, :func:`coverage_health_words`)."""
    results = RESULTS if results is None else Path(results)
    if raw is None:
        raw = pd.read_csv(results / "hyperparams_coverage_raw.csv")
    reps = raw["rep"].nunique()
    table = (
        raw.groupby(["quantity", "parameter", "method"])
        .agg(coverage=("covered", "mean"), mean_width=("width", "mean"), bias=("error", "mean"))
        .unstack("method")
    )
    overall = raw.groupby("method")["covered"].mean()
    title = (
        f"Coverage of 90% intervals over {reps} SIMULATED replications (target 85-95%; "
        f"{coverage_settings_words(raw)}; {coverage_health_words(raw)}); "
        f"overall: ours {overall['ours']:.3f}, two-stage {overall['two_stage']:.3f}"
    )
    write(
        table,
        "coverage",
        title,
        data=replication_data(COVERAGE_SEED0 + raw["rep"]),
        results=results,
    )


def grid_data(rows, runs) -> dict:
    """The ``data`` label of each row of the 1.07B grid table (``rows``: its row labels): the
    "ours ..." rows come from the fit to the simulated sweep ``runs``, "Yin law ..." from
    the published laws, the rest (marked cell, grid argmin, the bowl) from the published grid."""
    out = {}
    for row in rows:
        if row.startswith("ours "):
            out[row] = bundled_sweep_data(runs)
        elif row.startswith("Yin law "):
            out[row] = PUBLISHED_LAW_DATA
        else:
            out[row] = PUBLISHED_GRID_DATA
    return out


def _bowl_curvatures(theta):
    """(k_lr, k_batch, k_cross) of a convex bowl: log curvatures and a tanh correlation."""
    k_lr, k_b = np.exp(theta[3]), np.exp(theta[4])
    return k_lr, k_b, 2 * np.tanh(theta[5]) * np.sqrt(k_lr * k_b)


def _bowl_residuals(theta, lr, b, loss):
    level, m_lr, m_b = theta[:3]
    k_lr, k_b, k_x = _bowl_curvatures(theta)
    u, v = np.log(lr) - m_lr, np.log(b) - m_b
    return level + k_lr * u**2 + k_b * v**2 + k_x * u * v - loss


def part_grid(args, fit=None):
    """``fit``: law "hyperparams" on the bundled simulated sweep (fitted here when None)."""
    runs = load_bundled()
    fit = fit if fit is not None else fit_hp(runs, args)
    pred = bl.predict(fit, N=published.YIN_GRID_N, D=list(published.YIN_GRID_MARKED), ci=0.9)
    grid = pd.read_csv(bundled_path("yin2025_grid_1p07B"))
    rows = []
    for (d, sub), p in zip(grid.groupby("D"), pred.itertuples(), strict=True):
        marked = sub[sub["marked_optimum"]].iloc[0]
        best = sub.loc[sub["loss"].idxmin()]
        # least-squares tilted bowl (loss units) on the 18 cells of this budget
        lr, b, loss = sub["lr"].to_numpy(), sub["batch_size"].to_numpy(), sub["loss"].to_numpy()
        # convex by construction (an unconstrained fit on the 4B grid drifted to a saddle)
        x0 = [loss.min(), np.log(2e-4), np.log(1e5), np.log(5e-4), np.log(1.6e-3), -0.5]
        res = least_squares(_bowl_residuals, x0, args=(lr, b, loss))
        jac = res.jac
        dof = max(len(loss) - len(x0), 1)
        cov = np.linalg.pinv(jac.T @ jac) * (res.fun @ res.fun / dof)
        sd = np.sqrt(np.diag(cov))

        def centre(log_value, log_sd, grid_values, res=res):
            inside = np.log(grid_values.min()) - 2.3 < log_value < np.log(grid_values.max()) + 2.3
            if not inside:  # a valley (|rho| -> 1): the grid does not pin a minimum down
                rho = np.tanh(res.x[5])
                return f"none: valley, rho {rho:.3f}"
            return f"{np.exp(log_value):.3g} (x/ {np.exp(log_sd):.2f})"

        rows.append(
            {
                "T (tokens)": d,
                "ours eta_opt [90%]": f"{p.eta_opt_median:.3g} [{p.eta_opt_lower:.3g}, "
                f"{p.eta_opt_upper:.3g}]",
                "ours B_opt [90%]": f"{p.B_opt_median:.3g} [{p.B_opt_lower:.3g}, "
                f"{p.B_opt_upper:.3g}]",
                "Yin law eta / B": f"{published.yin_eta_opt(published.YIN_GRID_N, d):.3g} / "
                f"{published.yin_b_opt(published.YIN_GRID_N, d):.3g}",
                "paper marked cell eta / B": f"{marked['lr']:.2g} / {marked['batch_size']:.2g}",
                "grid argmin eta / B (loss)": f"{best['lr']:.2g} / {best['batch_size']:.2g} "
                f"({best['loss']:.4f})",
                "bowl on grid eta_opt (+-1 sd)": centre(res.x[1], sd[1], lr),
                "bowl on grid B_opt (+-1 sd)": centre(res.x[2], sd[2], b),
                "bowl k_lr, k_batch, k_cross": ", ".join(
                    f"{k:.2g}" for k in _bowl_curvatures(res.x)
                ),
                "bowl rms resid": f"{np.sqrt(np.mean(res.fun**2)):.2g}",
            }
        )
    table = pd.DataFrame(rows).set_index("T (tokens)").T
    # the columns are the token budgets: named so in the CSV too (a columns' name is not written)
    table.columns = [f"T = {d:.3g} tokens" for d in table.columns]
    table.index.name = "quantity"
    write(
        table,
        "grid_1p07B",
        "Yin et al. 1.07B grid: our predicted optima (fit to the SIMULATED sweep; "
        f"{sampler_words(fit)}) beside the paper's marked cells, and a least-squares bowl fitted "
        "to the published grid",
        data=grid_data(table.index, runs),
        results=args.out,
    )


def sampler_words(fit) -> str:
    """The sampler settings of ``fit`` as the tables' titles give them: "2x500+500, seed 0"
    (chains x warmup + draws per chain)."""
    r = fit.record.sampler
    return f"{r.chains}x{r.warmup}+{r.draws}, seed {r.seed}"


def health_words(fit) -> str:
    """A fit's sampler diagnostics as a title gives them: "max R-hat 1.004, min ESS 812,
    0 divergences"."""
    d = fit.diagnostics
    return (
        f"max R-hat {d.max_r_hat:.3f}, min ESS {d.min_ess_bulk:.0f}, {d.divergences} divergences"
    )


def steplaw_runs_words(n_total: int, n_used: int, note: str) -> str:
    """The run counts of a Step Law fit's title: "1225 of 1911 runs fitted; 181 diverged runs
    and 505 more than 3% above their cell's best excluded", so that the excluded counts read
    against the total, not the fitted. ``note``: the fit's first note, what was excluded; only
    its summary (before a ":" listing the rows) goes in the title, the whole note below the
    table (:func:`part_steplaw`)."""
    return f"{n_used} of {n_total} runs fitted; {note.split(':', 1)[0]}"


def absent_terms(form: dict) -> set[tuple[str, str]]:
    """The (quantity, parameter) keys of a law table (("B_opt", "exp_N"), ...) whose exponent a
    law of ``form`` (hyperparameter -> the axes its power law has, as ``published.STEPLAW_FORM``)
    leaves out: structural zeros, which a table should say are no term rather than print 0."""
    return {
        (QUANTITY_OF[hp], EXPONENT_OF[axis])
        for hp, axes in form.items()
        for axis in EXPONENT_OF
        if axis not in axes
    }


def part_steplaw(args):
    runs = steplaw_dense()
    t0 = time.perf_counter()
    fit = fit_hp(runs, args, **STEPLAW_OPTIONS)
    wall = time.perf_counter() - t0
    ours = fit.law_table(units="ones", ci=0.95)
    two = fit_two_stage(runs, args, **STEPLAW_TWO_STAGE).law_table(units="ones", ci=0.95)
    rows = []
    no_term = absent_terms(published.STEPLAW_FORM)  # the published law's structural zeros
    for key in ours.index:
        boot = STEPLAW_BOOT.get(key)
        quantity, param = key
        law = STEPLAW[HYPERPARAM_OF[quantity]]
        pub = {"c": law[0], "exp_N": law[1], "exp_T": law[2]}[param]
        two_cell = (  # the two-stage fit's table has no row for a term it leaves out
            NO_TERM
            if key not in two.index
            else f"{two.loc[key, 'median']:.3g} [{two.loc[key, 'lower']:.3g}, "
            f"{two.loc[key, 'upper']:.3g}]"
        )
        rows.append(
            {
                "quantity": quantity,
                "parameter": param,
                "ours median": ours.loc[key, "median"],
                "ours 95%": f"[{ours.loc[key, 'lower']:.3g}, {ours.loc[key, 'upper']:.3g}]",
                "two-stage 0.25% (ours)": two_cell,
                "Step Law published": NO_TERM if key in no_term else pub,
                "authors' bootstrap 95%": "" if boot is None else f"[{boot[0]}, {boot[1]}]",
            }
        )
    table = pd.DataFrame(rows).set_index(list(LAW_INDEX))
    write(
        table,
        "steplaw",
        f"Step Law dense, REAL runs ("
        f"{steplaw_runs_words(len(runs.df), fit.record.data['n_rows_used'], fit.record.notes[0])}; "
        f"N non-embedding params, D and B in tokens; {args.chains}x{args.warmup}+{args.draws}, "
        f"{wall:.0f} s, {health_words(fit)})",
        data=STEPLAW_DATA,
        notes=[f"Fit notes: {'; '.join(fit.record.notes)}"],
        results=args.out,
    )
    print(fit.summary().round(4).to_string())


def _nearest_run(cell: pd.DataFrame, lr: float, b: float) -> pd.Series:
    """The grid run nearest (lr, b) in log space (converged runs only)."""
    dist2 = (np.log(cell["lr"]) - np.log(lr)) ** 2 + (np.log(cell["batch_size"]) - np.log(b)) ** 2
    return cell.loc[dist2.idxmin()]


def part_backtest(args):
    runs = steplaw_dense()
    held = runs.df["N"] > 1e9
    train = runs.exclude(held, "held out: the N = 1.07e9 cells (backtest)")
    test = runs.df[held & ~runs.df["diverged"]]
    fit = fit_hp(train, args, **STEPLAW_OPTIONS)
    two = fit_two_stage(train, args, **STEPLAW_TWO_STAGE)
    rows = []
    for (n, d), cell in test.groupby(["N", "D"]):
        best = cell["loss"].min()
        p_ours = bl.predict(fit, N=n, D=d).iloc[0]
        p_two = bl.predict(two, N=n, D=d).iloc[0]
        c_lr, e_n, e_d = STEPLAW["lr"]
        c_b, _, e_bd = STEPLAW["batch_size"]
        preds = {
            "ours": (p_ours["eta_opt_median"], p_ours["B_opt_median"]),
            "two-stage (0.25% tol.)": (p_two["eta_opt_median"], p_two["B_opt_median"]),
            STEPLAW_PUBLISHED_ROW: (c_lr * n**e_n * d**e_d, c_b * d**e_bd),
        }
        # the diagnostics of the fit behind each row (none for the published law's)
        health = {"ours": fit_health(fit), "two-stage (0.25% tol.)": fit_health(two)}
        for method, (lr, b) in preds.items():
            run = _nearest_run(cell, lr, b)
            rows.append(
                {
                    "N": n,
                    "D": d,
                    "method": method,
                    "pred eta_opt": lr,
                    "pred B_opt (tokens)": b,
                    "nearest run lr": run["lr"],
                    "nearest run B": run["batch_size"],
                    "nearest loss": run["loss"],
                    "cell best loss": best,
                    "excess %": 100 * (run["loss"] / best - 1),
                    **health.get(method, {}),
                }
            )
        rows.append(
            {
                "N": n,
                "D": d,
                "method": "ours 90% interval",
                "pred eta_opt": f"[{p_ours['eta_opt_lower']:.3g}, {p_ours['eta_opt_upper']:.3g}]",
                "pred B_opt (tokens)": f"[{p_ours['B_opt_lower']:.3g}, "
                f"{p_ours['B_opt_upper']:.3g}]",
                "cell best loss": best,
                **health["ours"],
            }
        )
    table = pd.DataFrame(rows).set_index(["N", "D", "method"])
    write(
        table,
        "backtest",
        "Step Law backtest on the REAL dense runs: hold out N = 1.07e9, predict the optimum, "
        "loss of the nearest grid run vs the cell's best (the published law: within ~0.09%; "
        f"fits {sampler_words(fit)}; ours: {health_words(fit)}; two-stage: "
        f"{health_words(two)}; {STEPLAW_NOT_HELD_OUT})",
        data=STEPLAW_DATA,
        results=args.out,
    )


PARTS = {
    "recovery": part_recovery,
    "coverage": part_coverage,
    # titled from the raw rows' own settings, not this command's (--bowl, --cov-iter, ...)
    "coverage_table": lambda args: summarise_coverage(results=args.out),
    "grid": part_grid,
    "steplaw": part_steplaw,
    "backtest": part_backtest,
}


def parts_list(text: str) -> list[str]:
    """``--parts``: comma-separated names of :data:`PARTS` (spaces and empty names ignored), in
    the order given; argparse.ArgumentTypeError naming the unknown ones and listing the valid
    ones, so a typo stops the script before any part runs."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in PARTS]
    if unknown or not names:
        what = f"unknown part(s) {', '.join(unknown)}" if unknown else "no part named"
        raise argparse.ArgumentTypeError(f"{what}; choose from {', '.join(PARTS)}")
    return names


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--parts",
        type=parts_list,
        default=list(PARTS),
        metavar="PART[,PART...]",
        help=f"the parts to run, comma-separated, from {', '.join(PARTS)} (default: all)",
    )
    parser.add_argument(
        "--reps", type=int, default=50, help="coverage replications (default %(default)s)"
    )
    parser.add_argument(
        "--cov-chains", type=int, default=2, help="chains per coverage fit (default %(default)s)"
    )
    # the defaults are the settings of the committed tables (their titles: recovery and Step Law
    # 2x500+500, coverage 2x300+300 per fit)
    parser.add_argument(
        "--cov-iter",
        type=int,
        default=300,
        help="warmup = draws per coverage fit (default %(default)s)",
    )
    parser.add_argument(
        "--chains", type=int, default=2, help="chains per fit (default %(default)s)"
    )
    parser.add_argument(
        "--warmup", type=int, default=500, help="warm-up iterations per chain (default %(default)s)"
    )
    parser.add_argument(
        "--draws", type=int, default=500, help="draws per chain (default %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="sampler seed (default %(default)s)")
    parser.add_argument("--bowl", default=None, help="bowl shape (default: the law's default)")
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS,
        metavar="DIR",
        help="folder the tables are written to (default %(default)s, where a run replaces the "
        "committed tables of the parts it runs; use a scratch folder for quick checks)",
    )
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        # expected, and said elsewhere: the Step Law fits (divergence="exclude") leave out the
        # diverged and far-above runs by design; the counts and rows are the fit's notes (the
        # steplaw table's title and .md). Every other warning (sampler, screening, plausibility,
        # extrapolation) shows.
        warnings.filterwarnings("ignore", category=DivergenceWarning)
        run_parts(args)


def run_parts(args) -> None:
    """Run ``args.parts`` in order (the grid reuses the recovery fit when both run)."""
    fit = None
    for name in args.parts:
        t0 = time.perf_counter()
        try:
            if name == "grid":
                part_grid(args, fit)
            elif name == "recovery":
                fit = part_recovery(args)
            else:
                PARTS[name](args)
        except SharedDataMissing as err:
            print(f"skipping {name}: {err}")
        print(f"[{name}: {time.perf_counter() - t0:.0f} s]", flush=True)


if __name__ == "__main__":
    main()
