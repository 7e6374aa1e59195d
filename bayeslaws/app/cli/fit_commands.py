"""The subcommands ``fit``, ``predict`` and ``allocate``: fitting a run table and saving
the fit, and the predictions and compute-optimal allocations read from a saved fit,
with the notes printed under their tables (missing values, nearest fitted cells, the
setting's penalty, distances from the fitted range).
"""

from __future__ import annotations

import sys
from pathlib import Path

from .errors import CLIError
from .files import load_fit, refuse_suffix, replacing_fit
from .hints import with_cli_hints
from .output import INPUT_COLUMNS, batch_note, exact_text, result_table, say_new_group
from .run_tables import read_runs
from .values import floats, law_options, read_priors, sampler_options


def cmd_fit(args) -> int:
    import bayeslaws as bl
    from bayeslaws.inference.fit import refuse_non_fit
    from bayeslaws.laws import resolve_law
    from bayeslaws.posterior import extrapolation

    options = law_options(args.option)
    law = resolve_law(args.law, options)  # an unknown law or option fails before anything is read
    if args.keep_diverged and not law.accepts_missing_loss:
        raise CLIError(
            f"--keep-diverged: law {args.law!r} needs a loss for every run (only laws that count "
            "diverged runs, such as hyperparams and sweep, keep them): leave the runs without a "
            "loss out with --exclude-rows ROWS --exclude-reason TEXT"
        )
    if Path(args.out).resolve() == Path(args.runs).resolve():
        raise CLIError(f"--out {args.out!r} is the run table itself: give the fit its own .nc file")
    refuse_non_fit(Path(args.out))  # before the fit, not after it
    refuse_suffix(args.out, (".nc",), "a fit is saved as netCDF")
    priors = read_priors(args.prior)  # an unreadable prior fails before the table is read
    runs = read_runs(args.runs, args)
    sampler = sampler_options(args)
    screen = args.screen
    if args.screen_threshold is not None:
        screen = {"action": args.screen, "threshold": args.screen_threshold}
    fit = bl.fit(
        runs, law=args.law, likelihood=args.likelihood, law_options=options, screen=screen,
        priors=priors, **sampler,
    )
    method = extrapolation.DEFAULT_METHOD
    prepare = fit.law.widened and not args.no_discrepancy
    if prepare:  # laws whose new runs carry no learned discrepancy need none
        print(f"preparing the model discrepancy ({method!r}) so that predictions are fast",
              file=sys.stderr)
        refits = {k: sampler[k] for k in ("chains", "warmup", "draws")}
        extrapolation.prepare(fit, method, seed=args.seed, refits=refits, stacking=refits)
    replacing = replacing_fit(Path(args.out))
    path = fit.save(args.out)  # saved before anything is printed: a closed pipe loses no fit
    print(fit)
    print(fit.summary().to_string(float_format="{:.4g}".format))
    saved = f" (with the model discrepancy {method!r})" if prepare else ""
    print(f"saved {path}{saved}{replacing}")
    return 0


def cmd_predict(args) -> int:
    import bayeslaws as bl

    fit = load_fit(args.fit)
    table = bl.predict(
        fit,
        N=floats(args.N, "N"),
        D=floats(args.D, "D"),
        C=floats(args.C, "C"),
        ci=args.ci,
        kind=args.kind,
        extrapolation=args.extrapolation,
        group=args.group,
        seed=args.seed,
        _new_group_noted=True,  # said below (say_new_group)
        _missing_noted=True,  # said below (_missing_note)
        **{
            name: floats(values, name.replace("_", "-"))
            for name, values in (("lr", args.lr), ("batch_size", args.batch_size))
            if values is not None
        },
    )
    say_new_group(fit, args.group)
    given = [c for c in INPUT_COLUMNS if getattr(args, c) is not None]  # the others derived
    print(result_table(table, echoed=given))
    _say_range(fit, args.group, table)
    if "rel_penalty_median" in table:
        print(PENALTY_NOTE, file=sys.stderr)
    note = _missing_note(table, given, fit.law.missing_values_hint)
    if note:
        note += _nearest_cells_note(fit, args.group, table)
    for line in (note, batch_note(table)):
        if line:
            print(line, file=sys.stderr)
    return 0


NEAREST_SHOWN = 3  # rows whose nearest fitted cell the note names


def _nearest_cells_note(fit, group, table) -> str:
    """For the rows of a prediction ``table`` where a value is NaN and a fitted (N, D) cell is
    nearly the one asked (:func:`bayeslaws.posterior.predict.nearest_fitted_cells`): that
    cell's N (params) and D (tokens) written to full precision so that they can be passed back
    (at most ``NEAREST_SHOWN`` rows, then "..."); "" when there is none."""
    from bayeslaws.posterior.predict import nearest_fitted_cells
    from bayeslaws.runs.cells import CELL_RTOL

    found = nearest_fitted_cells(fit, table, group)
    if not found:
        return ""
    said = [
        f"row {i}: nearest fitted cell N {exact_text(cn)}, D {exact_text(cd)} "
        f"(pass --N {exact_text(cn)} --D {exact_text(cd)})"
        for i, cn, cd in found[:NEAREST_SHOWN]
    ] + (["..."] if len(found) > NEAREST_SHOWN else [])
    return (
        f". A fitted cell is matched within a relative {CELL_RTOL:g} of its N and D, so "
        f"give them in full: {'; '.join(said)}"
    )


def _rows_with(table, where, by) -> str:
    """The rows (0-based) of ``table`` where the boolean sequence ``where`` holds, each with its
    values of the columns ``by``, e.g. "row 1 (N 1e+09, D 2e+10)"; at most 5, then the count."""
    rows = [i for i, flag in enumerate(where) if flag]
    shown = [f"{i} ({', '.join(f'{c} {table[c].iloc[i]:g}' for c in by)})" for i in rows[:5]]
    more = f", ... ({len(rows)} rows)" if len(rows) > 5 else ""
    return f"row{'s' if len(rows) > 1 else ''} {', '.join(shown)}{more}"


def _missing_note(table, given, hint: str = "") -> str:
    """One line naming the printed quantities (a ``*_median`` column and its siblings) that are
    NaN at some rows, and those rows (by the ``given`` N, D or C), with the law's remedy
    ``hint``; "" when every value is there."""
    medians = [c for c in table.columns if c.endswith("median")]
    gaps = [c for c in medians if table[c].isna().any()]
    if not gaps:
        return ""
    where = table[gaps].isna().any(axis=1).to_numpy()
    by = [c for c in ("N", "D", "C") if c in table and (c in given or not given)]
    names = ", ".join("median, mean, lower, upper" if c == "median" else f"{c[:-6]}*"
                      for c in gaps)
    tail = f"; {with_cli_hints(hint, 'predict')}" if hint else ""
    return (
        f"note: {names} are NaN at {_rows_with(table, where, by)}: this fit's law gives no value "
        f"there{tail}"
    )


# under a table priced at --lr/--batch-size: what its loss and penalty columns hold
PENALTY_NOTE = (
    "note: the loss columns (median, mean, lower, upper for a sweep fit; loss_* for hyperparams) "
    "are the loss of a run trained at the given --lr/--batch-size; loss_opt_* is the loss at "
    "the OPTIMAL lr and batch size, not at the given --lr/--batch-size; penalty_* = L(lr, B) - "
    "L_opt (loss units) and rel_penalty_* = L(lr, B) / L_opt - 1 are the cost of training at "
    "the given setting"
)


def _say_range(fit, group, table) -> None:
    """For a grouped fit: one line on stderr saying which runs the ``*_outside_decades``
    columns of ``table`` measure their distances from (a fitted group's own runs, or every
    group's for a new group: :func:`~bayeslaws.posterior.extrapolation.distance.range_words`);
    nothing for a fit without groups or a table without those columns."""
    from bayeslaws.posterior.extrapolation.distance import own_group_rows, range_words

    columns = [str(c) for c in table.columns if str(c).endswith("_outside_decades")]
    if len(fit.groups) <= 1 or not columns:
        return
    runs = (
        "its own runs only" if own_group_rows(fit, group) is not None
        else "pooled over every group's runs"
    )
    print(
        f"note: {', '.join(columns)} are distances in decades from {range_words(fit, group)} "
        f"({runs})",
        file=sys.stderr,
    )


BAND_DEFAULTS = {"relative_to": "reducible", "prob": 0.9}  # allocate's near-optimal band
L_OPT_NOTE = (
    "L_opt: the law's noise-free loss at N_opt; its interval leaves out run-to-run noise, so "
    "runs (the best of several at a budget most of all) often lie below it. A run's loss: "
    "bayeslaws predict FIT --N ... --D ... --kind new_run"
)


def cmd_allocate(args) -> int:
    import bayeslaws as bl

    # --tolerance, --relative-to and --prob each ask for the band (imply --near-optimal)
    band = args.near_optimal or any(
        getattr(args, name) is not None for name in ("tolerance", "span_decades", *BAND_DEFAULTS)
    )
    span = {} if args.span_decades is None else {"span_decades": args.span_decades}
    relative_to = args.relative_to or BAND_DEFAULTS["relative_to"]
    prob = BAND_DEFAULTS["prob"] if args.prob is None else args.prob
    if args.tolerance is not None and not 0 < args.tolerance <= 1:
        raise CLIError(
            f"--tolerance is a fraction of the {relative_to} loss in (0, 1] (0.05 = 5%), "
            f"got {args.tolerance:g}"
        )
    if not 0 < prob < 1:
        raise CLIError(f"--prob is the near-optimal band's probability in (0, 1), got {prob:g}")
    if args.span_decades is not None and not 0 < args.span_decades < float("inf"):
        raise CLIError(f"--span-decades must be a positive number, got {args.span_decades:g}")
    fit = load_fit(args.fit)
    budgets = floats(args.C, "C")
    table = bl.optimal_allocation(
        fit, C=budgets, ci=args.ci, group=args.group, extrapolation=args.extrapolation,
        _new_group_noted=True,
    )  # fmt: skip
    say_new_group(fit, args.group)
    print(result_table(table))
    _say_range(fit, args.group, table)
    print(L_OPT_NOTE)
    if band:
        for C in budgets:
            print(
                bl.near_optimal(
                    fit, C, args.tolerance, relative_to=relative_to, prob=prob, ci=args.ci,
                    group=args.group, extrapolation=args.extrapolation, _new_group_noted=True,
                    **span,
                )
            )
    return 0
