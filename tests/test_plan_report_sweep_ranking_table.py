"""The hyperparameter design section prints the ranking of each sweep alone that its order
sentence compares."""

from __future__ import annotations


def test_the_hp_design_prints_the_ranking_its_order_sentence_compares(simulated_fit):
    """The hyperparameter design said "so the two orders differ" against a ranking of each
    sweep alone that the report never printed: the ranking is now a table of the section."""
    from conftest import flat_text
    from test_plan_report_cautions import _design_plan

    from bayeslaws.app import plan_report
    from bayeslaws.app.report import Report

    _, hsec = plan_report._design_sections(_design_plan(), simulated_fit, simulated_fit, "90%")
    text = flat_text(Report("probe", sections=[hsec]).to_text())
    assert "the two orders agree" in text  # the batch h1, h2; alone h1, h2
    (ranking,) = [t for caption, t in hsec.tables if caption.startswith("Each sweep alone")]
    assert list(ranking["rank alone"]) == [1, 2]
    assert list(ranking["info (nats)"]) == [0.04, 0.06]
    assert "the table 'Each sweep alone'" in text
