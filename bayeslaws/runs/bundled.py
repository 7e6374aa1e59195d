"""Data sets: the small tables bayeslaws ships and loaders for the third-party run tables in
``../shared/data`` (never copied into this repository).

The shipped tables live in the repository's ``data/`` folder, installed as the package data of
``bayeslaws.bundled`` (see ``pyproject.toml``), so a wheel carries them and
``bayeslaws demo`` runs from any folder. Every loader returns a
:class:`~bayeslaws.runs.RunTable` in canonical units.
"""

from __future__ import annotations

import difflib
import os
import warnings
from dataclasses import replace
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .checks import ArgumentTypeError, UnknownNameError, check_positive
from .compute import custom
from .plausible import StackedConfigurationsWarning
from .table import RunTable, load_runs
from .warn import user_stacklevel

BUNDLED_PACKAGE = "bayeslaws.bundled"  # the repository's data/ folder, as package data
DEFAULT_DATASET = "video_dit_sweep_simulated"
# ../shared beside a checkout (this file is bayeslaws/runs/bundled.py in a checkout)
CHECKOUT_ROOT = Path(__file__).resolve().parents[2]


class SharedDataMissing(FileNotFoundError):
    """The third-party tables in ../shared/data are not on this machine."""


def bundled_names() -> list[str]:
    """Names of the bundled tables (file names without ``.csv``)."""
    folder = resources.files(BUNDLED_PACKAGE)
    return sorted(p.name[: -len(".csv")] for p in folder.iterdir() if p.name.endswith(".csv"))


def bundled_path(name: str) -> Path:
    """Path of the bundled table ``<name>.csv`` (inside the installed package)."""
    if not isinstance(name, str):
        raise ArgumentTypeError(f"name must be a bundled data set's name (a string), got {name!r}")
    path = Path(str(resources.files(BUNDLED_PACKAGE) / f"{name}.csv"))
    if not path.is_file():
        raise FileNotFoundError(unknown_bundled_message(name))
    return path


# the loaders of the third-party tables in ../shared/data, by the names a user may try: the
# loader's and its folder's (load_bundled reads only the tables shipped in data/)
SHARED_LOADERS = {
    "epoch_chinchilla": "epoch_chinchilla",
    "steplaw_dense": "steplaw_dense",
    "steplaw_lr_bs": "steplaw_dense",
    "porian_isoflop": "porian_isoflop",
    "isoflop_compendium": "isoflop_compendium",
}


TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".txt", ".gz")  # what load_runs reads
MIN_WORD_LETTERS = 3  # a name's words matched to a third-party table's ('lr' names none)


def unknown_bundled_message(name: str) -> str:
    """Why ``load_bundled(name)`` finds no table, with the names it takes and, when ``name``
    is near one, the fix: a shipped table's name with '.csv' or in another case; a path (with
    a folder, or a file that exists) is read by ``load_runs``; the name (or a near miss, or one
    of its words of :data:`MIN_WORD_LETTERS`+ letters) of a third-party table, which has its
    own loader; else a file name (``load_runs``' again)."""
    names = bundled_names()
    message = f"no bundled data set {name!r}; available: {names}"
    stem = name[: -len(".csv")] if name.lower().endswith(".csv") else name
    own = [n for n in names if n.lower() == stem.lower()]
    if own:
        return f"{message}; give its name as listed: load_bundled({own[0]!r})"
    if "/" in name or "\\" in name or Path(name).expanduser().is_file():  # a path, first
        return f"{message}; a table file of your own is read by load_runs({name!r})"
    near = difflib.get_close_matches(stem.lower(), [*SHARED_LOADERS, *names], n=1, cutoff=0.6)
    if len(stem) >= MIN_WORD_LETTERS:
        near += [key for key in SHARED_LOADERS if stem.lower() in key.split("_")]
    if not near and Path(name).suffix.lower() in TABLE_SUFFIXES:
        return f"{message}; a table file of your own is read by load_runs({name!r})"
    if not near:
        return message
    if near[0] in names:
        return f"{message}; did you mean {near[0]!r}?"
    loader = SHARED_LOADERS[near[0]]
    return (
        f"{message}; {near[0]!r} is a third-party table, read from ../shared/data by its own "
        f"loader: bayeslaws.runs.bundled.{loader}(...) (see its docstring)"
    )


def load_bundled(name: str = DEFAULT_DATASET, **kwargs) -> RunTable:
    """Load a bundled table (canonical column names) as a RunTable; kwargs go to load_runs."""
    return load_runs(bundled_path(name), **kwargs)


# the folders of ../shared/data that the loaders below read (one per third-party source)
SHARED_FOLDERS = ("epoch_chinchilla", "isoflop_compendium", "porian_isoflop", "steplaw_lr_bs")


def _shared_hint(path: Path, relative: str | None = None) -> str:
    """How to point bayeslaws at the tables (``relative``: the missing file under ``path``):
    whether ``$BAYESLAWS_SHARED_DATA`` may name shared/ rather than shared/data/ (and, when
    ``path / "data"`` holds what is missing, that folder)."""
    env = os.environ.get("BAYESLAWS_SHARED_DATA")
    if not env:
        return "set BAYESLAWS_SHARED_DATA to the shared/data folder"
    inner = path / "data"
    found = (inner / relative).is_file() if relative else any(
        (inner / f).is_dir() for f in SHARED_FOLDERS
    )
    where = f"; the tables are in {inner}: set it to that folder" if found else ""
    return (
        f"BAYESLAWS_SHARED_DATA={env!r}: does it point at shared/ rather than shared/data/? "
        f"It must name the folder holding {', '.join(SHARED_FOLDERS)}{where}"
    )


def shared_data_dir() -> Path:
    """``../shared/data`` beside the checkout, or ``$BAYESLAWS_SHARED_DATA`` (``~`` expanded).

    :class:`SharedDataMissing` (with a hint) when that folder does not exist or holds none of
    the table folders ``SHARED_FOLDERS`` (e.g. the variable names shared/, not shared/data/).
    """
    env = os.environ.get("BAYESLAWS_SHARED_DATA")
    path = Path(env).expanduser() if env else CHECKOUT_ROOT.parent / "shared" / "data"
    if not path.is_dir():
        raise SharedDataMissing(
            f"third-party run tables not found at {path} ({_shared_hint(path)})"
        )
    if not any((path / folder).is_dir() for folder in SHARED_FOLDERS):
        raise SharedDataMissing(
            f"third-party run tables not found at {path}: it holds none of their folders "
            f"({_shared_hint(path)})"
        )
    return path


def shared_table(folder: str, name: str) -> Path:
    """Path of the third-party table ``<shared data>/<folder>/<name>`` (:func:`shared_data_dir`);
    :class:`SharedDataMissing` naming the missing file (with a hint) when it is not there."""
    root = shared_data_dir()
    path = root / folder / name
    if not path.is_file():
        raise SharedDataMissing(
            f"third-party table {folder}/{name} not found in {root} (no file {path}; "
            f"{_shared_hint(root, f'{folder}/{name}')})"
        )
    return path


def epoch_chinchilla(drop_highest: int = 5) -> RunTable:
    """Epoch AI's digitised Chinchilla runs (Besiroglu et al. 2024; Hoffmann et al. 2022).

    N = total parameters, C = FLOPs, D = C / (6N) tokens. ``drop_highest`` removes the
    highest-loss points as Epoch did (5), recorded as an exclusion.
    """
    if isinstance(drop_highest, bool) or not isinstance(drop_highest, int | np.integer):
        raise ArgumentTypeError(f"drop_highest must be an integer >= 0, got {drop_highest!r}")
    if drop_highest < 0:
        raise ValueError(f"drop_highest must be an integer >= 0, got {drop_highest}")
    path = shared_table("epoch_chinchilla", "svg_extracted_data.csv")
    raw = pd.read_csv(path)
    runs = load_runs(
        raw[["Model Size", "Training FLOP", "loss"]],
        N="Model Size",
        C="Training FLOP",
        loss="loss",
    )
    runs = replace(runs, source=str(path))
    if drop_highest:
        worst = runs.df["loss"].rank(ascending=False, method="first") <= drop_highest
        runs = runs.exclude(worst, f"the {drop_highest} highest-loss points (as Epoch AI)")
    return runs


def steplaw_dense(divergence_threshold: float | None = None) -> RunTable:
    """Step Law's dense LR x batch sweep (Li et al. 2025): 1,911 runs.

    N = non-embedding parameters, D tokens, batch converted from sequences of 2048 tokens,
    loss = 'smooth loss'. The learning rate is snapped to the sqrt(2) grid (log2 rounded to
    0.5). A ``diverged`` column flags smooth loss > ``divergence_threshold`` (a finite loss
    > 0; default 4, as the authors); nothing is removed here.
    """
    threshold = (
        4.0
        if divergence_threshold is None
        else check_positive(
            "steplaw_dense's divergence_threshold", divergence_threshold, "a smooth loss"
        )
    )
    path = shared_table("steplaw_lr_bs", "dense_lr_bs_loss.csv")
    raw = pd.read_csv(path)
    raw["lr_grid"] = 2.0 ** (np.round(np.log2(raw["lr"]) * 2) / 2)
    raw["diverged"] = raw["smooth loss"] > threshold
    table = raw[["N", "D", "lr_grid", "bs", "smooth loss", "loss", "diverged"]].rename(
        columns={"loss": "raw_loss"}
    )
    runs = load_runs(
        table,
        N="N",
        D="D",
        lr="lr_grid",
        batch_size="bs",
        loss="smooth loss",
        units={"batch_size": 2048},
    )
    return replace(runs, source=str(path))


class _PorianAttentionFlops:
    """FLOPs per token with attention, 6 N_eff(N), as a function of the real size N (params).

    Porian et al. count attention FLOPs through an "effective" size N_eff = flops_per_token_att
    / 6 = N + n_layer * n_ctx * d_model (their ``eff_params_att``). Their 16 model shapes appear
    in the standard table with real sizes N; pairing the two sorted lists gives N_eff - N =
    n_layer * 2048 * d_model (an integer multiple of n_ctx = 2048 for every pair, which
    confirms the pairing). Between and beyond the 16 sizes N_eff / N is interpolated in ln N
    (held constant outside)."""

    def __init__(self, n_real, n_eff):
        self.log_n = np.log(np.asarray(n_real, float))
        self.log_ratio = np.log(np.asarray(n_eff, float) / np.asarray(n_real, float))

    def __call__(self, N):
        N = np.asarray(N, float)
        return 6.0 * N * np.exp(np.interp(np.log(N), self.log_n, self.log_ratio))


# Porian's runs whose tokens per parameter lie below the plausible range (TOKENS_PER_PARAM,
# D/N >= 0.01), as 0-based rows of isoflop_points.csv: the 826M-parameter (Kaplan count) model
# at the 2.5e16 FLOPs budget, 5.0e6 tokens into its long run (D/N 0.0061, loss 9.8), on rw and
# owt2 (base/long/kaplan/kaplan/train). Real points, kept: porian_isoflop loads them as
# accepted rows (load_runs(accepted_rows=...)), so they are not warned about and the table
# names them (RunTable.accepted_rows); any other implausible row still warns.
PORIAN_FEW_TOKENS_ROWS = (21, 600)
PORIAN_FEW_TOKENS_RUN = {"n_params": 825876480.0, "flops": 2.5e16}  # what those rows hold


def _porian_accepted(raw: pd.DataFrame) -> list:
    """The rows of ``PORIAN_FEW_TOKENS_ROWS`` that ``raw`` holds and that are that run (its
    ``PORIAN_FEW_TOKENS_RUN`` values): a stand-in table or another version of the file gets
    only those, so the plausibility checks speak about any other row."""
    present = [r for r in PORIAN_FEW_TOKENS_ROWS if r in raw.index]
    return [
        r
        for r in present
        if all(np.isclose(raw.at[r, k], v, rtol=1e-9) for k, v in PORIAN_FEW_TOKENS_RUN.items())
    ]


PORIAN_CONFIG_COLUMNS = (
    "source_file", "dataset", "hparams", "warmup", "decay", "param_count", "loss_type"
)  # fmt: skip


class MixedConfigurationsWarning(UserWarning):
    """Porian et al.'s table, as :func:`porian_isoflop` selects it, still stacks several
    experimental configurations (one law's fit would mix their N conventions, schedules and
    losses). Not a :class:`PlausibilityWarning` (as load_runs'
    :class:`StackedConfigurationsWarning` is): it says which configuration the loader's
    defaults picked, a choice of the caller's, not a doubt about the values."""


def _warn_if_mixed(df: pd.DataFrame, config: dict) -> None:
    """Warn when Porian's rows ``df`` (after the ``config`` filters) span more than one
    configuration (PORIAN_CONFIG_COLUMNS), naming how many and the filters that would pick
    one."""
    present = [c for c in PORIAN_CONFIG_COLUMNS if c in df]
    combos = df[present].drop_duplicates()
    if len(combos) <= 1:
        return
    varying = [c for c in present if df[c].nunique() > 1]
    options = "; ".join(f"{c}: {sorted(df[c].unique().tolist(), key=str)}" for c in varying)
    chosen = ", ".join(f"{k}={v!r}" for k, v in config.items()) or "no filter"
    warnings.warn(
        f"porian_isoflop({chosen}) holds {len(combos)} configurations ({len(df)} rows): a fit "
        "would mix their N conventions (param_count), schedules and losses (train/val); pick "
        f"one with the filters of the columns that still vary ({options})",
        MixedConfigurationsWarning,
        stacklevel=user_stacklevel(),
    )


PORIAN_SHARED_RUN_DECAYS = ("const", "kaplan")  # decays whose budgets are read off one run


def porian_run_labels(df: pd.DataFrame) -> pd.Series | None:
    """The ``run`` label of each of Porian's rows ``df`` (columns N = the file's n_params, C,
    and the configuration columns), or None when no row has ``const`` or ``kaplan`` decay (or
    the table has no ``decay`` column). For those decays the points at different budgets are
    read off one long training run per model size (SOURCE.md: not independent runs), so a row's
    label is its size, ``"N=<n_params>"``, prefixed by its configuration
    (``"summary_df/rw/.../val N=..."``) when ``df`` holds several; a ``chinchilla``-decay row
    of such a mixed table is its own run (its label adds ``" C=<budget>"``)."""
    if "decay" not in df or not df["decay"].isin(PORIAN_SHARED_RUN_DECAYS).any():
        return None
    label = df["N"].map(lambda n: f"N={n:.0f}")
    present = [c for c in PORIAN_CONFIG_COLUMNS if c in df]
    if len(df[present].drop_duplicates()) > 1:
        label = df[present].astype(str).agg("/".join, axis=1) + " " + label
    own = ~df["decay"].isin(PORIAN_SHARED_RUN_DECAYS)  # each budget a separate run
    if own.any():  # an empty map is float64, which a text label cannot be added to
        label[own] = label[own] + df.loc[own, "C"].map(lambda c: f" C={c:.6g}")
    return label


def porian_isoflop(**config) -> RunTable:
    """Porian et al. (2024) isoFLOP points; ``config`` filters the columns of
    ``PORIAN_CONFIG_COLUMNS`` (recorded as an exclusion), e.g. one configuration:
    ``dataset="rw", hparams="tuned", warmup="short", decay="const", param_count="standard",
    loss_type="val"``. A filter that matches no row is an error listing the column's available
    values, a column the table lacks an UnknownNameError listing the configuration columns; rows
    of more than one configuration warn (:class:`MixedConfigurationsWarning`).

    C = the FLOP budget (column ``flops``), N = parameters under the configuration's
    ``param_count`` convention, D = training tokens = C / (FLOPs per token). For
    ``param_count="standard"`` and ``"kaplan"`` FLOPs per token = 6N (compute model 6ND). For
    ``"attention"`` the file's ``n_params`` is the effective size N_eff = (FLOPs per token) / 6;
    when every selected row is an attention row, N is replaced by the real size (kept as
    ``N_eff`` beside it) and the compute model is C = 6 N_eff(N) D (see
    :class:`_PorianAttentionFlops`), so N_opt is in parameters and D_opt in tokens.

    Two Kaplan-count rows have 0.0061 tokens per parameter, below the plausible 0.01 (see
    ``PORIAN_FEW_TOKENS_ROWS``): real, kept, not warned about, and named in the table's
    ``accepted_rows`` (while a configuration keeps them).

    For ``decay="const"`` and ``"kaplan"`` the points at different budgets are read off the same
    long training run (SOURCE.md: they are NOT independent runs), so those rows get a ``run``
    column, one label per model size within a configuration (:func:`porian_run_labels`:
    ``"N=<the file's n_params>"``; with several configurations selected, prefixed by the
    configuration). The isoFLOP laws give each run one shared offset (law_options
    ``run_offsets``); other laws ignore the column. A selection of ``chinchilla`` decay alone,
    where each budget is a separate run, gets no ``run`` column. To fit as if every point
    were its own run, drop it: ``dataclasses.replace(runs, df=runs.df.drop(columns="run"))``.
    """
    path = shared_table("porian_isoflop", "isoflop_points.csv")
    raw = pd.read_csv(path)
    # C is the budget and D = C / (6 n_params) in the file, so 6ND reproduces it exactly. The
    # file stacks 15 configurations: said for the rows the filters below keep (_warn_if_mixed),
    # not by load_runs' check of the whole file
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StackedConfigurationsWarning)
        accepted = _porian_accepted(raw)
        runs = load_runs(raw, N="n_params", C="flops", loss="loss", accepted_rows=accepted)
    runs = replace(runs, source=str(path))
    for key, value in config.items():
        if key not in PORIAN_CONFIG_COLUMNS or key not in runs.df:
            present = [c for c in PORIAN_CONFIG_COLUMNS if c in runs.df]
            near = difflib.get_close_matches(key, present, n=1, cutoff=0.6)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            what = "no configuration column" if key in runs.df else "no column"
            raise UnknownNameError(
                f"porian_isoflop has {what} {key!r}{hint}; filter by its configuration "
                f"columns: {', '.join(present) or 'none in this file'} (other columns: "
                "runs.subset(mask, reason) on the loaded table)"
            )
        match = runs.df[key] == value
        if not match.any():
            chosen = [f"{k}={v!r}" for k, v in config.items()][: list(config).index(key)]
            among = f" among the rows with {', '.join(chosen)}" if chosen else ""
            values = sorted(runs.df[key].unique().tolist(), key=str)
            raise ValueError(
                f"porian_isoflop: no rows with {key}={value!r}{among}; available values of "
                f"{key}: {values}"
            )
        runs = runs.subset(match, f"configuration {key} == {value!r}")
    _warn_if_mixed(runs.df, config)
    labels = porian_run_labels(runs.df)  # before N becomes the real size: the file's n_params
    if labels is not None:
        runs = replace(runs, df=runs.df.assign(run=labels))
    att = runs.df["param_count"] == "attention"
    if len(runs) and att.all():
        std = raw[(raw["param_count"] == "standard") & (raw["source_file"] == "summary_df")]
        n_real = np.sort(std["n_params"].unique())
        n_eff = np.sort(raw.loc[raw["param_count"] == "attention", "n_params"].unique())
        if len(n_real) != len(n_eff):
            raise ValueError("porian_isoflop: attention and standard model sizes do not pair")
        model = custom(_PorianAttentionFlops(n_real, n_eff), name="porian_attention")
        df = runs.df.copy()
        df["N_eff"] = df["N"]
        df["N"] = np.interp(np.log(df["N_eff"]), np.log(n_eff), np.log(n_real))
        df["N"] = np.exp(df["N"])
        df["D"] = df["C"] / model.flops_per_token(df["N"].to_numpy(float))
        runs = replace(runs, df=df, compute_model=model)
    return runs


COMPENDIUM_SOURCES = {"llama_3": ("llama_3",), "marin_202603": ("comma", "dclm", "nemotron")}
# the loss conditions per source: Llama-3's digitised points come as read off the plot and as
# the compendium's transform; Marin's rows carry one loss, as measured (no condition column)
COMPENDIUM_CONDITIONS = {"llama_3": ("raw_loss", "exp_loss"), "marin_202603": ("raw_loss",)}


def isoflop_compendium(source: str, dataset: str | None = None, condition: str = "raw_loss"):
    """The isoFLOP compendium (``../shared/data/isoflop_compendium/isoflops.csv``): Llama-3's
    digitised isoFLOP curves (``source="llama_3"``, ``condition`` "raw_loss" as read off the
    plot or "exp_loss") or Marin's real runs on one corpus (``source="marin_202603"``,
    ``dataset`` "comma", "dclm" or "nemotron"; ``condition`` "raw_loss" only, the loss as
    measured). Other values are errors listing the valid ones.

    N = ``params``, D = ``tokens``; C = the compendium's ``budget`` column (FLOPs, the isoFLOP
    level the run belongs to), kept as fitted so that budgets group exactly, under the compute
    model 6ND; the compendium's ``outlier`` and ``reason`` flags are kept as columns, nothing is
    dropped. For Llama-3, C = 6ND (to rounding). For Marin, C is the run's NOMINAL budget, not
    6ND: C / (6 N D) spans about 0.74 .. 1.07 (the table's ``source`` gives the range, computed
    when loaded), so these tables bypass the 1% N-D-C check of
    :func:`~bayeslaws.runs.load_runs` and the compute model's D = C / (6N) is not the run's
    token count. Ask a loss surface fitted to Marin (chinchilla, ...) by N and D, not by C
    (``predict(fit, N=..., D=...)``: 6ND is not the nominal budget), and an isoFLOP law
    (isoflop, isoflop_cubic, whose curves are indexed by the budget) by N and the nominal budget
    C (``predict(fit, N=..., C=...)``: 6ND would miss the fitted budgets); the run table's
    ``source`` says so too.

    Cite the compendium (Open-Athena/scaling-law-analysis, commit 3e0656ee3dce), "The Llama 3
    Herd of Models" (Grattafiori et al. 2024, arXiv:2407.21783) for the Llama-3 points and the
    Marin project (marin-community/marin) for the Marin runs, as its SOURCE.md asks."""
    if source not in COMPENDIUM_SOURCES:
        raise ValueError(f"source must be one of {sorted(COMPENDIUM_SOURCES)}, got {source!r}")
    datasets = COMPENDIUM_SOURCES[source]
    dataset = datasets[0] if dataset is None and len(datasets) == 1 else dataset
    if dataset not in datasets:
        raise ValueError(f"dataset for {source!r} must be one of {datasets}, got {dataset!r}")
    conditions = COMPENDIUM_CONDITIONS[source]
    if not isinstance(condition, str) or condition not in conditions:
        raise ValueError(f"condition for {source!r} must be one of {conditions}, got {condition!r}")
    path = shared_table("isoflop_compendium", "isoflops.csv")
    raw = pd.read_csv(path)
    rows = (raw["source"] == source) & (raw["dataset"] == dataset)
    if source == "llama_3":
        rows &= raw["condition"] == condition
    table = raw.loc[rows, ["params", "tokens", "budget", "loss", "outlier", "reason"]]
    runs = load_runs(table.drop(columns="budget"), N="params", D="tokens", loss="loss")
    df = runs.df.copy()
    df["C"] = table["budget"].to_numpy(float)
    label = f"{path} ({source}/{dataset}" + (f"/{condition})" if source == "llama_3" else ")")
    if source == "marin_202603":
        ratio = df["C"] / (6.0 * df["N"] * df["D"])
        label += (
            f"; C is the nominal isoFLOP budget, {ratio.min():.3g}-{ratio.max():.3g} x 6ND (not "
            "6ND): predict a loss surface by N and D, not by C; an isoFLOP law by N and the "
            "nominal budget C"
        )
    return replace(runs, df=df, source=label)
