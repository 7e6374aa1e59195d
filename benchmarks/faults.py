"""The fault-injection suite, counted: every fast case of tests/test_faults.py plus the slow ones
(a process killed while saving, concurrent writers on one path with HDF5 file locking off, long
steps that must say what they do, the Epoch table fitted as the README says, a diverged run in
a loss-surface and in a hyperparameter fit, a law fitted to three runs), each sorted into:
ok, raw traceback, unclear error, silent wrong result, corrupt file, stall without a message.

    python benchmarks/faults.py [--fast-only | --slow-only] [--kills 10] [--writers 3]
    python benchmarks/faults.py --gp-threads     # GP search time on a 1,000-run fit

Prints the counts and every case that is not ok, and writes them to
benchmarks/output/faults.txt, its first line the command, date and commit (--gp-threads:
benchmarks/output/gp_threads.txt). Uses
../shared/data for the Epoch cases (skipped with a note when absent). Simulated tables are
labelled SIMULATED.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import random
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import warnings
from pathlib import Path

import numpy as np

import bayeslaws as bl
from bayeslaws.inference import progress

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header  # noqa: E402  (benchmarks/bench_provenance.py)

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "output"
SAMPLER = {"chains": 2, "warmup": 300, "draws": 300, "seed": 0}


def load_suite():
    """tests/test_faults.py as a module (its cases, classifier and helpers)."""
    spec = importlib.util.spec_from_file_location("test_faults", ROOT / "tests" / "test_faults.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


# ---- slow cases ------------------------------------------------------------------------------
SAVER = textwrap.dedent(
    """
    import sys
    import bayeslaws as bl
    fit = bl.load_fit(sys.argv[1])
    print("ready", flush=True)
    for _ in range(int(sys.argv[3])):
        fit.save(sys.argv[2])
    print("done", flush=True)
    """
)


def _saver(source, target, repeats, env=None):
    return subprocess.Popen(
        [sys.executable, "-c", SAVER, str(source), str(target), str(repeats)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "BAYESLAWS_QUIET": "1", **(env or {})},
    )


def kill_during_save(suite, ctx, trials: int, seed: int = 0):
    """A process saving over a good fit file is killed (SIGKILL) at a random moment: the file
    at the path must still load (the old or the new fit, never a damaged one)."""
    rng = random.Random(seed)
    target = ctx["dir"] / "killed.nc"
    ctx["fit"].save(target)
    start = time.perf_counter()
    ctx["fit"].save(ctx["dir"] / "timing.nc")
    save_s = time.perf_counter() - start
    outcomes = []
    for trial in range(trials):
        proc = _saver(ctx["fit_path"], target, 1000)
        proc.stdout.readline()  # "ready": the fit is loaded, saving starts now
        time.sleep(rng.uniform(0.0, 3 * save_s))
        proc.kill()
        proc.wait()
        ok = suite.loads_ok(target)
        result = "ok" if ok else "corrupt file"
        outcomes.append(suite.Outcome(f"kill during save #{trial + 1}", "file", result, "", save_s))
    leftovers = sorted(p.name for p in ctx["dir"].glob(".killed.nc.*.tmp"))
    note = f"{len(leftovers)} temporary files left by the killed savers (never the target)"
    return outcomes, note


def concurrent_writers(suite, ctx, writers: int, trials: int):
    """``writers`` processes save to one path at once, HDF5_USE_FILE_LOCKING=FALSE (common on
    clusters): every writer must finish (or fail with a clear error) and the file must load."""
    outcomes = []
    for trial in range(trials):
        target = ctx["dir"] / f"shared_{trial}.nc"
        procs = [
            _saver(ctx["fit_path"], target, 3, env={"HDF5_USE_FILE_LOCKING": "FALSE"})
            for _ in range(writers)
        ]
        errors = []
        for proc in procs:
            _, err = proc.communicate(timeout=600)
            if proc.returncode != 0:
                errors.append(err.strip().splitlines()[-1] if err.strip() else "no message")
        if not suite.loads_ok(target):
            result, detail = "corrupt file", "the shared path does not load"
        elif any("Traceback" in e or "Error" in e for e in errors):
            result, detail = "raw traceback", errors[0]
        else:
            result, detail = "ok", f"{writers} writers, file loads"
        outcomes.append(
            suite.Outcome(f"{writers} concurrent writers #{trial + 1}", "file", result, detail, 0)
        )
    return outcomes


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system, all threads) a running process has used, from /proc (Linux);
    None where it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def cli_process(argv, quiet: bool = False, timing: dict | None = None) -> tuple[int, str]:
    """``bayeslaws ARGV`` in its own process, as a user runs it in a terminal (unbuffered
    output): (exit code, its stderr). ``timing`` (a dict) receives the longest stretch without
    any output line, start and exit included, in wall seconds (``longest_silence_s``, which
    grows with the machine's load) and in the process's CPU seconds (``longest_silent_cpu_s``:
    work done without a word, whatever the load)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bayeslaws.app.cli"] + [str(a) for a in argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "BAYESLAWS_QUIET": "1" if quiet else "", "PYTHONUNBUFFERED": "1"},
    )
    cpu = {"now": 0.0}
    stamps, err_lines = [(started, 0.0)], []

    def watch():
        while proc.poll() is None:
            used = _cpu_seconds(proc.pid)
            cpu["now"] = cpu["now"] if used is None else used
            time.sleep(0.2)

    def pump(stream, keep):
        for line in stream:
            stamps.append((time.perf_counter(), cpu["now"]))
            keep.append(line)

    threads = [
        threading.Thread(target=watch),
        threading.Thread(target=pump, args=(proc.stdout, [])),
        threading.Thread(target=pump, args=(proc.stderr, err_lines)),
    ]
    for thread in threads:
        thread.start()
    proc.wait()
    for thread in threads:
        thread.join()
    if timing is not None:
        marks = np.array(sorted(stamps) + [(time.perf_counter(), cpu["now"])])
        timing["longest_silence_s"] = float(np.max(np.diff(marks[:, 0])))
        timing["longest_silent_cpu_s"] = float(np.max(np.diff(marks[:, 1])))
    return proc.returncode, "".join(err_lines)


def _cli_case(suite, case_id, argv, check, silences) -> object:
    """A command line run in its own process, sorted like any case; a run that works longer
    than the suite's stall bar (in CPU seconds, start-up included) without printing a line is
    a stall. The wall-clock silences are noted with the machine's load."""
    timing = {}
    outcome = _timed(suite, case_id, lambda c: cli_process(argv, timing=timing), check=check,
                     kind="cli")
    wall = timing.get("longest_silence_s", float("nan"))
    work = timing.get("longest_silent_cpu_s", float("nan"))
    silences.append(
        f"{case_id}: {wall:.1f} s wall, {work:.1f} s CPU (load {os.getloadavg()[0]:.1f})"
    )
    if outcome.result == "ok" and work > suite.STALL_S:
        outcome.result = "stall without a message"
        outcome.detail = f"{work:.0f} CPU seconds without any output"
    return outcome


def cli_subprocess_cases(suite, ctx) -> list:
    """The command line in its own process, on damaged files: one error line and exit code 2,
    and nothing printed at interpreter exit (no "Exception ignored" from a half-open file)."""
    half = suite.write(ctx, "half_sub.nc", ctx["fit_path"].read_bytes()[:20000])
    foreign = suite._foreign_netcdf(ctx["dir"] / "foreign_sub.nc")
    edited = suite.edit_draw(ctx, "edited_sub.nc")
    outcomes = []
    for name, path, match in (
        ("truncated fit", half, "not a readable fit file"),
        ("netCDF that is not a fit", foreign, "not a bayeslaws fit"),
        ("edited fit", edited, "fails its checksum"),
    ):
        started = time.perf_counter()
        code, err = cli_process(["predict", path, "--N", "1e9", "--D", "1e10"], quiet=True)
        case = suite.Case(f"cli process: predict a {name}", None, "cli", match, kind="cli")
        result, detail = suite._sort_cli(case, None, (code, err))
        outcomes.append(
            suite.Outcome(case.id, "cli", result, detail, time.perf_counter() - started)
        )
    return outcomes


def _timed(suite, case_id, action, expect="ok", match="", category=Warning, check=None, kind="law"):
    case = suite.Case(case_id, action, expect, match, category, check=check, kind=kind)
    return suite.classify(case, {})


def slow_cases(suite, ctx, args) -> tuple[list, list]:
    """The slow cases (NUTS fits, subprocesses): outcomes and notes."""
    from bayeslaws.inference import IdentifiabilityWarning, OutlierWarning
    from bayeslaws.laws.hyperparams.data import DivergenceWarning

    outcomes, notes = [], []
    kills, note = kill_during_save(suite, ctx, args.kills)
    outcomes += kills
    notes.append(f"kill during save: {note}")
    outcomes += concurrent_writers(suite, ctx, args.writers, args.writer_trials)

    outcomes += cli_subprocess_cases(suite, ctx)
    df = ctx["df"]

    def diverged_surface(c):
        bad = df.copy()
        bad.loc[7, "loss"] = 1e6
        return bl.fit(bl.load_runs(bad), likelihood="gaussian", **SAMPLER)

    outcomes.append(
        _timed(
            suite,
            "loss surface with a diverged run (loss 1e6)",
            diverged_surface,
            "warn",
            r"rows 7 \(loss 1e\+06",
            OutlierWarning,
        )
    )

    def three_runs(c):
        fit = bl.fit(bl.load_runs(df.iloc[[0, 7, 14]]), **SAMPLER)
        return bl.predict(fit, N=[1e9, 1e11], D=[1e10, 1e12], kind="new_run")

    outcomes.append(
        _timed(
            suite,
            "three runs, then a new_run prediction",
            three_runs,
            "warn",
            r"3 runs for law 'chinchilla' with 6 parameters",
            IdentifiabilityWarning,
            check=suite.predicts,
        )
    )

    def hyperparams_diverged(c):
        table = suite._hyperparams_table(suite._huge_loss)
        return bl.fit(table, law="hyperparams", **SAMPLER)

    outcomes.append(
        _timed(
            suite,
            "hyperparams fit with a loss of 1e6",
            hyperparams_diverged,
            "warn",
            r"3x the median loss",
            DivergenceWarning,
            check=lambda fit, c: fit.record.law_state["divergence"]["censored_at_loss"] < 10,
        )
    )

    from bayeslaws.inference import SamplerWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        small = bl.fit(bl.load_runs(df), likelihood="gaussian", chains=2, warmup=150, draws=150)
    trouble = [str(w.message) for w in caught if issubclass(w.category, SamplerWarning)]
    notes.append(
        f"a 2 x 150-draw fit of the 30 SIMULATED runs: {small}; sampler warning: "
        f"{trouble[0] if trouble else 'none'}"
    )

    big = big_fit(1000)
    outcomes.append(
        _timed(
            suite,
            "first new_run prediction on a 1,000-run fit",
            lambda c: bl.predict(big, N=[1e9, 1e10], D=[2e10, 2e11], kind="new_run"),
            check=suite.predicts,
        )
    )
    try:
        from bayeslaws.runs import bundled

        bundled.shared_data_dir()
    except FileNotFoundError as err:
        notes.append(f"Epoch cases skipped: {err}")
        return outcomes, notes
    epoch, epoch_notes = epoch_cases(suite, ctx)
    return outcomes + epoch, notes + epoch_notes


def epoch_cases(suite, ctx) -> tuple[list, list]:
    """Epoch's 245 Chinchilla points (REAL), none dropped by hand: the default fit must name
    the highest-loss rows; on the command line, following the advice (the rows it names, or
    --screen exclude) must give Epoch's answer: Chinchilla's 70B inside the 90% interval of
    N_opt at Chinchilla's budget. (outcomes, notes)"""
    from bayeslaws.inference import OutlierWarning
    from bayeslaws.runs import bundled, published

    out, notes, silences = [], [], []
    out.append(
        _timed(
            suite,
            "Epoch table, no row dropped (API)",
            lambda c: bl.fit(bundled.epoch_chinchilla(0), **SAMPLER),
            "warn",
            r"rows 1 \(loss 4\.665.*0 \(loss 5\.006.*3 \(.*2 \(",
            OutlierWarning,
        )
    )
    raw = bundled.shared_data_dir() / "epoch_chinchilla" / "svg_extracted_data.csv"
    columns = ["--N", "Model Size", "--C", "Training FLOP", "--loss", "loss"]
    tiny = ["--chains", "2", "--warmup", "300", "--draws", "300", "--no-discrepancy"]

    def answer(path, tag) -> bool:
        """Chinchilla's 70B inside the 90% interval of N_opt at 5.76e23 FLOPs (as
        ``bayeslaws allocate`` computes it), noted with the rows the fit left out."""
        fit = bl.load_fit(path)
        row = bl.optimal_allocation(fit, C=published.CHINCHILLA_BUDGET).iloc[0]
        screening = fit.record.data.get("screening", {})
        flagged = [f["row"] for f in screening.get("flagged", [])]
        notes.append(
            f"Epoch CLI, {tag}: {fit.n_runs} runs, N_opt(5.76e23) {row['N_opt']:.3g} "
            f"[{row['N_opt_lower']:.3g}, {row['N_opt_upper']:.3g}], "
            f"{row['tokens_per_param']:.1f} tokens/param; screening excluded "
            f"{screening.get('excluded', [])}, flags {flagged}"
        )
        return row["N_opt_lower"] <= published.CHINCHILLA_N <= row["N_opt_upper"]

    out_default = ctx["dir"] / "epoch_cli.nc"

    def warned(r, c) -> bool:
        if r[0] != 0 or "--exclude-rows 1 0 3 2" not in r[1]:
            return False
        answer(out_default, "no row dropped (the default, warns)")
        return True

    out.append(
        _cli_case(
            suite,
            "Epoch table, no row dropped (CLI warns with the rows)",
            ["fit", raw, "--out", out_default] + columns + tiny,
            warned,
            silences,
        )
    )
    out_rows = ctx["dir"] / "epoch_cli_ex.nc"
    out.append(
        _cli_case(
            suite,
            "Epoch table, the named rows excluded on the CLI: Epoch's answer",
            ["fit", raw, "--out", out_rows] + columns + tiny
            + ["--exclude-rows", "1", "0", "3", "2", "--exclude-reason", "screening flagged them"],
            lambda r, c: r[0] == 0 and answer(out_rows, "--exclude-rows 1 0 3 2"),
            silences,
        )
    )
    out_screen = ctx["dir"] / "epoch_cli_screen.nc"

    def screened(r, c) -> bool:
        excluded = bl.load_fit(out_screen).record.data["screening"].get("excluded", [])
        return r[0] == 0 and answer(out_screen, "--screen exclude") and len(excluded) > 0

    out.append(
        _cli_case(
            suite,
            "Epoch table, --screen exclude on the CLI: Epoch's answer",
            ["fit", raw, "--out", out_screen] + columns + tiny + ["--screen", "exclude"],
            screened,
            silences,
        )
    )
    notes.append("longest silence of the command line runs: " + "; ".join(silences))
    return out, notes


def big_fit(n_runs: int):
    """A SIMULATED loss surface (Chinchilla truth, 1% noise) fitted to ``n_runs`` runs."""
    from bayeslaws.runs import simulate

    n_tokens = 25
    N, D = np.meshgrid(
        np.geomspace(6e7, 6e9, n_runs // n_tokens), np.geomspace(1e9, 1e11, n_tokens)
    )
    truth = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}
    df = simulate.simulate_chinchilla_runs(
        {**truth, "N": N.ravel(), "D": D.ravel()}, noise_sd=0.01, seed=3
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(bl.load_runs(df[["N", "D", "loss"]]), likelihood="gaussian", **SAMPLER)


# ---- the GP search with and without BLAS thread limits ---------------------------------------
def gp_threads(repeats: int) -> list[str]:
    """Time the GP hyperparameter search of a 1,000-run fit with the BLAS's default threads and
    with ``SEARCH_THREADS`` (1), alternating; print the machine load beside each."""
    from threadpoolctl import threadpool_info

    from bayeslaws.posterior.extrapolation import gp

    fit = big_fit(1000)
    runs = fit.training_runs()
    residuals = gp.training_residuals(fit, runs)
    info = ", ".join(f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info())
    lines = [
        f"GP hyperparameter search on a SIMULATED 1,000-run fit ({os.cpu_count()} CPUs; {info})",
        f"{'setting':26s} {'seconds':>8s} {'load (1 min)':>13s}",
    ]
    limit = gp.SEARCH_THREADS
    times = {"default threads": [], f"{limit} thread(s)": []}
    try:
        for _ in range(repeats):
            for label, threads in (("default threads", None), (f"{limit} thread(s)", limit)):
                gp.SEARCH_THREADS = threads
                start = time.perf_counter()
                with contextlib.redirect_stderr(io.StringIO()):
                    gp.fit_gp(runs.df["N"], runs.df["D"], residuals)
                seconds = time.perf_counter() - start
                times[label].append(seconds)
                lines.append(f"{label:26s} {seconds:8.1f} {os.getloadavg()[0]:13.1f}")
                print(lines[-1], flush=True)
    finally:
        gp.SEARCH_THREADS = limit
    for label, values in times.items():
        lines.append(f"median, {label}: {np.median(values):.1f} s")
    return lines


# ---- main ------------------------------------------------------------------------------------
def report(outcomes, notes) -> list[str]:
    from collections import Counter

    counts = Counter(o.result for o in outcomes)
    suite_results = (
        "ok",
        "raw traceback",
        "unclear error",
        "silent wrong result",
        "corrupt file",
        "stall without a message",
    )
    lines = [f"{len(outcomes)} fault cases ({os.getloadavg()[0]:.1f} load average at the end)"]
    for result in suite_results:
        lines.append(f"  {result:26s} {counts.get(result, 0):5d}")
    kinds = Counter(o.kind for o in outcomes)
    lines.append("  by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    bad = [o for o in outcomes if o.result != "ok"]
    if bad:
        lines.append("not ok:")
        lines += [f"  [{o.result}] {o.case}: {o.detail}" for o in bad]
    slow = sorted(outcomes, key=lambda o: -o.seconds)[:8]
    lines.append("slowest cases: " + "; ".join(f"{o.case} {o.seconds:.0f} s" for o in slow))
    lines += [f"note: {n}" for n in notes]
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fast-only", action="store_true", help="only the cases of the tests")
    parser.add_argument("--slow-only", action="store_true", help="only the slow cases")
    parser.add_argument("--kills", type=int, default=10, help="kill-during-save trials")
    parser.add_argument("--writers", type=int, default=3, help="concurrent writer processes")
    parser.add_argument("--writer-trials", type=int, default=3)
    parser.add_argument("--gp-threads", action="store_true", help="time the GP search only")
    parser.add_argument("--repeats", type=int, default=3, help="--gp-threads repeats")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.gp_threads:
        lines = [header("benchmarks/faults.py", argv), *gp_threads(args.repeats)]
        (OUT / "gp_threads.txt").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
        return
    first_line = header("benchmarks/faults.py", argv)  # the commit the cases run on
    suite = load_suite()
    outcomes, notes = [], []
    with tempfile.TemporaryDirectory() as folder:
        os.environ.pop("BAYESLAWS_QUIET", None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = bl.fit(bl.load_runs(suite.runs_frame()), likelihood="gaussian", **SAMPLER)
        ctx = suite.make_context(Path(folder), fit)
        if not args.slow_only:
            for case in suite.CASES:
                outcomes.append(suite.classify(case, ctx))
            print(f"{len(outcomes)} fast cases done", flush=True)
        if not args.fast_only:
            slow, notes = slow_cases(suite, ctx, args)
            outcomes += slow
    lines = [first_line, *report(outcomes, notes)]
    tag = "_fast" if args.fast_only else "_slow" if args.slow_only else ""
    (OUT / f"faults{tag}.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"({progress.PREFIX.strip()} progress messages went to stderr)", file=sys.stderr)


if __name__ == "__main__":
    main()
