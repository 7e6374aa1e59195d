"""Regenerate the bundled tables in data/ (run from anywhere: ``python data/make_datasets.py``;
``--out DIR`` writes them into DIR instead, e.g. to compare with the committed files).

* ``video_dit_sweep_simulated.csv``: SIMULATED Yin et al.-style sweep,
  :func:`bayeslaws.runs.simulate.simulate_video_dit_sweep` with seed ``SWEEP_SEED``.
* ``yin2025_grid_1p07B.csv``: the 1.07B validation grid of Yin et al. (arXiv 2411.17470,
  CVPR 2025), typed from a third party's reading of the paper's heat map.

See data/README.md for columns and units.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

DATA_DIR = Path(__file__).resolve().parent
REPO_ROOT = DATA_DIR.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bayeslaws.runs import published  # noqa: E402
from bayeslaws.runs.simulate import simulate_video_dit_sweep  # noqa: E402

SWEEP_SEED = 20251121
FLOAT_FORMAT = "%.10g"
SWEEP_FILE = DATA_DIR / "video_dit_sweep_simulated.csv"
GRID_FILE = DATA_DIR / "yin2025_grid_1p07B.csv"

YIN_CITATION = (
    "Yin et al., Towards Precise Scaling Laws for Video Diffusion Transformers, "
    "arXiv 2411.17470 (CVPR 2025), 1.07B validation grid; values read off the paper's heat map "
    "by a third party (4th decimal approximate)"
)

# The 1.07B grid (validation loss). Rows: batch size in tokens; columns: constant learning rate.
GRID_N = published.YIN_GRID_N
GRID_LR = published.YIN_GRID_LR
GRID_BATCH = published.YIN_GRID_BATCH
GRID_LOSS = {
    4e9: (
        (0.5206, 0.5198, 0.5194, 0.5200, 0.5195, 0.5202),
        (0.5228, 0.5220, 0.5213, 0.5209, 0.5209, 0.5215),
        (0.5261, 0.5249, 0.5240, 0.5233, 0.5224, 0.5224),
    ),
    1e10: (
        (0.5134, 0.5132, 0.5129, 0.5141, 0.5137, 0.5144),
        (0.5140, 0.5133, 0.5125, 0.5126, 0.5130, 0.5141),
        (0.5158, 0.5150, 0.5141, 0.5140, 0.5140, 0.5133),
    ),
}
# The cells the paper marks as its predicted optima: tokens -> (batch in tokens, lr).
GRID_MARKED = published.YIN_GRID_MARKED


def video_dit_sweep(seed: int = SWEEP_SEED) -> pd.DataFrame:
    """The bundled simulated sweep (576 rows: N, D, C, lr, batch_size, loss, source)."""
    return simulate_video_dit_sweep(seed=seed)


def yin_grid_1p07b() -> pd.DataFrame:
    """The typed 1.07B grid: 36 rows (N, D, C, lr, batch_size, loss, marked_optimum, source)."""
    rows = []
    for tokens, table in GRID_LOSS.items():
        for batch, losses in zip(GRID_BATCH, table, strict=True):
            for lr, loss in zip(GRID_LR, losses, strict=True):
                rows.append(
                    {
                        "N": GRID_N,
                        "D": tokens,
                        "C": 6.0 * GRID_N * tokens,
                        "lr": lr,
                        "batch_size": batch,
                        "loss": loss,
                        "marked_optimum": GRID_MARKED[tokens] == (batch, lr),
                        "source": YIN_CITATION,
                    }
                )
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=DATA_DIR,
        help="folder to write the two CSVs into (default: data/, beside this script)",
    )  # fmt: skip
    out = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    sweep_file, grid_file = out / SWEEP_FILE.name, out / GRID_FILE.name
    sweep = video_dit_sweep()
    sweep.to_csv(sweep_file, index=False, float_format=FLOAT_FORMAT)
    grid = yin_grid_1p07b()
    grid.to_csv(grid_file, index=False, float_format=FLOAT_FORMAT)
    print(f"wrote {sweep_file} ({len(sweep)} rows) and {grid_file} ({len(grid)} rows)")


if __name__ == "__main__":
    main()
