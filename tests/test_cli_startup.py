"""The command line starts quickly: building its parser and printing any help imports no JAX,
NumPyro or pandas (bayeslaws.app.cli copies the few values its help shows; each copy is checked
here against its source); and its count options refuse a non-positive count at parsing, naming
the option."""

import json
import subprocess
import sys
import textwrap

import pytest

from bayeslaws.app import cli
from bayeslaws.app.cli import parser as cli_parser

HEAVY = ("jax", "numpyro", "arviz", "pandas")


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_building_the_parser_and_its_help_imports_no_jax():
    out = _run(
        """
        import sys
        from bayeslaws.app import cli
        cli.build_parser().format_help()
        print('jax' in sys.modules)
        """
    )
    assert out.split() == ["False"]


def test_every_commands_help_imports_no_numerical_library():
    out = _run(
        f"""
        import contextlib, io, sys
        from bayeslaws.app import cli
        parser = cli.build_parser()
        sub = next(a for a in parser._actions if a.dest == "command")
        with contextlib.redirect_stdout(io.StringIO()):
            codes = [cli.main([name, "--help"]) for name in sub.choices]
        print(set(codes), [m for m in {HEAVY!r} if m in sys.modules])
        """
    )
    assert out.strip() == "{0} []"


def test_built_in_laws_copy_matches_the_registry():
    """BUILTIN_LAWS is the registry of a fresh process (this one's may hold test laws)."""
    out = _run(
        """
        import json
        from bayeslaws.laws import LAWS
        print(json.dumps({name: law.description for name, law in LAWS.items()}))
        """
    )
    assert json.loads(out) == cli_parser.BUILTIN_LAWS


def test_parser_constants_match_their_sources():
    from bayeslaws.app import repro
    from bayeslaws.inference import screening
    from bayeslaws.posterior import extrapolation

    assert cli_parser.METHODS == extrapolation.METHODS
    assert cli_parser.DEFAULT_METHOD == extrapolation.DEFAULT_METHOD
    assert cli_parser.SCREEN_ACTIONS == screening.ACTIONS
    assert cli_parser.SCREEN_THRESHOLD == screening.DEFAULT_THRESHOLD
    assert cli_parser.REPRO_SCRIPTS == tuple(repro.SCRIPTS)
    assert cli_parser.REPRO_DEFAULT_SCRIPTS == repro.DEFAULT_SCRIPTS
    assert cli_parser.REPRO_MIN_DRAWS == repro.MIN_DRAWS


FIT = ["fit", "runs.csv", "--out", "fit.nc"]
PLAN = ["plan", "runs.csv", "--target-N", "1e9", "--target-D", "1e10", "--budget", "1e21"]
REFUSED = [
    (FIT, "--chains", "0"),
    (FIT, "--chains", "-1"),
    (FIT, "--draws", "0"),
    (FIT, "--warmup", "0"),
    (FIT, "--seed", "-1"),
    (PLAN, "--chains", "0"),
    (["demo"], "--draws", "-3"),
    (["predict", "fit.nc", "--N", "1e9", "--D", "1e10"], "--seed", "-2"),
    (["design", "fit.nc", "--isoflop", "1e20"], "--k", "0"),
    (["design", "fit.nc", "--isoflop", "1e20"], "--n-per-budget", "0"),
    (["candidates", "fit.nc", "--out", "c.csv"], "--n-lr", "0"),
    (["candidates", "fit.nc", "--out", "c.csv"], "--n-batch", "-1"),
    (["report", "fit.nc"], "--seed", "-1"),
    (["repro"], "--draws", "5"),
]


@pytest.mark.parametrize(("argv", "option", "value"), REFUSED)
def test_a_bad_count_is_refused_naming_the_option(argv, option, value):
    with pytest.raises(cli.CLIError, match=f"argument {option}: takes .*got '{value}'"):
        cli.build_parser().parse_args([*argv, option, value])


def test_a_count_that_is_no_integer_is_refused_naming_the_option():
    with pytest.raises(cli.CLIError, match="argument --chains: .*'2.5'"):
        cli.build_parser().parse_args([*FIT, "--chains", "2.5"])


def test_seed_zero_and_positive_counts_are_taken():
    args = cli.build_parser().parse_args(
        [*FIT, "--seed", "0", "--chains", "1", "--warmup", "1", "--draws", "1"]
    )
    assert (args.seed, args.chains, args.warmup, args.draws) == (0, 1, 1, 1)
    assert cli.build_parser().parse_args(["repro", "--draws", "10"]).draws == 10


def test_a_bad_count_ends_with_one_line_naming_the_option(tmp_path, capsys):
    code = cli.main([*FIT[:1], str(tmp_path / "runs.csv"), "--out", str(tmp_path / "f.nc"),
                     "--chains", "0"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == cli.EXIT_BAD_INPUT
    assert "--chains" in err and "'0'" in err and len(err.strip().splitlines()) == 1
