"""Layer 3, inference: NUTS fits of any law through its contract, the typed fit record, saving
and loading, sampler diagnostics and model comparison; checks before sampling (identifiability)
and after it (outlier screening); progress messages for long steps."""

from .diagnostics import Diagnostics, SamplerWarning
from .fit import Fit, FitCache, load_fit
from .identifiability import IdentifiabilityWarning
from .nuts import choose_chain_method, compare, fit
from .record import FORMAT_VERSION, FitRecord, IncompatibleFitFile, SamplerRecord
from .screening import OutlierWarning, Screen, screen_fit
from .update import update_fit

__all__ = [
    "FORMAT_VERSION",
    "Diagnostics",
    "Fit",
    "FitCache",
    "FitRecord",
    "IdentifiabilityWarning",
    "IncompatibleFitFile",
    "OutlierWarning",
    "SamplerRecord",
    "Screen",
    "SamplerWarning",
    "choose_chain_method",
    "compare",
    "fit",
    "load_fit",
    "screen_fit",
    "update_fit",
]
