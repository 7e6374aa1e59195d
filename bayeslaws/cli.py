"""The ``bayeslaws`` command line. Every subcommand is a thin wrapper over the package API; bad
input ends with one line naming the problem and exit code 2, never a traceback.

    bayeslaws fit RUNS.csv --law chinchilla --out FIT.nc [--N col --C col --loss col]
    bayeslaws predict FIT.nc --N 7e9 70e9 --D 1.4e12 1.4e12 [--ci 0.9 --kind new_run]
    bayeslaws demo [--out demo_output]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_BAD_INPUT = 2


class CLIError(Exception):
    """A problem with the user's input, reported as one line."""


def _floats(values):
    return None if values is None else [float(v) for v in values]


def _sampler(args) -> dict:
    return {"chains": args.chains, "warmup": args.warmup, "draws": args.draws, "seed": args.seed}


def cmd_fit(args) -> int:
    import bayeslaws as bl

    mapping = {k: getattr(args, k) for k in ("N", "D", "C", "loss", "lr", "batch_size", "group")}
    runs = bl.load_runs(args.runs, **{k: v for k, v in mapping.items() if v is not None})
    fit = bl.fit(runs, law=args.law, likelihood=args.likelihood, **_sampler(args))
    print(fit)
    print(fit.summary().round(4).to_string())
    path = fit.save(args.out)
    print(f"saved {path}")
    return 0


def cmd_predict(args) -> int:
    import bayeslaws as bl

    fit = bl.load_fit(args.fit)
    table = bl.predict(
        fit, N=_floats(args.N), D=_floats(args.D), C=_floats(args.C), ci=args.ci, kind=args.kind
    )
    print(table.to_string(index=False))
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    run_demo(Path(args.out), **_sampler(args))
    return 0


def _add_sampler(parser, draws: int = 1000) -> None:
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=draws)
    parser.add_argument("--draws", type=int, default=draws)
    parser.add_argument("--seed", type=int, default=0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bayeslaws", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fit", help="fit a law to a CSV/Parquet run table and save it (netCDF)")
    p.add_argument("runs", help="CSV or Parquet file of training runs")
    p.add_argument("--law", default="chinchilla")
    p.add_argument("--likelihood", default="huber")
    p.add_argument("--out", required=True, help="output .nc file")
    for column in ("N", "D", "C", "loss", "lr", "batch_size", "group"):
        p.add_argument(f"--{column}", default=None, help=f"your column name for {column}")
    _add_sampler(p)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("predict", help="predict the loss at (N, D) or (N, C) from a saved fit")
    p.add_argument("fit", help="a .nc file written by 'bayeslaws fit'")
    for column in ("N", "D", "C"):
        p.add_argument(f"--{column}", nargs="+", default=None)
    p.add_argument("--ci", type=float, default=0.9)
    p.add_argument("--kind", default="mean", choices=["mean", "new_run"])
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("demo", help="the main job on the bundled (simulated) data set")
    p.add_argument("--out", default="demo_output", help="folder for the report and figures")
    _add_sampler(p, draws=500)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, TypeError, KeyError, OSError, CLIError) as err:
        message = err.args[0] if err.args else str(err)
        print(f"bayeslaws {args.command}: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
