"""What a design is for: the quantity the user will act on. A target gives posterior draws of
that quantity on the natural-log scale, shape (S, T), through the posterior layer's
:class:`~bayeslaws.posterior.model.ModelView` (so any law that predicts the quantity can be
designed for, and the draws carry the model uncertainty of the chosen method: form averaging,
GP pattern and drift beyond the training range for loss surfaces), and one representative
point (N, D, C) per component: where the component's discrepancy is measured
(:mod:`.discrepancy`).

Units: N params, D tokens, C FLOPs, lr the learning rate, B (batch size) in tokens.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..laws.optimum import EDGE_SHARE
from ..posterior import allocation_draws, quantity_draws, query_frame
from ..posterior.allocation import FAR_SHARE, WARN_DECADES, far_draws, kink_warning
from ..posterior.draws import positive_array
from ..posterior.extrapolation import DEFAULT_METHOD, check_method
from ..posterior.extrapolation.drift import flops_as_ranged
from ..posterior.model import FULL_MODELS
from ..runs.compute import as_compute_model
from ..runs.warn import user_stacklevel


def positive(name: str, value) -> np.ndarray:
    """A non-empty 1-d array of finite positive floats (a scalar becomes length 1), as
    :func:`~bayeslaws.posterior.draws.positive_array` reads it (numbers only: booleans and
    text are an :class:`~bayeslaws.runs.checks.ArgumentTypeError` naming ``name``, never a
    True read as 1 or a '1e9' read silently); None is a ValueError (``name`` is required)."""
    arr = positive_array(name, value)
    if arr is None:
        raise ValueError(f"{name} is required")
    return arr


class Target:
    """A quantity the user will act on.

    ``draws(fit, seed, method)`` gives (S, T) log-scale draws under the extrapolation ``method``
    (None: the package default); ``points(fit, draws)`` a DataFrame (T rows: N, D, C) of the
    point each component is measured at (its discrepancy grows with that point's distance
    beyond the training runs).

    For a grouped fit a target's ``group`` names the fitted group it is about; its default
    None is a NEW group (as in ``predict``), also when the candidates are a fitted group's
    runs: the design then warns (:class:`~.candidates.GroupWarning`), and never re-groups the
    target.

    ``line_minimum``: whether the target's draws minimise along a line (N_opt along its
    isoFLOP line), so that its drift beyond the training range is not measured at its one
    point (:func:`line_minimum_components`)."""

    line_minimum = False  # a class attribute (not a dataclass field of the subclasses)

    def draws(self, fit, seed: int = 0, method: str | None = None) -> np.ndarray:
        raise NotImplementedError

    def labels(self) -> list[str]:
        raise NotImplementedError

    def points(self, fit, draws) -> pd.DataFrame:
        raise NotImplementedError


def _method(method) -> str:
    return DEFAULT_METHOD if method is None else check_method(method)


def _far_remedy(fit, method: str) -> str:
    """What to do about target draws far outside the data under ``method``: under a drift that
    widens beyond the data ('drift', 'model' on a widened law) those draws are the drift's, so
    the widths can be far wider than optimal_allocation's interval; 'gp' values runs under the
    fitted law's optimum, 'none' under the law alone."""
    if fit.law.widened and method in FULL_MODELS:
        return (
            f"under {method!r} those draws are the drift's pull beyond the data, so the widths "
            "can be far wider than the interval optimal_allocation reports, and each run's "
            "value small; model 'gp' values runs under the fitted law's optimum, as "
            "optimal_allocation reports it (Python: model='gp'; command line: --model gp), "
            "and model 'none' under the law alone (Python: model='none'; command line: "
            "--model none)"
        )
    return (
        "read the widths with care; model 'none' values runs under the law alone (Python: "
        "model='none'; command line: --model none)"
    )


def _edge_remedy(method: str) -> str:
    """What to do about N_opt target draws at the search range's edge under ``method``, as
    '; ...' after the warning's sentence: model 'none' values runs under the law alone; ''
    under 'none' itself (there the law alone has no interior optimum)."""
    if method == "none":
        return ""
    return (
        "; model 'none' values runs under the law alone (Python: model='none'; command line: "
        "--model none)"
    )


# a drift kink's advice to the design's callers: their argument is model=, not extrapolation=
KINK_REMEDY = (
    "model 'gp' or 'none' values runs under the fitted law's optimum, as optimal_allocation "
    "reports it (Python: model='gp' or model='none'; command line: --model gp or --model none)"
)


def _quantity(fit, name: str, query: pd.DataFrame, seed: int, group=None, method=None):
    """ln of the law's mean ``name`` at the query points: (S, Q)."""
    if name not in fit.law.quantities:
        raise ValueError(
            f"this target needs a law that predicts {name!r}; law {fit.law.name!r} predicts "
            f"{list(fit.law.quantities)}"
        )
    draws = quantity_draws(
        fit, query, kind="mean", group=group, seed=seed, extrapolation=_method(method)
    )[name]
    return np.log(np.asarray(draws, float))


def _loss_at_optimum(fit) -> str:
    """The law's quantity for the loss at the optimal hyperparameters: ``loss_opt`` (law
    ``hyperparams``), or ``loss`` for a law that predicts the optima and whose loss is at them
    (law ``sweep``: the loss surface under optimal hyperparameters)."""
    q = fit.law.quantities
    if "loss_opt" not in q and "loss" in q and "eta_opt" in q:
        return "loss"
    return "loss_opt"


def _points(fit, N, D) -> pd.DataFrame:
    """N, D and C (the fit's compute model) of query points."""
    N, D = np.broadcast_arrays(np.asarray(N, float), np.asarray(D, float))
    return pd.DataFrame({"N": N, "D": D, "C": np.asarray(fit.compute_model.flops(N, D), float)})


@dataclass(frozen=True)
class Loss(Target):
    """The loss at planned runs: N params, D tokens (scalars or equal-length sequences), the
    mean loss of the true surface under the extrapolation method (the law's mean with
    ``"none"``). With ``lr`` and ``batch_size`` (a hyperparameter or sweep law's runs) the loss
    of runs trained there: the loss at the optimum times (1 + the bowl's relative penalty)."""

    N: float
    D: float
    group: object = None
    lr: object = None
    batch_size: object = None

    def __post_init__(self):
        n, d = positive("Loss(N=)", self.N), positive("Loss(D=)", self.D)
        sizes = {n.size, d.size}
        if (self.lr is None) != (self.batch_size is None):
            raise ValueError("Loss(lr=, batch_size=) must be given together")
        if self.lr is not None:
            sizes |= {
                positive("Loss(lr=)", self.lr).size,
                positive("Loss(batch_size=)", self.batch_size).size,
            }
        if len(sizes - {1}) > 1:
            raise ValueError(f"Loss(N=, D=, ...) have incompatible lengths {sorted(sizes)}")

    def _inputs(self) -> dict:
        arrays = {"N": positive("N", self.N), "D": positive("D", self.D)}
        if self.lr is not None:
            arrays["lr"] = positive("lr", self.lr)
            arrays["batch_size"] = positive("batch_size", self.batch_size)
        return dict(zip(arrays, np.broadcast_arrays(*arrays.values()), strict=True))

    def draws(self, fit, seed=0, method=None):
        query = query_frame(fit, **self._inputs(), group=self.group)
        out = quantity_draws(
            fit, query, kind="mean", group=self.group, seed=seed, extrapolation=_method(method)
        )
        if "loss" in out:  # given lr and batch_size: the loss of a run trained there
            return np.log(np.asarray(out["loss"], float))
        raise ValueError(
            f"Loss: law {fit.law.name!r} does not predict the loss of a run"
            + ("" if self.lr is not None else " (give lr= and batch_size= for its runs)")
        )

    def labels(self):
        x = self._inputs()
        if self.lr is None:
            return [f"L(N={a:.3g}, D={b:.3g})" for a, b in zip(x["N"], x["D"], strict=True)]
        return [
            f"L(N={a:.3g}, D={b:.3g}, lr={c:.3g}, B={d:.3g})"
            for a, b, c, d in zip(x["N"], x["D"], x["lr"], x["batch_size"], strict=True)
        ]

    def points(self, fit, draws):
        x = self._inputs()
        return _points(fit, x["N"], x["D"])


@dataclass(frozen=True)
class NOpt(Target):
    """The compute-optimal size N_opt (params) at budget(s) C (FLOPs), under ``compute_model``
    (default: the fit's)."""

    C: float
    compute_model: object = None
    group: object = None

    line_minimum = True  # each draw minimises the loss along the isoFLOP line of C

    def __post_init__(self):
        positive("NOpt(C=)", self.C)
        if self.compute_model is not None:  # a bad one is refused here, not mid-design
            as_compute_model(self.compute_model)

    def draws(self, fit, seed=0, method=None):
        out = allocation_draws(
            fit,
            positive("C", self.C),
            self.compute_model,
            self.group,
            seed,
            extrapolation=_method(method),
        )
        edge = np.asarray(out["at_boundary"], bool).mean(axis=0)  # (Q,)
        for C, share in zip(positive("C", self.C), edge, strict=True):
            if share > EDGE_SHARE:
                warnings.warn(
                    f"N_opt(C={C:.3g}) sits at the edge of the search range in {share:.0%} of "
                    f"draws under the extrapolation {_method(method)!r}: there the loss beyond the "
                    "data has no interior optimum, so the target's spread (the widths) is set by "
                    "the search range; the ranking still values information, but read the widths "
                    f"with care{_edge_remedy(_method(method))}",
                    UserWarning,
                    stacklevel=user_stacklevel(),  # the caller of next_runs / rank_candidates
                )
        far = far_draws(fit, out, group=self.group)  # N_opt far outside the fitted N range
        far_share = (far["below"] | far["above"]).mean(axis=0)  # (Q,)
        for C, share in zip(positive("C", self.C), far_share, strict=True):
            if share > FAR_SHARE:
                warnings.warn(
                    f"N_opt(C={C:.3g}) lies more than {WARN_DECADES:g} decades outside the "
                    f"fitted range of N in {share:.1%} of draws under the extrapolation "
                    f"{_method(method)!r}: those draws' log N_opt, far from the rest, weigh "
                    "heavily on the target's spread (the widths) and on the value of runs that "
                    f"would rule them out; {_far_remedy(fit, _method(method))}",
                    UserWarning,
                    stacklevel=user_stacklevel(),  # the caller of next_runs / rank_candidates
                )
        kinked = kink_warning(
            fit,
            positive("C", self.C),
            out["N_opt"],
            self.compute_model,
            _method(method),
            caller=f"target {self.labels()[0]}",
            group=self.group,
            remedy=KINK_REMEDY,  # the design's own argument, model=, not extrapolation=
        )
        if kinked:
            warnings.warn(
                kinked + "; read the widths with care", UserWarning, stacklevel=user_stacklevel()
            )
        return np.log(np.asarray(out["N_opt"], float))

    def labels(self):
        return [f"N_opt(C={c:.3g})" for c in positive("C", self.C)]

    def points(self, fit, draws):
        """The median N_opt on each budget's isoFLOP line (the target's compute model), with C
        as the fit's compute model counts that run (the unit of its training range)."""
        C = positive("C", self.C)
        N = np.exp(np.median(np.asarray(draws, float), axis=0))
        model = fit.compute_model if self.compute_model is None else self.compute_model
        model = as_compute_model(model)
        D = np.asarray(model.tokens(N, C), float)
        return pd.DataFrame(
            {"N": N, "D": D, "C": flops_as_ranged(N, D, C, model, fit.compute_model)}
        )


HYPERPARAM_QUANTITIES = {
    "both": ("eta_opt", "B_opt"),
    "eta": ("eta_opt",),
    "B": ("B_opt",),
    "loss": ("loss_opt",),
    "all": ("eta_opt", "B_opt", "loss_opt"),
}


@dataclass(frozen=True)
class HyperparamOpt(Target):
    """eta_opt, B_opt (tokens) and/or the loss at the optimum of a hyperparameter law at N
    params, D tokens.

    ``which``: "both" (default: eta_opt and B_opt), "eta", "B", "loss" (the loss at the
    optimum: a law that predicts it at unseen cells, e.g. law ``sweep``, whose ``loss`` is the
    loss at the optimum, or ``hyperparams`` with ``loss_level="surface"``) or "all".
    """

    N: float
    D: float
    which: str = "both"
    group: object = None

    def __post_init__(self):
        n, d = positive("HyperparamOpt(N=)", self.N), positive("HyperparamOpt(D=)", self.D)
        if n.size != d.size and 1 not in (n.size, d.size):
            raise ValueError(
                f"HyperparamOpt(N=, D=) pair up as cells: give them the same length, or one of "
                f"them a single value; got {n.size} sizes and {d.size} token counts"
            )
        if self.which not in HYPERPARAM_QUANTITIES:
            raise ValueError(
                f"HyperparamOpt(which=) must be one of {sorted(HYPERPARAM_QUANTITIES)}, "
                f"got {self.which!r}"
            )

    def _names(self):
        return HYPERPARAM_QUANTITIES[self.which]

    def draws(self, fit, seed=0, method=None):
        n, d = np.broadcast_arrays(positive("N", self.N), positive("D", self.D))
        query = query_frame(fit, N=n, D=d, group=self.group)
        names = [_loss_at_optimum(fit) if n == "loss_opt" else n for n in self._names()]
        parts = [_quantity(fit, name, query, seed, self.group, method) for name in names]
        return np.concatenate(parts, axis=1)

    def points(self, fit, draws):
        n, d = np.broadcast_arrays(positive("N", self.N), positive("D", self.D))
        one = _points(fit, n, d)
        return pd.concat([one] * len(self._names()), ignore_index=True)

    def labels(self):
        n, d = np.broadcast_arrays(positive("N", self.N), positive("D", self.D))
        return [
            f"{q}(N={a:.3g}, D={b:.3g})" for q in self._names() for a, b in zip(n, d, strict=True)
        ]


@dataclass(frozen=True)
class AllParameters(Target):
    """All of the law's parameters: information about theta itself (no interval widths)."""

    def draws(self, fit, seed=0, method=None):
        return None

    def labels(self):
        return []

    def points(self, fit, draws):
        return pd.DataFrame({"N": [], "D": [], "C": []})


def as_targets(target) -> list:
    """A target or a non-empty list of targets, as a list (checked)."""
    if isinstance(target, Target):
        return [target]
    if isinstance(target, list | tuple) and target and all(isinstance(t, Target) for t in target):
        return list(target)
    raise ValueError(
        "target must be a bayeslaws.design target (Loss, NOpt, HyperparamOpt, AllParameters) "
        f"or a non-empty list of them, got {target!r}"
    )


def line_minimum_components(target) -> np.ndarray:
    """(T,) bool, in the order of the target's labels: whether each component's draws minimise
    along a line (its part's :attr:`Target.line_minimum`; all parameters have no
    components)."""
    targets = as_targets(AllParameters() if target is None else target)
    return np.array([t.line_minimum for t in targets for _ in t.labels()], bool)


def target_draws(fit, target, seed, method=None):
    """(draws (S, T) or None for all parameters, labels, points (T rows: N, D, C) or None)."""
    targets = as_targets(target)
    if any(isinstance(t, AllParameters) for t in targets):
        if len(targets) > 1:
            raise ValueError("target: AllParameters() cannot be combined with other targets")
        return None, [], None
    draws = [t.draws(fit, seed, method) for t in targets]
    labels = [lab for t in targets for lab in t.labels()]
    points = pd.concat(
        [t.points(fit, d) for t, d in zip(targets, draws, strict=True)], ignore_index=True
    )
    out = np.concatenate(draws, axis=1)
    if not np.all(np.isfinite(out)):
        raise ValueError(unvalued_message(fit, out, labels))
    return out, labels, points


def unvalued_message(fit, draws: np.ndarray, labels: list) -> str:
    """Why a target cannot be valued: the components (``labels``, one per column of the draws
    (S, T)) whose draws are not finite, how many draws, and the law's remedy
    (``missing_values_hint``: e.g. law ``hyperparams`` fitted with ``loss_level='free'`` knows
    the loss only at its fitted cells), else that some laws predict no value there."""
    bad = ~np.isfinite(draws)
    named = "; ".join(
        f"{labels[j]} ({int(bad[:, j].sum())} of {len(draws)} draws)"
        for j in np.flatnonzero(bad.any(axis=0))
    )
    hint = fit.law.missing_values_hint
    why = hint or (
        "is it inside the law's domain? some laws predict no value at points they were not "
        "fitted at (e.g. law 'hyperparams' without loss_level='surface' predicts no loss at "
        "an unfitted (N, D) cell)"
    )
    return (
        f"target component(s) {named}: law {fit.law.name!r} gives no finite value (NaN or "
        f"infinite draws), so no run can be valued for them; {why}"
    )
