"""The main job (``bayeslaws demo``): fit the laws to the bundled SIMULATED video-DiT sweep and
write a planning report. All the logic lives in the package; the CLI only calls
:func:`run_demo`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .datasets import DEFAULT_DATASET, load_bundled
from .inference import fit
from .predict import predict
from .runs import RunTable

TARGET_N, TARGET_D = 1.07e9, 1e10  # Yin et al.'s 1.07B check at 10B tokens


def best_run_per_cell(runs: RunTable) -> RunTable:
    """Keep each (N, D) cell's lowest-loss run: the loss under (near-)optimal hyperparameters.
    The other runs are excluded with that reason, so the fit records them."""
    cells = ["N", "D"] + (["group"] if "group" in runs.df else [])
    best = runs.df.groupby(cells)["loss"].transform("min") == runs.df["loss"]
    return runs.subset(best, "not the best (lowest-loss) run of its (N, D) cell")


def run_demo(out: Path, chains: int = 4, warmup: int = 500, draws: int = 500, seed: int = 0):
    """Fit, predict and write ``out/report.txt``; returns the report text."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = load_bundled(DEFAULT_DATASET)
    lines = [
        f"bayeslaws demo on the bundled data set '{DEFAULT_DATASET}' (SIMULATED: "
        "bayeslaws.simulate, video-DiT design of Yin et al. 2025)",
        f"{runs}",
        "",
    ]
    surface_runs = best_run_per_cell(runs)
    surface = fit(
        surface_runs,
        law="chinchilla",
        likelihood="gaussian",
        chains=chains,
        warmup=warmup,
        draws=draws,
        seed=seed,
    )
    lines += [
        "== Loss surface L(N, D) = E + A/N^alpha + B/D^beta, fitted to each cell's best run ==",
        repr(surface),
        surface.summary().round(4).to_string(),
        "",
        f"== Predicted loss of a {TARGET_N / 1e9:.2f}B model on {TARGET_D / 1e9:.0f}B tokens "
        "(90% intervals) ==",
    ]
    table = pd.concat(
        [
            predict(surface, N=TARGET_N, D=TARGET_D, kind=kind, seed=seed)
            for kind in ("mean", "new_run")
        ]
    )
    lines.append(table.to_string(index=False))
    surface.save(out / "loss_surface_fit.nc")
    report = "\n".join(lines) + "\n"
    (out / "report.txt").write_text(report)
    print(report)
    print(f"wrote {out / 'report.txt'} and {out / 'loss_surface_fit.nc'}")
    return report
