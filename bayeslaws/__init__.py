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

import os as _os

__version__ = "0.2.1"

# Parallel chains on CPU need several host devices, which must be requested before JAX
# initialises its backend. Respect a user's own XLA_FLAGS setting. This is what
# numpyro.set_host_device_count(4) does, without importing NumPyro and JAX here: they take
# seconds to import, and the command line says so before it loads them.
if "xla_force_host_platform_device_count" not in _os.environ.get("XLA_FLAGS", ""):
    _os.environ["XLA_FLAGS"] = " ".join(
        ["--xla_force_host_platform_device_count=4"] + _os.environ.get("XLA_FLAGS", "").split()
    )

# The public names, loaded on first use (PEP 562): importing one layer, e.g. bayeslaws.runs,
# loads only that layer and the ones it imports.
_PUBLIC = {
    "Fit": ("bayeslaws.inference", "Fit"),
    "FitTask": ("bayeslaws.inference.batch", "FitTask"),
    "Law": ("bayeslaws.laws", "Law"),
    "RunTable": ("bayeslaws.runs", "RunTable"),
    "RunTableError": ("bayeslaws.runs", "RunTableError"),
    "allocation_laws": ("bayeslaws.posterior", "allocation_laws"),
    "compare": ("bayeslaws.inference", "compare"),
    "compute": ("bayeslaws.runs.compute", None),
    "demo": ("bayeslaws.app.demo", None),
    "design": ("bayeslaws.design", None),
    "fit": ("bayeslaws.inference", "fit"),
    "fit_many": ("bayeslaws.inference.batch", "fit_many"),
    "fixed_vs_optimal": ("bayeslaws.posterior", "fixed_vs_optimal"),
    "inference": ("bayeslaws.inference", None),
    "laws": ("bayeslaws.laws", None),
    "load_bundled": ("bayeslaws.runs.bundled", "load_bundled"),
    "load_fit": ("bayeslaws.inference", "load_fit"),
    "load_runs": ("bayeslaws.runs", "load_runs"),
    "loss_penalty": ("bayeslaws.posterior", "loss_penalty"),
    "near_optimal": ("bayeslaws.posterior", "near_optimal"),
    "optimal_allocation": ("bayeslaws.posterior", "optimal_allocation"),
    "plan": ("bayeslaws.app.plan", None),
    "plot": ("bayeslaws.plot", None),
    "posterior": ("bayeslaws.posterior", None),
    "predict": ("bayeslaws.posterior", "predict"),
    "register": ("bayeslaws.laws", "register"),
    "runs": ("bayeslaws.runs", None),
    "worker_env": ("bayeslaws.inference.batch", "worker_env"),
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'bayeslaws' has no attribute {name!r}")
    import importlib

    module_name, attr = _PUBLIC[name]
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted({n for n in globals() if not n.startswith("_")} - {"annotations"} | set(_PUBLIC))
