"""Layer 2, the laws: one module per law family, all implementing :class:`~.contract.Law`, and
one registry that looks them up by name.

``bl.fit`` accepts a registered name, a law object (your own subclass of ``Law``), or an import
path ``"package.module:ClassName"``; a saved fit records the law by :func:`law_ref` (a built-in
law by its registry name, any other by its import path) so that :func:`resolve_law` rebuilds it
when the fit is loaded, in this process or another.
"""

from __future__ import annotations

import importlib

from ..runs.checks import ArgumentTypeError
from . import chinchilla, chinchilla_gamma, farseer, hyperparams, isoflop, kaplan, sweep
from .contract import Law, LawCapabilityError, near_label_hint
from .surface import LossSurfaceLaw

LAWS: dict[str, Law] = {}


# The main module (a script or notebook): a ``spawn`` worker process of multiprocessing runs the
# main script again as ``__mp_main__`` (an alias of its ``__main__``), so its classes have
# that module name there
MAIN_MODULES = ("__main__", "__mp_main__")


def class_ref(cls: type) -> str:
    """The import path ``module:QualifiedName`` of a law class (a class of the main script,
    ``__main__`` or, in a ``spawn`` worker process, ``__mp_main__``: ``__main__``)."""
    module = "__main__" if cls.__module__ in MAIN_MODULES else cls.__module__
    return f"{module}:{cls.__qualname__}"


def is_builtin(cls: type) -> bool:
    """Whether a law class is defined inside the bayeslaws package."""
    return cls.__module__ == "bayeslaws" or cls.__module__.startswith("bayeslaws.")


def register(law: Law, *, replace: bool = False) -> Law:
    """Add a law object to the registry under its ``name`` (returns it). A name held by a law
    of another class (a built-in's included) is refused unless ``replace=True``; registering
    again a law of the same class (also a class redefined under the same import path, as a
    re-run notebook cell does) replaces it. A user's loss-surface law's definition is checked
    here (:meth:`~.surface.LossSurfaceLaw.check_definition`).

    The registry is this process's: a fit of a law defined outside bayeslaws records the
    law's import path, not this name (:func:`law_ref`)."""
    if not isinstance(law, Law):
        raise ArgumentTypeError(f"register() takes a Law object, got {type(law).__name__}")
    if not law.name:
        raise ValueError(f"{type(law).__name__} has no name: set the class attribute 'name'")
    if isinstance(law, LossSurfaceLaw) and not is_builtin(type(law)):
        law.check_definition()  # built-ins: by their tests (and at fit time), not at import
    held = LAWS.get(law.name)
    if held is not None and not replace and class_ref(type(held)) != class_ref(type(law)):
        raise ValueError(
            f"law name {law.name!r} is taken by {class_ref(type(held))}; register() will not "
            f"silently replace it with {class_ref(type(law))}: give {type(law).__qualname__} "
            f"another `name`, or call register(law, replace=True) to replace it in this process "
            "(fits of either law still record their own class)"
        )
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
        hint = near_label_hint(name, LAWS) if isinstance(name, str) else ""
        raise ValueError(
            f"unknown law {name!r}{hint}; known laws: {sorted(LAWS)} (a law of your own is known "
            "by name only in a process that registered it: bl.register(YourLaw()) first, or pass "
            "the law object or its import path 'module:ClassName')"
        ) from None


def law_ref(law: Law) -> str:
    """How a fit records its law: a built-in law (defined in bayeslaws) registered under its
    name by that name; any other law, registered or not, by its import path
    ``module:ClassName`` (a registry name is only this process's: another process, or one
    where a user law took a built-in's name, would rebuild another law from it)."""
    registered = LAWS.get(law.name)
    if is_builtin(type(law)) and registered is not None and type(registered) is type(law):
        return law.name
    return class_ref(type(law))


def unportable_reason(ref: str) -> str | None:
    """Why a recorded law reference cannot be imported by another process (None: it can, as
    far as its text tells): a class defined in a script or notebook (module ``__main__``) or
    inside a function (``<locals>`` in its qualified name). ``__mp_main__`` (recorded by
    a ``spawn`` worker before bayeslaws mapped it to ``__main__``) counts as ``__main__``."""
    module, sep, qualname = ref.partition(":")
    if not sep:
        return None
    if module in MAIN_MODULES:
        return (
            f"its class {qualname} is defined in a script or notebook (module __main__), which "
            "another process cannot import"
        )
    if "<locals>" in qualname:
        return f"its class {qualname} is defined inside a function, which cannot be imported"
    return None


def _import_ref(ref: str):
    """The object at import path ``module:QualifiedName`` (raises ImportError/AttributeError)."""
    module, _, qualname = ref.partition(":")
    module = "__main__" if module in MAIN_MODULES else module  # a spawn worker's __mp_main__
    target = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def _registered_by_ref(ref: str) -> Law | None:
    """The registered law whose class has import path ``ref`` (None: none)."""
    for law in LAWS.values():
        if class_ref(type(law)) == ref:
            return law
    return None


def _import_error(ref: str, err: Exception) -> ValueError:
    """The error for a law reference that cannot be imported here, with the remedy."""
    module, _, qualname = ref.partition(":")
    reason = unportable_reason(ref)
    if reason and module in MAIN_MODULES:
        remedy = (
            f"define the class {qualname} (same name) in the script or notebook that loads the "
            "fit, before loading it, or move the class to an importable module and refit"
        )
    elif reason:
        remedy = (
            "bl.register an instance of that class in this process before loading, or define "
            "it at module level and refit"
        )
    else:
        remedy = (
            f"make module {module!r} importable in this process (install it, or add its folder "
            "to sys.path / PYTHONPATH) before loading"
        )
    why = f"{reason}; " if reason else ""
    return ValueError(f"cannot import law {ref!r} ({type(err).__name__}: {err}): {why}{remedy}")


def _construct(cls: type, ref: str, options: dict) -> Law:
    """An instance of the law class ``cls`` (at import path ``ref``) built from ``options``
    (what its ``__init__`` takes, as ``Law.configure`` builds it)."""
    if not isinstance(options, dict):
        raise ArgumentTypeError(f"law_options must be a dict, got {type(options).__name__}")
    try:
        return cls(**options)
    except TypeError as err:
        raise ArgumentTypeError(
            f"cannot build law {ref!r} from options {options}: {err} (a law's __init__ takes "
            "its options, which the law lists in `options` so that a fit records them)"
        ) from None


def resolve_law(law, options: dict | None = None) -> Law:
    """A law object from a registered name, an import path ``module:ClassName`` or a ``Law``,
    configured with ``options``."""
    if isinstance(law, Law):
        obj = law
    elif isinstance(law, str) and ":" in law:
        try:
            target = _import_ref(law)
        except (ImportError, AttributeError) as err:
            target = _registered_by_ref(law)
            if target is None:
                raise _import_error(law, err) from None
        if isinstance(target, type) and not issubclass(target, Law):
            raise ArgumentTypeError(
                f"{law!r} is not a bayeslaws Law (it is the class {target.__name__})"
            )
        if isinstance(target, type):  # built from its options (a recorded fit's, or none)
            obj, options = _construct(target, law, options or {}), None
        else:
            obj = target
        if not isinstance(obj, Law):
            raise ArgumentTypeError(f"{law!r} is not a bayeslaws Law ({type(obj).__name__})")
    elif isinstance(law, str):
        obj = get_law(law)
    else:
        raise ArgumentTypeError(
            f"law must be a registered name {sorted(LAWS)}, a Law object or an import path "
            f"'module:ClassName'; got {type(law).__name__}"
        )
    if options:
        if not isinstance(options, dict):
            raise ArgumentTypeError(f"law_options must be a dict, got {type(options).__name__}")
        obj = obj.configure(**options)
    return obj


__all__ = [
    "LAWS",
    "Law",
    "LawCapabilityError",
    "class_ref",
    "get_law",
    "law_ref",
    "register",
    "resolve_law",
    "unportable_reason",
]
