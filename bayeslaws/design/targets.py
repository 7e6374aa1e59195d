"""What a design is for: the quantity the user will act on. A target gives posterior draws of
that quantity on the natural-log scale, shape (S, T), through the posterior layer (so any law
that predicts the quantity can be designed for).

Units: N params, D tokens, C FLOPs, lr the learning rate, B (batch size) in tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..posterior import allocation_draws, quantity_draws, query_frame


def positive(name: str, value) -> np.ndarray:
    """A non-empty 1-d array of finite positive floats (a scalar becomes length 1)."""
    if value is None:
        raise ValueError(f"{name} is required")
    try:
        arr = np.atleast_1d(np.asarray(value, dtype=float))
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a positive number or 1-d sequence, got {value!r}"
        ) from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a positive number or non-empty 1-d sequence")
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        raise ValueError(f"{name} must be finite and positive; bad at positions {np.where(bad)[0]}")
    return arr


class Target:
    """A quantity the user will act on; ``draws(fit, seed)`` gives (S, T) log-scale draws."""

    def draws(self, fit, seed: int = 0) -> np.ndarray:
        raise NotImplementedError

    def labels(self) -> list[str]:
        raise NotImplementedError


def _quantity(fit, name: str, query: pd.DataFrame, seed: int, group=None) -> np.ndarray:
    """ln of the law's mean ``name`` at the query points: (S, Q)."""
    if name not in fit.law.quantities:
        raise ValueError(
            f"this target needs a law that predicts {name!r}; law {fit.law.name!r} predicts "
            f"{list(fit.law.quantities)}"
        )
    draws = quantity_draws(fit, query, kind="mean", group=group, seed=seed)[name]
    return np.log(np.asarray(draws, float))


@dataclass(frozen=True)
class Loss(Target):
    """The (law's mean) loss at a planned run: N params, D tokens (scalars or equal-length)."""

    N: float
    D: float
    group: object = None

    def __post_init__(self):
        n, d = positive("Loss(N=)", self.N), positive("Loss(D=)", self.D)
        if n.size != d.size and 1 not in (n.size, d.size):
            raise ValueError(f"Loss(N=, D=) have incompatible lengths {n.size} and {d.size}")

    def _points(self):
        return np.broadcast_arrays(positive("N", self.N), positive("D", self.D))

    def draws(self, fit, seed=0):
        n, d = self._points()
        return _quantity(fit, "loss", query_frame(fit, N=n, D=d), seed, self.group)

    def labels(self):
        n, d = self._points()
        return [f"L(N={a:.3g}, D={b:.3g})" for a, b in zip(n, d, strict=True)]


@dataclass(frozen=True)
class NOpt(Target):
    """The compute-optimal size N_opt (params) at budget(s) C (FLOPs)."""

    C: float
    compute_model: object = None
    group: object = None

    def __post_init__(self):
        positive("NOpt(C=)", self.C)

    def draws(self, fit, seed=0):
        out = allocation_draws(fit, positive("C", self.C), self.compute_model, self.group, seed)
        return np.log(np.asarray(out["N_opt"], float))

    def labels(self):
        return [f"N_opt(C={c:.3g})" for c in positive("C", self.C)]


@dataclass(frozen=True)
class HyperparamOpt(Target):
    """eta_opt and/or B_opt (tokens) of a hyperparameter law at N params, D tokens.

    ``which``: "both" (default, a two-dimensional target), "eta" or "B".
    """

    N: float
    D: float
    which: str = "both"
    group: object = None

    def __post_init__(self):
        positive("HyperparamOpt(N=)", self.N)
        positive("HyperparamOpt(D=)", self.D)
        if self.which not in ("both", "eta", "B"):
            raise ValueError(
                f"HyperparamOpt(which=) must be 'both', 'eta' or 'B', got {self.which!r}"
            )

    def _names(self):
        return {"both": ("eta_opt", "B_opt"), "eta": ("eta_opt",), "B": ("B_opt",)}[self.which]

    def draws(self, fit, seed=0):
        n, d = np.broadcast_arrays(positive("N", self.N), positive("D", self.D))
        query = query_frame(fit, N=n, D=d)
        parts = [_quantity(fit, name, query, seed, self.group) for name in self._names()]
        return np.concatenate(parts, axis=1)

    def labels(self):
        n, d = np.broadcast_arrays(positive("N", self.N), positive("D", self.D))
        return [
            f"{q}(N={a:.3g}, D={b:.3g})" for q in self._names() for a, b in zip(n, d, strict=True)
        ]


@dataclass(frozen=True)
class AllParameters(Target):
    """All of the law's parameters: information about theta itself (no interval widths)."""

    def draws(self, fit, seed=0):
        return None

    def labels(self):
        return []


def target_draws(fit, target, seed):
    """(draws (S, T) or None for all parameters, labels)."""
    if isinstance(target, Target):
        targets = [target]
    elif isinstance(target, list | tuple) and target and all(isinstance(t, Target) for t in target):
        targets = list(target)
    else:
        raise ValueError(
            "target must be a bayeslaws.design target (Loss, NOpt, HyperparamOpt, AllParameters) "
            f"or a non-empty list of them, got {target!r}"
        )
    if any(isinstance(t, AllParameters) for t in targets):
        if len(targets) > 1:
            raise ValueError("target: AllParameters() cannot be combined with other targets")
        return None, []
    draws = [t.draws(fit, seed) for t in targets]
    labels = [lab for t in targets for lab in t.labels()]
    out = np.concatenate(draws, axis=1)
    if not np.all(np.isfinite(out)):
        raise ValueError("target draws are not finite (is the target inside the law's domain?)")
    return out, labels
