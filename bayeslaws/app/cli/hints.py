"""Package messages and warnings in the command line's words: :func:`with_cli_hints` keeps a
remedy's command-line form and appends the option for each Python-only remedy; the
running subcommand (:data:`COMMAND`) the hints depend on; the one-line warning format and
the context that shows the warnings of a block (:func:`warnings_shown`).
"""

from __future__ import annotations

import re
import warnings
from contextlib import contextmanager

from .values import COLUMNS

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
    ("dense_mass=False", "--dense-mass false"),
    ("raise target_accept", "--target-accept P (e.g. 0.95)"),
    ("higher target_accept may help", "--target-accept P (e.g. 0.95)"),
)


def _advice(python: str) -> str:
    """The pattern of a package message's advice ``python`` (e.g. "warmup="), not a column of
    that name in a row condition (--where warmup=short)."""
    return r"(?<!--where )" + re.escape(python)


def _sampler_hint(match: re.Match) -> str:
    """The command-line options of the sampler settings a package message advises."""
    forms = dict.fromkeys(
        cli for python, cli in SAMPLER_OPTIONS if re.search(_advice(python), match.string)
    )
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
    ("|".join(_advice(python) for python, _ in SAMPLER_OPTIONS), _sampler_hint),
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
    # a group the fit does not have (predict, allocate, report, plot, design ... --group NAME),
    # nor planning's fits or run table (plan ... --group NAME)
    (r"(?<![\w-])group=('[^']*'|[^\s,;:']+)( is not one of (?:the fit's|\w+_fit's|the run "
     r"table's) groups|: (?:this fit was|the fits were) fitted without groups|: the run table "
     r"has no group column)", r"--group \1\2"),
    # planning's fits of several groups asked for none (plan without --group)
    (r"\bgroup=None: (\w+_fit is a fit of)", r"no --group: \1"),
)
# a package remedy given in both forms, "[pass X ](Python: ...; command line: Y)": keep Y, which
# may hold bracketed text (a column "D (tokens)" in --column 'D=D (tokens)')
BOTH_FORMS = re.compile(
    r"[;,]?\s*(?:pass [^;()]*?)?\s*\(Python: [^;]*; command line: ((?:[^()]|\([^()]*\))*)\)"
)
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


@contextmanager
def warnings_shown(seen: list, unless=()):
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


COMMAND = [None]  # the running subcommand, for the hints of warnings and errors


def one_line_warning(message, category, filename, lineno, file=None, line=None):
    return f"warning: {with_cli_hints(str(message), COMMAND[0])}\n"
