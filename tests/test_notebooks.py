"""The notebooks execute from a clean state (nbclient, small draws) and are committed without
outputs. They run in the default suite: a few minutes each at most on a 2-core CPU."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ("planning.ipynb", "paper_repro.ipynb")
DRAWS = "150"  # per chain, warm-up and draws (the notebooks default to 300)
TIMEOUT = 600  # seconds per cell


def _read(name):
    return nbformat.read(NOTEBOOKS / name, as_version=4)


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(name):
    nb = _read(name)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, f"{name}: a cell has outputs; clear them before committing"
            assert cell.execution_count is None, f"{name}: clear the execution counts"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_executes(name, tmp_path, monkeypatch):
    monkeypatch.setenv("BAYESLAWS_NOTEBOOK_DRAWS", DRAWS)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = _read(name)
    client = NotebookClient(
        nb,
        timeout=TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # a clean working folder
    )
    client.execute()
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]
    assert not errors
    images = sum(
        1
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if "image/png" in out.get("data", {})
    )
    if name == "planning.ipynb":
        assert images >= 6  # pairs, bowls, two fans, isoflop, n_opt, design ranking
