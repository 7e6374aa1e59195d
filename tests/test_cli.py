"""The ``bayeslaws`` command line, through ``main([...])``: bad input gives one line on stderr
naming the problem and exit code 2 (never a traceback); the subcommands work on a small fit;
the demo runs end to end with tiny draws."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws.app.cli import EXIT_BAD_INPUT, main  # noqa: E402
from bayeslaws.runs import best_run_per_cell  # noqa: E402

TINY = ["--chains", "2", "--warmup", "150", "--draws", "150"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A run table (each cell's best run of the bundled sweep), a fit of it, a candidates CSV
    and a few malformed files."""
    d = tmp_path_factory.mktemp("cli")
    runs_csv = d / "runs.csv"
    best_run_per_cell(bl.load_bundled()).df.to_csv(runs_csv, index=False)
    fit_nc = d / "fit.nc"
    code = main(["fit", str(runs_csv), "--law", "chinchilla", "--likelihood", "gaussian"] + TINY)
    assert code == EXIT_BAD_INPUT  # --out is required
    code = main(
        ["fit", str(runs_csv), "--law", "chinchilla", "--likelihood", "gaussian"]
        + ["--out", str(fit_nc)]
        + TINY
    )
    assert code == 0 and fit_nc.exists()
    cands = d / "cands.csv"
    fit = bl.load_fit(fit_nc)
    bl.design.isoflop_candidates(C=[3e19, 1e20], n_per_budget=5, fit=fit).to_csv(cands, index=False)
    (d / "unterminated.csv").write_text('N,D,loss\n"1e8,2e9,0.5\n')
    (d / "missing_loss.csv").write_text("N,D,loss\n1e8,2e9,\n2e8,2e9,0.5\n")
    (d / "text.csv").write_text("N,D,loss\nbig,2e9,0.5\n")
    (d / "empty.csv").write_text("")
    (d / "not_a_fit.nc").write_text("hello")
    return {"dir": d, "runs": runs_csv, "fit": fit_nc, "cands": cands}


def _one_line_error(capsys, argv, match: str):
    code = main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == EXIT_BAD_INPUT, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert "error" in lines[0] and match in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    "argv, match",
    [
        (["fit", "{dir}/nope.csv", "--out", "{dir}/x.nc"], "nope.csv' does not exist"),
        (["fit", "{runs}", "--law", "nolaw", "--out", "{dir}/x.nc"], "unknown law 'nolaw'"),
        (["fit", "{dir}/unterminated.csv", "--out", "{dir}/x.nc"], "could not parse"),
        (["fit", "{dir}/missing_loss.csv", "--out", "{dir}/x.nc"], "'loss' has missing values"),
        (["fit", "{dir}/text.csv", "--out", "{dir}/x.nc"], "'N'"),
        (["fit", "{dir}/empty.csv", "--out", "{dir}/x.nc"], "empty.csv' is empty"),
        (["fit", "{dir}", "--out", "{dir}/x.nc"], "is a folder"),
        (["fit", "{runs}", "--option", "floor", "--out", "{dir}/x.nc"], "takes KEY=VALUE"),
        (
            ["fit", "{runs}", "--law", "isoflop", "--option", "wiggle=1", "--out", "{dir}/x.nc"],
            "unknown option(s) ['wiggle']",
        ),
        (
            ["predict", "{fit}", "--N", "1e9", "--D", "1e10", "--extrapolation", "magic"],
            "invalid choice",
        ),
        (["predict", "{dir}/missing.nc", "--N", "1e9", "--D", "1e10"], "does not exist"),
        (["predict", "{dir}/not_a_fit.nc", "--N", "1e9", "--D", "1e10"], "not a readable fit file"),
        (["predict", "{fit}", "--N", "big", "--D", "1e10"], "--N takes numbers"),
        (["predict", "{fit}", "--N", "1e9"], "give exactly two of N, D, C"),
        (
            ["predict", "{fit}", "--N", "1e9", "--D", "1e10", "--ci", "2"],
            "ci must be a number in (0, 1)",
        ),
        (["allocate", "{fit}", "--C", "-1"], "C must be finite and positive"),
        (
            ["plot", "{fit}", "--kind", "bowls", "--out", "{dir}/b.png"],
            "law 'chinchilla' fits no LR x batch sweep",
        ),
        (["plot", "{fit}", "--kind", "wrong", "--out", "{dir}/b.png"], "invalid choice"),
        (["plot", "{fit}", "--kind", "isoflop", "--out", "{dir}/b.png"], "needs budgets"),
        (["design", "{fit}", "--candidates", "{dir}/nope.csv"], "does not exist"),
        (["design", "{fit}", "--candidates", "{dir}/unterminated.csv"], "could not parse"),
        (["design", "{fit}", "--candidates", "{dir}/empty.csv"], "is empty"),
        (
            ["design", "{fit}", "--candidates", "{cands}", "--hparams", "1e9", "1e10"],
            "needs a law that predicts 'eta_opt'",
        ),
        (["repro", "--only", "nopaper"], "unknown reproduction script"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_input_is_one_line(files, capsys, argv, match):
    argv = [a.format(**files) for a in argv]
    _one_line_error(capsys, argv, match)


def test_help_exits_zero(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("fit", "predict", "allocate", "design", "plot", "repro", "demo"):
        assert command in out


def test_predict_allocate_design_plot(files, capsys, tmp_path):
    fit = str(files["fit"])
    assert main(["predict", fit, "--N", "1.07e9", "--D", "1e10", "--ci", "0.8"]) == 0
    out = capsys.readouterr().out
    assert "median" in out and "N_outside_decades" in out

    argv = ["predict", fit, "--N", "1e10", "--D", "1e12", "--kind", "new_run"]
    assert main(argv + ["--extrapolation", "none"]) == 0
    assert "median" in capsys.readouterr().out

    assert main(["allocate", fit, "--C", "1e21", "1e22", "--tolerance", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "N_opt_lower" in out and out.count("NearOptimal(") == 2

    png = tmp_path / "design.png"
    argv = ["design", fit, "--candidates", str(files["cands"]), "--nopt", "1e22"]
    assert main(argv + ["--k", "2", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "info_per_flop" in out and "width_after[N_opt(C=1e+22)]" in out
    assert png.stat().st_size > 5_000

    for kind, extra in (
        ("fan", ["--runs", str(files["runs"])]),
        ("isoflop", ["--C", "1e19", "1e21"]),
        ("n_opt", ["--paper-laws", "--C", "1e22"]),
        ("pairs", ["--vars", "alpha", "beta"]),
    ):
        png = tmp_path / f"{kind}.png"
        assert main(["plot", fit, "--kind", kind, "--out", str(png)] + extra) == 0, kind
        assert png.stat().st_size > 5_000


def test_repro_runs_copies_of_the_scripts(tmp_path, capsys):
    """run_repro copies the scripts, runs them in the output folder with small-draw arguments,
    and reports failures; the source folder is left untouched."""
    from bayeslaws.app.repro import run_repro

    src = tmp_path / "src"
    src.mkdir()
    (src / "liang.py").write_text(
        "import sys, pathlib\n"
        "out = pathlib.Path(__file__).parent / 'results' / 'args.txt'\n"
        "out.write_text(' '.join(sys.argv[1:]))\n"
    )
    (src / "yin.py").write_text("raise SystemExit(3)\n")
    status = run_repro(tmp_path / "out", only=["liang", "yin"], draws=20, source=src)
    assert status["liang"] == "ok"
    assert status["yin"] == "failed (exit 3)"
    args = (tmp_path / "out" / "paper_repro" / "results" / "args.txt").read_text()
    assert args == "--draws 20"
    assert not (src / "results").exists()
    with pytest.raises(FileNotFoundError, match="checkout"):
        run_repro(tmp_path / "out2", source=tmp_path / "absent")


def test_demo_tiny(tmp_path, capsys):
    out = tmp_path / "demo"
    argv = ["demo", "--out", str(out), "--chains", "2", "--warmup", "100", "--draws", "100"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    report = (out / "report.txt").read_text()
    assert report in captured.out
    for text in (
        "SIMULATED",
        "eta_opt",
        "B_opt",
        "N_opt",
        "near-optimal",
        "Next best runs",
        "90% interval",
    ):
        assert text in report, text
    assert "[5/5" in captured.err  # progress
    for name in (
        "fan_loss_surface.png",
        "fan_hyperparams.png",
        "bowls.png",
        "isoflop.png",
        "n_opt.png",
        "pairs_hyperparams.png",
        "pairs_loss_surface.png",
        "design.png",
    ):
        assert (out / name).stat().st_size > 5_000, name
    fit = bl.load_fit(out / "hyperparams_fit.nc")
    assert fit.law.name == fit.record.law == "hyperparams"
    table = pd.read_csv(bl.runs.bundled.bundled_path("video_dit_sweep_simulated"))
    assert fit.record.data["n_rows_used"] == len(table)


def test_law_options_parse_booleans_numbers_and_strings():
    from bayeslaws.app.cli import _law_options

    parsed = _law_options(["loss_floor=true", "run_offsets=free", "window=0.05", "x=False"])
    assert parsed == {"loss_floor": True, "run_offsets": "free", "window": 0.05, "x": False}
    assert _law_options(None) is None
