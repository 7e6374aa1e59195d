"""Layer 3, inference: NUTS fits of any law through its contract, the typed fit record, saving
and loading, sampler diagnostics and model comparison."""

from .diagnostics import Diagnostics, SamplerWarning
from .fit import Fit, FitCache, load_fit
from .nuts import choose_chain_method, compare, fit
from .record import FORMAT_VERSION, FitRecord, IncompatibleFitFile, SamplerRecord

__all__ = [
    "FORMAT_VERSION",
    "Diagnostics",
    "Fit",
    "FitCache",
    "FitRecord",
    "IncompatibleFitFile",
    "SamplerRecord",
    "SamplerWarning",
    "choose_chain_method",
    "compare",
    "fit",
    "load_fit",
]
