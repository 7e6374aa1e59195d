"""The one place that draws what a fit predicts, with the model uncertainty that the default
carries: every stage (``predict``, ``optimal_allocation``, ``allocation_laws``, ``near_optimal``,
the design targets, the calibration backtests, the plots) takes its draws from a
:class:`ModelView`.

For a loss surface L(N, D), the full model (``extrapolation="model"``; not the default, which
is ``"gp"``: the README's "Predict" section gives the confirmation scores that decided it) is

    ln f(N, D) = ln L_k(N, D; theta_k) + delta_GP(N, D) + delta_drift(N, D),

with, per posterior draw, a functional form k chosen with stacking weights
(:mod:`.extrapolation.forms`), that form's parameter draw theta_k, the Gaussian-process pattern
of that form's own training residuals (:mod:`.extrapolation.gp`: near the runs their smoothed
pattern, far from them mean 0) and a drift beyond the training range whose rate is learned
across a corpus of real sweeps (:mod:`.extrapolation.drift`). ``kind="mean"`` draws f (the
uncertainty of the true loss surface: law, form and discrepancy); ``kind="new_run"`` adds the
run-to-run noise of the fitted likelihood. Decision quantities are computed per draw from the
whole function: the compute-optimal size minimises ln f along the isoFLOP line of each draw
(GP pattern by its conditional mean, drift by that draw's slopes), so N_opt and L_opt carry the
form and discrepancy uncertainty too.

``"drift"`` is the same without form averaging; ``"none"`` the fitted law alone; the other
methods (``"gp"``, the default, ``"gp_discrepancy"``, ``"stacking_discrepancy"``,
``"discrepancy"``, ``"discrepancy_t"``, ``"stacking"``) widen ``new_run`` loss draws only
(:func:`.extrapolation.widen`): under them ``kind="mean"`` draws and the decision quantities
(N_opt, L_opt, the near-optimal band) are those of the fitted law alone, as with ``"none"``.
Laws other than loss surfaces (hyperparameter and isoFLOP laws) are drawn as they are.

On a grouped fit the GP pattern is the queried group's own (:mod:`.extrapolation.gp`: one GP per
fitted group, on its own residuals); a new group (``group=None``) gets the GP's prior (mean 0,
sd the largest group's eta), and a group with too few runs for a GP the law and the drift only
(each warned once per fit and group, recorded in ``fit.cache["unavailable"]``).
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass

import numpy as np

from ..laws.contract import KINDS, resolve_group
from ..laws.optimum import search_range as search_bounds
from ..runs.warn import user_stacklevel
from .extrapolation import (
    DEFAULT_METHOD,
    check_method,
    distance,
    drift,
    forms,
    gp,
    gp_component,
    gp_unavailable,
    stacking,
    widen,
)

FULL_MODELS = {"model": True, "drift": False}  # method -> averages the forms?
LINE_GRID = 2048  # points per isoFLOP line on which the GP mean is tabulated (then a cubic
# spline: a linear interpolation's kinks at the knots held about 2/3 of the drift N_opt draws)
DRAWS_STREAM = 4  # the rng stream of :meth:`ModelView.draws`; a new group's deviation comes from it


POINT_STREAM = 5  # the rng stream of the GP's draws at query points (:func:`point_normals`)
POINT_DIGITS = 9  # ln N, ln D rounded to this many decimals name a point: the same point


def point_normals(
    seed: int, N, D, n_draws: int, group=None, stream: int = POINT_STREAM
) -> np.ndarray:
    """Standard normals (n_draws, Q), each column a fixed function of its point (N params,
    D tokens; ln N and ln D to ``POINT_DIGITS`` decimals), ``group`` (its label; None: a new
    group, or a fit without groups), ``seed`` and ``stream`` (another stream: normals
    independent of ``POINT_STREAM``'s at every point): independent across points, groups and
    streams, the same at the same point, group and stream in every call."""
    scale = 10.0**POINT_DIGITS
    group_word = 0 if group is None else 1 + zlib.crc32(str(group).encode())

    def word(x: float) -> int:  # a non-negative seed word for ln x (x < 1 included)
        return int(round(np.log(x) * scale)) % 2**64

    columns = [
        np.random.default_rng([seed, stream, group_word, word(n), word(d)]).standard_normal(
            n_draws
        )
        for n, d in zip(np.asarray(N, float), np.asarray(D, float), strict=True)
    ]
    return np.stack(columns, axis=1) if columns else np.empty((n_draws, 0))


@dataclass
class Part:
    """One functional form's share of the draws: its law, its posterior restricted to the draws
    it supplies, their positions among the S output draws, and its GP discrepancy state (on a
    grouped fit one GP per group: :meth:`ModelView.gp_of` picks the query's)."""

    law: object
    post: object
    rows: np.ndarray
    gp_state: dict | None


class ModelView:
    """A fit's predictions under one extrapolation method (see the module docstring).

    Build with :meth:`of`; the same ``seed`` gives the same forms, slopes and noise in every
    call, so a loss, an N_opt and a near-optimal band drawn with one seed are coherent."""

    def __init__(self, fit, method: str, seed: int = 0):
        check_method(method)
        self.fit, self.method, self.seed = fit, method, int(seed)
        self.S = fit.posterior().n_draws
        if method not in ("none", DEFAULT_METHOD) and not fit.law.widened:
            self._not_widened()
        full = method in FULL_MODELS and fit.law.widened
        self.full = full
        self.parts = self._parts(average=full and FULL_MODELS[method])
        self.slopes = self._slopes() if full else None

    @classmethod
    def of(cls, fit, method: str, seed: int = 0) -> ModelView:
        return cls(fit, method, seed)

    # ---- assembling the parts -----------------------------------------------------------------
    def _rng(self, stream: int):
        return np.random.default_rng([self.seed, stream])

    def new_group(self, group) -> bool:
        """Whether ``group`` asks for a new, unseen group of a grouped fit (drawn per call)."""
        return resolve_group(self.fit.posterior().groups, group) is None

    def group_rng(self, stream: int, group):
        """The rng of ``stream``; for a new group the draws' stream (``DRAWS_STREAM``), whose
        first numbers are that group's deviation, so a loss, an N_opt and a band (and the
        design's predicted observations, :func:`bayeslaws.design.discrepancy.observation_rng`)
        of one seed share one new group."""
        return self._rng(DRAWS_STREAM if self.new_group(group) else stream)

    def _parts(self, average: bool) -> list[Part]:
        fit = self.fit
        own_gp = self._own_gp() if self.full else None
        if not average or forms.unavailable(fit):
            if average:
                self._no_forms(forms.unavailable(fit))
            return [Part(fit.law, fit.posterior(), np.arange(self.S), own_gp)]
        state = fit.cache.get(forms.CACHE_KEY) or forms.average(fit)
        names = state["forms"]
        w = np.array([state["weights"][k] for k in names])
        choice = self._rng(1).choice(len(names), size=self.S, p=w / w.sum())
        own = stacking.own_key(state, names)
        parts = []
        for i, name in enumerate(names):
            rows = np.where(choice == i)[0]
            if not rows.size:
                continue
            if name == own:
                post = _subset(fit.posterior(), rows)
                parts.append(Part(fit.law, post, rows, own_gp))
                continue
            other = state["others"][name]
            n_stored = len(next(iter(other["posterior"].values())))
            picks = self._rng(2 + i).integers(0, n_stored, rows.size)
            law, post = forms.form_posterior(other, picks)
            parts.append(Part(law, post, rows, forms.form_gp(fit, name)))
        return parts

    def _not_widened(self) -> None:
        """Warn once per fit (recorded in ``fit.cache["unavailable"]``) that the law takes no
        extrapolation method: its draws are those of ``"none"``."""
        law = self.fit.law
        if "widening" not in (self.fit.cache.get("unavailable") or {}):
            warnings.warn(
                f"extrapolation {self.method!r}: law {law.name!r} is not widened (its new points "
                "carry their own fitted scatter, e.g. new cells or budgets, and their noise): "
                "every method gives the same draws as 'none' for it",
                stacklevel=user_stacklevel(),
            )
        _note(self.fit, "widening", f"law {law.name!r} is not widened")

    def _no_forms(self, reason: str) -> None:
        """Warn once per fit (recorded in ``fit.cache["unavailable"]``) that the forms cannot be
        averaged, so that ``"model"`` runs as ``"drift"``."""
        if "forms" not in (self.fit.cache.get("unavailable") or {}):
            warnings.warn(
                f"extrapolation {self.method!r}: no averaging of functional forms ({reason}); "
                "using 'drift' (the fitted form with its GP pattern and the drift) instead",
                stacklevel=user_stacklevel(),
            )
        _note(self.fit, "forms", reason)

    def _own_gp(self):
        """The fit's own GP state, or None (warned once, recorded in ``fit.cache``) when it has
        too few training runs for one (:func:`.extrapolation.gp_unavailable`), as "gp" does."""
        fit = self.fit
        reason = gp_unavailable(fit)
        state = None if reason else gp.form_state(fit, fit.law, fit.posterior(), "gp")
        if state is None:
            reason = reason or "the fit holds no training runs"
            if "gp" not in (fit.cache.get("unavailable") or {}):
                warnings.warn(
                    f"extrapolation {self.method!r}: no GP pattern ({reason}); the law and the "
                    "drift beyond the range only",
                    stacklevel=user_stacklevel(),
                )
            _note(fit, "gp", reason)
        return state

    def gp_of(self, part: Part, group) -> dict | None:
        """The one-GP state of ``part`` for ``group`` (:func:`.extrapolation.gp.for_group`):
        its own group's GP on a grouped fit, the GP's prior for a new group, None for a group
        with too few runs (warned once per fit and group, recorded in ``fit.cache``)."""
        if part.gp_state is None:
            return None
        state, note = gp.for_group(self.fit, part.gp_state, group)
        if note:
            component = gp_component(group)
            instead = (
                "the law and the drift beyond the range only"
                if state is None
                else f"the GP's prior (mean 0, sd {state['eta']:.3g}) and the drift instead"
            )
            if component not in (self.fit.cache.get("unavailable") or {}):
                warnings.warn(
                    f"extrapolation {self.method!r}: no learned GP pattern ({note}); {instead}",
                    stacklevel=user_stacklevel(),
                )
            _note(self.fit, component, note)
        return state

    def _slopes(self) -> np.ndarray:
        rng = self._rng(3)
        return drift.sample_slopes(drift.axis_taus(drift.state_of(self.fit), self.S, rng), rng)

    # ---- draws ----------------------------------------------------------------------------------
    def draws(
        self, query, *, kind: str = "mean", group=None, point_stream: int = POINT_STREAM
    ) -> dict:
        """Draws (S, Q) of each quantity the law predicts at the query points.
        ``point_stream``: the stream of the GP's draws at the points (:func:`point_normals`;
        full models only)."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        out: dict = {}
        rng = self._rng(DRAWS_STREAM)
        for part in self.parts:
            values = part.law.draws(part.post, query, kind=kind, group=group, rng=rng)
            for name, v in values.items():
                if name not in out:
                    out[name] = np.empty((self.S,) + np.shape(v)[1:])
                out[name][part.rows] = v
        if "loss" in out and self.full:
            out["loss"] = out["loss"] * np.exp(self._point_delta(query, group, point_stream))
        elif "loss" in out and kind == "new_run" and self.method not in FULL_MODELS:
            log_loss = widen(
                self.fit, query, np.log(out["loss"]), self.seed, self.method, group=group
            )
            out["loss"] = np.exp(log_loss)
        return out

    def _point_delta(self, query, group=None, stream: int = POINT_STREAM) -> np.ndarray:
        """GP (mean and sd; ``group``'s on a grouped fit) plus drift at query points: (S, Q)
        ln-loss units. The GP's draws at a point are a fixed function of the point, the
        group (the fit's label: 2 and 2.0 name the group "2" alike) and ``stream``
        (:func:`point_normals`), whatever else a call holds; independent between
        points (the GP's correlation between nearby points is not drawn). A design's
        candidates' observations take theirs from another stream than its target
        (:func:`bayeslaws.design.discrepancy.observation_means`): a candidate at the target's
        own point shares no GP draw with it, as a candidate anywhere else shares none."""
        label = group if group is None else distance.fitted_label(self.fit, group) or group
        normals = point_normals(self.seed, query["N"], query["D"], self.S, label, stream)
        ranges = distance.group_ranges(self.fit, group)  # the group's own; new group: pooled
        delta = drift.point_term(self.slopes, query["N"], query["D"], query["C"], ranges)
        for part in self.parts:
            state = self.gp_of(part, group)
            if state is not None:
                mean, sd = gp.conditional(state, query["N"], query["D"])
                delta[part.rows] += mean[None, :] + sd[None, :] * normals[part.rows]
        return delta

    def _line_extra(self, part: Part, compute_model, group=None):
        """The discrepancy along isoFLOP lines for one part's draws (GP mean, ``group``'s on a
        grouped fit; drift)."""
        if not self.full:
            return None
        state = self.gp_of(part, group)
        slopes = self.slopes[part.rows]
        ranges = distance.group_ranges(self.fit, group)  # the group's own; new group: pooled
        tables: dict = {}  # budget -> (ln N grid, GP mean there): the GP mean is one function
        # tabulated over the whole search range on purpose, not the law's own (which a law may
        # narrow, Farseer: LossSurfaceLaw.search_range): the whole holds any law's narrowed
        # search, and isoflop_profile evaluates sizes outside that too (near_optimal's grid)

        def gp_mean(u_q, C_q):
            if C_q not in tables:
                from scipy.interpolate import CubicSpline  # on use: a light import of posterior

                lo, hi = (float(b[0]) for b in search_bounds(np.array([C_q])))
                grid = np.linspace(lo, hi, LINE_GRID)
                N = np.exp(grid)
                mean, _ = gp.conditional(state, N, compute_model.tokens(N, C_q))
                tables[C_q] = CubicSpline(grid, mean, extrapolate=False), grid[[0, -1]]
            spline, (lo, hi) = tables[C_q]
            return spline(np.clip(u_q, lo, hi))  # smooth: no kink at a knot for a minimum

        def extra(u, C):
            term = drift.line_term(slopes, ranges, compute_model, C, u, self.fit.compute_model)
            if state is not None:
                for q, C_q in enumerate(np.asarray(C, float)):
                    term[:, q, :] += gp_mean(u[:, q, :], float(C_q))
            return term

        return extra

    def allocation(self, C, compute_model, *, group=None, method: str = "auto") -> dict:
        """Compute-optimal allocation draws at budgets C (FLOPs): N_opt, D_opt, L_opt,
        at_boundary (S, Q) and the method used."""
        out: dict = {}
        used = set()
        rng = self.group_rng(6, group)
        for part in self.parts:
            values = part.law.allocation(
                part.post,
                C,
                compute_model,
                group=group,
                rng=rng,
                method=method,
                extra=self._line_extra(part, compute_model, group),
            )
            used.add(values.pop("method"))
            for name, v in values.items():
                if name not in out:
                    out[name] = np.empty((self.S,) + np.shape(v)[1:], dtype=np.asarray(v).dtype)
                out[name][part.rows] = v
        out["method"] = "+".join(sorted(used))
        return out

    def isoflop_profile(self, C: float, N, compute_model, *, group=None) -> np.ndarray:
        """ln f along the isoFLOP line of budget C at sizes N, per draw: (S, G)."""
        out = np.empty((self.S, len(N)))
        rng = self.group_rng(6, group)
        for part in self.parts:
            out[part.rows] = part.law.isoflop_profile(
                part.post,
                C,
                N,
                compute_model,
                group=group,
                rng=rng,
                extra=self._line_extra(part, compute_model, group),
            )
        return out


def _subset(post, rows):
    from dataclasses import replace

    return replace(post, draws={k: np.asarray(v)[rows] for k, v in post.draws.items()})


def _note(fit, component: str, reason: str) -> None:
    """Record (once) in the fit's cache why a part of the model is not used."""
    recorded = dict(fit.cache.get("unavailable") or {})
    if component not in recorded:
        recorded[component] = reason
        fit.cache["unavailable"] = recorded
