"""The subcommands ``plot`` and ``report``: a figure or an HTML report drawn from a
saved fit, refusing the options the chosen figure (or a missing ``--runs``) would
ignore.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .errors import CLIError
from .files import load_fit, refuse_suffix, stale_files, wrote_figure
from .hints import with_cli_hints
from .run_tables import read_runs
from .values import RUNS_OPTIONS, floats, option_given

# plot options and the --kind values that use them (any other kind refuses them)
PLOT_OPTIONS = (
    ("--runs", "runs", ("fan", "bowls")),
    ("--C", "C", ("isoflop", "n_opt")),
    ("--target", "target", ("fan",)),
    ("--fan-kind", "fan_kind", ("fan",)),
    ("--vars", "vars", ("pairs",)),
    ("--paper-laws", "paper_laws", ("n_opt",)),
    ("--group", "group", ("fan", "isoflop", "n_opt")),
)


def _refuse_unused(args, options=()) -> None:
    """One line naming the first option the command would ignore: one of ``options`` (option,
    dest, kinds) that the chosen ``--kind`` does not use, or a table option without --runs."""
    for option, dest, kinds in options:
        if option_given(args, dest) and args.kind not in kinds:
            raise CLIError(f"{option} applies to --kind {' and '.join(kinds)} only")
    if args.runs is None:
        for option, dest in RUNS_OPTIONS:
            if option_given(args, dest):
                raise CLIError(f"{option} needs --runs (it applies to the run table given there)")


# the --target pair of each input the law takes besides N (fit.law.inputs)
TARGET_WORDS = {
    "D": "N (parameters) and D (tokens)",
    "C": "N (parameters) and C (FLOPs) for isoflop fits, not N and D: the second number is "
    "the compute budget in FLOPs (about 6 N D), not tokens",
}


def _target_words(fit) -> str:
    """What ``plot --target`` takes for this fit: N and the law's other input (D in tokens, or
    C in FLOPs for a law of N and C, as isoflop fits are), from the law's inputs."""
    other = next((c for c in fit.law.inputs if c != "N"), "D")
    return TARGET_WORDS.get(other, f"N (parameters) and {other}")


def _fitted_c(fit, args) -> str:
    """The fitted range of C (FLOPs; ``--group``'s runs', else the pooled range) in words,
    "; the fit's runs span C = 6e+18 to 1e+21" ("" when the fit records none), for a figure
    whose budgets were not given: the fit does not say which budgets to draw."""
    from bayeslaws.posterior.extrapolation.distance import group_ranges

    bounds = group_ranges(fit, args.group).get("C")
    return f"; the fit's runs span C = {bounds[0]:.3g} to {bounds[1]:.3g}" if bounds else ""


def cmd_plot(args) -> int:
    from bayeslaws import plot

    _refuse_unused(args, PLOT_OPTIONS)
    fit = load_fit(args.fit)
    runs = None
    if args.runs is not None:
        runs = read_runs(args.runs, args)
    elif args.kind == "bowls":
        runs = fit.training_runs()
    budgets = floats(args.C, "C")
    if args.kind == "fan":
        words = _target_words(fit)
        targets = None
        if args.target:
            try:
                t = [float(v) for v in args.target]
            except ValueError:
                t = []
            if len(t) != 2:
                raise CLIError(f"--target takes two numbers, {words}; got "
                               f"{' '.join(args.target)!r}")
            targets = [tuple(t)]
        try:
            fig = plot.fan(
                fit, runs, targets=targets, kind=args.fan_kind or "mean", group=args.group
            )
        except ValueError as err:
            if not targets or "C" not in fit.law.inputs:
                raise
            raise CLIError(f"{err} (--target takes {words})") from None
    elif args.kind == "bowls":
        fig = plot.bowls(fit, runs)
    elif args.kind == "isoflop":
        if not budgets:
            raise CLIError(
                f"--kind isoflop needs budgets: --C 1e19 1e20 ... (FLOPs{_fitted_c(fit, args)})"
            )
        fig = plot.isoflop(fit, budgets, group=args.group)
    elif args.kind == "n_opt":
        from ...runs.published import yin_n_opt_laws

        laws = yin_n_opt_laws() if args.paper_laws else None
        fig = plot.n_opt(fit, paper_laws=laws, budgets=budgets, group=args.group)
    else:
        fig = plot.pairs(fit, args.vars)
    print(wrote_figure(fig, args.out))
    return 0


def _known_label(text: str | None) -> tuple[str, str]:
    """``--known-label`` as (label, kind): a trailing ':truth' or ':published' sets the kind;
    any other colon belongs to the label ('Hoffmann et al.: Chinchilla')."""
    if text is None:
        return "published", "published"
    label, sep, kind = text.rpartition(":")
    if sep and kind.strip() in ("truth", "published"):
        return label.strip() or "published", kind.strip()
    return text, "published"


def cmd_report(args) -> int:
    from ..report import (
        figures_line,
        fit_report,
        recorded_warnings,
        refuse_non_report,
        warning_lines,
        write_html,
    )

    _refuse_unused(args)
    if args.extrapolation is not None and not args.C:
        raise CLIError(
            "--extrapolation applies to the allocation at the --C budgets: give --C C ... "
            "(the predictions and figures are under the default)"
        )
    if args.known_label is not None and not args.known:
        raise CLIError("--known-label needs --known (it names where those values come from)")
    out = Path(args.out)
    if out.resolve() == Path(args.fit).resolve():
        raise CLIError(f"--out {args.out!r} is the fit file itself: give the report its own "
                       ".html file")
    refuse_non_report(out)  # an earlier report may be replaced, nothing else
    refuse_suffix(args.out, (".html", ".htm"), "the report is an HTML page")
    with recorded_warnings() as loaded:  # e.g. a fit of other law code: said in the report too
        fit = load_fit(args.fit)
        runs = read_runs(args.runs, args) if args.runs is not None else None
    targets = [tuple(floats(t, "target")) for t in args.target or []]
    label, kind = _known_label(args.known_label)
    known = {}
    for pair in args.known or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CLIError(f"--known takes PARAMETER=VALUE, got {pair!r}")
        known[name] = (label, floats([value], "known")[0], kind)
    names = set(fit.summary().index)
    unknown = sorted(set(known) - names)
    if unknown:
        raise CLIError(f"--known: no parameter(s) {unknown} in this fit; it has {sorted(names)}")
    figure_dir = out.parent / f"{out.stem}_figures"
    existed = list(figure_dir.iterdir()) if figure_dir.is_dir() else []
    report = fit_report(
        fit, runs=runs, budgets=floats(args.C, "C"), targets=targets or None, ci=args.ci,
        figure_dir=figure_dir, seed=args.seed, references=known, group=args.group,
        warnings_before=warning_lines(loaded),
        **({} if args.extrapolation is None else {"extrapolation": args.extrapolation}),
    )
    # the package's advice to set a prior (the new group's sentence) in the command line's form
    report.preamble = [
        with_cli_hints(line, "report") if "priors=" in line else line for line in report.preamble
    ]
    written = write_html(report, out).resolve()  # before printing: a closed pipe loses nothing
    print(report.to_text())
    print(f"wrote {written}")
    print(figures_line(report.figure_paths(), figure_dir, existed))
    stale = stale_files(report.figure_paths(), existed)
    if stale:
        print(
            f"note: {figure_dir.resolve()} also holds {', '.join(stale)}, left from an earlier "
            "run: not part of this report (its page does not show them; not deleted)",
            file=sys.stderr,
        )
    return 0
