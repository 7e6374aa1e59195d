"""The planning report (``bayeslaws demo``) and the report of a saved fit (``bayeslaws report``):
every number with its interval, its distance from the data and, where a truth or published value
is known, whether it lies inside; the fixed-vs-optimal answer of the joint route; the next-runs
section with the batch and the individual ranking, guardrails and value statements; near-optimal
tolerances on the reducible loss; the HTML page checked in a headless browser (renders, images
load, no console errors).

The demo runs twice here, through the CLI with tiny draws: the default joint route (one law
"sweep" fit, with figures and HTML) and the best-cell baseline (``--route best-cell``, no
figures); every test reuses their output folders."""

from __future__ import annotations

import contextlib
import io
import shutil
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws.app.cli import main  # noqa: E402
from bayeslaws.app.demo import FIGURES  # noqa: E402
from bayeslaws.app.report import Reference  # noqa: E402
from bayeslaws.laws import get_law  # noqa: E402
from bayeslaws.laws.isoflop import IsoFLOP  # noqa: E402
from bayeslaws.posterior import near_optimal  # noqa: E402
from bayeslaws.runs.simulate import VideoDiTTruth  # noqa: E402

TINY = ["--chains", "2", "--warmup", "100", "--draws", "100"]


def _run_demo(out, extra) -> dict:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        assert main(["demo", "--out", str(out)] + TINY + extra) == 0
    return {"out": out, "stdout": stdout.getvalue(), "stderr": stderr.getvalue()}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The default route (joint), with figures and the HTML page."""
    return _run_demo(tmp_path_factory.mktemp("demo"), ["--html"])


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """The best-cell baseline, without figures."""
    return _run_demo(tmp_path_factory.mktemp("baseline"), ["--route", "best-cell", "--no-figures"])


def _check_verdicts(lines) -> int:
    """Each line naming the truth or a published value says inside / OUTSIDE, and the verdict
    is right: recomputed from the numbers on the line above it. Returns how many were checked."""
    checked = 0
    for i, line in enumerate(lines):
        if "simulator truth (" not in line and "published (" not in line:
            continue
        head = next(x for x in reversed(lines[:i]) if "[" in x and "where:" not in x)
        interval = head[head.index("[") + 1 : head.index("]")]
        low, high = (float(v) for v in interval.split(","))
        value = float(line.split(")")[1].split(":")[0])
        inside = low <= value <= high
        assert ("inside" in line) == inside and ("OUTSIDE" in line) == (not inside), line
        checked += 1
    return checked


# ---- the text report ---------------------------------------------------------------------------
def test_demo_writes_report_fits_and_figures(demo):
    out = demo["out"]
    report = (out / "report.txt").read_text()
    assert report in demo["stdout"]
    assert "[5/5" in demo["stderr"]  # progress
    for name in FIGURES["joint"]:
        assert (out / name).stat().st_size > 5_000, name
    # the joint route saves one fit: law "sweep" on every run
    assert not (out / "hyperparams_fit.nc").exists() and not (out / "loss_surface_fit.nc").exists()
    fit = bl.load_fit(out / "sweep_fit.nc")
    assert fit.law.name == fit.record.law == "sweep"
    table = pd.read_csv(bl.runs.bundled.bundled_path("video_dit_sweep_simulated"))
    assert fit.record.data["n_rows_used"] == len(table)
    for text in (
        "SIMULATED",
        "joint route",
        "Route: joint",
        "Compute-optimal allocation",
        "Near-optimal",
        "THE BATCH",
        "Each candidate alone",
        "90% posterior credible intervals",
    ):
        assert text in report, text
    # the fitted ranges say their units (a batch size is in tokens, whatever the table's unit)
    (ranges,) = [line for line in report.splitlines() if line.startswith("fitted ranges: ")]
    assert "] parameters;" in ranges and "batch_size [" in ranges and ranges.endswith("] tokens")


def test_every_known_value_is_confronted_with_its_interval(demo):
    """Each line naming the truth or a published value says inside / OUTSIDE, and the verdict
    is right: recomputed here from the numbers on the line above it."""
    lines = (demo["out"] / "report.txt").read_text().splitlines()
    truth = VideoDiTTruth()
    assert _check_verdicts(lines) >= 20
    report = "\n".join(lines)
    # the headline allocation: its distance from the data, the truth and Yin et al.'s value
    C_max = bl.load_fit(demo["out"] / "sweep_fit.nc").record.ranges["C"][1]
    assert f"C {np.log10(1e22 / C_max):.2f} decades above the largest fitted budget C" in report
    assert f"simulator truth (VideoDiTTruth) {truth.n_opt(1e22):.3g}" in report
    assert "published (Yin et al. 2025) 2.43e+09" in report
    tokens = next(x for x in lines if x.strip().startswith("tokens per parameter"))
    assert "[" in tokens  # an interval, not a bare median


def test_fixed_vs_optimal_section(demo):
    """The joint route answers the seed paper's question: the size change at the budget with
    its interval, the verdict, the simulator's own answer and Yin et al.'s published one."""
    report = (demo["out"] / "report.txt").read_text()
    start = report.index("== Fixed vs optimal hyperparameters at C = 1e+22 FLOPs ==")
    section = report[start : report.index("\n== ", start + 1)]
    text = " ".join(section.split())
    ratio = next(x for x in section.splitlines() if "N_opt(fixed) / N_opt(optimal)" in x)
    low, high = (float(v) for v in ratio[ratio.index("[") + 1 : ratio.index("]")].split(","))
    median = float(ratio.split()[3])
    assert low < median < high
    assert "simulator truth (VideoDiTTruth)" in section
    change = text[text.index("the compute-optimal size changes by") :].split("(")[0]
    percent = float(change.split()[-1].rstrip("%")) / 100
    assert abs(percent - (median - 1)) <= 0.01 * max(1.0, median)  # the same answer, rounded
    assert "Verdict: settled" in text or "Verdict: not settled" in text
    if not bl.load_fit(demo["out"] / "sweep_fit.nc").diagnostics.ok:  # a short demo's fit
        assert "Verdict: not settled: the fit's sampler check failed" in text
    elif low != 1.0 and high != 1.0:  # else the interval excludes 0 change exactly when settled
        assert ("Verdict: settled" in text) == (low > 1 or high < 1)
    assert "Yin et al. report N_opt 4.04e+09 with fixed against 2.43e+09" in text


def test_best_cell_route_still_works(baseline):
    """--route best-cell: the baseline's two fits (hyperparams on every run, Chinchilla on each
    cell's best run), its report says so, confronts its numbers with the known values and says
    that the fixed-vs-optimal question needs the joint route."""
    out = baseline["out"]
    report = (out / "report.txt").read_text()
    assert report in baseline["stdout"]
    assert "[4/4" in baseline["stderr"]  # no figures: one step fewer
    assert not (out / "sweep_fit.nc").exists()
    assert bl.load_fit(out / "hyperparams_fit.nc").law.name == "hyperparams"
    surface = bl.load_fit(out / "loss_surface_fit.nc")
    assert surface.law.name == "chinchilla" and surface.n_runs == 16  # each cell's best run
    for text in ("SIMULATED", "best-cell route", "Route: best-cell", "Compute-optimal allocation",
                 "(best run per cell)", "THE BATCH", "(isoFLOP candidates)"):
        assert text in report, text
    text = " ".join(report.split())
    assert "== Fixed vs optimal hyperparameters at C = 1e+22 FLOPs ==" in report
    assert "Not answered on this route" in text
    assert _check_verdicts(report.splitlines()) >= 20


def test_reference_verdicts():
    r = Reference("x", 2.0)
    assert r.verdict(1.0, 3.0) == "inside"
    assert r.verdict(2.5, 3.0) == "OUTSIDE (below)"
    assert r.verdict(0.5, 1.0) == "OUTSIDE (above)"


def test_next_runs_section(demo):
    """Batch and individual ranking are told apart, each pick has a value statement and a
    where-flag, restricted picks are explained, and the figure marks the batch's picks."""
    report = (demo["out"] / "report.txt").read_text()
    section = report[report.index("== Next runs to narrow N_opt") :]
    batch = section[section.index("The batch (") : section.index("Each candidate alone")]
    rows = [x for x in batch.splitlines()[2:] if x.strip()]
    assert len(rows) == 3
    for row in rows:
        assert "worth it" in row  # "worth it" or "NOT worth it"
        assert "OUTSIDE" in row or "inside the fitted range" in row
    words = " ".join(section.split())
    assert "widths cumulative" in batch and "each candidate scored alone" in words
    text = " ".join(report.split())
    for part in text.split("guardrail:")[1:]:  # each restricted pick says which rule bit
        sentence = part.split(". ")[0]
        assert "Guardrails." in sentence or "relaxed" in sentence, sentence


def test_near_optimal_states_both_tolerances(demo):
    report = (demo["out"] / "report.txt").read_text()
    text = " ".join(report.split())
    assert "5% of the reducible loss above the optimum" in text
    assert "of the total loss" in text and "the reducible part is" in text


# ---- near-optimal on the reducible loss and the contract hook --------------------------------
def test_irreducible_loss_hook_and_reducible_tolerance(baseline):
    fit = bl.load_fit(baseline["out"] / "loss_surface_fit.nc")
    post = fit.posterior()
    E = fit.law.irreducible_loss(post)
    np.testing.assert_allclose(np.median(E), fit.summary().loc["E", "50%"], rtol=1e-6)
    assert get_law("kaplan").irreducible_loss(post) is None  # the contract's default
    assert IsoFLOP(loss_floor=False).irreducible_loss(post) is None
    default = near_optimal(fit, 1e22)
    assert default.relative_to == "reducible" and default.tolerance == 0.05
    share = default.reducible_share[0]
    assert 0 < share < 1  # the floor takes part of the loss
    assert default.tolerance_total == pytest.approx(0.05 * share)
    with pytest.warns(UserWarning, match="without relative_to is read as a fraction of the TOTAL"):
        total = near_optimal(fit, 1e22, 0.01)  # a bare number keeps its old meaning, and says so
    assert total.relative_to == "total" and total.tolerance_reducible == pytest.approx(0.01 / share)
    # per draw the reducible excess is the total excess over the reducible share (<= 1)
    t = default.table
    assert (t["excess_reducible"] >= t["excess"] - 1e-12).all()
    # 5% of the reducible loss is stricter than 1% of the total here: a narrower band
    if default.tolerance_total < 0.01 and default.band is not None:
        assert total.band is not None and default.band[0] >= total.band[0]


# ---- HTML in a headless browser ------------------------------------------------------------------
def _browser(tmp_path):
    """A headless Chromium driven by Selenium, or a skip saying what is missing."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (pip install selenium); no browser check")
    binary = next(
        (shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if
         shutil.which(b)),
        None,
    )
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        pytest.skip(
            "no headless Chromium and chromedriver on this machine (Debian: apt-get install "
            "chromium chromium-driver); no browser check"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


def page_problems(driver, path) -> dict:
    """Load a page and report: title, number of images, images that did not load, console
    messages at warning level or worse, and the visible text."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(path.resolve().as_uri())
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )
    broken = driver.execute_script(
        "return Array.from(document.images)"
        ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt || i.src)"
    )
    console = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    return {
        "title": driver.title,
        "images": driver.execute_script("return document.images.length"),
        "broken": broken,
        "console": console,
        "text": driver.find_element("tag name", "body").text,
    }


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = _browser(tmp_path_factory.mktemp("browser"))
    yield driver
    driver.quit()


def test_browser_check_can_fail(browser, tmp_path):
    """The check itself: a page with a missing image and a script error is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head><title>bad</title></head><body>"
        "<img alt='missing' src='does_not_exist.png'><script>undefinedFunction();</script>"
        "</body></html>"
    )
    found = page_problems(browser, bad)
    assert found["broken"] == ["missing"]
    assert any("undefinedFunction" in e["message"] for e in found["console"])


def test_demo_html_renders_in_a_browser(demo, browser):
    found = page_problems(browser, demo["out"] / "report.html")
    assert "planning report" in found["title"]
    assert found["images"] == len(FIGURES["joint"])
    assert found["broken"] == [] and found["console"] == []
    for text in ("Compute-optimal allocation", "inside", "OUTSIDE", "worth it", "batch pick"):
        assert text in found["text"], text


def test_fit_report_command_renders_in_a_browser(demo, browser, tmp_path, capsys):
    """'bayeslaws report FIT.nc' on the demo's saved joint fit (no new fit)."""
    html = tmp_path / "report.html"
    argv = ["report", str(demo["out"] / "sweep_fit.nc"), "--out", str(html)]
    truth = VideoDiTTruth()
    argv += ["--known", f"alpha={truth.alpha}", f"beta={truth.beta}",
             "--known-label", "simulated sweep:truth"]
    assert main(argv + ["--C", "1e21", "1e22", "--target", "1.07e9", "1e10"]) == 0
    text = capsys.readouterr().out
    fit = bl.load_fit(demo["out"] / "sweep_fit.nc")
    for name in ("alpha", "beta"):  # the known values are confronted with the intervals
        row = fit.summary().loc[name]
        word = "inside" if row["5%"] <= getattr(truth, name) <= row["95%"] else "OUTSIDE"
        said = f"simulator truth (simulated sweep) {getattr(truth, name):.4g}"
        line = next(x for x in text.splitlines() if said in x)
        assert word in line, line
    assert "Sampler health" in text and "decades above the largest fitted budget C" in text
    assert "Near-optimal at C 1e+22" in text
    found = page_problems(browser, html)
    assert found["images"] >= 3 and found["broken"] == [] and found["console"] == []
    assert "Parameters" in found["text"]


def test_demo_tolerance_is_relative_to_the_reducible_loss(baseline, monkeypatch):
    """``bayeslaws demo --tolerance 0.1`` is documented as a fraction of the reducible loss: the
    planning step must say so to near_optimal (a bare number there means the total loss)."""
    from bayeslaws.app import plan as plan_module

    seen = {}

    class Stop(Exception):
        pass

    def record(*args, **kwargs):
        seen.update(kwargs, tolerance=args[2] if len(args) > 2 else kwargs.get("tolerance"))
        raise Stop

    monkeypatch.setattr(plan_module, "near_optimal", record)
    hp = bl.load_fit(baseline["out"] / "hyperparams_fit.nc")
    surface = bl.load_fit(baseline["out"] / "loss_surface_fit.nc")
    with pytest.raises(Stop):
        plan_module.planning(hp, surface, tolerance=0.1)
    assert seen["tolerance"] == 0.1 and seen["relative_to"] == "reducible"


def test_design_cautions_reach_the_report(baseline):
    """The N_opt design's own warnings (here: draws at the search edge under the design's model,
    the allocation's: ``design_nopt_model``) are not swallowed with the guardrail relaxations:
    the plan keeps them for the report, and they match the share of edge draws computed
    directly."""
    from bayeslaws.app import plan as plan_module
    from bayeslaws.laws.optimum import EDGE_SHARE
    from bayeslaws.posterior import allocation_draws

    hp = bl.load_fit(baseline["out"] / "hyperparams_fit.nc")
    surface = bl.load_fit(baseline["out"] / "loss_surface_fit.nc")
    plan = plan_module.next_runs_plan(hp, surface, 1.07e9, 1e10, 1e22)
    model = plan["design_nopt_model"]
    edge = allocation_draws(surface, [1e22], extrapolation=model)["at_boundary"].mean()
    said = [c for c in plan["design_nopt_cautions"] if "sits at the edge" in c]
    assert bool(said) == (edge > EDGE_SHARE), (edge, plan["design_nopt_cautions"])
    assert not [c for c in plan["design_nopt_cautions"] if "relaxing them" in c]
    report = " ".join((baseline["out"] / "report.txt").read_text().split())
    assert ("CAUTION: N_opt(C=1e+22) sits at the edge" in report) == bool(said), said


def test_hyperparameter_design_cautions_reach_the_report(baseline, monkeypatch):
    """The eta_opt/B_opt design's own warnings, other than guardrail relaxations, reach the
    report's sweep section as CAUTION lines (they were swallowed); guardrail relaxations stay out
    (the report explains those pick by pick), and other libraries' warnings pass through."""
    from bayeslaws import design
    from bayeslaws.app import plan as plan_module
    from bayeslaws.app import plan_report
    from bayeslaws.app.report import Report

    real = design.rank_candidates

    def noisy(fit, cands, target, **kwargs):
        if isinstance(target, design.HyperparamOpt):
            warnings.warn("probe: eta_opt draws at the grid edge", UserWarning, stacklevel=2)
            warnings.warn("probe: rules relaxed", design.GuardrailWarning, stacklevel=2)
            warnings.warn("probe: overflow in exp", RuntimeWarning, stacklevel=2)
        return real(fit, cands, target, **kwargs)

    monkeypatch.setattr(design, "rank_candidates", noisy)
    hp = bl.load_fit(baseline["out"] / "hyperparams_fit.nc")
    surface = bl.load_fit(baseline["out"] / "loss_surface_fit.nc")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan = plan_module.next_runs_plan(hp, surface, 1.07e9, 1e10, 1e22)
    assert plan["design_hp_cautions"] == ["probe: eta_opt draws at the grid edge"]
    # a library's warning is no caution about the plan: it passes through to the caller
    assert "probe: overflow in exp" in [str(w.message) for w in caught]
    assert "probe" not in " ".join(plan["design_nopt_cautions"])
    plan["allocation"] = bl.optimal_allocation(surface, C=1e22)  # the N_opt section's note
    _, sweeps = plan_report._design_sections(plan, surface, hp, "90%")
    text = " ".join(Report("probe", sections=[sweeps]).to_text().split())
    assert "CAUTION: probe: eta_opt draws at the grid edge" in text
    assert "rules relaxed" not in text


def _near(ci: float, prob: float, floor=(1.6, 1.5, 1.7)):
    """A NearOptimal with a band, made up (no fit); ``floor`` None: a law without a floor."""
    from bayeslaws.posterior.allocation import NearOptimal

    smallest = {
        "N": 6e8, "size_vs_optimal": -0.4, "excess": 0.004, "excess_lower": 0.002,
        "excess_upper": 0.006, "excess_reducible": 0.02, "excess_reducible_lower": 0.01,
        "excess_reducible_upper": 0.03,
    }
    return NearOptimal(
        C=1e22, tolerance=0.05, prob=prob, ci=ci, table=pd.DataFrame(), N_opt=1e9,
        N_opt_lower=7e8, N_opt_upper=1.4e9, band=(6e8, 1.6e9), smallest=smallest,
        relative_to="reducible", floor=floor,
        reducible_share=(0.2, 0.18, 0.22) if floor else (1.0, 1.0, 1.0),
    )


def test_near_optimal_sentence_compares_the_right_percentiles():
    """The upper end of the ci interval is the (1 + ci)/2 percentile: above the band's
    probability it may cross the tolerance, below it it cannot (for a size in the band)."""
    from bayeslaws.app.report import near_optimal_sentence

    wide = " ".join(near_optimal_sentence(_near(ci=0.9, prob=0.9)).split())
    assert "95th percentile" in wide and "may cross" in wide, wide
    narrow = " ".join(near_optimal_sentence(_near(ci=0.5, prob=0.9)).split())
    assert "75th percentile" in narrow and "may cross" not in narrow, narrow
    assert "higher percentile" not in narrow and "lower percentile" in narrow, narrow
    same = " ".join(near_optimal_sentence(_near(ci=0.8, prob=0.9)).split())
    assert "may cross" not in same and "90th percentile" in same, same


def test_near_optimal_sentence_of_a_law_without_a_floor_names_no_E():
    """Without a floor the reducible loss is the whole loss: the sentence says so and does not
    speak of a reducible loss L_opt - E (a law without E)."""
    from bayeslaws.app.report import near_optimal_sentence

    text = " ".join(near_optimal_sentence(_near(ci=0.9, prob=0.9, floor=None)).split())
    assert "no floor" in text and "L_opt - E" not in text, text
    floored = " ".join(near_optimal_sentence(_near(ci=0.9, prob=0.9)).split())
    assert "L_opt - E" in floored and "no floor" not in floored, floored


def test_write_html_refuses_a_file_that_is_not_a_report(tmp_path):
    """A report may replace an earlier page, never a table, a fit or another file."""
    from bayeslaws.app.report import Report, write_html

    table = tmp_path / "runs.csv"
    table.write_text("N,D,loss\n1e8,2e9,3.1\n")
    with pytest.raises(FileExistsError, match="not an HTML page"):
        write_html(Report("probe"), table)
    assert table.read_text() == "N,D,loss\n1e8,2e9,3.1\n"
    page = tmp_path / "report.html"
    write_html(Report("first"), page)
    write_html(Report("second"), page)  # an earlier report is overwritten
    assert "second" in page.read_text()


# ---- fit_report: screening, groups; figures that keep their titles -------------------------------
def _with_data(fit, **data):
    """The same fit, its record's run provenance (``record.data``) updated with ``data``."""
    import copy
    import dataclasses

    out = copy.copy(fit)
    out.record = dataclasses.replace(fit.record, data={**fit.record.data, **data})
    return out


EPOCH_LIKE_SCREENING = {  # as bl.fit records it: 4 of Epoch's raw points far above the law
    "action": "warn",
    "threshold": 8.0,
    "n_screened": 245,
    "flagged": [
        {"row": "1", "z": 39.47, "ratio": 1.28},
        {"row": "0", "z": 27.47, "ratio": 1.19},
        {"row": "3", "z": 14.45, "ratio": 1.10},
        {"row": "2", "z": 10.16, "ratio": 1.07},
    ],
}


def test_fit_report_states_the_screening(simulated_fit):
    """Runs flagged at fit time (fit.record.data['screening']) went unmentioned in the report;
    now its preamble says how many, how far off, which rows and whether they were kept."""
    from bayeslaws.app.report import fit_report

    kept = fit_report(_with_data(simulated_fit, screening=EPOCH_LIKE_SCREENING)).to_text()
    line = "screening: 4 run(s) > 8 robust sd off the fitted law, kept in the fit: rows 1 (z +39)"
    assert line in " ".join(kept.split()), kept[:1500]
    assert "0 (z +27), 3 (z +14), 2 (z +10)" in " ".join(kept.split())
    excluded = {**EPOCH_LIKE_SCREENING, "action": "exclude", "excluded": ["1", "0", "3", "2"],
                "rounds": [{"flagged": []}]}
    text = " ".join(fit_report(_with_data(simulated_fit, screening=excluded)).to_text().split())
    assert "4 run(s) > 8 robust sd off the fitted law, excluded and the law refitted" in text
    clean = {**EPOCH_LIKE_SCREENING, "flagged": []}
    text = " ".join(fit_report(_with_data(simulated_fit, screening=clean)).to_text().split())
    assert "screening: no run > 8 robust sd off the fitted law (245 screened)" in text


def _section(text: str, title: str) -> str:
    start = text.index(f"== {title}")
    end = text.find("\n== ", start + 1)
    return text[start : end if end > 0 else len(text)]


def test_fit_report_of_a_grouped_fit_says_which_group(grouped_fit):
    """fit_report predicted and allocated for a new group of a grouped fit without saying so,
    and could not report a fitted group; now ``group=`` is passed to every prediction, the
    allocation and the near-optimal band, and the report names the group (or says "a new
    group") in its preamble and beside each section."""
    from bayeslaws.app.report import fit_report

    target, C = (3e8, 6e9), 1e20
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        new = fit_report(grouped_fit, targets=[target], budgets=[C]).to_text()
        b = fit_report(grouped_fit, targets=[target], budgets=[C], group="B").to_text()
        expected = {
            g: bl.predict(grouped_fit, N=target[0], D=target[1], group=g, seed=0)["median"].iloc[0]
            for g in (None, "B")
        }
        n_opt_b = bl.optimal_allocation(grouped_fit, C=C, group="B", seed=0)["N_opt"].iloc[0]
    words = "for a new group (not one of: A, B)"
    assert words in " ".join(new.split()[:200])  # the preamble
    assert f"== Predictions {words} ==" in new
    assert f"== Compute-optimal allocation {words} ==" in new
    assert "== Predictions for group B ==" in b and "for a new group" not in b
    assert "== Compute-optimal allocation for group B ==" in b
    for text, g in ((new, None), (b, "B")):
        line = next(x for x in _section(text, "Predictions").splitlines() if "(mean)" in x)
        assert f"{expected[g]:.4g} [" in line, (g, line)
    assert f"N_opt at C 1e+20  {n_opt_b:.3g} [" in _section(b, "Compute-optimal allocation")
    with pytest.raises(ValueError, match="not one of the fit's groups"):
        fit_report(grouped_fit, group="C")


def test_report_command_takes_a_group(grouped_fit, tmp_path, monkeypatch, capsys):
    """`bayeslaws report` had no --group: a grouped fit's report was always a new group's,
    figures included."""
    from bayeslaws import plot

    path = tmp_path / "grouped.nc"
    grouped_fit.save(path)
    titles = {}
    real = plot.save

    def record(fig, out, **kwargs):
        texts = [fig._suptitle.get_text() if fig._suptitle else ""]
        titles[out.name] = " ".join(" ".join(texts + [a.get_title() for a in fig.axes]).split())
        return real(fig, out, **kwargs)

    monkeypatch.setattr(plot, "save", record)
    argv = ["report", str(path), "--out", str(tmp_path / "r.html"), "--target", "3e8", "6e9"]
    assert main(argv + ["--group", "B"]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "== Predictions for group B ==" in out
    assert "(group B)" in titles["fan.png"], titles
    assert main(argv + ["--group", "nope"]) != 0
    assert "not one of the fit's groups" in capsys.readouterr().err


def test_save_keeps_a_long_title_in_the_image(tmp_path):
    """plot.save cut off what was drawn beyond the figure's edge (long titles of grouped fits'
    fans); it now crops to what is drawn (bbox_inches='tight')."""
    import matplotlib.pyplot as plt
    from matplotlib.image import imread

    from bayeslaws import plot

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.set_title("a title far wider than this small figure, as a grouped fit's fan has " * 2)
    width = imread(plot.save(fig, tmp_path / "long.png", dpi=100)).shape[1]
    assert width > 300 * 1.5, width  # the whole title, not the figure's 3 inches


def test_design_ranking_title_stays_inside_the_figure():
    """Long candidate labels push the axes right, and the ranking's title, centred on the
    axes, ran off the figure's right edge (about 100 px on the demo's ranking)."""
    import matplotlib.pyplot as plt

    from bayeslaws import plot

    n = 10
    plan = pd.DataFrame(
        {
            "C": np.geomspace(3e19, 1e20, n),
            "N": np.geomspace(2e8, 2e9, n),
            "D": np.geomspace(2e10, 5e10, n),
            "n_runs": 15,
            "info": np.linspace(0.1, 1.0, n),
            "info_per_flop": np.geomspace(1e-20, 1e-19, n),
            "width_now[N_opt(C=1e+22)]": 1.0,
        }
    )
    fig = plot.design_ranking(plan, simulated=True)
    fig.canvas.draw()
    box = fig.axes[0].title.get_window_extent()
    assert "N_opt(C=1e+22) per FLOP" in fig.axes[0].get_title()
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width, (box, fig.bbox.width)
    plt.close(fig)


def test_an_interval_reaching_outside_the_fitted_range_is_said():
    """The report judged 'inside the fitted range' on the median alone: an interval whose end
    lies beyond the range now says how far it reaches."""
    from bayeslaws.app.report import interval_reach

    ranges = {"N": [1.57e8, 1.18e10]}
    assert interval_reach("N", 5e9, 1.1e10, ranges) == ""
    said = interval_reach("N", 4.91e9, 2.61e10, ranges)
    assert said == "; its interval reaches 2.61e+10 (0.34 decades above) the N range", said
    both = interval_reach("N", 1.57e7, 1.18e11, ranges)
    assert "1.57e+07 (1.00 decades below) and 1.18e+11 (1.00 decades above)" in both
