"""Speed and scale (issue 16): every figure of the issue's "Must show", in one run.

    python benchmarks/speed.py [--only sampler cache repeat sizes steplaw new_run batch gpu]
        [--repeats 2]
        [--sbc-fits 40] [--sbc-chunk-size auto] [--pin-workers] [--batch-pool]
        [--out benchmarks/output/speed.txt]

Sections (each prints its figures; all are written to ``--out`` with the machine's load):

* ``sampler``: Chinchilla on Epoch's 240 points (REAL data), 4 chains x (1000 warm-up + 1000
  draws), Huber likelihood: min bulk ESS per second of sampling (ESS of alpha, beta, ln A, ln B,
  ln E and sigma; ArviZ) of ``bl.fit`` against two plain NumPyro models of the same law measured
  in the same run, interleaved: the textbook one (ln A, ln B, ln E on raw ln N, ln D; NUTS
  defaults: diagonal mass, uniform init) and a strong one (the same centred log-space
  parametrisation as bayeslaws, NUTS defaults). Both models use bayeslaws' priors translated
  where possible and the same chain method. Target: >= 2.5x the reference. Every method is
  compiled on an untimed first run; the references map their chains through one ``jax.pmap``
  kept across runs (:class:`CompiledChains`: NumPyro's own ``"parallel"`` would trace and
  compile again on every run), and the section prints JAX's compile seconds inside the timed
  runs (``jax.monitoring``), which should be 0.
* ``cache``: ``bayeslaws fit`` of Epoch's table in two fresh processes sharing an empty
  persistent compilation cache (``--repeats`` times, medians), and one with the cache off.
  The second process reads the compiled kernels and the traced program (inference/exported.py)
  the first wrote. Target: second >= 2x faster.
* ``repeat``: three ``bl.fit`` calls in one process (Epoch, 4 x 300 + 300, new seeds; what a
  design loop or a notebook does), in a fresh process with the persistent compilation cache
  on (``bl.fit``'s default; an empty folder) and off: the wall time of the 2nd and 3rd fits.
* ``sizes``: a growing table, as a design loop refits it: ``bl.fit`` on Epoch's first 200,
  205, 210 and 215 runs in one fresh process, with runs padded to size buckets
  (inference/padding.py; all four in the 224 bucket) and with padding off (each size a new
  shape, traced and compiled): the median wall time of fits 2-4.
* ``steplaw``: the full Step Law hierarchical fit (law "hyperparams", benchmarks/steplaw_fit.py's
  settings), wall time and max R-hat. Target: < 60 s at R-hat <= 1.01.
* ``new_run``: the first ``bl.predict(kind="new_run")`` on a fit of 1,000 SIMULATED runs.
  Target: < 10 s.
* ``batch``: ``bl.posterior.calibration.sbc`` of ``--sbc-fits`` fits (parameters drawn from the
  Chinchilla prior, SIMULATED runs on a 5 x 5 grid, 1 chain x 200 + 200), its fits through
  ``bl.fit_many`` on a Dask LocalCluster with 1 and 2 worker processes started with
  ``bl.worker_env()`` (cluster started and its workers warmed before timing), ``--repeats``
  times interleaved, medians (a shared 2-core machine: single timings vary by a third); the
  fits go ``--sbc-chunk-size`` per submission (default sbc's own, ``"auto"``: four chunks per
  worker; ``1``: one fit per task, as before sbc chunked); with ``--pin-workers`` each Dask
  worker process, all its threads included, is pinned to its own core (``sched_setaffinity``:
  XLA runs a fit on its own thread pool, which the single-thread flag of ``bl.worker_env()``
  do not confine to one core). Each repeat line gives the workers' CPU seconds per wall
  second (psutil). Target:
  speed-up >= 1.7x. Beside it, in each repeat, the machine's own ceiling for that ratio
  (:func:`two_process_ceiling`: a pure-Python loop split over two processes against one), and
  with ``--batch-pool`` the same fits through a plain local process pool (no Dask).
* ``gpu``: the Epoch fit with vectorised chains on a GPU when JAX sees one; otherwise says so.

Timings on a shared machine are noisy: the load average is printed with every figure. Needs
../shared/data for Epoch and Step Law (those sections say so and skip when it is absent).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from contextlib import redirect_stdout
from pathlib import Path

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS

import bayeslaws as bl
from bayeslaws.laws.likelihoods import Huber
from bayeslaws.runs import bundled, simulate

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header, load, machine  # noqa: E402  (benchmarks/bench_provenance.py)

HERE = Path(__file__).resolve().parent
SECTIONS = ("sampler", "cache", "repeat", "sizes", "batch", "gpu", "steplaw", "new_run")
CHAINS, WARMUP, DRAWS = 4, 1000, 1000
LAW_SITES = ("alpha", "beta", "lnA", "lnB", "lnE", "sigma")


def say(lines: list, text: str = "") -> None:
    print(text, flush=True)
    lines.append(text)


# ---- sampler efficiency ----
def textbook_model(lnN, lnD, obs=None):
    """Chinchilla as a NumPyro user writes it from the paper: ln L = logsumexp(ln A - alpha ln N,
    ln B - beta ln D, ln E) on raw logs, Huber noise on ln L."""
    alpha = numpyro.sample("alpha", dist.Beta(2.0, 3.0))
    beta = numpyro.sample("beta", dist.Beta(2.0, 3.0))
    lnA = numpyro.sample("lnA", dist.Normal(5.0, 5.0))
    lnB = numpyro.sample("lnB", dist.Normal(5.0, 5.0))
    lnE = numpyro.sample("lnE", dist.Normal(0.0, 1.0))
    sigma = numpyro.sample("sigma", dist.HalfNormal(0.1))
    mu = jnp.logaddexp(jnp.logaddexp(lnA - alpha * lnN, lnB - beta * lnD), lnE)
    with numpyro.plate("runs", lnN.shape[0]):
        numpyro.sample("obs", Huber(mu, sigma), obs=obs)


def centred_model(x, y, obs=None):
    """The same law on centred logs with bayeslaws' priors, written in plain NumPyro."""
    alpha = numpyro.sample("alpha", dist.Beta(2.0, 3.0))
    beta = numpyro.sample("beta", dist.Beta(2.0, 3.0))
    a = numpyro.sample("a", dist.Normal(-2.0, 2.0))
    b = numpyro.sample("b", dist.Normal(-2.0, 2.0))
    e = numpyro.sample("e", dist.Normal(-0.5, 1.0))
    sigma = numpyro.sample("sigma", dist.HalfNormal(0.1))
    mu = jnp.logaddexp(jnp.logaddexp(a - alpha * x, b - beta * y), e)
    with numpyro.plate("runs", x.shape[0]):
        numpyro.sample("obs", Huber(mu, sigma), obs=obs)


def law_draws_centred(samples: dict, scales: dict) -> dict:
    """alpha, beta, ln A, ln B, ln E (natural units), sigma from centred-model draws."""
    return {
        "alpha": samples["alpha"],
        "beta": samples["beta"],
        "lnA": samples["a"] + samples["alpha"] * scales["N"] + scales["loss"],
        "lnB": samples["b"] + samples["beta"] * scales["D"] + scales["loss"],
        "lnE": samples["e"] + scales["loss"],
        "sigma": samples["sigma"],
    }


def min_ess(draws: dict) -> float:
    """Smallest bulk ESS (ArviZ) over the law's sites; draws are (chains, draws) arrays."""
    data = az.from_dict(posterior={k: np.asarray(draws[k]) for k in LAW_SITES})
    ess = az.ess(data, method="bulk")
    return float(min(float(ess[k]) for k in LAW_SITES))


# JAX's compile-time events (jax.monitoring): the seconds each spent since the listener started
COMPILE_EVENTS = {
    "/jax/core/compile/jaxpr_trace_duration": "trace",
    "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower",
    "/jax/core/compile/backend_compile_duration": "backend compile",
}
_COMPILE_SECONDS = {name: 0.0 for name in COMPILE_EVENTS.values()}


def _on_duration(event: str, seconds: float, **_) -> None:
    if event in COMPILE_EVENTS:
        _COMPILE_SECONDS[COMPILE_EVENTS[event]] += seconds


def compile_seconds() -> dict:
    """JAX's cumulative tracing, lowering and XLA (backend) compile seconds in this process
    since the first call (a ``jax.monitoring`` listener; take differences around a run)."""
    if not getattr(compile_seconds, "listening", False):
        jax.monitoring.register_event_duration_secs_listener(_on_duration)
        compile_seconds.listening = True
    return dict(_COMPILE_SECONDS)


class CompiledChains:
    """NumPyro's ``chain_method`` for the references: maps the per-chain function over the
    chains as ``chain_method`` does (``"parallel"``: ``jax.pmap``, one device per chain;
    ``"vectorized"``: ``jax.vmap``; ``"sequential"``: one chain after another), but through one
    mapped function kept across runs, with the model's data an argument rather than closed
    over. NumPyro's own ``"parallel"`` pmaps a new ``functools.partial`` on every ``run``, so
    JAX traces and compiles it again each time; this compiles on the first run only, as
    bayeslaws' cached sampler does (bayeslaws/inference/exported.py does the same mapping)."""

    def __init__(self, how: str):
        self.how, self.mapped, self.fields = how, None, None

    def __repr__(self) -> str:
        return self.how

    def __call__(self, per_chain):
        keywords = dict(per_chain.keywords)
        data = keywords.pop("kwargs")
        if per_chain.args or keywords.pop("args"):
            raise ValueError("the references pass their data as keyword arguments only")
        fields = (keywords["collect_fields"], keywords["remove_sites"])
        if self.mapped is None or fields != self.fields:
            func = per_chain.func  # the MCMC's bound _single_chain_mcmc

            def body(chain_args, model_kwargs):
                return func(chain_args, args=(), kwargs=model_kwargs, **keywords)

            if self.how == "parallel":
                self.mapped = jax.pmap(body, in_axes=(0, None))
            elif self.how == "vectorized":
                self.mapped = jax.jit(jax.vmap(body, in_axes=(0, None)))
            else:
                one = jax.jit(body)

                def sequential(map_args, model_kwargs):
                    n = int(np.shape(map_args[0])[0])
                    outs = [
                        one(jax.tree.map(lambda x, i=i: x[i], map_args), model_kwargs)
                        for i in range(n)
                    ]
                    return jax.tree.map(lambda *xs: jnp.stack(xs), *outs)

                self.mapped = sequential
            self.fields = fields
        mapped = self.mapped  # positional: pmap maps keyword arguments
        return lambda map_args: mapped(map_args, data)


class Reference:
    """A plain NumPyro model, compiled on its first run and then rerun with new seeds (the
    chains mapped by :class:`CompiledChains`, so the reruns reuse the compiled program)."""

    def __init__(self, name, model, data, to_law, chain_method):
        self.name, self.data, self.to_law = name, data, to_law
        self.mcmc = MCMC(
            NUTS(model),
            num_warmup=WARMUP,
            num_samples=DRAWS,
            num_chains=CHAINS,
            chain_method=CompiledChains(chain_method),
            progress_bar=False,
            jit_model_args=True,
        )

    def run(self, seed: int) -> dict:
        before = compile_seconds()
        started, cpu = time.perf_counter(), time.process_time()
        self.mcmc.run(jax.random.PRNGKey(seed), extra_fields=("num_steps",), **self.data)
        samples = self.mcmc.get_samples(group_by_chain=True)
        jax.block_until_ready(samples)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        compiling = {k: v - before[k] for k, v in compile_seconds().items()}
        ess = min_ess(self.to_law(samples))
        steps = np.asarray(self.mcmc.get_extra_fields()["num_steps"])
        return {
            "seconds": seconds, "cpu": cpu, "ess": ess, "steps": float(steps.mean()),
            "compile": compiling,
        }  # fmt: skip


def bayeslaws_run(runs, seed: int) -> dict:
    """bl.fit as a user calls it; its CPU time counts the whole call (sampling, diagnostics,
    screening), its ESS/s the sampling wall time (``record.sampler.sampling_seconds``)."""
    before = compile_seconds()
    started, cpu = time.perf_counter(), time.process_time()
    fit = bl.fit(runs, law="chinchilla", likelihood="huber", seed=seed, warn=False)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    compiling = {k: v - before[k] for k, v in compile_seconds().items()}
    post = {k: fit.idata.posterior[k].values for k in ("alpha", "beta", "a", "b", "e", "sigma")}
    ess = min_ess(law_draws_centred(post, fit.record.scales))
    steps = float(np.mean(fit.idata.sample_stats["n_steps"].values))
    seconds = fit.record.sampler.sampling_seconds
    return {
        "seconds": seconds, "cpu": cpu, "wall": wall, "ess": ess, "steps": steps, "fit": fit,
        "compile": compiling,
    }  # fmt: skip


def section_sampler(lines, args) -> None:
    say(lines, "== sampler: Chinchilla on Epoch's 240 points, 4 x (1000 + 1000), Huber ==")
    try:
        runs = bundled.epoch_chinchilla()
    except bundled.SharedDataMissing as err:
        say(lines, f"not measured: {err}")
        return
    df = runs.df
    ln = {c: np.log(df[c].to_numpy(float)) for c in ("N", "D", "loss")}
    scales = {c: float(np.mean(v)) for c, v in ln.items()}
    method = bl.inference.choose_chain_method(CHAINS)
    refs = [
        Reference(
            "plain NumPyro, textbook (raw logs)",
            textbook_model,
            {
                "lnN": jnp.asarray(ln["N"]),
                "lnD": jnp.asarray(ln["D"]),
                "obs": jnp.asarray(ln["loss"]),
            },
            lambda s: {k: s[k] for k in LAW_SITES},
            method,
        ),
        Reference(
            "plain NumPyro, centred logs",
            centred_model,
            {
                "x": jnp.asarray(ln["N"] - scales["N"]),
                "y": jnp.asarray(ln["D"] - scales["D"]),
                "obs": jnp.asarray(ln["loss"] - scales["loss"]),
            },
            lambda s: law_draws_centred(s, scales),
            method,
        ),
    ]
    say(
        lines,
        f"chain method {method}; first run of each compiles and is not counted (the references "
        "map their chains through one mapped function kept across runs, so their timed runs "
        f"reuse the compiled program as bl.fit's do); {load()}",
    )
    results = {"bayeslaws bl.fit": []} | {r.name: [] for r in refs}
    bayeslaws_run(runs, seed=100)  # compile
    for ref in refs:
        ref.run(100)
    for seed in range(args.repeats):
        out = bayeslaws_run(runs, seed)
        results["bayeslaws bl.fit"].append(out)
        fit = out["fit"]
        for ref in refs:
            results[ref.name].append(ref.run(seed))
        say(lines, f"  repeat {seed}: done, {load()}")
    rate, per_cpu, per_step = {}, {}, {}
    n_draws = CHAINS * (WARMUP + DRAWS)
    for name, rows in results.items():
        r = [row["ess"] / row["seconds"] for row in rows]
        rate[name] = float(np.median(r))
        whole = " (the whole bl.fit call)" if "wall" in rows[0] else ""
        per_cpu[name] = float(np.median([row["ess"] / row["cpu"] for row in rows]))
        per_step[name] = float(np.median([row["ess"] / (row["steps"] * n_draws) for row in rows]))
        say(
            lines,
            f"  {name:36s} min-ESS/s {rate[name]:6.1f} (runs: "
            + ", ".join(f"{x:.1f}" for x in r)
            + f"); per CPU-s {per_cpu[name]:6.1f}; min ESS "
            f"{np.median([row['ess'] for row in rows]):.0f}; sampling "
            f"{np.median([row['seconds'] for row in rows]):.1f} s wall, "
            f"{np.median([row['cpu'] for row in rows]):.1f} s CPU{whole}; leapfrog steps per "
            f"iteration {np.median([row['steps'] for row in rows]):.1f}; min ESS per 1000 "
            f"steps {1000 * per_step[name]:.2f}",
        )
    mine = "bayeslaws bl.fit"
    for ref in refs:
        name = ref.name
        say(
            lines,
            f"  bayeslaws / {name}: {rate[mine] / rate[name]:.2f}x min-ESS per wall s "
            f"(target >= 2.5x), {per_cpu[mine] / per_cpu[name]:.2f}x per CPU s (bl.fit's whole "
            f"call), {per_step[mine] / per_step[name]:.2f}x per leapfrog step (load-free)",
        )
    walls = [row["wall"] for row in results["bayeslaws bl.fit"]]
    say(
        lines,
        f"  bl.fit wall (sampling + diagnostics + screening), median {np.median(walls):.1f} s; "
        f"divergences {fit.diagnostics.divergences}, max R-hat {fit.diagnostics.max_r_hat:.3f}",
    )
    # how we know the timed runs exclude compilation: JAX's own compile events (jax.monitoring)
    # counted inside each timed run
    parts = []
    for name, rows in results.items():
        total = {k: sum(row["compile"][k] for row in rows) for k in rows[0]["compile"]}
        whole = " (whole bl.fit call)" if "wall" in rows[0] else ""
        parts.append(
            f"{name}{whole} " + " / ".join(f"{total[k]:.2f}" for k in COMPILE_EVENTS.values())
        )
    say(
        lines,
        "  JAX compilation inside the timed runs, summed over them (jax.monitoring events: "
        f"{' / '.join(COMPILE_EVENTS.values())} seconds): " + "; ".join(parts),
    )
    compiled = [
        name
        for name, rows in results.items()
        if "wall" not in rows[0] and sum(row["compile"]["backend compile"] for row in rows) > 0.05
    ]
    if compiled:
        say(
            lines,
            f"  WARNING: the timed runs of {', '.join(compiled)} include XLA compilation (above): "
            "their min-ESS/s is understated",
        )


# ---- persistent compilation cache ----
def section_cache(lines, args) -> None:
    say(lines, "== cache: 'bayeslaws fit' of Epoch's table in fresh processes ==")
    try:
        runs = bundled.epoch_chinchilla()
    except bundled.SharedDataMissing as err:
        say(lines, f"not measured: {err}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "epoch.csv"
        runs.df[["N", "D", "loss"]].to_csv(table, index=False)
        cache = Path(tmp) / "jax-cache"
        command = [
            sys.executable, "-m", "bayeslaws.app.cli", "fit", str(table), "--law", "chinchilla",
            "--no-discrepancy", "--screen", "off",
        ]  # fmt: skip
        def run(label: str, setting: str) -> tuple[float, float]:
            env = {**os.environ, "BAYESLAWS_COMPILATION_CACHE": setting, "BAYESLAWS_QUIET": "1"}
            started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
            done = subprocess.run(
                command + ["--out", str(Path(tmp) / "fit.nc")],
                env=env,
                capture_output=True,
                text=True,
            )
            wall = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            status = "ok" if done.returncode == 0 else f"FAILED: {done.stderr.strip()[-300:]}"
            say(lines, f"  {label:32s} {wall:6.1f} s wall, {cpu:5.1f} s CPU ({status}); {load()}")
            return wall, cpu

        first, second = [], []
        for r in range(args.repeats):  # each repeat starts from an empty cache folder
            cache = Path(tmp) / f"jax-cache-{r}"
            first.append(run(f"repeat {r}: first, empty cache", str(cache)))
            second.append(run(f"repeat {r}: second, same cache", str(cache)))
            entries = len([p for p in cache.iterdir() if p.is_file()]) if cache.exists() else 0
            programs = len(list((cache / "programs").glob("*.jaxexport")))
        run("cache off", "off")
        (f_wall, f_cpu), (s_wall, s_cpu) = np.median(first, 0), np.median(second, 0)
        say(lines, f"  CPU time of the second process: {f_cpu / s_cpu:.2f}x less (medians)")
        say(lines, f"  speed-up of the second process: {f_wall / s_wall:.2f}x (medians of "
            f"{args.repeats}; target >= 2x); {entries} compiled kernels, {programs} traced "
            "program(s) on disk")  # fmt: skip


REPEAT_SCRIPT = """
import sys, time
import bayeslaws as bl
from bayeslaws.runs import bundled
runs = bundled.epoch_chinchilla()
for i in range(3):
    t = time.perf_counter()
    bl.fit(runs, chains=4, warmup=300, draws=300, seed=i, screen="off", warn=False)
    print(round(time.perf_counter() - t, 3))
"""


def timed_fits(lines, script: str, argv: list, cache: str, label: str) -> list | None:
    """Run ``script`` (which prints one wall time per fit) in a fresh process with the
    compilation cache ``cache`` (a folder or "off"): the times, or None (reported) on failure."""
    env = {**os.environ, "BAYESLAWS_COMPILATION_CACHE": cache, "BAYESLAWS_QUIET": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script, *argv], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        say(lines, f"  {label}: FAILED: {done.stderr.strip()[-300:]}")
        return None
    walls = [float(v) for v in done.stdout.split()]
    say(lines, f"  {label:30s} fits {walls} s wall; {load()}")
    return walls


def section_repeat(lines, args) -> None:
    say(lines, "== repeat: three bl.fit calls in one process (Epoch, 4 x 300 + 300) ==")
    try:
        bundled.epoch_chinchilla()
    except bundled.SharedDataMissing as err:
        say(lines, f"not measured: {err}")
        return
    walls = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, setting in (("on (default)", str(Path(tmp) / "cache")), ("off", "off")):
            walls[label] = timed_fits(lines, REPEAT_SCRIPT, [], setting, f"cache {label}")
            if walls[label] is None:
                return
    on, off = (np.median(w[1:]) for w in walls.values())
    say(lines, f"  repeat fit (median of 2nd and 3rd): {on:.2f} s with the cache, {off:.2f} s "
        f"without: {off / on:.1f}x")  # fmt: skip


SIZES_SCRIPT = """
import copy, sys, time
import bayeslaws as bl
from bayeslaws.runs import bundled
law = copy.copy(bl.laws.resolve_law("chinchilla"))
law.pads_runs = sys.argv[1] == "on"
df = bundled.epoch_chinchilla().df[["N", "D", "loss"]]
for n in (200, 205, 210, 215):
    t = time.perf_counter()
    bl.fit(df.iloc[:n], law=law, chains=4, warmup=300, draws=300, seed=n, screen="off",
           warn=False)
    print(round(time.perf_counter() - t, 3))
"""


def section_sizes(lines, args) -> None:
    say(lines, "== sizes: a growing table (a design loop's refits): Epoch's first 200, 205, 210, "
        "215 runs, one fresh process per setting, 4 x 300 + 300 ==")  # fmt: skip
    try:
        bundled.epoch_chinchilla()
    except bundled.SharedDataMissing as err:
        say(lines, f"not measured: {err}")
        return
    walls = {}
    with tempfile.TemporaryDirectory() as tmp:
        for padded in ("on", "off"):
            cache = str(Path(tmp) / padded)
            walls[padded] = timed_fits(
                lines, SIZES_SCRIPT, [padded], cache, f"padding to size buckets {padded}"
            )
            if walls[padded] is None:
                return
    on, off = (np.median(walls[k][1:]) for k in ("on", "off"))
    say(lines, f"  refit of a grown table (median of fits 2-4, all in the 224 bucket): "
        f"{on:.2f} s padded, {off:.2f} s unpadded (a new shape each: traced and compiled): "
        f"{off / on:.1f}x")  # fmt: skip


# ---- Step Law ----
def section_steplaw(lines, args) -> None:
    say(lines, "== steplaw: the full Step Law hierarchical fit (hyperparams, 4 x 1000 + 1000) ==")
    try:
        runs = bundled.steplaw_dense()
    except bundled.SharedDataMissing as err:
        say(lines, f"not measured: {err}")
        return
    sys.path.insert(0, str(HERE))
    import steplaw_fit  # the benchmark's own settings

    settings = argparse.Namespace(
        loss_level="free", divergence="exclude", far_above=0.03, likelihood="huber", chains=4,
        warmup=WARMUP, draws=DRAWS, seed=0,
    )  # fmt: skip
    say(lines, f"  {len(runs.df)} runs; {load()}")
    printed = io.StringIO()
    with redirect_stdout(printed), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit, wall = steplaw_fit.run(steplaw_fit.LAW.bowl, settings, runs)
    d = fit.diagnostics
    say(lines, "  " + printed.getvalue().strip())
    say(
        lines,
        f"  wall {wall:.1f} s (target < 60 s), max R-hat {d.max_r_hat:.3f} (target <= 1.01), "
        f"{fit.n_runs} runs fitted; {load()}",
    )


# ---- first new_run prediction ----
def section_new_run(lines, args) -> None:
    say(lines, "== new_run: first bl.predict(kind='new_run') on a fit of 1,000 SIMULATED runs ==")
    rng = np.random.default_rng(0)
    N = np.exp(rng.uniform(np.log(5e7), np.log(5e9), 1000))
    D = np.exp(rng.uniform(np.log(1e9), np.log(2e11), 1000))
    truth = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37, "N": N, "D": D}
    runs = bl.load_runs(simulate.simulate_chinchilla_runs(truth, noise_sd=0.01, seed=0))
    started = time.perf_counter()
    fit = bl.fit(runs, law="chinchilla", likelihood="gaussian", draws=500, warmup=500, warn=False)
    say(lines, f"  fit of {fit.n_runs} runs (4 x 500 + 500): {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bl.predict(fit, N=[7e9], D=[1.4e12], kind="new_run")
    first = time.perf_counter() - started
    started = time.perf_counter()
    bl.predict(fit, N=[7e10], D=[1.4e12], kind="new_run")
    again = time.perf_counter() - started
    say(
        lines,
        f"  first new_run prediction {first:.1f} s (target < 10 s), next {again:.2f} s; {load()}",
    )


# ---- many fits through Dask ----
def spin(iterations: int) -> float:
    """CPU-bound single-threaded work (a pure-Python loop); returns its own wall seconds."""
    started, total = time.perf_counter(), 0
    for i in range(iterations):
        total += i * i
    return time.perf_counter() - started


def two_process_ceiling(iterations: int = 20_000_000) -> float:
    """What two processes can gain over one on this machine right now: the wall time of two
    chunks of :func:`spin` in one worker process over that of one chunk in each of two
    concurrent ones (process start-up outside the timing). 2.0 on two free, independent cores;
    less where the virtual cores share a physical one or the host is busy."""
    import concurrent.futures as cf
    import multiprocessing

    walls = {}
    for workers in (1, 2):
        context = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(workers, mp_context=context) as pool:
            list(pool.map(spin, [1000] * workers))  # the processes start outside the timing
            started = time.perf_counter()
            list(pool.map(spin, [iterations, iterations]))
            walls[workers] = time.perf_counter() - started
    return walls[1] / walls[2]


def pool_batch(workers: int, options: dict, chunk_size) -> float:
    """Wall seconds of the SBC of ``options`` through a local ``spawn`` process pool of
    ``workers`` processes started with ``bl.worker_env()`` (no Dask), warmed first as the Dask
    cluster is: what the batch costs without Dask's scheduler, client and event loops."""
    from bayeslaws.inference.batch import local_executor
    from bayeslaws.posterior.calibration import sbc, sbc_items

    saved = dict(os.environ)
    os.environ.update(bl.worker_env())  # the spawned processes copy it
    try:
        with local_executor(workers) as pool:
            sbc("chinchilla", "gaussian", **{**options, "n_sims": 2 * workers}, executor=pool)
            sbc_items("chinchilla", "gaussian", **options)
            started = time.perf_counter()
            sbc("chinchilla", "gaussian", **options, executor=pool, chunk_size=chunk_size)
            return time.perf_counter() - started
    finally:
        os.environ.clear()
        os.environ.update(saved)


def warm_every_worker(client, options: dict) -> None:
    """One SBC fit on every worker of a Dask ``client`` (``Client.run``), so that no worker
    loads its compiled sampler inside a timed batch (a warm-up batch of as many tasks as
    workers may put two on one worker and none on another)."""
    from bayeslaws.posterior.calibration import sbc_items, sbc_rank

    item = sbc_items("chinchilla", "gaussian", **{**options, "n_sims": 1})[0]
    client.run(sbc_rank, item)


def pin_process(core: int) -> int:
    """Every thread of the calling process (XLA's thread pool among them) pinned to ``core``
    (Linux ``sched_setaffinity``); returns the number of threads pinned. Benchmark only."""
    tids = [int(t) for t in os.listdir("/proc/self/task")]
    for tid in tids:
        os.sched_setaffinity(tid, {core})
    return len(tids)


def pin_one_core_each(client) -> None:
    """Worker k of a Dask ``client`` (sorted by address) pinned to core k of this machine, so
    that each uses exactly one core (``--pin-workers``)."""
    cores = sorted(os.sched_getaffinity(0))
    for k, address in enumerate(sorted(client.scheduler_info()["workers"])):
        client.run(pin_process, cores[k % len(cores)], workers=[address])


def cpu_seconds(pids) -> float:
    """User + system CPU seconds used so far by the processes ``pids`` (psutil)."""
    import psutil

    return sum(sum(psutil.Process(p).cpu_times()[:2]) for p in pids)


@contextlib.contextmanager
def dask_cluster(workers: int):
    """A Dask ``Client`` of a ``LocalCluster`` of ``workers`` worker processes of one thread
    each, started with ``bl.worker_env()`` (about one core each: XLA's single-thread flag);
    both closed on exit."""
    import distributed

    with (
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            env=bl.worker_env(),
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def sbc_batch_options(n_sims: int, seed: int = 0) -> dict:
    """The SBC of the batch figures (this script, dask_overhead.py, chunk_ab.py): ``n_sims``
    SIMULATED prior-draw tables on sbc's 5 x 5 grid (drawn with ``seed``), each fitted with
    1 chain x 200 + 200."""
    return {"n_sims": n_sims, "chains": 1, "warmup": 200, "draws": 200, "thin": 1, "seed": seed}


def section_batch(lines, args) -> None:
    n = args.sbc_fits
    chunk_size = int(args.sbc_chunk_size) if args.sbc_chunk_size.isdigit() else args.sbc_chunk_size
    say(
        lines,
        f"== batch: an SBC of {n} fits (calibration.sbc) on a Dask LocalCluster, "
        f"chunk_size={chunk_size!r}"
        + (", each worker pinned to one core" if args.pin_workers else "")
        + " ==",
    )
    if importlib.util.find_spec("distributed") is None:
        say(lines, "not measured: dask[distributed] is absent (pip install -e '.[cluster]')")
        return
    from bayeslaws.posterior.calibration import sbc, sbc_items

    options = sbc_batch_options(n)
    walls = {1: [], 2: []}
    pool_walls = {1: [], 2: []}
    ceilings = []
    for repeat in range(args.repeats):  # interleaved: 1, 2, 1, 2, ... workers (medians)
        ceilings.append(two_process_ceiling())
        say(
            lines,
            f"  repeat {repeat}, the machine's ceiling: two CPU-bound single-threaded processes "
            f"{ceilings[-1]:.2f}x one; {load()}",
        )
        for workers in (1, 2):
            with dask_cluster(workers) as client:
                # start-up outside the timing: each worker imports bayeslaws and compiles
                # once (from the shared persistent cache after the first), and this process
                # loads the prior draw of this many simulations
                if args.pin_workers:
                    pin_one_core_each(client)
                sbc("chinchilla", "gaussian", **{**options, "n_sims": workers}, executor=client)
                warm_every_worker(client, options)
                sbc_items("chinchilla", "gaussian", **options)
                pids = list(client.run(os.getpid).values())
                cpu_before = cpu_seconds(pids)
                started = time.perf_counter()
                ranks, pvalues = sbc(
                    "chinchilla", "gaussian", **options, executor=client, chunk_size=chunk_size
                )
                walls[workers].append(time.perf_counter() - started)
                cores_used = (cpu_seconds(pids) - cpu_before) / walls[workers][-1]
            say(
                lines,
                f"  repeat {repeat}, {workers} worker(s) (warmed first): "
                f"{walls[workers][-1]:.1f} s wall for {n} fits, the workers' CPU seconds per "
                f"wall second {cores_used:.2f}; {load()}",
            )
        if args.batch_pool:
            for workers in (1, 2):
                pool_walls[workers].append(pool_batch(workers, options, chunk_size))
                say(
                    lines,
                    f"  repeat {repeat}, {workers} local process(es), no Dask (warmed first): "
                    f"{pool_walls[workers][-1]:.1f} s wall for {n} fits; {load()}",
                )
    walls = {k: float(np.median(v)) for k, v in walls.items()}
    if args.batch_pool:
        pool = {k: float(np.median(v)) for k, v in pool_walls.items()}
        say(
            lines,
            f"  the same fits through a concurrent.futures process pool (no Dask): "
            f"{pool[1] / pool[2]:.2f}x (medians of {args.repeats}: {pool[1]:.1f} s / "
            f"{pool[2]:.1f} s)",
        )
    say(
        lines,
        f"  speed-up with 2 workers: {walls[1] / walls[2]:.2f}x (medians of {args.repeats}: "
        f"{walls[1]:.1f} s / {walls[2]:.1f} s; target >= 1.7x); SBC of "
        f"{n} SIMULATED tables (prior draws, 5 x 5 grid, 1 chain x 200 + 200): mean rank of "
        f"alpha, beta out of 200: {ranks[['alpha', 'beta']].mean().round(1).tolist()} "
        f"(uniform: 100), uniformity p-values "
        f"{ {k: round(v, 3) for k, v in pvalues.items()} }, divergences "
        f"{int(ranks['divergences'].sum())}",
    )
    say(
        lines,
        f"  the machine's ceiling in the same repeats: {np.median(ceilings):.2f}x (median; runs "
        f"{', '.join(f'{c:.2f}' for c in ceilings)}): the same pure-Python loop split over two "
        "processes against one process doing both halves (no JAX, no Dask, nothing shared)",
    )
    say(
        lines,
        "  on a cluster the same call: sbc(..., executor=Client('tcp://scheduler:8786')), or "
        "bl.fit_many(tasks, Client('tcp://scheduler:8786'))",
    )


# ---- GPU ----
def section_gpu(lines, args) -> None:
    say(lines, "== gpu: the Epoch fit with vectorised chains on an accelerator ==")
    backend = jax.default_backend()
    if backend == "cpu":
        say(
            lines,
            f"  no GPU present (JAX backend 'cpu', devices {jax.devices()}): ESS/s on GPU not "
            "measured; the sampler section is the CPU figure",
        )
        return
    runs = bundled.epoch_chinchilla()
    bayeslaws_run(runs, seed=100)
    out = bayeslaws_run(runs, seed=0)
    say(
        lines,
        f"  {backend} ({jax.devices()[0].device_kind}), chain method "
        f"{out['fit'].record.sampler.chain_method}: min-ESS/s {out['ess'] / out['seconds']:.1f}",
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument(
        "--repeats", type=int, default=2, help="timed repeats (sampler, cache, batch sections)"
    )
    parser.add_argument("--sbc-fits", type=int, default=40)
    parser.add_argument(
        "--sbc-chunk-size",
        default="auto",
        help="batch section: SBC fits per submission (sbc's default 'auto', or an integer)",
    )
    parser.add_argument(
        "--pin-workers",
        action="store_true",
        help="batch section: pin each Dask worker and all its threads to one core (Linux)",
    )
    parser.add_argument(
        "--batch-pool",
        action="store_true",
        help="batch section: also time the same fits through a local process pool (no Dask)",
    )
    parser.add_argument("--out", default=str(HERE / "output" / "speed.txt"))
    args = parser.parse_args(argv)
    lines: list = []
    versions = f"JAX {jax.__version__}, NumPyro {numpyro.__version__}"
    say(lines, header("benchmarks/speed.py", argv, [*machine(), versions]))
    for name in args.only:
        started = time.perf_counter()
        globals()[f"section_{name}"](lines, args)
        say(lines, f"  ({name}: {time.perf_counter() - started:.0f} s)")
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text("\n".join(lines) + "\n")  # after each section
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
