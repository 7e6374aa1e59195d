"""bl.fit turns on JAX's persistent compilation cache (NumPyro rebuilds its kernel at every run,
so without it a repeated fit in one process compiles again), and the environment can move or
disable it."""

import os
import subprocess
import sys
import textwrap

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
