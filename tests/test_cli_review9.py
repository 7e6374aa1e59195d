"""The command line and the planning job after the ninth review: a design's picked sweeps give
the range of their runs' learning rates and batch sizes (not the first run's), every run of the
picks is written to a CSV (``design --out``, the demo's and plan's next_runs.csv, named in the
report); ``bayeslaws plan`` runs the demo's planning on the user's run table or saved fits;
the design's far-draw remedy keeps only the two forms in its brackets; ``design --plot`` says a
warning once; ``allocate --extrapolation``; the sampler hint names --chains; a table with N in
millions is told N is, not C; ``--ci 0`` is quoted as typed; plot and report's row exclusion is
not said to be recorded in a fit.

SIMULATED data throughout (the bundled simulator's sweeps and Chinchilla runs), tiny fits."""

from __future__ import annotations

import re
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import cli_error_line, cli_run  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws.app import demo  # noqa: E402
from bayeslaws.app.cli import main, with_cli_hints  # noqa: E402
from bayeslaws.runs.table import RunTableError  # noqa: E402

SWEEPS = ["--sweep", "1e8", "3e9", "--sweep", "2e8", "8e9", "--sweep", "3e8", "1e10"]
TINY = ["--chains", "1", "--warmup", "100", "--draws", "100"]


@pytest.fixture(scope="module")
def sweep_file(small_sweep_sweep_fit, tmp_path_factory):
    """Law 'sweep' on the small SIMULATED sweep (conftest), saved."""
    path = tmp_path_factory.mktemp("review9") / "sweep_fit.nc"
    small_sweep_sweep_fit.save(path)
    return path


@pytest.fixture(scope="module")
def sim_file(simulated_fit, tmp_path_factory):
    """A chinchilla fit of SIMULATED runs (conftest), saved."""
    path = tmp_path_factory.mktemp("review9_sim") / "sim.nc"
    simulated_fit.save(path)
    return path


# ---- 1. what to run: the ranges of a picked sweep, every run in a CSV ------------------------
def test_design_rows_give_a_sweeps_ranges_and_out_lists_every_run(sweep_file, tmp_path, capsys):
    """A picked 15-run sweep's row showed lr and batch_size of its first run (the lowest of
    each), which read as the setting to use; no file listed the runs to train."""
    picks = tmp_path / "picks.csv"
    argv = ["design", sweep_file, *SWEEPS, "--hparams", "5e8", "2e10", "--k", "2",
            "--out", picks]  # fmt: skip
    code, out, err = cli_run(argv, capsys)
    assert code == 0, err
    runs = pd.read_csv(picks)
    assert list(runs.columns) == ["pick", "unit", "N", "D", "C", "lr", "batch_size"]
    assert sorted(runs["pick"].unique()) == [1, 2] and len(runs) == 30
    for _, one in runs.groupby("pick"):
        assert one["lr"].nunique() == 5 and one["batch_size"].nunique() == 3
        assert one[["N", "D"]].drop_duplicates().shape[0] == 1
    table = out.split("\n", 1)[1]
    first = runs[runs["pick"] == 1]
    low, high = first["lr"].min(), first["lr"].max()
    assert f"{low:.3g}..{high:.3g} (5 values)" in table, table
    b_low, b_high = first["batch_size"].min(), first["batch_size"].max()
    assert f"{b_low:.0f}..{b_high:.0f} (3 values)" in table, table
    assert repr(low) not in table and f"{low:.5g}" not in table  # not the first run's alone
    assert f"wrote {picks}" in out and "30 runs of the 2 picks" in out


def test_design_out_refuses_a_file_that_is_not_earlier_picks(sweep_file, tmp_path, capsys):
    table = tmp_path / "runs.csv"
    table.write_text("N,D,loss\n1e8,2e9,3.0\n")
    code, out, err = cli_run(["design", sweep_file, *SWEEPS, "--out", table], capsys)
    assert code == 2
    assert "is not an earlier picks CSV" in cli_error_line(err)
    assert table.read_text() == "N,D,loss\n1e8,2e9,3.0\n"
    code, out, err = cli_run(["design", sweep_file, *SWEEPS, "--out", sweep_file], capsys)
    assert code == 2 and "is the fit file itself" in cli_error_line(err)


def test_demo_writes_every_run_of_the_picks_and_the_report_names_the_file(
    small_sweep_sweep_fit, monkeypatch, tmp_path
):
    """The demo's report gave each picked sweep as N, D, C and 'runs 15' only, and no file of
    the runs; now next_runs.csv lists them, the report names it and gives each pick's ranges."""
    monkeypatch.setattr(
        demo, "fit_laws", lambda runs, sampler, route: (small_sweep_sweep_fit,) * 2
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = demo.run_demo(tmp_path, figures=False, progress=False, quiet=True)
    runs = pd.read_csv(tmp_path / "next_runs.csv")
    assert {"design", "pick", "unit", "N", "D", "C", "lr", "batch_size"} <= set(runs.columns)
    assert runs["design"].str.startswith("N_opt(C=").any()
    assert runs["design"].str.startswith("eta_opt(").any()
    for _, one in runs.groupby(["design", "pick"]):
        assert len(one) == 15 and one["lr"].nunique() == 5 and one["batch_size"].nunique() == 3
    flat = " ".join(text.split())
    assert "is listed in next_runs.csv beside this report" in flat
    assert "(5 values)" in text and "(3 values)" in text


# ---- 2. bayeslaws plan ----------------------------------------------------------------------
def test_plan_on_a_run_table_and_on_its_saved_fit(small_sweep, tmp_path, capsys):
    """A user with their own sweep had no command-line route to the planning report (only the
    demo on bundled data): 'bayeslaws plan' runs the demo's planning on a run table (fitted
    and saved) or on saved fits."""
    table = tmp_path / "my_sweep.csv"
    small_sweep.df.drop(columns=["source"], errors="ignore").to_csv(table, index=False)
    out = tmp_path / "planned"
    target = ["--target-N", "5e8", "--target-D", "2e10", "--budget", "1e20"]
    code, stdout, err = cli_run(["plan", table, *target, "--out", out, *TINY, "--no-figures"],
                                capsys)  # fmt: skip
    assert code == 0, err
    text = (out / "report.txt").read_text()
    assert text.startswith("bayeslaws planning report") and "== Next runs" in text
    assert (out / "sweep_fit.nc").is_file()
    runs = pd.read_csv(out / "next_runs.csv")
    assert {"lr", "batch_size"} <= set(runs.columns) and len(runs) > 0
    assert "next_runs.csv" in " ".join(text.split())
    # from the saved fit: nothing fitted, nothing written over it
    again = tmp_path / "again"
    code, stdout, err = cli_run(
        ["plan", out / "sweep_fit.nc", *target, "--out", again, "--no-figures"], capsys
    )
    assert code == 0, err
    assert sorted(p.name for p in again.iterdir()) == ["next_runs.csv", "report.txt"]


def test_plan_bad_input_is_one_line_with_exit_2(small_sweep, sweep_file, tmp_path, capsys):
    table = tmp_path / "no_lr.csv"
    small_sweep.df.drop(columns=["source", "lr"], errors="ignore").to_csv(table, index=False)
    target = ["--target-N", "5e8", "--target-D", "2e10", "--budget", "1e20"]
    code, out, err = cli_run(["plan", table, *target, "--out", tmp_path / "p"], capsys)
    assert code == 2
    line = cli_error_line(err)
    assert "has no column 'lr'" in line and "--column lr=NAME" in line, line
    assert not (tmp_path / "p").exists()  # refused before any fit
    code, out, err = cli_run(["plan", table, sweep_file, *target], capsys)
    assert code == 2 and "not both" in cli_error_line(err)
    code, out, err = cli_run(["plan", sweep_file, *target, "--route", "joint"], capsys)
    assert code == 2 and "--route applies to a run table" in cli_error_line(err)


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


# ---- 4. design --plot says each warning once ----------------------------------------------
def test_design_plot_says_each_warning_once(sim_file, tmp_path):
    argv = ["design", sim_file, "--isoflop", "1e21", "--nopt", "1e22", "--k", "1",
            "--plot", tmp_path / "d.png"]  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main([str(a) for a in argv])
    assert code == 0
    said = [str(w.message) for w in caught if "N_opt(C=1e+22)" in str(w.message)]
    assert said, "no warning about the far target: the test needs one"
    assert len(said) == len(set(said)), said


# ---- 5. allocate --extrapolation ----------------------------------------------------------
def test_allocate_passes_extrapolation(sim_file, monkeypatch, capsys):
    seen = {}
    real = bl.optimal_allocation

    def spy(*args, **kwargs):
        seen["allocation"] = kwargs.get("extrapolation")
        return real(*args, **kwargs)

    monkeypatch.setattr(bl, "optimal_allocation", spy)
    code, out, err = cli_run(["allocate", sim_file, "--C", "1e21", "--extrapolation", "none"],
                             capsys)  # fmt: skip
    assert code == 0, err
    assert seen["allocation"] == "none"
    advice = "its interval is ... (extrapolation='drift' or 'model' carries that into it)"
    assert "--extrapolation drift or --extrapolation model" in with_cli_hints(advice, "allocate")


# ---- 6. the sampler hint names --chains ------------------------------------------------------
def test_sampler_hint_names_chains():
    message = "100 draws in all (1 chain x 100) are too few; draw more (draws=, chains=)"
    hinted = with_cli_hints(message, "fit")
    assert "--draws N" in hinted and "--chains N" in hinted, hinted


# ---- 7. a table whose N is in millions -------------------------------------------------------
def test_n_in_millions_is_named_not_c():
    """C / 6ND = 1e6 at every row read as C in other units: units={'C': 1e-06}, which made
    both N and C wrong."""
    N = np.geomspace(7e7, 2.8e9, 6)
    D = 20 * N
    frame = pd.DataFrame({"N": N / 1e6, "D": D, "C": 6 * N * D, "loss": np.linspace(3.2, 2.4, 6)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RunTableError) as err:
            bl.load_runs(frame)
        message = str(err.value)
        assert "column 'N' (parameters) has median" in message, message
        assert "units={'N': 1e+06} (millions)" in message, message
        assert "units={'C'" not in message, message
        fixed = bl.load_runs(frame, units={"N": 1e6})  # the advice followed loads
        assert np.allclose(fixed.df["N"], N)
        # N plausible but C 1000 x 6ND: any of the three could be in other units
        with pytest.raises(RunTableError, match=r"N, D or C is in other units") as err:
            bl.load_runs(frame.assign(N=N / 1e3))
        assert "N in thousands (units={'N': 1000})" in str(err.value)
        assert "C (units={'C': 0.001})" in str(err.value)


# ---- 8. cosmetics ---------------------------------------------------------------------------
def test_ci_is_quoted_as_typed_and_exclusion_is_not_said_recorded_in_a_fit(sim_file, capsys):
    code, out, err = cli_run(["predict", sim_file, "--N", "1e9", "--D", "1e10", "--ci", "0"],
                             capsys)  # fmt: skip
    assert code == 2
    line = cli_error_line(err)
    assert "--ci" in line and "got '0'" in line and "0.0" not in line, line
    for command in ("plot", "report"):
        assert main([command, "--help"]) == 0
        text = " ".join(capsys.readouterr().out.split())
        assert "recorded with its reason in the fit" not in text
        assert "row exclusion (rows of the --runs table left out" in text
    assert main(["fit", "--help"]) == 0
    assert "recorded with its reason in the fit" in " ".join(capsys.readouterr().out.split())
