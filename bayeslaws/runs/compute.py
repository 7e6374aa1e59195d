"""Compute models: how training FLOPs C relate to parameters N and training tokens D.

Every compute model here has the form ``C = flops_per_token(N) * D``: the cost of one training
token times the number of tokens. The default is Kaplan/Chinchilla's ``C = 6 N D``.

Units: N in parameters, D in tokens, C in FLOPs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .checks import ArgumentTypeError, check_positive, is_real

MAX_DERIVED_PARAMS = 1e18  # the largest size (params) params_for searches


@dataclass(frozen=True)
class ComputeModel:
    """``C = flops_per_token(N) * D``.

    Parameters
    ----------
    name : a label, stored with a fit.
    flops_per_token : callable N (params, array) -> FLOPs per training token (array). Must be
        increasing in N so that N can be recovered from (C, D).
    params : the parameters that rebuild this model with :func:`compute_model_from_dict`
        (``None`` for a user callable, which cannot be saved).
    """

    name: str
    flops_per_token: Callable[[np.ndarray], np.ndarray]
    params: dict | None = field(default=None)

    def flops(self, N, D):
        """Training FLOPs of N-parameter models trained on D tokens (N params, D tokens: arrays
        that broadcast, each finite and > 0, else ValueError naming it)."""
        N = _positive("N", N, "params")
        return self.flops_per_token(N) * _positive("D", D, "tokens")

    def tokens(self, N, C):
        """Training tokens D that a budget of C FLOPs buys at size N (N params, C FLOPs: arrays
        that broadcast, each finite and > 0, else ValueError naming it)."""
        N = _positive("N", N, "params")
        return _positive("C", C, "FLOPs") / self.flops_per_token(N)

    def params_for(self, D, C, *, strict: bool = False):
        """Model size N (params) such that flops(N, D) = C, for D (tokens) and C (FLOPs): arrays
        that broadcast, each finite and > 0 (else ValueError naming it). A bisection in log N
        over 1 .. ``MAX_DERIVED_PARAMS`` parameters (vectorised): where no size in that range
        gives C (C / D below the FLOPs per token of a 1-parameter model, or above those of
        ``MAX_DERIVED_PARAMS``), the answer is that end of the range (1 or
        ``MAX_DERIVED_PARAMS``), which a caller must check (:func:`load_runs` and the queries of
        a fit do, with their own messages); ``strict=True`` raises ValueError for it instead,
        naming the positions and the side."""
        D = _positive("D", D, "tokens")
        C = _positive("C", C, "FLOPs")
        target = C / D
        lo = np.full(np.broadcast(D, C).shape, 0.0)  # log N bounds: 1 .. MAX_DERIVED_PARAMS
        hi = np.full_like(lo, np.log(MAX_DERIVED_PARAMS))
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            too_big = self.flops_per_token(np.exp(mid)) > target
            hi = np.where(too_big, mid, hi)
            lo = np.where(too_big, lo, mid)
        N = np.exp(0.5 * (lo + hi))
        if strict:
            _check_found(self, N, D, C)
        return N

    @property
    def linear_k(self) -> float | None:
        """k when the model is C = k N D (linear in N), else None."""
        k = getattr(self.flops_per_token, "flops_per_param_token", None)
        return None if k is None else float(k)

    @property
    def description(self) -> str:
        """The model for a message: its name quoted, with k for C = k N D unless the name says
        it (``'video_dit(n_ctx=2048, d_model=4096)' (C = 6.75 N D)``), and for a user callable
        that it is one (two callables may share a name)."""
        k = self.linear_k
        if k is not None and self.name != f"{_shortest(k)}ND":
            return f"{self.name!r} (C = {_shortest(k)} N D)"
        if self.params is None:
            return f"{self.name!r} (a user callable)"
        return repr(self.name)

    def to_dict(self) -> dict:
        """A JSON-ready description (raises for a user callable, which cannot be saved)."""
        if self.params is None:
            raise ValueError(
                f"compute model {self.name!r} wraps a user callable and cannot be saved; "
                "pass compute_model= again after loading the fit"
            )
        return {"name": self.name, **self.params}


def _positive(name: str, values, unit: str) -> np.ndarray:
    """``values`` as a float array, refused (ValueError naming ``name``, in ``unit``) when any
    entry is not finite or not > 0 (text or booleans: ArgumentTypeError). Light, as it runs on
    every call (the laws call these per draw): two reductions over an array, none over a
    Python number."""
    if type(values) is float or type(values) is int:  # the common scalar, checked as is
        arr = np.asarray(values, float)
        if 0 < values < math.inf:
            return arr
    else:
        raw = np.asarray(values)
        if raw.dtype.kind in "bUSV":  # text or booleans: not read as numbers
            raise ArgumentTypeError(f"{name} ({unit}) must be numbers, got {values!r}")
        arr = raw.astype(float, copy=False)
        if arr.size == 0 or (arr.min() > 0 and arr.max() < math.inf):  # NaN fails both
            return arr
    bad = ~(arr > 0) | ~np.isfinite(arr)
    flat = np.flatnonzero(bad.ravel())
    where = "" if arr.ndim == 0 else f" at positions {flat[:10].tolist()}"
    raise ValueError(
        f"{name} ({unit}) must be finite and > 0, got {arr.ravel()[flat[0]]:g}{where} "
        f"({flat.size} such value(s))"
    )


def _check_found(model: ComputeModel, N: np.ndarray, D: np.ndarray, C: np.ndarray) -> None:
    """Raise where :meth:`ComputeModel.params_for`'s answer ``N`` misses C by more than 1%: no
    size within 1 .. ``MAX_DERIVED_PARAMS`` parameters gives C with D (the words of the
    queries of a fit, :func:`~bayeslaws.posterior.draws.query_frame`)."""
    D, C = np.broadcast_arrays(D, C)
    ratio = model.flops(N, D) / C
    bad = np.abs(ratio - 1) > 0.01
    if not bad.any():
        return
    flat = np.flatnonzero(bad.ravel())
    i = flat[0]
    side = (
        f"above {MAX_DERIVED_PARAMS:.0e} parameters (the largest size searched)"
        if ratio.ravel()[i] < 1
        else "below one parameter"
    )
    where = "" if N.ndim == 0 else f" (at positions {flat[:10].tolist()})"
    raise ValueError(
        f"D = {D.ravel()[i]:.3g} and C = {C.ravel()[i]:.3g} imply N {side}{where} under the "
        f"compute model {model.name}: C is in FLOPs (about 6 N D), N in parameters, D in tokens"
    )


@dataclass(frozen=True)
class _Linear:
    flops_per_param_token: float

    def __call__(self, N):
        return self.flops_per_param_token * N


def linear(flops_per_param_token: float = 6.0) -> ComputeModel:
    """``C = k N D`` (k = 6 by default: forward + backward of a dense transformer)."""
    if not is_real(flops_per_param_token):
        raise ArgumentTypeError(
            f"flops_per_param_token must be a number, got {type(flops_per_param_token).__name__} "
            f"{flops_per_param_token!r}"
        )
    if not np.isfinite(flops_per_param_token) or flops_per_param_token <= 0:
        raise ValueError(f"flops_per_param_token must be positive, got {flops_per_param_token}")
    k = float(flops_per_param_token)
    return ComputeModel(
        name=f"{_shortest(k)}ND",
        flops_per_token=_Linear(k),
        params={"kind": "linear", "flops_per_param_token": k},
    )


def _shortest(k: float) -> str:
    """``k`` as written shortest without losing it: 6, 12, 6.75, 6.0000001 (never two values
    under one name, as ``f"{k:g}"`` wrote 6.0000001 as 6)."""
    short = f"{k:g}"
    return short if float(short) == k else repr(k)


def video_dit(n_ctx: float, d_model: float) -> ComputeModel:
    """Yin et al.'s per-token count ``C_token = (3/4) N (7 + n_ctx / d_model)``.

    n_ctx is the sequence length in tokens and d_model the width. With n_ctx = d_model this is
    6 N per token. (PAPERS.md marks this transcription as low confidence.) Both must be finite
    and positive (ValueError naming the argument).
    """
    n_ctx = check_positive("n_ctx", n_ctx, "sequence length, tokens")
    d_model = check_positive("d_model", d_model, "model width")
    model = linear(0.75 * (7.0 + n_ctx / d_model))
    return ComputeModel(
        name=f"video_dit(n_ctx={_shortest(n_ctx)}, d_model={_shortest(d_model)})",
        flops_per_token=model.flops_per_token,
        params={"kind": "video_dit", "n_ctx": float(n_ctx), "d_model": float(d_model)},
    )


def custom(flops_per_token: Callable, name: str = "custom") -> ComputeModel:
    """Any user callable ``N -> FLOPs per token`` (increasing in N). Not saved with a fit."""
    if not callable(flops_per_token):
        raise ArgumentTypeError("flops_per_token must be callable: N (params) -> FLOPs per token")
    return ComputeModel(name=name, flops_per_token=flops_per_token, params=None)


def compute_model_from_dict(spec: dict) -> ComputeModel:
    """Rebuild a compute model saved with :meth:`ComputeModel.to_dict`."""
    kind = spec.get("kind")
    if kind == "linear":
        return linear(spec["flops_per_param_token"])
    if kind == "video_dit":
        return video_dit(spec["n_ctx"], spec["d_model"])
    raise ValueError(f"unknown compute model kind {kind!r}")


ACCEPTED_STRINGS = ("6ND",)  # compute_model strings accepted by as_compute_model (any case)


def as_compute_model(model) -> ComputeModel:
    """Accept a ComputeModel, None (-> 6ND), a number k (-> kND; Python or NumPy, not a bool),
    a callable or the string '6ND' (any case; the only string: pass 12 for 12ND). Anything else
    raises TypeError listing what is accepted."""
    if model is None:
        return linear(6.0)
    if isinstance(model, ComputeModel):
        return model
    if is_real(model):
        if not np.isfinite(model) or model <= 0:  # named as the caller passed it
            raise ValueError(
                f"compute_model, a number k for C = k N D, must be positive and finite, got "
                f"{model!r}"
            )
        return linear(float(model))
    if isinstance(model, str) and model.upper() in ACCEPTED_STRINGS:
        return linear(6.0)
    if callable(model):
        return custom(model)
    strings = ", ".join(repr(s) for s in ACCEPTED_STRINGS)
    raise ArgumentTypeError(
        f"compute_model must be a ComputeModel, a number k (C = k N D, e.g. 12 for '12ND'), a "
        f"callable, None (6ND) or one of the strings {strings}, got {model!r}"
    )


def same_compute_model(a: ComputeModel, b: ComputeModel) -> bool:
    """Whether two compute models count the same FLOPs: the same k when both are C = k N D
    (:attr:`ComputeModel.linear_k`: ``video_dit(2048, 2048)`` counts 6 N D as ``linear(6)``
    does), else equal saved parameters, or (for a user callable, which has none) the same
    callable."""
    if a.linear_k is not None and b.linear_k is not None:
        return a.linear_k == b.linear_k
    if a.params is not None and b.params is not None:
        return a.to_dict() == b.to_dict()
    return a.flops_per_token is b.flops_per_token
