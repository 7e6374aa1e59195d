"""The subcommands ``candidates`` and ``design``: candidate runs generated (isoFLOP
lines, LR x batch sweeps) or read from a CSV with its mapping and units, the design
target, the batch of next runs and its units, and package errors about the
candidates in the command line's words.
"""

from __future__ import annotations

import re
import sys
from contextlib import contextmanager
from pathlib import Path

from .errors import CLIError
from .files import (
    CANDIDATE_COLUMNS,
    existing_file,
    load_fit,
    refuse_non_candidates,
    refuse_non_picks,
    refuse_suffix,
    wrote_figure,
)
from .hints import MAPPING_HINT, warnings_shown, with_cli_hints
from .output import batch_note, result_table, say_new_group
from .values import column_mapping, floats, unit_multipliers


def _design_target(args):
    from bayeslaws import design

    given = [t for t in ("loss", "nopt", "hparams") if getattr(args, t) is not None]
    if len(given) > 1:
        raise CLIError(f"give at most one target (--loss, --nopt or --hparams), got {given}")
    group = getattr(args, "group", None)
    if args.loss is not None:
        N, D = floats(args.loss, "loss")
        return design.Loss(N=N, D=D, group=group)
    if args.nopt is not None:
        return design.NOpt(C=floats(args.nopt, "nopt"), group=group)
    if args.hparams is not None:
        N, D = floats(args.hparams, "hparams")
        return design.HyperparamOpt(N=N, D=D, group=group)
    return design.AllParameters()


def _generate_candidates(fit, args):
    """Candidate runs from ``--isoflop C ...`` (isoFLOP lines) and/or ``--sweep N D`` (LR x batch
    sweeps, one unit each), through :mod:`bayeslaws.design.candidates`, with ``--compute-model``
    (else the fit's); None when neither."""
    import pandas as pd

    from bayeslaws import design

    model = getattr(args, "compute_model", None)
    parts = []
    if args.isoflop:
        parts.append(
            design.isoflop_candidates(
                C=floats(args.isoflop, "isoflop"), n_per_budget=args.n_per_budget,
                spread_decades=args.spread_decades, fit=fit, compute_model=model,
                group=args.group,
            )
        )
    if args.sweep:
        cells = [floats(pair, "sweep") for pair in args.sweep]
        parts.append(
            design.hyperparameter_candidates(
                [c[0] for c in cells], [c[1] for c in cells], fit=fit, n_lr=args.n_lr,
                n_batch=args.n_batch, lr_step=args.lr_step, batch_step=args.batch_step,
                lr=floats(args.lr_grid, "lr-grid"),
                batch_size=floats(args.batch_grid, "batch-grid"), compute_model=model,
                # both grids given: nothing is centred (--group is then the target's alone)
                group=args.group if args.lr_grid is None or args.batch_grid is None else None,
            )
        )
    if not parts:
        return None
    # isoFLOP runs next to sweeps have no unit label: the design makes each its own unit
    return pd.concat(parts, ignore_index=True)


def _candidate_units(cands, args):
    """The candidates with ``--units`` applied (each named column multiplied by its unit, as
    ``load_runs(units=...)``) and the ``--compute-model`` recorded for their C (as the
    generators record theirs: :func:`bayeslaws.design.candidates.with_model`)."""
    import pandas as pd

    from bayeslaws.design.candidates import with_model
    from bayeslaws.runs import RunTableError
    from bayeslaws.runs.compute import as_compute_model
    from bayeslaws.runs.units import unit_factor

    for column, unit in (unit_multipliers(getattr(args, "units", None)) or {}).items():
        if column not in CANDIDATE_COLUMNS:
            raise CLIError(f"--units {column}=...: {column!r} is not one of {CANDIDATE_COLUMNS}")
        if column not in cands:
            raise CLIError(
                f"--units {column}=...: the candidates file has no {column} column (its columns "
                f"are {list(cands)})"
            )
        if not pd.api.types.is_numeric_dtype(cands[column]):
            raise CLIError(
                f"--units {column}=...: column {column!r} of the candidates is not numeric"
            )
        try:
            cands[column] = cands[column] * unit_factor(column, unit)
        except RunTableError as err:
            raise CLIError(f"--units: {err}") from None
    if getattr(args, "compute_model", None) is not None:
        with_model(cands, as_compute_model(args.compute_model))
    return cands


def _read_candidates(path: str, args):
    """The candidates file ``path`` (CSV) with the ``--column`` mapping and ``--units``; read
    as a run table's text is (:func:`bayeslaws.runs.reading.read_text`: unique header names,
    no row wider or narrower than the header, one trailing comma allowed, Excel's ``sep=``
    line, the group column as text), its N, D, C, lr and batch_size read as numbers by the run
    tables' check (a value that is not a number, e.g. '4.4B', is named with its row)."""
    from bayeslaws.runs import RunTableError
    from bayeslaws.runs.columns import leave_out_columns
    from bayeslaws.runs.reading import encoding_remedy, read_text, to_numeric

    p = existing_file(path, "candidates file")
    if p.stat().st_size == 0:
        raise CLIError(f"candidates file {path!r} is empty")
    given = column_mapping(args)
    try:
        cands = read_text(p, ",", str(given.get("group", "group")))
    except RunTableError as err:
        message = with_cli_hints(str(err), "design")
        raise CLIError(f"candidates file {path!r}: {message}") from None
    except (ValueError, UnicodeDecodeError) as err:
        remedy = encoding_remedy(p) if isinstance(err, UnicodeDecodeError) else ""
        message = with_cli_hints(f"{err}{remedy}", "design")
        raise CLIError(f"could not parse {str(p)!r} as a CSV table: {message}") from None
    try:  # as load_runs(ignore_columns=) leaves them out of a run table
        drop, mapping = leave_out_columns(
            getattr(args, "ignore_column", None) or [], cands.columns, given,
            f"the candidates file {path!r}",
        )  # fmt: skip
    except RunTableError as err:
        raise CLIError(with_cli_hints(str(err), "design")) from None
    cands = cands.drop(columns=drop)
    missing = [name for name in mapping.values() if name not in cands]
    if missing:
        raise CLIError(
            f"--column: {missing} not in the candidates file; its columns are {list(cands)}"
        )
    for canon in CANDIDATE_COLUMNS:  # under the user's names, as their messages say them
        name = mapping.get(canon, canon)
        if name in cands:
            try:
                cands[name] = to_numeric(cands, name)
            except RunTableError as err:
                message = with_cli_hints(str(err), "design")
                raise CLIError(f"candidates file {path!r}: {message}") from None
    cands = cands.rename(columns={name: canon for canon, name in mapping.items()})
    return _candidate_units(cands, args)


def cmd_candidates(args) -> int:
    from bayeslaws.runs.atomic import write_atomically

    from ..plan import batch_as_given

    out = Path(args.out)
    refuse_non_candidates(out, args.fit)  # before reading the fit: a run table is never lost
    refuse_suffix(args.out, (".csv",), "the candidates are written as CSV")
    fit = load_fit(args.fit)
    _refuse_isoflop_for(fit, args, "candidates")  # isoFLOP points a sweep law cannot value
    cands = _generate_candidates(fit, args)
    if cands is None:
        raise CLIError("give --isoflop C ... and/or --sweep N D (repeatable)")
    if args.group is not None:  # the runs' group, read by 'bayeslaws design' (next_runs)
        cands["group"] = str(args.group)
    given = batch_as_given(cands["batch_size"], fit) if "batch_size" in cands else None
    if given is not None:  # as 'design --out' and 'plan' give it: the unit the runs gave
        cands.insert(cands.columns.get_loc("batch_size") + 1, "batch_size_as_given", given)
    out.parent.mkdir(parents=True, exist_ok=True)
    replacing = " (replacing the earlier file)" if out.is_file() else ""
    write_atomically(out, lambda handle: cands.to_csv(handle, index=False))  # whole or none
    units = cands["unit"].nunique() if "unit" in cands else len(cands)
    tokens = "; batch_size in tokens" if "batch_size" in cands else ""
    if given is not None:
        tokens += (
            f" (batch_size_as_given: whole units of {fit.units['batch_size']:g} tokens, as the "
            "fit's runs gave it; 'bayeslaws design' reads batch_size)"
        )
    group = f"; group {str(args.group)!r}" if args.group is not None else ""
    print(f"wrote {out}{replacing}: {len(cands)} candidate runs in {units} units{tokens}{group}")
    return 0


# the package's name for the candidates in its messages: cands, cands['N']
CANDS_NAME = re.compile(r"\bcands\[(?P<column>'[^']*')\]|\bcands\b")


@contextmanager
def _candidate_errors(path: str | None):
    """A package error about the candidates read from the file ``path`` (the package calls
    them ``cands``) in the command line's words: "the candidates file", "the candidates'
    column 'N'", and the --column mapping when a column is missing. Errors about generated
    candidates (``path`` None) pass as they are."""
    try:
        yield
    except ValueError as err:
        message = str(err)
        if path is None or not message.startswith("cands"):
            raise
        words = CANDS_NAME.sub(
            lambda m: f"the candidates' column {m['column']}" if m["column"] else
            f"the candidates file {path!r}",
            message,
            count=1,
        )
        hint = f"; {MAPPING_HINT}" if "needs column" in message else ""
        raise CLIError(with_cli_hints(words, "design") + hint) from None


# the units of the widths beyond the report's (plan_report.WIDTH_UNITS: N_opt, B_opt)
CLI_WIDTH_UNITS = {"eta_opt": "learning rate", "loss_opt": "loss", "L": "loss", "loss": "loss"}


def _design_units(plan, cost, ci: float) -> str:
    """The units of the design table's columns: info in nats, FLOPs, and the widths' central
    ``ci`` intervals on each target quantity's natural scale."""
    from ..plan_report import WIDTH_UNITS

    units = {**WIDTH_UNITS, **CLI_WIDTH_UNITS}
    cost_unit = "FLOPs" if cost in (None, "flops") else f"the units of column {cost!r}"
    text = (
        f"units: info (and info_se) in nats; flops in FLOPs; cost in {cost_unit}; "
        "info_per_flop in nats/FLOP"
    )
    names = {c.split("[", 1)[1].split("(", 1)[0] for c in plan.columns if c.startswith("width_")}
    if names:
        scales = ", ".join(f"{n} in {units.get(n, 'natural units')}" for n in sorted(names))
        text += f"; widths: central {ci:g} intervals on the natural scale ({scales})"
    return text


def cmd_design(args) -> int:
    from bayeslaws import design
    from bayeslaws.runs.atomic import write_atomically

    from ..plan import picked_runs

    if args.out:
        refuse_non_picks(Path(args.out), args)  # before any work: nothing lost, no work lost
        refuse_suffix(args.out, (".csv",), "the picks are written as CSV")
    fit = load_fit(args.fit)
    _refuse_isoflop_for(fit, args, "design")
    generated = _generate_candidates(fit, args)
    if args.candidates is None and generated is None:
        raise CLIError(
            "give --candidates CANDS.csv, or generate them: --isoflop C ... / --sweep N D"
        )
    if args.candidates is not None and generated is not None:
        raise CLIError("give either --candidates or --isoflop/--sweep, not both")
    if generated is not None and (args.units or args.column or args.ignore_column):
        raise CLIError(
            "--units, --column and --ignore-column apply to a --candidates file, not to "
            "--isoflop/--sweep"
        )
    cands = generated if generated is not None else _read_candidates(args.candidates, args)
    if args.candidates is not None:
        cands = _without_batch_as_given(cands, fit, args.candidates)
    cost = None if args.cost == "none" else args.cost
    if cost not in (None, "flops") and cost not in cands:
        raise CLIError(
            f"--cost {args.cost!r} is neither 'flops', 'none' nor a column of the candidates "
            f"({', '.join(map(str, cands.columns))})"
        )
    target = _design_target(args)
    if not any(getattr(args, t) is not None for t in ("loss", "nopt", "hparams")):
        print(
            "target: all of the law's parameters (the default; --nopt C, --loss N D or "
            "--hparams N D aims the runs at a decision quantity)",
            file=sys.stderr,
        )
    common = {"cost": cost, "seed": args.seed, "ci": args.ci, "model": args.model,
              "group": args.group, "estimator": args.estimator}  # fmt: skip
    seen: list = []  # the batch's warnings: the ranking for --plot does not say them again
    with _candidate_errors(args.candidates), warnings_shown(seen):
        plan = design.next_runs(
            fit, cands, target, k=args.k, guardrails=_trained_guardrails(fit), **common
        )
    say_new_group(fit, args.group)
    runs = picked_runs(fit, cands, plan)  # every run of the picks, each with its setting
    wrote = []  # written before anything is printed: a closed pipe loses no file
    if args.out:
        replacing = " (replacing the earlier file)" if Path(args.out).is_file() else ""
        write_atomically(args.out, lambda handle: runs.to_csv(handle, index=False))
        wrote.append(
            f"wrote {args.out}{replacing}: the {len(runs)} runs of the {len(plan)} picks, one row "
            "per run to train (pick = its unit's place in the batch)"
        )
    if args.plot:
        from bayeslaws import plot

        with warnings_shown([], unless=seen):
            ranked = design.rank_candidates(fit, cands, target, **common)
        score = "info" if cost is None else None
        fig = plot.design_ranking(ranked, score=score, picks=plan, simulated=fit)
        wrote.append(wrote_figure(fig, args.plot, " (each candidate alone; the batch marked)"))
    model = design.discrepancy.design_method(args.model, fit)
    print(f"the batch (picked together, each given the earlier picks; widths cumulative; "
          f"predictions under the extrapolation {model!r}):")
    # N, D and C to 5 figures like the results (candidates' sizes are computed, e.g. from an
    # isoFLOP budget: 105737126.3440564); the settings exactly
    print(result_table(_unit_settings(plan), echoed=("lr", "batch_size")))
    print(_design_units(plan, cost, args.ci))
    if "n_runs" in plan and bool((plan["n_runs"] > 1).any()):
        print(
            "lr and batch_size of a unit of several runs (an LR x batch sweep) are the range of "
            "its runs' settings; each run is a row of "
            + (args.out if args.out else "the file 'bayeslaws design ... --out PICKS.csv' writes")
        )
    if batch_note(plan):
        print(batch_note(plan), file=sys.stderr)
    for line in wrote:
        print(line)
    return 0


def _without_batch_as_given(cands, fit, path: str):
    """The candidates read from ``path`` without their ``batch_size_as_given`` column (as
    'bayeslaws candidates' and 'design --out' write it), which the picks get again from
    batch_size (tokens, the column read; :func:`~bayeslaws.app.plan.batch_as_given`); refused
    when it is not that column of this fit: the fit's runs gave batch_size in tokens, or it
    disagrees with batch_size at some row (an edit of the wrong column)."""
    import numpy as np

    from bayeslaws.runs import RunTableError
    from bayeslaws.runs.messages import at_rows
    from bayeslaws.runs.reading import to_numeric

    from ..plan import batch_as_given

    column = "batch_size_as_given"
    if column not in cands:
        return cands
    where = f"candidates file {path!r}: column {column!r}"
    expected = batch_as_given(cands["batch_size"], fit) if "batch_size" in cands else None
    if expected is None:
        why = (
            "the fit's runs gave their batch in tokens, so it has no other unit"
            if "batch_size" in cands
            else "the file has no batch_size column for it to restate"
        )
        raise CLIError(
            f"{where} restates batch_size in the unit the fit's runs gave their batch in, but "
            f"{why}: leave the column out (batch_size, in tokens, is the column read)"
        )
    try:
        stated = to_numeric(cands, column).to_numpy(float)
    except RunTableError as err:
        raise CLIError(f"candidates file {path!r}: {err}") from None
    same = (stated == expected) | (np.isnan(stated) & np.isnan(expected))
    if not same.all():
        raise CLIError(
            f"{where} disagrees with batch_size (tokens, the column read) in units of "
            f"{fit.units['batch_size']:g} tokens at {at_rows(cands.index[~same])}: edit "
            f"batch_size (in tokens; or give it in that unit with --units "
            f"batch_size={fit.units['batch_size']:g}), or leave {column} out"
        )
    return cands.drop(columns=column)


def _trained_guardrails(fit):
    """The default guardrails with the fit's own runs (:func:`bayeslaws.design.campaign.
    fitted_runs`) counted as earlier picks, as a campaign counts the runs it started from: a
    candidate within 1% of a trained run in N and D (the same design point) is not proposed."""
    from bayeslaws import design
    from bayeslaws.design.campaign import fitted_runs

    rails = design.Guardrails()
    trained = fitted_runs(fit)
    return rails.after(trained) if len(trained) and {"N", "D"} <= set(trained) else rails


def _refuse_isoflop_for(fit, args, command: str) -> None:
    """``design --isoflop`` or ``candidates --isoflop`` (``command``) for a law whose runs are
    described by more than N and D (C), e.g. law 'sweep' (lr, batch_size): it values a run at
    its own setting, and an isoFLOP point has none; refused in one line naming the candidate
    options of that command that suit the law (``candidates`` has no --candidates: there the
    CSV of settings is written by hand and given to ``design --candidates``)."""
    extra = [c for c in fit.law.run_columns if c not in ("N", "D", "C")]
    if not args.isoflop or not extra:
        return
    sweep = (
        "--sweep N D (an LR x batch sweep at that cell, around the fit's eta_opt and B_opt; "
        "repeatable)"
        if set(extra) <= {"lr", "batch_size"}
        else ""
    )
    if command == "candidates":
        own = (
            f"write a CSV with columns {', '.join(['N', 'D', *extra])} "
            "and pass it to `bayeslaws design --candidates`"
        )
        remedy = f"{sweep}, or {own}" if sweep else own
    else:
        own = f"--candidates CANDS.csv with columns {', '.join(extra)} for each run"
        remedy = f"{sweep} or {own}" if sweep else own
    raise CLIError(
        f"--isoflop: law {fit.law.name!r} values a run at its {' and '.join(extra)} (its runs "
        f"are described by {', '.join(fit.law.run_columns)}), and an isoFLOP line gives sizes "
        f"and tokens only: give {remedy}"
    )


def _unit_settings(plan):
    """The design's batch (one row per picked unit) with the lr and batch_size of a unit of
    several runs given as the range of its runs' settings ("8.94e-05..0.000453 (5 values)",
    :func:`~bayeslaws.app.plan_report.unit_setting`, from the package's ``<col>_min``,
    ``<col>_max`` and ``<col>_values``: :func:`bayeslaws.design.gaussian.unit_rows`), which
    then replace those three columns; a unit of one run keeps its own setting."""
    from ..plan_report import unit_setting

    shown = plan.copy()
    for column, unit in (("lr", ""), ("batch_size", "tokens")):
        spread = [f"{column}_{end}" for end in ("min", "max", "values")]
        if column not in shown or spread[-1] not in shown:
            continue
        if bool((shown[spread[-1]] > 1).any()):
            shown[column] = [unit_setting(row, column, unit) for _, row in shown.iterrows()]
        shown = shown.drop(columns=[c for c in spread if c in shown])
    return shown
