"""The subcommands that run whole jobs: ``repro`` (the paper-reproduction scripts),
``demo`` (the main job on the bundled data) and ``plan`` (the demo's planning on the
user's run table or saved fits).
"""

from __future__ import annotations

from .errors import EXIT_FAILED, CLIError
from .files import is_fit_file, load_fit, output_folder
from .run_tables import read_runs
from .values import RUNS_OPTIONS, given_options, law_options, option_given, sampler_options


def cmd_repro(args) -> int:
    from ..repro import run_repro

    status = run_repro(args.out, only=args.only, draws=args.draws)
    for name, s in status.items():
        print(f"{name:12s} {s}")
    return EXIT_FAILED if any(s.startswith("failed") for s in status.values()) else 0


def cmd_demo(args) -> int:
    from ..demo import run_demo

    run_demo(
        output_folder(args.out),
        **sampler_options(args),
        route=args.route,
        target_N=args.target_N,
        target_D=args.target_D,
        budget=args.budget,
        tolerance=args.tolerance,
        figures=not args.no_figures,
        html=args.html,
    )
    return 0


# options that read a run table: 'plan' refuses them with saved fits (nothing to read them)
TABLE_OPTIONS = RUNS_OPTIONS
# options of the fits of a run table: 'plan' refuses them with saved fits (fitted already)
FIT_OPTIONS = (("--option", "option"), ("--screen", "screen"))
# the NUTS options of 'plan' that sample: with saved fits nothing is sampled, so they are refused
PLAN_SAMPLER_OPTIONS = ("--chains", "--warmup", "--draws", "--target-accept", "--dense-mass")


def refuse_sampler_options(args) -> None:
    """CLIError naming the NUTS options given with saved fits (:data:`PLAN_SAMPLER_OPTIONS`,
    even at their default values): the fits are already sampled, and planning from them
    draws no new samples; to sample again, plan from the run table."""
    given = [
        f"{option} {value}"
        for option, value in given_options(args).items()
        if option in PLAN_SAMPLER_OPTIONS
    ]
    if given:
        raise CLIError(
            f"{', '.join(given)}: the NUTS options apply to a run table, not to saved fits, "
            "which are already sampled (planning from them draws no new samples); to sample "
            "again, plan from the run table: bayeslaws plan RUNS.csv ... with these options"
        )


def cmd_plan(args) -> int:
    """The demo's planning (:func:`~bayeslaws.app.demo.run_planning`, the code path of
    ``bayeslaws demo``) on the user's run table, fitted here, or on saved fits."""
    from ..demo import run_planning
    from ..report import recorded_warnings, warning_lines

    fit_files = [s for s in args.source if is_fit_file(s)]
    tables = [s for s in args.source if s not in fit_files]
    if tables and fit_files:
        raise CLIError(
            f"give a run table or saved fits, not both (got {' '.join(args.source)}): a table "
            "is fitted here; fits (.nc) are planned from as they are"
        )
    if len(tables) > 1:
        raise CLIError(f"give one run table, got {len(tables)}: {' '.join(tables)}")
    if len(fit_files) > 2:
        raise CLIError(
            f"give one fit of law 'sweep', or a fit of law 'hyperparams' and a loss-surface fit "
            f"(in that order); got {len(fit_files)} fits"
        )
    options = law_options(args.option)  # an unreadable --option fails before the table is read
    out = output_folder(args.out)
    sampler = {k: v for k, v in sampler_options(args).items() if k != "seed"}
    runs = fits = None
    with recorded_warnings() as loaded:  # said on stderr and in the report's Warnings section
        if fit_files:
            for option, dest in TABLE_OPTIONS:
                if option_given(args, dest):
                    raise CLIError(f"{option} applies to a run table, not to saved fits")
            for option, dest in FIT_OPTIONS:
                if option_given(args, dest):
                    raise CLIError(
                        f"{option} configures the fits of a run table; the saved fits are "
                        f"fitted already: refit them with 'bayeslaws fit ... {option} ...', or "
                        "plan from the run table"
                    )
            refuse_sampler_options(args)
            if args.route is not None:
                raise CLIError(
                    "--route applies to a run table: saved fits carry their own (one fit of "
                    "law 'sweep': joint; a 'hyperparams' fit and a loss-surface fit: best-cell)"
                )
            fits = tuple(load_fit(f) for f in fit_files)
        else:
            runs = read_runs(tables[0], args)
    run_planning(
        out, runs, fits, sampler=sampler, seed=args.seed, route=args.route or "joint",
        target_N=args.target_N, target_D=args.target_D, budget=args.budget,
        tolerance=args.tolerance, group=args.group, figures=not args.no_figures, html=args.html,
        warnings_before=warning_lines(loaded),
        whose=f"the range of the runs in {tables[0]!r}" if tables else "the fitted range",
        law_options=options, screen=args.screen,
    )  # fmt: skip
    return 0
