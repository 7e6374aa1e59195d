"""Run tables: canonical columns, units, derived compute, and clear errors on bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import porian_stand_in, shared_or_skip

import bayeslaws as bl
from bayeslaws.runs import RunTableError, compute, load_runs, simulate


def table(**overrides):
    base = {
        "Model Size": [1e8, 2e8, 4e8, 8e8],
        "Training FLOP": [6e18, 2.4e19, 9.6e19, 3.84e20],
        "loss": [3.0, 2.8, 2.6, 2.5],
    }
    base.update(overrides)
    return pd.DataFrame(base)


def test_derives_tokens_from_flops_with_6nd():
    runs = bl.load_runs(table(), N="Model Size", C="Training FLOP", loss="loss")
    np.testing.assert_allclose(runs.df["D"], runs.df["C"] / (6 * runs.df["N"]))
    assert runs.compute_model.name == "6ND"
    assert list(runs.df.columns[:4]) == ["N", "D", "C", "loss"]


def test_derives_params_from_tokens_and_flops():
    df = pd.DataFrame({"D": [1e10, 2e10], "C": [6e19, 4.8e20], "loss": [3.0, 2.9]})
    runs = bl.load_runs(df)
    np.testing.assert_allclose(runs.df["N"], [1e9, 4e9], rtol=1e-9)


def test_units_and_extra_columns_are_kept():
    df = pd.DataFrame(
        {"n_b": [0.1, 0.2], "t_b": [2.0, 4.0], "l": [3.0, 2.9], "bs": [64, 128], "tag": ["a", "b"]}
    )
    runs = bl.load_runs(
        df,
        N="n_b",
        D="t_b",
        loss="l",
        batch_size="bs",
        units={"N": "billions", "D": 1e9, "batch_size": 2048},
    )
    np.testing.assert_allclose(runs.df["N"], [1e8, 2e8])
    np.testing.assert_allclose(runs.df["batch_size"], [64 * 2048, 128 * 2048])
    assert runs.df["tag"].tolist() == ["a", "b"]


def test_video_compute_model_is_pluggable():
    model = compute.video_dit(n_ctx=4096, d_model=2048)  # 0.75 * (7 + 2) = 6.75 per param-token
    runs = bl.load_runs(
        pd.DataFrame({"N": [1e9, 2e9], "D": [1e10, 1e10], "loss": [1, 0.9]}), compute_model=model
    )
    np.testing.assert_allclose(runs.df["C"], 6.75 * runs.df["N"] * runs.df["D"])
    np.testing.assert_allclose(model.params_for(runs.df["D"], runs.df["C"]), runs.df["N"])
    square = compute.video_dit(n_ctx=1024, d_model=1024)
    assert square.flops(1.0, 1.0) == pytest.approx(6.0)


def test_custom_compute_model_inverts_numerically():
    model = compute.custom(lambda N: 6 * N + 1e6)
    N = model.params_for(D=1e10, C=model.flops(3e8, 1e10))
    assert N == pytest.approx(3e8, rel=1e-6)
    with pytest.raises(ValueError, match="cannot be saved"):
        model.to_dict()


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"loss": [3.0, np.nan, 2.6, 2.5]}, r"'loss' has missing values at rows 1"),
        ({"loss": [3.0, -1.0, 2.6, 2.5]}, r"'loss' must be finite and positive.*rows 1"),
        ({"loss": [3.0, np.inf, 2.6, 2.5]}, r"'loss' must be finite and positive.*rows 1"),
        (
            {"Model Size": ["1e8", "big", 4e8, 8e8]},
            r"'Model Size' has non-numeric values at rows 1",
        ),
        (
            {"Training FLOP": [6e18, 0.0, 9.6e19, 3.84e20]},
            r"'Training FLOP' \(C\) must be finite and positive",
        ),
    ],
)
def test_bad_values_name_column_and_row(overrides, message):
    with pytest.raises(RunTableError, match=message):
        bl.load_runs(table(**overrides), N="Model Size", C="Training FLOP", loss="loss")


def test_missing_column_is_named():
    with pytest.raises(RunTableError, match=r"column 'params' \(given for N\) is not in the table"):
        bl.load_runs(table(), N="params", C="Training FLOP")
    with pytest.raises(RunTableError, match="need two of the columns N, D, C"):
        bl.load_runs(table(), N="Model Size")


def test_inconsistent_n_d_c_is_an_error():
    df = pd.DataFrame({"N": [1e8, 2e8], "D": [1e9, 1e9], "C": [6e17, 5e18], "loss": [3, 2.9]})
    with pytest.raises(RunTableError, match="disagree with the compute model 6ND.*rows 1"):
        bl.load_runs(df)


def test_duplicates_are_reported_not_dropped():
    df = table()
    df = pd.concat([df, df.iloc[[2]]], ignore_index=True)
    with pytest.warns(UserWarning, match=r"2 rows are exact duplicates.*rows 2, 4"):
        runs = bl.load_runs(df, N="Model Size", C="Training FLOP")
    assert len(runs) == 5


def test_exclusions_are_recorded():
    runs = bl.load_runs(table(), N="Model Size", C="Training FLOP")
    kept = runs.exclude(runs.df["loss"] > 2.9, reason="loss above 2.9")
    assert len(kept) == 3
    (row,) = runs.df.index[runs.df["loss"] > 2.9]  # the record names it (a fit saves this)
    assert kept.record()["exclusions"] == [
        {"reason": "loss above 2.9", "count": 1, "rows": [str(row)]}
    ]
    assert kept.record()["n_input_rows"] == 4
    with pytest.raises(ValueError, match="needs a reason"):
        runs.exclude(runs.df["loss"] > 2.9, reason="")


def test_single_level_of_tokens_is_rejected_by_the_law():
    df = pd.DataFrame({"N": [1e8, 2e8, 4e8], "D": [1e10] * 3, "loss": [3.0, 2.9, 2.8]})
    with pytest.raises(RunTableError, match="at least 2 distinct values of 'D'"):
        bl.fit(bl.load_runs(df), chains=1, warmup=10, draws=10)


def test_reads_csv_and_reports_missing_file(tmp_path):
    path = tmp_path / "runs.csv"
    table().to_csv(path, index=False)
    runs = bl.load_runs(path, N="Model Size", C="Training FLOP", loss="loss")
    assert runs.source == str(path) and len(runs) == 4
    with pytest.raises(FileNotFoundError, match="does not exist"):
        bl.load_runs(tmp_path / "nope.csv")


def test_real_and_bundled_tables_pass_the_plausibility_checks():
    """No false alarm: every bundled table and the third-party tables load without a
    PlausibilityWarning (the checks target other units and diverged runs, not real sweeps)."""
    import warnings

    from bayeslaws.runs import PlausibilityWarning, bundled

    with warnings.catch_warnings():
        warnings.simplefilter("error", PlausibilityWarning)
        for name in bundled.bundled_names():
            bl.load_bundled(name)
        try:
            bundled.shared_data_dir()
        except bundled.SharedDataMissing:
            return
        bundled.epoch_chinchilla(0)
        bundled.steplaw_dense()
        bundled.porian_isoflop()


def test_units_are_named_in_the_plausibility_warning():
    from bayeslaws.runs import PlausibilityWarning

    billions = table()
    billions["Model Size"] = [1.0, 2.0, 4.0, 8.0]
    with pytest.warns(PlausibilityWarning, match=r"units=\{'N': 'billions'\}"):
        runs = bl.load_runs(billions, N="Model Size", C="Training FLOP")
    assert len(runs) == 4  # a warning, not a refusal: the values are possible
    fixed = bl.load_runs(billions, N="Model Size", C="Training FLOP", units={"N": "billions"})
    np.testing.assert_allclose(fixed.df["N"], [1e9, 2e9, 4e9, 8e9])


def test_compute_model_takes_numpy_numbers_but_not_bools():
    assert compute.as_compute_model(np.int64(6)).name == "6ND"
    assert compute.as_compute_model(np.float64(8.0)).name == "8ND"
    runs = bl.load_runs(table(), N="Model Size", C="Training FLOP", compute_model=np.int64(6))
    assert runs.compute_model.name == "6ND"
    with pytest.raises(TypeError, match="compute_model must be"):
        compute.as_compute_model(True)
    with pytest.raises(TypeError, match="flops_per_param_token must be a number"):
        compute.linear(True)


def test_porian_filter_that_matches_nothing_lists_the_values(tmp_path, monkeypatch):
    """A configuration value that selects no row is an error naming the available values
    (a tiny stand-in for ../shared/data/porian_isoflop, so the test runs anywhere)."""
    from bayeslaws.runs import bundled

    porian_stand_in(tmp_path / "porian_isoflop", sizes=(1e7, 3e7, 1e8, 3e8))
    monkeypatch.setenv("BAYESLAWS_SHARED_DATA", str(tmp_path))
    assert len(bundled.porian_isoflop(dataset="rw")) == 2
    with pytest.raises(ValueError, match=r"no rows with dataset='RW'.*\['owt2', 'rw'\]"):
        bundled.porian_isoflop(dataset="RW")
    with pytest.raises(ValueError, match=r"hparams='base' among the rows with dataset='rw'"):
        bundled.porian_isoflop(dataset="rw", hparams="base")


def test_simulated_rows_are_named_in_the_tables_source(tmp_path):
    """A table whose source column says simulated (as the simulators write it) says SIMULATED
    in its source, whatever the file is called, so fits and reports that name the data do."""
    df = simulate.simulate_chinchilla_runs(
        {"E": 1.8, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.3,
         "N": np.geomspace(1e7, 1e9, 4), "D": np.geomspace(1e9, 1e11, 4)},
        seed=0,
    )  # fmt: skip
    path = tmp_path / "runs.csv"
    df.to_csv(path, index=False)
    assert load_runs(path).source.startswith(f"{path} (SIMULATED: its source column says so)")
    # every row names one bayeslaws simulator call: the source keeps it (which simulator, seed)
    assert load_runs(path).source.endswith(f" [{df['source'].iloc[0][len('simulated: '):]}]")
    assert load_runs(load_runs(path)).source.count("SIMULATED") == 1  # not said twice
    mixed = df.assign(source=["simulated: x", "measured", "measured", "measured"])
    assert "partly SIMULATED: 1 of 4 rows" in load_runs(mixed).source
    assert load_runs(df.drop(columns="source")).source == "DataFrame"


@pytest.mark.parametrize("bad", ["4", float("nan"), float("inf"), -1, 0, True])
def test_steplaw_threshold_is_a_positive_finite_number(bad):
    bundled = shared_or_skip()
    with pytest.raises(ValueError, match=r"divergence_threshold must be a positive number"):
        bundled.steplaw_dense(bad)


def test_steplaw_threshold_flags_runs_above_it():
    bundled = shared_or_skip()
    runs = bundled.steplaw_dense(np.float64(4.0))
    assert runs.df["diverged"].sum() == bundled.steplaw_dense().df["diverged"].sum()
    assert 0 < runs.df["diverged"].sum() < len(runs)


def test_compendium_condition_is_checked_per_source():
    bundled = shared_or_skip()
    for bad in ("bogus", "exp_loss", None):  # Marin has one loss, as measured
        with pytest.raises(ValueError, match=r"condition for 'marin_202603' must be one of "
                           r"\('raw_loss',\)"):  # fmt: skip
            bundled.isoflop_compendium("marin_202603", "comma", condition=bad)
    with pytest.raises(ValueError, match=r"condition for 'llama_3' must be one of "
                       r"\('raw_loss', 'exp_loss'\), got 'bogus'"):  # fmt: skip
        bundled.isoflop_compendium("llama_3", condition="bogus")
    assert len(bundled.isoflop_compendium("llama_3", condition="exp_loss")) > 0
    assert len(bundled.isoflop_compendium("marin_202603", "comma")) > 0


def test_marin_tables_say_their_c_is_the_nominal_budget():
    bundled = shared_or_skip()
    for corpus in bundled.COMPENDIUM_SOURCES["marin_202603"]:
        runs = bundled.isoflop_compendium("marin_202603", corpus)
        ratio = runs.df["C"] / (6 * runs.df["N"] * runs.df["D"])
        assert ratio.min() < 0.75 and ratio.max() > 1.07  # as the docstring says
        assert "nominal isoFLOP budget, 0.742-1.07 x 6ND" in runs.source
        assert "predict a loss surface by N and D, not by C; an isoFLOP law by N and" in runs.source
    assert "nominal" not in bundled.isoflop_compendium("llama_3").source


@pytest.mark.parametrize(
    "n_ctx, d_model, message",
    [
        (np.nan, 1024, r"n_ctx must be a positive number \(sequence length, tokens\), got nan"),
        (-1, 1024, r"n_ctx must be a positive number"),
        (4096, 0, r"d_model must be a positive number \(model width\), got 0"),
        (4096, np.inf, r"d_model must be a positive number"),
    ],
)
def test_video_dit_compute_model_names_its_bad_argument(n_ctx, d_model, message):
    with pytest.raises(ValueError, match=message):
        compute.video_dit(n_ctx, d_model)


def test_compute_model_string_error_lists_the_accepted_strings():
    assert compute.as_compute_model("6nd").name == "6ND"
    with pytest.raises(TypeError, match=r"compute_model must be .*strings '6ND', got '12ND'"):
        compute.as_compute_model("12ND")
    with pytest.raises(TypeError, match=r"a number k \(C = k N D, e\.g\. 12 for '12ND'\)"):
        compute.as_compute_model("12ND")


def test_reloading_a_marin_compendium_table_keeps_its_nominal_budget():
    """load_runs(RunTable) re-checks a Marin table (C = the nominal budget, 0.74-1.07 x 6ND)
    from its N and D, as Fit.training_runs does, and keeps its C."""
    bundled = shared_or_skip()
    for corpus in bundled.COMPENDIUM_SOURCES["marin_202603"]:
        runs = bundled.isoflop_compendium("marin_202603", corpus)
        again = load_runs(runs)
        pd.testing.assert_frame_equal(again.df, runs.df)
        assert again.source == runs.source and again.n_input_rows == runs.n_input_rows


def test_every_bundled_loader_loads_without_a_plausibility_warning():
    """No false alarm from the per-row checks either: every loader, corpus and variant."""
    import warnings

    from bayeslaws.runs import PlausibilityWarning

    bundled = shared_or_skip()
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlausibilityWarning)
        bundled.epoch_chinchilla()
        for source, corpora in bundled.COMPENDIUM_SOURCES.items():
            for corpus in corpora:
                for condition in bundled.COMPENDIUM_CONDITIONS[source]:
                    load_runs(bundled.isoflop_compendium(source, corpus, condition))
        for param_count in ("standard", "kaplan", "attention"):
            bundled.porian_isoflop(param_count=param_count)


def test_porians_two_runs_with_few_tokens_per_parameter_are_the_known_ones():
    """Porian's raw table has exactly two rows below 0.01 tokens per parameter (real: the 826M
    Kaplan-count model at 2.5e16 FLOPs); loaded directly they are named, the loader keeps them
    without a warning."""
    bundled = shared_or_skip()
    raw = pd.read_csv(bundled.shared_data_dir() / "porian_isoflop" / "isoflop_points.csv")
    with pytest.warns(bl.runs.PlausibilityWarning, match=r"D/N of 2 run\(s\) .* at rows 21, 600 "):
        load_runs(raw, N="n_params", C="flops")
    assert bundled.PORIAN_FEW_TOKENS_ROWS == (21, 600)
    runs = bundled.porian_isoflop()
    assert len(runs) == len(raw) and {21, 600} <= set(runs.df.index)
