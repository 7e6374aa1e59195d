"""The linear-Gaussian estimate of expected information, on posterior draws (JAX, float64).

The draws of the target ``t`` (without its drift beyond the training range, which is added back
in closed form: :mod:`.discrepancy`) and of the candidates' predicted observations ``f`` are
treated as jointly Gaussian (their sample covariance), the noise as Gaussian with the variance
of the same Fisher information about the location as the law's noise family (posterior mean:
:attr:`Problem.obs_var`, :func:`info_equivalent_var_factor`). A candidate unit u removes part
of the target's drift by moving the training range towards the target (``M_u``) and is
observed as ``y_u = f_u + noise``. Its value is

* ``criterion="marginal"`` (default): the information about each target component, summed,
  ``sum_j 0.5 log(Var t_j / Var(t_j after u | y_u))`` (nats; the same as ``"info"`` for a scalar
  target). Each component is what a user is scored on (its error and interval), so a unit is
  valued by how much it narrows the components, not the near-degenerate contrasts between them;
* ``criterion="info"``: the joint information ``I = 0.5 log det Sigma_t / Sigma_{t after u | y_u}``
  (nats; ``-0.5 log(1 - rho^2)`` for a scalar t without drift). With many strongly correlated
  components (e.g. the losses of 23 runs) the log det is dominated by the tiny variances of
  their contrasts, which cheap runs pin, and can even fall when a unit removes the drift
  shared by all components; for all parameters (both criteria)
  ``I(theta; y_u) = 0.5 log det (Var_post[f_u] + noise) / noise`` (D-optimal);
* ``criterion="v_optimal"``: the reduction of the summed posterior variance of the target
  components, ``tr Sigma_t - tr Sigma_{t - g M_u | y_u}`` (the classical V-optimal design when
  the target is the predictions at the points of interest and the method is ``"none"``).

:func:`unit_gains` scores every candidate unit at once; :func:`condition_rows` conditions the
joint Gaussian on the observations of a picked unit (greedy batches, :mod:`.batch`).

A :class:`Problem` holds one design problem: the candidates grouped into units, the target
draws, their drift and the predicted observations (the law's
:meth:`~bayeslaws.laws.contract.Law.observations`, or the model's own draws for a loss surface
with a discrepancy).
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass, replace

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ..inference import memory
from ..laws.contract import groups_named, near_label_hint, resolve_group
from ..laws.likelihoods import HUBER_DELTA, check_family
from ..posterior.extrapolation import drift
from ..posterior.extrapolation.distance import fitted_label
from ..runs.warn import user_stacklevel
from . import discrepancy
from .candidates import (
    GroupWarning,
    candidates_model,
    check_candidates,
    fit_groups,
    group_option,
    group_text,
    positive_int,
    unit_codes,
)
from .targets import AllParameters, as_targets, line_minimum_components, target_draws


class DesignWarning(UserWarning):
    """A design value is not to be trusted as it stands: the reweighted estimate rests on few
    effective draws, the Gaussian (linearised) values disagree with reweighting where the
    law's runs depend on the target nonlinearly, or a run's drift removal is credited at one
    point of a target that minimises along a line (:func:`line_drift_message`)."""


PAD_NOISE = 1e12  # noise variance of padded observations: they carry no information
CRITERIA = ("marginal", "info", "v_optimal")


def info_equivalent_var_factor(family: str, nu=None):
    """The linearised value's noise variance in units of the family's scale squared: that of the
    Gaussian with the same Fisher information about the location as the family's unit-scale
    noise (the Laplace / Fisher approximation of an observation's likelihood): 1 Gaussian,
    ``(nu + 3) / (nu + 1)`` Student-t (per draw: ``nu`` a number, numpy or JAX array; finite
    for every nu > 0), ``1 / P(|u| <= delta)`` Huber (:func:`huber_info_var`).

    Fisher information, not variance matching: a Student-t's variance is infinite for nu <= 2,
    yet each of its observations carries ``(nu + 1) / ((nu + 3) sigma^2)`` about the location
    (a capped variance let the few draws with nu <= 2 carry most of the mean noise variance and
    valued runs far too low); Huber's variance, 1.476 sigma^2, is above its information's
    ``1 / (1.292 sigma^2)``, so it undervalued runs. Unknown ``family``, or Student-t without
    ``nu``: ValueError."""
    check_family(family)
    if family == "student_t":
        if nu is None:
            raise ValueError("family 'student_t' needs nu, its degrees of freedom (per draw)")
        return (nu + 3.0) / (nu + 1.0)
    if family == "huber":
        return huber_info_var()
    return 1.0


def huber_info_var(delta: float = HUBER_DELTA) -> float:
    """``1 / P(|u| <= delta)`` under the normalised Huber density ``exp(-rho(u)) / Z(delta)``
    (:class:`~bayeslaws.laws.likelihoods.Huber`, unit scale): the inverse of its Fisher
    information about the location, ``E[psi'(u)] = E[psi(u)^2] = P(|u| <= delta)`` (1.292 at
    delta = 1.345)."""
    core = math.sqrt(2 * math.pi) * math.erf(delta / math.sqrt(2))  # the mass within delta x Z
    tail = 2 * math.exp(-0.5 * delta**2) / delta
    return (core + tail) / core


# ---- Gaussian estimator (JAX, float64) ---------------------------------------------------------
def _logdet(a):
    return 2.0 * jnp.sum(jnp.log(jnp.diagonal(jnp.linalg.cholesky(a), axis1=-2, axis2=-1)), -1)


@functools.partial(jax.jit, static_argnames=("n_target", "criterion"))
def unit_gains(A, W, idx, noise_row, nuis, DP, MU, slope_var, *, n_target, criterion="marginal"):
    """Value of every unit given the conditioning rows W.

    A (S, T + R): centred draws / sqrt(S - 1) of [target without its drift | predictions]; W
    (K', T + R) low-rank conditioning; idx (U, m) row indices (into R; padded rows point to row
    0 with huge noise); noise_row (U, m); nuis (U, m, m) each unit's covariance of its unknown
    levels, ``sum_l nu_l 1_l 1_l^T`` over the unit's levels l (ln loss squared;
    :attr:`Problem.nuis`), or (U,) one level shared by all of a unit's rows; DP (K, T) the
    target's drift coefficients per slope axis left after the earlier picks; MU (U, K, T) those
    each unit removes, both in units of the pooled slope sd (:meth:`Problem.drift_terms`);
    slope_var the pooled second moment of one slope (:mod:`.discrepancy`; K = 0 without a
    drift). n_target: T (0 -> all parameters).
    Returns (values (U,), posterior target variances after each unit (U, T) or zeros).
    """
    Fa = A[:, n_target:][:, idx]  # (S, U, m)
    Fw = W[:, n_target:][:, idx]  # (K', U, m)
    m = idx.shape[1]
    U = idx.shape[0]
    B = jnp.einsum("sui,suj->uij", Fa, Fa) - jnp.einsum("kui,kuj->uij", Fw, Fw)
    noise = jax.vmap(jnp.diag)(noise_row) + level_matrix(nuis, m)
    B = B + noise
    if n_target == 0:
        gains = 0.5 * (_logdet(B) - _logdet(noise))
        return gains, jnp.zeros((U, 1))
    Ta, Tw = A[:, :n_target], W[:, :n_target]
    St = Ta.T @ Ta - Tw.T @ Tw  # (T, T): the target without drift, given the earlier picks
    Cx = jnp.einsum("st,sui->uti", Ta, Fa) - jnp.einsum("kt,kui->uti", Tw, Fw)  # (U, T, m)
    L = jnp.linalg.cholesky(B)
    Z = jax.scipy.linalg.solve_triangular(L, jnp.swapaxes(Cx, 1, 2), lower=True)  # (U, m, T)
    left = DP[None] - MU  # (U, K, T): the drift left after each unit
    before = St + slope_var * DP.T @ DP
    if criterion in ("v_optimal", "marginal"):  # variances only: (U, T), never (U, T, T)
        post_var = jnp.diagonal(St)[None] - jnp.sum(Z**2, axis=1)
        post_var = post_var + slope_var * jnp.sum(left**2, axis=1)
        if criterion == "marginal":
            return marginal_information(jnp.diagonal(before), post_var), post_var
        return jnp.trace(before) - post_var.sum(axis=1), post_var
    post = St[None] - jnp.einsum("umt,ums->uts", Z, Z)
    post = post + slope_var * jnp.einsum("ukt,uks->uts", left, left)
    gains = 0.5 * (_logdet(before) - _logdet(post))
    return gains, jnp.diagonal(post, axis1=1, axis2=2)


def marginal_information(before, after):
    """Summed information about each component (nats): ``sum_j 0.5 ln(before_j / after_j)``.
    before (T,) and after (U, T): the components' variances before and after each unit."""
    tiny = 1e-300
    return 0.5 * jnp.sum(jnp.log(jnp.maximum(before, tiny)[None] / jnp.maximum(after, tiny)), -1)


def level_matrix(nuis, m: int):
    """The covariance (..., m, m) of the unknown levels: ``nuis`` itself when it is one
    ((..., m', m'), m' >= m: its first m rows and columns, a unit's observed rows coming before
    its padding), or a variance (...,) of one level shared by all m rows."""
    if nuis.ndim >= 2:
        return nuis[..., :m, :m]
    return nuis[..., None, None] * jnp.ones((m, m))


@jax.jit
def condition_rows(A, W, rows, noise, nuis):
    """New low-rank rows (m, T + R) after observing candidate rows at columns ``rows`` of A
    (row index + T) with noise variances ``noise`` (m,) and the covariance of their unknown
    levels ``nuis`` (m', m'), m' >= m (a unit's row of :attr:`Problem.nuis`: its first m rows
    and columns are the observed rows'), or a variance () of one level shared by all m rows."""
    Ar, Wr = A[:, rows], W[:, rows]  # (S, m), (K', m)
    G = A.T @ Ar - W.T @ Wr  # (T + R, m): Cov(everything, f_rows)
    m = rows.shape[0]
    B = Ar.T @ Ar - Wr.T @ Wr + jnp.diag(noise) + level_matrix(jnp.asarray(nuis), m)
    L = jnp.linalg.cholesky(B)
    return jax.scipy.linalg.solve_triangular(L, G.T, lower=True)  # (m, T + R)


def slope_moments(slopes, groups: dict) -> tuple[float, np.ndarray]:
    """(slope_var, axis_scale (5,)): the drift slopes' second moment pooled over the draws and
    every axis (ln loss^2 per decade^2), and each axis's slope sd relative to it.

    ``groups`` ({group: axes}, :func:`~bayeslaws.posterior.extrapolation.drift.grouping_of`)
    says which axes the drift state draws with one scale: within a group the pooled moment is
    the efficient estimate of the common variance; across groups (e.g. "tilt" and "level") each
    group has its own. One group (the isotropic default): every ratio is exactly 1."""
    slopes = np.asarray(slopes, float)
    pooled = float(np.mean(slopes**2))
    scale = np.ones(slopes.shape[1])
    if len(groups) == 1 or pooled <= 0:
        return pooled, scale
    for axes in groups.values():
        cols = [drift.AXES.index(a) for a in axes]
        scale[cols] = np.sqrt(np.mean(slopes[:, cols] ** 2) / pooled)
    return pooled, scale


def centred(x):
    x = np.asarray(x, float)
    return (x - x.mean(axis=0)) / np.sqrt(max(len(x) - 1, 1))


@dataclass
class Problem:
    """One design problem.

    cands : the checked candidate rows (N, D, C, ..., unit; C in the candidates' own compute
        model, which costs them).
    cands_fit : the same rows with C in the fit's compute model
        (:func:`.discrepancy.in_fit_flops`; ``cands`` itself when the models agree): what the
        training range, the law and the drift measure.
    labels : (U,) unit labels; row_unit (R_c,) each candidate row's unit index.
    tdraws, tlabels : target draws (S, T) on the log scale (None: all parameters) and labels.
    tpoints : each target component's point (T rows: N, D, C), or None.
    beta : (T, 5) the target's drift per decade and unit slope (:mod:`.discrepancy`), or None
        (no drift: K = 0).
    slope_var : the second moment of one drift slope over the draws and axes (0 without a
        drift).
    axis_scale : (5,) each axis's slope sd relative to ``sqrt(slope_var)`` (:func:`slope_moments`:
        all 1 when the drift state draws every axis with one scale), or None without a drift.
    ranges : the training range each target component's drift is measured from, stacked
        (column -> [lows (T,), highs (T,)], :func:`.discrepancy.target_ranges`): a fitted
        group's target its group's own runs', a new group's (or a fit without groups) the
        pooled range.
    method : the extrapolation method of the draws.
    obs_mean, obs_sigma, obs_nu, family : the predicted observations (S, R), their noise scale
        (S, R), Student-t dof (S,) or None, and noise family.
    idx : (U, m) observation indices per unit, padded with -1.
    A : centred draws / sqrt(S - 1) of [target without its drift | observations]: (S, T + R).
        The target's drift ``g @ (beta * d)`` is taken out draw by draw and its variance added
        back in closed form (slope axes uncorrelated, axis k with variance
        ``slope_var * axis_scale[k]**2``), so the design removes exactly the drift a unit's
        range expansion removes.
    noise_row : (U, m) noise variance of each unit's observations (PAD_NOISE for padding).
    levels : (U, m) int, each of a unit's observations' unknown level (:attr:`~bayeslaws.laws.
        contract.Observations.level`: e.g. its new cell's), numbered 0, 1, ... within the unit
        in the order of its rows; -1 none (a fitted cell's run). Padded rows join the first
        row's level (they carry nothing, PAD_NOISE; a unit of one level so keeps one level over
        all its m rows, as :func:`unit_gains` always had it).
    level_var : (U, m) the variance of each unit's level l (ln loss squared; the largest
        nuisance of its rows), at column l (0 beyond the unit's levels).
    nuis : (U, m, m) each unit's covariance of its unknown levels, ``sum_l level_var_l 1_l
        1_l^T`` (:func:`level_covariance`): independent levels for runs at different new cells
        (a unit with sweeps at two new cells is worth what the two sweeps are together), none
        for runs at fitted cells. Levels are independent across units: two units at one new
        cell are valued as if each had its own level (the one level they share is not
        conditioned on after a pick).
    slope_draws : (S, K) each draw's drift slopes divided by ``axis_scale``, so that the drift
        in draw s of the target is ``slope_draws[s] @ DP`` (:meth:`drift_terms`), or None
        without a drift; kept for the widths after a unit (:func:`widths_after`).
    slope_groups : the slope axes (indices into K) drawn with one scale, one tuple per group of
        the drift state (:func:`~bayeslaws.posterior.extrapolation.drift.grouping_of`: one
        group of all five axes by default), or None without a drift.
    widens : (T,) bool, the components whose range the candidates' runs widen
        (:func:`.discrepancy.widened_by`: not another fitted group's own range), or None (all).
    """

    cands: pd.DataFrame
    cands_fit: pd.DataFrame
    labels: np.ndarray
    row_unit: np.ndarray
    tdraws: np.ndarray | None
    tlabels: list
    tpoints: pd.DataFrame | None
    beta: np.ndarray | None
    slope_var: float
    axis_scale: np.ndarray | None
    ranges: dict
    method: str
    obs_mean: np.ndarray
    obs_sigma: np.ndarray
    obs_nu: np.ndarray | None
    family: str
    idx: np.ndarray
    A: np.ndarray
    noise_row: np.ndarray
    nuis: np.ndarray
    levels: np.ndarray | None = None
    level_var: np.ndarray | None = None
    slope_draws: np.ndarray | None = None
    slope_groups: tuple | None = None
    widens: np.ndarray | None = None

    @property
    def n_target(self) -> int:
        return 0 if self.tdraws is None else self.tdraws.shape[1]

    @property
    def n_slope(self) -> int:
        return 0 if self.beta is None else self.beta.shape[1]

    @property
    def head(self) -> int:
        """Columns of A before the observations."""
        return self.n_target

    @property
    def obs_var(self) -> np.ndarray:
        """(R,) each observation's noise variance as the values use it: the posterior mean of
        ``sigma**2`` times the family's :func:`info_equivalent_var_factor` (ln loss squared)."""
        factor = info_equivalent_var_factor(
            self.family, None if self.obs_nu is None else self.obs_nu[:, None]
        )
        return np.mean(self.obs_sigma**2 * factor, axis=0)

    def unit_bounds(self) -> np.ndarray:
        """(U, 3, 2): each unit's [min, max] of N, D, C over its candidate rows (C in the fit's
        compute model, as the training range)."""
        cols = self.cands_fit[["N", "D", "C"]].to_numpy(float)
        U = len(self.labels)
        lo = np.full((U, 3), np.inf)
        hi = np.zeros((U, 3))
        np.minimum.at(lo, self.row_unit, cols)
        np.maximum.at(hi, self.row_unit, cols)
        return np.stack([lo, hi], axis=-1)

    def drift_terms(self, picked) -> tuple[np.ndarray, np.ndarray]:
        """(DP (K, T), MU (U, K, T)): the target's drift coefficients per slope axis left after
        the runs ``picked`` (unit indices) widen the training range, and those each unit would
        remove on top of them (:mod:`.discrepancy`), in units of the pooled slope sd (times
        ``axis_scale``: the drift's variance is ``slope_var * sum_k DP_k**2``). Zero-sized
        without a drift."""
        U, T, K = len(self.labels), self.n_target, self.n_slope
        if K == 0 or T == 0:
            return np.zeros((K, T)), np.zeros((U, K, T))
        rows = self.cands_fit[np.isin(self.row_unit, list(picked))]
        now = discrepancy.expanded(self.ranges, rows, self.widens)
        DP = (discrepancy.point_distances(self.tpoints, now) * self.beta).T  # (K, T)
        MU = discrepancy.unit_reductions(
            self.tpoints, self.beta, now, self.unit_bounds(), self.widens
        )
        return DP * self.axis_scale[:, None], MU * self.axis_scale[None, :, None]

    def prior_cov(self, DP=None) -> np.ndarray:
        """(T, T): the target's covariance before any pick (ln units squared), as
        :func:`unit_gains` values it: the draws' without the drift plus the drift's in closed
        form (``DP``: :meth:`drift_terms`' first part, if already at hand)."""
        DP = self.drift_terms([])[0] if DP is None else DP
        At = self.A[:, : self.n_target]
        return At.T @ At + self.slope_var * DP.T @ DP


def candidate_group(fit, df: pd.DataFrame, group):
    """The group the candidates are valued as, as the fit's own label (2, 2.0 and "2" name its
    group "2", as ``predict`` reads them): ``group``, or with ``group=None`` the one label
    of their ``group`` column (a new group, None, when the fit has no such group: e.g. the
    candidates of a new data set; a :class:`GroupWarning` names the label and the fit's groups,
    since a misspelt label, "Comma" for "comma", would otherwise be valued as a new group
    silently). For a grouped fit the column must hold one label, equal to ``group`` when both
    are given (ValueError naming them otherwise: the values would be another group's than the
    guardrails count). For a fit without groups the values do not depend on a group, and the
    column only labels the runs for the guardrails. A ``group`` a grouped fit does not know is
    refused first (ValueError naming the fit's groups, as ``predict``), before any warning
    about the target's group."""
    if group is not None and fit_groups(fit):
        resolve_group(fit.posterior().groups, group)
    if "group" not in df or not fit_groups(fit):
        return group if group is None else fitted_label(fit, group) or group
    labels = list(dict.fromkeys(group_text(fit, g) for g in df["group"]))
    if len(labels) > 1:
        raise ValueError(
            f"cands['group'] holds several groups {labels}: one call values its candidates as "
            "one group of the fit; design each group's candidates in its own call (Python: "
            "next_runs(..., group=...) per group; command line: a candidates file per group, "
            "each with its --group)"
        )
    if group is not None and group_text(fit, group) != labels[0]:
        raise ValueError(
            f"cands['group'] is {labels[0]!r} but group={group!r}: the candidates would be "
            f"valued as group {group_text(fit, group)!r} while the guardrails count them as "
            f"{labels[0]!r}; "
            "make them agree, or give no group to use the column's (Python: group=None; "
            "command line: no --group)"
        )
    if group is None and labels[0] not in fit_groups(fit):
        warnings.warn(
            unknown_label_message(labels[0], fit_groups(fit)), GroupWarning,
            stacklevel=user_stacklevel(),
        )
        return None  # a label the fit has not seen: a new group, as group=None is
    return labels[0]  # the fit's own label (7.0 or "7" of a group column: the fit's "7")


def unknown_label_message(label: str, groups: list) -> str:
    """Why candidates labelled ``label`` (not one of the fit's ``groups``) are valued as a new
    group, with the nearest fitted label when one is close (a misspelling); more than
    ``GROUPS_NAMED`` groups: the first of them and how many more."""
    hint = near_label_hint(label, groups)
    return (
        f"cands['group'] is {label!r}, which is not one of the fit's groups "
        f"{groups_named(groups)}{hint}: the "
        "candidates are valued as runs of a NEW group (as when no group is given: right for a "
        "data set the fit has not seen); if they are a fitted group's runs, label them with its "
        "exact name"
    )


def target_groups(target) -> list:
    """Each target component's group (T,) in the order of the target's labels: its part's
    ``group`` (None: a new group; all parameters have no components)."""
    targets = as_targets(AllParameters() if target is None else target)
    return [getattr(t, "group", None) for t in targets for _ in t.labels()]


def target_group_message(fit, target, group) -> str | None:
    """Why the target is for another group than the candidates (``group``: the group they are
    valued as, :func:`candidate_group`; None a new group), or None when they agree (or the fit
    has no groups, or the target is all parameters). The target's ``group=None`` is a NEW
    group (as in ``predict``), whatever the candidates are: it is never changed, only warned."""
    groups = fit_groups(fit)
    if not groups:
        return None
    cands_group = None if group is None else group_text(fit, group)
    odd = other_group_targets(target, cands_group, fit)
    if not odd:
        return None
    named = "; ".join(
        f"{', '.join(labs)} for {'a NEW group' if g is None else f'group {g!r}'}"
        for g, labs in odd.items()
    )
    if cands_group is None:
        fix = (
            "if they are a fitted group's runs, name the group (Python: pass group= or a "
            "cands['group'] column with its exact label; command line: --group GROUP, or a "
            "group column in the candidates file with its exact label)"
        )
        whose = "runs of a NEW group (no group given and no fitted label in their group column)"
    else:
        fix = (
            f"for a target of group {cands_group!r}, give the target that group (Python: give "
            f"it group={cands_group!r}; command line: {group_option(cands_group)}, which sets "
            "the target's group and the candidates' alike)"
        )
        if None in odd:
            fix += "; a target given no group is a new group's, whose interval is wider"
        whose = f"runs of group {cands_group!r}"
    return (
        f"the candidates are valued as {whose}, but the target is {named} (of the fit's groups "
        f"{groups}): they are ranked by what they tell about another group's quantity (through "
        f"the parameters the groups share); {fix}"
    )


def other_group_targets(target, cands_group: str | None, fit) -> dict:
    """{target group (str, None: a new group): its component labels} of the target's parts
    whose group is not ``cands_group`` (the fit's label or None; all parameters have no
    group: never listed). A target's group is read as ``fit``'s label (2.0 is the group "2",
    as ``predict`` reads it: :func:`.candidates.group_text`)."""
    odd: dict = {}
    for t in as_targets(AllParameters() if target is None else target):
        if isinstance(t, AllParameters):
            continue
        given = getattr(t, "group", None)
        t_group = None if given is None else group_text(fit, given)
        if t_group != cands_group:
            odd.setdefault(t_group, []).extend(t.labels())
    return odd


def setup(
    fit, cands, target, seed: int, max_draws=None, group=None, model: str | None = None
) -> Problem:
    """Check the candidates, draw the target, the drift slopes and the predicted observations
    (one set of draws, extrapolation method :func:`.discrepancy.design_method` of ``model``).
    ``group``: the candidates' group (:func:`candidate_group`); a :class:`GroupWarning` when the
    target is for another group (:func:`target_group_message`)."""
    memory.release_if_crowded()  # each new number of candidates compiles (memory mappings)
    df = check_candidates(fit, cands, group)
    group = candidate_group(fit, df, group)
    seen = discrepancy.in_fit_flops(fit, df, candidates_model(fit, df))  # C as the fit counts
    labels, row_unit = unit_codes(df)
    target = AllParameters() if target is None else target
    method = discrepancy.design_method(model, fit)
    tdraws, tlabels, tpoints = target_draws(fit, target, seed, method)
    tgroups = target_groups(target)  # (T,): each component's group
    ranges = discrepancy.target_ranges(fit, tgroups)  # as each component's draws measure it
    mismatch = target_group_message(fit, target, group)
    if mismatch:
        warnings.warn(mismatch, GroupWarning, stacklevel=user_stacklevel())
    mv = discrepancy.view(fit, method, seed)
    rng = discrepancy.observation_rng(mv, seed, group)  # a new group: the target's
    obs = fit.law.observations(fit.posterior(), seen, group=group, rng=rng)
    mean = np.asarray(obs.mean, float)
    S, R = mean.shape
    slopes = discrepancy.slopes_of(mv)
    if R == len(df):  # one observation per candidate row: the model's own draws for a surface
        own = discrepancy.observation_means(fit, seen, mv, slopes, group)
        mean = mean if own is None else own
    sigma = np.broadcast_to(np.asarray(obs.sigma, float).reshape(S, -1), (S, R)).copy()
    nu = None if obs.nu is None else np.asarray(obs.nu, float)
    if max_draws is not None:
        positive_int("max_draws", max_draws, 2)
        if S > max_draws:
            sel = np.random.default_rng(seed).choice(S, max_draws, replace=False)
            mean, sigma = mean[sel], sigma[sel]
            nu = None if nu is None else nu[sel]
            tdraws = None if tdraws is None else tdraws[sel]
            slopes = None if slopes is None else slopes[sel]
    beta, slope_var, axis_scale, rest, slope_groups = None, 0.0, None, tdraws, None
    if tdraws is not None and slopes is not None:
        d_now = discrepancy.point_distances(tpoints, ranges)
        beta = discrepancy.sensitivities(tdraws, slopes, d_now)
        if np.any(beta):
            rest = tdraws - slopes @ (beta * d_now).T  # the target without its drift
            groups = drift.grouping_of(drift.state_of(fit))  # the axes drawn with one scale
            slope_var, axis_scale = slope_moments(slopes, groups)
            slope_groups = tuple(tuple(drift.AXES.index(a) for a in ax) for ax in groups.values())
        else:
            beta = None  # the target lies inside the range: no drift to remove
    # observations grouped by the candidates' units
    label_index = {label: u for u, label in enumerate(labels)}
    try:
        obs_unit = np.array([label_index[u] for u in obs.unit])
    except KeyError as err:
        raise ValueError(
            f"law {fit.law.name!r} returned an observation of unknown unit {err}"
        ) from None
    U = len(labels)
    sizes = np.bincount(obs_unit, minlength=U)
    idx = -np.ones((U, max(int(sizes.max()), 1)), dtype=np.int64)
    fill = np.zeros(U, dtype=np.int64)
    for r, u in enumerate(obs_unit):
        idx[u, fill[u]] = r
        fill[u] += 1
    A = centred(mean if tdraws is None else np.concatenate([rest, mean], axis=1))
    problem = Problem(
        cands=df,
        cands_fit=seen,
        labels=labels,
        row_unit=row_unit,
        tdraws=tdraws,
        tlabels=tlabels,
        tpoints=tpoints,
        beta=beta,
        slope_var=slope_var,
        axis_scale=axis_scale,
        ranges=ranges,
        method=method,
        obs_mean=mean,
        obs_sigma=sigma,
        obs_nu=nu,
        family=obs.family,
        idx=idx,
        A=A,
        noise_row=np.zeros(idx.shape),
        nuis=np.zeros((U, idx.shape[1], idx.shape[1])),
        slope_draws=None if beta is None else slopes / axis_scale,
        slope_groups=slope_groups,
        widens=discrepancy.widened_by(fit, tgroups, group),
    )
    var = problem.obs_var
    problem.noise_row = np.where(idx >= 0, var[np.maximum(idx, 0)], PAD_NOISE)
    problem.levels, problem.level_var = unit_levels(idx, obs, fit.law.name)
    problem.nuis = level_covariance(problem.levels, problem.level_var)
    message = line_drift_message(problem, line_minimum_components(target))
    if message:
        warnings.warn(message, DesignWarning, stacklevel=user_stacklevel())
    return problem


def line_drift_message(p: Problem, line) -> str | None:
    """Why the values of ``p``'s units overstate what they tell about the components whose
    draws minimise along a line (``line`` (T,) bool, :func:`.targets.line_minimum_components`:
    N_opt), or None when no unit removes drift from such a component.

    The drift removal (:mod:`.discrepancy`) is linear at one point per component (N_opt's:
    the median on its isoFLOP line): a run putting that point inside the training range is
    credited with removing all the drift the regression on the slopes assigns there. But
    each draw's N_opt minimises along the whole line, and the drift beyond the widened range
    on both sides of the point stays, so recomputing the model's own N_opt draws with the
    range widened removes much less of their variance than the design credits."""
    if p.beta is None or not np.any(line):
        return None
    DP, MU = p.drift_terms([])
    credited = [j for j in np.flatnonzero(line) if np.any(MU[:, :, j])]
    if not credited:
        return None
    before = np.diagonal(p.prior_cov(DP))
    shares = ", ".join(
        f"{p.tlabels[j]} ({p.slope_var * np.sum(DP[:, j] ** 2) / before[j]:.0%} of its variance)"
        for j in credited
    )
    return (
        f"under model {p.method!r} the design credits runs beyond the training range with "
        f"removing the drift of {shares}, measured at one point (the median on the isoFLOP "
        "line) as if a run putting that point inside the range removed it all; but N_opt "
        "minimises along the whole isoFLOP line, whose drift beyond the widened range stays, "
        "so those runs' values (info) and width_after overstate what they tell about it; "
        "model 'none' values runs under the law alone (Python: model='none'; command line: "
        "--model none)"
    )


def unit_levels(idx: np.ndarray, obs, law_name: str) -> tuple[np.ndarray, np.ndarray]:
    """(levels (U, m) int, level_var (U, m)) of the units ``idx`` (U, m) (padded with -1), from
    the law's :class:`~bayeslaws.laws.contract.Observations` ``obs``: each unit's observations
    with a nuisance > 0 and the same ``obs.level`` share one unknown level (-1: one of their
    own), numbered 0, 1, ... within the unit; its variance is the largest of their nuisances.
    :attr:`Problem.levels` says how padding is treated. ValueError naming the law when it gives
    a nuisance without level ids, or level ids of the wrong shape."""
    nuisance = np.asarray(obs.nuisance, float)
    R = len(nuisance)
    if obs.level is None:
        if np.any(nuisance > 0):
            raise ValueError(
                f"law {law_name!r} returned observations with a nuisance (an unknown level) but "
                "no Observations.level saying which observations share it"
            )
        ids = np.full(R, -1)
    else:
        ids = np.asarray(obs.level)
        if ids.shape != (R,) or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(
                f"law {law_name!r} returned Observations.level of shape {ids.shape} and dtype "
                f"{ids.dtype}; it must be ({R},) integers, one per observation"
            )
    U, m = idx.shape
    levels = np.full((U, m), -1, dtype=np.int64)
    level_var = np.zeros((U, m))
    for u in range(U):
        seen: dict = {}
        for i, r in enumerate(idx[u]):
            if r < 0 or nuisance[r] <= 0:
                continue
            key = ("own", int(r)) if ids[r] < 0 else int(ids[r])
            lev = seen.setdefault(key, len(seen))
            levels[u, i] = lev
            level_var[u, lev] = max(level_var[u, lev], nuisance[r])
        levels[u, idx[u] < 0] = levels[u, 0]  # padding: the first row's level
    return levels, level_var


def level_covariance(levels: np.ndarray, level_var: np.ndarray) -> np.ndarray:
    """(U, m, m): each unit's covariance of its unknown levels, ``sum_l level_var_l 1_l
    1_l^T`` over its levels (:attr:`Problem.levels`; -1 none)."""
    var = np.take_along_axis(level_var, np.maximum(levels, 0), axis=1)  # (U, m): each row's
    same = (levels[:, :, None] == levels[:, None, :]) & (levels[:, :, None] >= 0)
    return np.where(same, var[:, :, None], 0.0)


def check_criterion(p: Problem, criterion: str) -> None:
    """Raise when the criterion is undefined for the target: "v_optimal" without a target (all
    parameters have no summed variance to reduce; it would silently be D-optimal), and "info"
    (a log det) with a singular covariance of the target components (duplicated components, or
    more components than posterior draws), where a ranking on it is arbitrary."""
    T = p.n_target
    if criterion == "v_optimal" and T == 0:
        raise ValueError(
            "criterion='v_optimal' needs a target (the summed variance of its components), but "
            "target is AllParameters (the default), valued by the D-optimal log det whatever the "
            "criterion: give a target (e.g. Loss at the points of interest) or use "
            "criterion='marginal'"
        )
    if criterion != "info" or T < 2:
        return
    before = p.prior_cov()
    rank = np.linalg.matrix_rank(before, hermitian=True)
    if rank < T:
        raise ValueError(
            f"criterion='info' needs a non-singular covariance of the target's {T} components, "
            f"but it has rank {rank} (duplicated components, or more components than the "
            f"{p.A.shape[0]} draws): its log det is undefined; remove the duplicates, use fewer "
            "components or more draws, or use criterion='marginal' (the default)"
        )


# the candidate columns a unit row takes from its first run whatever its other runs hold (the
# unit's size, tokens and one run's FLOPs), and its label
UNIT_COLUMNS = ("N", "D", "C", "unit")


def unit_rows(p: Problem) -> pd.DataFrame:
    """One row per unit (U rows, in unit order): N (params), D (tokens) and C (one run's FLOPs)
    of its first candidate row, ``unit``, ``n_runs`` (its candidate rows), and each other
    candidate column at the value its runs share. A column whose runs differ within some unit
    (an LR x batch sweep's ``lr`` and ``batch_size``) is NaN in each unit whose runs differ
    (no one run's setting stands for the unit) and gets, after it, ``<col>_min``,
    ``<col>_max`` and ``<col>_values`` (the number of distinct values; missing values aside;
    min and max only for a numeric column) for every unit: a unit of one setting has min = max
    = its value and 1 value. The runs to train, each with its own setting:
    :func:`~.batch.runs_of_plan`."""
    U = len(p.labels)
    first = np.array([np.argmax(p.row_unit == u) for u in range(U)])
    out = p.cands.iloc[first].reset_index(drop=True)
    for col in [c for c in p.cands.columns if c not in UNIT_COLUMNS]:
        spread = _unit_spread(p.cands[col].to_numpy(), p.row_unit, U)
        if spread is None:
            continue
        varies, summary = spread
        out[col] = out[col].where(~varies)
        at = out.columns.get_loc(col) + 1
        for i, (name, values) in enumerate(summary.items()):
            out.insert(at + i, f"{col}_{name}", values)
    out["unit"] = p.labels
    out["n_runs"] = np.bincount(p.row_unit, minlength=U)
    return out


def _unit_spread(values: np.ndarray, row_unit: np.ndarray, U: int):
    """How one candidate column (``values``, one per row; ``row_unit`` (R,) each row's unit)
    spreads within each of the U units: None when no unit's rows differ in it (missing values
    count as a value), else (``varies`` (U,) bool: the units whose rows differ, {"min": (U,),
    "max": (U,), "values": (U,) int}: each unit's lowest and highest value and number of
    distinct values, missing values aside; no min or max for a non-numeric column)."""
    grouped = pd.Series(values).groupby(row_unit)
    varies = grouped.nunique(dropna=False).reindex(range(U), fill_value=1).to_numpy() > 1
    if not varies.any():
        return None
    summary = {}
    if pd.api.types.is_numeric_dtype(values.dtype):
        summary["min"] = grouped.min().reindex(range(U)).to_numpy()
        summary["max"] = grouped.max().reindex(range(U)).to_numpy()
    summary["values"] = grouped.nunique().reindex(range(U), fill_value=0).to_numpy(int)
    return varies, summary


def widths(tdraws, ci):
    """Central ``ci`` interval widths (natural scale) of each target component, or None."""
    if tdraws is None:
        return None
    lo, hi = np.quantile(np.exp(tdraws), [(1 - ci) / 2, (1 + ci) / 2], axis=0)
    return hi - lo


@dataclass(frozen=True)
class WidthBasis:
    """What the widths after a unit are predicted from (:func:`width_basis`): the interval mass
    ``ci``, the target's widths now (T,) (natural scale), its variance now as the values use it
    (T,) (ln units squared: :meth:`Problem.prior_cov`), and with a drift: ``centre`` (T,) and
    ``spread`` (S, T), the mean and centred draws of the target without its drift (log scale),
    shuffled across draws (independent of the slopes), their variances ``rest_var`` (T,), the
    slopes' radial draws ``radial`` (S, G, T) per slope group (:func:`radial_slopes`) and the
    groups' axes ``slope_groups`` (:attr:`Problem.slope_groups`), the slopes' second moment
    ``slope_var`` and ``before`` (T,), the width of the rebuilt draws before any unit; else
    those are None."""

    ci: float
    now: np.ndarray
    prior_var: np.ndarray
    centre: np.ndarray | None = None
    spread: np.ndarray | None = None
    rest_var: np.ndarray | None = None
    radial: np.ndarray | None = None
    slope_groups: tuple | None = None
    slope_var: float = 0.0
    before: np.ndarray | None = None


def width_basis(p: Problem, ci: float, seed: int = 0) -> WidthBasis | None:
    """The basis of :func:`widths_after` for ``p`` (None without a target); ``seed``: the
    shuffle of the draws without their drift."""
    now = widths(p.tdraws, ci)
    if now is None:
        return None
    prior_var = np.diagonal(p.prior_cov())
    if p.slope_draws is None:
        return WidthBasis(ci, now, prior_var)
    DP, _ = p.drift_terms([])
    rest = p.tdraws - p.slope_draws @ DP  # the draws less their drift (as A holds them)
    centre = rest.mean(axis=0)
    spread = (rest - centre)[np.random.default_rng(seed).permutation(len(rest))]
    basis = WidthBasis(
        ci,
        now,
        prior_var,
        centre,
        spread,
        np.var(rest, axis=0, ddof=1),
        radial_slopes(p.slope_draws, DP, p.slope_groups),
        p.slope_groups,
        p.slope_var,
    )
    return replace(basis, before=_rebuilt_widths(basis, 1.0, DP))


def radial_slopes(slope_draws, DP, groups) -> np.ndarray:
    """(S, G, T): each draw's drift of each target component per slope group g, per unit of
    the group's drift coefficients' norm: ``slope_draws[:, g] @ DP[g] / |DP[g]|`` (0 where the
    component has no drift in the group). ``slope_draws`` (S, K) (:attr:`Problem.slope_draws`),
    DP (K, T) the drift before any unit, ``groups`` :attr:`Problem.slope_groups`."""
    out = []
    for axes in groups:
        k = list(axes)
        norm = np.linalg.norm(DP[k], axis=0)  # (T,)
        out.append(slope_draws[:, k] @ DP[k] / np.where(norm > 0, norm, 1.0))
    return np.stack(out, axis=1)


def _rebuilt_widths(b: WidthBasis, shrink, left) -> np.ndarray:
    """Widths (T,) of the rebuilt draws: the shuffled fitted part times ``shrink`` (T,) plus
    each draw's drift with the coefficients ``left`` (K, T), per slope group its radial draw
    times the group's norm of ``left`` (:func:`radial_slopes`; with ``left`` the drift before
    any unit, each draw's own drift exactly)."""
    norms = np.stack([np.linalg.norm(left[list(k)], axis=0) for k in b.slope_groups])  # (G, T)
    return widths(b.centre + shrink * b.spread + np.sum(b.radial * norms[None], axis=1), b.ci)


def widths_after(b: WidthBasis, post_var, left) -> np.ndarray:
    """Expected central ``ci`` widths (T,) (natural scale, as ``b.now``) of the target after a
    unit: ``post_var`` (T,) its Gaussian variance after (ln units squared, drift included, as
    :func:`unit_gains` returns it), ``left`` (K, T) the drift coefficients left
    (``DP - MU[u]``, :meth:`Problem.drift_terms`).

    Without a drift: ``now * sqrt(post_var / prior_var)`` (so ``ln(now / after)`` is the
    component's information, nats). With a drift the draws are a fitted part plus a drift that
    is heavy-tailed (a scale mixture of slopes: excess kurtosis ~20 beyond the range), so
    ``now`` (a quantile width) and the closed-form variances are on different bases: that ratio
    predicted 0.026 for a unit removing the drift, narrower than the fitted law alone (0.029),
    where refits showed 0.039-0.041 (the Gaussian width of the variance after). The draws are
    rebuilt instead, before and after the unit: the fitted part (shuffled across draws, so
    independent of the slopes, as the closed form treats it) scaled to its variance, plus each
    draw's drift left; ``now`` times the ratio of their quantile widths is the prediction. A
    unit removing the drift leaves a near-Gaussian interval (the refits'), a unit leaving it
    keeps the heavy tail and about the draws' width.

    The drift left is rebuilt per slope group as the draw's drift before (its slopes along the
    coefficients ``DP``) times ``|left| / |DP|`` (:func:`radial_slopes`): within a group the
    slopes are independent and of one scale given the draw's tau, so that is the drift's
    distribution after, the one the closed-form variance (:func:`unit_gains`) assumes. The
    slopes themselves times ``left`` carried the chance correlations of ~1000 heavy-tailed
    draws between the axes, so a unit's predicted narrowing swung with the seed (from none to
    about the closed form's); rebuilt radially it is stable (tests/test_design_drift_values.py).
    Capped at
    ``now``: a unit never widens the target (the rebuilt quantiles could, by Monte Carlo
    error)."""
    if b.spread is None:
        ratio = np.maximum(np.asarray(post_var, float) / b.prior_var, 0.0)
        return b.now * np.sqrt(ratio)
    left = np.asarray(left, float)
    fitted_var = np.asarray(post_var, float) - b.slope_var * np.sum(left**2, axis=0)
    shrink = np.sqrt(np.maximum(fitted_var, 0.0) / np.maximum(b.rest_var, 1e-300))
    after = _rebuilt_widths(b, shrink, left)
    return np.minimum(b.now * after / np.maximum(b.before, 1e-300), b.now)
