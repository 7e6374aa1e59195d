"""The ``bayeslaws`` command line, through ``main([...])``: bad input gives one line on stderr
naming the problem and exit code 2 (never a traceback); the subcommands work on a small fit;
the demo runs end to end (both routes) in tests/test_report.py."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import paper_repro_script  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws.app.cli import EXIT_BAD_INPUT, main  # noqa: E402
from bayeslaws.runs import best_run_per_cell  # noqa: E402

TINY = ["--chains", "2", "--warmup", "150", "--draws", "150"]
MAPPED = {"N": "params", "D": "tokens", "loss": "val loss"}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A run table (each cell's best run of the bundled sweep), a fit of it, a candidates CSV
    and a few malformed files."""
    d = tmp_path_factory.mktemp("cli")
    runs_csv = d / "runs.csv"
    best = best_run_per_cell(bl.load_bundled()).df.reset_index(drop=True)
    best.to_csv(runs_csv, index=False)
    mapped_csv = d / "mapped.csv"  # the same runs under a user's own column names
    best.drop(columns="C").rename(columns=MAPPED).to_csv(mapped_csv, index=False)
    fit_nc = d / "fit.nc"
    code = main(["fit", str(runs_csv), "--law", "chinchilla", "--likelihood", "gaussian"] + TINY)
    assert code == EXIT_BAD_INPUT  # --out is required
    code = main(
        ["fit", str(mapped_csv), "--law", "chinchilla", "--likelihood", "gaussian"]
        + ["--column", "N=params", "--D", "tokens", "--column", "loss=val loss"]
        + ["--exclude-rows", "5", "--exclude-reason", "test: a row left out on purpose"]
        + ["--target-accept", "0.9", "--out", str(fit_nc)]
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
    mapped_cands = pd.read_csv(cands).rename(columns={"N": "params", "D": "tokens"})
    mapped_cands.to_csv(d / "cands_mapped.csv", index=False)
    return {
        "dir": d, "runs": runs_csv, "mapped": mapped_csv, "fit": fit_nc, "cands": cands,
        "cands_mapped": d / "cands_mapped.csv",
    }


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
        (["fit", "{runs}", "--out", "{runs}"], "is the run table itself"),
        (
            ["fit", "{runs}", "--column", "loss=val", "--loss", "loss", "--out", "{dir}/x.nc"],
            "column 'loss' is mapped twice",
        ),
        (["fit", "{runs}", "--out", "{cands}"], "not a saved fit"),
        (["fit", "{runs}", "--units", "N", "--out", "{dir}/x.nc"], "--units takes COLUMN="),
        (
            ["fit", "{dir}/missing_loss.csv", "--out", "{dir}/x.nc"],
            "--exclude-rows ROWS --exclude-reason",
        ),
        (["predict", "{fit}", "--N", "-7e9", "--D", "1e10"], "N must be finite and positive"),
        (["allocate", "{fit}", "--C", "1e22", "--tolerance", "5"], "--tolerance is a fraction"),
        (["repro", "--only", "nopaper"], "unknown reproduction script"),
        (["demo", "--route", "best-run"], "invalid choice: 'best-run'"),
        (
            ["design", "{fit}", "--candidates", "{cands}", "--cost", "nope"],
            "--cost 'nope' is neither 'flops', 'none' nor a column of the candidates",
        ),
        (
            ["design", "{fit}", "--isoflop", "1e19", "--compute-model", "-3"],
            "argument --compute-model: takes a positive number, got '-3'",
        ),
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

    # an input echoed exactly (131072-style), a derived one to 5 figures (D from N and C was
    # printed as 55555555555.55556)
    assert main(["predict", fit, "--N", "3e9", "--C", "1e21"]) == 0
    out = capsys.readouterr().out
    assert "5.5556e+10" in out and "55555555555" not in out and "3e+09" in out

    assert main(["allocate", fit, "--C", "1e21", "1e22", "--tolerance", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "N_opt_lower" in out and out.count("NearOptimal(") == 2
    assert "noise-free" in out and "--kind new_run" in out  # L_opt is no run's loss

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


def test_repro_runs_with_a_relative_out_folder(tmp_path, monkeypatch):
    """``bayeslaws repro`` with its default ``--out repro_output`` (relative): the scripts run
    with the output folder as working directory, so the path was resolved twice and every
    script failed (exit 2, "can't open file .../repro_output/repro_output/...")."""
    from bayeslaws.app.repro import run_repro

    src = tmp_path / "src"
    src.mkdir()
    (src / "liang.py").write_text("print('ran')\n")
    monkeypatch.chdir(tmp_path)
    status = run_repro("repro_output", only=["liang"], draws=20, source=src)
    assert status["liang"] == "ok"
    assert (tmp_path / "repro_output" / "paper_repro" / "liang.py").exists()


def test_law_options_parse_booleans_numbers_and_strings():
    from bayeslaws.app.cli.values import law_options

    parsed = law_options(["loss_floor=true", "run_offsets=free", "window=0.05", "x=False"])
    assert parsed == {"loss_floor": True, "run_offsets": "free", "window": 0.05, "x": False}
    assert law_options(None) is None


# ---- CLI parity with the API (issue 17): one test per item -----------------------------------
def test_column_mapping_on_every_command(files, capsys, tmp_path):
    """fit (--column and the --N shorthand), plot --runs, design --candidates and report
    --runs all read tables under the user's own column names."""
    fit = bl.load_fit(files["fit"])
    assert fit.n_runs == 15  # 16 cells, one row excluded
    mapping = ["--column", "N=params", "--column", "D=tokens", "--column", "loss=val loss"]
    png = tmp_path / "fan.png"
    argv = ["plot", str(files["fit"]), "--kind", "fan", "--runs", str(files["mapped"])]
    assert main(argv + mapping + ["--out", str(png)]) == 0
    assert png.stat().st_size > 5_000
    argv = ["design", str(files["fit"]), "--candidates", str(files["cands_mapped"])]
    argv += ["--column", "N=params", "--column", "D=tokens", "--nopt", "1e22", "--k", "2"]
    assert main(argv) == 0
    assert "width_after[N_opt(C=1e+22)]" in capsys.readouterr().out
    html = tmp_path / "r.html"
    argv = ["report", str(files["fit"]), "--runs", str(files["mapped"]), "--out", str(html)]
    assert main(argv + mapping) == 0
    assert html.exists()
    # without the mapping the error says how to map on the command line (not Python syntax)
    line = _one_line_error(
        capsys, ["fit", str(files["mapped"]), "--out", str(tmp_path / "x.nc")], "--column loss=NAME"
    )
    assert "loss='" not in line and "N=," not in line
    _one_line_error(
        capsys,
        ["plot", str(files["fit"]), "--kind", "fan", "--runs", str(files["mapped"]),
         "--out", str(png), "--column", "size=params"],
        "'size' is not one of",
    )


def test_candidate_generation(files, capsys, tmp_path):
    """isoFLOP lines and LR x batch sweeps from the command line, as a CSV or straight into
    design; the same tables as the API's generators."""
    fit = bl.load_fit(files["fit"])
    out = tmp_path / "iso.csv"
    argv = ["candidates", str(files["fit"]), "--isoflop", "3e19", "1e20", "--n-per-budget", "4"]
    assert main(argv + ["--out", str(out)]) == 0
    cands = pd.read_csv(out)
    api = bl.design.isoflop_candidates(C=[3e19, 1e20], n_per_budget=4, fit=fit)
    pd.testing.assert_frame_equal(cands[["N", "D", "C"]], api[["N", "D", "C"]], rtol=1e-9)
    argv = ["design", str(files["fit"]), "--isoflop", "3e19", "--nopt", "1e22", "--k", "2"]
    assert main(argv) == 0
    assert "the batch (picked together" in capsys.readouterr().out
    sweeps = tmp_path / "sweeps.csv"
    argv = ["candidates", str(files["fit"]), "--sweep", "5e8", "4e9", "--sweep", "1e9", "1e10"]
    argv += ["--lr-grid", "1e-4", "2e-4", "4e-4", "--batch-grid", "8e4", "1.6e5"]
    assert main(argv + ["--out", str(sweeps)]) == 0
    table = pd.read_csv(sweeps)
    api = bl.design.hyperparameter_candidates(
        [5e8, 1e9], [4e9, 1e10], lr=[1e-4, 2e-4, 4e-4], batch_size=[8e4, 1.6e5], fit=fit
    )
    assert len(table) == len(api) == 12 and table["unit"].nunique() == 2
    cols = ["N", "D", "C", "lr", "batch_size"]
    pd.testing.assert_frame_equal(table[cols], api[cols], rtol=1e-9)
    _one_line_error(capsys, ["candidates", str(files["fit"]), "--out", str(out)], "--isoflop")
    _one_line_error(  # a sweep centred on eta_opt needs a hyperparameter fit
        capsys,
        ["candidates", str(files["fit"]), "--sweep", "1e9", "1e10", "--out", str(out)],
        "hyperparameter law",
    )


def test_row_exclusion_is_recorded_with_its_reason(files, capsys, tmp_path):
    fit = bl.load_fit(files["fit"])
    (ex,) = fit.record.data["exclusions"]
    assert ex["count"] == 1 and "test: a row left out on purpose (rows 5;" in ex["reason"]
    assert fit.record.data["n_input_rows"] == 16 and fit.record.data["n_rows_used"] == 15
    base = ["fit", str(files["runs"]), "--out", str(tmp_path / "x.nc")]
    _one_line_error(capsys, base + ["--exclude-rows", "3"], "needs --exclude-reason")
    _one_line_error(
        capsys, base + ["--exclude-rows", "99", "--exclude-reason", "x"], "no row(s) [99]"
    )
    _one_line_error(capsys, base + ["--exclude-reason", "x"], "without --exclude-rows")
    # a missing N (not loss) with --exclude-rows for another row: the first read's message, as
    # a command-line error; no --exclude-rows hint, which cannot leave out a run without N
    holed = tmp_path / "holed.csv"
    pd.read_csv(files["runs"]).assign(N=lambda t: t["N"].where(t.index != 2)).to_csv(holed)
    for rows in (["5"], ["2"]):
        line = _one_line_error(
            capsys,
            ["fit", str(holed), "--out", str(tmp_path / "y.nc"), "--exclude-rows", *rows,
             "--exclude-reason", "x"],  # fmt: skip
            "column 'N' has missing values",
        )
        assert "--exclude-rows" not in line


def test_sampler_options(files, capsys, tmp_path):
    sampler = bl.load_fit(files["fit"]).record.sampler
    assert sampler.target_accept == 0.9
    assert (sampler.chains, sampler.warmup, sampler.draws) == (2, 150, 150)
    main(["fit", "--help"])
    out = capsys.readouterr().out
    for option in ("--target-accept", "--dense-mass", "--chains", "--warmup", "--draws", "--seed"):
        assert option in out, option
    base = ["fit", str(files["runs"]), "--out", str(tmp_path / "x.nc")]
    _one_line_error(capsys, base + ["--target-accept", "1.5"], "target_accept must be")


def test_help_shows_defaults(capsys):
    from bayeslaws.posterior.extrapolation import DEFAULT_METHOD

    main(["fit", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for text in ("(default: chinchilla)", "(default: the law's own", "(default: 1000)",
                 "(default: the law's own, 0.8"):
        assert text in out, text
    main(["predict", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert f"(default: {DEFAULT_METHOD})" in out and "(default: 0.9)" in out
    main(["demo", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: 500)" in out
    assert "--route {joint,best-cell}" in out and "(default: joint)" in out


def test_demo_route_reaches_run_demo(monkeypatch):
    """'bayeslaws demo' passes --route (default joint) to run_demo, which refuses an unknown
    route by name; both routes run end to end in tests/test_report.py."""
    from bayeslaws.app import demo

    seen = []
    monkeypatch.setattr(demo, "run_demo", lambda out, **kw: seen.append(kw["route"]) or "")
    assert main(["demo", "--no-figures"]) == 0
    assert main(["demo", "--route", "best-cell", "--no-figures"]) == 0
    assert seen == ["joint", "best-cell"]
    with pytest.raises(ValueError, match="route must be one of"):
        demo.check_route("best_cell")


def test_law_help_lists_every_registered_law(capsys):
    from bayeslaws.laws import LAWS

    main(["fit", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for name, law in LAWS.items():
        assert f"{name} ({law.description})" in out, name


def test_fit_file_holds_the_model_discrepancy(files):
    """'bayeslaws fit' prepares the default model discrepancy before saving: a new_run
    prediction from the saved file computes nothing new."""
    fit = bl.load_fit(files["fit"])
    before = set(fit.cache.keys())
    assert before  # something was prepared and saved
    bl.predict(fit, N=1e10, D=1e12, kind="new_run")
    assert set(fit.cache.keys()) == before
    # and the check can fail: the same fit without its cache computes it on first use
    from bayeslaws.inference import Fit

    bare = Fit(fit.idata, fit.record)
    assert not set(bare.cache.keys())
    bl.predict(bare, N=1e10, D=1e12, kind="new_run")
    assert set(bare.cache.keys()) == before


@pytest.mark.shared
def test_epoch_table_through_the_cli(tmp_path, capsys):
    """Epoch AI's raw digitised Chinchilla table through the CLI: its own column names mapped on
    the command line and its 5 highest-loss rows excluded there, as Epoch did. The fit is the
    one of the API's bundled loader (same rows) and lands on Epoch's published refit."""
    from bayeslaws.runs import bundled, published

    try:
        path = bundled.shared_data_dir() / "epoch_chinchilla" / "svg_extracted_data.csv"
    except bundled.SharedDataMissing as err:
        pytest.skip(f"../shared/data is absent: {err}")
    raw = pd.read_csv(path)
    worst = raw.index[raw["loss"].rank(ascending=False, method="first") <= 5]
    out = tmp_path / "epoch.nc"
    argv = ["fit", str(path), "--law", "chinchilla", "--likelihood", "huber"]
    argv += ["--column", "N=Model Size", "--column", "C=Training FLOP", "--column", "loss=loss"]
    argv += ["--exclude-rows", *map(str, worst), "--exclude-reason", "the 5 highest-loss points"]
    argv += ["--chains", "1", "--warmup", "150", "--draws", "150", "--no-discrepancy"]
    argv += ["--out", str(out)]
    assert main(argv) == 0
    fit = bl.load_fit(out)
    api = bundled.epoch_chinchilla()  # drops the same 5 rows
    assert fit.n_runs == len(api) == len(raw) - 5
    np.testing.assert_allclose(
        np.sort(fit.record.training_runs["N"]), np.sort(api.df["N"]), rtol=1e-12
    )
    summary = fit.summary(ci=0.95)
    for name in ("alpha", "beta", "E"):
        value, low, high = published.EPOCH_CHINCHILLA[name]
        median = summary.loc[name, "50%"]
        assert low <= median <= high, (name, median, (low, high))


def _read(argv):
    from bayeslaws.app.cli import build_parser
    from bayeslaws.app.cli.run_tables import read_runs

    args = build_parser().parse_args(argv)
    return read_runs(args.runs, args)


def test_runs_without_a_loss_can_be_excluded_on_the_command_line(files):
    """A run with no loss is refused unless the user leaves it out with --exclude-rows, which
    reads it, records the exclusion and keeps the rest; leaving out another row still fails."""
    from bayeslaws.app.cli import CLIError

    table = pd.read_csv(files["runs"])
    table.loc[3, "loss"] = np.nan
    path = files["dir"] / "one_missing.csv"
    table.to_csv(path, index=False)
    base = ["fit", str(path), "--out", str(files["dir"] / "x.nc")]
    runs = _read(base + ["--exclude-rows", "3", "--exclude-reason", "no loss logged"])
    assert len(runs.df) == len(table) - 1 and runs.df["loss"].notna().all()
    assert "no loss logged" in runs.exclusions[-1].reason
    with pytest.raises(CLIError, match="'loss' has missing values"):
        _read(base + ["--exclude-rows", "4", "--exclude-reason", "another"])


def test_exclude_rows_hint_only_where_it_works(files):
    """The --exclude-rows hint follows a missing loss (under the user's own column name too,
    where --exclude-rows then works), never a missing N, D or C, which it cannot leave out."""
    from bayeslaws.app.cli import CLIError

    table = pd.read_csv(files["mapped"])
    table.loc[3, "val loss"] = np.nan
    path = files["dir"] / "mapped_missing_loss.csv"
    table.to_csv(path, index=False)
    base = ["fit", str(path), "--out", str(files["dir"] / "x.nc"), "--D", "tokens"]
    base += ["--column", "N=params", "--column", "loss=val loss"]
    with pytest.raises(CLIError, match=r"'val loss' \(loss\) has missing values") as err:
        _read(base)
    assert "--exclude-rows ROWS --exclude-reason" in str(err.value)
    runs = _read(base + ["--exclude-rows", "3", "--exclude-reason", "no loss logged"])
    assert len(runs.df) == len(table) - 1 and runs.df["loss"].notna().all()
    holed = files["dir"] / "no_tokens.csv"
    table = pd.read_csv(files["runs"]).drop(columns="C")
    table.assign(D=table["D"].where(table.index != 2)).to_csv(holed, index=False)
    with pytest.raises(CLIError, match="column 'D' has missing values") as err:
        _read(["fit", str(holed), "--out", str(files["dir"] / "x.nc")])
    assert "--exclude-rows" not in str(err.value)


def test_units_and_compute_model_options(files):
    """--units reads N given in millions; --compute-model sets C = K N D."""
    table = pd.read_csv(files["runs"])
    path = files["dir"] / "millions.csv"
    table.drop(columns="C").assign(N=table["N"] / 1e6).to_csv(path, index=False)
    base = ["fit", str(path), "--out", str(files["dir"] / "x.nc")]
    runs = _read(base + ["--units", "N=millions"])
    np.testing.assert_allclose(runs.df["N"], table["N"], rtol=1e-12)
    runs = _read(base + ["--units", "N=1e6", "--compute-model", "8"])
    np.testing.assert_allclose(runs.df["C"], 8 * table["N"] * table["D"], rtol=1e-9)


def test_python_remedies_get_their_command_line_form():
    from bayeslaws.app.cli import with_cli_hints

    hinted = with_cli_hints("N looks like millions; pass units={'N': 'millions'}")
    assert "--units COLUMN=MULTIPLIER" in hinted
    assert with_cli_hints("column 'Size' (given for N) is not in the table").endswith(
        "(columns: N, D, C, loss, lr, batch_size, group)"
    )
    assert with_cli_hints("nothing to add") == "nothing to add"
    # a remedy given in both forms keeps the command-line one only
    both = with_cli_hints(
        "no lr column; pass lr='name' (Python: load_runs(..., lr='name'); command line: --lr "
        "NAME or --column lr=NAME)"
    )
    assert both == "no lr column; on the command line: --lr NAME or --column lr=NAME"
    # ... also when the message had no "pass ..." before it (a separator, not a bare space)
    two = with_cli_hints("found only N (Python: load_runs(N=...); command line: --N NAME)")
    assert two == "found only N; on the command line: --N NAME"


def test_fit_uses_the_laws_own_likelihood_by_default(files, tmp_path):
    """Without --likelihood each law gets its own default (the two-stage law supports only
    'gaussian'; a fixed CLI default of 'huber' made it fail)."""
    sweep = tmp_path / "sweep.csv"
    bl.load_bundled().df.to_csv(sweep, index=False)
    out = tmp_path / "two_stage.nc"
    assert main(["fit", str(sweep), "--law", "hyperparams_two_stage", "--out", str(out)]) == 0
    assert bl.load_fit(out).likelihood == "gaussian"


def test_grouped_fit_predicts_a_fitted_group_or_says_it_is_new(files, capsys, tmp_path):
    table = pd.read_csv(files["runs"])
    grouped = tmp_path / "grouped.csv"
    table.assign(group=np.where(np.arange(len(table)) % 2, "a", "b")).to_csv(grouped, index=False)
    out = tmp_path / "grouped.nc"
    fit_args = ["--likelihood", "gaussian", "--no-discrepancy", "--chains", "1"]
    assert main(["fit", str(grouped), "--out", str(out), *fit_args] + TINY[2:]) == 0
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["predict", str(out), "--N", "1e9", "--D", "2e10"]) == 0
        assert main(["allocate", str(out), "--C", "1e21", "--near-optimal"]) == 0
    new = capsys.readouterr()
    assert "answer is for a NEW group" in new.err
    # said once, by the command's note: not again as the Python API's warning
    assert not [w for w in caught if "NEW, unseen group" in str(w.message)]
    lines = tmp_path / "lines.csv"
    argv = ["candidates", str(out), "--out", str(lines), "--isoflop", "1e20"]
    with pytest.warns(UserWarning, match="centre on a NEW group"):
        assert main(argv) == 0
    new_centre = pd.read_csv(lines)["N"].median()
    assert main(argv + ["--group", "a"]) == 0  # centred on group a's N_opt(1e20)
    expected = bl.optimal_allocation(bl.load_fit(out), C=1e20, group="a")["N_opt"].iloc[0]
    assert pd.read_csv(lines)["N"].median() == pytest.approx(expected, rel=1e-6)
    assert new_centre != pytest.approx(expected, rel=1e-3)
    capsys.readouterr()
    assert main(["predict", str(out), "--N", "1e9", "--D", "2e10", "--group", "a"]) == 0
    fitted = capsys.readouterr()
    assert "NEW group" not in fitted.err and " a " in fitted.out.splitlines()[1]
    assert main(["allocate", str(out), "--C", "1e21", "--group", "b"]) == 0


def test_design_says_which_target_it_aims_at(files, capsys):
    argv = ["design", str(files["fit"]), "--candidates", str(files["cands"]), "--k", "1"]
    assert main(argv) == 0
    assert "target: all of the law's parameters (the default" in capsys.readouterr().err
    assert main(argv + ["--nopt", "1e22"]) == 0
    assert "target:" not in capsys.readouterr().err


def test_predict_passes_lr_and_batch_size_to_the_law(files, capsys, monkeypatch):
    """--lr/--batch-size reach bl.predict (sweep and hyperparams fits price a planned setting);
    a law without those inputs says so in one line."""
    _one_line_error(
        capsys,
        ["predict", str(files["fit"]), "--N", "1e9", "--D", "1e10", "--lr", "3e-4",
         "--batch-size", "131072"],
        "unknown query input(s) ['batch_size', 'lr'] for law 'chinchilla'",
    )  # fmt: skip
    seen = {}
    monkeypatch.setattr(bl, "predict", lambda fit, **kw: seen.update(kw) or pd.DataFrame())
    argv = ["predict", str(files["fit"]), "--N", "1e9", "--D", "1e10", "--lr", "3e-4", "1e-3"]
    assert main(argv + ["--batch-size", "131072", "262144"]) == 0
    assert seen["lr"] == [3e-4, 1e-3] and seen["batch_size"] == [131072.0, 262144.0]


def _design_candidates(monkeypatch, argv):
    """The candidates ``bayeslaws design`` hands to next_runs, its batch, and its exit code."""
    real = bl.design.next_runs
    seen = {}

    def capture(fit, cands, target=None, **kwargs):
        seen["cands"] = cands
        seen["plan"] = real(fit, cands, target, **kwargs)
        return seen["plan"]

    monkeypatch.setattr(bl.design, "next_runs", capture)
    return main(argv + ["--k", "1", "--nopt", "1e22"]), seen


def test_design_applies_units_and_compute_model(files, monkeypatch, capsys):
    """--units and --compute-model reach the candidates: a file with N in millions; isoFLOP
    lines whose D follows C = K N D; a file's C in K N D, which the runs are costed by."""
    table = pd.read_csv(files["cands"])
    path = files["dir"] / "cands_millions.csv"
    table.assign(N=table["N"] / 1e6).to_csv(path, index=False)
    argv = ["design", str(files["fit"]), "--candidates", str(path), "--units", "N=millions"]
    code, seen = _design_candidates(monkeypatch, argv)
    assert code == 0, capsys.readouterr().err
    np.testing.assert_allclose(seen["cands"]["N"], table["N"], rtol=1e-12)
    argv = ["design", str(files["fit"]), "--isoflop", "1e20", "--compute-model", "100"]
    code, seen = _design_candidates(monkeypatch, argv + ["--n-per-budget", "3"])
    assert code == 0, capsys.readouterr().err
    cands = seen["cands"]
    np.testing.assert_allclose(100 * cands["N"] * cands["D"], 1e20, rtol=1e-9)
    np.testing.assert_allclose(seen["plan"]["flops"], 1e20, rtol=1e-9)  # costed by 100 N D
    path = files["dir"] / "cands_100nd.csv"
    table.assign(D=1e20 / (100 * table["N"]), C=1e20).to_csv(path, index=False)
    argv = ["design", str(files["fit"]), "--candidates", str(path)]
    code, seen = _design_candidates(monkeypatch, argv + ["--compute-model", "100"])
    assert code == 0, capsys.readouterr().err
    np.testing.assert_allclose(seen["plan"]["flops"], 1e20, rtol=1e-9)
    # without it the file's C disagrees with the fit's 6 N D: said, not ignored
    _one_line_error(capsys, argv + ["--nopt", "1e22"], "disagree with the fit's compute model 6ND")
    _one_line_error(capsys, argv + ["--units", "lr=2"], "no lr column")


def test_candidates_refuse_a_step_of_one_or_less(files, capsys, tmp_path):
    out = str(tmp_path / "sweeps.csv")
    for option, value in (("--lr-step", "0"), ("--batch-step", "1"), ("--lr-step", "-2")):
        argv = ["candidates", str(files["fit"]), "--sweep", "1e9", "1e10", option, value]
        name = option[2:].replace("-", "_")
        _one_line_error(capsys, argv + ["--out", out], f"{name} must be a finite number > 1")


# ---- outputs, options that apply, and intervals as stated ------------------------------------
def test_report_refuses_to_overwrite_its_fit_or_a_non_html_file(files, capsys, tmp_path):
    """'report --out' may replace an earlier report, never the fit itself or a data file; the
    refusal comes before any work."""
    import shutil

    fit = tmp_path / "g.nc"
    shutil.copy(files["fit"], fit)
    before = fit.read_bytes()
    _one_line_error(capsys, ["report", str(fit), "--out", str(fit)], "is the fit file itself")
    assert fit.read_bytes() == before
    table = tmp_path / "runs.csv"
    shutil.copy(files["runs"], table)
    text = table.read_text()
    _one_line_error(capsys, ["report", str(fit), "--out", str(table)], "not an HTML page")
    assert table.read_text() == text and not (tmp_path / "runs_figures").exists()
    other = tmp_path / "h.nc"  # another fit, named in --out: refused as well
    shutil.copy(files["fit"], other)
    _one_line_error(capsys, ["report", str(fit), "--out", str(other)], "not an HTML page")
    assert other.read_bytes() == before


@pytest.mark.parametrize(
    "argv, match",
    [
        (["plot", "{fit}", "--kind", "fan", "--C", "1e20"], "--C applies to --kind isoflop and "
         "n_opt only"),
        (["plot", "{fit}", "--kind", "fan", "--vars", "alpha"], "--vars applies to --kind pairs"),
        (["plot", "{fit}", "--kind", "fan", "--paper-laws"], "--paper-laws applies to --kind "
         "n_opt"),
        (["plot", "{fit}", "--kind", "pairs", "--target", "1e9", "1e10"], "--target applies to "
         "--kind fan only"),
        (["plot", "{fit}", "--kind", "n_opt", "--fan-kind", "new_run"], "--fan-kind applies to "
         "--kind fan only"),
        (["plot", "{fit}", "--kind", "isoflop", "--C", "1e20", "--runs", "{runs}"], "--runs "
         "applies to --kind fan and bowls only"),
        (["plot", "{fit}", "--kind", "pairs", "--runs", "{runs}"], "--runs applies to"),
        (["plot", "{fit}", "--kind", "fan", "--exclude-rows", "3", "--exclude-reason", "x"],
         "--exclude-rows needs --runs"),
        (["plot", "{fit}", "--kind", "fan", "--exclude-reason", "x"], "--exclude-reason needs "
         "--runs"),
        (["plot", "{fit}", "--kind", "fan", "--column", "N=params"], "--column needs --runs"),
        (["plot", "{fit}", "--kind", "fan", "--compute-model", "8"], "--compute-model needs "
         "--runs"),
        (["report", "{fit}", "--exclude-rows", "3", "--exclude-reason", "x"], "--exclude-rows "
         "needs --runs"),
        (["report", "{fit}", "--units", "N=millions"], "--units needs --runs"),
        (["report", "{fit}", "--column", "N=params"], "--column needs --runs"),
        (["report", "{fit}", "--known-label", "Epoch"], "--known-label needs --known"),
    ],
)
def test_options_that_do_not_apply_are_errors(files, capsys, argv, match):
    """plot and report name an option that the chosen figure (or a missing --runs) leaves
    unused, instead of ignoring it and exiting 0."""
    out = files["dir"] / ("unused.png" if argv[0] == "plot" else "unused.html")
    argv = [a.format(**files) for a in argv] + ["--out", str(out)]
    _one_line_error(capsys, argv, match)
    assert not out.exists()


def test_report_draws_every_interval_at_its_ci(files, capsys, monkeypatch, tmp_path):
    """'All intervals are central 80% ...': the figures draw 80% intervals, none at 90%."""
    from bayeslaws import plot

    seen = {}
    real = plot.save

    def record(fig, path, **kwargs):
        texts = [fig._suptitle.get_text() if fig._suptitle is not None else ""]
        for ax in fig.axes:
            texts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
            legend = ax.get_legend()
            texts += [t.get_text() for t in legend.get_texts()] if legend is not None else []
        seen[path.name] = " ".join(texts)
        return real(fig, path, **kwargs)

    monkeypatch.setattr(plot, "save", record)
    html = tmp_path / "r.html"
    argv = ["report", str(files["fit"]), "--ci", "0.8", "--C", "1e21", "--target", "1e9", "1e10"]
    assert main(argv + ["--out", str(html)]) == 0, capsys.readouterr().err
    assert "All intervals are central 80% posterior credible intervals" in capsys.readouterr().out
    assert {"fan.png", "isoflop.png"} <= set(seen), seen
    for name in ("fan.png", "isoflop.png"):
        assert "80%" in seen[name] and "90%" not in seen[name], (name, seen[name])


def test_allocate_band_options_imply_near_optimal(files, capsys):
    """--prob and --relative-to are near-optimal band options: given alone they ask for the
    band (as --tolerance does), and a bad --prob is refused before any table is printed."""
    fit = str(files["fit"])
    assert main(["allocate", fit, "--C", "1e22", "--prob", "0.8"]) == 0
    out = capsys.readouterr().out
    assert out.count("NearOptimal(") == 1 and "prob>=0.8" in out
    assert main(["allocate", fit, "--C", "1e22", "--relative-to", "total"]) == 0
    out = capsys.readouterr().out
    assert out.count("NearOptimal(") == 1 and "of the total loss" in out
    assert main(["allocate", fit, "--C", "1e22"]) == 0  # no band option: the table alone
    assert "NearOptimal(" not in capsys.readouterr().out
    for bad in ("1.5", "0", "1"):
        code = main(["allocate", fit, "--C", "1e22", "--prob", bad])
        captured = capsys.readouterr()
        assert code == EXIT_BAD_INPUT and captured.out == "", captured
        assert len(captured.err.splitlines()) == 1 and "--prob" in captured.err, captured.err
    from bayeslaws.posterior import SearchEdgeWarning

    narrow = ["--span-decades", "0.01", "--tolerance", "1"]  # every size searched passes
    with pytest.warns(SearchEdgeWarning, match="a span_decades above 0.01"):  # it is used
        assert main(["allocate", fit, "--C", "1e22", *narrow]) == 0
    assert capsys.readouterr().out.count("NearOptimal(") == 1
    code = main(["allocate", fit, "--C", "1e22", "--span-decades", "-1"])
    captured = capsys.readouterr()
    assert code == EXIT_BAD_INPUT and captured.out == "" and "--span-decades" in captured.err
    main(["allocate", "--help"])
    assert "implies --near-optimal" in " ".join(capsys.readouterr().out.split()).replace(
        "--near- optimal", "--near-optimal"
    )


@pytest.mark.parametrize("text, expected", [
    (None, ("published", "published")),
    ("Epoch AI 2024", ("Epoch AI 2024", "published")),
    ("simulator:truth", ("simulator", "truth")),
    ("Hoffmann et al.: Chinchilla", ("Hoffmann et al.: Chinchilla", "published")),
    ("Besiroglu et al.: refit:published", ("Besiroglu et al.: refit", "published")),
])
def test_known_label_keeps_colons_that_do_not_name_a_kind(text, expected):
    """A colon inside a citation belongs to the label; only a trailing ':truth' or
    ':published' sets the kind (it used to cut the label at the first colon)."""
    from bayeslaws.app.cli.figure_commands import _known_label

    assert _known_label(text) == expected


def test_repro_takes_one_name_as_a_string_and_lists_the_valid_names(tmp_path):
    """run_repro(only="liang") iterated the string's letters ('l', 'i', ...) and refused them;
    one name now runs that script, and an unknown name is refused naming only and listing
    the valid ones."""
    import io

    from bayeslaws.app.repro import SCRIPTS, run_repro

    src = tmp_path / "src"
    src.mkdir()
    (src / "liang.py").write_text("pass\n")
    status = run_repro(tmp_path / "out", only="liang", draws=20, source=src, stream=io.StringIO())
    assert status["liang"] == "ok" and set(status) <= {"liang", "make_readme"}
    for only in ("yni", ["yin", "chinchilla"], []):
        with pytest.raises(ValueError, match="only: ") as err:
            run_repro(tmp_path / "out", only=only, source=src)
        assert all(name in str(err.value) for name in SCRIPTS), err.value


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--budget", "0"], "--budget"),
        (["--budget", "nan"], "--budget"),
        (["--target-N", "-1e9"], "--target-N"),
        (["--target-D", "0"], "--target-D"),
        (["--tolerance", "3"], "--tolerance"),
    ],
)
def test_demo_refuses_bad_planning_input_before_fitting(argv, flag, capsys, monkeypatch, tmp_path):
    """'bayeslaws demo --budget 0' (or a bad target or tolerance) failed only after the NUTS
    fit, naming C; now it fails at once, in one line naming the flag."""
    from bayeslaws.app import demo

    def no_fit(*args, **kwargs):
        raise AssertionError("fitted before the inputs were checked")

    monkeypatch.setattr(demo, "fit_laws", no_fit)
    line = _one_line_error(capsys, ["demo", "--out", str(tmp_path), "--no-figures", *argv], flag)
    assert "AssertionError" not in line


def test_demo_passes_dense_mass_to_the_fit(capsys, monkeypatch, tmp_path):
    """'bayeslaws demo --dense-mass true' ended in "run_demo() got an unexpected keyword
    argument 'dense_mass'"; the setting now reaches the fit."""
    from bayeslaws.app import demo

    seen = []

    def stop(runs, sampler, route):
        seen.append(sampler)
        raise ValueError("probe: stopped after the sampler settings")

    monkeypatch.setattr(demo, "fit_laws", stop)
    argv = ["demo", "--out", str(tmp_path), "--no-figures", "--dense-mass", "true"]
    assert main(argv + TINY) == EXIT_BAD_INPUT
    assert "error: probe" in capsys.readouterr().err
    assert seen and seen[0]["dense_mass"] is True and seen[0]["draws"] == 150


# ---- paper_repro: the reproduction scripts' writers and make_readme.py ---------------------------
from pathlib import Path  # noqa: E402

PAPER_REPRO_DIR = Path(__file__).resolve().parents[1] / "paper_repro"


@pytest.mark.parametrize("only", ["hyperparams", "epoch"])
def test_repro_writes_the_readme_for_every_script_make_readme_tabulates(
    only, tmp_path, monkeypatch
):
    """'bayeslaws repro --only hyperparams' skipped make_readme.py saying its results could not
    be tabulated (they are: one table each), and '--only epoch' wrote no README at all (only
    yin, liang and porian counted); now make_readme.py runs whenever a script succeeded."""
    import io
    import shutil

    from bayeslaws.app import repro

    monkeypatch.setattr(repro, "_shared_available", lambda: True)  # epoch's stand-in needs none
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(PAPER_REPRO_DIR / "make_readme.py", src / "make_readme.py")
    (src / f"{only}.py").write_text(  # a stand-in: writes one small results table, no fits
        "import pathlib\n"
        "out = pathlib.Path(__file__).parent / 'results'\n"
        f"(out / '{only}_standin.csv').write_text('parameter,truth\\nalpha,0.34\\n')\n"
    )
    status = repro.run_repro(
        tmp_path / "out", only=only, draws=10, source=src, stream=io.StringIO()
    )
    assert status[only] == "ok"
    assert status.get("make_readme") == "ok", status
    readme = (tmp_path / "out" / "paper_repro" / "README.md").read_text()
    assert f"results/{only}_standin.csv" in readme and "| alpha | 0.34 |" in readme


def test_repro_skips_the_readme_when_no_script_succeeded(tmp_path):
    import io

    from bayeslaws.app.repro import run_repro

    src = tmp_path / "src"
    src.mkdir()
    (src / "make_readme.py").write_text("raise SystemExit('must not run')\n")
    (src / "liang.py").write_text("raise SystemExit(3)\n")
    status = run_repro(tmp_path / "out", only="liang", draws=10, source=src, stream=io.StringIO())
    assert status == {"liang": "failed (exit 3)"}


def _fake_yin_parts(yin):
    """Stand-ins for yin.part2 / yin.part3 (no fits): every quantity main() summarises, two
    replicates, with per-replicate R-hat and divergences."""
    names = yin.headline_budgets()

    def part2(replicates, hp_replicates, draws, hp_draws, budgets, tolerances, **kwargs):
        rows = []
        for r in range(replicates):
            base = {"replicate": r, "r_hat": 1.0 + 0.5 * r, "divergences": 3 * r}
            for name, C in names.items():
                rows.append({**base, "quantity": f"N_opt {name}", "C": C, "median": 2e9 + r,
                             "lower": 1e9, "upper": 4e9, "truth": 2.4e9})
            for tol in tolerances:
                for prob in yin.PROBS:
                    rows.append({**base, "quantity": f"near-optimal {tol:g} prob {prob:g}",
                                 "C": yin.C_1E22, "median": -0.4, "excess": tol, "truth": -0.4})
        out = pd.DataFrame(rows)
        out["covered"] = yin.interval_covers(out)  # as part2: blank where no interval
        return out

    def part3(replicates, draws, budgets):
        rows = [
            {"replicate": r, "setting": s, "budget": name, "median": m, "lower": m - 1,
             "upper": m + 1, "r_hat": 1.2, "divergences": 1}
            for r in range(replicates)
            for name in names
            for s, m in (("optimal", 2e9), ("fixed", 5e9), ("optimal/fixed - 1", -0.6))
        ]
        out = pd.DataFrame(rows)
        lr, batch = yin.fixed_setting(yin.sim.VideoDiTTruth())
        out["lr_fixed"], out["batch_fixed"] = lr, batch
        return out

    return part2, part3


def test_yin_writes_one_detail_table_that_read_csv_reads(tmp_path, monkeypatch):
    """yin.py appended part 3 to yin_detail.csv under a second header of other columns, so
    pd.read_csv shifted the part-3 rows into part 2's columns and read the numbers as text; it
    now writes one table (the union of the columns, a 'part' column)."""
    yin = paper_repro_script("yin")
    part2, part3 = _fake_yin_parts(yin)
    monkeypatch.setattr(yin, "part2", part2)
    monkeypatch.setattr(yin, "part3", part3)
    monkeypatch.setattr(yin, "RESULTS", tmp_path)
    yin.main(["--replicates", "2", "--fixed-replicates", "2"])
    detail = pd.read_csv(tmp_path / "yin_detail.csv")
    assert detail["part"].tolist() == [2] * 24 + [3] * 12  # 2 x (2 N_opt + 5 x 2 bands)
    for col in ("median", "r_hat", "divergences", "lower", "upper"):
        assert pd.api.types.is_float_dtype(detail[col]) or pd.api.types.is_integer_dtype(
            detail[col]
        ), col
    p3 = detail[detail["part"] == 3]
    assert set(p3["setting"]) == {"optimal", "fixed", "optimal/fixed - 1"}
    assert p3["lr_fixed"].notna().all() and p3["quantity"].isna().all()
    # read back part by part: the same rows the writer was given
    p2_back, p3_back = yin.read_detail(tmp_path / "yin_detail.csv")
    pd.testing.assert_frame_equal(
        p2_back, part2(2, 0, 0, 0, None, (0.0003, 0.0005, 0.001, 0.005, 0.01)), check_dtype=False
    )
    p3_given = part3(2, 0, None)
    pd.testing.assert_frame_equal(p3_back[p3_given.columns], p3_given, check_dtype=False)


def test_yin_reads_and_repairs_the_old_two_header_detail(tmp_path):
    """The committed yin_detail.csv had part 3 appended under a second header; read_detail
    parses each block on its own and write_detail turns them into the one table."""
    yin = paper_repro_script("yin")
    part2, part3 = _fake_yin_parts(yin)
    p2, p3 = part2(1, 0, 0, 0, None, (0.01,)), part3(1, 0, None)
    old = tmp_path / "yin_detail.csv"
    p2.assign(part=2).to_csv(old, index=False)
    p3.assign(part=3).to_csv(old, mode="a", index=False)  # the old writer
    a, b = yin.read_detail(old)
    pd.testing.assert_frame_equal(a, p2, check_dtype=False)
    pd.testing.assert_frame_equal(b, p3, check_dtype=False)
    yin.write_detail(a, b, old)
    table = pd.read_csv(old)
    assert table["part"].tolist() == [2] * len(p2) + [3] * len(p3)
    assert table.loc[table["part"] == 3, "median"].tolist() == p3["median"].tolist()


def test_yin_fixed_setting_optimum_is_not_the_search_grid_edge():
    """truth_fixed_n_opt searched N in 1e7..1e13 and returned the edge, 1e13, at the Movie Gen
    budget (the true minimum is 2.47e13); the search now widens until the minimum is inside."""
    yin = paper_repro_script("yin")
    truth = yin.sim.VideoDiTTruth()
    lr, batch = yin.fixed_setting(truth)
    _, c_mg = yin.headline_budgets().values()
    for C in (1e22, c_mg):
        N = np.logspace(7, 18, 110001)  # a wide, fine grid: the minimum is well inside it
        best = N[np.argmin(truth.loss(N, C / (6 * N), lr, batch))]
        assert yin.truth_fixed_n_opt(truth, C, lr, batch) == pytest.approx(best, rel=2e-3)
    assert yin.truth_fixed_n_opt(truth, c_mg, lr, batch) == pytest.approx(2.47e13, rel=0.01)
    with pytest.raises(ValueError, match="edge"):
        yin.truth_fixed_n_opt(truth, c_mg, lr, batch, decades=0.1, widenings=0)


def _readme_with(tmp_path, monkeypatch, files: dict) -> str:
    make_readme = paper_repro_script("make_readme")
    for name, frame in files.items():
        frame.to_csv(tmp_path / name, index=False)
    monkeypatch.setattr(make_readme, "RESULTS", tmp_path)
    return make_readme.table()


def test_readme_shows_held_out_coverage_as_a_share_beside_its_nominal(tmp_path, monkeypatch):
    """Held-out coverage read "+100.0%" (a signed change) beside "(0.90 nominal)"; it is a
    share: "100% (nominal 90%)"."""
    porian = pd.DataFrame(
        {
            "paper": "Porian et al. 2024",
            "quantity": [f"held-out 2 largest budgets, 90% loss coverage: {c}" for c in "ab"],
            "paper_value": "(0.90 nominal)",
            "median": [1.0, 12 / 13],
            "lower": np.nan,
            "upper": np.nan,
            "data": "real",
            "note": "12 points",
        }
    )
    text = _readme_with(tmp_path, monkeypatch, {"porian.csv": porian})
    assert "| n/a | 100% (nominal 90%) |" in text
    assert "| n/a | 92.3% (nominal 90%) |" in text
    assert "+100.0%" not in text and "(0.90 nominal)" not in text


def test_readme_notes_the_diagnostics_of_yins_fits(tmp_path, monkeypatch):
    """Yin's fitted rows (the best-cell baseline, the near-optimal band, the two-fit baseline,
    ...) came from fits run with warn=False, some with R-hat 1.95 and divergences, and nothing
    said so; the notes now carry them, computed from yin_detail.csv."""
    yin_rows = pd.DataFrame(
        {
            "paper": "Yin et al. 2025",
            "quantity": [
                "N_opt at 1e22 FLOPs, earlier (0.8705 C^0.4294) law",
                "N_opt at 1e22 FLOPs, Chinchilla surface on best cells (baseline)",
                "smallest N within 0.03% of optimal loss at 1e22 (vs N_opt), prob >= 0.9",
                "1.07B, 4B tokens: eta_opt, law='hyperparams'",
                "N_opt at 1e22 FLOPs, joint sweep model (law='sweep', every run)",
                "N_opt change, optimal vs fixed hparams, at 1e22, two Chinchilla fits (baseline)",
            ],
            "paper_value": "2.43e9",
            "median": 2.5e9,
            "data": "simulated",
            "note": "n",
        }
    )
    surface = [
        {"part": 2, "replicate": r, "r_hat": h, "divergences": d, "quantity": q}
        for r, h, d in ((0, 1.0, 0), (1, 1.95, 12), (2, 1.05, 4))
        for q in ("N_opt 1e22", "near-optimal 0.0003 prob 0.9")
    ]
    others = [
        {"part": 2, "replicate": 0, "r_hat": 1.3, "divergences": 7, "quantity": "eta_opt 1.07B 4B"},
        {"part": 2, "route": "joint", "replicate": 0, "r_hat": 1.01, "divergences": 0,
         "quantity": "joint N_opt 1e22"},
        {"part": 2, "route": "joint", "replicate": 1, "r_hat": 1.02, "divergences": 2,
         "quantity": "joint N_opt 1e22"},
        {"part": 3, "replicate": 0, "r_hat": 1.21, "setting": "fixed"},
        {"part": 3, "replicate": 1, "r_hat": 1.41, "setting": "fixed"},
    ]
    detail = pd.DataFrame(surface + others)
    text = _readme_with(
        tmp_path, monkeypatch, {"yin.csv": yin_rows, "yin_detail.csv": detail}
    ).splitlines()
    row = {q: next(line for line in text if q in line) for q in yin_rows["quantity"]}
    q = yin_rows["quantity"]
    assert "R-hat" not in row[q[0]]  # arithmetic: no fit
    surface_note = "max R-hat 1.95, 16 divergences; 2 of 3 replicates above R-hat 1.01"
    assert row[q[1]].endswith(f"| n; {surface_note} |")
    assert row[q[2]].endswith(f"| n; {surface_note} |")
    hp_note = "max R-hat 1.30, 7 divergences; 1 of 1 replicates above R-hat 1.01"
    assert row[q[3]].endswith(f"| n; {hp_note} |")
    joint_note = "max R-hat 1.02, 2 divergences; 1 of 2 replicates above R-hat 1.01"
    assert row[q[4]].endswith(f"| n; {joint_note} |")
    assert row[q[5]].endswith(
        "| n; max R-hat 1.41, divergences not recorded; 2 of 2 replicates above R-hat 1.01 |"
    )
    (tmp_path / "yin_detail.csv").unlink()
    text = _readme_with(tmp_path, monkeypatch, {})
    assert "| n; fit diagnostics not recorded |" in text


def test_candidates_out_never_overwrites_the_fit_or_a_run_table(files, capsys, tmp_path):
    """candidates --out refuses the fit file itself and any existing file that is not an earlier
    candidates CSV (a run table, ...), before any work; an earlier candidates CSV is replaced."""
    runs = tmp_path / "runs.csv"
    runs.write_bytes(files["runs"].read_bytes())
    fit = tmp_path / "fit.nc"
    fit.write_bytes(files["fit"].read_bytes())
    base = ["candidates", str(fit), "--isoflop", "3e19", "--n-per-budget", "3", "--out"]
    _one_line_error(capsys, base + [str(fit)], "is the fit file itself")
    assert fit.read_bytes() == files["fit"].read_bytes()
    line = _one_line_error(capsys, base + [str(runs)], "not an earlier candidates CSV")
    assert str(runs) in line
    assert runs.read_bytes() == files["runs"].read_bytes()
    cands = tmp_path / "cands.csv"
    assert main(base + [str(cands)]) == 0
    assert main(base + [str(cands)]) == 0  # an earlier candidates file may be replaced
    assert list(pd.read_csv(cands)) == ["N", "D", "C"]


def test_column_hints_fit_the_command_and_separator_files_are_to_be_resaved(
    files, capsys, tmp_path
):
    """plot/report --runs with unmapped columns name --column only (--N is fit's, --C is a
    budget on report); fit keeps its shorthands; a ';'- or tab-separated CSV, and a European
    one (';' and decimal commas), is to be re-saved with commas, with no Python remedy and no
    column-mapping hint."""
    best = pd.read_csv(files["runs"])
    odd = tmp_path / "odd.csv"
    best.rename(columns={"N": "params", "D": "tokens", "C": "flops"}).to_csv(odd, index=False)
    out = ["--out", str(tmp_path / "x.png")]
    for argv in (
        ["plot", str(files["fit"]), "--kind", "fan", "--runs", str(odd), *out],
        ["report", str(files["fit"]), "--runs", str(odd), "--out", str(tmp_path / "r.html")],
    ):
        line = _one_line_error(capsys, argv, "--column N=NAME, --column D=NAME or --column C=NAME")
        assert "--N NAME" not in line and "--C NAME" not in line
    line = _one_line_error(capsys, ["fit", str(odd), "--out", str(tmp_path / "x.nc")], "--N NAME")
    semi = tmp_path / "semi.csv"
    best.to_csv(semi, index=False, sep=";")
    tab = tmp_path / "tab.csv"
    best.to_csv(tab, index=False, sep="\t")
    euro = tmp_path / "euro.csv"
    best.to_csv(euro, index=False, sep=";", decimal=",")
    for path in (semi, tab, euro):
        for argv in (
            ["fit", str(path), "--out", str(tmp_path / "x.nc")],
            ["fit", str(path), "--column", "N=N", "--out", str(tmp_path / "x.nc")],
            ["plot", str(files["fit"]), "--kind", "fan", "--runs", str(path), *out],
        ):
            line = _one_line_error(capsys, argv, "re-save the file with commas")
            assert "pd.read_csv" not in line and "Python" not in line, line
            assert "--column" not in line and "--N NAME" not in line, line
            assert "more values than the header" not in line, line


def test_predict_at_a_setting_says_what_its_loss_columns_hold(files, capsys, monkeypatch):
    """predict --lr/--batch-size prints the loss of a run trained at the given setting, the loss
    at the OPTIMAL lr and batch size (loss_opt_*) and penalty columns: its help and the note
    under the table say which is which."""
    from bayeslaws.app.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    lr_help = next(a.help for a in sub.choices["predict"]._actions if a.dest == "lr")
    assert "adds the loss penalty" not in lr_help
    assert "OPTIMAL lr and batch size" in lr_help and "penalty_*" in lr_help
    table = pd.DataFrame(
        {"N": [1e9], "D": [1e10], "lr": [3e-4], "batch_size": [131072.0], "median": [2.5],
         "rel_penalty_median": [0.01], "penalty_median": [0.025]}
    )  # fmt: skip
    monkeypatch.setattr(bl, "predict", lambda fit, **kw: table)
    argv = ["predict", str(files["fit"]), "--N", "1e9", "--D", "1e10", "--lr", "3e-4"]
    assert main(argv + ["--batch-size", "131072"]) == 0
    err = capsys.readouterr().err
    assert "loss at the OPTIMAL lr and batch size, not at the given --lr/--batch-size" in err
    assert "loss of a run trained at the given --lr/--batch-size" in err
    monkeypatch.setattr(bl, "predict", lambda fit, **kw: table.drop(columns=table.columns[5:]))
    assert main(["predict", str(files["fit"]), "--N", "1e9", "--D", "1e10"]) == 0
    assert "OPTIMAL" not in capsys.readouterr().err


def test_demo_out_naming_an_existing_file_is_one_line(capsys, tmp_path, monkeypatch):
    """demo --out is a folder: an existing file there (or above it) gives one line naming the
    path, not a bare '[Errno 17] File exists', and nothing runs."""
    import bayeslaws.app.demo as demo

    monkeypatch.setattr(demo, "run_demo", lambda *a, **k: pytest.fail("the demo ran"))
    taken = tmp_path / "taken.txt"
    taken.write_text("keep me")
    line = _one_line_error(capsys, ["demo", "--out", str(taken)], "is an existing file")
    assert str(taken) in line and "Errno" not in line
    line = _one_line_error(capsys, ["demo", "--out", str(taken / "sub")], "above it")
    assert str(taken) in line and "Errno" not in line
    assert taken.read_text() == "keep me"


def test_predict_echoes_inputs_exactly_and_takes_a_seed(files, capsys):
    """The query columns read back as typed (131072, not 1.3107e+05; results stay at 5 figures)
    and --seed reaches the new_run draws (another seed, other intervals; the same, the same)."""
    base = ["predict", str(files["fit"]), "--N", "131072", "1.23456789e9", "--D", "2e10", "2e10"]
    tables = {}
    for seed in ("0", "0", "7"):
        assert main(base + ["--kind", "new_run", "--seed", seed]) == 0
        tables.setdefault(seed, []).append(capsys.readouterr().out)
    assert tables["0"][0] == tables["0"][1]
    assert tables["0"][0] != tables["7"][0]
    first = tables["0"][0].splitlines()
    assert "131072" in first[1] and "1.23456789e+09" in first[2], first
    assert "1.3107e+05" not in tables["0"][0]


def test_design_passes_group_and_model_to_the_target_and_the_runs(files, capsys, monkeypatch):
    """--group reaches the target and next_runs (a grouped table's design was a new group's,
    silently) and --model the extrapolation the runs are valued under; the output names it."""
    seen = {}

    def capture(fit, cands, target=None, **kwargs):
        seen.update(kwargs, target=target)
        return pd.DataFrame({"N": [1e9]})

    monkeypatch.setattr(bl.design, "next_runs", capture)
    argv = ["design", str(files["fit"]), "--candidates", str(files["cands"]), "--nopt", "1e22"]
    assert main(argv + ["--group", "web", "--model", "gp"]) == 0
    assert seen["group"] == "web" and seen["model"] == "gp" and seen["target"].group == "web"
    assert "under the extrapolation 'gp'" in capsys.readouterr().out
    assert main(argv) == 0
    assert seen["group"] is None and seen["model"] is None
    assert "under the extrapolation 'drift'" in capsys.readouterr().out


def test_an_isoflop_fit_of_a_grouped_table_says_what_to_do_on_the_command_line(files, capsys):
    """The refusal names a remedy the command line has (it named RunTable.subset() only), and
    does not offer dropping the group column as one: that pools the groups silently."""
    grouped = files["dir"] / "grouped_runs.csv"
    df = pd.read_csv(files["runs"])
    df.assign(group=np.where(np.arange(len(df)) % 2, "a", "b")).to_csv(grouped, index=False)
    _one_line_error(
        capsys,
        ["fit", str(grouped), "--law", "isoflop", "--out", str(files["dir"] / "g.nc")],
        "command line: one CSV per group; dropping the group column instead pools the groups",
    )
