"""The report's drawn-runs line counts the points the fan figure actually draws: both read
plot.fan_points (the report had its own copy of the fan's selection)."""

import re
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from bayeslaws import plot  # noqa: E402
from bayeslaws.app.report import drawn_points_words  # noqa: E402


def _scatter_points(fig) -> int:
    """Points drawn by the scatter collections of the first (loss) panel."""
    ax = fig.axes[0]
    return sum(len(c.get_offsets()) for c in ax.collections if c.get_array() is not None)


def _mixed_table(grouped_fit) -> pd.DataFrame:
    df = pd.DataFrame(grouped_fit.record.training_runs)
    df.loc[df.index[:6], "group"] = "C"  # a group the fit does not have
    df.loc[df.index[-3:], "loss"] = np.nan  # three fitted-group runs without a loss
    return df


@pytest.mark.parametrize("group", [None, "A", "B"])
def test_the_sentence_counts_what_the_fan_draws(grouped_fit, group):
    df = _mixed_table(grouped_fit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = plot.fan(grouped_fit, df, n_points=5, relative_panel=False, group=group)
    drawn = _scatter_points(fig)
    plt.close(fig)
    words = drawn_points_words(df, grouped_fit, group)
    said = re.search(r"; (\d+) drawn, the (\d+) without a finite loss are not", words)
    kept = plot.fan_points(grouped_fit, df, group).kept
    not_finite = int(kept["loss"].isna().sum())
    if not_finite:
        assert said and int(said.group(1)) == drawn and int(said.group(2)) == not_finite, words
    else:
        assert said is None and drawn == len(kept), words
    assert drawn + not_finite + len(plot.fan_points(grouped_fit, df, group).left_out) == len(df)
