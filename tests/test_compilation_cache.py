"""bl.fit turns on JAX's persistent compilation cache (NumPyro rebuilds its kernel at every run,
so without it a repeated fit in one process compiles again), and the environment can move or
disable it."""

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow  # process and compiler machinery: .ci/run's slow step

FIT_TWICE = textwrap.dedent(
    """
    import numpy as np, pandas as pd
    import bayeslaws as bl
    from bayeslaws.inference.compilation import compilation_cache_enabled

    N, D = np.meshgrid(np.logspace(7, 9, 4), np.logspace(9, 11, 4))
    N, D = N.ravel(), D.ravel()
    runs = pd.DataFrame({"N": N, "D": D, "loss": 1.8 + 400 * N**-0.34 + 400 * D**-0.28})
    for seed in (0, 1):
        bl.fit(runs, chains=1, warmup=30, draws=30, seed=seed, warn=False, screen="off")
    print(compilation_cache_enabled())
    """
)


def _fit_twice(setting: str) -> str:
    env = {**os.environ, "BAYESLAWS_COMPILATION_CACHE": setting, "BAYESLAWS_QUIET": "1"}
    done = subprocess.run(
        [sys.executable, "-c", FIT_TWICE], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_fit_writes_its_kernels_to_the_cache_folder(tmp_path):
    folder = tmp_path / "jax"
    assert _fit_twice(str(folder)) == str(folder)
    assert len(list(folder.iterdir())) > 5  # the NUTS programs, read back by the second fit


def test_the_environment_disables_the_cache(tmp_path):
    assert _fit_twice("off") == "None"


MOVE_THEN_OFF = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    import jax, jax.numpy as jnp
    from bayeslaws.inference.compilation import enable_compilation_cache

    a, b = Path(sys.argv[1]), Path(sys.argv[2])
    count = lambda folder: len([p for p in folder.rglob("*") if p.is_file()])
    enable_compilation_cache(a); jax.jit(jnp.sin)(1.0).block_until_ready()
    enable_compilation_cache(b); jax.jit(jnp.cos)(1.0).block_until_ready()
    moved = (count(a), count(b))
    os.environ["BAYESLAWS_COMPILATION_CACHE"] = "off"
    enable_compilation_cache(); jax.jit(jnp.tan)(1.0).block_until_ready()
    print(moved, (count(a), count(b)))
    """
)


def test_a_new_folder_or_off_in_a_running_process_moves_or_stops_jaxs_cache(tmp_path):
    """JAX opens its cache once: the second folder was recorded but never written to, and
    'off' left JAX writing to the first (the program after each switch went to folder a)."""
    a, b = tmp_path / "a", tmp_path / "b"
    env = {k: v for k, v in os.environ.items() if k != "BAYESLAWS_COMPILATION_CACHE"}
    done = subprocess.run(
        [sys.executable, "-c", MOVE_THEN_OFF, str(a), str(b)], env=env, capture_output=True,
        text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "(1, 1) (1, 1)"  # sin in a, cos in b, tan nowhere


def test_a_blank_setting_is_unset(monkeypatch, tmp_path):
    from bayeslaws.inference.compilation import cache_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("BAYESLAWS_COMPILATION_CACHE", "  ")
    assert cache_dir() == tmp_path / "bayeslaws" / "jax"  # not a folder named '  '


KEEP_NAMED = textwrap.dedent(
    """
    import sys
    import jax
    from bayeslaws.inference.batch import InProcessExecutor, map_tasks
    from bayeslaws.inference.compilation import compilation_cache_enabled, enable_compilation_cache

    enable_compilation_cache(sys.argv[1])
    map_tasks(abs, [-1], InProcessExecutor(), show_progress=False)  # a task enables the cache
    kept = enable_compilation_cache(), compilation_cache_enabled()
    print(*kept, jax.config.jax_compilation_cache_dir)
    """
)


def test_a_call_without_a_folder_keeps_the_one_named_before(tmp_path):
    """bl.fit and each batch task call enable_compilation_cache(): that used to move the cache
    from the caller's folder to the default one."""
    named = tmp_path / "named"
    env = {**os.environ, "BAYESLAWS_COMPILATION_CACHE": str(tmp_path / "default")}
    done = subprocess.run(
        [sys.executable, "-c", KEEP_NAMED, str(named)], env=env, capture_output=True, text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [str(named)] * 3
