"""The command line's argparse parser (:func:`build_parser`): its subcommands and option
groups, the option types, the help texts and the few values of the layers below that the
help shows, copied so that --help imports no JAX, NumPyro or pandas; the usage lines
below the first paragraph are the epilog of ``bayeslaws --help``.

    bayeslaws fit RUNS.csv --law chinchilla --out FIT.nc [--column 'N=Model Size' ...]
        [--exclude-rows 3 17 --exclude-reason 'diverged' | --screen exclude] [--target-accept 0.95]
        [--prior 'alpha=Beta(20, 80)' ...]
    bayeslaws predict FIT.nc --N 7e9 70e9 --D 1.4e12 1.4e12 [--ci 0.9 --kind new_run]
    bayeslaws allocate FIT.nc --C 1e21 1e22 [--ci 0.9 --near-optimal --tolerance 0.05]
    bayeslaws candidates FIT.nc --isoflop 3e19 1e20 | --sweep N D --out CANDS.csv
    bayeslaws design FIT.nc --candidates CANDS.csv | --isoflop C ... [--nopt 1e22 | --loss N D]
    bayeslaws design FIT.nc --sweep N D ... --hparams N D --out PICKS.csv (every run of the picks)
    bayeslaws plot FIT.nc --kind fan|bowls|isoflop|n_opt|pairs --out FIG.png [--runs RUNS.csv]
    bayeslaws report FIT.nc --out report.html [--C 1e22 --target N D --extrapolation drift]
    bayeslaws repro [--only yin liang porian] [--draws 200] [--out repro_output]
    bayeslaws demo [--out demo_output --html --route joint|best-cell]
    bayeslaws plan RUNS.csv | FIT.nc [FIT2.nc] --target-N N --target-D D --budget C
        [--out plan_output --route joint|best-cell --group G --option far_above=0.03]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ... import __version__
from .design_commands import cmd_candidates, cmd_design
from .errors import CLIError
from .figure_commands import cmd_plot, cmd_report
from .files import is_fit_file
from .fit_commands import cmd_allocate, cmd_fit, cmd_predict
from .job_commands import cmd_demo, cmd_plan, cmd_repro
from .values import COLUMNS, NotedStore

PLOT_KINDS = ("fan", "bowls", "isoflop", "n_opt", "pairs")
NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class _MissingPositional(CLIError):
    """argparse's "the following arguments are required" (a positional, e.g. the run table)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors raise (one line in :func:`main`) instead of exiting; a
    negative number in exponent form (``--N -7e9``) is read as a value, not as an option, so that
    it gets the value's own message; and an existing file swallowed by an option of several
    values (``fit --units batch_size=2048 RUNS.csv``) is read as the missing positional."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER

    def error(self, message):
        kind = _MissingPositional if "arguments are required" in message else CLIError
        raise kind(f"{message} (see '{self.prog} --help')", prog=self.prog)

    def parse_known_args(self, args=None, namespace=None):
        try:
            return super().parse_known_args(args, namespace)
        except _MissingPositional as err:
            if args is None or namespace is not None:
                raise
            args = list(args)
            found = _swallowed(args, self._option_string_actions)
            if found is None:
                raise
            at, option, exists = found
            if exists:  # read it as the positional it is (no value of the option is a file)
                return super().parse_known_args([args[at], *args[:at], *args[at + 1:]], None)
            raise CLIError(
                f"{err.args[0]}; {option} took {args[at]!r} as one of its values: put "
                f"{args[at]} before the options",
                prog=err.prog,
            ) from None


FILE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".nc")  # run tables and fits


def _swallowed(argv: list, options: dict):
    """The positional (the run table, the fit) that an option of several values (nargs "+" or
    "*"; ``options``: option string -> argparse action) swallowed as its value, when argparse
    finds the positional missing: (position in ``argv``, the option, whether it is an existing
    file) of the last such value that is an existing file, or else names a file (a run table's
    or fit's suffix); None when none is (e.g. ``--units batch_size 2048``: argparse's own
    message stands).
    An existing file is no value of any such option (numbers, row labels, KEY=VALUE pairs)."""
    existing, named, current = None, None, None
    for i, token in enumerate(argv):
        if token.startswith("-") and not NEGATIVE_NUMBER.match(token):
            action = options.get(token)
            current = token if action is not None and action.nargs in ("+", "*") else None
            continue
        if current is None:
            continue
        keyed = "=" in (options[current].metavar or "")
        if keyed and "=" in token:
            continue
        if Path(token).is_file():
            existing = (i, current, True)
        elif Path(token).suffix.lower() in FILE_SUFFIXES:  # a file named, not found
            named = (i, current, False)
    return existing or named


def _positive_number(text: str) -> float:
    """An argparse type: a finite number > 0 (argparse names the option in its error)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes a positive number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"takes a positive number, got {text!r}")
    return value


def _integer_at_least(text: str, minimum: int, what: str) -> int:
    """``text`` as an int >= ``minimum``, else an argparse error "takes ``what``, got '...'"
    (the text as typed; argparse names the option)."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise argparse.ArgumentTypeError(f"takes {what}, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    """An argparse type: a count >= 1 (chains, draws, warm-up iterations, runs, ...)."""
    return _integer_at_least(text, 1, "a positive integer")


def _seed(text: str) -> int:
    """An argparse type: a random seed, an integer >= 0."""
    return _integer_at_least(text, 0, "a non-negative integer")


REPRO_MIN_DRAWS = 10  # as bayeslaws.app.repro.run_repro refuses fewer


def _repro_draws(text: str) -> int:
    """An argparse type: draws per chain of the reproduction scripts, at least 10."""
    return _integer_at_least(text, REPRO_MIN_DRAWS, f"an integer >= {REPRO_MIN_DRAWS}")


def _interval_mass(text: str) -> float:
    """An argparse type: a central interval mass strictly between 0 and 1, refused with the
    text as typed ("--ci 0": got '0', not 0.0; argparse names the option)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"ci must be a number in (0, 1), got {text!r}")
    return value


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks and shows every option's default (options without
    one, flags and required options say nothing)."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        quiet = default is None or default is False or default == argparse.SUPPRESS
        quiet = quiet or action.required
        if "%(default)" in text or quiet or not action.option_strings:
            return text
        return text + " (default: %(default)s)"


def _add_sampler(parser, draws: int = 1000, chains: int = 4) -> None:
    """The NUTS options; all but --seed are noted when given (values.given_options)."""
    g = parser.add_argument_group("NUTS sampler")
    noted = {"action": NotedStore, "type": _positive_int}
    g.add_argument("--chains", **noted, default=chains, help="chains")
    g.add_argument("--warmup", **noted, default=draws, help="warm-up iterations per chain")
    g.add_argument("--draws", **noted, default=draws, help="draws per chain")
    g.add_argument("--seed", type=_seed, default=0, help="random seed")
    g.add_argument(
        "--target-accept",
        action=NotedStore,
        type=float,
        default=None,
        help="NUTS target acceptance probability (default: the law's own, 0.8, or 0.95 for "
        "law sweep; raise it after divergences)",
    )
    g.add_argument(
        "--dense-mass",
        action=NotedStore,
        default="law",
        choices=["law", "true", "false"],
        help="dense mass matrix ('law': the law's default)",
    )


def _add_columns(parser, shorthand: bool = False) -> None:
    g = parser.add_argument_group("column mapping (your table's column names)")
    g.add_argument(
        "--column",
        action="append",
        metavar="CANONICAL=NAME",
        default=None,
        help="map a column, repeatable, e.g. --column 'N=Model Size' --column 'C=Training FLOP' "
        f"(canonical names: {', '.join(COLUMNS)}; and diverged, the diverged runs' true/false "
        "flags)",
    )
    g.add_argument(
        "--units", nargs="+", action="extend", default=None, metavar="COLUMN=MULTIPLIER",
        help="columns given in other units, e.g. --units N=millions batch_size=2048 (a number "
        "or billions, millions, thousands, ...; as load_runs(units=...))",
    )
    g.add_argument(
        "--compute-model", type=_positive_number, default=None, metavar="K",
        help="FLOPs per parameter per token: C = K N D (default 6)",
    )
    g.add_argument(
        "--ignore-column", action="append", default=None, metavar="COLUMN",
        help="leave a column of the table out, as if it were not there, repeatable: a "
        "canonical column (N, D, C, ...: the one named so or mapped with --column) or any "
        "other column by its name; e.g. --ignore-column D when C is a nominal budget that "
        "disagrees with N and D (D is then derived from N and C); as "
        "load_runs(..., ignore_columns=[...])",
    )
    if shorthand:
        for column in COLUMNS:
            g.add_argument(
                f"--{column}", dest=f"col_{column}", default=None, metavar="NAME",
                help=f"your column name for {column} (same as --column {column}=NAME)",
            )


EXCLUSION_FITTED = "row exclusion (recorded with its reason in the fit)"
EXCLUSION_DRAWN = "row exclusion (rows of the --runs table left out of what is drawn)"


def _add_exclusion(parser, title: str = EXCLUSION_FITTED) -> None:
    """The row-exclusion options, under ``title``: for a command that fits (``fit``, ``plan``)
    the exclusion and its reason are recorded in the fit; ``plot`` and ``report`` fit nothing
    (:data:`EXCLUSION_DRAWN`: the rows are left out of the table they draw)."""
    g = parser.add_argument_group(title)
    g.add_argument(
        "--exclude-rows", nargs="+", action="extend", default=None, metavar="ROW",
        help="row labels to leave out (data rows counted from 0, as pandas reads the file)",
    )
    g.add_argument("--exclude-reason", default=None, help="why (required with --exclude-rows)")
    g.add_argument(
        "--where", action="append", default=None, metavar="COLUMN=VALUE",
        help="keep only the rows whose COLUMN (the table's own name) holds VALUE (the same "
        "text, or the same number, in the table's own units: before --units), repeatable: "
        "every condition must hold; the other rows are left out, with the condition as the "
        "reason; e.g. --where dataset=rw --where loss_type=val, for a table of several "
        "configurations",
    )
    g.add_argument(
        "--keep-diverged", action="store_true",
        help="keep runs whose loss is missing or +inf as diverged runs (the hyperparams and "
        "sweep laws count and record them; other laws need them left out with --exclude-rows)",
    )


def _add_generation(parser) -> None:
    g = parser.add_argument_group("candidate generation (bayeslaws.design.candidates)")
    g.add_argument("--isoflop", nargs="+", action="extend", metavar="C", default=None,
                   help="isoFLOP lines at these budgets (FLOPs), around the fit's N_opt")
    g.add_argument("--n-per-budget", type=_positive_int, default=7, help="sizes per isoFLOP line")
    g.add_argument("--spread-decades", type=float, default=1.0,
                   help="isoFLOP sizes span N_opt * 10^(+-spread)")
    g.add_argument("--sweep", nargs=2, action="append", metavar=("N", "D"), default=None,
                   help="an LR x batch sweep at cell (N params, D tokens), repeatable; needs a "
                   "hyperparameter fit (grids around its eta_opt, B_opt)")
    g.add_argument("--n-lr", type=_positive_int, default=5, help="learning rates per sweep")
    g.add_argument("--n-batch", type=_positive_int, default=3, help="batch sizes per sweep")
    g.add_argument("--lr-step", type=float, default=1.5, help="factor between learning rates")
    g.add_argument("--batch-step", type=float, default=2.0, help="factor between batch sizes")
    g.add_argument("--lr-grid", nargs="+", action="extend", default=None, metavar="LR",
                   help="sweep learning rates (instead of --n-lr/--lr-step around eta_opt)")
    g.add_argument("--batch-grid", nargs="+", action="extend", default=None, metavar="TOKENS",
                   help="sweep batch sizes in tokens (instead of --n-batch/--batch-step)")


# What the parser shows of the layers below, copied here so that building it (and --help)
# imports no JAX, NumPyro or pandas: those modules take seconds to load
# (tests/test_cli_startup.py checks each copy against its source).
# the built-in laws, name -> form (bayeslaws.laws.LAWS, each law's description)
BUILTIN_LAWS = {
    "chinchilla": "L = E + A/N^alpha + B/D^beta",
    "chinchilla_gamma": "L = E + (A/N^alpha + B/D^beta)^gamma",
    "farseer": "L = exp(s N^q + S) + exp(B N^b + Q) D^-exp(A N^a + E)",
    "hyperparams": "per-cell bowl in (ln lr, ln B); centre ln eta*, ln B* power laws in N, D",
    "hyperparams_two_stage": "best run per (N, D) cell, then ln eta*, ln B* linear in ln N, "
    "ln D (OLS)",
    "isoflop": "per-budget parabolas in ln N, vertices N_opt = k C^a",
    "isoflop_cubic": "per-budget cubics in ln N (minimum at the vertex), vertices N_opt = k C^a",
    "kaplan": "L = ((N_c/N)^(alpha_N/alpha_D) + D_c/D)^alpha_D",
    "sweep": "loss surface + per-cell LR x batch bowls + optima power laws in N, D, fitted "
    "jointly",
}
# bayeslaws.inference.screening.ACTIONS and DEFAULT_THRESHOLD (robust sd)
SCREEN_ACTIONS = ("warn", "exclude", "off")
SCREEN_THRESHOLD = 8.0
# bayeslaws.posterior.extrapolation.METHODS and DEFAULT_METHOD
METHODS = (
    "model",
    "drift",
    "gp",
    "gp_discrepancy",
    "stacking_discrepancy",
    "discrepancy",
    "discrepancy_t",
    "stacking",
    "none",
)
DEFAULT_METHOD = "gp"
# bayeslaws.app.repro.SCRIPTS (its names) and DEFAULT_SCRIPTS (repro loads pandas)
REPRO_SCRIPTS = ("yin", "liang", "porian", "epoch", "hyperparams")
REPRO_DEFAULT_SCRIPTS = ("yin", "liang", "porian")


# the input files named on the command line, checked before the numerical libraries load (a
# mistyped name is said at once): command -> (dest, what the file is, as its reader names it)
INPUT_FILES = {
    "fit": (("runs", "run table"),),
    "predict": (("fit", "fit file"),),
    "allocate": (("fit", "fit file"),),
    "candidates": (("fit", "fit file"),),
    "design": (("fit", "fit file"), ("candidates", "candidates file")),
    "plot": (("fit", "fit file"), ("runs", "run table")),
    "report": (("fit", "fit file"), ("runs", "run table")),
    "plan": (("source", None),),  # None: a fit file (.nc) or else a run table, as cmd_plan reads
}


def input_files(args) -> list[tuple[str, str]]:
    """The input files of the parsed command line ``args``, as (path, what it is: "run
    table", "fit file", "candidates file"), in the order given; options not given are left
    out (:data:`INPUT_FILES`)."""
    found = []
    for dest, what in INPUT_FILES.get(args.command, ()):
        given = getattr(args, dest, None)
        for path in [given] if isinstance(given, str) else given or []:
            found.append((path, what or ("fit file" if is_fit_file(path) else "run table")))
    return found


def _law_forms() -> dict:
    """Law name -> form for --law's help: this process's registry when the laws are loaded
    (main() called from Python, after a register()), else the built-ins (a fresh command line
    has registered nothing else), without loading them."""
    if "bayeslaws.laws" not in sys.modules:
        return BUILTIN_LAWS
    from ...laws import LAWS

    return {name: law.description for name, law in LAWS.items()}


def _law_help() -> str:
    listed = "; ".join(f"{name} ({form})" for name, form in sorted(_law_forms().items()))
    return f"a registered law: {listed}; or your own as module:ClassName"


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser; it imports no JAX, NumPyro, ArviZ or pandas (help is quick):
    :func:`main` loads them after parsing."""
    parser = _Parser(
        prog="bayeslaws",
        description="Neural scaling laws as Bayesian models (NumPyro + NUTS).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1].rstrip(),  # the usage lines below the prose
    )
    parser.add_argument("--version", action="version", version=f"bayeslaws {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add(name, help):
        return sub.add_parser(name, help=help, description=help, formatter_class=_Formatter)

    p = add("fit", "fit a law to a CSV/Parquet run table and save it (netCDF)")
    p.add_argument("runs", help="CSV, TSV or Parquet file of training runs")
    p.add_argument("--law", default="chinchilla", help=_law_help())
    p.add_argument("--likelihood", default=None, choices=["gaussian", "student_t", "huber"],
                   help="noise family on the log loss (default: the law's own; see its "
                   "module's docstring)")
    p.add_argument("--out", required=True, help="output .nc file")
    p.add_argument(
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="a law option, repeatable (e.g. --option loss_floor=true for isoflop, "
        "--option fence=None to keep a sweep's far-out runs; true/false/None as words; "
        "comma-separated numbers as a list, e.g. --option optima_drift=0.5,0.3 for sweep; an "
        "option that takes a dict only from Python: bl.fit(..., law_options={...}))",
    )
    p.add_argument(
        "--prior",
        action="append",
        metavar="NAME=DIST",
        help="replace the prior of a parameter the law samples, repeatable: a numpyro "
        "distribution with numbers, quoted for the shell, e.g. --prior 'alpha=Beta(20, 80)' "
        "(as bl.fit(priors=...); group_sd for a grouped fit; recorded in the fit)",
    )
    p.add_argument(
        "--no-discrepancy",
        action="store_true",
        help="do not prepare the model discrepancy before saving (a quick fit; the first "
        "new_run prediction from the file then computes it)",
    )
    p.add_argument(
        "--screen", default="warn", choices=list(SCREEN_ACTIONS),
        help="runs more than --screen-threshold robust sd off the fitted law: name them and "
        "keep them (warn), exclude them and refit once (exclude; recorded in the fit), or skip "
        "the check (off)",
    )
    p.add_argument(
        "--screen-threshold", type=float, default=None, metavar="SD",
        help=f"the screening threshold in robust sd (default: {SCREEN_THRESHOLD:g})",
    )
    _add_columns(p, shorthand=True)
    _add_exclusion(p)
    _add_sampler(p)
    p.set_defaults(func=cmd_fit)

    p = add("predict", "predict from a saved fit at (N, D) or (N, C)")
    p.add_argument("fit", help="a .nc file written by 'bayeslaws fit'")
    for column, unit in (("N", "parameters"), ("D", "tokens"), ("C", "FLOPs")):
        p.add_argument(f"--{column}", nargs="+", action="extend", default=None, help=unit)
    p.add_argument("--ci", type=_interval_mass, default=0.9, help="central interval mass")
    p.add_argument("--kind", default="mean", choices=["mean", "new_run"],
                   help="the law's uncertainty (mean) or one new run's (new_run)")
    p.add_argument(
        "--extrapolation",
        default=DEFAULT_METHOD,
        choices=list(METHODS),
        help="model uncertainty carried into the prediction (the fit file holds the default's "
        "state, so it is fast)",
    )
    p.add_argument("--group", default=None,
                   help="a fitted group's label (grouped fits; default: a new group)")
    p.add_argument("--lr", nargs="+", action="extend", default=None,
                   help="learning rate(s) of the planned runs (sweep and hyperparams fits): the "
                   "loss printed (median, lower, upper; loss_* for hyperparams) is then the "
                   "loss of a run trained at the given setting; added columns loss_opt_* (the "
                   "loss at the OPTIMAL lr and batch size), penalty_* (L(lr, B) - L_opt, loss "
                   "units) and rel_penalty_* (L(lr, B) / L_opt - 1) price that setting; a "
                   "hyperparams fit with loss_level=free (its default) gives the loss, loss_opt "
                   "and penalty only at its fitted (N, D) cells (NaN elsewhere, said on stderr)")
    p.add_argument("--batch-size", nargs="+", action="extend", default=None,
                   help="batch size(s) in tokens (with --lr); B_opt is printed in tokens too")
    p.add_argument("--seed", type=_seed, default=0,
                   help="random seed of the new_run noise and new-group draws")
    p.set_defaults(func=cmd_predict)

    p = add("allocate", "compute-optimal N, D and loss at budgets C (FLOPs)")
    p.add_argument("fit", help="a loss-surface or isoflop fit (.nc)")
    p.add_argument("--C", nargs="+", action="extend", required=True, help="budgets in FLOPs")
    p.add_argument("--ci", type=_interval_mass, default=0.9, help="central interval mass")
    p.add_argument("--near-optimal", action="store_true",
                   help="also list the near-optimal sizes (default tolerance)")
    p.add_argument("--tolerance", type=float, default=None,
                   help="near-optimal tolerance (fraction of --relative-to; implies "
                   "--near-optimal); None: 5%% of the reducible loss")
    p.add_argument("--relative-to", default=None, choices=["reducible", "total"],
                   help="the tolerance is a fraction of the reducible loss (L_opt minus the "
                   "law's floor; the default) or of the total loss; implies --near-optimal")
    p.add_argument("--prob", type=float, default=None,
                   help="probability for the near-optimal band, in (0, 1) (default: 0.9); "
                   "implies --near-optimal")
    p.add_argument("--span-decades", type=float, default=None,
                   help="the near-optimal sizes searched: within this many decades of the "
                   "median N_opt (default: 1.5); implies --near-optimal")
    p.add_argument("--group", default=None,
                   help="a fitted group's label (grouped fits; default: a new group)")
    p.add_argument(
        "--extrapolation", default=DEFAULT_METHOD, choices=list(METHODS),
        help="model uncertainty carried into N_opt, D_opt and L_opt beyond the fitted range "
        "(as bl.optimal_allocation(extrapolation=...); 'drift' or 'model' carry the risk that "
        "the law bends out there into the intervals)",
    )
    p.set_defaults(func=cmd_allocate)

    p = add("candidates", "generate candidate runs (isoFLOP lines, LR x batch sweeps) as CSV")
    p.add_argument("fit", help="a .nc file written by 'bayeslaws fit'")
    p.add_argument("--out", required=True, help="output CSV")
    _add_generation(p)
    p.add_argument("--group", default=None,
                   help="a fitted group's label: the isoFLOP lines (LR x batch sweeps) centre on "
                   "its N_opt (eta_opt, B_opt) (grouped fits; default: a new group's), and the CSV "
                   "gets a group column with it, which 'bayeslaws design' reads (the runs are "
                   "valued as that group's); give design the same --group for a target of that "
                   "group")
    p.set_defaults(func=cmd_candidates)

    p = add("design", "the next runs that most narrow a target, per FLOP")
    p.add_argument("fit", help="a .nc file written by 'bayeslaws fit'")
    p.add_argument("--candidates", default=None,
                   help="CSV of candidate runs (N, D or C, ...); or generate them below")
    p.add_argument("--loss", nargs=2, metavar=("N", "D"), help="target: loss at (N, D)")
    p.add_argument("--nopt", nargs="+", action="extend", metavar="C",
                   help="target: N_opt at budget(s) C")
    p.add_argument("--hparams", nargs=2, metavar=("N", "D"), help="target: eta_opt, B_opt")
    p.add_argument("--k", type=_positive_int, default=3, help="number of runs (units) in the batch")
    p.add_argument("--cost", default="flops", help="'flops', a candidates column, or 'none'")
    p.add_argument("--ci", type=_interval_mass, default=0.9,
                   help="central interval mass of the widths")
    p.add_argument("--seed", type=_seed, default=0, help="random seed")
    p.add_argument("--plot", default=None,
                   help="also draw the ranking of each candidate alone, batch marked, to this file")
    p.add_argument("--out", default=None, metavar="PICKS.csv",
                   help="also write every run of the picked units to this CSV, one row per run "
                   "to train: pick (the unit's place in the batch), unit, N, D, C and, for LR x "
                   "batch sweeps, lr and batch_size (tokens)")
    p.add_argument("--group", default=None,
                   help="a fitted group's label: the target and the candidates are that group's "
                   "(grouped fits; default: a new group)")
    p.add_argument("--model", default=None, choices=list(METHODS),
                   help="the extrapolation the design predicts under (default: the law's; "
                   "'drift', distance-aware, for a loss surface such as chinchilla; 'none' for "
                   "laws whose new points carry their own scatter, such as sweep and "
                   "hyperparams; 'gp' or 'none' value runs under the fitted law's optimum, as "
                   "allocate reports it)")
    p.add_argument("--estimator", default="gaussian", choices=["gaussian", "reweighted"],
                   help="the design value: 'gaussian' (linearised, fast) or 'reweighted' "
                   "(importance reweighting of the draws; for LR x batch sweeps aimed at "
                   "eta_opt or B_opt, --hparams; needs a target)")
    _add_columns(p)
    _add_generation(p)
    p.set_defaults(func=cmd_design)

    p = add("plot", "draw a figure from a saved fit")
    p.add_argument("fit", help="a .nc file written by 'bayeslaws fit'")
    p.add_argument("--kind", required=True, choices=PLOT_KINDS, help="which figure")
    p.add_argument("--out", required=True,
                   help="image file (.png, .pdf, .svg; a name without a suffix gets .png)")
    p.add_argument("--runs", default=None,
                   help="fan, bowls: a run table to draw (default: the fit's own training "
                   "runs); the column and exclusion options below read it")
    p.add_argument("--C", nargs="+", action="extend", default=None,
                   help="budgets (isoflop, n_opt)")
    p.add_argument("--target", nargs=2, default=None, metavar=("N", "D_OR_C"),
                   help="fan: mark a run at N (parameters) and D (tokens); N and C (FLOPs) "
                   "for isoflop fits")
    p.add_argument("--fan-kind", default=None, choices=["mean", "new_run"],
                   help="fan: bands of the law (mean, the default) or of one new run")
    p.add_argument("--vars", nargs="+", action="extend", default=None,
                   help="pairs: parameter names")
    p.add_argument("--paper-laws", action="store_true", help="n_opt: overlay Yin et al.'s laws")
    p.add_argument("--group", default=None,
                   help="fan, isoflop, n_opt: a fitted group's label (grouped fits; default: a "
                   "new group)")
    _add_columns(p)
    _add_exclusion(p, EXCLUSION_DRAWN)
    p.set_defaults(func=cmd_plot)

    p = add("report", "a shareable HTML report of a saved fit, figures inline (and as text)")
    p.add_argument("fit", help="a .nc file written by 'bayeslaws fit'")
    p.add_argument("--out", default="report.html", help="the HTML file")
    p.add_argument("--runs", default=None,
                   help="a run table to draw (default: the fit's own); the column and "
                   "exclusion options below read it")
    p.add_argument("--C", nargs="+", action="extend", default=None,
                   help="budgets (FLOPs) for the allocation")
    p.add_argument("--target", nargs=2, action="append", default=None, metavar=("N", "D"),
                   help="predict at (N, D) (or (N, C) for isoflop laws), repeatable")
    p.add_argument("--ci", type=_interval_mass, default=0.9, help="central interval mass")
    p.add_argument("--seed", type=_seed, default=0, help="random seed")
    p.add_argument("--known", nargs="+", action="extend", default=None,
                   metavar="PARAMETER=VALUE",
                   help="known values of parameters (a published fit, a simulation's truth), "
                   "each said to lie inside or OUTSIDE its interval")
    p.add_argument("--known-label", default=None,
                   help="with --known: where the known values come from, e.g. 'Epoch AI 2024' "
                   "(append ':truth' for a simulator's truth; default: published)")
    p.add_argument("--group", default=None,
                   help="a fitted group's label: predictions, allocations and figures for it "
                   "(grouped fits; default: a new group, and the report says so)")
    p.add_argument(
        "--extrapolation", default=None, choices=list(METHODS),
        help=f"with --C: model uncertainty carried into the allocation's N_opt, D_opt, L_opt "
        f"and near-optimal band (as 'bayeslaws allocate --extrapolation'; default: "
        f"{DEFAULT_METHOD}; another is stated in the report; predictions and figures stay "
        "under the default)",
    )
    _add_columns(p)
    _add_exclusion(p, EXCLUSION_DRAWN)
    p.set_defaults(func=cmd_report)

    p = add("repro", "run the paper-reproduction scripts with small draws")
    p.add_argument(
        "--only", nargs="+", action="extend", default=None, metavar="SCRIPT",
        help=f"the scripts to run, of {' '.join(REPRO_SCRIPTS)} (default: "
        f"{' '.join(REPRO_DEFAULT_SCRIPTS)}; epoch and porian need ../shared/data, else skipped)",
    )
    p.add_argument(
        "--draws", type=_repro_draws, default=200,
        help="draws per chain (at least 10). Warm-up: as many iterations in liang, epoch, "
        "hyperparams and yin's joint fits; yin's Chinchilla surface fits warm up for at least "
        "1000 (SURFACE_MIN_WARMUP in yin.py); porian keeps its own warm-up of 500",
    )
    p.add_argument("--out", default="repro_output", help="folder for the copies and results")
    p.set_defaults(func=cmd_repro)

    p = add("demo", "the main job on the bundled (simulated) data set")
    p.add_argument("--out", default="demo_output", help="folder for the report and figures")
    p.add_argument(
        "--route", choices=("joint", "best-cell"), default="joint",
        help="joint: one model (law 'sweep') fitted to every run; best-cell: the baseline, "
        "law 'hyperparams' on every run and a Chinchilla surface on each cell's best run",
    )
    p.add_argument("--target-N", type=float, default=1.07e9, help="target size (parameters)")
    p.add_argument("--target-D", type=float, default=1e10, help="target tokens")
    p.add_argument("--budget", type=float, default=1e22, help="compute budget (FLOPs)")
    p.add_argument("--tolerance", type=float, default=None,
                   help="near-optimal tolerance as a fraction of the reducible loss (None: 5%%)")
    p.add_argument("--html", action="store_true",
                   help="also write report.html (figures inline) for sharing")
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    _add_sampler(p, draws=500)
    p.set_defaults(func=cmd_demo)

    p = add("plan", "the demo's planning report on your own LR x batch sweep (a run table, "
            "fitted here) or on saved fits")  # fmt: skip
    p.add_argument(
        "source", nargs="+", metavar="RUNS_OR_FIT",
        help="a run table (CSV, TSV or Parquet) of an LR x batch sweep: N, D (or C), lr, "
        "batch_size (tokens), loss; fitted by --route and saved into --out. Or saved fits "
        "(.nc): one of law 'sweep' (the joint route), or one of law 'hyperparams' and a "
        "loss-surface fit, in that order (the best-cell route)",
    )
    p.add_argument("--out", default="plan_output",
                   help="folder for report.txt, next_runs.csv (every run of the picks), the "
                   "fits of a run table and the figures")
    p.add_argument(
        "--route", choices=("joint", "best-cell"), default=None,
        help="for a run table: joint (default; one model, law 'sweep', fitted to every run) or "
        "best-cell (law 'hyperparams' on every run and a Chinchilla surface on each cell's "
        "best run); saved fits carry their own",
    )
    p.add_argument("--target-N", type=float, required=True,
                   help="the target run's size (parameters)")
    p.add_argument("--target-D", type=float, required=True, help="the target run's tokens")
    p.add_argument("--budget", type=float, required=True,
                   help="the compute budget (FLOPs, about 6 N D) at which the compute-optimal "
                        "allocation (N_opt, D_opt) is planned and whose N_opt the next runs "
                        "narrow (their isoFLOP lines lie just beyond the fitted runs, never "
                        "above it); not a cap on the next runs' cost: each pick's cost is shown "
                        "beside what it is worth")
    p.add_argument("--tolerance", type=float, default=None,
                   help="near-optimal tolerance as a fraction of the reducible loss (None: 5%%)")
    p.add_argument("--group", default=None,
                   help="the group planned for (required when the runs or fits hold several)")
    p.add_argument("--html", action="store_true",
                   help="also write report.html (figures inline) for sharing")
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    p.add_argument(
        "--option", action="append", metavar="KEY=VALUE",
        help="a law option of the law fitted to every run of a run table (law 'sweep' on the "
        "joint route, 'hyperparams' on the best-cell route), repeatable, as 'bayeslaws fit "
        "--option' (e.g. --option far_above=0.03 --route best-cell, or --option fence=None)",
    )
    p.add_argument(
        "--screen", default=None, choices=list(SCREEN_ACTIONS),
        help="the fits of a run table: name the runs far off the fitted law and keep them "
        "(warn), exclude them and refit once (exclude), or skip the check (off), as "
        "'bayeslaws fit --screen' (default: warn)",
    )
    _add_columns(p)
    _add_exclusion(p)
    _add_sampler(p, draws=500)
    p.set_defaults(func=cmd_plan)
    return parser
