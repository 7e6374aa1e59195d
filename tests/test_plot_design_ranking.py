"""bayeslaws.plot.design_ranking: the scale of its scores and the SIMULATED words of its table.

The axis label states the scale of the scores (nats per FLOP are ~1e-22; matplotlib's offset
text "1e-22" ran over the label's end); a table from rank_candidates / next_runs carries its
fit's words in attrs["simulated_words"], which the title reads. Runs SIMULATED.
"""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws import plot  # noqa: E402

PER_FLOP = np.array([2.02e-22, 0.82e-22, 0.38e-22])  # nats / FLOP, as the demo's candidates


def _plan(**scores) -> pd.DataFrame:
    base = {"N": [2e8, 9e7, 4e7], "D": [2.5e10, 5.5e10, 1.2e11], "info": [0.09, 0.037, 0.017]}
    return pd.DataFrame({**base, **scores})


def _drawn(fig):
    """The axes of a design ranking after drawing (offset texts are set at draw time)."""
    fig.canvas.draw()
    return fig.axes[0]


def test_design_ranking_puts_the_scale_of_nats_per_flop_in_the_label():
    plan = _plan(info_per_flop=PER_FLOP, batch_pick=[1, 0, 2])
    fig = plot.design_ranking(plan, picks="batch_pick")
    ax = _drawn(fig)
    assert ax.xaxis.get_offset_text().get_text() == ""
    label = ax.get_xlabel()
    assert "per FLOP" in label and "(in units of 1e-22 nats / FLOP)" in label, label
    widths = sorted(bar.get_width() for bar in ax.patches)  # the bars, in units of 1e-22
    np.testing.assert_allclose(np.array(widths) * 1e-22, np.sort(PER_FLOP), rtol=1e-12)
    notes = {t.get_text().strip(): t.get_position()[0] for t in ax.texts}
    assert notes["0.09 nats  <- batch pick #1"] == pytest.approx(2.02)  # at the bar's end
    low, high = ax.get_xlim()
    assert low == 0 and high == pytest.approx(2.02 * 1.45)
    shown = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert shown and all("e" not in s for s in shown), shown  # plain numbers, no 1e-22
    plt.close(fig)


@pytest.mark.parametrize(
    ("column", "values", "words"),
    [
        ("info", [3e-5, 2e-5, 1e-5], "(in units of 1e-5 nats)"),
        ("info_per_cost", [4e5, 2e5, 1e5], "(in units of 1e5 nats / unit cost)"),
        ("my_score", [5e-9, 3e-9, 1e-9], "my_score, each candidate alone (in units of 1e-9)"),
    ],
)
def test_design_ranking_states_any_scale_it_draws_in(column, values, words):
    plan = _plan(**{column: values}) if column != "info" else _plan().assign(info=values)
    fig = plot.design_ranking(plan, score=column)
    ax = _drawn(fig)
    assert ax.xaxis.get_offset_text().get_text() == ""
    assert words in ax.get_xlabel(), ax.get_xlabel()
    assert max(bar.get_width() for bar in ax.patches) == pytest.approx(
        values[0] / 10 ** int(np.floor(np.log10(values[0])))
    )
    plt.close(fig)


def test_design_ranking_keeps_scores_near_one_as_they_are():
    fig = plot.design_ranking(_plan(info_per_flop=[0.5, 0.2, 0.1]))
    ax = _drawn(fig)
    assert ax.get_xlabel().endswith("(nats / FLOP)"), ax.get_xlabel()
    assert "units of" not in ax.get_xlabel()
    assert max(bar.get_width() for bar in ax.patches) == pytest.approx(0.5)
    plt.close(fig)


def test_design_ranking_reads_the_tables_simulated_words(simulated_fit):
    assert simulated_fit.simulated_words == " (SIMULATED data)"
    cands = bl.design.isoflop_candidates(C=[1e19], fit=simulated_fit, n_per_budget=3)
    target = bl.design.Loss(N=1e9, D=2e10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ranked = bl.design.rank_candidates(simulated_fit, cands, target, max_draws=100)
        batch = bl.design.next_runs(simulated_fit, cands, target, k=1, max_draws=100)
    assert ranked.attrs["simulated_words"] == " (SIMULATED data)"
    assert batch.attrs["simulated_words"] == " (SIMULATED data)"
    fig = plot.design_ranking(ranked, picks=batch)
    assert fig.axes[0].get_title().replace("\n", " ").endswith("(SIMULATED data)")
    plt.close(fig)
    fig = plot.design_ranking(ranked, simulated=False)  # the caller's word stands
    assert "SIMULATED" not in fig.axes[0].get_title()
    plt.close(fig)


def test_design_ranking_of_a_table_without_attrs_says_nothing():
    plan = pd.DataFrame({"N": [2e8, 9e7], "D": [2.5e10, 5.5e10], "info_per_flop": [2e-22, 1e-22]})
    fig = plot.design_ranking(plan)
    assert "SIMULATED" not in fig.axes[0].get_title()
    plt.close(fig)
    fig = plot.design_ranking(plan, simulated=True)
    assert "(SIMULATED data)" in fig.axes[0].get_title().replace("\n", " ")
    plt.close(fig)
