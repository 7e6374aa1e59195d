"""The laws bayeslaws can fit, one module per law family, looked up by name."""

from __future__ import annotations

from . import chinchilla, hyperparams, kaplan

LAWS = {
    chinchilla.LAW.name: chinchilla.LAW,
    kaplan.LAW.name: kaplan.LAW,
    hyperparams.LAW.name: hyperparams.LAW,
}


from . import isoflop  # noqa: E402  (isoFLOP laws: parabola and cubic)

LAWS.update({law.name: law for law in (isoflop.LAW, isoflop.LAW_CUBIC)})

from . import chinchilla_gamma  # noqa: E402  (Chinchilla with an interaction exponent)

LAWS[chinchilla_gamma.LAW.name] = chinchilla_gamma.LAW


def get_law(name: str):
    """The law registered under ``name`` (raises with the list of known laws)."""
    try:
        return LAWS[name]
    except KeyError:
        raise ValueError(f"unknown law {name!r}; known laws: {sorted(LAWS)}") from None
