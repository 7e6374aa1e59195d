"""How much a narrow range of D tokens (or N params) tells the Chinchilla law's exponent in it:
the measurement behind ``bayeslaws.inference.identifiability.MIN_RANGE``.

SIMULATED Chinchilla tables (``simulate_chinchilla_runs``: E 1.7, A 400, B 410, alpha 0.34,
beta 0.28). The narrow column holds ``--levels`` values geometric over the range (max / min),
from D = 1e10 tokens or N = 2e8 params; the other column is 6 sizes 5e7..2e9 params (40x) or 5
token counts 1e9..1e11 tokens (100x). Gaussian noise of sd ``--noise`` on ln loss. Each table
is fitted by ``bl.fit`` (``--chains`` x ``--warmup`` + ``--draws``, default 2 x 300 + 300,
seed = the table's seed), and each fit's sampler health is kept (``fit.diagnostics``: its
``ok``, max R-hat, min bulk and tail ESS, divergences) with the warnings it raised, counted by
kind (caught and recorded, not silenced). Reported: the posterior sd of the exponent (beta for
a narrow D, alpha for a narrow N) over its prior sd (Beta(2, 3): 0.2), the median over the
seeds whose fit passes the package's sampler checks (and how many do), by the narrow column's
range; beside it the median over all fits with how many seeds' 90% intervals cover the truth,
the failures per cell by kind and the warnings per cell. A fit that fails the checks can
report a collapsed chain as a tiny sd, so the passing fits' medians are the measurement; the
all-fits ones show what the failing fits would change. Writes
benchmarks/output/identifiability_range.txt (``--out``) and its per-fit CSV (same name, .csv).

    python benchmarks/identifiability_range.py [--columns D N] [--levels 3 5]
        [--noise 0.01 0.003] [--seeds 8] [--ranges 1.1 1.5 2 3 5 10 30]
        [--chains 2] [--warmup 300] [--draws 300] [--out TXT] [--earlier CSV]

The defaults are the committed study (D and N, 3 and 5 levels, two noise levels, seeds 0-7,
7 ranges: 448 fits; the wall time is in the output's header). Eight seeds, not four: about
two fits in three fail the checks at these draws, so four seeds left 12 of the 56 cells
without a passing fit (eight: 7). More draws do not cure it (``--columns D --levels 3
--noise 0.003 --ranges 1.5 3 --warmup 1000 --draws 1000``: 7 of 8 fits fail, their bulk ESS
2-10% of the draws, whose bar is 10%). ``--earlier`` appends, labelled as such, the all-fits
table of an earlier run of the full study from its per-fit CSV (columns col or column, noise,
levels, range, seed, ratio or sd_over_prior, covered; and ok, if it has it, for the passing
fits' table), without refitting.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import bayeslaws as bl
from bayeslaws.inference.diagnostics import SamplerWarning, thresholds
from bayeslaws.inference.identifiability import IdentifiabilityWarning
from bayeslaws.runs.simulate import simulate_chinchilla_runs

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header  # noqa: E402  (benchmarks/bench_provenance.py)

OUT = Path(__file__).resolve().parent / "output"
TRUTH = {"E": 1.7, "A": 400.0, "B": 410.0, "alpha": 0.34, "beta": 0.28}
PRIOR_SD = 0.2  # sd of Beta(2, 3), the default prior of alpha and beta
EXPONENT = {"D": "beta", "N": "alpha"}
KEYS = ["column", "noise", "levels"]
KINDS = {IdentifiabilityWarning: "ident", SamplerWarning: "sampler"}  # the rest: "other"
WIDTH = 16  # characters per table cell
SHOWN = 200  # characters of each other warning's message shown in the text output (CSV: all)


def table(column: str, levels: int, span: float, noise: float, seed: int) -> pd.DataFrame:
    """SIMULATED runs whose ``column`` (N or D) holds ``levels`` values geometric over
    ``span`` (max / min), the other column wide (N 40x or D 100x); noise sd on ln loss."""
    narrow = np.geomspace(1.0, span, levels)
    if column == "D":
        N, D = np.geomspace(5e7, 2e9, 6)[:, None], (1e10 * narrow)[None, :]
    else:
        N, D = (2e8 * narrow)[:, None], np.geomspace(1e9, 1e11, 5)[None, :]
    return simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=noise, seed=seed)


def kind(warning: warnings.WarningMessage) -> str:
    """"ident", "sampler" or "other": the kind of a caught warning."""
    return next((k for c, k in KINDS.items() if issubclass(warning.category, c)), "other")


def fit_row(column: str, noise: float, levels: int, span: float, seed: int, args) -> dict:
    """One fit of one table: the exponent's posterior sd over its prior sd, coverage of the
    truth by its 90% interval, the fit's sampler diagnostics and the warnings it raised (by
    kind; the other kinds' messages kept)."""
    name = EXPONENT[column]
    df = table(column, levels, span, noise, seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # every warning of every fit is counted
        fit = bl.fit(
            df,
            law="chinchilla",
            chains=args.chains,
            warmup=args.warmup,
            draws=args.draws,
            seed=seed,
            progress_bar=False,
        )
        s = fit.summary().loc[name]
    d = fit.diagnostics
    kinds = [kind(w) for w in caught]
    others = [f"{w.category.__name__}: {w.message}" for w in caught if kind(w) == "other"]
    return {
        "column": column,
        "noise": noise,
        "levels": levels,
        "range": span,
        "seed": seed,
        "sd_over_prior": float(s["sd"]) / PRIOR_SD,
        "covered": bool(s["5%"] <= TRUTH[name] <= s["95%"]),
        "ok": bool(d.ok),
        "max_r_hat": d.max_r_hat,
        "min_ess_bulk": d.min_ess_bulk,
        "min_ess_tail": d.min_ess_tail,
        "divergences": int(d.divergences),
        "rhat_over_bar": bool(d.max_r_hat > d.rhat_bar),
        "ess_below_bar": bool(min(d.min_ess_bulk, d.min_ess_tail) < d.ess_bar),
        "problems": " | ".join(d.problems),
        "warn_ident": kinds.count("ident"),
        "warn_sampler": kinds.count("sampler"),
        "warn_other": kinds.count("other"),
        "other_warnings": " | ".join(others),
    }


def measure(args) -> pd.DataFrame:
    """One row per fit (:func:`fit_row`), in the order of the tables."""
    rows = []
    for column in args.columns:
        for noise in args.noise:
            for levels in args.levels:
                for span in args.ranges:
                    cell = [
                        fit_row(column, noise, levels, span, seed, args)
                        for seed in range(args.seeds)
                    ]
                    rows += cell
                    shown = " ".join(
                        f"{r['sd_over_prior']:.2f}{'' if r['ok'] else '!'}" for r in cell
                    )
                    print(column, noise, levels, span, shown, "(! fails the checks)", flush=True)
    return pd.DataFrame(rows)


def _grid(results: pd.DataFrame, cell) -> str:
    """Rows (column, levels, noise) by the narrow column's range, each cell ``cell(part)`` of
    that row's fits at that range."""
    spans = sorted(results["range"].unique())
    lines = [f"{'':27s}" + "".join(f"{f'{s:g}x':>{WIDTH}s}" for s in spans)]
    for (column, noise, levels), part in results.groupby(KEYS, sort=False):
        cells = [cell(part[part["range"] == span]) for span in spans]
        label = f"{column}, {levels} levels, noise {noise:g}"
        lines.append(f"  {label:25s}" + "".join(f"{c:>{WIDTH}s}" for c in cells))
    return "\n".join(lines)


def passing_cell(at: pd.DataFrame) -> str:
    """Median sd ratio of the fits that pass the sampler checks [passing / fits]."""
    ok = at[at["ok"]]
    median = f"{ok['sd_over_prior'].median():.2f}" if len(ok) else "--"
    return f"{median} [{len(ok)}/{len(at)}]"


def all_cell(at: pd.DataFrame) -> str:
    """Median sd ratio of all fits (fits whose 90% interval covers the truth / fits)."""
    return f"{at['sd_over_prior'].median():.2f} ({int(at['covered'].sum())}/{len(at)})"


def _other(bad: pd.DataFrame) -> pd.Series:
    """Of failing fits: those with none of R-hat over its bar, ESS below it, divergences
    (e.g. R-hat undefined, or too many draws at the maximum tree depth)."""
    return ~(bad["rhat_over_bar"] | bad["ess_below_bar"] | (bad["divergences"] > 0))


def failure_cell(at: pd.DataFrame) -> str:
    """Failing fits, and among them: R-hat over its bar (r), ESS below its bar (e), any
    divergence (d), none of these (o: see the CSV's problems); "0" when all pass."""
    bad = at[~at["ok"]]
    if not len(bad):
        return "0"
    parts = [
        f"{letter}{int(bad[flag].sum())}"
        for letter, flag in (("r", "rhat_over_bar"), ("e", "ess_below_bar"))
        if bad[flag].any()
    ]
    if (bad["divergences"] > 0).any():
        parts.append(f"d{int((bad['divergences'] > 0).sum())}")
    if _other(bad).any():
        parts.append(f"o{int(_other(bad).sum())}")
    return f"{len(bad)}: " + " ".join(parts)


def warning_cell(at: pd.DataFrame) -> str:
    """Warnings caught in the cell's fits: identifiability / sampler / other."""
    return "/".join(str(int(at[f"warn_{k}"].sum())) for k in ("ident", "sampler", "other"))


def render(results: pd.DataFrame) -> str:
    """The tables: passing fits' medians, all fits' medians with coverage, failures, warnings;
    and the distinct messages of warnings of other kinds."""
    parts = [
        "Median over the fits that pass the sampler checks (fit.diagnostics.ok) [passing/fits]; "
        "-- none passes:\n\n" + _grid(results, passing_cell),
        "Median over all fits, failing ones included (seeds whose 90% interval covers the "
        "truth/fits):\n\n" + _grid(results, all_cell),
        "Fits failing the checks: count, then among them r = R-hat over its bar, e = bulk or "
        "tail ESS below its\nbar, d = any divergent transition, o = none of these (see the "
        "CSV's problems):\n\n"
        + _grid(results, failure_cell),
        "Warnings caught per cell (identifiability / sampler / other):\n\n"
        + _grid(results, warning_cell),
    ]
    others = results["other_warnings"].fillna("").str.split(" \\| ").explode()
    others = others[others != ""].str.slice(0, SHOWN).value_counts()
    parts.append(
        f"Other warnings (count: message, its first {SHOWN} characters; the CSV has them whole): "
        + ("none" if others.empty else "\n" + "\n".join(f"  {n}: {m}" for m, n in others.items()))
    )
    return "\n\n".join(parts)


def summary_line(results: pd.DataFrame) -> str:
    """How many fits fail, and of what."""
    bad = results[~results["ok"]]
    return (
        f"{len(bad)} of {len(results)} fits fail the sampler checks "
        f"({int(bad['rhat_over_bar'].sum())} R-hat over its bar, "
        f"{int(bad['ess_below_bar'].sum())} ESS below its bar, "
        f"{int((bad['divergences'] > 0).sum())} with divergences, {int(_other(bad).sum())} "
        "of none of these: see the per-fit CSV's problems)"
    )


def earlier_text(path: Path) -> str:
    """The all-fits table (and the passing fits' one, if the CSV has ``ok``) of an earlier
    run's per-fit CSV, labelled as such."""
    earlier = pd.read_csv(path).rename(columns={"col": "column", "ratio": "sd_over_prior"})
    text = (
        f"\nEARLIER MEASUREMENT, SIMULATED (not rerun here): {len(earlier)} fits read from "
        f"{path.name}, seeds 0-{earlier['seed'].max()}.\n\nMedian over all fits (seeds whose "
        f"90% interval covers the truth/fits):\n\n" + _grid(earlier, all_cell) + "\n"
    )
    if "ok" in earlier:
        text += "\nMedian over the passing fits [passing/fits]:\n\n"
        text += _grid(earlier, passing_cell) + "\n"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--columns", nargs="+", choices=("D", "N"), default=["D", "N"])
    parser.add_argument("--levels", nargs="+", type=int, default=[3, 5])
    parser.add_argument("--noise", nargs="+", type=float, default=[0.01, 0.003])
    parser.add_argument("--seeds", type=int, default=8, help="seeds 0 .. SEEDS-1")
    parser.add_argument(
        "--ranges", nargs="+", type=float, default=[1.1, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0]
    )
    parser.add_argument("--chains", type=int, default=2, help="at least 2, so R-hat exists")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--draws", type=int, default=300, help="per chain")
    parser.add_argument("--out", type=Path, default=OUT / "identifiability_range.txt")
    parser.add_argument(
        "--earlier", type=Path, help="per-fit CSV of an earlier run, appended as its own table"
    )
    args = parser.parse_args()
    if args.chains < 2:
        parser.error("--chains must be at least 2: one chain has no R-hat")
    started = time.perf_counter()
    results = measure(args)
    minutes = (time.perf_counter() - started) / 60
    rhat_bar, ess_bar = thresholds(args.chains, args.chains * args.draws)
    head = (
        f"{header('benchmarks/identifiability_range.py')}\n"
        "SIMULATED Chinchilla tables (benchmarks/identifiability_range.py): posterior sd of the "
        "exponent\n(beta for a narrow D, alpha for a narrow N) over its prior sd (Beta(2, 3): "
        "0.2), median over\nseeds, by the narrow column's range (max / min). Narrow column "
        "geometric from D = 1e10 or\nN = 2e8; other column N 5e7..2e9 (40x) or D 1e9..1e11 "
        f"(100x); bl.fit, {args.chains} chains x {args.warmup}\n+ {args.draws} draws; the "
        f"package's sampler checks at these draws: R-hat at most {rhat_bar:.3g}, bulk and "
        f"tail\nESS at least {ess_bar:.0f}, no divergences.\n"
        f"columns {' '.join(args.columns)}; levels {' '.join(map(str, args.levels))}; noise "
        f"{' '.join(f'{n:g}' for n in args.noise)}; seeds 0-{args.seeds - 1}; "
        f"{len(results)} fits, {minutes:.1f} min wall\n{summary_line(results)}\n"
    )
    text = head + "\n" + render(results) + "\n"
    if args.earlier is not None:
        text += earlier_text(args.earlier)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    results.to_csv(args.out.with_suffix(".csv"), index=False)


if __name__ == "__main__":
    main()
