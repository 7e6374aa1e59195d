"""Nominal budgets: the :class:`~bayeslaws.posterior.predict.NominalComputeWarning` for a fit
whose runs' C is not the compute model's FLOPs of their N and D, so D_opt is the compute
model's C / flops_per_token(N_opt), not the tokens such a run trains on
(:func:`nominal_message`, :func:`warn_nominal`)."""

from __future__ import annotations

import warnings

from ...runs.warn import user_stacklevel
from ..predict import NominalComputeWarning, nominal_flops_ratio

# NOMINAL_RTOL, nominal_flops_ratio and NominalComputeWarning live in ..predict (predict warns on
# nominal budgets too, and imports nothing from here)


def nominal_message(fit, compute_model, caller: str = "optimal_allocation") -> str:
    """The sentence for a fit whose budgets are nominal (:func:`nominal_flops_ratio`): D_opt is
    the compute model's C / flops_per_token(N_opt), not the runs' tokens; '' otherwise."""
    ratio = nominal_flops_ratio(fit, compute_model)
    if ratio is None:
        return ""
    name = getattr(compute_model, "name", None) or "the compute model"
    prefix = f"{caller}: " if caller else ""
    return (
        f"{prefix}the fit's budgets are nominal: its runs' C is {ratio[0]:.3g}-{ratio[1]:.3g} x "
        f"the compute model's FLOPs of their N and D ({name}), so D_opt (and tokens_per_param, "
        f"a near-optimal band's D) is C / flops_per_token(N_opt) under {name}, not the tokens "
        f"a run at that nominal budget trains on (the fitted runs trained on {1 / ratio[1]:.3g}-"
        f"{1 / ratio[0]:.3g} x C / flops_per_token(N) tokens); N_opt and L_opt are the fitted "
        "law's at the nominal budget"
    )


def warn_nominal(fit, compute_model, caller: str) -> None:
    """A :class:`NominalComputeWarning` (:func:`nominal_message`) when the fit's budgets are
    nominal under ``compute_model``."""
    message = nominal_message(fit, compute_model, caller)
    if message:
        warnings.warn(message, NominalComputeWarning, stacklevel=user_stacklevel())
