"""Layer 1, data: run tables and units, compute models, bundled and shared tables, simulators
and published constants. Imports nothing else from bayeslaws."""

from . import bundled, cells, compute, published, simulate
from .cells import best_in_cell, best_run_per_cell
from .columns import CANONICAL
from .messages import PlausibilityWarning, RunTableError
from .table import (
    Exclusion,
    RunTable,
    as_run_table,
    complete_compute,
    decades_outside,
    load_runs,
)

__all__ = [
    "CANONICAL",
    "Exclusion",
    "PlausibilityWarning",
    "RunTable",
    "RunTableError",
    "as_run_table",
    "best_in_cell",
    "best_run_per_cell",
    "bundled",
    "cells",
    "complete_compute",
    "compute",
    "decades_outside",
    "load_runs",
    "published",
    "simulate",
]
