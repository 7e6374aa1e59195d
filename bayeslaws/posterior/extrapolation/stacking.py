"""Bayesian stacking of functional forms (Yao et al. 2018), methods ``"stacking"`` and
``"stacking_discrepancy"``.

``STACK_LAWS`` -- Chinchilla, Chinchilla with an interaction exponent
(:mod:`bayeslaws.laws.chinchilla_gamma`) and Kaplan -- are fitted to the same training runs as
the fit, with weights from PSIS-LOO (:func:`stack`, which keeps the other forms' draws in
``fit.cache["stacking"]``). Beyond the range each predictive draw comes from one form, chosen
with the stacking weights; the other forms' share ramps in over the first ``distance.RAMP``
decades past the range (:func:`stacked_draws`' ``share``), as the distance discrepancy's step
does, so that the interval and the median are continuous at the range's edge. A form with no
more runs than parameters, or whose fit fails the convergence bars (``MAX_R_HAT``,
``MAX_DIVERGENT``), is left out, with a warning. Stacking applies to single-group loss surfaces
L(N, D). Form averaging (:mod:`.forms`) fits and weighs its forms by the same path
(:func:`fit_forms`).

:func:`runs_for` is the rule by which every state fitted from runs (here, the GP, the distance
and drift discrepancies, form averaging) takes the fit's own training runs.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ...inference.diagnostics import quiet_arviz
from ...laws import law_ref, resolve_law
from ...laws.contract import Posterior, Scales
from ...laws.priors import spec_to_priors
from ...runs.warn import user_stacklevel, warn_user

STACK_LAWS = ("chinchilla", "chinchilla_gamma", "kaplan")  # forms averaged by stacking
# PSIS-LOO's reliability bound on a run's Pareto k (Vehtari et al. 2017): above it that run's
# leave-one-out score, and so the stacking weights, rest on few draws
PARETO_K_MAX = 0.7


class UnreliableLooWarning(UserWarning):
    """Stacking weights computed from PSIS-LOO scores that some runs make unreliable."""


class UnusedRunsWarning(UserWarning):
    """Runs given to a state fitted from the fit's training runs (the GP discrepancy, the
    scale-out refits, stacking, form averaging) that are not among them: they are not used."""


# a form's fit is left out of stacking and of form averaging above these bars
MAX_R_HAT = 1.05
MAX_DIVERGENT = 0.02  # share of transitions


def max_r_hat(f) -> float:
    """The fit's largest R-hat over its posterior variables; for a one-chain fit (whose
    diagnostics have none) the R-hat of the chain's two halves as two chains, which still
    shows a chain that has not settled. ArviZ's own log warnings are muted
    (:func:`~bayeslaws.inference.diagnostics.quiet_arviz`): halves of fewer than 4 draws give
    NaN, and ArviZ's "Shape validation failed" on stderr said nothing the caller does not."""
    posterior = f.idata.posterior
    if posterior.sizes["chain"] > 1:
        return float(f.diagnostics.max_r_hat)
    import arviz as az

    half = posterior.sizes["draw"] // 2
    worst = float("nan")
    for values in posterior.data_vars.values():
        draws = np.asarray(values)[0, : 2 * half].reshape(2, half, -1)  # (halves, draws, K)
        for k in range(draws.shape[2]):
            # a still draw: NaN, kept; ArviZ's shape warnings (too few draws) muted
            with np.errstate(invalid="ignore", divide="ignore"), quiet_arviz():
                r_hat = float(az.rhat(draws[:, :, k]))
            worst = r_hat if np.isnan(r_hat) else np.fmax(worst, r_hat)
            if np.isnan(worst):
                return worst
    return worst


def fit_form(fit, runs, law, *, chains: int, warmup: int, draws: int, seed: int):
    """Another form ``law`` (a name or Law) fitted to ``runs`` with ``fit``'s likelihood and the
    given sampler settings, its sampler warnings off: stacking and form averaging judge it by
    :func:`form_failure` instead."""
    from ...inference import fit as fit_law

    return fit_law(runs, law, likelihood=fit.likelihood, chains=chains, warmup=warmup,
                   draws=draws, seed=seed, warn=False)  # fmt: skip


def form_failure(f):
    """Why a form's fit ``f`` is not to be used (None: it is): R-hat undefined or above
    ``MAX_R_HAT`` (:func:`max_r_hat`), or divergent transitions above ``MAX_DIVERGENT`` of its
    draws (both read when called, so a test may loosen them)."""
    d = f.diagnostics
    r_hat = max_r_hat(f)
    if np.isnan(r_hat):
        return "did not converge (a parameter's draws never moved: R-hat undefined)"
    if r_hat > MAX_R_HAT:
        return f"did not converge (max R-hat {r_hat:.3f} > {MAX_R_HAT})"
    if d.divergences > MAX_DIVERGENT * d.n_draws:
        return f"{d.divergences} divergent transitions of {d.n_draws}"
    return None


def form_figures(f) -> str:
    """A form fit's convergence figures in words: max R-hat, divergences, bulk ESS."""
    d = f.diagnostics
    return (
        f"max R-hat {max_r_hat(f):.3f}, {d.divergences} divergent transitions of {d.n_draws} "
        f"draws, min bulk ESS {d.min_ess_bulk:.0f}"
    )


def stacking_table(idatas: dict) -> tuple:
    """Stacking weights of ``{name: InferenceData}`` by :func:`arviz.compare` (PSIS-LOO,
    ``method="stacking"``) and each one's PSIS-LOO reliability.

    Returns (the compare table, ``{name: {"max_pareto_k": float, "n_runs_above": int (runs
    with k > PARETO_K_MAX), "arviz_warning": bool (ArviZ's own flag, whose bound falls below
    0.7 for fewer than ~2200 draws)}}``). ArviZ's per-model warnings are silenced here: say
    them once with :func:`warn_unreliable_loo`."""
    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loo = {k: az.loo(idata, pointwise=True) for k, idata in idatas.items()}
        table = az.compare(loo, ic="loo", method="stacking")
    reliability = {
        k: {
            "max_pareto_k": float(np.max(np.asarray(res.pareto_k))),
            "n_runs_above": int(np.sum(np.asarray(res.pareto_k) > PARETO_K_MAX)),
            "arviz_warning": bool(res.warning),
        }
        for k, res in loo.items()
    }
    return table, reliability


def warn_unreliable_loo(what: str, reliability: dict, weights: dict) -> None:
    """One :class:`UnreliableLooWarning` naming every form with a run of Pareto k above
    ``PARETO_K_MAX`` (its max k, how many runs) and the weights kept."""
    bad = {k: r for k, r in reliability.items() if r["max_pareto_k"] > PARETO_K_MAX}
    if not bad:
        return
    listed = ", ".join(
        f"{k!r} (max k {r['max_pareto_k']:.3f}, {r['n_runs_above']} run(s) above {PARETO_K_MAX})"
        for k, r in bad.items()
    )
    shares = ", ".join(f"{k!r} {w:.2f}" for k, w in weights.items())
    warnings.warn(
        f"{what}: PSIS-LOO is unreliable for form(s) {listed}: their leave-one-out scores rest on "
        f"few draws, and so do the stacking weights ({shares}), which are kept as computed. "
        "Refit with more draws, or look at those runs (arviz.loo(fit.idata, pointwise=True)); "
        "each form's Pareto k is in the state's 'loo_reliability'",
        UnreliableLooWarning,
        stacklevel=user_stacklevel(),
    )


def unavailable(fit, key: str = "stacking", what: str = "stacking") -> str | None:
    """Why the forms cannot be fitted and weighed for this fit (None when they can): by
    stacking (``key`` "stacking") or by form averaging (``key`` "forms", ``what`` "form
    averaging"), both for single-group loss surfaces L(N, D) with stored training runs."""
    state = fit.cache.get(key) or {}
    if state.get("weights"):
        return None  # already fitted (perhaps with runs passed in): both states hold weights
    law = fit.law
    if tuple(law.inputs) != ("N", "D") or law.primary != "loss":
        return f"law {law.name!r} is not a loss surface L(N, D)"
    if len(fit.groups) > 1:
        return f"the fit has several groups ({what} is for single-group loss surfaces)"
    if not fit.record.training_runs:
        return "the fit holds no training runs"
    return None


def _scalar_draws(fit) -> dict:
    """The fit's scalar posterior draws, name -> list (S,), for a JSON state."""
    return {k: np.asarray(v, float).tolist() for k, v in fit.draws().items() if np.ndim(v) == 1}


CHECKED_COLUMNS = ("N", "D", "loss")  # what the stacked loss surfaces read of a run
# also compared when a training run is matched to a row of other label by its values
MATCH_COLUMNS = ("C", "lr", "batch_size")
MATCH_LABELS = ("group",)


def _given_frame(runs) -> pd.DataFrame:
    """The rows of ``runs`` (a RunTable, a DataFrame with canonical columns or a path) with
    their row labels."""
    from ...runs import RunTable, as_run_table

    if isinstance(runs, RunTable):
        return runs.df
    if isinstance(runs, pd.DataFrame):
        return runs
    return as_run_table(runs).df


def _as_stored_labels(given: pd.DataFrame) -> pd.DataFrame:
    """``given`` with its row labels as the fit records them (``nuts.stored_label``)."""
    from ...inference.nuts import stored_label

    return given.set_axis(pd.Index([stored_label(r) for r in given.index]), axis=0)


def _check_holds(own_df: pd.DataFrame, given: pd.DataFrame, what: str) -> np.ndarray:
    """The rows of ``given`` that hold the fit's training runs ``own_df`` (boolean, one per row
    of ``given``); ValueError unless every training run is among them. A run is held by the row
    of its label (compared as the fit records labels: ``nuts.stored_label``) with the same N, D
    and loss, else by a row of other label with its values (:func:`pair_by_values`: N, D, loss
    and, where both have them, C, lr, batch_size and group): an update numbers its new runs past
    every earlier label, which the user's table cannot carry."""
    given = _as_stored_labels(given)
    labels = list(own_df.index)
    doubled = sorted(
        {r for r in given.index[given.index.duplicated()] if r in set(labels)}, key=str
    )
    if doubled:
        raise ValueError(f"{what}: runs hold the training rows {doubled[:5]} more than once")
    at_label = given.index.isin(labels)  # (m,)
    found = [r for r in labels if r in given.index]
    differing = _differing_columns(own_df.loc[found], given.loc[found])  # (len(found),) or ""
    bad = {r for r, column in zip(found, differing, strict=True) if column}
    unlabelled = [r for r in labels if r not in given.index or r in bad]
    free = ~at_label | given.index.isin(list(bad))  # rows a run may be matched to by values
    positions = [labels.index(r) for r in unlabelled]
    missing, used = pair_by_values(own_df.iloc[positions], given, free)
    unmatched = [unlabelled[i] for i in missing]
    lacking = [r for r in unmatched if r not in bad]
    if lacking:
        raise ValueError(lacking_message(what, own_df, lacking))
    if unmatched:
        column = differing[found.index(unmatched[0])]
        raise ValueError(
            f"{what}: runs have other {column} values than the fit's training runs at "
            f"{len(unmatched)} of {len(labels)} rows (first: row {unmatched[0]!r}), and no "
            "other row holds their values; pass runs holding the fit's training runs, or no "
            "runs: the fit's own training runs are used"
        )
    return (at_label & ~given.index.isin(list(bad))) | used


def _differing_columns(own: pd.DataFrame, rows: pd.DataFrame) -> list:
    """Per row (same labels, same order), the first of ``CHECKED_COLUMNS`` whose value differs
    between ``own`` and ``rows`` (relative tolerance 1e-9, NaN matching NaN), "" when none."""
    out = [""] * len(own)
    for column in reversed(CHECKED_COLUMNS):
        if column not in rows or column not in own:
            continue
        a = own[column].to_numpy(float)
        b = pd.to_numeric(rows[column], errors="coerce").to_numpy(float)
        for i in np.flatnonzero(~np.isclose(a, b, rtol=1e-9, equal_nan=True)):
            out[i] = column
    return out


def lacking_message(what: str, own_df: pd.DataFrame, lacking: list) -> str:
    """The error for training runs (row labels ``lacking`` of ``own_df``) that runs given hold
    neither by label nor by values: which ones, by label and values."""
    more = " ..." if len(lacking) > 5 else ""
    labels = ", ".join(map(repr, lacking[:5])) + more
    values = "; ".join(
        f"row {r!r}: "
        + ", ".join(f"{c}={own_df.at[r, c]:.6g}" for c in CHECKED_COLUMNS if c in own_df)
        for r in lacking[:5]
    ) + more
    return (
        f"{what}: runs lack {len(lacking)} of the fit's {len(own_df)} training runs (row labels "
        f"{labels}), which no row holds by its label nor by its N, D and loss ({values}). The "
        "runs given must hold every run the fit was fitted to, including those fit.update "
        "added (their rows in any order and under any label); or pass no runs: the fit's own "
        "training runs are used"
    )


def _value_columns(own_df: pd.DataFrame, given: pd.DataFrame, extra: bool) -> tuple:
    """The numeric columns and the label columns by which runs are matched by values: N, D and
    loss, and with ``extra`` also ``MATCH_COLUMNS`` and ``MATCH_LABELS``, each where both
    frames have it."""
    numeric = CHECKED_COLUMNS + (MATCH_COLUMNS if extra else ())
    return (
        [c for c in numeric if c in own_df and c in given],
        [c for c in (MATCH_LABELS if extra else ()) if c in own_df and c in given],
    )


def pair_by_values(own_df: pd.DataFrame, given: pd.DataFrame, free=None, extra: bool = True):
    """Match the fit's training runs ``own_df`` (n rows) to rows of ``given`` (m rows) among
    ``free`` ((m,) bool; None: all) by values: numeric columns within relative tolerance 1e-9
    (NaN matching NaN), labels (group) by ``label_key``; each row of ``given`` matches at most
    one run. Returns (positions 0..n-1 of the runs no row matches, (m,) bool of the rows
    matched). Row labels and order play no part."""
    from ...runs.table import label_key

    numeric, named = _value_columns(own_df, given, extra)
    own = np.column_stack([own_df[c].to_numpy(float) for c in numeric])  # (n, k)
    other = np.column_stack(
        [pd.to_numeric(given[c], errors="coerce").to_numpy(float) for c in numeric]
    )  # (m, k)
    own_keys = [tuple(label_key(v) for v in own_df[c]) for c in named]  # (j, n)
    other_keys = [np.array([label_key(v) for v in given[c]], object) for c in named]  # (j, m)
    free = np.ones(len(other), bool) if free is None else np.array(free, bool)
    used = np.zeros(len(other), bool)
    missing = []
    for i, values in enumerate(own):
        same = np.isclose(other, values, rtol=1e-9, equal_nan=True).all(axis=1)
        for keys, column in zip(own_keys, other_keys, strict=True):
            same &= column == keys[i]
        hits = np.flatnonzero(free & same)
        if hits.size:
            free[hits[0]], used[hits[0]] = False, True
        else:
            missing.append(i)
    return missing, used


def unmatched_by_values(own_df: pd.DataFrame, given: pd.DataFrame) -> list:
    """Positions (0..n-1) of the fit's training runs ``own_df`` (n rows) that no row of
    ``given`` matches in N, D and loss (relative tolerance 1e-9, NaN matching NaN); each row of
    ``given`` matches at most one training run. Row labels and order play no part."""
    return pair_by_values(own_df, given, extra=False)[0]


def _check_holds_by_values(own_df: pd.DataFrame, given: pd.DataFrame, what: str) -> None:
    """ValueError unless ``given`` holds a row with the N, D and loss of every one of the
    fit's training runs ``own_df`` (for a fit that recorded no row labels)."""
    missing = unmatched_by_values(own_df, given)
    if missing:
        i = missing[0]
        first = ", ".join(f"{c}={own_df[c].iloc[i]:.6g}" for c in CHECKED_COLUMNS if c in own_df)
        raise ValueError(
            f"{what}: runs hold no row with the N, D and loss of {len(missing)} of the fit's "
            f"{len(own_df)} training runs (first: training run {i}, {first}); the fit recorded "
            "no row labels (saved by an older version), so runs are matched to it by values. "
            "Pass the table the fit was fitted to, or no runs: the fit's own training runs are "
            "used"
        )


def runs_for(fit, runs, what: str):
    """The runs a state of ``fit`` is fitted from (RunTable; None when none are given and the
    fit stores none): the fit's own training runs whenever it stores them, else ``runs`` as
    given. ``runs`` given to a fit that stores its training runs (RunTable, DataFrame or path)
    must hold every one of them with the same N, D and loss (ValueError naming the missing
    rows and how many): by row label (compared as the fit records them,
    ``nuts.stored_label``), else by values (:func:`pair_by_values`: the runs an update added
    carry labels the user's table cannot have), or, for a fit saved before row labels were
    recorded, by values alone (:func:`unmatched_by_values`); its order does not matter, and
    its rows that are not the
    fit's training runs (held out, excluded before fitting, left out by the law's rules) are
    not used: one :class:`UnusedRunsWarning` (naming ``what``) says how many and which."""
    own = fit.training_runs()
    if runs is None or own is None:
        return own if runs is None else runs
    given = _given_frame(runs)
    if "row" in fit.record.training_runs:
        held = _check_holds(own.df, given, what)  # (m,) bool
        extra = [r for r, h in zip(_as_stored_labels(given).index, held, strict=True) if not h]
        n_extra = len(extra)
    else:  # labelled by position 0..n-1, which an exclusion makes differ from the table's
        _check_holds_by_values(own.df, given, what)
        extra, n_extra = None, len(given) - len(own.df)
    if n_extra > 0:
        message = unused_runs_message(what, n_extra, len(given), len(own.df), extra)
        warn_user(message, UnusedRunsWarning)
    return own


def unused_runs_message(what: str, n_extra: int, n_given: int, n_own: int, labels=None) -> str:
    """The :class:`UnusedRunsWarning` text: ``n_extra`` of the ``n_given`` runs given (row
    ``labels``, when known) are not among the fit's ``n_own`` training runs."""
    shown = ""
    if labels:
        listed = ", ".join(map(repr, labels[:5])) + (" ..." if len(labels) > 5 else "")
        shown = f" (row labels {listed})"
    return (
        f"{what}: {n_extra} of the {n_given} runs given{shown} are not among the fit's "
        f"{n_own} training runs (e.g. held out, or excluded before fitting) and are NOT used: "
        "it reads the fit's own training runs only, so that runs held out of the fit cannot "
        "leak into its extrapolation. Pass no runs (or only the training runs) to silence this"
    )


def training_runs_for(fit, runs, what: str):
    """The runs to fit the other forms to, in the order of the fit's pointwise log-likelihood:
    the fit's own training runs (:func:`runs_for`: ``runs``, when given, must hold them; its
    other rows are not used, with an :class:`UnusedRunsWarning`). A fit that stores no
    training runs takes ``runs`` as given, checked after the fits by
    :func:`check_forms_comparable`; with neither: ValueError."""
    used = runs_for(fit, runs, what)
    if used is None:
        raise ValueError(f"{what} needs the training runs (none given, none stored in the fit)")
    return used


def check_forms_comparable(fits: dict, what: str) -> dict:
    """The InferenceData to score, name -> idata, once every form's fit is checked to score the
    same runs and observations as the first (the fit's own), in the same order: else their
    pointwise LOO, and so the weights, would pair different runs
    (:func:`bayeslaws.inference.nuts.comparable_fits`: a fit storing an older version of its
    law's pointwise terms is scored on terms recomputed from its draws; ValueError otherwise)."""
    from ...inference.nuts import comparable_fits

    scored = comparable_fits(list(fits.values()), list(fits), what)
    return {name: f.idata for name, f in zip(fits, scored, strict=True)}


def too_few_runs(law, n_runs: int) -> str | None:
    """Why ``law`` (a Law) is not fitted to ``n_runs`` runs (None: it is): no more runs than
    its parameters (its default priors and the noise scale), so its posterior is its prior."""
    n_params = len(law.default_priors()) + 1
    return f"{n_runs} runs for {n_params} parameters" if n_runs <= n_params else None


def fit_forms(fit, runs, names, *, what: str, names_key: str, call: str, chains: int,
              warmup: int, draws: int, seed=None) -> dict:
    """Fit every form in ``names`` other than the fit's own to its training runs (same
    likelihood, default priors; ``runs``, when given, must hold them: :func:`training_runs_for`)
    and weigh them by stacking: the one path of :func:`stack` and form averaging
    (:func:`~.forms.average`).

    A form is left out, with one warning naming it and why (:func:`excluded_form_message`;
    ``call``: the function whose sampler settings to raise), when it has no more runs than
    parameters (:func:`too_few_runs`) or its fit fails its checks (:func:`form_failure`, with
    :func:`form_figures`). The rest are weighed with :func:`arviz.compare`
    (``method="stacking"``, :func:`stacking_table`; one :class:`UnreliableLooWarning` names the
    forms with a Pareto k above ``PARETO_K_MAX``). ``what`` names the caller in messages.

    Returns the state: ``names_key`` (the forms kept, the fit's own first), "weights",
    "elpd_loo", "loo_reliability", "excluded" (name -> why) and "others" (each kept form's
    law, likelihood, priors, scales, groups, law state and scalar posterior draws)."""
    runs = training_runs_for(fit, runs, what)
    seed = fit.record.sampler.seed if seed is None else seed
    fits, excluded = {law_ref(fit.law): fit}, {}
    for name in names:
        if name in fits:
            continue
        law = resolve_law(name)
        few = too_few_runs(law, len(runs))
        if few:
            excluded[name] = few
            warn_user(excluded_form_message(what, name, few, call, fitted=False), UserWarning)
            continue
        other = fit_form(fit, runs, law, chains=chains, warmup=warmup, draws=draws, seed=seed)
        reason = form_failure(other)
        if reason:
            excluded[name] = f"{reason}; {form_figures(other)}"
            warn_user(excluded_form_message(what, name, excluded[name], call), UserWarning)
        else:
            fits[name] = other
    if len(fits) > 1:
        table, reliability = stacking_table(check_forms_comparable(fits, what))
        weights = {k: float(table.loc[k, "weight"]) for k in fits}
        elpd = {k: float(table.loc[k, "elpd_loo"]) for k in fits}
        warn_unreliable_loo(what, reliability, weights)
    else:  # every other form left out: the fit's own draws alone
        weights, elpd, reliability = {law_ref(fit.law): 1.0}, {}, {}
    return {
        names_key: list(fits),
        "weights": weights,
        "elpd_loo": elpd,
        "loo_reliability": reliability,
        "excluded": excluded,
        "others": {k: stored_form(f) for k, f in fits.items() if f is not fit},
    }


def stored_form(f) -> dict:
    """What a state keeps of a form's fit ``f`` to draw from it later (JSON)."""
    return {
        "law": f.record.law,
        "law_options": f.record.law_options,
        "likelihood": f.likelihood,
        "priors": f.record.priors,
        "scales": f.record.scales,
        "groups": f.record.groups,
        "law_state": f.record.law_state,
        "posterior": _scalar_draws(f),
    }


def stack(fit, runs=None, *, laws=STACK_LAWS, chains=2, warmup=300, draws=300, seed=None) -> dict:
    """Fit every law in ``laws`` other than the fit's own to its training runs and weigh them by
    stacking (:func:`fit_forms`: forms with no more runs than parameters or whose fit failed
    its checks are left out, with a warning; the state's ``"excluded"`` keeps why), and keep
    the state, with ``"method": "stacking"`` and the forms under ``"laws"``, in
    ``fit.cache["stacking"]``. Returns the state."""
    state = {"method": "stacking"} | fit_forms(
        fit, runs, laws, what="stacking", names_key="laws", call="stack", chains=chains,
        warmup=warmup, draws=draws, seed=seed,
    )
    fit.cache["stacking"] = state
    return state


def excluded_form_message(what: str, name: str, reason: str, call: str,
                          fitted: bool = True) -> str:
    """The warning for a form left out by ``what`` ("stacking", "form averaging"):
    ``reason`` (why, with its figures), for a form whose fit failed its checks (``fitted``) or
    that had no more runs than parameters (not fitted); ``call``: the function whose sampler
    settings to raise."""
    if fitted:
        cause = "its fit did not pass the convergence checks, so its stacking weight would rest "
        cause += "on unreliable draws"
        remedy = f"Give the form fits more draws ({call}(..., warmup=, draws=)) to include it"
    else:
        cause = "with no more runs than parameters its posterior is its prior, so its stacking "
        cause += "weight would not rest on the runs"
        remedy = "More runs would include it"
    return (
        f"{what}: form {name!r} left out ({reason}): {cause}; the other forms are weighed "
        f"without it (the state's 'excluded' keeps why). {remedy}"
    )


def own_key(state: dict, names: list) -> str:
    """The key of the fit's own law among a stacking or forms state's ``names``: the one with
    no stored posterior in ``state["others"]`` (a fit saved before user laws were recorded by
    import path keys its own law by its registry name, which :func:`law_ref` no longer gives)."""
    (own,) = [k for k in names if k not in state["others"]]
    return own


def form_posterior(other: dict, rows: np.ndarray) -> tuple:
    """(law, Posterior) of a form stored in a state's ``"others"`` (:func:`stored_form`),
    restricted to its draws ``rows`` (indices into its stored draws)."""
    law = resolve_law(other["law"], other.get("law_options"))
    draws = {k: np.asarray(v, float)[rows] for k, v in other["posterior"].items()}
    post = Posterior(
        draws=draws,
        scales=Scales(other["scales"]),
        groups=tuple(other["groups"]),
        state=other.get("law_state", {}),
        likelihood=other["likelihood"],
        priors=spec_to_priors(other["priors"]),
    )
    return law, post


def _other_law_draws(other: dict, query, n_draws: int, rng) -> np.ndarray:
    """New-run ln-loss draws (n_draws, Q) of a stacked law from its stored posterior."""
    n_stored = len(next(iter(other["posterior"].values())))
    law, post = form_posterior(other, rng.integers(0, n_stored, n_draws))
    return np.log(law.draws(post, query, kind="new_run", group=None, rng=rng)["loss"])


def stacked_draws(fit, query, log_loss, seed: int = 0, share=None) -> np.ndarray:
    """Replace each new-run ln-loss draw (S, Q) by one of a stacked form with probability its
    stacking weight, times ``share``.

    ``share`` (Q,) in [0, 1] (None: 1 at every point): at a point, a draw that chose another
    form takes that form's draw only with probability ``share``, else keeps the fit's own, so
    form k's probability there is ``share * w_k`` and the own form's ``w_own + (1 - share) *
    (1 - w_own)``: a valid mixture at every share, the plain posterior at 0 and the stacking
    mixture at 1 (the very draws of ``share=None``). One uniform per draw, shared by the
    points (its own random stream): along a path of growing share a draw switches form once."""
    reason = unavailable(fit)
    if reason:
        raise ValueError(f"extrapolation='stacking' is unavailable: {reason}")
    state = fit.cache.get("stacking") or stack(fit)
    rng = np.random.default_rng([seed, 11])
    log_loss = np.array(log_loss, float)
    laws = state["laws"]
    w = np.array([state["weights"][k] for k in laws])
    choice = rng.choice(len(laws), size=log_loss.shape[0], p=w / w.sum())
    own = own_key(state, laws)
    base = log_loss.copy()
    for i, name in enumerate(laws):
        sel = choice == i
        if name == own or not sel.any():
            continue
        log_loss[sel] = _other_law_draws(state["others"][name], query, int(sel.sum()), rng)
    if share is None:
        return log_loss
    share = np.broadcast_to(np.asarray(share, float), log_loss.shape[1:])
    u = np.random.default_rng([seed, 12]).random(log_loss.shape[0])  # (S,), in [0, 1)
    return np.where(u[:, None] < share[None, :], log_loss, base)
