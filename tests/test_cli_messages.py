"""What the command line says beside its answers, on tiny fits: a NaN prediction's nearest
fitted cell, load warnings once, an unknown option (also one given before the subcommand),
leftover report figures, drift widths."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from conftest import cli_error_line, cli_run  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws.app import cli  # noqa: E402
from bayeslaws.app.cli import main  # noqa: E402
from bayeslaws.runs import best_run_per_cell, simulate  # noqa: E402

TINY = ["--chains", "1", "--warmup", "50", "--draws", "50"]


CELL_N = 17123456.0  # a fitted size written in full (its rounding 1.71e7 is another cell)


def _quiet_main(argv) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return main([str(a) for a in argv])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A chinchilla fit of the bundled sweep's best run per cell, and a hyperparams fit of a
    small simulated LR x batch grid whose sizes are not round (built once, tiny)."""
    d = tmp_path_factory.mktemp("cli7")
    best = d / "best.csv"
    best_run_per_cell(bl.load_bundled()).df.reset_index(drop=True).to_csv(best, index=False)
    chinchilla = d / "ch.nc"
    assert _quiet_main(["fit", best, "--law", "chinchilla", "--out", chinchilla, *TINY]) == 0
    grid = simulate.simulate_grid(
        simulate.VideoDiTTruth(),
        N=[CELL_N, CELL_N, 1.3e8, 1.3e8],
        D=[2e9, 8e9, 2e9, 8e9],
        lr_values=[1e-4, 1.9e-4, 3.6e-4],
        batch_values=[5e4, 1e5, 2e5],
        seed=0,
    )
    sweep = d / "sweep.csv"
    grid.drop(columns=["source"], errors="ignore").to_csv(sweep, index=False)
    hp = d / "hp.nc"
    assert _quiet_main(["fit", sweep, "--law", "hyperparams", "--out", hp, *TINY]) == 0
    return {"dir": d, "chinchilla": chinchilla, "hp": hp}


def test_nan_prediction_names_the_nearest_fitted_cell_in_full(files, capsys):
    code, out, err = cli_run(
        ["predict", files["hp"], "--N", "1.71e7", "--D", "2e9", "--lr", "2e-4",
         "--batch-size", "1e5"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    note = next(line for line in err.splitlines() if "are NaN at" in line)
    assert "nearest fitted cell N 17123456, D 2e+09" in note, note
    assert "--N 17123456 --D 2e+09" in note, note
    # the cell given in full has its values: no note
    code, out, err = cli_run(
        ["predict", files["hp"], "--N", "17123456", "--D", "2e9", "--lr", "2e-4",
         "--batch-size", "1e5"],
        capsys,
    )  # fmt: skip
    assert code == 0 and "are NaN at" not in err, err


def test_load_warnings_said_once_when_a_loss_is_missing(files, capsys):
    table = files["dir"] / "midempty.csv"
    table.write_text(
        "N,D,loss\n1e8,2e9,3.0\n2e8,2e9,2.9\n,,\n3e8,2e9,2.8\n4e8,2e9,inf\n5e8,2e9,2.7\n"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["fit", str(table), "--out", str(files["dir"] / "x.nc"), *TINY])
    err = capsys.readouterr().err
    assert code == 2, err
    said = [str(w.message) for w in caught if "entirely empty row(s) dropped" in str(w.message)]
    assert len(said) == 1, said
    assert "'loss' has missing values" in cli_error_line(err)


def test_unknown_option_named_with_its_subcommand(files, capsys):
    code, out, err = cli_run(
        ["report", files["chinchilla"], "--out", files["dir"] / "r.html", "--bogus"], capsys
    )
    line = cli_error_line(err)
    assert code == 2
    assert line.startswith("bayeslaws report: error: unrecognized arguments: --bogus"), line
    assert "(see 'bayeslaws report --help')" in line, line
    code, out, err = cli_run(
        ["report", files["chinchilla"], "--out", files["dir"] / "r.html", "--tagret", "1e9"],
        capsys,
    )
    line = cli_error_line(err)
    assert "--tagret: did you mean --target?" in line, line


def test_an_unknown_option_before_the_subcommand_is_the_top_levels(capsys):
    code = cli.main(["--foo", "fit", "x.csv", "--out", "a.nc"])
    err = capsys.readouterr().err
    assert code != 0
    assert "--foo (given before the command 'fit'; see 'bayeslaws --help')" in err
    assert "bayeslaws fit --help" not in err


def test_report_names_figures_left_from_an_earlier_run(files, capsys):
    out = files["dir"] / "rep.html"
    folder = files["dir"] / "rep_figures"
    folder.mkdir()
    (folder / "isoflop.png").write_bytes(b"an earlier run's figure")
    code, stdout, err = cli_run(["report", files["chinchilla"], "--out", out], capsys)
    assert code == 0, err
    note = next(line for line in err.splitlines() if "left from an earlier run" in line)
    assert "isoflop.png" in note and "not part of this report" in note, note
    assert (folder / "isoflop.png").read_bytes() == b"an earlier run's figure"  # not deleted
    assert "isoflop.png" not in out.read_text()


def test_design_says_the_drift_sets_the_widths(files, capsys):
    """At a budget inside the data the design's default drift model puts some N_opt draws far
    outside it; its warning (design.targets, so Python users get it too) says the drift sets
    the widths and that --model gp values runs under the fitted law's optimum."""
    argv = ["design", files["chinchilla"], "--isoflop", "1e21", "--nopt", "1e21", "--k", "1"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    (far,) = [str(w.message) for w in caught if "outside the fitted range of N" in str(w.message)]
    assert "under 'drift' those draws are the drift's pull beyond the data" in far
    assert "command line: --model gp" in far
    # under --model gp (not widened beyond the data) the draws stay near the data
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main([str(a) for a in [*argv, "--model", "gp"]])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert not [w for w in caught if "drift's pull" in str(w.message)]


# ---- 4. design --plot says each warning once ----------------------------------------------
def test_design_plot_says_each_warning_once(simulated_fit_file, tmp_path):
    argv = ["design", simulated_fit_file, "--isoflop", "1e21", "--nopt", "1e22", "--k", "1",
            "--plot", tmp_path / "d.png"]  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main([str(a) for a in argv])
    assert code == 0
    said = [str(w.message) for w in caught if "N_opt(C=1e+22)" in str(w.message)]
    assert said, "no warning about the far target: the test needs one"
    assert len(said) == len(set(said)), said
