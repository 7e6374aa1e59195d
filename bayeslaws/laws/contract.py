"""The one contract every law implements.

A law is its math: parameters and default priors, the NumPyro model, what it needs from a run
table, and posterior draws of what it predicts. Every later stage (inference, prediction,
allocation, design, plots, the command line) calls only the methods of :class:`Law` below; none
asks a law its name or probes its attributes. A new law is one file: subclass :class:`Law`
(or :class:`~bayeslaws.laws.surface.LossSurfaceLaw` for a loss surface L(N, D)), and either
register it (:func:`bayeslaws.laws.register`) or pass the object to ``bl.fit``.

Conventions shared by all laws:

* The model's observation site is ``OBSERVED_SITE`` ("log_loss"): centred natural-log loss,
  ``ln L - scales["loss"]``; ``obs=None`` samples it (prior predictive).
* Posterior draws are flattened over chains: arrays of shape (S, ...) for S draws.
* Queries are DataFrames with the law's ``inputs`` (N params, D tokens, C FLOPs, ...); draws of
  each quantity come back as arrays (S, Q), natural units, for Q query points.
* ``kind="mean"`` is the law's own uncertainty; ``kind="new_run"`` adds what one new run (or a
  new cell / budget) would show around it.
"""

from __future__ import annotations

import abc
import difflib
import enum
import functools
import hashlib
import itertools
import json
import secrets
import types
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields, is_dataclass
from typing import ClassVar

import jax
import numpy as np
import pandas as pd

from ..runs.checks import ArgumentTypeError, UnknownNameError, check_probability
from ..runs.messages import RunTableError
from ..runs.reading import diverged_flags
from ..runs.table import label_key
from .likelihoods import FAMILIES, default_noise_priors
from .priors import (
    check_parameters,
    check_round_trip,
    prior_to_spec,
    priors_to_spec,
    support_examples,
    support_text,
    support_within,
)

OBSERVED_SITE = "log_loss"
KINDS = ("mean", "new_run")
ALLOCATION_METHODS = ("auto", "closed_form", "numerical")


class LawCapabilityError(ValueError):
    """A law does not define what was asked of it (e.g. a compute-optimal allocation)."""


# ---- reference scales -------------------------------------------------------------------------
@jax.tree_util.register_pytree_node_class
class Scales:
    """Reference scales: the natural log of each column's typical value (the data's geometric
    centre), by column name ("N", "D", "C", "loss", "lr", "batch_size", ...). Laws work on
    centred logs ``ln value - scales[column]``: normalised before sampling, so that the
    sampler sees parameters of order one."""

    def __init__(self, log_ref: Mapping[str, float]):
        self._log_ref = {str(k): float(v) for k, v in log_ref.items()}

    @classmethod
    def from_columns(cls, **values) -> Scales:
        """Scales at the geometric means of the given positive arrays (column=values)."""
        return cls({k: float(np.mean(np.log(np.asarray(v, float)))) for k, v in values.items()})

    def __getitem__(self, column: str) -> float:
        try:
            return self._log_ref[column]
        except KeyError:
            raise UnknownNameError(
                f"no reference scale for {column!r}; have {sorted(self._log_ref)}"
            ) from None

    def __contains__(self, column: str) -> bool:
        return column in self._log_ref

    def centre(self, column: str, values):
        """``ln values - scales[column]`` (numpy or JAX arrays)."""
        return np.log(np.asarray(values, float)) - self[column]

    def to_dict(self) -> dict:
        return dict(self._log_ref)

    def __repr__(self) -> str:
        return f"Scales({self._log_ref})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Scales) and self._log_ref == other._log_ref

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._log_ref.items())))

    # a JAX pytree whose leaves are the log scales (so jit treats them as data)
    def tree_flatten(self):
        keys = tuple(sorted(self._log_ref))
        return tuple(self._log_ref[k] for k in keys), keys

    @classmethod
    def tree_unflatten(cls, keys, values):
        obj = cls.__new__(cls)
        obj._log_ref = dict(zip(keys, values, strict=True))
        return obj


# ---- what a law hands to the stages ------------------------------------------------------------
@dataclass(frozen=True)
class Prepared:
    """A run table turned into model arguments (:meth:`Law.prepare`).

    data : the model's array arguments (``obs`` among them), name -> array.
    static : hashable model arguments that fix the compiled kernel (e.g. ``n_groups``).
    scales : reference scales of the centring.
    groups : group labels in model order (``(None,)`` without groups).
    ranges : fitted range per column, column -> [min, max].
    state : the law's own JSON-ready facts that its posterior methods need (cells, budgets,
        divergence record); only the law reads it.
    runs : the run table actually fitted (after the law's own recorded exclusions).
    notes : plain-language remarks for the user (e.g. "12 diverged runs censored").
    """

    data: dict
    static: dict
    scales: Scales
    groups: tuple
    ranges: dict
    state: dict
    runs: object
    notes: tuple = ()


@dataclass(frozen=True)
class Posterior:
    """What a law's posterior methods read: the draws and the facts of the fit.

    draws : site name -> array (S, ...), chains flattened.
    scales, groups, state : as in :class:`Prepared`.
    likelihood : the observation family ("gaussian", "student_t", "huber").
    priors : site name -> numpyro distribution (those of the fit).
    """

    draws: Mapping[str, np.ndarray]
    scales: Scales
    groups: tuple
    state: Mapping
    likelihood: str
    priors: Mapping = field(default_factory=dict)

    @property
    def n_draws(self) -> int:
        return int(np.shape(next(iter(self.draws.values())))[0])

    def column(self, name: str) -> np.ndarray:
        """Draws of a scalar site as a column (S, 1), to broadcast against query points."""
        return np.asarray(self.draws[name], float)[:, None]


@dataclass(frozen=True)
class Observations:
    """Predicted outcomes of candidate runs, for choosing the next experiment (design).

    unit : (R,) the candidate unit each observation belongs to (a unit is chosen and paid for
        as a whole, e.g. an LR x batch sweep at one cell).
    mean : (S, R) the predicted observation per draw (centred log scale, no noise).
    sigma : (S,) or (S, R) noise scale per draw (and observation).
    nu : (S,) Student-t degrees of freedom, or None.
    family : the noise family of the observation ("gaussian", "student_t", "huber").
    nuisance : (R,) prior variance (ln loss squared) of the unknown level of the observation's
        cell, unknown until the cell's runs are seen (0: none, e.g. a fitted cell, whose level
        is in the draws).
    level : (R,) int, which unknown level each observation carries: observations with the same
        id (>= 0) share one level (of variance ``nuisance``, the largest of theirs), e.g. the
        runs of one new (N, D) cell; -1 a level of its own when ``nuisance`` > 0 (none
        otherwise). A unit holding runs at two new cells carries two independent levels (its
        noise covariance is ``diag(noise) + sum_l nuisance_l 1_l 1_l^T`` over its levels), not
        one. None (the default, for laws without a nuisance): no shared level; every
        ``nuisance`` must then be 0.
    """

    unit: np.ndarray
    mean: np.ndarray
    sigma: np.ndarray
    nu: np.ndarray | None
    family: str
    nuisance: np.ndarray
    level: np.ndarray | None = None


def resolve_group(groups, group):
    """Index of a fitted group; 0 without groups (and for None on a fit of one group); None
    for a new, unseen group of a fit of several groups.

    ``groups``: the fit's labels (``(None,)`` without groups). ``group``: one label or None;
    a label the fit does not know raises ValueError naming the fit's groups."""
    groups = list(groups)
    if group is not None and not isinstance(group, str | int | np.integer | float | np.floating):
        raise ArgumentTypeError(
            f"group must be one group label (a string), got {type(group).__name__}; predict "
            "each group in its own call"
        )
    if all(g is None for g in groups):  # fitted without groups: only None is accepted
        if group is not None:
            raise ValueError(f"group={group!r}: this fit was fitted without groups")
        return 0
    labels = [str(g) for g in groups]
    if group is None:
        return 0 if len(labels) == 1 else None  # one group: None answers for it
    if str(group) in labels:
        return labels.index(str(group))
    # 7.0 and "7.0" name the group 7, as the run table's reading of a group column has it
    same = [i for i, label in enumerate(labels) if label_key(label) == label_key(group)]
    if label_key(group) is None or len(same) != 1:
        raise ValueError(
            f"group={group!r} is not one of the fit's groups {groups_named(labels)}"
            f"{near_label_hint(str(group), labels)}"
        )
    return same[0]


def group_label(groups, group) -> str | None:
    """The fit's own label (text) for ``group``, read as :func:`resolve_group` reads it (10,
    10.0 and "10.0" name the group "10"); None for ``group=None`` (a new group) and on a fit
    without groups. A label the fit lacks raises ValueError naming its groups."""
    index = resolve_group(groups, group)
    if group is None or index is None:
        return None
    label = list(groups)[index]
    return None if label is None else str(label)


GROUPS_NAMED = 10  # fit groups an unknown-group message lists before "and N more"


def groups_named(labels) -> str:
    """The fit's group ``labels`` (strings) as a message lists them: all of them, or the first
    ``GROUPS_NAMED`` and how many more (a fit of hundreds of groups)."""
    labels = list(labels)
    if len(labels) <= GROUPS_NAMED:
        return str(labels)
    return f"{labels[:GROUPS_NAMED]} and {len(labels) - GROUPS_NAMED} more"


def near_label_hint(label: str, labels) -> str:
    """" (did you mean 'math'?)" naming the fit's label closest to ``label`` (case ignored;
    difflib's ratio at least 0.6), or "" when none is close."""
    labels = list(labels)
    lowered = [g.lower() for g in labels]
    near = difflib.get_close_matches(label.lower(), lowered, n=1, cutoff=0.6)
    return f" (did you mean {labels[lowered.index(near[0])]!r}?)" if near else ""


# ---- runs a law fits as converged ----------------------------------------------------------
def require_converged_runs(runs, law_name: str) -> None:
    """Refuse a run table with runs that a law fitting every run as a converged one would get
    wrong: a missing (NaN) loss, or a true flag in the optional ``diverged`` column. For the
    ``prepare`` of a law that does not count diverged runs (``accepts_missing_loss`` False).

    ``runs``: a :class:`~bayeslaws.runs.RunTable` (rows the user excluded are not in it, so
    not counted); ``law_name``: the law, as the message names it. Raises a RunTableError
    naming the rows (count, the first ten, what the row labels count) and the remedy in both
    forms; returns None when every run has a loss and none is flagged (or there is no
    ``diverged`` column)."""
    df = runs.df
    missing = df["loss"].isna().to_numpy(dtype=bool)
    flagged = diverged_flags(df)
    if not (missing.any() or flagged.any()):
        return
    kinds, masks = [], []
    if missing.any():
        kinds.append(f"column 'loss' is missing in {_rows_of(df.index[missing], len(df))}")
        masks.append("runs.df['loss'].isna()")
    if flagged.any():
        kinds.append(f"column 'diverged' flags {_rows_of(df.index[flagged], len(df))} as diverged")
        masks.append("runs.df['diverged']")
    needs = [
        "needs a loss for every run" if missing.any() else "",
        "fits every run as a converged one (it counts no diverged run)" if flagged.any() else "",
    ]
    others = (
        "; the hyperparams and sweep laws count the diverged runs of an LR x batch sweep"
        if flagged.any()
        else ""
    )
    raise RunTableError(
        f"law {law_name!r} {' and '.join(n for n in needs if n)}; {' and '.join(kinds)} "
        f"({runs.row_note}): leave them out (Python: runs.exclude({' | '.join(masks)}, "
        "reason=...); command line: --exclude-rows ROWS --exclude-reason TEXT)" + others
    )


def _rows_of(labels, n_runs: int, limit: int = 10) -> str:
    """``2 of 20 runs (rows 6, 13)``: how many of the table's ``n_runs`` runs the row
    ``labels`` are, and the first ``limit`` of them."""
    labels = list(labels)
    shown = ", ".join(map(str, labels[:limit])) + (", ..." if len(labels) > limit else "")
    return f"{len(labels)} of {n_runs} runs (rows {shown})"


# ---- checks of user priors ------------------------------------------------------------------
def is_pooling_scale(key: str) -> bool:
    """Whether ``key`` names a scale of group deviations (``group_sd``, ``<p>_tau``)."""
    return key == "group_sd" or key.endswith("_tau")


POOLING_NEEDS = "for a run table with groups (column 'group'); this one has none"


def unsampled_message(law_name: str, unsampled: Mapping) -> str:
    """Why priors given are refused: ``unsampled`` maps each name to when the law would sample
    it (:meth:`Law.unsampled_priors`); names sharing a condition are said together."""
    by_need: dict = {}
    for key in sorted(unsampled):
        by_need.setdefault(unsampled[key], []).append(key)
    reasons = "; ".join(
        f"{' and '.join(keys)} {'is' if len(keys) == 1 else 'are'} sampled only {need}"
        for need, keys in by_need.items()
    )
    one = len(unsampled) == 1
    return (
        f"prior given for {sorted(unsampled)}, which law {law_name!r} would not sample here, "
        f"so the fit would ignore {'it' if one else 'them'}: {reasons}. Drop "
        f"{'it' if one else 'them'}, or fit as said so that {'it is' if one else 'they are'} "
        "sampled"
    )


def same_prior(a, b) -> bool:
    """Whether two priors have the same record (``priors.prior_to_spec``); False for None or
    a prior that cannot be recorded."""
    try:
        return a is not None and b is not None and prior_to_spec(a) == prior_to_spec(b)
    except ValueError:
        return False


def check_prior(key: str, value, reference=None, domain=None) -> dict:
    """Check a user's prior for parameter ``key``; returns its spec (``priors.prior_to_spec``).

    ``value`` must be a numpyro distribution with the shape of ``reference`` (scalar when None:
    one value per parameter), whose support lies within ``domain``, the values the parameter
    can take (a numpyro constraint; None: the reference's support), by
    :func:`.priors.support_within` (a rho on (-1, 1) takes no Uniform(-1.5, 1.5)), and that
    rebuilds exactly from its spec (the record and cache key). Raises TypeError / ValueError
    naming ``key``."""
    import numpyro.distributions as dist

    if not isinstance(value, dist.Distribution):
        raise ArgumentTypeError(f"prior for {key!r} must be a numpyro distribution, got {value!r}")
    shape = (value.batch_shape, value.event_shape)
    wanted = ((), ()) if reference is None else (reference.batch_shape, reference.event_shape)
    if shape != wanted:
        raise ValueError(
            f"prior for {key!r} has batch shape {value.batch_shape} and event shape "
            f"{value.event_shape}, but {key!r} is "
            f"{'one number' if wanted == ((), ()) else f'of shapes {wanted}'}: give a "
            "distribution with scalar parameters (e.g. dist.Beta(2.0, 3.0))"
        )
    try:
        if same_prior(value, reference):  # a default (as an update passes them): known good
            return prior_to_spec(value)
        check_parameters(value)  # finite and valid parameters: before its support is read
    except ValueError as error:
        raise ValueError(f"prior for {key!r} cannot be used: {error}") from None
    if domain is None and reference is not None:
        domain = reference.support
    if domain is not None and not support_within(value.support, domain):
        examples = support_examples(domain)
        raise ValueError(
            f"prior for {key!r} puts mass on {support_text(value.support)}, but {key!r} lives "
            f"on {domain}, {support_text(domain)} (its default prior is "
            f"{type(reference).__name__}): use a distribution on that support"
            + (f" (e.g. {examples})" if examples else "")
        )
    try:
        return check_round_trip(value)
    except ValueError as error:
        raise ValueError(f"prior for {key!r} cannot be used: {error}") from None


# ---- the contract ------------------------------------------------------------------------------
class Law(abc.ABC):
    """A scaling law as a Bayesian model. Subclasses set the class attributes and implement the
    abstract methods; the optional hooks raise :class:`LawCapabilityError` unless overridden.

    Class attributes
    ----------------
    name : registry name (e.g. "chinchilla").
    description : the form in one line.
    inputs : the columns among N (params), D (tokens) and C (FLOPs) that the law's math reads
        from a query, e.g. ("N", "D") or ("N", "C"). Every query is completed to all three by the
        fit's compute model, so ``predict`` and every stage that builds a query take exactly two
        of N, D, C whatever ``inputs`` says (a law of C alone is still queried with two, e.g. N
        and C); other query columns belong in ``optional_inputs``.
    optional_inputs : further query columns a law accepts, all together or none (e.g. lr and
        batch_size: with them ``loss`` is the loss of a run trained at that setting, the loss at
        the optimum is ``loss_opt`` and ``rel_penalty``, ``penalty`` price the setting; never a
        prediction at the optimum labelled with the setting given, and one without the other is
        an error).
    run_columns : the run-table columns (besides loss) that describe one run of this law, which
        candidate runs for design must have (N, D and C are completed by the compute model).
    quantities : what :meth:`draws` returns, in natural units.
    primary : the quantity ``predict`` reports under unprefixed column names (or None).
    default_likelihood, likelihoods : the observation family used by default, and those allowed.
    observed_site : the model's observation site (``OBSERVED_SITE`` unless the law observes
        something other than the log loss).
    default_dense_mass : NUTS mass matrix default (dense unless the law says otherwise).
    default_target_accept : NUTS target acceptance probability default (NumPyro's 0.8 unless
        the law says otherwise).
    widened : whether ``new_run`` predictions of the loss get a model discrepancy learned from
        the training residuals (:meth:`fitted_log_mean`); laws whose new points already carry
        their own out-of-sample scatter (new budgets, new cells) say False.
    pads_runs : whether every array of the model's data is per run (leading axis: runs) and the
        observations lie along the last axis, so that inference may pad a table to a size
        bucket and mask the padded runs out (fits of different run counts then share one
        compiled sampler; :mod:`bayeslaws.inference.padding`).
    accepts_missing_loss : whether :meth:`prepare` takes runs with a missing (NaN) loss, as
        diverged runs that the law counts and records (``load_runs(allow_missing_loss=True)``,
        ``bayeslaws fit --keep-diverged``) and reads the optional ``diverged`` column; other
        laws need such runs excluded: their ``prepare`` refuses a missing loss and a flagged
        run alike (:func:`require_converged_runs`, which the loss surfaces' and isoflop's call).
    missing_values_hint : a short remedy (both forms, "(Python: ...; command line: ...)") said
        when a prediction of this law is NaN at some query rows (e.g. a quantity the law
        defines only at its fitted cells); empty: nothing to add.
    recorded_elsewhere : instance attributes that are not options and that a fit need not
        rebuild, since its record carries their effect (``reference_scales``, set by
        :meth:`with_reference_scales`: the fit records the scales it centred on; ``pads_runs``
        set on an instance: how inference compiles, not the model's math). Every other
        instance attribute must be the one the law rebuilt from its options has (``bl.fit``
        refuses a law whose state its options do not capture: a saved fit, and ``Fit.law``,
        rebuild the law from its reference and :attr:`options` alone).
    nonlinear_optima : whether a candidate run's predicted loss depends on the law's
        hyperparameter optima (eta_opt, B_opt) nonlinearly (a bowl in ln lr, ln B about them:
        at a sweep centred on the optimum, ln loss is quadratic in it), so that the design's
        linear-Gaussian value (:mod:`bayeslaws.design.gaussian`) can undervalue runs for a
        target at an optimum; :func:`bayeslaws.design.next_runs` then checks its picks against
        reweighting. Default False.
    loo_terms_version : the version of what the law's pointwise log-likelihood (a fit's
        ``idata.log_likelihood``, which LOO, ``compare`` and stacking read) means per run; a fit
        records it. Bump it when a law's pointwise terms change meaning (e.g. the sweep law's
        chain-rule terms became exact leave-one-run-out terms: 2): ``compare`` and stacking
        then score a fit recorded under another version on terms recomputed from its stored
        draws, and refuse it only when they cannot be recomputed.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    inputs: ClassVar[tuple] = ("N", "D")
    optional_inputs: ClassVar[tuple] = ()
    run_columns: ClassVar[tuple] = ("N", "D")
    quantities: ClassVar[tuple] = ("loss",)
    primary: ClassVar[str | None] = "loss"
    default_likelihood: ClassVar[str] = "huber"
    likelihoods: ClassVar[tuple] = FAMILIES
    observed_site: ClassVar[str] = OBSERVED_SITE
    default_dense_mass: ClassVar[bool] = True
    default_target_accept: ClassVar[float] = 0.8
    widened: ClassVar[bool] = False
    pads_runs: ClassVar[bool] = False
    accepts_missing_loss: ClassVar[bool] = False
    missing_values_hint: ClassVar[str] = ""
    recorded_elsewhere: ClassVar[tuple] = ("reference_scales", "pads_runs")
    loo_terms_version: ClassVar[int] = 1
    nonlinear_optima: ClassVar[bool] = False

    # ---- options ---------------------------------------------------------------------------
    @property
    def options(self) -> dict:
        """The law's configuration (JSON-ready); empty for a law without options. Every value
        that ``__init__`` takes belongs here, by its keyword: a fit records the options and
        rebuilds the law from them (``configure``: ``type(law)(**options)``)."""
        return {}

    def configure(self, **options) -> Law:
        """A copy with some options changed (``bl.fit(..., law_options={...})`` calls this)."""
        unknown = set(options) - set(self.options)
        if unknown:
            known = sorted(self.options) or "none"
            raise ValueError(
                f"unknown option(s) {sorted(unknown)} for law {self.name!r}; its options: {known}"
            )
        return type(self)(**{**self.options, **options})

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.options == other.options

    def __hash__(self) -> int:
        return hash((type(self).__module__, type(self).__qualname__, _json(self.options)))

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({opts})"

    # ---- the model -------------------------------------------------------------------------
    @abc.abstractmethod
    def default_priors(self) -> dict:
        """Default priors of the law's own parameters, name -> numpyro distribution."""

    def extra_prior_names(self) -> set:
        """Prior names a user may override beyond the defaults (e.g. pooling scales)."""
        return set()

    def priors(self, likelihood: str, overrides: dict | None = None) -> dict:
        """Default priors of law and likelihood with the user's overrides (checked by name,
        type, shape, support and whether they can be recorded: :func:`check_prior`)."""
        priors = {**self.default_priors(), **default_noise_priors(likelihood)}
        unsampled = self.unsampled_priors()  # what the options alone leave unsampled
        allowed = set(priors) | self.extra_prior_names()
        if overrides is not None and not isinstance(overrides, Mapping):
            raise ArgumentTypeError(
                f"priors must be a dict name -> distribution, got {overrides!r}"
            )
        for key, value in (overrides or {}).items():
            if key not in allowed:
                raise ValueError(
                    f"prior given for {key!r}, which law {self.name!r} with likelihood "
                    f"{likelihood!r} does not have; its parameters are "
                    f"{sorted(allowed - set(unsampled))}"
                )
            reference = self.prior_reference(key, priors)
            if key in unsampled and not same_prior(value, reference):
                raise ValueError(unsampled_message(self.name, {key: unsampled[key]}))
            check_prior(key, value, reference, self.prior_domain(key, reference))
            priors[key] = value
        return priors

    def prior_domain(self, key: str, reference):
        """The values parameter ``key`` can take, which an override's support must lie within
        (a numpyro constraint): by default its default prior's (``reference``) support, e.g.
        (0, 1) for an exponent under a Beta, (-1, 1) for a correlation. A law whose default
        is narrower than the parameter's range by choice (a LogUniform noise scale) widens it
        here; None: no default, nothing to compare."""
        return None if reference is None else reference.support

    def prior_reference(self, key: str, priors: dict):
        """The prior whose support and shape an override of ``key`` must keep: its default in
        ``priors``; for a pooling scale (``group_sd``, ``<p>_tau``) without one, the law's
        ``group_sd`` prior; None when the law has no default for ``key``."""
        if key in priors:
            return priors[key]
        return priors.get("group_sd") if is_pooling_scale(key) else None

    def unsampled_priors(self, prepared: Prepared | None = None) -> dict:
        """The prior names this law takes but a fit would sample no site of, name -> when it
        would, in words that name the option or run-table column (e.g. "with
        shape_scatter=True (law_options={'shape_scatter': True})"). ``prepared`` None: what
        the law's options alone decide (:meth:`priors` refuses an override of these); with
        ``prepared``, what that run table decides too (:meth:`check_priors`). A law overrides it
        as ``{**super().unsampled_priors(prepared), ...}``. Here: the pooling scales
        (``group_sd``, ``<p>_tau``) of a run table without groups."""
        if prepared is None or len(prepared.groups) > 1:
            return {}
        names = set(self.default_priors()) | self.extra_prior_names()
        return {key: POOLING_NEEDS for key in names if is_pooling_scale(key)}

    def check_priors(self, overrides: dict | None, prepared: Prepared) -> None:
        """Refuse overrides that a fit of ``prepared`` would ignore (:meth:`unsampled_priors`:
        e.g. pooling scales other than their default when the run table has no groups):
        ValueError naming them and what would make each count. Call it after :meth:`prepare`
        with the overrides given to :meth:`priors` (a fit's full priors, as an update passes
        them, are fine: defaults are skipped)."""
        unsampled = self.unsampled_priors(prepared)
        defaults = self.default_priors()
        ignored = {
            key: unsampled[key]
            for key, value in (overrides or {}).items()
            if key in unsampled and not same_prior(value, self.prior_reference(key, defaults))
        }
        if ignored:
            raise ValueError(unsampled_message(self.name, ignored))

    @abc.abstractmethod
    def prepare(self, runs) -> Prepared:
        """Model arguments and facts from a :class:`~bayeslaws.runs.RunTable` (raises a
        RunTableError naming the column when the table cannot identify the law)."""

    @abc.abstractmethod
    def model(self, *, priors: dict, likelihood: str, obs=None, **data_and_static):
        """The NumPyro model: ``Prepared.data`` and ``Prepared.static`` as keyword arguments;
        observes ``observed_site`` (``obs=None``: samples it)."""

    def recentred(self, draw: Mapping, old: Scales, new: Scales, priors: Mapping) -> dict:
        """One posterior draw of a fit centred on the reference scales ``old``, as values of
        the model's sampled sites for the same law centred on ``new`` (the refit of an updated
        table, ``fit.update``, whose warm start begins at such draws).

        ``draw``: site name -> value of one draw (the fit's sites, sampled and deterministic;
        shapes without the draws axis); ``priors``: the fit's priors (name -> distribution).
        Returns sampled site -> value, each standing for what it stood for in the old draw,
        so that the natural-unit quantities (amplitudes, floors, exponents: e.g. Chinchilla's
        E, A, B) are the old draw's. A site left out starts where NumPyro's default puts it, as
        in a cold fit; other names in the result are ignored.

        Default: the draw as it is when the scales are equal (its sites then mean what they
        meant), and nothing when they differ: a law that does not say how its sites depend on
        the centring gets no warm start from a posterior centred elsewhere (its values would
        stand for other amplitudes and floors). A law overrides it to carry its sites over
        (:meth:`bayeslaws.laws.surface.LossSurfaceLaw.recentred`)."""
        return dict(draw) if old == new else {}

    def summary_names(self, groups, likelihood: str) -> list[str]:
        """Sites reported by ``Fit.summary`` (all checked for convergence: see
        :meth:`checked_names`)."""
        names = list(self.default_priors())
        return names + ["sigma"] + (["nu"] if likelihood == "student_t" else [])

    def checked_names(self, groups, likelihood: str) -> list[str]:
        """Sites the convergence checks cover: the reported ones and any per-cell or per-group
        site predictions read. Default: :meth:`summary_names`; a law whose predictions read
        sites it does not report (e.g. each fitted cell's own deviation) adds them, so that a
        stuck chain of such a site is warned (a site the fit lacks is skipped)."""
        return self.summary_names(groups, likelihood)

    def group_dims(self, groups) -> dict:
        """ArviZ dims of per-group sites (name -> ["group"]) of a fit with these groups."""
        return {}

    def site_dims(self, state: dict) -> tuple[dict, dict]:
        """ArviZ (dims, coords) of the fit's other sites with a dimension of their own, from
        ``Prepared.state``: site name -> [dim name], dim name -> labels (e.g. per-budget sites
        labelled by their budget); none by default (ArviZ numbers such a dimension)."""
        return {}, {}

    # ---- posterior ---------------------------------------------------------------------------
    @abc.abstractmethod
    def draws(self, post: Posterior, query: pd.DataFrame, *, kind: str, group, rng) -> dict:
        """Draws of each of ``quantities`` at the query points: name -> array (S, Q), natural
        units (with ``optional_inputs`` in the query, the quantities at that setting: see
        there). ``rng``: a numpy Generator for noise and new-group / new-cell draws."""

    @abc.abstractmethod
    def observations(
        self, post: Posterior, candidates: pd.DataFrame, *, group, rng
    ) -> Observations:
        """Predicted outcomes of candidate runs (columns: the run-table columns the law reads,
        and ``unit``), for :mod:`bayeslaws.design`."""

    def query_cautions(self, state: dict, query: pd.DataFrame) -> list[str]:
        """Messages about query points (N, D, C, ...) that this law answers otherwise than a
        user may expect, given the fit's ``state`` (``Prepared.state``); warned with the range
        checks where a user's query enters (``posterior.draws.check_range``). None here."""
        return []

    def fitted_log_mean(self, post: Posterior, runs: pd.DataFrame) -> np.ndarray:
        """ln of the law's mean loss at training runs (posterior mean, no noise): (Q,), the base
        of a model discrepancy learned from residuals (laws with ``widened = True``)."""
        raise LawCapabilityError(f"law {self.name!r} models no discrepancy from residuals")

    def observation_rows(self, prepared: Prepared) -> list:
        """The run behind each observation along the last axis of ``prepared.data["obs"]``: its
        row label in ``prepared.runs``, or None where an observation is not one run observed
        exactly (e.g. a censored diverged run). Outlier screening flags runs by these labels.
        Default: every run of ``prepared.runs``, in order."""
        return list(prepared.runs.df.index)

    def known_misfits(self, prepared: Prepared, rows: list) -> dict:
        """Of the runs outlier screening flagged (``rows``: their labels in ``prepared.runs``),
        those lying where this law is known to misfit: label -> the reason in words (where, and
        the law's own remedy). Screening says so instead of asking whether they are mis-typed
        runs, and ``screen="exclude"`` keeps them (excluding them would leave the law fitted to
        the rest of the region it misfits). None by default."""
        return {}

    def empirical(self, runs: pd.DataFrame) -> pd.DataFrame:
        """The law's quantities as observed in a run table (for plots): its inputs and each
        quantity's observed value, one row per observation."""
        return runs.assign(**{q: runs["loss"] for q in self.quantities if q == "loss"})

    # ---- optional hooks ----------------------------------------------------------------------
    def allocation(
        self, post: Posterior, C, compute_model, *, group, rng, method="auto", extra=None
    ) -> dict:
        """Compute-optimal allocation at budgets C (FLOPs, (Q,)): dict of arrays (S, Q)
        ``N_opt``, ``D_opt``, ``L_opt``, ``at_boundary`` and a string ``method``. A law whose
        budgets scatter about its power laws (isoflop) also gives ``N_opt_trend``,
        ``D_opt_trend``, ``L_opt_trend`` (the laws without the scatter: what
        ``allocation_laws`` regresses and ``plot.n_opt`` draws) and ``fitted_budget`` (bool:
        a budget it was fitted on, answered by its own fitted vertex).

        ``extra``: an optional model discrepancy along the isoFLOP lines, a function
        ``extra(u, C) -> (S, Q, G)`` of u = ln N (S, Q, G) added to ln L before minimising (laws
        whose ``widened`` is False ignore it)."""
        raise LawCapabilityError(f"law {self.name!r} defines no compute-optimal allocation")

    def isoflop_profile(
        self, post: Posterior, C: float, N, compute_model, *, group, rng, extra=None
    ):
        """ln L along the isoFLOP line of budget C at sizes N (G,), per draw: (S, G), consistent
        with :meth:`allocation` (its minimum is the allocation's L_opt; ``extra`` as there)."""
        raise LawCapabilityError(f"law {self.name!r} defines no loss along isoFLOP lines")

    @property
    def has_floor(self) -> bool:
        """Whether the law's loss has an irreducible floor beside its power laws (a loss
        surface's E; an isoFLOP law with ``loss_floor``): with runs at two sizes or token
        counts its exponent is then not separable from amplitude and floor."""
        return False

    @property
    def form_description(self) -> str:
        """The loss's form in one line, as a report titles it (default :attr:`description`; a
        joint law: its loss surface's)."""
        return self.description

    def report_names(self, summary_names) -> list[str]:
        """The fitted quantities a report lists for this law, among ``summary_names``: by
        default all but the noise sites (sigma, nu, tau, *_scatter)."""
        noise = ("sigma", "nu", "tau")
        return [n for n in summary_names if n not in noise and not n.endswith("_scatter")]

    def irreducible_loss(self, post: Posterior, *, group=None, rng=None) -> np.ndarray | None:
        """Draws (S,) of the irreducible loss (the law's floor, loss units) for ``group`` (a new
        group of a grouped fit when None, drawn with ``rng``); None for a law without a floor
        (its whole loss is then the reducible part). Near-optimal tolerances relative to the
        reducible loss (:func:`bayeslaws.posterior.allocation.near_optimal`) read it."""
        return None

    def law_table(self, post: Posterior, **options) -> pd.DataFrame:
        """The fitted law in its papers' notation, with intervals."""
        raise LawCapabilityError(f"law {self.name!r} defines no law table")

    def with_reference_scales(self, scales: Scales) -> Law:
        """A copy of this law that centres every run table on ``scales`` instead of its own
        geometric means: the prior is then the same for every data set, as simulation-based
        calibration needs (data-centred priors differ between simulations)."""
        raise LawCapabilityError(
            f"law {self.name!r} centres on each run table's own scales and has no fixed-scale "
            "copy (simulation-based calibration needs one)"
        )

    def sweep_optima(self, post: Posterior) -> dict:
        """Per fitted cell of an LR x batch sweep: draws (S, cells) of ``log_eta`` and ``log_B``
        (natural logs of lr and batch size in tokens) and the cells' ``N``, ``D``, ``group``."""
        raise LawCapabilityError(f"law {self.name!r} fits no LR x batch sweep")


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def law_key(law: Law) -> str:
    """A string that identifies a law, its code, its options and the rest of its instance state
    (cache keys of compiled kernels and traced programs): a class redefined in the same process
    (an edited notebook cell) is a new law, not the old one's compiled model, and so is an edit
    of a class attribute (a dict, a list, an array), a method's default or a closure's value.
    State that has no stable description (an object of an unknown type) gives a key used once,
    never the key of another law's kernel (:func:`law_key_is_portable` is then False)."""
    cls = type(law)
    state = _fingerprint(instance_state(law), _unique_token, [], (id(law),))
    return (
        f"{cls.__module__}:{cls.__qualname__}:{code_digest(cls)}:{_json(law.options)}:"
        f"{hashlib.sha256(state.encode()).hexdigest()[:16]}"
    )


def law_key_is_portable(law: Law) -> bool:
    """Whether :func:`law_key` describes ``law`` the same way in every process: False when its
    class attributes, methods' defaults and closures or instance attributes hold an object of
    a type with no stable description (then no traced program of it is saved to disk)."""
    unknown: list = []
    _code_fingerprint(type(law), unknown)
    _fingerprint(instance_state(law), _unique_token, unknown, (id(law),))
    return not unknown


def instance_state(law: Law) -> dict:
    """The law object's own attributes (``vars`` and slots), name -> value."""
    state = dict(getattr(law, "__dict__", {}))
    for klass in type(law).__mro__:
        slots = vars(klass).get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and hasattr(law, name):
                state[name] = getattr(law, name)
    return state


def unrecorded_attributes(law: Law, rebuilt: Law) -> list[str]:
    """Instance attributes of ``law`` that ``rebuilt`` (the law rebuilt from its reference and
    options, as a fit's ``Fit.law`` is) does not have with the same value: sorted names, those
    the class declares in ``recorded_elsewhere`` left out. Values of a type with no stable
    description are compared by type only (they cannot be told apart)."""
    mine, theirs = instance_state(law), instance_state(rebuilt)

    def text(value, owner) -> str:
        return _fingerprint(value, _type_token, [], (id(owner),))

    return sorted(
        name
        for name in (set(mine) | set(theirs)) - set(type(law).recorded_elsewhere)
        if name not in mine
        or name not in theirs
        or text(mine[name], law) != text(theirs[name], rebuilt)
    )


def code_digest(cls: type) -> str:
    """sha256 of the code of ``cls`` and its bases (methods' bytecode, constants and names,
    nested functions too, their defaults, keyword defaults and closures' values, and the class
    attributes: numbers, strings, containers of them, arrays, ...) and the module constants
    that code reads (:func:`_globals_fingerprint`), short. Computed at every call (a class
    attribute changed in place changes it); a value with no stable description makes it unique
    to this call."""
    return _code_fingerprint(cls, [])


# class attributes that Python's machinery sets (no part of a law's code or data)
# (``__slotnames__``: cached on the class by copy/pickle of an instance, at run time)
_MACHINERY = frozenset({"__dict__", "__weakref__", "_abc_impl", "__slotnames__"})
_SLOTS = types.MemberDescriptorType | types.GetSetDescriptorType  # instance state: not code
_PROCESS = secrets.token_hex(8)  # this process's token (a value unique to it)
_CALLS = itertools.count()
_MAX_DEPTH = 64
_DATACLASS_MARKERS = ("_MISSING_TYPE", "_HAS_DEFAULT_FACTORY_CLASS", "_KW_ONLY_TYPE")


def _code_fingerprint(cls: type, unknown: list) -> str:
    """:func:`code_digest`; the types with no stable description are appended to ``unknown``."""
    digest = hashlib.sha256()
    for klass in cls.__mro__:
        if klass is object or klass is abc.ABC:
            continue
        digest.update(f"{klass.__module__}.{klass.__qualname__}".encode())
        for name in sorted(vars(klass)):
            value = vars(klass)[name]
            if name in _MACHINERY or isinstance(value, _SLOTS):
                continue
            digest.update(name.encode() + _fingerprint(value, _unique_token, unknown).encode())
    return digest.hexdigest()[:16]


def _unique_token(value) -> str:
    """A description of a value with no stable one: unique to this process and call (never
    the key of another law's compiled model, in this process or another)."""
    return f"<{type(value).__qualname__} {_PROCESS}:{next(_CALLS)}>"


def _type_token(value) -> str:
    """A description of a value with no stable one by its type alone (comparisons)."""
    return f"<{type(value).__qualname__}>"


def _fingerprint(value, other, unknown: list, seen: tuple = ()) -> str:
    """A text describing ``value`` the same way in every process: numbers and strings by repr,
    containers by their items (sets sorted), arrays by dtype, shape and bytes, functions by
    code, defaults, keyword defaults, closures and ``__wrapped__``, a law by its class, code and
    state. Anything else is ``other(value)`` and its type name is appended to ``unknown``."""
    if value is None or isinstance(value, bool | int | float | complex | str | bytes):
        return f"{type(value).__name__}:{value!r}"
    if isinstance(value, np.generic):
        return f"{type(value).__name__}:{value.item()!r}"
    if id(value) in seen or len(seen) > _MAX_DEPTH:
        if id(value) in seen:
            return "<cycle>"
        unknown.append(type(value).__qualname__)
        return other(value)
    seen = (*seen, id(value))

    def text(v) -> str:
        return _fingerprint(v, other, unknown, seen)

    kind = type(value).__qualname__
    if isinstance(value, tuple | list):
        return f"{kind}[" + ", ".join(text(v) for v in value) + "]"
    if isinstance(value, set | frozenset):
        return f"{kind}{{" + ", ".join(sorted(text(v) for v in value)) + "}"
    if isinstance(value, Mapping):  # insertion order kept: the same in every process
        return f"{kind}{{" + ", ".join(f"{text(k)}: {text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, np.ndarray | jax.Array):
        return _array_fingerprint(np.asarray(value), text)
    if isinstance(value, type):
        return f"type:{value.__module__}.{value.__qualname__}"
    if isinstance(value, staticmethod | classmethod):
        return f"{kind}({text(value.__func__)})"
    if isinstance(value, property):
        return f"property({text(value.fget)}, {text(value.fset)}, {text(value.fdel)})"
    if isinstance(value, functools.partial):
        return f"partial({text(value.func)}, {text(value.args)}, {text(value.keywords)})"
    if isinstance(value, functools.cached_property):
        return f"cached_property({text(value.func)})"
    if isinstance(value, types.MethodType):
        return f"method({text(value.__func__)}, {text(value.__self__)})"
    if isinstance(value, types.FunctionType):
        return _function_fingerprint(value, text)
    if isinstance(value, np.ufunc | types.BuiltinFunctionType):
        return f"builtin:{getattr(value, '__module__', None)}.{value.__name__}"
    if isinstance(value, types.ModuleType):
        return f"module:{value.__name__}"
    if isinstance(value, Law):
        state = text(instance_state(value))
        return f"law:{kind}:{_code_fingerprint(type(value), unknown)}:{state}"
    if isinstance(value, Scales):
        return f"Scales{text(value.to_dict())}"
    return _other_fingerprint(value, other, unknown, text)


def _array_fingerprint(array: np.ndarray, text) -> str:
    """An array by dtype, shape and the sha256 of its bytes (object arrays by their items)."""
    if array.dtype.hasobject:
        return f"object-array{array.shape}{text(array.tolist())}"
    data = np.ascontiguousarray(array).tobytes()
    return f"array:{array.dtype.str}{array.shape}:{hashlib.sha256(data).hexdigest()}"


def _function_fingerprint(fn, text) -> str:
    """A function by its code, defaults, keyword-only defaults, closure cells' contents, the
    function it wraps (``__wrapped__``) and the module globals it reads."""
    cells = []
    for cell in fn.__closure__ or ():
        try:
            cells.append(text(cell.cell_contents))
        except ValueError:  # an empty cell
            cells.append("<empty>")
    parts = (
        _code_bytes(fn.__code__).hex(),
        text(fn.__defaults__),
        text(fn.__kwdefaults__),
        "[" + ", ".join(cells) + "]",
        text(getattr(fn, "__wrapped__", None)),
        _globals_fingerprint(fn, text),
    )
    return "function(" + ", ".join(parts) + ")"


# libraries: what a law's code reads from them (``np.pi``) is none of the law's constants
_LIBRARIES = frozenset({"numpy", "jax", "jaxlib", "numpyro", "scipy", "pandas", "math", "builtins"})


def _plain(value, depth: int = 0) -> bool:
    """Whether a global is plain data (numbers, strings, numeric arrays and containers of them,
    at most 4 deep): the values a law's code reads as constants."""
    if value is None or isinstance(value, bool | int | float | complex | str | bytes | np.generic):
        return True
    if isinstance(value, np.ndarray):
        return not value.dtype.hasobject
    if depth < 4 and isinstance(value, tuple | list | set | frozenset):
        return all(_plain(v, depth + 1) for v in value)
    if depth < 4 and isinstance(value, dict):
        return all(_plain(k, depth + 1) and _plain(v, depth + 1) for k, v in value.items())
    return False


def _constant(value) -> bool:
    """Whether a module global is a constant of the code reading it: plain data, except an
    empty list, dict or set (a cache filled at run time, as surface's ``_DEFINITIONS_CHECKED``
    is with laws: keyed while empty, a law's key would change at its first fit)."""
    empty_cache = isinstance(value, list | dict | set) and not value
    return _plain(value) and not empty_cache


def _names_read(code) -> set:
    """The global (and attribute) names a code object and its nested code objects read."""
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            names |= _names_read(const)
    return names


def _globals_fingerprint(fn, text) -> str:
    """The module globals ``fn`` reads, as they are now: constants (:func:`_constant`) by
    value, a constant read as an attribute of a module global (``helpers.C``, libraries left
    out), and functions of ``fn``'s own module by their code and globals (recursively: ``text``
    marks a cycle and bounds the depth). Other globals (classes, objects) are left out. A module
    constant changed at run time, or read from the environment, is then part of the key."""
    glb = getattr(fn, "__globals__", None) or {}
    names = sorted(_names_read(fn.__code__))
    parts = []
    for name in (n for n in names if n in glb):
        value = glb[name]
        same_module = isinstance(value, types.FunctionType) and value.__module__ == fn.__module__
        if _constant(value) or same_module:
            parts.append(f"{name}={text(value)}")
        elif isinstance(value, types.ModuleType) and value.__name__.split(".")[0] not in _LIBRARIES:
            attrs = vars(value)
            read = [a for a in names if a in attrs and _constant(attrs[a])]
            parts += [f"{name}.{a}={text(attrs[a])}" for a in read]
    return "globals{" + ", ".join(parts) + "}"


def _other_fingerprint(value, other, unknown: list, text) -> str:
    """Enumerations, dataclasses (and their fields), numpyro distributions (their record) and
    pandas objects; any other value is ``other(value)``, its type appended to ``unknown``."""
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    if isinstance(value, enum.Enum):
        return f"enum:{kind}.{value.name}"
    if type(value).__module__ == "dataclasses" and type(value).__name__ in _DATACLASS_MARKERS:
        return f"dataclass-marker:{type(value).__name__}"  # MISSING, its __init__'s defaults
    if isinstance(value, Field):
        parts = (value.name, value.default, value.default_factory, value.init, value.kw_only)
        return f"dataclass-field:{text(parts)}"
    if type(value).__name__ == "_DataclassParams":
        return f"dataclass-params:{value!r}"
    if is_dataclass(value):
        items = {f.name: getattr(value, f.name) for f in fields(value)}
        return f"dataclass:{kind}{text(items)}"
    if isinstance(value, pd.DataFrame | pd.Series | pd.Index):
        hashed = pd.util.hash_pandas_object(value, index=not isinstance(value, pd.Index))
        names = value.columns if isinstance(value, pd.DataFrame) else [value.name]
        dtypes = value.dtypes if isinstance(value, pd.DataFrame) else [value.dtype]
        return f"pandas:{kind}{text([str(n) for n in names])}{text([str(d) for d in dtypes])}" + (
            _array_fingerprint(hashed.to_numpy(), text)
        )
    try:
        import numpyro.distributions as dist

        if isinstance(value, dist.Distribution):
            return f"distribution:{_json(prior_to_spec(value))}"
    except (ValueError, TypeError):
        pass
    unknown.append(type(value).__qualname__)
    return other(value)


def _code_bytes(code) -> bytes:
    """A code object's bytecode, names and constants, nested code objects included."""
    parts = [code.co_code, repr(code.co_names).encode()]
    for const in code.co_consts:
        nested = hasattr(const, "co_code")
        parts.append(_code_bytes(const) if nested else _stable_repr(const).encode())
    return b"".join(parts)


def _stable_repr(value) -> str:
    """repr with sets sorted: the same in every process (a frozenset's order follows the
    process's string-hash seed, and the digest keys programs saved on disk)."""
    if isinstance(value, frozenset | set):
        return "{" + ", ".join(sorted(_stable_repr(v) for v in value)) + "}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_stable_repr(v) for v in value) + ")"
    return repr(value)


def priors_key(priors: dict) -> str:
    return _json(priors_to_spec(priors))


def model_key(law: Law, static: dict) -> tuple:
    """What identifies a law's model given its static arguments (law and options, priors,
    likelihood, the rest of ``static``, whether its runs are padded): the key of compiled
    kernels and traced programs."""
    rest = tuple(sorted((k, v) for k, v in static.items() if k not in ("priors", "likelihood")))
    return (law_key(law), priors_key(static["priors"]), static["likelihood"], rest, law.pads_runs)


def check_allocation_method(method) -> str:
    """``method`` of :meth:`Law.allocation`, one of ``ALLOCATION_METHODS`` (ValueError)."""
    if not isinstance(method, str) or method not in ALLOCATION_METHODS:
        raise ValueError(f"method must be one of {ALLOCATION_METHODS}, got {method!r}")
    return method


def summarise(values: np.ndarray, ci: float) -> tuple:
    """(median, lower, upper) over axis 0 of the central ``ci`` interval (``ci`` in (0, 1))."""
    ci = check_probability("ci", ci)
    lo, med, hi = np.quantile(values, [(1 - ci) / 2, 0.5, (1 + ci) / 2], axis=0)
    return med, lo, hi
