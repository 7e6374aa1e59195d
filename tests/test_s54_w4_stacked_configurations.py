"""A run table that stacks several configurations (datasets, train and validation losses, N
conventions) repeats its design points with losses further apart than run-to-run noise while a
text column varies among them: load_runs says so (StackedConfigurationsWarning, a
PlausibilityWarning), naming the column, its values and the fix in both forms. Before, nothing
warned: Porian et al.'s whole isoFLOP table fitted as one family. Tables are SIMULATED except
the shared third-party ones (skipped when ../shared/data is absent). No sampling."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import shared_or_skip

import bayeslaws as bl
from bayeslaws.app.cli.hints import with_cli_hints
from bayeslaws.runs import PlausibilityWarning
from bayeslaws.runs.bundled import bundled_names, load_bundled
from bayeslaws.runs.plausible import (
    REPEAT_NOISE_RTOL,
    SAME_POINT_COLUMNS,
    SAME_POINT_RTOL,
    StackedConfigurationsWarning,
    design_point_ids,
)
from bayeslaws.runs.repeats import DESIGN_COLUMNS, MATCH_RTOL, near_design


def stacked(gap: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """SIMULATED: one isoFLOP-like grid of 6 sizes x 3 token budgets run on two datasets, the
    'owt2' losses ``gap`` (relative) above the 'rw' ones, stacked in one table."""
    rng = np.random.default_rng(seed)
    N, D = np.meshgrid(np.geomspace(1e7, 1e9, 6), np.geomspace(1e9, 1e10, 3))
    N, D = N.ravel(), D.ravel()
    loss = 1.8 + 400 / N**0.34 + 400 / D**0.28
    loss = loss * np.exp(rng.normal(0, 0.001, loss.size))
    rw = pd.DataFrame({"N": N, "D": D, "loss": loss, "dataset": "rw"})
    owt2 = rw.assign(loss=loss * (1 + gap), dataset="owt2")
    return pd.concat([rw, owt2], ignore_index=True)


def load_caught(data, **kwargs):
    """(load_runs(data, **kwargs), the StackedConfigurationsWarnings' messages)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runs = bl.load_runs(data, **kwargs)
    said = [str(w.message) for w in caught if w.category is StackedConfigurationsWarning]
    return runs, said


def test_a_stacked_table_warns_naming_the_column_its_values_and_the_fix():
    runs, said = load_caught(stacked())
    assert len(said) == 1
    text = said[0]
    assert "36 of 36 runs repeat a design point (N, D within 1%) at 18 points" in text
    assert "this column varies: 'dataset' (at 18 points: 'rw', 'owt2')" in text
    assert "--where dataset=" in text and "--column group=dataset" in text
    assert "group='dataset'" in text and "df.query(" in text
    assert issubclass(StackedConfigurationsWarning, PlausibilityWarning)
    assert len(runs) == 36  # nothing left out


@pytest.mark.parametrize("command", ["fit", "plot", "report"])
def test_the_command_line_advice_maps_the_column_as_group(command):
    """On the command line ``--group`` is the fit's column shorthand but names a fitted group
    in plot and report: the advice is ``--column group=dataset``, which every command that
    reads a table takes, and stays so in the command line's words."""
    said = with_cli_hints(load_caught(stacked())[1][0], command)
    assert "--column group=dataset" in said and "--group dataset" not in said, said


def test_one_stacked_point_is_said_as_one_point():
    df = stacked()
    one = pd.concat([df[df["dataset"] == "rw"], df[df["dataset"] == "owt2"].head(1)])
    (text,) = load_caught(one)[1]
    assert "2 of 19 runs repeat a design point (N, D within 1%) at 1 point with" in text, text
    assert "'dataset' (at 1 point: 'rw', 'owt2')" in text, text


def dense_design(n: int = 900) -> pd.DataFrame:
    """SIMULATED: ``n`` sizes 0.26% apart (N 1.1e8..1.1e9, D = 20 N), each run once, on GPUs
    'a100' and 'h100' alternately: neighbours within 1% but no design point repeated."""
    rng = np.random.default_rng(1)
    N = np.geomspace(1.1e8, 1.1e9, n)
    loss = (1.8 + 400 / N**0.34 + 400 / (20 * N) ** 0.28) * np.exp(rng.normal(0, 0.001, n))
    return pd.DataFrame({"N": N, "D": 20 * N, "loss": loss, "gpu": ["a100", "h100"] * (n // 2)})


def test_a_dense_design_is_not_one_repeated_point():
    """Neighbours 0.26% apart chained every row into one design point, and load_runs warned
    "900 of 900 runs repeat a design point ... at 1 points" for rows 10x apart."""
    df = dense_design()
    assert load_caught(df)[1] == []
    ids = design_point_ids(df)
    assert len(set(ids)) > 100
    spans = np.log(df[["N", "D"]]).groupby(ids).agg(lambda v: v.max() - v.min())
    assert (spans.to_numpy() <= np.log1p(SAME_POINT_RTOL)).all()  # pairwise within 1%


def test_the_fixes_it_names_silence_it():
    """Each configuration alone, or each as its own group: runs of two groups are never one
    design point."""
    df = stacked()
    assert load_caught(df[df["dataset"] == "rw"])[1] == []
    assert load_caught(df, group="dataset")[1] == []
    assert load_caught(df, accepted_rows=list(range(18, 36)))[1] == []


def test_losses_within_run_to_run_noise_are_silent():
    assert load_caught(stacked(gap=REPEAT_NOISE_RTOL / 2))[1] == []
    assert load_caught(stacked(gap=3 * REPEAT_NOISE_RTOL))[1] != []


def test_replicates_with_a_numeric_seed_or_a_name_per_run_are_silent():
    """True replicates differ by a numeric seed (or a run name, one per row): not a
    configuration, however far apart their losses."""
    df = stacked(gap=0.05).drop(columns="dataset")
    df["seed"] = np.repeat([0, 1], 18)
    assert load_caught(df)[1] == []
    df["name"] = [f"run-{i}" for i in range(len(df))]
    assert load_caught(df)[1] == []


def test_sweep_runs_at_one_cell_differ_by_numeric_hyperparameters_silently():
    """An lr x batch sweep: runs at one (N, D) differ by lr and batch size (numbers), with a
    text column that does not vary among them."""
    grid = pd.DataFrame(
        [(N, D, lr, b) for N in (1e8, 3e8) for D in (2e9, 6e9) for lr in (1e-4, 1e-3, 1e-2)
         for b in (2**18, 2**20)],
        columns=["N", "D", "lr", "batch_size"],
    )  # fmt: skip
    grid["loss"] = 2.5 + (np.log10(grid["lr"]) + 3) ** 2 / 10
    grid["source"] = "simulated"
    assert load_caught(grid)[1] == []
    assert load_caught(grid.drop(columns=["lr", "batch_size"]))[1] == []


@pytest.mark.parametrize("name", bundled_names())
def test_the_bundled_tables_are_silent(name):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_bundled(name)
    assert not [w for w in caught if w.category is StackedConfigurationsWarning]


def test_the_shared_tables_speak_only_when_they_stack_configurations():
    """Porian's whole isoFLOP table (15 configurations) warns; Epoch's Chinchilla points and
    Step Law's sweep (runs at one (N, D) differ by lr and batch size, numbers) do not."""
    bundled = shared_or_skip()
    folder = bundled.shared_data_dir()
    porian = folder / "porian_isoflop" / "isoflop_points.csv"
    said = load_caught(porian, N="n_params", C="flops")[1]
    assert len(said) == 1 and "columns vary: 'decay' (at " in said[0]
    assert "'hparams'" in said[0] and "'dataset'" in said[0]
    chinchilla = folder / "epoch_chinchilla" / "svg_extracted_data.csv"
    assert load_caught(chinchilla, N="Model Size", C="Training FLOP")[1] == []
    steplaw = pd.read_csv(folder / "steplaw_lr_bs" / "dense_lr_bs_loss.csv")
    mapped = {"N": "N", "D": "D", "loss": "smooth loss", "ignore_columns": ["D/N"]}
    assert load_caught(steplaw, **mapped)[1] == []  # lr, bs, exp_name: not configurations
    assert load_caught(steplaw, lr="lr", batch_size="bs", **mapped)[1] == []


def test_design_points_follow_the_package_rule():
    """The rule restated here is repeats' (its module imports load_runs' own): every pair
    repeats.near_design calls the same point shares an id, where the rows so linked span at
    most twice the tolerance; rows 2% apart in N never do unless linked through a row between
    them."""
    assert SAME_POINT_RTOL == MATCH_RTOL and SAME_POINT_COLUMNS == DESIGN_COLUMNS
    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame(
        {
            "N": 1e8 * rng.choice([1.0, 1.004, 1.05, 1.2], n) * np.exp(rng.normal(0, 0.001, n)),
            "D": 2e9 * np.exp(rng.choice([0.0, 0.005, 0.03], n)),
            "lr": rng.choice([1e-3, 1.004e-3, 2e-3], n),
        }
    )
    ids = design_point_ids(df)
    close, _ = near_design(df, df)
    first, second = np.nonzero(close)
    assert (ids[first] == ids[second]).all()
    assert len(set(ids)) == 3 * 2 * 2  # N 1 and 1.004, D 0 and 0.005, lr 1 and 1.004 join
    apart = pd.DataFrame({"N": [1e8, 1.02e8, 1e8], "D": [1e9, 1e9, 1.02e9]})
    assert len(set(design_point_ids(apart))) == 3
