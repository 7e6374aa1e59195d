"""``bayeslaws plan``'s inputs and picks: the best-cell route's N_opt picks carry the
hyperparameter fit's learning rate and batch size, saved fits refuse the NUTS options and the
wrong order of two fits before the folder is made, and the design's unit labels and its
reweighting caution are readable."""

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
from bayeslaws import design  # noqa: E402
from bayeslaws.app import plan  # noqa: E402
from bayeslaws.runs import best_run_per_cell  # noqa: E402

TARGET = ["--target-N", "5e8", "--target-D", "2e10", "--budget", "1e20"]


@pytest.fixture(scope="module")
def surface_fit(small_sweep):
    """A Chinchilla surface on each cell's best run of ``small_sweep`` (the best-cell route's
    loss-surface fit; tiny: 1 chain x 150 + 100)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(
            best_run_per_cell(small_sweep), law="chinchilla", likelihood="gaussian", seed=0,
            chains=1, warmup=150, draws=100,
        )  # fmt: skip


@pytest.fixture(scope="module")
def best_cell_files(small_sweep_hp_fit, surface_fit, tmp_path_factory):
    """The best-cell pair saved: (hyperparams_fit.nc, loss_surface_fit.nc)."""
    folder = tmp_path_factory.mktemp("best_cell")
    hp, surface = folder / "hyperparams_fit.nc", folder / "loss_surface_fit.nc"
    small_sweep_hp_fit.save(hp)
    surface_fit.save(surface)
    return hp, surface


# ---- the best-cell route's N_opt picks: with a learning rate and batch size --------------------
def test_best_cell_nopt_picks_carry_the_hp_fits_optimum(small_sweep_hp_fit, surface_fit):
    """next_runs.csv gave the best-cell route's N_opt picks with no lr or batch_size (NaN),
    though it is the list of runs to train: each now has the hyperparameter fit's posterior
    median eta_opt and B_opt at its N and D, and a note saying so and that C is its cost."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = plan.next_runs_plan(small_sweep_hp_fit, surface_fit, 5e8, 2e10, 1e20, seed=0)
        runs = out["runs_nopt"]
        assert len(runs) and {"lr", "batch_size"} <= set(runs), list(runs)
        opt = bl.predict(small_sweep_hp_fit, N=runs["N"].to_numpy(), D=runs["D"].to_numpy())
    np.testing.assert_allclose(runs["lr"], opt["eta_opt_median"], rtol=1e-9)
    np.testing.assert_allclose(runs["batch_size"], opt["B_opt_median"], rtol=1e-9)
    assert np.isfinite(runs[["lr", "batch_size"]].to_numpy(float)).all()
    note = runs["note"].iloc[0]
    assert "posterior median eta_opt" in note and "one run's cost" in note, note
    table = plan.next_runs_table({**out, "runs_hp": out["runs_hp"]})
    nopt = table[table["design"].str.startswith("N_opt")]
    assert nopt[["lr", "batch_size"]].notna().all().all()
    assert "note" in table and table["note"].isna().sum() == len(table) - len(nopt)


def test_joint_sweep_picks_are_unchanged(small_sweep_sweep_fit):
    """A picked LR x batch sweep keeps its own grid (no note, no prediction over it)."""
    runs = pd.DataFrame({"pick": [1, 1], "unit": ["u", "u"], "N": [1e8] * 2, "D": [2e9] * 2,
                         "C": [1.2e18] * 2, "lr": [1e-4, 2e-4], "batch_size": [1e5] * 2})
    assert plan.with_hp_settings(runs, small_sweep_sweep_fit) is runs


# ---- saved fits: the NUTS options refused, the order checked, before the folder is made -------
@pytest.mark.parametrize(
    "options", [["--draws", "2000"], ["--chains", "2", "--warmup", "900"],
                ["--target-accept", "0.95"], ["--dense-mass", "true"],
                ["--draws", "500"], ["--chains", "4"], ["--dense-mass", "law"]],
)  # fmt: skip
def test_plan_of_saved_fits_refuses_the_nuts_options(sweep_fit_file, tmp_path, capsys, options):
    """With saved fits --draws, --chains, --warmup and --target-accept were silently ignored
    (exit 0, the report still the saved fit's draws) while the report told the user to pass
    --draws: refused now, naming the options and why; also when given at the parser's default
    (--draws 500 passed as if it had sampled 500 draws)."""
    out = tmp_path / "out"
    code, _, err = cli_run(["plan", sweep_fit_file, *TARGET, *options, "--out", out], capsys)
    assert code == 2, err
    line = cli_error_line(err)
    for option in options[::2]:
        assert option in line, line
    assert "already sampled" in line and "run table" in line, line
    assert not out.exists()


def test_plan_sampler_options_are_noted_only_when_given():
    """The refusal reads which options were typed, not whether a value differs from a default
    (a plan from a run table still gets the defaults, and --seed is the plan's own)."""
    from bayeslaws.app.cli.job_commands import PLAN_SAMPLER_OPTIONS
    from bayeslaws.app.cli.parser import build_parser
    from bayeslaws.app.cli.values import given_options

    parser = build_parser()
    args = parser.parse_args(["plan", "fit.nc", *TARGET, "--seed", "3"])
    assert given_options(args) == {} and (args.draws, args.chains) == (500, 4)
    typed = [part for option in PLAN_SAMPLER_OPTIONS
             for part in (option, "true" if option == "--dense-mass" else "1")]  # fmt: skip
    args = parser.parse_args(["plan", "fit.nc", *TARGET, *typed])
    assert set(given_options(args)) == set(PLAN_SAMPLER_OPTIONS)
    assert given_options(parser.parse_args(["plan", "fit.nc", *TARGET])) == {}


def test_plan_of_fits_in_the_wrong_order_says_so_and_makes_no_folder(
    best_cell_files, tmp_path, capsys
):
    """'plan loss_surface_fit.nc hyperparams_fit.nc' exited 2 leaving an empty --out folder,
    with a message that did not say the order was wrong."""
    hp, surface = best_cell_files
    out = tmp_path / "swapped"
    code, _, err = cli_run(["plan", surface, hp, *TARGET, "--out", out, "--no-figures"], capsys)
    assert code == 2, err
    line = cli_error_line(err)
    assert "in the wrong order" in line and "bayeslaws plan hyperparams_fit.nc" in line, line
    assert "Python:" not in line, line
    assert not out.exists()


def test_plan_of_a_fit_of_the_wrong_law_makes_no_folder(best_cell_files, tmp_path, capsys):
    """A fit of the wrong law (a loss surface alone) is refused before --out is made."""
    _, surface = best_cell_files
    out = tmp_path / "wrong_law"
    code, _, err = cli_run(["plan", surface, *TARGET, "--out", out], capsys)
    assert code == 2, err
    line = cli_error_line(err)
    assert "predicts no optimal learning rate" in line and "wrong order" not in line, line
    assert not out.exists()


def test_planning_in_python_says_the_order_is_wrong(small_sweep_hp_fit, surface_fit):
    with pytest.raises(ValueError, match="in the wrong order"):
        plan.check_planning_laws(surface_fit, small_sweep_hp_fit)
    plan.check_planning_laws(small_sweep_hp_fit, surface_fit)  # the right order passes


# ---- the design's unit labels and its reweighting caution ----------------------------------------
def significant_digits(label: str) -> list[int]:
    """The significant digits of each number a unit label gives (``N=5.2e+08`` -> 2)."""
    mantissas = [v.split("e")[0] for v in re.findall(r"=([-+.\de]+)", label)]
    return [len(m.replace(".", "").lstrip("-+0").rstrip("0") or "0") for m in mantissas]


def test_sweep_unit_labels_have_four_significant_digits(small_sweep_hp_fit):
    """Unit labels printed the cells' raw floats ("sweep N=196728887.8443469,
    D=25415687826.975517", "sweep N=520000000.0, ..."), in the report's cautions and the
    unit column of next_runs.csv."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cands = design.hyperparameter_candidates(
            [196728887.8443469, 5.2e8], [25415687826.975517, 4e9], fit=small_sweep_hp_fit
        )
        runs = design.hyperparameter_candidates(
            [5.2e8], [4e9], fit=small_sweep_hp_fit, n_lr=2, n_batch=1, per_cell=False
        )
    labels = list(dict.fromkeys(cands["unit"]))
    assert labels == [
        f"sweep N={1.967e8:.4g}, D={2.542e10:.4g}", f"sweep N={5.2e8:.4g}, D={4e9:.4g}"
    ]
    for label in [*labels, *runs["unit"]]:
        digits = significant_digits(label)
        assert len(digits) in (2, 4) and max(digits) <= 4, label


def test_close_cells_keep_distinct_labels(small_sweep_hp_fit):
    """Cells that agree to 4 significant digits still get labels of their own (one unit each)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cands = design.hyperparameter_candidates(
            [1.0e8, 1.00001e8], [2e9, 2e9], fit=small_sweep_hp_fit
        )
    assert cands["unit"].nunique() == 2


class _Disagreeing:
    """A stand-in for the reweighting check's values: every unit worth 100 nats, exactly, on
    ample draws (so the Gaussian values disagree with it)."""

    def __init__(self, p, seed, criterion):
        self.n = len(p.labels)

    def values(self, *args, **kwargs):
        n = self.n
        return {"value": np.full(n, 100.0), "se": np.zeros(n), "ess": np.full(n, 1e4),
                "n_skipped": np.zeros(n), "n_outer": 100}  # fmt: skip


def test_reweighting_caution_names_a_command_that_has_estimator(small_sweep_hp_fit, monkeypatch):
    """The caution said "(command line: --estimator reweighted)", which 'bayeslaws plan', whose
    report shows it, does not take: it names 'bayeslaws design', which does."""
    from bayeslaws.app.cli.hints import with_cli_hints
    from bayeslaws.design import batch
    from bayeslaws.design.gaussian import DesignWarning

    monkeypatch.setattr(batch, "JointReweighting", _Disagreeing)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sweeps = design.hyperparameter_candidates([2e8, 5e8], [8e9, 2e10], fit=small_sweep_hp_fit)
    with pytest.warns(DesignWarning, match="disagree with reweighting") as caught:
        design.next_runs(small_sweep_hp_fit, sweeps, design.HyperparamOpt(N=5e8, D=2e10), k=1,
                         cost=None)  # fmt: skip
    message = next(str(w.message) for w in caught if "disagree" in str(w.message))
    for said in (message, with_cli_hints(message, "plan")):
        assert "command line: bayeslaws design FIT.nc ... --estimator reweighted" in said, said
        assert "(command line: --estimator" not in said


# ---- planning's opening checks: one function, called by planning and by the demo's job ----------
class _Checked(Exception):
    """Raised by a stand-in for plan.check_planning: the caller reached it."""


def _check_planning_spy(monkeypatch) -> list:
    """plan.check_planning replaced by one that records its arguments and raises _Checked."""
    calls = []

    def spy(*args):
        calls.append(args)
        raise _Checked

    monkeypatch.setattr(plan, "check_planning", spy)
    return calls


def test_planning_and_the_demo_share_planning_checks(
    small_sweep_hp_fit, surface_fit, monkeypatch, tmp_path
):
    """run_planning copied planning()'s opening checks (check_fit twice, the laws, the runs,
    the inputs); both now call plan.check_planning, the demo with its checked inputs, before its
    folder is made."""
    from bayeslaws.app import demo

    calls = _check_planning_spy(monkeypatch)
    with pytest.raises(_Checked):
        plan.planning(small_sweep_hp_fit, surface_fit, target_N=5e8, target_D=2e10, budget=1e20)
    out = tmp_path / "plan"
    with pytest.raises(_Checked):
        demo.run_planning(
            out, fits=(small_sweep_hp_fit, surface_fit), target_N=500_000_000, target_D=2e10,
            budget=1e20, quiet=True, progress=False, figures=False,
        )  # fmt: skip
    assert not out.exists()
    assert [c[0] for c in calls] == [small_sweep_hp_fit, small_sweep_hp_fit]
    assert [c[1] for c in calls] == [surface_fit, surface_fit]
    assert calls[1][2:] == (5e8, 2e10, 1e20, None)  # the demo's inputs, checked as floats
    assert isinstance(calls[1][2], float)


def test_check_planning_returns_the_surface_fit_and_the_inputs(small_sweep_sweep_fit):
    """check_planning returns what planning computes with: the surface fit (the same fit on the
    joint route) and the inputs as floats."""
    fit = small_sweep_sweep_fit
    surface, N, D, C = plan.check_planning(fit, None, 500_000_000, 2e10, 1e20)
    assert surface is fit
    assert (N, D, C) == (5e8, 2e10, 1e20) and isinstance(N, float)
