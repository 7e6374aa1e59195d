"""Fault injection: bad inputs, damaged files and faults, tried as a careful user would.

Every case says what must happen: a clear error (of a type the user can catch, ``ValueError``,
``TypeError`` or ``OSError`` and their subclasses, whose message names the argument, column,
row or file), a warning (its category and message), or a correct result (checked). What
actually happens is sorted by :func:`classify` into one of ``RESULTS``: "ok", "raw traceback"
(an error from deep inside a library, or of a bare ``KeyError`` / ``AttributeError`` kind),
"unclear error" (the right kind, but the message does not name the problem), "silent wrong
result" (no error and no warning where one was due, or a result that fails its check),
"corrupt file" (a file left unloadable) and "stall without a message" (a step that used more
than ``STALL_S`` CPU seconds of this process, all its threads, and printed no progress message:
CPU time, not wall time, so that a loaded machine does not turn a case into a stall; a command
line run in its own process is judged by ``benchmarks/faults.py`` on that process's CPU time).

The cases here are fast (one small shared fit, no NUTS run of their own); the slow ones
(kill during save, concurrent writers, long fits, the Epoch table) are in
``benchmarks/faults.py``, which runs these cases too and prints the counts.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import threading
import time
import warnings
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.inference import (
    IdentifiabilityWarning,
    IncompatibleFitFile,
    OutlierWarning,
    SamplerWarning,
    progress,
)
from bayeslaws.inference import diagnostics as diag
from bayeslaws.inference.fit import CHECKSUM_ATTR, RECORD_ATTR, Fit
from bayeslaws.inference.screening import Screen, as_screen, screen_fit
from bayeslaws.laws import get_law
from bayeslaws.laws.hyperparams.data import DivergenceWarning
from bayeslaws.runs import PlausibilityWarning, RunTableError

RESULTS = (
    "ok",
    "raw traceback",
    "unclear error",
    "silent wrong result",
    "corrupt file",
    "stall without a message",
)
CLEAR = (ValueError, TypeError, OSError)
STALL_S = 10.0  # CPU seconds: a step using more than this must have printed a progress message
OMIT = object()  # an argument left out of a call


@dataclass
class Case:
    """One fault. ``action(ctx)`` does what the user did; ``expect`` is "error", "warn", "ok"
    or "cli" (exit code 2 and one error line); ``match`` is a regex the error / warning /
    CLI line must contain; ``check(result, ctx)`` must hold for a result (or for a file case,
    says whether the file is still sound: False counts as a corrupt file)."""

    id: str
    action: Any
    expect: str
    match: str = ""
    category: type = Warning
    errors: tuple = CLEAR
    check: Any = None
    kind: str = "input"  # input, file, cli, law, sampler


@dataclass
class Outcome:
    case: str
    kind: str
    result: str
    detail: str
    seconds: float


def _message(err: BaseException) -> str:
    return " ".join(str(err).split())


def classify(case: Case, ctx: dict) -> Outcome:
    """Run ``case`` and sort what happened into one of ``RESULTS``; ``seconds``: its wall time.
    A stall is judged on the CPU seconds this process used (``time.process_time``: every
    thread, XLA's included; a child process's are not counted)."""
    stderr = io.StringIO()
    started, cpu_started = time.perf_counter(), time.process_time()
    error = result = None
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(stderr):
        warnings.simplefilter("always")
        try:
            result = case.action(ctx)
        except Exception as err:  # noqa: BLE001 -- classifying is the point
            error = err
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started  # this process's CPU seconds, all threads
    printed = stderr.getvalue()
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], str):
        printed += result[1]  # what a command line run printed (captured by cli())
    outcome = _sort(case, ctx, error, result, caught, printed)
    # both: waiting on a loaded machine (wall) is no stall, nor are threads' CPU seconds that
    # add up faster than the user waits
    if outcome[0] == "ok" and min(cpu, seconds) > STALL_S and progress.PREFIX not in printed:
        outcome = (
            "stall without a message",
            f"{cpu:.0f} CPU seconds ({seconds:.0f} s wall) and no progress message",
        )
    return Outcome(case.id, case.kind, outcome[0], outcome[1], seconds)


def _sort(case, ctx, error, result, caught, printed) -> tuple[str, str]:
    warned = [w for w in caught if issubclass(w.category, case.category)]
    matching = [w for w in warned if re.search(case.match, " ".join(str(w.message).split()))]
    if case.expect == "cli":
        return _sort_cli(case, error, result)
    if error is not None:
        text = f"{type(error).__name__}: {_message(error)}"
        if case.expect == "error" and isinstance(error, case.errors):
            if re.search(case.match, _message(error)):
                return "ok", text
            return "unclear error", text
        if isinstance(error, CLEAR) and not isinstance(error, KeyError | AttributeError):
            return "unclear error", f"unexpected {text}"
        return "raw traceback", text
    if case.expect == "error":
        if matching:
            return "unclear error", f"warned instead of failing: {matching[0].message}"
        return "silent wrong result", f"no error; returned {str(result)[:120]!r}"
    if case.expect == "warn" and not matching:
        seen = "; ".join(str(w.message)[:80] for w in caught) or "none"
        return "silent wrong result", f"no matching warning (warnings: {seen})"
    if case.check is not None:
        try:
            good = case.check(result, ctx)
        except Exception as err:  # noqa: BLE001
            return "raw traceback", f"check failed: {type(err).__name__}: {_message(err)}"
        if not good:
            bad = "corrupt file" if case.kind == "file" else "silent wrong result"
            return bad, f"check failed on {str(result)[:120]!r}"
    return "ok", "as expected"


def _sort_cli(case, error, result) -> tuple[str, str]:
    if error is not None:
        return "raw traceback", f"main() raised {type(error).__name__}: {_message(error)}"
    code, err = result
    if "Traceback" in err or "Exception ignored" in err:
        return "raw traceback", err.strip().splitlines()[-1] if err.strip() else "traceback"
    lines = [
        line
        for line in err.splitlines()
        if line.strip()
        and not line.startswith("warning:")
        and not (line.startswith(progress.PREFIX) and not line.startswith("bayeslaws: error"))
    ]
    if code == 0:
        return "silent wrong result", "exit code 0"
    if code != 2:
        return "raw traceback", f"exit code {code}: {' | '.join(lines)[:200]}"
    if len(lines) != 1 or "error" not in lines[0] or not re.search(case.match, lines[0]):
        return "unclear error", " | ".join(lines)[:200]
    return "ok", lines[0]


# ---- the context: one small fit and files made from it -------------------------------------
def runs_frame() -> pd.DataFrame:
    """A small (N, D) grid of SIMULATED Chinchilla runs (the conftest truth), canonical columns."""
    from bayeslaws.runs import simulate

    N, D = np.meshgrid(np.geomspace(6e7, 6e9, 6), np.geomspace(1e9, 1e11, 5))
    truth = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}
    df = simulate.simulate_chinchilla_runs(
        {**truth, "N": N.ravel(), "D": D.ravel()}, noise_sd=0.01, seed=1
    )
    return df[["N", "D", "loss"]].reset_index(drop=True)


def make_context(folder: Path, fit: Fit | None = None) -> dict:
    """The shared fit (fitted here if not given: 2 chains x 300 + 300 draws), its saved file,
    and a folder for the cases' own files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    df = runs_frame()
    if fit is None:
        fit = bl.fit(bl.load_runs(df), likelihood="gaussian", chains=2, warmup=300, draws=300)
    path = fit.save(folder / "fit.nc")
    return {"fit": fit, "fit_path": path, "dir": folder, "df": df}


def write(ctx, name: str, content) -> Path:
    path = ctx["dir"] / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, pd.DataFrame):
        content.to_csv(path, index=False)
    else:
        path.write_text(content)
    return path


def fit_copy(ctx, name: str) -> Path:
    path = ctx["dir"] / name
    shutil.copy(ctx["fit_path"], path)
    return path


def edit_attr(path: Path, attr: str, edit) -> Path:
    """Rewrite one attribute of the posterior group in place (h5py)."""
    import h5py

    with h5py.File(path, "r+") as f:
        group = f["posterior"]
        value = group.attrs[attr]
        value = value.decode() if isinstance(value, bytes) else str(value)
        new = edit(value)
        if new is None:
            del group.attrs[attr]
        else:
            group.attrs[attr] = new
    return path


def edit_record(ctx, name: str, edit) -> Path:
    def change(text):
        raw = json.loads(text)
        edit(raw)
        return json.dumps(raw, sort_keys=True)

    return edit_attr(fit_copy(ctx, name), RECORD_ATTR, change)


def edit_draw(ctx, name: str) -> Path:
    import h5py

    path = fit_copy(ctx, name)
    with h5py.File(path, "r+") as f:
        values = f["posterior"]["alpha"]
        values[0, 0] = values[0, 0] + 0.01
    return path


def edit_group(ctx, name: str, group: str, edit) -> Path:
    """A copy of the saved fit with the first data variable of ``group`` edited in place."""
    import h5py

    path = fit_copy(ctx, name)
    with h5py.File(path, "r+") as f:
        variable = next(k for k in f[group] if f[group][k].ndim >= 2)
        values = f[group][variable]
        values[...] = edit(values[...])
    return path


def legacy_checksum(ctx, name: str) -> Path:
    """A copy of the saved fit whose checksum is the one files had before every group was
    covered (record, cache and posterior only): such files must still load."""
    import arviz as az

    from bayeslaws.inference.fit import CACHE_ATTR, posterior_checksum

    path = fit_copy(ctx, name)
    idata = az.from_netcdf(str(fit_copy(ctx, f"source_{name}")), engine="h5netcdf")
    attrs = idata.posterior.attrs
    record, cache = attrs.pop(RECORD_ATTR), attrs.pop(CACHE_ATTR)
    attrs.pop(CHECKSUM_ATTR)
    legacy = posterior_checksum(record, cache, idata.posterior)
    return edit_attr(path, CHECKSUM_ATTR, lambda t: legacy)


def loads_ok(path, ctx=None) -> bool:
    try:
        bl.load_fit(path)
    except Exception:  # noqa: BLE001
        return False
    return True


def cli(argv) -> tuple[int, str]:
    """Run ``bayeslaws ARGV`` in this process: (exit code, what it printed on stderr)."""
    from bayeslaws.app.cli import main

    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main([str(a) for a in argv])
    return code, err.getvalue()


def frame(**columns) -> pd.DataFrame:
    base = {"N": [1e8, 2e8, 4e8, 8e8], "D": [2e9, 4e9, 8e9, 1.6e10], "loss": [3.0, 2.8, 2.6, 2.5]}
    base.update(columns)
    return pd.DataFrame(base)


def quick(ctx, **kwargs):
    """bl.fit on the shared runs with ``kwargs``, for arguments refused before sampling."""
    return bl.fit(bl.load_runs(ctx["df"]), chains=1, warmup=5, draws=5, **kwargs)


def runs_on_one_line(tokens) -> bl.RunTable:
    """12 runs whose D (tokens) is ``tokens(N)`` of their N (params): one line in (ln N, ln D)."""
    N = np.geomspace(1e7, 1e9, 12)
    return bl.load_runs(pd.DataFrame({"N": N, "D": tokens(N), "loss": np.linspace(3.5, 2.5, 12)}))


def identifiability_only(runs, law="chinchilla", **kwargs):
    """bl.fit with IdentifiabilityWarning raised as an error: the check happens before
    sampling, so the case stops there."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", IdentifiabilityWarning)
        return bl.fit(runs, law=law, chains=1, warmup=5, draws=5, **kwargs)


def predicts(result, ctx=None) -> bool:
    cols = ("median", "lower", "upper")
    values = result[list(cols)].to_numpy(float)
    return bool(np.isfinite(values).all() and (result["lower"] <= result["median"]).all())


def synthetic_idata(chains, draws, eff=1.0, offset=0.0, divergences=0, seed=0):
    """AR(1) chains (ESS ~ eff per draw) for 10 parameters, one chain shifted by ``offset``
    sd: an InferenceData to test the diagnostics bars without NUTS."""
    import arviz as az

    rng = np.random.default_rng(seed)
    phi = (1 - eff) / (1 + eff)
    x = np.empty((chains, draws, 10))
    x[:, 0] = rng.standard_normal((chains, 10))
    noise = rng.standard_normal((chains, draws, 10)) * np.sqrt(1 - phi**2)
    for t in range(1, draws):
        x[:, t] = phi * x[:, t - 1] + noise[:, t]
    x[0] += offset
    diverging = np.zeros((chains, draws), bool)
    diverging.flat[:divergences] = True
    posterior = {f"p{k}": x[:, :, k] for k in range(10)}
    return az.from_dict(posterior=posterior, sample_stats={"diverging": diverging})


def check_diag(chains, draws, edit=None, **kwargs):
    """Diagnostics of :func:`synthetic_idata`; ``edit(p0)`` may damage site p0's draws (an
    array (chains, draws), edited in place)."""
    idata = synthetic_idata(chains, draws, **kwargs)
    if edit is not None:
        values = idata.posterior["p0"].values.copy()
        edit(values)
        idata.posterior["p0"] = (("chain", "draw"), values)
    return diag.check(idata, [f"p{k}" for k in range(10)], warn=True)


def _nan_draw(values):
    values[0, 5] = np.nan


def _frozen(values):
    values[...] = 0.5


# ---- cases ---------------------------------------------------------------------------------
def _data_cases() -> list[Case]:
    E, W, O = "error", "warn", "ok"  # noqa: N806
    P = PlausibilityWarning  # noqa: N806
    df = frame
    cases = [
        Case("load_runs(None)", lambda c: bl.load_runs(None), E, r"data must be a path"),
        Case("load_runs(42)", lambda c: bl.load_runs(42), E, r"data must be .* got int"),
        Case("load_runs(list)", lambda c: bl.load_runs([1, 2]), E, r"got list"),
        Case(
            "missing file",
            lambda c: bl.load_runs(c["dir"] / "nope.csv"),
            E,
            r"nope\.csv' does not exist",
        ),
        Case("folder as table", lambda c: bl.load_runs(c["dir"]), E, r"is a folder"),
        Case("empty csv", lambda c: bl.load_runs(write(c, "e.csv", "")), E, r"is empty"),
        Case(
            "header-only csv",
            lambda c: bl.load_runs(write(c, "h.csv", "N,D,loss\n")),
            E,
            r"has no rows",
        ),
        Case(
            "unterminated quote",
            lambda c: bl.load_runs(write(c, "q.csv", 'N,D,loss\n"1e8,2e9,0.5\n')),
            E,
            r"could not parse|has no rows",
        ),
        Case(
            "binary garbage csv",
            lambda c: bl.load_runs(write(c, "g.csv", bytes(range(256)) * 4)),
            E,
            r"could not parse|no loss column|need two of",
        ),
        Case(
            "xlsx file",
            lambda c: bl.load_runs(write(c, "t.xlsx", "x")),
            E,
            r"unsupported file type '\.xlsx'",
        ),
        Case(
            "garbage parquet",
            lambda c: bl.load_runs(write(c, "t.parquet", b"not parquet")),
            E,
            r"could not parse|needs pyarrow or fastparquet",
        ),
        Case(
            "non-numeric N",
            lambda c: bl.load_runs(df(N=[1e8, "big", 4e8, 8e8])),
            E,
            r"'N' has non-numeric values at rows 1",
        ),
        Case(
            "NaN loss",
            lambda c: bl.load_runs(df(loss=[3.0, np.nan, 2.6, 2.5])),
            E,
            r"'loss' has missing values at rows 1",
        ),
        Case(
            "negative loss",
            lambda c: bl.load_runs(df(loss=[3.0, -1, 2.6, 2.5])),
            E,
            r"'loss' must be finite and positive.*rows 1",
        ),
        Case(
            "infinite N",
            lambda c: bl.load_runs(df(N=[1e8, np.inf, 4e8, 8e8])),
            E,
            r"'N' must be finite and positive",
        ),
        Case(
            "zero D",
            lambda c: bl.load_runs(df(D=[2e9, 0, 8e9, 1.6e10])),
            E,
            r"'D' must be finite and positive.*rows 1",
        ),
        Case(
            "boolean loss column",
            lambda c: bl.load_runs(df(loss=[True, False, True, True])),
            E,
            r"'loss' holds True/False",
        ),
        Case(
            "mixed bool/float loss",
            lambda c: bl.load_runs(df(loss=[2.5, True, 2.6, 2.4])),
            E,
            r"'loss' holds True/False",
        ),
        Case(
            "same column for N and D",
            lambda c: bl.load_runs(df(), N="N", D="N"),
            E,
            r"column 'N' is used for both N and D",
        ),
        Case(
            "same column for D and loss",
            lambda c: bl.load_runs(df(), loss="D"),
            E,
            r"column 'D' is used for both D and loss",
        ),
        Case(
            "mapped column absent",
            lambda c: bl.load_runs(df(), N="Model Size"),
            E,
            r"column 'Model Size' \(given for N\) is not in the table",
        ),
        Case(
            "units for unknown column",
            lambda c: bl.load_runs(df(), units={"params": "billions"}),
            E,
            r"units given for 'params'",
        ),
        Case(
            "unknown unit word",
            lambda c: bl.load_runs(df(), units={"N": "gazillions"}),
            E,
            r"unknown unit 'gazillions' for column 'N'",
        ),
        Case(
            "negative unit",
            lambda c: bl.load_runs(df(), units={"N": -1}),
            E,
            r"unit for column 'N' must be a positive number",
        ),
        Case(
            "units not a dict",
            lambda c: bl.load_runs(df(), units="billions"),
            E,
            r"units must be a dict",
        ),
        Case("column name not a string", lambda c: bl.load_runs(df(), N=5), E, r"N= takes"),
        Case(
            "allow_missing_loss not bool",
            lambda c: bl.load_runs(df(), allow_missing_loss="yes"),
            E,
            r"allow_missing_loss must be True or False",
        ),
        Case(
            "N in billions below 1",
            lambda c: bl.load_runs(df(N=[0.07, 0.3, 1.3, 7.0])),
            E,
            r"'N' has values below 1 parameter.*units=\{'N': 'billions'\}",
        ),
        Case(
            "N in billions above 1",
            lambda c: bl.load_runs(df(N=[1.0, 7.0, 13.0, 70.0], D=[2e10, 1e11, 2e11, 1e12])),
            W,
            r"'N' \(parameters\).*units=\{'N': 'billions'\}",
            P,
        ),
        Case(
            "N in billions with C given",
            lambda c: bl.load_runs(
                pd.DataFrame({"N": [1.0, 7.0, 70.0], "C": [1e20, 1e21, 1e22], "loss": [3, 2.5, 2]})
            ),
            W,
            r"units=\{'N': 'billions'\}",
            P,
        ),
        Case(
            "N in millions",
            lambda c: bl.load_runs(df(N=[100.0, 400.0, 1600.0, 7000.0])),
            W,
            r"units=\{'N': 'millions'\}",
            P,
        ),
        Case(
            "D in billions",
            lambda c: bl.load_runs(df(D=[20.0, 40.0, 80.0, 160.0])),
            W,
            r"'D' \(tokens\).*units=\{'D': 'billions'\}",
            P,
        ),
        Case(
            "C in PF-days",
            lambda c: bl.load_runs(
                pd.DataFrame({"N": [1e8, 1e9], "C": [0.1, 10.0], "loss": [3, 2]})
            ),
            E,
            r"'D' has values below 1 token.*petaFLOP/s-days",
        ),
        Case(
            "loss given as perplexity",
            lambda c: bl.load_runs(df(loss=[40.0, 30.0, 25.0, 22.0])),
            W,
            r"perplexity",
            P,
        ),
        Case(
            "one diverged loss 1e6",
            lambda c: bl.load_runs(df(loss=[3.0, 1e6, 2.6, 2.5])),
            W,
            r"above 3x the table's median.*rows 1",
            P,
        ),
        Case(
            "tokens per parameter implausible",
            lambda c: bl.load_runs(df(D=[1e5, 2e5, 4e5, 8e5], N=[1e10, 2e10, 4e10, 8e10])),
            W,
            r"tokens per parameter",
            P,
        ),
        Case(
            "N, D, C disagree",
            lambda c: bl.load_runs(df(C=[1e10, 1e10, 1e10, 1e10])),
            E,
            r"disagree with the compute model 6ND",
        ),
        Case(
            "only N given",
            lambda c: bl.load_runs(pd.DataFrame({"N": [1e8, 2e8], "loss": [3, 2]})),
            E,
            r"need two of the columns N, D, C",
        ),
        Case(
            "no loss column",
            lambda c: bl.load_runs(pd.DataFrame({"N": [1e8, 2e8], "D": [1e9, 2e9], "L": [3, 2]})),
            E,
            r"no loss column",
        ),
        Case(
            "duplicate rows",
            lambda c: bl.load_runs(pd.concat([df(), df().iloc[[1]]], ignore_index=True)),
            W,
            r"exact duplicates.*rows 1, 4",
            UserWarning,
        ),
        Case(
            "duplicate row labels",
            lambda c: bl.load_runs(pd.concat([df(), df()])),
            E,
            r"row labels .* repeat.*reset_index",
        ),
        Case(
            "missing group label",
            lambda c: bl.load_runs(df(group=["a", None, "a", "b"])),
            E,
            r"\(group\) has missing values at rows 1",
        ),
        Case(
            "compute model a string",
            lambda c: bl.load_runs(df(), compute_model="abc"),
            E,
            r"compute_model must be",
        ),
        Case(
            "compute model negative",
            lambda c: bl.load_runs(df(), compute_model=-6),
            E,
            r"must be positive",
        ),
        Case("empty DataFrame", lambda c: bl.load_runs(pd.DataFrame()), E, r"has no rows"),
        Case(
            "duplicate column names",
            lambda c: bl.load_runs(
                pd.DataFrame([[1e8, 1e9, 3.0, 2.0]], columns=list("NDLL")), loss="L"
            ),
            E,
            r"more than one column named 'L'",
        ),
        Case(
            "negative learning rate",
            lambda c: bl.load_runs(df(lr=[1e-3, -1e-3, 1e-3, 1e-3])),
            E,
            r"'lr' must be finite and positive",
        ),
        Case(
            "non-numeric batch size",
            lambda c: bl.load_runs(df(batch_size=[256, "x", 256, 256])),
            E,
            r"'batch_size' has non-numeric values at rows 1",
        ),
        Case(
            "C too small for N",
            lambda c: bl.load_runs(
                pd.DataFrame({"N": [1e9, 2e9], "C": [1e3, 1e4], "loss": [3, 2]})
            ),
            E,
            r"'D' has values below 1 token.*C, which must be in FLOPs",
        ),
        Case(
            "C too small for any N",
            lambda c: bl.load_runs(
                pd.DataFrame({"D": [1e10, 2e10], "C": [0.5, 3.0], "loss": [3, 2]})
            ),
            E,
            r"no model size between 1 and 1e18 parameters .* rows 0, 1",
        ),
        Case(
            "exclude without reason",
            lambda c: bl.load_runs(df()).exclude([True, False, False, False], reason=""),
            E,
            r"exclude\(\) needs a reason",
        ),
        Case(
            "exclude mask wrong length",
            lambda c: bl.load_runs(df()).exclude([True], reason="x"),
            E,
            r"mask has shape \(1,\), expected \(4,\)",
        ),
        Case(
            "unknown bundled table",
            lambda c: bl.load_bundled("nope"),
            E,
            r"no bundled data set 'nope'",
        ),
        Case(
            "bundled name not a string",
            lambda c: bl.load_bundled(3),
            E,
            r"name must be a bundled data set's name",
        ),
        Case(
            "clean table loads",
            lambda c: bl.load_runs(df()),
            O,
            check=lambda r, c: len(r) == 4 and np.allclose(r.df["C"], 6 * r.df["N"] * r.df["D"]),
        ),
    ]
    return cases


def _fit_argument_cases() -> list[Case]:
    import numpyro.distributions as dist

    E = "error"  # noqa: N806
    cases = [
        Case("fit runs=None", lambda c: bl.fit(None), E, r"runs must be a RunTable"),
        Case("fit runs=42", lambda c: bl.fit(42), E, r"runs must be .* got int"),
        Case("fit unknown law", lambda c: quick(c, law="nolaw"), E, r"unknown law 'nolaw'"),
        Case("fit law=3", lambda c: quick(c, law=3), E, r"law must be a registered name"),
        Case("fit law bad import", lambda c: quick(c, law="no.such:Law"), E, r"cannot import law"),
        Case(
            "fit law not a Law",
            lambda c: quick(c, law="bayeslaws.runs:RunTable"),
            E,
            r"is not a bayeslaws Law",
        ),
        Case(
            "law option unknown",
            lambda c: quick(c, law_options={"foo": 1}),
            E,
            r"unknown option\(s\) \['foo'\] for law 'chinchilla'",
        ),
        Case(
            "law_options not a dict",
            lambda c: quick(c, law_options="foo=1"),
            E,
            r"law_options must be a dict",
        ),
        Case(
            "unknown fit argument",
            lambda c: quick(c, wiggle=1),
            E,
            r"unknown argument\(s\) \['wiggle'\]",
        ),
        Case(
            "unknown likelihood",
            lambda c: quick(c, likelihood="cauchy"),
            E,
            r"unknown likelihood 'cauchy'",
        ),
        Case("likelihood=3", lambda c: quick(c, likelihood=3), E, r"likelihood must be a string"),
        Case(
            "likelihood the law refuses",
            lambda c: bl.fit(bl.load_bundled(), law="hyperparams_two_stage", likelihood="huber"),
            E,
            r"likelihood",
        ),
        Case("priors not a dict", lambda c: quick(c, priors="x"), E, r"priors must be a dict"),
        Case(
            "prior for unknown site",
            lambda c: quick(c, priors={"zeta": dist.Normal(0, 1)}),
            E,
            r"prior given for 'zeta'",
        ),
        Case(
            "prior not a distribution",
            lambda c: quick(c, priors={"alpha": 0.3}),
            E,
            r"prior for 'alpha' must be a numpyro distribution",
        ),
        Case(
            "a prior on every real number for a positive parameter",
            lambda c: quick(c, priors={"sigma": dist.Normal(0, 1)}),
            E,
            r"prior for 'sigma' puts mass on every real number, but 'sigma' lives on Positive",
        ),
        Case("seed=None", lambda c: quick(c, seed=None), E, r"seed must be a non-negative"),
        Case("seed=-1", lambda c: quick(c, seed=-1), E, r"seed must be a non-negative"),
        Case("seed=1.5", lambda c: quick(c, seed=1.5), E, r"seed must be a non-negative"),
        Case("seed=True", lambda c: quick(c, seed=True), E, r"seed must be a non-negative"),
        # PRNGKey keeps a seed's low 32 bits (2**32 + 1 drew seed 1's draws) and overflows
        # at 2**63
        Case("seed=2**32 + 1", lambda c: quick(c, seed=2**32 + 1), E, r"seed .* \[0, 2\*\*32\)"),
        Case("seed=2**63", lambda c: quick(c, seed=2**63), E, r"seed .* \[0, 2\*\*32\)"),
        Case(
            "chains=0",
            lambda c: bl.fit(bl.load_runs(c["df"]), chains=0),
            E,
            r"chains must be an integer >= 1",
        ),
        Case(
            "chains=1.5",
            lambda c: bl.fit(bl.load_runs(c["df"]), chains=1.5),
            E,
            r"chains must be an integer",
        ),
        Case(
            "chains='2'",
            lambda c: bl.fit(bl.load_runs(c["df"]), chains="2"),
            E,
            r"chains must be an integer",
        ),
        Case(
            "warmup=0",
            lambda c: bl.fit(bl.load_runs(c["df"]), warmup=0),
            E,
            r"warmup must be an integer >= 1",
        ),
        Case(
            "draws=-5",
            lambda c: bl.fit(bl.load_runs(c["df"]), draws=-5),
            E,
            r"draws must be an integer >= 1",
        ),
        Case(
            "target_accept=1.5",
            lambda c: quick(c, target_accept=1.5),
            E,
            r"target_accept must be a number in \(0, 1\)",
        ),
        Case(
            "target_accept string",
            lambda c: quick(c, target_accept="0.9"),
            E,
            r"target_accept must be",
        ),
        Case("target_accept=True", lambda c: quick(c, target_accept=True), E, r"target_accept"),
        Case("dense_mass string", lambda c: quick(c, dense_mass="yes"), E, r"dense_mass must be"),
        Case(
            "progress_bar string",
            lambda c: quick(c, progress_bar="no"),
            E,
            r"progress_bar must be",
        ),
        Case(
            "unknown chain_method",
            lambda c: quick(c, chain_method="fast"),
            E,
            r"chain_method must be one of",
        ),
        Case("label=3", lambda c: quick(c, label=3), E, r"label must be a string"),
        Case("warn string", lambda c: quick(c, warn="no"), E, r"warn must be True or False"),
        Case("screen bogus", lambda c: quick(c, screen="bogus"), E, r"screen must be one of"),
        Case(
            "screen threshold negative",
            lambda c: quick(c, screen={"action": "exclude", "threshold": -1}),
            E,
            r"screen threshold must be a positive number",
        ),
        Case(
            "screen unknown key",
            lambda c: quick(c, screen={"foo": 1}),
            E,
            r"screen= got unknown key\(s\) \['foo'\]",
        ),
        Case("screen=3", lambda c: quick(c, screen=3), E, r"screen must be one of"),
        Case("prior_draws=-1", lambda c: quick(c, prior_draws=-1), E, r"prior_draws must be"),
        Case(
            "one model size",
            lambda c: bl.fit(bl.load_runs(frame(N=[1e8] * 4))),
            E,
            r"at least 2 distinct values of 'N'",
        ),
        Case(
            "hyperparams without lr",
            lambda c: bl.fit(bl.load_runs(c["df"]), law="hyperparams"),
            E,
            r"needs column 'lr'",
        ),
        Case(
            "isoflop with two budgets",
            lambda c: bl.fit(
                bl.load_runs(
                    pd.DataFrame(
                        {"N": [1e8, 2e8, 4e8] * 2, "C": [1e19] * 3 + [1e20] * 3, "loss": [3] * 6}
                    )
                ),
                law="isoflop",
            ),
            E,
            r">= 3 compute budgets",
        ),
        Case(
            "three runs for a five-parameter law",
            lambda c: identifiability_only(bl.load_runs(c["df"].iloc[[0, 7, 14]])),
            E,
            r"3 runs for law 'chinchilla' with 6 parameters.*Add runs",
            errors=(IdentifiabilityWarning,),
            kind="law",
        ),
        Case(
            "two token counts",
            lambda c: identifiability_only(
                bl.load_runs(c["df"][c["df"]["D"].isin(sorted(c["df"]["D"].unique())[:2])])
            ),
            E,
            r"only 2 distinct token counts.*add runs at a third D",
            errors=(IdentifiabilityWarning,),
            kind="law",
        ),
        *[
            Case(
                name,
                lambda c, tokens=tokens: identifiability_only(runs_on_one_line(tokens)),
                E,
                rf"N and D move together.*{said}",
                errors=(IdentifiabilityWarning,),
                kind="law",
            )
            for name, tokens, said in (
                ("one tokens-per-parameter ratio (D = 20 N)", lambda N: 20 * N,
                 "D/N stays near 20 tokens per parameter.*Add runs off"),
                ("every run at one compute budget", lambda N: 1e19 / N, "one compute budget"),
            )
        ],
        Case(  # a line along D: a regression of ln D on ln N read it as "ln D = 0.00 ln N"
            "every run at (nearly) one size",
            lambda c: identifiability_only(
                bl.load_runs(pd.DataFrame({
                    "N": 1e8 * (1 + 0.01 * (np.arange(12) % 3)),
                    "D": np.geomspace(1e9, 1e11, 12),
                    "loss": np.linspace(3.5, 2.5, 12),
                }))
            ),
            E,
            r"N stays near 1\.01e\+08 parameters while D varies.*Add runs at other sizes",
            errors=(IdentifiabilityWarning,),
            kind="law",
        ),
    ]
    return cases


def _hyperparams_table(loss_edit=None) -> bl.RunTable:
    df = bl.load_bundled().df.copy()
    if loss_edit is not None:
        loss_edit(df)
    return bl.load_runs(df.reset_index(drop=True), allow_missing_loss=True)


def _huge_loss(df):
    df.loc[df.index[5], "loss"] = 1e6
    df.loc[df.index[9], "loss"] = np.nan


def _law_cases() -> list[Case]:
    def prepare(law, runs):
        return get_law(law).prepare(runs) if isinstance(law, str) else law.prepare(runs)

    def bound_is_sane(prepared, ctx) -> bool:
        div = prepared.state["divergence"]
        return div["n_censored"] == 2 and div["censored_at_loss"] < 10

    return [
        Case(
            "hyperparams: a loss of 1e6 is diverged",
            lambda c: prepare("hyperparams", _hyperparams_table(_huge_loss)),
            "warn",
            r"3x the median loss",
            DivergenceWarning,
            check=bound_is_sane,
            kind="law",
        ),
        Case(
            "hyperparams: 1e6 excluded when asked",
            lambda c: prepare(
                get_law("hyperparams").configure(divergence="exclude"),
                _hyperparams_table(_huge_loss),
            ),
            "warn",
            r"2 diverged runs excluded",
            DivergenceWarning,
            check=lambda p, c: p.runs.exclusions[-1].count == 2,
            kind="law",
        ),
        Case(
            "hyperparams: every run diverged",
            lambda c: prepare(
                "hyperparams", _hyperparams_table(lambda df: df.__setitem__("loss", np.nan))
            ),
            "error",
            r"every run diverged",
            kind="law",
        ),
        Case(
            "two-stage never selects a 1e6 run",
            lambda c: prepare("hyperparams_two_stage", _hyperparams_table(_huge_loss)),
            "ok",
            check=lambda p, c: "5" not in p.state["selected_rows"],
            kind="law",
        ),
        Case(
            "hyperparams: censored runs are not screened",
            lambda c: get_law("hyperparams").observation_rows(
                prepare("hyperparams", _hyperparams_table(_huge_loss))
            ),
            "ok",
            check=lambda rows, c: rows[5] is None and rows[9] is None and rows[0] == 0,
            kind="law",
        ),
    ]


def _predict_cases() -> list[Case]:
    E, W, O = "error", "warn", "ok"  # noqa: N806
    P = PlausibilityWarning  # noqa: N806

    def pr(**kwargs):
        def act(c):
            args = {"N": 1e9, "D": 2e10, **kwargs}
            return bl.predict(c["fit"], **{k: v for k, v in args.items() if v is not OMIT})

        return act

    def alloc(**kwargs):
        return lambda c: bl.optimal_allocation(c["fit"], **kwargs)

    return [
        Case("predict N='7B'", pr(N="7B"), E, r"N must be a number"),
        Case("predict N=['7e9']", pr(N=["7e9"]), E, r"N must hold numbers"),
        Case("predict N 2-d", pr(N=[[1e9, 2e9]]), E, r"N must be a number or a 1-d sequence"),
        Case("predict N=[]", pr(N=[]), E, r"N is empty"),
        Case("predict N=-1", pr(N=-1), E, r"N must be finite and positive"),
        Case("predict N=nan", pr(N=np.nan), E, r"N must be finite and positive"),
        Case("predict D=inf", pr(D=np.inf), E, r"D must be finite and positive"),
        Case("predict N=True", pr(N=True), E, r"N must be a number"),
        Case("predict N=dict", pr(N={"a": 1}), E, r"N must be a number"),
        Case("predict only N", pr(D=OMIT), E, r"give exactly two of N, D, C"),
        Case("predict N, D and C", pr(C=1e21), E, r"give exactly two of N, D, C"),
        Case("predict length mismatch", pr(N=[1e9, 2e9], D=[1e10] * 3), E, r"incompatible"),
        Case("predict ci=0", pr(ci=0), E, r"ci must be a number in \(0, 1\)"),
        Case("predict ci=1", pr(ci=1), E, r"ci must be a number in \(0, 1\)"),
        Case("predict ci='0.9'", pr(ci="0.9"), E, r"ci must be a number"),
        Case("predict ci=True", pr(ci=True), E, r"ci must be a number"),
        Case("predict kind", pr(kind="median"), E, r"kind must be one of"),
        Case("predict kind=None", pr(kind=None), E, r"kind must be one of"),
        Case("predict extrapolation", pr(kind="new_run", extrapolation="magic"), E, r"extrapol"),
        Case("predict group array", pr(group=np.array(["a", "b"])), E, r"group must be one"),
        Case("predict unknown group", pr(group="z"), E, r"fitted without groups"),
        Case("predict seed=-1", pr(seed=-1), E, r"seed must be a non-negative"),
        Case("predict seed string", pr(seed="0"), E, r"seed must be a non-negative"),
        Case("predict lr on chinchilla", pr(lr=1e-3), E, r"unknown query input\(s\) \['lr'\]"),
        Case("predict D < 1 token", pr(N=1e12, D=OMIT, C=1e6), E, r"imply D below one token"),
        Case(
            "predict N < 1 parameter", pr(N=OMIT, D=1e10, C=10.0), E, r"imply N below one parameter"
        ),
        Case(  # was "imply N below one parameter" for an N of 1.7e18
            "predict N > 1e18 params",
            pr(N=OMIT, D=1e8, C=1e27),
            E,
            r"imply N above 1e\+18 parameters \(the largest size searched\)",
        ),
        Case("predict N in billions", pr(N=7.0), W, r"N = 7 .* decades outside", P),
        Case("predict N in millions", pr(N=7000.0), W, r"decades outside", P),
        Case("predict inside the range", pr(), O, check=predicts),
        Case("predict new_run", pr(kind="new_run"), O, check=predicts),
        Case(
            "predict new_run, no discrepancy",
            pr(kind="new_run", extrapolation="none"),
            O,
            check=predicts,
        ),
        Case("allocate C=None", alloc(C=None), E, r"C is required"),
        Case("allocate C='x'", alloc(C="x"), E, r"C must be a number"),
        Case("allocate C=-1", alloc(C=-1), E, r"C must be finite and positive"),
        Case("allocate C=[]", alloc(C=[]), E, r"C is empty"),
        Case(
            "allocate C=1e3",
            alloc(C=1e3),
            E,
            r"C = 1e\+03 give a median N_opt at the smallest size searched",
        ),
        Case(
            "allocate C=1e21",
            alloc(C=1e21),
            O,
            check=lambda r, c: bool(
                (r["N_opt_lower"] < r["N_opt"]).all() and (r["N_opt"] > 1e6).all()
            ),
        ),
        Case("allocate ci=2", alloc(C=1e21, ci=2), E, r"ci must be a number"),
        Case("allocate method", alloc(C=1e21, method="x"), E, r"method must be"),
        Case(
            "near_optimal tolerance<0",
            lambda c: bl.near_optimal(c["fit"], 1e21, tolerance=-0.1),
            E,
            r"tolerance must be a positive number",
        ),
        Case(
            "near_optimal prob=2",
            lambda c: bl.near_optimal(c["fit"], 1e21, prob=2),
            E,
            r"prob must be a number in \(0, 1\)",
        ),
        Case(
            "near_optimal two budgets",
            lambda c: bl.near_optimal(c["fit"], [1e21, 1e22]),
            E,
            r"C must be a single budget",
        ),
        Case(
            "allocation_laws C_range='x'",
            lambda c: bl.allocation_laws(c["fit"], C_range="x"),
            E,
            r"C_range must be a number",
        ),
        Case(
            "allocation_laws one budget",
            lambda c: bl.allocation_laws(c["fit"], C_range=[1e21]),
            E,
            r"C_range must be \(low, high\)",
        ),
        Case(
            "loss_penalty on a surface",
            lambda c: bl.loss_penalty(c["fit"], 1e9, 1e10, 1e-3, 1e6),
            E,
            r"law 'chinchilla' has no loss penalty",
        ),
        Case(
            "summary ci=2", lambda c: c["fit"].summary(ci=2), E, r"ci must be a number in \(0, 1\)"
        ),
        Case(
            "summary of one site named as a string",
            lambda c: c["fit"].summary(var_names="alpha").index.tolist(),
            "ok",
            check=lambda r, c: r == ["alpha"],
        ),
        Case(
            "summary unknown site",
            lambda c: c["fit"].summary(var_names=["nope"]),
            E,
            r"var_names \['nope'\] are not in the posterior",
        ),
        Case(
            "draws unknown site",
            lambda c: c["fit"].draws(["nope"]),
            E,
            r"var_names \['nope'\] are not in the posterior",
        ),
        Case(
            "law_table of a surface",
            lambda c: c["fit"].law_table(),
            E,
            r"law 'chinchilla' defines no law table",
        ),
        Case("compare one fit", lambda c: bl.compare([c["fit"]]), E, r"at least two fits"),
        Case("compare a string", lambda c: bl.compare("fits"), E, r"takes a list of fits"),
        Case(
            "compare a non-fit",
            lambda c: bl.compare([c["fit"], 3]),
            E,
            r"takes Fit objects .* \['int'\]",
        ),
        Case(
            "design: empty candidates",
            lambda c: bl.design.next_runs(c["fit"], pd.DataFrame()),
            E,
            r"cands has no rows",
        ),
        Case(
            "design: candidates without N",
            lambda c: bl.design.next_runs(c["fit"], pd.DataFrame({"x": [1]})),
            E,
            r"cands needs column N",
        ),
        Case(
            "design: k=0",
            lambda c: bl.design.next_runs(
                c["fit"], bl.design.isoflop_candidates(C=[1e20], n_per_budget=3, fit=c["fit"]), k=0
            ),
            E,
            r"k must be an integer >= 1",
        ),
        Case(
            "design: unknown target",
            lambda c: bl.design.next_runs(
                c["fit"], bl.design.isoflop_candidates(C=[1e20], n_per_budget=3), target="x"
            ),
            E,
            r"target must be a bayeslaws.design target",
        ),
        Case(
            "design: negative budget",
            lambda c: bl.design.isoflop_candidates(C=-1),
            E,
            r"C must be finite and positive",
        ),
    ]


def _file_cases() -> list[Case]:
    E, F = "error", "file"  # noqa: N806

    def load(path_fn):
        return lambda c: bl.load_fit(path_fn(c))

    def saved_again(c):
        path = c["dir"] / "twice.nc"
        c["fit"].save(path)
        c["fit"].save(path)
        return path

    def predictions_equal(path, c):
        a = bl.predict(bl.load_fit(path), N=[1e9, 1e10], D=[1e10, 1e11])
        b = bl.predict(c["fit"], N=[1e9, 1e10], D=[1e10, 1e11])
        return np.allclose(a["median"], b["median"]) and np.allclose(a["upper"], b["upper"])

    def over_garbage(c):
        path = write(c, "garbage_target.nc", b"\x00garbage" * 100)
        return c["fit"].save(path)

    def no_temp_left(c):
        folder = c["dir"] / "clean"
        folder.mkdir(exist_ok=True)
        c["fit"].save(folder / "f.nc")
        return sorted(p.name for p in folder.iterdir())

    def threads_saving(c):
        path = c["dir"] / "threads.nc"
        errors = []

        def save():
            try:
                c["fit"].save(path)
            except Exception as err:  # noqa: BLE001
                errors.append(err)

        workers = [threading.Thread(target=save) for _ in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        if errors:
            raise errors[0]
        return path

    def version_999(c):
        fit = c["fit"]
        path = c["dir"] / "v999.nc"
        Fit(fit.idata, replace(fit.record, format_version=999)).save(path)
        return path

    def scale_edit(raw):
        raw["scales"]["loss"] += 0.1

    return [
        Case(
            "save into a missing folder",
            lambda c: c["fit"].save(c["dir"] / "no" / "such" / "fit.nc"),
            E,
            r"the folder .*no/such' .* does not exist",
            kind=F,
        ),
        Case("save onto a folder", lambda c: c["fit"].save(c["dir"]), E, r"is a folder", kind=F),
        Case(
            "save path None", lambda c: c["fit"].save(None), E, r"path must be a file path", kind=F
        ),
        Case("save path 3", lambda c: c["fit"].save(3), E, r"path must be a file path", kind=F),
        Case("save twice", saved_again, "ok", check=predictions_equal, kind=F),
        Case("save over a garbage file", over_garbage, "ok", check=loads_ok, kind=F),
        Case(
            "save leaves no temp file", no_temp_left, "ok", check=lambda r, c: r == ["f.nc"], kind=F
        ),
        Case("four threads save one path", threads_saving, "ok", check=loads_ok, kind=F),
        Case(
            "load a missing file", load(lambda c: c["dir"] / "nope.nc"), E, r"no fit file", kind=F
        ),
        Case("load a folder", load(lambda c: c["dir"]), E, r"is a folder, not a fit file", kind=F),
        Case("load None", lambda c: bl.load_fit(None), E, r"path must be a file path", kind=F),
        Case(
            "load a text file",
            load(lambda c: write(c, "hello.nc", "hello")),
            E,
            r"not a readable fit file",
            kind=F,
        ),
        Case(
            "load an empty file",
            load(lambda c: write(c, "empty.nc", b"")),
            E,
            r"not a readable fit file",
            kind=F,
        ),
        Case(
            "load a truncated fit",
            load(lambda c: write(c, "half.nc", c["fit_path"].read_bytes()[:20000])),
            E,
            r"not a readable fit file \(damaged, truncated",
            kind=F,
        ),
        Case(
            "load a netCDF that is not a fit",
            load(lambda c: _foreign_netcdf(c["dir"] / "foreign.nc")),
            E,
            r"netCDF file but not a bayeslaws fit",
            kind=F,
        ),
        Case(
            "load an edited reference scale",
            load(lambda c: edit_record(c, "scale.nc", scale_edit)),
            E,
            r"fails its checksum",
            kind=F,
        ),
        Case(
            "load edited draws",
            load(lambda c: edit_draw(c, "draws.nc")),
            E,
            r"fails its checksum",
            kind=F,
        ),
        Case(
            "load an edited log-likelihood (what compare reads)",
            load(lambda c: edit_group(c, "loglik.nc", "log_likelihood", lambda v: v - 50)),
            E,
            r"fails its checksum",
            kind=F,
        ),
        Case(
            "load edited sampler statistics",
            load(lambda c: edit_group(c, "stats.nc", "sample_stats", lambda v: v + 1)),
            E,
            r"fails its checksum",
            kind=F,
        ),
        Case(
            "load a fit saved before every group was checksummed",
            lambda c: legacy_checksum(c, "legacy.nc"),
            "ok",
            check=loads_ok,
            kind=F,
        ),
        Case(
            "load an edited cache",
            load(
                lambda c: edit_attr(
                    fit_copy(c, "cache.nc"), "bayeslaws_cache", lambda t: '{"gp": {"eta": 9}}'
                )
            ),
            E,
            r"fails its checksum",
            kind=F,
        ),
        Case(
            "load without its checksum",
            load(lambda c: edit_attr(fit_copy(c, "nosum.nc"), CHECKSUM_ATTR, lambda t: None)),
            E,
            r"fails its checksum",
            kind=F,
        ),
        Case(
            "load a record that is not JSON",
            load(lambda c: edit_attr(fit_copy(c, "json.nc"), RECORD_ATTR, lambda t: "{broken")),
            E,
            r"not valid JSON",
            kind=F,
        ),
        Case(
            "load a record with a missing field",
            load(lambda c: edit_record(c, "field.nc", lambda raw: raw.pop("scales"))),
            E,
            r"fields do not match .*missing \['scales'\]",
            kind=F,
        ),
        Case(
            "load another format version",
            load(version_999),
            E,
            r"fit-file format 999",
            errors=(IncompatibleFitFile,),
            kind=F,
        ),
        Case(
            "load gives identical predictions",
            lambda c: c["fit_path"],
            "ok",
            check=predictions_equal,
            kind=F,
        ),
    ]


def _foreign_netcdf(path: Path) -> Path:
    import xarray as xr

    xr.Dataset({"a": ("x", np.arange(3.0))}).to_netcdf(path, engine="h5netcdf")
    return path


def _cli_cases() -> list[Case]:
    def run(*argv):
        return lambda c: cli([a.format(**{k: str(v) for k, v in c.items()}) for a in argv])

    def fit_csv(name, content, *extra):
        def act(c):
            path = write(c, name, content)
            return cli(["fit", path, "--out", c["dir"] / "x.nc", *extra])

        return act

    good = "N,D,loss\n1e8,2e9,3.0\n2e8,4e9,2.8\n4e8,8e9,2.6\n"
    cases = [
        Case(
            "cli fit --out missing folder",
            run("fit", "{fit_path}", "--out", "{dir}/no/such/dir/fit.nc"),
            "cli",
            r"the folder .* does not exist",
        ),
        Case(
            "cli fit --out a folder",
            run("fit", "{fit_path}", "--out", "{dir}"),
            "cli",
            r"is a folder",
        ),
        Case("cli fit empty csv", fit_csv("e1.csv", ""), "cli", r"is empty"),
        Case("cli fit header only", fit_csv("h1.csv", "N,D,loss\n"), "cli", r"has no rows"),
        Case(
            "cli fit boolean loss",
            fit_csv("b1.csv", "N,D,loss\n1e8,2e9,True\n2e8,4e9,False\n"),
            "cli",
            r"True/False",
        ),
        Case(
            "cli fit one column for N and D",
            fit_csv("s1.csv", good, "--N", "N", "--D", "N"),
            "cli",
            r"used for both",
        ),
        Case(
            "cli fit --chains 0",
            fit_csv("c0.csv", good, "--chains", "0"),
            "cli",
            r"--chains: takes a positive integer",
        ),
        Case(
            "cli fit --seed -1",
            fit_csv("sd.csv", good, "--seed", "-1"),
            "cli",
            r"--seed: takes a non-negative integer",
        ),
        Case(
            "cli fit unknown law", fit_csv("l.csv", good, "--law", "nolaw"), "cli", r"unknown law"
        ),
        Case(
            "cli fit bad likelihood",
            fit_csv("lk.csv", good, "--likelihood", "bogus"),
            "cli",
            r"invalid choice",
        ),
        Case(
            "cli fit N in billions",
            fit_csv("nb.csv", "N,D,loss\n0.1,2e9,3.0\n0.2,4e9,2.8\n0.4,8e9,2.6\n"),
            "cli",
            r"below 1 parameter",
        ),
        Case(
            "cli predict not a fit",
            lambda c: cli(["predict", write(c, "hello_cli.nc", "hello"), "--N", "1", "--D", "1"]),
            "cli",
            r"not a readable fit file",
        ),
        Case(
            "cli predict a truncated fit",
            lambda c: cli(
                ["predict", write(c, "half_cli.nc", c["fit_path"].read_bytes()[:20000])]
                + ["--N", "1e9", "--D", "1e10"]
            ),
            "cli",
            r"not a readable fit file",
        ),
        Case(
            "cli predict a foreign netCDF",
            lambda c: cli(
                ["predict", _foreign_netcdf(c["dir"] / "f_cli.nc"), "--N", "1", "--D", "1"]
            ),
            "cli",
            r"not a bayeslaws fit",
        ),
        Case(
            "cli predict an edited fit",
            lambda c: cli(["predict", edit_draw(c, "edited_cli.nc"), "--N", "1e9", "--D", "1e10"]),
            "cli",
            r"fails its checksum",
        ),
        Case(
            "cli predict --N 7B",
            run("predict", "{fit_path}", "--N", "7B", "--D", "1e10"),
            "cli",
            r"--N takes numbers",
        ),
        Case(
            "cli predict D below one token",
            run("predict", "{fit_path}", "--N", "1e12", "--C", "1e6"),
            "cli",
            r"imply D below one token",
        ),
        Case(
            "cli predict --ci 2",
            run("predict", "{fit_path}", "--N", "1e9", "--D", "1e10", "--ci", "2"),
            "cli",
            r"ci must be a number in \(0, 1\)",
        ),
        Case("cli allocate --C -1", run("allocate", "{fit_path}", "--C", "-1"), "cli", r"finite"),
        Case("cli allocate --C x", run("allocate", "{fit_path}", "--C", "x"), "cli", r"--C takes"),
        Case(
            "cli plot --out missing folder",
            run("plot", "{fit_path}", "--kind", "fan", "--out", "{dir}/no/such/fig.png"),
            "cli",
            r"does not exist",
        ),
        Case(
            "cli design missing candidates",
            run("design", "{fit_path}", "--candidates", "{dir}/nope.csv"),
            "cli",
            r"does not exist",
        ),
        Case(
            "cli predict a missing fit",
            run("predict", "{dir}/missing.nc", "--N", "1e9", "--D", "1e10"),
            "cli",
            r"does not exist",
        ),
    ]
    for case in cases:
        case.kind = "cli"
    return cases


def _inference_cases() -> list[Case]:
    def few_runs(n):
        def act(c):
            fit = c["fit"]
            rows = [0, 7, 14, 21, 28][:n]  # distinct sizes and token counts
            runs = {k: [v[i] for i in rows] for k, v in fit.record.training_runs.items()}
            small = Fit(fit.idata, replace(fit.record, training_runs=runs))
            return bl.predict(small, N=[1e9, 1e11], D=[1e10, 1e12], kind="new_run")

        return act

    def contaminated(factor):
        """Two rows moved by x factor and / factor (the table's geometric mean of the loss,
        hence the fit's reference scale, unchanged), screened against the shared posterior."""

        def act(c):
            fit = c["fit"]
            runs = {k: list(v) for k, v in fit.record.training_runs.items()}
            runs["loss"][4] *= factor
            runs["loss"][17] /= factor
            edited = Fit(fit.idata, replace(fit.record, training_runs=runs))
            return screen_fit(edited)

        return act

    def step_message(seconds, after):
        def act(c):
            err = io.StringIO()
            with progress.step("a slow step", after=after, stream=err):
                time.sleep(seconds)
            return err.getvalue()

        return act

    return [
        Case(
            "new_run with 3 training runs",
            few_runs(3),
            "warn",
            r"the fit has 3 training runs .* GP needs >= 6",
            UserWarning,
            check=predicts,
            kind="law",
        ),
        Case(
            "screening flags the moved rows",
            contaminated(1.5),
            "ok",
            check=lambda s, c: sorted(s.flagged) == [4, 17],
            kind="law",
        ),
        Case(
            "screening of clean runs flags none",
            contaminated(1.0),
            "ok",
            check=lambda s, c: s.flagged == [] and np.abs(s.z).max() < 6,
            kind="law",
        ),
        Case(
            "screening threshold is switchable",
            lambda c: screen_fit(c["fit"], {"action": "warn", "threshold": 0.5}),
            "ok",
            check=lambda s, c: len(s.flagged) > 5 and s.rule == Screen("warn", 0.5),
            kind="law",
        ),
        Case(
            "screening 'off' skips",
            lambda c: screen_fit(c["fit"], "off"),
            "ok",
            check=lambda s, c: s.skipped == "screen='off'" and s.flagged == [],
            kind="law",
        ),
        Case(
            "screen=None is off",
            lambda c: as_screen(None),
            "ok",
            check=lambda s, c: s.action == "off",
            kind="law",
        ),
        Case(
            "healthy 2 x 150 draws pass",
            lambda c: check_diag(2, 150, eff=1.0, seed=1),
            "ok",
            check=lambda d, c: d.ok,
            kind="sampler",
        ),
        Case(
            "healthy 4 x 1000 draws pass",
            lambda c: check_diag(4, 1000, eff=1.0, seed=2),
            "ok",
            check=lambda d, c: d.ok and abs(d.rhat_bar - 1.01) < 1e-12 and d.ess_bar == 400,
            kind="sampler",
        ),
        Case(
            "R-hat 1.013 is flagged at 4 x 1000 (not rounded to 1.01 first)",
            lambda c: check_diag(4, 1000, eff=1.0, offset=0.28, seed=4),
            "warn",
            r"R-hat > 1\.01 for \[",
            kind="sampler",
        ),
        Case(
            "a stuck chain is flagged at 2 x 150",
            lambda c: check_diag(2, 150, eff=0.3, offset=1.5, seed=3),
            "warn",
            r"R-hat >",
            SamplerWarning,
            kind="sampler",
        ),
        Case(
            "a sticky sampler is flagged at 2 x 300",
            lambda c: check_diag(2, 300, eff=0.01, seed=4),
            "warn",
            r"ess_bulk <|R-hat >",
            SamplerWarning,
            kind="sampler",
        ),
        Case(
            "a NaN draw is flagged at 2 x 150",
            lambda c: check_diag(2, 150, edit=_nan_draw, seed=1),
            "warn",
            r"non-finite draws \(NaN or inf\) for \['p0'\]",
            SamplerWarning,
            kind="sampler",
        ),
        Case(
            "a NaN draw is flagged at 1 x 150 (not a crash after sampling)",
            lambda c: check_diag(1, 150, edit=_nan_draw, seed=1),
            "warn",
            r"non-finite draws \(NaN or inf\) for \['p0'\]",
            SamplerWarning,
            kind="sampler",
        ),
        Case(
            "draws that never move are flagged",
            lambda c: check_diag(2, 150, edit=_frozen, seed=1),
            "warn",
            r"R-hat or ESS undefined .* for \['p0'\]",
            SamplerWarning,
            kind="sampler",
        ),
        Case(
            "divergences are always reported",
            lambda c: check_diag(2, 150, eff=1.0, divergences=3, seed=5),
            "warn",
            r"3 divergent transitions of 300",
            SamplerWarning,
            kind="sampler",
        ),
        Case(
            "a slow step says so",
            step_message(0.3, 0.05),
            "ok",
            check=lambda text, c: "a slow step ..." in text and "done in" in text,
            kind="sampler",
        ),
        Case(
            "a quick step prints nothing",
            step_message(0.0, 5.0),
            "ok",
            check=lambda text, c: text == "",
            kind="sampler",
        ),
    ]


def all_cases() -> list[Case]:
    """Every fast case (the test runs them; benchmarks/faults.py too)."""
    cases = (
        _data_cases()
        + _fit_argument_cases()
        + _law_cases()
        + _predict_cases()
        + _file_cases()
        + _cli_cases()
        + _inference_cases()
    )
    ids = Counter(c.id for c in cases)
    assert max(ids.values()) == 1, [k for k, v in ids.items() if v > 1]
    return cases


CASES = all_cases()


# ---- the tests -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ctx(simulated_fit, tmp_path_factory):
    """The cases' context; messages printed (conftest's _messages_printed) as the cases read
    them, the caller's environment untouched."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("BAYESLAWS_QUIET", raising=False)
        yield make_context(tmp_path_factory.mktemp("faults"), simulated_fit)


def test_there_are_at_least_150_cases():
    assert len(CASES) >= 150, len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fault(case, ctx):
    outcome = classify(case, ctx)
    assert outcome.result == "ok", f"{outcome.result}: {outcome.detail}"


def test_classifier_catches_what_it_should(ctx):
    """The classifier itself: a raw error, a silent result, an unclear message, a corrupt file."""

    def boom(c):
        return {}["x"]

    assert classify(Case("raw", boom, "error", "x"), ctx).result == "raw traceback"
    assert classify(Case("silent", lambda c: 1, "error", "x"), ctx).result == "silent wrong result"
    unclear = Case("unclear", lambda c: bl.load_runs(None), "error", r"names nothing")
    assert classify(unclear, ctx).result == "unclear error"
    corrupt = Case("corrupt", lambda c: write(c, "bad.nc", "x"), "ok", check=loads_ok, kind="file")
    assert classify(corrupt, ctx).result == "corrupt file"
    assert classify(Case("cli0", lambda c: (0, ""), "cli"), ctx).result == "silent wrong result"


def test_screening_records_the_rule(simulated_fit):
    screening = simulated_fit.record.data["screening"]
    assert screening["action"] == "warn" and screening["threshold"] == 8.0
    assert screening["flagged"] == [] and screening["n_screened"] == 30


def test_warning_names_rows_and_the_fix(simulated_fit):
    from bayeslaws.inference.screening import warn_flagged

    result = screen_fit(simulated_fit, {"threshold": 1.0})
    with pytest.warns(OutlierWarning, match=r"--exclude-rows .* --exclude-reason") as caught:
        warn_flagged(result, simulated_fit.training_runs().df, "warn")
    text = str(caught[0].message)
    assert "screen='exclude'" in text and "runs.exclude(runs.df.index.isin([" in text
    assert str(result.flagged[0]) in text


def test_rejects_nothing_silently_in_load_runs():
    """Every RunTableError is a ValueError: callers catching ValueError see them all."""
    assert issubclass(RunTableError, ValueError)
    assert issubclass(IncompatibleFitFile, ValueError)


def test_no_real_sweep_is_flagged_as_one_line():
    """The one-line threshold (identifiability.MIN_SPREAD_RATIO) sits far below every real
    design in ../shared/data and the bundled sweep: none comes within 5x of it."""
    from bayeslaws.inference.identifiability import MIN_SPREAD_RATIO, spread_ratio
    from bayeslaws.runs import bundled

    try:
        tables = {
            "epoch": bundled.epoch_chinchilla(), "steplaw": bundled.steplaw_dense(),
            "llama_3": bundled.isoflop_compendium("llama_3"),
            "marin": bundled.isoflop_compendium("marin_202603", "comma"),
        }
    except bundled.SharedDataMissing as err:
        pytest.skip(f"../shared/data is absent: {err}")
    tables["bundled"] = bl.load_bundled()
    ratios = {k: spread_ratio(t.df["N"], t.df["D"]) for k, t in tables.items()}
    assert min(ratios.values()) > 5 * MIN_SPREAD_RATIO, ratios
