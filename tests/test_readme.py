"""The README as a newcomer uses it: the names it shows resolve after ``import bayeslaws as bl``,
and its five-minute tour runs as written (slow: it fits the joint sweep model)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def python_block_after(heading: str) -> str:
    """The first ```python block after the line ``heading`` in the README."""
    start = README.index(heading)
    block = README.index("```python\n", start) + len("```python\n")
    return README[block : README.index("```", block)]


def test_readme_names_resolve_from_a_bare_import():
    """Every ``bl.X.Y`` the README shows (outside the migration table, whose left column names
    the old places) resolves after ``import bayeslaws as bl`` in a fresh process, where no other
    test has imported a submodule first; so do the package's public names, and every dotted
    ``bayeslaws.a.b`` path it shows, after importing its longest module prefix."""
    migration = README.index("### Migration from 0.1")
    after = README.index("\n## ", migration)
    body = README[:migration] + README[after:]
    names = sorted(set(re.findall(r"\bbl((?:\.[A-Za-z_]\w*)+)", body)))
    paths = sorted(set(re.findall(r"\bbayeslaws((?:\.[A-Za-z_]\w*)+)", body)))
    assert len(names) > 20 and len(paths) > 5, (names, paths)
    script = (
        "import importlib, json, sys\nimport bayeslaws as bl\nbad = []\n"
        "names, paths = json.loads(sys.argv[1])\n"
        "for name in names + ['.' + n for n in bl.__all__]:\n"
        "    obj = bl\n"
        "    try:\n"
        "        for part in name.strip('.').split('.'):\n"
        "            obj = getattr(obj, part)\n"
        "    except AttributeError as err:\n"
        "        bad.append(f'bl{name}: {err}')\n"
        "for path in paths:\n"
        "    parts = ('bayeslaws' + path).split('.')\n"
        "    for cut in range(len(parts), 0, -1):\n"
        "        try:\n"
        "            obj = importlib.import_module('.'.join(parts[:cut]))\n"
        "            break\n"
        "        except ModuleNotFoundError:\n"
        "            continue\n"
        "    try:\n"
        "        for part in parts[cut:]:\n"
        "            obj = getattr(obj, part)\n"
        "    except AttributeError as err:\n"
        "        bad.append(f'bayeslaws{path}: {err}')\n"
        "print(json.dumps(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps([names, paths])], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


@pytest.mark.slow
def test_the_tour_runs_as_written(tmp_path):
    """The README's five-minute tour, copied as a newcomer would, runs to the end in a fresh
    process (it writes fit.nc into its working folder, here a temporary one)."""
    code = python_block_after("## Five-minute tour")
    assert "bl.fit(runs" in code and "bl.design.next_runs" in code
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=1200
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "fit.nc").exists()


def test_moved_demo_names_still_resolve_with_a_warning():
    """``bl.demo.X`` for the names that moved to plan / plan_report in 0.2.1 resolves to the
    same object with a FutureWarning naming the new place; unknown names still fail."""
    import bayeslaws as bl
    from bayeslaws.app import plan, plan_report

    with pytest.warns(FutureWarning, match="moved to bayeslaws.app.plan_report.comparison_table"):
        assert bl.demo.comparison_table is plan_report.comparison_table
    with pytest.warns(FutureWarning, match="moved to bayeslaws.app.plan.truth_size_change"):
        assert bl.demo.truth_size_change is plan.truth_size_change
    for name, module in (("planning", plan), ("build_report", plan_report)):  # demo uses both
        with pytest.warns(FutureWarning, match=f"moved to {module.__name__}.{name}"):
            assert getattr(bl.demo, name) is getattr(module, name)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        bl.demo.nothing  # noqa: B018


# ---- the design replay's sampler-failure counts (benchmarks/output/design_replay_summary.txt) --

SUMMARY = ROOT / "benchmarks" / "output" / "design_replay_summary.txt"
# the README's names of the replay's pools and strategies -> the summary's
POOLS = {
    "Step Law": "steplaw",
    "Epoch": "epoch",
    "Porian": "porian",
    "Llama-3": "llama_3",
    "comma": "marin_202603_comma",
    "DCLM": "marin_202603_dclm",
    "Nemotron": "marin_202603_nemotron",
}
STRATEGIES = {"next_runs": "ours", "random": "random", "V-optimal": "vopt", "grid": "grid"}
COUNT = r"(\d+) of (\d+)"


def sampler_checks() -> dict:
    """The summary's "Sampler checks" table: (pool, strategy) -> {column: int} (fits,
    sampler_failed, failed_at_start, sampler_ok_missing, judged)."""
    lines = SUMMARY.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Sampler checks"))
    columns = lines[start + 1].split()
    assert columns[:3] == ["pool", "strategy", "fits"], columns
    table = {}
    for line in lines[start + 2 :]:
        cells = line.split()
        if len(cells) != len(columns) or not all(c.isdigit() for c in cells[2:]):
            break
        table[tuple(cells[:2])] = dict(zip(columns[2:], map(int, cells[2:]), strict=True))
    assert table, "no rows under 'Sampler checks'"
    return table


def readme_counts(pattern: str) -> tuple[int, ...]:
    """The numbers of the README sentence ``pattern`` (a regex; whitespace in the README is
    collapsed to single spaces), failing when the README has no such sentence."""
    m = re.search(pattern, " ".join(README.split()))
    assert m, f"the README has no sentence matching {pattern!r}"
    return tuple(int(x) for x in m.groups())


def failed(table: dict, pool: str, strategy: str) -> tuple[int, int]:
    row = table[(POOLS[pool], STRATEGIES[strategy])]
    return row["sampler_failed"], row["fits"]


def test_readme_quotes_the_replay_pools_sampler_failures():
    """"next_runs 3 of 10 on Step Law, 5 of 10 on Epoch, 2 of 15 on Porian": the sampler_failed
    and fits of strategy ours in the summary's "Sampler checks"."""
    pools = ("Step Law", "Epoch", "Porian")
    pattern = "next_runs " + ", ".join(f"{COUNT} on {p}" for p in pools) + r" \(every"
    quoted = readme_counts(pattern)
    expected = tuple(x for p in pools for x in failed(sampler_checks(), p, "next_runs"))
    assert quoted == expected, (quoted, expected)


def test_readme_quotes_the_confirmation_pools_sampler_failures():
    """The confirmation pools' counts, "`next_runs` 5 of 15 on Llama-3, ... (random 6 / 5 / 5 /
    5 of 15, V-optimal ..., the grid 4 of 10 / 6 / 6 / 4 of 15)", are the summary's, and every
    one of those rows is judged from its recorded figures, as the sentence says."""
    table = sampler_checks()
    pools = ("Llama-3", "comma", "DCLM", "Nemotron")
    ours = ", ".join(f"{COUNT} on {p}" for p in pools[:-1]) + f" and {COUNT} on {pools[-1]}"
    shared = r"(\d+) / (\d+) / (\d+) / (\d+) of (\d+)"  # one number of fits for all four
    grid = r"(\d+) of (\d+) / (\d+) / (\d+) / (\d+) of (\d+)"  # Llama-3's own, then the rest
    pattern = rf"`next_runs` {ours} \(random {shared}, V-optimal {shared}, the grid {grid}\)"
    quoted = readme_counts(pattern)
    expected = [x for p in pools for x in failed(table, p, "next_runs")]
    for strategy in ("random", "V-optimal"):
        counts = [failed(table, p, strategy) for p in pools]
        assert len({n for _, n in counts}) == 1, (strategy, counts)  # "... of 15" for all four
        expected += [f for f, _ in counts] + [counts[0][1]]
    grid_counts = [failed(table, p, "grid") for p in pools]
    assert len({n for _, n in grid_counts[1:]}) == 1, grid_counts
    expected += [*grid_counts[0], *(f for f, _ in grid_counts[1:]), grid_counts[1][1]]
    assert quoted == tuple(expected), (quoted, tuple(expected))
    for pool in pools:
        for strategy in STRATEGIES.values():
            row = table[(POOLS[pool], strategy)]
            assert row["judged"] == row["fits"], (pool, strategy, row)


# ---- the tour figure's numbers (benchmarks/output/tour_numbers.txt) ----------------------------
NUMBER = r"([-+]?\d[\d.]*(?:e[-+]?\d+)?)"


def readme_number(text: str) -> str:
    """A number of tour_numbers.txt as the README writes it: 2.27e+09 -> 2.27e9, 7.62e+08 ->
    7.62e8."""
    return re.sub(r"e\+?(-?)0*(\d)", r"e\1\2", text)


def test_readme_quotes_the_tour_numbers():
    """The tour paragraph's N_opt(1e22) interval, R-hat, the fixed-vs-optimal change and the
    best-cell baseline are those make_readme_figure.py wrote (fail if either side changes)."""
    written = (ROOT / "benchmarks" / "output" / "tour_numbers.txt").read_text().splitlines()
    lines = [line for line in written if not line.startswith("#")]  # the header: its command
    text = " ".join(README.split())
    fit = re.search(r"max R-hat ([\d.]+), .*?(\d+) divergences", lines[0])
    n_opt = re.search(rf"N_opt\(1e\+22\) {NUMBER} \[{NUMBER}, {NUMBER}\]", lines[1])
    med, lo, hi = (readme_number(x) for x in n_opt.groups())
    divergences = "no divergences" if fit.group(2) == "0" else f"{fit.group(2)} divergences"
    assert f"N_opt(1e22) at {med} [{lo}, {hi}] (90%)" in text
    assert f"(R-hat {fit.group(1)}, {divergences})" in text
    change = re.search(r"\(([-+]\d+%), 90% interval \[([-+]\d+%), ([-+]\d+%)\]\)", lines[2])
    assert f"N_opt(1e22) {change.group(1)} [{change.group(2)}, {change.group(3)}] larger" in text
    base = re.search(rf"N_opt {NUMBER} \[{NUMBER}, {NUMBER}\].*?(\d+) divergences", lines[3])
    b_med, b_lo, b_hi = (readme_number(x) for x in base.groups()[:3])
    assert f"at {b_med} [{b_lo}, {b_hi}], the truth outside (and {base.group(4)} divergent" in text


def test_readme_quotes_the_yin_confirmation_replicates():
    """The joint sweep model's 20 confirmation replicates (sweep_yin_sigma_lognormal): bias,
    coverage, clean fits, the fixed-vs-optimal change and the largest R-hat, as the summary and
    its CSV's latest rows say."""
    out = ROOT / "benchmarks" / "output"
    line = (out / "sweep_yin_sigma_lognormal_summary.txt").read_text()
    bias, mean = re.search(r"bias ([-+][\d.]+%) .*?mean ([-+][\d.]+%)", line).groups()
    covered = re.search(r"90% coverage \d+% \((\d+)/20\)", line).group(1)
    clean = re.search(r"clean fits .*? (\d+)/20", line).group(1)
    change, truth = re.search(
        r"median of medians ([-+][\d.]+)%.*?truth ([-+][\d.]+)%", line
    ).groups()
    rows = pd.read_csv(out / "sweep_yin_sigma_lognormal.csv")
    r_hat = rows.drop_duplicates("replicate", keep="last")["max_r_hat"].max()
    text = " ".join(README.split())
    said = f"N_opt(1e22) is {bias} from the truth (median of replicate medians; mean {mean})"
    assert said in text
    assert f"{covered} of 20 replicates' 90% intervals cover it" in text
    assert f"max R-hat {r_hat:.3f} at that short setting" in text
    assert f"{clean} of 20 at R-hat <= 1.01 with no divergence" in text
    assert f"optimal ones is {float(change):+.0f}% (median; the simulator's own answer " \
        f"{float(truth):+.0f}%)" in text


REPO_DIRS = ("tests", "benchmarks", "paper_repro", "bayeslaws", "docs", "data", "notebooks")
REPO_PATH = re.compile(rf"(?<![\w./])((?:{'|'.join(REPO_DIRS)})/[\w./*-]*[\w*])")
TEST_FILE = re.compile(r"(?<![\w/])(test_\w+\.py)\b")


def named_paths(text: str) -> set[str]:
    """Repository paths a document names: ``tests/...``, ``benchmarks/...`` and the like, and bare
    test-file names (``test_x.py``, which live in tests/). Glob patterns are left out."""
    paths = {p for p in REPO_PATH.findall(text) if "*" not in p}
    return paths | {f"tests/{name}" for name in TEST_FILE.findall(text)}


@pytest.mark.parametrize(
    "document", ["README.md", "paper_repro/README.md", "docs/calibration_protocol.md"]
)
def test_the_paths_a_document_names_exist(document):
    """A renamed test file or script left its old name in the docs (README named
    test_progress_seed_review8.py months after it became test_progress_bar_same_draws.py)."""
    text = (ROOT / document).read_text()
    missing = sorted(p for p in named_paths(text) if not (ROOT / p).exists())
    assert named_paths(text), f"{document} names no repository path: the pattern is broken"
    assert not missing, f"{document} names paths that do not exist: {missing}"


def test_named_paths_finds_a_missing_test_file():
    assert named_paths("see `test_gone.py` and tests/test_a.py, not tests/*.py") == {
        "tests/test_gone.py",
        "tests/test_a.py",
    }


def named_test_files(text: str) -> set[str]:
    """The test files a text names (``tests/test_x.py`` or a bare ``test_x.py``)."""
    return {p for p in named_paths(text) if p.startswith("tests/") and p.endswith(".py")}


def test_the_test_files_code_and_notebooks_name_exist():
    """Docstrings and comments point readers at the test that pins a behaviour; when review-pass
    test files were refiled by topic, six such pointers went on naming files that were gone
    (e.g. inference/nuts.py named test_progress_seed_review8.py). Paths to outputs are left out
    here: code builds them from parts (``f"benchmarks/output/calibration_{split}.csv"``)."""
    folders = ("bayeslaws", "benchmarks", "paper_repro")
    sources = [p for d in folders for p in (ROOT / d).rglob("*.py")]
    sources += list((ROOT / "notebooks").glob("*.ipynb"))
    missing = {}
    for source in sources:
        gone = sorted(p for p in named_test_files(source.read_text()) if not (ROOT / p).exists())
        if gone:
            missing[str(source.relative_to(ROOT))] = gone
    assert not missing, f"test files named in code that do not exist: {missing}"
