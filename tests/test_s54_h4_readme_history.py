"""The README's earlier design-replay scores are the committed summary's at the commit it names,
and its dates of the confirmation scoring those of the commits that wrote the rows. The README
quoted Epoch's `next_runs` error at 5% as 0.017 "with the code of 2026-12-04", where
the summary of that day (commit ab15acd) holds 0.01649, scored on 2026-12-02."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = "benchmarks/output/design_replay_summary.txt"
BUDGETS = ("0.01", "0.05", "0.1", "0.25")  # the summary's budget column: 1 / 5 / 10 / 25%
FOUR = r"(\d+(?:\.\d+)?) / (\d+(?:\.\d+)?) / (\d+(?:\.\d+)?) / (\d+(?:\.\d+)?)"


def readme_text() -> str:
    return " ".join((ROOT / "README.md").read_text().split())


def require_full_history() -> None:
    """Skips without git history, or with a shallow one (which lacks older commits, and whose
    oldest commit would stand in for the one that wrote a file)."""
    shallow = subprocess.run(
        ["git", "rev-parse", "--is-shallow-repository"], cwd=ROOT, capture_output=True, text=True
    )
    if shallow.returncode != 0 or shallow.stdout.strip() != "false":
        pytest.skip("no full git history here")


def summary_at(commit: str) -> str:
    """The design-replay summary as committed at ``commit`` (skips without full history; a
    commit that full history lacks, or that lacks the summary, fails: the README names it)."""
    require_full_history()
    out = subprocess.run(
        ["git", "show", f"{commit}:{SUMMARY}"], cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode != 0:
        pytest.fail(f"git show {commit}:{SUMMARY} failed: {out.stderr.strip()[:200]}")
    return out.stdout


def ours_errors(summary: str, pool: str) -> list[float]:
    """``error_median`` of strategy ours on ``pool`` at each of BUDGETS, from a summary text."""
    found = {}
    for line in summary.splitlines():
        cells = line.split()
        if len(cells) > 7 and cells[:2] == [pool, "ours"] and cells[2] in BUDGETS:
            found.setdefault(cells[2], float(cells[7]))  # the first table: error_median
    assert set(found) == set(BUDGETS), (pool, found)
    return [found[b] for b in BUDGETS]


def assert_quoted(quoted: tuple[str, ...], values: list[float], where: str) -> None:
    """Each quoted number is its value rounded to the quoted number of decimals."""
    for text, value in zip(quoted, values, strict=True):
        decimals = len(text.split(".")[1]) if "." in text else 0
        assert abs(float(text) - value) <= 0.5 * 10**-decimals + 1e-12, (where, text, value)


def test_the_readme_quotes_the_scores_before_the_rescorings_from_the_commit_it_names():
    pattern = (
        r"the summary at commit (\w+), 2026-12-04; .*?`next_runs` had scored "
        rf"{FOUR} on Step Law, {FOUR} on Porian and {FOUR} on Epoch"
    )
    m = re.search(pattern, readme_text())
    assert m, "the README no longer names the commit of its earlier scores"
    summary = summary_at(m.group(1))
    for i, pool in enumerate(("steplaw", "porian", "epoch")):
        quoted = m.groups()[1 + 4 * i : 5 + 4 * i]
        assert_quoted(quoted, ours_errors(summary, pool), pool)


def test_the_readme_quotes_the_step_law_scores_before_71af2e1_from_the_commit_it_names():
    m = re.search(
        rf"before 71af2e1 \(the summary at commit (\w+)\), had `next_runs` at {FOUR}",
        readme_text(),
    )
    assert m, "the README no longer names the commit of the 2026-12-05 scoring"
    assert_quoted(m.groups()[1:], ours_errors(summary_at(m.group(1)), "steplaw"), "steplaw")


def last_written(path: str) -> str:
    """The date (YYYY-MM-DD) of the last commit that wrote ``path`` (skips without history, or
    with a shallow one, whose oldest commit would stand in for the one that wrote it)."""
    require_full_history()
    out = subprocess.run(
        ["git", "log", "-1", "--format=%ad", "--date=short", "--", path],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0 or not out.stdout.strip():
        pytest.skip(f"no git history of {path} here")
    return out.stdout.strip()


def test_the_readme_dates_the_confirmation_scoring_as_the_committed_rows_are():
    """"scored once, with the code of 2026-12-04" -- Llama-3's rows (and Marin's random and
    grid) were written on 2026-12-03; only Marin's next_runs and V-optimal rows were scored
    again on 2026-12-04 (commit ab15acd)."""
    m = re.search(
        r"Llama-3 and Marin .*? pools were scored once, with the code of (\d{4}-\d\d-\d\d) "
        r"\(Marin's `next_runs` and V-optimal rows again on (\d{4}-\d\d-\d\d)",
        readme_text(),
    )
    assert m, "the README no longer dates the confirmation pools' scoring"
    first, again = m.groups()
    assert last_written("benchmarks/output/design_replay_llama_3.csv") == first
    for pool in ("comma", "dclm", "nemotron"):
        assert last_written(f"benchmarks/output/design_replay_marin_{pool}.csv") == again
