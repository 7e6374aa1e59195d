"""A script that starts a batch on the local pool at its top level, outside
``if __name__ == "__main__":`` (README's fit_many example pasted as is), is refused before any
process starts: each ``spawn`` process ran the script again, reached the call again and died in
multiprocessing's start-up check, and every task failed as "BrokenProcessPool ... (the worker
process running it died)", the cause only in the workers' stderr. Real scripts, run in a
subprocess; the tasks are ``abs`` (no sampling)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import bayeslaws

ROOT = Path(bayeslaws.__file__).resolve().parents[1]  # the tree under test, for the scripts
GUARD = 'if __name__ == "__main__":'

# README's example, without its guard (the tasks fail or are refused before any sampling)
README_UNGUARDED = """
import bayeslaws as bl
from bayeslaws.runs import simulate

truth = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37,
         "N": [3e7, 1e8, 3e8, 1e9], "D": [1e9, 5e9, 2e10, 4e10]}
tables = [bl.load_runs(simulate.simulate_chinchilla_runs(truth, noise_sd=0.01, seed=i))
          for i in range(2)]
tasks = [{"runs": table, "law": "chinchilla", "name": f"corpus{i}", "draws": 50, "seed": i}
         for i, table in enumerate(tables)]
result = bl.fit_many(tasks, workers=1, retries=0, show_progress=False)  # THE CALL
result.raise_for_failures()
"""

CALLED_UNGUARDED = """
from bayeslaws.inference.batch import map_tasks

def run():
    return map_tasks(abs, [-1, -2], workers=1, show_progress=False)

result = run()  # THE CALL
result.raise_for_failures()
print("values", result.values)
"""

GUARDED = """
from bayeslaws.inference.batch import map_tasks

if __name__ == "__main__":
    result = map_tasks(abs, [-1, -2], workers=1, show_progress=False)
    result.raise_for_failures()
    print("values", result.values)
"""

CALLED_UNDER_GUARD = """
from bayeslaws.inference.batch import map_tasks

def main():
    result = map_tasks(abs, [-1, -2], workers=1, show_progress=False)
    result.raise_for_failures()
    print("values", result.values)

if '__main__' == __name__:
    main()
"""


def run_script(tmp_path: Path, text: str, as_module: bool = False) -> subprocess.CompletedProcess:
    """``text`` saved as tmp_path/script.py and run there as ``python script.py`` (or, with
    ``as_module``, ``python -m script``, which spawn also runs again in each process)."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(text))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = ["-m", "script"] if as_module else [str(script)]
    return subprocess.run(
        [sys.executable, *command], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=600,
    )


def line_of(text: str, marker: str) -> int:
    """The 1-based line of ``text`` (as written to the script) that holds ``marker``."""
    lines = textwrap.dedent(text).splitlines()
    return next(i for i, line in enumerate(lines, 1) if marker in line)


@pytest.mark.parametrize(
    "text, as_module",
    [(README_UNGUARDED, False), (CALLED_UNGUARDED, False), (CALLED_UNGUARDED, True)],
    ids=["top", "function", "function-as-module"],
)
def test_a_batch_started_outside_the_main_guard_is_refused_before_any_process(
    tmp_path, text, as_module
):
    done = run_script(tmp_path, text, as_module)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: the local worker processes cannot start"), done.stderr
    line = line_of(text, "THE CALL")  # the script's top-level line that starts the batch
    assert f"(line {line}) outside an `{GUARD}` block" in last
    assert str(tmp_path / "script.py") in last and "InProcessExecutor()" in last
    # no worker process started: none ran the script again and died
    assert "BrokenProcessPool" not in done.stderr
    assert "bootstrapping phase" not in done.stderr


@pytest.mark.slow  # worker processes: .ci/run's slow step
@pytest.mark.parametrize("text", [GUARDED, CALLED_UNDER_GUARD], ids=["top", "function"])
def test_a_batch_started_under_the_main_guard_runs(tmp_path, text):
    done = run_script(tmp_path, text)
    assert done.returncode == 0, done.stderr
    assert "values [1, 2]" in done.stdout


def test_the_main_guard_is_read_in_either_order_and_only_its_body_counts():
    from bayeslaws.inference.batch.checks import under_main_guard

    source = textwrap.dedent("""
        go()                                # 2: unguarded
        if __name__ == "__main__":
            go()                            # 4
        else:
            go()                            # 6: what a worker runs
        if '__main__' == __name__ and ok:
            go(
                1)                          # 9
        if __name__ != "__main__":
            go()                            # 11
        if name == "__main__":
            go()                            # 13: not __name__
    """)
    assert [line for line in range(1, 14) if under_main_guard(source, line)] == [4, 8, 9]
