"""The README history checks skip only without full git history: a README that names a commit
the history lacks fails (it was skipped, as if the history were missing)."""

from __future__ import annotations

import subprocess

import pytest
from test_s54_h4_readme_history import ROOT, summary_at


def test_a_commit_the_history_lacks_fails_rather_than_skips():
    shallow = subprocess.run(
        ["git", "rev-parse", "--is-shallow-repository"], cwd=ROOT, capture_output=True, text=True
    )
    if shallow.returncode != 0 or shallow.stdout.strip() != "false":
        pytest.skip("no full git history here")
    try:
        summary_at("0000000")
    except pytest.skip.Exception as skipped:
        pytest.fail(f"skipped with full history here: {skipped}")
    except pytest.fail.Exception as failed:
        assert "git show 0000000" in str(failed)
    else:
        pytest.fail("a commit the history lacks was read")
