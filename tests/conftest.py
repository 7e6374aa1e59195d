"""Shared fixtures: small, fast fits; the third-party tables skip cleanly when absent."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.runs import bundled, simulate

REPO = __import__("pathlib").Path(__file__).resolve().parents[1]


def pytest_configure(config):
    """In pytest-xdist's controller (not in its workers), import the numerical layers first:
    the controller imports a reported warning's module (e.g. a calibration warning's) when it
    unserializes it, from its receiving threads, and two such first imports at once can race
    inside JAX's own imports (an INTERNALERROR)."""
    if not hasattr(config, "workerinput"):
        import bayeslaws.design  # noqa: F401  (imports inference and posterior, JAX, NumPyro)


def repo_script(path: str, module_name: str):
    """The repository's script ``path`` (e.g. "paper_repro/yin.py"; scripts are not part of the
    package) imported as module ``module_name``, registered in ``sys.modules`` (its dataclasses
    look their module up there)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(module_name, REPO / path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def paper_repro_script(name: str):
    """paper_repro/<name>.py imported (afresh) as module ``paper_repro_<name>``
    (:func:`repo_script`; the scripts are not part of the package)."""
    return repo_script(f"paper_repro/{name}.py", f"paper_repro_{name}")


@pytest.fixture(scope="session", autouse=True)
def _own_compilation_cache():
    """The test processes (and the processes they start) keep their compiled kernels and
    traced programs in ``<cache>/bayeslaws/tests``, kept between runs: not the user's cache,
    which the suite filled and pruned. The two xdist workers share it, as a user's batch
    workers share theirs (bl.fit_many): one folder per worker compiled a module's kernels again
    whenever the other worker had run it last time (a warm run took twice as long)."""
    import os
    from pathlib import Path

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BAYESLAWS_COMPILATION_CACHE", str(base / "bayeslaws" / "tests"))
        yield


@pytest.fixture(autouse=True)
def _messages_printed(monkeypatch):
    """Progress messages are printed (tests read them) whatever the caller's BAYESLAWS_QUIET."""
    monkeypatch.delenv("BAYESLAWS_QUIET", raising=False)


FAST = {"chains": 2, "warmup": 300, "draws": 300}
TRUTH = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}


@pytest.fixture(scope="session")
def epoch_runs():
    try:
        return bundled.epoch_chinchilla()
    except bundled.SharedDataMissing as err:
        pytest.skip(f"../shared/data is absent: {err}")


def chinchilla_design(n_sizes: int = 6, n_tokens: int = 5):
    """A small grid of (N, D): 60M-6B params x 1B-100B tokens."""
    N, D = np.meshgrid(np.geomspace(6e7, 6e9, n_sizes), np.geomspace(1e9, 1e11, n_tokens))
    return N.ravel(), D.ravel()


def porian_stand_in(folder, sizes=(1e7, 3e7, 1e7, 3e7)) -> None:
    """A tiny stand-in for ../shared/data/porian_isoflop/isoflop_points.csv in ``folder``
    (created): four runs, two per dataset ('rw', 'owt2'), of ``sizes`` params at 2e9 tokens."""
    import pandas as pd

    folder.mkdir(parents=True)
    N = np.asarray(sizes, float)
    pd.DataFrame(
        {
            "source_file": "summary_df",
            "dataset": ["rw", "rw", "owt2", "owt2"],
            "hparams": "tuned",
            "param_count": "standard",
            "flops": 6 * N * 2e9,
            "n_params": N,
            "loss": [3.5, 3.2, 3.4, 3.1],
        }
    ).to_csv(folder / "isoflop_points.csv", index=False)


def quiet(call, *args, **kwargs):
    """``call(*args, **kwargs)`` with every warning ignored (for tests whose subject is not a
    warning: tiny fits and far queries warn)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(*args, **kwargs)


def shared_or_skip():
    """The bundled-data module, or a skip naming why when ../shared/data is absent."""
    try:
        bundled.shared_data_dir()
    except bundled.SharedDataMissing as err:
        pytest.skip(f"../shared/data is absent: {err}")
    return bundled


def small_sweep_grid(truth=None):
    """A SIMULATED 3 x 3 LR x batch sweep at four (N, D) cells (17M and 130M params x 2B and 8B
    tokens) of the video-DiT simulator (``truth``: its default when None)."""
    return simulate.simulate_grid(
        simulate.VideoDiTTruth() if truth is None else truth,
        N=[0.017e9, 0.017e9, 0.13e9, 0.13e9],
        D=[2e9, 8e9, 2e9, 8e9],
        lr_values=[1e-4, 1.9e-4, 3.6e-4],
        batch_values=[5e4, 1e5, 2e5],
        seed=0,
    )


@pytest.fixture(scope="session")
def small_sweep():
    """The SIMULATED video-DiT sweep at 3 sizes (17M, 57M, 260M params) x 3 token counts (2B,
    5B, 12B), seed 1."""
    sizes, tokens = (0.017e9, 0.057e9, 0.26e9), (2e9, 5e9, 12e9)
    return bl.load_runs(simulate.simulate_video_dit_sweep(seed=1, sizes=sizes, tokens=tokens))


@pytest.fixture(scope="session")
def small_sweep_hp_fit(small_sweep):
    """Law 'hyperparams' on ``small_sweep`` (tiny: 1 chain x 150 + 100), shared by the review
    tests of the hyperparameter user flow and of predictions at a setting."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(
            small_sweep, law="hyperparams", likelihood="gaussian", seed=0, chains=1, warmup=150,
            draws=100,
        )  # fmt: skip


@pytest.fixture(scope="session")
def small_sweep_sweep_fit(small_sweep):
    """Law 'sweep' (the joint model) on ``small_sweep`` (tiny: 1 chain x 150 + 150), shared as
    ``small_sweep_hp_fit`` is."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(small_sweep, law="sweep", seed=0, chains=1, warmup=150, draws=150)


def with_problems(fit, problems=()):
    """A shallow copy of ``fit`` whose sampler diagnostics report ``problems`` (default none:
    the fit with its problems cleared, standing for a healthy one); the same draws and record,
    and ``fit`` itself unchanged."""
    import copy
    import dataclasses

    out = copy.copy(fit)
    out.diagnostics = dataclasses.replace(fit.diagnostics, problems=list(problems))
    return out


@pytest.fixture(scope="session")
def simulated_runs():
    N, D = chinchilla_design()
    df = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=1)
    return bl.load_runs(df)


@pytest.fixture(scope="session")
def simulated_fit(simulated_runs):
    # target_accept 0.9 (NumPyro's default 0.8 is bayeslaws' too): at 2 x 300 draws of 30 runs
    # one divergence in 600 appeared on some CPUs (the floating point of XLA's kernels differs
    # between machines), and the tests below check that a healthy fit reports no trouble
    return bl.fit(simulated_runs, likelihood="gaussian", seed=0, target_accept=0.9, **FAST)


@pytest.fixture
def kernels_kept(monkeypatch):
    """No release of compiled kernels during the test, however many memory regions the test
    process has mapped (bayeslaws.inference.memory): for tests that count cached kernels."""
    from bayeslaws.inference import memory

    monkeypatch.setattr(memory, "map_limit", lambda: None)


@pytest.fixture(scope="session")
def grouped_fit():
    """Each cell's best run of the bundled (SIMULATED) sweep as two groups: A as is, B with 8%
    higher loss (tiny: one chain); shared by the design and report tests."""
    import warnings

    import pandas as pd

    from bayeslaws.runs import best_run_per_cell

    r = best_run_per_cell(bl.load_bundled()).df.drop(columns=["source"])
    both = pd.concat([r.assign(group="A"), r.assign(group="B", loss=r["loss"] * 1.08)])
    runs = bl.load_runs(both.reset_index(drop=True), group="group")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(
            runs, law="chinchilla", likelihood="gaussian", chains=1, warmup=100, draws=100, seed=0
        )


def two_group_fit(first, second):
    """Each cell's best run of the bundled (SIMULATED) sweep as two groups labelled ``first``
    and ``second`` as given (e.g. the integers 1 and 2, which the fit stores as "1" and "2"),
    the second's loss 8% higher. Tiny: one chain (for module fixtures of group-label tests)."""
    import pandas as pd

    from bayeslaws.runs import best_run_per_cell

    r = best_run_per_cell(bl.load_bundled()).df.drop(columns=["source"])
    both = pd.concat([r.assign(group=first), r.assign(group=second, loss=r["loss"] * 1.08)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(
            bl.load_runs(both.reset_index(drop=True)), law="chinchilla",
            likelihood="gaussian", chains=1, warmup=100, draws=100, seed=0,
        )  # fmt: skip


@pytest.fixture(scope="session")
def grouped_fit_file(grouped_fit, tmp_path_factory):
    """``grouped_fit`` (law chinchilla, groups A and B) saved, once per session: tests read it
    and must not write to it."""
    path = tmp_path_factory.mktemp("review3") / "grouped.nc"
    grouped_fit.save(path)
    return path


# Two groups far apart in scale (SIMULATED Chinchilla runs, 12 each): 'small' N 5e7..3e8
# params, D 1e9..1e10 tokens (C = 6ND 3e17..1.8e19 FLOPs); 'large' N 1e9..1e10, D 2e10..2e11.
# The pooled range is N 5e7..1e10, D 1e9..2e11, C 3e17..1.2e22: for tests of a group's own range.
TWO_SCALES = {
    "small": (
        {"E": 1.9, "A": 480.0, "B": 2100.0, "alpha": 0.30, "beta": 0.37},
        (5e7, 3e8),
        (1e9, 1e10),
    ),
    "large": (
        {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37},
        (1e9, 1e10),
        (2e10, 2e11),
    ),
}


def two_scales_runs(name: str, group=None):
    """Group ``name``'s SIMULATED runs (4 sizes x 3 token counts; noise sd 0.01), with a group
    column ``group`` unless None."""
    import numpy as np

    from bayeslaws.runs import simulate

    truth, (n_lo, n_hi), (d_lo, d_hi) = TWO_SCALES[name]
    N, D = np.meshgrid(np.geomspace(n_lo, n_hi, 4), np.geomspace(d_lo, d_hi, 3))
    seed = list(TWO_SCALES).index(name) + 1
    sim = {**truth, "N": N.ravel(), "D": D.ravel()}
    df = simulate.simulate_chinchilla_runs(sim, noise_sd=0.01, seed=seed)
    return df if group is None else df.assign(group=group)


@pytest.fixture(scope="session")
def two_scales_fits():
    """(fit of groups 'small' and 'large', fit of 'small''s runs alone without a group column):
    tiny, 1 chain x 150 + 150. Use :func:`own_cache` copies: tests may fill a fit's cache."""
    import warnings

    import pandas as pd

    tables = [
        pd.concat([two_scales_runs("small", "small"), two_scales_runs("large", "large")]),
        two_scales_runs("small"),
    ]
    fit = {"likelihood": "gaussian", "seed": 0, "chains": 1, "warmup": 150, "draws": 150}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tuple(bl.fit(bl.load_runs(t.reset_index(drop=True)), **fit) for t in tables)


def own_cache(fit, cache=None):
    """``fit`` sharing its draws and record, with its own cache ``cache`` (default empty)."""
    return bl.Fit(fit.idata, fit.record, compute_model=fit.compute_model, cache=cache or {})


@pytest.fixture(scope="module")
def two_scales_grouped(two_scales_fits):
    """Groups 'small' and 'large' (:data:`TWO_SCALES`), with a cache of this module's own."""
    return own_cache(two_scales_fits[0])


@pytest.fixture(scope="module")
def two_scales_small(two_scales_fits):
    """Group 'small''s runs alone, without a group column, with a cache of this module's own."""
    return own_cache(two_scales_fits[1])


@pytest.fixture(scope="session")
def two_scales_grouped_file(two_scales_fits, tmp_path_factory):
    """The fit of groups 'small' and 'large' (:data:`TWO_SCALES`), with an empty cache, saved
    once per session: tests read it and must not write to it."""
    path = tmp_path_factory.mktemp("review4") / "two_scales.nc"
    own_cache(two_scales_fits[0]).save(path)
    return path


@pytest.fixture(scope="session")
def two_scales_files(two_scales_fits, tmp_path_factory):
    """The two-scales fits saved (a grouped one, groups 'small' and 'large'; one without
    groups) and the ungrouped fit's run table as CSV, once per session: tests must not change
    these files (new files in "dir" are the tests' own)."""
    d = tmp_path_factory.mktemp("review5")
    grouped, plain = two_scales_fits
    runs = d / "runs.csv"
    two_scales_runs("small").to_csv(runs, index=False)
    return {
        "dir": d,
        "grouped": grouped.save(d / "grouped.nc"),
        "plain": plain.save(d / "plain.nc"),
        "plain_fit": plain,
        "runs": runs,
    }


def cli_error_line(err: str) -> str:
    """The one line the command line printed to stderr for an error ("bayeslaws ..."); the
    note a slow start prints ("bayeslaws: loading JAX, ...", on a busy machine) is not one."""
    lines = [
        line
        for line in err.strip().splitlines()
        if line.startswith("bayeslaws") and not line.startswith("bayeslaws: loading ")
    ]
    assert len(lines) == 1, err
    return lines[0]


def cli_run(argv: list, capsys) -> tuple[int, str, str]:
    """``bayeslaws argv`` in-process (warnings silenced): exit code, stdout, stderr."""
    import warnings

    from bayeslaws.app.cli import main

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err



def flat_text(text: str) -> str:
    """``text`` with its whitespace runs (line breaks of the report's wrapping) as one space."""
    return " ".join(text.split())


def report_section(text: str, title: str) -> str:
    """The section ``== title`` of a text report, flattened (:func:`flat_text`)."""
    start = text.index(f"== {title}")
    end = text.find("\n== ", start + 1)
    return flat_text(text[start : end if end > 0 else len(text)])


def tiny_loss_pool():
    """A small SIMULATED replay loss pool (bayeslaws.app.replay.Pool; N params, D tokens, C =
    6ND FLOPs, loss; rows r0..r8; start: 3 runs), for replay and batch tests without real data."""
    import pandas as pd

    from bayeslaws import design
    from bayeslaws.app import replay

    N = np.repeat([1e8, 2e8, 4e8], 3)
    D = 20 * N * np.tile([0.5, 1.0, 2.0], 3)
    runs = pd.DataFrame({"N": N, "D": D, "C": 6 * N * D, "loss": 2 + 400 / N**0.3})
    runs.index = [f"r{i}" for i in range(len(runs))]
    return replay.Pool(
        name="tiny (SIMULATED)", kind="loss", runs=runs, held_out=runs.iloc[:0],
        law="chinchilla", targets=[design.Loss(N=1e10, D=2e11)], start_size=3, simulated=True,
        truth=pd.DataFrame({"label": ["x"], "truth": [1.0]}),
    )  # fmt: skip


# ---- command-line test files: fits saved once per module, small run tables ---------------------
@pytest.fixture(scope="module")
def hp_fit_file(small_sweep_hp_fit, tmp_path_factory):
    """``small_sweep_hp_fit`` (law 'hyperparams', loss_level 'free') saved, and one of its
    fitted cells: {"fit": path, "N": ..., "D": ...}."""
    path = tmp_path_factory.mktemp("review2") / "hp.nc"
    small_sweep_hp_fit.save(path)
    N, D = small_sweep_hp_fit.training_runs().df[["N", "D"]].iloc[0]
    return {"fit": path, "N": float(N), "D": float(D)}


@pytest.fixture(scope="module")
def sweep_fit_file(small_sweep_sweep_fit, tmp_path_factory):
    """``small_sweep_sweep_fit`` (law 'sweep', the small SIMULATED sweep) saved, once per module."""
    path = tmp_path_factory.mktemp("review9") / "sweep_fit.nc"
    small_sweep_sweep_fit.save(path)
    return path


@pytest.fixture(scope="module")
def simulated_fit_file(simulated_fit, tmp_path_factory):
    """``simulated_fit`` (law chinchilla on SIMULATED runs) saved, once per module."""
    path = tmp_path_factory.mktemp("review9_sim") / "sim.nc"
    simulated_fit.save(path)
    return path


@pytest.fixture
def simulated_runs_csv(simulated_runs, tmp_path):
    """The SIMULATED Chinchilla runs (30) as a CSV with canonical columns."""
    path = tmp_path / "runs.csv"
    simulated_runs.df[["N", "D", "loss"]].to_csv(path, index=False)
    return path


@pytest.fixture
def missing_loss_csv(tmp_path):
    """A Chinchilla-like table of 14 runs whose loss is missing in 12 (more than the 10 rows a
    message lists), as a CSV."""
    import pandas as pd

    N, D = np.meshgrid(np.geomspace(1e8, 1e9, 7), [2e9, 2e10])
    loss = 1.8 + 480 / N.ravel() ** 0.35 + 2100 / D.ravel() ** 0.37
    loss[2:] = np.nan
    path = tmp_path / "runs.csv"
    pd.DataFrame({"N": N.ravel(), "D": D.ravel(), "loss": loss}).to_csv(path, index=False)
    return path


def flagged_runs(column: str = "is_diverged"):
    """SIMULATED Chinchilla runs (12) with a flags column ``column``: row 3 flagged 'yes', row 7
    'TRUE', the others empty (not diverged)."""
    import pandas as pd

    df = two_scales_runs("small").drop(columns="source").reset_index(drop=True)
    flags = pd.Series([None] * len(df), dtype=object)
    flags[3], flags[7] = "yes", "TRUE"
    return df.assign(**{column: flags})


# ---- identifiability checks on SIMULATED Chinchilla tables --------------------------------------
IDENTIFIABILITY_TRUTH = {"E": 1.7, "A": 400.0, "B": 410.0, "alpha": 0.34, "beta": 0.28}
"""The Chinchilla truth of the identifiability tests' SIMULATED runs."""

IDENTIFIABILITY_SIZES = np.geomspace(5e7, 2e9, 6)[:, None]  # 40x
"""The identifiability tests' default sizes (params; a column, for a size x token grid)."""


def identifiability_runs_at(
    tokens, sizes=IDENTIFIABILITY_SIZES, truth=IDENTIFIABILITY_TRUTH, seed=0
):
    """SIMULATED Chinchilla runs at every size x token count (noise sd 0.01)."""
    design = {**truth, "N": sizes, "D": np.asarray(tokens, float)[None, :]}
    return simulate.simulate_chinchilla_runs(design, noise_sd=0.01, seed=seed)


def identifiability_problems(df, law="chinchilla") -> list[str]:
    """identifiability.check's problems and caveats for ``law`` on the table ``df``."""
    from bayeslaws.inference import identifiability

    law_obj = bl.laws.LAWS[law]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tables' own notes (plausibility, divergence)
        runs = df if isinstance(df, bl.RunTable) else bl.load_runs(df)
        prepared = law_obj.prepare(runs)
    found = identifiability.check(law_obj, prepared, law_obj.default_likelihood, warn=False)
    return found + identifiability.caveats(law_obj, prepared)


# ---- run-table tests: small SIMULATED tables ----------------------------------------------------
def noisy_chinchilla_grid():
    """SIMULATED: 20 runs, N 2e7 .. 1e9 parameters, D = 5 .. 40 N tokens (median D/N 15),
    loss from a Chinchilla-like law with 1% noise (fixed seed)."""
    import pandas as pd

    rng = np.random.default_rng(0)
    N = np.repeat([2e7, 5e7, 1e8, 3e8, 1e9], 4)
    D = N * np.tile([5.0, 10.0, 20.0, 40.0], 5)
    loss = 1.8 + 482 / N**0.348 + 2085 / D**0.366
    return pd.DataFrame({"N": N, "D": D, "loss": loss * np.exp(rng.normal(0, 0.01, N.size))})


def warning_messages(load) -> tuple[list[str], object]:
    """(the warning messages ``load()`` gives, its result)."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        out = load()
    return [str(w.message) for w in record], out


def noiseless_chinchilla_grid(n_sizes: int = 5, n_tokens: int = 3):
    """SIMULATED: N 1e8 .. 1e9 params x D 20 .. 80 tokens per param, loss from a
    Chinchilla-like law (no noise), canonical columns N, D, loss."""
    import pandas as pd

    N, ratio = np.meshgrid(np.geomspace(1e8, 1e9, n_sizes), [20.0, 40.0, 80.0][:n_tokens])
    N, D = N.ravel(), (N * ratio).ravel()
    loss = 1.8 + 400 / N**0.34 + 2000 / D**0.36
    return pd.DataFrame({"N": N, "D": D, "loss": loss})


def tokens_batch_frame():
    """6 plausible runs (N params, D = 20 N tokens: 2e9 .. 2e10) whose batch_size is already
    in tokens (2^20 .. 2^22: 0.5 .. 2k sequences of 2048 tokens)."""
    import pandas as pd

    N = np.geomspace(1e8, 1e9, 6)
    batch = np.array([2**20, 2**21, 2**22, 2**20, 2**21, 2**22], float)
    return pd.DataFrame(
        {"N": N, "D": 20 * N, "lr": 1e-3, "batch_size": batch, "loss": np.linspace(3, 2.5, 6)}
    )


# A 3 x 3 grid of SIMULATED Chinchilla runs (the tests of the simulators' source text).
SOURCE_GRID_TRUTH = {"E": 1.8, "A": 480.0, "B": 2000.0, "alpha": 0.35, "beta": 0.37}
"""The Chinchilla truth of the source-text tests' grid."""

SOURCE_GRID_N = np.repeat([1e8, 3e8, 1e9], 3)
"""The source-text tests' grid sizes (params)."""

SOURCE_GRID_D = np.tile([2e9, 6e9, 2e10], 3)
"""The source-text tests' grid token counts."""


# ---- small SIMULATED LR x batch sweeps: the sweep and hyperparams laws' cell checks --------------
CELL_SWEEP_SIZES = (0.017e9, 0.057e9, 0.13e9)  # params
CELL_SWEEP_TOKENS = (2e9, 5e9, 12e9)  # tokens


def small_cell_sweep(seed: int = 11):
    """SIMULATED: 3 sizes x 3 budgets, each cell a 3 x 3 LR x batch grid (9 runs)."""
    from bayeslaws.runs import simulate as sim

    return sim.simulate_video_dit_sweep(
        seed=seed, sizes=CELL_SWEEP_SIZES, tokens=CELL_SWEEP_TOKENS, truth=sim.VideoDiTTruth(),
        grid_points=(3, 3),
    )  # fmt: skip


def per_run(df, column: str, step: float = 4e-4):
    """``df`` with ``column`` (D or N) moved by ``step`` (relative) per batch size within its
    cell (-1.5, -0.5, +0.5 steps), as a D computed per run (batch x steps x sequence length)
    is: within 0.2% of the cell's value, never on it, further apart than CELL_RTOL."""
    df = df.copy()
    rank = df.groupby(["N", "D"])["batch_size"].rank(method="dense").to_numpy()
    df[column] = df[column] * (1 + step * (rank - 2.5))
    return df


def cell_rows(df, k: int = 0) -> np.ndarray:
    """Mask of the rows of ``df``'s k-th (N, D) cell (sorted by N, then D)."""
    n, d = sorted(df.groupby(["N", "D"]).groups)[k]
    return ((df["N"] == n) & (df["D"] == d)).to_numpy()


def prepared_told(law, runs):
    """``law.prepare(runs)`` and the texts of the PlausibilityWarnings it gave."""
    from bayeslaws.runs import PlausibilityWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prepared = law.prepare(runs)
    return prepared, [str(w.message) for w in caught if w.category is PlausibilityWarning]


def said(told: list, words: str) -> list:
    """The messages of ``told`` that hold ``words``."""
    return [m for m in told if words in m]
