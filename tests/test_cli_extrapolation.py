"""Extrapolation methods as the command line and the report state them: report and allocate
--extrapolation, and the report's note on why new_run differs from mean inside the range."""

from __future__ import annotations

import re
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from conftest import cli_error_line, cli_run, flat_text, report_section  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws.app.cli import with_cli_hints  # noqa: E402

C = 1e21  # FLOPs: inside the simulated Chinchilla runs' range (6e7-6e9 params x 1e9-1e11 tokens)


# ---- 1. report --extrapolation ---------------------------------------------------------------
def test_report_extrapolation_sets_the_allocations_method_and_says_so(
    simulated_fit, simulated_fit_file, tmp_path, capsys
):
    """``report`` had no --extrapolation: its allocation was always under the default, unlike
    ``allocate``'s. Now the allocation (and its near-optimal band) is under the method given,
    which the section states, and the isoFLOP figure's caption says its markers are not."""
    out = tmp_path / "report.html"
    argv = ["report", simulated_fit_file, "--out", out, "--C", C, "--extrapolation", "drift"]
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


def test_report_extrapolation_without_budgets_is_refused(simulated_fit_file, tmp_path, capsys):
    """--extrapolation acts on the allocation at --C only: without --C it is refused in one
    line (before the fit is read), not ignored."""
    argv = ["report", simulated_fit_file, "--out", tmp_path / "r.html", "--extrapolation", "none"]
    code, _, err = cli_run(argv, capsys)
    line = cli_error_line(err)
    assert code == 2
    assert "--extrapolation applies to the allocation at the --C budgets: give --C" in line
    assert not (tmp_path / "r.html").exists()


def test_allocate_passes_extrapolation(simulated_fit_file, monkeypatch, capsys):
    seen = {}
    real = bl.optimal_allocation

    def spy(*args, **kwargs):
        seen["allocation"] = kwargs.get("extrapolation")
        return real(*args, **kwargs)

    monkeypatch.setattr(bl, "optimal_allocation", spy)
    code, out, err = cli_run(["allocate", simulated_fit_file, "--C", "1e21",
                              "--extrapolation", "none"], capsys)  # fmt: skip
    assert code == 0, err
    assert seen["allocation"] == "none"
    advice = "its interval is ... (extrapolation='drift' or 'model' carries that into it)"
    assert "--extrapolation drift or --extrapolation model" in with_cli_hints(advice, "allocate")


# ---- 4. the report says why new_run and mean differ inside the range --------------------------
PATTERN = "new_run follows the fitted runs' residual pattern (extrapolation 'gp')"


def test_report_says_new_run_follows_the_residual_pattern(simulated_fit):
    """Inside the fitted range the report's mean and new_run rows could disagree (disjoint
    intervals on Epoch's points) with nothing saying why."""
    from bayeslaws.app.report import fit_report

    lo, hi = (np.sqrt(np.prod(simulated_fit.record.ranges[c])) for c in ("N", "D"))
    text = fit_report(simulated_fit, targets=[(lo, hi)]).to_text()
    predictions = report_section(text, "Predictions")
    assert "(mean)" in predictions and "(new_run)" in predictions
    assert PATTERN in predictions
    assert "even inside the fitted range" in predictions
    assert PATTERN not in report_section(text, "Parameters")


def test_residual_pattern_sentence_only_where_new_run_leaves_the_law():
    """Not under a method that leaves new_run centred on the law (none, the mean-0
    discrepancies) or that moves mean too (model, drift), nor for a law not widened, nor when
    the GP of the group predicted for fell back to a mean-0 widening."""
    from bayeslaws.app.report import residual_pattern_sentence

    assert PATTERN in residual_pattern_sentence("gp")
    assert "'gp_discrepancy'" in residual_pattern_sentence("gp_discrepancy")
    for method in ("none", "discrepancy", "discrepancy_t", "model", "drift"):
        assert residual_pattern_sentence(method) is None, method
    assert residual_pattern_sentence("gp", widened=False) is None
    assert residual_pattern_sentence("gp", unavailable={"gp": "3 runs"}) is None
    new_group = {"gp[new group]": "no residuals of its own"}
    assert residual_pattern_sentence("gp", unavailable=new_group, group=None) is None
    assert PATTERN in residual_pattern_sentence("gp", unavailable=new_group, group="a")
