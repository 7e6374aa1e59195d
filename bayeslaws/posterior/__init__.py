"""Layer 4, the posterior: predictions, compute-optimal allocation, the model discrepancy that
widens extrapolation (:mod:`.extrapolation`) and the calibration harness, all from a fit through
its law's contract."""

from .allocation import (
    ExtrapolationWarning,
    NominalComputeWarning,
    SearchEdgeWarning,
    UnbracketedVertexWarning,
    allocation_draws,
    allocation_laws,
    near_optimal,
    optimal_allocation,
)
from .draws import log_loss_draws, quantity_draws, query_frame
from .fixed_hyperparams import fixed_vs_optimal
from .outside import range_stated
from .predict import loss_penalty, predict

__all__ = [
    "ExtrapolationWarning",
    "NominalComputeWarning",
    "SearchEdgeWarning",
    "UnbracketedVertexWarning",
    "allocation_draws",
    "allocation_laws",
    "fixed_vs_optimal",
    "log_loss_draws",
    "loss_penalty",
    "near_optimal",
    "optimal_allocation",
    "predict",
    "quantity_draws",
    "query_frame",
    "range_stated",
]
