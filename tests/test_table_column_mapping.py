"""How load_runs maps columns: integer column labels (``pd.DataFrame(array)``,
``read_csv(header=None)``) by label or text, and a canonical-named column beside the one mapped
to it is kept under a new name with a warning. The tables are SIMULATED."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.runs import PlausibilityWarning, RunTableError


# ---- 5. integer column labels -------------------------------------------------------------------
def test_integer_column_labels_map_by_label_or_text():
    array = np.array([[1e8, 2e9, 3.0], [2e8, 4e9, 2.9], [4e8, 8e9, 2.8]])
    frame = pd.DataFrame(array)  # columns 0, 1, 2: pd.read_csv(path, header=None)
    by_label = bl.load_runs(frame, N=0, D=1, loss=2)
    by_text = bl.load_runs(frame, N="0", D="1", loss="2")
    assert by_label.df["N"].tolist() == by_text.df["N"].tolist() == [1e8, 2e8, 4e8]
    with pytest.raises(TypeError, match=r"got int 5, which is no column of the table \(its "
                       r"columns: \[0, 1, 2\]\)"):  # fmt: skip
        bl.load_runs(frame, N=5, D=1, loss=2)
    with pytest.raises(RunTableError, match=r"column '5' \(given for N\) is not in the table; "
                       r"the columns read are \[0, 1, 2\]"):  # fmt: skip
        bl.load_runs(frame, N="5", D=1, loss=2)
    bad = frame.copy()
    bad.loc[0, 0] = -1.0
    with pytest.raises(RunTableError, match=r"column 0 \(N\) must be finite and positive"):
        bl.load_runs(bad, N=0, D=1, loss=2)
    named = frame.set_axis(["0", "1", "2"], axis=1)  # text labels, mapped by integers
    assert bl.load_runs(named, N=0, D=1, loss=2).df["D"].tolist() == [2e9, 4e9, 8e9]
    with pytest.raises(TypeError, match=r"N= takes the name of your N column, or another label"):
        bl.load_runs(frame, N=[0], D=1, loss=2)
    with pytest.raises(TypeError, match=r"N= takes the name of your N column, or another label"):
        bl.load_runs(frame, N=True, D=1, loss=2)


def _table(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {"N": [1e8, 3e8, 1e9, 3e9][:n], "D": [2e9, 6e9, 2e10, 6e10][:n],
         "loss": [3.2, 2.9, 2.6, 2.4][:n]}
    )  # fmt: skip


# ---- 4. a canonical-named column that is not read is kept, with a warning ------------------------
def test_canonical_named_column_beside_a_mapped_one_is_kept(tmp_path):
    df = _table().assign(val_loss=[3.0, 2.7, 2.5, 2.3], dataset="web", group=["a", "a", "b", "b"])
    with pytest.warns(PlausibilityWarning) as caught:
        runs = bl.load_runs(df, loss="val_loss", group="dataset")
    said = " | ".join(str(w.message) for w in caught)
    assert "'loss_unused'" in said and "'group_unused'" in said and "'val_loss'" in said
    assert runs.df["loss"].tolist() == df["val_loss"].tolist()
    assert runs.df["loss_unused"].tolist() == df["loss"].tolist()
    assert runs.df["group_unused"].tolist() == df["group"].tolist()
    taken = df.assign(loss_unused=1.0)  # the new name is never an existing column's
    with pytest.warns(PlausibilityWarning) as caught:
        runs = bl.load_runs(taken, loss="val_loss", group="dataset")
    assert "'loss_unused_2'" in " | ".join(str(w.message) for w in caught)
    assert runs.df["loss_unused"].tolist() == [1.0] * 4
    assert runs.df["loss_unused_2"].tolist() == df["loss"].tolist()
