"""A fit's sampler health in words (``Diagnostics.lines``): each figure beside the bar it was
held to, the share of draws at the maximum tree depth and every problem, as the fit report and
the planning notebook print it (the notebook had composed these lines itself; the report gave
no bars and no tree depth)."""

from __future__ import annotations

import math

from bayeslaws.app.report import fit_report
from bayeslaws.inference.diagnostics import Diagnostics


def _diagnostics(**changes) -> Diagnostics:
    figures = dict(
        max_r_hat=1.0234, min_ess_bulk=212.4, min_ess_tail=187.6, divergences=3, n_draws=2000,
        problems=["R-hat > 1.01 for ['alpha']", "3 divergent transitions of 2000: ..."],
        rhat_bar=1.01, ess_bar=400.0, depth_share=0.0125, n_chains=4,
    )  # fmt: skip
    return Diagnostics(**{**figures, **changes})


def test_lines_give_each_figure_beside_its_bar():
    lines = _diagnostics().lines()
    assert lines[0] == "2000 draws (4 chains); max R-hat 1.023 (bar: at most 1.01)"
    assert lines[1] == "min ESS bulk 212, tail 188 (bar: at least 400)"
    assert lines[2] == "3 divergent transitions; 1.2% of draws at the maximum tree depth"
    assert lines[3:] == [
        "problem: R-hat > 1.01 for ['alpha']",
        "problem: 3 divergent transitions of 2000: ...",
    ]


def test_lines_of_a_clean_fit_and_of_unknown_figures():
    lines = _diagnostics(problems=[], depth_share=math.nan, ess_bar=math.nan, n_chains=0).lines()
    assert lines[0] == "2000 draws; max R-hat 1.023 (bar: at most 1.01)"
    assert lines[1] == "min ESS bulk 212, tail 188"
    assert lines[2] == "3 divergent transitions; share of draws at the maximum tree depth unknown"
    assert lines[-1] == "problems: none"


def test_the_fit_report_prints_them(simulated_fit):
    text = fit_report(simulated_fit).to_text()
    health = text.split("Sampler health", 1)[1]
    for line in simulated_fit.diagnostics.lines():
        assert line in " ".join(health.split()), line
