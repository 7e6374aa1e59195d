"""Yin et al.'s question as a posterior quantity: how much does fitting the loss surface to runs
at one *fixed* (learning rate, batch size), instead of each cell's optimal one, change the
compute-optimal model size?

Per posterior draw of a law that knows the loss off the optimal hyperparameters (its draws give
``loss_opt``, the loss at the optimum, and ``loss``, the loss of a run at the given lr and
batch_size: the joint sweep law), the loss of every design cell (N, D) at its optimum and at the
fixed (lr, B) are both computed from the same draw; a Chinchilla surface
L = E + A N^-alpha + B D^-beta is least-squares fitted (in log loss) to each set of cell
losses, as the paper does with its grid, and its compute-optimal size at the budget is found
under the fit's compute model. The relative size change N_opt(fixed) / N_opt(optimal) - 1, over
draws, is the answer with its interval; the sign is settled when the interval excludes 0 and
the fit passed its sampler check (``fit.diagnostics.problems`` empty).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..laws.contract import LawCapabilityError
from ..laws.optimum import EDGE_SHARE
from ..runs import PlausibilityWarning
from ..runs.checks import check_integer
from ..runs.messages import LABELS_NOTE, RunTableError
from ..runs.reading import number_cells
from ..runs.warn import user_stacklevel
from .allocation import WARN_DECADES, ExtrapolationWarning, outside_columns, range_message
from .draws import FAR_DECADES, UNITS, check_fit, check_range, positive_array, quantity_draws
from .extrapolation.distance import group_ranges
from .outside import distance_text, fitted_text
from .predict import check_ci, outside_decades

# Chinchilla refit in centred logs: p = (ln E, ln A', ln B', alpha, beta), ln A' = ln A - alpha x0
START = np.array([np.log(0.5), -4.0, -4.0, 0.35, 0.3])
LOWER = np.array([-10.0, -20.0, -20.0, 0.01, 0.01])
UPPER = np.array([10.0, 10.0, 10.0, 2.0, 2.0])
N_GRID = np.logspace(5, 14, 2001)  # parameters: where N_opt is searched (1e5 .. 1e14)
MIN_DISTINCT = 3  # distinct N (and D) values the refit's power-law terms need besides E
RESULT_UNITS = (  # the result's attrs["units"]
    "lr as given (the fit's runs' units); batch_size in tokens; C in FLOPs; n_opt_optimal, "
    "n_opt_fixed (N) in parameters, D in tokens; size_change_median/lower/upper a fraction "
    "(N_opt(fixed) / N_opt(optimal) - 1: -0.43 is 43% smaller; the verdict gives it in "
    "percent); *_outside_decades signed decades outside the fitted range (0 inside)"
)


def chinchilla_refit(N, D, loss, start=START) -> np.ndarray:
    """Least-squares Chinchilla surface in log loss through cells (N params, D tokens, loss),
    shapes (K,): returns p = (ln E, ln A', ln B', alpha, beta) in logs centred on the cells'
    mean ln N, ln D."""
    from scipy.optimize import least_squares  # on use: keeps `import bayeslaws.posterior` light

    x = np.log(N) - np.log(N).mean()
    y = np.log(D) - np.log(D).mean()
    z = np.log(loss)

    def residuals(p):
        e, a, b, alpha, beta = p
        return np.logaddexp(np.logaddexp(a - alpha * x, b - beta * y), e) - z

    return least_squares(residuals, start, bounds=(LOWER, UPPER)).x


def refit_n_opt(p, N, D, C: float, compute_model) -> float:
    """Compute-optimal size (params) at C FLOPs of the refitted surface ``p`` (centred on the
    cells N, D): the minimum over :data:`N_GRID` of L(N, tokens(N, C)), refined by a parabola
    through the grid minimum and its neighbours (in ln N)."""
    e, a, b, alpha, beta = p
    x = np.log(N_GRID) - np.log(N).mean()
    y = np.log(compute_model.tokens(N_GRID, C)) - np.log(D).mean()
    z = np.logaddexp(np.logaddexp(a - alpha * x, b - beta * y), e)
    best = int(np.argmin(z))
    if best in (0, len(z) - 1):  # at the grid's edge: no bracket to refine (flagged by callers)
        return float(N_GRID[best])
    u, (z0, z1, z2) = np.log(N_GRID[best - 1 : best + 2]), z[best - 1 : best + 2]
    curvature = z0 - 2 * z1 + z2
    step = 0.5 * (z0 - z2) / curvature if curvature > 0 else 0.0
    step = float(np.clip(step, -1.0, 1.0))  # the vertex of a bracketed minimum lies inside it
    return float(np.exp(u[1] + step * (u[2] - u[1])))


def refit_sizes(N, D, loss_optimal, loss_fixed, C: float, compute_model) -> tuple[float, float]:
    """(N_opt at optimal hyperparameters, N_opt at the fixed setting), params, at C FLOPs: a
    Chinchilla refit (:func:`chinchilla_refit`) to each set of cell losses (shapes (K,), at
    cells N params, D tokens), the second started from the first."""
    p = chinchilla_refit(N, D, loss_optimal)
    q = chinchilla_refit(N, D, loss_fixed, start=p)
    return refit_n_opt(p, N, D, C, compute_model), refit_n_opt(q, N, D, C, compute_model)


def cells_numbers(cells: pd.DataFrame) -> pd.DataFrame:
    """The N (params) and D (tokens) columns of ``cells`` as finite positive floats, read as
    design's ``check_candidates`` reads candidates (:func:`~bayeslaws.runs.reading.
    number_cells`): text that spells a number ("1e8", e.g. from a file) is that number;
    True/False values are an :class:`~bayeslaws.runs.checks.ArgumentTypeError`, other text, a
    missing, non-finite or non-positive value a ValueError, each naming the column and rows
    (the labels of ``cells``' index)."""
    out = cells[["N", "D"]].copy()
    for axis in ("N", "D"):
        try:
            out[axis] = number_cells(out, axis, f"cells[{axis!r}]", LABELS_NOTE)
        except RunTableError as err:
            raise RunTableError(f"fixed_vs_optimal(cells=...): {err}") from None
        positive_array(f"cells {axis}", out[axis])
    return out


def _design_cells(fit, cells) -> pd.DataFrame:
    if cells is None:
        runs = fit.training_runs()
        if runs is None:
            raise ValueError(
                "fixed_vs_optimal(): this fit has no stored training runs; pass cells= (a "
                "table with columns N, D: the design's cells)"
            )
        cells = runs.df
    if not isinstance(cells, pd.DataFrame) or not {"N", "D"} <= set(cells):
        got = (
            f"columns {list(cells.columns)}"
            if isinstance(cells, pd.DataFrame)
            else type(cells).__name__
        )
        raise ValueError(
            f"cells must be a DataFrame with columns N (params) and D (tokens), got {got}"
        )
    cells = cells_numbers(cells).drop_duplicates().reset_index(drop=True)
    if len(cells) < 5:
        raise ValueError(
            f"fixed_vs_optimal() refits a 5-parameter Chinchilla surface to the cells; got "
            f"{len(cells)} distinct (N, D) cells, need at least 5"
        )
    for axis, term in (("N", "A N^-alpha"), ("D", "B D^-beta")):
        distinct = cells[axis].nunique()
        if distinct < MIN_DISTINCT:
            raise ValueError(
                f"fixed_vs_optimal(): the cells hold {distinct} distinct {axis} value(s); the "
                f"refit's {term} term beside the floor E needs at least {MIN_DISTINCT} (with "
                "fewer the refitted N_opt is set by the optimiser's start, not by the data)"
            )
    return cells


def check_cells_range(fit, cells: pd.DataFrame) -> list[str]:
    """Warn (:class:`~bayeslaws.runs.PlausibilityWarning`, naming the argument ``cells``) about
    cells (N params, D tokens) far outside the fit's range, most likely in other units (e.g. N
    in billions): the refit would then extrapolate the law there. Returns the messages."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlausibilityWarning)  # re-issued below, naming cells
        found = check_range(fit, cells[["N", "D"]])
    messages = [f"fixed_vs_optimal(cells=...): {m}" for m in found]
    for message in messages:
        warnings.warn(message, PlausibilityWarning, stacklevel=user_stacklevel())
    return messages


def check_derived_setting(fit, setting: dict, N, D) -> list[str]:
    """Warn (:class:`~bayeslaws.runs.PlausibilityWarning`) when the fixed setting NOT given
    (``setting``: name -> value, lr and/or batch_size in tokens, derived as the optimum at the
    middle of the cells N params, D tokens, shapes (K,)) lies far outside the fit's range: it
    comes from the cells, so their units are the likely slip, not the user's lr/batch_size.
    Returns the messages."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlausibilityWarning)
        found = check_range(fit, pd.DataFrame({k: [v] for k, v in setting.items()}))
    if not found:
        return []
    shown = ", ".join(f"{k} = {v:.3g}" for k, v in setting.items())
    n_mid, d_mid = np.exp(np.log(N).mean()), np.exp(np.log(D).mean())
    low_high = {k: (fit.record.ranges or {}).get(k) for k in setting}
    ranges = "; ".join(f"{k} fitted in [{r[0]:.3g}, {r[1]:.3g}]" for k, r in low_high.items() if r)
    message = (
        f"fixed_vs_optimal(): {' and '.join(setting)} not given, so the fixed setting is the "
        f"fit's optimum at the middle of cells (N = {n_mid:.3g} params, D = {d_mid:.3g} tokens): "
        f"{shown}, far outside what the fit saw ({ranges}); it comes from cells, not from a "
        "value you passed: check the units of cells (N in parameters, D in tokens) or pass lr= "
        "and batch_size="
    )
    warnings.warn(message, PlausibilityWarning, stacklevel=user_stacklevel())
    return [message]


def _single_value(name: str, value, what: str = "value (the one setting every cell would use)"):
    """``value`` as a scalar (a one-element list or array is accepted); several values raise."""
    if value is None or np.ndim(value) == 0:
        return value
    if np.size(value) != 1:
        raise ValueError(f"{name} must be a single {what}, got {np.size(value)} values")
    return np.asarray(value).reshape(-1)[0].item()


# where each <axis>_outside_decades column is, in the verdict's words
FAR_WORDS = {
    "C": ("at a budget", "the fitted budgets"),
    "N": ("with N_opt", "the fitted model sizes"),
    "D": ("with D_opt", "the fitted token counts"),
}
BENDS = "the risk that the law bends there"


def outside_fitted(fit, C: float, n_optimal: float, n_fixed: float, compute_model) -> dict:
    """How far the budget ``C`` (FLOPs) and the refits' median N_opt (params; at the optimal
    hyperparameters ``n_optimal``, at the fixed setting ``n_fixed``) and their D_opt (tokens,
    ``compute_model.tokens(N_opt, C)``) lie outside the fit's pooled range (fixed_vs_optimal
    takes no group), in signed decades (:func:`~.allocation.outside_columns`: 0 inside, +1 =
    ten times above the largest fitted value): ``C_outside_decades``, ``N_outside_decades``,
    ``D_outside_decades`` (the refit at the optimal hyperparameters),
    ``N_fixed_outside_decades``, ``D_fixed_outside_decades`` (at the fixed setting); an axis
    without a recorded range is left out. Floats."""
    out = {}
    for suffix, n in (("", n_optimal), ("_fixed", n_fixed)):
        d = compute_model.tokens(n, C)
        for key, value in outside_columns(fit, None, [C], [n], [d], compute_model).items():
            axis = key.split("_")[0]
            if not (suffix and axis == "C"):
                out[f"{axis}{suffix}_outside_decades"] = float(np.asarray(value)[0])
    return out


def farthest(outside: dict) -> tuple[str, float] | None:
    """The column of :func:`outside_fitted` farthest outside the range, and its signed decades,
    when that is more than ``WARN_DECADES`` (100x); else None."""
    if not outside:
        return None
    key = max(outside, key=lambda k: abs(outside[k]))
    return (key, outside[key]) if abs(outside[key]) > WARN_DECADES else None


def far_words(far: tuple[str, float]) -> str:
    """'at a budget 2.7 decades above the fitted budgets' for :func:`farthest`'s answer."""
    key, decades = far
    lead, fitted = FAR_WORDS[key.split("_")[0]]
    return f"{lead} {abs(decades):.2g} decades {'above' if decades > 0 else 'below'} {fitted}"


def warn_far(fit, C: float, outside: dict) -> str:
    """An :class:`~.allocation.ExtrapolationWarning` (caller "fixed_vs_optimal",
    :func:`~.allocation.range_message`) when the budget or a refit's median N_opt or D_opt
    (``outside``: :func:`outside_fitted`) lies more than ``WARN_DECADES`` outside the fitted
    range; N_opt and D_opt named are the farther of the two refits'. Returns the message ('' when
    none); located at the user's line (:func:`~bayeslaws.runs.warn.user_stacklevel`)."""
    combined = {}  # per axis, the farther of the two refits' distances (C: the budget's)
    for axis in FAR_WORDS:
        values = [v for k, v in outside.items() if k.split("_")[0] == axis]
        if values:
            combined[f"{axis}_outside_decades"] = [max(values, key=abs)]
    note = (
        "the size change's interval is the fitted law's uncertainty alone (fixed_vs_optimal "
        f"uses extrapolation 'none'), not {BENDS}; N_opt and D_opt are the farther of the two "
        "refits' medians (optimal and fixed hyperparameters)"
    )
    message = range_message([C], combined, group_ranges(fit), "fixed_vs_optimal", note)
    if message:
        warnings.warn(message, ExtrapolationWarning, stacklevel=user_stacklevel())
    return message


def setting_outside(setting: dict, ranges: dict) -> dict:
    """How far the fixed setting (``setting``: name -> value, lr and batch_size in tokens)
    lies outside the fit's pooled swept range (``ranges``:
    :func:`~.extrapolation.distance.group_ranges`, as predict measures it), in signed decades
    (:func:`~.predict.outside_decades`: 0 inside, +1 = ten times above the largest swept
    value): ``lr_outside_decades``, ``batch_size_outside_decades``; a setting without a
    recorded range is left out. Floats."""
    return {
        f"{name}_outside_decades": float(outside_decades([float(value)], *ranges[name])[0])
        for name, value in setting.items()
        if name in ranges
    }


def off_sweep(setting: dict, outside: dict, ranges: dict) -> str:
    """'the fixed batch_size (256 tokens) lies 2.1 decades below the swept range (batch_size
    [3.28e+04, 4.19e+06] tokens)' for each setting (``setting``: name -> value) whose distance in
    ``outside`` (:func:`setting_outside`, signed decades) is beyond ``FAR_DECADES`` (the
    distance off any bowl a sweep has seen), joined by 'and'; '' when none is."""
    parts = []
    for name, value in setting.items():
        decades = outside.get(f"{name}_outside_decades", 0.0)
        below, above = FAR_DECADES.get(name, (np.inf, np.inf))
        if -below <= decades <= above:
            continue
        unit = f" {UNITS[name]}" if UNITS.get(name) else ""
        parts.append(
            f"the fixed {name} ({value:.3g}{unit}) lies {distance_text(decades)} the swept "
            f"range ({fitted_text(ranges, [name])})"
        )
    return " and ".join(parts)


def sampler_trouble(diag) -> str:
    """A failed sampler check in short, for a verdict (``diag``: the fit's
    :class:`~bayeslaws.inference.Diagnostics`): "max R-hat 1.050, min bulk ESS 31, 2 divergent
    transitions" from its fields, as the planning report's CAUTION gives them; '' when the check
    passed (``diag.problems`` empty)."""
    if not diag.problems:
        return ""
    return (
        f"max R-hat {diag.r_hat_text}, min bulk ESS {diag.min_ess_bulk:.0f}, "
        f"{diag.divergences} divergent transitions"
    )


def _verdict(
    median: float,
    lower: float,
    upper: float,
    ci: float,
    at_boundary: float,
    far: tuple[str, float] | None = None,
    off: str = "",
    trouble: str = "",
) -> str:
    """The sentence on the relative size change (median, ``ci`` interval [lower, upper]):
    settled when the interval excludes 0 and at most ``EDGE_SHARE`` of the draws'
    refitted N_opt hit the edge of :data:`N_GRID` (``at_boundary``, a share); otherwise not,
    saying why. ``far`` (:func:`farthest`): the budget or an optimum lies more than
    ``WARN_DECADES`` outside the fitted range, so the sentence says how far and that the
    interval leaves out the risk that the law bends there (a settled sign is settled only
    under the fitted law); None: the sentence as inside the range. ``off``
    (:func:`off_sweep`): the fixed setting lies beyond ``FAR_DECADES`` outside the swept
    range, so the answer extrapolates the bowl and is not settled, whatever its interval.
    ``trouble`` (:func:`sampler_trouble`): the fit failed its sampler check, so no answer of
    it is settled, whatever its interval; the sentence says so first."""
    interval = f"{ci:.0%} interval [{lower:+.0%}, {upper:+.0%}]"
    out_there = ""
    if far is not None:
        out_there = (
            f"; this far out ({far_words(far)}) the interval is the fitted law's uncertainty "
            f"alone and does not include {BENDS}"
        )
    edge = (
        f"; in {at_boundary:.0%} of the draws a refitted N_opt also hit the edge of the "
        "searched sizes"
        if at_boundary > EDGE_SHARE
        else ""
    )
    if trouble:
        also = f"; also, {off}: an extrapolation of the bowl" if off else ""
        return (
            f"not settled: the fit's sampler check failed ({trouble}); refit with more draws "
            f"(the size change there: {median:+.0%}, {interval}){also}{edge}{out_there}"
        )
    if off:
        return (
            f"not settled: {off}: an extrapolation of the bowl, not settled by the sweep (the "
            f"size change there: {median:+.0%}, {interval}){edge}{out_there}"
        )
    if at_boundary > EDGE_SHARE:
        return (
            f"not settled: in {at_boundary:.0%} of the draws a refitted N_opt hit the edge of "
            f"the searched sizes [{N_GRID[0]:.0e}, {N_GRID[-1]:.0e}] params, so the size change "
            f"({median:+.0%}, {interval}) is cut off there rather than set by the data (a "
            f"budget far from the cells, or cells that barely constrain the refit){out_there}"
        )
    if lower > 0 or upper < 0:
        direction = "larger" if median > 0 else "smaller"
        sign = (
            f"with the hyperparameters fixed the compute-optimal model is {direction} "
            f"({median:+.0%}, {interval})"
        )
        if far is None:
            return f"settled: {sign}"
        return (
            f"settled under the fitted law, {far_words(far)}: {sign}; that interval is the "
            f"fitted law's uncertainty alone and does not include {BENDS}"
        )
    return f"not settled: the {interval} includes 0{out_there}"


def fixed_vs_optimal(
    fit,
    C: float,
    *,
    lr: float | None = None,
    batch_size: float | None = None,
    cells: pd.DataFrame | None = None,
    ci: float = 0.9,
    n_draws: int = 200,
) -> pd.DataFrame:
    """How fixing the hyperparameters shifts the compute-optimal size at ``C`` FLOPs.

    Parameters
    ----------
    fit : a fit of a law whose draws give the loss at the optimal hyperparameters and the
        relative penalty off them (``law="sweep"``).
    C : the budget (FLOPs).
    lr, batch_size : the fixed setting every cell would use (learning rate; batch size in
        tokens, as in the fit's run table). Default: the posterior-median optimum of the
        design's middle cell (geometric means of its N and D), as in Yin et al.
    cells : the design's (N, D) cells (columns N params, D tokens); default the fit's own.
        Numbers written as text ("1e8", e.g. read from a file) are read as numbers, as the
        design reads candidates (:func:`cells_numbers`).
    ci : central interval probability.
    n_draws : posterior draws used (evenly thinned); each costs two least-squares refits.

    Returns one row (units in ``attrs["units"]``): C, lr, batch_size, ``n_opt_optimal`` and
    ``n_opt_fixed`` (medians, params), ``size_change`` median / lower / upper (N_opt(fixed) /
    N_opt(optimal) - 1, a fraction), ``settled`` (the interval excludes 0, at most ``EDGE_SHARE`` of
    the draws hit the searched sizes' edge, the setting is within ``FAR_DECADES`` of the swept
    range and the fit passed its sampler check) and ``verdict`` (a sentence saying so, or why not),
    ``sampler_ok`` (the fit's ``diagnostics.problems`` is empty: R-hat, ESS, divergences; when not,
    the verdict names them in short and says to refit), ``at_boundary`` (share of draws whose
    refitted N_opt hit the edge of the searched sizes; warned when > 0), ``ci``, ``n_draws``, and
    how far the budget and the refits' median N_opt and D_opt lie outside the fitted range (signed
    decades, 0 inside; :func:`outside_fitted`): ``C_outside_decades``, ``N_outside_decades``,
    ``D_outside_decades`` (optimal hyperparameters), ``N_fixed_outside_decades``,
    ``D_fixed_outside_decades`` (the fixed setting). Any beyond ``WARN_DECADES`` (100x) issues an
    :class:`~.allocation.ExtrapolationWarning` and the verdict says how far out it is and that its
    interval, computed under the fitted law alone (extrapolation "none"), leaves out the risk that
    the law bends there: a sign ``settled`` there is settled under the fitted law only.
    ``lr_outside_decades``, ``batch_size_outside_decades``: how far the fixed setting lies outside
    the swept range (signed decades, as :func:`~bayeslaws.posterior.predict` gives them); beyond
    ``FAR_DECADES`` (100x: e.g. a batch in sequences) the answer extrapolates the bowl, so
    ``settled`` is False and the verdict says how far out the setting is.
    """
    check_fit(fit)
    ci = check_ci(ci)
    if C is None:
        raise ValueError("C is required: one compute budget in FLOPs")
    C = _single_value("C", C, "budget for fixed_vs_optimal (call it once per budget)")
    positive_array("C", C)
    n_draws = check_integer("n_draws", n_draws, 10)
    lr = _single_value("lr", lr)
    batch_size = _single_value("batch_size", batch_size)
    # the loss off the optimal setting, as a surface over (N, D): not law "hyperparams", whose
    # loss is known only at its fitted cells (refused here, before any draws are made)
    if not {"lr", "batch_size"} <= set(fit.law.optional_inputs) or "loss" not in fit.law.quantities:
        raise LawCapabilityError(
            f"fixed_vs_optimal(): law {fit.law.name!r} does not model the loss off the optimal "
            "learning rate and batch size as a surface over (N, D) (fit law 'sweep')"
        )
    given_cells = cells is not None
    cells = _design_cells(fit, cells)
    if given_cells:
        check_cells_range(fit, cells)
    N, D = cells["N"].to_numpy(float), cells["D"].to_numpy(float)
    derived = [name for name, value in (("lr", lr), ("batch_size", batch_size)) if value is None]
    if derived:
        middle = pd.DataFrame({"N": [np.exp(np.log(N).mean())], "D": [np.exp(np.log(D).mean())]})
        optimum = quantity_draws(fit, middle, extrapolation="none")
        if not {"eta_opt", "B_opt"} <= set(optimum):
            raise LawCapabilityError(
                f"fixed_vs_optimal(): law {fit.law.name!r} gives no optimal lr and batch size; "
                "pass lr= and batch_size="
            )
        lr = float(np.median(optimum["eta_opt"])) if lr is None else lr
        batch_size = float(np.median(optimum["B_opt"])) if batch_size is None else batch_size
    positive_array("lr", lr)
    positive_array("batch_size", batch_size)
    setting = {"lr": lr, "batch_size": batch_size}
    asked = {"C": [float(C)], **{k: [v] for k, v in setting.items() if k not in derived}}
    # a budget or setting in other units? (located at the user's line)
    check_range(fit, pd.DataFrame(asked))
    if derived:  # not the user's values: say where they came from
        check_derived_setting(fit, {k: setting[k] for k in derived}, N, D)
    query = cells.assign(lr=float(lr), batch_size=float(batch_size))
    draws = quantity_draws(fit, query, extrapolation="none")
    # a law whose loss is a surface over (N, D) (law "sweep"; not "hyperparams", whose loss is
    # known only at its fitted cells) and, given lr and batch_size, also at that setting
    if "loss" not in fit.law.quantities or not {"loss", "loss_opt"} <= set(draws):
        raise LawCapabilityError(
            f"fixed_vs_optimal(): law {fit.law.name!r} gives no loss at the optimum and at a "
            "setting off it (fit law 'sweep')"
        )
    loss_opt = np.asarray(draws["loss_opt"], float)  # (S, K) at each cell's optimum
    loss_fixed = np.asarray(draws["loss"], float)  # (S, K) of a run at the fixed (lr, B)
    rows = np.linspace(0, len(loss_opt) - 1, min(n_draws, len(loss_opt))).round().astype(int)
    compute_model = fit.compute_model
    sizes = np.array(
        [refit_sizes(N, D, loss_opt[s], loss_fixed[s], float(C), compute_model) for s in rows]
    )  # (draws, 2): N_opt optimal, fixed
    n_optimal, n_fixed = sizes[:, 0], sizes[:, 1]
    edge = ((sizes <= N_GRID[1]) | (sizes >= N_GRID[-2])).any(axis=1)  # (draws,)
    if edge.any():
        warnings.warn(
            f"fixed_vs_optimal(): in {edge.mean():.0%} of the draws a refitted N_opt lies at the "
            f"edge of the searched sizes [{N_GRID[0]:.0e}, {N_GRID[-1]:.0e}] params: the "
            "interval's tail there is cut off (a budget far from the cells, or cells that "
            "barely constrain the refit); column at_boundary",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    change = n_fixed / n_optimal - 1
    lower, median, upper = np.quantile(change, [(1 - ci) / 2, 0.5, (1 + ci) / 2])
    at_boundary = float(edge.mean())
    swept = group_ranges(fit)
    set_outside = setting_outside(setting, swept)
    off = off_sweep(setting, set_outside, swept)  # warned by check_range (or the derived check)
    trouble = sampler_trouble(fit.diagnostics)  # warned at fit and load (SamplerWarning)
    settled = (
        bool(lower > 0 or upper < 0) and at_boundary <= EDGE_SHARE and not off and not trouble
    )
    outside = outside_fitted(
        fit, float(C), float(np.median(n_optimal)), float(np.median(n_fixed)), compute_model
    )
    warn_far(fit, float(C), outside)
    verdict = _verdict(median, lower, upper, ci, at_boundary, farthest(outside), off, trouble)
    out = pd.DataFrame(
        [
            {
                "C": float(C),
                "lr": float(lr),
                "batch_size": float(batch_size),
                "n_opt_optimal": float(np.median(n_optimal)),
                "n_opt_fixed": float(np.median(n_fixed)),
                "size_change_median": median,
                "size_change_lower": lower,
                "size_change_upper": upper,
                "settled": settled,
                "sampler_ok": fit.diagnostics.ok,
                "at_boundary": at_boundary,
                "verdict": verdict,
                "ci": ci,
                "n_draws": len(rows),
                **outside,
                **set_outside,
            }
        ]
    )
    out.attrs["units"] = RESULT_UNITS
    return out
