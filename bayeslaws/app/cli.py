"""The ``bayeslaws`` command line. Every subcommand is a thin wrapper over the package API; bad
input ends with one line naming the problem and exit code 2, never a traceback (set
BAYESLAWS_DEBUG=1 to see one).

    bayeslaws fit RUNS.csv --law chinchilla --out FIT.nc [--N col --C col --loss col]
    bayeslaws predict FIT.nc --N 7e9 70e9 --D 1.4e12 1.4e12 [--ci 0.9 --kind new_run]
    bayeslaws allocate FIT.nc --C 1e21 1e22 [--ci 0.9 --tolerance 0.01]
    bayeslaws design FIT.nc --candidates CANDS.csv [--nopt 1e22 | --loss N D | --hparams N D]
    bayeslaws plot FIT.nc --kind fan|bowls|isoflop|n_opt|pairs --out FIG.png [--runs RUNS.csv]
    bayeslaws repro [--only yin liang porian] [--draws 200] [--out repro_output]
    bayeslaws demo [--out demo_output]
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

from ..laws import LAWS
from ..posterior.extrapolation import DEFAULT_METHOD, METHODS

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
PLOT_KINDS = ("fan", "bowls", "isoflop", "n_opt", "pairs")


class CLIError(Exception):
    """A problem with the user's input, reported as one line."""


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors raise (one line in :func:`main`) instead of exiting."""

    def error(self, message):
        raise CLIError(f"{message} (see '{self.prog} --help')")


def _floats(values, name: str = "value"):
    if values is None:
        return None
    try:
        return [float(v) for v in values]
    except ValueError:
        raise CLIError(f"--{name} takes numbers, got {' '.join(values)!r}") from None


def _sampler(args) -> dict:
    return {"chains": args.chains, "warmup": args.warmup, "draws": args.draws, "seed": args.seed}


def _existing(path: str, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise CLIError(f"{what} {path!r} does not exist")
    if p.is_dir():
        raise CLIError(f"{what} {path!r} is a folder, not a file")
    return p


def _load_fit(path: str):
    import bayeslaws as bl
    from bayeslaws.inference import IncompatibleFitFile

    p = _existing(path, "fit file")
    try:
        return bl.load_fit(p)
    except IncompatibleFitFile:
        raise
    except (OSError, ValueError, KeyError) as err:
        raise CLIError(
            f"{path!r} is not a fit written by 'bayeslaws fit' ({type(err).__name__}: {err})"
        ) from None


def _table(df) -> str:
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 40):
        return df.to_string(index=False, float_format="{:.5g}".format)


# ---- subcommands -------------------------------------------------------------------------------
def _law_options(pairs) -> dict | None:
    """``KEY=VALUE`` strings -> law options (true/false -> bool, numbers -> float)."""
    options = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CLIError(f"--option takes KEY=VALUE, got {pair!r}")
        lowered = value.lower()
        if lowered in ("true", "false"):
            options[key] = lowered == "true"
        else:
            try:
                options[key] = float(value)
            except ValueError:
                options[key] = value
    return options or None


def cmd_fit(args) -> int:
    import bayeslaws as bl
    from bayeslaws.laws import resolve_law

    options = _law_options(args.option)
    resolve_law(args.law, options)  # an unknown law or option fails before anything is read
    runs_path = _existing(args.runs, "run table")
    if runs_path.stat().st_size == 0:
        raise CLIError(f"run table {args.runs!r} is empty (no header, no rows)")
    mapping = {k: getattr(args, k) for k in ("N", "D", "C", "loss", "lr", "batch_size", "group")}
    runs = bl.load_runs(runs_path, **{k: v for k, v in mapping.items() if v is not None})
    print(f"fitting law {args.law!r} to {runs}", file=sys.stderr)
    fit = bl.fit(
        runs,
        law=args.law,
        likelihood=args.likelihood,
        law_options=options,
        **_sampler(args),
    )
    print(fit)
    print(fit.summary().to_string(float_format="{:.4g}".format))
    path = fit.save(args.out)
    print(f"saved {path}")
    return 0


def cmd_predict(args) -> int:
    import bayeslaws as bl

    fit = _load_fit(args.fit)
    table = bl.predict(
        fit,
        N=_floats(args.N, "N"),
        D=_floats(args.D, "D"),
        C=_floats(args.C, "C"),
        ci=args.ci,
        kind=args.kind,
        **({"extrapolation": args.extrapolation} if args.extrapolation else {}),
    )
    print(_table(table))
    return 0


def cmd_allocate(args) -> int:
    import bayeslaws as bl

    fit = _load_fit(args.fit)
    budgets = _floats(args.C, "C")
    table = bl.optimal_allocation(fit, C=budgets, ci=args.ci)
    print(_table(table))
    if args.tolerance is not None:
        for C in budgets:
            print(bl.near_optimal(fit, C, args.tolerance, prob=args.prob, ci=args.ci))
    return 0


def _design_target(args):
    from bayeslaws import design

    given = [t for t in ("loss", "nopt", "hparams") if getattr(args, t) is not None]
    if len(given) > 1:
        raise CLIError(f"give at most one target (--loss, --nopt or --hparams), got {given}")
    if args.loss is not None:
        N, D = _floats(args.loss, "loss")
        return design.Loss(N=N, D=D)
    if args.nopt is not None:
        return design.NOpt(C=_floats(args.nopt, "nopt"))
    if args.hparams is not None:
        N, D = _floats(args.hparams, "hparams")
        return design.HyperparamOpt(N=N, D=D)
    return design.AllParameters()


def cmd_design(args) -> int:
    import pandas as pd

    from bayeslaws import design

    fit = _load_fit(args.fit)
    path = _existing(args.candidates, "candidates file")
    if path.stat().st_size == 0:
        raise CLIError(f"candidates file {args.candidates!r} is empty")
    try:
        cands = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError) as err:
        raise CLIError(f"could not parse {str(path)!r} as a CSV table: {err}") from None
    target = _design_target(args)
    cost = None if args.cost == "none" else args.cost
    plan = design.next_runs(fit, cands, target, cost=cost, k=args.k, seed=args.seed, ci=args.ci)
    print(_table(plan))
    if args.plot:
        from bayeslaws import plot

        ranked = design.rank_candidates(fit, cands, target, cost=cost, seed=args.seed, ci=args.ci)
        score = "info" if cost is None else None
        print(f"wrote {plot.save(plot.design_ranking(ranked, score=score), args.plot)}")
    return 0


def cmd_plot(args) -> int:
    import bayeslaws as bl
    from bayeslaws import plot

    fit = _load_fit(args.fit)
    runs = None
    if args.runs is not None:
        runs = bl.load_runs(_existing(args.runs, "run table"))
    elif args.kind == "bowls":
        runs = fit.training_runs()
    budgets = _floats(args.C, "C")
    if args.kind == "fan":
        targets = None
        if args.target:
            t = _floats(args.target, "target")
            if len(t) != 2:
                raise CLIError("--target takes two numbers: N (parameters) and D (tokens)")
            targets = [tuple(t)]
        fig = plot.fan(fit, runs, targets=targets)
    elif args.kind == "bowls":
        fig = plot.bowls(fit, runs)
    elif args.kind == "isoflop":
        if not budgets:
            raise CLIError("--kind isoflop needs budgets: --C 1e19 1e20 ...")
        fig = plot.isoflop(fit, budgets)
    elif args.kind == "n_opt":
        from ..runs.published import yin_n_opt_laws

        laws = yin_n_opt_laws() if args.paper_laws else None
        fig = plot.n_opt(fit, paper_laws=laws, budgets=budgets)
    else:
        fig = plot.pairs(fit, args.vars)
    path = plot.save(fig, args.out)
    print(f"wrote {path}")
    return 0


def cmd_repro(args) -> int:
    from .repro import run_repro

    status = run_repro(args.out, only=args.only, draws=args.draws)
    for name, s in status.items():
        print(f"{name:12s} {s}")
    return EXIT_FAILED if any(s.startswith("failed") for s in status.values()) else 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    run_demo(
        Path(args.out),
        **_sampler(args),
        target_N=args.target_N,
        target_D=args.target_D,
        budget=args.budget,
        figures=not args.no_figures,
    )
    return 0


# ---- parser ------------------------------------------------------------------------------------
def _add_sampler(parser, draws: int = 1000, chains: int = 4) -> None:
    g = parser.add_argument_group("NUTS")
    g.add_argument("--chains", type=int, default=chains)
    g.add_argument("--warmup", type=int, default=draws, help="warm-up iterations per chain")
    g.add_argument("--draws", type=int, default=draws, help="draws per chain")
    g.add_argument("--seed", type=int, default=0)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bayeslaws",
        description="Neural scaling laws as Bayesian models (NumPyro + NUTS).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[4:]),
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("fit", help="fit a law to a CSV/Parquet run table and save it (netCDF)")
    p.add_argument("runs", help="CSV or Parquet file of training runs")
    p.add_argument(
        "--law",
        default="chinchilla",
        help="a registered law (" + ", ".join(sorted(LAWS)) + ") or module:ClassName",
    )
    p.add_argument("--likelihood", default="huber", choices=["gaussian", "student_t", "huber"])
    p.add_argument("--out", required=True, help="output .nc file")
    p.add_argument(
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="a law option, repeatable (e.g. --option loss_floor=true for isoflop)",
    )
    for column in ("N", "D", "C", "loss", "lr", "batch_size", "group"):
        p.add_argument(f"--{column}", default=None, help=f"your column name for {column}")
    _add_sampler(p)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("predict", help="predict from a saved fit at (N, D) or (N, C)")
    p.add_argument("fit", help="a .nc file written by 'bayeslaws fit'")
    for column, unit in (("N", "parameters"), ("D", "tokens"), ("C", "FLOPs")):
        p.add_argument(f"--{column}", nargs="+", default=None, help=unit)
    p.add_argument("--ci", type=float, default=0.9)
    p.add_argument("--kind", default="mean", choices=["mean", "new_run"])
    p.add_argument(
        "--extrapolation",
        default=None,
        choices=list(METHODS),
        help=f"model discrepancy of new_run intervals (default {DEFAULT_METHOD})",
    )
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("allocate", help="compute-optimal N, D and loss at budgets C (FLOPs)")
    p.add_argument("fit", help="a loss-surface or isoflop fit (.nc)")
    p.add_argument("--C", nargs="+", required=True, help="budgets in FLOPs")
    p.add_argument("--ci", type=float, default=0.9)
    p.add_argument("--tolerance", type=float, default=None, help="also list near-optimal sizes")
    p.add_argument("--prob", type=float, default=0.9, help="probability for --tolerance")
    p.set_defaults(func=cmd_allocate)

    p = sub.add_parser("design", help="the next runs that most narrow a target, per FLOP")
    p.add_argument("fit", help="a .nc file written by 'bayeslaws fit'")
    p.add_argument("--candidates", required=True, help="CSV of candidate runs (N, D or C, ...)")
    p.add_argument("--loss", nargs=2, metavar=("N", "D"), help="target: loss at (N, D)")
    p.add_argument("--nopt", nargs="+", metavar="C", help="target: N_opt at budget(s) C")
    p.add_argument("--hparams", nargs=2, metavar=("N", "D"), help="target: eta_opt, B_opt")
    p.add_argument("--k", type=int, default=3, help="number of runs to pick")
    p.add_argument("--cost", default="flops", help="'flops', a candidates column, or 'none'")
    p.add_argument("--ci", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", default=None, help="also draw the ranking to this image file")
    p.set_defaults(func=cmd_design)

    p = sub.add_parser("plot", help="draw a figure from a saved fit")
    p.add_argument("fit", help="a .nc file written by 'bayeslaws fit'")
    p.add_argument("--kind", required=True, choices=PLOT_KINDS)
    p.add_argument("--out", required=True, help="image file (.png, .pdf, .svg)")
    p.add_argument("--runs", default=None, help="the run table (needed for bowls)")
    p.add_argument("--C", nargs="+", default=None, help="budgets (isoflop, n_opt)")
    p.add_argument("--target", nargs=2, default=None, metavar=("N", "D"), help="fan: mark a run")
    p.add_argument("--vars", nargs="+", default=None, help="pairs: parameter names")
    p.add_argument("--paper-laws", action="store_true", help="n_opt: overlay Yin et al.'s laws")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("repro", help="run the paper-reproduction scripts with small draws")
    p.add_argument("--only", nargs="+", default=None, help="yin liang porian epoch hyperparams")
    p.add_argument("--draws", type=int, default=200, help="draws (and warm-up) per chain")
    p.add_argument("--out", default="repro_output", help="folder for the copies and results")
    p.set_defaults(func=cmd_repro)

    p = sub.add_parser("demo", help="the main job on the bundled (simulated) data set")
    p.add_argument("--out", default="demo_output", help="folder for the report and figures")
    p.add_argument("--target-N", type=float, default=1.07e9, help="target size (parameters)")
    p.add_argument("--target-D", type=float, default=1e10, help="target tokens")
    p.add_argument("--budget", type=float, default=1e22, help="compute budget (FLOPs)")
    p.add_argument("--no-figures", action="store_true")
    _add_sampler(p, draws=500)
    p.set_defaults(func=cmd_demo)
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    return f"warning: {message}\n"


def main(argv=None) -> int:
    parser = build_parser()
    command = "bayeslaws"
    debug = bool(os.environ.get("BAYESLAWS_DEBUG"))
    original = warnings.formatwarning
    warnings.formatwarning = _one_line_warning
    try:
        args = parser.parse_args(argv)
        command = f"bayeslaws {args.command}"
        return args.func(args)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except (FileNotFoundError, ValueError, TypeError, KeyError, OSError, CLIError) as err:
        if debug:
            raise
        message = err.args[0] if err.args and isinstance(err.args[0], str) else str(err)
        print(f"{command}: error: {' '.join(str(message).split())}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as err:  # anything else: still one line, but say it is unexpected
        if debug:
            raise
        print(
            f"{command}: unexpected error ({type(err).__name__}: {err}); rerun with "
            "BAYESLAWS_DEBUG=1 for the traceback",
            file=sys.stderr,
        )
        return EXIT_FAILED
    finally:
        warnings.formatwarning = original


if __name__ == "__main__":
    sys.exit(main())
