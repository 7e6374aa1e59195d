"""ArviZ is imported while NUTS runs, not before (bayeslaws.inference.deferred): nothing on the
way to the sampler may import it, or a fresh process waits 1-2 s for it before sampling."""

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_fit_path_does_not_import_arviz_before_sampling():
    out = _run(
        """
        import sys
        from bayeslaws.app import cli
        from bayeslaws.inference import nuts  # noqa: F401  (what bl.fit runs)

        cli.build_parser()
        print("before", "arviz" in sys.modules, "scipy.stats" in sys.modules)
        """
    )
    assert out.split() == ["before", "False", "False"]


def test_prefetch_then_fit_gives_arviz_data():
    out = _run(
        """
        import sys
        import numpy as np
        import pandas as pd
        import bayeslaws as bl
        from bayeslaws.inference import deferred

        N, D = np.meshgrid(np.logspace(7, 9, 4), np.logspace(9, 11, 4))
        N, D = N.ravel(), D.ravel()
        loss = 1.8 + 400 * N**-0.34 + 400 * D**-0.28
        runs = pd.DataFrame({"N": N, "D": D, "loss": loss * np.exp(0.01 * np.sin(N))})
        fitted = bl.fit(runs, chains=1, warmup=50, draws=50, warn=False, screen="off")
        print(type(fitted.idata).__module__.split(".")[0], "arviz" in sys.modules,
              deferred._prefetching is not None and not deferred._prefetching.is_alive())
        """
    )
    assert out.split() == ["arviz", "True", "True"]
