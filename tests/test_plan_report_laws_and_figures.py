"""The planning report's laws, figures, allocation and design sentences (bayeslaws.app.plan_report).

The planning report and the demo's figures: the
hyperparameter laws printed with the units of N and T their coefficients assume, the figures
drawn at the plan's credible level, the allocation under the fit's own compute model (no truth
counted under another), a loss surface of any law, and the next-runs sentence from the actual
candidate cells. Tiny one-chain fits of simulated runs; no demo run."""

from __future__ import annotations

import copy
import inspect
import re
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import small_sweep_grid  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws import plot  # noqa: E402
from bayeslaws.app import demo, plan, plan_report  # noqa: E402
from bayeslaws.runs import compute  # noqa: E402
from bayeslaws.runs.simulate import VideoDiTTruth  # noqa: E402

TINY = {"chains": 1, "warmup": 150, "draws": 150, "seed": 0, "warn": False}
TARGET_N, TARGET_D = 5e7, 4e9  # params, tokens: inside the hyperparameter sweep's cells
BUDGET = 1e22  # FLOPs


@pytest.fixture(scope="module")
def hp_fit():
    """Law 'hyperparams' on a simulated 3 x 3 LR x batch sweep at four (N, D) cells."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(bl.load_runs(small_sweep_grid()), law="hyperparams", **TINY)


@pytest.fixture(scope="module")
def kaplan_fit(simulated_runs):
    """Law 'kaplan' (no E, A, B, alpha, beta) on conftest's simulated Chinchilla runs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(simulated_runs, law="kaplan", likelihood="gaussian", **TINY)


def _report_text(hp, surface, monkeypatch) -> str:
    """The best-cell planning report of ``hp`` (eta_opt, B_opt) and ``surface`` (the loss) at
    (TARGET_N, TARGET_D) and BUDGET, without the next-runs sections."""
    monkeypatch.setattr(plan_report, "_design_sections", lambda *a, **k: [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the budget lies far beyond the small fits

        def both(fit, **kw):
            return pd.concat(
                [
                    bl.predict(fit, N=TARGET_N, D=TARGET_D, kind=k, seed=0, **kw)
                    for k in ("mean", "new_run")
                ],
                ignore_index=True,
            )

        p = {
            "hyperparams": both(hp),
            "law_table": hp.law_table(ci=0.9),
            "loss": both(surface, extrapolation="none"),
            "ci": 0.9,
            "allocation": bl.optimal_allocation(surface, C=BUDGET, seed=0),
            "tokens_per_param": (20.0, 15.0, 25.0),
            "near_optimal": bl.near_optimal(surface, BUDGET, seed=0),
            "fixed_vs_optimal": None,
        }
        return plan_report.build_report(p, hp, surface).to_text()


def _section(text: str, start: str) -> str:
    i = text.index(start)
    j = text.find("\n== ", i + len(start))
    return text[i : j if j > 0 else None]


# ---- 1. the laws' units -------------------------------------------------------------------------
def test_printed_law_with_its_stated_units_gives_the_reported_eta_opt(
    hp_fit, simulated_fit, monkeypatch
):
    """The report printed 'eta_opt = 0.000218 * T^-0.142 * N^-0.134' with N and T silently in
    units of 1e9: with N in parameters and T in tokens it is ~300x off the report's own eta_opt.
    Now the line and the c rows state the units, and the formula evaluated as printed, in those
    units, lies in the report's own interval of eta_opt (the law) at the target (medians of the
    coefficients are not the median of their product: on this tiny fit they differ by ~20%),
    and at N = T = 1 unit it is the law's median there (c, printed to 3 digits)."""
    text = _report_text(hp_fit, simulated_fit, monkeypatch)
    flat = " ".join(text.split())
    unit = re.search(r"Posterior median laws \[N, T in units of ([0-9.e+-]+)", flat)
    assert unit, (
        "the formula line states no units of N and T: " + flat[flat.find("Posterior") :][:200]
    )
    unit = float(unit.group(1))
    number = r"([-+0-9.e]+)"
    law = re.search(rf"eta_opt = {number} \* T\^{number} \* N\^{number}", flat)
    c, exp_T, exp_N = (float(g) for g in law.groups())
    row = re.search(rf"eta_opt \(the law\) +{number} \[{number}, {number}\]", text)
    median, lower, upper = (float(g) for g in row.groups())
    printed = c * (TARGET_D / unit) ** exp_T * (TARGET_N / unit) ** exp_N
    assert lower <= printed <= upper, (printed, row.group(0), law.group(0))
    assert printed == pytest.approx(median, rel=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 1e9 params lies beyond the fitted cells
        at_unit = bl.predict(hp_fit, N=unit, D=unit, kind="mean", seed=0)
    assert c == pytest.approx(float(at_unit["eta_opt_median"].iloc[0]), rel=5e-3)
    for q in ("eta_opt", "B_opt"):
        assert f"{q} law: c (N, T in units of {unit:g})" in text
    # the Chinchilla surface of the same report still lists its quantities in the usual order
    surface = _section(text, "== Loss surface L(N, D) = E + A/N^alpha + B/D^beta")
    labels = [
        line.split()[0]
        for line in surface.splitlines()[1:]
        if line.startswith("  ") and not line.startswith("    ")
    ]
    assert labels == ["E", "A", "B", "alpha", "beta", "a_opt"], labels


# ---- 2. the figures' credible level -------------------------------------------------------------
@pytest.mark.parametrize("route", ["joint", "best-cell"])
def test_figures_are_drawn_at_the_plans_ci(route, monkeypatch, tmp_path):
    """run_demo(ci=0.8) wrote a report of 80% intervals with figures at 90% (write_figures
    passed no ci). Each figure function is replaced by a recorder: the bands, regions and
    error bars of the fan, bowls, isoFLOP and N_opt figures now use the plan's 80%."""
    seen = {}

    def recorder(name):
        default = inspect.signature(getattr(plot, name)).parameters.get("ci")

        def record(*args, **kwargs):
            levels = kwargs.get("ci", None if default is None else default.default)
            seen.setdefault(name, []).append(levels)
            return name

        return record

    for name in ("fan", "bowls", "isoflop", "n_opt", "pairs", "design_ranking"):
        monkeypatch.setattr(plot, name, recorder(name))
    monkeypatch.setattr(plot, "save", lambda fig, path, **k: path)
    monkeypatch.setattr(demo, "best_run_per_cell", lambda runs: runs)
    # the stand-in fits have no record: the figures' range of C (FLOPs) is given
    monkeypatch.setattr(demo, "group_ranges", lambda fit, group=None: {"C": [2e17, 2e19]})
    hp, surface = object(), object()
    p = {
        "hyperparams": pd.DataFrame({"N": [1.07e9], "D": [1e10]}),
        "allocation": pd.DataFrame({"C": [BUDGET]}),
        "design_table": pd.DataFrame(),
        "ci": 0.8,
    }
    paths = demo.write_figures(tmp_path, None, hp, hp if route == "joint" else surface, p)
    assert [x.name for x in paths] == list(demo.FIGURES[route])
    for name in ("fan", "bowls", "isoflop", "n_opt"):
        for levels in seen[name]:
            assert max(np.atleast_1d(levels)) == pytest.approx(0.8), (name, levels)


# ---- 3. the compute model of the allocation -----------------------------------------------------
def test_allocation_names_the_fits_compute_model_and_compares_only_under_the_truths(
    simulated_fit,
):
    """The allocation heading said '(C = 6ND)' whatever the fit's compute model, and under C =
    8ND the simulator's N_opt (counted under 6ND) was scored against the fit's. Now the heading
    names the fit's model, and the truth's references are left out (and said to be) when the
    fit counts C otherwise."""
    fit8 = copy.copy(simulated_fit)
    fit8.compute_model = compute.linear(8.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sections = {}
        for label, f in (("6ND", simulated_fit), ("8ND", fit8)):
            p = {
                "allocation": bl.optimal_allocation(f, C=BUDGET, seed=0),
                "tokens_per_param": (20.0, 15.0, 25.0),
                "near_optimal": bl.near_optimal(f, BUDGET, seed=0),
            }
            sections[label] = plan_report._allocation_section(p, f, VideoDiTTruth())
    six, eight = sections["6ND"], sections["8ND"]
    assert "(C = 6ND" in six.title and "(C = 8ND" in eight.title, (six.title, eight.title)
    assert all(n.references for n in six.numbers)  # the truth under the same count
    assert not any(n.references for n in eight.numbers), [
        n.reference_lines() for n in eight.numbers
    ]
    notes = " ".join(eight.notes)
    assert "Not compared with the simulator's truth or Yin et al.'s N_opt at this budget" in notes
    assert "Simulator truth:" not in notes and "Yin et al. quote" not in notes


# ---- 4. a loss surface of any law ---------------------------------------------------------------
def test_report_lists_the_quantities_of_a_kaplan_surface(hp_fit, kaplan_fit, monkeypatch):
    """build_report raised KeyError 'E' on a Kaplan surface (accepted by planning): it looked
    up Chinchilla's E, A, B, alpha, beta and a_opt under a Chinchilla title. Now the section
    takes its form from the law's description and lists the law's own quantities (natural
    scale), with no truth beside quantities the simulator does not define."""
    plan.check_planning_laws(hp_fit, kaplan_fit)  # planning accepts it
    text = _report_text(hp_fit, kaplan_fit, monkeypatch)
    surface = _section(
        text, "== Loss surface L(N, D) = ((N_c/N)^(alpha_N/alpha_D) + D_c/D)^alpha_D"
    )
    labels = [
        line.split()[0]
        for line in surface.splitlines()[1:]
        if line.startswith("  ") and not line.startswith("    ")
    ]
    assert labels == ["alpha_N", "alpha_D", "N_c", "D_c"], labels
    assert "truth" not in surface


# ---- 5. the hyperparameter design's candidates ---------------------------------------------------
def test_hp_design_sentence_counts_the_candidate_cells(hp_fit, simulated_fit):
    """With the target at twice the largest fitted size, the candidate cells (2 N_max and the
    target, each at D and D / 2.5) are two, not the 'four new cells' the report said. The
    sentence now counts the cells of the candidate table and the runs of a sweep."""
    target_N = 2 * hp_fit.record.ranges["N"][1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nr = plan.next_runs_plan(hp_fit, simulated_fit, target_N, TARGET_D, BUDGET, 0.9, 0)
        nr["allocation"] = bl.optimal_allocation(simulated_fit, C=BUDGET, seed=0)
        sections = plan_report._design_sections(nr, simulated_fit, hp_fit, "90%")
    cells = nr["design_hp_table"][["N", "D"]].drop_duplicates()
    assert len(cells) == 2
    sentence = " ".join(sections[1].notes[0].split())
    runs = int(nr["design_hp_table"]["n_runs"].iloc[0])
    assert f"a {runs}-run LR x batch sweep" in sentence, sentence
    assert "at each of 2 new cells around the target" in sentence, sentence
    assert "four" not in sentence


# ---- 6. the bowls' legend words --------------------------------------------------------------
def test_bowls_docstring_names_the_star_colour_drawn(hp_fit):
    """bowls' docstring said 'White star' for the optimum, drawn in cyan."""
    fig = plot.bowls(hp_fit, hp_fit.training_runs())
    stars = {
        line.get_color() for ax in fig.axes for line in ax.get_lines() if line.get_marker() == "*"
    }
    assert stars == {"tab:cyan"}
    assert "Cyan star" in plot.bowls.__doc__ and "White star" not in plot.bowls.__doc__


# ---- 6. a truth in its own units ----------------------------------------------------------------
def _hp_section(hp, truth, monkeypatch) -> str:
    """The hyperparameter section of the planning report of ``hp`` checked against ``truth``
    (the other sections are not built)."""
    from bayeslaws.app.report import Section

    for name in ("_surface_section", "_allocation_section", "_fixed_vs_optimal_section"):
        monkeypatch.setattr(plan_report, name, lambda *a, **k: Section("skipped"))
    monkeypatch.setattr(plan_report, "_design_sections", lambda *a, **k: [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = [bl.predict(hp, N=TARGET_N, D=TARGET_D, kind=k, seed=0) for k in ("mean", "new_run")]
        p = {"hyperparams": pd.concat(rows, ignore_index=True), "law_table": hp.law_table(ci=0.9),
             "loss": pd.DataFrame(), "ci": 0.9}  # fmt: skip
        text = plan_report.build_report(p, hp, truth=truth).to_text()
    return _section(text, "== Optimal hyperparameters")


def _refs(section: str, row: str) -> list[float]:
    """The truth's and the published value printed under a law-table row."""
    block = section[section.index(row) :].splitlines()[1:3]
    return [float(re.search(r"\) ([-+0-9.e]+):", line).group(1)) for line in block]


def test_a_truth_in_its_own_units_is_compared_in_the_tables(hp_fit, monkeypatch):
    """A truth may write its hyperparameter laws with N, T in its own unit (hp_unit): the same
    laws per million were reported 5.7x (eta) and 1000x (B) off, OUTSIDE the interval, and
    labelled as Yin et al.'s published values. Now the truth's coefficient is converted to the
    table's units, the published reference is Yin et al.'s own constant, and the note that the
    two coincide only appears when they do."""
    yin = VideoDiTTruth()
    s_eta = 1e3 ** (yin.eta_exp_T + yin.eta_exp_N)
    s_b = 1e3 ** (yin.b_exp_T + yin.b_exp_N)
    per_million = VideoDiTTruth(hp_unit=1e6, eta_coef=yin.eta_coef / s_eta, b_coef=yin.b_coef / s_b)
    assert per_million.eta_opt(TARGET_N, TARGET_D) == pytest.approx(yin.eta_opt(TARGET_N, TARGET_D))
    default = _hp_section(hp_fit, yin, monkeypatch)
    million = _hp_section(hp_fit, per_million, monkeypatch)
    for row in ("eta_opt law: c", "B_opt law: c"):
        truth_default, paper_default = _refs(default, row)
        truth_million, paper_million = _refs(million, row)
        assert truth_million == pytest.approx(truth_default, rel=1e-3)
        assert paper_million == pytest.approx(paper_default, rel=1e-3) == truth_default
    assert "ARE Yin et al.'s published laws" in default
    shifted = VideoDiTTruth(eta_coef=2 * yin.eta_coef)  # a truth that is not Yin et al.'s
    other = _hp_section(hp_fit, shifted, monkeypatch)
    assert "ARE Yin et al.'s published laws" not in other
    truth_eta, paper_eta = _refs(other, "eta_opt law: c")
    assert truth_eta == pytest.approx(2 * paper_eta, rel=1e-3)
