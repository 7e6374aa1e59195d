"""Query points and posterior draws at them, through :class:`~.model.ModelView` (the one place
that adds the model uncertainty of the chosen extrapolation method). ``predict``, the design
targets, the calibration backtests and the plots all take their draws from here.

Units: N params, D tokens, C FLOPs; draws are arrays (S, Q) in natural units.
"""

from __future__ import annotations

import os
import warnings
import weakref

import numpy as np
import pandas as pd

from ..inference.fit import Fit
from ..laws.priors import prior_to_spec
from ..runs import PlausibilityWarning, RunTable, complete_compute
from ..runs.checks import ArgumentTypeError, is_integer, number_array, rows_text
from ..runs.compute import MAX_DERIVED_PARAMS
from ..runs.magnitudes import BATCH_TOKENS_LOW
from ..runs.messages import format_values
from ..runs.warn import user_stacklevel
from .extrapolation import DEFAULT_METHOD
from .extrapolation.distance import group_ranges, range_words
from .model import ModelView

FAR_BELOW_DECADES = 3.0  # a query this far below the fitted range is likely in other units
FAR_ABOVE_DECADES = 6.0  # ... or this far above it
# a sweep spans a few decades of lr and batch size around the optimum; a setting 100x outside
# it is off any bowl a sweep has seen (more likely in other units: a batch in sequences)
FAR_DECADES = {"lr": (2.0, 2.0), "batch_size": (2.0, 2.0)}  # column -> (below, above)
UNITS = {"N": "parameters", "D": "tokens", "C": "FLOPs", "lr": "", "batch_size": "tokens"}


def check_fit(fit, argument: str = "fit") -> None:
    """Refuse anything but a fitted law (:class:`~bayeslaws.inference.Fit`, from ``bl.fit``,
    ``bl.load_fit``, ``fit.update`` or ``bl.fit_many``) as the argument named ``argument``,
    with an :class:`~bayeslaws.runs.checks.ArgumentTypeError` giving the remedy: a path (the
    saved .nc file) says to load it with ``bl.load_fit(path)``, a run table to fit it first,
    anything else names its type. Every public function taking a fit calls it before it reads
    the fit (first, or after its scalar arguments' checks)."""
    if isinstance(fit, Fit):
        return
    wanted = f"{argument} must be a bayeslaws Fit (from bl.fit or bl.load_fit)"
    if isinstance(fit, str | bytes | os.PathLike):
        raise ArgumentTypeError(
            f"{wanted}, got {type(fit).__name__} {os.fsdecode(fit)!r}: to use a saved fit, "
            f"load it first: use bl.load_fit(path) (e.g. {argument} = "
            f"bl.load_fit({os.fsdecode(fit)!r}))"
        )
    if isinstance(fit, RunTable | pd.DataFrame):
        raise ArgumentTypeError(
            f"{wanted}, got a {type(fit).__name__} of runs: fit it first: "
            f"bl.fit(runs, law=...), and pass the fit"
        )
    if fit is None:
        raise ArgumentTypeError(f"{wanted}, got None")
    raise ArgumentTypeError(f"{wanted}, got {type(fit).__name__}")


def positive_array(name: str, values) -> np.ndarray | None:
    """A 1-d array of finite positive floats (a scalar becomes length 1), or None. Booleans and
    text (a string, or strings or bytes in a list, a pandas Series or a NumPy array) are an
    :class:`~bayeslaws.runs.checks.ArgumentTypeError` naming ``name``: numbers only."""
    if values is None:
        return None
    if isinstance(values, str | bytes | dict) or (
        np.ndim(values) == 0 and isinstance(values, bool | np.bool_)
    ):
        raise ArgumentTypeError(f"{name} must be a number or a sequence of numbers, got {values!r}")
    arr = np.atleast_1d(number_array(name, values))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a number or a 1-d sequence, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: give at least one value")
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        raise ValueError(
            f"{name} must be finite and positive; bad at positions "
            f"{rows_text(np.flatnonzero(bad).tolist(), noun='positions')} (counted from 0) "
            f"(e.g. {format_values(arr[bad], 3)})"
        )
    return arr


def shared_index(**values) -> pd.Index | None:
    """The row labels of the pandas Series among ``values`` (name -> a query argument), so that
    an answer keeps its inputs' labels: their one shared index (the other arguments, scalars
    or arrays, broadcast by position), or None when no argument is a Series. Series with
    different indexes raise ValueError naming them: which label an answer belongs to would
    be ambiguous."""
    series = {k: v for k, v in values.items() if isinstance(v, pd.Series)}
    if not series:
        return None
    (first, index), *others = ((k, v.index) for k, v in series.items())
    differ = [k for k, other in others if not index.equals(other)]
    if differ:
        raise ValueError(
            f"{', '.join([first, *differ])} are pandas Series with different indexes (row "
            "labels): the answer's rows could not carry one label each; pass columns of one "
            "DataFrame (one index), align them (e.g. .reindex), or pass .to_numpy() to pair "
            "values by position"
        )
    return index


def labelled(table: pd.DataFrame, index: pd.Index | None) -> pd.DataFrame:
    """``table`` (one row per query point, in order) with the inputs' row labels ``index``
    (:func:`shared_index`); unchanged when there are none or a Series was broadcast to more
    rows than it has."""
    if index is None or len(index) != len(table):
        return table
    return table.set_axis(index, axis=0)


def query_frame(fit, N=None, D=None, C=None, *, group=None, **inputs) -> pd.DataFrame:
    """Query points as a DataFrame: N, D, C (any two given, the third from the fit's compute
    model; scalars broadcast) and the law's other inputs. Rows are numbered 0..Q-1 by
    position: :func:`predict` gives its answer the row labels of pandas Series inputs
    (:func:`shared_index`). ``group``: the group the points are asked for, whose own range
    the far-value check (:func:`check_range`) reads. An N below one parameter or a D below
    one token, given or derived, is a ValueError naming it (as for a run table); far values
    only warn, located at the user's line (the first frame outside the package,
    :func:`~bayeslaws.runs.warn.user_stacklevel`), however deep the call."""
    check_fit(fit)
    law = fit.law
    allowed = set(law.inputs) | set(law.optional_inputs) | {"N", "D", "C"}
    unknown = sorted(set(inputs) - allowed)
    if unknown:
        raise ArgumentTypeError(
            f"unknown query input(s) {unknown} for law {law.name!r}; it takes N, D, C"
            + (f" and {sorted(law.optional_inputs)}" if law.optional_inputs else "")
        )
    partial = [k for k in law.optional_inputs if inputs.get(k) is None]
    if len(partial) < len(law.optional_inputs) and partial:
        given_names = sorted(set(law.optional_inputs) - set(partial))
        raise ValueError(
            f"law {law.name!r} takes {' and '.join(law.optional_inputs)} together: got "
            f"{', '.join(given_names)} without {', '.join(partial)} (give all of them, or none "
            "for the prediction at the optimum)"
        )
    given = {k: positive_array(k, v) for k, v in {"N": N, "D": D, "C": C}.items()}
    present = [k for k, v in given.items() if v is not None]
    if len(present) != 2:
        raise ValueError(f"give exactly two of N, D, C; got {present or 'none'}")
    for column, what in (("N", "parameter"), ("D", "token")):
        below = given[column] < 1 if given[column] is not None else np.zeros(0, bool)
        if below.any():
            i = int(np.flatnonzero(below)[0])
            raise ValueError(
                f"{column} = {given[column][i]:.3g} is below one {what} (at positions "
                f"{np.flatnonzero(below).tolist()[:10]}): N is in parameters, D in tokens, C "
                "in FLOPs (about 6 N D); is it in other units (e.g. billions) or mistyped?"
            )
    extra = {k: positive_array(k, v) for k, v in inputs.items() if v is not None}
    arrays = {**{k: given[k] for k in present}, **extra}
    try:
        broadcast = dict(zip(arrays, np.broadcast_arrays(*arrays.values()), strict=True))
    except ValueError:
        shapes = {k: v.shape for k, v in arrays.items()}
        raise ValueError(f"query arrays have incompatible lengths {shapes}") from None
    model = fit.compute_model
    ndc = complete_compute(model, **{k: broadcast[k] for k in present})
    flops_ratio = model.flops(ndc["N"], ndc["D"]) / ndc["C"]  # 1 where a size fits C
    for column, what in (("N", "parameter"), ("D", "token")):
        # derived sizes are searched within 1 .. 1e18 parameters: off C means none fits
        bad = (ndc[column] < 1) | (np.abs(flops_ratio - 1) > 0.01)
        if bad.any() and column not in present:
            i = int(np.flatnonzero(bad)[0])
            given = " and ".join(f"{k} = {broadcast[k][i]:.3g}" for k in present)
            side = (  # short of C at the largest size searched, or over it at the smallest
                f"above {MAX_DERIVED_PARAMS:.0e} parameters (the largest size searched)"
                if ndc[column][i] >= 1 and flops_ratio[i] < 1
                else f"below one {what}"
            )
            raise ValueError(
                f"{given} imply {column} {side} (at "
                f"positions {np.flatnonzero(bad).tolist()[:10]}): C is in FLOPs (about 6 N D), N "
                "in parameters, D in tokens"
            )
    frame = pd.DataFrame({**ndc, **{k: broadcast[k] for k in extra}})
    # check_range warns one frame below this one: through predict, loss_penalty or a design
    # target alike, the warning names the user's line
    check_range(fit, frame, group=group)
    return frame


# fits whose answer for a new group was announced (once per fit and process; not saved with it)
_NEW_GROUP_ANNOUNCED: weakref.WeakSet = weakref.WeakSet()
NAMED_GROUPS = 10  # a new-group warning names this many of the fit's groups


# a group spread (<p>_tau) whose power-scaling prior sensitivity (ArviZ's psens: how far the
# posterior moves when its prior is raised to a power near 1; Kallioinen et al. 2024) exceeds
# this depends on its prior; 0.05 is the threshold ArviZ's documentation gives for an
# informative prior. Two groups leave every spread so; many groups pin it
# (tests/test_group_prior.py)
PRIOR_SENSITIVITY = 0.05
NAMED_SPREADS = 3  # a new-group warning names this many prior-sensitive spreads


def prior_key(name: str, priors) -> str | None:
    """The prior that set group spread ``name`` (``<p>_tau``): its own, else ``group_sd``
    (None: neither among ``priors``)."""
    return name if name in priors else "group_sd" if "group_sd" in priors else None


FLAT_QUANTILE, FLAT_FRACTION = 0.95, 0.5  # a spread under a flat prior: see spread_evidence
PRIOR_DRAWS = 20_000  # draws for a flat prior's quantile when it has no icdf (seed 0)


def _log_prior(prior, values: np.ndarray) -> np.ndarray:
    import jax.numpy as jnp

    return np.asarray(prior.log_prob(jnp.asarray(values)), float)


def prior_sensitivity(draws, prior) -> float:
    """Power-scaling prior sensitivity (``arviz.psens``) of one scalar site: ``draws`` (S,)
    its posterior draws, ``prior`` its numpyro prior (log density at the draws)."""
    import xarray as xr

    from ..inference.deferred import arviz

    values = np.asarray(draws, float).reshape(1, -1)
    data = arviz().InferenceData(
        posterior=xr.Dataset({"x": (("chain", "draw"), values)}),
        log_prior=xr.Dataset({"x": (("chain", "draw"), _log_prior(prior, values))}),
    )
    return float(arviz().psens(data, component="prior")["x"])


def prior_quantile(prior, q: float) -> float:
    """The ``q``-quantile of a scalar numpyro prior: its icdf, else from ``PRIOR_DRAWS``
    draws (seed 0)."""
    try:
        return float(prior.icdf(q))
    except (NotImplementedError, ImportError, TypeError, ValueError):
        import jax

        draws = prior.sample(jax.random.PRNGKey(0), (PRIOR_DRAWS,))
        return float(np.quantile(np.asarray(draws, float), q))


def spread_evidence(draws, prior) -> tuple[float, str] | None:
    """Whether a group spread's answer depends on its prior: (score, what shows it), else None.
    Power-scaling sensitivity (:func:`prior_sensitivity`) above ``PRIOR_SENSITIVITY``; a prior
    flat over the draws (e.g. Uniform(0, 3)), which power-scaling cannot see, by the posterior
    ``FLAT_QUANTILE`` point past ``FLAT_FRACTION`` of the prior's (its bound then shapes it)."""
    values = np.asarray(draws, float)
    if np.ptp(_log_prior(prior, values)) < 1e-9:  # flat over the draws
        try:
            bound = prior_quantile(prior, FLAT_QUANTILE)
        except Exception:  # noqa: BLE001 -- an improper flat prior: nothing to compare with
            return None
        upper = float(np.quantile(values, FLAT_QUANTILE))
        if upper > FLAT_FRACTION * bound:
            return upper / bound, f"95% point {upper:.2g} against the flat prior's {bound:.2g}"
        return None
    sensitivity = prior_sensitivity(values, prior)
    if sensitivity > PRIOR_SENSITIVITY:
        return sensitivity, f"power-scaling prior sensitivity {sensitivity:.2f}"
    return None


def prior_sensitive_spreads(draws, priors) -> dict[str, tuple[float, str]]:
    """The group spreads (``<p>_tau`` among ``draws``, each (S,), unconstrained units) whose
    answer depends on their prior (``priors``: name -> numpyro distribution;
    :func:`prior_key`): name -> (score, evidence) (:func:`spread_evidence`)."""
    flagged = {}
    for name in sorted(k for k in draws if k.endswith("_tau")):
        key = prior_key(name, priors)
        if key is None:
            continue
        evidence = spread_evidence(draws[name], priors[key])
        if evidence is not None:
            flagged[name] = evidence
    return flagged


def prior_text(prior) -> str:
    """A prior as ``HalfNormal(0.3)`` (its recorded arguments), or its repr."""
    try:
        spec = prior_to_spec(prior)
    except ValueError:
        return repr(prior)
    name = spec.pop("dist")
    values = (f"{v:g}" if isinstance(v, float) else str(v) for v in spec.values())
    return f"{name}({', '.join(values)})"


def spread_prior_note(fit) -> str:
    """The clause for a grouped fit whose group spreads depend on their prior
    (:func:`prior_sensitive_spreads`): per prior, its spreads (most sensitive first) and how to
    override it; '' otherwise."""
    post = fit.posterior()
    flagged = prior_sensitive_spreads(post.draws, post.priors)
    if not flagged:
        return ""
    by_prior: dict[str, list[str]] = {}
    for name in sorted(flagged, key=lambda n: -flagged[n][0]):
        by_prior.setdefault(prior_key(name, post.priors), []).append(name)
    parts = []
    for key, names in by_prior.items():
        shown = "; ".join(f"{n}: {flagged[n][1]}" for n in names[:NAMED_SPREADS])
        more = f"; {len(names) - NAMED_SPREADS} more" if len(names) > NAMED_SPREADS else ""
        parts.append(f"on the {key!r} prior, {prior_text(post.priors[key])} ({shown}{more})")
    keys = ", ".join(f"{k!r}: ..." for k in by_prior)
    return (
        f"that spread depends {' and '.join(parts)} (sd of group deviations in unconstrained "
        f"units; power-scaling sensitivity above {PRIOR_SENSITIVITY:g} means the prior informs "
        f"the answer), and so do the new group's intervals (set it with priors={{{keys}}}); "
    )


def new_group_message(fit, group, caller: str) -> str:
    """The sentence for ``group=None`` on a grouped fit (an answer for a new, unseen group,
    wider than a fitted group's; saying so when the groups' spread depends on its prior,
    :func:`spread_prior_note`); '' for a fitted group or a fit without groups."""
    groups = [str(g) for g in fit.groups]
    if group is not None or len(groups) <= 1:
        return ""
    named = ", ".join(groups[:NAMED_GROUPS])
    more = f", ... ({len(groups) - NAMED_GROUPS} more)" if len(groups) > NAMED_GROUPS else ""
    note = spread_prior_note(fit)
    return (
        f"{caller}: group=None on a fit of {len(groups)} groups ({named}{more}) answers for a "
        f"NEW, unseen group: its deviation is drawn from the groups' {'' if note else 'fitted '}"
        f"spread, so the intervals are wider than a fitted group's; {note}pass "
        f"group={groups[0]!r} (or another of fit.groups) for a fitted group's answer"
    )


def warn_new_group(fit, group, caller: str, noted: bool = False) -> None:
    """Warn (UserWarning, :func:`new_group_message`) once per fit that ``group=None`` answers
    for a new group; silent when the caller has ``noted`` it to its user itself."""
    message = "" if noted or fit in _NEW_GROUP_ANNOUNCED else new_group_message(fit, group, caller)
    if message:
        _NEW_GROUP_ANNOUNCED.add(fit)
        warnings.warn(message, UserWarning, stacklevel=user_stacklevel())


def check_range(
    fit,
    query: pd.DataFrame,
    positions: bool = True,
    group=None,
    cautions: bool = True,
) -> list[str]:
    """Warn (:class:`~bayeslaws.runs.PlausibilityWarning`) about query values more than
    ``FAR_BELOW_DECADES`` below or ``FAR_ABOVE_DECADES`` above the fit's range (for lr and
    batch size, ``FAR_DECADES``): most likely a value in other units (e.g. N in billions); and
    about a batch size below ``BATCH_TOKENS_LOW`` tokens (:func:`batch_in_sequences`).
    ``group``: a fitted group's label measures against that group's own runs' range; None (a
    new group, or a fit without groups) against the pooled range
    (:func:`~.extrapolation.distance.group_ranges`). ``positions``: name the query rows (False
    where the rows are internal, e.g. a figure's grid). ``cautions``: also the law's own
    messages about the query (:meth:`~bayeslaws.laws.contract.Law.query_cautions`, e.g. an
    isoFLOP budget a few percent from a fitted one; False for a figure's internal grid).
    One message per column and side (below, above) with far values: it names the side's first
    far value, up to 10 positions and, when further out, the side's farthest value
    (:func:`farthest_text`). Returns the messages."""
    ranges = group_ranges(fit, group)
    whose = range_words(fit, group)
    batch = batch_in_sequences(query, ranges.get("batch_size"), positions)
    messages = [batch] if batch else []
    for column, (low, high) in ranges.items():
        if column not in query or (column == "batch_size" and batch):
            continue
        values = np.asarray(query[column], float)
        decades = {"below": np.log10(low / values), "above": np.log10(values / high)}
        far_below, far_above = FAR_DECADES.get(column, (FAR_BELOW_DECADES, FAR_ABOVE_DECADES))
        limits = {"below": far_below, "above": far_above}
        unit = UNITS.get(column) or "the runs' units"
        for side, distance in decades.items():  # each side its own message: both ends named
            far = np.flatnonzero(distance > limits[side])
            if far.size:
                i = int(far[0])
                where = f" (positions {far.tolist()[:10]})" if positions else ""
                farthest = farthest_text(column, values, distance, far, positions)
                messages.append(
                    f"{column} = {values[i]:.3g}{where} lies {distance[i]:.1f} decades outside "
                    f"{whose} [{low:.3g}, {high:.3g}] ({side}){farthest}: is it in other "
                    f"units? ({column} is in {unit})"
                )
    if cautions:
        messages += fit.law.query_cautions(fit.record.law_state, query)
    for message in messages:
        warnings.warn(message, PlausibilityWarning, stacklevel=user_stacklevel())
    return messages


def farthest_index(distance, far) -> int | None:
    """The farthest of the ``far`` values (indices into ``distance`` (Q,), decades outside, on
    one side) when it lies further out than the first of them, which a warning's head names
    (by 0.05 decades or more: a distance shown to 0.1), else None."""
    j = int(far[np.argmax(distance[far])])
    if not distance[j] - distance[int(far[0])] >= 0.05:  # nearer, or both infinite (NaN)
        return None
    return j


def farthest_text(column: str, values, distance, far, positions: bool = True) -> str:
    """'' or ", the farthest <column> = v at position j, d decades out": the farthest of the
    ``far`` values (indices into ``values`` (Q,), ``distance`` (Q,) decades outside, on one
    side) when it lies further out than the first of them (:func:`farthest_index`), so the
    head's distance is not every far value's. ``positions``: name j."""
    j = farthest_index(distance, far)
    if j is None:
        return ""
    at = f" at position {j}" if positions else ""
    return f", the farthest {column} = {values[j]:.3g}{at}, {distance[j]:.1f} decades out"


def batch_in_sequences(query: pd.DataFrame, fitted_range=None, positions: bool = True) -> str:
    """The warning for query batch sizes below ``BATCH_TOKENS_LOW`` tokens (likely a batch in
    sequences, as the run-table loader warns for a column), or "" when there are none. Silent
    when the fit's own batch range (``fitted_range``: (low, high), tokens) starts below it:
    the fit's runs were in those units (the loader warned then) and the query matches them."""
    if "batch_size" not in query or (fitted_range and fitted_range[0] < BATCH_TOKENS_LOW):
        return ""
    values = np.asarray(query["batch_size"], float)
    low = values < BATCH_TOKENS_LOW
    if not low.any():
        return ""
    i = int(np.flatnonzero(low)[0])
    where = f" (positions {np.flatnonzero(low).tolist()[:10]})" if positions else ""
    return (
        f"batch_size = {values[i]:.3g}{where} is below {BATCH_TOKENS_LOW:g} tokens: batch_size "
        "is in tokens, and this looks like a batch in sequences; pass tokens = sequences x "
        f"sequence length (e.g. {values[i]:.3g} sequences of 2048 tokens: batch_size = "
        f"{values[i] * 2048:.0f})"
    )


def quantity_draws(
    fit,
    query: pd.DataFrame,
    *,
    kind: str = "mean",
    group=None,
    seed: int = 0,
    extrapolation: str = DEFAULT_METHOD,
) -> dict:
    """Draws of each quantity the fit's law predicts at the query points: name -> (S, Q).

    ``kind``: "mean" (the uncertainty of the law; under ``extrapolation="model"`` or
    ``"drift"``, of the true loss surface) or "new_run" (what one new run would show: plus
    run-to-run noise).
    ``extrapolation``: the model uncertainty added (:mod:`bayeslaws.posterior.model`)."""
    check_fit(fit)
    return ModelView.of(fit, extrapolation, check_seed(seed)).draws(query, kind=kind, group=group)


def check_seed(seed) -> int:
    if not is_integer(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def log_loss_draws(fit, query, kind="mean", group=None, seed=0, extrapolation=DEFAULT_METHOD):
    """ln L draws (S, Q) of a law that predicts the loss (see :func:`quantity_draws`)."""
    check_fit(fit)
    draws = quantity_draws(
        fit, query, kind=kind, group=group, seed=seed, extrapolation=extrapolation
    )
    if "loss" not in draws:
        raise ValueError(f"law {fit.law.name!r} does not predict the loss of a run")
    return np.log(draws["loss"])
