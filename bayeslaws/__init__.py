"""bayeslaws: neural scaling laws as Bayesian models (NumPyro + NUTS through JAX).

Quick start::

    import bayeslaws as bl
    runs = bl.load_runs("runs.csv", N="Model Size", C="Training FLOP", loss="loss")
    fit = bl.fit(runs, law="chinchilla", likelihood="huber", seed=0)
    fit.summary()
    bl.predict(fit, N=[7e9, 70e9], D=[1.4e12, 1.4e12], ci=0.9)
"""

from __future__ import annotations

import os

__version__ = "0.1.0"

# Parallel chains on CPU need several host devices, which must be requested before JAX
# initialises its backend. Respect a user's own XLA_FLAGS setting.
if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    import numpyro as _numpyro

    _numpyro.set_host_device_count(4)

from . import compute, demo, design, plot  # noqa: E402
from .allocation import near_optimal, optimal_allocation  # noqa: E402
from .datasets import load_bundled  # noqa: E402
from .inference import compare, fit  # noqa: E402
from .laws.hyperparams import loss_penalty  # noqa: E402
from .predict import predict  # noqa: E402
from .results import Fit, load_fit  # noqa: E402
from .runs import RunTable, RunTableError, load_runs  # noqa: E402

__all__ = [
    "Fit",
    "RunTable",
    "RunTableError",
    "compare",
    "compute",
    "demo",
    "design",
    "fit",
    "load_bundled",
    "load_fit",
    "load_runs",
    "near_optimal",
    "optimal_allocation",
    "loss_penalty",
    "plot",
    "predict",
]
