"""Package messages in the command line's words (``with_cli_hints``): Python-only remedies get
their option form, and the design's warnings keep only the two forms in their brackets."""

from __future__ import annotations

import re
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import cli_error_line, cli_run, flagged_runs  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws.app.cli import EXIT_BAD_INPUT, with_cli_hints  # noqa: E402
from bayeslaws.design import NOpt  # noqa: E402
from bayeslaws.design import targets as design_targets  # noqa: E402
from bayeslaws.inference.diagnostics import depth_problem  # noqa: E402
from bayeslaws.posterior.allocation import kinks as kinks_module  # noqa: E402
from bayeslaws.posterior.draws import spread_prior_note  # noqa: E402

C = 1e21  # FLOPs: inside the simulated Chinchilla runs' range (6e7-6e9 params x 1e9-1e11 tokens)


def _caught(call) -> list[str]:
    """The texts of the warnings ``call()`` issues."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(w.message) for w in caught]


_run = cli_run  # conftest: bayeslaws argv in-process -> (code, stdout, stderr)


# ---- 4. the package's Python-only remedies, on the command line ---------------------------
def test_sampler_advice_gets_its_options():
    deep = with_cli_hints("sampler trouble: " + depth_problem(4, 100, 10))
    assert deep.endswith("on the command line: --warmup N, --dense-mass true")
    assert "--target-accept" not in deep  # the message advises against a higher one
    more = with_cli_hints(
        "sampler trouble: R-hat > 1.01 for ['a']; more draws (draws=, warmup=) or a higher "
        "target_accept may help"
    )
    assert more.endswith("on the command line: --draws N, --warmup N, --target-accept P (e.g. "
                         "0.95)")  # fmt: skip


def test_see_fit_diagnostics_and_record_get_the_report_command():
    loaded = with_cli_hints(
        "'f.nc' holds a fit with sampler trouble (its answers inherit it; refit with more draws "
        "or see fit.diagnostics): 3 divergent transitions of 100: raise target_accept or "
        "reparametrise"
    )
    assert loaded.endswith(
        "on the command line: --target-accept P (e.g. 0.95); bayeslaws report FIT.nc shows the "
        "sampler's health"
    )
    assert loaded.count("on the command line") == 1
    excluded = with_cli_hints(
        "screening: 4 run(s) lie more than 8 robust sd off the fitted law: rows 1, 0. They were "
        "excluded and the law refitted (screen='exclude'; see fit.record.data)."
    )
    assert "bayeslaws report FIT.nc lists them" in excluded and ").;" not in excluded


def test_the_screening_follow_up_gets_exclude_rows():
    kept = with_cli_hints(
        "screening: after the runs flagged by screen='exclude' were excluded and the law "
        "refitted without them, 2 other run(s) lie more than 8 robust sd off the refitted law: "
        "rows 4 (loss 3.447, 1.05x the fit, z +10), 5 (loss 3.396, 1.05x the fit, z +9). These "
        "were not excluded (screen='exclude' does one round): check them, and exclude them with "
        "runs.exclude(runs.df.index.isin([4, 5]), reason=...)."
    )
    assert kept.endswith("on the command line: add --exclude-rows 4 5 --exclude-reason TEXT")
    warned = with_cli_hints(
        "screening: 1 run(s) lie more than 8 robust sd off the fitted law: rows 3. They are kept "
        "in this fit: check them. To refit without them: bl.fit(..., screen='exclude'), or "
        "runs.exclude(runs.df.index.isin([3]), reason='...'), or on the command line "
        "--exclude-rows 3 --exclude-reason '...' (or --screen exclude); screen='off' silences this."
    )
    assert warned.count("--exclude-rows") == 1  # it names the option itself


def test_a_law_option_gets_its_option_form():
    cliff = with_cli_hints(
        "law 'hyperparams': ... Fit only runs near each cell's best (law option far_above=0.03, "
        "as paper_repro/hyperparams.py does on Step Law) or the whole sweep with law 'sweep'"
    )
    assert cliff.endswith("on the command line: --option far_above=0.03")


def test_the_option_a_message_advises_as_none_is_read_as_none():
    """The fence warning says "law option fence=None keeps them" and the CLI hints --option
    fence=None, which was read as the text 'None' and refused by the law."""
    from bayeslaws.app.cli.values import law_options
    from bayeslaws.laws import resolve_law

    hint = with_cli_hints("3 of 40 runs excluded (law option fence=None keeps them)")
    assert hint.endswith("--option fence=None")
    options = law_options([hint.rsplit("--option ", 1)[1]])
    assert options == {"fence": None}
    assert resolve_law("sweep", options).options["fence"] is None


# ---- 6. the sampler hint names --chains ------------------------------------------------------
def test_sampler_hint_names_chains():
    message = "100 draws in all (1 chain x 100) are too few; draw more (draws=, chains=)"
    hinted = with_cli_hints(message, "fit")
    assert "--draws N" in hinted and "--chains N" in hinted, hinted


# ---- 2. package errors in the command line's words ---------------------------------------------
def test_an_error_raised_inside_fit_gets_the_command_line_form(tmp_path, capsys):
    path = tmp_path / "runs.csv"
    flagged_runs().drop(columns="is_diverged").to_csv(path, index=False)
    code, _, err = _run(["fit", path, "--law", "sweep", "--out", tmp_path / "f.nc"], capsys)
    line = cli_error_line(err)
    assert code == EXIT_BAD_INPUT
    assert "needs column 'lr'" in line
    assert "on the command line: --lr NAME or --column lr=NAME" in line
    assert "Python:" not in line and "load_runs(" not in line


@pytest.mark.parametrize(
    "message, said, gone",
    [
        (
            "cands['group'] is 'Z' but group='A': ...; make them agree",
            "but --group 'A'",
            "group=",
        ),
        (
            "isoflop_candidates: fit has groups ['A', 'B'] and group=None, so the lines centre "
            "on a NEW group's N_opt",
            "and no --group, so",
            "group=None",
        ),
    ],
)
def test_python_only_phrases_get_the_command_line_words(message, said, gone):
    line = with_cli_hints(message, "design")
    assert said in line and gone not in line


# ---- 6. the new group's prior advice as --prior --------------------------------------------
def test_predicts_new_group_note_gives_the_prior_option(grouped_fit, grouped_fit_file, capsys):
    """A grouped fit whose spread rests on its prior: predict's note gives the package's
    advice (priors=) with its command-line form."""
    assert spread_prior_note(grouped_fit), "the fixture's spread should depend on its prior"
    code, _, err = _run(["predict", grouped_fit_file, "--N", "1e8", "--D", "4e9"], capsys)
    assert code == 0
    note = next(line for line in err.splitlines() if line.startswith("note: a fit of 2 groups"))
    assert "priors={'group_sd': ...}" in note and "--prior 'group_sd=" in note


def test_reports_new_group_sentence_gives_the_prior_option(grouped_fit, grouped_fit_file, tmp_path,
                                                           capsys):
    assert spread_prior_note(grouped_fit), "the fixture's spread should depend on its prior"
    code, out, _ = _run(["report", grouped_fit_file, "--out", tmp_path / "r.html"], capsys)
    assert code == 0
    sentence = next(line for line in out.splitlines() if "for a new group" in line)
    assert "--prior 'group_sd=" in sentence and ".;" not in sentence


# ---- 3. the far-draw remedy's brackets -------------------------------------------------------
def test_far_remedy_brackets_hold_only_the_two_forms(simulated_fit):
    """'(Python: model='gp'; command line: --model gp; values runs under ...; model='none'
    under the law alone)': the command line kept all of it, Python's model='none' included."""
    from bayeslaws.design.targets import _far_remedy

    for method in ("drift", "none"):
        text = _far_remedy(simulated_fit, method)
        forms = re.findall(r"\(Python: ([^)]*)\)", text)
        assert forms, text
        for form in forms:
            assert re.fullmatch(r"model='\w+'; command line: --model \w+", form), form
        cli = with_cli_hints(text, "design")
        assert "model='" not in cli and "Python" not in cli, cli
    assert "--model gp" in with_cli_hints(_far_remedy(simulated_fit, "drift"), "design")


# ---- 2. the design's search-edge warning: two forms in its brackets ---------------------------
def _all_at_edge(monkeypatch):
    """The design's N_opt draws all at the search range's edge."""
    real = design_targets.allocation_draws

    def at_edge(*args, **kwargs):
        out = dict(real(*args, **kwargs))
        out["at_boundary"] = np.ones_like(np.asarray(out["at_boundary"], bool))
        return out

    monkeypatch.setattr(design_targets, "allocation_draws", at_edge)


def test_design_edge_warning_brackets_hold_only_the_two_forms(simulated_fit, monkeypatch):
    """The bracket read "(Python: model='none'; command line: --model none; values runs under
    the law alone)": the explanation inside it, so the command line kept it after the option.
    Now the explanation is outside and the bracket holds the two forms alone; under 'none'
    itself no remedy names it."""
    _all_at_edge(monkeypatch)
    texts = _caught(lambda: NOpt(C=C).draws(simulated_fit, seed=0, method="gp"))
    edge = [t for t in texts if "sits at the edge of the search range" in t]
    assert len(edge) == 1, texts
    assert edge[0].endswith(
        "read the widths with care; model 'none' values runs under the law alone "
        "(Python: model='none'; command line: --model none)"
    ), edge[0]
    cli = with_cli_hints(edge[0], "design")
    assert cli.endswith(
        "; model 'none' values runs under the law alone; on the command line: --model none"
    ), cli
    texts = _caught(lambda: NOpt(C=C).draws(simulated_fit, seed=0, method="none"))
    edge = [t for t in texts if "sits at the edge of the search range" in t]
    assert len(edge) == 1 and "model='none'" not in edge[0], texts
    assert edge[0].endswith("read the widths with care"), edge[0]


# ---- 3. a drift kink under the design names model= --------------------------------------------
def test_design_kink_warning_names_model_not_extrapolation(simulated_fit, monkeypatch):
    """Under the design the kink warning advised extrapolation='gp' or 'none', an argument the
    design does not take (its own is model= / --model); optimal_allocation keeps its own."""
    monkeypatch.setattr(
        kinks_module, "drift_kink_share", lambda fit, C, *a, **k: np.ones(np.size(C))
    )
    texts = _caught(lambda: NOpt(C=C).draws(simulated_fit, seed=0, method="drift"))
    kink = [t for t in texts if "kink of the drift" in t]
    assert len(kink) == 1, texts
    assert "extrapolation='gp'" not in kink[0], kink[0]
    assert "(Python: model='gp' or model='none'; command line: --model gp or --model none)" in (
        kink[0]
    )
    cli = with_cli_hints(kink[0], "design")
    assert "on the command line: --model gp or --model none; read the widths with care" in cli
    assert "--extrapolation" not in cli and "Python" not in cli, cli
    texts = _caught(lambda: bl.optimal_allocation(simulated_fit, C=[C], extrapolation="drift"))
    kink = [t for t in texts if "kink of the drift" in t]
    assert kink and all(
        t.endswith("(extrapolation='gp' or 'none' gives the fitted law's optimum)") for t in kink
    ), texts
    assert "--extrapolation gp or --extrapolation none" in with_cli_hints(kink[0], "allocate")
