"""Honest intervals where the user acts: held-out losses, N_opt and L_opt, on selection data,
simulated misspecification and (once) the confirmation data of docs/calibration_protocol.md.

    python benchmarks/calibration.py --parts selection         # choose here (drift: LODO)
    python benchmarks/calibration.py --parts simulation --seeds 4
    python benchmarks/calibration.py --parts confirmation      # scored once, after freezing
    python benchmarks/calibration.py --table                   # the merged table of saved parts
    python benchmarks/calibration.py --parts selection --only epoch --methods none,gp
    python benchmarks/calibration.py --parts simulation --workers 2   # 2 local processes
    python benchmarks/calibration.py --parts selection --scheduler tcp://scheduler:8786

Per split (fit the Chinchilla law, Huber likelihood, on the training runs; the simulations use
the Gaussian likelihood, their noise model) and per extrapolation method
(bayeslaws.posterior.model): the held-out runs' losses as new runs (median error, coverage of
the 50/80/90% intervals with a bootstrap 90% interval over held-out budgets, NaN with fewer
than 5, relative 90% width, log predictive density), N_opt and L_opt at held-out budgets (the
simulator's optimum, Porian et al.'s published optima, or the held-out budget's empirical
vertex with its bootstrap interval; hits counted as they are and without N_opt intervals that
end at the isoFLOP search edge; error median |ln(median / truth)|), and the 90% width of a new
run 1, 2 and 3 decades of compute beyond the lowest-loss run of the largest training budget.
Every scores row also carries its split's fit health (``cal.fit_health``: max_r_hat,
min_ess_bulk, divergences, diagnostics_ok, n_flagged = training runs the outlier screening
flagged and the fit kept); a split whose fit has problems is named in a SamplerWarning, printed
with the split's line.
The stored outputs predate these last rules: benchmarks/calibration_rescore.py re-summarises
their N_opt rows without refits.

Methods (VARIANTS): "none" (the fitted law alone), "gp" (0.1's default), "drift" (GP pattern +
drift beyond the range, rate from the corpus population), "drift_cv" (the same, the population
updated by the table's own inner scale-out splits), and the candidates for the new default,
"model" (forms averaged by stacking + GP + drift from the isotropic population), "model_tl"
(the same with the tilt/level population) and "model_cv" (the same with the population updated
by the table's own inner splits). Default: none, gp and the three candidates.
On a selection data set the drift population is the one learned without it
(benchmarks/output/learn_drift_population.json, leave_one_out); elsewhere the full one.

Writes benchmarks/output/calibration_<part>.csv (scores), calibration_points_<part>.csv (every
held-out run and decision quantity), calibration_widths_<part>.csv; results are appended split
by split, so an interrupted run keeps what it finished (rerun skips finished splits). Each
split's fit, with every state the methods computed, is saved in output/fits/<part>/ (not
committed: *.nc) for scoring variants without refits.

Splits are scored as a batch through ``bayeslaws.inference.batch.iter_map_tasks``, one task per
split (:func:`run_split`): in this process by default, on ``--workers N`` local processes, or
on a Dask cluster (``--scheduler ADDRESS``; the output folder must then be one the workers
share). Results are written in split order as they come back; a split that fails is reported
and the run ends with an error after the others are written.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bayeslaws as bl  # noqa: E402
from bayeslaws.inference import Fit, SamplerWarning  # noqa: E402
from bayeslaws.inference.batch import InProcessExecutor, dask_client, iter_map_tasks  # noqa: E402
from bayeslaws.posterior import calibration as cal  # noqa: E402
from bayeslaws.posterior import splits  # noqa: E402
from bayeslaws.posterior.draws import log_loss_draws  # noqa: E402
from bayeslaws.posterior.extrapolation import drift, prepare  # noqa: E402
from bayeslaws.runs import bundled  # noqa: E402

OUT = ROOT / "benchmarks" / "output"
POPULATION = OUT / "learn_drift_population.json"
METHODS = ("none", "gp", "model", "model_tl", "model_cv")
LEVELS = (0.5, 0.8, 0.9)


# ---- the splits ----------------------------------------------------------------------------------
def selection_splits():
    """(data set, split, make, LODO name, truth of decisions)."""
    for axis in ("C", "N", "D"):
        cut = splits.EPOCH_CUTS[axis]
        yield "epoch", f"{axis}>{cut:g}", lambda a=axis: splits.epoch_split(axis=a), "epoch", None
    for cfg in splits.SELECTION_PORIAN:
        yield (
            f"porian {cfg}",
            "2 largest budgets",
            lambda c=cfg: splits.porian_split(c),
            f"porian {cfg}",
            "porian",
        )
    yield "steplaw", "N=1.07e9", splits.steplaw_split, "steplaw best cells", None
    yield (
        "steplaw",
        "D>=8e10",
        lambda: splits.steplaw_split(d_holdout=8e10),
        "steplaw best cells",
        None,
    )


def confirmation_splits():
    yield "llama_3", "budgets>1e21", lambda: splits.compendium_split("llama_3"), None, "vertex"
    for corpus in ("comma", "dclm", "nemotron"):
        yield (
            f"marin {corpus}",
            "largest budget",
            lambda c=corpus: splits.compendium_split("marin_202603", c),
            None,
            "vertex",
        )


def simulation_splits(seeds: int):
    for kind in splits.SIM_KINDS:
        for seed in range(seeds):
            yield (
                f"sim {kind}",
                f"seed {seed}",
                lambda k=kind, s=seed: splits.simulated_split(k, seed=s),
                None,
                ("sim", kind),
            )


# ---- truths of the decision quantities ---------------------------------------------------------
def porian_truth(config: str, test: pd.DataFrame) -> pd.DataFrame:
    """Porian et al.'s published optimum (N_opt params, L_opt loss) per held-out budget C
    (FLOPs) of ``config``; a budget without a published pair is a row of NaN."""
    raw = pd.read_csv(bundled.shared_data_dir() / "porian_isoflop" / "optimal_pairs.csv")
    spec = splits.SELECTION_PORIAN[config]
    rows = np.ones(len(raw), bool)
    for key, value in spec.items():
        rows &= raw[key] == value
    table = raw[rows]
    out = []
    for C in np.unique(test["C"]):
        hit = table[np.isclose(table["flops"], C, rtol=1e-3)]
        found = len(hit) > 0
        out.append({
            "C": C,
            "N_opt": float(hit["n"].iloc[0]) if found else np.nan,
            "L_opt": float(hit["loss"].iloc[0]) if found else np.nan,
        })  # fmt: skip
    return pd.DataFrame(out, columns=["C", "N_opt", "L_opt"])


def decision_truth(kind, dataset: str, test: pd.DataFrame) -> pd.DataFrame | None:
    """The truth of N_opt (params) and L_opt (loss) per held-out budget C (FLOPs), one row per
    budget of ``test``, with ``scorable``: False where there is no truth to score against (an
    empirical vertex of a budget whose isoFLOP curve has no minimum, a Porian budget without a
    published optimum; N_opt, L_opt NaN). None for splits without decision quantities."""
    if kind is None:
        return None
    if kind == "porian":
        truth = porian_truth(dataset.removeprefix("porian "), test)
    elif kind == "vertex":
        v = cal.empirical_vertices(test)
        # keep the vertex's bootstrap 90% interval (the protocol reports it beside the vertex)
        truth = v.rename(columns=lambda c: c.replace("_vertex", "_opt"))
    else:
        _, sim_kind = kind
        truth = splits.simulated_optimum(sim_kind, np.unique(test["C"]))
    values = truth[["N_opt", "L_opt"]].to_numpy(float)
    return truth.assign(scorable=np.isfinite(values).all(axis=1))


def scorable_truth(truth: pd.DataFrame | None, where: str) -> pd.DataFrame | None:
    """The budgets of ``truth`` (:func:`decision_truth`) that can be scored; the others are
    named in an :class:`~bayeslaws.posterior.calibration.UnscoredWarning` (``where``: the
    split, for the message)."""
    if truth is None:
        return None
    left = truth.loc[~truth["scorable"], "C"].tolist()
    if left:
        warnings.warn(
            f"{where}: {len(left)} of {len(truth)} held-out budgets have no N_opt/L_opt truth "
            f"(an isoFLOP curve without a minimum, or no published optimum) and are left out "
            f"of the decision scores: C = {[f'{c:.3g}' for c in left]}",
            cal.UnscoredWarning,
            stacklevel=2,
        )
    return truth[truth["scorable"]].drop(columns="scorable")


# ---- one split -----------------------------------------------------------------------------------
def with_cache(fit: Fit, entries: dict) -> Fit:
    """A fit sharing the draws and record, with its own copy of the cache plus ``entries``."""
    cache = {k: fit.cache[k] for k in fit.cache.keys()}
    cache.update(entries)
    return Fit(fit.idata, fit.record, compute_model=fit.compute_model, cache=cache)


def population(lodo: str | None, grouping: str = "isotropic", path=None) -> dict:
    """The learned drift population (leave ``lodo`` out when it was learned with it), from
    ``path`` (default POPULATION)."""
    data = json.loads(Path(path or POPULATION).read_text())
    if grouping == "tilt_level":
        tl = data["tilt_level"]
        groups = tl["leave_one_out"].get(lodo, tl["groups"]) if lodo else tl["groups"]
        return drift.population_state(groups=groups)
    if lodo is not None and lodo in data["leave_one_out"]:
        p = data["leave_one_out"][lodo]
        return drift.population_state(p["mean"], p["sd"])
    return drift.population_state(data["log_tau_mean"], data["log_tau_sd"])


# method -> (the view of bayeslaws.posterior.model, the drift state: a population grouping or
# "cv" = the isotropic population updated by the table's own inner scale-out splits)
VARIANTS = {
    "none": ("none", "isotropic"),
    "gp": ("gp", "isotropic"),
    "drift": ("drift", "isotropic"),
    "drift_cv": ("drift", "cv"),
    "model": ("model", "isotropic"),
    "model_tl": ("model", "tilt_level"),
    "model_cv": ("model", "cv"),
}


def score_split(
    part, dataset, split, train, test, lodo, truth_kind, methods, sampler, seed, out, pop_file
):
    """Fit one split and score every method; the fit is saved in ``out``/fits/``part``, the
    drift population read from ``pop_file``. Every scores row carries the fit's health
    (``cal.fit_health``); a fit with problems (sampler checks failed, runs flagged by the
    outlier screening) is named in one SamplerWarning (``cal.warn_fit_health``) instead of the
    fit's own warnings, which are silenced."""
    read_population = functools.partial(population, path=pop_file)
    likelihood = "gaussian" if part == "simulation" else "huber"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bl.fit(train, "chinchilla", likelihood=likelihood, seed=seed, warn=False, **sampler)
    health = cal.fit_health(fit)
    cal.warn_fit_health([(f"{dataset} {split}", fit)], f"calibration {part}")
    base = with_cache(fit, {drift.CACHE_KEY: read_population(lodo)})
    truth = scorable_truth(decision_truth(truth_kind, dataset, test), f"{dataset} {split}")
    # asked as bl.predict asks them: C the compute model's FLOPs of N and D, not the table's C
    # (a nominal budget on Marin's tables); that C is kept as a label (groups, points' C)
    query = cal.backtest_query(base, test)
    groups = test["C"].round(-10).to_numpy() if truth_kind else np.arange(len(test))
    rows, points, widths, fitted_by, states = [], [], [], {}, {}
    for method in methods:
        t0 = time.perf_counter()
        view_method, source = VARIANTS[method]
        if source not in states and source == "cv":
            calibrated = with_cache(base, {})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                prior = read_population(lodo)
                drift.calibrate(calibrated, train, seed=seed, prior=prior, **sampler)
            states["cv"] = calibrated.cache.get(drift.CACHE_KEY)
        elif source not in states:
            states[source] = read_population(lodo, source)
        fitted = with_cache(base, {drift.CACHE_KEY: states[source]})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prepare(fitted, view_method, train, seed=seed, stacking=sampler)
            z = np.asarray(log_loss_draws(fitted, query, "new_run", None, seed, view_method))
        for key in fitted.cache.keys():  # the GP and the forms are shared by later variants
            if key != drift.CACHE_KEY:
                base.cache[key] = fitted.cache[key]
        fitted_by[method] = fitted
        table = cal.interval_table(test["loss"], z, LEVELS)
        head = {"part": part, "dataset": dataset, "split": split, "method": method}
        row = {**head, "quantity": "loss", **cal.score(test["loss"], z, LEVELS, test.index)}
        scored = table["scored"].to_numpy()  # runs with a loss: the ones cal.score scored
        for level in LEVELS:
            key = round(100 * level)
            hits = table[f"in{key}"].to_numpy()[scored]
            _, lo, hi = cal.bootstrap_rate(hits, groups[scored], seed=seed)
            row[f"cov{key}_lower"], row[f"cov{key}_upper"] = lo, hi
        rows.append({**row, **health})
        loss_row = rows[-1]
        points.append(
            table.assign(**head, quantity="loss", N=test["N"].to_numpy(), C=test["C"].to_numpy())
        )
        if truth is not None and len(truth):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                dec = cal.decision_scores(fitted, truth, view_method, seed=seed)
            for _, g in dec.groupby("quantity", sort=False):
                rows.append({**head, **decision_summary(g, seed), **health})
            points.append(dec.assign(**head))
        w = cal.widths_by_distance(fitted, view_method, seed=seed)
        widths.append(w.assign(**head))
        loss_row["seconds"] = time.perf_counter() - t0
    # keep the fit with every state the methods computed (GP, forms, the table's own inner
    # splits) so that variants of the discrepancy can be scored later without refits
    kept = {k: base.cache.get(k) for k in base.cache.keys() if k != drift.CACHE_KEY}
    if "cv" in states:
        kept["drift_cv"] = states["cv"]
    folder = Path(out) / "fits" / part
    folder.mkdir(parents=True, exist_ok=True)
    with_cache(fit, {k: v for k, v in kept.items() if v is not None}).save(
        folder / f"{_slug(dataset)}__{_slug(split)}.nc"
    )
    jax.clear_caches()  # every fit compiles kernels; a long run otherwise exhausts memory maps
    return pd.DataFrame(rows), pd.concat(points, ignore_index=True), pd.concat(widths)


def decision_summary(g: pd.DataFrame, seed: int = 0) -> dict:
    """One scores row of a decision quantity from its :func:`cal.decision_scores` rows ``g``:
    ``log_error`` = median |ln(median / truth)| (the protocol's error; ``error``, the loss rows'
    relative error, is left empty), coverage per level with bootstrap bounds over budgets (NaN
    with fewer than 5 budgets, :func:`cal.bootstrap_rate`), ``cov90_bounded`` (hits whose N_opt
    interval does not end at the search edge, ``in90_bounded``), ``n_edge_bounded90`` and the
    mean relative 90% width."""
    row = {"quantity": g["quantity"].iloc[0], "n": len(g)}
    row["log_error"] = float(np.median(g["log_error"]))
    for level in LEVELS:
        key = round(100 * level)
        rate, lo, hi = cal.bootstrap_rate(g[f"in{key}"], seed=seed)
        row[f"cov{key}"], row[f"cov{key}_lower"], row[f"cov{key}_upper"] = rate, lo, hi
    row["cov90_bounded"] = float(g["in90_bounded"].mean())
    row["n_edge_bounded90"] = int(g["edge_bounded90"].sum())
    row["width90"] = float(np.mean((g["upper90"] - g["lower90"]) / g["median"]))
    return row


# the points file: held-out runs (actual, lpd, N) and decision quantities (truth, log_error,
# the truth's own interval, the share of draws at the N_opt search edge, edge-bounded flags);
# columns added later go at the end so that read_points reads the older files
POINT_COLUMNS = [
    *("actual", "median", "lower50", "upper50", "in50", "lower80", "upper80", "in80"),
    *("lower90", "upper90", "in90", "lpd", "part", "dataset", "split", "method", "quantity"),
    *("N", "C", "truth", "log_error"),
    *("truth_lower", "truth_upper", "at_boundary_share", "edge_bounded90", "in90_bounded"),
]
BOOL_COLUMNS = ("in50", "in80", "in90", "edge_bounded90", "in90_bounded")
# the scores file: loss rows and decision rows under one header (new columns at the end; the
# fit's health, cal.HEALTH_COLUMNS, last: files written before them read with them missing)
SCORE_COLUMNS = [
    *("part", "dataset", "split", "method", "quantity", "n", "error", "cov50", "cov80"),
    *("cov90", "width90", "lpd", "cov50_lower", "cov50_upper", "cov80_lower", "cov80_upper"),
    *("cov90_lower", "cov90_upper", "seconds", "log_error", "cov90_bounded", "n_edge_bounded90"),
    *cal.HEALTH_COLUMNS,
]
# the widths file: cal.widths_by_distance's columns and the split's labels (score_split)
WIDTH_COLUMNS = ["decades", "N", "D", "width90", "part", "dataset", "split", "method"]
FILE_COLUMNS = {"scores": SCORE_COLUMNS, "points": POINT_COLUMNS, "widths": WIDTH_COLUMNS}


def read_points(path) -> pd.DataFrame:
    """A points file, also one written before POINT_COLUMNS (splits without decision
    quantities wrote the first 19 columns, splits with them 21, under one 19-column header;
    files written before the edge columns have 21; missing columns are NaN)."""
    import csv

    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    if header != POINT_COLUMNS[: len(header)]:
        raise ValueError(f"{path}: unexpected columns {header}")
    frame = pd.DataFrame(
        [r + [""] * (len(POINT_COLUMNS) - len(r)) for r in body], columns=POINT_COLUMNS
    )
    frame = frame.replace("", np.nan)
    for col in frame.columns:
        if col in ("part", "dataset", "split", "method", "quantity"):
            continue
        if col in BOOL_COLUMNS:
            frame[col] = frame[col].map({"True": True, "False": False})
        else:
            frame[col] = pd.to_numeric(frame[col])
    return frame


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.=" else "_" for c in text)


@dataclass(frozen=True)
class SplitJob:
    """One split to score: :func:`score_split`'s arguments, with the output folder and the drift
    population file passed explicitly (a worker process does not share this one's globals)."""

    part: str
    dataset: str
    split: str
    train: object  # RunTable
    test: pd.DataFrame
    lodo: str | None
    truth_kind: object
    methods: tuple
    sampler: dict
    seed: int
    out: Path
    population: Path


def run_split(job: SplitJob):
    """What a worker runs: (scores, points, widths) of one split."""
    return score_split(
        job.part, job.dataset, job.split, job.train, job.test, job.lodo, job.truth_kind,
        list(job.methods), job.sampler, job.seed, job.out, job.population,
    )  # fmt: skip


def part_paths(part) -> dict:
    """The scores, points and widths files of ``part``."""
    return {
        k: OUT / f"calibration{'' if k == 'scores' else '_' + k}_{part}.csv"
        for k in ("scores", "points", "widths")
    }


def split_jobs(part, methods, sampler, seeds, only, seed) -> list[SplitJob]:
    """The splits of ``part`` still to score (the (split, method) pairs already in the scores
    file are not redone; a split whose data is absent is reported and skipped)."""
    make_splits = {
        "selection": selection_splits,
        "confirmation": confirmation_splits,
        "simulation": lambda: simulation_splits(seeds),
    }[part]
    scores_file = part_paths(part)["scores"]
    done = set()
    if scores_file.exists():
        prev = pd.read_csv(scores_file)
        done = {
            (d, s, m) for d, s, m in prev[["dataset", "split", "method"]].itertuples(index=False)
        }
    jobs = []
    for dataset, split, make, lodo, truth_kind in make_splits():
        if only and only not in dataset:
            continue
        todo = [m for m in methods if (dataset, split, m) not in done]
        if not todo:
            continue
        try:
            train, test = make()
        except bundled.SharedDataMissing as err:
            print(f"{dataset} {split}: skipped ({err})", file=sys.stderr)
            continue
        seed_here = int(split.split()[-1]) if split.startswith("seed") else seed
        jobs.append(
            SplitJob(part, dataset, split, train, test, lodo, truth_kind, tuple(todo), sampler,
                     seed_here, OUT, POPULATION)
        )  # fmt: skip
    return jobs


def check_appendable(path: Path, columns) -> list[str]:
    """The header of the csv ``path`` (empty when there is no file yet); raises ValueError when
    the file lacks any of ``columns``, e.g. one written before the edge-bounded columns: score
    into a fresh ``--out`` folder instead."""
    if not path.exists():
        return []
    header = pd.read_csv(path, nrows=0).columns.tolist()
    extra = [c for c in columns if c not in header]
    if extra:
        raise ValueError(
            f"{path} was written without columns {extra} (before the 2026-12 fixes); "
            "write to a fresh --out folder"
        )
    return header


def append_csv(path: Path, frame: pd.DataFrame) -> None:
    """Append ``frame`` to the csv ``path`` in its header's column order (a new file gets
    ``frame``'s header); refuses (ValueError, :func:`check_appendable`) a frame with columns the
    file lacks."""
    header = check_appendable(path, frame.columns)
    if not header:
        frame.to_csv(path, index=False)
        return
    frame.reindex(columns=header).to_csv(path, mode="a", header=False, index=False)


def run_part(part, methods, sampler, seeds, only, seed, executor=None, workers=None):
    """Score the splits of ``part`` through ``executor`` (None: in this process, or on
    ``workers`` local processes), appending each split's rows in split order as they arrive."""
    jobs = split_jobs(part, methods, sampler, seeds, only, seed)
    if not jobs:
        return
    paths = part_paths(part)
    for key, columns in FILE_COLUMNS.items():  # before any fit: refuse a file append_csv would
        check_appendable(paths[key], columns)  # refuse after the first split
    if executor is None and workers is None:
        executor = InProcessExecutor()
    results = iter_map_tasks(
        run_split,
        jobs,
        executor,
        names=[f"{job.dataset} | {job.split}" for job in jobs],
        workers=workers,
        show_progress=False,
        label=f"calibration {part}",
    )
    arrived, written, failed = {}, 0, []
    for result in results:
        arrived[result.index] = result
        while written in arrived:  # in split order: the files read as a sequential run's
            result, job = arrived.pop(written), jobs[written]
            written += 1
            if not result.ok:
                failed.append(result)
                print(f"{part}: {job.dataset} {job.split}: FAILED: {result.error}", file=sys.stderr)
                continue
            scores, points, widths = result.value
            points = points.reindex(columns=POINT_COLUMNS)  # one header for every split
            scores = scores.reindex(columns=SCORE_COLUMNS)
            for key, frame in (("scores", scores), ("points", points), ("widths", widths)):
                append_csv(paths[key], frame)
            # what was left out of the scores, and a fit with problems, by name
            named = (cal.UnscoredWarning.__name__, SamplerWarning.__name__)
            for text in result.warnings:
                if text.startswith(named):
                    print(f"{part}: {job.dataset} {job.split}: {text}", file=sys.stderr)
            warned = f", {len(result.warnings)} warnings" if result.warnings else ""
            print(
                f"{part}: {job.dataset} {job.split}: {len(job.train)} fitted, {len(job.test)} "
                f"held out, {result.seconds:.0f} s{warned}",
                file=sys.stderr,
                flush=True,
            )
    if failed:
        detail = "; ".join(f"{r.name!r}: {r.error}" for r in failed)
        raise RuntimeError(f"{part}: {len(failed)} of {len(jobs)} splits failed: {detail}")


COLUMNS = [
    "part",
    "dataset",
    "split",
    "method",
    "quantity",
    "n",
    "error",
    "log_error",
    "cov50",
    "cov80",
    "cov90",
    "cov90_lower",
    "cov90_upper",
    "cov90_bounded",
    "n_edge_bounded90",
    "width90",
    "lpd",
    "diagnostics_ok",
    "n_flagged",
]
TABLE_NOTE = (
    "error: median |median / actual - 1| of held-out losses; log_error: median "
    "|ln(median / truth)| of N_opt, L_opt. cov90_lower/upper: bootstrap 90% interval over "
    f"held-out budgets or runs, NaN with fewer than {cal.MIN_GROUPS} (one budget always "
    "resamples to the same rate). cov90_bounded: N_opt/L_opt hits whose N_opt 90% interval "
    "does not end at the isoFLOP search edge (n_edge_bounded90 of n do); empty in files "
    "written before these columns. diagnostics_ok: the split's fit passed its sampler checks; "
    "n_flagged: its training runs flagged by the outlier screening (kept); both empty in files "
    "written before 2026-12-06. Marin's model_cv loss rows in files written before 2026-12-06 "
    "were asked at the table's nominal budget C, not at 6ND as bl.predict asks (see "
    "docs/calibration_protocol.md, review 9 notes)."
)


def merged_table() -> pd.DataFrame:
    parts = [
        p
        for p in ("selection", "simulation", "confirmation")
        if (OUT / f"calibration_{p}.csv").exists()
    ]
    table = pd.concat([pd.read_csv(OUT / f"calibration_{p}.csv") for p in parts], ignore_index=True)
    table.to_csv(OUT / "calibration.csv", index=False)
    return table


def main(argv=None) -> int:
    global OUT, POPULATION
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="", help="selection, simulation, confirmation")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--seeds", type=int, default=4, help="simulated designs per truth")
    parser.add_argument("--only", default="", help="only data sets whose name contains this")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--table", action="store_true", help="print the merged table")
    parser.add_argument("--out", default=str(OUT), help="output folder (default benchmarks/output)")
    parser.add_argument("--population", default=str(POPULATION), help="learn_drift output json")
    parser.add_argument("--draws", type=int, default=300, help="NUTS warm-up and draws per chain")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="score the splits on N local processes")
    where.add_argument("--scheduler", help="score the splits on a Dask cluster (tcp://host:8786)")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    OUT, POPULATION = Path(args.out), Path(args.population)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = set(methods) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}; choose from {tuple(VARIANTS)}")
    sampler = {"chains": 2, "warmup": args.draws, "draws": args.draws}
    OUT.mkdir(parents=True, exist_ok=True)
    client = dask_client(args.scheduler)
    try:
        for part in [p.strip() for p in args.parts.split(",") if p.strip()]:
            run_part(part, methods, sampler, args.seeds, args.only, args.seed, client, args.workers)
    finally:
        if client is not None:
            client.close()
    if args.table or args.parts:
        table = merged_table()
        with pd.option_context(
            "display.width", 250, "display.max_columns", 30, "display.max_rows", 500
        ):
            print(
                table[[c for c in COLUMNS if c in table]].to_string(
                    index=False, float_format="{:.3f}".format
                )
            )
            print(TABLE_NOTE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
