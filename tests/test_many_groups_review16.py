"""Fits of many groups (review 16): the tree-depth advice of a dense fit of more parameters
than its warm-up can estimate a dense mass matrix for, one identifiability warning for many
groups' caveats, and messages and report sections that list a few groups, not all of them
(SIMULATED Chinchilla runs; tiny fits)."""

from __future__ import annotations

import re
import warnings
from types import SimpleNamespace

import arviz as az
import numpy as np
import pandas as pd
import pytest
from conftest import IDENTIFIABILITY_TRUTH as TRUTH
from conftest import identifiability_runs_at, report_section

import bayeslaws as bl
from bayeslaws.app.report import fit_report, group_words
from bayeslaws.design.gaussian import unknown_label_message
from bayeslaws.inference import IdentifiabilityWarning, identifiability
from bayeslaws.inference.diagnostics import MAX_TREE_DEPTH, check
from bayeslaws.laws.contract import resolve_group

LABELS = [f"g{i:04d}" for i in range(200)]


# ---- 1. tree-depth advice ---------------------------------------------------------------------
def deep_idata(n_params: int):
    """A one-chain InferenceData of 100 draws of ``n_params`` parameters (one per-group site),
    every draw at the maximum tree depth."""
    rng = np.random.default_rng(0)
    return az.from_dict(
        posterior={"x_group": rng.standard_normal((1, 100, n_params))},
        sample_stats={
            "diverging": np.zeros((1, 100), bool),
            "n_steps": np.full((1, 100), 2**MAX_TREE_DEPTH - 1),
        },
    )


def depth_line(n_params: int, dense_mass, warmup=None) -> str:
    diag = check(deep_idata(n_params), ["x_group"], warn=False, dense_mass=dense_mass,
                 **({} if warmup is None else {"warmup": warmup}))  # fmt: skip
    (line,) = [p for p in diag.problems if "maximum tree depth" in p]
    return line


def test_a_dense_fit_of_many_parameters_is_advised_a_diagonal_mass_matrix():
    """The reviewer's loop: a dense fit of ~1,000 parameters told the matrix is already dense,
    the diagonal refit told to use a dense one."""
    dense = depth_line(1000, True)
    assert "dense_mass=False" in dense and "already dense" not in dense
    assert "1000 parameters" in dense
    diagonal = depth_line(1000, False)
    assert "fit fewer parameters" in diagonal
    # a dense matrix is advised only with the warm-up it needs
    assert "or use a dense mass matrix (dense_mass=True)" not in diagonal
    needed = int(re.search(r"needs a warm-up of (\d+) draws", diagonal).group(1))
    assert needed > 1000
    # with that warm-up the dense fit's advice is the old one
    assert "already dense" in depth_line(1000, True, warmup=needed)


def test_the_command_line_says_the_diagonal_advice_as_its_option():
    """The advice dense_mass=False reaches the command line as --dense-mass false."""
    from bayeslaws.app.cli.hints import with_cli_hints

    line = with_cli_hints(depth_line(1000, True), "fit")
    assert "--dense-mass false" in line


def test_few_parameters_keep_the_depth_advice():
    assert "already dense" in depth_line(20, True)
    assert "or use a dense mass matrix (dense_mass=True)" in depth_line(20, False)
    assert "or use a dense mass matrix (dense_mass=True)" in depth_line(20, None)


# ---- 2. one identifiability warning for many groups -------------------------------------------
def thin_groups(n_groups: int) -> pd.DataFrame:
    """``n_groups`` groups of SIMULATED Chinchilla runs, each at one token count of its own
    (a caveat per group) on 3 sizes; a group "wide" on a 3 x 3 grid keeps the pooled table
    identified."""
    sizes = np.geomspace(5e7, 2e9, 3)[:, None]
    parts = [identifiability_runs_at(np.geomspace(1e9, 1e11, 3), sizes=sizes).assign(group="wide")]
    for i, D in enumerate(np.geomspace(1e9, 1e11, n_groups)):
        truth = {**TRUTH, "E": TRUTH["E"] * (1 + 0.01 * i)}
        runs = identifiability_runs_at([D], sizes=sizes, truth=truth, seed=i + 1)
        parts.append(runs.assign(group=f"g{i:04d}"))
    return pd.concat(parts, ignore_index=True)


def prepared_of(df):
    law = bl.laws.LAWS["chinchilla"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return law, law.prepare(bl.load_runs(df, group="group"))


def identifiability_warnings(df) -> list[str]:
    law, prepared = prepared_of(df)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        identifiability.check(law, prepared, law.default_likelihood)
    return [str(w.message) for w in caught if issubclass(w.category, IdentifiabilityWarning)]


def test_many_groups_caveats_are_one_warning_and_each_is_kept():
    df = thin_groups(40)
    (warned,) = identifiability_warnings(df)
    assert "40 of 41 groups" in warned and "and 35 more" in warned
    assert "'g0000'" in warned and "'g0004'" in warned and "'g0005'" not in warned
    assert "fit.record.notes" in warned
    assert len(warned) < 1500  # not the 40 messages
    law, prepared = prepared_of(df)
    kept = identifiability.caveats(law, prepared)  # the fit's notes: every group's caveat
    assert len(kept) == 40 and {c.split(":")[0] for c in kept} == {
        f"group 'g{i:04d}'" for i in range(40)
    }
    assert kept[0] in warned  # the first, as an example


def test_few_groups_caveats_are_warned_one_by_one():
    warned = identifiability_warnings(thin_groups(3))
    assert len(warned) == 3 and all(w.startswith("group 'g000") for w in warned)


# ---- 3. lists of every group ------------------------------------------------------------------
def test_an_unknown_group_names_a_few_of_the_fits_groups():
    with pytest.raises(ValueError) as raised:
        resolve_group(LABELS, "x-g0012")
    message = str(raised.value)
    assert "and 190 more" in message and "'g0009'" in message and "'g0010'" not in message
    assert "did you mean 'g0012'?" in message
    assert len(message) < 400
    with pytest.raises(ValueError, match=r"\['a', 'b'\]$"):  # few groups: all, as before
        resolve_group(["a", "b"], "zzz")


def test_unknown_candidate_labels_name_a_few_of_the_fits_groups():
    message = unknown_label_message("x-g0012", LABELS)
    assert "and 190 more" in message and "'g0010'" not in message
    assert "did you mean 'g0012'?" in message and len(message) < 600
    assert "['a', 'b'] (did you mean 'b'?)" in unknown_label_message("B", ["a", "b"])


def test_the_new_group_sentence_names_a_few_groups():
    words = group_words(SimpleNamespace(groups=LABELS), None)
    assert "g0009" in words and "g0010" not in words and "and 190 more" in words
    assert group_words(SimpleNamespace(groups=["a", "b"]), None) == (
        "a new group (not one of: a, b)"
    )


@pytest.fixture(scope="module")
def twelve_group_fit():
    """A tiny fit (one chain, 30 + 30 draws) of 12 groups of SIMULATED Chinchilla runs."""
    sizes = np.geomspace(5e7, 2e9, 3)[:, None]
    tokens = np.geomspace(1e9, 1e11, 3)
    parts = [
        identifiability_runs_at(tokens, sizes=sizes, truth={**TRUTH, "E": 1.6 + 0.02 * i},
                                seed=i).assign(group=f"g{i:02d}")
        for i in range(12)
    ]  # fmt: skip
    runs = bl.load_runs(pd.concat(parts, ignore_index=True), group="group")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(runs, law="chinchilla", chains=1, warmup=30, draws=30, seed=0,
                      progress_bar=False)  # fmt: skip


def test_the_report_collapses_per_group_parameter_rows(twelve_group_fit):
    fit = twelve_group_fit
    summary = fit.summary()
    per_group = [n for n in summary.index if n.startswith("alpha_group[")]
    assert len(per_group) == 12
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = fit_report(fit, group="g10")
    text = report.to_text()
    params = report_section(text, "Parameters")
    assert "alpha_group[g00]" in params and "alpha_group[g04]" in params
    assert "alpha_group[g05]" not in params
    assert "alpha_group[g10]" in params  # the report's group
    assert "and 6 more alpha_group rows" in params and "fit.summary()" in params
    assert "alpha" in params and "alpha_tau" in params  # the population rows stay
    page = report.to_html()
    assert "<td>alpha_group[g05]</td>" not in page and "<td>alpha_group[g10]</td>" in page
    assert "and 6 more alpha_group rows" in page
