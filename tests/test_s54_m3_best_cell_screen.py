"""``plan --route best-cell --screen exclude``: the loss surface was fitted to each cell's best
run of ALL runs, so a run the hyperparameter fit's screening excluded (e.g. a run whose loss is
too low to be real) could still be its cell's best run; now the surface's best runs are picked
from the runs the hyperparameter fit kept."""

from __future__ import annotations

from types import SimpleNamespace

from conftest import small_sweep_grid

import bayeslaws as bl
from bayeslaws.app import demo
from bayeslaws.runs import best_run_per_cell


def test_the_surface_never_takes_a_run_the_hyperparameter_screening_excluded(monkeypatch):
    runs = bl.load_runs(small_sweep_grid())
    suspect = best_run_per_cell(runs).df.index[0]  # screened out by the hyperparameter fit
    fitted = {}

    def fake_fit(table, law, **options):
        fitted[law] = table
        excluded = [str(suspect)] if law == "hyperparams" else []
        return SimpleNamespace(record=SimpleNamespace(data={"screening": {"excluded": excluded}}))

    monkeypatch.setattr(demo, "fit", fake_fit)
    demo.fit_laws(runs, {}, "best-cell", screen="exclude")
    surface_rows = list(fitted["chinchilla"].df.index)
    assert suspect not in surface_rows
    assert len(surface_rows) == len(best_run_per_cell(runs).df)  # every cell keeps a best run
    reasons = [e.reason for e in fitted["chinchilla"].exclusions]
    assert any("screening" in r for r in reasons), reasons
