"""Reading the options' values into the package's arguments: numbers, ``KEY=VALUE`` pairs
(law options, units), the column mapping (``--column CANON=NAME`` and the ``fit``
shorthands ``--N NAME``, ...), the sampler settings and ``--prior`` texts, and which of the
options that read a run table were given.
"""

from __future__ import annotations

import argparse

from .errors import CLIError

# where the options added with action=NotedStore record that the user gave them
GIVEN_ATTRIBUTE = "given_options"


class NotedStore(argparse.Action):
    """argparse's plain store that also records the option as given (:func:`given_options`),
    so that a command can tell an option given at its default value from one left out."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        given = dict(getattr(namespace, GIVEN_ATTRIBUTE, {}))  # a new dict: none shared
        given[option_string] = values
        setattr(namespace, GIVEN_ATTRIBUTE, given)


def given_options(args) -> dict:
    """The NotedStore options the user gave: option string (as typed) -> value."""
    return dict(getattr(args, GIVEN_ATTRIBUTE, {}))


def floats(values, name: str = "value"):
    if values is None:
        return None
    try:
        return [float(v) for v in values]
    except ValueError:
        raise CLIError(f"--{name} takes numbers, got {' '.join(values)!r}") from None


COLUMNS = ("N", "D", "C", "loss", "lr", "batch_size", "group")  # each has a fit shorthand --N NAME
MAPPED_COLUMNS = (*COLUMNS, "diverged")  # --column takes these (diverged: the runs' flags)


def _key_values(pairs, option: str, form: str, lists: bool = False) -> dict:
    """``KEY=VALUE`` strings given to ``option`` -> {key: float, or the text if not a number};
    with ``lists``, a comma-separated VALUE of numbers (``0.5,0.3``) -> a tuple of floats."""
    out, given = {}, {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key or not value:
            raise CLIError(f"{option} takes {form}, got {pair!r}")
        read = _number_list(value, option, pair) if lists and "," in value else None
        if read is None:
            try:
                read = float(value)
            except ValueError:
                read = value.strip()
        if key in out and out[key] != read:
            raise CLIError(_given_twice(option, key, given[key], pair))
        out[key], given[key] = read, pair
    return out


def _number_list(value: str, option: str, pair: str) -> tuple | None:
    """A comma-separated ``value`` of ``pair`` (KEY=VALUE as typed) -> a tuple of floats; None
    when no item is a number (text, left to the caller); a CLIError naming ``pair`` when some
    items are numbers and another is not (``0.5,x``, ``0.5,``)."""
    items = value.split(",")
    read = []
    for item in items:
        try:
            read.append(float(item))
        except ValueError:
            read.append(None)
    if all(v is None for v in read):
        return None
    bad = next((item.strip() for item, v in zip(items, read, strict=True) if v is None), None)
    if bad is not None:
        what = "an empty item" if not bad else f"{bad!r}, not a number"
        raise CLIError(
            f"{option} {pair}: a comma-separated value is read as numbers (e.g. "
            f"{pair.partition('=')[0].strip()}=0.5,0.3), but it has {what}"
        )
    return tuple(read)


def _given_twice(option: str, key: str, first: str, second: str) -> str:
    """The message for ``key`` given twice to ``option`` with different values (``first``,
    ``second``: the two KEY=VALUE texts as typed)."""
    return (
        f"{option}: {key!r} is given twice with different values, {first!r} and {second!r}; "
        "give it once"
    )


def law_options(pairs) -> dict | None:
    """``KEY=VALUE`` strings -> law options (true/false -> bool, none/null -> None, numbers ->
    float, comma-separated numbers -> a tuple of floats: ``optima_drift=0.5,0.3``), so that
    an option the package's messages set to None (``fence=None``) can be."""
    options = _key_values(pairs, "--option", "KEY=VALUE", lists=True)
    flags = {"true": True, "false": False, "none": None, "null": None}
    for key, value in options.items():
        if isinstance(value, str) and value.lower() in flags:
            options[key] = flags[value.lower()]
    return options or None


def column_mapping(args) -> dict:
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


def unit_multipliers(pairs) -> dict | None:
    """``COLUMN=MULTIPLIER`` strings -> ``load_runs(units=...)`` (numbers or words)."""
    return _key_values(pairs, "--units", "COLUMN=MULTIPLIER (e.g. N=millions)") or None


def sampler_options(args) -> dict:
    out = {"chains": args.chains, "warmup": args.warmup, "draws": args.draws, "seed": args.seed}
    if getattr(args, "target_accept", None) is not None:
        out["target_accept"] = args.target_accept
    dense = getattr(args, "dense_mass", "law")
    if dense != "law":
        out["dense_mass"] = dense == "true"
    return out


def read_priors(texts) -> dict | None:
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


# options that read the table given by --runs, and do nothing without it
RUNS_OPTIONS = (
    ("--column", "column"),
    ("--units", "units"),
    ("--compute-model", "compute_model"),
    ("--ignore-column", "ignore_column"),
    ("--exclude-rows", "exclude_rows"),
    ("--exclude-reason", "exclude_reason"),
    ("--where", "where"),
    ("--keep-diverged", "keep_diverged"),
)


def option_given(args, dest: str) -> bool:
    return getattr(args, dest, None) not in (None, False)


def row_conditions(pairs) -> list[tuple[str, str]]:
    """``--where COLUMN=VALUE`` strings -> (column, value) pairs, as typed (the value is
    compared with each row's by :func:`bayeslaws.app.cli.run_tables.rows_where`)."""
    conditions = []
    for pair in pairs or []:
        column, sep, value = pair.partition("=")
        if not sep or not column.strip() or not value.strip():
            raise CLIError(f"--where takes COLUMN=VALUE (e.g. dataset=rw), got {pair!r}")
        conditions.append((column.strip(), value.strip()))
    return conditions
