"""Review 12 of the run tables (runs/table.py, runs/simulate.py):

1. a table's SIMULATED extent was read only from a column literally named ``source`` after
   mapping: ``group="source"`` (or ``ignore_columns="source"``) made a simulated table 'none';
2. ``simulate_chinchilla_runs`` labelled its rows with the seed and likelihood only (two truths,
   one label; 't' and 'student_t' two labels);
3. a CSV row with fewer fields than the header was filled with NaN without a word;
4. a column named as a canonical one that another column is mapped to was dropped silently;
5. Excel's first line ``sep=;`` got advice that then failed;
6. no remedy for a whitespace-separated file, K/M/B suffixes, or a 'diverged' loss text;
7. a DataFrame column of True/False values named no rows.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.runs import PlausibilityWarning, RunTableError
from bayeslaws.runs import simulate as sim
from bayeslaws.runs.bundled import bundled_path
from bayeslaws.runs.provenance import simulated_extent

TRUTH = {"E": 1.8, "A": 480.0, "B": 2000.0, "alpha": 0.35, "beta": 0.37}
N = np.repeat([1e8, 3e8, 1e9], 3)
D = np.tile([2e9, 6e9, 2e10], 3)


def _load(data, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # plausibility notes of small tables: not under test
        return bl.load_runs(data, **kwargs)


def _csv(tmp_path, text: str, name: str = "runs.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _table(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {"N": [1e8, 3e8, 1e9, 3e9][:n], "D": [2e9, 6e9, 2e10, 6e10][:n],
         "loss": [3.2, 2.9, 2.6, 2.4][:n]}
    )  # fmt: skip


# ---- 1. the SIMULATED extent survives a source column read as the group, or left out -----------
def test_bundled_simulated_sweep_grouped_by_source_stays_simulated():
    runs = _load(bundled_path("video_dit_sweep_simulated"), group="source")
    assert "source" not in runs.df and runs.df["group"].str.startswith("simulated").all()
    assert runs.simulated == "all"
    assert runs.record()["simulated"] == "all"
    assert simulated_extent(runs.source) == "all"  # the label every fit and figure reads
    assert sim.truth_from_source(runs.source) == sim.VideoDiTTruth()
    assert _load(runs).simulated == "all"  # a re-load keeps it


def test_simulated_and_real_rows_grouped_by_source_are_partly_simulated():
    fake = sim.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, seed=0)
    real = fake.iloc[:4].assign(source="lab runs, 2024")
    table = pd.concat([fake, real], ignore_index=True)
    runs = _load(table, group="source")
    assert runs.simulated == "partly"
    assert simulated_extent(runs.source) == "partly"
    assert f"{len(fake)} of {len(table)} rows" in runs.source
    assert runs.record()["simulated"] == "partly"


def test_leaving_out_the_source_column_keeps_the_simulated_extent():
    runs = _load(bundled_path("video_dit_sweep_simulated"), ignore_columns="source")
    assert "source" not in runs.df
    assert runs.simulated == "all" and simulated_extent(runs.source) == "all"
    assert "(column 'source' left out)" in runs.source


# ---- 2. simulate_chinchilla_runs records its truth -------------------------------------------
def _source(**kwargs) -> str:
    params = {**TRUTH, **kwargs.pop("params", {}), "N": N, "D": D}
    return sim.simulate_chinchilla_runs(params, seed=3, **kwargs)["source"].iloc[0]


def test_chinchilla_source_names_the_truth_and_one_likelihood_name():
    base = _source()
    assert _source(params={"alpha": 0.30}) != base  # another truth, the same seed
    assert _source(params={"E": 1.7}) != base
    assert _source(noise_sd=0.05) != base
    for field, value in {**TRUTH, "noise_sd": 0.01}.items():
        assert f"{field}={value!r}" in base
    student = {_source(likelihood=name, df=3.0) for name in ("student_t", "studentt", "t")}
    assert len(student) == 1 and "likelihood=student_t df=3.0" in student.pop()
    assert _source(likelihood="student_t", df=3.0) != _source(likelihood="student_t", df=5.0)
    # Gaussian draws do not use df: the same table, the same label
    assert _source(df=3.0) == _source(df=5.0) == base and " df=" not in base


@pytest.mark.parametrize("likelihood", ["gaussian", "t"])
def test_chinchilla_truth_round_trips_through_the_source(likelihood):
    params = {**TRUTH, "alpha": 0.3125, "N": N, "D": D}
    table = sim.simulate_chinchilla_runs(params, noise_sd=0.03, seed=7, likelihood=likelihood)
    runs = _load(table)
    for text in (table["source"].iloc[0], runs.source, runs.record()["source"]):
        truth = sim.chinchilla_truth_from_source(text)
        assert truth["alpha"] == 0.3125 and truth["noise_sd"] == 0.03 and truth["seed"] == 7
        again = sim.simulate_chinchilla_runs({**truth, "N": N, "D": D})
        pd.testing.assert_frame_equal(again, table)
    assert sim.chinchilla_truth_from_source(runs.source)["likelihood"] in ("gaussian", "student_t")
    assert sim.chinchilla_truth_from_source("runs.csv") is None
    assert sim.truth_from_source(runs.source) is None  # not a video-DiT truth


# ---- 3. rows with fewer fields than the header ----------------------------------------------
@pytest.mark.parametrize("allow", [False, True])
def test_truncated_csv_row_is_refused_naming_row_and_line(tmp_path, allow):
    path = _csv(tmp_path, "N,D,loss\n1e8,2e9,3.2\n3e8,6e9\n1e9,2e10,2.6\n3e9,6e10,2.4\n")
    with pytest.raises(RunTableError) as err:
        bl.load_runs(path, allow_missing_loss=allow)
    message = str(err.value)
    assert "fewer values than the header has names" in message
    assert "rows 1 (0-based data rows, header not counted)" in message
    assert "line(s) 3" in message and "hold 2 value(s)" in message


def test_empty_fields_and_trailing_commas_are_still_read(tmp_path):
    text = "N,D,loss\n1e8,2e9,3.2\n3e8,6e9,\n1e9,2e10,2.6\n\n3e9,6e10,2.4\n"
    runs = _load(_csv(tmp_path, text), allow_missing_loss=True)
    assert len(runs) == 4 and np.isnan(runs.df["loss"].iloc[1])
    # a trailing unnamed header field is not a name a row must fill
    runs = _load(_csv(tmp_path, "N,D,loss,\n1e8,2e9,3.2\n3e8,6e9,2.9\n", "trail.csv"))
    assert runs.df["loss"].tolist() == [3.2, 2.9]


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


# ---- 5. Excel's "sep=;" first line -------------------------------------------------------------
def test_excel_separator_line_is_read(tmp_path):
    text = "sep=;\nN;D;loss\n1e8;2e9;3.2\n3e8;6e9;2.9\n1e9;2e10;2.6\n"
    runs = _load(_csv(tmp_path, text))
    assert runs.df["N"].tolist() == [1e8, 3e8, 1e9]
    assert runs.df["loss"].tolist() == [3.2, 2.9, 2.6]
    short = "sep=;\nN;D;loss\n1e8;2e9;3.2\n3e8;6e9\n"
    with pytest.raises(RunTableError, match=r"rows 1 .*line\(s\) 4 of the file"):
        bl.load_runs(_csv(tmp_path, short, "short.csv"))


# ---- 6. remedies: whitespace-separated, size suffixes, a failed run's loss text ------------
def test_space_separated_file_gets_the_whitespace_remedy(tmp_path):
    path = _csv(tmp_path, "N D loss\n1e8 2e9 3.2\n3e8 6e9 2.9\n")
    with pytest.raises(RunTableError) as err:
        bl.load_runs(path)
    assert "whitespace-separated" in str(err.value)
    assert r'pd.read_csv(path, sep=r"\s+")' in str(err.value)
    assert "'\\\\s+'" not in str(err.value)


@pytest.mark.parametrize("as_file", [False, True])
def test_size_suffixes_get_a_remedy(tmp_path, as_file):
    df = _table(3).assign(N=["100M", "300M", "1.3B"])
    data = _csv(tmp_path, df.to_csv(index=False)) if as_file else df
    with pytest.raises(RunTableError, match="non-numeric values") as err:
        bl.load_runs(data)
    message = str(err.value)
    assert "suffixes such as K, M, B, T are not read" in message
    assert "100000000" in message and "units={'N': 'millions'}" in message


def test_size_suffix_remedy_names_the_mapped_column_by_its_canonical_key():
    df = _table(3).rename(columns={"D": "tokens"}).assign(tokens=["2B", "6B", "20B"])
    with pytest.raises(RunTableError, match=r"units=\{'D': 'billions'\}"):
        bl.load_runs(df, D="tokens")


@pytest.mark.parametrize("text", ["diverged", "nan", "NaN", "OOM"])
def test_failed_run_text_in_loss_gets_the_diverged_remedy(text):
    df = _table().astype({"loss": object})
    df.loc[2, "loss"] = text
    with pytest.raises(RunTableError) as err:
        bl.load_runs(df)
    message = str(err.value)
    assert "rows 2" in message and "blank the cell" in message
    assert "allow_missing_loss=True" in message and "'diverged' column" in message


def test_other_non_numeric_text_gets_no_failed_run_remedy():
    df = _table().astype({"loss": object})
    df.loc[2, "loss"] = "2.6 (eval)"
    with pytest.raises(RunTableError) as err:
        bl.load_runs(df)
    assert "blank the cell" not in str(err.value)


# ---- 7. True/False values are named by their rows --------------------------------------------
def test_boolean_column_names_its_rows():
    df = _table().assign(loss=[True, False, True, True])
    with pytest.raises(RunTableError, match=r"True/False values, not numbers, at rows 0, 1, 2, 3"):
        bl.load_runs(df)
    mixed = _table().astype({"loss": object})
    mixed.loc[1, "loss"] = True
    with pytest.raises(RunTableError, match=r"True/False values, not numbers, at rows 1 \("):
        bl.load_runs(mixed)
    labelled = _table().assign(loss=[True, False, True, True]).set_index(pd.Index(list("abcd")))
    with pytest.raises(RunTableError, match=r"rows a, b, c, d \(labels of the DataFrame's index\)"):
        bl.load_runs(labelled)
