"""Write paper_repro/README.md from the results files the scripts wrote
(paper_repro/results/*.csv; of the *_detail.csv files only yin_detail.csv is read, for the
sampler diagnostics of the fits behind yin.csv's simulated rows, appended to their notes; rows
that carry their fit's diagnostics themselves, as liang.csv's and epoch_fit.csv's do in the
columns max_r_hat and divergences, get them appended to their notes too, with the fit's NUTS
settings when the row records them in the columns chains, warmup and draws, as epoch.py's
tables do: the header and the Epoch tables' titles quote those, or say they were not recorded).
Never edit the tables by hand: rerun

    python paper_repro/liang.py && python paper_repro/porian.py && python paper_repro/yin.py
    python paper_repro/epoch.py && python paper_repro/hyperparams.py
    python paper_repro/make_readme.py [--out PATH]

The main table takes every results file in the common schema (quantity, paper_value, median,
lower, upper, data[, note, paper]) and epoch_fit.csv (its own schema, mapped below); every other
CSV (Epoch extrapolation and recovery, the hyperparameter tables) is rendered as its own table,
titled by the first line of the matching .md file when the script wrote one (a table whose raw
rows do not record the code they were fitted with gets the commit, from `git log`, below it:
FITTED_AT). A CSV written from
a frame with a two-level header (hyperparams_coverage.csv: coverage / ours, ...) is read with
both header rows and its index columns, and its columns named by the joined levels ("coverage
ours"); numeric column names (the 1.07B grid's token counts) are printed as numbers (4e+09).
Where a paper value is marked with its interval's level ("(95%)") and ours has another, our cell
is marked with its own ("(90%)").
"""

from __future__ import annotations

import argparse
import csv
import itertools
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
# benchmarks/bench_provenance.py (git, for FITTED_AT), also when this file is imported elsewhere;
# None when this file runs outside the checkout (no git history to read then: NO_GIT)
if str(HERE.parent / "benchmarks") not in sys.path:
    sys.path.append(str(HERE.parent / "benchmarks"))
try:
    import bench_provenance
except ImportError:
    bench_provenance = None

RESULTS = HERE / "results"
ORDER = ["yin.csv", "liang.csv", "porian.csv", "epoch_fit.csv"]
TITLES = {  # for results files whose script writes no .md title (see epoch.py's docstring)
    "epoch_extrapolation": "Epoch AI Chinchilla points (REAL): fit on runs with C <= 1e21 FLOPs, "
    "predict the larger ones; share of held-out runs inside the 50% / 90% new-run intervals",
    "epoch_recovery": "Epoch AI design (SIMULATED from known parameters): how often the 90% "
    "intervals contain the truth over replications",
}
# results files whose rows are fitted and should record the fits' NUTS settings (SAMPLER_COLUMNS)
SAMPLED_FILES = {
    "epoch_fit.csv": "Epoch's fit",
    "epoch_extrapolation.csv": "its extrapolation fit",
    "epoch_recovery.csv": "each of its recovery replications",
}
SAMPLER_COLUMNS = ("chains", "warmup", "draws")  # per chain
SKIP = ("_detail", "_raw")  # per-replicate / raw dumps stay out of the README
# tables whose raw rows do not record the code they were fitted with: the sentence said below
# the table (until a rerun's raw rows record a ``commit``), "{commit}" replaced by the commit
# that added the committed raw file and its date, from `git log` (:func:`added_at`)
FITTED_AT = {
    "hyperparams_coverage.csv": (
        "Fitted at {commit}, as `git log` of "
        "`results/hyperparams_coverage_raw.csv` shows (its rows do not record it; the later "
        "commit a01ba13 added only their `data` column, without refitting). Later changes to "
        "law `hyperparams` (bayeslaws/laws/hyperparams/) are not in these numbers. Its rows keep "
        "no sampler diagnostics either: how many of the fits were unhealthy is not known."
    ),
}
NO_GIT = "commit unknown (no git)"
COMMON = {"quantity", "paper_value", "median", "data"}
EPOCH_FIT = {"quantity", "paper_value", "paper_lower", "paper_upper", "median", "lower", "upper"}
PERCENT_WORDS = ("cut", "change", "vs N_opt", "loss excess")  # signed changes, as +x.x%
COVERAGE_WORD = "coverage"  # a share, as x% (nominal y%)
NOMINAL = re.compile(r"\s*\(?\s*([0-9.]+)\s+nominal\s*\)?\s*")  # paper value "(0.90 nominal)"
R_HAT_OK = 1.01
# yin.csv rows -> the fits behind them in yin_detail.csv: (part, route, quantity pattern);
# each replicate's rows of one fit carry that fit's R-hat and divergences
YIN_FITS = (
    ("Chinchilla surface on best cells (baseline)", (2, None, r"^(?:N_opt|near-optimal) ")),
    ("smallest N within ", (2, None, r"^(?:N_opt|near-optimal) ")),
    ("law='hyperparams'", (2, None, r"^(?:eta_opt|B_opt) 1\.07B")),
    ("joint sweep model", (2, "joint", r"^joint ")),
    ("two Chinchilla fits (baseline)", (3, None, r"")),
)
# results rows that carry the diagnostics of the fit behind them (liang.csv, epoch_fit.csv: one
# fit, every row)
FIT_COLUMNS = ("max_r_hat", "divergences")
# every row is fitted: no diagnostics columns means not recorded
FITTED_FILES = ("liang.csv", "epoch_fit.csv")

HEADER = """# Reproductions of the seed papers' headline numbers

Generated by `python paper_repro/make_readme.py` from `paper_repro/results/*.csv`, which the
scripts `yin.py`, `liang.py`, `porian.py`, `epoch.py` and `hyperparams.py` in this folder write
(small draws by default: 2 chains x 200-500 per fit;
{epoch}). Do not edit by hand.

"ours" is a posterior median with its central 90% credible interval (rows marked "(95%)" use
95%, to match the paper's interval; where the paper's interval is marked "(95%)" and ours is
90%, our cell says "(90%)"); rows from arithmetic on published constants have no interval.
Rows from replicated simulations give the median and 5-95% range of the replicates' posterior
medians (their notes say so). "data" says whether the numbers come from real runs or
from a simulation (no per-run data were released for either seed paper; the simulators are in
`bayeslaws/runs/simulate.py`). Notes say what each row is; see each script's docstring for the
design. The notes of Yin et al.'s fitted rows end with the sampler diagnostics of the fits behind
them, over the replicates (from `results/yin_detail.csv`); those of Liang et al.'s and Epoch's
rows with the diagnostics and NUTS settings of their one fit. Held-out
coverage is the share of held-out points inside the intervals (Porian et al.'s N_opt row: of
the authors' interpolated optima inside ours), beside its nominal value; Porian et al.'s
held-out notes end with the held-out fit's diagnostics.
Porian et al.'s paper values are the authors' own fits, read from
`../shared/data/porian_isoflop/published_fits.csv` and rounded to three decimals (PAPERS.md's
summary prints two of them a thousandth higher: 0.692 for 0.691488, 0.572 for 0.571495).

"""


def fmt(x, percent: bool, share: bool = False) -> str:
    """A number: ``percent`` as a signed change (+x.x%), ``share`` as an unsigned share (x%)."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return ""
    if isinstance(x, str):
        try:
            x = float(x)
        except ValueError:
            return x
    if share:
        return f"{100 * x:.3g}%"
    if percent:
        return f"{100 * x:+.3f}%" if 0 < abs(x) < 0.01 else f"{100 * x:+.1f}%"
    return f"{x:.4g}"


def nominal(row) -> float | None:
    """The nominal coverage of a coverage row, as a share: from a paper value "(0.90 nominal)"
    or else from the quantity ("90% loss coverage"); None if neither says."""
    m = NOMINAL.fullmatch(str(row.get("paper_value", "")))
    if m:
        x = float(m.group(1))
        return x / 100 if x > 1 else x
    m = re.search(r"(\d+(?:\.\d+)?)%[^%]*" + COVERAGE_WORD, str(row["quantity"]))
    return float(m.group(1)) / 100 if m else None


def ours(row) -> str:
    share = COVERAGE_WORD in row["quantity"]
    percent = not share and any(w in row["quantity"] for w in PERCENT_WORDS)
    med = fmt(row["median"], percent, share)
    lo, hi = row.get("lower"), row.get("upper")
    if not (lo is None or hi is None or pd.isna(lo) or pd.isna(hi)):
        med = f"{med} [{fmt(lo, percent, share)}, {fmt(hi, percent, share)}]"
    target = nominal(row) if share else None
    return med if target is None else f"{med} (nominal {100 * target:.3g}%)"


def read_yin_detail(path: Path) -> pd.DataFrame | None:
    """yin_detail.csv as one table (None when absent or in the two-header layout of older
    yin.py versions, whose rows pd.read_csv misreads: rerun ``yin.py --truth-only``)."""
    if not path.exists():
        return None
    df = pd.read_csv(path, low_memory=False)
    if "part" not in df or pd.to_numeric(df["part"], errors="coerce").isna().any():
        return None
    return df


def fit_diagnostics(quantity: str, detail: pd.DataFrame | None) -> str:
    """The sampler diagnostics of the fits behind a yin.csv row, "max R-hat X, N divergences;
    K of M replicates above R-hat 1.01", computed from yin_detail.csv (each replicate's fit: its
    largest R-hat, its divergences); "" for rows without fits; "... not recorded" when the file
    lacks them."""
    key = next((k for k, _ in YIN_FITS if k in quantity), None)
    if key is None:
        return ""
    part, route, pattern = dict(YIN_FITS)[key]
    if detail is None or "r_hat" not in detail:
        return "fit diagnostics not recorded"
    rows = detail[detail["part"] == part]
    if "route" in rows:
        rows = rows[rows["route"].isna()] if route is None else rows[rows["route"] == route]
    rows = rows[rows["quantity"].astype(str).str.contains(pattern)] if pattern else rows
    per = rows.groupby("replicate")
    r_hat = per["r_hat"].max()
    if r_hat.empty or r_hat.isna().all():
        return "fit diagnostics not recorded"
    div = per["divergences"].max() if "divergences" in rows else None
    divs = (
        "divergences not recorded"
        if div is None or div.isna().any()
        else f"{int(div.sum())} divergences"
    )
    return (
        f"max R-hat {r_hat.max():.2f}, {divs}; {int((r_hat > R_HAT_OK).sum())} of {len(r_hat)} "
        f"replicates above R-hat {R_HAT_OK}"
    )


def settings_words(chains, warmup, draws) -> str | None:
    """NUTS settings per chain as words, "4 chains x 1000 warm-up + 1000 draws"; None when any
    is missing or blank."""
    if any(x is None or pd.isna(x) for x in (chains, warmup, draws)):
        return None
    chains = int(chains)
    plural = "s" if chains != 1 else ""
    return f"{chains} chain{plural} x {int(warmup)} warm-up + {int(draws)} draws"


def sampler_settings(df: pd.DataFrame) -> list[str]:
    """The different NUTS settings a results table records (columns :data:`SAMPLER_COLUMNS`),
    each as :func:`settings_words`; [] when the table lacks the columns or leaves them blank."""
    if not set(SAMPLER_COLUMNS) <= set(df.columns):
        return []
    settings = df[list(SAMPLER_COLUMNS)].dropna().drop_duplicates()
    return [settings_words(*row) for row in settings.itertuples(index=False)]


def sampler_text(df: pd.DataFrame) -> str | None:
    """:func:`sampler_settings` joined by " / "; None when there are none."""
    return " / ".join(sampler_settings(df)) or None


def header() -> str:
    """:data:`HEADER` with the NUTS settings epoch.py's tables record (:data:`SAMPLED_FILES`):
    "Epoch's fit: 4 chains x 1000 warm-up + 1000 draws; ...", "sampler settings not recorded"
    for a table without them; tables not yet written are left out."""
    parts = []
    for name, words in SAMPLED_FILES.items():
        path = RESULTS / name
        if path.exists():
            text = sampler_text(pd.read_csv(path)) or "sampler settings not recorded"
            parts.append(f"{words}: {text}")
    epoch = ";\n".join(parts) + ", from `results/epoch_*.csv`" if parts else "epoch.py not yet run"
    return HEADER.replace("{epoch}", epoch)


def row_diagnostics(row) -> str:
    """The sampler diagnostics a results row records for the fit behind it (columns
    :data:`FIT_COLUMNS`): "fit: max R-hat X[ (above 1.01)], N divergences", then the fit's NUTS
    settings when the row records them (:data:`SAMPLER_COLUMNS`); "fit diagnostics not
    recorded" when the row lacks the diagnostics or they are blank."""
    r_hat, div = (row.get(c) for c in FIT_COLUMNS)
    if r_hat is None or div is None or pd.isna(div):
        return "fit diagnostics not recorded"
    if pd.isna(r_hat):
        r_hat_words = "R-hat n/a (one chain)"
    else:
        above = f" (above {R_HAT_OK})" if float(r_hat) > R_HAT_OK else ""
        r_hat_words = f"max R-hat {float(r_hat):.3f}{above}"
    settings = settings_words(*(row.get(c) for c in SAMPLER_COLUMNS))
    return ", ".join(x for x in (f"fit: {r_hat_words}", f"{int(div)} divergences", settings) if x)


def epoch_rows(df: pd.DataFrame) -> pd.DataFrame:
    """epoch_fit.csv's schema -> the common one (paper interval and ci in the cells), keeping
    the fit's diagnostics and NUTS settings (:data:`FIT_COLUMNS`, :data:`SAMPLER_COLUMNS`) where
    the file has them."""
    out = pd.DataFrame(
        {
            "paper": "Epoch AI (Besiroglu et al.) 2024",
            "quantity": df["quantity"],
            "paper_value": [
                f"{v:.4g} [{lo:.4g}, {hi:.4g}] (95%)"
                for v, lo, hi in zip(df.paper_value, df.paper_lower, df.paper_upper, strict=True)
            ],
            "median": df["median"],
            "lower": df["lower"],
            "upper": df["upper"],
            "ci": df["ci"] if "ci" in df else 0.9,
            "data": df["data"],
            "note": [
                "" if pd.isna(x) else ("inside" if bool(x) else "OUTSIDE") + " the paper's interval"
                for x in df.get("inside_paper_interval", [np.nan] * len(df))
            ],
        }
    )
    kept = [c for c in (*FIT_COLUMNS, *SAMPLER_COLUMNS) if c in df]
    return pd.concat([out, df[kept]], axis=1)


def main_files() -> tuple[list, list]:
    """(files in the main table, other CSVs), each in a stable order."""
    files = [RESULTS / n for n in ORDER if (RESULTS / n).exists()]
    others = []
    for p in sorted(RESULTS.glob("*.csv")):
        if p.name in ORDER or any(k in p.name for k in SKIP):
            continue
        cols = set(pd.read_csv(p, nrows=0).columns)
        main = COMMON <= cols and not p.stem.endswith("_before")  # "before" tables go below
        (files if main else others).append(p)
    return files, others


def table() -> str:
    files, _ = main_files()
    lines = [
        "| paper | quantity | paper value | ours: median [90% interval] | data | note |",
        "|---|---|---|---|---|---|",
    ]
    for path in files:
        df = pd.read_csv(path, dtype={"paper_value": str})
        if EPOCH_FIT <= set(df.columns):
            df = epoch_rows(pd.read_csv(path))
        detail = read_yin_detail(RESULTS / "yin_detail.csv") if path.name == "yin.csv" else None
        for _, row in df.iterrows():
            percent = any(w in row["quantity"] for w in PERCENT_WORDS)
            paper_value = fmt(
                row["paper_value"], percent and not str(row["paper_value"]).endswith("%")
            )
            if COVERAGE_WORD in row["quantity"] and NOMINAL.fullmatch(str(row["paper_value"])):
                paper_value = "n/a"  # not a paper value: the nominal coverage, shown beside ours
            note = "" if pd.isna(row.get("note")) else str(row["note"])
            if path.name == "yin.csv":
                diagnostics = fit_diagnostics(row["quantity"], detail)
                note = "; ".join(x for x in (note, diagnostics) if x)
            elif path.name in FITTED_FILES or set(FIT_COLUMNS) & set(df.columns):
                note = "; ".join(x for x in (note, row_diagnostics(row)) if x)
            value = ours(row) + level_mark(row, paper_value)
            cells = [
                row.get("paper", path.stem),
                row["quantity"],
                paper_value,
                value,
                row["data"],
                note,
            ]
            lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    missing = [n for n in ORDER if not (RESULTS / n).exists()]
    if missing:
        lines.append("")
        lines.append(f"Not yet run: {', '.join(missing)}.")
    return "\n".join(lines) + "\n"


PAPER_LEVEL = re.compile(r"\((\d+(?:\.\d+)?)%\)\s*$")  # a paper value ending "(95%)"


def level_mark(row, paper_value: str) -> str:
    """The level mark of our cell: " (95%)" when our interval's level (the row's ``ci``, 0.9 when
    absent) is not 90%, and " (90%)" too when the paper value is marked with another level (our
    90% beside the paper's "(95%)"); "" for rows without an interval of ours."""
    lo, hi = row.get("lower"), row.get("upper")
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return ""
    ci = row.get("ci")
    level = 0.9 if ci is None or pd.isna(ci) else float(ci)
    m = PAPER_LEVEL.search(str(paper_value))
    paper_level = float(m.group(1)) / 100 if m else None
    differs = paper_level is not None and abs(paper_level - level) > 1e-9
    if abs(level - 0.9) > 1e-9 or differs:
        return f" ({level:.0%})"
    return ""


def read_results(path: Path) -> pd.DataFrame:
    """A results CSV as one flat table, its index columns first.

    pandas writes a frame with a two-level column header (hyperparams_coverage.csv) as two header
    rows (the top level repeated over its columns, e.g. coverage, coverage), then, when its
    index has names, a row of those names; read plainly, the levels came out as "coverage",
    "coverage.1" and the second header row and the names row as data. Such a file (leading
    empty cells: the index columns; a repeated name in the first row) is read with both header
    rows and the index, and each column is named by its levels joined by a space ("coverage
    ours"; a level pandas filled in as "Unnamed: ..." is left out). Other files are read as
    they are."""
    with path.open(newline="") as f:
        head = list(itertools.islice(csv.reader(f), 4))
    if not head:
        return pd.read_csv(path)
    first = head[0]
    n_index = next((i for i, c in enumerate(first) if c != ""), len(first))
    names = first[n_index:]
    if n_index == 0 or len(names) == len(set(names)):
        return pd.read_csv(path)
    levels = next(
        (
            r
            for r in range(2, len(head))
            if all(head[r][:n_index]) and not any(head[r][n_index:])
        ),
        2,
    )  # the row of index names closes the header; without one, two levels
    df = pd.read_csv(path, header=list(range(levels)), index_col=list(range(n_index)))
    df.columns = [
        " ".join(str(p) for p in c if str(p) and not str(p).startswith("Unnamed"))
        for c in df.columns
    ]
    df.index.names = [n if n is not None else "" for n in df.index.names]
    return df.reset_index()


def column_name(c) -> str:
    """A table header cell: "" for pandas' "Unnamed: k", a number as a number (4e+09)."""
    c = str(c)
    if c.startswith("Unnamed"):
        return ""
    try:
        return f"{float(c):.4g}"
    except ValueError:
        return c.replace("|", "/")


def cell(x) -> str:
    if isinstance(x, str):
        try:
            x = float(x)
        except ValueError:
            return x.replace("|", "/")
    if isinstance(x, float | np.floating):
        return "" if np.isnan(x) else f"{x:.4g}"
    return str(x).replace("|", "/")


def table_title(path: Path, df: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """The title of results file ``path`` (first line of its .md, else :data:`TITLES`, else its
    name; a table's data label, real or simulated, is its script's, in that title and the CSV's
    ``data`` column, never added here), with the NUTS settings its rows record
    (:func:`sampler_text`; "sampler settings not recorded" for a :data:`SAMPLED_FILES` table
    without them); and ``df`` without the settings columns when the title says their one
    setting."""
    title = TITLES.get(path.stem, path.stem)
    md = path.with_suffix(".md")
    if md.exists():
        first = md.read_text().splitlines()[0].lstrip("# ").strip()
        title = first or title
    settings = sampler_settings(df)
    if settings:
        title = f"{title} ({' / '.join(settings)} per fit)"
        if len(settings) == 1:
            df = df.drop(columns=list(SAMPLER_COLUMNS))
    elif path.name in SAMPLED_FILES:
        title = f"{title} (sampler settings not recorded)"
    return title, df


def added_at(name: str) -> str:
    """"commit f0b5f84 (2026-11-22)": the commit that added the committed results file ``name``
    (paper_repro/results/<name>) and its date, from `git log`; :data:`NO_GIT` when git (or
    the file's history) is unavailable."""
    if bench_provenance is None:
        return NO_GIT
    log = bench_provenance.git(
        "log", "--diff-filter=A", "--format=%h %ad", "--date=short", "--",
        f"paper_repro/results/{name}",
    )  # fmt: skip
    if not log:
        return NO_GIT
    commit, date = log.splitlines()[-1].split(" ", 1)  # the first addition: the oldest, last
    return f"commit {commit} ({date})"


def fitted_at(path: Path) -> str:
    """The :data:`FITTED_AT` sentence of results file ``path`` ("" if none), with the commit
    that added its committed raw file (:func:`added_at`), unless its raw rows
    (``<stem>_raw.csv`` beside it) record the code they were fitted with (a ``commit`` column:
    the table's title then says it)."""
    words = FITTED_AT.get(path.name, "")
    raw = path.with_name(f"{path.stem}_raw.csv")
    if words and raw.exists() and "commit" in pd.read_csv(raw, nrows=0).columns:
        return ""
    return words.format(commit=added_at(raw.name)) if words else ""


def other_tables() -> str:
    """Every other results CSV as its own table, titled by :func:`table_title`, with the
    commit it was fitted at below it when its rows do not say (:func:`fitted_at`)."""
    _, others = main_files()
    parts = []
    for path in others:
        title, df = table_title(path, read_results(path))
        head = "| " + " | ".join(column_name(c) for c in df.columns) + " |"
        rule = "|" + "---|" * len(df.columns)
        body = ["| " + " | ".join(cell(x) for x in row) + " |" for row in df.itertuples(False)]
        below = fitted_at(path)
        parts.append(
            f"### {title}\n\nFrom `results/{path.name}`.\n\n"
            + "\n".join([head, rule, *body])
            + (f"\n\n{below}" if below else "")
        )
    if not parts:
        return ""
    return "\n## Other results tables\n\n" + "\n\n".join(parts) + "\n"


def main(argv=None) -> Path:
    """Write the README (default paper_repro/README.md) from the results files and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=HERE / "README.md",
        help="the README to write (default: paper_repro/README.md)",
    )
    args = parser.parse_args(argv)
    out = args.out
    out.write_text(header() + table() + other_tables())
    print(out.read_text())
    return out


if __name__ == "__main__":
    main()
