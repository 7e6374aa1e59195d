"""Layer 2, the laws: one module per law family, all implementing :class:`~.contract.Law`, and
one registry that looks them up by name.

``bl.fit`` accepts a registered name, a law object (your own subclass of ``Law``), or an import
path ``"package.module:ClassName"``; a saved fit records the law by :func:`law_ref` so that
:func:`resolve_law` rebuilds it when the fit is loaded.
"""

from __future__ import annotations

import importlib

from . import chinchilla, chinchilla_gamma, farseer, hyperparams, isoflop, kaplan, sweep
from .contract import Law, LawCapabilityError

LAWS: dict[str, Law] = {}


def register(law: Law) -> Law:
    """Add a law object to the registry under its ``name`` (returns it)."""
    if not isinstance(law, Law):
        raise TypeError(f"register() takes a Law object, got {type(law).__name__}")
    if not law.name:
        raise ValueError(f"{type(law).__name__} has no name: set the class attribute 'name'")
    LAWS[law.name] = law
    return law


for _law in (
    chinchilla.LAW,
    kaplan.LAW,
    chinchilla_gamma.LAW,
    farseer.LAW,
    hyperparams.LAW,
    hyperparams.TWO_STAGE,
    isoflop.LAW,
    isoflop.LAW_CUBIC,
    sweep.LAW,
):
    register(_law)


def get_law(name: str) -> Law:
    """The law registered under ``name`` (raises with the list of known laws)."""
    try:
        return LAWS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown law {name!r}; known laws: {sorted(LAWS)}") from None


def law_ref(law: Law) -> str:
    """How a fit records its law: the registry name when the registered law is of this type,
    else the import path ``module:ClassName``."""
    registered = LAWS.get(law.name)
    if registered is not None and type(registered) is type(law):
        return law.name
    return f"{type(law).__module__}:{type(law).__qualname__}"


def resolve_law(law, options: dict | None = None) -> Law:
    """A law object from a registered name, an import path ``module:ClassName`` or a ``Law``,
    configured with ``options``."""
    if isinstance(law, Law):
        obj = law
    elif isinstance(law, str) and ":" in law:
        module, _, qualname = law.partition(":")
        try:
            target = importlib.import_module(module)
            for part in qualname.split("."):
                target = getattr(target, part)
        except (ImportError, AttributeError) as err:
            raise ValueError(f"cannot import law {law!r}: {err}") from None
        if isinstance(target, type) and not issubclass(target, Law):
            raise TypeError(f"{law!r} is not a bayeslaws Law (it is the class {target.__name__})")
        obj = target() if isinstance(target, type) else target
        if not isinstance(obj, Law):
            raise TypeError(f"{law!r} is not a bayeslaws Law ({type(obj).__name__})")
    elif isinstance(law, str):
        obj = get_law(law)
    else:
        raise TypeError(
            f"law must be a registered name {sorted(LAWS)}, a Law object or an import path "
            f"'module:ClassName'; got {type(law).__name__}"
        )
    if options:
        if not isinstance(options, dict):
            raise TypeError(f"law_options must be a dict, got {type(options).__name__}")
        obj = obj.configure(**options)
    return obj


__all__ = ["LAWS", "Law", "LawCapabilityError", "get_law", "law_ref", "register", "resolve_law"]
