"""Compute-optimal allocation from a posterior: N_opt(C), D_opt(C), L_opt(C) per draw.

For a loss surface L(N, D) and a compute model ``C = flops_per_token(N) * D``, the
compute-optimal size at budget C minimises L(N, D(N, C)) along the isoFLOP line. Every
posterior draw gives one optimum, so the optimum has a posterior too. The law computes it
(:meth:`~bayeslaws.laws.contract.Law.allocation`): in closed form where it has one (Chinchilla
under C = k N D), else by a vectorised numerical search along the isoFLOP lines
(:mod:`bayeslaws.laws.optimum`); the isoFLOP law gives each budget's vertex (a fitted
budget its own, a new budget the trend k C^a plus the budget-to-budget scatter).

Units: N in parameters, D in tokens, C in FLOPs, L in the fit's loss units.

Modules, each one concern (each imports only those above it):

- :mod:`.categories`: the warning classes (SearchEdgeWarning, UnbracketedVertexWarning;
  ExtrapolationWarning and ``WARN_DECADES`` are :mod:`bayeslaws.posterior.outside`'s, shared
  with the predictions);
- :mod:`.checks`: input checks (budgets, candidate sizes, the compute model in use);
- :mod:`.distance`: distance from the fitted range (the ``*_outside_decades`` columns, the
  ExtrapolationWarning's message for answers beyond ``WARN_DECADES``);
- :mod:`.edges`: the isoFLOP search range behind each draw, draws at its edge or floor, and
  the refusal of budgets surely not in FLOPs;
- :mod:`.kinks`: draws held at a kink of the drift;
- :mod:`.unbracketed`: fitted budgets whose runs do not bracket their vertex;
- :mod:`.far`: draws far outside the data (column ``far_outside``);
- :mod:`.nominal`: nominal budgets (NominalComputeWarning);
- :mod:`.optimum_draws`: the posterior draws of the allocation (:func:`allocation_draws`)
  and of the law's floor;
- :mod:`.tables`: :func:`optimal_allocation` and :func:`allocation_laws`;
- :mod:`.band`: the near-optimal band (:func:`near_optimal`, :class:`NearOptimal`).

Importable from here: the names callers use (the rest from their modules).
"""

from ..outside import WARN_DECADES, ExtrapolationWarning, range_stated
from ..predict import NominalComputeWarning, nominal_flops_ratio
from .band import (
    NearOptimal,
    band_edge_message,
    near_optimal,
)
from .categories import SearchEdgeWarning, UnbracketedVertexWarning
from .distance import (
    beyond,
    interval_note,
    outside_columns,
    range_message,
)
from .edges import (
    edge_message,
    floor_pinned,
    refuse_below_one,
    searched_range,
    warn_at_edge,
)
from .far import FAR_SHARE, far_draws
from .kinks import (
    drift_kink_share,
    kink_message,
    kink_warning,
    warn_at_kink,
)
from .optimum_draws import allocation_draws
from .tables import allocation_laws, optimal_allocation
from .unbracketed import UNBRACKETED_SHARE

__all__ = [
    "FAR_SHARE",
    "UNBRACKETED_SHARE",
    "WARN_DECADES",
    "ExtrapolationWarning",
    "NearOptimal",
    "NominalComputeWarning",
    "SearchEdgeWarning",
    "UnbracketedVertexWarning",
    "allocation_draws",
    "allocation_laws",
    "band_edge_message",
    "beyond",
    "drift_kink_share",
    "edge_message",
    "far_draws",
    "floor_pinned",
    "interval_note",
    "kink_message",
    "kink_warning",
    "near_optimal",
    "nominal_flops_ratio",
    "optimal_allocation",
    "outside_columns",
    "range_message",
    "range_stated",
    "refuse_below_one",
    "searched_range",
    "warn_at_edge",
    "warn_at_kink",
]
