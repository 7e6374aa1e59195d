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


def test_paper_repro_uses_the_package_distance_and_says_which_cell_runs_the_script():
    """paper_repro.ipynb had its own ``beyond()`` (decades beyond the largest fitted budget);
    it now prints the package's ``bayeslaws.app.report.distance_phrase`` (the same decades), and
    the markdown before ``import yin`` says plainly that the cell runs paper_repro/yin.py."""
    import numpy as np

    from bayeslaws.app.report import distance_phrase

    nb = _read("paper_repro.ipynb")
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    assert "def beyond" not in code and "beyond(" not in code
    assert code.count("distance_phrase(") == 3  # the Yin, Liang and Epoch budgets
    k = next(
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and "import yin" in c.source.splitlines()
    )
    before = nb.cells[k - 1]
    assert before.cell_type == "markdown"
    assert "runs the reproduction script" in before.source
    assert "paper_repro/yin.py" in before.source
    # what the old helper printed, 2.17 decades for 1e22 FLOPs beyond a largest budget 4.6e19
    ranges = {"C": [1e18, 4.6e19]}
    assert f"C {np.log10(1e22 / 4.6e19):.2f} decades above" in distance_phrase("C", 1e22, ranges)
