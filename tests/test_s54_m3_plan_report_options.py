"""The planning report states the law options the fits were fitted with (``bayeslaws plan ...
--option far_above=0.03``) where they differ from the law's defaults: it said nothing of them,
so two reports of one table at different options read alike."""

from __future__ import annotations

import warnings

from conftest import flat_text, small_sweep_grid
from test_plan_report_laws_and_figures import TINY, _report_text

import bayeslaws as bl


def test_the_report_names_the_fits_non_default_law_options(simulated_fit, monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hp = bl.fit(
            bl.load_runs(small_sweep_grid()), law="hyperparams", far_above=0.03, **TINY
        )
    head = flat_text(_report_text(hp, simulated_fit, monkeypatch).split("\n== ")[0])
    assert "law options of the hyperparameter law" in head, head
    assert "far_above=0.03 (default None)" in head, head
    assert "law options of the loss surface" not in head  # chinchilla at its defaults
    assert "bowl=" not in head  # options at their defaults are not said
