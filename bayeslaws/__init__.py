"""bayeslaws: neural scaling laws as Bayesian models (NumPyro + NUTS through JAX).

Quick start::

    import bayeslaws as bl
    runs = bl.load_runs("runs.csv", N="Model Size", C="Training FLOP", loss="loss")
    fit = bl.fit(runs, law="chinchilla", seed=0)
    fit.summary()
    bl.predict(fit, N=[7e9, 70e9], D=[1.4e12, 1.4e12], ci=0.9)

The package is layered; each layer imports only the ones above it in this list (a test checks
it), and this module re-exports the public names:

1. :mod:`bayeslaws.runs` -- run tables and units, compute models, bundled data, simulators,
   published constants;
2. :mod:`bayeslaws.laws` -- one module per law, all implementing one contract
   (:class:`bayeslaws.laws.contract.Law`);
3. :mod:`bayeslaws.inference` -- NUTS fits, the typed fit record, save / load;
4. :mod:`bayeslaws.posterior` -- predictions, allocation, model discrepancy, calibration;
5. :mod:`bayeslaws.design` -- choosing the next runs;
6. :mod:`bayeslaws.plot` -- figures;
7. :mod:`bayeslaws.app` -- the command line, the demo, the reproductions, simulated campaigns.
"""

from __future__ import annotations

import os

__version__ = "0.2.0"

# Parallel chains on CPU need several host devices, which must be requested before JAX
# initialises its backend. Respect a user's own XLA_FLAGS setting.
if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    import numpyro as _numpyro

    _numpyro.set_host_device_count(4)

from . import design, inference, laws, plot, posterior, runs  # noqa: E402
from .app import demo  # noqa: E402
from .inference import Fit, compare, fit, load_fit  # noqa: E402
from .laws import Law, register  # noqa: E402
from .posterior import (  # noqa: E402
    allocation_laws,
    loss_penalty,
    near_optimal,
    optimal_allocation,
    predict,
)
from .runs import RunTable, RunTableError, compute, load_runs  # noqa: E402
from .runs.bundled import load_bundled  # noqa: E402

__all__ = [
    "Fit",
    "Law",
    "RunTable",
    "RunTableError",
    "allocation_laws",
    "compare",
    "compute",
    "demo",
    "design",
    "fit",
    "inference",
    "laws",
    "load_bundled",
    "load_fit",
    "load_runs",
    "loss_penalty",
    "near_optimal",
    "optimal_allocation",
    "plot",
    "posterior",
    "predict",
    "register",
    "runs",
]
