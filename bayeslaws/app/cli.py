"""The ``bayeslaws`` command line. Every subcommand is a thin wrapper over the package API; bad
input ends with one line naming the problem and exit code 2, never a traceback (set
BAYESLAWS_DEBUG=1 to see one). Compiled kernels are kept on disk between runs
(:mod:`bayeslaws.inference.compilation`; ``BAYESLAWS_COMPILATION_CACHE=off`` disables it).

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
        [--out plan_output --route joint|best-cell --group G]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import threading
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
# stdout closed by its reader (``bayeslaws fit ... | head -1``): the files are written by then;
# 141 = 128 + SIGPIPE, the code of a Unix tool ended by a closed pipe (``yes | head``), so that
# ``set -o pipefail`` sees the output cut short, and it is neither bad input (2) nor a bug (1)
EXIT_BROKEN_PIPE = 141
STARTUP_NOTE_S = 3.0  # loading JAX, NumPyro and ArviZ longer than this is announced
PLOT_KINDS = ("fan", "bowls", "isoflop", "n_opt", "pairs")
NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class CLIError(Exception):
    """A problem with the user's input, reported as one line."""


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
        raise kind(f"{message} (see '{self.prog} --help')")

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
                f"{args[at]} before the options"
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


def _floats(values, name: str = "value"):
    if values is None:
        return None
    try:
        return [float(v) for v in values]
    except ValueError:
        raise CLIError(f"--{name} takes numbers, got {' '.join(values)!r}") from None


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


# columns that echo the user's inputs: printed to full precision (131072, not 1.3107e+05)
INPUT_COLUMNS = ("N", "D", "C", "lr", "batch_size")


def _exact(value: float) -> str:
    """The shortest %g text (at least 5 significant figures' form) that reads back as value."""
    for digits in range(5, 18):
        text = f"{value:.{digits}g}"
        if float(text) == value:
            return text
    return repr(value)


def _table(df, echoed=INPUT_COLUMNS) -> str:
    """A result table as text: the ``echoed`` input columns exactly, results (and inputs
    derived from the others, e.g. D from N and C) to 5 significant figures."""
    import pandas as pd

    exact = {c: _exact for c in echoed if c in df and df[c].dtype.kind == "f"}
    with pd.option_context("display.width", 200, "display.max_columns", 40):
        return df.to_string(index=False, float_format="{:.5g}".format, formatters=exact)


# ---- subcommands -------------------------------------------------------------------------------
COLUMNS = ("N", "D", "C", "loss", "lr", "batch_size", "group")  # each has a fit shorthand --N NAME
MAPPED_COLUMNS = (*COLUMNS, "diverged")  # --column takes these (diverged: the runs' flags)


def _key_values(pairs, option: str, form: str) -> dict:
    """``KEY=VALUE`` strings given to ``option`` -> {key: float, or the text if not a number}."""
    out, given = {}, {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key or not value:
            raise CLIError(f"{option} takes {form}, got {pair!r}")
        try:
            read = float(value)
        except ValueError:
            read = value.strip()
        if key in out and out[key] != read:
            raise CLIError(_given_twice(option, key, given[key], pair))
        out[key], given[key] = read, pair
    return out


def _given_twice(option: str, key: str, first: str, second: str) -> str:
    """The message for ``key`` given twice to ``option`` with different values (``first``,
    ``second``: the two KEY=VALUE texts as typed)."""
    return (
        f"{option}: {key!r} is given twice with different values, {first!r} and {second!r}; "
        "give it once"
    )


def _law_options(pairs) -> dict | None:
    """``KEY=VALUE`` strings -> law options (true/false -> bool, none/null -> None, numbers ->
    float), so that an option the package's messages set to None (``fence=None``) can be."""
    options = _key_values(pairs, "--option", "KEY=VALUE")
    flags = {"true": True, "false": False, "none": None, "null": None}
    for key, value in options.items():
        if isinstance(value, str) and value.lower() in flags:
            options[key] = flags[value.lower()]
    return options or None


def _mapping(args) -> dict:
    """Canonical column -> the user's column name, from ``--column CANON=NAME`` (every command
    that reads a table) and the shorthands ``--N NAME``, ... (``fit``)."""
    mapping = {}
    for pair in getattr(args, "column", None) or []:
        canon, sep, name = pair.partition("=")
        canon = canon.strip()
        if not sep or not name:
            raise CLIError(
                f"--column takes CANONICAL=YOUR_NAME (e.g. N='Model Size'), got {pair!r}"
            )
        if canon not in MAPPED_COLUMNS:
            raise CLIError(f"--column {pair!r}: {canon!r} is not one of {list(MAPPED_COLUMNS)}")
        if mapping.get(canon, name) != name:
            raise CLIError(
                f"column {canon!r} is mapped twice: --column {canon}={mapping[canon]} and "
                f"--column {canon}={name}; give one"
            )
        mapping[canon] = name
    for canon in COLUMNS:
        given = getattr(args, f"col_{canon}", None)
        if given is not None:
            if mapping.get(canon, given) != given:
                raise CLIError(
                    f"column {canon!r} is mapped twice: --column {canon}={mapping[canon]} and "
                    f"--{canon} {given}; give one"
                )
            mapping[canon] = given
    return mapping


MAPPING_HINT = (
    "on the command line map your column names with --column N=NAME (columns: "
    + ", ".join(COLUMNS)
    + ")"
)
PRIOR_HINT = (
    "on the command line: bayeslaws fit ... --prior NAME=DIST (e.g. --prior "
    "'alpha=Beta(20, 80)', or --prior 'group_sd=HalfNormal(0.05)' for the groups' spread)"
)
# the sampler settings the package's advice names, and their options: (Python, command line)
SAMPLER_OPTIONS = (
    ("draws=", "--draws N"),
    ("chains=", "--chains N"),
    ("warmup=", "--warmup N"),
    ("dense_mass=True", "--dense-mass true"),
    ("raise target_accept", "--target-accept P (e.g. 0.95)"),
    ("higher target_accept may help", "--target-accept P (e.g. 0.95)"),
)


def _sampler_hint(match: re.Match) -> str:
    """The command-line options of the sampler settings a package message advises."""
    forms = dict.fromkeys(cli for python, cli in SAMPLER_OPTIONS if python in match.string)
    return f"on the command line: {', '.join(forms)}"


def _exclude_rows_hint(match: re.Match) -> str:
    """``runs.exclude(runs.df.index.isin([4, 5]), ...)`` on the command line."""
    rows = " ".join(r.strip().strip("'\"") for r in match.group("rows").split(","))
    return f"on the command line: add --exclude-rows {rows} --exclude-reason TEXT"


CLI_HINTS = (  # (pattern in a package message, its command-line remedy, or match -> remedy)
    (r"not in the table", MAPPING_HINT),
    (r"units=", "on the command line: --units COLUMN=MULTIPLIER (e.g. --units N=millions)"),
    (r"compute_model=", "on the command line: --compute-model K (C = K N D FLOPs)"),
    (r"priors=", PRIOR_HINT),
    ("|".join(re.escape(python) for python, _ in SAMPLER_OPTIONS), _sampler_hint),
    (r"see fit\.diagnostics", "on the command line: bayeslaws report FIT.nc shows the "
     "sampler's health"),
    (r"see fit\.record\.data", "on the command line: bayeslaws report FIT.nc lists them"),
    (r"(?s)^(?!.*--exclude-rows).*?runs\.exclude\(runs\.df\.index\.isin\(\[(?P<rows>[^]]*)\]",
     _exclude_rows_hint),
    (r"(?s)^(?!.*--option ).*?law option (?P<key>\w+)=(?P<value>[^\s,;)]+)",
     lambda m: f"on the command line: --option {m['key']}={m['value']}"),
)  # (the loss column's missing/+inf message names --exclude-rows itself, in both forms)


# Python-only wording of package messages the command line reaches, in its own words (in place)
PYTHON_PHRASES = (
    # next_runs: the candidates' group column and group= disagree (design --group)
    (r"\bbut group=", "but --group "),
    # isoflop_candidates / sweep candidates for a new group (design without --group)
    (r"\band group=None, so\b", "and no --group, so"),
)

# a package remedy given in both forms, "[pass X ](Python: ...; command line: Y)": keep Y
BOTH_FORMS = re.compile(r"[;,]?\s*(?:pass [^;()]*?)?\s*\(Python: [^;]*; command line: ([^)]*)\)")


# the package's remedy for a ';'- or tab-separated file: on the command line, re-save it
SEPARATOR_REMEDY = re.compile(
    r"save it with commas(?P<how>[^,;]*?), or read it with pd\.read_csv\(.*?\) and pass the "
    r"DataFrame"
)
# the package's other remedies that read the file with pandas ("..., or read it with
# pd.read_csv(path, thousands=',') and pass the DataFrame"): on the command line the file is
# to be re-saved, which the remedy before it says
PANDAS_REMEDY = re.compile(r",? or read it with pd\.read_csv\([^)]*\) and pass the DataFrame")
# a column-name shorthand (--N NAME, ...): an option of 'fit' only (elsewhere --C is a budget)
SHORTHAND = re.compile(r"--(" + "|".join(COLUMNS) + r") NAME\b")


def _column_form(remedy: str) -> str:
    """A command-line remedy with the --N NAME, ... shorthands given as --column N=NAME, ...
    (each named once): the form every command that reads a table takes."""
    remedy = SHORTHAND.sub(r"--column \1=NAME", remedy)
    parts = re.split(r",\s*|\s+or\s+", remedy.strip())
    if not all(part.startswith("--column ") for part in parts):
        return remedy
    parts = list(dict.fromkeys(parts))
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} or {parts[-1]}"


def with_cli_hints(message: str, command: str | None = "fit") -> str:
    """A package message as the command line should say it: a remedy the package gives in both
    forms keeps its command-line form only (for a ``command`` other than ``fit``, with the
    --N NAME, ... shorthands as --column N=NAME, ...), and each Python-only remedy gets the
    command-line option appended (unless the message already names that option); a few
    Python-only phrases (:data:`PYTHON_PHRASES`) are said in the command line's words. A file
    with the wrong separator is to be saved with commas: no mapping hint then; another remedy
    that reads the file with pandas (:data:`PANDAS_REMEDY`) is left out."""
    for pattern, words in PYTHON_PHRASES:
        message = re.sub(pattern, words, message)
    separator = SEPARATOR_REMEDY.search(message) is not None
    if separator:
        message = SEPARATOR_REMEDY.sub(r"re-save the file with commas\g<how>", message)
        message = BOTH_FORMS.sub("", message)  # mapping columns would not help
    elif command in (None, "fit"):
        message = BOTH_FORMS.sub(r"; on the command line: \1", message)
    else:
        message = BOTH_FORMS.sub(
            lambda m: f"; on the command line: {_column_form(m.group(1))}", message
        )
    message = PANDAS_REMEDY.sub("", message)  # re-saving the file is the remedy said before
    hints = []
    for pattern, hint in CLI_HINTS:
        match = re.search(pattern, message)
        if match and not (separator and hint == MAPPING_HINT):
            hints.append(hint(match) if callable(hint) else hint)
    methods = EXTRAPOLATION_PHRASE.search(message)
    if methods and command in EXTRAPOLATION_COMMANDS and "--extrapolation" not in message:
        named = [m for m in methods.groups() if m]
        hints.append(f"{HINT_HEAD}{' or '.join(f'--extrapolation {m}' for m in named)}")
    return _joined(message, hints)


# the package's advice to pass extrapolation= (e.g. "extrapolation='drift' or 'model' carries
# that into it"), and the commands that take it as --extrapolation (report: for its allocation)
EXTRAPOLATION_PHRASE = re.compile(r"extrapolation='(\w+)'(?: or '(\w+)')?")
EXTRAPOLATION_COMMANDS = ("predict", "allocate", "report")


HINT_HEAD = "on the command line: "


def _joined(message: str, hints: list) -> str:
    """``message`` and its command-line ``hints`` in one line ("; "-separated; a sentence's
    final period dropped before them), "on the command line: " said once."""
    message = message.rstrip()
    if not hints:
        return message
    said, parts = False, []
    for hint in hints:
        if hint.startswith(HINT_HEAD) and said:
            hint = hint[len(HINT_HEAD):]
        said = said or hint.startswith(HINT_HEAD)
        parts.append(hint)
    if message.endswith(".") and not message.endswith(".."):  # not an ellipsis
        message = message[:-1]
    return "; ".join([message, *parts])


def _units(pairs) -> dict | None:
    """``COLUMN=MULTIPLIER`` strings -> ``load_runs(units=...)`` (numbers or words)."""
    return _key_values(pairs, "--units", "COLUMN=MULTIPLIER (e.g. N=millions)") or None


# load_runs' message for a loss with missing values: "column 'loss' has ..." or, for another
# name, "column 'Final Loss' (loss) has ..."; or a loss logged as +inf (a diverged run), which
# load_runs(allow_missing_loss=True) reads as missing
LOSS_MISSING = re.compile(
    r"(?:column 'loss'|\(loss\)) (?:has missing values|must be finite and positive.*\+inf)"
)


@contextmanager
def _warnings_shown(seen: list, unless=()):
    """Warnings raised in the block are shown as usual (after it, also when it raises), except
    those whose category and text are in ``unless``; ``seen`` gets (category, text) of each
    one raised, shown or not."""
    held: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            try:
                yield
            finally:
                held = list(caught)
    finally:
        said = set(unless)
        for w in held:
            key = (w.category, str(w.message))
            seen.append(key)
            if key not in said:
                warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _read_runs(path: str, args, what: str = "run table"):
    """A run table from a CSV/Parquet file with the command's column mapping and row exclusion
    (``--exclude-rows`` with ``--exclude-reason``, recorded in the table and so in the fit;
    ``--keep-diverged`` keeps runs with a missing or +inf loss, as diverged runs)."""
    import bayeslaws as bl
    from bayeslaws.runs import RunTableError
    from bayeslaws.runs.plausible import no_loss_message

    p = _existing(path, what)
    if p.stat().st_size == 0:
        raise CLIError(f"{what} {path!r} is empty (no header, no rows)")
    options = {**_mapping(args), "units": _units(getattr(args, "units", None))}
    if getattr(args, "compute_model", None) is not None:
        options["compute_model"] = args.compute_model
    if getattr(args, "keep_diverged", False):
        options["allow_missing_loss"] = True  # NaN or +inf losses kept as diverged runs
    if getattr(args, "ignore_column", None):  # left out by load_runs, recorded in its source
        options["ignore_columns"] = args.ignore_column
    command = getattr(args, "command", None)
    first: list = []
    try:
        with _warnings_shown(first):
            runs = bl.load_runs(p, **options)
    except RunTableError as err:
        if not LOSS_MISSING.search(str(err)):
            raise CLIError(with_cli_hints(str(err), command)) from None
        # runs with no loss (missing or +inf): read them, exclude those the user leaves out,
        # and name every one still there; the first load's warnings (rows dropped, ...) are
        # not said again
        try:
            with _warnings_shown([], unless=first):
                runs = bl.load_runs(p, **{**options, "allow_missing_loss": True})
        except RunTableError as other:  # e.g. a loss of 0 or -inf besides
            raise CLIError(with_cli_hints(str(other), command)) from None
        runs = _exclude_rows(runs, args)
        lossless = list(runs.df.index[runs.df["loss"].isna()])
        if lossless:
            excluded = getattr(args, "exclude_rows", None) or []
            still = (
                f", still after --exclude-rows {' '.join(excluded)} (give those rows too)"
                if excluded else ""
            )
            message = no_loss_message(lossless, options.get("loss"), still=still)
            raise CLIError(with_cli_hints(message, command)) from None
        return runs
    return _exclude_rows(runs, args)


def _row_label(text: str):
    try:
        return int(text)
    except ValueError:
        return text


def _exclude_rows(runs, args):
    rows = getattr(args, "exclude_rows", None)
    reason = getattr(args, "exclude_reason", None)
    if not rows:
        if reason:
            raise CLIError("--exclude-reason given without --exclude-rows")
        return runs
    if not reason or not reason.strip():
        raise CLIError(
            "--exclude-rows needs --exclude-reason TEXT (the reason is stored in the fit file)"
        )
    labels = [_row_label(r) for r in rows]
    index = list(runs.df.index)
    unknown = [r for r in labels if r not in index]
    if unknown:
        raise CLIError(
            f"--exclude-rows: no row(s) {unknown} in the table (row labels are the data rows "
            f"counted from 0: {index[0]} to {index[-1]})"
        )
    mask = runs.df.index.isin(labels)
    shown = ", ".join(str(r) for r in labels)
    return runs.exclude(mask, f"{reason.strip()} (rows {shown}; excluded on the command line)")


def _sampler(args) -> dict:
    out = {"chains": args.chains, "warmup": args.warmup, "draws": args.draws, "seed": args.seed}
    if getattr(args, "target_accept", None) is not None:
        out["target_accept"] = args.target_accept
    dense = getattr(args, "dense_mass", "law")
    if dense != "law":
        out["dense_mass"] = dense == "true"
    return out


def _priors(texts) -> dict | None:
    """``--prior NAME=DIST`` strings -> ``bl.fit(priors=...)`` (read by
    :func:`bayeslaws.laws.priors.parse_prior`; whether the law samples NAME, bl.fit checks);
    a NAME given twice is an error naming it."""
    from bayeslaws.laws.priors import parse_prior

    priors = {}
    for text in texts or []:
        name, prior = parse_prior(text)
        if name in priors:
            raise CLIError(f"--prior {name}=... is given twice; give each parameter's prior once")
        priors[name] = prior
    return priors or None


def cmd_fit(args) -> int:
    import bayeslaws as bl
    from bayeslaws.inference.fit import refuse_non_fit
    from bayeslaws.laws import resolve_law
    from bayeslaws.posterior import extrapolation

    options = _law_options(args.option)
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
    _refuse_suffix(args.out, (".nc",), "a fit is saved as netCDF")
    priors = _priors(args.prior)  # an unreadable prior fails before the table is read
    runs = _read_runs(args.runs, args)
    sampler = _sampler(args)
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
    replacing = _replacing_fit(Path(args.out))
    path = fit.save(args.out)  # saved before anything is printed: a closed pipe loses no fit
    print(fit)
    print(fit.summary().to_string(float_format="{:.4g}".format))
    saved = f" (with the model discrepancy {method!r})" if prepare else ""
    print(f"saved {path}{saved}{replacing}")
    return 0


def _refuse_suffix(path: str, suffixes: tuple, what: str) -> None:
    """Refuse an ``--out`` file whose name does not end in one of ``suffixes`` (any case), so
    that a fit is never written into fitout.csv nor a report into rep.pdf; ``what``: what the
    file holds, for the message."""
    out = Path(path)
    if out.suffix.lower() in suffixes:
        return
    stem = out.with_suffix("") if out.suffix else out
    named = " or ".join(suffixes)
    raise CLIError(
        f"--out {path!r}: {what}: give a file ending in {named} (e.g. "
        f"{str(stem) + suffixes[0]!r}), so that its name says what it holds"
    )


def _replacing_fit(path: Path) -> str:
    """What ``fit --out`` replaces, as words after "saved PATH": for a saved fit at ``path``
    " (replacing an earlier fit: 245 runs, law 'chinchilla')", for another existing file
    " (replacing the earlier file)", else ""."""
    from bayeslaws.inference.fit import saved_fit_summary

    if not path.is_file():
        return ""
    summary = saved_fit_summary(path)
    return f" (replacing an earlier fit: {summary})" if summary else " (replacing the earlier file)"


def _figure_path(path: str) -> Path:
    """The file a figure named ``path`` is written to: matplotlib adds its default format's
    suffix (.png) to a name without one, as :func:`bayeslaws.plot.save` reports."""
    import matplotlib

    out = Path(path)
    if out.suffix:
        return out
    return out.with_name(f"{out.name}.{matplotlib.rcParams['savefig.format']}")


def _check_figure_format(path: str, option: str) -> None:
    """Refuse, before any work, a figure file whose suffix matplotlib cannot write (``--plot
    R2.csv``; a name without a suffix gets matplotlib's default format: :func:`_figure_path`),
    and an existing file there that is not an image of that format (``--out thesis.pdf`` over
    a thesis: :func:`~bayeslaws.app.report.refuse_non_figure`); an earlier figure may be
    replaced."""
    import matplotlib
    from matplotlib.backend_bases import FigureCanvasBase

    from .report import refuse_non_figure

    suffix = Path(path).suffix
    formats = FigureCanvasBase.get_supported_filetypes()  # format -> description
    if suffix and suffix[1:].lower() not in formats:
        default = matplotlib.rcParams["savefig.format"]
        raise CLIError(
            f"{option} {path!r}: matplotlib cannot write {suffix!r} figures; give an image file "
            f"ending in one of {', '.join('.' + f for f in sorted(formats))} (a name without a "
            f"suffix gets .{default})"
        )
    refuse_non_figure(
        _figure_path(path),
        f"it was not overwritten: move it, or give {option} another path",
        "an earlier figure",
    )


def _wrote_figure(fig, path: str, what: str = "") -> str:
    """Save ``fig`` to ``path`` (:func:`bayeslaws.plot.save`) and say so: "wrote FIG.png
    (replacing the earlier file)" when one was there; ``what``: words after the path."""
    from bayeslaws import plot

    out = _figure_path(path)
    replacing = " (replacing the earlier file)" if out.is_file() else ""
    return f"wrote {plot.save(fig, out)}{what}{replacing}"


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
        extrapolation=args.extrapolation,
        group=args.group,
        seed=args.seed,
        _new_group_noted=True,  # said below (_say_new_group)
        **{
            name: _floats(values, name.replace("_", "-"))
            for name, values in (("lr", args.lr), ("batch_size", args.batch_size))
            if values is not None
        },
    )
    _say_new_group(fit, args.group)
    given = [c for c in INPUT_COLUMNS if getattr(args, c) is not None]  # the others derived
    print(_table(table, echoed=given))
    _say_range(fit, args.group, table)
    if "rel_penalty_median" in table:
        print(PENALTY_NOTE, file=sys.stderr)
    note = _missing_note(table, given, fit.law.missing_values_hint)
    if note:
        note += _nearest_cells_note(fit, args.group, table)
    for line in (note, _batch_note(table)):
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
        f"row {i}: nearest fitted cell N {_exact(cn)}, D {_exact(cd)} (pass --N {_exact(cn)} "
        f"--D {_exact(cd)})"
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


# batch sizes are in tokens throughout (runs, fits, predictions, candidates)
BATCH_COLUMN = re.compile(r"^(batch_size|B_opt_\w+)$|B_opt\(")


def _batch_note(table) -> str:
    """A line saying that the table's batch sizes (a batch_size or B_opt column) are in tokens;
    "" when it has none."""
    if not any(BATCH_COLUMN.search(str(c)) for c in table.columns):
        return ""
    return (
        "note: batch sizes (batch_size, B_opt) are in tokens (sequences x sequence length); "
        "learning rates as in the run table"
    )


# under a table priced at --lr/--batch-size: what its loss and penalty columns hold
PENALTY_NOTE = (
    "note: the loss columns (median, mean, lower, upper for a sweep fit; loss_* for hyperparams) "
    "are the loss of a run trained at the given --lr/--batch-size; loss_opt_* is the loss at "
    "the OPTIMAL lr and batch size, not at the given --lr/--batch-size; penalty_* = L(lr, B) - "
    "L_opt (loss units) and rel_penalty_* = L(lr, B) / L_opt - 1 are the cost of training at "
    "the given setting"
)


def _say_new_group(fit, group) -> None:
    """A grouped fit asked without --group answers for a new group: say so on stderr (with
    the package's note when the groups' spread depends on its prior, and how to set that
    prior on the command line)."""
    from bayeslaws.posterior.draws import spread_prior_note

    if group is None and len(fit.groups) > 1:
        note = spread_prior_note(fit)  # '' unless the groups' spread is mostly its prior
        print(
            with_cli_hints(
                f"note: a fit of {len(fit.groups)} groups ({', '.join(map(str, fit.groups))}) "
                f"asked without --group: the answer is for a NEW group (wider); {note}--group "
                "NAME for a fitted one",
                _COMMAND[0],
            ),
            file=sys.stderr,
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
    fit = _load_fit(args.fit)
    budgets = _floats(args.C, "C")
    table = bl.optimal_allocation(
        fit, C=budgets, ci=args.ci, group=args.group, extrapolation=args.extrapolation,
        _new_group_noted=True,
    )  # fmt: skip
    _say_new_group(fit, args.group)
    print(_table(table))
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


def _design_target(args):
    from bayeslaws import design

    given = [t for t in ("loss", "nopt", "hparams") if getattr(args, t) is not None]
    if len(given) > 1:
        raise CLIError(f"give at most one target (--loss, --nopt or --hparams), got {given}")
    group = getattr(args, "group", None)
    if args.loss is not None:
        N, D = _floats(args.loss, "loss")
        return design.Loss(N=N, D=D, group=group)
    if args.nopt is not None:
        return design.NOpt(C=_floats(args.nopt, "nopt"), group=group)
    if args.hparams is not None:
        N, D = _floats(args.hparams, "hparams")
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
                C=_floats(args.isoflop, "isoflop"), n_per_budget=args.n_per_budget,
                spread_decades=args.spread_decades, fit=fit, compute_model=model,
                group=args.group,
            )
        )
    if args.sweep:
        cells = [_floats(pair, "sweep") for pair in args.sweep]
        parts.append(
            design.hyperparameter_candidates(
                [c[0] for c in cells], [c[1] for c in cells], fit=fit, n_lr=args.n_lr,
                n_batch=args.n_batch, lr_step=args.lr_step, batch_step=args.batch_step,
                lr=_floats(args.lr_grid, "lr-grid"),
                batch_size=_floats(args.batch_grid, "batch-grid"), compute_model=model,
                # both grids given: nothing is centred (--group is then the target's alone)
                group=args.group if args.lr_grid is None or args.batch_grid is None else None,
            )
        )
    if not parts:
        return None
    # isoFLOP runs next to sweeps have no unit label: the design makes each its own unit
    return pd.concat(parts, ignore_index=True)


CANDIDATE_COLUMNS = ("N", "D", "C", "lr", "batch_size")


def _candidate_units(cands, args):
    """The candidates with ``--units`` applied (each named column multiplied by its unit, as
    ``load_runs(units=...)``) and the ``--compute-model`` recorded for their C (as the
    generators record theirs: :func:`bayeslaws.design.candidates.with_model`)."""
    import pandas as pd

    from bayeslaws.design.candidates import with_model
    from bayeslaws.runs import RunTableError
    from bayeslaws.runs.compute import as_compute_model
    from bayeslaws.runs.units import unit_factor

    for column, unit in (_units(getattr(args, "units", None)) or {}).items():
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
    """The candidates file ``path`` (CSV) with the ``--column`` mapping and ``--units``; its
    N, D, C, lr and batch_size read as numbers by the run tables' check (a value that is not
    a number, e.g. '4.4B', is named with its row)."""
    import pandas as pd

    from bayeslaws.runs import RunTableError
    from bayeslaws.runs.columns import leave_out_columns
    from bayeslaws.runs.reading import to_numeric

    p = _existing(path, "candidates file")
    if p.stat().st_size == 0:
        raise CLIError(f"candidates file {path!r} is empty")
    try:
        cands = pd.read_csv(p)
    except (ValueError, UnicodeDecodeError) as err:
        raise CLIError(f"could not parse {str(p)!r} as a CSV table: {err}") from None
    try:  # as load_runs(ignore_columns=) leaves them out of a run table
        drop, mapping = leave_out_columns(
            getattr(args, "ignore_column", None) or [], cands.columns, _mapping(args),
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


# the columns 'bayeslaws candidates' writes (isoFLOP lines: N, D, C; sweeps add lr, batch_size
# and unit; --group adds group): a file whose header names only these may be replaced, as an
# earlier candidates CSV
CANDIDATES_FILE_COLUMNS = (*CANDIDATE_COLUMNS, "unit", "group")


def _refuse_non_candidates(out: Path, fit_path: str) -> None:
    """Refuse ``--out`` when it is the fit file itself, or an existing file that is not an
    earlier candidates CSV (its header made of :data:`CANDIDATES_FILE_COLUMNS`, with N, D and
    C: not a run table, a picks CSV, a fit, anything else), so that nothing is overwritten but
    an earlier candidates file."""
    from .report import refuse_foreign_csv

    if out.resolve() == Path(fit_path).resolve():
        raise CLIError(
            f"--out {str(out)!r} is the fit file itself: give the candidates their own .csv file"
        )
    refuse_foreign_csv(
        out, CANDIDATES_FILE_COLUMNS, "an earlier candidates CSV",
        "write the candidates to a new .csv file or over earlier candidates",
        required=CANDIDATE_COLUMNS[:3], unreadable="write the candidates to another path",
        error=CLIError,
    )  # fmt: skip


def cmd_candidates(args) -> int:
    out = Path(args.out)
    _refuse_non_candidates(out, args.fit)  # before reading the fit: a run table is never lost
    fit = _load_fit(args.fit)
    _refuse_isoflop_for(fit, args, "candidates")  # isoFLOP points a sweep law cannot value
    cands = _generate_candidates(fit, args)
    if cands is None:
        raise CLIError("give --isoflop C ... and/or --sweep N D (repeatable)")
    if args.group is not None:  # the runs' group, read by 'bayeslaws design' (next_runs)
        cands["group"] = str(args.group)
    out.parent.mkdir(parents=True, exist_ok=True)
    replacing = " (replacing the earlier file)" if out.is_file() else ""
    cands.to_csv(out, index=False)
    units = cands["unit"].nunique() if "unit" in cands else len(cands)
    tokens = "; batch_size in tokens" if "batch_size" in cands else ""
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


WIDTH_UNITS = {"N_opt": "params", "eta_opt": "learning rate", "B_opt": "tokens",
               "loss_opt": "loss", "L": "loss", "loss": "loss"}  # fmt: skip


def _design_units(plan, cost, ci: float) -> str:
    """The units of the design table's columns: info in nats, FLOPs, and the widths' central
    ``ci`` intervals on each target quantity's natural scale."""
    cost_unit = "FLOPs" if cost in (None, "flops") else f"the units of column {cost!r}"
    text = (
        f"units: info (and info_se) in nats; flops in FLOPs; cost in {cost_unit}; "
        "info_per_flop in nats/FLOP"
    )
    names = {c.split("[", 1)[1].split("(", 1)[0] for c in plan.columns if c.startswith("width_")}
    if names:
        scales = ", ".join(f"{n} in {WIDTH_UNITS.get(n, 'natural units')}" for n in sorted(names))
        text += f"; widths: central {ci:g} intervals on the natural scale ({scales})"
    return text


def cmd_design(args) -> int:
    from bayeslaws import design

    from .plan import picked_runs

    if args.out:
        _refuse_non_picks(Path(args.out), args)  # before any work: nothing lost, no work lost
    fit = _load_fit(args.fit)
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
    with _candidate_errors(args.candidates), _warnings_shown(seen):
        plan = design.next_runs(fit, cands, target, k=args.k, **common)
    _say_new_group(fit, args.group)
    runs = picked_runs(fit, cands, plan)  # every run of the picks, each with its setting
    wrote = []  # written before anything is printed: a closed pipe loses no file
    if args.out:
        replacing = " (replacing the earlier file)" if Path(args.out).is_file() else ""
        runs.to_csv(args.out, index=False)
        wrote.append(
            f"wrote {args.out}{replacing}: the {len(runs)} runs of the {len(plan)} picks, one row "
            "per run to train (pick = its unit's place in the batch)"
        )
    if args.plot:
        from bayeslaws import plot

        with _warnings_shown([], unless=seen):
            ranked = design.rank_candidates(fit, cands, target, **common)
        score = "info" if cost is None else None
        fig = plot.design_ranking(ranked, score=score, picks=plan, simulated=fit)
        wrote.append(_wrote_figure(fig, args.plot, " (each candidate alone; the batch marked)"))
    model = design.discrepancy.design_method(args.model, fit)
    print(f"the batch (picked together, each given the earlier picks; widths cumulative; "
          f"predictions under the extrapolation {model!r}):")
    print(_table(_unit_settings(plan, runs)))
    print(_design_units(plan, cost, args.ci))
    if "n_runs" in plan and bool((plan["n_runs"] > 1).any()):
        print(
            "lr and batch_size of a unit of several runs (an LR x batch sweep) are the range of "
            "its runs' settings; each run is a row of "
            + (args.out if args.out else "the file 'bayeslaws design ... --out PICKS.csv' writes")
        )
    if _batch_note(plan):
        print(_batch_note(plan), file=sys.stderr)
    for line in wrote:
        print(line)
    return 0


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


def _unit_settings(plan, runs):
    """The design's batch (one row per picked unit) with the lr and batch_size of a unit of
    several runs given as the range of its runs' settings ("8.94e-05..0.000453 (5 values)",
    :func:`~bayeslaws.app.plan_report.setting_range`; ``runs``: every run of the picks,
    :func:`~bayeslaws.app.plan.picked_runs`), not the first run's, which would read as the
    setting to use; a unit of one run keeps its own."""
    from .plan_report import setting_range

    shown = plan.copy()
    for column, unit in (("lr", ""), ("batch_size", "tokens")):
        if column not in shown or column not in runs:
            continue
        ranges = [setting_range(runs.loc[runs["pick"] == rank, column], unit)
                  for rank in shown["rank"].astype(int)]  # fmt: skip
        if any(".." in text for text in ranges):
            shown[column] = ranges
    return shown


def _refuse_non_picks(out: Path, args) -> None:
    """Refuse ``design --out`` when it is the fit or the candidates file, or an existing file
    that is not an earlier picks CSV (its header made of
    :data:`~bayeslaws.app.plan.PICKED_RUN_COLUMNS`, with ``pick``: a candidates CSV is not one),
    before any work: nothing is overwritten but an earlier list of picks."""
    from ..inference.fit import check_output_path
    from .plan import PICKED_RUN_COLUMNS
    from .report import refuse_foreign_csv

    check_output_path(out)
    for option, given in (("the fit file", args.fit), ("the --candidates file", args.candidates)):
        if given is not None and out.resolve() == Path(given).resolve():
            raise CLIError(f"--out {str(out)!r} is {option} itself: give the picks their own "
                           ".csv file")  # fmt: skip
    refuse_foreign_csv(
        out, PICKED_RUN_COLUMNS, "an earlier picks CSV",
        "write the picks to a new .csv file or over earlier picks",
        required=("pick",), unreadable="write the picks to another path", error=CLIError,
    )  # fmt: skip


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
# options that read the table given by --runs, and do nothing without it
RUNS_OPTIONS = (
    ("--column", "column"),
    ("--units", "units"),
    ("--compute-model", "compute_model"),
    ("--ignore-column", "ignore_column"),
    ("--exclude-rows", "exclude_rows"),
    ("--exclude-reason", "exclude_reason"),
    ("--keep-diverged", "keep_diverged"),
)


def _given(args, dest: str) -> bool:
    return getattr(args, dest, None) not in (None, False)


def _refuse_unused(args, options=()) -> None:
    """One line naming the first option the command would ignore: one of ``options`` (option,
    dest, kinds) that the chosen ``--kind`` does not use, or a table option without --runs."""
    for option, dest, kinds in options:
        if _given(args, dest) and args.kind not in kinds:
            raise CLIError(f"{option} applies to --kind {' and '.join(kinds)} only")
    if args.runs is None:
        for option, dest in RUNS_OPTIONS:
            if _given(args, dest):
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


def cmd_plot(args) -> int:
    from bayeslaws import plot

    _refuse_unused(args, PLOT_OPTIONS)
    fit = _load_fit(args.fit)
    runs = None
    if args.runs is not None:
        runs = _read_runs(args.runs, args)
    elif args.kind == "bowls":
        runs = fit.training_runs()
    budgets = _floats(args.C, "C")
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
            raise CLIError("--kind isoflop needs budgets: --C 1e19 1e20 ...")
        fig = plot.isoflop(fit, budgets, group=args.group)
    elif args.kind == "n_opt":
        from ..runs.published import yin_n_opt_laws

        laws = yin_n_opt_laws() if args.paper_laws else None
        fig = plot.n_opt(fit, paper_laws=laws, budgets=budgets, group=args.group)
    else:
        fig = plot.pairs(fit, args.vars)
    print(_wrote_figure(fig, args.out))
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
    from .report import (
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
    _refuse_suffix(args.out, (".html", ".htm"), "the report is an HTML page")
    with recorded_warnings() as loaded:  # e.g. a fit of other law code: said in the report too
        fit = _load_fit(args.fit)
        runs = _read_runs(args.runs, args) if args.runs is not None else None
    targets = [tuple(_floats(t, "target")) for t in args.target or []]
    label, kind = _known_label(args.known_label)
    known = {}
    for pair in args.known or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CLIError(f"--known takes PARAMETER=VALUE, got {pair!r}")
        known[name] = (label, _floats([value], "known")[0], kind)
    names = set(fit.summary().index)
    unknown = sorted(set(known) - names)
    if unknown:
        raise CLIError(f"--known: no parameter(s) {unknown} in this fit; it has {sorted(names)}")
    figure_dir = out.parent / f"{out.stem}_figures"
    existed = list(figure_dir.iterdir()) if figure_dir.is_dir() else []
    report = fit_report(
        fit, runs=runs, budgets=_floats(args.C, "C"), targets=targets or None, ci=args.ci,
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
    stale = _stale_files(report.figure_paths(), existed)
    if stale:
        print(
            f"note: {figure_dir.resolve()} also holds {', '.join(stale)}, left from an earlier "
            "run: not part of this report (its page does not show them; not deleted)",
            file=sys.stderr,
        )
    return 0


def _stale_files(paths: list, existed: list) -> list[str]:
    """The names of the files of ``existed`` (a report's figure folder before it was drawn)
    still there and not among the report's figures ``paths``: left from an earlier run."""
    shown = {Path(p).resolve() for p in paths}
    return sorted(
        Path(p).name for p in existed if Path(p).is_file() and Path(p).resolve() not in shown
    )


def cmd_repro(args) -> int:
    from .repro import run_repro

    status = run_repro(args.out, only=args.only, draws=args.draws)
    for name, s in status.items():
        print(f"{name:12s} {s}")
    return EXIT_FAILED if any(s.startswith("failed") for s in status.values()) else 0


def _output_folder(path: str, option: str = "--out") -> Path:
    """``path`` as a folder to write into: refused in one line when it, or a folder above it,
    is an existing file (mkdir would say only '[Errno 17] File exists')."""
    out = Path(path)
    for place in (out, *out.parents):
        if place.exists() and not place.is_dir():
            where = "" if place == out else f" ({str(place)!r}, above it)"
            raise CLIError(
                f"{option} {path!r} names a folder to write into, but{where or ' it'} is an "
                "existing file: give a new or existing folder"
            )
    return out


def cmd_demo(args) -> int:
    from .demo import run_demo

    run_demo(
        _output_folder(args.out),
        **_sampler(args),
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


def cmd_plan(args) -> int:
    """The demo's planning (:func:`~bayeslaws.app.demo.run_planning`, the code path of
    ``bayeslaws demo``) on the user's run table, fitted here, or on saved fits."""
    from .demo import run_planning
    from .report import recorded_warnings, warning_lines

    fit_files = [s for s in args.source if Path(s).suffix.lower() == ".nc"]
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
    out = _output_folder(args.out)
    sampler = {k: v for k, v in _sampler(args).items() if k != "seed"}
    runs = fits = None
    with recorded_warnings() as loaded:  # said on stderr and in the report's Warnings section
        if fit_files:
            for option, dest in TABLE_OPTIONS:
                if _given(args, dest):
                    raise CLIError(f"{option} applies to a run table, not to saved fits")
            if args.route is not None:
                raise CLIError(
                    "--route applies to a run table: saved fits carry their own (one fit of "
                    "law 'sweep': joint; a 'hyperparams' fit and a loss-surface fit: best-cell)"
                )
            fits = tuple(_load_fit(f) for f in fit_files)
        else:
            runs = _read_runs(tables[0], args)
    run_planning(
        out, runs, fits, sampler=sampler, seed=args.seed, route=args.route or "joint",
        target_N=args.target_N, target_D=args.target_D, budget=args.budget,
        tolerance=args.tolerance, group=args.group, figures=not args.no_figures, html=args.html,
        warnings_before=warning_lines(loaded),
        whose=f"the range of the runs in {tables[0]!r}" if tables else "the fitted range",
    )  # fmt: skip
    return 0


# ---- parser ------------------------------------------------------------------------------------
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
    g = parser.add_argument_group("NUTS sampler")
    g.add_argument("--chains", type=_positive_int, default=chains, help="chains")
    g.add_argument(
        "--warmup", type=_positive_int, default=draws, help="warm-up iterations per chain"
    )
    g.add_argument("--draws", type=_positive_int, default=draws, help="draws per chain")
    g.add_argument("--seed", type=_seed, default=0, help="random seed")
    g.add_argument(
        "--target-accept",
        type=float,
        default=None,
        help="NUTS target acceptance probability (default: the law's own, 0.8, or 0.95 for "
        "law sweep; raise it after divergences)",
    )
    g.add_argument(
        "--dense-mass",
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


def _law_forms() -> dict:
    """Law name -> form for --law's help: this process's registry when the laws are loaded
    (main() called from Python, after a register()), else the built-ins (a fresh command line
    has registered nothing else), without loading them."""
    if "bayeslaws.laws" not in sys.modules:
        return BUILTIN_LAWS
    from ..laws import LAWS

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
        epilog="\n".join(__doc__.splitlines()[4:]),
    )
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
        "--option fence=None to keep a sweep's far-out runs; true/false/None as words)",
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
    _add_columns(p)
    _add_exclusion(p)
    _add_sampler(p, draws=500)
    p.set_defaults(func=cmd_plan)
    return parser


_COMMAND = [None]  # the running subcommand, for the hints of warnings and errors


def _bad_input(err: BaseException) -> bool:
    """Whether ``err`` (caught by :func:`main` as bad input) is the user's input error: any but
    a TypeError or KeyError (a ValueError, a missing file, a CLIError), and those two only when
    the package raised them on purpose (:class:`~bayeslaws.runs.checks.ArgumentTypeError`,
    :class:`~bayeslaws.runs.checks.UnknownNameError`). Any other TypeError or KeyError, e.g.
    from inside pandas, is a bug: not the user's to fix."""
    from ..runs.checks import ArgumentTypeError, UnknownNameError

    if not isinstance(err, TypeError | KeyError):
        return True
    return isinstance(err, ArgumentTypeError | UnknownNameError)


def _unexpected(command: str, err: BaseException) -> None:
    """One line on stderr for an error that is no input error: a bug, said to be unexpected,
    with how to see its traceback."""
    print(
        f"{command}: unexpected error ({type(err).__name__}: {err}); rerun with "
        "BAYESLAWS_DEBUG=1 for the traceback",
        file=sys.stderr,
    )


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    return f"warning: {with_cli_hints(str(message), _COMMAND[0])}\n"


@contextmanager
def _starting(after: float = STARTUP_NOTE_S):
    """Loading the numerical libraries (JAX, NumPyro, ArviZ) takes seconds on a busy machine:
    if it is still going after ``after`` seconds, say so on stderr (the same prefix and
    ``BAYESLAWS_QUIET`` rule as :mod:`bayeslaws.inference.progress`, which cannot be imported
    before those libraries)."""
    loaded = "bayeslaws.posterior.extrapolation" in sys.modules  # main() called in-process
    if loaded or os.environ.get("BAYESLAWS_QUIET", "") not in ("", "0"):
        yield
        return

    started = time.perf_counter()
    announced = threading.Event()

    def say(text):
        try:
            print(f"bayeslaws: loading JAX, NumPyro and ArviZ{text}", file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass

    def announce():
        announced.set()
        say(" ...")

    timer = threading.Timer(after, announce)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()
        if announced.is_set():
            say(f": done in {time.perf_counter() - started:.1f} s")


# the figure file options, checked before any work: command -> (dest, option)
FIGURE_OPTIONS = {"plot": ("out", "--out"), "design": ("plot", "--plot")}


def _silence_stdout() -> None:
    """After a BrokenPipeError on stdout: point its file descriptor at os.devnull, so that
    Python's flush at exit writes nowhere instead of failing again ("Exception ignored ...
    BrokenPipeError"; the Python docs' note on SIGPIPE). A stdout without a descriptor (a test's
    stand-in) is left as it is."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _unrecognized(parser, command: str, unknown: list, argv=None) -> str:
    """The message for arguments the subcommand ``command`` does not take (``unknown``), with
    the closest option it does take for each unknown option, and its help; tokens given before
    the subcommand's name (in ``argv``, default ``sys.argv[1:]``) are the top level's, named
    with ``bayeslaws --help``."""
    import difflib

    argv = list(sys.argv[1:] if argv is None else argv)
    at = argv.index(command) if command in argv else 0
    before = [t for t in unknown if t in argv[:at]]
    if before:
        return (
            f"unrecognized arguments: {' '.join(before)} (given before the command "
            f"{command!r}; see 'bayeslaws --help')"
        )

    subcommands = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    ).choices
    options = [o for o in subcommands[command]._option_string_actions if o.startswith("--")]
    near = []
    for token in unknown:
        name = token.split("=", 1)[0]
        close = (
            difflib.get_close_matches(name, options, n=1, cutoff=0.8)
            if name.startswith("-") else []
        )
        if close:
            near.append(f"{name}: did you mean {close[0]}?")
    hint = f"; {'; '.join(near)}" if near else ""
    return (
        f"unrecognized arguments: {' '.join(unknown)}{hint} (see 'bayeslaws {command} --help')"
    )


def _load_numerics() -> None:
    """Load JAX, NumPyro and the layers built on them (what every command uses), after the
    arguments are parsed: --help and usage errors never wait for them."""
    from ..inference import fit, screening  # noqa: F401
    from ..posterior import extrapolation  # noqa: F401  (the loaded mark of _starting)


def main(argv=None) -> int:
    parser = build_parser()
    command = "bayeslaws"
    debug = bool(os.environ.get("BAYESLAWS_DEBUG"))
    original = warnings.formatwarning
    warnings.formatwarning = _one_line_warning
    try:
        args, unknown = parser.parse_known_args(argv)
        command = f"bayeslaws {args.command}"
        _COMMAND[0] = args.command
        if unknown:  # named with the subcommand and its own help, as its other errors are
            raise CLIError(_unrecognized(parser, args.command, unknown, argv))
        with _starting():
            _load_numerics()
        # output files are checked before any work, so a long fit never ends unsaved
        option = {"fit": "out", "candidates": "out", "plot": "out", "report": "out"}.get(
            args.command, "plot" if args.command == "design" else None
        )
        if option and getattr(args, option, None):
            from ..inference.fit import check_output_path

            check_output_path(getattr(args, option))
        figure = FIGURE_OPTIONS.get(args.command)  # a format matplotlib cannot write: refused now
        if figure and getattr(args, figure[0], None):
            _check_figure_format(getattr(args, figure[0]), figure[1])
        # compiled NUTS kernels on disk: a second process on data of the same shape skips
        # compilation (BAYESLAWS_COMPILATION_CACHE=off disables, or names another folder)
        from ..inference.compilation import enable_compilation_cache

        enable_compilation_cache()
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe is found here, not in Python's flush at exit
        return code
    except SystemExit as exc:  # --help
        try:
            sys.stdout.flush()  # the help cut short by its reader (--help | head)
        except BrokenPipeError:
            _silence_stdout()
            return EXIT_BROKEN_PIPE
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # stdout's reader is gone (| head): not the user's input, no line
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except (FileNotFoundError, ValueError, TypeError, KeyError, OSError, CLIError) as err:
        if debug:
            raise
        if not _bad_input(err):
            _unexpected(command, err)
            return EXIT_FAILED
        message = err.args[0] if err.args and isinstance(err.args[0], str) else str(err)
        if not isinstance(err, CLIError):  # a package message: its remedy as options
            message = with_cli_hints(str(message), _COMMAND[0])
        print(f"{command}: error: {' '.join(str(message).split())}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as err:  # anything else: still one line, but say it is unexpected
        if debug:
            raise
        _unexpected(command, err)
        return EXIT_FAILED
    finally:
        warnings.formatwarning = original
        _COMMAND[0] = None


if __name__ == "__main__":
    sys.exit(main())
