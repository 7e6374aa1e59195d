"""Follow-ups to the ninth review's command line: ``report --extrapolation`` (the allocation's
method, stated in the report; refused without --C); the design's N_opt search-edge warning keeps
only the two forms in its brackets; a drift kink under the design names model= / --model (the
allocation keeps extrapolation=); ``plan`` refuses, before the fit, a run table whose (N, D)
cells cannot carry the joint route's fixed-vs-optimal refit; ``design --isoflop`` on a law whose
runs need lr and batch_size is one line naming --sweep and --candidates; the three guards
against overwriting a CSV that is not ours are one function.

SIMULATED data throughout (the bundled simulator's Chinchilla runs and LR x batch sweeps), fits
shared with the other tests (conftest)."""

from __future__ import annotations

import re
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import cli_error_line, cli_run, flat_text, small_sweep_grid  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws.app import demo  # noqa: E402
from bayeslaws.app.cli import with_cli_hints  # noqa: E402
from bayeslaws.design import NOpt  # noqa: E402
from bayeslaws.design import targets as design_targets  # noqa: E402
from bayeslaws.posterior import allocation as allocation_module  # noqa: E402

C = 1e21  # FLOPs: inside the simulated Chinchilla runs' range (6e7-6e9 params x 1e9-1e11 tokens)


def _saved(fit, tmp_path_factory, name: str):
    """``fit`` saved as ``name`` in a folder of its own: the path."""
    return fit.save(tmp_path_factory.mktemp("followups9") / name)


@pytest.fixture(scope="module")
def sim_file(simulated_fit, tmp_path_factory):
    """The Chinchilla fit of SIMULATED runs (conftest), saved."""
    return _saved(simulated_fit, tmp_path_factory, "sim.nc")


@pytest.fixture(scope="module")
def sweep_file(small_sweep_sweep_fit, tmp_path_factory):
    """Law 'sweep' on the small SIMULATED sweep (conftest), saved."""
    return _saved(small_sweep_sweep_fit, tmp_path_factory, "sweep_fit.nc")


def _caught(call) -> list[str]:
    """The texts of the warnings ``call()`` issues."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(w.message) for w in caught]


# ---- 1. report --extrapolation ---------------------------------------------------------------
def test_report_extrapolation_sets_the_allocations_method_and_says_so(
    simulated_fit, sim_file, tmp_path, capsys
):
    """``report`` had no --extrapolation: its allocation was always under the default, unlike
    ``allocate``'s. Now the allocation (and its near-optimal band) is under the method given,
    which the section states, and the isoFLOP figure's caption says its markers are not."""
    out = tmp_path / "report.html"
    argv = ["report", sim_file, "--out", out, "--C", C, "--extrapolation", "drift"]
    code, text, err = cli_run(argv, capsys)
    assert code == 0, err
    section = flat_text(text[text.index("== Compute-optimal allocation"):])
    assert "Computed under extrapolation 'drift', not the default 'gp'" in section
    assert "the predictions and the figures are under the default" in section
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its cautions are the report's notes
        expected = bl.optimal_allocation(simulated_fit, C=[C], seed=0, extrapolation="drift")
        default = bl.optimal_allocation(simulated_fit, C=[C], seed=0)
    drift_n, gp_n = float(expected["N_opt"].iloc[0]), float(default["N_opt"].iloc[0])
    assert f"{drift_n:.3g}" != f"{gp_n:.3g}"  # the two methods tell apart here
    assert re.search(rf"N_opt at C 1e\+21\W+{re.escape(f'{drift_n:.3g}')}", section), section
    page = out.read_text()
    assert "N_opt marked under the default extrapolation &#x27;gp&#x27;" in page or (
        "N_opt marked under the default extrapolation 'gp'" in page
    )


def test_report_extrapolation_without_budgets_is_refused(sim_file, tmp_path, capsys):
    """--extrapolation acts on the allocation at --C only: without --C it is refused in one
    line (before the fit is read), not ignored."""
    argv = ["report", sim_file, "--out", tmp_path / "r.html", "--extrapolation", "none"]
    code, _, err = cli_run(argv, capsys)
    line = cli_error_line(err)
    assert code == 2
    assert "--extrapolation applies to the allocation at the --C budgets: give --C" in line
    assert not (tmp_path / "r.html").exists()


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
        allocation_module, "drift_kink_share", lambda fit, C, *a, **k: np.ones(np.size(C))
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


# ---- 4. plan refuses, before the fit, cells the fixed-vs-optimal refit cannot use -------------
def _no_fit(monkeypatch):
    """A fit is a test failure: each refusal below comes before it."""

    def fitted(*args, **kwargs):
        raise AssertionError("the run table was fitted")

    monkeypatch.setattr(demo, "fit_laws", fitted)


PLAN = ["--target-N", "1e9", "--target-D", "2e10", "--budget", "1e21", "--no-figures"]


def test_plan_refuses_two_sizes_before_the_fit(tmp_path, monkeypatch, capsys):
    """A sweep at 2 sizes x 2 token counts: the joint route's fixed-vs-optimal refit needs 3
    distinct N (and D) and 5 cells, and failed only after the minutes of fitting. Now refused
    before, naming the values found and the best-cell route in the command line's words."""
    _no_fit(monkeypatch)
    table = tmp_path / "runs.csv"
    small_sweep_grid().to_csv(table, index=False)  # N: 17M, 130M; D: 2B, 8B
    code, _, err = cli_run(["plan", table, *PLAN, "--out", tmp_path / "plan"], capsys)
    line = cli_error_line(err)
    assert code == 2, err
    assert "needs at least 3 distinct N values; the table has 2: N = 1.7e+07, 1.3e+08" in line
    assert "on the command line: --route best-cell" in line and "Python" not in line, line
    assert not (tmp_path / "plan" / "sweep_fit.nc").exists()


def test_plan_refuses_four_cells_and_keeps_other_routes(monkeypatch, tmp_path):
    """3 distinct N and D but 4 (N, D) cells: fewer than the refit's 5 parameters, refused
    before the fit; the best-cell route, which makes no such refit, is not refused for it."""
    from bayeslaws.runs import simulate

    _no_fit(monkeypatch)
    runs = bl.load_runs(
        simulate.simulate_grid(
            simulate.VideoDiTTruth(), N=[1.7e7, 5.7e7, 1.3e8, 1.7e7], D=[2e9, 5e9, 8e9, 8e9],
            lr_values=[1e-4, 3.6e-4], batch_values=[5e4, 2e5], seed=0,
        )
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"5-parameter Chinchilla surface .* the table has 4"):
        demo.run_planning(tmp_path / "joint", runs, target_N=1e9, target_D=2e10, budget=1e21,
                          figures=False, progress=False, quiet=True)  # fmt: skip
    demo.check_sweep_table(runs, None, "best-cell")  # no refit on that route: nothing said


# ---- 5. design --isoflop on a law whose runs need lr and batch_size ---------------------------
def test_design_isoflop_on_a_sweep_fit_is_one_line_naming_sweep_and_candidates(
    sweep_file, capsys
):
    """An isoFLOP line gives sizes and tokens only; law 'sweep' values a run at its lr and
    batch size: the design failed with "cands needs column 'lr'". Now one line naming the
    candidate options that suit the law."""
    code, _, err = cli_run(["design", sweep_file, "--isoflop", "1e19"], capsys)
    line = cli_error_line(err)
    assert code == 2
    assert "--isoflop: law 'sweep' values a run at its lr and batch_size" in line
    assert "--sweep N D" in line and "--candidates CANDS.csv with columns lr, batch_size" in line
    assert "cands" not in line.replace("CANDS", "")


def test_candidates_isoflop_on_a_sweep_fit_is_refused_before_writing(sweep_file, tmp_path, capsys):
    """'candidates --isoflop' on a sweep fit wrote a CSV of N, D, C points that the law could not
    value ('design --candidates' then failed on the missing lr): now the same one line as
    'design --isoflop', and no file is written."""
    out = tmp_path / "cands.csv"
    code, _, err = cli_run(["candidates", sweep_file, "--isoflop", "1e19", "--out", out], capsys)
    line = cli_error_line(err)
    assert code == 2
    assert "--isoflop: law 'sweep' values a run at its lr and batch_size" in line
    assert line.endswith(
        "and an isoFLOP line gives sizes and tokens only: give --sweep N D (an LR x batch sweep "
        "at that cell, around the fit's eta_opt and B_opt; repeatable), or write a CSV with "
        "columns N, D, lr, batch_size and pass it to `bayeslaws design --candidates`"
    )
    assert "--candidates CANDS.csv" not in line  # 'candidates' has no such option
    assert not out.exists()


# ---- the guard against overwriting a CSV that is not ours: one function -----------------------
def test_next_runs_guard_refuses_a_foreign_csv_and_replaces_its_own(tmp_path):
    """The demo's next_runs.csv guard (the same function as the command line's candidates and
    picks guards, tested in test_cli.py and test_cli_review9.py): a run table is refused
    (FileExistsError, the planning did not run), an earlier list of next runs or an empty file
    is not."""
    path = tmp_path / demo.NEXT_RUNS_FILE
    path.write_text("N,D,loss\n1e8,2e9,3.0\n")
    with pytest.raises(FileExistsError, match="is not an earlier list of next runs .* so the "
                       "planning did not run"):  # fmt: skip
        demo.refuse_non_runs_file(path)
    path.write_text("\npick,unit,N,D,C,lr,batch_size\n1,1,1e8,2e9,1.2e18,1e-4,5e4\n")
    demo.refuse_non_runs_file(path)  # an earlier one (a blank line before its header)
    path.write_text("")
    demo.refuse_non_runs_file(path)


def test_csv_guards_need_their_own_marker_columns_not_a_mere_subset(sim_file, tmp_path, capsys):
    """The guards took any header that was a SUBSET of their columns as ours: 'design --out'
    and the demo's next_runs.csv silently replaced a candidates CSV (N, D, C[, lr, batch_size,
    unit, group] are among the picks' columns) or a user's own N, D, C table. Now the header
    must also name the file's marker: pick for picks and next runs; N, D and C for candidates.
    An earlier picks CSV is still replaced, and a candidates CSV by 'candidates --out'."""
    cands = tmp_path / "cands.csv"
    base = ["candidates", sim_file, "--isoflop", "1e21", "--n-per-budget", "3", "--out"]
    code, _, _ = cli_run(base + [cands], capsys)
    assert code == 0
    written = cands.read_text()
    code, _, _ = cli_run(base + [cands], capsys)  # an earlier candidates CSV may be replaced
    assert code == 0 and cands.read_text() == written
    code, _, err = cli_run(["design", sim_file, "--isoflop", "1e21", "--out", cands], capsys)
    assert code == 2
    line = cli_error_line(err)
    assert "is not an earlier picks CSV" in line and "with pick" in line
    assert cands.read_text() == written  # refused before any work: the candidates are kept
    swept = tmp_path / "swept.csv"  # a sweep's candidates: every column among the picks'
    swept.write_text("N,D,C,lr,batch_size,unit\n1e8,2e9,1.2e18,1e-4,5e4,a\n")
    with pytest.raises(FileExistsError, match="is not an earlier list of next runs"):
        demo.refuse_non_runs_file(swept)
    code, _, err = cli_run(["design", sim_file, "--isoflop", "1e21", "--out", swept], capsys)
    assert code == 2 and "is not an earlier picks CSV" in cli_error_line(err)
    picks = tmp_path / "picks.csv"  # an earlier picks CSV, and an earlier next_runs.csv
    picks.write_text("pick,unit,N,D,C\n1,0,1e8,2e9,1.2e18\n")
    demo.refuse_non_runs_file(picks)
    code, _, err = cli_run(
        ["design", sim_file, "--isoflop", "1e21", "--n-per-budget", "3", "--k", "1",
         "--out", picks], capsys,
    )  # fmt: skip
    assert code == 0, err
    assert picks.read_text().startswith("pick,unit,")
    code, _, err = cli_run(base + [picks], capsys)  # and candidates never replace picks
    assert code == 2 and "is not an earlier candidates CSV" in cli_error_line(err)
