"""Priors from text (``bayeslaws.laws.priors.parse_prior``) and the command line's
``bayeslaws fit --prior NAME=DIST``: read without evaluating anything, checked by bl.fit as a
Python ``priors=`` is, and recorded in the saved fit as a Python fit records it."""

from __future__ import annotations

import warnings

import numpyro.distributions as dist
import pytest

import bayeslaws as bl
from bayeslaws.app.cli import EXIT_BAD_INPUT, main, with_cli_hints
from bayeslaws.laws import priors as priors_module
from bayeslaws.laws import resolve_law
from bayeslaws.runs import best_run_per_cell

# one chain, few draws, no discrepancy and no screening: the smallest fit the CLI makes
TINY = ["--chains", "1", "--warmup", "150", "--draws", "150", "--no-discrepancy"]
TINY += ["--screen", "off"]


def _spec(text: str) -> tuple[str, dict]:
    name, prior = priors_module.parse_prior(text)
    return name, priors_module.prior_to_spec(prior)


@pytest.mark.parametrize(
    "text, name, spec",
    [
        ("alpha=Normal(0.3, 0.1)", "alpha", {"dist": "Normal", "loc": 0.3, "scale": 0.1}),
        ("group_sd=HalfNormal(0.1)", "group_sd", {"dist": "HalfNormal", "scale": 0.1}),
        ("E=LogNormal(0.5,0.3)", "E", {"dist": "LogNormal", "loc": 0.5, "scale": 0.3}),
        ("e = Normal(-0.5, +1e-1)", "e", {"dist": "Normal", "loc": -0.5, "scale": 0.1}),
        ("a=Normal(loc=-2, scale=2)", "a", {"dist": "Normal", "loc": -2.0, "scale": 2.0}),
        ("a=dist.Normal(-2, 2)", "a", {"dist": "Normal", "loc": -2.0, "scale": 2.0}),
        (
            "alpha=Beta(2, 3)", "alpha",
            {"dist": "Beta", "concentration1": 2.0, "concentration0": 3.0},
        ),
        (
            "alpha=TruncatedNormal(0.3,0.1,low=0,high=1)", "alpha",
            {
                "dist": "TwoSidedTruncatedDistribution",
                "base_dist": {"dist": "Normal", "loc": 0.3, "scale": 0.1},
                "low": 0.0, "high": 1.0,
            },
        ),
        ("u=Uniform(-1, 1)", "u", {"dist": "Uniform", "low": -1.0, "high": 1.0}),
    ],
)
def test_parse_prior_reads_numbers_positional_keyword_and_negative(text, name, spec):
    assert _spec(text) == (name, spec)


def test_parse_prior_gives_floats():
    """Integers are read as floats, so Beta(2, 3) is the law's default Beta(2.0, 3.0)."""
    _, prior = priors_module.parse_prior("alpha=Beta(2, 3)")
    assert isinstance(prior.concentration1, float) and isinstance(prior.concentration0, float)


@pytest.mark.parametrize(
    "text, match",
    [
        ("Normal(0, 1)", "does not start with NAME="),
        ("TruncatedNormal(0.3, 0.1, low=0)", "does not start with NAME="),
        ("alpha==Normal(0, 1)", "does not start with NAME="),
        ("alpha=", "no distribution after '='"),
        ("alpha=Normal", "is not a distribution call"),
        ("alpha=0.3", "is not a distribution call"),
        ("alpha=Normal(0, 1", "cannot be read as a distribution call"),
        ("alpha=HalfNorm(1)", "'HalfNorm' is not a distribution of numpyro.distributions; did "
         "you mean HalfNormal"),
        ("alpha=normal(0, 1)", "did you mean Normal"),
        ("alpha=Foo(1)", "'Foo' is not a distribution"),
        ("alpha=kl_divergence(1, 2)", "'kl_divergence' is not a distribution"),
        ("alpha=Distribution()", "'Distribution' is not a distribution"),
        ("alpha=np.Normal(0, 1)", "'np' is not a distribution name"),
        ("alpha=__import__('os').system('ls')", "is not a distribution name"),
        ("alpha=Normal(mu, 1)", "argument 1 of Normal is 'mu', not a number"),
        ("alpha=Normal(0, scale='1')", "scale= of Normal is \"'1'\", not a number"),
        ("alpha=Normal(True, 1)", "argument 1 of Normal is 'True', not a number"),
        ("alpha=Normal(0, [1])", "argument 2 of Normal is '[1]', not a number"),
        ("alpha=Normal(0, 1 + 1)", "not a number"),
        ("alpha=Normal(*x)", "*x is not a number"),
        ("alpha=Normal(**x)", "**x is not a number"),
        ("alpha=Normal(0, -1)", "Normal refused its arguments (scale=-1 is invalid: it must be "
         "positive (> 0))"),
        ("s=Gamma(1, rate=-2)", "rate=-2 is invalid: it must be positive"),
        ("alpha=Normal(0, 1, 2, 3)", "Normal refused its arguments (Normal.__init__() takes"),
        ("alpha=Normal(0, foo=2)", "unexpected keyword argument 'foo'"),
    ],
)
def test_parse_prior_names_the_text_and_the_problem(text, match):
    with pytest.raises(ValueError) as error:
        priors_module.parse_prior(text)
    message = str(error.value)
    assert message.startswith(f"prior {text!r}"), message
    assert match in message, message


def test_parse_prior_evaluates_nothing(monkeypatch):
    """A call that is not a distribution's is refused before anything is called."""
    called = []
    monkeypatch.setattr(dist, "Normal", lambda *a, **k: called.append(a))
    with pytest.raises(ValueError):
        priors_module.parse_prior("alpha=Normal(0, 1)(2)")
    with pytest.raises(ValueError):
        priors_module.parse_prior("alpha=Normal(0, Normal(0, 1))")
    assert called == []


# ---- the command line ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs_csv(tmp_path_factory):
    """Each cell's best run of the bundled (SIMULATED) sweep, as tests/test_cli.py uses."""
    path = tmp_path_factory.mktemp("cli_priors") / "runs.csv"
    best_run_per_cell(bl.load_bundled()).df.reset_index(drop=True).to_csv(path, index=False)
    return path


def _one_line_error(capsys, argv) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == EXIT_BAD_INPUT, err
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_fit_prior_moves_the_posterior_and_is_recorded(runs_csv, tmp_path):
    """A tight prior on alpha (mean 0.2, sd 0.004; this table's posterior under the default
    Beta(2, 3) is 0.41 +- 0.02) holds the posterior at 0.2, and the saved fit records the same
    priors as bl.fit(priors={"alpha": ...}) records."""
    out = tmp_path / "fit.nc"
    argv = ["fit", str(runs_csv), "--out", str(out), "--prior", "alpha=Beta(2000, 8000)", *TINY]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a tight prior against the data: low ESS is expected
        assert main(argv) == 0
        fit = bl.load_fit(out)
    alpha = fit.summary().loc["alpha"]
    assert abs(alpha["mean"] - 0.2) < 0.02 and alpha["sd"] < 0.01, alpha
    law = resolve_law("chinchilla")
    python = law.priors(law.default_likelihood, {"alpha": dist.Beta(2000.0, 8000.0)})
    assert fit.record.priors == priors_module.priors_to_spec(python)
    assert fit.record.priors["alpha"] == {
        "dist": "Beta", "concentration1": 2000.0, "concentration0": 8000.0
    }


def test_fit_prior_on_a_name_the_law_does_not_sample_gives_the_laws_message(runs_csv, capsys,
                                                                             tmp_path):
    law = resolve_law("chinchilla")
    with pytest.raises(ValueError) as python:
        law.priors(law.default_likelihood, {"gamma": dist.Normal(0.0, 1.0)})
    argv = ["fit", str(runs_csv), "--out", str(tmp_path / "x.nc"), "--prior", "gamma=Normal(0,1)"]
    line = _one_line_error(capsys, argv + TINY)
    assert line == f"bayeslaws fit: error: {python.value}", line
    assert not (tmp_path / "x.nc").exists()


@pytest.mark.parametrize(
    "prior, match",
    [
        (["alpha=Beta(2, 3)", "alpha=Beta(3, 3)"], "--prior alpha=... is given twice"),
        (["alpha=Normal(0, -1)"], "scale=-1 is invalid"),
        (["alpha=Normal(0.2, 0.01)"], "prior for 'alpha' puts mass on every real number"),
        (["Beta(2, 3)"], "does not start with NAME="),
    ],
)
def test_fit_prior_errors_are_one_line(runs_csv, capsys, tmp_path, prior, match):
    argv = ["fit", str(runs_csv), "--out", str(tmp_path / "x.nc")]
    for text in prior:
        argv += ["--prior", text]
    line = _one_line_error(capsys, argv + TINY)
    assert line.startswith("bayeslaws fit: error: ") and match in line, line


def test_fit_help_shows_the_prior_option(capsys):
    assert main(["fit", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--prior NAME=DIST" in text and "--prior 'alpha=Beta(20, 80)'" in text


def test_package_advice_to_set_priors_gets_the_command_line_form():
    """The package's remedies that say priors= (too few runs; a new group's spread) name
    --prior on the command line."""
    for command in ("fit", "predict"):
        message = with_cli_hints(
            "... so do the new group's intervals (set it with priors={'group_sd': ...}); ",
            command,
        )
        assert "bayeslaws fit ... --prior NAME=DIST" in message, message
