"""The command line after review R2: outputs replaced are said (fit, plot, design --plot), a
figure named without a suffix is reported where it is written, a key given twice with two
values is refused, the missing-loss message names every row still without a loss (+inf too),
the package's Python-only remedies get their command-line form, a candidates file with the
user's column names gets the --column remedy, and the new-group note's prior advice is given
as --prior."""

from __future__ import annotations

import shutil

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import cli_error_line, cli_run  # noqa: E402

from bayeslaws.app.cli import (  # noqa: E402
    EXIT_BAD_INPUT,
    _key_values,
    _mapping,
    _replacing_fit,
    build_parser,
    with_cli_hints,
)
from bayeslaws.inference.diagnostics import depth_problem  # noqa: E402
from bayeslaws.posterior.draws import spread_prior_note  # noqa: E402

TINY = ["--chains", "1", "--warmup", "50", "--draws", "50", "--no-discrepancy", "--screen", "off"]


_run = cli_run  # conftest: bayeslaws argv in-process -> (code, stdout, stderr)


@pytest.fixture(scope="module")
def grouped_file(grouped_fit, tmp_path_factory):
    """``grouped_fit`` (law chinchilla, groups A and B) saved."""
    path = tmp_path_factory.mktemp("review3") / "grouped.nc"
    grouped_fit.save(path)
    return path


@pytest.fixture
def runs_csv(simulated_runs, tmp_path):
    """The SIMULATED Chinchilla runs (30) as a CSV with canonical columns."""
    path = tmp_path / "runs.csv"
    simulated_runs.df[["N", "D", "loss"]].to_csv(path, index=False)
    return path


# ---- 1. replaced outputs are said ----------------------------------------------------------
def test_fit_out_says_it_replaces_an_earlier_fit(grouped_fit, grouped_file, runs_csv,
                                                 tmp_path, capsys):
    out = tmp_path / "fit.nc"
    shutil.copy(grouped_file, out)
    code, stdout, _ = _run(["fit", runs_csv, "--out", out, *TINY], capsys)
    assert code == 0
    n_runs = grouped_fit.record.data["n_rows_used"]
    assert f"saved {out} (replacing an earlier fit: {n_runs} runs, law 'chinchilla')" in stdout


def test_replacing_fit_words(tmp_path):
    """Nothing for a new file; "the earlier file" for a .nc that is no readable fit."""
    assert _replacing_fit(tmp_path / "new.nc") == ""
    cut = tmp_path / "cut.nc"
    cut.write_bytes(b"\x89HDF\r\n\x1a\n cut short")
    assert _replacing_fit(cut) == " (replacing the earlier file)"


def test_plot_out_without_suffix_names_the_png_and_a_replaced_figure(grouped_file, tmp_path,
                                                                     capsys):
    out = tmp_path / "fig"
    code, stdout, _ = _run(["plot", grouped_file, "--kind", "pairs", "--out", out], capsys)
    assert code == 0
    written = tmp_path / "fig.png"
    assert written.is_file() and not out.exists()
    assert f"wrote {written}\n" in stdout  # the file written, nothing replaced
    code, stdout, _ = _run(["plot", grouped_file, "--kind", "pairs", "--out", out], capsys)
    assert code == 0
    assert f"wrote {written} (replacing the earlier file)" in stdout


def test_plot_save_returns_the_path_written(tmp_path):
    from bayeslaws import plot

    fig = plot._pyplot().figure()
    path = plot.save(fig, tmp_path / "figure")
    assert path == tmp_path / "figure.png" and path.is_file()


def test_design_plot_says_it_replaces_an_earlier_figure(grouped_file, tmp_path, capsys):
    cands = tmp_path / "cands.csv"
    pd.DataFrame({"N": [5e7, 1e8], "D": [4e9, 2e9]}).to_csv(cands, index=False)
    figure = tmp_path / "ranking.png"
    figure.write_bytes(b"\x89PNG\r\n\x1a\n an earlier figure")  # a PNG's signature
    argv = ["design", grouped_file, "--candidates", cands, "--group", "A", "--k", "1",
            "--model", "none", "--plot", figure]  # fmt: skip
    code, stdout, _ = _run(argv, capsys)
    assert code == 0
    assert f"wrote {figure} (each candidate alone; the batch marked) (replacing the earlier " \
           "file)" in stdout


# ---- 2. a key given twice with two values ------------------------------------------------
def test_a_column_mapped_twice_is_refused_naming_both(runs_csv, tmp_path, capsys):
    argv = ["fit", runs_csv, "--column", "N=Model Size", "--column", "N=x", "--column", "D=D",
            "--out", tmp_path / "x.nc"]  # fmt: skip
    code, _, err = _run(argv, capsys)
    assert code == EXIT_BAD_INPUT
    line = cli_error_line(err)
    assert "column 'N' is mapped twice" in line
    assert "--column N=Model Size" in line and "--column N=x" in line


@pytest.mark.parametrize(
    "option, pairs", [("--units", ["N=1", "N=millions"]), ("--option", ["a=1", "a=2"])]
)
def test_a_key_given_twice_with_two_values_is_refused(option, pairs, runs_csv, tmp_path, capsys):
    argv = ["fit", runs_csv, option, *pairs, "--out", tmp_path / "x.nc"]
    if option == "--option":  # --option is repeatable, one pair each
        argv = ["fit", runs_csv, option, pairs[0], option, pairs[1], "--out", tmp_path / "x.nc"]
    code, _, err = _run(argv, capsys)
    assert code == EXIT_BAD_INPUT
    line = cli_error_line(err)
    assert f"{option}: '{pairs[0][0]}' is given twice" in line
    assert repr(pairs[0]) in line and repr(pairs[1]) in line


def test_a_key_repeated_with_the_same_value_is_accepted():
    assert _key_values(["N=1e6", "N=1000000"], "--units", "COLUMN=MULTIPLIER") == {"N": 1e6}
    args = build_parser().parse_args(
        ["fit", "r.csv", "--out", "f.nc", "--column", "N=size", "--column", "N=size"]
    )
    assert _mapping(args) == {"N": "size"}


# ---- 3. runs without a loss ----------------------------------------------------------------
@pytest.fixture
def lossless_csv(simulated_runs, tmp_path):
    """The SIMULATED runs with the loss missing at row 7 and +inf at row 9."""
    df = simulated_runs.df[["N", "D", "loss"]].reset_index(drop=True)
    df.loc[7, "loss"] = np.nan
    df.loc[9, "loss"] = np.inf
    path = tmp_path / "lossless.csv"
    df.to_csv(path, index=False)
    return path


def test_the_missing_loss_message_names_the_inf_rows_too(lossless_csv, tmp_path, capsys):
    code, _, err = _run(["fit", lossless_csv, "--out", tmp_path / "x.nc"], capsys)
    assert code == EXIT_BAD_INPUT
    line = cli_error_line(err)
    assert "'loss' has missing values (or +inf) at rows 7, 9 (0-based data rows" in line
    assert "--exclude-rows ROWS --exclude-reason" in line and "Python" not in line


def test_after_exclude_rows_the_message_names_the_rows_still_without_a_loss(
    lossless_csv, tmp_path, capsys
):
    argv = ["fit", lossless_csv, "--exclude-rows", "7", "--exclude-reason", "diverged",
            "--out", tmp_path / "x.nc"]  # fmt: skip
    code, _, err = _run(argv, capsys)
    assert code == EXIT_BAD_INPUT
    line = cli_error_line(err)
    assert "at rows 9 (0-based data rows, header not counted), still after --exclude-rows 7" \
        in line
    assert "at rows 7" not in line


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
    from bayeslaws.app.cli import _law_options
    from bayeslaws.laws import resolve_law

    hint = with_cli_hints("3 of 40 runs excluded (law option fence=None keeps them)")
    assert hint.endswith("--option fence=None")
    options = _law_options([hint.rsplit("--option ", 1)[1]])
    assert options == {"fence": None}
    assert resolve_law("sweep", options).options["fence"] is None


# ---- 5. a candidates file with the user's column names -----------------------------------
def test_design_candidates_with_unmapped_columns_get_the_column_remedy(grouped_file, tmp_path,
                                                                       capsys):
    cands = tmp_path / "mine.csv"
    pd.DataFrame({"Model Size": [1e9, 3e9], "Tokens": [2e10, 2e10]}).to_csv(cands, index=False)
    argv = ["design", grouped_file, "--candidates", cands, "--nopt", "1e22", "--k", "1"]
    code, _, err = _run(argv, capsys)
    assert code == EXIT_BAD_INPUT
    line = cli_error_line(err)
    assert f"the candidates file {str(cands)!r} needs column N" in line
    assert "cands" not in line.replace(str(cands), "")
    assert "--column N=NAME" in line


# ---- 6. the new group's prior advice as --prior --------------------------------------------
def test_predicts_new_group_note_gives_the_prior_option(grouped_fit, grouped_file, capsys):
    """A grouped fit whose spread rests on its prior: predict's note gives the package's
    advice (priors=) with its command-line form."""
    assert spread_prior_note(grouped_fit), "the fixture's spread should depend on its prior"
    code, _, err = _run(["predict", grouped_file, "--N", "1e8", "--D", "4e9"], capsys)
    assert code == 0
    note = next(line for line in err.splitlines() if line.startswith("note: a fit of 2 groups"))
    assert "priors={'group_sd': ...}" in note and "--prior 'group_sd=" in note


def test_reports_new_group_sentence_gives_the_prior_option(grouped_fit, grouped_file, tmp_path,
                                                           capsys):
    assert spread_prior_note(grouped_fit), "the fixture's spread should depend on its prior"
    code, out, _ = _run(["report", grouped_file, "--out", tmp_path / "r.html"], capsys)
    assert code == 0
    sentence = next(line for line in out.splitlines() if "for a new group" in line)
    assert "--prior 'group_sd=" in sentence and ".;" not in sentence
